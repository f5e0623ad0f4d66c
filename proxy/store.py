"""Per-request step state, the audit trail of every decision, and windowed counts.

``Store`` is the interface. ``MemoryStore`` keeps it in this process (the default when the proxy
runs alone: bounded in entries, expired after ``store_ttl_s``); ``RedisStore`` shares it between
replicas; ``FailoverStore`` puts a Redis store in front of a memory one and falls back when
Redis is down. A store never fails a client's request: its callers log and count its errors.

Counts (requests, violations, steers...) go into one bucket per minute, so that any replica can
sum the same window. Step text is kept only when ``store_text`` is on: traces can be sensitive.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from typing import Any, Literal, Protocol, TypedDict

Decision = Literal["accept", "steer", "keep_exhausted", "unscored"]
COUNTS = (
    "requests",
    "errors",
    "steered_requests",
    "steps_scored",
    "violations",
    "steers",
    "recovered",
    "exhausted",
    "fail_open",
)
BUCKET_S = 60


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

    async def add_step(self, request_id: str, seq: int, step: StepRecord) -> None:
        """Step ``seq`` (0, 1, 2... in decision order) of the request."""
        ...

    async def finish(self, request_id: str, fields: dict[str, Any], counts: dict[str, int]) -> None:
        """The request's outcome, and what it adds to the windowed counts."""
        ...

    async def get(self, request_id: str) -> RequestRecord | None: ...

    async def stats(self, window_s: int) -> dict[str, int]:
        """The counts summed over the last ``window_s`` seconds (whole minutes)."""
        ...

    async def check(self) -> str | None:
        """None when the store answers, else why not."""
        ...

    async def aclose(self) -> None: ...


def bucket_of(now: float) -> int:
    return int(now // BUCKET_S)


def buckets_in(window_s: int, now: float) -> range:
    last = bucket_of(now)
    return range(last - max(1, -(-window_s // BUCKET_S)) + 1, last + 1)


class MemoryStore:
    kind = "memory"

    def __init__(self, ttl_s: float = 24 * 3600, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._records: OrderedDict[str, tuple[float, RequestRecord]] = OrderedDict()
        self._buckets: dict[int, Counter[str]] = {}

    async def begin(self, request_id: str, fields: dict[str, Any]) -> None:
        record: RequestRecord = {"id": request_id, "steps": []}
        record.update(fields)  # type: ignore[typeddict-item]
        self._records[request_id] = (time.monotonic() + self.ttl_s, record)
        self._evict()

    async def add_step(self, request_id: str, seq: int, step: StepRecord) -> None:
        entry = self._records.get(request_id)
        if entry is not None:
            entry[1].setdefault("steps", []).append(step)

    async def finish(self, request_id: str, fields: dict[str, Any], counts: dict[str, int]) -> None:
        entry = self._records.get(request_id)
        if entry is not None:
            entry[1].update(fields)  # type: ignore[typeddict-item]
        now = time.time()
        self._buckets.setdefault(bucket_of(now), Counter()).update(counts)
        oldest = bucket_of(now - self.ttl_s)
        for bucket in [b for b in self._buckets if b < oldest]:
            del self._buckets[bucket]

    async def get(self, request_id: str) -> RequestRecord | None:
        entry = self._records.get(request_id)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    async def stats(self, window_s: int) -> dict[str, int]:
        total: Counter[str] = Counter({name: 0 for name in COUNTS})
        for bucket in buckets_in(window_s, time.time()):
            total.update(self._buckets.get(bucket, {}))
        return dict(total)

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
