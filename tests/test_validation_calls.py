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

import json
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
    mean_b, mean_a, latency_s = 1.0, 0.5, 0.020
    rate = load * c / mean_b
    waits, completions = [], []
    for seed in range(8):
        s = simulate(tandem(c, rate, mean_a, mean_b, latency_s * 1000, 20_000, seed), progress=False).summary
        assert_queue_conservation(s)
        assert_call_conservation(s)
        q, a = s["queues"]["q"], s["functions"]["a"]
        call = s["calls"]["a.calls[0] → queue:q"]
        assert call["ok"] == q["sent"] and call["failed"] == 0
        # A's latency = its own duration + the SendMessage's 20 ms (at: end)
        assert a["latency_ms"]["min"] >= 20.0 - 1e-9
        waits.append(q["wait_s"]["mean"])
        ep = s["entry_points"]["in"]
        assert ep["requests"] == ep["succeeded"] and ep["latency_ms"]["max"] == 0.0  # async: accepted at once
        completions.append(ep["completion_ms"]["mean"] / 1000.0)
    mean, half = ci(waits)
    expected = mmc_mean_wait_s(c, rate, mean_b)
    print(f"tandem c={c} load={load}: B's wait {mean:.4f} ± {half:.4f} s, Erlang C {expected:.4f} s")
    assert abs(mean - expected) <= half
    # a request is done when B's invocation ends: E[A] + the SendMessage + W_q + E[B]
    mean, half = ci(completions)
    expected = mean_a + latency_s + mmc_mean_wait_s(c, rate, mean_b) + mean_b
    print(f"tandem c={c} load={load}: completion {mean:.4f} ± {half:.4f} s, expected {expected:.4f} s")
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


BY_HAND = {
    "name": "by_hand_traces", "duration_s": 10, "seed": 1,
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
    "record": {"traces": {"sample": 1.0}},
}


def test_a_fixed_chain_by_hand():
    """A (sync) → B (fixed 100 ms) → A publishes to a topic (fixed 10 ms) → queue → C. With
    fixed latencies of 5 ms: A lasts 5 + 100 + 5 + 40 (own, at: end order) = 150 ms and bills 150.
    The client waits those 150 ms; the request is done when C ends: the Publish reaches the
    topic at 110 ms, its delivery the queue at 140, the idle poller hands it to C at once, C
    runs 20 ms: 160 ms."""
    sc = json.loads(json.dumps(BY_HAND))
    del sc["record"]  # no traces: the summary alone
    s = simulate(sc, progress=False).summary
    a, b, c = s["functions"]["a"], s["functions"]["b"], s["functions"]["c"]
    assert a["invocations"] == b["invocations"] == c["invocations"] == 10
    assert a["latency_ms"]["min"] == pytest.approx(150.0) and a["latency_ms"]["max"] == pytest.approx(150.0)
    assert a["billed_duration_ms"] == 10 * 150
    assert b["billed_duration_ms"] == 10 * 100 and c["billed_duration_ms"] == 10 * 20
    assert s["topics"]["t"]["delivered"] == 10 and s["queues"]["q"]["deleted"] == 10
    assert_call_conservation(s)
    ep = s["entry_points"]["in"]
    assert (ep["requests"], ep["succeeded"], ep["failed"], ep["throttled"], ep["in_flight_end"]) == (10, 10, 0, 0, 0)
    for stat in ("mean", "p50", "p99", "max"):
        assert ep["latency_ms"][stat] == pytest.approx(150.0) and ep["completion_ms"][stat] == pytest.approx(160.0)


def _spans_by_name(traces, trace_id):
    """{name: [span dicts in start order]} of one trace, and its spans by id."""
    rows = traces.filter(traces["trace_id"] == trace_id).sort("start_s").to_dicts()
    out = {}
    for r in rows:
        out.setdefault(r["name"], []).append(r)
    return out, {r["span_id"]: r for r in rows}


def _check_chain(spans, by_id, t0, init_s=0.0):
    """The spans of one request of BY_HAND, worked out by hand: A starts at t0 (its init
    `init_s`), calls B (5 ms there, 100 ms in B, the answer back at once), then Publishes
    (5 ms), then runs its own 40 ms; the topic delivers after 30 ms, C runs 20 ms at once."""
    s_b = t0 + init_s  # A's handler starts, and its call to B with it
    expect = {  # name: (start, end, parent name)
        "a invoke": (t0, s_b + 0.110 + 0.040, "a lambda.Invoke"),
        "b lambda.Invoke": (s_b, s_b + 0.105, "a invoke"),
        "b invoke": (s_b + 0.005, s_b + 0.105, "b lambda.Invoke"),
        "t sns.Publish": (s_b + 0.105, s_b + 0.110, "a invoke"),
        "t deliver": (s_b + 0.110, s_b + 0.140, "t sns.Publish"),
        "c invoke": (s_b + 0.140, s_b + 0.160, "t deliver"),
    }
    expect["a lambda.Invoke"] = (t0, expect["a invoke"][1], None)  # the client waits for A
    for name, (start, end, parent) in expect.items():
        sp = spans[name][-1]
        assert sp["start_s"] == pytest.approx(start, abs=1e-9) and sp["end_s"] == pytest.approx(end, abs=1e-9), name
        assert (by_id[sp["parent_span_id"]]["name"] if sp["parent_span_id"] is not None else None) == parent, name
        assert sp["status"] == "OK", name
    assert spans["t deliver"][-1]["resource"] == "q" and spans["t deliver"][-1]["service"] == "sqs"


def test_traces_of_a_fixed_chain_by_hand(tmp_path):
    """A (sync) → B, Publish → topic → queue → C: every span's start and end by hand; then the
    same with A's cold start (250 ms of init) and with B's throttle retried by the SDK."""
    r = simulate(BY_HAND, progress=False)
    ids = sorted(set(r.traces["trace_id"].to_list()))
    assert len(ids) == 10  # every request, each done well before the end
    for k, tid in enumerate(ids):
        spans, by_id = _spans_by_name(r.traces, tid)
        assert sum(len(v) for v in spans.values()) == 7
        _check_chain(spans, by_id, t0=float(k))  # constant arrivals at 0, 1, 2, ... s
        assert json.loads(spans["a invoke"][0]["attributes"])["cold_start"] == (k == 0)
    # A's cold start: its calls and its own time begin after 250 ms of init
    cold = json.loads(json.dumps(BY_HAND))
    cold["functions"]["a"]["init_ms"] = {"dist": "fixed", "value": 250.0}
    r = simulate(cold, progress=False)
    spans, by_id = _spans_by_name(r.traces, min(r.traces["trace_id"]))
    _check_chain(spans, by_id, t0=0.0, init_s=0.250)
    # two requests, at 0 and 1 s; B lasts 1.5 s with a reserved concurrency of 1: the second
    # request's call is throttled at 1.005 s, the SDK retries (up to 5 attempts) after its
    # jittered backoffs, B runs from the first retry that finds it free
    (tmp_path / "two.csv").write_text("t_s\n0.0\n1.0\n")
    slow = json.loads(json.dumps(BY_HAND))
    slow["functions"]["b"] = fn(fixed_ms=1500.0, reserved_concurrency=1)
    slow["functions"]["a"]["calls"][0]["max_attempts"] = 5
    slow["traffic"][0]["arrivals"] = {"kind": "trace", "file": str(tmp_path / "two.csv")}
    slow["duration_s"] = 60
    r = simulate(slow, progress=False)
    second = sorted(set(r.traces["trace_id"].to_list()))[1]
    spans, by_id = _spans_by_name(r.traces, second)
    attempts = spans["b lambda.Invoke"]
    assert len(attempts) >= 2
    first = attempts[0]
    assert (first["start_s"], first["end_s"], first["status"]) == (pytest.approx(1.0), pytest.approx(1.005), "ERROR")
    for i, (prev, nxt) in enumerate(zip(attempts, attempts[1:])):  # throttled at once, retried after U·min(2^i, 20) s
        assert json.loads(prev["attributes"]) == {"answer": "throttled", "attempt": i, "caller": "a"}
        assert prev["end_s"] == pytest.approx(prev["start_s"] + 0.005)
        assert prev["end_s"] <= nxt["start_s"] <= prev["end_s"] + min(2 ** i, 20)
        assert prev["start_s"] + 0.005 < 1.505  # B was busy with the first request
    last = attempts[-1]
    assert json.loads(last["attributes"]) == {"answer": "ok", "attempt": len(attempts) - 1, "caller": "a"}
    assert last["start_s"] + 0.005 >= 1.505  # ... and free again when the last one arrived
    b = spans["b invoke"][0]
    assert b["start_s"] == pytest.approx(last["start_s"] + 0.005) and b["end_s"] == pytest.approx(b["start_s"] + 1.5)
    assert b["end_s"] == pytest.approx(last["end_s"]) and len(spans["b invoke"]) == 1
    a = spans["a invoke"][0]
    assert a["end_s"] == pytest.approx(b["end_s"] + 0.005 + 0.040)  # Publish, then its own 40 ms


def _without_wall(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("wall_s", "requests_per_wall_s")}


def test_cycles_give_the_same_numbers_at_any_window():
    """A function feeding its own queue half the time, and a topic → queue → function chain whose
    function calls an endpoint with an outage and a rate limit: identical summaries and request
    rows, entry points and traces at Δ = 0.01 s, 1 s, 60 s and auto (DESIGN.md §2's invariant,
    with cycles)."""
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
    sc["record"] = {"requests": {"sample": 1.0}, "traces": {"sample": 0.5}}  # every attempt's row, half the traces
    runs, rows, traces = [], [], []
    for window in (0.01, 1.0, 60.0, "auto"):
        sc["sim"] = {"window_s": window}
        r = simulate(sc, progress=False)
        s = r.summary
        assert_call_conservation(s)
        assert_queue_conservation(s)
        runs.append(_without_wall(s))
        rows.append(r.requests.sort(["id", "attempt"]))
        traces.append(r.traces)
    assert runs[0] == runs[1] == runs[2] == runs[3]
    assert rows[0].height > 1000 and all(rows[0].equals(x) for x in rows[1:])
    assert traces[0].height > 1000 and all(traces[0].equals(x) for x in traces[1:])
    eps = runs[0]["entry_points"]
    assert eps["seed"]["requests"] > 300 and eps["pub"]["completion_ms"]["max"] > 0
    calls = runs[0]["calls"]
    assert calls["worker.calls[0] → endpoint:pay"]["retries"] > 0  # the SDK retried 429s, 503s and 5xx
    assert runs[0]["endpoints"]["pay"]["outage"] > 0 and runs[0]["endpoints"]["pay"]["throttled"] > 0
    assert 0.4 < calls["loop.calls[0] → queue:self"]["made"] / runs[0]["functions"]["loop"]["invocations"] < 0.6


def test_traces_are_sampled_as_requests_are():
    """record.traces picks the same requests record.requests would with the same share and
    first N (a hash of the request id): every sampled trace has its request rows and the
    other way round (all traces close well before the end here)."""
    sc = json.loads(json.dumps(BY_HAND))
    sc["duration_s"] = 200
    sc["traffic"][0]["arrivals"] = {"kind": "poisson", "rate_per_s": 5}
    sc["record"] = {"traces": {"sample": 0.3, "first_n": 4}, "requests": {"sample": 0.3, "first_n": 4}}
    r = simulate(sc, progress=False)
    traced = set(r.traces["trace_id"].to_list())
    a_rows = r.requests.filter(r.requests["function"] == "a")
    assert traced == set(a_rows["id"].to_list()) - _open_at_end(r)
    n = r.summary["entry_points"]["in"]["requests"]
    port = min(traced) >> 40  # ids are (port << 40) | number at the port
    assert {(port << 40) | k for k in range(4)} <= traced and 0.25 * n < len(traced) < 0.35 * n


def _open_at_end(r) -> set:
    """Request ids of A's invocations still running at the end (their traces are left out)."""
    rows = r.requests.filter(r.requests["function"] == "a")
    end = r.summary["duration_s"]
    late = rows.filter(rows["t_s"] + rows["latency_ms"] / 1000.0 + 0.2 >= end)
    return set(late["id"].to_list())


def test_a_calls_own_attributes_reach_the_topics_filters():
    """A function publishes with its own attributes (kind a 30 %, b 70 %; one CALL draw per call
    made); a subscription filtered on kind a gets about
    30 % of the publishes: the count lies in a 99.9 % binomial interval."""
    sc = {
        "name": "own_attributes", "duration_s": 600, "seed": 5,
        "functions": {"pub": fn(fixed_ms=5.0, calls=[
            {"target": "topic:t", "mode": "async", "attributes": {"kind": {"a": 0.3, "b": 0.7}}}])},
        "topics": {"t": {"subscriptions": [
            {"protocol": "https", "endpoint": "https://a.example", "filter_policy": {"kind": ["a"]}},
            {"protocol": "https", "endpoint": "https://any.example"}]}},
        "traffic": [{"name": "in", "target": "function:pub", "invocation": "async",
                     "arrivals": {"kind": "poisson", "rate_per_s": 20}}],
    }
    s = simulate(sc, progress=False).summary
    t = s["topics"]["t"]
    n = t["published"]
    to_a = next(v for k, v in t["subscriptions"].items() if "a.example" in k)
    to_any = next(v for k, v in t["subscriptions"].items() if "any.example" in k)
    assert n == s["calls"]["pub.calls[0] → topic:t"]["ok"] and to_any["filtered_out"] == 0
    matched = n - to_a["filtered_out"]  # publishes of class kind=a
    half = 3.29 * math.sqrt(n * 0.3 * 0.7)  # 99.9 % normal interval of a binomial count
    assert abs(matched - 0.3 * n) <= half, (matched, 0.3 * n, half)
