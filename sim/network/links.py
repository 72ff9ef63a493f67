"""Flows on links: every flow that passes the firewalls shares bandwidth on the links of its
path (`kernels.bandwidth`, max-min fair), and every flow that reaches a NAT gateway needs one of
its source ports toward its destination, in the same event loop, window by window.

Links with a capacity: a NAT gateway (its bandwidth and its packet rate, two links carrying
the same flows: from 5 Gbit/s and 1 M packets/s scaling up to 100 Gbit/s and 10 M, or fixed by
`max_gbps`; `sim.network.nat`); a Site-to-Site VPN connection on a virtual private gateway (1.25 Gbit/s: a
Standard tunnel, and a virtual private gateway sends over one tunnel, no ECMP; FACTS
"Site-to-Site VPN"); a transit gateway's VPN attachment (two tunnels of 1.25 Gbit/s, or 5 for
Large ones, both used with ECMP, one flow never faster than one tunnel); a transit gateway's
VPC attachment in each AZ (100 Gbit/s; FACTS "Transit Gateway"); a NAT instance with a
`bandwidth_gbps` (its instance type's); and a Direct Connect interface with a `connection`
(its speed, changing with failures and failover: `sim.network.dx`). A NAT gateway or NAT
instance with `outages` carries nothing while down (`Outages`). Internet gateways and peering
(AWS sets them no bandwidth limit) and DX interfaces without a connection limit no flow.

A flow carries its request and its response bytes as one transfer; a `duration_s` makes a
rate cap (bytes / duration_s), so alone on its links it lasts exactly that long, and sharing
a saturated link makes it last longer. Its generator's `packet_bytes` (mean packet size) sets
its weight on a NAT gateway's packet rate, and with `rtt_ms` its losses there. A flow with no
cap on a path with no limiting link
takes no time (nothing in the model limits it). A flow that the firewalls reject beyond a NAT
gateway takes a port and frees it at once; a flow with no port fails at the gateway with
ErrorPortAllocation (`sim.network.nat`). A port is held from the flow's start to its end.

`Links` is fed each window's flows (`feed`) and then stepped to the window's end (`step`):
the sharing resumes where the last window left it (`sim.network.bandwidth.ShareState`), so
a flow's completion does not depend on the windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from kernels.bandwidth import BITS_PER_BYTE, DEFAULT_PACKET_BYTES, DEFAULT_RTT_S, PACKET_UNIT_BYTES
from kernels.nat import CONNECTIONS_PER_DESTINATION_PER_IP, IDLE_TIMEOUT_S
from sim.network.bandwidth import Finished, ShareState
from sim.network.nat import START_GBPS, NatCapacity, NatConnections, count_connections
from sim.network.packets import MTU_BYTES

VPN_TUNNEL_BPS = 1.25e9  # FACTS "Site-to-Site VPN": Standard tunnels 1.25 Gbps each
VPN_LARGE_TUNNEL_BPS = 5e9  # Large tunnels (transit gateway only, since 2025-09), 5 Gbps each
VPN_TUNNELS = 2  # per connection
TGW_ATTACHMENT_BPS = 100e9  # FACTS "Transit Gateway": up to 100 Gbps per VPC attachment per AZ


def dx_members(s, connection: str) -> List[str]:
    """The Direct Connect connections behind a DX interface's `connection` (a LAG's members, or
    itself)."""
    lag = s.direct_connect.lags.get(connection)
    return list(lag.connections) if lag is not None else [connection]


def flow_caps(s) -> Dict[str, float]:
    """Link name -> the most one flow can get on it: a VPN tunnel's speed (a flow stays on one
    tunnel; with ECMP the transit gateway spreads flows, not packets)."""
    caps = {}
    for vpc in s.vpcs.values():
        for g in vpc.vpn_gateways.values():
            for c in g.vpn_connections:
                caps[f"vpn:{c}"] = VPN_TUNNEL_BPS
    for t, tgw in s.transit_gateways.items():
        for a, att in tgw.attachments.items():
            if att.kind == "vpn":
                caps[f"vpn:{t}/{a}"] = VPN_LARGE_TUNNEL_BPS if att.tunnel == "large" else VPN_TUNNEL_BPS
    return caps


def capacities(s) -> Dict[str, float]:
    """Link name -> bits/s for the links that limit flows."""
    caps = {}
    for vpc in s.vpcs.values():
        for name, nat in vpc.nat_gateways.items():  # (where it starts: sim.network.nat)
            caps[f"nat_gateway:{name}"] = (START_GBPS if nat.max_gbps is None else nat.max_gbps) * 1e9
        for name, host in vpc.hosts.items():
            if host.nat and host.bandwidth_gbps is not None:
                caps[f"nat_instance:{name}"] = host.bandwidth_gbps * 1e9
        for g in vpc.vpn_gateways.values():
            for c in g.vpn_connections:
                caps[f"vpn:{c}"] = VPN_TUNNEL_BPS
            for n, x in g.dx_interfaces.items():  # (sim.network.dx: its capacity over time)
                if x.connection:
                    caps[f"dx:{n}"] = sum(s.direct_connect.connections[c].speed_gbps
                                          for c in dx_members(s, x.connection)) * 1e9
    tunnel = flow_caps(s)
    for t, tgw in s.transit_gateways.items():
        for a, att in tgw.attachments.items():
            if att.kind == "vpc" and att.vpc in s.vpcs:
                for az in sorted({sub.az for sub in s.vpcs[att.vpc].subnets.values()} | {""}):
                    caps[f"tgw_attachment:{t}/{a}@{az}"] = TGW_ATTACHMENT_BPS
            elif att.kind == "vpn":
                caps[f"vpn:{t}/{a}"] = tunnel[f"vpn:{t}/{a}"] * (VPN_TUNNELS if att.ecmp else 1)
    return caps


@dataclass
class Route:
    """What the links make of a path: its limiting links (a path number of the sharing), the
    NAT gateway it crosses (its index among the gateways, and the check's place on the path)."""

    path: object  # sim.network.paths.Path
    protocol: int
    pid: int  # the sharing's number of its limiting links (-1: none)
    nat: int  # -1: no NAT gateway
    nat_at: Optional[int]
    flow_cap: float = np.inf  # the most one flow gets on its links (a VPN tunnel)
    latency_s: float = 0.0  # one-way latency added to its completion (a Direct Connect link's)
    dir_links: tuple = ()  # its VPN and DX links (their metrics and bill split by direction)


class Links:
    """The links' sharing and the NAT gateways' ports over a run (module doc)."""

    def __init__(self, s, n_periods: int, period_s: float):
        cap_of = capacities(s)
        self.link_index = {name: k for k, name in enumerate(cap_of)}
        self.nat_names = [n for vpc in s.vpcs.values() for n in vpc.nat_gateways]
        self.nat_ips = [nat.ip_addresses for vpc in s.vpcs.values() for nat in vpc.nat_gateways.values()]
        self.nats = {n: NatConnections(n, v, n_periods) for v, vpc in s.vpcs.items() for n in vpc.nat_gateways}
        # each NAT gateway's packet rate: a link of its own after the named ones (sim.network.nat)
        self.nat_cap = {}
        for g, nat in enumerate(nat for vpc in s.vpcs.values() for nat in vpc.nat_gateways.values()):
            n = self.nat_names[g]
            nc = NatCapacity.of(n, nat, self.link_index[f"nat_gateway:{n}"], len(cap_of) + g)
            self.nat_cap[n] = self.nats[n].capacity = nc
        cap_l = np.array(list(cap_of.values()) + [0.0] * len(self.nat_cap), np.float64)
        for nc in self.nat_cap.values():
            for l, bps in nc.caps().items():
                cap_l[l] = bps
        self.state = ShareState(cap_l, period_s=period_s, n_periods=n_periods, n_nat=len(self.nat_names),
                                packet_links={nc.link: nc.plink for nc in self.nat_cap.values()})
        self.n_periods, self.period_s = n_periods, period_s
        self.nominal = np.array(list(cap_of.values()), np.float64)
        self.flow_cap = flow_caps(s)
        self.direction: Dict[int, list] = {}  # VPN or DX link -> [bytes leaving AWS, all bytes] of its accepted flows
        # one-way latency of each DX interface's connection (a LAG's members share an endpoint)
        self.latency_s = {f"dx:{n}": s.direct_connect.connections[dx_members(s, x.connection)[0]].latency_ms / 1000.0
            for vpc in s.vpcs.values() for g in vpc.vpn_gateways.values() for n, x in g.dx_interfaces.items()
            if x.connection}
        self._fed: List[tuple] = []

    def metrics(self, period_s: float, vpn_extra=None):
        """Per link and period (namespace cloudtwin/Links, dimension Link=NAME): BytesCarried,
        PacketsCarried (in 1,500-byte packets; a NAT gateway's from its flows' packet sizes), and
        Utilization, the bits carried over what its nominal capacity could carry in the period
        (0-1; a link down or failed over carries less than its nominal capacity; a NAT gateway's
        nominal capacity is what it has scaled to). Per VPN
        connection (AWS/VPN, VpnId=NAME): TunnelState (1: its tunnels never fail here),
        TunnelDataOut and TunnelDataIn (what it carried, split by the share of its flows' bytes
        leaving AWS; with what DX interfaces failed over to it, `vpn_extra`)."""
        import polars as pl

        if not self.link_index:
            return None
        bits = self.state.link_bits
        starts = np.arange(bits.shape[0]) * period_s
        frames = []

        def frame(namespace, metric, dim, v):
            frames.append(pl.DataFrame({"time_s": starts, "namespace": namespace, "metric": metric,
                                        "dimension": dim, "value": v}))

        nat_of = {nc.link: nc for nc in self.nat_cap.values()}
        for name, l in self.link_index.items():
            frame("cloudtwin/Links", "BytesCarried", f"Link={name}", bits[:, l] / 8)
            if l in nat_of:  # (a NAT gateway's packets from its flows' packet sizes; its capacity as it scaled)
                nc = nat_of[l]
                frame("cloudtwin/Links", "PacketsCarried", f"Link={name}", bits[:, nc.plink] / 8 / PACKET_UNIT_BYTES)
                frame("cloudtwin/Links", "Utilization", f"Link={name}",
                      bits[:, l] / nc.bit_seconds(bits.shape[0], period_s))
                continue
            frame("cloudtwin/Links", "PacketsCarried", f"Link={name}", bits[:, l] / 8 / MTU_BYTES)
            frame("cloudtwin/Links", "Utilization", f"Link={name}", bits[:, l] / (self.nominal[l] * period_s))
            if name.startswith("vpn:"):
                share = self.out_share(l)
                xo, xi = (vpn_extra or {}).get(name, (0.0, 0.0))
                frame("AWS/VPN", "TunnelState", f"VpnId={name[4:]}", np.ones(len(starts)))
                frame("AWS/VPN", "TunnelDataOut", f"VpnId={name[4:]}", bits[:, l] / 8 * share + xo)
                frame("AWS/VPN", "TunnelDataIn", f"VpnId={name[4:]}", bits[:, l] / 8 * (1 - share) + xi)
        return pl.concat(frames)

    def out_share(self, link: int) -> float:
        """The share of the bytes of a VPN or DX link's accepted flows that leave AWS (their
        requests from AWS, their answers to a client outside; 1 before any flow)."""
        o_b, a_b = self.direction.get(link, (0, 0))
        return o_b / a_b if a_b else 1.0

    def route(self, path, protocol: int) -> Route:
        nat_at = next((j for j, c in enumerate(path.forward) if c.link.startswith("nat_gateway:")), None)
        nat = self.nat_names.index(path.forward[nat_at].link.partition(":")[2]) if nat_at is not None else -1
        names = {x for c in path.forward for x in (c.link, *c.limits) if x in self.link_index}
        links = tuple(sorted(self.link_index[x] for x in names))
        cap = min((self.flow_cap.get(x, np.inf) for x in names), default=np.inf)
        latency = sum(self.latency_s.get(c.link, 0.0) for c in path.forward)
        both = tuple(self.link_index[x] for x in sorted(names) if x.startswith(("vpn:", "dx:")))
        return Route(path, protocol, self.state.path_id(links) if links else -1, nat, nat_at, cap, latency, both)

    def feed(self, r: Route, out, d, idx: np.ndarray, tags: np.ndarray, keepalive_s: Optional[float] = None,
             packet_bytes: int = DEFAULT_PACKET_BYTES, rtt_ms: float = DEFAULT_RTT_S * 1000.0) -> None:
        """Flows idx of drawn flows `d` (start_s ascending; `duration_s` their rate caps, or None
        for none; `idle_s` how long each stays open idle after its bytes, or None) judged `out`
        along route r, tagged `tags`, starting in this window, of mean packet size
        `packet_bytes` and round-trip time `rtt_ms`. Through a NAT gateway a
        connection idle past IDLE_TIMEOUT_S is dropped there (unless keepalives come more
        often than that), its port held until then; else its port is held while it idles."""
        accepted = out.accepted[idx]
        take = accepted | (out.fail_at[idx] >= r.nat_at) if r.nat_at is not None else accepted
        if not take.any():
            return
        idx, tags = idx[take], tags[take]
        acc = accepted[take]
        b = (d.size_bytes[idx] + d.response_bytes[idx]) * float(BITS_PER_BYTE)
        if d.duration_s is None:
            bits = np.where(acc, b, 0.0)
            cap = np.full(len(idx), np.inf)
        else:
            dur = d.duration_s[idx]
            bits = np.where(acc & (dur > 0), b, 0.0)
            cap = np.where(bits > 0, bits / np.where(dur > 0, dur, 1.0), np.inf)
        cap = np.minimum(cap, r.flow_cap)
        if r.pid < 0:  # nothing limits it but its cap
            bits = np.where(cap < np.inf, bits, 0.0)
        if r.dir_links:  # (the share of bytes leaving AWS, for their metrics and bill)
            size, resp = d.size_bytes[idx][acc], d.response_bytes[idx][acc]
            out = int((resp if r.path.src.kind == "onprem" else size).sum())
            for l in r.dir_links:
                x = self.direction.setdefault(l, [0, 0])
                x[0] += out
                x[1] += int(size.sum() + resp.sum())
        pid = r.pid if r.pid >= 0 else self.state.path_id(())
        kind = self.state.kind(packet_bytes, rtt_ms / 1000.0)
        fcls = self.state.classes(np.full(len(idx), pid, np.int64), cap, np.full(len(idx), kind, np.int64))
        if r.nat < 0:
            pkey = np.full(len(idx), -1, np.int64)
        else:
            ports = d.dst_port[idx]
            limit = CONNECTIONS_PER_DESTINATION_PER_IP * self.nat_ips[r.nat]
            uniq, which = np.unique(ports, return_inverse=True)
            keys = np.array([self.state.port_key((r.nat, r.path.dst_ip, p, r.protocol), limit, r.nat)
                             for p in uniq.tolist()], np.int64)
            pkey = keys[which.reshape(-1)]
        hold = np.zeros(len(idx))
        drop = np.zeros(len(idx), bool)
        if r.nat >= 0 and getattr(d, "idle_s", None) is not None:
            idle = np.maximum(d.idle_s[idx], 0.0)
            if keepalive_s is None or keepalive_s >= IDLE_TIMEOUT_S:
                drop = acc & (idle > IDLE_TIMEOUT_S)
            hold = np.where(drop, IDLE_TIMEOUT_S, np.where(acc, idle, 0.0))
        self._fed.append((r, out, d, idx, drop, packet_bytes, d.start_s[idx], bits, fcls, pkey, tags, hold))

    def step(self, t1: float, final: bool = False) -> Finished:
        """Share the links up to t1 (final: until every flow is done) with the flows fed since
        the last step; flows with no port fail at their gateway (`out.fail_at`), and the
        gateways count their connections. Returns the flows finished."""
        fed, self._fed = self._fed, []
        if fed:
            cols = [np.concatenate([f[k] for f in fed]) for k in range(6, 12)]
            order = np.argsort(cols[0], kind="stable")  # (ties: in the order fed)
            ok_sorted, fin = self.state.step(*(c[order] for c in cols[:5]), t1=t1, final=final, hold=cols[5][order])
            ok = np.empty(len(order), bool)
            ok[order] = ok_sorted
        else:
            z = np.zeros(0)
            _, fin = self.state.step(z, z, z.astype(np.int64), z.astype(np.int64), z.astype(np.int64), t1=t1,
                                     final=final)
        pos = 0
        for r, out, d, idx, drop, packet_bytes, *_ in fed:
            got = ok[pos:pos + len(idx)]
            pos += len(idx)
            if r.nat_at is not None:  # (every flow of idx reached the gateway)
                out.fail_at[idx[~got]] = r.nat_at  # ErrorPortAllocation: the flow fails at the gateway
                nc = self.nats[self.nat_names[r.nat]]
                count_connections(nc, out, idx, got, d, self.n_periods, self.period_s, packet_bytes)
                if drop.any():  # (counted in the period the flow starts, as the other counts)
                    period = np.minimum((d.start_s[idx] // self.period_s).astype(np.int64), self.n_periods - 1)
                    np.add.at(nc.counts["idle_timeouts"], period, (drop & got).astype(np.int64))
        if final:
            for k, n in enumerate(self.nat_names):
                nc, cap = self.nats[n], self.nat_cap[n]
                nc.active_max[:] = self.state.nat_amax[:, k]
                nc.peak_bps = self.state.link_peak[:, cap.link].copy()
                nc.peak_pps = self.state.link_peak[:, cap.plink] / (BITS_PER_BYTE * PACKET_UNIT_BYTES)
                # (the losses are a sum of floats in event order: rounded once per period)
                nc.drops = np.rint(self.state.link_drops[:, cap.link]).astype(np.int64)
        return fin

    def apply_nat(self, nc: NatCapacity, t: float) -> None:
        """A NAT gateway's capacities (scaled, or down) take effect at t (a step to t came first)."""
        self.state.set_capacity(nc.caps(), t)


class Outages:
    """NAT gateways (their AZ down) and NAT instances over their `outages`: while down a link
    carries nothing (its flows wait, new ones too: the fluid model has no connect timeout), then
    its capacity comes back. Nothing fails over: AWS moves no route off a NAT gateway whose AZ
    is down, and a NAT instance's routes are yours to change. Each start and end is a SimPy
    event, so the sharing is stepped to it and recomputed there."""

    def __init__(self, s, links: Links):
        self.links = links
        self.spans: Dict[str, List[List[float]]] = {}  # link -> [start, end] clipped to the run
        self.entries = []
        for vpc in s.vpcs.values():
            for name, nat in vpc.nat_gateways.items():
                if nat.outages:
                    self.entries.append((f"nat_gateway:{name}", nat.outages))
            for name, host in vpc.hosts.items():
                if host.nat and host.outages:
                    self.entries.append((f"nat_instance:{name}", host.outages))
        self.duration_s = s.duration_s

    def start(self, env) -> None:
        for link, outages in self.entries:
            env.process(self._run(env, link, sorted((o.start_s, o.end_s) for o in outages)))

    def _run(self, env, link: str, spans):
        l = self.links.link_index[link]
        cap = float(self.links.state.cap_l[l])
        nat = self.links.nat_cap.get(link.partition(":")[2]) if link.startswith("nat_gateway:") else None
        for a, b in spans:
            if a >= self.duration_s:
                break
            yield env.timeout(a - env.now)
            self._set(nat, l, 0.0, True, env.now)
            self.spans.setdefault(link, []).append([a, min(b, self.duration_s)])
            if b >= self.duration_s:
                break
            yield env.timeout(b - env.now)
            self._set(nat, l, cap, False, env.now)

    def _set(self, nat, l: int, cap: float, down: bool, t: float) -> None:
        """A link down or back: a NAT gateway's bandwidth and packet rate (as it has scaled by
        then), or a NAT instance's bandwidth."""
        if nat is not None:
            nat.down = down
            self.links.apply_nat(nat, t)
        else:
            self.links.state.set_capacity({l: cap}, t)

    def down_s(self, link: str) -> float:
        return float(sum(b - a for a, b in self.spans.get(link, [])))
