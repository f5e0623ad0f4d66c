"""One settings object: flags over environment over the YAML file, every knob documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from proxy.__main__ import parse_args
from proxy.settings import Settings

README = Path(__file__).parents[2] / "README.md"


def test_defaults_are_the_papers() -> None:
    settings = Settings()
    assert (settings.tau, settings.steer_steps, settings.resamples) == (0.0, 3, 4)
    assert settings.steering_prefix == "Wait, think safely."
    assert settings.upstream_url == "http://127.0.0.1:8000/v1" and settings.port == 8080
    assert (settings.reward, settings.store, settings.policy) == ("embedded", "memory",
                                                                  "safethink")


def test_environment_with_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFETHINK_TAU", "0.25")
    monkeypatch.setenv("SAFETHINK_STEER_STEPS", "5")
    monkeypatch.setenv("SAFETHINK_UPSTREAM_URL", "http://gpu-node:8000/v1/")
    monkeypatch.setenv("SAFETHINK_REQUEST_OVERRIDES", '["policy", "tau"]')
    monkeypatch.setenv("STEER_STEPS", "9")  # no prefix: not ours
    settings = Settings()
    assert settings.tau == 0.25 and settings.steer_steps == 5
    assert settings.upstream_url == "http://gpu-node:8000/v1"
    assert settings.request_overrides == ["policy", "tau"]


def test_flags_win_over_environment_and_file(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    config = tmp_path / "safethink.yaml"
    config.write_text("policy: adashield\nresamples: 8\nport: 9000\n")
    monkeypatch.setenv("SAFETHINK_CONFIG", str(config))
    monkeypatch.setenv("SAFETHINK_PORT", "9100")
    settings = Settings(**parse_args(["--policy", "zerothink", "--reward",
                                      "http://reward:8081"]))
    assert settings.policy == "zerothink"  # flag
    assert settings.port == 9100  # environment over file
    assert settings.resamples == 8  # file
    assert settings.reward == "http://reward:8081"


def test_misspelled_file_setting_is_an_error(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    config = tmp_path / "safethink.yaml"
    config.write_text("resampels: 8\n")
    monkeypatch.setenv("SAFETHINK_CONFIG", str(config))
    with pytest.raises(ValueError, match="resampels"):
        Settings()


@pytest.mark.parametrize(("field", "value"), [("tau", 2.0), ("steer_steps", -1),
                                              ("policy", "yolo"), ("fail_mode", "maybe"),
                                              ("step_delimiter", "")])
def test_invalid_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Settings(**{field: value})


def test_every_setting_is_in_the_readme_table() -> None:
    documented = set(re.findall(r"`SAFETHINK_([A-Z_]+)`", README.read_text()))
    missing = {name.upper() for name in Settings.model_fields} - documented
    assert not missing, f"settings missing from the README: {sorted(missing)}"


@pytest.mark.parametrize(("variable", "value"), [
    ("SAFETHINK_API_KEYS", '[""]'),
    ("SAFETHINK_API_KEYS", '["key-1", "   "]'),
    ("SAFETHINK_ADMIN_KEY", ""),
    ("SAFETHINK_ADMIN_KEY", " \t"),
])
def test_an_empty_key_is_refused_at_start(monkeypatch: pytest.MonkeyPatch, variable: str,
                                          value: str) -> None:
    # an empty key would let in a request that sends no Authorization header
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=variable):
        Settings()


def test_keys_lose_surrounding_whitespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFETHINK_API_KEYS", '["key-1\\n"]')
    monkeypatch.setenv("SAFETHINK_ADMIN_KEY", " admin ")
    settings = Settings()
    assert [k.get_secret_value() for k in settings.api_keys] == ["key-1"]
    assert settings.admin_key is not None and settings.admin_key.get_secret_value() == "admin"


def test_by_default_a_request_can_change_nothing() -> None:
    settings = Settings()
    assert settings.request_overrides == []
    assert settings.allowed_policies == ["safethink"]
    assert Settings(policy="zerothink").allowed_policies == ["zerothink"]
    bounds = (settings.override_tau_min, settings.override_steer_steps_min,
              settings.override_resamples_min, settings.override_fail_open)
    assert bounds == (None, None, None, False)


def test_the_deployments_policy_is_always_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFETHINK_ALLOWED_POLICIES", '["none"]')
    monkeypatch.setenv("SAFETHINK_OVERRIDE_TAU_MIN", "-0.5")
    monkeypatch.setenv("SAFETHINK_OVERRIDE_FAIL_OPEN", "true")
    settings = Settings()
    assert settings.allowed_policies == ["safethink", "none"]
    assert settings.override_tau_min == -0.5 and settings.override_fail_open


def test_a_refused_key_is_not_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFETHINK_API_KEYS", '["the-real-key", ""]')
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert "SAFETHINK_API_KEYS" in str(caught.value)
    assert "the-real-key" not in str(caught.value)
