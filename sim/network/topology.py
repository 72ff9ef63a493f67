"""The VPCs of a validated scenario as objects the path walker uses: interfaces, subnets, firewalls and route tables.

Names stand for AWS ids. A host's security groups are combined into one firewall per network
interface; rule keys name what decided (the summary's `vpcs.NAME.rules`):
`acl:ACL:in:100` (a numbered rule), `acl:ACL:in:*` (the final deny), `sg:GROUP:out:0` (the
group's first outbound rule as written), `eni:HOST:in:no-rule` (no group of the host allows
it), `eni:HOST:in:tracked` (return traffic passed by connection tracking).
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from scenarios.schema import Scenario
from scenarios.vpc import Host, SecurityGroupConfig, SgRuleConfig, Vpc
from scenarios.vpc_check import PORT_PROTOCOLS, port_range, protocol_number, vpc_blocks
from sim.network.firewall import NetworkAcl, SecurityGroup
from sim.network.packets import RouteTable

# Ephemeral source ports of a connection's initiator (docs/FACTS.md, vpc-network-acls.md).
EPHEMERAL = {"linux": (32768, 61000), "windows": (49152, 65535), "nat_gateway": (1024, 65535),
             "external": (1024, 65535)}
SHORT = {"inbound": "in", "outbound": "out"}
DEFAULT_ACL = [{"rule": n, "direction": d, "protocol": "all", "cidr": c, "action": "allow"}
               for d in ("inbound", "outbound") for n, c in ((100, "0.0.0.0/0"), (101, "::/0"))]
ALL_OUT = [SgRuleConfig(cidr="0.0.0.0/0"), SgRuleConfig(cidr="::/0")]


@dataclass
class Eni:
    """A network interface: a host's, or a NAT gateway's (no security groups)."""

    name: str
    kind: str  # instance | lambda | fargate | nat_gateway
    vpc: str
    subnet: str
    private_ip: str
    public_ip: Optional[str]  # public or Elastic IP
    nat: bool  # translates the source of what it forwards (NAT gateway, NAT instance)
    ephemeral: Tuple[int, int]
    eni_id: str
    account_id: str
    sg: Optional[SecurityGroup] = None
    sg_keys: Dict[str, List[str]] = field(default_factory=dict)  # direction -> key per combined rule


@dataclass
class SubnetView:
    name: str
    net: object
    route_table: str
    acl: str


@dataclass
class VpcView:
    name: str
    cfg: Vpc
    blocks: list
    subnets: Dict[str, SubnetView]
    route_tables: Dict[str, RouteTable]
    acls: Dict[str, NetworkAcl]
    acl_keys: Dict[str, Dict[str, List[str]]]


@dataclass
class OnPremNet:
    """An on-premises block and how it connects: ("vgw", VPC, VGW) or ("tgw", TGW, ATTACHMENT)."""

    net: object
    label: str  # vpn:NAME, dx:NAME or tgw-attachment:NAME
    via: Tuple[str, str, str]


@dataclass
class TgwView:
    name: str
    attachments: dict
    tables: Dict[str, RouteTable]

    def attachment_of(self, vpc: str) -> Optional[str]:
        return next((a for a, x in self.attachments.items() if x.kind == "vpc" and x.vpc == vpc), None)


class Network:
    """Every VPC of a scenario, indexed for path walks."""

    def __init__(self, s: Scenario):
        self.scenario = s
        self.vpcs: Dict[str, VpcView] = {}
        self.enis: Dict[str, Eni] = {}
        self.by_private: Dict[Tuple[str, str], Eni] = {}
        self.by_public: Dict[str, Eni] = {}
        self.peerings: Dict[str, Tuple[str, str]] = {}
        self.onprem: List[OnPremNet] = []
        self.function_enis: Dict[str, List[str]] = {}  # function -> its Hyperplane ENIs, one per subnet
        self.service_enis: Dict[str, List[str]] = {}  # ECS service -> its tasks' ENIs, one per subnet (below)
        self.hosts: Dict[str, Dict[str, Host]] = {v: dict(vpc.hosts) for v, vpc in s.vpcs.items()}
        self._lambda_hosts(s)
        self.endpoint_enis: Dict[Tuple[str, str], List[str]] = {}  # (VPC, interface endpoint) -> its ENIs
        for v, vpc in s.vpcs.items():
            for e, ep in vpc.interface_endpoints.items():
                names = []
                for sub in ep.subnets:
                    if sub not in vpc.subnets:
                        continue
                    name = f"vpce-eni:{e}:{sub}"
                    self.hosts[v][name] = Host(kind="vpc_endpoint", subnet=sub, security_groups=list(ep.security_groups),
                                               private_ip=_free_ip(vpc, self.hosts[v], sub))
                    names.append(name)
                self.endpoint_enis[(v, e)] = names
        for vname, vpc in s.vpcs.items():
            self._add_vpc(vname, vpc)
        for vname, vpc in s.vpcs.items():
            self._add_groups(vname, vpc)
        self.tgws = {t: TgwView(t, dict(cfg.attachments),
                                {r: RouteTable([(x.destination, x.target) for x in rt.routes])
                                 for r, rt in cfg.route_tables.items()})
                     for t, cfg in s.transit_gateways.items()}
        for t, cfg in s.transit_gateways.items():
            for a, att in cfg.attachments.items():
                for c in att.onprem_cidrs:
                    self.onprem.append(OnPremNet(ipaddress.ip_network(c, strict=False), f"tgw-attachment:{a}",
                                                 ("tgw", t, a)))

    # ---- building ----
    def _lambda_hosts(self, s: Scenario) -> None:
        """Lambda's Hyperplane ENIs: one per subnet and set of security groups, shared by the
        functions with that combination (AWS Lambda developer guide, "Connecting outbound
        networking to resources in a VPC"), at the subnet's first free address; and the ECS
        services' awsvpc interfaces (`service_enis`, `fargate-eni:SERVICE:SUBNET`)."""
        for fname, fn in s.functions.items():
            names = self._awsvpc_enis(s, fn.vpc, "lambda", lambda sub, groups: f"lambda-eni:{sub}:{'+'.join(groups)}")
            if names is not None:
                self.function_enis[fname] = names
        for sname, sv in getattr(s, "services", {}).items():
            # (awsvpc: each task has its own ENI; our simplification: one interface per subnet
            # stands for the service's tasks there)
            names = self._awsvpc_enis(s, sv.vpc, "fargate",
                                      lambda sub, groups, sname=sname: f"fargate-eni:{sname}:{sub}")
            if names is not None:
                self.service_enis[sname] = names

    def _awsvpc_enis(self, s: Scenario, cfg, kind: str, name_of) -> Optional[List[str]]:
        """The interfaces of a VPC configuration (scenarios.vpc.FunctionVpc; None: none), one per
        subnet, named `name_of(subnet, groups)`, each at its subnet's first free address (made
        once: a name already there is shared)."""
        if cfg is None or cfg.vpc not in s.vpcs:
            return None
        hosts = self.hosts[cfg.vpc]
        groups = sorted(set(cfg.security_groups)) or ["default"]
        names = []
        for sub in cfg.subnets:
            name = name_of(sub, groups)
            if name not in hosts:
                hosts[name] = Host(kind=kind, subnet=sub, private_ip=_free_ip(s.vpcs[cfg.vpc], hosts, sub),
                                   security_groups=groups)
            names.append(name)
        return names

    def _add_vpc(self, vname: str, vpc: Vpc) -> None:
        blocks = vpc_blocks(vpc)
        tables = {n: RouteTable([(r.destination, r.target) for r in rt.routes], blocks)
                  for n, rt in vpc.route_tables.items()}
        main = vpc.main_route_table or ("main" if "main" in tables else None)
        if main is None:
            main = "main"
            tables[main] = RouteTable([], blocks)
        acl_cfg = {n: [_acl_dict(r) for r in a.rules] for n, a in vpc.network_acls.items()}
        acl_cfg.setdefault("default", DEFAULT_ACL)
        acls = {n: NetworkAcl.from_yaml(rules) for n, rules in acl_cfg.items()}
        acl_keys = {n: {d: [f"acl:{n}:{SHORT[d]}:{r.number}" for r in acl.rules(d)] + [f"acl:{n}:{SHORT[d]}:*"]
                        for d in SHORT} for n, acl in acls.items()}
        subnets = {n: SubnetView(n, ipaddress.ip_network(sub.cidr), sub.route_table or main,
                                 sub.network_acl or "default") for n, sub in vpc.subnets.items()}
        self.vpcs[vname] = VpcView(vname, vpc, blocks, subnets, tables, acls, acl_keys)
        for h, host in self.hosts[vname].items():
            self._add_eni(Eni(h, host.kind, vname, host.subnet, host.private_ip, host.public_ip or host.elastic_ip,
                              host.nat, EPHEMERAL[host.os], host.eni_id or _eni_id(vname, h), vpc.account_id))
        for n, nat in vpc.nat_gateways.items():
            self._add_eni(Eni(n, "nat_gateway", vname, nat.subnet, nat.private_ip,
                              nat.elastic_ip if nat.connectivity == "public" else None, True,
                              EPHEMERAL["nat_gateway"], _eni_id(vname, n), vpc.account_id))
        for p, peer in vpc.peering_connections.items():
            self.peerings[p] = (vname, peer.peer_vpc)
        for g, vgw in vpc.vpn_gateways.items():
            for group, label in (("vpn_connections", "vpn"), ("dx_interfaces", "dx")):
                for c, conn in getattr(vgw, group).items():
                    for cidr in conn.onprem_cidrs:
                        self.onprem.append(OnPremNet(ipaddress.ip_network(cidr, strict=False), f"{label}:{c}",
                                                     ("vgw", vname, g)))

    def _add_eni(self, eni: Eni) -> None:
        self.enis[eni.name] = eni
        self.by_private[(eni.vpc, eni.private_ip)] = eni
        if eni.public_ip:
            self.by_public[eni.public_ip] = eni

    def _add_groups(self, vname: str, vpc: Vpc) -> None:
        groups = dict(vpc.security_groups)
        if "default" not in groups:  # AWS's default group: all traffic from its members, all out
            groups["default"] = SecurityGroupConfig(inbound=[SgRuleConfig(group="default")])
        member_of = {h: (host.security_groups or ["default"]) for h, host in self.hosts[vname].items()}
        members = self._members()
        built = {g: _security_group(vname, g, cfg, members) for g, cfg in groups.items()}
        for h, names in member_of.items():
            eni = self.enis[h]
            eni.sg = SecurityGroup.combine(built[g] for g in names)
            eni.sg_keys = {d: [f"sg:{g}:{SHORT[d]}:{i}" for g in names for i in range(len(built[g].rules(d)))]
                           for d in SHORT}

    def _members(self) -> Dict[str, List[str]]:
        """Private addresses of each group's members, keyed VPC/GROUP."""
        out: Dict[str, List[str]] = {}
        for vname, hosts in self.hosts.items():
            for h, host in hosts.items():
                for g in host.security_groups or ["default"]:
                    out.setdefault(f"{vname}/{g}", []).append(host.private_ip)
        return out

    # ---- queries ----
    def crosses_az(self, vpc: str, a: str, b: str) -> bool:
        """Whether traffic from subnet a to subnet b of `vpc` changes Availability Zone (both
        subnets name their `az`, and they differ)."""
        subnets = self.vpcs[vpc].cfg.subnets
        za, zb = subnets[a].az, subnets[b].az
        return bool(za) and bool(zb) and za != zb

    def route_table(self, eni_or_subnet: Tuple[str, str]) -> Tuple[str, RouteTable]:
        vpc, subnet = eni_or_subnet
        name = self.vpcs[vpc].subnets[subnet].route_table
        return name, self.vpcs[vpc].route_tables[name]

    def acl(self, vpc: str, subnet: str) -> Tuple[str, NetworkAcl]:
        name = self.vpcs[vpc].subnets[subnet].acl
        return name, self.vpcs[vpc].acls[name]

    def vpc_of_address(self, ip: str) -> Optional[str]:
        a = ipaddress.ip_address(ip)
        return next((v for v, view in self.vpcs.items() if any(a in b for b in view.blocks)), None)


def _acl_dict(r) -> dict:
    d = {"rule": r.rule, "direction": r.direction, "protocol": r.protocol, "cidr": r.cidr, "action": r.action}
    if protocol_number(r.protocol) in PORT_PROTOCOLS:
        d["ports"] = r.ports
    if r.icmp_type != -1 or r.icmp_code != -1:
        d["icmp_type"], d["icmp_code"] = r.icmp_type, r.icmp_code
    return d


def _security_group(vname: str, gname: str, cfg: SecurityGroupConfig, members: Dict[str, List[str]]) -> SecurityGroup:
    """The group as `describe-security-groups` would print it, one source per permission, in written order."""
    def perms(rules):
        out = []
        for r in rules:
            proto = protocol_number(r.protocol)
            p: dict = {"IpProtocol": str(proto)}
            if proto in PORT_PROTOCOLS:
                p["FromPort"], p["ToPort"] = port_range(r.ports)
            elif proto in (1, 58):
                p["FromPort"], p["ToPort"] = r.icmp_type, r.icmp_code
            if r.cidr is not None:
                net = ipaddress.ip_network(r.cidr, strict=False)
                p["IpRanges" if net.version == 4 else "Ipv6Ranges"] = [
                    {"CidrIp" if net.version == 4 else "CidrIpv6": str(net)}]
            else:
                gid = r.group if "/" in r.group else f"{vname}/{r.group}"
                p["UserIdGroupPairs"] = [{"GroupId": gid}]
            out.append(p)
        return out

    outbound = ALL_OUT if cfg.outbound is None else cfg.outbound
    gids = {r.group if "/" in r.group else f"{vname}/{r.group}" for r in [*cfg.inbound, *outbound] if r.group}
    return SecurityGroup.from_permissions(perms(cfg.inbound), perms(outbound),
                                          {g: members.get(g, []) for g in gids}, f"{vname}/{gname}")


def _eni_id(vpc: str, name: str) -> str:
    return "eni-" + hashlib.blake2b(f"{vpc}/{name}".encode(), digest_size=9).hexdigest()[:17]


def _free_ip(vpc: Vpc, hosts: Dict[str, Host], subnet: str) -> Optional[str]:
    """The first address of `subnet` after the four AWS reserves that no host or NAT gateway has."""
    net = ipaddress.ip_network(vpc.subnets[subnet].cidr)
    used = {h.private_ip for h in hosts.values()} | {n.private_ip for n in vpc.nat_gateways.values()}
    for offset in range(4, net.num_addresses - 1):
        a = str(net.network_address + offset)
        if a not in used:
            return a
    return None
