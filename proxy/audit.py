"""One request's record: metrics, the store and the log line, written together, never failing
the request. Prompts, traces and keys never reach the log."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from typing import Any

from .metrics import Metrics
from .schemas import REPORT_COUNTS, Report
from .store import COUNTS, Decision, StepRecord, Store

log = logging.getLogger("safethink.requests")


class Recorder:
    def __init__(self, store: Store, metrics: Metrics, request_id: str, *, keep_text: bool) -> None:
        self.store = store
        self.metrics = metrics
        self.request_id = request_id
        self.keep_text = keep_text
        self.started = time.time()
        self._steps = 0

    async def begin(self, policy: str, model: str, stream: bool) -> None:
        fields = {"policy": policy, "model": model, "stream": stream, "started_at": self.started}
        await self._write(self.store.begin(self.request_id, fields))

    async def step(
        self,
        index: int,
        attempt: int,
        text: str,
        score: float | None,
        decision: Decision,
        latency_s: float,
    ) -> None:
        record: StepRecord = {
            "index": index,
            "attempt": attempt,
            "length": len(text),
            "score": score,
            "decision": decision,
            "latency_ms": round(latency_s * 1000, 3),
        }
        if self.keep_text:
            record["text"] = text
        seq, self._steps = self._steps, self._steps + 1
        await self._write(self.store.add_step(self.request_id, seq, record))

    async def finish(self, report: Report, outcome: str, finish_reason: str | None) -> None:
        policy = report["policy"]
        self.metrics.requests.labels(policy=policy, outcome=outcome).inc()
        duration = time.time() - self.started
        summary: dict[str, int] = {key: report[key] for key in REPORT_COUNTS}  # type: ignore[literal-required]
        fields = {
            "outcome": outcome,
            "finished_at": time.time(),
            "finish_reason": finish_reason or "",
            **summary,
        }
        counts = {
            "requests": 1,
            "errors": int(outcome == "error"),
            "steered_requests": int(report["steers"] > 0),
            **{key: summary[key] for key in COUNTS if key in summary},
        }
        await self._write(self.store.finish(self.request_id, fields, counts))
        log.info(
            "request finished",
            extra={
                "request_id": self.request_id,
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
