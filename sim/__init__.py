"""cloudtwin's world: the engine, the service models, billing, writers and the CLI."""

from sim.result import Result


def simulate(scenario, out_dir=None, **kwargs) -> Result:
    """Run one scenario; see `sim.api.simulate`."""
    from sim.api import simulate as _simulate

    return _simulate(scenario, out_dir, **kwargs)


__all__ = ["simulate", "Result"]
