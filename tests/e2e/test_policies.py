"""The baselines, per-request policy choice and its bounds, continuation modes, and what passes
through."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from proxy.settings import POLICIES
from tests.conftest import ProxyFactory
from tests.support.procs import ServerProcess
from tests.support.scripted_script import ANSWER, SAFE_CONTINUATION, step_text

from .helpers import (
    QUESTION,
    STEER,
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
    # Opened by choice: any policy, and the guard's knobs (within their bounds), per request.
    return start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
                       chat_template=CHATML, allowed_policies=POLICIES,
                       request_overrides=["policy", "tau", "steer_steps", "resamples", "fail_mode"])


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
    # its own proxy: the scripted models are not listed by the upstream, so the probe cannot
    # run; a refused continuation falls back to completions for that request alone
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
    assert reply.reasoning == step_text(1) + STEER + SAFE_CONTINUATION + "".join(
        step_text(i) for i in (3, 4, 5))
    calls = upstream_requests(scripted_upstream, model)
    paths = [c["path"] for c in calls]
    assert paths == ["/v1/chat/completions", "/v1/chat/completions", "/v1/completions"]
    prompt = calls[-1]["body"]["prompt"]
    assert prompt.endswith("<|im_start|>assistant\n<think>\n" + step_text(1) + STEER)
    # nothing learned from one request's refusal: the next steer tries chat again
    assert [c["path"] for c in upstream_requests(scripted_upstream, again)] == [
        "/v1/chat/completions", "/v1/chat/completions", "/v1/completions"]


def test_completions_mode_when_configured(start_proxy: ProxyFactory,
                                          scripted_upstream: ServerProcess,
                                          scripted_scorer: ServerProcess) -> None:
    proxy = start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
                        chat_template=CHATML, continuation="completions")
    model = scenario(unsafe_step=1, shape="content")
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
        reply = read_completion(client.chat.completions.create(model=model, messages=QUESTION))
    assert reply.content.startswith(STEER + SAFE_CONTINUATION)
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
    assert samples[("safethink_steers_total", (("model", "other"),))] >= 1
    assert samples[("safethink_resample_outcomes_total", (("outcome", "recovered"),))] >= 1
    assert samples[("safethink_requests_total", (("model", "other"), ("outcome", "completed"),
                                                 ("policy", "safethink")))] >= 1


# --- what a request may change: nothing by default, only stricter where allowed ---------------

def chat(proxy: ServerProcess, model: str, **options: object) -> httpx.Response:
    return httpx.post(proxy.url + "/v1/chat/completions", headers=options.pop("headers", None),
                      json={"model": model, "messages": QUESTION, **options}, timeout=30)


def assert_refused(response: httpx.Response, *phrases: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "policy_not_allowed" and error["type"] == "invalid_request_error"
    for phrase in phrases:
        assert phrase in error["message"]


@pytest.fixture(scope="module")
def default_proxy(start_proxy: ProxyFactory, scripted_upstream: ServerProcess,
                  scripted_scorer: ServerProcess) -> ServerProcess:
    # Nothing about policies set: the same process as test_completions_mode_when_configured.
    return start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
                       chat_template=CHATML, continuation="completions")


@pytest.mark.parametrize("ask", [{"safethink": {"policy": "none"}},
                                 {"headers": {"X-SafeThink-Policy": "none"}},
                                 {"safethink": {"tau": -1.0}},
                                 {"safethink": {"steer_steps": 0}},
                                 {"safethink": {"fail_mode": "open"}}],
                         ids=["policy", "header", "tau", "steer_steps", "fail_mode"])
def test_a_default_proxy_lets_no_request_weaken_it(default_proxy: ServerProcess,
                                                   scripted_upstream: ServerProcess,
                                                   ask: dict[str, object]) -> None:
    model = scenario(unsafe_step=1)
    assert_refused(chat(default_proxy, model, **ask), "does not let a request set",
                   "SAFETHINK_REQUEST_OVERRIDES")
    assert upstream_requests(scripted_upstream, model) == []  # refused before any generation


def test_a_default_proxy_takes_its_own_policy_restated(default_proxy: ServerProcess) -> None:
    response = chat(default_proxy, scenario(unsafe_step=1), safethink={"policy": "safethink"},
                    headers={"X-SafeThink-Policy": "safethink"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["safethink"]["steers"] == 1
    assert "UNSAFE" not in str(body["choices"][0]["message"])


@pytest.mark.parametrize(("knob", "value", "bound"), [
    ("tau", -0.5, "tau >= 0.0"), ("steer_steps", 2, "steer_steps >= 3"),
    ("resamples", 1, "resamples >= 4"), ("fail_mode", "open", "'closed'"),
])
def test_an_allowed_knob_may_not_loosen_the_guard(proxy: ServerProcess,
                                                  scripted_upstream: ServerProcess, knob: str,
                                                  value: object, bound: str) -> None:
    model = scenario(unsafe_step=1)
    response = chat(proxy, model, safethink={knob: value})
    assert_refused(response, f"safethink.{knob}=", "would loosen the guard", bound)
    assert response.json()["error"]["param"] == f"safethink.{knob}"
    assert upstream_requests(scripted_upstream, model) == []


def test_an_allowed_knob_that_tightens_the_guard_is_applied(client: openai.OpenAI) -> None:
    # step 4 is past the deployment's m = 3: unguarded unless a request guards more steps
    loose = read_stream(client.chat.completions.create(
        model=scenario(unsafe_step=4), messages=QUESTION, stream=True))
    assert "UNSAFE" in loose.reasoning and loose.report["steers"] == 0
    strict = read_stream(client.chat.completions.create(
        model=scenario(unsafe_step=4), messages=QUESTION, stream=True,
        extra_body={"safethink": {"steer_steps": 4, "resamples": 6, "fail_mode": "closed"}}))
    assert "UNSAFE" not in strict.reasoning and strict.report["steers"] == 1


def test_a_higher_tau_is_applied(start_proxy: ProxyFactory, scripted_upstream: ServerProcess,
                                 scripted_scorer: ServerProcess) -> None:
    # The scripted scores are -1 and 1: a deployment with tau = -1 accepts every step.
    lax = start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
                      tau=-1.0, request_overrides=["tau"])
    passed = chat(lax, scenario(unsafe_step=1)).json()
    assert passed["safethink"]["steers"] == 0
    stricter = chat(lax, scenario(unsafe_step=1), safethink={"tau": 0.0}).json()
    assert stricter["safethink"]["steers"] == 1
    assert "UNSAFE" not in str(stricter["choices"][0]["message"])


def test_the_operator_may_widen_a_bound(start_proxy: ProxyFactory,
                                        scripted_upstream: ServerProcess,
                                        scripted_scorer: ServerProcess) -> None:
    widened = start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
                          request_overrides=["tau"], override_tau_min=-1.0)
    response = chat(widened, scenario(unsafe_step=1), safethink={"tau": -1.0})
    assert response.status_code == 200, response.text
    assert response.json()["safethink"]["steers"] == 0
    assert "UNSAFE" in str(response.json()["choices"][0]["message"])
