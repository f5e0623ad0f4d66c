"""Writes the engine's events as Anthropic's Messages API: a ``message`` body, or its stream of
``event: <type>`` SSE events, and Anthropic's error envelope.

The reasoning (the guarded trace, steering prefix included unless ``show_prefix`` is off) goes
in ``thinking`` blocks and the answer in ``text`` blocks, in the order the model wrote them: a
change of kind, or the end of the thinking block, closes the open block; a block's leading
whitespace (the blank line after ``</think>``) is not sent. An upstream with no
thinking block (its content monitored) gives text blocks alone. ``stop_reason`` is mapped from
the upstream's finish_reason (stop -> end_turn, length -> max_tokens, content_filter ->
refusal); a matched stop sequence reads as end_turn, since the upstream's finish_reason does
not tell it apart. ``usage`` is the sum over every upstream call. The ``safethink`` report is a
top-level field of the message, and of the ``message_delta`` event when streaming.

A thinking block's ``signature`` is ``safethink-sha256:`` and the hex SHA-256 of its thinking
text (UTF-8): anyone can check that a block came back unchanged, and it proves nothing about
where the block came from. The proxy never needs more: thinking blocks a client sends back are
dropped, not trusted (messages.py).

Stream: ``message_start`` (empty content, the usage so far), ``ping``, then per block
``content_block_start``, ``content_block_delta`` (``thinking_delta`` / ``text_delta``; a
thinking block's ``signature_delta`` last) and ``content_block_stop``; then ``message_delta``
(stop_reason, usage, the report) and ``message_stop``. An error after the stream started is an
``error`` event, and the stream ends there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from starlette.responses import JSONResponse, Response

from proxy.engine.events import Content, Event, Reasoning, ThinkEnd
from proxy.engine.steering import SteeringEngine
from proxy.exceptions import Overloaded, SafeThinkError

Kind = Literal["thinking", "text"]
Run = tuple[Kind | None, str]  # text of one kind; (None, "") where the thinking block ended

SIGNATURE_PREFIX = "safethink-sha256:"
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "content_filter": "refusal",
                 "tool_calls": "tool_use"}
# The proxy's statuses as Anthropic names them; any other is invalid_request_error (4xx) or
# api_error (5xx).
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
}


def signature(thinking: str) -> str:
    return SIGNATURE_PREFIX + hashlib.sha256(thinking.encode()).hexdigest()


def error_body(exc: SafeThinkError) -> dict[str, Any]:
    """Anthropic's error envelope for any of the proxy's errors."""
    if isinstance(exc, Overloaded):
        kind = "overloaded_error"
    else:
        status = exc.status_code
        kind = _ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")
    return {"type": "error", "error": {"type": kind, "message": exc.message}}


def error_response(exc: SafeThinkError, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(error_body(exc), status_code=exc.status_code, headers=headers)


def _event(obj: dict[str, Any]) -> bytes:
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return f"event: {obj['type']}\ndata: {data}\n\n".encode()


def _runs(batch: list[Event]) -> list[Run]:
    """A batch as runs of one kind: consecutive events of a kind make one delta, not many."""
    runs: list[tuple[Kind | None, list[str]]] = []
    for event in batch:
        if isinstance(event, ThinkEnd):
            runs.append((None, []))
            continue
        if not isinstance(event, Reasoning | Content) or not event.text:
            continue  # Delta (role...) and Finish: the message says them its own way
        kind: Kind = "thinking" if isinstance(event, Reasoning) else "text"
        if runs and runs[-1][0] == kind:
            runs[-1][1].append(event.text)
        else:
            runs.append((kind, [event.text]))
    return [(kind, "".join(parts)) for kind, parts in runs]


def _usage(engine: SteeringEngine) -> dict[str, int]:
    usage = engine.result.usage
    return {"input_tokens": usage["prompt_tokens"], "output_tokens": usage["completion_tokens"]}


def _stop_reason(engine: SteeringEngine) -> str:
    return _STOP_REASONS.get(engine.result.finish_reason or "stop", "end_turn")


def _message_id(engine: SteeringEngine) -> str:
    return "msg_" + engine.result.report["request_id"]


def _block(kind: Kind, text: str) -> dict[str, Any]:
    if kind == "thinking":
        return {"type": "thinking", "thinking": text, "signature": signature(text)}
    return {"type": "text", "text": text, "citations": None}


class _Blocks:
    """Which block is open: ``feed`` turns runs of text into what happens to the blocks,
    ``("open" | "delta" | "close", kind, text)``. A block does not open on whitespace, and its
    leading whitespace is not sent (the blank line after a closing tag is no part of either)."""

    def __init__(self) -> None:
        self.kind: Kind | None = None

    def feed(self, kind: Kind | None, text: str) -> list[tuple[str, Kind, str]]:
        if kind is None:  # the thinking block ended
            return self.close() if self.kind == "thinking" else []
        if kind == self.kind:
            return [("delta", kind, text)]
        if not (text := text.lstrip()):
            return []
        ops = self.close()
        self.kind = kind
        return [*ops, ("open", kind, ""), ("delta", kind, text)]

    def close(self) -> list[tuple[str, Kind, str]]:
        if self.kind is None:
            return []
        kind, self.kind = self.kind, None
        return [("close", kind, "")]


class _Writer:
    """The stream's content block events: indices, and the digest of a thinking block."""

    def __init__(self) -> None:
        self.blocks = _Blocks()
        self.index = -1
        self.digest = hashlib.sha256()

    def write(self, ops: list[tuple[str, Kind, str]]) -> list[bytes]:
        out = []
        for op, kind, text in ops:
            if op == "open":
                self.index += 1
                self.digest = hashlib.sha256()
                empty = _block(kind, "")
                if kind == "thinking":
                    empty["signature"] = ""
                out.append(_event({"type": "content_block_start", "index": self.index,
                                   "content_block": empty}))
            elif op == "delta":
                if kind == "thinking":
                    self.digest.update(text.encode())
                    delta = {"type": "thinking_delta", "thinking": text}
                else:
                    delta = {"type": "text_delta", "text": text}
                out.append(_event({"type": "content_block_delta", "index": self.index,
                                   "delta": delta}))
            else:
                if kind == "thinking":
                    sig = SIGNATURE_PREFIX + self.digest.hexdigest()
                    out.append(_event({"type": "content_block_delta", "index": self.index,
                                       "delta": {"type": "signature_delta", "signature": sig}}))
                out.append(_event({"type": "content_block_stop", "index": self.index}))
        return out


async def stream_events(
    engine: SteeringEngine, batches: AsyncIterator[list[Event]], model: str
) -> AsyncGenerator[bytes, None]:
    """SSE bytes for the client, one write a batch (the first one opens the message)."""
    start: dict[str, Any] = {
        "id": _message_id(engine), "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None, "usage": _usage(engine),
    }
    out = [_event({"type": "message_start", "message": start}), _event({"type": "ping"})]
    writer = _Writer()
    try:
        async for batch in batches:
            for kind, text in _runs(batch):
                out.extend(writer.write(writer.blocks.feed(kind, text)))
            if out:
                yield b"".join(out)
                out = []
    except SafeThinkError as exc:
        yield b"".join([*out, _event(error_body(exc))])
        return
    out.extend(writer.write(writer.blocks.close()))
    out.append(_event({
        "type": "message_delta",
        "delta": {"stop_reason": _stop_reason(engine), "stop_sequence": None},
        "usage": _usage(engine),
        "safethink": engine.result.report,
    }))
    out.append(_event({"type": "message_stop"}))
    yield b"".join(out)


async def assemble_message(
    engine: SteeringEngine, batches: AsyncIterator[list[Event]], model: str
) -> dict[str, Any]:
    """A whole ``message`` from the events (non-streaming requests)."""
    blocks = _Blocks()
    parts: list[tuple[Kind, list[str]]] = []
    async for batch in batches:
        for kind, text in _runs(batch):
            for op, block_kind, piece in blocks.feed(kind, text):
                if op == "open":
                    parts.append((block_kind, []))
                elif op == "delta":
                    parts[-1][1].append(piece)
    return {
        "id": _message_id(engine),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [_block(kind, "".join(texts)) for kind, texts in parts],
        "stop_reason": _stop_reason(engine),
        "stop_sequence": None,
        "usage": _usage(engine),
        "safethink": engine.result.report,
    }


@dataclass(frozen=True)
class MessagesWire:
    """The Messages API's way of writing an answer (serving.Wire)."""

    model: str

    def stream(
        self, engine: SteeringEngine, batches: AsyncIterator[list[Event]]
    ) -> AsyncGenerator[bytes, None]:
        return stream_events(engine, batches, self.model)

    async def assemble(
        self, engine: SteeringEngine, batches: AsyncIterator[list[Event]]
    ) -> dict[str, Any]:
        return await assemble_message(engine, batches, self.model)

    def error(self, exc: SafeThinkError, headers: dict[str, str]) -> Response:
        return error_response(exc, headers)
