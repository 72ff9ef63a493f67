"""The HTML report of a sweep: its arms compared, cost against p99, and each metric against each parameter."""

from __future__ import annotations

import base64
import html
import io
import json
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from sim.report import _CSS as RUN_CSS
from sim.sweep import stats

_CSS = RUN_CSS + """
td.front{font-weight:600}
.pm{color:#777}
"""


def _num(value: Any) -> str:
    """A number for the page: four significant digits, separators from 1,000 up; '–' if missing."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    x = float(value)
    if not math.isfinite(x):
        return "–"
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:,.1f}" if abs(x) >= 1000 else f"{x:.4g}"


def short(key: str) -> str:
    """A parameter or metric name without the prefixes every one shares ('scenario.', 'functions.')."""
    for prefix in ("override.", "scenario.", "functions."):
        key = key[len(prefix):] if key.startswith(prefix) else key
    return key


def _cell(key: str, value: Any, text: Optional[str] = None, cls: str = "") -> str:
    """A table cell carrying `data-key` and its exact value in `data-value`."""
    v = None if isinstance(value, float) and not math.isfinite(value) else value
    raw = html.escape(json.dumps(v, default=str), quote=True)
    num = isinstance(value, (int, float)) and not isinstance(value, bool)
    classes = " ".join(c for c in ("num" if num else "", cls) if c)
    attr = f' class="{classes}"' if classes else ""
    return (f'<td{attr} data-key="{html.escape(key, quote=True)}" data-value="{raw}">'
            f"{text if text is not None else html.escape(_num(value))}</td>")


def _mean_ci_text(mean: float, half: float) -> str:
    """'mean ± half' (just the mean when there is no interval)."""
    if not math.isfinite(half):
        return html.escape(_num(mean))
    return f'{html.escape(_num(mean))} <span class="pm">± {html.escape(_num(half))}</span>'


def _png(fig: Figure) -> str:
    """The figure as an inline base64 PNG."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(fid: str, title: str, fig: Optional[Figure], note: str) -> str:
    """A <figure> with the plot, or with a note saying why there is none."""
    if fig is None:
        body, state = f'<p class="note">Not shown: {html.escape(note)}.</p>', "empty"
    else:
        body, state = f'<img src="{_png(fig)}" alt="{html.escape(title, quote=True)}">', "plot"
    return (f'<figure id="{fid}" data-state="{state}"><figcaption>{html.escape(title)}</figcaption>'
            f"{body}</figure>")


def _label(row: Dict[str, Any], params: Sequence[str]) -> str:
    """An arm's name: its parameter values, 'key=value' joined by commas."""
    return ", ".join(f"{short(p)}={_num(row[p])}" for p in params) or "all runs"


# ---------------------------------------------------------------- Pareto

def _functions(metrics: Sequence[str]) -> List[str]:
    """Function names that have a p99 among the key metrics."""
    return [m.split(".")[1] for m in metrics if m.startswith("functions.") and m.endswith(".latency_ms.p99")]


def _fronts(table: pl.DataFrame, functions: Sequence[str]) -> Dict[str, np.ndarray]:
    """Per function: which arms are on the (p99, monthly cost) Pareto front."""
    if "cost_usd.monthly.mean" not in table.columns:
        return {}
    cost = table["cost_usd.monthly.mean"].to_numpy()
    return {f: stats.pareto_front(table[f"functions.{f}.latency_ms.p99.mean"].to_numpy(), cost)
            for f in functions}


def _pareto_plot(table: pl.DataFrame, params: Sequence[str], fronts: Dict[str, np.ndarray]) -> Optional[Figure]:
    """Monthly cost against each function's p99, one panel per function, the front drawn in red."""
    if not fronts:
        return None
    fig = Figure(figsize=(10.0, 4.2), dpi=100)
    axes = fig.subplots(1, len(fronts), squeeze=False)[0]
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.9, wspace=0.3)
    rows = table.to_dicts()
    cost, cost_ci = table["cost_usd.monthly.mean"].to_numpy(), table["cost_usd.monthly.ci"].to_numpy()
    for ax, (f, front) in zip(axes, fronts.items()):
        x = table[f"functions.{f}.latency_ms.p99.mean"].to_numpy()
        xerr = np.nan_to_num(table[f"functions.{f}.latency_ms.p99.ci"].to_numpy())
        ax.errorbar(x, cost, xerr=xerr, yerr=np.nan_to_num(cost_ci), fmt="o", color="C0",
                    ecolor="#999", capsize=2, label="arm (mean ± 95 % CI)")
        order = np.argsort(x[front])
        ax.plot(x[front][order], cost[front][order], "-o", color="C3", mfc="none", ms=10,
                label="Pareto front")
        if len(rows) <= 30:
            for xi, yi, row in zip(x, cost, rows):
                ax.annotate(_label(row, params), (xi, yi), fontsize=7, xytext=(4, 4),
                            textcoords="offset points")
        ax.set_xlabel(f"{f} p99 latency (ms)")
        ax.set_ylabel("monthly cost (USD)")
        ax.legend(fontsize="small")
    return fig


# ---------------------------------------------------------------- metric against parameter

# Series drawn with their own colour and a legend entry; beyond this many, one colour map
# and no legend (the comparison table names every arm).
MAX_LABELLED_SERIES = 10


def _levels(table: pl.DataFrame, param: str) -> List[Any]:
    """The distinct values of `param` among the arms, in natural order (see sim.sweep.stats.natural_key)."""
    return sorted(set(table[param].to_list()), key=stats.natural_key)


def _series(table: pl.DataFrame, others: Sequence[str]) -> List[Tuple[str, pl.DataFrame]]:
    """The arms split by the values of the `others` parameters: (label, arms), in natural order."""
    if not others:
        return [("", table)]
    parts = []
    for key, part in table.group_by(list(others), maintain_order=True):
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{short(p)}={_num(v)}" for p, v in zip(others, key))
        parts.append((tuple(stats.natural_key(v) for v in key), label, part))
    return [(label, part) for _, label, part in sorted(parts, key=lambda t: t[0])]


def _param_plot(table: pl.DataFrame, param: str, params: Sequence[str], metrics: Sequence[str]) -> Figure:
    """Each key metric against `param` (one panel per metric), one series per combination of the other parameters.

    A numeric parameter is drawn on a numeric axis (log 2 when its values span 8x or more),
    its arms joined by lines; any other (text, booleans, a mix with null) as categories in
    natural order, points only, the series side by side so their intervals do not hide
    each other. Error bars: the 95 % CI of each arm's mean. Up to MAX_LABELLED_SERIES
    series get a legend below the panels; more share a colour map without one.
    """
    others = [p for p in params if p != param]
    series = _series(table, others)
    labelled = bool(others) and len(series) <= MAX_LABELLED_SERIES
    numeric = table[param].dtype.is_numeric()
    levels = _levels(table, param)
    cols = min(3, len(metrics))
    rows_n = math.ceil(len(metrics) / cols)
    legend_rows = math.ceil(len(series) / min(len(series), 3)) if labelled else 0
    bottom_in, top_in = 0.65 + 0.22 * legend_rows + (0.25 if not numeric else 0.0), 0.45
    height_in = bottom_in + top_in + 2.7 * rows_n + 0.5 * (rows_n - 1)
    fig = Figure(figsize=(10.0, height_in), dpi=100)
    axes = fig.subplots(rows_n, cols, squeeze=False).ravel()
    fig.subplots_adjust(left=0.08, right=0.98, bottom=bottom_in / height_in, top=1 - top_in / height_in,
                        wspace=0.35, hspace=0.5 / 2.7)
    if numeric:
        values = np.asarray([v for v in levels if v is not None], dtype=float)
        log_x = bool(len(values)) and values.min() > 0 and values.max() / values.min() >= 8
    else:
        position = {stats.natural_key(v): i for i, v in enumerate(levels)}
        width = min(0.25, 0.6 / len(series))
    for ax, m in zip(axes, metrics):
        drawn = False
        for i, (label, part) in enumerate(series):
            color = f"C{i % 10}" if len(series) <= MAX_LABELLED_SERIES else _cmap(i, len(series))
            y = part[f"{m}.mean"].to_numpy().astype(float)
            err = np.nan_to_num(part[f"{m}.ci"].to_numpy().astype(float))
            if numeric:
                part_x = part[param].to_numpy().astype(float)
                order = np.argsort(part_x, kind="stable")
                x, y, err, fmt = part_x[order], y[order], err[order], "-o"
            else:
                x = np.asarray([position[stats.natural_key(v)] for v in part[param].to_list()], dtype=float)
                order = np.argsort(x, kind="stable")
                x = x[order] + (i - (len(series) - 1) / 2) * width
                y, err, fmt = y[order], err[order], "o"
            drawn |= bool(np.isfinite(y).any())
            ax.errorbar(x, y, yerr=err, fmt=fmt, ms=4, capsize=3, color=color,
                        label=label if labelled else None)
        if not drawn:
            ax.text(0.5, 0.5, "no value in any arm", transform=ax.transAxes, ha="center",
                    va="center", color="#777", fontsize="small")
        if numeric:
            if log_x:
                ax.set_xscale("log", base=2)
            if len(values) <= 10:  # the swept values themselves, written out
                ax.set_xticks(values, [_num(v) for v in values], fontsize="small",
                              rotation=45 if len(values) > 4 else 0)
                ax.minorticks_off()
        else:
            ax.set_xticks(range(len(levels)), [_num(v) for v in levels], fontsize="small",
                          rotation=45 if len(levels) > 4 else 0)
            ax.set_xlim(-0.5, len(levels) - 0.5)
        ax.set_xlabel(short(param))
        ax.set_title(short(m), fontsize="medium")
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    if labelled:
        fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=min(len(series), 3),
                   fontsize="small", frameon=False, bbox_to_anchor=(0.5, 0.0))
    elif len(series) > 1:
        fig.text(0.5, 0.01, f"{len(series)} series, one per combination of "
                 f"{', '.join(short(p) for p in others)} (not labelled: see the table of arms)",
                 ha="center", va="bottom", fontsize="small", color="#555")
    return fig


def _cmap(i: int, n: int):
    """The i-th of n colours along viridis."""
    from matplotlib import colormaps

    return colormaps["viridis"](i / max(n - 1, 1))


# ---------------------------------------------------------------- tables

def _info(df: pl.DataFrame, table: pl.DataFrame, params: Sequence[str], skipped: int = 0) -> str:
    """What was swept: jobs (and jobs left out), arms, seeds per arm, swept and fixed overrides."""
    seeds = sorted(set(df["seed"].to_list())) if "seed" in df.columns else []
    runs = table["runs"].to_list()
    rows = [("jobs", df.height if not skipped else f"{df.height} (and {skipped} left out: they did not finish)"),
            ("arms", table.height),
            ("runs per arm", f"{min(runs)}–{max(runs)}" if min(runs) != max(runs) else runs[0]),
            ("seeds", ", ".join(map(str, seeds[:20])) + (" …" if len(seeds) > 20 else "")),
            ("swept", ", ".join(params) or "nothing but the seed")]
    rows += [(f"fixed: {k}", v) for k, v in stats.fixed_overrides(df).items()]
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_num(v))}</td></tr>"
                   for k, v in rows)
    return f'<table id="sweep-info">{body}</table>'


def _comparison(table: pl.DataFrame, params: Sequence[str], metrics: Sequence[str],
                fronts: Dict[str, np.ndarray]) -> str:
    """One row per arm: its parameters, runs, mean ± 95 % CI of each key metric, its Pareto fronts."""
    head = ("".join(f"<th>{html.escape(short(p))}</th>" for p in params) + "<th>runs</th>"
            + "".join(f"<th>{html.escape(short(m))}</th>" for m in metrics)
            + ("<th>on the cost–p99 front of</th>" if fronts else ""))
    body = ""
    for i, row in enumerate(table.to_dicts()):
        on = [f for f, mask in fronts.items() if mask[i]]
        cells = "".join(_cell(f"arm.{i}.{p}", row[p]) for p in params)
        cells += _cell(f"arm.{i}.runs", row["runs"])
        cells += "".join(_cell(f"arm.{i}.{m}", row[f"{m}.mean"],
                               _mean_ci_text(row[f"{m}.mean"], row[f"{m}.ci"])) for m in metrics)
        if fronts:
            cells += _cell(f"arm.{i}.front", on, html.escape(", ".join(on)), "front")
        body += f"<tr>{cells}</tr>"
    return (f'<div class="scroll"><table id="sweep-table"><tr>{head}</tr>{body}</table></div>'
            '<p class="note">mean ± half-width of the 95 % confidence interval (Student t) across '
            "the arm's runs.</p>")


def _jobs(df: pl.DataFrame, metrics: Sequence[str]) -> str:
    """Every job: its number, overrides and key metrics, folded."""
    cols = [c for c in ("job", "seed") if c in df.columns]
    head = "".join(f"<th>{c}</th>" for c in cols) + "<th>overrides</th>" + "".join(
        f"<th>{html.escape(short(m))}</th>" for m in metrics)
    body = ""
    for i, row in enumerate(df.to_dicts()):
        overrides = " ".join(json.loads(row.get("overrides") or "[]"))
        body += ("<tr>" + "".join(_cell(f"job.{i}.{c}", row[c]) for c in cols)
                 + f"<td>{html.escape(overrides)}</td>"
                 + "".join(_cell(f"job.{i}.{m}", row[m]) for m in metrics) + "</tr>")
    return (f'<details><summary>every job ({df.height})</summary><div class="scroll">'
            f'<table id="sweep-jobs"><tr>{head}</tr>{body}</table></div></details>')


def _skipped_html(skipped: Sequence[Any]) -> str:
    """The jobs left out of the table (unfinished), each with its reason."""
    if not skipped:
        return ""
    items = "".join(f"<li><code>{html.escape(s.name)}</code>: {html.escape(s.reason)}</li>" for s in skipped)
    return (f'<section id="skipped"><h2>Jobs left out ({len(skipped)})</h2>'
            f'<p class="note">These jobs did not finish (no whole summary.json); the tables and '
            f"plots above leave them out.</p><ul>{items}</ul></section>")


def build_sweep_report(sweep_df: pl.DataFrame, title: Optional[str] = None,
                       skipped: Sequence[Any] = ()) -> str:
    """The whole report of a gathered sweep (sweep.parquet) as one HTML page, plots inline.

    One figure per swept parameter (numeric or not), each key metric against it, one series
    per combination of the other swept parameters (see _param_plot); `skipped` (the
    sim.sweep.gather.Skipped jobs) are listed at the end.
    """
    df = sweep_df
    if df.height == 0:
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>cloudtwin sweep"
                f"</title><style>{_CSS}</style></head><body><h1>cloudtwin sweep</h1>"
                '<p class="note">No job of this sweep wrote a summary.</p>'
                f"{_skipped_html(skipped)}</body></html>\n")
    metrics = stats.key_metrics(df)
    params = stats.parameters(df)
    cols = list(params.values())
    table = stats.arms(df, metrics)
    fronts = _fronts(table, _functions(metrics))
    figures = [_figure("plot-pareto", "Monthly cost against p99 latency", _pareto_plot(table, cols, fronts),
                       "the sweep has no cost or no latency")]
    for i, p in enumerate(cols):
        fig = _param_plot(table, p, cols, metrics) if metrics else None
        figures.append(_figure(f"plot-param-{i}", f"Against {short(p)}", fig, "no key metric"))
    if not cols:
        figures.append('<p class="note">Only the seed varies between jobs: no parameter to plot against.</p>')
    names = sorted(set(df["scenario"].drop_nulls().to_list())) if "scenario" in df.columns else []
    name = html.escape(title or ", ".join(names) or "sweep")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>cloudtwin sweep: {name}</title>'
        f"<style>{_CSS}</style></head><body><h1>cloudtwin sweep: {name}</h1>"
        f'<section id="sweep"><h2>Sweep</h2>{_info(df, table, cols, len(skipped))}</section>'
        f'<section id="comparison"><h2>Arms compared</h2>{_comparison(table, cols, metrics, fronts)}</section>'
        f'<section id="plots"><h2>Plots</h2>{"".join(figures)}</section>'
        f'<section id="jobs"><h2>Jobs</h2>{_jobs(df, metrics)}</section>'
        f"{_skipped_html(skipped)}"
        "</body></html>\n"
    )
