"""The bill through whole simulations: AWS's worked examples and cases worked by hand.

Every expected figure below is computed in the test from AWS's published rates (docs/FACTS.md,
configs/pricing/us-east-1.yaml), not read back from the code under test.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import polars as pl
import pytest

from sim import simulate

X86 = Decimal("0.0000166667")
X86_TIER2 = Decimal("0.000015")
ARM = Decimal("0.0000133334")
REQ = Decimal("0.0000002")
PC = Decimal("0.0000041667")
PC_DURATION = Decimal("0.0000097222")
STORAGE = Decimal("0.0000000309")


def cents(x) -> float:
    return float(Decimal(x).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def one_function(duration_s, rate_per_s, fn, *, month_h, free_tier=False, invocation="sync", size_bytes=1024,
                 account=None):
    return {
        "name": "bill",
        "duration_s": duration_s,
        "account": account or {"concurrency_limit": 1000},
        "functions": {"f": {"timeout_s": 900, "init_ms": {"dist": "fixed", "value": 0}, **fn}},
        "traffic": [{"name": "t", "target": "function:f", "invocation": invocation,
                     "arrivals": {"kind": "constant", "rate_per_s": rate_per_s},
                     "message": {"size_bytes": size_bytes}}],
        "billing": {"free_tier": free_tier, "month_h": month_h},
        "record": {"period_s": 600},
    }


def lines(result, period="monthly"):
    """(usage_type -> (amount, cost in cents)) of the bill, summed over resources."""
    g = (result.costs.filter(pl.col("period") == period)
         .group_by("usage_type").agg(pl.col("usage_amount").sum(), pl.col("unblended_cost_usd").sum()))
    # amounts to 1e-6: month_h = duration / 3600 is not exact in binary (3000 / 3600)
    return {r["usage_type"]: (round(r["usage_amount"], 6), cents(repr(r["unblended_cost_usd"]))) for r in g.to_dicts()}


def test_worked_example_1_free_tier():
    """3 M requests of 120 ms at 1,536 MB, free tier: $2.33 + $0.40 = $2.73 (docs/FACTS.md)."""
    r = simulate(one_function(3000, 1000, {"memory_mb": 1536, "duration_ms": {"dist": "fixed", "value": 120}},
                              month_h=3000 / 3600, free_tier=True))
    assert r.summary["functions"]["f"]["invocations"] == 3_000_000
    got = lines(r)
    assert got["Lambda-GB-Second"] == (540_000.0, 2.33)
    assert got["Request"] == (3_000_000.0, 0.40)
    assert r.summary["cost_usd"]["monthly"] == 2.73
    assert r.summary["cost_usd"]["by_service"]["AWSLambda"]["monthly"] == 2.73


@pytest.mark.slow
def test_worked_example_2_no_free_tier():
    """7,440,000 requests of 2 s at 1,024 MB, no free tier: $1.49 + $248.00 = $249.49."""
    r = simulate(one_function(7440, 1000, {"memory_mb": 1024, "duration_ms": {"dist": "fixed", "value": 2000}},
                              month_h=7440 / 3600, account={"concurrency_limit": 3000, "scaling_burst": 3000}))
    s = r.summary["functions"]["f"]
    assert s["invocations"] == 7_440_000 and s["throttles"] == 0
    got = lines(r)
    assert got["Lambda-GB-Second"] == (14_880_000.0, 248.00)
    assert got["Request"] == (7_440_000.0, 1.49)
    assert r.summary["cost_usd"]["monthly"] == 249.49


def test_a_month_crossing_the_first_x86_tier():
    """300/s of 1 s at 10,240 MB for an hour, projected to 730 h: 7.884e9 GB-s a month."""
    r = simulate(one_function(3600, 300, {"memory_mb": 10240, "duration_ms": {"dist": "fixed", "value": 1000}},
                              month_h=730, account={"concurrency_limit": 1000}))
    monthly_gb_s = Decimal(300 * 3600 * 10 * 730)
    assert monthly_gb_s == Decimal("7884000000")
    duration = Decimal(6e9) * X86 + (monthly_gb_s - Decimal(6e9)) * X86_TIER2
    requests = Decimal(300 * 3600 * 730) * REQ
    got = lines(r)
    assert got["Lambda-GB-Second"][1] == cents(duration) == 128_260.20
    assert got["Request"][1] == cents(requests) == 157.68
    assert r.summary["cost_usd"]["monthly"] == pytest.approx(cents(duration) + cents(requests), abs=1e-9)
    # prorated back to the simulated hour, line by line
    sim = lines(r, "simulated")
    assert sim["Lambda-GB-Second"][1] == cents(duration / 730) == 175.70
    assert r.summary["cost_usd"]["total"] == pytest.approx(cents(duration / 730) + cents(requests / 730), abs=1e-9)


def test_arm64_against_x86_for_the_same_work():
    fn = {"memory_mb": 1024, "duration_ms": {"dist": "fixed", "value": 100}}
    x86 = simulate(one_function(1000, 1000, fn, month_h=1000 / 3600))
    arm = simulate(one_function(1000, 1000, {**fn, "arch": "arm64"}, month_h=1000 / 3600))
    gb_s = Decimal(1_000_000) * Decimal("0.1")
    assert lines(x86)["Lambda-GB-Second"][1] == cents(gb_s * X86) == 1.67
    assert lines(arm)["Lambda-GB-Second-ARM"][1] == cents(gb_s * ARM) == 1.33
    assert lines(arm)["Request-ARM"][1] == lines(x86)["Request"][1] == 0.20


def test_provisioned_concurrency_for_7_minutes_is_billed_as_10():
    fn = {"memory_mb": 1024, "duration_ms": {"dist": "fixed", "value": 100},
          "provisioned_concurrency": 100, "provisioned_schedule": [{"at_s": 420, "count": 0}]}
    r = simulate(one_function(3600, 1, fn, month_h=1))
    amount, cost = lines(r)["Lambda-Provisioned-Concurrency"]
    assert amount == 100 * 600 * 1.0  # 100 environments x 10 min x 1 GB
    assert cost == cents(Decimal(60_000) * PC) == 0.25


def test_spill_over_beyond_provisioned_is_billed_on_demand():
    """5 provisioned, 20 busy: each invocation's 200 ms goes to the meter of where it ran."""
    fn = {"memory_mb": 2048, "duration_ms": {"dist": "fixed", "value": 200}, "provisioned_concurrency": 5}
    sc = one_function(600, 100, fn, month_h=600 / 3600)
    sc["record"]["requests"] = {"sample": 1.0}
    r = simulate(sc, sample_all=True)
    rows = r.requests.filter(pl.col("outcome") != "throttled")
    on_pc = rows.filter(pl.col("provisioned")).height
    on_demand = rows.height - on_pc
    assert on_pc > 0 and on_demand > 0
    got = lines(r)
    assert got["Lambda-Provisioned-GB-Second"][0] == pytest.approx(on_pc * 0.2 * 2, rel=1e-12)
    assert got["Lambda-GB-Second"][0] == pytest.approx(on_demand * 0.2 * 2, rel=1e-12)
    assert got["Lambda-GB-Second"][1] == cents(Decimal(on_demand) * Decimal("0.4") * X86)
    assert got["Lambda-Provisioned-GB-Second"][1] == cents(Decimal(on_pc) * Decimal("0.4") * PC_DURATION)
    assert got["Lambda-Provisioned-Concurrency"][0] == 5 * 600 * 2


def test_ephemeral_storage_of_2048_mb():
    fn = {"memory_mb": 1024, "ephemeral_storage_mb": 2048, "duration_ms": {"dist": "fixed", "value": 1000}}
    r = simulate(one_function(3600, 100, fn, month_h=730))
    gb_s = Decimal(100 * 3600) * Decimal("1.5") * 730  # 1,536 MB above the free 512 MB
    amount, cost = lines(r)["Lambda-Storage-GB-Second"]
    assert amount == float(gb_s) and cost == cents(gb_s * STORAGE) == 12.18


def test_async_payload_of_300_kb_counts_two_requests():
    fn = {"memory_mb": 128, "duration_ms": {"dist": "fixed", "value": 10}}
    r = simulate(one_function(1000, 100, fn, month_h=1000 / 3600, invocation="async", size_bytes=300 * 1024))
    assert lines(r)["Request"][0] == 2 * 100_000
    small = simulate(one_function(1000, 100, fn, month_h=1000 / 3600, invocation="async", size_bytes=256 * 1024))
    assert lines(small)["Request"][0] == 100_000


def test_free_tier_larger_than_usage_costs_nothing():
    fn = {"memory_mb": 128, "duration_ms": {"dist": "fixed", "value": 100}}
    r = simulate(one_function(600, 1, fn, month_h=600 / 3600, free_tier=True))
    assert r.summary["cost_usd"]["monthly"] == 0.0 and r.summary["cost_usd"]["total"] == 0.0
    assert (r.costs["unblended_cost_usd"] >= 0).all()


def test_costs_table_and_series_add_up():
    r = simulate(one_function(3600, 50, {"memory_mb": 512, "duration_ms": {"dist": "exponential", "mean": 80}},
                              month_h=730))
    assert r.costs.columns == ["service", "usage_type", "resource", "usage_amount", "unit", "unblended_cost_usd",
                               "period"]
    assert set(r.costs["period"]) == {"simulated", "monthly"}
    series = r.metrics.filter((pl.col("namespace") == "cloudtwin/Billing") & (pl.col("metric") == "CostUSD"))
    assert series["value"].sum() == pytest.approx(r.summary["cost_usd"]["total"], abs=0.01)
    # the whole Lambda bill per million requests: duration and requests together
    per_m = r.summary["cost_usd"]["unit"]["AWSLambda_per_million_requests"]
    monthly_requests = r.costs.filter((pl.col("period") == "monthly") & (pl.col("usage_type") == "Request"))
    assert per_m == pytest.approx(r.summary["cost_usd"]["monthly"] / monthly_requests["usage_amount"].sum() * 1e6,
                                  rel=1e-3)
