"""The Grafana dashboard only plots metrics the proxy exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from proxy.metrics import Metrics

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "safethink-dashboard.json"


def exported() -> set[str]:
    """Series names, also of labelled families that have no child yet."""
    suffixes = {"counter": ["_total"], "gauge": [""], "histogram": ["_bucket", "_count", "_sum"]}
    return {family.name + suffix for family in Metrics().registry.collect()
            for suffix in suffixes[family.type]}


def test_every_panel_queries_exported_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    names = exported()
    used = set()
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            used |= set(re.findall(r"safethink_[a-z_]+", target["expr"]))
    assert used, "the dashboard plots nothing"
    assert used <= names, f"unknown metrics: {sorted(used - names)}"
