"""What the engine reads from an upstream call: the chunk objects of the chat completions and
completions streams turned into typed deltas, so that the steering engine knows no wire format.

The upstream is always spoken to in chat completions (and completions, to continue a generation
from raw text), which every server of the field serves, whatever API the client spoke. One list
of deltas comes per upstream chunk, in the chunk's order: text (with the field it came in, since
the reasoning parser tells the shapes apart by it), the delta's other fields (tool calls,
refusals...), usage, and the finish reason.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from proxy.upstream.client import Chunk

CallKind = Literal["chat", "completions"]
TextField = Literal["reasoning_content", "reasoning", "content"]
# Delta fields read as text; every other field is passed on as it came.
_TEXT_FIELDS: tuple[TextField, ...] = ("reasoning_content", "reasoning", "content")
_NOT_PASSED_ON = frozenset({"role", *_TEXT_FIELDS})


@dataclass(frozen=True, slots=True)
class Text:
    field: TextField
    text: str


@dataclass(frozen=True, slots=True)
class Fields:
    """Other delta fields (tool_calls, refusal...), as the upstream sent them."""

    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class UsageReport:
    usage: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Finished:
    reason: str


UpstreamDelta = Text | Fields | UsageReport | Finished


def decode(chunk: Chunk, kind: CallKind) -> list[UpstreamDelta]:
    """The deltas of one chunk of a ``kind`` stream (its first choice: the proxy asks for one)."""
    out: list[UpstreamDelta] = []
    if usage := chunk.get("usage"):
        out.append(UsageReport(usage))
    choices = chunk.get("choices")
    if not choices or not isinstance(choices[0], dict):
        return out
    choice = choices[0]
    if kind == "chat":
        delta = choice.get("delta") or {}
        out += [Text(name, text) for name in _TEXT_FIELDS
                if isinstance(text := delta.get(name), str) and text]
        extra = {k: v for k, v in delta.items() if k not in _NOT_PASSED_ON and v is not None}
        if extra:
            out.append(Fields(extra))
    elif isinstance(text := choice.get("text"), str) and text:
        out.append(Text("content", text))
    if reason := choice.get("finish_reason"):
        out.append(Finished(str(reason)))
    return out


async def deltas(
    chunks: AsyncIterator[Chunk], kind: CallKind
) -> AsyncGenerator[list[UpstreamDelta], None]:
    """The call's deltas, one list per chunk."""
    async for chunk in chunks:
        yield decode(chunk, kind)
