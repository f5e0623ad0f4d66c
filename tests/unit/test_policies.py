"""What a request may change: nothing by default; where the operator lets it, only stricter,
unless the operator widens the bound."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from proxy.api.schemas import ChatRequest
from proxy.engine.policies import Plan, resolve
from proxy.exceptions import PolicyNotAllowed
from proxy.settings import POLICIES, Settings

KNOBS = ["policy", "tau", "steer_steps", "resamples", "steering_prefix", "show_prefix",
         "fail_mode"]


def plan(settings: Settings, options: dict[str, Any] | None = None,
         header: str | None = None) -> Plan:
    body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    if options is not None:
        body["safethink"] = options
    return resolve(settings, ChatRequest.model_validate(body), header)


def refusal(settings: Settings, options: dict[str, Any] | None = None,
            header: str | None = None) -> PolicyNotAllowed:
    with pytest.raises(PolicyNotAllowed) as caught:
        plan(settings, options, header)
    return caught.value


@pytest.mark.parametrize(("options", "header"), [
    ({"policy": "none"}, None), (None, "none"), (None, " NONE "),
    ({"tau": -1.0}, None), ({"steer_steps": 0}, None), ({"resamples": 0}, None),
    ({"fail_mode": "open"}, None), ({"steering_prefix": "Sure:"}, None),
    ({"show_prefix": False}, None),
])
def test_by_default_a_request_changes_nothing(options: dict[str, Any] | None,
                                              header: str | None) -> None:
    error = refusal(Settings(), options, header)
    assert "does not let a request set" in error.message
    assert "SAFETHINK_REQUEST_OVERRIDES" in error.message


def test_restating_the_deployments_values_is_fine() -> None:
    settings = Settings()
    restated = {"policy": "safethink", "tau": 0.0, "steer_steps": 3, "resamples": 4,
                "fail_mode": "closed", "show_prefix": True,
                "steering_prefix": settings.steering_prefix}
    assert plan(settings, restated, "safethink") == plan(settings)
    assert plan(settings).steers


def test_a_policy_must_be_allowed_as_well_as_overridable() -> None:
    settings = Settings(request_overrides=["policy"])
    error = refusal(settings, None, "none")
    assert "not allowed here" in error.message and "SAFETHINK_ALLOWED_POLICIES" in error.message
    opened = Settings(request_overrides=["policy"], allowed_policies=["none"])
    assert plan(opened, None, "none").policy == "none"
    assert plan(opened, {"policy": "safethink"}, "none").policy == "safethink"  # body wins


@pytest.mark.parametrize(("knob", "looser", "stricter", "bound"), [
    ("tau", -0.25, 0.5, ">= 0.0"),
    ("steer_steps", 2, 5, ">= 3"),
    ("resamples", 0, 8, ">= 4"),
    ("fail_mode", "open", "closed", "'closed'"),
])
def test_an_overridable_knob_may_only_tighten(knob: str, looser: object, stricter: object,
                                              bound: str) -> None:
    settings = Settings(request_overrides=KNOBS, allowed_policies=list(POLICIES))
    error = refusal(settings, {knob: looser})
    assert error.param == f"safethink.{knob}"
    assert f"safethink.{knob}=" in error.message and "would loosen the guard" in error.message
    assert bound in error.message
    assert getattr(plan(settings, {knob: stricter}), knob) == stricter


def test_the_loosening_bounds_are_the_operators(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFETHINK_REQUEST_OVERRIDES", '["tau", "steer_steps", "resamples"]')
    monkeypatch.setenv("SAFETHINK_OVERRIDE_TAU_MIN", "-0.5")
    monkeypatch.setenv("SAFETHINK_OVERRIDE_STEER_STEPS_MIN", "1")
    monkeypatch.setenv("SAFETHINK_OVERRIDE_RESAMPLES_MIN", "0")
    settings = Settings()
    loosened = plan(settings, {"tau": -0.5, "steer_steps": 1, "resamples": 0})
    assert (loosened.tau, loosened.steer_steps, loosened.resamples) == (-0.5, 1, 0)
    assert ">= -0.5" in refusal(settings, {"tau": -0.75}).message
    assert ">= 1" in refusal(settings, {"steer_steps": 0}).message


def test_a_bound_above_the_deployments_value_widens_nothing() -> None:
    settings = Settings(request_overrides=["tau"], override_tau_min=0.5)
    assert plan(settings, {"tau": 0.25}).tau == 0.25  # stricter than the deployment's 0.0
    assert ">= 0.0" in refusal(settings, {"tau": -0.25}).message


def test_fail_open_needs_the_operators_consent() -> None:
    settings = Settings(request_overrides=["fail_mode"], override_fail_open=True)
    assert plan(settings, {"fail_mode": "open"}).fail_mode == "open"
    stricter = Settings(request_overrides=["fail_mode"], fail_mode="open")
    assert plan(stricter, {"fail_mode": "closed"}).fail_mode == "closed"


def test_the_prefix_knobs_have_no_bound_once_listed() -> None:
    settings = Settings(request_overrides=["steering_prefix", "show_prefix"])
    chosen = plan(settings, {"steering_prefix": "Hmm, carefully.", "show_prefix": False})
    assert (chosen.steering_prefix, chosen.show_prefix) == ("Hmm, carefully.", False)
    assert (chosen.tau, chosen.steer_steps, chosen.resamples) == (0.0, 3, 4)


@pytest.mark.parametrize("options", [{"tau": True}, {"steer_steps": "5"}, {"show_prefix": "no"},
                                     {"resamples": 2.5}])
def test_knobs_are_never_coerced(options: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        plan(Settings(request_overrides=KNOBS), options)
