"""Lambda model details: CPU scaling with memory, request sampling, provisioned schedules."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from kernels.lambda_pool import ID_SEQ_BITS, mix64
from scenarios.schema import CpuScaling, Function
from sim import simulate
from sim.compute.lambda_account import duration_scale


@pytest.mark.parametrize("memory_mb, fraction, threads, expected", [
    (1769, 1.0, 1, 1.0),                    # the reference itself
    (884.5, 1.0, 1, 2.0),                   # half the CPU: twice as long
    (3538, 1.0, 1, 1.0),                    # single-threaded: nothing gained above 1 vCPU
    (3538, 1.0, 2, 0.5),                    # two threads use the second vCPU
    (442.25, 0.5, 1, 0.5 + 0.5 * 4),        # half of it CPU-bound, a quarter of the CPU
    (10240, 1.0, 8, 1769 / 10240),          # 5.79 vCPU at the largest size
])
def test_duration_scale_formula(memory_mb, fraction, threads, expected):
    fn = Function(memory_mb=memory_mb, cpu_scaling=CpuScaling(reference_memory_mb=1769,
                                                             cpu_bound_fraction=fraction, max_threads=threads))
    assert math.isclose(duration_scale(fn), expected, rel_tol=1e-12)
    assert duration_scale(Function()) == 1.0


def tiny(**record):
    return {"name": "s", "duration_s": 600, "seed": 5, "functions": {"f": {}},
            "traffic": [{"name": "a", "target": "function:f", "arrivals": {"kind": "poisson", "rate_per_s": 100}}],
            "record": record}


def test_memory_scaling_reaches_the_durations():
    base = {"name": "m", "duration_s": 60, "functions": {"f": {
        "memory_mb": 512, "duration_ms": {"dist": "fixed", "value": 100},
        "cpu_scaling": {"reference_memory_mb": 1024, "cpu_bound_fraction": 1.0}}},
        "traffic": [{"name": "a", "target": "function:f", "arrivals": {"kind": "constant", "rate_per_s": 1}}],
        "record": {"requests": {"first_n": 1000}}}
    r = simulate(base)
    warm = r.requests.filter(~pl.col("cold"))
    assert (warm["latency_ms"] == 200.0).all()


def test_request_sampling_by_hash_and_first_n():
    r = simulate(tiny(requests={"sample": 0.1, "first_n": 50}))
    ids = r.requests["id"].to_numpy()
    seq = ids & ((1 << ID_SEQ_BITS) - 1)
    n = r.summary["requests_simulated"]
    # every one of the first 50, and about 10 % of the rest (99.9 % binomial interval)
    assert set(range(50)) <= set(seq.tolist())
    rest = int((seq >= 50).sum())
    p, m = 0.1, n - 50
    assert abs(rest - p * m) <= 3.3 * math.sqrt(m * p * (1 - p))
    # the rule is a pure function of the id: hash below the threshold
    thr = np.uint64(int(0.1 * 2**64))
    for i in ids[seq >= 50][:100]:
        assert mix64(int(i)) < thr
    assert simulate(tiny()).requests.height == 0


def test_provisioned_schedule_changes_the_pool_at_its_time():
    sc = tiny(period_s=60)
    sc["functions"]["f"] = {"provisioned_concurrency": 5, "provisioned_schedule": [{"at_s": 300, "count": 40}],
                            "duration_ms": {"dist": "fixed", "value": 200}}
    r = simulate(sc)
    pc = r.metrics.filter(pl.col("metric") == "ProvisionedConcurrency").sort("time_s")["value"].to_list()
    assert pc == [5] * 5 + [40] * 5
    s = r.summary["functions"]["f"]
    assert s["spillover_invocations"] > 0  # 100/s × 0.2 s = 20 busy on average > 5
    spill = r.metrics.filter(pl.col("metric") == "ProvisionedConcurrencySpilloverInvocations").sort("time_s")["value"]
    assert spill[:5].sum() > 0 and spill[6:].sum() == 0
