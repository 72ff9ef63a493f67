"""Step Functions executions in the account kernel (ACCOUNT_SPEC.md §14), worked by hand."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from kernels import account as A
from kernels.ref.account import K_FUNCTION, AccountParams
from test_account_twin import arrivals, chain_streams, compare, const, run_kernel
from test_workflow_ref import rich_account
from test_queue_ref import fleet_params, mapping_params, pool_params, queue_params


def machine_params(n_fn, machines, calls=None):
    params = AccountParams(pool=pool_params(n_fn, n_calls=[len(c) for c in (calls or [[]] * n_fn)]),
                           queues=queue_params(1), mappings=mapping_params(0), fleets=fleet_params(0), units=[],
                           routes=[], dlq_queue=[], calls=calls or [[] for _ in range(n_fn)], endpoints=[])
    params.machines = machines
    params.sfn_quotas = (math.inf,) * 6
    return params


def streams(n_fn, dur, machines, clat_fn=(), call_u=0.5, wclat=10.0, wst=None, wcall=None, n=400):
    s = chain_streams(n_fn, dur, [], clat=list(clat_fn), call_u=call_u, n=n)
    s["CALL"] = list(s["CALL"]) + [const(n, 0.5) if wcall is None else wcall for _ in machines]
    s["CLAT"] = list(s["CLAT"]) + [[const(n, wclat) for _ in mp.calls] for mp in machines]
    s["WST"] = [[(wst or {}).get((m, j), const(n, 0.0)) for j in range(len(mp.states))]
                for m, mp in enumerate(machines)]
    return s


def run(params, items, s, t_end=100.0, period_s=1000.0, windows=None):
    rows, state, fan, calls = run_kernel(params, arrivals(items), s, t_end, period_s, windows=windows)
    return rows, state, calls


def counts(calls, m=0):
    return {n: int(calls.wcnt[:, m, j].sum()) for j, n in enumerate(A.WORKFLOW_COUNTERS)}


def task_pass_succeed(express=False):
    return A.MachineParams(express=express, states=[
        A.StateParams(A.OP_TASK, next=1, call=0), A.StateParams(A.OP_PASS, next=2), A.StateParams(A.OP_SUCCEED)],
        calls=[A.CallParams(K_FUNCTION, 0, sync=True, max_attempts=1)])


def test_a_task_then_pass_then_succeed():
    mp = task_pass_succeed()
    params = machine_params(1, [mp])
    s = streams(1, [100.0], [mp])
    _rows, _state, calls = run(params, [(0.0, A.K_SFN, 0, 1, 100, 0, 0)], s)
    c = counts(calls)
    # the task's request reaches f0 at 0.010; cold (125 ms) + 100 ms: answered at 0.235
    assert c["started"] == c["succeeded"] == 1
    assert c["transitions"] == 3
    assert c["time_us"] == 235_000


def retry_catch_machine(full=False):
    # Task (f0, always failing) with Retry [TaskFailed: 2 s, x2, 3 attempts], Catch -> Fail
    return A.MachineParams(express=False, states=[
        A.StateParams(A.OP_TASK, next=1, call=0,
                      retriers=[(A.ERR_FUNCTION | A.ERR_LAMBDA_THROTTLED | A.ERR_THROTTLED, 3, 2.0, 2.0, math.inf,
                                 full)],
                      catchers=[(A.ERR_ALL, 2)]),
        A.StateParams(A.OP_SUCCEED), A.StateParams(A.OP_FAIL)],
        calls=[A.CallParams(K_FUNCTION, 0, sync=True, max_attempts=1)])


def test_retries_with_their_delays_then_a_catch():
    mp = retry_catch_machine()
    params = machine_params(1, [mp])
    params.pool = pool_params(1, error_rate=[1.0])
    s = streams(1, [100.0], [mp])
    _rows, state, calls = run(params, [(0.0, A.K_SFN, 0, 1, 100, 0, 0)], s)
    c = counts(calls)
    # attempts end at 0.235 (cold), then warm 0.110 each: retries at +2, +4, +8 s
    # 0.235 -> 2.235 (+0.110 = 2.345) -> 6.345 (6.455) -> 14.455 (14.565): caught, Fail
    assert c["failed"] == 1 and c["succeeded"] == 0
    assert c["transitions"] == 1 + 3 + 1  # the task, its three retries, the Fail state
    assert c["time_us"] == 14_565_000
    k = int(calls.cfo[1])  # the machine's first call
    assert calls.cstat[k].tolist() == [1, 0, 1, 0, 4, 3]  # made, ok, failed, abandoned, attempts, retries


def test_choice_wait_and_express_units():
    # Choice (p 0.3 -> Wait 2 s -> Succeed; else -> Succeed), Express, 64 MB
    mp = A.MachineParams(express=True, memory_mb=100, states=[
        A.StateParams(A.OP_CHOICE, branches=[(0.3, 1)]), A.StateParams(A.OP_WAIT, next=2, wait_s=2.0),
        A.StateParams(A.OP_SUCCEED)])
    params = machine_params(1, [mp])
    s = streams(1, [100.0], [mp], wcall=np.tile([0.1, 0.9], 200))
    items = [(0.0, A.K_SFN, 0, 1, 100, 0, 0), (1.0, A.K_SFN, 0, 1, 100, 0, 0)]
    _rows, _state, calls = run(params, items, s)
    c = counts(calls)
    # the first takes the Wait (U 0.1 < 0.3): 2 s; the second goes to the remainder: NoChoiceMatched
    assert c["succeeded"] == 1 and c["failed"] == 1
    assert c["transitions"] == 3 + 1
    # 2 s = 20 steps of 100 ms x 2 chunks of 64 MB; 0 s = 1 x 2
    assert c["express_units"] == 20 * 2 + 1 * 2


def test_parallel_and_map():
    # Parallel of two branches (f0 100 ms; Wait 1 s) then a Map of 5 items (f0), 2 at once
    mp = A.MachineParams(express=False, states=[
        A.StateParams(A.OP_PARALLEL, next=1, branches=[3, 5]),
        A.StateParams(A.OP_MAP, next=2, processor=6, max_concurrency=2, stream=True),
        A.StateParams(A.OP_SUCCEED),
        A.StateParams(A.OP_TASK, next=4, call=0), A.StateParams(A.OP_SUCCEED),
        A.StateParams(A.OP_WAIT, wait_s=1.0),
        A.StateParams(A.OP_TASK, call=1)],
        calls=[A.CallParams(K_FUNCTION, 0, sync=True, max_attempts=1), A.CallParams(K_FUNCTION, 0, sync=True,
                                                                                     max_attempts=1)])
    params = machine_params(1, [mp])
    s = streams(1, [100.0], [mp], wst={(0, 1): const(400, 5.0)})
    s["INIT"] = [const(400, 0.0)]
    _rows, _state, calls = run(params, [(0.0, A.K_SFN, 0, 1, 100, 0, 0)], s)
    c = counts(calls)
    # Parallel ends at 1.0 (the Wait); the Map: waves of 0.110 s: 2 + 2 + 1 -> 1.330
    assert c["succeeded"] == 1
    assert c["time_us"] == 1_330_000
    # transitions: Parallel 1, branch a 2, branch b 1, Map 1, 5 iterations x 1, Succeed 1
    assert c["transitions"] == 1 + 2 + 1 + 1 + 5 + 1


# ---- the kernel against its twin ----------------------------------------------------------------

def _items(arr):
    """The twin's arrivals (tests/test_account_ref.arrivals) as test_account_twin's items."""
    return [(float(t), int(k), int(i), int(v), int(b), int(key), 0)
            for t, k, i, v, b, key in zip(arr["t"], arr["kind"], arr["index"], arr["inv"], arr["size_bytes"],
                                           arr["key"])]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), cut=st.floats(0.05, 3.0))
def test_kernel_matches_twin_on_random_executions(seed, cut):
    """Two machines using every state, errors, retries, catches, callbacks, timeouts, both quotas,
    a child execution and Lambda throttles (test_workflow_ref.rich_account): the kernel and its
    twin agree exactly — pool rows, every call counter, draws, executions' counters per period,
    entry points and spans — whatever the windows."""
    ap, arr, s = rich_account(np.random.default_rng(seed))
    s.update(FU=[], FLAT=[], ELAT=[], EU=[])
    items = _items(arr)
    ref, _state, _fan = compare(ap, items, s, 10.0, 2.5)
    assert sum(int(w[:, A.W_STARTED].sum()) for w in ref.workflows) > 0
    compare(ap, items, s, 10.0, 2.5, windows=[cut * k for k in range(1, int(10.0 / cut) + 1)])


def test_a_bus_rule_starts_executions_and_a_function_starts_one_synchronously():
    """An EventBridge rule's target is machine 0 (StartExecution at the delivery); function 0
    calls machine 1 synchronously (StartSyncExecution): its own duration includes the execution.
    The kernel and the twin agree whatever the windows."""
    from sim.messaging.fanout_state import Target, eventbridge_params

    m0 = task_pass_succeed()
    m1 = A.MachineParams(express=True, states=[A.StateParams(A.OP_WAIT, next=1, wait_s=0.5),
                                               A.StateParams(A.OP_SUCCEED)])
    bus = eventbridge_params(np.ones((1, 1), bool), [[Target()]])
    params = machine_params(1, [m0, m1], calls=[[A.CallParams(A.K_SFN, 1, sync=True, max_attempts=3)]])
    params.units = [bus]
    params.routes = [[(A.K_SFN, 0)]]
    params.dlq_queue = [[-1]]
    s = streams(1, [100.0], [m0, m1], clat_fn=[[10.0]])
    s.update(FU=[[const(400, 0.5)]], FLAT=[[const(400, 62.5)]], ELAT=[], EU=[])
    items = [(0.0, A.K_UNIT, 0, 1, 100, 0, 0), (1.0, A.K_FUNCTION, 0, 0, 100, 0, 0)]
    ref, _state, _fan = compare(params, items, s, 10.0, 5.0)
    for windows in ([0.01 * k for k in range(1, 300)], [0.5, 1.0, 1.25]):
        compare(params, items, s, 10.0, 5.0, windows=windows)
    w0, w1 = (ref.workflows[m].sum(axis=0) for m in (0, 1))
    assert w0[A.W_STARTED] == w0[A.W_SUCCEEDED] == 1  # the bus's delivery at 0.0625
    # machine 0's task invokes f0, which starts machine 1; so does the arrival at 1.0
    assert w1[A.W_STARTED] == w1[A.W_SUCCEEDED] == 2
    # machine 0: its task reaches f0 at 0.0725 (cold: 125 ms), f0's call starts machine 1 at 0.2075,
    # which waits 0.5 s; f0 then runs its 100 ms: answered at 0.8075; the execution ends there
    assert w0[A.W_TIME_US] == round((0.8075 - 0.0625) * 1e6)
