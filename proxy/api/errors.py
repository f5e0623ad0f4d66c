"""The one place that renders errors, in OpenAI's envelope:
``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from proxy.appstate import state_of
from proxy.exceptions import NotFound, RequestError, SafeThinkError, UpstreamStatusError

log = logging.getLogger("safethink.errors")


def error_body(exc: SafeThinkError) -> dict[str, Any]:
    return {
        "error": {
            "message": exc.message,
            "type": exc.error_type,
            "param": exc.param,
            "code": exc.code,
        }
    }


def error_response(exc: SafeThinkError, headers: dict[str, str] | None = None) -> JSONResponse:
    if isinstance(exc, UpstreamStatusError) and isinstance(exc.body, dict) and "error" in exc.body:
        body = exc.body  # the upstream's own envelope, passed through
    else:
        body = error_body(exc)
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


def validation_error(exc: ValidationError | RequestValidationError) -> RequestError:
    """A pydantic error, told the way a client can act on it."""
    first = exc.errors()[0]
    location = [str(part) for part in first.get("loc", ()) if part != "body"]
    param = ".".join(location) or None
    where = f" at {param}" if param else ""
    count = len(exc.errors())
    more = f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else ""
    return RequestError(f"invalid request{where}: {first.get('msg', 'invalid')}{more}", param=param)


Renderer = Callable[[SafeThinkError, "dict[str, str] | None"], Response]


def install(app: FastAPI, envelopes: Mapping[str, Renderer] | None = None) -> None:
    """One handler per kind of error; each renders in the envelope of the API the request was
    for: ``envelopes`` maps a path prefix to its renderer (the Messages API's is Anthropic's),
    and every other route gets OpenAI's."""
    by_prefix = dict(envelopes or {})

    def render(request: Request, exc: SafeThinkError,
               headers: dict[str, str] | None = None) -> Response:
        path = request.url.path
        for prefix, renderer in by_prefix.items():
            if path.startswith(prefix):
                return renderer(exc, headers)
        return error_response(exc, headers)

    def counted(request: Request, exc: SafeThinkError) -> Response:
        if isinstance(exc, RequestError):
            state_of(request).metrics.client_errors.labels(type=exc.error_type).inc()
        return render(request, exc)

    async def safethink_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SafeThinkError)
        return counted(request, exc)

    async def request_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return counted(request, validation_error(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            error: RequestError = NotFound(str(exc.detail))
        else:  # 405 and kin: Starlette's status, passed through
            error = RequestError(str(exc.detail))
            error.status_code = exc.status_code
        return render(request, error, dict(exc.headers or {}))

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error")
        return render(request, SafeThinkError("internal error in the SafeThink proxy"))

    app.add_exception_handler(SafeThinkError, safethink_error)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
