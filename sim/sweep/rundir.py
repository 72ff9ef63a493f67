"""Reading a run back from its directory (summary.json, parquet tables, config.yaml) into a Result."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import yaml

from sim.result import COST_SCHEMA, METRIC_SCHEMA, Result


def read_run(run_dir: Path) -> Result:
    """The Result a run wrote into `run_dir`; a missing table reads as an empty one."""
    d = Path(run_dir)
    summary = json.loads((d / "summary.json").read_text())
    metrics = _table(d / "metrics.parquet", METRIC_SCHEMA)
    costs = _table(d / "costs.parquet", COST_SCHEMA)
    requests = _table(d / "requests.parquet", {})
    config_path = d / "config.yaml"
    config = (yaml.safe_load(config_path.read_text()) or {}) if config_path.is_file() else {}
    return Result(summary=summary, metrics=metrics, costs=costs, requests=requests,
                  config=config, out_dir=d)


def _table(path: Path, schema) -> pl.DataFrame:
    return pl.read_parquet(path) if path.is_file() else pl.DataFrame(schema=schema)


def write_report(run_dir: Path) -> Path:
    """Rebuild report.html of the run in `run_dir` from its files; its path."""
    from sim.report import build_report

    result = read_run(run_dir)
    path = Path(run_dir) / "report.html"
    path.write_text(build_report(result), encoding="utf-8")
    return path
