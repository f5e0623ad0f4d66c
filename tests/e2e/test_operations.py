"""What operators see: API keys, structured logs, and every metric after a scripted steer."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ProxyFactory
from tests.support.procs import ServerProcess

from .helpers import QUESTION, read_stream, scenario

pytestmark = pytest.mark.e2e
SECRET_PROMPT = "my secret prompt about the thing"


@pytest.fixture(scope="module")
def proxy(start_proxy: ProxyFactory, scripted_upstream: ServerProcess,
          scripted_scorer: ServerProcess) -> ServerProcess:
    return start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
                       api_keys=["client-key-1", "client-key-2"], admin_key="admin-key",
                       upstream_api_key="upstream-secret", log_level="info")


def test_client_keys(proxy: ServerProcess, scripted_upstream: ServerProcess) -> None:
    for key in (None, "wrong"):
        headers = {"authorization": f"Bearer {key}"} if key else {}
        response = httpx.post(proxy.url + "/v1/chat/completions", headers=headers,
                              json={"model": scenario(), "messages": QUESTION})
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "authentication_error"
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="client-key-2",
                       max_retries=0) as client:
        model = scenario()
        reply = read_stream(client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": SECRET_PROMPT}], stream=True))
    assert reply.finish_reason == "stop"
    # the upstream gets the deployment's key, never the client's
    sent = [r for r in httpx.get(scripted_upstream.url + "/_requests").json()
            if r["body"].get("model") == model]
    assert sent[0]["headers"]["authorization"] == "Bearer upstream-secret"


def test_admin_key_guards_the_audit_routes(proxy: ServerProcess) -> None:
    for key in ("client-key-1", None):
        headers = {"authorization": f"Bearer {key}"} if key else {}
        assert httpx.get(proxy.url + "/v1/safethink/stats", headers=headers).status_code == 401
    stats = httpx.get(proxy.url + "/v1/safethink/stats",
                      headers={"authorization": "Bearer admin-key"})
    assert stats.status_code == 200 and stats.json()["store"] == "memory"
    # probes and scrapers carry no keys
    for path in ("/healthz", "/metrics"):
        assert httpx.get(proxy.url + path).status_code == 200


def test_logs_are_json_with_the_request_id_and_no_secrets(proxy: ServerProcess) -> None:
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="client-key-1",
                       max_retries=0) as client:
        response = client.chat.completions.with_raw_response.create(
            model=scenario(unsafe_step=1), messages=[{"role": "user", "content": SECRET_PROMPT}])
        response.parse()
    request_id = response.headers["x-safethink-request-id"]
    output = proxy.output()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    finished = [line for line in lines if line.get("request_id") == request_id]
    assert finished and finished[0]["message"] == "request finished"
    assert finished[0]["steers"] == 1 and finished[0]["outcome"] == "completed"
    for secret in (SECRET_PROMPT, "UNSAFE", "client-key-1", "upstream-secret", "admin-key"):
        assert secret not in output


def test_metrics_after_a_scripted_steer(start_proxy: ProxyFactory,
                                        scripted_upstream: ServerProcess,
                                        scripted_scorer: ServerProcess) -> None:
    proxy = start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
                        request_overrides=["policy", "resamples"], store_text=False,
                        allowed_policies=["safethink", "none"], override_resamples_min=1)
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
        read_stream(client.chat.completions.create(
            model=scenario(unsafe_step=1), messages=QUESTION, stream=True))
        read_stream(client.chat.completions.create(
            model=scenario(unsafe_step=2, unsafe_resamples=5), messages=QUESTION, stream=True,
            extra_body={"safethink": {"resamples": 1}}))
        read_stream(client.chat.completions.create(
            model=scenario(), messages=QUESTION, stream=True,
            extra_body={"safethink": {"policy": "none"}}))
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(httpx.get(proxy.url + "/metrics").text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    # no models file: every request's model label is "other"
    assert value("safethink_requests_total", model="other", policy="safethink",
                 outcome="completed") == 2
    assert value("safethink_requests_total", model="other", policy="none",
                 outcome="forwarded") == 1
    # request 1: steps 1 (steer), 1', 2, 3; request 2: 1, 2 (steer), 2' (kept), 3 (steer: the
    # kept unsafe step is in z), 3' (kept)
    assert value("safethink_steers_total", model="other") == 3
    assert value("safethink_violations_total", model="other") == 5
    assert value("safethink_steps_scored_total") == 9
    assert value("safethink_resample_outcomes_total", outcome="recovered") == 1
    assert value("safethink_resample_outcomes_total", outcome="exhausted") == 2
    assert value("safethink_score_latency_seconds_count") == 9
    assert value("safethink_upstream_ttft_seconds_count") == 5  # upstream calls, policy none aside
    assert value("safethink_proxy_added_seconds_count") == 6  # steps released after a verdict
    assert value("safethink_active_streams") == 0
    assert value("safethink_store_errors_total") == 0
    assert value("safethink_store_degraded") == 0
