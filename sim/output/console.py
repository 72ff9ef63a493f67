"""A compact fixed-width text summary of a run, for the terminal."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

from sim.output.diagram import arrivals, generator_rows
from sim.output.report_format import duration_text, number_text, pct_text
from sim.output.report_slo import SloCheck, error_ratio, slo_checks
from sim.registry import SERVICES, load

# (header, width) of the per-function table, in column order; the name column's width is
# set by the longest name.
_COLUMNS = [
    ("function", 0),
    ("invocations", 12),
    ("cold starts", 12),
    ("throttled", 10),
    ("errors", 9),
    ("p50 latency", 12),
    ("p99 latency", 12),
    ("peak conc.", 11),
    ("avg envs", 9),
]
# (header, width, summary key) of the queue table.
_QUEUE_COLUMNS = [
    ("sent", 11, "sent"),
    ("deleted", 11, "deleted"),
    ("to DLQ", 9, "dead_lettered"),
    ("visible at end", 14, "visible_end"),
    ("in flight at end", 16, "in_flight_end"),
    ("peak visible", 12, "visible_max"),
    ("oldest age", 11, "age_of_oldest_max_s"),
]


def _num(value: Any, digits: int = 0) -> str:
    """`value` with thousands separators and `digits` decimals; '-' when missing or NaN."""
    if value is None:
        return "-"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return "-"
    return f"{x:,.{digits}f}"


def _ms(value: Any) -> str:
    """A latency in ms as a duration in words ('119 ms', '1.44 s'); '-' when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return duration_text(float(value) / 1000.0)


def _pct(value: Any) -> str:
    """A ratio as a percentage ('93.72 %'); '-' when missing."""
    text = pct_text(value)
    return "-" if text == "–" else text


def service_label(code: str) -> str:
    """A short service name from an AWS product code: 'AWSLambda' -> 'Lambda'."""
    for prefix in ("AWS", "Amazon"):
        if code.startswith(prefix) and len(code) > len(prefix):
            return code[len(prefix):]
    return code


def format_run_line(summary: Mapping[str, Any]) -> str:
    """One line: scenario, seed, simulated duration, requests, wall time and speed."""
    wall = summary.get("wall_s")
    return (
        f"scenario {summary.get('scenario', '-')}  seed {summary.get('seed', '-')}  "
        f"simulated {'-' if summary.get('duration_s') is None else duration_text(summary['duration_s'])}  "
        f"requests {_num(summary.get('requests_simulated'))}  "
        f"wall {'-' if wall is None else duration_text(wall)}  "
        f"({_num(summary.get('requests_per_wall_s'))} requests/wall-s)"
    )


def format_function_table(functions: Mapping[str, Mapping[str, Any]],
                          breaches: Sequence[str] = ()) -> List[str]:
    """Header plus one fixed-width row per function; a function in `breaches` is marked 'SLO!'."""
    name_w = max([len("function")] + [len(n) for n in functions])
    widths = [name_w] + [w for _, w in _COLUMNS[1:]]
    header = "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w) for i, ((h, _), w) in enumerate(zip(_COLUMNS, widths))
    )
    lines = [header, "-" * len(header)]
    for name, f in functions.items():
        lat = f.get("latency_ms") or {}
        cells = [
            _num(f.get("invocations")),
            _pct(f.get("cold_start_ratio")),
            _pct(f.get("throttle_ratio")),
            _pct(error_ratio(f)),
            _ms(lat.get("p50")),
            _ms(lat.get("p99")),
            _num(f.get("max_concurrency")),
            _num(f.get("avg_instances"), 1),
        ]
        row = "  ".join([name.ljust(name_w)] + [c.rjust(w) for c, w in zip(cells, widths[1:])])
        lines.append(row + ("  SLO!" if name in breaches else ""))
    return lines


def format_queue_table(queues: Mapping[str, Mapping[str, Any]], breaches: Sequence[str] = ()) -> List[str]:
    """Header plus one row per queue: traffic, what is left at the end (visible and in flight), backlog, age."""
    name_w = max([len("queue")] + [len(n) for n in queues])
    header = "  ".join(["queue".ljust(name_w)] + [h.rjust(w) for h, w, _ in _QUEUE_COLUMNS])
    lines = [header, "-" * len(header)]
    for name, q in queues.items():
        cells = [(_ms(1000.0 * q[k]) if k == "age_of_oldest_max_s" and q.get(k) is not None else _num(q.get(k)))
                 for _, _, k in _QUEUE_COLUMNS]
        row = "  ".join([name.ljust(name_w)] + [c.rjust(w) for c, (_, w, _) in zip(cells, _QUEUE_COLUMNS)])
        lines.append(row + ("  SLO!" if name in breaches else ""))
    return lines


# (header, width, key) of the entry-point table: counts, then (histogram, statistic) durations.
_ENTRY_COLUMNS = [
    ("requests", 11, "requests"),
    ("succeeded", 11, "succeeded"),
    ("failed", 9, "failed"),
    ("throttled", 10, "throttled"),
    ("in flight", 10, "in_flight_end"),
    ("p50 latency", 12, ("latency_ms", "p50")),
    ("p99 latency", 12, ("latency_ms", "p99")),
    ("p99 complete", 12, ("completion_ms", "p99")),
]


def format_entry_point_table(entry_points: Mapping[str, Mapping[str, Any]]) -> List[str]:
    """Header plus one row per traffic source: requests and their outcomes, in flight at the end,
    the latency its clients saw (p50, p99) and the p99 time until the whole chain was done."""
    name_w = max([len("entry point")] + [len(n) for n in entry_points])
    header = "  ".join(["entry point".ljust(name_w)] + [h.rjust(w) for h, w, _ in _ENTRY_COLUMNS])
    lines = [header, "-" * len(header)]
    for name, ep in entry_points.items():
        if not isinstance(ep, Mapping):
            continue
        cells = []
        for _, _, key in _ENTRY_COLUMNS:
            if isinstance(key, tuple):
                cells.append(_ms((ep.get(key[0]) or {}).get(key[1])))
            else:
                cells.append(_num(ep.get(key)))
        lines.append("  ".join([name.ljust(name_w)] + [c.rjust(w) for c, (_, w, _) in zip(cells, _ENTRY_COLUMNS)]))
    return lines


def projection_text(cost: Mapping[str, Any], duration_s: Optional[float], month_h: Optional[float]) -> str:
    """What the monthly figure assumes: 'the simulated 15 min repeated to fill a 730 h month (× 2,920)'."""
    if not duration_s or not month_h:
        return "the simulated period scaled to a month"
    factor = float(month_h) * 3600.0 / float(duration_s)
    return (f"the simulated {duration_text(duration_s)} repeated to fill a {number_text(month_h)} h month "
            f"(× {number_text(round(factor, 2))})")


def format_cost_line(cost: Mapping[str, Any], duration_s: Optional[float] = None,
                     month_h: Optional[float] = None) -> Optional[str]:
    """The projected monthly cost, what it assumes, and each service's share of it; None without costs."""
    monthly = cost.get("monthly")
    total = cost.get("total")
    if monthly is None and total is None:
        return None
    head = (
        f"projected monthly cost ${_num(monthly, 2)}"
        if monthly is not None
        else f"cost ${_num(total, 2)}"
    )
    if monthly is not None and total is not None:
        head += f" (simulated period ${_num(total, 2)})"
    by_service: Dict[str, Any] = dict(cost.get("by_service") or {})
    parts = sorted(((k, v.get("monthly") if isinstance(v, Mapping) else v) for k, v in by_service.items()),
                   key=lambda kv: -float(kv[1] or 0))
    if parts:
        head += ", of which " + ", ".join(f"{service_label(k)} ${_num(v, 2)}" for k, v in parts)
    if monthly is not None and duration_s:
        head += f"\n  assumes {projection_text(cost, duration_s, month_h)}"
    return head


def format_slo_lines(checks: Sequence[SloCheck]) -> List[str]:
    """One line per objective: 'SLO met: …' or 'SLO BREACHED: …', breaches first."""
    ordered = [c for c in checks if not c.met] + [c for c in checks if c.met]
    return [f"SLO {'met' if c.met else 'BREACHED'}: {c.text()}" for c in ordered]


@dataclass(frozen=True)
class ConsoleView:
    """What a service's console lines may use beyond its own section: the whole summary, the
    resolved scenario, and the (section, name) pairs whose objectives are breached."""

    summary: Mapping[str, Any]
    config: Mapping[str, Any]
    breached: frozenset

    def breaches(self, section: str) -> List[str]:
        return [n for s, n in self.breached if s == section]


def format_function_lines(functions: Mapping[str, Mapping[str, Any]], view: ConsoleView) -> List[str]:
    return ["", *format_function_table(functions, view.breaches("functions"))]


def format_queue_lines(queues: Mapping[str, Mapping[str, Any]], view: ConsoleView) -> List[str]:
    return ["", *format_queue_table(queues, view.breaches("queues"))]


def format_topic_lines(topics: Mapping[str, Mapping[str, Any]], view: ConsoleView) -> List[str]:
    return [f"topic {name}: {_num(t.get('published'))} published, {_num(t.get('delivered'))} delivered,"
            f" {_num(t.get('filtered_out'))} filtered out, {_num(t.get('failed'))} failed,"
            f" {_num(t.get('dead_lettered'))} to DLQs" for name, t in topics.items()]


def format_bus_lines(buses: Mapping[str, Mapping[str, Any]], view: ConsoleView) -> List[str]:
    return [f"bus {name}: {_num(b.get('put'))} events, {_num(b.get('invocations'))} invocations,"
            f" {_num(b.get('failed'))} failed, {_num(b.get('throttled'))} throttled" for name, b in buses.items()]


def format_call_lines(calls: Mapping[str, Mapping[str, Any]], view: ConsoleView) -> List[str]:
    """One line per call of a function (or a state machine's Task): what was made and how it ended,
    and the SDK's retries (a Task's: its state's Retry)."""
    return [f"call {name}: {_num(c.get('made'))} made, {_num(c.get('ok'))} ok, {_num(c.get('failed'))} failed,"
            f" {_num(c.get('abandoned'))} abandoned, {_num(c.get('retries'))}"
            f" {'retries (its Retry)' if c.get('mode') == 'task' else 'SDK retries'}"
            for name, c in calls.items()]


def format_endpoint_lines(endpoints: Mapping[str, Mapping[str, Any]], view: ConsoleView) -> List[str]:
    """One line per endpoint outside AWS: its requests and how they were answered."""
    return [f"endpoint {name}: {_num(e.get('requests'))} requests, {_num(e.get('ok'))} ok,"
            f" {_num(e.get('errors'))} 5xx, {_num(e.get('throttled'))} throttled (429),"
            f" {_num(e.get('outage'))} in outages (503)" for name, e in endpoints.items()]


def format_table_lines(tables: Mapping[str, Mapping[str, Any]], view: ConsoleView) -> List[str]:
    """One line per DynamoDB table: requests, throttles (and how many were a hot partition's), the
    units consumed, and its capacity at the end."""
    lines = []
    for name, t in tables.items():
        key_range = (t.get("read_key_range_throttle_events") or 0) + (t.get("write_key_range_throttle_events") or 0)
        hot = f" ({_num(key_range)} on a hot partition)" if key_range else ""
        mode = t.get("billing_mode", "").replace("_", "-")
        lines.append(f"table {name} ({mode}): {_num(t.get('requests'))} requests, {_num(t.get('throttled'))}"
                     f" throttled{hot}; {_num(t.get('consumed_rcu'))} RCU and {_num(t.get('consumed_wcu'))} WCU"
                     f" consumed; capacity at the end {_num(t.get('read_capacity_end'))} read,"
                     f" {_num(t.get('write_capacity_end'))} write, {_num(t.get('partitions_end'))} partitions")
    return lines


def format_bucket_lines(buckets: Mapping[str, Mapping[str, Any]], view: ConsoleView) -> List[str]:
    """One line per S3 bucket: requests, 503 Slow Down, bytes moved, prefix splits, notifications."""
    lines = []
    for name, b in buckets.items():
        line = (f"bucket {name}: {_num(b.get('requests'))} requests, {_num(b.get('slow_down'))} slowed down (503),"
                f" {_gb(b.get('bytes_downloaded'))} down, {_gb(b.get('bytes_uploaded'))} up")
        if b.get("prefix_splits"):
            line += f", {_num(b['prefix_splits'])} prefix splits"
        n = b.get("notifications")
        if n:
            line += f"; notifications {_num(n.get('delivered'))} delivered, {_num(n.get('pending_end'))} pending"
        lines.append(line)
    return lines


def format_state_machine_lines(machines: Mapping[str, Mapping[str, Any]], view: ConsoleView) -> List[str]:
    """One line per Step Functions state machine: executions and how they ended, refusals,
    state transitions, the mean execution time."""
    lines = []
    for name, m in machines.items():
        line = (f"state machine {name} ({str(m.get('type', '')).lower()}): {_num(m.get('started'))} executions,"
                f" {_num(m.get('succeeded'))} succeeded, {_num(m.get('failed'))} failed,"
                f" {_num(m.get('timed_out'))} timed out")
        if m.get("throttled"):
            line += f", {_num(m['throttled'])} refused (StartExecution quota)"
        line += f"; {_num(m.get('state_transitions'))} transitions"
        if m.get("transitions_delayed"):
            line += f" ({_num(m['transitions_delayed'])} delayed by the quota)"
        mean = (m.get("execution_time_ms") or {}).get("mean")
        if mean is not None:
            line += f"; {_num(mean)} ms each on average"
        lines.append(line)
    return lines


def format_service_lines(services: Mapping[str, Mapping[str, Any]], view: ConsoleView) -> List[str]:
    """One line per ECS service: requests and the load balancer's errors, the p99 response
    time, the mean of running tasks and the scaling it did."""
    lines = []
    for name, s in services.items():
        line = f"service {name}: {_num(s.get('requests'))} requests, {_num(s.get('ok'))} ok"
        errors = [(k, c) for k, c in (("503 (no task running)", s.get("no_targets_503")),
                                      ("502 (backlog full)", s.get("refused_502")),
                                      ("504 (idle timeout)", s.get("timeout_504"))) if c]
        if errors:
            line += ", " + ", ".join(f"{_num(c)} {k}" for k, c in errors)
        p99 = (s.get("response_ms") or {}).get("p99")
        if p99 is not None:
            line += f"; p99 {_num(p99)} ms"
        line += f"; {_num(s.get('running_tasks_mean'))} tasks on average"
        if s.get("scale_outs") or s.get("scale_ins"):
            line += f", {_num(s.get('scale_outs'))} scale-outs and {_num(s.get('scale_ins'))} scale-ins"
        if s.get("spot_interruptions"):
            line += f", {_num(s['spot_interruptions'])} Spot interruptions"
        lines.append(line)
    return lines


def format_outpost_lines(outposts: Mapping[str, Mapping[str, Any]], view: ConsoleView) -> List[str]:
    """One line per Outpost pool: its slots, what the workloads took, the service on it (its
    tasks there on average, launches that found no slot, requests served in the Region)."""
    lines = []
    for name, o in outposts.items():
        for itype, p in (o.get("pools") or {}).items():
            line = (f"outpost {name} {itype}: {_num(p.get('slots'))} slots, {_num(p.get('used_by_workloads'))} for"
                    " EC2 workloads")
            if p.get("service"):
                line += (f"; service {p['service']}: {_num(p.get('tasks_on_outpost_mean'))} of its"
                         f" {_num(p.get('task_slots'))} task slots used on average")
                if p.get("launches_unplaced"):
                    line += f", {_num(p['launches_unplaced'])} launches found no slot"
                if p.get("requests_served_in_region"):
                    line += f", {_num(p['requests_served_in_region'])} requests served in the Region"
            lines.append(line)
        away = [w for w in o.get("workloads") or () if w.get("in_region") or w.get("refused")]
        for w in away:
            what = (f"{_num(w['in_region'])} in the Region" if w.get("in_region")
                    else f"{_num(w['refused'])} refused")
            lines.append(f"outpost {name}: workload {w['name']} ({w['instance_type']}) {_num(w['placed'])} placed,"
                         f" {what}")
    return lines


def format_swf_lines(workflows: Mapping[str, Mapping[str, Any]], view: ConsoleView) -> List[str]:
    """One line per SWF workflow type: executions and how they ended, tasks, the mean waits of its
    decision and activity tasks, the mean execution time."""
    lines = []
    for name, m in workflows.items():
        line = (f"swf workflow {name}: {_num(m.get('started'))} executions, {_num(m.get('completed'))} completed,"
                f" {_num(m.get('failed'))} failed, {_num(m.get('timed_out'))} timed out,"
                f" {_num(m.get('open_end'))} open; {_num(m.get('decision_tasks'))} decision and"
                f" {_num(m.get('activity_tasks'))} activity tasks")
        waits = [(what, (m.get(k) or {}).get("mean")) for what, k in (("decision", "decision_wait_ms"),
                                                                    ("activity", "activity_wait_ms"))]
        waits = [f"{what} {_ms(v)}" for what, v in waits if v is not None]
        if waits:
            line += f"; waits {', '.join(waits)}"
        mean = (m.get("execution_time_s") or {}).get("mean")
        if mean is not None:
            line += f"; {_ms(mean * 1000.0)} each on average"
        lines.append(line)
    return lines


def format_api_lines(routes: Mapping[str, Mapping[str, Any]], view: ConsoleView) -> List[str]:
    """One line per API route: requests, 2xx/4xx/5xx (504s apart), the cache hit ratio, latency."""
    lines = []
    for name, r in routes.items():
        line = (f"api {name}: {_num(r.get('requests'))} requests, {_num(r.get('status_2xx'))} 2xx,"
                f" {_num(r.get('status_4xx'))} 4xx, {_num(r.get('status_5xx'))} 5xx")
        if r.get("status_504"):
            line += f" ({_num(r['status_504'])} timed out: 504)"
        if r.get("cache_hit_ratio") is not None:
            line += f"; cache hits {100 * r['cache_hit_ratio']:.1f} %"
        if r.get("latency_ms_mean") is not None:
            line += f"; latency {r['latency_ms_mean']:.1f} ms mean"
        lines.append(line)
    return lines


def format_vpc_lines(vpcs: Mapping[str, Mapping[str, Any]], view: ConsoleView) -> List[str]:
    """One line per VPC: flows started there, accepted and rejected, and those arriving from
    elsewhere; then what it bills, its NAT gateways' peaks and errors, its functions' flows and
    its DX interfaces' failovers."""
    rows = generator_rows(view.summary, view.config)
    lines = []
    for name, v in vpcs.items():
        line = (f"vpc {name}: {_num(v.get('flows'))} flows started here, {_num(v.get('accepted'))} accepted,"
                f" {_num(v.get('rejected'))} rejected")
        n_in, acc_in, _ = arrivals(rows, name)
        if n_in:
            line += f"; {_num(n_in)} arrived from elsewhere, {_num(acc_in)} of them accepted"
        lines.append(line)
        billed = [f"NAT gateway {nat} processed {_gb(n.get('bytes_processed'))}"
                  for nat, n in (v.get("nat_gateways") or {}).items()]
        if v.get("bytes_out_to_internet"):
            billed.append(f"{_gb(v['bytes_out_to_internet'])} out to the internet")
        if v.get("bytes_inter_az"):
            billed.append(f"{_gb(v['bytes_inter_az'])} billed between AZs (each way)")
        if billed:
            lines.append(f"  {'; '.join(billed)}")
        for nat, n in (v.get("nat_gateways") or {}).items():
            worry = [f"{_num(n[k])} {what}" for k, what in (("port_allocation_errors", "ErrorPortAllocation"),
                                                            ("idle_timeouts", "idle timeouts"),
                                                            ("packets_dropped", "packets dropped")) if n.get(k)]
            if n.get("scale_ups"):
                worry.insert(0, f"scaled up {n['scale_ups']} times to {n['capacity_gbps']:g} Gbit/s")
            if n.get("peak_gbps") or worry:
                lines.append(f"  NAT gateway {nat}: peak {n.get('peak_gbps') or 0:,.2f} Gbit/s"
                             + (f", {', '.join(worry)}" if worry else ""))
        for section, noun in (("functions", "function"), ("services", "ECS service")):
            for fn, f in (v.get(section) or {}).items():
                took = f.get("mean_flow_time_s")
                lines.append(f"  {noun} {fn}: {_num(f.get('flows'))} flows, {_num(f.get('accepted'))} accepted"
                             + (f", mean flow time {took:,.3f} s" if took is not None else ""))
        for n, d in (v.get("dx_interfaces") or {}).items():
            lines.append(f"  DX interface {n} ({d.get('connection')}): {_gb(d.get('bytes_over_dx'))} over DX,"
                         f" {_gb(d.get('bytes_over_backup_vpn'))} over the backup VPN, {d.get('failovers', 0)}"
                         f" failover(s), {d.get('blackhole_s', 0):,.1f} s carried nowhere")
    return lines


def _gb(n_bytes: Any) -> str:
    """Bytes as AWS bills them: GB of 2^30 bytes."""
    return "-" if n_bytes is None else f"{n_bytes / 2**30:,.2f} GB"


def format_summary(summary: Mapping[str, Any], config: Optional[Mapping[str, Any]] = None) -> str:
    """The run line, each service's table or lines (sim.registry, in its order), the entry points, SLOs and the cost line.

    `config` is the resolved scenario (Result.config): it gives the service level objectives
    (`slo:`) and the month length; without it, no SLO is checked and the month is AWS's 730 h.
    """
    config = config or {}
    checks = slo_checks(summary, config)
    view = ConsoleView(summary, config, frozenset((c.section, c.name) for c in checks if not c.met))
    lines = [format_run_line(summary)]
    for svc in SERVICES:
        section = summary.get(svc.summary_section) or {}
        if svc.console is not None and section:
            lines.extend(load(svc.console)(section, view))
    entry_points = summary.get("entry_points") or {}
    if entry_points:  # when a component follows the traffic to its end (sim.output.entry_points)
        lines.append("")
        lines.extend(format_entry_point_table(entry_points))
    if checks:
        lines.append("")
        lines.extend(format_slo_lines(checks))
    cost = summary.get("cost_usd")
    if cost:
        month_h = (config.get("billing") or {}).get("month_h", 730.0)
        line = format_cost_line(cost, summary.get("duration_s"), month_h)
        if line:
            lines.append("")
            lines.extend(line.split("\n"))
    return "\n".join(lines)
