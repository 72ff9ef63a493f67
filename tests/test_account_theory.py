"""The account's calls against queueing theory, on the twin (kernels/ref/account.py):
a synchronous call into a function with reserved concurrency is an Erlang B loss system; an
asynchronous send into a queue drained by c pollers is an M/M/c queue fed by a Poisson
stream (Burke: the departures of an M/M/∞ stage are Poisson). Tolerances are 99 % Student
t intervals over seeded replications.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from kernels.ref.account import K_FUNCTION, K_QUEUE, AccountParams, CallParams, simulate_account_ref
from kernels.ref.queue_pool import QPF_WAIT_SUM_S, QP_WAIT_N
from test_queue_ref import fleet_params, mapping_params, pool_params, queue_params
from test_validation_lambda import ci, erlang_b
from test_validation_messaging import mmc_mean_wait_s


def poisson_arrivals(rng, rate_per_s: float, t_end: float, kind: int, index: int, inv: int) -> dict:
    n = rng.poisson(rate_per_s * t_end)
    t = np.sort(rng.uniform(0.0, t_end, n))
    z = np.zeros(n, np.int64)
    return {"t": t, "id": np.arange(n, dtype=np.int64), "entry": z, "kind": z + kind, "index": z + index,
            "src": z, "inv": z + inv, "dur_override_ms": np.full(n, np.nan), "size_bytes": z + 1024,
            "key": z, "group": z}


def random_streams(rng, n: int, dur_mean_ms: list[float], calls_lat_ms: list[list[float]], n_map: int = 0) -> dict:
    """Exponential durations (a mean of 0 means none), no init, environments that never expire."""
    n_fn = len(dur_mean_ms)
    return {
        "DUR": [rng.exponential(m, n) if m > 0 else np.zeros(n) for m in dur_mean_ms],
        "INIT": [np.zeros(n)] * n_fn, "EXP": [np.full(n, 1e12)] * n_fn,
        "U": [rng.uniform(size=n) for _ in range(n_fn)], "ITEM": [rng.uniform(size=n)] * n_map,
        "PROC": [], "WERR": [], "CALL": [rng.uniform(size=n) for _ in range(n_fn)],
        "CLAT": [[np.full(n, v) for v in lat] for lat in calls_lat_ms],
        "FU": [], "FLAT": [], "ELAT": [], "EU": [],
    }


@pytest.mark.slow
@pytest.mark.parametrize("c_b, load", [(1, 0.5), (3, 2.0)])
def test_sync_call_loss_is_erlang_b(c_b, load):
    """A (no limit reached) calls B synchronously, no SDK retry; B has reserved concurrency c_B
    and exponential durations: the share of A's invocations failing on B's throttle is
    Erlang B(c_B, λ E[S_B]); a successful A lasts its call latency + B's latency + its own."""
    mean_s, t_end = 1.0, 2_000.0
    rate = load / mean_s
    p = pool_params(2, reserved=[-1, c_b], unres_cap=10_000, timeout_ms=[900_000.0] * 2,
                    dur_scale=[1.0, 1.0], bucket_cap=[1e9] * 2, bucket_rate=[1e9] * 2)
    ap = AccountParams(pool=p, queues=queue_params(0), mappings=mapping_params(0), fleets=fleet_params(0),
                       calls=[[CallParams(K_FUNCTION, 1, sync=True, max_attempts=1)], []])
    shares = []
    for seed in range(8):
        rng = np.random.default_rng([seed, c_b])
        arr = poisson_arrivals(rng, rate, t_end, K_FUNCTION, 0, 0)
        n = len(arr["t"]) + 10
        s = random_streams(rng, n, [62.5, mean_s * 1000], [[62.5], []])
        s["DUR"][0] = np.full(n, 62.5)
        r = simulate_account_ref(ap, arr, s, t_end)
        warm = 50.0
        a_rows = [row for row in r.pool.rows if row[3] == 0 and row[2] >= warm]
        b_rows = [row for row in r.pool.rows if row[3] == 1 and row[2] >= warm + 0.0625]
        failed = sum(row[4] != 0 for row in a_rows)
        shares.append(failed / len(a_rows))
        # every failure of A is a throttle of B, and every throttle of B fails A
        assert failed == sum(row[4] == 3 for row in b_rows)
        cut = t_end - 100.0  # calls started before it have long been answered (B lasts ~ 1 s)
        ok_a = [row for row in r.pool.rows if row[3] == 0 and row[4] == 0 and row[2] < cut]
        ok_b = [row for row in r.pool.rows if row[3] == 1 and row[4] == 0 and row[2] - 0.0625 < cut]
        assert len(ok_a) == len(ok_b)
        assert math.isclose(sum(row[7] for row in ok_a), sum(row[7] + 125.0 for row in ok_b), rel_tol=1e-12)
    mean, half = ci(shares)
    expected = erlang_b(c_b, load)
    print(f"c_B={c_b} load={load}: failing share {mean:.4f} ± {half:.4f}, Erlang B {expected:.4f}")
    assert abs(mean - expected) <= half


@pytest.mark.slow
@pytest.mark.parametrize("c, load", [(2, 0.7)])
def test_tandem_send_into_a_queue_is_burke(c, load):
    """Poisson → A (exponential, no limit) → SendMessage at its end (62.5 ms) → queue → mapping
    with exactly c pollers, batch 1 → B (exponential): B's mean wait in the queue is M/M/c's
    (Erlang C) and the mean completion is E[A] + 62.5 ms + W_q + E[B]."""
    mean_a, mean_b, t_end = 0.5, 1.0, 4_000.0
    rate = load * c / mean_b
    p = pool_params(2, timeout_ms=[900_000.0] * 2, unres_cap=100_000, bucket_cap=[1e9] * 2, bucket_rate=[1e9] * 2)
    ap = AccountParams(pool=p, queues=queue_params(1, visibility_timeout_s=[1e6]),
                       mappings=mapping_params(1, function=[1], batch_size=[1], max_concurrency=[c]),
                       fleets=fleet_params(0),
                       calls=[[CallParams(K_QUEUE, 0, sync=False, at_end=True)], []])
    waits, completions = [], []
    for seed in range(8):
        rng = np.random.default_rng([seed, 99])
        arr = poisson_arrivals(rng, rate, t_end, K_FUNCTION, 0, 1)
        n = len(arr["t"]) + 10
        r = simulate_account_ref(ap, arr, random_streams(rng, n, [mean_a * 1000, mean_b * 1000], [[62.5], []], n_map=1),
                                 t_end)
        m = r.messaging
        waits.append(m.period_queue_f[:, 0, QPF_WAIT_SUM_S].sum() / m.period_queue[:, 0, QP_WAIT_N].sum())
        completions.append(float(np.mean(r.entry[0].completion_s)))
        st = r.calls[0][0]
        assert st["made"] == st["ok"] + st["failed"] + st["abandoned"] + st["in_flight_end"]
    w, hw = ci(waits)
    wq = mmc_mean_wait_s(c, rate, mean_b)
    print(f"W_q {w:.4f} ± {hw:.4f} (Erlang C {wq:.4f})")
    assert abs(w - wq) <= hw
    comp, hc = ci(completions)
    expected = mean_a + 0.0625 + wq + mean_b
    print(f"completion {comp:.4f} ± {hc:.4f} (expected {expected:.4f})")
    assert abs(comp - expected) <= hc
