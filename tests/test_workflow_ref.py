"""Step Functions executions in the account twin (kernels/ref/account.py, ACCOUNT_SPEC.md §14),
worked by hand: the ASL interpreter's paths, retries with their delays, catches, Map
concurrency, callbacks, timeouts, quotas and billing — exact state sequences (transition
counts, draws taken) and exact times.

Times are multiples of 1/16 s so everything compares with `==`. Machine m is the
pseudo-function F_m = n_functions + m: its CALL stream is `CALL[F_m]`, its Task calls'
latencies `CLAT[F_m][c]`, its states' own streams `WST[m][row]`.
"""

import math

import numpy as np
import pytest

from kernels.account import (
    ERR_ALL, ERR_FUNCTION, ERR_TIMEOUT, OP_CHOICE, OP_FAIL, OP_MAP, OP_PARALLEL, OP_PASS, OP_SUCCEED, OP_TASK,
    OP_WAIT, R_FUNCTION_ERROR, R_OK, WORKFLOW_COUNTERS, CallParams, MachineParams, StateParams,
)
from kernels.lambda_pool import A_FAILED, A_OK, SK_CLIENT, SK_SERVER
from kernels.ref.account import K_FUNCTION, K_SFN, AccountParams, simulate_account_ref
from kernels.ref.lambda_pool import ERROR, OK
from test_account_ref import arrivals
from test_queue_ref import fleet_params, mapping_params, pool_params, queue_params

INF = math.inf
L = 60  # length of the constant streams
SYNC, ASYNC = 0, 1
S = StateParams


def lam(f=0, sync=True):
    """A Task's (or a function's) call to function f."""
    return CallParams(K_FUNCTION, f, sync=sync, max_attempts=1)


def account(machines, n_fn=1, calls=None, quotas=(INF,) * 6, **pool_over):
    return AccountParams(pool=pool_params(n_fn, **pool_over), queues=queue_params(0), mappings=mapping_params(0),
                         fleets=fleet_params(0), calls=calls if calls is not None else [[] for _ in range(n_fn)],
                         machines=machines, sfn_quotas=quotas)


def streams(ap, dur=250.0, init=0.0, clat=62.5, call_u=None, wst=None, fn_call_u=0.5):
    """Constant streams: every function's DUR `dur` (a list: per function) and INIT `init` ms,
    EXP far away, U 0.5; every call's latency `clat` ms; `call_u` {m: the CALL values of machine
    m}, else 0.5; `wst` {(m, row): values}, else none."""
    n_fn = len(ap.calls)
    durs = dur if isinstance(dur, list) else [dur] * n_fn
    call_u, wst = call_u or {}, wst or {}
    return {
        "DUR": [np.full(L, d) for d in durs], "INIT": [np.full(L, init)] * n_fn,
        "EXP": [np.full(L, 600.0)] * n_fn, "U": [np.full(L, 0.5)] * n_fn,
        "ITEM": [], "PROC": [], "WERR": [],
        "CALL": [np.full(L, fn_call_u)] * n_fn
                + [np.asarray(call_u.get(m, np.full(L, 0.5)), float) for m in range(len(ap.machines))],
        "CLAT": [[np.full(L, clat) for _ in cs] for cs in ap.calls]
                + [[np.full(L, clat) for _ in mp.calls] for mp in ap.machines],
        "WST": [[np.asarray(wst.get((m, row), []), float) for row in range(len(mp.states))]
                for m, mp in enumerate(ap.machines)],
    }


def w(r, m=0):
    """Machine m's counters over the whole run."""
    a = r.workflows[m]
    out = dict(zip(WORKFLOW_COUNTERS, a.sum(axis=0).tolist()))
    out["time_max_us"] = int(a[:, WORKFLOW_COUNTERS.index("time_max_us")].max())
    return out


def counts(r, m=0, **expected):
    got = w(r, m)
    return {k: got[k] for k in expected}


def call_stat(made=0, ok=0, failed=0, abandoned=0, in_flight_end=0, attempts=0, retries=0):
    return dict(made=made, ok=ok, failed=failed, abandoned=abandoned, in_flight_end=in_flight_end,
                attempts=attempts, retries=retries)


def spans_of(r, kind, rkind=None):
    """(parent, start, end, error, attempt, answer, id) of the spans of a kind (and resource kind)."""
    return [(s[2], s[11], s[12], s[7], s[9], s[10], s[1]) for s in r.spans
            if s[3] == kind and (rkind is None or s[4] == rkind)]


def fn_rows(r, f=0):
    """(start, outcome, latency_ms) of function f's attempts."""
    return sorted((row[2], row[4], row[7]) for row in r.pool.rows if row[3] == f)


# ---- a task, paths, waits --------------------------------------------------------------------

def test_pass_task_succeed_by_hand():
    """Pass -> Task (sync Invoke of fn0) -> Succeed: three transitions at 0, 0 and 0.3125; the
    Task's request reaches fn0 after its 62.5 ms API latency, fn0 runs 250 ms."""
    mp = MachineParams(express=False, states=[S(OP_PASS, next=1), S(OP_TASK, next=2, call=0), S(OP_SUCCEED)],
                       calls=[lam()])
    ap = account([mp])
    r = simulate_account_ref(ap, arrivals((0.0, 0, K_SFN, 0, SYNC)), streams(ap), 10.0, record_spans=True)
    assert counts(r, started=1, succeeded=1, failed=0, transitions=3, time_us=312_500, time_max_us=312_500,
                  express_units=0) == dict(started=1, succeeded=1, failed=0, transitions=3, time_us=312_500,
                                           time_max_us=312_500, express_units=0)
    assert fn_rows(r) == [(0.0625, OK, 250.0)] and r.pool.billed_ms == [250]
    assert r.calls == [[], [call_stat(made=1, ok=1, attempts=1)]]  # the machine's calls after the functions'
    e = r.entry[0]
    assert (e.requests, e.succeeded, e.latency_s, e.completion_s) == (1, 1, [0.3125], [0.3125])
    assert r.trace_end == {0: (0.0, 0.3125)} and r.workflows_open_end == [0]
    (root,) = [s for s in r.spans if s[2] < 0]
    assert (root[3], root[4], root[11], root[12], root[10]) == (SK_CLIENT, K_SFN, 0.0, 0.3125, A_OK)
    (server,) = spans_of(r, SK_SERVER, K_SFN)
    assert server[:4] == (root[1], 0.0, 0.3125, 0)
    (task,) = spans_of(r, SK_CLIENT, K_FUNCTION)
    assert task[:6] == (server[6], 0.0, 0.3125, 0, 0, R_OK)  # parent: the execution's SERVER span
    (fn,) = spans_of(r, SK_SERVER, K_FUNCTION)
    assert fn[:3] == (task[6], 0.0625, 0.3125)
    assert r.draws_used == {("CLAT", 1, 0): 1}


def test_choice_with_given_draws():
    """Choice [U < 0.3 -> Succeed, U < 0.8 -> Fail, else NoChoiceMatched] with U = 0.1, 0.5, 0.9:
    succeeded (2 transitions), failed by the Fail state (2), failed by NoChoiceMatched (1)."""
    mp = MachineParams(express=False, states=[S(OP_CHOICE, branches=[(0.3, 1), (0.8, 2)]), S(OP_SUCCEED),
                                              S(OP_FAIL)])
    ap = account([mp])
    arr = arrivals((0.0, 0, K_SFN, 0, SYNC), (1.0, 0, K_SFN, 0, SYNC), (2.0, 0, K_SFN, 0, SYNC))
    r = simulate_account_ref(ap, arr, streams(ap, call_u={0: [0.1, 0.5, 0.9]}), 10.0, record_spans=True)
    assert counts(r, started=3, succeeded=1, failed=2, transitions=5) == dict(started=3, succeeded=1, failed=2,
                                                                              transitions=5)
    assert r.draws_used == {("CALL", 1): 3}
    e = r.entry[0]
    assert (e.succeeded, e.failed, e.latency_s) == (1, 2, [0.0, 0.0, 0.0])
    assert sorted((s[11], s[10]) for s in r.spans if s[2] < 0) == [(0.0, A_OK), (1.0, A_FAILED), (2.0, A_FAILED)]


def test_zero_time_chain_is_one_event():
    """Pass -> Choice (U = 0.7 < 1: the second rule) -> Pass -> Succeed, all at t = 0 in the ENTER
    event: four transitions, one CALL draw, the trace closed at 0."""
    mp = MachineParams(express=False, states=[S(OP_PASS, next=1), S(OP_CHOICE, branches=[(0.5, 4), (1.0, 2)]),
                                              S(OP_PASS, next=3), S(OP_SUCCEED), S(OP_FAIL)])
    ap = account([mp])
    r = simulate_account_ref(ap, arrivals((0.0, 0, K_SFN, 0, SYNC)), streams(ap, call_u={0: [0.7]}), 10.0)
    assert counts(r, succeeded=1, transitions=4, time_us=0) == dict(succeeded=1, transitions=4, time_us=0)
    assert r.draws_used == {("CALL", 1): 1}
    assert r.trace_end == {0: (0.0, 0.0)} and r.entry[0].latency_s == [0.0]


def test_wait_fixed_and_drawn():
    """Wait 2 s -> Wait (drawn, End): draws 3 s and -1 s (-> 0): ends at 5.0 and 12.0 (started at 10)."""
    mp = MachineParams(express=False, states=[S(OP_WAIT, next=1, wait_s=2.0), S(OP_WAIT, stream=True)])
    ap = account([mp])
    arr = arrivals((0.0, 0, K_SFN, 0, SYNC), (10.0, 0, K_SFN, 0, SYNC))
    r = simulate_account_ref(ap, arr, streams(ap, wst={(0, 1): [3.0, -1.0]}), 20.0)
    assert r.entry[0].latency_s == [5.0, 2.0]
    assert counts(r, succeeded=2, transitions=4, time_us=7_000_000, time_max_us=5_000_000) == dict(
        succeeded=2, transitions=4, time_us=7_000_000, time_max_us=5_000_000)
    assert r.draws_used == {("WST", 0, 1): 2}


# ---- Retry and Catch ----------------------------------------------------------------------------

def always_failing(retriers, catchers=()):
    """Task (fn0, which always errors) -> Succeed; its catchers go to a Fail state (row 2)."""
    mp = MachineParams(express=False, states=[S(OP_TASK, next=1, call=0, retriers=retriers, catchers=list(catchers)),
                                              S(OP_SUCCEED), S(OP_FAIL)], calls=[lam()])
    return account([mp], error_rate=[1.0])


def test_retry_backoff_then_catch_to_fail():
    """IntervalSeconds 2, BackoffRate 2, MaxAttempts 3: each attempt fails 0.3125 s after it starts
    (62.5 ms latency, 250 ms of fn0); the retries start 2, 4 and 8 s after each failure (0.3125,
    2.625, 6.9375), each a transition; the fourth failure (15.25) is caught into a Fail state."""
    ap = always_failing([(ERR_ALL, 3, 2.0, 2.0, INF, False)], [(ERR_ALL, 2)])
    r = simulate_account_ref(ap, arrivals((0.0, 0, K_SFN, 0, SYNC)), streams(ap), 30.0, record_spans=True)
    assert fn_rows(r) == [(0.0625, ERROR, 250.0), (2.375, ERROR, 250.0), (6.6875, ERROR, 250.0),
                          (15.0, ERROR, 250.0)]
    assert counts(r, failed=1, succeeded=0, transitions=5, time_us=15_250_000) == dict(
        failed=1, succeeded=0, transitions=5, time_us=15_250_000)
    assert r.calls[1] == [call_stat(made=1, failed=1, attempts=4, retries=3)]
    assert r.entry[0].failed == 1 and r.entry[0].latency_s == [15.25]
    tasks = spans_of(r, SK_CLIENT, K_FUNCTION)
    assert [(s[1], s[2], s[3], s[4], s[5]) for s in tasks] == [
        (0.0, 0.3125, 1, 0, R_FUNCTION_ERROR), (2.3125, 2.625, 1, 1, R_FUNCTION_ERROR),
        (6.625, 6.9375, 1, 2, R_FUNCTION_ERROR), (14.9375, 15.25, 1, 3, R_FUNCTION_ERROR)]
    assert r.draws_used == {("CLAT", 1, 0): 4}  # no jitter: no CALL draw


@pytest.mark.parametrize("retriers, catchers, transitions, outcome", [
    # a retrier that does not match (States.Timeout) is skipped: caught at once
    ([(ERR_TIMEOUT, 3, 2.0, 2.0, INF, False)], [(ERR_ALL, 2)], 2, "failed"),
    # the first matching retrier has no attempts (MaxAttempts 0): no later retrier is tried
    ([(ERR_FUNCTION, 0, 2.0, 2.0, INF, False), (ERR_ALL, 3, 2.0, 2.0, INF, False)], [(ERR_ALL, 2)], 2, "failed"),
    # no catcher matches: the execution fails with the error, no Fail state entered
    ([], [(ERR_TIMEOUT, 2)], 1, "failed"),
])
def test_retriers_and_catchers_that_do_not_apply(retriers, catchers, transitions, outcome):
    ap = always_failing(retriers, catchers)
    r = simulate_account_ref(ap, arrivals((0.0, 0, K_SFN, 0, SYNC)), streams(ap), 30.0)
    assert fn_rows(r) == [(0.0625, ERROR, 250.0)]
    assert counts(r, transitions=transitions, **{outcome: 1}) == dict(transitions=transitions, **{outcome: 1})
    assert r.entry[0].latency_s == [0.3125]
    assert r.calls[1] == [call_stat(made=1, failed=1, attempts=1)]


@pytest.mark.parametrize("full, max_delay, starts, draws", [
    # FULL jitter, U = 0.5, 0.25, 0.75: waits 2·0.5, 4·0.25, 8·0.75 = 1, 1, 6 s
    (True, INF, [0.0625, 1.375, 2.6875, 9.0], {("CALL", 1): 3}),
    # MaxDelaySeconds 3: waits 2, 3, 3 s
    (False, 3.0, [0.0625, 2.375, 5.6875, 9.0], {}),
])
def test_full_jitter_and_max_delay(full, max_delay, starts, draws):
    ap = always_failing([(ERR_ALL, 3, 2.0, 2.0, max_delay, full)])
    r = simulate_account_ref(ap, arrivals((0.0, 0, K_SFN, 0, SYNC)), streams(ap, call_u={0: [0.5, 0.25, 0.75]}),
                             30.0)
    assert [row[0] for row in fn_rows(r)] == starts
    assert r.entry[0].latency_s == [9.25]
    assert counts(r, failed=1, transitions=4) == dict(failed=1, transitions=4)
    assert {k: v for k, v in r.draws_used.items() if k[0] == "CALL"} == draws


# ---- timeouts -------------------------------------------------------------------------------------

def test_task_timeout_abandons_the_attempt_the_function_runs_on():
    """Task TimeoutSeconds 0.125 against fn0's 250 ms (no API latency): at 0.125 the attempt is
    abandoned (its CLIENT span ends unanswered) and the error States.Timeout is caught by the
    second catcher (the first, ERR_FUNCTION, does not match) into Succeed. fn0 runs on to 0.25
    and bills 250 ms; its late answer finds a stale attempt; the trace closes then."""
    mp = MachineParams(express=False, calls=[lam()], states=[
        S(OP_TASK, next=1, call=0, timeout_s=0.125, catchers=[(ERR_FUNCTION, 2), (ERR_TIMEOUT, 1)]),
        S(OP_SUCCEED), S(OP_FAIL)])
    ap = account([mp])
    r = simulate_account_ref(ap, arrivals((0.0, 0, K_SFN, 0, SYNC)), streams(ap, clat=0.0), 10.0,
                             record_spans=True)
    assert counts(r, succeeded=1, transitions=2, time_us=125_000) == dict(succeeded=1, transitions=2,
                                                                          time_us=125_000)
    assert fn_rows(r) == [(0.0, OK, 250.0)] and r.pool.billed_ms == [250]
    assert r.calls[1] == [call_stat(made=1, failed=1, attempts=1)]  # caught: final, failed
    (task,) = spans_of(r, SK_CLIENT, K_FUNCTION)
    assert task[1:6] == (0.0, 0.125, 1, 0, -1)  # abandoned
    assert r.entry[0].latency_s == [0.125] and r.trace_end == {0: (0.0, 0.25)}


def test_execution_timeout_during_a_wait():
    """TimeoutSeconds 1 with a Wait of 5 s: timed out at 1.0 (the client's answer: failed). The
    Wait's pending ENTER at 5.0 is stale but still carries the trace: it closes then."""
    mp = MachineParams(express=False, timeout_s=1.0, states=[S(OP_WAIT, next=1, wait_s=5.0), S(OP_SUCCEED)])
    ap = account([mp])
    r = simulate_account_ref(ap, arrivals((0.0, 0, K_SFN, 0, SYNC)), streams(ap), 10.0, record_spans=True)
    assert counts(r, started=1, timed_out=1, succeeded=0, transitions=1, time_us=1_000_000) == dict(
        started=1, timed_out=1, succeeded=0, transitions=1, time_us=1_000_000)
    e = r.entry[0]
    assert (e.failed, e.latency_s) == (1, [1.0])
    assert r.trace_end == {0: (0.0, 5.0)}
    (server,) = spans_of(r, SK_SERVER, K_SFN)
    assert server[1:4] == (0.0, 1.0, 1)


def test_execution_timeout_abandons_the_open_task():
    """TimeoutSeconds 0.125 while the Task waits for fn0 (250 ms): the call is abandoned."""
    mp = MachineParams(express=False, timeout_s=0.125, calls=[lam()],
                       states=[S(OP_TASK, next=1, call=0), S(OP_SUCCEED)])
    ap = account([mp])
    r = simulate_account_ref(ap, arrivals((0.0, 0, K_SFN, 0, SYNC)), streams(ap, clat=0.0), 10.0,
                             record_spans=True)
    assert counts(r, timed_out=1, transitions=1) == dict(timed_out=1, transitions=1)
    assert r.calls[1] == [call_stat(made=1, abandoned=1, attempts=1)]
    (task,) = spans_of(r, SK_CLIENT, K_FUNCTION)
    assert task[1:6] == (0.0, 0.125, 1, 0, -1)
    assert fn_rows(r) == [(0.0, OK, 250.0)] and r.trace_end == {0: (0.0, 0.25)}


# ---- Parallel and Map ---------------------------------------------------------------------------

def test_parallel_ends_with_its_longer_branch():
    """Parallel [Task fn0 (0.3125 s) | Wait 1.5 s] -> Succeed: the state succeeds at 1.5 with its
    last branch. Transitions: Parallel, Task, Wait, Succeed. The branch's task span has the
    root's SERVER span as parent; children have no span of their own."""
    mp = MachineParams(express=False, calls=[lam()], states=[
        S(OP_PARALLEL, next=1, branches=[2, 3]), S(OP_SUCCEED), S(OP_TASK, call=0), S(OP_WAIT, wait_s=1.5)])
    ap = account([mp])
    r = simulate_account_ref(ap, arrivals((0.0, 0, K_SFN, 0, SYNC)), streams(ap), 10.0, record_spans=True)
    assert r.entry[0].latency_s == [1.5]
    assert counts(r, started=1, succeeded=1, transitions=4) == dict(started=1, succeeded=1, transitions=4)
    (server,) = spans_of(r, SK_SERVER, K_SFN)
    (task,) = spans_of(r, SK_CLIENT, K_FUNCTION)
    assert task[0] == server[6] and task[1:3] == (0.0, 0.3125)
    assert len(r.spans) == 4  # the client's, the execution's, the task's, fn0's


def test_parallel_branch_failure_is_caught_and_the_other_branch_runs_on():
    """Parallel [Fail | Wait 1.5 s]: the Fail fails the state at once (ERR_FAIL), caught into a
    Wait of 3 s; the other branch runs on (its transition counted) and its end at 1.5 is stale
    (the root is in another state): the execution ends at 3.0."""
    mp = MachineParams(express=False, states=[
        S(OP_PARALLEL, next=1, branches=[3, 4], catchers=[(ERR_ALL, 2)]), S(OP_SUCCEED),
        S(OP_WAIT, wait_s=3.0), S(OP_FAIL), S(OP_WAIT, wait_s=1.5)])
    ap = account([mp])
    r = simulate_account_ref(ap, arrivals((0.0, 0, K_SFN, 0, SYNC)), streams(ap), 10.0)
    assert r.entry[0].latency_s == [3.0] and r.entry[0].succeeded == 1
    assert counts(r, succeeded=1, transitions=4) == dict(succeeded=1, transitions=4)


def test_parallel_retried_restarts_its_branches():
    """Parallel [Wait 1 | Fail] with a Retry (1 attempt, 0.5 s): the Fail fails it at 0, the
    retry at 0.5 starts both branches again (the first attempt's Wait, ending at 1.0, is stale),
    the Fail fails it again at 0.5: the execution fails at 0.5. Transitions: Parallel, Wait,
    Fail, retry, Wait, Fail."""
    mp = MachineParams(express=False, states=[
        S(OP_PARALLEL, next=1, branches=[2, 3], retriers=[(ERR_ALL, 1, 0.5, 2.0, INF, False)]), S(OP_SUCCEED),
        S(OP_WAIT, wait_s=1.0), S(OP_FAIL)])
    ap = account([mp])
    r = simulate_account_ref(ap, arrivals((0.0, 0, K_SFN, 0, SYNC)), streams(ap), 10.0)
    assert r.entry[0].latency_s == [0.5] and r.entry[0].failed == 1
    assert counts(r, failed=1, transitions=6) == dict(failed=1, transitions=6)
    assert r.trace_end == {0: (0.0, 1.5)}  # the second attempt's Wait ends (aborted) at 1.5


def test_map_runs_in_waves_of_its_concurrency():
    """Map of round(4.6) = 5 items, MaxConcurrency 2, each a Task of fn0 (250 ms, no latency):
    items start at 0, 0, 0.25, 0.25, 0.5 — each success starts the next — and the state ends at
    0.75 (ceil(5/2) = 3 waves). A second execution draws -0.3 items: none, it succeeds at once."""
    mp = MachineParams(express=False, calls=[lam()], states=[
        S(OP_MAP, processor=1, max_concurrency=2, stream=True), S(OP_TASK, call=0)])
    ap = account([mp])
    arr = arrivals((0.0, 0, K_SFN, 0, SYNC), (2.0, 0, K_SFN, 0, SYNC))
    r = simulate_account_ref(ap, arr, streams(ap, clat=0.0, wst={(0, 0): [4.6, -0.3]}), 10.0)
    assert [row[0] for row in fn_rows(r)] == [0.0, 0.0, 0.25, 0.25, 0.5]
    assert r.entry[0].latency_s == [0.75, 0.0]
    assert counts(r, succeeded=2, transitions=7) == dict(succeeded=2, transitions=7)  # (1 + 5) + 1
    assert r.calls[1] == [call_stat(made=5, ok=5, attempts=5)]
    assert r.draws_used[("WST", 0, 0)] == 2


@pytest.mark.parametrize("tolerated_count, tolerated_share, outcome, transitions, draws", [
    (1, 0.0, "failed", 9, 4),  # the second failure (item 2) exceeds 1: fails, item 4 never starts
    (2, 0.0, "succeeded", 11, 5),  # two failures tolerated: all five items end, the state succeeds
    (0, 0.4, "succeeded", 11, 5),  # floor(0.4 × 5) = 2 tolerated
])
def test_map_tolerated_failures(tolerated_count, tolerated_share, outcome, transitions, draws):
    """Map of 5 items, MaxConcurrency 2, each a Choice (U < 0.5: Succeed, else Fail) with
    U = 0.9, 0.1, 0.9, 0.1, 0.1 in item order (all at t = 0: the children's ENTERs run in the
    order they were scheduled). A tolerated failure takes its slot's next item as a success does."""
    mp = MachineParams(express=False, states=[
        S(OP_MAP, processor=1, max_concurrency=2, stream=True, tolerated_count=tolerated_count,
          tolerated_share=tolerated_share),
        S(OP_CHOICE, branches=[(0.5, 2), (1.0, 3)]), S(OP_SUCCEED), S(OP_FAIL)])
    ap = account([mp])
    r = simulate_account_ref(ap, arrivals((0.0, 0, K_SFN, 0, SYNC)),
                             streams(ap, call_u={0: [0.9, 0.1, 0.9, 0.1, 0.1]}, wst={(0, 0): [5.0]}), 10.0)
    assert counts(r, transitions=transitions, **{outcome: 1}) == dict(transitions=transitions, **{outcome: 1})
    assert r.draws_used[("CALL", 1)] == draws
    assert r.trace_end == {0: (0.0, 0.0)}


# ---- callbacks ----------------------------------------------------------------------------------

def test_callback_with_delay_and_failure_share():
    """A .waitForTaskToken Task (an async Invoke of fn0, 62.5 ms) whose token comes back 500 ms
    after the call's answer; failure share 0.5: U = 0.25 is a SendTaskFailure at 0.5625 (an
    ERR_FUNCTION), retried 1 s later (1.5625); the second attempt's token (U = 0.75) succeeds at
    2.125. Transitions: Task, retry, Succeed."""
    mp = MachineParams(express=False, calls=[lam(sync=False)], states=[
        S(OP_TASK, next=1, call=0, callback=True, callback_failure=0.5, stream=True,
          retriers=[(ERR_FUNCTION, 1, 1.0, 2.0, INF, False)]),
        S(OP_SUCCEED)])
    ap = account([mp])
    r = simulate_account_ref(ap, arrivals((0.0, 0, K_SFN, 0, SYNC)),
                             streams(ap, call_u={0: [0.25, 0.75]}, wst={(0, 0): [500.0, 500.0]}), 10.0,
                             record_spans=True)
    assert r.entry[0].latency_s == [2.125]
    assert counts(r, succeeded=1, transitions=3) == dict(succeeded=1, transitions=3)
    assert r.calls[1] == [call_stat(made=1, ok=1, attempts=2, retries=1)]
    assert [s[1:3] for s in spans_of(r, SK_CLIENT, K_FUNCTION)] == [(0.0, 0.0625), (1.5625, 1.625)]
    assert [row[0] for row in fn_rows(r)] == [0.0625, 1.625]  # fn0 itself runs async
    assert r.draws_used == {("CLAT", 1, 0): 2, ("WST", 0, 0): 2, ("CALL", 1): 2}


# ---- quotas -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("express, accepted", [(False, 4), (True, 7)])
def test_start_execution_throttling(express, accepted):
    """The Standard StartExecution bucket holds 2 and refills 1/s, full at 0: of starts at 0, 0,
    0, 0.5, 1.0, 1.25, 2.0 the third (0 tokens), the fourth (0.5) and the sixth (0.25) are
    refused. An Express machine takes its own bucket (no quota here): all accepted."""
    mp = MachineParams(express=express, states=[S(OP_SUCCEED)])
    ap = account([mp], quotas=(1.0, 2.0, INF, INF, INF, INF))
    times = [0.0, 0.0, 0.0, 0.5, 1.0, 1.25, 2.0]
    r = simulate_account_ref(ap, arrivals(*[(t, 0, K_SFN, 0, ASYNC) for t in times]), streams(ap), 10.0,
                             record_spans=True)
    assert counts(r, started=accepted, throttled=7 - accepted, succeeded=accepted) == dict(
        started=accepted, throttled=7 - accepted, succeeded=accepted)
    e = r.entry[0]
    assert (e.succeeded, e.throttled) == (accepted, 7 - accepted)
    if not express:
        refused = sorted(s[11] for s in r.spans if s[2] < 0 and s[7])
        assert refused == [0.0, 0.5, 1.25]


def test_start_execution_throttled_call_is_retried_by_the_sdk():
    """Two invocations of fn0 at 0 each call StartExecution (async, up to 3 attempts, no latency);
    the bucket holds 1 and refills 1/s: the second call is throttled at 0, retried U·1 = 0.5 s
    later (0.5 tokens: throttled again), then U·2 = 1 s later (1.5: a full bucket of 1): accepted."""
    mp = MachineParams(express=False, states=[S(OP_SUCCEED)])
    calls = [[CallParams(K_SFN, 0, sync=False, max_attempts=3)]]
    ap = account([mp], calls=calls, quotas=(1.0, 1.0, INF, INF, INF, INF))
    arr = arrivals((0.0, 0, K_FUNCTION, 0, ASYNC), (0.0, 0, K_FUNCTION, 0, ASYNC))
    r = simulate_account_ref(ap, arr, streams(ap, dur=0.0, clat=0.0), 10.0)
    assert counts(r, started=2, throttled=2) == dict(started=2, throttled=2)
    assert r.calls[0] == [call_stat(made=2, ok=2, attempts=4, retries=2)]
    assert fn_rows(r) == [(0.0, OK, 0.0), (0.0, OK, 1500.0)]


@pytest.mark.parametrize("express, end", [(False, 2.0), (True, 0.0)])
def test_state_transition_bucket_delays_transitions(express, end):
    """StateTransition bucket of 2 refilling 1/s: Pass, Pass take the two tokens at 0; the third
    Pass's token leaves -1: it waits 1 s (ENTER_PAID at 1.0); the Succeed's at 1.0 leaves -1 again:
    at 2.0. Express machines take no StateTransition token."""
    mp = MachineParams(express=express, states=[S(OP_PASS, next=1), S(OP_PASS, next=2), S(OP_PASS, next=3),
                                                S(OP_SUCCEED)])
    ap = account([mp], quotas=(INF, INF, INF, INF, 1.0, 2.0))
    r = simulate_account_ref(ap, arrivals((0.0, 0, K_SFN, 0, SYNC)), streams(ap), 10.0)
    assert r.entry[0].latency_s == [end]
    delayed = 0 if express else 2
    assert counts(r, transitions=4, transitions_delayed=delayed) == dict(transitions=4,
                                                                          transitions_delayed=delayed)


# ---- billing --------------------------------------------------------------------------------------

def test_express_units():
    """An Express machine of 100 MB (two 64 MB chunks) waits a drawn 0.25 s, 0.1 s and 0 s:
    3 + 1 + 1 steps of 100 ms, × 2 = 10 units. The second starts at 0.3 and ends at 0.4: its
    duration in ms is 100.00000000000003, billed as 100 (BILLED_EPS_MS), one step."""
    mp = MachineParams(express=True, memory_mb=100, states=[S(OP_WAIT, stream=True)])
    ap = account([mp])
    arr = arrivals((0.0, 0, K_SFN, 0, SYNC), (0.3, 0, K_SFN, 0, SYNC), (1.0, 0, K_SFN, 0, SYNC))
    assert ((0.3 + 0.1) - 0.3) * 1000.0 > 100.0
    r = simulate_account_ref(ap, arr, streams(ap, wst={(0, 0): [0.25, 0.1, 0.0]}), 10.0)
    assert counts(r, succeeded=3, express_units=10) == dict(succeeded=3, express_units=10)
    std = account([MachineParams(express=False, states=[S(OP_WAIT, stream=True)])])
    r = simulate_account_ref(std, arr, streams(std, wst={(0, 0): [0.25, 0.1, 0.0]}), 10.0)
    assert counts(r, succeeded=3, express_units=0) == dict(succeeded=3, express_units=0)


# ---- executions started by functions and by executions ---------------------------------------------

@pytest.mark.parametrize("error_rate, outcome, latency_ms", [(0.0, OK, 625.0), (1.0, ERROR, 375.0)])
def test_start_sync_execution_from_a_function(error_rate, outcome, latency_ms):
    """fn0 calls StartSyncExecution (62.5 ms) of an Express machine whose Task invokes fn1
    (62.5 + 250 ms) and ends at 0.375; fn0 then runs its own 250 ms: 625 ms, all billed. When
    fn1 fails the execution fails, fn0's call gets a function error (not retried) and fn0 fails
    at 0.375."""
    mp = MachineParams(express=True, calls=[lam(1)], states=[S(OP_TASK, next=1, call=0), S(OP_SUCCEED)])
    calls = [[CallParams(K_SFN, 0, sync=True, max_attempts=1)], []]
    ap = account([mp], n_fn=2, calls=calls, error_rate=[0.0, error_rate])
    r = simulate_account_ref(ap, arrivals((0.0, 0, K_FUNCTION, 0, SYNC)), streams(ap), 10.0, record_spans=True)
    assert fn_rows(r, 0) == [(0.0, outcome, latency_ms)]
    assert r.pool.billed_ms[0] == int(latency_ms)
    ok = error_rate == 0.0
    assert counts(r, started=1, succeeded=int(ok), failed=int(not ok), time_us=312_500, express_units=4) == dict(
        started=1, succeeded=int(ok), failed=int(not ok), time_us=312_500, express_units=4)
    assert r.calls[0] == [call_stat(made=1, ok=int(ok), failed=int(not ok), attempts=1)]
    (start_call,) = spans_of(r, SK_CLIENT, K_SFN)
    (server,) = spans_of(r, SK_SERVER, K_SFN)
    assert server[0] == start_call[6] and server[1:4] == (0.0625, 0.375, int(not ok))


@pytest.mark.parametrize("sync, root_end", [(True, 1.0625), (False, 0.0625)])
def test_child_execution_from_a_task(sync, root_end):
    """Machine 0's Task starts machine 1 (StartExecution[.sync], 62.5 ms), which waits 1 s: with
    .sync the Task waits for its end (1.0625), without it goes on at once."""
    m0 = MachineParams(express=False, calls=[CallParams(K_SFN, 1, sync=sync, max_attempts=1)],
                       states=[S(OP_TASK, next=1, call=0), S(OP_SUCCEED)])
    m1 = MachineParams(express=False, states=[S(OP_WAIT, wait_s=1.0)])
    ap = account([m0, m1])
    r = simulate_account_ref(ap, arrivals((0.0, 0, K_SFN, 0, SYNC)), streams(ap), 10.0, record_spans=True)
    assert r.entry[0].latency_s == [root_end]
    assert counts(r, 0, started=1, succeeded=1, transitions=2) == dict(started=1, succeeded=1, transitions=2)
    assert counts(r, 1, started=1, succeeded=1, transitions=1, time_us=1_000_000) == dict(
        started=1, succeeded=1, transitions=1, time_us=1_000_000)
    assert r.calls[1] == [call_stat(made=1, ok=1, attempts=1)] and r.calls[2] == []
    assert r.trace_end == {0: (0.0, 1.0625)}
    (task,) = [x for x in spans_of(r, SK_CLIENT, K_SFN) if x[0] >= 0]  # not the client's request
    servers = sorted(spans_of(r, SK_SERVER, K_SFN), key=lambda s: s[1])
    assert servers[1][0] == task[6] and servers[1][1:3] == (0.0625, 1.0625)


def test_child_execution_refused_is_a_throttle_error():
    """Machine 1's start bucket is empty (burst 0): machine 0's .sync Task gets R_THROTTLED, the
    error ERR_THROTTLED (not Lambda's), caught by a catcher of that mask only into Succeed."""
    from kernels.account import ERR_LAMBDA_THROTTLED, ERR_THROTTLED
    m0 = MachineParams(express=True, calls=[CallParams(K_SFN, 1, sync=True, max_attempts=1)],
                       states=[S(OP_TASK, next=2, call=0, catchers=[(ERR_LAMBDA_THROTTLED, 2), (ERR_THROTTLED, 1)]),
                               S(OP_SUCCEED), S(OP_FAIL)])
    m1 = MachineParams(express=False, states=[S(OP_SUCCEED)])
    ap = account([m0, m1], quotas=(1.0, 0.0, INF, INF, INF, INF))
    r = simulate_account_ref(ap, arrivals((0.0, 0, K_SFN, 0, SYNC)), streams(ap), 10.0)
    assert counts(r, 0, succeeded=1, transitions=2) == dict(succeeded=1, transitions=2)
    assert counts(r, 1, started=0, throttled=1) == dict(started=0, throttled=1)
    assert r.entry[0].latency_s == [0.0625]


# ---- conservation ---------------------------------------------------------------------------------

def rich_account(rng):
    """Two machines using every state, errors, retries, catches, callbacks, timeouts and quotas."""
    m0 = MachineParams(express=False, timeout_s=float(rng.choice([3.0, 6.0, INF])), calls=[
        lam(0), lam(1, sync=False), CallParams(K_SFN, 1, sync=True, max_attempts=1), lam(0)], states=[
        S(OP_TASK, next=1, call=0, timeout_s=0.4, retriers=[(ERR_FUNCTION | ERR_TIMEOUT, 2, 0.5, 2.0, INF, True)],
          catchers=[(ERR_ALL, 5)]),                                                               # 0
        S(OP_CHOICE, branches=[(0.4, 2), (0.8, 3)]),                                               # 1
        S(OP_PARALLEL, next=4, branches=[6, 8, 10], retriers=[(ERR_ALL, 1, 0.25, 2.0, INF, False)],
          catchers=[(ERR_ALL, 5)]),                                                               # 2
        S(OP_MAP, next=4, processor=9, max_concurrency=2, stream=True, tolerated_count=1,
          catchers=[(ERR_ALL, 5)]),                                                               # 3
        S(OP_SUCCEED), S(OP_FAIL),                                                                 # 4, 5
        S(OP_WAIT, next=7, stream=True),                                                           # 6
        S(OP_TASK, call=1, callback=True, callback_failure=0.3, stream=True, timeout_s=1.0),       # 7
        S(OP_TASK, call=2),                                                                        # 8
        S(OP_TASK, call=3, retriers=[(ERR_ALL, 1, 0.1, 2.0, INF, False)]),                        # 9
        S(OP_WAIT, wait_s=0.75),                                                                   # 10: End
    ])
    m1 = MachineParams(express=True, timeout_s=2.0, memory_mb=128, calls=[lam(1)],
                       states=[S(OP_WAIT, next=1, stream=True), S(OP_TASK, call=0)])
    ap = account([m0, m1], n_fn=2, reserved=[2, -1], unres_cap=3, error_rate=[0.3, 0.1],
                 quotas=(2.0, 3.0, 5.0, 2.0, 8.0, 4.0))
    n = 400
    s = streams(ap)
    s["DUR"] = [rng.exponential(300.0, n) for _ in range(2)]
    s["INIT"] = [rng.exponential(100.0, n) for _ in range(2)]
    s["U"] = [rng.uniform(size=n) for _ in range(2)]
    s["CALL"] = [rng.uniform(size=n) for _ in range(4)]
    s["CLAT"] = [[], [], [rng.exponential(20.0, n) for _ in range(4)], [rng.exponential(20.0, n)]]
    s["WST"] = [[np.array([]), np.array([]), np.array([]), rng.uniform(-1, 5, n), np.array([]), np.array([]),
                 rng.exponential(0.5, n), rng.exponential(300.0, n), np.array([]), np.array([]), np.array([])],
                [rng.exponential(0.5, n), np.array([])]]
    k = int(rng.integers(5, 40))
    times = np.sort(rng.uniform(0, 8, k))
    arr = arrivals(*[(float(t), 0, K_SFN, int(rng.integers(0, 2)), int(rng.integers(0, 2))) for t in times])
    return ap, arr, s


@pytest.mark.parametrize("seed", range(25))
def test_conservation_on_random_executions(seed):
    ap, arr, s = rich_account(np.random.default_rng(seed))
    r = simulate_account_ref(ap, arr, s, 10.0, period_s=2.5, record_spans=True)
    for m in range(2):
        c = w(r, m)
        assert c["started"] == c["succeeded"] + c["failed"] + c["timed_out"] + r.workflows_open_end[m], (m, c)
        assert c["time_max_us"] <= c["time_us"]
    assert w(r, 0)["express_units"] == 0
    for cs in r.calls:
        for st in cs:
            assert st["made"] == st["ok"] + st["failed"] + st["abandoned"] + st["in_flight_end"], st
            assert st["attempts"] == st["made"] + st["retries"], st
    n = len(arr["t"])
    assert len(r.trace_end) + r.traces_open_end == n
    e = r.entry[0]
    assert e.succeeded + e.failed + e.throttled <= e.requests == n
    starts = sum(w(r, m)["started"] + w(r, m)["throttled"] for m in range(2))
    assert starts >= n  # every arrival asks for a start, and machine 0's Task 8 asks for more
