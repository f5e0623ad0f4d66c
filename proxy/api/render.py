"""Writes the engine's events back in OpenAI's format: SSE chunks, or one whole answer, for
the chat completions API (``chat.completion.chunk`` / ``chat.completion``) and the legacy
completions API (``text_completion``).

The reasoning goes back in the shape the upstream used (``reasoning_content``, ``reasoning``, or
inline tags in ``content``); when the upstream gave none, in ``reasoning_content``. A completions
stream has only ``text``: everything, the thinking block with its tags, goes there. The last
chunk with a ``finish_reason`` carries the ``safethink`` report; a usage chunk follows when the
client asked for ``stream_options.include_usage``. Usage is the sum over every upstream call.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from starlette.responses import Response

from proxy.api.errors import error_body, error_response
from proxy.engine.events import Content, Delta, Event, Finish, Reasoning, ThinkEnd
from proxy.engine.steering import SteeringEngine
from proxy.exceptions import SafeThinkError


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def sse(obj: Any) -> bytes:
    return b"data: " + _dumps(obj) + b"\n\n"


DONE = b"data: [DONE]\n\n"
Api = Literal["chat", "completions"]


class _Shaper:
    """Maps reasoning events to the delta fields of the upstream's shape (on a completions
    stream the shape is inline or content: its ``text`` is the only field)."""

    def __init__(self, engine: SteeringEngine) -> None:
        self.engine = engine
        self.opened = False

    def delta(self, event: Event) -> dict[str, Any] | None:
        if isinstance(event, Content):
            return {"content": event.text}
        if isinstance(event, Reasoning):
            shape = self.engine.result.shape
            if shape == "inline":
                opener = "" if self.opened else self.engine.settings.think_open
                self.opened = True
                return {"content": opener + event.text}
            return {"reasoning" if shape == "reasoning" else "reasoning_content": event.text}
        if isinstance(event, ThinkEnd):
            if self.engine.result.shape == "inline" and self.opened:
                return {"content": self.engine.settings.think_close}
            return None
        if isinstance(event, Delta):
            return event.fields
        return None


async def stream_chunks(
    engine: SteeringEngine,
    batches: AsyncIterator[list[Event]],
    model: str,
    include_usage: bool,
    api: Api = "chat",
) -> AsyncGenerator[bytes, None]:
    """SSE bytes for the client, one write a batch. An error after the stream started becomes
    an error event. Every chunk shares its head, so only the delta is serialised each time."""
    base = {
        "id": _id(engine, api),
        "object": "chat.completion.chunk" if api == "chat" else "text_completion",
        "created": int(time.time()),
        "model": model,
    }
    if api == "chat":
        head = b"data: " + _dumps(base)[:-1] + b',"choices":[{"index":0,"delta":'
        tail = b',"finish_reason":null}]}\n\n'
        last: dict[str, Any] = {"delta": {}}
    else:
        head = b"data: " + _dumps(base)[:-1] + b',"choices":[{"index":0,"text":'
        tail = b',"logprobs":null,"finish_reason":null}]}\n\n'
        last = {"text": "", "logprobs": None}
    shaper = _Shaper(engine)
    try:
        async for batch in batches:
            out: list[bytes] = []
            for event in batch:
                if isinstance(event, Finish):
                    choice = {"index": 0, **last, "finish_reason": event.reason}
                    report = engine.result.report
                    out.append(sse({**base, "choices": [choice], "safethink": report}))
                elif (delta := shaper.delta(event)) and (part := _part(delta, api)) is not None:
                    out.append(head + part + tail)
            if out:
                yield b"".join(out)
        if include_usage:
            yield sse({**base, "choices": [], "usage": engine.result.usage})
    except SafeThinkError as exc:
        yield sse(error_body(exc))
    yield DONE


def _id(engine: SteeringEngine, api: Api) -> str:
    return ("chatcmpl-" if api == "chat" else "cmpl-") + engine.result.report["request_id"]


def _part(delta: dict[str, Any], api: Api) -> bytes | None:
    """The chunk's payload: the delta object (chat), or the text (completions)."""
    if api == "chat":
        return _dumps(delta)
    text = delta.get("content")
    return _dumps(text) if isinstance(text, str) and text else None


async def assemble_text(
    engine: SteeringEngine, batches: AsyncIterator[list[Event]], model: str
) -> dict[str, Any]:
    """A whole text_completion from the events (non-streaming completions requests)."""
    shaper = _Shaper(engine)
    parts: list[str] = []
    async for batch in batches:
        for event in batch:
            text = (shaper.delta(event) or {}).get("content")
            if isinstance(text, str):
                parts.append(text)
    choice = {"index": 0, "text": "".join(parts), "logprobs": None,
              "finish_reason": engine.result.finish_reason or "stop"}
    return {
        "id": _id(engine, "completions"),
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": engine.result.usage,
        "safethink": engine.result.report,
    }


async def assemble(
    engine: SteeringEngine, batches: AsyncIterator[list[Event]], model: str
) -> dict[str, Any]:
    """A whole ChatCompletion from the events (non-streaming requests)."""
    shaper = _Shaper(engine)
    fields: dict[str, list[str]] = {}  # text fields in parts, joined once at the end
    tool_calls: dict[int, dict[str, Any]] = {}
    extra: dict[str, Any] = {}
    async for batch in batches:
        for event in batch:
            delta = shaper.delta(event) or {}
            for key, value in delta.items():
                if key == "tool_calls":
                    _merge_tool_calls(tool_calls, value)
                elif isinstance(value, str) and key != "role":
                    fields.setdefault(key, []).append(value)
                elif key != "role":
                    extra[key] = value
    text = {key: "".join(parts) for key, parts in fields.items()}
    message: dict[str, Any] = {"role": "assistant", "content": text.pop("content", None)}
    message.update(text)
    message.update(extra)
    if tool_calls:
        message["tool_calls"] = [tool_calls[i] for i in sorted(tool_calls)]
    return {
        "id": _id(engine, "chat"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": engine.result.finish_reason or "stop"}
        ],
        "usage": engine.result.usage,
        "safethink": engine.result.report,
    }


def _merge_tool_calls(calls: dict[int, dict[str, Any]], deltas: list[dict[str, Any]]) -> None:
    for part in deltas:
        index = int(part.get("index", 0))
        call = calls.setdefault(
            index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
        )
        if part.get("id"):
            call["id"] = part["id"]
        function = part.get("function") or {}
        for key in ("name", "arguments"):
            if function.get(key):
                call["function"][key] += function[key]


@dataclass(frozen=True)
class OpenAIWire:
    """The chat completions and completions APIs' way of writing an answer (serving.Wire)."""

    api: Api
    model: str
    include_usage: bool

    def stream(
        self, engine: SteeringEngine, batches: AsyncIterator[list[Event]]
    ) -> AsyncGenerator[bytes, None]:
        return stream_chunks(engine, batches, self.model, self.include_usage, self.api)

    async def assemble(
        self, engine: SteeringEngine, batches: AsyncIterator[list[Event]]
    ) -> dict[str, Any]:
        whole = assemble if self.api == "chat" else assemble_text
        return await whole(engine, batches, self.model)

    def error(self, exc: SafeThinkError, headers: dict[str, str]) -> Response:
        return error_response(exc, headers)
