"""The dynamic batcher: full batches, the timeout, cancelled callers, exception fan-out, stop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest

from reward_service.batching import DynamicBatcher
from reward_service.exceptions import NotReadyError, OverloadedError


class Recorder:
    """A forward pass that records its batches; optionally slow or failing on a marker."""

    def __init__(self, delay: float = 0.0, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.delay = delay
        self.fail_on = fail_on

    async def __call__(self, batch: list[int]) -> list[int]:
        self.batches.append(list(batch))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_on is not None and self.fail_on in batch:
            raise RuntimeError(f"boom on {self.fail_on}")
        return [x * 10 for x in batch]


class Observer:
    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.oks: list[bool] = []

    def observe_batch(self, size: int, queue_waits: Sequence[float], forward_s: float,
                      ok: bool) -> None:
        self.sizes.append(size)
        self.oks.append(ok)


async def test_full_batch_runs_without_waiting_for_the_timeout() -> None:
    forward = Recorder()
    async with DynamicBatcher(forward, max_batch_size=4, max_wait_s=10.0) as batcher:
        started = time.perf_counter()
        assert await batcher.submit_many([1, 2, 3, 4]) == [10, 20, 30, 40]
        assert time.perf_counter() - started < 1.0  # full: never waited the 10 s
        assert forward.batches == [[1, 2, 3, 4]]


async def test_partial_batch_runs_after_max_wait() -> None:
    forward = Recorder()
    async with DynamicBatcher(forward, max_batch_size=32, max_wait_s=0.05) as batcher:
        started = time.perf_counter()
        assert await batcher.submit_many([1, 2, 3]) == [10, 20, 30]
        elapsed = time.perf_counter() - started
        assert 0.04 <= elapsed < 1.0
        assert forward.batches == [[1, 2, 3]]


async def test_more_items_than_a_batch_split_into_batches_in_order() -> None:
    forward = Recorder()
    async with DynamicBatcher(forward, max_batch_size=3, max_wait_s=0.01) as batcher:
        assert await batcher.submit_many(list(range(7))) == [x * 10 for x in range(7)]
        assert [len(b) for b in forward.batches] == [3, 3, 1]


async def test_cancelled_caller_is_skipped_and_others_succeed() -> None:
    forward = Recorder()
    observer = Observer()
    async with DynamicBatcher(forward, max_batch_size=8, max_wait_s=0.1,
                              observer=observer) as batcher:
        gone = asyncio.create_task(batcher.submit(1))
        stays = asyncio.create_task(batcher.submit(2))
        await asyncio.sleep(0.01)  # both queued, batch still waiting for more
        gone.cancel()
        assert await stays == 20
        assert gone.cancelled()
        assert forward.batches == [[2]]
        assert observer.oks == [True]


async def test_caller_cancelled_during_forward_does_not_fail_the_batch() -> None:
    forward = Recorder(delay=0.1)
    async with DynamicBatcher(forward, max_batch_size=2, max_wait_s=0.0) as batcher:
        gone = asyncio.create_task(batcher.submit(1))
        stays = asyncio.create_task(batcher.submit(2))
        await asyncio.sleep(0.03)  # the forward pass has started with both
        gone.cancel()
        assert await stays == 20
        assert forward.batches == [[1, 2]]


async def test_exception_fails_only_its_own_batch() -> None:
    forward = Recorder(fail_on=13)
    observer = Observer()
    async with DynamicBatcher(forward, max_batch_size=2, max_wait_s=0.01,
                              observer=observer) as batcher:
        bad = asyncio.gather(batcher.submit(13), batcher.submit(14), return_exceptions=True)
        results = await bad
        assert all(isinstance(r, RuntimeError) for r in results)
        assert await batcher.submit_many([1, 2]) == [10, 20]  # the worker survived
        assert observer.oks == [False, True]


async def test_exception_does_not_touch_other_concurrent_batches() -> None:
    forward = Recorder(delay=0.02, fail_on=13)
    async with DynamicBatcher(forward, max_batch_size=2, max_wait_s=0.0, concurrency=2) as batcher:
        results = await asyncio.gather(batcher.submit_many([13, 14]), batcher.submit_many([1, 2]),
                                       return_exceptions=True)
        assert isinstance(results[0], RuntimeError)
        assert results[1] == [10, 20]


async def test_stop_fails_queued_callers_and_leaves_no_tasks() -> None:
    forward = Recorder(delay=0.2)
    batcher = DynamicBatcher(forward, max_batch_size=1, max_wait_s=0.0)
    await batcher.start()
    tasks = [asyncio.create_task(batcher.submit(i)) for i in range(3)]
    await asyncio.sleep(0.02)
    workers = list(batcher._workers)
    assert workers and not any(w.done() for w in workers)
    await batcher.stop()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, NotReadyError) for r in results)
    assert all(w.done() for w in workers)
    assert not batcher.running
    with pytest.raises(NotReadyError):
        await batcher.submit(1)


def test_micro_batches_bound_tokens_and_padding() -> None:
    from reward_service.backends.torch_utils import micro_batches

    lengths = [10, 200, 12, 11, 190, 40, 13]
    groups = micro_batches(lengths, max_batch_tokens=400)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    for group in groups:
        longest = max(lengths[i] for i in group)
        assert longest * len(group) <= 400 or len(group) == 1
        assert longest <= 1.5 * min(lengths[i] for i in group)
    assert [0, 3, 2, 6] in groups  # the short ones travel together


async def test_lone_item_at_low_load_does_not_wait() -> None:
    forward = Recorder()
    async with DynamicBatcher(forward, max_batch_size=32, max_wait_s=0.5) as batcher:
        started = time.perf_counter()
        for n in range(3):
            assert await batcher.submit(n) == n * 10
        assert time.perf_counter() - started < 0.4  # never waited the 0.5 s


async def test_a_call_that_does_not_fit_the_queue_is_refused_whole() -> None:
    forward = Recorder(delay=0.2)
    async with DynamicBatcher(forward, max_batch_size=1, max_wait_s=0.0,
                              max_queue=3) as batcher:
        first = asyncio.create_task(batcher.submit(1))
        await asyncio.sleep(0.02)  # item 1 is in the forward pass, the queue is empty
        queued = asyncio.create_task(batcher.submit_many([2, 3]))
        await asyncio.sleep(0)
        assert batcher.queued == 2
        with pytest.raises(OverloadedError):
            await batcher.submit_many([4, 5])  # one slot left: neither is queued
        assert batcher.queued == 2
        assert await batcher.submit(6) == 60  # the one that fits is served
        assert await first == 10 and await queued == [20, 30]
        assert [b for batch in forward.batches for b in batch] == [1, 2, 3, 6]
