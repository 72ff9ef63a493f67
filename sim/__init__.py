"""cloudtwin's world: the engine, the service models, billing, writers and the CLI."""

def simulate(scenario, out_dir=None, **kwargs):
    """Run one scenario; see `sim.api.simulate`."""
    from sim.api import simulate as _simulate

    return _simulate(scenario, out_dir, **kwargs)


def __getattr__(name):
    if name == "Result":  # polars takes 0.3 s to import: not before the first window
        from sim.output.result import Result

        return Result
    raise AttributeError(name)


__all__ = ["simulate", "Result"]
