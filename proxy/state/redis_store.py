"""The Redis implementation of the store (redis-py's asyncio client), shared by every replica.

One hash per request, ``{prefix}req:{id}``, with a TTL. Every field holds JSON, so that types
survive the round trip; steps are fields ``step:{seq}``. Each write is one round trip: a step is
a pipelined transaction (MULTI/EXEC); ``begin`` (a ``put``) and ``finish`` write the record whole
and its id into ``{prefix}recent`` (the newest requests by start, a sorted set capped at
``recent_max`` that expires with them), and ``finish`` its per-minute counts into
``{prefix}stats:{minute}`` (and a caller's key name's into ``{prefix}stats:{minute}:key:{name}``,
for the stats of one key). ``finish`` writes the record whole, not just the outcome: a Redis that
restarted mid-request (and reconnected unseen) still ends up holding all of it. All keys of a
request hash to one slot, so it works on a Cluster; the writes that reach other keys too are
pipelined without a transaction, which a Cluster splits by node.

Every call is bounded by ``timeout_s``, whatever redis-py does within it, and any failure,
whatever redis-py raises for it, comes out as ``StoreError``: the failover store then takes over.

URLs: ``redis://`` / ``rediss://`` / ``unix://`` (one server), ``redis+cluster://host:port``
(a Cluster, from any node), ``redis+sentinel://host:port[,host:port...]/service[/db]`` (the
master that Sentinel names; password and TLS as in ``redis://`` URLs).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterPipeline, RedisCluster
from redis.asyncio.sentinel import Sentinel
from redis.exceptions import RedisError

from proxy.exceptions import StoreError
from proxy.state.store import (
    BUCKET_S,
    COUNTS,
    Minute,
    RequestRecord,
    bucket_of,
    buckets_in,
)

T = TypeVar("T")
# redis-py's asyncio client lets some socket failures through as OSError, and timeouts as the
# built-in TimeoutError (an OSError too): all of them are a Redis failure.
_FAILURES = (RedisError, OSError)
# What a list of requests reads of each: every field but the steps.
_SUMMARY = tuple(name for name in RequestRecord.__annotations__ if name != "steps")


def _options(timeout_s: float) -> dict[str, Any]:
    # redis-py's socket timeouts; ``RedisStore._call`` bounds the whole call by the same,
    # whatever redis-py does within it (its retries, a Cluster's redirects, a Sentinel lookup).
    return {"socket_timeout": timeout_s, "socket_connect_timeout": timeout_s}


def connect(url: str, timeout_s: float = 0.5) -> tuple[Redis | RedisCluster, list[Redis]]:
    """The client for ``url``, and the Sentinel clients behind it (to close with it)."""
    parts = urlsplit(url)
    if parts.scheme == "redis+cluster":
        cluster_url = url.replace("redis+cluster://", "redis://", 1)
        return RedisCluster.from_url(cluster_url, **_options(timeout_s)), []
    if parts.scheme == "redis+sentinel":
        return _sentinel_master(url, timeout_s)
    if parts.scheme in {"redis", "rediss", "unix"}:
        return Redis.from_url(url, **_options(timeout_s)), []
    raise StoreError(f"unsupported store URL scheme {parts.scheme!r}")


def _sentinel_master(url: str, timeout_s: float) -> tuple[Redis, list[Redis]]:
    parts = urlsplit(url)
    hosts = []
    for node in parts.netloc.rsplit("@", 1)[-1].split(","):
        host, _, port = node.rpartition(":")
        hosts.append((host or "127.0.0.1", int(port or 26379)))
    path = [p for p in parts.path.split("/") if p]
    if not path:
        raise StoreError("a redis+sentinel:// URL needs the service name: .../mymaster")
    options: dict[str, Any] = {**_options(timeout_s), "db": int(path[1]) if len(path) > 1 else 0}
    if parts.password:
        options["password"] = parts.password
    # redis before 8.2 leaves Sentinel untyped; from 8.2 it is typed and the ignore goes unused.
    sentinel = Sentinel(  # type: ignore[no-untyped-call,unused-ignore]
        hosts, sentinel_kwargs=_options(timeout_s), **options)
    master: Redis = sentinel.master_for(path[0])
    return master, list(sentinel.sentinels)


class RedisStore:
    kind = "redis"

    def __init__(
        self, url: str, prefix: str = "safethink:", ttl_s: int = 24 * 3600, timeout_s: float = 0.5,
        recent_max: int = 1000,
    ) -> None:
        self.client, self._sentinels = connect(url, timeout_s)
        self.prefix = prefix
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self.recent_max = recent_max
        self._recent_key = f"{prefix}recent"

    def _key(self, request_id: str) -> str:
        # The braces make a Cluster keep all of a request's keys in one slot.
        return f"{self.prefix}req:{{{request_id}}}"

    def _stats_key(self, bucket: int, key: str | None = None) -> str:
        """A minute's counts, of every request or of one key name's."""
        return f"{self.prefix}stats:{bucket}" + ("" if key is None else f":key:{key}")

    async def begin(self, record: RequestRecord) -> None:
        await self.put(record)

    async def add_step(self, record: RequestRecord) -> None:
        steps = record["steps"]
        newest = {_step_field(len(steps) - 1): steps[-1]}
        await self._call(lambda: self._write(record["id"], newest))

    async def put(self, record: RequestRecord) -> None:
        async def write() -> None:
            async with self.client.pipeline(transaction=False) as pipe:
                self._whole(pipe, record)
                await pipe.execute()

        await self._call(write)

    async def finish(self, record: RequestRecord, counts: dict[str, int]) -> None:
        bucket = bucket_of(_now())
        stats_keys = [self._stats_key(bucket)]
        if "key" in record:
            stats_keys.append(self._stats_key(bucket, record["key"]))

        async def write() -> None:
            async with self.client.pipeline(transaction=False) as pipe:
                self._whole(pipe, record)
                for stats_key in stats_keys:
                    for name, value in counts.items():
                        if value:
                            pipe.hincrby(stats_key, name, value)
                    pipe.expire(stats_key, self.ttl_s + BUCKET_S)
                await pipe.execute()

        await self._call(write)

    async def get(self, request_id: str) -> RequestRecord | None:
        raw = await self._call(lambda: self.client.hgetall(self._key(request_id)))
        if not raw:
            return None
        fields = {_text(k): json.loads(v) for k, v in raw.items()}
        steps = [fields.pop(k) for k in sorted(k for k in list(fields) if k.startswith("step:"))]
        record: RequestRecord = {**fields, "steps": steps}  # type: ignore[typeddict-item]
        return record

    async def stats(self, window_s: int, key: str | None = None) -> dict[str, int]:
        total = dict.fromkeys(COUNTS, 0)
        for _, counts in await self.series(window_s, key):
            for name, value in counts.items():
                total[name] = total.get(name, 0) + value
        return total

    async def series(self, window_s: int, key: str | None = None) -> list[Minute]:
        buckets = buckets_in(window_s, _now())

        async def read() -> list[Any]:
            async with self.client.pipeline(transaction=False) as pipe:
                for bucket in buckets:
                    pipe.hgetall(self._stats_key(bucket, key))
                return await pipe.execute()

        return [(bucket * BUCKET_S, _counts(raw))
                for bucket, raw in zip(buckets, await self._call(read), strict=True)]

    async def recent(self, limit: int) -> list[RequestRecord]:
        async def read() -> list[Any]:
            ids = cast(list[bytes], await self.client.zrevrange(self._recent_key, 0, limit - 1))
            if not ids:
                return []
            async with self.client.pipeline(transaction=False) as pipe:
                for request_id in ids:
                    pipe.hmget(self._key(_text(request_id)), list(_SUMMARY))
                return await pipe.execute()

        records = []
        for values in await self._call(read):
            fields = {k: json.loads(v) for k, v in zip(_SUMMARY, values, strict=True) if v}
            if fields:  # else it expired since the list was read
                records.append(fields)
        return records  # type: ignore[return-value]

    async def check(self) -> str | None:
        try:
            await self._call(self.client.ping)
        except StoreError as exc:
            return str(exc)
        return None

    async def aclose(self) -> None:
        await self.client.aclose()
        for sentinel in self._sentinels:
            await sentinel.aclose()

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """``operation``, bounded in time, its failure mapped once to StoreError."""
        try:
            async with asyncio.timeout(self.timeout_s):
                return await operation()
        except _FAILURES as exc:
            detail = str(exc) or f"no answer within {self.timeout_s:g} s"
            raise StoreError(f"redis: {exc.__class__.__name__}: {detail}") from exc

    def _whole(self, pipe: Pipeline | ClusterPipeline, record: RequestRecord) -> None:
        """Queue the record whole, and its place among the newest requests."""
        key = self._key(record["id"])
        pipe.hset(key, mapping=_encode(_fields(record)))
        pipe.expire(key, self.ttl_s)
        pipe.zadd(self._recent_key, {record["id"]: record.get("started_at", _now())})
        pipe.zremrangebyrank(self._recent_key, 0, -self.recent_max - 1)
        pipe.expire(self._recent_key, self.ttl_s)

    async def _write(self, request_id: str, fields: dict[str, Any]) -> None:
        key = self._key(request_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=_encode(fields))
            pipe.expire(key, self.ttl_s)
            await pipe.execute()


def _fields(record: RequestRecord) -> dict[str, Any]:
    """The record as the hash's fields: its steps one field each."""
    fields: dict[str, Any] = {k: v for k, v in record.items() if k != "steps"}
    for seq, step in enumerate(record.get("steps", [])):
        fields[_step_field(seq)] = step
    return fields


def _step_field(seq: int) -> str:
    return f"step:{seq:04d}"


def _encode(fields: dict[str, Any]) -> dict[Any, Any]:
    return {k: json.dumps(v, separators=(",", ":")) for k, v in fields.items()}


def _counts(raw: dict[Any, Any]) -> dict[str, int]:
    counts = dict.fromkeys(COUNTS, 0)
    counts.update({_text(name): int(value) for name, value in raw.items()})
    return counts


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _now() -> float:
    return time.time()
