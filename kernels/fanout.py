"""Fan-out of an SNS topic or an EventBridge bus, per (message, target): parameters and constants.

Semantics: `kernels/FANOUT_SPEC.md`. The handlers run in the account's one loop
(`kernels/account.py`: a publish, a pair's attempt, a delivery, a dead letter); this module
defines what they and the twins (`kernels/ref/fanout.py`, `kernels/ref/account.py`) share:
the parameters (`FanoutParams`, `RetrySchedule`), the streams, the per-target table and the
counters. A unit's arrays: `sim.messaging.fanout_state.FanoutState`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


SNS_PROTOCOLS = ("sqs", "lambda", "https", "email")
P_SQS, P_LAMBDA, P_HTTPS, P_EMAIL = range(4)

# Counter names (the columns of `gcnt` and `tcnt`: C_* below).
GLOBAL_COUNTERS = ("put", "put_throttled", "put_chunks", "matched_any")
TARGET_COUNTERS = ("filtered", "attempts", "failed_attempts", "delivered", "delivered_chunks",
                   "dropped", "dlq", "final", "throttled")


@dataclass(frozen=True)
class RetrySchedule:
    """A delivery retry policy as the kernel reads it: run-length `segments[i] = (count,
    delay_s)` (`count` consecutive retries, each `delay_s` after the attempt before it) and a
    maximum event age: a retry that would start more than `max_age_s` after the first attempt
    is not made. `sim.messaging.retry_policies` builds AWS's policies as these."""

    segments: tuple[tuple[int, float], ...]
    max_age_s: float = math.inf

    def arrays(self):
        """`(counts int64[n], delays float64[n])` for the kernels."""
        return (np.array([c for c, _ in self.segments], np.int64),
                np.array([d for _, d in self.segments], np.float64))


@dataclass
class FanoutParams:
    """Static description of one topic or bus (FANOUT_SPEC.md, Inputs).

    Rules r = 0..R-1 own targets `rule_off[r]..rule_off[r+1]-1`; an SNS topic has one rule
    per subscription, with one target each. `match[key, r]`: the rule (or the subscription's
    filter policy) selects message class `key`.
    """

    match: np.ndarray                     # bool [K, R]
    rule_off: list[int]                   # [R + 1]
    fail_rate: list[float]                # per target
    outages: list[list[tuple[float, float]]]  # per target: [start, end) windows
    policies: list[RetrySchedule]         # per target
    dlq: list[bool]                       # per target
    put_rate: float = math.inf            # accepted publishes / PutEvents entries per s
    put_burst: float = math.inf
    inv_rate: float = math.inf            # target invocations per s (bus-wide)
    inv_burst: float = math.inf
    fifo: bool = False
    n_groups: int = 0
    period_s: float = 60.0
    n_periods: int = 1
    protocols: list[int] = field(default_factory=list)  # SNS only: per target, P_*
    kind: str = "sns"                      # "sns" or "eventbridge"

    @property
    def n_rules(self) -> int:
        return len(self.rule_off) - 1

    @property
    def n_targets(self) -> int:
        return self.rule_off[-1]

    def target_rule(self) -> list[int]:
        return [r for r in range(self.n_rules) for _ in range(self.rule_off[r], self.rule_off[r + 1])]


def merge_outages(windows) -> list[tuple[float, float]]:
    """Sorted, non-overlapping [start, end) windows; empty ones dropped, touching ones joined."""
    out: list[list[float]] = []
    for s, e in sorted((float(s), float(e)) for s, e in windows):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def check_targets(match, n_targets, fail_rate, outages, policies, dlq) -> None:
    """The per-target lists of a FanoutParams: one entry per target, rates in [0, 1]; `match`
    a [class, rule] table (ValueError)."""
    for name, v in (("fail_rate", fail_rate), ("outages", outages), ("policies", policies), ("dlq", dlq)):
        if len(v) != n_targets:
            raise ValueError(f"{name}: one entry per target ({n_targets}), got {len(v)}")
    for j, f in enumerate(fail_rate):
        if not 0.0 <= f <= 1.0:
            raise ValueError(f"fail_rate[{j}]: must be in [0, 1], got {f}")
    if match.ndim != 2:
        raise ValueError(f"match: must be a [class, rule] table, got shape {match.shape}")

# Random streams (first index of the account kernel's `fdraws`), one sequence per target.
S_U = 0
S_LAT = 1
N_STREAMS = 2

# A unit's per-target table (`FanoutState.tpi`/`tpf`), which the account's flattens.
T_DLQ = 0
T_POL_OFF = 1
T_POL_N = 2
T_OUT_OFF = 3
T_OUT_N = 4
N_TPI = 5
TF_FAIL = 0
TF_MAX_AGE = 1
N_TPF = 2

# Counters: `gcnt[p, col]`, `rcnt[p, rule]` (matched events), `tcnt[p, target, col]`.
C_PUT, C_PUT_THROTTLED, C_PUT_CHUNKS, C_MATCHED_ANY = range(4)
N_GCNT = 4
(C_FILTERED, C_ATTEMPTS, C_FAILED_ATTEMPTS, C_DELIVERED, C_DELIVERED_CHUNKS, C_DROPPED, C_DLQ,
 C_FINAL, C_THROTTLED) = range(9)
N_TCNT = 9
assert len(GLOBAL_COUNTERS) == N_GCNT and len(TARGET_COUNTERS) == N_TCNT

# The twins' rows: a delivery or a dead letter.
KIND_DELIVERY = 0
KIND_DLQ = 1
