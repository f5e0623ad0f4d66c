"""What a client sees when something is wrong: its request, the upstream, the reward service,
or the client itself going away."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.conftest import ProxyFactory
from tests.support.procs import ServerProcess, free_port, python_server

from .helpers import (
    QUESTION,
    cancelled_streams,
    read_completion,
    read_stream,
    scenario,
    wait_cancelled,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def proxy(start_proxy: ProxyFactory, scripted_upstream: ServerProcess,
          scripted_scorer: ServerProcess) -> ServerProcess:
    return start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
                       max_body_bytes=100_000)


@pytest.fixture(scope="module")
def client(proxy: ServerProcess) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="unused", max_retries=0) as client:
        yield client


def assert_openai_error(response: httpx.Response, status: int, match: str) -> None:
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert match in error["message"]


@pytest.mark.parametrize(("body", "status", "match"), [
    (b"{not json", 400, "not valid JSON"),
    (b"[1, 2]", 400, "JSON object"),
    (b'{"model": "m"}', 400, "messages"),
    (b'{"model": "m", "messages": "hi"}', 400, "messages"),
    (b'{"model": "m", "messages": [{"role": "wizard", "content": "hi"}]}', 400, "role"),
    (b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "n": 2}', 400, "n > 1"),
    (b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "logprobs": true}', 400,
     "logprobs"),
    (b'{"model": "m", "messages": [{"role": "user", "content": "hi"}],'
     b' "safethink": {"tau": 0.5}}', 400, "does not let a request set tau"),
    (b'{"model": "m", "messages": [{"role": "user", "content": "hi"}],'
     b' "safethink": {"colour": "red"}}', 400, "colour"),
])
def test_bad_requests_get_a_clear_openai_error(proxy: ServerProcess, body: bytes, status: int,
                                               match: str) -> None:
    response = httpx.post(proxy.url + "/v1/chat/completions", content=body,
                          headers={"content-type": "application/json"})
    assert_openai_error(response, status, match)


def test_oversized_body_is_413(proxy: ServerProcess) -> None:
    big = {"model": "m", "messages": [{"role": "user", "content": "x" * 200_000}]}
    assert_openai_error(httpx.post(proxy.url + "/v1/chat/completions", json=big), 413, "limit")


def test_unknown_policy_header_is_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="policy"):
        client.chat.completions.create(model=scenario(), messages=QUESTION,
                                       extra_headers={"X-SafeThink-Policy": "yolo"})


def test_unknown_route_is_404_in_openai_format(proxy: ServerProcess) -> None:
    assert_openai_error(httpx.get(proxy.url + "/v1/nothing"), 404, "Not Found")


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(("status", "error"), [(429, openai.RateLimitError),
                                               (500, openai.InternalServerError),
                                               (400, openai.BadRequestError)])
def test_upstream_errors_pass_through_with_their_status(client: openai.OpenAI, stream: bool,
                                                        status: int,
                                                        error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        client.chat.completions.create(model=scenario(fail=status), messages=QUESTION,
                                       stream=stream)
    assert caught.value.status_code == status  # type: ignore[attr-defined]


def test_upstream_unreachable_is_502(start_proxy: ProxyFactory,
                                     scripted_scorer: ServerProcess) -> None:
    proxy = start_proxy(upstream_url=f"http://127.0.0.1:{free_port()}/v1",
                        reward=scripted_scorer.url)
    response = httpx.post(proxy.url + "/v1/chat/completions",
                          json={"model": "m", "messages": QUESTION, "stream": True})
    assert_openai_error(response, 502, "cannot be reached")


def test_client_disconnect_cancels_the_upstream_call(client: openai.OpenAI, proxy: ServerProcess,
                                                     scripted_upstream: ServerProcess) -> None:
    before = cancelled_streams(scripted_upstream)
    stream = client.chat.completions.create(
        model=scenario(steps=300, pace_ms=20), messages=QUESTION, stream=True)
    with stream:
        for count, _ in enumerate(stream):
            if count == 20:  # past the held steps, mid-stream
                break
    assert wait_cancelled(scripted_upstream, before, within_s=5) == before + 1
    metrics = httpx.get(proxy.url + "/metrics").text
    assert "safethink_active_streams 0.0" in metrics


def test_client_giving_up_on_a_non_streaming_request_cancels_upstream(
        proxy: ServerProcess, scripted_upstream: ServerProcess) -> None:
    before = cancelled_streams(scripted_upstream)
    body = {"model": scenario(steps=300, pace_ms=20), "messages": QUESTION}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(proxy.url + "/v1/chat/completions", json=body, timeout=1.0)
    assert wait_cancelled(scripted_upstream, before, within_s=5) == before + 1


def test_client_disconnect_while_a_step_is_scored(start_proxy: ProxyFactory,
                                                  scripted_upstream: ServerProcess) -> None:
    with python_server("tests.support.scripted_scorer", "--delay-ms", "3000") as slow:
        proxy = start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=slow.url)
        before = cancelled_streams(scripted_upstream)
        body = {"model": scenario(steps=50, pace_ms=20), "messages": QUESTION, "stream": True}
        with httpx.stream("POST", proxy.url + "/v1/chat/completions", json=body) as response:
            assert response.status_code == 200
            next(response.iter_lines())  # the role chunk: step 1 is now being scored
        # well before the 3 s score would have come back
        assert wait_cancelled(scripted_upstream, before, within_s=2.5) == before + 1


@pytest.fixture(scope="module")
def failing_scorer() -> Iterator[ServerProcess]:
    with python_server("tests.support.scripted_scorer", "--fail-status", "503") as server:
        yield server


@pytest.mark.parametrize("down", ["unreachable", "503"])
def test_reward_service_down_fail_closed(start_proxy: ProxyFactory,
                                         scripted_upstream: ServerProcess,
                                         failing_scorer: ServerProcess, down: str) -> None:
    reward = f"http://127.0.0.1:{free_port()}" if down == "unreachable" else failing_scorer.url
    proxy = start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=reward)
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
        # non-streaming: a 503 in OpenAI's format
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(model=scenario(), messages=QUESTION)
        assert caught.value.status_code == 503
        assert "reward service" in caught.value.message
        # streaming: the held step is never released; an error event ends the stream
        stream = client.chat.completions.create(model=scenario(), messages=QUESTION,
                                                stream=True)
        with pytest.raises(openai.APIError, match="reward service"):
            read_stream(stream)


def test_reward_service_slow_hits_the_score_timeout(start_proxy: ProxyFactory,
                                                    scripted_upstream: ServerProcess) -> None:
    with python_server("tests.support.scripted_scorer", "--delay-ms", "2000") as slow:
        proxy = start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=slow.url,
                            score_timeout=0.3)
        with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
            with pytest.raises(openai.APIStatusError) as caught:
                client.chat.completions.create(model=scenario(), messages=QUESTION)
        assert caught.value.status_code == 503
        assert "did not answer in 0.3s" in caught.value.message


def test_reward_service_down_fail_open(start_proxy: ProxyFactory,
                                       scripted_upstream: ServerProcess,
                                       failing_scorer: ServerProcess) -> None:
    proxy = start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=failing_scorer.url,
                        fail_mode="open")
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
        reply = read_stream(client.chat.completions.create(
            model=scenario(unsafe_step=2), messages=QUESTION, stream=True))
        assert reply.finish_reason == "stop"
        assert reply.report["fail_open"] == 3 and reply.report["steps_scored"] == 0
        # released unscored: the unsafe step went through, and that is counted
        assert "UNSAFE" in reply.reasoning
        completion = read_completion(client.chat.completions.create(
            model=scenario(), messages=QUESTION))
        assert completion.report["fail_open"] == 3
    metrics = httpx.get(proxy.url + "/metrics").text
    assert 'safethink_fail_mode_events_total{mode="open"} 6.0' in metrics
