"""Plain-Python reference twin of the Lambda execution-environment pool in POOL_SPEC.md.

Readable over fast: one event at a time, Python objects for requests and environments.
The numba kernel (`lambda_pool.py`) must agree with this, request by request.

Internal representation
-----------------------
Three event sources are merged by the key `(t, class, seq)`:

- controls (class 0), `seq` = index in the sorted `controls` list;
- internal events (class 1) — completions and retries — on a heap of
  `(t, 1, seq, event)`, `seq` the scheduling counter;
- arrivals (class 2), `seq` = index in the arrival arrays.

So at equal times controls run first, then internal events in the order they were
scheduled, then arrivals in input order. An internal event scheduled *at* the current time
(zero delay) therefore runs before arrivals still waiting at that same time.

Times are float seconds; durations in the streams and in rows are milliseconds.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field, replace

import numpy as np

from kernels.lambda_pool import (  # the kernel's parameters and constants: one definition for both
    ASYNC,
    ASYNC_ERROR_RETRY_STEP_S,
    ASYNC_THROTTLE_BACKOFF_CAP_S,
    JITTER_EQUAL,
    JITTER_FULL,
    JITTER_NONE,
    O_ERROR,
    O_OK,
    O_THROTTLED,
    O_TIMEOUT,
    STREAMS,
    SYNC,
    PoolParams,
)

OK, ERROR, TIMEOUT, THROTTLED = O_OK, O_ERROR, O_TIMEOUT, O_THROTTLED

_CONTROL, _INTERNAL, _ARRIVAL = 0, 1, 2


@dataclass
class RefResult:
    """Per-attempt rows in processing order and per-function totals over [0, t_end)."""

    rows: list[tuple]  # (id, attempt, t, fn, outcome, cold, on_pc, latency_ms, init_ms)
    invocations: list[int]  # attempts that started (throttles excluded)
    errors: list[int]  # started attempts with the spec's `error` flag (timeouts included)
    timeouts: list[int]
    throttles: list[int]
    cold_starts: list[int]
    sync_failed: list[int]  # sync calls that ran out of client retries on throttles
    async_dropped: list[int]
    spillover: list[int]  # on-demand starts while pc_envs[f] > 0
    busy_time_s: list[float]
    env_time_s: list[float]  # on-demand environment lifetimes + provisioned env-time
    billed_ms: list[int]  # sum of ceil(latency_ms) over started attempts, init included
    request_units: list[int]  # billed requests: the arrival's units at every started attempt
    drops: list[tuple]  # (t, id, fn) of async drops
    draws_used: dict[str, list[int]]  # per stream, per function: draws consumed


@dataclass
class _Attempt:
    """One try of one request; a retry is a copy with its counters advanced."""

    id: int
    f: int
    src: int
    inv: int
    first_t: float
    dur_override_ms: float
    units: int = 1  # billed request units of each start (Lambda async: 64 KB chunks past 256 KB)
    size_bytes: int = 0  # the event's payload: an on-failure destination message's size
    attempt: int = 0
    err_retries: int = 0
    thr_retries: int = 0
    batch: object = None  # an event source mapping's batch (kernels/ref/queue_pool.py): throttles are not retried
    trace: int = -1  # the trace it belongs to (the account twin, ACCOUNT_SPEC.md §7); -1 none
    key: int = 0  # the message class of its payload: what its calls carry by default
    caller: object = None  # a synchronous call waiting for its answer (ACCOUNT_SPEC.md §3)


@dataclass
class _Completion:
    """The end of a running attempt: frees a provisioned or an on-demand environment."""

    f: int
    on_pc: bool
    birth_t: float  # on-demand environment's birth; unused for provisioned ones
    error: bool = False  # the attempt's `error` flag (timeouts included)
    batch: object = None  # the attempt's `batch`, handed back to its mapping at completion
    trace: int = -1
    caller: object = None  # the attempt's `caller`, answered at completion


@dataclass
class _IdleEnv:
    """An idle on-demand environment on a function's stack."""

    birth_t: float
    expire_t: float


@dataclass
class _State:
    """Everything that changes while the pool runs."""

    p: PoolParams
    streams: dict[str, list[np.ndarray]]
    t_end: float
    n_fn: int
    pc_envs: list[int]
    pc_target: list[int]
    pc_idle: list[int]
    pc_busy: list[int]
    od_busy: list[int]
    idle: list[list[_IdleEnv]]  # per function, most recently idled last (top)
    tokens: list[float]
    last_t: list[float]
    pc_last_t: list[float]  # when pc_envs[f] last changed (for the env-time integral)
    pc_env_time_s: list[float]
    od_env_time_s: list[float]
    heap: list[tuple] = field(default_factory=list)
    seq: int = 0
    res: RefResult | None = None
    on_drop: object = None  # called as on_drop(attempt, t) after an async drop (kernels/ref/queue_pool.py)
    # hooks of the account twin (ACCOUNT_SPEC.md); None in the pool's and the queues' own runs
    on_start: object = None  # on_start(attempt, t, cold, on_pc, birth_t, d_ms, init_ms, u) -> True: it runs the invocation
    on_throttle: object = None  # on_throttle(attempt, t) for an attempt with a caller
    live: dict | None = None  # trace -> events on the heap that belong to it


def _new_state(p: PoolParams, streams, t_end: float) -> _State:
    n_fn = len(p.reserved)
    zeros = [0] * n_fn
    res = RefResult(
        rows=[],
        invocations=list(zeros),
        errors=list(zeros),
        timeouts=list(zeros),
        throttles=list(zeros),
        cold_starts=list(zeros),
        sync_failed=list(zeros),
        async_dropped=list(zeros),
        spillover=list(zeros),
        busy_time_s=[0.0] * n_fn,
        env_time_s=[0.0] * n_fn,
        billed_ms=list(zeros),
        request_units=list(zeros),
        drops=[],
        draws_used={k: list(zeros) for k in STREAMS},
    )
    return _State(
        p=p,
        streams=streams,
        t_end=float(t_end),
        n_fn=n_fn,
        pc_envs=list(zeros),
        pc_target=list(zeros),
        pc_idle=list(zeros),
        pc_busy=list(zeros),
        od_busy=list(zeros),
        idle=[[] for _ in range(n_fn)],
        tokens=[float(c) for c in p.bucket_cap],
        last_t=[0.0] * len(p.bucket_cap),
        pc_last_t=[0.0] * n_fn,
        pc_env_time_s=[0.0] * n_fn,
        od_env_time_s=[0.0] * n_fn,
        res=res,
    )


def _draw(st: _State, kind: str, f: int) -> float:
    """The next value of stream `kind` of function `f`."""
    i = st.res.draws_used[kind][f]
    values = st.streams[kind][f]
    if i >= len(values):
        raise IndexError(f"stream {kind} of function {f} exhausted after {i} draws")
    st.res.draws_used[kind][f] = i + 1
    return float(values[i])


def _schedule(st: _State, t: float, event) -> None:
    """Put a completion or retry on the internal heap, ordered by time then counter."""
    heapq.heappush(st.heap, (t, _INTERNAL, st.seq, event))
    st.seq += 1
    if st.live is not None and getattr(event, "trace", -1) >= 0:
        st.live[event.trace] = st.live.get(event.trace, 0) + 1


def _set_pc_envs(st: _State, f: int, n: int, t: float) -> None:
    """Change the provisioned environment count, integrating env-time up to `t`."""
    st.pc_env_time_s[f] += st.pc_envs[f] * (t - st.pc_last_t[f])
    st.pc_last_t[f] = t
    st.pc_envs[f] = n


def _concurrency_allows(st: _State, f: int) -> bool:
    """Whether one more on-demand environment may run for `f` (reserved or unreserved pool)."""
    p = st.p
    if p.reserved[f] >= 0:
        return st.pc_envs[f] + st.od_busy[f] + 1 <= p.reserved[f]
    used = sum(st.pc_envs[g] + st.od_busy[g] for g in range(st.n_fn) if p.reserved[g] < 0)
    return used + 1 <= p.unres_cap


def _take_token(st: _State, f: int, t: float) -> bool:
    """Refill `f`'s scaling bucket to `t` and take one token if there is one."""
    b = st.p.bucket[f]
    st.tokens[b] = min(st.p.bucket_cap[b], st.tokens[b] + st.p.bucket_rate[b] * (t - st.last_t[b]))
    st.last_t[b] = t
    if st.tokens[b] >= 1.0:
        st.tokens[b] -= 1.0
        return True
    return False


def _attempt(st: _State, a: _Attempt, t: float) -> bool:
    """Run one attempt at `t`: provisioned, else on demand (warm MRU, else cold), else throttle.

    Returns whether it started (False: throttled).
    """
    f = a.f
    if st.pc_idle[f] > 0:
        st.pc_idle[f] -= 1
        st.pc_busy[f] += 1
        _start(st, a, t, cold=False, on_pc=True, birth_t=t)
        return True
    if not _concurrency_allows(st, f):
        _throttle(st, a, t)
        return False
    stack = st.idle[f]
    while stack and stack[-1].expire_t <= t:
        dead = stack.pop()
        st.od_env_time_s[f] += dead.expire_t - dead.birth_t
    if stack:
        cold, birth_t = False, stack.pop().birth_t
    elif _take_token(st, f, t):
        cold, birth_t = True, t
    else:
        _throttle(st, a, t)
        return False
    st.od_busy[f] += 1
    if st.pc_envs[f] > 0:
        st.res.spillover[f] += 1
    _start(st, a, t, cold=cold, on_pc=False, birth_t=birth_t)
    return True


def _start(st: _State, a: _Attempt, t: float, cold: bool, on_pc: bool, birth_t: float) -> None:
    """Draw a started attempt's duration, init and outcome; schedule its completion and retry."""
    p, res, f = st.p, st.res, a.f
    d = a.dur_override_ms if not math.isnan(a.dur_override_ms) else _draw(st, "DUR", f)
    d = d * p.dur_scale[f]
    timed_out = d > p.timeout_ms[f]
    d_raw = d
    if timed_out:
        d = float(p.timeout_ms[f])
    init_ms = _draw(st, "INIT", f) if cold else 0.0
    u = _draw(st, "U", f)
    if st.on_start is not None and st.on_start(a, t, cold, on_pc, birth_t, d_raw, init_ms, u):
        return
    error = timed_out or u < p.error_rate[f]
    latency_ms = init_ms + d
    end = t + latency_ms / 1000.0
    outcome = TIMEOUT if timed_out else (ERROR if error else OK)

    res.rows.append((a.id, a.attempt, t, f, outcome, int(cold), int(on_pc), latency_ms, init_ms))
    res.invocations[f] += 1
    res.errors[f] += int(error)
    res.timeouts[f] += int(timed_out)
    res.cold_starts[f] += int(cold)
    res.busy_time_s[f] += min(end, st.t_end) - t
    res.billed_ms[f] += math.ceil(latency_ms)
    res.request_units[f] += a.units
    _schedule(st, end, _Completion(f, on_pc, birth_t, error=error, batch=a.batch, trace=a.trace, caller=a.caller))
    if a.inv == ASYNC and error:
        async_error(st, a, t, end)


def async_error(st: _State, a: _Attempt, t: float, end: float) -> None:
    """An async attempt that ends in error at `end` (decided at `t`): retry it 60 s, then
    120 s after the end, within the maximum event age, else drop it at `t`."""
    f = a.f
    if a.err_retries < st.p.async_max_retries[f]:
        retry_t = end + ASYNC_ERROR_RETRY_STEP_S * (a.err_retries + 1)
        if retry_t - a.first_t > st.p.async_max_age_s[f]:
            _drop(st, a, t)
        else:
            retry = replace(a, attempt=a.attempt + 1, err_retries=a.err_retries + 1)
            _schedule(st, retry_t, retry)
    else:
        _drop(st, a, t)


def _drop(st: _State, a: _Attempt, t: float) -> None:
    """Count an async event as dropped (AsyncEventsDropped) at `t`."""
    st.res.async_dropped[a.f] += 1
    st.res.drops.append((t, a.id, a.f))
    if st.on_drop is not None:
        st.on_drop(a, t)


def _throttle(st: _State, a: _Attempt, t: float) -> None:
    """Record a throttled attempt and schedule its retry: client backoff (sync) or async backoff."""
    p, res, f = st.p, st.res, a.f
    res.rows.append((a.id, a.attempt, t, f, THROTTLED, 0, 0, 0.0, 0.0))
    res.throttles[f] += 1
    if a.batch is not None:
        return  # a mapping's batch is abandoned, not retried (QUEUE_SPEC.md, Invoke)
    if a.caller is not None:
        st.on_throttle(a, t)  # a synchronous call: its caller's SDK decides (ACCOUNT_SPEC.md §5)
        return
    if a.inv == SYNC:
        s = a.src
        if a.attempt + 1 < p.retry_max_attempts[s]:
            b = min(p.retry_cap_s[s], p.retry_base_s[s] * 2.0**a.attempt)
            jitter = p.retry_jitter[s]
            if jitter == JITTER_NONE:
                delay = b
            elif jitter == JITTER_FULL:
                delay = _draw(st, "U", f) * b
            elif jitter == JITTER_EQUAL:
                delay = b / 2.0 + _draw(st, "U", f) * b / 2.0
            else:
                raise ValueError(f"retry_jitter[{s}] = {jitter}: expected {JITTER_NONE}, {JITTER_FULL} or {JITTER_EQUAL}")
            _schedule(st, t + delay, replace(a, attempt=a.attempt + 1))
        else:
            res.sync_failed[f] += 1
    else:
        delay = min(ASYNC_THROTTLE_BACKOFF_CAP_S, 2.0**a.thr_retries)
        if t + delay - a.first_t > p.async_max_age_s[f]:
            _drop(st, a, t)
        else:
            retry = replace(a, attempt=a.attempt + 1, thr_retries=a.thr_retries + 1)
            _schedule(st, t + delay, retry)


def _complete(st: _State, c: _Completion, t: float) -> None:
    """Free a finished attempt's env: provisioned to idle (or removed), on-demand to the stack."""
    f = c.f
    if c.on_pc:
        st.pc_busy[f] -= 1
        if st.pc_envs[f] > st.pc_target[f]:
            _set_pc_envs(st, f, st.pc_envs[f] - 1, t)
        else:
            st.pc_idle[f] += 1
    else:
        st.od_busy[f] -= 1
        st.idle[f].append(_IdleEnv(c.birth_t, t + _draw(st, "EXP", f)))


def _set_provisioned(st: _State, f: int, n: int, t: float) -> None:
    """Set `f`'s provisioned count to `n`: new ones ready now; idle excess goes now, busy later."""
    st.pc_target[f] = n
    if n > st.pc_envs[f]:
        st.pc_idle[f] += n - st.pc_envs[f]
        _set_pc_envs(st, f, n, t)
    else:
        r = min(st.pc_idle[f], st.pc_envs[f] - n)
        st.pc_idle[f] -= r
        _set_pc_envs(st, f, st.pc_envs[f] - r, t)


def _close_books(st: _State) -> None:
    """Integrate environment time up to t_end: busy until t_end, idle until min(expire_t, t_end)."""
    t_end = st.t_end
    for _, _, _, event in st.heap:
        if isinstance(event, _Completion) and not event.on_pc:
            st.od_env_time_s[event.f] += t_end - event.birth_t
    for f in range(st.n_fn):
        for env in st.idle[f]:
            st.od_env_time_s[f] += min(env.expire_t, t_end) - env.birth_t
        _set_pc_envs(st, f, st.pc_envs[f], t_end)
        st.res.env_time_s[f] = st.od_env_time_s[f] + st.pc_env_time_s[f]


def simulate_pool_ref(
    params: PoolParams,
    arrivals: dict[str, np.ndarray],
    streams: dict[str, list[np.ndarray]],
    t_end: float,
    controls=(),
    initial_provisioned: list[int] | None = None,
) -> RefResult:
    """Run the pool over [0, t_end) s and return per-attempt rows and per-function totals.

    `arrivals`: arrays t (s), id, fn, src, inv (0 sync, 1 async), dur_override_ms (NaN:
    none), already in processing order. `streams`: per kind ("DUR" ms, "INIT" ms, "EXP" s,
    "U" in [0, 1)) one array per function, consumed in order. `controls`: (t, f, n) =
    set_provisioned(f, n) at t, sorted by t. `initial_provisioned[f]` is applied at t = 0
    before anything else.
    """
    st = _new_state(params, streams, t_end)
    if initial_provisioned is not None:
        for f, n in enumerate(initial_provisioned):
            _set_provisioned(st, f, int(n), 0.0)

    controls = [(float(t), int(f), int(n)) for t, f, n in controls]
    if any(a[0] > b[0] for a, b in zip(controls, controls[1:])):
        raise ValueError("controls must be sorted by time")
    arr_t = np.asarray(arrivals["t"], dtype=np.float64)
    if np.any(np.diff(arr_t) < 0):
        raise ValueError("arrivals must be sorted by time")
    arr_id, arr_fn, arr_src = arrivals["id"], arrivals["fn"], arrivals["src"]
    arr_inv, arr_dur = arrivals["inv"], arrivals["dur_override_ms"]
    arr_units = arrivals.get("units")  # optional: billed request units per arrival (default 1)

    ci = ai = 0
    while True:
        heads = []
        if ci < len(controls):
            heads.append((controls[ci][0], _CONTROL, ci))
        if st.heap:
            heads.append(st.heap[0][:3])
        if ai < len(arr_t):
            heads.append((float(arr_t[ai]), _ARRIVAL, ai))
        if not heads:
            break
        t, cls, _ = min(heads)
        if t >= st.t_end:
            break
        if cls == _CONTROL:
            _, f, n = controls[ci]
            ci += 1
            _set_provisioned(st, f, n, t)
        elif cls == _INTERNAL:
            event = heapq.heappop(st.heap)[3]
            if isinstance(event, _Completion):
                _complete(st, event, t)
            else:
                _attempt(st, event, t)
        else:
            a = _Attempt(
                id=int(arr_id[ai]),
                f=int(arr_fn[ai]),
                src=int(arr_src[ai]),
                inv=int(arr_inv[ai]),
                first_t=t,
                dur_override_ms=float(arr_dur[ai]),
                units=int(arr_units[ai]) if arr_units is not None else 1,
            )
            ai += 1
            _attempt(st, a, t)

    _close_books(st)
    return st.res
