"""Checks the kind-specific parameters of distributions and arrival processes, and the data files they name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, List, Optional

from scenarios.coerce import field_default
from scenarios.datafiles import Issue, check_samples, check_trace
from scenarios.errors import Problems
from scenarios.fields import nodes
from scenarios.rules import (
    ARRIVALS_PARAMS,
    ARRIVALS_REQUIRED,
    DATA_FILE_SUFFIXES,
    DIST_PARAMS,
    DIST_REQUIRED,
    DIST_TAKES,
    LOGNORMAL_FORMS,
)
from scenarios.schema import Arrivals, Dist
from scenarios.yamlpath import index, key, num

DIST_FIELDS = ("value", "mean", "median", "p99", "mu", "sigma", "low", "high", "file", "column")
_ARRIVALS_DEFAULT = Arrivals()


def check_kinds(root: Any, problems: Problems, base_dir: Path) -> None:
    """Check every Dist and Arrivals in the tree; relative file paths become absolute, against `base_dir`."""
    for node, path, holder in nodes(root):
        if isinstance(node, Dist):
            default = field_default(holder) if holder is not None else None
            check_dist(node, path, problems, base_dir, default if isinstance(default, Dist) else None)
        elif isinstance(node, Arrivals):
            check_arrivals(node, path, problems, base_dir)


def check_dist(d: Dist, path: str, problems: Problems, base_dir: Path, default: Optional[Dist] = None) -> None:
    """Check that `d` has exactly the parameters its kind takes, with consistent values."""
    kind = d.dist
    if kind not in DIST_PARAMS or problems.is_broken(key(path, "dist")):
        return  # the choices table reports an unknown kind
    allowed = DIST_PARAMS[kind]
    for p in DIST_FIELDS:
        v = getattr(d, p)
        if v is None or p in allowed:
            continue
        if default is not None and default.dist != kind and getattr(default, p) == v:
            setattr(d, p, None)  # left over from the field's default by a Hydra merge, not written by the user
            continue
        problems.add(key(path, p), f"`{p}` does not apply to dist: {kind}; {kind} takes {DIST_TAKES[kind]}")
    if kind == "lognormal":
        _check_lognormal(d, path, problems)
        return
    missing = [p for p in DIST_REQUIRED[kind] if getattr(d, p) is None]
    if missing:
        problems.add(path, f"dist: {kind} needs {' and '.join(missing)}")
        return
    if kind == "uniform" and d.high < d.low:
        problems.add(key(path, "high"), f"high {num(d.high)} is below low {num(d.low)}")
    if kind == "empirical":
        full = resolve_data_file(d.file, key(path, "file"), problems, base_dir)
        if d.column is not None and not d.column.strip():
            problems.add(key(path, "column"), "must not be empty (leave it out to use the first column)")
        elif full is not None:
            d.file = full
            report(check_samples(Path(full), d.column), path, problems)


def _check_lognormal(d: Dist, path: str, problems: Problems) -> None:
    given = [p for form in LOGNORMAL_FORMS for p in form if getattr(d, p) is not None]
    forms = [form for form in LOGNORMAL_FORMS if any(p in given for p in form)]
    if len(forms) > 1:
        problems.add(path, f"lognormal takes either median and p99, or mu and sigma, not a mix (got {', '.join(given)})")
        return
    if not forms:
        problems.add(path, "dist: lognormal needs median and p99, or mu and sigma")
        return
    missing = [p for p in forms[0] if getattr(d, p) is None]
    if missing:
        problems.add(path, f"dist: lognormal with {given[0]} also needs {missing[0]}")
    elif forms[0] == ("median", "p99") and d.p99 <= d.median:
        problems.add(key(path, "p99"), f"p99 {num(d.p99)} must be greater than median {num(d.median)}")


def check_arrivals(a: Arrivals, path: str, problems: Problems, base_dir: Path) -> None:
    """Check that `a` sets only the parameters its kind takes, and those it needs."""
    kind = a.kind
    if kind not in ARRIVALS_PARAMS or problems.is_broken(key(path, "kind")):
        return
    allowed = ARRIVALS_PARAMS[kind]
    for p in ARRIVALS_PARAMS["diurnal"] + ARRIVALS_PARAMS["steps"] + ARRIVALS_PARAMS["trace"]:
        if p not in allowed and getattr(a, p) != getattr(_ARRIVALS_DEFAULT, p):  # set = differs from the default
            problems.add(key(path, p), f"`{p}` does not apply to arrivals kind: {kind}; {kind} takes {', '.join(allowed)}")
    needed = ARRIVALS_REQUIRED[kind]
    if getattr(a, needed) in (None, []):
        what = "a non-empty list `steps` of {at_s, rate_per_s}" if needed == "steps" else needed
        problems.add(path, f"kind: {kind} needs {what}")
    if kind == "steps":
        check_increasing([s.at_s for s in a.steps], key(path, "steps"), problems)
    if kind == "trace" and a.file:
        full = resolve_data_file(a.file, key(path, "file"), problems, base_dir)
        blank = [c for c in ("time_column", "duration_column") if getattr(a, c) is not None and not getattr(a, c).strip()]
        for c in blank:
            problems.add(key(path, c), "must not be empty" + (" (leave it out: durations then come from the function's"
                                                              " duration_ms)" if c == "duration_column" else ""))
        if full is not None:
            a.file = full
            if not blank:
                report(check_trace(Path(full), a.time_column, a.duration_column), path, problems)


def report(issues: List[Issue], path: str, problems: Problems) -> None:
    """Record a data file's issues at the key each concerns (`file` or the column's key) under `path`."""
    for issue in issues:
        problems.add(key(path, issue.key), issue.message)


def check_increasing(times: list, path: str, problems: Problems) -> None:
    """Report each step of the list at `path` whose at_s is not after the one before."""
    for i in range(1, len(times)):
        if times[i] <= times[i - 1]:
            problems.add(key(index(path, i), "at_s"),
                         f"{num(times[i])} is not after the previous step's at_s {num(times[i - 1])} "
                         "(steps must be in strictly increasing time order)")


def resolve_data_file(text: str, path: str, problems: Problems, base_dir: Path) -> Optional[str]:
    """The absolute path of a CSV or parquet data file, after checking it exists; None (reported) if not."""
    if not text.strip():
        problems.add(path, "must not be empty")
        return None
    full = Path(os.path.expanduser(text))
    if not full.is_absolute():
        full = Path(base_dir) / full
    full = Path(os.path.abspath(full))
    if full.suffix.lower() not in DATA_FILE_SUFFIXES:
        problems.add(path, f"{text!r} must be a .csv or .parquet file")
        return None
    if not full.is_file():
        what = "is a directory, not a file" if full.is_dir() else "does not exist"
        problems.add(path, f"file {text!r} {what} (looked for {full})")
        return None
    return str(full)

