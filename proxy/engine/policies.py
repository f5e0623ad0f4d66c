"""The policies: SafeThink, and the paper's baselines as request-side changes.

A deployment picks its policy (``SAFETHINK_POLICY``), and by default a request cannot change
it or its knobs: a client must not be able to turn its own guard off. The operator may let
requests change the knobs that ``SAFETHINK_REQUEST_OVERRIDES`` lists, through
``extra_body={"safethink": {...}}`` (the ``X-SafeThink-Policy`` header counts as ``policy``), and
pick among ``SAFETHINK_ALLOWED_POLICIES``. Even then a request may only make the guard stricter
than the deployment's own values: a higher ``tau``, more ``steer_steps``, more ``resamples``,
``fail_mode`` closed; ``SAFETHINK_OVERRIDE_TAU_MIN``, ``..._STEER_STEPS_MIN``,
``..._RESAMPLES_MIN`` and ``SAFETHINK_OVERRIDE_FAIL_OPEN`` widen those bounds (the eval tools,
which compare settings per request, need that). Restating the deployment's own value is always
fine. Anything else is a 400 naming the knob and the bound, never silently ignored.

``show_prefix`` only changes what the client is shown, never a decision. ``steering_prefix``
has no order to bound: every guarded step is still scored against tau whatever it says, but the
scorer reads it (it heads a resampled step), so a client's prefix could sway the scores of its
own resamples. List it only for clients the operator trusts (an evaluation, a prefix search).

- ``none``: the request goes to the upstream untouched, and its answer comes back untouched.
- ``adashield``: a defence instruction is put before the last user turn's text.
- ``zerothink`` / ``lessthink``: the thinking block is prefilled (empty, or one line) and closed.
- ``safepath``: the thinking block is opened with the primer "Let's think about safety first".
- ``safethink``: the first ``steer_steps`` steps are held, scored and steered (``steering.py``).
- ``monitor``: the same steps are scored and recorded beside the stream, nothing is held or
  steered (``monitor.py``): a step below tau is recorded ``would_steer``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Protocol

from proxy.api.schemas import ChatRequest, SafeThinkOptions
from proxy.exceptions import PolicyNotAllowed, UnsupportedFeature
from proxy.settings import FailMode, PolicyName, Settings


@dataclass(frozen=True)
class Plan:
    """The policy and its knobs, resolved for one request."""

    policy: PolicyName
    tau: float
    steer_steps: int
    resamples: int
    steering_prefix: str
    show_prefix: bool
    fail_mode: FailMode

    @property
    def steers(self) -> bool:
        return self.policy == "safethink" and self.steer_steps > 0

    @property
    def monitors(self) -> bool:
        return self.policy == "monitor" and self.steer_steps > 0


class Asks(Protocol):
    """A request body that may carry per-request options (chat or completions)."""

    @property
    def safethink(self) -> SafeThinkOptions | None: ...


def resolve(settings: Settings, request: Asks, header_policy: str | None) -> Plan:
    """The plan for one request; PolicyNotAllowed (400) when it asks for what is not granted."""
    chosen: dict[str, Any] = {}
    if request.safethink is not None:
        chosen = request.safethink.model_dump(exclude_none=True)
    if header_policy is not None and header_policy.strip():
        chosen.setdefault("policy", header_policy.strip().lower())
    # Restating the deployment's own value changes nothing, so it needs no permission.
    changed = {knob: value for knob, value in chosen.items() if value != getattr(settings, knob)}
    _check_granted(settings, changed)
    _check_stricter(settings, changed)
    return Plan(
        policy=chosen.get("policy", settings.policy),
        tau=chosen.get("tau", settings.tau),
        steer_steps=chosen.get("steer_steps", settings.steer_steps),
        resamples=chosen.get("resamples", settings.resamples),
        steering_prefix=chosen.get("steering_prefix", settings.steering_prefix),
        show_prefix=chosen.get("show_prefix", settings.show_prefix),
        fail_mode=chosen.get("fail_mode", settings.fail_mode),
    )


def _check_granted(settings: Settings, changed: dict[str, Any]) -> None:
    refused = sorted(set(changed) - set(settings.request_overrides))
    if refused:
        raise PolicyNotAllowed(
            f"this deployment does not let a request set {', '.join(refused)} "
            f"(allowed: {', '.join(settings.request_overrides) or 'nothing'}; "
            "the operator lists them in SAFETHINK_REQUEST_OVERRIDES)",
            param=f"safethink.{refused[0]}",
        )
    policy = changed.get("policy", settings.policy)
    if policy not in settings.allowed_policies:
        raise PolicyNotAllowed(
            f"policy {policy!r} is not allowed here "
            f"(allowed: {', '.join(settings.allowed_policies)}; "
            "the operator lists them in SAFETHINK_ALLOWED_POLICIES)",
            param="safethink.policy",
        )


def _check_stricter(settings: Settings, changed: dict[str, Any]) -> None:
    """A request may raise tau, steer_steps and resamples, never lower them past the bound."""
    bounds: list[tuple[str, float | None, float]] = [
        ("tau", settings.override_tau_min, settings.tau),
        ("steer_steps", settings.override_steer_steps_min, settings.steer_steps),
        ("resamples", settings.override_resamples_min, settings.resamples),
    ]
    for knob, lowest, own in bounds:
        bound = own if lowest is None else min(own, lowest)
        if knob in changed and changed[knob] < bound:
            raise PolicyNotAllowed(
                f"safethink.{knob}={changed[knob]} would loosen the guard: a request may set "
                f"{knob} >= {bound} here (the operator widens this with "
                f"SAFETHINK_OVERRIDE_{knob.upper()}_MIN)",
                param=f"safethink.{knob}",
            )
    if changed.get("fail_mode") == "open" and not settings.override_fail_open:
        raise PolicyNotAllowed(
            "safethink.fail_mode='open' would loosen the guard: a request may only ask for "
            "'closed' here (the operator allows 'open' with SAFETHINK_OVERRIDE_FAIL_OPEN=true)",
            param="safethink.fail_mode",
        )


def check_supported(plan: Plan, request: ChatRequest) -> None:
    """Features that a rewritten or resampled generation cannot honour get a clear 400."""
    if plan.policy == "none":
        return
    if request.n is not None and request.n > 1:
        raise UnsupportedFeature(
            f"n > 1 is not supported with policy {plan.policy!r}: each choice would need its own "
            "steering; send n separate requests, or use policy 'none'",
            param="n",
        )
    if request.logprobs or request.top_logprobs:
        raise UnsupportedFeature(
            f"logprobs are not supported with policy {plan.policy!r}: the proxy re-segments and "
            "resamples the text, so the upstream's token logprobs would not match it; "
            "use policy 'none'",
            param="logprobs",
        )


@dataclass(frozen=True)
class RequestSide:
    """What a policy changes before generation: the messages, and an assistant prefill."""

    messages: list[dict[str, Any]]
    prefill: str = ""  # raw assistant text the generation continues from
    shown_reasoning: str = ""  # the part of the prefill the client is shown as reasoning
    inside_think: bool = False  # the prefill leaves the thinking block open


def request_side(plan: Plan, messages: list[dict[str, Any]], settings: Settings) -> RequestSide:
    open_tag, close_tag = settings.think_open, settings.think_close
    if plan.policy == "adashield":
        return RequestSide(_with_defence(messages, settings.adashield_prompt))
    if plan.policy == "zerothink":
        return RequestSide(messages, f"{open_tag}\n\n{close_tag}\n\n")
    if plan.policy == "lessthink":
        thought = settings.lessthink_thought
        return RequestSide(messages, f"{open_tag}\n{thought}\n{close_tag}\n\n", thought)
    if plan.policy == "safepath":
        primer = settings.safepath_primer
        return RequestSide(messages, f"{open_tag}\n{primer}", primer, inside_think=True)
    return RequestSide(messages)


def _with_defence(messages: list[dict[str, Any]], defence: str) -> list[dict[str, Any]]:
    out = copy.deepcopy(messages)
    for message in reversed(out):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, list):
            message["content"] = [{"type": "text", "text": defence}, *content]
        else:
            message["content"] = f"{defence}\n\n{content or ''}"
        return out
    return [{"role": "user", "content": defence}, *out]
