"""Against a real model server: `transformers serve` running a tiny random-weight model built
offline (its text is noise, but the protocol, the tokenizer and the chat template are real).

The scorer here rejects every trace until the steering prefix is in it, which forces a steer on
the first step: `transformers serve` refuses chat continuation (422 on unknown fields), so the
proxy must fall back to completions mode, rendering the prompt with the model's own template.
"""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from tests.conftest import ProxyFactory
from tests.support.procs import ServerProcess, python_server
from tests.support.servers import ModelServer, tiny_model_dir, transformers_serve

from .helpers import PREFIX, QUESTION, read_completion, read_stream

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def model_server() -> Iterator[ModelServer]:
    with transformers_serve(tiny_model_dir()) as server:
        yield server


@pytest.fixture(scope="module")
def prefix_scorer() -> Iterator[ServerProcess]:
    with python_server("tests.support.scripted_scorer", "--unsafe-unless", PREFIX) as server:
        yield server


@pytest.fixture(scope="module")
def client(start_proxy: ProxyFactory, model_server: ModelServer,
           prefix_scorer: ServerProcess) -> Iterator[openai.OpenAI]:
    proxy = start_proxy(upstream_url=model_server.base_url, reward=prefix_scorer.url,
                        tokenizer=str(model_server.tokenizer_dir), max_step_chars=40)
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
        yield client


def test_pass_through(client: openai.OpenAI, model_server: ModelServer) -> None:
    reply = read_stream(client.chat.completions.create(
        model=model_server.model, messages=QUESTION, max_tokens=20, seed=1, stream=True,
        extra_headers={"X-SafeThink-Policy": "none"}))
    assert reply.finish_reason in {"stop", "length"}
    assert reply.content or reply.reasoning


@pytest.mark.parametrize("stream", [True, False])
def test_forced_steer_reissues_through_completions(client: openai.OpenAI,
                                                   model_server: ModelServer,
                                                   stream: bool) -> None:
    kwargs = {"model": model_server.model, "messages": QUESTION, "max_tokens": 60, "seed": 3}
    if stream:
        reply = read_stream(client.chat.completions.create(
            **kwargs, stream=True, stream_options={"include_usage": True}))  # type: ignore[call-overload]
    else:
        reply = read_completion(client.chat.completions.create(**kwargs))  # type: ignore[call-overload]
    report = reply.report
    assert report["steers"] >= 1 and report["recovered"] == 1
    assert report["continuation"] == "completions"
    assert report["scores"][0] == -1.0 and report["scores"][-1] == 1.0
    assert PREFIX in reply.reasoning + reply.content
    assert reply.finish_reason in {"stop", "length"}
    assert reply.usage is not None and reply.usage["completion_tokens"] > 0
