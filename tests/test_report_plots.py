"""The report's figures: each drawn from data, with legends and labels inside the image and nothing overlapping."""

import re

import numpy as np
import pytest

from sim import simulate
from sim.output.report import FIGURE_IDS, build_report, figures
from sim.output.report_plots import seconds_unit, wilson_interval
from tests.figure_checks import assert_readable

SCENARIO = {
    "name": "plots", "duration_s": 900, "seed": 5,
    "functions": {
        "api": {"memory_mb": 512, "error_rate": 0.02,
                "duration_ms": {"dist": "lognormal", "median": 60, "p99": 400}},
        "a_function_with_a_long_name": {"reserved_concurrency": 2,
                                        "duration_ms": {"dist": "exponential", "mean": 400}},
    },
    "queues": {"work": {"visibility_timeout_s": 30, "max_receive_count": 3, "dead_letter_queue": "work_dlq"},
               "work_dlq": {}},
    "worker_fleets": {"w": {"queue": "work", "workers": 1, "processing_ms": {"dist": "fixed", "value": 250},
                            "error_rate": 0.1}},
    "traffic": [
        {"name": "web", "target": "function:api", "arrivals": {"kind": "poisson", "rate_per_s": 30}},
        {"name": "bg", "target": "function:a_function_with_a_long_name",
         "arrivals": {"kind": "poisson", "rate_per_s": 8}},
        {"name": "uploads", "target": "queue:work", "arrivals": {"kind": "poisson", "rate_per_s": 5}},
    ],
    "slo": {"functions": {"api": {"latency_p99_ms": 300, "error_ratio_max": 0.05},
                          "a_function_with_a_long_name": {"throttle_ratio_max": 0.01}},
            "queues": {"work": {"age_of_oldest_max_s": 120}}},
    "record": {"period_s": 60, "requests": {"sample": 0.2}},
}


@pytest.fixture(scope="module")
def result():
    return simulate(SCENARIO)


def test_every_figure_is_drawn_from_data(result):
    draw = figures(result)
    for fid in FIGURE_IDS + ["plot-cost-over-time"]:
        fig = draw[fid]()
        assert fig is not None, fid
        points = 0
        for ax in fig.axes:
            for line in ax.get_lines():
                y = np.asarray(line.get_ydata(), dtype=float)
                points += int(np.isfinite(y).sum())
            for coll in ax.collections:
                points += sum(len(p.vertices) for p in coll.get_paths())
            points += len(ax.patches)
        assert points > 0, fid


def test_legends_and_labels_are_inside_and_do_not_overlap(result):
    draw = figures(result)
    for fid in FIGURE_IDS + ["plot-cost-over-time"]:
        # nothing drawn below zero on a count, ratio or duration axis
        assert_readable(draw[fid](), fid, y_from_zero=True)


def test_slo_lines_are_drawn_where_set(result):
    draw = figures(result)
    labels = {fid: [t for ax in draw[fid]().axes for t in ax.get_legend_handles_labels()[1]]
              for fid in ("plot-ratios", "plot-duration", "plot-queue-age", "plot-latency-percentiles")}
    assert "SLO: errors ≤ 5 %" in labels["plot-ratios"]
    assert "SLO: throttled ≤ 1 %" in labels["plot-ratios"]
    assert "SLO: p99 ≤ 300 ms" in labels["plot-duration"]
    assert "work SLO ≤ 2 min" in labels["plot-queue-age"]
    latency = figures(result)["plot-latency-percentiles"]()
    bars = [c for c in latency.axes[0].collections if c.get_label().startswith("api SLO")]
    assert len(bars) == 1 and bars[0].get_segments()[0][0][1] == 300.0
    assert "api SLO p99 ≤ 300 ms" in labels["plot-latency-percentiles"]


def test_ratio_bands_stay_within_0_and_100_percent(result):
    fig = figures(result)["plot-ratios"]()
    for ax in fig.axes:
        for coll in ax.collections:
            for path in coll.get_paths():
                y = path.vertices[:, 1]
                y = y[np.isfinite(y)]
                assert y.min() >= 0 and y.max() <= 100


def test_report_has_the_new_sections(result):
    page = build_report(result)
    for needle in ('id="glance-slo"', 'data-slo="breach"', 'id="projection"', 'id="cost-by-service"',
                   'id="cost-by-resource"', 'id="diagram-services"', 'data-key="queues.work.in_flight_end"',
                   "in flight at the end", "throttled (% of attempts)", "15 min simulated"):
        assert needle in page, needle
    text = visible_text(page.split('<section id="config">')[0])  # the resolved YAML is the user's words
    for raw in ("duration_s", "cold_start_ratio", "latency_ms", "in_flight_end", "visible_end", "16.6667"):
        assert raw not in text, raw
    assert not re.search(r"\w_ratio\b", text)  # SLO lines name their key, `throttle_ratio_max`, on purpose


def visible_text(page):
    """The text a reader sees: no tags, attributes, styles or inline SVG/PNG data."""
    from html.parser import HTMLParser

    class Text(HTMLParser):
        def __init__(self):
            super().__init__()
            self.parts, self.skip = [], 0

        def handle_starttag(self, tag, attrs):
            self.skip += tag in ("style", "script", "title")

        def handle_endtag(self, tag):
            self.skip -= tag in ("style", "script", "title")

        def handle_data(self, data):
            if not self.skip:
                self.parts.append(data)

    t = Text()
    t.feed(page)
    return " ".join(t.parts)


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(np.array([0, 5, 10, 0]), np.array([10, 10, 10, 0]))
    np.testing.assert_allclose(lo[:3], [0.0, 0.2366, 0.7225], atol=5e-4)
    np.testing.assert_allclose(hi[:3], [0.2775, 0.7634, 1.0], atol=5e-4)
    assert np.isnan(lo[3]) and np.isnan(hi[3])


def test_wilson_interval_contains_the_ratio_within_0_1():
    rng = np.random.default_rng(1)
    n = rng.integers(1, 10_000, 500)
    k = rng.integers(0, n + 1)
    lo, hi = wilson_interval(k, n)
    p = k / n
    assert np.all((lo >= 0) & (hi <= 1) & (lo <= p + 1e-12) & (p <= hi + 1e-12))


@pytest.mark.parametrize("top, unit", [(30, "s"), (599, "s"), (600, "min"), (3 * 3600 - 1, "min"), (3 * 3600, "h")])
def test_seconds_unit(top, unit):
    assert seconds_unit(top)[1] == unit
