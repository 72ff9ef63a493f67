"""The fan-out twin (kernels/ref/fanout.py) on cases worked by hand from FANOUT_SPEC.md."""

import math

import numpy as np
import pytest

from kernels.fanout import GLOBAL_COUNTERS, KIND_DELIVERY, KIND_DLQ, TARGET_COUNTERS, merge_outages
from kernels.ref.fanout import simulate_fanout_ref
from sim.messaging.fanout_state import Target, eventbridge_params, sns_params
from sim.messaging.retry_policies import eventbridge_policy, sns_http_policy, sns_managed_policy

C = {c: i for i, c in enumerate(TARGET_COUNTERS)}
G = {c: i for i, c in enumerate(GLOBAL_COUNTERS)}


def pubs_at(times, keys=None, groups=None, sizes=None):
    n = len(times)
    return {"t": np.asarray(times, float), "id": np.arange(n, dtype=np.int64),
            "size": np.asarray(sizes if sizes is not None else [1000] * n, np.int64),
            "key": np.asarray(keys if keys is not None else [0] * n, np.int64),
            "group": np.asarray(groups if groups is not None else [-1] * n, np.int64)}


def const_streams(n_targets, lat_ms=10.0, u=0.5, n=1000):
    return {"U": [np.full(n, u) for _ in range(n_targets)], "LAT": [np.full(n, lat_ms) for _ in range(n_targets)]}


def totals(res):
    return res.tcnt.sum(axis=0)


def test_https_outage_with_default_policy():
    """HTTP/S default policy (3 retries, 20 s apart), outage [100, 200), latency 10 ms.

    t=50 delivered at 50.01; t=100 fails at 100, 120, 140, 160 -> dropped at 160 (DLQ when
    configured); t=150 fails at 150, 170, 190 and succeeds at 210 (attempt 3); t=185 fails at
    185, succeeds at 205 (attempt 1); t=200 is outside [100, 200): delivered at once."""
    for dlq in (False, True):
        p = sns_params(np.ones((1, 1), bool), ["https"], outages=[[(100, 200)]], dlq=[dlq])
        res = simulate_fanout_ref(p, pubs_at([50, 100, 150, 185, 200]), const_streams(1), 1000.0)
        got = [(round(t, 6), kind, mid, att) for t, _, kind, _, mid, _, _, att, _ in res.rows]
        expect = [(50.01, KIND_DELIVERY, 0, 0), (200.01, KIND_DELIVERY, 4, 0), (205.01, KIND_DELIVERY, 3, 1),
                  (210.01, KIND_DELIVERY, 2, 3)]
        if dlq:
            expect.insert(1, (160.0, KIND_DLQ, 1, 3))
        assert got == expect
        tot = totals(res)
        assert tot[0, C["attempts"]] == 5 + 3 + 3 + 1
        assert tot[0, C["failed_attempts"]] == 4 + 3 + 1  # NumberOfNotificationsFailed for HTTP/S
        assert tot[0, C["delivered"]] == 4
        assert tot[0, C["dlq" if dlq else "dropped"]] == 1
        assert res.pending == [0]


def test_sqs_managed_policy_rides_out_a_100_s_outage():
    """SQS subscription, outage [0, 100): the message is retried through the managed policy's
    phases and delivered by the first retry at or after 100 s."""
    p = sns_params(np.ones((1, 1), bool), ["sqs"], outages=[[(0, 100)]])
    res = simulate_fanout_ref(p, pubs_at([0.0]), const_streams(1), 200.0)
    cum = np.cumsum(sns_managed_policy().delays()[:40])
    k = int(np.argmax(cum >= 100))  # retry k+1 is the first outside the outage
    (t, _, kind, _, _, _, _, attempt, t_pub), = res.rows
    assert kind == KIND_DELIVERY and attempt == k + 1 and t_pub == 0.0
    assert t == pytest.approx(cum[k] + 0.01)
    assert 100 <= cum[k] < 120
    assert totals(res)[0, C["attempts"]] == k + 2


def test_filtered_and_conservation_per_subscription():
    match = np.array([[True, False], [True, True]])
    p = sns_params(match, ["lambda", "email"], fail_rate=[1.0, 0.0],
                   policies=[sns_http_policy(1, 1, 2), sns_http_policy()], dlq=[True, False])
    res = simulate_fanout_ref(p, pubs_at([0, 1, 2, 3], keys=[0, 1, 0, 1]), const_streams(2), 1.5)
    tot = totals(res)
    published = res.gcnt[:, G["put"]].sum()
    assert published == 2  # publishes at t >= t_end are not processed
    for j in range(2):
        assert published == (tot[j, C["delivered"]] + tot[j, C["filtered"]] + tot[j, C["dropped"]]
                             + tot[j, C["dlq"]] + res.pending[j])
    assert tot[1, C["filtered"]] == 1
    # sub 0 fails always: t=0 -> retries at 1, 2 -> DLQ at 2 >= t_end: still pending at 1.5
    assert res.pending[0] == 2 and tot[0, C["dlq"]] == 0


def test_fifo_group_keeps_publish_order():
    p = sns_params(np.ones((1, 1), bool), ["sqs"], fifo=True, n_groups=2)
    streams = {"U": [np.zeros(10)], "LAT": [np.array([500.0, 10.0, 10.0])]}
    res = simulate_fanout_ref(p, pubs_at([0.0, 0.1, 0.2], groups=[0, 0, 1]), streams, 10.0)
    got = sorted((mid, t) for t, _, _, _, mid, _, _, _, _ in res.rows)
    assert got == [(0, 0.5), (1, 0.5), (2, pytest.approx(0.21))]


def test_eventbridge_quotas():
    """PutEvents bucket 1/s burst 1: entries at 0, 0.5, 1.0 -> the one at 0.5 is rejected.
    Invocation bucket 1/s burst 2, two targets: the entry at 0 uses both tokens; at 1 one
    token has come back, so target 0 runs at 1 and target 1 waits for the next token, at 2
    (throttled, delayed, not dropped)."""
    tg = [Target(), Target()]
    p = eventbridge_params(np.ones((1, 1), bool), [tg], put_rate=1.0, put_burst=1.0,
                           inv_rate=1.0, inv_burst=2.0)
    res = simulate_fanout_ref(p, pubs_at([0.0, 0.5, 1.0]), const_streams(2, lat_ms=0.0), 100.0)
    assert res.gcnt[:, G["put"]].sum() == 2 and res.gcnt[:, G["put_throttled"]].sum() == 1
    assert [(r[0], r[3], r[4]) for r in res.rows] == [(0.0, 0, 0), (0.0, 1, 0), (1.0, 0, 2), (2.0, 1, 2)]
    tot = totals(res)
    assert list(tot[:, C["throttled"]]) == [0, 1]  # ThrottledRules: the one delayed invocation
    assert res.rcnt.sum() == 2


def test_eventbridge_max_event_age_stops_retries():
    """Target down for good, MaximumEventAgeInSeconds 60: attempts at 0, 1, 3, 7, 15, 31; the
    next would start at 63 > 60, so the event goes to the DLQ at 31."""
    tg = Target(outages=[(0, 1e6)], policy=eventbridge_policy(185, 60), dlq=True)
    p = eventbridge_params(np.ones((1, 1), bool), [[tg]])
    res = simulate_fanout_ref(p, pubs_at([0.0]), const_streams(1), 1000.0)
    assert [(r[0], r[2], r[7]) for r in res.rows] == [(31.0, KIND_DLQ, 5)]
    tot = totals(res)
    assert tot[0, C["attempts"]] == 6 and tot[0, C["final"]] == 1 and tot[0, C["dlq"]] == 1


def test_eventbridge_retries_exhausted_then_dropped():
    tg = Target(fail_rate=1.0, policy=eventbridge_policy(2, 3600))
    p = eventbridge_params(np.array([[True, False]]), [[tg], [Target()]])
    res = simulate_fanout_ref(p, pubs_at([5.0]), const_streams(2), 100.0)
    tot = totals(res)
    assert tot[0, C["attempts"]] == 3 and tot[0, C["dropped"]] == 1 and res.rows == []
    assert tot[1, C["filtered"]] == 1 and list(res.rcnt.sum(axis=0)) == [1, 0]
    assert res.gcnt[:, G["matched_any"]].sum() == 1


def test_builders_check_their_inputs():
    with pytest.raises(ValueError, match="targets"):
        eventbridge_params(np.ones((1, 1), bool), [[Target()] * 6])
    with pytest.raises(ValueError, match="protocols"):
        sns_params(np.ones((1, 1), bool), ["carrier-pigeon"])
    with pytest.raises(ValueError, match="fail_rate"):
        sns_params(np.ones((1, 1), bool), ["sqs"], fail_rate=[1.5])
    assert merge_outages([(5, 7), (1, 2), (2, 3), (6, 9), (4, 4)]) == [(1, 3), (5, 9)]
    assert math.isinf(sns_params(np.ones((1, 1), bool), ["sqs"]).inv_rate)
