"""The price books in configs/pricing/: they load, agree with docs/FACTS.md, and every class of mistake has a clear message."""

from __future__ import annotations

import copy
import re
from decimal import Decimal

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from scenarios import (
    PriceBook,
    ScenarioError,
    available_regions,
    load_price_book,
    load_region,
    price_book_path,
)
from scenarios.pricing_load import PRICING_DIR, ROOT

REGIONS = ("us-east-1", "eu-west-1")


def usd(book, service, usage_type, tier=0):
    """A tier's price as the billing engine reads it: Decimal(str(x))."""
    return Decimal(str(book.services[service][usage_type].tiers[tier].usd))


def up_to(book, service, usage_type):
    return [t.up_to for t in book.services[service][usage_type].tiers]


def base():
    """A small valid book, as plain data."""
    return {
        "region": "us-east-1",
        "currency": "USD",
        "services": {
            "AWSLambda": {
                "Request": {"unit": "Requests", "tiers": [{"up_to": None, "usd": 0.0000002}]},
                "Lambda-GB-Second": {
                    "unit": "GB-Seconds",
                    "tiers": [
                        {"up_to": 6e9, "usd": 0.0000166667},
                        {"up_to": 1.5e10, "usd": 0.000015},
                        {"up_to": None, "usd": 0.0000133334},
                    ],
                },
            },
        },
        "free_tier": {
            "lambda_requests": {"amount": 1000000, "unit": "Requests", "applies_to": ["AWSLambda/Request"]},
        },
    }


def changed(edit):
    data = base()
    edit(data)
    return data


def problems(data, **kw):
    with pytest.raises(ScenarioError) as info:
        load_price_book(data, **kw)
    return info.value.problems


def only(data, **kw):
    """The single problem a book has, as 'path: message'."""
    found = problems(data, **kw)
    assert len(found) == 1, found
    return f"{found[0][0]}: {found[0][1]}"


LAMBDA = "pricing.services.AWSLambda"


# --- the books ---------------------------------------------------------------------------


def test_both_books_load_and_name_their_region():
    assert set(REGIONS) <= set(available_regions())
    for region in REGIONS:
        book = load_region(region)
        assert isinstance(book, PriceBook)
        assert (book.region, book.currency) == (region, "USD")
        assert price_book_path(region) == ROOT / "configs" / "pricing" / f"{region}.yaml"


def test_every_usage_type_of_us_east_1_is_in_eu_west_1_with_the_same_unit():
    us, eu = load_region("us-east-1"), load_region("eu-west-1")
    assert set(us.services) == set(eu.services)
    for service, rates in us.services.items():
        assert set(rates) == set(eu.services[service]), service
        for usage_type, rate in rates.items():
            assert eu.services[service][usage_type].unit == rate.unit, (service, usage_type)
    assert {n: (p.unit, p.applies_to) for n, p in us.free_tier.items()} == \
        {n: (p.unit, p.applies_to) for n, p in eu.free_tier.items()}


def test_lambda_matches_facts():
    book = load_region("us-east-1")
    assert usd(book, "AWSLambda", "Request") == Decimal("0.0000002")
    assert usd(book, "AWSLambda", "Request-ARM") == Decimal("0.0000002")
    assert [usd(book, "AWSLambda", "Lambda-GB-Second", i) for i in range(3)] == \
        [Decimal("0.0000166667"), Decimal("0.000015"), Decimal("0.0000133334")]
    assert up_to(book, "AWSLambda", "Lambda-GB-Second") == [6e9, 1.5e10, None]
    assert [usd(book, "AWSLambda", "Lambda-GB-Second-ARM", i) for i in range(3)] == \
        [Decimal("0.0000133334"), Decimal("0.0000120001"), Decimal("0.0000106667")]
    assert up_to(book, "AWSLambda", "Lambda-GB-Second-ARM") == [7.5e9, 1.875e10, None]
    assert usd(book, "AWSLambda", "Lambda-Provisioned-Concurrency") == Decimal("0.0000041667")
    assert usd(book, "AWSLambda", "Lambda-Provisioned-GB-Second") == Decimal("0.0000097222")
    assert usd(book, "AWSLambda", "Lambda-Storage-GB-Second") == Decimal("0.0000000309")
    assert (book.free_tier["lambda_requests"].amount, book.free_tier["lambda_compute"].amount) == (1e6, 4e5)


def test_lambda_pricing_page_worked_examples():
    """docs/FACTS.md worked examples 1 and 2 from the book's rates (line items rounded to cents)."""
    book = load_region("us-east-1")
    request, gb_s = usd(book, "AWSLambda", "Request"), usd(book, "AWSLambda", "Lambda-GB-Second")
    cents = Decimal("0.01")
    # 1: 3 M requests, 120 ms, 1536 MB, free tier applied.
    free_gb_s = Decimal(str(book.free_tier["lambda_compute"].amount))
    free_requests = Decimal(str(book.free_tier["lambda_requests"].amount))
    compute = ((Decimal(3_000_000) * Decimal("0.120") * Decimal("1.5") - free_gb_s) * gb_s).quantize(cents)
    requests = ((Decimal(3_000_000) - free_requests) * request).quantize(cents)
    assert (compute, requests) == (Decimal("2.33"), Decimal("0.40"))
    # 2: 7,440,000 requests, 2 s, 1024 MB, no free tier.
    assert (Decimal(7_440_000) * request).quantize(cents) == Decimal("1.49")
    assert (Decimal(14_880_000) * gb_s).quantize(cents) == Decimal("248.00")


def test_other_facts_figures():
    book = load_region("us-east-1")
    assert usd(book, "AmazonSQS", "Requests-Tier1") == Decimal("0.0000004")
    assert usd(book, "AmazonSQS", "Requests-FIFO-Tier1") == Decimal("0.0000005")
    assert usd(book, "AmazonSNS", "DeliveryAttempts-HTTP") == Decimal("0.0000006")
    assert usd(book, "AmazonVPC", "NatGateway-Hours") == Decimal("0.045")
    assert usd(book, "AWSDirectConnect", "PortUsage-400G-Dedicated") == Decimal("85")
    assert usd(book, "AmazonApiGateway", "ApiGatewayRequest") == Decimal("0.0000035")
    assert up_to(book, "AWSDataTransfer", "DataTransfer-Out-Bytes") == [10240, 51200, 153600, None]
    assert [usd(book, "AWSDataTransfer", "DataTransfer-Out-Bytes", i) for i in range(4)] == \
        [Decimal("0.09"), Decimal("0.085"), Decimal("0.07"), Decimal("0.05")]
    # DynamoDB "prices", API Gateway "cache (REST)", S3 "prices"
    assert [usd(book, "AmazonDynamoDB", ut) for ut in ("WriteCapacityUnit-Hrs", "ReadCapacityUnit-Hrs", "TimedStorage-ByteHrs")] \
        == [Decimal("0.00065"), Decimal("0.00013"), Decimal("0.25")]
    assert book.free_tier["dynamodb_storage"].amount == 25
    assert [usd(book, "AmazonApiGateway", f"ApiGatewayCacheUsage:{gb}GB") for gb in ("0.5", "1.6")] == \
        [Decimal("0.02"), Decimal("0.038")]
    assert [usd(book, "AmazonS3", ut) for ut in ("Requests-Tier1", "Requests-Tier2", "TimedStorage-ByteHrs")] == \
        [Decimal("0.000005"), Decimal("0.0000004"), Decimal("0.023")]


@pytest.mark.parametrize("region", REGIONS)
def test_every_price_line_names_its_source_and_status(region):
    """configs/pricing/: every number with its source — each `usd:` line ends in a comment with a status."""
    status = re.compile(r"#.*\((?:V|S|M)(?:/(?:V|S|M))?\)")
    lines = price_book_path(region).read_text().splitlines()
    unsourced = [n for n, line in enumerate(lines, 1) if "usd:" in line and not status.search(line)]
    assert unsourced == []


@pytest.mark.parametrize("region", REGIONS)
def test_yaml_1_1_and_omegaconf_read_the_same_numbers(region):
    """No `6e9`-style literals that PyYAML would read as strings."""
    path = price_book_path(region)
    assert yaml.safe_load(path.read_text()) == OmegaConf.to_container(OmegaConf.load(path))


def test_hydra_composes_the_pricing_group():
    """configs/config.yaml lists `pricing: null`; `pricing=REGION` picks a book, which lands at `cfg.pricing`."""
    from scenarios.store import register

    register()  # scenario files start from the typed schema, as in the CLI
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
            cfg = compose("config", overrides=["pricing=eu-west-1"])
    finally:
        GlobalHydra.instance().clear()
    book = load_price_book(cfg.pricing)
    assert book == load_region("eu-west-1")


def test_inputs_dict_dictconfig_pricebook_and_path_agree(tmp_path):
    book = load_price_book(base())
    assert load_price_book(OmegaConf.create(base())) == book
    assert load_price_book(book) == book
    path = tmp_path / "book.yaml"
    path.write_text(yaml.safe_dump(base()))
    assert load_price_book(path) == book
    assert load_price_book(str(path)) == book


# --- mistakes ----------------------------------------------------------------------------


def test_missing_region():
    with pytest.raises(ScenarioError) as info:
        load_region("xx-yyy-1")
    assert str(info.value) == "region: no price book for 'xx-yyy-1'; available: " + ", ".join(available_regions())


def test_misspelt_region_suggests_the_close_one():
    with pytest.raises(ScenarioError) as info:
        load_region("us-east1")
    assert str(info.value).endswith("(did you mean 'us-east-1'?)")


def test_missing_file(tmp_path):
    assert only(tmp_path / "nope.yaml") == f"pricing: price book file {str(tmp_path / 'nope.yaml')!r} does not exist"


def test_not_a_mapping():
    assert only([1, 2]) == "pricing: expected a price book mapping, a DictConfig, a PriceBook or a YAML file path; got a list"


def test_unknown_key_suggests_the_close_one():
    def edit(d):
        d["services"]["AWSLambda"]["Request"]["tier"] = d["services"]["AWSLambda"]["Request"].pop("tiers")

    found = problems(changed(edit))
    assert f"{LAMBDA}.Request.tier: unknown key 'tier' (did you mean 'tiers'?); allowed keys: unit, tiers, description" \
        in [f"{p}: {m}" for p, m in found]


def test_unknown_top_level_key():
    assert only(changed(lambda d: d.update(free_tiers={}))) == \
        "pricing.free_tiers: unknown key 'free_tiers' (did you mean 'free_tier'?);" \
        " allowed keys: region, currency, services, free_tier"


def test_price_as_a_string():
    def edit(d):
        d["services"]["AWSLambda"]["Request"]["tiers"][0]["usd"] = "0.0000002"

    assert only(changed(edit)) == \
        f"{LAMBDA}.Request.tiers[0].usd: expected a number, got the string '0.0000002' (write numbers without quotes)"


def test_tiers_not_a_list():
    def edit(d):
        d["services"]["AWSLambda"]["Request"]["tiers"] = {"up_to": None, "usd": 0.0000002}

    assert only(changed(edit)) == f"{LAMBDA}.Request.tiers: expected a list, got a mapping"


def test_service_not_a_mapping():
    assert only(changed(lambda d: d["services"].update(AmazonSQS=[1]))) == \
        "pricing.services.AmazonSQS: expected a mapping, got a list"


def test_negative_price():
    def edit(d):
        d["services"]["AWSLambda"]["Lambda-GB-Second"]["tiers"][1]["usd"] = -0.000015

    assert only(changed(edit)) == f"{LAMBDA}.Lambda-GB-Second.tiers[1].usd: -0.000015 must not be negative"


def test_missing_price_is_not_free():
    def edit(d):
        del d["services"]["AWSLambda"]["Request"]["tiers"][0]["usd"]

    assert only(changed(edit)) == f"{LAMBDA}.Request.tiers[0].usd: missing; write the price of one unit in USD"


def test_missing_up_to():
    def edit(d):
        del d["services"]["AWSLambda"]["Request"]["tiers"][0]["up_to"]

    assert only(changed(edit)) == (f"{LAMBDA}.Request.tiers[0].up_to: missing; write the cumulative monthly amount"
                                   " where this tier ends (null for the last, open tier)")


def test_empty_tiers():
    assert only(changed(lambda d: d["services"]["AWSLambda"]["Request"].update(tiers=[]))) == \
        f"{LAMBDA}.Request.tiers: must list at least one tier, such as [{{up_to: null, usd: 0.0000002}}]"


def test_tiers_must_increase_strictly():
    def edit(d):
        d["services"]["AWSLambda"]["Lambda-GB-Second"]["tiers"][1]["up_to"] = 5e9

    assert only(changed(edit)) == f"{LAMBDA}.Lambda-GB-Second.tiers[1].up_to: 5e9 is not above the previous tier's 6e9"


def test_equal_boundaries_are_not_increasing():
    def edit(d):
        d["services"]["AWSLambda"]["Lambda-GB-Second"]["tiers"][1]["up_to"] = 6e9

    assert only(changed(edit)) == f"{LAMBDA}.Lambda-GB-Second.tiers[1].up_to: 6e9 is not above the previous tier's 6e9"


def test_only_the_last_tier_may_be_open():
    def edit(d):
        d["services"]["AWSLambda"]["Lambda-GB-Second"]["tiers"][0]["up_to"] = None

    assert only(changed(edit)) == \
        f"{LAMBDA}.Lambda-GB-Second.tiers[0].up_to: only the last tier may be open (null); this is tier 1 of 3"


def test_the_last_tier_must_be_open():
    def edit(d):
        d["services"]["AWSLambda"]["Request"]["tiers"][0]["up_to"] = 1e9

    assert only(changed(edit)) == (f"{LAMBDA}.Request.tiers[0].up_to: the last tier must be open (up_to: null),"
                                   " or usage above 1e9 would have no price")


def test_tier_bound_must_be_positive():
    def edit(d):
        d["services"]["AWSLambda"]["Lambda-GB-Second"]["tiers"][0]["up_to"] = 0

    assert only(changed(edit)) == f"{LAMBDA}.Lambda-GB-Second.tiers[0].up_to: 0 must be greater than 0"


def test_empty_unit():
    assert only(changed(lambda d: d["services"]["AWSLambda"]["Request"].update(unit=""))) == \
        f"{LAMBDA}.Request.unit: must not be empty; name what the meter counts, such as Requests, GB-Seconds, GB or Hrs"


def test_free_tier_names_an_unknown_usage_type():
    def edit(d):
        d["free_tier"]["lambda_requests"]["applies_to"] = ["AWSLambda/Request", "AWSLambda/Requests"]

    assert only(changed(edit)) == ("pricing.free_tier.lambda_requests.applies_to[1]: 'AWSLambda/Requests'"
                                   " is not a usage type in this book (did you mean 'AWSLambda/Request'?)")


def test_free_tier_reference_without_service():
    def edit(d):
        d["free_tier"]["lambda_requests"]["applies_to"] = ["Request"]

    assert only(changed(edit)) == ("pricing.free_tier.lambda_requests.applies_to[0]: 'Request' must be written"
                                   " SERVICE/USAGE_TYPE, such as 'AWSLambda/Request' (did you mean 'AWSLambda/Request'?)")


def test_free_tier_unit_must_match():
    def edit(d):
        d["free_tier"]["lambda_requests"]["applies_to"] = ["AWSLambda/Lambda-GB-Second"]

    assert only(changed(edit)) == ("pricing.free_tier.lambda_requests.applies_to[0]: AWSLambda/Lambda-GB-Second"
                                   " is counted in GB-Seconds, but this pool in Requests")


def test_free_tier_covers_something():
    assert only(changed(lambda d: d["free_tier"]["lambda_requests"].update(applies_to=[]))) == \
        ("pricing.free_tier.lambda_requests.applies_to: must name at least one usage type as SERVICE/USAGE_TYPE,"
         " such as AWSLambda/Request")


def test_negative_free_amount():
    assert only(changed(lambda d: d["free_tier"]["lambda_requests"].update(amount=-1))) == \
        "pricing.free_tier.lambda_requests.amount: -1 must not be negative"


def test_currency_must_be_usd():
    assert only(changed(lambda d: d.update(currency="EUR"))) == \
        "pricing.currency: 'EUR' is not a valid currency; allowed: USD (AWS list prices are in USD)"
    assert only(changed(lambda d: d.update(currency="usd"))) == "pricing.currency: 'usd' must be written 'USD'"


def test_region_code():
    assert only(changed(lambda d: d.update(region="Ireland"))) == \
        "pricing.region: 'Ireland' does not look like an AWS Region code such as us-east-1"


def test_a_book_needs_rates():
    assert only(changed(lambda d: d.update(services={}, free_tier={}))) == \
        "pricing.services: the book has no rates; list them as SERVICE: {USAGE_TYPE: {unit, tiers}}"


def test_all_problems_in_one_pass_in_document_order():
    def edit(d):
        d["free_tier"]["lambda_requests"]["amount"] = -1
        d["currency"] = "EUR"
        d["services"]["AWSLambda"]["Lambda-GB-Second"]["tiers"][2]["usd"] = -1

    assert [p for p, _ in problems(changed(edit))] == [
        "pricing.currency",
        f"{LAMBDA}.Lambda-GB-Second.tiers[2].usd",
        "pricing.free_tier.lambda_requests.amount",
    ]


def test_path_prefix():
    data = changed(lambda d: d.update(currency="EUR"))
    assert problems(data, path_prefix="")[0][0] == "currency"
    assert problems(data, path_prefix="scenario.pricing")[0][0] == "scenario.pricing.currency"


def test_a_book_whose_region_is_not_its_file_name(monkeypatch, tmp_path):
    (tmp_path / "eu-west-1.yaml").write_text(yaml.safe_dump(base()))
    monkeypatch.setattr("scenarios.pricing_load.PRICING_DIR", tmp_path)
    with pytest.raises(ScenarioError) as info:
        load_region("eu-west-1")
    assert str(info.value) == ("pricing.region: 'us-east-1' does not match the file eu-west-1.yaml;"
                               " a book's region must be its file name")


def test_books_directory_is_under_the_repository():
    assert PRICING_DIR == ROOT / "configs" / "pricing"
    assert (ROOT / "pyproject.toml").is_file()


def test_input_is_not_modified():
    data = base()
    before = copy.deepcopy(data)
    load_price_book(data)
    assert data == before
