"""Settings a combination would ignore are errors; values past AWS's quotas are refused or warned about; numpy values are numbers."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from scenarios import ScenarioError, load_scenario
from scenarios.crosscheck import check_references, quota_warnings
from scenarios.errors import Problems

BASE = {
    "name": "ignored",
    "duration_s": 60,
    "functions": {"worker": {"timeout_s": 10}, "other": {}},
    "queues": {"orders": {"visibility_timeout_s": 60}, "jobs.fifo": {"type": "fifo", "visibility_timeout_s": 60}},
    "event_source_mappings": [{"source": "orders", "function": "worker"}],
    "topics": {"events": {"subscriptions": [{"protocol": "sqs", "endpoint": "orders"}]},
               "events.fifo": {"type": "fifo", "subscriptions": [{"protocol": "sqs", "endpoint": "jobs.fifo"}]}},
    "buses": {"bus": {"rules": {"r": {"event_pattern": {"source": ["x"]}, "targets": [{"target": "queue:orders"}]}}}},
    "traffic": [{"name": "t", "target": "function:worker", "arrivals": {"kind": "poisson", "rate_per_s": 1}}],
}
BUS_EVENTS = [{"event": {"source": "x"}}]


def with_traffic(**fields) -> dict:
    data = copy.deepcopy(BASE)
    data["traffic"][0].update(fields)
    if data["traffic"][0]["target"].startswith("bus:"):
        data["traffic"][0].setdefault("events", BUS_EVENTS)
    return data


def with_(path: tuple, value) -> dict:
    data = copy.deepcopy(BASE)
    node = data
    for k in path[:-1]:
        node = node.setdefault(k, {}) if isinstance(node, dict) else node[k]
    node[path[-1]] = value
    return data


def trace(tmp_path) -> str:
    (tmp_path / "t.csv").write_text("t_s,d_ms\n1,10\n2,20\n")
    return str(tmp_path / "t.csv")


RETRIES = {"max_attempts": 3}
T = "traffic[0]"
CASES = [
    ("async-to-queue", lambda p: with_traffic(target="queue:orders", invocation="async"), f"{T}.invocation",
     ["async applies to function and state machine targets only", "queue target 'orders'", "remove `invocation`"]),
    ("async-to-topic", lambda p: with_traffic(target="topic:events", invocation="async"), f"{T}.invocation",
     ["function and state machine targets only", "topic target 'events'"]),
    ("async-to-bus", lambda p: with_traffic(target="bus:bus", invocation="async"), f"{T}.invocation",
     ["function and state machine targets only", "bus target 'bus'"]),
    ("retries-to-queue", lambda p: with_traffic(target="queue:orders", retries=RETRIES), f"{T}.retries",
     ["client retries (max_attempts)", "queue target", "would be ignored", "remove `retries`"]),
    ("retries-to-topic", lambda p: with_traffic(target="topic:events", retries={"base_delay_s": 1.0}), f"{T}.retries",
     ["(base_delay_s)", "topic target"]),
    ("retries-to-bus", lambda p: with_traffic(target="bus:bus", retries={"jitter": "none"}), f"{T}.retries",
     ["(jitter)", "bus target"]),
    ("retries-on-async", lambda p: with_traffic(invocation="async", retries=RETRIES), f"{T}.retries",
     ["apply to synchronous calls", "functions.worker.async_invoke.max_retry_attempts"]),
    ("retry-shape-without-attempts", lambda p: with_traffic(retries={"base_delay_s": 0.5, "max_delay_s": 5}),
     f"{T}.retries", ["base_delay_s, max_delay_s", "max_attempts 1 allows none"]),
    ("groups-standard-queue", lambda p: with_traffic(target="queue:orders", message={"groups": 4}),
     f"{T}.message.groups", ["4 message groups", "FIFO queues and topics only", "queue target 'orders'"]),
    ("groups-standard-topic", lambda p: with_traffic(target="topic:events", message={"groups": 2}),
     f"{T}.message.groups", ["FIFO queues and topics only", "topic target 'events'"]),
    ("groups-function", lambda p: with_traffic(message={"groups": 2}), f"{T}.message.groups",
     ["function target 'worker'"]),
    ("groups-bus", lambda p: with_traffic(target="bus:bus", message={"groups": 2}), f"{T}.message.groups",
     ["bus target 'bus'"]),
    ("duration-column-queue", lambda p: with_traffic(target="queue:orders", arrivals={
        "kind": "trace", "file": trace(p), "duration_column": "d_ms"}), f"{T}.arrivals.duration_column",
     ["function targets only", "remove `duration_column`"]),
    ("duration-column-topic", lambda p: with_traffic(target="topic:events", arrivals={
        "kind": "trace", "file": trace(p), "duration_column": "d_ms"}), f"{T}.arrivals.duration_column",
     ["function targets only"]),
    ("attributes-function", lambda p: with_traffic(message={"attributes": {"k": {"a": 1.0}}}),
     f"{T}.message.attributes", ["a function invocation carries none", "send to a topic"]),
    ("attributes-queue", lambda p: with_traffic(target="queue:orders", message={"attributes": {"k": {"a": 1.0}}}),
     f"{T}.message.attributes", ["nothing filters messages on a queue"]),
    ("events-not-bus", lambda p: with_traffic(target="queue:orders", events=BUS_EVENTS), f"{T}.events",
     ["bus targets only"]),
    ("async-invoke-no-caller", lambda p: with_(("functions", "other", "async_invoke"), {"max_retry_attempts": 0}),
     "functions.other.async_invoke", ["max_retry_attempts", "nothing invokes 'other' asynchronously"]),
    ("async-invoke-sync-caller", lambda p: with_(("functions", "worker", "async_invoke"),
                                                 {"max_event_age_s": 600, "on_failure": "queue:orders"}),
     "functions.worker.async_invoke", ["max_event_age_s, on_failure", "asynchronously"]),
    ("item-failures-unreported", lambda p: with_(("event_source_mappings", 0, "item_failure_rate"), 0.1),
     "event_source_mappings[0].item_failure_rate", ["report_batch_item_failures", "would be ignored"]),
    ("scope-without-policy", lambda p: with_(("topics", "events", "subscriptions", 0, "filter_policy_scope"),
                                             "MessageBody"),
     "topics.events.subscriptions[0].filter_policy_scope", ["has none", "add a filter_policy"]),
    ("delivery-policy-sqs", lambda p: with_(("topics", "events", "subscriptions", 0, "delivery_policy"), {}),
     "topics.events.subscriptions[0].delivery_policy", ["https subscriptions only"]),
]


@pytest.mark.parametrize("make, where, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_ignored_settings_are_errors(tmp_path, make, where, words):
    with pytest.raises(ScenarioError) as e:
        load_scenario(make(tmp_path), base_dir=tmp_path)
    found = e.value.problems
    assert [p for p, _ in found] == [where], found
    for w in words:
        assert w in found[0][1], (w, found[0][1])


def test_one_message_per_place():
    # a range mistake inside retries is reported alone, not also as "ignored"
    with pytest.raises(ScenarioError) as e:
        load_scenario(with_traffic(target="queue:orders", retries={"max_attempts": 0}))
    assert [p for p, _ in e.value.problems] == [f"{T}.retries.max_attempts"]


@pytest.mark.parametrize("make", [
    lambda p: with_traffic(retries={"max_attempts": 3, "base_delay_s": 0.2}),  # sync function: used
    lambda p: with_traffic(target="queue:jobs.fifo", message={"groups": 8}),
    lambda p: with_traffic(target="topic:events.fifo", message={"groups": 8}),
    lambda p: with_traffic(target="topic:events", message={"attributes": {"k": {"a": 0.5, "b": 0.5}}}),
    lambda p: with_traffic(target="bus:bus"),
    lambda p: with_traffic(arrivals={"kind": "trace", "file": trace(p), "duration_column": "d_ms"}),
    lambda p: with_traffic(target="queue:orders", invocation="sync"),  # the default, written out
    lambda p: {**with_traffic(invocation="async"),
               "functions": {"worker": {"async_invoke": {"max_retry_attempts": 0}}, "other": {}}},
    lambda p: with_(("topics", "events", "subscriptions"),
                    [{"protocol": "sqs", "endpoint": "orders"},
                     {"protocol": "lambda", "endpoint": "other"}]) | {
        "functions": {"worker": {"timeout_s": 10}, "other": {"async_invoke": {"max_event_age_s": 120}}}},
    lambda p: with_(("event_source_mappings", 0), {"source": "orders", "function": "worker",
                                                   "report_batch_item_failures": True, "item_failure_rate": 0.1}),
    lambda p: with_(("topics", "events", "subscriptions", 0),
                    {"protocol": "sqs", "endpoint": "orders", "filter_policy": {"k": ["a"]},
                     "filter_policy_scope": "MessageBody"}),
], ids=["sync-retries", "fifo-queue-groups", "fifo-topic-groups", "topic-attributes", "bus-events",
        "function-trace-durations", "sync-written-out", "async-invoke-async-traffic", "async-invoke-sns-lambda",
        "reported-item-failures", "scope-with-policy"])
def test_settings_that_apply_are_accepted(tmp_path, make):
    load_scenario(make(tmp_path), base_dir=tmp_path)


# --- quotas --------------------------------------------------------------------------------

QUOTAS = [
    ("account-concurrency", ("account", "concurrency_limit"), 10**8, "account.concurrency_limit",
     ["above the ceiling 100000", "tens of thousands", "gettingstarted-limits"]),
    ("provisioned", ("functions", "worker", "provisioned_concurrency"), 50_000_000,
     "functions.worker.provisioned_concurrency", ["above the ceiling 100000"]),
    ("provisioned-step", ("functions", "worker", "provisioned_schedule"), [{"at_s": 0, "count": 50_000_000}],
     "functions.worker.provisioned_schedule[0].count", ["above the ceiling 100000"]),
    ("reserved", ("functions", "worker", "reserved_concurrency"), 200_000,
     "functions.worker.reserved_concurrency", ["above the ceiling 100000"]),
    ("scaling-burst", ("account", "scaling_burst"), 10**7, "account.scaling_burst", ["could never be used"]),
    ("scaling-refill", ("account", "scaling_refill_per_s"), 1e9, "account.scaling_refill_per_s",
     ["above the ceiling 100000 per s"]),
    ("min-unreserved-above-limit", ("account", "min_unreserved_concurrency"), 2000,
     "account.min_unreserved_concurrency", ["above the account's concurrency_limit 1000"]),
    ("threads", ("functions", "worker", "cpu_scaling"), {"max_threads": 64},
     "functions.worker.cpu_scaling.max_threads", ["6 vCPUs"]),
    ("month-h", ("billing", "month_h"), 1e300, "billing.month_h", ["ceiling 8784 h", "leap year"]),
    ("seed", ("seed",), 2**64, "seed", ["64-bit"]),
    ("client-attempts", ("traffic", 0, "retries"), {"max_attempts": 10**6}, f"{T}.retries.max_attempts",
     ["ceiling 100", "AWS SDKs default to 3"]),
    ("groups", ("traffic", 0, "message"), {"groups": 10**7}, f"{T}.message.groups", ["ceiling 100000"]),
    ("fleet-workers", ("worker_fleets",), {"fleet": {"queue": "orders", "workers": 10**7}},
     "worker_fleets.fleet.workers", ["ceiling 100000"]),
    ("sns-no-delay-retries", ("topics", "events", "subscriptions"),
     [{"protocol": "https", "endpoint": "https://example.com", "delivery_policy": {"num_no_delay_retries": 500}}],
     "topics.events.subscriptions[0].delivery_policy.num_no_delay_retries", ["above the maximum 100"]),
]


@pytest.mark.parametrize("path, value, where, words", [c[1:] for c in QUOTAS], ids=[c[0] for c in QUOTAS])
def test_values_past_aws_quotas_are_refused(path, value, where, words):
    with pytest.raises(ScenarioError) as e:
        load_scenario(with_(path, value))
    found = e.value.problems
    assert [p for p, _ in found] == [where], found
    for w in words:
        assert w in found[0][1], (w, found[0][1])


def test_quotas_granted_on_request_are_warnings():
    data = with_(("account",), {"concurrency_limit": 50_000, "min_unreserved_concurrency": 0})
    data["buses"]["bus"]["put_events_per_s"] = 50_000
    s = load_scenario(data)  # allowed
    warned = dict(quota_warnings(s))
    assert set(warned) == {"account.concurrency_limit", "account.min_unreserved_concurrency",
                           "buses.bus.put_events_per_s"}
    assert "only on request" in warned["account.concurrency_limit"]
    assert "10,000 per s" in warned["buses.bus.put_events_per_s"]
    problems = Problems()
    check_references(s, problems)
    assert problems.items == [] and dict(problems.warnings) == warned
    assert quota_warnings(load_scenario(BASE)) == []


# --- the Python API: numpy values ----------------------------------------------------------


def test_numpy_scalars_are_the_numbers_they_hold():
    data = copy.deepcopy(BASE)
    data["duration_s"] = np.float64(120)
    data["seed"] = np.uint32(7)
    data["functions"]["worker"] = {"memory_mb": np.int64(256), "timeout_s": np.float32(2.5),
                                   "error_rate": np.float64(0.5), "reserved_concurrency": np.int16(5)}
    data["record"] = {"report": np.bool_(False), "requests": {"sample": np.float64(0.25)}}
    data["traffic"][0]["arrivals"] = {"kind": "steps", "steps": [{"at_s": np.int64(0), "rate_per_s": np.float64(3)}]}
    s = load_scenario(data)
    fn = s.functions["worker"]
    assert (fn.memory_mb, fn.timeout_s, fn.error_rate, fn.reserved_concurrency) == (256, 2.5, 0.5, 5)
    assert type(fn.memory_mb) is int and type(fn.timeout_s) is float and type(s.seed) is int
    assert s.record.report is False and s.duration_s == 120.0 and s.record.requests.sample == 0.25


def test_numpy_arrays_are_lists():
    data = copy.deepcopy(BASE)
    data["traffic"][0]["arrivals"] = {"kind": "steps", "steps": np.array([{"at_s": 0, "rate_per_s": 1},
                                                                          {"at_s": 5, "rate_per_s": 2}])}
    s = load_scenario(data)
    assert [(st.at_s, st.rate_per_s) for st in s.traffic[0].arrivals.steps] == [(0.0, 1.0), (5.0, 2.0)]


@pytest.mark.parametrize("field, value, words", [
    ("memory_mb", np.float64(256.5), "expected an integer, got 256.5, which is not a whole number"),
    ("timeout_s", np.float64("nan"), "expected a number, got nan; numbers must be finite"),
    ("timeout_s", np.bool_(True), "expected a number, got true (a boolean)"),
    ("memory_mb", np.int64(64), "64 is below the minimum 128"),
    ("timeout_s", 10**400, "expected a number, got 1000"),
])
def test_numpy_mistakes_read_like_plain_ones(field, value, words):
    data = copy.deepcopy(BASE)
    data["functions"]["worker"][field] = value
    with pytest.raises(ScenarioError) as e:
        load_scenario(data)
    assert [p for p, _ in e.value.problems] == [f"functions.worker.{field}"]
    assert words in e.value.problems[0][1]
