"""The HTML report of a sweep: its arms compared, cost against p99, and each metric against each parameter."""

from __future__ import annotations

import base64
import html
import io
import json
import math
import textwrap
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import polars as pl
from matplotlib import image as mpl_image
from matplotlib.figure import Figure

from sim.output.report import _CSS as RUN_CSS
from sim.output.report_format import kind_of, label as summary_label, usd_text, value_text
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


def metric_label(metric: str) -> str:
    """A key metric in words with its unit: 'api: latency p99 (ms)', 'api: throttled (% of attempts)', 'monthly cost (USD)'."""
    parts = metric.split(".")
    if parts[0] == "cost_usd":
        return f"{' '.join(parts[1:]) or 'total'} cost (USD)"
    words = summary_label(metric)
    kind = kind_of(metric)
    unit = {"duration_ms": " (ms)", "duration_s": " (s)"}.get(kind, "")
    entity = parts[1] if len(parts) > 2 else ""
    return f"{entity}: {words}{unit}" if entity else f"{words}{unit}"


def scale(metric: str) -> float:
    """The factor from a metric's summary value to its plotted value: 100 for a ratio (plotted in %), else 1."""
    return 100.0 if stats.is_ratio(metric) else 1.0


def metric_text(metric: str, value: Any) -> str:
    """A value of `metric` for the table: money as $, ratios in %, durations in words (sim.output.report_format)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if metric.startswith("cost_usd."):
        return usd_text(value)
    return value_text(metric, value)


def _interval_text(metric: str, mean: float, lo: float, hi: float) -> str:
    """'mean [lo, hi]' (just the mean when there is no interval)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return html.escape(metric_text(metric, mean))
    return (f"{html.escape(metric_text(metric, mean))} "
            f'<span class="pm">[{html.escape(metric_text(metric, lo))}, {html.escape(metric_text(metric, hi))}]</span>')


def yerr(mean: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Asymmetric error bars [mean - lo, hi - mean] (0 where there is no interval), for matplotlib's xerr/yerr."""
    mean, lo, hi = (np.asarray(a, dtype=float) for a in (mean, lo, hi))
    below = np.where(np.isfinite(lo) & np.isfinite(mean), mean - lo, 0.0)
    above = np.where(np.isfinite(hi) & np.isfinite(mean), hi - mean, 0.0)
    return np.vstack([np.maximum(below, 0.0), np.maximum(above, 0.0)])


def _columns(table: pl.DataFrame, metric: str) -> Tuple[np.ndarray, np.ndarray]:
    """(plotted estimate, [below, above] error bars) of `metric` over the arms, in plot units."""
    f = scale(metric)
    mean, lo, hi = (table[f"{metric}.{c}"].cast(pl.Float64).to_numpy() * f for c in ("mean", "lo", "hi"))
    return mean, yerr(mean, lo, hi)


def _wrap(text: str, width: int = 34) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def fit_ticks(fig: Figure, categorical: bool = False) -> None:
    """Rotate, then thin, the x tick labels of every axes of `fig` until no two overlap.

    Measures the labels on a full draw of the figure on an Agg canvas (constrained layout
    and all): first turned 45 degrees; categories (`categorical`, each label naming an arm)
    then 90 degrees, so none is lost while they fit; last, every second, third, ... label
    kept, the smallest step that leaves no overlap (on a numeric axis the kept ones still
    place the others). The figure is left drawn: `_png` encodes that drawing instead of
    drawing it again (a layout-only draw cost nearly as much as a full one here, most of it
    the layout's text extents: measuring on the final drawing takes one draw off each figure).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    angles = [45, 90] if categorical else [45]
    attempts = {id(ax): 0 for ax in fig.axes}
    names: Dict[int, List[str]] = {}
    for _ in range(16):
        canvas.draw()
        renderer = canvas.get_renderer()
        crowded = [ax for ax in fig.axes if ax.get_visible()
                   and _any_overlap([t.get_window_extent(renderer) for t in _shown_tick_labels(ax.xaxis)])]
        if not crowded:
            return
        for ax in crowded:
            attempt = attempts[id(ax)]
            attempts[id(ax)] += 1
            if attempt < len(angles):
                _turn(ax, angles[attempt])
                continue
            step = attempt - len(angles) + 2
            ticks = ax.xaxis.get_majorticklocs()
            labels = names.setdefault(id(ax), [t.get_text() for t in ax.get_xticklabels()])
            ax.set_xticks(ticks, [n if i % step == 0 else "" for i, n in enumerate(labels)])
            ax.minorticks_off()
            _turn(ax, angles[-1])


def _turn(ax, angle: float) -> None:
    """Turn the x tick labels of `ax` by `angle` degrees, their ends at the ticks."""
    for t in ax.get_xticklabels():
        t.set_rotation(angle)
        t.set_ha("right" if angle < 90 else "center")
        t.set_rotation_mode("anchor" if angle < 90 else "default")


def _shown_tick_labels(axis) -> list:
    lo, hi = sorted(axis.get_view_interval())
    return [t.label1 for t in axis.get_major_ticks()
            if t.label1.get_visible() and t.label1.get_text() and lo <= t.get_loc() <= hi]


def _any_overlap(boxes) -> bool:
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a.x0 < b.x1 - 0.5 and b.x0 < a.x1 - 0.5 and a.y0 < b.y1 - 0.5 and b.y0 < a.y1 - 0.5:
                return True
    return False


def _png(fig: Figure) -> str:
    """The figure as an inline base64 PNG: the drawing `fit_ticks` left, when nothing has
    changed since (the figure is not stale), else a new one."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buf = io.BytesIO()
    if isinstance(fig.canvas, FigureCanvasAgg) and not fig.stale:
        mpl_image.imsave(buf, fig.canvas.buffer_rgba(), format="png", origin="upper", dpi=fig.dpi)
    else:
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
    """Monthly cost against each function's p99, one panel per function, the front drawn in red.

    Error bars: each arm's 95 % interval on both axes (stats.metric_interval), drawn
    asymmetric so they never cross 0.
    """
    if not fronts:
        return None
    fig = Figure(figsize=(10.0, 4.4), dpi=100, layout="constrained")
    axes = fig.subplots(1, len(fronts), squeeze=False)[0]
    rows = table.to_dicts()
    cost, cost_err = _columns(table, "cost_usd.monthly")
    for ax, (f, front) in zip(axes, fronts.items()):
        metric = f"functions.{f}.latency_ms.p99"
        x, xerr = _columns(table, metric)
        ax.errorbar(x, cost, xerr=xerr, yerr=cost_err, fmt="o", color="C0",
                    ecolor="#999", capsize=2, label="arm (mean, 95 % interval)")
        order = np.argsort(x[front])
        ax.plot(x[front][order], cost[front][order], "-o", color="C3", mfc="none", ms=10,
                label="Pareto front")
        if len(rows) <= 30:
            for xi, yi, row in zip(x, cost, rows):
                if math.isfinite(xi) and math.isfinite(yi):
                    ax.annotate(_label(row, params), (xi, yi), fontsize=7, xytext=(4, 4),
                                textcoords="offset points", clip_on=True).set_in_layout(False)
        ax.set_xlabel(_wrap(metric_label(metric), 40))
        ax.set_ylabel(metric_label("cost_usd.monthly"))
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize="small", loc="best")
    fit_ticks(fig)
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


def _legend_columns(labels: Sequence[str], width_in: float) -> int:
    """Legend columns (1 to 3) for `labels` in small type to fit `width_in`: about 0.075 in a character plus the marker."""
    longest = max((len(t) for t in labels), default=1)
    return max(1, min(3, len(labels), int(width_in / (0.075 * longest + 0.7))))


def _param_plot(table: pl.DataFrame, param: str, params: Sequence[str], metrics: Sequence[str]) -> Figure:
    """Each key metric against `param` (one panel per metric), one series per combination of the other parameters.

    A numeric parameter is drawn on a numeric axis (log 2 when its values span 8x or more),
    its arms joined by lines; any other (text, booleans, a mix with null) as categories in
    natural order, points only, the series side by side so their intervals do not hide
    each other. Error bars: each arm's 95 % interval (stats.metric_interval: Wilson for
    ratios, Student t clipped at 0 otherwise), asymmetric; ratios in %. Panel titles name the
    metric in words with its unit. Constrained layout; up to MAX_LABELLED_SERIES series get a
    legend below the panels (as many columns as fit the width); more share a colour map
    without one. Tick labels that would overlap are rotated, then thinned (fit_ticks).
    """
    others = [p for p in params if p != param]
    series = _series(table, others)
    labelled = bool(others) and len(series) <= MAX_LABELLED_SERIES
    numeric = table[param].dtype.is_numeric()
    levels = _levels(table, param)
    cols = min(3, len(metrics))
    rows_n = math.ceil(len(metrics) / cols)
    width_in = 10.0
    ncol = _legend_columns([label for label, _ in series], width_in) if labelled else 1
    legend_rows = math.ceil(len(series) / ncol) if labelled else 0
    height_in = 0.9 + 0.22 * legend_rows + (0.3 if not numeric else 0.0) + 2.9 * rows_n
    fig = Figure(figsize=(width_in, height_in), dpi=100, layout="constrained")
    axes = fig.subplots(rows_n, cols, squeeze=False).ravel()
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
            y, err = _columns(part, m)
            if numeric:
                part_x = part[param].to_numpy().astype(float)
                order = np.argsort(part_x, kind="stable")
                x, fmt = part_x[order], "-o"
            else:
                x = np.asarray([position[stats.natural_key(v)] for v in part[param].to_list()], dtype=float)
                order = np.argsort(x, kind="stable")
                x, fmt = x[order] + (i - (len(series) - 1) / 2) * width, "o"
            y, err = y[order], err[:, order]
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
                ax.set_xticks(values, [_num(v) for v in values], fontsize="small")
                ax.minorticks_off()
        else:
            ax.set_xticks(range(len(levels)), [_num(v) for v in levels], fontsize="small")
            ax.set_xlim(-0.5, len(levels) - 0.5)
        ax.tick_params(axis="y", labelsize="small")
        if drawn:
            ax.set_ylim(bottom=0)
            if stats.is_ratio(m):
                ax.set_ylim(top=min(100.0, max(ax.get_ylim()[1], 1e-9)))
        ax.set_xlabel(short(param))
        ax.set_title(_wrap(metric_label(m)), fontsize="medium")
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    if labelled:
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=ncol,
                   fontsize="small", frameon=False)
    elif len(series) > 1:
        fig.supxlabel(f"{len(series)} series, one per combination of "
                      f"{', '.join(short(p) for p in others)} (not labelled: see the table of arms)",
                      fontsize="small", color="#555")
    fit_ticks(fig, categorical=not numeric)
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
    """One row per arm: its parameters, runs, each key metric as 'value [lo, hi]' (95 %), its Pareto fronts."""
    head = ("".join(f"<th>{html.escape(short(p))}</th>" for p in params) + "<th>runs</th>"
            + "".join(f"<th>{html.escape(metric_label(m))}</th>" for m in metrics)
            + ("<th>on the cost–p99 front of</th>" if fronts else ""))
    body = ""
    for i, row in enumerate(table.to_dicts()):
        on = [f for f, mask in fronts.items() if mask[i]]
        cells = "".join(_cell(f"arm.{i}.{p}", row[p]) for p in params)
        cells += _cell(f"arm.{i}.runs", row["runs"])
        cells += "".join(_cell(f"arm.{i}.{m}", row[f"{m}.mean"],
                               _interval_text(m, row[f"{m}.mean"], row[f"{m}.lo"], row[f"{m}.hi"]))
                         for m in metrics)
        if fronts:
            cells += _cell(f"arm.{i}.front", on, html.escape(", ".join(on)), "front")
        body += f"<tr>{cells}</tr>"
    return (f'<div class="scroll"><table id="sweep-table"><tr>{head}</tr>{body}</table></div>'
            '<p class="note">Each cell: the arm\'s value [95 % interval] over its runs. Ratios: '
            "throttles (cold starts) of all the arm's attempts (invocations) pooled, with a Wilson score "
            "interval, widened to the runs' Student-t interval where the runs disagree more; "
            "other metrics: the mean with a Student-t interval, clipped at 0.</p>")


def _jobs(df: pl.DataFrame, metrics: Sequence[str]) -> str:
    """Every job: its number, overrides and key metrics, folded."""
    cols = [c for c in ("job", "seed") if c in df.columns]
    head = "".join(f"<th>{c}</th>" for c in cols) + "<th>overrides</th>" + "".join(
        f"<th>{html.escape(metric_label(m))}</th>" for m in metrics)
    body = ""
    for i, row in enumerate(df.to_dicts()):
        overrides = " ".join(json.loads(row.get("overrides") or "[]"))
        body += ("<tr>" + "".join(_cell(f"job.{i}.{c}", row[c]) for c in cols)
                 + f"<td>{html.escape(overrides)}</td>"
                 + "".join(_cell(f"job.{i}.{m}", row[m], html.escape(metric_text(m, row[m]))) for m in metrics)
                 + "</tr>")
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
