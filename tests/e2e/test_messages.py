"""``POST /v1/messages`` end to end: the anthropic SDK -> the proxy -> the scripted upstream (chat
completions), scored by the scripted scorer (a step is unsafe when it says UNSAFE). Real
processes, real HTTP on loopback; one test against llama-cpp-python serving SmolLM2.

What the answer holds, streamed or not; the request's translation, its refusals and keys are in
test_messages_requests.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from anthropic.types import Message, RawMessageStreamEvent
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

from .helpers import PREFIX, scenario, steered_trace, upstream_requests
from .messages_helpers import QUESTION, THINKING, ask, raw_events, sdk_client, signed

pytestmark = pytest.mark.e2e
BENIGN = "".join(step_text(i) for i in range(1, 6))
# Validation, not the SDK's lenient construction: every required field there, typed right.
STRICT_EVENT: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)


@pytest.fixture(scope="module")
def client(proxy: ServerProcess) -> Iterator[anthropic.Anthropic]:
    yield from sdk_client(proxy)


# -- steering -------------------------------------------------------------------------------


@pytest.mark.parametrize("way", ["create", "create_stream", "stream"])
@pytest.mark.parametrize("shape", ["reasoning_content", "reasoning", "inline", "content"])
def test_unsafe_step_reaches_no_event_and_no_field(client: anthropic.Anthropic, shape: str,
                                                   way: str) -> None:
    got = ask(client, way, scenario(shape=shape, chunking="awkward", unsafe_step=2))
    assert "UNSAFE" not in got.everything
    if shape == "content":  # no thinking block: the content is what is guarded
        assert got.blocks == [("text", steered_trace() + ANSWER, None)]
    else:
        assert got.blocks == [("thinking", steered_trace(), signed(steered_trace())),
                              ("text", ANSWER, None)]
    assert got.stop_reason == "end_turn"
    report = got.report
    assert report["steers"] == 1 and report["recovered"] == 1 and report["violations"] == 1
    assert report["upstream_calls"] == 2 and report["policy"] == "safethink"


@pytest.mark.parametrize("chunking", ["awkward", "token", "whole"])
@pytest.mark.parametrize("shape", ["reasoning_content", "reasoning", "inline"])
def test_benign_trace_passes_untouched(client: anthropic.Anthropic, shape: str,
                                       chunking: str) -> None:
    got = ask(client, "stream", scenario(shape=shape, chunking=chunking))
    assert got.blocks == [("thinking", BENIGN, signed(BENIGN)), ("text", ANSWER, None)]
    assert got.report["steers"] == 0 and got.report["steps_scored"] == 3
    assert got.report["upstream_calls"] == 1


def test_thinking_disabled_still_shows_the_guarded_reasoning(client: anthropic.Anthropic) -> None:
    got = ask(client, "create", scenario(unsafe_step=1), thinking={"type": "disabled"})
    assert got.texts("thinking") == [steered_trace(unsafe=1)]
    assert got.texts("text") == [ANSWER]


def test_policy_none_is_written_as_a_message_too(client: anthropic.Anthropic) -> None:
    got = ask(client, "create_stream", scenario(unsafe_step=2),
              extra_headers={"X-SafeThink-Policy": "none"})
    # nothing held or steered, but a Messages stream, not a relayed chat completion stream
    assert got.texts("thinking") == [step_text(1) + step_text(2, unsafe=True) + "".join(
        step_text(i) for i in range(3, 6))]
    assert got.texts("text") == [ANSWER]
    assert got.report["policy"] == "none" and got.report["steps_scored"] == 0


def test_per_request_options_ride_in_extra_body(client: anthropic.Anthropic) -> None:
    got = ask(client, "create", scenario(unsafe_step=1),
              extra_body={"safethink": {"show_prefix": False}})
    assert got.texts("thinking")[0].startswith(SAFE_CONTINUATION)
    assert PREFIX not in got.everything

# -- the wire -------------------------------------------------------------------------------


def test_stream_events_come_in_anthropics_order(proxy: ServerProcess) -> None:
    events = raw_events(proxy, {"model": scenario(chunking="token", unsafe_step=1),
                                "messages": QUESTION, "max_tokens": 4096})
    names = [name for name, _ in events]
    for name, data in events:
        assert data["type"] == name
        if name != "ping":
            STRICT_EVENT.validate_python(data)
    deltas = [d["delta"]["type"] for n, d in events if n == "content_block_delta"]
    thinking, text = deltas.count("thinking_delta"), deltas.count("text_delta")
    assert thinking > 1 and text >= 1
    assert names == [
        "message_start", "ping",
        "content_block_start", *["content_block_delta"] * (thinking + 1), "content_block_stop",
        "content_block_start", *["content_block_delta"] * text, "content_block_stop",
        "message_delta", "message_stop",
    ]
    # the signature comes last in its block, and signs what the block said
    assert deltas == ["thinking_delta"] * thinking + ["signature_delta"] + ["text_delta"] * text
    said = "".join(d["delta"].get("thinking", "") for n, d in events if n == "content_block_delta")
    sig = next(d["delta"]["signature"] for n, d in events
               if n == "content_block_delta" and d["delta"]["type"] == "signature_delta")
    assert sig == signed(said) and said == steered_trace(unsafe=1)
    start = events[0][1]["message"]
    assert start["id"].startswith("msg_") and start["content"] == []
    assert start["role"] == "assistant" and start["stop_reason"] is None
    assert [d["content_block"]["type"] for n, d in events if n == "content_block_start"] == [
        "thinking", "text"]
    assert [d["index"] for n, d in events if n.startswith("content_block")] == (
        [0] * (thinking + 3) + [1] * (text + 2))


def test_the_message_is_the_sdks_own(client: anthropic.Anthropic) -> None:
    raw = client.messages.with_raw_response.create(
        model=scenario(chunking="awkward", unsafe_step=2), messages=QUESTION, max_tokens=4096,
        thinking=THINKING, metadata={"user_id": "u-1"})
    body = json.loads(raw.http_response.text)
    Message.model_validate(body)  # strict: every required field is there
    assert body["type"] == "message" and body["role"] == "assistant"
    assert body["id"].startswith("msg_") and body["stop_sequence"] is None
    assert body["content"][1] == {"type": "text", "text": ANSWER, "citations": None}
    assert body["safethink"]["request_id"] == raw.headers["x-safethink-request-id"]
    assert body["id"] == "msg_" + body["safethink"]["request_id"]
    assert raw.headers["x-safethink-steers"] == "1"


@pytest.mark.parametrize("way", ["create", "stream"])
def test_max_tokens_bounds_the_call_and_reads_as_max_tokens(client: anthropic.Anthropic,
                                                            scripted_upstream: ServerProcess,
                                                            way: str) -> None:
    model = scenario(chunking="whole")
    got = ask(client, way, model, max_tokens=3)
    assert got.stop_reason == "max_tokens"
    assert [c["body"]["max_tokens"] for c in upstream_requests(scripted_upstream, model)] == [3]


@pytest.mark.parametrize("way", ["create", "stream"])
def test_usage_adds_up_over_every_upstream_call(client: anthropic.Anthropic,
                                                scripted_upstream: ServerProcess,
                                                way: str) -> None:
    model = scenario(unsafe_step=2, chunking="whole")
    got = ask(client, way, model)
    calls = upstream_requests(scripted_upstream, model)
    assert len(calls) == 2
    # The scripted upstream counts prompt words: the second call's prompt holds the prefill.
    words = [sum(len(str(m["content"]).split()) for m in c["body"]["messages"]) for c in calls]
    assert got.usage["input_tokens"] == sum(words)
    # the cancelled call's chunks up to its unsafe step (2 whole steps at least), then the
    # steered call's: continuation, steps 3-5 and the answer (5 chunks)
    assert got.usage["output_tokens"] >= 2 + 5


# -- a real model ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(llama_cpp_available() is not None,
                    reason=f"the real-model test needs llama-cpp-python: {llama_cpp_available()}")
def test_a_streamed_message_completes_on_smollm2(start_proxy: ProxyFactory, smollm2: ModelServer,
                                                 tmp_path_factory: pytest.TempPathFactory) -> None:
    template = write_gguf_chat_template(smollm2_gguf(),
                                        tmp_path_factory.mktemp("gguf") / "smollm2.jinja")
    with python_server("tests.support.scripted_scorer", "--unsafe-unless", PREFIX) as scorer:
        proxy = start_proxy(upstream_url=smollm2.base_url, reward=scorer.url,
                            chat_template=Path(template), continuation="completions")
        with anthropic.Anthropic(base_url=proxy.url, api_key="x", max_retries=0) as client, \
                client.messages.stream(
                    model="smollm2", max_tokens=60, system="Be helpful.",
                    extra_body={"temperature": 0.7},
                    messages=[{"role": "user", "content": "Give me three tips for better sleep."}],
                    thinking=THINKING) as stream:
            texts = list(stream.text_stream)
            final = stream.get_final_message()
    # SmolLM2 has no thinking block: its content is guarded, and steered once from the prefix
    assert [block.type for block in final.content] == ["text"]
    text = final.content[0].text  # type: ignore[union-attr]
    assert text == "".join(texts) and text.startswith(PREFIX)
    assert len(text.strip()) > len(PREFIX) + 10
    assert final.stop_reason in {"end_turn", "max_tokens"}
    # (llama-cpp-python reports no usage on a stream: the counts are 0 there, not checked)
