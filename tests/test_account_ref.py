"""Exact traces of the account twin (kernels/ref/account.py), worked out by hand from
ACCOUNT_SPEC.md: calls, SDK retries, fan-out into queues, traces and entry points.

Times are multiples of 1/16 s so everything compares with `==`.
"""

import math

import numpy as np
import pytest

from kernels.ref.account import (K_FUNCTION, K_QUEUE, K_UNIT, AccountParams, CallParams, EndpointParams,
                                 K_ENDPOINT, simulate_account_ref)
from sim.messaging.fanout_state import sns_params
from kernels.account import KIND_NAMES
from kernels.lambda_pool import SK_PRODUCER, SK_SERVER
from kernels.ref.lambda_pool import ERROR, OK, THROTTLED, TIMEOUT
from test_queue_ref import fleet_params, mapping_params, pool_params, queue_params

FAR = 1e9


def arrivals(*items):
    """items: (t, entry, kind, index, inv) — sync/async function calls, sends, publishes."""
    cols = {k: [] for k in ("t", "id", "entry", "kind", "index", "src", "inv", "dur_override_ms",
                            "size_bytes", "key", "group")}
    for i, (t, entry, kind, index, inv) in enumerate(items):
        for k, v in zip(cols, (t, i, entry, kind, index, entry, inv, math.nan, 1024, 0, 0)):
            cols[k].append(v)
    return {k: np.asarray(v, np.float64 if k in ("t", "dur_override_ms") else np.int64) for k, v in cols.items()}


def streams(n_fn, dur, init, calls_lat=(), call_u=None, flat=(), n_map=1, elat=(), eu=()):
    """Constant streams: per function its DUR and INIT value (ms), EXP far away, U 0.5."""
    long = 50
    return {
        "DUR": [np.full(long, d) for d in dur], "INIT": [np.full(long, i) for i in init],
        "EXP": [np.full(long, 600.0)] * n_fn, "U": [np.full(long, 0.5)] * n_fn,
        "ITEM": [np.full(long, 0.5)] * n_map, "PROC": [], "WERR": [],
        "CALL": [np.full(long, 0.5) if call_u is None else np.asarray(call_u[f]) for f in range(n_fn)],
        "CLAT": [[np.full(long, v) for v in per_fn] for per_fn in calls_lat] + [[] for _ in range(n_fn - len(calls_lat))],
        "FU": [[np.full(long, 0.5) for _ in unit] for unit in flat],
        "FLAT": [[np.full(long, v) for v in unit] for unit in flat],
        "ELAT": [np.full(long, v) for v in elat], "EU": [np.full(long, v) for v in eu],
    }


def chain_params(reserved_b=-1, retry_b=3, **pool_over):
    """A (0) -> sync B (1) -> async topic 0 -> queue 0 -> mapping -> C (2)."""
    p = pool_params(3, reserved=[-1, reserved_b, -1], unres_cap=1000 - max(reserved_b, 0),
                    retry_max_attempts=[1, 1], retry_base_s=[0.5] * 2, retry_cap_s=[20.0] * 2, retry_jitter=[0] * 2,
                    **pool_over)
    topic = sns_params(np.ones((1, 1), bool), ["sqs"])
    return AccountParams(
        pool=p, queues=queue_params(1), mappings=mapping_params(1, function=[2], batch_size=[1]),
        fleets=fleet_params(0), units=[topic], routes=[[(K_QUEUE, 0)]], dlq_queue=[[-1]],
        calls=[[CallParams(K_FUNCTION, 1, sync=True, max_attempts=retry_b),
                CallParams(K_UNIT, 0, sync=False)], [], []])


CHAIN_STREAMS = dict(n_fn=3, dur=[250.0, 250.0, 250.0], init=[125.0] * 3, calls_lat=[[62.5, 62.5]], flat=[[125.0]])


def named(span):
    """A twin span (the kernel's layout, lambda_pool SP_*) as (trace, id, parent, name, kind,
    start, end, status), named here for reading: `root`, `fnF invoke`, `fnF → functionG` (a
    call), `unitU deliver → queueQ`."""
    rid, sid, parent, kind, rkind, ridx, frm, error, _cold, _att, _answer, start, end = span
    what = f"{KIND_NAMES[rkind]}{ridx}"
    if kind == SK_SERVER:
        name = f"fn{ridx} invoke"
    elif kind == SK_PRODUCER:
        name = f"unit{frm} deliver → {what}"
    else:
        name = "root" if parent < 0 else f"fn{frm} → {what}"
    return rid, sid, parent, name, kind, start, end, "ERROR" if error else "OK"


def spans_by_name(r):
    return {n[3]: n for n in map(named, r.spans)}


def test_chain_traced_by_hand():
    r = simulate_account_ref(chain_params(), arrivals((0.0, 0, K_FUNCTION, 0, 0)), streams(**CHAIN_STREAMS), 10.0,
                             record_spans=True)
    rows = sorted(r.pool.rows, key=lambda row: row[2])
    # A starts cold at 0 (init 125 ms): call0 at 0.125 reaches B at 0.1875; B (cold) answers at
    # 0.5625; call1 publishes at 0.625; A's own 250 ms end it at 0.875. The topic delivers at
    # 0.75 into the queue; a poller invokes C (cold) at once, which ends at 1.125.
    assert [(row[3], row[2], row[4], row[7]) for row in rows] == [
        (0, 0.0, OK, 875.0), (1, 0.1875, OK, 375.0), (2, 0.75, OK, 375.0)]
    s = spans_by_name(r)
    assert (s["root"][5], s["root"][6], s["root"][2]) == (0.0, 0.875, -1)  # the client's request
    assert s["fn0 invoke"][2] == s["root"][1]
    assert (s["fn0 invoke"][5], s["fn0 invoke"][6]) == (0.0, 0.875)
    assert (s["fn0 → function1"][5], s["fn0 → function1"][6]) == (0.125, 0.5625)
    assert (s["fn1 invoke"][5], s["fn1 invoke"][6]) == (0.1875, 0.5625)
    assert (s["fn0 → unit0"][5], s["fn0 → unit0"][6]) == (0.5625, 0.625)
    assert (s["unit0 deliver → queue0"][5], s["unit0 deliver → queue0"][6]) == (0.625, 0.75)
    assert (s["fn2 invoke"][5], s["fn2 invoke"][6]) == (0.75, 1.125)
    # parents: B under call0, the delivery under call1, C under the delivery
    assert s["fn1 invoke"][2] == s["fn0 → function1"][1]
    assert s["fn0 → function1"][2] == s["fn0 invoke"][1]
    assert s["unit0 deliver → queue0"][2] == s["fn0 → unit0"][1]
    assert s["fn2 invoke"][2] == s["unit0 deliver → queue0"][1]
    assert {x[0] for x in r.spans} == {0}
    e = r.entry[0]
    assert (e.requests, e.succeeded, e.failed, e.throttled) == (1, 1, 0, 0)
    assert e.latency_s == [0.875] and e.completion_s == [1.125]
    assert r.trace_end == {0: (0.0, 1.125)} and r.traces_open_end == 0
    assert r.pool.billed_ms == [875, 375, 375]
    assert r.messaging.deleted == [1]
    assert r.calls[0] == [dict(made=1, ok=1, failed=0, abandoned=0, in_flight_end=0, attempts=1, retries=0)] * 2


def test_warm_chain_is_shorter_by_the_inits():
    """A second request after the first finished: every environment is warm."""
    r = simulate_account_ref(chain_params(), arrivals((0.0, 0, K_FUNCTION, 0, 0), (2.0, 0, K_FUNCTION, 0, 0)),
                             streams(**CHAIN_STREAMS), 10.0)
    second = [row for row in r.pool.rows if row[2] >= 2.0]
    assert sorted((row[3], row[2], row[7], row[5]) for row in second) == [
        (0, 2.0, 625.0, 0), (1, 2.0625, 250.0, 0), (2, 2.5, 250.0, 0)]
    assert r.entry[0].latency_s == [0.875, 0.625]
    assert r.entry[0].completion_s == [1.125, 0.75]


def test_throttled_sync_call_retried_by_the_sdk():
    """B has reserved concurrency 1, taken by a direct request at 0 until 0.375: A's call at
    0.1875 is throttled; the SDK waits U·min(2^0, 20) = 0.5 s, calls again at 0.6875 (arriving
    0.75, B warm), B answers at 1.0; A publishes at 1.0625 and ends at 1.3125."""
    r = simulate_account_ref(chain_params(reserved_b=1), arrivals((0.0, 0, K_FUNCTION, 0, 0), (0.0, 1, K_FUNCTION, 1, 0)),
                             streams(**CHAIN_STREAMS), 10.0, record_spans=True)
    b_rows = sorted((row[2], row[4]) for row in r.pool.rows if row[3] == 1)
    assert b_rows == [(0.0, OK), (0.1875, THROTTLED), (0.75, OK)]
    a_row = [row for row in r.pool.rows if row[3] == 0][0]
    assert (a_row[2], a_row[4], a_row[7]) == (0.0, OK, 1312.5)
    calls = [s for s in map(named, r.spans) if s[3] == "fn0 → function1"]
    assert [(s[5], s[6], s[7]) for s in calls] == [(0.125, 0.1875, "ERROR"), (0.6875, 1.0, "OK")]
    assert r.calls[0][0] == dict(made=1, ok=1, failed=0, abandoned=0, in_flight_end=0, attempts=2, retries=1)
    c_row = [row for row in r.pool.rows if row[3] == 2][0]
    assert c_row[2] == 1.1875
    assert r.entry[0].latency_s == [1.3125] and r.entry[0].completion_s == [1.5625]


def test_exhausted_sdk_retries_fail_the_caller():
    """With max_attempts 1 the throttle is A's error at 0.1875 (no publish, no C)."""
    r = simulate_account_ref(chain_params(reserved_b=1, retry_b=1),
                             arrivals((0.0, 0, K_FUNCTION, 0, 0), (0.0, 1, K_FUNCTION, 1, 0)),
                             streams(**CHAIN_STREAMS), 10.0)
    a_row = [row for row in r.pool.rows if row[3] == 0][0]
    assert (a_row[4], a_row[7]) == (ERROR, 187.5)
    assert r.entry[0].failed == 1 and r.entry[0].latency_s == [0.1875]
    assert r.calls[0][0]["failed"] == 1 and r.calls[0][1]["made"] == 0
    assert not [row for row in r.pool.rows if row[3] == 2]


def test_timeout_cuts_the_wait_and_the_callee_runs_on():
    """A's timeout (0.25 s after its init) comes while B runs: A ends at 0.375 (timeout), B
    still completes at 0.5625; its late answer is counted as abandoned; the trace closes then."""
    p = chain_params(timeout_ms=[250.0, 60_000.0, 60_000.0])
    r = simulate_account_ref(p, arrivals((0.0, 0, K_FUNCTION, 0, 0)), streams(**CHAIN_STREAMS), 10.0)
    a_row = [row for row in r.pool.rows if row[3] == 0][0]
    assert (a_row[4], a_row[7]) == (TIMEOUT, 375.0)
    assert r.calls[0][0] == dict(made=1, ok=0, failed=0, abandoned=1, in_flight_end=0, attempts=1, retries=0)
    assert r.trace_end[0] == (0.0, 0.5625)


@pytest.mark.parametrize("attempts, outcome, latency_ms, throttled", [(2, ERROR, 500.0, 2), (3, OK, 1625.0, 2)])
def test_endpoint_rate_limit_answers_429_and_the_sdk_retries(attempts, outcome, latency_ms, throttled):
    """A calls endpoint 0 (1 request/s, burst 1, 125 ms). The first request at 0 takes the
    token. The second's call at 0.0625 finds 0.0625 tokens: 429; the SDK waits U·1 = 0.5 s:
    at 0.5625, 0.5625 tokens: 429 again — with 2 attempts A fails there (500 ms); with 3 the
    SDK waits U·2 = 1 s: at 1.5625 the bucket is full again, the endpoint answers at 1.6875."""
    p = pool_params(1)
    ap = AccountParams(pool=p, queues=queue_params(0), mappings=mapping_params(0), fleets=fleet_params(0),
                       calls=[[CallParams(K_ENDPOINT, 0, sync=True, max_attempts=attempts)]],
                       endpoints=[EndpointParams(rate_per_s=1.0, burst=1.0)])
    s = streams(1, dur=[0.0], init=[0.0], calls_lat=[[0.0]], elat=[125.0], eu=[0.5], n_map=0)
    r = simulate_account_ref(ap, arrivals((0.0, 0, K_FUNCTION, 0, 0), (0.0625, 0, K_FUNCTION, 0, 0)), s, 10.0)
    assert sorted((row[2], row[4], row[7]) for row in r.pool.rows) == [(0.0, OK, 125.0), (0.0625, outcome, latency_ms)]
    ok = 2 if outcome == OK else 1
    assert r.endpoints[0] == dict(requests=ok + throttled, ok=ok, errors=0, throttled=throttled, outage=0,
                                  in_progress_end=0)
    assert r.entry[0].succeeded == ok and r.entry[0].failed == 2 - ok


def test_probability_and_count():
    """count 3 makes three sends; probability 0.3 with U = 0.5 makes none."""
    p = pool_params(1)
    ap = AccountParams(pool=p, queues=queue_params(2), mappings=mapping_params(0), fleets=fleet_params(0),
                       calls=[[CallParams(K_QUEUE, 0, sync=False, count=3), CallParams(K_QUEUE, 1, sync=False, probability=0.3)]])
    s = streams(1, dur=[0.0], init=[0.0], calls_lat=[[0.0, 0.0]], n_map=0)
    r = simulate_account_ref(ap, arrivals((0.0, 0, K_FUNCTION, 0, 1)), s, 10.0)
    assert r.messaging.sent == [3, 0]
    assert r.calls[0][0]["made"] == 3 and r.calls[0][1]["made"] == 0
    assert r.traces_open_end == 1  # the three messages wait in the queue, nobody consumes them


def test_self_feeding_queue_conserves_per_edge():
    """C reads queue 0 and sends back to it with probability 0.5 (U alternates 0.25/0.75)."""
    p = pool_params(1)
    ap = AccountParams(pool=p, queues=queue_params(1), mappings=mapping_params(1, function=[0], batch_size=[1]),
                       fleets=fleet_params(0), calls=[[CallParams(K_QUEUE, 0, sync=False, probability=0.5, at_end=True)]])
    u = np.tile([0.25, 0.75], 100)
    s = streams(1, dur=[62.5], init=[0.0], calls_lat=[[0.0]], call_u=[u])
    r = simulate_account_ref(ap, arrivals((0.0, 0, K_QUEUE, 0, 0)), s, 10.0)
    m = r.messaging
    assert m.sent == [2] and m.deleted == [2]  # the first run sends one more, the second none
    assert r.trace_end == {0: (0.0, 0.125)}
    stats = r.calls[0][0]
    assert stats["made"] == stats["ok"] + stats["failed"] + stats["abandoned"] + stats["in_flight_end"]


def test_on_error_continue_and_function_errors_are_not_retried():
    """B always fails (error rate 1): its answer is a function error, not retried by the SDK;
    with on_error continue A goes on and succeeds, with fail A fails at B's answer."""
    for cont, outcome in ((True, OK), (False, ERROR)):
        p = chain_params(error_rate=[0.0, 1.0, 0.0])
        p.calls[0][0] = CallParams(K_FUNCTION, 1, sync=True, max_attempts=3, on_error_continue=cont)
        r = simulate_account_ref(p, arrivals((0.0, 0, K_FUNCTION, 0, 0)), streams(**CHAIN_STREAMS), 10.0)
        a_row = [row for row in r.pool.rows if row[3] == 0][0]
        assert a_row[4] == outcome
        assert r.calls[0][0]["attempts"] == 1 and r.calls[0][0]["failed"] == 1
        assert len([row for row in r.pool.rows if row[3] == 2]) == int(cont)


def test_async_caller_with_calls_retries_after_its_end():
    """An async A whose sync call fails is retried 60 s after it ended (POOL_SPEC.md), then 120 s."""
    p = chain_params(reserved_b=0, retry_b=1, async_max_retries=[2, 2, 2])
    p.pool.unres_cap = 1000
    r = simulate_account_ref(p, arrivals((0.0, 0, K_FUNCTION, 0, 1)), streams(**CHAIN_STREAMS), 400.0)
    starts = sorted(row[2] for row in r.pool.rows if row[3] == 0)
    assert starts == [0.0, 60.1875, 180.25]  # each ends at its call's throttle (+0.1875 cold, +0.0625 warm)
    assert r.pool.async_dropped == [1, 0, 0]


# ---- properties over random accounts -------------------------------------------------------

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402


@st.composite
def random_account(draw):
    n_fn = draw(st.integers(1, 3))
    n_q = draw(st.integers(0, 2))
    n_map = n_q and draw(st.integers(0, n_q))
    kinds = [K_FUNCTION] + ([K_QUEUE] if n_q else []) + [K_UNIT, K_ENDPOINT]
    calls = []
    for f in range(n_fn):
        cs = []
        for _ in range(draw(st.integers(0, 2))):
            kind = draw(st.sampled_from(kinds))
            index = draw(st.integers(0, {K_FUNCTION: n_fn, K_QUEUE: max(n_q, 1), K_UNIT: 1, K_ENDPOINT: 1}[kind] - 1))
            sync = draw(st.booleans()) if kind == K_FUNCTION and index != f else kind == K_ENDPOINT
            cs.append(CallParams(kind, index, sync=sync, probability=draw(st.sampled_from([0.2, 0.5])),
                                 count=draw(st.integers(1, 2)), at_end=draw(st.booleans()),
                                 max_attempts=draw(st.integers(1, 3)), on_error_continue=draw(st.booleans())))
        calls.append(cs)
    p = pool_params(n_fn, reserved=[draw(st.sampled_from([-1, 1, 2])) for _ in range(n_fn)], unres_cap=4,
                    timeout_ms=[draw(st.sampled_from([500.0, 5000.0])) for _ in range(n_fn)],
                    error_rate=[draw(st.sampled_from([0.0, 0.3])) for _ in range(n_fn)],
                    retry_max_attempts=[2], retry_base_s=[0.5], retry_cap_s=[20.0], retry_jitter=[1])
    route_q = draw(st.integers(-1, n_q - 1)) if n_q else -1
    topic = sns_params(np.ones((1, 1), bool), ["sqs" if route_q >= 0 else "lambda"], fail_rate=[0.2])
    mp = mapping_params(n_map, queue=list(range(n_map)), function=[draw(st.integers(0, n_fn - 1)) for _ in range(n_map)],
                        batch_size=[draw(st.integers(1, 3)) for _ in range(n_map)])
    qp = queue_params(n_q, visibility_timeout_s=[2.0] * n_q)
    ap = AccountParams(pool=p, queues=qp, mappings=mp, fleets=fleet_params(0), units=[topic],
                       routes=[[(K_QUEUE, route_q) if route_q >= 0 else (K_FUNCTION, 0)]], dlq_queue=[[-1]],
                       calls=calls, endpoints=[EndpointParams(error_rate=0.2, rate_per_s=5.0, burst=2.0,
                                                             max_concurrency=2, outages=[(3.0, 4.0)])])
    n_arr = draw(st.integers(1, 25))
    times = sorted(draw(st.lists(st.floats(0, 8, allow_nan=False), min_size=n_arr, max_size=n_arr)))
    items = []
    for t in times:
        kind = draw(st.sampled_from([K_FUNCTION, K_UNIT] + ([K_QUEUE] if n_q else [])))
        index = draw(st.integers(0, n_fn - 1)) if kind == K_FUNCTION else (draw(st.integers(0, n_q - 1)) if kind == K_QUEUE else 0)
        items.append((t, 0 if kind == K_FUNCTION else 1, kind, index, draw(st.integers(0, 1))))
    seed = draw(st.integers(0, 2**31))
    return ap, arrivals(*items), seed, n_fn, n_q


def rng_streams(seed, n_fn, ap, n=400):
    rng = np.random.default_rng(seed)
    return {
        "DUR": [rng.exponential(300.0, n) for _ in range(n_fn)], "INIT": [rng.exponential(100.0, n) for _ in range(n_fn)],
        "EXP": [rng.exponential(5.0, n) for _ in range(n_fn)], "U": [rng.uniform(size=n) for _ in range(n_fn)],
        "ITEM": [rng.uniform(size=n) for _ in ap.mappings.queue], "PROC": [], "WERR": [],
        "CALL": [rng.uniform(size=n) for _ in range(n_fn)],
        "CLAT": [[rng.exponential(20.0, n) for _ in cs] for cs in ap.calls],
        "FU": [[rng.uniform(size=n)]], "FLAT": [[rng.exponential(50.0, n)]],
        "ELAT": [rng.exponential(200.0, n)], "EU": [rng.uniform(size=n)],
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(random_account())
def test_conservation_on_random_accounts(case):
    ap, arr, seed, n_fn, n_q = case
    r = simulate_account_ref(ap, arr, rng_streams(seed, n_fn, ap), 12.0, n_entries=2)
    for cs in r.calls:
        for s in cs:
            assert s["made"] == s["ok"] + s["failed"] + s["abandoned"] + s["in_flight_end"], s
            assert s["attempts"] == s["made"] + s["retries"], s  # a retry counts when it starts
    for e in r.endpoints:
        assert e["requests"] == e["ok"] + e["errors"] + e["throttled"] + e["outage"] + e["in_progress_end"], e
    m = r.messaging
    for q in range(n_q):
        assert m.sent[q] + m.redriven_in[q] == (m.deleted[q] + m.dead_lettered[q] + m.expired[q] + m.visible[q]
                                                + m.delayed[q] + m.in_flight[q])
    n = len(arr["t"])
    assert len(r.trace_end) + r.traces_open_end == n
    assert sum(e.requests for e in r.entry) == n
    assert sum(len(e.completion_s) for e in r.entry) == len(r.trace_end)
    assert all(t1 >= t0 for t0, t1 in r.trace_end.values())
    for e in r.entry:
        assert e.succeeded + e.failed + e.throttled <= e.requests


def test_classes_flow_down_the_chain():
    """A request of class 1 invokes A, which publishes without a class of its own: the topic's
    filter (class 1 only) passes it; a class-0 request is filtered out."""
    p = chain_params()
    p.units = [sns_params(np.array([[False], [True]]), ["sqs"])]
    arr = arrivals((0.0, 0, K_FUNCTION, 0, 0), (2.0, 0, K_FUNCTION, 0, 0))
    arr["key"] = np.array([1, 0])
    r = simulate_account_ref(p, arr, streams(**CHAIN_STREAMS), 10.0)
    assert r.messaging.sent == [1]
    assert r.units[0]["tcnt"][0, 0].tolist()[:1] == [1]  # one filtered out
