"""sim.sweep.prewarm: joblib's workers warmed with the launcher's own arguments; a run without its report imports no matplotlib."""

import subprocess
import sys
from pathlib import Path

import pytest

from sim.sweep import prewarm

ROOT = Path(__file__).resolve().parents[1]


def printed(code: str) -> list:
    """What `code`, run in a fresh Python process from the project's folder, printed (split)."""
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout.split()


@pytest.mark.parametrize("cfg", [
    {"n_jobs": 2, "backend": None, "prefer": "processes", "require": None, "verbose": 0, "timeout": None,
     "pre_dispatch": "2*n_jobs", "batch_size": "auto", "temp_folder": None, "max_nbytes": None, "mmap_mode": "r"},
    {"n_jobs": -1, "pre_dispatch": "4", "batch_size": "8", "max_nbytes": "1M"},
    {"n_jobs": 3, "backend": "threading", "pre_dispatch": 6, "batch_size": 0, "max_nbytes": 1000},
])
def test_the_warm_up_calls_joblib_as_hydras_launcher_does(cfg):
    """The same Parallel arguments as the launcher (hydra_joblib_launcher/_core.py), or joblib
    would start other workers for the jobs."""
    core = pytest.importorskip("hydra_plugins.hydra_joblib_launcher._core")
    from hydra_plugins.hydra_joblib_launcher.config import JobLibLauncherConf

    expected = dict(cfg)
    expected["backend"] = "loky"
    core.process_joblib_cfg(expected)
    assert prewarm.joblib_kwargs({"_target_": JobLibLauncherConf._target_, **cfg}) == expected
    assert JobLibLauncherConf._target_ == prewarm.JOBLIB_LAUNCHER


def test_another_launcher_or_one_worker_is_not_warmed():
    """The basic launcher, and joblib with one worker, run the jobs in the CLI's own process:
    a warm-up there would import and simulate in a second thread beside them."""
    assert prewarm.start({"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}, {}) is False
    assert prewarm.start({"_target_": prewarm.JOBLIB_LAUNCHER, "n_jobs": 1}, {}) is False
    assert prewarm._thread is None


def test_the_warm_up_task_loads_the_kernels_and_freezes_the_heap():
    """In a fresh process: the scenario's kernels come from numba's cache and the heap is frozen."""
    code = (
        "import gc, os, sys, yaml\n"
        "from sim.sweep import prewarm\n"
        "from sim.engine.warmup import dispatchers\n"
        "data = yaml.safe_load(open('configs/scenario/erlang_b.yaml')); data.pop('defaults', None)\n"
        "assert prewarm.warm(data) == os.getpid()\n"
        "from sim.billing import region_books\n"
        "print(all(d.signatures for d in dispatchers('lambda')), gc.get_freeze_count() > 0,\n"
        "      [k[0] for k in region_books.BOOKS])\n"
    )
    assert printed(code) == ["True", "True", "['us-east-1']"]  # the jobs' price book, read once


def test_the_forkserver_preload_readies_numba_and_imports_no_polars():
    """What every worker needs, imported once in the forkserver; never polars, whose import
    starts threads that a forked process would inherit without them running."""
    code = (
        "import gc, sys\n"
        "import sim.sweep.preload\n"
        "print('polars' in sys.modules, 'sim.cli' in sys.modules, 'numba.np.arraymath' in sys.modules,\n"
        "      gc.get_freeze_count() > 0)\n"
    )
    assert printed(code) == ["False", "True", "True", "True"]


def test_a_start_method_chosen_before_is_kept(monkeypatch):
    import multiprocessing

    from joblib.externals.loky.backend import context

    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("no forkserver on this platform")
    monkeypatch.setattr(context, "_DEFAULT_START_METHOD", "spawn")
    assert prewarm.use_forkserver() is False
    assert context.get_start_method() == "spawn"


def test_a_run_without_its_report_imports_no_matplotlib(tmp_path):
    """A sweep's job (record.report false) never pays matplotlib's import (0.7 s)."""
    code = (
        "import sys\n"
        "from sim.api import simulate\n"
        "simulate({'name': 'x', 'duration_s': 2, 'functions': {'f': {}},\n"
        "          'traffic': [{'name': 't', 'target': 'function:f', 'arrivals': {'kind': 'poisson', 'rate_per_s': 5}}],\n"
        f"          'record': {{'report': False}}}}, out_dir={str(tmp_path)!r}, progress=False)\n"
        "print('matplotlib' in sys.modules)\n"
    )
    assert printed(code)[-1] == "False"
    assert (tmp_path / "summary.json").is_file() and not (tmp_path / "report.html").exists()


@pytest.mark.parametrize("overrides, starts", [
    (["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "sweep=seeds"], True),
    (["hydra/launcher=joblib", "hydra.launcher.n_jobs=1"], False),  # jobs in the CLI's process
    (["hydra/launcher=joblib", "hydra.launcher.n_jobs=2,4"], False),  # swept: left to start()
    (["sweep=seeds", "hydra.launcher.n_jobs=2"], False),  # the launcher is known once composed
])
def test_the_forkserver_starts_before_composing_when_the_command_line_names_joblib(monkeypatch, overrides, starts):
    called = []
    monkeypatch.setattr(prewarm, "use_forkserver", lambda: called.append(True) or True)
    assert prewarm.early(overrides) is starts
    assert called == ([True] if starts else [])
