"""Outputs safe against interruption: atomic files, summary.json last, unfinished runs skipped or refused, failing gathers fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml
from omegaconf import OmegaConf

import sim.output.writers as writers
from sim.output.result import METRIC_SCHEMA, Result
from sim.sweep.callback import GatherSweep, expected_jobs
from sim.sweep.cli import main as report_main
from sim.sweep.gather import gather_jobs, job_dirs, run_dirs
from sim.output.writers import (FINISHED, NOT_A_RUN, UNFINISHED, atomic_path, mark_unfinished, read_summary,
                         run_state, run_status, write_run)

ROOT = Path(__file__).resolve().parents[1]
RUN_FILES = ["config.yaml", "costs.parquet", "flow_logs.parquet", "metrics.parquet", "report.html",
             "requests.parquet", "summary.json"]


def _result(report: bool = False, requests: bool = True, seed: int = 1) -> Result:
    """A small hand-made Result (no simulation); the report only when asked (drawing it is slow)."""
    metrics = pl.DataFrame([(0.0, "AWS/Lambda", "Invocations", "FunctionName=f", 3.0)],
                           schema=METRIC_SCHEMA, orient="row")
    return Result(
        summary={"scenario": "tiny", "seed": seed, "duration_s": 60.0,
                 "functions": {"f": {"invocations": 3, "latency_ms": {"p99": 12.5}}},
                 "cost_usd": {"monthly": 1.25}},
        metrics=metrics,
        requests=pl.DataFrame({"id": [0, 1, 2], "latency_ms": [1.0, 2.0, 3.0]}) if requests else pl.DataFrame(),
        config={"name": "tiny", "duration_s": 60.0, "record": {"report": report}},
        flow_logs=pl.DataFrame({"action": ["ACCEPT"], "bytes": [10]}),
    )


def _names(d: Path):
    return sorted(p.name for p in Path(d).iterdir())


def _job(sweep_dir: Path, num: int, result: Result = None, overrides=None) -> Path:
    """A Hydra-like job directory (.hydra with its number and overrides), finished when `result` is given."""
    d = sweep_dir / f"{num}_tiny"
    (d / ".hydra").mkdir(parents=True)
    (d / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides or [f"scenario.seed={num}"]))
    (d / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"job": {"num": num}}}))
    if result is not None:
        write_run(result, d)
    return d


def _sweep(tmp_path: Path) -> Path:
    d = tmp_path / "sweep"
    d.mkdir()
    (d / "multirun.yaml").write_text("hydra: {}\n")
    return d


# ---------------------------------------------------------------- write_run

def test_write_run_leaves_only_its_files_and_is_finished(tmp_path):
    result = _result(report=True)
    paths = write_run(result, tmp_path / "run")
    assert _names(tmp_path / "run") == RUN_FILES  # no temporary file left behind
    assert list(paths) == ["summary", "metrics", "costs", "requests", "flow_logs", "config", "report"]
    assert run_status(tmp_path / "run") == (FINISHED, "")
    assert read_summary(tmp_path / "run") == writers.json_safe(result.summary)


def test_rewriting_a_directory_removes_what_the_new_run_does_not_write(tmp_path):
    write_run(_result(report=True), tmp_path)
    mark = tmp_path / "UNFINISHED"
    mark.write_text("stale\n")
    write_run(_result(requests=False, seed=2), tmp_path)
    assert _names(tmp_path) == ["config.yaml", "costs.parquet", "flow_logs.parquet", "metrics.parquet",
                                "summary.json"]
    assert read_summary(tmp_path)["seed"] == 2


def _fail_on(monkeypatch, name, exc):
    """Make the atomic write of the file `name` raise `exc` after its temporary file is written."""
    real = os.replace

    def replace(src, dst):
        if Path(dst).name == name:
            raise exc
        return real(src, dst)

    monkeypatch.setattr(writers.os, "replace", replace)


@pytest.mark.parametrize("name", ["metrics.parquet", "requests.parquet", "config.yaml", "summary.json"])
@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failure_inside_write_run_leaves_an_unfinished_run_that_gather_skips(tmp_path, monkeypatch, name, exc):
    sweep = _sweep(tmp_path)
    done = _job(sweep, 0, _result())
    broken = _job(sweep, 1)
    _fail_on(monkeypatch, name, exc)
    with pytest.raises(type(exc)):
        write_run(_result(seed=9), broken)
    monkeypatch.undo()
    assert not (broken / "summary.json").exists()
    assert not [p for p in broken.iterdir() if ".tmp-" in p.name]  # the temporary file went too
    state, reason = run_status(broken)
    assert state == UNFINISHED and "no summary.json" in reason
    df, skipped = gather_jobs(sweep)
    assert df["job_dir"].to_list() == [done.name] and df["seed"].to_list() == [1]
    assert [(s.name, s.job_dir) for s in skipped] == [(broken.name, broken)]
    assert job_dirs(sweep) == [done] and run_dirs(sweep) == [done, broken]


def test_a_failing_report_leaves_the_run_unfinished(tmp_path, monkeypatch):
    import sim.output.report

    def boom(result):
        raise RuntimeError("matplotlib fell over")

    monkeypatch.setattr(sim.output.report, "build_report", boom)
    with pytest.raises(RuntimeError):
        write_run(_result(report=True), tmp_path)
    assert run_state(tmp_path) == UNFINISHED and not (tmp_path / "summary.json").exists()


def test_a_failed_rewrite_of_a_finished_run_is_unfinished(tmp_path, monkeypatch):
    write_run(_result(), tmp_path)
    assert run_state(tmp_path) == FINISHED
    _fail_on(monkeypatch, "config.yaml", OSError(5, "I/O error"))
    with pytest.raises(OSError):
        write_run(_result(seed=2), tmp_path)
    assert run_state(tmp_path) == UNFINISHED  # not the old summary over new tables


def test_atomic_path_keeps_the_old_file_when_the_write_fails(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(ValueError):
        with atomic_path(target) as tmp:
            assert tmp.name == f".f.txt.tmp-{os.getpid()}" and tmp.parent == tmp_path
            tmp.write_text("half")
            raise ValueError("stop")
    assert target.read_text() == "old" and _names(tmp_path) == ["f.txt"]
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and _names(tmp_path) == ["f.txt"]


# ---------------------------------------------------------------- run_state and the UNFINISHED mark

@pytest.mark.parametrize("text, words", [
    ('{"scenario": "tiny", "seed": 1, "functions": {"f": {"invoc', "unreadable"),
    ("", "unreadable"),
    ("[1, 2]", "not an object"),
    ('{"a": 1}\x00garbage', "unreadable"),
])
def test_a_summary_that_is_not_a_whole_json_object_is_unfinished(tmp_path, text, words):
    sweep = _sweep(tmp_path)
    _job(sweep, 0, _result())
    bad = _job(sweep, 1, _result())
    (bad / "summary.json").write_text(text)
    state, reason = run_status(bad)
    assert state == UNFINISHED and words in reason
    with pytest.raises(writers.UnfinishedRun):
        read_summary(bad)
    df, skipped = gather_jobs(sweep)
    assert df.height == 1 and [s.name for s in skipped] == [bad.name] and words in skipped[0].reason


def test_run_state_of_things_that_are_not_runs(tmp_path):
    assert run_state(tmp_path / "missing") == NOT_A_RUN
    assert run_state(tmp_path) == NOT_A_RUN  # empty
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "sub").mkdir()
    assert run_state(tmp_path) == NOT_A_RUN
    sweep = _sweep(tmp_path)
    _job(sweep, 0, _result())
    assert run_state(sweep) == NOT_A_RUN  # a sweep: multirun.yaml and job directories
    (sweep / "cloudtwin.log").write_text("the multirun's own log\n")
    assert run_state(sweep) == NOT_A_RUN  # still a sweep
    (tmp_path / "file").write_text("x")
    assert run_state(tmp_path / "file") == NOT_A_RUN


@pytest.mark.parametrize("make", [
    lambda d: (d / ".hydra").mkdir(),
    lambda d: (d / "cloudtwin.log").write_text(""),
    lambda d: (d / "metrics.parquet").write_bytes(b"PAR1"),
    lambda d: (d / f".summary.json.tmp-{os.getpid()}").write_text("{"),
    lambda d: (d / "UNFINISHED").write_text("interrupted\n"),
])
def test_any_run_file_without_a_summary_is_unfinished(tmp_path, make):
    make(tmp_path)
    assert run_state(tmp_path) == UNFINISHED


def test_mark_unfinished_records_the_reason_and_time(tmp_path):
    run = tmp_path / "run"
    assert mark_unfinished(run, "interrupted") is None and not run.exists()  # never creates it
    run.mkdir()
    path = mark_unfinished(run, "interrupted by Ctrl-C\n(SIGINT)")
    assert path == run / "UNFINISHED" and _names(run) == ["UNFINISHED"]
    first, second = path.read_text().splitlines()
    assert first == "interrupted by Ctrl-C (SIGINT)"
    assert second.startswith("marked unfinished at 20") and second.endswith(f"(pid {os.getpid()})")
    state, reason = run_status(run)
    assert state == UNFINISHED and "interrupted by Ctrl-C (SIGINT)" in reason and "marked unfinished at" in reason
    write_run(_result(), run)  # a later whole run clears the mark
    assert "UNFINISHED" not in _names(run) and run_state(run) == FINISHED
    assert mark_unfinished(run, "too late") is None  # a finished run stays finished
    assert run_state(run) == FINISHED and "UNFINISHED" not in _names(run)
    (run / "summary.json").write_text('{"cut')  # a summary cut short is no finished run: marked
    assert mark_unfinished(run, "interrupted") == run / "UNFINISHED"


# ---------------------------------------------------------------- cloudtwin-report

def _report(capsys, *args):
    code = report_main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_report_refuses_a_missing_directory(tmp_path, capsys):
    code, out, err = _report(capsys, tmp_path / "nope")
    assert code == 2 and out == "" and err.count("\n") == 1 and "does not exist" in err
    assert not (tmp_path / "nope").exists()
    (tmp_path / "file.txt").write_text("x")
    code, _, err = _report(capsys, tmp_path / "file.txt")
    assert code == 2 and "not a directory" in err


def test_report_refuses_an_unfinished_run_with_its_reason(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.parquet").write_bytes(b"PAR1")
    mark_unfinished(run, "interrupted (Ctrl-C)")
    code, out, err = _report(capsys, run)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "did not finish" in err and "interrupted (Ctrl-C)" in err
    assert _names(run) == ["UNFINISHED", "metrics.parquet"]  # nothing written


def test_report_rebuilds_a_finished_run_atomically(tmp_path, capsys):
    write_run(_result(), tmp_path)
    code, out, _ = _report(capsys, tmp_path)
    assert code == 0 and out == f"report: {tmp_path / 'report.html'}\n"
    assert "report.html" in _names(tmp_path) and not [n for n in _names(tmp_path) if n.startswith(".")]


def test_report_refuses_a_folder_of_runs_that_is_not_a_sweep(tmp_path, capsys):
    """results/ and results/runs/NAME hold finished runs below them, but no multirun.yaml: not a sweep."""
    for i in range(2):
        write_run(_result(seed=i), tmp_path / "runs" / "tiny" / f"2026-01-01_00-00-0{i}")
    for folder in (tmp_path, tmp_path / "runs" / "tiny"):
        before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
        code, out, err = _report(capsys, folder)
        assert code == 2 and out == "" and "neither a run directory" in err and err.count("\n") == 1
        assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # no sweep.parquet


def test_report_regathers_a_sweep_naming_its_unfinished_jobs(tmp_path, capsys):
    sweep = _sweep(tmp_path)
    _job(sweep, 0, _result(seed=0))
    stopped = _job(sweep, 1)
    mark_unfinished(stopped, "interrupted (Ctrl-C)")
    _job(sweep, 2)  # failed before writing anything
    (sweep / "cloudtwin.log").write_text("the multirun's own log\n")
    code, out, err = _report(capsys, sweep)
    assert code == 0 and "sweep report:" in out
    assert "skipped job 1_tiny: it was stopped: interrupted (Ctrl-C)" in err
    assert "skipped job 2_tiny: it has no summary.json" in err
    assert "left out 2" in err
    assert pl.read_parquet(sweep / "sweep.parquet")["job"].to_list() == [0]
    page = (sweep / "sweep_report.html").read_text()
    assert '<section id="skipped">' in page and "interrupted (Ctrl-C)" in page


def test_report_refuses_a_sweep_where_no_job_finished(tmp_path, capsys):
    sweep = _sweep(tmp_path)
    _job(sweep, 0)
    mark_unfinished(_job(sweep, 1), "interrupted")
    code, out, err = _report(capsys, sweep)
    assert code == 2 and out == ""
    assert err.splitlines()[-1].startswith("cloudtwin-report: no job of the sweep") and "2 job directories" in err
    assert not (sweep / "sweep.parquet").exists() and not (sweep / "sweep_report.html").exists()


def test_report_refuses_a_run_whose_tables_are_damaged(tmp_path, capsys):
    write_run(_result(), tmp_path)
    (tmp_path / "metrics.parquet").write_bytes(b"PAR1 cut short")  # as an older, non-atomic writer could leave it
    code, _, err = _report(capsys, tmp_path)
    assert code == 2 and "unreadable" in err and "Traceback" not in err


# ---------------------------------------------------------------- the gathering callback

def _multirun_config(sweep: Path, params=None, task=(), target=None):
    return OmegaConf.create({"hydra": {
        "sweep": {"dir": str(sweep)},
        "sweeper": {"_target_": target or "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
                    "max_batch_size": None, "params": params or {}},
        "overrides": {"task": list(task)}}})


def test_expected_jobs_counts_as_the_basic_sweeper_does(tmp_path):
    cfg = _multirun_config(tmp_path, {"a": "1,2,3", "b": "x,y"}, ["a=5,6", "c=3", "scenario.seed=range(0,4)"])
    assert expected_jobs(cfg) == 2 * 2 * 4  # the task's a=5,6 replaces the preset's a
    assert expected_jobs(_multirun_config(tmp_path, {}, ["c=3"])) == 1
    assert expected_jobs(_multirun_config(tmp_path, {"a": "1,2"}, target="some.OtherSweeper")) is None


def test_callback_gathers_a_whole_sweep(tmp_path, capsys):
    sweep = _sweep(tmp_path)
    for i in range(2):
        _job(sweep, i, _result(seed=i), [f"scenario.seed={i}"])
    GatherSweep().on_multirun_end(_multirun_config(sweep, {}, ["scenario.seed=0,1"]))
    out, err = capsys.readouterr()
    assert out == f"sweep: {sweep / 'sweep.parquet'}\nsweep report: {sweep / 'sweep_report.html'}\n"
    assert err == ""


def test_callback_exits_1_when_no_job_finished(tmp_path, capsys):
    sweep = _sweep(tmp_path)
    _job(sweep, 0)
    with pytest.raises(SystemExit) as exit_:
        GatherSweep().on_multirun_end(_multirun_config(sweep))
    _, err = capsys.readouterr()
    assert exit_.value.code == 1
    assert err.splitlines()[-1].startswith("cloudtwin: no job of the sweep in")


def test_callback_exits_1_when_a_job_did_not_finish_but_gathers_the_others(tmp_path, capsys):
    sweep = _sweep(tmp_path)
    _job(sweep, 0, _result(seed=0), ["scenario.seed=0"])
    # job 1 left no directory at all (the basic sweeper launched two)
    with pytest.raises(SystemExit) as exit_:
        GatherSweep().on_multirun_end(_multirun_config(sweep, {}, ["scenario.seed=0,1"]))
    out, err = capsys.readouterr()
    assert exit_.value.code == 1 and "sweep report:" in out
    assert "cloudtwin: skipped job #1: the job left no directory" in err
    assert err.splitlines()[-1].startswith("cloudtwin: 1 job(s) of the sweep did not finish (#1:")
    assert pl.read_parquet(sweep / "sweep.parquet").height == 1


def test_callback_exits_1_with_one_line_when_gathering_raises(tmp_path, capsys, monkeypatch):
    import sim.sweep.report

    def boom(*args, **kwargs):
        raise TypeError("object of type 'GroupBy' has no len()")

    monkeypatch.setattr(sim.sweep.report, "build_sweep_report", boom)
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    sweep = _sweep(tmp_path)
    _job(sweep, 0, _result())
    with pytest.raises(SystemExit) as exit_:
        GatherSweep().on_multirun_end(_multirun_config(sweep))
    _, err = capsys.readouterr()
    assert exit_.value.code == 1
    assert err == "cloudtwin: gathering the sweep failed: TypeError: object of type 'GroupBy' has no len()\n"


# ---------------------------------------------------------------- through Hydra: a multirun that fails, fails

def _multirun(tmp_path, patch: str, *overrides):
    """`cloudtwin -m` in a subprocess after running `patch` (Python) in it; the CompletedProcess."""
    code = f"{patch}\nfrom sim.cli import main\nmain()"
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    return subprocess.run(
        [sys.executable, "-c", code, "-m", "scenario=erlang_b", "scenario.duration_s=5",
         "scenario.record.report=false", f"results_dir={tmp_path}", *overrides],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


def test_a_multirun_whose_gathering_fails_exits_1_with_one_line(tmp_path):
    patch = ("import sim.sweep.report as r\n"
             "def boom(*a, **k):\n    raise RuntimeError('drawing failed')\n"
             "r.build_sweep_report = boom")
    p = _multirun(tmp_path, patch, "scenario.seed=0,1")
    assert p.returncode == 1, p.stderr[-2000:]
    assert p.stderr.splitlines()[-1] == "cloudtwin: gathering the sweep failed: RuntimeError: drawing failed"
    assert "Traceback" not in p.stderr and "UserWarning" not in p.stderr


def test_a_multirun_where_no_job_finished_exits_1(tmp_path):
    # every job runs but leaves no summary.json, as if each were stopped before its last write
    patch = ("import sim.output.writers as w\n"
             "w.write_summary = lambda summary, path: path")
    p = _multirun(tmp_path, patch, "scenario.seed=0,1")
    assert p.returncode == 1, p.stderr[-2000:]
    lines = p.stderr.splitlines()
    assert sum("cloudtwin: skipped job" in line and "no summary.json" in line for line in lines) == 2
    assert lines[-1].startswith("cloudtwin: no job of the sweep in") and "2 job directories" in lines[-1]
    (sweep,) = (tmp_path / "sweeps").iterdir()
    assert not (sweep / "sweep.parquet").exists()


# ---------------------------------------------------------------- killed while writing

_WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.test_outputs_atomic import _result
from sim.output.writers import write_run
base = Path(sys.argv[1])
result = _result(report=True)
write_run(result, base / "run0000")  # one whole run before the signal can come
print("ready", flush=True)
i = 1
while True:
    write_run(result, base / f"run{{i:04d}}")
    i += 1
"""


@pytest.mark.parametrize("sig, delay_s", [("SIGKILL", 0.05), ("SIGKILL", 0.7), ("SIGINT", 0.3), ("SIGINT", 1.1)])
def test_a_writer_killed_at_any_point_leaves_no_finished_run_that_is_not_whole(tmp_path, sig, delay_s):
    """A process writing runs in a loop is killed (SIGKILL) or interrupted (SIGINT) wherever it is.

    Every directory it leaves is then either finished with every file whole and equal to
    what was written, or unfinished; never a finished run with a part missing. The delays
    only pick where the kill lands; no assertion depends on where that is.

    CPython swallows a KeyboardInterrupt that lands in a finalizer or a weakref callback
    ("Exception ignored in: ... WeakKeyDictionary ... remove"): about one SIGINT in 40 here
    leaves the loop running. A user then presses Ctrl-C again; so does this test, every 5 s.
    """
    import signal
    import time

    from sim.sweep.rundir import read_run

    p = subprocess.Popen([sys.executable, "-c", _WRITER.format(root=str(ROOT)), str(tmp_path)],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n", p.stderr.read()
        time.sleep(delay_s)
        for _ in range(12):  # a SIGINT again every 5 s, as a user presses Ctrl-C again (below)
            p.send_signal(getattr(signal, sig))
            try:
                p.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                continue
        assert p.poll() is not None, "the writer outlived 12 signals"
    finally:
        p.kill()
        p.wait()
    expected = _result(report=True)
    dirs = sorted(tmp_path.iterdir())
    states = [run_state(d) for d in dirs]
    assert states[0] == FINISHED and set(states) <= {FINISHED, UNFINISHED}
    assert UNFINISHED not in states[:-1]  # only the one being written when the signal came
    for d, state in zip(dirs, states):
        if state == FINISHED:
            run = read_run(d)
            assert run.summary == writers.json_safe(expected.summary)
            assert run.metrics.equals(expected.metrics) and run.requests.equals(expected.requests)
            assert run.flow_logs.equals(expected.flow_logs) and run.config == expected.config
            assert (d / "report.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
    sweep = tmp_path  # gathered as a sweep, the unfinished one is left out
    df, skipped = gather_jobs(sweep)
    assert df.height == states.count(FINISHED) and len(skipped) == states.count(UNFINISHED)
