"""The Redis implementation of the store (redis-py's asyncio client), shared by every replica.

One hash per request, ``{prefix}req:{id}``, with a TTL. Every field holds JSON, so that types
survive the round trip; steps are fields ``step:{seq}``. Each write is one pipelined transaction
(MULTI/EXEC), one round trip: ``begin``, each step, and ``finish`` with its per-minute counts in
``{prefix}stats:{minute}``. All keys of a request hash to one slot, so it works on a Cluster.

URLs: ``redis://`` / ``rediss://`` / ``unix://`` (one server), ``redis+cluster://host:port``
(a Cluster, from any node), ``redis+sentinel://host:port[,host:port...]/service[/db]`` (the
master that Sentinel names; password and TLS as in ``redis://`` URLs).
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import Sentinel
from redis.exceptions import RedisError

from .exceptions import StoreError
from .store import BUCKET_S, COUNTS, RequestRecord, StepRecord, bucket_of, buckets_in

# Short timeouts: a stalled Redis must not stall a stream; the failover store takes over.
_TIMEOUTS: dict[str, Any] = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}


def connect(url: str) -> tuple[Redis | RedisCluster, list[Redis]]:
    """The client for ``url``, and the Sentinel clients behind it (to close with it)."""
    parts = urlsplit(url)
    if parts.scheme == "redis+cluster":
        cluster_url = url.replace("redis+cluster://", "redis://", 1)
        return RedisCluster.from_url(cluster_url, **_TIMEOUTS), []
    if parts.scheme == "redis+sentinel":
        return _sentinel_master(url)
    if parts.scheme in {"redis", "rediss", "unix"}:
        return Redis.from_url(url, **_TIMEOUTS), []
    raise StoreError(f"unsupported store URL scheme {parts.scheme!r}")


def _sentinel_master(url: str) -> tuple[Redis, list[Redis]]:
    parts = urlsplit(url)
    hosts = []
    for node in parts.netloc.rsplit("@", 1)[-1].split(","):
        host, _, port = node.rpartition(":")
        hosts.append((host or "127.0.0.1", int(port or 26379)))
    path = [p for p in parts.path.split("/") if p]
    if not path:
        raise StoreError("a redis+sentinel:// URL needs the service name: .../mymaster")
    options: dict[str, Any] = {**_TIMEOUTS, "db": int(path[1]) if len(path) > 1 else 0}
    if parts.password:
        options["password"] = parts.password
    sentinel = Sentinel(hosts, sentinel_kwargs=dict(_TIMEOUTS), **options)  # type: ignore[no-untyped-call]
    master: Redis = sentinel.master_for(path[0])
    return master, list(sentinel.sentinels)


class RedisStore:
    kind = "redis"

    def __init__(self, url: str, prefix: str = "safethink:", ttl_s: int = 24 * 3600) -> None:
        self.client, self._sentinels = connect(url)
        self.prefix = prefix
        self.ttl_s = ttl_s

    def _key(self, request_id: str) -> str:
        # The braces make a Cluster keep all of a request's keys in one slot.
        return f"{self.prefix}req:{{{request_id}}}"

    def _stats_key(self, bucket: int) -> str:
        return f"{self.prefix}stats:{bucket}"

    async def begin(self, request_id: str, fields: dict[str, Any]) -> None:
        await self._write_record(request_id, {"id": request_id, **fields})

    async def add_step(self, request_id: str, seq: int, step: StepRecord) -> None:
        await self._write_record(request_id, {f"step:{seq:04d}": step})

    async def finish(self, request_id: str, fields: dict[str, Any], counts: dict[str, int]) -> None:
        key = self._key(request_id)
        stats_key = self._stats_key(bucket_of(_now()))
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.hset(key, mapping=_encode(fields))
                pipe.expire(key, self.ttl_s)
                for name, value in counts.items():
                    if value:
                        pipe.hincrby(stats_key, name, value)
                pipe.expire(stats_key, self.ttl_s + BUCKET_S)
                await pipe.execute()
        except RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc

    async def get(self, request_id: str) -> RequestRecord | None:
        try:
            raw = await self.client.hgetall(self._key(request_id))
        except RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc
        if not raw:
            return None
        fields = {_text(k): json.loads(v) for k, v in raw.items()}
        steps = [fields.pop(k) for k in sorted(k for k in list(fields) if k.startswith("step:"))]
        record: RequestRecord = {**fields, "steps": steps}  # type: ignore[typeddict-item]
        return record

    async def stats(self, window_s: int) -> dict[str, int]:
        total = dict.fromkeys(COUNTS, 0)
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for bucket in buckets_in(window_s, _now()):
                    pipe.hgetall(self._stats_key(bucket))
                buckets = await pipe.execute()
        except RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc
        for bucket in buckets:
            for name, value in bucket.items():
                total[_text(name)] = total.get(_text(name), 0) + int(value)
        return total

    async def check(self) -> str | None:
        try:
            await self.client.ping()
        except RedisError as exc:
            return f"redis: {exc.__class__.__name__}: {exc}"
        return None

    async def aclose(self) -> None:
        await self.client.aclose()
        for sentinel in self._sentinels:
            await sentinel.aclose()

    async def _write_record(self, request_id: str, fields: dict[str, Any]) -> None:
        key = self._key(request_id)
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping=_encode(fields))
                pipe.expire(key, self.ttl_s)
                await pipe.execute()
        except RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc


def _encode(fields: dict[str, Any]) -> dict[Any, Any]:
    return {k: json.dumps(v, separators=(",", ":")) for k, v in fields.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _now() -> float:
    return time.time()
