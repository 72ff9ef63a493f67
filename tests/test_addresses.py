"""scenarios.addresses: every kind parses; a bad address is reported at its YAML path with what the place allows."""

from __future__ import annotations

import copy

import pytest

from scenarios import ScenarioError, load_scenario
from scenarios.addresses import (
    CALL_TARGET,
    KINDS,
    ON_FAILURE,
    PLACES,
    RULE_TARGET,
    TRAFFIC_TARGET,
    Address,
    AddressError,
    check_address,
    parse,
    places_of,
    references,
)
from scenarios.errors import Problems
from scenarios.schema import Scenario

BASE = {
    "name": "a",
    "duration_s": 60,
    "functions": {"worker": {"timeout_s": 10}, "api": {}},
    "queues": {"orders": {"visibility_timeout_s": 60}, "jobs.fifo": {"type": "fifo", "visibility_timeout_s": 60}},
    "event_source_mappings": [{"source": "orders", "function": "worker"}],
    "topics": {"events": {"subscriptions": [{"protocol": "sqs", "endpoint": "orders"}]}},
    "buses": {"bus": {"rules": {"r": {"event_pattern": {"source": ["x"]}, "targets": [{"target": "queue:orders"}]}}}},
    "traffic": [{"name": "t", "target": "topic:events", "arrivals": {"kind": "poisson", "rate_per_s": 1}},
                {"name": "f", "target": "function:api", "arrivals": {"kind": "poisson", "rate_per_s": 1}}],
}


def problems(data):
    with pytest.raises(ScenarioError) as e:
        load_scenario(data)
    return e.value.problems


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_parses_and_prints_back(kind):
    a = parse(f"{kind}:thing-1")
    assert a == Address(kind, "thing-1") and not a.external
    assert str(a) == f"{kind}:thing-1"


def test_external_addresses_parse_as_external():
    a = parse("https://example.com/hook")
    assert a.kind == "https" and a.external and str(a) == "https://example.com/hook"
    assert parse("email:ops@example.com").external


@pytest.mark.parametrize("text", ["", "worker", ":worker", "queue:"])
def test_text_without_kind_or_name_does_not_parse(text):
    with pytest.raises(AddressError):
        parse(text)


def test_every_place_takes_known_kinds_and_calls_take_all():
    for place in PLACES.values():
        assert set(place.kinds) <= set(KINDS)
    assert CALL_TARGET.kinds == tuple(KINDS)
    assert places_of("queue") == ["traffic target", "SNS subscription endpoint", "EventBridge rule target",
                                  "dead-letter queue", "on-failure destination", "call target", "API integration",
                                  "S3 notification target"]
    assert places_of("topic") == ["traffic target", "call target", "API integration", "S3 notification target"]
    assert places_of("state_machine") == ["traffic target", "EventBridge rule target", "call target",
                                          "API integration"]
    for kind, k in KINDS.items():  # a kind declared for later work appears only in calls, for now
        assert k.simulated or places_of(kind) == ["call target"]
    assert places_of("service") == ["traffic target", "call target", "API integration"]
    assert places_of("swf_workflow") == ["traffic target", "call target"]  # calls refuse it: scenarios/calls.py
    assert TRAFFIC_TARGET.forms_text() == ("function:NAME, queue:NAME, topic:NAME, bus:NAME, api:NAME/ROUTE,"
                                           " state_machine:NAME, service:NAME, swf_workflow:NAME or"
                                           " broker:NAME/QUEUE")
    assert places_of("broker") == ["traffic target", "call target"]  # calls to a broker are refused (scenarios.calls)


def _check(text, place, s=None):
    s = s or Scenario(functions={"worker": None}, queues={"orders": None})
    p = Problems()
    got = check_address(s, text, place, "x.target", p)
    return got, p.items


@pytest.mark.parametrize("text, place, message", [
    ("queue:ordrs", TRAFFIC_TARGET, "queue 'ordrs' is not defined (did you mean 'orders'?); defined queues: orders"),
    ("orders", TRAFFIC_TARGET, "malformed target 'orders'; expected KIND:NAME such as function:NAME"
                               " (did you mean 'queue:orders'?)"),
    ("quee:orders", TRAFFIC_TARGET, "unknown target kind 'quee' (did you mean 'queue'?); supported: function,"
                                    " queue, topic, bus, api, state_machine, service, swf_workflow, broker"),
    ("endpoint:pay", TRAFFIC_TARGET, "'endpoint:pay': supported targets are function:NAME, queue:NAME, topic:NAME,"
                                     " bus:NAME, api:NAME/ROUTE, state_machine:NAME, service:NAME, swf_workflow:NAME or"
                                     " broker:NAME/QUEUE"),  # an endpoint is outside AWS: functions call it, traffic does not
    ("topic:t", RULE_TARGET, "'topic:t': supported targets are function:NAME, queue:NAME, state_machine:NAME or"
                             " https:URL"),
    ("state_machine:orders", TRAFFIC_TARGET, "state machine 'orders' is not defined; defined state machines: none"),
    ("http://example.com", RULE_TARGET, "is an http:// URL"),
    ("function:worker", ON_FAILURE, "'function:worker': supported destinations are queue:NAME"),
    ("", ON_FAILURE, "is required: queue:NAME"),
    ("endpoint:pay", CALL_TARGET, "endpoint 'pay' is not defined; defined endpoints: none"),
    ("table:t", CALL_TARGET, "table 't' is not defined; defined tables: none"),
    ("api:a/GET /x", CALL_TARGET, "API route 'a/GET /x' is not defined; defined API routes: none"),
])
def test_a_bad_address_names_its_path_and_what_is_allowed(text, place, message):
    got, items = _check(text, place)
    assert got is None
    assert len(items) == 1 and items[0][0] == "x.target" and message in items[0][1], items


def test_a_good_address_comes_back_parsed():
    assert _check("queue:orders", TRAFFIC_TARGET)[0] == Address("queue", "orders")
    assert _check("https://example.com/x", RULE_TARGET)[0].external
    assert _check("function:worker", CALL_TARGET)[0] == Address("function", "worker")


def _with(path, value):
    data = copy.deepcopy(BASE)
    node = data
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return data


@pytest.mark.parametrize("path, value, where, text", [
    (("traffic", 0, "target"), "topic:evnts", "traffic[0].target", "did you mean 'events'?"),
    (("buses", "bus", "rules", "r", "targets"), [{"target": "function:wroker"}],
     "buses.bus.rules.r.targets[0].target", "function 'wroker' is not defined (did you mean 'worker'?)"),
    (("buses", "bus", "rules", "r", "targets"), [{"target": "queue:jobs.fifo"}],
     "buses.bus.rules.r.targets[0].target", "needs a message group id per target"),
    (("topics", "events", "subscriptions"), [{"protocol": "lambda", "endpoint": "apii"}],
     "topics.events.subscriptions[0].endpoint", "function 'apii' is not defined (did you mean 'api'?)"),
    (("functions", "api", "async_invoke"), {"on_failure": "ordrs"},
     "functions.api.async_invoke.on_failure", "malformed destination 'ordrs'; expected KIND:NAME such as queue:NAME"),
    (("event_source_mappings",), [{"source": "ordres", "function": "worker"}],
     "event_source_mappings[0].source", "queue 'ordres' is not defined (did you mean 'orders'?)"),
    (("slo",), {"queues": {"ordrs": {"age_of_oldest_max_s": 1}}}, "slo.queues.ordrs", "did you mean 'orders'?"),
])
def test_scenario_addresses_are_checked_at_their_path(path, value, where, text):
    found = problems(_with(path, value))
    assert any(p == where and text in m for p, m in found), found


def test_references_list_every_address_with_its_path_and_role():
    data = copy.deepcopy(BASE)
    data["functions"]["api"]["async_invoke"] = {"on_failure": "queue:orders"}
    data["traffic"][1]["invocation"] = "async"
    data["topics"]["events"]["subscriptions"].append({"protocol": "https", "endpoint": "https://example.com/h"})
    refs = {(r.path, str(r.address), r.role, r.asynchronous) for r in references(load_scenario(data))}
    assert refs == {
        ("traffic[0].target", "topic:events", "send", False),
        ("traffic[1].target", "function:api", "send", True),
        ("functions.api.async_invoke.on_failure", "queue:orders", "on_failure", False),
        ("event_source_mappings[0].source", "queue:orders", "poll", False),
        ("event_source_mappings[0].function", "function:worker", "mapping", False),
        ("topics.events.subscriptions[0].endpoint", "queue:orders", "send", False),
        ("topics.events.subscriptions[1].endpoint", "https://example.com/h", "send", False),
        ("buses.bus.rules.r.targets[0].target", "queue:orders", "send", False),
    }
