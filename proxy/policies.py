"""The policies: SafeThink, and the paper's baselines as request-side changes.

A deployment picks a default (``SAFETHINK_POLICY``); a request may choose another, and change
the knobs that ``SAFETHINK_REQUEST_OVERRIDES`` lists, through ``extra_body={"safethink": {...}}``
or the ``X-SafeThink-Policy`` header. Asking for what the allow-list does not grant is a 400,
never silently ignored.

- ``none``: the request goes to the upstream untouched, and its answer comes back untouched.
- ``adashield``: a defence instruction is put before the last user turn's text.
- ``zerothink`` / ``lessthink``: the thinking block is prefilled (empty, or one line) and closed.
- ``safepath``: the thinking block is opened with the primer "Let's think about safety first".
- ``safethink``: the first ``steer_steps`` steps are held, scored and steered (``steering.py``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from .exceptions import PolicyNotAllowed, UnsupportedFeature
from .schemas import ChatRequest
from .settings import FailMode, PolicyName, Settings


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


def resolve(settings: Settings, request: ChatRequest, header_policy: str | None) -> Plan:
    chosen: dict[str, Any] = {}
    if request.safethink is not None:
        chosen = request.safethink.model_dump(exclude_none=True)
    if header_policy:
        chosen.setdefault("policy", header_policy.strip().lower())
    refused = sorted(set(chosen) - set(settings.request_overrides))
    if refused:
        raise PolicyNotAllowed(
            f"this deployment does not let a request set {', '.join(refused)} "
            f"(allowed: {', '.join(settings.request_overrides) or 'nothing'})",
            param="safethink",
        )
    policy = chosen.get("policy", settings.policy)
    if policy not in settings.allowed_policies:
        raise PolicyNotAllowed(
            f"policy {policy!r} is not allowed here "
            f"(allowed: {', '.join(settings.allowed_policies)})",
            param="safethink.policy",
        )
    return Plan(
        policy=policy,
        tau=chosen.get("tau", settings.tau),
        steer_steps=chosen.get("steer_steps", settings.steer_steps),
        resamples=chosen.get("resamples", settings.resamples),
        steering_prefix=chosen.get("steering_prefix", settings.steering_prefix),
        show_prefix=chosen.get("show_prefix", settings.show_prefix),
        fail_mode=chosen.get("fail_mode", settings.fail_mode),
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
