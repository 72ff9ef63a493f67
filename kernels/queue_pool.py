"""SQS queues, event source mappings and worker fleets inside the Lambda pool's event loop.

Semantics: `kernels/QUEUE_SPEC.md`; plain-Python twin: `kernels/ref/queue_pool.py`. The queues,
their mappings and fleets share the pool's heap and scheduling counter (one coupled group);
a mapping's invocation is a pool attempt, run by the pool's own inlined `pool_attempt`.
State: `sim.messaging.sqs_state.MessagingState`; this module also defines the parameters
(`QueueParams`, `MappingParams`, `FleetParams`) and AWS's constants the twin shares.

Shape (docs/DESIGN.md §2): the account's loop (`kernels.account.run_account`) only picks
the next event and dispatches it to its handler, one per event kind (`on_visible`, `on_complete`, `on_retry`, `on_invoke`,
`on_send`, `on_scale`, `on_window_end`, `on_poll_empty`, `on_batch_done`; inlined by
LLVM). Handlers take the state as named tuples of arrays (`PoolArrays`, `QueueArrays`)
and the loop's hot counters as one tuple of scalars, and return the counters and the offer
they leave pending: another service's handlers join the loop with their own tuple.

Data layout (flat arrays, no per-message objects):
- messages: rows of `mi` (int64) / `mf` (float64), recycled through the free stack `mfree`;
  a queue's visible list is an intrusive doubly linked list (`MSG_PREV`/`MSG_NEXT`), ordered
  by when messages became visible (FIFO queues: by enqueue order, inserted from the tail).
- `VISIBLE` events (end of a delay, a redrive, a visibility timeout) are not heap entries
  per message: their times are monotone per queue and kind (t + delay_s, t, t +
  visibility_timeout_s), so each (queue, kind) keeps a singly linked timer list through the
  messages (`MSG_TNEXT`, with the time and counter the event got when it was scheduled) and
  only its head sits in the heap (value `-1 - (N_TIMER_KINDS q + kind)`). A message has at most one
  pending timer; a message deleted while in flight keeps its row until its timer fires.
- consumers (pollers and workers): rows of `cs`; per queue an idle list and a batching
  list (doubly linked); a consumer's batch is a block of the item arena `it` (slot, mid,
  receipt, error), allocated on its first receive and kept for the slot's life.
- FIFO group locks: `glock[q, gid]` (in-flight messages of group gid in q), gid a dense
  index the caller assigns to group values.

Resumability: every event is handled whole, except its final offer of a queue, which is a
sequence of steps (one receive, and perhaps one invocation, each) that can stop before any
step for more draws, events, rows or arena room; the offer's position is kept in `gq` and
the next call goes on from there before anything else.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass

import numpy as np

from kernels import jit, jit_handler, jit_internal
from kernels import lambda_pool as P
from kernels.billing import chunks_64kb
from kernels.heap import heap_push
from kernels.histogram import hist_index
from kernels.lambda_pool import (
    DONE, E_ATTEMPT, E_FIRST_T, E_FN, E_ID, E_INV, E_KIND, E_SRC, EVENTS_FULL, G_ATTEMPTS, G_FREE_N,
    G_HEAP_N, G_PERIOD, G_ROWS_N, G_SEQ, G_UNRES_CAP, G_UNRES_USED, GF_PERIOD_S, GF_T_END, K_COMPLETE,
    K_RETRY, NEED_DRAWS, P_ON_FAIL_Q, ROWS_FULL, A_OK, A_THROTTLED, ASYNC, SYNC, TR_ROOT, TRF_LAST, PoolParams,
    _draws_low, arrival_request, entry_answer, pool_attempt, pool_complete, retry_request,
)

# ---- AWS's numbers (docs/FACTS.md; QUEUE_SPEC.md says how each is used)
# Event source mapping scaling (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html):
# 5 pollers to start; current model +300 a minute (5 a 1-s tick), cap 1,250; legacy +60 a
# minute (1 a tick), cap 1,000.
START_POLLERS = 5
SCALE_TICK_S = 1.0
SCALING = {0: (5, 1250), 1: (1, 1000)}  # legacy_scaling -> (pollers per tick, cap)
LONG_POLL_S = 20.0  # WaitTimeSeconds at most 20 s (sqs-short-and-long-polling.html)
BATCH_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invoke payload, 6 MB
RECEIVE_BATCH_MAX = 10  # messages per ReceiveMessage call (MaxNumberOfMessages 1-10)
DELETE_BATCH_MAX = 10  # messages per DeleteMessageBatch
FIFO_MAX_BATCH = 10  # a FIFO queue's mapping batch size: 1-10 (with-sqs.html)

# Per-period outputs (QUEUE_SPEC.md, "Per-period outputs"): the columns of `qpm_i` (int64
# [period, queue, col]), `qpm_f` (float64), `mpm` and `wpm` (int64); the twin's result has
# the same arrays (`period_queue`, `period_queue_f`, `period_mapping`, `period_fleet`).
QUEUE_PERIOD_INT = ("sent", "redriven_in", "received", "deleted", "dead_lettered", "expired",
                    "empty_receives", "receive_requests", "delete_requests", "stale_deletes",
                    "send_requests", "visible", "in_flight", "delayed", "wait_n")
(QP_SENT, QP_REDRIVEN_IN, QP_RECEIVED, QP_DELETED, QP_DEAD_LETTERED, QP_EXPIRED,
 QP_EMPTY_RECEIVES, QP_RECEIVE_REQUESTS, QP_DELETE_REQUESTS, QP_STALE_DELETES,
 QP_SEND_REQUESTS, QP_VISIBLE, QP_IN_FLIGHT, QP_DELAYED, QP_WAIT_N) = range(len(QUEUE_PERIOD_INT))
QUEUE_PERIOD_FLOAT = ("age_of_oldest_s", "visible_s", "wait_sum_s")
QPF_AGE_OLDEST_S, QPF_VISIBLE_S, QPF_WAIT_SUM_S = range(len(QUEUE_PERIOD_FLOAT))
MAPPING_PERIOD = ("batches_invoked", "batches_throttled", "max_concurrent_batches", "target")
MP_INVOKED, MP_THROTTLED, MP_CONC_MAX, MP_TARGET = range(len(MAPPING_PERIOD))
FLEET_PERIOD = ("batches", "messages", "max_busy")
WP_BATCHES, WP_MESSAGES, WP_BUSY_MAX = range(len(FLEET_PERIOD))


@dataclass
class QueueParams:
    """Static parameters, one list entry per queue."""

    visibility_timeout_s: list[float]
    retention_s: list[float]
    delay_s: list[float]
    max_receive_count: list[int]  # -1: no redrive
    dlq: list[int]  # -1: none
    in_flight_limit: list[int]
    fifo: list[int]  # 0/1


@dataclass
class MappingParams:
    """Static parameters, one list entry per event source mapping (queue -> function)."""

    queue: list[int]
    function: list[int]
    batch_size: list[int]
    window_s: list[float]
    max_concurrency: list[int]  # -1: the scaling cap
    report_failures: list[int]  # ReportBatchItemFailures, 0/1
    item_failure_rate: list[float]
    legacy_scaling: list[int]  # 0: current (+5/s, cap 1250), 1: legacy (+1/s, cap 1000)


@dataclass
class FleetParams:
    """Static parameters, one list entry per worker fleet (a non-Lambda consumer)."""

    queue: list[int]
    n_workers: list[int]
    max_messages: list[int]
    error_rate: list[float]


def validate_params(p: PoolParams, qp: QueueParams, mp: MappingParams, fp: FleetParams) -> None:
    """Reject configurations whose semantics QUEUE_SPEC.md leaves undefined (ValueError)."""
    n_q = len(qp.visibility_timeout_s)
    for q in range(n_q):
        if qp.max_receive_count[q] >= 0 and not 0 <= qp.dlq[q] < n_q:
            raise ValueError(f"queue {q}: max_receive_count {qp.max_receive_count[q]} needs a dlq")
        seen, d = {q}, qp.dlq[q]
        while d >= 0:
            if d in seen:
                raise ValueError(f"queue {q}: its dead-letter chain loops back to queue {d}")
            seen.add(d)
            d = qp.dlq[d]
    for m, q in enumerate(mp.queue):
        if qp.fifo[q] and mp.window_s[m] > 0:
            raise ValueError(f"mapping {m}: FIFO queue {q} takes no batching window")
        if qp.fifo[q] and mp.batch_size[m] > FIFO_MAX_BATCH:
            raise ValueError(f"mapping {m}: FIFO batch size {mp.batch_size[m]} > {FIFO_MAX_BATCH}")
        if mp.batch_size[m] < 1:
            raise ValueError(f"mapping {m}: batch size {mp.batch_size[m]} < 1")
    for w, n in enumerate(fp.max_messages):
        if n < 1:
            raise ValueError(f"fleet {w}: max_messages {n} < 1")
    for f, q in enumerate(p.on_failure_queue or ()):
        if q >= 0 and (q >= n_q or qp.fifo[q]):
            raise ValueError(f"function {f}: on-failure queue {q} must be a standard queue")


def mapping_scaling(p: PoolParams, mp: MappingParams, m: int) -> tuple[int, int, int]:
    """(pollers added per tick, floor, cap) of mapping m (QUEUE_SPEC.md, Scaling): the scaling
    model's cap, lowered by MaximumConcurrency; the floor is the start (5) or the lower
    MaximumConcurrency; the function's reserved concurrency caps scale-ups, not the floor."""
    rate, cap = SCALING[int(mp.legacy_scaling[m])]
    floor = cap
    if mp.max_concurrency[m] >= 0:
        floor = cap = min(cap, mp.max_concurrency[m])
    floor = min(floor, START_POLLERS)
    reserved = p.reserved[mp.function[m]]
    if reserved >= 0:
        cap = min(cap, reserved)
    return rate, floor, cap


def on_failure_mid(k: int) -> int:
    """The message id of the k-th on-failure destination message of a run (k = 0, 1, ...):
    negative, so it cannot collide with a send's id (sends must have ids >= 0)."""
    return -1 - k


# The kernel's arguments beside the pool's `PoolArrays`: the queues', mappings' and fleets'
# arrays (`sim.messaging.sqs_state.MessagingState.queue_arrays()`) and a window's arrivals.
QueueArrays = namedtuple("QueueArrays", ["qpi", "qpf", "qs", "qsf", "tl", "qm_start", "qm_idx", "mpi", "mpf", "ms",
                                         "pslot", "wpi", "wpf", "wbusy", "cs", "it", "mi", "mf", "mfree", "glock",
                                         "whist", "qpm_i", "qpm_f", "mpm", "wpm", "gq", "gqf", "mdraws", "mcur",
                                         "mlen", "steps_i", "steps_t"])
MqArrivals = namedtuple("MqArrivals", ["t", "id", "fn", "src", "inv", "dover", "units", "queue", "size", "gid"])

# Messaging random streams, by name: ITEM per mapping, PROC and WERR per fleet (the kernel's
# `mdraws` rows: ITEM m at m, PROC w at M + 2w, WERR w at M + 2w + 1).
MESSAGING_STREAMS = ("ITEM", "PROC", "WERR")

# Status codes beyond the pool's DONE, NEED_DRAWS (which = function), EVENTS_FULL, ROWS_FULL.
MSGS_FULL = 4
ITEMS_FULL = 5
STEPS_FULL = 6
NEED_MDRAWS = 7  # which = messaging stream (ITEM m: m; PROC w: M + 2w; WERR w: M + 2w + 1)

# Event kinds beyond the pool's K_COMPLETE and K_RETRY.
K_SCALE = 2  # EQ_MAPPING
K_WINDOW_END = 3  # EQ_CONSUMER, EQ_TOKEN
K_POLL_EMPTY = 4  # EQ_CONSUMER, EQ_TOKEN, EQF_DUE_T and EQ_DUE_SEQ (a deferred long poll)
K_BATCH_DONE = 5  # EQ_CONSUMER
# What the messaging events keep in the pool's event table (`ei`/`ef` columns the pool uses
# for a request's fields; a messaging event has no request). A K_COMPLETE of a mapping's
# invocation also carries its consumer (EQ_CONSUMER, -1: a function's own request) and
# whether the invocation failed (EQ_BATCH_ERR).
EQ_CONSUMER = E_ID
EQ_MAPPING = E_ID
EQ_TOKEN = E_ATTEMPT
EQ_DUE_SEQ = E_SRC
EQF_DUE_T = E_FIRST_T
EQ_BATCH_ERR = E_INV
K_TIMER = -1  # a timer list's head (heap value < 0)
K_ARRIVAL = -2

# Queue parameters: int64 `qpi`, float64 `qpf`.
QI_MRC = 0
QI_DLQ = 1
QI_LIMIT = 2
QI_FIFO = 3
N_QPI = 4
QF_VIS = 0
QF_RET = 1
QF_DELAY = 2
N_QPF = 3
# Queue state `qs` (int64) and `qsf` (float64); timer lists `tl[N_TIMER_KINDS q + kind,
# TL_HEAD / TL_TAIL / TL_IN_HEAP]` (whether the list has an entry in the heap).
QS_HEAD = 0
QS_TAIL = 1
QS_NVIS = 2
QS_NDELAYED = 3
QS_NINFL = 4
QS_NEXT_SEQ = 5
QS_IDLE_HEAD = 6
QS_IDLE_TAIL = 7
QS_BAT_HEAD = 8
QS_BAT_TAIL = 9
N_QS = 10
QSF_VIS_LAST = 0
QSF_WAIT_MIN_S = 1  # exact extremes of the first-receive waits beside `whist`: its
QSF_WAIT_MAX_S = 2  # percentiles are clamped to them (the minimum starts at +inf)
N_QSF = 3
TL_DELAY = 0
TL_REDRIVE = 1
TL_VIS = 2
N_TIMER_KINDS = 3
TL_HEAD = 0
TL_TAIL = 1
TL_IN_HEAP = 2
N_TL = 3
# Mappings: int64 `mpi`, float64 `mpf`, state `ms`.
MPI_Q = 0
MPI_FN = 1
MPI_BATCH = 2
MPI_REPORT = 3
MPI_FLOOR = 4
MPI_CAP = 5
MPI_RATE = 6
MPI_C0 = 7  # first consumer slot
MPI_NSLOT = 8
N_MPI = 9
MPF_WINDOW = 0
MPF_ITEM_RATE = 1
N_MPF = 2
MS_TARGET = 0
MS_NLIVE = 1
MS_RUNNING = 2
MS_TICKING = 3
MS_NFREE = 4  # free poller slots on the mapping's stack in `pslot`
N_MS = 5
# Fleets: int64 `wpi`, float64 `wpf`; busy workers `wbusy`.
WI_Q = 0
WI_MAX = 1
WI_N = 2
WI_C0 = 3
N_WPI = 4
WF_ERR = 0
N_WPF = 1
# Consumers `cs`.
C_KIND = 0
C_OWNER = 1
C_Q = 2
C_STATE = 3
C_TOKEN = 4
C_PREV = 5
C_NEXT = 6
C_BPREV = 7
C_BNEXT = 8
C_BN = 9
C_BBYTES = 10
C_OFF = 11  # item arena block (-1: none yet)
C_CAP = 12  # block size
C_PE = 13  # event slot of the consumer's POLL_EMPTY in the heap (-1: none); see _become_idle
N_CS = 14
POLLER = 0
WORKER = 1
CS_IDLE = 0
CS_BATCHING = 1
CS_BUSY = 2
CS_RETIRED = 3
# Messages: int64 `mi`, float64 `mf`.
MSG_MID = 0
MSG_Q = 1
MSG_STATE = 2
MSG_RC = 3
MSG_SEQ = 4
MSG_GROUP = 5
MSG_SIZE = 6
MSG_PREV = 7
MSG_NEXT = 8
MSG_TNEXT = 9
MSG_TSEQ = 10
MSG_TIMER = 11
MSG_TPREV = 12
MSG_KEY = 13  # its message class (filters downstream; what a batch's invocation carries)
MSG_TRACE = 14  # its trace's slot (lambda_pool TR_*), -1 none: its end is the trace's event
MSG_PSPAN = 15  # the span that sent it (the parent of its consumer's SERVER span), -1 none
N_MSG = 16
MSGF_SENT = 0
MSGF_ENTERED = 1
MSGF_TT = 2
N_MSGF = 3
ST_DELAYED = 0
ST_VISIBLE = 1
ST_INFLIGHT = 2
ST_DELETED = 3
ST_EXPIRED = 5
ST_FREE = 6
# Batch items `it`.
IT_SLOT = 0
IT_MID = 1
IT_RC = 2
IT_ERR = 3
IT_KEY = 4  # the message's class, trace and sender span as received: a batch is invoked
IT_TRACE = 5  # with its first item's, even if that message expired (and its row went to
IT_PSPAN = 6  # another message) while the batch waited for its window
N_IT = 7
# Globals `gq` (int64) and `gqf` (float64).
GQ_BATCHES = 0
GQ_FAIL_SENDS = 1
GQ_MFREE_N = 2
GQ_ITEMS_N = 3
GQ_STEPS_N = 4
GQ_PEND_Q = 5
GQ_PEND_PHASE = 6
GQ_PEND_CUR = 7
GQ_PEND_SCALE = 8
GQ_E_MIN = 9
N_GQ = 10
GQF_PEND_T = 0
N_GQF = 1

# Scaling steps `steps_i[k, STEP_MAPPING / STEP_TARGET]` (int64), their times `steps_t[k]`.
STEP_MAPPING = 0
STEP_TARGET = 1
N_STEP = 2

NO_CAP = 1e300  # a worker's receive has no payload cap


@jit_handler
def _integ(qs, qsf, qpm_f, p, q, t):
    """∫ visible count dt up to t, into period p (before the count changes)."""
    qpm_f[p, q, QPF_VISIBLE_S] += qs[q, QS_NVIS] * (t - qsf[q, QSF_VIS_LAST])
    qsf[q, QSF_VIS_LAST] = t


@jit_handler
def _unlink(nodes, s, prev_col, next_col, ends, row, head_col, tail_col):
    """Take node s off an intrusive doubly linked list: links in `nodes` columns
    prev_col / next_col, the list's ends in `ends[row, head_col / tail_col]`."""
    a = nodes[s, prev_col]
    b = nodes[s, next_col]
    if a >= 0:
        nodes[a, next_col] = b
    else:
        ends[row, head_col] = b
    if b >= 0:
        nodes[b, prev_col] = a
    else:
        ends[row, tail_col] = a


@jit_handler
def _link_after(nodes, s, prev, prev_col, next_col, ends, row, head_col, tail_col):
    """Put node s after node `prev` (-1: at the head) of the list `_unlink` describes."""
    nxt = nodes[prev, next_col] if prev >= 0 else ends[row, head_col]
    nodes[s, prev_col] = prev
    nodes[s, next_col] = nxt
    if prev >= 0:
        nodes[prev, next_col] = s
    else:
        ends[row, head_col] = s
    if nxt >= 0:
        nodes[nxt, prev_col] = s
    else:
        ends[row, tail_col] = s


@jit_handler
def _vis_unlink(mi, qs, q, s):
    _unlink(mi, s, MSG_PREV, MSG_NEXT, qs, q, QS_HEAD, QS_TAIL)
    qs[q, QS_NVIS] -= 1


@jit_handler
def _free_msg(mi, mfree, gq, s, state, t, trf):
    """Message s ends at t (deleted or expired): its trace's last event so far."""
    tr = mi[s, MSG_TRACE]
    if tr >= 0:
        trf[tr, TRF_LAST] = t
    mi[s, MSG_STATE] = state
    mfree[gq[GQ_MFREE_N]] = s
    gq[GQ_MFREE_N] += 1


@jit_handler
def _timer(mi, mf, tl, hh, heap_n, seq, q, kind, s, tt):
    """Schedule message s's VISIBLE at tt on q's timer list `kind`; returns (heap_n, seq)."""
    li = N_TIMER_KINDS * q + kind
    mf[s, MSGF_TT] = tt
    mi[s, MSG_TSEQ] = seq
    mi[s, MSG_TIMER] = 1
    _link_after(mi, s, tl[li, TL_TAIL], MSG_TPREV, MSG_TNEXT, tl, li, TL_HEAD, TL_TAIL)
    if tl[li, TL_IN_HEAP] == 0:
        tl[li, TL_IN_HEAP] = 1
        heap_n = heap_push(hh, heap_n, tt, seq, -1 - li)
    return heap_n, seq + 1


@jit_handler
def _timer_unlink(mi, tl, li, s):
    """Take message s off timer list li (its timer will not fire). The list's heap entry
    stays; when it comes out it finds another head (or none) and acts on that."""
    _unlink(mi, s, MSG_TPREV, MSG_TNEXT, tl, li, TL_HEAD, TL_TAIL)
    mi[s, MSG_TIMER] = 0


@jit_handler
def _push_event(ei, free, hh, heap_n, seq, free_n, t, kind, ident, token):
    """Schedule a messaging event; returns (heap_n, seq, free_n)."""
    free_n -= 1
    s = free[free_n]
    ei[s, E_KIND] = kind
    ei[s, E_FN] = -1
    ei[s, EQ_CONSUMER] = ident  # (EQ_MAPPING for a K_SCALE: the same column)
    ei[s, EQ_TOKEN] = token
    heap_n = heap_push(hh, heap_n, t, seq, s)
    return heap_n, seq + 1, free_n


@jit_handler
def _become_idle(c, t, cs, ms, mpi, pslot, wbusy, qs, ei, ef, free, hh, heap_n, seq, free_n):
    """Consumer c has no work: a poller above target retires, else it starts a long poll.

    A consumer keeps at most one POLL_EMPTY in the heap (slot `C_PE`). A long poll that
    starts while an older one is still in the heap (always due earlier: due times grow per
    consumer) does not push a second entry: it writes its token, due time and scheduling
    counter into that entry's row (`EQ_TOKEN`, `EQF_DUE_T`, `EQ_DUE_SEQ`), and when the old
    entry comes out of the heap it goes back in at the stored (time, counter) — the place a
    fresh push would have had. Without this, every batch left a stale entry for 20 s: at
    2,000 batches a second, a heap of 40,000 dead events."""
    cs[c, C_BN] = 0
    cs[c, C_BBYTES] = 0
    o = cs[c, C_OWNER]
    if cs[c, C_KIND] == WORKER:
        if cs[c, C_STATE] == CS_BUSY:
            wbusy[o] -= 1
    elif ms[o, MS_NLIVE] > ms[o, MS_TARGET]:
        cs[c, C_STATE] = CS_RETIRED
        ms[o, MS_NLIVE] -= 1
        pslot[mpi[o, MPI_C0] + ms[o, MS_NFREE]] = c
        ms[o, MS_NFREE] += 1
        return heap_n, seq, free_n
    cs[c, C_STATE] = CS_IDLE
    cs[c, C_TOKEN] += 1
    q = cs[c, C_Q]
    _link_after(cs, c, qs[q, QS_IDLE_TAIL], C_PREV, C_NEXT, qs, q, QS_IDLE_HEAD, QS_IDLE_TAIL)
    pe = cs[c, C_PE]
    if pe >= 0:  # defer the entry already in the heap (see above)
        ei[pe, EQ_TOKEN] = cs[c, C_TOKEN]
        ei[pe, EQ_DUE_SEQ] = seq
        ef[pe, EQF_DUE_T] = t + LONG_POLL_S
        return heap_n, seq + 1, free_n
    free_n -= 1
    pe = free[free_n]
    ei[pe, E_KIND] = K_POLL_EMPTY
    ei[pe, E_FN] = -1
    ei[pe, EQ_CONSUMER] = c
    ei[pe, EQ_TOKEN] = cs[c, C_TOKEN]
    ei[pe, EQ_DUE_SEQ] = seq
    ef[pe, EQF_DUE_T] = t + LONG_POLL_S
    cs[c, C_PE] = pe
    heap_n = heap_push(hh, heap_n, t + LONG_POLL_S, seq, pe)
    return heap_n, seq + 1, free_n


@jit_handler
def _idle_unlink(cs, qs, q, c):
    _unlink(cs, c, C_PREV, C_NEXT, qs, q, QS_IDLE_HEAD, QS_IDLE_TAIL)


@jit_handler
def _make_visible(s, t, p, qpi, qpf, qs, qsf, qm_start, qm_idx, ms, mi, mf, mfree, gq, qpm_i, qpm_f, ei, free, hh, heap_n, seq, free_n, trf):
    """Expire message s, or make it visible and restart its queue's scaling ticks.

    Returns (heap_n, seq, free_n, offer): whether the queue is to be offered."""
    q = mi[s, MSG_Q]
    if t >= mf[s, MSGF_SENT] + qpf[q, QF_RET]:
        qpm_i[p, q, QP_EXPIRED] += 1
        _free_msg(mi, mfree, gq, s, ST_EXPIRED, t, trf)
        return heap_n, seq, free_n, False
    _integ(qs, qsf, qpm_f, p, q, t)
    mi[s, MSG_STATE] = ST_VISIBLE
    prev = qs[q, QS_TAIL]
    if qpi[q, QI_FIFO] != 0:
        sq = mi[s, MSG_SEQ]
        while prev >= 0 and mi[prev, MSG_SEQ] > sq:
            prev = mi[prev, MSG_PREV]
    _link_after(mi, s, prev, MSG_PREV, MSG_NEXT, qs, q, QS_HEAD, QS_TAIL)
    qs[q, QS_NVIS] += 1
    for k in range(qm_start[q], qm_start[q + 1]):
        m = qm_idx[k]
        if ms[m, MS_TICKING] == 0:
            ms[m, MS_TICKING] = 1
            heap_n, seq, free_n = _push_event(ei, free, hh, heap_n, seq, free_n,
                                              t + SCALE_TICK_S, K_SCALE, m, 0)
    return heap_n, seq, free_n, True


@jit_handler
def _send(req, counters, tl, qpi, qpf, qs, qsf, qm_start, qm_idx, ms, mi, mf, mfree, gq, qpm_i, qpm_f, ei, free, hh, trf):
    """SendMessage `req` = (mid, q, size, gid, t, p, key, trace, pspan); `counters` = (heap_n,
    seq, free_n). Returns (heap_n, seq, free_n, offer)."""
    mid, q, size, gid, t, p, key, trace, pspan = req
    heap_n, seq, free_n = counters
    n = gq[GQ_MFREE_N] - 1
    gq[GQ_MFREE_N] = n
    s = mfree[n]
    mi[s, MSG_MID] = mid
    mi[s, MSG_Q] = q
    mi[s, MSG_SIZE] = size
    mi[s, MSG_GROUP] = gid
    mi[s, MSG_KEY] = key
    mi[s, MSG_TRACE] = trace
    mi[s, MSG_PSPAN] = pspan
    mi[s, MSG_TIMER] = 0
    mi[s, MSG_RC] = 0
    mi[s, MSG_SEQ] = qs[q, QS_NEXT_SEQ]
    qs[q, QS_NEXT_SEQ] += 1
    mf[s, MSGF_SENT] = t
    mf[s, MSGF_ENTERED] = t
    qpm_i[p, q, QP_SENT] += 1
    qpm_i[p, q, QP_SEND_REQUESTS] += chunks_64kb(size)
    delay = qpf[q, QF_DELAY]
    if delay > 0:
        mi[s, MSG_STATE] = ST_DELAYED
        qs[q, QS_NDELAYED] += 1
        heap_n, seq = _timer(mi, mf, tl, hh, heap_n, seq, q, TL_DELAY, s, t + delay)
        return heap_n, seq, free_n, False
    return _make_visible(s, t, p, qpi, qpf, qs, qsf, qm_start, qm_idx, ms, mi, mf, mfree, gq, qpm_i, qpm_f, ei, free, hh, heap_n, seq, free_n, trf)


@jit_handler
def _receive(q, off, n_max, have, have_bytes, cap_bytes, t, p, qpi, qpf, qs, qsf, tl, mi, mf, mfree, glock, whist, qpm_i, qpm_f, it, gq, hh, heap_n, seq, trf):
    """One receive of up to n_max messages of q into it[off:], for a batch already holding
    `have` (QUEUE_SPEC.md's order of checks). Returns (got, bytes, payload_full, over_limit,
    heap_n, seq)."""
    got = 0
    size = 0
    group = -1
    payload_full = False
    over_limit = False
    fifo = qpi[q, QI_FIFO] != 0
    ret = qpf[q, QF_RET]
    mrc = qpi[q, QI_MRC]
    call_n = 0
    call_bytes = 0
    node = qs[q, QS_HEAD]
    while node >= 0 and got < n_max:
        nxt = mi[node, MSG_NEXT]
        if t >= mf[node, MSGF_SENT] + ret:
            _integ(qs, qsf, qpm_f, p, q, t)
            _vis_unlink(mi, qs, q, node)
            qpm_i[p, q, QP_EXPIRED] += 1
            _free_msg(mi, mfree, gq, node, ST_EXPIRED, t, trf)
            node = nxt
            continue
        gid = mi[node, MSG_GROUP]
        if fifo:
            if group < 0:
                if glock[q, gid] > 0:
                    node = nxt
                    continue
            elif gid != group:
                node = nxt
                continue
        msize = mi[node, MSG_SIZE]
        if have + got > 0 and have_bytes + size + msize > cap_bytes:
            payload_full = True
            break
        if qs[q, QS_NINFL] >= qpi[q, QI_LIMIT]:
            over_limit = True
            break
        _integ(qs, qsf, qpm_f, p, q, t)
        _vis_unlink(mi, qs, q, node)
        rc = mi[node, MSG_RC] + 1
        if mrc >= 0 and rc > mrc:
            # dead-lettered: into the DLQ as if delayed by zero, keeping sent_t
            d = qpi[q, QI_DLQ]
            qpm_i[p, q, QP_DEAD_LETTERED] += 1
            qpm_i[p, d, QP_REDRIVEN_IN] += 1
            mi[node, MSG_Q] = d
            mi[node, MSG_SEQ] = qs[d, QS_NEXT_SEQ]
            qs[d, QS_NEXT_SEQ] += 1
            mi[node, MSG_RC] = 0
            mf[node, MSGF_ENTERED] = t
            mi[node, MSG_STATE] = ST_DELAYED
            qs[d, QS_NDELAYED] += 1
            heap_n, seq = _timer(mi, mf, tl, hh, heap_n, seq, d, TL_REDRIVE, node, t)
            node = nxt
            continue
        mi[node, MSG_RC] = rc
        mi[node, MSG_STATE] = ST_INFLIGHT
        qs[q, QS_NINFL] += 1
        if fifo:
            glock[q, gid] += 1
        heap_n, seq = _timer(mi, mf, tl, hh, heap_n, seq, q, TL_VIS, node, t + qpf[q, QF_VIS])
        qpm_i[p, q, QP_RECEIVED] += 1
        if rc == 1:
            wait = t - mf[node, MSGF_ENTERED]
            qpm_i[p, q, QP_WAIT_N] += 1
            qpm_f[p, q, QPF_WAIT_SUM_S] += wait
            whist[q, hist_index(wait * 1000.0)] += 1
            if wait < qsf[q, QSF_WAIT_MIN_S]:
                qsf[q, QSF_WAIT_MIN_S] = wait
            if wait > qsf[q, QSF_WAIT_MAX_S]:
                qsf[q, QSF_WAIT_MAX_S] = wait
        k = off + got
        it[k, IT_SLOT] = node
        it[k, IT_MID] = mi[node, MSG_MID]
        it[k, IT_RC] = rc
        it[k, IT_KEY] = mi[node, MSG_KEY]
        it[k, IT_TRACE] = mi[node, MSG_TRACE]
        it[k, IT_PSPAN] = mi[node, MSG_PSPAN]
        got += 1
        size += msize
        group = gid
        call_n += 1
        call_bytes += msize
        if call_n == RECEIVE_BATCH_MAX:
            qpm_i[p, q, QP_RECEIVE_REQUESTS] += chunks_64kb(call_bytes)
            call_n = 0
            call_bytes = 0
        node = nxt
    if call_n > 0:
        qpm_i[p, q, QP_RECEIVE_REQUESTS] += chunks_64kb(call_bytes)
    return got, size, payload_full, over_limit, heap_n, seq


@jit_handler
def _delete_item(k, q, t, p, it, mi, qs, qsf, qpm_f, qpm_i, qpi, glock, mfree, gq, tl, trf):
    """The delete of batch item k (a DeleteMessageBatch entry) addressed to q."""
    s = it[k, IT_SLOT]
    st = mi[s, MSG_STATE]
    if (mi[s, MSG_MID] == it[k, IT_MID] and mi[s, MSG_Q] == q and (st == ST_VISIBLE or st == ST_INFLIGHT)
            and mi[s, MSG_RC] == it[k, IT_RC]):
        if st == ST_VISIBLE:
            _integ(qs, qsf, qpm_f, p, q, t)
            _vis_unlink(mi, qs, q, s)
        else:
            qs[q, QS_NINFL] -= 1
            if qpi[q, QI_FIFO] != 0:
                glock[q, mi[s, MSG_GROUP]] -= 1
        qpm_i[p, q, QP_DELETED] += 1
        if mi[s, MSG_TIMER] != 0:
            # its visibility timeout would do nothing: off the list, so the row is free now
            # (a deleted message's VISIBLE is a no-op in QUEUE_SPEC.md; rows are not observable)
            _timer_unlink(mi, tl, N_TIMER_KINDS * q + TL_VIS, s)
        _free_msg(mi, mfree, gq, s, ST_DELETED, t, trf)
    else:
        qpm_i[p, q, QP_STALE_DELETES] += 1


@jit_internal
def _mq_close_period(p, b, qa):
    """Snapshot the queues and mappings at b, the end of period p."""
    qs, qsf, qpm_i, qpm_f, mi, mf = qa.qs, qa.qsf, qa.qpm_i, qa.qpm_f, qa.mi, qa.mf
    for q in range(qs.shape[0]):
        _integ(qs, qsf, qpm_f, p, q, b)
        qpm_i[p, q, QP_VISIBLE] = qs[q, QS_NVIS]
        qpm_i[p, q, QP_IN_FLIGHT] = qs[q, QS_NINFL]
        qpm_i[p, q, QP_DELAYED] = qs[q, QS_NDELAYED]
        oldest = np.inf
        node = qs[q, QS_HEAD]
        while node >= 0:
            if mf[node, MSGF_SENT] < oldest:
                oldest = mf[node, MSGF_SENT]
            node = mi[node, MSG_NEXT]
        qpm_f[p, q, QPF_AGE_OLDEST_S] = b - oldest if qs[q, QS_NVIS] > 0 else 0.0
    for m in range(qa.ms.shape[0]):
        qa.mpm[p, m, MP_TARGET] = qa.ms[m, MS_TARGET]


@jit_internal
def _mq_open_period(p, qa):
    for m in range(qa.ms.shape[0]):
        qa.mpm[p, m, MP_CONC_MAX] = qa.ms[m, MS_RUNNING]
    for w in range(qa.wbusy.shape[0]):
        qa.wpm[p, w, WP_BUSY_MAX] = qa.wbusy[w]


@jit_internal
def mq_advance(t, to_last, pa, qa):
    """Close every period before t's (or, with to_last, before the last); returns the period."""
    g, gf = pa.g, pa.gf
    last = pa.pmi.shape[0] - 1
    if to_last:
        p = last
    elif g[G_PERIOD] < last and t >= (g[G_PERIOD] + 1) * gf[GF_PERIOD_S]:
        p = min(int(t // gf[GF_PERIOD_S]), last)
    else:
        return g[G_PERIOD]
    nf = pa.fs.shape[0]
    while g[G_PERIOD] < p:
        b = (g[G_PERIOD] + 1) * gf[GF_PERIOD_S]
        _mq_close_period(g[G_PERIOD], b, qa)
        P._close_period(g[G_PERIOD], nf, pa.pmi, pa.pmf, pa.phist)
        g[G_PERIOD] += 1
        P._open_period(g[G_PERIOD], nf, pa.fs, pa.pmi, pa.pmf)
        _mq_open_period(g[G_PERIOD], qa)
    return g[G_PERIOD]


@jit
def mq_control_provisioned(t, f, n, pa, qa):
    """Control change at t (between windows): f keeps n provisioned environments."""
    p = mq_advance(t, False, pa, qa)
    P.set_provisioned(pa.fs, pa.ft, pa.fpi, pa.g, pa.pmi, f, n, t, p)


@jit
def mq_init(pa, qa):
    """t = 0: each mapping's floor pollers, then each fleet's workers, become idle."""
    g, mpi, ms, pslot, wpi = pa.g, qa.mpi, qa.ms, qa.pslot, qa.wpi
    c = (g[G_HEAP_N], g[G_SEQ], g[G_FREE_N])
    for m in range(mpi.shape[0]):
        for _ in range(mpi[m, MPI_FLOOR]):
            ms[m, MS_NFREE] -= 1
            cons = pslot[mpi[m, MPI_C0] + ms[m, MS_NFREE]]
            ms[m, MS_NLIVE] += 1
            c = _idle(cons, 0.0, c, pa, qa)
    for w in range(wpi.shape[0]):
        for k in range(wpi[w, WI_N]):
            c = _idle(wpi[w, WI_C0] + k, 0.0, c, pa, qa)
    g[G_HEAP_N], g[G_SEQ], g[G_FREE_N] = c


@jit
def mq_finish(pa, qa):
    """End of run (t_end): close the periods before the last, expire visible messages past
    their retention, snapshot the last period at t_end and close the pool's periods."""
    qs, qsf, qpf, mi, mf = qa.qs, qa.qsf, qa.qpf, qa.mi, qa.mf
    t_end = pa.gf[GF_T_END]
    p = mq_advance(t_end, True, pa, qa)
    for q in range(qs.shape[0]):
        node = qs[q, QS_HEAD]
        while node >= 0:
            nxt = mi[node, MSG_NEXT]
            if t_end >= mf[node, MSGF_SENT] + qpf[q, QF_RET]:
                _integ(qs, qsf, qa.qpm_f, p, q, t_end)
                _vis_unlink(mi, qs, q, node)
                qa.qpm_i[p, q, QP_EXPIRED] += 1
                _free_msg(mi, qa.mfree, qa.gq, node, ST_EXPIRED, t_end, pa.trf)
            node = nxt
    _mq_close_period(p, t_end, qa)
    P.finish_periods(pa.g, pa.fs.shape[0], pa.fs, pa.pmi, pa.pmf, pa.phist)


# ---- the event handlers of the account's loop (kernels.account.run_account), one per event kind (inlined)
#
# Each takes the event, the period p, the loop's counters `c` = (heap_n, seq, free_n,
# rows_n, unres_used, attempts), if it needs them the run's constants `consts` = (t_end,
# unres_cap, e_min), and the state (`pa`: the pool's arrays, `qa`: the
# queues'), and returns the new counters and the offer the event leaves pending:
# `o` = (queue or -1, phase, consumer, mapping whose SCALE tick waits for the offer or -1).
# The counters are scalars the loop keeps in registers between events (see run_pool).


@jit_handler
def _offer_none():
    return (np.int64(-1), np.int64(1), np.int64(-1), np.int64(-1))


@jit_handler
def _offer_queue(q):
    """An offer of queue q to its batching pollers, then its idle consumers."""
    return (np.int64(q), np.int64(1), np.int64(-1), np.int64(-1))


@jit_handler
def _release(pa, free_n, s):
    """Event slot s back on the free stack; returns the new free count."""
    pa.free[free_n] = s
    return free_n + 1


@jit_handler
def _idle(cons, t, c3, pa, qa):
    """`_become_idle` of consumer `cons` at t on (heap_n, seq, free_n) `c3`."""
    heap_n, seq, free_n = c3
    return _become_idle(cons, t, qa.cs, qa.ms, qa.mpi, qa.pslot, qa.wbusy, qa.qs, pa.ei, pa.ef, pa.free,
                        pa.hh, heap_n, seq, free_n)


@jit_handler
def _room(kind, s, f, c, pa, qa, e_min):
    """(status, which): DONE when the event has every buffer it may need, else what it lacks."""
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    if f >= 0 and _draws_low(pa.cur, pa.dlen, f):
        return NEED_DRAWS, f
    if kind == K_COMPLETE and pa.ei[s, EQ_CONSUMER] >= 0:
        cons = pa.ei[s, EQ_CONSUMER]
        m = qa.cs[cons, C_OWNER]
        if qa.mpi[m, MPI_REPORT] != 0 and qa.mlen[m] - qa.mcur[m] < qa.cs[cons, C_BN]:
            return NEED_MDRAWS, m
    if free_n < e_min:
        return EVENTS_FULL, -1
    if rows_n + 1 > pa.ri.shape[0]:
        return ROWS_FULL, -1
    if qa.gq[GQ_MFREE_N] < 2:
        return MSGS_FULL, -1
    if kind == K_SCALE and qa.gq[GQ_STEPS_N] + 1 > qa.steps_t.shape[0]:
        return STEPS_FULL, -1
    return DONE, -1


@jit_handler
def on_visible(t, s, tseq, p, c, pa, qa):
    """VISIBLE: the head of a timer list is due (the end of a delay, a redrive or a
    visibility timeout)."""
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    tl, mi, mf, qs = qa.tl, qa.mi, qa.mf, qa.qs
    li = -1 - s
    q = li // N_TIMER_KINDS
    ms_ = tl[li, TL_HEAD]
    if ms_ < 0:
        tl[li, TL_IN_HEAP] = 0  # every timer on the list was taken off (deletes)
        return c, _offer_none()
    if mi[ms_, MSG_TSEQ] != tseq:
        # the head it was pushed for was taken off: back in for the new head, at that head's
        # own time and counter
        heap_n = heap_push(pa.hh, heap_n, mf[ms_, MSGF_TT], mi[ms_, MSG_TSEQ], s)
        return (heap_n, seq, free_n, rows_n, unres_used, attempts), _offer_none()
    nxt = mi[ms_, MSG_TNEXT]
    tl[li, TL_HEAD] = nxt
    if nxt < 0:
        tl[li, TL_TAIL] = -1
        tl[li, TL_IN_HEAP] = 0
    else:
        mi[nxt, MSG_TPREV] = -1
        heap_n = heap_push(pa.hh, heap_n, mf[nxt, MSGF_TT], mi[nxt, MSG_TSEQ], s)
    mi[ms_, MSG_TIMER] = 0
    if mi[ms_, MSG_STATE] == ST_DELAYED:
        qs[q, QS_NDELAYED] -= 1
    else:
        qs[q, QS_NINFL] -= 1
        if qa.qpi[q, QI_FIFO] != 0:
            qa.glock[q, mi[ms_, MSG_GROUP]] -= 1
    heap_n, seq, free_n, offer = _make_visible(
        ms_, t, p, qa.qpi, qa.qpf, qs, qa.qsf, qa.qm_start, qa.qm_idx, qa.ms, mi, mf, qa.mfree, qa.gq,
        qa.qpm_i, qa.qpm_f, pa.ei, pa.free, pa.hh, heap_n, seq, free_n, pa.trf)
    c = (heap_n, seq, free_n, rows_n, unres_used, attempts)
    return c, (_offer_queue(q) if offer else _offer_none())


@jit_handler
def on_complete(t, s, f, p, c, pa, qa):
    """A completion: the pool frees the environment; a mapping's batch is then deleted (all of
    it, or the items that did not fail under ReportBatchItemFailures) unless the invocation
    failed, and its poller goes idle."""
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    ei = pa.ei
    unres_used = pool_complete(t, f, s, pa.fpi, pa.fs, pa.ft, pa.ef, ei, pa.stack_birth, pa.stack_expire,
                               pa.draws, pa.cur, unres_used)
    cons = ei[s, EQ_CONSUMER]
    err = ei[s, EQ_BATCH_ERR]
    free_n = _release(pa, free_n, s)
    if cons < 0:
        return (heap_n, seq, free_n, rows_n, unres_used, attempts), _offer_none()
    cs, mpi, it, mi, qs = qa.cs, qa.mpi, qa.it, qa.mi, qa.qs
    m = cs[cons, C_OWNER]
    q = cs[cons, C_Q]
    qa.ms[m, MS_RUNNING] -= 1
    if err == 0:
        kept = 0
        failed = False
        fifo = qa.qpi[q, QI_FIFO] != 0
        report = mpi[m, MPI_REPORT] != 0
        rate = qa.mpf[m, MPF_ITEM_RATE]
        off = cs[cons, C_OFF]
        mdraws, mcur = qa.mdraws, qa.mcur
        for k in range(cs[cons, C_BN]):
            if report:
                u = mdraws[m, mcur[m]]
                mcur[m] += 1
                failed = (failed and fifo) or u < rate
            if not failed:
                kept += 1
                _delete_item(off + k, q, t, p, it, mi, qs, qa.qsf, qa.qpm_f, qa.qpm_i, qa.qpi, qa.glock,
                             qa.mfree, qa.gq, qa.tl, pa.trf)
        if kept > 0:
            qa.qpm_i[p, q, QP_DELETE_REQUESTS] += (kept + DELETE_BATCH_MAX - 1) // DELETE_BATCH_MAX
    heap_n, seq, free_n = _idle(cons, t, (heap_n, seq, free_n), pa, qa)
    return (heap_n, seq, free_n, rows_n, unres_used, attempts), _offer_queue(q)


@jit_handler
def _function_attempt(t, f, req, p, c, consts, pa, qa):
    """An attempt of function f (an arrival or a retry): the pool's, then, if Lambda dropped
    the async event, a send to the function's on-failure destination queue."""
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    t_end, unres_cap, _e_min = consts
    rid, src, inv, attempt, err_r, thr_r, first_t, dover, units, size, key, trace, pspan = req
    attempts += 1
    heap_n, seq, free_n, rows_n, unres_used, ce, _err, dropped = pool_attempt(
        (t, f, rid, src, inv, attempt, err_r, thr_r, first_t, dover, units, size, False, p, t_end, key, trace,
         pspan),
        (heap_n, seq, free_n, rows_n, unres_used, unres_cap),
        pa.fpi, pa.fpf, pa.fs, pa.ft, pa.bk, pa.si, pa.sf, pa.g, pa.ei, pa.ef, pa.free, pa.hh,
        pa.stack_birth, pa.stack_expire, pa.draws, pa.cur, pa.pmi, pa.pmf, pa.phist, pa.hlat, pa.hinit,
        pa.ri, pa.rf)
    if ce >= 0:
        pa.ei[ce, EQ_CONSUMER] = -1  # no mapping's batch
    if dropped and inv == SYNC:  # a traffic client's last attempt was throttled: its answer
        entry_answer(t, trace, A_THROTTLED, pa)
    q = pa.fpi[f, P_ON_FAIL_Q]
    if dropped and inv == ASYNC and q >= 0:
        # ---- on-failure destination: a send at the drop's time (mid: on_failure_mid)
        k = qa.gq[GQ_FAIL_SENDS]
        qa.gq[GQ_FAIL_SENDS] = k + 1
        heap_n, seq, free_n, offer = _send_msg((-1 - k, q, size, 0, t, p, key, trace, pspan), (heap_n, seq, free_n),
                                               pa, qa)
        if offer:
            return (heap_n, seq, free_n, rows_n, unres_used, attempts), _offer_queue(q)
    return (heap_n, seq, free_n, rows_n, unres_used, attempts), _offer_none()


@jit_handler
def on_retry(t, s, f, p, c, consts, pa, qa):
    """A retry of a function's request comes due: its slot is freed, then an attempt."""
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    req = retry_request(pa.ei, pa.ef, s)
    free_n = _release(pa, free_n, s)
    return _function_attempt(t, f, req, p, (heap_n, seq, free_n, rows_n, unres_used, attempts), consts, pa, qa)


@jit_handler
def on_invoke(t, i, f, p, c, consts, arr, pa, qa, tr):
    """Arrival i (trace tr) is an invocation of function f: a first attempt (an async one is
    accepted at once)."""
    rid, src, inv, attempt, err_r, thr_r, first_t, dover, units = arrival_request(
        t, i, arr.id, arr.src, arr.inv, arr.dover, arr.units)
    if inv == ASYNC:
        entry_answer(t, tr, A_OK, pa)
    req = (rid, src, inv, attempt, err_r, thr_r, first_t, dover, units, arr.size[i], arr.key[i], tr,
           pa.tri[tr, TR_ROOT] if tr >= 0 else np.int64(-1))
    return _function_attempt(t, f, req, p, c, consts, pa, qa)


@jit_handler
def _send_msg(req, c3, pa, qa):
    """`_send` on the state tuples."""
    return _send(req, c3, qa.tl, qa.qpi, qa.qpf, qa.qs, qa.qsf, qa.qm_start, qa.qm_idx, qa.ms, qa.mi, qa.mf,
                 qa.mfree, qa.gq, qa.qpm_i, qa.qpm_f, pa.ei, pa.free, pa.hh, pa.trf)


@jit_handler
def on_send(t, i, p, c, arr, pa, qa, tr):
    """Arrival i (trace tr) is a SendMessage to queue arr.queue[i] (accepted at once)."""
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    q = arr.queue[i]
    entry_answer(t, tr, A_OK, pa)
    heap_n, seq, free_n, offer = _send_msg((arr.id[i], q, arr.size[i], arr.gid[i], t, p, arr.key[i], tr,
                                            pa.tri[tr, TR_ROOT] if tr >= 0 else np.int64(-1)),
                                           (heap_n, seq, free_n), pa, qa)
    c = (heap_n, seq, free_n, rows_n, unres_used, attempts)
    return c, (_offer_queue(q) if offer else _offer_none())


@jit_handler
def on_scale(t, s, c, pa, qa):
    """SCALE(m): +rate pollers while messages are visible, -rate while none are. With a
    backlog, the new pollers go idle and the queue is offered; the next tick is scheduled
    after that offer (the offer's fourth field)."""
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    mpi, ms, qs, cs, pslot = qa.mpi, qa.ms, qa.qs, qa.cs, qa.pslot
    m = pa.ei[s, EQ_MAPPING]
    free_n = _release(pa, free_n, s)
    q = mpi[m, MPI_Q]
    backlog = qs[q, QS_NVIS] > 0
    floor = mpi[m, MPI_FLOOR]
    tgt = ms[m, MS_TARGET]
    if backlog:
        new = max(floor, min(mpi[m, MPI_CAP], tgt + mpi[m, MPI_RATE]))
    else:
        new = max(floor, tgt - mpi[m, MPI_RATE])
    if new != tgt:
        ms[m, MS_TARGET] = new
        k = qa.gq[GQ_STEPS_N]
        qa.steps_i[k, STEP_MAPPING] = m
        qa.steps_i[k, STEP_TARGET] = new
        qa.steps_t[k] = t
        qa.gq[GQ_STEPS_N] = k + 1
    if backlog and ms[m, MS_NLIVE] < new:
        for _ in range(new - ms[m, MS_NLIVE]):
            ms[m, MS_NFREE] -= 1
            cons = pslot[mpi[m, MPI_C0] + ms[m, MS_NFREE]]
            ms[m, MS_NLIVE] += 1
            heap_n, seq, free_n = _idle(cons, t, (heap_n, seq, free_n), pa, qa)
        return (heap_n, seq, free_n, rows_n, unres_used, attempts), (q, np.int64(1), np.int64(-1), m)
    if not backlog:
        cons = qs[q, QS_IDLE_TAIL]
        while cons >= 0 and ms[m, MS_NLIVE] > new:
            prev = cs[cons, C_PREV]
            if cs[cons, C_KIND] == POLLER and cs[cons, C_OWNER] == m:
                _idle_unlink(cs, qs, q, cons)
                cs[cons, C_STATE] = CS_RETIRED
                ms[m, MS_NLIVE] -= 1
                pslot[mpi[m, MPI_C0] + ms[m, MS_NFREE]] = cons
                ms[m, MS_NFREE] += 1
            cons = prev
    if new == floor and not backlog:
        ms[m, MS_TICKING] = 0
    else:
        heap_n, seq, free_n = _push_event(pa.ei, pa.free, pa.hh, heap_n, seq, free_n,
                                          t + SCALE_TICK_S, K_SCALE, m, 0)
    return (heap_n, seq, free_n, rows_n, unres_used, attempts), _offer_none()


@jit_handler
def on_window_end(s, c, pa, qa):
    """WINDOW_END of a batching poller (slot s: EQ_CONSUMER, EQ_TOKEN the token of its
    batch): if that batch is still being gathered, the poller invokes (offer phase 0)."""
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    cs = qa.cs
    cons = pa.ei[s, EQ_CONSUMER]
    tok = pa.ei[s, EQ_TOKEN]
    free_n = _release(pa, free_n, s)
    c = (heap_n, seq, free_n, rows_n, unres_used, attempts)
    if cs[cons, C_STATE] == CS_BATCHING and cs[cons, C_TOKEN] == tok:
        return c, (cs[cons, C_Q], np.int64(0), cons, np.int64(-1))
    return c, _offer_none()


@jit_handler
def on_poll_empty(t, s, p, c, pa, qa):
    """POLL_EMPTY (slot s: EQ_CONSUMER, EQ_TOKEN its long poll's token, EQF_DUE_T and
    EQ_DUE_SEQ the due time and counter of a deferred one; see _become_idle): a long poll that
    found nothing counts an empty receive and starts the next."""
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    cs, ei, ef = qa.cs, pa.ei, pa.ef
    cons = ei[s, EQ_CONSUMER]
    if cs[cons, C_STATE] != CS_IDLE or cs[cons, C_TOKEN] != ei[s, EQ_TOKEN]:
        free_n = _release(pa, free_n, s)  # that long poll ended with a receive (or retirement)
        cs[cons, C_PE] = -1
    elif ef[s, EQF_DUE_T] > t:
        # deferred by a newer long poll: back in at its own time and counter
        heap_n = heap_push(pa.hh, heap_n, ef[s, EQF_DUE_T], ei[s, EQ_DUE_SEQ], s)
    else:
        q = cs[cons, C_Q]
        qa.qpm_i[p, q, QP_EMPTY_RECEIVES] += 1
        qa.qpm_i[p, q, QP_RECEIVE_REQUESTS] += 1
        ei[s, EQ_DUE_SEQ] = seq
        ef[s, EQF_DUE_T] = t + LONG_POLL_S
        heap_n = heap_push(pa.hh, heap_n, t + LONG_POLL_S, seq, s)
        seq += 1
    return (heap_n, seq, free_n, rows_n, unres_used, attempts), _offer_none()


@jit_handler
def on_batch_done(t, s, p, c, pa, qa):
    """BATCH_DONE of a worker (slot s: EQ_CONSUMER): the messages without a WERR error
    are deleted, the worker goes idle and its queue is offered."""
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    cs, it = qa.cs, qa.it
    cons = pa.ei[s, EQ_CONSUMER]
    free_n = _release(pa, free_n, s)
    w = cs[cons, C_OWNER]
    q = cs[cons, C_Q]
    n = cs[cons, C_BN]
    qa.wpm[p, w, WP_BATCHES] += 1
    qa.wpm[p, w, WP_MESSAGES] += n
    off = cs[cons, C_OFF]
    kept = 0
    for k in range(off, off + n):
        if it[k, IT_ERR] == 0:
            kept += 1
            _delete_item(k, q, t, p, it, qa.mi, qa.qs, qa.qsf, qa.qpm_f, qa.qpm_i, qa.qpi, qa.glock, qa.mfree,
                         qa.gq, qa.tl, pa.trf)
    if kept > 0:
        qa.qpm_i[p, q, QP_DELETE_REQUESTS] += (kept + DELETE_BATCH_MAX - 1) // DELETE_BATCH_MAX
    heap_n, seq, free_n = _idle(cons, t, (heap_n, seq, free_n), pa, qa)
    return (heap_n, seq, free_n, rows_n, unres_used, attempts), _offer_queue(q)


@jit_handler
def _invoke(t, q, cons, p, c, consts, pa, qa):
    """A poller invokes its mapping's function with its batch: a pool attempt whose
    completion hands the batch back (on_complete), or a throttle that abandons it (its
    messages stay in flight until their visibility timeout)."""
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    t_end, unres_cap, _e_min = consts
    cs, ms, mpm, gq = qa.cs, qa.ms, qa.mpm, qa.gq
    m = cs[cons, C_OWNER]
    fm = qa.mpi[m, MPI_FN]
    if cs[cons, C_STATE] == CS_BATCHING:
        _unlink(cs, cons, C_BPREV, C_BNEXT, qa.qs, q, QS_BAT_HEAD, QS_BAT_TAIL)
    bid = gq[GQ_BATCHES]
    gq[GQ_BATCHES] = bid + 1
    attempts += 1
    first = cs[cons, C_OFF]  # the batch's first item: its message's class, trace and sender
    it = qa.it
    heap_n, seq, free_n, rows_n, unres_used, ce, err, _d = pool_attempt(
        (t, fm, -1 - bid, 0, 0, 0, 0, 0, t, np.nan, 1, 0, True, p, t_end, it[first, IT_KEY], it[first, IT_TRACE],
         it[first, IT_PSPAN]),
        (heap_n, seq, free_n, rows_n, unres_used, unres_cap),
        pa.fpi, pa.fpf, pa.fs, pa.ft, pa.bk, pa.si, pa.sf, pa.g, pa.ei, pa.ef, pa.free, pa.hh,
        pa.stack_birth, pa.stack_expire, pa.draws, pa.cur, pa.pmi, pa.pmf, pa.phist, pa.hlat, pa.hinit,
        pa.ri, pa.rf)
    if ce >= 0:
        pa.ei[ce, EQ_CONSUMER] = cons  # the completion hands the batch back to its poller ...
        pa.ei[ce, EQ_BATCH_ERR] = 1 if err else 0  # ... saying whether the invocation failed
        cs[cons, C_STATE] = CS_BUSY
        ms[m, MS_RUNNING] += 1
        mpm[p, m, MP_INVOKED] += 1
        if ms[m, MS_RUNNING] > mpm[p, m, MP_CONC_MAX]:
            mpm[p, m, MP_CONC_MAX] = ms[m, MS_RUNNING]
    else:
        mpm[p, m, MP_THROTTLED] += 1  # abandoned: its messages stay in flight
        heap_n, seq, free_n = _idle(cons, t, (heap_n, seq, free_n), pa, qa)
    return heap_n, seq, free_n, rows_n, unres_used, attempts


@jit_handler
def offer(t, p, c, o, consts, pa, qa):
    """The offer of queue o[0] at t, step by step (QUEUE_SPEC.md, Offer), from where `o`
    says: phase 0 a WINDOW_END's invocation by consumer o[2], 1-2 batching pollers top up,
    3 idle consumers receive. Each step (one receive, perhaps one invocation) first checks
    it has room; returns (c, o, status, which), `o` the position to resume from when status
    is not DONE."""
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    _t_end, _unres_cap, e_min = consts
    q, phase, cur_c, pend_scale = o
    cs, qs, mpi, wpi, it, gq, mdraws, mcur, mlen = qa.cs, qa.qs, qa.mpi, qa.wpi, qa.it, qa.gq, qa.mdraws, qa.mcur, qa.mlen
    n_map = mpi.shape[0]
    status = DONE
    which = -1
    while True:
        inv_c = -1
        stop = False
        if phase == 1:
            cur_c = qs[q, QS_BAT_HEAD]
            phase = 2
            continue
        if phase == 2 and cur_c < 0:
            phase = 3
            continue
        if phase >= 2 and qs[q, QS_NVIS] == 0:
            break
        cons = cur_c if phase != 3 else qs[q, QS_IDLE_HEAD]
        if cons < 0:
            break
        # room for one step
        if free_n < e_min:
            status = EVENTS_FULL
            break
        if rows_n + 1 > pa.ri.shape[0]:
            status = ROWS_FULL
            break
        own = cs[cons, C_OWNER]
        poller = cs[cons, C_KIND] == POLLER
        kp = 0
        nmax = 0
        if poller:
            fm = mpi[own, MPI_FN]
            if _draws_low(pa.cur, pa.dlen, fm):
                status = NEED_DRAWS
                which = fm
                break
        else:
            kp = n_map + 2 * own
            nmax = wpi[own, WI_MAX]
            if mlen[kp] - mcur[kp] < nmax:
                status = NEED_MDRAWS
                which = kp
                break
            if mlen[kp + 1] - mcur[kp + 1] < nmax:
                status = NEED_MDRAWS
                which = kp + 1
                break
        if cs[cons, C_OFF] < 0:
            if gq[GQ_ITEMS_N] + cs[cons, C_CAP] > it.shape[0]:
                status = ITEMS_FULL
                break
            cs[cons, C_OFF] = gq[GQ_ITEMS_N]
            gq[GQ_ITEMS_N] += cs[cons, C_CAP]

        if phase == 0:
            inv_c = cons
            phase = 1
        elif phase == 2:
            cur_c = cs[cons, C_BNEXT]
            bs = mpi[own, MPI_BATCH]
            have = cs[cons, C_BN]
            got, gbytes, pfull, olimit, heap_n, seq = _receive(
                q, cs[cons, C_OFF] + have, bs - have, have, cs[cons, C_BBYTES], BATCH_PAYLOAD_BYTES, t, p,
                qa.qpi, qa.qpf, qs, qa.qsf, qa.tl, qa.mi, qa.mf, qa.mfree, qa.glock, qa.whist, qa.qpm_i, qa.qpm_f,
                it, gq, pa.hh, heap_n, seq, pa.trf)
            cs[cons, C_BN] = have + got
            cs[cons, C_BBYTES] += gbytes
            if pfull or have + got == bs:
                inv_c = cons
            if olimit or not (got > 0 or pfull):
                stop = True
        else:
            if poller:
                nmax = mpi[own, MPI_BATCH]
                capb = BATCH_PAYLOAD_BYTES
            else:
                capb = NO_CAP
            got, gbytes, pfull, olimit, heap_n, seq = _receive(
                q, cs[cons, C_OFF], nmax, 0, 0, capb, t, p, qa.qpi, qa.qpf, qs, qa.qsf, qa.tl, qa.mi, qa.mf,
                qa.mfree, qa.glock, qa.whist, qa.qpm_i, qa.qpm_f, it, gq, pa.hh, heap_n, seq, pa.trf)
            if got == 0:
                break
            _idle_unlink(cs, qs, q, cons)
            cs[cons, C_TOKEN] += 1
            cs[cons, C_BN] = got
            cs[cons, C_BBYTES] = gbytes
            if not poller:
                # a worker: PROC and WERR draws per message; BATCH_DONE after them all
                total = 0.0
                off = cs[cons, C_OFF]
                er = qa.wpf[own, WF_ERR]
                for k in range(off, off + got):
                    total += mdraws[kp, mcur[kp]]
                    mcur[kp] += 1
                    u = mdraws[kp + 1, mcur[kp + 1]]
                    mcur[kp + 1] += 1
                    it[k, IT_ERR] = 1 if u < er else 0
                cs[cons, C_STATE] = CS_BUSY
                qa.wbusy[own] += 1
                if qa.wbusy[own] > qa.wpm[p, own, WP_BUSY_MAX]:
                    qa.wpm[p, own, WP_BUSY_MAX] = qa.wbusy[own]
                heap_n, seq, free_n = _push_event(pa.ei, pa.free, pa.hh, heap_n, seq, free_n,
                                                  t + total / 1000.0, K_BATCH_DONE, cons, 0)
            elif qa.mpf[own, MPF_WINDOW] == 0.0 or pfull or got == nmax:
                inv_c = cons
            else:
                cs[cons, C_STATE] = CS_BATCHING
                _link_after(cs, cons, qs[q, QS_BAT_TAIL], C_BPREV, C_BNEXT, qs, q, QS_BAT_HEAD, QS_BAT_TAIL)
                heap_n, seq, free_n = _push_event(pa.ei, pa.free, pa.hh, heap_n, seq, free_n,
                                                  t + qa.mpf[own, MPF_WINDOW], K_WINDOW_END, cons,
                                                  cs[cons, C_TOKEN])
            if olimit:
                stop = True

        if inv_c >= 0:
            heap_n, seq, free_n, rows_n, unres_used, attempts = _invoke(
                t, q, inv_c, p, (heap_n, seq, free_n, rows_n, unres_used, attempts), consts, pa, qa)
        if stop:
            break
    c = (heap_n, seq, free_n, rows_n, unres_used, attempts)
    if status != DONE:
        return c, (q, phase, cur_c, pend_scale), status, which
    if pend_scale >= 0:  # a SCALE tick that waited for this offer
        heap_n, seq, free_n = _push_event(pa.ei, pa.free, pa.hh, heap_n, seq, free_n,
                                          t + SCALE_TICK_S, K_SCALE, pend_scale, 0)
        c = (heap_n, seq, free_n, rows_n, unres_used, attempts)
    return c, _offer_none(), status, which


@jit
def trace_mark_messages(stamp, final, mi, cs, it, tri):
    """Mark (with a marking pass's stamp) the traces of the messages still alive: delayed,
    visible or in flight (lambda_pool.trace_close); and, unless `final`, of each batching
    poller's first item, whose trace its invocation will carry (its message may have expired
    meanwhile: the trace goes on when the batch is invoked)."""
    for s in range(mi.shape[0]):
        st = mi[s, MSG_STATE]
        if st == ST_DELAYED or st == ST_VISIBLE or st == ST_INFLIGHT:
            tr = mi[s, MSG_TRACE]
            if tr >= 0:
                tri[tr, P.TR_MARK] = stamp
    if final:
        return
    for c in range(cs.shape[0]):
        if cs[c, C_STATE] == CS_BATCHING and cs[c, C_BN] > 0:
            tr = it[cs[c, C_OFF], IT_TRACE]
            if tr >= 0:
                tri[tr, P.TR_MARK] = stamp
