"""Traffic sources: components that emit each window's arrivals into their target's inbox."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from kernels.lambda_pool import ID_SEQ_BITS
from scenarios.schema import Traffic
from sim.batch import Batch, Inbox
from sim.engine import Component, WiringError
from sim.rng import generator
from sim.traffic import make_arrival_process


class TrafficSource(Component):
    """One `traffic` entry; request ids are (index << 40) | sequence number."""

    def __init__(self, index: int, traffic: Traffic, duration_s: float, seed: int,
                 base_dir: Optional[Path] = None):
        super().__init__(f"traffic.{traffic.name}")
        self.index = index
        self.traffic = traffic
        self.process = make_arrival_process(traffic, duration_s, generator(seed, self.name), base_dir)
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
        self.inbox.put(self.port, Batch.of(t, ids, size_bytes=self.traffic.message.size_bytes,
                                           duration_ms=duration_ms))

    def requests_simulated(self) -> int:
        return self.emitted
