"""The public firewall API: the seed's tables, AWS's own custom network ACL example, the input
formats, `explain`, and validation errors that name the field."""

from __future__ import annotations

import ipaddress

import numpy as np
import polars as pl
import pytest

from kernels.firewall import LINEAR_MAX_RULES
from kernels.ref.firewall import RefPacket, RefRule, acl_allows_ref, sg_allows_ref
from sim.network.firewall import AclRule, FirewallConfigError, NetworkAcl, SecurityGroup, SgRule
from sim.network.packets import PacketError, Packets


def entry(number, protocol, action, cidr, egress=False, ports=None, icmp=None):
    """One entry as `aws ec2 describe-network-acls` prints it."""
    e = {"RuleNumber": number, "Protocol": protocol, "RuleAction": action, "Egress": egress,
         ("Ipv6CidrBlock" if ":" in cidr else "CidrBlock"): cidr}
    if ports:
        e["PortRange"] = {"From": ports[0], "To": ports[1]}
    if icmp:
        e["IcmpTypeCode"] = {"Type": icmp[0], "Code": icmp[1]}
    return e


def pkt(src, dst, protocol=6, dst_port=0, src_port=0, icmp_type=0, icmp_code=0):
    return {"src_ip": src, "dst_ip": dst, "protocol": protocol, "dst_port": dst_port, "src_port": src_port,
            "icmp_type": icmp_type, "icmp_code": icmp_code}


# ---- the seed's default network ACL and security group ------------------------------------

# shared/seeds: "Network ACLs": 100 all 0.0.0.0/0 allow, 101 all ::/0 allow, * deny (IPv4 and IPv6),
# in both directions; describe-network-acls prints the * rules as number 32767.
DEFAULT_ACL = [entry(n, "-1", a, c, egress) for egress in (False, True)
               for n, a, c in ((100, "allow", "0.0.0.0/0"), (101, "allow", "::/0"),
                               (32767, "deny", "0.0.0.0/0"), (32767, "deny", "::/0"))]

# shared/seeds: "Security Group Rules" (inbound): SSH, RDP (IPv4 and IPv6), HTTPS (IPv4 and IPv6), all ICMP IPv4
SEED_SG_INGRESS = [
    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
     "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
    {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
     "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
    {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
]


def test_default_acl_allows_everything_both_ways():
    acl = NetworkAcl.from_entries(DEFAULT_ACL)
    assert [r.number for r in acl.rules("inbound")] == [100, 101]  # the 32767 entries are the implicit deny
    batch = {"src_ip": np.array(["203.0.113.9", "2001:db8::9", "10.0.0.5", "10.0.0.5"]),
             "dst_ip": np.array(["10.0.0.5", "2600:1f18::5", "8.8.8.8", "8.8.4.4"]),
             "protocol": np.array([6, 17, 1, 50]), "dst_port": np.array([22, 53, 0, 0]),
             "icmp_type": np.array([0, 0, 8, 0])}
    for direction in ("inbound", "outbound"):
        assert acl.evaluate(batch, direction).tolist() == [True] * 4
    assert acl.explain(pkt("2001:db8::9", "2600:1f18::5", 17, 53)).number == 101
    assert acl.explain(pkt("203.0.113.9", "10.0.0.5", 6, 22), "outbound").number == 100


def test_acl_without_its_allow_rules_denies_everything():
    only_star = [e for e in DEFAULT_ACL if e["RuleNumber"] == 32767]
    acl = NetworkAcl.from_entries(only_star)
    assert not acl.evaluate(pkt("1.2.3.4", "10.0.0.1", 6, 80)).any()
    assert acl.explain(pkt("1.2.3.4", "10.0.0.1", 6, 80)) is None


@pytest.mark.parametrize("packet, allowed, why", [
    (pkt("198.51.100.7", "10.0.0.5", 6, 22), True, ("tcp", 22, "0.0.0.0/0")),
    (pkt("2001:db8::7", "2600::5", 6, 22), False, None),  # SSH has no ::/0 rule
    (pkt("198.51.100.7", "10.0.0.5", 6, 3389), True, ("tcp", 3389, "0.0.0.0/0")),
    (pkt("2001:db8::7", "2600::5", 6, 3389), True, ("tcp", 3389, "::/0")),
    (pkt("2001:db8::7", "2600::5", 6, 443), True, ("tcp", 443, "::/0")),
    (pkt("198.51.100.7", "10.0.0.5", 6, 80), False, None),
    (pkt("198.51.100.7", "10.0.0.5", 17, 443), False, None),  # HTTPS rule is TCP only
    (pkt("198.51.100.7", "10.0.0.5", 1, icmp_type=8), True, ("icmp", -1, "0.0.0.0/0")),
    (pkt("198.51.100.7", "10.0.0.5", 1, icmp_type=3, icmp_code=4), True, ("icmp", -1, "0.0.0.0/0")),
    (pkt("2001:db8::7", "2600::5", 58, icmp_type=128), False, None),  # "All ICMP - IPv4" only
])
def test_seed_security_group(packet, allowed, why):
    sg = SecurityGroup.from_permissions(SEED_SG_INGRESS)
    assert sg.evaluate(packet).tolist() == [allowed]
    rule = sg.explain(packet)
    if why is None:
        assert rule is None
    else:
        proto = {"tcp": 6, "icmp": 1}[why[0]]
        assert isinstance(rule, SgRule)
        assert (rule.protocol, rule.port_from, rule.cidr) == (proto, why[1], why[2])
        assert rule.entry["IpProtocol"] == why[0]
    assert not sg.evaluate(packet, "outbound").any()  # no egress rules given


# ---- AWS's custom network ACL example --------------------------------------------------------
# Amazon VPC User Guide, "Control traffic to subnets using network ACLs", section "Custom network
# ACL" (https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html#custom-network-acl;
# source awsdocs/amazon-vpc-user-guide, doc_source/vpc-network-acls.md), the table for a VPC with
# an IPv6 CIDR block, transcribed as describe-network-acls entries.

CUSTOM_ACL = [
    entry(100, "6", "allow", "0.0.0.0/0", ports=(80, 80)),
    entry(105, "6", "allow", "::/0", ports=(80, 80)),
    entry(110, "6", "allow", "0.0.0.0/0", ports=(443, 443)),
    entry(115, "6", "allow", "::/0", ports=(443, 443)),
    entry(120, "6", "allow", "192.0.2.0/24", ports=(22, 22)),
    entry(130, "6", "allow", "192.0.2.0/24", ports=(3389, 3389)),
    entry(140, "6", "allow", "0.0.0.0/0", ports=(32768, 65535)),
    entry(145, "6", "allow", "::/0", ports=(32768, 65535)),
    entry(100, "6", "allow", "0.0.0.0/0", True, (80, 80)),
    entry(105, "6", "allow", "::/0", True, (80, 80)),
    entry(110, "6", "allow", "0.0.0.0/0", True, (443, 443)),
    entry(115, "6", "allow", "::/0", True, (443, 443)),
    entry(140, "6", "allow", "0.0.0.0/0", True, (32768, 65535)),
    entry(145, "6", "allow", "::/0", True, (32768, 65535)),
]
# The IPv4-only table of the same section also has outbound rule 120: TCP 1024-65535 to 192.0.2.0/24.
CUSTOM_ACL_V4 = [e for e in CUSTOM_ACL if "CidrBlock" in e] + [entry(120, "6", "allow", "192.0.2.0/24", True,
                                                                     (1024, 65535))]

WEB = "10.0.1.10"  # a web server in the subnet


@pytest.mark.parametrize("table, direction, packet, rule", [
    # The page's own walk-through: "destined for the HTTPS port (443) ... doesn't match rule 100 ...
    # does match the second rule (110)"; "destined for port 139 (NetBIOS) ... the * rule denies"
    (CUSTOM_ACL, "inbound", pkt("198.51.100.20", WEB, 6, 443, 50000), 110),
    (CUSTOM_ACL, "inbound", pkt("198.51.100.20", WEB, 6, 139, 50000), None),
    (CUSTOM_ACL, "inbound", pkt("198.51.100.20", WEB, 6, 80, 50000), 100),
    (CUSTOM_ACL, "inbound", pkt("192.0.2.44", WEB, 6, 22, 50000), 120),  # SSH from the home network
    (CUSTOM_ACL, "inbound", pkt("198.51.100.20", WEB, 6, 22, 50000), None),  # SSH from elsewhere
    (CUSTOM_ACL, "inbound", pkt("192.0.2.255", WEB, 6, 3389, 50000), 130),
    (CUSTOM_ACL, "inbound", pkt("192.0.3.0", WEB, 6, 3389, 50000), None),  # just outside 192.0.2.0/24
    (CUSTOM_ACL, "inbound", pkt("93.184.216.34", WEB, 6, 32768, 80), 140),  # return traffic, edge of the range
    (CUSTOM_ACL, "inbound", pkt("93.184.216.34", WEB, 6, 65535, 80), 140),
    (CUSTOM_ACL, "inbound", pkt("93.184.216.34", WEB, 6, 32767, 80), None),
    (CUSTOM_ACL, "inbound", pkt("93.184.216.34", WEB, 17, 40000, 53), None),  # UDP: no rule
    (CUSTOM_ACL, "inbound", pkt("93.184.216.34", WEB, 1, icmp_type=0), None),  # ICMP: no rule
    (CUSTOM_ACL, "inbound", pkt("2001:db8::20", "2600:1f18::10", 6, 80, 50000), 105),
    (CUSTOM_ACL, "inbound", pkt("2001:db8::20", "2600:1f18::10", 6, 443, 50000), 115),
    (CUSTOM_ACL, "inbound", pkt("2001:db8::20", "2600:1f18::10", 6, 22, 50000), None),  # SSH rule is IPv4 only
    (CUSTOM_ACL, "inbound", pkt("2001:db8::20", "2600:1f18::10", 6, 40000, 443), 145),
    (CUSTOM_ACL, "outbound", pkt(WEB, "93.184.216.34", 6, 80, 40000), 100),
    (CUSTOM_ACL, "outbound", pkt(WEB, "93.184.216.34", 6, 443, 40000), 110),
    (CUSTOM_ACL, "outbound", pkt(WEB, "198.51.100.20", 6, 50000, 443), 140),  # response to a web client
    (CUSTOM_ACL, "outbound", pkt(WEB, "198.51.100.20", 6, 25, 40000), None),
    (CUSTOM_ACL, "outbound", pkt("2600:1f18::10", "2001:db8::20", 6, 50000, 443), 145),
    (CUSTOM_ACL, "outbound", pkt(WEB, "192.0.2.44", 6, 1024, 22), None),  # the IPv6 table has no outbound 120
    (CUSTOM_ACL_V4, "outbound", pkt(WEB, "192.0.2.44", 6, 1024, 22), 120),  # SSH responses to the home network
    (CUSTOM_ACL_V4, "outbound", pkt(WEB, "198.51.100.20", 6, 1024, 22), None),
    (CUSTOM_ACL_V4, "inbound", pkt("2001:db8::20", "2600:1f18::10", 6, 80, 50000), None),  # no IPv6 rules
])
def test_aws_custom_acl_example(table, direction, packet, rule):
    acl = NetworkAcl.from_entries(table)
    got = acl.explain(packet, direction)
    assert (got.number if got else None) == rule
    assert acl.evaluate(packet, direction).tolist() == [rule is not None]  # every rule of the example allows
    if got:
        assert got.entry in table and got.action == "allow"


def test_deny_before_a_wide_allow():
    """The page's advice: a DENY for some ports placed before the ALLOW of a wide range."""
    acl = NetworkAcl.from_yaml([
        {"rule": 90, "direction": "inbound", "protocol": "tcp", "ports": "4444", "cidr": "0.0.0.0/0", "action": "deny"},
        {"rule": 100, "direction": "inbound", "protocol": "tcp", "ports": "1024-65535", "cidr": "0.0.0.0/0",
         "action": "allow"},
        {"rule": 200, "direction": "inbound", "protocol": "tcp", "ports": "4444", "cidr": "10.0.0.0/8", "action": "allow"},
    ])
    ports = np.array([1023, 1024, 4443, 4444, 4445, 65535])
    batch = {"src_ip": np.full(6, "10.1.2.3"), "dst_ip": np.full(6, "10.0.0.1"), "protocol": np.full(6, 6),
             "dst_port": ports}
    assert acl.evaluate(batch).tolist() == [False, True, True, False, True, True]
    assert acl.deciding_rule(batch).tolist() == [-1, 1, 1, 0, 1, 1]  # rule 200 never decides: 90 comes first


# ---- input formats --------------------------------------------------------------------------

def test_packet_formats_agree():
    acl = NetworkAcl.from_entries(CUSTOM_ACL)
    strings = {"src_ip": ["198.51.100.20", "192.0.2.44", "2001:db8::20", "1.2.3.4"],
               "dst_ip": [WEB, WEB, "2600:1f18::10", WEB], "protocol": [6, 6, 6, 17],
               "src_port": [50000] * 4, "dst_port": [443, 22, 80, 443]}
    want = [True, True, True, False]
    assert acl.evaluate(strings).tolist() == want
    assert acl.evaluate(pl.DataFrame(strings)).tolist() == want
    named = dict(strings, protocol=["tcp", "TCP", "6", "udp"])
    assert acl.evaluate(named).tolist() == want
    v4 = {k: [v for v, s in zip(vals, strings["src_ip"]) if ":" not in s] for k, vals in strings.items()}
    as_ints = dict(v4, src_ip=np.array([int(ipaddress.ip_address(a)) for a in v4["src_ip"]], np.uint32),
                   dst_ip=np.array([int(ipaddress.ip_address(a)) for a in v4["dst_ip"]], np.uint32))
    assert acl.evaluate(as_ints).tolist() == [True, True, False]
    assert acl.evaluate(pl.DataFrame(as_ints)).tolist() == [True, True, False]
    parsed = Packets.parse(strings)
    assert acl.evaluate(parsed).tolist() == want  # parse once, evaluate against many firewalls


@pytest.mark.parametrize("packets, message", [
    ({"src_ip": ["10.0.0.1"], "dst_ip": ["10.0.0.2"], "protocol": [6]}, "missing column 'dst_port'"),
    ({"src_ip": ["10.0.0.1"], "dst_ip": ["10.0.0.2"]}, "missing column 'protocol'"),
    ({"src_ip": ["10.0.0.300"], "dst_ip": ["10.0.0.2"], "protocol": [1]}, "src_ip: '10.0.0.300'"),
    ({"src_ip": ["10.0.0.1"], "dst_ip": ["2001:db8::1"], "protocol": [1]}, "different families"),
    ({"src_ip": ["10.0.0.1"], "dst_ip": ["fe80::zz"], "protocol": [1]}, "dst_ip: 'fe80::zz'"),
    ({"src_ip": ["10.0.0.1"], "dst_ip": ["10.0.0.2"], "protocol": [6], "dst_port": [70000]}, "dst_port: values"),
    ({"src_ip": ["10.0.0.1"], "dst_ip": ["10.0.0.2"], "protocol": ["sctp"]}, "unknown protocol 'sctp'"),
    ({"src_ip": np.array([-1]), "dst_ip": np.array([1]), "protocol": [1]}, "src_ip: IPv4 addresses as integers"),
])
def test_bad_packets_name_the_column(packets, message):
    with pytest.raises(PacketError, match=message):
        NetworkAcl.from_entries(DEFAULT_ACL).evaluate(packets)


# ---- validation -----------------------------------------------------------------------------

@pytest.mark.parametrize("bad, message", [
    ({"RuleNumber": 0}, r"entries\[0\].RuleNumber: 0 is out of 1..32767"),
    ({"RuleNumber": 40000}, r"entries\[0\].RuleNumber: 40000 is out of"),
    ({"RuleNumber": "abc"}, r"entries\[0\].RuleNumber: expected an integer"),
    ({"RuleNumber": 32767}, r"entries\[0\].RuleNumber: 32767 is the default"),
    ({"Protocol": "foo"}, r"entries\[0\].Protocol: unknown protocol 'foo'"),
    ({"Protocol": "300"}, r"entries\[0\].Protocol: unknown protocol '300'"),
    ({"RuleAction": "maybe"}, r"entries\[0\].RuleAction: expected allow or deny"),
    ({"Egress": "yes"}, r"entries\[0\].Egress: expected true or false"),
    ({"CidrBlock": "10.0.0.0/33"}, r"entries\[0\].CidrBlock: '10.0.0.0/33' is not a CIDR block"),
    ({"CidrBlock": "2001:db8::/32"}, r"entries\[0\].CidrBlock: '2001:db8::/32' is not an IPv4 CIDR block"),
    ({"Ipv6CidrBlock": "::/0"}, r"entries\[0\]: needs exactly one of CidrBlock and Ipv6CidrBlock"),
    ({"PortRange": {"From": 0, "To": 70000}}, r"entries\[0\].PortRange.To: 70000 is out of 0..65535"),
    ({"PortRange": {"From": -1, "To": 80}}, r"entries\[0\].PortRange.From: -1 is out of 0..65535"),
    ({"PortRange": {"From": 443, "To": 80}}, r"entries\[0\].PortRange.From: port range 443-80 runs backwards"),
    ({"PortRange": None}, r"entries\[0\].PortRange: required for protocol 6"),
])
def test_bad_acl_entries_name_the_field(bad, message):
    good = entry(100, "6", "allow", "0.0.0.0/0", ports=(80, 80))
    with pytest.raises(FirewallConfigError, match=message):
        NetworkAcl.from_entries([{**good, **bad}])


def test_acl_entry_errors_carry_their_index_and_duplicates_are_refused():
    with pytest.raises(FirewallConfigError, match=r"entries\[2\].IcmpTypeCode.Type: 300 is out of -1..255"):
        NetworkAcl.from_entries(DEFAULT_ACL[:2] + [entry(110, "1", "allow", "0.0.0.0/0", icmp=(300, 0))])
    with pytest.raises(FirewallConfigError, match="inbound rule 100: duplicate rule number"):
        NetworkAcl.from_entries([entry(100, "-1", "allow", "0.0.0.0/0"), entry(100, "-1", "deny", "::/0")])
    # the same number in the two directions is fine
    NetworkAcl.from_entries([entry(100, "-1", "allow", "0.0.0.0/0"), entry(100, "-1", "deny", "0.0.0.0/0", True)])


@pytest.mark.parametrize("bad, message", [
    ({"prot": "tcp"}, r"rules\[0\].prot: unknown key"),
    ({"rule": 32767}, r"rules\[0\].rule: 32767 is out of 1..32766"),
    ({"direction": "in"}, r"rules\[0\].direction: expected inbound or outbound"),
    ({"ports": "80-70000"}, r"rules\[0\].ports: 70000 is out of 0..65535"),
    ({"ports": "90-80"}, r"rules\[0\].ports: port range 90-80 runs backwards"),
    ({"protocol": "icmp", "ports": "80"}, r"rules\[0\].ports: ports apply to tcp and udp only"),
    ({"protocol": "gre"}, r"rules\[0\].protocol: unknown protocol 'gre'"),
    ({"cidr": "10.0.0.0/8/8"}, r"rules\[0\].cidr: '10.0.0.0/8/8' is not a CIDR block"),
])
def test_bad_yaml_rules_name_the_field(bad, message):
    good = {"rule": 100, "direction": "inbound", "protocol": "tcp", "ports": "80", "cidr": "0.0.0.0/0",
            "action": "allow"}
    with pytest.raises(FirewallConfigError, match=message):
        NetworkAcl.from_yaml([{**good, **bad}])


def test_yaml_and_describe_forms_agree():
    yaml_acl = NetworkAcl.from_yaml([
        {"rule": 100, "direction": "inbound", "protocol": "tcp", "ports": 80, "cidr": "0.0.0.0/0", "action": "allow"},
        {"rule": 110, "direction": "inbound", "protocol": "icmp", "icmp_type": 3, "icmp_code": 4, "cidr": "0.0.0.0/0",
         "action": "allow"},
        {"rule": 120, "direction": "outbound", "protocol": "all", "cidr": "::/0", "action": "deny"},
        {"rule": 130, "direction": "outbound", "protocol": 47, "cidr": "10.0.0.0/8", "action": "allow"},
    ])
    describe_acl = NetworkAcl.from_entries([
        entry(100, "6", "allow", "0.0.0.0/0", ports=(80, 80)), entry(110, "1", "allow", "0.0.0.0/0", icmp=(3, 4)),
        entry(120, "-1", "deny", "::/0", True), entry(130, "47", "allow", "10.0.0.0/8", True)])
    strip = lambda rules: [AclRule(**{**r.__dict__, "entry": None}) for r in rules]  # noqa: E731
    for direction in ("inbound", "outbound"):
        assert strip(yaml_acl.rules(direction)) == strip(describe_acl.rules(direction))


@pytest.mark.parametrize("perm, message", [
    ({"IpProtocol": "tcp", "FromPort": 80, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
     r"IpPermissions\[0\].FromPort: port range 80-22 runs backwards"),
    ({"IpProtocol": "udp", "FromPort": 0, "ToPort": 65536, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
     r"IpPermissions\[0\].ToPort: 65536 is out of 0..65535"),
    ({"IpProtocol": "tcp", "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
     r"IpPermissions\[0\].FromPort: expected an integer"),
    ({"IpProtocol": "icmp", "FromPort": 256, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
     r"IpPermissions\[0\].FromPort: 256 is out of -1..255"),
    ({"IpProtocol": "tcpp", "FromPort": 1, "ToPort": 2, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
     r"IpPermissions\[0\].IpProtocol: unknown protocol 'tcpp'"),
    ({"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.0.0.0/40"}]},
     r"IpPermissions\[0\].IpRanges\[0\].CidrIp: '10.0.0.0/40' is not a CIDR block"),
    ({"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "10.0.0.0/8"}]},
     r"IpPermissions\[0\].Ipv6Ranges\[0\].CidrIpv6: '10.0.0.0/8' is not an IPv6 CIDR block"),
    ({"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-404"}]},
     r"IpPermissions\[0\].UserIdGroupPairs\[0\].GroupId: members of 'sg-404' unknown"),
    ({"IpProtocol": "-1"}, r"IpPermissions\[0\]: no source or destination"),
])
def test_bad_permissions_name_the_field(perm, message):
    with pytest.raises(FirewallConfigError, match=message):
        SecurityGroup.from_permissions([perm])


def test_referenced_group_members_and_combined_groups():
    """nacl-examples on the same page: all traffic between members of sg-1234567890abcdef0, SSH from
    the remote computer 172.31.1.2/32."""
    sg = SecurityGroup.from_permissions(
        [{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-1234567890abcdef0"}]},
         {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "172.31.1.2/32"}]}],
        [{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-1234567890abcdef0"}]}],
        group_members={"sg-1234567890abcdef0": ["10.0.1.5", "10.0.1.6", "2600:1f18::6"]})
    batch = {"src_ip": ["10.0.1.6", "10.0.1.7", "172.31.1.2", "172.31.1.2", "2600:1f18::6"],
             "dst_ip": ["10.0.1.5", "10.0.1.5", "10.0.1.5", "10.0.1.5", "2600:1f18::5"],
             "protocol": [17, 17, 6, 6, 6], "dst_port": [8125, 8125, 22, 80, 9000]}
    assert sg.evaluate(batch).tolist() == [True, False, True, False, True]
    assert sg.explain({"src_ip": "10.0.1.6", "dst_ip": "10.0.1.5", "protocol": 17, "dst_port": 1}).group_id == \
        "sg-1234567890abcdef0"
    web = SecurityGroup.from_permissions([{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                                           "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    both = SecurityGroup.combine([sg, web])
    assert both.evaluate(batch).tolist() == [True, False, True, True, True]


# ---- the public API against the twins, on the linear path and on the cross-product path ------

@pytest.mark.parametrize("n_rules", [12, LINEAR_MAX_RULES + 1, 300])
def test_api_matches_twins_on_both_paths(n_rules):
    rng = np.random.default_rng(n_rules)
    protos = ["-1", "6", "17", "1", "58"]
    entries, sg_perms, refs = [], [], []
    for i in range(n_rules):
        v6 = rng.random() < 0.3
        plen = int(rng.choice([0, 8, 16, 24, 32] if not v6 else [0, 32, 48, 64, 128]))
        base = ipaddress.ip_address("2001:db8::" if v6 else "10.0.0.0")
        host = int(base) + int(rng.integers(0, 2**(48 if v6 else 16)))
        net = ipaddress.ip_network((host, plen), strict=False)
        proto = str(rng.choice(protos if not v6 else ["-1", "6", "17", "58"]))
        a = int(rng.choice([0, 22, 80, 443, 1024, 32768]))
        b = int(rng.choice([a, 65535]))
        typ = int(rng.choice([-1, 0, 3, 8, 128]))
        e = entry(i + 1, proto, str(rng.choice(["allow", "deny"])), str(net), ports=(a, b) if proto in ("6", "17")
                  else None, icmp=(typ, -1) if proto in ("1", "58") else None)
        entries.append(e)
        perm = {"IpProtocol": proto, ("Ipv6Ranges" if v6 else "IpRanges"): [{("CidrIpv6" if v6 else "CidrIp"): str(net)}]}
        if proto in ("6", "17"):
            perm.update(FromPort=a, ToPort=b)
        elif proto in ("1", "58"):
            perm.update(FromPort=typ, ToPort=-1)
        sg_perms.append(perm)
        refs.append(RefRule(net, int(proto), a, b, typ, -1))
    n = 400
    v6 = rng.random(n) < 0.3
    src = [str(ipaddress.ip_address(int(ipaddress.ip_address("2001:db8::" if x else "10.0.0.0"))
                                    + int(rng.integers(0, 2**(48 if x else 16))))) for x in v6]
    proto = np.where(v6, rng.choice([6, 17, 58], n), rng.choice([6, 17, 1, 47], n))
    port = rng.choice([0, 22, 80, 443, 1023, 1024, 40000, 65535], n)
    icmp_type = rng.choice([0, 3, 8, 128], n)
    batch = {"src_ip": src, "dst_ip": ["2600:1f18::1" if x else "10.1.0.1" for x in v6], "protocol": proto,
             "dst_port": port, "icmp_type": icmp_type}
    acl = NetworkAcl.from_entries(entries)
    sg = SecurityGroup.from_permissions(sg_perms)
    got_acl, got_sg = acl.evaluate(batch).tolist(), sg.evaluate(batch).tolist()
    actions = [e["RuleAction"] for e in entries]
    for k in range(n):
        p = RefPacket(ipaddress.ip_address(src[k]), int(proto[k]), int(port[k]), int(icmp_type[k]), 0)
        assert got_acl[k] == acl_allows_ref(refs, actions, p)
        assert got_sg[k] == sg_allows_ref(refs, p)


def test_too_many_classes_fall_back_to_the_linear_scan(monkeypatch):
    import kernels.firewall as kf
    entries = [entry(i + 1, "6", "allow" if i % 3 else "deny", f"10.{i % 7}.{i}.0/24", ports=(i, i + 100))
               for i in range(LINEAR_MAX_RULES + 30)]
    rng = np.random.default_rng(3)
    batch = {"src_ip": [f"10.{a}.{b}.9" for a, b in zip(rng.integers(0, 7, 500), rng.integers(0, 120, 500))],
             "dst_ip": ["10.9.9.9"] * 500, "protocol": [6] * 500, "dst_port": rng.integers(0, 250, 500)}
    want = NetworkAcl.from_entries(entries).deciding_rule(batch)
    monkeypatch.setattr(kf, "CROSS_MAX_CELLS", 1)
    with pytest.raises(kf.TableTooLarge):
        kf.cross_index_v4(np.zeros(2, np.uint32), np.zeros(2, np.uint32), np.array([0, 5], np.uint32),
                          np.array([3, 9], np.uint32))
    assert NetworkAcl.from_entries(entries).deciding_rule(batch).tolist() == want.tolist()
    assert (want >= 0).any() and (want == -1).any()
