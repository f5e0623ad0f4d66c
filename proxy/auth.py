"""API keys: ``Authorization: Bearer <key>`` or ``x-api-key: <key>`` (as Anthropic's clients
send it), checked against the same keys, compared in constant time.

(The checks are ``async def`` although they never wait: FastAPI runs a plain ``def`` dependency
in a worker thread, which costs every request a thread hand-off.)

- Client keys (``SAFETHINK_API_KEYS``, and the named keys of ``SAFETHINK_API_KEYS_FILE``,
  proxy/keys.py): when any are set, every ``/v1/*`` model route needs one. The check returns
  the ``Caller``: its key's name and grant, for the request's settings and its audit record.
- The admin key (``SAFETHINK_ADMIN_KEY``) guards the audit and stats routes. Without one, those
  routes take a client key when plain client keys are set, are closed when a keys file names
  keys (a team's key must not read every team's records), and are open when nothing is set.
- Health, readiness and metrics stay open: probes and scrapers carry no keys.
- An empty token never matches, whatever the keys: settings refuse an empty key at start, and
  the check refuses an empty token again, so that no path lets a request without a key through.
The upstream's own key is ``SAFETHINK_UPSTREAM_API_KEY``; a client's key is never forwarded.
"""

from __future__ import annotations

from fastapi import Request

from proxy.appstate import state_of
from proxy.exceptions import Unauthorized
from proxy.keys import Caller, matches


def _tokens(request: Request) -> list[str]:
    """The keys the request presents: its bearer token and its ``x-api-key``."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" else ""
    return [bearer, request.headers.get("x-api-key", "").strip()]


async def require_client(request: Request) -> Caller:
    caller = state_of(request).keys.caller(_tokens(request))
    if caller is None:
        raise Unauthorized(
            "a valid API key is required: Authorization: Bearer <key> or x-api-key: <key>")
    return caller


async def require_admin(request: Request) -> None:
    state = state_of(request)
    settings = state.settings
    if settings.admin_key is None:
        if state.keys.named:
            # One team's key must not read every team's audit trail.
            raise Unauthorized(
                "this deployment has named keys (SAFETHINK_API_KEYS_FILE): the audit and stats "
                "routes need the admin key, and none is set (SAFETHINK_ADMIN_KEY)")
        await require_client(request)
        return
    if not matches(_tokens(request), [settings.admin_key.get_secret_value()]):
        raise Unauthorized("the admin key is required for this route")
