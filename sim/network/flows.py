"""VPC flows in bulk: draw each generator's flows, judge them along their path, and produce VPC Flow Logs and counts.

Each flow generator has one (source, destination) pair, hence one path: its flows are judged
by one kernel call per firewall on the path (`sim.network.paths.evaluate`), never one Python
step per flow. Then every flow that passed shares the links of its path (NAT gateways, VPN
connections) and takes a NAT gateway's port, in one event loop (`sim.network.links`): its
duration follows from its bytes, and `duration_s` is how long it would take alone. Flows do
not interact with the rest of the run (functions send none yet), so they are drawn, judged and
given bandwidth once, before the engine runs; their random stream is the generator's own
(`flow:NAME`), so adding a component changes no one else's numbers. What the gateways and
links they cross bill is counted on the way (`sim.network.meters`).

Flow log records (version 2 default format, one row per record): for every flow, the records
the network interfaces at its ends would log, one per interface and direction the traffic
reached — the initiator's `egress` record of the request, the destination's `ingress` record
of the request (if it arrived at the destination's subnet), the destination's `egress` record
of the response (if the request was accepted) and the initiator's `ingress` record of the
response (if the response reached its subnet). Outside endpoints (internet, on-premises) and
interfaces in the middle (NAT gateways, NAT instances) log nothing here. Addresses are as the
interface sees them (behind a NAT or an internet gateway, the translated ones). An accepted
record counts ceil(bytes / 1500) packets; a rejected one the first packet only (1 packet,
min(bytes, 1500) bytes). `start` and `end` are whole seconds from the scenario's start (the
simulation has no calendar). Extra columns after the 14 default fields: `flow_direction` (as
Flow Logs v5: ingress | egress), `flow` (the generator), `flow_id`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Dict, List, Optional

import numpy as np
import polars as pl

from kernels.periods import n_periods
from scenarios.schema import Scenario
from scenarios.vpc import Flow
from sim.engine.distributions import sampler
from sim.network.meters import NetworkMeters
from sim.network.links import run_links
from sim.network.nat import NatConnections
from sim.network.packets import MTU_BYTES
from sim.network.paths import build_path, count_rules, evaluate, protocol_of, resolve
from sim.network.topology import EPHEMERAL, Network
from sim.engine.rng import generator

MIN_BYTES = 40  # a flow carries at least one IPv4 + TCP header
FLOW_LOG_SCHEMA = {
    "version": pl.Int32, "account_id": pl.Utf8, "interface_id": pl.Utf8, "srcaddr": pl.Utf8, "dstaddr": pl.Utf8,
    "srcport": pl.Int32, "dstport": pl.Int32, "protocol": pl.Int32, "packets": pl.Int64, "bytes": pl.Int64,
    "start": pl.Int64, "end": pl.Int64, "action": pl.Utf8, "log_status": pl.Utf8,
    "flow_direction": pl.Utf8, "flow": pl.Utf8, "flow_id": pl.Int64,
}


@dataclass
class Drawn:
    """One generator's flows as arrays."""

    start_s: np.ndarray
    src_port: np.ndarray
    dst_port: np.ndarray
    size_bytes: np.ndarray
    response_bytes: np.ndarray
    duration_s: np.ndarray


def draw(f: Flow, duration_s: float, seed: int, ephemeral: tuple, base_dir: Optional[FsPath] = None) -> Drawn:
    """The flows of generator `f`: start times (s), ports, bytes each way and durations (s)."""
    gen = generator(seed, f"flow:{f.name}")
    t0 = f.start_s
    t1 = duration_s if f.end_s is None else f.end_s
    span = t1 - t0
    mean = f.count if f.count is not None else f.rate_per_s * span
    if f.starts == "uniform":
        n = int(f.count if f.count is not None else round(mean))
        start = t0 + (np.arange(n) + 0.5) * (span / n) if n else np.zeros(0)
    else:
        n = int(f.count) if f.count is not None else int(gen.poisson(mean))
        start = np.sort(gen.uniform(t0, t1, n))
    ports = np.array([p.port for p in f.dst_ports], np.int64)
    weights = np.array([p.weight for p in f.dst_ports], float)
    dst_port = ports[gen.choice(len(ports), n, p=weights / weights.sum())] if n else np.zeros(0, np.int64)
    src_port = gen.integers(ephemeral[0], ephemeral[1] + 1, n)
    size = np.maximum(np.rint(sampler(f.size_bytes, base_dir)(gen, n)), MIN_BYTES).astype(np.int64)
    resp = size if f.response_bytes is None else \
        np.maximum(np.rint(sampler(f.response_bytes, base_dir)(gen, n)), MIN_BYTES).astype(np.int64)
    dur = sampler(f.duration_s, base_dir)(gen, n)
    return Drawn(start, src_port.astype(np.int64), dst_port, size, resp, dur)


@dataclass
class VpcFlowsResult:
    flow_logs: pl.DataFrame
    summary: Dict[str, dict]  # vpcs.NAME
    meters: NetworkMeters  # what the network bills (sim.network.meters)
    nats: Dict[str, NatConnections]  # each NAT gateway's connections (sim.network.nat)


def run_flows(s: Scenario, base_dir: Optional[FsPath] = None) -> VpcFlowsResult:
    """Every flow of `s`, judged; flow log records and the `vpcs` summary section."""
    net = Network(s)
    meters = NetworkMeters(s, n_periods(s.duration_s, s.record.period_s), s.record.period_s)
    counts: Dict[str, dict] = {v: {} for v in s.vpcs}
    totals = {v: {"flows": 0, "accepted": 0, "rejected": 0, "bytes_accepted": 0, "flow_log_records": 0,
                  "generators": {}} for v in s.vpcs}
    frames: List[pl.DataFrame] = []
    next_id = 0
    judged = []
    for f in s.flows:
        src, dst = resolve(net, f.src), resolve(net, f.dst)
        eph = src.eni.ephemeral if src.kind == "host" else EPHEMERAL["external"]
        d = draw(f, s.duration_s, s.seed, eph, base_dir)
        proto = protocol_of(f.protocol)
        path = build_path(net, src, dst)
        judged.append((f, path, evaluate(path, proto, d.src_port, d.dst_port), d, proto))
    ends, nats = run_links(s, judged, n_periods(s.duration_s, s.record.period_s), s.record.period_s)
    for (f, path, out, d, proto), end_s in zip(judged, ends):
        count_rules(path, out, counts)
        meters.add(path, out, d.start_s, d.size_bytes, d.response_bytes)
        ok = out.accepted
        n, acc = len(ok), int(ok.sum())
        t = totals[path.vpc]
        t["flows"] += n
        t["accepted"] += acc
        t["rejected"] += n - acc
        t["bytes_accepted"] += int(d.size_bytes[ok].sum() + d.response_bytes[ok].sum())
        took = (end_s - d.start_s)[ok]
        t["generators"][f.name] = {"flows": n, "accepted": acc, "rejected": n - acc,
                                   "mean_flow_time_s": float(took.mean()) if acc else None,
                                   "max_flow_time_s": float(took.max()) if acc else None}
        ids = np.arange(next_id, next_id + n, dtype=np.int64)
        next_id += n
        records = _records(net, path, out, d, proto, f.name, ids, end_s)
        t["flow_log_records"] += records.height
        frames.append(records)
    logs = pl.concat(frames) if frames else pl.DataFrame(schema=FLOW_LOG_SCHEMA)
    logs = logs.sort(["start", "flow_id"], maintain_order=True)
    summary = {}
    for v, t in totals.items():
        rules = {k: {"accepted": a, "rejected": r} for k, (a, r) in sorted(counts[v].items())}
        summary[v] = {**{k: t[k] for k in ("flows", "accepted", "rejected", "bytes_accepted", "flow_log_records")},
                      "bytes_out_to_internet": meters.link_bytes(f"internet:{v}"),
                      "bytes_inter_az": meters.inter_az_bytes(v),
                      "nat_gateways": {n: {"bytes_processed": meters.link_bytes(f"nat_gateway:{n}"),
                                           **nats[n].summary()} for n in s.vpcs[v].nat_gateways},
                      "generators": t["generators"], "rules": rules}
    return VpcFlowsResult(logs, summary, meters, nats)


def _records(net: Network, path, out, d: Drawn, proto: int, name: str, ids: np.ndarray,
             end_s: np.ndarray) -> pl.DataFrame:
    """The flow log records of one generator's flows (module doc)."""
    checks = path.checks
    nf = len(path.forward)
    segments: Dict[tuple, List[int]] = {}
    for i, c in enumerate(checks):
        if c.record is not None:
            segments.setdefault((c.record, i >= nf), []).append(i)
    frames = []
    start = np.floor(d.start_s).astype(np.int64)
    end = np.floor(end_s).astype(np.int64)
    for ((eni_name, direction), response), idx in segments.items():
        first, last = idx[0], idx[-1]
        reached = out.fail_at >= first
        if not reached.any():
            continue
        eni = net.enis[eni_name]
        c = checks[first]
        accepted = out.fail_at[reached] > last
        nbytes = (d.response_bytes if response else d.size_bytes)[reached]
        sport, dport = (d.dst_port, d.src_port) if response else (d.src_port, d.dst_port)
        packets = np.where(accepted, -(-nbytes // MTU_BYTES), 1)
        nbytes = np.where(accepted, nbytes, np.minimum(nbytes, MTU_BYTES))
        m = int(reached.sum())
        frames.append(pl.DataFrame({
            "version": np.full(m, 2, np.int32), "account_id": [eni.account_id] * m,
            "interface_id": [eni.eni_id] * m, "srcaddr": [c.src_ip] * m, "dstaddr": [c.dst_ip] * m,
            "srcport": sport[reached].astype(np.int32), "dstport": dport[reached].astype(np.int32),
            "protocol": np.full(m, proto, np.int32), "packets": packets.astype(np.int64),
            "bytes": nbytes.astype(np.int64), "start": start[reached], "end": end[reached],
            "action": np.where(accepted, "ACCEPT", "REJECT").astype(object), "log_status": ["OK"] * m,
            "flow_direction": [direction] * m, "flow": [name] * m, "flow_id": ids[reached],
        }, schema=FLOW_LOG_SCHEMA))
    return pl.concat(frames) if frames else pl.DataFrame(schema=FLOW_LOG_SCHEMA)

