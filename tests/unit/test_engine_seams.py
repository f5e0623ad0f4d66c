"""The steering engine in process, with fakes at its seams (the upstream opener and the scorer):
what it reads while a step waits for its verdict, how a truncated stream ends, and that every
upstream call it opened is closed when its consumer stops early."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any

import pytest

from proxy.engine.events import Event, Finish, Reasoning
from proxy.engine.policies import Plan, RequestSide
from proxy.engine.steering import SteeringEngine
from proxy.exceptions import UpstreamUnavailable
from proxy.metrics import Metrics
from proxy.scoring import ScorePrompt, Scorer
from proxy.settings import Settings
from proxy.state.audit import Recorder
from proxy.state.store import MemoryStore
from proxy.upstream.client import Chunk
from proxy.upstream.continuation import Call
from proxy.upstream.deltas import CallKind, UpstreamDelta, decode

PLAN = Plan(policy="safethink", tau=0.0, steer_steps=3, resamples=4,
            steering_prefix="Wait, think safely.", show_prefix=True, fail_mode="closed")
MONITOR = dataclasses.replace(PLAN, policy="monitor")


def chunk(text: str, finish: str | None = None) -> Chunk:
    return {"choices": [{"index": 0, "delta": {"reasoning_content": text},
                         "finish_reason": finish}]}


class FakeUpstream:
    """Plays ``chunks`` per call and counts what was pulled and which calls are still open."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self.chunks = chunks
        self.pulled = 0
        self.open_calls = 0

    @asynccontextmanager
    async def open(
        self, call: Call
    ) -> AsyncIterator[tuple[AsyncIterator[list[UpstreamDelta]], CallKind]]:
        self.open_calls += 1
        try:
            yield self._play(), "chat"
        finally:
            self.open_calls -= 1

    async def _play(self) -> AsyncIterator[list[UpstreamDelta]]:
        for item in self.chunks:
            self.pulled += 1
            yield decode(item, "chat")
            await asyncio.sleep(0)


class GatedScorer:
    """Scores every trace safe, but only once ``gate`` is set."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.calls = 0

    async def score(self, prompt: ScorePrompt, trace: str) -> float:
        self.calls += 1
        await self.gate.wait()
        return 1.0

    async def check(self) -> str | None:
        return None

    async def aclose(self) -> None:
        return None


def engine(upstream: FakeUpstream, scorer: Scorer, plan: Plan = PLAN,
           **settings: Any) -> SteeringEngine:
    config = Settings(**settings)
    metrics = Metrics()
    return SteeringEngine(
        settings=config, plan=plan, side=RequestSide([]),
        body={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        prompt=ScorePrompt.of([{"role": "user", "content": "hi"}], 8000), scorer=scorer,
        continuer=upstream, recorder=Recorder(MemoryStore(), metrics, "r1", keep_text=False),
        metrics=metrics, request_id="r1")


async def drain(events: AsyncIterator[list[Event]]) -> list[Event]:
    return [event async for batch in events for event in batch]


async def test_read_ahead_stops_at_its_bound_while_a_step_is_scored() -> None:
    # step 1, then a long unguarded tail arriving fast while step 1 waits for its verdict
    chunks = [chunk("step one\n\n")] + [chunk("x" * 100) for _ in range(10_000)]
    upstream, scorer = FakeUpstream([*chunks, chunk("", "stop")]), GatedScorer()
    guarded = engine(upstream, scorer, max_readahead_chars=5_000, steer_steps=1)
    run = asyncio.ensure_future(drain(guarded.events()))
    for _ in range(2_000):
        await asyncio.sleep(0)  # the engine reads as far as it is allowed to
    assert scorer.calls == 1
    # the bound (5,000 characters = 50 chunks), not the 10,000 chunks on offer
    assert upstream.pulled < 100
    scorer.gate.set()
    events = await run
    text = "".join(e.text for e in events if isinstance(e, Reasoning))
    assert text == "step one\n\n" + "x" * 1_000_000  # nothing lost to the bound


async def test_a_stream_that_ends_without_a_finish_reason_is_an_error() -> None:
    upstream, scorer = FakeUpstream([chunk("a step\n\n"), chunk("more")]), GatedScorer()
    scorer.gate.set()
    with pytest.raises(UpstreamUnavailable, match="before the generation finished"):
        await drain(engine(upstream, scorer).events())
    assert upstream.open_calls == 0


async def test_closing_the_events_early_closes_the_upstream_call_first() -> None:
    upstream, scorer = FakeUpstream([chunk("s\n\n")] * 50 + [chunk("", "stop")]), GatedScorer()
    scorer.gate.set()
    guarded = engine(upstream, scorer)
    async with aclosing(guarded.events()) as events:
        await anext(events)
        await anext(events)
        assert upstream.open_calls == 1
    # closed by aclosing, not left to the garbage collector
    assert upstream.open_calls == 0


class ScriptedCalls(FakeUpstream):
    """A first call, then the same resample for every later call; the first call stops after
    ``pause_after`` chunks until ``go`` is set."""

    def __init__(self, first: list[Chunk], resample: list[Chunk], pause_after: int = -1) -> None:
        super().__init__(first)
        self.resample, self.pause_after = resample, pause_after
        self.go = asyncio.Event()
        self.prefills: list[str] = []

    @asynccontextmanager
    async def open(
        self, call: Call
    ) -> AsyncIterator[tuple[AsyncIterator[list[UpstreamDelta]], CallKind]]:
        self.prefills.append(call.prefill)
        self.chunks = self.resample if call.attempt else self.chunks
        async with super().open(call) as opened:
            yield opened

    async def _play(self) -> AsyncIterator[list[UpstreamDelta]]:
        for index, item in enumerate(self.chunks):
            if index == self.pause_after and self.chunks is not self.resample:
                await self.go.wait()
            yield decode(item, "chat")


class WordScorer:
    """Unsafe when the trace holds UNSAFE; logs every trace it is asked about."""

    def __init__(self) -> None:
        self.traces: list[str] = []

    async def score(self, prompt: ScorePrompt, trace: str) -> float:
        self.traces.append(trace)
        return -1.0 if "UNSAFE" in trace else 1.0

    async def check(self) -> str | None:
        return None

    async def aclose(self) -> None:
        return None


STEP_1 = "Step one is safe enough.\n\n"
FIRST, BAD, THIRD = "First sentence of two. ", "UNSAFE second sentence. ", "And a third one.\n\n"
CONTINUATION = "I will not help with that.\n\n"


async def test_sentence_release_keeps_the_safe_head_of_a_steered_step() -> None:
    first = [chunk(STEP_1), chunk(FIRST), chunk(BAD), chunk(THIRD), chunk("tail.\n\n", "stop")]
    resample = [chunk(CONTINUATION + "tail.\n\n", "stop")]
    upstream, scorer = ScriptedCalls(first, resample), WordScorer()
    guarded = engine(upstream, scorer, release="sentence")
    events = await drain(guarded.events())
    text = "".join(e.text for e in events if isinstance(e, Reasoning))
    assert text == STEP_1 + FIRST + "Wait, think safely. " + CONTINUATION + "tail.\n\n"
    # the model continues from the accepted sentence and the prefix, parted by a space
    assert upstream.prefills == ["", "<think>\n" + STEP_1 + FIRST + "Wait, think safely. "]
    # each unit is scored with everything accepted before it; the unsafe one waits for the
    # rest of its step, which is judged whole (as step release would judge it), then steered
    assert scorer.traces == [
        STEP_1, STEP_1 + FIRST, STEP_1 + FIRST + BAD, STEP_1 + FIRST + BAD + THIRD,
        STEP_1 + FIRST + "Wait, think safely. " + CONTINUATION,
        STEP_1 + FIRST + "Wait, think safely. " + CONTINUATION + "tail.\n\n"]
    assert (guarded.report["steers"], guarded.report["recovered"]) == (1, 1)
    steps = guarded.recorder.record["steps"]
    assert [(s["index"], s.get("sentence"), s["decision"]) for s in steps] == [
        (1, 1, "accept"), (2, 1, "accept"), (2, 2, "defer"), (2, 2, "steer"), (2, 2, "accept"),
        (3, 1, "accept")]


class ClearingScorer(WordScorer):
    """Unsafe while the trace holds UNSAFE and not yet the words that clear it."""

    async def score(self, prompt: ScorePrompt, trace: str) -> float:
        self.traces.append(trace)
        return -1.0 if "UNSAFE" in trace and "all clear" not in trace else 1.0


async def test_a_sentence_below_tau_that_its_whole_step_clears_is_not_steered() -> None:
    # Step release would keep this step (it scores safe whole): sentence release keeps it too.
    step = FIRST + "UNSAFE-sounding start. " + "Then, all clear here.\n\n"
    upstream, scorer = ScriptedCalls([chunk(step), chunk("", "stop")], []), ClearingScorer()
    guarded = engine(upstream, scorer, release="sentence")
    events = await drain(guarded.events())
    assert "".join(e.text for e in events if isinstance(e, Reasoning)) == step
    assert guarded.report["steers"] == 0 and guarded.report["upstream_calls"] == 1
    decisions = [s["decision"] for s in guarded.recorder.record["steps"]]
    assert decisions == ["accept", "defer", "accept"]
    assert scorer.traces[-1] == step  # the waiting sentence and the rest, judged together


async def test_a_safe_sentence_reaches_the_client_before_its_step_ends() -> None:
    first = [chunk(FIRST), chunk("And then"), chunk(" more.\n\n", "stop")]
    upstream = ScriptedCalls(first, [], pause_after=2)
    guarded = engine(upstream, WordScorer(), release="sentence")
    async with aclosing(guarded.events()) as events:
        seen = ""
        for _ in range(5):  # the role delta, then the first sentence, while the step is open
            seen += "".join(e.text for e in await anext(events) if isinstance(e, Reasoning))
            if seen:
                break
        assert seen == FIRST
        upstream.go.set()
        rest = [e async for batch in events for e in batch]
    assert "".join(e.text for e in rest if isinstance(e, Reasoning)) == "And then more.\n\n"


async def test_monitor_streams_untouched_and_scores_beside_the_stream() -> None:
    steps = ["Step one is fine.\n\n", "UNSAFE step two.\n\n", "Step three.\n\n", "Four.\n\n"]
    upstream = FakeUpstream([*map(chunk, steps), chunk("", "stop")])
    scorer = GatedScorer()
    watched = engine(upstream, scorer, MONITOR)
    async with aclosing(watched.events()) as events:
        seen = ""
        for _ in range(10):  # every step reaches the client while no score has come back
            seen += "".join(e.text for e in await anext(events) if isinstance(e, Reasoning))
            if seen == "".join(steps):
                break
        assert seen == "".join(steps)
        assert scorer.calls == 1  # step 1 is being scored; the stream did not wait for it
        scorer.gate.set()
        rest = [e async for batch in events for e in batch]
    assert isinstance(rest[-1], Finish)
    assert upstream.open_calls == 0 and watched.report["upstream_calls"] == 1
    # the guarded steps (m = 3), each scored after the ones before it
    assert watched.report["steps_scored"] == 3 and watched.report["steers"] == 0
    decisions = [s["decision"] for s in watched.recorder.record["steps"]]
    assert decisions == ["accept", "accept", "accept"]  # GatedScorer calls everything safe


async def test_monitor_records_would_steer_below_tau() -> None:
    steps = ["Step one is fine.\n\n", "UNSAFE step two.\n\n", "Step three.\n\n"]
    upstream = FakeUpstream([*map(chunk, steps), chunk("", "stop")])
    watched = engine(upstream, WordScorer(), MONITOR)
    events = await drain(watched.events())
    assert "".join(e.text for e in events if isinstance(e, Reasoning)) == "".join(steps)
    decisions = [s["decision"] for s in watched.recorder.record["steps"]]
    assert decisions == ["accept", "would_steer", "would_steer"]  # cumulative: z holds it
    assert watched.report["violations"] == 2 and watched.report["steers"] == 0


async def test_a_step_cut_for_length_where_a_sentence_ended_closes_with_that_sentence() -> None:
    # max_step_chars 33: the step is cut after "epsilon. ", exactly where its first sentence
    # was cut and released, so no text is left to close the step with.
    first = [chunk("Alpha beta gamma delta epsilon. Z"), chunk("eta theta iota.\n\n", "stop")]
    upstream, scorer = ScriptedCalls(first, []), WordScorer()
    guarded = engine(upstream, scorer, release="sentence", max_step_chars=33)
    events = await drain(guarded.events())
    assert "".join(e.text for e in events if isinstance(e, Reasoning)) == (
        "Alpha beta gamma delta epsilon. Zeta theta iota.\n\n")
    steps = guarded.recorder.record["steps"]
    assert [(s["index"], s.get("sentence")) for s in steps] == [(1, 1), (2, 1)]
    assert guarded.accepted_steps == 2
