"""A plain per-request SimPy model of the API → function → table chain, the baseline of the
issue-13 benchmark.

What a careful user would write without kernels: one process per request; the gateway's
account throttle as a token bucket checked in Python; the function's concurrency as a
`simpy.Resource` with an MRU stack of warm environments (cold start 200 ms, idle expiry
600 s); its GetItem as a 5 ms timeout, then the table's token bucket and its key's
partition's (eventual 4 KB reads: half a unit), a throttle retried by the SDK (full jitter,
base 1 s, cap 20 s, 3 attempts); then the function's own exponential duration. Simpler than
cloudtwin's semantics (no on-demand doubling, no splits, no metrics): the speed baseline, not
a model of record.
"""

from __future__ import annotations

import numpy as np
import simpy

SDK_ATTEMPTS, SDK_BASE_S, SDK_CAP_S = 3, 1.0, 20.0


class Bucket:
    def __init__(self, rate: float, burst: float):
        self.rate, self.burst, self.tokens, self.last = rate, burst, burst, 0.0

    def take(self, now: float, n: float) -> bool:
        self.tokens = min(self.burst, self.tokens + self.rate * (now - self.last))
        self.last = now
        if self.tokens < n:
            return False
        self.tokens -= n
        return True


def run_simpy_api(rate_per_s: float, n_requests: int, keys: int, zipf_s: float, partitions: int,
                  concurrency: int, mean_duration_s: float, init_s: float, table_latency_s: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0 / rate_per_s, n_requests).tolist()
    w = 1.0 / np.arange(1, keys + 1) ** zipf_s
    cdf = np.cumsum(w) / w.sum()
    part = (rng.permutation(keys) % partitions)[np.searchsorted(cdf, rng.random(n_requests))].tolist()
    env = simpy.Environment()
    account = Bucket(10_000.0, 5_000.0)
    table = Bucket(12_000.0, 12_000.0)
    parts = [Bucket(3_000.0, 3_000.0) for _ in range(partitions)]
    slots = simpy.Resource(env, capacity=concurrency)
    warm: list = []
    counts = {"requests": 0, "answered": 0, "gateway_429": 0, "lambda_throttles": 0, "table_requests": 0,
              "table_throttles": 0, "cold_starts": 0}

    def request(p: int):
        counts["requests"] += 1
        if not account.take(env.now, 1.0):
            counts["gateway_429"] += 1
            return
        if slots.count >= slots.capacity:
            counts["lambda_throttles"] += 1
            return
        with slots.request() as slot:
            yield slot
            while warm and warm[-1] <= env.now:
                warm.pop()
            if warm:
                warm.pop()
            else:
                counts["cold_starts"] += 1
                yield env.timeout(init_s)
            for attempt in range(SDK_ATTEMPTS):
                yield env.timeout(table_latency_s)
                counts["table_requests"] += 1
                if table.take(env.now, 0.5) and parts[p].take(env.now, 0.5):
                    break
                counts["table_throttles"] += 1
                yield env.timeout(rng.random() * min(SDK_BASE_S * 2 ** attempt, SDK_CAP_S))
            yield env.timeout(rng.exponential(mean_duration_s))
            warm.append(env.now + 600.0)
        counts["answered"] += 1

    def arrivals():
        for gap, p in zip(gaps, part):
            yield env.timeout(gap)
            env.process(request(p))

    env.process(arrivals())
    env.run()
    return counts
