"""Prometheus metrics of one reward service instance, in its own registry (no global state)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
_TIME_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class RewardMetrics:
    """Batch sizes, queue wait, forward time and items scored; a BatchObserver for the batcher."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.batch_size = Histogram("safethink_reward_batch_size", "Items per forward pass",
                                    buckets=_SIZE_BUCKETS, registry=r)
        self.queue_wait = Histogram("safethink_reward_queue_wait_seconds",
                                    "Time an item waited in the queue before its forward pass",
                                    buckets=_TIME_BUCKETS, registry=r)
        self.forward_time = Histogram("safethink_reward_forward_seconds",
                                      "Duration of one batch's forward pass",
                                      buckets=_TIME_BUCKETS, registry=r)
        self.items = Counter("safethink_reward_items_scored", "Items scored (rate() = items/s)",
                             registry=r)
        self.batch_failures = Counter("safethink_reward_batch_failures",
                                      "Forward passes that raised", registry=r)
        self.requests = Counter("safethink_reward_http_requests", "Score requests by outcome",
                                ["outcome"], registry=r)
        self.truncated = Counter("safethink_reward_items_truncated",
                                 "Items cut to fit the budgets", registry=r)
        self.ready = Gauge("safethink_reward_ready", "1 once the model is loaded", registry=r)

    def observe_batch(self, size: int, queue_waits: Sequence[float], forward_s: float,
                      ok: bool) -> None:
        self.batch_size.observe(size)
        for wait in queue_waits:
            self.queue_wait.observe(wait)
        self.forward_time.observe(forward_s)
        if ok:
            self.items.inc(size)
        else:
            self.batch_failures.inc()
