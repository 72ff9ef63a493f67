"""Metered usage: one amount of one AWS usage type by one resource over the simulated period."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Union

Number = Union[Decimal, int, float, str]


def to_decimal(x: Number) -> Decimal:
    """`x` as a Decimal; a float goes through its shortest repr (0.1 -> Decimal('0.1')),
    never through its binary expansion."""
    if isinstance(x, Decimal):
        d = x
    elif isinstance(x, bool):
        raise TypeError(f"a bool is not an amount of money or usage: {x!r}")
    elif isinstance(x, int):
        d = Decimal(x)
    elif isinstance(x, float):
        if not math.isfinite(x):
            raise ValueError(f"not a finite number: {x!r}")
        d = Decimal(repr(x))
    elif isinstance(x, str):
        d = Decimal(x.strip())
    else:
        raise TypeError(f"cannot read {x!r} ({type(x).__name__}) as a decimal number")
    if not d.is_finite():
        raise ValueError(f"not a finite number: {x!r}")
    return d


@dataclass(frozen=True)
class Usage:
    """`amount` units of `usage_type` (a key of `book.services[service]`) used by `resource`
    during the simulated period; e.g. AWSLambda / Lambda-GB-Second / function:api.

    `amount` may be given as an int, float or str; it is stored as a Decimal (floats via
    their repr). `unit` must be the price book's unit for the usage type, or "" to take it.
    """

    service: str
    usage_type: str
    resource: str
    amount: Decimal
    unit: str = ""

    def __post_init__(self) -> None:
        amount = to_decimal(self.amount)
        if amount < 0:
            raise ValueError(
                f"negative usage {amount} {self.unit} of {self.service}/{self.usage_type} "
                f"by {self.resource}"
            )
        object.__setattr__(self, "amount", amount)
