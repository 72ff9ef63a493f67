"""Registers the scenario defaults in Hydra's ConfigStore as `scenario/schema`, so a scenario file may start from them.

The node is plain data, not the typed dataclass: with a typed node OmegaConf would reject a
misspelt key or a wrong type while Hydra composes, before the scenario's own validator could
report every mistake with its path, a "did you mean" and what is allowed. So the schema
supplies the defaults; `scenarios.load` checks the result.
"""

from __future__ import annotations

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from scenarios.load import to_dict
from scenarios.schema import Scenario

SCHEMA_GROUP = "scenario"
SCHEMA_NAME = "schema"

_registered = False


def register() -> ConfigStore:
    """Store the scenario defaults as `scenario/schema` (a file uses them with `defaults: [schema, _self_]`); idempotent."""
    global _registered
    cs = ConfigStore.instance()
    if not _registered:
        cs.store(group=SCHEMA_GROUP, name=SCHEMA_NAME, node=OmegaConf.create(to_dict(Scenario())))
        _registered = True
    return cs
