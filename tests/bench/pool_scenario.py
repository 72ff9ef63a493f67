"""The benchmarks' workload: one Lambda function behind one synchronous Poisson source."""

from __future__ import annotations


def pool_scenario(rate_per_s: float, duration_s: float, concurrency_limit: int,
                  mean_duration_ms: float = 100.0, init_ms: float = 200.0,
                  idle_expiry_s: float = 600.0, seed: int = 1) -> dict:
    """A scenario dict: function `w` (1,024 MB, 30 s timeout), exponential durations, fixed init."""
    return {
        "name": "bench_pool",
        "duration_s": duration_s,
        "seed": seed,
        "account": {"concurrency_limit": concurrency_limit},
        "functions": {
            "w": {
                "memory_mb": 1024,
                "timeout_s": 30.0,
                "duration_ms": {"dist": "exponential", "mean": mean_duration_ms},
                "init_ms": {"dist": "fixed", "value": init_ms},
                "idle_expiry_s": {"dist": "fixed", "value": idle_expiry_s},
            }
        },
        "traffic": [
            {
                "name": "calls",
                "target": "function:w",
                "invocation": "sync",
                "arrivals": {"kind": "poisson", "rate_per_s": rate_per_s},
            }
        ],
        "record": {"period_s": 60.0},
        "sim": {"progress": False},
    }
