"""Across seeds and arms: the arms of a sweep, mean ± 95 % CI per arm, and the Pareto front."""

from __future__ import annotations

import math
import re
from typing import Dict, List, Sequence, Tuple

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


def arms(df: pl.DataFrame, metrics: Sequence[str]) -> pl.DataFrame:
    """One row per arm (combination of swept parameters): params, runs, and METRIC.mean/.ci/.n."""
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
    out = pl.from_dicts(rows, infer_schema_length=None)
    return out.sort(params, nulls_last=True) if params else out


def pareto_front(x: Sequence[float], y: Sequence[float]) -> np.ndarray:
    """Mask of the points no other point beats in both x and y (both minimised; NaN never on it)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    front = np.zeros(len(x), dtype=bool)
    for i in np.flatnonzero(ok):
        dominated = ok & (x <= x[i]) & (y <= y[i]) & ((x < x[i]) | (y < y[i]))
        front[i] = not dominated.any()
    return front
