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
from tests.support.procs import ServerProcess
from tests.support.servers import ModelServer

from .helpers import PREFIX, QUESTION, read_completion, read_stream

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def client(start_proxy: ProxyFactory, tiny_transformers: ModelServer,
           prefix_scorer: ServerProcess) -> Iterator[openai.OpenAI]:
    proxy = start_proxy(upstream_url=tiny_transformers.base_url, reward=prefix_scorer.url,
                        tokenizer=str(tiny_transformers.tokenizer_dir), max_step_chars=40,
                        allowed_policies=["safethink", "none"], request_overrides=["policy"])
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
        yield client


def test_pass_through(client: openai.OpenAI, tiny_transformers: ModelServer) -> None:
    reply = read_stream(client.chat.completions.create(
        model=tiny_transformers.model, messages=QUESTION, max_tokens=20, seed=1, stream=True,
        extra_headers={"X-SafeThink-Policy": "none"}))
    assert reply.finish_reason in {"stop", "length"}
    assert reply.content or reply.reasoning


@pytest.mark.parametrize("stream", [True, False])
def test_forced_steer_reissues_through_completions(client: openai.OpenAI,
                                                   tiny_transformers: ModelServer,
                                                   stream: bool) -> None:
    kwargs = {"model": tiny_transformers.model, "messages": QUESTION, "max_tokens": 60, "seed": 3}
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
