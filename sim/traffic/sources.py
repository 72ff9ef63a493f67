"""Traffic sources: components that emit each window's arrivals into their target's inbox."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import numpy as np

from kernels.lambda_pool import ID_SEQ_BITS
from scenarios.schema import Traffic
from sim.engine.batch import Batch, Inbox
from sim.engine import Component, WiringError
from sim.engine.rng import Uniforms, generator
from sim.traffic.arrivals import make_arrival_process

# Purposes of a source's random streams (sim.engine.rng): arrival times are purpose 0.
CLASS_PURPOSE = 1
GROUP_PURPOSE = 2
# Items a source emits in one window, on average, at most: the engine shortens windows
# beyond it, so a window's arrays stay about 2**20 × 56 bytes (60 MB) whatever the rate.
MAX_WINDOW_ITEMS = 1 << 20


class TrafficSource(Component):
    """One `traffic` entry; request ids are (index << 40) | sequence number.

    Messages carry their class (`Batch.key`, drawn from `classes`, see
    sim.messaging.classes) and, for FIFO targets, their message group (`Batch.group`,
    uniform over `message.groups`), each from its own stream.
    """

    def __init__(self, index: int, traffic: Traffic, duration_s: float, seed: int,
                 base_dir: Optional[Path] = None, classes=None):
        super().__init__(f"traffic.{traffic.name}")
        self.index = index
        self.traffic = traffic
        self.process = make_arrival_process(traffic, duration_s, generator(seed, self.name), base_dir)
        self.classes = classes if classes is not None and len(classes.messages) > 1 else None
        self.class_offset = 0 if classes is None else classes.offset
        self.class_u = Uniforms(generator(seed, self.name, CLASS_PURPOSE))
        self.group_u = Uniforms(generator(seed, self.name, GROUP_PURPOSE))
        self.emitted = 0
        self._free = (0.0, -1.0, MAX_WINDOW_ITEMS)  # window_limit: (start, end, cap) of a window within the cap
        self.inbox: Optional[Inbox] = None
        self.port = -1

    def wire(self, port) -> None:
        """Send to `port` (a sim.registry.Port, which the address book has connected to this source)."""
        self.inbox, self.port = port.inbox, port.index

    def check(self) -> None:
        if self.inbox is None:
            raise WiringError(f"{self.name}: not connected to its target {self.traffic.target}")

    def step(self, t0: float, t1: float) -> None:
        t, duration_ms = self.process.take(t1)
        n = len(t)
        if not n:
            return
        ids = np.arange(self.emitted, self.emitted + n, dtype=np.int64)
        ids |= np.int64(self.index) << ID_SEQ_BITS
        self.emitted += n
        # the Batch built column by column, as Batch.of would (a window's fixed cost: one zeroed
        # block for attempt, key and group instead of a call per column)
        zeros = np.zeros((3, n), np.int64)
        attempt, key, group = zeros[0], zeros[1], zeros[2]
        if self.classes is not None:
            key = np.ascontiguousarray(self.classes.draw(self.class_u.take(n)), dtype=np.int64)
        elif self.class_offset:
            key += self.class_offset
        groups = self.traffic.message.groups
        if groups > 1:
            group = (self.group_u.take(n) * groups).astype(np.int64)
        dur = np.full(n, np.nan) if duration_ms is None else np.ascontiguousarray(duration_ms, dtype=np.float64)
        self.inbox.put(self.port, Batch(t, ids, np.full(n, self.traffic.message.size_bytes, np.int64), key,
                                        attempt, dur, group))

    def requests_simulated(self) -> int:
        return self.emitted

    def window_limit(self, t0: float, t1: float) -> float:
        """t1, or the end of the shorter window [t0, t) in which MAX_WINDOW_ITEMS arrivals are
        expected (bisection on the expected count; at least as far as the first arrival, so
        that a trace's many rows at one instant still make progress).

        Per window this is one comparison: a window inside [s, u), where the expected count
        from an earlier start s to u is within the cap, is within it too (the count only grows
        with the window), so u is kept until a window reaches past it."""
        free_from, free_to, cap = self._free
        if free_from <= t0 and t1 <= free_to and cap == MAX_WINDOW_ITEMS:
            return t1
        end_s = self.process.end_s
        free_to = window_end(self.process.expected_count, t0, end_s, MAX_WINDOW_ITEMS)
        if free_to >= end_s:
            free_to = math.inf  # nothing arrives after end_s
        self._free = (t0, free_to, MAX_WINDOW_ITEMS)
        return t1 if t1 <= free_to else window_end(self.process.expected_count, t0, t1, MAX_WINDOW_ITEMS)

    def horizon(self, t0: float, items: float) -> float:
        """When this source will have made `items` arrivals from t0 on, by its arrival
        process's mean (math.inf: not before its end)."""
        return self.process.horizon(t0, items)


def window_end(expected_count, t0: float, t1: float, max_items: float) -> float:
    """The largest t in (t0, t1] with expected_count(t0, t) <= max_items, found to the last
    bit by bisection; if even the shortest window expects more (many arrivals at one
    instant), the shortest one that holds them, so windows always advance."""
    if expected_count(t0, t1) <= max_items:
        return t1
    lo, hi = t0, t1
    while True:
        mid = lo + 0.5 * (hi - lo)
        if mid <= lo or mid >= hi:
            break
        if expected_count(t0, mid) <= max_items:
            lo = mid
        else:
            hi = mid
    return lo if lo > t0 else hi
