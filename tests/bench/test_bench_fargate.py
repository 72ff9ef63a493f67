"""ECS services on Fargate: a fixed-size service behind its load balancer (32 slots: 8 tasks of 4,
M/M/32 at ρ = 0.8, 2,000 requests a second) simulated by cloudtwin (`kernels/fargate.py`, a stage
before the account) against a per-request SimPy model of the same service (a Resource of 32
slots) in the same run. No bar in the issue; the figure is the ratio, printed at the end of
`make bench`."""

import time

import numpy as np
import pytest
import simpy

from sim import simulate

RATE = 2_000.0
SLOTS_PER_TASK, TASKS = 4, 8
MEAN_S = 0.8 * TASKS * SLOTS_PER_TASK / RATE  # ρ = 0.8
SIMPY_REQUESTS = 200_000


def scenario(duration_s: float) -> dict:
    return {"name": "bench_fargate", "seed": 1, "duration_s": duration_s, "record": {"period_s": 60},
            "services": {"web": {"cpu": 1, "memory_gb": 2, "desired_count": TASKS,
                                 "concurrency_per_task": SLOTS_PER_TASK, "backlog_per_task": 10_000,
                                 "idle_timeout_s": 4000,
                                 "request_ms": {"dist": "exponential", "mean": MEAN_S * 1000.0}}},
            "traffic": [{"name": "clients", "target": "service:web",
                         "arrivals": {"kind": "poisson", "rate_per_s": RATE}}]}


def run_simpy_service(n: int, seed: int = 1) -> dict:
    """Poisson requests to a Resource of TASKS × SLOTS_PER_TASK slots, exponential service times."""
    rng = np.random.default_rng(seed)
    gaps, services = rng.exponential(1.0 / RATE, n), rng.exponential(MEAN_S, n)
    env = simpy.Environment()
    slots = simpy.Resource(env, capacity=TASKS * SLOTS_PER_TASK)
    stats = {"served": 0, "wait_s": 0.0}

    def request(i):
        t0 = env.now
        with slots.request() as req:
            yield req
            stats["wait_s"] += env.now - t0
            yield env.timeout(services[i])
        stats["served"] += 1

    def clients():
        for i in range(n):
            yield env.timeout(gaps[i])
            env.process(request(i))

    env.process(clients())
    env.run()
    return stats


@pytest.fixture(scope="module")
def warm_numba():
    simulate(scenario(5.0), progress=False)


def test_simpy_fargate_baseline(benchmark, bench_figures):
    def run():
        t0 = time.perf_counter()
        stats = run_simpy_service(SIMPY_REQUESTS)
        return stats, time.perf_counter() - t0

    stats, wall_s = benchmark.pedantic(run, rounds=1, iterations=1)
    assert stats["served"] == SIMPY_REQUESTS
    figures = {"requests": SIMPY_REQUESTS, "wall_s": wall_s, "requests_per_s": SIMPY_REQUESTS / wall_s,
               "wait_ms_mean": 1000.0 * stats["wait_s"] / SIMPY_REQUESTS}
    benchmark.extra_info.update(figures)
    bench_figures["simpy_fargate"] = figures


def test_cloudtwin_fargate(benchmark, bench_figures, warm_numba):
    result = benchmark.pedantic(simulate, args=(scenario(2500.0),), kwargs={"progress": False}, rounds=1,
                                iterations=1)
    s = result.summary["services"]["web"]
    assert s["requests"] == s["ok"] + s["queued_end"] and s["refused_502"] == 0
    wall_s = float(result.summary["wall_s"])
    figures = {"requests": s["requests"], "wall_s": wall_s, "requests_per_s": s["requests"] / wall_s,
               "wait_ms_mean": s["wait_ms_mean"]}
    benchmark.extra_info.update(figures)
    bench_figures["cloudtwin_fargate"] = figures
