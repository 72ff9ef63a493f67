"""A 16-job sweep on 2 cores: in parallel (joblib, 2 workers) at least 1.7x faster than one by one.

Each job is the default scenario over DURATION_S (6 simulated hours, about 5 M requests).
When this bench was written a job took about 8 s (6 s of engine, 2 s of tables and report)
and the fixed costs (the CLI's start-up, the workers' start-up of about 3 s, gathering the
sweep) weighed little: 134 s one by one against 71 s in parallel (1.89x). The engine has
since become about 5x faster and a sweep's job no longer draws report.html (record.report:
auto), so the same job takes about 1.7 s and what parallel work costs beyond half the
serial time weighs more: on 2026-12-05, idle machine, 27.1 s one by one against 16.4 s in
parallel (1.65x; 2.9 s beyond half of 27.1 s, against 4.6 s that morning: 31.0 s and 20.1
s). That cost was mostly each worker's start-up (a process, imports, numba's first use and
the kernels from its cache: about 1.3 CPU-s each), bound by CPU on 2 cores shared with the
CLI. Later on 2026-12-05 the workers became forks of a forkserver that did the imports and
numba's first use once (sim.sweep.prewarm, sim.sweep.preload): 1.73x, 1.76x and 1.76x in
three runs of this file alone (27.4-28.3 s against 15.6-16.3 s), 1.68x and 1.72x in two runs
of `make bench` (27.8 s against 16.5 s, 27.0 s against 15.7 s). What is left beyond half the serial time (2.2-2.6 s) is
mostly what no launcher shares out: before the first job, 2.7 s in parallel (the CLI's start
and checks, the forkserver's preload, the workers' warm-up) against 1.3 s one by one plus
0.9 s more in its first job; after the last job, 0.5 s of gathering against 1.1 s; and the
two workers' last jobs ending apart. Anything that makes every job faster lowers the ratio.
The sweeps run in the same session, one after another: the basic launcher (one by one, in the CLI's own process),
joblib with 2 workers, and, when the `ray` extra is installed, the Ray launcher on a new
local instance with its defaults (2 CPUs here, the dashboard on).

Ray's overhead is what it adds over joblib doing the same parallel work: `ray_extra_s` =
Ray's wall − joblib's wall, split into a fixed part (`import ray`, `ray.init` and
`ray.shutdown` of a bare local instance with the launcher's options, timed in a process of
its own) and the rest divided by the number of jobs (`ray_per_job_s`). The rest is per job
as wall time of the sweep: shipping each job to a worker and its result back, and the CPU
that Ray's own processes (GCS, raylet, dashboard, log monitor) take from the jobs.

Where a job's time goes, one by one (`serial_job_phases_s`, from each job's cloudtwin.log):
to the engine (validation, building, kernels from numba's cache) 0.04 s, the engine 1.33 s,
after it 0.19 s (bill, tables, summary: no report.html), and 0.35 s a job outside the jobs
(start-up, Hydra composing each job, gathering), measured on 2026-12-05 in the morning (1.69
s a job in the afternoon: 0.04 + 1.18 + 0.15 + 0.32). Cut on 2026-12-04 and 12-05: one
composition per job with the basic launcher, and with joblib or Ray only the batch's first
job composed in the parent (each worker composes its own); the price book read once per
process; the sweep's tables and report without scipy.stats and with libyaml; report.html,
whose plots were 1.65 s of a 3.41 s job, left to `cloudtwin-report DIR`; no matplotlib
import in a job without its report; joblib's workers warmed while the CLI checks the sweep,
the gathering's imports done while the workers warm up and the jobs run, heaps frozen after a
process's first job (loky collects garbage between tasks), the sweep report's figures
measured on their final drawing and encoded from it (write_sweep 0.84 -> 0.60 s).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from sim.sweep.gather import WALL_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from sim.cli import main; main()"]
JOBS = 16
DURATION_S = 21600  # 6 simulated hours of the default scenario: about 5 M requests a job
SWEEP = ["sweep=seeds", f"seeds={JOBS}", f"scenario.duration_s={DURATION_S}"]
LIMIT = 1.7  # parallel over serial, at least
RAY_ENV = {"RAY_AUTH_MODE": "disabled"}  # no token notice, no ~/.ray/auth_token
RAY_FIXED = """
import json, time
t0 = time.perf_counter()
import ray
t1 = time.perf_counter()
ray.init(address="local", object_store_memory=78643200)  # as the launcher calls it
t2 = time.perf_counter()
ray.shutdown()
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "init_s": t2 - t1, "shutdown_s": t3 - t2}))
"""


def run_sweep(results_dir: Path, *launcher: str, env=None) -> dict:
    """The 16-job sweep through the CLI with `launcher` overrides; its wall time and table."""
    t0 = time.perf_counter()
    p = subprocess.run([*CLI, "-m", *launcher, *SWEEP, f"results_dir={results_dir}"], cwd=ROOT,
                       capture_output=True, text=True, timeout=1200, env={**os.environ, **(env or {})})
    wall_s = time.perf_counter() - t0
    assert p.returncode == 0, p.stderr[-3000:]
    (sweep_dir,) = (results_dir / "sweeps").iterdir()
    table = pl.read_parquet(sweep_dir / "sweep.parquet")
    assert table.height == JOBS
    print(f"\n{' '.join(launcher) or 'basic launcher'}: {JOBS} jobs in {wall_s:.1f} s", flush=True)
    return {"wall_s": wall_s, "table": table, "phases": job_phases(sweep_dir, table)}


LOG_TIME = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]\[cloudtwin\]\[INFO\] (.*)$")


def job_phases(sweep_dir: Path, table: pl.DataFrame) -> dict:
    """Mean seconds per job by phase, from the timestamps of each job's cloudtwin.log (ms resolution).

    `before_engine_s`: from `run of scenario … starting` (Hydra has composed the job's config
    and set up its directory) to `simulating …` (the scenario validated, the world built, the
    kernels loaded from numba's cache); `engine_s`: the summary's `wall_s`; `after_engine_s`:
    the rest until `run finished` (billing, tables, summary, report.html and its plots);
    `in_job_s` the three together. The job's share of the sweep's wall time beyond them is
    the CLI's start-up, the check of every job, Hydra's work around each job and the gathering.
    """
    from datetime import datetime

    rows = []
    for job_dir, engine_s in zip(table["job_dir"].to_list(), table["wall_s"].to_list()):
        marks = {}
        for line in (sweep_dir / job_dir / "cloudtwin.log").read_text().splitlines():
            m = LOG_TIME.match(line)
            if m:
                at = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
                for key in ("run of scenario", "simulating", "run finished"):
                    if m.group(2).startswith(key):
                        marks.setdefault(key, at)
        start, sim, end = (marks.get(k) for k in ("run of scenario", "simulating", "run finished"))
        if start is None or sim is None or end is None:
            return {}
        rows.append((sim - start, engine_s, end - sim - engine_s))
    means = [sum(col) / len(rows) for col in zip(*rows)]
    return {"before_engine_s": means[0], "engine_s": means[1], "after_engine_s": means[2], "in_job_s": sum(means)}


def ray_fixed_s() -> dict:
    """Import, start and stop a bare local Ray instance in a fresh process: seconds of each."""
    p = subprocess.run([sys.executable, "-c", RAY_FIXED], cwd=ROOT, capture_output=True, text=True,
                       timeout=300, env={**os.environ, **RAY_ENV})
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def same_jobs(a: pl.DataFrame, b: pl.DataFrame) -> None:
    drop = ["results_dir", "overrides", *WALL_COLUMNS]
    assert_frame_equal(a.drop(drop), b.drop(drop))


def test_sweep_parallel_speedup(benchmark, bench_figures, tmp_path):
    load_before = os.getloadavg()[0]  # other work on the machine spoils the ratio: recorded
    serial = run_sweep(tmp_path / "basic")
    runs = []
    benchmark.pedantic(lambda: runs.append(run_sweep(tmp_path / "joblib", "hydra/launcher=joblib",
                                                     "hydra.launcher.n_jobs=2")), rounds=1, iterations=1)
    (parallel,) = runs
    same_jobs(serial["table"], parallel["table"])
    engine_s = serial["table"]["wall_s"].to_list()
    figures = {
        "jobs": JOBS,
        "job_duration_s": DURATION_S,
        "job_engine_wall_s_mean": sum(engine_s) / len(engine_s),
        "serial_wall_s": serial["wall_s"],
        "parallel_wall_s": parallel["wall_s"],
        "speedup": serial["wall_s"] / parallel["wall_s"],
    }
    phases = serial["phases"]  # one by one: each job's phases, and what the rest of the sweep adds per job
    if phases:
        figures["serial_job_phases_s"] = {**phases, "job_s": serial["wall_s"] / JOBS,
                                          "outside_jobs_s": serial["wall_s"] / JOBS - phases["in_job_s"]}
    if importlib.util.find_spec("hydra_plugins.hydra_ray_launcher") is not None:
        figures.update(ray_figures(tmp_path / "ray", serial["table"], parallel["wall_s"]))
    figures.update(load_1min_before=load_before, load_1min_after=os.getloadavg()[0])
    benchmark.extra_info.update(figures)
    bench_figures["sweep"] = figures
    print(f"\n{JOBS} jobs: serial {serial['wall_s']:.1f} s, parallel {parallel['wall_s']:.1f} s "
          f"({figures['speedup']:.2f}x)")
    if phases:
        p = figures["serial_job_phases_s"]
        print(f"one by one, a job: {p['job_s']:.2f} s = {p['before_engine_s']:.2f} s to the engine + "
              f"{p['engine_s']:.2f} s engine + {p['after_engine_s']:.2f} s after it (bill, tables, report) + "
              f"{p['outside_jobs_s']:.2f} s outside the jobs (start-up, checks, Hydra, gathering)")
    assert figures["speedup"] >= LIMIT


def ray_figures(results_dir: Path, serial_table: pl.DataFrame, parallel_wall_s: float) -> dict:
    """The same sweep on a new local Ray instance: its wall time and overhead over joblib's."""
    ray = run_sweep(results_dir, "hydra/launcher=ray", "hydra.launcher.ray.init.address=local", env=RAY_ENV)
    same_jobs(serial_table, ray["table"])
    fixed = ray_fixed_s()
    extra_s = ray["wall_s"] - parallel_wall_s
    return {"ray_wall_s": ray["wall_s"], "ray_extra_s": extra_s, "ray_fixed_s": sum(fixed.values()),
            "ray_fixed_parts_s": fixed, "ray_per_job_s": (extra_s - sum(fixed.values())) / JOBS}
