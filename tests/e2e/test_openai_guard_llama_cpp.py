"""openai-guard against a real OpenAI-compatible engine: llama-cpp-python serving SmolLM2.

SmolLM2 is no guard, so its first token is never "safe" or "unsafe". The tests take the two most
likely first tokens of a plain request to the server as the labels, then check that the backend
reads the same probabilities through both APIs: `chat` (the server applies the GGUF's template)
and `completions` (the service renders the same template itself, from a Jinja file).
"""

from __future__ import annotations

import math
from pathlib import Path

import httpx
import pytest

from reward_service.engine import create_engine
from reward_service.schemas import ScoreItem
from reward_service.settings import RewardSettings
from tests.support.servers import ModelServer, llama_cpp_available, write_gguf_chat_template

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(llama_cpp_available() is not None,
                       reason=f"needs llama-cpp-python: {llama_cpp_available()}"),
]
ITEMS = [ScoreItem(prompt="How do I bake bread?", trace="First, mix flour and water."),
         ScoreItem(prompt="What is the capital of France?", trace="")]


def first_token_top(server: ModelServer, item: ScoreItem) -> dict[str, float]:
    """The server's own first-token distribution for the guard-style conversation of `item`:
    {label (stripped, lower-case): probability summed over its spellings}."""
    messages = [{"role": "user", "content": item.prompt}]
    if item.trace:
        messages.append({"role": "assistant", "content": item.trace})
    body = {"model": server.model, "messages": messages, "max_tokens": 1, "temperature": 0.0,
            "logprobs": True, "top_logprobs": 20}
    response = httpx.post(server.base_url + "/chat/completions", json=body, timeout=60)
    response.raise_for_status()
    top = response.json()["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    probs: dict[str, float] = {}
    for entry in top:
        label = str(entry["token"]).strip().lower()
        probs[label] = probs.get(label, 0.0) + math.exp(float(entry["logprob"]))
    return probs


async def scores(settings: RewardSettings, item: ScoreItem) -> dict[str, float]:
    async with create_engine(settings) as engine:
        (result,) = await engine.score([item])
    assert -1.0 <= result.score <= 1.0
    assert result.score == pytest.approx(result.raw["p_safe"] - result.raw["p_unsafe"])
    return result.raw


@pytest.mark.parametrize("item", ITEMS, ids=["trace", "request"])
async def test_chat_and_completions_read_the_servers_first_token(
        smollm2: ModelServer, tmp_path: Path, item: ScoreItem) -> None:
    expected = first_token_top(smollm2, item)
    safe, unsafe = sorted(expected, key=expected.__getitem__, reverse=True)[:2]
    common = {"backend": "openai-guard", "openai_guard_url": smollm2.base_url,
              "openai_guard_model": smollm2.model, "guard_safe_token": safe,
              "guard_unsafe_token": unsafe}
    chat = await scores(RewardSettings(**common), item)  # type: ignore[arg-type]
    template = write_gguf_chat_template(smollm2.model, tmp_path / "smollm2.jinja")
    completions = await scores(RewardSettings(**common, openai_guard_api="completions",  # type: ignore[arg-type]
                                              openai_guard_template=str(template)), item)
    want = {"p_safe": expected[safe], "p_unsafe": expected[unsafe]}
    assert chat == pytest.approx(want, abs=1e-4)
    # Same text, same tokens, same logits: completions mode rendered the template as the server.
    assert completions == pytest.approx(want, abs=1e-4)
