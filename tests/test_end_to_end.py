"""The CLI and `simulate()` end to end: a real run, its files, and user mistakes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from scenarios import ScenarioError
from sim import simulate

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from sim.cli import main; main()"]


def cloudtwin(*args, cwd=ROOT):
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_cli_runs_a_scenario_and_writes_every_output(tmp_path):
    p = cloudtwin("scenario=default", "scenario.duration_s=300", f"results_dir={tmp_path}")
    assert p.returncode == 0, p.stderr
    assert "report" in p.stdout and "api" in p.stdout
    assert "projected monthly cost $" in p.stdout and "of which Lambda $" in p.stdout
    run_dir = next(tmp_path.glob("runs/default/*"))
    for name in ("summary.json", "metrics.parquet", "costs.parquet", "config.yaml", "report.html",
                 "requests.parquet"):
        assert (run_dir / name).exists(), name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["duration_s"] == 300
    assert summary["functions"]["api"]["invocations"] > 0
    metrics = pl.read_parquet(run_dir / "metrics.parquet")
    assert metrics.columns == ["time_s", "namespace", "metric", "dimension", "value"]
    inv = metrics.filter((pl.col("metric") == "Invocations") & (pl.col("dimension") == "FunctionName=api"))
    assert inv["value"].sum() == summary["functions"]["api"]["invocations"]
    costs = pl.read_parquet(run_dir / "costs.parquet")
    assert set(costs["period"]) == {"simulated", "monthly"}
    assert summary["cost_usd"]["monthly"] > 0


def test_cli_takes_another_regions_price_book(tmp_path):
    p = cloudtwin("scenario=erlang_b", "scenario.duration_s=120", "pricing=eu-west-1", f"results_dir={tmp_path}")
    assert p.returncode == 0, p.stderr
    summary = json.loads(next(tmp_path.glob("runs/*/*/summary.json")).read_text())
    assert summary["cost_usd"]["by_service"]["AWSLambda"]["monthly"] > 0


def test_a_region_without_a_price_book_is_a_clear_error(tmp_path):
    p = cloudtwin("scenario=erlang_b", "scenario.region=ap-south-2", f"results_dir={tmp_path}")
    assert p.returncode == 2
    assert "no price book" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("override, expected", [
    ("scenario.functions.api.memory_mb=100", "functions.api.memory_mb: 100 is below the minimum 128"),
    ("+scenario.functions.api.memroy_mb=1024", "memroy_mb"),
    ("scenario.traffic.0.target=function:nope", "traffic[0].target"),
    ("scenario.traffic.0.arrivals.rate_per_s=-5", "traffic[0].arrivals.rate_per_s"),
    ("scenario.functions.worker.reserved_concurrency=950", "unreserved"),
])
def test_cli_mistakes_give_a_message_not_a_traceback(tmp_path, override, expected):
    p = cloudtwin("scenario=default", override, f"results_dir={tmp_path}")
    assert p.returncode == 2, p.stdout + p.stderr
    assert expected in p.stderr
    assert "Traceback" not in p.stderr


def test_simulate_takes_a_minimal_dict_and_fills_defaults():
    r = simulate({"name": "tiny", "duration_s": 60,
                  "functions": {"f": {}},
                  "traffic": [{"name": "t", "target": "function:f",
                               "arrivals": {"kind": "constant", "rate_per_s": 2}}]})
    assert r.summary["functions"]["f"]["invocations"] == 120
    assert r.config["record"]["period_s"] == 60 and r.config["billing"]["month_h"] == 730


def test_simulate_rejects_a_dangling_target():
    with pytest.raises(ScenarioError, match=r"traffic\[0\]\.target"):
        simulate({"name": "x", "duration_s": 60, "functions": {"f": {}},
                  "traffic": [{"name": "t", "target": "function:g",
                               "arrivals": {"kind": "poisson", "rate_per_s": 1}}]})
