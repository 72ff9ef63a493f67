"""A plain per-execution SimPy model of the benchmark's Express workflow (`sfn_scenario.py`),
the baseline of the issue-14 benchmark.

What a careful user would write without kernels: one process per execution walking its five
states, counting each state entered; each Lambda task an API latency (10 ms) and then the
function's invocation — its concurrency a `simpy.Resource` with an MRU stack of warm environments
(cold start 200 ms, idle expiry 600 s), its exponential duration; the Choice a uniform draw.
Simpler than cloudtwin's semantics (no StartExecution quota, no retries, no metrics or bill): the
speed baseline, not a model of record.
"""

from __future__ import annotations

import numpy as np
import simpy


def run_simpy_sfn(rate_per_s: float, n_executions: int, concurrency: int, p_charge: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0 / rate_per_s, n_executions).tolist()
    env = simpy.Environment()
    slots = simpy.Resource(env, capacity=concurrency)
    warm = {"validate": [], "charge": []}
    means = {"validate": 0.020, "charge": 0.050}
    counts = {"executions": 0, "succeeded": 0, "transitions": 0, "invocations": 0, "cold_starts": 0,
              "throttled": 0}

    def invoke(fn: str):
        yield env.timeout(0.010)  # the API call's latency
        if slots.count >= slots.capacity:
            counts["throttled"] += 1
            return False
        with slots.request() as slot:
            yield slot
            counts["invocations"] += 1
            stack = warm[fn]
            while stack and stack[-1] <= env.now:
                stack.pop()
            if stack:
                stack.pop()
            else:
                counts["cold_starts"] += 1
                yield env.timeout(0.200)
            yield env.timeout(rng.exponential(means[fn]))
            stack.append(env.now + 600.0)
        return True

    def execution():
        counts["executions"] += 1
        counts["transitions"] += 1  # Validate
        if not (yield env.process(invoke("validate"))):
            return
        counts["transitions"] += 1  # Route
        if rng.random() < p_charge:
            counts["transitions"] += 1  # Charge
            if not (yield env.process(invoke("charge"))):
                return
        counts["transitions"] += 2  # Record, Done
        counts["succeeded"] += 1

    def arrivals():
        for gap in gaps:
            yield env.timeout(gap)
            env.process(execution())

    env.process(arrivals())
    env.run()
    return counts
