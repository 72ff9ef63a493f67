"""Plain-Python reference twin of SQS queues, event source mappings and worker fleets.

Semantics: `kernels/QUEUE_SPEC.md`. Readable over fast: one event at a time, Python objects
for messages and consumers. The queues run inside the Lambda pool twin
(`kernels/ref/lambda_pool.py`): a mapping's invocation is an attempt in the same pool, on the same
heap, ordered by the same scheduling counter, so the numba kernel that extends `run_pool`
must agree with this message by message.

API
---
`simulate_messaging_ref(pool, queues, mappings, fleets, arrivals, streams, t_end,
controls=(), initial_provisioned=None) -> MessagingResult`

- `pool`: `PoolParams` (POOL_SPEC.md). `queues`, `mappings`, `fleets`: `QueueParams`,
  `MappingParams`, `FleetParams`, one list entry per queue / mapping / fleet.
- `arrivals`: the pool's arrays (t, id, fn, src, inv, dur_override_ms, optional units) plus
  `queue` (−1: a function arrival, else a SendMessage to that queue, `id` being the message
  id), `size_bytes`, `key` and `group` (FIFO message group). Missing messaging columns mean
  "all function arrivals" / 0.
- `streams`: the pool's DUR/INIT/EXP/U (one array per function), `ITEM` (one per mapping),
  `PROC` (ms) and `WERR` (one each per fleet); each consumed strictly in order.
- Result: the pool's `RefResult` (`.pool`, rows also as `.rows`; a mapping invocation's row
  has `id = −1 − b`, `b` its index in `.batches`), the message log `(t, mid, q, event)`,
  per-queue counters and end states, per-mapping and per-fleet totals.

Internal events share the pool's heap `(t, 1, seq, event)`; see POOL_SPEC.md for the merge
of controls, internal events and arrivals.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np

from kernels.histogram import N_BINS
from kernels.periods import n_periods
from kernels.queue_pool import (  # the kernel's parameters, constants and columns: one definition for both
    BATCH_PAYLOAD_BYTES, DELETE_BATCH_MAX, FLEET_PERIOD, LONG_POLL_S, MAPPING_PERIOD, MP_CONC_MAX, MP_INVOKED,
    MP_TARGET, MP_THROTTLED, QP_DEAD_LETTERED,
    QP_DELAYED, QP_DELETE_REQUESTS, QP_DELETED, QP_EMPTY_RECEIVES, QP_EXPIRED, QP_IN_FLIGHT,
    QP_RECEIVE_REQUESTS, QP_RECEIVED, QP_REDRIVEN_IN, QP_SEND_REQUESTS, QP_SENT, QP_STALE_DELETES,
    QP_VISIBLE, QP_WAIT_N, QPF_AGE_OLDEST_S, QPF_VISIBLE_S, QPF_WAIT_SUM_S, QUEUE_PERIOD_FLOAT,
    QUEUE_PERIOD_INT, RECEIVE_BATCH_MAX, SCALE_TICK_S, FleetParams, MappingParams, QueueParams,
    WP_BATCHES, WP_BUSY_MAX, WP_MESSAGES, mapping_scaling, on_failure_mid, validate_params,
)
from kernels.queue_pool import POLLER, WORKER
from kernels.ref import lambda_pool as pool
from kernels.ref.billing import chunks_64kb_ref
from kernels.ref.histogram import hist_index_ref
from kernels.ref.lambda_pool import PoolParams, RefResult

MESSAGE_EVENTS = ("sent", "visible", "received", "deleted", "stale_delete", "dead_lettered",
                  "redriven_in", "expired")

DELAYED, VISIBLE, INFLIGHT, DELETED, DEAD_LETTERED, EXPIRED = range(6)  # message states
IDLE, BATCHING, BUSY, RETIRED = range(4)  # consumer states (BUSY: invoking or processing)


@dataclass
class MessagingResult:
    """The pool's result, the message log, per-queue, per-mapping and per-fleet totals."""

    pool: RefResult
    log: list[tuple]  # (t, mid, q, event), event in MESSAGE_EVENTS, in processing order
    batches: list[tuple]  # (t, m, mids) per mapping invocation attempt; pool row id = -1 - index
    # per queue, over [0, t_end)
    sent: list[int]
    redriven_in: list[int]
    received: list[int]
    deleted: list[int]
    dead_lettered: list[int]
    expired: list[int]
    empty_receives: list[int]
    receive_requests: list[int]  # 64 KB chunks of non-empty receives, plus empty receives
    delete_requests: list[int]  # DeleteMessageBatch calls (up to 10 messages each)
    stale_deletes: list[int]
    # per queue, at t_end
    visible: list[int]
    delayed: list[int]
    in_flight: list[int]
    # per mapping
    batches_invoked: list[int]  # attempts that started
    batches_throttled: list[int]
    max_concurrent_batches: list[int]
    target_steps: list[list[tuple]]  # (t, target) at 0 and at every change
    pollers: list[int]  # pollers not retired at t_end
    # per fleet
    fleet_batches: list[int]  # worker batches finished (BATCH_DONE before t_end)
    fleet_messages: list[int]  # messages in those batches
    draws_used: dict[str, list[int]]  # ITEM per mapping, PROC and WERR per fleet
    # per period (see QUEUE_PERIOD_INT etc. for the columns)
    period_queue: np.ndarray = None  # int64 [P, Q, len(QUEUE_PERIOD_INT)]
    period_queue_f: np.ndarray = None  # float64 [P, Q, len(QUEUE_PERIOD_FLOAT)]
    period_mapping: np.ndarray = None  # int64 [P, M, len(MAPPING_PERIOD)]
    period_fleet: np.ndarray = None  # int64 [P, W, len(FLEET_PERIOD)]
    wait_hist: np.ndarray = None  # int64 [Q, N_BINS]: first-receive waits in ms (histogram.py)
    wait_range: np.ndarray = None  # float64 [Q, 2]: their exact min and max (s); +inf, 0 when none
    failure_sends: int = 0  # on-failure destination messages sent (mids -1 .. -failure_sends)

    @property
    def rows(self) -> list[tuple]:
        """The pool's per-attempt rows (function arrivals and mapping invocations)."""
        return self.pool.rows


@dataclass(eq=False)
class _Message:
    mid: int
    q: int
    sent_t: float  # first enqueue, kept through a redrive
    size_bytes: int
    key: int
    group: int
    seq: int  # enqueue order in its current queue (FIFO delivery order)
    entered_t: float = 0.0  # when it entered its current queue (send or redrive): waits
    state: int = DELAYED
    receive_count: int = 0  # the receipt of its latest receive
    trace: int = -1  # the trace it belongs to (the account twin, ACCOUNT_SPEC.md §7)


@dataclass(eq=False)
class _Batch:
    """Messages held by one consumer: a mapping's batch or a worker's batch."""

    consumer: _Consumer
    items: list[tuple[_Message, int]] = field(default_factory=list)  # (message, receipt)
    size_bytes: int = 0
    errors: list[bool] = field(default_factory=list)  # workers: WERR outcome per message


@dataclass(eq=False)
class _Consumer:
    """A mapping's poller or a fleet's worker."""

    kind: int  # POLLER or WORKER
    owner: int  # mapping or fleet index
    q: int
    state: int = IDLE
    token: int = 0  # bumped on every idle start and receive: voids older POLL_EMPTY events
    batch: _Batch | None = None


@dataclass
class _Visible:
    mid: int
    q: int
    receipt: int


@dataclass
class _Scale:
    m: int


@dataclass
class _WindowEnd:
    consumer: _Consumer
    batch: _Batch


@dataclass
class _PollEmpty:
    consumer: _Consumer
    token: int


@dataclass
class _BatchDone:
    consumer: _Consumer
    batch: _Batch


@dataclass
class _QueueState:
    visible: list[_Message] = field(default_factory=list)  # standard: made-visible order; FIFO: seq
    n_delayed: int = 0
    n_inflight: int = 0
    group_inflight: dict[int, int] = field(default_factory=dict)
    idle: list[_Consumer] = field(default_factory=list)  # longest idle first
    batching: list[_Consumer] = field(default_factory=list)  # oldest batch first
    mappings: list[int] = field(default_factory=list)
    next_seq: int = 0


@dataclass
class _MappingState:
    floor: int
    cap: int
    rate: int
    target: int
    n_live: int = 0  # pollers not retired
    running: int = 0  # started invocations not yet complete
    ticking: bool = False


@dataclass
class _World:
    ps: pool._State
    qp: QueueParams
    mp: MappingParams
    fp: FleetParams
    streams: dict
    res: MessagingResult
    messages: dict[int, _Message] = field(default_factory=dict)
    queues: list[_QueueState] = field(default_factory=list)
    maps: list[_MappingState] = field(default_factory=list)
    period_s: float = math.inf
    n_periods: int = 1
    period: int = 0  # the current period's index
    vis_last_t: list[float] = field(default_factory=list)  # per queue: visible_s integrated to
    busy_workers: list[int] = field(default_factory=list)  # per fleet
    on_log: object = None  # on_log(t, message, q, event): the account twin follows messages


def _new_world(p, qp, mp, fp, streams, t_end, period_s) -> _World:
    n_q, n_m, n_w = len(qp.visibility_timeout_s), len(mp.queue), len(fp.queue)
    n_p = n_periods(t_end, period_s)
    zq = [0] * n_q
    res = MessagingResult(
        pool=None, log=[], batches=[],
        sent=list(zq), redriven_in=list(zq), received=list(zq), deleted=list(zq),
        dead_lettered=list(zq), expired=list(zq), empty_receives=list(zq),
        receive_requests=list(zq), delete_requests=list(zq), stale_deletes=list(zq),
        visible=list(zq), delayed=list(zq), in_flight=list(zq),
        batches_invoked=[0] * n_m, batches_throttled=[0] * n_m, max_concurrent_batches=[0] * n_m,
        target_steps=[[] for _ in range(n_m)], pollers=[0] * n_m,
        fleet_batches=[0] * n_w, fleet_messages=[0] * n_w,
        draws_used={"ITEM": [0] * n_m, "PROC": [0] * n_w, "WERR": [0] * n_w},
        period_queue=np.zeros((n_p, n_q, len(QUEUE_PERIOD_INT)), np.int64),
        period_queue_f=np.zeros((n_p, n_q, len(QUEUE_PERIOD_FLOAT)), np.float64),
        period_mapping=np.zeros((n_p, n_m, len(MAPPING_PERIOD)), np.int64),
        period_fleet=np.zeros((n_p, n_w, len(FLEET_PERIOD)), np.int64),
        wait_hist=np.zeros((n_q, N_BINS), np.int64),
        wait_range=np.tile(np.array([np.inf, 0.0]), (n_q, 1)),
    )
    ps = pool._new_state(p, streams, t_end)
    res.pool = ps.res
    world = _World(ps=ps, qp=qp, mp=mp, fp=fp, streams=streams, res=res,
                   queues=[_QueueState() for _ in range(n_q)], period_s=float(period_s),
                   n_periods=n_p, vis_last_t=[0.0] * n_q, busy_workers=[0] * n_w)
    for m in range(n_m):
        world.queues[mp.queue[m]].mappings.append(m)
        rate, floor, cap = mapping_scaling(p, mp, m)
        world.maps.append(_MappingState(floor=floor, cap=cap, rate=rate, target=floor))
        res.target_steps[m].append((0.0, floor))
    return world


def _log(w: _World, t: float, msg: _Message, q: int, event: str) -> None:
    w.res.log.append((t, msg.mid, q, event))
    if w.on_log is not None:
        w.on_log(t, msg, q, event)


def _qc(w: _World, q: int, col: int, n: int = 1) -> None:
    """Count `n` into the current period's queue counter `col`."""
    w.res.period_queue[w.period, q, col] += n


def _integrate_visible(w: _World, q: int, t: float) -> None:
    """Add ∫ visible count dt up to `t` to the current period (before the count changes)."""
    w.res.period_queue_f[w.period, q, QPF_VISIBLE_S] += len(w.queues[q].visible) * (t - w.vis_last_t[q])
    w.vis_last_t[q] = t


def _close_period(w: _World, t: float) -> None:
    """Snapshot the state at the end `t` of the current period."""
    pq, pqf = w.res.period_queue[w.period], w.res.period_queue_f[w.period]
    for q, qs in enumerate(w.queues):
        _integrate_visible(w, q, t)
        pq[q, QP_VISIBLE] = len(qs.visible)
        pq[q, QP_IN_FLIGHT] = qs.n_inflight
        pq[q, QP_DELAYED] = qs.n_delayed
        pqf[q, QPF_AGE_OLDEST_S] = t - min(m.sent_t for m in qs.visible) if qs.visible else 0.0
    for m, ms in enumerate(w.maps):
        w.res.period_mapping[w.period, m, MP_TARGET] = ms.target


def _open_period(w: _World) -> None:
    """Start the next period: maxima start from the current values."""
    w.period += 1
    for m, ms in enumerate(w.maps):
        w.res.period_mapping[w.period, m, MP_CONC_MAX] = ms.running
    for f, n in enumerate(w.busy_workers):
        w.res.period_fleet[w.period, f, WP_BUSY_MAX] = n


def _advance(w: _World, t: float) -> None:
    """Close every period that ends at or before `t` (the pool kernel's rule)."""
    last = w.n_periods - 1
    if w.period < last and t >= (w.period + 1) * w.period_s:
        p = min(int(t // w.period_s), last)
        while w.period < p:
            _close_period(w, (w.period + 1) * w.period_s)
            _open_period(w)


def _draw(w: _World, kind: str, i: int) -> float:
    """The next value of messaging stream `kind` of mapping or fleet `i`."""
    used = w.res.draws_used[kind]
    values = w.streams[kind][i]
    if used[i] >= len(values):
        raise IndexError(f"stream {kind} of {i} exhausted after {used[i]} draws")
    used[i] += 1
    return float(values[used[i] - 1])


def _expired(w: _World, msg: _Message, t: float) -> bool:
    return t >= msg.sent_t + w.qp.retention_s[msg.q]


def _leave(w: _World, msg: _Message, t: float) -> None:
    """Take `msg` out of its current non-final state in its queue's counts and lists."""
    qs = w.queues[msg.q]
    if msg.state == DELAYED:
        qs.n_delayed -= 1
    elif msg.state == VISIBLE:
        _integrate_visible(w, msg.q, t)
        qs.visible.remove(msg)
    elif msg.state == INFLIGHT:
        qs.n_inflight -= 1
        qs.group_inflight[msg.group] -= 1


def _expire(w: _World, msg: _Message, t: float) -> None:
    """Drop `msg` for retention (it has already left its previous state)."""
    msg.state = EXPIRED
    w.res.expired[msg.q] += 1
    _qc(w, msg.q, QP_EXPIRED)
    _log(w, t, msg, msg.q, "expired")


def _enqueue(w: _World, msg: _Message, q: int, t: float, redrive: bool) -> None:
    """A message enters `q`: a send is delayed by `delay_s` or visible at once; a redrive
    waits (as delayed) for its VISIBLE at `t`, so the DLQ is offered after the current event."""
    msg.q, msg.seq, msg.receive_count, msg.entered_t = q, w.queues[q].next_seq, 0, t
    w.queues[q].next_seq += 1
    delay = 0.0 if redrive else w.qp.delay_s[q]
    if delay > 0 or redrive:
        msg.state = DELAYED
        w.queues[q].n_delayed += 1
        pool._schedule(w.ps, t + delay, _Visible(msg.mid, q, 0))
    else:
        _make_visible(w, msg, t)


def _send(w: _World, mid: int, q: int, size_bytes: int, key: int, group: int, t: float, trace: int = -1) -> None:
    """SendMessage at `t` (NumberOfMessagesSent)."""
    if mid in w.messages:
        raise ValueError(f"message id {mid} sent twice")
    msg = _Message(mid=mid, q=q, sent_t=t, size_bytes=size_bytes, key=key, group=group, seq=0, trace=trace)
    w.messages[mid] = msg
    w.res.sent[q] += 1
    _qc(w, q, QP_SENT)
    _qc(w, q, QP_SEND_REQUESTS, chunks_64kb_ref(size_bytes))
    _log(w, t, msg, q, "sent")
    _enqueue(w, msg, q, t, redrive=False)


def _make_visible(w: _World, msg: _Message, t: float) -> None:
    """Expire it, or put it in the visible list, restart scaling ticks and offer the queue."""
    if _expired(w, msg, t):
        _expire(w, msg, t)
        return
    qs = w.queues[msg.q]
    _integrate_visible(w, msg.q, t)
    msg.state = VISIBLE
    if w.qp.fifo[msg.q]:
        i = len(qs.visible)
        while i > 0 and qs.visible[i - 1].seq > msg.seq:
            i -= 1
        qs.visible.insert(i, msg)
    else:
        qs.visible.append(msg)
    _log(w, t, msg, msg.q, "visible")
    for m in qs.mappings:
        if not w.maps[m].ticking:
            w.maps[m].ticking = True
            pool._schedule(w.ps, t + SCALE_TICK_S, _Scale(m))
    _offer(w, msg.q, t)


def _on_visible(w: _World, ev: _Visible, t: float) -> None:
    """VISIBLE(mid, q, receipt): the end of a delay or of a visibility timeout."""
    msg = w.messages[ev.mid]
    if msg.q != ev.q or msg.receive_count != ev.receipt or msg.state not in (DELAYED, INFLIGHT):
        return  # deleted, expired, or received again since
    _leave(w, msg, t)
    _make_visible(w, msg, t)


def _dead_letter(w: _World, msg: _Message, t: float) -> None:
    """Move `msg` (already out of the visible list) to its queue's DLQ, keeping `sent_t`."""
    q, d = msg.q, w.qp.dlq[msg.q]
    msg.state = DEAD_LETTERED
    w.res.dead_lettered[q] += 1
    _qc(w, q, QP_DEAD_LETTERED)
    _log(w, t, msg, q, "dead_lettered")
    w.res.redriven_in[d] += 1
    _qc(w, d, QP_REDRIVEN_IN)
    _log(w, t, msg, d, "redriven_in")
    _enqueue(w, msg, d, t, redrive=True)


def _receive(w: _World, q: int, n_max: int, have: int, have_bytes: int, cap_bytes: float, t: float):
    """One ReceiveMessage call of up to `n_max` messages for a batch already holding `have`.

    Returns (items, payload_full, over_limit); items are (message, receipt) pairs.
    """
    qp, qs = w.qp, w.queues[q]
    items, size, group = [], 0, None
    payload_full = over_limit = False
    i = 0
    while i < len(qs.visible) and len(items) < n_max:
        msg = qs.visible[i]
        if _expired(w, msg, t):
            _integrate_visible(w, q, t)
            del qs.visible[i]
            _expire(w, msg, t)
            continue
        if qp.fifo[q]:
            locked = qs.group_inflight.get(msg.group, 0) > 0
            if (group is None and locked) or (group is not None and msg.group != group):
                i += 1
                continue
        if have + len(items) > 0 and have_bytes + size + msg.size_bytes > cap_bytes:
            payload_full = True
            break
        if qs.n_inflight >= qp.in_flight_limit[q]:
            over_limit = True
            break
        _integrate_visible(w, q, t)
        del qs.visible[i]
        msg.receive_count += 1
        if 0 <= qp.max_receive_count[q] < msg.receive_count:
            _dead_letter(w, msg, t)
            continue
        msg.state = INFLIGHT
        qs.n_inflight += 1
        qs.group_inflight[msg.group] = qs.group_inflight.get(msg.group, 0) + 1
        visible_at = t + qp.visibility_timeout_s[q]
        pool._schedule(w.ps, visible_at, _Visible(msg.mid, q, msg.receive_count))
        w.res.received[q] += 1
        _qc(w, q, QP_RECEIVED)
        if msg.receive_count == 1:  # its first receive in this queue: the wait since it entered
            _qc(w, q, QP_WAIT_N)
            w.res.period_queue_f[w.period, q, QPF_WAIT_SUM_S] += t - msg.entered_t
            w.res.wait_hist[q, hist_index_ref((t - msg.entered_t) * 1000.0)] += 1
            lo, hi = w.res.wait_range[q]
            w.res.wait_range[q] = (min(lo, t - msg.entered_t), max(hi, t - msg.entered_t))
        _log(w, t, msg, q, "received")
        items.append((msg, msg.receive_count))
        size += msg.size_bytes
        group = msg.group
    # ReceiveMessage returns at most 10 messages: a receive of n is ceil(n / 10) calls, each
    # billed one request per 64 KB of its own payload
    for k in range(0, len(items), RECEIVE_BATCH_MAX):
        call_bytes = sum(m.size_bytes for m, _ in items[k : k + RECEIVE_BATCH_MAX])
        w.res.receive_requests[q] += chunks_64kb_ref(call_bytes)
        _qc(w, q, QP_RECEIVE_REQUESTS, chunks_64kb_ref(call_bytes))
    return items, payload_full, over_limit


def _become_idle(w: _World, c: _Consumer, t: float) -> None:
    """`c` has no work: a poller above its mapping's target retires, else it starts a long poll."""
    c.batch = None
    if c.kind == WORKER and c.state == BUSY:
        w.busy_workers[c.owner] -= 1
    if c.kind == POLLER and w.maps[c.owner].n_live > w.maps[c.owner].target:
        c.state = RETIRED
        w.maps[c.owner].n_live -= 1
        return
    c.state = IDLE
    c.token += 1
    w.queues[c.q].idle.append(c)
    pool._schedule(w.ps, t + LONG_POLL_S, _PollEmpty(c, c.token))


def _offer(w: _World, q: int, t: float) -> None:
    """Batching pollers top up (oldest batch first), then idle consumers receive (longest idle
    first), until nothing more can be received."""
    qs, mp = w.queues[q], w.mp
    for c in list(qs.batching):
        if not qs.visible:
            return
        if c.state != BATCHING:
            continue
        b, m = c.batch, c.owner
        room = mp.batch_size[m] - len(b.items)
        items, payload_full, over_limit = _receive(
            w, q, room, len(b.items), b.size_bytes, BATCH_PAYLOAD_BYTES, t)
        b.items += items
        b.size_bytes += sum(msg.size_bytes for msg, _ in items)
        if payload_full or len(b.items) == mp.batch_size[m]:
            _invoke(w, c, t)
        if over_limit or not (items or payload_full):
            return  # nothing left that anyone could receive
    while qs.visible and qs.idle:
        c = qs.idle[0]
        if c.kind == POLLER:
            n_max, cap_bytes = mp.batch_size[c.owner], BATCH_PAYLOAD_BYTES
        else:
            n_max, cap_bytes = w.fp.max_messages[c.owner], math.inf
        items, payload_full, over_limit = _receive(w, q, n_max, 0, 0, cap_bytes, t)
        if not items:
            return  # its long poll goes on; nothing is receivable by anyone
        qs.idle.pop(0)
        c.token += 1
        c.batch = _Batch(c, items, sum(msg.size_bytes for msg, _ in items))
        if c.kind == WORKER:
            _work(w, c, t)
        elif mp.window_s[c.owner] == 0 or payload_full or len(items) == n_max:
            _invoke(w, c, t)
        else:
            c.state = BATCHING
            qs.batching.append(c)
            pool._schedule(w.ps, t + mp.window_s[c.owner], _WindowEnd(c, c.batch))
        if over_limit:
            return


def _invoke(w: _World, c: _Consumer, t: float) -> None:
    """Invoke the mapping's function with the poller's batch: a sync attempt in the pool."""
    m, b = c.owner, c.batch
    if c.state == BATCHING:
        w.queues[c.q].batching.remove(c)
    bid = len(w.res.batches)
    w.res.batches.append((t, m, tuple(msg.mid for msg, _ in b.items)))
    a = pool._Attempt(id=-1 - bid, f=w.mp.function[m], src=0, inv=pool.SYNC, first_t=t,
                      dur_override_ms=math.nan, batch=b, trace=b.items[0][0].trace, key=b.items[0][0].key)
    if pool._attempt(w.ps, a, t):
        c.state = BUSY
        w.res.batches_invoked[m] += 1
        ms = w.maps[m]
        ms.running += 1
        w.res.max_concurrent_batches[m] = max(w.res.max_concurrent_batches[m], ms.running)
        pm = w.res.period_mapping[w.period, m]
        pm[MP_INVOKED] += 1
        pm[MP_CONC_MAX] = max(pm[MP_CONC_MAX], ms.running)
    else:
        w.res.batches_throttled[m] += 1  # abandoned: its messages stay in flight
        w.res.period_mapping[w.period, m, MP_THROTTLED] += 1
        _become_idle(w, c, t)


def _delete(w: _World, q: int, items: list[tuple[_Message, int]], t: float) -> None:
    """DeleteMessageBatch calls for `items`; a stale receipt deletes nothing."""
    if not items:
        return
    w.res.delete_requests[q] += math.ceil(len(items) / DELETE_BATCH_MAX)
    _qc(w, q, QP_DELETE_REQUESTS, math.ceil(len(items) / DELETE_BATCH_MAX))
    for msg, receipt in items:
        if msg.q == q and msg.state in (VISIBLE, INFLIGHT) and msg.receive_count == receipt:
            _leave(w, msg, t)
            msg.state = DELETED
            w.res.deleted[q] += 1
            _qc(w, q, QP_DELETED)
            _log(w, t, msg, q, "deleted")
        else:
            w.res.stale_deletes[q] += 1
            _qc(w, q, QP_STALE_DELETES)
            _log(w, t, msg, q, "stale_delete")


def _on_batch_complete(w: _World, b: _Batch, error: bool, t: float) -> None:
    """A mapping invocation ended (after the pool freed its environment): delete, idle, offer."""
    c = b.consumer
    m, q = c.owner, c.q
    w.maps[m].running -= 1
    if not error:
        keep = []
        failed = False
        for item in b.items:
            if w.mp.report_failures[m]:
                u = _draw(w, "ITEM", m)
                failed = (failed and bool(w.qp.fifo[q])) or u < w.mp.item_failure_rate[m]
            if not failed:
                keep.append(item)
        _delete(w, q, keep, t)
    _become_idle(w, c, t)
    _offer(w, q, t)


def _on_window_end(w: _World, ev: _WindowEnd, t: float) -> None:
    c = ev.consumer
    if c.state != BATCHING or c.batch is not ev.batch:
        return  # the batch filled up and was invoked earlier
    _invoke(w, c, t)
    _offer(w, c.q, t)


def _on_poll_empty(w: _World, ev: _PollEmpty, t: float) -> None:
    c = ev.consumer
    if c.state != IDLE or c.token != ev.token:
        return
    w.res.empty_receives[c.q] += 1
    w.res.receive_requests[c.q] += 1
    _qc(w, c.q, QP_EMPTY_RECEIVES)
    _qc(w, c.q, QP_RECEIVE_REQUESTS)
    pool._schedule(w.ps, t + LONG_POLL_S, _PollEmpty(c, c.token))


def _work(w: _World, c: _Consumer, t: float) -> None:
    """A worker processes its messages one after another; BATCH_DONE at the sum of the draws."""
    f = c.owner
    b = c.batch
    total_ms = 0.0
    for _ in b.items:
        total_ms += _draw(w, "PROC", f)
        b.errors.append(_draw(w, "WERR", f) < w.fp.error_rate[f])
    c.state = BUSY
    w.busy_workers[f] += 1
    pw = w.res.period_fleet[w.period, f]
    pw[WP_BUSY_MAX] = max(pw[WP_BUSY_MAX], w.busy_workers[f])
    pool._schedule(w.ps, t + total_ms / 1000.0, _BatchDone(c, b))


def _on_batch_done(w: _World, ev: _BatchDone, t: float) -> None:
    c, b = ev.consumer, ev.batch
    w.res.fleet_batches[c.owner] += 1
    w.res.fleet_messages[c.owner] += len(b.items)
    w.res.period_fleet[w.period, c.owner, WP_BATCHES] += 1
    w.res.period_fleet[w.period, c.owner, WP_MESSAGES] += len(b.items)
    _delete(w, c.q, [item for item, err in zip(b.items, b.errors) if not err], t)
    _become_idle(w, c, t)
    _offer(w, c.q, t)


def _new_poller(w: _World, m: int, t: float) -> None:
    w.maps[m].n_live += 1
    _become_idle(w, _Consumer(POLLER, m, w.mp.queue[m]), t)


def _on_scale(w: _World, ev: _Scale, t: float) -> None:
    """SCALE(m): +rate while messages are visible, −rate while none are, within [floor, cap]."""
    m = ev.m
    ms, q = w.maps[m], w.mp.queue[m]
    qs = w.queues[q]
    backlog = bool(qs.visible)
    if backlog:
        target = max(ms.floor, min(ms.cap, ms.target + ms.rate))
    else:
        target = max(ms.floor, ms.target - ms.rate)
    if target != ms.target:
        ms.target = target
        w.res.target_steps[m].append((t, target))
    if backlog and ms.n_live < target:
        for _ in range(target - ms.n_live):
            _new_poller(w, m, t)
        _offer(w, q, t)
    elif not backlog:
        for c in reversed(list(qs.idle)):  # most recently idle first
            if ms.n_live <= target:
                break
            if c.kind == POLLER and c.owner == m:
                qs.idle.remove(c)
                c.state = RETIRED
                ms.n_live -= 1
    if target == ms.floor and not backlog:
        ms.ticking = False
    else:
        pool._schedule(w.ps, t + SCALE_TICK_S, _Scale(m))


def _on_failure(w: _World, a, t: float) -> None:
    """An async event of f was dropped: send it to f's on-failure queue, if it has one."""
    dest = w.ps.p.on_failure_queue
    q = dest[a.f] if dest is not None else -1
    if q >= 0:
        mid = on_failure_mid(w.res.failure_sends)
        w.res.failure_sends += 1
        _send(w, mid, q, a.size_bytes, a.key, 0, t, trace=a.trace)


def _close(w: _World, t_end: float) -> None:
    """Expire visible messages that outlived their retention by t_end; count end states;
    take the last period's snapshot at t_end (after those expiries)."""
    while w.period < w.n_periods - 1:
        _close_period(w, (w.period + 1) * w.period_s)
        _open_period(w)
    for m, ms in enumerate(w.maps):
        w.res.pollers[m] = ms.n_live
    for msg in w.messages.values():
        if msg.state == VISIBLE and _expired(w, msg, t_end):
            _leave(w, msg, t_end)
            _expire(w, msg, t_end)
    _close_period(w, t_end)
    for msg in w.messages.values():
        if msg.state == VISIBLE:
            w.res.visible[msg.q] += 1
        elif msg.state == DELAYED:
            w.res.delayed[msg.q] += 1
        elif msg.state == INFLIGHT:
            w.res.in_flight[msg.q] += 1


def start(w: _World, initial_provisioned: list[int] | None) -> None:
    """t = 0: the initial provisioned environments, then each mapping's floor of pollers and
    each fleet's workers, idle in that order (QUEUE_SPEC.md, Order of events)."""
    if initial_provisioned is not None:
        for f, n in enumerate(initial_provisioned):
            pool._set_provisioned(w.ps, f, int(n), 0.0)
    for m in range(len(w.mp.queue)):
        for _ in range(w.maps[m].floor):
            _new_poller(w, m, 0.0)
    for f, q in enumerate(w.fp.queue):
        for _ in range(w.fp.n_workers[f]):
            _become_idle(w, _Consumer(WORKER, f, q), 0.0)


def dispatch(w: _World, event, t: float) -> None:
    """One internal event of the pool and the queues at `t`."""
    ps = w.ps
    if isinstance(event, pool._Completion):
        pool._complete(ps, event, t)
        if event.batch is not None:
            _on_batch_complete(w, event.batch, event.error, t)
    elif isinstance(event, pool._Attempt):
        pool._attempt(ps, event, t)
    elif isinstance(event, _Visible):
        _on_visible(w, event, t)
    elif isinstance(event, _Scale):
        _on_scale(w, event, t)
    elif isinstance(event, _WindowEnd):
        _on_window_end(w, event, t)
    elif isinstance(event, _PollEmpty):
        _on_poll_empty(w, event, t)
    else:
        _on_batch_done(w, event, t)


def run_loop(w: _World, controls, arr_t: np.ndarray, on_internal, on_arrival, after=None) -> None:
    """Merge controls, internal events and arrivals in POOL_SPEC.md's order until t_end:
    `on_internal(event, t)`, `on_arrival(i, t)`, then `after(t)` (if given) after each."""
    ps = w.ps
    controls = [(float(t), int(f), int(n)) for t, f, n in controls]
    if any(a[0] > b[0] for a, b in zip(controls, controls[1:])):
        raise ValueError("controls must be sorted by time")
    if np.any(np.diff(arr_t) < 0):
        raise ValueError("arrivals must be sorted by time")
    n_arr = len(arr_t)
    ci = ai = 0
    while True:
        heads = []
        if ci < len(controls):
            heads.append((controls[ci][0], pool._CONTROL, ci))
        if ps.heap:
            heads.append(ps.heap[0][:3])
        if ai < n_arr:
            heads.append((float(arr_t[ai]), pool._ARRIVAL, ai))
        if not heads:
            break
        t, cls, _ = min(heads)
        if t >= ps.t_end:
            break
        _advance(w, t)
        if cls == pool._CONTROL:
            _, f, n = controls[ci]
            ci += 1
            pool._set_provisioned(ps, f, n, t)
        elif cls == pool._INTERNAL:
            on_internal(heapq.heappop(ps.heap)[3], t)
        else:
            on_arrival(ai, t)
            ai += 1
        if after is not None:
            after(t)


def simulate_messaging_ref(
    pool_params: PoolParams,
    queues: QueueParams,
    mappings: MappingParams,
    fleets: FleetParams,
    arrivals: dict[str, np.ndarray],
    streams: dict[str, list[np.ndarray]],
    t_end: float,
    controls=(),
    initial_provisioned: list[int] | None = None,
    period_s: float | None = None,
) -> MessagingResult:
    """Run the pool, its queues, mappings and worker fleets over [0, t_end) s.

    Times are seconds, `size_bytes` bytes, DUR/INIT/PROC draws milliseconds. `controls`:
    (t, f, n) = set_provisioned(f, n) at t, sorted by t. `period_s`: the length of the
    metric periods (default: one period, the whole run).
    """
    validate_params(pool_params, queues, mappings, fleets)
    w = _new_world(pool_params, queues, mappings, fleets, streams, t_end,
                   period_s if period_s is not None else t_end)
    ps = w.ps
    ps.on_drop = lambda a, t: _on_failure(w, a, t)
    start(w, initial_provisioned)
    arr_t = np.asarray(arrivals["t"], dtype=np.float64)
    n_arr = len(arr_t)
    zeros = np.zeros(n_arr, dtype=np.int64)
    arr_q = arrivals.get("queue", zeros - 1)
    arr_size, arr_key, arr_group = (arrivals.get(k, zeros) for k in ("size_bytes", "key", "group"))
    arr_units = arrivals.get("units")

    def arrive(i: int, t: float) -> None:
        if int(arr_q[i]) < 0:
            a = pool._Attempt(
                id=int(arrivals["id"][i]), f=int(arrivals["fn"][i]),
                src=int(arrivals["src"][i]), inv=int(arrivals["inv"][i]), first_t=t,
                dur_override_ms=float(arrivals["dur_override_ms"][i]),
                units=int(arr_units[i]) if arr_units is not None else 1,
                size_bytes=int(arr_size[i]),
            )
            pool._attempt(ps, a, t)
        else:
            if int(arrivals["id"][i]) < 0:
                raise ValueError("a send's message id must be >= 0")
            _send(w, int(arrivals["id"][i]), int(arr_q[i]), int(arr_size[i]), int(arr_key[i]), int(arr_group[i]), t)

    run_loop(w, controls, arr_t, lambda event, t: dispatch(w, event, t), arrive)
    pool._close_books(ps)
    _close(w, ps.t_end)
    return w.res
