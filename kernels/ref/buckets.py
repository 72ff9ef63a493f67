"""Plain-Python twin of `kernels/buckets.py`: a bucket's prefixes as objects, obviously correct."""

from __future__ import annotations

from kernels.buckets import (
    BC_FIRST_BYTE_US, BC_BYTES_DOWN, BC_BYTES_UP, BC_REQUESTS, BC_SLOWDOWN, BC_TOTAL_US, BURST_S, GET, N_BC,
    OP_CLASS, POST, PUT, RATES, _OP_COUNTER, _OP_TIER,
)


class Prefix:
    def __init__(self):
        self.parts = 1
        self.tokens = [RATES[0] * BURST_S, RATES[1] * BURST_S]
        self.last = 0.0
        self.slow = 0

    def refill(self, t: float) -> None:
        if t > self.last:
            for k in range(2):
                self.tokens[k] = min(RATES[k] * self.parts * BURST_S,
                                     self.tokens[k] + RATES[k] * self.parts * (t - self.last))
            self.last = t

    def split(self, t: float) -> None:
        self.refill(t)
        self.parts *= 2


class Buckets:
    def __init__(self, prefixes, n_periods):
        self.prefixes = [[Prefix() for _ in range(n)] for n in prefixes]
        self.counts = [[[0] * N_BC for _ in prefixes] for _ in range(n_periods)]

    def request(self, t, b, p, op, prefix, size, first_byte_us, transfer_us) -> bool:
        px = self.prefixes[b][prefix]
        px.refill(t)
        c = self.counts[p][b]
        c[BC_REQUESTS] += 1
        c[_OP_COUNTER[op]] += 1
        k = OP_CLASS[op]
        if px.tokens[k] < 1.0:
            c[BC_SLOWDOWN] += 1
            px.slow += 1
            return False
        px.tokens[k] -= 1.0
        if _OP_TIER[op] >= 0:
            c[_OP_TIER[op]] += 1
        c[BC_FIRST_BYTE_US] += first_byte_us
        c[BC_TOTAL_US] += first_byte_us + transfer_us
        if op == GET:
            c[BC_BYTES_DOWN] += size
        elif op in (PUT, POST):
            c[BC_BYTES_UP] += size
        return True
