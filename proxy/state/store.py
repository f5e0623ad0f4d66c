"""Per-request step state, the audit trail of every decision, and windowed counts.

``Store`` is the interface. ``MemoryStore`` keeps it in this process (the default when the proxy
runs alone: bounded in entries, expired after ``store_ttl_s``); ``RedisStore`` shares it between
replicas; ``FailoverStore`` puts a Redis store in front of a memory one and falls back when
Redis is down. A store never fails a client's request: its callers log and count its errors.

Every write carries the request's whole record so far (the Recorder keeps it), so that a store
that did not see the request's earlier writes, the memory store after Redis failed mid-request,
can hold the record whole rather than just the latest step of it.

Counts (requests, violations, steers...) go into one bucket per minute, so that any replica can
sum the same window. Step text is kept only when ``store_text`` is on: traces can be sensitive.
The live page (proxy/ui) reads those minutes one by one, and the newest requests by start.
"""

from __future__ import annotations

import heapq
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable
from typing import Literal, Protocol, TypedDict

Decision = Literal["accept", "steer", "keep_exhausted", "unscored", "would_steer", "defer"]
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
    sentence: int
    text: str


class RequestRecord(TypedDict, total=False):
    id: str
    policy: str
    tau: float
    key: str  # the caller's key name (never the key)
    model: str
    stream: bool
    started_at: float
    finished_at: float
    outcome: str
    finish_reason: str
    steps_scored: int
    violations: int
    steers: int
    resamples: int
    recovered: int
    exhausted: int
    fail_open: int
    upstream_calls: int
    steps: list[StepRecord]


class Store(Protocol):
    kind: str

    async def begin(self, record: RequestRecord) -> None:
        """A new request: ``record`` has its id and first fields, and no steps yet."""
        ...

    async def add_step(self, record: RequestRecord) -> None:
        """The request's newest step, ``record["steps"][-1]``, in decision order."""
        ...

    async def finish(self, record: RequestRecord, counts: dict[str, int]) -> None:
        """The request's outcome (in ``record``), and what it adds to the windowed counts."""
        ...

    async def put(self, record: RequestRecord) -> None:
        """The whole record, over what the store held of it."""
        ...

    async def get(self, request_id: str) -> RequestRecord | None: ...

    async def stats(self, window_s: int, key: str | None = None) -> dict[str, int]:
        """The counts summed over the last ``window_s`` seconds (whole minutes); with ``key``,
        of that key name's requests only."""
        ...

    async def series(self, window_s: int) -> list[Minute]:
        """The counts of each minute of the last ``window_s`` seconds, oldest first."""
        ...

    async def recent(self, limit: int) -> list[RequestRecord]:
        """The ``limit`` newest requests by start, newest first, without their steps."""
        ...

    async def check(self) -> str | None:
        """None when the store answers, else why not."""
        ...

    async def aclose(self) -> None: ...


# One minute of counts: its start (Unix seconds), and every count, zeros included.
Minute = tuple[int, dict[str, int]]


def summary(record: RequestRecord) -> RequestRecord:
    """The record without its steps: what a list of requests shows."""
    brief: RequestRecord = {**record}
    brief.pop("steps", None)
    return brief


def newest(records: Iterable[RequestRecord], limit: int) -> list[RequestRecord]:
    return heapq.nlargest(limit, records, key=lambda record: record.get("started_at", 0.0))


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
        self._by_key: dict[str, dict[int, Counter[str]]] = {}  # the same, per key name

    async def begin(self, record: RequestRecord) -> None:
        await self.put(record)

    async def add_step(self, record: RequestRecord) -> None:
        held = self._held(record["id"])
        if held is not None and len(held["steps"]) == len(record["steps"]) - 1:
            held["steps"].append(record["steps"][-1])
        else:  # the steps before it were written elsewhere (to Redis, before it failed)
            await self.put(record)

    async def finish(self, record: RequestRecord, counts: dict[str, int]) -> None:
        await self.put(record)
        now = time.time()
        oldest = bucket_of(now - self.ttl_s)
        tallies = [self._buckets]
        if "key" in record:
            tallies.append(self._by_key.setdefault(record["key"], {}))
        for buckets in tallies:
            buckets.setdefault(bucket_of(now), Counter()).update(counts)
            for bucket in [b for b in buckets if b < oldest]:
                del buckets[bucket]

    async def put(self, record: RequestRecord) -> None:
        # A copy: the caller goes on adding to its record, and only a write may change ours.
        request_id = record["id"]
        held: RequestRecord = {**record, "steps": list(record.get("steps", []))}
        self._records[request_id] = (time.monotonic() + self.ttl_s, held)
        self._records.move_to_end(request_id)
        self._evict()

    def holds(self, request_id: str) -> bool:
        return self._held(request_id) is not None

    def drop(self, request_id: str) -> None:
        self._records.pop(request_id, None)

    async def get(self, request_id: str) -> RequestRecord | None:
        return self._held(request_id)

    async def stats(self, window_s: int, key: str | None = None) -> dict[str, int]:
        total: Counter[str] = Counter({name: 0 for name in COUNTS})
        buckets = self._buckets if key is None else self._by_key.get(key, {})
        for bucket in buckets_in(window_s, time.time()):
            total.update(buckets.get(bucket, {}))
        return dict(total)

    async def series(self, window_s: int) -> list[Minute]:
        return [(bucket * BUCKET_S, {**dict.fromkeys(COUNTS, 0), **self._buckets.get(bucket, {})})
                for bucket in buckets_in(window_s, time.time())]

    async def recent(self, limit: int) -> list[RequestRecord]:
        now = time.monotonic()
        held = (record for expires, record in self._records.values() if expires >= now)
        return [summary(record) for record in newest(held, limit)]

    async def check(self) -> str | None:
        return None

    async def aclose(self) -> None:
        self._records.clear()

    def _held(self, request_id: str) -> RequestRecord | None:
        entry = self._records.get(request_id)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def _evict(self) -> None:
        now = time.monotonic()
        while self._records:
            key, (expires, _) = next(iter(self._records.items()))
            if expires >= now and len(self._records) <= self.max_entries:
                break
            del self._records[key]
