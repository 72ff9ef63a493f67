"""A plain per-request SimPy model of one Lambda function's pool: the baseline benchmarks beat.

One process per request, a `simpy.Resource` for the concurrency limit (a full resource
throttles: no queueing), and a most-recently-used stack of idle environments that expire
after `idle_expiry_s`. Sync invocations, Poisson arrivals, exponential durations. It is
what a careful user would write without kernels, and it is deliberately not the kernel's
exact semantics (no scaling bucket, no provisioned concurrency, no retries).
"""

from __future__ import annotations

import numpy as np
import simpy


def run_simpy_pool(
    rate_per_s: float,
    mean_duration_s: float,
    init_s: float,
    idle_expiry_s: float,
    concurrency: int,
    n_requests: int,
    seed: int,
) -> dict:
    """Simulate `n_requests` Poisson arrivals; count invocations, throttles and cold starts."""
    rng = np.random.default_rng(seed)
    gaps_s = rng.exponential(1.0 / rate_per_s, n_requests)
    durations_s = rng.exponential(mean_duration_s, n_requests)

    env = simpy.Environment()
    slots = simpy.Resource(env, capacity=concurrency)
    idle_expiry_t: list[float] = []  # expiry times of idle environments, most recently idled last
    counts = {"invocations": 0, "throttles": 0, "cold_starts": 0}

    def request(duration_s: float):
        if slots.count >= slots.capacity:
            counts["throttles"] += 1
            return
        with slots.request() as slot:
            yield slot
            counts["invocations"] += 1
            while idle_expiry_t and idle_expiry_t[-1] <= env.now:
                idle_expiry_t.pop()  # died while idle
            if idle_expiry_t:
                idle_expiry_t.pop()  # warm: the most recently used environment
            else:
                counts["cold_starts"] += 1
                yield env.timeout(init_s)
            yield env.timeout(duration_s)
            idle_expiry_t.append(env.now + idle_expiry_s)

    def source():
        for gap_s, duration_s in zip(gaps_s.tolist(), durations_s.tolist()):
            yield env.timeout(gap_s)
            env.process(request(duration_s))

    env.process(source())
    env.run()
    return counts
