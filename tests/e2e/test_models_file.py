"""Many models behind one proxy (``SAFETHINK_MODELS``), with real processes: two scripted
upstreams, one writing ``<think>`` and one ``<reasoning>`` tags, each model's requests on its own
server with its own continuation mode, think tags and knobs; an unknown model is 404; a stopped
server of a two-URL model is skipped, and used again once it answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ProxyFactory
from tests.support.procs import ServerProcess, free_port, python_server
from tests.support.scripted_script import ANSWER, step_text

from .helpers import QUESTION, read_stream, scorer_calls, steered_trace, upstream_requests

pytestmark = pytest.mark.e2e
# One name each: the scripted upstream reads its scenario from the name, and the prompt's
# [[scripted:...]] options make a request harmful.
ALPHA = "scripted/prompt-options=1/id=alpha"  # <think>, chat continuation
BETA = "scripted/shape=inline/prompt-options=1/id=beta"  # <reasoning>, completions
GAMMA = "scripted/prompt-options=1/id=gamma"  # two URLs
HARMFUL = [{"role": "user", "content": "[[scripted:unsafe-step=2]] How do I make the thing?"}]
CHATML = Path(__file__).parents[1] / "support" / "chatml.jinja"


@pytest.fixture(scope="module")
def upstream_a() -> Iterator[ServerProcess]:
    with python_server("tests.support.scripted_upstream") as server:
        yield server


@pytest.fixture(scope="module")
def upstream_b() -> Iterator[ServerProcess]:
    with python_server("tests.support.scripted_upstream", "--think-open", "<reasoning>",
                       "--think-close", "</reasoning>") as server:
        yield server


@pytest.fixture(scope="module")
def gamma_port() -> int:
    """The port of GAMMA's first server, which its test starts and stops."""
    return free_port()


@pytest.fixture(scope="module")
def proxy(start_proxy: ProxyFactory, upstream_a: ServerProcess, upstream_b: ServerProcess,
          gamma_port: int, scripted_scorer: ServerProcess,
          tmp_path_factory: pytest.TempPathFactory) -> ServerProcess:
    models = tmp_path_factory.mktemp("models") / "models.yaml"
    models.write_text(f"""
models:
  - name: {ALPHA}
    upstream: {upstream_a.url}/v1
    continuation: chat
  - name: {BETA}
    upstream: {upstream_b.url}/v1
    continuation: completions
    chat_template: {CHATML}
    think_open: "<reasoning>"
    think_close: "</reasoning>"
    steer_steps: 2
  - name: {GAMMA}
    upstream: [http://127.0.0.1:{gamma_port}/v1, {upstream_a.url}/v1]
    continuation: chat
""")
    # no SAFETHINK_UPSTREAM_URL: with a models file, it is not needed
    return start_proxy(models=models, reward=scripted_scorer.url, upstream_retry_s=3600)


@pytest.fixture(scope="module")
def client(proxy: ServerProcess) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
        yield client


def metric(proxy: ServerProcess, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(httpx.get(proxy.url + "/metrics").text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def test_each_model_is_steered_on_its_own_server_its_own_way(
        client: openai.OpenAI, proxy: ServerProcess, upstream_a: ServerProcess,
        upstream_b: ServerProcess, scripted_scorer: ServerProcess) -> None:
    alpha = read_stream(client.chat.completions.create(model=ALPHA, messages=HARMFUL,
                                                       stream=True))
    beta = read_stream(client.chat.completions.create(model=BETA, messages=HARMFUL,
                                                      stream=True))
    assert alpha.reasoning == steered_trace() and alpha.content == ANSWER
    assert alpha.report["steers"] == 1 and alpha.report["steps_scored"] == 4
    # beta's tags are its own, and so is its m: steps 1, 2 (steered), 2'
    assert beta.content == "<reasoning>\n" + steered_trace() + "</reasoning>\n\n" + ANSWER
    assert beta.report["steers"] == 1 and beta.report["steps_scored"] == 3
    # each model's calls reached its own server only, in its own continuation mode
    assert upstream_requests(upstream_b, ALPHA) == [] and upstream_requests(upstream_a, BETA) == []
    a_calls, b_calls = upstream_requests(upstream_a, ALPHA), upstream_requests(upstream_b, BETA)
    assert [c["path"] for c in a_calls] == ["/v1/chat/completions"] * 2
    assert a_calls[1]["body"]["continue_final_message"] is True
    assert [c["path"] for c in b_calls] == ["/v1/chat/completions", "/v1/completions"]
    assert b_calls[1]["body"]["prompt"].endswith(
        "<|im_start|>assistant\n<reasoning>\n" + step_text(1) + "Wait, think safely. ")
    # the scorer read beta's reasoning without its tags: the proxy knew them
    traces = [c["trace"] for c in scorer_calls(scripted_scorer)]
    assert traces and not any("reasoning>" in trace for trace in traces)
    for model in (ALPHA, BETA):
        assert metric(proxy, "safethink_steers_total", model=model) == 1
        assert metric(proxy, "safethink_requests_total", model=model, policy="safethink",
                      outcome="completed") == 1


def test_models_are_the_files_and_an_unknown_one_is_404(client: openai.OpenAI,
                                                        proxy: ServerProcess) -> None:
    assert [m.id for m in client.models.list()] == [ALPHA, BETA, GAMMA]
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=QUESTION)
    assert caught.value.code == "model_not_found"
    anthropic = httpx.post(proxy.url + "/v1/messages", json={
        "model": "claude-x", "max_tokens": 8, "messages": QUESTION})
    assert anthropic.status_code == 404
    assert anthropic.json()["error"]["type"] == "not_found_error"


def served_by(server: ServerProcess, model: str) -> int:
    return len(upstream_requests(server, model))


def ask(client: openai.OpenAI, times: int) -> None:
    for _ in range(times):
        reply = read_stream(client.chat.completions.create(model=GAMMA, messages=QUESTION,
                                                           stream=True))
        assert reply.finish_reason == "stop"


def test_a_stopped_server_of_a_two_url_model_is_skipped(
        client: openai.OpenAI, proxy: ServerProcess, upstream_a: ServerProcess,
        gamma_port: int) -> None:
    with python_server("tests.support.scripted_upstream", port=gamma_port) as first:
        httpx.get(proxy.url + "/readyz")  # an answer marks a URL up
        ask(client, 2)
        assert served_by(first, GAMMA) == 1 and served_by(upstream_a, GAMMA) == 1
    ask(client, 3)  # the first server is gone: every request is served by the second
    assert served_by(upstream_a, GAMMA) == 4
    ready = httpx.get(proxy.url + "/readyz").json()
    assert ready["status"] == "degraded"
    assert ready["upstreams"][f"http://127.0.0.1:{gamma_port}/v1"].startswith("unreachable")
    assert ready["upstreams"][f"{upstream_a.url}/v1"] == "ok"
    with python_server("tests.support.scripted_upstream", port=gamma_port) as again:
        # skipped for upstream_retry_s (an hour here) unless a probe sees it answer
        ask(client, 2)
        assert served_by(again, GAMMA) == 0
        assert httpx.get(proxy.url + "/readyz").json()["upstreams"][
            f"http://127.0.0.1:{gamma_port}/v1"] == "ok"
        ask(client, 2)
        assert served_by(again, GAMMA) == 1
