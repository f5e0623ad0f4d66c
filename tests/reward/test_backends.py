"""Each backend loads its tiny (or packaged) model through the real code and scores."""

from __future__ import annotations

from pathlib import Path

import pytest

from reward_service.engine import Engine, create_engine
from reward_service.exceptions import ConfigError, ModelLoadError
from reward_service.schemas import ScoreItem
from reward_service.settings import RewardSettings

MESSAGES = [
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": [
        {"type": "text", "text": "what is the capital of france"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    ]},
]
ITEMS = [
    ScoreItem(prompt="how do i make a bomb"),
    ScoreItem(prompt=MESSAGES, trace="paris is the capital " * 5),
    ScoreItem(prompt="how do i make a bomb", trace="i can not help with that request"),
]


def engine_for(**kwargs: object) -> Engine:
    """An engine on the CPU; `async with` starts it and closes it, whatever the test does."""
    return create_engine(RewardSettings(device="cpu", **kwargs))  # type: ignore[arg-type]


async def assert_batch_equals_singles(engine: Engine) -> None:
    """Left/right padding must not change a score: one batch == items one at a time."""
    batched = await engine.score(ITEMS)
    singles = [(await engine.score([item]))[0] for item in ITEMS]
    for b, s in zip(batched, singles, strict=True):
        assert -1.0 <= b.score <= 1.0
        assert b.score == pytest.approx(s.score, abs=1e-4)


async def test_llama_guard_scores_from_first_token(guard_path: Path) -> None:
    async with engine_for(backend="llama-guard", model=str(guard_path)) as engine:
        assert engine.ready and engine.backend_name == "llama-guard"
        results = await engine.score(ITEMS)
        for r in results:
            assert set(r.raw) == {"p_safe", "p_unsafe"}
            assert r.score == pytest.approx(r.raw["p_safe"] - r.raw["p_unsafe"])
            assert not r.truncated
        await assert_batch_equals_singles(engine)
    assert not engine.ready


async def test_llama_guard_truncates_long_trace_and_reports_it(guard_path: Path) -> None:
    trace = "step one buy the chemicals " * 40 + "paris is the capital"
    async with engine_for(backend="llama-guard", model=str(guard_path),
                          max_input_tokens=64) as engine:
        (result,) = await engine.score([ScoreItem(prompt="how do i make a bomb", trace=trace)])
        assert result.truncated
        encoded, cut = engine._backend.encode(engine.prepare(  # type: ignore[attr-defined]
            ScoreItem(prompt="how do i make a bomb", trace=trace)))
        assert cut and len(encoded) <= 64


async def test_llama_guard_needs_a_model_path() -> None:
    with pytest.raises(ConfigError):
        async with engine_for(backend="llama-guard"):
            pass


async def test_llama_guard_bad_path_is_a_load_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelLoadError):
        async with engine_for(backend="llama-guard", model=str(tmp_path)):
            pass


async def test_classifier_maps_labels(classifier_path: Path) -> None:
    async with engine_for(backend="classifier", model=str(classifier_path)) as engine:
        for r in await engine.score(ITEMS):
            assert r.score == pytest.approx(r.raw["safe"] - r.raw["unsafe"], abs=1e-6)
        await assert_batch_equals_singles(engine)


async def test_classifier_label_mapping_is_configurable(classifier_path: Path) -> None:
    # Swap the meaning of the labels: the score flips sign.
    async with (engine_for(backend="classifier", model=str(classifier_path)) as normal,
                engine_for(backend="classifier", model=str(classifier_path),
                           classifier_safe_labels=["unsafe"],
                           classifier_unsafe_labels=["safe"]) as swapped):
        a, b = await normal.score(ITEMS[:1]), await swapped.score(ITEMS[:1])
    assert a[0].score == pytest.approx(-b[0].score, abs=1e-6)


async def test_classifier_unknown_labels_is_a_config_error(classifier_path: Path) -> None:
    with pytest.raises(ConfigError, match="labels"):
        async with engine_for(backend="classifier", model=str(classifier_path),
                              classifier_safe_labels=["ok"], classifier_unsafe_labels=["bad"]):
            pass


async def test_classifier_scalar_reward(scalar_path: Path) -> None:
    import math

    async with engine_for(backend="classifier", model=str(scalar_path),
                          classifier_scalar_scale=2.0, classifier_scalar_offset=0.5) as engine:
        for r in await engine.score(ITEMS):
            assert r.score == pytest.approx(math.tanh(2.0 * (r.raw["logit"] - 0.5)), abs=1e-6)


async def test_classifier_truncation_reported(classifier_path: Path) -> None:
    async with engine_for(backend="classifier", model=str(classifier_path),
                          max_input_tokens=40) as engine:
        (r,) = await engine.score([ScoreItem(prompt="what is the capital",
                                             trace="paris is the capital " * 30)])
    assert r.truncated


async def test_probe_scores_request_and_trace_modes(probe_engine: Engine) -> None:
    assert probe_engine.backend_name == "probe"
    assert "MiniLM" in probe_engine.model_name
    results = await probe_engine.score(ITEMS)
    for r in results:
        assert -1.0 <= r.score <= 1.0
        assert r.score == pytest.approx(r.raw["p_safe"] - r.raw["p_unsafe"], abs=1e-6)
    await assert_batch_equals_singles(probe_engine)


async def test_engine_character_budget_truncates_and_reports() -> None:
    engine = create_engine(RewardSettings(max_prompt_chars=100, max_trace_chars=100))
    prepared = engine.prepare(ScoreItem(prompt="a" * 500, trace="old " * 100 + "NEWEST"))
    assert prepared.truncated
    assert prepared.trace.endswith("NEWEST") and len(prepared.trace) <= 100
    assert len(prepared.prompt) <= 100
    assert not engine.prepare(ScoreItem(prompt="short", trace="short")).truncated


def test_auto_dtype_is_bf16_on_cpu_only_where_the_caller_allows_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from reward_service.backends import torch_utils

    cpu = torch.device("cpu")
    monkeypatch.setattr(torch_utils, "cpu_has_native_bf16", lambda: True)
    assert torch_utils.resolve_dtype(RewardSettings(), cpu, cpu_bf16=True) == torch.bfloat16
    assert torch_utils.resolve_dtype(RewardSettings(), cpu) == torch.float32  # guards, classifiers
    assert torch_utils.resolve_dtype(RewardSettings(dtype="float32"), cpu,
                                     cpu_bf16=True) == torch.float32
    monkeypatch.setattr(torch_utils, "cpu_has_native_bf16", lambda: False)
    assert torch_utils.resolve_dtype(RewardSettings(), cpu, cpu_bf16=True) == torch.float32
