"""The `cloudtwin-optimize` command: constrained TPE (Optuna) over scenario settings, replicated with common random numbers."""

from __future__ import annotations

import argparse
import difflib
import json
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from omegaconf import DictConfig, OmegaConf

import sim.cli as cli  # registers ${cloudtwin_root:} and the scenario schema
from sim.sweep.space import OptimizeError, Spec, describe, parse_spec

GROUP = "optimize"
TABLE = "study.parquet"
SUMMARY = "study.json"
_ABSENT = object()


def presets() -> List[str]:
    """The optimisation configs in configs/optimize/."""
    return sorted(p.stem for p in (cli.CONFIG_DIR / GROUP).glob("*.yaml"))


class Composer:
    """Hydra's compose() over configs/, with the optimisation config and the user's overrides always applied.

    A context manager: it owns Hydra's global state while open (cleared on entry and exit).
    """

    def __init__(self, overrides: Sequence[str]):
        self.overrides = list(overrides)

    def __enter__(self) -> "Composer":
        from hydra import initialize_config_dir
        from hydra.core.global_hydra import GlobalHydra

        GlobalHydra.instance().clear()
        self._ctx = initialize_config_dir(config_dir=str(cli.CONFIG_DIR), version_base="1.3")
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        from hydra.core.global_hydra import GlobalHydra

        self._ctx.__exit__(*exc)
        GlobalHydra.instance().clear()

    def compose(self, extra: Sequence[str] = ()) -> DictConfig:
        """The root config with `extra` overrides after the user's; Hydra's errors as OptimizeError."""
        from hydra import compose
        from hydra.errors import HydraException
        from omegaconf.errors import OmegaConfBaseException

        try:
            return compose("config", overrides=[*self.overrides, *extra])
        except (HydraException, OmegaConfBaseException) as err:
            raise OptimizeError([_one_line(err)]) from None


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def override(key: str, value: Any) -> str:
    """A Hydra override setting `key` to `value` exactly (strings quoted, floats in full)."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, int):
        text = str(value)
    else:
        text = "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
    return f"{key}={text}"


def check_space(spec: Spec, composer: Composer, base: DictConfig) -> None:
    """Every parameter names an existing scenario value, and each of its edge values makes a valid scenario."""
    from scenarios import ScenarioError, load_scenario

    problems: List[str] = []
    leaves = [f"scenario.{k}" for k in _leaf_keys(OmegaConf.to_container(base.scenario))]
    for p in spec.params:
        where = f"optimize.params.{p.key}"
        node = OmegaConf.select(base, p.key, default=_ABSENT, throw_on_missing=False)
        if node is _ABSENT:
            near = difflib.get_close_matches(p.key, leaves, n=1)
            problems.append(f"{where}: no such key in the scenario"
                            + (f" (did you mean {near[0]}?)" if near else ""))
            continue
        if OmegaConf.is_config(node):
            problems.append(f"{where}: a whole section, not one value")
            continue
        for value in p.edges():
            try:
                load_scenario(cli.scenario_dict(composer.compose([override(p.key, value)])))
            except (OptimizeError, ScenarioError) as err:
                problems.append(f"{where}: {value!r} does not make a valid scenario: {_one_line(err)}")
    if problems:
        raise OptimizeError(problems)


def _leaf_keys(data: Any, prefix: str = "") -> List[str]:
    if isinstance(data, dict):
        return [k for key, v in data.items() for k in _leaf_keys(v, f"{prefix}{key}.")]
    if isinstance(data, list):
        return [k for i, v in enumerate(data) for k in _leaf_keys(v, f"{prefix}{i}.")]
    return [prefix[:-1]]


def run_one(scenario: Dict[str, Any], price_book: Any) -> Dict[str, Any]:
    """One replication: the run's summary scalars that are numbers (or None), under dotted names."""
    from sim import simulate
    from sim.sweep.gather import flatten

    summary = flatten(simulate(scenario, price_book=price_book, progress=False).summary)
    return {k: v for k, v in summary.items()
            if k != "seed" and (v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)))}


@dataclass
class Point:
    """One point of the space: the mean of every metric over the seeds, or why it failed."""

    first_trial: int
    means: Dict[str, float] = field(default_factory=dict)
    runs: List[Dict[str, Any]] = field(default_factory=list)
    error: Optional[str] = None
    done: bool = False


def _mean(values: Sequence[Any]) -> float:
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else math.nan


def _evaluate(points: Dict[Tuple, Point], todo: List[Tuple[Tuple, Dict[str, Any]]], spec: Spec,
              price_book: Any, pool) -> None:
    """Run every seed of each new point (in the pool when there is one) and fill in its means."""
    jobs = [(key, {**scenario, "seed": seed}) for key, scenario in todo for seed in spec.seeds]
    if pool is None:
        results = [run_one(s, price_book) for _, s in jobs]
    else:
        from joblib import delayed

        results = pool(delayed(run_one)(s, price_book) for _, s in jobs)
    for (key, _), summary in zip(jobs, results):
        points[key].runs.append(summary)
    for key, _ in todo:
        point = points[key]
        names = dict.fromkeys(k for r in point.runs for k in r)
        point.means = {k: _mean([r.get(k) for r in point.runs]) for k in names}
        point.done = True
        _check_metrics(spec, point)


def _check_metrics(spec: Spec, point: Point) -> None:
    """The objective and every constraint name a numeric summary key (checked on each simulated point)."""
    problems = []
    for where, metric in [("optimize.objective", spec.objective),
                          *((f"optimize.constraints.{c.name}.metric", c.metric) for c in spec.constraints)]:
        if metric not in point.means:
            near = difflib.get_close_matches(metric, list(point.means), n=1)
            problems.append(f"{where}: {metric} is not a numeric key of the run summary"
                            + (f" (did you mean {near[0]}?)" if near else ""))
    if problems:
        raise OptimizeError(problems)


@dataclass
class Outcome:
    """What a study found: the best feasible trial (None if there is none), the table and where it went."""

    spec: Spec
    study: Any
    table: Any
    best: Optional[Dict[str, Any]]
    summary: Dict[str, Any]
    out_dir: Path


def run_study(spec: Spec, composer: Composer, price_book: Any, log=None):
    """Constrained TPE over the space: `n_trials` points simulated, each on every seed, told their means.

    TPE is asked for up to `n_jobs` new points at a time, run side by side, then told in the
    order asked, so a spec (n_jobs included) gives the same trials however the runs interleave. Runs are
    deterministic given the seeds, so a trial at a point already simulated is told its known
    result at once and does not count against `n_trials`; the study also ends once every point
    of a finite space is simulated, or after 10 x n_trials trials.
    Returns (study, points by parameter tuple, trial number -> parameter tuple, why it stopped).
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    study = optuna.create_study(direction=spec.direction, study_name=spec.name,
                                sampler=optuna.samplers.TPESampler(seed=spec.sampler_seed))
    dists = {p.key: p.distribution() for p in spec.params}
    points: Dict[Tuple, Point] = {}
    keys: Dict[int, Tuple] = {}
    size, cap = spec.space_size(), REPEAT_CAP * spec.n_trials
    pool = None
    if spec.n_jobs > 1:
        from joblib import Parallel

        pool = Parallel(n_jobs=spec.n_jobs)

    def stop() -> Optional[str]:
        if len(points) >= spec.n_trials:
            return "n_trials"
        if size is not None and len(points) >= size:
            return "space covered"
        return "trial cap" if len(keys) >= cap else None

    while stop() is None:
        held, todo = [], []
        want = min(spec.n_jobs, spec.n_trials - len(points))
        while len(todo) < want and stop() is None:
            trial = study.ask(dists)
            key = keys[trial.number] = tuple(trial.params[p.key] for p in spec.params)
            if key in points and points[key].done:
                _tell(spec, study, trial, points[key], log)
                continue
            held.append(trial)
            if key not in points:
                points[key] = _prepare(composer, trial, todo, key)
        _evaluate(points, todo, spec, price_book, pool)
        for trial in held:
            _tell(spec, study, trial, points[keys[trial.number]], log)
    return study, points, keys, stop()


REPEAT_CAP = 10  # at most this many trials per point to simulate, repeats included


def _prepare(composer: Composer, trial, todo: List, key: Tuple) -> Point:
    """A new point: its scenario composed with the trial's overrides and checked, queued in `todo`."""
    from scenarios import ScenarioError, load_scenario

    point = Point(first_trial=trial.number)
    try:
        scenario = cli.scenario_dict(composer.compose([override(k, v) for k, v in trial.params.items()]))
        load_scenario(scenario)
    except (OptimizeError, ScenarioError) as err:
        point.error, point.done = _one_line(err), True
        return point
    todo.append((key, scenario))
    return point


def _tell(spec: Spec, study, trial, point: Point, log) -> None:
    """Tell TPE a trial's result: objective mean, constraint violations and every metric mean as user attrs."""
    from optuna.trial import TrialState

    value = point.means.get(spec.objective, math.nan)
    if point.error is not None or not math.isfinite(value):
        trial.set_user_attr("error", point.error or f"{spec.objective} has no value")
        study.tell(trial, state=TrialState.FAIL)
    else:
        for c in spec.constraints:
            trial.set_constraint(c.name, c.violation(point.means[c.metric]))
        for metric, mean in point.means.items():
            trial.set_user_attr(metric, mean)
        study.tell(trial, value)
    if log is not None:
        log(_trial_line(spec, trial.number, trial.params, point))


def best_trial(study) -> Optional[Any]:
    """The best feasible complete trial, or None when there is none."""
    try:
        return study.best_trial
    except ValueError:  # no complete trial, or none feasible
        return None


def _feasible(trial) -> bool:
    from optuna.trial import TrialState

    return trial.state == TrialState.COMPLETE and all(v <= 0 for v in trial.constraints.values())


def study_table(spec: Spec, study, points: Dict[Tuple, Point], keys: Dict[int, Tuple]):
    """One row per trial: parameters, objective, constraint violations, feasible, best, metric means."""
    import polars as pl

    from sim.sweep.stats import mean_ci

    best = best_trial(study)
    rows = []
    for t in study.trials:
        point = points[keys[t.number]]
        row: Dict[str, Any] = {"trial": t.number, "state": t.state.name,
                               "repeat_of": None if point.first_trial == t.number else point.first_trial}
        row.update({p.key: t.params[p.key] for p in spec.params})
        row["objective"] = t.value
        for c in spec.constraints:
            row[f"violation.{c.name}"] = t.constraints.get(c.name)
        row["feasible"] = _feasible(t)
        row["best"] = best is not None and t.number == best.number
        row["seeds"] = len(point.runs)
        for metric in spec.metrics():
            row[f"{metric}.ci"] = mean_ci([r.get(metric) for r in point.runs])[1] if point.runs else None
        row.update(point.means)
        row["error"] = point.error
        rows.append(row)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    return pl.from_dicts([{c: r.get(c) for c in columns} for r in rows], infer_schema_length=None)


def _out_dir(results_dir: str, name: str) -> Path:
    """results_dir/optimize/NAME/TIMESTAMP, new (a suffix when one started in the same second)."""
    base = Path(results_dir) / GROUP / name / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    out, n = base, 0
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}_{n}")
    out.mkdir(parents=True)
    return out


def split_name(overrides: Sequence[str]) -> Tuple[str, List[str]]:
    """(NAME, the other overrides) from `optimize=NAME` (or `+optimize=NAME`) among `overrides`."""
    names = [o.split("=", 1)[1] for o in overrides if o.split("=", 1)[0] in (GROUP, f"+{GROUP}") and "=" in o]
    if len(names) != 1:
        raise OptimizeError([f"name one optimisation config: optimize=NAME, NAME one of "
                             f"{', '.join(presets()) or '(none in configs/optimize/)'} "
                             "(or your own, found through hydra.searchpath)"])
    return names[0], [o for o in overrides if o.split("=", 1)[0] not in (GROUP, f"+{GROUP}")]


def optimize(overrides: Sequence[str], log=None) -> Outcome:
    """Compose `optimize=NAME` and the overrides, check the space, run the study and write its files."""
    name, rest = split_name(overrides)
    t0 = time.perf_counter()
    # a setting the config leaves at its default is absent from it: `++` sets it either way
    hydra_overrides = [f"++{o}" if o.startswith(f"{GROUP}.") else o for o in rest]
    with Composer([f"+{GROUP}={name}", *hydra_overrides]) as composer:
        try:
            base = composer.compose()
        except OptimizeError as err:
            if f"Could not find '{GROUP}/{name}'" not in str(err):
                raise
            raise OptimizeError([f"optimize={name}: no such optimisation config (configs/optimize/ has "
                                 f"{', '.join(presets())}; for your own DIR/optimize/{name}.yaml add "
                                 "hydra.searchpath=[file://DIR])"]) from None
        if not isinstance(base.get(GROUP), DictConfig):
            raise OptimizeError([f"optimize={name}: the config has no `optimize:` section "
                                 "(does it start with `# @package _global_`?)"])
        spec = parse_spec(OmegaConf.to_container(base[GROUP], resolve=True), name, os.cpu_count() or 1)
        check_space(spec, composer, base)
        book = base.get("pricing")
        book = OmegaConf.to_container(book, resolve=True) if book is not None else None
        study, points, keys, stopped = run_study(spec, composer, book, log)
    wall_s = time.perf_counter() - t0
    table = study_table(spec, study, points, keys)
    best = best_trial(study)
    summary = {
        **describe(spec),
        "scenario": str(base.scenario.name),
        "overrides": list(rest),
        "trials": len(study.trials),
        "points": len(points),
        "space_size": spec.space_size(),
        "stopped": stopped,
        "complete_trials": int((table["state"] == "COMPLETE").sum()),
        "feasible_trials": int(table["feasible"].sum()),
        "wall_s": wall_s,
        "best": None if best is None else {
            "trial": best.number, "params": dict(best.params), "objective": best.value,
            "metrics": {m: {"mean": points[keys[best.number]].means.get(m),
                            "ci": table.filter(table["trial"] == best.number)[f"{m}.ci"][0]}
                        for m in spec.metrics()}},
    }
    out_dir = _out_dir(str(base.results_dir), name)
    table.write_parquet(out_dir / TABLE)
    (out_dir / SUMMARY).write_text(json.dumps(_finite(summary), indent=2) + "\n")
    return Outcome(spec=spec, study=study, table=table, best=summary["best"], summary=summary,
                   out_dir=out_dir)


def _finite(data: Any) -> Any:
    """`data` for JSON: NaN and infinities (a CI from one seed) as null."""
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(v) for v in data]
    if isinstance(data, float) and not math.isfinite(data):
        return None
    return data


# ---------------------------------------------------------------- console

def _num(x: Any) -> str:
    """Four significant digits, separators from 1,000; '-' when missing."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    x = float(x)
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:,.2f}" if abs(x) >= 1000 else f"{x:.4g}"


def _params_text(params: Dict[str, Any]) -> str:
    return "  ".join(f"{k.removeprefix('scenario.')}={v}" for k, v in params.items())


def _trial_line(spec: Spec, number: int, params: Dict[str, Any], point: Point) -> str:
    """One progress line: trial, parameters, objective, and each constraint's mean with ok / X."""
    head = f"trial {number}  {_params_text(params)}"
    if point.error is not None:
        return f"{head}  failed: {point.error}"
    parts = [f"{spec.objective} {_num(point.means.get(spec.objective))}"]
    for c in spec.constraints:
        ok = "ok" if c.violation(point.means[c.metric]) <= 0 else "X"
        parts.append(f"{c.metric} {_num(point.means[c.metric])} {ok}")
    repeat = "" if point.first_trial == number else f"  (as trial {point.first_trial})"
    return f"{head}  " + "  ".join(parts) + repeat


def format_outcome(outcome: Outcome) -> str:
    """The console summary: budget, goal, the best feasible trial with mean ± 95 % CI, or why there is none."""
    s, spec = outcome.summary, outcome.spec
    space = ""
    if s["space_size"] is not None:
        space = " (the whole space)" if s["points"] >= s["space_size"] else f" of {s['space_size']:,}"
    goal = f"{spec.direction} {spec.objective}"
    if spec.constraints:
        goal += " subject to " + ", ".join(c.text() for c in spec.constraints)
    lines = [f"{spec.name} ({s['scenario']}): {s['points']} points{space} x {len(spec.seeds)} seeds "
             f"in {s['trials']} trials, {s['wall_s']:.1f} s",
             goal, f"feasible: {s['feasible_trials']} of {s['trials']} trials"]
    best = outcome.best
    if best is None:
        if s["complete_trials"] == 0:
            lines.append("no complete trial: every point failed (see the error column of the table)")
        else:
            lines.append(f"no feasible trial: none of the {s['complete_trials']} complete trials meets every constraint")
            lines.extend(_closest(outcome))
    else:
        lines.append(f"best: trial {best['trial']}  {_params_text(best['params'])}")
        width = max(len(m) for m in best["metrics"])
        for metric, v in best["metrics"].items():
            ci = "" if v["ci"] is None or not math.isfinite(v["ci"]) else f" ± {_num(v['ci'])}"
            bounds = [c.text().split(" ", 1)[1] for c in spec.constraints if c.metric == metric]
            lines.append(f"  {metric:<{width}}  {_num(v['mean'])}{ci}"
                         + (f"  ({', '.join(bounds)})" if bounds else ""))
    lines.append(f"study: {outcome.out_dir / TABLE}")
    return "\n".join(lines)


def _closest(outcome: Outcome) -> List[str]:
    """The complete trial with the least total violation, and where it misses."""
    import polars as pl

    spec, t = outcome.spec, outcome.table.filter(pl.col("state") == "COMPLETE")
    cols = [f"violation.{c.name}" for c in spec.constraints]
    total = t.select(pl.sum_horizontal([pl.col(c).clip(lower_bound=0) for c in cols])).to_series()
    row = t.row(int(total.arg_min()), named=True)
    misses = [f"{c.metric} = {_num(row[c.metric])}, bound {c.text().split(' ', 1)[1]}"
              for c in spec.constraints if row[f"violation.{c.name}"] > 0]
    params = {p.key: row[p.key] for p in spec.params}
    return [f"closest: trial {row['trial']}  {_params_text(params)}: " + "; ".join(misses)]


def main(argv: Optional[List[str]] = None) -> int:
    """`cloudtwin-optimize optimize=NAME [overrides…]`: 0 with a best trial, 1 with none feasible, 2 on mistakes."""
    parser = argparse.ArgumentParser(
        prog="cloudtwin-optimize",
        description="Search scenario settings with Optuna's constrained TPE: each trial composes "
                    "the config (configs/optimize/NAME.yaml plus your overrides plus the trial's "
                    "parameters), runs it on the same seeds as every other trial and scores the means. "
                    "Writes study.parquet and study.json to results/optimize/NAME/TIMESTAMP/.",
        epilog=f"presets: {', '.join(presets())}. Example: cloudtwin-optimize optimize=memory_cost "
               "optimize.n_trials=30 optimize.constraints.p99.max=600 scenario.duration_s=1800")
    parser.add_argument("overrides", nargs="*", help="optimize=NAME, then Hydra overrides (key=value)")
    args = parser.parse_args(argv)
    try:
        outcome = optimize(args.overrides, log=lambda line: print(line, file=sys.stderr, flush=True))
    except OptimizeError as err:
        print("cloudtwin-optimize: the optimisation has mistakes:", file=sys.stderr)
        print("\n".join(f"  {p}" for p in err.problems), file=sys.stderr)
        return 2
    print(format_outcome(outcome))
    return 0 if outcome.best is not None else 1


if __name__ == "__main__":
    sys.exit(main())
