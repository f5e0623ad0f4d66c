"""The models file and the keys file in process: two in-process model servers and one dead
URL behind the app (httpx's ASGI transport): rotation over a model's URLs, the refusing one
skipped, ``/v1/models``, 404 ``model_not_found`` in each API's envelope, ``/readyz`` per URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from proxy.keys import hash_key
from proxy.settings import Settings
from tests.support.procs import free_port
from tests.unit.fake_upstream import FakeUpstream, serving

from .serving import serving as app_serving

CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
KEYS = f"""
keys:
  - name: team-a
    sha256: {hash_key("key-a")}
    models: [replicated]
  - name: team-b
    key: key-b
    models: [single]
"""


@asynccontextmanager
async def ready_scorer() -> AsyncIterator[str]:
    """A reward service that only says it is ready: no test here scores a step."""
    async def ready(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/readyz", ready)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@asynccontextmanager
async def deployment(tmp_path: Path, *, keys: bool = False
                     ) -> AsyncIterator[tuple[httpx.AsyncClient, FakeUpstream, FakeUpstream, str]]:
    """The app, with a model relayed over [A, a dead URL, B] and a guarded one on B alone."""
    dead = f"http://127.0.0.1:{free_port()}/v1"
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(serving(FakeUpstream(models=[])))
        b = await stack.enter_async_context(serving(FakeUpstream(models=[])))
        models = tmp_path / "models.yaml"
        models.write_text(f"""
models:
  - name: replicated
    upstream: [{a.base_url}, {dead}, {b.base_url}]
    policy: none
  - name: single
    upstream: {b.base_url}
    steer_steps: 0
""")
        values: dict[str, Any] = {"models": models,
                                  "reward": await stack.enter_async_context(ready_scorer())}
        if keys:
            (tmp_path / "keys.yaml").write_text(KEYS)
            values["api_keys_file"] = tmp_path / "keys.yaml"
        client = await stack.enter_async_context(app_serving(Settings(**values)))
        yield client, a, b, dead


async def test_requests_rotate_over_a_models_urls_and_skip_the_one_that_refuses(
        tmp_path: Path) -> None:
    async with deployment(tmp_path) as (client, a, b, _):
        for _ in range(4):
            response = await client.post("/v1/chat/completions",
                                         json={"model": "replicated", **CHAT})
            assert response.status_code == 200, response.text
    # turns A, dead (refused: B instead), B, A: no request failed
    assert len(a.posts("/v1/chat/completions")) == 2
    assert len(b.posts("/v1/chat/completions")) == 2


async def test_a_guarded_model_is_served_on_its_own_server(tmp_path: Path) -> None:
    async with deployment(tmp_path) as (client, a, b, _):
        response = await client.post("/v1/chat/completions",
                                     json={"model": "single", "stream": True, **CHAT})
        assert response.status_code == 200 and "more" in response.text
    assert [body["model"] for body in b.posts("/v1/chat/completions")] == ["single"]
    assert a.posts("/v1/chat/completions") == []


async def test_models_lists_the_file_and_an_unlisted_model_is_404(tmp_path: Path) -> None:
    async with deployment(tmp_path) as (client, a, b, _):
        listed = (await client.get("/v1/models")).json()
        assert [m["id"] for m in listed["data"]] == ["replicated", "single"]
        chat = await client.post("/v1/chat/completions", json={"model": "gpt-4", **CHAT})
        messages = await client.post("/v1/messages", json={"model": "gpt-4", **CHAT})
    assert chat.status_code == 404
    error = chat.json()["error"]
    assert (error["code"], error["type"], error["param"]) == ("model_not_found",
                                                              "invalid_request_error", "model")
    assert error["message"] == "The model `gpt-4` does not exist or you do not have access to it."
    assert messages.status_code == 404
    assert messages.json()["type"] == "error"
    assert messages.json()["error"]["type"] == "not_found_error"
    assert a.requests == [] and b.requests == []  # nothing reached a server


async def test_readiness_reports_each_upstream_url(tmp_path: Path) -> None:
    async with deployment(tmp_path) as (client, a, b, dead):
        response = await client.get("/readyz")
    body = response.json()
    assert body["checks"]["reward"] == "ok", body
    # every model still has a server that answers: ready, though degraded
    assert response.status_code == 200 and body["status"] == "degraded"
    assert body["upstreams"][a.base_url] == "ok" and body["upstreams"][b.base_url] == "ok"
    assert body["upstreams"][dead].startswith("unreachable")
    assert body["checks"]["upstream"].startswith("1 of 3 upstream URLs unreachable")


@pytest.mark.parametrize(("key", "own", "other"), [("key-a", "replicated", "single"),
                                                   ("key-b", "single", "replicated")])
async def test_a_key_sees_and_uses_only_its_models(tmp_path: Path, key: str, own: str,
                                                   other: str) -> None:
    headers = {"authorization": f"Bearer {key}"}
    async with deployment(tmp_path, keys=True) as (client, _, _, _):
        listed = (await client.get("/v1/models", headers=headers)).json()
        refused = await client.post("/v1/chat/completions", headers=headers,
                                    json={"model": other, **CHAT})
        served = await client.post("/v1/chat/completions", headers=headers,
                                   json={"model": own, **CHAT})
        anonymous = await client.get("/v1/models")
    assert [m["id"] for m in listed["data"]] == [own]
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "model_not_found"
    assert served.status_code == 200
    assert anonymous.status_code == 401
