"""The ASGI app: its lifespan owns every shared client, and the routes reach them through
a typed ``AppState`` (``proxy.appstate.state_of``). Nothing happens at import time;
``create_app(settings)`` builds it all."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import aiohttp
from fastapi import Depends, FastAPI

from proxy import ops
from proxy.api import chat, completions, errors, forward, messages, responses
from proxy.api.admission import Admission
from proxy.appstate import AppState
from proxy.auth import require_admin, require_client
from proxy.catalog import Catalog, load_models
from proxy.keys import load_keyring
from proxy.metrics import Metrics
from proxy.scoring import EmbeddedScorer, HttpScorer, Scorer
from proxy.settings import Settings
from proxy.state.failover import FailoverStore
from proxy.state.redis_store import RedisStore
from proxy.state.store import MemoryStore, Store
from proxy.ui import routes as ui
from proxy.upstream.client import create_session

log = logging.getLogger("safethink")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    # Read at once, so that a wrong models or keys file stops the proxy before it serves.
    models = load_models(settings)
    keys = load_keyring(settings, [m.name for m in models] if settings.models else None)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        metrics = Metrics()
        async with AsyncExitStack() as stack:
            upstream_session = await stack.enter_async_context(create_session(settings))
            # A pool of its own for the reward service: score calls never wait behind streams.
            reward_session = await stack.enter_async_context(aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=settings.reward_max_connections)))
            scorer = await _scorer(settings, reward_session)
            stack.push_async_callback(scorer.aclose)
            store = await _store(settings, metrics)
            stack.push_async_callback(store.aclose)
            catalog = Catalog.build(settings, models, upstream_session)
            for route in catalog.routes():
                metrics.for_model(route.label)  # each listed model's counters exist from 0
            app.state.safethink = AppState(
                settings=settings,
                metrics=metrics,
                catalog=catalog,
                keys=keys,
                upstream=catalog.default.upstream,
                templates=catalog.default.templates,
                learned_continuation=catalog.default.learned,
                scorer=scorer,
                store=store,
            )
            yield

    app = FastAPI(title="SafeThink guard proxy", lifespan=lifespan, docs_url=None, redoc_url=None)
    # Each API's errors in its own envelope: Anthropic's on the Messages API, else OpenAI's.
    envelopes = {messages.PATH: messages.error_response}
    app.add_middleware(
        Admission, limit=settings.max_concurrent_requests, retry_after_s=settings.retry_after_s,
        envelopes=envelopes,
    )
    errors.install(app, envelopes=envelopes)
    app.add_route("/v1/chat/completions", chat.chat_completions, methods=["POST"])
    app.add_route("/v1/completions", completions.completions, methods=["POST"])
    app.add_route("/v1/responses", responses.responses, methods=["POST"])
    app.add_route(messages.PATH, messages.create_message, methods=["POST"])
    app.include_router(forward.router, dependencies=[Depends(require_client)])
    app.include_router(ops.admin, dependencies=[Depends(require_admin)])
    app.include_router(ops.router)
    app.include_router(ui.router)  # the live page (open) and its JSON (admin)
    return app


async def _scorer(settings: Settings, session: aiohttp.ClientSession) -> Scorer:
    if settings.reward == "embedded":
        return await EmbeddedScorer.start(settings.score_timeout)
    return HttpScorer(
        session, settings.reward, settings.score_timeout, trace_chars=settings.score_trace_chars
    )


async def _store(settings: Settings, metrics: Metrics) -> Store:
    memory = MemoryStore(ttl_s=settings.store_ttl_s)
    if settings.store == "memory":
        return memory
    redis = RedisStore(settings.store, prefix=settings.store_prefix, ttl_s=settings.store_ttl_s,
                       timeout_s=settings.store_timeout_s)
    store = FailoverStore(redis, memory, metrics, retry_s=settings.store_retry_s)
    await store.start()
    return store
