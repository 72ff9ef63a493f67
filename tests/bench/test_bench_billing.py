"""The accrual kernel against numpy and polars implementations of the same rules, one run.

Records: (period, function, latency_ms, on provisioned, request units). Each
implementation rounds every latency up to 1 ms and sums billed ms (on demand and
provisioned apart) and request units per [period, function]. All three must agree exactly.
"""

from __future__ import annotations

import time

import numpy as np
import polars as pl
import pytest

from kernels.billing import accrue_invocations

N = 20_000_000
P, F = 60, 8


@pytest.fixture(scope="module")
def records():
    rng = np.random.default_rng(7)
    # compact columns, as a per-request log would store them
    return (rng.integers(0, P, N, dtype=np.int32), rng.integers(0, F, N, dtype=np.int16), rng.exponential(150.0, N),
            (rng.random(N) < 0.3).astype(np.int8), rng.integers(1, 3, N, dtype=np.int16))


def with_kernel(period, fn, lat, pc, units):
    od, pcm, req = (np.zeros((P, F), np.int64) for _ in range(3))
    accrue_invocations(period, fn, lat, pc, units, od, pcm, req)
    return od, pcm, req


def with_numpy(period, fn, lat, pc, units):
    ms = np.ceil(lat).astype(np.int64)
    idx = period.astype(np.int64) * F + fn
    on = pc != 0
    od = np.bincount(idx[~on], weights=ms[~on], minlength=P * F)
    pcm = np.bincount(idx[on], weights=ms[on], minlength=P * F)
    req = np.bincount(idx, weights=units, minlength=P * F)
    return tuple(a.astype(np.int64).reshape(P, F) for a in (od, pcm, req))  # sums < 2**53: exact


def with_polars(period, fn, lat, pc, units):
    df = pl.DataFrame({"p": period, "f": fn, "lat": lat, "pc": pc, "u": units})
    g = (df.with_columns(pl.col("lat").ceil().cast(pl.Int64).alias("ms"))
           .group_by("p", "f")
           .agg(pl.when(pl.col("pc") == 0).then(pl.col("ms")).otherwise(0).sum().alias("od"),
                pl.when(pl.col("pc") != 0).then(pl.col("ms")).otherwise(0).sum().alias("pcm"),
                pl.col("u").sum().alias("req")))
    out = []
    for c in ("od", "pcm", "req"):
        a = np.zeros((P, F), np.int64)
        a[g["p"].to_numpy(), g["f"].to_numpy()] = g[c].to_numpy()
        out.append(a)
    return tuple(out)


def polars_one_core() -> float:
    """Records/s of the polars implementation with POLARS_MAX_THREADS=1, in a fresh process
    (polars reads the setting once, at import)."""
    import json
    import os
    import subprocess
    import sys

    code = ("import json, test_bench_billing as b;"
            "r = b.records.__wrapped__();"
            "t, _ = b.timed(b.with_polars, r);"
            "print(json.dumps(b.N / t))")
    env = {**os.environ, "POLARS_MAX_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=os.path.dirname(__file__), env=env,
                         capture_output=True, text=True, timeout=600, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def timed(fn, args, rounds=3):
    best, out = float("inf"), None
    for _ in range(rounds):
        t0 = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best, out


def test_accrual_kernel_vs_numpy_vs_polars(benchmark, records, bench_figures):
    with_kernel(*(a[:1000] for a in records))  # compile outside the timing
    t_k, k = timed(with_kernel, records)
    t_n, n = timed(with_numpy, records)
    t_p, p = timed(with_polars, records)
    for a, b, c in zip(k, n, p):
        assert np.array_equal(a, b) and np.array_equal(a, c)
    p1 = polars_one_core()
    benchmark.pedantic(with_kernel, args=records, rounds=1, iterations=1)
    bench_figures["accrual"] = {"records": N, "kernel_records_per_s": N / t_k, "numpy_records_per_s": N / t_n,
                                "polars_records_per_s": N / t_p, "over_numpy": t_n / t_k, "over_polars": t_p / t_k,
                                "polars_one_core_records_per_s": p1, "over_polars_one_core": N / t_k / p1}
