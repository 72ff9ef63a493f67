"""VPC flows in bulk: draw each generator's flows, judge them along their path, and produce VPC Flow Logs and counts.

Each flow generator has one (source, destination) pair, hence one path: its flows are judged
by one kernel call per firewall on the path (`sim.network.paths.evaluate`), never one Python
step per flow. Then every flow that passed shares the links of its path (NAT gateways, VPN
connections) and takes a NAT gateway's port, in one event loop (`sim.network.links`): its
duration follows from its bytes, and `duration_s` is how long it would take alone. A
generator's flows do not interact with the rest of the run, so they are drawn and judged once,
when the run starts; their random stream is the generator's own (`flow:NAME`), so adding a
component changes no one else's numbers. The egress flows of functions and ECS services in a
VPC (`Egress`) are drawn and judged window by window, as their sources emit them. What the gateways and
links they cross bill is counted on the way (`sim.network.meters`).

Flow log records (version 2 default format, one row per record): for every flow, the records
the network interfaces at its ends would log, one per interface and direction the traffic
reached — the initiator's `egress` record of the request, the destination's `ingress` record
of the request (if it arrived at the destination's subnet), the destination's `egress` record
of the response (if the request was accepted) and the initiator's `ingress` record of the
response (if the response reached its subnet). Outside endpoints (internet, on-premises) and
interfaces in the middle (NAT gateways, NAT instances) log nothing here. Addresses are as the
interface sees them (behind a NAT or an internet gateway, the translated ones). An accepted
record counts ceil(bytes / packet_bytes) packets (the generator's mean packet size, 1,500 by
default); a rejected one the first packet only (1 packet, min(bytes, 1500) bytes). `start` and `end` are whole seconds from the scenario's start (the
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
from sim.network.dx import DirectConnect, interfaces as dx_interfaces
from sim.network.links import Links, Outages
from sim.network.nat import NatConnections, NatScaling
from sim.network.packets import MTU_BYTES
from scenarios.errors import ScenarioError
from sim.network.paths import EndpointError, build_path, count_rules, evaluate, protocol_of, resolve
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
    duration_s: Optional[np.ndarray]  # rate caps (bytes over it); None: none
    idle_s: Optional[np.ndarray] = None  # open idle after the bytes; None: closed at once


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
    idle = sampler(f.idle_s, base_dir)(gen, n) if f.idle_s is not None else None  # (drawn last: no other draw moves)
    return Drawn(start, src_port.astype(np.int64), dst_port, size, resp, dur, idle)


@dataclass
class VpcFlowsResult:
    flow_logs: pl.DataFrame
    summary: Dict[str, dict]  # vpcs.NAME
    meters: NetworkMeters  # what the network bills (sim.network.meters)
    nats: Dict[str, NatConnections]  # each NAT gateway's connections (sim.network.nat)
    dx: Optional[DirectConnect] = None  # the DX interfaces over time (sim.network.dx)
    links: Optional[Links] = None  # the links' sharing (bytes carried per period)


# Who sends egress flows: the section of the scenario (and of `vpcs.NAME` in the summary) its
# owners are in, the network interfaces of an owner, and the name of an entry's streams.
EGRESS_OWNERS = {
    "functions": (lambda net, name: net.function_enis[name], "egress:{name}[{i}]"),
    "services": (lambda net, name: net.service_enis[name], "egress:service:{name}[{i}]"),
}


class Egress:
    """One `functions.NAME.egress` (or `services.NAME.egress`) entry's flows: each record its
    source emits (its time) is a flow from one of the owner's interfaces — a function's
    Hyperplane ENIs, a service's tasks' ENIs — (a subnet drawn uniformly), with its ports and
    bytes drawn from the entry's own streams in the order of the records (so they do not depend
    on the windows), judged along that subnet's path. Streams: `egress:FUNCTION[i]`,
    `egress:service:SERVICE[i]`."""

    def __init__(self, net: Network, links: Links, fn: str, i: int, cfg, seed: int, base_dir,
                 section: str = "functions"):
        from sim.engine.rng import ChunkStream

        self.fn, self.i, self.cfg, self.section = fn, i, cfg, section
        enis_of, stream = EGRESS_OWNERS[section]
        enis = enis_of(net, fn)
        proto = protocol_of(cfg.protocol)
        dst = resolve(net, cfg.dst)
        self.paths = []
        for eni in enis:
            src = resolve(net, eni)
            try:
                path = build_path(net, src, dst)
            except EndpointError as e:
                raise ScenarioError([(f"{section}.{fn}.egress[{i}].dst", str(e))]) from None
            self.paths.append((path, links.route(path, proto)))
        self.eph = net.enis[enis[0]].ephemeral
        ports = np.array([p.port for p in cfg.dst_ports], np.int64)
        weights = np.array([p.weight for p in cfg.dst_ports], float)
        cdf = np.cumsum(weights / weights.sum())
        name = stream.format(name=fn, i=i)

        def uniform(gen, n):
            return gen.random(n)

        def bytes_of(dist):
            draw = sampler(dist, base_dir)
            return lambda gen, n: np.maximum(np.rint(draw(gen, n)), MIN_BYTES)

        draws = (("subnet", uniform), ("src_port", uniform), ("dst_port", uniform), ("size", bytes_of(cfg.size_bytes)),
                 ("response", bytes_of(cfg.response_bytes) if cfg.response_bytes is not None else None),
                 ("duration", sampler(cfg.duration_s, base_dir) if cfg.duration_s is not None else None),
                 ("idle", sampler(cfg.idle_s, base_dir) if cfg.idle_s is not None else None))
        # (each quantity its own stream, numbered by its place: one left out moves no other)
        self.streams = {k: _Take(ChunkStream(generator(seed, name, j), f)) for j, (k, f) in enumerate(draws)
                        if f is not None}
        self.ports, self.cdf = ports, cdf
        self.stats = {"flows": 0, "accepted": 0, "rejected": 0, "port_allocation_errors": 0, "bytes_accepted": 0,
                      "finished": 0, "time_sum_ns": 0, "time_max_s": 0.0}
        self.hist = np.zeros(FLOW_TIME_BINS, np.int64)

    def draw(self, t: np.ndarray) -> List[tuple]:
        """The flows sent at times t: per subnet (path, its route, Drawn)."""
        n = len(t)
        st = self.streams
        sub = np.minimum((st["subnet"].take(n) * len(self.paths)).astype(np.int64), len(self.paths) - 1)
        lo, hi = self.eph
        sport = lo + np.minimum((st["src_port"].take(n) * (hi - lo + 1)).astype(np.int64), hi - lo)
        dport = self.ports[np.minimum(np.searchsorted(self.cdf, st["dst_port"].take(n), "right"), len(self.ports) - 1)]
        size = st["size"].take(n).astype(np.int64)
        resp = st["response"].take(n).astype(np.int64) if "response" in st else size
        dur = st["duration"].take(n) if "duration" in st else None
        idle = st["idle"].take(n) if "idle" in st else None
        out = []
        for k, (path, route) in enumerate(self.paths):
            m = sub == k
            if m.any():
                out.append((path, route, Drawn(t[m], sport[m], dport[m], size[m], resp[m],
                                               None if dur is None else dur[m], None if idle is None else idle[m])))
        return out


# Flow completion times as a log histogram: 20 bins per decade from 1 µs to 10^6 s (bins 12 %
# wide, so a percentile read from it, a bin's geometric centre, is within 6 %); exact counts,
# the same whatever the windows.
FLOW_TIME_PER_DECADE = 20
FLOW_TIME_MIN_S = 1e-6
FLOW_TIME_BINS = 12 * FLOW_TIME_PER_DECADE


def flow_time_bins(took: np.ndarray) -> np.ndarray:
    """The histogram bin of each flow time (s)."""
    with np.errstate(divide="ignore"):
        k = np.floor(np.log10(np.maximum(took, FLOW_TIME_MIN_S) / FLOW_TIME_MIN_S) * FLOW_TIME_PER_DECADE)
    return np.clip(k, 0, FLOW_TIME_BINS - 1).astype(np.int64)


def flow_time_summary(counts: np.ndarray) -> dict:
    """p50, p90 and p99 (s, a bin's geometric centre) and the histogram's non-empty span, for the
    summary and the report's figure: {"p50", "p90", "p99", "histogram": {"per_decade", "min_s",
    "first", "counts"}}."""
    n = int(counts.sum())
    if not n:
        return {}
    cum = np.cumsum(counts)
    out = {}
    for q in (50, 90, 99):
        k = int(np.searchsorted(cum, q / 100 * n))
        out[f"p{q}"] = float(FLOW_TIME_MIN_S * 10 ** ((k + 0.5) / FLOW_TIME_PER_DECADE))
    nz = np.flatnonzero(counts)
    out["histogram"] = {"per_decade": FLOW_TIME_PER_DECADE, "min_s": FLOW_TIME_MIN_S, "first": int(nz[0]),
                        "counts": counts[nz[0]:nz[-1] + 1].astype(int).tolist()}
    return out


class _Take:
    """Consecutive draws from a ChunkStream, any number at a time."""

    def __init__(self, stream):
        self.stream, self.buf, self.pos = stream, np.zeros(0), 0

    def take(self, n: int) -> np.ndarray:
        while len(self.buf) - self.pos < n:
            self.buf = np.concatenate([self.buf[self.pos:], self.stream.next_chunk()])
            self.pos = 0
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out


class NetworkRun:
    """The VPCs' flows over a run, window by window: the flow generators' (drawn and judged
    when the run starts) and the egress flows of the `sources` — the account's functions and
    the ECS services' tasks (`egress`, emitted in each window) — sharing the links
    (`sim.network.links`) in one time order, stepped after the sources.

    A source has `egress_section` ("functions" or "services": where its owners are in the
    scenario and in `vpcs.NAME`), `egress_entries()` -> [(owner, index in its egress, Egress)]
    (its entries' local numbers) and `take_flows()` -> (t, local entry), the records of the
    window just stepped, `t` in it, in time order (equal times in their order of emission)."""

    def __init__(self, s: Scenario, base_dir: Optional[FsPath] = None, account=None, sources=None):
        self.s, self.base_dir = s, base_dir
        self.sources = list(sources) if sources is not None else ([account] if account is not None else [])
        self.n_periods = n_periods(s.duration_s, s.record.period_s)
        self.net = Network(s)
        self.meters = NetworkMeters(s, self.n_periods, s.record.period_s)
        self.links = Links(s, self.n_periods, s.record.period_s)
        self.counts: Dict[str, dict] = {v: {} for v in s.vpcs}
        self.judged = []
        for f in s.flows:
            src, dst = resolve(self.net, f.src), resolve(self.net, f.dst)
            eph = src.eni.ephemeral if src.kind == "host" else EPHEMERAL["external"]
            d = draw(f, s.duration_s, s.seed, eph, base_dir)
            proto = protocol_of(f.protocol)
            path = build_path(self.net, src, dst)
            self.judged.append((f, path, evaluate(path, proto, d.src_port, d.dst_port), d, proto,
                                self.links.route(path, proto)))
        self.offsets = np.cumsum([0] + [len(j[3].start_s) for j in self.judged])
        self.ends = [d.start_s + np.maximum(d.duration_s, 0.0) for (_f, _p, _o, d, _pr, _r) in self.judged]
        self.pos = [0] * len(self.judged)
        self.dx = DirectConnect(s, self.links, self.n_periods) if dx_interfaces(s) else None
        self.outages = Outages(s, self.links)
        self.scaling = NatScaling(self.links, s.duration_s)
        self.egress: List[Egress] = []
        self.first: List[int] = []  # each source's first entry in self.egress
        for src in self.sources:
            section = getattr(src, "egress_section", "functions")
            self.first.append(len(self.egress))
            for fn, i, cfg in src.egress_entries():
                self.egress.append(Egress(self.net, self.links, fn, i, cfg, s.seed, base_dir, section))
        self.first.append(len(self.egress))

    def start(self, env) -> None:
        """Start the control processes: Direct Connect failures and BGP failover, NAT outages,
        NAT gateways scaling up."""
        if self.dx is not None:
            self.dx.start(env)
        self.outages.start(env)
        self.scaling.start(env)

    def step(self, t1: float) -> None:
        for g, (_f, _path, out, d, _proto, route) in enumerate(self.judged):
            hi = int(np.searchsorted(d.start_s, t1, "left"))
            if hi > self.pos[g]:
                idx = np.arange(self.pos[g], hi)
                self.links.feed(route, out, d, idx, self.offsets[g] + idx, keepalive_s=_f.keepalive_s,
                                packet_bytes=_f.packet_bytes, rtt_ms=_f.rtt_ms)
                self.pos[g] = hi
        sent = []
        for k, src in enumerate(self.sources):
            lo, hi = self.first[k], self.first[k + 1]
            if lo == hi:
                continue
            t, entry = src.take_flows()
            if len(t):
                order = np.argsort(entry, kind="stable")
                bounds = np.searchsorted(entry[order], np.arange(hi - lo + 1))
                for e in range(lo, hi):
                    eg = self.egress[e]
                    rec = order[bounds[e - lo]:bounds[e - lo + 1]]
                    if not len(rec):
                        continue
                    for path, route, d in eg.draw(t[rec]):
                        out = evaluate(path, route.protocol, d.src_port, d.dst_port)
                        idx = np.arange(len(d.start_s))
                        judged = out.fail_at.copy()
                        self.links.feed(route, out, d, idx, np.full(len(idx), -1 - e, np.int64),
                                        keepalive_s=eg.cfg.keepalive_s, packet_bytes=eg.cfg.packet_bytes,
                                        rtt_ms=eg.cfg.rtt_ms)
                        sent.append((eg, path, route, out, d, judged))
        self._finished(self.links.step(t1))
        for eg, path, route, out, d, judged in sent:  # (ports decided: the outcomes are final)
            self._meter(path, out, d)
            ok = out.accepted
            st = eg.stats
            st["flows"] += len(ok)
            st["accepted"] += int(ok.sum())
            st["rejected"] += int((~ok).sum())
            st["bytes_accepted"] += int(d.size_bytes[ok].sum() + d.response_bytes[ok].sum())
            if route.nat_at is not None:  # (failing at the gateway now, not before: no port)
                st["port_allocation_errors"] += int(np.count_nonzero((out.fail_at == route.nat_at)
                                                                     & (judged != route.nat_at)))

    def _finished(self, fin) -> None:
        gen = fin.tag >= 0
        if gen.any():
            tag, done = fin.tag[gen], fin.done_s[gen]
            g_of = np.searchsorted(self.offsets, tag, "right") - 1
            for g in np.unique(g_of).tolist():
                m = g_of == g
                local = tag[m] - self.offsets[g]
                # a flow never slowed ends when it would alone, start + duration_s, to the last bit
                # (the kernel's bits / (bits / duration_s) can miss it by an ulp, and flow logs
                # floor the end)
                alone = self.ends[g][local]
                fin_g = done[m]
                # and its last byte arrives a one-way latency later (a Direct Connect link's)
                self.ends[g][local] = np.where(np.abs(fin_g - alone) <= 1e-12 * np.maximum(1.0, np.abs(alone)),
                                               alone, fin_g) + self.judged[g][5].latency_s
        if (~gen).any():
            e_of = -1 - fin.tag[~gen]
            lat = np.array([eg.paths[0][1].latency_s for eg in self.egress])[e_of]  # (DX: one-way latency)
            took = fin.done_s[~gen] - fin.start_s[~gen] + lat
            ok = np.isfinite(took) & (fin.left_bits[~gen] == 0)  # (no port: counted, not timed)
            for e in np.unique(e_of).tolist():
                m = (e_of == e) & ok
                if m.any():
                    st = self.egress[e].stats
                    st["finished"] += int(m.sum())
                    # (in whole nanoseconds: an exact sum, the same whatever the windows)
                    st["time_sum_ns"] += int(np.rint(took[m] * 1e9).astype(np.int64).sum())
                    st["time_max_s"] = max(st["time_max_s"], float(took[m].max()))
                    np.add.at(self.egress[e].hist, flow_time_bins(took[m]), 1)

    def finish(self) -> VpcFlowsResult:
        """Every flow to its end; flow log records, the `vpcs` summary section, the meters."""
        s = self.s
        self.step(s.duration_s)  # (flows starting at the very end: none, generators draw before it)
        self._finished(self.links.step(np.inf, final=True))
        totals = {v: {"flows": 0, "accepted": 0, "rejected": 0, "bytes_accepted": 0, "flow_log_records": 0,
                      "generators": {}, "functions": {}, "services": {}} for v in s.vpcs}
        frames: List[pl.DataFrame] = []
        next_id = 0
        if self.dx is not None:
            self.dx.finish()
        for (f, path, out, d, proto, _r), end_s in zip(self.judged, self.ends):
            self._meter(path, out, d)
            ok = out.accepted
            n, acc = len(ok), int(ok.sum())
            t = totals[path.vpc]
            t["flows"] += n
            t["accepted"] += acc
            t["rejected"] += n - acc
            t["bytes_accepted"] += int(d.size_bytes[ok].sum() + d.response_bytes[ok].sum())
            took = (end_s - d.start_s)[ok]
            stalled = int(np.count_nonzero(~np.isfinite(took)))  # (on a link down for good)
            took = took[np.isfinite(took)]
            hist = np.bincount(flow_time_bins(took), minlength=FLOW_TIME_BINS)
            t["generators"][f.name] = {"flows": n, "accepted": acc, "rejected": n - acc, "never_finished": stalled,
                                       "mean_flow_time_s": float(took.mean()) if len(took) else None,
                                       "max_flow_time_s": float(took.max()) if len(took) else None,
                                       "flow_time_s": flow_time_summary(hist)}
            ids = np.arange(next_id, next_id + n, dtype=np.int64)
            next_id += n
            # (a flow stalled for good, on a link down to the end, is logged as open at the end)
            records = _records(self.net, path, out, d, proto, f.name, ids,
                               np.where(np.isfinite(end_s), end_s, max(s.duration_s, 0.0)), f.packet_bytes)
            t["flow_log_records"] += records.height
            frames.append(records)
        for eg in self.egress:
            st = eg.stats
            t = totals[getattr(s, eg.section)[eg.fn].vpc.vpc]
            for k in ("flows", "accepted", "rejected", "bytes_accepted"):
                t[k] += st[k]
            per = t[eg.section].setdefault(eg.fn, {"flows": 0, "accepted": 0, "rejected": 0,
                                                    "port_allocation_errors": 0, "bytes_accepted": 0,
                                                    "finished": 0, "time_sum_ns": 0, "max_flow_time_s": None})
            for k in ("flows", "accepted", "rejected", "port_allocation_errors", "bytes_accepted", "finished",
                      "time_sum_ns"):
                per[k] += st[k]
            if st["finished"]:
                per["max_flow_time_s"] = max(per["max_flow_time_s"] or 0.0, st["time_max_s"])
            per["hist"] = per.get("hist", 0) + eg.hist
        if self.dx is not None:
            self.dx.bill(self.meters)
        logs = pl.concat(frames) if frames else pl.DataFrame(schema=FLOW_LOG_SCHEMA)
        logs = logs.sort(["start", "flow_id"], maintain_order=True)
        summary = {}
        nats = self.links.nats
        for n, nc in nats.items():
            nc.down_s = self.outages.down_s(f"nat_gateway:{n}")
        for v, t in totals.items():
            rules = {k: {"accepted": a, "rejected": r} for k, (a, r) in sorted(self.counts[v].items())}
            owners = {}
            for section in EGRESS_OWNERS:
                out = owners[section] = {}
                for fn, per in t[section].items():
                    done, time_sum, hist = per.pop("finished"), per.pop("time_sum_ns"), per.pop("hist")
                    out[fn] = {**per, "never_finished": per["accepted"] - done,  # (on a link down for good)
                               "mean_flow_time_s": time_sum / done / 1e9 if done else None}
                    out[fn]["max_flow_time_s"] = out[fn].pop("max_flow_time_s")
                    out[fn]["flow_time_s"] = flow_time_summary(hist)
            summary[v] = {**{k: t[k] for k in ("flows", "accepted", "rejected", "bytes_accepted", "flow_log_records")},
                          "bytes_out_to_internet": self.meters.link_bytes(f"internet:{v}"),
                          "bytes_inter_az": self.meters.inter_az_bytes(v),
                          "nat_gateways": {n: {"bytes_processed": self.meters.link_bytes(f"nat_gateway:{n}"),
                                               **nats[n].summary()} for n in s.vpcs[v].nat_gateways},
                          "generators": t["generators"], "rules": rules}
            for section, out in owners.items():  # (vpcs.NAME.functions, vpcs.NAME.services)
                if out:
                    summary[v][section] = out
        if self.dx is not None:
            for v, ifaces in self.dx.summary(s).items():
                summary[v]["dx_interfaces"] = ifaces
        return VpcFlowsResult(logs, summary, self.meters, nats, self.dx, self.links)

    def _meter(self, path, out, d) -> None:
        """Rule counts and the bill of flows whose outcome is final."""
        count_rules(path, out, self.counts)
        self.meters.add(path, out, d.start_s, d.size_bytes, d.response_bytes)


def _records(net: Network, path, out, d: Drawn, proto: int, name: str, ids: np.ndarray,
             end_s: np.ndarray, packet_bytes: int = MTU_BYTES) -> pl.DataFrame:
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
        packets = np.where(accepted, -(-nbytes // packet_bytes), 1)
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

