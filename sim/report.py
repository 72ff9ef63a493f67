"""The HTML report of one run: a single self-contained page with its plots inlined as PNG."""

from __future__ import annotations

import base64
import html
import io
import json
import math
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np
import polars as pl
import yaml
from matplotlib.figure import Figure

from sim.console import service_label
from sim.result import Result
from sim.writers import json_safe

LAMBDA = "AWS/Lambda"
EXTRA = "cloudtwin/Lambda"
FN_PREFIX = "FunctionName="
SQS = "AWS/SQS"
QUEUE_PREFIX = "QueueName="

# Every figure the report has, in page order: (id, title). A figure whose data is missing
# is still present, holding a note instead of an image.
FIGURES: List[Tuple[str, str]] = [
    ("plot-invocations", "Invocations and throttles"),
    ("plot-concurrency", "Concurrency against its limit"),
    ("plot-cold-starts", "Cold starts"),
    ("plot-duration", "Duration over time"),
    ("plot-latency-percentiles", "Latency percentiles"),
    ("plot-latency-histogram", "Latency of sampled requests"),
    ("plot-queue-backlog", "Queue backlog: messages visible (solid) and in flight (dashed)"),
]
FIGURE_IDS = [fid for fid, _ in FIGURES]

_RUN_KEYS = ["scenario", "seed", "duration_s", "requests_simulated", "wall_s", "requests_per_wall_s"]
_PERCENTILES = [("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9), ("max", 100)]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;
color:#222;padding:0 1rem}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.25rem .6rem}td.num{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f5f5f5;text-align:left}
.scroll{overflow-x:auto}
figure{margin:1rem 0 2rem}figure img{max-width:100%}
figcaption{font-weight:600;margin-bottom:.3rem}
.note{color:#777;font-style:italic}
pre{background:#f7f7f7;padding:.8rem;overflow-x:auto;font-size:.85rem}
"""


# ---------------------------------------------------------------- formatting

def _fmt(value: Any) -> str:
    """A number for a table cell: integers with separators, floats to 4 significant digits."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    x = float(value)
    if math.isnan(x):
        return "–"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    if abs(x) >= 1000:
        return f"{x:,.1f}"
    return f"{x:.4g}"


def _usd(value: Any) -> str:
    """Money: dollars and cents (a unit cost below a dollar keeps four significant digits)."""
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
        return _fmt(value)
    x = float(value)
    return f"{x:.4g}" if 0 < abs(x) < 1 else f"{x:,.2f}"


def _cell(key: str, value: Any, tag: str = "td") -> str:
    """A table cell carrying `data-key` and the exact JSON value in `data-value`."""
    raw = html.escape(json.dumps(json_safe(value)), quote=True)
    cls = ' class="num"' if isinstance(value, (int, float, np.integer, np.floating)) else ""
    text = _usd(value) if key.startswith("cost_usd.") or key.endswith("_usd") else _fmt(value)
    return (
        f'<{tag}{cls} data-key="{html.escape(key, quote=True)}" data-value="{raw}">'
        f"{html.escape(text)}</{tag}>"
    )


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


# ---------------------------------------------------------------- summary tables

def _run_table(summary: Mapping[str, Any]) -> str:
    """Run info: the run-level scalars of the summary, one row each."""
    keys = [k for k in _RUN_KEYS if k in summary]
    keys += [
        k for k, v in summary.items()
        if k not in keys and not isinstance(v, (Mapping, list)) and k != "cost_usd"
    ]
    rows = "".join(f"<tr><th>{html.escape(k)}</th>{_cell(k, summary[k])}</tr>" for k in keys)
    return f'<table id="run-info">{rows}</table>'


def _section_table(section: str, entities: Mapping[str, Mapping[str, Any]]) -> str:
    """One section (functions, queues, …): a row per quantity, a column per entity."""
    flat = {name: _flatten(v) for name, v in entities.items() if isinstance(v, Mapping)}
    keys: List[str] = []
    for fields in flat.values():
        keys += [k for k in fields if k not in keys]
    head = "<tr><th></th>" + "".join(f"<th>{html.escape(n)}</th>" for n in flat) + "</tr>"
    body = ""
    for k in keys:
        cells = "".join(
            _cell(f"{section}.{name}.{k}", fields.get(k)) for name, fields in flat.items()
        )
        body += f"<tr><th>{html.escape(k)}</th>{cells}</tr>"
    return (
        f'<div class="scroll"><table id="table-{html.escape(section)}">{head}{body}</table></div>'
    )


def _summary_html(summary: Mapping[str, Any]) -> str:
    """The run table plus one table per dict-of-dicts section of the summary."""
    parts = ['<section id="summary"><h2>Summary</h2>', _run_table(summary)]
    for section, value in summary.items():
        if section in ("cost_usd", "vpcs") or not isinstance(value, Mapping) or not value:  # vpcs: _vpc_html
            continue
        if all(isinstance(v, Mapping) for v in value.values()):
            parts.append(f"<h3>{html.escape(section)}</h3>")
            parts.append(_section_table(section, value))
    parts.append("</section>")
    return "".join(parts)


def _cost_html(result: Result) -> str:
    """The Cost section: totals, a breakdown by usage type, cost over time, line items."""
    parts = ['<section id="cost"><h2>Cost</h2>']
    cost = result.summary.get("cost_usd")
    if cost:
        rows = "".join(
            f"<tr><th>{label}</th>{_cell(f'cost_usd.{k}', cost[k])}</tr>"
            for k, label in (("monthly", "projected month (USD)"), ("total", "simulated period (USD)"))
            if k in cost
        )
        for svc, v in (cost.get("by_service") or {}).items():
            for k in ("monthly", "total"):
                if isinstance(v, Mapping) and k in v:
                    rows += (f"<tr><th>{html.escape(service_label(svc))}, {k} (USD)</th>"
                             f"{_cell(f'cost_usd.by_service.{svc}.{k}', v[k])}</tr>")
        for k, v in (cost.get("unit") or {}).items():
            rows += f"<tr><th>{html.escape(k)} (USD)</th>{_cell(f'cost_usd.unit.{k}', v)}</tr>"
        parts.append(f'<table id="cost-summary">{rows}</table>')
    costs = result.costs
    if costs is not None and costs.height > 0:
        parts.append(_breakdown_html(costs))
        parts.append(_figure_html("plot-cost-over-time", "Cost over time", _Plotter(result).cost_over_time))
        head = "".join(f"<th>{html.escape(c)}</th>" for c in costs.columns)
        body = ""
        for i, row in enumerate(costs.iter_rows(named=True)):
            body += "<tr>" + "".join(_cell(f"costs.{i}.{c}", row[c]) for c in costs.columns) + "</tr>"
        parts.append(
            f'<details><summary>line items ({costs.height})</summary><div class="scroll">'
            f'<table id="cost-items"><tr>{head}</tr>{body}</table></div></details>'
        )
    elif not cost:
        parts.append('<p class="note">This run has no bill.</p>')
    parts.append("</section>")
    return "".join(parts)


def _breakdown_html(costs) -> str:
    """Where the projected month's money goes: one row per service and usage type."""
    import polars as pl

    g = (costs.filter(pl.col("period") == "monthly")
         .group_by("service", "usage_type", "unit", maintain_order=True)
         .agg(pl.col("usage_amount").sum(), pl.col("unblended_cost_usd").sum())
         .sort("unblended_cost_usd", descending=True))
    whole = float(g["unblended_cost_usd"].sum()) or 1.0
    body = "".join(
        f"<tr><td>{html.escape(service_label(r['service']))}</td><td>{html.escape(r['usage_type'])}</td>"
        f"<td>{_fmt(r['usage_amount'])} {html.escape(r['unit'])}</td><td>{_usd(r['unblended_cost_usd'])}</td>"
        f"<td>{100 * r['unblended_cost_usd'] / whole:.1f} %</td></tr>"
        for r in g.iter_rows(named=True)
    )
    return ('<table id="cost-breakdown"><tr><th>service</th><th>usage type</th><th>monthly usage</th>'
            f"<th>monthly cost (USD)</th><th>share</th></tr>{body}</table>")


# ---------------------------------------------------------------- metric access

def _function_series(
    metrics: pl.DataFrame, metric: str, namespaces=(LAMBDA, EXTRA), prefix: str = FN_PREFIX
) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """Per function (or other dimension `prefix`) name: (time_s, value) of `metric`, by time."""
    if metrics is None or metrics.height == 0 or "metric" not in metrics.columns:
        return {}
    rows = metrics.filter(
        (pl.col("metric") == metric)
        & pl.col("namespace").is_in(list(namespaces))
        & pl.col("dimension").str.starts_with(prefix)
    ).sort("time_s")
    out: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
    for dim in rows["dimension"].unique(maintain_order=True).to_list():
        part = rows.filter(pl.col("dimension") == dim)
        out[dim[len(prefix):]] = (
            part["time_s"].to_numpy().astype(float),
            part["value"].to_numpy().astype(float),
        )
    return out


def _period_s(result: Result) -> Optional[float]:
    """The recording period: from the resolved config, else the spacing of metric times."""
    period = (result.config.get("record") or {}).get("period_s")
    if period:
        return float(period)
    if result.metrics is not None and result.metrics.height > 1:
        t = np.unique(result.metrics["time_s"].to_numpy())
        if len(t) > 1:
            return float(np.min(np.diff(t)))
    return None


def _time_axis(result: Result) -> Tuple[float, str]:
    """(divisor, label) that puts the run's time axis in s, min or h."""
    horizon = float(result.summary.get("duration_s") or 0.0)
    if not horizon and result.metrics is not None and result.metrics.height:
        horizon = float(result.metrics["time_s"].max())
    if horizon >= 4 * 3600:
        return 3600.0, "time (h)"
    if horizon >= 600:
        return 60.0, "time (min)"
    return 1.0, "time (s)"


# ---------------------------------------------------------------- plots

class _Plotter:
    """Draws the report's figures with consistent colours per function."""

    # A limit more than this many times the largest value drawn is noted, not drawn.
    OFF_SCALE = 4.0

    def __init__(self, result: Result):
        self.result = result
        names = list((result.summary.get("functions") or {}).keys())
        for metric in ("Invocations", "ConcurrentExecutions"):
            names += [n for n in _function_series(result.metrics, metric) if n not in names]
        self.names = names
        self.t_div, self.t_label = _time_axis(result)
        self.period_s = _period_s(result)

    def colour(self, name: str) -> str:
        i = self.names.index(name) if name in self.names else len(self.names)
        return f"C{i % 10}"

    def _figure(self, rows: int = 1) -> Tuple[Figure, Any]:
        height_in = 3.4 if rows == 1 else 0.7 + 1.9 * rows
        fig = Figure(figsize=(10.0, height_in), dpi=100)
        fig.subplots_adjust(left=0.08, right=0.76, bottom=0.6 / height_in,
                            top=1 - 0.2 / height_in, hspace=0.35)
        axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
        return fig, axes if rows > 1 else axes[0]

    @staticmethod
    def _legend(ax) -> None:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  borderaxespad=0.0, frameon=False)

    def _step(self, ax, t: np.ndarray, v: np.ndarray, **kw) -> None:
        """Per-period values as steps, the last one drawn to its period's end."""
        if len(t) and self.period_s:
            t = np.append(t, t[-1] + self.period_s)
            v = np.append(v, v[-1])
        ax.plot(t / self.t_div, v, drawstyle="steps-post", **kw)

    def _per_period(self) -> str:
        return f"per {self.period_s:g} s" if self.period_s else "per period"

    def invocations(self) -> Optional[Figure]:
        inv = _function_series(self.result.metrics, "Invocations")
        thr = _function_series(self.result.metrics, "Throttles")
        if not inv and not thr:
            return None
        fig, ax = self._figure()
        for name, (t, v) in inv.items():
            self._step(ax, t, v, color=self.colour(name), label=f"{name} invocations")
        for name, (t, v) in thr.items():
            self._step(ax, t, v, color=self.colour(name), linestyle="--", label=f"{name} throttles")
        ax.set_xlabel(self.t_label)
        ax.set_ylabel(f"count {self._per_period()}")
        ax.set_ylim(bottom=0)
        self._legend(ax)
        return fig

    def _limit(self, name: str) -> Optional[Tuple[np.ndarray, np.ndarray, str]]:
        """The concurrency limit of function `name`: a recorded metric, else its reservation."""
        for metric, label in (("ReservedConcurrency", "reserved"), ("ConcurrencyLimit", "limit")):
            s = _function_series(self.result.metrics, metric).get(name)
            if s is not None:
                return s[0], s[1], label
        reserved = ((self.result.config.get("functions") or {}).get(name) or {}).get(
            "reserved_concurrency")
        if reserved is not None:
            return np.array([0.0]), np.array([float(reserved)]), "reserved"
        return None

    def concurrency(self) -> Optional[Figure]:
        conc = _function_series(self.result.metrics, "ConcurrentExecutions")
        if not conc:
            return None
        fig, axes = self._figure(len(conc))
        axes = axes if len(conc) > 1 else [axes]
        provisioned = _function_series(self.result.metrics, "ProvisionedConcurrentExecutions")
        t_end = float(self.result.summary.get("duration_s") or 0.0)
        for ax, (name, (t, v)) in zip(axes, conc.items()):
            self._step(ax, t, v, color=self.colour(name), label="max concurrency")
            top = float(np.nanmax(v)) if len(v) else 0.0
            pc = provisioned.get(name)
            if pc is not None and np.any(pc[1] > 0):
                self._step(ax, pc[0], pc[1], color="C2", linestyle="-.", label="provisioned")
                top = max(top, float(np.nanmax(pc[1])))
            limit = self._limit(name)
            if limit is not None:
                lt, lv, label = limit
                peak = float(np.nanmax(lv))
                if top > 0 and peak > self.OFF_SCALE * top:
                    label = f"{label} {peak:,.0f} (off scale)"
                    ax.plot([], [], color="C3", linestyle=":", label=label)
                elif len(lt) == 1 and t_end > lt[0]:  # a constant: draw it across the run
                    ax.plot(np.array([lt[0], t_end]) / self.t_div, [lv[0], lv[0]], color="C3",
                            linestyle=":", label=label)
                else:
                    self._step(ax, lt, lv, color="C3", linestyle=":", label=label)
            ax.set_ylim(bottom=0)
            ax.set_title(name, fontsize="medium", loc="left")
            ax.set_ylabel("environments")
            self._legend(ax)
        axes[-1].set_xlabel(f"{self.t_label}; concurrency is the max {self._per_period()}")
        return fig

    def cold_starts(self) -> Optional[Figure]:
        cold = _function_series(self.result.metrics, "ColdStarts")
        if not cold:
            return None
        fig, ax = self._figure()
        for name, (t, v) in cold.items():
            self._step(ax, t, v, color=self.colour(name), label=name)
        ax.set_xlabel(self.t_label)
        ax.set_ylabel(f"cold starts {self._per_period()}")
        ax.set_ylim(bottom=0)
        self._legend(ax)
        return fig

    def duration(self) -> Optional[Figure]:
        series = [
            (metric, style, _function_series(self.result.metrics, metric))
            for metric, style in (("Duration.p99", "--"), ("Duration", ":"), ("Duration.p50", "-"))
        ]
        if not any(s for _, _, s in series):
            return None
        fig, ax = self._figure()
        positive = False
        for metric, style, per_fn in series:
            label = "mean" if metric == "Duration" else metric.split(".")[1]
            for name, (t, v) in per_fn.items():
                self._step(ax, t, v, color=self.colour(name), linestyle=style,
                           label=f"{name} {label}")
                positive |= bool(np.any(v > 0))
        if positive:
            ax.set_yscale("log")
        ax.set_xlabel(self.t_label)
        ax.set_ylabel(f"duration (ms), {self._per_period()}")
        self._legend(ax)
        return fig

    def latency_percentiles(self) -> Optional[Figure]:
        functions = self.result.summary.get("functions") or {}
        rows = {
            name: f.get("latency_ms") for name, f in functions.items()
            if isinstance(f, Mapping) and f.get("latency_ms")
        }
        if not rows:
            return None
        fig, ax = self._figure()
        labels = [k for k, _ in _PERCENTILES]
        positive = False
        for name, lat in rows.items():
            ys = [_finite(lat.get(k)) for k in labels]
            ax.plot(range(len(labels)), ys, marker="o", color=self.colour(name), label=name)
            positive |= any(y > 0 for y in ys if not math.isnan(y))
            mean = _finite(lat.get("mean"))
            if not math.isnan(mean):
                ax.axhline(mean, color=self.colour(name), linestyle=":", linewidth=1,
                           label=f"{name} mean")
        ax.set_xticks(range(len(labels)), [f"p{x:g}" if x < 100 else "max" for _, x in _PERCENTILES])
        if positive:
            ax.set_yscale("log")
        ax.set_xlabel("percentile over the run")
        ax.set_ylabel("latency (ms)")
        self._legend(ax)
        return fig

    def cost_over_time(self) -> Optional[Figure]:
        """Cost per period by usage type, stacked (the simulated period's bill, spread)."""
        import polars as pl

        m = self.result.metrics.filter((pl.col("namespace") == "cloudtwin/Billing") & (pl.col("metric") == "CostUSD"))
        if m.height == 0:
            return None
        wide = m.pivot(on="dimension", index="time_s", values="value", aggregate_function="sum").sort("time_s").fill_null(0)
        cols = [c for c in wide.columns if c != "time_s" and float(wide[c].sum()) > 0]
        if not cols:
            return None
        fig, ax = self._figure()
        t = wide["time_s"].to_numpy() / self.t_div
        ax.stackplot(t, *[wide[c].to_numpy() for c in cols], step="post",
                     labels=[c.split("UsageType=")[-1] for c in cols])
        ax.set_ylabel(f"USD {self._per_period()}")
        ax.set_xlabel(self.t_label)
        self._legend(ax)
        return fig

    def queue_backlog(self) -> Optional[Figure]:
        """ApproximateNumberOfMessagesVisible and ...NotVisible per queue, at each period's end."""
        visible = _function_series(self.result.metrics, "ApproximateNumberOfMessagesVisible", (SQS,), QUEUE_PREFIX)
        if not visible:
            return None
        flight = _function_series(self.result.metrics, "ApproximateNumberOfMessagesNotVisible", (SQS,), QUEUE_PREFIX)
        fig, ax = self._figure()
        for i, (name, (t, v)) in enumerate(visible.items()):
            colour = f"C{i % 10}"
            end = t + (self.period_s or 0.0)  # a snapshot at the period's end
            ax.plot(end / self.t_div, v, color=colour, label=f"{name} visible")
            if name in flight:
                ax.plot(end / self.t_div, flight[name][1], color=colour, linestyle="--", label=f"{name} in flight")
        ax.set_xlabel(self.t_label)
        ax.set_ylabel("messages")
        ax.set_ylim(bottom=0)
        self._legend(ax)
        return fig

    def latency_histogram(self) -> Optional[Figure]:
        req = self.result.requests
        if req is None or req.height == 0 or "latency_ms" not in req.columns:
            return None
        lat = req["latency_ms"].cast(pl.Float64).to_numpy()
        ok = np.isfinite(lat) & (lat > 0)  # throttled attempts have no latency
        if not ok.any():
            return None
        lo, hi = float(lat[ok].min()), float(lat[ok].max())
        bins = np.geomspace(lo, hi * 1.0001, 60) if hi > lo else 20
        fig, ax = self._figure()
        group = next((c for c in ("function", "fn") if c in req.columns), None)
        if group is None:
            ax.hist(lat[ok], bins=bins, color="C0", label="all functions")
        else:
            keys = req[group].to_numpy()
            # An integer `fn` column indexes the functions in scenario order.
            labels = dict(enumerate(self.names)) if group == "fn" else {}
            for key in dict.fromkeys(keys[ok].tolist()):
                name = labels.get(key, str(key))
                sel = ok & (keys == key)
                ax.hist(lat[sel], bins=bins, histtype="step", linewidth=1.5,
                        color=self.colour(name), label=f"{name} ({int(sel.sum()):,})")
        if isinstance(bins, np.ndarray):
            ax.set_xscale("log")
        ax.set_xlabel("latency (ms)")
        ax.set_ylabel("sampled requests")
        self._legend(ax)
        return fig


def _finite(value: Any) -> float:
    """`value` as a float, NaN when missing or infinite."""
    if value is None:
        return math.nan
    x = float(value)
    return x if math.isfinite(x) else math.nan


def _png_data_uri(fig: Figure) -> str:
    """The figure as an inline base64 PNG."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


_NOTES = {
    "plot-invocations": "no Invocations or Throttles metrics were recorded",
    "plot-concurrency": "no ConcurrentExecutions metric was recorded",
    "plot-cold-starts": "no ColdStarts metric was recorded",
    "plot-duration": "no Duration metrics were recorded",
    "plot-latency-percentiles": "the summary has no latency percentiles",
    "plot-cost-over-time": "no cost was metered",
    "plot-queue-backlog": "the scenario has no SQS queues",
    "plot-latency-histogram": (
        "no requests were sampled (set record.requests.sample or record.requests.first_n)"
    ),
}


def _figure_html(fid: str, title: str, draw: Callable[[], Optional[Figure]]) -> str:
    """A <figure> with the plot, or with a note saying why there is none."""
    fig = draw()
    if fig is None:
        body = f'<p class="note">Not shown: {html.escape(_NOTES[fid])}.</p>'
        state = "empty"
    else:
        body = f'<img src="{_png_data_uri(fig)}" alt="{html.escape(title, quote=True)}">'
        state = "plot"
    return (
        f'<figure id="{fid}" data-state="{state}"><figcaption>{html.escape(title)}</figcaption>'
        f"{body}</figure>"
    )


def _plots_html(result: Result) -> str:
    """Every figure in FIGURES, in order."""
    p = _Plotter(result)
    draw = {
        "plot-invocations": p.invocations,
        "plot-concurrency": p.concurrency,
        "plot-cold-starts": p.cold_starts,
        "plot-duration": p.duration,
        "plot-latency-percentiles": p.latency_percentiles,
        "plot-latency-histogram": p.latency_histogram,
        "plot-queue-backlog": p.queue_backlog,
    }
    figures = "".join(_figure_html(fid, title, draw[fid]) for fid, title in FIGURES)
    return f'<section id="plots"><h2>Over time and distributions</h2>{figures}</section>'


def _config_html(config: Mapping[str, Any]) -> str:
    """The resolved scenario as YAML, folded."""
    if not config:
        return ""
    text = yaml.safe_dump(json_safe(dict(config)), sort_keys=False, allow_unicode=True)
    return (
        '<section id="config"><h2>Scenario</h2><details><summary>resolved config</summary>'
        f"<pre>{html.escape(text)}</pre></details></section>"
    )


def _vpc_html(summary: Mapping[str, Any]) -> str:
    """The VPC section: per VPC its flow totals, then accepted/rejected flows per deciding rule."""
    vpcs = summary.get("vpcs")
    if not vpcs:
        return ""
    parts = ['<section id="vpcs"><h2>VPC flows</h2>']
    for name, v in vpcs.items():
        esc = html.escape(name)
        parts.append(f"<h3>{esc}</h3>")
        rows = "".join(f"<tr><th>{k}</th>{_cell(f'vpcs.{name}.{k}', v[k])}</tr>"
                       for k in ("flows", "accepted", "rejected", "bytes_accepted", "flow_log_records") if k in v)
        parts.append(f'<table id="vpc-{esc}-totals">{rows}</table>')
        rules = v.get("rules") or {}
        if rules:
            body = "".join(
                f"<tr><td>{html.escape(k)}</td>{_cell(f'vpcs.{name}.rules.{k}.accepted', c['accepted'])}"
                f"{_cell(f'vpcs.{name}.rules.{k}.rejected', c['rejected'])}</tr>"
                for k, c in rules.items())
            parts.append(f'<div class="scroll"><table id="vpc-{esc}-rules"><tr><th>deciding rule or step</th>'
                         f"<th>accepted</th><th>rejected</th></tr>{body}</table></div>")
        else:
            parts.append('<p class="note">No flow met this VPC.</p>')
    parts.append("</section>")
    return "".join(parts)


def build_report(result: Result) -> str:
    """The whole report of `result` as one HTML page (no external resources)."""
    s = result.summary
    name = html.escape(str(s.get("scenario", result.config.get("name", "run"))))
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>cloudtwin: {name}</title>'
        f"<style>{_CSS}</style></head><body>"
        f"<h1>cloudtwin run: {name}</h1>"
        f"{_summary_html(s)}{_vpc_html(s)}{_plots_html(result)}{_cost_html(result)}{_config_html(result.config)}"
        "</body></html>\n"
    )
