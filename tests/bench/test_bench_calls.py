"""The composed chain of issue 11: cloudtwin against a per-request SimPy model of the same chain.

An `api` function calls `pricing` synchronously and publishes to a topic; three filtered
subscriptions feed three queues, each drained by a consumer function; the third consumer
sends back to its own queue with probability 0.1 (`calls_scenario.py`). The SimPy model
(`simpy_calls_baseline.py`) runs 20,000 requests; cloudtwin runs 1 M. The figure that
matters is the ratio of Lambda invocations per wall-second, printed at the end of `make bench`
(bars: 2 M invocations/s and 30x).
"""

import time

import pytest

from calls_scenario import SUBSCRIPTIONS, calls_scenario
from fanout_scenario import class_table
from simpy_calls_baseline import run_simpy_calls
from sim import simulate

SIMPY_REQUESTS = 20_000


@pytest.fixture(scope="module")
def warm_numba():
    """A tiny run of the same shape, so the benchmark does not time compiling or loading kernels."""
    simulate(calls_scenario(rate_per_s=100.0, duration_s=10.0), progress=False)


def test_simpy_calls_baseline(benchmark, bench_figures):
    match, p = class_table()

    def run():
        t0 = time.perf_counter()
        counts = run_simpy_calls(rate_per_s=2000.0, n_requests=SIMPY_REQUESTS, match=match[:, :SUBSCRIPTIONS],
                                 class_p=p, concurrency=5000, pollers=40, batch_size=10, mean_duration_s=0.05,
                                 init_s=0.2, api_latency_s=0.01, delivery_s=0.03, loop_p=0.1, seed=1)
        return counts, time.perf_counter() - t0

    counts, wall_s = benchmark.pedantic(run, rounds=1, iterations=1)
    assert counts["requests"] == SIMPY_REQUESTS
    figures = {"requests": SIMPY_REQUESTS, "invocations": counts["invocations"], "wall_s": wall_s,
               "invocations_per_s": counts["invocations"] / wall_s, **counts}
    benchmark.extra_info.update(figures)
    bench_figures["simpy_calls"] = figures


def test_cloudtwin_calls(benchmark, bench_figures, warm_numba):
    scenario = calls_scenario(rate_per_s=2000.0, duration_s=500.0)  # 1 M requests
    result = benchmark.pedantic(simulate, args=(scenario,), kwargs={"progress": False}, rounds=1, iterations=1)
    s = result.summary
    for q in s["queues"].values():  # conservation, and the consumers kept up
        assert q["sent"] == q["deleted"] + q["visible_end"] + q["in_flight_end"] + q["dead_lettered"] + q["expired"]
    for c in s["calls"].values():
        assert c["made"] == c["ok"] + c["failed"] + c["abandoned"] + c["in_flight_end"]
    invocations = sum(f["invocations"] for f in s["functions"].values())
    figures = {
        "requests": int(s["requests_simulated"]),
        "invocations": invocations,
        "calls": sum(c["made"] for c in s["calls"].values()),
        "wall_s": float(s["wall_s"]),  # the engine's run: windows stepped, no build or results
        "invocations_per_s": invocations / s["wall_s"],
    }
    benchmark.extra_info.update(figures)
    bench_figures["cloudtwin_calls"] = figures
