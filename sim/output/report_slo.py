"""The scenario's service level objectives (scenarios/slo.py) checked against a run's summary."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional

from sim.output.report_format import duration_text, pct_text


@dataclass(frozen=True)
class SloCheck:
    """One objective: what it is about, its limit, the run's value, and whether the run met it."""

    section: str  # functions | queues
    name: str  # the function or queue
    objective: str  # the slo key, e.g. latency_p99_ms
    limit: float
    actual: Optional[float]  # None: the run has no such value (nothing happened)

    @property
    def met(self) -> bool:
        """A missing value meets its objective (nothing was served, nothing was late)."""
        return self.actual is None or self.actual <= self.limit

    def text(self) -> str:
        """'billing throttled 93.72 % > 1.00 % (throttle_ratio_max)'."""
        what, show = _DESCRIBE[self.objective]
        actual = "–" if self.actual is None else show(self.actual)
        sign = "≤" if self.met else ">"
        return f"{self.name} {what} {actual} {sign} {show(self.limit)} ({self.objective})"


_DESCRIBE = {
    "latency_p99_ms": ("p99 latency", lambda v: duration_text(v / 1000.0)),
    "throttle_ratio_max": ("throttled", pct_text),
    "error_ratio_max": ("errors", pct_text),
    "age_of_oldest_max_s": ("oldest message age", duration_text),
}


def _finite(v: Any) -> Optional[float]:
    if v is None or isinstance(v, bool):
        return None
    x = float(v)
    return x if math.isfinite(x) else None


def error_ratio(f: Mapping[str, Any]) -> Optional[float]:
    """errors / invocations of one function's summary; None without invocations."""
    inv = _finite(f.get("invocations"))
    err = _finite(f.get("errors"))
    return err / inv if inv and err is not None else None


def _actual(section: str, objective: str, entity: Mapping[str, Any]) -> Optional[float]:
    if objective == "latency_p99_ms":
        return _finite((entity.get("latency_ms") or {}).get("p99"))
    if objective == "throttle_ratio_max":
        return _finite(entity.get("throttle_ratio"))
    if objective == "error_ratio_max":
        return error_ratio(entity)
    if objective == "age_of_oldest_max_s":
        return _finite(entity.get("age_of_oldest_max_s"))
    raise KeyError(objective)


def slo_checks(summary: Mapping[str, Any], config: Mapping[str, Any]) -> List[SloCheck]:
    """Every objective the resolved scenario `config` sets, checked against `summary`, in config order."""
    slo = config.get("slo") or {}
    out: List[SloCheck] = []
    for section in ("functions", "queues"):
        entities = summary.get(section) or {}
        for name, objectives in (slo.get(section) or {}).items():
            for objective, limit in (objectives or {}).items():
                if limit is None or objective not in _DESCRIBE:
                    continue
                out.append(SloCheck(section, name, objective, float(limit),
                                    _actual(section, objective, entities.get(name) or {})))
    return out


def slo_limit(config: Mapping[str, Any], section: str, name: str, objective: str) -> Optional[float]:
    """The limit `objective` of `section`.`name` in the resolved scenario, None when unset."""
    v = (((config.get("slo") or {}).get(section) or {}).get(name) or {}).get(objective)
    return None if v is None else float(v)
