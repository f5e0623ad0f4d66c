"""``POST /v1/completions``, guarded by the same engine as chat.

The generated text is the monitored content (its thinking block when the model writes one with
tags, else the text itself). A steer re-issues the client's prompt, plus the accepted text, plus
the steering prefix, on ``/v1/completions`` again: a raw prompt needs no chat template, so no
continuation mode is involved. The scorer reads the prompt as one user turn.

What a guarded completion cannot honour gets a 400 (``UnsupportedFeature``): several prompts or
token-id prompts (each would need its own steering, and token ids are not text to score),
``n``/``best_of`` above 1, ``logprobs``, ``echo`` and ``suffix`` (the text is re-segmented and
resampled), and the baseline policies, which rewrite chat messages. Under policy ``none`` the
request is relayed byte for byte.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from proxy.api.render import OpenAIWire
from proxy.api.schemas import CompletionRequest
from proxy.api.serving import accept, begin, relay, respond
from proxy.appstate import state_of
from proxy.engine.policies import Plan, RequestSide
from proxy.engine.steering import SteeringEngine
from proxy.exceptions import UnsupportedFeature
from proxy.scoring import ScorePrompt
from proxy.settings import Settings
from proxy.state.audit import Recorder
from proxy.upstream.client import Upstream
from proxy.upstream.continuation import Call, streaming
from proxy.upstream.deltas import CallKind, UpstreamDelta, deltas


async def completions(request: Request) -> Response:
    incoming = await accept(request, CompletionRequest)
    parsed, plan, settings = incoming.parsed, incoming.plan, incoming.settings
    if plan.policy == "none":
        return await relay(request, "/completions", incoming)
    prompt = guarded_prompt(plan, parsed)
    state = state_of(request)
    metrics = state.metrics.for_model(incoming.route.label)
    engine = SteeringEngine(
        settings=settings,
        plan=plan,
        side=RequestSide([]),
        body=incoming.body,
        prompt=ScorePrompt.of([{"role": "user", "content": prompt}], settings.score_prompt_chars),
        scorer=state.scorer,
        continuer=CompletionsOpener(incoming.route.upstream, settings, prompt),
        recorder=Recorder.of(state, settings, incoming.request_id, metrics),
        metrics=metrics,
        request_id=incoming.request_id,
    )
    await begin(engine, incoming)
    include_usage = bool((parsed.stream_options or {}).get("include_usage"))
    wire = OpenAIWire("completions", parsed.model, include_usage)
    return await respond(request, engine, stream=parsed.stream, headers=incoming.headers,
                         wire=wire)


def guarded_prompt(plan: Plan, request: CompletionRequest) -> str:
    """The one text prompt of a request the engine can guard, or a 400 that says why not."""
    if plan.policy not in ("safethink", "monitor"):
        raise UnsupportedFeature(
            f"policy {plan.policy!r} rewrites chat messages: /v1/completions is served with "
            "policy 'safethink', 'monitor' or 'none'",
            param="safethink.policy",
        )
    prompt = request.prompt
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise UnsupportedFeature(
            "a guarded completion takes one text prompt: several prompts or token ids cannot be "
            "scored and steered; send one request per prompt, as text",
            param="prompt",
        )
    for name, value, allowed in (
        ("n", request.n, (None, 1)),
        ("best_of", request.best_of, (None, 1)),
        ("logprobs", request.logprobs, (None,)),
        ("echo", request.echo, (None, False)),
        ("suffix", request.suffix, (None, "")),
    ):
        if value not in allowed:
            raise UnsupportedFeature(
                f"{name} is not supported with policy {plan.policy!r}: the proxy re-segments "
                "and resamples the text; use policy 'none'",
                param=name,
            )
    return prompt


class CompletionsOpener:
    """Opens the calls of one guarded completion: the client's prompt, then the prefill."""

    def __init__(self, upstream: Upstream, settings: Settings, prompt: str) -> None:
        self.upstream = upstream
        self.settings = settings
        self.prompt = prompt

    @asynccontextmanager
    async def open(
        self, call: Call
    ) -> AsyncIterator[tuple[AsyncIterator[list[UpstreamDelta]], CallKind]]:
        body = self.body(call)
        async with (
            self.upstream.stream("/completions", body) as events,
            aclosing(deltas(events, "completions")) as decoded,
        ):
            yield decoded, "completions"

    def body(self, call: Call) -> dict[str, Any]:
        body = {**call.body, "prompt": self.prompt + call.prefill}
        return streaming(body, call.attempt, self.settings)
