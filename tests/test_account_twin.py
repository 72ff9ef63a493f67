"""The account kernel (`kernels/account.py`) against its twin (`kernels/ref/account.py`): Lambda,
SQS, mappings, fleets, SNS topics and EventBridge buses in one event loop.

The kernel must agree exactly with the twin — pool rows (ids included: a delivery's id
names the port it entered through), queue totals and end states, every fan-out counter,
pending pairs, draws consumed and the egress calls' flow records (taken window by window
from a buffer that starts with room for one) — whatever the windows it is run with, on
hand-made chains and on random accounts (hypothesis).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kernels import fanout as F
from kernels import lambda_pool as K
from kernels import tables as TB
from kernels.billing import lambda_request_units
from kernels.histogram import hist_index
from kernels.periods import n_periods
from kernels.ref.account import K_FUNCTION, K_QUEUE, K_UNIT, AccountParams, simulate_account_ref
from kernels.account import (
    CALL_COUNTERS, ENDPOINT_COUNTERS, GW_ANSWER_OK, K_API, K_BUCKET, K_ENDPOINT, K_FLOW, K_SFN, K_TABLE,
    SFN_UNIT0, CallParams, EndpointParams,
)
from sim.compute.account_state import AccountCalls, AccountFanout
from sim.engine.rng import ArrayStream
from sim.messaging import sqs_state
from sim.messaging.fanout_state import FanoutState, Target, eventbridge_params, sns_params
from sim.messaging.retry_policies import eventbridge_policy, sns_http_policy
from sim.messaging.sqs_state import MessagingState, MessagingStreams
from test_queue_ref import draw_queues, fleet_params, mapping_params, pool_params, queue_params

PORT0 = 7  # the first route port (ports below are the traffic's)
EXTERNAL = (-1, -1)


def arrivals(items):
    """items: (t, kind, index, inv, size_bytes, key, group[, dur_override_ms]) -> the twin's arrival columns."""
    cols = {k: [] for k in ("t", "id", "entry", "kind", "index", "src", "inv", "dur_override_ms", "size_bytes",
                            "key", "group")}
    for i, (t, kind, index, inv, size, key, group, *dover) in enumerate(items):
        for k, v in zip(cols, (t, 1000 + i, 0, kind, index, 0, inv, dover[0] if dover else math.nan, size, key,
                               group)):
            cols[k].append(v)
    return {k: np.asarray(v, np.float64 if k in ("t", "dur_override_ms") else np.int64) for k, v in cols.items()}


def ports_of(params: AccountParams):
    """Number the routes' ports as the builder would: one per (unit, target) that reaches the
    account, then one per dead-letter queue; returns (route_ports, dlq_ports, port tables)."""
    route_ports, dlq_ports, table = [], [], []
    for u, routes in enumerate(params.routes):
        rp = []
        for kind, index in routes:
            if kind < 0:
                rp.append(-1)
                continue
            rp.append(PORT0 + len(table))
            table.append((kind, index))
        route_ports.append(rp)
    for u, dlqs in enumerate(params.dlq_queue):
        dp = []
        for q in dlqs:
            dp.append(-1 if q < 0 else PORT0 + len(table))
            if q >= 0:
                table.append((K_QUEUE, q))
        dlq_ports.append(dp)
    for spec in params.tables:  # a table's stream records enter their queue through a port of their own
        if spec.get("stream_queue", -1) >= 0:
            spec["stream_port"] = PORT0 + len(table)
            table.append((K_QUEUE, spec["stream_queue"]))
    for spec in params.buckets:  # a bucket's notifications enter their unit through a port of their own
        if spec.get("unit", -1) >= 0:
            spec["port"] = PORT0 + len(table)
            table.append((K_UNIT, spec["unit"]))
    machines = getattr(params, "machines", [])
    for cs in [*params.calls, *(mp.calls for mp in machines)]:  # each call but an endpoint's, an egress
        for cp in cs:  # entry's, a table's, a bucket's or a state machine's sends through a port of its own
            if cp.kind not in (K_ENDPOINT, K_FLOW, K_TABLE, K_BUCKET, K_SFN):
                cp.port = PORT0 + len(table)
                table.append((cp.kind, cp.index))
    n = PORT0 + len(table)
    fn, inv, q, unit = (np.full(n, -1, np.int64) for _ in range(4))
    for k, (kind, index) in enumerate(table):
        p = PORT0 + k
        if kind == K_FUNCTION:
            fn[p], inv[p] = index, K.ASYNC
        elif kind == K_QUEUE:
            q[p] = index
        elif kind == K_SFN:
            unit[p] = SFN_UNIT0 - index
        else:
            unit[p] = index
    return route_ports, dlq_ports, (fn, inv, q, unit, np.zeros(n, np.int64))


def run_kernel(params: AccountParams, arr: dict, s: dict, t_end: float, period_s: float, windows=None, chunk=7,
               flows=1, timeout_s=math.inf):
    route_ports, dlq_ports, ports = ports_of(params)
    state = MessagingState(params.pool, params.queues, params.mappings, params.fleets, t_end, period_s, chunk,
                           sample_all=True, events=4, messages=2, trace_all=True, traces=2,
                           deadline_lists=len(getattr(params, "machines", [])))
    n_per = state.pool.pmi.shape[0]
    state.pool.enf[:, K.ENF_TIMEOUT_S] = timeout_s  # the clients' timeout (an API's integration timeout)
    fan = AccountFanout([FanoutState(up) for up in params.units], [up.match for up in params.units], route_ports,
                        dlq_ports, n_per, chunk)
    nf = len(params.pool.reserved)
    prov = MessagingStreams(
        pool=[[ArrayStream(s[k][f], chunk) for k in ("DUR", "INIT", "EXP", "U")] for f in range(nf)],
        item=[ArrayStream(v, chunk) for v in s["ITEM"]], proc=[ArrayStream(v, chunk) for v in s["PROC"]],
        werr=[ArrayStream(v, chunk) for v in s["WERR"]])
    fstreams = [(ArrayStream(u, chunk), ArrayStream(lat, chunk))
                for us, lats in zip(s["FU"], s["FLAT"]) for u, lat in zip(us, lats)]
    machines = getattr(params, "machines", [])
    calls = AccountCalls(nf, params.calls, params.endpoints, chunk, flows=flows, tables=params.tables,
                         n_periods=n_per, buckets=params.buckets, machines=machines,
                         sfn_quotas=getattr(params, "sfn_quotas", (math.inf,) * 6))
    F_all = nf + len(machines)  # each state machine is a pseudo-function after the functions
    xstreams = ([ArrayStream(s["CALL"][f], chunk) for f in range(F_all)]
                + [ArrayStream(v, chunk) for f in range(F_all) for v in s["CLAT"][f]]
                + [ArrayStream(s[k][e], chunk) for e in range(len(params.endpoints)) for k in ("ELAT", "EU")]
                + [ArrayStream(s[k][j], chunk) for j in range(len(calls.table_calls)) for k in ("TU", "TK")]
                + [ArrayStream(s["WST"][m][j], chunk) for m, mp in enumerate(machines)
                   for j, sp in enumerate(mp.states) if sp.stream])
    kind, index = arr["kind"], arr["index"]
    n = len(arr["t"])
    fn = np.where(kind == K_FUNCTION, index, -1)
    q = np.where(kind == K_QUEUE, index, -1)
    unit = np.where(kind == K_UNIT, index, np.where(kind == K_API, GW_ANSWER_OK - arr["inv"],
                                                    np.where(kind == K_SFN, SFN_UNIT0 - index, -1)))  # inv: 200/429/502
    src = np.where(kind == K_API, index, arr["src"])  # an API route's own answer names its route
    units = np.array([lambda_request_units(int(b), int(i)) for b, i in zip(arr["size_bytes"], arr["inv"])], np.int64)
    cols = (arr["t"], arr["id"], fn, src, arr["inv"], arr["dur_override_ms"], units, q, arr["size_bytes"],
            arr["key"], arr["group"], unit)
    rows, t0 = [], 0.0
    state.flows = []  # the flow records (t, k), window after window
    for t1 in [*(w for w in windows or [] if w < t_end), t_end]:
        sel = (arr["t"] >= t0) & (arr["t"] < t1)
        sqs_state.run(state, t1, tuple(np.ascontiguousarray(c[sel]) for c in cols), prov, fan=fan, ports=ports,
                      fstreams=fstreams, calls=calls, xstreams=xstreams)
        rows.append(state.pool.take_rows())
        ft, fk = calls.take_flows()
        assert np.all(ft >= t0) and np.all(ft < t1)  # a window's records are its own
        state.flows += list(zip(ft.tolist(), fk.tolist()))
        t0 = t1
    state.finish()
    ri = np.concatenate([r[0] for r in rows])
    rf = np.concatenate([r[1] for r in rows])
    out = [(int(a[K.R_ID]), int(a[K.R_ATTEMPT]), float(b[K.R_T]), int(a[K.R_FN]), int(a[K.R_OUTCOME]),
            int(a[K.R_COLD]), int(a[K.R_ON_PC]), float(b[K.R_LATENCY_MS]), float(b[K.R_INIT_MS]))
           for a, b in zip(ri, rf)]
    return out, state, fan, calls


def ref_used(ref, name, *index) -> int:
    return ref.draws_used.get((name, *index), 0)


def compare(params: AccountParams, items, s, t_end, period_s, windows=None, timeout_s=math.inf):
    arr = arrivals(items)
    n_per = n_periods(t_end, period_s)  # the units count in the account's periods
    params.units = [dataclasses.replace(up, period_s=period_s, n_periods=n_per) for up in params.units]
    route_ports, dlq_ports, _ = ports_of(params)
    params.route_ports, params.dlq_ports = route_ports, dlq_ports
    ref = simulate_account_ref(params, arr, s, t_end, period_s=period_s, n_entries=1, record_spans=True,
                               timeouts_s=[timeout_s])
    rows, state, fan, calls = run_kernel(params, arr, s, t_end, period_s, windows, timeout_s=timeout_s)
    assert rows == ref.pool.rows
    assert state.flows == ref.flows  # the same records, bit for bit, in the same order
    k = 0
    for f, cs in enumerate(ref.calls):
        for st_c in cs:
            assert {n: int(calls.cstat[k, j]) for j, n in enumerate(CALL_COUNTERS)} == \
                {n: st_c[n] for n in CALL_COUNTERS}, (f, k)
            k += 1
    for e, st_e in enumerate(ref.endpoints):
        assert {n: int(calls.estat[e, j]) for j, n in enumerate(ENDPOINT_COUNTERS)} == \
            {n: st_e[n] for n in ENDPOINT_COUNTERS}, e
        assert int(calls.ebusy[e]) == st_e["in_progress_end"]
    used = calls.used()
    nf = len(params.pool.reserved)
    machines = getattr(params, "machines", [])
    for f in range(nf + len(machines)):  # (a state machine is the pseudo-function nf + m)
        assert used[calls.stream_row("CALL", f)] == ref_used(ref, "CALL", f), ("CALL", f)
    k = 0
    for f, cs in enumerate([*params.calls, *(mp.calls for mp in machines)]):
        for c in range(len(cs)):
            assert used[calls.stream_row("CLAT", k)] == ref_used(ref, "CLAT", f, c), ("CLAT", f, c)
            k += 1
    for e in range(len(params.endpoints)):
        for name in ("ELAT", "EU"):
            assert used[calls.stream_row(name, e)] == ref_used(ref, name, e), (name, e)
    for j in range(len(calls.table_calls)):
        for name in ("TU", "TK"):
            assert used[calls.stream_row(name, j)] == ref_used(ref, name, j), (name, j)
    row = calls.state_stream_row0
    for m, mp in enumerate(machines):  # Step Functions (ACCOUNT_SPEC.md §14): its states' own streams,
        for j, sp in enumerate(mp.states):  # its counters, its executions open at the end
            if sp.stream:
                assert used[row] == ref_used(ref, "WST", m, j), ("WST", m, j)
                row += 1
        np.testing.assert_array_equal(calls.wcnt[:, m], ref.workflows[m], err_msg=f"machine {m}")
        assert calls_open_end(state, m) == ref.workflows_open_end[m], m
    if params.buckets:  # S3 buckets (ACCOUNT_SPEC.md §13)
        assert calls.bper[:, : len(params.buckets)].tolist() == ref.buckets.counts
        assert calls.pslow.tolist()[: sum(b["prefixes"] for b in params.buckets)] == \
            [px.slow for bk in ref.buckets.prefixes for px in bk]
    for tb, table in enumerate(ref.tables):  # DynamoDB tables (ACCOUNT_SPEC.md §11)
        assert calls.tper[:, tb].tolist() == table.counts, tb
        assert calls.tbf[tb, TB.TBF_CAP:TB.TBF_CAP + 2].tolist() == table.cap
    m = ref.messaging
    tot = state.queue_totals()
    for name in ("sent", "redriven_in", "received", "deleted", "dead_lettered", "expired"):
        assert tot[name].tolist() == getattr(m, name), name
    end = state.queue_end_state()
    for name in ("visible", "in_flight", "delayed"):
        assert end[name].tolist() == getattr(m, name), name
    qi, qf = state.queue_periods()
    np.testing.assert_array_equal(qi, m.period_queue)
    np.testing.assert_array_equal(qf, m.period_queue_f)
    pending = fan.pending(state.pool.ei, state.pool.hh, int(state.pool.g[K.G_HEAP_N]))
    for u, (st_u, ru) in enumerate(zip(fan.units, ref.units)):
        np.testing.assert_array_equal(st_u.gcnt, ru["gcnt"], err_msg=f"unit {u} gcnt")
        np.testing.assert_array_equal(st_u.rcnt, ru["rcnt"], err_msg=f"unit {u} rcnt")
        np.testing.assert_array_equal(st_u.tcnt, ru["tcnt"], err_msg=f"unit {u} tcnt")
        # conservation per target: every accepted publish is filtered, delivered, dropped,
        # dead-lettered or still pending
        put = int(st_u.gcnt[:, F.C_PUT].sum())
        tot_t = st_u.tcnt.sum(axis=0)
        for j in range(st_u.params.n_targets):
            assert put == (tot_t[j, F.C_DELIVERED] + tot_t[j, F.C_FILTERED] + tot_t[j, F.C_DROPPED]
                           + tot_t[j, F.C_DLQ] + pending[u][j]), (u, j)
    used = state.draws_used()
    for k in ("DUR", "INIT", "EXP", "U"):
        assert used[k] == ref.pool.draws_used[k], k
    for k in ("ITEM", "PROC", "WERR"):
        assert used[k] == m.draws_used[k], k
    compare_entries(state.pool, ref)
    compare_spans(state.pool, ref)
    return ref, state, fan


def calls_open_end(state, m) -> int:
    """Machine m's executions still running at the end (their root records)."""
    from kernels.account import K_EXECUTING, X_M, X_ROOT

    ei = state.pool.ei
    return int(np.sum((ei[:, K.E_KIND] == K_EXECUTING) & (ei[:, X_ROOT] == 1) & (ei[:, X_M] == m)))


def canonical_spans(rows, closed) -> dict:
    """Per closed trace (request id), its spans as sorted keys that name no span id: each span's
    fields (times rounded to 1e-9 s) with its parent's key in place of the parent's id."""
    by_id = {(r[K.SP_TRACE], r[K.SP_ID]): r for r in rows}
    memo = {}

    def key(r):
        k = (r[K.SP_TRACE], r[K.SP_ID])
        if k not in memo:
            parent = by_id.get((r[K.SP_TRACE], r[K.SP_PARENT])) if r[K.SP_PARENT] >= 0 else None
            assert r[K.SP_PARENT] < 0 or parent is not None, f"span {k}: its parent is not in the trace"
            memo[k] = (tuple(int(r[c]) for c in (K.SP_KIND, K.SP_RKIND, K.SP_RIDX, K.SP_FROM, K.SP_ERROR, K.SP_COLD,
                                                  K.SP_ATTEMPT, K.SP_ANSWER)),
                       round(r[N_SPI_ + K.SPF_START], 9), round(r[N_SPI_ + K.SPF_END], 9),
                       key(parent) if parent is not None else None)
        return memo[k]

    out: dict = {}
    for r in rows:
        if r[K.SP_TRACE] in closed:
            out.setdefault(r[K.SP_TRACE], []).append(repr(key(r)))
    return {t: sorted(v) for t, v in out.items()}


N_SPI_ = K.N_SPI  # a row of both: the int columns, then SPF_START, SPF_END


def compare_spans(pool, ref):
    """The spans of every closed trace (ACCOUNT_SPEC.md §7), kernel against twin, structure and times."""
    spi, spf = pool.spans()
    rows = [(*map(int, a), *map(float, b)) for a, b in zip(spi, spf)]
    twin = [(*r[:11], r[11], r[12]) for r in ref.spans]
    closed_twin = {ref.trace_rids[tr] for tr in ref.trace_end}
    open_kernel = set(pool.open_trace_ids().tolist())
    closed_kernel = {r[K.SP_TRACE] for r in rows} - open_kernel
    assert closed_kernel <= closed_twin
    assert canonical_spans(rows, closed_twin) == canonical_spans(twin, closed_twin)
    assert len({(r[0], r[1]) for r in rows}) == len(rows)  # unique ids


def _binned_within(hist, values_ms, where):
    """The kernel's histogram holds `values_ms` (the twin's), each in its bin or, for a value
    within 1e-9 of a bin's edge (the two sum a latency in different orders), the next one."""
    lo = np.array([hist_index(v * (1 - 1e-9)) for v in values_ms], np.int64)
    hi = np.array([hist_index(v * (1 + 1e-9) + 1e-12) for v in values_ms], np.int64)
    ck = np.cumsum(hist)
    bins = np.arange(len(hist))
    at_least = np.searchsorted(np.sort(hi), bins, side="right")
    at_most = np.searchsorted(np.sort(lo), bins, side="right")
    bad = np.flatnonzero((ck < at_least) | (ck > at_most))
    assert not len(bad), (where, bad[:5])
    assert ck[-1] == len(values_ms), where


def compare_entries(pool, ref):
    """Entry points (ACCOUNT_SPEC.md §7): the kernel's counts, latency and completion against the twin's."""
    for e, ep in enumerate(ref.entry):
        got = {n: int(pool.eni[e, c]) for n, c in (("requests", K.EN_REQUESTS), ("succeeded", K.EN_SUCCEEDED),
                                                   ("failed", K.EN_FAILED), ("throttled", K.EN_THROTTLED),
                                                   ("timed_out", K.EN_TIMED_OUT))}
        assert got == {n: getattr(ep, n) for n in got}, e
        for name, values, h, n_col, total, lo, hi in (
                ("latency", ep.latency_s, pool.ehl, K.EN_LAT_N, pool.enf[e, K.ENF_LAT_SUM], pool.enf[e, K.ENF_LAT_MIN],
                 pool.enf[e, K.ENF_LAT_MAX]),
                ("completion", ep.completion_s, pool.ehc, K.EN_COMP_N, pool.completion_sum_ms(e),
                 pool.enf[e, K.ENF_COMP_MIN], pool.enf[e, K.ENF_COMP_MAX])):
            ms = [v * 1000.0 for v in values]
            assert int(pool.eni[e, n_col]) == len(ms), (e, name)
            _binned_within(h[e], ms, (e, name))
            if ms:  # completions are summed in whole µs: each rounded by at most 0.0005 ms
                assert total == pytest.approx(sum(ms), rel=1e-9, abs=1e-9 + (0.0005 * len(ms) if h is pool.ehc else 0)), \
                    (e, name)
                assert lo == pytest.approx(min(ms), rel=1e-9, abs=1e-9), (e, name)
                assert hi == pytest.approx(max(ms), rel=1e-9, abs=1e-9), (e, name)
    assert int(pool.eni[:, K.EN_IN_FLIGHT].sum()) == ref.traces_open_end


# ---- hand-made chains ---------------------------------------------------------------------

def flow_call(entry: int, probability: float = 1.0, count: int = 1, at_end: bool = False) -> CallParams:
    """Egress entry number `entry` as the builder makes it a call (ACCOUNT_SPEC.md §10): async,
    its latency fixed 0 (its CLAT stream all zeros), one attempt, no payload, through no port."""
    return CallParams(K_FLOW, entry, sync=False, probability=probability, count=count, at_end=at_end,
                      size_bytes=0, max_attempts=1)


def const(n, v):
    return np.full(n, float(v))


def chain_streams(n_fn, dur, flat, n_map=1, fu=0.5, n=200, clat=(), call_u=0.5, elat=(), eu=()):
    return {"DUR": [const(n, d) for d in dur], "INIT": [const(n, 125.0)] * n_fn, "EXP": [const(n, 600.0)] * n_fn,
            "U": [const(n, 0.5)] * n_fn, "ITEM": [const(n, 0.5)] * n_map, "PROC": [], "WERR": [],
            "FU": [[const(n, fu) for _ in unit] for unit in flat], "FLAT": [[const(n, v) for v in unit] for unit in flat],
            "CALL": [const(n, call_u)] * n_fn,
            "CLAT": [[const(n, v) for v in per_fn] for per_fn in clat] + [[] for _ in range(n_fn - len(clat))],
            "ELAT": [const(n, v) for v in elat], "EU": [const(n, v) for v in eu]}


def test_topic_to_queue_to_function_and_a_bus_to_a_function():
    """Publishes to a topic (to queue 0, read by function 0) and a bus (to function 1 and, by
    a second rule, to the topic): deliveries enter their targets as events of the one loop."""
    topic = sns_params(np.ones((1, 1), bool), ["sqs"])
    bus = eventbridge_params(np.ones((1, 2), bool), [[Target()], [Target()]])
    params = AccountParams(pool=pool_params(2), queues=queue_params(1),
                           mappings=mapping_params(1, function=[0], batch_size=[1]), fleets=fleet_params(0),
                           units=[topic, bus], routes=[[(K_QUEUE, 0)], [(K_FUNCTION, 1), (K_UNIT, 0)]],
                           dlq_queue=[[-1], [-1, -1]])
    items = [(0.0, K_UNIT, 0, 1, 1024, 0, 0), (0.5, K_UNIT, 1, 1, 1024, 0, 0), (0.5, K_FUNCTION, 0, 0, 1024, 0, 0)]
    s = chain_streams(2, [250.0, 250.0], [[125.0], [62.5, 62.5]])
    ref, state, fan = compare(params, items, s, 10.0, 5.0)
    rows = sorted(ref.pool.rows, key=lambda r: r[2])
    # the topic's delivery at 0.125 invokes f0 by its mapping; the bus's two deliveries at
    # 0.5625: f1 directly, and the topic again, whose delivery at 0.6875 invokes f0 (warm)
    assert [(r[3], r[2]) for r in rows] == [(0, 0.125), (0, 0.5), (1, 0.5625), (0, 0.6875)]
    # a delivery's id names its port: PORT0 + k for the k-th route
    by_t = {r[2]: r[0] for r in rows}
    assert by_t[0.5625] >> K.ID_SEQ_BITS == PORT0 + 1
    assert fan.units[0].tcnt[:, 0, F.C_DELIVERED].sum() == 2


def test_windows_change_nothing_with_a_dead_letter_queue_and_a_throttled_bus():
    bus = eventbridge_params(np.ones((1, 1), bool), [[Target(fail_rate=1.0, policy=eventbridge_policy(2, 3600),
                                                             dlq=True), Target()]], inv_rate=2.0, inv_burst=1.0)
    params = AccountParams(pool=pool_params(1), queues=queue_params(1),
                           mappings=mapping_params(1, function=[0], batch_size=[2], window_s=[1.0]),
                           fleets=fleet_params(0), units=[bus], routes=[[EXTERNAL, (K_FUNCTION, 0)]],
                           dlq_queue=[[0, -1]])
    items = [(0.1 * k, K_UNIT, 0, 1, 1024, 0, 0) for k in range(12)]
    s = chain_streams(1, [300.0], [[50.0, 50.0]], fu=0.5)
    base, _, _ = compare(params, items, s, 400.0, 60.0)
    for windows in ([0.01 * k for k in range(1, 200)], [1.0 * k for k in range(1, 400)], [60.0, 120.0, 300.0]):
        compare(params, items, s, 400.0, 60.0, windows=windows)
    assert base.units[0]["tcnt"][:, 0, F.C_DLQ].sum() == 12  # every pair to target 0 dead-lettered


def test_a_warm_deadline_before_an_earlier_cold_start():
    """Deadlines fire in time order whatever order handlers began in: A cold starts at 0.9
    (h0 1.025, deadline 1.725); B, warm, begins after it at 0.95 (deadline 1.65) and times out
    first. (The kernel keeps warm deadlines on a list per function and a cold start's as an
    event of its own: a list for both fired B after A.)"""
    params = AccountParams(pool=pool_params(1, timeout_ms=[700.0], n_calls=[1]), queues=queue_params(1),
                           mappings=mapping_params(0), fleets=fleet_params(0), units=[], routes=[], dlq_queue=[],
                           calls=[[CallParams(K_QUEUE, 0, sync=False)]], endpoints=[])
    # X1 at 0 (cold, env 1, times out at 0.825), X2 at 0.1 (cold, env 2, out at 0.925), X3 at
    # 0.85 (warm on env 1), A at 0.9 (cold, env 3), B at 0.95 (warm on env 2)
    items = [(t, K_FUNCTION, 0, 1, 100, 0, 0) for t in (0.0, 0.1, 0.85, 0.9, 0.95)]
    s = chain_streams(1, [5000.0], [], clat=[[10.0]])
    ref, _state, _fan = compare(params, items, s, 10.0, 5.0)
    ends = [(r[2], round(r[2] + r[7] / 1000.0, 9), r[4]) for r in ref.pool.rows]
    assert ends == [(0.0, 0.825, K.O_TIMEOUT), (0.1, 0.925, K.O_TIMEOUT), (0.85, 1.55, K.O_TIMEOUT),
                    (0.95, 1.65, K.O_TIMEOUT), (0.9, 1.725, K.O_TIMEOUT)]


def test_egress_flow_records_among_sync_calls_and_a_queue():
    """Function 0 calls function 1 synchronously (10 ms), sends 3 flows at start (entry 0),
    one with probability 0.5 (entry 1), SendMessages to queue 0 at end (5 ms), then 2 flows
    at end (entry 2); function 1 sends one flow at start (entry 3). The records come at
    the handler's steps, in event order, whatever the windows and from a buffer of one."""
    params = AccountParams(pool=pool_params(2, n_calls=[5, 1]), queues=queue_params(1), mappings=mapping_params(0),
                           fleets=fleet_params(0), units=[], routes=[], dlq_queue=[],
                           calls=[[CallParams(K_FUNCTION, 1, sync=True), flow_call(0, count=3),
                                   flow_call(1, probability=0.5), CallParams(K_QUEUE, 0, sync=False, at_end=True),
                                   flow_call(2, count=2, at_end=True)],
                                  [flow_call(3)]], endpoints=[])
    items = [(t, K_FUNCTION, 0, 0, 100, 0, 0) for t in (0.0, 1.0, 2.0, 2.0)]
    s = chain_streams(2, [100.0, 50.0], [], clat=[[10.0, 0.0, 0.0, 5.0, 0.0], [0.0]], call_u=0.25)
    s["CALL"] = [np.tile([0.25, 0.75], 100), np.full(200, 0.5)]  # entry 1 runs every other invocation
    ref = None
    for windows in (None, [0.01 * k for k in range(1, 500)], [1.0 * k for k in range(1, 5)], [60.0]):
        got, _, _ = compare(params, items, s, 5.0, 1.0, windows=windows)
        assert ref is None or got.flows == ref.flows
        ref = got
    # the invocation at 0 (cold: init 125 ms, h0 0.125): its sync call reaches function 1 at
    # 0.135 (cold: its handler and its flow at 0.26, back at 0.31 after 50 ms); then 3 + 1 flows,
    # its 100 ms to 0.41, the queue's 5 ms, 2 flows at 0.415 (global call k: function 0's 0-4)
    first = [(round(t, 9), k) for t, k in ref.flows if t < 1.0]
    assert first == [(0.26, 5)] + [(0.31, 1)] * 3 + [(0.31, 2), (0.415, 4), (0.415, 4)]
    assert sum(1 for _, k in ref.flows if k == 2) == 2  # entry 1 in 2 of the 4 invocations
    assert [sum(1 for _, k in ref.flows if k == c) for c in (1, 4, 5)] == [12, 8, 4]


# ---- random accounts ----------------------------------------------------------------------

@st.composite
def accounts(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_fn = draw(st.integers(1, 2))
    n_q = draw(st.integers(1, 2))
    fifo = [0] * n_q
    qp, mp, fp = draw_queues(draw, n_fn, n_q, fifo)
    n_keys = draw(st.integers(1, 3))
    units, routes, dlqs = [], [], []
    n_units = draw(st.integers(1, 2))
    for u in range(n_units):
        if draw(st.booleans()):
            s = draw(st.integers(1, 3))
            protos = [draw(st.sampled_from(["sqs", "lambda", "https"])) for _ in range(s)]
            policies = [sns_http_policy(1, 1 + draw(st.sampled_from([0, 7])), draw(st.integers(0, 3)), 0, 0, 0,
                                        "linear") for _ in range(s)]
            up = sns_params(rng.random((n_keys, s)) < 0.7, protos,
                            fail_rate=[draw(st.sampled_from([0.0, 0.3, 1.0])) for _ in range(s)],
                            outages=[[(float(a), float(a + 30))] if draw(st.booleans()) else []
                                     for a in rng.integers(0, 200, s)],
                            policies=policies, dlq=[draw(st.booleans()) for _ in range(s)],
                            publish_rate=draw(st.sampled_from([math.inf, 0.5])), publish_burst=1.0)
            rt = [(K_QUEUE, int(rng.integers(n_q))) if p == "sqs" else (K_FUNCTION, int(rng.integers(n_fn)))
                  if p == "lambda" else EXTERNAL for p in protos]
        else:
            r = draw(st.integers(1, 2))
            rules = [[Target(fail_rate=draw(st.sampled_from([0.0, 0.3])),
                             policy=eventbridge_policy(draw(st.integers(0, 3)), 600), dlq=draw(st.booleans()))
                      for _ in range(draw(st.integers(1, 2)))] for _ in range(r)]
            inv = draw(st.sampled_from([(18_750.0, 18_750.0), (0.5, 1.0)]))
            up = eventbridge_params(rng.random((n_keys, r)) < 0.7, rules, inv_rate=inv[0], inv_burst=inv[1])
            rt = []
            for _ in range(up.n_targets):
                choice = draw(st.sampled_from(["q", "f", "u"] if u + 1 < n_units else ["q", "f"]))
                rt.append((K_QUEUE, int(rng.integers(n_q))) if choice == "q" else (K_FUNCTION, int(rng.integers(n_fn)))
                          if choice == "f" else (K_UNIT, u + 1))  # only to a later unit: no loop of units
        units.append(up)
        routes.append(rt)
        dlqs.append([int(rng.integers(n_q)) if up.dlq[j] else -1 for j in range(up.n_targets)])
    n_ep = draw(st.integers(0, 2))
    endpoints = [EndpointParams(error_rate=draw(st.sampled_from([0.0, 0.3])),
                                outages=[(float(a), float(a + 40))] if draw(st.booleans()) else [],
                                rate_per_s=draw(st.sampled_from([math.inf, 0.5])), burst=1.0,
                                max_concurrency=draw(st.sampled_from([-1, 1]))) for a in rng.integers(0, 200, n_ep)]
    # tables small enough to throttle: provisioned of a unit or two, or on demand from a unit or two
    # (which doubles with the peak second 30 minutes later: runs are 300 s, so it never does)
    tables = [{"mode": draw(st.sampled_from([TB.ON_DEMAND, TB.PROVISIONED])), "read": draw(st.sampled_from([1.0, 2.0])),
               "write": 1.0, "burst_s": draw(st.sampled_from([1.0, 300.0])),
               "stream_queue": draw(st.sampled_from([-1, 0]))}  # its writes' records into queue 0 (a stream)
              for _ in range(draw(st.integers(0, 2)))]
    # S3 buckets of 1-3 prefixes (their rates throttle under the bursts of `repeat`ed arrivals
    # rarely: calls come a few at a time), some notifying a unit of the account
    buckets = [{"prefixes": draw(st.integers(1, 3)), "bytes_per_s": draw(st.sampled_from([1e3, 1e9])),
                "unit": draw(st.sampled_from([-1] + list(range(n_units))))} for _ in range(draw(st.integers(0, 2)))]
    calls = []
    n_egress = 0
    for f in range(n_fn):
        cs = []
        for _ in range(draw(st.integers(0, 2) if draw(st.booleans()) else st.just(0))):
            kinds = ["function", "queue", "unit"] + (["endpoint"] if n_ep else []) + (["table"] if tables else []) \
                + (["bucket"] if buckets else [])
            kind = draw(st.sampled_from(kinds))
            sync = draw(st.booleans())
            if kind == "function":
                g = int(rng.integers(n_fn))
                if g == f:
                    sync = False  # a sync call to itself is refused at build time
                target = (K_FUNCTION, g)
            elif kind == "queue":
                target = (K_QUEUE, int(rng.integers(n_q)))
            elif kind == "unit":
                target = (K_UNIT, int(rng.integers(n_units)))
            elif kind == "table":
                target = (K_TABLE, int(rng.integers(len(tables))))
                sync = True
            elif kind == "bucket":
                target = (K_BUCKET, int(rng.integers(len(buckets))))
                sync = True
            else:
                target = (K_ENDPOINT, int(rng.integers(n_ep)))
            # expected invocations per invocation below 1 (at most 2 calls of 0.3, a unit's 3 targets
            # times 0.1): the random accounts do not run away
            cycles = kind not in ("endpoint", "bucket")  # (a table's writes may feed a stream: a cycle)
            prob = draw(st.sampled_from([0.3, 0.1] if kind != "unit" else [0.1])) if cycles else \
                draw(st.sampled_from([1.0, 0.5]))
            own = draw(st.sampled_from(["item", "one", "two"])) if cycles else "item"
            key, key_cdf = {"item": (-1, []), "one": (n_keys - 1, [1.0]),  # its own classes (attributes)
                            "two": (0, [0.4, 1.0]) if n_keys > 1 else (0, [1.0])}[own]
            cs.append(CallParams(*target, sync=sync, probability=prob,
                                 count=1 if cycles else draw(st.sampled_from([1, 2])), at_end=draw(st.booleans()),
                                 size_bytes=draw(st.sampled_from([-1, 2000])),
                                 max_attempts=draw(st.sampled_from([1, 3])),
                                 on_error_continue=draw(st.booleans()), key=key, key_cdf=key_cdf,
                                 direction=draw(st.sampled_from([TB.READ, TB.WRITE])) if kind != "bucket" else
                                 draw(st.sampled_from(range(7)))))
        # egress entries (ACCOUNT_SPEC.md §10): after the calls, as the builder appends them
        for _ in range(draw(st.integers(0, 2) if draw(st.booleans()) else st.just(0))):
            cs.append(flow_call(n_egress, probability=draw(st.sampled_from([1.0, 0.5, 0.0])),
                                count=draw(st.sampled_from([1, 3])), at_end=draw(st.booleans())))
            n_egress += 1
        calls.append(cs)
    pool = pool_params(n_fn, retry_max_attempts=[2], retry_base_s=[0.5], retry_cap_s=[20.0], retry_jitter=[0],
                       reserved=[draw(st.sampled_from([-1, 1, 2])) for _ in range(n_fn)],
                       timeout_ms=[draw(st.sampled_from([60_000.0, 3_000.0, 700.0])) for _ in range(n_fn)],
                       error_rate=[draw(st.sampled_from([0.0, 0.2])) for _ in range(n_fn)],
                       n_calls=[len(cs) for cs in calls])
    params = AccountParams(pool=pool, queues=qp, mappings=mp, fleets=fp, units=units, routes=routes, dlq_queue=dlqs,
                           calls=calls, endpoints=endpoints, tables=tables, buckets=buckets)
    n = draw(st.integers(0, 30))
    t = np.sort(rng.integers(0, 2000, n) // 5 * 5 / 10.0)
    items = []
    for k in range(n):
        kind = draw(st.sampled_from([K_FUNCTION, K_QUEUE, K_UNIT, K_API]))  # K_API: a route's own answer
        index = int(rng.integers({K_FUNCTION: n_fn, K_QUEUE: n_q, K_UNIT: n_units, K_API: 3}[kind]))
        if kind == K_API:  # a route's own answer: 200, 429 or 502, some after an HTTP backend's latency (ms)
            items.append((float(t[k]), kind, index, int(rng.integers(3)), 100, 0, 0,
                          float(rng.choice([math.nan, 0.0, 250.0, 5000.0]))))
            continue
        items.append((float(t[k]), kind, index, int(rng.integers(2)), int(rng.choice([100, 70_000, 300_000])),
                      int(rng.integers(n_keys)), 0))
    size = 6000
    s = {"DUR": [rng.choice([50.0, 250.0, 1000.0, 5000.0], size) for _ in range(n_fn)],
         "INIT": [rng.choice([0.0, 125.0], size) for _ in range(n_fn)],
         "EXP": [rng.choice([1.0, 600.0], size) for _ in range(n_fn)], "U": [rng.random(size) for _ in range(n_fn)],
         "ITEM": [rng.random(size) for _ in mp.queue], "PROC": [rng.choice([10.0, 3000.0], size) for _ in fp.queue],
         "WERR": [rng.random(size) for _ in fp.queue],
         "FU": [[rng.random(size) for _ in range(up.n_targets)] for up in units],
         "FLAT": [[rng.choice([0.0, 10.0, 500.0, 5000.0], size) for _ in range(up.n_targets)] for up in units],
         "CALL": [rng.random(size) for _ in range(n_fn)],
         "CLAT": [[rng.choice([0.0, 10.0, 80.0, 2000.0], size) if cp.kind != K_FLOW else np.zeros(size)
                   for cp in cs] for cs in calls],
         "ELAT": [rng.choice([5.0, 300.0, 4000.0], size) for _ in endpoints],
         "EU": [rng.random(size) for _ in endpoints],
         "TU": [rng.choice([1.0, 2.0, 8.0] if cp.kind == K_TABLE else [0.0, 500.0, 1e6], size)
                for cs in calls for cp in cs if cp.kind in (K_TABLE, K_BUCKET)],
         "TK": [rng.random(size) if cp.kind == K_TABLE else
                rng.integers(0, buckets[cp.index]["prefixes"], size).astype(float)
                for cs in calls for cp in cs if cp.kind in (K_TABLE, K_BUCKET)]}
    return params, items, s


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(accounts(), st.sampled_from([None, [0.7 * k for k in range(1, 430)], [13.0 * k for k in range(1, 24)]]),
       st.sampled_from([math.inf, 0.3, 4.0]))
def test_kernel_matches_twin_on_random_accounts(case, windows, timeout_s):
    """... with the clients' timeout (an API's integration timeout) none, 0.3 s or 4 s."""
    params, items, s = case
    compare(params, items, s, 300.0, 60.0, windows=windows, timeout_s=timeout_s)
