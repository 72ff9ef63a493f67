"""Plain-Python reference twin of one account's data plane with calls (ACCOUNT_SPEC.md).

Readable over fast: the Lambda pool (`lambda_pool.py`), the queues, mappings and fleets
(`queue_pool.py`) run on one heap with the fan-out units (SNS topics, EventBridge buses),
the functions' calls and the external endpoints, in one merged time order. The pool and
queue twins are used as they are, through their hooks (`on_start`, `on_throttle`, `live`,
`on_log`); the fan-out handlers here follow FANOUT_SPEC.md with one change the one loop
needs: a successful delivery is an event at its delivery time, when its item enters the
target (a SEND or an async attempt) — no longer a row computed ahead of time.

API
---
`simulate_account_ref(params, arrivals, streams, t_end, controls=(), initial_provisioned=None,
period_s=None, record_spans=False) -> AccountResult`

- `params`: `AccountParams` — the pool's, queues', mappings' and fleets' params, the
  fan-out units with the port each target delivers to, the calls per function, the
  endpoints.
- `arrivals`: arrays `t` (sorted), `id`, `entry` (traffic source index), `kind` (a port kind
  `K_*`), `index` (the function, queue or unit), `src` (the pool's retry-params index of a
  sync function caller), `inv` (0 sync, 1 async), `dur_override_ms`, `size_bytes`, `key`,
  `group`. Every arrival starts a trace whose id is its index in the arrays.
- calls of kind `K_FLOW` (a function's egress entries, after its calls) reach no service:
  each arrival appends `(t, k)` to `AccountResult.flows` (k the call's global index) and is
  answered ok at once (ACCOUNT_SPEC.md §10).
- `streams`: the pool's (`DUR`, `INIT`, `EXP`, `U` per function) and the queues' (`ITEM`,
  `PROC`, `WERR`); `CALL` (uniform, per function: call probabilities, SDK jitter), `CLAT`
  (ms, per function, per call), `FU` and `FLAT` (per unit, per target: FANOUT_SPEC.md's
  `U` and `LAT`), `ELAT` (ms) and `EU` (uniform) per endpoint, `TU` (half units) and `TK`
  (hash positions) per call to a table (the j-th such call in the global order of calls).
  Each is consumed in order.
- calls of kind `K_TABLE` reach a DynamoDB table (`kernels/ref/tables.py`, the specs in
  `params.tables`), served or throttled at once (ACCOUNT_SPEC.md §11).
- Step Functions (ACCOUNT_SPEC.md §14): `params.machines` (`MachineParams`), machine m being the
  pseudo-function `F_m = len(params.calls) + m` of the call tables (its calls: its Task states'),
  started by a call of kind `K_SFN` (index m; `sync`: StartSyncExecution or a `.sync` task), by a
  traffic arrival of kind `K_SFN` (`inv` 0 sync, 1 async) or by a Task of another machine; the
  StartExecution and StateTransition buckets are `params.sfn_quotas`. Streams: `CALL[F_m]`
  (Choice draws, FULL-jitter retry draws, callback-failure draws, in the order they happen),
  `CLAT[F_m][c]` per Task call, `WST[m][row]` per state with a stream (a drawn Wait's seconds, a
  callback's delay in ms, a Map's item count, rounded to the nearest integer). Counters per machine
  and period in `AccountResult.workflows` (`kernels.account.WORKFLOW_COUNTERS`); the machines' calls
  in `AccountResult.calls` after the functions'.

Readings of ACCOUNT_SPEC.md §14 where it leaves a choice (to align with the kernel):
- "the next state is entered" (a Task's success, a catcher, a Parallel's or Map's success) runs
  the entry in the current event, as Pass does; only a start, a child's first state and a Wait's
  next state are ENTER events.
- A record's epoch is its current attempt: +1 at each entry (at ENTER, before the token: an
  ENTER_PAID carries the new one) and +1 at each error of the state (not at RETRY). An answer,
  TASK_TIMEOUT, callback or CHILD event of an older epoch is stale (a failed Parallel's or Map's
  other children too, when it is retried).
- An event of a child whose parent has ended aborts it first (stale or not); an aborted child's
  open Task call counts CS_ABANDONED (§8 holds); records running at the end count theirs in_flight_end.
- A Task's call stays open (made, not yet final) through its callback wait and its retry waits;
  CS_OK comes at the task's success (a callback's CALLBACK_OK), CS_FAILED when its error is final.
  TASK_TIMEOUT also ends a callback wait. The CLIENT span closes at the RESPONSE (its `attempt`:
  the attempt within the state's entry).
- TASK_TIMEOUT, like TIMEOUT and an execution's deadline, is not traced (a stale timer holds no trace).
- Map: a tolerated failure starts the next item as a success does; the state succeeds when all its
  items have ended. Its item count is drawn at entry (after the token), kept for its retries, and
  rounded half to even (Python's round); a drawn Wait or callback delay below 0 is 0.
- Choice always draws its U; a branch with next -1, or none matched, is NoChoiceMatched.
- A start refused to a sync traffic client answers A_THROTTLED at once (no client retry). A started
  execution takes no item id. A Task's call has max_attempts 1 (checked).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np

from kernels.account import (  # the kernel's constants and parameters: one definition for both
    BILLED_EPS_MS, K_API, K_BUCKET, K_ENDPOINT, K_EXTERNAL, K_FLOW, K_FUNCTION, K_QUEUE, K_SFN, K_TABLE, K_UNIT,
    LAST_AT_INSTANT, NOTIFICATION_BYTES, STREAM_BYTES_PER_HALF_UNIT,
    R_FUNCTION_ERROR,
    R_OK, R_SERVER_ERROR, R_THROTTLED, R_UNAVAILABLE, SDK_BACKOFF_BASE, SDK_BACKOFF_CAP_S, CallParams, EndpointParams,
    ERR_FAIL, ERR_FUNCTION, ERR_LAMBDA_THROTTLED, ERR_NO_CHOICE, ERR_THROTTLED, ERR_TIMEOUT, MAX_RETRIERS, N_W,
    OP_CHOICE, OP_FAIL, OP_MAP, OP_PARALLEL, OP_PASS, OP_SUCCEED, OP_TASK, OP_WAIT,
    W_FAILED, W_STARTED, W_SUCCEEDED, W_THROTTLED, W_TIME_MAX_US, W_TIME_US, W_TIMED_OUT, W_TRANS_DELAYED,
    W_TRANSITIONS, W_UNITS, WF_CALLBACK_FAIL, WF_CALLBACK_OK, WF_CHILD_FAIL, WF_CHILD_OK, WF_ENTER, WF_ENTER_PAID,
    WF_RETRY, WF_RETRY_PAID, WF_SUCCEED_AT, WF_TASK_TIMEOUT, WQ_START_EXPRESS, WQ_START_STANDARD, WQ_TRANSITION,
    MachineParams, StateParams,
)
from kernels.ref.stepfunctions import express_units, retry_delay_s
from kernels.lambda_pool import A_FAILED, A_OK, A_THROTTLED, A_TIMED_OUT, ID_SEQ_BITS, SK_CLIENT, SK_PRODUCER, SK_SERVER
from kernels.fanout import GLOBAL_COUNTERS, KIND_DELIVERY, KIND_DLQ, TARGET_COUNTERS, FanoutParams
from kernels.queue_pool import validate_params
from kernels.ref import lambda_pool as pool
from kernels.ref import queue_pool as mq
from kernels.periods import n_periods
from kernels.ref.billing import chunks_64kb_ref as chunks_64kb
from kernels.buckets import COPY as BK_COPY, POST as BK_POST, PUT as BK_PUT
from kernels.tables import WRITE as TB_WRITE
from kernels.ref.buckets import Buckets
from kernels.ref.tables import Table

RETRIABLE = (R_THROTTLED, R_SERVER_ERROR, R_UNAVAILABLE)
_G = {c: i for i, c in enumerate(GLOBAL_COUNTERS)}
_C = {c: i for i, c in enumerate(TARGET_COUNTERS)}
_INTERNAL_ID0 = -(1 << 50)  # ids of items created inside the account: _INTERNAL_ID0 - k


@dataclass
class AccountParams:
    pool: pool.PoolParams
    queues: mq.QueueParams
    mappings: mq.MappingParams
    fleets: mq.FleetParams
    units: list[FanoutParams] = field(default_factory=list)
    routes: list[list[tuple[int, int]]] = field(default_factory=list)  # per unit, per target: (kind, index)
    dlq_queue: list[list[int]] = field(default_factory=list)  # per unit, per target: DLQ queue or -1
    # per unit, per target: the account port its deliveries (dead letters) enter through, which
    # names their ids as the kernel does; empty: internal ids
    route_ports: list[list[int]] = field(default_factory=list)
    dlq_ports: list[list[int]] = field(default_factory=list)
    calls: list[list[CallParams]] = field(default_factory=list)  # per function
    endpoints: list[EndpointParams] = field(default_factory=list)
    tables: list[dict] = field(default_factory=list)  # as kernels.tables.table_arrays takes them
    # S3 buckets (ACCOUNT_SPEC.md §13): dicts of prefixes, bytes_per_s, unit (-1: no notifications), port
    buckets: list[dict] = field(default_factory=list)
    # Step Functions state machines (ACCOUNT_SPEC.md §14): machine m is the pseudo-function
    # len(calls) + m of the call tables (its calls are its Task states' calls)
    machines: list[MachineParams] = field(default_factory=list)
    # StartExecution (Standard, Express) and StateTransition (Standard) token buckets, full at t = 0:
    # (start_standard_rate, start_standard_burst, start_express_rate, start_express_burst,
    #  transition_rate, transition_burst); a rate of inf: no quota
    sfn_quotas: tuple = (math.inf,) * 6


@dataclass
class EntryPoint:
    requests: int = 0
    succeeded: int = 0
    failed: int = 0
    throttled: int = 0
    timed_out: int = 0  # answered after its client's timeout (an API's integration timeout)
    latency_s: list = field(default_factory=list)  # per answered request
    completion_s: list = field(default_factory=list)  # per closed trace


@dataclass
class AccountResult:
    messaging: mq.MessagingResult
    units: list  # per unit: {"rows", "gcnt", "rcnt", "tcnt"}
    entry: list[EntryPoint]
    traces_open_end: int
    trace_end: dict  # trace -> (t0, t_closed) for closed traces
    calls: list[list[dict]]  # per function, per call: made, ok, failed, abandoned, attempts, retries
    endpoints: list[dict]  # per endpoint: requests, ok, errors, throttled, outage, in_progress_end
    # when recorded, per span as the kernel writes it (lambda_pool SP_*, SPF_*): (trace's request
    # id, span id, parent, kind, resource kind, resource index, from, error, cold, attempt,
    # answer, start_s, end_s)
    spans: list
    draws_used: dict = field(default_factory=dict)  # (stream, *index) -> draws taken, for its own streams
    trace_rids: dict = field(default_factory=dict)  # trace -> its request id
    # flow records (ACCOUNT_SPEC.md §10), in event order: (t, k), k the egress call's global index
    # (function f's calls are numbered after those of the functions before it)
    flows: list = field(default_factory=list)
    tables: list = field(default_factory=list)  # kernels.ref.tables.Table per table
    buckets: object = None  # kernels.ref.buckets.Buckets
    # per machine: int64 [n_periods, N_W], the columns of kernels.account.WORKFLOW_COUNTERS
    workflows: list = field(default_factory=list)
    workflows_open_end: list = field(default_factory=list)  # per machine: executions still running at the end

    @property
    def pool(self):
        return self.messaging.pool


# ---- state ---------------------------------------------------------------------------------

@dataclass(eq=False)
class _Trace:
    entry: int
    t0: float
    n: int = 0  # items alive on its behalf (ACCOUNT_SPEC.md §7)
    closed: bool = False
    rid: int = -1  # its request id
    root: int = -1  # its root span (the client's request)


@dataclass(eq=False)
class _Invocation:
    """A started attempt of a function with calls: its handler's steps (ACCOUNT_SPEC.md §3)."""

    a: pool._Attempt
    t: float
    cold: bool
    on_pc: bool
    birth_t: float
    init_ms: float
    d_ms: float
    own_error: bool
    steps: list  # call index, or -1 for the function's own duration
    span: int
    cursor: int = 0
    gen: int = 0
    done: bool = False
    call_open: bool = False  # a call of this invocation is made and not yet answered for good
    call_key: int = -1  # the open call's class, drawn when it was made (its own classes), -1 none
    open_call: object = None  # the call attempt whose CLIENT span is open


@dataclass(eq=False)
class _CallAttempt:
    inv: _Invocation
    gen: int
    c: int
    attempt: int
    start_t: float
    span: int  # its CLIENT span (-1 until it starts, or when spans are not recorded)
    lat_us: int = 0  # its API latency, µs (a table's SuccessfulRequestLatency)


@dataclass(eq=False)
class _Step:
    inv: _Invocation
    gen: int
    trace: int = -1


@dataclass(eq=False)
class _CallArrive:
    """The request of a call attempt reaches its target (after the API latency)."""

    call: _CallAttempt
    trace: int


@dataclass(eq=False)
class _Begin:
    inv: _Invocation
    trace: int = -1


@dataclass(eq=False)
class _Response:
    call: _CallAttempt
    status: int
    trace: int = -1


@dataclass(eq=False)
class _Timeout:
    inv: _Invocation
    gen: int


@dataclass(eq=False)
class _EndpointDone:
    e: int
    call: _CallAttempt
    error: bool
    trace: int


@dataclass(eq=False)
class _SdkRetry:
    call: _CallAttempt
    trace: int = -1


@dataclass(eq=False)
class _Payload:
    """What an execution's calls read of the request that started it (as an invocation's `a`)."""

    f: int  # the machine's pseudo-function, len(params.calls) + m
    trace: int
    size_bytes: int
    key: int


@dataclass(eq=False)
class _Execution:
    """A running scope of a state machine (ACCOUNT_SPEC.md §14): a root execution, a Parallel's
    branch or a Map's iteration (a child: `parent` set). Usable where a call's caller is an
    `_Invocation` (`a`, `span`, `call_key`, `open_call`)."""

    a: _Payload
    m: int
    t0: float
    span: int  # the root's SERVER span (a child's: its root's)
    parent: "_Execution | None" = None
    parent_gen: int = 0  # the parent's generation when this child was made (it ended: other)
    parent_epoch: int = 0  # the parent's epoch then: a CHILD event is stale once it changed
    caller: object = None  # a sync start's call (_CallAttempt), answered at the end
    client: int = -1  # a sync traffic client's trace, answered at the end
    row: int = -1  # the current state
    # the current attempt of the current state: +1 at each entry and at each error of the state,
    # so the events of an attempt that is over (answers, timeouts, callbacks, children) are stale
    epoch: int = 0
    gen: int = 0
    done: bool = False
    counts: list = field(default_factory=list)  # per retrier of the current state: retries made
    attempt: int = 0  # the current Task attempt within the state's entry
    call_open: bool = False  # the Task's call is made and not yet ok, failed or abandoned
    call_key: int = -1
    open_call: object = None  # the call attempt whose CLIENT span is open
    n_children: int = 0  # PARALLEL: branches; MAP: items
    next_item: int = 0  # MAP: the next item to start
    ok: int = 0  # children succeeded in this attempt
    failed: int = 0  # MAP: children failed in this attempt


@dataclass(eq=False)
class _Wf:
    """A `K_WF` event of an execution record (op WF_*), of its attempt `epoch`."""

    ex: _Execution
    op: int
    epoch: int
    row: int = -1  # ENTER, ENTER_PAID: the state entered
    mask: int = 0  # CHILD_FAIL: the child's error
    trace: int = -1


@dataclass(eq=False)
class _WfDeadline:
    """A root execution's TimeoutSeconds (late counter, not traced)."""

    ex: _Execution


@dataclass(eq=False)
class _Pair:
    """One (message, target) pair of a fan-out unit (FANOUT_SPEC.md)."""

    kind: str  # "retry" | "ready" | "deliver" | "dead_letter"
    u: int
    j: int
    id: int
    size: int
    key: int
    group: int
    first_t: float
    trace: int
    attempt: int = 0
    seg: int = 0
    used: int = 0
    has_token: bool = False
    seq: int = -1
    parent: int = -1  # the span that published it


@dataclass(eq=False)
class _Unit:
    p: FanoutParams
    gcnt: np.ndarray
    rcnt: np.ndarray
    tcnt: np.ndarray
    rows: list = field(default_factory=list)
    last_delivery: dict = field(default_factory=dict)
    put_tokens: float = 0.0
    put_last: float = 0.0
    inv_tokens: float = 0.0
    inv_last: float = 0.0
    attempt_seq: int = 0


class _Account:
    """Everything that changes while the account runs."""

    def __init__(self, params: AccountParams, streams: dict, t_end: float, period_s: float, record_spans: bool):
        self.p = params
        self.streams = streams
        self.t_end = float(t_end)
        self.w = mq._new_world(params.pool, params.queues, params.mappings, params.fleets, streams, t_end, period_s)
        self.ps = self.w.ps
        self.ps.live = {}
        self.ps.on_start = self._on_start
        self.ps.on_throttle = self._on_callee_throttle
        self.ps.on_drop = self._on_drop
        self.w.on_log = self._on_log
        self.traces: dict[int, _Trace] = {}
        self.trace_end: dict[int, tuple[float, float]] = {}
        self.touched: set[int] = set()
        self.units = []
        self.target_off = list(np.cumsum([0] + [up.n_targets for up in params.units]))  # flat target index
        for up in params.units:
            P, R, T = up.n_periods, up.n_rules, up.n_targets
            self.units.append(_Unit(up, np.zeros((P, len(_G)), np.int64), np.zeros((P, R), np.int64),
                                    np.zeros((P, T, len(_C)), np.int64), put_tokens=up.put_burst,
                                    inv_tokens=up.inv_burst))
        self.cur: dict = {}
        self.next_id = 0
        self.port_seq: dict[int, int] = {}
        self.running: list[_Invocation] = []  # invocations with calls, in progress
        # the call tables: one list per function, then one per machine (its Task states' calls)
        self.n_fn = len(params.calls)
        self.calls = list(params.calls) + [mp.calls for mp in params.machines]
        self.call_stats = [[dict(made=0, ok=0, failed=0, abandoned=0, in_flight_end=0, attempts=0, retries=0)
                            for _ in cs]
                           for cs in self.calls]
        self.ep_stats = [dict(requests=0, ok=0, errors=0, throttled=0, outage=0, in_progress_end=0)
                         for _ in params.endpoints]
        self.flows: list = []  # flow records (t, global call index), in event order
        self.call_off = list(np.cumsum([0] + [len(cs) for cs in self.calls]))  # a function's first call
        self.ep_busy = [0] * len(params.endpoints)
        self.ep_tokens = [e.burst for e in params.endpoints]
        self.ep_last = [0.0] * len(params.endpoints)
        self.period_s = period_s
        self.n_periods = n_periods(t_end, period_s)
        self.tables = [Table(spec, self.n_periods) for spec in params.tables]
        flat = [cp for cs in self.calls for cp in cs]
        table_calls = [k for k, cp in enumerate(flat) if cp.kind in (K_TABLE, K_BUCKET)]
        self.buckets = Buckets([int(b["prefixes"]) for b in params.buckets], self.n_periods)
        self.table_call = {k: j for j, k in enumerate(table_calls)}  # global call index -> its TU/TK streams
        self.entry: list[EntryPoint] = []
        self.record_spans = record_spans
        self.spans: list = []
        self.open_spans: dict[int, tuple] = {}
        self.parent: dict[tuple, int] = {}  # ("m", message id) or ("a", attempt id) -> the span that sent it
        # Step Functions (ACCOUNT_SPEC.md §14)
        self.executions: list[_Execution] = []  # records running (roots and children), in order made
        self.wcnt = [np.zeros((self.n_periods, N_W), np.int64) for _ in params.machines]
        q = params.sfn_quotas
        # per bucket (WQ_START_STANDARD, WQ_START_EXPRESS, WQ_TRANSITION): [tokens, last, rate, burst]
        self.wq = [[float(q[2 * b + 1]), 0.0, float(q[2 * b]), float(q[2 * b + 1])] for b in range(3)]

    # draws --------------------------------------------------------------------------------
    def draw(self, name: str, *index) -> float:
        key = (name, *index)
        i = self.cur.get(key, 0)
        values = self.streams[name]
        for k in index:
            values = values[k]
        if i >= len(values):
            raise IndexError(f"stream {name}{list(index)} exhausted after {i} draws")
        self.cur[key] = i + 1
        return float(values[i])

    def new_id(self) -> int:
        self.next_id += 1
        return _INTERNAL_ID0 - self.next_id

    # traces --------------------------------------------------------------------------------
    def hold(self, trace: int, n: int = 1) -> None:
        if trace >= 0:
            self.reopen(trace)
            self.traces[trace].n += n
            self.touched.add(trace)

    def reopen(self, trace: int) -> None:
        """Something of a closed trace goes on (a poller's batch invoked after its first message
        expired): the trace is open again and closes anew later (ACCOUNT_SPEC.md §7)."""
        tc = self.traces[trace]
        if tc.closed:
            tc.closed = False
            t0, t_closed = self.trace_end.pop(trace)
            self.entry[tc.entry].completion_s.remove(t_closed - t0)

    def schedule(self, t: float, event) -> None:
        pool._schedule(self.ps, t, event)
        if getattr(event, "trace", -1) >= 0:
            self.touched.add(event.trace)

    def popped(self, event) -> None:
        tr = getattr(event, "trace", -1)
        if tr >= 0:
            self.reopen(tr)
            self.ps.live[tr] -= 1
            self.touched.add(tr)

    def alive(self, trace: int) -> int:
        return self.traces[trace].n + self.ps.live.get(trace, 0)

    def close_touched(self, t: float) -> None:
        for tr in sorted(self.touched):
            tc = self.traces[tr]
            if not tc.closed and self.alive(tr) == 0:
                tc.closed = True
                self.trace_end[tr] = (tc.t0, t)
                self.entry[tc.entry].completion_s.append(t - tc.t0)
        self.touched.clear()

    def _on_log(self, t: float, msg, q: int, event: str) -> None:
        if event == "sent":
            self.hold(msg.trace)
        elif event in ("deleted", "expired"):
            self.hold(msg.trace, -1)

    # spans ---------------------------------------------------------------------------------
    def span_open(self, trace: int, parent: int, kind: int, rkind: int, ridx: int, frm: int, t: float) -> int:
        """Open a span (its kind and what it is about, lambda_pool SK_* and K_*); its id, or -1."""
        if not self.record_spans or trace < 0:
            return -1
        sid = len(self.spans) + len(self.open_spans)
        self.open_spans[sid] = (self.traces[trace].rid, sid, parent, kind, rkind, ridx, frm, t)
        return sid

    def span_close(self, sid: int, t: float, error: bool = False, cold: int = 0, attempt: int = 0,
                   answer: int = -1) -> None:
        if sid >= 0:
            rid, sid, parent, kind, rkind, ridx, frm, start = self.open_spans.pop(sid)
            self.spans.append((rid, sid, parent, kind, rkind, ridx, frm, int(error), cold, attempt, answer, start, t))

    def parent_of(self, a: pool._Attempt) -> int:
        """The span that caused attempt `a`: its sync caller's call, its batch's first message's
        sender, or whatever sent the async event."""
        if a.caller is not None:
            return a.caller.span
        if a.batch is not None:
            return self.parent.get(("m", a.batch.items[0][0].mid), -1)
        return self.parent.get(("a", a.id), -1)

    # the pool's hooks ----------------------------------------------------------------------
    def _on_drop(self, a: pool._Attempt, t: float) -> None:
        """An async event dropped: to its on-failure queue, its message sent by the attempt's cause."""
        self.parent[("m", mq.on_failure_mid(self.w.res.failure_sends))] = self.parent_of(a)
        mq._on_failure(self.w, a, t)

    def _on_start(self, a: pool._Attempt, t, cold, on_pc, birth_t, d_ms, init_ms, u) -> bool:
        f = a.f
        calls = self.p.calls[f] if f < len(self.p.calls) else []
        parent = self.parent_of(a)
        if not calls:
            if self.record_spans and a.trace >= 0:  # its end is known now (POOL_SPEC.md step 3)
                p = self.ps.p
                timed_out = d_ms > p.timeout_ms[f]
                end = t + (init_ms + min(d_ms, p.timeout_ms[f])) / 1000.0
                sid = self.span_open(a.trace, parent, SK_SERVER, K_FUNCTION, f, -1, t)
                self.span_close(sid, end, timed_out or u < p.error_rate[f], int(cold), a.attempt)
            return False
        res, p = self.ps.res, self.ps.p
        res.invocations[f] += 1
        res.cold_starts[f] += int(cold)
        res.request_units[f] += a.units
        inv = _Invocation(a, t, cold, on_pc, birth_t, init_ms, d_ms, u < p.error_rate[f], [],
                          span=self.span_open(a.trace, parent, SK_SERVER, K_FUNCTION, f, -1, t))
        self.running.append(inv)
        self.hold(a.trace)
        self.schedule(t, _Begin(inv, trace=a.trace))  # its handler begins as an event at t
        return True

    def begin(self, inv: _Invocation) -> None:
        """BEGIN: which calls run (one CALL draw per call with probability < 1, in list order),
        the deadline, the first step."""
        f, p = inv.a.f, self.ps.p
        steps = []
        for c, cp in enumerate(self.p.calls[f]):
            runs = cp.probability >= 1.0 or self.draw("CALL", f) < cp.probability
            if runs:
                steps.append((cp.at_end, c, cp.count))
        inv.steps = [c for at_end, c, n in steps if not at_end for _ in range(n)]
        inv.steps.append(-1)
        inv.steps += [c for at_end, c, n in steps if at_end for _ in range(n)]
        h0 = inv.t + inv.init_ms / 1000.0
        heapq.heappush(self.ps.heap, (h0 + p.timeout_ms[f] / 1000.0, pool._INTERNAL, self.ps.seq + LAST_AT_INSTANT,
                                      _Timeout(inv, inv.gen)))
        self.ps.seq += 1
        self.run_step(inv, h0)

    def _on_callee_throttle(self, a: pool._Attempt, t: float) -> None:
        self.answer(a.caller, t, R_THROTTLED)

    # the steps of an invocation ------------------------------------------------------------
    def run_step(self, inv: _Invocation, s: float) -> None:
        """Start the step at `inv.cursor` at time `s` (or complete the invocation)."""
        if inv.cursor == len(inv.steps):
            self.finish(inv, s, pool.ERROR if inv.own_error else pool.OK)
            return
        c = inv.steps[inv.cursor]
        if c < 0:
            self.schedule(s + inv.d_ms / 1000.0, _Step(inv, inv.gen, trace=inv.a.trace))
            return
        f = inv.a.f
        self.call_stats[f][c]["made"] += 1
        inv.call_open = True
        cp = self.p.calls[f][c]
        inv.call_key = -1
        if cp.key_cdf:  # its own classes: one CALL draw per call made
            u = self.draw("CALL", f)
            inv.call_key = cp.key + min(int(np.searchsorted(cp.key_cdf, u, side="right")), len(cp.key_cdf) - 1)
        self.call_start(_CallAttempt(inv, inv.gen, c, 0, s, -1), s)

    def call_start(self, ca: _CallAttempt, s: float) -> None:
        inv, f = ca.inv, ca.inv.a.f
        cp = self.calls[f][ca.c]
        self.call_stats[f][ca.c]["attempts"] += 1
        ca.start_t = s
        ca.span = self.span_open(inv.a.trace, inv.span, SK_CLIENT, cp.kind, cp.index, f, s)
        inv.open_call = ca
        lat = self.draw("CLAT", f, ca.c) / 1000.0
        ca.lat_us = int(np.round(lat * 1e6))
        self.schedule(s + lat, _CallArrive(ca, inv.a.trace))

    def call_arrive(self, ca: _CallAttempt, t: float) -> None:
        """The request of a call attempt reaches its target at `t`."""
        inv = ca.inv
        cp = self.calls[inv.a.f][ca.c]
        size = cp.size_bytes if cp.size_bytes >= 0 else inv.a.size_bytes
        key = inv.call_key if inv.call_key >= 0 else cp.key if cp.key >= 0 else inv.a.key
        trace = inv.a.trace
        if cp.kind == K_ENDPOINT:
            self.endpoint_request(cp.index, ca, t)
            return
        if cp.kind == K_TABLE:  # served or throttled at once
            j = self.table_call[int(self.call_off[inv.a.f]) + ca.c]
            half, h = self.draw("TU", j), self.draw("TK", j)
            p = min(int(t / self.period_s), self.n_periods - 1)
            ok = self.tables[cp.index].request(t, p, half, h, cp.direction, ca.lat_us)
            self.answer(ca, t, R_OK if ok else R_THROTTLED)
            spec = self.p.tables[cp.index]
            if ok and spec.get("stream_queue", -1) >= 0 and cp.direction == TB_WRITE:  # its stream record
                rid = self.item_id(spec["stream_port"])
                self.parent[("m", rid)] = ca.span
                mq._send(self.w, rid, spec["stream_queue"], int(half * STREAM_BYTES_PER_HALF_UNIT), key, 0, t,
                         trace=trace)
            return
        if cp.kind == K_BUCKET:  # served, or 503 Slow Down, at once; the body moves after
            j = self.table_call[int(self.call_off[inv.a.f]) + ca.c]
            nbytes, prefix = int(self.draw("TU", j)), int(self.draw("TK", j))
            spec = self.p.buckets[cp.index]
            p = min(int(t / self.period_s), self.n_periods - 1)
            transfer = nbytes / spec["bytes_per_s"]
            ok = self.buckets.request(t, cp.index, p, cp.direction, prefix, nbytes, ca.lat_us,
                                      int(np.round(transfer * 1e6)))
            if ok and spec.get("unit", -1) >= 0 and cp.direction in (BK_PUT, BK_COPY, BK_POST):
                self.publish(spec["unit"], t, self.item_id(spec["port"]), NOTIFICATION_BYTES, key, -1, trace,
                             parent=ca.span)
            self.answer(ca, t + transfer if ok and transfer > 0 else t, R_OK if ok else R_UNAVAILABLE)
            return
        if cp.kind == K_SFN:  # StartExecution / StartSyncExecution (a Task: startExecution[.sync])
            if not self.start_execution(cp.index, t, trace, size, key, ca.span, ca=ca, sync=cp.sync):
                self.answer(ca, t, R_THROTTLED)
            return
        if cp.kind == K_FLOW:  # an egress entry: a flow record, answered ok at once
            self.flows.append((t, int(self.call_off[inv.a.f]) + ca.c))
            self.answer(ca, t, R_OK)
            return
        rid = self.item_id(cp.port)
        if cp.kind == K_FUNCTION and cp.sync:
            callee = pool._Attempt(id=rid, f=cp.index, src=-1, inv=pool.SYNC, first_t=t,
                                   dur_override_ms=math.nan, size_bytes=size, trace=trace, caller=ca, key=key)
            pool._attempt(self.ps, callee, t)
        elif cp.kind == K_FUNCTION:
            callee = pool._Attempt(id=rid, f=cp.index, src=cp.port, inv=pool.ASYNC, first_t=t,
                                   dur_override_ms=math.nan, size_bytes=size, trace=trace, key=key)
            self.parent[("a", callee.id)] = ca.span
            pool._attempt(self.ps, callee, t)
            self.answer(ca, t, R_OK)
        elif cp.kind == K_QUEUE:
            # SendMessage's answer is scheduled first; then the message enters its queue, whose
            # pollers may receive it at once (the kernel runs a send's offer after its event)
            self.answer(ca, t, R_OK)
            self.parent[("m", rid)] = ca.span
            mq._send(self.w, rid, cp.index, size, key, 0, t, trace=trace)
        elif cp.kind == K_UNIT:
            accepted = self.publish(cp.index, t, rid, size, key, -1, trace, parent=ca.span)
            self.answer(ca, t, R_OK if accepted else R_THROTTLED)
        else:
            raise ValueError(f"call to a port of kind {cp.kind}")

    def answer(self, ca: _CallAttempt, t: float, status: int) -> None:
        """A call attempt's answer reaches its caller at `t`, as an event (RESPONSE)."""
        self.schedule(t, _Response(ca, status, trace=ca.inv.a.trace))

    def respond(self, ca: _CallAttempt, t: float, status: int) -> None:
        """RESPONSE: next step, SDK retry, or the call failed for good."""
        if isinstance(ca.inv, _Execution):  # a Task state's call (ACCOUNT_SPEC.md §14)
            self.task_answer(ca, t, status)
            return
        inv, f = ca.inv, ca.inv.a.f
        cp = self.p.calls[f][ca.c]
        stats = self.call_stats[f][ca.c]
        if inv.done or ca.gen != inv.gen:
            return  # a late answer: the call was abandoned when its caller ended
        self.span_close(ca.span, t, status != R_OK, 0, ca.attempt, status)
        inv.open_call = None
        if status == R_OK:
            stats["ok"] += 1
            inv.call_open = False
            inv.cursor += 1
            self.run_step(inv, t)
            return
        if status in RETRIABLE and ca.attempt + 1 < cp.max_attempts:
            delay = self.draw("CALL", f) * min(SDK_BACKOFF_BASE ** ca.attempt, SDK_BACKOFF_CAP_S)
            nxt = _CallAttempt(inv, ca.gen, ca.c, ca.attempt + 1, t + delay, -1)
            self.schedule(t + delay, _SdkRetry(nxt, trace=inv.a.trace))
            return
        stats["failed"] += 1
        inv.call_open = False
        if cp.on_error_continue:
            inv.cursor += 1
            self.run_step(inv, t)
        else:
            self.finish(inv, t, pool.ERROR)

    def finish(self, inv: _Invocation, t: float, outcome: int) -> None:
        """The invocation ends at `t`: free its environment, answer its caller or batch."""
        a, f = inv.a, inv.a.f
        if inv.call_open:  # ended (timeout) while a call waited: the call is abandoned
            self.call_stats[f][inv.steps[inv.cursor]]["abandoned"] += 1
            inv.call_open = False
            if inv.open_call is not None:  # its CLIENT span ends with it, unanswered
                self.span_close(inv.open_call.span, t, True, 0, inv.open_call.attempt, -1)
                inv.open_call = None
        inv.done = True
        inv.gen += 1
        self.running.remove(inv)
        res = self.ps.res
        latency_ms = (t - inv.t) * 1000.0
        error = outcome != pool.OK
        res.rows.append((a.id, a.attempt, inv.t, f, outcome, int(inv.cold), int(inv.on_pc), latency_ms, inv.init_ms))
        res.errors[f] += int(error)
        res.timeouts[f] += int(outcome == pool.TIMEOUT)
        res.busy_time_s[f] += min(t, self.t_end) - inv.t
        res.billed_ms[f] += math.ceil(latency_ms - BILLED_EPS_MS)
        self.span_close(inv.span, t, error, int(inv.cold), a.attempt)
        done = pool._Completion(f, inv.on_pc, inv.birth_t, error=error, batch=a.batch, caller=a.caller)
        pool._complete(self.ps, done, t)
        self.completed(done, a, t)
        if a.inv == pool.ASYNC and error:
            pool.async_error(self.ps, a, t, t)
        self.hold(a.trace, -1)

    def completed(self, c: pool._Completion, a, t: float) -> None:
        """After the pool freed an environment: the mapping's batch, the sync caller, the client."""
        if c.batch is not None:
            mq._on_batch_complete(self.w, c.batch, c.error, t)
        if c.caller is not None:
            self.answer(c.caller, t, R_FUNCTION_ERROR if c.error else R_OK)

    # Step Functions executions (ACCOUNT_SPEC.md §14) ----------------------------------------
    def wper(self, t: float) -> int:
        return min(int(t / self.period_s), self.n_periods - 1)

    def schedule_late(self, t: float, event) -> None:
        """A timer with the late counter (it runs after every other event at its instant), not traced."""
        heapq.heappush(self.ps.heap, (t, pool._INTERNAL, self.ps.seq + LAST_AT_INSTANT, event))
        self.ps.seq += 1

    def start_token(self, b: int, t: float) -> bool:
        """Take a StartExecution token of bucket `b` at `t` (refilled continuously); False: none left."""
        q = self.wq[b]
        tokens, last, rate, burst = q
        if not math.isfinite(rate):
            return True
        tokens = min(burst, tokens + rate * (t - last))
        q[0], q[1] = tokens, t
        if tokens < 1.0:
            return False
        q[0] = tokens - 1.0
        return True

    def transition(self, ex: _Execution, t: float) -> float:
        """A state transition at `t` (an entry or a retry): counted, and for a Standard machine a
        StateTransition token taken; the wait before it may run (0: none)."""
        w, per = self.wcnt[ex.m], self.wper(t)
        w[per, W_TRANSITIONS] += 1
        q = self.wq[WQ_TRANSITION]
        tokens, last, rate, burst = q
        if self.p.machines[ex.m].express or not math.isfinite(rate):
            return 0.0
        tokens = min(burst, tokens + rate * (t - last)) - 1.0
        q[0], q[1] = tokens, t
        if tokens < 0.0:
            w[per, W_TRANS_DELAYED] += 1
            return -tokens / rate
        return 0.0

    def start_execution(self, m: int, t: float, trace: int, size: int, key: int, parent_span: int,
                        ca: _CallAttempt | None = None, sync: bool = False, client: int = -1) -> bool:
        """A start request of machine `m` at `t` (a call's CALL_ARRIVE or a traffic arrival): False
        when the StartExecution quota refuses it. A sync start keeps its caller `ca` (or its traffic
        client `client`) until the execution ends; an async one answers its caller R_OK now."""
        mp = self.p.machines[m]
        per = self.wper(t)
        if not self.start_token(WQ_START_EXPRESS if mp.express else WQ_START_STANDARD, t):
            self.wcnt[m][per, W_THROTTLED] += 1
            return False
        self.wcnt[m][per, W_STARTED] += 1
        ex = _Execution(_Payload(self.n_fn + m, trace, size, key), m, t,
                        self.span_open(trace, parent_span, SK_SERVER, K_SFN, m, -1, t),
                        caller=ca if sync else None, client=client)
        self.executions.append(ex)
        self.hold(trace)
        if math.isfinite(mp.timeout_s):
            self.schedule_late(t + mp.timeout_s, _WfDeadline(ex))
        if ca is not None and not sync:
            self.answer(ca, t, R_OK)
        self.schedule(t, _Wf(ex, WF_ENTER, ex.epoch, mp.start, trace=trace))
        return True

    def child(self, parent: _Execution, row: int, t: float) -> None:
        """A Parallel's branch or a Map's iteration: a record of the scope starting at `row`."""
        c = _Execution(parent.a, parent.m, t, parent.span, parent=parent, parent_gen=parent.gen,
                       parent_epoch=parent.epoch)
        self.executions.append(c)
        self.hold(c.a.trace)
        self.schedule(t, _Wf(c, WF_ENTER, c.epoch, row, trace=c.a.trace))

    def free(self, ex: _Execution) -> None:
        ex.done = True
        ex.gen += 1
        self.executions.remove(ex)
        self.hold(ex.a.trace, -1)

    def abandon_task(self, ex: _Execution, t: float) -> None:
        """The record ends while its Task's call waits (answer, retry or callback): abandoned."""
        if ex.call_open:
            self.call_stats[ex.a.f][self.p.machines[ex.m].states[ex.row].call]["abandoned"] += 1
            ex.call_open = False
        if ex.open_call is not None:  # its CLIENT span ends with it, unanswered
            self.span_close(ex.open_call.span, t, True, 0, ex.open_call.attempt, -1)
            ex.open_call = None

    def wf_live(self, ex: _Execution, t: float) -> bool:
        """Whether an event of record `ex` at `t` finds it running; a child whose parent has ended or
        left the attempt it belongs to (a sibling failed) ends here (aborted, as AWS stops it:
        nothing counted but its open task, abandoned)."""
        if ex.done:
            return False
        if ex.parent is not None and (ex.parent.gen != ex.parent_gen or ex.parent.epoch != ex.parent_epoch):
            self.abandon_task(ex, t)
            self.free(ex)
            return False
        return True

    def wf_enter(self, ex: _Execution, row: int, t: float, paid: bool = False) -> None:
        """Enter state `row` at `t` (a transition), then the zero-time states after it (Pass,
        Choice) in the same event; `paid`: the first one's transition was taken already."""
        mp = self.p.machines[ex.m]
        for _ in range(len(mp.states) + 1):  # a zero-time path visits a state once (cycles refused)
            sp: StateParams = mp.states[row]
            if not paid:
                ex.epoch += 1
                ex.row = row
                ex.counts = [0] * len(sp.retriers)
                wait = self.transition(ex, t)
                if wait > 0.0:
                    self.schedule(t + wait, _Wf(ex, WF_ENTER_PAID, ex.epoch, row, trace=ex.a.trace))
                    return
            paid = False
            op = sp.op
            if op == OP_PASS:
                if sp.next < 0:
                    self.scope_end(ex, t, 0)
                    return
                row = sp.next
            elif op == OP_CHOICE:
                u = self.draw("CALL", ex.a.f)
                row = next((nxt for cum, nxt in sp.branches if u < cum), -1)
                if row < 0:  # NoChoiceMatched: no Retry or Catch of a Choice handles it
                    self.scope_end(ex, t, ERR_NO_CHOICE)
                    return
            elif op == OP_WAIT:
                s = sp.wait_s if not math.isnan(sp.wait_s) else max(0.0, self.draw("WST", ex.m, row))
                if sp.next < 0:
                    self.schedule(t + s, _Wf(ex, WF_SUCCEED_AT, ex.epoch, trace=ex.a.trace))
                else:
                    self.schedule(t + s, _Wf(ex, WF_ENTER, ex.epoch, sp.next, trace=ex.a.trace))
                return
            elif op == OP_SUCCEED:
                self.scope_end(ex, t, 0)
                return
            elif op == OP_FAIL:
                self.scope_end(ex, t, ERR_FAIL)
                return
            else:
                if op == OP_MAP:
                    ex.n_children = max(0, round(self.draw("WST", ex.m, row)))
                elif op == OP_PARALLEL:
                    ex.n_children = len(sp.branches)
                self.attempt(ex, t, first=True)
                return
        raise RuntimeError(f"machine {ex.m}: a cycle of zero-time states (Pass, Choice)")

    def attempt(self, ex: _Execution, t: float, first: bool) -> None:
        """An attempt of the current Task, Parallel or Map state at `t` (its first, or a retry)."""
        sp = self.p.machines[ex.m].states[ex.row]
        if sp.op == OP_TASK:
            f, c = ex.a.f, sp.call
            stats, cp = self.call_stats[f][c], self.calls[f][c]
            if first:
                stats["made"] += 1
                ex.call_open = True
                ex.attempt = 0
                ex.call_key = -1
                if cp.key_cdf:  # its own classes: one CALL draw per call made
                    u = self.draw("CALL", f)
                    ex.call_key = cp.key + min(int(np.searchsorted(cp.key_cdf, u, side="right")),
                                               len(cp.key_cdf) - 1)
            else:
                stats["retries"] += 1
                ex.attempt += 1
            self.call_start(_CallAttempt(ex, ex.epoch, c, ex.attempt, t, -1), t)
            if math.isfinite(sp.timeout_s):
                self.schedule_late(t + sp.timeout_s, _Wf(ex, WF_TASK_TIMEOUT, ex.epoch))
            return
        ex.ok = ex.failed = 0
        if sp.op == OP_PARALLEL:
            if not sp.branches:
                self.state_ok(ex, t)
                return
            for row in sp.branches:
                self.child(ex, row, t)
            return
        # OP_MAP
        ex.next_item = 0
        if ex.n_children == 0:
            self.state_ok(ex, t)
            return
        for _ in range(min(ex.n_children, sp.max_concurrency)):
            self.child(ex, sp.processor, t)
            ex.next_item += 1

    def state_ok(self, ex: _Execution, t: float) -> None:
        """The current state succeeded at `t`: its next state is entered (End: the scope succeeds)."""
        nxt = self.p.machines[ex.m].states[ex.row].next
        if nxt < 0:
            self.scope_end(ex, t, 0)
        else:
            self.wf_enter(ex, nxt, t)

    def task_ok(self, ex: _Execution, t: float) -> None:
        self.call_stats[ex.a.f][self.p.machines[ex.m].states[ex.row].call]["ok"] += 1
        ex.call_open = False
        self.state_ok(ex, t)

    def task_answer(self, ca: _CallAttempt, t: float, status: int) -> None:
        """RESPONSE to a Task attempt: success (or its callback), or an error of the task."""
        ex = ca.inv
        if not self.wf_live(ex, t) or ca.gen != ex.epoch:
            return  # the attempt is over (timed out, or its record ended): a stale answer
        self.span_close(ca.span, t, status != R_OK, 0, ca.attempt, status)
        ex.open_call = None
        sp = self.p.machines[ex.m].states[ex.row]
        if status == R_OK:
            if sp.callback:  # the token comes back c ms later, a SendTaskSuccess or a SendTaskFailure
                c_ms = max(0.0, self.draw("WST", ex.m, ex.row))
                fail = sp.callback_failure > 0.0 and self.draw("CALL", ex.a.f) < sp.callback_failure
                self.schedule(t + c_ms / 1000.0, _Wf(ex, WF_CALLBACK_FAIL if fail else WF_CALLBACK_OK, ex.epoch,
                                                     trace=ex.a.trace))
                return
            self.task_ok(ex, t)
            return
        if status == R_FUNCTION_ERROR:
            e = ERR_FUNCTION
        elif status == R_THROTTLED:
            e = ERR_LAMBDA_THROTTLED if self.calls[ex.a.f][ca.c].kind == K_FUNCTION else ERR_THROTTLED
        else:  # R_SERVER_ERROR, R_UNAVAILABLE
            e = ERR_THROTTLED
        self.state_error(ex, t, e)

    def state_error(self, ex: _Execution, t: float, e: int) -> None:
        """An error (mask `e`) of the current Task, Parallel or Map state at `t`: the first retrier
        that matches (if it has attempts left), else the first catcher, else the scope fails."""
        sp = self.p.machines[ex.m].states[ex.row]
        ex.epoch += 1  # the attempt is over: its late answers, timers and children are stale
        for i, (mask, max_attempts, interval_s, backoff, max_delay_s, full) in enumerate(sp.retriers):
            if mask & e:
                c = ex.counts[i]
                if c < max_attempts:
                    ex.counts[i] = c + 1
                    u = self.draw("CALL", ex.a.f) if full else 0.0
                    d = retry_delay_s(c, interval_s, backoff, max_delay_s, bool(full), u)
                    self.schedule(t + d, _Wf(ex, WF_RETRY, ex.epoch, trace=ex.a.trace))
                    return
                break  # no later retrier is tried
        if sp.op == OP_TASK:  # final: caught or failing the scope
            self.call_stats[ex.a.f][sp.call]["failed"] += 1
            ex.call_open = False
        for mask, nxt in sp.catchers:
            if mask & e:
                self.wf_enter(ex, nxt, t)
                return
        self.scope_end(ex, t, e)

    def child_end(self, ex: _Execution, t: float, mask: int, ok: bool) -> None:
        """CHILD_OK / CHILD_FAIL of the current Parallel or Map attempt of `ex`."""
        sp = self.p.machines[ex.m].states[ex.row]
        if ok:
            ex.ok += 1
        elif sp.op == OP_PARALLEL:
            self.state_error(ex, t, ERR_FAIL | mask)
            return
        else:
            ex.failed += 1
            if ex.failed > max(sp.tolerated_count, math.floor(sp.tolerated_share * ex.n_children)):
                self.state_error(ex, t, ERR_FAIL | mask)
                return
        if sp.op == OP_PARALLEL:
            if ex.ok == ex.n_children:
                self.state_ok(ex, t)
            return
        if ex.next_item < ex.n_children:  # MAP: the next item takes the place
            self.child(ex, sp.processor, t)
            ex.next_item += 1
        elif ex.ok + ex.failed == ex.n_children:
            self.state_ok(ex, t)

    def scope_end(self, ex: _Execution, t: float, e: int) -> None:
        """The scope of `ex` succeeds (e = 0) or fails with error mask e at `t`."""
        if ex.parent is None:
            self.root_end(ex, t, W_SUCCEEDED if e == 0 else W_FAILED)
            return
        self.schedule(t, _Wf(ex.parent, WF_CHILD_OK if e == 0 else WF_CHILD_FAIL, ex.parent_epoch, mask=e,
                             trace=ex.a.trace))
        self.free(ex)

    def root_end(self, ex: _Execution, t: float, outcome: int) -> None:
        """A root execution ends at `t`: W_SUCCEEDED, W_FAILED or W_TIMED_OUT."""
        mp, w, per = self.p.machines[ex.m], self.wcnt[ex.m], self.wper(t)
        w[per, outcome] += 1
        duration = t - ex.t0
        us = int(np.round(duration * 1e6))
        w[per, W_TIME_US] += us
        w[per, W_TIME_MAX_US] = max(w[per, W_TIME_MAX_US], us)
        if mp.express:
            w[per, W_UNITS] += express_units(math.ceil(duration * 1000.0 - BILLED_EPS_MS), mp.memory_mb)
        ok = outcome == W_SUCCEEDED
        self.span_close(ex.span, t, not ok)
        if ex.caller is not None:
            self.answer(ex.caller, t, R_OK if ok else R_FUNCTION_ERROR)
        if ex.client >= 0:
            tc = self.traces[ex.client]
            ep = self.entry[tc.entry]
            ep.latency_s.append(t - tc.t0)
            if ok:
                ep.succeeded += 1
            else:
                ep.failed += 1
            self.span_close(tc.root, t, not ok, answer=A_OK if ok else A_FAILED)
        self.abandon_task(ex, t)
        self.free(ex)

    def wf_event(self, ev, t: float) -> None:
        if isinstance(ev, _WfDeadline):
            if not ev.ex.done:
                self.root_end(ev.ex, t, W_TIMED_OUT)
            return
        ex, op = ev.ex, ev.op
        if not self.wf_live(ex, t) or ev.epoch != ex.epoch:
            return
        if op == WF_ENTER:
            self.wf_enter(ex, ev.row, t)
        elif op == WF_ENTER_PAID:
            self.wf_enter(ex, ev.row, t, paid=True)
        elif op == WF_RETRY:
            wait = self.transition(ex, t)
            if wait > 0.0:
                self.schedule(t + wait, _Wf(ex, WF_RETRY_PAID, ex.epoch, trace=ex.a.trace))
                return
            self.attempt(ex, t, first=False)
        elif op == WF_RETRY_PAID:
            self.attempt(ex, t, first=False)
        elif op == WF_TASK_TIMEOUT:
            if ex.open_call is not None:  # abandoned: its CLIENT span ends unanswered, its callee runs on
                ca = ex.open_call
                self.span_close(ca.span, t, True, 0, ca.attempt, -1)
                ex.open_call = None
            self.state_error(ex, t, ERR_TIMEOUT)
        elif op == WF_CALLBACK_OK:
            self.task_ok(ex, t)
        elif op == WF_CALLBACK_FAIL:
            self.state_error(ex, t, ERR_FUNCTION)
        elif op == WF_SUCCEED_AT:
            self.scope_end(ex, t, 0)
        elif op in (WF_CHILD_OK, WF_CHILD_FAIL):
            self.child_end(ex, t, ev.mask, op == WF_CHILD_OK)
        else:
            raise ValueError(f"K_WF op {op}")

    # endpoints -----------------------------------------------------------------------------
    def endpoint_request(self, e: int, ca: _CallAttempt, t: float) -> None:
        ep, st = self.p.endpoints[e], self.ep_stats[e]
        st["requests"] += 1
        if any(s <= t < x for s, x in ep.outages):
            st["outage"] += 1
            self.answer(ca, t, R_UNAVAILABLE)
            return
        if 0 <= ep.max_concurrency <= self.ep_busy[e]:
            st["throttled"] += 1
            self.answer(ca, t, R_THROTTLED)
            return
        if math.isfinite(ep.rate_per_s):
            self.ep_tokens[e] = min(ep.burst, self.ep_tokens[e] + ep.rate_per_s * (t - self.ep_last[e]))
            self.ep_last[e] = t
            if self.ep_tokens[e] < 1.0:
                st["throttled"] += 1
                self.answer(ca, t, R_THROTTLED)
                return
            self.ep_tokens[e] -= 1.0
        self.ep_busy[e] += 1
        lat = self.draw("ELAT", e) / 1000.0
        error = ep.error_rate > 0 and self.draw("EU", e) < ep.error_rate
        self.schedule(t + lat, _EndpointDone(e, ca, error, ca.inv.a.trace))

    def endpoint_done(self, ev: _EndpointDone, t: float) -> None:
        self.ep_busy[ev.e] -= 1
        self.ep_stats[ev.e]["errors" if ev.error else "ok"] += 1
        self.answer(ev.call, t, R_SERVER_ERROR if ev.error else R_OK)

    # fan-out units (FANOUT_SPEC.md) --------------------------------------------------------
    def period(self, u: _Unit, t: float) -> int:
        return min(int(t / u.p.period_s), u.p.n_periods - 1)

    def publish(self, ui: int, t: float, mid: int, size: int, key: int, group: int, trace: int,
                parent: int = -1) -> bool:
        """A Publish / PutEvents entry at `t`; False when the put quota refuses it."""
        u = self.units[ui]
        p, per = u.p, self.period(u, t)
        if math.isfinite(p.put_rate):
            u.put_tokens = min(p.put_burst, u.put_tokens + p.put_rate * (t - u.put_last))
            u.put_last = t
            if u.put_tokens < 1.0:
                u.gcnt[per, _G["put_throttled"]] += 1
                return False
            u.put_tokens -= 1.0
        u.gcnt[per, _G["put"]] += 1
        u.gcnt[per, _G["put_chunks"]] += chunks_64kb(size)
        matched = False
        for r in range(p.n_rules):
            targets = range(p.rule_off[r], p.rule_off[r + 1])
            if p.match[key, r]:
                matched = True
                u.rcnt[per, r] += 1
                for j in targets:
                    self.pair_attempt(_Pair("retry", ui, j, mid, size, key, group, t, trace, parent=parent), t)
            else:
                for j in targets:
                    u.tcnt[per, j, _C["filtered"]] += 1
        if matched:
            u.gcnt[per, _G["matched_any"]] += 1
        return True

    def pair_attempt(self, ev: _Pair, ta: float) -> None:
        u = self.units[ev.u]
        p, j = u.p, ev.j
        if math.isfinite(p.inv_rate) and not ev.has_token:
            u.inv_tokens = min(p.inv_burst, u.inv_tokens + p.inv_rate * (ta - u.inv_last))
            u.inv_last = ta
            u.inv_tokens -= 1.0
            if u.inv_tokens < 0.0:
                u.tcnt[self.period(u, ta), j, _C["throttled"]] += 1
                ev.kind, ev.has_token = "ready", True
                self.schedule(ta + (-u.inv_tokens) / p.inv_rate, ev)
                return
        ev.has_token = False
        ev.seq = u.attempt_seq
        u.attempt_seq += 1
        pa = self.period(u, ta)
        u.tcnt[pa, j, _C["attempts"]] += 1
        fail = any(s <= ta < e for s, e in p.outages[j])
        if not fail and p.fail_rate[j] > 0.0:
            fail = self.draw("FU", ev.u, j) < p.fail_rate[j]
        if not fail:
            td = ta + self.draw("FLAT", ev.u, j) / 1000.0
            if p.fifo and ev.group >= 0:
                td = max(td, u.last_delivery.get((j, ev.group), -math.inf))
                u.last_delivery[(j, ev.group)] = td
            u.tcnt[pa, j, _C["final"]] += 1
            ev.kind = "deliver"
            self.schedule(td, ev)
            return
        u.tcnt[pa, j, _C["failed_attempts"]] += 1
        segs = p.policies[j].segments
        while ev.seg < len(segs) and ev.used == segs[ev.seg][0]:
            ev.seg, ev.used = ev.seg + 1, 0
        d = None
        if ev.seg < len(segs):
            ev.used += 1
            d = segs[ev.seg][1]
            if ta + d - ev.first_t > p.policies[j].max_age_s:
                d = None
        if d is None:
            u.tcnt[pa, j, _C["final"]] += 1
            if p.dlq[j]:
                u.rows.append((ta, ev.seq, KIND_DLQ, j, ev.id, ev.size, ev.key, ev.attempt, ev.first_t))
                u.tcnt[pa, j, _C["dlq"]] += 1
                ev.kind = "dead_letter"  # it enters its DLQ as an event at the same instant
                self.schedule(ta, ev)
            else:
                u.tcnt[pa, j, _C["dropped"]] += 1
            return
        ev.kind, ev.attempt = "retry", ev.attempt + 1
        self.schedule(ta + d, ev)

    def deliver(self, ev: _Pair, td: float) -> None:
        """A successful delivery reaches its target at `td`: a SEND, or an async invocation."""
        u = self.units[ev.u]
        u.rows.append((td, ev.seq, KIND_DELIVERY, ev.j, ev.id, ev.size, ev.key, ev.attempt, ev.first_t))
        per = self.period(u, td)
        u.tcnt[per, ev.j, _C["delivered"]] += 1
        u.tcnt[per, ev.j, _C["delivered_chunks"]] += chunks_64kb(ev.size)
        kind, index = self.p.routes[ev.u][ev.j]
        about = (kind, index) if kind >= 0 else (K_EXTERNAL, self.target_off[ev.u] + ev.j)
        sid = self.span_open(ev.trace, ev.parent, SK_PRODUCER, *about, ev.u, ev.first_t)
        self.span_close(sid, td)
        self.enter(kind, index, self.port(self.p.route_ports, ev), ev, td, sid)

    def dead_letter(self, ev: _Pair, t: float) -> None:
        """A pair that failed for good enters its dead-letter queue (scheduled at its last attempt)."""
        self.enter(K_QUEUE, self.p.dlq_queue[ev.u][ev.j], self.port(self.p.dlq_ports, ev), ev, t, ev.parent)

    @staticmethod
    def port(table, ev: _Pair) -> int:
        return table[ev.u][ev.j] if table else -1

    def item_id(self, port: int) -> int:
        """An id for an item entering at `port`: (port << ID_SEQ_BITS) | its number there, as the
        kernel's; an internal id when no port is given."""
        if port < 0:
            return self.new_id()
        k = self.port_seq.get(port, 0)
        self.port_seq[port] = k + 1
        return (port << ID_SEQ_BITS) | k

    def enter(self, kind: int, index: int, port: int, ev: _Pair, t: float, parent: int) -> None:
        """The item of pair `ev` enters the account at `t`: a SEND, an async invocation, a publish or
        an execution's start (ACCOUNT_SPEC.md §14)."""
        mid = self.item_id(port)
        if kind == K_QUEUE:
            self.parent[("m", mid)] = parent
            mq._send(self.w, mid, index, ev.size, ev.key, max(ev.group, 0), t, trace=ev.trace)
        elif kind == K_FUNCTION:
            a = pool._Attempt(id=mid, f=index, src=port, inv=pool.ASYNC, first_t=t, dur_override_ms=math.nan,
                              size_bytes=ev.size, trace=ev.trace, key=ev.key)
            self.parent[("a", a.id)] = parent
            pool._attempt(self.ps, a, t)
        elif kind == K_UNIT:
            self.publish(index, t, mid, ev.size, ev.key, ev.group, ev.trace, parent=parent)
        elif kind == K_SFN:  # an EventBridge rule's state machine target: StartExecution (refused: dropped)
            self.start_execution(index, t, ev.trace, ev.size, ev.key, parent)

    # the loop ------------------------------------------------------------------------------
    def dispatch(self, event, t: float) -> None:
        self.popped(event)
        if isinstance(event, pool._Completion):
            pool._complete(self.ps, event, t)
            self.completed(event, None, t)
        elif isinstance(event, _Begin):
            self.begin(event.inv)
        elif isinstance(event, _Response):
            self.respond(event.call, t, event.status)
        elif isinstance(event, _Step):
            if event.gen == event.inv.gen:
                event.inv.cursor += 1
                self.run_step(event.inv, t)
        elif isinstance(event, _CallArrive):
            self.call_arrive(event.call, t)
        elif isinstance(event, _SdkRetry):
            ca = event.call
            if ca.gen == ca.inv.gen:
                self.call_stats[ca.inv.a.f][ca.c]["retries"] += 1  # counted when it starts
                self.call_start(ca, t)
        elif isinstance(event, _Timeout):
            if event.gen == event.inv.gen:
                self.finish(event.inv, t, pool.TIMEOUT)
        elif isinstance(event, _EndpointDone):
            self.endpoint_done(event, t)
        elif isinstance(event, (_Wf, _WfDeadline)):
            self.wf_event(event, t)
        elif isinstance(event, _Pair):
            if event.kind == "deliver":
                self.deliver(event, t)
            elif event.kind == "dead_letter":
                self.dead_letter(event, t)
            else:
                self.pair_attempt(event, t)
        else:
            mq.dispatch(self.w, event, t)

def simulate_account_ref(params: AccountParams, arrivals: dict, streams: dict, t_end: float, controls=(),
                         initial_provisioned=None, period_s=None, record_spans: bool = False,
                         n_entries: int | None = None, timeouts_s=None) -> AccountResult:
    """Run the account over [0, t_end) s (ACCOUNT_SPEC.md). Times in seconds, draws in ms."""
    validate_params(params.pool, params.queues, params.mappings, params.fleets)
    _validate_machines(params)
    acc = _Account(params, streams, t_end, period_s if period_s is not None else t_end, record_spans)
    w, ps = acc.w, acc.ps
    arr_t = np.asarray(arrivals["t"], np.float64)
    if np.any(np.diff(arr_t) < 0):
        raise ValueError("arrivals must be sorted by time")
    n = len(arr_t)
    entries = n_entries if n_entries is not None else (int(np.max(arrivals["entry"])) + 1 if n else 0)
    acc.entry = [EntryPoint() for _ in range(entries)]
    acc.timeouts = list(timeouts_s) if timeouts_s is not None else []  # per entry point: its client's timeout
    mq.start(w, initial_provisioned)
    mq.run_loop(w, controls, arr_t, acc.dispatch, lambda i, t: _arrive(acc, arrivals, i, t), acc.close_touched)
    pool._close_books(ps)
    for inv in acc.running:  # invocations with calls still running at the end
        f = inv.a.f
        if inv.call_open:
            acc.call_stats[f][inv.steps[inv.cursor]]["in_flight_end"] += 1
        ps.res.busy_time_s[f] += acc.t_end - inv.t
        if not inv.on_pc:
            ps.res.env_time_s[f] += acc.t_end - inv.birth_t
    open_end = [0] * len(params.machines)
    for ex in acc.executions:  # executions (and children) still running at the end
        if ex.call_open:
            acc.call_stats[ex.a.f][params.machines[ex.m].states[ex.row].call]["in_flight_end"] += 1
        if ex.parent is None:
            open_end[ex.m] += 1
    mq._close(w, acc.t_end)
    for e, st in enumerate(acc.ep_stats):
        st["in_progress_end"] = acc.ep_busy[e]
    _sync_clients(acc, arrivals)
    units = [dict(rows=sorted(u.rows, key=lambda r: (r[0], r[1])), gcnt=u.gcnt, rcnt=u.rcnt, tcnt=u.tcnt)
             for u in acc.units]
    traces_open = sum(1 for tc in acc.traces.values() if not tc.closed)
    return AccountResult(w.res, units, acc.entry, traces_open, acc.trace_end, acc.call_stats, acc.ep_stats,
                         sorted(acc.spans, key=lambda s: s[1]), dict(acc.cur), {i: tc.rid for i, tc in acc.traces.items()},
                         acc.flows, acc.tables, acc.buckets, workflows=acc.wcnt, workflows_open_end=open_end)


def _validate_machines(params: AccountParams) -> None:
    """What the twin assumes of the machines (the builder, sim.workflows, guarantees it)."""
    if not params.machines:
        return
    n_fn = len(params.pool.reserved)
    if len(params.calls) != n_fn:
        raise ValueError(f"with state machines, calls must have one list per function ({n_fn}), "
                         f"got {len(params.calls)}: machine m is the pseudo-function {n_fn} + m")
    if len(params.sfn_quotas) != 6:
        raise ValueError("sfn_quotas: (start_standard_rate, start_standard_burst, start_express_rate, "
                         "start_express_burst, transition_rate, transition_burst)")
    for m, mp in enumerate(params.machines):
        for k, cp in enumerate(mp.calls):
            if cp.max_attempts != 1:
                raise ValueError(f"machine {m} call {k}: max_attempts {cp.max_attempts} (a Task's call has 1: "
                                 f"its state's Retry retries it)")
        for row, sp in enumerate(mp.states):
            if sp.op == OP_TASK and not 0 <= sp.call < len(mp.calls):
                raise ValueError(f"machine {m} state {row}: call {sp.call} of {len(mp.calls)}")
            if len(sp.retriers) > MAX_RETRIERS:
                raise ValueError(f"machine {m} state {row}: {len(sp.retriers)} retriers (at most {MAX_RETRIERS})")
            if sp.op == OP_MAP and sp.max_concurrency < 1:
                raise ValueError(f"machine {m} state {row}: max_concurrency {sp.max_concurrency} (the effective "
                                 f"limit, at least 1)")


def _sync_clients(acc: _Account, arrivals: dict) -> None:
    """What each synchronous client saw: the answer to its request's last attempt (its row),
    if that answer came before the end of the run."""
    last: dict[int, tuple] = {}
    for row in acc.ps.res.rows:
        rid = row[0]
        if rid >= 0 and (rid not in last or row[1] >= last[rid][1]):
            last[rid] = row
    ids, kinds, invs = arrivals["id"], arrivals["kind"], arrivals["inv"]
    for i in range(len(ids)):
        if int(kinds[i]) != K_FUNCTION or int(invs[i]) != pool.SYNC or i not in acc.traces:
            continue
        row = last.get(int(ids[i]))
        if row is None:
            continue
        _, attempt, t, _, outcome, _, _, latency_ms, _ = row
        answer_t = t + latency_ms / 1000.0
        if outcome == pool.THROTTLED:
            src = int(arrivals["src"][i])
            if attempt + 1 < acc.ps.p.retry_max_attempts[src]:
                continue  # a retry is still to come (after the end)
        if answer_t >= acc.t_end:
            continue
        ep = acc.entry[acc.traces[i].entry]
        timeout = acc.timeouts[acc.traces[i].entry] if acc.timeouts else math.inf
        if answer_t - acc.traces[i].t0 > timeout:  # later than its client's timeout: seen at it
            answer_t = acc.traces[i].t0 + timeout
            ep.latency_s.append(timeout)
            ep.timed_out += 1
            acc.span_close(acc.traces[i].root, answer_t, True, answer=A_TIMED_OUT)
            continue
        ep.latency_s.append(answer_t - acc.traces[i].t0)
        if outcome == pool.OK:
            ep.succeeded += 1
            answer = A_OK
        elif outcome == pool.THROTTLED:
            ep.throttled += 1
            answer = A_THROTTLED
        else:
            ep.failed += 1
            answer = A_FAILED
        acc.span_close(acc.traces[i].root, answer_t, answer != A_OK, answer=answer)


def _arrive(acc: _Account, arrivals: dict, i: int, t: float) -> None:
    """External arrival `i` at `t`: a new trace, and its item enters its port."""
    entry = int(arrivals["entry"][i])
    rid = int(arrivals["id"][i])
    kind, index = int(arrivals["kind"][i]), int(arrivals["index"][i])
    took = float(arrivals["dur_override_ms"][i]) if kind == K_API else math.nan
    t0 = t - took / 1000.0 if not math.isnan(took) else t  # an HTTP backend's answer: it began that long ago
    acc.traces[i] = tc = _Trace(entry, t0, rid=rid)
    acc.touched.add(i)
    ep = acc.entry[entry]
    ep.requests += 1
    size = int(arrivals["size_bytes"][i])
    tc.root = acc.span_open(i, -1, SK_CLIENT, kind, index, -1, t0)  # the client's request
    if kind == K_QUEUE:
        acc.parent[("m", rid)] = tc.root
    elif kind == K_FUNCTION:
        acc.parent[("a", rid)] = tc.root
    if kind == K_FUNCTION:
        inv = int(arrivals["inv"][i])
        a = pool._Attempt(id=int(arrivals["id"][i]), f=index, src=int(arrivals["src"][i]), inv=inv, first_t=t,
                          dur_override_ms=float(arrivals["dur_override_ms"][i]), size_bytes=size, trace=i,
                          key=int(arrivals["key"][i]))
        if inv != pool.SYNC:  # accepted at once; a sync client's answer is read from the rows at the end
            ep.succeeded += 1
            ep.latency_s.append(0.0)
            acc.span_close(tc.root, t, answer=A_OK)
        pool._attempt(acc.ps, a, t)
    elif kind == K_QUEUE:
        mq._send(acc.w, int(arrivals["id"][i]), index, size, int(arrivals["key"][i]), int(arrivals["group"][i]), t,
                 trace=i)
        ep.succeeded += 1
        ep.latency_s.append(0.0)
        acc.span_close(tc.root, t, answer=A_OK)
    elif kind == K_UNIT:
        ok = acc.publish(index, t, int(arrivals["id"][i]), size, int(arrivals["key"][i]),
                         int(arrivals["group"][i]) if acc.units[index].p.fifo else -1, i, parent=tc.root)
        acc.span_close(tc.root, t, not ok, answer=A_OK if ok else A_THROTTLED)
        if ok:
            ep.succeeded += 1
        else:
            ep.throttled += 1
        ep.latency_s.append(0.0)
    elif kind == K_SFN:  # StartSyncExecution (inv 0) or StartExecution (inv 1) of machine `index`
        sync = int(arrivals["inv"][i]) == pool.SYNC
        if not acc.start_execution(index, t, i, size, int(arrivals["key"][i]), tc.root, client=i if sync else -1):
            ep.throttled += 1
            ep.latency_s.append(0.0)
            acc.span_close(tc.root, t, True, answer=A_THROTTLED)
        elif not sync:  # accepted: answered at once; a sync client at the execution's end
            ep.succeeded += 1
            ep.latency_s.append(0.0)
            acc.span_close(tc.root, t, answer=A_OK)
    elif kind == K_API:  # an API route's own answer (inv 0: 200, 1: a 429, 2: a 502): counted, nothing more
        answer = (A_OK, A_THROTTLED, A_FAILED)[int(arrivals["inv"][i])]
        latency = t - tc.t0
        timeout = acc.timeouts[entry] if acc.timeouts else math.inf
        if latency > timeout:  # later than its client's timeout: seen at it
            answer, latency = A_TIMED_OUT, timeout
        acc.span_close(tc.root, tc.t0 + latency, answer != A_OK, answer=answer)
        if answer == A_OK:
            ep.succeeded += 1
        elif answer == A_THROTTLED:
            ep.throttled += 1
        elif answer == A_FAILED:
            ep.failed += 1
        else:
            ep.timed_out += 1
        ep.latency_s.append(latency)
    else:
        raise ValueError(f"arrival {i}: a port of kind {kind} takes no traffic")
