"""Writes the engine's events back as OpenAI's Responses API: a ``response`` object, or its
stream of typed events (``response.created`` ... ``response.completed``), each with its
``sequence_number``.

The output is a list of items, built as the events come: a run of reasoning text is a
``reasoning`` item (one ``reasoning_text`` part: the guarded trace, steering prefix included
when shown), a run of answer text a ``message`` item (one ``output_text`` part). A model that
thinks writes one of each; one that does not, only the message. The message is always there, if
empty. The ``safethink`` report is a top-level field of the final response object (the SDK keeps
it in ``model_extra``); usage is the sum over every upstream call.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.responses import Response

from proxy.api.errors import error_response
from proxy.engine.events import Content, Event, Reasoning, ThinkEnd
from proxy.engine.steering import SteeringEngine
from proxy.exceptions import SafeThinkError

Kind = Literal["reasoning", "message"]
_TEXT_EVENTS = {"reasoning": "response.reasoning_text", "message": "response.output_text"}
# finish_reason -> incomplete_details.reason; any other reason completes the response
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


@dataclass(slots=True)
class _Item:
    kind: Kind
    id: str
    index: int
    parts: list[str] = field(default_factory=list)  # the text, joined once when it is done
    status: str = "in_progress"

    @property
    def text(self) -> str:
        if len(self.parts) > 1:
            self.parts[:] = ["".join(self.parts)]
        return self.parts[0] if self.parts else ""

    def part(self, text: str) -> dict[str, Any]:
        if self.kind == "reasoning":
            return {"type": "reasoning_text", "text": text}
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}

    def body(self, *, done: bool) -> dict[str, Any]:
        content = [self.part(self.text)] if done else []
        if self.kind == "reasoning":
            return {"id": self.id, "type": "reasoning", "summary": [], "content": content,
                    "status": self.status}
        return {"id": self.id, "type": "message", "role": "assistant", "status": self.status,
                "content": content}


# One stream event before its sequence number: its type and its fields.
Out = tuple[str, dict[str, Any]]


class _Items:
    """The output items, opened and closed as the events arrive; each change is told as the
    stream events that say it (the non-streaming answer drops them)."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.items: list[_Item] = []
        self.open: _Item | None = None

    def feed(self, event: Event) -> Iterator[Out]:
        if isinstance(event, Reasoning | Content) and event.text:
            kind: Kind = "reasoning" if isinstance(event, Reasoning) else "message"
            if self.open is None or self.open.kind != kind:
                yield from self._close("completed")
                yield from self._start(kind)
            assert self.open is not None
            self.open.parts.append(event.text)
            yield self._where(self.open, _TEXT_EVENTS[kind] + ".delta", delta=event.text)
        elif isinstance(event, ThinkEnd) and self.open is not None and (
                self.open.kind == "reasoning"):
            yield from self._close("completed")
        # role deltas carry nothing; tool calls cannot occur (tools are refused with a 400)

    def finish(self, status: str) -> Iterator[Out]:
        """Close what is open with ``status``; a response without a message gets an empty one."""
        yield from self._close(status)
        if not any(item.kind == "message" for item in self.items):
            yield from self._start("message")
            yield from self._close(status)

    def output(self, *, cut: bool = False) -> list[dict[str, Any]]:
        """The items as they stand; ``cut``: the generation failed, the open one is incomplete."""
        if cut and self.open is not None:
            self.open.status = "incomplete"
        return [item.body(done=True) for item in self.items]

    def _start(self, kind: Kind) -> Iterator[Out]:
        index = len(self.items)
        item = _Item(kind, f"{'rs' if kind == 'reasoning' else 'msg'}_{self.request_id}_{index}",
                     index)
        self.items.append(item)
        self.open = item
        yield "response.output_item.added", {"output_index": index, "item": item.body(done=False)}
        yield self._where(item, "response.content_part.added", part=item.part(""))

    def _close(self, status: str) -> Iterator[Out]:
        item, self.open = self.open, None
        if item is None:
            return
        item.status = status
        text = item.text
        yield self._where(item, _TEXT_EVENTS[item.kind] + ".done", text=text)
        yield self._where(item, "response.content_part.done", part=item.part(text))
        yield "response.output_item.done", {"output_index": item.index,
                                            "item": item.body(done=True)}

    @staticmethod
    def _where(item: _Item, kind: str, **fields: Any) -> Out:
        if kind.startswith("response.output_text."):
            fields["logprobs"] = []
        return kind, {"item_id": item.id, "output_index": item.index, "content_index": 0,
                      **fields}


def usage(engine: SteeringEngine) -> dict[str, Any]:
    """The engine's chat usage (summed over upstream calls) in the Responses API's names. The
    upstream does not say how many of its tokens were reasoning: ``reasoning_tokens`` is 0."""
    counts = engine.result.usage
    return {
        "input_tokens": counts["prompt_tokens"],
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": counts["completion_tokens"],
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": counts["total_tokens"],
    }


@dataclass(frozen=True)
class ResponsesWire:
    """The Responses API's way of writing an answer (serving.Wire). ``echo`` holds the
    request's fields that the response object repeats (model, instructions, metadata...)."""

    request_id: str
    echo: dict[str, Any]
    created_at: int = field(default_factory=lambda: int(time.time()))

    def response(self, status: str, **fields: Any) -> dict[str, Any]:
        return {
            "id": f"resp_{self.request_id}",
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "error": None,
            "incomplete_details": None,
            "output": [],
            "usage": None,
            **self.echo,
            **fields,
        }

    def whole(self, engine: SteeringEngine, items: _Items, status: str,
              reason: str | None) -> dict[str, Any]:
        return self.response(
            status,
            output=items.output(),
            usage=usage(engine),
            incomplete_details={"reason": reason} if reason else None,
            completed_at=int(time.time()) if status == "completed" else None,
            safethink=engine.result.report,
        )

    async def stream(
        self, engine: SteeringEngine, batches: AsyncIterator[list[Event]]
    ) -> AsyncGenerator[bytes, None]:
        numbers = itertools.count()

        def frames(events: Iterable[Out]) -> bytes:
            return "".join(_frame(kind, fields, next(numbers)) for kind, fields in events).encode()

        items = _Items(self.request_id)
        shell = self.response("in_progress")
        yield frames([("response.created", {"response": shell}),
                      ("response.in_progress", {"response": shell})])
        try:
            async for batch in batches:
                if data := frames(out for event in batch for out in items.feed(event)):
                    yield data
        except SafeThinkError as exc:
            yield frames([("response.failed", {"response": self._failed(engine, items, exc)})])
            return
        status, reason = _ending(engine)
        closing = list(items.finish(status))
        whole = self.whole(engine, items, status, reason)
        # OpenAI ends an incomplete response with response.incomplete, a whole one with completed
        yield frames([*closing, (f"response.{status}", {"response": whole})])

    def _failed(self, engine: SteeringEngine, items: _Items,
                exc: SafeThinkError) -> dict[str, Any]:
        return self.response(
            "failed",
            output=items.output(cut=True),
            usage=usage(engine),
            error={"code": exc.code or "server_error", "message": exc.message,
                   "type": exc.error_type, "param": exc.param},
            safethink=engine.result.report,
        )

    async def assemble(
        self, engine: SteeringEngine, batches: AsyncIterator[list[Event]]
    ) -> dict[str, Any]:
        items = _Items(self.request_id)
        async for batch in batches:
            for event in batch:
                _drain(items.feed(event))
        status, reason = _ending(engine)
        _drain(items.finish(status))
        return self.whole(engine, items, status, reason)

    def error(self, exc: SafeThinkError, headers: dict[str, str]) -> Response:
        return error_response(exc, headers)


def _ending(engine: SteeringEngine) -> tuple[str, str | None]:
    """The response's status, and why it is incomplete when it is."""
    reason = _INCOMPLETE.get(engine.result.finish_reason or "")
    return ("incomplete" if reason else "completed"), reason


def _drain(events: Iterator[Out]) -> None:
    """Apply the changes; the non-streaming answer has no events to tell."""
    for _ in events:
        pass


def _frame(kind: str, fields: dict[str, Any], number: int) -> str:
    body = {"type": kind, "sequence_number": number, **fields}
    return f"event: {kind}\ndata: {_dumps(body)}\n\n"
