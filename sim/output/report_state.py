"""The report's sections for DynamoDB tables and API Gateway routes (issue "The front door and the
state"): consumed capacity against provisioned with the throttles, and each route's answers,
cache hit ratio and latency (the gateway's overhead on top of its integration's); and for Step
Functions state machines, each machine's month side by side — Standard's transitions against
Express's requests and GB-hours, the choice AWS asks people to make. Their summary tables are the
report's generic ones; these sections add the figures and the comparison."""

from __future__ import annotations

import html
from typing import Optional

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from sim.output.report_format import usd_text
from sim.output.report_plots import series
from sim.output.result import Result

DYNAMODB, APIGW = ("AWS/DynamoDB",), ("AWS/ApiGateway",)
WORKFLOW_USAGE = ("StateTransition", "Express-Requests", "Express-GB-Hours")  # AWSStepFunctions' usage types


def capacity_figure(result: Result, plotter) -> Optional[Figure]:
    """Per table and direction: units consumed a second against the provisioned capacity (dashed),
    and the throttle events a second (red, right axis): the sawtooth of auto scaling on a ramp,
    the hot partition that throttles below the table's capacity."""
    m, div = result.metrics, plotter.period_s or 60.0  # per-period sums over the period: a rate
    drawn = 0
    fig, ax = plotter.figure(1)
    ax2 = ax.twinx()
    for x in ("Write", "Read"):
        provisioned = series(m, f"Provisioned{x}CapacityUnits", DYNAMODB, "TableName=")
        throttles = series(m, f"{x}ThrottleEvents", DYNAMODB, "TableName=")
        for table, (t, v) in series(m, f"Consumed{x}CapacityUnits", DYNAMODB, "TableName=").items():
            if v.sum() <= 0:
                continue
            colour, name = f"C{drawn % 10}", f"{table} {x.lower()}"
            drawn += 1
            plotter.step(ax, t, v / div, color=colour, label=f"{name} consumed")
            if table in provisioned:
                pt, pv = provisioned[table]
                ax.plot(pt / plotter.t_div, pv, drawstyle="steps-post", linestyle="--", color=colour,
                        label=f"{name} provisioned")
            if table in throttles and throttles[table][1].sum() > 0:
                tt, tv = throttles[table]
                ax2.plot(tt / plotter.t_div, tv / div, drawstyle="steps-post", color="C3", linewidth=0.8, alpha=0.7,
                         label=f"{name} throttles")
    if not drawn:
        return None
    ax.set_ylabel("capacity units a second")
    ax2.set_ylabel("throttle events a second", color="C3")
    ax.set_ylim(bottom=0)
    ax2.set_ylim(bottom=0)
    ax.set_xlabel(plotter.t_label)
    plotter.legend(ax)
    return fig


def api_figure(result: Result, plotter) -> Optional[Figure]:
    """Per route: mean Latency against IntegrationLatency (the gap is the gateway's overhead and
    its own fast answers), with the share of 4XX and 5XX answers and the cache hit ratio."""
    m = result.metrics
    per = {k: series(m, k, APIGW, "ApiName=") for k in ("Latency", "IntegrationLatency", "Count", "4XXError",
                                                           "5XXError", "CacheHitCount", "CacheMissCount")}
    if not per["Latency"]:
        return None
    fig, (ax, ax2) = plotter.figure(2)
    for i, (route, (t, v)) in enumerate(per["Latency"].items()):
        colour, name = f"C{i % 10}", route.replace(",Resource=", " ")
        plotter.step(ax, t, v, color=colour, label=f"{name} latency")
        if route in per["IntegrationLatency"]:
            it, iv = per["IntegrationLatency"][route]
            ax.plot(it / plotter.t_div, iv, drawstyle="steps-post", linestyle="--", color=colour,
                    label=f"{name} integration")
        n = np.maximum(per["Count"][route][1], 1)
        for metric, style in (("4XXError", ":"), ("5XXError", "-.")):
            if route in per[metric] and per[metric][route][1].sum() > 0:
                et, ev = per[metric][route]
                ax2.plot(et / plotter.t_div, 100 * ev / n, drawstyle="steps-post", linestyle=style, color=colour,
                         label=f"{name} {metric[:3]}")
        if route in per["CacheHitCount"]:
            ht, h = per["CacheHitCount"][route]
            s = h + per["CacheMissCount"][route][1]
            with np.errstate(invalid="ignore", divide="ignore"):
                ax2.plot(ht / plotter.t_div, np.where(s > 0, 100 * h / s, np.nan), drawstyle="steps-post",
                         color=colour, linewidth=2, alpha=0.5, label=f"{name} cache hits")
    return _over_shares(fig, ax, ax2, plotter, "latency, ms (mean)")


def _over_shares(fig, ax, ax2, plotter, ylabel: str) -> Figure:
    """A figure of something over time (`ax`, from 0) above shares of requests (`ax2`, 0-100 %)."""
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax2.set_ylabel("% of requests")
    ax2.set_ylim(0, 100)
    ax2.set_xlabel(plotter.t_label)
    plotter.legend(ax)
    plotter.legend(ax2)
    return fig


def tables_html(result: Result, cell, figure_html) -> str:
    """The DynamoDB section: capacity over time (when a table is in the summary)."""
    if not result.summary.get("tables"):
        return ""
    return ('<section id="dynamodb-over-time"><h2>DynamoDB over time</h2>'
            + figure_html("plot-dynamodb", "Consumed capacity against provisioned, and throttles") + "</section>")


def workflows_html(result: Result, cell, figure_html) -> str:
    """The Step Functions section: per state machine, its executions and transitions, and its
    projected month by usage type (the bill's monthly rows), with what a million executions cost."""
    machines = result.summary.get("state_machines")
    if not machines:
        return ""
    costs = result.costs.filter((pl.col("period") == "monthly") & (pl.col("service") == "AWSStepFunctions"))
    per = {(r["resource"], r["usage_type"]): r["unblended_cost_usd"]
           for r in costs.group_by("resource", "usage_type").agg(pl.col("unblended_cost_usd").sum())
           .iter_rows(named=True)}
    duration_s = float(result.summary.get("duration_s") or 0.0)
    month_s = float((result.config.get("billing") or {}).get("month_h", 730.0)) * 3600.0
    rows = ""
    for name, m in machines.items():
        parts = [per.get((f"state_machine:{name}", u), 0.0) for u in WORKFLOW_USAGE]
        month = sum(parts)
        executions = m.get("started") or 0
        per_million = month / (executions * month_s / duration_s) * 1e6 if executions and duration_s else None
        rows += (f"<tr><th>{html.escape(name)}</th><td>{html.escape(str(m.get('type', '')))}</td>"
                 f"{cell(f'state_machines.{name}.started', executions)}"
                 f"{cell(f'state_machines.{name}.state_transitions', m.get('state_transitions'))}"
                 f"{cell(f'state_machines.{name}.express_billing_units', m.get('express_billing_units'))}"
                 + "".join(f'<td class="num">{usd_text(v)}</td>' for v in [*parts, month])
                 + f'<td class="num">{"–" if per_million is None else usd_text(per_million)}</td></tr>')
    head = ("<tr><th>state machine</th><th>type</th><th>executions</th><th>state transitions</th>"
            "<th>Express units (100 ms × 64 MB)</th><th>transitions a month</th><th>requests a month</th>"
            "<th>GB-hours a month</th><th>a month</th><th>a million executions</th></tr>")
    return ('<section id="stepfunctions-bill"><h2>Step Functions: what each machine costs</h2>'
            "<p>Standard workflows pay per state transition, retries included; Express workflows per"
            " execution and per GB-hour of duration in 100 ms steps times memory in 64 MB chunks. A month"
            " is the run's usage projected to the billing month (the bill's monthly rows).</p>"
            f'<div class="scroll"><table id="table-stepfunctions-bill">{head}{rows}</table></div></section>')


def api_html(result: Result, cell, figure_html) -> str:
    """The API Gateway section: each route over time (when an API is in the summary)."""
    if not result.summary.get("apis"):
        return ""
    return ('<section id="apigateway-over-time"><h2>API Gateway over time</h2>'
            + figure_html("plot-api", "Latency, errors and cache hits per route") + "</section>")


CONTAINER_INSIGHTS, ELB = ("ECS/ContainerInsights",), ("AWS/ApplicationELB",)


def services_figure(result: Result, plotter) -> Optional[Figure]:
    """Per ECS service: running, pending and desired tasks over time (how far capacity lags the
    load), and the load balancer's 5XX answers as a share of its requests."""
    m = result.metrics
    per = {k: series(m, k, CONTAINER_INSIGHTS, "ServiceName=") for k in ("RunningTaskCount", "PendingTaskCount",
                                                                         "DesiredTaskCount")}
    elb = {k: series(m, k, ELB, "ServiceName=") for k in ("RequestCount", "HTTPCode_ELB_502_Count",
                                                          "HTTPCode_ELB_503_Count", "HTTPCode_ELB_504_Count")}
    if not per["RunningTaskCount"]:
        return None
    fig, (ax, ax2) = plotter.figure(2)
    for i, (name, (t, v)) in enumerate(per["RunningTaskCount"].items()):
        colour = f"C{i % 10}"
        plotter.step(ax, t, v, color=colour, label=f"{name} running")
        for metric, style in (("PendingTaskCount", ":"), ("DesiredTaskCount", "--")):
            if name in per[metric]:
                mt, mv = per[metric][name]
                ax.plot(mt / plotter.t_div, mv, drawstyle="steps-post", linestyle=style, color=colour,
                        label=f"{name} {metric[:-9].lower()}")
        n = np.maximum(elb["RequestCount"].get(name, (t, np.ones_like(t)))[1], 1)
        for metric, style in (("HTTPCode_ELB_502_Count", "-"), ("HTTPCode_ELB_503_Count", ":"),
                              ("HTTPCode_ELB_504_Count", "-.")):
            if name in elb[metric] and elb[metric][name][1].sum() > 0:
                et, ev = elb[metric][name]
                ax2.plot(et / plotter.t_div, 100 * ev / n, drawstyle="steps-post", linestyle=style, color=colour,
                         label=f"{name} {metric[13:16]}")
    return _over_shares(fig, ax, ax2, plotter, "tasks (mean per period)")


def services_html(result: Result, cell, figure_html) -> str:
    """The ECS services section: tasks against the load (when a service is in the summary)."""
    if not result.summary.get("services"):
        return ""
    return ('<section id="services-over-time"><h2>ECS services over time</h2>'
            + figure_html("plot-services", "Tasks running, starting and wanted; the load balancer's errors")
            + "</section>")


def outposts_html(result: Result, cell, figure_html) -> str:
    """The Outposts section: per rack and instance pool, its slots, what EC2 workloads took, and the
    ECS service on it; the workloads that did not fit."""
    outposts = result.summary.get("outposts")
    if not outposts:
        return ""
    rows = ""
    for name, o in outposts.items():
        for itype, p in (o.get("pools") or {}).items():
            base = f"outposts.{name}.pools.{itype}"
            rows += (f"<tr><th>{html.escape(name)}</th><td>{html.escape(itype)}</td>"
                     f"{cell(base + '.slots', p.get('slots'))}"
                     f"{cell(base + '.used_by_workloads', p.get('used_by_workloads'))}"
                     f"<td>{html.escape(str(p.get('service') or '–'))}</td>"
                     f"{cell(base + '.task_slots', p.get('task_slots'))}"
                     f"{cell(base + '.tasks_on_outpost_mean', p.get('tasks_on_outpost_mean'))}"
                     f"{cell(base + '.launches_unplaced', p.get('launches_unplaced'))}"
                     f"{cell(base + '.requests_served_in_region', p.get('requests_served_in_region'))}</tr>")
    away = "".join(
        f"<li>{html.escape(name)}: workload {html.escape(str(w['name']))} ({html.escape(w['instance_type'])}),"
        f" {w['placed']} placed, " + (f"{w['in_region']} in the Region" if w.get("in_region") else
                                      f"{w.get('refused', 0)} refused") + "</li>"
        for name, o in outposts.items() for w in (o.get("workloads") or ()) if w.get("in_region") or w.get("refused"))
    unbilled = [n for n, o in outposts.items() if not o.get("billed")]
    return ('<section id="outposts"><h2>Outposts: what runs on each rack</h2>'
            "<table><tr><th>Outpost</th><th>pool</th><th>slots</th><th>EC2 workloads</th><th>service</th>"
            "<th>task slots</th><th>tasks there (mean)</th><th>launches with no slot</th>"
            f"<th>requests served in the Region</th></tr>{rows}</table>"
            + (f"<p>Did not fit:</p><ul>{away}</ul>" if away else "")
            + (f"<p>Not in the bill (no <code>monthly_usd</code>): {html.escape(', '.join(unbilled))}.</p>"
               if unbilled else "") + "</section>")
