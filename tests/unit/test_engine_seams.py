"""The steering engine in process, with fakes at its seams (the upstream opener and the scorer):
what it reads while a step waits for its verdict, how a truncated stream ends, and that every
upstream call it opened is closed when its consumer stops early."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any

import pytest

from proxy.engine.events import Event, Reasoning
from proxy.engine.policies import Plan, RequestSide
from proxy.engine.steering import SteeringEngine
from proxy.exceptions import UpstreamUnavailable
from proxy.metrics import Metrics
from proxy.scoring import ScorePrompt
from proxy.settings import Settings
from proxy.state.audit import Recorder
from proxy.state.store import MemoryStore
from proxy.upstream.client import Chunk
from proxy.upstream.continuation import Call
from proxy.upstream.deltas import CallKind, UpstreamDelta, decode

PLAN = Plan(policy="safethink", tau=0.0, steer_steps=3, resamples=4,
            steering_prefix="Wait, think safely.", show_prefix=True, fail_mode="closed")


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


def engine(upstream: FakeUpstream, scorer: GatedScorer, **settings: Any) -> SteeringEngine:
    config = Settings(**settings)
    metrics = Metrics()
    return SteeringEngine(
        settings=config, plan=PLAN, side=RequestSide([]),
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
