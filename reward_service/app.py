"""The HTTP face of the engine: `POST /v1/score`, `/healthz`, `/readyz`, `/metrics`.

`create_app(settings)` does no work at import or construction: the lifespan creates the engine,
loads the model in a task it owns (so /healthz answers while a large guard loads, and /readyz says
503 until it is ready), and closes everything on shutdown. State lives on `app.state`.

`POST /v1/score` reads its body itself, under `max_body_bytes` and `body_read_timeout_s`, and
parses and validates it in a helper thread, so the event loop keeps serving meanwhile; only the
JSON parser's own call holds the GIL, and `max_body_bytes` bounds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from starlette.exceptions import HTTPException as StarletteHTTPException

from reward_service.body import read_body
from reward_service.engine import Engine, create_engine
from reward_service.exceptions import (
    BodyTimeoutError,
    BodyTooLargeError,
    NotReadyError,
    OverloadedError,
    RequestError,
    RewardError,
    UpstreamError,
)
from reward_service.metrics import RewardMetrics
from reward_service.schemas import ScoreRequest, ScoreResponse
from reward_service.settings import RewardSettings

log = logging.getLogger("reward_service")


def error_response(status: int, message: str, type_: str, *, param: str | None = None,
                   code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """OpenAI's error envelope."""
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def validation_response(errors: list[ErrorDetails], *, prefix: int = 0) -> JSONResponse:
    """A 400 naming the first invalid field (`items.0.prompt`); `prefix` location parts (FastAPI's
    "body") are left out."""
    first = errors[0] if errors else None
    param = ".".join(str(p) for p in first["loc"][prefix:]) if first else ""
    message = "; ".join(f"{'.'.join(str(p) for p in e['loc'][prefix:]) or 'body'}: {e['msg']}"
                        for e in errors[:5])
    return error_response(400, message or "invalid request", "invalid_request_error",
                          param=param or None, code="invalid_value")


async def _load(app: FastAPI, engine: Engine) -> None:
    try:
        await engine.start()
    except RewardError as exc:  # keep serving /healthz; /readyz reports why it is not ready
        app.state.load_error = str(exc)
        log.error("model load failed: %s", exc)
        return
    app.state.metrics.ready.set(1)
    log.info("ready: backend=%s model=%s", engine.backend_name, engine.model_name)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: RewardSettings = app.state.settings
    app.state.metrics = RewardMetrics()
    app.state.load_error = None
    engine = create_engine(settings, observer=app.state.metrics)
    app.state.engine = engine
    loader = asyncio.create_task(_load(app, engine), name="reward-model-load")
    try:
        yield
    finally:
        loader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loader
        await engine.aclose()


def create_app(settings: RewardSettings | None = None) -> FastAPI:
    app = FastAPI(title="SafeThink reward service", lifespan=_lifespan)
    app.state.settings = settings or RewardSettings()
    _install_error_handlers(app)
    _install_routes(app)
    return app


def _install_routes(app: FastAPI) -> None:
    @app.post("/v1/score", response_model=ScoreResponse)
    async def score(request: Request) -> Any:
        state = request.app.state
        settings: RewardSettings = state.settings
        raw = await read_body(request, max_bytes=settings.max_body_bytes,
                              timeout_s=settings.body_read_timeout_s)
        try:
            body = await asyncio.to_thread(ScoreRequest.model_validate_json, raw)
        except ValidationError as exc:
            state.metrics.requests.labels("invalid").inc()
            return validation_response(exc.errors(include_url=False, include_input=False))
        limit = settings.max_items
        if len(body.items) > limit:
            state.metrics.requests.labels("invalid").inc()
            return error_response(400, f"at most {limit} items per request, got "
                                  f"{len(body.items)}", "invalid_request_error",
                                  param="items", code="too_many_items")
        engine: Engine = state.engine
        results = await engine.score(body.items)
        state.metrics.requests.labels("ok").inc()
        state.metrics.truncated.inc(sum(r.truncated for r in results))
        return ScoreResponse(model=engine.model_name, backend=engine.backend_name,
                             results=results)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        engine: Engine = request.app.state.engine
        body = {"ready": engine.ready, "backend": engine.backend_name,
                "model": engine.model_name, "error": request.app.state.load_error}
        return JSONResponse(body, status_code=200 if engine.ready else 503)

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        return Response(generate_latest(request.app.state.metrics.registry),
                        media_type=CONTENT_TYPE_LATEST)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        request.app.state.metrics.requests.labels("invalid").inc()
        return validation_response(list(exc.errors()), prefix=1)

    @app.exception_handler(RequestError)
    async def _refused(request: Request, exc: RequestError) -> JSONResponse:
        status, code = 400, "client_disconnected"
        if isinstance(exc, BodyTooLargeError):
            status, code = 413, "body_too_large"
        elif isinstance(exc, BodyTimeoutError):
            status, code = 408, "body_timeout"
        request.app.state.metrics.requests.labels(code).inc()
        # The rest of the body is never read: the connection cannot carry another request.
        return error_response(status, str(exc), "invalid_request_error", code=code,
                              headers={"Connection": "close"})

    @app.exception_handler(OverloadedError)
    async def _overloaded(request: Request, exc: OverloadedError) -> JSONResponse:
        request.app.state.metrics.requests.labels("overloaded").inc()
        retry_after = str(request.app.state.settings.retry_after_s)
        return error_response(503, str(exc), "service_unavailable", code="overloaded",
                              headers={"Retry-After": retry_after})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), "invalid_request_error")

    @app.exception_handler(NotReadyError)
    async def _not_ready(request: Request, exc: NotReadyError) -> JSONResponse:
        request.app.state.metrics.requests.labels("not_ready").inc()
        return error_response(503, f"reward model not ready: {exc}", "service_unavailable",
                              code="not_ready")

    @app.exception_handler(RewardError)
    async def _reward(request: Request, exc: RewardError) -> JSONResponse:
        request.app.state.metrics.requests.labels("error").inc()
        status = 502 if isinstance(exc, UpstreamError) else 500
        log.error("scoring failed: %s", exc)
        return error_response(status, str(exc), "server_error", code=type(exc).__name__)
