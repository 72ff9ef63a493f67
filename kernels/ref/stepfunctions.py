"""Plain-Python twin of `kernels/stepfunctions.py`, in exact fractions."""

from __future__ import annotations

import math
from fractions import Fraction

from kernels.stepfunctions import DURATION_STEP_MS, MEMORY_STEP_MB, UNIT_GB_S_DEN, UNIT_GB_S_NUM


def express_gb_s(duration_ms: int, memory_mb: int) -> Fraction:
    """GB-seconds one Express execution bills: 100 ms steps × 64 MB chunks, at least one of each."""
    seconds = Fraction(max(1, math.ceil(duration_ms / DURATION_STEP_MS)) * DURATION_STEP_MS, 1000)
    gb = Fraction(max(1, math.ceil(memory_mb / MEMORY_STEP_MB)) * MEMORY_STEP_MB, 1024)
    return seconds * gb


def retry_delay_s(retry: int, interval_s: float, backoff_rate: float, max_delay_s: float, full_jitter: bool,
                  u: float) -> float:
    d = interval_s
    for _ in range(retry):  # IntervalSeconds × BackoffRate^retry, multiplied out as the kernel does
        d *= backoff_rate
    d = min(d, max_delay_s)
    return d * u if full_jitter else d


def express_units(duration_ms: int, memory_mb: int) -> int:
    """Billing units (100 ms × 64 MB, kernels.stepfunctions.express_units) of one Express
    execution: its GB-seconds over one unit's, an integer."""
    units = express_gb_s(duration_ms, memory_mb) / Fraction(UNIT_GB_S_NUM, UNIT_GB_S_DEN)
    assert units.denominator == 1
    return int(units)
