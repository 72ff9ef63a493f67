"""Messaging sections of the scenario: every class of mistake is caught at build time with its YAML path."""

from __future__ import annotations

import copy

import pytest

from scenarios import ScenarioError, load_scenario
from sim import simulate

BASE = {
    "name": "m",
    "duration_s": 60,
    "functions": {"worker": {"timeout_s": 10}},
    "queues": {"orders": {"visibility_timeout_s": 60, "max_receive_count": 3, "dead_letter_queue": "dlq"},
               "dlq": {}, "jobs.fifo": {"type": "fifo"}},
    "event_source_mappings": [{"source": "orders", "function": "worker"}],
    "worker_fleets": {"fleet": {"queue": "orders", "workers": 2}},
    "topics": {"events": {"subscriptions": [{"protocol": "sqs", "endpoint": "orders",
                                             "filter_policy": {"kind": ["a"]}}]}},
    "buses": {"bus": {"rules": {"r": {"event_pattern": {"source": ["x"]},
                                      "targets": [{"target": "queue:orders"}]}}}},
    "traffic": [{"name": "t", "target": "topic:events", "arrivals": {"kind": "poisson", "rate_per_s": 1},
                 "message": {"attributes": {"kind": {"a": 0.5, "b": 0.5}}}}],
}


def with_(path, value):
    data = copy.deepcopy(BASE)
    node = data
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return data


def problems(data):
    with pytest.raises(ScenarioError) as e:
        load_scenario(data)
    return e.value.problems


def test_base_is_valid():
    s = load_scenario(BASE)
    assert s.queues["orders"].dead_letter_queue == "dlq"
    assert s.event_source_mappings[0].batch_size == 10  # AWS default
    assert s.topics["events"].subscriptions[0].filter_policy == {"kind": ["a"]}


CASES = [
    (("queues", "orders", "visibility_timeout_s"), 50_000,
     "queues.orders.visibility_timeout_s", "50000 is above the maximum 43200 (allowed 0-43200 s)"),
    (("queues", "orders", "dead_letter_queue"), "dql",
     "queues.orders.dead_letter_queue", "queue 'dql' is not defined (did you mean 'dlq'?); defined queues: orders, dlq, jobs.fifo"),
    (("queues", "orders", "dead_letter_queue"), "orders",
     "queues.orders.dead_letter_queue", "a queue cannot be its own dead-letter queue"),
    (("queues", "orders", "dead_letter_queue"), "jobs.fifo",
     "queues.orders.dead_letter_queue", "standard queue 'orders' needs a standard dead-letter queue; 'jobs.fifo' is fifo"),
    (("queues", "orders", "type"), "FIFO", "queues.orders.type", "'FIFO' is not a valid type"),
    (("event_source_mappings",), [{"source": "ordres", "function": "worker"}],
     "event_source_mappings[0].source", "queue 'ordres' is not defined (did you mean 'orders'?)"),
    (("event_source_mappings",), [{"source": "orders", "function": "worker", "batch_size": 100}],
     "event_source_mappings[0].batching_window_s", "a batch_size above 10 needs a batching window of at least 1 s"),
    (("event_source_mappings",), [{"source": "jobs.fifo", "function": "worker", "batch_size": 20}],
     "event_source_mappings[0].batch_size", "20 is above 10, the maximum for a FIFO queue"),
    (("event_source_mappings",), [{"source": "orders", "function": "worker", "max_concurrency": 1}],
     "event_source_mappings[0].max_concurrency", "1 is below the minimum 2 (allowed 2-1000)"),
    (("functions", "worker", "timeout_s"), 120,
     "event_source_mappings[0].source", "below the timeout of function 'worker' (120 s); Lambda refuses such a mapping"),
    (("worker_fleets", "fleet", "max_messages"), 11, "worker_fleets.fleet.max_messages", "11 is above the maximum 10"),
    (("worker_fleets", "fleet", "queue"), "nope", "worker_fleets.fleet.queue", "queue 'nope' is not defined"),
    (("topics", "events", "subscriptions"), [{"protocol": "sqs", "endpoint": "jobs.fifo"}],
     "topics.events.subscriptions[0].endpoint", "a standard topic cannot deliver to FIFO queue 'jobs.fifo'"),
    (("topics", "events", "subscriptions"), [{"protocol": "lambda", "endpoint": "wroker"}],
     "topics.events.subscriptions[0].endpoint", "function 'wroker' is not defined (did you mean 'worker'?)"),
    (("topics", "events", "subscriptions"), [{"protocol": "sms", "endpoint": "x"}],
     "topics.events.subscriptions[0].protocol", "'sms' is not a valid protocol"),
    (("topics", "events", "subscriptions"), [{"protocol": "sqs", "endpoint": "orders", "delivery_policy": {}}],
     "topics.events.subscriptions[0].delivery_policy", "applies to https subscriptions only"),
    (("topics", "events", "subscriptions"), [{"protocol": "https", "endpoint": "https://x", "outages": [{"start_s": 5, "end_s": 5}]}],
     "topics.events.subscriptions[0].outages[0].end_s", "5 must be after start_s 5"),
    (("buses", "bus", "rules", "r", "targets"), [{"target": "queue:orders"}] * 6,
     "buses.bus.rules.r.targets", "6 targets; a rule has at most 5"),
    (("buses", "bus", "rules", "r", "targets"), [{"target": "sqs:orders"}],
     "buses.bus.rules.r.targets[0].target", "unknown target kind 'sqs'; supported: function, queue, state_machine, https"),
    (("buses", "bus", "rules", "r", "targets"), [{"target": "queue:orders", "retry_policy": {"maximum_retry_attempts": 200}}],
     "buses.bus.rules.r.targets[0].retry_policy.maximum_retry_attempts", "200 is above the maximum 185"),
    (("traffic",), [{"name": "t", "target": "queue:orders", "arrivals": {"rate_per_s": 1}, "message": {"size_bytes": 300_000}}],
     "traffic[0].message.size_bytes", "300000 bytes is above the 256 KB (262144 bytes) limit of an SQS message"),
    (("traffic",), [{"name": "t", "target": "bus:bus", "arrivals": {"rate_per_s": 1}}],
     "traffic[0].events", "a bus target needs at least one event template"),
    (("traffic",), [{"name": "t", "target": "queue:orders", "arrivals": {"rate_per_s": 1}, "events": [{"event": {}}]}],
     "traffic[0].events", "event templates apply to bus targets only, not queue"),
    (("traffic",), [{"name": "t", "target": "topic:evnets", "arrivals": {"rate_per_s": 1}}],
     "traffic[0].target", "topic 'evnets' is not defined (did you mean 'events'?)"),
    (("functions", "worker", "async_invoke"), {"on_failure": "queue:jobs.fifo"},
     "functions.worker.async_invoke.on_failure", "Lambda destinations must be standard queues"),
]


@pytest.mark.parametrize("path, value, where, text", CASES, ids=[c[2] + ":" + c[3][:20] for c in CASES])
def test_mistakes_name_their_path(path, value, where, text):
    found = problems(with_(path, value))
    assert any(p == where and text in m for p, m in found), found


def test_redrive_needs_both_halves_and_no_loop():
    data = with_(("queues",), {"a": {"max_receive_count": 2}, "b": {"dead_letter_queue": "a"}})
    found = dict(problems(data))
    assert found["queues.a.max_receive_count"] == "a redrive policy needs dead_letter_queue as well"
    assert found["queues.b.max_receive_count"] == "is required with a dead_letter_queue (1-1000)"
    loop = with_(("queues",), {"a": {"max_receive_count": 2, "dead_letter_queue": "b"},
                               "b": {"max_receive_count": 2, "dead_letter_queue": "a"}})
    msgs = dict(problems(loop))
    assert msgs["queues.a.dead_letter_queue"] == "dead-letter queues form a loop: a -> b -> a"


def test_bad_filter_policy_and_pattern_are_caught_at_build_time_with_their_path():
    data = with_(("topics", "events", "subscriptions"),
                 [{"protocol": "sqs", "endpoint": "orders", "filter_policy": {"kind": [{"numeric": ["<"]}]}}])
    data["buses"]["bus"]["rules"]["r"]["event_pattern"] = {"source": [{"prefix": 5}]}
    with pytest.raises(ScenarioError) as e:
        simulate(data, progress=False)
    paths = [p for p, _ in e.value.problems]
    assert paths == ["topics.events.subscriptions[0].filter_policy", "buses.bus.rules.r.event_pattern"]
