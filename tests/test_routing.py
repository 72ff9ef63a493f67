"""Longest-prefix match: the seed's main and private route tables, `local`, IPv6, and the kernels
against their `ipaddress` twin on random tables."""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.routing import NO_ROUTE, build_lpm_v4, build_lpm_v6, index_v4, locate, lpm_v4, lpm_v6
from kernels.ref.routing import locate_ref, lpm_ref
from kernels import jit
from sim.network.packets import RouteTable

# The seed's tables (shared/seeds: "Main Route Table", "Private Route Table", with and without NAT)
MAIN = {"10.0.0.0/16": "local", "0.0.0.0/0": "igw-id"}
PRIVATE = {"10.0.0.0/16": "local"}
PRIVATE_NAT = {"10.0.0.0/16": "local", "0.0.0.0/0": "nat-gateway-id"}


@pytest.mark.parametrize("table, address, target", [
    (MAIN, "10.0.3.7", "local"),
    (MAIN, "10.0.255.255", "local"),
    (MAIN, "10.1.0.0", "igw-id"),  # just past the VPC block
    (MAIN, "8.8.8.8", "igw-id"),
    (MAIN, "0.0.0.0", "igw-id"),
    (PRIVATE, "10.0.0.1", "local"),
    (PRIVATE, "8.8.8.8", None),  # no route out of a private subnet without NAT
    (PRIVATE_NAT, "10.0.200.1", "local"),
    (PRIVATE_NAT, "52.94.76.1", "nat-gateway-id"),
    (PRIVATE_NAT, "255.255.255.255", "nat-gateway-id"),
])
def test_seed_route_tables(table, address, target):
    assert RouteTable(table, vpc_cidrs=["10.0.0.0/16"]).target(address) == target


def test_lookup_in_bulk_and_ipv6():
    rt = RouteTable({"10.0.0.0/16": "local", "0.0.0.0/0": "igw-id", "2600:1f18:abcd::/56": "local",
                     "::/0": "eigw-id", "10.0.128.0/20": "pcx-1"}, vpc_cidrs=["10.0.0.0/16", "2600:1f18:abcd::/56"])
    dst = np.array(["10.0.1.1", "10.0.130.9", "1.1.1.1", "2600:1f18:abcd:ff::1", "2001:db8::1"])
    got = [rt.targets[i] for i in rt.lookup(dst)]
    assert got == ["local", "pcx-1", "igw-id", "local", "eigw-id"]
    # an IPv4 address never takes an IPv6 route, not even ::/0
    assert RouteTable({"::/0": "eigw-id"}).target("10.0.0.1") is None
    assert RouteTable({"0.0.0.0/0": "igw-id"}).target("2001:db8::1") is None


def test_local_route_rules():
    rt = RouteTable({"0.0.0.0/0": "igw-id"}, vpc_cidrs=["10.0.0.0/16"])  # local added
    assert rt.routes[ipaddress.ip_network("10.0.0.0/16")] == "local"
    # a more specific route inside the VPC (middlebox routing, allowed since 2021) wins over local
    assert RouteTable({"10.0.0.0/16": "local", "10.0.1.0/24": "eni-appliance"}).target("10.0.1.9") == "eni-appliance"
    with pytest.raises(ValueError, match="local route"):
        RouteTable({"10.0.0.0/16": "igw-id"}, vpc_cidrs=["10.0.0.0/16"])
    with pytest.raises(ValueError, match="not a CIDR block of the VPC"):
        RouteTable({"172.16.0.0/16": "local"}, vpc_cidrs=["10.0.0.0/16"])
    with pytest.raises(ValueError, match=r"routes\[1\]: duplicate"):
        RouteTable([("10.0.0.0/16", "local"), ("10.0.0.0/16", "igw-id")])
    with pytest.raises(ValueError, match=r"routes\[0\]: '10.0.0/33'"):
        RouteTable({"10.0.0/33": "local"})


def test_from_describe_route_tables():
    routes = [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "Origin": "CreateRouteTable", "State": "active"},
              {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-0abc", "Origin": "CreateRoute", "State": "active"},
              {"DestinationCidrBlock": "192.168.0.0/16", "VpcPeeringConnectionId": "pcx-1", "State": "blackhole"},
              {"DestinationIpv6CidrBlock": "::/0", "EgressOnlyInternetGatewayId": "eigw-1", "State": "active"}]
    rt = RouteTable.from_describe(routes, vpc_cidrs=["10.0.0.0/16"])
    assert [rt.target(a) for a in ("10.0.9.9", "8.8.8.8", "192.168.1.1", "2001:db8::1")] == \
        ["local", "nat-0abc", "blackhole", "eigw-1"]


# ---- kernels against the twin ----------------------------------------------------------------

@st.composite
def routes_and_addresses(draw, version):
    bits = 32 if version == 4 else 128
    cls = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
    nets = draw(st.lists(st.builds(lambda a, p: cls((a, p), strict=False), st.integers(0, 2**bits - 1),
                                   st.one_of(st.sampled_from([0, 1, 8, 16, bits - 1, bits]), st.integers(0, bits))),
                         max_size=40, unique=True))
    routes = [(n, i % 7) for i, n in enumerate(nets)]
    edges = [x for n in nets for x in (int(n.network_address), int(n.broadcast_address),
                                       max(int(n.network_address) - 1, 0), min(int(n.broadcast_address) + 1, 2**bits - 1))]
    inside = st.sampled_from(edges) if edges else st.just(0)
    addrs = draw(st.lists(st.one_of(inside, st.integers(0, 2**bits - 1), st.sampled_from([0, 2**bits - 1])),
                          max_size=80))
    return routes, addrs


@settings(max_examples=250, deadline=None)
@given(routes_and_addresses(4))
def test_lpm_v4_matches_twin(case):
    routes, addrs = case
    out = np.empty(len(addrs), np.int32)
    if routes:
        table = build_lpm_v4(np.array([int(n.network_address) for n, _ in routes], np.uint32),
                             [n.prefixlen for n, _ in routes], [t for _, t in routes])
        lpm_v4(np.array(addrs, np.uint32), *table, out)
    else:
        out[:] = NO_ROUTE
    assert out.tolist() == [lpm_ref(routes, ipaddress.IPv4Address(a)) for a in addrs]


@settings(max_examples=250, deadline=None)
@given(routes_and_addresses(6))
def test_lpm_v6_matches_twin(case):
    routes, addrs = case
    out = np.empty(len(addrs), np.int32)
    if routes:
        table = build_lpm_v6([int(n.network_address) for n, _ in routes], [n.prefixlen for n, _ in routes],
                             [t for _, t in routes])
        lpm_v6(np.array([a >> 64 for a in addrs], np.uint64), np.array([a & (2**64 - 1) for a in addrs], np.uint64),
               *table, out)
    else:
        out[:] = NO_ROUTE
    assert out.tolist() == [lpm_ref(routes, ipaddress.IPv6Address(a)) for a in addrs]


@jit
def _locate_many(x, t1, t2, t3, out):
    for k in range(x.shape[0]):
        out[k] = locate(x[k], t1, t2, t3)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**24 - 1), st.integers(1, 2**12)), max_size=30),
       st.lists(st.integers(0, 2**24 - 1), max_size=60))
def test_interval_lookup_of_24_bit_keys(intervals, keys):
    starts = [s for s, _ in intervals]
    ends = [min(s + w, 2**24) for s, w in intervals]
    tables, bounds = index_v4(starts, ends, 24)
    keys = keys + starts + [e - 1 for e in ends] + [0, 2**24 - 1]
    out = np.empty(len(keys), np.int64)
    _locate_many(np.array(keys, np.uint32), *tables, out)
    assert out.tolist() == [locate_ref(bounds, k) for k in keys]
