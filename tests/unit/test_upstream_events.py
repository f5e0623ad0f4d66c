"""The upstream client ends a stream whose event is over the limit, and closes its connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from proxy.exceptions import UpstreamProtocolError
from proxy.settings import Settings
from proxy.upstream.client import Upstream, create_session

MiB = 1024 * 1024
FIRST = b'data: {"choices": [{"delta": {"content": "Hi"}}]}\n\n'


@asynccontextmanager
async def flooding(total: int) -> AsyncIterator[tuple[str, list[int], asyncio.Event]]:
    """A model server whose second event never ends: it writes ``total`` bytes of it unless
    the client hangs up first. Yields its base URL, the bytes it managed to write, and an
    event set once it stopped writing."""
    written = [0]
    stopped = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        await response.write(FIRST + b"data: ")
        block = b"x" * (64 * 1024)
        try:
            while written[0] < total:
                await response.write(block)
                written[0] += len(block)
        except ConnectionError:
            pass
        finally:
            stopped.set()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler)
    async with TestServer(app, host="127.0.0.1") as server:
        yield str(server.make_url("/v1")), written, stopped


async def test_an_oversized_event_ends_the_stream_and_hangs_up() -> None:
    total = 128 * MiB
    async with flooding(total) as (url, written, stopped):
        settings = Settings(upstream_url=url, max_event_bytes=MiB)
        async with create_session(settings) as session:
            upstream = Upstream(session, settings)
            got: list[dict[str, object]] = []
            with pytest.raises(UpstreamProtocolError, match="SAFETHINK_MAX_EVENT_BYTES"):
                async with upstream.stream("/chat/completions", {"stream": True}) as events:
                    async for event in events:
                        got.append(event)
            assert got == [{"choices": [{"delta": {"content": "Hi"}}]}]
        await asyncio.wait_for(stopped.wait(), 60)
    # the proxy hung up after about a MiB, not at the end (the sockets buffer a few MiB more)
    assert written[0] < total // 2
