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
    hist_quantile_in,
)
from kernels.ref.histogram import (
    bin_high_ref,
    bin_low_ref,
    bin_mid_ref,
    hist_add_many_ref,
    hist_add_ref,
    hist_index_ref,
    hist_quantile_in_ref,
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


def _clamped(values, q):
    h = empty()
    hist_add_many(h, values)
    return hist_quantile_in(h, q, float(values.min()), float(values.max()))


@given(
    hnp.arrays(np.float64, st.integers(1, 300), elements=st.floats(-10.0, 1e12, allow_nan=False)),
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=8),
)
@settings(max_examples=300, deadline=None)
def test_clamped_quantile_within_min_max_and_matches_twin(values, qs):
    lo, hi = float(values.min()), float(values.max())
    for q in qs:
        got = _clamped(values, q)
        assert lo <= got <= hi
        assert got == hist_quantile_in_ref(values, q)


@given(st.floats(-5.0, 1e12, allow_nan=False), st.integers(1, 50))
@settings(max_examples=200, deadline=None)
def test_clamped_quantile_of_equal_values_is_exact(v, n):
    values = np.full(n, v)
    for q in QS:
        assert _clamped(values, q) == v


def test_clamped_quantile_fixed_1000_ms():
    # The issue's case: 1,000 ms sits in the bin [1000, 1004), whose midpoint 1,002.0 was
    # reported as p50 of a fixed 1,000 ms duration.
    one = np.zeros(N_BINS, np.int64)
    one[hist_index(1000.0)] = 3
    assert hist_quantile(one, 0.5) == 1002.0
    assert hist_quantile_in(one, 0.5, 1000.0, 1000.0) == 1000.0
    for v in (1000.0, 0.3, 7e6, 2.0**30):  # 2**30 overflows: the overflow bin reports 2**25
        assert hist_quantile(np.bincount([hist_index(v)], minlength=N_BINS).astype(np.int64), 0.5) != v
        assert _clamped(np.array([v, v, v]), 0.5) == v
    assert math.isnan(hist_quantile_in(empty(), 0.5, 1.0, 2.0))


# ---- through sim.simulate: every histogram-backed percentile of summary.json is honest


def _run(fn: dict, duration_s: float = 20.0, rate_per_s: float = 20.0, seed: int = 1, queue: bool = False):
    from sim import simulate

    sc = {
        "name": "pct",
        "duration_s": duration_s,
        "seed": seed,
        "functions": {"f": {"timeout_s": 900, **fn}},
        "traffic": [{"name": "t", "target": "queue:q" if queue else "function:f",
                     "arrivals": {"kind": "poisson", "rate_per_s": rate_per_s}}],
        "record": {"period_s": duration_s / 2},
    }
    if queue:
        sc["queues"] = {"q": {"visibility_timeout_s": 900}}
        sc["event_source_mappings"] = [{"source": "q", "function": "f", "batch_size": 5}]
    return simulate(sc, progress=False)


def _sections(summary: dict) -> list:
    """(path, stats) of every histogram-backed section of summary.json."""
    out = []
    for name, f in summary.get("functions", {}).items():
        out += [(f"functions.{name}.latency_ms", f["latency_ms"]), (f"functions.{name}.init_ms", f["init_ms"])]
    for name, q in summary.get("queues", {}).items():
        out.append((f"queues.{name}.wait_s", q["wait_s"]))
    return out


def test_fixed_duration_is_exact_through_simulate():
    """The issue's case: a fixed 1,000 ms duration reported p50 1,002.0 (the bin's midpoint)."""
    r = _run({"duration_ms": {"dist": "fixed", "value": 1000}, "init_ms": {"dist": "fixed", "value": 0}})
    lat = r.summary["functions"]["f"]["latency_ms"]
    assert lat["p50"] == lat["p90"] == lat["p99"] == lat["p999"] == lat["max"] == lat["min"] == 1000.0
    assert lat["mean"] == 1000.0
    assert lat["resolution_pct"] == 0.39
    init = r.summary["functions"]["f"]["init_ms"]
    assert init["p50"] == init["p99"] == init["max"] == 0.0


def test_fixed_init_is_exact_through_simulate():
    r = _run({"duration_ms": {"dist": "fixed", "value": 50}, "init_ms": {"dist": "fixed", "value": 333.3}},
             rate_per_s=50.0)
    init = r.summary["functions"]["f"]["init_ms"]
    assert init["p50"] == init["p99"] == init["min"] == init["max"] == 333.3
    assert "resolution_pct" in init


@settings(max_examples=12, deadline=None)
@given(st.floats(1.0, 5000.0), st.floats(1.2, 20.0), st.floats(0.5, 3000.0), st.integers(0, 2**31 - 1),
       st.booleans())
def test_no_percentile_outside_min_max_through_simulate(median, spread, init_median, seed, queue):
    fn = {"duration_ms": {"dist": "lognormal", "median": median, "p99": median * spread},
          "init_ms": {"dist": "lognormal", "median": init_median, "p99": init_median * 2}}
    r = _run(fn, duration_s=10.0, rate_per_s=30.0, seed=seed, queue=queue)
    sections = _sections(r.summary)
    assert any(path.endswith("wait_s") for path, _ in sections) == queue
    for path, s in sections:
        assert s["resolution_pct"] == 0.39, path
        if s["mean"] is None:
            continue
        ps = [s[k] for k in ("p50", "p90", "p99", "p999") if k in s]
        assert all(s["min"] <= p <= s["max"] for p in ps), (path, s)
        assert ps == sorted(ps), (path, s)
        assert s["min"] <= s["mean"] * (1 + 1e-12) and s["mean"] <= s["max"] * (1 + 1e-12), (path, s)
