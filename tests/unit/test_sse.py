"""Server-sent events are decoded the same however the bytes arrive, in bounded work and memory."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.exceptions import UpstreamProtocolError, UpstreamStatusError
from proxy.upstream.client import iter_events
from tests.unit.work import counted

MiB = 1024 * 1024
EVENTS: list[dict[str, object]] = [
    {"choices": [{"delta": {"reasoning_content": "Pensée é☕🙂\n\n"}}]},
    {"choices": [{"delta": {"content": "Answer"}, "finish_reason": "stop"}]},
]


class Reads:
    """The upstream's body as successive reads, counting how many were taken."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.taken = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.taken += 1
            yield chunk


def cut(raw: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(set(cuts)), len(raw)]
    return [raw[a:b] for a, b in itertools.pairwise(bounds)]


async def events_of(chunks: list[bytes] | Reads, limit: int = MiB) -> list[dict[str, object]]:
    reads = chunks if isinstance(chunks, Reads) else Reads(chunks)
    return [event async for event in iter_events(aiter(reads), max_event_bytes=limit)]


async def decode(raw: bytes, cuts: list[int], limit: int = MiB) -> list[dict[str, object]]:
    return await events_of(cut(raw, cuts), limit)


def wire(events: list[dict[str, object]], *, done: bool = True, crlf: bool = False) -> bytes:
    text = ": keep-alive\n\n" + "".join(
        f"data: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events
    )
    if done:
        text += "data: [DONE]\n\n"
    if crlf:
        text = text.replace("\n", "\r\n")
    return text.encode()


def naive(raw: bytes) -> list[dict[str, object]]:
    """The whole body parsed at once, the obvious way: what any split must give."""
    text = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    events: list[dict[str, object]] = []
    for block in text.split(b"\n\n"):
        lines = [line.removeprefix(b"data:").removeprefix(b" ")
                 for line in block.split(b"\n") if line.startswith(b"data:")]
        if not lines:
            continue
        payload = b"\n".join(lines)
        if payload.strip() == b"[DONE]":
            break
        events.append(json.loads(payload))
    return events


@settings(max_examples=200, deadline=None)
@given(st.data(), st.booleans(), st.booleans())
async def test_events_survive_any_byte_split(data: st.DataObject, done: bool, crlf: bool) -> None:
    raw = wire(EVENTS, done=done, crlf=crlf)
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=40))
    assert await decode(raw, cuts) == EVENTS


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                  max_size=3),
    max_leaves=6,
)
LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """A body as servers send them: comments, fields that are not data, data spread over
    several lines, any line ending, maybe a [DONE] with more after it, maybe no last blank."""
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["data", "lines", "comment", "retry", "done"]))
        obj = {"i": len(lines), "v": draw(JSON)}
        if kind == "data":
            lines.append("data:" + draw(st.sampled_from(["", " "])) + json.dumps(obj))
        elif kind == "lines":
            lines += ["data: " + part for part in json.dumps(obj, indent=1).split("\n")]
        elif kind == "comment":
            lines.append(": keep-alive")
        elif kind == "retry":
            lines.append("retry: 100")
        else:
            lines.append("data: [DONE]")
        lines.append("")
    if draw(st.booleans()) and lines:
        lines.pop()  # no blank line at the very end
    text, end = "", ""
    for line in lines:
        after_cr = end == "\r"
        end = draw(LINE_ENDS)
        if after_cr and not line and end == "\n":
            end = "\r\n"  # "\r" then "\n" would be one line ending, not two
        text += line + end
    return text.encode()


@settings(max_examples=300, deadline=None)
@given(bodies(), st.data())
async def test_any_body_split_anywhere_reads_as_the_whole_body(raw: bytes,
                                                               data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=30))
    expected = naive(raw)
    assert await decode(raw, cuts) == expected
    # one byte a read, the worst split of all
    assert await decode(raw, list(range(len(raw)))) == expected


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


# -- limits ----------------------------------------------------------------------------------

def sized(n: int) -> bytes:
    """One data event of exactly n bytes (its blank line not counted)."""
    head = b'data: {"pad": "'
    return head + b"x" * (n - len(head) - 2) + b'"}'


@settings(max_examples=100, deadline=None)
@given(st.data(), st.booleans())
async def test_the_event_limit_is_exact_however_the_bytes_arrive(data: st.DataObject,
                                                                  crlf: bool) -> None:
    limit = 64
    end = b"\r\n\r\n" if crlf else b"\n\n"
    fits = sized(limit) + end
    raw = fits + sized(limit + 1) + end
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=20))
    chunks = cut(raw, cuts)
    assert len(await events_of(cut(fits, [c for c in cuts if c < len(fits)]), limit)) == 1
    got: list[dict[str, object]] = []
    with pytest.raises(UpstreamProtocolError, match="SAFETHINK_MAX_EVENT_BYTES"):
        async for event in iter_events(aiter(Reads(chunks)), max_event_bytes=limit):
            got.append(event)
    assert len(got) == 1  # the event before the oversized one was delivered


async def test_an_oversized_event_ends_the_stream_without_reading_the_rest() -> None:
    read = 64 * 1024
    body = wire(EVENTS[:1], done=False) + b"data: " + b"x" * (40 * MiB)
    reads = Reads(cut(body, list(range(read, len(body), read))))
    got: list[dict[str, object]] = []
    with pytest.raises(UpstreamProtocolError) as caught:
        async for event in iter_events(aiter(reads), max_event_bytes=MiB):
            got.append(event)
    assert got == EVENTS[:1]
    assert "1048576 bytes" in str(caught.value)
    assert "SAFETHINK_MAX_EVENT_BYTES" in str(caught.value)
    assert reads.taken <= MiB // read + 2  # not the 640 reads of the whole body


async def test_an_oversized_event_in_one_read_is_refused_too() -> None:
    with pytest.raises(UpstreamProtocolError, match="SAFETHINK_MAX_EVENT_BYTES"):
        await decode(sized(2 * MiB) + b"\n\n", [], limit=MiB)


async def test_what_follows_done_is_read_only_up_to_the_limit() -> None:
    # after [DONE] the body is drained so that the connection is reused, but not forever
    read = 64 * 1024
    reads = Reads([wire(EVENTS), *([b":" + b"j" * (read - 2) + b"\n"] * 1000)])
    assert await events_of(reads, limit=MiB) == EVENTS
    assert reads.taken <= MiB // read + 3


@pytest.mark.parametrize("crlf", [False, True])
async def test_work_is_linear_in_the_bytes_when_one_event_comes_in_many_reads(crlf: bool) -> None:
    # 256 KiB in 4,096 reads: re-searching what is held on each read would scan ~500 MiB
    big: dict[str, object] = {"choices": [{"delta": {"content": "y" * (256 * 1024)}}]}
    raw = wire([big, *EVENTS], crlf=crlf)
    chunks = cut(raw, list(range(64, len(raw), 64)))
    with counted() as work:
        events = await events_of(chunks)
    assert events == [big, *EVENTS]
    assert work.scanned <= 16 * len(raw)  # a few looks at each byte; re-searching: ~2,000
