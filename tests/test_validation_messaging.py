"""The messaging model against theory (Erlang C, Little's law), a loop worked by hand, and
conservation in every run. Tolerances are confidence intervals over seeded replications.
"""

from __future__ import annotations

import math

import pytest

from sim import simulate
from test_validation_lambda import ci


def erlang_c(c: int, a: float) -> float:
    """Probability of waiting in an M/M/c queue with offered load a < c (Erlangs)."""
    term, total = 1.0, 1.0
    for k in range(1, c):
        term *= a / k
        total += term
    top = term * a / c * c / (c - a)
    return top / (total + top)


def mmc_mean_wait_s(c: int, rate_per_s: float, mean_s: float) -> float:
    a = rate_per_s * mean_s
    return erlang_c(c, a) * mean_s / (c - a)


def assert_queue_conservation(summary: dict) -> None:
    for name, q in summary.get("queues", {}).items():
        inflow = q["sent"] + q["redriven_in"]
        outflow = q["deleted"] + q["dead_lettered"] + q["expired"] + q["visible_end"] + q["delayed_end"] + q["in_flight_end"]
        assert inflow == outflow, (name, q)


def assert_topic_conservation(summary: dict) -> None:
    for name, t in summary.get("topics", {}).items():
        for sub, s in t["subscriptions"].items():
            assert t["published"] == (s["delivered"] + s["filtered_out"] + s["failed"] + s["dead_lettered"]
                                      + s["pending_end"]), (name, sub, s)


def mmc_scenario(c: int, rate_per_s: float, mean_s: float, duration_s: float, seed: int) -> dict:
    """An idealised mapping: batch size 1, no window, exactly c pollers (max_concurrency = the
    floor of scaling), no cold starts, exponential durations: an M/M/c queue."""
    return {
        "name": f"mmc_c{c}", "duration_s": duration_s, "seed": seed,
        "functions": {"f": {"memory_mb": 128, "timeout_s": 900,
                            "duration_ms": {"dist": "exponential", "mean": mean_s * 1000},
                            "init_ms": {"dist": "fixed", "value": 0.0},
                            "idle_expiry_s": {"dist": "fixed", "value": 1e9}}},
        "queues": {"q": {"visibility_timeout_s": 43_200, "retention_s": 1_209_600}},
        "event_source_mappings": [{"source": "q", "function": "f", "batch_size": 1, "max_concurrency": c}],
        "traffic": [{"name": "msgs", "target": "queue:q", "arrivals": {"kind": "poisson", "rate_per_s": rate_per_s}}],
        "record": {"period_s": 600},
        "sim": {"window_s": 60},
    }


@pytest.mark.slow
@pytest.mark.parametrize("c, load", [(2, 0.5), (2, 0.8), (3, 0.7), (5, 0.6), (5, 0.9)])
def test_erlang_c_mean_wait(c, load):
    mean_s = 1.0
    rate = load * c / mean_s
    waits, littles = [], []
    for seed in range(8):
        s = simulate(mmc_scenario(c, rate, mean_s, 20_000, seed), progress=False).summary
        assert_queue_conservation(s)
        q = s["queues"]["q"]
        assert q["received"] == q["sent"] - q["visible_end"]  # batch size 1, nothing redelivered
        waits.append(q["wait_s"]["mean"])
        # Little's law on the backlog: time-average visible = receive rate x mean wait
        littles.append(q["visible_avg"] / (q["received"] / s["duration_s"] * q["wait_s"]["mean"]))
    mean, half = ci(waits)
    expected = mmc_mean_wait_s(c, rate, mean_s)
    print(f"c={c} load={load}: mean wait {mean:.4f} ± {half:.4f} s, Erlang C {expected:.4f} s")
    assert abs(mean - expected) <= half
    ratio, half_l = ci(littles)
    assert abs(ratio - 1.0) <= max(half_l, 1e-9), (ratio, half_l)


def test_throttle_redeliver_loop_by_hand(tmp_path):
    """Reserved concurrency 1 behind a mapping that keeps 5 pollers: AWS's throttle trap.

    Five messages at t = 0.0, 0.1, 0.2, 0.3, 0.4; the function runs 10 s; visibility 30 s;
    maxReceiveCount 2. m1 runs (0.0-10.0) and is deleted. m2..m5 are received by the other
    four pollers and throttled (4 throttles), staying in flight until 30.1..30.4. Then m2 is
    received again (count 2) and runs (30.1-40.1), deleted; m3..m5 are throttled again (3
    more). At 60.2..60.4 they become visible with 2 receives: the next receive dead-letters
    them. So: 9 receives, 2 deletes, 3 dead-lettered, 7 throttles, 2 invocations.
    """
    trace = tmp_path / "sends.csv"
    trace.write_text("t_s\n0.0\n0.1\n0.2\n0.3\n0.4\n")
    scenario = {
        "name": "throttle_loop", "duration_s": 120, "seed": 1,
        "functions": {"f": {"timeout_s": 15, "reserved_concurrency": 1,
                            "duration_ms": {"dist": "fixed", "value": 10_000},
                            "init_ms": {"dist": "fixed", "value": 0.0}}},
        "queues": {"q": {"visibility_timeout_s": 30, "max_receive_count": 2, "dead_letter_queue": "dlq"},
                   "dlq": {}},
        "event_source_mappings": [{"source": "q", "function": "f", "batch_size": 1}],
        "traffic": [{"name": "sends", "target": "queue:q", "arrivals": {"kind": "trace", "file": str(trace)}}],
        "record": {"period_s": 60},
    }
    s = simulate(scenario, progress=False).summary
    assert_queue_conservation(s)
    q, dlq, f = s["queues"]["q"], s["queues"]["dlq"], s["functions"]["f"]
    assert (q["sent"], q["received"], q["deleted"], q["dead_lettered"]) == (5, 9, 2, 3)
    assert (dlq["redriven_in"], dlq["visible_end"]) == (3, 3)
    assert (f["invocations"], f["throttles"]) == (2, 7)
    assert s["event_source_mappings"]["q->f"]["batches_throttled"] == 7


@pytest.mark.parametrize("name", ["fanout", "eventbridge_router", "worker_fleet"])
def test_shipped_messaging_scenarios_conserve_everything(name):
    from pathlib import Path

    path = Path(__file__).parent.parent / "configs" / "scenario" / f"{name}.yaml"
    s = simulate(str(path), progress=False).summary
    assert_queue_conservation(s)
    assert_topic_conservation(s)
    for bus in s.get("buses", {}).values():
        assert bus["put"] + bus["put_throttled"] == bus["entries"]
    assert s["cost_usd"]["by_service"], s["cost_usd"]
    assert math.isfinite(s["cost_usd"]["total"])


def _without_wall(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("wall_s", "requests_per_wall_s")}


def test_messaging_outcomes_do_not_depend_on_the_window():
    """SNS deliveries held across windows, queues, mappings, fleets, EventBridge retries:
    the same numbers at Δ = 0.3 s, 7 s and auto (docs/DESIGN.md §2's invariant)."""
    from pathlib import Path

    from scenarios import load_scenario

    root = Path(__file__).parent.parent / "configs" / "scenario"
    for name in ("fanout", "eventbridge_router"):
        sc = load_scenario(root / f"{name}.yaml")
        sc.duration_s = 400.0
        runs = []
        for window in (0.3, 7.0, "auto"):
            sc.sim.window_s = window
            runs.append(_without_wall(simulate(sc, progress=False).summary))
        assert runs[0] == runs[1] == runs[2], name


def test_async_on_failure_destination_receives_every_dropped_event():
    s = simulate({
        "name": "on_failure", "duration_s": 300, "seed": 2,
        "functions": {"f": {"error_rate": 1.0, "async_invoke": {"max_retry_attempts": 0, "on_failure": "queue:failed"}}},
        "queues": {"failed": {}},
        "traffic": [{"name": "events", "target": "function:f", "invocation": "async",
                     "arrivals": {"kind": "poisson", "rate_per_s": 5}}],
    }, progress=False).summary
    assert_queue_conservation(s)
    dropped = s["functions"]["f"]["async_dropped"]
    assert dropped == s["functions"]["f"]["invocations"] > 1000
    assert s["queues"]["failed"]["sent"] == dropped == s["queues"]["failed"]["visible_end"]


def test_fifo_topic_to_fifo_queue_keeps_every_message():
    s = simulate({
        "name": "fifo", "duration_s": 300, "seed": 4,
        "functions": {"f": {"timeout_s": 10, "duration_ms": {"dist": "exponential", "mean": 30}}},
        "queues": {"orders.fifo": {"type": "fifo", "visibility_timeout_s": 60}},
        "event_source_mappings": [{"source": "orders.fifo", "function": "f", "batch_size": 10}],
        "topics": {"events.fifo": {"type": "fifo", "subscriptions": [{"protocol": "sqs", "endpoint": "orders.fifo"}]}},
        "traffic": [{"name": "pub", "target": "topic:events.fifo", "arrivals": {"kind": "poisson", "rate_per_s": 50},
                     "message": {"groups": 20}}],
    }, progress=False).summary
    assert_queue_conservation(s)
    assert_topic_conservation(s)
    q = s["queues"]["orders.fifo"]
    assert q["sent"] == s["topics"]["events.fifo"]["delivered"] > 10_000
    assert q["deleted"] >= q["sent"] - 50  # the consumer keeps up
    # one batch in flight per message group: never more concurrent batches than groups
    assert s["event_source_mappings"]["orders.fifo->f"]["max_concurrent_batches"] <= 20
