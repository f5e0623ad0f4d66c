"""Stats per key name, in every store: memory, a real Redis, and the failover store over it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from proxy.metrics import Metrics
from proxy.state.failover import FailoverStore
from proxy.state.redis_store import RedisStore
from proxy.state.store import MemoryStore, RequestRecord, Store
from tests.support.redis_servers import RedisProcess, redis_process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server() -> Iterator[RedisProcess]:
    with redis_process() as server:
        yield server


@pytest.fixture(params=["memory", "redis", "failover"])
async def store(request: pytest.FixtureRequest, server: RedisProcess) -> AsyncIterator[Store]:
    url, prefix = f"redis://127.0.0.1:{server.port}/0", f"t-{uuid.uuid4().hex[:8]}:"
    chosen: Store
    if request.param == "memory":
        chosen = MemoryStore()
    elif request.param == "redis":
        chosen = RedisStore(url, prefix=prefix)
    else:
        chosen = FailoverStore(RedisStore(url, prefix=prefix), MemoryStore(), Metrics())
        await chosen.start()
    try:
        yield chosen
    finally:
        await chosen.aclose()


async def finish(store: Store, key: str | None, steers: int) -> None:
    record: RequestRecord = {"id": uuid.uuid4().hex, "policy": "safethink", "steps": []}
    if key is not None:
        record["key"] = key
    await store.begin(record)
    await store.finish(record, {"requests": 1, "steered_requests": int(steers > 0),
                                "steers": steers})


async def test_the_stats_of_one_key_count_its_requests_only(store: Store) -> None:
    await finish(store, "team-a", 1)
    await finish(store, "team-a", 0)
    await finish(store, "team-b", 2)
    await finish(store, None, 1)
    everyone = await store.stats(600)
    team_a = await store.stats(600, "team-a")
    team_b = await store.stats(600, "team-b")
    assert (everyone["requests"], everyone["steers"]) == (4, 4)
    assert (team_a["requests"], team_a["steered_requests"], team_a["steers"]) == (2, 1, 1)
    assert (team_b["requests"], team_b["steers"]) == (1, 2)
    assert (await store.stats(600, "nobody"))["requests"] == 0
