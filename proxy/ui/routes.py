"""The live page, ``GET /ui``, and the JSON routes it polls.

The page is three static files, package data of this module, served by the proxy itself; they
load nothing from anywhere else, and their Content-Security-Policy tells the browser so. The page
holds no data and is open: it asks for the admin key and sends it to the JSON routes, which are
behind it (``require_admin``), as are the request records it reads (``proxy.ops``).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from proxy.appstate import state_of
from proxy.auth import require_admin
from proxy.exceptions import NotFound
from proxy.state.store import BUCKET_S

router = APIRouter()
_ADMIN = [Depends(require_admin)]
_FILES = {
    "index.html": "text/html; charset=utf-8",
    "page.js": "text/javascript; charset=utf-8",
    "page.css": "text/css; charset=utf-8",
}
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidated each time: a proxy upgraded under an open tab serves the new page.
    "Cache-Control": "no-cache",
}


@cache
def _read(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


def _file(name: str) -> Response:
    return Response(_read(name), media_type=_FILES[name], headers=_HEADERS)


@router.get("/ui", include_in_schema=False)
async def page() -> Response:
    return _file("index.html")


@router.get("/ui/{name}", include_in_schema=False)
async def asset(name: str) -> Response:
    if name not in _FILES or name == "index.html":
        raise NotFound(f"no such file: /ui/{name}")
    return _file(name)


@router.get("/v1/safethink/requests", dependencies=_ADMIN)
async def recent(request: Request, limit: int = Query(50, ge=1, le=500)) -> JSONResponse:
    """The newest requests by start, newest first, each record without its steps."""
    store = state_of(request).store
    return JSONResponse({"store": store.kind, "requests": await store.recent(limit)})


@router.get("/v1/safethink/stats/series", dependencies=_ADMIN)
async def series(
    request: Request, window_s: int = Query(3600, ge=60, le=24 * 3600)
) -> JSONResponse:
    """The counts of each minute of the window, oldest first: ``t`` is the minute's start."""
    store = state_of(request).store
    minutes = await store.series(window_s)
    return JSONResponse({
        "window_s": window_s,
        "bucket_s": BUCKET_S,
        "store": store.kind,
        "series": [{"t": start, **counts} for start, counts in minutes],
    })
