"""Dynamic batching: callers queue items; a batch runs when full or `max_wait` after its first item.

The forward pass is an awaitable (the engine runs a device's model in that device's single worker
thread, so the event loop never blocks). Rules that matter under load:
- a lone item under low load runs at once (the wait only pays when others are coming);
- the queue is bounded (`max_queue` items): a call that does not fit whole is refused at once
  with OverloadedError, and nothing of it is queued;
- a caller that went away (its future cancelled) is skipped before the forward, and its result is
  dropped after it: it never fails the batch;
- an exception fails exactly the callers of the batch that raised it, nobody else;
- every task belongs to the batcher: `start()` creates the workers, `stop()` cancels and awaits
  them and fails whatever is still queued, so nothing is left running or waiting forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from reward_service.exceptions import NotReadyError, OverloadedError, ScoringError

T = TypeVar("T")
R = TypeVar("R")


class BatchObserver(Protocol):
    """Receives one call per batch run (metrics)."""

    def observe_batch(self, size: int, queue_waits: Sequence[float], forward_s: float,
                      ok: bool) -> None: ...


@dataclass(slots=True)
class _Entry(Generic[T, R]):
    item: T
    future: asyncio.Future[R]
    enqueued: float = field(default_factory=time.perf_counter)


class DynamicBatcher(Generic[T, R]):
    """A queue in front of `forward`, drained by `concurrency` worker tasks."""

    def __init__(self, forward: Callable[[list[T]], Awaitable[list[R]]], *,
                 max_batch_size: int, max_wait_s: float, concurrency: int = 1,
                 max_queue: int | None = None, observer: BatchObserver | None = None) -> None:
        if max_batch_size < 1 or concurrency < 1 or max_wait_s < 0:
            raise ValueError("max_batch_size and concurrency must be >= 1, max_wait_s >= 0")
        if max_queue is not None and max_queue < 1:
            raise ValueError("max_queue must be >= 1 (or None: unbounded)")
        self._max_queue = max_queue
        self._forward = forward
        self._max_batch_size = max_batch_size
        self._max_wait_s = max_wait_s
        self._concurrency = concurrency
        self._observer = observer
        self._queue: asyncio.Queue[_Entry[T, R]] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._running = False
        # Low load (the last batch held one item): a lone item runs at once, since waiting
        # max_wait for company that is not coming only adds latency. Under load it waits.
        self._idle = True

    @property
    def running(self) -> bool:
        return self._running

    @property
    def queued(self) -> int:
        """Items waiting for a forward pass (cancelled ones included until a worker skips them)."""
        return self._queue.qsize()

    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        self._workers = [asyncio.create_task(self._work(), name=f"batcher-worker-{i}")
                         for i in range(self._concurrency)]

    async def __aenter__(self) -> DynamicBatcher[T, R]:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Cancel the workers, wait for them, and fail every caller still waiting."""
        self._running = False
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers = []
        while not self._queue.empty():
            entry = self._queue.get_nowait()
            if not entry.future.done():
                entry.future.set_exception(NotReadyError("the batcher stopped"))

    async def submit(self, item: T) -> R:
        """Queue one item and wait for its result."""
        return (await self.submit_many([item]))[0]

    async def submit_many(self, items: Sequence[T]) -> list[R]:
        """Queue several items (they may land in different batches) and wait for all; all of
        them are queued, or none (OverloadedError) when they do not fit."""
        self._admit(len(items))
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[R]] = []
        for item in items:  # no await in between: the check above still holds
            future: asyncio.Future[R] = loop.create_future()
            self._queue.put_nowait(_Entry(item, future))
            futures.append(future)
        return list(await asyncio.gather(*futures))

    def _admit(self, count: int) -> None:
        if not self._running:
            raise NotReadyError("the batcher is not running")
        if self._max_queue is not None and self._queue.qsize() + count > self._max_queue:
            raise OverloadedError(
                f"the reward queue is full ({self._queue.qsize()} items waiting, at most "
                f"{self._max_queue}); try again later")

    async def _collect(self) -> list[_Entry[T, R]]:
        """One batch: wait for a first item, then fill until full or its deadline passes."""
        batch = [await self._queue.get()]
        if self._idle and self._queue.empty():
            return batch
        deadline = batch[0].enqueued + self._max_wait_s
        while len(batch) < self._max_batch_size:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                # Past the deadline: still take what is already queued, it costs no waiting.
                while len(batch) < self._max_batch_size and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                break
            try:
                async with asyncio.timeout(remaining):
                    batch.append(await self._queue.get())
            except TimeoutError:
                break
        return batch

    async def _work(self) -> None:
        while True:
            batch = await self._collect()
            live = [entry for entry in batch if not entry.future.done()]
            self._idle = len(batch) <= 1
            if live:
                await self._run(live)

    async def _run(self, live: list[_Entry[T, R]]) -> None:
        started = time.perf_counter()
        waits = [started - entry.enqueued for entry in live]
        try:
            results = await self._forward([entry.item for entry in live])
            if len(results) != len(live):
                raise ScoringError(f"forward returned {len(results)} results for {len(live)}")
        except asyncio.CancelledError:
            _fail(live, NotReadyError("the batcher stopped during a forward pass"))
            raise
        except Exception as exc:  # fan the failure out to this batch's callers only
            self._observe(len(live), waits, started, ok=False)
            _fail(live, exc)
            return
        self._observe(len(live), waits, started, ok=True)
        for entry, result in zip(live, results, strict=True):
            if not entry.future.done():
                entry.future.set_result(result)

    def _observe(self, size: int, waits: list[float], started: float, *, ok: bool) -> None:
        if self._observer is not None:
            self._observer.observe_batch(size, waits, time.perf_counter() - started, ok)


def _fail(entries: Sequence[_Entry[T, R]], exc: BaseException) -> None:
    for entry in entries:
        if not entry.future.done():
            entry.future.set_exception(exc)
