"""Components of the data plane: the base class with its lifecycle, and their topological order.

Lifecycle (after desmod): declare (constructor) → connect → check → run (step every
window) → finalize (metrics and summary).
"""

from __future__ import annotations

import math
from typing import Dict, List

import simpy


class WiringError(RuntimeError):
    """A component left unconnected or connected wrongly: a bug in the builder, not the user."""


class Component:
    """Base of everything on the data plane; `name` is a dotted scope like `lambda.account`."""

    def __init__(self, name: str):
        self.name = name
        self.upstream: List["Component"] = []
        self.downstream: List["Component"] = []

    def connect(self, other: "Component") -> None:
        """Declare that this component emits items into `other`."""
        self.downstream.append(other)
        other.upstream.append(self)

    def check(self) -> None:
        """Raise WiringError when something needed is unconnected (override)."""

    def start(self, env: simpy.Environment) -> None:
        """Start control-plane processes (override)."""

    def step(self, t0: float, t1: float) -> None:
        """Advance the data plane over [t0, t1)."""
        raise NotImplementedError

    def window_limit(self, t0: float, t1: float) -> float:
        """The latest end in (t0, t1] of a window starting at t0 that keeps this component's
        buffers bounded (override; a traffic source caps the items it emits at once)."""
        return t1

    def horizon(self, t0: float, items: float) -> float:
        """For windows sized automatically: the time t > t0 by which this component expects to
        have made `items` items from t0 on, or math.inf when it will not (override; a traffic
        source knows it from its arrival process)."""
        return math.inf

    def finalize(self, t_end: float) -> None:
        """Close the books at the end of the run (override)."""

    def requests_simulated(self) -> int:
        return 0

    def usage(self):
        """Billable usage: ([Usage] of the run, [(period start s, Usage)]); see sim.billing.meters."""
        return [], []

    def summary_sections(self) -> dict:
        """This component's sections of summary.json: {section: {entity: {quantity: value}}}."""
        return {}

    def metrics(self):
        """Per-period CloudWatch-style metrics (polars, METRIC_SCHEMA columns), or None."""
        return None


def topological(components: List[Component]) -> List[Component]:
    """Components ordered so that every one comes after everything feeding it."""
    order, state = [], {}

    def visit(c: Component, path: List[str]) -> None:
        s = state.get(id(c))
        if s == "done":
            return
        if s == "open":
            raise WiringError("cycle without delay: " + " -> ".join(path + [c.name]))
        state[id(c)] = "open"
        for u in c.upstream:
            visit(u, path + [c.name])
        state[id(c)] = "done"
        order.append(c)

    for c in components:
        visit(c, [])
    return order


def components_by_name(components: List[Component]) -> Dict[str, Component]:
    return {c.name: c for c in components}
