"""The sweep report's intervals: Wilson for ratios on pooled counts, Student t clipped at 0 otherwise, never below 0, and figures that read well."""

from __future__ import annotations

import math
import re

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from sim.sweep import stats
from sim.sweep.report import _fronts, _functions, _param_plot, _pareto_plot, build_sweep_report, yerr
from tests.figure_checks import assert_readable
from tests.test_sweep_report_params import ARCH, CASES, FLAG, MEMORY, RESERVED, _sweep

FN = "functions.api"

# ---------------------------------------------------------------- hand-worked and reference values


def test_wilson_pooled_against_a_hand_worked_value():
    # 2 of 40 and 3 of 60 pooled: 5 of 100, p = 0.05, z = 1.96, z² = 3.8416
    #   centre = (0.05 + 3.8416 / 200) / (1 + 3.8416 / 100) = 0.069208 / 1.038416 = 0.066648
    #   half   = 1.96 sqrt(0.05 x 0.95 / 100 + 3.8416 / 40000) / 1.038416 = 0.045104
    est, lo, hi = stats.wilson_pooled([2, 3], [40, 60])
    assert est == 0.05
    assert lo == pytest.approx(0.021544, abs=2e-6) and hi == pytest.approx(0.111752, abs=2e-6)
    # the same counts as an arm's replications: both runs throttle 5 % of attempts, so the
    # runs agree and the interval is Wilson's on the pooled counts alone
    part = pl.DataFrame({f"{FN}.throttle_ratio": [0.05, 0.05], f"{FN}.throttles": [2, 3],
                         f"{FN}.invocations": [38, 57]})
    mean, lo2, hi2, n = stats.metric_interval(part, f"{FN}.throttle_ratio")
    assert (mean, n) == (0.05, 2) and (lo2, hi2) == pytest.approx((lo, hi), abs=1e-12)


def test_cold_start_ratio_divides_by_invocations():
    part = pl.DataFrame({f"{FN}.cold_start_ratio": [0.1, 0.3], f"{FN}.cold_starts": [1, 9],
                         f"{FN}.invocations": [10, 30], f"{FN}.throttles": [50, 50]})
    est, lo, hi, n = stats.metric_interval(part, f"{FN}.cold_start_ratio")
    assert est == pytest.approx(10 / 40) and n == 2
    w_lo, w_hi = stats.wilson_pooled([1, 9], [10, 30])[1:]
    t_mean, t_lo, t_hi, _ = stats.student_interval([0.1, 0.3])
    # the runs disagree more than pooled counts admit: widened to their t interval, within [0, 1]
    assert lo == max(0.0, min(w_lo, t_lo)) == 0.0 and hi == min(1.0, max(w_hi, t_hi)) == 1.0


def test_ratio_count_columns_follow_the_summary():
    assert stats.ratio_count_columns(f"{FN}.throttle_ratio") == (
        f"{FN}.throttles", (f"{FN}.invocations", f"{FN}.throttles"))
    assert stats.ratio_count_columns(f"{FN}.cold_start_ratio") == (f"{FN}.cold_starts", (f"{FN}.invocations",))
    assert stats.ratio_count_columns(f"{FN}.error_ratio") is None
    assert stats.is_ratio(f"{FN}.error_ratio") and not stats.is_ratio("cost_usd.monthly")


@pytest.mark.parametrize("values", [[1.0, 3.0], [10.0, 12.0, 11.5, 9.0], [0.5, 0.7, 0.1, 2.0, 1.3]])
def test_student_interval_against_scipy(values):
    mean, lo, hi, n = stats.student_interval(values)
    want = sps.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=sps.sem(values))
    assert n == len(values) and mean == pytest.approx(np.mean(values))
    assert hi == pytest.approx(want[1], rel=1e-12)
    assert lo == pytest.approx(max(0.0, want[0]), rel=1e-12, abs=1e-15)


def test_student_interval_clips_only_non_negative_metrics():
    assert stats.student_interval([1.0, 3.0])[1] == 0.0  # t says -10.7: a mean of costs is never negative
    assert stats.student_interval([-1.0, 3.0])[1] < 0  # a metric that can be negative keeps its bound
    assert all(math.isnan(v) for v in stats.student_interval([5.0])[1:3])
    assert stats.student_interval([None, float("nan")])[3] == 0


def test_a_ratio_without_counts_is_clipped_to_0_and_1():
    est, lo, hi, n = stats.ratio_interval([0.9, 1.0, 0.95])
    assert est == pytest.approx(0.95) and hi == 1.0 and 0 < lo < est and n == 3
    assert stats.ratio_interval([0.0, 0.02])[1] == 0.0


# ---------------------------------------------------------------- never below zero (hypothesis)

positive = st.floats(0.0, 1e6, allow_nan=False)
fraction = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(positive, min_size=1, max_size=12))
def test_non_negative_metrics_never_get_a_bound_below_zero(values):
    mean, lo, hi, n = stats.student_interval(values)
    assert n == len(values)
    if n > 1:
        assert 0.0 <= lo <= mean * (1 + 1e-12) + 1e-12 and hi >= mean * (1 - 1e-12) - 1e-12


@settings(max_examples=200, deadline=None)
@given(st.lists(fraction, min_size=1, max_size=12))
def test_ratios_without_counts_stay_within_0_and_1(values):
    est, lo, hi, n = stats.ratio_interval(values)
    assert 0.0 <= est <= 1.0
    if n > 1:
        assert 0.0 <= lo <= est + 1e-12 and est - 1e-12 <= hi <= 1.0


@st.composite
def replications(draw):
    """Per replication: (throttles, invocations), the ratio the summary writes for them."""
    runs = draw(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)), min_size=1, max_size=10))
    return [(k, inv, k / (inv + k) if inv + k else 0.0) for k, inv in runs]


@settings(max_examples=200, deadline=None)
@given(replications())
def test_ratios_from_counts_stay_within_0_and_1_around_the_pooled_ratio(runs):
    k, inv, ratio = (list(c) for c in zip(*runs))
    part = pl.DataFrame({f"{FN}.throttle_ratio": ratio, f"{FN}.throttles": k, f"{FN}.invocations": inv})
    est, lo, hi, n = stats.metric_interval(part, f"{FN}.throttle_ratio")
    attempts = sum(k) + sum(inv)
    if attempts == 0:  # nothing tried: no Wilson interval, the runs' ratios (all 0) instead
        assert est == 0.0 and n == len(runs)
        return
    assert est == pytest.approx(sum(k) / attempts) and n == len(runs)
    assert 0.0 <= lo <= est + 1e-12 and est - 1e-12 <= hi <= 1.0
    assert lo < hi  # Wilson's interval has width even when every run says 0 or 1


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(positive, st.floats(0.0, 1e3, allow_nan=False)), min_size=1, max_size=8),
       st.sampled_from(["cost_usd.monthly", f"{FN}.latency_ms.p99", f"{FN}.invocations"]))
def test_every_arm_of_a_non_negative_metric_draws_no_bar_below_zero(rows, metric):
    df = pl.DataFrame({"p": [i % 2 for i in range(len(rows))], metric: [r[0] for r in rows]})
    for _, part in df.group_by("p"):
        mean, lo, hi, _ = stats.metric_interval(part, metric)
        bars = yerr([mean], [lo], [hi])
        assert np.all(bars >= 0) and mean - bars[0, 0] >= 0


# ---------------------------------------------------------------- the arms table and the page


def test_arms_carry_lo_and_hi_and_the_page_shows_them(tmp_path):
    df = _sweep(tmp_path, {MEMORY: [128, 1024]})  # with throttles and invocations beside the ratio
    metrics = stats.key_metrics(df)
    table = stats.arms(df, metrics)
    for m in metrics:
        assert {f"{m}.mean", f"{m}.lo", f"{m}.hi", f"{m}.n"} <= set(table.columns)
        assert (table[f"{m}.lo"] >= 0).all() and (table[f"{m}.lo"] <= table[f"{m}.mean"]).all()
        assert (table[f"{m}.hi"] >= table[f"{m}.mean"]).all()
    ratio = f"{FN}.throttle_ratio"
    part = df.filter(pl.col(MEMORY) == 128)
    assert table[f"{ratio}.mean"][0] == part[f"{FN}.throttles"].sum() / (
        part[f"{FN}.throttles"].sum() + part[f"{FN}.invocations"].sum())
    page = build_sweep_report(df)
    assert "throttled (% of attempts)" in page and "monthly cost (USD)" in page
    assert "latency p99 (ms)" in page and "±" not in page
    cost = table.row(0, named=True)
    want = f'{_usd(cost["cost_usd.monthly.mean"])} <span class="pm">[{_usd(cost["cost_usd.monthly.lo"])}, '
    assert want in page
    assert re.search(r">\d+\.\d\d % <span class=\"pm\">\[\d+\.\d\d %, \d+\.\d\d %\]</span>", page)  # ratios in %


def _usd(x):
    from sim.output.report_format import usd_text

    return usd_text(x)


# ---------------------------------------------------------------- figures read well


FIGURE_CASES = {
    "1 parameter": {MEMORY: [128, 512, 1024]},
    "1 parameter, crowded linear ticks": {MEMORY: list(range(1000, 1010))},
    "2 parameters": CASES["two numeric (the issue's crash)"],
    "2 parameters, text": CASES["numeric and text"],
    "3 parameters": CASES["three mixed"],
    "3 parameters, many series": CASES["three numeric, many series"],
    "3 parameters, long values": {ARCH: ["x86_64_with_a_long_name", "arm64_graviton_processor", "z"],
                                  FLAG: [True, False], RESERVED: [None, 50, 100]},
}


@pytest.mark.parametrize("name", list(FIGURE_CASES))
def test_sweep_figures_read_well(name, tmp_path):
    df = _sweep(tmp_path, FIGURE_CASES[name])
    metrics = stats.key_metrics(df)
    cols = list(stats.parameters(df).values())
    table = stats.arms(df, metrics)
    fronts = _fronts(table, _functions(metrics))
    assert_readable(_pareto_plot(table, cols, fronts), f"{name}: pareto")
    for param in cols:
        fig = _param_plot(table, param, cols, metrics)
        assert_readable(fig, f"{name}: against {param}")
        for ax in fig.axes:
            for container in ax.containers:
                for bars in container.lines[2]:
                    for seg in bars.get_segments():
                        assert np.all(np.asarray(seg)[:, 1] >= 0), (name, "error bar below zero")
