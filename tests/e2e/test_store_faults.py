"""The audit record under Redis faults, against real processes: a redis-server paused (SIGSTOP)
mid-request and resumed (SIGCONT), and a streaming client that leaves. Whichever store ends up
holding a request's record, the record is whole: every held step and the outcome."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from proxy.api.schemas import Report
from proxy.engine.policies import Plan
from proxy.metrics import Metrics
from proxy.state.audit import Recorder
from proxy.state.redis_store import RedisStore
from tests.conftest import ProxyFactory
from tests.support.procs import ServerProcess
from tests.support.redis_servers import RedisProcess, redis_process

from .helpers import QUESTION, cancelled_streams, scenario, wait_cancelled

PLAN = Plan(policy="safethink", tau=0.0, steer_steps=3, resamples=4,
            steering_prefix="Wait, think safely.", show_prefix=True, fail_mode="closed")

pytestmark = pytest.mark.e2e
HELD = 3  # the proxy's default m: steps 1..3 are scored and recorded


@pytest.fixture
def server() -> Iterator[RedisProcess]:
    with redis_process() as server:
        yield server


@pytest.fixture
def proxy(start_proxy: ProxyFactory, scripted_upstream: ServerProcess,
          scripted_scorer: ServerProcess, server: RedisProcess) -> ServerProcess:
    # A Redis of this test's own: the proxy is a process of its own too (another store URL).
    return start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
                       store=server.url, store_retry_s=0.2, log_level="info")


def stream_request(proxy: ServerProcess, model: str) -> Any:
    body = {"model": model, "messages": QUESTION, "stream": True}
    return httpx.stream("POST", proxy.url + "/v1/chat/completions", json=body, timeout=30)


def deltas(response: httpx.Response) -> Iterator[str]:
    """The text of each chunk as it arrives; a finish_reason comes through as ``<finish>``."""
    for line in response.iter_lines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        for choice in json.loads(line[len("data: "):]).get("choices", []):
            delta = choice.get("delta", {})
            yield (delta.get("reasoning_content") or "") + (delta.get("content") or "")
            if choice.get("finish_reason"):
                yield "<finish>"


def read_until(chunks: Iterator[str], text: str) -> str:
    seen = ""
    for piece in chunks:
        seen += piece
        if text in seen:
            return seen
    raise AssertionError(f"the stream ended before {text!r}: {seen!r}")


def audit(proxy: ServerProcess, request_id: str) -> dict[str, Any]:
    response = httpx.get(f"{proxy.url}/v1/safethink/requests/{request_id}", timeout=5)
    assert response.status_code == 200, response.text
    return dict(response.json())


def finished_record(proxy: ServerProcess, request_id: str) -> dict[str, Any]:
    """The record once its outcome is written: the finish runs after the stream's last byte."""
    deadline = time.monotonic() + 10
    while "outcome" not in (record := audit(proxy, request_id)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return record


def wait_ready(proxy: ServerProcess) -> None:
    deadline = time.monotonic() + 10
    while httpx.get(proxy.url + "/readyz", timeout=5).json()["status"] != "ready":
        assert time.monotonic() < deadline, "the proxy did not go back to Redis"
        time.sleep(0.05)


def assert_whole(record: dict[str, Any], outcome: str = "completed") -> None:
    assert record["outcome"] == outcome
    assert record["policy"] == "safethink" and record["stream"] is True
    assert [(s["index"], s["decision"]) for s in record["steps"]] == [
        (i, "accept") for i in range(1, HELD + 1)]


def redis_record(server: RedisProcess, request_id: str) -> dict[str, Any]:
    with redis.Redis(port=server.port, decode_responses=True) as client:
        raw = client.hgetall(f"safethink:req:{{{request_id}}}")
    return {key: json.loads(value) for key, value in raw.items()}


def test_redis_paused_mid_request_and_resumed_before_its_end(
        proxy: ServerProcess, server: RedisProcess) -> None:
    # 10 steps of 10 paced tokens: the stream lasts about 6 s, and Redis comes back within it.
    with stream_request(proxy, scenario(steps=10, pace_ms=60)) as response:
        request_id = response.headers["x-safethink-request-id"]
        chunks = deltas(response)
        read_until(chunks, "Step 1:")  # step 1 was scored, and recorded in Redis
        server.pause()
        read_until(chunks, "Step 2:")  # its record went to memory once Redis did not answer
        server.resume()
        wait_ready(proxy)
        # Back on Redis while the request is still going: the rest must not be split off.
        assert "outcome" not in audit(proxy, request_id)
        assert "<finish>" in "".join(chunks)
    assert_whole(finished_record(proxy, request_id))
    # Redis took the record whole when the request went back to it: every replica sees it all.
    in_redis = redis_record(server, request_id)
    assert in_redis["outcome"] == "completed"
    assert sorted(k for k in in_redis if k.startswith("step:")) == [
        f"step:{i:04d}" for i in range(HELD)]


def test_redis_paused_until_after_the_request(proxy: ServerProcess, server: RedisProcess) -> None:
    with stream_request(proxy, scenario(steps=6, pace_ms=20)) as response:
        request_id = response.headers["x-safethink-request-id"]
        chunks = deltas(response)
        read_until(chunks, "Step 1:")
        server.pause()
        assert "<finish>" in "".join(chunks)
    ready = httpx.get(proxy.url + "/readyz", timeout=5).json()
    assert ready["status"] == "degraded"
    assert_whole(finished_record(proxy, request_id))  # from memory, with what Redis had
    server.resume()
    wait_ready(proxy)
    # Redis holds only the start of it; this replica still answers with the whole record.
    assert "outcome" not in redis_record(server, request_id)
    assert_whole(audit(proxy, request_id))


def test_streaming_client_leaving_leaves_a_cancelled_record(
        proxy: ServerProcess, server: RedisProcess, scripted_upstream: ServerProcess) -> None:
    before = cancelled_streams(scripted_upstream)
    with stream_request(proxy, scenario(steps=300, pace_ms=20)) as response:
        request_id = response.headers["x-safethink-request-id"]
        read_until(deltas(response), f"Step {HELD + 2}:")  # past the held steps
    assert wait_cancelled(scripted_upstream, before, within_s=5) == before + 1
    record = finished_record(proxy, request_id)
    assert_whole(record, outcome="cancelled")
    assert redis_record(server, request_id)["outcome"] == "cancelled"
    # The closing log line too, though the request's task was being cancelled when it was due.
    assert finished_lines(proxy, request_id) == [{"outcome": "cancelled", "steps_scored": HELD}]


def finished_lines(proxy: ServerProcess, request_id: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in proxy.output().splitlines() if line.startswith("{")]
    return [{"outcome": line["outcome"], "steps_scored": line["steps_scored"]} for line in lines
            if line.get("request_id") == request_id and line["message"] == "request finished"]


async def test_a_redis_restarted_mid_request_gets_the_record_whole_at_its_end(
        server: RedisProcess) -> None:
    store = RedisStore(server.url)
    recorder = Recorder(store, Metrics(), "restarted", keep_text=False)
    await recorder.begin(PLAN, "m", True)
    await recorder.step(1, 0, "Step 1.", 1.0, "accept", 0.01)
    server.stop()
    server.start()  # empty: no persistence. The client reconnects without a failure to see.
    for index in range(2, HELD + 1):
        await recorder.step(index, 0, f"Step {index}.", 1.0, "accept", 0.01)
    report: Report = {"request_id": "restarted", "policy": "safethink", "steps_scored": HELD,
                      "scores": [1.0] * HELD, "violations": 0, "steers": 0, "resamples": 0,
                      "recovered": 0, "exhausted": 0, "fail_open": 0, "upstream_calls": 1,
                      "continuation": None}
    await recorder.finish(report, "completed", "stop")
    record = await store.get("restarted")
    await store.aclose()
    assert record is not None
    assert_whole(dict(record))
