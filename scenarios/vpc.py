"""VPC schema: networks, their gateways and firewalls, hosts, and the flows between them (pure data).

A VPC is written as AWS describes it. Names stand for AWS's ids: a route target is `local`,
`igw`, `nat:NAME`, `instance:NAME` (a NAT instance: a host with `nat: true`), `peering:NAME`,
`tgw:NAME` or `vgw:NAME`. Omitted parts take AWS's defaults: a subnet without `route_table`
uses the VPC's main table (`main_route_table`, else the table named `main`, else one holding
only the local routes); a subnet
without `network_acl` uses the default ACL (the ACL named `default` if given, else AWS's: rule
100 allows all IPv4 and 101 all IPv6 traffic both ways, then the `*` deny); a security group
without `outbound` allows all traffic out, as a new group does; a host without
`security_groups` is in the group named `default` (if given, else AWS's default group: inbound
from its own members, all traffic out). Validation is in `scenarios.vpc_check`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from scenarios.common import Dist
from scenarios.messaging import Outage

DEFAULT_ACCOUNT_ID = "123456789012"


@dataclass
class Subnet:
    """A subnet: a CIDR block inside the VPC's, in one Availability Zone."""

    cidr: str = ""
    az: str = ""  # e.g. us-east-1a; informative
    route_table: Optional[str] = None  # None: the VPC's main route table
    network_acl: Optional[str] = None  # None: the VPC's default network ACL


@dataclass
class Route:
    """One route: destination CIDR -> target (module doc)."""

    destination: str = ""
    target: str = ""


@dataclass
class RouteTableConfig:
    """A route table; the local route of each VPC CIDR block is added when not listed."""

    routes: List[Route] = field(default_factory=list)


@dataclass
class AclEntry:
    """A network ACL rule, as `sim.network.firewall.NetworkAcl.from_yaml` reads it."""

    rule: int = 100  # 1-32766, lowest first; the final `*` deny is implicit
    direction: str = "inbound"  # inbound | outbound
    protocol: Any = "all"  # tcp | udp | icmp | icmpv6 | all | an IANA number (-1 all)
    ports: Any = "all"  # TCP/UDP: a port, "from-to" or all
    cidr: str = ""  # IPv4 or IPv6 CIDR of the remote side
    action: str = "allow"  # allow | deny
    icmp_type: int = -1  # ICMP: -1 all, else 0-255
    icmp_code: int = -1
    description: str = ""


@dataclass
class NetworkAclConfig:
    """A network ACL: numbered allow/deny rules per direction (stateless)."""

    rules: List[AclEntry] = field(default_factory=list)


@dataclass
class SgRuleConfig:
    """A security group rule: allow `protocol`/`ports` from (inbound) or to (outbound) a CIDR or a group."""

    protocol: Any = "all"  # tcp | udp | icmp | icmpv6 | all | an IANA number
    ports: Any = "all"  # TCP/UDP: a port, "from-to" or all
    cidr: Optional[str] = None  # IPv4 or IPv6 CIDR
    group: Optional[str] = None  # a group of this VPC, or VPC/GROUP of a peered VPC: its members' addresses
    icmp_type: int = -1  # ICMP: -1 all
    icmp_code: int = -1
    description: str = ""


@dataclass
class SecurityGroupConfig:
    """A security group (stateful, allow rules only)."""

    inbound: List[SgRuleConfig] = field(default_factory=list)
    outbound: Optional[List[SgRuleConfig]] = None  # None: all traffic to 0.0.0.0/0 and ::/0 (AWS's default)


@dataclass
class Host:
    """Something with a network interface in a subnet: an instance, a Lambda function's ENI, a Fargate task."""

    kind: str = "instance"  # instance | lambda | fargate
    subnet: str = ""
    private_ip: Optional[str] = None  # None: the subnet's first free address (AWS reserves the first four)
    public_ip: Optional[str] = None  # an auto-assigned public IPv4 address
    elastic_ip: Optional[str] = None  # an Elastic IP (a host has at most one of the two)
    security_groups: List[str] = field(default_factory=list)  # empty: the VPC's default group
    nat: bool = False  # a NAT instance: source/destination check off, masquerades traffic it forwards
    os: str = "linux"  # ephemeral ports of its connections: linux 32768-61000, windows 49152-65535
    # a NAT instance's bandwidth, Gbit/s: its instance type's network performance as EC2 publishes
    # it (e.g. "up to 5 Gigabit": 5; FACTS "NAT instance"); None: it limits no flow
    bandwidth_gbps: Optional[float] = None
    outages: List[Outage] = field(default_factory=list)  # a NAT instance down over [start_s, end_s): no failover
    eni_id: Optional[str] = None  # interface-id in flow logs; None: derived from the names


@dataclass
class NatGateway:
    """A NAT gateway in a subnet: public (an Elastic IP, routes to the internet gateway) or private."""

    subnet: str = ""
    elastic_ip: Optional[str] = None  # required when public
    private_ip: Optional[str] = None  # None: the subnet's first free address
    connectivity: str = "public"  # public | private
    # addresses it translates to (Elastic IPs when public): 55,000 simultaneous connections to one
    # destination (IP, port, protocol) per address; 1-8 (AWS: 2 by default, 8 with a quota increase)
    ip_addresses: int = 1
    # its bandwidth, Gbit/s, fixed (and its packet rate max_gbps / 5 x 1 M packets/s, at most 10 M:
    # our assumption); None: it starts at 5 Gbit/s and 1 M packets/s and scales up to 100 Gbit/s
    # and 10 M packets/s (AWS, NAT gateway basics; FACTS "NAT gateway bandwidth"). 45 reproduces
    # the limit before 2022-06, 5 the worst case
    max_gbps: Optional[float] = None
    # how it scales, our assumption (AWS does not document how fast): at every multiple of
    # scale_interval_s (None: 60 s) of the run, if its mean load over the interval that just ended
    # was at least scale_threshold (None: 0.8) of its capacity in bits or in packets, both
    # capacities double (never down within a run: AWS documents no scale-in). Only without max_gbps
    scale_threshold: Optional[float] = None
    scale_interval_s: Optional[float] = None
    # its Availability Zone down over [start_s, end_s): it carries nothing (flows through it wait;
    # routes that name it are not changed: AWS does not fail a NAT gateway over to another AZ)
    outages: List[Outage] = field(default_factory=list)


@dataclass
class GatewayEndpoint:
    """A gateway VPC endpoint for S3 or DynamoDB: a route table entry whose target is
    `vpce:NAME` sends the service's addresses to it, over AWS's network: no NAT gateway, no
    internet gateway, no charge (gateway endpoints are free: AWS VPC pricing, "Gateway endpoints
    ... no additional charge"). `cidrs`: the blocks of the service's prefix list the routes name
    (e.g. 52.216.0.0/15 for S3 in us-east-1)."""

    service: str = "s3"  # s3 | dynamodb
    cidrs: List[str] = field(default_factory=list)


@dataclass
class InterfaceEndpoint:
    """An interface VPC endpoint (AWS PrivateLink): a network interface in each of its subnets,
    behind its security groups; with private DNS the service's name resolves to them, so a
    flow from the VPC to the service's addresses (`cidrs`) goes to the endpoint's interface in
    its own AZ (else the first subnet's) instead of a NAT or internet gateway. Billed per
    endpoint per AZ-hour and per GB processed (AWS PrivateLink pricing)."""

    service: str = ""  # e.g. sqs, secretsmanager, ecr.api
    cidrs: List[str] = field(default_factory=list)  # the service's public blocks its name resolves to without it
    subnets: List[str] = field(default_factory=list)  # one interface each (one per AZ)
    security_groups: List[str] = field(default_factory=list)  # empty: the VPC's default group
    private_dns: bool = True  # False: clients must use the endpoint's own name (no flow reaches it here)


@dataclass
class PeeringConnection:
    """A VPC peering connection from this VPC (the requester) to `peer_vpc`; not transitive."""

    peer_vpc: str = ""


@dataclass
class OnPremises:
    """A VPN connection or a Direct Connect virtual interface: the on-premises CIDRs behind it.

    A DX interface rides a Direct Connect connection or LAG (`connection`: a name in
    `direct_connect.connections` or `direct_connect.lags`); when that goes down, BGP notices
    after `hold_time_s` (or BFD's 0.9 s when `bfd`) and traffic moves to `backup_vpn` (a VPN
    connection of the same virtual private gateway), then back when the connection is repaired.
    A DX interface without `connection` has no speed and never fails: its `backup_vpn`,
    `hold_time_s` and `bfd` are allowed (and checked) but never come into play, which loading
    the scenario warns about. `connection` and `backup_vpn` are errors on a VPN connection
    (`hold_time_s` and `bfd` are ignored there). Checks: `scenarios.vpc_check`."""

    onprem_cidrs: List[str] = field(default_factory=list)
    connection: Optional[str] = None  # DX interfaces: its connection or LAG (None: no speed, never fails)
    backup_vpn: Optional[str] = None  # DX interfaces: the VPN connection traffic fails over to
    hold_time_s: float = 90.0  # BGP hold timer (AWS default 90 s, minimum 3 s; keepalive 30 s)
    bfd: bool = False  # BFD: failure detected in 300 ms x 3 = 0.9 s instead of the hold time


@dataclass
class DxConnection:
    """A Direct Connect connection: dedicated (1, 10, 100, 400 Gbit/s) or hosted (0.05 - 25
    Gbit/s: 50, 100, 200, 300, 400, 500 Mbit/s, 1, 2, 5, 10, 25 Gbit/s); FACTS "Direct Connect"."""

    type: str = "dedicated"  # dedicated | hosted
    speed_gbps: float = 10.0
    location: str = "us-east-1"  # where its port is (data out is priced by it; US locations $0.02/GB)
    # one way, to the on-premises router: a flow over it ends this much after the links carried its
    # last byte (our assumption for the default: a metro link)
    latency_ms: float = 2.0
    outages: List[Outage] = field(default_factory=list)  # scheduled failures: down over [start_s, end_s)
    mtbf_h: Optional[float] = None  # random failures: exponential times between them (None: none)
    mttr_h: float = 4.0  # random failures: exponential repair times, mean (hours)


@dataclass
class DxLag:
    """A link aggregation group: up to 4 dedicated connections of the same speed below 100
    Gbit/s, 2 at 100 or 400 Gbit/s, all active; FACTS "DX LAG"."""

    connections: List[str] = field(default_factory=list)
    min_links: int = 0  # fewer connections up than this: the LAG is down (0: up while one is)


@dataclass
class DirectConnect:
    connections: Dict[str, DxConnection] = field(default_factory=dict)
    lags: Dict[str, DxLag] = field(default_factory=dict)


@dataclass
class VpnGateway:
    """A virtual private gateway attached to the VPC, with its VPN connections and DX interfaces."""

    vpn_connections: Dict[str, OnPremises] = field(default_factory=dict)
    dx_interfaces: Dict[str, OnPremises] = field(default_factory=dict)


@dataclass
class Vpc:
    """A VPC: CIDR blocks, subnets, route tables, gateways, firewalls and hosts."""

    cidr: str = ""  # the primary IPv4 block
    secondary_cidrs: List[str] = field(default_factory=list)  # more IPv4 blocks
    ipv6_cidr: Optional[str] = None
    account_id: str = DEFAULT_ACCOUNT_ID  # in flow log records
    internet_gateway: bool = False  # attach an internet gateway (route target `igw`)
    subnets: Dict[str, Subnet] = field(default_factory=dict)
    route_tables: Dict[str, RouteTableConfig] = field(default_factory=dict)
    main_route_table: Optional[str] = None  # None: the table named `main`, else one with only the local routes
    network_acls: Dict[str, NetworkAclConfig] = field(default_factory=dict)
    security_groups: Dict[str, SecurityGroupConfig] = field(default_factory=dict)
    nat_gateways: Dict[str, NatGateway] = field(default_factory=dict)
    peering_connections: Dict[str, PeeringConnection] = field(default_factory=dict)
    gateway_endpoints: Dict[str, GatewayEndpoint] = field(default_factory=dict)  # route target vpce:NAME
    interface_endpoints: Dict[str, InterfaceEndpoint] = field(default_factory=dict)  # PrivateLink
    vpn_gateways: Dict[str, VpnGateway] = field(default_factory=dict)  # at most one (AWS: one per VPC)
    hosts: Dict[str, Host] = field(default_factory=dict)


@dataclass
class TgwAttachment:
    """A transit gateway attachment: a VPC, or a VPN / Direct Connect gateway with its on-premises CIDRs."""

    kind: str = "vpc"  # vpc | vpn | dx
    vpc: Optional[str] = None  # kind vpc
    onprem_cidrs: List[str] = field(default_factory=list)  # kind vpn or dx
    route_table: str = ""  # the TGW route table associated with the attachment
    # kind vpn: its two tunnels, standard (1.25 Gbit/s each) or large (5 Gbit/s each, since
    # 2025-09; priced higher, not in the price books: billed as standard here); with `ecmp` the
    # transit gateway spreads flows over both tunnels, a flow staying on one (FACTS "Site-to-Site VPN")
    tunnel: str = "standard"
    ecmp: bool = True


@dataclass
class TgwRoute:
    """A transit gateway route: destination CIDR -> attachment name, or `blackhole`."""

    destination: str = ""
    target: str = ""


@dataclass
class TgwRouteTable:
    routes: List[TgwRoute] = field(default_factory=list)


@dataclass
class TransitGateway:
    """A transit gateway: attachments, each associated with one of its route tables (static routes)."""

    attachments: Dict[str, TgwAttachment] = field(default_factory=dict)
    route_tables: Dict[str, TgwRouteTable] = field(default_factory=dict)


@dataclass
class WeightedPort:
    port: int = 443
    weight: float = 1.0


@dataclass
class FunctionVpc:
    """A Lambda function's VPC configuration (AWS VpcConfig): Lambda puts a Hyperplane network
    interface in each subnet for the function's security groups, and its invocations send
    their traffic (`functions.NAME.egress`) from one of them."""

    vpc: str = ""  # the VPC of the subnets
    subnets: List[str] = field(default_factory=list)  # AWS recommends two or more, in different AZs
    security_groups: List[str] = field(default_factory=list)  # empty: the VPC's default group


@dataclass
class Egress:
    """A flow each invocation of a function in a VPC sends (`functions.NAME.egress[i]`).

    It is made as a call is (`probability`, `count`, `at` as in `calls`) and does not hold the
    invocation: the function's own `duration_ms` covers its transfer (the links are
    feed-forward: a slow NAT gateway lengthens the flow, not the invocation). From a subnet
    drawn uniformly among the function's, to `dst` (as a flow generator's), judged by the
    firewalls on its path and given bandwidth on its links.
    """

    dst: str = ""  # internet:IP | onprem:IP | a host name | an IP
    protocol: Any = "tcp"  # tcp | udp | icmp | an IANA number
    dst_ports: List[WeightedPort] = field(default_factory=lambda: [WeightedPort()])  # drawn by weight
    size_bytes: Dist = field(default_factory=lambda: Dist(dist="fixed", value=10000.0))  # the request
    response_bytes: Optional[Dist] = None  # the answer; None: as size_bytes (same draw)
    # how long the flow would take alone (its bytes over this are its rate cap); None: no cap
    duration_s: Optional[Dist] = None
    # how long the connection stays open after its bytes, idle (a pooled or kept-alive
    # connection); a NAT gateway drops one idle past 350 s (IdleTimeoutCount) unless TCP
    # keepalives come more often (`keepalive_s`); None: closed at once
    idle_s: Optional[Dist] = None
    keepalive_s: Optional[float] = None  # TCP keepalive interval while idle (None: none)
    # its mean packet size (its weight on a NAT gateway's packet rate, its Packets* counts) and
    # round-trip time (with it, the packets TCP loses at a congested NAT gateway: sim.network.nat);
    # our assumptions for the defaults: the MTU, and 20 ms
    packet_bytes: int = 1500
    rtt_ms: float = 20.0
    probability: float = 1.0  # share of invocations that send it
    count: int = 1  # flows sent one after another when it is sent
    at: str = "start"  # start: before the function's own duration_ms | end: after it


@dataclass
class Flow:
    """A flow generator: flows from `src` to `dst`, each a connection with its own ports, bytes and start.

    Endpoints: a host name, `internet:IP` (an address outside every VPC, or a host's public
    address), or `onprem:IP` (inside a VPN connection's or DX interface's on-premises CIDRs).
    How many: `count` flows, or `rate_per_s` over [start_s, end_s); start times `uniform`
    (evenly spaced) or `poisson` (a Poisson process: the count is Poisson too).
    """

    name: str = ""
    src: str = ""
    dst: str = ""
    protocol: Any = "tcp"  # tcp | udp | icmp | an IANA number
    dst_ports: List[WeightedPort] = field(default_factory=lambda: [WeightedPort()])  # drawn by weight
    count: Optional[int] = None
    rate_per_s: Optional[float] = None
    starts: str = "poisson"  # uniform | poisson
    start_s: float = 0.0
    end_s: Optional[float] = None  # None: the scenario's end
    size_bytes: Dist = field(default_factory=lambda: Dist(dist="fixed", value=10000.0))  # initiator to responder
    response_bytes: Optional[Dist] = None  # responder to initiator; None: as size_bytes (same draw)
    # how long a flow takes on its own (a TCP window, the far end): its bytes over this are its
    # rate cap; sharing a link (a NAT gateway, a VPN connection) can only make it longer
    duration_s: Dist = field(default_factory=lambda: Dist(dist="fixed", value=1.0))
    # how long the connection stays open after its bytes, idle (a pooled or kept-alive
    # connection); a NAT gateway drops one idle past 350 s (IdleTimeoutCount) unless TCP
    # keepalives come more often (`keepalive_s`); None: closed at once
    idle_s: Optional[Dist] = None
    keepalive_s: Optional[float] = None  # TCP keepalive interval while idle (None: none)
    # its mean packet size (its weight on a NAT gateway's packet rate, its Packets* counts) and
    # round-trip time (with it, the packets TCP loses at a congested NAT gateway: sim.network.nat);
    # our assumptions for the defaults: the MTU, and 20 ms
    packet_bytes: int = 1500
    rtt_ms: float = 20.0
