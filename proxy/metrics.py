"""Prometheus metrics, in a registry of the app's own (two apps in one process never clash).

Requests, violations, steers and would-steers carry a ``model`` label: a model of the models
file by its name, any other ``other``, so the label has no more values than the file has models.
The engine of one request is given ``metrics.for_model(label)``, whose ``violations``,
``steers`` and ``would_steer`` are that model's counters.
"""

from __future__ import annotations

import copy

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# The ``model`` label of a request for no listed model (and of every request without a file).
OTHER = "other"

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.model = OTHER
        self._views: dict[str, Metrics] = {OTHER: self}
        self.requests = Counter(
            "safethink_requests",
            "Model requests by model, policy and outcome.",
            ["model", "policy", "outcome"],
            registry=r,
        )
        self.steps_scored = Counter(
            "safethink_steps_scored", "Reasoning steps sent to the scorer.", registry=r
        )
        self._violations = Counter(
            "safethink_violations", "Scored steps below tau, by model.", ["model"], registry=r
        )
        self.violations = self._violations.labels(model=OTHER)
        self._would_steer = Counter(
            "safethink_would_steer",
            "Steps below tau under policy monitor (recorded, never steered), by model.",
            ["model"],
            registry=r,
        )
        self.would_steer = self._would_steer.labels(model=OTHER)
        self._steers = Counter(
            "safethink_steers",
            "Generations cancelled and re-issued with the steering prefix, by model.",
            ["model"],
            registry=r,
        )
        self.steers = self._steers.labels(model=OTHER)
        self.resample_outcomes = Counter(
            "safethink_resample_outcomes",
            "How a steered step ended: recovered (a resample passed) or exhausted (none did).",
            ["outcome"],
            registry=r,
        )
        self.fail_mode_events = Counter(
            "safethink_fail_mode_events",
            "Scoring failures, by the fail_mode that handled them.",
            ["mode"],
            registry=r,
        )
        self.score_latency = Histogram(
            "safethink_score_latency_seconds",
            "Time of one score call.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.upstream_ttft = Histogram(
            "safethink_upstream_ttft_seconds",
            "Time from opening an upstream call to its first event.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.active_streams = Gauge(
            "safethink_active_streams", "Responses being streamed to clients now.", registry=r
        )
        self.store_errors = Counter(
            "safethink_store_errors", "Failed writes or reads of the state store.", registry=r
        )
        self.store_degraded = Gauge(
            "safethink_store_degraded",
            "1 while the shared store (Redis) is unreachable and state is kept in memory.",
            registry=r,
        )
        self.client_errors = Counter(
            "safethink_client_errors",
            "Requests answered with a 4xx by the proxy itself, by error type.",
            ["type"],
            registry=r,
        )
        self.overloaded = Counter(
            "safethink_overloaded",
            "Model requests refused with 503 because max_concurrent_requests were in flight.",
            registry=r,
        )
        self.proxy_added = Histogram(
            "safethink_proxy_added_seconds",
            "Time a complete held unit (step or sentence) waited for its verdict before it"
            " reached the client.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )

    def for_model(self, model: str) -> Metrics:
        """These metrics, with the counters labelled by model set to ``model``'s (a listed
        model's name or OTHER: the views are kept, one a label value)."""
        if (view := self._views.get(model)) is None:
            view = copy.copy(self)
            view.model = model
            view.violations = self._violations.labels(model=model)
            view.steers = self._steers.labels(model=model)
            view.would_steer = self._would_steer.labels(model=model)
            self._views[model] = view
        return view
