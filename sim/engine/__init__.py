"""The engine: components, the windowed clock, batches, random streams, distributions, percentiles."""

from sim.engine.clock import Engine
from sim.engine.component import Component, WiringError, components_by_name, topological

__all__ = ["Component", "Engine", "WiringError", "components_by_name", "topological"]
