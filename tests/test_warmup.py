"""sim.engine.warmup: the kernels a run needs are compiled (or loaded) before it, and a cold compile is announced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scenarios import load_scenario
from sim.engine.warmup import (_WARM_SCENARIOS, GROUPS, KERNELS, SCENARIO_DIR, compile_kernels, dispatchers, groups_for,
                        warm_scenario)

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml") if p.stem != "schema")


def test_groups_of_the_shipped_scenarios():
    got = {n: groups_for(load_scenario(SCENARIO_DIR / f"{n}.yaml")) for n in SHIPPED}
    assert got["default"] == ("lambda",)
    assert got["worker_fleet"] == ("messaging",)
    assert got["fanout"] == ("messaging",)  # topics and buses run in the account's loop
    assert got["vpc_three_tier"] == ("lambda", "vpc")  # it has functions too
    assert all(g and set(g) <= set(GROUPS) for g in got.values())


def test_every_group_names_existing_kernels():
    for g in GROUPS:
        ds = dispatchers(g)
        assert len(ds) == len(KERNELS[g]) and all(hasattr(d, "py_func") for d in ds)
    with pytest.raises(ValueError, match="unknown kernel group"):
        compile_kernels(["nope"], announce=None)


def test_warm_scenarios_are_valid_short_and_cover_their_group():
    for g in GROUPS:
        for name in _WARM_SCENARIOS[g]:
            sc = load_scenario(warm_scenario(name))
            assert sc.duration_s <= 5.0
            assert g in groups_for(sc)


# Run in a fresh process: compile_kernels for the scenario, then its run, noting every
# kernel numba compiles or loads (a cache load fires no compile event, but adds a signature).
_PROBE = """
import dataclasses, json, sys
from numba.core import event
from numba.core.registry import CPUDispatcher
import kernels, pkgutil, importlib
from scenarios import load_scenario
from sim import simulate
from sim.engine.warmup import SCENARIO_DIR, compile_kernels

mods = [importlib.import_module("kernels." + m.name) for m in pkgutil.iter_modules(kernels.__path__)]
def loaded():
    return {(m.__name__, k, str(s)) for m in mods for k, v in vars(m).items()
            if isinstance(v, CPUDispatcher) for s in v.signatures}
d = dataclasses.asdict(load_scenario(SCENARIO_DIR / (sys.argv[1] + ".yaml")))
last_step = max((st["at_s"] for t in d["traffic"] for st in t["arrivals"]["steps"]), default=0.0)
d["duration_s"], d["record"]["period_s"] = 6.0 + last_step, 3.0  # burst's traffic starts at its 60 s step
lines = []
first = compile_kernels(load_scenario(d), announce=lines.append)
again = compile_kernels(load_scenario(d), announce=lines.append)
before = loaded()
compiled = []
class L(event.Listener):
    def on_start(self, ev):
        compiled.append(ev.data["dispatcher"].py_func.__qualname__)
    def on_end(self, ev):
        pass
event.register("numba:compile", L())
simulate(d, progress=False)
print(json.dumps({"announced": lines, "again_compiled": again.compiled, "compiled_in_run": compiled,
                  "loaded_in_run": sorted(k for _, k, _ in loaded() - before)}))
"""


@pytest.mark.parametrize("name", SHIPPED)
def test_nothing_compiles_or_loads_inside_a_run_after_warm_up(name):
    """After compile_kernels(scenario), its run (engine, finishing, summary, billing) neither
    compiles nor loads a kernel: nothing of the kind is left to happen inside the run's clock."""
    out = subprocess.run([sys.executable, "-c", _PROBE, name], cwd=ROOT, capture_output=True, text=True,
                         timeout=1200)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["compiled_in_run"] == [] and got["loaded_in_run"] == [], got
    assert not got["again_compiled"] and len(got["announced"]) <= 1


def test_cold_cache_is_announced_once_then_cached(tmp_path):
    """A fresh numba cache: `python -m sim.engine.warmup vpc` says it is compiling; the second run does not."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}

    def warm():
        out = subprocess.run([sys.executable, "-m", "sim.engine.warmup", "vpc"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=600)
        assert out.returncode == 0, out.stderr
        return out.stderr

    first, second = warm(), warm()
    assert first.count("compiling kernels (once, about ") == 1 and "compiled vpc" in first
    assert "compiling" not in second and "all cached" in second


def test_unknown_group_on_the_command_line():
    out = subprocess.run([sys.executable, "-m", "sim.engine.warmup", "lamda"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2 and "unknown group(s) lamda" in out.stderr
