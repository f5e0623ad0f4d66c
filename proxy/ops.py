"""Operating endpoints: liveness, readiness of each dependency, metrics, the audit trail."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from proxy.appstate import state_of
from proxy.exceptions import NotFound

router = APIRouter()
admin = APIRouter()  # behind the admin key (see auth.py)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready when every model has an upstream URL that answers, and the scorer answers; the
    store and each upstream URL reported too."""
    state = state_of(request)
    upstreams, scorer, store = await asyncio.gather(
        state.catalog.check(),
        state.scorer.check(),
        state.store.check(),
    )
    upstream = upstreams.summary()
    checks = {
        "upstream": upstream or "ok",
        "reward": scorer or "ok",
        "store": store or "ok",
    }
    # A store down degrades to memory, a URL down to the model's other URLs: neither blocks
    # serving; a model with no server, or no scorer, does.
    ready = upstreams.ready and scorer is None
    degraded = store is not None or upstream is not None
    status = ("degraded" if degraded else "ready") if ready else "not ready"
    urls = {url: problem or "ok" for url, problem in upstreams.urls.items()}
    return JSONResponse({"status": status, "checks": checks, "upstreams": urls},
                        status_code=200 if ready else 503)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    data = generate_latest(state_of(request).metrics.registry)
    return Response(data, media_type=CONTENT_TYPE_LATEST)


@admin.get("/v1/safethink/requests/{request_id}")
async def audit(request: Request, request_id: str) -> JSONResponse:
    record = await state_of(request).store.get(request_id)
    if record is None:
        raise NotFound(f"no record of request {request_id!r} (unknown or expired)")
    return JSONResponse(record)


@admin.get("/v1/safethink/stats")
async def stats(
    request: Request, window_s: int = Query(3600, ge=60, le=7 * 24 * 3600),
    key: str | None = Query(None, min_length=1, max_length=64),
) -> JSONResponse:
    """Counts over the last ``window_s`` seconds, the same from every replica sharing a store;
    with ``key``, of the requests of that key name only (the keys file's names)."""
    counts = await state_of(request).store.stats(window_s, key)
    steered = counts["recovered"] + counts["exhausted"]
    return JSONResponse(
        {
            "window_s": window_s,
            **({"key": key} if key is not None else {}),
            "store": state_of(request).store.kind,
            **counts,
            "recovery_rate": round(counts["recovered"] / steered, 4) if steered else None,
            "steer_rate": round(counts["steered_requests"] / counts["requests"], 4)
            if counts["requests"]
            else None,
        }
    )
