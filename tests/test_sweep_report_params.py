"""The sweep report with 1, 2 and 3 swept parameters, numeric and categorical: what each plot draws."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from sim.sweep import stats
from sim.sweep.gather import gather
from sim.sweep.report import MAX_LABELLED_SERIES, _param_plot, build_sweep_report, metric_label, short

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from sim.cli import main; main()"]
MEMORY = "scenario.functions.api.memory_mb"
RESERVED = "scenario.functions.worker.reserved_concurrency"
ARCH = "scenario.functions.api.architecture"
FLAG = "scenario.record.report"
RATE = "scenario.traffic.0.arrivals.rate_per_s"
SEEDS = (0, 1)


def _value(params: dict, seed: int, scale: float) -> float:
    """A metric that depends on every parameter and the seed, so each arm has its own mean and CI."""
    x = seed * 0.5
    for key, v in sorted(params.items()):
        x += (len(str(v)) + (float(v) if isinstance(v, (int, float)) else 3.0)) * (1 + len(key) % 7)
    return scale * x


def _sweep(tmp_path: Path, swept: dict) -> pl.DataFrame:
    """Job directories for every combination of `swept` x SEEDS with made-up summaries, gathered."""
    keys = list(swept)
    for num, (*values, seed) in enumerate(itertools.product(*swept.values(), SEEDS)):
        params = dict(zip(keys, values))
        d = tmp_path / f"{num}_fake"
        (d / ".hydra").mkdir(parents=True)
        overrides = ["scenario=fake"] + [f"{k}={_text(v)}" for k, v in params.items()] + [f"scenario.seed={seed}"]
        (d / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
        (d / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"job": {"num": num}}}))
        # throttles of attempts, and the ratio LambdaAccount.summary writes for them
        attempts = 1000 + 100 * seed
        throttles = round(attempts * _value(params, seed, 0.001) / (1 + _value(params, seed, 0.001)))
        summary = {"scenario": "fake", "seed": seed, "cost_usd": {"monthly": _value(params, seed, 1.0)},
                   "functions": {"api": {"latency_ms": {"p99": _value(params, seed, 2.0)},
                                         "invocations": attempts - throttles, "throttles": throttles,
                                         "throttle_ratio": throttles / attempts}}}
        (d / "summary.json").write_text(json.dumps(summary))
    return gather(tmp_path)


def _text(v) -> str:
    return "true" if v is True else "false" if v is False else "null" if v is None else str(v)


CASES = {
    "one numeric": {MEMORY: [128, 512, 1024]},
    "two numeric (the issue's crash)": {MEMORY: [512, 1024], RESERVED: [50, 100, 200]},
    "numeric and text": {MEMORY: [512, 1024], ARCH: ["x86_64", "arm64"]},
    "text and boolean": {ARCH: ["x86_64", "arm64"], FLAG: [True, False]},
    "three mixed": {MEMORY: [128, 1024, 3008], ARCH: ["x86_64", "arm64"], FLAG: [True, False]},
    "three numeric, many series": {MEMORY: [128, 256, 512, 1024], RESERVED: [50, 100, 150, 200],
                                   RATE: [1.5, 2.5, 3.5]},
    "null among numbers": {RESERVED: [None, 50, 100], MEMORY: [512, 1024]},
}


@pytest.fixture(params=list(CASES), ids=list(CASES))
def case(request, tmp_path):
    swept = CASES[request.param]
    return swept, _sweep(tmp_path, swept)


def test_the_report_has_one_plot_per_swept_parameter(case):
    swept, df = case
    page = build_sweep_report(df)
    cols = list(stats.parameters(df).values())
    assert [c.removeprefix("override.") for c in cols] == list(swept)
    states = re.findall(r'<figure id="([^"]+)" data-state="(\w+)"><figcaption>([^<]+)<', page)
    assert states == [("plot-pareto", "plot", "Monthly cost against p99 latency")] + [
        (f"plot-param-{i}", "plot", f"Against {short(c)}") for i, c in enumerate(cols)]
    arms = int(np.prod([len(v) for v in swept.values()]))
    assert page.count('data-key="arm.') // (len(cols) + 1 + 3 + 1) == arms  # params, runs, 3 metrics, front
    assert f'data-key="arm.{arms - 1}.runs" data-value="{len(SEEDS)}"' in page


def _expected_series(table: pl.DataFrame, param: str, cols):
    """Per combination of the other parameters: {x value: arm row}, written without sim.sweep.report."""
    others = [c for c in cols if c != param]
    series = {}
    for row in table.to_dicts():
        series.setdefault(tuple(row[o] for o in others), {})[row[param]] = row
    return others, series


def _natural(values):
    def key(v):
        if v is None:
            return (0, 0.0, "")
        try:
            return (1, float(v), str(v))
        except ValueError:
            return (2, 0.0, str(v))
    return sorted(values, key=key)


def test_each_plot_draws_every_arm_once_against_its_parameter(case):
    swept, df = case
    metrics = stats.key_metrics(df)
    cols = list(stats.parameters(df).values())
    table = stats.arms(df, metrics)
    for param in cols:
        others, series = _expected_series(table, param, cols)
        fig = _param_plot(table, param, cols, metrics)
        axes = [ax for ax in fig.axes if ax.get_visible()]
        assert [ax.get_title().replace("\n", " ") for ax in axes] == [metric_label(m) for m in metrics]
        numeric = table[param].dtype.is_numeric()
        levels = _natural(set(table[param].to_list()))
        for ax, m in zip(axes, metrics):
            assert ax.get_xlabel() == short(param)
            assert len(ax.containers) == len(series)  # one series per combination of the others
            drawn = []
            for container in ax.containers:
                x, y = (np.asarray(a, dtype=float) for a in container.lines[0].get_data())
                assert len(x) == len(levels)  # full factorial: every value of the parameter
                drawn.append(sorted(np.round(y, 9).tolist()))
                if numeric:
                    assert np.all(np.diff(x) > 0) and x.tolist() == [float(v) for v in levels]
                else:  # categories at 0, 1, 2, … shifted sideways by the same amount
                    assert np.allclose(np.diff(x), 1.0)
            f = 100.0 if m.endswith("_ratio") else 1.0  # ratios in %
            want = [sorted(round(row[f"{m}.mean"] * f, 9) for row in by_x.values()) for by_x in series.values()]
            assert sorted(drawn) == sorted(want)
            if not numeric:
                assert [t.get_text() for t in ax.get_xticklabels()] == [str(v) for v in levels]
        legends = fig.legends
        if not others:
            assert not legends and not fig.texts
        elif len(series) <= MAX_LABELLED_SERIES:
            (legend,) = legends
            labels = [t.get_text() for t in legend.get_texts()]
            assert len(labels) == len(series) and all(
                all(f"{short(o)}=" in label for o in others) for label in labels)
        else:
            assert not legends
            (note,) = fig.texts
            assert note.get_text().startswith(f"{len(series)} series, one per combination of")


def test_categories_come_in_natural_order():
    table = pl.DataFrame({"p": ["100", "null", "50", "1000"], "q": [1, 1, 1, 1],
                          "m.mean": [1.0, 2.0, 3.0, 4.0], "m.lo": [0.9, 1.9, 2.9, 3.9],
                          "m.hi": [1.1, 2.1, 3.1, 4.1]})
    fig = _param_plot(table, "p", ["p"], ["m"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["50", "100", "1000", "null"]
    x, y = ax.containers[0].lines[0].get_data()
    assert list(x) == [0.0, 1.0, 2.0, 3.0] and list(y) == [3.0, 1.0, 4.0, 2.0]


def test_arms_come_in_natural_order(tmp_path):
    df = _sweep(tmp_path, CASES["null among numbers"])
    assert df[RESERVED].dtype == pl.Utf8  # "null" makes the column text
    table = stats.arms(df, stats.key_metrics(df))
    assert list(zip(table[RESERVED], table[MEMORY])) == [
        ("50", 512), ("50", 1024), ("100", 512), ("100", 1024), ("null", 512), ("null", 1024)]
    assert [stats.natural_key(v) for v in (None, True, "nan", "2.5", "arm64")] == [
        (0, 0.0, ""), (1, 1.0, "True"), (2, 0.0, "nan"), (1, 2.5, "2.5"), (2, 0.0, "arm64")]


def test_a_metric_missing_in_every_arm_says_so():
    table = pl.DataFrame({"p": [1, 2], "m.mean": [float("nan")] * 2, "m.lo": [float("nan")] * 2,
                          "m.hi": [float("nan")] * 2})
    fig = _param_plot(table, "p", ["p"], ["m"])
    assert [t.get_text() for t in fig.axes[0].texts] == ["no value in any arm"]


def test_only_the_seed_swept_says_there_is_nothing_to_plot_against(tmp_path):
    df = _sweep(tmp_path, {})
    page = build_sweep_report(df)
    assert "no parameter to plot against" in page and 'id="plot-param-0"' not in page


def test_a_real_multirun_with_two_numeric_parameters(tmp_path):
    """The issue's command (reserved preset plus two memory sizes), fewer values and 20 s."""
    p = subprocess.run(
        [*CLI, "-m", "sweep=reserved", f"{MEMORY}=512,1024", f"{RESERVED}=50,100",
         "scenario.duration_s=20", "scenario.record.report=false", f"results_dir={tmp_path}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "Traceback" not in p.stderr and "UserWarning" not in p.stderr
    (sweep_dir,) = (tmp_path / "sweeps").iterdir()
    df = pl.read_parquet(sweep_dir / "sweep.parquet")
    assert df.height == 4 and sorted(zip(df[MEMORY], df[RESERVED])) == [(512, 50), (512, 100), (1024, 50), (1024, 100)]
    page = (sweep_dir / "sweep_report.html").read_text()
    plots = re.findall(r'<figure id="plot-param-\d" data-state="plot"><figcaption>Against ([^<]+)<', page)
    assert sorted(plots) == ["api.memory_mb", "worker.reserved_concurrency"]
    assert 'data-key="arm.3.runs" data-value="1"' in page and 'data-key="arm.4.' not in page


def test_a_fitted_figure_is_encoded_from_the_drawing_that_measured_its_labels(monkeypatch):
    """fit_ticks measures the tick labels on a full draw; _png encodes that drawing (no second
    draw) while the figure is unchanged, and draws again once it has changed."""
    import base64
    import io

    from matplotlib import image as mpl_image
    from matplotlib.figure import Figure

    from sim.sweep import report

    table = pl.DataFrame({"p": [f"arm number {i}" for i in range(12)], "m.mean": [float(i) for i in range(12)],
                          "m.lo": [i - 0.5 for i in range(12)], "m.hi": [i + 0.5 for i in range(12)]})
    fig = _param_plot(table, "p", ["p"], ["m"])

    def decoded(uri):
        return mpl_image.imread(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))

    drawn = fig.canvas.buffer_rgba()
    with monkeypatch.context() as m:
        m.setattr(Figure, "savefig", lambda *a, **k: pytest.fail("drawn twice"))
        image = decoded(report._png(fig))
    size = (round(fig.get_figheight() * fig.dpi), round(fig.get_figwidth() * fig.dpi))
    assert image.shape[:2] == drawn.shape[:2] == size
    assert (np.round(image * 255).astype(np.uint8) == np.asarray(drawn)).all()
    assert fig.axes[0].get_xticklabels()[0].get_rotation() != 0  # twelve long categories: turned
    fig.axes[0].set_title("changed")
    saved = []
    monkeypatch.setattr(Figure, "savefig", lambda self, buf, **k: saved.append(k) or Figure.draw_without_rendering(self))
    report._png(fig)
    assert saved == [{"format": "png"}]
