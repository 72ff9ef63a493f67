"""A compact fixed-width text summary of a run, for the terminal."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional

# (header, width) of the per-function table, in column order.
_COLUMNS = [
    ("function", 0),  # width set by the longest name
    ("invocations", 12),
    ("cold %", 8),
    ("throttles", 10),
    ("errors", 8),
    ("p50 ms", 9),
    ("p99 ms", 9),
    ("max conc", 9),
    ("avg inst", 9),
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


def _pct(value: Any) -> str:
    """A ratio in [0, 1] as a percentage with two decimals."""
    if value is None:
        return "-"
    x = float(value)
    return "-" if math.isnan(x) else f"{100.0 * x:.2f}"


def _duration(seconds: Any) -> str:
    """Simulated duration as seconds plus a readable h/min form."""
    if seconds is None:
        return "-"
    s = float(seconds)
    if s >= 3600:
        return f"{s:,.0f} s ({s / 3600:g} h)"
    if s >= 60:
        return f"{s:,.0f} s ({s / 60:g} min)"
    return f"{s:g} s"


def service_label(code: str) -> str:
    """A short service name from an AWS product code: 'AWSLambda' -> 'Lambda'."""
    for prefix in ("AWS", "Amazon"):
        if code.startswith(prefix) and len(code) > len(prefix):
            return code[len(prefix):]
    return code


def format_run_line(summary: Mapping[str, Any]) -> str:
    """One line: scenario, seed, simulated duration, requests, wall time and speed."""
    return (
        f"scenario {summary.get('scenario', '-')}  seed {summary.get('seed', '-')}  "
        f"simulated {_duration(summary.get('duration_s'))}  "
        f"requests {_num(summary.get('requests_simulated'))}  "
        f"wall {_num(summary.get('wall_s'), 2)} s  "
        f"({_num(summary.get('requests_per_wall_s'))} requests/wall-s)"
    )


def format_function_table(functions: Mapping[str, Mapping[str, Any]]) -> List[str]:
    """Header plus one fixed-width row per function."""
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
            _num(f.get("throttles")),
            _num(f.get("errors")),
            _num(lat.get("p50"), 1),
            _num(lat.get("p99"), 1),
            _num(f.get("max_concurrency")),
            _num(f.get("avg_instances"), 1),
        ]
        lines.append("  ".join([name.ljust(name_w)] + [c.rjust(w) for c, w in zip(cells, widths[1:])]))
    return lines


def format_cost_line(cost: Mapping[str, Any]) -> Optional[str]:
    """The projected monthly cost and each service's share of it, or None without costs."""
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
    return head


def format_summary(summary: Mapping[str, Any]) -> str:
    """The run line, the per-function table and, when present, the cost line."""
    lines = [format_run_line(summary)]
    functions = summary.get("functions") or {}
    if functions:
        lines.append("")
        lines.extend(format_function_table(functions))
    queues = summary.get("queues") or {}
    if queues:
        lines.append("")
        lines.append(f"{'queue':<16}{'sent':>12}{'deleted':>12}{'to DLQ':>10}{'visible end':>13}"
                     f"{'max backlog':>13}{'oldest s':>10}")
        for name, q in queues.items():
            lines.append(f"{name[:15]:<16}{_num(q.get('sent')):>12}{_num(q.get('deleted')):>12}"
                         f"{_num(q.get('dead_lettered')):>10}{_num(q.get('visible_end')):>13}"
                         f"{_num(q.get('visible_max')):>13}{_num(round(q.get('age_of_oldest_max_s') or 0)):>10}")
    for name, t in (summary.get("topics") or {}).items():
        lines.append(f"topic {name}: {_num(t.get('published'))} published, {_num(t.get('delivered'))} delivered,"
                     f" {_num(t.get('filtered_out'))} filtered out, {_num(t.get('failed'))} failed,"
                     f" {_num(t.get('dead_lettered'))} to DLQs")
    for name, b in (summary.get("buses") or {}).items():
        lines.append(f"bus {name}: {_num(b.get('put'))} events, {_num(b.get('invocations'))} invocations,"
                     f" {_num(b.get('failed'))} failed, {_num(b.get('throttled'))} throttled")
    for name, v in (summary.get("vpcs") or {}).items():  # one line per VPC
        lines.append(f"vpc {name}: {_num(v.get('flows'))} flows, {_num(v.get('accepted'))} accepted,"
                     f" {_num(v.get('rejected'))} rejected")
    cost = summary.get("cost_usd")
    if cost:
        line = format_cost_line(cost)
        if line:
            lines.append("")
            lines.append(line)
    return "\n".join(lines)
