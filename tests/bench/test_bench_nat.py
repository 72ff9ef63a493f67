"""A NAT gateway carrying a million flows (`nat_scenario.py`: 1,000 flows a second for 1,000 s
through 5 Gbit/s, each with a cap of its own) against a per-flow SimPy model of the same
sharing rule (`simpy_links_baseline.py`) on flows drawn the same way, in the same run (bar:
30x). cloudtwin's time is the whole `simulate()` call: drawing, judging, sharing, flow logs,
metrics and the bill."""

from __future__ import annotations

import time

import numpy as np
import pytest

from nat_scenario import NAT_GBPS, baseline_flows, nat_scenario
from simpy_links_baseline import run_simpy_links
from sim import simulate

RATE_PER_S = 1_000.0
SIMPY_FLOWS = 5_000


@pytest.fixture(scope="module")
def warm_numba():
    simulate(nat_scenario(RATE_PER_S, 2.0))


def test_simpy_nat_baseline(benchmark, bench_figures):
    start, bits, cap = baseline_flows(RATE_PER_S, SIMPY_FLOWS)

    def run():
        t0 = time.perf_counter()
        done = run_simpy_links(NAT_GBPS * 1e9, start, bits, cap)
        return done, time.perf_counter() - t0

    done, wall_s = benchmark.pedantic(run, rounds=1, iterations=1)
    assert not np.isnan(done).any()
    figures = {"flows": SIMPY_FLOWS, "wall_s": wall_s, "flows_per_s": SIMPY_FLOWS / wall_s,
               "mean_flow_time_s": float((done - start).mean())}
    benchmark.extra_info.update(figures)
    bench_figures["simpy_nat"] = figures


def test_cloudtwin_nat(benchmark, bench_figures, warm_numba):
    sc = nat_scenario(RATE_PER_S, 1_000.0)

    def run():
        t0 = time.perf_counter()
        r = simulate(sc, progress=False)
        return r, time.perf_counter() - t0

    r, wall_s = benchmark.pedantic(run, rounds=1, iterations=1)
    v = r.summary["vpcs"]["prod"]
    nat = v["nat_gateways"]["nat1"]
    assert nat["connection_attempts"] == (nat["connections_established"] + nat["port_allocation_errors"]
                                          + nat["rejected_beyond"])
    g = v["generators"]["egress"]
    figures = {"flows": g["flows"], "wall_s": wall_s, "flows_per_s": g["flows"] / wall_s,
               "mean_flow_time_s": g["mean_flow_time_s"]}
    benchmark.extra_info.update(figures)
    bench_figures["cloudtwin_nat"] = figures
