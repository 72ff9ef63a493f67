"""Cost over time: the simulated period's cost spread over its recording periods.

Each period's cost is its metered amount × the usage type's effective rate (the monthly
cost over the monthly amount, tiers and free tier included, from `price()`). Projection to
a month is linear, so the same rate turns the whole period's amount into its unrounded
cost: the series sums to the simulated-period cost before rounding, i.e. to
`cost_usd.total` within half a cent per invoice line. Tiers and the free tier are thus
spread evenly over the month rather than charged to the periods that crossed them — the
series shows where the money goes, the bill shows what AWS charges.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Dict, List, Sequence, Tuple

from sim.billing.pricing import MONEY_CONTEXT, Key
from sim.billing.usage import Usage


def cost_series(
    period_usage: Sequence[Tuple[float, Usage]], effective_rate: Dict[Key, Decimal]
) -> List[dict]:
    """Rows (time_s, service, usage_type, cost_usd), one per period start `time_s` (seconds)
    and usage type, summed over resources, sorted by time then service and usage type;
    `cost_usd` is unrounded USD. Raises KeyError for a usage type the bill did not price."""
    sums: Dict[Tuple[float, str, str], Decimal] = {}
    with localcontext(MONEY_CONTEXT):
        for time_s, u in period_usage:
            key = (u.service, u.usage_type)
            if key not in effective_rate:
                raise KeyError(
                    f"no effective rate for {u.service}/{u.usage_type}: price() saw no usage "
                    f"of it; priced usage types are {sorted(effective_rate)}"
                )
            row = (float(time_s), u.service, u.usage_type)
            sums[row] = sums.get(row, Decimal(0)) + u.amount * effective_rate[key]
    return [
        {"time_s": t, "service": s, "usage_type": ut, "cost_usd": float(c)}
        for (t, s, ut), c in sorted(sums.items())
    ]
