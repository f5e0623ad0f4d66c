"""Sentence release end to end (issue 14): the openai and anthropic SDKs -> ``python -m proxy``
with ``release="sentence"`` -> the scripted upstream, scored by the scripted scorer (a trace is
unsafe when it says UNSAFE). Real processes, real HTTP on loopback.

Every step is three sentences and the second of step 2 says UNSAFE: the client gets step 1, step
2's first sentence, then the steered continuation in place of the rest of step 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from tests.conftest import ProxyFactory
from tests.support.procs import ServerProcess
from tests.support.scripted_script import (
    ANSWER,
    ASSISTANT_START,
    SAFE_CONTINUATION,
    step_sentences,
)

from .helpers import (
    QUESTION,
    STEER,
    Reply,
    finished_record,
    read_completion,
    read_stream,
    scenario,
    scorer_calls,
    steered_trace,
    upstream_requests,
)
from .messages_helpers import ask, signed

pytestmark = pytest.mark.e2e
CHATML = str(Path(__file__).parents[1] / "support" / "chatml.jinja")
OPTIONS: dict[str, object] = {"sentences": 3, "unsafe_step": 2, "unsafe_sentence": 2}
STEP_1, STEP_2, STEP_3 = (step_sentences(i, i == 2, 3, 2) for i in (1, 2, 3))
KEPT = STEP_2[0]  # safe: released before the unsafe sentence after it is scored
# What no client may read: the unsafe sentence, and the sentence the model wrote after it.
NEVER = ("UNSAFE", "Step 2, sentence 3")
STEERED = steered_trace(sentences=3, kept=1)
PREFILL = "<think>\n" + "".join(STEP_1) + KEPT + STEER  # what the steered call continues
Proxies = Callable[..., ServerProcess]


@pytest.fixture(scope="module")
def proxies(start_proxy: ProxyFactory, scripted_upstream: ServerProcess,
            scripted_scorer: ServerProcess) -> Proxies:
    """A proxy on the scripted upstream and scorer, by its release and continuation mode."""

    def make(release: str = "sentence", continuation: str = "chat") -> ServerProcess:
        return start_proxy(upstream_url=scripted_upstream.url + "/v1",
                           reward=scripted_scorer.url, release=release,
                           continuation=continuation, chat_template=CHATML)

    return make


@pytest.fixture(scope="module")
def proxy(proxies: Proxies) -> ServerProcess:
    return proxies()


def chat(proxy: ServerProcess, model: str, stream: bool = True,
         messages: list[dict[str, str]] = QUESTION) -> Reply:
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
        if stream:
            return read_stream(client.chat.completions.create(
                model=model, messages=messages, stream=True))  # type: ignore[arg-type]
        return read_completion(client.chat.completions.create(
            model=model, messages=messages))  # type: ignore[arg-type]


def assert_never_seen(seen: str) -> None:
    for text in NEVER:
        assert text not in seen


@pytest.mark.parametrize("chunking", ["whole", "token", "awkward"])
@pytest.mark.parametrize("shape", ["reasoning_content", "reasoning", "inline", "content"])
def test_the_safe_sentence_is_kept_and_the_unsafe_one_steered(proxy: ServerProcess, shape: str,
                                                              chunking: str) -> None:
    reply = chat(proxy, scenario(shape=shape, chunking=chunking, **OPTIONS))
    assert_never_seen(reply.reasoning + reply.content)
    if shape == "content":
        assert reply.content == STEERED + ANSWER
    elif shape == "inline":
        assert reply.content == "<think>\n" + STEERED + "</think>\n\n" + ANSWER
    else:
        assert reply.reasoning == STEERED
        assert reply.content == ANSWER
    assert reply.finish_reason == "stop"
    assert reply.report["steers"] == 1 and reply.report["recovered"] == 1
    assert reply.report["upstream_calls"] == 2


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(("continuation", "path"), [("chat", "/v1/chat/completions"),
                                                    ("completions", "/v1/completions")])
def test_the_steered_call_continues_after_the_accepted_sentence(
        proxies: Proxies, scripted_upstream: ServerProcess, continuation: str, path: str,
        stream: bool) -> None:
    model = scenario(chunking="awkward", **OPTIONS)
    reply = chat(proxies(continuation=continuation), model, stream=stream)
    assert reply.reasoning == STEERED
    # a completion writes "</think>\n\n" and the answer: the blank line stays, as written
    assert reply.content == ("\n\n" if continuation == "completions" else "") + ANSWER
    calls = upstream_requests(scripted_upstream, model)
    assert [c["path"] for c in calls] == ["/v1/chat/completions", path]
    body = calls[1]["body"]
    if continuation == "chat":
        assert body["messages"][-1] == {"role": "assistant", "content": PREFILL}
        assert body["continue_final_message"] is True
    else:
        assert body["prompt"].endswith(ASSISTANT_START + PREFILL)


def test_each_sentence_is_scored_after_everything_accepted_before_it(
        proxy: ServerProcess, scripted_scorer: ServerProcess) -> None:
    model = scenario(chunking="token", **OPTIONS)
    # the scorer is shared: this request's calls are those whose prompt names its scenario
    asked = [{"role": "user", "content": f"How do I make the thing? ({model})"}]
    reply = chat(proxy, model, messages=asked)
    traces = [c["trace"] for c in scorer_calls(scripted_scorer)
              if model in json.dumps(c["prompt"], ensure_ascii=False)]
    assert traces[0] == STEP_1[0]
    # the unsafe sentence waits for the rest of its step, which is then judged whole
    units = [*STEP_1, KEPT, STEP_2[1], STEP_2[1] + STEP_2[2], STEER + SAFE_CONTINUATION, *STEP_3]
    expected, accepted = [], ""
    for unit in units:  # each call: the trace accepted so far, plus one unit
        expected.append(accepted + unit)
        accepted += "" if "UNSAFE" in unit else unit
    assert traces == expected
    assert reply.report["scores"] == [1.0] * 4 + [-1.0, -1.0] + [1.0] * 4


def test_the_audit_record_numbers_the_sentences(proxy: ServerProcess) -> None:
    reply = chat(proxy, scenario(**OPTIONS))
    steps = finished_record(proxy, reply.report["request_id"])["steps"]
    assert [(s["index"], s["sentence"], s["decision"]) for s in steps] == [
        (1, 1, "accept"), (1, 2, "accept"), (1, 3, "accept"),
        (2, 1, "accept"), (2, 2, "defer"),  # below tau: waits for the rest of step 2
        (2, 2, "steer"), (2, 2, "accept"),  # the continuation: still step 2
        (3, 1, "accept"), (3, 2, "accept"), (3, 3, "accept")]
    assert steps[5]["attempt"] < steps[6]["attempt"]
    assert [s["length"] for s in steps[:3]] == [len(unit) for unit in STEP_1]


@pytest.mark.parametrize("chunking", ["whole", "awkward"])
def test_step_release_drops_the_whole_step(proxies: Proxies, chunking: str) -> None:
    proxy = proxies(release="step")
    reply = chat(proxy, scenario(chunking=chunking, **OPTIONS))
    assert reply.reasoning == steered_trace(sentences=3)
    assert KEPT not in reply.reasoning  # step 2's first sentence went with it
    assert reply.report["steers"] == 1 and reply.report["recovered"] == 1
    steps = finished_record(proxy, reply.report["request_id"])["steps"]
    assert [s["decision"] for s in steps] == ["accept", "steer", "accept", "accept"]
    assert not any("sentence" in s for s in steps)


@pytest.mark.parametrize("stream", [True, False])
def test_the_responses_api_gets_the_steered_sentences(proxy: ServerProcess,
                                                      stream: bool) -> None:
    model = scenario(chunking="awkward", **OPTIONS)
    question = str(QUESTION[0]["content"])
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
        if stream:
            with client.responses.create(model=model, input=question, stream=True) as events:
                seen = list(events)
            deltas = [e.delta for e in seen if e.type == "response.reasoning_text.delta"]
            assert "".join(deltas) == STEERED
            final: Any = seen[-1].response  # type: ignore[union-attr]
            everything = "\n".join(event.model_dump_json() for event in seen)
        else:
            final = client.responses.create(model=model, input=question)
            everything = final.model_dump_json()
    assert final.status == "completed" and final.output_text == ANSWER
    reasoning = final.output[0]
    assert reasoning.type == "reasoning"
    assert "".join(part.text for part in reasoning.content) == STEERED
    assert_never_seen(everything)
    assert (final.model_extra or {})["safethink"]["steers"] == 1


@pytest.mark.parametrize("way", ["create", "stream"])
def test_the_messages_api_gets_the_steered_sentences(proxy: ServerProcess, way: str) -> None:
    with anthropic.Anthropic(base_url=proxy.url, api_key="x", max_retries=0) as client:
        got = ask(client, way, scenario(chunking="awkward", **OPTIONS))
    assert got.blocks == [("thinking", STEERED, signed(STEERED)), ("text", ANSWER, None)]
    assert_never_seen(got.everything)
    assert got.report["steers"] == 1 and got.report["recovered"] == 1
