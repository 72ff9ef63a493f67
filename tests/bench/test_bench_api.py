"""Issue 13's bar: an API → function → table scenario at 10,000 requests a second, each with its
gateway, invocation and table operation, against a per-request SimPy model of the same chain
(`simpy_api_baseline.py`) in the same run. Figures: requests per wall-second (bars 1.5 M/s and
30x), printed at the end of `make bench`."""

import time

import pytest

from api_chain_scenario import api_chain_scenario
from simpy_api_baseline import run_simpy_api
from sim import simulate

SIMPY_REQUESTS = 20_000
RATE = 10_000.0


@pytest.fixture(scope="module")
def warm_numba():
    """A tiny run of the same shape, so the benchmark does not time compiling or loading kernels."""
    simulate(api_chain_scenario(rate_per_s=100.0, duration_s=10.0), progress=False)


def test_simpy_api_baseline(benchmark, bench_figures):
    def run():
        t0 = time.perf_counter()
        counts = run_simpy_api(RATE, SIMPY_REQUESTS, keys=100_000, zipf_s=0.9, partitions=8, concurrency=5000,
                               mean_duration_s=0.02, init_s=0.2, table_latency_s=0.005, seed=1)
        return counts, time.perf_counter() - t0

    counts, wall_s = benchmark.pedantic(run, rounds=1, iterations=1)
    assert counts["requests"] == SIMPY_REQUESTS and counts["answered"] > 0.9 * SIMPY_REQUESTS
    figures = {"wall_s": wall_s, "requests_per_s": SIMPY_REQUESTS / wall_s, **counts}
    benchmark.extra_info.update(figures)
    bench_figures["simpy_api"] = figures


def test_cloudtwin_api(benchmark, bench_figures, warm_numba):
    scenario = api_chain_scenario(rate_per_s=RATE, duration_s=300.0)  # 3 M requests
    result = benchmark.pedantic(simulate, args=(scenario,), kwargs={"progress": False}, rounds=1, iterations=1)
    s = result.summary
    row = s["apis"]["shop GET /items"]
    assert row["requests"] == row["status_2xx"] + row["status_4xx"] + row["status_5xx"] + row["in_flight_end"]
    table = s["tables"]["items"]
    assert table["requests"] >= 0.9 * row["requests"]  # each request reached the table (retries aside)
    figures = {"requests": row["requests"], "table_requests": table["requests"],
               "invocations": s["functions"]["app"]["invocations"], "wall_s": float(s["wall_s"]),
               "requests_per_s": row["requests"] / s["wall_s"]}
    benchmark.extra_info.update(figures)
    bench_figures["cloudtwin_api"] = figures
