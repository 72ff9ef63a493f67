"""Optimisation: constrained TPE finds the point an exhaustive search finds, says so when none is feasible, rejects bad spaces."""

from __future__ import annotations

import copy
import json
import math

import polars as pl
import pytest
import yaml
from omegaconf import OmegaConf
from polars.testing import assert_frame_equal

import sim.cli as cli
from sim import simulate
from sim.sweep.gather import WALL_COLUMNS
from sim.sweep.optimize import Composer, main, optimize, presets
from sim.sweep.space import OptimizeError, parse_spec

MEMORY = "scenario.functions.server.memory_mb"
SIZES = [128, 256, 512, 1024, 1769, 2048]
SEEDS = [0, 1, 2]
CPU_SCALING = {"reference_memory_mb": 1024, "cpu_bound_fraction": 0.7, "max_threads": 1}
P99, THROTTLES, COST = ("functions.server.latency_ms.p99", "functions.server.throttle_ratio",
                        "cost_usd.monthly")
P99_MAX_MS, THROTTLE_MAX = 600.0, 0.01
# erlang_b (10 reserved environments, exponential 100 ms at 1,024 MB) for two minutes at
# 20 calls/s, durations scaling with memory: small sizes are cheap but slow and throttled.
SMALL = f"""\
# @package _global_
defaults:
  - override /scenario: erlang_b
scenario:
  duration_s: 120
  functions:
    server:
      cpu_scaling: {json.dumps(CPU_SCALING)}
optimize:
  params:
    {MEMORY}: {{type: categorical, choices: {SIZES}}}
  constraints:
    p99: {{metric: {P99}, max: {P99_MAX_MS}}}
    throttles: {THROTTLES} <= {THROTTLE_MAX}
  n_trials: 12
  seeds: {len(SEEDS)}
  sampler_seed: 0
"""


@pytest.fixture(scope="module")
def configs(tmp_path_factory):
    """A config directory with optimize/small.yaml, added to Hydra's search path."""
    d = tmp_path_factory.mktemp("configs")
    (d / "optimize").mkdir()
    (d / "optimize" / "small.yaml").write_text(SMALL)
    return d


def _args(configs, results, *extra):
    return ["optimize=small", f"hydra.searchpath=[file://{configs}]", f"results_dir={results}",
            "scenario.traffic.0.arrivals.rate_per_s=20", *extra]


@pytest.fixture(scope="module")
def exhaustive():
    """Every size on every seed through simulate(), written independently of the optimiser: means by size."""
    data = yaml.safe_load((cli.CONFIG_DIR / "scenario" / "erlang_b.yaml").read_text())
    data.pop("defaults")
    data["duration_s"] = 120
    data["traffic"][0]["arrivals"]["rate_per_s"] = 20
    data["functions"]["server"]["cpu_scaling"] = CPU_SCALING
    means = {}
    for size in SIZES:
        runs = []
        for seed in SEEDS:
            d = copy.deepcopy(data)
            d["seed"] = seed
            d["functions"]["server"]["memory_mb"] = size
            s = simulate(d, progress=False).summary
            f = s["functions"]["server"]
            runs.append((s["cost_usd"]["monthly"], f["latency_ms"]["p99"], f["throttle_ratio"]))
        means[size] = tuple(sum(r[i] for r in runs) / len(runs) for i in range(3))
    return means


@pytest.fixture(scope="module")
def study(configs, tmp_path_factory):
    return optimize(_args(configs, tmp_path_factory.mktemp("results")))


def test_the_exhaustive_search_has_one_cheapest_feasible_size(exhaustive):
    feasible = [m for m, (_, p99, thr) in exhaustive.items() if p99 <= P99_MAX_MS and thr <= THROTTLE_MAX]
    cheapest = min(feasible, key=lambda m: exhaustive[m][0])
    print({m: tuple(round(v, 4) for v in x) for m, x in exhaustive.items()})
    # not an edge of the space: smaller sizes break the constraints, larger ones cost more
    assert cheapest == 1024 and feasible == [1024, 1769, 2048]
    assert exhaustive[512][1] > P99_MAX_MS and exhaustive[256][2] > THROTTLE_MAX


def test_the_optimiser_finds_the_exhaustive_best(study, exhaustive):
    feasible = {m for m, (_, p99, thr) in exhaustive.items() if p99 <= P99_MAX_MS and thr <= THROTTLE_MAX}
    cheapest = min(feasible, key=lambda m: exhaustive[m][0])
    s = study.summary
    print(f"{s['trials']} trials, {s['points']} points, stopped: {s['stopped']}, {s['wall_s']:.1f} s")
    assert study.best["params"] == {MEMORY: cheapest}
    assert study.best["objective"] == pytest.approx(exhaustive[cheapest][0], rel=1e-12)
    assert study.study.best_trial.params == {MEMORY: cheapest}
    # 12 trials over 6 sizes: every size simulated once, repeats told the known result
    assert s["points"] == 6 and s["space_size"] == 6 and s["stopped"] == "space covered"
    t = study.table
    assert t.height == s["trials"] and t["trial"].to_list() == list(range(t.height))
    firsts = t.filter(pl.col("repeat_of").is_null())
    assert sorted(firsts[MEMORY].to_list()) == SIZES and firsts["seeds"].to_list() == [3] * 6
    for row in t.iter_rows(named=True):  # every trial's means equal the hand-made ones
        cost, p99, thr = exhaustive[row[MEMORY]]
        assert (row[COST], row[P99], row[THROTTLES]) == pytest.approx((cost, p99, thr), rel=1e-12)
        assert row["objective"] == pytest.approx(cost, rel=1e-12)
        assert row["violation.p99"] == pytest.approx((p99 - P99_MAX_MS) / P99_MAX_MS, rel=1e-12)
        assert row["violation.throttles"] == pytest.approx((thr - THROTTLE_MAX) / THROTTLE_MAX, rel=1e-12)
        assert row["feasible"] is (row[MEMORY] in feasible)
    assert t.filter(pl.col("best"))["trial"].to_list() == [study.best["trial"]]


def test_the_study_is_written_and_repeats_exactly(study, configs, tmp_path):
    out = study.out_dir
    assert out.is_absolute() and out.parent.name == "small" and out.parent.parent.name == "optimize"
    assert_frame_equal(pl.read_parquet(out / "study.parquet"), study.table)
    saved = json.loads((out / "study.json").read_text())
    assert saved["best"]["params"] == {MEMORY: 1024} and saved["seeds"] == SEEDS
    again = optimize(_args(configs, tmp_path))
    assert_frame_equal(again.table.drop(WALL_COLUMNS), study.table.drop(WALL_COLUMNS))


def test_two_processes_find_the_same_point_with_the_same_means(study, configs, tmp_path):
    two = optimize(_args(configs, tmp_path, "optimize.n_jobs=2"))
    assert two.best["params"] == study.best["params"] and two.summary["points"] == 6
    by_size = lambda t: t.filter(pl.col("repeat_of").is_null()).sort(MEMORY).select(MEMORY, COST, P99, THROTTLES)
    assert_frame_equal(by_size(two.table), by_size(study.table))


def test_no_feasible_trial_is_said_plainly(configs, tmp_path, capsys):
    code = main(_args(configs, tmp_path, "optimize.constraints.p99.max=50", "optimize.n_trials=3"))
    out = capsys.readouterr().out
    assert code == 1
    assert "no feasible trial: none of the" in out and "best:" not in out
    assert "closest: trial" in out and f"{P99} = " in out and "bound <= 50" in out
    (d,) = (tmp_path / "optimize" / "small").iterdir()
    assert json.loads((d / "study.json").read_text())["best"] is None
    t = pl.read_parquet(d / "study.parquet")
    assert not t["feasible"].any() and (t["violation.p99"] > 0).all()


# ---------------------------------------------------------------- checking the config

def test_the_preset_composes_and_its_space_is_valid():
    assert "memory_cost" in presets()
    from sim.sweep.optimize import check_space, split_name

    name, rest = split_name(["optimize=memory_cost"])
    with Composer([f"+optimize={name}", *rest]) as composer:
        base = composer.compose()
        spec = parse_spec(OmegaConf.to_container(base.optimize), name)
        check_space(spec, composer, base)  # every choice makes a valid default scenario
    assert base.scenario.name == "default" and base.scenario.functions.api.cpu_scaling.cpu_bound_fraction == 0.7
    assert [p.key for p in spec.params] == ["scenario.functions.api.memory_mb"]
    assert spec.objective == COST and [c.text() for c in spec.constraints] == [
        "functions.api.latency_ms.p99 <= 500", "functions.api.throttle_ratio <= 0.01"]


def _problems(params=None, **settings):
    with pytest.raises(OptimizeError) as err:
        parse_spec({"params": params or {MEMORY: {"type": "int", "low": 128, "high": 512}}, **settings}, "x")
    return str(err.value)


def test_bad_ranges_are_named():
    assert _problems({MEMORY: {"type": "int", "low": 512, "high": 128}}) == \
        f"optimize.params.{MEMORY}: low 512 is above high 128"
    assert f"optimize.params.{MEMORY}: high 500 is not low 50 plus a whole number of steps of 100" in \
        _problems({MEMORY: {"type": "int", "low": 50, "high": 500, "step": 100}})
    assert f"optimize.params.{MEMORY}.low: 1.5 is not an integer" in _problems({MEMORY: {"type": "int", "low": 1.5, "high": 3}})
    assert f"optimize.params.{MEMORY}: type 'range' is none of int, float, categorical" in \
        _problems({MEMORY: {"type": "range", "low": 1, "high": 3}})
    assert f"optimize.params.{MEMORY}.choices: [128, 128] repeats a choice" in \
        _problems({MEMORY: {"type": "categorical", "choices": [128, 128]}})
    assert f"optimize.params.{MEMORY}.choices: 'big' is not a non-empty list" in \
        _problems({MEMORY: {"type": "categorical", "choices": "big"}})
    assert f"optimize.params.{MEMORY}.hi: not a field of a int parameter" in \
        _problems({MEMORY: {"type": "int", "low": 1, "high": 3, "hi": 4}})
    assert "optimize.params.functions.x: not a scenario key" in \
        _problems({"functions.x": {"type": "float", "low": 0.0, "high": 1.0}})


def test_bad_settings_are_named():
    assert "optimize.n_trails: unknown setting" in _problems(n_trails=3)
    assert "optimize.seeds: 0 is neither a count" in _problems(seeds=0)
    assert "optimize.direction: 'down' is neither minimize nor maximize" in _problems(direction="down")
    assert "optimize.constraints.p99: give exactly one of max and min" in \
        _problems(constraints={"p99": {"metric": P99}})
    assert "optimize.constraints.p99: 'p99 < 3' is not 'METRIC <= NUMBER'" in _problems(constraints={"p99": "p99 < 3"})
    both = _problems({MEMORY: {"type": "int", "low": 9, "high": 1}}, n_jobs=0)
    assert set(both.splitlines()) == {f"optimize.params.{MEMORY}: low 9 is above high 1",
                                      "optimize.n_jobs: 0 is not a number of processes (1, 2, … or -1 for every core)"}


def test_an_unknown_key_or_invalid_value_is_rejected_before_any_run(configs, tmp_path, capsys):
    key = "scenario.functions.server.memory_mbb"
    space = f"optimize.params={{{key}:{{type:int,low:128,high:256}}}}"
    # the override adds to the preset's params: the typo'd key sits beside memory_mb
    assert main(_args(configs, tmp_path, space)) == 2
    err = capsys.readouterr().err
    assert f"optimize.params.{key}: no such key in the scenario (did you mean {MEMORY}?)" in err
    assert not (tmp_path / "optimize").exists()  # nothing ran
    too_big = f"optimize.params={{{MEMORY}:{{type:categorical,choices:[1024,20000]}}}}"
    assert main(_args(configs, tmp_path, too_big)) == 2
    assert f"optimize.params.{MEMORY}: 20000 does not make a valid scenario" in capsys.readouterr().err


def test_an_unknown_objective_is_named_after_the_first_run(configs, tmp_path, capsys):
    assert main(_args(configs, tmp_path, "optimize.objective=cost_usd.monthy", "optimize.n_trials=1")) == 2
    assert "optimize.objective: cost_usd.monthy is not a numeric key of the run summary " \
           "(did you mean cost_usd.monthly?)" in capsys.readouterr().err


def test_a_missing_or_unknown_name_is_explained(capsys):
    assert main([]) == 2
    assert "name one optimisation config: optimize=NAME, NAME one of memory_cost" in capsys.readouterr().err
    assert main(["optimize=nope"]) == 2
    assert "optimize=nope: no such optimisation config (configs/optimize/ has memory_cost;" in capsys.readouterr().err


def test_ranges_become_optuna_distributions_and_exact_overrides():
    from optuna.distributions import FloatDistribution, IntDistribution

    from sim.sweep.optimize import override

    spec = parse_spec({"params": {
        "scenario.functions.worker.reserved_concurrency": {"type": "int", "low": 50, "high": 500, "step": 50},
        "scenario.functions.api.error_rate": {"type": "float", "low": 0.001, "high": 0.1, "log": True},
    }, "seeds": [7, 3], "n_jobs": -1}, "x", cpu_count=2)
    reserved, error_rate = spec.params
    assert reserved.distribution() == IntDistribution(50, 500, step=50) and reserved.size() == 10
    assert error_rate.distribution() == FloatDistribution(0.001, 0.1, log=True) and error_rate.size() is None
    assert spec.space_size() is None and spec.seeds == (7, 3) and spec.n_jobs == 2
    assert [override("a.b", v) for v in (128, 0.1, 1e-05, True, None, "it's")] == [
        "a.b=128", "a.b=0.1", "a.b=1e-05", "a.b=true", "a.b=null", "a.b='it\\'s'"]
