"""Checks of the VPC part of a scenario: addresses, routes, firewall rules, hosts, flows and Direct
Connect (connections, LAGs, the DX interfaces riding them), each with its YAML path.

Also fills in what AWS would assign: a host's or NAT gateway's missing private IP (the subnet's
first free address after the four AWS reserves) and empty flow names (`flow{i}`).
"""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Dict, List, Optional, Tuple

from scenarios.errors import Problems
from scenarios.schema import Scenario
from scenarios.vpc import AclEntry, DirectConnect, DxConnection, Flow, SgRuleConfig, TransitGateway, Vpc
from scenarios.yamlpath import index, key, num

# Protocol names users write, to IANA numbers (-1: all). The kernels name the same numbers
# (kernels.firewall TCP, UDP, ICMP, ICMPV6; tests/test_house.py checks they agree).
PROTOCOLS = {"all": -1, "-1": -1, "tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58}
PORT_PROTOCOLS = (PROTOCOLS["tcp"], PROTOCOLS["udp"])
RULE_NUMBERS = (1, 32766)  # network ACL rule numbers (vpc-network-acls.md)
VPC_PREFIX = (16, 28)  # VPC and subnet IPv4 blocks: /16 to /28 (vpc-cidr-blocks.md)
HOST_KINDS = ("instance", "lambda", "fargate")
OS_KINDS = ("linux", "windows")
ENDPOINT_KINDS = ("internet", "onprem")
_PORTS = re.compile(r"\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*)?")
# Direct Connect port speeds AWS offers, Gbit/s, each with the capacity label of its usage type
# (PortUsage-<label>-Dedicated / -Hosted, as in configs/pricing/): FACTS "Direct Connect
# dedicated" (1, 10, 100, 400 Gbps) and "Direct Connect hosted" (50, 100, 200, 300, 400,
# 500 Mbps; 1, 2, 5, 10, 25 Gbps; DX pricing, API_AllocateHostedConnection).
DX_SPEEDS: Dict[str, Dict[float, str]] = {
    "dedicated": {1.0: "1G", 10.0: "10G", 100.0: "100G", 400.0: "400G"},
    "hosted": {0.05: "50M", 0.1: "100M", 0.2: "200M", 0.3: "300M", 0.4: "400M", 0.5: "500M",
               1.0: "1G", 2.0: "2G", 5.0: "5G", 10.0: "10G", 25.0: "25G"},
}
# A LAG: dedicated connections of one speed, up to 4 below 100 Gbit/s and 2 at 100 or 400
# Gbit/s (FACTS "DX LAG", lags.md).
DX_LAG_MAX = ((100.0, 2), (0.0, 4))  # (from this speed, Gbit/s; at most this many connections)
# BGP hold timer: AWS's default 90 s, minimum 3 s (FACTS "DX BGP", bgp-specific-settings).
DX_HOLD_TIME_MIN_S = 3.0
DX_HOLD_TIME_DEFAULT_S = 90.0


def check_vpcs(s: Scenario, problems: Problems) -> None:
    """Report every problem of `s.vpcs`, `s.transit_gateways` and `s.flows`."""
    names: Dict[str, Dict[str, str]] = {"host": {}, "nat": {}, "peering": {}, "vgw": {}}
    public: Dict[str, str] = {}
    _check_direct_connect(s, problems)
    for vname, vpc in s.vpcs.items():
        _check_vpc(s, vname, vpc, key("vpcs", vname), names, public, problems)
    for tname, tgw in s.transit_gateways.items():
        _check_tgw(s, tname, tgw, key("transit_gateways", tname), problems)
    for vname, vpc in s.vpcs.items():
        _check_routes(s, vname, vpc, key("vpcs", vname), problems)
    seen: Dict[str, int] = {}
    for i, f in enumerate(s.flows):
        _check_flow(s, i, f, seen, problems)
    for name, fn in s.functions.items():
        _check_function_vpc(s, key("functions", name), fn, problems)
    for name, sv in s.services.items():  # ECS services on Fargate: their tasks' awsvpc configuration
        _check_function_vpc(s, key("services", name), sv, problems)


# ---- small readers ---------------------------------------------------------------------------

def network(text, path: str, problems: Problems, version: Optional[int] = None):
    """An ip_network from CIDR `text`, or None after recording why not."""
    try:
        net = ipaddress.ip_network(str(text).strip(), strict=True)
    except ValueError as e:
        why = "has host bits set" if "host bits" in str(e) else "is not a CIDR block"
        problems.add(path, f"{text!r} {why}" + (" (expected an IPv4 block such as 10.0.0.0/16)" if version == 4 else ""))
        return None
    if version and net.version != version:
        problems.add(path, f"{text!r} is not an IPv{version} CIDR block")
        return None
    return net


def address(text, path: str, problems: Problems, version: int = 4):
    try:
        a = ipaddress.ip_address(str(text).strip())
    except ValueError:
        problems.add(path, f"{text!r} is not an IP address")
        return None
    if a.version != version:
        problems.add(path, f"{text!r} is not an IPv{version} address")
        return None
    return a


def protocol_number(value) -> Optional[int]:
    """The IANA number of a protocol name or number (-1 all), or None."""
    text = str(value).strip().lower()
    if text in PROTOCOLS:
        return PROTOCOLS[text]
    if text.isdigit() and int(text) <= 255:
        return int(text)
    return None


def port_range(value) -> Optional[Tuple[int, int]]:
    """(from, to) of a port, "from-to" or all; None when unreadable."""
    text = str(value).strip().lower()
    if text == "all":
        return 0, 65535
    m = _PORTS.fullmatch(text)
    if m is None:
        return None
    a = int(m.group(1))
    return a, int(m.group(2)) if m.group(2) is not None else a


def _check_protocol_ports(rule, path: str, problems: Problems) -> None:
    proto = protocol_number(rule.protocol)
    if proto is None:
        problems.add(key(path, "protocol"), f"unknown protocol {rule.protocol!r}; use all, tcp, udp, icmp, icmpv6 or a"
                                            " number 0-255")
        return
    ports = port_range(rule.ports)
    if ports is None:
        problems.add(key(path, "ports"), f"{rule.ports!r} is not a port, a range such as 1024-65535, or all")
    elif proto in PORT_PROTOCOLS:
        a, b = ports
        for p in (a, b):
            if not 0 <= p <= 65535:
                problems.add(key(path, "ports"), f"port {p} is out of range (allowed 0-65535)")
                return
        if a > b:
            problems.add(key(path, "ports"), f"port range {a}-{b} runs backwards")
    elif str(rule.ports).strip().lower() != "all":
        problems.add(key(path, "ports"), f"ports apply to tcp and udp only (protocol is {rule.protocol!r})")
    for f in ("icmp_type", "icmp_code"):
        v = getattr(rule, f)
        if not -1 <= v <= 255:
            problems.add(key(path, f), f"{v} is out of range (allowed -1 for all, or 0-255)")


# ---- one VPC ---------------------------------------------------------------------------------

def vpc_blocks(vpc: Vpc) -> List:
    """The VPC's valid IPv4 and IPv6 blocks."""
    out = []
    for text in [vpc.cidr, *vpc.secondary_cidrs, *([vpc.ipv6_cidr] if vpc.ipv6_cidr else [])]:
        try:
            out.append(ipaddress.ip_network(text, strict=True))
        except ValueError:
            pass
    return out


def _check_vpc(s: Scenario, vname: str, vpc: Vpc, path: str, names: Dict[str, Dict[str, str]],
               public: Dict[str, str], problems: Problems) -> None:
    blocks = []
    if not vpc.cidr:
        problems.add(key(path, "cidr"), "is required: the VPC's IPv4 block, such as 10.0.0.0/16")
    for p, text in [(key(path, "cidr"), vpc.cidr), *((index(key(path, "secondary_cidrs"), i), c)
                                                      for i, c in enumerate(vpc.secondary_cidrs))]:
        if not text:
            continue
        net = network(text, p, problems, 4)
        if net is None:
            continue
        if not VPC_PREFIX[0] <= net.prefixlen <= VPC_PREFIX[1]:
            problems.add(p, f"{net} is a /{net.prefixlen}; VPC blocks are /16 to /28")
        for other in blocks:
            if net.overlaps(other):
                problems.add(p, f"{net} overlaps the VPC's block {other}")
        blocks.append(net)
    if vpc.ipv6_cidr:
        network(vpc.ipv6_cidr, key(path, "ipv6_cidr"), problems, 6)
    if not (vpc.account_id.isdigit() and len(vpc.account_id) == 12):
        problems.add(key(path, "account_id"), f"{vpc.account_id!r} is not a 12-digit AWS account id")
    subnets = _check_subnets(vpc, key(path, "subnets"), blocks, problems)
    if vpc.main_route_table is not None and vpc.main_route_table not in vpc.route_tables:
        problems.add(key(path, "main_route_table"), _missing("route table", vpc.main_route_table, vpc.route_tables))
    for aname, acl in vpc.network_acls.items():
        seen: Dict[Tuple[str, int], int] = {}
        for i, r in enumerate(acl.rules):
            _check_acl_rule(r, i, index(key(key(key(path, "network_acls"), aname), "rules"), i), seen, problems)
    for gname, sg in vpc.security_groups.items():
        gpath = key(key(path, "security_groups"), gname)
        for direction in ("inbound", "outbound"):
            for i, r in enumerate(getattr(sg, direction) or []):
                _check_sg_rule(s, vname, vpc, r, index(key(gpath, direction), i), problems)
    used: Dict[ipaddress.IPv4Address, str] = {}
    for hname, host in vpc.hosts.items():
        hpath = key(key(path, "hosts"), hname)
        _unique(names["host"], hname, hpath, "host", problems)
        _check_host(vpc, hname, host, hpath, subnets, used, public, problems)
        if host.bandwidth_gbps is not None and not (isinstance(host.bandwidth_gbps, (int, float))
                                                    and host.bandwidth_gbps > 0):
            problems.add(key(hpath, "bandwidth_gbps"), f"{host.bandwidth_gbps!r} must be a bandwidth > 0 Gbit/s")
        if (host.bandwidth_gbps is not None or host.outages) and not host.nat:
            problems.add(key(hpath, "bandwidth_gbps" if host.bandwidth_gbps is not None else "outages"),
                         "only a NAT instance (nat: true) is a link of the sharing")
        elif host.outages and host.bandwidth_gbps is None:
            problems.add(key(hpath, "outages"), "a NAT instance that fails needs its bandwidth_gbps (its instance"
                                                " type's network performance), or it is no link to take down")
        check_outages(host.outages, hpath, s.duration_s, problems)
    for nname, nat in vpc.nat_gateways.items():
        npath = key(key(path, "nat_gateways"), nname)
        _unique(names["nat"], nname, npath, "NAT gateway", problems)
        _check_nat(vpc, nat, npath, subnets, used, public, problems)
        check_outages(nat.outages, npath, s.duration_s, problems)
    _assign_addresses(vpc, subnets, used)
    for ename, ep in vpc.gateway_endpoints.items():
        epath = key(key(path, "gateway_endpoints"), ename)
        if ep.service not in GATEWAY_ENDPOINT_SERVICES:
            problems.add(key(epath, "service"), f"{ep.service!r} has no gateway endpoint; allowed: "
                                                f"{', '.join(GATEWAY_ENDPOINT_SERVICES)} (others use interface endpoints)")
        if not ep.cidrs:
            problems.add(key(epath, "cidrs"), "needs the service's address blocks its routes name (e.g. 52.216.0.0/15)")
        for i, c in enumerate(ep.cidrs):
            network(c, index(key(epath, "cidrs"), i), problems, version=4)
    for ename, ep in vpc.interface_endpoints.items():
        epath = key(key(path, "interface_endpoints"), ename)
        if ename in vpc.gateway_endpoints:
            problems.add(epath, f"{ename!r} is also a gateway endpoint's name; endpoint names are unique in a VPC")
        if not ep.service:
            problems.add(key(epath, "service"), "is required: the AWS service, e.g. sqs")
        if not ep.cidrs:
            problems.add(key(epath, "cidrs"), "needs the service's address blocks (what its name resolves to otherwise)")
        for i, c in enumerate(ep.cidrs):
            network(c, index(key(epath, "cidrs"), i), problems, version=4)
        if not ep.subnets:
            problems.add(key(epath, "subnets"), "needs at least one subnet (one interface per AZ)")
        azs: Dict[str, int] = {}
        for i, sub in enumerate(ep.subnets):
            p = index(key(epath, "subnets"), i)
            if sub not in vpc.subnets:
                problems.add(p, _missing("subnet", sub, vpc.subnets))
            else:
                az = vpc.subnets[sub].az
                if az and az in azs:
                    problems.add(p, f"a second subnet in {az} (also subnets[{azs[az]}]); an endpoint has one"
                                    " interface per Availability Zone")
                azs.setdefault(az, i)
        groups = set(vpc.security_groups) | {"default"}
        for i, g in enumerate(ep.security_groups):
            if g not in groups:
                problems.add(index(key(epath, "security_groups"), i), _missing("security group", g, sorted(groups)))
    for pname, peer in vpc.peering_connections.items():
        ppath = key(key(path, "peering_connections"), pname)
        _unique(names["peering"], pname, ppath, "peering connection", problems)
        if peer.peer_vpc == vname:
            problems.add(key(ppath, "peer_vpc"), "a VPC cannot peer with itself")
        elif peer.peer_vpc not in s.vpcs:
            problems.add(key(ppath, "peer_vpc"), _missing("VPC", peer.peer_vpc, s.vpcs))
        else:
            other = [b for b in vpc_blocks(s.vpcs[peer.peer_vpc]) if b.version == 4]
            for b in blocks:
                for o in other:
                    if b.overlaps(o):
                        problems.add(key(ppath, "peer_vpc"), f"{peer.peer_vpc}'s block {o} overlaps this VPC's {b};"
                                                             " AWS does not peer overlapping VPCs")
    if len(vpc.vpn_gateways) > 1:
        problems.add(key(path, "vpn_gateways"), f"{len(vpc.vpn_gateways)} virtual private gateways; a VPC has at most one")
    for gname, vgw in vpc.vpn_gateways.items():
        gpath = key(key(path, "vpn_gateways"), gname)
        _unique(names["vgw"], gname, gpath, "virtual private gateway", problems)
        for group in ("vpn_connections", "dx_interfaces"):
            for cname, conn in getattr(vgw, group).items():
                cpath = key(key(gpath, group), cname)
                if not conn.onprem_cidrs:
                    problems.add(key(cpath, "onprem_cidrs"), "needs at least one on-premises CIDR block")
                for i, c in enumerate(conn.onprem_cidrs):
                    network(c, index(key(cpath, "onprem_cidrs"), i), problems)
                if group == "dx_interfaces":
                    _check_dx_interface(s, gname, vgw, conn, cpath, problems)
                else:
                    for f, why in (("connection", "a VPN connection runs over the internet, not over a Direct"
                                                  " Connect connection; `connection` is for dx_interfaces"),
                                   ("backup_vpn", "only a DX interface has a backup VPN connection")):
                        if getattr(conn, f) is not None:
                            problems.add(key(cpath, f), f"{getattr(conn, f)!r}: {why}")


def _check_subnets(vpc: Vpc, path: str, blocks: List, problems: Problems) -> Dict[str, object]:
    nets: Dict[str, object] = {}
    for sname, sub in vpc.subnets.items():
        p = key(path, sname)
        if not sub.cidr:
            problems.add(key(p, "cidr"), "is required")
            continue
        net = network(sub.cidr, key(p, "cidr"), problems, 4)
        if net is None:
            continue
        if not VPC_PREFIX[0] <= net.prefixlen <= VPC_PREFIX[1]:
            problems.add(key(p, "cidr"), f"{net} is a /{net.prefixlen}; subnet blocks are /16 to /28")
        if blocks and not any(net.subnet_of(b) for b in blocks):
            problems.add(key(p, "cidr"), f"{net} is outside the VPC's CIDR blocks ({', '.join(map(str, blocks))})")
        for other_name, other in nets.items():
            if net.overlaps(other):
                problems.add(key(p, "cidr"), f"{net} overlaps subnet {other_name!r} ({other})")
        nets[sname] = net
        if sub.route_table is not None and sub.route_table not in vpc.route_tables:
            problems.add(key(p, "route_table"), _missing("route table", sub.route_table, vpc.route_tables))
        if sub.network_acl is not None and sub.network_acl not in vpc.network_acls:
            problems.add(key(p, "network_acl"), _missing("network ACL", sub.network_acl, vpc.network_acls))
    return nets


def _check_acl_rule(r: AclEntry, i: int, path: str, seen: Dict, problems: Problems) -> None:
    lo, hi = RULE_NUMBERS
    if not lo <= r.rule <= hi:
        problems.add(key(path, "rule"), f"rule number {r.rule} is out of range (allowed {lo}-{hi}; the `*` rule is"
                                        " implicit)")
    if r.direction not in ("inbound", "outbound"):
        problems.add(key(path, "direction"), f"{r.direction!r} is not a direction; allowed: inbound, outbound")
    elif (r.direction, r.rule) in seen:
        problems.add(key(path, "rule"), f"duplicate {r.direction} rule number {r.rule} (also rules[{seen[(r.direction, r.rule)]}])")
    else:
        seen[(r.direction, r.rule)] = i
    if r.action not in ("allow", "deny"):
        problems.add(key(path, "action"), f"{r.action!r} is not an action; allowed: allow, deny")
    if not r.cidr:
        problems.add(key(path, "cidr"), "is required (0.0.0.0/0 for all IPv4 addresses)")
    else:
        network(r.cidr, key(path, "cidr"), problems)
    _check_protocol_ports(r, path, problems)


def _check_sg_rule(s: Scenario, vname: str, vpc: Vpc, r: SgRuleConfig, path: str, problems: Problems) -> None:
    if (r.cidr is None) == (r.group is None):
        problems.add(path, "needs exactly one of cidr and group")
    elif r.cidr is not None:
        network(r.cidr, key(path, "cidr"), problems)
    else:
        other, _, gname = r.group.rpartition("/")
        if other and other not in s.vpcs:
            problems.add(key(path, "group"), _missing("VPC", other, s.vpcs))
        elif other and other != vname and not _peered(s, vname, other):
            problems.add(key(path, "group"), f"VPC {other!r} is not peered with {vname!r}; only a peered VPC's groups"
                                             " can be referenced")
        else:
            groups = s.vpcs[other].security_groups if other else vpc.security_groups
            if gname not in groups:
                problems.add(key(path, "group"), _missing("security group", gname, groups))
    _check_protocol_ports(r, path, problems)


def _peered(s: Scenario, a: str, b: str) -> bool:
    return any(p.peer_vpc == b for p in s.vpcs[a].peering_connections.values()) or \
        any(p.peer_vpc == a for p in s.vpcs[b].peering_connections.values())


def _check_host(vpc: Vpc, hname: str, host, path: str, subnets: Dict, used: Dict, public: Dict,
                problems: Problems) -> None:
    if host.kind not in HOST_KINDS:
        problems.add(key(path, "kind"), f"{host.kind!r} is not a host kind; allowed: {', '.join(HOST_KINDS)}")
    if host.os not in OS_KINDS:
        problems.add(key(path, "os"), f"{host.os!r} is not an os; allowed: {', '.join(OS_KINDS)}")
    if host.nat and host.kind != "instance":
        problems.add(key(path, "nat"), "only an instance can be a NAT instance")
    if host.public_ip and host.elastic_ip:
        problems.add(key(path, "elastic_ip"), "a host has a public IP or an Elastic IP, not both")
    if host.kind == "lambda" and (host.public_ip or host.elastic_ip):
        problems.add(key(path, "public_ip" if host.public_ip else "elastic_ip"),
                     "a Lambda function's network interface never has a public address (use a NAT gateway)")
    for f in ("public_ip", "elastic_ip"):
        text = getattr(host, f)
        if text:
            _check_public(text, key(path, f), public, problems)
    for i, g in enumerate(host.security_groups):
        if g not in vpc.security_groups:
            problems.add(index(key(path, "security_groups"), i), _missing("security group", g, vpc.security_groups))
    if len(host.security_groups) > 5:
        problems.add(key(path, "security_groups"), f"{len(host.security_groups)} groups; an interface has at most 5")
    _check_private(host, key(path, "subnet"), key(path, "private_ip"), vpc, subnets, used, hname, problems)


def check_outages(outages, path: str, duration_s: float, problems: Problems) -> None:
    """`outages` at `path`: each ends after it starts; taken by start (they may be listed in any
    order), none overlaps another. One starting at or after the run's end is only warned of."""
    opath = key(path, "outages")
    valid: List[Tuple[float, float, int]] = []
    for j, o in enumerate(outages):
        p = index(opath, j)
        if problems.has(key(p, "start_s")) or problems.has(key(p, "end_s")):
            continue  # a negative time, reported by the field rules (scenarios.rules)
        if o.end_s <= o.start_s:
            problems.add(key(p, "end_s"), f"{num(o.end_s)} must be after start_s {num(o.start_s)}")
        elif o.start_s >= duration_s:  # (a warning: a run shortened for a sweep keeps its outages)
            problems.warn(key(p, "start_s"), f"{num(o.start_s)} is at or after the scenario's end"
                                             f" ({num(duration_s)} s): the outage never happens")
        else:
            valid.append((o.start_s, o.end_s, j))
    latest: Optional[Tuple[float, float, int]] = None  # the outage ending last so far
    for start, end, j in sorted(valid):
        if latest is not None and start < latest[1]:
            problems.add(index(opath, j), f"[{num(start)}, {num(end)}) s overlaps outages[{latest[2]}]"
                                          f" [{num(latest[0])}, {num(latest[1])}) s; outages may be listed in"
                                          " any order but must not overlap (merge them)")
        if latest is None or end > latest[1]:
            latest = (start, end, j)


def _check_nat(vpc: Vpc, nat, path: str, subnets: Dict, used: Dict, public: Dict, problems: Problems) -> None:
    if nat.max_gbps is not None and (isinstance(nat.max_gbps, bool) or not isinstance(nat.max_gbps, (int, float))
                                     or not 0 < nat.max_gbps <= 100):
        shown = f"{nat.max_gbps:g}" if isinstance(nat.max_gbps, (int, float)) else repr(nat.max_gbps)
        problems.add(key(path, "max_gbps"), f"{shown} Gbit/s; a NAT gateway scales up to 100 Gbit/s "
                                            "(allowed: more than 0, at most 100)")
    if nat.max_gbps is not None:  # (a fixed gateway never scales: its scaling settings would be ignored)
        for name in ("scale_threshold", "scale_interval_s"):
            if getattr(nat, name) is not None:
                problems.add(key(path, name), f"applies to a NAT gateway that scales (no max_gbps), and this one is"
                                              f" fixed at max_gbps {nat.max_gbps:g}; remove `{name}` or `max_gbps`")
    if isinstance(nat.ip_addresses, bool) or not isinstance(nat.ip_addresses, int) or not 1 <= nat.ip_addresses <= 8:
        problems.add(key(path, "ip_addresses"), f"{nat.ip_addresses!r} addresses; a NAT gateway has 1 to 8 "
                                                "(AWS: 2 by default, up to 8 with a quota increase)")
    if nat.connectivity not in ("public", "private"):
        problems.add(key(path, "connectivity"), f"{nat.connectivity!r} is not a connectivity; allowed: public, private")
    elif nat.connectivity == "public":
        if not nat.elastic_ip:
            problems.add(key(path, "elastic_ip"), "a public NAT gateway needs an Elastic IP")
        else:
            _check_public(nat.elastic_ip, key(path, "elastic_ip"), public, problems)
        sub = vpc.subnets.get(nat.subnet)
        if sub is not None and not _has_igw_route(vpc, sub.route_table if sub.route_table else vpc.main_route_table):
            problems.add(key(path, "subnet"), f"subnet {nat.subnet!r} has no route to the internet gateway (igw);"
                                              " a public NAT gateway belongs in a public subnet")
    _check_private(nat, key(path, "subnet"), key(path, "private_ip"), vpc, subnets, used, path, problems)


def _has_igw_route(vpc: Vpc, table: Optional[str]) -> bool:
    rt = vpc.route_tables.get(table) if table else None
    return rt is not None and any(r.target == "igw" for r in rt.routes)


def _check_public(text: str, path: str, public: Dict[str, str], problems: Problems) -> None:
    a = address(text, path, problems)
    if a is None:
        return
    if a.is_private:
        problems.add(path, f"{a} is a private address; public and Elastic IPs are public IPv4 addresses")
    elif str(a) in public:
        problems.add(path, f"duplicate public address {a} (also {public[str(a)]})")
    else:
        public[str(a)] = path


def _check_private(obj, subnet_path: str, ip_path: str, vpc: Vpc, subnets: Dict, used: Dict, who: str,
                   problems: Problems) -> None:
    if obj.subnet not in vpc.subnets:
        problems.add(subnet_path, "is required" if not obj.subnet else _missing("subnet", obj.subnet, vpc.subnets))
        return
    net = subnets.get(obj.subnet)
    if obj.private_ip is None or net is None:
        return
    a = address(obj.private_ip, ip_path, problems)
    if a is None:
        return
    if a not in net:
        problems.add(ip_path, f"{a} is outside subnet {obj.subnet!r} ({net})")
    elif int(a) - int(net.network_address) < 4 or a == net.broadcast_address:
        problems.add(ip_path, f"{a} is reserved by AWS in {net} (the first four addresses and the last)")
    elif a in used:
        problems.add(ip_path, f"duplicate private IP {a} (also {used[a]})")
    else:
        used[a] = ip_path


def _assign_addresses(vpc: Vpc, subnets: Dict, used: Dict) -> None:
    """Give hosts and NAT gateways without a private IP the first free address of their subnet."""
    for obj in [*vpc.hosts.values(), *vpc.nat_gateways.values()]:
        net = subnets.get(obj.subnet)
        if obj.private_ip is not None or net is None:
            continue
        for offset in range(4, net.num_addresses - 1):
            a = net.network_address + offset
            if a not in used:
                used[a] = "assigned"
                obj.private_ip = str(a)
                break


# ---- Direct Connect --------------------------------------------------------------------------

def dx_port_label(kind: str, speed_gbps: float) -> Optional[str]:
    """The capacity label of a `kind` (dedicated | hosted) port of `speed_gbps` in AWS's usage
    types (`10G`, `500M`), or None when AWS offers no such port."""
    for speed, label in DX_SPEEDS.get(kind, {}).items():
        if isinstance(speed_gbps, (int, float)) and math.isclose(speed_gbps, speed, rel_tol=1e-9):
            return label
    return None


def dx_lag_max(speed_gbps: float) -> int:
    """How many connections of `speed_gbps` a LAG may hold (FACTS "DX LAG")."""
    return next(n for lo, n in DX_LAG_MAX if speed_gbps >= lo)


def dx_lag_of(dc: DirectConnect) -> Dict[str, str]:
    """connection name -> the (first) LAG listing it."""
    out: Dict[str, str] = {}
    for lname, lag in dc.lags.items():
        for c in lag.connections:
            out.setdefault(c, lname)
    return out


def _speeds_text(kind: str) -> str:
    parts = [f"{num(round(v * 1000, 6))} Mbit/s" if v < 1 else f"{num(v)} Gbit/s" for v in DX_SPEEDS[kind]]
    return ", ".join(parts) + f" (speed_gbps {', '.join(num(v) for v in DX_SPEEDS[kind])})"


def _check_direct_connect(s: Scenario, problems: Problems) -> None:
    """`direct_connect`: each connection's type, speed, location and failures; each LAG's members."""
    dc = s.direct_connect
    for cname, conn in dc.connections.items():
        _check_dx_connection(s, conn, key(key("direct_connect", "connections"), cname), problems)
    seen_in: Dict[str, str] = {}  # connection -> path of its first LAG entry
    for lname, lag in dc.lags.items():
        lpath = key(key("direct_connect", "lags"), lname)
        if lname in dc.connections:
            problems.add(lpath, f"LAG {lname!r} has the name of a connection (direct_connect.connections.{lname});"
                                " a DX interface names one or the other, so the names must differ")
        mpath = key(lpath, "connections")
        if not lag.connections:
            problems.add(mpath, "needs at least one connection (a LAG holds up to 4 dedicated connections of one"
                                " speed, 2 at 100 or 400 Gbit/s)")
        first: Optional[Tuple[int, str]] = None  # (index, name) of the member setting the LAG's speed
        here: Dict[str, int] = {}
        for i, c in enumerate(lag.connections):
            p = index(mpath, i)
            if c in here:
                problems.add(p, f"connection {c!r} is listed twice (also connections[{here[c]}])")
                continue
            here[c] = i
            if c not in dc.connections:
                problems.add(p, _missing("connection", c, dc.connections))
                continue
            if c in seen_in:
                problems.add(p, f"connection {c!r} is already in a LAG ({seen_in[c]}); a connection belongs to one"
                                " LAG at most")
            else:
                seen_in[c] = p
            conn = dc.connections[c]
            if conn.type == "hosted":
                problems.add(p, f"connection {c!r} is hosted; a LAG holds dedicated connections only")
                continue
            if first is None:
                first = (i, c)
            elif not math.isclose(conn.speed_gbps, dc.connections[first[1]].speed_gbps, rel_tol=1e-9):
                problems.add(p, f"connection {c!r} is {num(conn.speed_gbps)} Gbit/s but connections[{first[0]}]"
                                f" ({first[1]!r}) is {num(dc.connections[first[1]].speed_gbps)} Gbit/s; the"
                                " connections of a LAG have one speed")
        if first is not None:
            speed = dc.connections[first[1]].speed_gbps
            most = dx_lag_max(speed)
            if len(lag.connections) > most:
                problems.add(mpath, f"{len(lag.connections)} connections of {num(speed)} Gbit/s; a LAG holds at most"
                                    f" {most} at this speed (4 below 100 Gbit/s, 2 at 100 or 400 Gbit/s)")
        members = len(here)
        if not 0 <= lag.min_links <= members:
            problems.add(key(lpath, "min_links"), f"{lag.min_links} is out of range (allowed 0-{members}: the LAG has"
                                                  f" {members} connection{'s' if members != 1 else ''})")


def _check_dx_connection(s: Scenario, conn: DxConnection, path: str, problems: Problems) -> None:
    if conn.type not in DX_SPEEDS:
        problems.add(key(path, "type"), f"{conn.type!r} is not a connection type; allowed: {', '.join(DX_SPEEDS)}")
    elif dx_port_label(conn.type, conn.speed_gbps) is None:
        problems.add(key(path, "speed_gbps"), f"{num(conn.speed_gbps)} Gbit/s is not offered for a {conn.type}"
                                              f" connection; offered: {_speeds_text(conn.type)}")
    if not conn.location.strip():
        problems.add(key(path, "location"), "is required: the Direct Connect location of the port (its data out"
                                            " is priced by it), such as us-east-1")
    if conn.latency_ms < 0:
        problems.add(key(path, "latency_ms"), f"{num(conn.latency_ms)} is below the minimum 0 ms")
    for f in ("mtbf_h", "mttr_h"):
        v = getattr(conn, f)
        if v is not None and not v > 0:
            problems.add(key(path, f), f"{num(v)} must be greater than 0 h")
    if conn.outages and conn.mtbf_h is not None:
        problems.add(key(path, "mtbf_h"), "a connection fails on a schedule (outages) or at random (mtbf_h), not"
                                          " both; remove one")
    check_outages(conn.outages, path, s.duration_s, problems)


def _check_dx_interface(s: Scenario, gname: str, vgw, conn, path: str, problems: Problems) -> None:
    """A DX interface's connection (a connection not in a LAG, or a LAG), backup VPN and BGP hold time.

    Without `connection` the interface has no speed and never fails, so `backup_vpn`,
    `hold_time_s` and `bfd` never come into play: allowed (checked all the same), with a warning."""
    dc = s.direct_connect
    if conn.connection is not None:
        lag_of = dx_lag_of(dc)
        if conn.connection in dc.lags:
            pass
        elif conn.connection in dc.connections:
            if conn.connection in lag_of:
                problems.add(key(path, "connection"), f"connection {conn.connection!r} is a member of LAG"
                                                      f" {lag_of[conn.connection]!r}; a virtual interface on a"
                                                      f" LAG's connection is on the LAG: name"
                                                      f" {lag_of[conn.connection]!r}")
        else:
            problems.add(key(path, "connection"),
                         _missing("Direct Connect connection or LAG", conn.connection, [*dc.connections, *dc.lags]))
    if conn.backup_vpn is not None and conn.backup_vpn not in vgw.vpn_connections:
        problems.add(key(path, "backup_vpn"), _missing(f"VPN connection of virtual private gateway {gname!r}:",
                                                       conn.backup_vpn, vgw.vpn_connections))
    if not conn.hold_time_s >= DX_HOLD_TIME_MIN_S:
        problems.add(key(path, "hold_time_s"), f"{num(conn.hold_time_s)} s is below AWS's minimum BGP hold time,"
                                               f" {num(DX_HOLD_TIME_MIN_S)} s (default {num(DX_HOLD_TIME_DEFAULT_S)} s)")
    if conn.connection is None:
        inert = [f for f, on in (("backup_vpn", conn.backup_vpn is not None),
                                 ("hold_time_s", conn.hold_time_s != DX_HOLD_TIME_DEFAULT_S),
                                 ("bfd", conn.bfd)) if on]
        if inert:
            problems.warn(path, f"{', '.join(inert)} set without a connection: the interface has no Direct Connect"
                                " connection to fail, so they never come into play")


# ---- routes (after every VPC and transit gateway is known) -----------------------------------

def _check_routes(s: Scenario, vname: str, vpc: Vpc, path: str, problems: Problems) -> None:
    blocks = vpc_blocks(vpc)
    for tname, rt in vpc.route_tables.items():
        seen: Dict[object, int] = {}
        for i, r in enumerate(rt.routes):
            p = index(key(key(key(path, "route_tables"), tname), "routes"), i)
            net = network(r.destination, key(p, "destination"), problems) if r.destination else None
            if not r.destination:
                problems.add(key(p, "destination"), "is required")
            if net is not None:
                if net in seen:
                    problems.add(key(p, "destination"), f"duplicate destination {net} (also routes[{seen[net]}])")
                seen[net] = i
                if r.target == "local" and net not in blocks:
                    problems.add(key(p, "target"), f"local route {net} is not a CIDR block of the VPC")
                if net in blocks and r.target != "local":
                    problems.add(key(p, "target"), f"{net} is the VPC's own block; its route is local")
            why = _target_problem(s, vname, vpc, r.target)
            if why:
                problems.add(key(p, "target"), why)


_TARGET_FORMS = "local, igw, nat:NAME, instance:NAME, peering:NAME, tgw:NAME, vgw:NAME or vpce:NAME"
GATEWAY_ENDPOINT_SERVICES = ("s3", "dynamodb")  # the services with gateway endpoints


def _target_problem(s: Scenario, vname: str, vpc: Vpc, target: str) -> Optional[str]:
    if target == "local":
        return None
    if target == "igw":
        return None if vpc.internet_gateway else "the VPC has no internet gateway (set internet_gateway: true)"
    kind, sep, name = target.partition(":")
    if not sep:
        return f"unknown target {target!r}; expected {_TARGET_FORMS}"
    if kind == "nat":
        return None if name in vpc.nat_gateways else _missing("NAT gateway", name, vpc.nat_gateways)
    if kind == "instance":
        if name not in vpc.hosts or vpc.hosts[name].kind != "instance":
            return _missing("instance", name, {h: 0 for h, x in vpc.hosts.items() if x.kind == "instance"})
        return None
    if kind == "peering":
        mine = {p: 0 for p in vpc.peering_connections}
        mine.update({p: 0 for v in s.vpcs.values() for p, c in v.peering_connections.items() if c.peer_vpc == vname})
        return None if name in mine else _missing("peering connection of this VPC", name, mine)
    if kind == "tgw":
        if name not in s.transit_gateways:
            return _missing("transit gateway", name, s.transit_gateways)
        if not any(a.kind == "vpc" and a.vpc == vname for a in s.transit_gateways[name].attachments.values()):
            return f"transit gateway {name!r} has no attachment for this VPC"
        return None
    if kind == "vgw":
        return None if name in vpc.vpn_gateways else _missing("virtual private gateway of this VPC", name,
                                                               vpc.vpn_gateways)
    if kind == "vpce":
        return None if name in vpc.gateway_endpoints else _missing("gateway endpoint of this VPC", name,
                                                                    vpc.gateway_endpoints)
    return f"unknown target kind {kind!r}; expected {_TARGET_FORMS}"


def _check_tgw(s: Scenario, tname: str, tgw: TransitGateway, path: str, problems: Problems) -> None:
    for aname, att in tgw.attachments.items():
        p = key(key(path, "attachments"), aname)
        if att.kind not in ("vpc", "vpn", "dx"):
            problems.add(key(p, "kind"), f"{att.kind!r} is not an attachment kind; allowed: vpc, vpn, dx")
        elif att.kind == "vpc":
            if att.vpc not in s.vpcs:
                problems.add(key(p, "vpc"), "is required" if att.vpc is None else _missing("VPC", att.vpc, s.vpcs))
        elif not att.onprem_cidrs:
            problems.add(key(p, "onprem_cidrs"), f"a {att.kind} attachment needs its on-premises CIDR blocks")
        for i, c in enumerate(att.onprem_cidrs):
            network(c, index(key(p, "onprem_cidrs"), i), problems)
        if att.route_table not in tgw.route_tables:
            problems.add(key(p, "route_table"), _missing("route table", att.route_table, tgw.route_tables))
        if att.tunnel not in ("standard", "large"):
            problems.add(key(p, "tunnel"), f"{att.tunnel!r} is not a VPN tunnel size; allowed: standard, large")
        elif att.tunnel != "standard" and att.kind != "vpn":
            problems.add(key(p, "tunnel"), f"a {att.kind} attachment has no tunnels (only kind vpn)")
    for rname, rt in tgw.route_tables.items():
        for i, r in enumerate(rt.routes):
            p = index(key(key(key(path, "route_tables"), rname), "routes"), i)
            network(r.destination, key(p, "destination"), problems)
            if r.target != "blackhole" and r.target not in tgw.attachments:
                problems.add(key(p, "target"), _missing("attachment", r.target, tgw.attachments) + " (or blackhole)")


# ---- flows -----------------------------------------------------------------------------------

def onprem_networks(s: Scenario) -> List:
    """Every on-premises block of the scenario's VPN connections, DX interfaces and TGW attachments."""
    out = []
    for vpc in s.vpcs.values():
        for vgw in vpc.vpn_gateways.values():
            for conn in [*vgw.vpn_connections.values(), *vgw.dx_interfaces.values()]:
                out += [ipaddress.ip_network(c, strict=False) for c in conn.onprem_cidrs if _is_cidr(c)]
    for tgw in s.transit_gateways.values():
        for att in tgw.attachments.values():
            out += [ipaddress.ip_network(c, strict=False) for c in att.onprem_cidrs if _is_cidr(c)]
    return out


def _is_cidr(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


def check_endpoint(s: Scenario, text: str) -> Optional[str]:
    """Why `text` is not a flow endpoint of `s` (a host name, internet:IP or onprem:IP), or None."""
    hosts = {h for v in s.vpcs.values() for h in v.hosts}
    if text in hosts:
        return None
    kind, sep, ip = text.partition(":")
    if not sep or kind not in ENDPOINT_KINDS:
        return _missing("host", text, hosts) + "; other endpoints are internet:IP or onprem:IP"
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return f"{ip!r} is not an IP address"
    if a.version != 4:
        return f"{a} is an IPv6 address; flows are IPv4 (rules may name IPv6 blocks)"
    onprem = any(a in n for n in onprem_networks(s))
    if kind == "onprem" and not onprem:
        return f"{a} is in no VPN connection's, DX interface's or TGW attachment's on-premises CIDRs"
    if kind == "internet":
        inside = [n for v in s.vpcs.values() for n in vpc_blocks(v) if a in n]
        if inside:
            return f"{a} is inside a VPC block ({inside[0]}); name the host instead"
    return None


def _check_keepalive(value, path: str, problems: Problems) -> None:
    if value is not None and not (isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0):
        problems.add(path, f"{value!r} must be a keepalive interval > 0 s (or unset: no keepalives)")


def _check_function_vpc(s: Scenario, owner: str, fn, problems: Problems) -> None:
    """`functions.NAME.vpc` (or `services.NAME.vpc`: `owner` is the path of the function or
    service) names a VPC, its subnets and its groups; each egress entry a destination and a
    protocol (its counts and ports: scenarios.calls)."""
    path = key(owner, "vpc")
    cfg = fn.vpc
    if cfg is None:
        return
    vpc = s.vpcs.get(cfg.vpc)
    if vpc is None:
        problems.add(key(path, "vpc"), _missing("VPC", cfg.vpc, s.vpcs))
    else:
        if not cfg.subnets:
            problems.add(key(path, "subnets"), "needs at least one subnet (AWS recommends two, in different AZs)")
        seen: Dict[str, int] = {}
        for j, sub in enumerate(cfg.subnets):
            p = index(key(path, "subnets"), j)
            if sub not in vpc.subnets:
                problems.add(p, _missing(f"subnet of VPC {cfg.vpc!r}:", sub, vpc.subnets))
            elif sub in seen:
                problems.add(p, f"subnet {sub!r} is listed twice (also subnets[{seen[sub]}])")
            seen.setdefault(sub, j)
        groups = set(vpc.security_groups) | {"default"}
        for j, g in enumerate(cfg.security_groups):
            if g not in groups:
                problems.add(index(key(path, "security_groups"), j),
                             _missing(f"security group of VPC {cfg.vpc!r}:", g, sorted(groups)))
    for i, e in enumerate(fn.egress):
        p = index(key(owner, "egress"), i)
        if not e.dst:
            problems.add(key(p, "dst"), "is required: internet:IP, onprem:IP or a host name")
        else:
            why = check_endpoint(s, e.dst)
            if why:
                problems.add(key(p, "dst"), why)
        _check_keepalive(e.keepalive_s, key(p, "keepalive_s"), problems)
        proto = protocol_number(e.protocol)
        if proto is None or proto == -1:
            problems.add(key(p, "protocol"), f"{e.protocol!r} is not a protocol of a flow; use tcp, udp, icmp or a"
                                             " number 0-255")


def _check_flow(s: Scenario, i: int, f: Flow, seen: Dict[str, int], problems: Problems) -> None:
    path = index("flows", i)
    if not f.name:
        f.name = f"flow{i}"
    if f.name in seen:
        problems.add(key(path, "name"), f"duplicate flow name {f.name!r} (also flows[{seen[f.name]}])")
    seen.setdefault(f.name, i)
    hosts = {h for v in s.vpcs.values() for h in v.hosts}
    for end in ("src", "dst"):
        text = getattr(f, end)
        if not text:
            problems.add(key(path, end), "is required: a host name, internet:IP or onprem:IP")
            continue
        why = check_endpoint(s, text)
        if why:
            problems.add(key(path, end), why)
    if f.src and f.dst and f.src not in hosts and f.dst not in hosts:
        problems.add(path, "a flow needs a host at one end at least")
    if f.src == f.dst and f.src:
        problems.add(key(path, "dst"), "a flow from a host to itself never reaches the network")
    proto = protocol_number(f.protocol)
    if proto is None or proto == -1:
        problems.add(key(path, "protocol"), f"{f.protocol!r} is not a protocol of a flow; use tcp, udp, icmp or a"
                                            " number 0-255")
    if not f.dst_ports:
        problems.add(key(path, "dst_ports"), "needs at least one port")
    for j, wp in enumerate(f.dst_ports):
        p = index(key(path, "dst_ports"), j)
        if not 0 <= wp.port <= 65535:
            problems.add(key(p, "port"), f"port {wp.port} is out of range (allowed 0-65535)")
        if not wp.weight > 0:
            problems.add(key(p, "weight"), f"{num(wp.weight)} must be greater than 0")
    if (f.count is None) == (f.rate_per_s is None):
        problems.add(path, "needs exactly one of count and rate_per_s")
    if f.count is not None and f.count < 0:
        problems.add(key(path, "count"), f"{f.count} is below the minimum 0")
    if f.rate_per_s is not None and not f.rate_per_s > 0:
        problems.add(key(path, "rate_per_s"), f"{num(f.rate_per_s)} must be greater than 0 per s")
    _check_keepalive(f.keepalive_s, key(path, "keepalive_s"), problems)
    if f.starts not in ("uniform", "poisson"):
        problems.add(key(path, "starts"), f"{f.starts!r} is not a start-time process; allowed: uniform, poisson")
    if f.start_s < 0:
        problems.add(key(path, "start_s"), f"{num(f.start_s)} is below the minimum 0 s")
    end = s.duration_s if f.end_s is None else f.end_s
    if end <= f.start_s:
        problems.add(key(path, "end_s"), f"{num(end)} must be after start_s {num(f.start_s)}")
    elif end > s.duration_s:
        problems.add(key(path, "end_s"), f"{num(end)} is after the scenario's end ({num(s.duration_s)} s)")


# ---- helpers ---------------------------------------------------------------------------------

def _unique(registry: Dict[str, str], name: str, path: str, what: str, problems: Problems) -> None:
    if name in registry:
        problems.add(path, f"duplicate {what} name {name!r} (also {registry[name]}); names are unique across VPCs")
    else:
        registry[name] = path


def _missing(what: str, name, defined) -> str:
    import difflib

    names = list(defined)
    close = difflib.get_close_matches(str(name), names, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{what} {name!r} is not defined{hint}; defined: {', '.join(names) if names else 'none'}"
