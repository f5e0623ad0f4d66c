"""The audit record through store faults, in process: a Redis stand-in that fails and comes back
mid-request, redis-py failing in ways other than RedisError, and a finish in a cancelled task."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import anyio
import pytest
import redis.exceptions

from proxy.api.schemas import Report
from proxy.engine.policies import Plan
from proxy.exceptions import StoreError
from proxy.metrics import Metrics
from proxy.state.audit import Recorder
from proxy.state.failover import FailoverStore
from proxy.state.redis_store import RedisStore
from proxy.state.store import MemoryStore, RequestRecord

PLAN = Plan(policy="safethink", tau=0.0, steer_steps=3, resamples=4,
            steering_prefix="Wait, think safely.", show_prefix=True, fail_mode="closed")

HELD = 3


class FlakyRedis(MemoryStore):
    """Stands in for Redis: a store of its own, that fails every call while ``down``."""

    kind = "redis"

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def _fail(self) -> None:
        if self.down:
            raise StoreError("redis: ConnectionError: down")

    async def begin(self, record: RequestRecord) -> None:
        self._fail()
        await super().begin(record)

    async def add_step(self, record: RequestRecord) -> None:
        self._fail()
        # Redis takes the newest step alone, whatever it holds of the rest.
        held = await super().get(record["id"]) or {"id": record["id"], "steps": []}
        await super().put({**held, "steps": [*held["steps"], record["steps"][-1]]})

    async def finish(self, record: RequestRecord, counts: dict[str, int]) -> None:
        self._fail()
        await super().finish(record, counts)

    async def put(self, record: RequestRecord) -> None:
        self._fail()
        await super().put(record)

    async def get(self, request_id: str) -> RequestRecord | None:
        self._fail()
        return await super().get(request_id)

    async def stats(self, window_s: int) -> dict[str, int]:
        self._fail()
        return await super().stats(window_s)

    async def check(self) -> str | None:
        return "redis: ConnectionError: down" if self.down else None


def report(request_id: str) -> Report:
    return {"request_id": request_id, "policy": "safethink", "steps_scored": HELD,
            "scores": [1.0] * HELD, "violations": 0, "steers": 0, "resamples": 0,
            "recovered": 0, "exhausted": 0, "fail_open": 0, "upstream_calls": 1,
            "continuation": None}


async def step(recorder: Recorder, index: int) -> None:
    await recorder.step(index, 0, f"Step {index}.", 1.0, "accept", 0.01)


async def begun(store: FailoverStore, request_id: str) -> Recorder:
    """A streamed request's recorder on ``store``, begun, its step 1 recorded."""
    recorder = Recorder(store, store.metrics, request_id, keep_text=False)
    await recorder.begin(PLAN, "m", True)
    await step(recorder, 1)
    return recorder


async def finish(recorder: Recorder) -> None:
    await recorder.finish(report(recorder.request_id), "completed", "stop")


def assert_whole(record: RequestRecord | None, outcome: str = "completed") -> None:
    assert record is not None
    assert record["outcome"] == outcome and record["policy"] == "safethink"
    assert [(s["index"], s["decision"]) for s in record["steps"]] == [
        (i, "accept") for i in range(1, HELD + 1)]


@pytest.fixture
async def stores() -> Any:
    redis_ = FlakyRedis()
    store = FailoverStore(redis_, MemoryStore(), Metrics(), retry_s=0.01)
    await store.start()
    yield redis_, store
    await store.aclose()


async def back_on_redis(store: FailoverStore) -> None:
    for _ in range(1000):  # the watcher pings every 10 ms
        if store.degraded is None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the store did not go back to redis")


async def test_redis_failing_mid_request_leaves_the_whole_record_in_memory(
        stores: tuple[FlakyRedis, FailoverStore]) -> None:
    redis_, store = stores
    recorder = await begun(store, "r1")
    redis_.down = True
    await step(recorder, 2)
    await step(recorder, 3)
    await finish(recorder)
    assert store.degraded is not None
    assert_whole(await store.get("r1"))
    assert (await store.stats(600))["requests"] == 1


async def test_redis_back_mid_request_takes_the_whole_record_back(
        stores: tuple[FlakyRedis, FailoverStore]) -> None:
    redis_, store = stores
    recorder = await begun(store, "r2")
    redis_.down = True
    await step(recorder, 2)  # to memory, whole
    redis_.down = False
    await back_on_redis(store)
    await step(recorder, 3)  # Redis lacks step 2: it is given the record whole
    await finish(recorder)
    assert_whole(await redis_.get("r2"))
    assert not store.fallback.holds("r2")  # one store holds it, not two halves
    assert_whole(await store.get("r2"))


async def test_a_record_finished_in_memory_is_answered_whole_after_redis_returns(
        stores: tuple[FlakyRedis, FailoverStore]) -> None:
    redis_, store = stores
    recorder = await begun(store, "r3")
    redis_.down = True
    await step(recorder, 2)
    await step(recorder, 3)
    await finish(recorder)
    redis_.down = False
    await back_on_redis(store)
    partial = await redis_.get("r3")
    assert partial is not None and "outcome" not in partial  # Redis kept the start of it
    assert_whole(await store.get("r3"))


async def test_a_request_begun_while_degraded_moves_to_redis_whole(
        stores: tuple[FlakyRedis, FailoverStore]) -> None:
    redis_, store = stores
    redis_.down = True
    recorder = await begun(store, "r4")
    redis_.down = False
    await back_on_redis(store)
    await step(recorder, 2)
    await step(recorder, 3)
    await finish(recorder)
    assert_whole(await redis_.get("r4"))


async def test_memory_store_keeps_a_record_whose_start_it_never_saw() -> None:
    memory = MemoryStore()
    record: RequestRecord = {"id": "r5", "policy": "safethink", "steps": [
        {"index": 1, "decision": "accept"}, {"index": 2, "decision": "accept"}]}
    await memory.add_step(record)
    await memory.finish({**record, "outcome": "completed"}, {"requests": 1})
    held = await memory.get("r5")
    assert held is not None and held["outcome"] == "completed"
    assert [s["index"] for s in held["steps"]] == [1, 2]
    record["steps"].append({"index": 3})  # the caller's record is not the store's
    assert len(held["steps"]) == 2


# -- the Redis adapter: whatever redis-py raises is a StoreError ----------------------------


class FailingPipeline:
    def __init__(self, error: BaseException | None) -> None:
        self.error = error

    async def __aenter__(self) -> FailingPipeline:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: self

    async def execute(self) -> list[Any]:
        if self.error is None:
            await asyncio.Event().wait()  # a Redis that never answers
        raise self.error  # type: ignore[misc]


class FailingClient:
    def __init__(self, error: BaseException | None) -> None:
        self.error = error

    def pipeline(self, **_: object) -> FailingPipeline:
        return FailingPipeline(self.error)

    async def hgetall(self, key: str) -> dict[bytes, bytes]:
        return await self.pipeline().execute()  # type: ignore[return-value]

    async def ping(self) -> bool:
        await self.pipeline().execute()
        return True

    async def aclose(self) -> None:
        return None


@pytest.mark.parametrize("error", [
    OSError(104, "Connection reset by peer"),
    TimeoutError(),
    ConnectionResetError(),
    redis.exceptions.ConnectionError("refused"),
    None,  # no answer at all: the store's own timeout
], ids=["OSError", "TimeoutError", "ConnectionResetError", "RedisConnectionError", "no-answer"])
async def test_every_redis_failure_is_a_store_error(monkeypatch: pytest.MonkeyPatch,
                                                    error: BaseException | None) -> None:
    store = RedisStore("redis://127.0.0.1:1/0", timeout_s=0.05)
    monkeypatch.setattr(store, "client", FailingClient(error))
    record: RequestRecord = {"id": "r6", "steps": [{"index": 1}]}
    async with asyncio.timeout(10):  # a safety net: each call gives up after 0.05 s itself
        calls = [lambda: store.begin(record), lambda: store.add_step(record),
                 lambda: store.put(record), lambda: store.finish(record, {"requests": 1}),
                 lambda: store.get("r6"), lambda: store.stats(60)]
        for call in calls:
            with pytest.raises(StoreError, match="redis"):
                await call()
        assert (reason := await store.check()) is not None and "redis" in reason
    await store.aclose()


async def test_a_redis_raising_oserror_degrades_the_store_and_keeps_the_record(
        monkeypatch: pytest.MonkeyPatch) -> None:
    redis_ = RedisStore("redis://127.0.0.1:1/0", timeout_s=0.05)
    store = FailoverStore(redis_, MemoryStore(), Metrics(), retry_s=60)
    recorder = Recorder(store, store.metrics, "r7", keep_text=False)
    monkeypatch.setattr(redis_, "client", FailingClient(OSError(32, "Broken pipe")))
    await recorder.begin(PLAN, "m", False)
    for index in range(1, HELD + 1):
        await step(recorder, index)
    await recorder.finish(report("r7"), "completed", "stop")
    assert store.degraded is not None and "Broken pipe" in store.degraded
    assert_whole(await store.get("r7"))
    await store.aclose()


# -- the finish, shielded ---------------------------------------------------------------------


class SlowStore(MemoryStore):
    """A store whose finish waits on I/O, as Redis does: each write awaits before it lands."""

    def __init__(self, waits: int = 3, forever: bool = False) -> None:
        super().__init__()
        self.waits = waits
        self.forever = forever

    async def finish(self, record: RequestRecord, counts: dict[str, int]) -> None:
        for _ in range(self.waits):
            await asyncio.sleep(0)
        if self.forever:
            await asyncio.Event().wait()
        await super().finish(record, counts)


def finished_lines(caplog: pytest.LogCaptureFixture, request_id: str) -> list[str]:
    return [r.__dict__["outcome"] for r in caplog.records
            if r.getMessage() == "request finished" and r.__dict__.get("request_id") == request_id]


async def test_finish_in_a_cancelled_task_writes_the_outcome_and_the_log_line(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="safethink.requests")
    store = SlowStore()
    recorder = Recorder(store, Metrics(), "r8", keep_text=False)
    await recorder.begin(PLAN, "m", True)
    # How Starlette ends a stream whose client left: the scope around the body is cancelled,
    # and every await in it would raise CancelledError from then on.
    with anyio.CancelScope() as scope:
        scope.cancel()
        await recorder.finish(report("r8"), "cancelled", None)
    record = await store.get("r8")
    assert record is not None and record["outcome"] == "cancelled"
    assert finished_lines(caplog, "r8") == ["cancelled"]


async def test_a_finish_that_never_lands_is_given_up_and_still_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="safethink.requests")
    metrics = Metrics()
    recorder = Recorder(SlowStore(forever=True), metrics, "r9", keep_text=False,
                        finish_timeout_s=0.05)
    await recorder.begin(PLAN, "m", True)
    async with asyncio.timeout(10):  # a safety net: the recorder gives up after 0.05 s itself
        with anyio.CancelScope() as scope:
            scope.cancel()
            await recorder.finish(report("r9"), "cancelled", None)
    assert finished_lines(caplog, "r9") == ["cancelled"]
    assert metrics.registry.get_sample_value("safethink_store_errors_total") == 1
