"""``auto`` continuation against real processes: ``python -m proxy`` in front of a scripted
upstream that continues, ignores or refuses ``continue_final_message`` (and reports its chat
template at ``/props``, as llama.cpp does), and in front of llama-cpp-python, which ignores it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import ProxyFactory
from tests.support.procs import ServerProcess, python_server
from tests.support.scripted_script import ASSISTANT_START, SAFE_CONTINUATION, step_text
from tests.support.servers import (
    ModelServer,
    llama_cpp_available,
    smollm2_gguf,
    write_gguf_chat_template,
)

from .helpers import PREFIX, QUESTION, STEER, read_stream, upstream_requests

pytestmark = pytest.mark.e2e
# Listed by the upstream below, so the proxy probes them.
IGNORES = "scripted/ignore-continue=1/unsafe-step=2/id=probe-ignores"
HONOURS = "scripted/prompt-options=1/unsafe-step=2/id=probe-honours"
REFUSES = "scripted/reject-continue=1/unsafe-step=2/id=probe-refuses"
SERVED_MARK = "<|im_start|>system\nthe template served at /props<|im_end|>\n"
CHATML = Path(__file__).parents[1] / "support" / "chatml.jinja"
STEERED = step_text(1) + STEER + SAFE_CONTINUATION + "".join(step_text(i) for i in (3, 4, 5))


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    served = tmp_path_factory.mktemp("props") / "served.jinja"
    served.write_text("{{- '" + SERVED_MARK.replace("\n", "\\n") + "' -}}" + CHATML.read_text())
    args = ["--chat-template", str(served)]
    for model in (IGNORES, HONOURS, REFUSES):
        args += ["--list-model", model]
    with python_server("tests.support.scripted_upstream", *args) as server:
        yield server


@pytest.fixture(scope="module")
def proxy(start_proxy: ProxyFactory, upstream: ServerProcess,
          scripted_scorer: ServerProcess) -> ServerProcess:
    # no chat template configured: completions mode must use the one the server reports
    return start_proxy(upstream_url=upstream.url + "/v1", reward=scripted_scorer.url,
                       continuation="auto")


@pytest.fixture
def client(proxy: ServerProcess, upstream: ServerProcess) -> Iterator[openai.OpenAI]:
    httpx.post(upstream.url + "/_reset", timeout=5).raise_for_status()
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
        yield client


def steered_calls(upstream: ServerProcess, model: str) -> list[dict[str, Any]]:
    """The streamed (client-serving) calls; the probe's are one-token, non-streaming ones."""
    return [c for c in upstream_requests(upstream, model) if c["body"].get("stream")]


def probe_calls(upstream: ServerProcess, model: str) -> list[dict[str, Any]]:
    return [c for c in upstream_requests(upstream, model) if not c["body"].get("stream")]


def test_a_server_that_ignores_continuation_is_steered_through_completions(
        client: openai.OpenAI, upstream: ServerProcess) -> None:
    reply = read_stream(client.chat.completions.create(model=IGNORES, messages=QUESTION,
                                                       stream=True))
    assert reply.report["continuation"] == "completions"
    assert reply.reasoning == STEERED  # continued from the prefix, not a new answer
    probes = probe_calls(upstream, IGNORES)
    assert len(probes) == 3 and {c["body"]["max_tokens"] for c in probes} == {1}
    calls = steered_calls(upstream, IGNORES)
    assert [c["path"] for c in calls] == ["/v1/chat/completions", "/v1/completions"]
    prompt = calls[-1]["body"]["prompt"]
    assert prompt.startswith(SERVED_MARK)  # the template the server reported at /props
    assert prompt.endswith(ASSISTANT_START + "<think>\n" + step_text(1) + STEER)
    assert prompt.count(ASSISTANT_START) == 1


def test_a_server_that_refuses_the_flags_is_steered_through_completions_at_once(
        client: openai.OpenAI, upstream: ServerProcess) -> None:
    reply = read_stream(client.chat.completions.create(model=REFUSES, messages=QUESTION,
                                                       stream=True))
    assert reply.report["continuation"] == "completions" and reply.reasoning == STEERED
    # the probe learned it: no steered chat continuation is sent to be refused first
    assert [c["path"] for c in steered_calls(upstream, REFUSES)] == [
        "/v1/chat/completions", "/v1/completions"]


def test_a_refused_continuation_does_not_change_what_the_next_request_gets(
        client: openai.OpenAI, upstream: ServerProcess, proxy: ServerProcess) -> None:
    def steer() -> tuple[str, dict[str, Any], list[str]]:
        httpx.post(upstream.url + "/_reset", timeout=5).raise_for_status()
        reply = read_stream(client.chat.completions.create(model=HONOURS, messages=QUESTION,
                                                           stream=True))
        report = {k: v for k, v in reply.report.items() if k != "request_id"}
        return reply.reasoning, report, [c["path"] for c in steered_calls(upstream, HONOURS)]

    first = steer()
    assert first[0] == STEERED and first[1]["continuation"] == "chat"
    # another client's request whose chat continuation the server refuses with 400
    httpx.post(upstream.url + "/_reset", timeout=5).raise_for_status()
    poisoned = [{"role": "user", "content": "[[scripted:reject-continue=400]] " +
                 str(QUESTION[0]["content"])}]
    httpx.post(proxy.url + "/v1/chat/completions", timeout=30,
               json={"model": HONOURS, "messages": poisoned, "stream": True}).read()
    assert [c["body"].get("continue_final_message") for c in steered_calls(upstream, HONOURS)
            ] == [None, True]  # its continuation was sent, and refused
    assert steer() == first


pytestmark_llama = pytest.mark.skipif(
    llama_cpp_available() is not None,
    reason=f"the real-model group needs llama-cpp-python: {llama_cpp_available()}")


@pytest.fixture(scope="module")
def relay(smollm2: ModelServer) -> Iterator[ServerProcess]:
    """Records what the proxy sends llama-cpp-python."""
    with python_server("tests.support.recording_relay", "--target", smollm2.url) as server:
        yield server


@pytestmark_llama
@pytest.mark.slow
def test_llama_cpp_python_is_probed_into_completions_mode(
        start_proxy: ProxyFactory, smollm2: ModelServer, relay: ServerProcess,
        prefix_scorer: ServerProcess, tmp_path: Path) -> None:
    template = write_gguf_chat_template(smollm2_gguf(), tmp_path / "smollm2.jinja")
    proxy = start_proxy(upstream_url=relay.url + "/v1", reward=prefix_scorer.url,
                        chat_template=template, continuation="auto")
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
        reply = read_stream(client.chat.completions.create(
            model=smollm2.model,  # the id its /v1/models lists
            messages=[{"role": "user", "content": "What is the capital of France?"}],
            max_tokens=60, temperature=0.7, seed=7, stream=True))
    assert reply.report["steers"] == 1 and reply.report["continuation"] == "completions"
    assert reply.content.startswith(PREFIX) and len(reply.content.strip()) > len(PREFIX) + 10
    recorded = httpx.get(relay.url + "/_requests", timeout=5).json()
    probes = [r for r in recorded if r["path"] == "/v1/chat/completions"
              and r["body"].get("max_tokens") == 1]
    assert len(probes) == 3
    resample = next(r for r in recorded if r["path"] == "/v1/completions")["body"]["prompt"]
    # the prefill follows the conversation's one assistant header, and no new turn opens after
    _, header, tail = resample.rpartition("<|im_start|>assistant\n")
    assert header and PREFIX in tail and "<|im_end|>" not in tail
