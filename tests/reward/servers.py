"""The reward app under test: in-process through ASGITransport, or under a real HTTP server
(uvicorn in this test's event loop, on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from reward_service.settings import RewardSettings


def guard_settings(guard_path: Path, **overrides: Any) -> RewardSettings:
    """The tiny guard as a fast real backend (its model knows 256 positions: inputs stay under)."""
    return RewardSettings(backend="llama-guard", model=str(guard_path), device="cpu",
                          max_input_tokens=200, **overrides)


async def wait_ready(client: httpx.AsyncClient) -> None:
    deadline = asyncio.get_running_loop().time() + 60.0
    while (await client.get("/readyz")).status_code != 200:
        assert asyncio.get_running_loop().time() < deadline, "never ready"
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def open_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on `app` in process, its lifespan running."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@contextlib.asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Serve `app` (its lifespan included) on a free loopback port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", ws="none", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="uvicorn-under-test")
    try:
        while not server.started:
            assert not task.done(), "uvicorn exited during startup"
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def raw_exchange(url: str, head: bytes, body: bytes = b"") -> bytes:
    """Send `head` (request line and headers) and `body` as they are, then read the answer
    until the server closes the connection: what a hand-written, misbehaving client sees."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head + body)
        await writer.drain()
        return await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
