"""Paths through VPCs with explain_flow: the seed's tables, stateless vs stateful, NAT, igw, peering, TGW, VGW."""

from __future__ import annotations

import pytest

from sim.network.firewall import TRACKED
from sim.network.paths import EndpointError, explain_flow
from tests.vpc_fixtures import base, vpc


def keys(hops):
    return [h.key for h in hops]


def test_seed_main_table_sends_internet_traffic_out_of_the_igw_with_the_public_ip():
    r = explain_flow(base(), "web", "internet:93.184.216.34", "tcp", 443)
    assert r.verdict == "ACCEPT"
    assert keys(r.hops) == ["sg:web:out:0", "acl:default:out:100", "route:main:0.0.0.0/0", "igw", "internet"]
    assert r.hops[-1].src_ip == "54.0.0.1"  # translated by the internet gateway
    # the response: default ACL rule 100 in, then the tracked connection (web has no rule for port 32768)
    assert keys(r.return_hops) == ["acl:default:in:100", "eni:web:in:tracked"]
    assert r.return_hops[-1].rule is TRACKED


def test_seed_private_table_has_no_route_to_the_internet():
    r = explain_flow(base(), "app", "internet:93.184.216.34", "tcp", 443)
    assert r.verdict == "REJECT"
    assert r.hops[-1].key == "route:private:none" and r.hops[-1].decision == "REJECT"
    assert r.return_hops == []


@pytest.mark.parametrize("port, rule_index", [(22, 0), (3389, 1), (443, 3)])
def test_seed_security_group_rules_let_the_internet_in(port, rule_index):
    r = explain_flow(base(), "internet:203.0.113.5", "web", "tcp", port)
    assert r.verdict == "ACCEPT"
    assert keys(r.hops) == ["igw", "acl:default:in:100", f"sg:web:in:{rule_index}"]
    assert r.hops[0].dst_ip == "54.0.0.1" and r.hops[1].dst_ip == "10.0.1.10"
    assert r.return_hops[-1].key == "route:main:0.0.0.0/0"


def test_seed_security_group_implicit_deny_and_icmp():
    r = explain_flow(base(), "internet:203.0.113.5", "web", "tcp", 80)
    assert r.verdict == "REJECT" and r.hops[-1].rule is None and r.hops[-1].key == "eni:web:in:no-rule"
    assert explain_flow(base(), "internet:203.0.113.5", "web", "icmp", 0).hops[-1].key == "sg:web:in:5"


def test_default_acl_allows_all_and_a_custom_acl_ends_in_the_star_deny():
    s = base()
    r = explain_flow(s, "web", "app", "tcp", 8080)
    assert r.verdict == "ACCEPT" and "acl:default:in:100" in keys(r.hops)
    vpc(s)["network_acls"]["strict"] = {"rules": [
        {"rule": 100, "direction": "inbound", "protocol": "tcp", "ports": 443, "cidr": "0.0.0.0/0", "action": "allow"}]}
    vpc(s)["subnets"]["private"]["network_acl"] = "strict"
    r = explain_flow(s, "web", "app", "tcp", 8080)
    assert r.verdict == "REJECT" and r.hops[-1].key == "acl:strict:in:*" and r.hops[-1].rule is None


def test_stateless_acl_blocks_the_return_stateful_security_group_does_not():
    s = base()
    v = vpc(s)
    v["security_groups"]["out443"] = {"inbound": [], "outbound": [{"protocol": "tcp", "ports": 443, "cidr": "0.0.0.0/0"}]}
    v["hosts"]["web"]["security_groups"] = ["out443"]
    # only security groups: the response is tracked
    r = explain_flow(s, "web", "internet:93.184.216.34", "tcp", 443)
    assert r.verdict == "ACCEPT" and r.return_hops[-1].rule is TRACKED
    # an ACL allowing 443 out but nothing in: the response is denied by the `*` rule
    v["network_acls"]["out_only"] = {"rules": [
        {"rule": 100, "direction": "outbound", "protocol": "tcp", "ports": 443, "cidr": "0.0.0.0/0", "action": "allow"}]}
    v["subnets"]["public"]["network_acl"] = "out_only"
    r = explain_flow(s, "web", "internet:93.184.216.34", "tcp", 443)
    assert r.verdict == "REJECT"
    assert all(h.decision == "ACCEPT" for h in r.hops)
    assert r.return_hops[-1].key == "acl:out_only:in:*" and r.return_hops[-1].decision == "REJECT"
    # allowing the ephemeral ports back (Linux 32768-61000) fixes it
    v["network_acls"]["out_only"]["rules"].append(
        {"rule": 110, "direction": "inbound", "protocol": "tcp", "ports": "32768-61000", "cidr": "0.0.0.0/0",
         "action": "allow"})
    assert explain_flow(s, "web", "internet:93.184.216.34", "tcp", 443).verdict == "ACCEPT"
    assert explain_flow(s, "web", "internet:93.184.216.34", "tcp", 443, src_port=1024).verdict == "REJECT"


def test_same_subnet_traffic_skips_the_acls():
    s = base()
    v = vpc(s)
    v["network_acls"]["deny_all"] = {"rules": []}
    v["subnets"]["public"]["network_acl"] = "deny_all"
    v["hosts"]["web2"] = {"subnet": "public", "security_groups": ["web"]}
    r = explain_flow(s, "web", "web2", "tcp", 443)
    assert r.verdict == "ACCEPT" and not any(k.startswith("acl:") for k in keys(r.hops + r.return_hops))
    assert explain_flow(s, "web", "app", "tcp", 8080).hops[1].key == "acl:deny_all:out:*"


def nat_scenario():
    s = base()
    v = vpc(s)
    v["nat_gateways"] = {"nat1": {"subnet": "public", "elastic_ip": "52.0.0.9", "private_ip": "10.0.1.5"}}
    v["route_tables"]["private"]["routes"] = [{"destination": "0.0.0.0/0", "target": "nat:nat1"}]
    return s


def test_nat_gateway_rewrites_the_source_private_inside_elastic_outside():
    r = explain_flow(nat_scenario(), "app", "internet:93.184.216.34", "tcp", 443)
    assert r.verdict == "ACCEPT"
    assert keys(r.hops) == ["sg:app:out:0", "acl:default:out:100", "route:private:0.0.0.0/0", "acl:default:in:100",
                            "nat:nat1", "acl:default:out:100", "route:main:0.0.0.0/0", "igw", "internet"]
    by_key = {h.key: h for h in r.hops}
    assert by_key["route:main:0.0.0.0/0"].src_ip == "10.0.1.5"  # the NAT gateway's private address
    assert by_key["internet"].src_ip == "52.0.0.9"  # its Elastic IP
    assert r.return_hops[-1].rule is TRACKED


def test_internet_gateway_needs_a_public_ip():
    s = base()
    vpc(s)["route_tables"]["private"]["routes"] = [{"destination": "0.0.0.0/0", "target": "igw"}]
    r = explain_flow(s, "app", "internet:93.184.216.34", "tcp", 443)
    assert r.verdict == "REJECT" and r.hops[-1].key == "igw" and "no public" in r.hops[-1].note
    r = explain_flow(s, "internet:93.184.216.34", "app", "tcp", 8080)
    assert r.verdict == "REJECT" and r.hops[0].key == "igw"


@pytest.mark.parametrize("nat, verdict", [(True, "ACCEPT"), (False, "REJECT")])
def test_nat_instance(nat, verdict):
    s = base()
    v = vpc(s)
    v["security_groups"]["nat"] = {"inbound": [{"protocol": "all", "cidr": "10.0.0.0/16"}]}
    v["hosts"]["natbox"] = {"subnet": "public", "private_ip": "10.0.1.20", "elastic_ip": "52.0.0.20",
                            "security_groups": ["nat"], "nat": nat}
    v["route_tables"]["private"]["routes"] = [{"destination": "0.0.0.0/0", "target": "instance:natbox"}]
    r = explain_flow(s, "app", "internet:93.184.216.34", "tcp", 443)
    assert r.verdict == verdict
    assert "sg:nat:in:0" in keys(r.hops)
    if nat:
        assert r.hops[-1].src_ip == "52.0.0.20"
    else:
        assert r.hops[-1].key == "instance:natbox"


def peered():
    """VPCs a - b - c, peered a-b and b-c; a routes c's block through its peering with b."""
    s = base()
    s["vpcs"] = {}
    for name, octet in (("a", 1), ("b", 2), ("c", 3)):
        s["vpcs"][name] = {"cidr": f"10.{octet}.0.0/16", "subnets": {"s": {"cidr": f"10.{octet}.1.0/24"}},
                           "route_tables": {"main": {"routes": []}},
                           "hosts": {f"h{name}": {"subnet": "s", "private_ip": f"10.{octet}.1.10",
                                                  "security_groups": ["open"]}},
                           "security_groups": {"open": {"inbound": [{"protocol": "all", "cidr": "10.0.0.0/8"}]}}}
    s["vpcs"]["a"]["peering_connections"] = {"ab": {"peer_vpc": "b"}}
    s["vpcs"]["b"]["peering_connections"] = {"bc": {"peer_vpc": "c"}}
    s["vpcs"]["a"]["route_tables"]["main"]["routes"] = [{"destination": "10.2.0.0/16", "target": "peering:ab"},
                                                        {"destination": "10.3.0.0/16", "target": "peering:ab"}]
    s["vpcs"]["b"]["route_tables"]["main"]["routes"] = [{"destination": "10.1.0.0/16", "target": "peering:ab"},
                                                        {"destination": "10.3.0.0/16", "target": "peering:bc"}]
    s["vpcs"]["c"]["route_tables"]["main"]["routes"] = [{"destination": "10.2.0.0/16", "target": "peering:bc"}]
    return s


def test_peering_works_between_peers_and_is_not_transitive():
    s = peered()
    r = explain_flow(s, "ha", "hb", "tcp", 5432)
    assert r.verdict == "ACCEPT" and "peering:ab" in keys(r.hops)
    assert explain_flow(s, "hb", "hc", "tcp", 5432).verdict == "ACCEPT"
    r = explain_flow(s, "ha", "hc", "tcp", 5432)
    assert r.verdict == "REJECT" and r.hops[-1].key == "peering:ab" and "not transitive" in r.hops[-1].note


def test_peering_without_a_return_route_fails_on_the_way_back():
    s = peered()
    s["vpcs"]["b"]["route_tables"]["main"]["routes"] = []
    r = explain_flow(s, "ha", "hb", "tcp", 5432)
    assert r.verdict == "REJECT" and all(h.decision == "ACCEPT" for h in r.hops)
    assert r.return_hops[-1].key == "route:main:none" and r.return_hops[-1].decision == "REJECT"


def tgw_scenario():
    s = peered()
    for v in s["vpcs"].values():
        v.pop("peering_connections", None)
        v["route_tables"]["main"]["routes"] = [{"destination": "10.0.0.0/8", "target": "tgw:hub"},
                                               {"destination": "172.16.0.0/12", "target": "tgw:hub"}]
    s["transit_gateways"] = {"hub": {
        "attachments": {"att_a": {"vpc": "a", "route_table": "spokes"}, "att_b": {"vpc": "b", "route_table": "spokes"},
                        "att_c": {"vpc": "c", "route_table": "isolated"},
                        "office": {"kind": "vpn", "onprem_cidrs": ["172.16.0.0/16"], "route_table": "spokes"}},
        "route_tables": {
            "spokes": {"routes": [{"destination": "10.1.0.0/16", "target": "att_a"},
                                  {"destination": "10.2.0.0/16", "target": "att_b"},
                                  {"destination": "10.3.0.0/16", "target": "blackhole"},
                                  {"destination": "172.16.0.0/16", "target": "office"}]},
            "isolated": {"routes": [{"destination": "172.16.0.0/16", "target": "office"}]}}}}
    return s


def test_transit_gateway_routes_by_the_attachments_route_table():
    s = tgw_scenario()
    r = explain_flow(s, "ha", "hb", "tcp", 443)
    assert r.verdict == "ACCEPT" and "tgw:hub:spokes:10.2.0.0/16" in keys(r.hops)
    r = explain_flow(s, "ha", "hc", "tcp", 443)
    assert r.verdict == "REJECT" and r.hops[-1].key == "tgw:hub:spokes:10.3.0.0/16" and "blackhole" in r.hops[-1].note
    assert explain_flow(s, "ha", "onprem:172.16.4.4", "tcp", 22).verdict == "ACCEPT"
    r = explain_flow(s, "onprem:172.16.4.4", "hb", "tcp", 22)
    assert r.verdict == "REJECT" and r.hops[-1].key == "eni:hb:in:no-rule"  # hb's group allows 10.0.0.0/8 only
    s["vpcs"]["b"]["security_groups"]["open"]["inbound"].append({"protocol": "tcp", "ports": 22, "cidr": "172.16.0.0/12"})
    r = explain_flow(s, "onprem:172.16.4.4", "hb", "tcp", 22)
    assert r.verdict == "ACCEPT" and r.hops[0].key == "tgw:hub:spokes:10.2.0.0/16"
    # c's attachment table knows only the office: its traffic to a is dropped at the TGW
    r = explain_flow(s, "hc", "ha", "tcp", 443)
    assert r.verdict == "REJECT" and r.hops[-1].key == "tgw:hub:isolated:none"


def test_virtual_private_gateway_reaches_its_vpn_and_dx_networks_only():
    s = base()
    v = vpc(s)
    v["vpn_gateways"] = {"vgw1": {"vpn_connections": {"branch": {"onprem_cidrs": ["192.168.1.0/24"]}},
                                  "dx_interfaces": {"dc": {"onprem_cidrs": ["172.20.0.0/16"]}}}}
    v["route_tables"]["private"]["routes"] = [{"destination": "192.168.0.0/16", "target": "vgw:vgw1"},
                                              {"destination": "172.20.0.0/16", "target": "vgw:vgw1"}]
    r = explain_flow(s, "app", "onprem:192.168.1.7", "tcp", 22)
    assert r.verdict == "ACCEPT" and r.hops[-1].key == "vgw:vgw1" and "vpn:branch" in r.hops[-1].note
    assert "dx:dc" in explain_flow(s, "app", "onprem:172.20.3.3", "tcp", 22).hops[-1].note
    r = explain_flow(s, "app", "192.168.2.7", "tcp", 22)  # covered by the route, behind no connection
    assert r.verdict == "REJECT" and r.hops[-1].key == "vgw:vgw1"
    # from on-premises, the app tier's group must allow it
    vpc(s)["security_groups"]["app"]["inbound"].append({"protocol": "tcp", "ports": 22, "cidr": "192.168.1.0/24"})
    r = explain_flow(s, "onprem:192.168.1.7", "app", "tcp", 22)
    assert r.verdict == "ACCEPT" and r.return_hops[-1].key == "route:private:192.168.0.0/16"


def test_endpoints_by_ip_and_unknown_ones():
    s = base()
    assert explain_flow(s, "10.0.1.10", "10.0.2.10", "tcp", 8080).verdict == "ACCEPT"
    r = explain_flow(s, "internet:8.8.8.8", "54.0.0.1", "tcp", 443)  # a host's public address
    assert r.verdict == "ACCEPT" and r.dst == "web"
    with pytest.raises(EndpointError):
        explain_flow(s, "nobody", "web", "tcp", 443)
    with pytest.raises(EndpointError):
        explain_flow(s, "10.0.9.9", "web", "tcp", 443)  # inside the VPC, but no host has it
