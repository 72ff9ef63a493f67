"""The fan-out benchmark's scenario: one topic, five filtered SQS subscriptions, five
mappings, five functions (issue: "one topic, five filtered subscriptions, queues, mappings,
functions"), and the class table the SimPy baseline filters with."""

from __future__ import annotations

import itertools

import numpy as np

KIND = {"a": 0.4, "b": 0.3, "c": 0.2, "d": 0.1}
REGION = {"eu": 0.5, "us": 0.5}
FILTERS = [{"kind": ["a"]}, {"kind": ["a", "b"]}, {"kind": ["b", "c"]}, {"kind": ["d"]}, {"region": ["eu"]}]


def fanout_scenario(rate_per_s: float, duration_s: float, seed: int = 1) -> dict:
    queues = {f"q{j}": {"visibility_timeout_s": 60} for j in range(5)}
    functions = {f"f{j}": {"memory_mb": 512, "timeout_s": 10,
                           "duration_ms": {"dist": "exponential", "mean": 50},
                           "init_ms": {"dist": "fixed", "value": 200}} for j in range(5)}
    return {
        "name": "bench_fanout", "duration_s": duration_s, "seed": seed,
        "account": {"concurrency_limit": 5000},
        "functions": functions,
        "queues": queues,
        "event_source_mappings": [{"source": f"q{j}", "function": f"f{j}", "batch_size": 10} for j in range(5)],
        "topics": {"orders": {"subscriptions": [{"protocol": "sqs", "endpoint": f"q{j}", "filter_policy": FILTERS[j]}
                                                for j in range(5)]}},
        "traffic": [{"name": "pub", "target": "topic:orders", "arrivals": {"kind": "poisson", "rate_per_s": rate_per_s},
                     "message": {"size_bytes": 1024, "attributes": {"kind": KIND, "region": REGION}}}],
        "record": {"period_s": 60, "report": False},
        "sim": {"window_s": 1.0},
    }


def class_table():
    """(match [class, subscription], class probabilities) of the same traffic and filters."""
    classes = list(itertools.product(KIND.items(), REGION.items()))
    p = np.array([pk * pr for (_, pk), (_, pr) in classes])
    match = np.zeros((len(classes), 5), bool)
    for i, ((k, _), (r, _)) in enumerate(classes):
        for j, f in enumerate(FILTERS):
            match[i, j] = k in f.get("kind", [k]) and r in f.get("region", [r])
    return match, p
