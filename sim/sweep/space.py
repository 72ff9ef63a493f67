"""The optimisation config as typed objects: search space, objective, constraints and budget, checked in one pass."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

TYPES = ("int", "float", "categorical")
_FIELDS = {"int": {"low", "high", "step", "log"}, "float": {"low", "high", "step", "log"},
           "categorical": {"choices"}}
SETTINGS = {"params", "objective", "direction", "constraints", "n_trials", "seeds", "n_jobs",
            "sampler_seed"}
DIRECTIONS = {"minimize": "minimize", "minimise": "minimize", "maximize": "maximize",
              "maximise": "maximize"}
_SHORTHAND = re.compile(r"^\s*(?P<metric>[^\s<>=]+)\s*(?P<op><=|>=)\s*(?P<bound>\S+)\s*$")


class OptimizeError(ValueError):
    """An optimisation config with mistakes: one line per problem, each naming its key."""

    def __init__(self, problems: List[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Param:
    """One dimension of the search space: a dotted config key and its range or choices."""

    key: str
    type: str  # 'int', 'float' or 'categorical'
    low: Optional[float] = None
    high: Optional[float] = None
    step: Optional[float] = None
    log: bool = False
    choices: Tuple[Any, ...] = ()

    def distribution(self):
        """The Optuna distribution of this parameter."""
        from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                          IntDistribution)

        if self.type == "categorical":
            return CategoricalDistribution(list(self.choices))
        if self.type == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log, step=int(self.step or 1))
        return FloatDistribution(self.low, self.high, log=self.log, step=self.step)

    def edges(self) -> Tuple[Any, ...]:
        """The values that bound the space: every choice, or low and high."""
        return self.choices if self.type == "categorical" else (self.low, self.high)

    def size(self) -> Optional[int]:
        """How many points the parameter can take; None for a continuous float."""
        if self.type == "categorical":
            return len(self.choices)
        if self.type == "int":
            return int(self.high - self.low) // int(self.step or 1) + 1
        return None if self.step is None else int(round((self.high - self.low) / self.step)) + 1


@dataclass(frozen=True)
class Constraint:
    """A summary metric's mean over the seeds held at most (`upper`) or at least `bound`."""

    name: str
    metric: str
    bound: float
    upper: bool

    def violation(self, mean: float) -> float:
        """How far `mean` lies past the bound, relative to |bound| when it is not 0; ≤ 0 means met.

        A missing mean (NaN) cannot be shown to meet the bound: +inf.
        """
        if not math.isfinite(mean):
            return math.inf
        past = mean - self.bound if self.upper else self.bound - mean
        return past / abs(self.bound) if self.bound != 0 else past

    def text(self) -> str:
        """'metric <= bound' as typed in the shorthand."""
        return f"{self.metric} {'<=' if self.upper else '>='} {self.bound:g}"


@dataclass(frozen=True)
class Spec:
    """A whole optimisation: the space, what to minimise or maximise, the constraints and the budget."""

    name: str
    params: Tuple[Param, ...]
    objective: str = "cost_usd.monthly"
    direction: str = "minimize"
    constraints: Tuple[Constraint, ...] = ()
    n_trials: int = 20
    seeds: Tuple[int, ...] = (0, 1, 2)
    n_jobs: int = 1
    sampler_seed: int = 0

    def space_size(self) -> Optional[int]:
        """The number of distinct points in the space; None when a parameter is continuous."""
        n = 1
        for p in self.params:
            size = p.size()
            if size is None:
                return None
            n *= size
        return n

    def metrics(self) -> List[str]:
        """The summary keys the study reads: the objective, then each constraint's metric."""
        return list(dict.fromkeys([self.objective, *(c.metric for c in self.constraints)]))


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def parse_spec(data: Mapping[str, Any], name: str, cpu_count: int = 1) -> Spec:
    """The `optimize:` section as a Spec; raises OptimizeError listing every mistake by its key."""
    problems: List[str] = []
    for key in data:
        if key not in SETTINGS:
            problems.append(f"optimize.{key}: unknown setting (known: {', '.join(sorted(SETTINGS))})")
    params = _params(data.get("params"), problems)
    objective = data.get("objective", Spec.objective)
    if not isinstance(objective, str) or not objective:
        problems.append(f"optimize.objective: {objective!r} is not a dotted summary key such as cost_usd.monthly")
    direction = DIRECTIONS.get(str(data.get("direction", Spec.direction)))
    if direction is None:
        problems.append(f"optimize.direction: {data.get('direction')!r} is neither minimize nor maximize")
    constraints = _constraints(data.get("constraints") or {}, problems)
    n_trials = _count(data, "n_trials", Spec.n_trials, problems)
    n_jobs = data.get("n_jobs", Spec.n_jobs)
    if n_jobs == -1:
        n_jobs = cpu_count
    elif not _is_int(n_jobs) or n_jobs < 1:
        problems.append(f"optimize.n_jobs: {n_jobs!r} is not a number of processes (1, 2, … or -1 for every core)")
    sampler_seed = data.get("sampler_seed", Spec.sampler_seed)
    if not _is_int(sampler_seed):
        problems.append(f"optimize.sampler_seed: {sampler_seed!r} is not an integer")
    seeds = _seeds(data.get("seeds", len(Spec.seeds)), problems)
    if problems:
        raise OptimizeError(problems)
    return Spec(name=name, params=params, objective=objective, direction=direction,
                constraints=constraints, n_trials=n_trials, seeds=seeds, n_jobs=n_jobs,
                sampler_seed=sampler_seed)


def _count(data: Mapping[str, Any], key: str, default: int, problems: List[str]) -> int:
    value = data.get(key, default)
    if not _is_int(value) or value < 1:
        problems.append(f"optimize.{key}: {value!r} is not a whole number of at least 1")
    return value


def _seeds(value: Any, problems: List[str]) -> Tuple[int, ...]:
    """`seeds: N` means 0 … N-1; a list names the seeds. Every trial runs the same ones."""
    if _is_int(value) and value >= 1:
        return tuple(range(value))
    if isinstance(value, (list, tuple)) and value and all(_is_int(s) for s in value) \
            and len(set(value)) == len(value):
        return tuple(value)
    problems.append(f"optimize.seeds: {value!r} is neither a count (3 means seeds 0, 1, 2) nor a list "
                    "of distinct integer seeds")
    return ()


def _params(data: Any, problems: List[str]) -> Tuple[Param, ...]:
    if not isinstance(data, Mapping) or not data:
        problems.append("optimize.params: no search space; give at least one dotted scenario key, e.g. "
                        "scenario.functions.api.memory_mb: {type: categorical, choices: [128, 256]}")
        return ()
    return tuple(p for key, spec in data.items() if (p := _param(str(key), spec, problems)) is not None)


def _param(key: str, spec: Any, problems: List[str]) -> Optional[Param]:
    where = f"optimize.params.{key}"
    before = len(problems)
    if not key.startswith("scenario."):
        problems.append(f"{where}: not a scenario key (it must start with 'scenario.')")
    if not isinstance(spec, Mapping) or spec.get("type") not in TYPES:
        kind = spec.get("type") if isinstance(spec, Mapping) else spec
        problems.append(f"{where}: type {kind!r} is none of {', '.join(TYPES)} "
                        "(write {type: int, low: 1, high: 9} or {type: categorical, choices: [...]})")
        return None
    kind = spec["type"]
    for field in spec:
        if field != "type" and field not in _FIELDS[kind]:
            problems.append(f"{where}.{field}: not a field of a {kind} parameter "
                            f"(those are {', '.join(sorted(_FIELDS[kind]))})")
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, (list, tuple)) or not choices:
            problems.append(f"{where}.choices: {choices!r} is not a non-empty list")
        elif not all(c is None or isinstance(c, (bool, int, float, str)) for c in choices):
            problems.append(f"{where}.choices: each choice must be a number, string, boolean or null")
        elif len({repr(c) for c in choices}) != len(choices):
            problems.append(f"{where}.choices: {list(choices)} repeats a choice")
        return Param(key, kind, choices=tuple(choices)) if len(problems) == before else None
    check = _is_int if kind == "int" else _is_num
    low, high, log = spec.get("low"), spec.get("high"), spec.get("log", False)
    step = spec.get("step", 1 if kind == "int" else None)
    for field, value in (("low", low), ("high", high)):
        if not check(value):
            problems.append(f"{where}.{field}: {value!r} is not {'an integer' if kind == 'int' else 'a number'}")
    if step is not None and (not check(step) or step <= 0):
        problems.append(f"{where}.step: {step!r} is not a positive {'integer' if kind == 'int' else 'number'}")
    if not isinstance(log, bool):
        problems.append(f"{where}.log: {log!r} is not true or false")
    if len(problems) > before:
        return None
    if low > high:
        problems.append(f"{where}: low {low} is above high {high}")
    elif step is not None and not math.isclose((high - low) / step, round((high - low) / step), abs_tol=1e-9):
        problems.append(f"{where}: high {high} is not low {low} plus a whole number of steps of {step}")
    if log and (low <= 0 or (kind == "int" and step != 1) or (kind == "float" and step is not None)):
        problems.append(f"{where}.log: a log scale needs low > 0 and no step (1 for an int)")
    return Param(key, kind, low=low, high=high, step=step, log=log) if len(problems) == before else None


def _constraints(data: Any, problems: List[str]) -> Tuple[Constraint, ...]:
    """Named constraints: {metric: KEY, max: N} or {metric: KEY, min: N}, or the shorthand 'KEY <= N'."""
    if not isinstance(data, Mapping):
        problems.append("optimize.constraints: not a mapping of names to {metric: KEY, max: N} "
                        "(or 'KEY <= N')")
        return ()
    out = []
    for name, spec in data.items():
        where = f"optimize.constraints.{name}"
        if isinstance(spec, str):
            m = _SHORTHAND.match(spec)
            try:
                bound = float(m.group("bound")) if m else math.nan
            except ValueError:
                bound = math.nan
            if not m or not math.isfinite(bound):
                problems.append(f"{where}: {spec!r} is not 'METRIC <= NUMBER' or 'METRIC >= NUMBER'")
                continue
            out.append(Constraint(str(name), m.group("metric"), bound, m.group("op") == "<="))
            continue
        if not isinstance(spec, Mapping):
            problems.append(f"{where}: {spec!r} is not {{metric: KEY, max: N}} or 'KEY <= N'")
            continue
        extra = set(spec) - {"metric", "max", "min"}
        bounds = [k for k in ("max", "min") if spec.get(k) is not None]
        metric = spec.get("metric")
        if extra:
            problems.append(f"{where}: unknown field(s) {', '.join(sorted(map(str, extra)))} "
                            "(a constraint has metric and max or min)")
        elif not isinstance(metric, str) or not metric:
            problems.append(f"{where}.metric: {metric!r} is not a dotted summary key")
        elif len(bounds) != 1:
            problems.append(f"{where}: give exactly one of max and min")
        elif not _is_num(spec[bounds[0]]):
            problems.append(f"{where}.{bounds[0]}: {spec[bounds[0]]!r} is not a number")
        else:
            out.append(Constraint(str(name), metric, float(spec[bounds[0]]), bounds[0] == "max"))
    return tuple(out)


def describe(spec: Spec) -> Dict[str, Any]:
    """The spec as plain data for study.json."""
    return {
        "name": spec.name,
        "params": {p.key: ({"type": p.type, "choices": list(p.choices)} if p.type == "categorical" else
                           {"type": p.type, "low": p.low, "high": p.high, "step": p.step, "log": p.log})
                   for p in spec.params},
        "objective": spec.objective, "direction": spec.direction,
        "constraints": {c.name: {"metric": c.metric, "max" if c.upper else "min": c.bound}
                        for c in spec.constraints},
        "n_trials": spec.n_trials, "seeds": list(spec.seeds), "n_jobs": spec.n_jobs,
        "sampler_seed": spec.sampler_seed,
    }
