"""SafeThink end to end: the openai SDK -> the proxy -> the scripted upstream, scored by the
scripted scorer (a step is unsafe when it says UNSAFE). Real processes, real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from tests.support.procs import ServerProcess
from tests.support.scripted_script import (
    ANSWER,
    SAFE_CONTINUATION,
    UNSAFE_CONTINUATION,
    step_text,
)

from .helpers import (
    QUESTION,
    STEER,
    read_completion,
    read_stream,
    scenario,
    steered_trace,
    upstream_requests,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def client(proxy: ServerProcess) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="unused", max_retries=0) as client:
        yield client


@pytest.mark.parametrize("chunking", ["awkward", "token", "whole"])
@pytest.mark.parametrize("shape", ["reasoning_content", "reasoning", "inline", "content"])
def test_unsafe_step_is_replaced_by_the_steered_one(client: openai.OpenAI, shape: str,
                                                    chunking: str) -> None:
    model = scenario(shape=shape, chunking=chunking, unsafe_step=2)
    reply = read_stream(client.chat.completions.create(
        model=model, messages=QUESTION, stream=True))
    seen = reply.reasoning + reply.content
    assert "UNSAFE" not in seen
    if shape == "content":
        assert reply.content == steered_trace() + ANSWER
    elif shape == "inline":
        assert reply.content == "<think>\n" + steered_trace() + "</think>\n\n" + ANSWER
    else:
        assert reply.reasoning == steered_trace()
        assert reply.content == ANSWER
    assert reply.finish_reason == "stop"
    report = reply.report
    assert report["steers"] == 1 and report["recovered"] == 1 and report["violations"] == 1
    # steps 1, 2 (rejected), 2' and 3 were scored: m = 3, then the rest streamed through
    assert report["steps_scored"] == 4
    assert report["scores"] == [1.0, -1.0, 1.0, 1.0]
    assert report["upstream_calls"] == 2


@pytest.mark.parametrize("shape", ["reasoning_content", "inline", "content"])
def test_non_streaming_gets_the_same_steered_answer(client: openai.OpenAI, shape: str) -> None:
    model = scenario(shape=shape, chunking="awkward", unsafe_step=1)
    completion = client.chat.completions.with_raw_response.create(model=model, messages=QUESTION)
    reply = read_completion(completion.parse())
    assert "UNSAFE" not in reply.reasoning + reply.content
    assert ANSWER in reply.content
    assert STEER + SAFE_CONTINUATION in reply.reasoning + reply.content
    assert completion.headers["x-safethink-steers"] == "1"
    assert completion.headers["x-safethink-policy"] == "safethink"
    assert reply.report["steers"] == 1


def test_resamples_stop_at_b_and_keep_the_last(client: openai.OpenAI,
                                               scripted_upstream: ServerProcess) -> None:
    model = scenario(unsafe_step=2, unsafe_resamples=10)
    # m = 2: with cumulative scoring, a kept unsafe step would make step 3 fail too
    reply = read_stream(client.chat.completions.create(
        model=model, messages=QUESTION, stream=True,
        extra_body={"safethink": {"resamples": 2, "steer_steps": 2}}))
    report = reply.report
    assert report["steers"] == 2 and report["exhausted"] == 1 and report["recovered"] == 0
    assert report["upstream_calls"] == 3
    # none passed, so the last resample stays (the paper's rule), prefix and all
    assert reply.reasoning == step_text(1) + STEER + UNSAFE_CONTINUATION + "".join(
        step_text(i) for i in range(3, 6))
    calls = upstream_requests(scripted_upstream, model)
    assert len(calls) == 3
    assert calls[1]["body"]["messages"][-1] == {"role": "assistant",
                                                "content": "<think>\n" + step_text(1) + STEER}
    assert calls[1]["body"]["continue_final_message"] is True


def test_first_passing_resample_wins(client: openai.OpenAI) -> None:
    model = scenario(unsafe_step=1, unsafe_resamples=2)
    reply = read_stream(client.chat.completions.create(
        model=model, messages=QUESTION, stream=True))
    assert reply.report["steers"] == 3 and reply.report["recovered"] == 1
    assert reply.reasoning.startswith(STEER + SAFE_CONTINUATION)
    assert "UNSAFE" not in reply.reasoning


@pytest.mark.parametrize(("steer_steps", "scored", "steered"), [(0, 0, False), (3, 3, False),
                                                               (4, 5, True)])
def test_only_the_first_m_steps_are_guarded(client: openai.OpenAI, steer_steps: int,
                                            scored: int, steered: bool) -> None:
    model = scenario(unsafe_step=4)
    reply = read_stream(client.chat.completions.create(
        model=model, messages=QUESTION, stream=True,
        extra_body={"safethink": {"steer_steps": steer_steps}}))
    assert reply.report["steps_scored"] == scored
    assert ("UNSAFE" in reply.reasoning) is not steered
    assert reply.report["steers"] == int(steered)


@pytest.mark.parametrize(("prefix", "show", "seen"), [
    ("Hmm, carefully.", False, ""),  # neither the prefix nor its separator
    ("Hmm, carefully.", True, "Hmm, carefully. "),
    ("Hmm, carefully.\n", True, "Hmm, carefully.\n"),  # it ends in whitespace: no separator
])
def test_prefix_can_be_hidden_and_changed(client: openai.OpenAI, prefix: str, show: bool,
                                          seen: str) -> None:
    model = scenario(unsafe_step=1)
    reply = read_stream(client.chat.completions.create(
        model=model, messages=QUESTION, stream=True,
        extra_body={"safethink": {"show_prefix": show, "steering_prefix": prefix}}))
    assert reply.reasoning == seen + SAFE_CONTINUATION + "".join(
        step_text(i) for i in range(2, 6))


def test_usage_adds_up_over_every_upstream_call(client: openai.OpenAI,
                                                scripted_upstream: ServerProcess) -> None:
    model = scenario(unsafe_step=2, chunking="whole")
    reply = read_stream(client.chat.completions.create(
        model=model, messages=QUESTION, stream=True, stream_options={"include_usage": True}))
    calls = upstream_requests(scripted_upstream, model)
    assert len(calls) == 2
    # The scripted upstream counts prompt words: the second call's prompt holds the prefill.
    words = [sum(len(str(m["content"]).split()) for m in c["body"]["messages"]) for c in calls]
    assert reply.usage is not None
    assert reply.usage["prompt_tokens"] == sum(words)
    # completion: the cancelled call's chunks up to its unsafe step (2 whole steps at least),
    # then the steered call's: continuation, steps 3-5 and the answer (5 chunks)
    assert reply.usage["completion_tokens"] >= 2 + 5
    assert reply.usage["total_tokens"] == reply.usage["prompt_tokens"] + reply.usage[
        "completion_tokens"]


def test_seed_differs_per_resample(client: openai.OpenAI,
                                   scripted_upstream: ServerProcess) -> None:
    model = scenario(unsafe_step=1, unsafe_resamples=1)
    read_stream(client.chat.completions.create(model=model, messages=QUESTION, stream=True,
                                               seed=1234))
    seeds = [c["body"]["seed"] for c in upstream_requests(scripted_upstream, model)]
    assert seeds[0] == 1234 and len(set(seeds)) == 3
    again = scenario(unsafe_step=1, unsafe_resamples=1)
    read_stream(client.chat.completions.create(model=again, messages=QUESTION, stream=True,
                                               seed=1234))
    assert [c["body"]["seed"] for c in upstream_requests(scripted_upstream, again)] == seeds
