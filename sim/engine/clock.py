"""The clock: a SimPy process that steps the data plane's components in windows.

The clock advances the data plane in windows [t, t + Δ) that also end at the next
control-plane (SimPy) event, so a control change takes effect at its exact time, and early
enough that no component buffers more than a bounded number of items
(`Component.window_limit`: a source at 10⁹ requests/s gets windows of about 1 ms); every
component steps in topological order. Outcomes do not depend on the windows, so none of
this changes a number.
"""

from __future__ import annotations

import time
from typing import Callable, List, Optional

import simpy

from sim.engine.component import Component, topological


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
