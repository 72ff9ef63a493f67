"""An Amazon MQ broker's data plane: persistent sends through one store, queues, consumers and failovers.

The model (its assumptions and sources: `sim/messaging/mq.py`), per message:

1. A producer's send at `t` to queue `q` (one persistent message of `size` bytes) is refused
   when the broker is down at `t` (a failover window `[f0, f1)`: REFUSED_DOWN), or when the
   store would overflow (`store_bytes + size > store_limit`, or the queue holds
   `max_messages`: REFUSED_FULL). Otherwise it is accepted: it holds its bytes and its place
   in the queue until it is acknowledged or dead-lettered.
2. The store is one first-come-first-served server: the message is written in `svc` seconds
   of the server's up time, after the messages accepted before it. A failover stops the
   server; a write under way resumes after it (preemptive resume), so writes accepted before
   a failure are stored after it (persistent: nothing is lost). It is then enqueued
   (EnqueueCount, QueueSize + 1).
3. Each queue has `slots` consumer sessions, each processing one message at a time. A ready
   message goes, first come first served (by the time it became ready, ties by event order),
   to a free session, at once if the broker is up, else when the failover ends. Its
   processing takes the queue's next drawn `proc_ms`; then:
   - a failover starting while it is processed (in `(dispatch, end]`) breaks the session: the
     message is redelivered (ready again) when that failover ends, and the session is free
     at the end of its processing;
   - else, with the queue's next uniform `u < failure_rate`, the consumer rolls it back: it
     is redelivered `redelivery_delay` after the end, or dead-lettered at the end when it
     was already redelivered `max_redeliveries` times for failures (QueueSize - 1);
   - else it is acknowledged at the end (DequeueCount; QueueSize - 1; its bytes freed).

Events at the same time run in this order: a failover's end, then timed events by (time,
insertion counter) (`kernels.heap`), then sends in their order. State lives in the arrays
handed in, so a stream of sends cut into several calls gives exactly the result of one call;
a call stops early when a queue's drawn values run out (it returns how many sends it took
and STARVED: hand it more draws and call again). Twin: `kernels/ref/broker.py`.
"""

import numpy as np

from kernels import jit
from kernels.heap import H_COLS, heap_pop, heap_push, heap_time
from kernels.histogram import hist_add

# Timed events (heap value = payload * N_EV + kind). STORED, READY, END_ACK and END_DLQ carry a
# message; END_FREE carries a queue (its message may be gone by then: redelivered and acked).
EV_STORED, EV_READY, EV_END_ACK, EV_END_DLQ, EV_END_FREE = range(5)
N_EV = 8
NONE = -1
OK, STARVED = 0, 1  # what a call returns beside the sends it took

# Scalars `ss` (int64) and `fs` (float64).
SS_HEAP_N, SS_SEQ, SS_FREE_HEAD, SS_LIVE, SS_STORE_BYTES, SS_FEND, SS_STARVED = range(7)
N_SS = 7
FS_NOW, FS_SERVER_FREE = range(2)
N_FS = 2
# Per queue `qs` (int64): free sessions, waiting list (head, tail), draws used, messages held
# (accepted, not acknowledged or dead-lettered), QueueSize (held and stored), deliveries in flight
# (sessions busy), messages in a consumer's hands (delivered, not yet ready again nor released).
QS_FREE, QS_HEAD, QS_TAIL, QS_CURSOR, QS_HELD, QS_DEPTH, QS_INFLIGHT, QS_PROCESSING = range(8)
N_QS = 8
# Per message `mi` (int64) and `mf` (float64).
MI_Q, MI_SIZE, MI_NEXT, MI_FAILS, MI_DELIVERIES = range(5)
N_MI = 5
MF_T_SENT, MF_T_STORED = range(2)
N_MF = 2
# Per period and queue counters `qc` (int64); EnqueueTime summed in µs (first deliveries).
(QC_SENT, QC_REFUSED_DOWN, QC_REFUSED_FULL, QC_ENQUEUED, QC_DISPATCHED, QC_ACKED, QC_REDELIVERED, QC_DEAD,
 QC_FIRST_DELIVERIES, QC_ENQUEUE_TIME_US, QC_DEPTH_MAX) = range(11)
N_QC = 11
# Per period broker counters `bc` (int64): offered store work (µs of `svc` of every send),
# store waits (µs, accepted sends), most bytes held.
BC_OFFERED_US, BC_STORE_WAIT_US, BC_STORE_BYTES_MAX = range(3)
N_BC = 3


def broker_state(n_queues: int, slots, capacity: int = 64):
    """(ss, fs, qs, mi, mf, hh): an empty broker at time 0 whose queue q has `slots[q]` sessions,
    room for `capacity` messages (a free list) and as many timed events."""
    ss = np.zeros(N_SS, np.int64)
    fs = np.zeros(N_FS, np.float64)
    qs = np.zeros((n_queues, N_QS), np.int64)
    qs[:, QS_FREE] = np.asarray(slots, np.int64)
    qs[:, QS_HEAD] = NONE
    qs[:, QS_TAIL] = NONE
    mi = np.zeros((capacity, N_MI), np.int64)
    mi[:, MI_NEXT] = np.arange(1, capacity + 1)
    mi[capacity - 1, MI_NEXT] = NONE
    mf = np.zeros((capacity, N_MF), np.float64)
    hh = np.zeros((capacity, H_COLS), np.int64)
    return ss, fs, qs, mi, mf, hh


@jit
def is_down(f0, f1, t):
    """Whether t lies in a failover window [f0[j], f1[j]) (sorted, disjoint)."""
    j = np.searchsorted(f1, t, side="right")
    return j < f0.shape[0] and f0[j] <= t


@jit
def store_done(f0, f1, start, svc):
    """When a write of `svc` s of up time starting at `start` ends: failovers pause it."""
    j = np.searchsorted(f1, start, side="right")
    rem = svc
    while True:
        if j < f0.shape[0] and f0[j] <= start:
            start = f1[j]
            j += 1
        elif j < f0.shape[0] and start + rem > f0[j]:
            rem -= f0[j] - start
            start = f1[j]
            j += 1
        else:
            return start + rem


@jit
def _period(t, period_s, n_periods):
    p = np.int64(t / period_s)
    return p if p < n_periods else n_periods - 1


@jit
def _push(ss, hh, t, v):
    ss[SS_HEAP_N] = heap_push(hh, ss[SS_HEAP_N], t, ss[SS_SEQ], v)
    ss[SS_SEQ] += 1


@jit
def _append(qs, mi, q, m):
    mi[m, MI_NEXT] = NONE
    if qs[q, QS_TAIL] == NONE:
        qs[q, QS_HEAD] = m
    else:
        mi[qs[q, QS_TAIL], MI_NEXT] = m
    qs[q, QS_TAIL] = m


@jit
def _release(ss, qs, mi, q, m):
    """Message m leaves the broker (acknowledged or dead-lettered): its bytes, its place, its row."""
    qs[q, QS_HELD] -= 1
    qs[q, QS_DEPTH] -= 1
    ss[SS_STORE_BYTES] -= mi[m, MI_SIZE]
    ss[SS_LIVE] -= 1
    mi[m, MI_NEXT] = ss[SS_FREE_HEAD]
    ss[SS_FREE_HEAD] = m


@jit
def _dispatch(ss, fs, qs, mi, mf, hh, f0, f1, q, proc_ms, fail_u, failure_rate, redelivery_s, max_redeliveries,
              qc, qhist, period_s):
    """Deliver queue q's waiting messages to its free sessions at `now` (the broker is up)."""
    now = fs[FS_NOW]
    n_periods = qc.shape[0]
    while qs[q, QS_FREE] > 0 and qs[q, QS_HEAD] != NONE:
        k = qs[q, QS_CURSOR]
        if k >= proc_ms.shape[1]:
            ss[SS_STARVED] = 1
            return
        m = qs[q, QS_HEAD]
        qs[q, QS_HEAD] = mi[m, MI_NEXT]
        if qs[q, QS_HEAD] == NONE:
            qs[q, QS_TAIL] = NONE
        qs[q, QS_FREE] -= 1
        qs[q, QS_INFLIGHT] += 1
        qs[q, QS_PROCESSING] += 1
        qs[q, QS_CURSOR] = k + 1
        p = _period(now, period_s, n_periods)
        qc[p, q, QC_DISPATCHED] += 1
        if mi[m, MI_DELIVERIES] == 0:
            wait_s = now - mf[m, MF_T_STORED]
            qc[p, q, QC_FIRST_DELIVERIES] += 1
            qc[p, q, QC_ENQUEUE_TIME_US] += np.int64(np.round(wait_s * 1e6))
            hist_add(qhist[q], wait_s * 1000.0)
        mi[m, MI_DELIVERIES] += 1
        end = now + proc_ms[q, k] / 1000.0
        j = np.searchsorted(f0, now, side="right")  # the first failover starting after now
        if j < f0.shape[0] and f0[j] <= end:
            _push(ss, hh, end, q * N_EV + EV_END_FREE)
            _push(ss, hh, f1[j], m * N_EV + EV_READY)
        elif fail_u[q, k] < failure_rate[q]:
            if mi[m, MI_FAILS] < max_redeliveries[q]:
                mi[m, MI_FAILS] += 1
                _push(ss, hh, end, q * N_EV + EV_END_FREE)
                _push(ss, hh, end + redelivery_s[q], m * N_EV + EV_READY)
            else:
                _push(ss, hh, end, m * N_EV + EV_END_DLQ)
        else:
            _push(ss, hh, end, m * N_EV + EV_END_ACK)


@jit
def run_broker(t, queue, size, svc, t1, ss, fs, qs, mi, mf, hh, f0, f1, store_limit, max_messages, proc_ms, fail_u,
               failure_rate, redelivery_s, max_redeliveries, period_s, qc, bc, qhist, whist):
    """Sends at times t (ascending, all < t1) to queues `queue`, of `size` bytes, each written
    to the store in `svc` s; then every event before t1. Returns (sends taken, OK or STARVED).

    `f0`, `f1`: the failover windows, sorted and disjoint. `proc_ms[q, k]` and `fail_u[q, k]`:
    queue q's k-th delivery's processing time and uniform (`qs[q, QS_CURSOR]` of them used).
    Per-queue `failure_rate`, `redelivery_s`, `max_redeliveries`, `max_messages` (-1: none).
    Counters per period (`period_s`; the last period takes what falls after it): `qc[p, q]`,
    `bc[p]`; histograms (ms): first-delivery waits `qhist[q]`, store waits `whist`.
    """
    n = t.shape[0]
    nq = qs.shape[0]
    nf = f0.shape[0]
    n_periods = qc.shape[0]
    inf = np.inf
    if ss[SS_STARVED] == 1:  # resume the deliveries a call stopped (all at its last event's time)
        ss[SS_STARVED] = 0
        if not is_down(f0, f1, fs[FS_NOW]):
            for q in range(nq):
                _dispatch(ss, fs, qs, mi, mf, hh, f0, f1, q, proc_ms, fail_u, failure_rate, redelivery_s,
                          max_redeliveries, qc, qhist, period_s)
                if ss[SS_STARVED] == 1:
                    return 0, STARVED
    i = 0
    while True:
        ta = t[i] if i < n else inf
        th = heap_time(hh, 0) if ss[SS_HEAP_N] > 0 else inf
        tf = f1[ss[SS_FEND]] if ss[SS_FEND] < nf else inf
        if i >= n and th >= t1 and tf >= t1:
            break
        if tf <= th and tf <= ta:  # a failover ends: deliver what waited
            fs[FS_NOW] = tf
            ss[SS_FEND] += 1
            for q in range(nq):
                _dispatch(ss, fs, qs, mi, mf, hh, f0, f1, q, proc_ms, fail_u, failure_rate, redelivery_s,
                          max_redeliveries, qc, qhist, period_s)
                if ss[SS_STARVED] == 1:
                    return i, STARVED
        elif th <= ta:
            fs[FS_NOW] = th
            v = heap_pop(hh, ss[SS_HEAP_N])
            ss[SS_HEAP_N] -= 1
            kind = v % N_EV
            x = v // N_EV
            p = _period(th, period_s, n_periods)
            if kind == EV_END_FREE:
                q = x
                qs[q, QS_FREE] += 1
                qs[q, QS_INFLIGHT] -= 1
            else:
                m = x
                q = mi[m, MI_Q]
                if kind == EV_STORED:
                    mf[m, MF_T_STORED] = th
                    qs[q, QS_DEPTH] += 1
                    qc[p, q, QC_ENQUEUED] += 1
                    if qs[q, QS_DEPTH] > qc[p, q, QC_DEPTH_MAX]:
                        qc[p, q, QC_DEPTH_MAX] = qs[q, QS_DEPTH]
                    _append(qs, mi, q, m)
                elif kind == EV_READY:
                    qc[p, q, QC_REDELIVERED] += 1
                    qs[q, QS_PROCESSING] -= 1
                    _append(qs, mi, q, m)
                else:  # acknowledged or dead-lettered at the end of its processing
                    qs[q, QS_FREE] += 1
                    qs[q, QS_INFLIGHT] -= 1
                    qs[q, QS_PROCESSING] -= 1
                    qc[p, q, QC_ACKED if kind == EV_END_ACK else QC_DEAD] += 1
                    _release(ss, qs, mi, q, m)
            if not is_down(f0, f1, th):
                _dispatch(ss, fs, qs, mi, mf, hh, f0, f1, q, proc_ms, fail_u, failure_rate, redelivery_s,
                          max_redeliveries, qc, qhist, period_s)
                if ss[SS_STARVED] == 1:
                    return i, STARVED
        else:  # a send
            fs[FS_NOW] = ta
            q = queue[i]
            p = _period(ta, period_s, n_periods)
            qc[p, q, QC_SENT] += 1
            bc[p, BC_OFFERED_US] += np.int64(np.round(svc[i] * 1e6))
            if is_down(f0, f1, ta):
                qc[p, q, QC_REFUSED_DOWN] += 1
            elif (ss[SS_STORE_BYTES] + size[i] > store_limit
                  or (max_messages[q] >= 0 and qs[q, QS_HELD] >= max_messages[q])):
                qc[p, q, QC_REFUSED_FULL] += 1
            else:
                m = ss[SS_FREE_HEAD]
                if m == NONE:
                    raise ValueError("the message rows are full: the caller keeps room for every send")
                ss[SS_FREE_HEAD] = mi[m, MI_NEXT]
                ss[SS_LIVE] += 1
                ss[SS_STORE_BYTES] += size[i]
                if ss[SS_STORE_BYTES] > bc[p, BC_STORE_BYTES_MAX]:
                    bc[p, BC_STORE_BYTES_MAX] = ss[SS_STORE_BYTES]
                qs[q, QS_HELD] += 1
                mi[m, MI_Q] = q
                mi[m, MI_SIZE] = size[i]
                mi[m, MI_NEXT] = NONE
                mi[m, MI_FAILS] = 0
                mi[m, MI_DELIVERIES] = 0
                mf[m, MF_T_SENT] = ta
                done = store_done(f0, f1, max(ta, fs[FS_SERVER_FREE]), svc[i])
                fs[FS_SERVER_FREE] = done
                wait_s = done - ta - svc[i]
                bc[p, BC_STORE_WAIT_US] += np.int64(np.round(wait_s * 1e6))
                hist_add(whist, wait_s * 1000.0)
                _push(ss, hh, done, m * N_EV + EV_STORED)
            i += 1
    return i, OK
