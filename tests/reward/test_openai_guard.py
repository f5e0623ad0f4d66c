"""openai-guard against a loopback server speaking the OpenAI chat and completions APIs with
logprobs (scripted answers, to reach every path; the real server is in tests/e2e)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from transformers import AutoTokenizer

from reward_service.engine import create_engine
from reward_service.exceptions import ConfigError, GuardOutputError, ScoringError, UpstreamError
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
    async with create_engine(settings(guard_server.url)) as engine:
        assert engine.model_name == "llama-guard-3-1b"
        unsafe, safe = await engine.score([ScoreItem(prompt="how to build a bomb"),
                                           ScoreItem(prompt="capital of France?", trace="Paris.")])
    assert unsafe.score == pytest.approx(0.08 - 0.9)
    assert safe.score == pytest.approx(0.75 - 0.2)
    assert safe.raw == pytest.approx({"p_safe": 0.75, "p_unsafe": 0.2})


async def test_errors_fail_only_their_batch(guard_server: ServerProcess) -> None:
    async with create_engine(settings(guard_server.url)) as engine:
        with pytest.raises(GuardOutputError):
            await engine.score([ScoreItem(prompt="garbage")])
        with pytest.raises(UpstreamError, match="500"):
            await engine.score([ScoreItem(prompt="explode")])
        (ok,) = await engine.score([ScoreItem(prompt="hello")])
    assert ok.score > 0


async def test_unreachable_server_is_an_upstream_error() -> None:
    async with create_engine(settings(f"http://127.0.0.1:{free_port()}")) as engine:
        with pytest.raises(UpstreamError):
            await engine.score([ScoreItem(prompt="hello")])


def completions_settings(url: str, **extra: object) -> RewardSettings:
    return RewardSettings(backend="openai-guard", openai_guard_url=url + "/v1",
                          openai_guard_model="llama-guard-3-1b", openai_guard_timeout_s=5.0,
                          openai_guard_api="completions", **extra)  # type: ignore[arg-type]


def template_settings(server: ServerProcess, path: Path, template: str) -> RewardSettings:
    """Completions mode with `template` as the guard's Jinja file, written to `path`."""
    path.write_text(template)
    return completions_settings(server.url, openai_guard_template=str(path))


async def last_prompt(server: ServerProcess) -> str:
    async with httpx.AsyncClient(base_url=server.url) as client:
        return str((await client.get("/last-prompt")).json()["prompt"])


async def test_completions_mode_sends_the_guards_own_template(guard_server: ServerProcess,
                                                              guard_path: Path) -> None:
    guard = completions_settings(guard_server.url, model=str(guard_path))
    async with create_engine(guard) as engine:
        (unsafe,) = await engine.score([ScoreItem(prompt="how to build a bomb")])
        (safe,) = await engine.score([ScoreItem(prompt="capital of France?", trace="Paris.")])
        sent = await last_prompt(guard_server)
    assert unsafe.score == pytest.approx(0.08 - 0.9)
    assert safe.raw == pytest.approx({"p_safe": 0.75, "p_unsafe": 0.2})
    tokenizer = AutoTokenizer.from_pretrained(str(guard_path))
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": "capital of France?"},
         {"role": "assistant", "content": "Paris."}], tokenize=False, add_generation_prompt=True)
    # The server adds its own BOS when it tokenises a completions prompt.
    assert rendered.startswith(tokenizer.bos_token)
    assert sent == rendered[len(tokenizer.bos_token):]


TEMPLATES = {
    "plain": ("{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
              "{% if add_generation_prompt %}[verdict]{% endif %}",
              "[user] hello\n[assistant] Hi there.\n[verdict]"),
    # Like Llama-Guard-3-1B's template: content must be a list of {"type": "text"} parts.
    "text-parts": ("{% for m in messages %}{% if m['content'] is string %}"
                   "{{ raise_exception('content must be a list of parts') }}{% endif %}"
                   "{{ m['role'] }}: {{ m['content'][0]['text'] }}\n{% endfor %}",
                   "user: hello\nassistant: Hi there.\n"),
}


@pytest.mark.parametrize("kind", list(TEMPLATES))
async def test_completions_mode_with_a_jinja_template_file(guard_server: ServerProcess,
                                                           tmp_path: Path, kind: str) -> None:
    template, expected = TEMPLATES[kind]
    async with create_engine(template_settings(guard_server, tmp_path / "guard.jinja",
                                               template)) as engine:
        (result,) = await engine.score([ScoreItem(prompt="hello", trace="Hi there.")])
        sent = await last_prompt(guard_server)
    assert result.score == pytest.approx(0.75 - 0.2)
    assert sent == expected


async def test_completions_mode_without_a_template_is_a_config_error() -> None:
    engine = create_engine(completions_settings(f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(ConfigError, match="OPENAI_GUARD_TEMPLATE"):
        await engine.start()
    assert not engine.ready


async def test_a_template_that_cannot_render_fails_only_its_call(guard_server: ServerProcess,
                                                                 tmp_path: Path) -> None:
    template = ("{% if messages | length > 1 %}{{ raise_exception('one turn only') }}"
                "{% endif %}{{ messages[0]['content'] }}")
    async with create_engine(template_settings(guard_server, tmp_path / "strict.jinja",
                                               template)) as engine:
        with pytest.raises(ScoringError, match="one turn only"):
            await engine.score([ScoreItem(prompt="hello", trace="Hi there.")])
        (ok,) = await engine.score([ScoreItem(prompt="hello")])
    assert ok.score == pytest.approx(0.75 - 0.2)
