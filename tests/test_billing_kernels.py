"""Billing meters: the accrual kernels against their plain-Python twins."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from kernels.billing import accrue_invocations, billed_ms, chunks_64kb, lambda_request_units, request_units_many
from kernels.ref.billing import accrue_invocations_ref, billed_ms_ref, chunks_64kb_ref, lambda_request_units_ref

from kernels import jit


@jit
def _billed_many(x, out):
    for k in range(x.shape[0]):
        out[k] = billed_ms(x[k])


@jit
def _chunks_many(x, out):
    for k in range(x.shape[0]):
        out[k] = chunks_64kb(x[k])


def test_edge_cases_of_rounding():
    x = np.array([0.0, 1e-9, 1.0, 1.0000001, 120.0, 119.99999999, 2000.0, 899999.5])
    out = np.zeros(len(x), np.int64)
    _billed_many(x, out)
    assert out.tolist() == [billed_ms_ref(v) for v in x] == [0, 1, 1, 2, 120, 120, 2000, 900000]
    sizes = np.array([0, 1, 65536, 65537, 131072, 262144, 262145, 307200, 1048576])
    c = np.zeros(len(sizes), np.int64)
    _chunks_many(sizes, c)
    assert c.tolist() == [chunks_64kb_ref(int(v)) for v in sizes] == [1, 1, 1, 2, 2, 4, 5, 5, 16]
    u = np.zeros(len(sizes), np.int64)
    request_units_many(sizes, np.ones(len(sizes), np.int64), u)
    # async: 1 request covers 256 KB, then one per started 64 KB: 300 KB counts as 2
    assert u.tolist() == [lambda_request_units_ref(int(v), 1) for v in sizes] == [1, 1, 1, 1, 1, 1, 2, 2, 13]
    request_units_many(sizes, np.zeros(len(sizes), np.int64), u)
    assert u.tolist() == [1] * len(sizes)  # sync requests are one each whatever the size
    assert lambda_request_units(300 * 1024, 1) == 2


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(0, 300), st.integers(0, 2**32 - 1))
def test_accrual_matches_twin(n_periods, n_functions, n, seed):
    rng = np.random.default_rng(seed)
    period = rng.integers(0, n_periods, n)
    fn = rng.integers(0, n_functions, n)
    lat = np.where(rng.random(n) < 0.3, rng.integers(0, 5000, n).astype(float), rng.exponential(300, n))
    on_pc = rng.integers(0, 2, n)
    units = rng.integers(1, 20, n)
    ms_od = np.zeros((n_periods, n_functions), np.int64)
    ms_pc = np.zeros_like(ms_od)
    req = np.zeros_like(ms_od)
    accrue_invocations(period, fn, lat, on_pc, units, ms_od, ms_pc, req)
    r_od, r_pc, r_req = accrue_invocations_ref(period, fn, lat, on_pc, units, n_periods, n_functions)
    assert ms_od.tolist() == r_od and ms_pc.tolist() == r_pc and req.tolist() == r_req


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10 * 2**20), max_size=50), st.lists(st.integers(0, 1), max_size=50))
def test_request_units_match_twin(sizes, asyncs):
    n = min(len(sizes), len(asyncs))
    s, a = np.array(sizes[:n], np.int64), np.array(asyncs[:n], np.int64)
    out = np.zeros(n, np.int64)
    request_units_many(s, a, out)
    assert out.tolist() == [lambda_request_units_ref(int(x), int(y)) for x, y in zip(s, a)]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 400), st.integers(0, 2**32 - 1), st.sampled_from([128, 1536, 10240]))
def test_accrued_meters_price_to_identical_micro_dollars(n, seed, memory_mb):
    """Kernel meters and twin meters, priced: the same bill to the micro-dollar."""
    from decimal import Decimal

    from scenarios.pricing_load import load_region
    from sim.billing import Usage, price

    rng = np.random.default_rng(seed)
    period, fn = np.zeros(n, np.int64), np.zeros(n, np.int64)
    lat, on_pc, units = rng.exponential(400, n), rng.integers(0, 2, n), rng.integers(1, 5, n)
    od, pc, req = (np.zeros((1, 1), np.int64) for _ in range(3))
    accrue_invocations(period, fn, lat, on_pc, units, od, pc, req)
    r_od, r_pc, r_req = accrue_invocations_ref(period, fn, lat, on_pc, units, 1, 1)
    book = load_region("us-east-1")
    gb = Decimal(memory_mb) / 1024

    def bill(ms_od, ms_pc, requests):
        usage = [Usage("AWSLambda", "Request", "function:f", Decimal(int(requests)), "Requests"),
                 Usage("AWSLambda", "Lambda-GB-Second", "function:f", Decimal(int(ms_od)) / 1000 * gb, "GB-Seconds"),
                 Usage("AWSLambda", "Lambda-Provisioned-GB-Second", "function:f", Decimal(int(ms_pc)) / 1000 * gb,
                       "GB-Seconds")]
        b = price(usage, book, free_tier=False, month_h=730, duration_s=3600)
        return [round(x["unblended_cost_usd"] * 1e6) for x in b.lines], b.cost_usd

    assert bill(od[0, 0], pc[0, 0], req[0, 0]) == bill(r_od[0][0], r_pc[0][0], r_req[0][0])
