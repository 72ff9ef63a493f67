"""The memory a run will need, estimated from the scenario before anything big is built, and the budget it must fit."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from kernels.periods import n_periods as kernel_periods
from scenarios.errors import ScenarioError
from scenarios.schema import Scenario
from scenarios.yamlpath import index, num

# Bytes per unit, measured as the peak resident-set growth of `simulate(..., out_dir=...)`
# (kernel arrays, the metrics and cost frames, the per-period usage records, the parquet
# writers and report.html included) on CPython 3 / numpy / polars, 2026-12:
# - a row of metrics.parquet (one series × one period) or a per-period usage record:
#   180-295 bytes for functions, queues, fleets, topics and buses (100,000 periods each);
METRIC_ROW_BYTES = 250
# - a sampled row of requests.parquet (1,000,000 rows: 307 bytes);
REQUEST_ROW_BYTES = 320
# - a VPC flow and its flow-log records, up to 4 (1,000,000 flows through two firewalls: 2,440 bytes);
FLOW_BYTES = 2500
# - an item in the buffers of one window (a source's arrays, the account's merged and sorted
#   copies; 10,000,000 items in one window: 99 bytes);
WINDOW_ITEM_BYTES = 100
# - a row of a trace file held by its source (two float64 columns, and polars' read of them).
TRACE_ROW_BYTES = 48
# - report.html (matplotlib figures) and the parquet writers of a run's directory: the
#   default scenario grows 64 MB with them, 8 MB without.
REPORT_BYTES = 64 * 2**20
# Per environment slot of a function (birth and expiry times, float64).
STACK_SLOT_BYTES = 16
# The share of the machine's available memory a run may use when sim.max_memory_mb is unset.
BUDGET_FRACTION = 0.8

# Per-period rows of each entity: metrics.parquet series (sim.compute.lambda_account,
# sim.messaging.sqs_outputs, sim.messaging.fanout) plus its usage records and cost rows.
FUNCTION_SERIES = 19
QUEUE_SERIES = 12 + 2  # + SQS requests: a usage record and a cost row
MAPPING_SERIES = 4
FLEET_SERIES = 3
TOPIC_SERIES = 5
BUS_SERIES = 3 + 2  # + EventBridge events: a usage record and a cost row
RULE_SERIES = 4


@dataclass
class Term:
    """One part of the estimate: `what` it is, in words, its size and the key that changes it."""

    path: str
    what: str
    bytes: float
    fix: str  # what to change, in words


@dataclass
class Estimate:
    terms: List[Term]
    expected_requests: float  # arrivals of every traffic source over the run (means)

    @property
    def total_bytes(self) -> float:
        return sum(t.bytes for t in self.terms)


def human_bytes(n: float) -> str:
    """A size as people read it: 512 bytes, 3.4 MB, 1.8 TB (powers of 1,024)."""
    n = float(n)
    if not math.isfinite(n):
        return "an unbounded amount"
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB", "EB"):
        if n < 1024 or unit == "EB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} EB"


def count(x: float) -> str:
    """A count as people read it: 1,440 or 1.7e10."""
    return f"{x:,.0f}" if x < 1e7 else f"{x:.2g}"


def n_periods(sc: Scenario) -> float:
    """Recording periods of the run, as the kernels allocate them (kernels.periods)."""
    return float(kernel_periods(sc.duration_s, sc.record.period_s))


def arrival_processes(sc: Scenario, base_dir: Optional[Path] = None) -> list:
    """Per traffic source, its arrival process (None where it cannot be made: the build
    reports why). Nothing is drawn: a process computes its means from its parameters (a
    trace reads its file)."""
    from sim.traffic.arrivals import make_arrival_process

    out = []
    for tr in sc.traffic:
        try:
            out.append(make_arrival_process(tr, sc.duration_s, np.random.default_rng(0), base_dir or Path.cwd()))
        except Exception:  # a mistake the build reports with its path
            out.append(None)
    return out


def _function_reach(sc: Scenario) -> List[float]:
    """Per traffic source, how many function invocations one of its requests may become at
    most (a topic or bus fans out; a queue reaches a function through a mapping)."""
    drained = {m.source for m in sc.event_source_mappings}

    def to_queue(name: Optional[str]) -> float:
        return 1.0 if name in drained else 0.0

    out = []
    for tr in sc.traffic:
        kind, _, name = tr.target.partition(":")
        if kind == "function":
            out.append(1.0)
        elif kind == "queue":
            out.append(to_queue(name))
        elif kind == "topic" and name in sc.topics:
            subs = sc.topics[name].subscriptions
            out.append(sum(1.0 if s.protocol == "lambda" else to_queue(s.endpoint) if s.protocol == "sqs" else 0.0
                           for s in subs))
        elif kind == "bus" and name in sc.buses:
            n = 0.0
            for rule in sc.buses[name].rules.values():
                for tg in rule.targets:
                    k, _, target = tg.target.partition(":")
                    n += 1.0 if k == "function" else to_queue(target) if k == "queue" else 0.0
            out.append(n)
        else:
            out.append(0.0)
    return out


def _fanout(sc: Scenario, tr) -> float:
    """Items one request of `tr` becomes in the buffers of a window (itself plus its deliveries)."""
    kind, _, name = tr.target.partition(":")
    if kind == "topic" and name in sc.topics:
        return 1.0 + len(sc.topics[name].subscriptions)
    if kind == "bus" and name in sc.buses:
        return 1.0 + sum(len(r.targets) for r in sc.buses[name].rules.values())
    return 1.0


def _busiest_window(p, window_s: float, samples: int = 256) -> float:
    """The most arrivals process `p` is expected to make in one window of `window_s`, over
    `samples` windows spread evenly over its span (an estimate: a trace's burst between them
    is missed)."""
    if p.end_s <= p.start_s:
        return 0.0
    w = min(window_s, p.end_s - p.start_s)
    starts = np.linspace(p.start_s, p.end_s - w, samples)
    return max(float(p.expected_count(t, t + w)) for t in starts)


def _window_arrivals(p, expected: float, window_s) -> float:
    """The most arrivals process `p` (expecting `expected` in all) may put in one window:
    with `auto` windows (sim.engine.clock) at most the items an automatic window is sized
    for; with windows of `window_s`, its busiest window."""
    if window_s == "auto":
        from sim.engine.clock import AUTO_WINDOW_ITEMS

        return min(expected, float(AUTO_WINDOW_ITEMS))
    return _busiest_window(p, window_s)


def seconds(x: float) -> str:
    """A number of seconds as people read it: 3600, 0.001, 1e+12."""
    return num(x) if abs(x) < 1e7 else f"{x:.3g}"


def estimate(sc: Scenario, base_dir: Optional[Path] = None, sample_all: bool = False,
             writes: bool = True) -> Estimate:
    """The memory `simulate()` will need for `sc`, by part (see the constants above).

    Counted: per-period arrays and frames (periods × entities × series), the functions'
    environment slots, sampled request rows, VPC flows and their flow-log records, the
    buffers of one window, trace files. Simplifications: model state that depends on how
    the run unfolds — messages waiting in queues, asynchronous events waiting for a retry,
    deliveries in flight — is not counted (it is bounded by the run's own backlog, not by
    its configuration); client retries are not counted as extra sampled rows. `writes`: the
    run writes its directory (report.html included when `record.report`).
    """
    from kernels.histogram import N_BINS
    from kernels.lambda_pool import N_STREAMS
    from sim.engine.rng import CHUNK
    from sim.traffic.sources import MAX_WINDOW_ITEMS

    terms: List[Term] = []
    P = n_periods(sc)
    # per-period rows
    rows = 0.0
    for fn in sc.functions.values():
        pc = bool(fn.provisioned_concurrency or fn.provisioned_schedule)
        usage = 2 + 2 * pc + (fn.ephemeral_storage_mb > 512)  # Request, GB-Second, provisioned, storage
        rows += FUNCTION_SERIES + 2 * usage
    rows += QUEUE_SERIES * len(sc.queues) + MAPPING_SERIES * len(sc.event_source_mappings)
    rows += FLEET_SERIES * len(sc.worker_fleets)
    for topic in sc.topics.values():
        rows += TOPIC_SERIES + 2 * (1 + len({s.protocol for s in topic.subscriptions}))
    for bus in sc.buses.values():
        rows += BUS_SERIES + RULE_SERIES * len(bus.rules)
    if rows:
        path = "record.period_s" if sc.record.period_s < 60 else "duration_s"
        terms.append(Term(path, f"per-period metrics ({count(P)} periods of {num(sc.record.period_s)} s"
                                f" over duration_s = {seconds(sc.duration_s)} s, × {rows:.0f} series)",
                          P * rows * METRIC_ROW_BYTES, "lengthen record.period_s or shorten duration_s"))
    # fixed arrays per function (random draws, histograms) and per delivery target
    fixed = len(sc.functions) * (N_STREAMS * 2 * CHUNK * 8 + 3 * N_BINS * 8)
    targets = sum(len(t.subscriptions) for t in sc.topics.values())
    targets += sum(len(r.targets) for b in sc.buses.values() for r in b.rules.values())
    targets += len(sc.event_source_mappings) + 2 * len(sc.worker_fleets)
    fixed += targets * 2 * 2 * CHUNK * 8
    if fixed:
        terms.append(Term("functions", "random-draw buffers and histograms", fixed, "use fewer resources"))
    # environment slots: every function may hold up to its concurrency cap
    reserved = [fn.reserved_concurrency for fn in sc.functions.values()]
    unreserved = max(0, sc.account.concurrency_limit - sum(r for r in reserved if r is not None))
    slots = sum(float(r) if r is not None else float(unreserved) for r in reserved)
    if slots:
        terms.append(Term("account.concurrency_limit", f"environment slots ({count(slots)} over"
                                                        f" {len(reserved)} functions)",
                          slots * STACK_SLOT_BYTES, "lower account.concurrency_limit"))
    # traffic: sampled rows, window buffers, traces
    processes = arrival_processes(sc, base_dir)
    arrivals = [None if p is None else float(p.expected_count(p.start_s, p.end_s)) for p in processes]
    known = [a for a in arrivals if a is not None]
    expected = float(sum(known))
    reach = _function_reach(sc)
    invocations = sum(a * r for a, r in zip(arrivals, reach) if a is not None)
    req = sc.record.requests
    sample = 1.0 if sample_all else req.sample
    n_rows = min(invocations, sample * invocations + req.first_n)
    if n_rows:
        path = "record.requests.sample" if sample * invocations >= req.first_n else "record.requests.first_n"
        terms.append(Term(path, f"sampled request rows ({count(n_rows)} of about {count(invocations)}"
                                f" invocations)", n_rows * REQUEST_ROW_BYTES,
                          "lower record.requests.sample or record.requests.first_n, or shorten duration_s"))
    window_items, biggest, trace_rows = 0.0, (0.0, ""), 0.0
    for i, (tr, p, a) in enumerate(zip(sc.traffic, processes, arrivals)):
        if p is None:
            continue
        items = min(_window_arrivals(p, a, sc.sim.window_s), MAX_WINDOW_ITEMS) * _fanout(sc, tr)
        window_items += items
        biggest = max(biggest, (items, index("traffic", i)))
        if tr.arrivals.kind == "trace":
            trace_rows += a
    if window_items:
        terms.append(Term(biggest[1], f"the buffers of one window ({count(window_items)} items at most)",
                          window_items * WINDOW_ITEM_BYTES, "lower the traffic's rate"))
    if trace_rows:
        terms.append(Term("traffic", f"trace rows ({count(trace_rows)})", trace_rows * TRACE_ROW_BYTES,
                          "use a shorter trace"))
    # VPC flows: drawn and judged in bulk, their flow-log records kept for flow_logs.parquet
    n_flows, flow_path = 0.0, ""
    top = -1.0
    for i, f in enumerate(sc.flows):
        end = sc.duration_s if f.end_s is None else f.end_s
        n = float(f.count) if f.count is not None else float(f.rate_per_s or 0.0) * max(0.0, end - f.start_s)
        n_flows += n
        if n > top:
            top, flow_path = n, f"{index('flows', i)}.{'count' if f.count is not None else 'rate_per_s'}"
    if n_flows:
        terms.append(Term(flow_path, f"VPC flows and their flow-log records ({count(n_flows)} flows)",
                          n_flows * FLOW_BYTES, "lower the flow generators' count or rate_per_s"))
    if writes and sc.record.report:
        terms.append(Term("record.report", "report.html and the output files", REPORT_BYTES,
                          "set record.report to false"))
    return Estimate(terms, expected)


def available_bytes() -> Optional[int]:
    """Memory the machine can give a new allocation now: MemAvailable of /proc/meminfo, else
    the free physical pages; None when neither can be read."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, AttributeError):
        return None


def budget(sc: Scenario) -> Tuple[Optional[float], str]:
    """(bytes a run may use, where that figure comes from); (None, …) when it cannot be known.

    `sim.max_memory_mb` (MB of 2**20 bytes) when the scenario sets it, else BUDGET_FRACTION
    of the memory available when the run starts.
    """
    mb = getattr(getattr(sc, "sim", None), "max_memory_mb", None)
    if mb is not None:
        return float(mb) * 2**20, f"sim.max_memory_mb = {num(mb)}"
    avail = available_bytes()
    if avail is None:
        return None, "unknown: the available memory cannot be read"
    return BUDGET_FRACTION * avail, (f"{BUDGET_FRACTION:.0%} of the {human_bytes(avail)} available;"
                                     f" sim.max_memory_mb sets another")


def check_memory(sc: Scenario, base_dir: Optional[Path] = None, sample_all: bool = False,
                 writes: bool = True) -> Estimate:
    """The estimate of `sc`; raises ScenarioError, at the key of its largest part, when it
    does not fit the budget (the message gives the estimate, the budget, the largest parts
    and what to change)."""
    est = estimate(sc, base_dir, sample_all, writes)
    limit, source = budget(sc)
    total = est.total_bytes
    if limit is None or total <= limit:
        return est
    parts = sorted(est.terms, key=lambda t: -t.bytes)
    top = parts[0]
    shown = "; ".join(f"{t.what}: {human_bytes(t.bytes)}" for t in parts[:3] if t.bytes >= 0.01 * total)
    raise ScenarioError([(top.path, f"the run would need about {human_bytes(total)} of memory, more than its"
                                    f" budget of {human_bytes(limit)} ({source}) — {shown}; to fit,"
                                    f" {top.fix}")])


def rss_bytes() -> Optional[int]:
    """The resident set of this process now (/proc/self/statm), or None where unreadable."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class MemoryGuard:
    """Stops a run whose memory outgrows its budget while it runs (called after every window).

    The estimate cannot foresee model state that grows with a backlog (messages waiting in a
    queue nobody drains fast enough, asynchronous events waiting for a retry at 10⁹ requests/s):
    this guard reads the resident set at most every `every_s` wall seconds and raises
    ScenarioError, naming the busiest traffic source, once its growth since the start passes
    the budget.
    """

    def __init__(self, sc: Scenario, limit_bytes: Optional[float], source: str, every_s: float = 0.5):
        import time

        self.sc, self.limit, self.source, self.every_s = sc, limit_bytes, source, every_s
        self.start = rss_bytes()
        self._clock = time.monotonic
        self._next = self._clock() + every_s

    @classmethod
    def for_run(cls, sc: Scenario) -> "MemoryGuard":
        limit, source = budget(sc)
        return cls(sc, limit, source)

    def __call__(self, t_s: float) -> None:
        if self.limit is None or self.start is None or self._clock() < self._next:
            return
        self._next = self._clock() + self.every_s
        now = rss_bytes()
        if now is None or now - self.start <= self.limit:
            return
        busiest = max(range(len(self.sc.traffic)), default=None,
                      key=lambda i: _rate_hint(self.sc.traffic[i]))
        path = "" if busiest is None else index("traffic", busiest)
        raise ScenarioError([(path, f"stopped at t = {seconds(t_s)} s of {seconds(self.sc.duration_s)} s: the"
                                    f" run's state grew by {human_bytes(now - self.start)}, beyond its budget of"
                                    f" {human_bytes(self.limit)} ({self.source}); requests pile up faster than"
                                    f" they are served (queued messages, asynchronous events waiting for a retry)"
                                    f" — lower the traffic's rate, add capacity or shorten duration_s")])


def _rate_hint(tr) -> float:
    """A source's rate for naming the busiest (steps: the highest; traces: 0)."""
    a = tr.arrivals
    if a.kind == "steps":
        return max((float(s.rate_per_s) for s in a.steps), default=0.0)
    return float(a.rate_per_s or 0.0)
