"""Plain-Python reference twin of the fan-out engine in FANOUT_SPEC.md (SNS topics, EventBridge buses).

Readable over fast: one event at a time, dicts for pending deliveries, `heapq` for the clock.
The numba kernel (`kernels/fanout.py`) must agree with this row by row and counter by counter.
It runs a whole horizon in one call; the kernel's window-by-window results must equal it.
Parameters (`FanoutParams`) and constants come from the kernel; the builders that turn
subscriptions or rules into them are `sim.messaging.fanout_state.sns_params` /
`eventbridge_params`.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from kernels.fanout import (  # the kernel's parameters and constants: one definition for both
    GLOBAL_COUNTERS,
    KIND_DELIVERY,
    KIND_DLQ,
    TARGET_COUNTERS,
    FanoutParams,
)
from kernels.ref.billing import chunks_64kb_ref as chunks_64kb


@dataclass
class FanoutResult:
    rows: list  # (t, seq, kind, target, id, size, key, attempt, t_pub), sorted by (t, seq)
    gcnt: np.ndarray  # int64 [P, len(GLOBAL_COUNTERS)]
    rcnt: np.ndarray  # int64 [P, R] matched events per rule
    tcnt: np.ndarray  # int64 [P, T, len(TARGET_COUNTERS)]
    pending: list[int]  # per target, at t_end


def simulate_fanout_ref(params: FanoutParams, pubs: dict, streams: dict, t_end: float) -> FanoutResult:
    """Run the spec from t = 0 to `t_end` in one go.

    `pubs`: arrays t (sorted), id, size, key, group (group < 0: none). `streams`: {"U": [...],
    "LAT": [...]} one sequence per target, consumed in order.
    """
    P, R, T = params.n_periods, params.n_rules, params.n_targets
    G = {c: i for i, c in enumerate(GLOBAL_COUNTERS)}
    C = {c: i for i, c in enumerate(TARGET_COUNTERS)}
    gcnt = np.zeros((P, len(G)), np.int64)
    rcnt = np.zeros((P, R), np.int64)
    tcnt = np.zeros((P, T, len(C)), np.int64)
    rows = []
    cur = {"U": [0] * T, "LAT": [0] * T}
    last_delivery: dict = {}  # (target, group) -> last delivery time (FIFO)
    put = {"tokens": params.put_burst, "last": 0.0}
    inv = {"tokens": params.inv_burst, "last": 0.0}
    put_on = math.isfinite(params.put_rate)
    inv_on = math.isfinite(params.inv_rate)
    heap: list = []
    counters = {"sched": 0, "attempt": 0}

    def period(t):
        return min(int(t / params.period_s), P - 1)

    def draw(name, j):
        v = streams[name][j][cur[name][j]]
        cur[name][j] += 1
        return float(v)

    def push(t, ev):
        heapq.heappush(heap, (t, counters["sched"], ev))
        counters["sched"] += 1

    def in_outage(j, t):
        return any(s <= t < e for s, e in params.outages[j])

    def next_delay(ev):
        """Advance the policy position; the delay of the next retry, or None when exhausted."""
        segs = params.policies[ev["target"]].segments
        while ev["seg"] < len(segs) and ev["used"] == segs[ev["seg"]][0]:
            ev["seg"] += 1
            ev["used"] = 0
        if ev["seg"] == len(segs):
            return None
        ev["used"] += 1
        return segs[ev["seg"]][1]

    def deliver(ev, td):
        j = ev["target"]
        rows.append((td, ev["seq"], KIND_DELIVERY, j, ev["id"], ev["size"], ev["key"], ev["attempt"], ev["first_t"]))
        p = period(td)
        tcnt[p, j, C["delivered"]] += 1
        tcnt[p, j, C["delivered_chunks"]] += chunks_64kb(ev["size"])

    def attempt(ev, ta):
        j = ev["target"]
        if inv_on and not ev["has_token"]:
            inv["tokens"] = min(params.inv_burst, inv["tokens"] + params.inv_rate * (ta - inv["last"]))
            inv["last"] = ta
            inv["tokens"] -= 1.0
            if inv["tokens"] < 0.0:
                ready = ta + (-inv["tokens"]) / params.inv_rate
                tcnt[period(ta), j, C["throttled"]] += 1
                push(ready, dict(ev, kind="ready", has_token=True))
                return
        ev = dict(ev, has_token=False, seq=counters["attempt"])
        counters["attempt"] += 1
        pa = period(ta)
        tcnt[pa, j, C["attempts"]] += 1
        fail = in_outage(j, ta)
        if not fail and params.fail_rate[j] > 0.0:
            fail = draw("U", j) < params.fail_rate[j]
        if not fail:
            td = ta + draw("LAT", j) / 1000.0
            if params.fifo and ev["group"] >= 0:
                td = max(td, last_delivery.get((j, ev["group"]), -math.inf))
                last_delivery[(j, ev["group"])] = td
            tcnt[pa, j, C["final"]] += 1
            if td < t_end:
                deliver(ev, td)
            else:
                push(td, dict(ev, kind="deliver"))
            return
        tcnt[pa, j, C["failed_attempts"]] += 1
        d = next_delay(ev)
        if d is not None and ta + d - ev["first_t"] > params.policies[j].max_age_s:
            d = None
        if d is None:
            tcnt[pa, j, C["final"]] += 1
            if params.dlq[j]:
                rows.append((ta, ev["seq"], KIND_DLQ, j, ev["id"], ev["size"], ev["key"], ev["attempt"], ev["first_t"]))
                tcnt[pa, j, C["dlq"]] += 1
            else:
                tcnt[pa, j, C["dropped"]] += 1
            return
        push(ta + d, dict(ev, kind="retry", attempt=ev["attempt"] + 1))

    def publish(k):
        t = float(pubs["t"][k])
        p = period(t)
        if put_on:
            put["tokens"] = min(params.put_burst, put["tokens"] + params.put_rate * (t - put["last"]))
            put["last"] = t
            if put["tokens"] >= 1.0:
                put["tokens"] -= 1.0
            else:
                gcnt[p, G["put_throttled"]] += 1
                return
        size = int(pubs["size"][k])
        gcnt[p, G["put"]] += 1
        gcnt[p, G["put_chunks"]] += chunks_64kb(size)
        key = int(pubs["key"][k])
        matched = False
        for r in range(R):
            targets = range(params.rule_off[r], params.rule_off[r + 1])
            if params.match[key, r]:
                matched = True
                rcnt[p, r] += 1
                for j in targets:
                    attempt(dict(target=j, id=int(pubs["id"][k]), size=size, key=key,
                                 group=int(pubs["group"][k]), first_t=t, attempt=0, seg=0, used=0,
                                 has_token=False), t)
            else:
                for j in targets:
                    tcnt[p, j, C["filtered"]] += 1
        if matched:
            gcnt[p, G["matched_any"]] += 1

    n = len(pubs["t"])
    k = 0
    while True:
        # internal events first at equal times, then publishes in input order
        if heap and heap[0][0] < t_end and (k >= n or heap[0][0] <= pubs["t"][k]):
            t, _, ev = heapq.heappop(heap)
            if ev["kind"] == "deliver":
                deliver(ev, t)
            else:
                attempt(ev, t)
        elif k < n and pubs["t"][k] < t_end:
            publish(k)
            k += 1
        else:
            break
    pending = [0] * T
    for _, _, ev in heap:
        pending[ev["target"]] += 1
    rows.sort(key=lambda r: (r[0], r[1]))
    return FanoutResult(rows, gcnt, rcnt, tcnt, pending)
