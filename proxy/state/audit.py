"""One request's record: metrics, the store and the log line, written together, never failing
the request. Prompts, traces and keys never reach the log.

The Recorder keeps the request's record so far and hands it whole to every store write, so that
a store that takes over mid-request (memory, when Redis fails) holds all of it. The finish runs
shielded from cancellation: when a streaming client leaves, the request's task is being
cancelled, and every await in it would be cut short, the finish write and the log line after it
with it. The shield is bounded by ``finish_timeout_s``, so a store that hangs cannot hold it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import anyio

from proxy.api.schemas import REPORT_COUNTS, Report
from proxy.metrics import Metrics
from proxy.settings import Settings
from proxy.state.store import COUNTS, Decision, RequestRecord, StepRecord, Store

if TYPE_CHECKING:
    from proxy.appstate import AppState
    from proxy.engine.policies import Plan

log = logging.getLogger("safethink.requests")


class Recorder:
    def __init__(
        self,
        store: Store,
        metrics: Metrics,
        request_id: str,
        *,
        keep_text: bool,
        finish_timeout_s: float = 5.0,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.request_id = request_id
        self.keep_text = keep_text
        self.finish_timeout_s = finish_timeout_s
        self.started = time.time()
        self.record: RequestRecord = {"id": request_id, "steps": []}

    @classmethod
    def of(cls, state: AppState, settings: Settings, request_id: str,
           metrics: Metrics | None = None) -> Recorder:
        """The recorder of one request, on the app's store and metrics (or ``metrics``: the
        app's, as its model labels them)."""
        return cls(state.store, metrics or state.metrics, request_id,
                   keep_text=settings.store_text,
                   finish_timeout_s=settings.store_finish_timeout_s)

    async def begin(self, plan: Plan, model: str, stream: bool, key: str | None = None) -> None:
        """The request's first write: its plan (policy and tau), model, and caller's key name."""
        self.record.update({"policy": plan.policy, "tau": plan.tau, "model": model,
                            "stream": stream, "started_at": self.started})
        if key is not None:
            self.record["key"] = key
        await self._write(self.store.begin(self.record))

    async def step(
        self,
        index: int,
        attempt: int,
        text: str,
        score: float | None,
        decision: Decision,
        latency_s: float,
        *,
        sentence: int | None = None,
    ) -> None:
        step: StepRecord = {
            "index": index,
            "attempt": attempt,
            "length": len(text),
            "score": score,
            "decision": decision,
            "latency_ms": round(latency_s * 1000, 3),
        }
        if sentence is not None:  # under sentence release: the unit's number in its step
            step["sentence"] = sentence
        if self.keep_text:
            step["text"] = text
        self.record["steps"].append(step)
        await self._write(self.store.add_step(self.record))

    async def finish(self, report: Report, outcome: str, finish_reason: str | None) -> None:
        policy = report["policy"]
        self.metrics.requests.labels(model=self.metrics.model, policy=policy,
                                     outcome=outcome).inc()
        duration = time.time() - self.started
        summary: dict[str, int] = {key: report[key] for key in REPORT_COUNTS}  # type: ignore[literal-required]
        self.record.update(
            {"outcome": outcome, "finished_at": time.time(), "finish_reason": finish_reason or ""}
        )
        self.record.update(summary)  # type: ignore[typeddict-item]
        counts = {
            "requests": 1,
            "errors": int(outcome == "error"),
            "steered_requests": int(report["steers"] > 0),
            **{key: summary[key] for key in COUNTS if key in summary},
        }
        with anyio.CancelScope(shield=True) as scope:
            scope.deadline = anyio.current_time() + self.finish_timeout_s
            await self._write(self.store.finish(self.record, counts))
        if scope.cancelled_caught:
            self.metrics.store_errors.inc()
            log.warning(
                "state store write failed: no answer within %g s",
                self.finish_timeout_s,
                extra={"request_id": self.request_id},
            )
        log.info(
            "request finished",
            extra={
                "request_id": self.request_id,
                "model": self.record.get("model", "")[:256],  # the client's, unbounded
                **({"key": self.record["key"]} if "key" in self.record else {}),
                "policy": policy,
                "outcome": outcome,
                **summary,
                "duration_ms": round(duration * 1000, 1),
            },
        )

    async def _write(self, operation: Awaitable[Any]) -> None:
        try:
            await operation
        except Exception:  # the audit trail must never fail the client's request
            self.metrics.store_errors.inc()
            log.warning(
                "state store write failed", exc_info=True, extra={"request_id": self.request_id}
            )
