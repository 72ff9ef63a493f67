"""The engine's promises: outcomes independent of the window, determinism, conservation."""

from __future__ import annotations

import math

import polars as pl
import pytest

from sim import simulate


def busy_scenario(window_s, seed: int = 3) -> dict:
    """Everything at once: two functions sharing the unreserved pool, one reserved, a
    provisioned schedule, sync client retries, async throttles and errors, timeouts."""
    return {
        "name": "everything",
        "duration_s": 600,
        "seed": seed,
        "account": {"concurrency_limit": 160},
        "functions": {
            "api": {"memory_mb": 512, "timeout_s": 2, "provisioned_concurrency": 5,
                    "provisioned_schedule": [{"at_s": 200, "count": 20}, {"at_s": 400.5, "count": 2}],
                    "duration_ms": {"dist": "lognormal", "median": 200, "p99": 2500},
                    "init_ms": {"dist": "uniform", "low": 100, "high": 400},
                    "idle_expiry_s": {"dist": "exponential", "mean": 60}, "error_rate": 0.02},
            "batch": {"memory_mb": 2048, "timeout_s": 30, "reserved_concurrency": 30,
                      "duration_ms": {"dist": "exponential", "mean": 900},
                      "error_rate": 0.1},
            "side": {"memory_mb": 256, "duration_ms": {"dist": "fixed", "value": 50}},
        },
        "traffic": [
            {"name": "web", "target": "function:api", "invocation": "sync",
             "arrivals": {"kind": "poisson", "rate_per_s": 350},
             "retries": {"max_attempts": 3, "base_delay_s": 0.05, "max_delay_s": 1, "jitter": "full"}},
            {"name": "jobs", "target": "function:batch", "invocation": "async",
             "arrivals": {"kind": "steps", "steps": [{"at_s": 0, "rate_per_s": 20}, {"at_s": 150, "rate_per_s": 60},
                                                      {"at_s": 350, "rate_per_s": 5}]}},
            {"name": "tick", "target": "function:side", "arrivals": {"kind": "constant", "rate_per_s": 7}},
        ],
        "record": {"period_s": 60},
        "sim": {"window_s": window_s},
    }


def without_wall(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("wall_s", "requests_per_wall_s")}


@pytest.fixture(scope="module")
def runs():
    return {w: simulate(busy_scenario(w), sample_all=True) for w in (0.01, 1.0, 60.0, "auto")}


def test_scenario_exercises_every_path(runs):
    f = runs[1.0].summary["functions"]
    assert f["api"]["throttles"] > 0 and f["api"]["spillover_invocations"] > 0
    assert f["api"]["timeouts"] > 0 and f["api"]["cold_starts"] > 0
    assert f["batch"]["throttles"] > 0 and f["batch"]["errors"] > 0
    rows = runs[1.0].requests
    assert rows.filter(pl.col("attempt") > 0).height > 0  # retries happened
    assert rows["provisioned"].any()


@pytest.mark.parametrize("window_s", [0.01, 60.0, "auto"])
def test_outcomes_do_not_depend_on_the_window(runs, window_s):
    assert runs[window_s].requests.equals(runs[1.0].requests)
    assert without_wall(runs[window_s].summary) == without_wall(runs[1.0].summary)
    assert runs[window_s].metrics.equals(runs[1.0].metrics)


def test_same_seed_same_numbers_other_seed_differs(runs):
    again = simulate(busy_scenario(1.0))
    assert without_wall(again.summary) == without_wall(runs[1.0].summary)
    other = simulate(busy_scenario(1.0, seed=4))
    assert without_wall(other.summary) != without_wall(runs[1.0].summary)


def test_every_request_is_accounted_for(runs):
    """Each request ends in exactly one way: ok/error/timeout, sync failure, async drop, or still pending."""
    r = runs[1.0]
    rows = r.requests
    last = rows.group_by("id").agg(pl.col("attempt").max().alias("attempt"))
    assert last.height == r.summary["requests_simulated"]
    assert rows.select(pl.struct("id", "attempt").n_unique()).item() == rows.height
    f = r.summary["functions"]
    thr = rows.filter(pl.col("outcome") == "throttled")
    for name, fs in f.items():
        assert thr.filter(pl.col("function") == name).height == fs["throttles"]
        ran = rows.filter((pl.col("function") == name) & (pl.col("outcome") != "throttled"))
        assert ran.height == fs["invocations"]
        assert ran["cold"].sum() == fs["cold_starts"]


def scaling_scenario() -> dict:
    return {
        "name": "burst",
        "duration_s": 60,
        "seed": 1,
        "account": {"concurrency_limit": 20000},
        "functions": {"f": {"memory_mb": 128, "timeout_s": 10,
                            "duration_ms": {"dist": "fixed", "value": 1000},
                            "init_ms": {"dist": "fixed", "value": 0}}},
        "traffic": [{"name": "step", "target": "function:f",
                     "arrivals": {"kind": "constant", "rate_per_s": 5000}}],
        "record": {"period_s": 10},
    }


def test_scaling_rate_worked_by_hand():
    """0 → 5,000 requests/s on a 1 s function: 1,000 environments at once, then 100 per
    second (1,000 per 10 s), so 5,000 are reached after 40 s and throttles stop there.

    By hand: arrivals come every 0.2 ms; the bucket holds 1,000 tokens at t = 0 and gains one
    every 10 ms. Until it runs dry (5,000·t = 1,000 + 100·t, t ≈ 0.204 s) every arrival is a
    cold start: ⌈5,000·T⌉ in [0, T). From then until the first environments free up at
    t = 1 s, demand exceeds capacity, so each token becomes a cold start as soon as it
    exists: 1,000 + ⌊100·T⌋. At every T the count can never exceed 1,000 + 100·T.
    """
    r = simulate(scaling_scenario(), sample_all=True)
    cold_t = r.requests.filter(pl.col("cold"))["t_s"].to_numpy()
    for T in (0.0051, 0.1001, 0.1999):
        assert (cold_t < T).sum() == math.ceil(5000 * T)
    for T in (0.2151, 0.5055, 0.9951):
        assert (cold_t < T).sum() == 1000 + int(100 * T)
    for T in [0.5 * k + 0.0001 for k in range(1, 120)]:
        assert (cold_t < T).sum() <= 1000 + 100 * T
    assert len(cold_t) == 5000
    conc = r.metrics.filter(pl.col("metric") == "ConcurrentExecutions").sort("time_s")["value"].to_list()
    assert conc[0] <= 2000 and all(b - a <= 1000 for a, b in zip(conc, conc[1:]))
    assert conc[0] >= 1900 and conc[-2:] == [5000, 5000]
    thr = r.metrics.filter(pl.col("metric") == "Throttles").sort("time_s")["value"].to_list()
    assert all(x > 0 for x in thr[:4]) and thr[-1] == 0


# ---- automatic windows (sim.window_s: auto, the default) ------------------------------------

def sparse_scenario(window_s, duration_s: float, rate_per_s: float = 9.0) -> dict:
    """The long, sparse study of the benchmark (tests/bench/test_bench_sparse.py), shorter."""
    return {
        "name": "sparse", "duration_s": duration_s, "seed": 5,
        "functions": {"f": {"duration_ms": {"dist": "exponential", "mean": 2000},
                            "init_ms": {"dist": "fixed", "value": 250},
                            "idle_expiry_s": {"dist": "fixed", "value": 600}}},
        "traffic": [{"name": "calls", "target": "function:f", "arrivals": {"kind": "poisson", "rate_per_s": rate_per_s}}],
        "sim": {"window_s": window_s},
    }


def engine_of(scenario: dict):
    from scenarios import load_scenario
    from sim.builder import build
    from sim.engine import Engine

    sc = load_scenario(scenario)
    return Engine(build(sc).components, sc.duration_s, sc.sim.window_s)


def test_auto_is_the_default_and_sizes_windows_by_their_items():
    """9 requests/s for 20,000 s: 180,000 arrivals, each carried twice (the source's batch and
    the account's arrays), so windows of 2**15 items hold about 16,384 arrivals: 11 windows,
    where 1 s windows make 20,000."""
    from scenarios import load_scenario
    from sim.engine.clock import AUTO_WINDOW_ITEMS

    sc = sparse_scenario("auto", 20000)
    del sc["sim"]
    assert load_scenario(sc).sim.window_s == "auto"
    engine = engine_of(sc)
    engine.run()
    assert engine.auto and engine.items_per_arrival() == 2.0
    expected = 9 * 20000 / (AUTO_WINDOW_ITEMS / 2)
    assert expected - 1 <= engine.windows <= expected + 2


def test_auto_windows_end_at_control_events():
    """A provisioned-concurrency schedule is a SimPy event: an automatic window ends at each."""
    sc = sparse_scenario("auto", 20000)
    sc["functions"]["f"]["provisioned_schedule"] = [{"at_s": 1000.5 * k, "count": k % 3} for k in range(1, 16)]
    engine = engine_of(sc)
    ends = []
    engine.run(progress=ends.append)
    assert all(1000.5 * k in ends for k in range(1, 16))
    assert len(ends) <= 11 + 15 + 1


@pytest.mark.parametrize("rate_per_s, duration_s", [(9.0, 20000), (0.01, 3600)])
def test_auto_windows_change_no_outcome_of_a_sparse_run(rate_per_s, duration_s):
    """The sparse study at auto (11 windows; or 1 for 36 requests in an hour) and at 1 s windows."""
    auto = simulate(sparse_scenario("auto", duration_s, rate_per_s), sample_all=True)
    fixed = simulate(sparse_scenario(1.0, duration_s, rate_per_s), sample_all=True)
    assert auto.requests.height == auto.summary["requests_simulated"] > 10
    assert auto.requests.equals(fixed.requests)
    assert without_wall(auto.summary) == without_wall(fixed.summary)
    assert auto.metrics.equals(fixed.metrics)


def test_a_window_word_other_than_auto_is_refused_by_the_engine():
    with pytest.raises(ValueError, match="'auto'"):
        engine_of(sparse_scenario("auto", 10)).__class__([], 10.0, "fast")
    with pytest.raises(ValueError, match="> 0"):
        engine_of(sparse_scenario("auto", 10)).__class__([], 10.0, 0.0)


@pytest.mark.parametrize("arrivals", [
    {"kind": "poisson", "rate_per_s": 9.0},
    {"kind": "constant", "rate_per_s": 2.5},
    {"kind": "diurnal", "rate_per_s": 5.0, "peak_to_trough": 4.0, "peak_time_h": 3.0},
    {"kind": "steps", "steps": [{"at_s": 0, "rate_per_s": 0}, {"at_s": 1000, "rate_per_s": 10},
                                {"at_s": 2000, "rate_per_s": 0}, {"at_s": 5000, "rate_per_s": 1}]},
])
def test_a_source_knows_when_it_will_have_made_n_arrivals(arrivals):
    """`horizon(t0, n)` inverts the expected count: n arrivals expected in [t0, horizon), and
    infinity when fewer than n remain before the source's end."""
    from pathlib import Path

    import numpy as np

    from scenarios.schema import Traffic
    from scenarios import load_scenario
    from sim.traffic.arrivals import make_arrival_process

    tr = load_scenario({"functions": {"f": {}}, "traffic": [{"target": "function:f", "arrivals": arrivals,
                                                            "start_s": 100.0}]}).traffic[0]
    assert isinstance(tr, Traffic)
    p = make_arrival_process(tr, 10000.0, np.random.default_rng(0), Path("."))
    total = p.expected_count(0.0, 10000.0)
    for t0 in (0.0, 150.0, 1500.0, 2500.0, 7000.0):
        for n in (1.0, 100.0, 5000.0):
            h = p.horizon(t0, n)
            if p.expected_count(t0, 10000.0) < n:
                assert h == math.inf
            else:
                assert t0 < h <= 10000.0
                assert p.expected_count(t0, h) == pytest.approx(n, rel=1e-6)
    assert p.horizon(0.0, total * 1.01) == math.inf
    assert p.horizon(10000.0, 1.0) == math.inf


def test_a_trace_horizon_counts_rows(tmp_path):
    """A trace's window to its n-th next row holds n rows; rows at one instant are never split."""
    from pathlib import Path

    import numpy as np

    from scenarios.schema import Arrivals, Traffic
    from sim.traffic.arrivals import make_arrival_process

    f = tmp_path / "t.csv"
    f.write_text("t_s\n" + "\n".join(str(x) for x in [1.0, 2.0, 2.0, 2.0, 3.5, 7.0]) + "\n")
    p = make_arrival_process(Traffic(name="t", target="function:f", arrivals=Arrivals(kind="trace", file=str(f))),
                             10.0, np.random.default_rng(0), Path("."))
    after = lambda t: math.nextafter(t, math.inf)  # noqa: E731
    assert p.horizon(0.0, 1) == after(1.0)  # [0, 1⁺) holds the row at 1
    assert p.horizon(1.5, 2) == after(2.0)  # [1.5, 2⁺) holds the three rows at 2: never split
    assert p.horizon(2.0, 4) == after(3.5)
    assert p.horizon(2.0, 5) == after(7.0)  # the last row
    assert p.horizon(2.0, 6) == math.inf
    assert p.expected_count(1.5, after(2.0)) == 3
