"""cloudtwin's Lambda pool against a per-request SimPy model of the same pool (docs/DESIGN.md §2).

The SimPy model runs 300 k requests (about 3 s); cloudtwin runs 10 M of the same pool at ten
times the rate. The figure that matters is the ratio of their requests per second, printed
at the end of `make bench`; the two runs happen in one session so the machine is the same.
"""

import time

import pytest

from pool_scenario import pool_scenario
from simpy_baseline import run_simpy_pool
from sim import simulate

SIMPY_REQUESTS = 300_000


@pytest.fixture(scope="module")
def warm_numba():
    """A tiny run of the same shape, so the benchmark does not time compiling or loading kernels."""
    simulate(pool_scenario(rate_per_s=100.0, duration_s=10.0, concurrency_limit=1000), progress=False)


def test_simpy_baseline(benchmark, bench_figures):
    def run():
        t0 = time.perf_counter()
        counts = run_simpy_pool(rate_per_s=1000.0, mean_duration_s=0.1, init_s=0.2, idle_expiry_s=600.0,
                                concurrency=1000, n_requests=SIMPY_REQUESTS, seed=1)
        return counts, time.perf_counter() - t0

    counts, wall_s = benchmark.pedantic(run, rounds=1, iterations=1)
    assert counts["invocations"] + counts["throttles"] == SIMPY_REQUESTS
    figures = {"requests": SIMPY_REQUESTS, "wall_s": wall_s, "requests_per_s": SIMPY_REQUESTS / wall_s, **counts}
    benchmark.extra_info.update(figures)
    bench_figures["simpy_baseline"] = figures


def test_cloudtwin_10m(benchmark, bench_figures, warm_numba):
    # 10,000 req/s x 1,000 s = 10 M requests; 1,000 busy environments on average.
    scenario = pool_scenario(rate_per_s=10_000.0, duration_s=1000.0, concurrency_limit=10_000)
    result = benchmark.pedantic(simulate, args=(scenario,), kwargs={"progress": False}, rounds=1, iterations=1)
    s = result.summary
    fn = s["functions"]["w"]
    assert abs(s["requests_simulated"] - 10_000_000) < 20_000  # Poisson: sd about 3,200
    figures = {
        "requests": int(s["requests_simulated"]),
        "wall_s": float(s["wall_s"]),  # the engine's run: windows stepped, no build or results
        "requests_per_s": s["requests_simulated"] / s["wall_s"],
        "invocations": int(fn["invocations"]),
        "throttles": int(fn["throttles"]),
        "cold_starts": int(fn["cold_starts"]),
    }
    benchmark.extra_info.update(figures)
    bench_figures["cloudtwin_10m"] = figures
