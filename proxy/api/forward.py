"""What the proxy forwards untouched: ``/v1/models``, and chat and completions requests under
policy ``none``. Streams are relayed byte for byte inside an ``async with`` so that a client
going away closes the upstream call.

With a models file, ``/v1/models`` is answered by the proxy: the listed models the caller's key
may use. Without one it is the upstream's own list (only the key's models, when its key names
some).

Of the upstream's response headers only an allow-list reaches the client: the others (its
server banner, cookies, rate-limit or tracing headers of a hosted backend) describe the
operator's infrastructure, not the answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator
from typing import Annotated, Any

import aiohttp
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from proxy.api.errors import error_body, error_response
from proxy.api.render import DONE, sse
from proxy.api.streams import EventStream
from proxy.appstate import state_of
from proxy.auth import require_client
from proxy.exceptions import SafeThinkError, UpstreamUnavailable
from proxy.keys import Caller
from proxy.upstream.client import Relayed, Upstream

router = APIRouter()
RELAYED_HEADERS = frozenset({"content-type", "retry-after", "x-request-id"})


@router.get("/v1/models")
async def models(request: Request,
                 caller: Annotated[Caller, Depends(require_client)]) -> Response:
    state = state_of(request)
    if state.catalog.listed:
        created = int(time.time())
        return JSONResponse({"object": "list", "data": [
            {"id": name, "object": "model", "created": created, "owned_by": "safethink"}
            for name in state.catalog.names(caller)]})
    answer = await state.upstream.request("GET", "/models")
    if caller.grant is not None and caller.grant.models is not None:
        answer = _only(answer, caller.grant.models)
    return _relay(answer)


async def post(
    request: Request, path: str, body: dict[str, Any], headers: dict[str, str], stream: bool,
    upstream: Upstream,
) -> Response:
    """Relay ``body`` to ``upstream`` (its model's); ``stream`` is the validated value, never
    the client's raw field."""
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


def _only(answer: Relayed, models: frozenset[str]) -> Relayed:
    """The upstream's model list cut to ``models``; an answer that is no list is kept."""
    try:
        data = json.loads(answer.body)
    except ValueError:
        return answer
    if answer.status >= 400 or not isinstance(data, dict) or not isinstance(data.get("data"), list):
        return answer
    data["data"] = [m for m in data["data"] if isinstance(m, dict) and m.get("id") in models]
    headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-length"}
    return Relayed(answer.status, headers, json.dumps(data).encode())
