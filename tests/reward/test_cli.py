"""Flags override SAFETHINK_REWARD_* environment variables, which override the defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reward_service.__main__ import settings_from_args
from reward_service.settings import RewardSettings


def test_defaults() -> None:
    s = RewardSettings()
    assert (s.backend, s.host, s.port, s.device, s.max_batch_size) == (
        "cross-encoder", "127.0.0.1", 8081, "auto", 32)


def test_env_then_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFETHINK_REWARD_PORT", "9000")
    monkeypatch.setenv("SAFETHINK_REWARD_MAX_WAIT_MS", "7")
    monkeypatch.setenv("SAFETHINK_REWARD_OPENAI_GUARD_API_KEY", "sk-secret")
    s = settings_from_args(["--backend", "classifier", "--model", "/m", "--max-batch-size", "4"])
    assert (s.backend, s.model, s.port, s.max_wait_ms, s.max_batch_size) == (
        "classifier", "/m", 9000, 7.0, 4)
    assert "sk-secret" not in repr(s)
    s = settings_from_args(["--port", "9100", "--device", "cpu", "--dtype", "float32",
                            "--max-wait-ms", "1.5", "--host", "0.0.0.0"])
    assert (s.port, s.device, s.dtype, s.max_wait_ms, s.host) == (
        9100, "cpu", "float32", 1.5, "0.0.0.0")


def test_bad_flag_exits() -> None:
    with pytest.raises(SystemExit):
        settings_from_args(["--backend", "nope"])


def test_every_setting_is_in_the_reward_readme() -> None:
    readme = (Path(__file__).parents[2] / "reward_service" / "README.md").read_text()
    documented = set(re.findall(r"`([A-Z][A-Z_]+)`", readme))
    documented |= {flag[2:].replace("-", "_").upper()
                   for flag in re.findall(r"`(--[a-z-]+)", readme)}
    missing = {name.upper() for name in RewardSettings.model_fields} - documented
    assert not missing, f"settings missing from reward_service/README.md: {sorted(missing)}"
