"""Every class of VPC scenario mistake, reported with its YAML path (never a traceback)."""

from __future__ import annotations

import pytest

from scenarios import ScenarioError, load_scenario
from tests.vpc_fixtures import base, vpc


def set_(path, value):
    def apply(s):
        node = vpc(s)
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
    return apply


def add_host(name, **host):
    def apply(s):
        vpc(s)["hosts"][name] = host
    return apply


ACL_RULE = {"rule": 100, "direction": "inbound", "protocol": "tcp", "ports": 443, "cidr": "0.0.0.0/0", "action": "allow"}

CASES = [
    ("overlapping subnets", set_(["subnets", "other"], {"cidr": "10.0.1.128/25"}),
     "vpcs.main.subnets.other.cidr", "overlaps subnet 'public'"),
    ("subnet outside the VPC", set_(["subnets", "other"], {"cidr": "10.9.0.0/24"}),
     "vpcs.main.subnets.other.cidr", "outside the VPC's CIDR blocks"),
    ("route to a missing NAT gateway", set_(["route_tables", "private", "routes"],
                                            [{"destination": "0.0.0.0/0", "target": "nat:ghost"}]),
     "vpcs.main.route_tables.private.routes[0].target", "NAT gateway 'ghost' is not defined"),
    ("route to a missing peering", set_(["route_tables", "private", "routes"],
                                        [{"destination": "10.9.0.0/16", "target": "peering:px"}]),
     "vpcs.main.route_tables.private.routes[0].target", "peering connection of this VPC 'px' is not defined"),
    ("unknown target kind", set_(["route_tables", "private", "routes"],
                                 [{"destination": "10.9.0.0/16", "target": "eigw:x"}]),
     "vpcs.main.route_tables.private.routes[0].target", "unknown target kind 'eigw'"),
    ("igw route without an internet gateway", set_(["internet_gateway"], False),
     "vpcs.main.route_tables.main.routes[1].target", "no internet gateway"),
    ("NAT gateway in a subnet without an igw route", set_(["nat_gateways"], {"n": {"subnet": "private",
                                                                                  "elastic_ip": "52.1.1.1"}}),
     "vpcs.main.nat_gateways.n.subnet", "no route to the internet gateway"),
    ("NAT gateway without an Elastic IP", set_(["nat_gateways"], {"n": {"subnet": "public"}}),
     "vpcs.main.nat_gateways.n.elastic_ip", "needs an Elastic IP"),
    ("NAT gateway with 9 addresses", set_(["nat_gateways"], {"n": {"subnet": "public", "elastic_ip": "52.1.1.1",
                                                                    "ip_addresses": 9}}),
     "vpcs.main.nat_gateways.n.ip_addresses", "9 addresses; a NAT gateway has 1 to 8"),
    ("NAT gateway of 0 Gbit/s", set_(["nat_gateways"], {"n": {"subnet": "public", "elastic_ip": "52.1.1.1",
                                                                 "max_gbps": 0}}),
     "vpcs.main.nat_gateways.n.max_gbps", "0 Gbit/s; a NAT gateway scales up to 100 Gbit/s"),
    ("NAT gateway with 0 addresses", set_(["nat_gateways"], {"n": {"subnet": "public", "elastic_ip": "52.1.1.1",
                                                                    "ip_addresses": 0}}),
     "vpcs.main.nat_gateways.n.ip_addresses", "0 addresses; a NAT gateway has 1 to 8"),
    ("ACL rule number 0", set_(["network_acls", "x"], {"rules": [{**ACL_RULE, "rule": 0}]}),
     "vpcs.main.network_acls.x.rules[0].rule", "out of range (allowed 1-32766"),
    ("ACL rule number 32767", set_(["network_acls", "x"], {"rules": [{**ACL_RULE, "rule": 32767}]}),
     "vpcs.main.network_acls.x.rules[0].rule", "out of range"),
    ("duplicate ACL rule number", set_(["network_acls", "x"], {"rules": [ACL_RULE, ACL_RULE]}),
     "vpcs.main.network_acls.x.rules[1].rule", "duplicate inbound rule number 100"),
    ("ACL port out of range", set_(["network_acls", "x"], {"rules": [{**ACL_RULE, "ports": "1024-70000"}]}),
     "vpcs.main.network_acls.x.rules[0].ports", "port 70000 is out of range"),
    ("SG port out of range", set_(["security_groups", "x"], {"inbound": [{"protocol": "tcp", "ports": -1,
                                                                          "cidr": "0.0.0.0/0"}]}),
     "vpcs.main.security_groups.x.inbound[0].ports", "out of range"),
    ("bad ACL CIDR", set_(["network_acls", "x"], {"rules": [{**ACL_RULE, "cidr": "10.0.0.0/33"}]}),
     "vpcs.main.network_acls.x.rules[0].cidr", "is not a CIDR block"),
    ("bad VPC CIDR", set_(["cidr"], "10.0.0.1/16"), "vpcs.main.cidr", "host bits set"),
    ("SG rule naming a missing group", set_(["security_groups", "x"], {"inbound": [{"group": "nope"}]}),
     "vpcs.main.security_groups.x.inbound[0].group", "security group 'nope' is not defined"),
    ("SG rule with neither cidr nor group", set_(["security_groups", "x"], {"inbound": [{"protocol": "tcp"}]}),
     "vpcs.main.security_groups.x.inbound[0]", "exactly one of cidr and group"),
    ("unknown key", set_(["subnets", "public", "route"], "main"),
     "vpcs.main.subnets.public.route", "unknown key 'route'"),
    ("host IP outside its subnet", add_host("h", subnet="public", private_ip="10.0.2.99"),
     "vpcs.main.hosts.h.private_ip", "outside subnet 'public'"),
    ("host IP reserved by AWS", add_host("h", subnet="public", private_ip="10.0.1.1"),
     "vpcs.main.hosts.h.private_ip", "reserved by AWS"),
    ("duplicate private IP", add_host("h", subnet="public", private_ip="10.0.1.10"),
     "vpcs.main.hosts.h.private_ip", "duplicate private IP 10.0.1.10"),
    ("duplicate public IP", add_host("h", subnet="public", public_ip="54.0.0.1"),
     "vpcs.main.hosts.h.public_ip", "duplicate public address"),
    ("Lambda with a public IP", add_host("h", kind="lambda", subnet="public", public_ip="54.0.0.2"),
     "vpcs.main.hosts.h.public_ip", "never has a public address"),
    ("host in a missing subnet", add_host("h", subnet="nowhere"),
     "vpcs.main.hosts.h.subnet", "subnet 'nowhere' is not defined"),
]


@pytest.mark.parametrize("what, mutate, path, fragment", CASES, ids=[c[0] for c in CASES])
def test_mistake_is_reported_at_its_path(what, mutate, path, fragment):
    s = base()
    mutate(s)
    with pytest.raises(ScenarioError) as err:
        load_scenario(s)
    found = [m for p, m in err.value.problems if p == path]
    assert found, f"no problem at {path}; got {err.value.problems}"
    assert any(fragment in m for m in found), found


def test_flow_mistakes():
    s = base()
    s["flows"] = [{"src": "web", "dst": "nobody", "count": 1},
                  {"src": "internet:1.2.3.4", "dst": "internet:5.6.7.8", "rate_per_s": 1},
                  {"src": "web", "dst": "app", "dst_ports": [{"port": 70000}], "count": 1, "rate_per_s": 2},
                  {"src": "web", "dst": "onprem:192.168.0.1", "count": 1}]
    with pytest.raises(ScenarioError) as err:
        load_scenario(s)
    paths = dict(err.value.problems)
    assert "host 'nobody' is not defined" in paths["flows[0].dst"]
    assert "needs a host at one end" in paths["flows[1]"]
    assert "out of range" in paths["flows[2].dst_ports[0].port"]
    assert "exactly one of count and rate_per_s" in str(err.value)
    assert "no VPN connection" in paths["flows[3].dst"]


def test_valid_scenario_gets_addresses_assigned():
    s = base()
    vpc(s)["hosts"]["auto"] = {"subnet": "public"}
    vpc(s)["hosts"]["auto2"] = {"subnet": "public"}
    sc = load_scenario(s)
    hosts = sc.vpcs["main"].hosts
    assert (hosts["auto"].private_ip, hosts["auto2"].private_ip) == ("10.0.1.4", "10.0.1.5")  # first four reserved


def test_three_tier_scenario_loads():
    sc = load_scenario("configs/scenario/vpc_three_tier.yaml")
    assert set(sc.vpcs) == {"prod", "analytics"} and len(sc.flows) == 10
