"""The report's figures: matplotlib plots of one run's metrics, with the scenario's SLO lines.

Every figure uses constrained layout with its legend outside the axes on the right, so
legends and labels stay inside the image; time ticks are thinned by matplotlib's locator.
Per-period ratios carry a 95 % Wilson score interval (it stays within 0-100 %).
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
import polars as pl
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from sim.output.report_format import duration_text
from sim.output.report_slo import slo_limit
from sim.output.result import Result

LAMBDA = "AWS/Lambda"
EXTRA = "cloudtwin/Lambda"
FN_PREFIX = "FunctionName="
SQS = "AWS/SQS"
QUEUE_PREFIX = "QueueName="
SLO_COLOUR = "#d32f2f"
_PERCENTILES = [("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9), ("max", 100)]
WIDTH_IN = 10.5


def wilson_interval(k: np.ndarray, n: np.ndarray, z: float = 1.96) -> Tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval of k successes in n trials, elementwise; NaN where n is 0.

    Unlike the normal approximation it never leaves [0, 1] (Wilson 1927; Brown, Cai and
    DasGupta 2001 recommend it for small n and ratios near 0 or 1).
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo, hi = np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)
    bad = ~(n > 0)
    lo[bad] = np.nan
    hi[bad] = np.nan
    return lo, hi


def series(metrics: Optional[pl.DataFrame], metric: str, namespaces=(LAMBDA, EXTRA),
           prefix: str = FN_PREFIX) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """Per entity name (the dimension after `prefix`): (time_s, value) of `metric`, by time."""
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
        out[dim[len(prefix):]] = (part["time_s"].to_numpy().astype(float), part["value"].to_numpy().astype(float))
    return out


def period_s(result: Result) -> Optional[float]:
    """The recording period: from the resolved config, else the spacing of metric times."""
    period = (result.config.get("record") or {}).get("period_s")
    if period:
        return float(period)
    if result.metrics is not None and result.metrics.height > 1:
        t = np.unique(result.metrics["time_s"].to_numpy())
        if len(t) > 1:
            return float(np.min(np.diff(t)))
    return None


def time_axis(result: Result) -> Tuple[float, str]:
    """(divisor, label) that puts the run's time axis in s, min or h."""
    horizon = float(result.summary.get("duration_s") or 0.0)
    if not horizon and result.metrics is not None and result.metrics.height:
        horizon = float(result.metrics["time_s"].max())
    if horizon >= 4 * 3600:
        return 3600.0, "time (h)"
    if horizon >= 600:
        return 60.0, "time (min)"
    return 1.0, "time (s)"


def _finite(value: Any) -> float:
    if value is None:
        return math.nan
    x = float(value)
    return x if math.isfinite(x) else math.nan


def _ms_formatter(value: float, _pos: Any) -> str:
    return duration_text(value / 1000.0) if value > 0 else "0"


def _count_formatter(value: float, _pos: Any) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.3g}"


def _log_ticks(axis, lo: float, hi: float) -> None:
    """Log-scale major ticks at 1, 2 and 5 per decade over a short range, fewer over a long one; no minor labels."""
    decades = np.log10(hi / lo) if lo > 0 and hi > lo else 1.0
    subs = (1.0, 2.0, 5.0) if decades <= 1.5 else (1.0, 3.0) if decades <= 2.5 else (1.0,)
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_minor_formatter(NullFormatter())


def _duration_axis(ax, values: np.ndarray) -> None:
    """A y axis of durations in ms: log-scaled with '200 ms', '1 s' ticks when `values` span more than 10×;
    else linear, in ms (a narrow range, 1,000-1,004 ms, needs every digit)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if len(v) and v.max() > 10 * v.min():
        ax.set_yscale("log")
        _log_ticks(ax.yaxis, *ax.get_ylim())
        ax.yaxis.set_major_formatter(FuncFormatter(_ms_formatter))
    else:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{x:,.10g}"))
        ax.set_ylabel(ax.get_ylabel() + " (ms)")


def seconds_unit(top_s: float) -> Tuple[float, str]:
    """(divisor, unit) for an axis of durations whose largest value is `top_s` seconds."""
    if top_s >= 3 * 3600:
        return 3600.0, "h"
    if top_s >= 600:
        return 60.0, "min"
    return 1.0, "s"


class Plotter:
    """Draws the report's figures with one colour per function (or queue) throughout."""

    OFF_SCALE = 4.0  # a limit more than this many times the largest value drawn is noted, not drawn
    MAX_PANELS = 12  # per-entity figures show at most this many panels (the busiest ones)

    def __init__(self, result: Result):
        self.result = result
        self.metrics = result.metrics
        self.config = result.config or {}
        names = list((result.summary.get("functions") or {}).keys())
        for metric in ("Invocations", "ConcurrentExecutions"):
            names += [n for n in series(self.metrics, metric) if n not in names]
        self.names = names
        self.queues = list((result.summary.get("queues") or {}).keys())
        self.t_div, self.t_label = time_axis(result)
        self.period_s = period_s(result)

    # ------------------------------------------------------------ helpers

    def colour(self, name: str, names: Optional[List[str]] = None) -> str:
        names = self.names if names is None else names
        i = names.index(name) if name in names else len(names)
        return f"C{i % 10}"

    def figure(self, rows: int = 1, height_in: Optional[float] = None, time: bool = True) -> Tuple[Figure, Any]:
        """A figure of `rows` stacked axes sharing the x axis (the run's time, from 0 to its end, when `time`)."""
        h = height_in or (3.6 if rows == 1 else 0.9 + 2.0 * rows)
        fig = Figure(figsize=(WIDTH_IN, h), dpi=100, layout="constrained")
        axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
        t_end = float(self.result.summary.get("duration_s") or 0.0)
        for ax in axes:
            ax.xaxis.set_major_locator(MaxNLocator(nbins=10, steps=[1, 2, 2.5, 5, 10], min_n_ticks=3))
            ax.yaxis.set_major_formatter(FuncFormatter(_count_formatter))
            if time and t_end > 0:
                ax.set_xlim(0, t_end / self.t_div)
        return fig, (axes if rows > 1 else axes[0])

    @staticmethod
    def legend(ax) -> None:
        handles, _ = ax.get_legend_handles_labels()
        if handles:
            ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                      frameon=False)

    def step(self, ax, t: np.ndarray, v: np.ndarray, **kw) -> None:
        """Per-period values as steps, the last one drawn to its period's end."""
        if len(t) and self.period_s:
            t = np.append(t, t[-1] + self.period_s)
            v = np.append(v, v[-1])
        ax.plot(t / self.t_div, v, drawstyle="steps-post", **kw)

    def per_period(self) -> str:
        return f"per {duration_text(self.period_s)}" if self.period_s else "per period"

    def slo_line(self, ax, value: Optional[float], label: str) -> None:
        if value is not None:
            ax.axhline(value, color=SLO_COLOUR, linestyle=(0, (6, 3)), linewidth=1.3, label=label)

    def _busiest(self, per_name: Dict[str, Tuple[np.ndarray, np.ndarray]]) -> List[str]:
        names = sorted(per_name, key=lambda n: -float(np.nansum(per_name[n][1])))[: self.MAX_PANELS]
        return [n for n in per_name if n in names]

    # ------------------------------------------------------------ functions

    def invocations(self) -> Optional[Figure]:
        inv = series(self.metrics, "Invocations")
        thr = series(self.metrics, "Throttles")
        if not inv and not thr:
            return None
        fig, ax = self.figure()
        for name, (t, v) in inv.items():
            self.step(ax, t, v, color=self.colour(name), label=f"{name} invocations")
        for name, (t, v) in thr.items():
            if np.any(v > 0):
                self.step(ax, t, v, color=self.colour(name), linestyle="--", label=f"{name} throttled")
        ax.set_xlabel(self.t_label)
        ax.set_ylabel(f"count {self.per_period()}")
        ax.set_ylim(bottom=0)
        self.legend(ax)
        return fig

    def ratios(self) -> Optional[Figure]:
        """Throttled share of attempts and error share of invocations per period, per function, in %."""
        inv = series(self.metrics, "Invocations")
        if not inv:
            return None
        thr = series(self.metrics, "Throttles")
        err = series(self.metrics, "Errors")
        names = self._busiest(inv)
        fig, axes = self.figure(len(names))
        axes = axes if len(names) > 1 else [axes]
        for ax, name in zip(axes, names):
            t, n_inv = inv[name]
            n_thr = thr.get(name, (t, np.zeros_like(n_inv)))[1]
            n_err = err.get(name, (t, np.zeros_like(n_inv)))[1]
            top = 0.0
            for k, n, label, colour in ((n_thr, n_inv + n_thr, "throttled, % of attempts", "C1"),
                                        (n_err, n_inv, "errors, % of invocations", "C3")):
                with np.errstate(invalid="ignore", divide="ignore"):
                    ratio = np.where(n > 0, k / n, np.nan)
                lo, hi = wilson_interval(k, n)
                x = (t + (self.period_s or 0) / 2) / self.t_div  # the period's middle
                ax.plot(x, 100 * ratio, color=colour, marker=".", label=label)
                ax.fill_between(x, 100 * lo, 100 * hi, color=colour, alpha=0.15, linewidth=0,
                                label=f"{label.split(',')[0]}: 95 % interval")
                top = max(top, float(np.nanmax(hi, initial=0)) * 100)
            for objective, what in (("throttle_ratio_max", "throttled"), ("error_ratio_max", "errors")):
                limit = slo_limit(self.config, "functions", name, objective)
                if limit is not None:
                    self.slo_line(ax, 100 * limit, f"SLO: {what} ≤ {100 * limit:g} %")
                    top = max(top, 100 * limit)
            ax.set_ylim(0, max(1.0, min(100.0, top * 1.1)))
            ax.set_title(name, fontsize="medium", loc="left")
            ax.set_ylabel("%")
            self.legend(ax)
        axes[-1].set_xlabel(f"{self.t_label}; shaded: 95 % Wilson interval, {self.per_period()}")
        return fig

    def _limit(self, name: str) -> Optional[Tuple[np.ndarray, np.ndarray, str]]:
        for metric, label in (("ReservedConcurrency", "reserved"), ("ConcurrencyLimit", "limit")):
            s = series(self.metrics, metric).get(name)
            if s is not None:
                return s[0], s[1], label
        reserved = ((self.config.get("functions") or {}).get(name) or {}).get("reserved_concurrency")
        if reserved is not None:
            return np.array([0.0]), np.array([float(reserved)]), "reserved"
        return None

    def concurrency(self) -> Optional[Figure]:
        conc = series(self.metrics, "ConcurrentExecutions")
        if not conc:
            return None
        names = self._busiest(conc)
        fig, axes = self.figure(len(names))
        axes = axes if len(names) > 1 else [axes]
        provisioned = series(self.metrics, "ProvisionedConcurrentExecutions")
        t_end = float(self.result.summary.get("duration_s") or 0.0)
        for ax, name in zip(axes, names):
            t, v = conc[name]
            self.step(ax, t, v, color=self.colour(name), label="peak concurrency")
            top = float(np.nanmax(v)) if len(v) else 0.0
            pc = provisioned.get(name)
            if pc is not None and np.any(pc[1] > 0):
                self.step(ax, pc[0], pc[1], color="C2", linestyle="-.", label="provisioned in use")
                top = max(top, float(np.nanmax(pc[1])))
            limit = self._limit(name)
            if limit is not None:
                lt, lv, label = limit
                peak = float(np.nanmax(lv))
                if top > 0 and peak > self.OFF_SCALE * top:
                    ax.plot([], [], color="C3", linestyle=":", label=f"{label} {peak:,.0f} (off scale)")
                elif len(lt) == 1 and t_end > lt[0]:
                    ax.plot(np.array([lt[0], t_end]) / self.t_div, [lv[0], lv[0]], color="C3", linestyle=":",
                            label=label)
                else:
                    self.step(ax, lt, lv, color="C3", linestyle=":", label=label)
            ax.set_ylim(bottom=0)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
            ax.set_title(name, fontsize="medium", loc="left")
            ax.set_ylabel("environments")
            self.legend(ax)
        axes[-1].set_xlabel(f"{self.t_label}; concurrency is the peak {self.per_period()}")
        return fig

    def cold_starts(self) -> Optional[Figure]:
        cold = series(self.metrics, "ColdStarts")
        if not cold:
            return None
        fig, ax = self.figure()
        for name, (t, v) in cold.items():
            self.step(ax, t, v, color=self.colour(name), label=name)
        ax.set_xlabel(self.t_label)
        ax.set_ylabel(f"cold starts {self.per_period()}")
        ax.set_ylim(bottom=0)
        self.legend(ax)
        return fig

    def duration(self) -> Optional[Figure]:
        """p50, mean and p99 of the execution duration per period, one panel per function, with the p99 SLO."""
        per = {m: series(self.metrics, m) for m in ("Duration.p50", "Duration", "Duration.p99")}
        names = [n for n in self.names if any(n in s for s in per.values())]
        names += [n for s in per.values() for n in s if n not in names]
        if not names:
            return None
        names = names[: self.MAX_PANELS]
        fig, axes = self.figure(len(names))
        axes = axes if len(names) > 1 else [axes]
        for ax, name in zip(axes, names):
            drawn = []
            for metric, style, label in (("Duration.p99", "--", "p99"), ("Duration", ":", "mean"),
                                         ("Duration.p50", "-", "p50")):
                s = per[metric].get(name)
                if s is not None:
                    self.step(ax, s[0], s[1], color=self.colour(name), linestyle=style, label=label)
                    drawn.append(s[1])
            limit = slo_limit(self.config, "functions", name, "latency_p99_ms")
            self.slo_line(ax, limit, f"SLO: p99 ≤ {duration_text(limit / 1000)}" if limit else "")
            ax.set_ylabel("duration")
            if limit is not None:
                drawn.append(np.array([limit]))
            _duration_axis(ax, np.concatenate(drawn) if drawn else np.array([]))
            ax.set_title(name, fontsize="medium", loc="left")
            self.legend(ax)
        axes[-1].set_xlabel(f"{self.t_label}; execution time, {self.per_period()}")
        return fig

    def latency_percentiles(self) -> Optional[Figure]:
        functions = self.result.summary.get("functions") or {}
        rows = {name: f.get("latency_ms") for name, f in functions.items()
                if isinstance(f, Mapping) and f.get("latency_ms")}
        if not rows:
            return None
        fig, ax = self.figure(time=False)
        labels = [k for k, _ in _PERCENTILES]
        drawn: List[float] = []
        for name, lat in rows.items():
            ys = [_finite(lat.get(k)) for k in labels]
            ax.plot(range(len(labels)), ys, marker="o", color=self.colour(name), label=name)
            drawn += ys
            limit = slo_limit(self.config, "functions", name, "latency_p99_ms")
            if limit is not None:  # a short bar at p99
                ax.hlines(limit, 1.8, 2.2, color=SLO_COLOUR, linewidth=2.5,
                          label=f"{name} SLO p99 ≤ {duration_text(limit / 1000)}")
                drawn.append(limit)
        ax.set_xticks(range(len(labels)), [f"p{x:g}" if x < 100 else "max" for _, x in _PERCENTILES])
        ax.set_xlabel("percentile over the whole run")
        ax.set_ylabel("latency")
        _duration_axis(ax, np.array(drawn))
        self.legend(ax)
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
        fig, ax = self.figure(time=False)
        group = next((c for c in ("function", "fn") if c in req.columns), None)
        if group is None:
            ax.hist(lat[ok], bins=bins, color="C0", label="all functions")
        else:
            keys = req[group].to_numpy()
            labels = dict(enumerate(self.names)) if group == "fn" else {}
            for key in dict.fromkeys(keys[ok].tolist()):
                name = labels.get(key, str(key))
                sel = ok & (keys == key)
                ax.hist(lat[sel], bins=bins, histtype="step", linewidth=1.5, color=self.colour(name),
                        label=f"{name} ({int(sel.sum()):,})")
        if isinstance(bins, np.ndarray):
            ax.set_xscale("log")
            _log_ticks(ax.xaxis, lo, hi)
        ax.xaxis.set_major_formatter(FuncFormatter(_ms_formatter))
        ax.set_xlabel("latency")
        ax.set_ylabel("sampled requests")
        self.legend(ax)
        return fig

    # ------------------------------------------------------------ queues

    def queue_backlog(self) -> Optional[Figure]:
        """Messages visible and in flight at each period's end, one panel per queue."""
        visible = series(self.metrics, "ApproximateNumberOfMessagesVisible", (SQS,), QUEUE_PREFIX)
        if not visible:
            return None
        flight = series(self.metrics, "ApproximateNumberOfMessagesNotVisible", (SQS,), QUEUE_PREFIX)
        delayed = series(self.metrics, "ApproximateNumberOfMessagesDelayed", (SQS,), QUEUE_PREFIX)
        names = list(visible)[: self.MAX_PANELS]
        fig, axes = self.figure(len(names), height_in=None if len(names) > 1 else 3.2)
        axes = axes if len(names) > 1 else [axes]
        for ax, name in zip(axes, names):
            t, v = visible[name]
            end = (t + (self.period_s or 0.0)) / self.t_div  # a snapshot at the period's end
            ax.plot(end, v, color="C0", label="visible")
            if name in flight:
                ax.plot(end, flight[name][1], color="C1", linestyle="--", label="in flight")
            if name in delayed and np.any(delayed[name][1] > 0):
                ax.plot(end, delayed[name][1], color="C2", linestyle=":", label="delayed")
            top = max(float(np.nanmax(v, initial=0)),
                      float(np.nanmax(flight[name][1], initial=0)) if name in flight else 0.0)
            ax.set_ylim(0, max(1.0, top * 1.05))  # an empty queue still gets a whole-message axis
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
            ax.set_title(name, fontsize="medium", loc="left")
            ax.set_ylabel("messages")
            self.legend(ax)
        axes[-1].set_xlabel(f"{self.t_label}; at the end of each period")
        return fig

    def queue_age(self) -> Optional[Figure]:
        """ApproximateAgeOfOldestMessage per queue over time, with each queue's SLO."""
        age = series(self.metrics, "ApproximateAgeOfOldestMessage", (SQS,), QUEUE_PREFIX)
        if not age:
            return None
        fig, ax = self.figure()
        limits = {n: slo_limit(self.config, "queues", n, "age_of_oldest_max_s") for n in age}
        top = max([float(np.nanmax(v, initial=0)) for _, v in age.values()]
                  + [x for x in limits.values() if x is not None])
        div, unit = seconds_unit(top)
        for name, (t, v) in age.items():
            colour = self.colour(name, self.queues)
            ax.plot((t + (self.period_s or 0.0)) / self.t_div, v / div, color=colour, label=name)
            if limits[name] is not None:
                ax.axhline(limits[name] / div, color=colour, linestyle=(0, (6, 3)), linewidth=1.3,
                           label=f"{name} SLO ≤ {duration_text(limits[name])}")
        ax.set_ylim(0, max(1.0, top / div * 1.08))
        ax.set_xlabel(f"{self.t_label}; at the end of each period")
        ax.set_ylabel(f"age of the oldest message ({unit})")
        self.legend(ax)
        return fig

    # ------------------------------------------------------------ cost

    def cost_over_time(self) -> Optional[Figure]:
        """Cost per period by usage type, stacked (the simulated period's bill, spread)."""
        if self.metrics is None or self.metrics.height == 0:
            return None
        m = self.metrics.filter((pl.col("namespace") == "cloudtwin/Billing") & (pl.col("metric") == "CostUSD"))
        if m.height == 0:
            return None
        # Summed with math.fsum, exactly, in sorted order: a parallel sum may differ in the last bit
        # from one run to the next, and a rebuilt page must be byte for byte the same.
        t = np.unique(m["time_s"].to_numpy())
        at = {float(x): i for i, x in enumerate(t)}
        cells: Dict[str, Dict[int, List[float]]] = {}
        for time_s, dim, value in m.select("time_s", "dimension", "value").iter_rows():
            cells.setdefault(dim, {}).setdefault(at[float(time_s)], []).append(float(value))
        cols = sorted(c for c, per in cells.items() if any(math.fsum(v) > 0 for v in per.values()))
        if not cols:
            return None
        fig, ax = self.figure()
        ys = [np.array([math.fsum(cells[c].get(i, [])) for i in range(len(t))]) for c in cols]
        if self.period_s and len(t):  # draw the last period to its end
            t = np.append(t, t[-1] + self.period_s)
            ys = [np.append(y, y[-1]) for y in ys]
        t = t / self.t_div
        labels = []
        for c in cols:
            parts = dict(p.split("=", 1) for p in c.split(",") if "=" in p)
            svc = parts.get("Service", "").replace("Amazon", "").replace("AWS", "")
            labels.append(f"{svc} {parts.get('UsageType', c)}".strip())
        ax.stackplot(t, *ys, step="post", labels=labels)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"${v:.3g}" if v else "0"))
        ax.set_ylabel(f"USD {self.per_period()}")
        ax.set_xlabel(self.t_label)
        ax.set_ylim(bottom=0)
        self.legend(ax)
        return fig
