"""The Lambda execution-environment pool of one account, per request, in one event loop.

Semantics: `kernels/POOL_SPEC.md`; plain-Python twin: `kernels/ref/lambda_pool.py`, which
takes its parameters (`PoolParams`) and constants from here. State lives in arrays owned by
`sim.compute.pool_state.PoolState`; the kernel runs every event with time < `t_stop` and
returns early (status > 0) when a buffer needs the caller: more random draws, a larger
event table, or room for sampled rows.
"""

from __future__ import annotations

import math
from collections import namedtuple
from dataclasses import dataclass

import numpy as np

from kernels import jit, jit_handler, jit_inline, jit_internal, jit_loop
from kernels.billing import billed_ms
from kernels.heap import H_V, heap_pop, heap_push, heap_time
from kernels.histogram import hist_index, hist_quantile_in

# The pool's state arrays as one argument (the messaging kernel's handlers take it whole;
# `sim.compute.pool_state.PoolState.kernel_state()` builds it; `run_pool` takes them one by one).
PoolArrays = namedtuple("PoolArrays", ["fpi", "fpf", "fs", "ft", "bk", "si", "sf", "g", "gf", "ei", "ef", "free",
                                       "hh", "stack_birth", "stack_expire", "draws", "cur", "dlen",
                                       "pmi", "pmf", "phist", "hlat", "hinit", "ri", "rf",
                                       "tri", "trf", "trfree", "pentry", "eni", "enf", "ehl", "ehc", "spi", "spf",
                                       "enp"])

# Status codes returned by run_pool.
DONE = 0
NEED_DRAWS = 1
EVENTS_FULL = 2
ROWS_FULL = 3
TRACES_FULL = 10  # the trace table stays over half full of open traces after a pass: grow it (after the account's 4-9)
SPANS_FULL = 11  # the span buffer may not hold an event's spans: take them (PoolState.take_spans)

# Random streams (first index of `draws`), and their names (the twin's stream keys).
S_DUR = 0
S_INIT = 1
S_EXP = 2
S_U = 3
N_STREAMS = 4
STREAMS = ("DUR", "INIT", "EXP", "U")

# Invocation types (`inv` of an arrival) and a traffic source's retry jitter.
SYNC = 0
ASYNC = 1
JITTER_NONE = 0
JITTER_FULL = 1
JITTER_EQUAL = 2

# Lambda's own retries of an asynchronous event (POOL_SPEC.md, "Semantics"): a throttled one
# after 1, 2, 4, ... s capped at 5 minutes; a failed one about 1 min, then 2 min after it
# ended (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
ASYNC_THROTTLE_BACKOFF_CAP_S = 300.0
ASYNC_ERROR_RETRY_STEP_S = 60.0


@dataclass
class PoolParams:
    """Static parameters of one account's pool: per function, per bucket, per traffic source."""

    reserved: list[int]  # per function, -1 = none
    timeout_ms: list[float]
    error_rate: list[float]
    dur_scale: list[float]
    async_max_retries: list[int]
    async_max_age_s: list[float]
    bucket: list[int]  # per function: its token bucket index
    bucket_cap: list[float]  # per bucket
    bucket_rate: list[float]  # per bucket, tokens/s
    unres_cap: int
    retry_max_attempts: list[int]  # per traffic source, total attempts incl. the first
    retry_base_s: list[float]
    retry_cap_s: list[float]
    retry_jitter: list[int]  # JITTER_NONE, JITTER_FULL or JITTER_EQUAL
    # per function: the queue an async event goes to when it is dropped (Lambda on-failure
    # destination), -1 or None = none; used by the messaging twin/kernel (QUEUE_SPEC.md)
    on_failure_queue: list[int] | None = None
    # per function, optional: the pool does not depend on memory (durations come scaled,
    # `dur_scale`); billing reads the function's own memory_mb. Accepted for callers that
    # describe a function whole.
    memory_mb: list[int] | None = None
    # per function, optional: the number of its calls (ACCOUNT_SPEC.md §3); a function with
    # calls runs its handler's steps in the account's loop, which `pool_attempt` hands it to
    n_calls: list[int] | None = None

# Function parameters, int64 columns of `fpi`.
P_RESERVED = 0
P_ASYNC_RETRIES = 1
P_BUCKET = 2
P_STACK_OFF = 3
P_ON_FAIL_Q = 4  # on-failure destination queue (messaging kernel), -1 none
P_NCALLS = 5  # its calls: > 0, a start is handed to the account's loop (kernels/account.py)
N_FPI = 6
# Function parameters, float64 columns of `fpf`.
P_TIMEOUT_MS = 0
P_ERROR_RATE = 1
P_DUR_SCALE = 2
P_ASYNC_AGE_S = 3
N_FPF = 4

# Function state, int64 columns of `fs`.
F_PC_ENVS = 0
F_PC_TARGET = 1
F_PC_IDLE = 2
F_PC_BUSY = 3
F_OD_BUSY = 4
F_STACK_N = 5
N_FS = 6

# Function totals, float64 columns of `ft`.
T_BUSY_S = 0
T_ENV_S = 1
T_PC_ENV_S = 2
T_PC_LAST_T = 3
T_LAT_SUM_MS = 4
T_LAT_MAX_MS = 5
T_INIT_SUM_MS = 6
T_LAT_MIN_MS = 7  # exact extremes beside the histograms (percentiles are clamped to them);
T_INIT_MIN_MS = 8  # the minima start at +inf (PoolState), the maxima at 0
T_INIT_MAX_MS = 9
N_FT = 10

# Buckets, float64 columns of `bk`.
B_CAP = 0
B_RATE = 1
B_TOKENS = 2
B_LAST_T = 3
N_BK = 4

# Traffic sources: int64 `si` columns, float64 `sf` columns.
SRC_MAX_ATTEMPTS = 0
SRC_JITTER = 1
N_SI = 2
SRC_BASE_S = 0
SRC_CAP_S = 1
N_SF = 2

# Global state, int64 `g`.
G_UNRES_CAP = 0
G_UNRES_USED = 1
G_SEQ = 2
G_HEAP_N = 3
G_FREE_N = 4
G_ROWS_N = 5
G_PERIOD = 6
G_FIRST_N = 7
G_SAMPLE_THRESHOLD = 8  # uint64 threshold stored as int64 bits; see sampled()
G_SAMPLE_ALL = 9
G_ATTEMPTS = 10
G_TR_FREE_N = 11  # free slots of the trace table (`trfree[:n]`)
G_TR_STAMP = 12  # the last marking pass's stamp (trace_mark_heap)
G_TR_SWEEPS = 13  # marking passes made while the table was full (for tests and the record)
G_SPANS_N = 14  # spans in the buffer (`spi`, `spf`)
G_SPAN_SEQ = 15  # span ids given so far (sampled traces only)
G_TRS_FIRST_N = 16  # traces sampled: the first N of each source, ...
G_TRS_THRESHOLD = 17  # ... and a share by hash of the request id (as `sampled`)
G_TRS_ALL = 18
G_LANE_HEAD = 19  # the account loop's lane of events due now (kernels/account.py): its first slot,
G_LANE_TAIL = 20  # its last,
G_LANE_N = 21  # and how many (0 whenever the loop is not running)
N_G = 22
# Global floats `gf`.
GF_T_END = 0
GF_PERIOD_S = 1
N_GF = 2

# Event table: int64 columns of `ei`, float64 columns of `ef`.
E_KIND = 0
E_FN = 1
E_ID = 2
E_SRC = 3
E_INV = 4
E_ATTEMPT = 5
E_ERR_R = 6
E_THR_R = 7
E_ON_PC = 8
E_UNITS = 9
E_SIZE = 10  # the event's payload bytes (an on-failure message's size)
# A completion's sync caller (kernels/account.py: the invocation slot, its generation, the
# call), -1 none; and an invocation with calls, whose completion slot is its record
# (E_RID .. E_RUNS, EF_*: see kernels/account.py).
E_CALLER = 11
E_CGEN = 12
E_CCALL = 13
E_CATT = 14
E_COLD = 15
E_OWN_ERR = 16
E_RID = 17
E_RINV = 18
E_KEY = 19
E_TRACE = 20
E_POS = 21
E_REP = 22
E_GEN = 23  # never reset: (slot, generation) names one invocation over the slot's reuses
E_OPEN = 24
E_RUNS = 25
E_CLIENT = 26  # 1: a completion (or invocation record) that answers a synchronous traffic client
E_SPAN = 27  # an invocation record's SERVER span; a CALL_ARRIVE's CLIENT span (sampled traces)
E_PSPAN = 28  # the span that caused an attempt (its SERVER span's parent), -1 none
E_CSPAN = 29  # an invocation record's open CLIENT span (its call attempt waiting), -1 none
E_CKEY = 30  # an invocation record's current call's class, drawn when it was made (its own classes), -1 none
# an invocation record's place on its function's deadline list (kernels/account.py): the
# neighbours and the counter its deadline got (-1: not on the list)
E_DNEXT = 31
E_DPREV = 32
E_DSEQ = 33
# an event slot on the account loop's lane of events due now (kernels/account.py): the next
# one and its counter
E_LNEXT = 34
E_LSEQ = 35
N_EI = 36
E_FIRST_T = 0
E_BIRTH = 1
E_DOVER = 2
EF_D_MS = 3
EF_INIT_MS = 4
EF_T = 5
EF_H0 = 6
EF_CSTART = 7  # an invocation record's open CLIENT span's start
EF_DT = 8  # an invocation record's deadline (h0 + timeout_s)
N_EF = 9
K_COMPLETE = 0
K_RETRY = 1
K_BEGIN = 9  # an invocation with calls begins its handler (kernels/account.py)

# Per-period metrics: int64 `pmi[p, f, col]`, float64 `pmf[p, f, col]`.
M_INVOCATIONS = 0
M_ERRORS = 1
M_TIMEOUTS = 2
M_THROTTLES = 3
M_COLD = 4
M_SPILLOVER = 5
M_ASYNC_DROPPED = 6
M_SYNC_FAILED = 7
M_CONC_MAX = 8
M_PC_BUSY_MAX = 9
M_ASYNC_AGE_N = 10
M_BILLED_MS_OD = 11
M_BILLED_MS_PC = 12
M_PC_ENVS_MAX = 13
M_REQUEST_UNITS = 14
M_DUR_N = 15  # durations recorded in the period (an invocation with calls: at its end)
N_PMI = 16
MF_DUR_SUM_MS = 0
MF_DUR_P50 = 1
MF_DUR_P99 = 2
MF_ASYNC_AGE_SUM_S = 3
MF_ASYNC_AGE_MAX_S = 4
MF_PC_UTIL_MAX = 5
MF_DUR_MIN_MS = 6  # the period's exact duration extremes: its p50/p99 are clamped to them
MF_DUR_MAX_MS = 7
N_PMF = 8

# Sampled rows: int64 `ri` and float64 `rf` columns.
R_ID = 0
R_ATTEMPT = 1
R_FN = 2
R_OUTCOME = 3
R_COLD = 4
R_ON_PC = 5
N_RI = 6
R_T = 0
R_LATENCY_MS = 1
R_INIT_MS = 2
R_FIRST_T = 3
N_RF = 4

# Traces (ACCOUNT_SPEC.md §7): one per traffic arrival, in a table of slots (`tri`, `trf`,
# free list `trfree`). Every item made on its behalf carries its slot (E_TRACE, the queues'
# MSG_TRACE); `TRF_LAST` is the time of the last event or message end of the trace. A trace
# is closed when nothing alive refers to it (trace_mark_heap, trace_close): its completion is
# TRF_LAST - TRF_T0.
TR_ENTRY = 0  # its entry point (traffic source), -1: the slot is free
TR_MARK = 1  # stamp of the last marking pass that found it referenced
TR_SAMPLED = 2  # 1: its spans are recorded (record.traces); then also:
TR_RID = 3  # its request id (the trace id of its spans)
TR_ROOT = 4  # its root span: the client's request
TR_RKIND = 5  # what the request went to (K_FUNCTION, K_QUEUE, K_UNIT) and which
TR_RIDX = 6
N_TRI = 7
TRF_T0 = 0
TRF_LAST = 1
N_TRF = 2
# Per entry point: int64 `eni`, float64 `enf` (sums and exact extremes beside the histograms
# `ehl` (latency) and `ehc` (completion), in ms). Completions are summed in whole µs, an
# integer: closures are found in passes whose timing depends on the table's size, and an
# integer sum is the same in any order.
EN_REQUESTS = 0
EN_SUCCEEDED = 1
EN_FAILED = 2
EN_THROTTLED = 3
EN_IN_FLIGHT = 4
EN_LAT_N = 5
EN_COMP_N = 6
EN_COMP_SUM_US = 7
EN_TIMED_OUT = 8  # answered after the client's timeout (ENF_TIMEOUT_S): what it saw was its timeout
N_ENI = 9
ENF_LAT_SUM = 0
ENF_LAT_MIN = 1
ENF_LAT_MAX = 2
ENF_COMP_MIN = 3
ENF_COMP_MAX = 4
ENF_TIMEOUT_S = 5  # the client's timeout (inf: none): an answer after it is A_TIMED_OUT, seen at it
ENF_OFFSET_S = 6  # added to every latency its clients see (an API Gateway's own overhead; 0: none)
N_ENF = 7
A_OK, A_FAILED, A_THROTTLED, A_TIMED_OUT = 0, 1, 2, 3  # a client's answer
# Per period of the request's arrival and entry point, `enp[p, e]` (int64): its clients' answers
# (A_OK .. A_TIMED_OUT) and the latency they saw, summed in µs (an API's per-period metrics).
ENP_LAT_US = 4
N_ENP = 5

# What a span is about (the account's port kinds, kernels/account.py, are these) and its kind
# (OpenTelemetry SpanKind). Spans are written to `spi`/`spf` when they end (ACCOUNT_SPEC.md §7).
# K_FLOW: a function's egress entry, a call that reaches no service and leaves a flow record
# (ACCOUNT_SPEC.md §10); its index is the entry's global number. K_TABLE: a DynamoDB table
# (ACCOUNT_SPEC.md §11). K_API: an API Gateway route (its global number) that answered a request
# itself (a 429 or a cache hit, ACCOUNT_SPEC.md §12). K_BUCKET: an S3 bucket (ACCOUNT_SPEC.md §13).
# K_SFN: a Step Functions state machine (ACCOUNT_SPEC.md §14).
K_FUNCTION, K_QUEUE, K_UNIT, K_ENDPOINT, K_EXTERNAL, K_FLOW, K_TABLE, K_API, K_BUCKET, K_SFN = range(10)
SK_SERVER, SK_CLIENT, SK_PRODUCER = range(3)
SP_TRACE = 0  # the trace's request id
SP_ID = 1
SP_PARENT = 2  # -1: the root
SP_KIND = 3
SP_RKIND = 4  # the resource: K_* and its index (K_EXTERNAL: a fan-out target's; K_FLOW: an egress entry's)
SP_RIDX = 5
SP_FROM = 6  # a CLIENT span's calling function, a delivery's unit; -1
SP_ERROR = 7
SP_COLD = 8
SP_ATTEMPT = 9  # a SERVER span's attempt (0-based); a CLIENT span's SDK attempt
SP_ANSWER = 10  # a CLIENT span's answer (account R_*; the root's A_*), -1: none (abandoned)
N_SPI = 11
SPF_START = 0
SPF_END = 1
N_SPF = 2
SPAN_ROOM = 6  # the most spans one event writes (a RESPONSE ending an invocation that answers its client)

# Outcomes of an attempt (rows' R_OUTCOME; the twin's OK, ERROR, TIMEOUT, THROTTLED).
O_OK = 0
O_ERROR = 1
O_TIMEOUT = 2
O_THROTTLED = 3

ID_SEQ_BITS = 40  # a request id is (source << 40) | sequence number within the source


@jit_inline
def mix64(x):
    """SplitMix64 finaliser: a well-spread 64-bit hash of an integer (as uint64)."""
    z = np.uint64(x) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@jit_handler
def _sampled_by(g, rid, c_all, c_first_n, c_threshold):
    """Whether request `rid` is sampled by the settings in g's columns: all, the first N of
    its source, or by hash (a uint64 threshold stored as int64 bits)."""
    if g[c_all] != 0:
        return True
    if (rid & ((1 << ID_SEQ_BITS) - 1)) < g[c_first_n]:
        return True
    thr = g[c_threshold]
    return thr != 0 and mix64(rid) < np.uint64(thr)


@jit_handler
def sampled(g, rid):
    """Whether request `rid` gets rows (record.requests)."""
    return _sampled_by(g, rid, G_SAMPLE_ALL, G_FIRST_N, G_SAMPLE_THRESHOLD)


@jit_handler
def _draw(draws, cur, s, f):
    v = draws[s, f, cur[s, f]]
    cur[s, f] += 1
    return v


@jit
def _draws_low(cur, dlen, f):
    for s in range(N_STREAMS):
        if dlen[s, f] - cur[s, f] < 2:
            return True
    return False


@jit_handler
def _row(ri, rf, g, n, rid, attempt, f, outcome, cold, on_pc, t, lat, init, first_t):
    """Write a sampled row at index n; returns the new row count."""
    if not sampled(g, rid):
        return n
    ri[n, R_ID] = rid
    ri[n, R_ATTEMPT] = attempt
    ri[n, R_FN] = f
    ri[n, R_OUTCOME] = outcome
    ri[n, R_COLD] = cold
    ri[n, R_ON_PC] = on_pc
    rf[n, R_T] = t
    rf[n, R_LATENCY_MS] = lat
    rf[n, R_INIT_MS] = init
    rf[n, R_FIRST_T] = first_t
    return n + 1


# ---- traces and entry points (ACCOUNT_SPEC.md §7)

TRACED_POOL = (1 << K_COMPLETE) | (1 << K_RETRY)  # the pool's events that carry a trace


@jit_handler
def trace_sampled(g, rid):
    """Whether the trace of request `rid` records its spans (record.traces): the same rule as rows'."""
    return _sampled_by(g, rid, G_TRS_ALL, G_TRS_FIRST_N, G_TRS_THRESHOLD)


@jit_handler
def span_id(tr, g, tri):
    """A new span id in trace tr if it is sampled, else -1."""
    if tr < 0 or tri[tr, TR_SAMPLED] == 0:
        return np.int64(-1)
    sid = g[G_SPAN_SEQ]
    g[G_SPAN_SEQ] = sid + 1
    return sid


@jit_handler
def span_emit(sid, tr, sp, start, end, g, tri, spi, spf):
    """Write span `sid` of trace tr (sampled: sid >= 0) that ended: `sp` = (parent, kind,
    resource kind, resource index, from, error, cold, attempt, answer)."""
    if sid < 0:
        return
    parent, kind, rkind, ridx, frm, error, cold, attempt, answer = sp
    n = g[G_SPANS_N]
    spi[n, SP_TRACE] = tri[tr, TR_RID]
    spi[n, SP_ID] = sid
    spi[n, SP_PARENT] = parent
    spi[n, SP_KIND] = kind
    spi[n, SP_RKIND] = rkind
    spi[n, SP_RIDX] = ridx
    spi[n, SP_FROM] = frm
    spi[n, SP_ERROR] = 1 if error else 0
    spi[n, SP_COLD] = cold
    spi[n, SP_ATTEMPT] = attempt
    spi[n, SP_ANSWER] = answer
    spf[n, SPF_START] = start
    spf[n, SPF_END] = end
    g[G_SPANS_N] = n + 1


@jit_handler
def trace_new(t, rid, rkind, ridx, g, tri, trf, trfree, pentry, eni):
    """Traffic arrival `rid` at t (to function, queue or unit `ridx` of kind `rkind`) starts a
    trace; its slot (one must be free: TRACES_FULL), or -1 when its port is no entry point."""
    e = pentry[rid >> ID_SEQ_BITS]
    if e < 0:
        return np.int64(-1)
    n = g[G_TR_FREE_N] - 1
    g[G_TR_FREE_N] = n
    tr = trfree[n]
    tri[tr, TR_ENTRY] = e  # (TR_MARK needs no reset: each pass has a new stamp)
    if trace_sampled(g, rid):
        tri[tr, TR_SAMPLED] = 1
        tri[tr, TR_RID] = rid
        tri[tr, TR_ROOT] = span_id(tr, g, tri)
        tri[tr, TR_RKIND] = rkind
        tri[tr, TR_RIDX] = ridx
    else:
        tri[tr, TR_SAMPLED] = 0
        tri[tr, TR_ROOT] = -1  # (its items' parent span: none)
    trf[tr, TRF_T0] = t
    trf[tr, TRF_LAST] = t
    eni[e, EN_REQUESTS] += 1
    return tr


@jit_handler
def _en_add(e, v, eni, enf, h, ncol, fcol):
    """Value v (ms) into entry e's histogram h, count eni[e, ncol], sum/min/max enf[e, fcol..fcol+2]."""
    n = eni[e, ncol]
    enf[e, fcol] += v
    if n == 0 or v < enf[e, fcol + 1]:
        enf[e, fcol + 1] = v
    if n == 0 or v > enf[e, fcol + 2]:
        enf[e, fcol + 2] = v
    eni[e, ncol] = n + 1
    h[e, hist_index(v)] += 1


@jit_handler
def entry_answer(t, tr, answer, pa):
    """Trace tr's client gets its answer (A_OK, A_FAILED, A_THROTTLED) at t: counted, its
    latency t - t0 (0 for an entry accepted or refused at once), and its root span. An answer
    later than its entry point's client timeout (ENF_TIMEOUT_S) is A_TIMED_OUT, seen at t0 +
    the timeout; every latency gets the entry point's offset (ENF_OFFSET_S, an API's own
    overhead); counted per period of t0 too (`enp`)."""
    if tr < 0:
        return
    tri, trf, eni, enf, ehl = pa.tri, pa.trf, pa.eni, pa.enf, pa.ehl
    e = tri[tr, TR_ENTRY]
    t0 = trf[tr, TRF_T0]
    if t - t0 > enf[e, ENF_TIMEOUT_S]:
        answer = A_TIMED_OUT
        t = t0 + enf[e, ENF_TIMEOUT_S]
    t = t + enf[e, ENF_OFFSET_S]
    span_emit(tri[tr, TR_ROOT], tr, (np.int64(-1), SK_CLIENT, tri[tr, TR_RKIND], tri[tr, TR_RIDX], np.int64(-1),
                                     answer != A_OK, np.int64(0), np.int64(0), np.int64(answer)),
              t0, t, pa.g, tri, pa.spi, pa.spf)
    if answer == A_OK:
        eni[e, EN_SUCCEEDED] += 1
    elif answer == A_FAILED:
        eni[e, EN_FAILED] += 1
    elif answer == A_THROTTLED:
        eni[e, EN_THROTTLED] += 1
    else:
        eni[e, EN_TIMED_OUT] += 1
    _en_add(e, (t - t0) * 1000.0, eni, enf, ehl, EN_LAT_N, ENF_LAT_SUM)
    enp = pa.enp
    p = np.int64(t0 / pa.gf[GF_PERIOD_S])
    if p >= enp.shape[0]:
        p = enp.shape[0] - 1
    enp[p, e, answer] += 1
    enp[p, e, ENP_LAT_US] += np.int64(np.round((t - t0) * 1e6))


@jit_handler
def server_span(t, s, f, pa):
    """The SERVER span of the invocation whose completion (event slot s) comes at t (a sampled
    trace's: its items, and only they, have a parent span)."""
    ei = pa.ei
    if ei[s, E_PSPAN] < 0:
        return
    tr = ei[s, E_TRACE]
    sid = span_id(tr, pa.g, pa.tri)
    span_emit(sid, tr, (ei[s, E_PSPAN], SK_SERVER, K_FUNCTION, f, np.int64(-1), ei[s, E_OWN_ERR] != 0, ei[s, E_COLD],
                        ei[s, E_ATTEMPT], np.int64(-1)), pa.ef[s, EF_T], t, pa.g, pa.tri, pa.spi, pa.spf)


@jit
def trace_mark_heap(mask, g, tri, ei, hh, heap_n):
    """A new marking pass: the traces of the events on the heap whose kind is a bit of `mask`
    are referenced. Returns the pass's stamp (more referrers are marked with it by the caller)."""
    stamp = g[G_TR_STAMP] + 1
    g[G_TR_STAMP] = stamp
    for k in range(heap_n):
        s = hh[k, H_V]
        if s >= 0:
            kind = ei[s, E_KIND]
            if kind >= 0 and (mask >> kind) & 1:
                tr = ei[s, E_TRACE]
                if tr >= 0:
                    tri[tr, TR_MARK] = stamp
    return stamp


@jit
def trace_close(t_cut, final, g, tri, trf, trfree, eni, enf, ehc):
    """After a marking pass: close every trace in use it did not mark whose last event came
    before t_cut (every one, when final) — no event before t_cut is still to come, so a
    closed trace is closed for good — and free its slot; when final, count the marked ones
    as in flight. Returns how many closed."""
    stamp = g[G_TR_STAMP]
    free_n = g[G_TR_FREE_N]
    n = 0
    for tr in range(tri.shape[0]):
        e = tri[tr, TR_ENTRY]
        if e < 0:
            continue
        if tri[tr, TR_MARK] == stamp:
            if final:
                eni[e, EN_IN_FLIGHT] += 1
            continue
        last = trf[tr, TRF_LAST]
        if final or last < t_cut:
            v = (last - trf[tr, TRF_T0]) * 1000.0
            k = eni[e, EN_COMP_N]
            eni[e, EN_COMP_SUM_US] += np.int64(round(v * 1000.0))
            if k == 0 or v < enf[e, ENF_COMP_MIN]:
                enf[e, ENF_COMP_MIN] = v
            if k == 0 or v > enf[e, ENF_COMP_MAX]:
                enf[e, ENF_COMP_MAX] = v
            eni[e, EN_COMP_N] = k + 1
            ehc[e, hist_index(v)] += 1
            tri[tr, TR_ENTRY] = -1
            trfree[free_n] = tr
            free_n += 1
            n += 1
    g[G_TR_FREE_N] = free_n
    return n


@jit_internal
def _pc_integrate(fs, ft, f, t):
    ft[f, T_PC_ENV_S] += fs[f, F_PC_ENVS] * (t - ft[f, T_PC_LAST_T])
    ft[f, T_PC_LAST_T] = t


@jit_internal
def set_provisioned(fs, ft, fpi, g, pmi, f, n, t, p):
    """Control change: function f keeps n provisioned environments from time t (period p)."""
    _pc_integrate(fs, ft, f, t)
    fs[f, F_PC_TARGET] = n
    old = fs[f, F_PC_ENVS]
    if n > old:
        fs[f, F_PC_IDLE] += n - old
        fs[f, F_PC_ENVS] = n
    else:
        r = min(fs[f, F_PC_IDLE], old - n)
        fs[f, F_PC_IDLE] -= r
        fs[f, F_PC_ENVS] -= r
    if fpi[f, P_RESERVED] < 0:
        g[G_UNRES_USED] += fs[f, F_PC_ENVS] - old
    if fs[f, F_PC_ENVS] > pmi[p, f, M_PC_ENVS_MAX]:
        pmi[p, f, M_PC_ENVS_MAX] = fs[f, F_PC_ENVS]


@jit
def control_provisioned(t, f, n, fs, ft, fpi, g, gf, pmi, pmf, phist):
    """Control change at time t: function f keeps n provisioned environments."""
    p = advance_period(t, g, gf, fs.shape[0], fs, pmi, pmf, phist)
    set_provisioned(fs, ft, fpi, g, pmi, f, n, t, p)


@jit_internal
def _close_period(p, nf, pmi, pmf, phist):
    for f in range(nf):
        if pmi[p, f, M_DUR_N] > 0:
            lo, hi = pmf[p, f, MF_DUR_MIN_MS], pmf[p, f, MF_DUR_MAX_MS]
            pmf[p, f, MF_DUR_P50] = hist_quantile_in(phist[f], 0.5, lo, hi)
            pmf[p, f, MF_DUR_P99] = hist_quantile_in(phist[f], 0.99, lo, hi)
            phist[f, :] = 0
        else:
            pmf[p, f, MF_DUR_P50] = np.nan
            pmf[p, f, MF_DUR_P99] = np.nan


@jit_internal
def _open_period(p, nf, fs, pmi, pmf):
    for f in range(nf):
        pmi[p, f, M_CONC_MAX] = fs[f, F_PC_BUSY] + fs[f, F_OD_BUSY]
        pmi[p, f, M_PC_BUSY_MAX] = fs[f, F_PC_BUSY]
        pmi[p, f, M_PC_ENVS_MAX] = fs[f, F_PC_ENVS]
        if fs[f, F_PC_ENVS] > 0:
            pmf[p, f, MF_PC_UTIL_MAX] = fs[f, F_PC_BUSY] / fs[f, F_PC_ENVS]


@jit_internal
def advance_period(t, g, gf, nf, fs, pmi, pmf, phist):
    """Close every period before the one holding t; returns t's period index."""
    n_periods = pmi.shape[0]
    p = min(int(t // gf[GF_PERIOD_S]), n_periods - 1)
    while g[G_PERIOD] < p:
        _close_period(g[G_PERIOD], nf, pmi, pmf, phist)
        g[G_PERIOD] += 1
        _open_period(g[G_PERIOD], nf, fs, pmi, pmf)
    return g[G_PERIOD]


@jit
def finish_periods(g, nf, fs, pmi, pmf, phist):
    """Close the current period and every later one (end of run)."""
    n_periods = pmi.shape[0]
    while True:
        _close_period(g[G_PERIOD], nf, pmi, pmf, phist)
        if g[G_PERIOD] >= n_periods - 1:
            break
        g[G_PERIOD] += 1
        _open_period(g[G_PERIOD], nf, fs, pmi, pmf)


@jit_handler
def _push_retry(t, f, rid, src, inv, attempt, err_r, thr_r, first_t, dover, units, size, key, trace, pspan,
                ei, ef, free, hh, heap_n, seq, free_n):
    """Schedule a retry at t; returns the new (heap size, counter, free slots)."""
    free_n -= 1
    s = free[free_n]
    ei[s, E_KIND] = K_RETRY
    ei[s, E_FN] = f
    ei[s, E_ID] = rid
    ei[s, E_SRC] = src
    ei[s, E_INV] = inv
    ei[s, E_ATTEMPT] = attempt
    ei[s, E_ERR_R] = err_r
    ei[s, E_THR_R] = thr_r
    ef[s, E_FIRST_T] = first_t
    ef[s, E_DOVER] = dover
    ei[s, E_UNITS] = units
    ei[s, E_SIZE] = size
    ei[s, E_KEY] = key
    ei[s, E_TRACE] = trace
    ei[s, E_PSPAN] = pspan
    heap_n = heap_push(hh, heap_n, t, seq, s)
    return heap_n, seq + 1, free_n


@jit_handler
def retry_request(ei, ef, s):
    """The request a scheduled retry (event slot s) carries: (rid, src, inv, attempt,
    err_retries, thr_retries, first_t, dur_override_ms, units, size_bytes, key, trace, pspan)."""
    return (ei[s, E_ID], ei[s, E_SRC], ei[s, E_INV], ei[s, E_ATTEMPT], ei[s, E_ERR_R], ei[s, E_THR_R],
            ef[s, E_FIRST_T], ef[s, E_DOVER], ei[s, E_UNITS], ei[s, E_SIZE], ei[s, E_KEY], ei[s, E_TRACE],
            ei[s, E_PSPAN])


@jit_handler
def arrival_request(t, i, a_id, a_src, a_inv, a_dover, a_units):
    """Arrival i as a first attempt: (rid, src, inv, attempt, err_retries, thr_retries,
    first_t, dur_override_ms, units)."""
    return a_id[i], a_src[i], a_inv[i], 0, 0, 0, t, a_dover[i], a_units[i]


@jit_handler
def pool_complete(t, f, s, fpi, fs, ft, ef, ei, stack_birth, stack_expire, draws, cur, unres_used):
    """A completion (event slot s) of f at t frees its environment; returns unres_used."""
    if ei[s, E_ON_PC] == 1:
        fs[f, F_PC_BUSY] -= 1
        if fs[f, F_PC_ENVS] > fs[f, F_PC_TARGET]:
            _pc_integrate(fs, ft, f, t)
            fs[f, F_PC_ENVS] -= 1
            if fpi[f, P_RESERVED] < 0:
                unres_used -= 1
        else:
            fs[f, F_PC_IDLE] += 1
    else:
        fs[f, F_OD_BUSY] -= 1
        if fpi[f, P_RESERVED] < 0:
            unres_used -= 1
        n = fs[f, F_STACK_N]
        off = fpi[f, P_STACK_OFF]
        stack_birth[off + n] = ef[s, E_BIRTH]
        stack_expire[off + n] = t + _draw(draws, cur, S_EXP, f)
        fs[f, F_STACK_N] = n + 1
    return unres_used


@jit_handler
def start_metrics(p, f, cold, on_pc, units, inv, t, first_t, fs, pmi, pmf):
    """The metrics of a start, in its period: invocations, cold starts, concurrency, request
    units, provisioned utilisation, async event age."""
    pmi[p, f, M_INVOCATIONS] += 1
    pmi[p, f, M_COLD] += cold
    busy = fs[f, F_PC_BUSY] + fs[f, F_OD_BUSY]
    if busy > pmi[p, f, M_CONC_MAX]:
        pmi[p, f, M_CONC_MAX] = busy
    pmi[p, f, M_REQUEST_UNITS] += units
    if on_pc == 1:
        if fs[f, F_PC_BUSY] > pmi[p, f, M_PC_BUSY_MAX]:
            pmi[p, f, M_PC_BUSY_MAX] = fs[f, F_PC_BUSY]
        util = fs[f, F_PC_BUSY] / fs[f, F_PC_ENVS]
        if util > pmf[p, f, MF_PC_UTIL_MAX]:
            pmf[p, f, MF_PC_UTIL_MAX] = util
    if inv == ASYNC:
        age = t - first_t
        pmi[p, f, M_ASYNC_AGE_N] += 1
        pmf[p, f, MF_ASYNC_AGE_SUM_S] += age
        if age > pmf[p, f, MF_ASYNC_AGE_MAX_S]:
            pmf[p, f, MF_ASYNC_AGE_MAX_S] = age


@jit_handler
def end_metrics(p, f, error, timed_out, on_pc, d, lat, init, cold, billed, pmi, pmf, phist, hlat, hinit, ft):
    """The metrics that need an invocation's end, in period p: errors, timeouts, billed
    duration, Duration (d ms) and its extremes, latency and init histograms and extremes."""
    if error:
        pmi[p, f, M_ERRORS] += 1
    if timed_out:
        pmi[p, f, M_TIMEOUTS] += 1
    if on_pc == 1:
        pmi[p, f, M_BILLED_MS_PC] += billed
    else:
        pmi[p, f, M_BILLED_MS_OD] += billed
    pmf[p, f, MF_DUR_SUM_MS] += d
    pmi[p, f, M_DUR_N] += 1
    if pmi[p, f, M_DUR_N] == 1 or d < pmf[p, f, MF_DUR_MIN_MS]:  # the period's first, or below
        pmf[p, f, MF_DUR_MIN_MS] = d
    if pmi[p, f, M_DUR_N] == 1 or d > pmf[p, f, MF_DUR_MAX_MS]:
        pmf[p, f, MF_DUR_MAX_MS] = d
    phist[f, hist_index(d)] += 1
    hlat[f, hist_index(lat)] += 1
    ft[f, T_LAT_SUM_MS] += lat
    if lat > ft[f, T_LAT_MAX_MS]:
        ft[f, T_LAT_MAX_MS] = lat
    if lat < ft[f, T_LAT_MIN_MS]:
        ft[f, T_LAT_MIN_MS] = lat
    if cold == 1:
        hinit[f, hist_index(init)] += 1
        ft[f, T_INIT_SUM_MS] += init
        if init < ft[f, T_INIT_MIN_MS]:
            ft[f, T_INIT_MIN_MS] = init
        if init > ft[f, T_INIT_MAX_MS]:
            ft[f, T_INIT_MAX_MS] = init


@jit_handler
def lane_push(slot, seq, g, ei):
    """Event slot `slot` (counter seq), due now, joins the tail of the account loop's lane
    (kernels/account.py: events due at the time of the event being handled)."""
    ei[slot, E_LSEQ] = seq
    ei[slot, E_LNEXT] = -1
    if g[G_LANE_N] > 0:
        ei[g[G_LANE_TAIL], E_LNEXT] = slot
    else:
        g[G_LANE_HEAD] = slot
    g[G_LANE_TAIL] = slot
    g[G_LANE_N] += 1


@jit_handler
def lane_pop(g, ei):
    """The account loop's lane loses its first slot, which is returned."""
    s = g[G_LANE_HEAD]
    g[G_LANE_HEAD] = ei[s, E_LNEXT]
    g[G_LANE_N] -= 1
    return s


@jit_handler
def pool_attempt(req, counters, fpi, fpf, fs, ft, bk, si, sf, g, ei, ef, free, hh,
                 stack_birth, stack_expire, draws, cur, pmi, pmf, phist, hlat, hinit, ri, rf):
    """One attempt (POOL_SPEC.md): provisioned, on demand, or a throttle.

    `req` = (t, f, rid, src, inv, attempt, err_r, thr_r, first_t, dover, units, size, batch,
    p, t_end, key, trace, pspan) and `counters` = (heap_n, seq, free_n, rows_n, unres_used, unres_cap) are
    tuples of scalars because CPython compiles a call of more than 30 arguments to a *args
    call, which numba cannot inline; the arrays go one by one (with numba's runtime on, a
    tuple of arrays cost a reference count per array and call, measured 45 % slower; without
    it, as now, the messaging handlers take named tuples of arrays at no measured cost).
    `batch`: an event source mapping's invocation, whose throttle is not retried
    (QUEUE_SPEC.md). Returns (heap_n, seq, free_n, rows_n, unres_used, c, error, dropped):
    `c` the completion's event slot (-1: throttled), `dropped` whether the request ended here
    unstarted: an async event dropped, or a synchronous traffic client's last attempt
    throttled (its answer). The completion (or the invocation's record) carries `trace`
    (E_TRACE), whether it answers a synchronous traffic client (E_CLIENT), its error, and
    what its SERVER span needs: its start, cold start, attempt and parent `pspan` (E_PSPAN). Inlined into the kernels' loops (see run_pool on why).
    """
    t, f, rid, src, inv, attempt, err_r, thr_r, first_t, dover, units, size, batch, p, t_end, key, trace, pspan = req
    heap_n, seq, free_n, rows_n, unres_used, unres_cap = counters
    on_pc = 0
    cold = 0
    birth = t
    throttled = False
    reserved = fpi[f, P_RESERVED]
    if fs[f, F_PC_IDLE] > 0:
        fs[f, F_PC_IDLE] -= 1
        fs[f, F_PC_BUSY] += 1
        on_pc = 1
    else:
        if reserved >= 0:
            throttled = fs[f, F_PC_ENVS] + fs[f, F_OD_BUSY] + 1 > reserved
        else:
            throttled = unres_used + 1 > unres_cap
        if not throttled:
            off = fpi[f, P_STACK_OFF]
            n = fs[f, F_STACK_N]
            while n > 0 and stack_expire[off + n - 1] <= t:
                n -= 1
                ft[f, T_ENV_S] += stack_expire[off + n] - stack_birth[off + n]
            if n > 0:
                n -= 1
                birth = stack_birth[off + n]
            else:
                b = fpi[f, P_BUCKET]
                bk[b, B_TOKENS] = min(bk[b, B_CAP], bk[b, B_TOKENS] + bk[b, B_RATE] * (t - bk[b, B_LAST_T]))
                bk[b, B_LAST_T] = t
                if bk[b, B_TOKENS] >= 1.0:
                    bk[b, B_TOKENS] -= 1.0
                    cold = 1
                else:
                    throttled = True
            fs[f, F_STACK_N] = n
        if not throttled:
            fs[f, F_OD_BUSY] += 1
            if reserved < 0:
                unres_used += 1
            if fs[f, F_PC_ENVS] > 0:
                pmi[p, f, M_SPILLOVER] += 1

    c = -1
    error = False
    dropped = False
    if throttled:
        # ---- a throttle (429)
        pmi[p, f, M_THROTTLES] += 1
        rows_n = _row(ri, rf, g, rows_n, rid, attempt, f, O_THROTTLED, 0, 0, t, 0.0, 0.0, first_t)
        if batch:
            pass  # a mapping's batch is abandoned, not retried
        elif inv == SYNC and src < 0:
            pass  # a call's attempt: its caller's SDK decides (ACCOUNT_SPEC.md §5)
        elif inv == SYNC:
            if attempt + 1 < si[src, SRC_MAX_ATTEMPTS]:
                bo = min(sf[src, SRC_CAP_S], sf[src, SRC_BASE_S] * 2.0 ** attempt)
                j = si[src, SRC_JITTER]
                if j == JITTER_FULL:
                    delay = _draw(draws, cur, S_U, f) * bo
                elif j == JITTER_EQUAL:
                    delay = bo / 2.0 + _draw(draws, cur, S_U, f) * bo / 2.0
                else:
                    delay = bo
                heap_n, seq, free_n = _push_retry(
                    t + delay, f, rid, src, inv, attempt + 1, err_r, thr_r, first_t, dover, units, size, key, trace,
                    pspan, ei, ef, free, hh, heap_n, seq, free_n)
            else:
                pmi[p, f, M_SYNC_FAILED] += 1
                dropped = True  # the client's answer: throttled
        else:
            delay = min(ASYNC_THROTTLE_BACKOFF_CAP_S, 2.0 ** thr_r)
            if t + delay - first_t > fpf[f, P_ASYNC_AGE_S]:
                pmi[p, f, M_ASYNC_DROPPED] += 1
                dropped = True
            else:
                heap_n, seq, free_n = _push_retry(
                    t + delay, f, rid, src, inv, attempt + 1, err_r, thr_r + 1, first_t, dover, units, size, key,
                    trace, pspan, ei, ef, free, hh, heap_n, seq, free_n)
        return heap_n, seq, free_n, rows_n, unres_used, c, error, dropped

    # ---- a start: draws, outcome, completion
    if math.isnan(dover):
        d = _draw(draws, cur, S_DUR, f)
    else:
        d = dover
    d *= fpf[f, P_DUR_SCALE]
    start_metrics(p, f, cold, on_pc, units, inv, t, first_t, fs, pmi, pmf)
    if fpi[f, P_NCALLS] > 0:
        # ---- a function with calls: its end is not known yet. Its completion slot becomes the
        # invocation's record, handed to the account's loop by a BEGIN event at t
        # (kernels/account.py); the metrics that need its end wait for it (end_metrics).
        init = _draw(draws, cur, S_INIT, f) if cold == 1 else 0.0
        u = _draw(draws, cur, S_U, f)
        error = u < fpf[f, P_ERROR_RATE]
        free_n -= 1
        c = free[free_n]
        ei[c, E_KIND] = K_BEGIN
        ei[c, E_FN] = f
        ei[c, E_ON_PC] = on_pc
        ei[c, E_CALLER] = -1
        ei[c, E_COLD] = cold
        ei[c, E_OWN_ERR] = 1 if error else 0
        ei[c, E_RID] = rid
        ei[c, E_SRC] = src
        ei[c, E_RINV] = inv
        ei[c, E_ATTEMPT] = attempt
        ei[c, E_ERR_R] = err_r
        ei[c, E_THR_R] = thr_r
        ei[c, E_UNITS] = units
        ei[c, E_SIZE] = size
        ei[c, E_KEY] = key
        ei[c, E_TRACE] = trace
        ei[c, E_CLIENT] = 1 if inv == SYNC and src >= 0 and not batch else 0
        ei[c, E_PSPAN] = pspan
        ei[c, E_SPAN] = -1
        ei[c, E_CSPAN] = -1
        ef[c, E_BIRTH] = birth
        ef[c, E_FIRST_T] = first_t
        ef[c, E_DOVER] = dover
        ef[c, EF_D_MS] = d
        ef[c, EF_INIT_MS] = init
        ef[c, EF_T] = t
        lane_push(c, seq, g, ei)  # due now: the account loop's lane
        seq += 1
        return heap_n, seq, free_n, rows_n, unres_used, c, error, dropped
    timed_out = d > fpf[f, P_TIMEOUT_MS]
    if timed_out:
        d = fpf[f, P_TIMEOUT_MS]
    init = _draw(draws, cur, S_INIT, f) if cold == 1 else 0.0
    u = _draw(draws, cur, S_U, f)
    error = timed_out or u < fpf[f, P_ERROR_RATE]
    lat = init + d
    end = t + lat / 1000.0
    free_n -= 1
    c = free[free_n]
    ei[c, E_KIND] = K_COMPLETE
    ei[c, E_FN] = f
    ei[c, E_ON_PC] = on_pc
    ei[c, E_CALLER] = -1
    ei[c, E_TRACE] = trace
    ei[c, E_CLIENT] = 1 if inv == SYNC and src >= 0 and not batch else 0
    ei[c, E_OWN_ERR] = 1 if error else 0
    ei[c, E_PSPAN] = pspan
    if pspan >= 0:  # a sampled trace's (its items all have a parent span): what its SERVER span says
        ei[c, E_COLD] = cold
        ei[c, E_ATTEMPT] = attempt
        ef[c, EF_T] = t
    ef[c, E_BIRTH] = birth
    heap_n = heap_push(hh, heap_n, end, seq, c)
    seq += 1
    end_metrics(p, f, error, timed_out, on_pc, d, lat, init, cold, billed_ms(lat), pmi, pmf, phist, hlat, hinit, ft)
    ft[f, T_BUSY_S] += min(end, t_end) - t
    outcome = O_TIMEOUT if timed_out else (O_ERROR if error else O_OK)
    rows_n = _row(ri, rf, g, rows_n, rid, attempt, f, outcome, cold, on_pc, t, lat, init, first_t)

    # ---- async error handling: retries after 60 s and 120 s, then drop
    if inv == ASYNC and error:
        if err_r < fpi[f, P_ASYNC_RETRIES]:
            rt = end + ASYNC_ERROR_RETRY_STEP_S * (err_r + 1)
            if rt - first_t > fpf[f, P_ASYNC_AGE_S]:
                pmi[p, f, M_ASYNC_DROPPED] += 1
                dropped = True
            else:
                heap_n, seq, free_n = _push_retry(
                    rt, f, rid, src, inv, attempt + 1, err_r + 1, thr_r, first_t, dover, units, size, key, trace,
                    pspan, ei, ef, free, hh, heap_n, seq, free_n)
        else:
            pmi[p, f, M_ASYNC_DROPPED] += 1
            dropped = True
    return heap_n, seq, free_n, rows_n, unres_used, c, error, dropped



@jit_loop
def run_pool(t_stop, a_t, a_id, a_fn, a_src, a_inv, a_dover, a_units, a_start,
             fpi, fpf, fs, ft, bk, si, sf, g, gf, ei, ef, free, hh,
             stack_birth, stack_expire, draws, cur, dlen, pmi, pmf, phist, hlat, hinit, ri, rf,
             tri, trf, trfree, pentry, eni, enf, ehl, ehc, spi, spf, enp):
    """Run every event with time < t_stop; arrivals a_* from index a_start on.

    Returns (status, next arrival index, function index needing draws or -1). The event
    handlers are in this one loop or in helpers inlined into it (`pool_attempt`,
    `pool_complete`, shared with the account's loop `account.run_account`): numba
    reference-counts every array passed to a function that LLVM does not inline (measured
    5x slower as separate functions), and the kernels run without its runtime
    (kernels/__init__.py) so that inlined helpers cost nothing either. The hot counters
    live in locals while the loop runs (LLVM must assume any array store may alias `g`, so
    counters kept there are reloaded after every store) and go back to `g` on every return.
    """
    nf = fs.shape[0]
    na = a_t.shape[0]
    t_end = gf[GF_T_END]
    period_s = gf[GF_PERIOD_S]
    p = g[G_PERIOD]
    period_end = (p + 1) * period_s if p < pmi.shape[0] - 1 else np.inf
    i = a_start
    heap_n = g[G_HEAP_N]
    seq = g[G_SEQ]
    free_n = g[G_FREE_N]
    rows_n = g[G_ROWS_N]
    unres_used = g[G_UNRES_USED]
    unres_cap = g[G_UNRES_CAP]
    attempts = g[G_ATTEMPTS]
    status = DONE
    need_f = -1
    pa = PoolArrays(fpi, fpf, fs, ft, bk, si, sf, g, gf, ei, ef, free, hh, stack_birth, stack_expire, draws,
                    cur, dlen, pmi, pmf, phist, hlat, hinit, ri, rf, tri, trf, trfree, pentry, eni, enf, ehl, ehc,
                    spi, spf, enp)
    while True:
        # ---- the next event: internal (heap) before arrivals at equal times
        use_heap = False
        if heap_n > 0 and heap_time(hh, 0) < t_stop:
            if i >= na or heap_time(hh, 0) <= a_t[i]:
                use_heap = True
        if not use_heap and i >= na:
            break
        if use_heap:
            t = heap_time(hh, 0)
            s = hh[0, H_V]
            f = ei[s, E_FN]
        else:
            t = a_t[i]
            f = a_fn[i]
            s = -1
        if _draws_low(cur, dlen, f):
            status = NEED_DRAWS
            need_f = f
            break
        if free_n < 2:
            status = EVENTS_FULL
            break
        if rows_n + 1 > ri.shape[0]:
            status = ROWS_FULL
            break
        if not use_heap and g[G_TR_FREE_N] < 1:
            # the trace table is full: close what has ended (nothing before t is still to
            # come); if that frees less than half, the caller grows the table
            trace_mark_heap(TRACED_POOL, g, tri, ei, hh, heap_n)
            trace_close(t, False, g, tri, trf, trfree, eni, enf, ehc)
            g[G_TR_SWEEPS] += 1
            if 2 * g[G_TR_FREE_N] < tri.shape[0]:
                status = TRACES_FULL
                break
        if g[G_SPANS_N] + SPAN_ROOM > spi.shape[0]:
            status = SPANS_FULL
            break
        if t >= period_end:
            p = advance_period(t, g, gf, nf, fs, pmi, pmf, phist)
            period_end = (p + 1) * period_s if p < pmi.shape[0] - 1 else np.inf

        # ---- a completion
        if use_heap:
            heap_pop(hh, heap_n)
            heap_n -= 1
            tr = ei[s, E_TRACE]
            if tr >= 0:
                trf[tr, TRF_LAST] = t
            if ei[s, E_KIND] == K_COMPLETE:
                unres_used = pool_complete(t, f, s, fpi, fs, ft, ef, ei, stack_birth, stack_expire,
                                           draws, cur, unres_used)
                server_span(t, s, f, pa)
                if ei[s, E_CLIENT] != 0:
                    entry_answer(t, tr, A_FAILED if ei[s, E_OWN_ERR] != 0 else A_OK, pa)
                free[free_n] = s
                free_n += 1
                continue
            rid, src, inv, attempt, err_r, thr_r, first_t, dover, units, _size, _key, tr, pspan = retry_request(
                ei, ef, s)
            free[free_n] = s
            free_n += 1
        else:
            rid, src, inv, attempt, err_r, thr_r, first_t, dover, units = arrival_request(
                t, i, a_id, a_src, a_inv, a_dover, a_units)
            i += 1
            tr = trace_new(t, rid, K_FUNCTION, f, g, tri, trf, trfree, pentry, eni)
            pspan = tri[tr, TR_ROOT] if tr >= 0 else np.int64(-1)
            if inv == ASYNC:
                entry_answer(t, tr, A_OK, pa)  # accepted at once

        # ---- an attempt (POOL_SPEC.md), shared with the messaging kernel
        attempts += 1
        heap_n, seq, free_n, rows_n, unres_used, _c, _err, dropped = pool_attempt(
            (t, f, rid, src, inv, attempt, err_r, thr_r, first_t, dover, units, 0, False, p, t_end, 0, tr, pspan),
            (heap_n, seq, free_n, rows_n, unres_used, unres_cap),
            fpi, fpf, fs, ft, bk, si, sf, g, ei, ef, free, hh, stack_birth, stack_expire,
            draws, cur, pmi, pmf, phist, hlat, hinit, ri, rf)
        if dropped and inv == SYNC:
            entry_answer(t, tr, A_THROTTLED, pa)

    g[G_HEAP_N] = heap_n
    g[G_SEQ] = seq
    g[G_FREE_N] = free_n
    g[G_ROWS_N] = rows_n
    g[G_UNRES_USED] = unres_used
    g[G_ATTEMPTS] = attempts
    return status, i, need_f
