"""The period grid every kernel's per-period metrics share: how many periods a run has."""

import math


def n_periods(t_end: float, period_s: float) -> int:
    """Periods of a run of `t_end` s cut every `period_s` s (at least one): the last one is
    clipped to t_end; a t_end a hair above a whole number of periods (float noise, 1e-9 of a
    period) makes no extra period."""
    return max(1, int(math.ceil(t_end / period_s - 1e-9)))
