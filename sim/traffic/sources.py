"""Traffic sources: components that emit each window's arrivals into their target's inbox."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from kernels.lambda_pool import ID_SEQ_BITS
from scenarios.schema import Traffic
from sim.engine.batch import Batch, Inbox
from sim.engine import Component, WiringError
from sim.engine.rng import CHUNK, generator
from sim.traffic.arrivals import make_arrival_process

# Purposes of a source's random streams (sim.engine.rng): arrival times are purpose 0.
CLASS_PURPOSE = 1
GROUP_PURPOSE = 2
# Items a source emits in one window, on average, at most: the engine shortens windows
# beyond it, so a window's arrays stay about 2**20 × 56 bytes (60 MB) whatever the rate.
MAX_WINDOW_ITEMS = 1 << 20


class Uniforms:
    """Uniform [0, 1) draws handed out n at a time from fixed CHUNK-sized refills."""

    def __init__(self, gen: np.random.Generator, chunk: int = CHUNK):
        self.gen, self.chunk = gen, chunk
        self.buf = np.empty(0)
        self.pos = 0

    def take(self, n: int) -> np.ndarray:
        parts = []
        while n > 0:
            if self.pos == len(self.buf):
                self.buf, self.pos = self.gen.random(self.chunk), 0
            k = min(n, len(self.buf) - self.pos)
            parts.append(self.buf[self.pos : self.pos + k])
            self.pos += k
            n -= k
        return np.concatenate(parts) if len(parts) != 1 else parts[0].copy()


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
        self.inbox: Optional[Inbox] = None
        self.port = -1

    def wire(self, target: Component, inbox: Inbox, port: int) -> None:
        self.connect(target)
        self.inbox, self.port = inbox, port

    def check(self) -> None:
        if self.inbox is None:
            raise WiringError(f"{self.name}: not connected to its target {self.traffic.target}")

    def step(self, t0: float, t1: float) -> None:
        t, duration_ms = self.process.take(t1)
        n = len(t)
        if not n:
            return
        ids = (np.int64(self.index) << ID_SEQ_BITS) | np.arange(self.emitted, self.emitted + n, dtype=np.int64)
        self.emitted += n
        key = self.class_offset if self.classes is None else self.classes.draw(self.class_u.take(n))
        groups = self.traffic.message.groups
        group = 0 if groups <= 1 else (self.group_u.take(n) * groups).astype(np.int64)
        self.inbox.put(self.port, Batch.of(t, ids, size_bytes=self.traffic.message.size_bytes,
                                           duration_ms=duration_ms, key=key, group=group))

    def requests_simulated(self) -> int:
        return self.emitted

    def window_limit(self, t0: float, t1: float) -> float:
        """t1, or the end of the shorter window [t0, t) in which MAX_WINDOW_ITEMS arrivals are
        expected (bisection on the expected count; at least as far as the first arrival, so
        that a trace's many rows at one instant still make progress)."""
        return window_end(self.process.expected_count, t0, t1, MAX_WINDOW_ITEMS)

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
