"""The SafeThink loop over one request (docs/method.md, "The loop").

Where it sits in a request's way through the proxy: docs/design.md, "The request's way".

Steps 1..m of the monitored text (the thinking block, or the content when the model has none)
are held until scored with R(x, z + y). A step at or above tau is released; one below tau is
dropped, the upstream call is cancelled, and the generation is re-issued from the accepted trace
plus the steering prefix, up to B times for that step: the first resample at or above tau wins,
else the last one is kept. From step m + 1 on, text streams straight through.

Scoring never pauses reading: while step k is scored the next chunks are read into the queue
behind it, and a rejected step discards that queue along with the cancelled call. Each call is
an ``async with``; the read-ahead and the score call are tasks owned by the call's loop, which
cancels and awaits them whenever it ends (a steer, an error, the client going away).

Under ``release=sentence`` a guarded step is held a sentence at a time (sentences.py): each unit
is scored with R(x, z + the step so far) and released when safe (it joins z at once). A unit
below tau before its step's end is deferred: the rest of the step joins it, and the remainder is
judged whole at the step's end (``attempt.py``), so a step is steered exactly when step release
would steer it. B counts per step; ``recovered`` and ``exhausted`` count per steer (its first
verdict after the resample).

Choices written down here: the steering prefix stays in the trace (the model sees it, the scorer
scores z + s + y', the client sees it unless ``show_prefix`` is off); a prefix alone is not a step
(the segmenter glues it to the text that follows); a space parts the prefix from the text before
and after it where neither has whitespace there, in the prefill the model continues from as in
what the client reads, so that the model starts a new sentence; ``max_tokens`` bounds each
upstream call.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AbstractAsyncContextManager, aclosing
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from proxy.api.schemas import Report, Usage
from proxy.engine.attempt import Attempt, Step
from proxy.engine.events import Event, Finish
from proxy.engine.monitor import Watcher
from proxy.engine.policies import Plan, RequestSide
from proxy.engine.reasoning import Shape
from proxy.exceptions import SafeThinkError, ScoringError
from proxy.metrics import Metrics
from proxy.scoring import ScorePrompt, Scorer
from proxy.settings import Settings
from proxy.state.audit import Recorder
from proxy.state.store import Decision
from proxy.upstream.continuation import Call
from proxy.upstream.deltas import CallKind, UpstreamDelta

Verdict = Literal["accept", "steer", "defer"]


class Opener(Protocol):
    """Opens one upstream generation and yields its deltas, one list per upstream chunk
    (the chat continuer, and the completions API's opener)."""

    def open(
        self, call: Call
    ) -> AbstractAsyncContextManager[tuple[AsyncIterator[list[UpstreamDelta]], CallKind]]: ...

@dataclass(frozen=True, slots=True)
class Result:
    """What the generation came to, so far or in the end: what the wires read, never write."""

    report: Report
    usage: Usage
    finish_reason: str | None
    error: SafeThinkError | None
    shape: Shape | None  # the reasoning's shape on the upstream, once known


class SteeringEngine:
    def __init__(
        self,
        *,
        settings: Settings,
        plan: Plan,
        side: RequestSide,
        body: dict[str, Any],
        prompt: ScorePrompt,
        scorer: Scorer,
        continuer: Opener,
        recorder: Recorder,
        metrics: Metrics,
        request_id: str,
    ) -> None:
        self.settings = settings
        self.plan = plan
        self.side = side
        self.body = body  # as the first call sends it (the policy's changes made)
        self.prompt = prompt  # x, as the scorer reads it
        self.scorer = scorer
        self.continuer = continuer
        self.recorder = recorder
        self.metrics = metrics
        self.shape: Shape | None = None
        self.mode: Literal["reasoning", "content"] | None = None
        # z, the accepted monitored text, in parts: text is added with every released chunk and
        # read only when a step is scored or resampled, so it is joined then, not per chunk.
        self._trace: list[str] = []
        self.usage: Usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        self.finish_reason: str | None = None
        self.error: SafeThinkError | None = None  # set when the generation ended in an error
        self.report: Report = {
            "request_id": recorder.request_id,
            "policy": plan.policy,
            "steps_scored": 0,
            "scores": [],
            "violations": 0,
            "steers": 0,
            "resamples": 0,
            "recovered": 0,
            "exhausted": 0,
            "fail_open": 0,
            "upstream_calls": 0,
            "continuation": None,
        }
        self.accepted_steps = 0
        self.step_units = 0  # units of the step in progress accepted (sentence release)
        self._resamples_used = 0  # for the step being decided
        self._steered = False  # the last verdict was a steer: the next one tells its outcome
        self.watcher = Watcher(self) if plan.monitors else None

    async def events(self) -> AsyncGenerator[list[Event], None]:
        """The generation as the client sees it, in batches: what is ready at the same moment
        goes out together (one write to the client, not one per event)."""
        call = Call(self.body, self.side.prefill)
        state = "think" if self.side.inside_think else ("answer" if call.prefill else "start")
        lead = ""
        try:
            while True:
                run = Attempt(self, state, lead)
                async with aclosing(run.play(call)) as batches:
                    async for batch in batches:
                        if self.watcher is not None and isinstance(batch[-1], Finish):
                            # The report on the finish holds every watched step's score.
                            if batch[:-1]:
                                yield batch[:-1]
                            await self.watcher.drain()
                            batch = batch[-1:]
                        yield batch
                if not run.steer:
                    return
                call, state, lead = self._resample(call)
        except SafeThinkError as exc:
            self.error = exc  # the request's outcome is "error", whoever writes it out
            raise
        finally:
            if self.watcher is not None:
                await self.watcher.aclose()

    @property
    def result(self) -> Result:
        return Result(self.report, self.usage, self.finish_reason, self.error, self.shape)

    @property
    def trace(self) -> str:
        """z: the accepted monitored text."""
        if len(self._trace) > 1:
            self._trace[:] = ["".join(self._trace)]
        return self._trace[0] if self._trace else ""

    def extend_trace(self, text: str) -> None:
        self._trace.append(text)

    def _resample(self, call: Call) -> tuple[Call, str, str]:
        trace = self.trace
        lead = steering_lead(self.plan.steering_prefix, trace)
        if self.mode == "content":
            prefill, state = self.side.prefill + trace + lead, "answer"
        else:
            opener = self.side.prefill or self.settings.think_open
            glue = "" if opener.endswith("\n") or trace[:1].isspace() else "\n"
            prefill, state = opener + glue + trace + lead, "think"
        return Call(call.body, prefill, call.attempt + 1), state, lead

    # -- decisions, called by Attempt ------------------------------------------------------

    def guarded(self, index: int) -> bool:
        return self.plan.steers and index <= self.plan.steer_steps

    def watched(self, index: int) -> bool:
        return self.plan.monitors and index <= self.plan.steer_steps

    async def observe(self, step: Step, score: float | None, latency: float) -> None:
        """Record a watched step's verdict (policy monitor): nothing is held or steered."""
        report = self.report
        if score is None:
            report["fail_open"] += 1
            await self._record(step, 0, None, "unscored", latency)
            return
        self._count(score)
        self.metrics.score_latency.observe(latency)
        if score >= self.plan.tau:
            await self._record(step, 0, score, "accept", latency)
            return
        report["violations"] += 1
        self.metrics.violations.inc()
        self.metrics.would_steer.inc()
        await self._record(step, 0, score, "would_steer", latency)

    async def score(self, step: Step) -> tuple[float | None, float]:
        started = time.perf_counter()
        try:
            score = await self.scorer.score(self.prompt, self.trace + step.text)
        except ScoringError:
            self.metrics.fail_mode_events.labels(mode=self.plan.fail_mode).inc()
            if self.plan.fail_mode == "closed":
                raise
            return None, time.perf_counter() - started
        latency = time.perf_counter() - started
        self.metrics.score_latency.observe(latency)
        return score, latency

    async def decide(
        self, step: Step, score: float | None, latency: float, attempt: int
    ) -> Verdict:
        """Record the unit's verdict: kept, steered, or (a unit below tau before its step's end,
        under sentence release) deferred to the step's end."""
        report = self.report
        if score is None:
            report["fail_open"] += 1
            await self._record(step, attempt, None, "unscored", latency)
            return self._accept(step)
        self._count(score)
        if score >= self.plan.tau:
            self._outcome("recovered")
            await self._record(step, attempt, score, "accept", latency)
            return self._accept(step)
        can_steer = self._resamples_used < self.plan.resamples
        if can_steer and not (step.closes or step.final):
            await self._record(step, attempt, score, "defer", latency)
            return "defer"
        report["violations"] += 1
        self.metrics.violations.inc()
        if can_steer:
            self._resamples_used += 1
            self._steered = True
            report["steers"] += 1
            report["resamples"] += 1
            self.metrics.steers.inc()
            await self._record(step, attempt, score, "steer", latency)
            return "steer"
        self._outcome("exhausted")
        await self._record(step, attempt, score, "keep_exhausted", latency)
        return self._accept(step)

    def _count(self, score: float) -> None:
        self.report["steps_scored"] += 1
        self.report["scores"].append(round(score, 4))
        self.metrics.steps_scored.inc()

    def _outcome(self, outcome: Literal["recovered", "exhausted"]) -> None:
        if self._steered:
            self._steered = False
            self.report[outcome] += 1
            self.metrics.resample_outcomes.labels(outcome=outcome).inc()

    async def _record(
        self, step: Step, attempt: int, score: float | None, decision: Decision, latency: float
    ) -> None:
        await self.recorder.step(
            step.index, attempt, step.text, score, decision, latency, sentence=step.sentence
        )

    def _accept(self, step: Step) -> Verdict:
        self.extend_trace(step.text)
        self.step_units += 1
        if step.closes:
            self.close_step()
        return "accept"

    def close_step(self) -> None:
        """The step in progress is accepted whole: B starts again for the next one."""
        self.accepted_steps += 1
        self.step_units = 0
        self._resamples_used = 0
        self._steered = False

    def add_usage(self, usage: dict[str, Any] | None) -> None:
        if not usage:
            return
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            value = usage.get(key)
            if isinstance(value, int):
                self.usage[key] += value


def steering_lead(prefix: str, trace: str) -> str:
    """The steering prefix as it heads a resampled step: parted by a space from the accepted
    text before it and from the model's next words, where neither has whitespace there."""
    before = " " if trace and not trace[-1].isspace() and not prefix[:1].isspace() else ""
    after = "" if prefix[-1:].isspace() else " "
    return before + prefix + after

