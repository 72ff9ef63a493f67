"""The network's bill through whole runs: NAT gateway hours and GB processed, its Elastic IP,
data out to the internet, inter-AZ transfer, transit gateway attachments and GB, VPN
connection-hours. Every expected figure is worked out here by hand from AWS's published rates
(FACTS "NAT gateway price", "Transit Gateway", "data transfer"; configs/pricing/us-east-1.yaml),
not read back from the code under test. GB are 2^30 bytes, as AWS bills them.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from sim import simulate
from test_billing import cents, lines

GIB = 2**30
MIB = 2**20
DAY_S = 86_400


def private_egress(*, nat_az="us-east-1a", month_h=720.0, duration_s=DAY_S, flows_per_run=100, size=GIB,
                   response=MIB) -> dict:
    """A host in a private subnet (us-east-1a) sending `flows_per_run` flows of `size` bytes (answered
    with `response` bytes) to an internet address through a public NAT gateway in `nat_az`."""
    return {
        "name": "nat_month", "duration_s": duration_s, "seed": 3,
        "billing": {"month_h": month_h},
        "record": {"period_s": 3600},
        "vpcs": {"prod": {
            "cidr": "10.0.0.0/16", "internet_gateway": True, "main_route_table": "main",
            "subnets": {"public_b": {"cidr": "10.0.1.0/24", "az": nat_az},
                        "app_a": {"cidr": "10.0.2.0/24", "az": "us-east-1a", "route_table": "private"}},
            "route_tables": {
                "main": {"routes": [{"destination": "10.0.0.0/16", "target": "local"},
                                    {"destination": "0.0.0.0/0", "target": "igw"}]},
                "private": {"routes": [{"destination": "10.0.0.0/16", "target": "local"},
                                       {"destination": "0.0.0.0/0", "target": "nat:nat_b"}]}},
            "nat_gateways": {"nat_b": {"subnet": "public_b", "elastic_ip": "52.0.0.10"}},
            "hosts": {"app1": {"subnet": "app_a", "private_ip": "10.0.2.10"}},
        }},
        "flows": [{"name": "uploads", "src": "app1", "dst": "internet:203.0.113.7", "protocol": "tcp",
                   "dst_ports": [{"port": 443}], "count": flows_per_run, "starts": "uniform",
                   "size_bytes": {"dist": "fixed", "value": size},
                   "response_bytes": {"dist": "fixed", "value": response}}],
    }


def test_a_nat_gateway_month_to_the_cent():
    """A day projected to a 30-day month (720 h): 100 flows a day of 1 GiB out and 1 MiB back.

    - NAT gateway: 720 h x $0.045 = $32.40.
    - Its Elastic IP: 720 h x $0.005 = $3.60.
    - Processed, both directions: 30 x 100 x (1 + 1/1024) GB = 3,002.9296875 GB x $0.045 = $135.13.
    - Out to the internet (the requests; the answers come in free): 3,000 GB x $0.09 = $270.00.
    Total $441.13."""
    r = simulate(private_egress())
    got = lines(r)
    gb = Decimal(30 * 100) * (1 + Decimal(1) / 1024)
    assert got["NatGateway-Hours"] == (720.0, cents(720 * Decimal("0.045")))
    assert got["PublicIPv4:InUseAddress"] == (720.0, cents(720 * Decimal("0.005")))
    assert got["NatGateway-Bytes"] == (round(float(gb), 6), cents(gb * Decimal("0.045")))
    assert got["DataTransfer-Out-Bytes"] == (3000.0, cents(3000 * Decimal("0.09")))
    assert "DataTransfer-Regional-Bytes" not in got or got["DataTransfer-Regional-Bytes"][0] == 0
    assert cents(sum(Decimal(str(c)) for _, c in got.values())) == 441.13
    v = r.summary["vpcs"]["prod"]
    assert v["nat_gateways"]["nat_b"]["bytes_processed"] == 100 * (GIB + MIB)
    assert v["bytes_out_to_internet"] == 100 * GIB
    assert v["bytes_inter_az"] == 0


def test_a_nat_gateway_in_another_az_adds_inter_az_transfer_both_ways():
    """The same month with the NAT gateway in us-east-1b: every byte between the host and the NAT
    crosses AZs and pays $0.01 out of one and $0.01 into the other:
    2 x 3,002.9296875 GB x $0.01 = $60.06 more."""
    got = lines(simulate(private_egress(nat_az="us-east-1b")))
    gb = 2 * Decimal(30 * 100) * (1 + Decimal(1) / 1024)
    assert got["DataTransfer-Regional-Bytes"] == (round(float(gb), 6), cents(gb * Decimal("0.01")))
    assert cents(sum(Decimal(str(c)) for _, c in got.values())) == cents(Decimal("441.13") + Decimal("60.06"))


def test_awss_nat_gateway_example_one_hour_one_gb():
    """AWS's VPC pricing example: a NAT gateway for an hour, 1 GB processed: $0.045 + $0.045
    (here the GB goes to the internet, so $0.09 of data out too, on the bytes sent: 1 GiB - 40 B,
    and the Elastic IP's hour, $0.005)."""
    sc = private_egress(month_h=1.0, duration_s=3600, flows_per_run=1, size=GIB - 40, response=40)
    got = exact(simulate(sc))
    out_gb = (GIB - 40) / Decimal(GIB)
    assert got["NatGateway-Hours"] == (1, Decimal("0.045"))
    assert got["NatGateway-Bytes"] == (1, Decimal("0.045"))
    assert got["PublicIPv4:InUseAddress"] == (1, Decimal("0.005"))
    assert got["DataTransfer-Out-Bytes"][0] == pytest.approx(out_gb, rel=Decimal("1e-12"))
    assert got["DataTransfer-Out-Bytes"][1] == pytest.approx(out_gb * Decimal("0.09"), rel=Decimal("1e-12"))


def exact(result, period="monthly"):
    """(usage_type -> (amount, cost)) of the bill as Decimals (the costs table's own values)."""
    g = (result.costs.filter(pl.col("period") == period)
         .group_by("usage_type").agg(pl.col("usage_amount").sum(), pl.col("unblended_cost_usd").sum()))
    return {r["usage_type"]: (Decimal(repr(r["usage_amount"])), Decimal(repr(r["unblended_cost_usd"])))
            for r in g.to_dicts()}


def two_vpcs_through_a_tgw(size: int, response: int) -> dict:
    vpc = lambda cidr, host_ip: {  # noqa: E731
        "cidr": cidr, "main_route_table": "main",
        "subnets": {"a": {"cidr": cidr.replace("0.0/16", "1.0/24"), "az": "us-east-1a"}},
        "route_tables": {"main": {"routes": [{"destination": cidr, "target": "local"},
                                             {"destination": "10.0.0.0/8", "target": "tgw:hub"}]}},
        "security_groups": {"open": {"inbound": [{"protocol": "all", "cidr": "10.0.0.0/8"}]}},
        "hosts": {f"h{cidr.split('.')[1]}": {"subnet": "a", "private_ip": host_ip, "security_groups": ["open"]}}}
    return {
        "name": "tgw_hour", "duration_s": 3600, "seed": 1, "billing": {"month_h": 1.0},
        "vpcs": {"one": vpc("10.1.0.0/16", "10.1.1.10"), "two": vpc("10.2.0.0/16", "10.2.1.10")},
        "transit_gateways": {"hub": {
            "attachments": {"one": {"kind": "vpc", "vpc": "one", "route_table": "rt"},
                            "two": {"kind": "vpc", "vpc": "two", "route_table": "rt"}},
            "route_tables": {"rt": {"routes": [{"destination": "10.1.0.0/16", "target": "one"},
                                               {"destination": "10.2.0.0/16", "target": "two"}]}}}},
        "flows": [{"name": "sync", "src": "h1", "dst": "h2", "protocol": "tcp", "dst_ports": [{"port": 443}],
                   "count": 1, "size_bytes": {"dist": "fixed", "value": size},
                   "response_bytes": {"dist": "fixed", "value": response}}],
    }


def test_awss_transit_gateway_example():
    """AWS's Transit Gateway pricing example: two VPC attachments for an hour, $0.05 each, and 1 GB
    sent through the transit gateway, $0.02: $0.12 (no data out, no inter-AZ)."""
    got = lines(simulate(two_vpcs_through_a_tgw(GIB - MIB, MIB)))
    assert got["TransitGateway-Hours"] == (2.0, 0.10)
    assert got["TransitGateway-Bytes"] == (1.0, 0.02)
    assert cents(sum(Decimal(str(c)) for _, c in got.values())) == 0.12


def test_vpn_connection_hours_for_a_month():
    """A Site-to-Site VPN connection for a 730-hour month (the default projection): 730 x $0.05 = $36.50,
    whether or not flows use it."""
    sc = private_egress(flows_per_run=1)
    sc["vpcs"]["prod"]["vpn_gateways"] = {"office": {"vpn_connections": {"office_vpn": {
        "onprem_cidrs": ["192.168.0.0/16"]}}}}
    sc["billing"] = {"month_h": 730.0}
    got = lines(simulate(sc))
    assert got["VPN-Usage-Hours"] == (730.0, 36.50)
    assert got["NatGateway-Hours"] == (730.0, cents(730 * Decimal("0.045")))


def test_the_console_and_the_report_show_what_the_network_bills():
    r = simulate(private_egress(nat_az="us-east-1b", duration_s=3600, flows_per_run=10))
    from sim.output.console import format_summary

    text = format_summary(r.summary, r.config)
    assert "NAT gateway nat_b processed 10.01 GB; 10.00 GB out to the internet; 20.02 GB billed between AZs" in text
    assert "VPC" in text.split("projected monthly cost")[1]


def test_responses_to_internet_clients_are_data_out():
    """Clients on the internet download from a public web host: 1,000 requests of 1 KiB in (free)
    and 1 MiB answers out, in an hour projected to 730 h: 730 x 1,000 MiB = 712.890625 GB out,
    x $0.09 = $64.16. No NAT gateway, nothing else billed."""
    sc = {
        "name": "downloads", "duration_s": 3600, "seed": 2, "billing": {"month_h": 730.0},
        "vpcs": {"prod": {
            "cidr": "10.0.0.0/16", "internet_gateway": True, "main_route_table": "main",
            "subnets": {"public": {"cidr": "10.0.1.0/24", "az": "us-east-1a"}},
            "route_tables": {"main": {"routes": [{"destination": "10.0.0.0/16", "target": "local"},
                                                 {"destination": "0.0.0.0/0", "target": "igw"}]}},
            "security_groups": {"web": {"inbound": [{"protocol": "tcp", "ports": 443, "cidr": "0.0.0.0/0"}]}},
            "hosts": {"web1": {"subnet": "public", "elastic_ip": "54.0.0.10", "security_groups": ["web"]}},
        }},
        "flows": [{"name": "downloads", "src": "internet:198.51.100.7", "dst": "web1", "protocol": "tcp",
                   "dst_ports": [{"port": 443}], "count": 1000, "starts": "uniform",
                   "size_bytes": {"dist": "fixed", "value": 1024},
                   "response_bytes": {"dist": "fixed", "value": MIB}}],
    }
    r = simulate(sc)
    got = lines(r)
    gb = Decimal(730 * 1000) / 1024
    assert got == {"DataTransfer-Out-Bytes": (float(gb), cents(gb * Decimal("0.09")))}
    assert r.summary["vpcs"]["prod"]["bytes_out_to_internet"] == 1000 * MIB


def peered(az_b: str) -> dict:
    """A host in VPC one (us-east-1a) sends 100 flows a day of 1 GiB (answered with 1 MiB) to a
    host of VPC two, in `az_b`, over a peering connection."""
    vpc = lambda cidr, ip, az, peer: {  # noqa: E731
        "cidr": cidr, "main_route_table": "main",
        "subnets": {"a": {"cidr": cidr.replace("0.0/16", "1.0/24"), "az": az}},
        "route_tables": {"main": {"routes": [{"destination": cidr, "target": "local"},
                                             {"destination": peer, "target": "peering:p1"}]}},
        "security_groups": {"open": {"inbound": [{"protocol": "all", "cidr": "10.0.0.0/8"}]}},
        "hosts": {f"h{cidr.split('.')[1]}": {"subnet": "a", "private_ip": ip, "security_groups": ["open"]}}}
    one = vpc("10.1.0.0/16", "10.1.1.10", "us-east-1a", "10.2.0.0/16")
    one["peering_connections"] = {"p1": {"peer_vpc": "two"}}
    return {"name": "peering_month", "duration_s": DAY_S, "seed": 3, "billing": {"month_h": 720.0},
            "record": {"period_s": 3600},
            "vpcs": {"one": one, "two": vpc("10.2.0.0/16", "10.2.1.10", az_b, "10.1.0.0/16")},
            "flows": [{"name": "sync", "src": "h1", "dst": "h2", "protocol": "tcp", "dst_ports": [{"port": 443}],
                       "count": 100, "starts": "uniform", "size_bytes": {"dist": "fixed", "value": GIB},
                       "response_bytes": {"dist": "fixed", "value": MIB}}]}


def test_a_peering_across_azs_pays_inter_az_each_way_and_within_an_az_nothing():
    """Within us-east-1a the peering's traffic is free; to us-east-1b every byte pays $0.01 out of
    its AZ and $0.01 into the other: 2 x 3,002.9296875 GB x $0.01 = $60.06 for the month."""
    same = lines(simulate(peered("us-east-1a"), progress=False))
    assert "DataTransfer-Regional-Bytes" not in same
    got = lines(simulate(peered("us-east-1b"), progress=False))
    gb = 2 * Decimal(30 * 100) * (1 + Decimal(1) / 1024)
    assert got["DataTransfer-Regional-Bytes"] == (round(float(gb), 6), cents(gb * Decimal("0.01")))
