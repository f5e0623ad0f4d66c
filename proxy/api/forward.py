"""What the proxy forwards untouched: ``/v1/models``, and chat and completions requests under
policy ``none``. Streams are relayed byte for byte inside an ``async with`` so that a client
going away closes the upstream call.

Of the upstream's response headers only an allow-list reaches the client: the others (its
server banner, cookies, rate-limit or tracing headers of a hosted backend) describe the
operator's infrastructure, not the answer.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
from fastapi import APIRouter, Request
from fastapi.responses import Response

from proxy.api.errors import error_body, error_response
from proxy.api.render import DONE, sse
from proxy.api.streams import EventStream
from proxy.appstate import state_of
from proxy.exceptions import SafeThinkError, UpstreamUnavailable
from proxy.upstream.client import Relayed, Upstream

router = APIRouter()
RELAYED_HEADERS = frozenset({"content-type", "retry-after", "x-request-id"})


@router.get("/v1/models")
async def models(request: Request) -> Response:
    upstream = state_of(request).upstream
    return _relay(await upstream.request("GET", "/models"))


async def post(
    request: Request, path: str, body: dict[str, Any], headers: dict[str, str], stream: bool
) -> Response:
    """Relay ``body``; ``stream`` is the validated value, never the client's raw field."""
    upstream = state_of(request).upstream
    if not stream:
        return _relay(await upstream.request("POST", path, json_body=body), headers)
    chunks = _relay_stream(upstream, path, body)
    try:
        await anext(chunks)  # opened: the status is a success
    except BaseException as exc:
        await chunks.aclose()
        if isinstance(exc, SafeThinkError):
            return error_response(exc, headers)
        raise
    return EventStream(chunks, headers)


async def _relay_stream(
    upstream: Upstream, path: str, body: dict[str, Any]
) -> AsyncGenerator[bytes, None]:
    async with upstream.open(path, body) as response:
        yield b""
        try:
            async for chunk in response.content.iter_any():
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = UpstreamUnavailable(
                f"the model server broke the stream ({exc.__class__.__name__})"
            )
            yield sse(error_body(error)) + DONE


def _relay(answer: Relayed, extra: dict[str, str] | None = None) -> Response:
    headers = {k: v for k, v in answer.headers.items() if k.lower() in RELAYED_HEADERS}
    headers.update(extra or {})
    return Response(answer.body, status_code=answer.status, headers=headers)
