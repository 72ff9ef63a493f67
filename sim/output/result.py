"""What a run returns: the summary, the metric and cost tables, the sampled requests and traces, and the entry points."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

import polars as pl

METRIC_SCHEMA = {
    "time_s": pl.Float64,
    "namespace": pl.Utf8,
    "metric": pl.Utf8,
    "dimension": pl.Utf8,
    "value": pl.Float64,
}
COST_SCHEMA = {
    "service": pl.Utf8,
    "usage_type": pl.Utf8,
    "resource": pl.Utf8,
    "usage_amount": pl.Float64,
    "unit": pl.Utf8,
    "unblended_cost_usd": pl.Float64,
    "period": pl.Utf8,
}


@dataclass
class Result:
    """One run. `metrics` is long format (time_s, namespace, metric, dimension, value)."""

    summary: Dict[str, Any]
    metrics: pl.DataFrame
    costs: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=COST_SCHEMA))
    requests: pl.DataFrame = field(default_factory=pl.DataFrame)
    config: Dict[str, Any] = field(default_factory=dict)  # the resolved scenario, plain data
    out_dir: Optional[Path] = None
    flow_logs: Optional[pl.DataFrame] = None  # VPC Flow Logs records (sim.network.flows), when the scenario has vpcs
    # the spans of the sampled traces (sim.output.traces.SPAN_SCHEMA, sorted by trace_id, span_id),
    # when a component gives spans (record.traces); None otherwise
    traces: Optional[pl.DataFrame] = None

    @property
    def entry_points(self) -> Dict[str, Dict[str, Any]]:
        """summary.json's `entry_points`: per traffic source, its counts and its latency_ms and
        completion_ms statistics (sim.output.entry_points); empty when no component gives them."""
        return self.summary.get("entry_points") or {}
