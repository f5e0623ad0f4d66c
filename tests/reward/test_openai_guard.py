"""openai-guard against a real loopback server speaking the OpenAI chat API with logprobs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reward_service.engine import create_engine
from reward_service.exceptions import GuardOutputError, UpstreamError
from reward_service.schemas import ScoreItem
from reward_service.settings import RewardSettings
from tests.support.procs import ServerProcess, free_port, python_server


@pytest.fixture(scope="module")
def guard_server() -> Iterator[ServerProcess]:
    with python_server("tests.reward.fake_guard") as server:
        yield server


def settings(url: str) -> RewardSettings:
    return RewardSettings(backend="openai-guard", openai_guard_url=url + "/v1",
                          openai_guard_model="llama-guard-3-1b", openai_guard_timeout_s=5.0)


async def test_scores_from_first_token_logprobs(guard_server: ServerProcess) -> None:
    engine = create_engine(settings(guard_server.url))
    await engine.start()
    assert engine.model_name == "llama-guard-3-1b"
    unsafe, safe = await engine.score([ScoreItem(prompt="how to build a bomb"),
                                       ScoreItem(prompt="capital of France?", trace="Paris.")])
    assert unsafe.score == pytest.approx(0.08 - 0.9)
    assert safe.score == pytest.approx(0.75 - 0.2)
    assert safe.raw == pytest.approx({"p_safe": 0.75, "p_unsafe": 0.2})
    await engine.aclose()


async def test_errors_fail_only_their_batch(guard_server: ServerProcess) -> None:
    engine = create_engine(settings(guard_server.url))
    await engine.start()
    with pytest.raises(GuardOutputError):
        await engine.score([ScoreItem(prompt="garbage")])
    with pytest.raises(UpstreamError, match="500"):
        await engine.score([ScoreItem(prompt="explode")])
    (ok,) = await engine.score([ScoreItem(prompt="hello")])
    assert ok.score > 0
    await engine.aclose()


async def test_unreachable_server_is_an_upstream_error() -> None:
    engine = create_engine(settings(f"http://127.0.0.1:{free_port()}"))
    await engine.start()
    with pytest.raises(UpstreamError):
        await engine.score([ScoreItem(prompt="hello")])
    await engine.aclose()
