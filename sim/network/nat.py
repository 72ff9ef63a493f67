"""NAT gateways: their connections (source ports per destination, ErrorPortAllocation), their
capacity over time (bandwidth and packet rate, scaling up), the packets TCP loses there, and
the AWS/NATGateway metrics of the flows through each gateway.

Ports. Every flow whose path reaches a NAT gateway is a connection attempt to its destination
(address after the path's routing, port, protocol). With the gateway's `ip_addresses` (1-8),
55,000 × that many connections to one destination can be open at once (`kernels.nat`); a flow
beyond that fails at the gateway with ErrorPortAllocation (it is rejected there: its flow logs
show the source's egress record and nothing else). A connection holds its port from its start
to its end, which bandwidth decides: ports are handed out in the links' event loop
(`sim.network.links`, `kernels.bandwidth`).

Capacity (AWS VPC user guide, "NAT gateway basics": "Supports 5 Gbps of bandwidth and
automatically scales up to 100 Gbps"; "Can process one million packets per second and
automatically scales up to ten million packets per second"; FACTS "NAT gateway bandwidth").
A gateway is two links of the sharing that carry the same flows: its bandwidth (bits/s) and
its packet rate, a constraint sum(rate_i / (8 packet_bytes_i)) <= packets/s (`kernels.bandwidth`:
a link whose unit is the bit of a 1,500-byte packet, a flow weighing 1,500 / its packet_bytes).
Without `max_gbps` a gateway starts at 5 Gbit/s and 1 M packets/s and scales; AWS does not
document how fast, so the rule is our assumption (`NatScaling`): at every multiple of
`scale_interval_s` (60 s) of simulated time, if its mean load over the interval that just
ended was at least `scale_threshold` (0.8) of its capacity in bits or in packets, both
capacities double, to at most 100 Gbit/s and 10 M packets/s; they never scale down within a run
(AWS documents no scale-in). The decision at t uses the load carried up to t, and the change
takes effect at t (the sharing is recomputed there), so it does not depend on the windows.
With `max_gbps` a gateway is fixed at that bandwidth and at max_gbps / 5 × 1 M packets/s (at
most 10 M; our assumption: the documented ratio of the two at the start), and never scales (45
is the limit of the seed notes, in force before 2022).

Losses. The fluid sharing offers no link more than its capacity: TCP backs off instead of
overflowing a queue, so its losses come from a model: TCP's response function (Mathis, Semke,
Mahdavi, Ott, "The macroscopic behavior of the TCP congestion avoidance algorithm", CCR
1997): a flow limited by a congested link at r bytes/s with round-trip time RTT and segment
size MSS loses a share p = 1.5 (MSS / (RTT r))^2 of its packets (at most all). A flow whose
rate the gateway sets (its bandwidth or its packet rate; not a flow held by its own cap or by
another link) loses p × r / packet_bytes packets a second there, added up per period, rounded
once per period: PacketsDropCount. MSS = packet_bytes - 40 (at least 1); `packet_bytes` (1,500
by default, the MTU) and `rtt_ms` (20 ms by default; both our assumptions) are set per flow
generator or egress entry; every flow is taken for TCP. A lost packet is sent again (TCP
retransmits it): the bytes still arrive, and the model does not add the retransmissions to the
load (conservation: the bytes offered are carried or in flight).

Metrics per period (a flow counts in the period it starts; ActiveConnectionCount is the most
connections open at once in the period): ConnectionAttemptCount, ConnectionEstablishedCount
(the flows accepted end to end), ErrorPortAllocation, ActiveConnectionCount,
BytesInFromSource, BytesOutToDestination, BytesInFromDestination, BytesOutToSource and the
Packets* counts (a flow's bytes in packets of its packet_bytes, rounded up). A flow rejected
after the gateway sent its first packet only, and got no answer. Attempts = established + port
allocation errors + rejected beyond the gateway. PeakBytesPerSecond is the highest load on the
gateway in the period (both directions: a flow's request and answer are one transfer),
PeakPacketsPerSecond the highest packet rate (from each flow's packet_bytes); PacketsDropCount
(above). IdleTimeoutCount: connections kept open idle after their bytes (`idle_s`) longer than
350 s without keepalives more often than that: the gateway drops them (the silent hang of a
pooled connection), counted in the period the flow starts. In cloudtwin/NATGateway:
CapacityGbps and CapacityPps, the capacity in force at the period's end (an outage does not
lower it). Not modelled: the retransmitted bytes' load, slow start, and a connection's setup
time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from kernels.bandwidth import BITS_PER_BYTE, PACKET_UNIT_BYTES
from sim.network.packets import MTU_BYTES

# FACTS "NAT gateway bandwidth" (AWS VPC user guide, NAT gateway basics)
START_GBPS, MAX_GBPS = 5.0, 100.0
START_PPS, MAX_PPS = 1_000_000.0, 10_000_000.0
# Our assumptions (AWS does not document how fast a gateway scales): module doc
SCALE_INTERVAL_S = 60.0
SCALE_THRESHOLD = 0.8


def packet_bps(pps: float) -> float:
    """A packet rate as the capacity of its link of the sharing (bits of 1,500-byte packets)."""
    return pps * PACKET_UNIT_BYTES * BITS_PER_BYTE


@dataclass
class NatCapacity:
    """One NAT gateway's capacity over a run: its bandwidth link and packet limit in the
    sharing, what it has scaled to, whether its AZ is down, and each change (t, bps, pps)."""

    name: str
    link: int
    plink: int
    bps: float
    pps: float
    scales: bool
    threshold: float = SCALE_THRESHOLD
    interval_s: float = SCALE_INTERVAL_S
    down: bool = False
    changes: List[Tuple[float, float, float]] = field(default_factory=list)

    @classmethod
    def of(cls, name: str, nat, link: int, plink: int) -> "NatCapacity":
        """From a gateway's config: without `max_gbps`, 5 Gbit/s and 1 M packets/s, scaling;
        with it, that bandwidth and max_gbps / 5 × 1 M packets/s (at most 10 M), fixed."""
        if nat.max_gbps is None:
            bps, pps, scales = START_GBPS * 1e9, START_PPS, True
        else:
            bps, pps, scales = nat.max_gbps * 1e9, min(nat.max_gbps / START_GBPS * START_PPS, MAX_PPS), False
        thr = SCALE_THRESHOLD if getattr(nat, "scale_threshold", None) is None else float(nat.scale_threshold)
        every = SCALE_INTERVAL_S if getattr(nat, "scale_interval_s", None) is None else float(nat.scale_interval_s)
        return cls(name, link, plink, bps, pps, scales, thr, every, changes=[(0.0, bps, pps)])

    def caps(self) -> Dict[int, float]:
        """Its links' capacities now (0 while its AZ is down)."""
        on = 0.0 if self.down else 1.0
        return {self.link: self.bps * on, self.plink: packet_bps(self.pps) * on}

    def at_period_ends(self, n_periods: int, period_s: float) -> Tuple[np.ndarray, np.ndarray]:
        """(bits/s, packets/s) in force at the end of each period (it never scales down: the
        highest in the period)."""
        t = np.array([c[0] for c in self.changes])
        k = np.searchsorted(t, (np.arange(n_periods) + 1) * period_s, "left") - 1
        return np.array([c[1] for c in self.changes])[k], np.array([c[2] for c in self.changes])[k]

    def bit_seconds(self, n_periods: int, period_s: float) -> np.ndarray:
        """What its bandwidth could carry in each period (bits), as it scaled (outages aside)."""
        out = np.zeros(n_periods)
        for (t0, bps, _), nxt in zip(self.changes, self.changes[1:] + [(np.inf, 0.0, 0.0)]):
            lo = np.maximum(np.arange(n_periods) * period_s, t0)
            hi = np.minimum((np.arange(n_periods) + 1) * period_s, nxt[0])
            out += np.maximum(hi - lo, 0.0) * bps
        return out


class NatScaling:
    """The gateways that scale (no `max_gbps`), over a run (module doc): one SimPy process each,
    waking at every multiple of its `scale_interval_s` before the run's end. `links` gives the
    bits carried up to a time (`links.state.carried_bits`) and applies a gateway's capacity
    (`links.apply_nat`)."""

    def __init__(self, links, duration_s: float):
        self.links, self.duration_s = links, duration_s

    def start(self, env) -> None:
        for nc in self.links.nat_cap.values():
            if nc.scales:
                env.process(self._run(env, nc))

    def _run(self, env, nc: NatCapacity):
        state = self.links.state
        t_prev, bits_prev, pk_prev = 0.0, 0.0, 0.0
        k = 1
        while nc.bps < MAX_GBPS * 1e9 or nc.pps < MAX_PPS:
            t = k * nc.interval_s
            if t >= self.duration_s:
                return
            yield env.timeout(t - env.now)
            t = env.now
            bits, pk = state.carried_bits(nc.link, t), state.carried_bits(nc.plink, t)
            span = t - t_prev
            if (bits - bits_prev >= nc.threshold * nc.bps * span
                    or pk - pk_prev >= nc.threshold * packet_bps(nc.pps) * span):
                nc.bps = min(2.0 * nc.bps, MAX_GBPS * 1e9)
                nc.pps = min(2.0 * nc.pps, MAX_PPS)
                nc.changes.append((t, nc.bps, nc.pps))
                self.links.apply_nat(nc, t)
            t_prev, bits_prev, pk_prev = t, bits, pk
            k += 1

COUNTS = ("attempts", "established", "port_errors", "rejected_beyond", "bytes_in_from_source",
          "bytes_out_to_destination", "bytes_in_from_destination", "bytes_out_to_source", "packets_in_from_source",
          "packets_out_to_destination", "packets_in_from_destination", "packets_out_to_source", "idle_timeouts")
METRICS = (("ConnectionAttemptCount", "attempts"), ("ConnectionEstablishedCount", "established"),
           ("ErrorPortAllocation", "port_errors"), ("BytesInFromSource", "bytes_in_from_source"),
           ("BytesOutToDestination", "bytes_out_to_destination"), ("BytesInFromDestination", "bytes_in_from_destination"),
           ("BytesOutToSource", "bytes_out_to_source"), ("PacketsInFromSource", "packets_in_from_source"),
           ("PacketsOutToDestination", "packets_out_to_destination"),
           ("PacketsInFromDestination", "packets_in_from_destination"), ("PacketsOutToSource", "packets_out_to_source"),
           ("IdleTimeoutCount", "idle_timeouts"))


@dataclass
class NatConnections:
    """One NAT gateway's connection counts per period (int64 arrays) and most open at once."""

    name: str
    vpc: str
    n_periods: int
    counts: Dict[str, np.ndarray] = field(default_factory=dict)
    active_max: np.ndarray = None
    peak_bps: np.ndarray = None  # the highest load in each period (both directions), bits/s
    peak_pps: np.ndarray = None  # the highest packet rate in each period, packets/s
    drops: np.ndarray = None  # packets lost per period (PacketsDropCount)
    capacity: Optional[NatCapacity] = None  # its bandwidth and packet rate over the run
    down_s: float = 0.0  # seconds its AZ was down

    def __post_init__(self):
        self.counts = {c: np.zeros(self.n_periods, np.int64) for c in COUNTS}
        self.active_max = np.zeros(self.n_periods, np.int64)
        self.peak_bps = np.zeros(self.n_periods)
        self.peak_pps = np.zeros(self.n_periods)
        self.drops = np.zeros(self.n_periods, np.int64)

    def summary(self) -> dict:
        out = {"connection_attempts": int(self.counts["attempts"].sum()),
               "connections_established": int(self.counts["established"].sum()),
               "port_allocation_errors": int(self.counts["port_errors"].sum()),
               "rejected_beyond": int(self.counts["rejected_beyond"].sum()),
               "idle_timeouts": int(self.counts["idle_timeouts"].sum()),
               "active_connections_max": int(self.active_max.max()) if self.n_periods else 0,
               "peak_gbps": float(self.peak_bps.max()) / 1e9 if self.n_periods else 0.0,
               "peak_pps": float(self.peak_pps.max()) if self.n_periods else 0.0,
               "packets_dropped": int(self.drops.sum()), "down_s": self.down_s}
        c = self.capacity
        if c is not None:  # (final = peak: it never scales down)
            out.update({"capacity_gbps": c.bps / 1e9, "capacity_pps": c.pps, "scales": c.scales,
                        "scale_ups": len(c.changes) - 1,
                        "capacity_changes": [[t, bps / 1e9, pps] for t, bps, pps in c.changes]})
        return out


def _packets(nbytes: np.ndarray, packet_bytes: int = MTU_BYTES) -> np.ndarray:
    return -(-nbytes // packet_bytes)


def count_connections(nc: NatConnections, out, idx: np.ndarray, got: np.ndarray, d, n_periods: int,
                      period_s: float, packet_bytes: int = MTU_BYTES) -> None:
    """Count the flows idx of one generator that reached gateway `nc` (got: those given a port;
    their bytes in packets of packet_bytes)."""
    period = np.minimum((d.start_s[idx] // period_s).astype(np.int64), n_periods - 1)
    accepted = out.accepted[idx]
    size, resp = d.size_bytes[idx], d.response_bytes[idx]
    first = np.minimum(size, MTU_BYTES)
    sent = np.where(got, np.where(accepted, size, first), 0)  # past the gateway
    answered = np.where(accepted, resp, 0)
    c = nc.counts
    for name, values in (("attempts", np.ones(len(idx), np.int64)), ("established", accepted.astype(np.int64)),
                         ("port_errors", (~got).astype(np.int64)),
                         ("rejected_beyond", (got & ~accepted).astype(np.int64)),
                         ("bytes_in_from_source", np.where(accepted, size, first)),
                         ("bytes_out_to_destination", sent), ("bytes_in_from_destination", answered),
                         ("bytes_out_to_source", answered),
                         ("packets_in_from_source", np.where(accepted, _packets(size, packet_bytes), 1)),
                         ("packets_out_to_destination",
                          np.where(got, np.where(accepted, _packets(size, packet_bytes), 1), 0)),
                         ("packets_in_from_destination", np.where(accepted, _packets(resp, packet_bytes), 0)),
                         ("packets_out_to_source", np.where(accepted, _packets(resp, packet_bytes), 0))):
        np.add.at(c[name], period, values.astype(np.int64))


def metrics_frame(nats: Dict[str, NatConnections], period_s: float):
    """AWS/NATGateway metrics per period (METRIC_SCHEMA columns), and the capacity in
    cloudtwin/NATGateway, or None without NAT gateways."""
    import polars as pl

    frames = []
    for name, nc in nats.items():
        dim = f"NatGatewayId={name}"
        series = [(metric, nc.counts[col]) for metric, col in METRICS] + [
            ("ActiveConnectionCount", nc.active_max), ("PeakBytesPerSecond", nc.peak_bps / 8),
            ("PeakPacketsPerSecond", nc.peak_pps), ("PacketsDropCount", nc.drops)]
        for metric, values in series:
            v = np.asarray(values, np.float64)
            frames.append(pl.DataFrame({"time_s": np.arange(len(v)) * period_s, "namespace": "AWS/NATGateway",
                                        "metric": metric, "dimension": dim, "value": v}))
        if nc.capacity is not None:
            bps, pps = nc.capacity.at_period_ends(nc.n_periods, period_s)
            for metric, v in (("CapacityGbps", bps / 1e9), ("CapacityPps", pps)):
                frames.append(pl.DataFrame({"time_s": np.arange(len(v)) * period_s,
                                            "namespace": "cloudtwin/NATGateway", "metric": metric, "dimension": dim,
                                            "value": np.asarray(v, np.float64)}))
    return pl.concat(frames) if frames else None
