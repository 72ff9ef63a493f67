"""Plain-Python twin of `kernels/tables.py`: a DynamoDB table as objects, obviously correct.

The rules are the kernel's module docstring's; this version keeps every second's consumption
in a dict and finds the on-demand capacity's changes from it (a second x's consumption counts
for the peak from second x + PEAK_DELAY_S on), instead of the kernel's ring.
"""

from __future__ import annotations

import math

from kernels.tables import (
    HALF, ON_DEMAND, ON_DEMAND_BURST_S, ON_DEMAND_MAX_UNITS, PARTITION_BURST_S, PARTITION_RCU, PEAK_DELAY_S, PROVISIONED_BURST_S, READ, TABLE_COUNTERS, WRITE, WRITE_COST,
    partitions_for,
)


class Bucket:
    def __init__(self, rate: float, top: float, t: float = 0.0):
        self.rate, self.top, self.tokens, self.last = rate, top, top, t

    def at(self, t: float) -> float:
        if t > self.last:
            self.tokens = min(self.top, self.tokens + self.rate * (t - self.last))
            self.last = t
        return self.tokens


class Table:
    """One table: `spec` as `kernels.tables.table_arrays` takes it."""

    def __init__(self, spec: dict, n_periods: int):
        self.mode = int(spec["mode"])
        r, w = float(spec["read"]), float(spec["write"])
        self.max = [float(spec.get("max_read", ON_DEMAND_MAX_UNITS if self.mode == ON_DEMAND else r)),
                    float(spec.get("max_write", ON_DEMAND_MAX_UNITS if self.mode == ON_DEMAND else w))]
        self.init = [r, w]
        self.burst_s = max(ON_DEMAND_BURST_S if self.mode == ON_DEMAND else float(spec.get("burst_s", PROVISIONED_BURST_S)),
                           1.0)
        self.room = max(partitions_for(max(r, self.max[0]), max(w, self.max[1])), partitions_for(r, w))
        self.cap = [r, w]
        self.tokens = [r * self.burst_s, w * self.burst_s]
        self.last = 0.0
        self.parts = [Bucket(PARTITION_RCU, PARTITION_RCU * PARTITION_BURST_S) for _ in range(partitions_for(r, w))]
        self.splits = 0
        self.seconds: dict = {}  # second -> [read, write] consumed (on demand)
        self.peak = [0.0, 0.0]  # of the seconds already old
        self.folded = -1  # seconds up to this one have become old
        self.peak_now = [0.0, 0.0]
        self.control = [0.0, 0.0]
        self.counts = [[0] * len(TABLE_COUNTERS) for _ in range(n_periods)]

    def refill(self, t: float) -> None:
        if t > self.last:
            for d in (READ, WRITE):
                self.tokens[d] = min(self.cap[d] * self.burst_s, self.tokens[d] + self.cap[d] * (t - self.last))
            self.last = t

    def grow(self, t: float) -> None:
        n = min(partitions_for(*self.cap), self.room)
        if n > len(self.parts):
            self.parts = [Bucket(PARTITION_RCU, PARTITION_RCU * PARTITION_BURST_S, t) for _ in range(n)]
            self.splits += 1

    def on_demand_cap(self, d: int) -> float:
        return min(self.max[d], max(self.init[d], 2.0 * self.peak[d]))

    def catch_up(self, t: float) -> None:
        """Seconds x that became old by t (x + PEAK_DELAY_S <= floor(t)), in order: each may raise
        the peak and so the capacity, at second x + PEAK_DELAY_S."""
        now = math.floor(t)
        for x in sorted(s for s in self.seconds if self.folded < s <= now - PEAK_DELAY_S):
            j = x + PEAK_DELAY_S
            changed = False
            for d in (READ, WRITE):
                if self.seconds[x][d] > self.peak[d]:
                    self.peak[d] = self.seconds[x][d]
                    if self.on_demand_cap(d) != self.cap[d]:
                        changed = True
            if changed:
                self.refill(float(j))
                self.cap = [self.on_demand_cap(d) for d in (READ, WRITE)]
                self.grow(float(j))
        self.folded = max(self.folded, now - PEAK_DELAY_S)

    def request(self, t: float, period: int, half: int, h: float, direction: int, lat_us: int) -> bool:
        if self.mode == ON_DEMAND:
            self.catch_up(t)
        self.refill(t)
        part = self.parts[int(math.floor(h * len(self.parts)))]
        ptok = part.at(t)
        units = half * HALF
        cost = units * (WRITE_COST if direction == WRITE else 1.0)
        c = self.counts[period]
        c[0] += 1
        table_ok = self.tokens[direction] >= units
        if not table_ok or ptok < cost:
            c[2 + direction] += 1
            if table_ok:
                c[4 + direction] += 1
            return False
        self.tokens[direction] -= units
        part.tokens = ptok - cost
        c[1] += 1
        c[6 + direction] += half
        c[8] += lat_us
        self.control[direction] += units
        if self.mode == ON_DEMAND:
            sec = self.seconds.setdefault(math.floor(t), [0.0, 0.0])
            sec[direction] += units
            self.peak_now[direction] = max(self.peak_now[direction], sec[direction])
        return True

    def set_capacity(self, t: float, cap_r: float, cap_w: float) -> None:
        if self.mode == ON_DEMAND:
            self.catch_up(t)
        self.refill(t)
        self.cap = [cap_r, cap_w]
        for d in (READ, WRITE):
            self.tokens[d] = min(self.tokens[d], self.cap[d] * self.burst_s)
        self.grow(t)
