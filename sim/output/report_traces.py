"""The report's entry points table, service map and request waterfalls, from summary.json's `entry_points` and the sampled spans.

Where the numbers come from: the entry points table shows summary.json's `entry_points`
(every request of each traffic source, sim.output.entry_points); the service map and the
waterfalls only the sampled traces (`Result.traces`, which sim.sweep.rundir.read_run loads
from traces.parquet when a report is rebuilt). The map's rates are therefore those of the
sampled calls, not of all calls: with `record.traces.sample` 0.01, about a hundredth.
Sections appear only for runs that have them: no entry points, no table; no span table,
no map and no waterfalls.
"""

from __future__ import annotations

import html
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from matplotlib.figure import Figure

from sim.output.entry_points import COUNT_KEYS, HISTOGRAM_KEYS, STAT_KEYS
from sim.output.report_format import label, number_text
from sim.output.result import Result
from sim.output.traces import pick_traces, service_map, service_map_svg, waterfall_figure

WATERFALLS = 3  # traces drawn as waterfalls (pick_traces: the slowest, the slowest with an error, the median)

# Row labels of the entry points table where the summary's words (report_format.label) mean another thing.
_COUNT_WORDS = {"requests": "requests", "succeeded": "succeeded", "failed": "failed", "throttled": "throttled",
                "in_flight_end": "in flight at the end"}

Cell = Callable[..., str]  # sim.output.report._cell: (key, value, tag="td") -> html
FigureHtml = Callable[[str, str, Callable[[], Optional[Figure]]], str]  # (id, title, draw) -> html


def entry_point_rows() -> List[Tuple[str, str]]:
    """(dotted key within an entry point, row label) of the entry points table, in order."""
    rows = [(k, _COUNT_WORDS[k]) for k in COUNT_KEYS]
    rows += [(f"{h}.{s}", label(f"{h}.{s}")) for h in HISTOGRAM_KEYS for s in STAT_KEYS]
    return rows


def entry_points_html(entry_points: Mapping[str, Mapping[str, Any]], cell: Cell) -> str:
    """A heading, what the numbers mean, and a table: a column per traffic source, a row per quantity.

    Each cell carries its summary key (`entry_points.NAME.latency_ms.p99`) and exact value
    as the other tables do; a histogram without a sample (None) shows '–' in its rows.
    """
    eps = {n: ep for n, ep in (entry_points or {}).items() if isinstance(ep, Mapping)}
    if not eps:
        return ""
    head = "<tr><th></th>" + "".join(f"<th>{html.escape(n)}</th>" for n in eps) + "</tr>"
    body = ""
    for key, words in entry_point_rows():
        group, _, stat = key.partition(".")
        cells = ""
        for name, ep in eps.items():
            value = (ep.get(group) or {}).get(stat) if stat else ep.get(key)
            cells += cell(f"entry_points.{name}.{key}", value)
        body += f'<tr><th title="{html.escape(key, quote=True)}">{html.escape(words)}</th>{cells}</tr>'
    return ('<h3 id="section-entry_points">Entry points (traffic sources)</h3>'
            '<p class="explain">Every request of each traffic source, followed to its end: what its client '
            'got (succeeded, failed, throttled), the latency it waited for (the synchronous chain; 0 for an '
            'asynchronous target, which accepts at once), and the completion time until the last call, '
            'message or invocation made on its behalf was done. Requests not done when the run ended are '
            'in flight.</p>'
            f'<div class="scroll"><table id="table-entry_points">{head}{body}</table></div>')


def traces_html(result: Result, figure: FigureHtml) -> str:
    """The "Service map" and "Request waterfalls" sections, or '' when the run has no span table.

    `figure(id, title, draw)` is the report's figure helper (sim.output.report._figure_html).
    """
    spans = result.traces
    if spans is None:
        return ""
    traces = spans["trace_id"].n_unique() if spans.height else 0
    if traces == 0:
        note = ('<p class="note">No trace was sampled (raise record.traces.sample or '
                'record.traces.first_n).</p>')
        return (f'<section id="service-map"><h2>Service map</h2>{note}</section>'
                f'<section id="waterfalls"><h2>Request waterfalls</h2>{note}</section>')
    duration_s = float(result.summary.get("duration_s") or 0.0)
    if duration_s <= 0:  # a summary without its duration: the span table's own extent
        duration_s = max(float(spans["end_s"].max()), 1e-9)
    svg = service_map_svg(service_map(spans, duration_s))
    sampled = f"{number_text(traces)} sampled trace{'s' if traces != 1 else ''}"
    if svg is None:
        body = f'<p class="note">The {sampled} make no call from one resource to another.</p>'
    else:
        body = (f'<p class="explain">What the {sampled} called (record.traces): one box per function, queue, '
                'topic, bus or endpoint, one arrow per caller and callee, labelled with the rate of the sampled '
                'calls per simulated second, their p99 duration and the share that failed (orange: some, red: '
                '5 % or more). The rates count sampled calls only.</p>' + svg)
    parts = [f'<section id="service-map"><h2>Service map</h2>{body}</section>',
             '<section id="waterfalls"><h2>Request waterfalls</h2>'
             '<p class="explain">A few sampled traces as X-Ray draws them, one bar per span on the trace\'s '
             'own time axis, children under their parent: the slowest trace, the slowest with an error, and '
             'the median one.</p>']
    for tid in pick_traces(spans, n=WATERFALLS):
        parts.append(figure(f"waterfall-{tid}", f"Trace {tid}",
                            (lambda t: lambda: waterfall_figure(spans, t))(tid)))
    parts.append("</section>")
    return "".join(parts)
