"""Plain Python/numpy twins of `kernels.histogram`, written for obviousness, not speed."""

import math

import numpy as np

from kernels.histogram import E_MAX, E_MIN, N_BINS, SUB


def hist_index_ref(v):
    """The bin of value `v` (ms), from math.frexp in plain Python."""
    v = float(v)
    if math.isnan(v) or v <= 0.0 or v < 2.0 ** (E_MIN - 1):
        return 0
    if v >= 2.0**E_MAX:
        return N_BINS - 1
    m, e = math.frexp(v)
    return 1 + (e - E_MIN) * SUB + int((m - 0.5) * 2 * SUB)


def hist_add_ref(hist, v):
    """Count value `v` (ms) into `hist`."""
    hist[hist_index_ref(v)] += 1


def hist_add_many_ref(hist, values):
    """Count `values` (ms) into `hist`, vectorised with np.frexp and np.bincount."""
    v = np.asarray(values, dtype=np.float64)
    m, e = np.frexp(np.where(np.isfinite(v) & (v > 0), v, 1.0))
    idx = 1 + (e.astype(np.int64) - E_MIN) * SUB + ((m - 0.5) * 2 * SUB).astype(np.int64)
    idx = np.where(~(v >= 2.0 ** (E_MIN - 1)), 0, idx)  # NaN, <= 0, underflow
    idx = np.where(v >= 2.0**E_MAX, N_BINS - 1, idx)
    hist += np.bincount(idx, minlength=N_BINS).astype(hist.dtype)


def bin_low_ref(i):
    """Lower edge (ms) of bin `i`."""
    if i <= 0:
        return 0.0
    if i >= N_BINS - 1:
        return 2.0**E_MAX
    e, s = E_MIN + (i - 1) // SUB, (i - 1) % SUB
    return (0.5 + s / (2 * SUB)) * 2.0**e


def bin_high_ref(i):
    """Upper edge (ms) of bin `i`."""
    return math.inf if i >= N_BINS - 1 else bin_low_ref(i + 1)


def bin_mid_ref(i):
    """The value (ms) reported for bin `i`."""
    if i <= 0:
        return 0.0
    if i >= N_BINS - 1:
        return 2.0**E_MAX
    return (bin_low_ref(i) + bin_high_ref(i)) / 2


def hist_quantile_ref(values, q):
    """The q-quantile of the raw samples `values` (ms), sorted, mapped to its bin's mid.

    Takes the samples, not a histogram: the ceil(q·n)-th smallest (1-based, at least 1).
    NaN samples sort as smallest here, the same place bin 0 puts them.
    """
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0 or not 0.0 <= q <= 1.0:
        return math.nan
    v = np.sort(np.where(np.isnan(v), -np.inf, v))
    k = min(max(math.ceil(q * len(v)), 1), len(v))
    return bin_mid_ref(hist_index_ref(v[k - 1]))


def hist_quantile_in_ref(values, q):
    """`hist_quantile_ref` clamped to the samples' exact [min, max] (NaN samples ignored there)."""
    v = np.asarray(values, dtype=np.float64)
    x = hist_quantile_ref(v, q)
    finite = v[~np.isnan(v)]
    if math.isnan(x) or len(finite) == 0:
        return x
    return min(max(x, float(finite.min())), float(finite.max()))
