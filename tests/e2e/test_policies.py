"""The baselines, per-request policy choice, continuation modes, and what passes through."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import ProxyFactory
from tests.support.procs import ServerProcess
from tests.support.scripted_script import ANSWER, SAFE_CONTINUATION, step_text

from .helpers import (
    PREFIX,
    QUESTION,
    read_completion,
    read_stream,
    scenario,
    scorer_calls,
    upstream_requests,
)

pytestmark = pytest.mark.e2e
CHATML = str(Path(__file__).parents[1] / "support" / "chatml.jinja")


@pytest.fixture(scope="module")
def proxy(start_proxy: ProxyFactory, scripted_upstream: ServerProcess,
          scripted_scorer: ServerProcess) -> ServerProcess:
    return start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
                       chat_template=CHATML)


@pytest.fixture(scope="module")
def client(proxy: ServerProcess) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="unused", max_retries=0) as client:
        yield client


def test_policy_none_passes_everything_through(client: openai.OpenAI,
                                               scripted_upstream: ServerProcess) -> None:
    model = scenario(unsafe_step=2)
    response = client.chat.completions.with_raw_response.create(
        model=model, messages=QUESTION, stream=True,
        extra_headers={"X-SafeThink-Policy": "none"})
    assert response.headers["x-safethink-policy"] == "none"
    reply = read_stream(response.parse())
    assert "UNSAFE" in reply.reasoning and reply.content == ANSWER
    assert reply.report == {}
    sent = upstream_requests(scripted_upstream, model)[0]["body"]
    assert sent == {"model": model, "messages": QUESTION, "stream": True}


def test_auto_continuation_falls_back_to_completions(start_proxy: ProxyFactory,
                                                     scripted_upstream: ServerProcess,
                                                     scripted_scorer: ServerProcess) -> None:
    # its own proxy: what auto learns about an upstream lasts for the process
    proxy = start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
                        chat_template=CHATML, continuation="auto")
    model = scenario(unsafe_step=2, reject_continue=1)
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
        reply = read_stream(client.chat.completions.create(model=model, messages=QUESTION,
                                                           stream=True))
        again = scenario(unsafe_step=1, reject_continue=1)
        read_stream(client.chat.completions.create(model=again, messages=QUESTION, stream=True))
    assert reply.report["continuation"] == "completions"
    assert "UNSAFE" not in reply.reasoning
    assert reply.reasoning == step_text(1) + PREFIX + SAFE_CONTINUATION + "".join(
        step_text(i) for i in (3, 4, 5))
    calls = upstream_requests(scripted_upstream, model)
    paths = [c["path"] for c in calls]
    assert paths == ["/v1/chat/completions", "/v1/chat/completions", "/v1/completions"]
    prompt = calls[-1]["body"]["prompt"]
    assert prompt.endswith("<|im_start|>assistant\n<think>\n" + step_text(1) + PREFIX)
    # learned: the next steer goes straight to completions
    assert [c["path"] for c in upstream_requests(scripted_upstream, again)] == [
        "/v1/chat/completions", "/v1/completions"]


def test_completions_mode_when_configured(start_proxy: ProxyFactory,
                                          scripted_upstream: ServerProcess,
                                          scripted_scorer: ServerProcess) -> None:
    proxy = start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
                        chat_template=CHATML, continuation="completions")
    model = scenario(unsafe_step=1, shape="content")
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
        reply = read_completion(client.chat.completions.create(model=model, messages=QUESTION))
    assert reply.content.startswith(PREFIX + SAFE_CONTINUATION)
    assert reply.content.endswith(ANSWER)
    assert [c["path"] for c in upstream_requests(scripted_upstream, model)] == [
        "/v1/chat/completions", "/v1/completions"]


@pytest.mark.parametrize(("policy", "prefill", "shown"), [
    ("zerothink", "<think>\n\n</think>\n\n", ""),
    ("lessthink", "<think>\nOkay, the user asked this, and I can answer it without thinking "
                  "much.\n</think>\n\n",
     "Okay, the user asked this, and I can answer it without thinking much."),
    ("safepath", "<think>\nLet's think about safety first", "Let's think about safety first"),
])
def test_prefill_baselines(client: openai.OpenAI, scripted_upstream: ServerProcess, policy: str,
                           prefill: str, shown: str) -> None:
    model = scenario(unsafe_step=2)
    reply = read_stream(client.chat.completions.create(
        model=model, messages=QUESTION, stream=True, extra_body={"safethink": {"policy": policy}}))
    sent = upstream_requests(scripted_upstream, model)[0]["body"]
    assert sent["messages"][-1] == {"role": "assistant", "content": prefill}
    assert sent["continue_final_message"] is True and sent["add_generation_prompt"] is False
    assert reply.report["policy"] == policy and reply.report["steps_scored"] == 0
    assert reply.reasoning.startswith(shown)
    assert reply.content.endswith(ANSWER)


def test_adashield_puts_the_defence_before_the_request(client: openai.OpenAI,
                                                       scripted_upstream: ServerProcess) -> None:
    model = scenario()
    reply = read_completion(client.chat.completions.create(
        model=model, messages=QUESTION, extra_body={"safethink": {"policy": "adashield"}}))
    sent = upstream_requests(scripted_upstream, model)[0]["body"]["messages"]
    assert sent[-1]["content"].startswith("Before processing any instruction, examine")
    assert sent[-1]["content"].endswith(QUESTION[0]["content"])
    assert reply.content == ANSWER


def test_multimodal_parts_pass_through_and_the_scorer_sees_text(
        client: openai.OpenAI, scripted_upstream: ServerProcess,
        scripted_scorer: ServerProcess) -> None:
    model = scenario()
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    messages = [{"role": "user", "content": [{"type": "text", "text": "What is in the image?"},
                                             image]}]
    read_stream(client.chat.completions.create(model=model, messages=messages,  # type: ignore[arg-type]
                                               stream=True))
    assert upstream_requests(scripted_upstream, model)[0]["body"]["messages"] == messages
    prompts = [call["prompt"] for call in scorer_calls(scripted_scorer)]
    assert [{"role": "user", "content": "What is in the image?"}] in prompts


def test_tools_pass_through_to_the_upstream(client: openai.OpenAI,
                                            scripted_upstream: ServerProcess) -> None:
    model = scenario()
    parameters = {"type": "object", "properties": {}}
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": parameters}}]
    read_stream(client.chat.completions.create(model=model, messages=QUESTION, stream=True,
                                               tools=tools))  # type: ignore[arg-type]
    assert upstream_requests(scripted_upstream, model)[0]["body"]["tools"] == tools


def test_models_and_completions_are_forwarded(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["scripted"]
    completion = client.completions.create(model=scenario(), prompt="Hello")
    assert completion.choices[0].text
    chunks = list(client.completions.create(model=scenario(), prompt="Hello", stream=True))
    assert "".join(c.choices[0].text for c in chunks if c.choices)


def test_ops_endpoints_after_a_steer(client: openai.OpenAI, proxy: ServerProcess) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    response = client.chat.completions.with_raw_response.create(
        model=scenario(unsafe_step=1), messages=QUESTION)
    request_id = response.headers["x-safethink-request-id"]
    audit = httpx.get(f"{proxy.url}/v1/safethink/requests/{request_id}").json()
    assert audit["policy"] == "safethink" and audit["outcome"] == "completed"
    assert [s["decision"] for s in audit["steps"]] == ["steer", "accept", "accept", "accept"]
    assert "text" not in audit["steps"][0]  # traces are not stored by default
    assert httpx.get(proxy.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(proxy.url + "/readyz").json()
    assert ready["status"] == "ready", ready
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(httpx.get(proxy.url + "/metrics").text)
        for s in family.samples
    }
    assert samples[("safethink_steers_total", ())] >= 1
    assert samples[("safethink_resample_outcomes_total", (("outcome", "recovered"),))] >= 1
    assert samples[("safethink_requests_total",
                    (("outcome", "completed"), ("policy", "safethink")))] >= 1
