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

Choices written down here: the steering prefix stays in the trace (the model sees it, the scorer
scores z + s + y', the client sees it unless ``show_prefix`` is off); a prefix alone is not a step
(the segmenter glues it to the text that follows); ``max_tokens`` bounds each upstream call.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AbstractAsyncContextManager, aclosing
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from proxy.api.schemas import Report, Usage
from proxy.engine.events import Content, Delta, Event, Finish, Reasoning, ThinkEnd
from proxy.engine.policies import Plan, RequestSide
from proxy.engine.reasoning import Piece, ReasoningParser, Shape
from proxy.engine.segmenter import Segmenter
from proxy.exceptions import SafeThinkError, ScoringError, UpstreamUnavailable
from proxy.metrics import Metrics
from proxy.scoring import ScorePrompt, Scorer
from proxy.settings import Settings
from proxy.state.audit import Recorder
from proxy.upstream.continuation import Call
from proxy.upstream.deltas import CallKind, Fields, Text, UpstreamDelta, UsageReport

# What a held event that is not text counts for in the read-ahead bound.
_EVENT_CHARS = 64


class Opener(Protocol):
    """Opens one upstream generation and yields its deltas, one list per upstream chunk
    (the chat continuer, and the completions API's opener)."""

    def open(
        self, call: Call
    ) -> AbstractAsyncContextManager[tuple[AsyncIterator[list[UpstreamDelta]], CallKind]]: ...


@dataclass(slots=True)
class _Step:
    index: int
    text: str  # as the model wrote it (with the steering prefix at its head after a steer)
    shown: str  # as the client sees it
    held_at: float  # when it was complete and began to wait for its verdict


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
        self._accepted_steps = 0
        self._resamples_used = 0  # for the step being decided

    async def events(self) -> AsyncGenerator[list[Event], None]:
        """The generation as the client sees it, in batches: what is ready at the same moment
        goes out together (one write to the client, not one per event)."""
        call = Call(self.body, self.side.prefill)
        state = "think" if self.side.inside_think else ("answer" if call.prefill else "start")
        lead = ""
        try:
            while True:
                run = _Call(self, state, lead)
                async with aclosing(run.play(call)) as batches:
                    async for batch in batches:
                        yield batch
                if not run.steer:
                    return
                call, state, lead = self._resample(call)
        except SafeThinkError as exc:
            self.error = exc  # the request's outcome is "error", whoever writes it out
            raise

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
        prefix = self.plan.steering_prefix
        trace = self.trace
        if self.mode == "content":
            prefill, state = self.side.prefill + trace + prefix, "answer"
        else:
            opener = self.side.prefill or self.settings.think_open
            glue = "" if opener.endswith("\n") or trace[:1].isspace() else "\n"
            prefill, state = opener + glue + trace + prefix, "think"
        return Call(call.body, prefill, call.attempt + 1), state, prefix

    # -- decisions, called by _Call ------------------------------------------------------

    def guarded(self, index: int) -> bool:
        return self.plan.steers and index <= self.plan.steer_steps

    async def score(self, step: _Step) -> tuple[float | None, float]:
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

    async def decide(self, step: _Step, score: float | None, latency: float, attempt: int) -> bool:
        """Record the step's verdict; True when the step is kept, False to steer."""
        report = self.report
        if score is None:
            report["fail_open"] += 1
            await self.recorder.step(step.index, attempt, step.text, None, "unscored", latency)
            return self._accept(step)
        report["steps_scored"] += 1
        report["scores"].append(round(score, 4))
        self.metrics.steps_scored.inc()
        if score >= self.plan.tau:
            if self._resamples_used:
                report["recovered"] += 1
                self.metrics.resample_outcomes.labels(outcome="recovered").inc()
            await self.recorder.step(step.index, attempt, step.text, score, "accept", latency)
            return self._accept(step)
        report["violations"] += 1
        self.metrics.violations.inc()
        if self._resamples_used < self.plan.resamples:
            self._resamples_used += 1
            report["steers"] += 1
            report["resamples"] += 1
            self.metrics.steers.inc()
            await self.recorder.step(step.index, attempt, step.text, score, "steer", latency)
            return False
        if self._resamples_used:
            report["exhausted"] += 1
            self.metrics.resample_outcomes.labels(outcome="exhausted").inc()
        await self.recorder.step(step.index, attempt, step.text, score, "keep_exhausted", latency)
        return self._accept(step)

    def _accept(self, step: _Step) -> bool:
        self.extend_trace(step.text)
        self._accepted_steps += 1
        self._resamples_used = 0
        return True

    def add_usage(self, usage: dict[str, Any] | None) -> None:
        if not usage:
            return
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            value = usage.get(key)
            if isinstance(value, int):
                self.usage[key] += value


class _Call:
    """One upstream call: reads, segments, holds, and plays out its events in order."""

    def __init__(self, engine: SteeringEngine, state: str, lead: str) -> None:
        settings = engine.settings
        self.engine = engine
        self.parser = ReasoningParser(settings.think_open, settings.think_close, state)
        self.segmenter = Segmenter(settings.step_delimiter, settings.max_step_chars)
        if lead:
            self.segmenter.lead(lead)
        self.lead = lead
        self.next_index = engine._accepted_steps + 1
        self.guarding = engine.guarded(self.next_index)
        self.queue: deque[_Step | Event] = deque()  # held output, a step awaiting its score first
        self.out: list[Event] = []
        self.scoring: asyncio.Task[tuple[float | None, float]] | None = None
        self.steer = False
        self.kind: CallKind = "chat"
        self.usage: dict[str, Any] | None = None
        self.opened_at = 0.0  # until the first event arrives
        self.finished = False  # a finish_reason came: the stream may end
        # Characters read ahead into the queue while a step is scored, bounded by
        # max_readahead_chars: past it, reading waits for the verdict (the upstream is paced by
        # TCP, the proxy's memory is not at the mercy of a fast generation).
        self.held_chars = 0

    async def play(self, call: Call) -> AsyncGenerator[list[Event], None]:
        engine = self.engine
        self.opened_at = time.perf_counter()
        async with engine.continuer.open(call) as (chunks, self.kind):
            engine.report["upstream_calls"] += 1
            if call.prefill and call.attempt:
                engine.report["continuation"] = self.kind
            if call.attempt == 0:
                first: list[Event] = [Delta({"role": "assistant", "content": ""})]
                if engine.side.shown_reasoning:
                    first.append(Reasoning(engine.side.shown_reasoning))
                yield first
            reading: asyncio.Task[list[UpstreamDelta] | None] | None = None
            ended = False
            try:
                limit = engine.settings.max_readahead_chars
                while not self.steer and not (ended and not self.queue and not self.scoring):
                    if self.scoring is not None and not ended and self.held_chars < limit:
                        reading = reading or asyncio.ensure_future(anext(chunks, None))
                        await asyncio.wait(
                            {self.scoring, reading}, return_when=asyncio.FIRST_COMPLETED
                        )
                        if self.scoring.done():
                            await self._scored(call.attempt)
                        if reading.done() and not self.steer:
                            chunk, reading = reading.result(), None
                            ended = self._chunk(chunk)
                    elif self.scoring is not None:
                        await asyncio.wait({self.scoring})
                        await self._scored(call.attempt)
                    else:
                        chunk = await (reading or anext(chunks, None))
                        reading = None
                        ended = self._chunk(chunk)
                    self._start_scoring()
                    if self.out:
                        batch, self.out = self.out, []
                        yield batch
            finally:
                await _cancel(reading, self.scoring)
                engine.add_usage(self.usage)

    # -- reading ---------------------------------------------------------------------------

    def _chunk(self, chunk: list[UpstreamDelta] | None) -> bool:
        """Take one upstream chunk's deltas; True at the end of the stream."""
        if self.opened_at:
            self.engine.metrics.upstream_ttft.observe(time.perf_counter() - self.opened_at)
            self.opened_at = 0.0
        if chunk is None:
            if not self.finished:
                # A clean close before the generation said it was done is a truncated answer,
                # not a whole one: never passed off as "stop".
                raise UpstreamUnavailable(
                    "the model server ended the stream before the generation finished "
                    "(no finish_reason)"
                )
            self._end_of_text(self.parser.finish())
            self._release(Finish(self.engine.finish_reason))
            return True
        parser = self.parser
        for delta in chunk:
            if isinstance(delta, Text):
                if delta.field == "content":
                    self._pieces(parser.content(delta.text))
                else:
                    self._pieces(parser.reasoning_field(delta.field, delta.text))
            elif isinstance(delta, Fields):
                self._release(Delta(delta.fields))
            elif isinstance(delta, UsageReport):
                self.usage = delta.usage
            else:
                self.engine.finish_reason = delta.reason
                self.finished = True
        return False

    def _end_of_text(self, pieces: list[Piece]) -> None:
        self._pieces(pieces)
        self._end_monitored()

    def _pieces(self, pieces: list[Piece]) -> None:
        engine = self.engine
        if engine.shape is None and self.parser.shape is not None:
            engine.shape = self.parser.shape
        for piece in pieces:
            if piece.kind == "think_end":
                if engine.mode == "reasoning":
                    self._end_monitored()
                self._release(ThinkEnd())
                continue
            if engine.mode is None:
                engine.mode = piece.kind  # the first visible text decides what is monitored
            if piece.kind == engine.mode:
                self._monitored(piece.text)
            else:
                self._release(
                    Reasoning(piece.text) if piece.kind == "reasoning" else Content(piece.text)
                )

    def _monitored(self, text: str) -> None:
        if not self.guarding:
            self._release_text(text)
            return
        for step in self.segmenter.feed(text):
            if self.guarding:
                self._hold(step)
            else:
                self._release_text(step)
        if not self.guarding and (rest := self.segmenter.flush()):
            self._release_text(rest)

    def _end_monitored(self) -> None:
        rest = self.segmenter.flush()
        if self.guarding and rest.strip():
            self._hold(rest)
        elif rest:
            self._release_text(rest)

    def _hold(self, text: str) -> None:
        shown = text
        if self.lead and not self.engine.plan.show_prefix:
            shown = text[len(self.lead) :]
        self.lead = ""
        self.queue.append(_Step(self.next_index, text, shown, time.perf_counter()))
        self.held_chars += len(text)
        self.next_index += 1
        self.guarding = self.engine.guarded(self.next_index)

    def _release_text(self, text: str) -> None:
        # Text past the guarded steps is in the trace the moment it reaches the client.
        if not self.queue and not self.scoring:
            self.engine.extend_trace(text)
        self._release(self._event(text))

    def _event(self, text: str) -> Event:
        return Reasoning(text) if self.engine.mode == "reasoning" else Content(text)

    def _release(self, event: Event) -> None:
        if self.queue or self.scoring:
            self.queue.append(event)
            self.held_chars += _held_size(event)
        else:
            self.out.append(event)

    # -- scoring ---------------------------------------------------------------------------

    def _start_scoring(self) -> None:
        if self.scoring is None and self.queue and isinstance(self.queue[0], _Step):
            self.scoring = asyncio.ensure_future(self.engine.score(self.queue[0]))

    async def _scored(self, attempt: int) -> None:
        assert self.scoring is not None
        task, self.scoring = self.scoring, None
        score, latency = task.result()
        step = self.queue.popleft()
        assert isinstance(step, _Step)
        self.held_chars -= len(step.text)
        if not await self.engine.decide(step, score, latency, attempt):
            self.steer = True
            self.queue.clear()
            self.held_chars = 0
            return
        self.engine.metrics.proxy_added.observe(time.perf_counter() - step.held_at)
        self.out.append(self._event(step.shown))
        while self.queue and not isinstance(self.queue[0], _Step):
            event = self.queue.popleft()
            assert not isinstance(event, _Step)
            self.held_chars -= _held_size(event)
            if isinstance(event, (Reasoning, Content)) and _is_monitored(event, self.engine):
                self.engine.extend_trace(event.text)
            self.out.append(event)


def _held_size(event: Event) -> int:
    return len(event.text) if isinstance(event, (Reasoning, Content)) else _EVENT_CHARS


def _is_monitored(event: Reasoning | Content, engine: SteeringEngine) -> bool:
    return (engine.mode == "reasoning") == isinstance(event, Reasoning)


async def _cancel(*tasks: asyncio.Future[Any] | None) -> None:
    pending = [task for task in tasks if task is not None and not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
