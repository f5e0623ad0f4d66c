"""The HTTP side: a streamed chat completion read as a client sees it, raw completions with token
logprobs, and the reward service's ``/v1/score``."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


class ClientError(RuntimeError):
    """An HTTP or protocol error talking to a server, with the server's message."""


@dataclass
class ChatResult:
    """What one chat request gave back: reasoning, answer, the proxy's report, timings."""

    reasoning: str = ""
    answer: str = ""
    finish_reason: str | None = None
    report: dict[str, Any] | None = None  # the proxy's `safethink` object, if any
    latency_s: float = 0.0
    ttft_s: float | None = None  # time to the first reasoning or answer text
    request_id: str | None = None
    raw_content: str = field(default="", repr=False)


def split_inline(content: str) -> tuple[str, str]:
    """(reasoning, answer) of a content that may carry an inline ``<think>...</think>`` block."""
    if THINK_CLOSE in content:
        head, tail = content.split(THINK_CLOSE, 1)
        return head.split(THINK_OPEN, 1)[-1].strip("\n"), tail.lstrip("\n")
    if content.lstrip().startswith(THINK_OPEN):  # an unclosed block (cut by max_tokens)
        return content.split(THINK_OPEN, 1)[1].strip("\n"), ""
    return "", content


def _error_text(response: httpx.Response, body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode(errors="replace")[:300]
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and "message" in err:
            return str(err["message"])
        if "detail" in data:
            return str(data["detail"])
    return str(data)[:300]


async def chat(http: httpx.AsyncClient, base_url: str, body: dict[str, Any],
               headers: dict[str, str] | None = None) -> ChatResult:
    """Stream one chat completion and assemble it (any of the three reasoning shapes).

    Ends on ``[DONE]`` or on the end of the body (``transformers serve`` sends no ``[DONE]``).
    """
    result = ChatResult()
    reasoning: list[str] = []
    content: list[str] = []
    start = time.monotonic()
    async with http.stream("POST", base_url.rstrip("/") + "/chat/completions",
                           json={**body, "stream": True}, headers=headers) as response:
        if response.status_code >= 400:
            raw = await response.aread()
            raise ClientError(f"HTTP {response.status_code}: {_error_text(response, raw)}")
        result.request_id = response.headers.get("x-safethink-request-id")
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            try:
                chunk = json.loads(data)
            except ValueError as exc:
                raise ClientError(f"bad SSE data: {data[:200]}") from exc
            if "error" in chunk:
                err = chunk["error"]
                raise ClientError(str(err.get("message") if isinstance(err, dict) else err))
            if isinstance(chunk.get("safethink"), dict):
                result.report = chunk["safethink"]
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or {}
                piece = delta.get("reasoning_content") or delta.get("reasoning") or ""
                text = delta.get("content") or ""
                if (piece or text) and result.ttft_s is None:
                    result.ttft_s = time.monotonic() - start
                reasoning.append(piece)
                content.append(text)
                if choice.get("finish_reason"):
                    result.finish_reason = choice["finish_reason"]
    result.latency_s = time.monotonic() - start
    result.raw_content = "".join(content)
    inline_reasoning, answer = split_inline(result.raw_content)
    result.reasoning = "".join(reasoning) + inline_reasoning
    result.answer = answer
    return result


@dataclass
class Completion:
    """A raw completion: its text and, when the server returned them, token logprobs."""

    text: str
    tokens: list[str]
    logprobs: list[float | None]
    completion_tokens: int | None


async def complete(http: httpx.AsyncClient, base_url: str, body: dict[str, Any]) -> Completion:
    """One non-streaming ``/v1/completions`` call."""
    response = await http.post(base_url.rstrip("/") + "/completions",
                               json={**body, "stream": False})
    if response.status_code >= 400:
        raise ClientError(f"HTTP {response.status_code}: "
                          f"{_error_text(response, response.content)}")
    data = response.json()
    choices = data.get("choices") or []
    if not choices:
        raise ClientError("the completion has no choices")
    choice = choices[0]
    lps = choice.get("logprobs") or {}
    usage = data.get("usage") or {}
    return Completion(text=str(choice.get("text") or ""), tokens=list(lps.get("tokens") or []),
                      logprobs=list(lps.get("token_logprobs") or []),
                      completion_tokens=usage.get("completion_tokens"))


async def score(http: httpx.AsyncClient, reward_url: str,
                items: list[dict[str, Any]]) -> list[float]:
    """Scores in [-1, 1] (positive = safe) from the reward service, one per item."""
    if not items:
        return []
    response = await http.post(reward_url.rstrip("/") + "/v1/score", json={"items": items})
    if response.status_code >= 400:
        raise ClientError(f"reward service HTTP {response.status_code}: "
                          f"{_error_text(response, response.content)}")
    results = response.json().get("results")
    if not isinstance(results, list) or len(results) != len(items):
        raise ClientError("the reward service answered a different number of results")
    return [float(r["score"]) for r in results]
