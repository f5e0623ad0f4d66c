"""Redis when it answers, this process's memory when it does not.

A request is never failed because the audit store is down. The first Redis error marks the
store degraded (``/readyz`` says so, and why; ``safethink_store_degraded`` is 1), and from then
on state is kept in memory. A watcher task owned by the app pings Redis every few seconds and
switches back as soon as it answers.

A request's record is whole in whichever store holds it. Every write carries the record so far:
when Redis fails mid-request, memory takes the whole record (with what Redis held of it), and
when Redis answers again before the request's end, Redis takes the whole record back at the
next write and memory lets go of it. What finished in memory stays there: it is readable from
this replica until it expires, and is not copied into Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from proxy.exceptions import StoreError
from proxy.metrics import Metrics
from proxy.state.store import MemoryStore, Minute, RequestRecord, Store, newest

log = logging.getLogger("safethink.store")
T = TypeVar("T")


class FailoverStore:
    kind = "redis"

    def __init__(
        self, primary: Store, fallback: MemoryStore, metrics: Metrics, retry_s: float = 2.0
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.metrics = metrics
        self.retry_s = retry_s
        self.degraded: str | None = None
        self._watcher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if (reason := await self.primary.check()) is not None:
            self._degrade(reason)
        self._watcher = asyncio.create_task(self._watch(), name="safethink-store-watcher")

    async def aclose(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await self.primary.aclose()
        await self.fallback.aclose()

    async def begin(self, record: RequestRecord) -> None:
        await self._write(record, lambda s: s.begin(record))

    async def add_step(self, record: RequestRecord) -> None:
        await self._write(record, lambda s: s.add_step(record))

    async def finish(self, record: RequestRecord, counts: dict[str, int]) -> None:
        await self._write(record, lambda s: s.finish(record, counts), whole=True)

    async def put(self, record: RequestRecord) -> None:
        await self._write(record, lambda s: s.put(record), whole=True)

    async def get(self, request_id: str) -> RequestRecord | None:
        # Memory holds a record only while it is the newer copy: Redis, if it has one too, has
        # only the start of it (what it held before it failed).
        if (record := await self.fallback.get(request_id)) is not None:
            return record
        return await self._either(lambda s: s.get(request_id))

    async def stats(self, window_s: int, key: str | None = None) -> dict[str, int]:
        return await self._either(lambda s: s.stats(window_s, key))

    async def series(self, window_s: int) -> list[Minute]:
        return await self._either(lambda s: s.series(window_s))

    async def recent(self, limit: int) -> list[RequestRecord]:
        # Both lists: what finished in memory is in memory only, and memory's copy of a record
        # that Redis holds too is the newer one (see get).
        listed = {r["id"]: r for r in await self._either(lambda s: s.recent(limit))}
        listed.update((r["id"], r) for r in await self.fallback.recent(limit))
        return newest(listed.values(), limit)

    async def check(self) -> str | None:
        if self.degraded is None and (reason := await self.primary.check()) is not None:
            self._degrade(reason)
        return None if self.degraded is None else f"degraded to memory: {self.degraded}"

    async def _either(self, operation: Callable[[Store], Awaitable[T]]) -> T:
        if self.degraded is None:
            try:
                return await operation(self.primary)
            except StoreError as exc:
                self._fail(exc)
        return await operation(self.fallback)

    async def _write(
        self,
        record: RequestRecord,
        operation: Callable[[Store], Awaitable[None]],
        *,
        whole: bool = False,
    ) -> None:
        """``operation`` on the store in use; ``whole``: it writes the record whole.

        Memory takes any write whole (see MemoryStore). Redis is given the record whole when
        memory held it until now, since Redis lacks what memory took meanwhile; memory then
        lets go of it, so that one store holds the request's record from then on."""
        request_id = record["id"]
        if self.degraded is None:
            moved_back = self.fallback.holds(request_id)
            try:
                if moved_back and not whole:
                    await self.primary.put(record)
                else:
                    await operation(self.primary)
            except StoreError as exc:
                self._fail(exc)
            else:
                if moved_back:
                    self.fallback.drop(request_id)
                return
        await operation(self.fallback)

    def _fail(self, exc: StoreError) -> None:
        self.metrics.store_errors.inc()
        self._degrade(str(exc))

    def _degrade(self, reason: str) -> None:
        if self.degraded is None:
            log.warning("state store degraded to memory: %s", reason)
            self.metrics.store_degraded.set(1)
        self.degraded = reason

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.retry_s)
            if self.degraded is not None and await self.primary.check() is None:
                log.warning("state store back on redis")
                self.degraded = None
                self.metrics.store_degraded.set(0)
