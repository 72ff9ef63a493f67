"""Log-linear histograms: the kernels against their twins, the 1 % bound, and merging."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kernels.histogram import (
    E_MAX,
    E_MIN,
    N_BINS,
    REL_ERROR_BOUND,
    SUB,
    V_MAX_MS,
    V_MIN_MS,
    bin_high,
    bin_low,
    bin_mid,
    hist_add,
    hist_add_many,
    hist_index,
    hist_quantile,
)
from kernels.histogram_ref import (
    bin_high_ref,
    bin_low_ref,
    bin_mid_ref,
    hist_add_many_ref,
    hist_add_ref,
    hist_index_ref,
    hist_quantile_ref,
)

QS = [0.0, 0.001, 0.01, 0.1, 0.25, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999, 1.0]


def empty():
    return np.zeros(N_BINS, dtype=np.int64)


def test_layout_constants():
    assert SUB == 128
    assert (E_MIN, E_MAX) == (-9, 25)
    assert N_BINS == 35 * 128 + 2
    assert (V_MIN_MS, V_MAX_MS) == (2.0**-10, 2.0**25)
    assert REL_ERROR_BOUND == 1 / 256 < 0.01


EDGES = [
    0.0,
    -0.0,
    -1.0,
    -math.inf,
    math.nan,
    5e-324,  # smallest subnormal
    1e-300,
    2.0**-11,
    np.nextafter(2.0**-10, 0.0),
    2.0**-10,
    np.nextafter(2.0**-10, 1.0),
    0.001,
    0.5,
    1.0,
    np.nextafter(1.0, 0.0),
    1.0 + 1 / 256,  # a sub-bucket edge
    np.nextafter(1.0 + 1 / 256, 0.0),
    2.0,
    3.0,
    100.0,
    1000.0,
    12345.678,
    np.nextafter(2.0**25, 0.0),
    2.0**25,
    2.0**25 + 1,
    1e300,
    math.inf,
]


@pytest.mark.parametrize("v", EDGES)
def test_index_edge_cases_match_twin(v):
    assert hist_index(v) == hist_index_ref(v)


def test_index_edge_cases_exact():
    assert hist_index(0.0) == hist_index(-3.0) == hist_index(math.nan) == 0
    assert hist_index(np.nextafter(2.0**-10, 0.0)) == 0
    assert hist_index(2.0**-10) == 1
    assert hist_index(1.0) == 1 + (1 - E_MIN) * SUB  # 1.0 = 0.5 * 2**1, sub-bucket 0
    assert hist_index(np.nextafter(1.0, 0.0)) == (1 - E_MIN) * SUB  # last sub-bucket below
    assert hist_index(np.nextafter(2.0**25, 0.0)) == N_BINS - 2
    assert hist_index(2.0**25) == hist_index(math.inf) == N_BINS - 1


def test_every_bin_edge_against_twin():
    for i in range(N_BINS):
        assert bin_low(i) == bin_low_ref(i)
        assert bin_high(i) == bin_high_ref(i)
        assert bin_mid(i) == bin_mid_ref(i)
    for i in range(1, N_BINS):
        lo = bin_low(i)
        assert hist_index(lo) == hist_index_ref(lo) == i
        below = np.nextafter(lo, 0.0)
        assert hist_index(below) == hist_index_ref(below) == i - 1
        if i < N_BINS - 1:
            assert bin_high(i) == bin_low(i + 1)
            assert bin_low(i) < bin_mid(i) < bin_high(i)


def test_midpoint_error_bound_is_attained_only_at_the_bottom():
    worst = max(
        max((bin_mid(i) - bin_low(i)) / bin_low(i), (bin_high(i) - bin_mid(i)) / bin_high(i))
        for i in range(1, N_BINS - 1)
    )
    assert worst == REL_ERROR_BOUND


@given(hnp.arrays(np.float64, st.integers(0, 300), elements=st.floats(allow_nan=True, allow_infinity=True)))
@settings(max_examples=200, deadline=None)
def test_add_many_matches_twins(values):
    h_kernel, h_one, h_ref, h_ref_one = empty(), empty(), empty(), empty()
    hist_add_many(h_kernel, values)
    hist_add_many_ref(h_ref, values)
    for v in values:
        hist_add(h_one, v)
        hist_add_ref(h_ref_one, v)
        assert hist_index(v) == hist_index_ref(v)
    assert np.array_equal(h_kernel, h_ref)
    assert np.array_equal(h_kernel, h_one)
    assert np.array_equal(h_kernel, h_ref_one)
    assert h_kernel.sum() == len(values)


@given(
    hnp.arrays(np.float64, st.integers(0, 200), elements=st.floats(-10.0, 1e9, allow_nan=False)),
    st.floats(0.0, 1.0),
)
@settings(max_examples=200, deadline=None)
def test_quantile_matches_twin(values, q):
    h = empty()
    hist_add_many(h, values)
    got, want = hist_quantile(h, q), hist_quantile_ref(values, q)
    assert (math.isnan(got) and math.isnan(want)) or got == want


def test_quantile_with_nan_samples_matches_twin():
    values = np.array([math.nan, 5.0, math.nan, 1.0, 7.0])
    h = empty()
    hist_add_many(h, values)
    for q in QS:
        assert hist_quantile(h, q) == hist_quantile_ref(values, q)
    assert hist_quantile(h, 0.0) == 0.0  # NaN counts in bin 0, which reports 0.0


def test_quantile_exact_trace():
    h = empty()
    hist_add_many(h, np.array([1.0, 2.0, 3.0, 100.0]))
    assert hist_quantile(h, 0.0) == 1.0 + 1 / 256  # 1.0 sits in [1, 1 + 2/256)
    assert hist_quantile(h, 0.25) == 1.0 + 1 / 256
    assert hist_quantile(h, 0.26) == 2.0 + 2 / 256
    assert hist_quantile(h, 0.5) == 2.0 + 2 / 256
    assert hist_quantile(h, 1.0) == bin_mid(hist_index(100.0))
    assert math.isnan(hist_quantile(empty(), 0.5))
    assert math.isnan(hist_quantile(h, 1.5)) and math.isnan(hist_quantile(h, math.nan))


@pytest.mark.parametrize("seed", range(5))
def test_quantiles_within_one_percent_of_numpy(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 50_000))
    values = np.exp(rng.normal(math.log(50.0), 2.5, n))
    values = values[(values >= V_MIN_MS) & (values < V_MAX_MS)]
    h = empty()
    hist_add_many(h, values)
    for q in QS:
        want = np.quantile(values, q, method="inverted_cdf")
        got = hist_quantile(h, q)
        assert abs(got - want) / want <= REL_ERROR_BOUND
        assert got == hist_quantile_ref(values, q)


@given(
    hnp.arrays(
        np.float64,
        st.integers(1, 300),
        elements=st.floats(V_MIN_MS, V_MAX_MS, exclude_max=True),
    ),
    st.floats(0.0, 1.0),
)
@settings(max_examples=300, deadline=None)
def test_quantile_relative_error_random(values, q):
    h = empty()
    hist_add_many(h, values)
    want = np.quantile(values, q, method="inverted_cdf")
    assert abs(hist_quantile(h, q) - want) / want <= REL_ERROR_BOUND


@given(
    hnp.arrays(np.float64, st.integers(0, 200), elements=st.floats(allow_nan=True)),
    hnp.arrays(np.float64, st.integers(0, 200), elements=st.floats(allow_nan=True)),
)
@settings(max_examples=100, deadline=None)
def test_merge_is_addition(a, b):
    ha, hb, hab = empty(), empty(), empty()
    hist_add_many(ha, a)
    hist_add_many(hb, b)
    hist_add_many(hab, np.concatenate([a, b]))
    assert np.array_equal(ha + hb, hab)
    for q in QS:
        got, want = hist_quantile(ha + hb, q), hist_quantile(hab, q)
        assert (math.isnan(got) and math.isnan(want)) or got == want
