"""The entry points of a run (one per traffic source): what components report, checked against their contract and merged in the traffic's order.

The contract is `sim.engine.component.Component.entry_points`'s docstring: per traffic
source, counts (`COUNT_KEYS`, whole numbers ≥ 0) and two histograms (`HISTOGRAM_KEYS`, each
`STAT_KEYS` in ms, or None when no request gave a sample). `collect_entry_points` merges
what every component gives into summary.json's `entry_points` section (docs/DESIGN.md §5).
A value that breaks the contract is an engine's bug, not a user's mistake: a ValueError
that names the component, the source and the key. Plain Python: nothing here needs polars.
"""

from __future__ import annotations

import difflib
import math
import numbers
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

COUNT_KEYS: Tuple[str, ...] = ("requests", "succeeded", "failed", "throttled", "in_flight_end")
HISTOGRAM_KEYS: Tuple[str, ...] = ("latency_ms", "completion_ms")
ENTRY_POINT_KEYS: Tuple[str, ...] = COUNT_KEYS + HISTOGRAM_KEYS
STAT_KEYS: Tuple[str, ...] = ("mean", "p50", "p90", "p99", "p999", "max")
_ORDERED = ("p50", "p90", "p99", "p999", "max")  # each no greater than the next


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _keys_problem(value: Mapping[str, Any], allowed: Sequence[str], where: str) -> Optional[str]:
    """Why `value`'s keys are not exactly `allowed` (an unknown key first, with a 'did you mean'), or None."""
    extra = [k for k in value if k not in allowed]
    if extra:
        hint = difflib.get_close_matches(str(extra[0]), allowed, n=1)
        return (f"{where}: unknown key {extra[0]!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + f"; the keys are {', '.join(allowed)}")
    missing = [k for k in allowed if k not in value]
    if missing:
        return f"{where}: missing key(s) {', '.join(missing)}"
    return None


def _histogram(value: Any, where: str) -> Optional[Dict[str, float]]:
    """A histogram's statistics as floats, in STAT_KEYS order, checked; None stays None (no sample)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected a dict of {', '.join(STAT_KEYS)} or None (no sample), "
                         f"got {type(value).__name__}")
    problem = _keys_problem(value, STAT_KEYS, where)
    if problem:
        raise ValueError(problem)
    out: Dict[str, float] = {}
    for k in STAT_KEYS:
        v = value[k]
        if not _is_real(v) or not math.isfinite(float(v)) or float(v) < 0:
            raise ValueError(f"{where}.{k} is {v!r}, expected a finite number of ms ≥ 0")
        out[k] = float(v)
    for a, b in zip(_ORDERED, _ORDERED[1:]):
        if out[a] > out[b]:
            raise ValueError(f"{where}: {a} {out[a]!r} is above {b} {out[b]!r}")
    if out["mean"] > out["max"]:
        raise ValueError(f"{where}: mean {out['mean']!r} is above max {out['max']!r}")
    return out


def check_entry_point(value: Any, where: str) -> Dict[str, Any]:
    """One entry point's dict, checked against the contract (module doc) and made plain: ints, floats, None.

    Besides the types: succeeded + failed + throttled ≤ requests (each answered or refused
    request once), and in_flight_end ≤ requests. `where` names it in messages
    ('lambda: entry point checkout').
    """
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected a dict with keys {', '.join(ENTRY_POINT_KEYS)}, "
                         f"got {type(value).__name__}")
    problem = _keys_problem(value, ENTRY_POINT_KEYS, where)
    if problem:
        raise ValueError(problem)
    out: Dict[str, Any] = {}
    for k in COUNT_KEYS:
        v = value[k]
        if not _is_int(v) or int(v) < 0:
            raise ValueError(f"{where}: {k} is {v!r}, expected a whole number ≥ 0")
        out[k] = int(v)
    answered = out["succeeded"] + out["failed"] + out["throttled"]
    if answered > out["requests"]:
        raise ValueError(f"{where}: succeeded + failed + throttled is {answered}, above its {out['requests']} requests")
    if out["in_flight_end"] > out["requests"]:
        raise ValueError(f"{where}: in_flight_end {out['in_flight_end']} is above its {out['requests']} requests")
    for k in HISTOGRAM_KEYS:
        out[k] = _histogram(value[k], f"{where}.{k}")
    return out


def collect_entry_points(parts: Sequence[Tuple[str, Any]],
                         sources: Optional[Sequence[str]] = None) -> Dict[str, Dict[str, Any]]:
    """summary.json's `entry_points`: {source: checked dict}, from (component name, its `entry_points()`) pairs.

    Every component's dict is checked (`check_entry_point`). A source given by two
    components is an error, and so, when `sources` (the scenario's traffic names, in order)
    is given, is a name that is not one of them; the result then follows that order (a
    source no component reports is left out), else the components' order. Empty when no
    component gives any.
    """
    found: Dict[str, Dict[str, Any]] = {}
    owner: Dict[str, str] = {}
    for component, given in parts:
        if given is None:
            continue
        if not isinstance(given, Mapping):
            raise ValueError(f"{component}: entry_points() returned {type(given).__name__}, "
                             f"expected a dict {{traffic source: dict}}")
        for name, value in given.items():
            where = f"{component}: entry point {name!r}"
            if not isinstance(name, str) or not name:
                raise ValueError(f"{where}: a traffic source's name expected")
            if sources is not None and name not in sources:
                hint = difflib.get_close_matches(name, list(sources), n=1)
                raise ValueError(f"{where} is not a traffic source"
                                 + (f" (did you mean {hint[0]!r}?)" if hint else "")
                                 + f"; the sources are {', '.join(sources) or 'none'}")
            if name in found:
                raise ValueError(f"{where}: given by {owner[name]} too; a source has one entry point")
            found[name] = check_entry_point(value, where)
            owner[name] = component
    if sources is None:
        return found
    return {name: found[name] for name in sources if name in found}

