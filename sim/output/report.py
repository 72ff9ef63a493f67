"""The HTML report of one run: a single self-contained page, plots inlined as PNG and diagrams as SVG.

Page order: the run in one line; at a glance (objectives met or breached, the monthly cost and
what it assumes); the architecture; cost by service and by resource; a table per service
(labels in words, ratios in %, durations as people write them, the exact value of every cell
in its `data-value`) and the entry points'; the service map and request waterfalls of the
sampled traces; plots over time; the VPC section; the resolved scenario. Modules:
`sim.output.report_format` (words and numbers), `sim.output.report_plots` (figures), `sim.output.diagram` (SVG),
`sim.output.report_traces` (entry points, service map, waterfalls), `sim.output.report_vpc` (VPC section),
`sim.output.report_slo` (objectives).
"""

from __future__ import annotations

import base64
import html
import io
import json
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np
import polars as pl
import yaml
from matplotlib.figure import Figure

from sim.output.console import projection_text, service_label
from sim.output.diagram import network_svg, services_svg
from sim.output.report_format import duration_text, label, number_text, pct_text, usd_text, value_text
from sim.output.report_plots import Plotter
from sim.output.report_slo import slo_checks
from sim.output.report_traces import entry_points_html, traces_html
from sim.output.result import Result
from sim.output.plain import json_safe
from sim.registry import SERVICES, load, service_for_section

# Every figure of the "over time" section, in page order: (id, title), the services' (sim.registry)
# in their order. A figure whose data is missing is still present, holding a note instead of an image.
FIGURES: List[Tuple[str, str]] = [(f.id, f.title) for svc in SERVICES for f in svc.figures if f.in_plots]
FIGURE_IDS = [fid for fid, _ in FIGURES]

# Why a figure is missing, by id.
_NOTES = {
    **{f.id: f.note for svc in SERVICES for f in svc.figures},
    "plot-cost-over-time": "no cost was metered",
}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;
color:#222;padding:0 1rem;line-height:1.4}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
.runline{color:#555;margin-top:0}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.25rem .6rem}td.num{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f5f5f5;text-align:left;font-weight:600}
.scroll{overflow-x:auto}
figure{margin:1rem 0 2rem}figure img{max-width:100%;height:auto}
figcaption{font-weight:600;margin-bottom:.3rem}
.note{color:#777;font-style:italic}.explain{color:#444;font-size:.92rem}
.glance{display:flex;flex-wrap:wrap;gap:1rem;margin:1rem 0}
.card{border:1px solid #ddd;border-radius:8px;padding:.6rem .9rem;min-width:12rem;background:#fafafa}
.card .big{font-size:1.5rem;font-weight:600}.card .small{color:#555;font-size:.85rem}
.slo-breach{color:#b71c1c;font-weight:600}.slo-met{color:#1b5e20}
svg.diagram{max-width:100%;height:auto;display:block;margin:.5rem 0 1.5rem}
pre{background:#f7f7f7;padding:.8rem;overflow-x:auto;font-size:.85rem}
"""


# ---------------------------------------------------------------- cells

def _cell(key: str, value: Any, tag: str = "td") -> str:
    """A table cell carrying `data-key` and the exact JSON value in `data-value`, showing words and units."""
    raw = html.escape(json.dumps(json_safe(value)), quote=True)
    cls = ' class="num"' if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) else ""
    text = usd_text(value) if key.startswith("cost_usd.") or key.endswith("_usd") else value_text(key, value)
    return (f'<{tag}{cls} data-key="{html.escape(key, quote=True)}" data-value="{raw}">'
            f"{html.escape(text)}</{tag}>")


def _flatten(d: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    """Nested mapping to dotted keys: {'latency_ms': {'p50': 1}} -> {'latency_ms.p50': 1}."""
    out: Dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _row_head(key: str) -> str:
    return f'<th title="{html.escape(key, quote=True)}">{html.escape(label(key))}</th>'


# ---------------------------------------------------------------- header and glance

def _run_line(s: Mapping[str, Any]) -> str:
    parts = [f"seed {s.get('seed', '–')}"]
    if s.get("duration_s") is not None:
        parts.append(f"{duration_text(s['duration_s'])} simulated")
    if s.get("requests_simulated") is not None:
        parts.append(f"{number_text(s['requests_simulated'])} requests")
    if s.get("wall_s") is not None:
        parts.append(f"in {duration_text(s['wall_s'])} of wall-clock time")
    return f'<p class="runline">{html.escape(" · ".join(parts))}</p>'


def _glance_html(result: Result) -> str:
    """Cards: objectives met or breached, the projected monthly cost and what it assumes, warnings."""
    s, config = result.summary, result.config or {}
    cards = []
    cost = s.get("cost_usd") or {}
    if cost.get("monthly") is not None:
        month_h = (config.get("billing") or {}).get("month_h", 730.0)
        free = (config.get("billing") or {}).get("free_tier")
        cards.append(
            f'<div class="card" id="glance-cost"><div class="small">projected monthly cost</div>'
            f'<div class="big">{usd_text(cost["monthly"])}</div><div class="small" id="projection">assumes '
            f'{html.escape(projection_text(cost, s.get("duration_s"), month_h))}; '
            f'{"with" if free else "without"} the free tier</div></div>')
    checks = slo_checks(s, config)
    if checks:
        bad = [c for c in checks if not c.met]
        items = "".join(f'<li class="{"slo-met" if c.met else "slo-breach"}" data-slo="{"met" if c.met else "breach"}">'
                        f'{"met" if c.met else "BREACHED"}: {html.escape(c.text())}</li>'
                        for c in bad + [c for c in checks if c.met])
        cards.append(f'<div class="card" id="glance-slo"><div class="small">service level objectives</div>'
                     f'<div class="big">{len(checks) - len(bad)} of {len(checks)} met</div>'
                     f'<ul style="margin:.3rem 0 0 1rem;padding:0">{items}</ul></div>')
    warnings = s.get("warnings") or []
    if warnings:
        items = "".join(f"<li>{html.escape(str(w))}</li>" for w in warnings)
        cards.append(f'<div class="card" id="glance-warnings"><div class="small">warnings</div><ul>{items}</ul></div>')
    if not cards:
        return ""
    return f'<section id="glance"><div class="glance">{"".join(cards)}</div></section>'


def _diagram_html(result: Result) -> str:
    config = result.config or {}
    svc = services_svg(config)
    net = network_svg(config, result.summary)
    if svc is None and net is None:
        return ""
    parts = ['<section id="architecture"><h2>Architecture</h2>']
    if svc:
        parts.append('<p class="explain">Services and what connects them, from traffic on the left to '
                     'consumers on the right; hover a box for its full name.</p>' + svc)
    if net:
        parts.append('<p class="explain">Networks: each VPC with its subnets and hosts; one arrow per '
                     'source and destination of the flow generators.</p>' + net)
    parts.append("</section>")
    return "".join(parts)


# ---------------------------------------------------------------- cost

def _cost_html(result: Result, plotter: Plotter) -> str:
    """Cost up front: totals and what the month assumes, per service, per resource, per usage type, over time."""
    parts = ['<section id="cost"><h2>Cost</h2>']
    s, config = result.summary, result.config or {}
    cost = s.get("cost_usd")
    costs = result.costs
    if not cost and (costs is None or costs.height == 0):
        parts.append('<p class="note">This run has no bill.</p></section>')
        return "".join(parts)
    if cost:
        month_h = (config.get("billing") or {}).get("month_h", 730.0)
        if cost.get("monthly") is not None:
            parts.append(f'<p class="explain">The month is {html.escape(projection_text(cost, s.get("duration_s"), month_h))}: '
                         'usage of the simulated period, scaled; tiers and the free tier apply to the month.</p>')
        rows = "".join(
            f"<tr><th>{words}</th>{_cell(f'cost_usd.{k}', cost[k])}</tr>"
            for k, words in (("monthly", "projected month"), ("total", f"simulated {duration_text(s.get('duration_s'))}"))
            if k in cost)
        for k, v in (cost.get("unit") or {}).items():
            svc, _, per = k.partition("_per_")
            rows += (f"<tr><th>{html.escape(service_label(svc))} per {html.escape(per.replace('_', ' '))}</th>"
                     f"{_cell(f'cost_usd.unit.{k}', v)}</tr>")
        parts.append(f'<table id="cost-summary">{rows}</table>')
        by_service = {k: (v if isinstance(v, Mapping) else {"monthly": v})  # a bare number: as the console reads it
                      for k, v in (cost.get("by_service") or {}).items()}
        if by_service:
            whole = float(cost.get("monthly") or 0) or 1.0
            body = ""
            for svc, v in sorted(by_service.items(), key=lambda kv: -float((kv[1] or {}).get("monthly") or 0)):
                share = pct_text(float(v.get("monthly") or 0) / whole) if cost.get("monthly") else "–"
                body += (f"<tr><td>{html.escape(service_label(svc))}</td>"
                         f"{_cell(f'cost_usd.by_service.{svc}.monthly', v.get('monthly'))}"
                         f"{_cell(f'cost_usd.by_service.{svc}.total', v.get('total'))}"
                         f'<td class="num">{share}</td></tr>')
            parts.append('<h3>By service</h3><table id="cost-by-service"><tr><th>service</th><th>monthly</th>'
                         f"<th>simulated period</th><th>share of the month</th></tr>{body}</table>")
    if costs is not None and costs.height > 0:
        parts.append(_by_resource_html(costs))
        parts.append(_breakdown_html(costs))
        parts.append(_figure_html("plot-cost-over-time", "Cost over time", plotter.cost_over_time))
        head = "".join(f"<th>{html.escape(c)}</th>" for c in costs.columns)
        body = ""
        for i, row in enumerate(costs.iter_rows(named=True)):
            body += "<tr>" + "".join(_cell(f"costs.{i}.{c}", row[c]) for c in costs.columns) + "</tr>"
        parts.append(f'<details><summary>line items ({costs.height})</summary><div class="scroll">'
                     f'<table id="cost-items"><tr>{head}</tr>{body}</table></div></details>')
    parts.append("</section>")
    return "".join(parts)


def _by_resource_html(costs: pl.DataFrame) -> str:
    """Monthly and simulated-period cost per resource (function, queue, topic, …), most expensive first."""
    g = (costs.group_by("service", "resource", maintain_order=True)
         .agg((pl.col("unblended_cost_usd") * (pl.col("period") == "monthly")).sum().alias("monthly"),
              (pl.col("unblended_cost_usd") * (pl.col("period") != "monthly")).sum().alias("simulated"))
         .sort(["monthly", "service", "resource"], descending=[True, False, False], maintain_order=True))
    whole = float(g["monthly"].sum()) or 1.0
    body = "".join(
        f"<tr><td>{html.escape(r['resource'] or '–')}</td><td>{html.escape(service_label(r['service']))}</td>"
        f'<td class="num">{usd_text(r["monthly"])}</td><td class="num">{usd_text(r["simulated"])}</td>'
        f'<td class="num">{pct_text(r["monthly"] / whole)}</td></tr>'
        for r in g.iter_rows(named=True))
    return ('<h3>By resource</h3><div class="scroll"><table id="cost-by-resource"><tr><th>resource</th>'
            '<th>service</th><th>monthly</th><th>simulated period</th><th>share of the month</th></tr>'
            f"{body}</table></div>")


def _breakdown_html(costs: pl.DataFrame) -> str:
    """Where the projected month's money goes: one row per service and usage type."""
    g = (costs.filter(pl.col("period") == "monthly")
         .group_by("service", "usage_type", "unit", maintain_order=True)
         .agg(pl.col("usage_amount").sum(), pl.col("unblended_cost_usd").sum())
         .sort(["unblended_cost_usd", "service", "usage_type"], descending=[True, False, False],
               maintain_order=True))
    whole = float(g["unblended_cost_usd"].sum()) or 1.0
    body = "".join(
        f"<tr><td>{html.escape(service_label(r['service']))}</td><td>{html.escape(r['usage_type'])}</td>"
        f'<td class="num">{number_text(r["usage_amount"])} {html.escape(r["unit"])}</td>'
        f'<td class="num">{usd_text(r["unblended_cost_usd"])}</td>'
        f'<td class="num">{pct_text(r["unblended_cost_usd"] / whole)}</td></tr>'
        for r in g.iter_rows(named=True))
    return ('<h3>By usage type</h3><div class="scroll"><table id="cost-breakdown"><tr><th>service</th>'
            '<th>usage type</th><th>monthly usage</th><th>monthly cost</th><th>share</th></tr>'
            f"{body}</table></div>")


# ---------------------------------------------------------------- service tables

def _run_table(summary: Mapping[str, Any]) -> str:
    """The run's scalars, one row each, labelled in words."""
    first = ["scenario", "seed", "duration_s", "requests_simulated", "wall_s", "requests_per_wall_s"]
    keys = [k for k in first if k in summary]
    keys += [k for k, v in summary.items()
             if k not in keys and not isinstance(v, (Mapping, list)) and k != "cost_usd"]
    rows = "".join(f"<tr>{_row_head(k)}{_cell(k, summary[k])}</tr>" for k in keys)
    return f'<table id="run-info">{rows}</table>'


def _section_table(section: str, entities: Mapping[str, Mapping[str, Any]]) -> str:
    """One section (functions, queues, …): a row per quantity, a column per entity; nested tables apart."""
    svc = service_for_section(section)
    first, derived = (svc.report_first, svc.report_derived) if svc is not None else ((), ())
    flat: Dict[str, Dict[str, Any]] = {}
    nested: Dict[str, Dict[str, Mapping[str, Any]]] = {}  # e.g. a topic's subscriptions
    for name, v in entities.items():
        if not isinstance(v, Mapping):
            continue
        plain = {k: x for k, x in v.items()
                 if not (isinstance(x, Mapping) and x and all(isinstance(y, Mapping) for y in x.values()))}
        for k, x in v.items():
            if k not in plain:
                nested.setdefault(k, {}).update({f"{name} · {sub}": (x[sub], f"{section}.{name}.{k}.{sub}")
                                                 for sub in x})
        flat[name] = _flatten(plain)
        for row, ref in derived:  # e.g. error_ratio = errors / invocations
            flat[name][row] = load(ref)(v)
    keys: List[str] = [k for k in first if any(k in f for f in flat.values())]
    for fields in flat.values():
        keys += [k for k in fields if k not in keys]
    head = "<tr><th></th>" + "".join(f"<th>{html.escape(n)}</th>" for n in flat) + "</tr>"
    body = ""
    for k in keys:
        cells = "".join(_cell(f"{section}.{name}.{k}", fields.get(k)) for name, fields in flat.items())
        body += f"<tr>{_row_head(k)}{cells}</tr>"
    out = f'<div class="scroll"><table id="table-{html.escape(section)}">{head}{body}</table></div>'
    for part, rows in nested.items():
        sub_keys: List[str] = []
        for v, _ in rows.values():
            sub_keys += [k for k in _flatten(v) if k not in sub_keys]
        thead = "<tr><th></th>" + "".join(_row_head(k) for k in sub_keys) + "</tr>"
        tbody = ""
        for name, (v, prefix) in rows.items():
            f = _flatten(v)
            tbody += (f"<tr><th>{html.escape(name)}</th>"
                      + "".join(_cell(f"{prefix}.{k}", f.get(k)) for k in sub_keys) + "</tr>")
        out += (f'<h4>{html.escape(part.replace("_", " "))}</h4><div class="scroll">'
                f'<table id="table-{html.escape(section)}-{html.escape(part)}">{thead}{tbody}</table></div>')
    return out


def _summary_html(summary: Mapping[str, Any]) -> str:
    """The run table plus one table per service section of the summary, and the entry points'."""
    parts = ['<section id="summary"><h2>Summary</h2>', _run_table(summary)]
    for section, value in summary.items():
        if section == "entry_points":  # not a service: a column per traffic source (sim.output.report_traces)
            parts.append(entry_points_html(value if isinstance(value, Mapping) else {}, _cell))
            continue
        svc = service_for_section(section)
        if section == "cost_usd" or (svc is not None and not svc.report_table) or not isinstance(value, Mapping) \
                or not value:
            continue
        if all(isinstance(v, Mapping) for v in value.values()):
            title = svc.title if svc is not None else section.replace("_", " ")
            parts.append(f'<h3 id="section-{html.escape(section)}">{html.escape(title)}</h3>')
            parts.append(_section_table(section, value))
    parts.append("</section>")
    return "".join(parts)


# ---------------------------------------------------------------- figures

def _png_data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure_html(fid: str, title: str, draw: Callable[[], Optional[Figure]]) -> str:
    """A <figure> with the plot, or with a note saying why there is none."""
    fig = draw()
    if fig is None:
        body = f'<p class="note">Not shown: {html.escape(_NOTES[fid])}.</p>'
        state = "empty"
    else:
        body = f'<img src="{_png_data_uri(fig)}" alt="{html.escape(title, quote=True)}">'
        state = "plot"
    return (f'<figure id="{fid}" data-state="{state}"><figcaption>{html.escape(title)}</figcaption>'
            f"{body}</figure>")


def figures(result: Result, p: Optional[Plotter] = None) -> Dict[str, Callable[[], Optional[Figure]]]:
    """Every figure of the report by id: a function drawing it (None when its data is missing)."""
    p = p or Plotter(result)
    out: Dict[str, Callable[[], Optional[Figure]]] = {}
    for svc in SERVICES:
        for f in svc.figures:
            if ":" in f.draw:  # a function of (result, plotter)
                out[f.id] = (lambda fn: lambda: fn(result, p))(load(f.draw))
            else:  # a Plotter method
                out[f.id] = getattr(p, f.draw)
    out["plot-cost-over-time"] = p.cost_over_time
    return out


def _plots_html(result: Result, draw: Mapping[str, Callable[[], Optional[Figure]]]) -> str:
    body = "".join(_figure_html(fid, title, draw[fid]) for fid, title in FIGURES)
    note = ('<p class="explain">Service level objectives the scenario sets (<code>slo:</code>) are drawn as '
            'dashed lines and named in the legends.</p>' if slo_checks(result.summary, result.config or {}) else "")
    return f'<section id="plots"><h2>Over time and distributions</h2>{note}{body}</section>'


def _config_html(config: Mapping[str, Any]) -> str:
    if not config:
        return ""
    text = yaml.safe_dump(json_safe(dict(config)), sort_keys=False, allow_unicode=True)
    return ('<section id="config"><h2>Scenario</h2><details><summary>resolved config</summary>'
            f"<pre>{html.escape(text)}</pre></details></section>")


def build_report(result: Result) -> str:
    """The whole report of `result` as one HTML page (no external resources)."""
    s = result.summary
    name = html.escape(str(s.get("scenario", (result.config or {}).get("name", "run"))))
    plotter = Plotter(result)
    draw = figures(result, plotter)
    sections = "".join(load(svc.report_section)(result, _cell, lambda fid, title: _figure_html(fid, title, draw[fid]))
                       for svc in SERVICES if svc.report_section is not None)  # e.g. the VPC section
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>cloudtwin: {name}</title>'
        f"<style>{_CSS}</style></head><body>"
        f"<h1>cloudtwin run: {name}</h1>{_run_line(s)}"
        f"{_glance_html(result)}{_diagram_html(result)}{_cost_html(result, plotter)}{_summary_html(s)}"
        f"{traces_html(result, _figure_html)}"
        f"{_plots_html(result, draw)}{sections}{_config_html(result.config or {})}"
        "</body></html>\n"
    )
_Plotter = Plotter  # the name tests/test_writers.py knows it by
