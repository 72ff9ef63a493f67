"""The language users speak: the typed scenario schema, its loader and validator, and its errors."""

from scenarios.errors import ScenarioError
from scenarios.load import load_scenario, to_dict
from scenarios.pricing import FreeTierPool, PriceBook, Rate, Tier
from scenarios.pricing_load import available_regions, load_price_book, load_region, price_book_path
from scenarios.schema import (
    DIST_PARAMS,
    Account,
    Arrivals,
    AsyncConfig,
    Billing,
    CpuScaling,
    Dist,
    Function,
    Message,
    ProvisionedStep,
    RateStep,
    Record,
    RequestSampling,
    Retries,
    Scenario,
    SimSettings,
    TraceSampling,
    Traffic,
)

__all__ = [
    "DIST_PARAMS",
    "Account",
    "Arrivals",
    "AsyncConfig",
    "Billing",
    "CpuScaling",
    "Dist",
    "FreeTierPool",
    "Function",
    "Message",
    "PriceBook",
    "ProvisionedStep",
    "Rate",
    "RateStep",
    "Record",
    "RequestSampling",
    "Retries",
    "Scenario",
    "ScenarioError",
    "SimSettings",
    "Tier",
    "TraceSampling",
    "Traffic",
    "available_regions",
    "load_price_book",
    "load_region",
    "load_scenario",
    "price_book_path",
    "to_dict",
]
