"""The console's lines for Amazon MQ brokers (summary section `brokers`, sim.messaging.mq)."""

from __future__ import annotations

from typing import Any, List, Mapping

from sim.output.console import ConsoleView, _num


def format_broker_lines(brokers: Mapping[str, Mapping[str, Any]], view: ConsoleView) -> List[str]:
    """One line per broker (sent, refused, consumed, its store's load and failovers), then one per queue."""
    lines = []
    for name, b in brokers.items():
        line = (f"broker {name} ({b.get('engine')} {b.get('instance_type')} {b.get('deployment')},"
                f" {b.get('storage')}): {_num(b.get('sent'))} sent, {_num(b.get('refused'))} refused,"
                f" {_num(b.get('consumed'))} consumed; store {_num(b.get('throughput_msgs_per_s'))} msg/s,"
                f" load {100 * (b.get('utilisation') or 0):.0f} %")
        if b.get("failovers"):
            n = b["failovers"]
            line += f"; {_num(n)} failover{'' if n == 1 else 's'}, down {_num(b.get('down_s'), 1)} s"
        lines.append(line)
        for qname, q in (b.get("queues") or {}).items():
            wait = (q.get("time_in_queue_ms") or {})
            lines.append(f"  queue {qname}: {_num(q.get('enqueued'))} enqueued, {_num(q.get('consumed'))} consumed,"
                         f" {_num(q.get('redelivered'))} redelivered, {_num(q.get('dead_lettered'))} dead-lettered;"
                         f" depth max {_num(q.get('queue_depth_max'))}, end {_num(q.get('queue_depth_end'))};"
                         f" time in queue {_num(wait.get('mean'), 1)} ms mean, {_num(wait.get('p99'), 1)} ms p99")
    return lines
