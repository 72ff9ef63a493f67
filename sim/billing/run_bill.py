"""The bill of one run: the components' usage priced with the Region's price book."""

from __future__ import annotations

from typing import Optional

from scenarios.pricing import PriceBook
from scenarios.schema import Scenario
from sim.billing.pricing import Bill, price
from sim.billing.series import cost_series


def bill_run(sc: Scenario, usage, period_usage, book: PriceBook):
    """(Bill, cost-over-time metric rows) for a run's usage."""
    bill: Bill = price(usage, book, free_tier=sc.billing.free_tier, month_h=sc.billing.month_h,
                       duration_s=sc.duration_s)
    series = [{"time_s": r["time_s"], "namespace": "cloudtwin/Billing", "metric": "CostUSD",
               "dimension": f"Service={r['service']},UsageType={r['usage_type']}", "value": r["cost_usd"]}
              for r in cost_series(period_usage, bill.effective_rate)]
    return bill, series


def price_book_for(sc: Scenario, book: Optional[object]) -> PriceBook:
    """The price book given (dict, DictConfig, PriceBook) or the scenario Region's."""
    from scenarios.pricing_load import load_price_book, load_region

    if book is None:
        return load_region(sc.region)
    if isinstance(book, PriceBook):
        return book
    return load_price_book(book)
