"""The fan-out kernel against its plain-Python twin, row by row and counter by counter,
whatever the window length."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings, strategies as st

from kernels import fanout as K
from kernels.ref.fanout import simulate_fanout_ref
from sim.messaging.fanout_state import FanoutState, Target, eventbridge_params, sns_params
from sim.messaging.retry_policies import eventbridge_policy, sns_http_policy
from sim.engine.rng import ArrayStream

T_END = 400.0


def pubs_at(times, keys=None):
    n = len(times)
    return {"t": np.asarray(times, float), "id": np.arange(n, dtype=np.int64), "size": np.full(n, 1000),
            "key": np.asarray(keys if keys is not None else [0] * n, np.int64), "group": np.full(n, -1)}


def const_streams(n_targets, lat_ms=10.0, u=0.5, n=1000):
    return {"U": [np.full(n, u) for _ in range(n_targets)], "LAT": [np.full(n, lat_ms) for _ in range(n_targets)]}


def run_kernel(params, pubs, streams, t_end, window_s=None, chunk=7):
    """Drive the kernel like a component does: one call per window, rows taken per window."""
    state = FanoutState(params, events=2, rows=3, chunk=chunk)
    src = [(ArrayStream(streams["U"][j], chunk), ArrayStream(streams["LAT"][j], chunk))
           for j in range(params.n_targets)]
    stops = [*np.arange(window_s, t_end, window_s), t_end] if window_s else [t_end]
    out, t0 = [], 0.0
    for t1 in stops:
        sel = (pubs["t"] >= t0) & (pubs["t"] < t1)
        state.run(float(t1), {k: v[sel] for k, v in pubs.items()}, src)
        rows = state.take_rows()
        assert np.all(rows["t"] >= t0) and np.all(rows["t"] < t1)
        out += list(zip(rows["t"].tolist(), rows["seq"].tolist(), rows["kind"].tolist(),
                        rows["target"].tolist(), rows["id"].tolist(), rows["size"].tolist(),
                        rows["key"].tolist(), rows["attempt"].tolist(), rows["t_pub"].tolist()))
        t0 = float(t1)
    return out, state


def compare(params, pubs, streams, window_s=None):
    ref = simulate_fanout_ref(params, pubs, streams, T_END)
    rows, state = run_kernel(params, pubs, streams, T_END, window_s)
    assert rows == ref.rows
    assert np.array_equal(state.gcnt, ref.gcnt)
    assert np.array_equal(state.rcnt, ref.rcnt)
    assert np.array_equal(state.tcnt, ref.tcnt)
    assert list(state.pending()) == ref.pending
    # conservation per target: accepted = delivered + filtered + dropped + dlq + pending
    tot = state.tcnt.sum(axis=0)
    put = state.gcnt[:, K.C_PUT].sum()
    for j in range(params.n_targets):
        assert put == (tot[j, K.C_DELIVERED] + tot[j, K.C_FILTERED] + tot[j, K.C_DROPPED]
                       + tot[j, K.C_DLQ] + ref.pending[j])
    return ref, state


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
    one, s1 = run_kernel(params, pubs, streams, T_END)
    for w in (0.3, 7.0, 55.5):
        many, s2 = run_kernel(params, pubs, streams, T_END, window_s=w)
        assert many == one
        assert np.array_equal(s1.tcnt, s2.tcnt) and np.array_equal(s1.gcnt, s2.gcnt)


def test_hand_worked_https_outage_in_the_kernel():
    """The HTTP/S outage case of test_fanout_ref, through the kernel, and AWS's metric names."""
    p = sns_params(np.ones((1, 1), bool), ["https"], outages=[[(100, 200)]], dlq=[False],
                   period_s=100.0, n_periods=4)
    pubs = pubs_at([50, 100, 150, 185, 200])
    ref, state = compare(p, pubs, const_streams(1), window_s=13.0)
    m = state.sns_metrics()
    assert list(m["published"]) == [1, 3, 1, 0]
    assert list(m["delivered"][:, 0]) == [1, 0, 3, 0]
    assert list(m["notifications_failed"][:, 0]) == [0, 8, 0, 0]  # HTTP/S: every failed attempt
    assert m["failed"].sum() == 1 and m["billed_deliveries"].sum() == 4


def test_sns_metrics_count_non_http_failures_once():
    p = sns_params(np.ones((1, 2), bool), ["sqs", "email"], fail_rate=[1.0, 1.0],
                   policies=[sns_http_policy(1, 1, 2)] * 2, dlq=[True, False])
    _, state = compare(p, pubs_at([0.0, 1.0]), const_streams(2))
    m = state.sns_metrics()
    assert list(m["notifications_failed"].sum(axis=0)) == [2, 2]
    assert list(m["dead_lettered"].sum(axis=0)) == [2, 0] and list(m["failed"].sum(axis=0)) == [0, 2]
    assert list(m["attempts"].sum(axis=0)) == [6, 6]
    assert m["billed_deliveries"].sum() == 0


def test_eventbridge_metrics_per_rule():
    rules = [[Target(fail_rate=1.0, policy=eventbridge_policy(1, 60), dlq=True), Target()], [Target()]]
    p = eventbridge_params(np.array([[True, False], [True, True]]), rules, inv_rate=1.0, inv_burst=1.0)
    _, state = compare(p, pubs_at([0.0, 0.0, 10.0], keys=[0, 1, 1]), const_streams(3))
    m = state.eventbridge_metrics()
    assert list(m["matched_events"].sum(axis=0)) == [3, 2]
    assert m["matched_any"].sum() == 3
    assert list(m["invocations"].sum(axis=0)) == [6, 2]
    assert list(m["failed_invocations"].sum(axis=0)) == [3, 0]
    assert list(m["dlq"].sum(axis=0)) == [3, 0, 0]
    assert list(m["deliveries"].sum(axis=0)) == [0, 3, 2]
    assert m["throttled_rules"].sum() > 0
