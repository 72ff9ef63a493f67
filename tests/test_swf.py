"""Amazon SWF (sim/integration/swf.py): executions worked by hand, FCFS task lists, retries and
timeouts, conservation, window independence, the bill by hand and AWS's worked example, and
the activity queue against M/M/1."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim import simulate

ROOT = Path(__file__).resolve().parents[1]
FIXED = lambda v: {"dist": "fixed", "value": v}  # noqa: E731


def scenario(tmp_path, steps, activities=None, starts=(0.0,), duration_s=3600.0, deciders=None, **wf):
    """One workflow type `w` started at `starts` (a trace of arrivals): decisions 100 ms on one
    decider unless `deciders` says otherwise."""
    trace = tmp_path / "starts.csv"
    trace.write_text("t_s\n" + "".join(f"{t}\n" for t in starts))
    return {
        "name": "swf_test", "duration_s": duration_s, "seed": 3,
        "swf_workflows": {"w": {"deciders": deciders or {"workers": 1, "decision_ms": FIXED(100)},
                                "activities": activities or {}, "steps": steps, **wf}},
        "traffic": [{"name": "starts", "target": "swf_workflow:w",
                     "arrivals": {"kind": "trace", "file": str(trace), "time_column": "t_s"}}],
        "sim": {"window_s": 1.0},
    }


def run(sc):
    r = simulate(sc, progress=False)
    return r, r.summary["swf_workflows"]["w"]


def costs(r, period="simulated"):
    """{usage type: (usage amount, cost)} of AmazonSWF's lines."""
    c = r.costs.filter((r.costs["service"] == "AmazonSWF") & (r.costs["period"] == period))
    return {row["usage_type"]: (row["usage_amount"], row["unblended_cost_usd"]) for row in c.iter_rows(named=True)}


def test_one_execution_worked_by_hand(tmp_path):
    """decision 0.1 s, activity 1 s, decision 0.1 s, timer 60 s, decision 0.1 s that records the
    marker and completes: closed 61.3 s after its start; 3 decision tasks; 1 activity task, 1
    timer, 1 marker (3 tasks); no waits."""
    r, w = run(scenario(tmp_path, [{"activity": "a"}, {"timer_s": FIXED(60)}, {"marker": "done"}],
                        {"a": {"workers": 1, "processing_ms": FIXED(1000)}}, starts=(10.0,)))
    assert (w["started"], w["completed"], w["failed"], w["timed_out"], w["open_end"]) == (1, 1, 0, 0, 0)
    assert (w["decision_tasks"], w["activity_tasks"], w["timers"], w["signals"], w["markers"]) == (3, 1, 1, 0, 1)
    assert w["execution_time_s"]["min"] == pytest.approx(61.3, abs=1e-9)
    assert w["execution_time_s"]["max"] == pytest.approx(61.3, abs=1e-9)
    assert w["decision_wait_ms"]["max"] == 0 and w["activity_wait_ms"]["max"] == 0
    assert {k: v[0] for k, v in costs(r).items()} == {"WorkflowExecutions": 1, "Tasks": 3, "DecisionTasks": 3,
                                                       "WorkflowDays": 0}
    ep = r.summary["entry_points"]["starts"]
    assert (ep["requests"], ep["succeeded"], ep["latency_ms"]["max"]) == (1, 1, 0)
    assert ep["completion_ms"]["max"] == pytest.approx(61_300, abs=1e-6)


def test_fcfs_with_one_worker_and_two_executions_at_once(tmp_path):
    """Two starts at t = 0, one decider (100 ms), one worker (1 s): execution 0 decides 0-0.1,
    works 0.1-1.1, decides 1.1-1.2 and completes; execution 1 decides 0.1-0.2 (waited 100 ms),
    waits for the worker until 1.1 (900 ms), works until 2.1, decides 2.1-2.2. Decision waits
    0, 100, 0, 0 ms; activity waits 0 and 900 ms."""
    r, w = run(scenario(tmp_path, [{"activity": "a"}], {"a": {"workers": 1, "processing_ms": FIXED(1000)}},
                        starts=(0.0, 0.0)))
    assert (w["started"], w["completed"], w["decision_tasks"], w["activity_tasks"]) == (2, 2, 4, 2)
    assert w["decision_wait_ms"]["mean"] == pytest.approx(25.0, abs=1e-9)
    assert w["decision_wait_ms"]["max"] == pytest.approx(100.0, abs=1e-9)
    assert w["activity_wait_ms"]["mean"] == pytest.approx(450.0, abs=1e-9)
    assert w["activity_wait_ms"]["max"] == pytest.approx(900.0, abs=1e-9)
    assert w["execution_time_s"]["min"] == pytest.approx(1.2, abs=1e-9)
    assert w["execution_time_s"]["max"] == pytest.approx(2.2, abs=1e-9)


def test_an_activity_that_always_fails_is_tried_max_attempts_times(tmp_path):
    """failure_rate 1, max_attempts 3: three attempts, each followed by a decision; the fourth
    decision fails the execution at 4 x 0.1 + 3 x 1 = 3.4 s."""
    r, w = run(scenario(tmp_path, [{"activity": "a"}, {"marker": "never"}],
                        {"a": {"processing_ms": FIXED(1000), "failure_rate": 1.0, "max_attempts": 3}}))
    assert (w["started"], w["completed"], w["failed"], w["open_end"]) == (1, 0, 1, 0)
    assert (w["decision_tasks"], w["activity_tasks"], w["activity_tasks_failed"], w["markers"]) == (4, 3, 3, 0)
    assert w["activities"]["a"] == {**w["activities"]["a"], "tasks": 3, "completed": 0, "failed": 3, "timed_out": 0}
    assert w["execution_time_s"]["max"] == pytest.approx(3.4, abs=1e-9)


def test_a_failure_then_a_success_completes(tmp_path):
    """failure_rate 0.5 over many executions: every execution either completes or used all its
    attempts; attempts = executions + failed attempts that were retried."""
    r, w = run(scenario(tmp_path, [{"activity": "a"}],
                        {"a": {"workers": 50, "processing_ms": FIXED(10), "failure_rate": 0.5, "max_attempts": 2}},
                        starts=tuple(float(i) for i in range(400)), deciders={"workers": 50,
                                                                             "decision_ms": FIXED(1)}))
    a = w["activities"]["a"]
    assert w["started"] == w["completed"] + w["failed"] == 400
    assert a["tasks"] == a["completed"] + a["failed"] == 400 + (a["failed"] - w["failed"])
    assert w["failed"] == a["failed"] - (a["tasks"] - 400)  # those whose second attempt failed too
    # P(fail twice) = 1/4 with a binomial sd of sqrt(400 x 3/16) = 8.7: within 4.5 sd
    assert abs(w["failed"] - 100) < 4.5 * math.sqrt(400 * 3 / 16)


@pytest.mark.parametrize("on_timeout, delay_s, outcome, t_close, timers, signals, markers", [
    ("fail", 100, "failed", 50.2, 1, 0, 0),  # the timer fires at 50.1 s: the decision fails it
    ("continue", 100, "completed", 50.2, 1, 0, 1),  # ... or goes on: the marker, then completion
    ("fail", 10, "completed", 10.2, 1, 1, 1),  # the signal first (the timer was started all the same)
])
def test_human_step_raced_by_its_timer(tmp_path, on_timeout, delay_s, outcome, t_close, timers, signals, markers):
    r, w = run(scenario(tmp_path, [{"human": {"delay_s": FIXED(delay_s), "timeout_s": 50, "on_timeout": on_timeout}},
                                   {"marker": "approved"}]))
    assert w[outcome] == 1 and w["open_end"] == 0
    assert (w["decision_tasks"], w["timers"], w["signals"], w["markers"]) == (2, timers, signals, markers)
    assert w["execution_time_s"]["max"] == pytest.approx(t_close, abs=1e-9)


def test_schedule_to_close_timeout_running_then_queued_behind_its_own_first_attempt(tmp_path):
    """One worker, 10 s of work, ScheduleToClose 5 s, 2 attempts: attempt 1 starts at 0.1 and times
    out at 5.1 while running (the worker works on until 10.1); the decision (5.1-5.2) schedules
    attempt 2, which waits for the worker until 10.1 and times out running at 10.2; the last
    decision fails the execution at 10.3."""
    r, w = run(scenario(tmp_path, [{"activity": "a"}],
                        {"a": {"processing_ms": FIXED(10_000), "schedule_to_close_s": 5, "max_attempts": 2}}))
    a = w["activities"]["a"]
    assert (a["tasks"], a["completed"], a["failed"], a["timed_out"]) == (2, 0, 0, 2)
    assert (w["failed"], w["decision_tasks"]) == (1, 3)
    assert w["execution_time_s"]["max"] == pytest.approx(10.3, abs=1e-9)
    assert a["wait_ms"]["max"] == pytest.approx(4900.0, abs=1e-6)
    m = r.metrics.filter(r.metrics["metric"] == "StartedActivityTasksTimedOutOnClose")
    assert m["value"].sum() == 2


def test_execution_timeout_closes_whatever_it_waits_for(tmp_path):
    r, w = run(scenario(tmp_path, [{"timer_s": FIXED(100)}, {"marker": "late"}], execution_timeout_s=30))
    assert (w["timed_out"], w["completed"], w["open_end"], w["timers"], w["markers"]) == (1, 0, 0, 1, 0)
    assert w["execution_time_s"]["max"] == pytest.approx(30.0, abs=1e-9)
    assert r.metrics.filter(r.metrics["metric"] == "WorkflowsTimedOut")["value"].sum() == 1


def _busy(seed: int = 5, window_s="auto"):
    """A busy ten minutes: Poisson starts, random times, failures, ScheduleToClose, human steps
    raced by timers, an execution timeout, some left open at the end."""
    return {
        "name": "swf_busy", "duration_s": 600, "seed": seed,
        "swf_workflows": {"w": {
            "deciders": {"workers": 4, "decision_ms": {"dist": "exponential", "mean": 100}},
            "activities": {"a": {"workers": 3, "processing_ms": {"dist": "lognormal", "median": 800, "p99": 5000},
                                 "failure_rate": 0.2, "max_attempts": 3, "schedule_to_close_s": 4},
                           "b": {"workers": 1, "processing_ms": {"dist": "exponential", "mean": 250}}},
            "steps": [{"activity": "a"}, {"signal_s": {"dist": "exponential", "mean": 5}},
                      {"human": {"delay_s": {"dist": "exponential", "mean": 20}, "timeout_s": 25,
                                 "on_timeout": "continue"}},
                      {"marker": "m"}, {"timer_s": {"dist": "uniform", "low": 1, "high": 3}}, {"activity": "b"}],
            "execution_timeout_s": 45, "retention_days": 1}},
        "traffic": [{"name": "starts", "target": "swf_workflow:w", "arrivals": {"kind": "poisson", "rate_per_s": 1}}],
        "sim": {"window_s": window_s},
    }


def test_window_size_changes_nothing_and_executions_are_conserved():
    """The same scenario with windows of 0.01 s, 1 s, 60 s and auto: the same summary, metrics and
    bill, bit for bit; started = completed + failed + timed_out + open_end."""
    results = [simulate(_busy(window_s=w), progress=False) for w in (0.01, 1.0, 60.0, "auto")]
    first = results[0]
    w = first.summary["swf_workflows"]["w"]
    assert w["started"] > 500 and min(w["completed"], w["failed"], w["timed_out"], w["open_end"]) > 0
    assert w["started"] == w["completed"] + w["failed"] + w["timed_out"] + w["open_end"]
    for a in w["activities"].values():
        assert a["tasks"] >= a["completed"] + a["failed"] + a["timed_out"]
    for r in results[1:]:
        assert r.summary["swf_workflows"] == first.summary["swf_workflows"]
        assert r.summary["entry_points"] == first.summary["entry_points"]
        assert r.metrics.filter(r.metrics["namespace"] == "AWS/SWF").equals(
            first.metrics.filter(first.metrics["namespace"] == "AWS/SWF"))
        assert r.costs.equals(first.costs)


def test_workflow_days_and_the_bill_by_hand(tmp_path):
    """One execution started at t = 0 waits 30 h for its signal, then completes at 108,000.2 s
    (the first decision 0-0.1 s, the signal at 108,000.1 s, the last decision until 108,000.2 s): open 30 h, so its second 24 h
    (beginning at 24 h) is one workflow-day; retained 2 days from its close, both beginning within
    the 3-day run: 3 workflow-days. Bill at us-east-1 prices: 1 x $0.0001 + 1 signal x $0.000025 +
    2 decisions x $0.000025 + 3 x $0.000005 = $0.00019."""
    r, w = run(scenario(tmp_path, [{"signal_s": FIXED(108_000)}], duration_s=3 * 86_400.0, retention_days=2))
    assert (w["completed"], w["decision_tasks"], w["signals"]) == (1, 2, 1)
    assert (w["workflow_days_open"], w["workflow_days_retained"]) == (1, 2)
    c = costs(r)
    assert {k: v[0] for k, v in c.items()} == {"WorkflowExecutions": 1, "Tasks": 1, "DecisionTasks": 2,
                                               "WorkflowDays": 3}
    total = sum(Decimal(str(v[1])) for v in c.values())
    assert total == Decimal("0.00019")


def test_retention_beyond_the_run_is_not_billed(tmp_path):
    """Closed at 60.2 s with 90 days of retention, in a 2.5-day run: the retained days beginning at
    60.2 s, 1 day 60.2 s and 2 days 60.2 s are billed; the other 87 begin after the end."""
    r, w = run(scenario(tmp_path, [{"timer_s": FIXED(60)}], duration_s=2.5 * 86_400, retention_days=90))
    assert (w["workflow_days_open"], w["workflow_days_retained"]) == (0, 3)


def _govcloud_book():
    """us-east-1's book with AWS GovCloud (US)'s SWF prices (aws.amazon.com/govcloud-us/pricing/swf):
    $0.00012 per execution, $0.000030 per task, signal, timer or marker, $0.000006 per workflow-day."""
    book = yaml.safe_load((ROOT / "configs" / "pricing" / "us-east-1.yaml").read_text())
    swf = book["services"]["AmazonSWF"]
    for usage_type, usd in (("WorkflowExecutions", 0.00012), ("Tasks", 0.00003), ("DecisionTasks", 0.00003),
                            ("WorkflowDays", 0.000006)):
        swf[usage_type]["tiers"] = [{"up_to": None, "usd": usd}]
    return book


def test_aws_govcloud_worked_example_two_dollars_ten_a_day(tmp_path):
    """AWS's example: 10,000 executions a day of a workflow with three tasks (download, encode,
    store), each completing within 24 hours, cost $2.10 a day at GovCloud prices: $1.20 to start
    them and $0.90 for 30,000 tasks. Simulated: 10,000 starts in a day of a three-activity
    workflow; the executions and the (activity) tasks lines come to $2.10. Under our reading the
    40,000 decision tasks (4 per execution) add 40,000 x $0.00003 = $1.20 on their own line."""
    starts = tuple(i * 8.64 for i in range(10_000))
    sc = scenario(tmp_path, [{"activity": "download"}, {"activity": "encode"}, {"activity": "store"}],
                  {name: {"workers": 4, "processing_ms": FIXED(500)} for name in ("download", "encode", "store")},
                  starts=starts, duration_s=86_400.0)
    r = simulate(sc, progress=False, price_book=_govcloud_book())
    w = r.summary["swf_workflows"]["w"]
    assert (w["started"], w["completed"], w["activity_tasks"], w["decision_tasks"]) == (10_000, 10_000, 30_000, 40_000)
    c = costs(r)
    assert c["WorkflowExecutions"] == (10_000, 1.20) and c["Tasks"] == (30_000, 0.90)
    assert Decimal(str(c["WorkflowExecutions"][1])) + Decimal(str(c["Tasks"][1])) == Decimal("2.10")
    assert c["DecisionTasks"] == (40_000, 1.20) and c["WorkflowDays"] == (0, 0)


def test_free_tier_takes_its_allowances(tmp_path):
    """With billing.free_tier: 1,000 executions, 10,000 tasks (activity and decision together) and
    30,000 workflow-days a month are free; a 1-hour run of 10 executions is projected to 7,300 a
    month, so 6,300 are billed."""
    sc = scenario(tmp_path, [{"marker": "m"}], starts=tuple(float(i) for i in range(10)))
    sc["billing"] = {"free_tier": True}
    r = simulate(sc, progress=False)
    m = costs(r, "monthly")
    assert m["WorkflowExecutions"][0] == pytest.approx(7300)
    assert m["WorkflowExecutions"][1] == pytest.approx((7300 - 1000) * 0.0001)


@pytest.mark.slow
def test_activity_queue_against_mm1():
    """Poisson starts at λ = 0.5/s, instantaneous decisions on many deciders, one activity worker
    with exponential service at μ = 1/s: the activity task list is an M/M/1 queue, whose mean wait
    is ρ/(μ-λ) = 1 s. Over 12 seeded replications of 20,000 s (about 10,000 tasks each) the
    replications' mean waits give a 99 % t-interval that must hold 1 s."""
    lam, mu = 0.5, 1.0
    means = []
    for seed in range(12):
        sc = {"name": "mm1", "duration_s": 20_000, "seed": seed,
              "swf_workflows": {"w": {"deciders": {"workers": 1000, "decision_ms": FIXED(0)},
                                      "activities": {"a": {"workers": 1,
                                                           "processing_ms": {"dist": "exponential",
                                                                             "mean": 1000 / mu}}},
                                      "steps": [{"activity": "a"}]}},
              "traffic": [{"name": "starts", "target": "swf_workflow:w",
                           "arrivals": {"kind": "poisson", "rate_per_s": lam}}]}
        r = simulate(sc, progress=False)
        means.append(r.summary["swf_workflows"]["w"]["activities"]["a"]["wait_ms"]["mean"] / 1000.0)
    x = np.asarray(means)
    half = 3.106 * x.std(ddof=1) / math.sqrt(len(x))  # t(0.995, 11 degrees of freedom) = 3.106
    theory = (lam / mu) / (mu - lam)
    assert abs(x.mean() - theory) <= half, (x.mean(), half, theory)


def test_the_console_line(tmp_path):
    from sim.output.console import format_summary

    r, _ = run(scenario(tmp_path, [{"activity": "a"}], {"a": {"processing_ms": FIXED(1000)}}, starts=(0.0, 0.0)))
    line = next(x for x in format_summary(r.summary).splitlines() if x.startswith("swf workflow w:"))
    assert line == ("swf workflow w: 2 executions, 2 completed, 0 failed, 0 timed out, 0 open; 4 decision and 2"
                    " activity tasks; waits decision 25 ms, activity 450 ms; 1.7 s each on average")
