"""Gathering: every finished job's overrides and summary.json in a sweep directory, one row each."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import polars as pl
import yaml

from sim.output.writers import (MULTIRUN_FILE, SUMMARY_FILE, UnfinishedRun, is_run_dir, read_summary, write_parquet_atomic,
                         write_text_atomic)
from sim.sweep.columns import OVERRIDE_PREFIX, parse_overrides

SUMMARY = SUMMARY_FILE
TABLE = "sweep.parquet"
REPORT = "sweep_report.html"
# Hydra's sweeper writes it into the sweep directory before the first job: what makes a
# directory a sweep's.
MULTIRUN = MULTIRUN_FILE
# Columns that differ between runs of the same point: left out when comparing sweeps.
WALL_COLUMNS = ("wall_s", "requests_per_wall_s")


class GatherError(Exception):
    """A sweep that cannot be gathered: no job finished. The message says which jobs and why."""


@dataclass(frozen=True)
class Skipped:
    """A job left out of the gathered table: its name (directory below the sweep, or '#N'), why, its directory."""

    name: str
    reason: str
    job_dir: Optional[Path] = None

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


@dataclass
class SweepOutputs:
    """What `write_sweep` wrote: the table and report paths, the jobs gathered, the jobs skipped."""

    table: Path
    report: Path
    jobs: int
    skipped: List[Skipped] = field(default_factory=list)


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


def is_sweep_dir(path) -> bool:
    """Whether `path` is a sweep directory: it holds Hydra's multirun.yaml."""
    return (Path(path) / MULTIRUN).is_file()


def run_dirs(sweep_dir: Path) -> List[Path]:
    """Every job directory below `sweep_dir`, finished or not (sim.output.writers.is_run_dir), in job order.

    Not descended into: a job directory (its .hydra folder is not a job).
    """
    root = Path(sweep_dir)
    found = []
    for parent, subdirs, _ in os.walk(root):
        here = Path(parent)
        if here != root and is_run_dir(here):
            found.append(here)
            subdirs.clear()
        else:
            subdirs.sort()
    return sorted(found, key=_job_order)


def _job_order(d: Path):
    num = _job_num(d)
    return (num is None, num or 0, str(d))


def job_dirs(sweep_dir: Path) -> List[Path]:
    """The finished job directories below `sweep_dir` (a readable summary.json), in job order."""
    out = []
    for d in run_dirs(sweep_dir):
        try:
            read_summary(d)
        except UnfinishedRun:
            continue
        out.append(d)
    return out


def _job_num(job_dir: Path) -> Optional[int]:
    """Hydra's job number (`hydra.job.num` in .hydra/hydra.yaml), or None."""
    path = job_dir / ".hydra" / "hydra.yaml"
    try:
        data = _yaml(path.read_text()) if path.is_file() else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None  # cut short by a job killed while Hydra wrote it
    hydra = (data.get("hydra") if isinstance(data, dict) else None) or {}
    num = (hydra.get("job") or {}).get("num") if isinstance(hydra, dict) else None
    return int(num) if isinstance(num, int) and not isinstance(num, bool) else None


def job_overrides(job_dir: Path) -> List[str]:
    """The job's task overrides as typed on the command line (from .hydra/overrides.yaml)."""
    path = job_dir / ".hydra" / "overrides.yaml"
    return list(_yaml(path.read_text()) or []) if path.is_file() else []


# libyaml's safe loader where PyYAML was built with it: the same data as yaml.safe_load, about
# ten times faster on Hydra's 200-line hydra.yaml, which gathering reads twice per job
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader


def gather(sweep_dir: Path) -> pl.DataFrame:
    """One row per finished job: job, job_dir, overrides, one column per override key, every summary scalar."""
    return gather_jobs(sweep_dir)[0]


def gather_jobs(sweep_dir: Path, expected_jobs: Optional[int] = None) -> Tuple[pl.DataFrame, List[Skipped]]:
    """(the table of `gather`, the jobs left out and why).

    Left out: job directories without a whole summary.json (stopped, failed, or cut short:
    see sim.output.writers.read_summary) or with unreadable overrides; and, when `expected_jobs`
    is given, the job numbers below it that left no directory at all.
    """
    sweep_dir = Path(sweep_dir)
    jobs, skipped, seen = [], [], set()
    for i, d in enumerate(run_dirs(sweep_dir)):
        num = _job_num(d)
        seen.add(num)
        name = str(d.relative_to(sweep_dir))
        try:
            summary = flatten(read_summary(d))
            overrides = job_overrides(d)
            parsed = parse_overrides(overrides)
        except UnfinishedRun as err:
            skipped.append(Skipped(name, err.reason, d))
            continue
        except Exception as err:  # a .hydra file cut short or edited: this job, not the sweep
            skipped.append(Skipped(name, f"its .hydra/overrides.yaml is unreadable ({_one_line(err)})", d))
            continue
        jobs.append((num if num is not None else i, d, overrides, parsed, summary))
    for num in range(expected_jobs or 0):
        if num not in seen:
            skipped.append(Skipped(f"#{num}", "the job left no directory (it did not start, or "
                                              "its directory was removed)"))
    if not jobs:
        return pl.DataFrame(), skipped
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
    return pl.from_dicts(table, infer_schema_length=None), skipped


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


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


def write_sweep(sweep_dir: Path, expected_jobs: Optional[int] = None, *,
                warn: bool = True) -> SweepOutputs:
    """Gather `sweep_dir` into sweep.parquet and draw sweep_report.html beside it.

    Unfinished jobs are skipped: each is named with its reason on stderr (unless `warn` is
    false), in the returned `skipped` list and in the report. Raises GatherError, writing
    nothing, when no job finished. Both files are written atomically; an old report is
    removed before the new table is written, so a report never describes another table
    (if drawing it fails, the table stays and the error propagates).
    `expected_jobs`: the number of jobs the sweep launched, when known (see gather_jobs).
    """
    from sim.sweep.report import build_sweep_report

    sweep_dir = Path(sweep_dir)
    df, skipped = gather_jobs(sweep_dir, expected_jobs)
    if warn:
        for s in skipped:
            print(f"cloudtwin: skipped job {s}", file=sys.stderr)
    if df.height == 0:
        found = len([s for s in skipped if s.job_dir is not None])
        raise GatherError(f"no job of the sweep in {sweep_dir} finished "
                          f"({found} job director{'y' if found == 1 else 'ies'} found"
                          + (f", {len(skipped) - found} job(s) left none" if len(skipped) > found else "")
                          + ")")
    table, report = sweep_dir / TABLE, sweep_dir / REPORT
    report.unlink(missing_ok=True)
    write_parquet_atomic(df, table)
    write_text_atomic(report, build_sweep_report(df, skipped=skipped))
    return SweepOutputs(table=table, report=report, jobs=df.height, skipped=skipped)


def describe_skipped(skipped: Sequence[Skipped], limit: int = 5) -> str:
    """The skipped jobs in one line: the first `limit` with their reasons, then how many more."""
    text = "; ".join(str(s) for s in skipped[:limit])
    return text + (f"; and {len(skipped) - limit} more" if len(skipped) > limit else "")
