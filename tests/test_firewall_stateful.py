"""Stateless network ACLs against stateful security groups: the return traffic of a flow.

A network ACL judges the response on its own (it must allow the client's ephemeral ports:
Linux 32768–61000, NAT gateway and ELB 1024–65535, Windows 49152–65535; vpc-network-acls.md);
a security group lets it through because the flow is tracked (security-group-connection-tracking.md).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.network.firewall import TRACKED, NetworkAcl, SecurityGroup
from sim.network.packets import reverse

INSTANCE, SERVER = "10.0.1.10", "93.184.216.34"

ACL_OUT_HTTPS = {"rule": 100, "direction": "outbound", "protocol": "tcp", "ports": "443", "cidr": "0.0.0.0/0",
                 "action": "allow"}
SG_OUT_HTTPS = [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]


def requests(src_ports):
    """HTTPS requests from the instance to a server on the internet, one per client port."""
    n = len(src_ports)
    return {"src_ip": np.full(n, INSTANCE), "dst_ip": np.full(n, SERVER), "protocol": np.full(n, 6),
            "src_port": np.asarray(src_ports), "dst_port": np.full(n, 443)}


def outbound_flow(req, *, acl=None, sg=None):
    """(request leaves, response comes back) per packet, through the instance's ACL and group."""
    resp = reverse(req)
    n = len(req["src_port"])
    out = np.ones(n, bool)
    if sg:
        out &= sg.evaluate(req, "outbound")
    if acl:
        out &= acl.evaluate(req, "outbound")
    back = out.copy()
    if acl:
        back &= acl.evaluate(resp, "inbound")
    if sg:
        back &= sg.evaluate(resp, "inbound", tracked=out)
    return out, back


LINUX = [32768, 40000, 61000]  # Amazon Linux ephemeral ports
NAT = [1024, 1500, 65535]  # a NAT gateway's source ports


def test_acl_without_return_rule_rejects_the_flow_security_group_alone_passes():
    acl = NetworkAcl.from_yaml([ACL_OUT_HTTPS])  # no inbound rule for the responses
    sg = SecurityGroup.from_permissions([], SG_OUT_HTTPS)  # no inbound rule at all
    req = requests(LINUX + NAT)
    out, back = outbound_flow(req, acl=acl)
    assert out.all() and not back.any()  # stateless: the response is denied by the `*` rule
    out, back = outbound_flow(req, sg=sg)
    assert out.all() and back.all()  # stateful: the response is tracked
    out, back = outbound_flow(req, acl=acl, sg=sg)
    assert out.all() and not back.any()  # both: the ACL still drops it
    resp = reverse({k: v[0] for k, v in req.items()})
    assert sg.explain(resp, "inbound", tracked=True) is TRACKED
    assert sg.explain(resp, "inbound") is None and acl.explain(resp, "inbound") is None


@pytest.mark.parametrize("ports, passes", [
    ("32768-61000", [True, True, True, False, False, False]),  # Linux clients only
    ("32768-65535", [True, True, True, False, False, True]),  # AWS's example rule 140
    ("1024-65535", [True, True, True, True, True, True]),  # covers NAT gateways and ELB too
])
def test_ephemeral_port_rule_decides_which_responses_return(ports, passes):
    acl = NetworkAcl.from_yaml([ACL_OUT_HTTPS, {"rule": 140, "direction": "inbound", "protocol": "tcp", "ports": ports,
                                                "cidr": "0.0.0.0/0", "action": "allow"}])
    out, back = outbound_flow(requests(LINUX + NAT), acl=acl)
    assert out.all() and back.tolist() == passes


def test_inbound_flow_to_a_web_server():
    """A client on the internet calls the instance; the responses leave through the outbound rules."""
    acl = NetworkAcl.from_yaml([
        {"rule": 110, "direction": "inbound", "protocol": "tcp", "ports": 443, "cidr": "0.0.0.0/0", "action": "allow"},
        {"rule": 140, "direction": "outbound", "protocol": "tcp", "ports": "32768-65535", "cidr": "0.0.0.0/0",
         "action": "allow"}])
    sg = SecurityGroup.from_permissions([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                                          "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}], [])  # no egress rules
    client_ports = np.array([49152, 65535, 1025, 5000])  # Windows Server 2008+, then Windows XP's 1025-5000
    n = len(client_ports)
    req = {"src_ip": np.full(n, SERVER), "dst_ip": np.full(n, INSTANCE), "protocol": np.full(n, 6),
           "src_port": client_ports, "dst_port": np.full(n, 443)}
    resp = reverse(req)
    inbound = acl.evaluate(req, "inbound") & sg.evaluate(req, "inbound")
    assert inbound.all()
    assert sg.evaluate(resp, "outbound", tracked=inbound).all()
    assert not sg.evaluate(resp, "outbound").any()  # without tracking nothing could leave
    assert acl.evaluate(resp, "outbound").tolist() == [True, True, False, False]


def test_icmp_echo_reply_is_tracked():
    sg = SecurityGroup.from_permissions([], [{"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1,
                                              "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ping = {"src_ip": INSTANCE, "dst_ip": SERVER, "protocol": 1, "icmp_type": 8, "icmp_code": 0}
    reply = reverse(ping)
    assert reply["icmp_type"].tolist() == [0]
    assert sg.evaluate(ping, "outbound").all()
    assert not sg.evaluate(reply, "inbound").any()
    assert sg.evaluate(reply, "inbound", tracked=sg.evaluate(ping, "outbound")).all()


def test_untracked_flows():
    """security-group-connection-tracking.md's example: inbound TCP 22 from 203.0.113.1/32, TCP 80
    from 0.0.0.0/0 and ::/0, all ICMP; outbound all traffic to 0.0.0.0/0 and ::/0. SSH is tracked
    (not from all addresses), HTTP is not, ICMP always is."""
    ingress = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "203.0.113.1/32"}]},
               {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
               {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    egress = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}]
    sg = SecurityGroup.from_permissions(ingress, egress)
    batch = {"src_ip": ["203.0.113.1", "198.51.100.1", "2001:db8::1", "198.51.100.1"],
             "dst_ip": [INSTANCE, INSTANCE, "2600:1f18::10", INSTANCE],
             "protocol": [6, 6, 6, 1], "dst_port": [22, 80, 80, 0], "src_port": [50000] * 3 + [0],
             "icmp_type": [0, 0, 0, 8]}
    assert sg.evaluate(batch, "inbound").all()
    assert sg.untracked(batch, "inbound").tolist() == [False, True, True, False]
    # the response of an untracked flow is allowed by the outbound rule itself, tracking or not
    assert sg.evaluate(reverse(batch), "outbound").all()
    # with outbound limited to HTTPS, HTTP is tracked again
    narrow = SecurityGroup.from_permissions(ingress, SG_OUT_HTTPS)
    assert not narrow.untracked(batch, "inbound").any()
