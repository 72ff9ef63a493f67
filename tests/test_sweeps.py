"""Sweeps: presets compose, common random numbers, gathering through each launcher, the sweep report."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from polars.testing import assert_frame_equal

import sim.cli as cli
from scenarios import load_scenario
from sim import simulate
from sim.sweep import stats
from sim.sweep.cli import main as report_main
from sim.sweep.gather import WALL_COLUMNS, gather, job_dirs
from sim.sweep.report import build_sweep_report
from sim.sweep.rundir import read_run

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from sim.cli import main; main()"]
PRESETS = sorted(p.stem for p in (cli.CONFIG_DIR / "sweep").glob("*.yaml"))
MEMORY = "scenario.functions.server.memory_mb"
POINTS = [(m, s) for m in (128, 1024) for s in (0, 1)]  # (memory_mb, seed)


def _compose(overrides):
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(cli.CONFIG_DIR), version_base="1.3"):
            return compose("config", overrides=list(overrides), return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()


def _flat(d, prefix=""):
    """Dotted scalars of a nested dict, written independently of sim.sweep.gather.flatten."""
    out = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


# ---------------------------------------------------------------- presets and config

def test_the_presets_are_there():
    assert {"memory", "traffic", "reserved", "seeds"} <= set(PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_value_makes_a_valid_default_scenario(name):
    params = _compose([f"sweep={name}"]).hydra.sweeper.params
    assert params, name
    for key, text in params.items():
        (override,) = OverridesParser.create().parse_overrides([f"{key}={text}"])
        values = list(override.sweep_iterator())
        assert len(values) >= 4, (key, values)
        for value in values:
            cfg = _compose([f"sweep={name}", f"{key}={value}"])
            scenario = load_scenario(cli.scenario_dict(cfg))  # raises on any mistake
            assert scenario.name == "default"


def test_seeds_sweeps_a_seed_range_and_presets_combine():
    params = _compose(["sweep=[memory,seeds]", "seeds=4"]).hydra.sweeper.params
    assert params["scenario.seed"] == "range(0,4)"
    assert params["scenario.functions.api.memory_mb"].startswith("128,")
    assert params["scenario.functions.api.memory_mb"].endswith(",3008")


def test_the_gathering_callback_is_configured_and_importable():
    cfg = _compose([])
    target = cfg.hydra.callbacks.gather._target_
    module, name = target.rsplit(".", 1)
    __import__(module)
    assert getattr(sys.modules[module], name).__name__ == "GatherSweep"
    assert Path(cfg.hydra.sweep.dir).is_absolute()


# ---------------------------------------------------------------- common random numbers

def _two_functions(seed=3, idle_memory_mb=128, month_h=730):
    return {
        "name": "crn", "duration_s": 300, "seed": seed,
        "functions": {
            "server": {"memory_mb": 512, "reserved_concurrency": 10,
                       "duration_ms": {"dist": "exponential", "mean": 100},
                       "init_ms": {"dist": "lognormal", "median": 200, "p99": 800}},
            "idle": {"memory_mb": idle_memory_mb},  # nobody calls it
        },
        "traffic": [{"name": "calls", "target": "function:server",
                     "arrivals": {"kind": "poisson", "rate_per_s": 90},
                     "retries": {"max_attempts": 3}}],
        "record": {"requests": {"sample": 0.1}},
        "billing": {"month_h": month_h},
    }


def _without_wall(summary):
    return {k: v for k, v in _flat(summary).items() if k not in WALL_COLUMNS}


def test_common_random_numbers_an_arm_with_no_effect_gives_identical_metrics():
    base = simulate(_two_functions())
    other = simulate(_two_functions(idle_memory_mb=3008))
    assert _without_wall(other.summary) == _without_wall(base.summary)
    assert_frame_equal(other.metrics, base.metrics)
    assert_frame_equal(other.requests, base.requests)
    # and a different seed does change them, so the equality above is not vacuous
    reseeded = simulate(_two_functions(seed=4))
    assert reseeded.summary["functions"]["server"]["throttles"] != base.summary["functions"]["server"]["throttles"]


def test_common_random_numbers_billing_hours_change_only_the_projected_month():
    base = _without_wall(simulate(_two_functions()).summary)
    longer = _without_wall(simulate(_two_functions(month_h=1460)).summary)
    differ = {k for k in base if base[k] != longer[k]}
    assert differ and all(k.startswith("cost_usd.") for k in differ), differ
    assert "cost_usd.monthly" in differ and "cost_usd.total" not in differ


# ---------------------------------------------------------------- a four-point sweep

def _run_sweep(tmp_path, *launcher, env=None):
    """The 2 memory sizes x 2 seeds sweep through the CLI; (sweep dir, wall seconds).

    `env`: variables added to this process's environment for the CLI.
    """
    args = [*launcher, "scenario=erlang_b", "scenario.duration_s=120",
            f"{MEMORY}=128,1024", "scenario.seed=0,1", f"results_dir={tmp_path}"]
    t0 = time.perf_counter()
    p = subprocess.run([*CLI, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={**os.environ, **(env or {})})
    wall = time.perf_counter() - t0
    assert p.returncode == 0, p.stderr[-3000:]
    (sweep_dir,) = (tmp_path / "sweeps").iterdir()
    assert f"sweep: {sweep_dir / 'sweep.parquet'}" in p.stdout
    # a job draws no report.html and says so, and how to draw it (Ray folds repeated lines
    # from its workers into one: "[repeated 3x across cluster]")
    assert not any((d / "report.html").exists() for d in job_dirs(sweep_dir))
    assert "report: not drawn (a sweep's job, record.report: auto); cloudtwin-report " in p.stdout
    return sweep_dir, wall


@pytest.fixture(scope="module")
def one_by_one():
    """The same four points, each run on its own with simulate(); gathered as a sweep would be."""
    data = yaml.safe_load((cli.CONFIG_DIR / "scenario" / "erlang_b.yaml").read_text())
    data.pop("defaults")
    rows = []
    for memory_mb, seed in POINTS:
        data.update(duration_s=120, seed=seed)
        data["functions"]["server"]["memory_mb"] = memory_mb
        summary = json.loads(json.dumps(simulate(data).summary))  # as summary.json holds it
        rows.append({MEMORY: memory_mb, "scenario.seed": seed, **_flat(summary)})
    return pl.from_dicts(rows, infer_schema_length=None).drop(WALL_COLUMNS)


@pytest.fixture(scope="module")
def basic_sweep(tmp_path_factory):
    return _run_sweep(tmp_path_factory.mktemp("basic"))


@pytest.fixture(scope="module")
def joblib_sweep(tmp_path_factory):
    return _run_sweep(tmp_path_factory.mktemp("joblib"), "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")


def assert_same_as_one_by_one(sweep_dir, one_by_one):
    """sweep.parquet of `_run_sweep` holds the four points as run one by one, bar wall times."""
    got = pl.read_parquet(sweep_dir / "sweep.parquet")
    assert got.height == 4 and got["job"].to_list() == [0, 1, 2, 3]
    assert set(got.columns) - set(one_by_one.columns) == {
        "job", "job_dir", "overrides", "override.scenario", "scenario.duration_s", "results_dir", *WALL_COLUMNS}
    assert got["override.scenario"].unique().to_list() == ["erlang_b"]
    assert got[MEMORY].dtype == pl.Int64 and got["scenario.duration_s"].to_list() == [120] * 4
    key = [MEMORY, "scenario.seed"]
    assert_frame_equal(got.select(one_by_one.columns).sort(key), one_by_one.sort(key))
    assert (sweep_dir / "sweep_report.html").stat().st_size > 0


@pytest.mark.parametrize("launcher", ["basic_sweep", "joblib_sweep"])
def test_a_sweep_gathers_the_same_table_as_running_each_point(launcher, one_by_one, request):
    sweep_dir, wall = request.getfixturevalue(launcher)
    print(f"{launcher}: 4 jobs in {wall:.2f} s")
    assert_same_as_one_by_one(sweep_dir, one_by_one)


def test_the_launchers_agree_job_by_job(basic_sweep, joblib_sweep):
    a, b = (pl.read_parquet(d / "sweep.parquet").drop("results_dir", "overrides", *WALL_COLUMNS)
            for d, _ in (basic_sweep, joblib_sweep))
    assert_frame_equal(a, b)


# ---------------------------------------------------------------- gathering by hand

def _job(sweep_dir, num, overrides, summary):
    d = sweep_dir / f"{num}_x"
    (d / ".hydra").mkdir(parents=True)
    (d / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (d / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"job": {"num": num}}}))
    (d / "summary.json").write_text(json.dumps(summary))


def test_gather_types_columns_and_keeps_jobs_in_order(tmp_path):
    s = {"scenario": "x", "seed": 0, "functions": {"f": {"latency_ms": {"p99": 2}}},
         "cost_usd": {"monthly": 1.5, "by_service": {"AWSLambda": {"monthly": 1.5}}}, "tags": [1]}
    _job(tmp_path, 10, ["scenario=x", "a.b=128", "c=fast", "d=true"], {**s, "seed": 1})
    _job(tmp_path, 2, ["scenario=x", "a.b=2.5", "c=3", "d=false"], s)
    df = gather(tmp_path)
    assert df["job"].to_list() == [2, 10] and df["job_dir"].to_list() == ["2_x", "10_x"]
    assert df.columns == ["job", "job_dir", "overrides", "override.scenario", "a.b", "c", "d",
                          "scenario", "seed", "functions.f.latency_ms.p99", "cost_usd.monthly",
                          "cost_usd.by_service.AWSLambda.monthly"]
    assert df["a.b"].to_list() == [2.5, 128.0]  # numbers where every value is one
    assert df["c"].to_list() == ["3", "fast"]  # otherwise text
    assert df["d"].to_list() == [False, True]
    assert df["functions.f.latency_ms.p99"].dtype == pl.Int64
    assert stats.parameters(df) == {"a.b": "a.b", "c": "c", "d": "d"}
    assert stats.fixed_overrides(df) == {"scenario": "x"}


# ---------------------------------------------------------------- statistics and the report

def test_mean_ci_is_student_t():
    mean, half, n = stats.mean_ci([1.0, 3.0])
    assert (mean, n) == (2.0, 2)
    assert half == pytest.approx(12.7062047, rel=1e-6)  # t(0.975, 1) x sd sqrt(2) / sqrt(2)
    assert math.isnan(stats.mean_ci([5.0])[1]) and stats.mean_ci([None, 5.0])[0] == 5.0


def test_pareto_front_minimises_both():
    x = [1.0, 2.0, 3.0, 2.0, float("nan"), 1.0]
    y = [5.0, 3.0, 1.0, 4.0, 0.0, 6.0]
    assert stats.pareto_front(x, y).tolist() == [True, True, True, False, False, False]


def test_sweep_report_compares_the_arms(basic_sweep):
    df = pl.read_parquet(basic_sweep[0] / "sweep.parquet")
    page = build_sweep_report(df)
    assert page.startswith("<!DOCTYPE html>")
    assert 'src="http' not in page and "<script" not in page and "<link" not in page  # self-contained
    assert "No job" in build_sweep_report(pl.DataFrame())
    for fid in ("plot-pareto", "plot-param-0"):
        assert f'<figure id="{fid}" data-state="plot">' in page
    table = stats.arms(df, stats.key_metrics(df))
    assert table[MEMORY].to_list() == [128, 1024] and table["runs"].to_list() == [2, 2]
    cost = df.filter(pl.col(MEMORY) == 1024)["cost_usd.monthly"].mean()
    assert table["cost_usd.monthly.mean"][1] == pytest.approx(cost)
    assert f'data-key="arm.1.cost_usd.monthly" data-value="{json.dumps(table["cost_usd.monthly.mean"][1])}"' in page
    # common random numbers: memory does not change durations here, so both arms match
    p99 = "functions.server.latency_ms.p99.mean"
    assert table[p99][0] == table[p99][1]
    assert 'data-key="arm.0.front" data-value="[&quot;server&quot;]"' in page  # cheaper, same p99


# ---------------------------------------------------------------- cloudtwin-report

def test_report_command_draws_a_sweep_jobs_report_identically(basic_sweep, capsys):
    """A sweep's job draws no report.html (record.report: auto); cloudtwin-report draws it
    from the job's files, the same page each time."""
    run_dir = job_dirs(basic_sweep[0])[0]
    assert not (run_dir / "report.html").exists() and (run_dir / "summary.json").is_file()
    assert report_main([str(run_dir)]) == 0
    assert f"report: {run_dir / 'report.html'}" in capsys.readouterr().out
    original = (run_dir / "report.html").read_text()
    assert original.rstrip().endswith("</html>") and "erlang_b" in original
    (run_dir / "report.html").unlink()
    assert report_main([str(run_dir)]) == 0
    assert (run_dir / "report.html").read_text() == original


def test_report_command_regathers_a_sweep(basic_sweep, capsys):
    sweep_dir = basic_sweep[0]
    before = pl.read_parquet(sweep_dir / "sweep.parquet")
    original = (sweep_dir / "sweep_report.html").read_text()
    for name in ("sweep.parquet", "sweep_report.html"):
        (sweep_dir / name).unlink()
    assert report_main([str(sweep_dir)]) == 0
    assert "sweep report:" in capsys.readouterr().out
    assert_frame_equal(pl.read_parquet(sweep_dir / "sweep.parquet"), before)
    assert (sweep_dir / "sweep_report.html").read_text() == original


def test_read_run_loads_flow_logs_when_the_run_wrote_them(basic_sweep, tmp_path):
    run_dir = job_dirs(basic_sweep[0])[0]
    assert read_run(run_dir).flow_logs is None  # erlang_b has no VPC: no flow_logs.parquet
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    logs = pl.DataFrame({"flow": ["g", "g"], "flow_id": [0, 1], "start": [1.0, 2.5], "action": ["ACCEPT", "REJECT"]})
    logs.write_parquet(copy / "flow_logs.parquet")
    assert_frame_equal(read_run(copy).flow_logs, logs)


def test_report_command_refuses_a_directory_without_runs(tmp_path):
    p = subprocess.run([sys.executable, "-m", "sim.sweep.cli", str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "neither a run directory" in p.stderr and "Traceback" not in p.stderr
