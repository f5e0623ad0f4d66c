"""Building the upstream calls of one request, and re-issuing a generation from a prefill.

Two ways to continue a partial assistant message (docs/design.md, "Continuation"):

- ``chat``: ``/v1/chat/completions`` with the partial assistant message last and
  ``continue_final_message: true, add_generation_prompt: false`` (vLLM, SGLang, TGI).
- ``completions``: the conversation rendered with the model's chat template and the raw
  assistant text appended, sent to ``/v1/completions`` (every server that has it, including
  ``transformers serve``, which refuses chat continuation, and llama-cpp-python, which ignores
  it and starts a new turn).

``auto`` takes the mode a probe found for the request's model (``continuation_probe``): fixed
text of the proxy's, never a client's request, so what one request gets is never learned. Where
the probe cannot tell, or the upstream does not list the model, a continuation tries ``chat`` and,
when the server refuses it, re-issues that call (and the request's later ones) in
``completions`` mode, for that request only.

Resamples must differ: when the client fixed a ``seed``, each attempt gets its own seed, a
deterministic function of the client's seed and the attempt number.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, aclosing, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from proxy.exceptions import UpstreamStatusError
from proxy.scoring import text_only
from proxy.settings import Settings
from proxy.upstream.client import Chunk, Upstream
from proxy.upstream.deltas import CallKind, UpstreamDelta, deltas
from proxy.upstream.probe import REFUSALS, Learned
from proxy.upstream.templates import ChatTemplate, TemplateCache

__all__ = ["Call", "CallKind", "Continuer", "attempt_seed"]

# Sampling fields that mean the same on /v1/completions.
_COMPLETION_FIELDS = (
    "model",
    "max_tokens",
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "repetition_penalty",
    "user",
)


@dataclass(frozen=True)
class Call:
    """One upstream generation: the client's request, continued from ``prefill`` if any."""

    body: dict[str, Any]  # the client's body (safethink options removed), messages rewritten
    prefill: str = ""
    attempt: int = 0


def attempt_seed(seed: int, attempt: int) -> int:
    """A different, reproducible seed for each resample."""
    if attempt == 0:
        return seed
    return (seed * 1_000_003 + attempt * 7_919) % (2**31 - 1)


class Continuer:
    """Opens calls on the upstream in the configured continuation mode."""

    def __init__(
        self,
        settings: Settings,
        upstream: Upstream,
        templates: TemplateCache,
        learned: Learned,
    ) -> None:
        self.settings = settings
        self.upstream = upstream
        self.templates = templates
        # What ``auto`` learned about the upstream by probing it, shared by all requests.
        self.learned = learned
        self._refused = False  # this request's chat continuation was refused
        self._prompt: tuple[dict[str, Any], str] | None = None  # (body, its rendered prompt)

    async def kind(self, call: Call) -> tuple[CallKind, bool]:
        """The kind of call for ``call``, and whether a refusal may re-issue it as completions."""
        if not call.prefill:
            return "chat", False
        if self.settings.continuation != "auto":
            return self.settings.continuation, False
        verdict = await self.learned.verdict(self.upstream, str(call.body.get("model", "")))
        if verdict.mode is not None:
            return verdict.mode, False
        return ("completions", False) if self._refused else ("chat", True)

    @asynccontextmanager
    async def open(
        self, call: Call
    ) -> AsyncIterator[tuple[AsyncIterator[list[UpstreamDelta]], CallKind]]:
        """Yield the call's deltas and the kind of call that produced them."""
        async with AsyncExitStack() as stack:
            kind, may_fall_back = await self.kind(call)
            try:
                events = await stack.enter_async_context(self._stream(call, kind))
            except UpstreamStatusError as exc:
                if not (may_fall_back and exc.status_code in REFUSALS):
                    raise
                # Remembered for this request only: a 400 can be the request's own doing (an
                # over-long prompt), so it says nothing about the next one.
                self._refused = True
                kind = "completions"
                events = await stack.enter_async_context(self._stream(call, kind))
            yield await stack.enter_async_context(aclosing(deltas(events, kind))), kind

    @asynccontextmanager
    async def _stream(self, call: Call, kind: CallKind) -> AsyncIterator[AsyncIterator[Chunk]]:
        if kind == "chat":
            path, body = "/chat/completions", self.chat_body(call)
        else:
            path, body = "/completions", await self.completions_body(call)
        async with self.upstream.stream(path, body) as events:
            yield events

    def chat_body(self, call: Call) -> dict[str, Any]:
        body = dict(call.body)
        if call.prefill:
            body["messages"] = [*body["messages"], {"role": "assistant", "content": call.prefill}]
            body["continue_final_message"] = True
            body["add_generation_prompt"] = False
        return self._streaming(body, call.attempt)

    async def completions_body(self, call: Call) -> dict[str, Any]:
        prompt = await self._rendered(call.body)
        prefill = call.prefill
        opener = self.settings.think_open
        # Templates of R1-style models open the thinking block in the generation prompt.
        if prefill.startswith(opener) and prompt.rstrip().endswith(opener):
            prefill = prefill[len(opener) :].lstrip("\n")
        body = {k: call.body[k] for k in _COMPLETION_FIELDS if k in call.body}
        if "max_tokens" not in body and "max_completion_tokens" in call.body:
            body["max_tokens"] = call.body["max_completion_tokens"]
        body["prompt"] = prompt + prefill
        return self._streaming(body, call.attempt)

    async def _rendered(self, body: dict[str, Any]) -> str:
        """The conversation through the chat template, rendered once for all of a request's
        calls (every resample of a request shares its body)."""
        if self._prompt is None or self._prompt[0] is not body:
            template = await self._template(str(body.get("model", "")))
            self._prompt = (body, template.render(text_only(body["messages"]), body.get("tools")))
        return self._prompt[1]

    async def _template(self, model: str) -> ChatTemplate:
        """The server's own template, else the configured one, else the cached hub tokenizer's
        of a model the upstream lists; never one found through a path the client named."""
        served = await self.learned.served_template(self.upstream)
        if served is not None:
            return served
        listed = self.templates.configured or await self.learned.lists(self.upstream, model)
        return await self.templates.get(model if listed else None)

    def _streaming(self, body: dict[str, Any], attempt: int) -> dict[str, Any]:
        return streaming(body, attempt, self.settings)


def streaming(body: dict[str, Any], attempt: int, settings: Settings) -> dict[str, Any]:
    """``body`` as one attempt's streaming call: usage asked for, the seed made its own."""
    body["stream"] = True
    options: dict[str, Any] = {"include_usage": True}
    if settings.upstream_continuous_usage:
        options["continuous_usage_stats"] = True
    body["stream_options"] = options
    if isinstance(body.get("seed"), int):
        body["seed"] = attempt_seed(body["seed"], attempt)
    return body
