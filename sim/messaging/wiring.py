"""Build-time work for the messaging services: filter policies and event patterns compiled,
checked (a bad one is a ScenarioError naming its YAML path) and evaluated once per message
class into the class x subscription and class x rule tables the kernels read.
"""

from __future__ import annotations

from typing import List, Optional

import numpy as np

from scenarios.errors import ScenarioError
from scenarios.schema import Scenario
from scenarios.yamlpath import index, key
from sim.messaging.classes import ClassRegistry
from sim.messaging.filters import EventPattern, FilterPolicy, match_table


def compile_filters(sc: Scenario):
    """{topic: [FilterPolicy | None]}, {bus: [EventPattern]}; every bad one reported at once."""
    problems: List[tuple] = []
    policies, patterns = {}, {}
    for name, topic in sc.topics.items():
        out: List[Optional[FilterPolicy]] = []
        for j, sub in enumerate(topic.subscriptions):
            path = key(index(key(key("topics", name), "subscriptions"), j), "filter_policy")
            if sub.filter_policy is None:
                out.append(None)
                continue
            try:
                out.append(FilterPolicy(sub.filter_policy, scope=sub.filter_policy_scope))
            except ValueError as e:
                problems.append((path, str(e)))
                out.append(None)
        policies[name] = out
    for name, bus in sc.buses.items():
        out_p: List[Optional[EventPattern]] = []
        for rname, rule in bus.rules.items():
            path = key(key(key(key("buses", name), "rules"), rname), "event_pattern")
            try:
                out_p.append(EventPattern(rule.event_pattern))
            except ValueError as e:
                problems.append((path, str(e)))
                out_p.append(None)
        patterns[name] = out_p
    if problems:
        raise ScenarioError(problems)
    return policies, patterns


def topic_table(sc: Scenario, registry: ClassRegistry, topic: str, policies) -> np.ndarray:
    """bool [class, subscription]: whether the subscription's filter policy selects the class."""
    attrs = registry.attributes()
    subs = sc.topics[topic].subscriptions
    table = np.ones((len(registry), len(subs)), dtype=bool)
    for j, (sub, pol) in enumerate(zip(subs, policies)):
        if pol is None:
            continue
        messages = registry.messages if sub.filter_policy_scope == "MessageBody" else attrs
        table[:, j] = match_table([pol], messages)[:, 0]
    return table


def bus_table(registry: ClassRegistry, patterns) -> np.ndarray:
    """bool [class, rule]: whether each rule's pattern selects each event class."""
    return match_table(list(patterns), registry.messages)
