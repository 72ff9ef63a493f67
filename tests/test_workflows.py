"""Step Functions state machines through the whole simulator (ACCOUNT_SPEC.md §14,
sim/integration/workflows.py): scenarios from YAML, their summary and bill worked by hand from
the price book, the StartExecution quota against a plain token bucket, the same numbers whatever
the window, and the call graph's view of a machine."""

from __future__ import annotations

import math

import pytest

from scenarios import load_scenario
from scenarios.workflows import compile_machine
from sim.api import simulate
from sim.callgraph import expected_visits
from sim.integration.workflows import error_mask, quotas

MONTH_S = 730 * 3600  # the scenarios' default month (billing.month_h)


def scenario(machines, traffic, functions=None, duration_s=60.0, **extra):
    out = {"name": "wf", "duration_s": duration_s, "seed": 11, "functions": functions or {},
           "state_machines": machines, "traffic": traffic}
    out.update(extra)
    return out


def lam(name, **more):
    return {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": name},
            **more}


FIXED = {"memory_mb": 128, "duration_ms": {"dist": "fixed", "value": 100.0},
         "init_ms": {"dist": "fixed", "value": 0.0}}


def two_tasks(kind="STANDARD"):
    """Task a (100 ms) → Wait 2 s → Task b (100 ms) → Succeed: 4 transitions."""
    return {"type": kind, "definition": {"StartAt": "A", "States": {
        "A": lam("a", Next="W"), "W": {"Type": "Wait", "Seconds": 2, "Next": "B"},
        "B": lam("b", Next="Done"), "Done": {"Type": "Succeed"}}}}


def constant(target, rate, invocation="async", end_s=None):
    t = {"name": "clients", "target": target, "invocation": invocation,
         "arrivals": {"kind": "constant", "rate_per_s": rate}}
    if end_s is not None:
        t["end_s"] = end_s
    return [t]


def cost_rows(r, usage_type):
    c = r.costs.filter((r.costs["service"] == "AWSStepFunctions") & (r.costs["usage_type"] == usage_type)
                       & (r.costs["period"] == "simulated"))
    return float(c["usage_amount"].sum())


def test_a_standard_workflow_by_hand_and_its_bill():
    """2 executions a second for 50 s (100), each 4 transitions and 2.2 s plus two Lambda Task
    latencies (a STANDARD machine's: lognormal, median 142 ms, p99 313 ms, FACTS' measurement: σ =
    ln(313/142) / z₀.₉₉, mean 142·e^{σ²/2} ms each). Bill: 400
    transitions in 60 s is 400 × 43,800 = 17,520,000 a 730-hour month × $0.000025 = $438.00; with
    the free tier (4,000 a month) 17,516,000 × $0.000025 = $437.90."""
    sc = scenario({"orders": two_tasks()}, constant("state_machine:orders", 2.0, end_s=50.0),
                  functions={"a": FIXED, "b": FIXED})
    r = simulate(sc, progress=False)
    m = r.summary["state_machines"]["orders"]
    assert (m["started"], m["succeeded"], m["failed"], m["timed_out"], m["open_end"]) == (100, 100, 0, 0, 0)
    assert m["state_transitions"] == 400 and m["transitions_delayed"] == 0
    sigma = math.log(313.0 / 142.0) / 2.3263478740408408
    mean_lat = 142.0 * math.exp(sigma**2 / 2)
    sd_lat = mean_lat * math.sqrt(math.exp(sigma**2) - 1)
    # the mean of 100 executions' two latencies: within 5 standard errors of its expectation
    assert abs(m["execution_time_ms"]["mean"] - (2200.0 + 2 * mean_lat)) < 5 * math.sqrt(2) * sd_lat / 10
    assert cost_rows(r, "StateTransition") == 400
    assert r.summary["cost_usd"]["by_service"]["AWSStepFunctions"]["monthly"] == 438.00
    sc["billing"] = {"free_tier": True}
    free = simulate(sc, progress=False).summary["cost_usd"]["by_service"]["AWSStepFunctions"]
    assert free["monthly"] == 437.90
    calls = r.summary["calls"]
    assert calls["state_machine:orders/A → function:a"]["made"] == 100
    assert calls["state_machine:orders/B → function:b"]["ok"] == 100
    assert r.summary["functions"]["a"]["invocations"] == 100


def test_an_express_workflow_bill_by_hand():
    """90 Express executions of a 10 s Wait at 64 MB: 100 steps of 100 ms × 1 chunk each, 9,000
    units of 1/160 GB-s = 56.25 GB-s = 0.015625 GB-h in 60 s. A 730-hour month (× 43,800):
    3,942,000 requests × $1 per million = $3.942 → $3.94; 684.375 GB-h × $0.06 (the first 1,000
    GB-h) = $41.0625 → $41.06. AWS's own example (100 M executions of 10 s at 64 MB, $100.00 +
    $382.97) is checked on the price book in tests/test_stepfunctions_units.py."""
    wait = {"type": "EXPRESS", "memory_mb": 64, "definition": {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 10, "End": True}}}}
    r = simulate(scenario({"w": wait}, constant("state_machine:w", 2.0, end_s=45.0)), progress=False)
    m = r.summary["state_machines"]["w"]
    assert (m["started"], m["succeeded"], m["express_billing_units"]) == (90, 90, 9_000)
    assert m["execution_time_ms"]["mean"] == m["execution_time_ms"]["max"] == 10_000.0
    assert cost_rows(r, "Express-Requests") == 90
    assert cost_rows(r, "Express-GB-Hours") == pytest.approx(56.25 / 3600, rel=1e-12)
    assert cost_rows(r, "StateTransition") == 0
    assert r.summary["cost_usd"]["by_service"]["AWSStepFunctions"]["monthly"] == round(3.94 + 41.06, 2)


@pytest.mark.parametrize("kind, rate, duration", [("STANDARD", 500.0, 10.0), ("EXPRESS", 20_000.0, 1.0)])
def test_start_execution_quota_against_a_plain_token_bucket(kind, rate, duration):
    """Evenly spaced starts at `rate` a second against the StartExecution bucket of us-east-1
    (FACTS: Standard 1,300 refilled at 300/s, Express 6,000 at 6,000/s): the refusals are exactly
    a plain token bucket's over the same times."""
    sm = {"type": kind, "definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}
    r = simulate(scenario({"p": sm}, constant("state_machine:p", rate, end_s=duration), duration_s=duration + 1),
                 progress=False)
    q = quotas("us-east-1")
    fill, burst = (q[0], q[1]) if kind == "STANDARD" else (q[2], q[3])
    tokens, last, refused = burst, 0.0, 0
    n = int(round(rate * duration))
    for i in range(n):
        t = i / rate
        tokens = min(burst, tokens + fill * (t - last))
        last = t
        if tokens < 1.0:
            refused += 1
        else:
            tokens -= 1.0
    m = r.summary["state_machines"]["p"]
    assert m["throttled"] == refused > 0
    assert m["started"] == n - refused
    ep = r.entry_points["clients"]
    assert (ep["requests"], ep["throttled"], ep["succeeded"]) == (n, refused, n - refused)


def rich(kind="STANDARD"):
    """A workflow with a Choice, a Retry with FULL jitter, a Catch, a Parallel, a Map and a Wait
    drawn from a distribution."""
    definition = {"StartAt": "Check", "States": {
        "Check": lam("check", Next="Route", Retry=[{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 1,
                                                      "MaxAttempts": 3, "BackoffRate": 2.0, "JitterStrategy": "FULL"}],
                     Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Failed"}]),
        "Route": {"Type": "Choice", "Choices": [{"Variable": "$.big", "BooleanEquals": True, "Next": "Fan"}],
                  "Default": "Items"},
        "Fan": {"Type": "Parallel", "Next": "Done", "Branches": [
            {"StartAt": "Ship", "States": {"Ship": lam("ship", End=True)}},
            {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "SecondsPath": "$.hold", "End": True}}}]},
        "Items": {"Type": "Map", "MaxConcurrency": 3, "Next": "Done", "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Each", "States": {"Each": lam("ship", End=True)}}},
        "Done": {"Type": "Succeed"}, "Failed": {"Type": "Fail", "Error": "CheckFailed"}}}
    return {"type": kind, "definition": definition, "choices": {"Route": {"Fan": 0.3}},
            "map_items": {"Items": {"dist": "uniform", "low": 0, "high": 8}},
            "waits_s": {"Hold": {"dist": "exponential", "mean": 1.5}}}


def rich_scenario(kind="STANDARD", window=None):
    fns = {"check": {"memory_mb": 256, "duration_ms": {"dist": "lognormal", "median": 30, "p99": 150},
                     "error_rate": 0.2},
           "ship": {"memory_mb": 512, "duration_ms": {"dist": "lognormal", "median": 80, "p99": 400},
                    "reserved_concurrency": 5}}
    extra = {} if window is None else {"sim": {"window_s": window}}
    return scenario({"orders": rich(kind)}, constant("state_machine:orders", 30.0,
                                                    "sync" if kind == "EXPRESS" else "async"),
                    functions=fns, duration_s=30.0, **extra)


@pytest.mark.parametrize("kind", ["STANDARD", "EXPRESS"])
def test_the_same_numbers_whatever_the_window(kind):
    """Executions, transitions, calls, functions and the bill are the same, bit for bit, at windows
    of 0.01 s, 1 s, 60 s and the engine's own choice; conservation holds."""
    base = simulate(rich_scenario(kind), progress=False).summary
    m = base["state_machines"]["orders"]
    assert m["started"] == m["succeeded"] + m["failed"] + m["timed_out"] + m["open_end"]
    assert m["failed"] > 0 and m["succeeded"] > 0
    for call in base["calls"].values():
        assert call["made"] == call["ok"] + call["failed"] + call["abandoned"] + call["in_flight_end"]
        assert call["attempts"] == call["made"] + call["retries"]
    for window in (0.01, 1.0, 60.0):
        other = simulate(rich_scenario(kind, window), progress=False).summary
        for section in ("state_machines", "calls", "functions", "cost_usd", "entry_points"):
            assert other[section] == base[section], (window, section)


def test_error_names_as_masks():
    from kernels import account as A

    assert error_mask(["States.ALL"]) == A.ERR_ALL
    assert error_mask(["States.TaskFailed"]) & A.ERR_TIMEOUT == 0
    assert error_mask(["States.Timeout"]) == A.ERR_TIMEOUT
    assert error_mask(["Lambda.TooManyRequestsException"]) == A.ERR_LAMBDA_THROTTLED
    assert error_mask(["DynamoDB.ProvisionedThroughputExceededException"]) == A.ERR_LAMBDA_THROTTLED | A.ERR_THROTTLED
    assert error_mask(["PaymentDeclined"]) == A.ERR_FUNCTION
    assert error_mask(["States.Permissions", "Lambda.ServiceException"]) == 0


def test_expected_visits_by_hand():
    """Check (1) → Route (1) → Fan 0.3 [Ship 0.3, Hold 0.3] | Items 0.7 [Each 0.7 × 4] → Done 1."""
    sc = load_scenario(rich_scenario())
    mc = compile_machine("orders", sc.state_machines["orders"], sc)
    rows, visits, radius = expected_visits(mc)
    got = {mc.scopes[s].states[j].name: round(float(v), 12) for (s, j), v in zip(rows, visits)}
    assert got == {"Check": 1.0, "Route": 1.0, "Fan": 0.3, "Items": 0.7, "Done": 1.0, "Failed": 0.0,
                   "Ship": 0.3, "Hold": 0.3, "Each": 2.8}
    assert radius == pytest.approx(0.0, abs=1e-12)


def test_order_workflow_scenario_as_its_comments_say():
    """configs/scenario/order_workflow.yaml: the same order workflow as STANDARD and as EXPRESS, 40
    orders a second each for 600 s. About 10 % out of stock (the Choice's Default), within 5 binomial
    standard deviations (the Catch adds the few orders whose payment fails three times: 0.05³);
    the Retry on Charge retries about 5 % of charges; Standard's month dwarfs Express's, and the
    report's Step Functions section shows both."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    r = simulate(root / "configs" / "scenario" / "order_workflow.yaml", progress=False)
    s = r.summary["state_machines"]
    for name in ("orders_standard", "orders_express"):
        m = s[name]
        n = m["started"]
        assert abs(n - 40 * 600) < 5 * math.sqrt(40 * 600)  # Poisson
        assert n == m["succeeded"] + m["failed"] + m["timed_out"] + m["open_end"]
        assert abs(m["failed"] - 0.1 * n) < 5 * math.sqrt(n * 0.1 * 0.9) + 10
        charge = r.summary["calls"][f"state_machine:{name}/Charge → function:charge"]
        assert abs(charge["retries"] - 0.05 * charge["made"]) < 5 * math.sqrt(charge["made"] * 0.05) + 5
        assert m["throttled"] == 0 and m["timed_out"] == 0
    assert s["orders_express"]["express_billing_units"] > 0 and s["orders_standard"]["express_billing_units"] == 0
    month = r.costs.filter((r.costs["period"] == "monthly") & (r.costs["service"] == "AWSStepFunctions"))
    by = {res: float(month.filter(month["resource"] == res)["unblended_cost_usd"].sum())
          for res in ("state_machine:orders_standard", "state_machine:orders_express")}
    assert by["state_machine:orders_standard"] > 50 * by["state_machine:orders_express"] > 0
    assert r.summary["functions"]["notify"]["invocations"] > 0  # the SQS service integration's messages


def test_an_api_route_starts_executions():
    """An HTTP API's routes integrate an EXPRESS machine (StartSyncExecution: the client waits for the
    execution, a Wait of 1 s) and a STANDARD one (StartExecution: answered once started)."""
    wait = lambda kind: {"type": kind, "definition": {"StartAt": "W", "States": {  # noqa: E731
        "W": {"Type": "Wait", "Seconds": 1, "End": True}}}}
    sc = scenario({"quick": wait("EXPRESS"), "slow": wait("STANDARD")}, [
        {"name": "sync", "target": "api:shop/POST /quick", "arrivals": {"kind": "constant", "rate_per_s": 10}},
        {"name": "async", "target": "api:shop/POST /slow", "arrivals": {"kind": "constant", "rate_per_s": 10}}],
        duration_s=20.0, apis={"shop": {"routes": {"POST /quick": {"integration": "state_machine:quick"},
                                                    "POST /slow": {"integration": "state_machine:slow"}}}})
    r = simulate(sc, progress=False)
    quick, slow = r.summary["apis"]["shop POST /quick"], r.summary["apis"]["shop POST /slow"]
    assert quick["requests"] == slow["requests"] == 200
    assert quick["status_2xx"] + quick["in_flight_end"] == 200 and slow["status_2xx"] == 200
    # the gateway's 10 ms overhead on top of the execution (1 s) or of the start (at once)
    assert quick["latency_ms_mean"] == pytest.approx(1010.0, abs=1e-6)
    assert slow["latency_ms_mean"] == pytest.approx(10.0, abs=1e-6)
    s = r.summary["state_machines"]
    assert s["quick"]["started"] == s["slow"]["started"] == 200


def test_traces_of_executions():
    """Sampled traces: the client's StartExecution (root), the execution's SERVER span under it, each
    Task's CLIENT span under the execution (caller: the machine), the function's SERVER span under
    its Task."""
    import json

    sc = scenario({"orders": two_tasks()}, constant("state_machine:orders", 2.0, end_s=10.0),
                  functions={"a": FIXED, "b": FIXED}, duration_s=20.0, record={"traces": {"sample": 1.0}})
    spans = simulate(sc, progress=False).traces
    assert spans is not None and spans.height == 20 * 6  # 20 executions: root, execution, 2 Tasks, 2 invocations
    for _, trace in spans.group_by("trace_id"):
        by_id = {r["span_id"]: r for r in trace.iter_rows(named=True)}
        kinds = sorted((r["name"], r["kind"]) for r in by_id.values())
        assert kinds == [("a invoke", "SERVER"), ("a lambda.Invoke", "CLIENT"), ("b invoke", "SERVER"),
                         ("b lambda.Invoke", "CLIENT"), ("orders execute", "SERVER"),
                         ("orders states.StartExecution", "CLIENT")]
        parent = {r["name"]: by_id[r["parent_span_id"]]["name"] if r["parent_span_id"] is not None else None
                  for r in by_id.values()}
        assert parent == {"orders states.StartExecution": None, "orders execute": "orders states.StartExecution",
                          "a lambda.Invoke": "orders execute", "b lambda.Invoke": "orders execute",
                          "a invoke": "a lambda.Invoke", "b invoke": "b lambda.Invoke"}
        task = next(r for r in by_id.values() if r["name"] == "a lambda.Invoke")
        assert json.loads(task["attributes"])["caller"] == "state_machine:orders"


def test_service_integrations_callbacks_and_child_executions():
    """Tasks of every kind in one STANDARD machine: DynamoDB PutItem and GetItem, SNS Publish (to a
    queue a function reads), EventBridge PutEvents (to a bus; a bus's rule starting a machine is in
    tests/test_workflow_kernel.py), an SQS
    SendMessage waiting for its task token (a callback 2 s later, a tenth of them SendTaskFailure,
    caught), and a child execution it waits for (states:startExecution.sync). Everything each
    execution makes is counted where it lands."""
    child = {"type": "STANDARD", "definition": {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1,
                                                                                  "End": True}}}}
    main = {"type": "STANDARD", "callbacks_ms": {"Approve": {"dist": "fixed", "value": 2000}},
            "callback_failure_rate": {"Approve": 0.1},
            "definition": {"StartAt": "Put", "States": {
                "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                        "Parameters": {"TableName": "orders", "Item": {}}, "Next": "Get"},
                "Get": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
                        "Parameters": {"TableName": "orders", "Key": {}}, "Next": "Tell"},
                "Tell": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                         "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:news", "Message": "x"},
                         "Next": "Emit"},
                "Emit": {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
                         "Parameters": {"Entries": [{"EventBusName": "bus", "Source": "shop", "DetailType": "order",
                                                     "Detail": {}}]}, "Next": "Approve"},
                "Approve": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                            "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/approvals",
                                           "MessageBody": {"token.$": "$$.Task.Token"}},
                            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Rejected"}], "Next": "Child"},
                "Child": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                          "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:child"},
                          "End": True},
                "Rejected": {"Type": "Fail", "Error": "Rejected"}}}}
    sc = scenario({"main": main, "child": child}, constant("state_machine:main", 5.0, end_s=40.0),
                  functions={"reader": FIXED}, duration_s=60.0,
                  tables={"orders": {}}, queues={"inbox": {}, "approvals": {}},
                  topics={"news": {"subscriptions": [{"protocol": "sqs", "endpoint": "inbox"}]}},
                  buses={"bus": {"rules": {"none": {"event_pattern": {"source": ["elsewhere"]},
                                                    "targets": [{"target": "queue:inbox"}]}}}},
                  event_source_mappings=[{"source": "inbox", "function": "reader"}],
                  worker_fleets={"clerks": {"queue": "approvals", "workers": 1,
                                            "processing_ms": {"dist": "fixed", "value": 1}}})
    r = simulate(sc, progress=False)
    s = r.summary
    m = s["state_machines"]["main"]
    assert (m["started"], m["timed_out"], m["open_end"]) == (200, 0, 0)
    assert abs(m["failed"] - 20) < 5 * math.sqrt(200 * 0.1 * 0.9)  # SendTaskFailure, caught into Rejected
    assert s["state_machines"]["child"]["started"] == m["succeeded"]  # each approved order waits for its child
    assert s["buses"]["bus"]["put"] == 200
    assert s["tables"]["orders"]["requests"] == 400
    assert s["functions"]["reader"]["invocations"] >= 1 and s["queues"]["inbox"]["sent"] == 200
    calls = s["calls"]
    assert calls["state_machine:main/Approve → queue:approvals"]["ok"] == m["succeeded"]
    assert calls["state_machine:main/Approve → queue:approvals"]["failed"] == m["failed"]
    # an approved execution: the callback's 2 s, the child's 1 s Wait, and the API latencies
    assert 3000.0 < m["execution_time_ms"]["max"] < 3000.0 + 6 * 200.0
