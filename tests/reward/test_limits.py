"""Admission and bounded work: the body limit (413), slow uploads (408), a full queue (503 with
Retry-After), chats of very many turns, and the event loop staying free while items are prepared.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import reward_service.text
from reward_service.app import create_app
from tests.reward.servers import guard_settings, open_client, raw_exchange, serve, wait_ready

LIMIT = 4096
# A hang on the old code must fail the test, not the suite: no answer within this is a failure.
HANG_GUARD_S = 30.0


def split_response(raw: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip()
               for k, v in (line.split(":", 1) for line in header_lines)}
    return int(status_line.split()[1]), headers, json.loads(body)


def assert_envelope(body: Any, code: str) -> None:
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code and error["message"]


@pytest.fixture(scope="module")
async def served(guard_path: Path) -> AsyncIterator[str]:
    """A real uvicorn on 127.0.0.1 with a 4 KiB body limit and a 0.5 s body deadline."""
    app = create_app(guard_settings(guard_path, max_body_bytes=LIMIT, body_read_timeout_s=0.5))
    async with serve(app) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            await wait_ready(client)
        yield url


async def test_a_declared_body_over_the_limit_is_413_before_a_byte_is_read(served: str) -> None:
    # 10 MB announced, nothing sent: only an answer that does not wait for the body can come.
    head = (b"POST /v1/score HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10000000\r\n\r\n")
    async with asyncio.timeout(HANG_GUARD_S):
        status, headers, body = split_response(await raw_exchange(served, head))
    assert status == 413
    assert headers["connection"] == "close"
    assert_envelope(body, "body_too_large")


async def test_a_body_over_the_limit_is_413_with_or_without_content_length(served: str) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(2):
            yield b" " * (LIMIT // 2 + 100)

    items = json.dumps({"items": [{"prompt": "x" * (2 * LIMIT)}]}).encode()
    async with httpx.AsyncClient(base_url=served, timeout=HANG_GUARD_S) as client:
        sized = await client.post("/v1/score", content=items)
        chunked = await client.post("/v1/score", content=chunks())
        assert (await client.post("/v1/score", json={"items": [{"prompt": "hi"}]})).status_code \
            == 200
    assert chunked.request.headers["transfer-encoding"] == "chunked"
    for response in (sized, chunked):
        assert response.status_code == 413, response.text
        assert_envelope(response.json(), "body_too_large")


async def test_a_slow_upload_is_cut_with_408(served: str) -> None:
    head = (b"POST /v1/score HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n")
    async with asyncio.timeout(HANG_GUARD_S):  # 90 bytes never come
        status, _, body = split_response(await raw_exchange(served, head, b'{"items": '))
    assert status == 408
    assert_envelope(body, "body_timeout")
    async with httpx.AsyncClient(base_url=served) as client:
        assert (await client.get("/healthz")).status_code == 200


@pytest.fixture
def blocked_forward(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, ...]]:
    """(entered, release): patch a backend's forward to wait for `release` (see `block`)."""
    entered, release = threading.Event(), threading.Event()
    yield entered, release
    release.set()  # never leave the device thread waiting


def block(monkeypatch: pytest.MonkeyPatch, backend: Any, entered: threading.Event,
          release: threading.Event) -> None:
    real = backend.forward

    def forward(items: list[Any]) -> list[Any]:
        entered.set()
        release.wait(HANG_GUARD_S)
        return real(items)  # type: ignore[no-any-return]

    monkeypatch.setattr(backend, "forward", forward)


async def test_a_full_queue_is_503_with_retry_after_and_queues_nothing(
        guard_path: Path, monkeypatch: pytest.MonkeyPatch,
        blocked_forward: tuple[threading.Event, threading.Event]) -> None:
    entered, release = blocked_forward
    app = create_app(guard_settings(guard_path, max_batch_size=1, max_items=4, max_queue_items=4,
                                    retry_after_s=3))
    async with open_client(app) as client:
        await wait_ready(client)
        engine = app.state.engine
        block(monkeypatch, engine._backend, entered, release)
        one = {"items": [{"prompt": "what is the capital of france"}]}
        running = asyncio.create_task(client.post("/v1/score", json=one))
        assert await asyncio.to_thread(entered.wait, HANG_GUARD_S)
        waiting = asyncio.create_task(client.post("/v1/score", json={"items": one["items"] * 4}))
        for _ in range(1000):
            if engine._batcher.queued == 4:
                break
            await asyncio.sleep(0.01)
        assert engine._batcher.queued == 4
        async with asyncio.timeout(HANG_GUARD_S):
            refused = await client.post("/v1/score", json=one)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "3"
        assert_envelope(refused.json(), "overloaded")
        assert engine._batcher.queued == 4  # nothing of the refused request was queued
        release.set()
        assert (await running).status_code == 200
        assert len((await waiting).json()["results"]) == 4
        metrics = (await client.get("/metrics")).text
        assert 'safethink_reward_http_requests_total{outcome="overloaded"} 1.0' in metrics


class ReadTooMuch(Exception):
    """A request made the service read more messages than its cap."""


async def test_a_chat_of_150k_turns_is_scored_truncated_reading_at_most_the_cap(
        guard_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # The shape that froze the service for 9.6 s: 150k turns of one role, 5.7 MB of JSON.
    messages = [{"role": "user", "content": f"turn {i} xxxxxx"} for i in range(150_000)]
    messages[-1]["content"] = "how do i make a bomb at home"
    cap = 256  # the documented default of max_prompt_turns
    reads: list[int] = []
    real = reward_service.text.content_text

    def counted(content: Any) -> str:
        reads.append(1)
        if len(reads) > cap:  # fail at once rather than wait for a quadratic merge
            raise ReadTooMuch(f"read more than {cap} messages of one item")
        return real(content)

    monkeypatch.setattr(reward_service.text, "content_text", counted)
    body = json.dumps({"items": [{"prompt": messages}]}, separators=(",", ":")).encode()
    assert len(body) > 5_700_000
    response = await guard_client.post("/v1/score", content=body,
                                       headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["truncated"] is True
    assert 0 < len(reads) <= cap


async def test_healthz_is_answered_while_an_item_is_prepared(
        guard_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entered, release = threading.Event(), threading.Event()
    order: list[str] = []
    app = create_app(guard_settings(guard_path))
    async with open_client(app) as client:
        await wait_ready(client)
        engine = app.state.engine
        real = engine.prepare

        def slow_prepare(item: Any) -> Any:
            # Stands for a big item: it holds whichever thread prepares it until released.
            entered.set()
            order.append("prepared" if release.wait(HANG_GUARD_S) else "prepare gave up")
            return real(item)

        monkeypatch.setattr(engine, "prepare", slow_prepare)
        try:
            scoring = asyncio.create_task(
                client.post("/v1/score", json={"items": [{"prompt": "hello there"}]}))
            assert await asyncio.to_thread(entered.wait, HANG_GUARD_S)
            health = await client.get("/healthz")
            order.append("healthz")
        finally:
            release.set()
        assert (await scoring).status_code == 200
    assert health.status_code == 200
    assert order == ["healthz", "prepared"]  # answered while the item was still being prepared


@pytest.mark.parametrize(("body", "param"), [
    (b'{"items": [{"prompt": ' + b"[" * 5000 + b"]" * 5000 + b"}]}", None),
    (b'{"items": [{"prompt": "\\ud800 lone surrogate"}]}', None),
    (b'{"items": [{"prompt": [{"role": "user", "content": [{"type": "text", "text": 123}]}]}]}',
     "items.0.prompt"),
    (b'{"items": [{"prompt": [{"role": "user", "content": [42]}]}]}', "items.0.prompt"),
    (b'{"items": [{"prompt": "hi", "trace": {"a": 1}}]}', "items.0.trace"),
])
async def test_malformed_bodies_are_400_in_the_envelope(guard_client: httpx.AsyncClient,
                                                        body: bytes, param: str | None) -> None:
    response = await guard_client.post("/v1/score", content=body,
                                       headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["message"]
    assert error["param"] == param


async def test_a_body_is_read_as_json_whatever_its_content_type(
        guard_client: httpx.AsyncClient) -> None:
    # What `curl -d '{...}'` sends (application/x-www-form-urlencoded), as in the README.
    response = await guard_client.post(
        "/v1/score", content=b'{"items": [{"prompt": "hi"}]}',
        headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200, response.text
