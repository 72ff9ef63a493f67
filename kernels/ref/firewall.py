"""Plain-Python twins of `kernels.firewall`, on `ipaddress` objects, written for obviousness.

A rule is read as AWS describes it, not as the kernels encode it: a CIDR, a protocol (-1 all),
a port range for TCP and UDP, an ICMP type and code (-1 all) for ICMP and ICMPv6.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from kernels.firewall import ICMP_PROTOCOLS, PORT_PROTOCOLS, PROTO_ALL as ALL  # noqa: F401 (one definition)


@dataclass(frozen=True)
class RefRule:
    """One rule: the remote side's CIDR, protocol, ports, ICMP type and code."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    protocol: int = ALL
    port_from: int = 0
    port_to: int = 65535
    icmp_type: int = ALL
    icmp_code: int = ALL


@dataclass(frozen=True)
class RefPacket:
    """One packet as a rule sees it: the remote side's address, protocol, destination port, ICMP."""

    remote: ipaddress.IPv4Address | ipaddress.IPv6Address
    protocol: int
    dst_port: int = 0
    icmp_type: int = 0
    icmp_code: int = 0


def matches_ref(rule: RefRule, packet: RefPacket) -> bool:
    """True when `rule` covers `packet`."""
    if packet.remote.version != rule.network.version or packet.remote not in rule.network:
        return False
    if rule.protocol == ALL:
        return True
    if packet.protocol != rule.protocol:
        return False
    if rule.protocol in PORT_PROTOCOLS:
        return rule.port_from <= packet.dst_port <= rule.port_to
    if rule.protocol in ICMP_PROTOCOLS and rule.icmp_type != ALL:
        return packet.icmp_type == rule.icmp_type and rule.icmp_code in (ALL, packet.icmp_code)
    return True


def first_match_ref(rules, values, default, packet: RefPacket):
    """`values[i]` of the first rule in `rules` that covers `packet`, else `default`."""
    for rule, value in zip(rules, values):
        if matches_ref(rule, packet):
            return value
    return default


def acl_allows_ref(rules, actions, packet: RefPacket) -> bool:
    """A network ACL: rules in rule-number order, the first match decides, none matching denies."""
    return first_match_ref(rules, actions, "deny", packet) == "allow"


def sg_allows_ref(rules, packet: RefPacket) -> bool:
    """A security group: allowed when any rule covers the packet."""
    return any(matches_ref(rule, packet) for rule in rules)


def dotted_quad_ref(text: str) -> int | None:
    """The IPv4 address a dotted quad names, or None when `ipaddress` does not read it as one."""
    try:
        return int(ipaddress.IPv4Address(text))
    except ValueError:
        return None


def l4_keys_ref(columns: dict, n: int) -> tuple[set, bool, list, dict]:
    """The twin of `kernels.firewall.l4_keys` on `n` packets given as a dict of lists of ints (a column absent or None
    when not given; then its values read as 0): the names of the columns holding a value out of
    range (addresses 32 bits, protocol 8, ports 16, ICMP type and code 8), whether any packet is
    TCP or UDP, each packet's protocol << 16 | key (the destination port for TCP and UDP,
    type << 8 | code for ICMP and ICMPv6, else 0), and the address columns as given."""
    ranges = {"src_ip": 2**32 - 1, "dst_ip": 2**32 - 1, "protocol": 255, "src_port": 65535, "dst_port": 65535,
              "icmp_type": 255, "icmp_code": 255}
    given = {name: col for name, col in columns.items() if col is not None}
    bad = {name for name, col in given.items() if any(not 0 <= v <= ranges[name] for v in col)}

    def value(name, k):
        return given[name][k] if name in given else 0

    keys = []
    for k in range(n):
        protocol = value("protocol", k)
        if protocol in PORT_PROTOCOLS:
            key = value("dst_port", k)
        elif protocol in ICMP_PROTOCOLS:
            key = value("icmp_type", k) * 256 + value("icmp_code", k)
        else:
            key = 0
        keys.append(protocol * 65536 + key)
    any_ports = any(p in PORT_PROTOCOLS for p in given.get("protocol", []))
    return bad, any_ports, keys, {name: given[name] for name in ("src_ip", "dst_ip") if name in given}
