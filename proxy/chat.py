"""``POST /v1/chat/completions``: validate, resolve the policy, then steer or pass through."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from . import forward
from .audit import Recorder
from .auth import require_client
from .bodies import read_json
from .continuation import Continuer
from .errors import validation_error
from .policies import Plan, check_supported, request_side, resolve
from .render import assemble
from .schemas import ChatRequest
from .scoring import ScorePrompt
from .serving import respond
from .settings import Settings
from .steering import SteeringEngine


async def chat_completions(request: Request) -> Response:
    """Mounted as a plain Starlette route (see app.py): every stream passes here, and FastAPI's
    dependency machinery measured 0.15 ms of added time to first token."""
    await require_client(request)
    state = request.app.state
    settings: Settings = state.settings
    body = await read_json(request, settings.max_body_bytes, settings.body_read_timeout_s)
    try:
        parsed = ChatRequest.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc) from exc
    plan = resolve(settings, parsed, request.headers.get("x-safethink-policy"))
    check_supported(plan, parsed)
    request_id = uuid.uuid4().hex
    headers = {"x-safethink-request-id": request_id, "x-safethink-policy": plan.policy}
    body.pop("safethink", None)
    body["stream"] = parsed.stream  # the validated value: "false" is not a request to stream
    if plan.policy == "none":
        state.metrics.requests.labels(policy="none", outcome="forwarded").inc()
        return await forward.post(request, "/chat/completions", body, headers, parsed.stream)
    engine = _engine(request, settings, plan, body, request_id)
    await engine.recorder.begin(plan.policy, parsed.model, parsed.stream)
    include_usage = bool((parsed.stream_options or {}).get("include_usage"))
    return await respond(request, engine, model=parsed.model, stream=parsed.stream,
                         include_usage=include_usage, headers=headers, api="chat",
                         assemble=assemble)


def _engine(
    request: Request, settings: Settings, plan: Plan, body: dict[str, Any], request_id: str
) -> SteeringEngine:
    state = request.app.state
    continuer = Continuer(settings, state.upstream, state.templates, state.learned_continuation)
    recorder = Recorder.of(state, settings, request_id)
    side = request_side(plan, body["messages"], settings)
    return SteeringEngine(
        settings=settings,
        plan=plan,
        side=side,
        body={**body, "messages": side.messages},
        prompt=ScorePrompt.of(body["messages"], settings.score_prompt_chars),
        scorer=state.scorer,
        continuer=continuer,
        recorder=recorder,
        metrics=state.metrics,
        request_id=request_id,
    )
