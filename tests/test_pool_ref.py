"""Exact-trace tests of the Lambda pool reference twin, each worked out by hand from POOL_SPEC.md.

Rows are `(id, attempt, t, fn, outcome, cold, on_pc, latency_ms, init_ms)`. Times and
durations are chosen to be exact in binary (multiples of 1/8 s) so rows compare with `==`.
Unless a test says otherwise: DUR draws 250 ms, INIT 125 ms, EXP 600 s, U 0.5.
"""

import math

import numpy as np
import pytest

from kernels.ref.lambda_pool import (
    ASYNC,
    ERROR,
    OK,
    SYNC,
    THROTTLED,
    TIMEOUT,
    PoolParams,
    simulate_pool_ref,
)

NAN = math.nan


def params(n_fn=1, n_src=1, **over) -> PoolParams:
    """Pool parameters: generous defaults, one bucket per function, overridden by `over`."""
    base = dict(
        reserved=[-1] * n_fn,
        timeout_ms=[60_000.0] * n_fn,
        error_rate=[0.0] * n_fn,
        dur_scale=[1.0] * n_fn,
        memory_mb=[128] * n_fn,
        async_max_retries=[2] * n_fn,
        async_max_age_s=[21_600.0] * n_fn,
        bucket=list(range(n_fn)),
        bucket_cap=[1000.0] * n_fn,
        bucket_rate=[100.0] * n_fn,
        unres_cap=1000,
        retry_max_attempts=[1] * n_src,
        retry_base_s=[0.5] * n_src,
        retry_cap_s=[20.0] * n_src,
        retry_jitter=[0] * n_src,
    )
    base.update(over)
    return PoolParams(**base)


def req(t, id, fn=0, inv=SYNC, src=0, dur_ms=NAN):
    return (t, id, fn, src, inv, dur_ms)


def arrivals(*reqs):
    cols = list(zip(*reqs)) if reqs else [()] * 6
    dtypes = [np.float64, np.int64, np.int64, np.int64, np.int64, np.float64]
    keys = ["t", "id", "fn", "src", "inv", "dur_override_ms"]
    return {k: np.asarray(c, dtype=d) for k, c, d in zip(keys, cols, dtypes)}


def streams(n_fn=1, DUR=None, INIT=None, EXP=None, U=None):
    """Per-function draw arrays; a flat list means function 0 of a one-function pool."""
    defaults = {"DUR": 250.0, "INIT": 125.0, "EXP": 600.0, "U": 0.5}
    given = {"DUR": DUR, "INIT": INIT, "EXP": EXP, "U": U}
    out = {}
    for kind, values in given.items():
        if values is None:
            values = [[defaults[kind]] * 50 for _ in range(n_fn)]
        elif not isinstance(values[0], (list, tuple)):
            values = [values]
        out[kind] = [np.asarray(v, dtype=np.float64) for v in values]
    return out


def run(p, reqs, s=None, t_end=10.0, **kw):
    return simulate_pool_ref(p, arrivals(*reqs), s or streams(len(p.reserved)), t_end, **kw)


def test_cold_then_warm():
    # id0 at 0: nothing idle -> cold, 125 + 250 ms, ends 0.375, env idles until 600.375.
    # id1 at 1.0: that env is live -> warm, 500 ms. The second INIT (999) is never drawn.
    r = run(params(), [req(0.0, 0), req(1.0, 1)],
            streams(DUR=[250, 500], INIT=[125, 999], EXP=[600, 600], U=[0.5, 0.5]))
    assert r.rows == [
        (0, 0, 0.0, 0, OK, 1, 0, 375.0, 125.0),
        (1, 0, 1.0, 0, OK, 0, 0, 500.0, 0.0),
    ]
    assert (r.invocations, r.cold_starts, r.throttles) == ([2], [1], [0])
    assert r.busy_time_s == [0.875]
    assert r.env_time_s == [10.0]  # one env, born at 0, idle at t_end
    assert r.billed_ms == [875]
    assert r.draws_used == {"DUR": [2], "INIT": [1], "EXP": [2], "U": [2]}


def test_most_recently_used_env_is_reused():
    # id0 at 0 (1125 ms, env A) and id1 at 0.5 (375 ms, env B) both start cold.
    # B idles at 0.875 (expires 10.875), A at 1.125 (expires 6.125): A is on top.
    # id2 at 2.0 takes A (MRU); A idles at 2.25 with EXP 1 -> expires 3.25.
    # id3 at 8.0: A is dead, B is live -> warm. (LRU would have reused B at 2.0, leaving
    # both dead at 8.0 and id3 cold.)
    r = run(params(), [req(0.0, 0), req(0.5, 1), req(2.0, 2), req(8.0, 3)],
            streams(DUR=[1000, 250, 250, 250], EXP=[10, 5, 1, 100]), t_end=20.0)
    assert r.rows == [
        (0, 0, 0.0, 0, OK, 1, 0, 1125.0, 125.0),
        (1, 0, 0.5, 0, OK, 1, 0, 375.0, 125.0),
        (2, 0, 2.0, 0, OK, 0, 0, 250.0, 0.0),
        (3, 0, 8.0, 0, OK, 0, 0, 250.0, 0.0),
    ]
    # A lived 0 -> 3.25; B lives 0.5 -> t_end (expires 108.25).
    assert r.env_time_s == [3.25 + 19.5]


@pytest.mark.parametrize("t1, cold", [(1.25, 0), (1.375, 1)])
def test_idle_expiry_forces_cold_start(t1, cold):
    # id0 ends at 0.375 and its env expires at 0.375 + 1 = 1.375; expire_t <= t means dead.
    r = run(params(), [req(0.0, 0), req(t1, 1)], streams(EXP=[1.0, 600]))
    latency, init = (375.0, 125.0) if cold else (250.0, 0.0)
    assert r.rows == [
        (0, 0, 0.0, 0, OK, 1, 0, 375.0, 125.0),
        (1, 0, t1, 0, OK, cold, 0, latency, init),
    ]
    assert r.cold_starts == [1 + cold]
    assert r.draws_used["INIT"] == [1 + cold]


def test_environment_time_at_t_end():
    # f0: id0 ends 0.375; its env dies at 2.375, never popped: it counts until expire_t.
    # f1: id1 at 1.0 runs 125 + 8875 ms, ending exactly at t_end = 10: not processed, so it is
    #     busy at t_end (counts 1.0 -> 10.0, no EXP drawn); id2 at 2.0 starts a second env
    #     (cold), idle at t_end (counts 2.0 -> 10.0). id3 at 9.5 reuses that env for 1 s,
    #     past t_end: busy time counts only 9.5 -> 10.0.
    # f2: 2 provisioned from 0, set to 1 at 4.0 (an idle one leaves): 2*4 + 1*6 = 14 env-s.
    p = params(n_fn=3)
    s = streams(n_fn=3, DUR=[[250], [8875, 250, 1000], [250]], EXP=[[2.0], [600, 600], [600]])
    r = run(p, [req(0.0, 0, fn=0), req(1.0, 1, fn=1), req(2.0, 2, fn=1), req(9.5, 3, fn=1)], s,
            controls=[(4.0, 2, 1)], initial_provisioned=[0, 0, 2])
    assert r.rows[-1] == (3, 0, 9.5, 1, OK, 0, 0, 1000.0, 0.0)
    assert r.env_time_s == [2.375, 9.0 + 8.0, 14.0]
    assert r.busy_time_s == [0.375, 9.0 + 0.375 + 0.5, 0.0]
    assert r.draws_used["EXP"] == [1, 1, 0]


def test_reserved_concurrency_throttles():
    # reserved 1: id0 holds the only slot until 1.125; id1 at 0.5 is throttled and, with one
    # attempt allowed, fails. id2 at 1.125 comes after the completion at 1.125 -> warm.
    r = run(params(reserved=[1]), [req(0.0, 0), req(0.5, 1), req(1.125, 2)],
            streams(DUR=[1000, 250]))
    assert r.rows == [
        (0, 0, 0.0, 0, OK, 1, 0, 1125.0, 125.0),
        (1, 0, 0.5, 0, THROTTLED, 0, 0, 0.0, 0.0),
        (2, 0, 1.125, 0, OK, 0, 0, 250.0, 0.0),
    ]
    assert (r.throttles, r.sync_failed, r.invocations) == ([1], [1], [2])
    assert r.draws_used == {"DUR": [2], "INIT": [1], "EXP": [2], "U": [2]}


def test_reserved_zero_throttles_everything():
    r = run(params(reserved=[0]), [req(0.0, 0), req(1.0, 1)])
    assert [row[4] for row in r.rows] == [THROTTLED, THROTTLED]
    assert r.draws_used == {"DUR": [0], "INIT": [0], "EXP": [0], "U": [0]}


def test_unreserved_pool_shared_by_two_functions():
    # unres_cap 2 shared by f0 and f1; f2 has reserved 1 and does not count against it.
    # 0.0 f0 cold (until 1.125); 0.25 f1 cold (until 1.375); 0.5 f0: 1 + 1 + 1 > 2 -> throttle;
    # 0.5 f2 cold on its reserved slot (until 5.625); 1.2 f0: f0 idle, f1 busy -> 0 + 1 + 1 <= 2,
    # warm (f2's busy env is not counted); 1.25 f1: 1 + 1 + 1 > 2 -> throttle.
    p = params(n_fn=3, reserved=[-1, -1, 1], unres_cap=2)
    s = streams(n_fn=3, DUR=[[1000, 250], [1000], [5000]])
    r = run(p, [req(0.0, 0, fn=0), req(0.25, 1, fn=1), req(0.5, 2, fn=0), req(0.5, 3, fn=2),
                req(1.2, 4, fn=0), req(1.25, 5, fn=1)], s)
    assert r.rows == [
        (0, 0, 0.0, 0, OK, 1, 0, 1125.0, 125.0),
        (1, 0, 0.25, 1, OK, 1, 0, 1125.0, 125.0),
        (2, 0, 0.5, 0, THROTTLED, 0, 0, 0.0, 0.0),
        (3, 0, 0.5, 2, OK, 1, 0, 5125.0, 125.0),
        (4, 0, 1.2, 0, OK, 0, 0, 250.0, 0.0),
        (5, 0, 1.25, 1, THROTTLED, 0, 0, 0.0, 0.0),
    ]
    assert r.throttles == [1, 1, 0]


def test_provisioned_first_then_spillover():
    # 1 provisioned. id0 at 0 runs on it (no init); id1 at 0.5 spills over: cold on demand.
    # id2 at 2.0: the provisioned env is idle again and is preferred to the idle on-demand one.
    r = run(params(), [req(0.0, 0), req(0.5, 1), req(2.0, 2)],
            streams(DUR=[1000, 250, 250]), initial_provisioned=[1])
    assert r.rows == [
        (0, 0, 0.0, 0, OK, 0, 1, 1000.0, 0.0),
        (1, 0, 0.5, 0, OK, 1, 0, 375.0, 125.0),
        (2, 0, 2.0, 0, OK, 0, 1, 250.0, 0.0),
    ]
    assert (r.spillover, r.cold_starts, r.invocations) == ([1], [1], [3])
    assert r.draws_used["EXP"] == [1]  # provisioned completions draw no expiry
    assert r.env_time_s == [10.0 + 9.5]  # provisioned 0 -> 10; on-demand 0.5 -> 10
    assert r.busy_time_s == [1.625]
    assert r.billed_ms == [1625]


def test_provisioned_envs_count_against_reserved():
    # reserved 2 with 1 provisioned: one on-demand env fits (1 + 0 + 1 <= 2), a second does not.
    r = run(params(reserved=[2]), [req(0.0, 0), req(0.125, 1), req(0.25, 2)],
            streams(DUR=[1000, 1000]), initial_provisioned=[1])
    assert r.rows == [
        (0, 0, 0.0, 0, OK, 0, 1, 1000.0, 0.0),
        (1, 0, 0.125, 0, OK, 1, 0, 1125.0, 125.0),
        (2, 0, 0.25, 0, THROTTLED, 0, 0, 0.0, 0.0),
    ]


def test_set_provisioned_decrease_while_busy():
    # 2 provisioned; id0 takes one at 0 (until 1.0). At 0.5 set to 0: the idle one leaves now,
    # the busy one at its completion. id1 at 0.75 spills over (pc_envs is still 1) and starts
    # cold. At 1.0 the busy provisioned env is removed. id2 at 2.0 reuses id1's env, no longer
    # spill-over. At 3.0 set to 1: ready at once, so id3 arriving at 3.0 runs on it.
    # Provisioned env-time: 2*0.5 + 1*0.5 + 1*7 = 8.5; on-demand 0.75 -> 10 = 9.25.
    r = run(params(), [req(0.0, 0), req(0.75, 1), req(2.0, 2), req(3.0, 3)],
            streams(DUR=[1000, 250, 250, 250]),
            controls=[(0.5, 0, 0), (3.0, 0, 1)], initial_provisioned=[2])
    assert r.rows == [
        (0, 0, 0.0, 0, OK, 0, 1, 1000.0, 0.0),
        (1, 0, 0.75, 0, OK, 1, 0, 375.0, 125.0),
        (2, 0, 2.0, 0, OK, 0, 0, 250.0, 0.0),
        (3, 0, 3.0, 0, OK, 0, 1, 250.0, 0.0),
    ]
    assert r.spillover == [1]
    assert r.env_time_s == [8.5 + 9.25]


def test_scaling_bucket_throttles():
    # Bucket cap 2, rate 1/s, full at 0; every run lasts 10 s (init 0).
    # 0.0: two cold starts take both tokens, the third is throttled.
    # 0.5: refilled to 0.5 -> throttle. 1.0: refilled to 1.0 -> cold, 0 left.
    # 9.0: refilled to min(2, 8) = 2 -> two cold, third throttled (the cap binds).
    # 10.0: the envs of id0 and id1 idle at 10.0 (completions before arrivals): two warm
    # starts take no tokens; the next needs a new env: 1 token -> cold; the last throttles.
    p = params(bucket_cap=[2.0], bucket_rate=[1.0])
    reqs = [req(0.0, i) for i in range(3)] + [req(0.5, 3), req(1.0, 4)]
    reqs += [req(9.0, i) for i in range(5, 8)] + [req(10.0, i) for i in range(8, 12)]
    r = run(p, reqs, streams(DUR=[10_000] * 12, INIT=[0.0] * 12), t_end=12.0)
    cold = (OK, 1, 0, 10_000.0, 0.0)
    warm = (OK, 0, 0, 10_000.0, 0.0)
    thr = (THROTTLED, 0, 0, 0.0, 0.0)
    assert r.rows == [
        (0, 0, 0.0, 0, *cold), (1, 0, 0.0, 0, *cold), (2, 0, 0.0, 0, *thr),
        (3, 0, 0.5, 0, *thr), (4, 0, 1.0, 0, *cold),
        (5, 0, 9.0, 0, *cold), (6, 0, 9.0, 0, *cold), (7, 0, 9.0, 0, *thr),
        (8, 0, 10.0, 0, *warm), (9, 0, 10.0, 0, *warm), (10, 0, 10.0, 0, *cold),
        (11, 0, 10.0, 0, *thr),
    ]
    assert (r.cold_starts, r.throttles) == ([6], [4])


@pytest.mark.parametrize(
    "jitter, retry_ts, u_used",
    [
        (0, [1.5, 2.25], 1),  # none: 0.5, then min(0.75, 1.0) = 0.75
        (1, [1.125, 1.5], 3),  # full: 0.25 * 0.5, then 0.5 * 0.75
        (2, [1.3125, 1.875], 3),  # equal: 0.25 + 0.25 * 0.25, then 0.375 + 0.5 * 0.375
    ],
)
def test_sync_client_retry_backoff(jitter, retry_ts, u_used):
    # reserved 1, held by id0 until 10.125. id1 at 1.0 is throttled three times (3 attempts,
    # base 0.5 s, cap 0.75 s) and then fails. U: 0.5 for id0's start, then 0.25, 0.5.
    p = params(reserved=[1], retry_max_attempts=[3], retry_base_s=[0.5], retry_cap_s=[0.75],
               retry_jitter=[jitter])
    r = run(p, [req(0.0, 0), req(1.0, 1)], streams(DUR=[10_000], U=[0.5, 0.25, 0.5]), t_end=20.0)
    thr = (THROTTLED, 0, 0, 0.0, 0.0)
    assert r.rows == [
        (0, 0, 0.0, 0, OK, 1, 0, 10_125.0, 125.0),
        (1, 0, 1.0, 0, *thr),
        (1, 1, retry_ts[0], 0, *thr),
        (1, 2, retry_ts[1], 0, *thr),
    ]
    assert (r.throttles, r.sync_failed) == ([3], [1])
    assert r.draws_used["U"] == [u_used]


def test_sync_retry_succeeds_when_capacity_frees():
    # reserved 1, id0 until 1.125; id1 throttled at 1.0 retries at 1.5 and runs warm.
    p = params(reserved=[1], retry_max_attempts=[2], retry_base_s=[0.5])
    r = run(p, [req(0.0, 0), req(1.0, 1)], streams(DUR=[1000, 250]))
    assert r.rows == [
        (0, 0, 0.0, 0, OK, 1, 0, 1125.0, 125.0),
        (1, 0, 1.0, 0, THROTTLED, 0, 0, 0.0, 0.0),
        (1, 1, 1.5, 0, OK, 0, 0, 250.0, 0.0),
    ]
    assert (r.throttles, r.sync_failed, r.invocations) == ([1], [0], [2])


def test_async_throttle_retries_then_drop_past_max_age():
    # reserved 0: every attempt throttles. Delays 1, 2, 4 s: attempts at 0, 1, 3, 7
    # (7 - 0 = 7 is not > max age 7). At 7 the next delay 8 gives 15 - 0 > 7: dropped at 7.
    p = params(reserved=[0], async_max_age_s=[7.0])
    r = run(p, [req(0.0, 0, inv=ASYNC)], t_end=100.0)
    thr = (THROTTLED, 0, 0, 0.0, 0.0)
    assert r.rows == [(0, a, t, 0, *thr) for a, t in enumerate([0.0, 1.0, 3.0, 7.0])]
    assert r.drops == [(7.0, 0, 0)]
    assert (r.async_dropped, r.throttles, r.sync_failed) == ([1], [4], [0])


def test_async_throttle_backoff_capped_at_300_s():
    # Delays 1, 2, ..., 256, then min(300, 512) = 300: attempts at 0, 1, 3, ..., 511, 811,
    # 1111; the next (1411) is at or after t_end and never runs, and nothing is dropped.
    r = run(params(reserved=[0]), [req(0.0, 0, inv=ASYNC)], t_end=1200.0)
    ts = [0.0, 1.0, 3.0, 7.0, 15.0, 31.0, 63.0, 127.0, 255.0, 511.0, 811.0, 1111.0]
    assert [(row[1], row[2]) for row in r.rows] == list(enumerate(ts))
    assert r.drops == []


@pytest.mark.parametrize(
    "max_retries, max_age_s, n_attempts, drop_t",
    [
        (2, 21_600.0, 3, 180.625),  # retries at 0.375 + 60 and 60.625 + 120, then none left
        (2, 100.0, 2, 60.375),  # the second retry (180.625) would be older than 100 s
        (0, 21_600.0, 1, 0.0),  # no retries: dropped at the first attempt
    ],
)
def test_async_error_retries_then_drop(max_retries, max_age_s, n_attempts, drop_t):
    # error_rate 1: every run fails. id0 async at 0: cold, ends 0.375; retry at 60.375, warm,
    # ends 60.625; retry at 180.625, warm. Drops are counted at the attempt's start time.
    p = params(error_rate=[1.0], async_max_retries=[max_retries], async_max_age_s=[max_age_s])
    r = run(p, [req(0.0, 0, inv=ASYNC)], t_end=1000.0)
    expected = [
        (0, 0, 0.0, 0, ERROR, 1, 0, 375.0, 125.0),
        (0, 1, 60.375, 0, ERROR, 0, 0, 250.0, 0.0),
        (0, 2, 180.625, 0, ERROR, 0, 0, 250.0, 0.0),
    ]
    assert r.rows == expected[:n_attempts]
    assert r.drops == [(drop_t, 0, 0)]
    assert (r.errors, r.async_dropped) == ([n_attempts], [1])


def test_async_timeout_is_retried_like_an_error():
    # timeout 250 ms, runs want 500: timed out at 125 + 250 = 375 ms; retried at 60.375; no
    # retries left after one, dropped at 60.375.
    p = params(timeout_ms=[250.0], async_max_retries=[1])
    r = run(p, [req(0.0, 0, inv=ASYNC)], streams(DUR=[500, 500]), t_end=1000.0)
    assert r.rows == [
        (0, 0, 0.0, 0, TIMEOUT, 1, 0, 375.0, 125.0),
        (0, 1, 60.375, 0, TIMEOUT, 0, 0, 250.0, 0.0),
    ]
    assert r.drops == [(60.375, 0, 0)]
    assert (r.errors, r.timeouts) == ([2], [2])


def test_async_throttle_backoff_counts_throttles_not_attempts():
    # reserved 1. id0 (async) fails at 0 (until 0.375) and is retried at 60.375. id1 (sync)
    # takes the env at 60.0 for 10 s, so the retry (attempt 1, no throttles yet) is throttled:
    # delay 2^0 = 1 s -> attempt 2 at 61.375, throttled again: 61.375 + 2 - 0 > 62 -> dropped.
    p = params(reserved=[1], error_rate=[1.0], async_max_retries=[1], async_max_age_s=[62.0])
    r = run(p, [req(0.0, 0, inv=ASYNC), req(60.0, 1)], streams(DUR=[250, 10_000]),
            t_end=100.0)
    thr = (THROTTLED, 0, 0, 0.0, 0.0)
    assert r.rows == [
        (0, 0, 0.0, 0, ERROR, 1, 0, 375.0, 125.0),
        (1, 0, 60.0, 0, ERROR, 0, 0, 10_000.0, 0.0),
        (0, 1, 60.375, 0, *thr),
        (0, 2, 61.375, 0, *thr),
    ]
    assert r.drops == [(61.375, 0, 0)]


def test_error_when_u_below_error_rate_and_sync_errors_not_retried():
    # error_rate 0.5: u = 0.5 is not < 0.5 (ok), u = 0.25 is (error). Sync errors are final.
    p = params(error_rate=[0.5], retry_max_attempts=[3])
    r = run(p, [req(0.0, 0), req(1.0, 1)], streams(U=[0.5, 0.25]))
    assert r.rows == [
        (0, 0, 0.0, 0, OK, 1, 0, 375.0, 125.0),
        (1, 0, 1.0, 0, ERROR, 0, 0, 250.0, 0.0),
    ]
    assert (r.errors, r.sync_failed, r.drops) == ([1], [0], [])


def test_timeout_caps_duration_and_override_skips_dur():
    # timeout 1000 ms, dur_scale 2. id0: DUR 600 -> 1200 > 1000: timed out, runs 1000 ms plus
    # 125 ms init. id1: DUR 400 -> 800, ok. id2: override 900 -> 1800: timed out, no DUR
    # drawn. id3: override 100.25 -> 200.5 ms, billed 201 ms. id4: override 500 -> 1000 ms,
    # exactly the timeout, which is not more than it: ok.
    p = params(timeout_ms=[1000.0], dur_scale=[2.0])
    reqs = [req(0.0, 0), req(5.0, 1), req(10.0, 2, dur_ms=900.0), req(15.0, 3, dur_ms=100.25),
            req(17.0, 4, dur_ms=500.0)]
    r = run(p, reqs, streams(DUR=[600, 400, 7777, 7777]), t_end=20.0)
    assert r.rows == [
        (0, 0, 0.0, 0, TIMEOUT, 1, 0, 1125.0, 125.0),
        (1, 0, 5.0, 0, OK, 0, 0, 800.0, 0.0),
        (2, 0, 10.0, 0, TIMEOUT, 0, 0, 1000.0, 0.0),
        (3, 0, 15.0, 0, OK, 0, 0, 200.5, 0.0),
        (4, 0, 17.0, 0, OK, 0, 0, 1000.0, 0.0),
    ]
    assert (r.timeouts, r.errors) == ([2], [2])
    assert r.draws_used["DUR"] == [2]
    assert r.billed_ms == [1125 + 800 + 1000 + 201 + 1000]


def test_equal_times_control_then_internal_then_arrival():
    # id0 ends at 1.125. At 1.125: the control (1 provisioned) runs first, so id1 takes the
    # provisioned env; then id0's completion, so id2 finds its env idle and runs warm.
    r = run(params(), [req(0.0, 0, dur_ms=1000.0), req(1.125, 1), req(1.125, 2)],
            controls=[(1.125, 0, 1)])
    assert r.rows == [
        (0, 0, 0.0, 0, OK, 1, 0, 1125.0, 125.0),
        (1, 0, 1.125, 0, OK, 0, 1, 250.0, 0.0),
        (2, 0, 1.125, 0, OK, 0, 0, 250.0, 0.0),
    ]


def test_control_runs_before_a_retry_at_the_same_time():
    # Bucket of 1 token, no refill: id0 takes it (cold, until 10.125); id1 at 0.5 is throttled
    # and retries at 1.0, when 1 provisioned env appears: the control runs first, so the
    # retry lands on it.
    p = params(bucket_cap=[1.0], bucket_rate=[0.0], retry_max_attempts=[2])
    r = run(p, [req(0.0, 0), req(0.5, 1)], streams(DUR=[10_000, 250]), t_end=20.0,
            controls=[(1.0, 0, 1)])
    assert r.rows == [
        (0, 0, 0.0, 0, OK, 1, 0, 10_125.0, 125.0),
        (1, 0, 0.5, 0, THROTTLED, 0, 0, 0.0, 0.0),
        (1, 1, 1.0, 0, OK, 0, 1, 250.0, 0.0),
    ]


def test_equal_times_internal_events_in_scheduling_order():
    # reserved 1. id0 until 1.125. id1 throttled at 0.5 schedules its retry for 2.5 (base 2 s).
    # id2 at 1.25 runs warm for 1250 ms, its completion scheduled later for the same 2.5.
    # At 2.5 the retry runs first (scheduled first) and is throttled again (retry at 6.5,
    # delay min(20, 4)); only then does id2's env free up. id1 runs warm at 6.5.
    p = params(reserved=[1], retry_max_attempts=[3], retry_base_s=[2.0])
    r = run(p, [req(0.0, 0), req(0.5, 1), req(1.25, 2)], streams(DUR=[1000, 1250, 250]))
    assert r.rows == [
        (0, 0, 0.0, 0, OK, 1, 0, 1125.0, 125.0),
        (1, 0, 0.5, 0, THROTTLED, 0, 0, 0.0, 0.0),
        (2, 0, 1.25, 0, OK, 0, 0, 1250.0, 0.0),
        (1, 1, 2.5, 0, THROTTLED, 0, 0, 0.0, 0.0),
        (1, 2, 6.5, 0, OK, 0, 0, 250.0, 0.0),
    ]
