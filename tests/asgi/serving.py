"""The app in process for the key tests (test_auth.py, test_messages_keys.py): served through
httpx's ASGI transport (lifespan run), its upstream and scorer down; what they check is answered
at the key, before either is called."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from proxy.app import create_app
from proxy.settings import Settings
from tests.support.procs import free_port


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy") as client:
            yield client


def dead_settings(**values: Any) -> Settings:
    """Settings with ``values``, the upstream and the scorer on a free port: down."""
    dead = f"http://127.0.0.1:{free_port()}"
    return Settings(upstream_url=dead + "/v1", reward=dead, **values)
