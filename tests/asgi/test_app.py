"""The app in process (httpx's ASGI transport, lifespan run): routes, errors and operations
endpoints, with the dependencies it cannot reach."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from proxy.app import create_app
from proxy.settings import Settings
from tests.support.procs import free_port


@asynccontextmanager
async def running(**settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    dead = f"http://127.0.0.1:{free_port()}"
    settings.setdefault("upstream_url", dead + "/v1")
    settings.setdefault("reward", dead)
    app = create_app(Settings(**settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy",
                                     timeout=30) as client:
            yield client


async def test_liveness_does_not_depend_on_anything() -> None:
    async with running() as client:
        response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readiness_reports_each_dependency() -> None:
    async with running() as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["upstream"].startswith("unreachable")
    assert body["checks"]["reward"].startswith("unreachable")
    assert body["checks"]["store"] == "ok"


async def test_metrics_are_prometheus_text() -> None:
    async with running() as client:
        response = await client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    assert 'safethink_steers_total{model="other"} 0.0' in response.text


async def test_unknown_audit_record_is_404() -> None:
    async with running() as client:
        response = await client.get("/v1/safethink/requests/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("settings", "body", "match"), [
    ({"allowed_policies": ["safethink", "none"], "request_overrides": ["policy"]},
     {"safethink": {"policy": "zerothink"}},
     "not allowed here"),
    ({"request_overrides": []}, {"safethink": {"policy": "none"}}, "policy"),
    ({}, {"safethink": {"resamples": 100}}, "resamples"),
])
async def test_allow_list(settings: dict[str, Any], body: dict[str, Any], match: str) -> None:
    async with running(**settings) as client:
        response = await client.post("/v1/chat/completions", json={
            "model": "m", "messages": [{"role": "user", "content": "hi"}], **body})
    assert response.status_code == 400
    assert match in response.json()["error"]["message"]


async def test_header_policy_obeys_the_allow_list() -> None:
    async with running(request_overrides=[]) as client:
        response = await client.post(
            "/v1/chat/completions", headers={"x-safethink-policy": "none"},
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "policy_not_allowed"


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions"])
async def test_upstream_down_is_502_before_streaming(path: str) -> None:
    body: dict[str, Any] = {"model": "m", "stream": True, "prompt": "hi",
                            "messages": [{"role": "user", "content": "hi"}]}
    async with running() as client:
        response = await client.post(path, json=body)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_unavailable"


async def test_embedded_scorer_loads_in_process() -> None:
    # `make serve`'s default: the reward extra's packaged cross-encoder, in this process.
    async with running(reward="embedded") as client:
        body = (await client.get("/readyz")).json()
    assert body["checks"]["reward"] == "ok"
