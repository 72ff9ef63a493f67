"""cloudtwin's world: the engine, the service models, billing, writers and the CLI."""

def simulate(scenario, out_dir=None, **kwargs):
    """Run one scenario; see `sim.api.simulate`.

    Every kernel the run calls is compiled (or loaded from numba's cache) before its clock
    starts, with one line when that takes a while: never a silent stall inside the run, never
    in requests_per_wall_s (`sim.engine.warmup`).
    """
    from sim.api import simulate as _simulate
    from sim.engine.warmup import warm_before_clock

    return _simulate(scenario, out_dir, before_clock=warm_before_clock, **kwargs)


def __getattr__(name):
    if name == "Result":  # polars takes 0.3 s to import: not before the first window
        from sim.output.result import Result

        return Result
    raise AttributeError(name)


__all__ = ["simulate", "Result"]
