"""The meter interface every component bills through: integer counters per period and resource.

A component declares one meter per usage type — an int64 array `[period, resource]` that
its kernel adds to (billed ms, requests in 64 KB chunks from `kernels.billing.chunks_64kb`,
bytes, seconds) — with the exact factor that turns one count into the price book's unit
(ms·MB → GB-Seconds, bytes → GB, seconds → Hrs). `usage()` then yields `Usage` records for
the whole run and per period, exactly (Decimal), ready for `sim.billing.price`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np

from sim.billing.usage import Usage

BYTES_PER_GB = Decimal(1024**3)  # AWS bills data in GB of 2**30 bytes
SECONDS_PER_HOUR = Decimal(3600)
MS_PER_S = Decimal(1000)
MB_PER_GB = Decimal(1024)

Scale = Union[Decimal, Sequence[Decimal]]


def period_ms(n_periods: int, period_s: float, t_end: float) -> np.ndarray:
    """Milliseconds of each period within [0, t_end) (int64): what an hourly meter counts."""
    starts = np.arange(n_periods) * period_s
    return np.round((np.minimum(starts + period_s, t_end) - starts) * 1000).astype(np.int64)


@dataclass
class Meter:
    usage_type: str
    unit: str
    counts: np.ndarray  # int64 [period, resource]
    scale: List[Decimal]  # per resource: one count in `unit`; 0: the meter does not apply to it


class MeterTable:
    """The meters of one component (one AWS service)."""

    def __init__(self, service: str, resources: Sequence[str], n_periods: int, period_s: float):
        self.service = service
        self.resources = list(resources)
        self.n_periods = n_periods
        self.period_s = period_s
        self.meters: Dict[str, Meter] = {}

    def declare(self, usage_type: str, unit: str, scale: Scale = Decimal(1)) -> np.ndarray:
        """A zeroed int64 [period, resource] array for the kernel to count into."""
        per_resource = list(scale) if isinstance(scale, (list, tuple)) else [scale] * len(self.resources)
        counts = np.zeros((self.n_periods, len(self.resources)), np.int64)
        self.meters[usage_type] = Meter(usage_type, unit, counts, [Decimal(s) for s in per_resource])
        return counts

    def usage(self) -> Tuple[List[Usage], List[Tuple[float, Usage]]]:
        """(usage of the whole run, [(period start s, usage)]) for every meter and resource."""
        total, per_period = [], []
        for m in self.meters.values():
            for r, resource in enumerate(self.resources):
                if m.scale[r] == 0:
                    continue
                col = m.counts[:, r]
                total.append(Usage(self.service, m.usage_type, resource, Decimal(int(col.sum())) * m.scale[r], m.unit))
                per_period += [(p * self.period_s, Usage(self.service, m.usage_type, resource,
                                                         Decimal(int(col[p])) * m.scale[r], m.unit))
                               for p in range(self.n_periods)]
        return total, per_period
