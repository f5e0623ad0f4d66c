"""The live page and its JSON routes, in process: the page is open and loads nothing from
elsewhere, its data is behind the admin key, and its files ship in the package."""

from __future__ import annotations

import re
import time
import tomllib
from collections.abc import AsyncIterator
from fnmatch import fnmatch

import httpx
import pytest

from proxy.app import create_app
from proxy.state.store import BUCKET_S, Store
from tests.support.procs import ROOT

from .serving import dead_settings

ADMIN = {"authorization": "Bearer admin-key"}
UI = ROOT / "proxy" / "ui"


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[httpx.AsyncClient, Store]]:
    app = create_app(dead_settings(admin_key="admin-key", api_keys=["client-key"]))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy") as client:
            yield client, app.state.safethink.store


async def test_the_page_is_open_and_names_only_its_own_files(
        proxy: tuple[httpx.AsyncClient, Store]) -> None:
    client, _ = proxy
    page = await client.get("/ui")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "connect-src 'self'" in page.headers["content-security-policy"]
    links = re.findall(r'(?:src|href)="([^"]*)"', page.text)
    assert sorted(links) == ["data:,", "ui/page.css", "ui/page.js"]
    for link, kind in [("ui/page.css", "text/css"), ("ui/page.js", "text/javascript")]:
        asset = await client.get("/" + link)
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind)
    assert (await client.get("/ui/missing.js")).status_code == 404
    assert (await client.get("/ui/routes.py")).status_code == 404


def test_no_file_of_the_page_reaches_another_host() -> None:
    for path in UI.iterdir():
        if path.suffix in {".html", ".js", ".css"}:
            # The SVG namespace is a name, not a fetch.
            urls = set(re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"'`)]*",
                                  path.read_text())) - {"http://www.w3.org/2000/svg"}
            assert not urls, f"{path.name} names {urls}"
            assert "@import" not in path.read_text() and "url(" not in path.read_text()


def test_the_page_ships_in_a_non_editable_install() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["*"]
    for path in UI.iterdir():
        if path.is_file() and path.suffix != ".py":
            assert any(fnmatch(path.name, pattern) for pattern in patterns), path.name


@pytest.mark.parametrize("path", ["/v1/safethink/requests", "/v1/safethink/stats/series"])
@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer client-key"},
                                     {"authorization": "Bearer wrong"}])
async def test_the_data_needs_the_admin_key(proxy: tuple[httpx.AsyncClient, Store], path: str,
                                            headers: dict[str, str]) -> None:
    client, _ = proxy
    response = await client.get(path, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "the admin key is required for this route"


async def test_recent_requests_newest_first_and_bounded(
        proxy: tuple[httpx.AsyncClient, Store]) -> None:
    client, store = proxy
    now = time.time()
    for n in range(3):
        await store.begin({"id": f"r{n}", "policy": "safethink", "model": "m", "key": "team-a",
                           "started_at": now - 10 + n, "steps": []})
    body = (await client.get("/v1/safethink/requests", headers=ADMIN)).json()
    assert body["store"] == "memory"
    assert [r["id"] for r in body["requests"]] == ["r2", "r1", "r0"]
    assert body["requests"][0]["key"] == "team-a" and "steps" not in body["requests"][0]
    two = await client.get("/v1/safethink/requests?limit=2", headers=ADMIN)
    assert [r["id"] for r in two.json()["requests"]] == ["r2", "r1"]
    for limit in (0, 501):
        refused = await client.get(f"/v1/safethink/requests?limit={limit}", headers=ADMIN)
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "query.limit"


async def test_counts_per_minute_over_the_window(proxy: tuple[httpx.AsyncClient, Store]) -> None:
    client, store = proxy
    await store.finish({"id": "r", "steps": []}, {"requests": 1, "steered_requests": 1,
                                                  "recovered": 1})
    body = (await client.get("/v1/safethink/stats/series", headers=ADMIN)).json()
    assert body["window_s"] == 3600 and body["bucket_s"] == BUCKET_S
    assert len(body["series"]) == 60
    newest = body["series"][-1]
    assert {"t", "requests", "steered_requests", "recovered", "exhausted",
            "fail_open"} <= set(newest)
    assert sum(m["requests"] for m in body["series"]) == 1
    assert sum(m["recovered"] for m in body["series"]) == 1
    assert body["series"][1]["t"] - body["series"][0]["t"] == BUCKET_S
    ten = await client.get("/v1/safethink/stats/series?window_s=600", headers=ADMIN)
    assert len(ten.json()["series"]) == 10
    too_long = await client.get("/v1/safethink/stats/series?window_s=90000", headers=ADMIN)
    assert too_long.status_code == 400


@pytest.mark.parametrize("value", ["", "abc", "1e3", "NaN", "-1", "50.5", "9" * 400])
async def test_a_malformed_bound_is_a_400_in_openais_envelope(
        proxy: tuple[httpx.AsyncClient, Store], value: str) -> None:
    client, _ = proxy
    for path, name in [("/v1/safethink/requests", "limit"),
                       ("/v1/safethink/stats/series", "window_s")]:
        response = await client.get(path, params={name: value}, headers=ADMIN)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["type"] == "invalid_request_error"
