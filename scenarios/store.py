"""Registers the scenario schema in Hydra's ConfigStore, so Hydra users can compose typed scenario configs."""

from __future__ import annotations

from hydra.core.config_store import ConfigStore

from scenarios.schema import Scenario

SCHEMA_GROUP = "scenario"
SCHEMA_NAME = "schema"

_registered = False


def register() -> ConfigStore:
    """Store Scenario as `scenario/schema` (use `defaults: [schema, _self_]` in a scenario file); idempotent."""
    global _registered
    cs = ConfigStore.instance()
    if not _registered:
        cs.store(group=SCHEMA_GROUP, name=SCHEMA_NAME, node=Scenario)
        _registered = True
    return cs
