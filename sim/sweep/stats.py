"""Across seeds and arms: the arms of a sweep, each metric's mean and 95 % interval per arm, and the Pareto front."""

from __future__ import annotations

import math
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import polars as pl

from sim.sweep.columns import override_columns

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
    # scipy.stats.t.ppf(q, df) is this very function (t_gen._ppf), bit for bit; scipy.special
    # alone imports in a third of the time scipy.stats takes (about 0.3 s against 1 s), which a
    # sweep otherwise pays at its end
    from scipy.special import stdtrit

    return float(stdtrit(n - 1, 0.5 + level / 2))


def mean_ci(values: Sequence[float], level: float = 0.95) -> Tuple[float, float, int]:
    """(mean, half-width of the `level` confidence interval, n) over the finite values."""
    x = np.asarray([v for v in values if v is not None], dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return math.nan, math.nan, 0
    half = t_quantile(n, level) * float(np.std(x, ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    return float(np.mean(x)), half, n


# A ratio in the summary and the counts it divides, per the code that writes it
# (sim/compute/lambda_account.py, LambdaAccount.summary): the numerator's key and the keys
# summed for the denominator, all siblings of the ratio.
RATIO_COUNTS: Dict[str, Tuple[str, Tuple[str, ...]]] = {
    "throttle_ratio": ("throttles", ("invocations", "throttles")),  # throttles / attempts
    "cold_start_ratio": ("cold_starts", ("invocations",)),  # cold starts / invocations
}


def is_ratio(metric: str) -> bool:
    """Whether the dotted summary `metric` is a ratio in [0, 1] (its last part ends in `_ratio`)."""
    return metric.rsplit(".", 1)[-1].endswith("_ratio")


def ratio_count_columns(metric: str) -> Optional[Tuple[str, Tuple[str, ...]]]:
    """(numerator column, denominator columns) of a ratio metric whose counts the summary holds, else None."""
    head, _, last = metric.rpartition(".")
    if last not in RATIO_COUNTS:
        return None
    k, n = RATIO_COUNTS[last]
    prefix = f"{head}." if head else ""
    return prefix + k, tuple(prefix + c for c in n)


def _finite_values(values: Sequence[Any]) -> np.ndarray:
    x = np.asarray([v for v in values if v is not None], dtype=float)
    return x[np.isfinite(x)]


def student_interval(values: Sequence[float], level: float = 0.95) -> Tuple[float, float, float, int]:
    """(mean, lo, hi, n): the Student-t `level` interval of the mean over the replications' finite values.

    Clipped at 0 when every value is >= 0: the summary's metrics other than ratios are money,
    durations and counts, whose mean cannot be negative, so the clip drops only impossible
    values and the interval's coverage cannot fall. Not computed on the log scale: that would
    bound the geometric mean, while the table and the plots show the arithmetic mean (which
    can lie above a log-scale interval when the replications spread widely). lo and hi are NaN
    with fewer than 2 values (no spread to estimate); every output is NaN with none.
    """
    mean, half, n = mean_ci(values, level)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    lo, hi = mean - half, mean + half
    if math.isfinite(lo) and bool(np.all(_finite_values(values) >= 0)):
        lo = max(lo, 0.0)
    return mean, lo, hi, n


def wilson_pooled(k: Sequence[float], n: Sequence[float], level: float = 0.95) -> Tuple[float, float, float]:
    """(ratio, lo, hi): sum(k) / sum(n) over the replications and its Wilson score interval (NaN if sum(n) is 0)."""
    from scipy.special import ndtri  # scipy.stats.norm.ppf, without importing scipy.stats

    from sim.output.report_plots import wilson_interval

    k_all, n_all = float(np.sum(k)), float(np.sum(n))
    lo, hi = wilson_interval(np.array([k_all]), np.array([n_all]), z=float(ndtri(0.5 + level / 2)))
    return (k_all / n_all if n_all > 0 else math.nan), float(lo[0]), float(hi[0])


def ratio_interval(values: Sequence[float], k: Optional[Sequence[float]] = None,
                   n: Optional[Sequence[float]] = None, level: float = 0.95) -> Tuple[float, float, float, int]:
    """(estimate, lo, hi, replications) of a ratio in [0, 1], never outside [0, 1].

    With the counts (`k` successes of `n` trials per replication, e.g. throttles of attempts):
    the estimate is the pooled ratio sum(k) / sum(n) (the replications' ratios averaged with
    their trials as weights, the arm's ratio as a whole) and the interval the Wilson score
    interval on the pooled counts, widened to the Student-t interval of the replications'
    ratios where that is wider. Why the union: the Wilson interval takes every trial as an
    independent draw, but throttles and cold starts come in bursts (one spike throttles many
    calls at once), so the replications can disagree by more than pooled counts admit; the
    replications' spread is the honest measure then, and the Wilson part keeps a sensible
    width when they agree (a ratio of 0 in every run still gets an upper bound above 0).
    Without counts (a ratio the summary does not break down): Student t on the replications'
    ratios, clipped to [0, 1] (a Wilson interval needs the number of trials, which is missing).
    """
    x = _finite_values(values)
    t_mean, t_lo, t_hi, reps = student_interval(values, level)
    if k is not None and n is not None:
        kk, nn = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
        ok = np.isfinite(kk) & np.isfinite(nn)
        if ok.any() and nn[ok].sum() > 0:
            est, lo, hi = wilson_pooled(kk[ok], nn[ok], level)
            if math.isfinite(t_lo):
                lo, hi = min(lo, t_lo), max(hi, t_hi)
            return est, max(lo, 0.0), min(hi, 1.0), int(ok.sum())
    if reps == 0:
        return math.nan, math.nan, math.nan, 0
    lo = max(t_lo, 0.0) if math.isfinite(t_lo) else t_lo
    hi = min(t_hi, 1.0) if math.isfinite(t_hi) else t_hi
    return float(np.mean(x)), lo, hi, reps


def metric_interval(part: pl.DataFrame, metric: str, level: float = 0.95) -> Tuple[float, float, float, int]:
    """(estimate, lo, hi, n) of `metric` over one arm's replications (rows of `part`), by the metric's kind.

    Ratios (is_ratio): ratio_interval, on pooled counts when `part` has them
    (ratio_count_columns); every other metric: student_interval.
    """
    values = part[metric].to_list()
    if not is_ratio(metric):
        return student_interval(values, level)
    counts = ratio_count_columns(metric)
    if counts is not None and all(c in part.columns and part[c].dtype.is_numeric()
                                  for c in (counts[0], *counts[1])):
        rows = part.filter(pl.col(metric).is_not_null() & pl.col(metric).is_finite())
        k = rows[counts[0]].cast(pl.Float64).to_numpy()
        n = np.sum([rows[c].cast(pl.Float64).to_numpy() for c in counts[1]], axis=0)
        return ratio_interval(rows[metric].to_list(), k, n, level)
    return ratio_interval(values, level=level)


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
    """One row per arm (combination of swept parameters): params, runs, and METRIC.mean/.lo/.hi/.n.

    METRIC.mean is the estimate and .lo/.hi its 95 % interval from metric_interval: a ratio's
    pooled ratio with a Wilson interval when the counts are there, else the mean with a
    Student-t interval clipped at 0 (or to [0, 1] for a ratio). Arms are ordered by their
    parameter values in natural order (natural_key): a text column of numbers and `null`
    sorts 50, 100, 1000, null rather than 100, 1000, 50, null.
    """
    params = list(parameters(df).values())
    groups = df.group_by(params, maintain_order=True) if params else [((), df)]
    rows = []
    for key, part in groups:
        row = dict(zip(params, key if isinstance(key, tuple) else (key,)))
        row["runs"] = part.height
        for m in metrics:
            mean, lo, hi, n = metric_interval(part, m)
            row.update({f"{m}.mean": mean, f"{m}.lo": lo, f"{m}.hi": hi, f"{m}.n": n})
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
