"""S3 buckets in whole runs: a prefix's rate and 503 Slow Down by hand, a prefix that partitions
after sustained Slow Down, an object's transfer time in its caller's duration, notifications
delivered at least once into a function, the bill of a month to the cent, windows."""

from __future__ import annotations

import polars as pl
import pytest

from sim.api import simulate
from test_billing import cents


def scenario(buckets, calls, rate, duration_s=60.0, seed=0, period_s=60.0, functions=None, **extra):
    fns = {"app": {"memory_mb": 1024, "timeout_s": 60, "duration_ms": {"dist": "fixed", "value": 1},
                   "init_ms": {"dist": "fixed", "value": 0}, "calls": calls}, **(functions or {})}
    return {"name": "s3", "duration_s": duration_s, "seed": seed, "functions": fns, "buckets": buckets,
            "traffic": [{"name": "in", "target": "function:app", "invocation": "async",
                         "arrivals": {"kind": "constant", "rate_per_s": rate}}],
            "record": {"period_s": period_s}, "account": {"concurrency_limit": 10000}, **extra}


def metric(r, name, bucket="b"):
    m = r.metrics.filter((pl.col("metric") == name) & (pl.col("dimension") == f"BucketName={bucket}"))
    return m.sort("time_s")["value"].to_numpy()


PUT_ONCE = {"target": "bucket:b", "operation": "PUT", "max_attempts": 1, "on_error": "continue",
            "latency_ms": {"dist": "fixed", "value": 0}}


def test_a_prefix_serves_3500_puts_a_second_and_slows_down_the_rest():
    """5,000 PUTs a second, evenly, for 20 s at one prefix whose bucket starts full (a second's
    worth): 3,500 + 20 × 3,500 = 73,500 served (give or take one), the other 26,500 answered
    503 Slow Down; with another prefix beside it, spread evenly, nothing slows down."""
    r = simulate(scenario({"b": {}}, [PUT_ONCE], 5000, duration_s=20.0))
    b = r.summary["buckets"]["b"]
    assert b["requests"] == 100_000 and abs(b["served"] - 73_500) <= 1
    assert b["slow_down"] == b["requests"] - b["served"] == metric(r, "5xxErrors").sum()
    r2 = simulate(scenario({"b": {"prefixes": {"dist": "uniform", "n": 2}}}, [PUT_ONCE], 5000, duration_s=20.0))
    assert r2.summary["buckets"]["b"]["slow_down"] < 100  # two prefixes, 7,000 a second between them


def test_a_prefix_partitions_after_sustained_slow_down():
    """With split_after_min 2: Slow Down in minutes 0 and 1 partitions the prefix at 2:00 (its
    rate doubles to 7,000 PUTs a second), and from then 5,000 a second pass (but the request at
    2:00 itself, which finds the bucket still empty: the rate doubles, not the tokens)."""
    r = simulate(scenario({"b": {"split_after_min": 2}}, [PUT_ONCE], 5000, duration_s=240.0))
    slow = metric(r, "5xxErrors")
    assert slow[0] > 0 and slow[1] > 0 and slow[2] <= 1 and (slow[3:] == 0).all()
    assert r.summary["buckets"]["b"]["prefix_splits"] == 1


def test_an_objects_transfer_is_in_its_callers_duration():
    """A GET of 90 MB at 90 MB/s after a first byte of 10 ms: TotalRequestLatency 1,010 ms, and
    the function that waits for it runs 1 ms + 1,010 ms."""
    get = {"target": "bucket:b", "operation": "GET", "object_bytes": 90_000_000,
           "latency_ms": {"dist": "fixed", "value": 10}}
    r = simulate(scenario({"b": {}}, [get], 2, duration_s=30.0))
    assert metric(r, "FirstByteLatency")[0] == pytest.approx(10.0)
    assert metric(r, "TotalRequestLatency")[0] == pytest.approx(1010.0)
    assert r.summary["functions"]["app"]["latency_ms"]["mean"] == pytest.approx(1011.0, abs=0.05)
    assert r.summary["buckets"]["b"]["bytes_downloaded"] == 90_000_000 * r.summary["buckets"]["b"]["get"]


def test_notifications_reach_a_function_at_least_once():
    """Each PUT notifies the `thumb` function asynchronously after a fixed 2 s: every event is
    delivered or pending at the end (events = delivered + failed + pending_end), each delivery
    is one invocation, and an upload's trace completes 2 s (and the thumbnail's 50 ms) after it."""
    fns = {"thumb": {"memory_mb": 512, "timeout_s": 60, "duration_ms": {"dist": "fixed", "value": 50},
                     "init_ms": {"dist": "fixed", "value": 0}}}
    sc = scenario({"b": {"notifications": [{"target": "function:thumb", "latency_ms": {"dist": "fixed", "value": 2000}}]}},
                  [dict(PUT_ONCE)], 10, duration_s=60.0, functions=fns)
    r = simulate(sc)
    n = r.summary["buckets"]["b"]["notifications"]
    assert n["events"] == r.summary["buckets"]["b"]["put"] == 600
    assert n["events"] == n["delivered"] + n["failed"] + n["pending_end"] and n["failed"] == 0
    assert r.summary["functions"]["thumb"]["invocations"] == n["delivered"] == 600 - 20  # the last 2 s pending
    assert r.summary["entry_points"]["in"]["completion_ms"]["p50"] == pytest.approx(2051.0, rel=0.02)


def test_a_month_of_requests_and_storage_to_the_cent():
    """100 PUTs and 100 GETs a second for an hour, projected to the 730-hour month: 262,800,000
    PUTs at $0.005 per 1,000 = $1,314.00, as many GETs at $0.0004 per 1,000 = $105.12, and
    1,000 GB of Standard storage at $0.023 = $23.00. In Standard-IA: $2,628.00 + $262.80 of
    requests, $12.50 of storage and $0.01 per GB read (GETs of 1 MB: 256,640.625 GB = $2,566.41)."""
    calls = [dict(PUT_ONCE), {"target": "bucket:b", "operation": "GET", "object_bytes": 2**20,
                              "latency_ms": {"dist": "fixed", "value": 0}}]
    for cls, want in (("STANDARD", {"Requests-Tier1": 1314.00, "Requests-Tier2": 105.12,
                                    "TimedStorage-ByteHrs": 23.00}),
                      ("STANDARD_IA", {"Requests-SIA-Tier1": 2628.00, "Requests-SIA-Tier2": 262.80,
                                       "TimedStorage-SIA-ByteHrs": 12.50, "Retrieval-SIA": 2566.41})):
        sc = scenario({"b": {"storage_gb": 1000, "storage_class": cls}}, calls, 100, duration_s=3600.0,
                      period_s=600.0)
        costs = simulate(sc).costs.filter((pl.col("period") == "monthly") & (pl.col("service") == "AmazonS3"))
        assert {x["usage_type"]: cents(repr(x["unblended_cost_usd"])) for x in costs.to_dicts()} == want


def test_the_same_numbers_whatever_the_windows():
    fns = {"thumb": {"memory_mb": 512, "timeout_s": 60, "duration_ms": {"dist": "lognormal", "median": 80, "p99": 400}}}
    calls = [{"target": "bucket:b", "operation": "PUT", "object_bytes": {"dist": "uniform", "low": 1e5, "high": 5e7}},
             {"target": "bucket:b", "operation": "GET", "object_bytes": 1e6, "probability": 0.5}]

    def run(w):
        sc = scenario({"b": {"prefixes": {"dist": "zipf", "n": 3, "s": 2.0}, "split_after_min": 1,
                             "notifications": [{"target": "function:thumb"}]}}, calls, 6000, duration_s=150.0,
                      functions=fns, sim={"window_s": w})
        s = simulate(sc).summary
        return s["buckets"], s["functions"], s["calls"]

    base = run("auto")
    assert base[0]["b"]["slow_down"] > 0 and base[0]["b"]["prefix_splits"] >= 1
    for w in (0.4, 60.0):
        assert run(w) == base
