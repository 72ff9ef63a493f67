"""The language users speak: the typed scenario schema, its loader and validator, and its errors."""

from scenarios.errors import ScenarioError
from scenarios.load import load_scenario, to_dict
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
    "Function",
    "Message",
    "ProvisionedStep",
    "RateStep",
    "Record",
    "RequestSampling",
    "Retries",
    "Scenario",
    "ScenarioError",
    "SimSettings",
    "Traffic",
    "load_scenario",
    "to_dict",
]
