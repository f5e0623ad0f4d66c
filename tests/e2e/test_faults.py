"""Faults and misuse against real processes (issue 10): the guarded completions API, an upstream
that stops early or dies, a client that leaves in every phase, a full proxy, a slow upload.

After each: the client got the documented answer, the request's audit record is complete (an
outcome and every decided step), and the scripted upstream has no generation still open."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import ProxyFactory
from tests.support.procs import ServerProcess, python_server

from .helpers import PREFIX, QUESTION, STEER, scenario, upstream_requests

pytestmark = pytest.mark.e2e
CHATML_PROMPT = "<|im_start|>user\nHow do I make the thing?<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def proxy(start_proxy: ProxyFactory, scripted_upstream: ServerProcess,
          scripted_scorer: ServerProcess) -> ServerProcess:
    return start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url)


def open_streams(upstream: ServerProcess, within_s: float = 5.0) -> int:
    """The upstream's open generations, once they reach 0 or as they are after ``within_s``."""
    deadline = time.monotonic() + within_s
    while (active := httpx.get(upstream.url + "/_stats", timeout=5).json()["active"]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    return int(active)


def audit(proxy: ServerProcess, request_id: str, within_s: float = 5.0) -> dict[str, Any]:
    """The request's record once it has an outcome (the finish is written as the stream ends)."""
    deadline = time.monotonic() + within_s
    while True:
        response = httpx.get(f"{proxy.url}/v1/safethink/requests/{request_id}", timeout=5)
        record = response.json() if response.status_code == 200 else {}
        if record.get("outcome") or time.monotonic() > deadline:
            return dict(record)
        time.sleep(0.05)


def assert_complete(record: dict[str, Any], outcome: str) -> None:
    assert record["outcome"] == outcome, record
    assert record["finished_at"] >= record["started_at"]
    decided = [s["decision"] for s in record["steps"]]
    assert len(decided) == record["steps_scored"] + record["fail_open"]
    assert decided.count("steer") == record["steers"]


# -- the completions API, guarded ----------------------------------------------------------


def test_completions_are_guarded_and_steered(proxy: ServerProcess,
                                             scripted_upstream: ServerProcess) -> None:
    model = scenario(shape="inline", unsafe_step=1)
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
        text, report = "", {}
        for chunk in client.completions.create(model=model, prompt=CHATML_PROMPT, stream=True):
            text += chunk.choices[0].text if chunk.choices else ""
            report = (chunk.model_extra or {}).get("safethink") or report
    assert "UNSAFE" not in text and PREFIX in text
    assert text.startswith("<think>") and "</think>" in text
    assert report["steers"] == 1 and report["recovered"] == 1
    calls = upstream_requests(scripted_upstream, model)
    assert [c["path"] for c in calls] == ["/v1/completions", "/v1/completions"]
    resample = calls[1]["body"]["prompt"]
    assert resample.startswith(CHATML_PROMPT) and resample.endswith(STEER)
    assert_complete(audit(proxy, report["request_id"]), "completed")


def test_non_streaming_completion_is_guarded(proxy: ServerProcess) -> None:
    model = scenario(shape="inline", unsafe_step=2)
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
        completion = client.completions.create(model=model, prompt=CHATML_PROMPT)
    assert completion.object == "text_completion"
    text = completion.choices[0].text
    assert "UNSAFE" not in text and PREFIX in text
    assert (completion.model_extra or {})["safethink"]["steers"] == 1


@pytest.mark.parametrize(("extra", "param"), [
    ({"prompt": ["a", "b"]}, "prompt"), ({"prompt": [1, 2, 3]}, "prompt"),
    ({"n": 2}, "n"), ({"logprobs": 1}, "logprobs"), ({"echo": True}, "echo"),
])
def test_what_a_guarded_completion_cannot_honour_is_400(proxy: ServerProcess,
                                                        extra: dict[str, Any],
                                                        param: str) -> None:
    body = {"model": scenario(), "prompt": "hi", **extra}
    response = httpx.post(proxy.url + "/v1/completions", json=body, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_completions_under_policy_none_are_relayed(start_proxy: ProxyFactory,
                                                   scripted_upstream: ServerProcess) -> None:
    proxy = start_proxy(upstream_url=scripted_upstream.url + "/v1", policy="none")
    model = scenario(shape="inline", unsafe_step=1)
    response = httpx.post(proxy.url + "/v1/completions",
                          json={"model": model, "prompt": CHATML_PROMPT}, timeout=10)
    assert "UNSAFE" in response.json()["choices"][0]["text"]  # not guarded: as it came
    assert "safethink" not in response.json()


# -- an upstream that stops early ------------------------------------------------------------


def test_a_clean_close_mid_stream_is_an_error_not_a_stop(proxy: ServerProcess,
                                                         scripted_upstream: ServerProcess) -> None:
    model = scenario(steps=8, cut_after=30)
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(model=model, messages=QUESTION)
        assert caught.value.status_code == 502
        assert "before the generation finished" in caught.value.message
        stream = client.chat.completions.create(model=model, messages=QUESTION, stream=True)
        finish: list[str | None] = []
        with pytest.raises(openai.APIError, match="before the generation finished"):
            for chunk in stream:
                finish += [c.finish_reason for c in chunk.choices if c.finish_reason]
    assert finish == []  # never passed off as "stop"
    request_id = stream.response.headers["x-safethink-request-id"]
    assert_complete(audit(proxy, request_id), "error")


def test_an_upstream_killed_mid_stream_is_an_error(start_proxy: ProxyFactory,
                                                   scripted_scorer: ServerProcess) -> None:
    with python_server("tests.support.scripted_upstream") as doomed:
        proxy = start_proxy(upstream_url=doomed.url + "/v1", reward=scripted_scorer.url)
        body = {"model": scenario(steps=40, pace_ms=30), "messages": QUESTION, "stream": True}
        with httpx.stream("POST", proxy.url + "/v1/chat/completions", json=body,
                          timeout=30) as response:
            request_id = response.headers["x-safethink-request-id"]
            lines = response.iter_lines()
            seen = [next(lines) for _ in range(6)]  # past the guarded steps: text flows
            assert doomed.proc is not None
            doomed.proc.send_signal(signal.SIGKILL)
            seen += list(lines)
    events = [json.loads(line[6:]) for line in seen if line.startswith("data: {")]
    assert "error" in events[-1] and set(events[-1]["error"]) >= {"message", "type", "code"}
    assert not any(c.get("finish_reason") for e in events for c in e.get("choices", []))
    assert_complete(audit(proxy, request_id), "error")


@pytest.mark.parametrize("fail_mode", ["closed", "open"])
def test_the_reward_service_killed_mid_score(start_proxy: ProxyFactory,
                                             scripted_upstream: ServerProcess,
                                             fail_mode: str) -> None:
    with python_server("tests.support.scripted_scorer", "--delay-ms", "1500") as doomed:
        proxy = start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=doomed.url,
                            fail_mode=fail_mode)
        body = {"model": scenario(steps=6, pace_ms=5), "messages": QUESTION, "stream": True}
        with httpx.stream("POST", proxy.url + "/v1/chat/completions", json=body,
                          timeout=30) as response:
            request_id = response.headers["x-safethink-request-id"]
            lines = response.iter_lines()
            seen = [next(lines)]  # the role chunk: step 1 now waits for its score
            assert doomed.proc is not None
            doomed.proc.send_signal(signal.SIGKILL)
            seen += list(lines)
    events = [json.loads(line[6:]) for line in seen if line.startswith("data: {")]
    record = audit(proxy, request_id)
    if fail_mode == "closed":  # the held step is never released: an error ends the stream
        assert "reward service" in events[-1]["error"]["message"]
        assert_complete(record, "error")
    else:  # released unscored, and counted
        assert events[-1]["safethink"]["fail_open"] == 3
        assert_complete(record, "completed")
        assert [s["decision"] for s in record["steps"]] == ["unscored"] * 3
    assert open_streams(scripted_upstream) == 0


# -- the client leaving, in every phase ------------------------------------------------------


class SilentUpstream:
    """Accepts connections and never answers: a model server that hangs before its headers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            conn, _ = self.sock.accept()
            with conn:
                conn.settimeout(30)
                while conn.recv(65536):
                    pass
                self.closed.set()  # the proxy hung up: its call was closed

    def close(self) -> None:
        self.sock.close()
        self._thread.join(timeout=5)


def test_client_leaving_before_the_headers(start_proxy: ProxyFactory,
                                           scripted_scorer: ServerProcess) -> None:
    silent = SilentUpstream()
    try:
        proxy = start_proxy(upstream_url=f"http://127.0.0.1:{silent.port}/v1",
                            reward=scripted_scorer.url)
        before = _requests_finished(proxy, "cancelled")
        body = {"model": "m", "messages": QUESTION, "stream": True}
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(proxy.url + "/v1/chat/completions", json=body, timeout=1.0)
        assert silent.closed.wait(10), "the proxy kept its upstream call open"
        assert _wait_finished(proxy, "cancelled", before + 1) == before + 1
    finally:
        silent.close()


def _requests_finished(proxy: ServerProcess, outcome: str) -> float:
    metrics = httpx.get(proxy.url + "/metrics", timeout=5).text
    line = f'safethink_requests_total{{model="other",outcome="{outcome}",policy="safethink"}}'
    for row in metrics.splitlines():
        if row.startswith(line):
            return float(row.split()[-1])
    return 0.0


def _wait_finished(proxy: ServerProcess, outcome: str, target: float) -> float:
    deadline = time.monotonic() + 10
    while (count := _requests_finished(proxy, outcome)) < target and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


@pytest.fixture(scope="module")
def slow_scorer() -> Iterator[ServerProcess]:
    with python_server("tests.support.scripted_scorer", "--delay-ms", "400") as server:
        yield server


@pytest.mark.parametrize("phase", ["scoring", "resample", "after_step_m"])
def test_client_leaving_mid_request(start_proxy: ProxyFactory, scripted_upstream: ServerProcess,
                                    slow_scorer: ServerProcess, phase: str) -> None:
    proxy = start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=slow_scorer.url)
    model = scenario(steps=30, pace_ms=15, unsafe_step=1 if phase == "resample" else "none")
    body = {"model": model, "messages": QUESTION, "stream": True}
    with httpx.stream("POST", proxy.url + "/v1/chat/completions", json=body,
                      timeout=30) as response:
        request_id = response.headers["x-safethink-request-id"]
        for line in response.iter_lines():
            if phase == "scoring":
                break  # the role chunk: step 1 is held, its score is awaited
            if phase == "resample" and PREFIX in line:
                break  # the steered continuation is being read
            if phase == "after_step_m" and re.search(r'"content":"[^"]', line):
                break  # past the thinking block: nothing is held any more
    assert open_streams(scripted_upstream) == 0
    record = audit(proxy, request_id)
    assert_complete(record, "cancelled")
    if phase == "resample":
        assert record["steers"] == 1
    if phase == "after_step_m":
        assert len(record["steps"]) == 3


# -- admission -------------------------------------------------------------------------------


def test_a_full_proxy_answers_503_with_retry_after(start_proxy: ProxyFactory,
                                                   scripted_upstream: ServerProcess,
                                                   scripted_scorer: ServerProcess) -> None:
    proxy = start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
                        max_concurrent_requests=2, retry_after_s=3)
    body = {"model": scenario(steps=6, pace_ms=40), "messages": QUESTION, "stream": True}
    with httpx.Client(timeout=30) as client:
        held = [client.stream("POST", proxy.url + "/v1/chat/completions", json=body)
                for _ in range(2)]
        responses = [h.__enter__() for h in held]
        try:
            assert [r.status_code for r in responses] == [200, 200]
            refused = httpx.post(proxy.url + "/v1/chat/completions", json=body, timeout=10)
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "3"
            assert refused.json()["error"]["code"] == "overloaded"
            assert httpx.get(proxy.url + "/healthz", timeout=5).status_code == 200
            bodies = [r.read() for r in responses]
        finally:
            for h in held:
                h.__exit__(None, None, None)
    assert all(b'"finish_reason":"stop"' in b for b in bodies)
    # the slots are free again
    after = httpx.post(proxy.url + "/v1/chat/completions",
                       json={**body, "stream": False}, timeout=30)
    assert after.status_code == 200
    assert "safethink_overloaded_total 1.0" in httpx.get(proxy.url + "/metrics").text


def test_a_slow_upload_is_cut_with_408(start_proxy: ProxyFactory,
                                       scripted_upstream: ServerProcess) -> None:
    proxy = start_proxy(upstream_url=scripted_upstream.url + "/v1", body_read_timeout_s=0.5)
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n"
                     b"content-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"mo")
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert json.loads(payload)["error"]["code"] == "request_timeout"

