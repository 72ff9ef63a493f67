"""The API → function → table benchmark's scenario (issue 13): an HTTP API's route invokes a
function synchronously, which reads one item from an on-demand DynamoDB table (Zipf keys) and
answers. The SimPy baseline (`simpy_api_baseline.py`) models the same chain per request."""

from __future__ import annotations


def api_chain_scenario(rate_per_s: float, duration_s: float, seed: int = 1) -> dict:
    return {
        "name": "bench_api_chain", "duration_s": duration_s, "seed": seed,
        "account": {"concurrency_limit": 5000},
        "functions": {"app": {"memory_mb": 512, "timeout_s": 10, "duration_ms": {"dist": "exponential", "mean": 20},
                              "init_ms": {"dist": "fixed", "value": 200},
                              "calls": [{"target": "table:items", "operation": "GetItem", "item_bytes": 2000,
                                         "latency_ms": {"dist": "fixed", "value": 5}}]}},
        "tables": {"items": {"keys": {"dist": "zipf", "n": 100_000, "s": 0.9}}},
        "apis": {"shop": {"routes": {"GET /items": {"integration": "function:app"}}}},
        "traffic": [{"name": "web", "target": "api:shop/GET /items",
                     "arrivals": {"kind": "poisson", "rate_per_s": rate_per_s}}],
        "record": {"period_s": 60, "report": False},
    }
