"""Holes closed in the proxy's request handling (issue 10), shown in process: malformed bodies,
what error bodies tell a client, the validated ``stream`` flag, relayed headers, and what a score
call sends. Each test fails on the code before the fix."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from proxy.scoring import ScorePrompt
from tests.asgi.test_app import running
from tests.e2e.helpers import scenario
from tests.support.procs import ServerProcess, free_port

ENVELOPE = {"message", "type", "param", "code"}
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get(url)


def assert_envelope(response: httpx.Response, status: int, match: str = "") -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == ENVELOPE
    assert match in error["message"]
    return dict(error)


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions"])
@pytest.mark.parametrize(("raw", "match"), [
    (b'{"a":' * 5000 + b"1" + b"}" * 5000, "nested too deeply"),
    (b'{"model": "m", "messages": [{"role": "user", "content": "\\ud800"}]}', "surrogate"),
    (b'{"model": "m", "prompt": "\\udfff x"}', "surrogate"),
])
async def test_malformed_json_is_400_not_500(path: str, raw: bytes, match: str) -> None:
    async with running() as client:
        response = await client.post(path, content=raw,
                                     headers={"content-type": "application/json"})
    assert_envelope(response, 400, match)


async def test_a_text_part_that_is_not_text_is_400() -> None:
    body = {"model": "m", "messages": [{"role": "user",
                                        "content": [{"type": "text", "text": 123}]}]}
    async with running() as client:
        response = await client.post("/v1/chat/completions", json=body)
    error = assert_envelope(response, 400, "must be a string")
    assert error["param"] == "messages.0.content"


async def test_client_errors_are_counted_in_the_metrics() -> None:
    async with running() as client:
        await client.post("/v1/chat/completions", content=b"{not json")
        metrics = (await client.get("/metrics")).text
    assert 'safethink_client_errors_total{type="invalid_request_error"} 1.0' in metrics


async def test_upstream_address_and_credentials_never_reach_the_client() -> None:
    port = free_port()
    upstream = f"http://alice:s3cret-pw@127.0.0.1:{port}/v1"
    async with running(upstream_url=upstream) as client:
        answers = [
            await client.post("/v1/chat/completions", json=CHAT),
            await client.post("/v1/chat/completions", json={**CHAT, "stream": True}),
            await client.get("/v1/models"),
        ]
    for response in answers:
        assert_envelope(response, 502, "cannot be reached")
        for secret in ("alice", "s3cret-pw", "127.0.0.1", str(port)):
            assert secret not in response.text


async def test_reward_service_address_never_reaches_the_client(
    scripted_upstream: ServerProcess,
) -> None:
    port = free_port()
    async with running(upstream_url=scripted_upstream.url + "/v1",
                       reward=f"http://127.0.0.1:{port}") as client:
        response = await client.post("/v1/chat/completions",
                                     json={**CHAT, "model": scenario(steps=2)})
    assert_envelope(response, 503, "reward service cannot be reached")
    assert "127.0.0.1" not in response.text and str(port) not in response.text


async def test_a_string_stream_flag_is_not_a_request_to_stream(
    scripted_upstream: ServerProcess,
) -> None:
    body = {**CHAT, "model": scenario(steps=2), "stream": "false"}
    async with running(upstream_url=scripted_upstream.url + "/v1", policy="none") as client:
        response = await client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["object"] == "chat.completion"
    sent = (await get(scripted_upstream.url + "/_requests")).json()[-1]["body"]
    assert sent["stream"] is False


async def test_only_allow_listed_upstream_headers_are_relayed(
    scripted_upstream: ServerProcess,
) -> None:
    direct = await get(scripted_upstream.url + "/v1/models")
    assert "server" in direct.headers and "date" in direct.headers  # uvicorn's own
    async with running(upstream_url=scripted_upstream.url + "/v1", policy="none") as client:
        models = await client.get("/v1/models")
        chat = await client.post("/v1/chat/completions",
                                 json={**CHAT, "model": scenario(steps=2)})
    for response in (models, chat):
        assert response.status_code == 200
        assert "server" not in response.headers and "date" not in response.headers
        assert response.headers["content-type"] == "application/json"


def test_the_score_prompt_is_what_the_scorer_reads() -> None:
    turns = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i} " * 50}
             for i in range(3000)]
    messages = [{"role": "system", "content": "be nice"}, *turns]
    prompt = ScorePrompt.of(messages, 8_000)
    assert sum(len(m["content"]) for m in prompt.messages) <= 8_000 + 64
    assert prompt.messages[-1] == turns[-1]  # the newest turn, whole
    assert all(m["role"] in ("user", "assistant") for m in prompt.messages)
    assert json.loads(prompt.json) == prompt.messages


def test_many_empty_turns_are_capped_in_count() -> None:
    turns = [{"role": "user", "content": ""}] * 150_000 + [{"role": "user", "content": "hi"}]
    prompt = ScorePrompt.of(turns, 8_000, 256)
    assert len(prompt.messages) == 256 and prompt.messages[-1]["content"] == "hi"


def test_one_huge_turn_keeps_its_head_and_tail() -> None:
    text = "HEAD " + "x" * 1_000_000 + " TAIL"
    (message,) = ScorePrompt.of([{"role": "user", "content": text}], 8_000).messages
    assert len(message["content"]) <= 8_000
    assert message["content"].startswith("HEAD ") and message["content"].endswith(" TAIL")


async def test_a_huge_prompt_is_sent_to_the_scorer_cut_and_the_same_every_step(
    scripted_upstream: ServerProcess, scripted_scorer: ServerProcess,
) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        await client.post(scripted_scorer.url + "/_reset")
    turns = [{"role": "user", "content": f"question {i} " + "y" * 1000} for i in range(2000)]
    body = {"model": scenario(steps=4), "messages": turns}
    async with running(upstream_url=scripted_upstream.url + "/v1",
                       reward=scripted_scorer.url, max_body_bytes=10_000_000) as client:
        response = await client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    calls = (await get(scripted_scorer.url + "/_calls")).json()
    assert len(calls) == 3  # steer_steps
    prompts = [json.dumps(call["prompt"]) for call in calls]
    assert len(set(prompts)) == 1
    sent = calls[0]["prompt"]
    assert sum(len(m["content"]) for m in sent) <= 16_000 + 64  # SAFETHINK_SCORE_PROMPT_CHARS
    assert sent[-1] == turns[-1]
