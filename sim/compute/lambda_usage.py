"""Lambda's billable usage from the pool's meters, under AWS's usage types and rounding.

Usage types (Lambda pricing page; docs/FACTS.md): `Request` (requests, async payloads past
256 KB count one more per 64 KB), `Lambda-GB-Second` (on-demand duration, each invocation
rounded up to 1 ms, init included), `Lambda-Provisioned-Concurrency` (GB-s of provisioned
environments from enable to disable, each enabled span rounded up to 5 minutes),
`Lambda-Provisioned-GB-Second` (duration run on them), `Lambda-Storage-GB-Second`
(ephemeral storage above the free 512 MB, for the billed duration). arm64 functions use
the same names with `-ARM`. Amounts are exact Decimals.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Dict, List, Sequence, Tuple

import numpy as np

from kernels import lambda_pool as K
from scenarios.schema import Function

SERVICE = "AWSLambda"
PC_ROUNDING_S = 300  # provisioned concurrency: enabled time rounded up to 5 minutes
FREE_EPHEMERAL_MB = 512


def provisioned_spans(steps: Sequence[Tuple[float, int]], t_end: float) -> List[Tuple[float, float, int]]:
    """(start_s, end_s, count) segments with count > 0, from (t, count) control steps.

    An enabled span (count > 0 from the moment it is enabled to the moment it is set to 0)
    that ends before `t_end` is billed rounded up to 5 minutes: its last segment is
    stretched. A span still enabled at `t_end` is not rounded (the month goes on).
    """
    segs: List[Tuple[float, float, int]] = []
    cur_t, cur_n, span_start = 0.0, 0, None
    for t, n in [*steps, (t_end, -1)]:
        t = min(t, t_end)
        if cur_n > 0 and t > cur_t:
            segs.append((cur_t, t, cur_n))
        if n == -1:
            break
        if cur_n == 0 and n > 0:
            span_start = t
        if cur_n > 0 and n == 0 and span_start is not None and segs:
            length = t - span_start
            billed = -(-length // PC_ROUNDING_S) * PC_ROUNDING_S
            a, b, c = segs[-1]
            segs[-1] = (a, b + (billed - length), c)
            span_start = None
        cur_t, cur_n = t, n
    return segs


def memory_gb(fn: Function) -> Decimal:
    """The function's memory in GB (AWS's GB of 1,024 MB), exactly: for GB-seconds."""
    from sim.billing.meters import MB_PER_GB

    return Decimal(fn.memory_mb) / MB_PER_GB


def lambda_usage(functions: Dict[str, Function], pmi: np.ndarray, pc_steps: Dict[int, list],
                 t_end: float, period_s: float):
    """(usage of the whole run, [(period start s, usage)] per period), through a MeterTable."""
    from sim.billing.meters import MB_PER_GB, MS_PER_S, MeterTable

    names = list(functions)
    fns = [functions[n] for n in names]
    table = MeterTable(SERVICE, [f"function:{n}" for n in names], pmi.shape[0], period_s)
    for arch, sfx in (("x86_64", ""), ("arm64", "-ARM")):
        mine = [fn.arch == arch for fn in fns]
        gb_per_ms = [memory_gb(fn) / MS_PER_S if m else Decimal(0) for fn, m in zip(fns, mine)]
        with_pc = [g if (fn.provisioned_concurrency or fn.provisioned_schedule) else Decimal(0)
                   for fn, g in zip(fns, gb_per_ms)]
        storage = [Decimal(fn.ephemeral_storage_mb - FREE_EPHEMERAL_MB) / MB_PER_GB / MS_PER_S
                   if m and fn.ephemeral_storage_mb > FREE_EPHEMERAL_MB else Decimal(0) for fn, m in zip(fns, mine)]
        table.declare(f"Request{sfx}", "Requests", [Decimal(int(m)) for m in mine])[:] = pmi[:, :, K.M_REQUEST_UNITS]
        table.declare(f"Lambda-GB-Second{sfx}", "GB-Seconds", gb_per_ms)[:] = pmi[:, :, K.M_BILLED_MS_OD]
        table.declare(f"Lambda-Provisioned-GB-Second{sfx}", "GB-Seconds", with_pc)[:] = pmi[:, :, K.M_BILLED_MS_PC]
        table.declare(f"Lambda-Provisioned-Concurrency{sfx}", "GB-Seconds", with_pc)[:] = (
            provisioned_ms(pc_steps, len(fns), t_end, period_s, pmi.shape[0]))
        table.declare(f"Lambda-Storage-GB-Second{sfx}", "GB-Seconds", storage)[:] = (
            pmi[:, :, K.M_BILLED_MS_OD] + pmi[:, :, K.M_BILLED_MS_PC])
    return table.usage()


def provisioned_ms(pc_steps: Dict[int, list], n_functions: int, t_end: float, period_s: float,
                   n_periods: int) -> np.ndarray:
    """Provisioned environment-milliseconds per [period, function], billing spans rounded."""
    out = np.zeros((n_periods, n_functions), np.int64)
    for f, steps in pc_steps.items():
        for s, e, c in provisioned_spans(steps, t_end):
            for p in range(n_periods):
                a = p * period_s
                b = (p + 1) * period_s if p < n_periods - 1 else float("inf")  # the rounding tail: last period
                overlap = min(b, e) - max(a, s)
                if overlap > 0:
                    out[p, f] += c * int(round(overlap * 1000))
    return out
