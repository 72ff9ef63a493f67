"""The builder: wires a validated Scenario into components (declare → connect → check).

Topology: traffic sources feed functions and queues directly, or SNS topics and
EventBridge buses, which deliver to queues and functions of the account. All functions,
queues, event source mappings and worker fleets form the account's coupled group (one
kernel, docs/DESIGN.md §2); topics and buses are feed-forward components stepped before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from scenarios.schema import Retries, Scenario
from sim.compute.lambda_account import LambdaAccount
from sim.engine import Component
from sim.messaging.classes import ClassRegistry
from sim.messaging.fanout import EventBus, SnsTopic
from sim.messaging.wiring import bus_table, compile_filters, topic_table
from sim.traffic.sources import TrafficSource


@dataclass
class World:
    """Everything a run is made of."""

    scenario: Scenario
    account: LambdaAccount
    sources: List[TrafficSource]
    topics: Dict[str, SnsTopic] = field(default_factory=dict)
    buses: Dict[str, EventBus] = field(default_factory=dict)

    @property
    def components(self) -> List[Component]:
        return [*self.sources, *self.topics.values(), *self.buses.values(), self.account]


def build(scenario: Scenario, base_dir: Optional[Path] = None, sample_all: bool = False) -> World:
    """Components for `scenario`; `sample_all` records every attempt (tests).

    Raises ScenarioError for a filter policy or event pattern AWS would refuse (they are
    compiled here, where their matchers live).
    """
    sc = scenario
    base_dir = Path.cwd() if base_dir is None else Path(base_dir)
    policies, patterns = compile_filters(sc)
    registry = ClassRegistry(sc)
    req = sc.record.requests
    account = LambdaAccount("lambda", sc.account, sc.region, sc.functions, sc.seed, sc.duration_s,
                            sc.record.period_s, sample=req.sample, first_n=req.first_n,
                            sample_all=sample_all, base_dir=base_dir, queues=sc.queues,
                            mappings=sc.event_source_mappings, fleets=sc.worker_fleets)
    T, P = sc.duration_s, sc.record.period_s

    def queue_route(component: Component, label: str, queue: Optional[str]):
        if queue is None:
            return None, -1
        component.connect(account)
        return account.inbox, account.add_queue_port(label, queue)

    def function_route(component: Component, label: str, function: str):
        component.connect(account)
        return account.inbox, account.add_source(label, function, "async", Retries())

    groups = {}
    for tr in sc.traffic:
        kind, _, name = tr.target.partition(":")
        groups[name] = max(groups.get(name, 1), tr.message.groups)
    topics: Dict[str, SnsTopic] = {}
    for name, topic in sc.topics.items():
        comp = SnsTopic(name, topic, topic_table(sc, registry, name, policies[name]), sc.seed, T, P,
                        groups=groups.get(name, 1), base_dir=base_dir)
        for j, (sub, label) in enumerate(zip(topic.subscriptions, comp.labels)):
            port_name = f"topic:{name}/{label}"
            if sub.protocol == "sqs":
                comp.routes.append(queue_route(comp, port_name, sub.endpoint))
            elif sub.protocol == "lambda":
                comp.routes.append(function_route(comp, port_name, sub.endpoint))
            else:
                comp.routes.append((None, -1))  # an endpoint outside the simulation
            comp.dlq_routes.append(queue_route(comp, f"{port_name}/dlq", sub.dead_letter_queue))
        topics[name] = comp
    buses: Dict[str, EventBus] = {}
    for name, bus in sc.buses.items():
        comp = EventBus(name, bus, sc.region, bus_table(registry, patterns[name]), sc.seed, T, P, base_dir=base_dir)
        targets = [(rname, tg) for rname, rule in bus.rules.items() for tg in rule.targets]
        for (rname, tg), label in zip(targets, comp.target_labels):
            port_name = f"bus:{name}/{label}"
            kind, _, target = tg.target.partition(":")
            if kind == "queue":
                comp.routes.append(queue_route(comp, port_name, target))
            elif kind == "function":
                comp.routes.append(function_route(comp, port_name, target))
            else:
                comp.routes.append((None, -1))
            comp.dlq_routes.append(queue_route(comp, f"{port_name}/dlq", tg.dead_letter_queue))
        buses[name] = comp
    sources = []
    for i, tr in enumerate(sc.traffic):
        src = TrafficSource(i, tr, sc.duration_s, sc.seed, base_dir, classes=registry.by_source[tr.name])
        kind, _, name = tr.target.partition(":")
        if kind == "function":
            src.wire(account, account.inbox, account.add_source(tr.name, name, tr.invocation, tr.retries))
        elif kind == "queue":
            src.wire(account, account.inbox, account.add_queue_port(tr.name, name))
        elif kind == "topic":
            src.wire(topics[name], topics[name].inbox, i)
        else:
            src.wire(buses[name], buses[name].inbox, i)
        sources.append(src)
    return World(sc, account, sources, topics, buses)
