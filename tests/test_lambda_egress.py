"""Lambda in a VPC: each invocation's egress becomes a flow from the function's Hyperplane ENI,
judged by its security groups, the subnet's ACL and routes, shared on the NAT gateway with
every other flow, and billed — in the same run as the functions, window by window.

Validated against processor-sharing theory (the NAT gateway as one link fed by Lambda's
flows), a bill worked by hand from the price book, NAT ports worked by hand, and the
windows (0.01 s, 1 s, 60 s: the same numbers, bit for bit).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from scenarios.errors import ScenarioError
from scenarios.load import load_scenario
from sim import simulate
from test_billing import cents, lines
from test_validation_lambda import ci

GIB = 2**30
MIB = 2**20
DAY_S = 86_400


def lambda_nat(*, rate=50.0, duration_s=600, size=None, response=None, nat_gbps=100.0, subnets=("app_a", "app_b"),
               seed=3, window=None, cap_s=None, arrivals="poisson", ip_addresses=1, sg_out=None, month_h=730.0,
               period_s=60, nat_az="us-east-1a") -> dict:
    """`uploader` (512 MB, 200 ms) in private subnets app_a (us-east-1a) and app_b (us-east-1b),
    each invocation sending one flow to an internet address through NAT gateway nat_a (in
    `nat_az`), called `rate` times a second."""
    size = size or {"dist": "exponential", "mean": 1_000_000}
    response = response or {"dist": "fixed", "value": 40}
    egress = {"dst": "internet:203.0.113.7", "dst_ports": [{"port": 443}], "size_bytes": size,
              "response_bytes": response}
    if cap_s is not None:
        egress["duration_s"] = {"dist": "fixed", "value": cap_s}
    sg = {"inbound": []}
    if sg_out is not None:
        sg["outbound"] = sg_out
    sc = {
        "name": "lambda_nat", "duration_s": duration_s, "seed": seed,
        "record": {"period_s": period_s}, "billing": {"month_h": month_h},
        "functions": {"uploader": {
            "memory_mb": 512, "duration_ms": {"dist": "fixed", "value": 200},
            "vpc": {"vpc": "prod", "subnets": list(subnets), "security_groups": ["lambda"]},
            "egress": [egress]}},
        "traffic": [{"target": "function:uploader", "arrivals": {"kind": arrivals, "rate_per_s": rate}}],
        "vpcs": {"prod": {
            "cidr": "10.0.0.0/16", "internet_gateway": True, "main_route_table": "main",
            "subnets": {"public_a": {"cidr": "10.0.1.0/24", "az": nat_az},
                        "app_a": {"cidr": "10.0.2.0/24", "az": "us-east-1a", "route_table": "private"},
                        "app_b": {"cidr": "10.0.3.0/24", "az": "us-east-1b", "route_table": "private"}},
            "route_tables": {
                "main": {"routes": [{"destination": "10.0.0.0/16", "target": "local"},
                                    {"destination": "0.0.0.0/0", "target": "igw"}]},
                "private": {"routes": [{"destination": "10.0.0.0/16", "target": "local"},
                                       {"destination": "0.0.0.0/0", "target": "nat:nat_a"}]}},
            "security_groups": {"lambda": sg},
            "nat_gateways": {"nat_a": {"subnet": "public_a", "elastic_ip": "52.0.0.10", "max_gbps": nat_gbps,
                                       "ip_addresses": ip_addresses}},
        }},
    }
    if window is not None:
        sc["sim"] = {"window_s": window}
    return sc


def _vpc(r):
    return r.summary["vpcs"]["prod"]


# ---- theory: the NAT gateway as one processor-sharing link fed by Lambda's flows

def test_nat_gateway_fed_by_lambda_follows_processor_sharing():
    """Poisson invocations (50/s) each send one flow of Exp(1 MB) + 40 bytes through a NAT
    gateway of 0.5 Gbit/s: load ρ = 50 x 8.00032 Mbit / 500 Mbit/s = 0.800; M/G/1-PS gives a
    mean flow time E[S] / (C (1 - ρ)) = 0.0160006 s / 0.19997 = 0.08001 s (insensitive to the
    size distribution). 12 replications of 600 s; the 99 % CI must hold it. (The flows start
    when each handler starts: a cold start's init delays a few of them, a tiny departure from
    Poisson arrivals.)"""
    c_bps, lam = 0.5e9, 50.0
    es = (1_000_000 + 40) * 8 / c_bps
    rho = lam * es
    want = es / (1 - rho)
    means = []
    for seed in range(12):
        v = _vpc(simulate(lambda_nat(rate=lam, nat_gbps=c_bps / 1e9, seed=seed), progress=False))
        f = v["functions"]["uploader"]
        assert f["flows"] == f["accepted"] > 25_000
        means.append(f["mean_flow_time_s"])
    mean, half = ci(means)
    assert abs(mean - want) <= half, (mean, half, want)


# ---- windows

def test_windows_change_nothing():
    """The same run at windows of 0.01 s, 1 s and 60 s: the VPC section, the NAT gateway's
    metrics and the bill are identical, bit for bit."""
    outs = []
    for w in (0.01, 1, 60):
        r = simulate(lambda_nat(duration_s=30, nat_gbps=0.5, window=w, period_s=5), progress=False)
        outs.append((_vpc(r), r.metrics.filter(r.metrics["namespace"] == "AWS/NATGateway").to_dicts(), lines(r)))
    assert outs[0] == outs[1] == outs[2]
    assert outs[0][0]["functions"]["uploader"]["flows"] > 1000


# ---- the bill, by hand

def test_a_lambda_nat_month_to_the_cent():
    """The NAT month of tests/test_network_bill.py, sent by a function instead of a host: 100
    invocations a day (constant arrivals), each uploading 1 GiB (answered with 1 MiB) from its
    ENI in us-east-1a through a public NAT gateway in us-east-1a; a day projected to 720 h.

    - NAT gateway: 720 h x $0.045 = $32.40; its Elastic IP 720 h x $0.005 = $3.60.
    - Processed: 30 x 100 x (1 + 1/1024) GB = 3,002.9296875 GB x $0.045 = $135.13.
    - Out to the internet: 3,000 GB x $0.09 = $270.00. Network total $441.13."""
    r = simulate(lambda_nat(rate=100 / DAY_S, duration_s=DAY_S, arrivals="constant", subnets=("app_a",),
                            size={"dist": "fixed", "value": GIB}, response={"dist": "fixed", "value": MIB},
                            month_h=720.0, period_s=3600), progress=False)
    assert r.summary["functions"]["uploader"]["invocations"] == 100
    got = lines(r)
    gb = Decimal(30 * 100) * (1 + Decimal(1) / 1024)
    assert got["NatGateway-Hours"] == (720.0, cents(720 * Decimal("0.045")))
    assert got["PublicIPv4:InUseAddress"] == (720.0, cents(720 * Decimal("0.005")))
    assert got["NatGateway-Bytes"] == (round(float(gb), 6), cents(gb * Decimal("0.045")))
    assert got["DataTransfer-Out-Bytes"] == (3000.0, cents(3000 * Decimal("0.09")))
    assert "DataTransfer-Regional-Bytes" not in got
    network = ("NatGateway-Hours", "PublicIPv4:InUseAddress", "NatGateway-Bytes", "DataTransfer-Out-Bytes")
    assert cents(sum(Decimal(str(got[k][1])) for k in network)) == 441.13
    v = _vpc(r)
    assert v["nat_gateways"]["nat_a"]["bytes_processed"] == 100 * (GIB + MIB)
    assert v["functions"]["uploader"]["bytes_accepted"] == 100 * (GIB + MIB)


def test_a_function_in_another_az_than_its_nat_gateway_pays_inter_az_both_ways():
    """The same with the function's ENI in us-east-1b only: every byte to and from the NAT
    gateway crosses AZs, $0.01 out of one and $0.01 into the other: 2 x 3,002.9296875 GB x
    $0.01 = $60.06 more."""
    r = simulate(lambda_nat(rate=100 / DAY_S, duration_s=DAY_S, arrivals="constant", subnets=("app_b",),
                            size={"dist": "fixed", "value": GIB}, response={"dist": "fixed", "value": MIB},
                            month_h=720.0, period_s=3600), progress=False)
    got = lines(r)
    gb = 2 * Decimal(30 * 100) * (1 + Decimal(1) / 1024)
    assert got["DataTransfer-Regional-Bytes"] == (round(float(gb), 6), cents(gb * Decimal("0.01")))
    assert _vpc(r)["bytes_inter_az"] == 2 * 100 * (GIB + MIB)


# ---- NAT ports, by hand

def test_lambda_flows_exhaust_a_nat_gateways_ports():
    """1,000 invocations a second (constant), each holding a connection to one destination for
    60 s (1 MB at a cap of 1 MB / 60 s; the gateway's 100 Gbit/s never binds): 55,000 may be
    open at once through one address. The flows of 0-55 s get ports, those of 55-60 s fail
    (ErrorPortAllocation), those of 60-115 s take the ports freed 60 s before, those of
    115-120 s fail: about 110,000 established and 10,000 errors, at most 55,000 open. With two
    addresses, none fails."""
    sc = lambda_nat(rate=1000.0, duration_s=120, arrivals="constant", cap_s=60.0, subnets=("app_a",),
                    size={"dist": "fixed", "value": 1_000_000})
    v = _vpc(simulate(sc, progress=False))
    nat, f = v["nat_gateways"]["nat_a"], v["functions"]["uploader"]
    assert nat["active_connections_max"] == 55_000
    assert nat["connection_attempts"] == f["flows"] == 120_000
    assert nat["connection_attempts"] == (nat["connections_established"] + nat["port_allocation_errors"]
                                          + nat["rejected_beyond"])
    assert f["port_allocation_errors"] == nat["port_allocation_errors"]
    assert abs(nat["port_allocation_errors"] - 10_000) <= 2  # (the handlers start 0-2 ms after 1 ms steps)
    assert f["accepted"] == nat["connections_established"]
    v2 = _vpc(simulate(lambda_nat(rate=1000.0, duration_s=120, arrivals="constant", cap_s=60.0, subnets=("app_a",),
                                  size={"dist": "fixed", "value": 1_000_000}, ip_addresses=2), progress=False))
    assert v2["nat_gateways"]["nat_a"]["port_allocation_errors"] == 0
    assert v2["functions"]["uploader"]["mean_flow_time_s"] == pytest.approx(60.0, rel=1e-12)


# ---- firewalls

def test_a_security_group_without_internet_egress_stops_the_flows_at_the_eni():
    """The function's group allows outbound traffic to the VPC only: every flow is rejected at
    its ENI, never reaches the NAT gateway (no bytes processed, no connection), and the rule
    counts say where."""
    v = _vpc(simulate(lambda_nat(rate=5.0, duration_s=60, sg_out=[{"cidr": "10.0.0.0/16"}]), progress=False))
    f = v["functions"]["uploader"]
    assert f["flows"] == f["rejected"] > 0 and f["accepted"] == 0
    assert v["nat_gateways"]["nat_a"]["connection_attempts"] == 0
    assert v["nat_gateways"]["nat_a"]["bytes_processed"] == 0
    assert v["rules"]["eni:lambda-eni:app_a:lambda:out:no-rule"]["rejected"] \
        + v["rules"]["eni:lambda-eni:app_b:lambda:out:no-rule"]["rejected"] == f["flows"]


# ---- mistakes

@pytest.mark.parametrize("change, where, words", [
    (lambda s: s["functions"]["uploader"]["vpc"].update(vpc="nope"), "functions.uploader.vpc.vpc", "'nope'"),
    (lambda s: s["functions"]["uploader"]["vpc"].update(subnets=["app_a", "app_z"]),
     "functions.uploader.vpc.subnets[1]", "'app_z' is not defined"),
    (lambda s: s["functions"]["uploader"]["vpc"].update(subnets=["app_a", "app_a"]),
     "functions.uploader.vpc.subnets[1]", "listed twice"),
    (lambda s: s["functions"]["uploader"]["vpc"].update(subnets=[]), "functions.uploader.vpc.subnets",
     "at least one subnet"),
    (lambda s: s["functions"]["uploader"]["vpc"].update(security_groups=["web"]),
     "functions.uploader.vpc.security_groups[0]", "'web' is not defined"),
    (lambda s: s["functions"]["uploader"]["egress"][0].update(dst="internet:10.0.2.9"),
     "functions.uploader.egress[0].dst", "inside a VPC block"),
    (lambda s: s["functions"]["uploader"]["egress"][0].update(dst="db1"), "functions.uploader.egress[0].dst",
     "host 'db1' is not defined"),
    (lambda s: s["functions"]["uploader"]["egress"][0].update(protocol="all"),
     "functions.uploader.egress[0].protocol", "not a protocol of a flow"),
])
def test_mistakes_name_their_path(change, where, words):
    sc = lambda_nat()
    change(sc)
    with pytest.raises(ScenarioError) as e:
        load_scenario(sc)
    assert any(p == where and words in m for p, m in e.value.problems), e.value.problems


def test_the_functions_enis_are_in_the_topology():
    """One Hyperplane ENI per subnet and group set, at each subnet's first free address (after
    the four AWS reserves), members of the function's group."""
    from sim.network.topology import Network

    net = Network(load_scenario(lambda_nat()))
    assert net.function_enis["uploader"] == ["lambda-eni:app_a:lambda", "lambda-eni:app_b:lambda"]
    a, b = (net.enis[n] for n in net.function_enis["uploader"])
    assert (a.private_ip, b.private_ip) == ("10.0.2.4", "10.0.3.4")
    assert a.kind == "lambda" and a.subnet == "app_a"
