"""Gathering: every job's overrides and summary.json in a sweep directory, one row each."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import polars as pl
import yaml

SUMMARY = "summary.json"
TABLE = "sweep.parquet"
REPORT = "sweep_report.html"
# Columns that differ between runs of the same point: left out when comparing sweeps.
WALL_COLUMNS = ("wall_s", "requests_per_wall_s")
# A column naming an override whose key is also a summary field (`scenario=NAME`).
OVERRIDE_PREFIX = "override."


def flatten(summary: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    """The scalars of a nested summary under dotted names ('functions.api.latency_ms.p99')."""
    out: Dict[str, Any] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        elif value is None or isinstance(value, (bool, int, float, str)):
            out[name] = value
    return out


def job_dirs(sweep_dir: Path) -> List[Path]:
    """The directories below `sweep_dir` holding a summary.json, in job order."""
    found = [p.parent for p in Path(sweep_dir).rglob(SUMMARY) if p.parent != Path(sweep_dir)]
    return sorted(found, key=lambda d: (_job_num(d) is None, _job_num(d) or 0, str(d)))


def _job_num(job_dir: Path) -> Optional[int]:
    """Hydra's job number (`hydra.job.num` in .hydra/hydra.yaml), or None."""
    path = job_dir / ".hydra" / "hydra.yaml"
    if not path.is_file():
        return None
    num = ((yaml.safe_load(path.read_text()) or {}).get("hydra") or {}).get("job", {}).get("num")
    return int(num) if isinstance(num, int) else None


def job_overrides(job_dir: Path) -> List[str]:
    """The job's task overrides as typed on the command line (from .hydra/overrides.yaml)."""
    path = job_dir / ".hydra" / "overrides.yaml"
    return list(yaml.safe_load(path.read_text()) or []) if path.is_file() else []


def parse_overrides(overrides: List[str]) -> Dict[str, Any]:
    """Override key -> value: numbers, booleans and strings as parsed, anything else as typed."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    out: Dict[str, Any] = {}
    for o in OverridesParser.create().parse_overrides(overrides):
        if o.is_delete():
            continue
        value = o.value()
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)
        elif not isinstance(value, (bool, int, float, str)):
            value = o.get_value_element_as_str()  # lists, dicts, null: as typed
        out[o.key_or_group] = value
    return out


def override_columns(df: pl.DataFrame) -> Dict[str, str]:
    """Override key -> its column in a gathered table, in order of first appearance."""
    keys: Dict[str, str] = {}
    if "overrides" not in df.columns:
        return keys
    for text in df["overrides"].to_list():
        for key in parse_overrides(_split(text)):
            prefixed = f"{OVERRIDE_PREFIX}{key}"
            keys.setdefault(key, prefixed if prefixed in df.columns else key)
    return keys


def _split(text: Optional[str]) -> List[str]:
    """The `overrides` column's text back into the list Hydra parsed (JSON list)."""
    return list(json.loads(text)) if text else []


def gather(sweep_dir: Path) -> pl.DataFrame:
    """One row per job: job, job_dir, overrides, one column per override key, every summary scalar."""
    sweep_dir = Path(sweep_dir)
    jobs = []
    for i, d in enumerate(job_dirs(sweep_dir)):
        summary = flatten(json.loads((d / SUMMARY).read_text()))
        overrides = job_overrides(d)
        num = _job_num(d)
        jobs.append((num if num is not None else i, d, overrides, parse_overrides(overrides), summary))
    if not jobs:
        return pl.DataFrame()
    metric_names = dict.fromkeys(k for *_, s in jobs for k in s)
    rows = []
    for num, d, overrides, parsed, summary in jobs:
        row: Dict[str, Any] = {"job": num, "job_dir": str(d.relative_to(sweep_dir)),
                               "overrides": json.dumps(overrides)}
        for key, value in parsed.items():
            row[f"{OVERRIDE_PREFIX}{key}" if key in metric_names or key in row else key] = value
        rows.append({**row, **summary})
    columns = list(dict.fromkeys(k for r in rows for k in r))
    kinds = {c: _kind([r.get(c) for r in rows]) for c in columns}
    table = [{c: _as(kinds[c], r.get(c)) for c in columns} for r in rows]
    return pl.from_dicts(table, infer_schema_length=None)


def _kind(values: List[Any]) -> str:
    """'number', 'bool' or 'text': what every non-null value of a column is."""
    present = [v for v in values if v is not None]
    if all(isinstance(v, bool) for v in present):
        return "bool"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return "number"
    return "text"


def _as(kind: str, value: Any) -> Any:
    """`value` stored as its column's kind: a column with any text holds only text."""
    return value if value is None or kind != "text" else str(value)


def write_sweep(sweep_dir: Path) -> Dict[str, Path]:
    """Gather `sweep_dir` into sweep.parquet and draw sweep_report.html beside it; paths by name."""
    from sim.sweep.report import build_sweep_report

    sweep_dir = Path(sweep_dir)
    df = gather(sweep_dir)
    if df.height == 0:
        return {}
    df.write_parquet(sweep_dir / TABLE)
    (sweep_dir / REPORT).write_text(build_sweep_report(df), encoding="utf-8")
    return {"table": sweep_dir / TABLE, "report": sweep_dir / REPORT}
