"""``POST /v1/responses`` end to end: the openai SDK's ``client.responses`` -> the proxy -> the
scripted upstream (chat completions), scored by the scripted scorer (a step is unsafe when it
says UNSAFE). Real processes, real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseFailedEvent,
    ResponseIncompleteEvent,
    ResponseInProgressEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseReasoningTextDeltaEvent,
    ResponseReasoningTextDoneEvent,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
)
from pydantic import TypeAdapter

from tests.conftest import ProxyFactory
from tests.support.procs import ServerProcess, python_server
from tests.support.scripted_script import ANSWER, SAFE_CONTINUATION, step_text
from tests.support.servers import (
    ModelServer,
    llama_cpp_available,
    smollm2_gguf,
    write_gguf_chat_template,
)

from .helpers import PREFIX, STEER, scenario, steered_trace, upstream_requests

pytestmark = pytest.mark.e2e
QUESTION = "How do I make the thing?"
BENIGN = "".join(step_text(i) for i in range(1, 6))
EVENT_CLASSES: dict[str, type[Any]] = {
    "response.created": ResponseCreatedEvent,
    "response.in_progress": ResponseInProgressEvent,
    "response.output_item.added": ResponseOutputItemAddedEvent,
    "response.content_part.added": ResponseContentPartAddedEvent,
    "response.reasoning_text.delta": ResponseReasoningTextDeltaEvent,
    "response.reasoning_text.done": ResponseReasoningTextDoneEvent,
    "response.output_text.delta": ResponseTextDeltaEvent,
    "response.output_text.done": ResponseTextDoneEvent,
    "response.content_part.done": ResponseContentPartDoneEvent,
    "response.output_item.done": ResponseOutputItemDoneEvent,
    "response.completed": ResponseCompletedEvent,
    "response.incomplete": ResponseIncompleteEvent,
    "response.failed": ResponseFailedEvent,
}
# Validation, not the SDK's lenient construction: every required field is there, typed right.
STRICT_EVENT: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


@pytest.fixture(scope="module")
def client(proxy: ServerProcess) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="unused", max_retries=0) as client:
        yield client


@dataclass
class Streamed:
    events: list[Any] = field(default_factory=list)
    reasoning: str = ""
    text: str = ""

    @property
    def types(self) -> list[str]:
        return [event.type for event in self.events]

    @property
    def final(self) -> Any:
        return self.events[-1].response

    @property
    def report(self) -> dict[str, Any]:
        return dict((self.final.model_extra or {}).get("safethink") or {})


def read_events(events: Iterator[Any]) -> Streamed:
    out = Streamed()
    for event in events:
        out.events.append(event)
        if event.type == "response.reasoning_text.delta":
            out.reasoning += event.delta
        elif event.type == "response.output_text.delta":
            out.text += event.delta
    return out


def stream(client: openai.OpenAI, model: str, **kwargs: Any) -> Streamed:
    with client.responses.create(model=model, input=QUESTION, stream=True, **kwargs) as events:
        return read_events(iter(events))


def items(response: Any) -> list[tuple[str, str]]:
    """(type, text) of each output item."""
    out = []
    for item in response.output:
        texts = [part.text for part in item.content or []]
        out.append((item.type, "".join(texts)))
    return out


def everything(streamed: Streamed) -> str:
    return "\n".join(event.model_dump_json() for event in streamed.events)


@pytest.mark.parametrize("chunking", ["awkward", "token"])
@pytest.mark.parametrize("shape", ["reasoning_content", "reasoning", "inline", "content"])
def test_unsafe_step_reaches_no_event_and_no_field(client: openai.OpenAI, shape: str,
                                                   chunking: str) -> None:
    got = stream(client, scenario(shape=shape, chunking=chunking, unsafe_step=2))
    assert "UNSAFE" not in everything(got)
    assert got.types[-1] == "response.completed"
    assert got.final.status == "completed"
    if shape == "content":  # no thinking: the answer is what is guarded, and there is no reasoning
        assert got.reasoning == ""
        assert got.text == steered_trace() + ANSWER
        assert items(got.final) == [("message", got.text)]
    else:
        lead, gap = ("\n", "\n\n") if shape == "inline" else ("", "")  # as the model wrote it
        assert got.reasoning == lead + steered_trace()
        assert got.text == gap + ANSWER
        assert items(got.final) == [("reasoning", got.reasoning), ("message", got.text)]
    assert STEER + SAFE_CONTINUATION in got.reasoning + got.text
    assert got.report["steers"] == 1 and got.report["recovered"] == 1
    assert got.report["upstream_calls"] == 2


@pytest.mark.parametrize("shape", ["reasoning_content", "reasoning", "inline"])
def test_benign_trace_passes_untouched(client: openai.OpenAI, shape: str) -> None:
    got = stream(client, scenario(shape=shape, chunking="awkward"))
    lead, gap = ("\n", "\n\n") if shape == "inline" else ("", "")  # as the model wrote it
    assert got.reasoning == lead + BENIGN
    assert got.text == gap + ANSWER
    assert got.report["steers"] == 0 and got.report["steps_scored"] == 3


def test_every_event_is_the_sdks_own_and_numbered_from_zero(client: openai.OpenAI) -> None:
    got = stream(client, scenario(chunking="whole", unsafe_step=1))
    assert [event.sequence_number for event in got.events] == list(range(len(got.events)))
    for event in got.events:
        assert type(event) is EVENT_CLASSES[event.type]
        STRICT_EVENT.validate_python(event.model_dump())
    reasoning = ["response.reasoning_text.delta"] * got.types.count(
        "response.reasoning_text.delta")
    text = ["response.output_text.delta"] * got.types.count("response.output_text.delta")
    assert reasoning and text
    item = "response.output_item.{}"
    part = "response.content_part.{}"
    assert got.types == [
        "response.created", "response.in_progress",
        item.format("added"), part.format("added"), *reasoning,
        "response.reasoning_text.done", part.format("done"), item.format("done"),
        item.format("added"), part.format("added"), *text,
        "response.output_text.done", part.format("done"), item.format("done"),
        "response.completed",
    ]
    # the ids and indices tie each event to its item
    reasoning_id, message_id = (item.id for item in got.final.output)
    assert reasoning_id.startswith("rs_") and message_id.startswith("msg_")
    for event in got.events:
        if hasattr(event, "item_id"):
            expected = reasoning_id if event.output_index == 0 else message_id
            assert event.item_id == expected
    done = [e for e in got.events if e.type == "response.reasoning_text.done"]
    assert done[0].text == got.reasoning
    assert got.final.output[1].status == "completed" and got.final.output[1].role == "assistant"


def test_non_streaming_response(client: openai.OpenAI) -> None:
    raw = client.responses.with_raw_response.create(
        model=scenario(chunking="awkward", unsafe_step=2), input=QUESTION,
        metadata={"ticket": "t-1"}, instructions="Be brief.")
    response = raw.parse()
    assert Response.model_validate(response.model_dump()) is not None
    assert response.status == "completed" and response.object == "response"
    assert response.output_text == ANSWER
    assert items(response) == [("reasoning", steered_trace()), ("message", ANSWER)]
    assert "UNSAFE" not in response.model_dump_json()
    assert response.metadata == {"ticket": "t-1"} and response.instructions == "Be brief."
    assert (response.model_extra or {})["safethink"]["steers"] == 1
    assert raw.headers["x-safethink-steers"] == "1"
    assert response.usage is not None and response.usage.output_tokens > 0


def test_stream_helper_gives_the_final_response(client: openai.OpenAI) -> None:
    with client.responses.stream(model=scenario(chunking="awkward", unsafe_step=2),
                                 input=QUESTION) as events:
        deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
        final = events.get_final_response()
    assert final.output_text == "".join(deltas) == ANSWER
    assert final.output[0].type == "reasoning"
    assert "UNSAFE" not in final.model_dump_json()
    assert (final.model_extra or {})["safethink"]["steers"] == 1


@pytest.mark.parametrize("streaming", [True, False])
def test_usage_adds_up_over_every_upstream_call(client: openai.OpenAI, streaming: bool,
                                                scripted_upstream: ServerProcess) -> None:
    model = scenario(unsafe_step=2, chunking="whole")
    if streaming:
        response = stream(client, model).final
    else:
        response = client.responses.create(model=model, input=QUESTION)
    calls = upstream_requests(scripted_upstream, model)
    assert len(calls) == 2
    # The scripted upstream counts prompt words: the second call's prompt holds the prefill.
    words = [sum(len(str(m["content"]).split()) for m in c["body"]["messages"]) for c in calls]
    usage = response.usage
    assert usage.input_tokens == sum(words)
    # the cancelled call's chunks up to its unsafe step (2 whole steps at least), then the
    # steered call's: continuation, steps 3-5 and the answer (5 chunks)
    assert usage.output_tokens >= 2 + 5
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


def test_the_request_becomes_a_chat_request(client: openai.OpenAI,
                                            scripted_upstream: ServerProcess) -> None:
    model = scenario()
    turns: Any = [
        {"role": "developer", "content": "Answer in English."},
        {"role": "user", "content": [{"type": "input_text", "text": "Hello "},
                                     {"type": "input_text", "text": "there."}]},
        {"type": "reasoning", "id": "rs_old", "summary": []},
        {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "Hi.", "annotations": []}]},
        {"role": "user", "content": [
            {"type": "input_text", "text": QUESTION},
            {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}]},
    ]
    response = client.responses.create(
        model=model, instructions="Be brief.", max_output_tokens=500, temperature=0.5, top_p=0.9,
        reasoning={"effort": "low"}, input=turns)
    assert response.output_text == ANSWER
    assert response.reasoning is not None and response.reasoning.effort == "low"
    body = upstream_requests(scripted_upstream, model)[0]["body"]
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "system", "content": "Answer in English."},
        {"role": "user", "content": "Hello there."},
        {"role": "assistant", "content": "Hi."},
        {"role": "user", "content": [
            {"type": "text", "text": QUESTION},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA",
                                                "detail": "auto"}}]},
    ]
    assert (body["max_tokens"], body["temperature"], body["top_p"]) == (500, 0.5, 0.9)
    assert "reasoning" not in body and "reasoning_effort" not in body


def test_policy_none_runs_the_same_engine(client: openai.OpenAI) -> None:
    got = stream(client, scenario(unsafe_step=2),
                 extra_headers={"X-SafeThink-Policy": "none"})
    assert got.types[-1] == "response.completed"
    assert "UNSAFE" in got.reasoning and got.text == ANSWER  # nothing guarded, nothing lost
    assert got.report["policy"] == "none" and got.report["steps_scored"] == 0


def test_max_output_tokens_makes_it_incomplete(client: openai.OpenAI) -> None:
    got = stream(client, scenario(chunking="token"), max_output_tokens=4)
    assert got.types[-1] == "response.incomplete"
    final = got.final
    assert final.status == "incomplete"
    assert final.incomplete_details.reason == "max_output_tokens"
    assert [item.type for item in final.output] == ["reasoning", "message"]
    assert final.output[-1].status == "incomplete"
    whole = client.responses.create(model=scenario(chunking="token"), input=QUESTION,
                                    max_output_tokens=4)
    assert whole.status == "incomplete" and whole.incomplete_details is not None


def test_an_error_after_the_start_is_response_failed(client: openai.OpenAI) -> None:
    # the upstream ends its body cleanly mid-generation, after the first steps went out (none
    # is held, so each went out as it came)
    got = stream(client, scenario(chunking="whole", cut_after=4),
                 extra_body={"safethink": {"steer_steps": 0}})
    assert got.types[0] == "response.created"
    assert got.types[-1] == "response.failed" and got.types.count("response.failed") == 1
    failed = got.final
    assert failed.status == "failed"
    assert failed.error.code == "upstream_unavailable" and failed.error.message
    assert got.reasoning == step_text(1) + step_text(2) + step_text(3)
    assert failed.output[0].content[0].text == got.reasoning
    assert failed.output[0].status == "incomplete"


@pytest.mark.parametrize(("body", "param"), [
    ({"model": "m"}, "input"),
    ({"model": "m", "input": 7}, "input"),
    ({"model": "m", "input": []}, "input"),
    ({"model": "m", "input": "hi", "temperature": "hot"}, "temperature"),
    ({"model": "m", "input": [{"role": "robot", "content": "hi"}]}, "input.0.message.role"),
    ({"model": "m", "input": [{"type": "function_call_output", "output": "{}"}]}, "input"),
    ({"model": "m", "input": "hi", "previous_response_id": "resp_1"}, "previous_response_id"),
    ({"model": "m", "input": "hi", "store": True}, "store"),
    ({"model": "m", "input": "hi", "tools": [{"type": "function", "name": "f"}]}, "tools"),
    ({"model": "m", "input": "hi", "tool_choice": "required"}, "tool_choice"),
    ({"model": "m", "input": [{"role": "user", "content": [
        {"type": "input_image", "file_id": "file-1"}]}]}, "input[0].content[0].file_id"),
])
def test_bad_bodies_get_a_400_in_openais_envelope(proxy: ServerProcess, body: dict[str, Any],
                                                  param: str) -> None:
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            client.post("/responses", body=body, cast_to=Response)
    error = caught.value.response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    assert error["param"] == param, error


def test_previous_response_id_says_why(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="keeps no responses"):
        client.responses.create(model=scenario(), input=QUESTION, previous_response_id="resp_1")


@pytest.mark.slow
@pytest.mark.skipif(llama_cpp_available() is not None,
                    reason=f"the real-model group needs llama-cpp-python: {llama_cpp_available()}")
def test_streamed_response_on_real_text(start_proxy: ProxyFactory, smollm2: ModelServer,
                                        tmp_path: Path) -> None:
    template = write_gguf_chat_template(smollm2_gguf(), tmp_path / "smollm2.jinja")
    with python_server("tests.support.scripted_scorer", "--unsafe-unless", PREFIX) as scorer:
        proxy = start_proxy(upstream_url=smollm2.base_url, reward=scorer.url,
                            chat_template=Path(template), continuation="completions")
        with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
            with client.responses.create(model="smollm2", input="What is the capital of France?",
                                         max_output_tokens=60, temperature=0.7, stream=True,
                                         ) as events:
                got = read_events(iter(events))
    # a 135M model thinks in no block: its answer is guarded, and steered once from the prefix
    assert got.types[-1] in {"response.completed", "response.incomplete"}, got.types[-1:]
    final = got.final
    assert final.status in {"completed", "incomplete"}
    assert final.output_text == got.text
    assert got.text.startswith(PREFIX) and len(got.text) > len(PREFIX) + 10
    assert got.report["steers"] == 1
