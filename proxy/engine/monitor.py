"""Policy ``monitor``: the guarded steps are scored and recorded beside the stream, never in
front of it.

The client reads the generation as it comes, at the pass-through's pace; each guarded step
(1..m), once complete, is queued here and scored in order with R(x, z + y), z being the steps
before it (nothing is ever dropped, so z is simply the text so far). A step below tau is
recorded as ``would_steer`` and counted (``safethink_would_steer``, the report's
``violations``), so an operator can measure steer rates on real traffic before enforcing. A
scoring failure never reaches the client: the step is recorded ``unscored`` (``fail_open``).

The finish event waits for the queue to drain, so the final chunk's report and the audit record
hold every guarded step's score: that costs the end of the stream one score call at most, never
its first token. The worker is a task owned by the engine's event loop, which cancels and awaits
it when the request ends in any way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from proxy.exceptions import ScoringError

if TYPE_CHECKING:
    from proxy.engine.attempt import Step
    from proxy.engine.steering import SteeringEngine


log = logging.getLogger("safethink.monitor")


class Watcher:
    def __init__(self, engine: SteeringEngine) -> None:
        self.engine = engine
        # At most m steps are ever queued (one per guarded step), so the queue needs no bound.
        self.queue: asyncio.Queue[Step] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.seen = ""  # z: the watched steps scored so far

    def submit(self, step: Step) -> None:
        self.queue.put_nowait(step)
        if self.task is None:
            self.task = asyncio.ensure_future(self._work())

    async def drain(self) -> None:
        """Wait until every submitted step is scored and recorded."""
        if self.task is not None:
            await self.queue.join()

    async def aclose(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    async def _work(self) -> None:
        while True:
            step = await self.queue.get()
            try:
                await self._judge(step)
            except Exception:  # a watched step must never fail nor stall the stream it watches
                log.warning("monitoring a step failed", exc_info=True,
                            extra={"request_id": self.engine.recorder.request_id})
            finally:
                self.queue.task_done()

    async def _judge(self, step: Step) -> None:
        engine, started = self.engine, time.perf_counter()
        try:
            score: float | None = await engine.scorer.score(engine.prompt, self.seen + step.text)
        except ScoringError:
            engine.metrics.fail_mode_events.labels(mode="open").inc()
            score = None
        self.seen += step.text
        await engine.observe(step, score, time.perf_counter() - started)
