"""Fan-out of an SNS topic or an EventBridge bus, per (message, target), in windows.

Semantics: `kernels/FANOUT_SPEC.md`; plain-Python twin: `kernels/ref/fanout.py`, which takes
its parameters (`FanoutParams`, `RetrySchedule`) and constants from here. `run_fanout`
processes everything with time < `t_stop` and returns early (status > 0) when a buffer needs
the caller: more random draws, a larger event table, more room for rows. The arrays and the
window-by-window driver: `sim.messaging.fanout_state.FanoutState`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from kernels import jit, jit_inline, jit_loop
from kernels.billing import chunks_64kb
from kernels.heap import heap_pop, heap_push

SNS_PROTOCOLS = ("sqs", "lambda", "https", "email")
P_SQS, P_LAMBDA, P_HTTPS, P_EMAIL = range(4)

# Counter names (the columns of `gcnt` and `tcnt`: C_* below).
GLOBAL_COUNTERS = ("put", "put_throttled", "put_chunks", "matched_any")
TARGET_COUNTERS = ("filtered", "attempts", "failed_attempts", "delivered", "delivered_chunks",
                   "dropped", "dlq", "final", "throttled")


@dataclass(frozen=True)
class RetrySchedule:
    """A delivery retry policy as the kernel reads it: run-length `segments[i] = (count,
    delay_s)` (`count` consecutive retries, each `delay_s` after the attempt before it) and a
    maximum event age: a retry that would start more than `max_age_s` after the first attempt
    is not made. `sim.messaging.retry_policies` builds AWS's policies as these."""

    segments: tuple[tuple[int, float], ...]
    max_age_s: float = math.inf

    def arrays(self):
        """`(counts int64[n], delays float64[n])` for the kernels."""
        return (np.array([c for c, _ in self.segments], np.int64),
                np.array([d for _, d in self.segments], np.float64))


@dataclass
class FanoutParams:
    """Static description of one topic or bus (FANOUT_SPEC.md, Inputs).

    Rules r = 0..R-1 own targets `rule_off[r]..rule_off[r+1]-1`; an SNS topic has one rule
    per subscription, with one target each. `match[key, r]`: the rule (or the subscription's
    filter policy) selects message class `key`.
    """

    match: np.ndarray                     # bool [K, R]
    rule_off: list[int]                   # [R + 1]
    fail_rate: list[float]                # per target
    outages: list[list[tuple[float, float]]]  # per target: [start, end) windows
    policies: list[RetrySchedule]         # per target
    dlq: list[bool]                       # per target
    put_rate: float = math.inf            # accepted publishes / PutEvents entries per s
    put_burst: float = math.inf
    inv_rate: float = math.inf            # target invocations per s (bus-wide)
    inv_burst: float = math.inf
    fifo: bool = False
    n_groups: int = 0
    period_s: float = 60.0
    n_periods: int = 1
    protocols: list[int] = field(default_factory=list)  # SNS only: per target, P_*
    kind: str = "sns"                      # "sns" or "eventbridge"

    @property
    def n_rules(self) -> int:
        return len(self.rule_off) - 1

    @property
    def n_targets(self) -> int:
        return self.rule_off[-1]

    def target_rule(self) -> list[int]:
        return [r for r in range(self.n_rules) for _ in range(self.rule_off[r], self.rule_off[r + 1])]


def merge_outages(windows) -> list[tuple[float, float]]:
    """Sorted, non-overlapping [start, end) windows; empty ones dropped, touching ones joined."""
    out: list[list[float]] = []
    for s, e in sorted((float(s), float(e)) for s, e in windows):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def check_targets(match, n_targets, fail_rate, outages, policies, dlq) -> None:
    """The per-target lists of a FanoutParams: one entry per target, rates in [0, 1]; `match`
    a [class, rule] table (ValueError)."""
    for name, v in (("fail_rate", fail_rate), ("outages", outages), ("policies", policies), ("dlq", dlq)):
        if len(v) != n_targets:
            raise ValueError(f"{name}: one entry per target ({n_targets}), got {len(v)}")
    for j, f in enumerate(fail_rate):
        if not 0.0 <= f <= 1.0:
            raise ValueError(f"fail_rate[{j}]: must be in [0, 1], got {f}")
    if match.ndim != 2:
        raise ValueError(f"match: must be a [class, rule] table, got shape {match.shape}")

# Status codes returned by run_fanout.
DONE = 0
NEED_DRAWS = 1
EVENTS_FULL = 2
ROWS_FULL = 3

# Random streams (first index of `draws`), one sequence per target.
S_U = 0
S_LAT = 1
N_STREAMS = 2

# Target parameters: int64 columns of `tpi`, float64 columns of `tpf`.
T_DLQ = 0
T_POL_OFF = 1
T_POL_N = 2
T_OUT_OFF = 3
T_OUT_N = 4
N_TPI = 5
TF_FAIL = 0
TF_MAX_AGE = 1
N_TPF = 2

# Topic / bus parameters: int64 `pi`, float64 `pf`.
PI_FIFO = 0
PI_NPER = 1
N_PI = 2
PF_PUT_RATE = 0
PF_PUT_BURST = 1
PF_INV_RATE = 2
PF_INV_BURST = 3
PF_PERIOD_S = 4
N_PF = 5

# Global state: int64 `g`, float64 `gf`.
G_HEAP_N = 0
G_FREE_N = 1
G_ROWS_N = 2
G_SCHED = 3
G_ATTEMPT_SEQ = 4
N_G = 5
GF_PUT_TOK = 0
GF_PUT_LAST = 1
GF_INV_TOK = 2
GF_INV_LAST = 3
N_GF = 4

# Event table: int64 `ei` columns, float64 `ef` columns.
E_KIND = 0
E_TGT = 1
E_ID = 2
E_SIZE = 3
E_KEY = 4
E_GROUP = 5
E_ATTEMPT = 6
E_SEG = 7
E_USED = 8
E_SEQ = 9
N_EI = 10
E_FIRST_T = 0
N_EF = 1
K_RETRY = 0   # an attempt that still needs an invocation token
K_READY = 1   # an attempt whose token is reserved (delayed by the invocation quota)
K_DELIVER = 2  # a successful delivery at or after the window it was attempted in

# Counters: `gcnt[p, col]`, `rcnt[p, rule]` (matched events), `tcnt[p, target, col]`.
C_PUT, C_PUT_THROTTLED, C_PUT_CHUNKS, C_MATCHED_ANY = range(4)
N_GCNT = 4
(C_FILTERED, C_ATTEMPTS, C_FAILED_ATTEMPTS, C_DELIVERED, C_DELIVERED_CHUNKS, C_DROPPED, C_DLQ,
 C_FINAL, C_THROTTLED) = range(9)
N_TCNT = 9
assert len(GLOBAL_COUNTERS) == N_GCNT and len(TARGET_COUNTERS) == N_TCNT

# Rows: int64 `ri` and float64 `rf` columns.
R_SEQ = 0
R_KIND = 1
R_TGT = 2
R_ID = 3
R_SIZE = 4
R_KEY = 5
R_ATTEMPT = 6
N_RI = 7
R_T = 0
R_TPUB = 1
N_RF = 2
KIND_DELIVERY = 0
KIND_DLQ = 1


@jit_inline
def _period(pi, pf, t):
    p = np.int64(t / pf[PF_PERIOD_S])
    n = pi[PI_NPER]
    return p if p < n else n - 1


@jit_inline
def _draw(draws, cur, s, j):
    v = draws[s, j, cur[s, j]]
    cur[s, j] += 1
    return v


@jit_inline
def _alloc(free, g):
    g[G_FREE_N] -= 1
    return free[g[G_FREE_N]]


@jit_inline
def _release(free, g, slot):
    free[g[G_FREE_N]] = slot
    g[G_FREE_N] += 1


@jit_inline
def _push(ht, hs, hv, g, t, slot):
    g[G_HEAP_N] = heap_push(ht, hs, hv, g[G_HEAP_N], t, g[G_SCHED], slot)
    g[G_SCHED] += 1


@jit_inline
def _row(ri, rf, n, t, seq, kind, j, mid, size, key, attempt, t_pub):
    """Write a row at index n; returns the new row count."""
    ri[n, R_SEQ] = seq
    ri[n, R_KIND] = kind
    ri[n, R_TGT] = j
    ri[n, R_ID] = mid
    ri[n, R_SIZE] = size
    ri[n, R_KEY] = key
    ri[n, R_ATTEMPT] = attempt
    rf[n, R_T] = t
    rf[n, R_TPUB] = t_pub
    return n + 1


@jit_inline
def _store(ei, ef, slot, kind, j, mid, size, key, group, attempt, seg, used, seq, first_t):
    ei[slot, E_KIND] = kind
    ei[slot, E_TGT] = j
    ei[slot, E_ID] = mid
    ei[slot, E_SIZE] = size
    ei[slot, E_KEY] = key
    ei[slot, E_GROUP] = group
    ei[slot, E_ATTEMPT] = attempt
    ei[slot, E_SEG] = seg
    ei[slot, E_USED] = used
    ei[slot, E_SEQ] = seq
    ef[slot, E_FIRST_T] = first_t


@jit_loop
def run_fanout(t_stop, p_t, p_id, p_size, p_key, p_group, i,
               match, trule, tpi, tpf, seg_n, seg_d, out_s, out_e, pi, pf,
               g, gf, ocur, flast, ei, ef, free, ht, hs, hv, draws, cur, dlen,
               gcnt, rcnt, tcnt, ri, rf):
    """Process events and publishes with time < t_stop, from publish index i.

    `trule[j]`: the rule of target j. Returns (status, i, target): DONE, or NEED_DRAWS
    (refill `target`'s streams), EVENTS_FULL, ROWS_FULL; call again with the returned i after
    serving the request.
    """
    n = p_t.shape[0]
    n_rules = match.shape[1]
    n_t = tpi.shape[0]
    rows_cap = ri.shape[0]
    inv_on = pf[PF_INV_RATE] < np.inf
    put_on = pf[PF_PUT_RATE] < np.inf
    fifo = pi[PI_FIFO] != 0
    nrow = g[G_ROWS_N]  # kept in registers; written back before every return
    aseq = g[G_ATTEMPT_SEQ]
    while True:
        hn = g[G_HEAP_N]
        if hn > 0 and ht[0] < t_stop and (i >= n or ht[0] <= p_t[i]):
            # ---- an internal event: a retry, a delayed invocation or a held delivery
            slot = hv[0]
            j0 = ei[slot, E_TGT]
            if nrow + 1 > rows_cap:
                g[G_ROWS_N] = nrow
                g[G_ATTEMPT_SEQ] = aseq
                return ROWS_FULL, i, -1
            for s in range(N_STREAMS):
                if dlen[s, j0] - cur[s, j0] < 1:
                    g[G_ROWS_N] = nrow
                    g[G_ATTEMPT_SEQ] = aseq
                    return NEED_DRAWS, i, j0
            t = ht[0]
            heap_pop(ht, hs, hv, hn)
            g[G_HEAP_N] = hn - 1
            kind = ei[slot, E_KIND]
            mid = ei[slot, E_ID]
            size = ei[slot, E_SIZE]
            key = ei[slot, E_KEY]
            first_t = ef[slot, E_FIRST_T]
            if kind == K_DELIVER:
                nrow = _row(ri, rf, nrow, t, ei[slot, E_SEQ], KIND_DELIVERY, j0, mid, size, key,
                     ei[slot, E_ATTEMPT], first_t)
                pd = _period(pi, pf, t)
                tcnt[pd, j0, C_DELIVERED] += 1
                tcnt[pd, j0, C_DELIVERED_CHUNKS] += chunks_64kb(size)
                _release(free, g, slot)
                continue
            group = ei[slot, E_GROUP]
            attempt0 = ei[slot, E_ATTEMPT]
            seg0 = ei[slot, E_SEG]
            used0 = ei[slot, E_USED]
            slot0 = slot
            has_token = kind == K_READY
            j1 = j0 + 1
            from_pub = False
            p = 0
        elif i < n and p_t[i] < t_stop:
            # ---- a publish (PutEvents entry)
            if nrow + n_t > rows_cap:
                g[G_ROWS_N] = nrow
                g[G_ATTEMPT_SEQ] = aseq
                return ROWS_FULL, i, -1
            if g[G_FREE_N] < n_t:
                g[G_ROWS_N] = nrow
                g[G_ATTEMPT_SEQ] = aseq
                return EVENTS_FULL, i, -1
            for j in range(n_t):
                for s in range(N_STREAMS):
                    if dlen[s, j] - cur[s, j] < 1:
                        g[G_ROWS_N] = nrow
                        g[G_ATTEMPT_SEQ] = aseq
                        return NEED_DRAWS, i, j
            t = p_t[i]
            p = _period(pi, pf, t)
            if put_on:
                tok = min(pf[PF_PUT_BURST], gf[GF_PUT_TOK] + pf[PF_PUT_RATE] * (t - gf[GF_PUT_LAST]))
                gf[GF_PUT_LAST] = t
                if tok >= 1.0:
                    gf[GF_PUT_TOK] = tok - 1.0
                else:
                    gf[GF_PUT_TOK] = tok
                    gcnt[p, C_PUT_THROTTLED] += 1
                    i += 1
                    continue
            mid = p_id[i]
            size = p_size[i]
            key = p_key[i]
            group = p_group[i]
            first_t = t
            i += 1
            gcnt[p, C_PUT] += 1
            gcnt[p, C_PUT_CHUNKS] += chunks_64kb(size)
            any_match = False
            for r in range(n_rules):
                if match[key, r]:
                    any_match = True
                    rcnt[p, r] += 1
            if any_match:
                gcnt[p, C_MATCHED_ANY] += 1
            attempt0 = 0
            seg0 = 0
            used0 = 0
            slot0 = -1
            has_token = False
            j0 = 0
            j1 = n_t
            from_pub = True
        else:
            g[G_ROWS_N] = nrow
            g[G_ATTEMPT_SEQ] = aseq
            return DONE, i, -1
        # ---- one attempt per target j in [j0, j1) at time t (FANOUT_SPEC.md, An attempt)
        pa = _period(pi, pf, t)
        for j in range(j0, j1):
            if from_pub and not match[key, trule[j]]:
                tcnt[p, j, C_FILTERED] += 1
                continue
            attempt = attempt0
            seg = seg0
            used = used0
            slot = slot0
            ta = t
            if inv_on and not has_token:
                tok = min(pf[PF_INV_BURST], gf[GF_INV_TOK] + pf[PF_INV_RATE] * (ta - gf[GF_INV_LAST]))
                gf[GF_INV_LAST] = ta
                tok -= 1.0
                gf[GF_INV_TOK] = tok
                if tok < 0.0:
                    ready = ta + (-tok) / pf[PF_INV_RATE]
                    tcnt[pa, j, C_THROTTLED] += 1
                    if slot < 0:
                        slot = _alloc(free, g)
                    _store(ei, ef, slot, K_READY, j, mid, size, key, group, attempt, seg, used, 0, first_t)
                    _push(ht, hs, hv, g, ready, slot)
                    continue
            seq = aseq
            aseq += 1
            tcnt[pa, j, C_ATTEMPTS] += 1
            # outage: windows sorted and disjoint; attempt times of a target never decrease
            c = ocur[j]
            end = tpi[j, T_OUT_OFF] + tpi[j, T_OUT_N]
            while c < end and out_e[c] <= ta:
                c += 1
            ocur[j] = c
            fail = c < end and out_s[c] <= ta
            if not fail and tpf[j, TF_FAIL] > 0.0:
                fail = _draw(draws, cur, S_U, j) < tpf[j, TF_FAIL]
            if not fail:
                td = ta + _draw(draws, cur, S_LAT, j) / 1000.0
                if fifo and group >= 0:
                    if flast[j, group] > td:
                        td = flast[j, group]
                    flast[j, group] = td
                tcnt[pa, j, C_FINAL] += 1
                if td < t_stop:
                    nrow = _row(ri, rf, nrow, td, seq, KIND_DELIVERY, j, mid, size, key, attempt, first_t)
                    pd = _period(pi, pf, td)
                    tcnt[pd, j, C_DELIVERED] += 1
                    tcnt[pd, j, C_DELIVERED_CHUNKS] += chunks_64kb(size)
                    if slot >= 0:
                        _release(free, g, slot)
                else:
                    if slot < 0:
                        slot = _alloc(free, g)
                    _store(ei, ef, slot, K_DELIVER, j, mid, size, key, group, attempt, seg, used, seq, first_t)
                    _push(ht, hs, hv, g, td, slot)
                continue
            tcnt[pa, j, C_FAILED_ATTEMPTS] += 1
            # the next retry's delay: advance through the policy's (count, delay) segments
            off = tpi[j, T_POL_OFF]
            nseg = tpi[j, T_POL_N]
            while seg < nseg and used == seg_n[off + seg]:
                seg += 1
                used = 0
            retry = seg < nseg
            d = 0.0
            if retry:
                d = seg_d[off + seg]
                used += 1
                if ta + d - first_t > tpf[j, TF_MAX_AGE]:
                    retry = False
            if not retry:
                tcnt[pa, j, C_FINAL] += 1
                if tpi[j, T_DLQ] != 0:
                    nrow = _row(ri, rf, nrow, ta, seq, KIND_DLQ, j, mid, size, key, attempt, first_t)
                    tcnt[pa, j, C_DLQ] += 1
                else:
                    tcnt[pa, j, C_DROPPED] += 1
                if slot >= 0:
                    _release(free, g, slot)
                continue
            if slot < 0:
                slot = _alloc(free, g)
            _store(ei, ef, slot, K_RETRY, j, mid, size, key, group, attempt + 1, seg, used, 0, first_t)
            _push(ht, hs, hv, g, ta + d, slot)


@jit
def order_ties_by_seq(order, t, seq):
    """Within runs of equal t in `order` (sorted by t), sort by seq (insertion sort: runs are short)."""
    n = order.shape[0]
    k = 1
    while k < n:
        if t[order[k]] == t[order[k - 1]]:
            a = k - 1
            while k < n and t[order[k]] == t[order[a]]:
                k += 1
            for x in range(a + 1, k):
                v = order[x]
                y = x - 1
                while y >= a and seq[order[y]] > seq[v]:
                    order[y + 1] = order[y]
                    y -= 1
                order[y + 1] = v
        else:
            k += 1


@jit
def gather_rows(ri, rf, order, oi, of):
    """Rows in `order`, column by column (oi[col, k], of[col, k])."""
    for k in range(order.shape[0]):
        r = order[k]
        for c in range(N_RI):
            oi[c, k] = ri[r, c]
        for c in range(N_RF):
            of[c, k] = rf[r, c]


@jit
def pending_by_target(ei, hv, heap_n, out):
    """Pairs still pending (scheduled retries, delayed invocations, held deliveries) per target."""
    for k in range(heap_n):
        out[ei[hv[k], E_TGT]] += 1
