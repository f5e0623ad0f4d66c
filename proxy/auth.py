"""API keys: ``Authorization: Bearer <key>`` or ``x-api-key: <key>`` (as Anthropic's clients
send it), checked against the same keys, compared in constant time.

(The checks are ``async def`` although they never wait: FastAPI runs a plain ``def`` dependency
in a worker thread, which costs every request a thread hand-off.)

- Client keys (``SAFETHINK_API_KEYS``): when any are set, every ``/v1/*`` model route needs one.
- The admin key (``SAFETHINK_ADMIN_KEY``) guards the audit and stats routes. Without one, those
  routes take a client key when client keys are set, and are open when nothing is set.
- Health, readiness and metrics stay open: probes and scrapers carry no keys.
- An empty token never matches, whatever the keys: settings refuse an empty key at start, and
  the check refuses an empty token again, so that no path lets a request without a key through.
The upstream's own key is ``SAFETHINK_UPSTREAM_API_KEY``; a client's key is never forwarded.
"""

from __future__ import annotations

import hmac

from fastapi import Request

from proxy.appstate import state_of
from proxy.exceptions import Unauthorized


def _tokens(request: Request) -> list[str]:
    """The keys the request presents: its bearer token and its ``x-api-key``."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" else ""
    return [bearer, request.headers.get("x-api-key", "").strip()]


def _matches(tokens: list[str], keys: list[str]) -> bool:
    # Check them all: the time taken must not tell which key was close, nor which header.
    found = False
    for token in tokens:
        for key in keys:
            found |= bool(token) and hmac.compare_digest(token.encode(), key.encode())
    return found


async def require_client(request: Request) -> None:
    settings = state_of(request).settings
    keys = [k.get_secret_value() for k in settings.api_keys]
    if keys and not _matches(_tokens(request), keys):
        raise Unauthorized(
            "a valid API key is required: Authorization: Bearer <key> or x-api-key: <key>")


async def require_admin(request: Request) -> None:
    settings = state_of(request).settings
    if settings.admin_key is None:
        await require_client(request)
        return
    if not _matches(_tokens(request), [settings.admin_key.get_secret_value()]):
        raise Unauthorized("the admin key is required for this route")
