"""Typed price books: AWS rates by service and usage type, with tiers and free-tier pools.

A price book is pure data (`configs/pricing/REGION.yaml`); `sim.billing` applies it.
Amounts are monthly: tier boundaries and free-tier pools count usage over one month.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional


@dataclass
class Tier:
    """`usd` per unit for the usage up to `up_to` units a month (None: no upper bound)."""

    up_to: Optional[float] = None
    usd: float = 0.0


@dataclass
class Rate:
    """The price of one usage type: its unit and its tiers, in increasing `up_to`."""

    unit: str = ""
    tiers: List[Tier] = field(default_factory=list)
    description: str = ""


@dataclass
class FreeTierPool:
    """A monthly free allowance shared by the usage types listed as `SERVICE/USAGE_TYPE`,
    drawn in the order listed."""

    amount: float = 0.0
    unit: str = ""
    applies_to: List[str] = field(default_factory=list)


@dataclass
class PriceBook:
    """Every rate of one Region."""

    region: str = ""
    currency: str = "USD"
    services: Dict[str, Dict[str, Rate]] = field(default_factory=dict)
    free_tier: Dict[str, FreeTierPool] = field(default_factory=dict)
