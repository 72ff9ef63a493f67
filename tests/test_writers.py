"""write_run and the HTML report, on hand-made Results (no simulation)."""

import json
import math
import re

import numpy as np
import polars as pl
import pytest
import yaml

from sim.output.report import FIGURE_IDS, _Plotter, build_report
from sim.output.result import COST_SCHEMA, METRIC_SCHEMA, Result
from sim.output.writers import json_safe, write_run

PERIOD_S = 60.0


def _metrics() -> pl.DataFrame:
    """Five periods of the Lambda metrics the report draws, for two functions."""
    rows = []
    for name, scale in (("api", 1.0), ("worker", 0.5)):
        dim = f"FunctionName={name}"
        for k in range(5):
            t = k * PERIOD_S
            rows += [
                (t, "AWS/Lambda", "Invocations", dim, 100.0 * scale * (k + 1)),
                (t, "AWS/Lambda", "Throttles", dim, float(k)),
                (t, "AWS/Lambda", "Errors", dim, 0.0),
                (t, "AWS/Lambda", "ConcurrentExecutions", dim, 10.0 * scale + k),
                (t, "AWS/Lambda", "Duration", dim, 110.0),
                (t, "AWS/Lambda", "Duration.p50", dim, 80.0),
                (t, "AWS/Lambda", "Duration.p99", dim, 600.0),
                (t, "cloudtwin/Lambda", "ColdStarts", dim, float(5 - k)),
                (t, "cloudtwin/Lambda", "ProvisionedConcurrentExecutions", dim, 4.0),
            ]
        rows.append((0.0, "cloudtwin/Lambda", "ReservedConcurrency", dim, 50.0))
    rows.append((0.0, "cloudtwin/Lambda", "ConcurrencyLimit", "", 1000.0))
    for k in range(5):  # a queue's backlog snapshots
        rows += [(k * PERIOD_S, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName=orders", 50.0 * k),
                 (k * PERIOD_S, "AWS/SQS", "ApproximateNumberOfMessagesNotVisible", "QueueName=orders", 10.0),
                 (k * PERIOD_S, "AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName=orders", 30.0 * k)]
    return pl.DataFrame(rows, schema=METRIC_SCHEMA, orient="row")


def _function(invocations: int) -> dict:
    return {
        "invocations": invocations, "cold_starts": 15, "throttles": 10, "errors": 0,
        "timeouts": 0, "cold_start_ratio": 15 / invocations, "throttle_ratio": 10 / invocations,
        "avg_instances": 12.5, "avg_busy_instances": 11.0, "max_concurrency": 14,
        "billed_gb_s": 123.456,
        "latency_ms": {"mean": 116.0, "p50": 80.0, "p90": 250.0, "p99": 600.0,
                       "p999": 1200.0, "max": 3000.0},
        "init_ms": {"mean": 320.0, "p50": 300.0, "p99": math.nan},
    }


def make_result(requests: bool = True, metrics: bool = True, costs: bool = False) -> Result:
    summary = {
        "scenario": "hand_made", "seed": 7, "duration_s": 300.0, "wall_s": 0.5,
        "requests_simulated": 2250, "requests_per_wall_s": 4500.0,
        "functions": {"api": _function(1500), "worker": _function(750)},
    }
    req = pl.DataFrame()
    if requests:
        rng = np.random.default_rng(1)
        n = 200
        req = pl.DataFrame({
            "id": np.arange(n), "function": ["api", "worker"] * (n // 2),
            "latency_ms": rng.lognormal(np.log(80), 0.8, n),
        })
    cost_rows = pl.DataFrame(schema=COST_SCHEMA)
    if costs:
        summary["cost_usd"] = {"total": 0.25, "monthly": 60.83, "by_service": {"AWSLambda": 0.25}}
        cost_rows = pl.DataFrame(
            [("AWSLambda", "USE1-Lambda-GB-Second", "api", 15000.0, "GB-Seconds", 0.25, "")],
            schema=COST_SCHEMA, orient="row",
        )
    return Result(
        summary=summary,
        metrics=_metrics() if metrics else pl.DataFrame(schema=METRIC_SCHEMA),
        costs=cost_rows,
        requests=req,
        config={"name": "hand_made", "duration_s": 300.0, "record": {"period_s": PERIOD_S},
                "functions": {"api": {"memory_mb": 1024, "reserved_concurrency": None},
                              "worker": {"memory_mb": 512, "reserved_concurrency": 50}}},
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """One full write_run, shared: drawing the plots is the slow part."""
    result = make_result()
    return result, write_run(result, tmp_path_factory.mktemp("run") / "nested")


@pytest.fixture(scope="module")
def page(written):
    return written[1]["report"].read_text(encoding="utf-8")


def test_write_run_files(written):
    result, paths = written
    assert set(paths) == {"summary", "metrics", "costs", "requests", "config", "report"}
    assert sorted(p.name for p in paths["summary"].parent.iterdir()) == [
        "config.yaml", "costs.parquet", "metrics.parquet", "report.html",
        "requests.parquet", "summary.json"]
    assert pl.read_parquet(paths["metrics"]).equals(result.metrics)
    assert pl.read_parquet(paths["requests"]).equals(result.requests)
    costs = pl.read_parquet(paths["costs"])
    assert costs.height == 0 and dict(costs.schema) == COST_SCHEMA
    assert yaml.safe_load(paths["config"].read_text()) == result.config


def test_summary_json_round_trips_with_nan_as_null(written):
    result, paths = written
    text = paths["summary"].read_text()
    assert "NaN" not in text
    loaded = json.loads(text)
    assert loaded["functions"]["api"]["init_ms"]["p99"] is None
    assert loaded == json_safe(result.summary)
    assert loaded["functions"]["api"]["billed_gb_s"] == 123.456  # floats as computed


def test_json_safe_converts_numpy():
    value = {"a": np.int64(3), "b": np.float32(0.5), "c": (1, np.inf), "d": np.bool_(True)}
    assert json_safe(value) == {"a": 3, "b": 0.5, "c": [1, None], "d": True}
    assert type(json_safe(value)["a"]) is int


def test_no_requests_file_when_none_sampled(tmp_path):
    paths = write_run(make_result(requests=False, metrics=False), tmp_path)
    assert "requests" not in paths
    assert not (tmp_path / "requests.parquet").exists()
    assert (tmp_path / "report.html").exists()


def test_report_has_every_figure_with_a_plot(page):
    for fid in FIGURE_IDS:
        m = re.search(rf'<figure id="{fid}" data-state="(\w+)">', page)
        assert m, fid
        assert m.group(1) == "plot", fid
    assert page.count('<img src="data:image/png;base64,') == len(FIGURE_IDS)
    assert "http://" not in page and "https://" not in page  # self-contained


def test_report_numbers_match_summary(written, page):
    summary = json_safe(written[0].summary)
    found = dict(re.findall(r'data-key="([^"]+)" data-value="([^"]*)"', page))
    assert json.loads(found["functions.api.invocations"]) == 1500
    assert json.loads(found["functions.worker.latency_ms.p99"]) == 600.0
    assert json.loads(found["functions.api.init_ms.p99"]) is None
    assert json.loads(found["requests_simulated"]) == summary["requests_simulated"]
    for name, fields in summary["functions"].items():
        for key, value in fields.items():
            if not isinstance(value, dict):
                assert json.loads(found[f"functions.{name}.{key}"]) == value


def test_report_without_metrics_notes_each_missing_plot():
    page = build_report(make_result(requests=False, metrics=False))
    for fid in FIGURE_IDS:
        assert f'id="{fid}"' in page
    assert page.count('data-state="empty"') == len(FIGURE_IDS) - 1  # percentiles from summary
    assert "Not shown: no ConcurrentExecutions metric was recorded." in page


def test_cost_section_without_a_bill(page):
    assert '<section id="cost"><h2>Cost</h2>' in page
    assert "This run has no bill." in page


def test_cost_section_table():
    page = build_report(make_result(requests=False, metrics=False, costs=True))
    assert "This run has no bill." not in page
    assert 'id="cost-items"' in page and 'id="cost-breakdown"' in page
    assert 'data-key="cost_usd.monthly" data-value="60.83"' in page
    assert "USE1-Lambda-GB-Second" in page


@pytest.mark.parametrize("fn_column", ["fn", None])
def test_histogram_without_function_names(fn_column):
    result = make_result(metrics=False)
    req = result.requests.drop("function")
    if fn_column:
        req = req.with_columns(pl.Series(fn_column, [0, 1] * (req.height // 2)))
    result.requests = req
    fig = _Plotter(result).latency_histogram()
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == (["api (100)", "worker (100)"] if fn_column else ["all functions"])


def test_record_report_false_skips_the_page(tmp_path):
    from sim import simulate

    r = simulate({"name": "quiet", "duration_s": 60, "functions": {"f": {}},
                  "traffic": [{"name": "t", "target": "function:f", "arrivals": {"kind": "constant", "rate_per_s": 1}}],
                  "record": {"report": False}}, out_dir=tmp_path)
    assert (tmp_path / "summary.json").exists() and not (tmp_path / "report.html").exists()
    assert r.config["record"]["report"] is False
