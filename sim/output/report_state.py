"""The report's sections for DynamoDB tables and API Gateway routes (issue "The front door and the
state"): consumed capacity against provisioned with the throttles, and each route's answers,
cache hit ratio and latency (the gateway's overhead on top of its integration's). Their summary
tables are the report's generic ones; these sections add the figures, when there is something
to draw."""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from sim.output.result import Result


def _series(metrics: Optional[pl.DataFrame], namespace: str, metric: str) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """dimension -> (period start s, value) of one metric."""
    if metrics is None or metrics.height == 0:
        return {}
    part = metrics.filter((pl.col("namespace") == namespace) & (pl.col("metric") == metric)).sort("time_s")
    return {d: (part.filter(pl.col("dimension") == d)["time_s"].to_numpy(),
                part.filter(pl.col("dimension") == d)["value"].to_numpy())
            for d in part["dimension"].unique(maintain_order=True).to_list()}


def capacity_figure(result: Result, plotter) -> Optional[Figure]:
    """Per table and direction: units consumed a second against the provisioned capacity (dashed),
    and the throttle events a second (red, right axis): the sawtooth of auto scaling on a ramp,
    the hot partition that throttles below the table's capacity."""
    m, div = result.metrics, plotter.period_s or 60.0  # per-period sums over the period: a rate
    tables = [(d, "Write") for d in _series(m, "AWS/DynamoDB", "ConsumedWriteCapacityUnits")]
    tables += [(d, "Read") for d in _series(m, "AWS/DynamoDB", "ConsumedReadCapacityUnits")]
    tables = [(d, x) for d, x in tables if _series(m, "AWS/DynamoDB", f"Consumed{x}CapacityUnits")[d][1].sum() > 0]
    if not tables:
        return None
    fig, ax = plotter.figure(1)
    ax2 = ax.twinx()
    for i, (dim, x) in enumerate(tables):
        name = f"{dim.partition('=')[2]} {x.lower()}"
        t, v = _series(m, "AWS/DynamoDB", f"Consumed{x}CapacityUnits")[dim]
        plotter.step(ax, t, v / div, color=f"C{i % 10}", label=f"{name} consumed")
        prov = _series(m, "AWS/DynamoDB", f"Provisioned{x}CapacityUnits").get(dim)
        if prov is not None:
            ax.plot(prov[0] / plotter.t_div, prov[1], drawstyle="steps-post", linestyle="--", color=f"C{i % 10}",
                    label=f"{name} provisioned")
        thr = _series(m, "AWS/DynamoDB", f"{x}ThrottleEvents").get(dim)
        if thr is not None and thr[1].sum() > 0:
            ax2.plot(thr[0] / plotter.t_div, thr[1] / div, drawstyle="steps-post", color="C3", linewidth=0.8,
                     alpha=0.7, label=f"{name} throttles")
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
    lat = _series(m, "AWS/ApiGateway", "Latency")
    if not lat:
        return None
    fig, (ax, ax2) = plotter.figure(2)
    integ = _series(m, "AWS/ApiGateway", "IntegrationLatency")
    count = _series(m, "AWS/ApiGateway", "Count")
    hits, misses = _series(m, "AWS/ApiGateway", "CacheHitCount"), _series(m, "AWS/ApiGateway", "CacheMissCount")
    for i, (dim, (t, v)) in enumerate(lat.items()):
        name = dim.replace("ApiName=", "").replace(",Resource=", " ")
        plotter.step(ax, t, v, color=f"C{i % 10}", label=f"{name} latency")
        if dim in integ:
            ax.plot(integ[dim][0] / plotter.t_div, integ[dim][1], drawstyle="steps-post", linestyle="--",
                    color=f"C{i % 10}", label=f"{name} integration")
        n = np.maximum(count[dim][1], 1)
        for j, (metric, style) in enumerate((("4XXError", ":"), ("5XXError", "-."))):
            e = _series(m, "AWS/ApiGateway", metric).get(dim)
            if e is not None and e[1].sum() > 0:
                ax2.plot(e[0] / plotter.t_div, 100 * e[1] / n, drawstyle="steps-post", linestyle=style,
                         color=f"C{i % 10}", label=f"{name} {metric[:3]}")
        if dim in hits:
            h, s = hits[dim][1], hits[dim][1] + misses[dim][1]
            with np.errstate(invalid="ignore", divide="ignore"):
                ax2.plot(hits[dim][0] / plotter.t_div, np.where(s > 0, 100 * h / s, np.nan), drawstyle="steps-post",
                         color=f"C{i % 10}", linewidth=2, alpha=0.5, label=f"{name} cache hits")
    ax.set_ylabel("latency, ms (mean)")
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


def api_html(result: Result, cell, figure_html) -> str:
    """The API Gateway section: each route over time (when an API is in the summary)."""
    if not result.summary.get("apis"):
        return ""
    return ('<section id="apigateway-over-time"><h2>API Gateway over time</h2>'
            + figure_html("plot-api", "Latency, errors and cache hits per route") + "</section>")
