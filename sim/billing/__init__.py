"""Billing: metered usage of the simulated period priced into an itemised bill, exact to the cent."""

from sim.billing.pricing import Bill, price, tiered_cost
from sim.billing.series import cost_series
from sim.billing.usage import Usage, to_decimal

__all__ = ["Bill", "Usage", "cost_series", "price", "tiered_cost", "to_decimal"]
