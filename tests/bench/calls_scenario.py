"""The composed benchmark's scenario (issue 11): an API function that calls a pricing function
synchronously and publishes to a topic; three filtered subscriptions feed three queues, each
drained by a consumer function; the third consumer sends back to its own queue with
probability 0.1. The SimPy baseline (`simpy_calls_baseline.py`) models the same chain."""

from __future__ import annotations

from fanout_scenario import FILTERS, KIND, REGION

SUBSCRIPTIONS = 3


def calls_scenario(rate_per_s: float, duration_s: float, seed: int = 1) -> dict:
    fn = {"memory_mb": 512, "timeout_s": 10, "duration_ms": {"dist": "exponential", "mean": 50},
          "init_ms": {"dist": "fixed", "value": 200}}
    latency = {"dist": "fixed", "value": 10}
    consumers = {f"consumer{j}": dict(fn) for j in range(SUBSCRIPTIONS)}
    consumers[f"consumer{SUBSCRIPTIONS - 1}"] = dict(fn, calls=[
        {"target": f"queue:q{SUBSCRIPTIONS - 1}", "mode": "async", "probability": 0.1, "at": "end",
         "latency_ms": latency}])
    return {
        "name": "bench_calls", "duration_s": duration_s, "seed": seed,
        "account": {"concurrency_limit": 5000},
        "functions": {
            "api": dict(fn, calls=[{"target": "function:pricing", "mode": "sync", "latency_ms": latency},
                                   {"target": "topic:orders", "mode": "async", "latency_ms": latency}]),
            "pricing": dict(fn),
            **consumers,
        },
        "queues": {f"q{j}": {"visibility_timeout_s": 60} for j in range(SUBSCRIPTIONS)},
        "event_source_mappings": [{"source": f"q{j}", "function": f"consumer{j}", "batch_size": 10}
                                  for j in range(SUBSCRIPTIONS)],
        "topics": {"orders": {"subscriptions": [{"protocol": "sqs", "endpoint": f"q{j}", "filter_policy": FILTERS[j]}
                                                for j in range(SUBSCRIPTIONS)]}},
        "traffic": [{"name": "checkout", "target": "function:api", "invocation": "sync",
                     "arrivals": {"kind": "poisson", "rate_per_s": rate_per_s},
                     "message": {"size_bytes": 1024, "attributes": {"kind": KIND, "region": REGION}}}],
        "record": {"period_s": 60, "report": False},
    }
