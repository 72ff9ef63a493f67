"""The messaging kernel (`kernels/queue_pool.py`) against its twin (`kernels/ref/queue_pool.py`),
and hand-worked cases of the twin's per-period outputs and on-failure destinations.

The kernel must agree exactly: pool rows, per-queue / mapping / fleet totals and end states,
target steps, draws consumed, the per-period arrays and the wait histograms — whatever the
window length it is run with.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kernels import lambda_pool as K
from kernels.ref.queue_pool import (
    FLEET_PERIOD, MAPPING_PERIOD, QP_RECEIVE_REQUESTS, QP_SEND_REQUESTS, QP_SENT, QP_VISIBLE,
    QP_WAIT_N, QPF_AGE_OLDEST_S, QPF_VISIBLE_S, QPF_WAIT_SUM_S, QUEUE_PERIOD_INT,
    simulate_messaging_ref,
)
from sim.messaging import sqs_state as queue_state
from sim.messaging.sqs_state import MessagingState, MessagingStreams
from sim.engine.rng import ArrayStream
from test_queue_ref import (
    MIB, arrivals, call, draw_queues, fleet_params, mapping_params, pool_params, queue_params, random_streams,
    send, streams,
)

COLS = ("t", "id", "fn", "src", "inv", "dur_override_ms", "units", "queue", "size_bytes", "key", "group")


def acall(t, id, fn=0, size_bytes=1000):
    """An asynchronous function arrival carrying a payload of size_bytes."""
    return (t, id, fn, 0, 1, math.nan, -1, size_bytes, 0, 0)


def run_kernel(p, qp, mp, fp, items, s, t_end, period_s, window_s=None, controls=(), initial=None,
               chunk=7):
    state = MessagingState(p, qp, mp, fp, t_end, period_s, chunk, sample_all=True, events=4, messages=2)
    if initial is not None:
        for f, n in enumerate(initial):
            state.control_provisioned(0.0, f, int(n))
    nf = len(p.reserved)
    prov = MessagingStreams(
        pool=[[ArrayStream(s[k][f], chunk) for k in ("DUR", "INIT", "EXP", "U")] for f in range(nf)],
        item=[ArrayStream(v, chunk) for v in s["ITEM"]],
        proc=[ArrayStream(v, chunk) for v in s["PROC"]],
        werr=[ArrayStream(v, chunk) for v in s["WERR"]])
    arr = arrivals(*items)
    n = len(arr["t"])
    arr["units"] = np.ones(n, np.int64)
    arr = {c: np.ascontiguousarray(arr[c]) for c in COLS}
    stops = sorted({t for t, _, _ in controls}
                   | ({*np.arange(window_s, t_end, window_s).tolist()} if window_s else set()))
    rows, t0 = [], 0.0
    for t1 in [*stops, t_end]:
        sel = (arr["t"] >= t0) & (arr["t"] < t1)
        queue_state.run(state, t1, tuple(arr[c][sel] for c in COLS), prov)
        for t, f, n_ in controls:
            if t == t1:
                state.control_provisioned(t, f, n_)
        rows.append(state.pool.take_rows())
        t0 = t1
    state.finish()
    ri = np.concatenate([r[0] for r in rows])
    rf = np.concatenate([r[1] for r in rows])
    out = [(int(a[K.R_ID]), int(a[K.R_ATTEMPT]), float(b[K.R_T]), int(a[K.R_FN]), int(a[K.R_OUTCOME]),
            int(a[K.R_COLD]), int(a[K.R_ON_PC]), float(b[K.R_LATENCY_MS]), float(b[K.R_INIT_MS]))
           for a, b in zip(ri, rf)]
    return out, state


def compare(p, qp, mp, fp, items, s, t_end, period_s, window_s=None, controls=(), initial=None):
    ref = simulate_messaging_ref(p, qp, mp, fp, arrivals(*items), s, t_end, controls, initial,
                                 period_s=period_s)
    rows, state = run_kernel(p, qp, mp, fp, items, s, t_end, period_s, window_s, controls, initial)
    assert rows == ref.rows
    tot = state.queue_totals()
    for name in ("sent", "redriven_in", "received", "deleted", "dead_lettered", "expired",
                 "empty_receives", "receive_requests", "delete_requests", "stale_deletes"):
        assert tot[name].tolist() == getattr(ref, name), name
    end = state.queue_end_state()
    for name in ("visible", "in_flight", "delayed"):
        assert end[name].tolist() == getattr(ref, name), name
    qi, qf = state.queue_periods()
    np.testing.assert_array_equal(qi, ref.period_queue)
    np.testing.assert_array_equal(qf, ref.period_queue_f)
    np.testing.assert_array_equal(state.mapping_periods(), ref.period_mapping)
    np.testing.assert_array_equal(state.fleet_periods(), ref.period_fleet)
    np.testing.assert_array_equal(state.wait_hist(), ref.wait_hist)
    np.testing.assert_array_equal(state.wait_range(), ref.wait_range)  # exact min and max waits
    mpm = state.mapping_periods().sum(axis=0)
    assert mpm[:, 0].tolist() == ref.batches_invoked
    assert mpm[:, 1].tolist() == ref.batches_throttled
    assert state.mapping_periods()[:, :, 2].max(axis=0, initial=0).tolist() == ref.max_concurrent_batches
    wpm = state.fleet_periods().sum(axis=0)
    assert wpm[:, 0].tolist() == ref.fleet_batches and wpm[:, 1].tolist() == ref.fleet_messages
    assert state.pollers().tolist() == ref.pollers
    m, t, v = state.take_steps()
    steps = [[] for _ in range(len(mp.queue))]
    for mm, tt, vv in zip(m.tolist(), t.tolist(), v.tolist()):
        steps[mm].append((tt, vv))
    assert [sorted(x) for x in steps] == [sorted(x) for x in ref.target_steps]
    used = state.draws_used()
    for k in ("DUR", "INIT", "EXP", "U"):
        assert used[k] == ref.pool.draws_used[k], k
    for k in ("ITEM", "PROC", "WERR"):
        assert used[k] == ref.draws_used[k], k
    pmi = state.pool.pmi.sum(axis=0)
    assert pmi[:, K.M_ASYNC_DROPPED].tolist() == ref.pool.async_dropped
    assert pmi[:, K.M_THROTTLES].tolist() == ref.pool.throttles
    assert pmi[:, K.M_SYNC_FAILED].tolist() == ref.pool.sync_failed
    # conservation per queue
    for q in range(len(qp.fifo)):
        assert (tot["sent"][q] + tot["redriven_in"][q]
                == tot["deleted"][q] + tot["dead_lettered"][q] + tot["expired"][q]
                + end["visible"][q] + end["delayed"][q] + end["in_flight"][q])
    return ref, state


# --- hand-worked cases of the twin's new outputs -------------------------------------------


def test_period_counters_snapshots_and_waits_by_hand():
    # No consumer for 0..10 s except one worker on q0 taking 1 message, PROC 4000 ms.
    # Periods of 2 s. 0.5: mid 0 sent (1 KB) -> the worker receives it at once (wait 0).
    # 1.0: mid 1 (100 KB = 2 requests) waits, visible. 4.5: BATCH_DONE deletes mid 0, the
    # worker takes mid 1 (wait 3.5 s), done at 8.5. 3.0: mid 2 sent, taken at 8.5 (wait 5.5).
    fp = fleet_params(1, max_messages=[1])
    s = streams(n_map=0, n_fleet=1, PROC=[4000.0] * 10)
    items = [send(0.5, 0), send(1.0, 1, size_bytes=100_000), send(3.0, 2)]
    r = simulate_messaging_ref(pool_params(), queue_params(), mapping_params(0), fp, arrivals(*items),
                               s, 10.0, period_s=2.0)
    pq, pqf = r.period_queue[:, 0], r.period_queue_f[:, 0]
    assert pq[:, QP_SENT].tolist() == [2, 1, 0, 0, 0]
    assert pq[:, QP_SEND_REQUESTS].tolist() == [1 + 2, 1, 0, 0, 0]
    assert pq[:, QP_VISIBLE].tolist() == [1, 2, 1, 1, 0]  # at 2, 4, 6, 8, 10
    # visible 1 over [1, 2), [1, 2) + 1 over [3, 4), 2 over [4, 4.5) + 1 over [4.5, 6), ...
    assert pqf[:, QPF_VISIBLE_S].tolist() == [1.0, 3.0, 2.5, 2.0, 0.5]
    assert pqf[:, QPF_AGE_OLDEST_S].tolist() == [1.0, 3.0, 3.0, 5.0, 0.0]
    assert pq[:, QP_WAIT_N].tolist() == [1, 0, 1, 0, 1]
    assert pqf[:, QPF_WAIT_SUM_S].tolist() == [0.0, 0.0, 3.5, 0.0, 5.5]
    assert r.wait_hist[0].sum() == 3
    # 20 s long polls: none before 10 (the worker is busy or was receiving)
    assert pq[:, QP_RECEIVE_REQUESTS].tolist() == [1, 0, 2, 0, 1]
    assert r.period_fleet[:, 0].tolist() == [[0, 0, 1], [0, 0, 1], [1, 1, 1], [0, 0, 1], [1, 1, 1]]


def test_on_failure_destination_sends_the_dropped_event():
    # f0: async, always errors, no retries -> dropped at its start; the message (size 3000,
    # mid -1) goes to q0 and is taken by mapping 0 (function f1) at once.
    p = pool_params(2, error_rate=[1.0, 0.0], async_max_retries=[0, 2], on_failure_queue=[0, -1])
    mp = mapping_params(function=[1])
    r = simulate_messaging_ref(p, queue_params(), mp, fleet_params(), arrivals(acall(1.0, 5, size_bytes=3000)),
                               streams(2), 5.0)
    assert r.log[:3] == [(1.0, -1, 0, "sent"), (1.0, -1, 0, "visible"), (1.0, -1, 0, "received")]
    assert r.pool.async_dropped == [1, 0]
    assert r.failure_sends == 1 and r.sent == [1] and r.deleted == [1]
    assert [row[:5] for row in r.rows] == [(5, 0, 1.0, 0, 1), (-1, 0, 1.0, 1, 0)]


def test_on_failure_queue_must_be_standard():
    p = pool_params(on_failure_queue=[0])
    with pytest.raises(ValueError, match="standard"):
        simulate_messaging_ref(p, queue_params(fifo=[1]), mapping_params(0), fleet_params(),
                               arrivals(), streams(n_map=0), 1.0)


# --- kernel == twin ----------------------------------------------------------------------------


def test_kernel_matches_twin_on_the_hand_cases():
    fp = fleet_params(1, max_messages=[1])
    s = streams(n_map=0, n_fleet=1, PROC=[4000.0] * 100)
    items = [send(0.5, 0), send(1.0, 1, size_bytes=100_000), send(3.0, 2)]
    for w in (None, 0.25, 2.0):
        compare(pool_params(), queue_params(), mapping_params(0), fp, items, s, 10.0, 2.0, window_s=w)
    p = pool_params(2, error_rate=[1.0, 0.0], async_max_retries=[0, 2], on_failure_queue=[0, -1])
    compare(p, queue_params(), mapping_params(function=[1]), fleet_params(), [acall(1.0, 5, size_bytes=3000)],
            streams(2, DUR=[[250.0] * 200] * 2), 5.0, 1.0)


@st.composite
def scenarios(draw):
    n_fn = draw(st.integers(1, 2))
    n_q = draw(st.integers(1, 3))
    fifo = [draw(st.integers(0, 1)) for _ in range(n_q)]
    standard = [q for q in range(n_q) if not fifo[q]]
    p = pool_params(
        n_fn, reserved=[draw(st.sampled_from([-1, -1, 0, 1, 3])) for _ in range(n_fn)],
        error_rate=[draw(st.sampled_from([0.0, 0.3, 1.0])) for _ in range(n_fn)],
        timeout_ms=[draw(st.sampled_from([500.0, 60_000.0])) for _ in range(n_fn)],
        async_max_retries=[draw(st.integers(0, 2)) for _ in range(n_fn)],
        async_max_age_s=[draw(st.sampled_from([30.0, 21_600.0])) for _ in range(n_fn)],
        unres_cap=draw(st.sampled_from([2, 1000])),
        on_failure_queue=[draw(st.sampled_from([-1, *standard])) for _ in range(n_fn)])
    qp, mp, fp = draw_queues(draw, n_fn, n_q, fifo)
    grid = draw(st.sampled_from([8, 1000]))  # 1/8 s: exact ties; 1 ms: tiny gaps
    n_send = draw(st.integers(0, 30))
    items = [send(draw(st.integers(0, 10 * grid)) / grid, mid, q=draw(st.integers(0, n_q - 1)),
                  size_bytes=draw(st.sampled_from([100, 300_000, MIB])), group=draw(st.integers(0, 2)))
             for mid in range(n_send)]
    for k in range(draw(st.integers(0, 6))):
        maker = draw(st.sampled_from([call, acall]))
        items.append(maker(draw(st.integers(0, 10 * grid)) / grid, 1000 + k, fn=draw(st.integers(0, n_fn - 1))))
    items.sort(key=lambda it: it[0])
    t_end = draw(st.sampled_from([6.0, 45.0, 130.0]))
    period_s = draw(st.sampled_from([t_end, 1.0, 7.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    return p, qp, mp, fp, items, random_streams(seed, n_fn, len(mp.queue), len(fp.queue), n=4000), t_end, period_s


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.sampled_from([None, 1.0, 60.0]))
def test_kernel_matches_twin(case, window_s):
    compare(*case, window_s=window_s)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.data())
def test_kernel_matches_twin_with_provisioned_controls(case, data):
    p, qp, mp, fp, items, s, t_end, period_s = case
    n_fn = len(p.reserved)
    times = sorted(set(data.draw(st.lists(st.sampled_from([0.5, 1.0, 2.5, 4.0]), max_size=3))))
    controls = [(t, data.draw(st.integers(0, n_fn - 1)), data.draw(st.integers(0, 3))) for t in times]
    initial = [data.draw(st.integers(0, 2)) for _ in range(n_fn)] if data.draw(st.booleans()) else None
    compare(p, qp, mp, fp, items, s, t_end, period_s, window_s=1.0, controls=controls, initial=initial)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_kernel_matches_twin_in_tiny_windows(case):
    p, qp, mp, fp, items, s, t_end, period_s = case
    compare(p, qp, mp, fp, items, s, min(t_end, 45.0), period_s, window_s=0.01)


def test_period_columns_are_named():
    assert len(QUEUE_PERIOD_INT) == 15 and len(MAPPING_PERIOD) == 4 and len(FLEET_PERIOD) == 3
    assert QUEUE_PERIOD_INT[QP_RECEIVE_REQUESTS] == "receive_requests"
