"""The pricing engine: metered usage of the simulated period and a price book in, an itemised bill out.

Rules (docs/DESIGN.md §2 "Billing", STYLE.md "Money"):

- The month is `month_h` hours. Usage of the simulated period is projected to a month by
  `month_h·3600 / duration_s`; tier boundaries and free-tier pools count monthly usage.
- Tiers span every resource of a usage type: amounts are summed per (service, usage_type)
  before the tiers are walked.
- The free tier (when on) is a deduction: each pool of `book.free_tier` is shared by its
  `applies_to` usage types, drawn in the order listed (pools in the book's order); the
  remaining billable amount is priced from the first tier.
- All arithmetic is Decimal (floats enter through their repr). Only invoice lines are
  rounded, half-up to the cent: each (service, usage_type) line's monthly cost, and its
  simulated-period share `monthly × duration_s / (month_h·3600)`. Totals are sums of
  rounded lines, as on an AWS invoice.
- `lines` (costs.parquet) split each usage type's unrounded cost over its resources in
  proportion to their amounts, like the unblended cost of the Cost and Usage Report.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Dict, List, Optional, Sequence, Tuple

from scenarios.pricing import PriceBook, Rate, Tier
from sim.billing.usage import Usage, to_decimal

CENT = Decimal("0.01")
ZERO = Decimal(0)
MILLION = Decimal(1_000_000)
# Working precision of every intermediate: products of book prices (<= 17 significant
# digits from a float repr) and metered amounts stay exact; only the projection divisions
# (by duration_s or month_h·3600) can round, at the 80th digit.
MONEY_CONTEXT = Context(
    prec=80, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)

Key = Tuple[str, str]  # (service, usage_type)


def round_cents(x: Decimal) -> Decimal:
    """`x` USD rounded half-up to the cent (0.005 -> 0.01), as AWS rounds invoice lines.

    Exact whatever the size of `x`: the rounding runs with as many digits as a whole number
    of cents of `x` needs (a projection to a huge `month_h` gives costs far beyond the
    working precision's 80 digits, where `quantize` would raise InvalidOperation).
    """
    digits = max(MONEY_CONTEXT.prec, x.adjusted() + 3) if x.is_finite() and x else MONEY_CONTEXT.prec
    ctx = MONEY_CONTEXT.copy()
    ctx.prec = digits
    ctx.Emax = max(ctx.Emax, digits)
    return x.quantize(CENT, rounding=ROUND_HALF_UP, context=ctx)


def tier_bounds(tiers: Sequence[Tier], where: str = "rate") -> List[Tuple[Optional[Decimal], Decimal]]:
    """The tiers as (cumulative upper bound or None, USD per unit) Decimals, checked: at least
    one tier, bounds strictly increasing and positive, only the last unbounded, no negative price."""
    if not tiers:
        raise ValueError(f"{where}: the price book gives no tiers")
    out: List[Tuple[Optional[Decimal], Decimal]] = []
    lo = ZERO
    for i, tier in enumerate(tiers):
        usd = to_decimal(tier.usd)
        if usd < 0:
            raise ValueError(f"{where}: tier {i + 1} has a negative price {usd}")
        if tier.up_to is None:
            if i != len(tiers) - 1:
                raise ValueError(f"{where}: only the last tier may have no upper bound (tier {i + 1} has none)")
            out.append((None, usd))
            break
        hi = to_decimal(tier.up_to)
        if hi <= lo:
            raise ValueError(
                f"{where}: tier bounds must increase; tier {i + 1} ends at {hi} after {lo}"
            )
        out.append((hi, usd))
        lo = hi
    return out


def tiered_cost(amount: Decimal, tiers: Sequence[Tier], where: str = "rate") -> Decimal:
    """The unrounded USD cost of `amount` units in one month, priced from the first tier:
    each tier's price applies to the units between the previous bound and its own `up_to`.
    Raises ValueError when the amount exceeds a last tier that has an upper bound."""
    amount = to_decimal(amount)
    if amount < 0:
        raise ValueError(f"{where}: negative amount {amount}")
    bounds = tier_bounds(tiers, where)
    with localcontext(MONEY_CONTEXT):
        cost = ZERO
        lo = ZERO
        for hi, usd in bounds:
            if amount <= lo:
                break
            top = amount if hi is None or amount < hi else hi
            cost += (top - lo) * usd
            if hi is None:
                lo = amount
                break
            lo = hi
        if amount > lo:
            raise ValueError(
                f"{where}: {amount} units exceed the last tier's upper bound {lo}; "
                "the price book needs an unbounded last tier"
            )
    return cost


@dataclass
class Bill:
    """An itemised bill. `lines`: costs.parquet rows (service, usage_type, resource,
    usage_amount, unit, unblended_cost_usd, period "simulated" | "monthly"), unrounded.
    `cost_usd`: the summary's totals from rounded invoice lines — total (simulated
    period), monthly, by_service {svc: {total, monthly}}, unit (per-million-requests and
    per-GB costs). `effective_rate`: (service, usage_type) -> Decimal monthly cost per
    monthly unit, free tier and tiers included (0 without usage). `invoice`: one row per
    (service, usage_type) with the monthly amount, the free tier drawn, the billable amount
    and the rounded costs."""

    lines: List[dict]
    cost_usd: dict
    effective_rate: Dict[Key, Decimal]
    invoice: List[dict] = field(default_factory=list)


def _rate(book: PriceBook, service: str, usage_type: str) -> Rate:
    """The book's rate for service/usage_type, or a KeyError saying what the book has."""
    rates = book.services.get(service)
    if rates is None:
        raise KeyError(
            f"price book {book.region or '?'} has no service {service!r} "
            f"(usage type {usage_type!r}); it has services {sorted(book.services)}"
        )
    rate = rates.get(usage_type)
    if rate is None:
        raise KeyError(
            f"price book {book.region or '?'} has no usage type {service}/{usage_type}; "
            f"its {service} usage types are {sorted(rates)}"
        )
    return rate


def free_allowances(book: PriceBook, monthly: Dict[Key, Decimal]) -> Dict[Key, Decimal]:
    """Monthly free amount granted to each used (service, usage_type): every pool of
    `book.free_tier`, in the book's order, is drawn by its `applies_to` usage types in the
    order listed, each taking what it still needs until the pool is empty."""
    free: Dict[Key, Decimal] = defaultdict(lambda: ZERO)
    with localcontext(MONEY_CONTEXT):
        for name, pool in book.free_tier.items():
            left = to_decimal(pool.amount)
            for target in pool.applies_to:
                service, sep, usage_type = target.partition("/")
                if not sep or not service or not usage_type:
                    raise ValueError(
                        f"free-tier pool {name!r}: {target!r} is not SERVICE/USAGE_TYPE"
                    )
                key = (service, usage_type)
                if key not in monthly or left <= 0:
                    continue
                take = min(left, max(monthly[key] - free[key], ZERO))
                free[key] += take
                left -= take
    return dict(free)


def price(
    usage: List[Usage], book: PriceBook, *, free_tier: bool, month_h: float, duration_s: float
) -> Bill:
    """Price the usage metered over a simulated period of `duration_s` seconds, projected to
    a month of `month_h` hours, with `book`'s tiers and (when `free_tier`) its free tier.
    Costs are USD. Raises KeyError for a usage type the book lacks, ValueError for a unit
    that differs from the book's."""
    dur = to_decimal(duration_s)
    month_s = to_decimal(month_h) * 3600
    if dur <= 0:
        raise ValueError(f"duration_s must be positive, got {duration_s!r}")
    if month_s <= 0:
        raise ValueError(f"month_h must be positive, got {month_h!r}")

    # Amounts per (service, usage_type) and resource, in order of first appearance.
    per_resource: Dict[Key, Dict[str, Decimal]] = {}
    rates: Dict[Key, Rate] = {}
    units: Dict[Key, str] = {}  # the book's unit, or the metered one where the book has none
    for u in usage:
        key = (u.service, u.usage_type)
        if key not in rates:
            rate = _rate(book, *key)
            tier_bounds(rate.tiers, f"{u.service}/{u.usage_type}")
            rates[key] = rate
            units[key] = rate.unit
            per_resource[key] = {}
        if not units[key]:
            units[key] = u.unit
        if u.unit and u.unit != units[key]:
            raise ValueError(
                f"{u.service}/{u.usage_type} by {u.resource} is metered in {u.unit!r} "
                f"but is priced per {units[key]!r}"
            )
        res = per_resource[key]
        res[u.resource] = res.get(u.resource, ZERO) + u.amount

    with localcontext(MONEY_CONTEXT):
        sim_amount = {k: sum(r.values(), ZERO) for k, r in per_resource.items()}
        monthly_amount = {k: a * month_s / dur for k, a in sim_amount.items()}
        free = free_allowances(book, monthly_amount) if free_tier else {}

        lines_sim: List[dict] = []
        lines_month: List[dict] = []
        invoice: List[dict] = []
        effective_rate: Dict[Key, Decimal] = {}
        monthly_cost: Dict[Key, Decimal] = {}
        by_service: Dict[str, Dict[str, Decimal]] = {}
        for key, resources in per_resource.items():
            service, usage_type = key
            where = f"{service}/{usage_type}"
            unit = units[key]
            m_amount = monthly_amount[key]
            m_free = free.get(key, ZERO)
            billable = max(m_amount - m_free, ZERO)
            m_cost = tiered_cost(billable, rates[key].tiers, where)
            s_cost = m_cost * dur / month_s
            monthly_cost[key] = m_cost
            effective_rate[key] = m_cost / m_amount if m_amount > 0 else ZERO
            m_rounded, s_rounded = round_cents(m_cost), round_cents(s_cost)
            svc = by_service.setdefault(service, {"total": ZERO, "monthly": ZERO})
            svc["total"] += s_rounded
            svc["monthly"] += m_rounded
            invoice.append(
                {
                    "service": service,
                    "usage_type": usage_type,
                    "unit": unit,
                    "usage_amount": float(sim_amount[key]),
                    "monthly_usage_amount": float(m_amount),
                    "free_tier_amount": float(m_free),
                    "billable_amount": float(billable),
                    "cost_usd": float(s_rounded),
                    "monthly_cost_usd": float(m_rounded),
                }
            )
            total = sim_amount[key]
            for resource, amount in resources.items():
                share = amount / total if total > 0 else ZERO
                base = {"service": service, "usage_type": usage_type, "resource": resource}
                lines_sim.append(
                    {
                        **base,
                        "usage_amount": float(amount),
                        "unit": unit,
                        "unblended_cost_usd": float(s_cost * share),
                        "period": "simulated",
                    }
                )
                lines_month.append(
                    {
                        **base,
                        "usage_amount": float(amount * month_s / dur),
                        "unit": unit,
                        "unblended_cost_usd": float(m_cost * share),
                        "period": "monthly",
                    }
                )

        cost_usd = {
            "total": float(sum((v["total"] for v in by_service.values()), ZERO)),
            "monthly": float(sum((v["monthly"] for v in by_service.values()), ZERO)),
            "by_service": {
                s: {"total": float(v["total"]), "monthly": float(v["monthly"])}
                for s, v in by_service.items()
            },
            "unit": _unit_costs(units, monthly_amount, monthly_cost),
        }
    return Bill(
        lines=lines_sim + lines_month,
        cost_usd=cost_usd,
        effective_rate=effective_rate,
        invoice=invoice,
    )


def _unit_costs(
    units: Dict[Key, str],
    monthly_amount: Dict[Key, Decimal],
    monthly_cost: Dict[Key, Decimal],
) -> Dict[str, Optional[float]]:
    """Unit costs of each service, from its whole unrounded monthly cost (every usage type:
    duration, requests, provisioned…): `{svc}_per_million_requests` over its usage priced
    per "Requests", × 1e6; `{svc}_per_gb` over its usage priced per "GB". None when the
    service used none of that unit."""
    service_cost: Dict[str, Decimal] = {}
    for key, cost in monthly_cost.items():
        service_cost[key[0]] = service_cost.get(key[0], ZERO) + cost
    out: Dict[str, Optional[float]] = {}
    for suffix, unit, scale in (("per_million_requests", "requests", MILLION), ("per_gb", "gb", Decimal(1))):
        amounts: Dict[str, Decimal] = {}
        for key, key_unit in units.items():
            if key_unit.strip().lower() == unit:
                amounts[key[0]] = amounts.get(key[0], ZERO) + monthly_amount[key]
        for service, amount in amounts.items():
            out[f"{service}_{suffix}"] = float(service_cost[service] / amount * scale) if amount > 0 else None
    return out
