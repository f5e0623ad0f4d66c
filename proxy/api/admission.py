"""Admission control: at most ``max_concurrent_requests`` model requests in the proxy at once.

A pure ASGI middleware, so that a slot is held for a request's whole life, its streamed body
included (the inner app returns only once the last byte is sent or the client has gone). A
request past the limit is answered at once with 503 and ``Retry-After``, in its API's envelope
(OpenAI's, or the one ``envelopes`` maps its path prefix to), before its body is read: a full
proxy spends nothing on it. The operating routes (health, readiness, metrics, the audit trail)
are never limited, so that a saturated proxy still tells its operator so.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

from proxy.api.errors import Renderer, error_response
from proxy.exceptions import Overloaded

# The routes that generate; every other route is cheap and stays open.
MODEL_ROUTES = ("/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/messages")


class Admission:
    def __init__(self, app: ASGIApp, *, limit: int, retry_after_s: int,
                 envelopes: Mapping[str, Renderer] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.retry_after_s = retry_after_s
        self.envelopes = dict(envelopes or {})
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in MODEL_ROUTES:
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            scope["app"].state.safethink.metrics.overloaded.inc()
            await self._refuse(scope, receive, send)
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = Overloaded(
            f"the proxy is serving its limit of {self.limit} concurrent requests; "
            f"retry after {self.retry_after_s}s"
        )
        render = next((renderer for prefix, renderer in self.envelopes.items()
                       if scope["path"].startswith(prefix)), error_response)
        response = render(error, {"retry-after": str(self.retry_after_s)})
        await response(scope, receive, send)
