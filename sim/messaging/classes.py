"""Message classes: the finite set of attribute combinations (or event templates) traffic sends.

Filters are exact and fast because a message's attributes come from a finite set of classes:
each traffic source declares its attributes' values with probabilities (independent
attributes, so a class is one value of each, with the product of their probabilities), or,
for a bus, weighted event templates. Every filter policy and event pattern is evaluated once
per class at build time (`sim.messaging.filters.match_table`), and the data plane only
carries the class index (`Batch.key`) and reads the class x subscription table.

Class indices are global over the scenario: source `i`'s classes are `offset[i] ..
offset[i] + n_i − 1`, so one table serves every source that publishes to a topic or bus.

Attribute values are YAML mapping keys, hence strings; a value that reads as a number
(`"100"`, `"2.5"`) is a Number attribute (`{"Type": "Number"}`), anything else a String, so
numeric filter conditions work on it. The MessageBody scope sees the same values as a JSON
object `{attribute: value}`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Dict, List

import numpy as np

from scenarios.schema import Scenario, Traffic


def _typed(value: str):
    try:
        number = float(value)
    except ValueError:
        return value
    if not math.isfinite(number):
        return value
    return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number


@dataclass
class SourceClasses:
    """The classes one traffic source draws from."""

    offset: int
    messages: List[dict]  # per class: attributes (topics, queues) or the event (buses)
    cdf: np.ndarray  # cumulative probabilities, last = 1

    def draw(self, u: np.ndarray) -> np.ndarray:
        """Global class indices for uniforms `u` in [0, 1)."""
        local = np.searchsorted(self.cdf, u, side="right")
        return self.offset + np.minimum(local, len(self.messages) - 1)


def source_classes(traffic: Traffic, offset: int) -> SourceClasses:
    if traffic.target.startswith("bus:"):
        weights = np.array([e.weight for e in traffic.events], np.float64)
        messages = [e.event for e in traffic.events]
    else:
        attrs = traffic.message.attributes
        names = list(attrs)
        combos = list(itertools.product(*(list(attrs[n].items()) for n in names)))
        messages = [{n: _typed(v) for n, (v, _) in zip(names, combo)} for combo in combos]
        weights = np.array([math.prod(p for _, p in combo) for combo in combos], np.float64)
    if not messages:
        messages, weights = [{}], np.ones(1)
    cdf = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0
    return SourceClasses(offset, messages, cdf)


class ClassRegistry:
    """Every traffic source's classes, numbered globally, then those of each function's call
    with its own `attributes` (`by_call[(function, i)]`), made as a traffic source's."""

    def __init__(self, scenario: Scenario):
        from scenarios.schema import Message

        self.by_source: Dict[str, SourceClasses] = {}
        self.by_call: Dict[tuple, SourceClasses] = {}
        self.messages: List[dict] = []
        for tr in scenario.traffic:
            sc = source_classes(tr, len(self.messages))
            self.by_source[tr.name] = sc
            self.messages.extend(sc.messages)
        for name, fn in scenario.functions.items():
            for i, call in enumerate(fn.calls):
                if call.attributes:
                    sc = source_classes(Traffic(message=Message(attributes=call.attributes)), len(self.messages))
                    self.by_call[(name, i)] = sc
                    self.messages.extend(sc.messages)

    def __len__(self) -> int:
        return len(self.messages)

    def attributes(self) -> List[dict]:
        """Per class, as SNS message attributes (name -> {"Type", "Value"})."""
        return [{k: {"Type": "Number" if isinstance(v, (int, float)) else "String", "Value": str(v)}
                 for k, v in m.items()} for m in self.messages]
