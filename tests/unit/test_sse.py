"""Server-sent events are decoded the same however the bytes arrive."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.exceptions import UpstreamProtocolError, UpstreamStatusError
from proxy.upstream import iter_events

EVENTS = [
    {"choices": [{"delta": {"reasoning_content": "Pensée é☕🙂\n\n"}}]},
    {"choices": [{"delta": {"content": "Answer"}, "finish_reason": "stop"}]},
]


async def arrive(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def decode(raw: bytes, cuts: list[int]) -> list[dict[str, object]]:
    bounds = [0, *sorted(set(cuts)), len(raw)]
    chunks = [raw[a:b] for a, b in itertools.pairwise(bounds)]
    return [event async for event in iter_events(arrive(chunks))]


def wire(events: list[dict[str, object]], *, done: bool = True, crlf: bool = False) -> bytes:
    text = ": keep-alive\n\n" + "".join(
        f"data: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events
    )
    if done:
        text += "data: [DONE]\n\n"
    if crlf:
        text = text.replace("\n", "\r\n")
    return text.encode()


@settings(max_examples=200, deadline=None)
@given(st.data(), st.booleans(), st.booleans())
async def test_events_survive_any_byte_split(data: st.DataObject, done: bool, crlf: bool) -> None:
    raw = wire(EVENTS, done=done, crlf=crlf)
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=40))
    assert await decode(raw, cuts) == EVENTS


async def test_a_stream_without_done_or_final_blank_line() -> None:
    raw = wire(EVENTS, done=False).rstrip(b"\n")
    assert await decode(raw, []) == EVENTS


async def test_an_error_inside_the_stream_is_raised() -> None:
    raw = wire([EVENTS[0], {"error": {"message": "out of memory", "code": 500}}])
    with pytest.raises(UpstreamStatusError, match="out of memory"):
        await decode(raw, [])


async def test_garbage_is_a_protocol_error() -> None:
    with pytest.raises(UpstreamProtocolError):
        await decode(b"data: {not json\n\n", [])
