"""NAT gateways' connections: source ports per destination (`kernels.nat`), ErrorPortAllocation,
and the AWS/NATGateway metrics of the flows through each gateway.

Every flow whose path reaches a NAT gateway is a connection attempt to its destination
(address after the path's routing, port, protocol). With the gateway's `ip_addresses` (1-8),
55,000 × that many connections to one destination can be open at once; a flow beyond that
fails at the gateway with ErrorPortAllocation (it is rejected there: its flow logs show the
source's egress record and nothing else). A connection holds its port for the flow's
`duration_s` (flows have no bandwidth in a scenario yet, so their duration is an input).

Metrics per period (a flow counts in the period it starts; ActiveConnectionCount is the most
connections open at once in the period): ConnectionAttemptCount, ConnectionEstablishedCount
(the flows accepted end to end), ErrorPortAllocation, ActiveConnectionCount,
BytesInFromSource, BytesOutToDestination, BytesInFromDestination, BytesOutToSource and the
Packets* counts (1,500-byte packets). A flow rejected after the gateway sent its first packet
only, and got no answer. Attempts = established + port allocation errors + rejected beyond the
gateway. Not modelled yet: IdleTimeoutCount, PacketsDropCount, the Peak* rates (they need
bandwidth and idle times), and the gateway's bandwidth itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List

import numpy as np

from kernels.nat import CONNECTIONS_PER_DESTINATION_PER_IP, allocate_ports
from sim.network.packets import MTU_BYTES

COUNTS = ("attempts", "established", "port_errors", "rejected_beyond", "bytes_in_from_source",
          "bytes_out_to_destination", "bytes_in_from_destination", "bytes_out_to_source", "packets_in_from_source",
          "packets_out_to_destination", "packets_in_from_destination", "packets_out_to_source")
METRICS = (("ConnectionAttemptCount", "attempts"), ("ConnectionEstablishedCount", "established"),
           ("ErrorPortAllocation", "port_errors"), ("BytesInFromSource", "bytes_in_from_source"),
           ("BytesOutToDestination", "bytes_out_to_destination"), ("BytesInFromDestination", "bytes_in_from_destination"),
           ("BytesOutToSource", "bytes_out_to_source"), ("PacketsInFromSource", "packets_in_from_source"),
           ("PacketsOutToDestination", "packets_out_to_destination"),
           ("PacketsInFromDestination", "packets_in_from_destination"), ("PacketsOutToSource", "packets_out_to_source"))


@dataclass
class NatConnections:
    """One NAT gateway's connection counts per period (int64 arrays) and most open at once."""

    name: str
    vpc: str
    n_periods: int
    counts: Dict[str, np.ndarray] = field(default_factory=dict)
    active_max: np.ndarray = None

    def __post_init__(self):
        self.counts = {c: np.zeros(self.n_periods, np.int64) for c in COUNTS}
        self.active_max = np.zeros(self.n_periods, np.int64)

    def summary(self) -> dict:
        return {"connection_attempts": int(self.counts["attempts"].sum()),
                "connections_established": int(self.counts["established"].sum()),
                "port_allocation_errors": int(self.counts["port_errors"].sum()),
                "rejected_beyond": int(self.counts["rejected_beyond"].sum()),
                "active_connections_max": int(self.active_max.max()) if self.n_periods else 0}


def _packets(nbytes: np.ndarray) -> np.ndarray:
    return -(-nbytes // MTU_BYTES)


def allocate(s, judged: List[tuple], n_periods: int, period_s: float) -> Dict[str, NatConnections]:
    """Give each flow through a NAT gateway a port or an ErrorPortAllocation (updating its
    outcome's `fail_at`), and count each gateway's connections. `judged` holds, per generator,
    (flow config, path, outcome, drawn flows, protocol number)."""
    result: Dict[str, NatConnections] = {}
    for vname, vpc in s.vpcs.items():
        for name, nat in vpc.nat_gateways.items():
            link = f"nat_gateway:{name}"
            parts = []  # (generator index, check index, flow indices)
            for g, (_f, path, out, _d, _proto) in enumerate(judged):
                i = next((j for j, c in enumerate(path.forward) if c.link == link), None)
                if i is not None:
                    parts.append((g, i, np.flatnonzero(out.fail_at >= i)))
            nc = NatConnections(name, vname, n_periods)
            result[name] = nc
            if not parts:
                continue
            keys: Dict[tuple, int] = {}
            start, end, key = [], [], []
            for g, i, idx in parts:
                _f, path, _out, d, proto = judged[g]
                ports = d.dst_port[idx]
                ids = {p: keys.setdefault((path.dst_ip, int(p), proto), len(keys)) for p in np.unique(ports)}
                key.append(np.array([ids[p] for p in ports], np.int64))
                start.append(d.start_s[idx])
                end.append(d.start_s[idx] + np.maximum(d.duration_s[idx], 0.0))
            start_all = np.concatenate(start)
            order = np.argsort(start_all, kind="stable")
            ok = np.zeros(len(order), bool)
            limit = CONNECTIONS_PER_DESTINATION_PER_IP * nat.ip_addresses
            allocate_ports(start_all[order], np.concatenate(end)[order], np.concatenate(key)[order], len(keys), limit,
                           period_s, ok, nc.active_max)
            established = np.empty(len(order), bool)
            established[order] = ok
            pos = 0
            for g, i, idx in parts:
                _f, _path, out, d, _proto = judged[g]
                got = established[pos:pos + len(idx)]
                pos += len(idx)
                out.fail_at[idx[~got]] = i  # ErrorPortAllocation: the flow fails at the gateway
                _count(nc, out, i, idx, got, d, n_periods, period_s)
    return result


def _count(nc: NatConnections, out, i: int, idx: np.ndarray, got: np.ndarray, d, n_periods: int,
           period_s: float) -> None:
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
        series = [(metric, nc.counts[col]) for metric, col in METRICS] + [("ActiveConnectionCount", nc.active_max)]
        for metric, values in series:
            v = np.asarray(values, np.float64)
            frames.append(pl.DataFrame({"time_s": np.arange(len(v)) * period_s, "namespace": "AWS/NATGateway",
                                        "metric": metric, "dimension": dim, "value": v}))
    return pl.concat(frames) if frames else None
