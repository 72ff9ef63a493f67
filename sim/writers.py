"""Writers: put one run's summary, tables, resolved config and report into a directory."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict

import numpy as np
import yaml

from sim.result import Result


def json_safe(value: Any) -> Any:
    """`value` as plain JSON data: numpy scalars to Python, tuples to lists, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return x if math.isfinite(x) else None
    if isinstance(value, Path):
        return str(value)
    return value


def write_summary(summary: Dict[str, Any], path: Path) -> Path:
    """summary.json: indent 2, floats as computed, NaN and infinities as null."""
    path.write_text(json.dumps(json_safe(summary), indent=2, allow_nan=False) + "\n")
    return path


def write_config(config: Dict[str, Any], path: Path) -> Path:
    """config.yaml: the resolved scenario, keys in their given order."""
    path.write_text(yaml.safe_dump(json_safe(config), sort_keys=False, allow_unicode=True))
    return path


def write_run(result: Result, out_dir) -> Dict[str, Path]:
    """Write every output of `result` into `out_dir` (created if missing); paths by name.

    Names: summary, metrics, costs, requests (only when requests were sampled), flow_logs (when
    the scenario has VPCs), config,
    report (unless the scenario's `record.report` is false: a sweep of hundreds of jobs
    spends about a second per job drawing reports; `cloudtwin-report DIR` draws one later).
    """
    from sim.report import build_report  # matplotlib is imported only when reporting

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: Dict[str, Path] = {}
    paths["summary"] = write_summary(result.summary, out / "summary.json")
    result.metrics.write_parquet(out / "metrics.parquet")
    paths["metrics"] = out / "metrics.parquet"
    result.costs.write_parquet(out / "costs.parquet")
    paths["costs"] = out / "costs.parquet"
    if result.requests is not None and result.requests.height > 0:
        result.requests.write_parquet(out / "requests.parquet")
        paths["requests"] = out / "requests.parquet"
    if result.flow_logs is not None:
        result.flow_logs.write_parquet(out / "flow_logs.parquet")
        paths["flow_logs"] = out / "flow_logs.parquet"
    paths["config"] = write_config(result.config, out / "config.yaml")
    if (result.config.get("record") or {}).get("report", True):
        (out / "report.html").write_text(build_report(result), encoding="utf-8")
        paths["report"] = out / "report.html"
    return paths
