"""The Hydra callback that gathers a multirun into sweep.parquet and sweep_report.html."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Any, Optional

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
# The exit status of a multirun whose gathering failed or left jobs out.
EXIT_GATHER = 1


class GatherSweep(Callback):
    """At the end of a multirun, gathers every finished job's summary in `hydra.sweep.dir`.

    A sweep that fails, fails: Hydra 1.3 catches an Exception raised by a callback and only
    warns (hydra/_internal/callbacks.py, `Callbacks._notify`), and the multirun then exits 0.
    So this callback prints one line, `cloudtwin: gathering the sweep failed: …` (or says
    which jobs did not finish), and raises SystemExit(1), which Hydra lets through: the
    multirun exits 1. Failing cases: gathering or drawing raised; no job finished; some jobs
    did not finish or (basic sweeper) left no directory — then the others are still gathered
    and reported before the exit. HYDRA_FULL_ERROR=1 also prints an unexpected error's traceback, as Hydra
    does for its own.
    """

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from sim.sweep.gather import GatherError, describe_skipped, write_sweep  # polars, matplotlib

        sweep_dir = Path(str(config.hydra.sweep.dir))
        try:
            out = write_sweep(sweep_dir, expected_jobs(config))  # names each skipped job on stderr
        except GatherError as err:
            _fail(str(err))
        except Exception as err:
            if os.environ.get("HYDRA_FULL_ERROR") == "1":
                traceback.print_exc()
            _fail(f"gathering the sweep failed: {type(err).__name__}: {' '.join(str(err).split())}")
        print(f"sweep: {out.table}\nsweep report: {out.report}")
        if out.skipped:
            _fail(f"{len(out.skipped)} job(s) of the sweep did not finish ({describe_skipped(out.skipped)}); "
                  f"the {out.jobs} that did are gathered")


def _fail(message: str) -> None:
    print(f"cloudtwin: {message}", file=sys.stderr)
    sys.stdout.flush()
    raise SystemExit(EXIT_GATHER)


def expected_jobs(config: DictConfig) -> Optional[int]:
    """How many jobs the multirun launched, counted as Hydra's basic sweeper does; None for another sweeper.

    The sweeper's `params` then the task overrides, a key's later value replacing its
    earlier one, the product of the discrete sweeps' lengths
    (`BasicSweeper.split_arguments`). None also when the overrides cannot be counted
    (a sweep kind the basic sweeper rejects would have stopped the multirun before).
    """
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    sweeper = OmegaConf.select(config, "hydra.sweeper", default=None)
    if sweeper is None or sweeper.get("_target_") != BASIC_SWEEPER:
        return None
    params = sweeper.get("params") or {}
    task = list(OmegaConf.select(config, "hydra.overrides.task", default=[]) or [])
    try:
        overrides = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()] + task)
        (batch,) = BasicSweeper.split_arguments(overrides, None)
    except Exception:
        return None
    return len(batch)
