"""One attempt of a request's generation: one upstream call, read, segmented into steps, its
guarded steps held and scored in order, and its events played out as they are decided. A steer
ends the attempt; the engine (steering.py) starts the next one from the accepted trace.

A guarded step is held and scored whole, or a sentence at a time (``release=sentence``,
sentences.py): each unit waits for its own verdict, and the last one closes the step. A unit
below tau before its step's end is not steered at once: it waits, joined by the rest of its step
as it comes, and the step's remainder is judged whole at its end, so that a step is steered
exactly when step release would steer it (the remainder's trace is z + the whole step). Only an
event between its sentences (a tool-call delta) judges it sooner, as it stands.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from proxy.engine.events import Content, Delta, Event, Finish, Reasoning, ThinkEnd
from proxy.engine.reasoning import Piece, ReasoningParser
from proxy.engine.segmenter import Segmenter
from proxy.engine.sentences import Release, SentenceRelease, StepRelease
from proxy.exceptions import UpstreamUnavailable
from proxy.upstream.continuation import Call
from proxy.upstream.deltas import CallKind, Fields, Text, UpstreamDelta, UsageReport

if TYPE_CHECKING:
    from proxy.engine.steering import SteeringEngine

# What a held event that is not text counts for in the read-ahead bound.
_EVENT_CHARS = 64


@dataclass(slots=True)
class Step:
    """A unit held for its verdict: a whole step, or one sentence of it."""

    index: int
    text: str  # as the model wrote it (with the steering prefix at its head after a steer)
    shown: str  # as the client sees it
    held_at: float  # when it was complete and began to wait for its verdict
    sentence: int | None = None  # its number in the step, under sentence release
    closes: bool = True  # the step's last unit
    waits: bool = False  # scored below tau early: waits for the rest of its step
    final: bool = False  # its verdict may not wait any more



class Attempt:
    """One upstream call: reads, segments, holds, and plays out its events in order."""

    def __init__(self, engine: SteeringEngine, state: str, lead: str) -> None:
        settings = engine.settings
        self.engine = engine
        self.parser = ReasoningParser(settings.think_open, settings.think_close, state)
        self.segmenter = Segmenter(settings.step_delimiter, settings.max_step_chars)
        self.by_sentence = settings.release == "sentence"
        self.release: Release = (
            SentenceRelease(settings.max_sentence_chars) if self.by_sentence else StepRelease()
        )
        if lead:
            self.segmenter.lead(lead)
            self.release.lead(len(lead))
        self.lead = lead
        self.next_index = engine.accepted_steps + 1
        self.sentence = engine.step_units  # units of the step in progress accepted so far
        self.guarding = engine.guarded(self.next_index)
        self.watching = engine.watched(self.next_index)  # policy monitor: scored beside
        self.queue: deque[Step | Event] = deque()  # held output, a step awaiting its score first
        self.out: list[Event] = []
        self.scoring: asyncio.Task[tuple[float | None, float]] | None = None
        self.waiting: Step | None = None  # a unit waiting for the rest of its step
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
        if self.watching:
            self._release_text(text)
            for step in self.segmenter.feed(text):
                self._watch(step)
            return
        if not self.guarding:
            self._release_text(text)
            return
        for step in self.segmenter.feed(text):
            if self.guarding:
                self._hold_step(self.release.close(step))
            else:
                self._release_text(step)
        if self.guarding:
            for unit in self.release.more(self._in_progress()):
                self._hold(unit, closes=False)
        elif rest := self.segmenter.flush():
            self._release_text(rest)

    def _in_progress(self) -> str:
        # Never cut a sentence past where the segmenter may still cut the step for its length:
        # a unit must lie inside one step.
        pending, limit = self.segmenter.pending, self.engine.settings.max_step_chars
        return pending if len(pending) <= limit else pending[:limit]

    def _end_monitored(self) -> None:
        rest = self.segmenter.flush()
        if self.watching:
            if rest.strip():
                self._watch(rest)
            return
        if self.guarding and rest.strip():
            self._hold_step(self.release.close(rest))
        elif rest:
            self._release_text(rest)

    def _hold_step(self, units: list[str]) -> None:
        """Hold a complete step's last units; the last one closes it."""
        *body, last = units
        for unit in body:
            self._hold(unit, closes=False)
        if last:
            self._hold(last, closes=True)
            return
        # The units held or released already cover the step: the last of them closes it.
        held = [item for item in self.queue if isinstance(item, Step)]
        if held:
            held[-1].closes = True
        else:
            self.engine.close_step()
        self._next_step()

    def _watch(self, text: str) -> None:
        """A complete step under policy monitor: already on its way out, scored beside it."""
        assert self.engine.watcher is not None
        if self.watching:
            self.engine.watcher.submit(Step(self.next_index, text, text, time.perf_counter()))
            self.next_index += 1
            self.watching = self.engine.watched(self.next_index)
            if not self.watching:
                self.segmenter.flush()  # released already; from here on nothing is watched

    def _hold(self, text: str, closes: bool) -> None:
        shown = text
        if self.lead and not self.engine.plan.show_prefix:
            shown = text[len(self.lead) :]
        self.lead = ""
        if (waiting := self.waiting) is not None:  # the rest of a waiting unit's step
            waiting.text += text
            waiting.shown += shown
            self.held_chars += len(text)
            if closes:
                waiting.closes, waiting.waits, self.waiting = True, False, None
                self._next_step()
            return
        self.sentence += 1
        number = self.sentence if self.by_sentence else None
        self.queue.append(Step(self.next_index, text, shown, time.perf_counter(), number, closes))
        self.held_chars += len(text)
        if closes:
            self._next_step()

    def _next_step(self) -> None:
        self.next_index += 1
        self.sentence = 0
        self.guarding = self.engine.guarded(self.next_index)

    def _release_text(self, text: str) -> None:
        # Text past the guarded steps is in the trace the moment it reaches the client.
        if not self.queue and not self.scoring:
            self.engine.extend_trace(text)
        self._release(self._event(text))

    def _event(self, text: str) -> Event:
        return Reasoning(text) if self.engine.mode == "reasoning" else Content(text)

    def _release(self, event: Event) -> None:
        if self.waiting is not None:  # an event inside the step: it is judged as it stands
            self.waiting.waits, self.waiting.final, self.waiting = False, True, None
        if self.queue or self.scoring:
            self.queue.append(event)
            self.held_chars += _held_size(event)
        else:
            self.out.append(event)

    # -- scoring ---------------------------------------------------------------------------

    def _start_scoring(self) -> None:
        head = self.queue[0] if self.queue else None
        if self.scoring is None and isinstance(head, Step) and not head.waits:
            self.scoring = asyncio.ensure_future(self.engine.score(head))

    async def _scored(self, attempt: int) -> None:
        assert self.scoring is not None
        task, self.scoring = self.scoring, None
        score, latency = task.result()
        step = self.queue.popleft()
        assert isinstance(step, Step)
        self.held_chars -= len(step.text)
        verdict = await self.engine.decide(step, score, latency, attempt)
        if verdict == "defer":
            self._wait(step)
            return
        if verdict == "steer":
            self.steer = True
            self.queue.clear()
            self.held_chars = 0
            return
        self.engine.metrics.proxy_added.observe(time.perf_counter() - step.held_at)
        self.out.append(self._event(step.shown))
        while self.queue and not isinstance(self.queue[0], Step):
            event = self.queue.popleft()
            assert not isinstance(event, Step)
            self.held_chars -= _held_size(event)
            if isinstance(event, (Reasoning, Content)) and _is_monitored(event, self.engine):
                self.engine.extend_trace(event.text)
            self.out.append(event)


    def _wait(self, step: Step) -> None:
        """Put a unit that scored below tau back, joined by its step's units read since."""
        while self.queue and isinstance(head := self.queue[0], Step) and not step.closes:
            self.queue.popleft()
            self.held_chars -= len(head.text)
            step.text, step.shown = step.text + head.text, step.shown + head.shown
            step.closes = head.closes
        if self.queue and not step.closes:  # an event follows: judge it as it stands
            step.final = True
        step.waits = not (step.closes or step.final)
        if step.waits:
            self.waiting = step
        self.queue.appendleft(step)
        self.held_chars += len(step.text)


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
