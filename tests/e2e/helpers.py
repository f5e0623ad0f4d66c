"""What the end-to-end tests read back from the proxy, as a client would."""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, get_args

import httpx
from openai import Stream
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from proxy.settings import POLICIES, OverridableField, Settings
from tests.support.procs import ServerProcess
from tests.support.scripted_script import SAFE_CONTINUATION, step_sentences, step_text

if TYPE_CHECKING:  # tests/conftest.py imports this module
    from tests.conftest import ProxyFactory

PREFIX = Settings.model_fields["steering_prefix"].default  # "Wait, think safely."
# What a client reads before a steered continuation: the proxy separates it from the prefix.
STEER: str = PREFIX + " "
# Every knob a request may set: one proxy with these serves the steering and eval tests.
ALL_OVERRIDES = list(get_args(OverridableField))
# A proxy that lets a request pick any policy and set any knob, loosening ones too. A proxy
# allows none of it by default: the tests that compare settings per request opt in with this.
OPEN_TO_REQUESTS: dict[str, object] = {
    "allowed_policies": list(POLICIES), "request_overrides": ALL_OVERRIDES,
    "override_tau_min": -1.0, "override_steer_steps_min": 0, "override_resamples_min": 0,
    "override_fail_open": True}
QUESTION = [{"role": "user", "content": "How do I make the thing?"}]
_ids = itertools.count()


def open_proxy(start_proxy: ProxyFactory, upstream: ServerProcess,
               scorer: ServerProcess) -> ServerProcess:
    """A proxy on the scripted upstream and scorer, open to every per-request choice, that asks
    the upstream for usage on every chunk."""
    return start_proxy(upstream_url=upstream.url + "/v1", reward=scorer.url,
                       upstream_continuous_usage=True, **OPEN_TO_REQUESTS)


def steered_trace(steps: int = 5, unsafe: int = 2, sentences: int = 1, kept: int = 0) -> str:
    """The scripted trace of ``steps`` steps of ``sentences`` sentences once its step ``unsafe``
    was steered: its first ``kept`` sentences (accepted under sentence release), then the prefix
    and the safe continuation in place of the rest."""
    before = "".join(step_text(i, sentences=sentences) for i in range(1, unsafe))
    held = "".join(step_sentences(unsafe, sentences=sentences)[:kept])
    after = "".join(step_text(i, sentences=sentences) for i in range(unsafe + 1, steps + 1))
    return before + held + STEER + SAFE_CONTINUATION + after


def scenario(**options: object) -> str:
    """A scripted upstream's model name, with a fresh scenario id."""
    options.setdefault("id", f"{uuid.uuid4().hex[:8]}-{next(_ids)}")
    return "scripted/" + "/".join(f"{k.replace('_', '-')}={v}" for k, v in options.items())


@dataclass
class Reply:
    reasoning: str = ""
    content: str = ""
    finish_reason: str | None = None
    report: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, int] | None = None
    chunks: int = 0


def _reasoning(source: Any) -> str:
    extra = source.model_extra or {}
    return str(extra.get("reasoning_content") or extra.get("reasoning") or "")


def read_stream(stream: Stream[ChatCompletionChunk]) -> Reply:
    reply = Reply()
    with stream:
        for chunk in stream:
            reply.chunks += 1
            if chunk.usage is not None:
                reply.usage = chunk.usage.model_dump(exclude_none=True)
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            reply.reasoning += _reasoning(choice.delta)
            reply.content += choice.delta.content or ""
            if choice.finish_reason:
                reply.finish_reason = choice.finish_reason
                reply.report = (chunk.model_extra or {}).get("safethink") or {}
    return reply


def read_completion(completion: ChatCompletion) -> Reply:
    message = completion.choices[0].message
    return Reply(
        reasoning=_reasoning(message),
        content=message.content or "",
        finish_reason=completion.choices[0].finish_reason,
        report=(completion.model_extra or {}).get("safethink") or {},
        usage=completion.usage.model_dump(exclude_none=True) if completion.usage else None,
    )


def upstream_requests(upstream: ServerProcess, model: str) -> list[dict[str, Any]]:
    """The bodies the scripted upstream received for this scenario, in order."""
    requests = httpx.get(upstream.url + "/_requests", timeout=5).json()
    return [r for r in requests if r["body"].get("model") == model]


def scorer_calls(scorer: ServerProcess) -> list[dict[str, Any]]:
    return list(httpx.get(scorer.url + "/_calls", timeout=5).json())


def cancelled_streams(upstream: ServerProcess) -> int:
    """How many streams the scripted upstream saw its client close before the end."""
    return int(httpx.get(upstream.url + "/_stats", timeout=5).json()["cancelled"])


def wait_cancelled(upstream: ServerProcess, before: int, within_s: float) -> int:
    """The count of closed streams once it passes ``before``, or as it is after ``within_s``."""
    deadline = time.monotonic() + within_s
    while (count := cancelled_streams(upstream)) <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


def finished_record(proxy: ServerProcess, request_id: str) -> dict[str, Any]:
    """The request's audit record once it has an outcome (it is written as the stream ends)."""
    record: dict[str, Any] = {}
    for _ in range(100):
        response = httpx.get(f"{proxy.url}/v1/safethink/requests/{request_id}", timeout=5)
        record = response.json() if response.status_code == 200 else {}
        if record.get("outcome"):
            break
        time.sleep(0.05)
    return record
