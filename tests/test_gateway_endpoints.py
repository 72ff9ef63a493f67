"""Gateway endpoints for S3 and DynamoDB: traffic to the service leaves by the endpoint, not the
NAT gateway, and costs nothing; worked by hand against tests/test_network_bill.py's NAT month."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scenarios.errors import ScenarioError
from scenarios.load import load_scenario
from sim import simulate
from test_billing import cents, lines
from test_network_bill import private_egress

S3_IP = "52.216.10.20"  # in 52.216.0.0/15, a block of S3's us-east-1 prefix list


def to_s3(endpoint: bool) -> dict:
    """The NAT month (100 flows a day of 1 GiB up, 1 MiB back) sent to S3's address; with
    `endpoint`, the private route table sends S3's block to a gateway endpoint."""
    sc = private_egress()
    sc["flows"][0]["dst"] = f"internet:{S3_IP}"
    if endpoint:
        vpc = sc["vpcs"]["prod"]
        vpc["gateway_endpoints"] = {"s3ep": {"service": "s3", "cidrs": ["52.216.0.0/15"]}}
        vpc["route_tables"]["private"]["routes"].append({"destination": "52.216.0.0/15", "target": "vpce:s3ep"})
    return sc


def test_without_an_endpoint_s3_traffic_pays_the_nat_gateway():
    got = lines(simulate(to_s3(False), progress=False))
    assert cents(sum(Decimal(str(c)) for _, c in got.values())) == 441.13  # (as test_a_nat_gateway_month_to_the_cent)


def test_a_gateway_endpoint_takes_s3_traffic_off_the_nat_gateway():
    """The same month with the endpoint: the flows are delivered by it, the NAT gateway
    processes nothing and nothing leaves for the internet; only the gateway's hours and its
    address remain: 720 h x $0.045 + 720 h x $0.005 = $36.00 (the endpoint is free)."""
    r = simulate(to_s3(True), progress=False)
    v = r.summary["vpcs"]["prod"]
    assert v["accepted"] == v["flows"] == 100
    assert v["rules"]["vpce:s3ep"]["accepted"] == 100
    assert v["nat_gateways"]["nat_b"]["bytes_processed"] == 0 and v["bytes_out_to_internet"] == 0
    got = lines(r)
    assert "NatGateway-Bytes" not in got or got["NatGateway-Bytes"][0] == 0
    assert "DataTransfer-Out-Bytes" not in got
    assert cents(sum(Decimal(str(c)) for _, c in got.values())) == 36.00


def test_an_address_outside_the_endpoints_blocks_is_not_delivered():
    sc = to_s3(True)
    sc["vpcs"]["prod"]["route_tables"]["private"]["routes"][-1]["destination"] = "52.0.0.0/8"
    sc["flows"][0]["dst"] = "internet:52.10.0.1"
    v = simulate(sc, progress=False).summary["vpcs"]["prod"]
    assert v["rejected"] == 100 and v["rules"]["vpce:s3ep"]["rejected"] == 100


@pytest.mark.parametrize("change, where, words", [
    (lambda v: v["gateway_endpoints"]["s3ep"].update(service="sqs"), "vpcs.prod.gateway_endpoints.s3ep.service",
     "has no gateway endpoint"),
    (lambda v: v["gateway_endpoints"]["s3ep"].update(cidrs=[]), "vpcs.prod.gateway_endpoints.s3ep.cidrs",
     "address blocks"),
    (lambda v: v["route_tables"]["private"]["routes"][-1].update(target="vpce:nope"),
     "vpcs.prod.route_tables.private.routes[2].target", "gateway endpoint of this VPC 'nope'"),
])
def test_mistakes_name_their_path(change, where, words):
    sc = to_s3(True)
    change(sc["vpcs"]["prod"])
    with pytest.raises(ScenarioError) as e:
        load_scenario(sc)
    assert any(p == where and words in m for p, m in e.value.problems), e.value.problems
