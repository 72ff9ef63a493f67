"""The clock: a SimPy process that steps the data plane's components in windows.

The clock advances the data plane in windows [t, t + Δ) that also end at the next
control-plane (SimPy) event, so a control change takes effect at its exact time, and early
enough that no component buffers more than a bounded number of items
(`Component.window_limit`: a source at 10⁹ requests/s gets windows of about 1 ms); every
component steps in topological order. Outcomes do not depend on the windows, so none of
this changes a number.

With `window_s: auto` (the default) Δ is chosen per window for speed: a window costs tens of
µs of Python, SimPy and a kernel call per component whatever it holds, and each item in it
about 0.1-0.2 µs, so a window should carry thousands of items; past a few tens of thousands
its arrays no longer stay in cache and it gets slower again (the sparse benchmark's run,
tests/bench/test_bench_sparse.py, in CPU time on a busy 2-core machine, 2026-12: 3.2 M
requests per CPU-second at 540 arrivals a window, 5.5-6 M from 4,500 to 36,000, 5.2 M at
72,000 and 144,000). So each window is made as long
as the traffic sources need to make about AUTO_WINDOW_ITEMS items, counting what their
items become downstream: the sources say, from their arrival processes, when they will
have made n arrivals (`Component.horizon`), and the clock counts the items the windows
so far carried (every component's `requests_simulated`) per arrival. Both are fixed by
the scenario and its seed, so the windows are too. Simplification: events a kernel makes
itself (completions, retries, polls) are not counted; they come with the items that
cause them, and a window with no arrivals ends at the next control event or the run's end.
"""

from __future__ import annotations

import math
import time
from typing import Callable, List, Optional, Union

import simpy

from sim.engine.component import Component, topological

AUTO = "auto"
# Items an automatic window is sized to carry: sources' arrivals plus the items components
# take from their inboxes (a request to a function: 2; published to a topic with three
# subscriptions: 4). 2**15: 16,384 arrivals a window for a source feeding a function.
AUTO_WINDOW_ITEMS = 1 << 15
# Items carried per arrival assumed before any window has carried one: a source and its target.
AUTO_ITEMS_PER_ARRIVAL = 2.0


class Engine:
    """Owns the SimPy environment and the clock that steps the data plane.

    `window_s`: seconds > 0, or "auto" (see the module docstring).
    """

    def __init__(self, components: List[Component], duration_s: float, window_s: Union[float, str],
                 guard: Optional[Callable[[float], None]] = None):
        self.env = simpy.Environment()
        self.components = topological(components)
        self.duration_s = float(duration_s)
        self.auto = isinstance(window_s, str)
        if self.auto and window_s != AUTO:
            raise ValueError(f"window_s must be a number of seconds > 0 or {AUTO!r}, got {window_s!r}")
        self.window_s = math.inf if self.auto else float(window_s)
        if not self.window_s > 0:
            raise ValueError(f"window_s must be a number of seconds > 0 or {AUTO!r}, got {window_s!r}")
        self.windows = 0
        self.guard = guard  # called with the time after every window; may stop the run by raising
        # components that may shorten a window (the others keep the default, skipped)
        self.limiters = [c for c in self.components if type(c).window_limit is not Component.window_limit]
        # components that know when they will have made n items (the traffic sources)
        self.sources = [c for c in self.components if type(c).horizon is not Component.horizon]

    def check(self) -> None:
        for c in self.components:
            c.check()

    def items_per_arrival(self) -> float:
        """Items the windows so far carried per arrival of the sources (AUTO_ITEMS_PER_ARRIVAL
        before the first arrival)."""
        arrivals = sum(c.requests_simulated() for c in self.sources)
        if not arrivals:
            return AUTO_ITEMS_PER_ARRIVAL
        return max(1.0, sum(c.requests_simulated() for c in self.components) / arrivals)

    def auto_end(self, t0: float, t1: float) -> float:
        """The end in (t0, t1] of an automatic window from t0: where the sources together are
        expected to have made AUTO_WINDOW_ITEMS items (their rates add: the window is the
        harmonic combination of each source's own time to make that many)."""
        n = AUTO_WINDOW_ITEMS / self.items_per_arrival()
        per_s = 0.0
        for c in self.sources:
            h = c.horizon(t0, n)
            if t0 < h < math.inf:
                per_s += 1.0 / (h - t0)
        if per_s > 0.0:
            t1 = min(t1, t0 + 1.0 / per_s)
        return t1 if t1 > t0 else math.nextafter(t0, math.inf)

    def _clock(self, progress: Optional[Callable[[float], None]]):
        env, t = self.env, 0.0
        while t < self.duration_s:
            # let every control-plane event scheduled at t run before the data plane moves on
            next_event = env.peek()
            while next_event == t:
                yield env.timeout(0)
                next_event = env.peek()
            t1 = min(t + self.window_s, self.duration_s, next_event)
            if self.auto:
                t1 = self.auto_end(t, t1)
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
