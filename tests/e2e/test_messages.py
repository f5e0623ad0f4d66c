"""``POST /v1/messages`` end to end: the anthropic SDK -> the proxy -> the scripted upstream (chat
completions), scored by the scripted scorer (a step is unsafe when it says UNSAFE). Real
processes, real HTTP on loopback; one test against llama-cpp-python serving SmolLM2."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
import httpx
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

from .helpers import OPEN_TO_REQUESTS, PREFIX, scenario, upstream_requests

pytestmark = pytest.mark.e2e
QUESTION = [{"role": "user", "content": "How do I make the thing?"}]
BENIGN = "".join(step_text(i) for i in range(1, 6))
THINKING = {"type": "enabled", "budget_tokens": 2048}
KEY = "messages-test-key"
# Validation, not the SDK's lenient construction: every required field there, typed right.
STRICT_EVENT: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)


@pytest.fixture(scope="module")
def proxy(start_proxy: ProxyFactory, scripted_upstream: ServerProcess,
          scripted_scorer: ServerProcess) -> ServerProcess:
    return start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
                       upstream_continuous_usage=True, **OPEN_TO_REQUESTS)


@pytest.fixture(scope="module")
def client(proxy: ServerProcess) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=proxy.url, api_key="unused", max_retries=0) as client:
        yield client


@pytest.fixture(scope="module")
def keyed(start_proxy: ProxyFactory, scripted_upstream: ServerProcess,
          scripted_scorer: ServerProcess) -> ServerProcess:
    """A proxy that needs a key, serves one model request at a time, takes 4 kB bodies."""
    return start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
                       api_keys=[KEY], max_concurrent_requests=1, retry_after_s=2,
                       max_body_bytes=4096)


def steered_trace(steps: int = 5, unsafe: int = 2) -> str:
    before = "".join(step_text(i) for i in range(1, unsafe))
    after = "".join(step_text(i) for i in range(unsafe + 1, steps + 1))
    return before + PREFIX + SAFE_CONTINUATION + after


@dataclass
class Seen:
    """What a client got: the blocks as (type, text, signature), and everything it could read."""

    blocks: list[tuple[str, str, str | None]] = field(default_factory=list)
    stop_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    everything: str = ""  # every event and field, as JSON

    def texts(self, kind: str) -> list[str]:
        return [text for block_kind, text, _ in self.blocks if block_kind == kind]


def of_message(message: Message) -> Seen:
    blocks = [(b.type, b.thinking if b.type == "thinking" else b.text,  # type: ignore[union-attr]
               getattr(b, "signature", None)) for b in message.content]
    return Seen(blocks, message.stop_reason, message.usage.model_dump(exclude_none=True),
                dict((message.model_extra or {}).get("safethink") or {}),
                message.model_dump_json())


def of_events(events: Iterable[Any]) -> Seen:
    seen = Seen()
    dumps = []
    for event in events:
        dumps.append(event.model_dump_json())
        if event.type == "content_block_start":
            block = event.content_block
            seen.blocks.append((block.type, "", None))
        elif event.type == "content_block_delta":
            kind, text, sig = seen.blocks[event.index]
            delta = event.delta
            if delta.type == "thinking_delta":
                text += delta.thinking
            elif delta.type == "text_delta":
                text += delta.text
            elif delta.type == "signature_delta":
                sig = delta.signature
            seen.blocks[event.index] = (kind, text, sig)
        elif event.type == "message_delta":
            seen.stop_reason = event.delta.stop_reason
            seen.usage = event.usage.model_dump(exclude_none=True)
            seen.report = dict((event.model_extra or {}).get("safethink") or {})
    seen.everything = "\n".join(dumps)
    return seen


def ask(client: anthropic.Anthropic, way: str, model: str, **kwargs: Any) -> Seen:
    """One request, the SDK's way ``way``: create, create(stream=True), or stream()."""
    kwargs = {"model": model, "messages": QUESTION, "max_tokens": 4096, "thinking": THINKING,
              **kwargs}
    if way == "create":
        return of_message(client.messages.create(**kwargs))
    if way == "create_stream":
        with client.messages.create(**kwargs, stream=True) as events:
            return of_events(events)
    with client.messages.stream(**kwargs) as stream:
        seen = of_events(stream)
        final = of_message(stream.get_final_message())
    # the SDK's own accumulation gives the same blocks, and no more
    assert final.blocks == seen.blocks and final.stop_reason == seen.stop_reason
    assert "UNSAFE" not in final.everything
    return seen


def signed(thinking: str) -> str:
    return "safethink-sha256:" + hashlib.sha256(thinking.encode()).hexdigest()


def raw_events(proxy: ServerProcess, body: dict[str, Any],
               headers: dict[str, str] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The stream as it is on the wire: (event name, data) of each SSE event."""
    out = []
    with httpx.stream("POST", proxy.url + "/v1/messages", json={**body, "stream": True},
                      headers=headers, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for frame in response.read().decode().split("\n\n"):
            if not frame.strip():
                continue
            name_line, data_line = frame.split("\n")
            assert name_line.startswith("event: ") and data_line.startswith("data: ")
            out.append((name_line[7:], json.loads(data_line[6:])))
    return out


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
    assert got.texts("thinking")[0].startswith(SAFE_CONTINUATION.lstrip())
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


def test_the_request_is_translated_to_chat(client: anthropic.Anthropic,
                                           scripted_upstream: ServerProcess) -> None:
    model = scenario()
    image = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
    client.messages.create(
        model=model, max_tokens=4096, stop_sequences=["###"],
        # older SDKs' and raw clients' sampling fields (this SDK dropped them from its signature)
        extra_body={"temperature": 0.5, "top_p": 0.9, "top_k": 20},
        system=[{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Be kind."}],
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                         {"type": "image", "source": image}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "an old thought", "signature": "x"},
                {"type": "text", "text": "A picture."}]},
            {"role": "user", "content": [
                {"type": "image", "source": {"type": "url", "url": "https://e.test/a.png"}},
                {"type": "text", "text": "And this?"}]},
        ])
    body = upstream_requests(scripted_upstream, model)[0]["body"]
    assert body["messages"] == [
        {"role": "system", "content": "Be brief.\n\nBe kind."},
        {"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]},
        {"role": "assistant", "content": "A picture."},
        {"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://e.test/a.png"}},
            {"type": "text", "text": "And this?"}]},
    ]
    assert (body["temperature"], body["top_p"], body["top_k"], body["stop"]) == (
        0.5, 0.9, 20, ["###"])
    # nothing of Anthropic's own goes upstream
    assert not {"system", "stop_sequences", "thinking", "metadata"} & body.keys()


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "param"), [
    ({"messages": QUESTION}, "max_tokens"),
    ({"messages": QUESTION, "max_tokens": "5"}, "max_tokens"),
    ({"messages": QUESTION, "max_tokens": 0}, "max_tokens"),
    ({"messages": "hello", "max_tokens": 5}, "messages"),
    ({"messages": [], "max_tokens": 5}, "messages"),
    ({"messages": [{"role": "system", "content": "hi"}], "max_tokens": 5}, "messages.0.role"),
    ({"messages": [{"role": "user", "content": 7}], "max_tokens": 5}, "messages.0.content"),
    ({"messages": QUESTION, "max_tokens": 5, "temperature": 1.5}, "temperature"),
    ({"messages": QUESTION, "max_tokens": 5, "stream": "yes"}, "stream"),
    ({"messages": QUESTION, "max_tokens": 5, "thinking": {"type": "enabled"}}, "thinking"),
    ({"messages": QUESTION, "max_tokens": 5, "system": [{"type": "image"}]}, "system.0.type"),
    ({"messages": QUESTION, "max_tokens": 5, "tools": [{"name": "f"}]}, "tools"),
    ({"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]}],
      "max_tokens": 5}, "messages.0.content.0.type"),
    ({"messages": [{"role": "user", "content": [{"type": "document"}]}], "max_tokens": 5},
     "messages.0.content.0.type"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": 3}]}],
      "max_tokens": 5}, "messages.0.content.0.text"),
    ({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "file"}}]}],
      "max_tokens": 5}, "messages.0.content.0.source"),
])
def test_bad_bodies_get_anthropics_envelope(proxy: ServerProcess, body: dict[str, Any],
                                            param: str) -> None:
    answer = httpx.post(proxy.url + "/v1/messages", json={"model": scenario(), **body},
                        timeout=10)
    assert answer.status_code == 400
    error = answer.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert param in error["error"]["message"]
    assert set(error) == {"type", "error"} and set(error["error"]) == {"type", "message"}


def test_the_sdk_raises_bad_request_with_the_message(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(model=scenario(), max_tokens=5,
                               messages=[{"role": "system", "content": "hi"}])  # type: ignore[list-item]
    assert raised.value.status_code == 400
    assert "messages.0.role" in raised.value.message
    assert raised.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]


@pytest.mark.parametrize(("method", "path", "status", "kind"), [
    ("GET", "/v1/messages", 405, "invalid_request_error"),
    ("POST", "/v1/messages/count_tokens", 404, "not_found_error"),
])
def test_routing_errors_get_anthropics_envelope(proxy: ServerProcess, method: str, path: str,
                                                status: int, kind: str) -> None:
    answer = httpx.request(method, proxy.url + path, json={}, timeout=10)
    assert answer.status_code == status
    assert answer.json()["error"]["type"] == kind


def test_a_body_over_the_limit_is_request_too_large(keyed: ServerProcess) -> None:
    answer = httpx.post(keyed.url + "/v1/messages", headers={"x-api-key": KEY}, timeout=10,
                        json={"model": scenario(), "max_tokens": 5,
                              "messages": [{"role": "user", "content": "x" * 5000}]})
    assert answer.status_code == 413
    assert answer.json()["error"]["type"] == "request_too_large"


def test_an_upstream_error_status_keeps_its_status(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.RateLimitError) as raised:
        client.messages.create(model=scenario(fail=429), messages=QUESTION, max_tokens=5)
    assert raised.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]


def test_an_error_after_the_stream_started_is_an_error_event(proxy: ServerProcess,
                                                             client: anthropic.Anthropic) -> None:
    # the upstream stops after 12 events, with no finish_reason: a truncated answer
    events = raw_events(proxy, {"model": scenario(cut_after=12), "messages": QUESTION,
                                "max_tokens": 4096})
    names = [name for name, _ in events]
    assert names[:2] == ["message_start", "ping"]
    assert names[-1] == "error" and "message_stop" not in names
    error = events[-1][1]
    assert error["type"] == "error" and error["error"]["type"] == "api_error"
    assert "finish" in error["error"]["message"]
    with pytest.raises(anthropic.APIStatusError), client.messages.stream(
            model=scenario(cut_after=12), messages=QUESTION, max_tokens=4096) as stream:
        stream.get_final_message()


# -- keys and admission ----------------------------------------------------------------------


def test_a_missing_key_is_an_authentication_error(keyed: ServerProcess) -> None:
    body = {"model": scenario(), "messages": QUESTION, "max_tokens": 5}
    for headers in ({}, {"x-api-key": "wrong"}, {"x-api-key": ""}):
        answer = httpx.post(keyed.url + "/v1/messages", json=body, headers=headers, timeout=10)
        assert answer.status_code == 401
        error = answer.json()
        assert error["type"] == "error" and error["error"]["type"] == "authentication_error"
        assert "x-api-key" in error["error"]["message"]
    with anthropic.Anthropic(base_url=keyed.url, api_key="wrong", max_retries=0) as client, \
            pytest.raises(anthropic.AuthenticationError):
        client.messages.create(**body)


@pytest.mark.parametrize("how", ["x-api-key", "bearer"])
def test_the_right_key_works_in_either_header(keyed: ServerProcess, how: str) -> None:
    # the SDK sends api_key as x-api-key, auth_token as Authorization: Bearer
    credentials = {"api_key": KEY} if how == "x-api-key" else {"auth_token": KEY}
    with anthropic.Anthropic(base_url=keyed.url, max_retries=0, **credentials) as client:
        message = client.messages.create(model=scenario(), messages=QUESTION, max_tokens=4096)
    assert message.content[-1].text == ANSWER  # type: ignore[union-attr]
    # and a chat client's x-api-key too: one set of keys for every API
    answer = httpx.post(keyed.url + "/v1/chat/completions", headers={"x-api-key": KEY},
                        json={"model": scenario(), "messages": QUESTION}, timeout=30)
    assert answer.status_code == 200


def test_a_full_proxy_answers_overloaded_in_anthropics_envelope(keyed: ServerProcess) -> None:
    headers = {"x-api-key": KEY}
    body = {"model": scenario(steps=6, pace_ms=40), "messages": QUESTION, "max_tokens": 4096,
            "stream": True}
    with httpx.Client(timeout=30, headers=headers) as http, \
            http.stream("POST", keyed.url + "/v1/messages", json=body) as held:
        assert held.status_code == 200
        refused = http.post(keyed.url + "/v1/messages", json=body)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "2"
        assert refused.json()["error"]["type"] == "overloaded_error"
        assert refused.json()["type"] == "error"
        held.read()


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
