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

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from .exceptions import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from .settings import Settings

Chunk = dict[str, Any]
_PROBE_TIMEOUT = aiohttp.ClientTimeout(total=2.0)


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
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
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
    def __init__(self, session: aiohttp.ClientSession, settings: Settings) -> None:
        self.session = session
        self.base_url = settings.upstream_url
        self.headers = {"accept-encoding": "identity", "content-type": "application/json"}
        if settings.upstream_api_key is not None:
            key = settings.upstream_api_key.get_secret_value()
            self.headers["authorization"] = f"Bearer {key}"

    @asynccontextmanager
    async def open(
        self, path: str, body: dict[str, Any]
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """POST body and yield the response once its status is a success (headers read)."""
        data = json.dumps(body, ensure_ascii=False).encode()
        try:
            response = await self.session.post(self.base_url + path, data=data,
                                               headers=self.headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _unreachable(self.base_url, exc) from exc
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
            yield iter_events(response.content.iter_any())

    async def check(self) -> str | None:
        """None when the server answers ``GET /models``, else why not (for ``/readyz``)."""
        status = await probe(self.session, self.base_url + "/models", headers=self.headers)
        if isinstance(status, str):
            return status
        return None if status < 500 else f"HTTP {status}"

    async def request(self, method: str, path: str, *, json_body: Any = None) -> Relayed:
        """A plain (non-streaming) call whose answer is forwarded as it is."""
        data = None if json_body is None else json.dumps(json_body, ensure_ascii=False).encode()
        try:
            async with self.session.request(
                method, self.base_url + path, data=data, headers=self.headers
            ) as response:
                return Relayed(response.status, dict(response.headers), await _read(response))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _unreachable(self.base_url, exc) from exc


async def _read(response: aiohttp.ClientResponse) -> bytes:
    try:
        return await response.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise UpstreamUnavailable(f"the model server broke the response: {exc}") from exc


def _unreachable(url: str, exc: BaseException) -> UpstreamError:
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout(f"the model server did not answer in time: {exc}")
    return UpstreamUnavailable(f"the model server at {url} cannot be reached: {exc}")


async def iter_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[Chunk]:
    """The stream's events, parsed from raw bytes: split on blank lines, then JSON-decoded
    whole, so that a multi-byte character split across reads is never decoded in halves.
    After ``[DONE]`` the rest of the body is read, so the connection goes back to the pool."""
    buffer = b""
    done = False
    try:
        async for raw in chunks:
            if done:
                continue
            buffer += raw
            if b"\r" in buffer and not buffer.endswith(b"\r"):
                buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            while (end := buffer.find(b"\n\n")) >= 0:
                event, buffer = buffer[:end], buffer[end + 2 :]
                payload = _data(event)
                if payload is None:
                    continue
                if payload.strip() == b"[DONE]":
                    done = True
                    break
                yield _decode(payload)
        if not done and (payload := _data(buffer.replace(b"\r", b""))) is not None:
            if payload.strip() != b"[DONE]":
                yield _decode(payload)
    except TimeoutError as exc:
        raise UpstreamTimeout("the model server stopped sending in the middle of a stream") from exc
    except aiohttp.ClientError as exc:
        raise UpstreamUnavailable(f"the model server broke the stream: {exc}") from exc


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
