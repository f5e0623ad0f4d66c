"""What ``auto`` continuation learns about the upstream, from probes that no client controls.

How the server treats a final assistant message sent with ``continue_final_message: true,
add_generation_prompt: false`` is found per model by one probe: three non-streaming calls of one
token each, on fixed text the proxy chooses.

- G: ``[user U]`` with the generation prompt;
- C1: ``[user U, assistant P]`` and C2: ``[user U, assistant P P]``, both with the flags.

From their ``usage.prompt_tokens``, d1 = C1 - G and d2 = C2 - G, and o = 2*d1 - d2 is what the
server's template puts around the assistant text beyond the text itself: about 0 when the
message is continued (vLLM, SGLang), an end of turn plus a new assistant header when the server
ignores the flags and silently starts a new turn (llama-cpp-python).

| what the probe saw                                          | mode          | kept for   |
|-------------------------------------------------------------|---------------|------------|
| o <= 1                                                      | ``chat``      | ttl        |
| o >= 2                                                      | ``completions``| ttl       |
| C1 refused (400, 404, 405, 415, 422, 501) while G succeeded | ``completions``| ttl       |
| G failed; usage missing or not growing with the text; a 5xx | cannot tell   | retry      |
| or a timeout on C1 or C2                                    |               |            |

(ttl: ``continuation_probe_ttl_s``; retry: ``continuation_probe_retry_s``.) Only a model the
upstream lists (``GET /v1/models``) is probed, so a client naming models can neither grow the
cache nor make the proxy probe on its behalf, and one model's probe runs once at a time: the
requests that need it meanwhile wait for it. What one request's own call gets (a 400 for an
over-long prompt, say) is never learned.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from proxy.exceptions import UpstreamError
from proxy.settings import Settings
from proxy.upstream.client import Upstream
from proxy.upstream.deltas import CallKind
from proxy.upstream.templates import ChatTemplate

T = TypeVar("T")
# Statuses with which a server says "I do not do chat continuation".
REFUSALS = frozenset({400, 404, 405, 415, 422, 501})

log = logging.getLogger("safethink.continuation")

# Plain words whose tokens do not merge across the space between two copies of P, so P P costs
# twice what P does, and long enough that d1 stays positive where the generation prompt of G
# holds more than the assistant header of C1 (R1-style templates open <think> there).
_QUESTION = "Name a colour."
_PREFILL = "The sky is blue and the grass is green"
# An end of turn and a new assistant header take two tokens at the very least.
_NEW_TURN_TOKENS = 2


@dataclass(frozen=True)
class Verdict:
    mode: CallKind | None  # None: the probe could not tell
    reason: str


@dataclass(frozen=True)
class _Listing:
    ids: frozenset[str]
    at: float  # when it was fetched


@dataclass(frozen=True)
class _Answer:
    status: int  # 0: no HTTP answer
    prompt_tokens: int | None
    problem: str  # why the call is of no use, "" when it is


class Learned:
    """What ``auto`` learned about the upstream, shared by all requests of the app: per listed
    model the probe's verdict, the models the upstream lists, and the template it reports."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self._verdicts: dict[str, tuple[Verdict, float]] = {}  # model: (verdict, expires at)
        self._locks: dict[str, asyncio.Lock] = {}  # one per listed model
        self._listing: _Listing | None = None
        self._listing_lock = asyncio.Lock()
        self._served: tuple[ChatTemplate | None, float] | None = None  # (template, expires at)
        self._served_lock = asyncio.Lock()

    async def verdict(self, upstream: Upstream, model: str) -> Verdict:
        """The mode a probe found for ``model``, probing it when no verdict is fresh."""
        if not await self.lists(upstream, model):
            return Verdict(None, "the model server does not list this model")
        if (fresh := self._fresh(model)) is not None:
            return fresh
        async with self._locks.setdefault(model, asyncio.Lock()):
            if (fresh := self._fresh(model)) is not None:
                return fresh  # another request probed it while this one waited
            verdict = await self._timed(probe(upstream, model), Verdict(None, "it timed out"))
            if verdict.mode is not None:
                keep = self.settings.continuation_probe_ttl_s
                log.info("continuation probe of model %r: %s mode, %s", model, verdict.mode,
                         verdict.reason)
            else:
                keep = self.settings.continuation_probe_retry_s
                log.warning(
                    "continuation probe of model %r cannot tell how the server continues a "
                    "message: %s. Until it is probed again in %g s, each continuation tries chat "
                    "mode and, if refused, completions mode for that call only",
                    model, verdict.reason, keep)
            self._verdicts[model] = (verdict, self.clock() + keep)
            return verdict

    async def lists(self, upstream: Upstream, model: str) -> bool:
        """Whether the upstream's ``GET /v1/models`` lists ``model``; the listing is fetched
        again after the TTL, or after the retry interval when it lacks the model."""
        if self._stale(model):
            async with self._listing_lock:
                if self._stale(model):
                    ids = await self._timed(_models(upstream), None)
                    if ids is None:
                        log.warning("continuation: the model server's model list is unavailable")
                    self._listing = _Listing(ids or frozenset(), self.clock())
        return self._listing is not None and model in self._listing.ids

    async def served_template(self, upstream: Upstream) -> ChatTemplate | None:
        """The chat template the server reports (llama.cpp's ``GET /props``), if it does."""
        if self._served is None or self.clock() >= self._served[1]:
            async with self._served_lock:
                if self._served is None or self.clock() >= self._served[1]:
                    template, final = await self._timed(_props(upstream), (None, False))
                    keep = (self.settings.continuation_probe_ttl_s if final
                            else self.settings.continuation_probe_retry_s)
                    self._served = (template, self.clock() + keep)
        return self._served[0]

    def _fresh(self, model: str) -> Verdict | None:
        cached = self._verdicts.get(model)
        return cached[0] if cached is not None and self.clock() < cached[1] else None

    def _stale(self, model: str) -> bool:
        listing = self._listing
        if listing is None:
            return True
        age = self.clock() - listing.at
        if model in listing.ids:
            return age >= self.settings.continuation_probe_ttl_s
        return age >= self.settings.continuation_probe_retry_s

    async def _timed(self, work: Awaitable[T], late: T) -> T:
        """``work``'s result, or ``late`` past the probe timeout (the server's socket timeout
        allows a stream minutes of silence, far too long for requests waiting on a probe)."""
        try:
            async with asyncio.timeout(self.settings.continuation_probe_timeout_s):
                return await work
        except TimeoutError:
            return late


async def probe(upstream: Upstream, model: str) -> Verdict:
    """How the upstream treats a continued assistant message of ``model`` (module docstring)."""
    base: dict[str, Any] = {"model": model, "max_tokens": 1, "temperature": 0, "stream": False}
    user = {"role": "user", "content": _QUESTION}
    g = await _prompt_tokens(upstream, {**base, "messages": [user]})
    if not 200 <= g.status < 300:
        return Verdict(None, f"a plain chat call failed: {g.problem}")
    c1 = await _prompt_tokens(upstream, _continued(base, user, _PREFILL))
    if c1.status in REFUSALS:
        return Verdict("completions", f"it refuses chat continuation (HTTP {c1.status}) "
                                      "while a plain chat call succeeds")
    if g.prompt_tokens is None or c1.prompt_tokens is None:
        return Verdict(None, f"a probe call gave no usage: {g.problem or c1.problem}")
    c2 = await _prompt_tokens(upstream, _continued(base, user, f"{_PREFILL} {_PREFILL}"))
    if c2.prompt_tokens is None:
        return Verdict(None, f"a continued call failed: {c2.problem}")
    d1, d2 = c1.prompt_tokens - g.prompt_tokens, c2.prompt_tokens - g.prompt_tokens
    counts = f"prompt_tokens {g.prompt_tokens}, {c1.prompt_tokens}, {c2.prompt_tokens}"
    if d1 <= 0 or d2 <= d1:
        return Verdict(None, f"its prompt_tokens do not grow with the assistant text ({counts})")
    overhead = 2 * d1 - d2
    if overhead >= _NEW_TURN_TOKENS:
        return Verdict("completions", f"it ignores continue_final_message and starts a new turn "
                                      f"({overhead} template tokens around the text; {counts})")
    return Verdict("chat", f"it continues the final assistant message ({counts})")


def _continued(base: dict[str, Any], user: dict[str, str], text: str) -> dict[str, Any]:
    return {**base, "messages": [user, {"role": "assistant", "content": text}],
            "continue_final_message": True, "add_generation_prompt": False}


async def _prompt_tokens(upstream: Upstream, body: dict[str, Any]) -> _Answer:
    try:
        answer = await upstream.request("POST", "/chat/completions", json_body=body)
    except UpstreamError as exc:
        return _Answer(0, None, exc.message)
    if answer.status >= 400:
        return _Answer(answer.status, None, f"HTTP {answer.status}")
    data = _json(answer.body)
    usage = data.get("usage") if isinstance(data, dict) else None
    tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    if not isinstance(tokens, int) or isinstance(tokens, bool):
        return _Answer(answer.status, None, "the answer has no usage.prompt_tokens")
    return _Answer(answer.status, tokens, "")


async def _models(upstream: Upstream) -> frozenset[str] | None:
    try:
        answer = await upstream.request("GET", "/models")
    except UpstreamError:
        return None
    data = _json(answer.body) if answer.status < 400 else None
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return None
    return frozenset(
        e["id"] for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str)
    )


async def _props(upstream: Upstream) -> tuple[ChatTemplate | None, bool]:
    """The template in the server's ``GET /props`` (at the root, beside ``/v1``), and whether
    that answer is final: a 4xx is (the server has no such route), a failure is not."""
    root = upstream.base_url.removesuffix("/v1")
    try:
        async with upstream.session.get(root + "/props", headers=upstream.headers) as response:
            if response.status >= 400:
                return None, response.status < 500
            data = _json(await response.read())
    except (aiohttp.ClientError, TimeoutError):
        return None, False
    if not isinstance(data, dict):
        return None, True
    template = data.get("chat_template")
    if not isinstance(template, str) or not template.strip():
        return None, True
    # llama.cpp adds the BOS token itself when it tokenizes a raw prompt (as it strips the one
    # its own chat rendering writes), so the template must not write it a second time.
    special = {"bos_token": ""}
    if isinstance(data.get("eos_token"), str):
        special["eos_token"] = data["eos_token"]
    return ChatTemplate("the model server's GET /props", template, special), True


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None
