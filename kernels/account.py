"""One account's data plane in one event loop: Lambda, SQS, mappings, fleets, SNS topics and EventBridge buses.

Semantics: `kernels/ACCOUNT_SPEC.md` (over POOL_SPEC, QUEUE_SPEC and FANOUT_SPEC); plain-Python
twin: `kernels/ref/account.py`. `run_account` is the messaging loop of `kernels/queue_pool.py`
(the pool, queues, mappings and fleets on one heap and one scheduling counter) with the
fan-out units as handlers of the same loop: a publish (a traffic arrival, or a topic's or
bus's delivery to another unit) runs its (message, target) attempts at once; a retry, a
delivery held by the invocation quota, a successful delivery and a dead letter are events
on the one heap. A delivery enters its target — a SEND to a queue, an asynchronous attempt
of a function, a publish to a unit — as the event it is, at its own time, so a chain such
as topic -> queue -> function -> (next issue: calls) runs in true time order and a window
boundary changes nothing.

Items created inside the loop get ids as the traffic's do: `(port << ID_SEQ_BITS) | n`, n
the item's number at its port (`port_seq`), the port being the route the topic or bus
delivers through; so requests.parquet names the port a delivery came through.

Fan-out state (flattened over the account's units u, their rules r and targets j):
`upi`/`upf` per unit (FIFO, its target and rule ranges; put and invocation quotas), `ust` its
token buckets, `match[key, r]` the class table, `tpi`/`tpf` per target (unit, rule, retry
policy segments, outage windows, the ports it delivers and dead-letters through; failure
rate, maximum event age), `ocur` each target's outage cursor (attempt times of a target never
decrease), `flast[j, group]` a FIFO unit's last delivery per message group, `fdraws[s, j]`
the per-target streams (U, LAT: FANOUT_SPEC.md), and the counters `gcnt[p, u]`,
`rcnt[p, r]`, `tcnt[p, j]` with the fan-out kernel's columns.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from kernels import jit, jit_handler, jit_loop
from kernels import lambda_pool as P
from kernels import queue_pool as Q
from kernels.billing import chunks_64kb, lambda_request_units
from kernels.fanout import (
    C_ATTEMPTS, C_DELIVERED, C_DELIVERED_CHUNKS, C_DLQ, C_DROPPED, C_FAILED_ATTEMPTS, C_FILTERED, C_FINAL,
    C_MATCHED_ANY, C_PUT, C_PUT_CHUNKS, C_PUT_THROTTLED, C_THROTTLED, S_LAT, S_U,
)
from kernels.fanout import N_STREAMS as N_FSTREAMS
from kernels.heap import heap_pop, heap_push
from kernels.lambda_pool import DONE, E_FIRST_T, E_KIND, EVENTS_FULL, ID_SEQ_BITS, K_COMPLETE, K_RETRY, NEED_DRAWS

# Status: a fan-out target's streams (U, LAT) need refilling; `which` = the target.
NEED_FDRAWS = 8

# Event kinds beyond the pool's (K_COMPLETE, K_RETRY) and the queues' (K_SCALE ..
# K_BATCH_DONE): a (message, target) attempt; a successful delivery; a dead letter.
K_PAIR = 6
K_DELIVER = 7
K_DEAD_LETTER = 8

# A pair event's columns (of the pool's `ei`/`ef`, as the queues' EQ_* are).
EP_TGT = P.E_FN
EP_ID = P.E_ID
EP_KEY = P.E_SRC
EP_GROUP = P.E_INV  # the dense message group of a FIFO unit's message, else -1
EP_ATTEMPT = P.E_ATTEMPT
EP_SEG = P.E_ERR_R
EP_USED = P.E_THR_R
EP_TOKEN = P.E_UNITS  # 1: its invocation token is reserved (it waited for the quota)
EP_SIZE = P.E_SIZE
EPF_FIRST_T = E_FIRST_T

# Unit parameters (`upi`, `upf`) and token buckets (`ust`).
UI_FIFO = 0
UI_T0 = 1  # its targets: T0 .. T1-1
UI_T1 = 2
UI_R0 = 3  # its rules: R0 .. R1-1
UI_R1 = 4
N_UI = 5
UF_PUT_RATE = 0
UF_PUT_BURST = 1
UF_INV_RATE = 2
UF_INV_BURST = 3
N_UF = 4
US_PUT_TOK = 0
US_PUT_LAST = 1
US_INV_TOK = 2
US_INV_LAST = 3
N_US = 4

# Target parameters (`tpi`, `tpf`).
TI_UNIT = 0
TI_RULE = 1
TI_POL_OFF = 2
TI_POL_N = 3
TI_OUT_OFF = 4
TI_OUT_N = 5
TI_PORT = 6  # the account port its deliveries enter through (-1: outside the account)
TI_DLQ_PORT = 7  # the port its dead letters enter through (-1: no dead-letter queue)
N_TI = 8
TF_FAIL = 0
TF_MAX_AGE = 1
N_TF = 2

AccountArrays = namedtuple("AccountArrays", [
    "upi", "upf", "ust", "match", "tpi", "tpf", "seg_n", "seg_d", "out_s", "out_e", "ocur", "flast",
    "fdraws", "fcur", "flen", "gcnt", "rcnt", "tcnt", "port_fn", "port_inv", "port_q", "port_unit", "port_seq"])
AccountArrivals = namedtuple("AccountArrivals", ["t", "id", "fn", "src", "inv", "dover", "units", "queue", "size",
                                                 "gid", "unit", "key"])
# An item entering a port: (id, size_bytes, key, group).


@jit_handler
def _fdraw(xa, s, j):
    v = xa.fdraws[s, j, xa.fcur[s, j]]
    xa.fcur[s, j] += 1
    return v


@jit_handler
def _unit_low(u, xa):
    """The first target of unit u with a stream too short for one attempt, or -1."""
    for j in range(xa.upi[u, UI_T0], xa.upi[u, UI_T1]):
        for s in range(N_FSTREAMS):
            if xa.flen[s, j] - xa.fcur[s, j] < 1:
                return j
    return -1


@jit_handler
def _target_low(j, xa):
    for s in range(N_FSTREAMS):
        if xa.flen[s, j] - xa.fcur[s, j] < 1:
            return True
    return False


@jit_handler
def _push_pair(t, kind, slot, pair, token, c3, pa):
    """Schedule a pair event at t in `slot` (a new one when < 0); returns (heap_n, seq, free_n)."""
    heap_n, seq, free_n = c3
    j, mid, size, key, group, attempt, seg, used, first_t = pair
    if slot < 0:
        free_n -= 1
        slot = pa.free[free_n]
    ei = pa.ei
    ei[slot, E_KIND] = kind
    ei[slot, EP_TGT] = j
    ei[slot, EP_ID] = mid
    ei[slot, EP_SIZE] = size
    ei[slot, EP_KEY] = key
    ei[slot, EP_GROUP] = group
    ei[slot, EP_ATTEMPT] = attempt
    ei[slot, EP_SEG] = seg
    ei[slot, EP_USED] = used
    ei[slot, EP_TOKEN] = token
    pa.ef[slot, EPF_FIRST_T] = first_t
    heap_n = heap_push(pa.ht, pa.hs, pa.hv, heap_n, t, seq, slot)
    return heap_n, seq + 1, free_n


@jit_handler
def _pair_attempt(ta, p, pair, has_token, slot, c3, pa, xa):
    """One delivery attempt of a (message, target) pair at ta (FANOUT_SPEC.md, An attempt):
    held by the invocation quota, delivered after its latency, or failed (a retry after the
    policy's delay, else a dead letter or a drop). `slot`: the pair's event slot, or -1."""
    heap_n, seq, free_n = c3
    j, mid, size, key, group, attempt, seg, used, first_t = pair
    tpi, tcnt = xa.tpi, xa.tcnt
    u = tpi[j, TI_UNIT]
    rate = xa.upf[u, UF_INV_RATE]
    if rate < np.inf and has_token == 0:
        ust = xa.ust
        tok = min(xa.upf[u, UF_INV_BURST], ust[u, US_INV_TOK] + rate * (ta - ust[u, US_INV_LAST]))
        ust[u, US_INV_LAST] = ta
        tok -= 1.0
        ust[u, US_INV_TOK] = tok
        if tok < 0.0:
            tcnt[p, j, C_THROTTLED] += 1
            return _push_pair(ta + (-tok) / rate, K_PAIR, slot, pair, 1, (heap_n, seq, free_n), pa)
    tcnt[p, j, C_ATTEMPTS] += 1
    c = xa.ocur[j]
    end = tpi[j, TI_OUT_OFF] + tpi[j, TI_OUT_N]
    while c < end and xa.out_e[c] <= ta:
        c += 1
    xa.ocur[j] = c
    fail = c < end and xa.out_s[c] <= ta
    if not fail and xa.tpf[j, TF_FAIL] > 0.0:
        fail = _fdraw(xa, S_U, j) < xa.tpf[j, TF_FAIL]
    if not fail:
        td = ta + _fdraw(xa, S_LAT, j) / 1000.0
        if xa.upi[u, UI_FIFO] != 0 and group >= 0:
            if xa.flast[j, group] > td:
                td = xa.flast[j, group]
            xa.flast[j, group] = td
        tcnt[p, j, C_FINAL] += 1
        return _push_pair(td, K_DELIVER, slot, pair, 0, (heap_n, seq, free_n), pa)
    tcnt[p, j, C_FAILED_ATTEMPTS] += 1
    off = tpi[j, TI_POL_OFF]
    nseg = tpi[j, TI_POL_N]
    while seg < nseg and used == xa.seg_n[off + seg]:
        seg += 1
        used = 0
    retry = seg < nseg
    d = 0.0
    if retry:
        d = xa.seg_d[off + seg]
        used += 1
        if ta + d - first_t > xa.tpf[j, TF_MAX_AGE]:
            retry = False
    if retry:
        nxt = (j, mid, size, key, group, attempt + 1, seg, used, first_t)
        return _push_pair(ta + d, K_PAIR, slot, nxt, 0, (heap_n, seq, free_n), pa)
    tcnt[p, j, C_FINAL] += 1
    if tpi[j, TI_DLQ_PORT] >= 0:
        tcnt[p, j, C_DLQ] += 1
        return _push_pair(ta, K_DEAD_LETTER, slot, pair, 0, (heap_n, seq, free_n), pa)
    tcnt[p, j, C_DROPPED] += 1
    if slot >= 0:
        pa.free[free_n] = slot
        free_n += 1
    return heap_n, seq, free_n


@jit_handler
def _publish(t, u, item, p, c3, pa, xa):
    """A Publish or PutEvents entry of `item` to unit u at t: the put quota, then one attempt
    per (rule that matches, target of that rule). Returns (c3, accepted)."""
    mid, size, key, group = item
    upf, ust, gcnt = xa.upf, xa.ust, xa.gcnt
    rate = upf[u, UF_PUT_RATE]
    if rate < np.inf:
        tok = min(upf[u, UF_PUT_BURST], ust[u, US_PUT_TOK] + rate * (t - ust[u, US_PUT_LAST]))
        ust[u, US_PUT_LAST] = t
        if tok < 1.0:
            ust[u, US_PUT_TOK] = tok
            gcnt[p, u, C_PUT_THROTTLED] += 1
            return c3, False
        ust[u, US_PUT_TOK] = tok - 1.0
    gcnt[p, u, C_PUT] += 1
    gcnt[p, u, C_PUT_CHUNKS] += chunks_64kb(size)
    g = group if xa.upi[u, UI_FIFO] != 0 else np.int64(-1)
    any_match = False
    for r in range(xa.upi[u, UI_R0], xa.upi[u, UI_R1]):
        if xa.match[key, r]:
            any_match = True
            xa.rcnt[p, r] += 1
    if any_match:
        gcnt[p, u, C_MATCHED_ANY] += 1
    for j in range(xa.upi[u, UI_T0], xa.upi[u, UI_T1]):
        if not xa.match[key, xa.tpi[j, TI_RULE]]:
            xa.tcnt[p, j, C_FILTERED] += 1
            continue
        c3 = _pair_attempt(t, p, (j, mid, size, key, g, np.int64(0), np.int64(0), np.int64(0), t), 0,
                           np.int64(-1), c3, pa, xa)
    return c3, True


@jit_handler
def _enter(t, port, item, p, c, consts, pa, qa, xa):
    """An item created inside the account enters it at `port` at t: an asynchronous attempt
    of a function, a SendMessage, or a publish. Returns (c, offer)."""
    _mid, size, key, group = item
    rid = (port << ID_SEQ_BITS) | xa.port_seq[port]
    xa.port_seq[port] += 1
    f = xa.port_fn[port]
    if f >= 0:
        inv = xa.port_inv[port]
        req = (rid, port, inv, np.int64(0), np.int64(0), np.int64(0), t, np.nan, lambda_request_units(size, inv),
               size)
        return Q._function_attempt(t, f, req, p, c, consts, pa, qa)
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    q = xa.port_q[port]
    if q >= 0:
        heap_n, seq, free_n, offer = Q._send_msg((rid, q, size, max(group, 0), t, p), (heap_n, seq, free_n), pa, qa)
        c = (heap_n, seq, free_n, rows_n, unres_used, attempts)
        return c, (Q._offer_queue(q) if offer else Q._offer_none())
    (heap_n, seq, free_n), _ok = _publish(t, xa.port_unit[port], (rid, size, key, group), p, (heap_n, seq, free_n),
                                          pa, xa)
    return (heap_n, seq, free_n, rows_n, unres_used, attempts), Q._offer_none()


@jit_handler
def _pair_of(pa, s):
    ei = pa.ei
    return (ei[s, EP_TGT], ei[s, EP_ID], ei[s, EP_SIZE], ei[s, EP_KEY], ei[s, EP_GROUP], ei[s, EP_ATTEMPT],
            ei[s, EP_SEG], ei[s, EP_USED], pa.ef[s, EPF_FIRST_T])


@jit_handler
def on_pair(t, s, p, c, pa, xa):
    """A pair's retry (or its delivery held by the invocation quota) comes due: an attempt."""
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    heap_n, seq, free_n = _pair_attempt(t, p, _pair_of(pa, s), pa.ei[s, EP_TOKEN], s, (heap_n, seq, free_n), pa, xa)
    return (heap_n, seq, free_n, rows_n, unres_used, attempts), Q._offer_none()


@jit_handler
def on_deliver(t, s, p, c, consts, pa, qa, xa):
    """A successful delivery reaches its target: counted, then the item enters it."""
    j, mid, size, key, group, _a, _sg, _u, _ft = _pair_of(pa, s)
    xa.tcnt[p, j, C_DELIVERED] += 1
    xa.tcnt[p, j, C_DELIVERED_CHUNKS] += chunks_64kb(size)
    c = (c[0], c[1], Q._release(pa, c[2], s), c[3], c[4], c[5])
    port = xa.tpi[j, TI_PORT]
    if port < 0:
        return c, Q._offer_none()  # an endpoint outside the account (https, email)
    return _enter(t, port, (mid, size, key, group), p, c, consts, pa, qa, xa)


@jit_handler
def on_dead_letter(t, s, p, c, consts, pa, qa, xa):
    """A pair that failed for good enters its dead-letter queue."""
    j, mid, size, key, group, _a, _sg, _u, _ft = _pair_of(pa, s)
    c = (c[0], c[1], Q._release(pa, c[2], s), c[3], c[4], c[5])
    return _enter(t, xa.tpi[j, TI_DLQ_PORT], (mid, size, key, group), p, c, consts, pa, qa, xa)


@jit_handler
def on_publish(t, i, p, c, arr, pa, xa):
    """Arrival i is a publish to unit arr.unit[i]."""
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    (heap_n, seq, free_n), _ok = _publish(t, arr.unit[i], (arr.id[i], arr.size[i], arr.key[i], arr.gid[i]), p,
                                          (heap_n, seq, free_n), pa, xa)
    return (heap_n, seq, free_n, rows_n, unres_used, attempts), Q._offer_none()


@jit_handler
def _port_room(port, c, pa, qa, xa, e_min):
    """(status, which) for an item about to enter `port` (see _room)."""
    f = xa.port_fn[port]
    if f >= 0:
        if P._draws_low(pa.cur, pa.dlen, f):
            return NEED_DRAWS, f
        return DONE, np.int64(-1)
    u = xa.port_unit[port]
    if u >= 0:
        j = _unit_low(u, xa)
        if j >= 0:
            return NEED_FDRAWS, j
        if c[2] < e_min + xa.upi[u, UI_T1] - xa.upi[u, UI_T0]:
            return EVENTS_FULL, np.int64(-1)
    return DONE, np.int64(-1)


@jit_handler
def _froom(kind, s, i, c, arr, pa, qa, xa, e_min):
    """The fan-out's part of an event's room check: draws for the attempts it may make, event
    slots for the pairs it may schedule."""
    if kind == Q.K_ARRIVAL:
        u = arr.unit[i]
        if u < 0:
            return DONE, np.int64(-1)
        j = _unit_low(u, xa)
        if j >= 0:
            return NEED_FDRAWS, j
        if c[2] < e_min + xa.upi[u, UI_T1] - xa.upi[u, UI_T0]:
            return EVENTS_FULL, np.int64(-1)
        return DONE, np.int64(-1)
    if kind == K_PAIR:
        j = pa.ei[s, EP_TGT]
        if _target_low(j, xa):
            return NEED_FDRAWS, j
        return DONE, np.int64(-1)
    j = pa.ei[s, EP_TGT]
    port = xa.tpi[j, TI_PORT] if kind == K_DELIVER else xa.tpi[j, TI_DLQ_PORT]
    if port < 0:
        return DONE, np.int64(-1)
    return _port_room(port, c, pa, qa, xa, e_min)


@jit_loop
def run_account(t_stop, arr, a_start, pa, qa, xa):
    """Run every event with time < t_stop (arrivals `arr` from index a_start on).

    `arr` = `AccountArrivals`; `pa` = `PoolArrays`; `qa` = `QueueArrays`; `xa` =
    `AccountArrays`. Returns (status, next arrival index, which). The loop picks the next
    event (the heap before arrivals at equal times), checks there is room for it, and
    dispatches to its handler; the offer an event leaves pending runs after it, as
    resumable steps (queue_pool.offer).
    """
    na = arr.t.shape[0]
    g, gf, gq, gqf, ht, hs, hv, ei = pa.g, pa.gf, qa.gq, qa.gqf, pa.ht, pa.hs, pa.hv, pa.ei
    e_min = gq[Q.GQ_E_MIN]
    consts = (gf[P.GF_T_END], g[P.G_UNRES_CAP], e_min)
    period_s = gf[P.GF_PERIOD_S]
    last_p = pa.pmi.shape[0] - 1
    p = g[P.G_PERIOD]
    period_end = (p + 1) * period_s if p < last_p else np.inf
    i = a_start
    c = (g[P.G_HEAP_N], g[P.G_SEQ], g[P.G_FREE_N], g[P.G_ROWS_N], g[P.G_UNRES_USED], g[P.G_ATTEMPTS])
    o = (gq[Q.GQ_PEND_Q], gq[Q.GQ_PEND_PHASE], gq[Q.GQ_PEND_CUR], gq[Q.GQ_PEND_SCALE])
    t = gqf[Q.GQF_PEND_T]
    status = DONE
    which = np.int64(-1)
    while True:
        if o[0] < 0:
            # ---- the next event: internal (heap) before arrivals at equal times
            heap_n = c[0]
            use_heap = False
            if heap_n > 0 and ht[0] < t_stop:
                if i >= na or ht[0] <= arr.t[i]:
                    use_heap = True
            if not use_heap and (i >= na or arr.t[i] >= t_stop):
                break
            f = np.int64(-1)
            s = np.int64(-1)
            tseq = np.int64(-1)
            if use_heap:
                t = ht[0]
                s = hv[0]
                tseq = hs[0]
                if s >= 0:
                    kind = ei[s, E_KIND]
                    if kind <= K_RETRY:
                        f = ei[s, P.E_FN]
                else:
                    kind = Q.K_TIMER
            else:
                t = arr.t[i]
                kind = Q.K_ARRIVAL
                if arr.queue[i] < 0 and arr.unit[i] < 0:
                    f = arr.fn[i]
            status, which = Q._room(kind if kind < K_PAIR else Q.K_TIMER, s, f, c, pa, qa, e_min)
            if status != DONE:
                break
            if kind >= K_PAIR or (kind == Q.K_ARRIVAL and arr.unit[i] >= 0):
                status, which = _froom(kind, s, i, c, arr, pa, qa, xa, e_min)
                if status != DONE:
                    break
            if t >= period_end:
                p = Q.mq_advance(t, False, pa, qa)
                period_end = (p + 1) * period_s if p < last_p else np.inf
            if use_heap:
                heap_pop(ht, hs, hv, heap_n)
                c = (heap_n - 1, c[1], c[2], c[3], c[4], c[5])

            # ---- dispatch
            if kind == Q.K_TIMER:
                c, o = Q.on_visible(t, s, tseq, p, c, pa, qa)
            elif kind == K_COMPLETE:
                c, o = Q.on_complete(t, s, f, p, c, pa, qa)
            elif kind == K_RETRY:
                c, o = Q.on_retry(t, s, f, p, c, consts, pa, qa)
            elif kind == Q.K_ARRIVAL:
                if f >= 0:
                    c, o = Q.on_invoke(t, i, f, p, c, consts, arr, pa, qa)
                elif arr.queue[i] >= 0:
                    c, o = Q.on_send(t, i, p, c, arr, pa, qa)
                else:
                    c, o = on_publish(t, i, p, c, arr, pa, xa)
                i += 1
            elif kind == K_PAIR:
                c, o = on_pair(t, s, p, c, pa, xa)
            elif kind == K_DELIVER:
                c, o = on_deliver(t, s, p, c, consts, pa, qa, xa)
            elif kind == K_DEAD_LETTER:
                c, o = on_dead_letter(t, s, p, c, consts, pa, qa, xa)
            elif kind == Q.K_SCALE:
                c, o = Q.on_scale(t, s, c, pa, qa)
            elif kind == Q.K_WINDOW_END:
                c, o = Q.on_window_end(s, c, pa, qa)
            elif kind == Q.K_POLL_EMPTY:
                c, o = Q.on_poll_empty(t, s, p, c, pa, qa)
            else:
                c, o = Q.on_batch_done(t, s, p, c, pa, qa)
            if o[0] < 0:
                continue

        # ---- the offer the event left (or the one a previous call stopped in)
        c, o, status, which = Q.offer(t, p, c, o, consts, pa, qa)
        if status != DONE:
            break

    g[P.G_HEAP_N], g[P.G_SEQ], g[P.G_FREE_N], g[P.G_ROWS_N], g[P.G_UNRES_USED], g[P.G_ATTEMPTS] = c
    gq[Q.GQ_PEND_Q], gq[Q.GQ_PEND_PHASE], gq[Q.GQ_PEND_CUR], gq[Q.GQ_PEND_SCALE] = o
    gqf[Q.GQF_PEND_T] = t
    return status, i, which


@jit
def pending_by_target(ei, hv, heap_n, out):
    """Pairs still scheduled (retries, held and undelivered deliveries, dead letters not yet
    sent), per target: out[j] += 1."""
    for k in range(heap_n):
        s = hv[k]
        if s >= 0 and ei[s, E_KIND] >= K_PAIR:
            out[ei[s, EP_TGT]] += 1
