"""Across seeds and arms: the arms of a sweep, mean ± 95 % CI per arm, and the Pareto front."""

from __future__ import annotations

import math
import re
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import polars as pl

from sim.sweep.gather import override_columns

SEED_KEYS = ("scenario.seed", "seed")
# Metrics the comparison and the plots show, as patterns over the gathered columns.
KEY_METRICS = (
    r"cost_usd\.monthly",
    r"functions\.[^.]+\.latency_ms\.p99",
    r"functions\.[^.]+\.throttle_ratio",
)


def key_metrics(df: pl.DataFrame) -> List[str]:
    """The gathered columns that match KEY_METRICS, pattern by pattern."""
    return [c for pattern in KEY_METRICS for c in df.columns
            if re.fullmatch(pattern, c) and df[c].dtype.is_numeric()]


def parameters(df: pl.DataFrame) -> Dict[str, str]:
    """Swept override key -> column: the overrides that vary between jobs, the seed left out."""
    return {key: col for key, col in override_columns(df).items()
            if key not in SEED_KEYS and col in df.columns and df[col].n_unique() > 1}


def fixed_overrides(df: pl.DataFrame) -> Dict[str, object]:
    """Override key -> value, for the overrides every job shares."""
    return {key: df[col][0] for key, col in override_columns(df).items()
            if col in df.columns and df[col].n_unique() == 1}


def t_quantile(n: int, level: float = 0.95) -> float:
    """The two-sided Student-t factor for a `level` interval from `n` replications (NaN if n < 2)."""
    if n < 2:
        return math.nan
    from scipy.stats import t

    return float(t.ppf(0.5 + level / 2, n - 1))


def mean_ci(values: Sequence[float], level: float = 0.95) -> Tuple[float, float, int]:
    """(mean, half-width of the `level` confidence interval, n) over the finite values."""
    x = np.asarray([v for v in values if v is not None], dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return math.nan, math.nan, 0
    half = t_quantile(n, level) * float(np.std(x, ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    return float(np.mean(x)), half, n


def natural_key(value: Any) -> Tuple[int, float, str]:
    """Sort key for a parameter's values: missing first, then numbers (also numbers written as text, booleans as 0 and 1) by value, then text."""
    if value is None:
        return (0, 0.0, "")
    try:
        x = float(value)
    except (TypeError, ValueError):
        return (2, 0.0, str(value))
    return (1, x, str(value)) if math.isfinite(x) else (2, 0.0, str(value))


def arms(df: pl.DataFrame, metrics: Sequence[str]) -> pl.DataFrame:
    """One row per arm (combination of swept parameters): params, runs, and METRIC.mean/.ci/.n.

    Arms are ordered by their parameter values in natural order (natural_key): a text
    column of numbers and `null` sorts 50, 100, 1000, null rather than 100, 1000, 50, null.
    """
    params = list(parameters(df).values())
    groups = df.group_by(params, maintain_order=True) if params else [((), df)]
    rows = []
    for key, part in groups:
        row = dict(zip(params, key if isinstance(key, tuple) else (key,)))
        row["runs"] = part.height
        for m in metrics:
            mean, half, n = mean_ci(part[m].to_list())
            row.update({f"{m}.mean": mean, f"{m}.ci": half, f"{m}.n": n})
        rows.append(row)
    rows.sort(key=lambda r: tuple(natural_key(r[p]) for p in params))
    return pl.from_dicts(rows, infer_schema_length=None)


def pareto_front(x: Sequence[float], y: Sequence[float]) -> np.ndarray:
    """Mask of the points no other point beats in both x and y (both minimised; NaN never on it)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    front = np.zeros(len(x), dtype=bool)
    for i in np.flatnonzero(ok):
        dominated = ok & (x <= x[i]) & (y <= y[i]) & ((x < x[i]) | (y < y[i]))
        front[i] = not dominated.any()
    return front
