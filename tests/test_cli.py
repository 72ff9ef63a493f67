"""The Hydra config tree composes, and the CLI writes a run and reports user mistakes cleanly."""

import json
import sys
from pathlib import Path

import polars as pl
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

import sim
import sim.cli as cli
from sim.output.result import METRIC_SCHEMA, Result
from sim.output.writers import write_run

SCENARIOS = sorted(p.stem for p in (cli.CONFIG_DIR / "scenario").glob("*.yaml"))


@pytest.fixture(autouse=True)
def fresh_hydra():
    GlobalHydra.instance().clear()
    yield
    GlobalHydra.instance().clear()


def _compose(overrides=(), hydra_config=False):
    with initialize_config_dir(config_dir=str(cli.CONFIG_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides), return_hydra_config=hydra_config)


def test_the_scenarios_are_there():
    assert {"default", "erlang_b", "cold_starts", "burst", "fanout", "eventbridge_router", "worker_fleet",
            "vpc_three_tier"} <= set(SCENARIOS)


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_composes(name):
    cfg = _compose([f"scenario={name}"])
    data = cli.scenario_dict(cfg)
    assert data["name"] == name  # run directories are named after it
    assert data["traffic"] or data["flows"]  # something to simulate
    assert (data["functions"] or data["queues"] or data["vpcs"] or data["services"] or data["swf_workflows"]
            or data["brokers"])


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_validates(name):
    load = pytest.importorskip("scenarios.load")
    scenario = load.load_scenario(cli.scenario_dict(_compose([f"scenario={name}"])))
    assert scenario.name == name


def test_overrides_reach_the_scenario():
    cfg = _compose(["scenario.functions.api.memory_mb=2048", "scenario.duration_s=600"])
    data = cli.scenario_dict(cfg)
    assert data["functions"]["api"]["memory_mb"] == 2048
    assert data["duration_s"] == 600


def test_output_dirs_are_absolute_and_under_results():
    cfg = _compose(["scenario=burst"], hydra_config=True)
    run_dir = Path(cfg.hydra.run.dir)
    assert run_dir.is_absolute()
    assert run_dir.parent == cli.ROOT / "results" / "runs" / "burst"
    assert Path(cfg.hydra.sweep.dir).parent == cli.ROOT / "results" / "sweeps"
    assert cfg.hydra.job.chdir is False


def _fake_simulate(scenario, out_dir=None, price_book=None, **kwargs):
    """Stands in for the engine: a Result built from the scenario, written like simulate()."""
    assert isinstance(scenario, dict)
    fn = {"invocations": 10, "cold_start_ratio": 0.1, "throttles": 0, "errors": 0,
          "latency_ms": {"p50": 80.0, "p99": 600.0}, "max_concurrency": 2, "avg_instances": 1.0}
    summary = {"scenario": scenario["name"], "seed": scenario["seed"],
               "duration_s": scenario["duration_s"], "wall_s": 0.1, "requests_simulated": 10,
               "requests_per_wall_s": 100.0, "functions": {n: fn for n in scenario["functions"]}}
    result = Result(summary=summary, metrics=pl.DataFrame(schema=METRIC_SCHEMA), config=scenario)
    if out_dir is not None:
        write_run(result, out_dir)
    return result


def test_main_writes_the_run(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sim, "simulate", _fake_simulate, raising=False)
    monkeypatch.setattr(sys, "argv", ["cloudtwin", f"results_dir={tmp_path}",
                                      "scenario=erlang_b", "scenario.seed=11"])
    cli.main()
    (run_dir,) = (tmp_path / "runs" / "erlang_b").iterdir()
    assert json.loads((run_dir / "summary.json").read_text())["seed"] == 11
    assert (run_dir / "report.html").exists()
    assert OmegaConf.load(run_dir / "config.yaml").seed == 11
    out = capsys.readouterr().out
    assert "scenario erlang_b  seed 11" in out
    assert f"report: {run_dir / 'report.html'}" in out


def test_a_scenario_mistake_exits_2_without_traceback(monkeypatch, tmp_path, capsys):
    errors = pytest.importorskip("scenarios.errors")

    def broken(scenario, out_dir=None, price_book=None, **kwargs):
        raise errors.ScenarioError([("functions.api.memory_mb", "must be 128-10240, got 5")])

    monkeypatch.setattr(sim, "simulate", broken, raising=False)
    monkeypatch.setattr(sys, "argv", ["cloudtwin", f"results_dir={tmp_path}"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "the scenario has mistakes" in err
    assert "must be 128-10240, got 5" in err
    assert "Traceback" not in err


def test_an_internal_error_is_one_line_and_logged(monkeypatch, tmp_path, capsys):
    def crash(scenario, out_dir=None, price_book=None, **kwargs):
        raise RuntimeError("kernel exploded")

    monkeypatch.setattr(sim, "simulate", crash, raising=False)
    monkeypatch.setattr(sys, "argv", ["cloudtwin", f"results_dir={tmp_path}", "scenario=erlang_b"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error (RuntimeError: kernel exploded)" in err
    (run_dir,) = (tmp_path / "runs" / "erlang_b").iterdir()
    assert "RuntimeError: kernel exploded" in (run_dir / "cloudtwin.log").read_text()
    assert not (run_dir / "summary.json").exists()


def _counting_loader(monkeypatch):
    """Counts the compositions of Hydra's own `load_sweep_config` (under cli._compose_jobs_once)."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    calls = []
    original = ConfigLoaderImpl.load_sweep_config

    def counted(self, master_config, sweep_overrides):
        calls.append(list(sweep_overrides))
        return original(self, master_config, sweep_overrides)

    monkeypatch.setattr(ConfigLoaderImpl, "load_sweep_config", counted)
    return calls


@pytest.mark.parametrize("launcher, compositions", [("basic", 1), ("joblib", 2)])
def test_a_job_checked_by_the_sweeper_is_composed_once_with_the_basic_launcher(monkeypatch, launcher, compositions):
    from hydra.types import RunMode

    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    calls = _counting_loader(monkeypatch)
    with initialize_config_dir(config_dir=str(cli.CONFIG_DIR), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        master = loader.load_configuration("config", [f"hydra/launcher={launcher}"], RunMode.MULTIRUN)
        with cli._compose_jobs_once():
            checked = loader.load_sweep_config(master, ["scenario.seed=3"])  # the sweeper's check
            launched = loader.load_sweep_config(master, ["scenario.seed=3"])  # the launcher's call
            other = loader.load_sweep_config(master, ["scenario.seed=4"])
    assert len(calls) == compositions + 1
    assert launched is not checked  # the launcher may change its copy freely
    assert OmegaConf.to_container(launched) == OmegaConf.to_container(checked)
    assert launched.scenario.seed == 3 and other.scenario.seed == 4
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    assert ConfigLoaderImpl.load_sweep_config.__name__ == "counted"  # put back on leaving


def test_a_basic_multirun_composes_each_job_once(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sim, "simulate", _fake_simulate, raising=False)
    calls = _counting_loader(monkeypatch)
    monkeypatch.setattr(sys, "argv", ["cloudtwin", "-m", f"results_dir={tmp_path}", "scenario=erlang_b",
                                      "scenario.seed=1,2,3"])
    cli.main()
    assert sorted(c.lstrip("+") for o in calls for c in o if c.lstrip("+").startswith("scenario.seed")) == [
        "scenario.seed=1", "scenario.seed=2", "scenario.seed=3"]  # the sweeper's check only
    seeds = sorted(json.loads(p.read_text())["seed"] for p in tmp_path.glob("sweeps/*/*/summary.json"))
    assert seeds == [1, 2, 3]


def test_a_joblib_multirun_composes_only_its_first_job_in_the_parent(monkeypatch, tmp_path):
    """The workers compose their own jobs; the parent checks the batch's first (cli._check_batch)."""
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    calls = _counting_loader(monkeypatch)
    monkeypatch.setattr(sys, "argv", ["cloudtwin", "-m", f"results_dir={tmp_path}", "scenario=erlang_b",
                                      "scenario.duration_s=5", "scenario.seed=1,2,3", "hydra/launcher=joblib",
                                      "hydra.launcher.n_jobs=2"])
    cli.main()
    assert [c.lstrip("+") for o in calls for c in o if c.lstrip("+").startswith("scenario.seed")] == [
        "scenario.seed=1"]
    seeds = sorted(json.loads(p.read_text())["seed"] for p in tmp_path.glob("sweeps/*/*/summary.json"))
    assert seeds == [1, 2, 3]
    from hydra.plugins.sweeper import Sweeper

    assert not hasattr(Sweeper.validate_batch_is_legal, "__wrapped__")  # put back on leaving


def test_a_joblib_sweep_runs_on_the_workers_warmed_while_the_cli_checked_it(monkeypatch, tmp_path):
    """prepare starts joblib's workers (sim.sweep.prewarm) with the launcher's own arguments,
    so the launcher's Parallel reuses that executor: the warm-up's processes are its workers."""
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    from joblib.externals.loky import reusable_executor

    from sim.sweep import prewarm

    monkeypatch.setattr(prewarm, "_pids", [])
    monkeypatch.setattr(sys, "argv", ["cloudtwin", "-m", f"results_dir={tmp_path}", "scenario=erlang_b",
                                      "scenario.duration_s=5", "scenario.seed=1,2", "hydra/launcher=joblib",
                                      "hydra.launcher.n_jobs=2"])
    cli.main()
    assert prewarm._thread is None  # joined before the launch
    workers = set(reusable_executor._executor._processes)
    assert prewarm._pids and set(prewarm._pids) <= workers, (prewarm._pids, workers)
    if sys.platform.startswith("linux"):  # forked from the forkserver that imported sim.sweep.preload
        from multiprocessing import forkserver

        from joblib.externals.loky.backend import context

        assert context.get_start_method() == "forkserver"
        server = forkserver._forkserver._forkserver_pid
        parents = {int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]) for pid in workers}
        assert parents == {server}, (parents, server)
    assert sorted(json.loads(p.read_text())["seed"] for p in tmp_path.glob("sweeps/*/*/summary.json")) == [1, 2]


def test_the_region_price_book_is_read_once_and_each_run_gets_its_own_copy(monkeypatch, tmp_path):
    from scenarios.pricing_load import load_region
    from sim.billing import region_books

    books = []

    def fake(scenario, out_dir=None, price_book=None, **kwargs):
        books.append(price_book)
        return _fake_simulate(scenario, out_dir, price_book, **kwargs)

    monkeypatch.setattr(sim, "simulate", fake, raising=False)
    monkeypatch.setattr(region_books, "BOOKS", {})
    monkeypatch.setattr(sys, "argv", ["cloudtwin", "-m", f"results_dir={tmp_path}", "scenario=erlang_b",
                                      "scenario.seed=1,2"])
    cli.main()
    assert len(region_books.BOOKS) == 1
    first, second = books
    assert first == second == load_region("us-east-1") and first is not second
    assert region_books.region_book({"region": "mars-north-1"}) is None  # simulate() says what is wrong
    assert region_books.region_book({"region": 5}) is None
    assert region_books.region_book({}) is None
