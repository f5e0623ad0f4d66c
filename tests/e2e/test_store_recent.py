"""What the live page reads of a store: the newest requests and the counts of each minute, from
the memory store and from a real Redis server (one of the tests' own, and a Cluster), and from
the failover store, which lists what each of its two stores holds."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis

from proxy.metrics import Metrics
from proxy.state.failover import FailoverStore
from proxy.state.redis_store import RedisStore
from proxy.state.store import BUCKET_S, COUNTS, MemoryStore, RequestRecord, Store
from tests.support.redis_servers import RedisProcess, redis_cluster, redis_process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server() -> Iterator[RedisProcess]:
    with redis_process() as server:
        yield server


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, server: RedisProcess) -> AsyncIterator[Store]:
    made: Store
    if request.param == "memory":
        made = MemoryStore(max_entries=3)
    else:
        made = RedisStore(server.url, prefix=f"t-{uuid.uuid4().hex[:8]}:", recent_max=3)
    yield made
    await made.aclose()


def record(request_id: str, started_at: float, **fields: object) -> RequestRecord:
    made: RequestRecord = {"id": request_id, "policy": "safethink", "tau": 0.0, "model": "m",
                           "key": "team-a", "started_at": started_at, "steps": []}
    made.update(fields)  # type: ignore[typeddict-item]
    return made


async def run(store: Store, request_id: str, started_at: float, steers: int = 0) -> None:
    """One request through the store as the Recorder writes it: begin, a step, finish."""
    made = record(request_id, started_at)
    await store.begin(made)
    made["steps"].append({"index": 1, "attempt": 0, "score": -1.0 if steers else 1.0,
                          "decision": "steer" if steers else "accept"})
    await store.add_step(made)
    await store.finish({**made, "outcome": "completed", "steers": steers},
                       {"requests": 1, "steered_requests": int(steers > 0), "steers": steers})


async def test_the_newest_requests_come_newest_first_without_their_steps(store: Store) -> None:
    now = time.time()
    for n, started in enumerate([now - 30, now - 10, now - 20]):
        await run(store, f"r{n}", started, steers=n % 2)
    listed = await store.recent(10)
    assert [r["id"] for r in listed] == ["r1", "r2", "r0"]
    assert all("steps" not in r for r in listed)
    assert listed[0] == {"id": "r1", "policy": "safethink", "tau": 0.0, "model": "m",
                         "key": "team-a", "started_at": now - 10, "outcome": "completed",
                         "steers": 1}
    assert [r["id"] for r in await store.recent(2)] == ["r1", "r2"]
    # The record itself still has its steps.
    whole = await store.get("r1")
    assert whole is not None and [s["decision"] for s in whole["steps"]] == ["steer"]


async def test_a_request_is_listed_from_its_begin(store: Store) -> None:
    await store.begin(record("running", time.time()))
    (listed,) = await store.recent(5)
    assert listed["id"] == "running" and "outcome" not in listed


async def test_the_list_is_bounded(store: Store) -> None:
    now = time.time()
    for n in range(6):
        await run(store, f"r{n}", now - 60 + n)
    assert [r["id"] for r in await store.recent(10)] == ["r5", "r4", "r3"]


async def test_each_minute_of_the_window_has_its_counts(store: Store) -> None:
    await run(store, "steered", time.time(), steers=1)
    await run(store, "benign", time.time())
    minutes = await store.series(3600)
    assert len(minutes) == 3600 // BUCKET_S
    starts = [start for start, _ in minutes]
    assert {later - earlier for earlier, later in itertools.pairwise(starts)} == {BUCKET_S}
    assert starts[-1] <= time.time() < starts[-1] + BUCKET_S + 5
    assert all(set(COUNTS) <= set(counts) for _, counts in minutes)
    total = {name: sum(counts[name] for _, counts in minutes) for name in COUNTS}
    assert total["requests"] == 2 and total["steered_requests"] == 1 and total["steers"] == 1
    assert total == {name: value for name, value in (await store.stats(3600)).items()
                     if name in COUNTS}


async def test_redis_skips_a_listed_request_whose_record_expired(server: RedisProcess) -> None:
    store = RedisStore(server.url, prefix=f"t-{uuid.uuid4().hex[:8]}:")
    try:
        now = time.time()
        await run(store, "kept", now - 2)
        await run(store, "gone", now - 1)
        with redis.Redis(port=server.port) as client:
            client.delete(f"{store.prefix}req:{{gone}}")
            assert 0 < client.ttl(f"{store.prefix}recent") <= store.ttl_s
        assert [r["id"] for r in await store.recent(10)] == ["kept"]
    finally:
        await store.aclose()


async def test_redis_cluster_lists_requests_from_every_node() -> None:
    with redis_cluster() as ports:
        store = RedisStore(f"redis+cluster://127.0.0.1:{ports[0]}", prefix="t:")
        try:
            now = time.time()
            for n in range(8):  # ids that hash to slots all over the cluster
                await run(store, f"c{n}", now - 10 + n, steers=n % 2)
            assert [r["id"] for r in await store.recent(8)] == [f"c{n}" for n in range(7, -1, -1)]
            total = sum(counts["steered_requests"] for _, counts in await store.series(600))
            assert total == 4
        finally:
            await store.aclose()


async def test_failover_lists_both_stores_and_prefers_memorys_copy() -> None:
    redis_, memory = MemoryStore(), MemoryStore()
    store = FailoverStore(redis_, memory, Metrics())
    now = time.time()
    await run(redis_, "on-redis", now - 3)
    await run(memory, "while-down", now - 2)  # finished in memory while Redis was down
    await redis_.begin(record("moved", now - 1))
    await run(memory, "moved", now - 1, steers=1)  # memory's is the newer copy
    listed = await store.recent(10)
    assert [r["id"] for r in listed] == ["moved", "while-down", "on-redis"]
    assert listed[0]["outcome"] == "completed"
    assert [r["id"] for r in await store.recent(2)] == ["moved", "while-down"]
    store.degraded = "redis: down"
    assert [r["id"] for r in await store.recent(10)] == ["moved", "while-down"]
    assert sum(c["requests"] for _, c in await store.series(600)) == 2  # memory's counts
