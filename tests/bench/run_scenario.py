"""Runs one scenario in a fresh process for the benchmarks and prints its figures as JSON.

Usage: `python run_scenario.py SCENARIO_JSON SPAWN_EPOCH_S`, where SPAWN_EPOCH_S is the
parent's `time.time()` just before it started this process, so the times printed
(`*_s` since spawn) include the interpreter's own start-up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    scenario = json.loads(sys.argv[1])
    t_spawn = float(sys.argv[2])
    t_main = time.time()

    from sim.api import simulate  # `sim.simulate` would defer this import into the timed run
    from sim.engine import Engine

    t_imported = time.time()
    first_window = []
    engine_run = Engine.run

    def run_noting_first_window(self, progress=None):
        def probe(t_s: float) -> None:
            if not first_window:
                first_window.append(time.time())
            if progress is not None:
                progress(t_s)

        return engine_run(self, probe)

    Engine.run = run_noting_first_window
    result = simulate(scenario, progress=False)
    t_end = time.time()
    print(json.dumps({
        "requests_simulated": int(result.summary["requests_simulated"]),
        "wall_s": float(result.summary["wall_s"]),
        "interpreter_start_s": t_main - t_spawn,
        "import_s": t_imported - t_spawn,
        "first_window_s": first_window[0] - t_spawn if first_window else None,
        "simulate_done_s": t_end - t_spawn,
        "vm_hwm_kb": _vm_hwm_kb(),
    }))


def _vm_hwm_kb():
    """This process's own peak RSS since exec (Linux VmHWM). ru_maxrss would also count the
    parent's pages shared between fork and exec: a parent holding 1 GB looked like a child
    using 1 GB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def run_in_child(scenario: dict, timeout_s: float = 1800.0) -> dict:
    """Run `scenario` in a fresh interpreter; its figures plus `max_rss_kb`, the child's peak RSS.

    The peak comes from `os.wait4` on that one child (its `ru_maxrss`, KB on Linux), so no
    other process the test session started can be mistaken for it.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t_spawn = time.time()
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), json.dumps(scenario), repr(t_spawn)],
                                stdout=out, stderr=err)
        deadline = time.monotonic() + timeout_s
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise TimeoutError(f"scenario still running after {timeout_s:.0f} s")
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"child exited {proc.returncode}:\n{stderr[-4000:]}")
    figures = json.loads(stdout.strip().splitlines()[-1])
    figures["max_rss_kb"] = usage.ru_maxrss
    figures["child_wall_s"] = time.time() - t_spawn
    return figures


if __name__ == "__main__":
    main()
