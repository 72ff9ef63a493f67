"""sim.registry: services are entries, addresses resolve to ports in one place, an unconnected port is a build error."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from scenarios import load_scenario
from scenarios.addresses import KINDS, Address
from sim.builder import build
from sim.engine import Component, WiringError
from sim.registry import (
    HOSTS,
    SECTIONS,
    SERVICES,
    AddressBook,
    External,
    Port,
    check_registry,
    fanout_route,
    load,
    service_for_kind,
)

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = {
    "name": "r",
    "duration_s": 10,
    "functions": {"worker": {"timeout_s": 10}, "api": {}},
    "queues": {"orders": {"visibility_timeout_s": 60}, "dlq": {}},
    "event_source_mappings": [{"source": "orders", "function": "worker"}],
    "topics": {"events": {"subscriptions": [
        {"protocol": "sqs", "endpoint": "orders", "dead_letter_queue": "dlq"},
        {"protocol": "https", "endpoint": "https://example.com/hook"},
        {"protocol": "lambda", "endpoint": "api"}]}},
    "buses": {"bus": {"rules": {"r": {"event_pattern": {"source": ["x"]}, "targets": [
        {"target": "queue:orders"}, {"target": "https://example.com/events"}]}}}},
    "traffic": [{"name": "t", "target": "topic:events", "arrivals": {"kind": "poisson", "rate_per_s": 1}},
                {"name": "f", "target": "function:api", "arrivals": {"kind": "poisson", "rate_per_s": 1}},
                {"name": "e", "target": "bus:bus", "arrivals": {"kind": "poisson", "rate_per_s": 1},
                 "events": [{"event": {"source": "x", "detail-type": "d", "detail": {}}}]}],
}


class _Sink(Component):
    def __init__(self, name="sink"):
        super().__init__(name)
        self.inbox = object()


def test_the_registry_is_consistent():
    check_registry()
    assert len(set(SECTIONS)) == len(SECTIONS)
    assert SECTIONS[:6] == ("functions", "queues", "event_source_mappings", "worker_fleets", "topics", "buses")
    # every kind the simulator resolves today belongs to exactly one service
    for kind, k in KINDS.items():
        if k.simulated:
            assert service_for_kind(kind) is not None, kind
    for svc in SERVICES:
        for ref in filter(None, (svc.console, svc.report_section, *(r for _, r in svc.report_derived))):
            assert callable(load(ref)), ref
    assert {h.name for h in HOSTS} >= {s.host for s in SERVICES}


def test_an_address_nothing_offers_is_a_wiring_error():
    book, caller = AddressBook(), _Sink("topic.x")
    book.offer("queue", "orders", _Sink("lambda"), lambda label, **_: 7)
    with pytest.raises(WiringError, match=r"topic.x: sub/0 sends to queue:ordrs, which no component offers"
                                          r" \(offered: queue:orders\)"):
        book.resolve(caller, "queue:ordrs", "sub/0")
    with pytest.raises(WiringError, match="endpoint:pay"):
        book.resolve(caller, "endpoint:pay", "call")  # a kind declared for later work: nothing offers it yet


def test_ports_are_component_and_index_and_external_is_explicit():
    book, caller, account = AddressBook(), _Sink("src"), _Sink("lambda")
    counter = iter(range(10))
    book.offer("queue", "orders", account, lambda label, **_: next(counter))
    book.offer("function", "worker", account, lambda label, **_: next(counter))
    q, f = book.resolve(caller, "queue:orders", "a"), book.resolve(caller, "function:worker", "b")
    assert (q, f) == (Port(account, 0), Port(account, 1))  # two services, one component
    assert caller.downstream == [account, account]
    ext = book.resolve(caller, "https://example.com/x", "c")
    assert isinstance(ext, External) and ext.address == Address("https", "https://example.com/x")
    assert fanout_route(ext) == (None, -1) and fanout_route(q) == (account.inbox, 0)
    with pytest.raises(WiringError, match="offered twice"):
        book.offer("queue", "orders", caller, lambda label, **_: 0)


def test_build_resolves_every_route_and_numbers_ports_in_build_order():
    world = build(load_scenario(SCENARIO))
    account = world.built["account"][0]
    topic, bus = world.built["topics"][0], world.built["buses"][0]
    # account ports in build order: the topic's subscriptions (each route, then its DLQ), the
    # bus's targets, then traffic (to the topic and bus too: they run in the account's loop);
    # external endpoints take none
    assert [s.name for s in account.sources] == [
        "topic:events/sqs:orders", "topic:events/sqs:orders/dlq", "topic:events/lambda:api",
        "bus:bus/r->queue:orders", "t", "f", "e"]
    assert topic.routes == [(account.inbox, 0), (None, -1), (account.inbox, 2)]
    assert topic.dlq_routes == [(account.inbox, 1), (None, -1), (None, -1)]
    assert bus.routes == [(account.inbox, 3), (None, -1)] and bus.dlq_routes == [(None, -1), (None, -1)]
    # a publisher's port at a topic or bus is one of the account's
    assert [(s.name, s.port) for s in world.sources] == [("traffic.t", 4), ("traffic.f", 5), ("traffic.e", 6)]
    assert [c.name for c in world.components] == ["traffic.t", "traffic.f", "traffic.e", "sns.events",
                                                  "events.bus", "lambda"]
    assert [c.name for c in world.sources[0].downstream] == ["lambda"]  # connected once


def test_a_route_left_unconnected_is_a_build_error():
    sc = load_scenario(SCENARIO)
    sc.traffic[1].target = "queue:ghost"  # as if a check had let it through
    with pytest.raises(WiringError, match="traffic.f: f sends to queue:ghost, which no component offers"):
        build(sc)
    sc = load_scenario(SCENARIO)
    sc.topics["events"].subscriptions[0].dead_letter_queue = "nowhere"
    with pytest.raises(WiringError, match="queue:nowhere"):
        build(sc)


def test_a_shipped_scenario_builds_the_same_world_twice():
    for name in ("fanout", "eventbridge_router", "worker_fleet", "vpc_three_tier"):
        sc = load_scenario(ROOT / "configs" / "scenario" / f"{name}.yaml")
        a, b = build(sc), build(sc)
        assert [c.name for c in a.components] == [c.name for c in b.components]
        acc_a, acc_b = a.built["account"][0], b.built["account"][0]
        assert [dataclasses.astuple(s) if dataclasses.is_dataclass(s) else s.name for s in acc_a.sources] == \
            [dataclasses.astuple(s) if dataclasses.is_dataclass(s) else s.name for s in acc_b.sources]
