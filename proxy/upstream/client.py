"""The client of the user's model server.

Every stream is an ``async with``: leaving the block, normally, by an error or by cancellation
(the client went away, or a step was rejected), closes the HTTP response, and closing the
connection is how vLLM, SGLang, TGI and llama.cpp learn to abort the generation. A stream read
to its end gives its connection back to the pool instead.

The HTTP client is aiohttp, not httpx: on this path every microsecond is added to every stream,
and aiohttp measured about 0.5-0.8 ms less added time to first token and less than half the CPU
per chunk (bench/README.md).

Server-sent events are parsed here, tolerant of what real servers do: ``transformers serve``
ends a stream without ``data: [DONE]``, some servers send ``: keep-alive`` comments, vLLM sends
an error object inside a stream that had already started with status 200.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from itertools import takewhile
from typing import Any

import aiohttp

from proxy.exceptions import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from proxy.settings import Settings
from proxy.upstream.pool import Health, Rotation, redact_url

__all__ = ["Chunk", "Relayed", "Upstream", "create_session", "iter_events", "probe", "redact_url",
           "status_error"]

Chunk = dict[str, Any]
log = logging.getLogger("safethink.upstream")
_PROBE_TIMEOUT = aiohttp.ClientTimeout(total=2.0)
# The connection never opened, so nothing was sent: the call may go to another URL.
_NOT_CONNECTED = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


async def probe(session: aiohttp.ClientSession, url: str,
                headers: Mapping[str, str] | None = None) -> int | str:
    """A readiness probe (``/readyz``): ``GET url``'s status, or why it could not be reached."""
    try:
        async with session.get(url, headers=headers, timeout=_PROBE_TIMEOUT) as response:
            return response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return f"unreachable: {exc.__class__.__name__}"


def create_session(settings: Settings) -> aiohttp.ClientSession:
    """The shared connection pool to the upstream, created in the app's lifespan."""
    timeout = aiohttp.ClientTimeout(
        total=None,
        sock_connect=settings.upstream_connect_timeout,
        sock_read=settings.upstream_read_timeout,
    )
    connector = aiohttp.TCPConnector(limit=settings.upstream_max_connections, ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=connector, timeout=timeout, auto_decompress=False, raise_for_status=False
    )


@dataclass(frozen=True)
class Relayed:
    """A whole upstream answer, to pass on as it is."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class Upstream:
    """One model's server: its URLs (taken in turn, see pool.py), its key, the shared pool."""

    def __init__(self, session: aiohttp.ClientSession, settings: Settings,
                 urls: Sequence[str] = (), health: Health | None = None) -> None:
        self.session = session
        health = health or Health(settings.upstream_retry_s)
        self.rotation = Rotation(urls or [settings.upstream_url], health)
        self.max_event_bytes = settings.max_event_bytes
        self.headers = {"accept-encoding": "identity", "content-type": "application/json"}
        if settings.upstream_api_key is not None:
            key = settings.upstream_api_key.get_secret_value()
            self.headers["authorization"] = f"Bearer {key}"

    @property
    def base_url(self) -> str:
        """The URL the next call would go to first."""
        return self.rotation.peek()

    @property
    def urls(self) -> tuple[str, ...]:
        return self.rotation.urls

    async def send(self, method: str, path: str, data: bytes | None) -> aiohttp.ClientResponse:
        """The response of the first URL that takes the connection, its status unchecked."""
        health = self.rotation.health
        order = self.rotation.order()
        for url in order:
            try:
                response = await self.session.request(
                    method, url + path, data=None if data is None else io.BytesIO(data),
                    headers=self.headers)
            except _NOT_CONNECTED as exc:
                health.refused(url, exc)
                if url == order[-1]:
                    raise _unreachable(url, exc) from exc
                continue
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise _unreachable(url, exc) from exc
            health.answered(url)
            return response
        raise AssertionError("a rotation has at least one URL")

    @asynccontextmanager
    async def open(
        self, path: str, body: dict[str, Any]
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """POST body and yield the response once its status is a success (headers read)."""
        response = await self.send("POST", path, _encoded(body))
        try:
            if response.status >= 400:
                raise status_error(response.status, await _read(response))
            yield response
        finally:
            if response.content.at_eof():
                response.release()  # read to the end: the connection is reused
            else:
                response.close()  # cut short: closing it aborts the generation

    @asynccontextmanager
    async def stream(self, path: str, body: dict[str, Any]) -> AsyncIterator[AsyncIterator[Chunk]]:
        """POST a streaming body and yield its events, parsed, until ``[DONE]`` or the end."""
        async with self.open(path, body) as response:
            events = iter_events(response.content.iter_any(), max_event_bytes=self.max_event_bytes)
            async with aclosing(events):
                yield events

    async def check(self) -> str | None:
        """None when one of the URLs answers ``GET /models``, else why not (for ``/readyz``)."""
        problems = await asyncio.gather(*(self.check_url(url) for url in self.urls))
        return None if None in problems else problems[0]

    async def check_url(self, url: str) -> str | None:
        """None when ``url`` answers ``GET /models``, else why not; an answer marks it up."""
        status = await probe(self.session, url + "/models", headers=self.headers)
        if isinstance(status, str):
            return status
        self.rotation.health.answered(url)
        return None if status < 500 else f"HTTP {status}"

    async def request(self, method: str, path: str, *, json_body: Any = None) -> Relayed:
        """A plain (non-streaming) call whose answer is forwarded as it is."""
        data = None if json_body is None else _encoded(json_body)
        response = await self.send(method, path, data)
        async with response:
            return Relayed(response.status, dict(response.headers), await _read(response))


def _encoded(body: Any) -> bytes:
    """The JSON body to send, encoded once for every URL it may be tried on. It is sent in a
    file object, which aiohttp writes in pieces: a large bytes body is one write, and aiohttp
    warns that it may hold up the event loop."""
    return json.dumps(body, ensure_ascii=False).encode()


async def _read(response: aiohttp.ClientResponse) -> bytes:
    try:
        return await response.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise UpstreamUnavailable(
            f"the model server broke the response ({exc.__class__.__name__})"
        ) from exc


def _unreachable(url: str, exc: BaseException) -> UpstreamError:
    """The client is told what failed, never where: the URL can hold a user and a password,
    and the host and port are the operator's business; the log has them (credentials cut)."""
    log.warning("model server %s unreachable: %r", redact_url(url), exc)
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout("the model server did not answer in time")
    return UpstreamUnavailable(f"the model server cannot be reached ({exc.__class__.__name__})")


async def iter_events(
    chunks: AsyncIterator[bytes], *, max_event_bytes: int
) -> AsyncGenerator[Chunk, None]:
    """The stream's events, parsed from raw bytes: split on blank lines, then JSON-decoded
    whole, so that a multi-byte character split across reads is never decoded in halves.

    One event is held until it is complete, so it may be ``max_event_bytes`` long at most
    (``SAFETHINK_MAX_EVENT_BYTES``): a longer one ends the stream with UpstreamProtocolError
    as soon as that many of its bytes have come, without reading the rest. After ``[DONE]``
    the rest of the body is read, so the connection goes back to the pool; a server that sends
    more than ``max_event_bytes`` after it has its connection closed instead."""
    splitter = _EventSplitter(max_event_bytes)
    done = False
    after_done = 0
    try:
        async for raw in chunks:
            if done:
                after_done += len(raw)
                if after_done > max_event_bytes:
                    break
                continue
            for event in splitter.feed(raw):
                payload = _data(event)
                if payload is None:
                    continue
                if payload.strip() == b"[DONE]":
                    done = True
                    break
                yield _decode(payload)
            if splitter.too_long and not done:
                raise splitter.error()
        if done:
            return
        for event in splitter.close():
            payload = _data(event)
            if payload is not None and payload.strip() != b"[DONE]":
                yield _decode(payload)
        if splitter.too_long:
            raise splitter.error()
    except TimeoutError as exc:
        raise UpstreamTimeout("the model server stopped sending in the middle of a stream") from exc
    except aiohttp.ClientError as exc:
        raise UpstreamUnavailable(f"the model server broke the stream: {exc}") from exc


class _EventSplitter:
    """Cuts a byte stream into server-sent events, the text between blank lines, with every
    line ending (``\\r\\n``, ``\\r``, ``\\n``) made ``\\n``.

    The work is linear in the stream's bytes however it is cut into reads: each read is
    searched once, on its own (a blank line split across two reads is seen at the seam), and
    the event in progress is kept as a list of its reads, joined once when it is complete.
    An event longer than ``max_bytes`` sets ``too_long`` as soon as that much of it has come.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.too_long = False
        self._parts: list[bytes] = []  # the event in progress, as it came
        self._size = 0
        self._cr = False  # the last read ended with "\r": maybe the first half of "\r\n"

    def feed(self, raw: bytes) -> list[bytes]:
        """The events that this read completes, in order; none from one over the limit on."""
        if self._cr or b"\r" in raw:
            raw = self._newlines(raw)
        parts = self._parts
        if parts and raw[:1] == b"\n" and parts[-1][-1:] == b"\n":
            # the blank line that ends the held event began at the end of the last read
            parts[-1] = parts[-1][:-1]
            events = raw[1:].split(b"\n\n")
            events.insert(0, b"")
        else:
            events = raw.split(b"\n\n")
        rest = events.pop()
        if parts and events:
            parts.append(events[0])
            events[0] = b"".join(parts)
            parts.clear()
            self._size = 0
        limit = self.max_bytes
        for event in events:
            if len(event) > limit:
                self.too_long = True
                return list(takewhile(lambda e: len(e) <= limit, events))
        if rest:
            parts.append(rest)
            self._size += len(rest)
            # one byte more may be the first half of the blank line that ends the event
            self.too_long = self._size > self.max_bytes + rest.endswith(b"\n")
        return events

    def close(self) -> list[bytes]:
        """At the end of the stream: the events still held, the last one cut short."""
        events = self.feed(b"\n") if self._cr else []  # a last "\r" ends a line
        if not self.too_long:
            tail = b"".join(self._parts)
            self._parts.clear()
            self.too_long = len(tail) > self.max_bytes
            if not self.too_long:
                events.append(tail)
        return events

    def error(self) -> UpstreamProtocolError:
        return UpstreamProtocolError(
            f"the model server sent an event longer than {self.max_bytes} bytes, the limit "
            "(SAFETHINK_MAX_EVENT_BYTES); the stream was ended"
        )

    def _newlines(self, raw: bytes) -> bytes:
        if self._cr:
            raw = b"\r" + raw
        self._cr = raw.endswith(b"\r")
        if self._cr:
            raw = raw[:-1]
        return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def _data(event: bytes) -> bytes | None:
    """The data of one event (its ``data:`` lines joined), or None for a comment or no data."""
    if event.startswith(b"data: ") and b"\n" not in event:
        return event[6:]  # the common case: one data line
    lines = [
        line[6:] if line.startswith(b"data: ") else line[5:]
        for line in event.split(b"\n")
        if line.startswith(b"data:")
    ]
    return b"\n".join(lines) if lines else None


def _decode(payload: bytes) -> Chunk:
    try:
        chunk = json.loads(payload)
    except ValueError as exc:
        raise UpstreamProtocolError(
            f"the model server sent an event that is not JSON: {payload[:200]!r}"
        ) from exc
    if not isinstance(chunk, dict):
        raise UpstreamProtocolError("the model server sent an event that is not a JSON object")
    if "error" in chunk or chunk.get("object") == "error":
        error = chunk.get("error", chunk)
        raise UpstreamStatusError(
            _int(error.get("code"), 502) if isinstance(error, dict) else 502,
            _message(error) or "the model server reported an error in the stream",
            body=chunk,
        )
    return chunk


def status_error(status: int, content: bytes) -> UpstreamError:
    """The upstream's HTTP error, its status and message kept for the client."""
    body: Any
    try:
        body = json.loads(content)
    except ValueError:
        body = content.decode(errors="replace")
    message = _message(body) or f"the model server answered HTTP {status}"
    return UpstreamStatusError(status, message, body=body)


def _message(body: Any) -> str | None:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            for key in ("message", "detail", "msg"):
                if isinstance(inner.get(key), str):
                    return str(inner[key])
            detail = inner.get("detail")
            if detail is not None:
                return json.dumps(detail)[:1000]
        if isinstance(inner, str):
            return inner
    if isinstance(body, str) and body.strip():
        return body.strip()[:1000]
    return None


def _int(value: Any, default: int) -> int:
    try:
        code = int(value)
    except (TypeError, ValueError):
        return default
    return code if 400 <= code <= 599 else default
