"""The one streaming response of the proxy: Starlette's, closing its body when it is done.

Starlette iterates a streaming body but never closes it: when the client goes away while the
body generator waits at a ``yield``, the generator (and the upstream call it holds in an
``async with``) is left to the garbage collector, and its ``finally`` runs whenever that is.
Closing it here, whatever ended the response, runs that ``finally`` at once, in order.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


class EventStream(StreamingResponse):
    """``text/event-stream`` from an async generator, which is closed when the response ends."""

    def __init__(self, body: AsyncGenerator[bytes, None], headers: dict[str, str]) -> None:
        super().__init__(body, media_type="text/event-stream", headers=headers)
        self._body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._body.aclose()
