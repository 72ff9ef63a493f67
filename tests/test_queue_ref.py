"""Exact-trace tests of the SQS / event source mapping / worker fleet twin, worked out by hand
from QUEUE_SPEC.md and POOL_SPEC.md.

Log rows are `(t, mid, q, event)`; pool rows `(id, attempt, t, fn, outcome, cold, on_pc,
latency_ms, init_ms)`, a mapping invocation having `id = −1 − b` (b its index in `batches`).
Times and durations are multiples of 1/8 s so everything compares with `==`. Unless a test
says otherwise: DUR draws 250 ms, INIT 125 ms (a cold batch ends 0.375 s after its start, a
warm one 0.25 s), EXP 600 s, U 0.5; queues are standard with a 30 s visibility timeout;
mappings take batches of 10 with no window, starting with 5 pollers P0..P4 idle at 0.
Every run asserts conservation per queue (`run` does it):
sent + redriven_in = deleted + dead_lettered + expired + visible + delayed + in_flight.
"""

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kernels.ref.lambda_pool import ERROR, OK, THROTTLED, PoolParams
from kernels.ref.queue_pool import (
    FleetParams,
    MappingParams,
    QueueParams,
    simulate_messaging_ref,
)

MIB = 1024 * 1024


def pool_params(n_fn=1, **over) -> PoolParams:
    base = dict(
        reserved=[-1] * n_fn, timeout_ms=[60_000.0] * n_fn, error_rate=[0.0] * n_fn,
        dur_scale=[1.0] * n_fn, memory_mb=[128] * n_fn, async_max_retries=[2] * n_fn,
        async_max_age_s=[21_600.0] * n_fn, bucket=list(range(n_fn)),
        bucket_cap=[1000.0] * n_fn, bucket_rate=[100.0] * n_fn, unres_cap=1000,
        retry_max_attempts=[1], retry_base_s=[0.5], retry_cap_s=[20.0], retry_jitter=[0],
    )
    base.update(over)
    return PoolParams(**base)


def queue_params(n=1, **over) -> QueueParams:
    base = dict(visibility_timeout_s=[30.0] * n, retention_s=[345_600.0] * n, delay_s=[0.0] * n,
                max_receive_count=[-1] * n, dlq=[-1] * n, in_flight_limit=[120_000] * n,
                fifo=[0] * n)
    base.update(over)
    return QueueParams(**base)


def mapping_params(n=1, **over) -> MappingParams:
    base = dict(queue=[0] * n, function=[0] * n, batch_size=[10] * n, window_s=[0.0] * n,
                max_concurrency=[-1] * n, report_failures=[0] * n, item_failure_rate=[0.0] * n,
                legacy_scaling=[0] * n)
    base.update(over)
    return MappingParams(**base)


def fleet_params(n=0, **over) -> FleetParams:
    base = dict(queue=[0] * n, n_workers=[1] * n, max_messages=[10] * n, error_rate=[0.0] * n)
    base.update(over)
    return FleetParams(**base)


def send(t, mid, q=0, size_bytes=1024, group=0):
    return (t, mid, 0, 0, 0, math.nan, q, size_bytes, 0, group)


def call(t, id, fn=0):
    """A synchronous function arrival (not a message)."""
    return (t, id, fn, 0, 0, math.nan, -1, 0, 0, 0)


def arrivals(*items):
    keys = ["t", "id", "fn", "src", "inv", "dur_override_ms", "queue", "size_bytes", "key", "group"]
    dtypes = [np.float64, *[np.int64] * 4, np.float64, *[np.int64] * 4]
    cols = list(zip(*items)) if items else [()] * len(keys)
    return {k: np.asarray(c, dtype=d) for k, c, d in zip(keys, cols, dtypes)}


def streams(n_fn=1, n_map=1, n_fleet=0, **given):
    """Draw arrays; a flat list is the one function's / mapping's / fleet's stream."""
    defaults = {"DUR": 250.0, "INIT": 125.0, "EXP": 600.0, "U": 0.5, "ITEM": 0.5, "PROC": 125.0,
                "WERR": 0.5}
    counts = {"DUR": n_fn, "INIT": n_fn, "EXP": n_fn, "U": n_fn, "ITEM": n_map, "PROC": n_fleet,
              "WERR": n_fleet}
    out = {}
    for kind, n in counts.items():
        values = given.get(kind)
        if values is None:
            values = [[defaults[kind]] * 200 for _ in range(n)]
        elif not isinstance(values[0], (list, tuple)):
            values = [values]
        out[kind] = [np.asarray(v, dtype=np.float64) for v in values]
    return out


def assert_conserved(r):
    for q in range(len(r.sent)):
        entered = r.sent[q] + r.redriven_in[q]
        left = r.deleted[q] + r.dead_lettered[q] + r.expired[q]
        assert entered == left + r.visible[q] + r.delayed[q] + r.in_flight[q], f"queue {q}"


def run(items, p=None, qp=None, mp=None, fp=None, s=None, t_end=10.0, **kw):
    """Simulate and check conservation per queue."""
    p = p or pool_params()
    qp = qp or queue_params()
    mp = mp if mp is not None else mapping_params()
    fp = fp if fp is not None else fleet_params()
    s = s or streams(len(p.reserved), len(mp.queue), len(fp.queue))
    r = simulate_messaging_ref(p, qp, mp, fp, arrivals(*items), s, t_end, **kw)
    assert_conserved(r)
    return r


def events_of(r, mid):
    return [(t, q, e) for t, m, q, e in r.log if m == mid]


# --- one message, delay, redelivery -----------------------------------------------------------


def test_one_message_through_a_mapping_shares_the_pool():
    # 1.0: mid 7 is sent, visible, and P0 (longest idle) receives it (receipt 1) and invokes
    # batch 0: cold, 125 + 250 ms, ends 1.375, when mid 7 is deleted (one DeleteMessageBatch).
    # 1.5: a direct call of the same function finds the batch's environment idle: warm.
    # SCALE at 2.0 finds the queue empty with target at 5: ticks stop.
    r = run([send(1.0, 7, size_bytes=1000), call(1.5, 0)])
    assert r.log == [
        (1.0, 7, 0, "sent"), (1.0, 7, 0, "visible"), (1.0, 7, 0, "received"),
        (1.375, 7, 0, "deleted"),
    ]
    assert r.rows == [
        (-1, 0, 1.0, 0, OK, 1, 0, 375.0, 125.0),
        (0, 0, 1.5, 0, OK, 0, 0, 250.0, 0.0),
    ]
    assert r.batches == [(1.0, 0, (7,))]
    assert (r.sent, r.received, r.deleted) == ([1], [1], [1])
    assert (r.receive_requests, r.delete_requests, r.empty_receives) == ([1], [1], [0])
    assert (r.visible, r.delayed, r.in_flight) == ([0], [0], [0])
    assert (r.batches_invoked, r.batches_throttled, r.max_concurrent_batches) == ([1], [0], [1])
    assert r.target_steps == [[(0.0, 5)]]
    assert r.pollers == [5]
    assert r.pool.invocations == [2] and r.pool.cold_starts == [1]


@pytest.mark.parametrize("t_end, delayed", [(4.0, 1), (10.0, 0)])
def test_delay_then_visible(t_end, delayed):
    # delay 5 s: sent at 0, VISIBLE at 5.0, received and invoked at 5, deleted at 5.375.
    r = run([send(0.0, 0)], qp=queue_params(delay_s=[5.0]), t_end=t_end)
    full = [(0.0, 0, 0, "sent"), (5.0, 0, 0, "visible"), (5.0, 0, 0, "received"),
            (5.375, 0, 0, "deleted")]
    assert r.log == full[:1 + 3 * (1 - delayed)]
    assert (r.delayed, r.deleted) == ([delayed], [1 - delayed])


def test_visibility_timeout_redelivers_after_a_function_error():
    # error_rate 0.5, U 0.25 then 0.75. 0: P0 receives mid 0 (receipt 1, visible again at 30),
    # batch 0 errors at 0.375: nothing is deleted; P0 idles at 0.375 (long poll to 20.375).
    # 20: P1..P4 count an empty receive each; 20.375: P0 does.
    # 30: VISIBLE(0, 1): visible; the longest idle poller P1 receives it (receipt 2) and runs
    # warm on the environment batch 0 left: ok, deleted at 30.25.
    r = run([send(0.0, 0)], p=pool_params(error_rate=[0.5]), s=streams(U=[0.25, 0.75]),
            t_end=35.0)
    assert r.log == [
        (0.0, 0, 0, "sent"), (0.0, 0, 0, "visible"), (0.0, 0, 0, "received"),
        (30.0, 0, 0, "visible"), (30.0, 0, 0, "received"), (30.25, 0, 0, "deleted"),
    ]
    assert r.rows == [
        (-1, 0, 0.0, 0, ERROR, 1, 0, 375.0, 125.0),
        (-2, 0, 30.0, 0, OK, 0, 0, 250.0, 0.0),
    ]
    assert (r.received, r.deleted, r.empty_receives) == ([2], [1], [5])
    assert r.receive_requests == [2 + 5]


@pytest.mark.parametrize("t_end, dlq_end", [(44.0, "visible"), (50.0, "expired")])
def test_max_receive_count_redrives_to_the_dlq_keeping_sent_t(t_end, dlq_end):
    # q0: maxReceiveCount 1 -> q1 (retention 45 s, no consumer); every invocation errors.
    # 0: received (count 1), batch errors. 30: visible again; P1's receive makes count 2 > 1:
    # dead-lettered from q0, redriven into q1 (not sent there), and P1's receive returns
    # nothing. q1's VISIBLE runs at 30 after that event. At t_end = 50, 50 >= sent_t 0 + 45:
    # the message has outlived q1's retention (it would not have, had sent_t become 30).
    qp = queue_params(2, max_receive_count=[1, -1], dlq=[1, -1], retention_s=[345_600.0, 45.0])
    r = run([send(0.0, 0)], p=pool_params(error_rate=[1.0]), qp=qp, t_end=t_end)
    tail = [(t_end, 0, 1, "expired")] if dlq_end == "expired" else []
    assert r.log == [
        (0.0, 0, 0, "sent"), (0.0, 0, 0, "visible"), (0.0, 0, 0, "received"),
        (30.0, 0, 0, "visible"), (30.0, 0, 0, "dead_lettered"), (30.0, 0, 1, "redriven_in"),
        (30.0, 0, 1, "visible"), *tail,
    ]
    assert (r.sent, r.redriven_in, r.received) == ([1, 0], [0, 1], [1, 0])
    assert r.dead_lettered == [1, 0]
    in_dlq = 1 if dlq_end == "visible" else 0
    assert (r.visible, r.expired) == ([0, in_dlq], [0, 1 - in_dlq])
    assert r.batches_invoked == [1]


# --- retention --------------------------------------------------------------------------------


def test_retention_expires_a_visible_message_at_a_receive():
    # Retention 60 s, visibility 300 s, one worker taking one message at a time.
    # 0: the worker takes mid 0 (PROC 70 s). 1: mid 1 waits, visible.
    # 70: BATCH_DONE deletes mid 0 (in flight: retention is not checked there); the worker
    # idles and its receive finds mid 1 at 70 >= 1 + 60: expired, nothing received.
    qp = queue_params(retention_s=[60.0], visibility_timeout_s=[300.0])
    fp = fleet_params(1, max_messages=[1])
    r = run([send(0.0, 0), send(1.0, 1)], qp=qp, mp=mapping_params(0), fp=fp,
            s=streams(n_map=0, n_fleet=1, PROC=[70_000.0]), t_end=80.0)
    assert r.log == [
        (0.0, 0, 0, "sent"), (0.0, 0, 0, "visible"), (0.0, 0, 0, "received"),
        (1.0, 1, 0, "sent"), (1.0, 1, 0, "visible"),
        (70.0, 0, 0, "deleted"), (70.0, 1, 0, "expired"),
    ]
    assert (r.expired, r.received, r.receive_requests) == ([1], [1], [1 + 0])
    assert (r.fleet_batches, r.fleet_messages) == ([1], [1])


def test_retention_expires_a_message_returning_from_its_visibility_timeout():
    # Retention 60 s, visibility 100 s, the batch errors: VISIBLE at 100 finds it too old.
    qp = queue_params(retention_s=[60.0], visibility_timeout_s=[100.0])
    r = run([send(0.0, 0)], p=pool_params(error_rate=[1.0]), qp=qp, t_end=120.0)
    assert r.log == [(0.0, 0, 0, "sent"), (0.0, 0, 0, "visible"), (0.0, 0, 0, "received"),
                     (100.0, 0, 0, "expired")]


@pytest.mark.parametrize("t_end, expired", [(59.0, 0), (60.0, 1)])
def test_retention_at_the_end_of_the_run(t_end, expired):
    # No consumer: a visible message is expired at t_end once t_end >= sent_t + retention.
    r = run([send(0.0, 0)], qp=queue_params(retention_s=[60.0]), mp=mapping_params(0),
            s=streams(n_map=0), t_end=t_end)
    assert (r.visible, r.expired) == ([1 - expired], [expired])
    assert r.log[2:] == ([(60.0, 0, 0, "expired")] if expired else [])


# --- batching ---------------------------------------------------------------------------------


def test_batching_window_and_batch_size_cut():
    # batch 3, window 2 s. 0: P0 receives mid 0 and batches (WINDOW_END at 2.0).
    # 0.5: mid 1 tops P0 up. 1.0: mid 2 tops it up to 3 = full: invoked at once (cold, ends
    # 1.375, three deletes in one request); its WINDOW_END at 2.0 does nothing.
    # 1.5: mid 3 goes to the longest idle poller P1, batching until 3.5; then invoked with one
    # message, warm on batch 0's environment.
    mp = mapping_params(batch_size=[3], window_s=[2.0])
    r = run([send(0.0, 0), send(0.5, 1), send(1.0, 2), send(1.5, 3)], mp=mp)
    assert r.batches == [(1.0, 0, (0, 1, 2)), (3.5, 0, (3,))]
    assert r.rows == [
        (-1, 0, 1.0, 0, OK, 1, 0, 375.0, 125.0),
        (-2, 0, 3.5, 0, OK, 0, 0, 250.0, 0.0),
    ]
    assert [(t, m, e) for t, m, _, e in r.log if e in ("received", "deleted")] == [
        (0.0, 0, "received"), (0.5, 1, "received"), (1.0, 2, "received"),
        (1.375, 0, "deleted"), (1.375, 1, "deleted"), (1.375, 2, "deleted"),
        (1.5, 3, "received"), (3.75, 3, "deleted"),
    ]
    assert (r.receive_requests, r.delete_requests) == ([4], [2])


def test_batch_payload_cut_at_6_mb():
    # 1 MiB messages every 0.125 s, batch 10, window 10 s. P0 collects mids 0..5 (6 MiB); at
    # 0.75 mid 6 would make it 7 MiB: P0's top-up returns nothing and its batch is full, so it
    # is invoked at once; the offer goes on and idle P1 takes mid 6, then mid 7; P1 is invoked
    # at its WINDOW_END, 10.75. Every receive of one 1 MiB message is 16 requests of 64 KB.
    mp = mapping_params(window_s=[10.0])
    r = run([send(i * 0.125, i, size_bytes=MIB) for i in range(8)], mp=mp, t_end=12.0)
    assert r.batches == [(0.75, 0, (0, 1, 2, 3, 4, 5)), (10.75, 0, (6, 7))]
    assert r.receive_requests == [8 * 16]
    assert (r.deleted, r.delete_requests) == ([8], [2])


@pytest.mark.parametrize("report_failures, first_deleted, item_draws",
                         [(1, (0, 2), 4), (0, (0, 1, 2), 0)])
def test_report_batch_item_failures_deletes_only_successes(report_failures, first_deleted,
                                                           item_draws):
    # batch 3, window 1 s: mids 0, 1, 2 fill a batch at 0.5 (cold, ends 0.875). With
    # ReportBatchItemFailures (rate 0.5) ITEM draws 0.75, 0.25, 0.5: mid 1 failed and stays in
    # flight until 0.25 + 30 = 30.25, then goes alone into a batch (window to 31.25), ok.
    mp = mapping_params(batch_size=[3], window_s=[1.0], report_failures=[report_failures],
                        item_failure_rate=[0.5])
    r = run([send(0.0, 0), send(0.25, 1), send(0.5, 2)], mp=mp,
            s=streams(ITEM=[0.75, 0.25, 0.5, 0.75]), t_end=40.0)
    deletes = [(t, m) for t, m, _, e in r.log if e == "deleted"]
    assert deletes[:len(first_deleted)] == [(0.875, m) for m in first_deleted]
    if report_failures:
        assert r.batches == [(0.5, 0, (0, 1, 2)), (31.25, 0, (1,))]
        assert deletes[2:] == [(31.5, 1)]
        assert events_of(r, 1)[3:5] == [(30.25, 0, "visible"), (30.25, 0, "received")]
    else:
        assert r.batches == [(0.5, 0, (0, 1, 2))]
    assert r.deleted == [3]
    assert r.draws_used["ITEM"] == [item_draws]


# --- throttles --------------------------------------------------------------------------------


def test_throttle_redeliver_loop_to_the_dlq():
    # Reserved concurrency 1, MaximumConcurrency 2: two pollers (the floor is min(5, 2); reserved
    # concurrency caps scaling up, not the floor). maxReceiveCount 2 -> q1. Batch 0 runs 40 s.
    # 0:  P0 takes mid 0 (count 1) -> batch 0 runs until 40.125 on the only slot.
    #     P1 takes mid 1 (count 1) -> batch 1 throttled: abandoned in flight, P1 idle at once.
    # 20: P1 counts an empty receive (P0's long poll ended at its receive).
    # 30: mid 0 visible again -> P1 (count 2) -> batch 2 throttled; same for mid 1 -> batch 3.
    # 40.125: batch 0 succeeds, but its delete of mid 0 carries receipt 1 < 2: stale.
    # 50: P1's empty receive. 60: mid 0 visible; P1's receive makes count 3 > 2: dead-lettered,
    # redriven into q1, nothing returned; same for mid 1. Their q1 VISIBLEs follow at 60.
    # 60.125: P0's empty receive (idle since 40.125).
    p = pool_params(reserved=[1])
    qp = queue_params(2, max_receive_count=[2, -1], dlq=[1, -1])
    mp = mapping_params(batch_size=[1], max_concurrency=[2])
    r = run([send(0.0, 0), send(0.0, 1)], p=p, qp=qp, mp=mp,
            s=streams(DUR=[40_000.0] + [250.0] * 9), t_end=65.0)
    assert r.log == [
        (0.0, 0, 0, "sent"), (0.0, 0, 0, "visible"), (0.0, 0, 0, "received"),
        (0.0, 1, 0, "sent"), (0.0, 1, 0, "visible"), (0.0, 1, 0, "received"),
        (30.0, 0, 0, "visible"), (30.0, 0, 0, "received"),
        (30.0, 1, 0, "visible"), (30.0, 1, 0, "received"),
        (40.125, 0, 0, "stale_delete"),
        (60.0, 0, 0, "visible"), (60.0, 0, 0, "dead_lettered"), (60.0, 0, 1, "redriven_in"),
        (60.0, 1, 0, "visible"), (60.0, 1, 0, "dead_lettered"), (60.0, 1, 1, "redriven_in"),
        (60.0, 0, 1, "visible"), (60.0, 1, 1, "visible"),
    ]
    thr = (THROTTLED, 0, 0, 0.0, 0.0)
    assert r.rows == [
        (-1, 0, 0.0, 0, OK, 1, 0, 40_125.0, 125.0),
        (-2, 0, 0.0, 0, *thr), (-3, 0, 30.0, 0, *thr), (-4, 0, 30.0, 0, *thr),
    ]
    assert r.batches == [(0.0, 0, (0,)), (0.0, 0, (1,)), (30.0, 0, (0,)), (30.0, 0, (1,))]
    assert (r.pool.throttles, r.pool.sync_failed) == ([3], [0])
    assert (r.batches_invoked, r.batches_throttled, r.max_concurrent_batches) == ([1], [3], [1])
    assert r.target_steps == [[(0.0, 2)]]
    assert (r.received, r.dead_lettered, r.redriven_in) == ([4, 0], [2, 0], [0, 2])
    assert (r.deleted, r.stale_deletes, r.delete_requests) == ([0, 0], [1, 0], [1, 0])
    assert (r.empty_receives, r.receive_requests) == ([3, 0], [4 + 3, 0])
    assert r.visible == [0, 2]


# --- poller scaling ---------------------------------------------------------------------------


SCALING_CASES = {
    # MaximumConcurrency 12: 1 s -> 10 (P5..P9 take mids 5..9), 2 s -> 12 (mids 10, 11).
    # 10.125: P0..P4 finish and take mids 12..16; 11.125: P5..P7 take 17..19, P8, P9 idle.
    # 12: queue empty -> 7; the idle P9 then P8 retire (10 left). 12.125: P10, P11 finish
    # above target and retire (8 left). 13: -> 5, ticks stop. 20.125: P0..P2 retire.
    "max_concurrency": (dict(max_concurrency=[12]), {},
                        [(0.0, 5), (1.0, 10), (2.0, 12), (12.0, 7), (13.0, 5)], 12),
    # Reserved 7: 1 s -> 7 (P5, P6). 10.125, 11.125, 20.125, 21.125 refill; P6 idles at
    # 21.125 with nothing left; 22: -> 5, P6 retires; 30.125: P0 retires.
    "reserved": (dict(), dict(reserved=[7]), [(0.0, 5), (1.0, 7), (22.0, 5)], 7),
    # Legacy: +1 per second up to 12 at 7 s; the queue is empty from 13.125, so 14 -> 11, ...,
    # 20 -> 5, busy pollers retiring as they finish.
    "legacy": (dict(max_concurrency=[12], legacy_scaling=[1]), {},
               [(0.0, 5), *[(float(k), 5 + k) for k in range(1, 8)],
                *[(float(k), 25 - k) for k in range(14, 21)]], 12),
}


@pytest.mark.parametrize("case", SCALING_CASES)
def test_poller_scaling_ticks(case):
    # 20 messages at 0, batches of 1, every run 10 s (+125 ms init when cold).
    mp_over, p_over, steps, peak = SCALING_CASES[case]
    mp = mapping_params(batch_size=[1], **mp_over)
    r = run([send(0.0, i) for i in range(20)], p=pool_params(**p_over), mp=mp,
            s=streams(DUR=[10_000.0] * 40), t_end=40.0)
    assert r.target_steps == [steps]
    assert r.max_concurrent_batches == [peak]
    assert r.pool.cold_starts == [peak]
    assert (r.batches_invoked, r.batches_throttled, r.deleted) == ([20], [0], [20])
    assert r.pollers == [5]


# --- polling and limits -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "with_message, t_end, expected",
    [
        (False, 61.0, 7 * 3),  # 5 pollers + 2 workers, at 20, 40, 60
        (True, 50.25, 1 + 4 * 2 + 2 * 2),  # P0 received at 30: its poll restarts at 30.375
        (True, 50.5, 2 + 4 * 2 + 2 * 2),  # ... and counts again at 50.375
    ],
)
def test_empty_receives_every_20_s(with_message, t_end, expected):
    items = [send(30.0, 0)] if with_message else []
    r = run(items, fp=fleet_params(1, n_workers=[2]), s=streams(n_fleet=1), t_end=t_end)
    assert r.empty_receives == [expected]
    assert r.receive_requests == [expected + int(with_message)]


def test_in_flight_limit():
    # Limit 2, batches of 1. 0: P0 takes mid 0, P1 mid 1; P2's receive of mid 2 stops at the
    # limit (OverLimit: nothing received, the offer ends). 0.375: batch 0 deletes mid 0; P0
    # idles and the offer gives mid 2 to the longest idle, P2; it runs warm on batch 0's env.
    # maxReceiveCount 1: the OverLimit stop left mid 2's count at 0, so this first real
    # receive makes it 1, not 2 — it is received, not dead-lettered.
    qp = queue_params(2, in_flight_limit=[2, 120_000], max_receive_count=[1, -1], dlq=[1, -1])
    r = run([send(0.0, 0), send(0.0, 1), send(0.0, 2)], qp=qp, mp=mapping_params(batch_size=[1]))
    assert events_of(r, 2) == [(0.0, 0, "sent"), (0.0, 0, "visible"), (0.375, 0, "received"),
                               (0.625, 0, "deleted")]
    assert r.batches == [(0.0, 0, (0,)), (0.0, 0, (1,)), (0.375, 0, (2,))]
    assert r.rows[2] == (-3, 0, 0.375, 0, OK, 0, 0, 250.0, 0.0)
    assert (r.receive_requests, r.dead_lettered) == ([3, 0], [0, 0])


def test_stale_delete_after_a_visibility_timeout_shorter_than_the_run():
    # Visibility 2 s; batch 0 runs 125 + 2375 ms. 2: mid 0 visible again, P1 takes it (receipt
    # 2), a second cold env runs 125 + 1000 ms. 2.5: batch 0's delete (receipt 1) is stale.
    # 3.125: batch 1's delete (receipt 2) deletes. VISIBLE(0, 2) at 4 finds it deleted.
    r = run([send(0.0, 0)], qp=queue_params(visibility_timeout_s=[2.0]),
            s=streams(DUR=[2375.0, 1000.0]))
    assert r.log == [
        (0.0, 0, 0, "sent"), (0.0, 0, 0, "visible"), (0.0, 0, 0, "received"),
        (2.0, 0, 0, "visible"), (2.0, 0, 0, "received"),
        (2.5, 0, 0, "stale_delete"), (3.125, 0, 0, "deleted"),
    ]
    assert r.rows == [
        (-1, 0, 0.0, 0, OK, 1, 0, 2500.0, 125.0),
        (-2, 0, 2.0, 0, OK, 1, 0, 1125.0, 125.0),
    ]
    assert (r.deleted, r.stale_deletes, r.delete_requests) == ([1], [1], [2])


# --- worker fleets ----------------------------------------------------------------------------


def test_worker_fleet_processes_sequentially_and_deletes_in_one_batch():
    # One worker, up to 3 messages, error rate 0.25. 0: it takes mid 0 (PROC 1000 ms).
    # 0.125..0.375: mids 1..3 wait. 1.0: BATCH_DONE deletes mid 0, the worker takes mids 1..3
    # (125 + 250 + 125 ms -> BATCH_DONE at 1.5); WERR 0.5, 0.125, 0.5: mid 2 failed.
    # 1.5: one DeleteMessageBatch for mids 1 and 3; mid 2 stays in flight until 31.0.
    fp = fleet_params(1, max_messages=[3], error_rate=[0.25])
    s = streams(n_map=0, n_fleet=1, PROC=[1000.0, 125.0, 250.0, 125.0],
                WERR=[0.5, 0.5, 0.125, 0.5])
    r = run([send(0.0, 0), send(0.125, 1), send(0.25, 2), send(0.375, 3)], mp=mapping_params(0),
            fp=fp, s=s, t_end=20.0)
    assert [row for row in r.log if row[3] in ("received", "deleted")] == [
        (0.0, 0, 0, "received"), (1.0, 0, 0, "deleted"),
        (1.0, 1, 0, "received"), (1.0, 2, 0, "received"), (1.0, 3, 0, "received"),
        (1.5, 1, 0, "deleted"), (1.5, 3, 0, "deleted"),
    ]
    assert (r.fleet_batches, r.fleet_messages) == ([2], [4])
    assert (r.deleted, r.delete_requests, r.in_flight) == ([3], [2], [1])
    assert r.draws_used == {"ITEM": [], "PROC": [4], "WERR": [4]}
    assert r.rows == []


# --- FIFO -------------------------------------------------------------------------------------


def test_fifo_group_locking_and_in_order_delivery():
    # FIFO, MaximumConcurrency 2 (P0, P1), error_rate 0.5 with U 0.75, 0.75, 0.25, 0.75.
    # 0: P0 takes mid 0 (group 1): group 1 locked. 0.125: mid 1 (group 1) is skipped: P1's
    # receive returns nothing. 0.25: mid 2 (group 2) -> P1. 0.3125: mid 3 (group 1) waits.
    # 0.375: batch 0 deletes mid 0, unlocking group 1; P0 takes mids 1 and 3 in send order.
    # 0.625: that batch errors; 1.0: mid 4 (group 1) waits, locked.
    # 30.375: mid 1 returns first but mid 3 is still in flight (locked); then mid 3 returns;
    # the receive takes 1, 3, 4 in send order, though mid 4 became visible earlier.
    qp = queue_params(fifo=[1])
    mp = mapping_params(max_concurrency=[2])
    items = [send(0.0, 0, group=1), send(0.125, 1, group=1), send(0.25, 2, group=2),
             send(0.3125, 3, group=1), send(1.0, 4, group=1)]
    r = run(items, p=pool_params(error_rate=[0.5]), qp=qp, mp=mp,
            s=streams(U=[0.75, 0.75, 0.25, 0.75]), t_end=40.0)
    assert r.batches == [(0.0, 0, (0,)), (0.25, 0, (2,)), (0.375, 0, (1, 3)),
                         (30.375, 0, (1, 3, 4))]
    assert [row[4] for row in r.rows] == [OK, OK, ERROR, OK]
    assert events_of(r, 1) == [
        (0.125, 0, "sent"), (0.125, 0, "visible"), (0.375, 0, "received"),
        (30.375, 0, "visible"), (30.375, 0, "received"), (30.625, 0, "deleted"),
    ]
    assert r.deleted == [5]


def test_fifo_partial_failure_fails_the_rest_of_the_batch():
    # FIFO, ReportBatchItemFailures (rate 0.5). mid 0 (group 1) runs alone; mids 1..3 wait,
    # locked; 0.375: one batch (1, 2, 3), ITEM 0.75, 0.25, 0.75: mid 2 fails, and mid 3 after
    # it fails too (ordering), though its own draw is a success. Only mid 1 is deleted.
    qp = queue_params(fifo=[1])
    mp = mapping_params(report_failures=[1], item_failure_rate=[0.5])
    items = [send(0.0, 0, group=1), send(0.125, 1, group=1), send(0.25, 2, group=1),
             send(0.3125, 3, group=1)]
    r = run(items, qp=qp, mp=mp, s=streams(ITEM=[0.75, 0.75, 0.25, 0.75]))
    assert r.batches == [(0.0, 0, (0,)), (0.375, 0, (1, 2, 3))]
    assert [(t, m) for t, m, _, e in r.log if e == "deleted"] == [(0.375, 0), (0.625, 1)]
    assert (r.in_flight, r.draws_used["ITEM"]) == ([2], [4])


def test_invalid_configurations_are_rejected():
    with pytest.raises(ValueError, match="window"):
        run([], qp=queue_params(fifo=[1]), mp=mapping_params(window_s=[1.0]))
    with pytest.raises(ValueError, match="dlq"):
        run([], qp=queue_params(max_receive_count=[3]))
    with pytest.raises(ValueError, match="loops"):
        run([], qp=queue_params(2, max_receive_count=[1, 1], dlq=[1, 0]))


# --- random configurations --------------------------------------------------------------------

TRANSITIONS = {  # event -> (allowed states before, state after); None: not yet in that queue
    "sent": ({None}, "delayed"),
    "redriven_in": ({None}, "delayed"),
    "visible": ({"delayed", "in_flight"}, "visible"),
    "received": ({"visible"}, "in_flight"),
    "deleted": ({"visible", "in_flight"}, "deleted"),
    "dead_lettered": ({"visible"}, "dead_lettered"),
    "expired": ({"delayed", "visible", "in_flight"}, "expired"),
}
FINAL = {"deleted", "dead_lettered", "expired"}


def replay(r):
    """Each message's state per queue from the log, checking every transition is legal."""
    state = {}
    for _, mid, q, event in r.log:
        if event == "stale_delete":
            assert state.get((mid, q)) is not None
            continue
        before, after = TRANSITIONS[event]
        assert state.get((mid, q)) in before, (mid, q, event, state.get((mid, q)))
        state[(mid, q)] = after
    return state


def draw_queues(draw, n_fn, n_q, fifo):
    """(QueueParams, MappingParams, FleetParams) drawn for n_q queues (DLQ chains, FIFO
    ones where `fifo` says), mappings onto n_fn functions, and worker fleets."""
    mrc = [draw(st.sampled_from([-1, 1, 2])) if q < n_q - 1 else -1 for q in range(n_q)]
    qp = queue_params(
        n_q, fifo=fifo, max_receive_count=mrc,
        dlq=[q + 1 if mrc[q] >= 0 else -1 for q in range(n_q)],
        visibility_timeout_s=[draw(st.sampled_from([0.5, 2.0, 30.0])) for _ in range(n_q)],
        retention_s=[draw(st.sampled_from([5.0, 30.0, 200.0])) for _ in range(n_q)],
        delay_s=[draw(st.sampled_from([0.0, 0.0, 1.5])) for _ in range(n_q)],
        in_flight_limit=[draw(st.sampled_from([1, 3, 120_000])) for _ in range(n_q)],
    )
    n_m = draw(st.integers(0, 2))
    mq = [draw(st.integers(0, n_q - 1)) for _ in range(n_m)]
    mp = mapping_params(
        n_m, queue=mq, function=[draw(st.integers(0, n_fn - 1)) for _ in range(n_m)],
        batch_size=[draw(st.sampled_from([1, 3, 10])) for _ in range(n_m)],
        window_s=[0.0 if fifo[q] else draw(st.sampled_from([0.0, 0.5])) for q in mq],
        max_concurrency=[draw(st.sampled_from([-1, 2, 3])) for _ in range(n_m)],
        report_failures=[draw(st.integers(0, 1)) for _ in range(n_m)],
        item_failure_rate=[draw(st.sampled_from([0.0, 0.5])) for _ in range(n_m)],
        legacy_scaling=[draw(st.integers(0, 1)) for _ in range(n_m)],
    )
    n_w = draw(st.integers(0, 2))
    fp = fleet_params(
        n_w, queue=[draw(st.integers(0, n_q - 1)) for _ in range(n_w)],
        n_workers=[draw(st.integers(1, 3)) for _ in range(n_w)],
        max_messages=[draw(st.integers(1, 10)) for _ in range(n_w)],
        error_rate=[draw(st.sampled_from([0.0, 0.5])) for _ in range(n_w)],
    )
    return qp, mp, fp


@st.composite
def configs(draw):
    n_fn = draw(st.integers(1, 2))
    p = pool_params(n_fn, reserved=[draw(st.sampled_from([-1, -1, 0, 1, 3])) for _ in range(n_fn)],
                    error_rate=[draw(st.sampled_from([0.0, 0.3, 1.0])) for _ in range(n_fn)],
                    timeout_ms=[draw(st.sampled_from([500.0, 60_000.0])) for _ in range(n_fn)])
    n_q = draw(st.integers(1, 3))
    fifo = [draw(st.integers(0, 1)) for _ in range(n_q)]
    qp, mp, fp = draw_queues(draw, n_fn, n_q, fifo)
    n_send = draw(st.integers(0, 25))
    items = [send(draw(st.integers(0, 80)) / 8, mid, q=draw(st.integers(0, n_q - 1)),
                  size_bytes=draw(st.sampled_from([100, 300_000, MIB])),
                  group=draw(st.integers(0, 2)))
             for mid in range(n_send)]
    items += [call(draw(st.integers(0, 80)) / 8, 1000 + i, fn=draw(st.integers(0, n_fn - 1)))
              for i in range(draw(st.integers(0, 5)))]
    items.sort(key=lambda it: it[0])
    seed = draw(st.integers(0, 2**32 - 1))
    return p, qp, mp, fp, items, seed


def random_streams(seed, n_fn, n_m, n_w, n=20_000):
    rng = np.random.default_rng(seed)
    pick = lambda values, k: [rng.choice(values, n) for _ in range(k)]  # noqa: E731
    return {"DUR": pick([50.0, 250.0, 1000.0, 5000.0], n_fn), "INIT": pick([0.0, 125.0], n_fn),
            "EXP": pick([1.0, 600.0], n_fn), "U": [rng.random(n) for _ in range(n_fn)],
            "ITEM": [rng.random(n) for _ in range(n_m)], "PROC": pick([10.0, 125.0, 3000.0], n_w),
            "WERR": [rng.random(n) for _ in range(n_w)]}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_random_configurations_conserve_messages(config):
    # Sends end by 10 s; retention <= 200 s, visibility <= 30 s, delay <= 1.5 s, so by 300 s
    # every message has left every queue: deleted, dead-lettered on, or expired.
    p, qp, mp, fp, items, seed = config
    s = random_streams(seed, len(p.reserved), len(mp.queue), len(fp.queue))
    for t_end in (6.0, 300.0):
        r = run(items, p=p, qp=qp, mp=mp, fp=fp, s=s, t_end=t_end)
        state = replay(r)
        n_q = len(qp.fifo)
        for name in ("visible", "delayed", "in_flight", "deleted", "dead_lettered", "expired"):
            counted = Counter(q for (_, q), s_ in state.items() if s_ == name)
            assert [counted[q] for q in range(n_q)] == getattr(r, name), name
        events = Counter((q, e) for _, _, q, e in r.log)
        for name in ("sent", "redriven_in", "received", "stale_deletes"):
            event = "stale_delete" if name == "stale_deletes" else name
            assert [events[(q, event)] for q in range(n_q)] == getattr(r, name), name
        assert sum(r.batches_invoked) + sum(r.batches_throttled) == len(r.batches)
        received = {mid for _, mid, _, e in r.log if e == "received"}
        if t_end == 300.0:
            # every message ends in exactly one queue, in exactly one final state
            for mid in range(sum(1 for it in items if it[6] >= 0)):
                last = [s_ for (m, _), s_ in state.items() if m == mid and s_ != "dead_lettered"]
                assert len(last) == 1 and last[0] in FINAL, (mid, last)
            assert all(state[(mid, q)] in FINAL for (mid, q) in state if mid in received)
