"""Components of the data plane: the base class with its lifecycle, and their topological order.

Lifecycle (after desmod): declare (constructor) → connect → check → run (step every
window) → finalize (metrics and summary).

After `finalize`, sim.api collects from every component, naming none: `requests_simulated`,
`usage`, `summary_sections`, `metrics`, and, for the traffic's entry points and traces,
`entry_points` and `spans` (the contract is in their docstrings; the checks and the
collection in sim/output/entry_points.py).
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

    def entry_points(self) -> Dict[str, dict]:
        """Per traffic source this component follows to its end: {source name: counts and histograms}.

        A component MAY provide them (the default: none). Keys are names of the scenario's
        traffic sources (`traffic[i].name`); no two components give the same source. Each
        value is a dict with exactly these keys (docs/DESIGN.md §5, kernels/ACCOUNT_SPEC.md §7):

        - `requests`, `succeeded`, `failed`, `throttled`, `in_flight_end`: ints ≥ 0 — arrivals;
          for a sync function target the outcome its client saw (after its retries), for an
          async or queue/topic/bus target accepted vs refused; traces still open at the end;
        - `latency_ms`: what the caller waited for (the sync chain; 0 for async targets) and
          `completion_ms`: until the last descendant of the request ended — each a dict
          {mean, p50, p90, p99, p999, max} of finite numbers ≥ 0 (p50 ≤ p90 ≤ p99 ≤ p999 ≤ max,
          mean ≤ max), or None when no request gave a sample.

        They go into summary.json's `entry_points` section and `Result.entry_points`, in the
        scenario's traffic order; a value that breaks this contract is a ValueError naming
        the component and the source (a bug of the engine, not a user's mistake).
        """
        return {}

    def spans(self):
        """The spans of the traces this component sampled (`record.traces`), or None (the default).

        A component MAY provide them: a polars DataFrame with SPAN_SCHEMA's columns and types
        (sim/output/traces.py), best made with `spans_frame(rows)`. The spans of all
        components are concatenated and checked together (`check_spans`: a span's parent may
        come from another component), sorted by (trace_id, span_id), and become
        `Result.traces` and traces.parquet (written when there is at least one span); the
        report draws their service map and a few waterfalls.
        """
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
