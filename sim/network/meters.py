"""What the VPCs bill: NAT gateways, transit gateways, VPN connections and data transfer.

Prices are in `configs/pricing/` (AmazonVPC, AWSDataTransfer); this module only counts, per
period of `record.period_s`:

- `NatGateway-Hours` (each NAT gateway, for the whole run) and `NatGateway-Bytes` (bytes it
  processes, both directions), plus `PublicIPv4:InUseAddress` hours for a public NAT
  gateway's Elastic IPs (`ip_addresses` of them; $0.005 per hour per public IPv4 address:
  FACTS "NAT gateway price").
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

Hours are metered as milliseconds (scale 1/3,600,000): the bill projects the simulated period
to a month (`billing.month_h`), so a day's run of a NAT gateway bills a month of hours.

Simplifications, stated: a flow's bytes count in the period it starts (not spread over its
duration); a flow that is rejected on its way counts its first packet
(min(bytes, 1500)) on the links it crossed, like its flow log records, and no response; a
response crosses the same links as its request (the path walker checks the return route).
Not metered yet: Direct Connect ports and their data out (connections have no speed in the
scenario yet), VPN data out, peering across AZs, interface endpoints.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Dict, List, Tuple

import numpy as np

from scenarios.schema import Scenario
from sim.billing.meters import BYTES_PER_GB, MeterTable
from sim.network.packets import MTU_BYTES

MS_PER_HOUR = Decimal(3_600_000)


def _hours_ms(n_periods: int, period_s: float, t_end: float) -> np.ndarray:
    """Milliseconds of each period within [0, t_end)."""
    starts = np.arange(n_periods) * period_s
    return np.round((np.minimum(starts + period_s, t_end) - starts) * 1000).astype(np.int64)


class NetworkMeters:
    """The network's meters for one run: `add` each generator's judged flows, then `usage()`."""

    def __init__(self, s: Scenario, n_periods: int, period_s: float):
        self.n_periods, self.period_s = n_periods, period_s
        self.nats = [(v, n, nat) for v, vpc in s.vpcs.items() for n, nat in vpc.nat_gateways.items()]
        self.tgws = {name: len(t.attachments) for name, t in s.transit_gateways.items()}
        self.vpns = [f"vpn_connection:{c}" for vpc in s.vpcs.values() for g in vpc.vpn_gateways.values()
                     for c in g.vpn_connections] + \
                    [f"vpn_connection:{t}/{a}" for t, tgw in s.transit_gateways.items()
                     for a, att in tgw.attachments.items() if att.kind == "vpn"]
        self.vpcs = list(s.vpcs)
        self.bytes: Dict[str, np.ndarray] = {}  # link -> int64 bytes per period
        self.inter_az = {v: np.zeros(n_periods, np.int64) for v in self.vpcs}
        self.hours_ms = _hours_ms(n_periods, period_s, s.duration_s)
        # bytes out of AWS over each Direct Connect connection, per period (sim.network.dx fills it)
        self.dx_out = {c: np.zeros(n_periods, np.int64) for c in s.direct_connect.connections}

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
            if kind in ("nat_gateway", "transit_gateway"):
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
