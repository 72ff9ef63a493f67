"""Runs stopped at random points (SIGINT, SIGKILL) never leave a directory that cloudtwin-report or a sweep takes for finished; runs started together get their own directories."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "sim.entry"]  # the `cloudtwin` command's entry point
REPORT = [sys.executable, "-m", "sim.sweep.cli"]
# A run of about 2-4 s on this machine (imports and kernel loading included), so random
# stops land before, during and after the simulation and while files are written.
RUN = ["scenario=default", "scenario.duration_s=1800", "scenario.record.requests.sample=0.05"]


def _start(results: Path) -> subprocess.Popen:
    return subprocess.Popen([*CLI, *RUN, f"results_dir={results}"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run_dirs(results: Path):
    base = results / "runs" / "default"
    return sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []


def _assert_finished_is_whole(run_dir: Path) -> None:
    """A directory with summary.json holds every output, each readable."""
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["scenario"] == "default"
    for table in ("metrics.parquet", "costs.parquet", "requests.parquet"):
        assert pl.read_parquet(run_dir / table).height > 0, table
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["name"] == "default"
    assert (run_dir / "report.html").read_text().rstrip().endswith("</html>")
    assert not [p for p in run_dir.iterdir() if ".tmp" in p.name], "temporary files left"


def _assert_refused(run_dir: Path) -> None:
    """An unfinished directory: no summary.json, and cloudtwin-report refuses it with one line."""
    assert not (run_dir / "summary.json").exists()
    p = subprocess.run([*REPORT, str(run_dir)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "Traceback" not in p.stderr
    assert not (run_dir / "summary.json").exists(), "cloudtwin-report must not finish an unfinished run"


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_stopped_runs_are_never_taken_for_finished(sig, tmp_path):
    rng = np.random.default_rng(20261204 + int(sig))
    delays = rng.uniform(0.5, 6.0, size=5)
    outcomes = {"finished": 0, "unfinished": 0}
    for i, delay in enumerate(delays):
        results = tmp_path / f"r{i}"
        proc = _start(results)
        if i == 0:
            time.sleep(delay)  # anywhere: before the run directory exists, too
        else:
            # from the moment the run has its directory (a busy machine may take many seconds
            # to get there), so stops land while it simulates and writes
            t0 = time.monotonic()
            while not _run_dirs(results) and proc.poll() is None and time.monotonic() - t0 < 120:
                time.sleep(0.05)
            time.sleep(delay / 2)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
        assert "Traceback" not in err, err
        if sig == signal.SIGINT and proc.returncode == 130:
            lines = [ln for ln in err.splitlines() if ln.strip()]
            assert len(lines) == 1 and "interrupted" in lines[0], err
        dirs = _run_dirs(results)
        assert len(dirs) <= 1
        for d in dirs:
            if (d / "summary.json").exists():
                _assert_finished_is_whole(d)
                outcomes["finished"] += 1
            else:
                _assert_refused(d)
                outcomes["unfinished"] += 1
        from sim.sweep.gather import job_dirs

        assert all((d / "summary.json").exists() for d in job_dirs(results / "runs"))
    assert sum(outcomes.values()) >= 1


def test_runs_started_in_the_same_second_get_two_directories(tmp_path):
    procs = [subprocess.Popen([*CLI, "scenario=erlang_b", "scenario.duration_s=5", f"results_dir={tmp_path}"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    dirs = sorted((tmp_path / "runs" / "erlang_b").iterdir())
    assert len(dirs) == 2
    assert all((d / "summary.json").is_file() for d in dirs)
    if dirs[0].name[:19] == dirs[1].name[:19]:  # the same second: the second got a suffix
        assert dirs[1].name == dirs[0].name + "-2"


def test_claimed_directories_are_unique_within_a_second(tmp_path, monkeypatch):
    import datetime as _dt

    import sim.cli as cli
    from omegaconf import OmegaConf

    class Frozen(_dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2026, 12, 4, 12, 0, 0)

    monkeypatch.setattr(cli, "datetime", Frozen)
    cfg = OmegaConf.create({"results_dir": str(tmp_path)})
    first = cli._claim_dir(cfg, "s", multirun=False)
    second = cli._claim_dir(cfg, "s", multirun=False)
    sweep = cli._claim_dir(cfg, "s", multirun=True)
    assert first.name == "2026-12-04_12-00-00" and second.name == "2026-12-04_12-00-00-2"
    assert sweep == tmp_path / "sweeps" / "2026-12-04_12-00-00"


def test_a_swallowed_ctrl_c_is_raised_again_after_the_hook_returns():
    """sim.entry's unraisable hook sends a swallowed Ctrl-C again as a pending signal: the
    KeyboardInterrupt comes once the hook has returned, in the code that was running — not inside
    the hook, where CPython would swallow it a second time and print a traceback (os.kill raised it
    there: CI caught it)."""
    from types import SimpleNamespace

    from sim.entry import _interrupt_again

    printed = []
    with pytest.raises(KeyboardInterrupt) as e:
        _interrupt_again(SimpleNamespace(exc_type=KeyboardInterrupt), default=printed.append)
        t_end = time.monotonic() + 10.0
        while time.monotonic() < t_end:  # it comes from another thread: within a switch interval
            pass
    assert [f.name for f in e.traceback] == ["test_a_swallowed_ctrl_c_is_raised_again_after_the_hook_returns"]
    assert printed == []
    other = SimpleNamespace(exc_type=ValueError)
    _interrupt_again(other, default=printed.append)  # anything else is printed as before
    assert printed == [other]
