"""The Redis store, against real Redis servers: state and its expiry, replicas that share it,
Redis going away and coming back, Sentinel and Cluster URLs."""

from __future__ import annotations

import time
import uuid

import httpx
import openai
import pytest
import redis

from proxy.state.redis_store import RedisStore
from proxy.state.store import RequestRecord
from tests.conftest import ProxyFactory
from tests.support.procs import ServerProcess
from tests.support.redis_servers import redis_cluster, redis_process, sentinel_for

from .helpers import QUESTION, scenario

pytestmark = pytest.mark.e2e
SHARED_REDIS = "redis://127.0.0.1:6379/0"  # make test starts one when none answers


@pytest.fixture(scope="module")
def prefix() -> str:
    return f"safethink-test-{uuid.uuid4().hex[:8]}:"


@pytest.fixture(scope="module")
def replicas(start_proxy: ProxyFactory, scripted_upstream: ServerProcess,
             scripted_scorer: ServerProcess, prefix: str) -> list[ServerProcess]:
    common = {"upstream_url": scripted_upstream.url + "/v1", "reward": scripted_scorer.url,
              "store": SHARED_REDIS, "store_prefix": prefix, "store_ttl_s": 3}
    # Two processes: the second setting differs only so that the factory starts another.
    return [start_proxy(**common, log_level="warning"), start_proxy(**common, log_level="error")]


def steer_through(proxy: ServerProcess) -> str:
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
        response = client.chat.completions.with_raw_response.create(
            model=scenario(unsafe_step=1), messages=QUESTION)
        response.parse()
    return response.headers["x-safethink-request-id"]


def test_state_is_written_then_expires(replicas: list[ServerProcess], prefix: str) -> None:
    request_id = steer_through(replicas[0])
    key = f"{prefix}req:{{{request_id}}}"
    with redis.Redis.from_url(SHARED_REDIS, decode_responses=True) as client:
        fields = client.hgetall(key)
        assert 0 < client.ttl(key) <= 3
    assert fields["outcome"] == '"completed"' and fields["steers"] == "1"
    assert sorted(k for k in fields if k.startswith("step:")) == [
        "step:0000", "step:0001", "step:0002", "step:0003"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        response = httpx.get(f"{replicas[0].url}/v1/safethink/requests/{request_id}")
        if response.status_code == 404:
            break
        time.sleep(0.25)
    assert response.status_code == 404


def test_replicas_see_each_others_requests_and_agree_on_stats(
        replicas: list[ServerProcess]) -> None:
    first, second = replicas
    request_id = steer_through(first)
    record = httpx.get(f"{second.url}/v1/safethink/requests/{request_id}").json()
    assert record["id"] == request_id and record["steers"] == 1
    assert [s["decision"] for s in record["steps"]] == ["steer", "accept", "accept", "accept"]
    stats = [httpx.get(f"{p.url}/v1/safethink/stats?window_s=600").json() for p in replicas]
    assert stats[0] == stats[1]
    assert stats[0]["store"] == "redis" and stats[0]["steers"] >= 1
    assert stats[0]["recovery_rate"] == 1.0


def test_redis_down_then_back(start_proxy: ProxyFactory, scripted_upstream: ServerProcess,
                              scripted_scorer: ServerProcess) -> None:
    with redis_process() as server:
        proxy = start_proxy(upstream_url=scripted_upstream.url + "/v1",
                            reward=scripted_scorer.url, store=server.url, store_retry_s=0.3)
        assert httpx.get(proxy.url + "/readyz").json()["status"] == "ready"
        server.stop()
        # requests keep succeeding, from in-process state
        request_id = steer_through(proxy)
        ready = httpx.get(proxy.url + "/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert "degraded to memory" in ready.json()["checks"]["store"]
        assert httpx.get(f"{proxy.url}/v1/safethink/requests/{request_id}").status_code == 200
        metrics = httpx.get(proxy.url + "/metrics").text
        assert "safethink_store_degraded 1.0" in metrics
        server.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if httpx.get(proxy.url + "/readyz").json()["status"] == "ready":
                break
            time.sleep(0.2)
        assert httpx.get(proxy.url + "/readyz").json()["status"] == "ready"
        assert "safethink_store_degraded 0.0" in httpx.get(proxy.url + "/metrics").text
        request_id = steer_through(proxy)
        with redis.Redis(port=server.port) as client:
            assert client.exists(f"safethink:req:{{{request_id}}}")


async def exercise(store: RedisStore) -> None:
    request_id = uuid.uuid4().hex
    record: RequestRecord = {"id": request_id, "policy": "safethink", "model": "m", "steps": []}
    await store.begin(record)
    record["steps"].append({"index": 1, "score": -0.5, "decision": "steer"})
    await store.add_step(record)
    record["steps"].append({"index": 1, "score": 0.9, "decision": "accept"})
    await store.add_step(record)
    await store.finish({**record, "outcome": "completed"}, {"requests": 1, "steers": 1})
    record = await store.get(request_id)
    assert record is not None
    assert record["policy"] == "safethink" and record["outcome"] == "completed"
    assert [s["decision"] for s in record["steps"]] == ["steer", "accept"]
    stats = await store.stats(600)
    assert stats["requests"] >= 1 and stats["steers"] >= 1
    assert await store.check() is None


async def test_cluster_url() -> None:
    with redis_cluster() as ports:
        store = RedisStore(f"redis+cluster://127.0.0.1:{ports[1]}", prefix="t:")
        try:
            await exercise(store)
        finally:
            await store.aclose()


async def test_sentinel_url() -> None:
    with redis_process() as master, sentinel_for(master, "primary") as port:
        store = RedisStore(f"redis+sentinel://127.0.0.1:{port}/primary/0", prefix="t:")
        try:
            await exercise(store)
        finally:
            await store.aclose()
        with redis.Redis(port=master.port) as client:
            assert client.keys("t:req:*")
