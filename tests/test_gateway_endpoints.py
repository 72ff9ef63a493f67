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


# ---- interface endpoints (PrivateLink)

SQS_IP = "3.218.180.5"  # an address of SQS in us-east-1 (what sqs.us-east-1.amazonaws.com resolves to)


def to_sqs(endpoint: bool, sg_port: int = 443) -> dict:
    """The NAT month's flows sent to SQS's address from app1 (us-east-1a); with `endpoint`, an
    interface endpoint for SQS in two subnets (us-east-1a and 1b) with private DNS."""
    sc = private_egress()
    sc["flows"][0]["dst"] = f"internet:{SQS_IP}"
    if endpoint:
        vpc = sc["vpcs"]["prod"]
        vpc["subnets"]["app_b"] = {"cidr": "10.0.3.0/24", "az": "us-east-1b", "route_table": "private"}
        vpc.setdefault("security_groups", {})["vpce"] = {"inbound": [{"protocol": "tcp", "ports": sg_port,
                                                                      "cidr": "10.0.0.0/16"}]}
        vpc["interface_endpoints"] = {"sqs": {"service": "sqs", "cidrs": ["3.218.180.0/22"],
                                              "subnets": ["app_a", "app_b"], "security_groups": ["vpce"]}}
    return sc


def test_an_interface_endpoint_takes_sqs_traffic_off_the_nat_gateway():
    """A 720-hour month through the endpoint's interface in the host's own AZ: no NAT processing,
    no data out, no inter-AZ; the endpoint bills 2 AZs x 720 h x $0.01 = $14.40 and 30 x 100 x
    (1 + 1/1024) GB = 3,002.9296875 GB x $0.01 = $30.03; the NAT gateway's hours and address
    $36.00 remain: $80.43 in all."""
    r = simulate(to_sqs(True), progress=False)
    v = r.summary["vpcs"]["prod"]
    assert v["accepted"] == v["flows"] == 100 and v["rules"]["vpce:sqs"]["accepted"] == 100
    assert v["nat_gateways"]["nat_b"]["bytes_processed"] == 0 and v["bytes_out_to_internet"] == 0
    assert v["bytes_inter_az"] == 0
    got = lines(r)
    gb = Decimal(30 * 100) * (1 + Decimal(1) / 1024)
    assert got["VpcEndpoint-Hours"] == (1440.0, 14.40)
    assert got["VpcEndpoint-Bytes"] == (round(float(gb), 6), cents(gb * Decimal("0.01")))
    assert cents(sum(Decimal(str(c)) for _, c in got.values())) == 80.43


def test_the_endpoints_group_decides():
    """The endpoint's group allows only port 8443: the flows to 443 are rejected at its interface."""
    v = simulate(to_sqs(True, sg_port=8443), progress=False).summary["vpcs"]["prod"]
    assert v["rejected"] == 100
    assert v["rules"]["eni:vpce-eni:sqs:app_a:in:no-rule"]["rejected"] == 100  # (the interface in app1's AZ)


@pytest.mark.parametrize("change, where, words", [
    (lambda e: e.update(subnets=["app_a", "nowhere"]), "vpcs.prod.interface_endpoints.sqs.subnets[1]",
     "'nowhere' is not defined"),
    (lambda e: e.update(subnets=["app_b", "app_b"]), "vpcs.prod.interface_endpoints.sqs.subnets[1]",
     "one interface per Availability Zone"),
    (lambda e: e.update(cidrs=[]), "vpcs.prod.interface_endpoints.sqs.cidrs", "address blocks"),
    (lambda e: e.update(security_groups=["nope"]), "vpcs.prod.interface_endpoints.sqs.security_groups[0]",
     "'nope' is not defined"),
])
def test_interface_endpoint_mistakes_name_their_path(change, where, words):
    sc = to_sqs(True)
    change(sc["vpcs"]["prod"]["interface_endpoints"]["sqs"])
    with pytest.raises(ScenarioError) as e:
        load_scenario(sc)
    assert any(p == where and words in m for p, m in e.value.problems), e.value.problems
