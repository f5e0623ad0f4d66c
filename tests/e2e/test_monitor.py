"""Policy monitor end to end: the openai SDK -> ``python -m proxy --policy monitor`` -> the
scripted upstream, scored by the scripted scorer. The client reads the model's trace untouched,
the upstream is called once, and the audit trail says which steps would have been steered."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.conftest import ProxyFactory
from tests.support.procs import ServerProcess
from tests.support.scripted_script import ANSWER, step_text

from .helpers import (
    QUESTION,
    finished_record,
    read_completion,
    read_stream,
    scenario,
    upstream_requests,
)

pytestmark = pytest.mark.e2e
TRACE = "".join(step_text(i, unsafe=i == 2) for i in range(1, 6))


@pytest.fixture(scope="module")
def proxy(start_proxy: ProxyFactory, scripted_upstream: ServerProcess,
          scripted_scorer: ServerProcess) -> ServerProcess:
    return start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
                       policy="monitor")


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("chunking", ["awkward", "token"])
def test_the_client_reads_the_harmful_trace_untouched_and_the_audit_says_would_steer(
        proxy: ServerProcess, scripted_upstream: ServerProcess, chunking: str,
        stream: bool) -> None:
    model = scenario(chunking=chunking, unsafe_step=2)
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
        if stream:
            reply = read_stream(client.chat.completions.create(
                model=model, messages=QUESTION, stream=True))
        else:
            reply = read_completion(client.chat.completions.create(
                model=model, messages=QUESTION))
    assert reply.reasoning == TRACE and reply.content == ANSWER
    assert len(upstream_requests(scripted_upstream, model)) == 1
    report = reply.report
    assert report["policy"] == "monitor" and report["steers"] == 0
    # steps 1..3 scored (m = 3), each with the steps before it: 2 and 3 hold UNSAFE in z
    assert report["scores"] == [1.0, -1.0, -1.0] and report["violations"] == 2
    steps = finished_record(proxy, report["request_id"])["steps"]
    assert [(s["index"], s["decision"]) for s in steps] == [
        (1, "accept"), (2, "would_steer"), (3, "would_steer")]
    metrics = httpx.get(proxy.url + "/metrics", timeout=5).text.splitlines()
    counted = [line for line in metrics
               if line.startswith('safethink_would_steer_total{model="other"} ')]
    assert float(counted[0].split()[1]) >= 2


def test_a_benign_trace_is_scored_and_nothing_would_steer(proxy: ServerProcess) -> None:
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
        reply = read_stream(client.chat.completions.create(
            model=scenario(), messages=QUESTION, stream=True))
    assert reply.reasoning == "".join(step_text(i) for i in range(1, 6))
    assert reply.report["scores"] == [1.0, 1.0, 1.0] and reply.report["violations"] == 0
