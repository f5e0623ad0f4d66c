"""Redis when it answers, this process's memory when it does not.

A request is never failed because the audit store is down. The first Redis error marks the
store degraded (``/readyz`` says so, and why; ``safethink_store_degraded`` is 1), and from then
on state is kept in memory. A watcher task owned by the app pings Redis every few seconds and
switches back as soon as it answers. What was written to memory meanwhile stays there: it is
readable from this replica until it expires, and is not copied into Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .exceptions import StoreError
from .metrics import Metrics
from .redis_store import RedisStore
from .store import MemoryStore, RequestRecord, StepRecord

log = logging.getLogger("safethink.store")
T = TypeVar("T")


class FailoverStore:
    kind = "redis"

    def __init__(
        self, primary: RedisStore, fallback: MemoryStore, metrics: Metrics, retry_s: float = 2.0
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

    async def begin(self, request_id: str, fields: dict[str, Any]) -> None:
        await self._either(lambda s: s.begin(request_id, fields))

    async def add_step(self, request_id: str, seq: int, step: StepRecord) -> None:
        await self._either(lambda s: s.add_step(request_id, seq, step))

    async def finish(self, request_id: str, fields: dict[str, Any], counts: dict[str, int]) -> None:
        await self._either(lambda s: s.finish(request_id, fields, counts))

    async def get(self, request_id: str) -> RequestRecord | None:
        record = await self._either(lambda s: s.get(request_id))
        return record if record is not None else await self.fallback.get(request_id)

    async def stats(self, window_s: int) -> dict[str, int]:
        return await self._either(lambda s: s.stats(window_s))

    async def check(self) -> str | None:
        if self.degraded is None and (reason := await self.primary.check()) is not None:
            self._degrade(reason)
        return None if self.degraded is None else f"degraded to memory: {self.degraded}"

    async def _either(self, operation: Callable[[Any], Awaitable[T]]) -> T:
        if self.degraded is None:
            try:
                return await operation(self.primary)
            except StoreError as exc:
                self.metrics.store_errors.inc()
                self._degrade(str(exc))
        return await operation(self.fallback)

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
