"""A plain per-request SimPy model of a chain of calls, the baseline of the composed benchmark.

The chain (issue 11's performance bar): Poisson requests → `api` function → a synchronous
call to `pricing` (it waits; a full `pricing` throttles and the AWS SDK retries with full
jitter, base 1 s, cap 20 s, 3 attempts) → Publish to a topic → three filtered
subscriptions → three queues → a fixed set of pollers per queue → three consumer functions,
the third of which sends a message back to its own queue with probability 0.1.

What a careful user would write without kernels: one process per request and per message,
a `simpy.Resource` per function (its concurrency), an MRU stack of warm environments with
idle expiry, a `simpy.Store` per queue. Deliberately simpler than cloudtwin's semantics (no
poller scaling, no visibility timeouts, no long polls): it is the speed baseline, not a
model of record.
"""

from __future__ import annotations

import numpy as np
import simpy

SDK_ATTEMPTS, SDK_BASE_S, SDK_CAP_S = 3, 1.0, 20.0


def run_simpy_calls(rate_per_s: float, n_requests: int, match: np.ndarray, class_p: np.ndarray,
                    concurrency: int, pollers: int, batch_size: int, mean_duration_s: float, init_s: float,
                    api_latency_s: float, delivery_s: float, loop_p: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0 / rate_per_s, n_requests).tolist()
    classes = rng.choice(len(class_p), n_requests, p=class_p).tolist()
    n_subs = match.shape[1]
    table = match.tolist()
    env = simpy.Environment()
    names = ["api", "pricing"] + [f"consumer{j}" for j in range(n_subs)]
    slots = {n: simpy.Resource(env, capacity=concurrency) for n in names}
    warm = {n: [] for n in names}
    queues = [simpy.Store(env) for _ in range(n_subs)]
    counts = {"requests": 0, "invocations": 0, "cold_starts": 0, "throttles": 0, "failed_calls": 0,
              "published": 0, "delivered": 0, "deleted": 0, "loop_sends": 0}

    def start(name: str):
        """Count an invocation of `name` on a free slot: a warm environment, else a cold start."""
        stack = warm[name]
        counts["invocations"] += 1
        while stack and stack[-1] <= env.now:
            stack.pop()
        if stack:
            stack.pop()
        else:
            counts["cold_starts"] += 1
            yield env.timeout(init_s)

    def invoke(name: str):
        """Run one invocation of `name`; returns False when it is throttled."""
        res = slots[name]
        if res.count >= res.capacity:
            counts["throttles"] += 1
            return False
        with res.request() as slot:
            yield slot
            yield env.process(start(name))
            yield env.timeout(rng.exponential(mean_duration_s))
            warm[name].append(env.now + 600.0)
        return True

    def deliver(j: int, mid: int):
        yield env.timeout(delivery_s)
        counts["delivered"] += 1
        yield queues[j].put(mid)

    def api_request(cls: int):
        res = slots["api"]
        if res.count >= res.capacity:
            counts["throttles"] += 1
            return
        with res.request() as slot:
            yield slot
            yield env.process(start("api"))
            for attempt in range(SDK_ATTEMPTS):  # sync call to pricing, with the SDK's retries
                yield env.timeout(api_latency_s)
                ok = yield env.process(invoke("pricing"))
                if ok:
                    break
                if attempt + 1 < SDK_ATTEMPTS:
                    yield env.timeout(rng.uniform() * min(SDK_BASE_S * 2 ** attempt, SDK_CAP_S))
            else:
                counts["failed_calls"] += 1
            yield env.timeout(api_latency_s)  # Publish
            counts["published"] += 1
            row = table[cls]
            for j in range(n_subs):
                if row[j]:
                    env.process(deliver(j, counts["published"]))
            yield env.timeout(rng.exponential(mean_duration_s))
            warm["api"].append(env.now + 600.0)

    def requests():
        for gap, cls in zip(gaps, classes):
            yield env.timeout(gap)
            counts["requests"] += 1
            env.process(api_request(cls))

    def poller(j: int):
        q = queues[j]
        while True:
            batch = [(yield q.get())]
            while len(batch) < batch_size and q.items:
                batch.append((yield q.get()))
            ok = yield env.process(invoke(f"consumer{j}"))
            if not ok:
                for mid in batch:
                    yield q.put(mid)
                yield env.timeout(1.0)
                continue
            counts["deleted"] += len(batch)
            if j == n_subs - 1:
                for mid in batch:
                    if rng.uniform() < loop_p:
                        yield env.timeout(api_latency_s)
                        counts["loop_sends"] += 1
                        yield q.put(mid)

    env.process(requests())
    for j in range(n_subs):
        for _ in range(pollers):
            env.process(poller(j))
    env.run(until=sum(gaps) + 60.0)
    return counts
