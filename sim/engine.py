"""The engine: components with a lifecycle, stepped in windows by a SimPy clock process.

Lifecycle (after desmod): declare (constructor) → connect → check → run (step every
window) → finalize (metrics and summary). The clock advances the data plane in windows
[t, t + Δ) that also end at the next control-plane (SimPy) event, so a control change
takes effect at its exact time, and early enough that no component buffers more than a
bounded number of items (`Component.window_limit`: a source at 10⁹ requests/s gets windows
of about 1 ms); every component steps in topological order. Outcomes do not depend on the
windows, so none of this changes a number.
"""

from __future__ import annotations

import time
from typing import Callable, Dict, List, Optional

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


class Engine:
    """Owns the SimPy environment and the clock that steps the data plane."""

    def __init__(self, components: List[Component], duration_s: float, window_s: float,
                 guard: Optional[Callable[[float], None]] = None):
        self.env = simpy.Environment()
        self.components = topological(components)
        self.duration_s = float(duration_s)
        self.window_s = float(window_s)
        self.windows = 0
        self.guard = guard  # called with the time after every window; may stop the run by raising
        # components that may shorten a window (the others keep the default, skipped)
        self.limiters = [c for c in self.components if type(c).window_limit is not Component.window_limit]

    def check(self) -> None:
        for c in self.components:
            c.check()

    def _clock(self, progress: Optional[Callable[[float], None]]):
        env, t = self.env, 0.0
        while t < self.duration_s:
            # let every control-plane event scheduled at t run before the data plane moves on
            while env.peek() == t:
                yield env.timeout(0)
            t1 = min(t + self.window_s, self.duration_s, env.peek())
            for c in self.limiters:
                t1 = min(t1, c.window_limit(t, t1))
            for c in self.components:
                c.step(t, t1)
            self.windows += 1
            if self.guard is not None:
                self.guard(t1)
            if progress is not None:
                progress(t1)
            yield env.timeout(t1 - t)
            t = t1

    def run(self, progress: Optional[Callable[[float], None]] = None) -> float:
        """Run to the end; returns the wall time in seconds."""
        self.check()
        for c in self.components:
            c.start(self.env)
        wall0 = time.perf_counter()
        clock = self.env.process(self._clock(progress))
        self.env.run(until=clock)
        for c in self.components:
            c.finalize(self.duration_s)
        return time.perf_counter() - wall0


def components_by_name(components: List[Component]) -> Dict[str, Component]:
    return {c.name: c for c in components}
