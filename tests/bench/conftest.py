"""Benchmark plumbing: run only under `make bench`, gather the figures, print and save them.

Each benchmark puts its figures in the session's `bench_figures` dict; at the end of the run
they are printed (cloudtwin's requests/s against SimPy's as a ratio, the 100 M run's peak
memory, the start-up time, the sweep speed-up and Ray's overhead) and written to
`results/bench/latest.json`.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parents[1]
LATEST_JSON = ROOT / "results" / "bench" / "latest.json"
FIGURES = pytest.StashKey[dict]()


def pytest_configure(config):
    config.stash[FIGURES] = {}


def pytest_collection_modifyitems(config, items):
    # Without --benchmark-enable (plain `pytest`), pytest-benchmark would still run each
    # benchmark once, and their time and memory assertions would become ordinary tests.
    if config.getoption("benchmark_disable") and not config.getoption("benchmark_enable"):
        skip = pytest.mark.skip(reason="benchmarks run with `make bench`")
        for item in items:
            if BENCH_DIR in Path(item.path).resolve().parents:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def bench_figures(pytestconfig) -> dict:
    """Figures by benchmark name, printed and saved at the end of the session."""
    return pytestconfig.stash[FIGURES]


def per_s(x: float) -> str:
    """`3.1 M`, `95 k`: a rate for people."""
    if x >= 1e6:
        return f"{x / 1e6:.1f} M"
    if x >= 1e3:
        return f"{x / 1e3:.0f} k"
    return f"{x:.0f}"


def speedup(figures: dict):
    ct, sp = figures.get("cloudtwin_10m"), figures.get("simpy_baseline")
    if not ct or not sp:
        return None
    return ct["requests_per_s"] / sp["requests_per_s"]


def summary_lines(figures: dict) -> list:
    lines = []
    ct, sp, ratio = figures.get("cloudtwin_10m"), figures.get("simpy_baseline"), speedup(figures)
    if ratio is not None:
        lines.append(f"cloudtwin {per_s(ct['requests_per_s'])} req/s vs SimPy {per_s(sp['requests_per_s'])} req/s: "
                     f"{ratio:.1f}x")
    elif ct or sp:
        for name, f in (("cloudtwin", ct), ("SimPy", sp)):
            if f:
                lines.append(f"{name} {per_s(f['requests_per_s'])} req/s (no ratio: the other benchmark did not run)")
    m = figures.get("memory_100m")
    if m:
        lines.append(f"100 M requests: peak RSS {m['max_rss_kb'] / 1024:.0f} MB (limit 2,048 MB), "
                     f"{m['wall_s']:.1f} s simulating ({per_s(m['requests_per_s'])} req/s), "
                     f"{m['child_wall_s']:.1f} s in all")
    s = figures.get("startup")
    if s:
        runs = ", ".join(f"{x:.2f}" for x in s["first_window_s_runs"])
        lines.append(f"second run: first window after {s['first_window_s']:.2f} s (best of {runs} s; limit 1.5 s), "
                     f"imports {s['import_s']:.2f} s, tiny run done {s['simulate_done_s']:.2f} s")
    a = figures.get("accrual")
    if a:
        lines.append(f"billing accrual: kernel {per_s(a['kernel_records_per_s'])} records/s, numpy "
                     f"{per_s(a['numpy_records_per_s'])} ({a['over_numpy']:.1f}x), polars "
                     f"{per_s(a['polars_records_per_s'])} on all cores ({a['over_polars']:.1f}x), polars on one core "
                     f"{per_s(a['polars_one_core_records_per_s'])} ({a['over_polars_one_core']:.1f}x)")
    w = figures.get("sweep")
    if w:
        ray = (f"Ray {w['ray_wall_s']:.1f} s = joblib + {w['ray_fixed_s']:.1f} s fixed + "
               f"{w['ray_per_job_s'] * 1000:.0f} ms a job" if "ray_wall_s" in w else "Ray not installed")
        lines.append(f"sweep of {w['jobs']} jobs: one by one {w['serial_wall_s']:.1f} s, joblib on 2 workers "
                     f"{w['parallel_wall_s']:.1f} s ({w['speedup']:.2f}x; limit 1.7x); {ray}")
    ct, sp = figures.get("cloudtwin_fanout"), figures.get("simpy_fanout")
    if ct and sp:
        lines.append(f"fan-out SNS->SQS->Lambda: cloudtwin {per_s(ct['messages_per_s'])} messages/s "
                     f"({ct['messages'] / 1e6:.1f} M messages, {ct['invocations'] / 1e6:.2f} M invocations) vs SimPy "
                     f"{per_s(sp['messages_per_s'])} messages/s: {ct['messages_per_s'] / sp['messages_per_s']:.1f}x "
                     f"(bars: 1 M/s and 30x)")
    ct, sp = figures.get("cloudtwin_calls"), figures.get("simpy_calls")
    if ct and sp:
        lines.append(f"composed chain (sync call, topic, 3 queues, a loop): cloudtwin "
                     f"{per_s(ct['invocations_per_s'])} invocations/s ({ct['invocations'] / 1e6:.2f} M invocations, "
                     f"{ct['calls'] / 1e6:.2f} M calls) vs SimPy {per_s(sp['invocations_per_s'])} invocations/s: "
                     f"{ct['invocations_per_s'] / sp['invocations_per_s']:.1f}x (bars: 2 M/s and 30x)")
    ct, sp = figures.get("cloudtwin_api"), figures.get("simpy_api")
    if ct and sp:
        lines.append(f"API -> function -> table at 10,000 rps: cloudtwin {per_s(ct['requests_per_s'])} requests/s "
                     f"({ct['requests'] / 1e6:.1f} M requests, {ct['table_requests'] / 1e6:.1f} M table requests) vs "
                     f"SimPy {per_s(sp['requests_per_s'])} requests/s: "
                     f"{ct['requests_per_s'] / sp['requests_per_s']:.1f}x (bars: 1.5 M/s and 30x)")
    ct, sp = figures.get("cloudtwin_sfn"), figures.get("simpy_sfn")
    if ct and sp:
        lines.append(f"Express workflow, 5 states, 2 Lambda tasks, 1,000 executions/s: cloudtwin "
                     f"{per_s(ct['transitions_per_s'])} transitions/s ({ct['executions'] / 1e6:.2f} M executions, "
                     f"{ct['transitions'] / 1e6:.1f} M transitions) vs SimPy {per_s(sp['transitions_per_s'])}"
                     f" transitions/s: {ct['transitions_per_s'] / sp['transitions_per_s']:.1f}x (bars: 1 M/s and 30x)")
    ct, sp = figures.get("cloudtwin_fargate"), figures.get("simpy_fargate")
    if ct and sp:
        lines.append(f"Fargate service, 32 slots at rho 0.8, 2,000 requests/s: cloudtwin {per_s(ct['requests_per_s'])} "
                     f"requests/s ({ct['requests'] / 1e6:.1f} M requests) vs SimPy {per_s(sp['requests_per_s'])} "
                     f"requests/s: {ct['requests_per_s'] / sp['requests_per_s']:.1f}x (no bar)")
    a, f1 = figures.get("sparse_auto"), figures.get("sparse_fixed_1s")
    if a:
        vs = (f", {a['over_fixed_1s']:.1f}x fixed 1 s windows ({per_s(f1['requests_per_s'])} req/s)"
              if "over_fixed_1s" in a else "")
        lines.append(f"sparse 10^6 s at 9 req/s: default (auto) windows {per_s(a['requests_per_s'])} req/s "
                     f"({per_s(a['requests_per_cpu_s'])} per CPU-s) in {a['windows']:,} windows{vs} (bar 4 M)")
    ct, sp = figures.get("cloudtwin_nat"), figures.get("simpy_nat")
    if ct and sp:
        lines.append(f"NAT gateway at 5 Gbit/s: cloudtwin {per_s(ct['flows_per_s'])} flows/s ({ct['flows'] / 1e6:.2f} M "
                     f"flows, whole run {ct['wall_s']:.1f} s) vs SimPy {per_s(sp['flows_per_s'])} flows/s: "
                     f"{ct['flows_per_s'] / sp['flows_per_s']:.0f}x (bar 30x)")
    k = figures.get("links", {})
    if k:
        b = k.get("bar")
        parts = ([f"share_links {b['flows']:,} flows, {b['mean_active']:,.0f} active on average: {b['share_links_s']:.3f} s "
                  f"vs its plain-Python twin {b['twin_s']:.1f} s: {b['over_twin']:.0f}x (bar 20x)"] if b else [])
        parts += [f"{x['flows_per_s'] / 1e3:.1f} k flows/s at {x['mean_active']:,.0f} active"
                  + (" (a cap on every flow)" if key.endswith("capped") else "")
                  for key, x in sorted(k.items(), key=lambda kv: (kv[0].endswith("capped"), kv[1]["mean_active"]))
                  if key.startswith("active_")]
        lines.append("links: " + "; ".join(parts))
    f = figures.get("firewall", {})
    if f:
        lines.append("firewall: " + "; ".join(
            [f"{name} {per_s(x['kernel_packets_per_s'])} pkt/s ({x['over_python']:.0f}x Python, "
             f"{x['over_numpy']:.1f}x numpy)" for name, x in (("ACL 20 rules", f.get("acl_20")),
                                                             ("SG 60 rules", f.get("sg_60"))) if x]
            + [f"1,000 rules: table {per_s(x['cross_packets_per_s'])} pkt/s, {x['over_linear']:.1f}x the linear scan "
               f"(limit 10x)" for x in [f.get("rules_1000")] if x]))
    return lines


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except OSError:
        return None
    return out.stdout.strip() or None


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    figures = config.stash.get(FIGURES, {})
    if not figures:
        return
    terminalreporter.write_sep("=", "cloudtwin benchmarks")
    for line in summary_lines(figures):
        terminalreporter.write_line(line)
    LATEST_JSON.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git_commit": git_commit(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "pytest_exit_status": int(exitstatus),
        "cloudtwin_over_simpy": speedup(figures),
        "figures": figures,
    }
    LATEST_JSON.write_text(json.dumps(record, indent=2) + "\n")
    terminalreporter.write_line(f"saved to {LATEST_JSON.relative_to(ROOT)}")
