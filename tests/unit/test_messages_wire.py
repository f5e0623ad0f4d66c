"""The Messages wire, on the engine's events alone: however the events are cut into batches, the
stream says what the whole message says, in blocks the anthropic SDK accepts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, cast

import anthropic
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from proxy.api.messages import MessagesRequest, chat_body
from proxy.api.messages_wire import assemble_message, error_body, stream_events
from proxy.api.schemas import Report, Usage
from proxy.engine.events import Content, Delta, Event, Finish, Reasoning, ThinkEnd
from proxy.engine.steering import Result, SteeringEngine
from proxy.exceptions import (
    NotFound,
    Overloaded,
    PayloadTooLarge,
    RequestTimeout,
    SafeThinkError,
    Unauthorized,
    UpstreamTimeout,
)

STRICT_EVENT: TypeAdapter[Any] = TypeAdapter(anthropic.types.RawMessageStreamEvent)
text = st.text(alphabet=st.sampled_from("ab \n☕é"), max_size=12)
event = st.one_of(st.builds(Reasoning, text), st.builds(Content, text), st.just(ThinkEnd()),
                  st.just(Delta({"role": "assistant", "content": ""})))
batches = st.lists(st.lists(event, max_size=4), max_size=6)


def engine(finish: str | None = "stop") -> SteeringEngine:
    usage: Usage = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    report = cast(Report, {"request_id": "r1", "steers": 0})
    fake = SimpleNamespace(result=Result(report, usage, finish, None, None))
    return cast(SteeringEngine, fake)


async def play(events: list[list[Event]], fail: SafeThinkError | None = None,
               ) -> AsyncIterator[list[Event]]:
    for batch in events:
        yield batch
    if fail is not None:
        raise fail


async def streamed(events: list[list[Event]], fail: SafeThinkError | None = None,
                   ) -> list[dict[str, Any]]:
    raw = b"".join([chunk async for chunk in stream_events(engine(), play(events, fail), "m")])
    out = []
    for frame in raw.decode().split("\n\n")[:-1]:
        name, data = frame.split("\n")
        obj = json.loads(data.removeprefix("data: "))
        assert name == "event: " + obj["type"]
        out.append(obj)
    return out


def rebuild(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The blocks, as a client accumulates them from the stream."""
    blocks: list[dict[str, Any]] = []
    for obj in events:
        if obj["type"] == "content_block_start":
            blocks.append(dict(obj["content_block"]))
        elif obj["type"] == "content_block_delta":
            delta = obj["delta"]
            block = blocks[obj["index"]]
            key = {"thinking_delta": "thinking", "text_delta": "text",
                   "signature_delta": "signature"}[delta["type"]]
            block[key] = block[key] + delta[key] if key != "signature" else delta[key]
    return blocks


@given(batches)
async def test_the_stream_and_the_message_say_the_same(events: list[list[Event]]) -> None:
    whole = await assemble_message(engine(), play(events), "m")
    anthropic.types.Message.model_validate(whole)
    stream = await streamed(events)
    for obj in stream:
        if obj["type"] != "ping":
            STRICT_EVENT.validate_python(obj)
    assert rebuild(stream) == whole["content"]
    for block in whole["content"]:
        body = block.get("thinking", block.get("text"))
        assert body and body == body.lstrip()  # no empty block, no leading whitespace
        if block["type"] == "thinking":
            digest = hashlib.sha256(block["thinking"].encode()).hexdigest()
            assert block["signature"] == "safethink-sha256:" + digest
    # every character of the text events is there but a block's leading whitespace
    said = "".join(e.text for batch in events for e in batch if isinstance(e, Reasoning | Content))
    shown = "".join(block.get("thinking", block.get("text", "")) for block in whole["content"])
    assert len(shown) <= len(said) and said.count("☕") == shown.count("☕")
    assert [obj["type"] for obj in stream][-2:] == ["message_delta", "message_stop"]


async def test_kinds_alternate_into_blocks_in_order() -> None:
    events: list[list[Event]] = [[Reasoning("\nthink "), Reasoning("more")], [ThinkEnd()],
                                 [Content("\n\nanswer"), Finish("length")]]
    whole = await assemble_message(engine("length"), play(events), "m")
    assert [(b["type"], b.get("thinking", b.get("text"))) for b in whole["content"]] == [
        ("thinking", "think more"), ("text", "answer")]
    assert whole["stop_reason"] == "max_tokens"
    assert whole["usage"] == {"input_tokens": 3, "output_tokens": 4}


async def test_an_error_midway_is_the_last_event() -> None:
    stream = await streamed([[Reasoning("a")]], fail=UpstreamTimeout("too slow"))
    assert [obj["type"] for obj in stream] == [
        "message_start", "ping", "content_block_start", "content_block_delta", "error"]
    assert stream[-1]["error"] == {"type": "timeout_error", "message": "too slow"}


def test_errors_have_anthropics_types() -> None:
    cases = [(Unauthorized("k"), "authentication_error"), (NotFound("n"), "not_found_error"),
             (PayloadTooLarge("p"), "request_too_large"), (RequestTimeout("t"), "timeout_error"),
             (Overloaded("o"), "overloaded_error"), (SafeThinkError("x"), "api_error")]
    for exc, kind in cases:
        assert error_body(exc) == {"type": "error", "error": {"type": kind, "message": exc.message}}


def test_a_string_system_and_plain_turns_translate_as_they_are() -> None:
    request = MessagesRequest.model_validate({
        "model": "m", "max_tokens": 9, "system": "Be brief.", "stream": True,
        "messages": [{"role": "user", "content": "hi"},
                     {"role": "assistant", "content": [{"type": "redacted_thinking",
                                                        "data": "x"}]}]})
    assert chat_body(request) == {
        "model": "m", "max_tokens": 9, "stream": True,
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": "hi"},
                     {"role": "assistant", "content": ""}]}
