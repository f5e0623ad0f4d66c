"""The client of the user's model server.

Every stream is an ``async with``: leaving the block, normally, by an error or by cancellation
(the client went away, or a step was rejected), closes the HTTP response, and closing the
connection is how vLLM, SGLang, TGI and llama.cpp learn to abort the generation.

Server-sent events are parsed here, tolerant of what real servers do: ``transformers serve``
ends a stream without ``data: [DONE]``, some servers send ``: keep-alive`` comments, vLLM sends
an error object inside a stream that had already started with status 200.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from .exceptions import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from .settings import Settings

Chunk = dict[str, Any]


def create_client(settings: Settings) -> httpx.AsyncClient:
    """The shared connection pool to the upstream, created in the app's lifespan."""
    timeout = httpx.Timeout(
        settings.upstream_read_timeout, connect=settings.upstream_connect_timeout
    )
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=256)
    return httpx.AsyncClient(timeout=timeout, limits=limits)


class Upstream:
    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self.client = client
        self.base_url = settings.upstream_url
        self.headers = {"accept-encoding": "identity"}
        if settings.upstream_api_key is not None:
            key = settings.upstream_api_key.get_secret_value()
            self.headers["authorization"] = f"Bearer {key}"

    @asynccontextmanager
    async def open(self, path: str, body: dict[str, Any]) -> AsyncIterator[httpx.Response]:
        """POST body and yield the response once its status is a success (headers read)."""
        request = self.client.build_request(
            "POST", self.base_url + path, json=body, headers=self.headers
        )
        response = await self._send(request)
        try:
            if response.status_code >= 400:
                await response.aread()
                raise status_error(response)
            yield response
        finally:
            await response.aclose()

    @asynccontextmanager
    async def stream(self, path: str, body: dict[str, Any]) -> AsyncIterator[AsyncIterator[Chunk]]:
        """POST a streaming body and yield its events, parsed, until ``[DONE]`` or the end."""
        async with self.open(path, body) as response:
            yield iter_events(response)

    async def request(self, method: str, path: str, *, json_body: Any = None) -> httpx.Response:
        """A plain (non-streaming) call whose answer is forwarded as it is."""
        request = self.client.build_request(
            method, self.base_url + path, json=json_body, headers=self.headers
        )
        response = await self._send(request)
        try:
            await response.aread()
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(f"the model server broke the response: {exc}") from exc
        finally:
            await response.aclose()
        return response

    async def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self.client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"the model server did not answer in time: {exc}") from exc
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(
                f"the model server at {self.base_url} cannot be reached: {exc}"
            ) from exc


async def iter_events(response: httpx.Response) -> AsyncIterator[Chunk]:
    """The stream's events, parsed from raw bytes: split on blank lines, then JSON-decoded
    whole, so that a multi-byte character split across reads is never decoded in halves.
    After ``[DONE]`` the rest of the body is read, so the connection goes back to the pool."""
    buffer = b""
    done = False
    try:
        async for raw in response.aiter_raw():
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
    except httpx.TimeoutException as exc:
        raise UpstreamTimeout("the model server stopped sending in the middle of a stream") from exc
    except httpx.HTTPError as exc:
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


def status_error(response: httpx.Response) -> UpstreamError:
    """The upstream's HTTP error, its status and message kept for the client."""
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = response.text
    message = _message(body) or f"the model server answered HTTP {response.status_code}"
    return UpstreamStatusError(response.status_code, message, body=body)


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
