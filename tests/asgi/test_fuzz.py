"""Fuzzing the proxy's routes (issue 10): requests made by hypothesis, well-formed and not, sent
to the app in process (httpx's ASGI transport, lifespan run), its upstream and scorer the
scripted ones on loopback, both up.

Whatever comes in: no answer is a 5xx (the dependencies are up, so not even a 502-504), every
4xx is in OpenAI's error envelope, a streamed answer's in-band error is one too, and a request
the guard answered has a finished audit record. An exception that escapes the app reaches the
test as it is (``raise_app_exceptions``): a real client would have got a 500 or a cut stream.
Seeded (``derandomize``), a few hundred examples in all.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, get_args
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from proxy.app import create_app
from proxy.settings import POLICIES, OverridableField, Settings
from tests.support.procs import ServerProcess

from .fuzz_strategies import (
    MALFORMED,
    chat_bodies,
    completion_bodies,
    json_values,
    mutated,
    policy_headers,
    usually,
)

pytestmark = pytest.mark.e2e
CHATML = Path(__file__).parents[1] / "support" / "chatml.jinja"
FUZZ = settings(deadline=None, derandomize=True, database=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ENVELOPE = {"message", "type", "param", "code"}


class Proxy:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.request_ids: list[str] = []  # handed out so far: the audit route's input

    def __repr__(self) -> str:  # what hypothesis prints of a failing case
        return f"Proxy({len(self.request_ids)} request ids seen)"


@pytest.fixture(scope="module")
async def proxy(scripted_upstream: ServerProcess,
                scripted_scorer: ServerProcess) -> AsyncIterator[Proxy]:
    # Every policy and knob open to requests, with the widest bounds: the largest surface (the
    # deployment choices that close them are tested in test_app.py).
    app = create_app(Settings(
        upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
        allowed_policies=list(POLICIES), request_overrides=list(get_args(OverridableField)),
        override_tau_min=-1.0, override_steer_steps_min=0, override_resamples_min=0,
        override_fail_open=True, chat_template=CHATML, log_level="warning"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy",
                                     timeout=60) as client:
            yield Proxy(client)


# ---------------------------------------------------------------- what every answer must be


def assert_envelope(body: Any, where: str) -> None:
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), \
        f"{where}: not OpenAI's error envelope: {body!r:.300}"
    error = body["error"]
    assert set(error) >= ENVELOPE, f"{where}: the envelope lacks {ENVELOPE - set(error)}"
    assert isinstance(error["message"], str) and error["message"], f"{where}: no message"
    assert isinstance(error["type"], str), f"{where}: type {error['type']!r}"


def sse_payloads(data: bytes) -> list[bytes]:
    """The ``data:`` payloads of an SSE body, in order."""
    payloads = []
    for block in data.replace(b"\r\n", b"\n").split(b"\n\n"):
        lines = [line[5:].strip() for line in block.split(b"\n") if line.startswith(b"data:")]
        if lines:
            payloads.append(b"\n".join(lines))
    return payloads


async def check(proxy: Proxy, response: httpx.Response) -> None:
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    assert response.status_code < 500, f"{where}: {response.text[:500]}"
    code = None
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            pytest.fail(f"{where}: a 4xx that is not JSON: {response.text[:300]!r}")
        assert_envelope(body, where)
        code = body["error"]["code"]
    if currently_in_test_context():  # --hypothesis-show-statistics: how the answers spread
        route = re.sub(r"(/requests/).*", r"\1{id}", response.request.url.path)
        event(f"{response.request.method} {route} -> {response.status_code} {code or ''}")
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for payload in sse_payloads(response.content):
            if payload == b"[DONE]":
                continue
            try:
                chunk = json.loads(payload)
            except ValueError:
                pytest.fail(f"{where}: an SSE event that is not JSON: {payload[:300]!r}")
            if isinstance(chunk, dict) and "error" in chunk:
                assert_envelope(chunk, f"{where} (in-band)")
            if isinstance(chunk, dict) and chunk.get("safethink") and currently_in_test_context():
                event(f"steered: {chunk['safethink'].get('steers', 0) > 0}")
    request_id = response.headers.get("x-safethink-request-id")
    if request_id:
        proxy.request_ids.append(request_id)
        if response.headers.get("x-safethink-policy") not in (None, "none"):
            # The answer is complete (the ASGI transport returns when the app is done): the
            # request's record must be finished too.
            record = await proxy.client.get(f"/v1/safethink/requests/{request_id}")
            assert record.status_code == 200, f"{where}: no audit record of {request_id}"
            assert "outcome" in record.json(), f"{where}: unfinished record {record.json()}"


async def post(proxy: Proxy, path: str, body: Any,
               headers: dict[str, str] | None = None) -> httpx.Response:
    # Encoded here, not by httpx: ensure_ascii writes a lone surrogate as its \ud800 escape,
    # and NaN or Infinity go out as Python's json writes them (other clients send them too).
    content = json.dumps(body).encode() if not isinstance(body, bytes) else body
    response = await proxy.client.post(
        path, content=content, headers={"content-type": "application/json", **(headers or {})})
    await check(proxy, response)
    return response


def streams_asked(stream: Any) -> bool | None:
    """What a ``stream`` value means once validated as a bool; None when it is not one."""
    try:
        return TypeAdapter(bool).validate_python(stream)
    except ValidationError:
        return None


# ---------------------------------------------------------------- the routes


@settings(FUZZ, max_examples=150)
@given(body=usually(chat_bodies, mutated(chat_bodies)), headers=policy_headers)
async def test_chat_completions(proxy: Proxy, body: Any, headers: dict[str, str]) -> None:
    response = await post(proxy, "/v1/chat/completions", body, headers)
    if response.status_code == 200 and isinstance(body, dict):
        # The answer streams exactly when the validated `stream` says so, whatever the policy.
        streamed = response.headers["content-type"].startswith("text/event-stream")
        assert streamed == bool(streams_asked(body.get("stream", False))), \
            f"stream {body.get('stream')!r} gave content-type {response.headers['content-type']}"


@settings(FUZZ, max_examples=60)
@given(body=usually(completion_bodies, mutated(completion_bodies)),
       headers=policy_headers)
async def test_completions(proxy: Proxy, body: Any, headers: dict[str, str]) -> None:
    await post(proxy, "/v1/completions", body, headers)


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions"])
@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_bodies(proxy: Proxy, path: str, body: bytes) -> None:
    await post(proxy, path, body)


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions"])
@pytest.mark.parametrize("stream", [True, False])
async def test_stream_given_as_a_string_is_read_as_its_bool(proxy: Proxy, path: str,
                                                            stream: bool) -> None:
    """``"stream": "false"`` is the validated False (hole 15), under every policy."""
    body = {"model": "scripted/steps=1", "stream": str(stream).lower(), "prompt": "hi",
            "messages": [{"role": "user", "content": "hi"}]}
    for policy in ("none", "safethink"):
        response = await post(proxy, path, body, {"x-safethink-policy": policy})
        if response.status_code == 200:
            streamed = response.headers["content-type"].startswith("text/event-stream")
            assert streamed is stream, f"policy {policy}: {response.headers['content-type']}"
        else:  # or refused as a wrong type, in the envelope
            assert response.status_code == 400, f"policy {policy}: {response.text[:300]}"


@settings(FUZZ, max_examples=60)
@given(data=st.data())
async def test_bodies_of_random_bytes(proxy: Proxy, data: st.DataObject) -> None:
    body = data.draw(st.one_of(
        st.binary(max_size=200),
        st.builds(lambda v: json.dumps(v).encode(), json_values),
        st.builds(lambda v, cut: json.dumps(v).encode()[:cut], chat_bodies,
                  st.integers(0, 300)),
    ))
    path = data.draw(st.sampled_from(["/v1/chat/completions", "/v1/completions"]))
    await post(proxy, path, body)


OPS_PATHS = ["/healthz", "/readyz", "/metrics", "/v1/models", "/v1/safethink/stats"]


@settings(FUZZ, max_examples=80)
@given(data=st.data())
async def test_operations_and_audit_routes(proxy: Proxy, data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(["ops", "stats", "audit", "audit-seen", "method"]))
    params: dict[str, str] = {}
    method = "GET"
    if kind == "ops":
        path = data.draw(st.sampled_from(OPS_PATHS))
        params = data.draw(st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=2))
    elif kind == "stats":
        path = "/v1/safethink/stats"
        window = data.draw(st.one_of(st.integers(-10, 10**12), st.sampled_from(
            ["", "60", "3600.5", "1e3", "NaN", "-0", "abc", "9" * 400]), st.text(max_size=10)))
        params = {"window_s": str(window)}
    elif kind == "audit":
        raw = data.draw(st.one_of(st.text(min_size=1, max_size=40), st.sampled_from(
            ["..", "%00", "a/b", "x" * 5000, " ", "\ud800"])))
        path = "/v1/safethink/requests/" + quote(raw.encode("utf-8", "surrogatepass"), safe="")
    elif kind == "audit-seen":
        seen = proxy.request_ids or ["none-yet"]
        path = f"/v1/safethink/requests/{seen[data.draw(st.integers(0, len(seen) - 1))]}"
    else:
        method = data.draw(st.sampled_from(["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]))
        path = data.draw(st.sampled_from([*OPS_PATHS, "/v1/chat/completions", "/v1/completions",
                                          "/v1/nope", "/"]))
        if path in ("/v1/chat/completions", "/v1/completions") and method == "POST":
            method = "PUT"
    response = await proxy.client.request(method, path, params=params)
    await check(proxy, response)
    if kind == "ops" and path == "/readyz":
        assert response.status_code == 200, response.text  # both dependencies are up
