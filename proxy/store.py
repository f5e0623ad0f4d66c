"""Per-request step state and the audit trail of every decision.

``Store`` is the interface; ``MemoryStore`` keeps it in this process (the default when the proxy
runs alone: bounded in entries and expired after ``store_ttl_s``). A Redis implementation of the
same interface lets many replicas share it. A store never fails a client's request: its callers
log and count its errors and go on.

Step text is kept only when ``store_text`` is on: traces can be sensitive.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, Literal, Protocol, TypedDict

Decision = Literal["accept", "steer", "keep_exhausted", "unscored"]


class StepRecord(TypedDict, total=False):
    index: int
    attempt: int
    length: int
    score: float | None
    decision: Decision
    latency_ms: float
    text: str


class RequestRecord(TypedDict, total=False):
    id: str
    policy: str
    model: str
    stream: bool
    started_at: float
    finished_at: float
    outcome: str
    steers: int
    resamples: int
    steps: list[StepRecord]


class Store(Protocol):
    kind: str

    async def begin(self, request_id: str, fields: dict[str, Any]) -> None: ...

    async def add_step(self, request_id: str, step: StepRecord) -> None: ...

    async def finish(self, request_id: str, fields: dict[str, Any]) -> None: ...

    async def get(self, request_id: str) -> RequestRecord | None: ...

    async def check(self) -> str | None:
        """None when the store answers, else why not."""
        ...

    async def aclose(self) -> None: ...


class MemoryStore:
    kind = "memory"

    def __init__(self, ttl_s: float = 24 * 3600, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._records: OrderedDict[str, tuple[float, RequestRecord]] = OrderedDict()

    async def begin(self, request_id: str, fields: dict[str, Any]) -> None:
        record: RequestRecord = {"id": request_id, "steps": []}
        record.update(fields)  # type: ignore[typeddict-item]
        self._records[request_id] = (time.monotonic() + self.ttl_s, record)
        self._evict()

    async def add_step(self, request_id: str, step: StepRecord) -> None:
        entry = self._records.get(request_id)
        if entry is not None:
            entry[1].setdefault("steps", []).append(step)

    async def finish(self, request_id: str, fields: dict[str, Any]) -> None:
        entry = self._records.get(request_id)
        if entry is not None:
            entry[1].update(fields)  # type: ignore[typeddict-item]

    async def get(self, request_id: str) -> RequestRecord | None:
        entry = self._records.get(request_id)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    async def check(self) -> str | None:
        return None

    async def aclose(self) -> None:
        self._records.clear()

    def _evict(self) -> None:
        now = time.monotonic()
        while self._records:
            key, (expires, _) = next(iter(self._records.items()))
            if expires >= now and len(self._records) <= self.max_entries:
                break
            del self._records[key]
