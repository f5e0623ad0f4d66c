"""One request's record: metrics and the store, written together, never failing the request."""

from __future__ import annotations

import logging
import time
from typing import Any

from .metrics import Metrics
from .store import Decision, StepRecord, Store

log = logging.getLogger("safethink.audit")


class Recorder:
    def __init__(self, store: Store, metrics: Metrics, request_id: str, *, keep_text: bool) -> None:
        self.store = store
        self.metrics = metrics
        self.request_id = request_id
        self.keep_text = keep_text
        self.started = time.time()

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
        await self._write(self.store.add_step(self.request_id, record))

    async def finish(self, policy: str, outcome: str, fields: dict[str, Any]) -> None:
        self.metrics.requests.labels(policy=policy, outcome=outcome).inc()
        done = {"outcome": outcome, "finished_at": time.time(), **fields}
        await self._write(self.store.finish(self.request_id, done))

    async def _write(self, operation: Any) -> None:
        try:
            await operation
        except Exception:  # the audit trail must never fail the client's request
            self.metrics.store_errors.inc()
            log.warning(
                "state store write failed", exc_info=True, extra={"request_id": self.request_id}
            )
