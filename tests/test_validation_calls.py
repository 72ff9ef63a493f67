"""Services that call services, through `simulate()`, against queueing theory and by hand.

- Tandem (Burke): Poisson arrivals → function A (no limit reached, exponential durations) →
  async SendMessage → a queue drained by a mapping of fixed concurrency c (batch 1, no
  window) → function B (exponential). The departures of an M/M/∞ stage are Poisson, so B's
  queue is M/M/c: its mean wait lies in a 99 % interval of Erlang C.
- Sync loss: A calls B synchronously, B has reserved concurrency c_B, no SDK retry: the share
  of A's invocations failing on B's throttle is Erlang B(c_B, λ E[S_B]).
- Δ-independence with cycles: a function feeding its own queue with probability 0.5 and a
  topic → queue → function chain give identical summaries at Δ = 0.01 s, 1 s, 60 s and auto.
- Exact values by hand: a chain with fixed durations and latencies.
Tolerances: 99 % Student t intervals over seeded replications.
"""

from __future__ import annotations

import math

import pytest

from sim import simulate
from test_validation_lambda import ci, erlang_b
from test_validation_messaging import assert_queue_conservation, mmc_mean_wait_s

FIXED0 = {"dist": "fixed", "value": 0.0}


def fn(mean_ms=None, fixed_ms=None, **over):
    d = {"dist": "exponential", "mean": mean_ms} if mean_ms is not None else {"dist": "fixed", "value": fixed_ms}
    return {"memory_mb": 128, "timeout_s": 900, "duration_ms": d, "init_ms": FIXED0,
            "idle_expiry_s": {"dist": "fixed", "value": 1e9}, **over}


def assert_call_conservation(summary: dict) -> None:
    for name, c in summary.get("calls", {}).items():
        assert c["made"] == c["ok"] + c["failed"] + c["abandoned"] + c["in_flight_end"], (name, c)
        assert c["attempts"] == c["made"] + c["retries"], (name, c)
    for name, e in summary.get("endpoints", {}).items():
        assert e["requests"] == e["ok"] + e["errors"] + e["throttled"] + e["outage"] + e["in_progress_end"], name


def tandem(c: int, rate_per_s: float, mean_a_s: float, mean_b_s: float, latency_ms: float, duration_s: float,
           seed: int) -> dict:
    return {
        "name": "tandem", "duration_s": duration_s, "seed": seed,
        "account": {"concurrency_limit": 10_000},
        "functions": {"a": fn(mean_a_s * 1000, calls=[{"target": "queue:q", "mode": "async", "at": "end",
                                                       "latency_ms": {"dist": "fixed", "value": latency_ms}}]),
                      "b": fn(mean_b_s * 1000)},
        "queues": {"q": {"visibility_timeout_s": 43_200, "retention_s": 1_209_600}},
        "event_source_mappings": [{"source": "q", "function": "b", "batch_size": 1, "max_concurrency": c}],
        "traffic": [{"name": "in", "target": "function:a", "invocation": "async",
                     "arrivals": {"kind": "poisson", "rate_per_s": rate_per_s}}],
        "record": {"period_s": 600},
    }


@pytest.mark.slow
@pytest.mark.parametrize("c, load", [(2, 0.6), (3, 0.8)])
def test_tandem_queue_wait_is_erlang_c(c, load):
    mean_b, rate = 1.0, load * c / 1.0
    waits = []
    for seed in range(8):
        s = simulate(tandem(c, rate, 0.5, mean_b, 20.0, 20_000, seed), progress=False).summary
        assert_queue_conservation(s)
        assert_call_conservation(s)
        q, a = s["queues"]["q"], s["functions"]["a"]
        call = s["calls"]["a.calls[0] → queue:q"]
        assert call["ok"] == q["sent"] and call["failed"] == 0
        # A's latency = its own duration + the SendMessage's 20 ms (at: end)
        assert a["latency_ms"]["min"] >= 20.0 - 1e-9
        waits.append(q["wait_s"]["mean"])
    mean, half = ci(waits)
    expected = mmc_mean_wait_s(c, rate, mean_b)
    print(f"tandem c={c} load={load}: B's wait {mean:.4f} ± {half:.4f} s, Erlang C {expected:.4f} s")
    assert abs(mean - expected) <= half


def sync_loss(c_b: int, rate_per_s: float, mean_b_s: float, duration_s: float, seed: int) -> dict:
    return {
        "name": "sync_loss", "duration_s": duration_s, "seed": seed,
        "account": {"concurrency_limit": 10_000},
        "functions": {"a": fn(fixed_ms=5.0, calls=[{"target": "function:b", "mode": "sync", "max_attempts": 1,
                                                    "latency_ms": FIXED0}]),
                      "b": fn(mean_b_s * 1000, reserved_concurrency=c_b)},
        "traffic": [{"name": "in", "target": "function:a", "invocation": "async",
                     "arrivals": {"kind": "poisson", "rate_per_s": rate_per_s}}],
        "record": {"period_s": 600},
    }


@pytest.mark.slow
@pytest.mark.parametrize("c_b, load", [(1, 0.5), (4, 3.0)])
def test_sync_call_loss_is_erlang_b(c_b, load):
    """A's share of failed invocations is B's blocking probability (B's throttle comes back as A's
    error); A's own async retries are off so every arrival is one attempt."""
    shares = []
    for seed in range(8):
        sc = sync_loss(c_b, load, 1.0, 5_000, seed)
        sc["functions"]["a"]["async_invoke"] = {"max_retry_attempts": 0}
        s = simulate(sc, progress=False).summary
        assert_call_conservation(s)
        a, b = s["functions"]["a"], s["functions"]["b"]
        call = s["calls"]["a.calls[0] → function:b"]
        assert call["failed"] == b["throttles"] and call["retries"] == 0
        assert a["errors"] == call["failed"]
        shares.append(a["errors"] / a["invocations"])
    mean, half = ci(shares)
    expected = erlang_b(c_b, load)
    print(f"sync loss c_B={c_b} load={load}: {mean:.4f} ± {half:.4f}, Erlang B {expected:.4f}")
    assert abs(mean - expected) <= half


def test_a_fixed_chain_by_hand():
    """A (sync) → B (fixed 100 ms) → A publishes to a topic (fixed 10 ms) → queue → C. With
    fixed latencies of 5 ms: A lasts 5 + 100 + 5 + 40 (own, at: end order) = 150 ms and bills 150."""
    sc = {
        "name": "by_hand", "duration_s": 10, "seed": 1,
        "functions": {
            "a": fn(fixed_ms=40.0, calls=[
                {"target": "function:b", "mode": "sync", "latency_ms": {"dist": "fixed", "value": 5.0}},
                {"target": "topic:t", "mode": "async", "latency_ms": {"dist": "fixed", "value": 5.0}}]),
            "b": fn(fixed_ms=100.0), "c": fn(fixed_ms=20.0)},
        "queues": {"q": {"visibility_timeout_s": 5400}},
        "event_source_mappings": [{"source": "q", "function": "c", "batch_size": 1}],
        "topics": {"t": {"subscriptions": [{"protocol": "sqs", "endpoint": "q",
                                            "delivery_latency_ms": {"dist": "fixed", "value": 30.0}}]}},
        "traffic": [{"name": "in", "target": "function:a", "invocation": "sync",
                     "arrivals": {"kind": "constant", "rate_per_s": 1}}],
    }
    s = simulate(sc, progress=False).summary
    a, b, c = s["functions"]["a"], s["functions"]["b"], s["functions"]["c"]
    assert a["invocations"] == b["invocations"] == c["invocations"] == 10
    assert a["latency_ms"]["min"] == pytest.approx(150.0) and a["latency_ms"]["max"] == pytest.approx(150.0)
    assert a["billed_duration_ms"] == 10 * 150
    assert b["billed_duration_ms"] == 10 * 100 and c["billed_duration_ms"] == 10 * 20
    assert s["topics"]["t"]["delivered"] == 10 and s["queues"]["q"]["deleted"] == 10
    assert_call_conservation(s)


def _without_wall(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("wall_s", "requests_per_wall_s")}


def test_cycles_give_the_same_numbers_at_any_window():
    """A function feeding its own queue half the time, and a topic → queue → function chain whose
    function calls an endpoint with an outage and a rate limit: identical summaries and request
    rows at Δ = 0.01 s, 1 s, 60 s and auto (DESIGN.md §2's invariant, with cycles)."""
    sc = {
        "name": "cycles", "duration_s": 120, "seed": 3,
        "functions": {
            "loop": fn(50.0, calls=[{"target": "queue:self", "mode": "async", "probability": 0.5, "at": "end"}]),
            "worker": fn(80.0, calls=[{"target": "endpoint:pay", "max_attempts": 3}], timeout_s=2),
        },
        "queues": {"self": {"visibility_timeout_s": 5400}, "work": {"visibility_timeout_s": 60}},
        "event_source_mappings": [{"source": "self", "function": "loop", "batch_size": 1},
                                  {"source": "work", "function": "worker", "batch_size": 2}],
        "topics": {"t": {"subscriptions": [{"protocol": "sqs", "endpoint": "work"}]}},
        "endpoints": {"pay": {"latency_ms": {"dist": "lognormal", "median": 100, "p99": 900}, "error_rate": 0.1,
                              "rate_limit_per_s": 5, "outages": [{"start_s": 40, "end_s": 50}]}},
        "traffic": [{"name": "seed", "target": "queue:self", "arrivals": {"kind": "poisson", "rate_per_s": 3}},
                    {"name": "pub", "target": "topic:t", "arrivals": {"kind": "poisson", "rate_per_s": 8}}],
    }
    sc["record"] = {"requests": {"sample": 1.0}}  # every attempt's row
    runs, rows = [], []
    for window in (0.01, 1.0, 60.0, "auto"):
        sc["sim"] = {"window_s": window}
        r = simulate(sc, progress=False)
        s = r.summary
        assert_call_conservation(s)
        assert_queue_conservation(s)
        runs.append(_without_wall(s))
        rows.append(r.requests.sort(["id", "attempt"]))
    assert runs[0] == runs[1] == runs[2] == runs[3]
    assert rows[0].height > 1000 and all(rows[0].equals(x) for x in rows[1:])
    calls = runs[0]["calls"]
    assert calls["worker.calls[0] → endpoint:pay"]["retries"] > 0  # the SDK retried 429s, 503s and 5xx
    assert runs[0]["endpoints"]["pay"]["outage"] > 0 and runs[0]["endpoints"]["pay"]["throttled"] > 0
    assert 0.4 < calls["loop.calls[0] → queue:self"]["made"] / runs[0]["functions"]["loop"]["invocations"] < 0.6
