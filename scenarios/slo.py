"""Service level objectives a scenario may state: limits the report draws as lines and the terminal checks.

Written under the scenario's `slo:` key, per function and per queue; every limit defaults to
null, which means "no objective" (no line, no check)::

    slo:
      functions:
        api: {latency_p99_ms: 500, throttle_ratio_max: 0.01, error_ratio_max: 0.001}
      queues:
        orders: {age_of_oldest_max_s: 300}

What each limit is compared with (all over the whole simulated period, from summary.json):
- `latency_p99_ms`: the function's `latency_ms.p99` (the report also draws it on the p99
  over time);
- `throttle_ratio_max`: `throttle_ratio`, throttled attempts / all attempts;
- `error_ratio_max`: `errors / invocations`;
- `age_of_oldest_max_s`: the queue's `age_of_oldest_max_s`, the largest ApproximateAgeOfOldestMessage.
A simplification: one objective per quantity for the whole run; no error budgets, windows or
burn rates. Ranges are in `scenarios.rules.RANGES`; names are checked by `check_slo`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from scenarios.addresses import check_reference
from scenarios.errors import Problems
from scenarios.yamlpath import key


@dataclass
class FunctionSlo:
    """Objectives of one Lambda function; None: no objective."""

    latency_p99_ms: Optional[float] = None  # the run's p99 latency must not exceed this
    throttle_ratio_max: Optional[float] = None  # throttled share of attempts, 0-1
    error_ratio_max: Optional[float] = None  # errors / invocations, 0-1


@dataclass
class QueueSlo:
    """Objectives of one SQS queue; None: no objective."""

    age_of_oldest_max_s: Optional[float] = None  # the oldest message's age must stay below this


@dataclass
class Slo:
    """The scenario's objectives, keyed by function and queue name."""

    functions: Dict[str, FunctionSlo] = field(default_factory=dict)
    queues: Dict[str, QueueSlo] = field(default_factory=dict)


def check_slo(s: Any, problems: Problems) -> None:
    """Every objective must name a function or queue of scenario `s` (a Scenario)."""
    for section, kind in (("functions", "function"), ("queues", "queue")):
        for name in getattr(s.slo, section):
            check_reference(s, kind, name, key(key("slo", section), name), problems)
