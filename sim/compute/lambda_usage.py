"""Lambda's billable usage from the pool's meters, under AWS's usage types and rounding.

Usage types (Lambda pricing page; FACTS.md): `Request` (requests, async payloads past
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
MS_PER_S = Decimal(1000)
MB_PER_GB = Decimal(1024)


def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


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


def function_usage(name: str, fn: Function, ms_od: int, ms_pc: int, requests: int,
                   pc_count_s: Decimal) -> List[Tuple[str, Decimal, str]]:
    """(usage_type, amount, unit) of one function for its metered totals."""
    sfx = "-ARM" if fn.arch == "arm64" else ""
    gb = Decimal(fn.memory_mb) / MB_PER_GB
    out = [
        (f"Request{sfx}", Decimal(requests), "Requests"),
        (f"Lambda-GB-Second{sfx}", Decimal(ms_od) / MS_PER_S * gb, "GB-Seconds"),
    ]
    if fn.provisioned_concurrency or fn.provisioned_schedule:
        out += [
            (f"Lambda-Provisioned-Concurrency{sfx}", pc_count_s * gb, "GB-Seconds"),
            (f"Lambda-Provisioned-GB-Second{sfx}", Decimal(ms_pc) / MS_PER_S * gb, "GB-Seconds"),
        ]
    if fn.ephemeral_storage_mb > FREE_EPHEMERAL_MB:
        extra_gb = Decimal(fn.ephemeral_storage_mb - FREE_EPHEMERAL_MB) / MB_PER_GB
        out.append((f"Lambda-Storage-GB-Second{sfx}", Decimal(ms_od + ms_pc) / MS_PER_S * extra_gb, "GB-Seconds"))
    return out


def lambda_usage(functions: Dict[str, Function], pmi: np.ndarray, pc_steps: Dict[int, list],
                 t_end: float, period_s: float):
    """(usage of the whole run, [(period start s, usage)] per period) as Usage records."""
    from sim.billing.usage import Usage

    names = list(functions)
    total, per_period = [], []
    n_periods = pmi.shape[0]
    for f, name in enumerate(names):
        fn = functions[name]
        segs = provisioned_spans(pc_steps.get(f, []), t_end)
        resource = f"function:{name}"

        def pc_in(a: float, b: float) -> Decimal:
            return sum((_dec(max(0.0, min(b, e) - max(a, s))) * c for s, e, c in segs), Decimal(0))

        m = pmi[:, f, :]
        for ut, amount, unit in function_usage(name, fn, int(m[:, K.M_BILLED_MS_OD].sum()),
                                               int(m[:, K.M_BILLED_MS_PC].sum()),
                                               int(m[:, K.M_REQUEST_UNITS].sum()), pc_in(0.0, float("inf"))):
            total.append(Usage(SERVICE, ut, resource, amount, unit))
        for p in range(n_periods):
            a, b = p * period_s, (p + 1) * period_s
            last = p == n_periods - 1
            pc = pc_in(a, float("inf") if last else b)  # the rounding tail lands in the last period
            for ut, amount, unit in function_usage(name, fn, int(m[p, K.M_BILLED_MS_OD]), int(m[p, K.M_BILLED_MS_PC]),
                                                   int(m[p, K.M_REQUEST_UNITS]), pc):
                per_period.append((a, Usage(SERVICE, ut, resource, amount, unit)))
    return total, per_period
