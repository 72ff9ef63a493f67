"""The Lambda pool kernel against its plain-Python twin, attempt by attempt."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings, strategies as st

from kernels import lambda_pool as K
from kernels.queue_pool import FleetParams, MappingParams, QueueParams
from kernels.ref.account import K_FUNCTION, AccountParams, simulate_account_ref
from kernels.ref.lambda_pool import PoolParams, simulate_pool_ref
from sim.compute import pool_state
from sim.compute.pool_state import PoolState
from sim.engine.rng import ArrayStream
from test_account_twin import compare_entries, compare_spans

STREAM_KEYS = ("DUR", "INIT", "EXP", "U")


def run_kernel(params, arrivals, streams, t_end, controls=(), initial_provisioned=None,
               chunk=7, window_s=None):
    """Drive the kernel like the component does, with controls between runs."""
    state = PoolState(params, t_end, period_s=t_end / 3, chunk=chunk, sample_all=True, events=4, traces=2,
                      trace_all=True)
    src = [[ArrayStream(streams[k][f], chunk) for k in STREAM_KEYS] for f in range(len(params.reserved))]
    if initial_provisioned is not None:
        for f, n in enumerate(initial_provisioned):
            K.control_provisioned(0.0, f, int(n), state.fs, state.ft, state.fpi, state.g, state.gf,
                                  state.pmi, state.pmf, state.phist)
    cols = ("t", "id", "fn", "src", "inv", "dur_override_ms", "units")
    arr = {c: np.ascontiguousarray(arrivals[c]) for c in cols}
    stops = sorted({t for t, _, _ in controls} | ({*np.arange(window_s, t_end, window_s)} if window_s else set()))
    rows, t0 = [], 0.0
    for t1 in [*stops, t_end]:
        sel = (arr["t"] >= t0) & (arr["t"] < t1)
        pool_state.run(state, t1, tuple(arr[c][sel] for c in cols), src)
        for t, f, n in controls:
            if t == t1:
                K.control_provisioned(t, f, n, state.fs, state.ft, state.fpi, state.g, state.gf,
                                      state.pmi, state.pmf, state.phist)
        rows.append(state.take_rows())
        t0 = t1
    ri = np.concatenate([r[0] for r in rows])
    rf = np.concatenate([r[1] for r in rows])
    out = [(int(a[K.R_ID]), int(a[K.R_ATTEMPT]), float(b[K.R_T]), int(a[K.R_FN]), int(a[K.R_OUTCOME]),
            int(a[K.R_COLD]), int(a[K.R_ON_PC]), float(b[K.R_LATENCY_MS]), float(b[K.R_INIT_MS]))
           for a, b in zip(ri, rf)]
    return out, state


@st.composite
def pools(draw):
    nf = draw(st.integers(1, 3))
    ns = draw(st.integers(1, 3))
    model = draw(st.sampled_from(["per_function", "region"]))
    reserved = [draw(st.sampled_from([-1, -1, 0, 1, 2, 4])) for _ in range(nf)]
    n_buckets = nf if model == "per_function" else 1
    params = PoolParams(
        reserved=reserved,
        timeout_ms=[draw(st.sampled_from([50.0, 300.0, 5000.0])) for _ in range(nf)],
        error_rate=[draw(st.sampled_from([0.0, 0.3, 1.0])) for _ in range(nf)],
        dur_scale=[draw(st.sampled_from([1.0, 0.5, 1.7])) for _ in range(nf)],
        memory_mb=[128] * nf,
        async_max_retries=[draw(st.integers(0, 2)) for _ in range(nf)],
        async_max_age_s=[draw(st.sampled_from([60.0, 200.0, 21600.0])) for _ in range(nf)],
        bucket=list(range(nf)) if model == "per_function" else [0] * nf,
        bucket_cap=[float(draw(st.integers(1, 4))) for _ in range(n_buckets)],
        bucket_rate=[draw(st.sampled_from([0.05, 1.0, 10.0])) for _ in range(n_buckets)],
        unres_cap=draw(st.integers(0, 5)),
        retry_max_attempts=[draw(st.integers(1, 4)) for _ in range(ns)],
        retry_base_s=[draw(st.sampled_from([0.01, 0.5])) for _ in range(ns)],
        retry_cap_s=[draw(st.sampled_from([0.02, 5.0])) for _ in range(ns)],
        retry_jitter=[draw(st.integers(0, 2)) for _ in range(ns)],
    )
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    t_end = 400.0
    n = draw(st.integers(0, 60))
    # times on a coarse grid so that ties happen
    t = np.sort(rng.integers(0, 4000, n) / 10.0)
    src = rng.integers(0, ns, n)
    arrivals = {
        "t": t, "id": (src.astype(np.int64) << 40) | np.arange(n), "fn": rng.integers(0, nf, n),
        "src": src.astype(np.int64), "inv": rng.integers(0, 2, n),
        "dur_override_ms": np.where(rng.random(n) < 0.2, rng.choice([10.0, 2000.0, 99999.0], n), np.nan),
        "units": rng.integers(1, 4, n),
    }
    size = 4000
    streams = {
        "DUR": [rng.choice([1000.0, 2500.0, 40.0, 100000.0], size) for _ in range(nf)],
        "INIT": [rng.choice([0.0, 300.0, 1500.0], size) for _ in range(nf)],
        "EXP": [rng.choice([0.5, 5.0, 30.0, 600.0], size) for _ in range(nf)],
        "U": [rng.random(size) for _ in range(nf)],
    }
    controls = sorted((float(rng.integers(1, 40) * 10), int(rng.integers(0, nf)), int(rng.integers(0, 4)))
                      for _ in range(draw(st.integers(0, 3))))
    controls = [c for k, c in enumerate(controls) if k == 0 or c[0] != controls[k - 1][0]]
    initial = [int(x) for x in rng.integers(0, 3, nf)] if draw(st.booleans()) else None
    return params, arrivals, streams, t_end, controls, initial


def account_twin(params, arrivals, streams, t_end, controls, initial):
    """The account twin (kernels/ref/account.py) on a pool alone: its entry points, one per port."""
    n = len(arrivals["t"])
    arr = {"t": arrivals["t"], "id": arrivals["id"], "entry": arrivals["src"], "kind": np.full(n, K_FUNCTION),
           "index": arrivals["fn"], "src": arrivals["src"], "inv": arrivals["inv"],
           "dur_override_ms": arrivals["dur_override_ms"], "size_bytes": np.zeros(n, np.int64),
           "key": np.zeros(n, np.int64), "group": np.zeros(n, np.int64)}
    none = QueueParams([], [], [], [], [], [], [])
    acc = AccountParams(params, none, MappingParams([], [], [], [], [], [], [], []), FleetParams([], [], [], []))
    s = {**streams, "ITEM": [], "PROC": [], "WERR": []}
    return simulate_account_ref(acc, arr, s, t_end, controls, initial, period_s=t_end / 3,
                                n_entries=len(params.retry_max_attempts), record_spans=True)


def compare(params, arrivals, streams, t_end, controls, initial, window_s=None):
    ref = simulate_pool_ref(params, arrivals, streams, t_end, controls, initial)
    rows, state = run_kernel(params, arrivals, streams, t_end, controls, initial, window_s=window_s)
    assert rows == ref.rows
    # entry points: each port's requests, answers, latency and completion (ACCOUNT_SPEC.md §7)
    state.close_traces(state.mark_heap)
    twin = account_twin(params, arrivals, streams, t_end, controls, initial)
    compare_entries(state, twin)
    compare_spans(state, twin)
    tot = state.pmi.sum(axis=0)
    for f in range(len(params.reserved)):
        assert tot[f, K.M_INVOCATIONS] == ref.invocations[f]
        assert tot[f, K.M_THROTTLES] == ref.throttles[f]
        assert tot[f, K.M_ERRORS] == ref.errors[f]
        assert tot[f, K.M_TIMEOUTS] == ref.timeouts[f]
        assert tot[f, K.M_COLD] == ref.cold_starts[f]
        assert tot[f, K.M_SYNC_FAILED] == ref.sync_failed[f]
        assert tot[f, K.M_ASYNC_DROPPED] == ref.async_dropped[f]
        assert tot[f, K.M_SPILLOVER] == ref.spillover[f]
        assert tot[f, K.M_BILLED_MS_OD] + tot[f, K.M_BILLED_MS_PC] == ref.billed_ms[f]
        assert tot[f, K.M_REQUEST_UNITS] == ref.request_units[f]
        assert math.isclose(state.ft[f, K.T_BUSY_S], ref.busy_time_s[f], rel_tol=1e-9, abs_tol=1e-9)
        # the exact extremes kept beside the latency and init histograms (every row is sampled)
        ran = [r for r in ref.rows if r[3] == f and r[4] != K.O_THROTTLED]
        assert state.ft[f, K.T_LAT_MIN_MS] == min((r[7] for r in ran), default=math.inf)
        assert state.ft[f, K.T_LAT_MAX_MS] == max((r[7] for r in ran), default=0.0)
        assert state.ft[f, K.T_INIT_MIN_MS] == min((r[8] for r in ran if r[5]), default=math.inf)
        assert state.ft[f, K.T_INIT_MAX_MS] == max((r[8] for r in ran if r[5]), default=0.0)
        # per-period duration percentiles of the closed periods, clamped to the period's exact extremes
        ran_p = (state.pmi[:, f, K.M_INVOCATIONS] > 0) & (np.arange(state.pmi.shape[0]) < state.g[K.G_PERIOD])
        lo, hi = state.pmf[ran_p, f, K.MF_DUR_MIN_MS], state.pmf[ran_p, f, K.MF_DUR_MAX_MS]
        p50, p99 = state.pmf[ran_p, f, K.MF_DUR_P50], state.pmf[ran_p, f, K.MF_DUR_P99]
        assert np.all((lo <= p50) & (p50 <= p99) & (p99 <= hi))


@settings(max_examples=300, deadline=None)
@given(pools())
def test_kernel_matches_twin_on_random_pools(case):
    compare(*case)


@settings(max_examples=60, deadline=None)
@given(pools(), st.sampled_from([0.1, 7.0, 100.0]))
def test_kernel_matches_twin_whatever_the_window(case, window_s):
    compare(*case, window_s=window_s)


def simple(reserved=-1, unres_cap=10, cap=1000.0, rate=100.0, jitter=0, attempts=1):
    return PoolParams(reserved=[reserved], timeout_ms=[3000.0], error_rate=[0.0], dur_scale=[1.0],
                      memory_mb=[128], async_max_retries=[2], async_max_age_s=[21600.0], bucket=[0],
                      bucket_cap=[cap], bucket_rate=[rate], unres_cap=unres_cap,
                      retry_max_attempts=[attempts], retry_base_s=[0.1], retry_cap_s=[1.0],
                      retry_jitter=[jitter])


def arrivals_at(times, inv=0):
    n = len(times)
    return {"t": np.asarray(times, float), "id": np.arange(n, dtype=np.int64), "fn": np.zeros(n, np.int64),
            "src": np.zeros(n, np.int64), "inv": np.full(n, inv, np.int64), "dur_override_ms": np.full(n, np.nan),
            "units": np.ones(n, np.int64)}


def const_streams(dur=1000.0, init=250.0, exp=600.0, u=0.5, n=100):
    return {"DUR": [np.full(n, dur)], "INIT": [np.full(n, init)], "EXP": [np.full(n, exp)], "U": [np.full(n, u)]}


def test_edge_equal_times_completion_before_arrival():
    """A completion at exactly the arrival's time frees its environment for it (warm)."""
    compare(simple(), arrivals_at([0.0, 1.25]), const_streams(dur=1000.0, init=250.0), 10.0, [], None)
    rows, _ = run_kernel(simple(), arrivals_at([0.0, 1.25]), const_streams(), 10.0)
    assert [r[5] for r in rows] == [1, 0]


def test_edge_expiry_boundary_is_dead():
    rows, _ = run_kernel(simple(), arrivals_at([0.0, 1.75]), const_streams(dur=500.0, init=250.0, exp=1.0), 10.0)
    assert [r[5] for r in rows] == [1, 1]


def test_edge_bucket_empty_throttles_then_refills():
    p = simple(cap=1.0, rate=1.0, unres_cap=5)
    rows, _ = run_kernel(p, arrivals_at([0.0, 0.5, 1.0]), const_streams(dur=2000.0), 10.0)
    assert [r[4] for r in rows] == [0, 3, 0]


def test_edge_zero_reserved_throttles_everything():
    rows, _ = run_kernel(simple(reserved=0), arrivals_at([0.0, 1.0], inv=0), const_streams(), 10.0)
    assert [r[4] for r in rows] == [3, 3]
