"""What the proxy forwards untouched: ``/v1/models``, ``/v1/completions``, and chat requests
under policy ``none``. Streams are relayed byte for byte inside an ``async with`` so that a
client going away closes the upstream call."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, TypeVar

import aiohttp
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from .bodies import read_json
from .errors import error_body, error_response
from .exceptions import SafeThinkError, UpstreamUnavailable
from .render import DONE, sse
from .upstream import Relayed, Upstream

router = APIRouter()
T = TypeVar("T")
_HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding"}


@router.get("/v1/models")
async def models(request: Request) -> Response:
    upstream: Upstream = request.app.state.upstream
    return _relay(await upstream.request("GET", "/models"))


@router.post("/v1/completions")
async def completions(request: Request) -> Response:
    body = await read_json(request, request.app.state.settings.max_body_bytes)
    body.pop("safethink", None)
    return await post(request, "/completions", body, {})


async def post(
    request: Request, path: str, body: dict[str, Any], headers: dict[str, str]
) -> Response:
    upstream: Upstream = request.app.state.upstream
    if not body.get("stream"):
        return _relay(await upstream.request("POST", path, json_body=body), headers)
    chunks = _relay_stream(upstream, path, body)
    try:
        await first_item(chunks)  # opened: the status is a success
    except SafeThinkError as exc:
        return error_response(exc, headers)
    return StreamingResponse(chunks, media_type="text/event-stream", headers=headers)


async def first_item(stream: AsyncGenerator[T, None]) -> T:
    """Start a stream before answering, so that an upstream error keeps its HTTP status; on
    any failure the stream is closed (and its upstream call with it) before the error goes on."""
    try:
        return await anext(stream)
    except BaseException:
        await stream.aclose()
        raise


async def _relay_stream(
    upstream: Upstream, path: str, body: dict[str, Any]
) -> AsyncGenerator[bytes, None]:
    async with upstream.open(path, body) as response:
        yield b""
        try:
            async for chunk in response.content.iter_any():
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = UpstreamUnavailable(f"the model server broke the stream: {exc}")
            yield sse(error_body(error)) + DONE


def _relay(answer: Relayed, extra: dict[str, str] | None = None) -> Response:
    headers = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_HEADERS}
    headers.update(extra or {})
    return Response(answer.body, status_code=answer.status, headers=headers)
