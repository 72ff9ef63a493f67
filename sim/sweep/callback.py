"""The Hydra callback that gathers a multirun into sweep.parquet and sweep_report.html."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)


class GatherSweep(Callback):
    """At the end of a multirun, gathers every job's summary in `hydra.sweep.dir`."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from sim.sweep.gather import write_sweep  # polars and matplotlib only when needed

        sweep_dir = Path(str(config.hydra.sweep.dir))
        paths = write_sweep(sweep_dir)
        if not paths:
            log.warning("no job of the sweep in %s wrote a summary.json", sweep_dir)
            return
        print(f"sweep: {paths['table']}\nsweep report: {paths['report']}")
