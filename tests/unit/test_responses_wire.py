"""The Responses API wire, in process: the engine's events in, OpenAI's stream events and
response object out, checked with the openai SDK's own types."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, cast

import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from proxy.api.responses_wire import ResponsesWire
from proxy.api.schemas import Report, Usage
from proxy.engine.events import Content, Delta, Event, Finish, Reasoning, ThinkEnd
from proxy.engine.steering import Result, SteeringEngine
from proxy.exceptions import UpstreamUnavailable

EVENT: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


def engine(finish: str | None = "stop") -> SteeringEngine:
    usage: Usage = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    report = cast(Report, {"request_id": "r1", "steers": 0})
    fake = SimpleNamespace(result=Result(report, usage, finish, None, None))
    return cast(SteeringEngine, fake)


async def batches(events: list[list[Event]], fail: bool = False) -> AsyncIterator[list[Event]]:
    for batch in events:
        yield batch
    if fail:
        raise UpstreamUnavailable("the model server went away")


def wire() -> ResponsesWire:
    return ResponsesWire("r1", {"model": "m", "metadata": {}, "tools": [], "tool_choice": "auto",
                                "parallel_tool_calls": False})


async def streamed(events: list[list[Event]], fail: bool = False,
                   finish: str | None = "stop") -> list[Any]:
    data = b"".join([chunk async for chunk in wire().stream(engine(finish),
                                                            batches(events, fail))])
    frames = [frame for frame in data.decode().split("\n\n") if frame]
    out = []
    for frame in frames:
        head, body = frame.split("\n")
        parsed = json.loads(body.removeprefix("data: "))
        assert head == f"event: {parsed['type']}"
        out.append(EVENT.validate_python(parsed) if parsed["type"] != "response.failed"
                   else parsed)
    return out


THINKING: list[list[Event]] = [
    [Delta({"role": "assistant", "content": ""})],
    [Reasoning("Step 1."), Reasoning(" Step 2.")],
    [ThinkEnd(), Content("Hi"), Content(" there")],
    [Finish("stop")],
]


async def test_a_thinking_answer_is_a_reasoning_item_then_a_message() -> None:
    events = await streamed(THINKING)
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1].response
    Response.model_validate(final.model_dump())
    assert [(item.type, item.content[0].text) for item in final.output] == [
        ("reasoning", "Step 1. Step 2."), ("message", "Hi there")]
    assert [e.delta for e in events if e.type == "response.reasoning_text.delta"] == [
        "Step 1.", " Step 2."]
    assert final.usage.input_tokens == 3 and final.usage.output_tokens == 4
    # the reasoning item is done when the thinking ends, before the answer's first delta
    types = [e.type for e in events]
    assert types.index("response.reasoning_text.done") < types.index("response.output_text.delta")


async def test_the_non_streaming_body_matches_the_stream() -> None:
    body = await wire().assemble(engine(), batches(THINKING))
    final = (await streamed(THINKING))[-1].response.model_dump(exclude_none=True)
    response = Response.model_validate(body)
    assert response.model_dump(exclude_none=True) | {"completed_at": 0} == final | {
        "completed_at": 0}
    assert body["safethink"] == {"request_id": "r1", "steers": 0}


@pytest.mark.parametrize("events", [[[Content("Hi")], [Finish("stop")]], [[Finish("stop")]]])
async def test_no_reasoning_no_reasoning_item(events: list[list[Event]]) -> None:
    final = (await streamed(events))[-1].response
    assert [item.type for item in final.output] == ["message"]
    assert final.output[0].status == "completed"


async def test_length_is_incomplete() -> None:
    events = await streamed([[Reasoning("Step")], [Finish("length")]], finish="length")
    assert events[-1].type == "response.incomplete"
    final = events[-1].response
    assert final.incomplete_details.reason == "max_output_tokens"
    assert [item.status for item in final.output] == ["incomplete", "incomplete"]


async def test_an_error_mid_stream_is_response_failed_and_the_end() -> None:
    events = await streamed([[Reasoning("Step 1.")]], fail=True)
    failed = events[-1]
    assert failed["type"] == "response.failed" and failed["sequence_number"] == len(events) - 1
    response = failed["response"]
    assert response["status"] == "failed"
    assert response["error"]["code"] == "upstream_unavailable"
    assert response["output"][0]["status"] == "incomplete"
    assert response["output"][0]["content"][0]["text"] == "Step 1."
