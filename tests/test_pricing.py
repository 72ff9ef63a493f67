"""The pricing engine (sim.billing) on hand-built price books: AWS's worked examples,
tiers, the shared free tier, projection and proration, invoice rounding, and properties
of the tier walk against a plain reference (hypothesis)."""

from decimal import Decimal, Inexact, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.pricing import FreeTierPool, PriceBook, Rate, Tier
from sim.billing import Usage, cost_series, price, tiered_cost

D = Decimal
GBS = "GB-Seconds"

# us-east-1 Lambda prices as in docs/FACTS.md (the test builds its own book on purpose).
X86 = Rate(unit=GBS, tiers=[Tier(6e9, 0.0000166667), Tier(15e9, 0.000015), Tier(None, 0.0000133334)])
ARM = Rate(unit=GBS, tiers=[Tier(7.5e9, 0.0000133334), Tier(18.75e9, 0.0000120001), Tier(None, 0.0000106667)])
REQ = Rate(unit="Requests", tiers=[Tier(None, 0.0000002)])


def lambda_book(pools=None) -> PriceBook:
    """Lambda requests and duration, x86 and arm64, with the given free-tier pools."""
    if pools is None:
        pools = {
            "lambda_requests": FreeTierPool(1_000_000, "Requests", ["AWSLambda/Request", "AWSLambda/Request-ARM"]),
            "lambda_gb_s": FreeTierPool(
                400_000, GBS, ["AWSLambda/Lambda-GB-Second", "AWSLambda/Lambda-GB-Second-ARM"]
            ),
        }
    return PriceBook(
        region="us-east-1",
        services={
            "AWSLambda": {
                "Request": REQ,
                "Request-ARM": REQ,
                "Lambda-GB-Second": X86,
                "Lambda-GB-Second-ARM": ARM,
            }
        },
        free_tier=pools,
    )


def req(n, fn="function:api", ut="Request"):
    return Usage("AWSLambda", ut, fn, D(n), "Requests")


def gbs(n, fn="function:api", ut="Lambda-GB-Second"):
    return Usage("AWSLambda", ut, fn, D(n), GBS)


def invoice(bill):
    """usage_type -> (monthly cost, simulated cost), rounded invoice lines."""
    return {r["usage_type"]: (r["monthly_cost_usd"], r["cost_usd"]) for r in bill.invoice}


# --- AWS's worked examples (docs/FACTS.md, Lambda pricing page) ---------------------------


def test_worked_example_1_free_tier():
    """3 M requests, 120 ms, 1536 MB: 540,000 GB-s; free tier on -> $2.33 + $0.40 = $2.73."""
    usage = [req(3_000_000), gbs(D(3_000_000) * D("0.120") * D(1536) / D(1024))]
    assert usage[1].amount == 540_000
    bill = price(usage, lambda_book(), free_tier=True, month_h=1.0, duration_s=3600.0)
    assert invoice(bill) == {"Request": (0.40, 0.40), "Lambda-GB-Second": (2.33, 2.33)}
    assert bill.cost_usd["monthly"] == 2.73
    assert bill.cost_usd["total"] == 2.73
    assert bill.cost_usd["by_service"] == {"AWSLambda": {"total": 2.73, "monthly": 2.73}}
    free = {r["usage_type"]: r["free_tier_amount"] for r in bill.invoice}
    assert free == {"Request": 1_000_000.0, "Lambda-GB-Second": 400_000.0}
    # unit cost: the whole Lambda bill ($2.733338 unrounded) per million of the 3 M requests
    assert bill.cost_usd["unit"]["AWSLambda_per_million_requests"] == pytest.approx(2.733338 / 3, rel=1e-12)
    # effective rate: $2.333338 over 540,000 GB-s (80 significant digits, not exact)
    rate = bill.effective_rate[("AWSLambda", "Lambda-GB-Second")]
    assert abs(rate * 540_000 - D("2.333338")) < D("1e-70")


def test_worked_example_2_no_free_tier():
    """7.44 M requests, 2 s, 1024 MB: 14.88 M GB-s; no free tier -> $1.49 + $248.00 = $249.49."""
    usage = [req(7_440_000), gbs(D(7_440_000) * 2 * D(1024) / D(1024))]
    bill = price(usage, lambda_book(), free_tier=False, month_h=730.0, duration_s=730 * 3600.0)
    assert invoice(bill) == {"Request": (1.49, 1.49), "Lambda-GB-Second": (248.00, 248.00)}
    assert bill.cost_usd["monthly"] == 249.49
    assert bill.cost_usd["total"] == 249.49
    # (1.488 + 248.000496) / 7.44 M requests
    assert bill.cost_usd["unit"]["AWSLambda_per_million_requests"] == pytest.approx(249.488496 / 7.44, rel=1e-12)


# --- tiers, architectures, the free tier ---------------------------------------------


def test_month_crossing_the_first_x86_tier():
    """7e9 GB-s: 6e9 x 0.0000166667 = 100,000.20 plus 1e9 x 0.000015 = 15,000 -> 115,000.20."""
    bill = price([gbs(7_000_000_000)], lambda_book(), free_tier=False, month_h=1.0, duration_s=3600.0)
    assert D(6_000_000_000) * D("0.0000166667") + D(1_000_000_000) * D("0.000015") == D("115000.2000000000")
    assert invoice(bill)["Lambda-GB-Second"] == (115000.20, 115000.20)
    assert tiered_cost(D(7_000_000_000), X86.tiers) == D("115000.2")
    # beyond the second tier too: 6e9 @ .0000166667 + 9e9 @ .000015 + 1e9 @ .0000133334
    assert tiered_cost(D(16_000_000_000), X86.tiers) == D("100000.2") + D("135000") + D("13333.4")


def test_arm64_is_cheaper_than_x86_for_the_same_work():
    usage = [gbs(1_000_000, "function:a"), gbs(1_000_000, "function:b", "Lambda-GB-Second-ARM")]
    bill = price(usage, lambda_book(), free_tier=False, month_h=1.0, duration_s=3600.0)
    assert invoice(bill) == {"Lambda-GB-Second": (16.67, 16.67), "Lambda-GB-Second-ARM": (13.33, 13.33)}
    assert bill.effective_rate[("AWSLambda", "Lambda-GB-Second-ARM")] == D("0.0000133334")
    assert bill.effective_rate[("AWSLambda", "Lambda-GB-Second")] == D("0.0000166667")


def test_free_tier_larger_than_usage_is_exactly_zero():
    bill = price([req(999_999), gbs(D("399999.999"))], lambda_book(), free_tier=True, month_h=1.0, duration_s=3600.0)
    assert bill.cost_usd["total"] == 0.0 and bill.cost_usd["monthly"] == 0.0
    assert all(line["unblended_cost_usd"] == 0.0 for line in bill.lines)
    assert bill.effective_rate == {("AWSLambda", "Request"): D(0), ("AWSLambda", "Lambda-GB-Second"): D(0)}
    assert bill.cost_usd["unit"]["AWSLambda_per_million_requests"] == 0.0


def test_free_tier_shared_by_x86_and_arm_in_listed_order():
    """400,000 free GB-s drawn by x86 first: x86 300,000 all free, arm64 gets the last 100,000."""
    usage = [gbs(300_000, "function:x"), gbs(300_000, "function:a", "Lambda-GB-Second-ARM")]
    bill = price(usage, lambda_book(), free_tier=True, month_h=1.0, duration_s=3600.0)
    # arm64: 200,000 x 0.0000133334 = 2.66668
    assert invoice(bill) == {"Lambda-GB-Second": (0.0, 0.0), "Lambda-GB-Second-ARM": (2.67, 2.67)}

    arm_first = {"gb_s": FreeTierPool(400_000, GBS, ["AWSLambda/Lambda-GB-Second-ARM", "AWSLambda/Lambda-GB-Second"])}
    bill = price(usage, lambda_book(arm_first), free_tier=True, month_h=1.0, duration_s=3600.0)
    # x86: 200,000 x 0.0000166667 = 3.33334
    assert invoice(bill) == {"Lambda-GB-Second": (3.33, 3.33), "Lambda-GB-Second-ARM": (0.0, 0.0)}

    # free tier off: nothing is deducted
    bill = price(usage, lambda_book(), free_tier=False, month_h=1.0, duration_s=3600.0)
    assert invoice(bill) == {"Lambda-GB-Second": (5.0, 5.0), "Lambda-GB-Second-ARM": (4.0, 4.0)}


def test_free_tier_is_a_deduction_priced_from_the_first_tier():
    """A free allowance does not push the billable usage into a cheaper tier."""
    book = PriceBook(
        services={"S": {"U": Rate("GB", [Tier(100, 1.0), Tier(None, 0.5)])}},
        free_tier={"p": FreeTierPool(50, "GB", ["S/U"])},
    )
    bill = price([Usage("S", "U", "r", D(120), "GB")], book, free_tier=True, month_h=1.0, duration_s=3600.0)
    assert invoice(bill)["U"] == (70.0, 70.0)  # 120 - 50 = 70 units, all at the first tier
    assert bill.cost_usd["unit"]["S_per_gb"] == pytest.approx(70 / 120, rel=1e-12)


def test_tiers_span_every_resource_of_a_usage_type():
    """Two functions of 4e9 GB-s each: 8e9 in the month, so 2e9 fall into the second tier."""
    usage = [gbs(4_000_000_000, "function:a"), gbs(4_000_000_000, "function:b")]
    bill = price(usage, lambda_book(), free_tier=False, month_h=1.0, duration_s=3600.0)
    assert invoice(bill)["Lambda-GB-Second"][0] == 100000.20 + 30000.00
    sim = [l for l in bill.lines if l["period"] == "simulated"]
    assert [l["unblended_cost_usd"] for l in sim] == [65000.1, 65000.1]


# --- projection, proration, rounding ------------------------------------------------


def test_projection_to_a_month_and_proration_back():
    """1 h simulated, month 730 h: usage x 730 for the month, cost / 730 for the hour."""
    usage = [gbs(100_000), req(10_000)]
    bill = price(usage, lambda_book(), free_tier=False, month_h=730.0, duration_s=3600.0)
    # month: 73,000,000 GB-s x 0.0000166667 = 1,216.6691 -> 1,216.67; the hour: 1.666669 -> 1.67
    # month: 7,300,000 requests x 0.0000002 = 1.46; the hour: 0.002 -> 0.00
    assert invoice(bill) == {"Lambda-GB-Second": (1216.67, 1.67), "Request": (1.46, 0.0)}
    assert bill.cost_usd["monthly"] == 1218.13
    assert bill.cost_usd["total"] == 1.67
    month = {l["usage_type"]: l["usage_amount"] for l in bill.lines if l["period"] == "monthly"}
    assert month == {"Lambda-GB-Second": 73_000_000.0, "Request": 7_300_000.0}
    row = next(r for r in bill.invoice if r["usage_type"] == "Lambda-GB-Second")
    assert row["usage_amount"] == 100_000.0 and row["monthly_usage_amount"] == 73_000_000.0


def test_projection_applies_the_free_tier_to_the_month():
    """1 h of 1,000 GB-s is 730,000 GB-s a month: 330,000 billable -> $5.50 a month, /730 an hour."""
    bill = price([gbs(1000)], lambda_book(), free_tier=True, month_h=730.0, duration_s=3600.0)
    # 330,000 x 0.0000166667 = 5.500011; the hour: 0.00753426... -> 0.01
    assert invoice(bill)["Lambda-GB-Second"] == (5.50, 0.01)


def test_projection_factor_is_exact_decimal():
    """Floats enter through their repr: 0.1 h is 360 s, not 360.0000000000000055..."""
    bill = price([gbs(D("0.1"))], lambda_book(), free_tier=False, month_h=0.1, duration_s=360.0)
    assert bill.effective_rate[("AWSLambda", "Lambda-GB-Second")] == D("0.0000166667")
    month = [l for l in bill.lines if l["period"] == "monthly"]
    assert month[0]["usage_amount"] == 0.1


def test_rounding_is_half_up_at_exactly_half_a_cent():
    book = PriceBook(services={"S": {"U": Rate("Units", [Tier(None, 0.005)]), "V": Rate("Units", [Tier(None, 0.025)])}})
    usage = [Usage("S", "U", "r", D(1), "Units"), Usage("S", "V", "r", D(1), "Units")]
    bill = price(usage, book, free_tier=False, month_h=1.0, duration_s=3600.0)
    # half-even would give 0.00 and 0.02
    assert invoice(bill) == {"U": (0.01, 0.01), "V": (0.03, 0.03)}
    assert bill.cost_usd["total"] == 0.04
    # just below half a cent rounds down
    bill = price([Usage("S", "U", "r", D("0.999"), "Units")], book, free_tier=False, month_h=1.0, duration_s=3600.0)
    assert bill.cost_usd["total"] == 0.0


def test_totals_are_sums_of_rounded_lines():
    """Three lines of 0.004 USD each: each rounds to 0.00, so the total is 0.00, not 0.01."""
    book = PriceBook(services={"S": {k: Rate("Units", [Tier(None, 0.004)]) for k in "ABC"}})
    usage = [Usage("S", k, "r", D(1), "Units") for k in "ABC"]
    bill = price(usage, book, free_tier=False, month_h=1.0, duration_s=3600.0)
    assert bill.cost_usd["total"] == 0.0
    assert sum(l["unblended_cost_usd"] for l in bill.lines if l["period"] == "simulated") == pytest.approx(0.012)


# --- lines, errors, series -----------------------------------------------------------


def test_lines_split_the_unrounded_cost_over_resources():
    usage = [gbs(1_000_000, "function:a"), gbs(2_000_000, "function:b"), gbs(500_000, "function:a"), req(0, "function:a")]
    bill = price(usage, lambda_book(), free_tier=True, month_h=730.0, duration_s=7200.0)
    key = ("AWSLambda", "Lambda-GB-Second")
    monthly_amount = D(3_500_000) * D(730 * 3600) / D(7200)
    monthly_cost = (monthly_amount - 400_000) * D("0.0000166667")
    assert bill.effective_rate[key] * monthly_amount == pytest.approx(monthly_cost, rel=D("1e-40"))
    rows = {(l["resource"], l["usage_type"], l["period"]): l for l in bill.lines}
    assert len(rows) == len(bill.lines) == 6  # (a, b) x GB-s + a x requests, two periods each
    assert rows[("function:a", "Lambda-GB-Second", "simulated")]["usage_amount"] == 1_500_000.0
    assert rows[("function:a", "Lambda-GB-Second", "monthly")]["usage_amount"] == float(D(1_500_000) * 365)
    m = [l["unblended_cost_usd"] for l in bill.lines if l["period"] == "monthly" and l["usage_type"] == "Lambda-GB-Second"]
    s = [l["unblended_cost_usd"] for l in bill.lines if l["period"] == "simulated" and l["usage_type"] == "Lambda-GB-Second"]
    assert sum(m) == pytest.approx(float(monthly_cost), rel=1e-14)
    assert sum(s) == pytest.approx(float(monthly_cost / 365), rel=1e-14)
    assert m[0] / m[1] == pytest.approx(1.5 / 2.0, rel=1e-14)
    # the zero-amount dimension still shows, at zero cost
    zero = rows[("function:a", "Request", "simulated")]
    assert zero["usage_amount"] == 0.0 and zero["unblended_cost_usd"] == 0.0 and zero["unit"] == "Requests"
    assert bill.cost_usd["unit"]["AWSLambda_per_million_requests"] is None
    assert {l["period"] for l in bill.lines} == {"simulated", "monthly"}
    assert set(bill.lines[0]) == {"service", "usage_type", "resource", "usage_amount", "unit", "unblended_cost_usd", "period"}


def test_missing_usage_type_raises_with_what_the_book_has():
    with pytest.raises(KeyError, match=r"AWSLambda/Lambda-Provisioned-GB-Second.*Lambda-GB-Second"):
        price([gbs(1, ut="Lambda-Provisioned-GB-Second")], lambda_book(), free_tier=False, month_h=1.0, duration_s=1.0)
    with pytest.raises(KeyError, match=r"no service 'AmazonSQS'.*AWSLambda"):
        price([Usage("AmazonSQS", "Requests-Tier1", "queue:q", D(1), "Requests")], lambda_book(), free_tier=False, month_h=1.0, duration_s=1.0)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="metered in 'GB'"):
        price([Usage("AWSLambda", "Request", "f", D(1), "GB")], lambda_book(), free_tier=False, month_h=1.0, duration_s=1.0)
    with pytest.raises(ValueError, match="negative usage"):
        Usage("AWSLambda", "Request", "f", D(-1), "Requests")
    with pytest.raises(ValueError, match="duration_s"):
        price([], lambda_book(), free_tier=False, month_h=1.0, duration_s=0.0)
    with pytest.raises(ValueError, match="upper bound"):
        tiered_cost(D(11), [Tier(10, 1.0)])
    with pytest.raises(ValueError, match="increase"):
        tiered_cost(D(1), [Tier(10, 1.0), Tier(5, 1.0), Tier(None, 1.0)])
    assert Usage("S", "U", "r", 0.1, "x").amount == D("0.1")  # floats via repr


def test_empty_usage_is_an_empty_bill():
    bill = price([], lambda_book(), free_tier=True, month_h=730.0, duration_s=3600.0)
    assert bill.lines == [] and bill.effective_rate == {}
    assert bill.cost_usd == {"total": 0.0, "monthly": 0.0, "by_service": {}, "unit": {}}


def test_cost_series_sums_to_the_simulated_cost():
    periods = [(60.0 * k, gbs(1000 * (k + 1), f"function:{k % 2}")) for k in range(10)]
    periods += [(60.0 * k, req(10_000)) for k in range(10)]
    usage = [u for _, u in periods]
    bill = price(usage, lambda_book(), free_tier=True, month_h=730.0, duration_s=600.0)
    rows = cost_series(periods, bill.effective_rate)
    assert len(rows) == 20
    assert [r["time_s"] for r in rows] == sorted(r["time_s"] for r in rows)
    unrounded = sum(l["unblended_cost_usd"] for l in bill.lines if l["period"] == "simulated")
    assert sum(r["cost_usd"] for r in rows) == pytest.approx(unrounded, rel=1e-12)
    assert abs(sum(r["cost_usd"] for r in rows) - bill.cost_usd["total"]) <= 0.005 * len(bill.invoice)
    with pytest.raises(KeyError, match="no effective rate"):
        cost_series([(0.0, gbs(1, ut="Lambda-GB-Second-ARM"))], bill.effective_rate)


# --- properties: the tier walk against a plain reference -----------------------------

# Prices k / 1e10 USD (at most 15 significant digits, so a float round-trips through repr);
# bounds are whole units; amounts have up to 6 decimals.
prices = st.integers(min_value=0, max_value=10**6).map(lambda k: k / 1e10)
amounts = st.decimals(min_value=0, max_value=10**12, places=6, allow_nan=False, allow_infinity=False)


@st.composite
def tier_lists(draw):
    bounds = sorted(set(draw(st.lists(st.integers(min_value=1, max_value=10**11), max_size=4))))
    tiers = [Tier(float(b), draw(prices)) for b in bounds]
    return tiers + [Tier(None, draw(prices))]


def reference_cost(amount: Decimal, tiers) -> Decimal:
    """Sum over tiers of price x (units of the amount inside the tier), computed exactly."""
    with localcontext() as ctx:
        ctx.prec = 200
        ctx.traps[Inexact] = True
        lows = [D(0)] + [D(repr(t.up_to)) for t in tiers[:-1]]
        highs = [D(repr(t.up_to)) for t in tiers[:-1]] + [amount]
        return sum(
            (D(repr(t.usd)) * max(D(0), min(amount, hi) - lo) for t, lo, hi in zip(tiers, lows, highs)),
            D(0),
        )


@settings(max_examples=300, deadline=None)
@given(tier_lists(), amounts, amounts)
def test_tier_walk_matches_reference_and_is_monotone(tiers, a, b):
    ca, cb = tiered_cost(a, tiers), tiered_cost(b, tiers)
    assert ca == reference_cost(a, tiers)
    assert cb == reference_cost(b, tiers)
    assert ca >= 0 and cb >= 0
    if a <= b:
        assert ca <= cb
    else:
        assert ca >= cb


@settings(max_examples=200, deadline=None)
@given(tier_lists(), st.lists(amounts, min_size=1, max_size=3), st.integers(0, 10**12), st.booleans())
def test_price_matches_reference_with_free_tier(tiers, parts, free, free_on):
    book = PriceBook(
        services={"S": {"U": Rate("Units", tiers)}},
        free_tier={"p": FreeTierPool(float(free), "Units", ["S/U"])},
    )
    usage = [Usage("S", "U", f"r{i}", a, "Units") for i, a in enumerate(parts)]
    bill = price(usage, book, free_tier=free_on, month_h=1.0, duration_s=3600.0)
    total = sum(parts, D(0))
    billable = max(D(0), total - D(free)) if free_on else total
    expected = reference_cost(billable, tiers).quantize(D("0.01"), rounding="ROUND_HALF_UP")
    assert bill.cost_usd["monthly"] == float(expected) == bill.cost_usd["total"]
    assert bill.cost_usd["monthly"] >= 0
    assert all(l["unblended_cost_usd"] >= 0 for l in bill.lines)
