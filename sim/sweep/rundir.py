"""Reading a run back from its directory (summary.json, parquet tables, config.yaml) into a Result."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import yaml

from sim.output.result import COST_SCHEMA, METRIC_SCHEMA, Result
from sim.output.writers import (FINISHED, NOT_A_RUN, UNFINISHED, UnfinishedRun, mark_unfinished,
                         read_summary, run_state, run_status, write_text_atomic)

__all__ = ["read_run", "write_report", "run_state", "run_status", "mark_unfinished",
           "UnfinishedRun", "FINISHED", "UNFINISHED", "NOT_A_RUN"]


def read_run(run_dir: Path) -> Result:
    """The Result a finished run wrote into `run_dir`; a missing table reads as an empty one.

    Raises UnfinishedRun (with the reason) when the run did not finish: its summary.json is
    missing or not whole.
    """
    d = Path(run_dir)
    summary = read_summary(d)
    metrics = _table(d / "metrics.parquet", METRIC_SCHEMA)
    costs = _table(d / "costs.parquet", COST_SCHEMA)
    requests = _table(d / "requests.parquet", {})
    flow_path = d / "flow_logs.parquet"
    flow_logs = pl.read_parquet(flow_path) if flow_path.is_file() else None
    traces_path = d / "traces.parquet"
    traces = pl.read_parquet(traces_path) if traces_path.is_file() else None
    config_path = d / "config.yaml"
    config = (yaml.safe_load(config_path.read_text()) or {}) if config_path.is_file() else {}
    return Result(summary=summary, metrics=metrics, costs=costs, requests=requests,
                  config=config, out_dir=d, flow_logs=flow_logs, traces=traces)


def _table(path: Path, schema) -> pl.DataFrame:
    return pl.read_parquet(path) if path.is_file() else pl.DataFrame(schema=schema)


def write_report(run_dir: Path) -> Path:
    """Rebuild report.html of the finished run in `run_dir` from its files (atomically); its path."""
    from sim.output.report import build_report

    result = read_run(run_dir)
    return write_text_atomic(Path(run_dir) / "report.html", build_report(result))
