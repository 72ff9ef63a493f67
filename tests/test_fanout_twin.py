"""The fan-out handlers of the account's loop (`kernels/account.py`, one topic or bus alone)
against the fan-out twin (`kernels/ref/fanout.py`), counter by counter, whatever the window
length. Delivery times are compared through what they feed in `test_account_twin.py`."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings, strategies as st

from kernels import fanout as K
from kernels import lambda_pool as LK
from kernels.ref.fanout import simulate_fanout_ref
from sim.compute.account_state import AccountFanout
from sim.engine.rng import ArrayStream
from sim.messaging import sqs_state
from sim.messaging.fanout_state import FanoutState, Target, eventbridge_params, sns_params
from sim.messaging.retry_policies import eventbridge_policy, sns_http_policy
from sim.messaging.sqs_state import MessagingState
from test_queue_ref import fleet_params, mapping_params, pool_params, queue_params

T_END = 400.0


def pubs_at(times, keys=None):
    n = len(times)
    return {"t": np.asarray(times, float), "id": np.arange(n, dtype=np.int64), "size": np.full(n, 1000),
            "key": np.asarray(keys if keys is not None else [0] * n, np.int64), "group": np.full(n, -1)}


def const_streams(n_targets, lat_ms=10.0, u=0.5, n=1000):
    return {"U": [np.full(n, u) for _ in range(n_targets)], "LAT": [np.full(n, lat_ms) for _ in range(n_targets)]}


def run_kernel(params, pubs, streams, t_end, window_s=None, chunk=7):
    """Drive the account's loop with this one unit, one call per window, as the account does:
    deliveries go outside the account, dead letters into a queue nobody reads."""
    state = MessagingState(pool_params(0), queue_params(1), mapping_params(0), fleet_params(0), t_end,
                           params.period_s, chunk, events=2, messages=2)
    assert state.pool.pmi.shape[0] >= params.n_periods
    T = params.n_targets
    fan = AccountFanout([FanoutState(params)], [params.match], [[-1] * T], [[0] * T], state.pool.pmi.shape[0], chunk)
    ports = (np.array([-1]), np.array([-1]), np.array([0]), np.array([-1]), np.zeros(1, np.int64))
    src = [(ArrayStream(streams["U"][j], chunk), ArrayStream(streams["LAT"][j], chunk)) for j in range(T)]
    stops = [*np.arange(window_s, t_end, window_s), t_end] if window_s else [t_end]
    n = len(pubs["t"])
    cols = (pubs["t"], pubs["id"], np.full(n, -1), np.zeros(n, np.int64), np.ones(n, np.int64), np.full(n, np.nan),
            np.ones(n, np.int64), np.full(n, -1), pubs["size"], pubs["key"], pubs["group"], np.zeros(n, np.int64))
    t0 = 0.0
    for t1 in stops:
        sel = (pubs["t"] >= t0) & (pubs["t"] < t1)
        sqs_state.run(state, float(t1), tuple(np.ascontiguousarray(c[sel]) for c in cols), None, fan=fan,
                      ports=ports, fstreams=src)
        t0 = float(t1)
    state.finish()
    unit = fan.units[0]
    unit.pending_end = fan.pending(state.pool.ei, state.pool.hh, int(state.pool.g[LK.G_HEAP_N]))[0]
    return unit, state


def compare(params, pubs, streams, window_s=None):
    ref = simulate_fanout_ref(params, pubs, streams, T_END)
    unit, state = run_kernel(params, pubs, streams, T_END, window_s)
    n_per = params.n_periods
    gcnt, rcnt, tcnt = unit.gcnt[:n_per].copy(), unit.rcnt[:n_per].copy(), unit.tcnt[:n_per].copy()
    gcnt[-1] += unit.gcnt[n_per:].sum(axis=0)  # the twin's last period holds everything after it
    rcnt[-1] += unit.rcnt[n_per:].sum(axis=0)
    tcnt[-1] += unit.tcnt[n_per:].sum(axis=0)
    assert np.array_equal(gcnt, ref.gcnt)
    assert np.array_equal(rcnt, ref.rcnt)
    assert np.array_equal(tcnt, ref.tcnt)
    assert list(unit.pending_end) == ref.pending
    # dead letters entered the queue
    assert state.queue_totals()["sent"][0] == ref.tcnt[:, :, K.C_DLQ].sum()
    # conservation per target: accepted = delivered + filtered + dropped + dlq + pending
    tot = tcnt.sum(axis=0)
    put = gcnt[:, K.C_PUT].sum()
    for j in range(params.n_targets):
        assert put == (tot[j, K.C_DELIVERED] + tot[j, K.C_FILTERED] + tot[j, K.C_DROPPED]
                       + tot[j, K.C_DLQ] + ref.pending[j])
    return ref, unit


def _outages(draw, rng):
    k = draw(st.integers(0, 2))
    return [(float(s), float(s + rng.integers(5, 120))) for s in rng.integers(0, 350, k) // 5 * 5]


def _pubs(draw, rng, n_keys, n_groups):
    n = draw(st.integers(0, 40))
    t = np.sort(rng.integers(0, 3900, n) // 5 * 5 / 10.0)  # a coarse grid: ties happen
    return {"t": t, "id": np.arange(n, dtype=np.int64) + 1000, "size": rng.choice([10, 65536, 65537, 300_000], n),
            "key": rng.integers(0, n_keys, n),
            "group": rng.integers(-1, n_groups, n) if n_groups else np.full(n, -1)}


def _streams(rng, n_targets, size=3000):
    return {"U": [rng.random(size) for _ in range(n_targets)],
            "LAT": [rng.choice([0.0, 10.0, 500.0, 5000.0, 40_000.0], size) for _ in range(n_targets)]}


@st.composite
def topics(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    s = draw(st.integers(1, 4))
    n_keys = draw(st.integers(1, 3))
    fifo = draw(st.booleans())
    n_groups = 3 if fifo else 0
    policies = []
    for _ in range(s):
        n = draw(st.integers(0, 4))
        n0 = draw(st.integers(0, n))
        n1 = draw(st.integers(0, n - n0))
        n3 = draw(st.integers(0, n - n0 - n1))
        lo = draw(st.sampled_from([1, 5, 20]))
        policies.append(sns_http_policy(lo, lo + draw(st.sampled_from([0, 7, 30])), n, n0, n1, n3,
                                        draw(st.sampled_from(["linear", "arithmetic", "geometric", "exponential"]))))
    rate = draw(st.sampled_from([math.inf, 0.05, 0.3]))
    params = sns_params(rng.random((n_keys, s)) < 0.7,
                        [draw(st.sampled_from(["sqs", "lambda", "https", "email"])) for _ in range(s)],
                        fail_rate=[draw(st.sampled_from([0.0, 0.3, 1.0])) for _ in range(s)],
                        outages=[_outages(draw, rng) for _ in range(s)], policies=policies,
                        dlq=[draw(st.booleans()) for _ in range(s)], fifo=fifo, n_groups=n_groups,
                        period_s=50.0, n_periods=6, publish_rate=rate, publish_burst=1.0)
    return params, _pubs(draw, rng, n_keys, n_groups), _streams(rng, s)


@st.composite
def buses(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    r = draw(st.integers(1, 3))
    n_keys = draw(st.integers(1, 3))
    rules = []
    for _ in range(r):
        rules.append([Target(fail_rate=draw(st.sampled_from([0.0, 0.3, 1.0])), outages=_outages(draw, rng),
                             policy=eventbridge_policy(draw(st.integers(0, 7)), draw(st.sampled_from([60, 100, 3600]))),
                             dlq=draw(st.booleans()))
                      for _ in range(draw(st.integers(1, 3)))])
    quota = draw(st.sampled_from([(10_000.0, 10_000.0), (0.5, 2.0), (4.0, 1.0)]))
    inv = draw(st.sampled_from([(18_750.0, 18_750.0), (0.3, 1.0), (2.0, 3.0)]))
    params = eventbridge_params(rng.random((n_keys, r)) < 0.7, rules, put_rate=quota[0], put_burst=quota[1],
                                inv_rate=inv[0], inv_burst=inv[1], period_s=50.0, n_periods=6)
    return params, _pubs(draw, rng, n_keys, 0), _streams(rng, params.n_targets)


@settings(max_examples=120, deadline=None)
@given(topics(), st.sampled_from([None, 0.7, 13.0, 100.0]))
def test_sns_kernel_matches_twin(case, window_s):
    compare(*case, window_s=window_s)


@settings(max_examples=120, deadline=None)
@given(buses(), st.sampled_from([None, 0.7, 13.0, 100.0]))
def test_eventbridge_kernel_matches_twin(case, window_s):
    compare(*case, window_s=window_s)


def test_windows_do_not_change_anything():
    """One call and many windows give the same rows, counters and pending pairs."""
    rng = np.random.default_rng(7)
    params = sns_params(np.ones((2, 3), bool), ["sqs", "https", "email"], fail_rate=[0.3, 0.3, 1.0],
                        outages=[[(50, 90)], [], [(0, 20)]],
                        policies=[sns_http_policy(1, 10, 4, 1, 1, 0, "exponential")] * 3, dlq=[True, False, True],
                        fifo=True, n_groups=2, period_s=40.0, n_periods=10)
    pubs = {"t": np.sort(rng.integers(0, 3000, 200) / 10.0), "id": np.arange(200), "size": np.full(200, 100),
            "key": rng.integers(0, 2, 200), "group": rng.integers(-1, 2, 200)}
    streams = _streams(rng, 3)
    u1, _ = run_kernel(params, pubs, streams, T_END)
    for w in (0.3, 7.0, 55.5):
        u2, _ = run_kernel(params, pubs, streams, T_END, window_s=w)
        for name in ("gcnt", "rcnt", "tcnt", "pending_end"):
            assert np.array_equal(getattr(u1, name), getattr(u2, name)), name
    compare(params, pubs, streams, window_s=7.0)


def test_hand_worked_https_outage_in_the_kernel():
    """The HTTP/S outage case of test_fanout_ref, through the kernel, and AWS's metric names."""
    p = sns_params(np.ones((1, 1), bool), ["https"], outages=[[(100, 200)]], dlq=[False],
                   period_s=100.0, n_periods=4)
    pubs = pubs_at([50, 100, 150, 185, 200])
    ref, unit = compare(p, pubs, const_streams(1), window_s=13.0)
    m = unit.sns_metrics()
    assert list(m["published"]) == [1, 3, 1, 0]
    assert list(m["delivered"][:, 0]) == [1, 0, 3, 0]
    assert list(m["notifications_failed"][:, 0]) == [0, 8, 0, 0]  # HTTP/S: every failed attempt
    assert m["failed"].sum() == 1 and m["billed_deliveries"].sum() == 4


def test_sns_metrics_count_non_http_failures_once():
    p = sns_params(np.ones((1, 2), bool), ["sqs", "email"], fail_rate=[1.0, 1.0],
                   policies=[sns_http_policy(1, 1, 2)] * 2, dlq=[True, False])
    _, unit = compare(p, pubs_at([0.0, 1.0]), const_streams(2))
    m = unit.sns_metrics()
    assert list(m["notifications_failed"].sum(axis=0)) == [2, 2]
    assert list(m["dead_lettered"].sum(axis=0)) == [2, 0] and list(m["failed"].sum(axis=0)) == [0, 2]
    assert list(m["attempts"].sum(axis=0)) == [6, 6]
    assert m["billed_deliveries"].sum() == 0


def test_eventbridge_metrics_per_rule():
    rules = [[Target(fail_rate=1.0, policy=eventbridge_policy(1, 60), dlq=True), Target()], [Target()]]
    p = eventbridge_params(np.array([[True, False], [True, True]]), rules, inv_rate=1.0, inv_burst=1.0)
    _, unit = compare(p, pubs_at([0.0, 0.0, 10.0], keys=[0, 1, 1]), const_streams(3))
    m = unit.eventbridge_metrics()
    assert list(m["matched_events"].sum(axis=0)) == [3, 2]
    assert m["matched_any"].sum() == 3
    assert list(m["invocations"].sum(axis=0)) == [6, 2]
    assert list(m["failed_invocations"].sum(axis=0)) == [3, 0]
    assert list(m["dlq"].sum(axis=0)) == [3, 0, 0]
    assert list(m["deliveries"].sum(axis=0)) == [0, 3, 2]
    assert m["throttled_rules"].sum() > 0
