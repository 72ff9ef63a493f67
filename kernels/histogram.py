"""Log-linear (HDR-style) latency histograms in ms: int64 count arrays that merge by addition.

Layout. A value `v` (ms) with `m, e = frexp(v)` (`v = m·2**e`, `0.5 <= m < 1`) and
`E_MIN <= e <= E_MAX` falls in bin `1 + (e - E_MIN)·SUB + s`, `s = int((m - 0.5)·2·SUB)`;
each power of two is split into `SUB` equal sub-buckets. The resolved range is
`[2**(E_MIN-1), 2**E_MAX)` = [2**-10 ms, 2**25 ms) ≈ [0.001 ms, 9.3 h). Bin 0 (underflow)
holds everything below it — zero, negatives and NaN — and reports 0.0; the last bin
(overflow) holds everything from 2**25 ms up, +inf included, and reports 2**25 ms.

The index is exact: `m - 0.5` and the scaling by a power of two are exact in float64, so
the kernel and its twin agree bit for bit.

Error bound. A resolved bin is `[L, L + w)` with `L = (SUB + s)·w`, `w = 2**e / (2·SUB)`,
and reports its midpoint `L + w/2`. For any `v` in the bin,
`|mid - v| / v <= (w/2) / L = 1 / (2·(SUB + s)) <= 1 / (2·SUB) = 1/256 ≈ 0.39 %`
(the worst case is `v = L` in sub-bucket 0), well inside the 1 % contract.
"""

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from kernels import jit

SUB = 128  # sub-buckets per power of two (a power of two itself)
LOG2_SUB = SUB.bit_length() - 1
E_MIN = -9  # frexp exponent of the smallest resolved value, 2**-10 ms
E_MAX = 25  # frexp exponent of the largest resolved values, just below 2**25 ms
N_BINS = (E_MAX - E_MIN + 1) * SUB + 2  # underflow + resolved + overflow
V_MIN_MS = 2.0 ** (E_MIN - 1)  # smallest resolved value
V_MAX_MS = 2.0**E_MAX  # first value that overflows
REL_ERROR_BOUND = 1.0 / (2 * SUB)  # worst |reported - v| / v inside the resolved range


@intrinsic
def _float_bits(typingctx, x):
    """The IEEE 754 bits of a float64, as an int64 (a register move, no call)."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@jit
def hist_index(v):
    """The bin of value `v` (ms); NaN, zero, negatives and underflow go to bin 0.

    frexp read straight from the bits (a resolved v is a normal float64): the exponent
    field E gives e = E - 1022, and the top LOG2_SUB mantissa bits are `s`. numba's
    math.frexp is an external call that cost a third of the pool kernel's time.
    """
    if not v >= V_MIN_MS:  # also catches NaN
        return 0
    if v >= V_MAX_MS:
        return N_BINS - 1
    b = _float_bits(v)
    e = ((b >> 52) & 0x7FF) - 1022
    s = (b >> (52 - LOG2_SUB)) & (SUB - 1)
    return 1 + (e - E_MIN) * SUB + s


@jit
def hist_add(hist, v):
    """Count value `v` (ms) into `hist` (int64, N_BINS)."""
    hist[hist_index(v)] += 1


@jit
def hist_add_many(hist, values):
    """Count every value of `values` (ms, float64 1-D) into `hist` (int64, N_BINS)."""
    for k in range(values.shape[0]):
        hist[hist_index(values[k])] += 1


@jit
def bin_low(i):
    """Lower edge (ms, inclusive) of bin `i`; 0.0 for the underflow bin."""
    if i <= 0:
        return 0.0
    if i >= N_BINS - 1:
        return V_MAX_MS
    j = i - 1
    e = E_MIN + j // SUB
    s = j % SUB
    return math.ldexp(float(SUB + s), e - 1 - LOG2_SUB)


@jit
def bin_high(i):
    """Upper edge (ms, exclusive) of bin `i`; +inf for the overflow bin."""
    if i >= N_BINS - 1:
        return math.inf
    return bin_low(i + 1)


@jit
def bin_mid(i):
    """The value (ms) reported for bin `i`: its midpoint; 0.0 for underflow, 2**25 for overflow."""
    if i <= 0:
        return 0.0
    if i >= N_BINS - 1:
        return V_MAX_MS
    return 0.5 * (bin_low(i) + bin_low(i + 1))


@jit
def hist_quantile(hist, q):
    """The q-quantile (ms, q in [0, 1]): bin_mid of the bin holding the ceil(q·n)-th smallest sample.

    q = 0 gives the smallest non-empty bin, q = 1 the largest; NaN for an empty histogram
    or a q outside [0, 1].
    """
    if not (q >= 0.0 and q <= 1.0):
        return math.nan
    n = 0
    for i in range(hist.shape[0]):
        n += hist[i]
    if n == 0:
        return math.nan
    k = math.ceil(q * n)  # 1-based rank, as np.quantile(method="inverted_cdf")
    if k < 1:
        k = 1
    if k > n:
        k = n
    seen = 0
    for i in range(hist.shape[0]):
        seen += hist[i]
        if seen >= k:
            return bin_mid(i)
    return math.nan  # unreachable


@jit
def hist_quantile_in(hist, q, lo, hi):
    """`hist_quantile` clamped to `[lo, hi]`, the exact smallest and largest values counted.

    A bin's midpoint can lie outside the samples it holds (a fixed 1,000 ms duration sits in
    the bin [996, 1004) and would report 1,000.0 only by luck); the clamp keeps every
    percentile within [min, max], and a histogram whose values are all equal reports that
    value exactly. The error bound of `hist_quantile` still holds: clamping only moves the
    answer towards the true sample.
    """
    v = hist_quantile(hist, q)
    if v < lo:
        return lo
    if v > hi:
        return hi
    return v
