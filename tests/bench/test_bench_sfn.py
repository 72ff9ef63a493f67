"""Issue 14's bar: an Express workflow of five states (two Lambda tasks) at 1,000 executions a
second, against a per-execution SimPy model of the same workflow (`simpy_sfn_baseline.py`) in the
same run. Figures: state transitions per wall-second (bars 1 M/s and 30x), printed at the end of
`make bench`."""

import time

import pytest

from sfn_scenario import sfn_scenario
from simpy_sfn_baseline import run_simpy_sfn
from sim import simulate

SIMPY_EXECUTIONS = 20_000
RATE = 1_000.0


@pytest.fixture(scope="module")
def warm_numba():
    """A tiny run of the same shape, so the benchmark does not time compiling or loading kernels."""
    simulate(sfn_scenario(rate_per_s=10.0, duration_s=10.0), progress=False)


def test_simpy_sfn_baseline(benchmark, bench_figures):
    def run():
        t0 = time.perf_counter()
        counts = run_simpy_sfn(RATE, SIMPY_EXECUTIONS, concurrency=5000, p_charge=0.8, seed=1)
        return counts, time.perf_counter() - t0

    counts, wall_s = benchmark.pedantic(run, rounds=1, iterations=1)
    assert counts["executions"] == SIMPY_EXECUTIONS and counts["succeeded"] > 0.99 * SIMPY_EXECUTIONS
    figures = {"wall_s": wall_s, "transitions_per_s": counts["transitions"] / wall_s, **counts}
    benchmark.extra_info.update(figures)
    bench_figures["simpy_sfn"] = figures


def test_cloudtwin_sfn(benchmark, bench_figures, warm_numba):
    scenario = sfn_scenario(rate_per_s=RATE, duration_s=1800.0)  # 1.8 M executions, about 8.6 M transitions
    result = benchmark.pedantic(simulate, args=(scenario,), kwargs={"progress": False}, rounds=1, iterations=1)
    s = result.summary
    m = s["state_machines"]["orders"]
    assert m["started"] == m["succeeded"] + m["failed"] + m["timed_out"] + m["open_end"]
    assert m["succeeded"] > 0.99 * m["started"]
    figures = {"executions": m["started"], "transitions": m["state_transitions"],
               "invocations": sum(f["invocations"] for f in s["functions"].values()), "wall_s": float(s["wall_s"]),
               "transitions_per_s": m["state_transitions"] / s["wall_s"]}
    benchmark.extra_info.update(figures)
    bench_figures["cloudtwin_sfn"] = figures
