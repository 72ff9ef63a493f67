"""Direct Connect interfaces over time: failures, BGP failover to a backup VPN, and fail-back.

A DX interface (`vpcs.V.vpn_gateways.G.dx_interfaces.NAME` with a `connection`) is one link of
the sharing, `dx:NAME`, whose capacity is its connection's speed (a LAG's: the speed of its
members that are up). Connections fail on a schedule (`outages`) or at random (exponential
times between failures, `mtbf_h`, and repairs, `mttr_h`, from the connection's own random
stream); each change is a SimPy event, so the sharing is stepped to it and recomputed there.

When an interface loses its connection (a LAG: fewer members up than `min_links`, or none),
its route still points at it until BGP notices: for `hold_time_s` (the BGP hold timer, 90 s by
default; 0.9 s with BFD, 300 ms x 3; FACTS "DX BGP") its flows are carried nowhere (capacity
0). Then the routes move to `backup_vpn` if there is one: the same flows go on at a
Site-to-Site VPN tunnel's 1.25 Gbit/s (FACTS "Site-to-Site VPN"), else they wait. When the
connection is repaired the routes move back at once (BGP re-establishes in seconds: our
assumption, stated). The flows keep their path: the link `dx:NAME` stands for "the route to
these on-premises prefixes", carried by DX or by the VPN as the state says.

Billing: what the link carried in each period while on DX is DX data out (AWSDirectConnect
DataXfer-Out, each member of a LAG an equal share), while on the backup VPN data out to the
internet (AWSDataTransfer, the VPN's rate), both times the share of the interface's bytes that
leave AWS (the link carries a flow's request and answer as one transfer).

Simplifications, stated: the backup VPN's own flows (destinations only it reaches) do not
share its tunnel with the failed-over ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List

import numpy as np

from sim.engine.rng import generator
from sim.network.links import VPN_TUNNEL_BPS, dx_members
from sim.network.packets import MTU_BYTES

BFD_DETECT_S = 0.9  # BFD: 300 ms x 3 (FACTS "DX BGP")
UP, BLACKHOLE, FAILOVER = "up", "blackhole", "failover"


def interfaces(s) -> Dict[str, tuple]:
    """DX interfaces with a connection: name -> (VPC, gateway, OnPremises)."""
    return {n: (v, g, x) for v, vpc in s.vpcs.items() for g, vgw in vpc.vpn_gateways.items()
            for n, x in vgw.dx_interfaces.items() if x.connection}


@dataclass
class Iface:
    name: str
    link: int  # its link in the sharing
    members: List[str]
    min_links: int
    speed_bps: float  # of one member
    backup_bps: float
    detect_s: float
    state: str = UP
    epoch: int = 0  # outages so far (a detection belongs to one)
    changes: List[tuple] = field(default_factory=list)  # (t, state, capacity)
    snap: np.ndarray = None  # its link's bits per period at the last change
    bits: Dict[str, np.ndarray] = field(default_factory=dict)  # state -> bits carried per period
    vpc: str = ""  # whose data out the backup VPN's bytes are


class DirectConnect:
    """The DX interfaces' state machine, changing link capacities in `links` (module doc)."""

    def __init__(self, s, links, n_periods: int):
        self.s, self.links = s, links
        self.up = {c: True for c in s.direct_connect.connections}
        self.ifaces: Dict[str, Iface] = {}
        for n, (v, _g, x) in interfaces(s).items():
            ms = dx_members(s, x.connection)
            lag = s.direct_connect.lags.get(x.connection)
            self.ifaces[n] = Iface(n, links.link_index[f"dx:{n}"], ms, max(lag.min_links, 1) if lag else 1,
                                   s.direct_connect.connections[ms[0]].speed_gbps * 1e9,
                                   VPN_TUNNEL_BPS if x.backup_vpn else 0.0,
                                   BFD_DETECT_S if x.bfd else x.hold_time_s,
                                   snap=np.zeros(n_periods),
                                   bits={k: np.zeros(n_periods) for k in (UP, FAILOVER)}, vpc=v)
            self.ifaces[n].changes.append((0.0, UP, float(links.state.cap_l[self.ifaces[n].link])))
        self.down_periods = {c: [] for c in s.direct_connect.connections}  # (start, end) per connection

    def start(self, env) -> None:
        for c, cfg in self.s.direct_connect.connections.items():
            if cfg.outages or cfg.mtbf_h:
                env.process(self._connection(env, c, cfg))

    def _connection(self, env, c: str, cfg):
        if cfg.outages:
            spans = [(o.start_s, o.end_s) for o in sorted(cfg.outages, key=lambda o: o.start_s)]
        else:
            gen = generator(self.s.seed, f"dx_connection:{c}")
            spans, t = [], 0.0
            while t < self.s.duration_s:
                t += gen.exponential(cfg.mtbf_h * 3600.0)
                repair = gen.exponential(cfg.mttr_h * 3600.0)
                if t < self.s.duration_s:
                    spans.append((t, t + repair))
                t += repair
        for a, b in spans:
            if a >= self.s.duration_s:
                break
            yield env.timeout(a - env.now)
            self._set_connection(env, c, False)
            self.down_periods[c].append([a, min(b, self.s.duration_s)])
            if b >= self.s.duration_s:
                break
            yield env.timeout(b - env.now)
            self._set_connection(env, c, True)

    def _set_connection(self, env, c: str, up: bool) -> None:
        self.up[c] = up
        t = env.now
        for f in self.ifaces.values():
            if c not in f.members:
                continue
            n_up = sum(self.up[m] for m in f.members)
            if n_up >= f.min_links:
                self._change(f, UP, n_up * f.speed_bps, t)
            elif f.state == UP:
                f.epoch += 1
                self._change(f, BLACKHOLE, 0.0, t)
                env.process(self._detect(env, f, f.epoch))

    def _detect(self, env, f: Iface, epoch: int):
        yield env.timeout(f.detect_s)
        if f.state == BLACKHOLE and f.epoch == epoch and f.backup_bps > 0:  # (still down: the VPN takes over)
            self._change(f, FAILOVER, f.backup_bps, env.now)

    def _change(self, f: Iface, state: str, cap: float, t: float) -> None:
        if f.changes and f.changes[-1][1:] == (state, cap):
            return
        self.links.state.set_capacity({f.link: cap}, t)  # (the link's bits carried up to t first)
        self._attribute(f)
        f.state = state
        f.changes.append((t, state, cap))

    def _attribute(self, f: Iface) -> None:
        """The bits the link carried since the last change, to the state it was in."""
        now = self.links.state.link_bits[:, f.link]
        if f.state in f.bits:
            f.bits[f.state] += now - f.snap
        f.snap = now.copy()

    def finish(self) -> None:
        for f in self.ifaces.values():
            self._attribute(f)

    def state_at(self, iface: str, t: np.ndarray) -> np.ndarray:
        """The state (index into (UP, BLACKHOLE, FAILOVER)) of an interface at times t."""
        ch = self.ifaces[iface].changes
        times = np.array([c[0] for c in ch])
        codes = np.array([(UP, BLACKHOLE, FAILOVER).index(c[1]) for c in ch])
        return codes[np.searchsorted(times, t, "right") - 1]

    def bill(self, meters) -> None:
        """Bytes out over DX (each LAG member an equal share) and over the backup VPN (data out
        to the internet): what each state carried per period, times the share of the
        interface's bytes that leave AWS (the link carries a flow's request and answer as one
        transfer)."""
        for f in self.ifaces.values():
            share = self._share(f)
            on_dx = np.rint(f.bits[UP] / 8 * share).astype(np.int64)
            per, rest = np.divmod(on_dx, len(f.members))
            for k, m in enumerate(f.members):
                meters.dx_out[m] += per + (rest if k == 0 else 0)
            vpn = np.rint(f.bits[FAILOVER] / 8 * share).astype(np.int64)
            if vpn.any():
                meters._add(f"internet:{f.vpc}", np.arange(len(vpn)), vpn)

    def summary(self, s) -> Dict[str, dict]:
        """Per VPC, its DX interfaces: bytes over DX and over the backup VPN, failovers, the
        seconds carried nowhere, and the changes (time, state, Gbit/s)."""
        out: Dict[str, dict] = {}
        for n, (v, _g, x) in interfaces(s).items():
            f = self.ifaces[n]
            dark = sum(min(b[0], s.duration_s) - a[0] for a, b in zip(f.changes, f.changes[1:] + [(s.duration_s,)])
                       if a[1] == BLACKHOLE)
            out.setdefault(v, {})[n] = {
                "connection": x.connection, "bytes_over_dx": int(round(f.bits[UP].sum() / 8)),
                "bytes_over_backup_vpn": int(round(f.bits[FAILOVER].sum() / 8)),
                "failovers": sum(1 for c in f.changes if c[1] == FAILOVER), "blackhole_s": dark,
                "changes": [[t, st, cap / 1e9] for t, st, cap in f.changes]}
        return out

    def _share(self, f: Iface) -> float:
        """The share of an interface's bytes that leave AWS (its flows' requests to on-premises
        and answers to it; 1 before any flow)."""
        return self.links.out_share(f.link)

    def metrics(self, period_s: float):
        """AWS/DX per connection: ConnectionState (1 up for the whole period, else 0),
        ConnectionBpsEgress / Ingress and ConnectionPpsEgress / Ingress (what DX carried, each
        LAG member an equal share, split by the share of the interface's bytes leaving AWS: the
        link carries a flow's request and answer as one transfer; 1,500-byte packets)."""
        import polars as pl

        frames = []
        n = len(next(iter(self.ifaces.values())).snap) if self.ifaces else 0
        starts = np.arange(n) * period_s
        for c in self.s.direct_connect.connections:
            state = np.ones(n)
            for a, b in self.down_periods[c]:
                state[(starts + period_s > a) & (starts < b)] = 0.0
            mine = [f for f in self.ifaces.values() if c in f.members]
            out = sum((f.bits[UP] * self._share(f) / len(f.members) for f in mine), np.zeros(n)) / period_s
            into = sum((f.bits[UP] * (1 - self._share(f)) / len(f.members) for f in mine), np.zeros(n)) / period_s
            for metric, v in (("ConnectionState", state), ("ConnectionBpsEgress", out),
                              ("ConnectionBpsIngress", into), ("ConnectionPpsEgress", out / 8 / MTU_BYTES),
                              ("ConnectionPpsIngress", into / 8 / MTU_BYTES)):
                frames.append(pl.DataFrame({"time_s": starts, "namespace": "AWS/DX", "metric": metric,
                                            "dimension": f"ConnectionId={c}", "value": v}))
        return pl.concat(frames) if frames else None

    def vpn_bytes(self) -> Dict[str, tuple]:
        """What each backup VPN carried for the interfaces failed over to it: link name ->
        (bytes out of AWS, bytes in) per period."""
        out: Dict[str, tuple] = {}
        for n, (_v, _g, x) in interfaces(self.s).items():
            if x.backup_vpn:
                f = self.ifaces[n]
                b = f.bits[FAILOVER] / 8
                o, i = out.get(f"vpn:{x.backup_vpn}", (0.0, 0.0))
                out[f"vpn:{x.backup_vpn}"] = (o + b * self._share(f), i + b * (1 - self._share(f)))
        return out
