"""What the VPCs bill: NAT gateways, transit gateways, VPN connections and data transfer.

Prices are in `configs/pricing/` (AmazonVPC, AWSDataTransfer); this module only counts, per
period of `record.period_s`:

- `NatGateway-Hours` (each NAT gateway, for the whole run) and `NatGateway-Bytes` (bytes it
  processes, both directions), plus `PublicIPv4:InUseAddress` hours for a public NAT
  gateway's Elastic IPs (`ip_addresses` of them; $0.005 per hour per public IPv4 address:
  FACTS "NAT gateway price").
- `VpcEndpoint-Hours` per interface endpoint and AZ (its interfaces), `VpcEndpoint-Bytes`
  (bytes it processes, both directions); gateway endpoints are free and not metered.
- `TransitGateway-Hours` per attachment and `TransitGateway-Bytes` (bytes sent into the
  transit gateway by its attachments, both directions).
- `VPN-Usage-Hours` per Site-to-Site VPN connection (of a virtual private gateway or a
  transit gateway attachment of kind vpn).
- `DataTransfer-Out-Bytes`: bytes leaving AWS for the internet — a request sent to an
  internet address (directly or through a NAT gateway), a response to a client on the
  internet. Data in is free.
- `DataTransfer-Regional-Bytes`: bytes between Availability Zones (a host to a host or to a
  NAT gateway in another AZ, when both subnets name their `az`), charged in each direction:
  a byte crossing counts twice, once out of its AZ and once into the other.
- Direct Connect (service `AWSDirectConnect`, resources `dx_connection:NAME`): port-hours of
  every connection of `direct_connect.connections` for the whole run, up or down (AWS bills
  a port by the hour whatever flows; an outage does not stop the clock — our reading), as
  `PortUsage-{1G,10G,100G,400G}-Dedicated` or `PortUsage-{50M,...,500M,1G,2G,5G,10G,25G}-Hosted`
  by type and speed (FACTS "Direct Connect dedicated", "Direct Connect hosted"; a LAG bills
  each member's port, as its members are connections); and `DataXfer-Out`, the bytes out of
  the Region over each connection per period, which the links put in `dx_out` (data in is
  free: FACTS "Direct Connect transfer"). The price books hold one DataXfer-Out rate per
  Region (us-east-1: $0.02/GB, US locations); a connection's `location` does not change it yet.

Hours are metered as milliseconds (scale 1/3,600,000): the bill projects the simulated period
to a month (`billing.month_h`), so a day's run of a NAT gateway bills a month of hours.

Simplifications, stated: a flow's bytes count in the period it starts (not spread over its
duration); a flow that is rejected on its way counts its first packet
(min(bytes, 1500)) on the links it crossed, like its flow log records, and no response; a
response crosses the same links as its request (the path walker checks the return route).
A peering's traffic across AZs pays the inter-AZ rate each way (within an AZ it is free).
Not metered yet: VPN data out (outside failovers).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Dict, List, Tuple

import numpy as np

from scenarios.schema import Scenario
from scenarios.vpc import DxConnection
from scenarios.vpc_check import DX_SPEEDS, dx_port_label
from sim.billing.meters import BYTES_PER_GB, MeterTable, period_ms
from sim.network.packets import MTU_BYTES

MS_PER_HOUR = Decimal(3_600_000)
DX_SERVICE = "AWSDirectConnect"
DX_DATA_OUT = "DataXfer-Out"


def dx_port_usage_type(conn: DxConnection) -> str:
    """The usage type of a (checked) connection's port-hours: `PortUsage-10G-Dedicated`,
    `PortUsage-500M-Hosted`, as the price books' AWSDirectConnect rows."""
    return f"PortUsage-{dx_port_label(conn.type, conn.speed_gbps)}-{conn.type.capitalize()}"


def dx_usage_types() -> List[str]:
    """Every AWSDirectConnect usage type the meters can emit: a port of each offered type and
    speed (scenarios.vpc_check.DX_SPEEDS), and DataXfer-Out."""
    return [dx_port_usage_type(DxConnection(type=kind, speed_gbps=speed))
            for kind, speeds in DX_SPEEDS.items() for speed in speeds] + [DX_DATA_OUT]


class NetworkMeters:
    """The network's meters for one run: `add` each generator's judged flows, then `usage()`."""

    def __init__(self, s: Scenario, n_periods: int, period_s: float):
        self.n_periods, self.period_s = n_periods, period_s
        self.nats = [(v, n, nat) for v, vpc in s.vpcs.items() for n, nat in vpc.nat_gateways.items()]
        self.tgws = {name: len(t.attachments) for name, t in s.transit_gateways.items()}
        # interface endpoints: (name, its interfaces: one per AZ)
        self.endpoints = [(e, len([x for x in ep.subnets if x in vpc.subnets])) for vpc in s.vpcs.values()
                          for e, ep in vpc.interface_endpoints.items()]
        self.vpns = [f"vpn_connection:{c}" for vpc in s.vpcs.values() for g in vpc.vpn_gateways.values()
                     for c in g.vpn_connections] + \
                    [f"vpn_connection:{t}/{a}" for t, tgw in s.transit_gateways.items()
                     for a, att in tgw.attachments.items() if att.kind == "vpn"]
        self.vpcs = list(s.vpcs)
        self.dx = dict(s.direct_connect.connections)
        # Direct Connect connection name -> int64 bytes out of the Region over it, per period;
        # the links (the sharing code) add to it, the meters bill it as DataXfer-Out.
        self.dx_out: Dict[str, np.ndarray] = {c: np.zeros(n_periods, np.int64) for c in self.dx}
        self.bytes: Dict[str, np.ndarray] = {}  # link -> int64 bytes per period
        self.inter_az = {v: np.zeros(n_periods, np.int64) for v in self.vpcs}
        self.hours_ms = period_ms(n_periods, period_s, s.duration_s)

    def _add(self, key: str, period: np.ndarray, nbytes: np.ndarray) -> None:
        acc = self.bytes.setdefault(key, np.zeros(self.n_periods, np.int64))
        np.add.at(acc, period, nbytes)

    def add(self, path, out, start_s: np.ndarray, size: np.ndarray, response: np.ndarray) -> None:
        """One generator's flows: their path, outcome (`paths.evaluate`), starts and bytes each way."""
        period = np.minimum((start_s // self.period_s).astype(np.int64), self.n_periods - 1)
        accepted = out.accepted
        answered = np.where(accepted, response, 0)
        for i, c in enumerate(path.forward):
            if not (c.link or c.cross_az):
                continue
            crossed = out.fail_at > i
            request = np.where(crossed, np.where(accepted, size, np.minimum(size, MTU_BYTES)), 0)
            if c.cross_az:
                np.add.at(self.inter_az[c.vpc], period, 2 * (request + answered))
            kind, _, name = c.link.partition(":")
            if kind in ("nat_gateway", "transit_gateway", "vpce"):
                self._add(c.link, period, request + answered)
            elif kind == "internet_out":
                self._add(f"internet:{name}", period, request)
            elif kind == "internet_in":
                self._add(f"internet:{name}", period, answered)

    def link_bytes(self, link: str) -> int:
        """Bytes counted on a link over the run (`nat_gateway:NAME`, `transit_gateway:NAME`,
        `internet:VPC` out to the internet)."""
        return int(self.bytes[link].sum()) if link in self.bytes else 0

    def inter_az_bytes(self, vpc: str) -> int:
        """Bytes billed between AZs in `vpc` (each crossing counted out and in)."""
        return int(self.inter_az[vpc].sum())

    def usage(self) -> Tuple[list, list]:
        total: List = []
        per_period: List = []
        gb = Decimal(1) / BYTES_PER_GB
        hour = Decimal(1) / MS_PER_HOUR
        if self.nats or self.tgws or self.vpns:
            nat_res = [f"nat_gateway:{n}" for _, n, _ in self.nats]
            tgw_res = [f"transit_gateway:{t}" for t in self.tgws]
            resources = nat_res + tgw_res + self.vpns
            vpc = MeterTable("AmazonVPC", resources, self.n_periods, self.period_s)
            nn, nt, nv = len(nat_res), len(tgw_res), len(self.vpns)

            def scale(nat, tgw, vpn):
                return [nat] * nn + [tgw] * nt + [vpn] * nv

            z = Decimal(0)
            if nn:
                vpc.declare("NatGateway-Hours", "Hrs", scale(hour, z, z))[:] = self.hours_ms[:, None]
                b = vpc.declare("NatGateway-Bytes", "GB", scale(gb, z, z))
                for r, res in enumerate(nat_res):
                    b[:, r] = self.bytes.get(res, 0)
                ips = [nat.ip_addresses if nat.connectivity == "public" else 0 for _, _, nat in self.nats]
                if any(ips):
                    ip = vpc.declare("PublicIPv4:InUseAddress", "Hrs", [hour * n for n in ips] + [z] * (nt + nv))
                    ip[:] = self.hours_ms[:, None]
            if nt:
                h = vpc.declare("TransitGateway-Hours", "Hrs", scale(z, hour, z))
                b = vpc.declare("TransitGateway-Bytes", "GB", scale(z, gb, z))
                for r, (t, attachments) in enumerate(self.tgws.items()):
                    h[:, nn + r] = self.hours_ms * attachments
                    b[:, nn + r] = self.bytes.get(f"transit_gateway:{t}", 0)
            if nv:
                vpc.declare("VPN-Usage-Hours", "Hrs", scale(z, z, hour))[:] = self.hours_ms[:, None]
            t, p = vpc.usage()
            total += t
            per_period += p
        if self.endpoints:
            ept = MeterTable("AmazonVPC", [f"vpc_endpoint:{e}" for e, _ in self.endpoints], self.n_periods,
                             self.period_s)
            ept.declare("VpcEndpoint-Hours", "Hrs", [hour * n for _, n in self.endpoints])[:] = self.hours_ms[:, None]
            b = ept.declare("VpcEndpoint-Bytes", "GB", gb)
            for r, (e, _n) in enumerate(self.endpoints):
                b[:, r] = self.bytes.get(f"vpce:{e}", 0)
            t, p = ept.usage()
            total += t
            per_period += p
        if self.dx:
            t, p = self._dx_usage()
            total += t
            per_period += p
        out_bytes = {v: self.bytes.get(f"internet:{v}", np.zeros(self.n_periods, np.int64)) for v in self.vpcs}
        dt = MeterTable("AWSDataTransfer", [f"vpc:{v}" for v in self.vpcs], self.n_periods, self.period_s)
        for usage_type, per_vpc in (("DataTransfer-Out-Bytes", out_bytes), ("DataTransfer-Regional-Bytes", self.inter_az)):
            if any(x.any() for x in per_vpc.values()):  # (a meter only where there is traffic)
                m = dt.declare(usage_type, "GB", gb)
                for k, v in enumerate(self.vpcs):
                    m[:, k] = per_vpc[v]
        if dt.meters:
            t, p = dt.usage()
            total += t
            per_period += p
        return total, per_period

    def dx_out_bytes(self, connection: str) -> int:
        """Bytes counted out of the Region over a Direct Connect connection over the run."""
        return int(self.dx_out[connection].sum())

    def _dx_usage(self) -> Tuple[list, list]:
        """AWSDirectConnect: each connection's port-hours under its type and speed, and its data out."""
        names = list(self.dx)
        dx = MeterTable(DX_SERVICE, [f"dx_connection:{c}" for c in names], self.n_periods, self.period_s)
        hour, gb, z = Decimal(1) / MS_PER_HOUR, Decimal(1) / BYTES_PER_GB, Decimal(0)
        kinds = [dx_port_usage_type(self.dx[c]) for c in names]
        for usage_type in dict.fromkeys(kinds):  # one meter per port type in use, in order of appearance
            dx.declare(usage_type, "Hrs", [hour if k == usage_type else z for k in kinds])[:] = self.hours_ms[:, None]
        if any(self.dx_out[c].any() for c in names):  # (a meter only where there is traffic)
            m = dx.declare(DX_DATA_OUT, "GB", gb)
            for r, c in enumerate(names):
                m[:, r] = self.dx_out[c]
        return dx.usage()
