"""The broker kernel (kernels/broker.py): small cases worked by hand, and the kernel against its
twin (kernels/ref/broker.py) on edge cases and random streams, exactly, in one call or cut into
windows, with draws handed out a few at a time (the kernel stops STARVED and resumes)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kernels import broker as K
from kernels.histogram import N_BINS
from kernels.ref.broker import BrokerRef


class Kernel:
    """The kernel's arrays for one broker; `run` feeds sends cut at `cuts` (window ends), with at
    most `chunk` draws per queue handed over at a time."""

    def __init__(self, windows, slots, store_limit, max_messages, proc_ms, fail_u, failure_rate, redelivery_s,
                 max_redeliveries, period_s=10.0, n_periods=50, capacity=4096):
        nq = len(slots)
        self.ss, self.fs, self.qs, self.mi, self.mf, self.hh = K.broker_state(nq, slots, capacity)
        self.f0 = np.array([w[0] for w in windows], np.float64)
        self.f1 = np.array([w[1] for w in windows], np.float64)
        self.store_limit = store_limit
        self.max_messages = np.array(max_messages, np.int64)
        self.all_proc = [np.asarray(p, np.float64) for p in proc_ms]
        self.all_u = [np.asarray(u, np.float64) for u in fail_u]
        self.failure_rate = np.array(failure_rate, np.float64)
        self.redelivery_s = np.array(redelivery_s, np.float64)
        self.max_redeliveries = np.array(max_redeliveries, np.int64)
        self.period_s = period_s
        self.qc = np.zeros((n_periods, nq, K.N_QC), np.int64)
        self.bc = np.zeros((n_periods, K.N_BC), np.int64)
        self.qhist = np.zeros((nq, N_BINS), np.int64)
        self.whist = np.zeros(N_BINS, np.int64)
        self.offset = [0] * nq  # per queue, the draw the buffer starts at

    def _draws(self, chunk):
        """The next draws: each queue's used ones dropped, `chunk` from where it stands (cursor 0)."""
        nq = len(self.all_proc)
        for q in range(nq):
            self.offset[q] += int(self.qs[q, K.QS_CURSOR])
        self.qs[:, K.QS_CURSOR] = 0
        proc = np.full((nq, chunk), 1e9)  # past the test's draws: a shortfall shows as a mismatch
        u = np.ones((nq, chunk))
        for q in range(nq):
            seg = self.all_proc[q][self.offset[q]:self.offset[q] + chunk]
            proc[q, :len(seg)] = seg
            useg = self.all_u[q][self.offset[q]:self.offset[q] + chunk]
            u[q, :len(useg)] = useg
        return proc, u

    def run(self, t, queue, size, svc, cuts=(), chunk=1 << 20):
        t = np.asarray(t, np.float64)
        queue, size = np.asarray(queue, np.int64), np.asarray(size, np.int64)
        svc = np.asarray(svc, np.float64)
        edges = sorted(set(cuts)) + [math.inf]
        i = 0
        proc, u = self._draws(chunk)
        for t1 in edges:
            j = int(np.searchsorted(t, t1, side="left"))
            while True:
                took, status = K.run_broker(t[i:j], queue[i:j], size[i:j], svc[i:j], t1, self.ss, self.fs, self.qs,
                                          self.mi, self.mf, self.hh, self.f0, self.f1, self.store_limit,
                                          self.max_messages, proc, u, self.failure_rate, self.redelivery_s,
                                          self.max_redeliveries, self.period_s, self.qc, self.bc, self.qhist,
                                          self.whist)
                i += took
                if status == K.OK:
                    break
                proc, u = self._draws(chunk)
            assert i == j
        return self


def twin(windows, slots, store_limit, max_messages, proc_ms, fail_u, failure_rate, redelivery_s, max_redeliveries,
         t, queue, size, svc, period_s=10.0, n_periods=50):
    ref = BrokerRef(windows, slots, store_limit, max_messages, proc_ms, fail_u, failure_rate, redelivery_s,
                    max_redeliveries, period_s, n_periods)
    ref.run(list(t), list(queue), list(size), list(svc))
    return ref


def test_store_done_pauses_for_failovers():
    f0, f1 = np.array([10.0, 20.0]), np.array([15.0, 22.0])
    assert K.store_done(f0, f1, 0.0, 1.0) == 1.0
    assert K.store_done(f0, f1, 9.5, 1.0) == 15.5  # 0.5 s before the failover, 0.5 s after
    assert K.store_done(f0, f1, 12.0, 1.0) == 16.0  # starts when it ends
    assert K.store_done(f0, f1, 14.5, 6.0) == 23.0  # starts at 15, 5 s to 20, the last 1 s from 22
    assert K.store_done(f0, f1, 9.0, 1.0) == 10.0  # done exactly as the failover starts


def test_one_queue_by_hand():
    """Writes of 0.1 s, one session processing 0.5 s. Sends at 0, 0.05, 0.3: stored at 0.1, 0.2
    and 0.4; delivered at 0.1 (ack 0.6), 0.6 (ack 1.1), 1.1 (ack 1.6). EnqueueTime: 0, 0.4, 0.7 s;
    store waits 0, 0.05, 0; QueueSize (unacknowledged) at most 3, at 0.4."""
    k = Kernel([], [1], 10**9, [-1], [[500.0] * 3], [[0.5] * 3], [0.0], [1.0], [6])
    k.run([0.0, 0.05, 0.3], [0, 0, 0], [1024] * 3, [0.1] * 3)
    c = k.qc.sum(axis=0)[0]
    assert c[K.QC_SENT] == c[K.QC_ENQUEUED] == c[K.QC_DISPATCHED] == c[K.QC_ACKED] == c[K.QC_FIRST_DELIVERIES] == 3
    assert c[K.QC_ENQUEUE_TIME_US] == 1_100_000
    assert k.bc[:, K.BC_STORE_WAIT_US].sum() == 50_000
    assert k.qc[:, 0, K.QC_DEPTH_MAX].max() == 3
    assert k.ss[K.SS_LIVE] == 0 and k.ss[K.SS_HEAP_N] == 0


def test_a_failover_refuses_sends_pauses_writes_and_breaks_a_session():
    """Down over [1, 3). One session, processing 1.5 s, writes 0.1 s. Message 1, sent at 0: stored
    at 0.1, delivered at 0.1; the failover at 1 breaks its session (free at 1.6): redelivered at 3,
    acked at 4.5. Message 2, sent at 0.95: written 0.95-1.0, paused, the rest after 3: stored at
    3.05 (a store wait of 2 s), delivered at 4.5 (EnqueueTime 1.45 s), acked at 6. A send at 2 is
    refused."""
    k = Kernel([(1.0, 3.0)], [1], 10**9, [-1], [[1500.0] * 3], [[0.5] * 3], [0.0], [1.0], [6])
    k.run([0.0, 0.95, 2.0], [0, 0, 0], [10] * 3, [0.1] * 3)
    c = k.qc.sum(axis=0)[0]
    assert c[K.QC_SENT] == 3 and c[K.QC_REFUSED_DOWN] == 1 and c[K.QC_ENQUEUED] == 2
    assert c[K.QC_DISPATCHED] == 3 and c[K.QC_REDELIVERED] == 1 and c[K.QC_ACKED] == 2
    assert c[K.QC_ENQUEUE_TIME_US] == 1_450_000
    assert k.bc[:, K.BC_STORE_WAIT_US].sum() == 2_000_000
    assert math.isclose(k.fs[0], 6.0)  # the last event: message 2's ack


def test_rollbacks_redeliver_then_dead_letter():
    """Every delivery fails; max_redeliveries 2, delay 1 s, processing 0.5 s: delivered at 0.1,
    1.6, 3.1 and dead-lettered at 3.6."""
    k = Kernel([], [1], 10**9, [-1], [[500.0] * 3], [[0.0] * 3], [1.0], [1.0], [2])
    k.run([0.0], [0], [10], [0.1])
    c = k.qc.sum(axis=0)[0]
    assert c[K.QC_DISPATCHED] == 3 and c[K.QC_REDELIVERED] == 2 and c[K.QC_DEAD] == 1 and c[K.QC_ACKED] == 0
    assert math.isclose(k.fs[0], 3.6) and k.ss[K.SS_LIVE] == 0


def test_a_full_store_refuses():
    """Store of 25 bytes, messages of 10: the third send while two are held is refused; a queue
    capped at one message refuses its second."""
    k = Kernel([], [1, 1], 25, [-1, 1], [[1000.0] * 4, [1000.0] * 4], [[0.5] * 4, [0.5] * 4], [0.0, 0.0],
               [1.0, 1.0], [6, 6])
    k.run([0.0, 0.0, 0.0, 0.0], [0, 0, 0, 1], [10, 10, 10, 1], [0.01] * 4)
    c = k.qc.sum(axis=0)
    assert c[0, K.QC_REFUSED_FULL] == 1 and c[1, K.QC_REFUSED_FULL] == 0
    k = Kernel([], [1], 10**9, [1], [[1000.0] * 4], [[0.5] * 4], [0.0], [1.0], [6])
    k.run([0.0, 0.5, 2.0], [0, 0, 0], [10] * 3, [0.01] * 3)
    c = k.qc.sum(axis=0)[0]
    assert c[K.QC_REFUSED_FULL] == 1 and c[K.QC_ACKED] == 2  # the second came while the first was held


def _random_case(rng, n, nq, nw, horizon):
    t = np.sort(rng.uniform(0, horizon, n))
    if n > 3:
        t[1] = t[0]  # ties
    queue = rng.integers(0, nq, n)
    size = rng.integers(1, 200, n)
    svc = rng.choice([0.0, 0.01, 0.05, 0.2], n)
    starts = np.sort(rng.uniform(0, horizon, nw))
    windows = []
    for s in starts:
        e = s + float(rng.choice([0.5, 2.0, 5.0]))
        if windows and s <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], e))
        else:
            windows.append((float(s), e))
    slots = rng.integers(1, 4, nq).tolist()
    draws = 20 * n + 50
    proc = [rng.choice([0.0, 10.0, 300.0, 2000.0], draws).tolist() for _ in range(nq)]
    u = [rng.uniform(0, 1, draws).tolist() for _ in range(nq)]
    rate = rng.choice([0.0, 0.3, 0.9], nq).tolist()
    delay = rng.choice([0.0, 0.5, 1.0], nq).tolist()
    maxr = rng.integers(0, 4, nq).tolist()
    maxm = rng.choice([-1, 2, 5], nq).tolist()
    limit = int(rng.choice([10**9, 400]))
    return (windows, slots, limit, maxm, proc, u, rate, delay, maxr), (t, queue, size, svc)


def _same(k: Kernel, ref: BrokerRef):
    assert k.qc.tolist() == ref.qc.tolist()
    assert k.bc.tolist() == ref.bc.tolist()
    want_w = np.zeros(N_BINS, np.int64)
    from kernels.ref.histogram import hist_add_ref  # noqa: PLC0415
    for v in ref.store_waits_ms:
        hist_add_ref(want_w, v)
    assert k.whist.tolist() == want_w.tolist()
    for q, waits in enumerate(ref.first_waits_ms):
        want = np.zeros(N_BINS, np.int64)
        for v in waits:
            hist_add_ref(want, v)
        assert k.qhist[q].tolist() == want.tolist()
    assert k.ss[K.SS_LIVE] == 0 and k.ss[K.SS_HEAP_N] == 0


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 60), st.integers(1, 3), st.integers(0, 4),
       st.lists(st.floats(0.0, 40.0), max_size=6), st.sampled_from([1, 2, 7, 1 << 20]))
def test_kernel_matches_twin(seed, n, nq, nw, cuts, chunk):
    rng = np.random.default_rng(seed)
    params, sends = _random_case(rng, n, nq, nw, 30.0)
    k = Kernel(*params).run(*sends, cuts=cuts, chunk=chunk)
    ref = twin(*params, *sends)
    _same(k, ref)


EDGES = [
    # sends exactly at a failover's start (refused) and end (accepted); a failover from time 0
    dict(windows=[(0.0, 1.0), (2.0, 3.0)], t=[0.0, 1.0, 2.0, 3.0, 3.0], svc=[0.5] * 5, proc=300.0),
    # a write that ends exactly as a failover starts (stored, delivered after it)
    dict(windows=[(1.0, 2.0)], t=[0.5], svc=[0.5], proc=100.0),
    # instant work: zero write and processing times, every delivery failing, no delay: the
    # redeliveries and the dead letter all at one instant
    dict(windows=[], t=[0.0, 0.0, 0.0], svc=[0.0] * 3, proc=0.0, rate=1.0, delay=0.0),
    # processings that end exactly as a failover starts: the broker is down at f0, so their acks
    # are lost and both messages are redelivered when it ends
    dict(windows=[(1.0, 2.0)], t=[0.0, 0.0], svc=[0.0, 0.0], proc=1000.0, slots=[2]),
]


@pytest.mark.parametrize("case", EDGES)
def test_edge_cases_match_the_twin(case):
    n = len(case["t"])
    slots = case.get("slots", [1])
    draws = [[case["proc"]] * 50]
    u = [[0.5] * 50]
    params = (case["windows"], slots, 10**9, [-1], draws, u, [case.get("rate", 0.0)], [case.get("delay", 1.0)], [3])
    sends = (case["t"], [0] * n, [10] * n, case["svc"])
    for cuts in ((), (0.5, 1.0, 2.0, 3.0), tuple(np.linspace(0, 4, 41))):
        k = Kernel(*params).run(*sends, cuts=cuts, chunk=1)
        _same(k, twin(*params, *sends))
