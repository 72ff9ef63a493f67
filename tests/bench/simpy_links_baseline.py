"""A plain per-flow SimPy model of flows sharing one NAT gateway max-min fairly: the baseline the
NAT benchmark beats.

One process per flow, waiting for its last bit; at every arrival and completion the remaining
bits of every active flow are brought up to date and the rates recomputed (water-filling: the
flows whose cap is below the fair share get their cap, the others share what is left), and
every flow whose rate changed is interrupted to wait again. It is what a careful user would
write without kernels: the same sharing rule as `kernels/bandwidth.py` on one link.
"""

from __future__ import annotations

import numpy as np
import simpy


def water_fill(capacity_bps: float, caps: list) -> list:
    """Max-min rates of flows with these caps on one link."""
    order = sorted(range(len(caps)), key=caps.__getitem__)
    rates = [0.0] * len(caps)
    left, n = capacity_bps, len(caps)
    for k, f in enumerate(order):
        share = left / (n - k)
        rates[f] = min(caps[f], share)
        left -= rates[f]
    return rates


def run_simpy_links(capacity_bps: float, start_s: np.ndarray, bits: np.ndarray, cap_bps: np.ndarray) -> np.ndarray:
    """Each flow's completion time (s)."""
    env = simpy.Environment()
    n = len(start_s)
    done = np.full(n, np.nan)
    active: dict = {}  # flow -> [bits left, rate, process]
    clock = [0.0]

    def settle():
        dt = env.now - clock[0]
        for a in active.values():
            a[0] -= a[1] * dt
        clock[0] = env.now

    def reallocate():
        flows = list(active)
        for f, r in zip(flows, water_fill(capacity_bps, [cap_bps[f] for f in flows])):
            a = active[f]
            if r != a[1]:
                a[1] = r
                if a[2] is not None and a[2].is_alive and a[2] is not env.active_process:
                    a[2].interrupt()

    def flow(f):
        while True:
            a = active[f]
            try:
                yield env.timeout(max(a[0], 0.0) / a[1])
                break
            except simpy.Interrupt:
                continue
        settle()
        del active[f]
        done[f] = env.now
        reallocate()

    def source():
        for f in range(n):
            yield env.timeout(max(start_s[f] - env.now, 0.0))
            settle()
            active[f] = [float(bits[f]), 0.0, None]
            reallocate()
            active[f][2] = env.process(flow(f))

    env.process(source())
    env.run()
    return done
