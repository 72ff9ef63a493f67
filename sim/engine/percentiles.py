"""Summary percentiles from a histogram and the exact extremes tracked beside it."""

from __future__ import annotations

import numpy as np

from kernels.histogram import REL_ERROR_BOUND, hist_quantile

# A percentile's worst relative error in the resolved range (kernels/histogram.py), in %:
# reported beside the percentiles as `resolution_pct`.
RESOLUTION_PCT = round(REL_ERROR_BOUND * 100, 2)


def hist_stats(hist: np.ndarray, total: float, lo: float, hi: float, *quantiles, ms_per_unit: float = 1.0) -> dict:
    """Mean, percentiles, min, max and `resolution_pct` of the values counted in `hist` (ms).

    `total` (the values' sum), `lo` and `hi` (their exact minimum and maximum, which the
    kernels track beside each histogram) are in the output's units, and `ms_per_unit` turns
    the histogram's ms into them (1000 for seconds). Each percentile is the bin's midpoint
    (`hist_quantile`), scaled, then clamped to [lo, hi]: never outside the values seen, and
    exact when they are all equal. `resolution_pct` is the histogram's worst relative error
    of a percentile (REL_ERROR_BOUND, as %), for values in its resolved range (0.001 ms to
    9.3 h; beyond it the clamp is what keeps a percentile honest).
    """
    n = int(hist.sum())
    # (a mean of values in [lo, hi] lies in it; a total summed in rounded units, as completions are
    # in whole µs, can stray out of it by its rounding when every value is the same)
    out = {"mean": min(max(total / n, lo), hi) if n else None}
    for key, q in quantiles:
        out[key] = min(max(float(hist_quantile(hist, q)) / ms_per_unit, float(lo)), float(hi)) if n else None
    out["min"] = float(lo) if n else None
    out["max"] = float(hi) if n else None
    out["resolution_pct"] = RESOLUTION_PCT
    return out
