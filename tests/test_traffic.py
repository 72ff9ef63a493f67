"""Arrival processes: exact traces, counts against theory, traces on disk, window independence."""

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from scenarios.schema import Arrivals, RateStep, Traffic
from sim.engine.rng import CHUNK, generator
from sim.traffic.arrivals import (
    ConstantArrivals,
    DiurnalArrivals,
    PoissonArrivals,
    StepArrivals,
    TraceArrivals,
    make_arrival_process,
)

CONF = 0.999
Z = stats.norm.ppf(0.5 + CONF / 2)  # two-sided 99.9 %


def gen(seed=1):
    return np.random.default_rng(seed)


def take_all(proc, windows_s=None, horizon_s=None):
    """Everything `proc` yields, read window by window (t1 = k·Δ from the integer k), then to the end."""
    times, durs = [], []
    if windows_s is not None:
        for k in range(1, int(math.ceil(horizon_s / windows_s)) + 1):
            t, d = proc.take(k * windows_s)
            times.append(t)
            durs.append(d)
    t, d = proc.take(math.inf)
    times.append(t)
    durs.append(d)
    return np.concatenate(times), (None if durs[-1] is None else np.concatenate(durs))


def assert_in_poisson_ci(count, mean):
    lo, hi = stats.poisson.interval(CONF, mean)
    assert lo <= count <= hi, (count, mean, lo, hi)


def check_sorted_in(t, start_s, end_s):
    assert t.dtype == np.float64
    assert np.all(np.diff(t) >= 0)
    if len(t):
        assert t[0] >= start_s and t[-1] < end_s


# constant ---------------------------------------------------------------------------------


def test_constant_exact_trace():
    p = ConstantArrivals(Arrivals(kind="constant", rate_per_s=10.0), 0.0, 100.0, gen(), Path("."), chunk=7)
    t, d = take_all(p)
    assert d is None
    assert np.array_equal(t, np.arange(1000) / 10.0)
    assert p.expected_count(0.0, 100.0) == 1000.0


def test_constant_offset_and_exclusive_end():
    p = ConstantArrivals(Arrivals(kind="constant", rate_per_s=3.0), 5.0, 15.0, gen(), Path("."), chunk=4)
    t, _ = take_all(p, windows_s=0.5, horizon_s=20.0)
    assert len(t) == 30  # 5 + i/3 < 15  <=>  i <= 29
    assert np.array_equal(t, 5.0 + np.arange(30) / 3.0)


def test_constant_no_drift_over_a_month():
    p = ConstantArrivals(Arrivals(kind="constant", rate_per_s=7.0), 0.0, 30 * 86400.0, gen(), Path("."))
    t, _ = p.take(1000.0)
    assert np.array_equal(t, np.arange(7000) / 7.0)
    p.take(30 * 86400.0 - 1.0)
    t, _ = p.take(math.inf)
    i = np.arange(30 * 86400 * 7 - 7, 30 * 86400 * 7)
    assert np.array_equal(t, i / 7.0)


def test_take_is_incremental_and_exact_trace():
    p = ConstantArrivals(Arrivals(kind="constant", rate_per_s=2.0), 0.0, 3.0, gen(), Path("."), chunk=2)
    log = [(t1, p.take(t1)[0].tolist()) for t1 in (0.0, 0.5, 0.5, 1.7, 1.0, 10.0, 11.0)]
    assert log == [
        (0.0, []),
        (0.5, [0.0]),
        (0.5, []),
        (1.7, [0.5, 1.0, 1.5]),
        (1.0, []),
        (10.0, [2.0, 2.5]),
        (11.0, []),
    ]


# poisson ----------------------------------------------------------------------------------


def test_poisson_count_and_gaps():
    rate, horizon = 200.0, 3600.0
    p = PoissonArrivals(Arrivals(kind="poisson", rate_per_s=rate), 0.0, horizon, gen(7), Path("."))
    t, _ = take_all(p, windows_s=60.0, horizon_s=horizon)
    check_sorted_in(t, 0.0, horizon)
    assert_in_poisson_ci(len(t), rate * horizon)
    assert p.expected_count(0.0, horizon) == rate * horizon
    gaps = np.diff(np.concatenate([[0.0], t]))
    n = len(gaps)
    # mean of n exponential gaps: sd (1/rate)/sqrt(n); CV of exponential data: sd 1/sqrt(n) (delta method)
    assert abs(gaps.mean() * rate - 1.0) < Z / math.sqrt(n)
    assert abs(gaps.std() / gaps.mean() - 1.0) < Z / math.sqrt(n)
    assert stats.kstest(gaps, "expon", args=(0, 1 / rate)).pvalue > 1 - CONF


def test_poisson_counts_over_seeds_are_poisson():
    rate, horizon, reps = 50.0, 10.0, 200
    counts = []
    for seed in range(reps):
        p = PoissonArrivals(Arrivals(kind="poisson", rate_per_s=rate), 0.0, horizon, gen(seed), Path("."), chunk=64)
        counts.append(len(take_all(p)[0]))
    counts = np.array(counts)
    mu = rate * horizon
    assert abs(counts.mean() - mu) < Z * math.sqrt(mu / reps)
    # dispersion index: (reps-1)·s²/μ ~ χ²(reps-1) for Poisson counts
    disp = (reps - 1) * counts.var(ddof=1) / mu
    assert stats.chi2.ppf((1 - CONF) / 2, reps - 1) < disp < stats.chi2.ppf((1 + CONF) / 2, reps - 1)


# diurnal ----------------------------------------------------------------------------------


def diurnal(rate=5.0, r=3.0, peak_h=15.0, start_s=0.0, end_s=86400.0, seed=3, **kw):
    a = Arrivals(kind="diurnal", rate_per_s=rate, peak_to_trough=r, peak_time_h=peak_h)
    return DiurnalArrivals(a, start_s, end_s, gen(seed), Path("."), **kw)


def test_diurnal_hourly_counts_chi_square():
    p = diurnal()
    t, _ = take_all(p, windows_s=600.0, horizon_s=86400.0)
    check_sorted_in(t, 0.0, 86400.0)
    edges = np.arange(25) * 3600.0
    observed = np.histogram(t, edges)[0]
    expected = np.array([p.expected_count(a, b) for a, b in zip(edges[:-1], edges[1:])])
    assert math.isclose(expected.sum(), 5.0 * 86400.0, rel_tol=1e-12)  # the 24 h mean is rate_per_s
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert chi2 < stats.chi2.ppf(CONF, df=24)
    assert_in_poisson_ci(len(t), 5.0 * 86400.0)


def test_diurnal_peak_to_trough():
    rate, r, peak_h = 5.0, 3.0, 15.0
    p = diurnal(rate, r, peak_h)
    assert math.isclose(p.peak_rate_per_s / (rate * (1 - p.amplitude)), r)
    t, _ = take_all(p)
    half = 1800.0  # one-hour bins centred on the peak and on the trough (12 h later)
    peak_s, trough_s = peak_h * 3600.0, (peak_h - 12.0) * 3600.0
    n_peak = np.count_nonzero((t >= peak_s - half) & (t < peak_s + half))
    n_trough = np.count_nonzero((t >= trough_s - half) & (t < trough_s + half))
    e_peak = p.expected_count(peak_s - half, peak_s + half)
    e_trough = p.expected_count(trough_s - half, trough_s + half)
    assert e_peak / e_trough > 0.98 * r  # an hour's average is close to the instantaneous ratio
    # log of a ratio of independent Poisson counts: sd ≈ sqrt(1/μ1 + 1/μ2)
    assert abs(math.log(n_peak / n_trough) - math.log(e_peak / e_trough)) < Z * math.sqrt(1 / e_peak + 1 / e_trough)


def test_diurnal_flat_when_ratio_is_one():
    p = diurnal(rate=20.0, r=1.0, end_s=3600.0)
    q = PoissonArrivals(Arrivals(kind="poisson", rate_per_s=20.0), 0.0, 3600.0, gen(3), Path("."))
    a, b = take_all(p)[0], take_all(q)[0]
    assert np.array_equal(a[:CHUNK], b[:CHUNK])  # every candidate accepted; the same first gaps
    assert_in_poisson_ci(len(a), 72000.0)
    assert p.expected_count(0.0, 3600.0) == pytest.approx(72000.0, rel=1e-12)


@pytest.mark.parametrize("rate", [0.01, 1.0, 1e4])
def test_diurnal_squeeze_equals_full_thinning(rate):
    p = diurnal(rate=rate, r=4.0, peak_h=3.0)
    for _ in range(5):
        cand = p._last_s + np.cumsum(p.gen.exponential(1 / p.peak_rate_per_s, CHUNK))
        u = p.gen.random(CHUNK)
        p._last_s = cand[-1]
        full = u * (1 + p.amplitude) < 1 + p.amplitude * np.cos(p._phase(cand))
        assert np.array_equal(p._accept(cand, u), full)


# steps ------------------------------------------------------------------------------------

STEPS = [RateStep(at_s=10.0, rate_per_s=50.0), RateStep(at_s=30.0, rate_per_s=0.0), RateStep(at_s=50.0, rate_per_s=200.0)]


def test_steps_counts_and_zero_rate():
    p = StepArrivals(Arrivals(kind="steps", steps=STEPS), 0.0, 80.0, gen(11), Path("."))
    t, _ = take_all(p, windows_s=1.0, horizon_s=80.0)
    check_sorted_in(t, 10.0, 80.0)
    assert np.count_nonzero(t < 10.0) == 0  # rate 0 before the first step
    assert np.count_nonzero((t >= 30.0) & (t < 50.0)) == 0  # the zero-rate step
    assert_in_poisson_ci(np.count_nonzero((t >= 10.0) & (t < 30.0)), 50.0 * 20)
    late = t[t >= 50.0]
    assert_in_poisson_ci(len(late), 200.0 * 30)
    assert stats.kstest(late, "uniform", args=(50.0, 30.0)).pvalue > 1 - CONF  # Poisson within a step
    assert p.expected_count(0.0, 80.0) == 50.0 * 20 + 200.0 * 30
    assert p.expected_count(20.0, 60.0) == 50.0 * 10 + 200.0 * 10


def test_steps_unsorted_and_started_late():
    a = Arrivals(kind="steps", steps=[STEPS[2], STEPS[0], STEPS[1]])
    b = Arrivals(kind="steps", steps=STEPS)
    ta = take_all(StepArrivals(a, 0.0, 80.0, gen(5), Path(".")))[0]
    tb = take_all(StepArrivals(b, 0.0, 80.0, gen(5), Path(".")))[0]
    assert np.array_equal(ta, tb)
    late = StepArrivals(b, 20.0, 80.0, gen(5), Path("."))  # the step at 10 s is already in force
    t = take_all(late)[0]
    check_sorted_in(t, 20.0, 80.0)
    assert_in_poisson_ci(np.count_nonzero(t < 30.0), 50.0 * 10)
    assert late.expected_count(0.0, 80.0) == 50.0 * 10 + 200.0 * 30


def test_steps_all_zero_or_none():
    for steps in ([], [RateStep(0.0, 0.0)], [RateStep(100.0, 5.0)]):
        p = StepArrivals(Arrivals(kind="steps", steps=steps), 0.0, 60.0, gen(), Path("."))
        t, d = take_all(p, windows_s=7.0, horizon_s=60.0)
        assert len(t) == 0 and d is None
        assert p.expected_count(0.0, 60.0) == 0.0


# trace ------------------------------------------------------------------------------------


def trace_frame():
    return pl.DataFrame(
        {
            "t_s": [5.0, 1.0, 3.0, 3.0, 0.0, 9.5, 10.0, 2.0, 3.0],
            "dur_ms": [50.0, 10.0, 31.0, 32.0, 0.0, 95.0, 100.0, 20.0, 33.0],
            "other": list(range(9)),
        }
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_trace_round_trip(tmp_path, fmt):
    df = trace_frame()
    path = tmp_path / f"trace.{fmt}"
    df.write_csv(path) if fmt == "csv" else df.write_parquet(path)
    a = Arrivals(kind="trace", file=path.name, time_column="t_s", duration_column="dur_ms")
    p = TraceArrivals(a, 1.0, 10.0, gen(), tmp_path, chunk=2)
    t, d = take_all(p, windows_s=0.5, horizon_s=12.0)
    assert t.tolist() == [1.0, 2.0, 3.0, 3.0, 3.0, 5.0, 9.5]  # sorted, [start, end)
    assert d.tolist() == [10.0, 20.0, 31.0, 32.0, 33.0, 50.0, 95.0]  # ties keep file order
    assert p.expected_count(0.0, 100.0) == 7.0
    assert p.expected_count(3.0, 5.0) == 3.0


def test_trace_without_durations_and_errors(tmp_path):
    trace_frame().write_csv(tmp_path / "t.csv")
    p = TraceArrivals(Arrivals(kind="trace", file=str(tmp_path / "t.csv")), 0.0, 100.0, gen(), Path("/nonexistent"))
    t, d = p.take(4.0)
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0, 3.0, 3.0] and d is None
    with pytest.raises(ValueError, match="no column"):
        TraceArrivals(Arrivals(kind="trace", file="t.csv", time_column="when"), 0.0, 10.0, gen(), tmp_path)
    with pytest.raises(ValueError, match="needs a file"):
        TraceArrivals(Arrivals(kind="trace"), 0.0, 10.0, gen(), tmp_path)


def test_trace_integer_times_and_empty_window(tmp_path):
    pl.DataFrame({"t_s": [3, 1, 2]}).write_parquet(tmp_path / "t.parquet")
    p = TraceArrivals(Arrivals(kind="trace", file="t.parquet"), 0.0, 10.0, gen(), tmp_path)
    assert take_all(p)[0].tolist() == [1.0, 2.0, 3.0]
    empty = TraceArrivals(Arrivals(kind="trace", file="t.parquet"), 5.0, 10.0, gen(), tmp_path)
    t, d = empty.take(math.inf)
    assert len(t) == 0 and t.dtype == np.float64 and d is None


# every kind: windows, determinism, memory -------------------------------------------------

HORIZON_S = 120.0


def kinds(tmp_path):
    rng = np.random.default_rng(99)
    n = 40_000
    pl.DataFrame({"t_s": rng.uniform(0, HORIZON_S + 10, n), "d_ms": rng.exponential(100.0, n)}).write_parquet(
        tmp_path / "big.parquet"
    )
    return {
        "constant": Arrivals(kind="constant", rate_per_s=333.3),
        "poisson": Arrivals(kind="poisson", rate_per_s=300.0),
        "diurnal": Arrivals(kind="diurnal", rate_per_s=300.0, peak_to_trough=5.0, peak_time_h=0.01),
        "steps": Arrivals(kind="steps", steps=[RateStep(0.0, 100.0), RateStep(20.0, 0.0), RateStep(40.0, 500.0)]),
        "trace": Arrivals(kind="trace", file="big.parquet", duration_column="d_ms"),
    }


def run(arrivals, seed, windows_s, tmp_path, start_s=0.5):
    traffic = Traffic(name="src", arrivals=arrivals, start_s=start_s)
    p = make_arrival_process(traffic, HORIZON_S, generator(seed, "src"), tmp_path)
    return take_all(p, windows_s, HORIZON_S)


@pytest.mark.parametrize("kind", ["constant", "poisson", "diurnal", "steps", "trace"])
def test_window_independence_and_determinism(tmp_path, kind):
    arrivals = kinds(tmp_path)[kind]
    t_ref, d_ref = run(arrivals, 1, None, tmp_path)
    assert len(t_ref) > 2 * CHUNK  # several chunks
    check_sorted_in(t_ref, 0.5, HORIZON_S)
    for windows_s in (0.01, 1.0, 60.0):
        t, d = run(arrivals, 1, windows_s, tmp_path)
        assert np.array_equal(t, t_ref)
        assert (d is None and d_ref is None) or np.array_equal(d, d_ref)
    t_again, _ = run(arrivals, 1, 0.37, tmp_path)
    assert np.array_equal(t_again, t_ref)
    t_other, _ = run(arrivals, 2, None, tmp_path)
    if kind in ("constant", "trace"):
        assert np.array_equal(t_other, t_ref)  # no randomness
    else:
        assert not np.array_equal(t_other[:100], t_ref[:100])


def test_irregular_windows_with_tiny_chunks():
    a = Arrivals(kind="steps", steps=[RateStep(0.0, 100.0), RateStep(20.0, 0.0), RateStep(40.0, 500.0)])
    whole = take_all(StepArrivals(a, 0.0, 60.0, gen(4), Path("."), chunk=16))[0]
    p = StepArrivals(a, 0.0, 60.0, gen(4), Path("."), chunk=16)
    edges = np.cumsum(np.random.default_rng(0).exponential(0.5, 200))
    parts = [p.take(t1)[0] for t1 in edges] + [p.take(math.inf)[0]]
    assert np.array_equal(np.concatenate(parts), whole)


def test_memory_holds_one_chunk():
    p = PoissonArrivals(Arrivals(kind="poisson", rate_per_s=1e5), 0.0, 100.0, gen(), Path("."), chunk=1000)
    total = 0
    for k in range(1, 101):
        total += len(p.take(float(k))[0])
        assert len(p._t) == 1000
    assert_in_poisson_ci(total, 1e7)


def test_make_arrival_process_window_and_errors(tmp_path):
    tr = Traffic(name="a", arrivals=Arrivals(kind="constant", rate_per_s=1.0), start_s=10.0, end_s=500.0)
    p = make_arrival_process(tr, 100.0, gen(), tmp_path)
    assert (p.start_s, p.end_s) == (10.0, 100.0)
    assert take_all(p)[0].tolist() == [float(x) for x in range(10, 100)]
    with pytest.raises(ValueError, match="unknown arrivals kind"):
        make_arrival_process(Traffic(name="b", arrivals=Arrivals(kind="burst")), 10.0, gen(), tmp_path)
    with pytest.raises(ValueError, match="rate_per_s"):
        make_arrival_process(Traffic(name="c", arrivals=Arrivals(kind="poisson")), 10.0, gen(), tmp_path)
    with pytest.raises(ValueError, match="peak_to_trough"):
        make_arrival_process(
            Traffic(name="d", arrivals=Arrivals(kind="diurnal", rate_per_s=1.0, peak_to_trough=0.5)), 10.0, gen(), tmp_path
        )
    for kind in ("constant", "poisson", "diurnal"):
        zero = make_arrival_process(Traffic(name="z", arrivals=Arrivals(kind=kind, rate_per_s=0.0)), 10.0, gen(), tmp_path)
        assert len(zero.take(math.inf)[0]) == 0
