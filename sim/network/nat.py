"""NAT gateways' connections: source ports per destination, ErrorPortAllocation, and the
AWS/NATGateway metrics of the flows through each gateway.

Every flow whose path reaches a NAT gateway is a connection attempt to its destination
(address after the path's routing, port, protocol). With the gateway's `ip_addresses` (1-8),
55,000 × that many connections to one destination can be open at once (`kernels.nat`); a flow
beyond that fails at the gateway with ErrorPortAllocation (it is rejected there: its flow logs
show the source's egress record and nothing else). A connection holds its port from its start
to its end, which bandwidth decides: ports are handed out in the links' event loop
(`sim.network.links`, `kernels.bandwidth`).

Metrics per period (a flow counts in the period it starts; ActiveConnectionCount is the most
connections open at once in the period): ConnectionAttemptCount, ConnectionEstablishedCount
(the flows accepted end to end), ErrorPortAllocation, ActiveConnectionCount,
BytesInFromSource, BytesOutToDestination, BytesInFromDestination, BytesOutToSource and the
Packets* counts (1,500-byte packets). A flow rejected after the gateway sent its first packet
only, and got no answer. Attempts = established + port allocation errors + rejected beyond the
gateway. PeakBytesPerSecond is the highest load on the gateway in the period (both directions:
a flow's request and answer are one transfer), PeakPacketsPerSecond that in 1,500-byte
packets. IdleTimeoutCount: connections kept open idle after their bytes (`idle_s`) longer than
350 s without keepalives more often than that: the gateway drops them (the silent hang of a
pooled connection), counted in the period the flow starts. Not modelled: PacketsDropCount (the fluid sharing never offers a
link more than its capacity: TCP backs off instead of losing packets; the packet-rate limit,
1 M pps scaling to 10 M, is 12 to 120 Gbit/s of full-size packets, never below the bandwidth's
5 to 100 Gbit/s).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict

import numpy as np

from sim.network.packets import MTU_BYTES

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
    down_s: float = 0.0  # seconds its AZ was down

    def __post_init__(self):
        self.counts = {c: np.zeros(self.n_periods, np.int64) for c in COUNTS}
        self.active_max = np.zeros(self.n_periods, np.int64)
        self.peak_bps = np.zeros(self.n_periods)

    def summary(self) -> dict:
        return {"connection_attempts": int(self.counts["attempts"].sum()),
                "connections_established": int(self.counts["established"].sum()),
                "port_allocation_errors": int(self.counts["port_errors"].sum()),
                "rejected_beyond": int(self.counts["rejected_beyond"].sum()),
                "idle_timeouts": int(self.counts["idle_timeouts"].sum()),
                "active_connections_max": int(self.active_max.max()) if self.n_periods else 0,
                "peak_gbps": float(self.peak_bps.max()) / 1e9 if self.n_periods else 0.0, "down_s": self.down_s}


def _packets(nbytes: np.ndarray) -> np.ndarray:
    return -(-nbytes // MTU_BYTES)


def count_connections(nc: NatConnections, out, idx: np.ndarray, got: np.ndarray, d, n_periods: int,
                      period_s: float) -> None:
    """Count the flows idx of one generator that reached gateway `nc` (got: those given a port)."""
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
                         ("packets_in_from_source", np.where(accepted, _packets(size), 1)),
                         ("packets_out_to_destination", np.where(got, np.where(accepted, _packets(size), 1), 0)),
                         ("packets_in_from_destination", np.where(accepted, _packets(resp), 0)),
                         ("packets_out_to_source", np.where(accepted, _packets(resp), 0))):
        np.add.at(c[name], period, values.astype(np.int64))


def metrics_frame(nats: Dict[str, NatConnections], period_s: float):
    """AWS/NATGateway metrics per period (METRIC_SCHEMA columns), or None without NAT gateways."""
    import polars as pl

    frames = []
    for name, nc in nats.items():
        dim = f"NatGatewayId={name}"
        series = [(metric, nc.counts[col]) for metric, col in METRICS] + [
            ("ActiveConnectionCount", nc.active_max), ("PeakBytesPerSecond", nc.peak_bps / 8),
            ("PeakPacketsPerSecond", nc.peak_bps / 8 / MTU_BYTES)]
        for metric, values in series:
            v = np.asarray(values, np.float64)
            frames.append(pl.DataFrame({"time_s": np.arange(len(v)) * period_s, "namespace": "AWS/NATGateway",
                                        "metric": metric, "dimension": dim, "value": v}))
    return pl.concat(frames) if frames else None
