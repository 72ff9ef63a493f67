"""A plain per-message SimPy model of SNS fan-out -> SQS -> event source mapping -> Lambda.

What a careful user would write without kernels: one process per publish, a `simpy.Store`
per queue, a fixed set of poller processes per mapping (the mapping's concurrency), each
receiving a batch, invoking the function (a concurrency `Resource` per function; a full one
throttles and the batch comes back after the visibility timeout), deleting on success, and
an MRU stack of warm environments per function. Subscriptions filter by a class table.
Deliberately simpler than cloudtwin's semantics (no scaling of pollers, no long-poll empty
receives, no retention): it is the baseline the kernels' speed is measured against, not a
model of record.
"""

from __future__ import annotations

import numpy as np
import simpy


def run_simpy_fanout(rate_per_s: float, n_publishes: int, match: np.ndarray, class_p: np.ndarray,
                     batch_size: int, pollers: int, concurrency: int, mean_duration_s: float,
                     init_s: float, visibility_s: float, delivery_s: float, seed: int) -> dict:
    """Simulate `n_publishes` Poisson publishes to a topic whose subscription j feeds queue j."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0 / rate_per_s, n_publishes).tolist()
    classes = rng.choice(len(class_p), n_publishes, p=class_p).tolist()
    n_subs = match.shape[1]
    table = match.tolist()
    env = simpy.Environment()
    queues = [simpy.Store(env) for _ in range(n_subs)]
    slots = [simpy.Resource(env, capacity=concurrency) for _ in range(n_subs)]
    warm: list[list[float]] = [[] for _ in range(n_subs)]
    counts = {"published": 0, "delivered": 0, "filtered_out": 0, "received": 0, "deleted": 0,
              "throttled_batches": 0, "invocations": 0, "cold_starts": 0}

    def deliver(j: int, mid: int):
        yield env.timeout(delivery_s)
        counts["delivered"] += 1
        yield queues[j].put(mid)

    def publisher():
        for mid, (gap, cls) in enumerate(zip(gaps, classes)):
            yield env.timeout(gap)
            counts["published"] += 1
            row = table[cls]
            for j in range(n_subs):
                if row[j]:
                    env.process(deliver(j, mid))
                else:
                    counts["filtered_out"] += 1

    def redeliver(j: int, batch: list):
        yield env.timeout(visibility_s)
        for mid in batch:
            yield queues[j].put(mid)

    def poller(j: int):
        q, res, stack = queues[j], slots[j], warm[j]
        while True:
            batch = [(yield q.get())]
            while len(batch) < batch_size and q.items:
                batch.append((yield q.get()))
            counts["received"] += len(batch)
            if res.count >= res.capacity:
                counts["throttled_batches"] += 1
                env.process(redeliver(j, batch))
                continue
            with res.request() as slot:
                yield slot
                counts["invocations"] += 1
                while stack and stack[-1] <= env.now:
                    stack.pop()
                if stack:
                    stack.pop()
                else:
                    counts["cold_starts"] += 1
                    yield env.timeout(init_s)
                yield env.timeout(rng.exponential(mean_duration_s))
                stack.append(env.now + 600.0)
            counts["deleted"] += len(batch)

    env.process(publisher())
    for j in range(n_subs):
        for _ in range(pollers):
            env.process(poller(j))
    env.run(until=sum(gaps) + 60.0)
    return counts
