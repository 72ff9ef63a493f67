"""Paths of flows through VPCs: the checks a flow meets, evaluated in bulk, and `explain_flow` for one flow.

A flow from A to B meets, in order: A's security groups (outbound), A's subnet's network ACL
(outbound, when the next hop is outside the subnet), A's route table (longest prefix match),
the gateway or attachment the route names, B's subnet's ACL (inbound, when it came from
outside the subnet) and B's security groups (inbound). The return traffic meets the same
firewalls in reverse, addresses and ports swapped (the initiator's ephemeral port becomes the
destination port): the ACLs judge it on their rules (stateless), the security groups pass it
as tracked (stateful). Where the response leaves through a gateway, the far side's route table
must send it back the same way (else "no return route").

Routing: `local` delivers to the interface holding the address; `igw` needs a public or Elastic
IP on the source (or a NAT before it) and translates it, and brings internet traffic to a
host's public address; `nat:NAME` (a NAT gateway) and `instance:NAME` (a NAT instance,
`nat: true`, with its security groups) rewrite the source to their private address, then route
from their own subnet, and at the internet gateway to their public address (the source port is
kept; a NAT gateway's ports are 1024-65535 anyway); `peering:NAME` delivers into the peer VPC
only (not transitive); `tgw:NAME` looks up the route table associated with the source's
attachment; `vgw:NAME` reaches the on-premises blocks of its VPN connections and DX interfaces.

Everything but the firewalls depends only on the endpoints, so `build_path` walks a
(source, destination) pair once; `evaluate` then runs each firewall's kernel over all the flows
of the pair. Paths are IPv4 (rules may still name IPv6 blocks).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple

import numpy as np

from scenarios.vpc_check import protocol_number
from sim.network.firewall import TRACKED, NetworkAcl, SecurityGroup
from sim.network.packets import Packets
from sim.network.topology import EPHEMERAL, SHORT, Eni, Network

OTHER = {"inbound": "outbound", "outbound": "inbound"}
SWAP_RECORD = {"egress": "ingress", "ingress": "egress"}
ECHO = {1: (8, 0), 58: (128, 129)}  # protocol -> (request type, reply type)
MAX_HOPS = 8  # routing loops (a NAT routing to itself) stop here


class EndpointError(ValueError):
    """A flow endpoint that names nothing in the scenario."""


@dataclass(frozen=True)
class Endpoint:
    """One end of a flow: a host's interface, or an outside address (internet or on-premises)."""

    kind: str  # host | internet | onprem
    ip: str  # the address the flow uses: for a host, its private address (public when from the internet)
    eni: Optional[Eni] = None

    @property
    def label(self) -> str:
        return self.eni.name if self.eni else f"{self.kind}:{self.ip}"


def resolve(net: Network, text: str) -> Endpoint:
    """An endpoint from a host name, a host's private or public IP, `internet:IP`, `onprem:IP` or a bare IP."""
    text = str(text).strip()
    if text in net.enis and net.enis[text].kind != "nat_gateway":
        e = net.enis[text]
        return Endpoint("host", e.private_ip, e)
    kind, sep, ip = text.partition(":")
    if not sep or kind not in ("internet", "onprem"):
        kind, ip = None, text
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        hosts = ", ".join(n for n, e in net.enis.items() if e.kind != "nat_gateway") or "none"
        raise EndpointError(f"{text!r} is not a host, an IP address, internet:IP or onprem:IP; hosts: {hosts}") from None
    if a.version != 4:
        raise EndpointError(f"{text!r}: paths are IPv4")
    ip = str(a)
    if kind is None:
        host = next((e for (v, p), e in net.by_private.items() if p == ip and e.kind != "nat_gateway"), None)
        if host is not None:
            return Endpoint("host", ip, host)
    if ip in net.by_public and net.by_public[ip].kind != "nat_gateway" and kind != "onprem":
        return Endpoint("internet-host", ip, net.by_public[ip])
    if kind == "onprem" or (kind is None and any(a in o.net for o in net.onprem)):
        if not any(a in o.net for o in net.onprem):
            raise EndpointError(f"{ip} is in no on-premises block of a VPN connection, DX interface or TGW attachment")
        return Endpoint("onprem", ip)
    if net.vpc_of_address(ip) is not None:
        raise EndpointError(f"{ip} is inside VPC {net.vpc_of_address(ip)!r} but no host has it")
    return Endpoint("internet", ip)


@dataclass
class Check:
    """One step of a path: a firewall (evaluated per packet) or a fixed decision (routing, gateways)."""

    kind: str  # sg | acl | route | gateway
    component: str  # what a person reads: "security group of web (outbound)"
    vpc: str  # whose summary counts it
    src_ip: str  # the packet's addresses at this step
    dst_ip: str
    response: bool = False  # the return traffic (ports swapped)
    fw: Any = None  # NetworkAcl | SecurityGroup
    direction: str = ""
    keys: List[str] = field(default_factory=list)  # per rule index; keys[-1] when no rule decides
    tracked: bool = False
    passes: bool = True  # fixed decision (route, gateway)
    key: str = ""  # fixed decision's rule key
    rule: Any = None  # fixed decision's rule (the route) or None
    note: str = ""
    record: Optional[Tuple[str, str]] = None  # (interface name, egress | ingress) this step belongs to
    back: Optional["Check"] = None  # for a fixed step: its counterpart on the return path (None: none)
    key_sets: dict = field(default_factory=dict, repr=False)  # firewall: direction -> rule keys (+ no-rule key)
    eni_name: str = ""  # security groups: whose
    # the link the traffic crosses at this step, for bandwidth (sim.network.links) and the bill
    # (sim.network.meters): "nat_gateway:NAME", "transit_gateway:NAME", "vpn:NAME" / "dx:NAME"
    # (a virtual private gateway's connection), "internet_out:VPC" when the request leaves for
    # the internet, "internet_in:VPC" when the response does; and whether it crosses from one
    # Availability Zone to another
    link: str = ""
    cross_az: bool = False
    # more links this step crosses that only limit bandwidth (not billed as such): a transit
    # gateway's attachments ("tgw_attachment:TGW/ATTACHMENT@AZ"; AZ empty when unknown) and a VPN
    # attachment's tunnels ("vpn:TGW/ATTACHMENT")
    limits: Tuple[str, ...] = ()

    def reversed(self) -> "Check":
        """The same firewall met by the return traffic (security groups: tracked)."""
        rec = (self.record[0], SWAP_RECORD[self.record[1]]) if self.record else None
        d = OTHER[self.direction]
        keys = list(self.key_sets[d])
        if self.kind == "sg":
            keys[-1] = f"eni:{self.eni_name}:{SHORT[d]}:tracked"
        return Check(self.kind, self.component.replace(f"({self.direction})", f"({d})"), self.vpc, self.dst_ip,
                     self.src_ip, response=True, fw=self.fw, direction=d, keys=keys, tracked=self.kind == "sg",
                     record=rec, key_sets=self.key_sets, eni_name=self.eni_name)


@dataclass
class Path:
    """The checks of a (source, destination) pair, forward then return."""

    src: Endpoint
    dst: Endpoint
    dst_ip: str  # where the initiator sends
    forward: List[Check]
    back: List[Check]

    @property
    def checks(self) -> List[Check]:
        return self.forward + self.back

    @property
    def vpc(self) -> str:
        """The VPC that owns the flow: the initiator's, else the destination's."""
        return (self.src.eni or self.dst.eni).vpc


# ---- building a path -----------------------------------------------------------------------------

class _Walk:
    def __init__(self, net: Network, src: Endpoint, dst: Endpoint):
        self.net, self.src, self.dst = net, src, dst
        self.checks: List[Check] = []
        self.done = False

    # checks
    def sg(self, eni: Eni, direction: str, src_ip: str, dst_ip: str, record: Optional[str]) -> None:
        sets = {d: eni.sg_keys[d] + [f"eni:{eni.name}:{SHORT[d]}:no-rule"] for d in SHORT}
        self.checks.append(Check("sg", f"security groups of {eni.name} ({direction})", eni.vpc, src_ip, dst_ip,
                                 fw=eni.sg, direction=direction, keys=sets[direction], key_sets=sets,
                                 eni_name=eni.name, record=(eni.name, record) if record else None))

    def acl(self, vpc: str, subnet: str, direction: str, src_ip: str, dst_ip: str, record) -> None:
        name, acl = self.net.acl(vpc, subnet)
        keys = self.net.vpcs[vpc].acl_keys[name]
        self.checks.append(Check("acl", f"network ACL {name} of subnet {subnet} ({direction})", vpc, src_ip, dst_ip,
                                 fw=acl, direction=direction, keys=keys[direction], key_sets=keys, record=record))

    def fixed(self, kind: str, component: str, vpc: str, src_ip: str, dst_ip: str, passes: bool, key: str,
              rule: Any = None, note: str = "", back: Optional[Check] = None, link: str = "",
              cross_az: bool = False, limits: Tuple[str, ...] = ()) -> bool:
        self.checks.append(Check(kind, component, vpc, src_ip, dst_ip, passes=passes, key=key, rule=rule, note=note,
                                 back=back, link=link, cross_az=cross_az, limits=limits))
        if not passes:
            self.done = True
        return passes

    def return_route(self, eni: Eni, to_ip: str, expect: str, why: str) -> Check:
        """The check that `eni`'s route table sends the response to `to_ip` through `expect`."""
        rt_name, rt = self.net.route_table((eni.vpc, eni.subnet))
        got = rt.target(to_ip)
        route = _route_text(rt, to_ip)
        ok = got == expect
        note = f"response to {to_ip} leaves by {got or 'no route'}" + ("" if ok else f", not {expect} ({why})")
        return Check("route", f"route table {rt_name} (return)", eni.vpc, eni.private_ip, to_ip, response=True,
                     passes=ok, key=f"route:{rt_name}:{route or 'none'}", rule=route, note=note)

    # walking
    def run(self) -> None:
        s, d = self.src, self.dst
        if s.kind == "host":
            a = s.eni
            self.sg(a, "outbound", a.private_ip, self.dst_ip, "egress")
            self.route_from(a.vpc, a.subnet, a.private_ip, a.public_ip, origin=a, hops=0)
        elif s.kind in ("internet", "internet-host"):
            self.from_internet()
        else:
            self.from_onprem()

    @property
    def dst_ip(self) -> str:
        return self.dst.ip

    def leave(self, vpc: str, subnet: str, src_ip: str, origin: Optional[Eni]) -> None:
        rec = (origin.name, "egress") if origin is not None and origin.subnet == subnet and origin.vpc == vpc else None
        self.acl(vpc, subnet, "outbound", src_ip, self.dst_ip, rec)

    def arrive(self, b: Eni, src_ip: str, crossed: bool) -> None:
        """Into host `b` (the destination): its subnet's ACL if the packet crossed into it, then its groups."""
        if crossed:
            self.acl(b.vpc, b.subnet, "inbound", src_ip, b.private_ip, (b.name, "ingress"))
        if b.sg is not None:
            self.sg(b, "inbound", src_ip, b.private_ip, "ingress")
        self.done = True

    def route_from(self, vpc: str, subnet: str, src_ip: str, public: Optional[str], origin: Optional[Eni],
                   hops: int) -> None:
        net, dst = self.net, self.dst_ip
        if self.dst.kind == "internet":  # (private DNS: the service's name resolves to the interface endpoint)
            a = ipaddress.ip_address(dst)
            for e, ep in net.vpcs[vpc].cfg.interface_endpoints.items():
                if ep.private_dns and net.endpoint_enis.get((vpc, e)) and \
                        any(a in ipaddress.ip_network(c, strict=False) for c in ep.cidrs):
                    self.via_interface_endpoint(vpc, subnet, src_ip, origin, e, ep)
                    return
        rt_name, rt = net.route_table((vpc, subnet))
        target = rt.target(dst)
        route = _route_text(rt, dst)
        route_key = f"route:{rt_name}:{route or 'none'}"
        here = f"route table {rt_name}"
        if hops >= MAX_HOPS:
            self.fixed("route", here, vpc, src_ip, dst, False, route_key, route, "routing loop")
            return
        if target in (None, "blackhole"):
            self.leave(vpc, subnet, src_ip, origin)
            self.fixed("route", here, vpc, src_ip, dst, False, route_key, route,
                       f"no route to {dst}" if target is None else "blackhole route")
            return
        kind, _, name = target.partition(":")
        if kind == "local":
            b = net.by_private.get((vpc, dst))
            if b is None or (b.kind == "nat_gateway"):
                self.leave(vpc, subnet, src_ip, origin)
                self.fixed("route", here, vpc, src_ip, dst, False, route_key, route, f"no host has {dst} in {vpc}")
                return
            crossed = b.subnet != subnet
            if crossed:
                self.leave(vpc, subnet, src_ip, origin)
            self.fixed("route", here, vpc, src_ip, dst, True, route_key, route, f"{dst} is in the VPC",
                       cross_az=net.crosses_az(vpc, subnet, b.subnet))
            if self.dst.eni is not None and b.name == self.dst.eni.name:
                self.arrive(b, src_ip, crossed)
            else:
                self.fixed("route", here, vpc, src_ip, dst, False, route_key, route, f"{dst} is not the destination")
            return
        if kind in ("nat", "instance"):
            n = net.enis[name]
            crossed = n.subnet != subnet
            if crossed:
                self.leave(vpc, subnet, src_ip, origin)
            self.fixed("route", here, vpc, src_ip, dst, True, route_key, route, f"next hop {target}",
                       cross_az=net.crosses_az(vpc, subnet, n.subnet))
            if crossed:
                self.acl(vpc, n.subnet, "inbound", src_ip, dst, None)
            if kind == "instance":
                self.sg(n, "inbound", src_ip, dst, None)
                if not n.nat:
                    self.fixed("gateway", f"instance {name}", vpc, src_ip, dst, False, f"instance:{name}", None,
                               "source/destination check is on (set nat: true for a NAT instance)")
                    return
            self.fixed("gateway", f"NAT {'gateway' if kind == 'nat' else 'instance'} {name}", vpc, src_ip, dst, True,
                       f"{kind}:{name}", None, f"source {src_ip} -> {n.private_ip}",
                       link=f"nat_gateway:{name}" if kind == "nat" else f"nat_instance:{name}")
            if kind == "instance":
                self.sg(n, "outbound", n.private_ip, dst, None)
            self.route_from(vpc, n.subnet, n.private_ip, n.public_ip, None, hops + 1)
            return
        # every other target leaves the subnet
        self.leave(vpc, subnet, src_ip, origin)
        if not self.fixed("route", here, vpc, src_ip, dst, True, route_key, route, f"next hop {target}"):
            return
        if kind == "igw":
            self.via_igw(vpc, src_ip, public)
        elif kind == "peering":
            self.via_peering(vpc, name, src_ip, subnet)
        elif kind == "tgw":
            self.via_tgw(vpc, name, src_ip)
        elif kind == "vgw":
            self.via_vgw(vpc, name, src_ip)
        elif kind == "vpce":
            self.via_gateway_endpoint(vpc, name, src_ip)

    def via_interface_endpoint(self, vpc: str, subnet: str, src_ip: str, origin: Optional[Eni], name: str,
                               ep) -> None:
        """To an AWS service through its interface endpoint: to the endpoint's interface in this
        AZ (else its first), through that subnet's ACL and the endpoint's groups; delivered."""
        net = self.net
        enis = [net.enis[n] for n in net.endpoint_enis[(vpc, name)]]
        cfg = net.vpcs[vpc].cfg.subnets
        here = cfg[subnet].az
        b = next((x for x in enis if here and cfg[x.subnet].az == here), enis[0])
        crossed = b.subnet != subnet
        if crossed:
            self.leave(vpc, subnet, src_ip, origin)
        self.fixed("gateway", f"interface endpoint {name} ({ep.service})", vpc, src_ip, self.dst_ip, True,
                   f"vpce:{name}", note=f"private DNS: {ep.service} resolves to {b.private_ip}",
                   cross_az=net.crosses_az(vpc, subnet, b.subnet), link=f"vpce:{name}")
        if crossed:
            self.acl(vpc, b.subnet, "inbound", src_ip, b.private_ip, None)
        if b.sg is not None:
            self.sg(b, "inbound", src_ip, b.private_ip, None)
        self.done = True

    def via_gateway_endpoint(self, vpc: str, name: str, src_ip: str) -> None:
        """To S3 or DynamoDB over a gateway endpoint: delivered when the destination is in the
        endpoint's blocks, over AWS's network (no NAT, no internet gateway, no charge)."""
        ep = self.net.vpcs[vpc].cfg.gateway_endpoints[name]
        dst = ipaddress.ip_address(self.dst_ip)
        ok = self.dst.kind == "internet" and any(dst in ipaddress.ip_network(c, strict=False) for c in ep.cidrs)
        self.fixed("gateway", f"gateway endpoint {name} ({ep.service})", vpc, src_ip, self.dst_ip, ok, f"vpce:{name}",
                   note=f"delivered to {ep.service} over the AWS network" if ok
                   else f"{dst} is not an address of {ep.service} ({', '.join(ep.cidrs)})")
        self.done = True

    def via_igw(self, vpc: str, src_ip: str, public: Optional[str]) -> None:
        dst = self.dst_ip
        if public is None:
            self.fixed("gateway", f"internet gateway of {vpc}", vpc, src_ip, dst, False, "igw",
                       note=f"source {src_ip} has no public or Elastic IP (nor a NAT before the gateway)")
            return
        self.fixed("gateway", f"internet gateway of {vpc}", vpc, src_ip, dst, True, "igw",
                   note=f"source {src_ip} -> {public}")
        b = self.net.by_public.get(dst)
        if b is not None and self.dst.eni is not None and b.name == self.dst.eni.name:
            if not self.net.vpcs[b.vpc].cfg.internet_gateway:
                self.fixed("gateway", f"internet gateway of {b.vpc}", b.vpc, public, dst, False, "igw",
                           note=f"{b.vpc} has no internet gateway")
                return
            back = self.return_route(b, public, "igw", "asymmetric: the response must leave by the internet gateway")
            self.fixed("gateway", f"internet gateway of {b.vpc}", b.vpc, public, dst, True, "igw",
                       note=f"destination {dst} -> {b.private_ip}", back=back)
            self.arrive(b, public, True)
            return
        if self.dst.kind == "internet":
            self.fixed("gateway", "internet", vpc, public, dst, True, "internet", note="delivered",
                       link=f"internet_out:{vpc}")
            self.done = True
            return
        self.fixed("gateway", "internet", vpc, public, dst, False, "internet",
                   note=f"{dst} is a private address; the internet does not route it")

    def via_peering(self, vpc: str, name: str, src_ip: str, subnet: str = "") -> None:
        dst = self.dst_ip
        a, b = self.net.peerings[name]
        peer = b if a == vpc else a
        comp = f"peering connection {name}"
        if self.net.vpc_of_address(dst) != peer:
            self.fixed("gateway", comp, vpc, src_ip, dst, False, f"peering:{name}",
                       note=f"{dst} is not in {peer}; peering is not transitive")
            return
        host = self.net.by_private.get((peer, dst))
        if host is None or self.dst.eni is None or host.name != self.dst.eni.name:
            self.fixed("gateway", comp, vpc, src_ip, dst, False, f"peering:{name}", note=f"no host has {dst} in {peer}")
            return
        back = self.return_route(host, src_ip, f"peering:{name}", "the peer's route table must point back")
        # within an AZ a peering's traffic is free; across AZs it pays the in-region rate each
        # way (AWS whitepaper "Building a Scalable and Secure Multi-VPC AWS Network
        # Infrastructure", VPC peering); AZ names are the account's, as in one VPC
        za = self.net.vpcs[vpc].cfg.subnets[subnet].az if subnet in self.net.vpcs[vpc].cfg.subnets else ""
        zb = self.net.vpcs[peer].cfg.subnets[host.subnet].az
        self.fixed("gateway", comp, vpc, src_ip, dst, True, f"peering:{name}", note=f"into {peer}", back=back,
                   cross_az=bool(za) and bool(zb) and za != zb)
        self.arrive(host, src_ip, True)

    def via_tgw(self, vpc: str, name: str, src_ip: str) -> None:
        dst, tgw = self.dst_ip, self.net.tgws[name]
        att_src = tgw.attachment_of(vpc)
        self.tgw_to(tgw, att_src, vpc, src_ip, dst)

    def tgw_to(self, tgw, att_src: str, vpc: str, src_ip: str, dst: str) -> None:
        table_name = tgw.attachments[att_src].route_table
        table = tgw.tables[table_name]
        target = table.target(dst)
        route = _route_text(table, dst)
        comp = f"transit gateway {tgw.name} route table {table_name}"
        key = f"tgw:{tgw.name}:{table_name}:{route or 'none'}"
        if target in (None, "blackhole"):
            self.fixed("route", comp, vpc, src_ip, dst, False, key, route, "no route" if target is None else "blackhole")
            return
        att = tgw.attachments[target]
        # the response comes back through the target attachment's route table
        back_target = tgw.tables[att.route_table].target(src_ip)
        tgw_back = back_target == att_src
        if att.kind == "vpc":
            host = self.net.by_private.get((att.vpc, dst))
            if host is None or self.dst.eni is None or host.name != self.dst.eni.name:
                self.fixed("route", comp, vpc, src_ip, dst, False, key, route, f"no host has {dst} in {att.vpc}")
                return
            back = self.return_route(host, src_ip, f"tgw:{tgw.name}", "the destination must route back to the TGW")
            if back.passes and not tgw_back:
                back.passes, back.note = False, (f"TGW route table {att.route_table} sends {src_ip} to "
                                                 f"{back_target or 'no route'}, not {att_src}")
            self.fixed("route", comp, vpc, src_ip, dst, True, key, route, f"to attachment {target} ({att.vpc})",
                       back=back, link=f"transit_gateway:{tgw.name}",
                       limits=(self._attachment(tgw, att_src), self._attachment(tgw, target, host)))
            self.arrive(host, src_ip, True)
            return
        ok = self.dst.kind == "onprem" and any(ipaddress.ip_address(dst) in ipaddress.ip_network(c, strict=False)
                                                for c in att.onprem_cidrs)
        back = Check("route", f"{comp} (return)", vpc, dst, src_ip, response=True, passes=tgw_back,
                     key=f"tgw:{tgw.name}:{att.route_table}:return", note=f"response to {src_ip} via {back_target}")
        self.fixed("route", comp, vpc, src_ip, dst, ok, key, route,
                   f"to {att.kind} attachment {target}" if ok else f"{dst} is not behind attachment {target}", back=back,
                   link=f"transit_gateway:{tgw.name}", limits=(self._attachment(tgw, att_src), self._attachment(tgw, target)))
        self.done = True

    def _attachment(self, tgw, name: str, host: Optional[Eni] = None) -> str:
        """The link of attachment `name` this flow crosses: a VPC attachment's in the AZ of the
        host on this side (traffic stays in its AZ), a VPN attachment's tunnels."""
        att = tgw.attachments[name]
        if att.kind == "vpn":
            return f"vpn:{tgw.name}/{name}"
        if att.kind != "vpc":
            return ""
        if host is None:  # this side: the flow's own source host, if it is in the attachment's VPC
            host = self.src.eni if self.src.eni is not None and self.src.eni.vpc == att.vpc else None
        az = self.net.vpcs[att.vpc].cfg.subnets[host.subnet].az if host is not None else ""
        return f"tgw_attachment:{tgw.name}/{name}@{az}"

    def via_vgw(self, vpc: str, name: str, src_ip: str) -> None:
        dst = ipaddress.ip_address(self.dst_ip)
        # the longest prefix wins; at equal prefixes a DX interface's route beats a VPN's (AWS's
        # route priority for a virtual private gateway; FACTS "DX BGP": a backup VPN advertising
        # more specific routes is preferred even while DX is up)
        cands = [o for o in self.net.onprem if o.via == ("vgw", vpc, name) and dst in o.net]
        conn = max(cands, key=lambda o: (o.net.prefixlen, o.label.startswith("dx:")), default=None)
        ok = conn is not None and self.dst.kind == "onprem"
        self.fixed("gateway", f"virtual private gateway {name}", vpc, src_ip, self.dst_ip, ok, f"vgw:{name}",
                   note=f"over {conn.label}" if ok else f"{dst} is behind no VPN connection or DX interface of {name}",
                   link=conn.label if ok else "")
        self.done = ok

    def from_internet(self) -> None:
        b, src = self.dst.eni, self.src.ip
        if b is None:
            raise EndpointError("a flow from the internet needs a host as its destination")
        if not b.public_ip:
            self.fixed("gateway", f"internet gateway of {b.vpc}", b.vpc, src, self.dst_ip, False, "igw",
                       note=f"{b.name} has no public or Elastic IP")
            return
        if not self.net.vpcs[b.vpc].cfg.internet_gateway:
            self.fixed("gateway", f"internet gateway of {b.vpc}", b.vpc, src, self.dst_ip, False, "igw",
                       note=f"{b.vpc} has no internet gateway")
            return
        back = self.return_route(b, src, "igw", "the response must leave by the internet gateway")
        self.fixed("gateway", f"internet gateway of {b.vpc}", b.vpc, src, self.dst_ip, True, "igw",
                   note=f"destination {b.public_ip} -> {b.private_ip}", back=back, link=f"internet_in:{b.vpc}")
        self.arrive(b, src, True)

    def from_onprem(self) -> None:
        b, src = self.dst.eni, self.src.ip
        if b is None:
            raise EndpointError("a flow from on-premises needs a host as its destination")
        a = ipaddress.ip_address(src)
        nets = [o for o in self.net.onprem if a in o.net]
        vgw = max((o for o in nets if o.via[0] == "vgw" and o.via[1] == b.vpc),
                  key=lambda o: (o.net.prefixlen, o.label.startswith("dx:")), default=None)  # (as via_vgw)
        if vgw is not None:
            g = vgw.via[2]
            back = self.return_route(b, src, f"vgw:{g}", "the response must go back to the virtual private gateway")
            self.fixed("gateway", f"virtual private gateway {g}", b.vpc, src, b.private_ip, True, f"vgw:{g}",
                       note=f"from {vgw.label}", back=back, link=vgw.label)
            self.arrive(b, src, True)
            return
        tgw = next((o for o in nets if o.via[0] == "tgw"), None)
        if tgw is None:
            self.fixed("gateway", "on-premises network", b.vpc, src, b.private_ip, False, "onprem",
                       note=f"{src} connects to no gateway that reaches {b.vpc}")
            return
        self.tgw_to(self.net.tgws[tgw.via[1]], tgw.via[2], b.vpc, src, b.private_ip)


def _route_text(rt, ip: str) -> Optional[str]:
    """The matching route as "CIDR" (None without one)."""
    a = ipaddress.ip_address(ip)
    best = None
    for net, _target in rt.routes.items():
        if net.version == a.version and a in net and (best is None or net.prefixlen > best.prefixlen):
            best = net
    return str(best) if best is not None else None


def build_path(net: Network, src: Endpoint, dst: Endpoint) -> Path:
    """Walk the checks from `src` to `dst` and back."""
    if src.kind in ("internet", "internet-host") and dst.kind == "host":  # from outside: to its public address
        dst = Endpoint("internet-host", dst.eni.public_ip or dst.ip, dst.eni)
    if src.kind != "host" and dst.eni is None:
        raise EndpointError("a flow needs a host at one end at least")
    if src.eni is not None and dst.eni is not None and src.eni.name == dst.eni.name:
        raise EndpointError("a flow from a host to itself never reaches the network")
    w = _Walk(net, src, dst)
    w.run()
    forward = w.checks
    delivered = all(c.passes for c in forward if c.kind in ("route", "gateway"))
    back: List[Check] = []
    if delivered:
        for c in reversed(forward):
            if c.kind in ("sg", "acl"):
                back.append(c.reversed())
            elif c.back is not None:
                back.append(c.back)
                if not c.back.passes:
                    break
    return Path(src, dst, dst.ip, forward, back)


# ---- evaluating ----------------------------------------------------------------------------------

@dataclass
class Outcome:
    """Per flow of one path: the index of the first failing check (len(checks) when accepted) and,
    per check, the deciding rule index (-1: none)."""

    fail_at: np.ndarray
    rule_index: List[Optional[np.ndarray]]

    @property
    def accepted(self) -> np.ndarray:
        return self.fail_at == len(self.rule_index)


def _ip_int(ip: str) -> int:
    return int(ipaddress.ip_address(ip))


def evaluate(path: Path, protocol: int, src_port: np.ndarray, dst_port: np.ndarray) -> Outcome:
    """Run every check of `path` on flows with these ports (numpy arrays), one kernel call per firewall."""
    n = len(src_port)
    checks = path.checks
    fail_at = np.full(n, len(checks), np.int64)
    rule_index: List[Optional[np.ndarray]] = []
    req_type, rep_type = ECHO.get(protocol, (0, 0))
    cache = {}
    for i, c in enumerate(checks):
        if c.kind in ("route", "gateway"):
            rule_index.append(None)
            if not c.passes:
                fail_at = np.minimum(fail_at, i)
            continue
        k = (c.src_ip, c.dst_ip, c.response)
        if k not in cache:
            cache[k] = Packets.parse({
                "src_ip": np.full(n, _ip_int(c.src_ip), np.uint32), "dst_ip": np.full(n, _ip_int(c.dst_ip), np.uint32),
                "protocol": np.full(n, protocol, np.int64),
                "src_port": dst_port if c.response else src_port, "dst_port": src_port if c.response else dst_port,
                "icmp_type": np.full(n, rep_type if c.response else req_type, np.int64)})
        p = cache[k]
        if c.kind == "acl":
            idx = c.fw.deciding_rule(p, c.direction)
            actions = np.array([r.action == "allow" for r in c.fw.rules(c.direction)] + [False])
            ok = actions[idx]  # idx -1 picks the final deny
        else:
            idx = c.fw.matching_rule(p, c.direction)
            ok = (idx >= 0) | c.tracked
        rule_index.append(idx)
        fail_at = np.where((~ok) & (fail_at > i), i, fail_at)
    return Outcome(fail_at, rule_index)


def count_rules(path: Path, out: Outcome, counts: dict) -> None:
    """Add per-rule accepted/rejected counts of these flows into counts[vpc][key] = [accepted, rejected]."""
    for i, c in enumerate(path.checks):
        reached = out.fail_at >= i
        if not reached.any():
            break
        passed = out.fail_at > i
        rejected = out.fail_at == i
        per = counts.setdefault(c.vpc, {})
        idx = out.rule_index[i]
        if idx is None:
            acc, rej = int(passed.sum()), int(rejected.sum())
            if acc or rej:
                cell = per.setdefault(c.key, [0, 0])
                cell[0] += acc
                cell[1] += rej
            continue
        m = len(c.keys)
        shifted = np.where(idx < 0, m - 1, idx)
        acc = np.bincount(shifted[passed], minlength=m)
        rej = np.bincount(shifted[rejected], minlength=m)
        for j in np.flatnonzero(acc + rej):
            cell = per.setdefault(c.keys[j], [0, 0])
            cell[0] += int(acc[j])
            cell[1] += int(rej[j])


# ---- one flow, explained -------------------------------------------------------------------------

@dataclass
class Hop:
    """One step of an explained flow: what it was, its decision, and the rule that decided (None: implicit deny)."""

    component: str
    decision: str  # ACCEPT | REJECT
    rule: Any  # AclRule | SgRule | TRACKED | a route "CIDR" | None
    key: str
    src_ip: str
    dst_ip: str
    note: str = ""

    def __str__(self) -> str:
        rule = _rule_text(self.rule) if self.key.startswith(("acl:", "sg:", "eni:")) else \
            (f"route {self.rule}" if self.rule else "")
        note = f" — {self.note}" if self.note else ""
        return f"{self.decision:6}  {self.component}: {rule}  [{self.src_ip} -> {self.dst_ip}]{note}"


@dataclass
class FlowExplanation:
    """The verdict of one flow, with its forward hops and its return hops (empty when the request never arrived)."""

    verdict: str  # ACCEPT | REJECT
    src: str
    dst: str
    protocol: int
    src_port: int
    dst_port: int
    hops: List[Hop]
    return_hops: List[Hop]

    def __str__(self) -> str:
        lines = [f"{self.verdict}: {self.src} -> {self.dst} protocol {self.protocol} port {self.dst_port}"
                 f" (source port {self.src_port})", "request:"]
        lines += [f"  {h}" for h in self.hops]
        lines.append("response:" if self.return_hops else "response: (none: the request did not arrive)")
        lines += [f"  {h}" for h in self.return_hops]
        return "\n".join(lines)


def _rule_text(rule) -> str:
    if rule is None:
        return "no rule (implicit deny)"
    if rule is TRACKED:
        return "tracked connection (stateful return)"
    if hasattr(rule, "number"):
        ports = f" ports {rule.port_from}-{rule.port_to}" if rule.port_from is not None else ""
        return f"rule {rule.number} {rule.action} protocol {rule.protocol}{ports} {rule.cidr}"
    ports = f" ports {rule.port_from}-{rule.port_to}" if rule.port_from is not None else ""
    where = rule.cidr or f"group {rule.group_id}"
    return f"allow protocol {rule.protocol}{ports} {where}"


def protocol_of(protocol) -> int:
    """The IANA number of a flow's protocol (a name or 0..255; "all" is not a flow's protocol)."""
    n = protocol_number(protocol)
    if n is None or n < 0:
        raise EndpointError(f"unknown protocol {protocol!r}; use tcp, udp, icmp, icmpv6 or a number")
    return n


def explain_flow(scenario, src: str, dst: str, protocol="tcp", port: int = 443,
                 src_port: Optional[int] = None) -> FlowExplanation:
    """Whether a flow from `src` to `dst` gets through, hop by hop, forward and back.

    `scenario`: a Scenario, a dict or a YAML path (validated; ScenarioError on mistakes) or a
    built `Network`. `src`, `dst`: a host name, a host's private IP, `internet:IP` (or a bare
    public IP; a host's public or Elastic IP reaches that host through its internet gateway) or
    `onprem:IP` (or a bare IP in an on-premises block). `port` is the destination port;
    `src_port` defaults to the first ephemeral port of the initiator (Linux 32768, Windows
    49152, NAT gateway and outside clients 1024). Raises EndpointError for an unknown endpoint.
    """
    net = scenario if isinstance(scenario, Network) else Network(_load(scenario))
    a, b = resolve(net, src), resolve(net, dst)
    proto = protocol_of(protocol)
    if not 0 <= int(port) <= 65535:
        raise EndpointError(f"port {port} is out of range 0-65535")
    if src_port is None:
        src_port = (a.eni.ephemeral if a.eni is not None and a.kind == "host" else EPHEMERAL["external"])[0]
    path = build_path(net, a, b)
    out = evaluate(path, proto, np.array([int(src_port)]), np.array([int(port)]))
    fail = int(out.fail_at[0])
    hops: List[Hop] = []
    for i, c in enumerate(path.checks[:fail + 1]):
        decision = "REJECT" if i == fail else "ACCEPT"
        idx = out.rule_index[i]
        if idx is None:
            rule, key = c.rule, c.key
        else:
            j = int(idx[0])
            rules = c.fw.rules(c.direction)
            rule = rules[j] if j >= 0 else (TRACKED if c.tracked else None)
            key = c.keys[j] if j >= 0 else c.keys[-1]
        hops.append(Hop(c.component, decision, rule, key, c.src_ip, c.dst_ip, c.note))
    nf = len(path.forward)
    return FlowExplanation("ACCEPT" if fail == len(path.checks) else "REJECT", a.label, b.label, proto,
                           int(src_port), int(port), hops[:nf], hops[nf:])


def _load(scenario):
    from scenarios import load_scenario

    return load_scenario(scenario)
