"""The bill of the stateful and front-door services, priced from the books in configs/pricing/:
DynamoDB on demand and provisioned (capacity-unit-hours, storage, the always-free 25 GB, 25 WCU
and 25 RCU), API Gateway calls through their tiers and the REST cache by the hour, S3 requests,
storage and retrieval by storage class, and AWS's own S3 billing example.

Each month is worked by hand in its docstring from the rates the books cite, to the cent, and
checked against `sim.billing.price` on the real book: usage is built by hand as `Usage` records
over a whole month (`duration_s` = `month_h` hours, so the simulated period is the month), unless
a test says otherwise. Invoice lines are rounded half-up to the cent, totals are sums of lines.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from scenarios import load_region
from sim.billing import Usage, price

D = Decimal
MONTH_H = 730.0  # the scenarios' default month, as the AWS Pricing Calculator
MILLION = 1_000_000
GIB = 2**30

DDB, APIGW, S3 = "AmazonDynamoDB", "AmazonApiGateway", "AmazonS3"


@pytest.fixture(scope="module")
def us():
    return load_region("us-east-1")


@pytest.fixture(scope="module")
def eu():
    return load_region("eu-west-1")


def use(service: str, usage_type: str, amount, unit: str, resource: str = "r") -> Usage:
    return Usage(service, usage_type, resource, D(amount), unit)


def bill_of(book, usage, *, free_tier: bool, month_h: float = MONTH_H, duration_s: float | None = None):
    """The bill of `usage` metered over `duration_s` (a whole month by default)."""
    return price(usage, book, free_tier=free_tier, month_h=month_h,
                 duration_s=month_h * 3600 if duration_s is None else duration_s)


def monthly(bill) -> dict:
    """usage_type -> the invoice line's monthly cost (one service a test, so usage types are unique)."""
    lines = {r["usage_type"]: r["monthly_cost_usd"] for r in bill.invoice}
    assert len(lines) == len(bill.invoice)
    return lines


# --- DynamoDB -------------------------------------------------------------------------------


def test_dynamodb_on_demand_month(us):
    """3,000 M write request units, 9,000 M read request units and 100 GB stored all month:

    - writes: 3,000 M x $0.625 per million = $1,875.00
    - reads: 9,000 M x $0.125 per million = $1,125.00
    - storage: (100 - 25 free) GB-Mo x $0.25 = $18.75; without the free tier 100 x $0.25 = $25.00

    Total $3,018.75, or $3,025.00 without the free tier. Request units get no free allowance:
    the always-free 25 WCU and 25 RCU are provisioned capacity."""
    usage = [use(DDB, "WriteRequestUnits", 3_000 * MILLION, "WriteRequestUnits", "table:orders"),
             use(DDB, "ReadRequestUnits", 9_000 * MILLION, "ReadRequestUnits", "table:orders"),
             use(DDB, "TimedStorage-ByteHrs", 100, "GB-Mo", "table:orders")]
    bill = bill_of(us, usage, free_tier=True)
    assert monthly(bill) == {"WriteRequestUnits": 1875.00, "ReadRequestUnits": 1125.00, "TimedStorage-ByteHrs": 18.75}
    assert bill.cost_usd["monthly"] == bill.cost_usd["total"] == 3018.75
    free = {r["usage_type"]: r["free_tier_amount"] for r in bill.invoice}
    assert free == {"WriteRequestUnits": 0.0, "ReadRequestUnits": 0.0, "TimedStorage-ByteHrs": 25.0}

    bill = bill_of(us, usage, free_tier=False)
    assert monthly(bill)["TimedStorage-ByteHrs"] == 25.00
    assert bill.cost_usd["monthly"] == 3025.00


def test_dynamodb_provisioned_month(us):
    """1,000 WCU and 3,000 RCU provisioned for a 730-hour month, free tier off:

    - writes: 1,000 x 730 = 730,000 WCU-hours x $0.00065 = $474.50
    - reads: 3,000 x 730 = 2,190,000 RCU-hours x $0.00013 = $284.70

    Total $759.20. With the free tier the always-free 25 WCU and 25 RCU come off first, as
    unit-hours of the 730-hour month (25 x 730 = 18,250 of each):

    - writes: (730,000 - 18,250) = 711,750 x $0.00065 = $462.6375 -> $462.64
    - reads: (2,190,000 - 18,250) = 2,171,750 x $0.00013 = $282.3275 -> $282.33

    Total $744.97. The capacity is billed as provisioned, whatever the table serves."""
    usage = [use(DDB, "WriteCapacityUnit-Hrs", 1_000 * 730, "WriteCapacityUnit-Hrs", "table:orders"),
             use(DDB, "ReadCapacityUnit-Hrs", 3_000 * 730, "ReadCapacityUnit-Hrs", "table:orders")]
    bill = bill_of(us, usage, free_tier=False)
    assert monthly(bill) == {"WriteCapacityUnit-Hrs": 474.50, "ReadCapacityUnit-Hrs": 284.70}
    assert bill.cost_usd["monthly"] == 759.20

    bill = bill_of(us, usage, free_tier=True)
    assert monthly(bill) == {"WriteCapacityUnit-Hrs": 462.64, "ReadCapacityUnit-Hrs": 282.33}
    assert bill.cost_usd["monthly"] == 744.97
    assert {r["usage_type"]: r["free_tier_amount"] for r in bill.invoice} == \
        {"WriteCapacityUnit-Hrs": 18_250.0, "ReadCapacityUnit-Hrs": 18_250.0}


def test_dynamodb_provisioned_hour_projected_to_the_month(us):
    """The same table metered for one hour (1,000 WCU-hours, 3,000 RCU-hours) projects to the
    same month, $462.64 + $282.33 with the free tier, and that hour's share is a 730th of each
    line: $462.6375 / 730 = $0.63375 -> $0.63 and $282.3275 / 730 = $0.38675 -> $0.39."""
    usage = [use(DDB, "WriteCapacityUnit-Hrs", 1_000, "WriteCapacityUnit-Hrs"),
             use(DDB, "ReadCapacityUnit-Hrs", 3_000, "ReadCapacityUnit-Hrs")]
    bill = bill_of(us, usage, free_tier=True, duration_s=3600.0)
    assert monthly(bill) == {"WriteCapacityUnit-Hrs": 462.64, "ReadCapacityUnit-Hrs": 282.33}
    assert {r["usage_type"]: r["cost_usd"] for r in bill.invoice} == \
        {"WriteCapacityUnit-Hrs": 0.63, "ReadCapacityUnit-Hrs": 0.39}
    assert bill.cost_usd["total"] == 1.02


def test_dynamodb_free_capacity_is_shared_by_the_regions_tables(us):
    """Two tables of 20 WCU and 20 RCU each, all month: 2 x 20 x 730 = 29,200 unit-hours of each
    against one pool of 18,250: 10,950 x $0.00065 = $7.1175 -> $7.12 for writes and
    10,950 x $0.00013 = $1.4235 -> $1.42 for reads. One such table alone (14,600) pays nothing."""
    def tables(*names):
        return [use(DDB, ut, 20 * 730, ut, f"table:{n}")
                for n in names for ut in ("WriteCapacityUnit-Hrs", "ReadCapacityUnit-Hrs")]

    bill = bill_of(us, tables("a", "b"), free_tier=True)
    assert monthly(bill) == {"WriteCapacityUnit-Hrs": 7.12, "ReadCapacityUnit-Hrs": 1.42}
    assert bill_of(us, tables("a"), free_tier=True).cost_usd["monthly"] == 0.0


def test_dynamodb_provisioned_month_in_ireland(eu):
    """The 1,000 WCU / 3,000 RCU month in eu-west-1 ($0.000735 per WCU-hour, $0.000147 per
    RCU-hour): 730,000 x $0.000735 = $536.55 and 2,190,000 x $0.000147 = $321.93, $858.48; with
    the free tier 711,750 x $0.000735 = $523.13625 -> $523.14 and 2,171,750 x $0.000147 =
    $319.24725 -> $319.25, $842.39."""
    usage = [use(DDB, "WriteCapacityUnit-Hrs", 730_000, "WriteCapacityUnit-Hrs"),
             use(DDB, "ReadCapacityUnit-Hrs", 2_190_000, "ReadCapacityUnit-Hrs")]
    assert monthly(bill_of(eu, usage, free_tier=False)) == {"WriteCapacityUnit-Hrs": 536.55, "ReadCapacityUnit-Hrs": 321.93}
    bill = bill_of(eu, usage, free_tier=True)
    assert monthly(bill) == {"WriteCapacityUnit-Hrs": 523.14, "ReadCapacityUnit-Hrs": 319.25}
    assert bill.cost_usd["monthly"] == 842.39


# --- API Gateway ----------------------------------------------------------------------------


def test_api_gateway_month(us):
    """1,000 M REST API calls, a 0.5 GB REST cache all month and 400 M HTTP API calls:

    - REST: 333 M x $3.50 + 667 M x $2.80 = $1,165.50 + $1,867.60 = $3,033.10
    - cache: 730 h x $0.02 = $14.60 (not in the free tier: the same with it on)
    - HTTP: 300 M x $1.00 + 100 M x $0.90 = $300.00 + $90.00 = $390.00

    Total $3,437.70."""
    usage = [use(APIGW, "ApiGatewayRequest", 1_000 * MILLION, "Requests", "api:shop"),
             use(APIGW, "ApiGatewayCacheUsage:0.5GB", 730, "Hrs", "api:shop/prod"),
             use(APIGW, "ApiGatewayHttpRequest", 400 * MILLION, "Requests", "api:events")]
    for free_tier in (False, True):
        bill = bill_of(us, usage, free_tier=free_tier)
        assert monthly(bill) == {"ApiGatewayRequest": 3033.10, "ApiGatewayCacheUsage:0.5GB": 14.60,
                                 "ApiGatewayHttpRequest": 390.00}
        assert bill.cost_usd["monthly"] == 3437.70


@pytest.mark.parametrize("size, month_usd", [
    ("0.5GB", 14.60),    # 730 x $0.02
    ("1.6GB", 27.74),    # 730 x $0.038
    ("6.1GB", 146.00),   # 730 x $0.20
    ("13.5GB", 182.50),  # 730 x $0.25
    ("28.4GB", 365.00),  # 730 x $0.50
    ("58.2GB", 730.00),  # 730 x $1.00
    ("118GB", 1387.00),  # 730 x $1.90
    ("237GB", 2774.00),  # 730 x $3.80, as infracost's us-east-1 test
])
def test_api_gateway_cache_month_by_size(us, size, month_usd):
    bill = bill_of(us, [use(APIGW, f"ApiGatewayCacheUsage:{size}", 730, "Hrs")], free_tier=True)
    assert bill.cost_usd["monthly"] == month_usd


def test_api_gateway_caches_of_two_stages_are_billed_each(us):
    """Two stages with a 0.5 GB cache each, all month: 2 x 730 h x $0.02 = $29.20, split half
    and half between the stages."""
    usage = [use(APIGW, "ApiGatewayCacheUsage:0.5GB", 730, "Hrs", f"api:shop/{stage}") for stage in ("prod", "beta")]
    bill = bill_of(us, usage, free_tier=False)
    assert bill.cost_usd["monthly"] == 29.20
    assert [l["unblended_cost_usd"] for l in bill.lines if l["period"] == "monthly"] == pytest.approx([14.60, 14.60])


# --- S3 -------------------------------------------------------------------------------------


def test_s3_standard_month(us):
    """10 M PUTs, 100 M GETs and 500 GB in S3 Standard all month:

    - PUT (Tier1): 10,000 thousand x $0.005 = $50.00
    - GET (Tier2): 100,000 thousand x $0.0004 = $40.00
    - storage: 500 GB-Mo x $0.023 = $11.50

    Total $101.50 (data out to the internet is AWSDataTransfer's line, not S3's)."""
    usage = [use(S3, "Requests-Tier1", 10 * MILLION, "Requests", "bucket:media"),
             use(S3, "Requests-Tier2", 100 * MILLION, "Requests", "bucket:media"),
             use(S3, "TimedStorage-ByteHrs", 500, "GB-Mo", "bucket:media")]
    bill = bill_of(us, usage, free_tier=True)
    assert monthly(bill) == {"Requests-Tier1": 50.00, "Requests-Tier2": 40.00, "TimedStorage-ByteHrs": 11.50}
    assert bill.cost_usd["monthly"] == 101.50


def test_s3_standard_storage_through_its_three_tiers(us):
    """600 TB (614,400 GB-Mo) in S3 Standard: 51,200 x $0.023 + 460,800 x $0.022 + 102,400 x $0.021
    = $1,177.60 + $10,137.60 + $2,150.40 = $13,465.60; tiers span all of the Region's buckets."""
    usage = [use(S3, "TimedStorage-ByteHrs", 300 * 1024, "GB-Mo", f"bucket:{b}") for b in ("a", "b")]
    assert bill_of(us, usage, free_tier=False).cost_usd["monthly"] == 13465.60


def test_s3_infrequent_access_classes_month(us):
    """A month of Standard-IA and Glacier Instant Retrieval:

    - Standard-IA: 1,000 GB-Mo x $0.0125 = $12.50; 1 M PUTs x $0.01 per 1,000 = $10.00;
      10 M GETs x $0.001 per 1,000 = $10.00; 200 GB read x $0.01 = $2.00
    - Glacier IR: 10,000 GB-Mo x $0.004 = $40.00; 100,000 PUTs x $0.02 per 1,000 = $2.00;
      1 M GETs x $0.01 per 1,000 = $10.00; 50 GB read x $0.03 = $1.50

    Total $34.50 + $53.50 = $88.00."""
    usage = [use(S3, "TimedStorage-SIA-ByteHrs", 1_000, "GB-Mo"),
             use(S3, "Requests-SIA-Tier1", MILLION, "Requests"),
             use(S3, "Requests-SIA-Tier2", 10 * MILLION, "Requests"),
             use(S3, "Retrieval-SIA", 200, "GB"),
             use(S3, "TimedStorage-GIR-ByteHrs", 10_000, "GB-Mo"),
             use(S3, "Requests-GIR-Tier1", 100_000, "Requests"),
             use(S3, "Requests-GIR-Tier2", MILLION, "Requests"),
             use(S3, "Retrieval-GIR", 50, "GB")]
    bill = bill_of(us, usage, free_tier=True)
    assert monthly(bill) == {
        "TimedStorage-SIA-ByteHrs": 12.50, "Requests-SIA-Tier1": 10.00, "Requests-SIA-Tier2": 10.00,
        "Retrieval-SIA": 2.00, "TimedStorage-GIR-ByteHrs": 40.00, "Requests-GIR-Tier1": 2.00,
        "Requests-GIR-Tier2": 10.00, "Retrieval-GIR": 1.50}
    assert bill.cost_usd["monthly"] == 88.00


def test_awss_s3_billing_examples(us):
    """AWS's examples in the S3 FAQ ("How will I be charged and billed for my use of Amazon S3?",
    aws.amazon.com/s3/faqs), for a bucket in US East (N. Virginia) in March (31 days, 744 hours):

    - storage: 100 GB (107,374,182,400 bytes) for 15 days, then 100 TB (109,951,162,777,600 bytes)
      for the last 16: 42,259,901,212,262,400 byte-hours / 1,073,741,824 bytes per GB / 744 hours
      = 52,900 GB-Months; 51,200 GB x $0.023 = $1,177.60 and 1,700 GB x $0.022 = $37.40, $1,215.00
    - requests: 10,000 PUTs and 20,000 GETs a day: 310,000 x $0.005 / 1,000 = $1.55 and
      620,000 x $0.004 / 10,000 = $0.248 -> $0.25; the 5,000 DELETEs are free (not metered)
    - retrieval: 300 GB read from Standard-IA x $0.01 = $3.00"""
    byte_hours = 107_374_182_400 * 15 * 24 + 109_951_162_777_600 * 16 * 24
    assert byte_hours == 42_259_901_212_262_400
    gb_months = D(byte_hours) / GIB / 744
    assert gb_months == 52_900
    usage = [use(S3, "TimedStorage-ByteHrs", gb_months, "GB-Mo"),
             use(S3, "Requests-Tier1", 10_000 * 31, "Requests"),
             use(S3, "Requests-Tier2", 20_000 * 31, "Requests"),
             use(S3, "Retrieval-SIA", 300, "GB")]
    bill = bill_of(us, usage, free_tier=False, month_h=744.0)
    assert monthly(bill) == {"TimedStorage-ByteHrs": 1215.00, "Requests-Tier1": 1.55, "Requests-Tier2": 0.25,
                             "Retrieval-SIA": 3.00}
