"""``POST /v1/messages`` end to end, what becomes of the request: its translation to a chat
completion upstream, its refusals in Anthropic's error envelope, the keys and the admission
limit. The same processes as test_messages.py: the anthropic SDK -> the proxy -> the scripted
upstream, scored by the scripted scorer, on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest

from tests.conftest import ProxyFactory
from tests.support.procs import ServerProcess
from tests.support.scripted_script import ANSWER

from .helpers import scenario, upstream_requests
from .messages_helpers import QUESTION, raw_events, sdk_client

pytestmark = pytest.mark.e2e
KEY = "messages-test-key"


@pytest.fixture(scope="module")
def client(proxy: ServerProcess) -> Iterator[anthropic.Anthropic]:
    yield from sdk_client(proxy)


@pytest.fixture(scope="module")
def keyed(start_proxy: ProxyFactory, scripted_upstream: ServerProcess,
          scripted_scorer: ServerProcess) -> ServerProcess:
    """A proxy that needs a key, serves one model request at a time, takes 4 kB bodies."""
    return start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
                       api_keys=[KEY], max_concurrent_requests=1, retry_after_s=2,
                       max_body_bytes=4096)


# -- the request upstream -------------------------------------------------------------------


def test_the_request_is_translated_to_chat(client: anthropic.Anthropic,
                                           scripted_upstream: ServerProcess) -> None:
    model = scenario()
    image = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
    client.messages.create(
        model=model, max_tokens=4096, stop_sequences=["###"],
        # older SDKs' and raw clients' sampling fields (this SDK dropped them from its signature)
        extra_body={"temperature": 0.5, "top_p": 0.9, "top_k": 20},
        system=[{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Be kind."}],
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                         {"type": "image", "source": image}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "an old thought", "signature": "x"},
                {"type": "text", "text": "A picture."}]},
            {"role": "user", "content": [
                {"type": "image", "source": {"type": "url", "url": "https://e.test/a.png"}},
                {"type": "text", "text": "And this?"}]},
        ])
    body = upstream_requests(scripted_upstream, model)[0]["body"]
    assert body["messages"] == [
        {"role": "system", "content": "Be brief.\n\nBe kind."},
        {"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]},
        {"role": "assistant", "content": "A picture."},
        {"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://e.test/a.png"}},
            {"type": "text", "text": "And this?"}]},
    ]
    assert (body["temperature"], body["top_p"], body["top_k"], body["stop"]) == (
        0.5, 0.9, 20, ["###"])
    # nothing of Anthropic's own goes upstream
    assert not {"system", "stop_sequences", "thinking", "metadata"} & body.keys()


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "param"), [
    ({"messages": QUESTION}, "max_tokens"),
    ({"messages": QUESTION, "max_tokens": "5"}, "max_tokens"),
    ({"messages": QUESTION, "max_tokens": 0}, "max_tokens"),
    ({"messages": "hello", "max_tokens": 5}, "messages"),
    ({"messages": [], "max_tokens": 5}, "messages"),
    ({"messages": [{"role": "system", "content": "hi"}], "max_tokens": 5}, "messages.0.role"),
    ({"messages": [{"role": "user", "content": 7}], "max_tokens": 5}, "messages.0.content"),
    ({"messages": QUESTION, "max_tokens": 5, "temperature": 1.5}, "temperature"),
    ({"messages": QUESTION, "max_tokens": 5, "stream": "yes"}, "stream"),
    ({"messages": QUESTION, "max_tokens": 5, "thinking": {"type": "enabled"}}, "thinking"),
    ({"messages": QUESTION, "max_tokens": 5, "system": [{"type": "image"}]}, "system.0.type"),
    ({"messages": QUESTION, "max_tokens": 5, "tools": [{"name": "f"}]}, "tools"),
    ({"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]}],
      "max_tokens": 5}, "messages.0.content.0.type"),
    ({"messages": [{"role": "user", "content": [{"type": "document"}]}], "max_tokens": 5},
     "messages.0.content.0.type"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": 3}]}],
      "max_tokens": 5}, "messages.0.content.0.text"),
    ({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "file"}}]}],
      "max_tokens": 5}, "messages.0.content.0.source"),
])
def test_bad_bodies_get_anthropics_envelope(proxy: ServerProcess, body: dict[str, Any],
                                            param: str) -> None:
    answer = httpx.post(proxy.url + "/v1/messages", json={"model": scenario(), **body},
                        timeout=10)
    assert answer.status_code == 400
    error = answer.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert param in error["error"]["message"]
    assert set(error) == {"type", "error"} and set(error["error"]) == {"type", "message"}


def test_the_sdk_raises_bad_request_with_the_message(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(model=scenario(), max_tokens=5,
                               messages=[{"role": "system", "content": "hi"}])  # type: ignore[list-item]
    assert raised.value.status_code == 400
    assert "messages.0.role" in raised.value.message
    assert raised.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]


@pytest.mark.parametrize(("method", "path", "status", "kind"), [
    ("GET", "/v1/messages", 405, "invalid_request_error"),
    ("POST", "/v1/messages/count_tokens", 404, "not_found_error"),
])
def test_routing_errors_get_anthropics_envelope(proxy: ServerProcess, method: str, path: str,
                                                status: int, kind: str) -> None:
    answer = httpx.request(method, proxy.url + path, json={}, timeout=10)
    assert answer.status_code == status
    assert answer.json()["error"]["type"] == kind


def test_a_body_over_the_limit_is_request_too_large(keyed: ServerProcess) -> None:
    answer = httpx.post(keyed.url + "/v1/messages", headers={"x-api-key": KEY}, timeout=10,
                        json={"model": scenario(), "max_tokens": 5,
                              "messages": [{"role": "user", "content": "x" * 5000}]})
    assert answer.status_code == 413
    assert answer.json()["error"]["type"] == "request_too_large"


def test_an_upstream_error_status_keeps_its_status(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.RateLimitError) as raised:
        client.messages.create(model=scenario(fail=429), messages=QUESTION, max_tokens=5)
    assert raised.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]


def test_an_error_after_the_stream_started_is_an_error_event(proxy: ServerProcess,
                                                             client: anthropic.Anthropic) -> None:
    # the upstream stops after 12 events, with no finish_reason: a truncated answer
    events = raw_events(proxy, {"model": scenario(cut_after=12), "messages": QUESTION,
                                "max_tokens": 4096})
    names = [name for name, _ in events]
    assert names[:2] == ["message_start", "ping"]
    assert names[-1] == "error" and "message_stop" not in names
    error = events[-1][1]
    assert error["type"] == "error" and error["error"]["type"] == "api_error"
    assert "finish" in error["error"]["message"]
    with pytest.raises(anthropic.APIStatusError), client.messages.stream(
            model=scenario(cut_after=12), messages=QUESTION, max_tokens=4096) as stream:
        stream.get_final_message()

# -- keys and admission ----------------------------------------------------------------------


def test_a_missing_key_is_an_authentication_error(keyed: ServerProcess) -> None:
    body = {"model": scenario(), "messages": QUESTION, "max_tokens": 5}
    for headers in ({}, {"x-api-key": "wrong"}, {"x-api-key": ""}):
        answer = httpx.post(keyed.url + "/v1/messages", json=body, headers=headers, timeout=10)
        assert answer.status_code == 401
        error = answer.json()
        assert error["type"] == "error" and error["error"]["type"] == "authentication_error"
        assert "x-api-key" in error["error"]["message"]
    with anthropic.Anthropic(base_url=keyed.url, api_key="wrong", max_retries=0) as client, \
            pytest.raises(anthropic.AuthenticationError):
        client.messages.create(**body)


@pytest.mark.parametrize("how", ["x-api-key", "bearer"])
def test_the_right_key_works_in_either_header(keyed: ServerProcess, how: str) -> None:
    # the SDK sends api_key as x-api-key, auth_token as Authorization: Bearer
    credentials = {"api_key": KEY} if how == "x-api-key" else {"auth_token": KEY}
    with anthropic.Anthropic(base_url=keyed.url, max_retries=0, **credentials) as client:
        message = client.messages.create(model=scenario(), messages=QUESTION, max_tokens=4096)
    assert message.content[-1].text == ANSWER  # type: ignore[union-attr]
    # and a chat client's x-api-key too: one set of keys for every API
    answer = httpx.post(keyed.url + "/v1/chat/completions", headers={"x-api-key": KEY},
                        json={"model": scenario(), "messages": QUESTION}, timeout=30)
    assert answer.status_code == 200


def test_a_full_proxy_answers_overloaded_in_anthropics_envelope(keyed: ServerProcess) -> None:
    headers = {"x-api-key": KEY}
    body = {"model": scenario(steps=6, pace_ms=40), "messages": QUESTION, "max_tokens": 4096,
            "stream": True}
    with httpx.Client(timeout=30, headers=headers) as http, \
            http.stream("POST", keyed.url + "/v1/messages", json=body) as held:
        assert held.status_code == 200
        refused = http.post(keyed.url + "/v1/messages", json=body)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "2"
        assert refused.json()["error"]["type"] == "overloaded_error"
        assert refused.json()["type"] == "error"
        held.read()

