"""`simulate()`: one scenario in, one Result out."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

from scenarios import to_dict
from scenarios.load import check_scenario
from scenarios.yamlpath import show
from sim.builder import build
from sim.output.report_format import duration_text
from sim.engine import Engine
from sim.registry import SECTIONS

if TYPE_CHECKING:  # polars loads with it: not before the first window
    from sim.output.result import Result


def simulate(scenario: Any, out_dir: Optional[str | Path] = None, *, price_book: Any = None,
             base_dir: Optional[Path] = None, progress: Optional[bool] = None,
             sample_all: bool = False, before_clock: Optional[Callable[[Any], Any]] = None) -> Result:
    """Run `scenario` (dict, DictConfig or Scenario); write the run's files when `out_dir` is given.

    Omitted keys take the same defaults as the CLI; the price book is the scenario Region's
    (`configs/pricing/REGION.yaml`) unless `price_book` gives one. `progress` shows a bar
    over simulated time (default: the scenario's `sim.progress`, only when stderr is a
    terminal). `before_clock(scenario)` runs after the world is built and before the clock
    starts: `sim.simulate` compiles the run's kernels there (sim.engine.warmup), so that none
    compiles inside the run.
    """
    from sim.billing.run_bill import bill_run, price_book_for

    sc, checked = check_scenario(scenario, base_dir=base_dir)
    book = price_book_for(sc, price_book)
    # refuse what cannot fit in memory, before anything big is built (sim.engine.budget)
    from sim.engine.budget import MemoryGuard, check_memory
    from sim.output.emptiness import check_world, print_warnings

    need = check_memory(sc, base_dir, sample_all, writes=out_dir is not None)
    world = build(sc, base_dir=base_dir, sample_all=sample_all)
    # parts of the run that do nothing are warnings; a run where nothing can happen is an error
    warnings = [f"{show(p)}: {m}" for p, m in checked] + check_world(sc, world.sources)
    print_warnings(warnings)
    if before_clock is not None:
        before_clock(sc)
    # the guard stops a run whose backlog outgrows the memory budget
    engine = Engine(world.components, sc.duration_s, sc.sim.window_s, guard=MemoryGuard.for_run(sc))
    bar = _progress_bar(sc, progress, need.expected_requests)
    logging.getLogger("cloudtwin").info("simulating %s of scenario %s", duration_text(sc.duration_s), sc.name)
    try:
        wall_s = engine.run(None if bar is None else bar.update_to)
    finally:
        if bar is not None:
            bar.close()
    requests = sum(s.requests_simulated() for s in world.sources)
    usage, period_usage = [], []
    for c in world.components:
        total, per_period = c.usage()
        usage += total
        period_usage += per_period
    bill, cost_rows = bill_run(sc, usage, period_usage, book)
    summary = {
        "scenario": sc.name,
        "seed": sc.seed,
        "duration_s": sc.duration_s,
        "wall_s": wall_s,
        "requests_simulated": requests,
        "requests_per_wall_s": requests / wall_s if wall_s > 0 else None,
    }
    for section in SECTIONS:  # the registry's services, in order; a section appears when a component reports it
        for c in world.components:
            part = c.summary_sections().get(section)
            if part is not None:
                summary.setdefault(section, {}).update(part)
    # every traffic source a component follows to its end (Component.entry_points), in the traffic's order
    from sim.output.entry_points import collect_entry_points

    entry_points = collect_entry_points([(c.name, c.entry_points()) for c in world.components],
                                        [tr.name for tr in sc.traffic])
    if entry_points:
        summary["entry_points"] = entry_points
    # the sampled traces' spans (Component.spans), when some component records them
    spans = [(c.name, f) for c in world.components if (f := c.spans()) is not None]
    traced = sc.record.traces
    if not spans and (traced.sample > 0 or traced.first_n > 0):  # a setting nothing used: say so
        late = ["record.traces: traces were asked for, but nothing in this run records them: "
                "no traces.parquet is written"]
        print_warnings(late)
        warnings += late
    summary["cost_usd"] = bill.cost_usd
    if warnings:  # quota warnings and sim.output.emptiness; only when there are some (sweeps gather scalars)
        summary["warnings"] = warnings
    import polars as pl

    from sim.output.result import COST_SCHEMA, METRIC_SCHEMA, Result

    frames = [m for m in (c.metrics() for c in world.components) if m is not None and m.height]
    if cost_rows:
        frames.append(pl.DataFrame(cost_rows, schema=METRIC_SCHEMA))
    metrics = pl.concat(frames) if frames else pl.DataFrame(schema=METRIC_SCHEMA)
    traces = None
    if spans:  # sim.output.traces brings matplotlib: only for runs that trace
        from sim.output.traces import merge_spans

        traces = merge_spans(spans)
    result = Result(
        summary=summary,
        metrics=metrics,
        costs=pl.DataFrame(bill.lines, schema=COST_SCHEMA),
        config=to_dict(sc),
        out_dir=Path(out_dir) if out_dir is not None else None,
        traces=traces,
        **world.outputs(),  # the sampled requests, flow logs … (sim.registry.HOSTS)
    )
    if out_dir is not None:
        from sim.output.writers import write_run

        write_run(result, out_dir)
    return result


def _progress_bar(sc, progress: Optional[bool], expected_requests: float = 0.0):
    import sys

    show = sc.sim.progress and sys.stderr.isatty() if progress is None else progress
    if not show:
        return None
    from tqdm import tqdm

    class Bar(tqdm):
        def update_to(self, t_s: float) -> None:
            self.update(t_s - self.n)

    # the description gives the requests to come (means of the arrival processes)
    desc = f"{sc.name} (~{expected_requests:,.0f} requests)" if expected_requests >= 1 else sc.name
    return Bar(total=sc.duration_s, unit="sim-s", unit_scale=True, desc=desc, leave=False,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} sim-s [{elapsed}<{remaining}]")
