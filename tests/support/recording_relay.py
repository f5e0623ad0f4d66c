"""A pass-through HTTP relay that records the JSON bodies it forwards, to see what the proxy sent
a real model server (llama-cpp-python has no request log of its own).

Run: ``python -m tests.support.recording_relay --port N --target http://127.0.0.1:M`` (127.0.0.1
only). Every request but the hooks is forwarded to the target as it is and its answer streamed
back. Test hooks: ``GET /healthz``, ``GET /_requests`` (``[{"method", "path", "body"}]``, the
body parsed when it is JSON).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def create_app(target: str) -> Starlette:
    recorded: list[dict[str, Any]] = []
    clients: list[httpx.AsyncClient] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(base_url=target, timeout=None) as client:
            clients.append(client)
            yield

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def requests(request: Request) -> Response:
        return JSONResponse(recorded)

    async def relay(request: Request) -> Response:
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        recorded.append({"method": request.method, "path": request.url.path, "body": body})
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        upstream = await clients[0].send(
            clients[0].build_request(request.method, request.url.path, content=raw,
                                     headers=headers, params=request.query_params),
            stream=True)
        kept = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP}
        return StreamingResponse(upstream.aiter_raw(), status_code=upstream.status_code,
                                 headers=kept, background=BackgroundTask(upstream.aclose))

    return Starlette(lifespan=lifespan, routes=[
        Route("/healthz", healthz), Route("/_requests", requests),
        Route("/{path:path}", relay, methods=["GET", "POST"])])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--target", required=True)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(args.target), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
