"""One account's data plane in one event loop: Lambda, SQS, mappings, fleets, SNS topics, EventBridge
buses, DynamoDB tables, S3 buckets and Step Functions executions.

Semantics: `kernels/ACCOUNT_SPEC.md` (over POOL_SPEC, QUEUE_SPEC and FANOUT_SPEC); plain-Python
twin: `kernels/ref/account.py`. `run_account` is the messaging loop of `kernels/queue_pool.py`
(the pool, queues, mappings and fleets on one heap and one scheduling counter) with the
fan-out units as handlers of the same loop: a publish (a traffic arrival, or a topic's or
bus's delivery to another unit) runs its (message, target) attempts at once; a retry, a
delivery held by the invocation quota, a successful delivery and a dead letter are events
on the one heap. A delivery enters its target — a SEND to a queue, an asynchronous attempt
of a function, a publish to a unit — as the event it is, at its own time, so a chain such
as function -> topic -> queue -> function runs in true time order and a window boundary
changes nothing.

A function with calls (ACCOUNT_SPEC.md §3-§5) runs its handler as steps on the same heap:
its start is handed over by the pool (`lambda_pool.pool_attempt`: the completion slot
becomes the invocation's record, E_RID .. E_RUNS, and a BEGIN event), then its calls —
each request reaching its target after the API latency (CALL_ARRIVE), each answer coming
back as a RESPONSE, SDK retries (SDK_RETRY), endpoints (EP_DONE) — its own duration
(STEP) and its deadline (TIMEOUT) lead to its end (`_finish`), where the pool's own
completion code frees the environment.

A Step Functions execution (ACCOUNT_SPEC.md §14) is a record as an invocation with calls is (kind
K_EXECUTING), its machine a pseudo-function after the functions whose calls are its Task states:
a Task's request, answer and counters are the calls' above; its `K_WF` events enter states, retry,
time tasks out, bring callbacks back and report children's ends (`_wf_*`, `on_wf`); a root's
TimeoutSeconds waits on its machine's deadline list as warm invocations' deadlines do (below).

A function's egress entries (ACCOUNT_SPEC.md §10) are calls of kind K_FLOW after its calls:
their arrival (at the instant they are made: latency 0) appends a flow record (t, k) to
`flw_t`/`flw_k` and answers ok at once; the loop stops with FLOWS_FULL before one that finds
the buffer full, and the driver grows it.

Warm starts' deadlines are not heap entries per invocation. Nearly every invocation ends
long before its deadline, so a deadline per invocation on the heap made it mostly stale
entries (on the composed benchmark 25,000 of 26,000 entries, and a quarter of the loop's
time). A warm start's handler begins at its BEGIN (h0 = t), so a function's warm deadlines
(h0 + its one timeout_s) are monotone in the order BEGINs run: each function keeps its
running warm invocations on a doubly linked list through their records (`dl[f]`: E_DNEXT /
E_DPREV, the deadline EF_DT and the counter E_DSEQ it got at BEGIN), and only the list's
head sits on the heap (value `-1 - (len(tl) + f)`, after the queues' timer lists), coming
out as a DEADLINE. An invocation that ends leaves the list at once; the head's entry, when
it comes out for an invocation that has left, goes back in for the new head at that head's
own time and counter. So the deadline that fires is the one a heap entry per invocation
would have fired, at the same place in the order (`LAST_AT_INSTANT`), and the twin, which
keeps one TIMEOUT per invocation, checks it. A cold start's deadline (h0 = t + init, not
monotone when init varies) is a TIMEOUT event of its own, as before; cold starts are few.

Answers and BEGINs go on a lane, not the heap. A RESPONSE is always due at the moment it is
made (a callee's completion, a target's acceptance or refusal), and so is a BEGIN (the
attempt that took the environment), so they go on a FIFO of events due now, linked through
the event slots (E_LNEXT, E_LSEQ; G_LANE_*; `lambda_pool.lane_push`), that the loop takes
from before the heap unless the heap's first event is due at the same time with a smaller
counter. The order is the heap's own (time, then counter), so nothing changes but the cost:
on the composed benchmark, three heap insertions and removals per request of twelve. The lane is empty between events at
different times, and the loop puts what is left on it back on the heap before it returns
(a stop for room), so outside the loop the heap holds every scheduled event.

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

import math
from collections import namedtuple
from dataclasses import dataclass, field

import numpy as np

from kernels import buckets as BK
from kernels import jit, jit_handler, jit_loop
from kernels import lambda_pool as P
from kernels import queue_pool as Q
from kernels import stepfunctions as SF
from kernels import tables as TB
from kernels.billing import billed_ms, chunks_64kb, lambda_request_units
from kernels.fanout import (
    C_ATTEMPTS, C_DELIVERED, C_DELIVERED_CHUNKS, C_DLQ, C_DROPPED, C_FAILED_ATTEMPTS, C_FILTERED, C_FINAL,
    C_MATCHED_ANY, C_PUT, C_PUT_CHUNKS, C_PUT_THROTTLED, C_THROTTLED, S_LAT, S_U,
)
from kernels.fanout import N_STREAMS as N_FSTREAMS
from kernels.heap import H_SEQ, H_V, heap_pop, heap_push, heap_time
from kernels.lambda_pool import (
    DONE, E_DOVER, E_FIRST_T, E_KIND, EVENTS_FULL, ID_SEQ_BITS, K_COMPLETE, K_RETRY, NEED_DRAWS,
)

# Status: a fan-out target's streams (U, LAT) need refilling; `which` = the target.
NEED_FDRAWS = 8

# Event kinds beyond the pool's (K_COMPLETE, K_RETRY) and the queues' (K_SCALE ..
# K_BATCH_DONE): a (message, target) attempt; a successful delivery; a dead letter.
K_PAIR = 6
K_DELIVER = 7
K_DEAD_LETTER = 8
# ... and an invocation's steps (ACCOUNT_SPEC.md §3; K_BEGIN = lambda_pool.K_BEGIN = 9): its
# own duration ends; its deadline; a call's request reaches its target; an SDK retry starts;
# a call's answer reaches its caller; an endpoint answers.
K_STEP = 10
K_TIMEOUT = 11
K_CALL_ARRIVE = 12
K_SDK_RETRY = 13
K_RESPONSE = 14
K_EP_DONE = 15

# Status: a call's or an endpoint's stream needs refilling; `which` = its row of `xdraws`.
NEED_XDRAWS = 9
# Status: the flow-record buffer (`flw_t`, `flw_k`) is full before an egress call's arrival:
# the caller grows it (or takes the records) and runs on (after lambda_pool's 10, 11).
FLOWS_FULL = 12

# Port kinds: what an address resolves to (ACCOUNT_SPEC.md §2).
# K_FLOW: an egress entry (ACCOUNT_SPEC.md §10), a call whose request reaches no service: its
# arrival appends a flow record and is answered ok at once.
# K_TABLE: a DynamoDB table (ACCOUNT_SPEC.md §11), answered at its request's arrival.
K_FUNCTION, K_QUEUE, K_UNIT, K_ENDPOINT, K_EXTERNAL, K_FLOW, K_TABLE, K_API, K_BUCKET, K_SFN = (
    P.K_FUNCTION, P.K_QUEUE, P.K_UNIT, P.K_ENDPOINT, P.K_EXTERNAL, P.K_FLOW, P.K_TABLE, P.K_API, P.K_BUCKET,
    P.K_SFN)
KIND_NAMES = ("function", "queue", "unit", "endpoint", "external", "flow", "table", "api", "bucket", "state_machine")
# A bucket's `bki[b]`: its first prefix row, its notification unit (-1: none) and the port its
# events enter through (ids); `bkf[b]`: a request's transfer rate, bytes a second (ACCOUNT_SPEC.md §13).
BKI_ROW0, BKI_UNIT, BKI_PORT = 0, 1, 2
N_BKI = 3
BKF_BYTES_PER_S = 0
N_BKF = 1
NOTIFICATION_BYTES = 1024  # an S3 event notification's size (our assumption: its JSON, about 1 KB)
STREAM_BYTES_PER_HALF_UNIT = 512  # a stream record: the item written, its write units' KB (our reading)
# An arrival that an API Gateway route answered itself (ACCOUNT_SPEC.md §12): its `unit` is
# GW_ANSWER_OK (a cache hit or an HTTP backend's answer: 200), GW_ANSWER_THROTTLED (429: a limit
# or a quota) or GW_ANSWER_FAILED (an HTTP backend's 5xx: 502), its `src` the port it came
# through; it only counts for its entry point. Its `dover`, when not NaN, is how long (ms) the
# request took before this answer (an HTTP backend's latency): the trace began that much earlier.
GW_ANSWER_OK, GW_ANSWER_THROTTLED, GW_ANSWER_FAILED = -2, -3, -4
# Answers a caller can get (ACCOUNT_SPEC.md §5); the last three are retried by the SDK.
R_OK, R_FUNCTION_ERROR, R_THROTTLED, R_SERVER_ERROR, R_UNAVAILABLE = range(5)
# The AWS SDKs' standard retry mode: delay = U * min(2^a, 20) s after attempt a (0-based)
# (botocore retries/standard.py ExponentialBackoff: _BASE 2, _MAX_BACKOFF 20 s).
SDK_BACKOFF_BASE = 2.0
SDK_BACKOFF_CAP_S = 20.0
LAST_AT_INSTANT = 1 << 62  # added to a deadline's counter: it runs after the other events scheduled at its time
BILLED_EPS_MS = 1e-9  # a latency summed from steps carries float noise; billed = ceil(latency - this)
MAX_CALLS = 62  # per function: which of its calls run is a bit mask in one int64

# A step event's columns (of the pool's `ei`, as the pairs' EP_* are); E_FN: the invocation's function.
EV_INV = P.E_ID  # the invocation's slot (its completion slot: lambda_pool E_RID .. E_RUNS)
EV_GEN = P.E_ATTEMPT  # its generation when the event was scheduled: stale when they differ
EV_CALL = P.E_SRC  # the call (global index k)
EV_ATT = P.E_ERR_R  # the call's attempt (0-based)
EV_STATUS = P.E_THR_R  # a response's R_*
EV_EP = P.E_UNITS  # an endpoint's index
EV_SIZE = P.E_SIZE
EV_KEY = P.E_KEY

# A call's parameters: `cpi[k]`, `cpf[k]`; a function f's calls are k in cfo[f] .. cfo[f+1]-1.
CP_F = 0
CP_KIND = 1  # K_FUNCTION | K_QUEUE | K_UNIT | K_ENDPOINT | K_FLOW
CP_INDEX = 2  # the function, queue, unit or endpoint; K_FLOW: the egress entry's global number
CP_SYNC = 3
CP_COUNT = 4
CP_AT_END = 5
CP_SIZE = 6  # -1: the invoking item's
CP_KEY = 7  # -1: the invoking item's class
CP_MAX_ATT = 8
CP_CONTINUE = 9  # on_error: continue
CP_PORT = 10  # the account port what it sends enters through (ids), -1 for an endpoint or a flow
CP_CDF0 = 11  # its own classes (`attributes`): CP_KEY + i with cumulative probability ccdf[CP_CDF0 + i],
CP_CDF1 = 12  # one CALL draw per call made; CP_CDF1 == CP_CDF0: none (CP_KEY, or the invoking item's)
CP_TROW = 13  # K_TABLE, K_BUCKET: its streams' first row of xdraws (TU: half units or object bytes, then TK:
# hash positions or prefixes); else -1
CP_DIR = 14  # K_TABLE: kernels.tables.READ | WRITE; K_BUCKET: the operation (kernels.buckets.OPERATIONS)
N_CP = 15
CPF_PROB = 0
N_CPF = 1
# A call's counters `cstat[k]` (ACCOUNT_SPEC.md §8).
CS_MADE, CS_OK, CS_FAILED, CS_ABANDONED, CS_ATTEMPTS, CS_RETRIES = range(6)
N_CST = 6
CALL_COUNTERS = ("made", "ok", "failed", "abandoned", "attempts", "retries")
# A function's deadline list `dl[f]`: its head, tail, and whether its head has a heap entry.
DL_HEAD = 0
DL_TAIL = 1
DL_IN_HEAP = 2
N_DL = 3
# Endpoints: `epi[e]`, `epf[e]`, state `eps[e]`, counters `estat[e]`.
EPI_MAX_CONC = 0  # -1: none
EPI_OUT_OFF = 1
EPI_OUT_N = 2
N_EPI = 3
EPF_RATE = 0  # inf: none
EPF_BURST = 1
EPF_ERROR = 2
N_EPF = 3
ES_TOKENS = 0
ES_LAST = 1
N_ES = 2
EC_REQUESTS, EC_OK, EC_ERRORS, EC_THROTTLED, EC_OUTAGE = range(5)
N_EC = 5
ENDPOINT_COUNTERS = ("requests", "ok", "errors", "throttled", "outage")

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

@dataclass
class CallParams:
    """One entry of a function's `calls` (ACCOUNT_SPEC.md §3), as the kernel and its twin read it."""

    kind: int  # K_FUNCTION | K_QUEUE | K_UNIT | K_ENDPOINT | K_FLOW | K_TABLE | K_BUCKET
    index: int  # the function, queue, unit, endpoint, table or bucket; K_FLOW: the egress entry's global number
    sync: bool = True
    probability: float = 1.0
    count: int = 1
    at_end: bool = False
    size_bytes: int = -1  # -1: the invoking item's size
    key: int = -1  # message class of its payload (filters); -1: the invoking item's
    # its own classes (`attributes`): class key + i has cumulative probability key_cdf[i] (the
    # last 1); one CALL draw per call made picks one. Empty: `key`.
    max_attempts: int = 3
    on_error_continue: bool = False
    port: int = -1  # the account port what it sends enters through (ids); -1: none (an endpoint)
    key_cdf: list = field(default_factory=list)
    direction: int = 0  # K_TABLE: kernels.tables.READ | WRITE (what its capacity units consume); K_BUCKET: its operation


@dataclass
class EndpointParams:
    """An external HTTP API (ACCOUNT_SPEC.md §4)."""

    error_rate: float = 0.0
    outages: list = field(default_factory=list)  # [(start_s, end_s)], sorted and disjoint
    rate_per_s: float = math.inf
    burst: float = math.inf
    max_concurrency: int = -1  # -1: none


# ---- Step Functions (ACCOUNT_SPEC.md §14) -----------------------------------------------------
# State ops.
OP_TASK, OP_PASS, OP_WAIT, OP_CHOICE, OP_SUCCEED, OP_FAIL, OP_PARALLEL, OP_MAP = range(8)
# Error bits of a task, a branch or an iteration (ACCOUNT_SPEC.md §14 "Errors").
ERR_FUNCTION = 1
ERR_LAMBDA_THROTTLED = 2
ERR_THROTTLED = 4
ERR_TIMEOUT = 8
ERR_NO_CHOICE = 16
ERR_FAIL = 32
ERR_ALL = 63
# `K_WF` events' ops (EV_STATUS); a child's end carries its error mask in EV_SIZE.
WF_ENTER, WF_ENTER_PAID, WF_RETRY, WF_RETRY_PAID, WF_TASK_TIMEOUT, WF_CALLBACK_OK, WF_CALLBACK_FAIL, \
    WF_SUCCEED_AT, WF_CHILD_OK, WF_CHILD_FAIL = range(10)
# StartExecution and StateTransition token buckets (`wq` rows; FACTS "Step Functions": StartExecution
# Standard 1,300 refill 300/s, Express 6,000/6,000; StateTransition Standard 5,000 refill 1,500/s, Express
# none — us-east-1, us-west-2, eu-west-1; 800/150 and 800/500 elsewhere).
WQ_START_STANDARD, WQ_START_EXPRESS, WQ_TRANSITION = range(3)
N_WQ = 3
WQ_TOKENS, WQ_LAST, WQ_RATE, WQ_BURST = range(4)
N_WQC = 4
# Per machine and period, `wcnt[p, m]` (int64; ACCOUNT_SPEC.md §14).
W_STARTED, W_SUCCEEDED, W_FAILED, W_TIMED_OUT, W_THROTTLED, W_TRANSITIONS, W_TRANS_DELAYED, W_TIME_US, \
    W_TIME_MAX_US, W_UNITS = range(10)
N_W = 10
WORKFLOW_COUNTERS = ("started", "succeeded", "failed", "timed_out", "throttled", "transitions",
                     "transitions_delayed", "time_us", "time_max_us", "express_units")
# Retrier counts of the current state, 16 bits each in one int64: at most 4 retriers a state and
# MaxAttempts counted up to 65,535 (a build-time limit, sim.workflows).
RETRY_COUNT_BITS = 16
MAX_RETRIERS = 4
MAX_COUNTED_ATTEMPTS = (1 << RETRY_COUNT_BITS) - 1


@dataclass
class StateParams:
    """One state of a compiled machine as the kernel and its twin read it (ACCOUNT_SPEC.md §14).
    Rows (`next`, catchers' and branches' targets, `processor`) are the machine's own state rows."""

    op: int
    next: int = -1  # -1: End
    call: int = -1  # OP_TASK: its call, an index into MachineParams.calls
    callback: bool = False  # .waitForTaskToken
    # (error mask, MaxAttempts, IntervalSeconds, BackoffRate, MaxDelaySeconds or inf, JitterStrategy FULL)
    retriers: list = field(default_factory=list)
    catchers: list = field(default_factory=list)  # (error mask, next row)
    # OP_CHOICE: (cumulative probability, next row) in rule order; the remainder is NoChoiceMatched.
    # OP_PARALLEL: the first state row of each branch.
    branches: list = field(default_factory=list)
    processor: int = -1  # OP_MAP: its processor's first state row
    max_concurrency: int = 1  # OP_MAP: iterations at once (the effective limit, >= 1)
    wait_s: float = math.nan  # OP_WAIT: its seconds; NaN: one draw of its stream
    timeout_s: float = math.inf  # OP_TASK: TimeoutSeconds of an attempt
    callback_failure: float = 0.0  # OP_TASK with a callback: the SendTaskFailure share
    tolerated_count: int = 0  # OP_MAP: failed iterations tolerated
    tolerated_share: float = 0.0
    stream: bool = False  # it has a stream of its own (a drawn Wait, a callback's delay ms, Map's items)


@dataclass
class MachineParams:
    """One state machine (ACCOUNT_SPEC.md §14): its states, its root's first state, its Task
    states' calls (CallParams, max_attempts 1) in state order."""

    express: bool
    states: list
    start: int = 0
    timeout_s: float = math.inf
    memory_mb: int = 64
    calls: list = field(default_factory=list)


AccountArrays = namedtuple("AccountArrays", [
    "upi", "upf", "ust", "match", "tpi", "tpf", "seg_n", "seg_d", "out_s", "out_e", "ocur", "flast",
    "fdraws", "fcur", "flen", "gcnt", "rcnt", "tcnt", "port_fn", "port_inv", "port_q", "port_unit", "port_seq",
    "cfo", "cpi", "cpf", "cstat", "xdraws", "xcur", "xlen", "epi", "epf", "eps", "ebusy", "estat", "eout_s",
    "eout_e", "ecur", "ccdf", "dl", "flw_t", "flw_k", "flw_n", "tbi", "tbf", "tpart", "tring", "tper",
    "bki", "bkf", "ptok", "plast", "pparts", "pslow", "bper",
    "wmi", "wmf", "wsi", "wsf", "wri", "wrf", "wci", "wbp", "wbn", "wq", "wcnt"])
# Step Functions (ACCOUNT_SPEC.md §14): machines `wmi`/`wmf`, states `wsi`/`wsf`, retriers `wri`/`wrf`,
# catchers `wci`, Choice branches `wbp`/`wbn` (and Parallel branches' first rows in `wbn`), the
# StartExecution and StateTransition buckets `wq`, the counters `wcnt[p, m]` (WORKFLOW_COUNTERS).
# Streams of `xdraws` (rows): CALL of function f (uniform: which calls run, SDK jitter) at f;
# CLAT of call k (ms) at F + k; ELAT (ms) and EU (uniform) of endpoint e at F + K + 2e and + 1;
# a call k to a table or a bucket: TU (half units; object bytes) and TK (hash positions; prefixes)
# at cpi[k, CP_TROW] and + 1, after the endpoints' (F + K + 2E + 2j for the j-th such call).
# Tables (ACCOUNT_SPEC.md §11): `tbi`, `tbf`, `tpart`, `tring`, `tper` of kernels/tables.py;
# buckets (§13): `bki`, `bkf` here and `ptok`, `plast`, `pparts`, `pslow`, `bper` of kernels/buckets.py.
# Flow records (ACCOUNT_SPEC.md §10): `flw_t[i]`, `flw_k[i]` for i < flw_n[0], the time and the
# call k of each egress call's arrival, in event order; the caller takes them (and resets flw_n).
AccountArrivals = namedtuple("AccountArrivals", ["t", "id", "fn", "src", "inv", "dover", "units", "queue", "size",
                                                 "gid", "unit", "key"])
# An item entering a port: (id, size_bytes, key, group).


@jit_handler
def _what(q, u, f):
    """(kind, index) of what an arrival or a port leads to: queue q, else unit u, else
    function f (the others -1); an API route's own answer (u <= GW_ANSWER_OK): route f."""
    if q >= 0:
        return np.int64(K_QUEUE), q
    if u >= 0:
        return np.int64(K_UNIT), u
    if u <= SFN_UNIT0:
        return np.int64(K_SFN), SFN_UNIT0 - u
    if u <= GW_ANSWER_OK:
        return np.int64(K_API), f
    return np.int64(K_FUNCTION), f


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
    j, mid, size, key, group, attempt, seg, used, first_t, trace, pspan = pair
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
    ei[slot, P.E_TRACE] = trace
    ei[slot, P.E_PSPAN] = pspan
    pa.ef[slot, EPF_FIRST_T] = first_t
    heap_n = heap_push(pa.hh, heap_n, t, seq, slot)
    return heap_n, seq + 1, free_n


@jit_handler
def _pair_attempt(ta, p, pair, has_token, slot, c3, pa, xa):
    """One delivery attempt of a (message, target) pair at ta (FANOUT_SPEC.md, An attempt):
    held by the invocation quota, delivered after its latency, or failed (a retry after the
    policy's delay, else a dead letter or a drop). `slot`: the pair's event slot, or -1."""
    heap_n, seq, free_n = c3
    j, mid, size, key, group, attempt, seg, used, first_t, trace, pspan = pair
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
        nxt = (j, mid, size, key, group, attempt + 1, seg, used, first_t, trace, pspan)
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
    per (rule that matches, target of that rule), each carrying the item's trace. Returns
    (c3, accepted)."""
    mid, size, key, group, trace, pspan = item
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
        c3 = _pair_attempt(t, p, (j, mid, size, key, g, np.int64(0), np.int64(0), np.int64(0), t, trace, pspan),
                           0, np.int64(-1), c3, pa, xa)
    return c3, True


@jit_handler
def _enter(t, port, item, p, c, consts, pa, qa, xa):
    """An item created inside the account enters it at `port` at t: an asynchronous attempt
    of a function, a SendMessage, or a publish, in the item's trace. Returns (c, offer)."""
    _mid, size, key, group, trace, pspan = item
    rid = (port << ID_SEQ_BITS) | xa.port_seq[port]
    xa.port_seq[port] += 1
    f = xa.port_fn[port]
    if f >= 0:
        inv = xa.port_inv[port]
        req = (rid, port, inv, np.int64(0), np.int64(0), np.int64(0), t, np.nan, lambda_request_units(size, inv),
               size, key, trace, pspan)
        return Q._function_attempt(t, f, req, p, c, consts, pa, qa)
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    q = xa.port_q[port]
    if q >= 0:
        heap_n, seq, free_n, offer = Q._send_msg((rid, q, size, max(group, 0), t, p, key, trace, pspan),
                                                 (heap_n, seq, free_n), pa, qa)
        c = (heap_n, seq, free_n, rows_n, unres_used, attempts)
        return c, (Q._offer_queue(q) if offer else Q._offer_none())
    if xa.port_unit[port] <= SFN_UNIT0:  # an EventBridge rule's state machine target: StartExecution
        m = SFN_UNIT0 - xa.port_unit[port]  # (refused by its quota: dropped, counted as throttled)
        c3, x = _wf_start(t, m, (size, key, trace, pspan), (np.int64(-1), np.int64(0), np.int64(0), np.int64(0)), p,
                          (heap_n, seq, free_n), pa, qa, xa)
        if x >= 0:
            c3 = _wf_go(x, xa.wmi[m, WM_START], c3, pa)
        heap_n, seq, free_n = c3
        return (heap_n, seq, free_n, rows_n, unres_used, attempts), Q._offer_none()
    (heap_n, seq, free_n), _ok = _publish(t, xa.port_unit[port], (rid, size, key, group, trace, pspan), p,
                                          (heap_n, seq, free_n), pa, xa)
    return (heap_n, seq, free_n, rows_n, unres_used, attempts), Q._offer_none()


@jit_handler
def _pair_of(pa, s):
    ei = pa.ei
    return (ei[s, EP_TGT], ei[s, EP_ID], ei[s, EP_SIZE], ei[s, EP_KEY], ei[s, EP_GROUP], ei[s, EP_ATTEMPT],
            ei[s, EP_SEG], ei[s, EP_USED], pa.ef[s, EPF_FIRST_T], ei[s, P.E_TRACE], ei[s, P.E_PSPAN])


@jit_handler
def on_pair(t, s, p, c, pa, xa):
    """A pair's retry (or its delivery held by the invocation quota) comes due: an attempt."""
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    heap_n, seq, free_n = _pair_attempt(t, p, _pair_of(pa, s), pa.ei[s, EP_TOKEN], s, (heap_n, seq, free_n), pa, xa)
    return (heap_n, seq, free_n, rows_n, unres_used, attempts), Q._offer_none()


@jit_handler
def on_deliver(t, s, p, c, consts, pa, qa, xa):
    """A successful delivery reaches its target: counted, its PRODUCER span (from the publish
    to now, about the target), then the item enters it."""
    j, mid, size, key, group, _a, _sg, _u, first_t, trace, pspan = _pair_of(pa, s)
    xa.tcnt[p, j, C_DELIVERED] += 1
    xa.tcnt[p, j, C_DELIVERED_CHUNKS] += chunks_64kb(size)
    c = (c[0], c[1], Q._release(pa, c[2], s), c[3], c[4], c[5])
    port = xa.tpi[j, TI_PORT]
    sid = P.span_id(trace, pa.g, pa.tri)
    if sid >= 0:
        rkind, ridx = np.int64(K_EXTERNAL), j
        if port >= 0:  # (one of its function, queue and unit)
            rkind, ridx = _what(xa.port_q[port], xa.port_unit[port], xa.port_fn[port])
        P.span_emit(sid, trace, (pspan, P.SK_PRODUCER, rkind, ridx, xa.tpi[j, TI_UNIT], False, np.int64(0),
                                 np.int64(0), np.int64(-1)), first_t, t, pa.g, pa.tri, pa.spi, pa.spf)
    if port < 0:
        return c, Q._offer_none()  # an endpoint outside the account (https, email)
    return _enter(t, port, (mid, size, key, group, trace, sid), p, c, consts, pa, qa, xa)


@jit_handler
def on_dead_letter(t, s, p, c, consts, pa, qa, xa):
    """A pair that failed for good enters its dead-letter queue."""
    j, mid, size, key, group, _a, _sg, _u, _ft, trace, pspan = _pair_of(pa, s)
    c = (c[0], c[1], Q._release(pa, c[2], s), c[3], c[4], c[5])
    return _enter(t, xa.tpi[j, TI_DLQ_PORT], (mid, size, key, group, trace, pspan), p, c, consts, pa, qa, xa)


@jit_handler
def on_publish(t, i, p, c, arr, pa, xa, tr):
    """Arrival i (trace tr) is a publish to unit arr.unit[i]: accepted, or refused by the put quota."""
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    root = pa.tri[tr, P.TR_ROOT] if tr >= 0 else np.int64(-1)
    (heap_n, seq, free_n), ok = _publish(t, arr.unit[i], (arr.id[i], arr.size[i], arr.key[i], arr.gid[i], tr, root),
                                         p, (heap_n, seq, free_n), pa, xa)
    P.entry_answer(t, tr, P.A_OK if ok else P.A_THROTTLED, pa)
    return (heap_n, seq, free_n, rows_n, unres_used, attempts), Q._offer_none()


@jit_handler
def on_start_arrival(t, i, p, c, arr, pa, qa, xa, tr):
    """Arrival i (trace tr) starts an execution of machine SFN_UNIT0 - arr.unit[i] (ACCOUNT_SPEC.md
    §14): a sync client (StartSyncExecution) is answered at its end, an async one at once; a
    refusal (the StartExecution quota) answers A_THROTTLED at once."""
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    m = SFN_UNIT0 - arr.unit[i]
    root = pa.tri[tr, P.TR_ROOT] if tr >= 0 else np.int64(-1)
    c3, x = _wf_start(t, m, (arr.size[i], arr.key[i], tr, root),
                      (np.int64(-1), np.int64(0), np.int64(0), np.int64(0)), p, (heap_n, seq, free_n), pa, qa, xa)
    if x < 0:
        P.entry_answer(t, tr, P.A_THROTTLED, pa)
    else:
        if arr.inv[i] == P.SYNC:
            pa.ei[x, P.E_CLIENT] = 1
        else:
            P.entry_answer(t, tr, P.A_OK, pa)
        c3 = _wf_go(x, xa.wmi[m, WM_START], c3, pa)
    heap_n, seq, free_n = c3
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
    if u <= SFN_UNIT0 and c[2] < e_min + 4:  # a start: its deadline, its first entry
        return EVENTS_FULL, np.int64(-1)
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


# ---- calls (ACCOUNT_SPEC.md §3-§5) ----------------------------------------------------------

K_INVOKING = 16  # the kind of an invocation's record while its handler runs (off the heap)
K_DEADLINE = 17  # a warm invocation's deadline, from its function's deadline list (s: the record)
K_ENDED = -3  # ... once it ended (its slot is free again)
K_EXECUTING = 18  # a Step Functions execution's (or child's) record (ACCOUNT_SPEC.md §14), off the heap
K_WF = 19  # an execution's event: EV_STATUS its op (WF_*); a root's TimeoutSeconds is on its machine's deadline list
# The events that carry a trace (E_TRACE) and keep it open while scheduled (ACCOUNT_SPEC.md
# §7); a deadline does not (TIMEOUT: an invocation's end updates its trace itself).
TRACED = sum(1 << k for k in (K_COMPLETE, K_RETRY, K_PAIR, K_DELIVER, K_DEAD_LETTER, P.K_BEGIN, K_STEP,
                              K_CALL_ARRIVE, K_SDK_RETRY, K_RESPONSE, K_EP_DONE, K_WF))


@jit_handler
def _xdraw(xa, k):
    v = xa.xdraws[k, xa.xcur[k]]
    xa.xcur[k] += 1
    return v


@jit_handler
def _push_ev(t, late, kind, f, ev, c3, pa):
    """Schedule a step event at t; `ev` = (inv, gen, call, attempt, status, size, key, trace,
    span); `late`: after the other events scheduled at t (a deadline). Returns (heap_n, seq, free_n)."""
    heap_n, seq, free_n = c3
    free_n -= 1
    slot = pa.free[free_n]
    _fill_ev(slot, kind, f, ev, pa.ei)
    heap_n = heap_push(pa.hh, heap_n, t, seq + LAST_AT_INSTANT if late else seq, slot)
    return heap_n, seq + 1, free_n


@jit_handler
def _push_now(kind, f, ev, c3, pa):
    """Schedule a step event due now (the time of the event being handled) on the lane."""
    heap_n, seq, free_n = c3
    free_n -= 1
    slot = pa.free[free_n]
    _fill_ev(slot, kind, f, ev, pa.ei)
    P.lane_push(slot, seq, pa.g, pa.ei)
    return heap_n, seq + 1, free_n


@jit_handler
def _fill_ev(slot, kind, f, ev, ei):
    inv, gen, k, att, status, size, key, trace, span = ev
    ei[slot, E_KIND] = kind
    ei[slot, P.E_FN] = f
    ei[slot, EV_INV] = inv
    ei[slot, EV_GEN] = gen
    ei[slot, EV_CALL] = k
    ei[slot, EV_ATT] = att
    ei[slot, EV_STATUS] = status
    ei[slot, EV_SIZE] = size
    ei[slot, EV_KEY] = key
    ei[slot, P.E_TRACE] = trace
    ei[slot, P.E_SPAN] = span


@jit_handler
def _ev_of(pa, s):
    ei = pa.ei
    return (ei[s, EV_INV], ei[s, EV_GEN], ei[s, EV_CALL], ei[s, EV_ATT], ei[s, EV_STATUS], ei[s, EV_SIZE],
            ei[s, EV_KEY], ei[s, P.E_TRACE], ei[s, P.E_SPAN])


@jit_handler
def _respond_at(t, inv, gen, k, att, status, trace, c3, pa, xa):
    """A call's answer reaches its caller at t, now, as an event on the lane (RESPONSE; its
    E_FN the caller's function, from the call, and its trace given: the caller's slot may have
    ended and gone to another event)."""
    return _push_now(K_RESPONSE, xa.cpi[k, CP_F],
                     (inv, gen, k, att, status, np.int64(0), np.int64(0), trace, np.int64(-1)), c3, pa)


@jit_handler
def _next_pos(inv, pos, pa, xa):
    """The first step position >= pos that runs: positions 0..C-1 are the calls at: start,
    C the function's own duration, C+1..2C the calls at: end; 2C+1: the handler is done."""
    f = pa.ei[inv, P.E_FN]
    k0 = xa.cfo[f]
    n = xa.cfo[f + 1] - k0
    runs = pa.ei[inv, P.E_RUNS]
    while pos < 2 * n + 1:
        if pos == n:
            return pos
        j = pos if pos < n else pos - n - 1
        if (runs >> j) & 1 and xa.cpi[k0 + j, CP_AT_END] == (0 if pos < n else 1):
            return pos
        pos += 1
    return pos


@jit_handler
def _current_call(inv, pa, xa):
    f = pa.ei[inv, P.E_FN]
    n = xa.cfo[f + 1] - xa.cfo[f]
    pos = pa.ei[inv, P.E_POS]
    return xa.cfo[f] + (pos if pos < n else pos - n - 1)


@jit_handler
def _advance(inv, pa, xa):
    """The step at the cursor ended: the same call again (count), or the next step."""
    ei = pa.ei
    f = ei[inv, P.E_FN]
    n = xa.cfo[f + 1] - xa.cfo[f]
    pos = ei[inv, P.E_POS]
    if pos != n and ei[inv, P.E_REP] + 1 < xa.cpi[_current_call(inv, pa, xa), CP_COUNT]:
        ei[inv, P.E_REP] += 1
    else:
        ei[inv, P.E_REP] = 0
        ei[inv, P.E_POS] = _next_pos(inv, pos + 1, pa, xa)


@jit_handler
def _call_start(s, inv, k, att, c3, pa, xa):
    """Attempt `att` of call k starts at s (its CLIENT span opens): after the API latency its
    request reaches the target."""
    ei = pa.ei
    xa.cstat[k, CS_ATTEMPTS] += 1
    sid = P.span_id(ei[inv, P.E_TRACE], pa.g, pa.tri)
    ei[inv, P.E_CSPAN] = sid
    ei[inv, P.E_OPEN] = att + 1  # a call is open, at this attempt
    pa.ef[inv, P.EF_CSTART] = s
    nf = xa.cfo.shape[0] - 1
    lat = _xdraw(xa, nf + k) / 1000.0
    size = xa.cpi[k, CP_SIZE] if xa.cpi[k, CP_SIZE] >= 0 else ei[inv, P.E_SIZE]
    if xa.cpi[k, CP_KIND] == K_TABLE or xa.cpi[k, CP_KIND] == K_BUCKET:  # its request carries its latency, µs
        size = np.int64(np.round(lat * 1e6))
    key = ei[inv, P.E_CKEY]  # the class drawn when the call was made, else its fixed one, else the item's
    if key < 0:
        key = xa.cpi[k, CP_KEY] if xa.cpi[k, CP_KEY] >= 0 else ei[inv, P.E_KEY]
    return _push_ev(s + lat, False, K_CALL_ARRIVE, ei[inv, P.E_FN],
                    (inv, ei[inv, P.E_GEN], k, att, np.int64(0), size, key, ei[inv, P.E_TRACE], sid), c3, pa)


@jit_handler
def _client_span(t, inv, k, att, answer, pa, xa):
    """The invocation's open CLIENT span (call k's attempt att) ends at t with `answer` (R_*;
    -1: abandoned, its caller ended)."""
    ei = pa.ei
    sid = ei[inv, P.E_CSPAN]
    if sid < 0:
        return
    ei[inv, P.E_CSPAN] = -1
    kind = xa.cpi[k, CP_KIND]
    P.span_emit(sid, ei[inv, P.E_TRACE], (ei[inv, P.E_SPAN], P.SK_CLIENT, kind, xa.cpi[k, CP_INDEX],
                                          ei[inv, P.E_FN], answer != R_OK, np.int64(0), att, answer),
                pa.ef[inv, P.EF_CSTART], t, pa.g, pa.tri, pa.spi, pa.spf)


@jit_handler
def _run_step(s, inv, p, c, consts, pa, qa, xa):
    """Start the step at the invocation's cursor at s (or end it). Returns (c, offer)."""
    ei = pa.ei
    f = ei[inv, P.E_FN]
    n = xa.cfo[f + 1] - xa.cfo[f]
    pos = ei[inv, P.E_POS]
    if pos > 2 * n:
        return _finish(s, inv, P.O_ERROR if ei[inv, P.E_OWN_ERR] != 0 else P.O_OK, p, c, consts, pa, qa, xa)
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    if pos == n:
        heap_n, seq, free_n = _push_ev(s + pa.ef[inv, P.EF_D_MS] / 1000.0, False, K_STEP, f,
                                       (inv, ei[inv, P.E_GEN], np.int64(-1), np.int64(0), np.int64(0), np.int64(0),
                                        np.int64(0), ei[inv, P.E_TRACE], np.int64(-1)), (heap_n, seq, free_n), pa)
    else:
        k = _current_call(inv, pa, xa)
        xa.cstat[k, CS_MADE] += 1
        ei[inv, P.E_OPEN] = 1
        c0, c1 = xa.cpi[k, CP_CDF0], xa.cpi[k, CP_CDF1]
        ckey = np.int64(-1)
        if c1 > c0:  # its own classes: one CALL draw per call made
            u = _xdraw(xa, f)
            j = c0
            while j < c1 - 1 and xa.ccdf[j] <= u:
                j += 1
            ckey = xa.cpi[k, CP_KEY] + (j - c0)
        ei[inv, P.E_CKEY] = ckey
        heap_n, seq, free_n = _call_start(s, inv, k, np.int64(0), (heap_n, seq, free_n), pa, xa)
    return (heap_n, seq, free_n, rows_n, unres_used, attempts), Q._offer_none()


@jit_handler
def _deadline_link(inv, f, dt, dseq, heap_n, pa, qa, xa):
    """Warm invocation `inv` joins f's deadline list at its tail (deadline dt, counter dseq);
    the list's heap entry goes in if it has none. Returns heap_n."""
    ei, dl = pa.ei, xa.dl
    pa.ef[inv, P.EF_DT] = dt
    ei[inv, P.E_DSEQ] = dseq
    tail = dl[f, DL_TAIL]
    ei[inv, P.E_DPREV] = tail
    ei[inv, P.E_DNEXT] = -1
    if tail >= 0:
        ei[tail, P.E_DNEXT] = inv
    else:
        dl[f, DL_HEAD] = inv
    dl[f, DL_TAIL] = inv
    if dl[f, DL_IN_HEAP] == 0:  # (the list was empty: inv is its head)
        heap_n = _deadline_requeue(f, heap_n, pa, qa, xa)
    return heap_n


@jit_handler
def _deadline_requeue(f, heap_n, pa, qa, xa):
    """f's deadline list gets its heap entry for its head (at the head's own time and
    counter), or none when the list is empty. Returns heap_n."""
    dl = xa.dl
    head = dl[f, DL_HEAD]
    if head < 0:
        dl[f, DL_IN_HEAP] = 0
        return heap_n
    dl[f, DL_IN_HEAP] = 1
    return heap_push(pa.hh, heap_n, pa.ef[head, P.EF_DT], pa.ei[head, P.E_DSEQ], -1 - (qa.tl.shape[0] + f))


@jit_handler
def _deadline_unlink(inv, f, ei, dl):
    prev, nxt = ei[inv, P.E_DPREV], ei[inv, P.E_DNEXT]
    if prev >= 0:
        ei[prev, P.E_DNEXT] = nxt
    else:
        dl[f, DL_HEAD] = nxt
    if nxt >= 0:
        ei[nxt, P.E_DPREV] = prev
    else:
        dl[f, DL_TAIL] = prev
    ei[inv, P.E_DSEQ] = -1


@jit_handler
def _finish(t, inv, outcome, p, c, consts, pa, qa, xa):
    """The invocation ends at t (its last step, a call that failed for good, or its deadline):
    its row and metrics, its environment freed (the pool's completion, a mapping's batch),
    its sync caller answered, an async error retried or dropped. Returns (c, offer)."""
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    t_end, _unres_cap, _e_min = consts
    ei, ef, pmi, pmf, ft = pa.ei, pa.ef, pa.pmi, pa.pmf, pa.ft
    f = ei[inv, P.E_FN]
    trace = ei[inv, P.E_TRACE]
    pspan = ei[inv, P.E_PSPAN]
    if trace >= 0:
        pa.trf[trace, P.TRF_LAST] = t  # the invocation (an item of its trace) ends
    if ei[inv, P.E_DSEQ] >= 0:  # off its function's deadline list (the list's heap entry stays)
        _deadline_unlink(inv, f, ei, xa.dl)
    if ei[inv, P.E_CLIENT] != 0:
        P.entry_answer(t, trace, P.A_FAILED if outcome != P.O_OK else P.A_OK, pa)
    if ei[inv, P.E_OPEN] != 0:  # a call still waited: abandoned (its callee runs on)
        k = _current_call(inv, pa, xa)
        xa.cstat[k, CS_ABANDONED] += 1
        _client_span(t, inv, k, ei[inv, P.E_OPEN] - 1, np.int64(-1), pa, xa)
        ei[inv, P.E_OPEN] = 0
    P.span_emit(ei[inv, P.E_SPAN], trace, (ei[inv, P.E_PSPAN], P.SK_SERVER, np.int64(K_FUNCTION), f, np.int64(-1),
                                           outcome != P.O_OK, ei[inv, P.E_COLD], ei[inv, P.E_ATTEMPT],
                                           np.int64(-1)), ef[inv, P.EF_T], t, pa.g, pa.tri, pa.spi, pa.spf)
    ei[inv, P.E_GEN] += 1
    t0 = ef[inv, P.EF_T]
    init = ef[inv, P.EF_INIT_MS]
    lat = (t - t0) * 1000.0
    error = outcome != P.O_OK
    on_pc = ei[inv, P.E_ON_PC]
    cold = ei[inv, P.E_COLD]
    P.end_metrics(p, f, error, outcome == P.O_TIMEOUT, on_pc, lat - init, lat, init, cold,
                  billed_ms(lat - BILLED_EPS_MS), pmi, pmf, pa.phist, pa.hlat, pa.hinit, ft)
    ft[f, P.T_BUSY_S] += min(t, t_end) - t0
    rid = ei[inv, P.E_RID]
    attempt = ei[inv, P.E_ATTEMPT]
    first_t = ef[inv, E_FIRST_T]
    rows_n = P._row(pa.ri, pa.rf, pa.g, rows_n, rid, attempt, f, outcome, cold, on_pc, t0, lat, init, first_t)
    # what the completion frees and answers, read before the slot goes back
    caller = ei[inv, P.E_CALLER]
    cgen, ccall, catt = ei[inv, P.E_CGEN], ei[inv, P.E_CCALL], ei[inv, P.E_CATT]
    rinv = ei[inv, P.E_RINV]
    req = (rid, ei[inv, P.E_SRC], rinv, attempt, ei[inv, P.E_ERR_R], ei[inv, P.E_THR_R], first_t, ef[inv, E_DOVER],
           ei[inv, P.E_UNITS], ei[inv, P.E_SIZE], ei[inv, P.E_KEY])
    if ei[inv, Q.EQ_CONSUMER] >= 0:
        ei[inv, Q.EQ_BATCH_ERR] = 1 if error else 0
    ei[inv, E_KIND] = K_ENDED
    c, o = Q.on_complete(t, inv, f, p, (heap_n, seq, free_n, rows_n, unres_used, attempts), pa, qa)
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    if caller >= 0:
        heap_n, seq, free_n = _respond_at(t, caller, cgen, ccall, catt, R_FUNCTION_ERROR if error else R_OK, trace,
                                          (heap_n, seq, free_n), pa, xa)
    if rinv == P.ASYNC and error:
        # the pool's async error handling, decided at the end (POOL_SPEC.md): retry 60 s, then
        # 120 s after it, within the maximum event age, else a drop (to the on-failure queue)
        _rid, src, inv_, att, err_r, thr_r, first_t, dover, units, size, key = req
        dropped = False
        if err_r < pa.fpi[f, P.P_ASYNC_RETRIES]:
            rt = t + P.ASYNC_ERROR_RETRY_STEP_S * (err_r + 1)
            if rt - first_t > pa.fpf[f, P.P_ASYNC_AGE_S]:
                dropped = True
            else:
                heap_n, seq, free_n = P._push_retry(rt, f, rid, src, inv_, att + 1, err_r + 1, thr_r, first_t, dover,
                                                    units, size, key, trace, pspan, ei, ef, pa.free,
                                                    pa.hh, heap_n, seq, free_n)
        else:
            dropped = True
        if dropped:
            pmi[p, f, P.M_ASYNC_DROPPED] += 1
            q = pa.fpi[f, P.P_ON_FAIL_Q]
            if q >= 0:
                k = qa.gq[Q.GQ_FAIL_SENDS]
                qa.gq[Q.GQ_FAIL_SENDS] = k + 1
                heap_n, seq, free_n, offer = Q._send_msg((-1 - k, q, size, 0, t, p, key, trace, pspan),
                                                         (heap_n, seq, free_n), pa, qa)
                c = (heap_n, seq, free_n, rows_n, unres_used, attempts)
                return c, (Q._offer_queue(q) if offer else Q._offer_none())
    return (heap_n, seq, free_n, rows_n, unres_used, attempts), o


@jit_handler
def on_begin(t, inv, p, c, consts, pa, qa, xa):
    """BEGIN: an invocation with calls starts its handler (its environment taken at t, its
    cold start done at h0): which calls run this time (one CALL draw per call with probability
    < 1, in list order), its deadline, then its first step."""
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    ei, ef = pa.ei, pa.ef
    f = ei[inv, P.E_FN]
    k0 = xa.cfo[f]
    runs = np.int64(0)
    for j in range(xa.cfo[f + 1] - k0):
        pr = xa.cpf[k0 + j, CPF_PROB]
        if pr >= 1.0 or _xdraw(xa, f) < pr:
            runs |= np.int64(1) << j
    ei[inv, E_KIND] = K_INVOKING
    ei[inv, P.E_SPAN] = P.span_id(ei[inv, P.E_TRACE], pa.g, pa.tri)  # its SERVER span, written at its end
    ei[inv, P.E_CSPAN] = -1
    ei[inv, P.E_RUNS] = runs
    ei[inv, P.E_OPEN] = 0
    ei[inv, P.E_REP] = 0
    h0 = ef[inv, P.EF_T] + ef[inv, P.EF_INIT_MS] / 1000.0
    ef[inv, P.EF_H0] = h0
    # its deadline (the counter it takes, after the other events at its time): a warm start's
    # onto f's deadline list, a cold start's as an event of its own
    dt = h0 + pa.fpf[f, P.P_TIMEOUT_MS] / 1000.0
    if ef[inv, P.EF_INIT_MS] != 0.0:
        ei[inv, P.E_DSEQ] = -1
        heap_n, seq, free_n = _push_ev(dt, True, K_TIMEOUT, f,
                                       (inv, ei[inv, P.E_GEN], np.int64(-1), np.int64(0), np.int64(0), np.int64(0),
                                        np.int64(0), np.int64(-1), np.int64(-1)), (heap_n, seq, free_n), pa)
    else:
        heap_n = _deadline_link(inv, f, dt, seq + LAST_AT_INSTANT, heap_n, pa, qa, xa)
        seq += 1
    ei[inv, P.E_POS] = _next_pos(inv, np.int64(0), pa, xa)
    return _run_step(h0, inv, p, (heap_n, seq, free_n, rows_n, unres_used, attempts), consts, pa, qa, xa)


@jit_handler
def _live(pa, inv, gen):
    return pa.ei[inv, E_KIND] == K_INVOKING and pa.ei[inv, P.E_GEN] == gen


@jit_handler
def on_step(t, s, p, c, consts, pa, qa, xa):
    """The function's own duration ended: the next step."""
    inv, gen, _k, _a, _st, _sz, _ky, _tr, _sp = _ev_of(pa, s)
    c = (c[0], c[1], Q._release(pa, c[2], s), c[3], c[4], c[5])
    if not _live(pa, inv, gen):
        return c, Q._offer_none()
    _advance(inv, pa, xa)
    return _run_step(t, inv, p, c, consts, pa, qa, xa)


@jit_handler
def on_timeout(t, s, p, c, consts, pa, qa, xa):
    """A cold start's deadline (h0 + timeout_s), unless it ended before."""
    inv, gen, _k, _a, _st, _sz, _ky, _tr, _sp = _ev_of(pa, s)
    c = (c[0], c[1], Q._release(pa, c[2], s), c[3], c[4], c[5])
    if not _live(pa, inv, gen):
        return c, Q._offer_none()
    return _finish(t, inv, P.O_TIMEOUT, p, c, consts, pa, qa, xa)


@jit_handler
def on_deadline(t, inv, p, c, consts, pa, qa, xa):
    """DEADLINE: the deadline (h0 + timeout_s) of warm invocation `inv` (or an execution's
    TimeoutSeconds), the head of its function's (machine's) deadline list, whose heap entry was
    just taken: the next head's entry goes in, then the end."""
    f = pa.ei[inv, P.E_FN]
    _deadline_unlink(inv, f, pa.ei, xa.dl)
    c = (_deadline_requeue(f, c[0], pa, qa, xa), c[1], c[2], c[3], c[4], c[5])
    if pa.ei[inv, E_KIND] == K_EXECUTING:
        heap_n, seq, free_n = _wf_end(t, inv, OUT_TIMED_OUT, np.int64(ERR_TIMEOUT), p, (c[0], c[1], c[2]), pa, xa)
        return (heap_n, seq, free_n, c[3], c[4], c[5]), Q._offer_none()
    return _finish(t, inv, P.O_TIMEOUT, p, c, consts, pa, qa, xa)


@jit_handler
def on_sdk_retry(t, s, c, pa, xa):
    """An SDK retry of a call starts (unless its caller ended meanwhile)."""
    inv, gen, k, att, _st, _sz, _ky, _tr, _sp = _ev_of(pa, s)
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    free_n = Q._release(pa, free_n, s)
    if _live(pa, inv, gen):
        xa.cstat[k, CS_RETRIES] += 1  # counted when it starts: attempts = made + retries
        heap_n, seq, free_n = _call_start(t, inv, k, att, (heap_n, seq, free_n), pa, xa)
    return (heap_n, seq, free_n, rows_n, unres_used, attempts), Q._offer_none()


@jit_handler
def on_response(t, s, p, c, consts, pa, qa, xa):
    """A call's answer reaches its caller: the next step, an SDK retry, or the call failed for
    good (the invocation fails, or goes on with on_error: continue). Late answers (the caller
    ended) change nothing."""
    inv, gen, k, att, status, _sz, _ky, trace, _sp = _ev_of(pa, s)
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    free_n = Q._release(pa, free_n, s)
    c = (heap_n, seq, free_n, rows_n, unres_used, attempts)
    if pa.ei[inv, E_KIND] == K_EXECUTING:  # a Task's answer (ACCOUNT_SPEC.md §14)
        heap_n, seq, free_n = _wf_response(t, inv, gen, k, att, status, p, (heap_n, seq, free_n), pa, xa)
        return (heap_n, seq, free_n, rows_n, unres_used, attempts), Q._offer_none()
    if not _live(pa, inv, gen):
        return c, Q._offer_none()
    _client_span(t, inv, k, att, status, pa, xa)
    if status == R_OK:
        xa.cstat[k, CS_OK] += 1
        pa.ei[inv, P.E_OPEN] = 0
        _advance(inv, pa, xa)
        return _run_step(t, inv, p, c, consts, pa, qa, xa)
    if status >= R_THROTTLED and att + 1 < xa.cpi[k, CP_MAX_ATT]:
        f = pa.ei[inv, P.E_FN]
        delay = _xdraw(xa, f) * min(SDK_BACKOFF_BASE ** att, SDK_BACKOFF_CAP_S)
        heap_n, seq, free_n = _push_ev(t + delay, False, K_SDK_RETRY, f,
                                       (inv, gen, k, att + 1, np.int64(0), np.int64(0), np.int64(0), trace,
                                        np.int64(-1)), (heap_n, seq, free_n), pa)
        return (heap_n, seq, free_n, rows_n, unres_used, attempts), Q._offer_none()
    xa.cstat[k, CS_FAILED] += 1
    pa.ei[inv, P.E_OPEN] = 0
    if xa.cpi[k, CP_CONTINUE] != 0:
        _advance(inv, pa, xa)
        return _run_step(t, inv, p, c, consts, pa, qa, xa)
    return _finish(t, inv, P.O_ERROR, p, c, consts, pa, qa, xa)


@jit_handler
def _endpoint_request(t, e, ev, c3, pa, xa):
    """A request reaches endpoint e: outage (503), concurrency or rate limit (429) at once,
    else its latency, then ok or a 5xx (ACCOUNT_SPEC.md §4)."""
    inv, gen, k, att, _st, _sz, _ky, trace, _sp = ev
    estat = xa.estat
    estat[e, EC_REQUESTS] += 1
    cur = xa.ecur[e]
    end = xa.epi[e, EPI_OUT_OFF] + xa.epi[e, EPI_OUT_N]
    while cur < end and xa.eout_e[cur] <= t:
        cur += 1
    xa.ecur[e] = cur
    if cur < end and xa.eout_s[cur] <= t:
        estat[e, EC_OUTAGE] += 1
        return _respond_at(t, inv, gen, k, att, R_UNAVAILABLE, trace, c3, pa, xa)
    mc = xa.epi[e, EPI_MAX_CONC]
    if mc >= 0 and xa.ebusy[e] >= mc:
        estat[e, EC_THROTTLED] += 1
        return _respond_at(t, inv, gen, k, att, R_THROTTLED, trace, c3, pa, xa)
    rate = xa.epf[e, EPF_RATE]
    if rate < np.inf:
        tok = min(xa.epf[e, EPF_BURST], xa.eps[e, ES_TOKENS] + rate * (t - xa.eps[e, ES_LAST]))
        xa.eps[e, ES_LAST] = t
        if tok < 1.0:
            xa.eps[e, ES_TOKENS] = tok
            estat[e, EC_THROTTLED] += 1
            return _respond_at(t, inv, gen, k, att, R_THROTTLED, trace, c3, pa, xa)
        xa.eps[e, ES_TOKENS] = tok - 1.0
    xa.ebusy[e] += 1
    base = xa.cfo.shape[0] - 1 + xa.cpi.shape[0] + 2 * e
    lat = _xdraw(xa, base) / 1000.0
    err = xa.epf[e, EPF_ERROR] > 0.0 and _xdraw(xa, base + 1) < xa.epf[e, EPF_ERROR]
    slot_f = xa.cpi[k, CP_F]
    heap_n, seq, free_n = _push_ev(t + lat, False, K_EP_DONE, slot_f,
                                   (inv, gen, k, att, np.int64(1 if err else 0), np.int64(e), np.int64(0), trace,
                                    np.int64(-1)), c3, pa)
    return heap_n, seq, free_n


@jit_handler
def on_endpoint_done(t, s, c, pa, xa):
    """An endpoint answers (EV_STATUS: 1 for a 5xx; EV_SIZE: the endpoint)."""
    inv, gen, k, att, err, e, _ky, trace, _sp = _ev_of(pa, s)
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    free_n = Q._release(pa, free_n, s)
    xa.ebusy[e] -= 1
    xa.estat[e, EC_ERRORS if err != 0 else EC_OK] += 1
    heap_n, seq, free_n = _respond_at(t, inv, gen, k, att, R_SERVER_ERROR if err != 0 else R_OK, trace,
                                      (heap_n, seq, free_n), pa, xa)
    return (heap_n, seq, free_n, rows_n, unres_used, attempts), Q._offer_none()


@jit_handler
def on_call_arrive(t, s, p, c, consts, pa, qa, xa):
    """A call's request reaches its target (even if its caller ended meanwhile: it was sent):
    a sync attempt of a function (answered at its completion, or throttled at once), an async
    one, a SendMessage, a Publish / PutEvents, an endpoint's request, or an egress entry's
    flow record."""
    ev = _ev_of(pa, s)
    inv, gen, k, att, _st, size, key, trace, span = ev
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    free_n = Q._release(pa, free_n, s)
    kind = xa.cpi[k, CP_KIND]
    idx = xa.cpi[k, CP_INDEX]
    if kind == K_ENDPOINT:
        heap_n, seq, free_n = _endpoint_request(t, idx, ev, (heap_n, seq, free_n), pa, xa)
        return (heap_n, seq, free_n, rows_n, unres_used, attempts), Q._offer_none()
    if kind == K_TABLE:  # served or throttled at once (ACCOUNT_SPEC.md §11)
        row = xa.cpi[k, CP_TROW]
        half = _xdraw(xa, row)
        h = _xdraw(xa, row + 1)
        ok = TB.table_request(t, idx, p, half, h, xa.cpi[k, CP_DIR], size, xa.tbi, xa.tbf, xa.tpart, xa.tring,
                              xa.tper)
        o = Q._offer_none()
        q = xa.tbi[idx, TB.TBI_STREAM_Q]
        if ok and q >= 0 and xa.cpi[k, CP_DIR] == TB.WRITE:  # its stream record: into the stream's queue
            port = xa.tbi[idx, TB.TBI_STREAM_PORT]
            rid = (port << ID_SEQ_BITS) | xa.port_seq[port]
            xa.port_seq[port] += 1
            heap_n, seq, free_n, offer = Q._send_msg(
                (rid, q, np.int64(half * STREAM_BYTES_PER_HALF_UNIT), np.int64(0), t, p, key, trace, span),
                (heap_n, seq, free_n), pa, qa)
            if offer:
                o = Q._offer_queue(q)
        heap_n, seq, free_n = _respond_at(t, inv, gen, k, att, R_OK if ok else R_THROTTLED, trace,
                                          (heap_n, seq, free_n), pa, xa)
        return (heap_n, seq, free_n, rows_n, unres_used, attempts), o
    if kind == K_BUCKET:  # served, or 503 Slow Down, at once (ACCOUNT_SPEC.md §13)
        row = xa.cpi[k, CP_TROW]
        nbytes = np.int64(_xdraw(xa, row))
        prefix = np.int64(_xdraw(xa, row + 1))
        op = xa.cpi[k, CP_DIR]
        transfer = nbytes / xa.bkf[idx, BKF_BYTES_PER_S]
        ok = BK.bucket_request(t, idx, p, op, xa.bki[idx, BKI_ROW0] + prefix, nbytes, size,
                               np.int64(np.round(transfer * 1e6)), xa.ptok, xa.plast, xa.pparts, xa.pslow, xa.bper)
        c3 = (heap_n, seq, free_n)
        u = xa.bki[idx, BKI_UNIT]
        if ok and u >= 0 and (op == BK.PUT or op == BK.COPY or op == BK.POST):  # ObjectCreated: its notification
            port = xa.bki[idx, BKI_PORT]
            rid = (port << ID_SEQ_BITS) | xa.port_seq[port]
            xa.port_seq[port] += 1
            c3, _acc = _publish(t, u, (rid, np.int64(NOTIFICATION_BYTES), key, np.int64(-1), trace, span), p, c3,
                                pa, xa)
        if ok and transfer > 0.0:  # the body moves after the first byte: the answer comes then
            heap_n, seq, free_n = _push_ev(t + transfer, False, K_RESPONSE, xa.cpi[k, CP_F],
                                           (inv, gen, k, att, np.int64(R_OK), np.int64(0), np.int64(0), trace,
                                            np.int64(-1)), c3, pa)
        else:
            heap_n, seq, free_n = _respond_at(t, inv, gen, k, att, R_OK if ok else R_UNAVAILABLE, trace, c3, pa, xa)
        return (heap_n, seq, free_n, rows_n, unres_used, attempts), Q._offer_none()
    if kind == K_SFN:  # StartExecution / StartSyncExecution (ACCOUNT_SPEC.md §14 "Start")
        sync = xa.cpi[k, CP_SYNC] != 0
        caller = (inv, gen, k, att) if sync else (np.int64(-1), np.int64(0), np.int64(0), np.int64(0))
        c3, x = _wf_start(t, idx, (size, key, trace, span), caller, p, (heap_n, seq, free_n), pa, qa, xa)
        if x < 0 or not sync:
            c3 = _respond_at(t, inv, gen, k, att, R_OK if x >= 0 else R_THROTTLED, trace, c3, pa, xa)
        if x >= 0:
            c3 = _wf_go(x, xa.wmi[idx, WM_START], c3, pa)
        heap_n, seq, free_n = c3
        return (heap_n, seq, free_n, rows_n, unres_used, attempts), Q._offer_none()
    if kind == K_FLOW:  # an egress entry: its flow record (room checked by _xroom), answered at once
        n = xa.flw_n[0]
        xa.flw_t[n] = t
        xa.flw_k[n] = k
        xa.flw_n[0] = n + 1
        heap_n, seq, free_n = _respond_at(t, inv, gen, k, att, R_OK, trace, (heap_n, seq, free_n), pa, xa)
        return (heap_n, seq, free_n, rows_n, unres_used, attempts), Q._offer_none()
    port = xa.cpi[k, CP_PORT]
    rid = (port << ID_SEQ_BITS) | xa.port_seq[port]
    xa.port_seq[port] += 1
    if kind == K_FUNCTION and xa.cpi[k, CP_SYNC] != 0:
        t_end, unres_cap, _e_min = consts
        attempts += 1
        heap_n, seq, free_n, rows_n, unres_used, ce, _err, _d = P.pool_attempt(
            (t, idx, rid, np.int64(-1), np.int64(P.SYNC), 0, 0, 0, t, np.nan, lambda_request_units(size, P.SYNC),
             size, False, p, t_end, key, trace, span),
            (heap_n, seq, free_n, rows_n, unres_used, unres_cap),
            pa.fpi, pa.fpf, pa.fs, pa.ft, pa.bk, pa.si, pa.sf, pa.g, pa.ei, pa.ef, pa.free, pa.hh,
            pa.stack_birth, pa.stack_expire, pa.draws, pa.cur, pa.pmi, pa.pmf, pa.phist, pa.hlat, pa.hinit,
            pa.ri, pa.rf)
        if ce >= 0:
            ei = pa.ei
            ei[ce, Q.EQ_CONSUMER] = -1
            ei[ce, P.E_OWN_ERR] = 1 if _err else 0  # what its completion answers
            ei[ce, P.E_CALLER] = inv
            ei[ce, P.E_CGEN] = gen
            ei[ce, P.E_CCALL] = k
            ei[ce, P.E_CATT] = att
        else:
            heap_n, seq, free_n = _respond_at(t, inv, gen, k, att, R_THROTTLED, trace, (heap_n, seq, free_n), pa, xa)
        return (heap_n, seq, free_n, rows_n, unres_used, attempts), Q._offer_none()
    c = (heap_n, seq, free_n, rows_n, unres_used, attempts)
    status = R_OK
    if kind == K_FUNCTION:
        req = (rid, port, np.int64(P.ASYNC), np.int64(0), np.int64(0), np.int64(0), t, np.nan,
               lambda_request_units(size, P.ASYNC), size, key, trace, span)
        c, o = Q._function_attempt(t, idx, req, p, c, consts, pa, qa)
    elif kind == K_QUEUE:
        heap_n, seq, free_n, offer = Q._send_msg((rid, idx, size, 0, t, p, key, trace, span), (heap_n, seq, free_n),
                                                 pa, qa)
        c = (heap_n, seq, free_n, rows_n, unres_used, attempts)
        o = Q._offer_queue(idx) if offer else Q._offer_none()
    else:
        (heap_n, seq, free_n), ok = _publish(t, idx, (rid, size, key, np.int64(-1), trace, span), p,
                                             (heap_n, seq, free_n), pa, xa)
        c = (heap_n, seq, free_n, rows_n, unres_used, attempts)
        o = Q._offer_none()
        if not ok:
            status = R_THROTTLED
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    heap_n, seq, free_n = _respond_at(t, inv, gen, k, att, status, trace, (heap_n, seq, free_n), pa, xa)
    return (heap_n, seq, free_n, rows_n, unres_used, attempts), o


@jit_handler
def on_complete_any(t, s, f, p, c, pa, qa, xa):
    """A completion of an invocation without calls: the pool's and the mapping's, then the sync
    caller's answer if a call made it."""
    ei = pa.ei
    P.server_span(t, s, f, pa)
    if ei[s, P.E_CLIENT] != 0:  # a synchronous traffic client's answer
        P.entry_answer(t, ei[s, P.E_TRACE], P.A_FAILED if ei[s, P.E_OWN_ERR] != 0 else P.A_OK, pa)
    caller = ei[s, P.E_CALLER]
    cgen, ccall, catt = ei[s, P.E_CGEN], ei[s, P.E_CCALL], ei[s, P.E_CATT]
    status = R_FUNCTION_ERROR if ei[s, P.E_OWN_ERR] != 0 else R_OK
    trace = ei[s, P.E_TRACE]
    c, o = Q.on_complete(t, s, f, p, c, pa, qa)
    if caller < 0:
        return c, o
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    heap_n, seq, free_n = _respond_at(t, caller, cgen, ccall, catt, status, trace, (heap_n, seq, free_n), pa, xa)
    return (heap_n, seq, free_n, rows_n, unres_used, attempts), o


# ---- Step Functions executions (ACCOUNT_SPEC.md §14) ------------------------------------------
# An execution's record (an event slot off the heap, as an invocation's): these columns of `ei`.
X_M = P.E_SRC  # its machine
X_STATE = P.E_POS  # the state row it is in
X_EPOCH = P.E_REP  # state entries so far: a timer scheduled in another entry is stale
X_RCOUNT = P.E_RUNS  # the current state's retriers' counts (RETRY_COUNT_BITS each)
X_PEND = P.E_UNITS  # children running (Parallel, Map)
X_ITEM = P.E_INV  # Map: the next item to start
X_NITEMS = P.E_ERR_R  # Map: its items
X_NFAIL = P.E_THR_R  # Map: iterations failed
X_ROOT = P.E_RINV  # 1: an execution; 0: a Parallel branch or a Map iteration (its parent: E_CALLER)
X_TRY = P.E_COLD  # attempts of the current state since its entry
X_COPEN = P.E_ON_PC  # 1: its Task's call is made and not yet ok, failed or abandoned (retries, callbacks)
# An attempt's number (E_OPEN - 1, a call's `att`): its entry's epoch and its try since the entry,
# unique within the record; its CLIENT span shows the try.
ATT_TRY_BITS = 20
ATT_TRY_MASK = (1 << ATT_TRY_BITS) - 1
# Machine parameters `wmi[m]`, `wmf[m]`.
WM_EXPRESS, WM_START, WM_NSTATES, WM_MEM_MB, WM_ROW0, WM_FORK, WM_K0, WM_K1 = range(8)
N_WM = 8
WMF_TIMEOUT_S = 0
N_WMF = 1
# State parameters `wsi[st]`, `wsf[st]` (rows of every machine, flattened; targets are global rows).
WS_OP, WS_NEXT, WS_M, WS_CALL, WS_CB, WS_R0, WS_R1, WS_C0, WS_C1, WS_B0, WS_B1, WS_PROC, WS_MAXC, WS_ROW, \
    WS_TOL_N = range(15)
N_WS = 15
WSF_WAIT_S, WSF_TIMEOUT_S, WSF_CB_FAIL, WSF_TOL_SHARE = range(4)
N_WSF = 4
WR_MASK, WR_MAX, WR_FULL = range(3)
N_WR = 3
WRF_INTERVAL, WRF_BACKOFF, WRF_MAX_DELAY = range(3)
N_WRF = 3
WC_MASK, WC_NEXT = range(2)
N_WC = 2
# A traffic arrival at a state machine's port: its `unit` is SFN_UNIT0 - m.
SFN_UNIT0 = -16
OUT_OK, OUT_FAILED, OUT_TIMED_OUT = 0, 1, 2


@jit_handler
def _wf_tokens(t, row, xa):
    """Bucket `row` of `wq` refilled to t; its tokens (none taken)."""
    wq = xa.wq
    tok = wq[row, WQ_TOKENS]
    rate = wq[row, WQ_RATE]
    if rate < np.inf:
        tok = min(wq[row, WQ_BURST], tok + rate * (t - wq[row, WQ_LAST]))
    wq[row, WQ_LAST] = t
    wq[row, WQ_TOKENS] = tok
    return tok


@jit_handler
def _wf_transition(t, x, p, pa, xa):
    """A state transition of execution x at t: counted; a Standard machine's takes a
    StateTransition token, which may be owed. Returns how long it waits (0: none)."""
    m = pa.ei[x, X_M]
    xa.wcnt[p, m, W_TRANSITIONS] += 1
    if xa.wmi[m, WM_EXPRESS] != 0:
        return 0.0
    tok = _wf_tokens(t, WQ_TRANSITION, xa) - 1.0
    xa.wq[WQ_TRANSITION, WQ_TOKENS] = tok
    if tok >= 0.0:
        return 0.0
    xa.wcnt[p, m, W_TRANS_DELAYED] += 1
    return -tok / xa.wq[WQ_TRANSITION, WQ_RATE]


@jit_handler
def _wf_record(x, m, root, req, caller, pa):
    """Slot x becomes an execution's (root 1) or a child's (root 0) record of machine m:
    req = (size, key, trace, parent span, its own span); caller = (slot, generation, call, attempt)."""
    size, key, trace, pspan, span = req
    ei = pa.ei
    ei[x, E_KIND] = K_EXECUTING
    ei[x, P.E_FN] = pa.fpi.shape[0] + m
    ei[x, P.E_ID] = -1
    ei[x, X_M] = m
    ei[x, X_STATE] = -1
    ei[x, X_EPOCH] = 0
    ei[x, X_RCOUNT] = 0
    ei[x, X_PEND] = 0
    ei[x, X_ITEM] = 0
    ei[x, X_NITEMS] = 0
    ei[x, X_NFAIL] = 0
    ei[x, X_ROOT] = root
    ei[x, X_TRY] = 0
    ei[x, X_COPEN] = 0
    ei[x, P.E_CALLER], ei[x, P.E_CGEN], ei[x, P.E_CCALL], ei[x, P.E_CATT] = caller
    ei[x, P.E_TRACE] = trace
    ei[x, P.E_PSPAN] = pspan
    ei[x, P.E_SPAN] = span
    ei[x, P.E_CSPAN] = -1
    ei[x, P.E_OPEN] = 0
    ei[x, P.E_KEY] = key
    ei[x, P.E_SIZE] = size
    ei[x, P.E_CKEY] = -1
    ei[x, P.E_OWN_ERR] = 0
    ei[x, P.E_CLIENT] = 0
    ei[x, P.E_DSEQ] = -1


@jit_handler
def _wf_ev(x, k, op, mask, pa):
    """A K_WF event's columns for record x: (x, generation, k, epoch, op, mask, 0, trace, -1)."""
    ei = pa.ei
    return (x, ei[x, P.E_GEN], np.int64(k), ei[x, X_EPOCH], np.int64(op), np.int64(mask), np.int64(0),
            ei[x, P.E_TRACE], np.int64(-1))


@jit_handler
def _wf_start(t, m, req, caller, p, c3, pa, qa, xa):
    """A start request of machine m at t (ACCOUNT_SPEC.md §14 "Start"): req = (size, key, trace,
    parent span); caller = a sync caller's (slot, generation, call, attempt), slot -1: none.
    Returns (c3, the record or -1 when refused). Its first state's entry is the caller's to
    schedule (`_wf_go`), after the caller's answer."""
    row = WQ_START_EXPRESS if xa.wmi[m, WM_EXPRESS] != 0 else WQ_START_STANDARD
    tok = _wf_tokens(t, row, xa)
    if tok < 1.0:
        xa.wcnt[p, m, W_THROTTLED] += 1
        return c3, np.int64(-1)
    xa.wq[row, WQ_TOKENS] = tok - 1.0
    xa.wcnt[p, m, W_STARTED] += 1
    heap_n, seq, free_n = c3
    free_n -= 1
    x = pa.free[free_n]
    size, key, trace, pspan = req
    _wf_record(x, m, np.int64(1), (size, key, trace, pspan, P.span_id(trace, pa.g, pa.tri)), caller, pa)
    pa.ef[x, P.EF_T] = t
    timeout = xa.wmf[m, WMF_TIMEOUT_S]
    if timeout < np.inf:  # onto its machine's deadline list (its deadlines come in start order), as a
        # warm invocation's: the one a heap entry per execution would fire, at its place in the order
        heap_n = _deadline_link(x, pa.ei[x, P.E_FN], t + timeout, seq + LAST_AT_INSTANT, heap_n, pa, qa, xa)
        seq += 1
    return (heap_n, seq, free_n), x


@jit_handler
def _wf_go(x, row, c3, pa):
    """Record x's entry into state row `row`, due now (a K_WF event, op ENTER)."""
    return _push_now(K_WF, pa.ei[x, P.E_FN], _wf_ev(x, row, WF_ENTER, 0, pa), c3, pa)


@jit_handler
def _wf_child(t, x, row, c3, pa, xa):
    """A child of record x (a Parallel branch or a Map iteration) starting at state row `row`,
    at t, for x's open attempt; its entry is scheduled now."""
    heap_n, seq, free_n = c3
    free_n -= 1
    y = pa.free[free_n]
    ei = pa.ei
    _wf_record(y, ei[x, X_M], np.int64(0), (ei[x, P.E_SIZE], ei[x, P.E_KEY], ei[x, P.E_TRACE], ei[x, P.E_SPAN],
                                            ei[x, P.E_SPAN]),
               (x, ei[x, P.E_GEN], np.int64(-1), ei[x, P.E_OPEN] - 1), pa)
    pa.ef[y, P.EF_T] = t
    ei[x, X_PEND] += 1
    return _wf_go(y, row, (heap_n, seq, free_n), pa)


@jit_handler
def _wf_parent_live(x, pa):
    """A child's parent still waits for the attempt it belongs to."""
    ei = pa.ei
    q = ei[x, P.E_CALLER]
    return (ei[q, E_KIND] == K_EXECUTING and ei[q, P.E_GEN] == ei[x, P.E_CGEN]
            and ei[q, P.E_OPEN] == ei[x, P.E_CATT] + 1)


@jit_handler
def _wf_close(t, x, free_n, pa, xa):
    """Record x ends at t: an open task abandoned, its slot freed. Returns free_n."""
    ei = pa.ei
    trace = ei[x, P.E_TRACE]
    if trace >= 0:
        pa.trf[trace, P.TRF_LAST] = t
    st = ei[x, X_STATE]
    if ei[x, X_COPEN] != 0:  # its Task's call (waiting for an answer, a retry or a callback): abandoned
        k = xa.wsi[st, WS_CALL]
        xa.cstat[k, CS_ABANDONED] += 1
        _client_span(t, x, k, (ei[x, P.E_OPEN] - 1) & ATT_TRY_MASK, np.int64(-1), pa, xa)
        ei[x, X_COPEN] = 0
    ei[x, P.E_OPEN] = 0
    if ei[x, P.E_DSEQ] >= 0:  # off its machine's deadline list (the list's heap entry stays)
        _deadline_unlink(x, ei[x, P.E_FN], ei, xa.dl)
    ei[x, P.E_GEN] += 1
    ei[x, E_KIND] = K_ENDED
    return Q._release(pa, free_n, x)


@jit_handler
def _wf_end(t, x, outcome, mask, p, c3, pa, xa):
    """Record x's scope ends at t with `outcome` (OUT_*; `mask` its error): a root's counters,
    span and answers; a child's end reported to its parent (now). Returns c3."""
    ei, ef = pa.ei, pa.ef
    m = ei[x, X_M]
    f = ei[x, P.E_FN]
    trace = ei[x, P.E_TRACE]
    caller, cgen, ccall, catt = ei[x, P.E_CALLER], ei[x, P.E_CGEN], ei[x, P.E_CCALL], ei[x, P.E_CATT]
    heap_n, seq, free_n = c3
    if ei[x, X_ROOT] == 0:
        free_n = _wf_close(t, x, free_n, pa, xa)
        return _push_now(K_WF, f, (caller, cgen, np.int64(-1), catt,
                                   np.int64(WF_CHILD_OK if outcome == OUT_OK else WF_CHILD_FAIL), mask, np.int64(0),
                                   trace, np.int64(-1)), (heap_n, seq, free_n), pa)
    t0 = ef[x, P.EF_T]
    dur = t - t0
    us = np.int64(np.round(dur * 1e6))
    w = xa.wcnt
    w[p, m, W_SUCCEEDED if outcome == OUT_OK else W_FAILED if outcome == OUT_FAILED else W_TIMED_OUT] += 1
    w[p, m, W_TIME_US] += us
    if us > w[p, m, W_TIME_MAX_US]:
        w[p, m, W_TIME_MAX_US] = us
    if xa.wmi[m, WM_EXPRESS] != 0:
        w[p, m, W_UNITS] += SF.express_units(billed_ms(dur * 1000.0 - BILLED_EPS_MS), xa.wmi[m, WM_MEM_MB])
    if ei[x, P.E_CLIENT] != 0:
        P.entry_answer(t, trace, P.A_OK if outcome == OUT_OK else P.A_FAILED, pa)
    P.span_emit(ei[x, P.E_SPAN], trace, (ei[x, P.E_PSPAN], P.SK_SERVER, np.int64(K_SFN), m, np.int64(-1),
                                         outcome != OUT_OK, np.int64(0), np.int64(0), np.int64(-1)),
                t0, t, pa.g, pa.tri, pa.spi, pa.spf)
    free_n = _wf_close(t, x, free_n, pa, xa)
    if caller >= 0:
        return _respond_at(t, caller, cgen, ccall, catt, R_OK if outcome == OUT_OK else R_FUNCTION_ERROR, trace,
                           (heap_n, seq, free_n), pa, xa)
    return heap_n, seq, free_n


@jit_handler
def _wf_attempt(t, x, st, first, c3, pa, xa):
    """An attempt of record x's state st at t: a Task's call (ACCOUNT_SPEC.md §14 "A Task
    attempt"), a Parallel's branches, a Map's first iterations."""
    ei = pa.ei
    a = (ei[x, X_EPOCH] << ATT_TRY_BITS) | ei[x, X_TRY]
    ei[x, X_TRY] += 1
    op = xa.wsi[st, WS_OP]
    if op == OP_TASK:
        k = xa.wsi[st, WS_CALL]
        xa.cstat[k, CS_MADE if first else CS_RETRIES] += 1
        ei[x, X_COPEN] = 1
        ei[x, P.E_CKEY] = -1
        c3 = _call_start(t, x, k, a, c3, pa, xa)
        to = xa.wsf[st, WSF_TIMEOUT_S]
        if to < np.inf:  # (not traced: a timer left behind keeps no trace open)
            ev = _wf_ev(x, a, WF_TASK_TIMEOUT, 0, pa)
            c3 = _push_ev(t + to, True, K_WF, ei[x, P.E_FN], (ev[0], ev[1], ev[2], ev[3], ev[4], ev[5], ev[6],
                                                              np.int64(-1), ev[8]), c3, pa)
        return c3
    ei[x, P.E_OPEN] = a + 1
    ei[x, X_PEND] = 0
    if op == OP_PARALLEL:
        for b in range(xa.wsi[st, WS_B0], xa.wsi[st, WS_B1]):
            c3 = _wf_child(t, x, xa.wbn[b], c3, pa, xa)
        return c3
    ei[x, X_ITEM] = 0
    ei[x, X_NFAIL] = 0
    n = min(ei[x, X_NITEMS], xa.wsi[st, WS_MAXC])
    for _ in range(n):
        ei[x, X_ITEM] += 1
        c3 = _wf_child(t, x, xa.wsi[st, WS_PROC], c3, pa, xa)
    return c3


@jit_handler
def _wf_next(t, x, st, p, c3, pa, xa):
    """State st of record x succeeded at t: its next state, or its scope's success."""
    nxt = xa.wsi[st, WS_NEXT]
    pa.ei[x, P.E_OPEN] = 0
    if nxt < 0:
        return _wf_end(t, x, OUT_OK, np.int64(0), p, c3, pa, xa)
    return _wf_enter(t, x, nxt, False, p, c3, pa, xa)


@jit_handler
def _wf_enter(t, x, st, paid, p, c3, pa, xa):
    """Record x enters state row st at t (ACCOUNT_SPEC.md §14 "Entering a state"), then the
    zero-time states after it, in this event. Returns c3."""
    ei = pa.ei
    f = ei[x, P.E_FN]
    while True:
        if not paid:
            w = _wf_transition(t, x, p, pa, xa)
            if w > 0.0:
                return _push_ev(t + w, False, K_WF, f, _wf_ev(x, st, WF_ENTER_PAID, 0, pa), c3, pa)
        paid = False
        ei[x, X_STATE] = st
        ei[x, X_EPOCH] += 1
        ei[x, X_RCOUNT] = 0
        ei[x, X_TRY] = 0
        op = xa.wsi[st, WS_OP]
        if op == OP_PASS:
            nxt = xa.wsi[st, WS_NEXT]
            if nxt < 0:
                return _wf_end(t, x, OUT_OK, np.int64(0), p, c3, pa, xa)
            st = nxt
        elif op == OP_CHOICE:
            u = _xdraw(xa, f)
            b = xa.wsi[st, WS_B0]
            b1 = xa.wsi[st, WS_B1]
            while b < b1 and u >= xa.wbp[b]:
                b += 1
            nxt = xa.wbn[b] if b < b1 else np.int64(-1)
            if nxt < 0:
                return _wf_end(t, x, OUT_FAILED, np.int64(ERR_NO_CHOICE), p, c3, pa, xa)
            st = nxt
        elif op == OP_WAIT:
            s = xa.wsf[st, WSF_WAIT_S]
            if np.isnan(s):
                s = max(_xdraw(xa, xa.wsi[st, WS_ROW]), 0.0)
            nxt = xa.wsi[st, WS_NEXT]
            if nxt < 0:
                return _push_ev(t + s, False, K_WF, f, _wf_ev(x, st, WF_SUCCEED_AT, 0, pa), c3, pa)
            return _push_ev(t + s, False, K_WF, f, _wf_ev(x, nxt, WF_ENTER, 0, pa), c3, pa)
        elif op == OP_SUCCEED:
            return _wf_end(t, x, OUT_OK, np.int64(0), p, c3, pa, xa)
        elif op == OP_FAIL:
            return _wf_end(t, x, OUT_FAILED, np.int64(ERR_FAIL), p, c3, pa, xa)
        else:
            if op == OP_MAP:
                n = np.int64(np.round(_xdraw(xa, xa.wsi[st, WS_ROW])))
                ei[x, X_NITEMS] = n if n > 0 else np.int64(0)
                if n <= 0:  # no item: the state succeeds at once (as _wf_next, without recursion)
                    nxt = xa.wsi[st, WS_NEXT]
                    if nxt < 0:
                        return _wf_end(t, x, OUT_OK, np.int64(0), p, c3, pa, xa)
                    st = nxt
                    continue
            return _wf_attempt(t, x, st, True, c3, pa, xa)


@jit_handler
def _wf_error(t, x, st, mask, p, c3, pa, xa):
    """State st of record x failed at t with error `mask`: its first matching retrier (a RETRY
    event), else its first matching catcher (entered now), else its scope fails."""
    ei = pa.ei
    f = ei[x, P.E_FN]
    r0 = xa.wsi[st, WS_R0]
    for r in range(r0, xa.wsi[st, WS_R1]):
        if xa.wri[r, WR_MASK] & mask:
            sh = RETRY_COUNT_BITS * (r - r0)
            cnt = (ei[x, X_RCOUNT] >> sh) & MAX_COUNTED_ATTEMPTS
            if cnt < xa.wri[r, WR_MAX]:
                ei[x, X_RCOUNT] += np.int64(1) << sh
                full = xa.wri[r, WR_FULL] != 0
                u = _xdraw(xa, f) if full else 1.0
                d = SF.retry_delay_s(cnt, xa.wrf[r, WRF_INTERVAL], xa.wrf[r, WRF_BACKOFF], xa.wrf[r, WRF_MAX_DELAY],
                                     full, u)
                return _push_ev(t + d, False, K_WF, f, _wf_ev(x, st, WF_RETRY, 0, pa), c3, pa)
            break
    k = xa.wsi[st, WS_CALL]
    if k >= 0:  # final: caught, or failing the scope
        xa.cstat[k, CS_FAILED] += 1
        ei[x, X_COPEN] = 0
    for cc in range(xa.wsi[st, WS_C0], xa.wsi[st, WS_C1]):
        if xa.wci[cc, WC_MASK] & mask:
            return _wf_enter(t, x, xa.wci[cc, WC_NEXT], False, p, c3, pa, xa)
    return _wf_end(t, x, OUT_FAILED, mask, p, c3, pa, xa)


@jit_handler
def _wf_response(t, x, gen, k, att, status, p, c3, pa, xa):
    """A Task's answer reaches record x (ACCOUNT_SPEC.md §14): stale unless it answers the
    open attempt; R_OK succeeds the task (or waits for its callback), else an error."""
    ei = pa.ei
    if ei[x, E_KIND] != K_EXECUTING or ei[x, P.E_GEN] != gen:
        return c3
    heap_n, seq, free_n = c3
    if ei[x, X_ROOT] == 0 and not _wf_parent_live(x, pa):
        return _wf_abort(t, x, c3, pa, xa)
    if ei[x, P.E_OPEN] != att + 1:
        return c3
    _client_span(t, x, k, att & ATT_TRY_MASK, status, pa, xa)
    st = ei[x, X_STATE]
    f = ei[x, P.E_FN]
    if status == R_OK:
        if xa.wsi[st, WS_CB] != 0:  # the token comes back later: the attempt stays open
            cb = max(_xdraw(xa, xa.wsi[st, WS_ROW]), 0.0) / 1000.0
            op = WF_CALLBACK_OK
            share = xa.wsf[st, WSF_CB_FAIL]
            if share > 0.0 and _xdraw(xa, f) < share:
                op = WF_CALLBACK_FAIL
            return _push_ev(t + cb, False, K_WF, f, _wf_ev(x, att, op, 0, pa), c3, pa)
        xa.cstat[k, CS_OK] += 1
        ei[x, X_COPEN] = 0
        return _wf_next(t, x, st, p, c3, pa, xa)
    ei[x, P.E_OPEN] = 0
    if status == R_FUNCTION_ERROR:
        mask = ERR_FUNCTION
    elif status == R_THROTTLED and xa.cpi[k, CP_KIND] == K_FUNCTION:
        mask = ERR_LAMBDA_THROTTLED
    else:
        mask = ERR_THROTTLED
    return _wf_error(t, x, st, np.int64(mask), p, c3, pa, xa)


@jit_handler
def _wf_abort(t, x, c3, pa, xa):
    """A child whose parent no longer waits for it ends at t, counting nothing (AWS stops it)."""
    heap_n, seq, free_n = c3
    return heap_n, seq, _wf_close(t, x, free_n, pa, xa)


@jit_handler
def on_wf(t, s, p, c, consts, pa, qa, xa):
    """A K_WF event: a state's entry, a retry, a task's timeout or callback, a Wait's end, a
    child's end (ACCOUNT_SPEC.md §14). Stale ones change nothing."""
    x, gen, k, att, op, mask, _ky, _tr, _sp = _ev_of(pa, s)
    heap_n, seq, free_n, rows_n, unres_used, attempts = c
    free_n = Q._release(pa, free_n, s)
    c3 = (heap_n, seq, free_n)
    ei = pa.ei
    if ei[x, E_KIND] == K_EXECUTING and ei[x, P.E_GEN] == gen:
        if ei[x, X_ROOT] == 0 and not _wf_parent_live(x, pa):
            c3 = _wf_abort(t, x, c3, pa, xa)
        elif op == WF_CHILD_OK or op == WF_CHILD_FAIL:
            if ei[x, P.E_OPEN] == att + 1:
                c3 = _wf_child_end(t, x, op == WF_CHILD_OK, mask, p, c3, pa, xa)
        elif op == WF_TASK_TIMEOUT or op == WF_CALLBACK_OK or op == WF_CALLBACK_FAIL:
            if ei[x, P.E_OPEN] == k + 1 and ei[x, X_EPOCH] == att:
                st = ei[x, X_STATE]
                kc = xa.wsi[st, WS_CALL]
                if op == WF_CALLBACK_OK:
                    xa.cstat[kc, CS_OK] += 1
                    ei[x, X_COPEN] = 0
                    c3 = _wf_next(t, x, st, p, c3, pa, xa)
                else:
                    if op == WF_TASK_TIMEOUT:  # the attempt is abandoned: its callee runs on
                        _client_span(t, x, kc, k & ATT_TRY_MASK, np.int64(-1), pa, xa)
                    ei[x, P.E_OPEN] = 0
                    c3 = _wf_error(t, x, st, np.int64(ERR_TIMEOUT if op == WF_TASK_TIMEOUT else ERR_FUNCTION), p,
                                   c3, pa, xa)
        elif ei[x, X_EPOCH] == att:
            if op == WF_ENTER:
                c3 = _wf_enter(t, x, k, False, p, c3, pa, xa)
            elif op == WF_ENTER_PAID:
                c3 = _wf_enter(t, x, k, True, p, c3, pa, xa)
            elif op == WF_SUCCEED_AT:
                c3 = _wf_end(t, x, OUT_OK, np.int64(0), p, c3, pa, xa)
            elif op == WF_RETRY:
                w = _wf_transition(t, x, p, pa, xa)
                if w > 0.0:
                    c3 = _push_ev(t + w, False, K_WF, ei[x, P.E_FN], _wf_ev(x, k, WF_RETRY_PAID, 0, pa), c3, pa)
                else:
                    c3 = _wf_attempt(t, x, k, False, c3, pa, xa)
            elif op == WF_RETRY_PAID:
                c3 = _wf_attempt(t, x, k, False, c3, pa, xa)
    heap_n, seq, free_n = c3
    return (heap_n, seq, free_n, rows_n, unres_used, attempts), Q._offer_none()


@jit_handler
def _wf_child_end(t, x, ok, mask, p, c3, pa, xa):
    """A child of record x ended (its Parallel branch or Map iteration), for x's open attempt."""
    ei = pa.ei
    st = ei[x, X_STATE]
    ei[x, X_PEND] -= 1
    if xa.wsi[st, WS_OP] == OP_PARALLEL:
        if not ok:
            ei[x, P.E_OPEN] = 0
            return _wf_error(t, x, st, np.int64(ERR_FAIL) | mask, p, c3, pa, xa)
        if ei[x, X_PEND] == 0:
            return _wf_next(t, x, st, p, c3, pa, xa)
        return c3
    n = ei[x, X_NITEMS]
    if not ok:
        ei[x, X_NFAIL] += 1
        tol = max(xa.wsi[st, WS_TOL_N], np.int64(math.floor(xa.wsf[st, WSF_TOL_SHARE] * n)))
        if ei[x, X_NFAIL] > tol:
            ei[x, P.E_OPEN] = 0
            return _wf_error(t, x, st, np.int64(ERR_FAIL) | mask, p, c3, pa, xa)
    if ei[x, X_ITEM] < n:
        ei[x, X_ITEM] += 1
        return _wf_child(t, x, xa.wsi[st, WS_PROC], c3, pa, xa)
    if ei[x, X_PEND] == 0:
        return _wf_next(t, x, st, p, c3, pa, xa)
    return c3


@jit_handler
def _wf_room(m, nfun, c, xa, e_min):
    """What an event of machine m's executions may need: event slots for its widest fork, its
    CALL draws (one per state a zero-time chain passes, and one more), a draw of each of its
    states' streams and of each of its calls' latencies."""
    if c[2] < e_min + 4 + xa.wmi[m, WM_FORK]:
        return EVENTS_FULL, np.int64(-1)
    nf = xa.cfo.shape[0] - 1
    f = nfun + m
    if xa.xlen[f] - xa.xcur[f] < xa.wmi[m, WM_NSTATES] + 2:
        return NEED_XDRAWS, f
    for k in range(xa.wmi[m, WM_K0], xa.wmi[m, WM_K1]):
        if xa.xlen[nf + k] - xa.xcur[nf + k] < 1:
            return NEED_XDRAWS, nf + k
    r0 = xa.wmi[m, WM_ROW0]
    for st in range(r0, r0 + xa.wmi[m, WM_NSTATES]):
        row = xa.wsi[st, WS_ROW]
        if row >= 0 and xa.xlen[row] - xa.xcur[row] < 1:
            return NEED_XDRAWS, row
    return DONE, np.int64(-1)


@jit_handler
def _xroom(kind, s, c, pa, qa, xa, e_min):
    """The calls' part of an event's room check: the draws and event slots it may use."""
    ei = pa.ei
    if c[2] < e_min + 3:
        return EVENTS_FULL, np.int64(-1)
    nf = xa.cfo.shape[0] - 1
    if kind == P.K_BEGIN:
        f = ei[s, P.E_FN]
        if xa.xlen[f] - xa.xcur[f] < xa.cfo[f + 1] - xa.cfo[f] + 1:  # its probabilities, its first call's class
            return NEED_XDRAWS, f
        for k in range(xa.cfo[f], xa.cfo[f + 1]):
            if xa.xlen[nf + k] - xa.xcur[nf + k] < 1:
                return NEED_XDRAWS, nf + k
    elif kind == K_CALL_ARRIVE:
        k = ei[s, EV_CALL]
        kind_k = xa.cpi[k, CP_KIND]
        if kind_k == K_ENDPOINT:
            base = nf + xa.cpi.shape[0] + 2 * xa.cpi[k, CP_INDEX]
            for b in range(base, base + 2):
                if xa.xlen[b] - xa.xcur[b] < 1:
                    return NEED_XDRAWS, b
        elif kind_k == K_FUNCTION:
            g = xa.cpi[k, CP_INDEX]
            if P._draws_low(pa.cur, pa.dlen, g):
                return NEED_DRAWS, g
        elif kind_k == K_UNIT:
            u = xa.cpi[k, CP_INDEX]
            j = _unit_low(u, xa)
            if j >= 0:
                return NEED_FDRAWS, j
            if c[2] < e_min + 3 + xa.upi[u, UI_T1] - xa.upi[u, UI_T0]:
                return EVENTS_FULL, np.int64(-1)
        elif kind_k == K_SFN:  # a start: its deadline, an answer, its first entry
            if c[2] < e_min + 4:
                return EVENTS_FULL, np.int64(-1)
        elif kind_k == K_FLOW:
            if xa.flw_n[0] >= xa.flw_t.shape[0]:
                return FLOWS_FULL, np.int64(-1)
        elif kind_k == K_TABLE or kind_k == K_BUCKET:
            row = xa.cpi[k, CP_TROW]
            for b in range(row, row + 2):
                if xa.xlen[b] - xa.xcur[b] < 1:
                    return NEED_XDRAWS, b
            if kind_k == K_BUCKET:  # its notification's attempts
                u = xa.bki[xa.cpi[k, CP_INDEX], BKI_UNIT]
                if u >= 0:
                    j = _unit_low(u, xa)
                    if j >= 0:
                        return NEED_FDRAWS, j
                    if c[2] < e_min + 4 + xa.upi[u, UI_T1] - xa.upi[u, UI_T0]:
                        return EVENTS_FULL, np.int64(-1)
    elif kind == K_WF or (kind == K_RESPONSE and ei[s, P.E_FN] >= pa.fpi.shape[0]):
        return _wf_room(ei[s, P.E_FN] - pa.fpi.shape[0], pa.fpi.shape[0], c, xa, e_min)
    elif kind == K_SDK_RETRY or kind == K_RESPONSE or kind == K_STEP or kind == K_TIMEOUT or kind == K_DEADLINE:
        f = ei[s, P.E_FN]
        if xa.xlen[f] - xa.xcur[f] < 1:
            return NEED_XDRAWS, f
        for k in range(xa.cfo[f], xa.cfo[f + 1]):
            if xa.xlen[nf + k] - xa.xcur[nf + k] < 1:
                return NEED_XDRAWS, nf + k
        inv = s if kind == K_DEADLINE else ei[s, EV_INV]  # (a DEADLINE's s is the invocation)
        cons = ei[inv, Q.EQ_CONSUMER]
        if kind != K_SDK_RETRY and ei[inv, E_KIND] == K_INVOKING and cons >= 0:
            # it may end a mapping's invocation: ReportBatchItemFailures' draws (queue_pool._room)
            m = qa.cs[cons, Q.C_OWNER]
            if qa.mpi[m, Q.MPI_REPORT] != 0 and qa.mlen[m] - qa.mcur[m] < qa.cs[cons, Q.C_BN]:
                return Q.NEED_MDRAWS, m
    return DONE, np.int64(-1)


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
    g, gf, gq, gqf, hh, ei, trf = pa.g, pa.gf, qa.gq, qa.gqf, pa.hh, pa.ei, pa.trf
    e_min = gq[Q.GQ_E_MIN]
    ntl = qa.tl.shape[0]
    dl = xa.dl
    nfun = pa.fpi.shape[0]
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
            # ---- the next event: the lane's (due now) and the heap's in (time, counter)
            # order, both before arrivals at equal times
            heap_n = c[0]
            use_heap = False
            use_lane = False
            if g[P.G_LANE_N] > 0:
                lh = g[P.G_LANE_HEAD]
                if heap_n > 0 and (heap_time(hh, 0) < t or (heap_time(hh, 0) == t and hh[0, H_SEQ] < ei[lh, P.E_LSEQ])):
                    use_heap = True
                else:
                    use_lane = True
            elif heap_n > 0 and heap_time(hh, 0) < t_stop:
                if i >= na or heap_time(hh, 0) <= arr.t[i]:
                    use_heap = True
            if not use_heap and not use_lane and (i >= na or arr.t[i] >= t_stop):
                break
            f = np.int64(-1)
            s = np.int64(-1)
            tseq = np.int64(-1)
            if use_lane:
                s = g[P.G_LANE_HEAD]
                tseq = ei[s, P.E_LSEQ]
                kind = ei[s, E_KIND]
                if kind == K_RESPONSE:  # (a BEGIN needs no draw of the pool's)
                    f = ei[s, P.E_FN]
                    if f >= nfun:  # an execution's Task answer: no environment
                        f = np.int64(-1)
            elif use_heap:
                t = heap_time(hh, 0)
                s = hh[0, H_V]
                tseq = hh[0, H_SEQ]
                if s >= 0:
                    kind = ei[s, E_KIND]
                    if kind <= K_RETRY or kind == K_STEP or kind == K_TIMEOUT or kind == K_RESPONSE:
                        f = ei[s, P.E_FN]  # (a step may end the invocation: its environment's EXP draw)
                        if f >= nfun:  # an execution's Task answer: no environment
                            f = np.int64(-1)
                elif -1 - s >= ntl:
                    # a function's deadline list: its head's deadline, or an entry for a head
                    # that has ended (back in for the new head, at its own time and counter)
                    f = -1 - s - ntl
                    inv = dl[f, DL_HEAD]
                    if inv < 0 or ei[inv, P.E_DSEQ] != tseq:
                        heap_pop(hh, heap_n)
                        c = (_deadline_requeue(f, heap_n - 1, pa, qa, xa), c[1], c[2], c[3], c[4], c[5])
                        continue
                    kind = K_DEADLINE
                    s = inv
                    if f >= nfun:  # a state machine's executions: no environment to draw for
                        f = np.int64(-1)
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
            if kind == Q.K_ARRIVAL and arr.unit[i] <= SFN_UNIT0:
                if c[2] < e_min + 4:
                    status, which = EVENTS_FULL, np.int64(-1)
                    break
            elif kind >= K_PAIR and kind <= K_DEAD_LETTER or (kind == Q.K_ARRIVAL and arr.unit[i] >= 0):
                status, which = _froom(kind, s, i, c, arr, pa, qa, xa, e_min)
                if status != DONE:
                    break
            elif kind >= P.K_BEGIN or (kind == K_COMPLETE and ei[s, P.E_CALLER] >= 0):
                status, which = _xroom(kind, s, c, pa, qa, xa, e_min)
                if status != DONE:
                    break
            if kind == Q.K_ARRIVAL and g[P.G_TR_FREE_N] < 1:
                # the trace table is full: close what has ended (nothing before t is still to
                # come); if that frees less than half, the caller grows the table
                trace_mark_account(False, g, pa.tri, ei, hh, c[0], qa.mi, qa.cs, qa.it)
                P.trace_close(t, False, g, pa.tri, trf, pa.trfree, pa.eni, pa.enf, pa.ehc)
                g[P.G_TR_SWEEPS] += 1
                if 2 * g[P.G_TR_FREE_N] < pa.tri.shape[0]:
                    status = P.TRACES_FULL
                    break
            if g[P.G_SPANS_N] + P.SPAN_ROOM > pa.spi.shape[0]:
                status = P.SPANS_FULL
                break
            if t >= period_end:
                p = Q.mq_advance(t, False, pa, qa)
                period_end = (p + 1) * period_s if p < last_p else np.inf
            tr = np.int64(-1)
            if use_heap or use_lane:
                if use_lane:
                    P.lane_pop(g, ei)
                else:
                    heap_pop(hh, heap_n)
                    c = (heap_n - 1, c[1], c[2], c[3], c[4], c[5])
                if s >= 0 and (TRACED >> kind) & 1:
                    tr = ei[s, P.E_TRACE]
                    if tr >= 0:
                        trf[tr, P.TRF_LAST] = t  # the trace's last event so far
            else:
                rkind, ridx = _what(arr.queue[i], arr.unit[i], arr.fn[i] if arr.unit[i] > GW_ANSWER_OK else arr.src[i])
                tr = P.trace_new(t, arr.id[i], rkind, ridx, g, pa.tri, trf, pa.trfree, pa.pentry, pa.eni)

            # ---- dispatch
            if kind == Q.K_TIMER:
                c, o = Q.on_visible(t, s, tseq, p, c, pa, qa)
            elif kind == K_COMPLETE:
                c, o = on_complete_any(t, s, f, p, c, pa, qa, xa)
            elif kind == K_RETRY:
                c, o = Q.on_retry(t, s, f, p, c, consts, pa, qa)
            elif kind == Q.K_ARRIVAL:
                if f >= 0:
                    c, o = Q.on_invoke(t, i, f, p, c, consts, arr, pa, qa, tr)
                elif arr.queue[i] >= 0:
                    c, o = Q.on_send(t, i, p, c, arr, pa, qa, tr)
                elif arr.unit[i] <= SFN_UNIT0:
                    c, o = on_start_arrival(t, i, p, c, arr, pa, qa, xa, tr)
                elif arr.unit[i] <= GW_ANSWER_OK:  # an API route's own answer: counted, nothing more
                    if tr >= 0 and not np.isnan(arr.dover[i]):  # it began its backend's latency ago
                        trf[tr, P.TRF_T0] = t - arr.dover[i] / 1000.0
                    P.entry_answer(t, tr, P.A_OK if arr.unit[i] == GW_ANSWER_OK else
                                   P.A_THROTTLED if arr.unit[i] == GW_ANSWER_THROTTLED else P.A_FAILED, pa)
                else:
                    c, o = on_publish(t, i, p, c, arr, pa, xa, tr)
                i += 1
            elif kind == K_PAIR:
                c, o = on_pair(t, s, p, c, pa, xa)
            elif kind == K_DELIVER:
                c, o = on_deliver(t, s, p, c, consts, pa, qa, xa)
            elif kind == K_DEAD_LETTER:
                c, o = on_dead_letter(t, s, p, c, consts, pa, qa, xa)
            elif kind == P.K_BEGIN:
                c, o = on_begin(t, s, p, c, consts, pa, qa, xa)
            elif kind == K_RESPONSE:
                c, o = on_response(t, s, p, c, consts, pa, qa, xa)
            elif kind == K_CALL_ARRIVE:
                c, o = on_call_arrive(t, s, p, c, consts, pa, qa, xa)
            elif kind == K_STEP:
                c, o = on_step(t, s, p, c, consts, pa, qa, xa)
            elif kind == K_TIMEOUT:
                c, o = on_timeout(t, s, p, c, consts, pa, qa, xa)
            elif kind == K_DEADLINE:
                c, o = on_deadline(t, s, p, c, consts, pa, qa, xa)
            elif kind == K_SDK_RETRY:
                c, o = on_sdk_retry(t, s, c, pa, xa)
            elif kind == K_EP_DONE:
                c, o = on_endpoint_done(t, s, c, pa, xa)
            elif kind == K_WF:
                c, o = on_wf(t, s, p, c, consts, pa, qa, xa)
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

    # what is left on the lane (a stop for room) goes back on the heap: it is due at t
    heap_n = c[0]
    while g[P.G_LANE_N] > 0:
        s = P.lane_pop(g, ei)
        heap_n = heap_push(hh, heap_n, t, ei[s, P.E_LSEQ], s)
    c = (heap_n, c[1], c[2], c[3], c[4], c[5])
    g[P.G_HEAP_N], g[P.G_SEQ], g[P.G_FREE_N], g[P.G_ROWS_N], g[P.G_UNRES_USED], g[P.G_ATTEMPTS] = c
    gq[Q.GQ_PEND_Q], gq[Q.GQ_PEND_PHASE], gq[Q.GQ_PEND_CUR], gq[Q.GQ_PEND_SCALE] = o
    gqf[Q.GQF_PEND_T] = t
    return status, i, which


@jit
def pending_by_target(ei, hh, heap_n, out):
    """Pairs still scheduled (retries, held and undelivered deliveries, dead letters not yet
    sent), per target: out[j] += 1."""
    for k in range(heap_n):
        s = hh[k, H_V]
        if s >= 0 and K_PAIR <= ei[s, E_KIND] <= K_DEAD_LETTER:
            out[ei[s, EP_TGT]] += 1


@jit
def trace_mark_account(final, g, tri, ei, hh, heap_n, mi, cs, it):
    """A marking pass over everything that keeps a trace open: its events on the heap
    (TRACED), its invocations with calls still running (K_INVOKING records), its messages
    still alive and, until the end, the batches pollers are filling (lambda_pool.trace_close
    closes the others)."""
    stamp = P.trace_mark_heap(TRACED, g, tri, ei, hh, heap_n)
    for s in range(ei.shape[0]):
        if ei[s, E_KIND] == K_INVOKING or ei[s, E_KIND] == K_EXECUTING:
            tr = ei[s, P.E_TRACE]
            if tr >= 0:
                tri[tr, P.TR_MARK] = stamp
    Q.trace_mark_messages(stamp, final, mi, cs, it, tri)
