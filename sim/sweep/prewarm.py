"""Getting a parallel sweep's worker processes ready while the CLI is still starting.

A sweep on Hydra's joblib launcher runs its jobs in loky worker processes that start only
when the launcher calls `joblib.Parallel`, after the CLI has checked every swept value and
Hydra has composed the first job. Each worker's first job then pays the process's
start-up: imports (Hydra, polars, numba, the scenario layer: about 0.5 s), numba's first
use and the kernels from its cache (0.55 s), the first calls of the engine and the writers
(0.25 s). On the 16-job benchmark sweep (2 workers, 2 cores, jobs of 1.6 s) the first jobs
started 2.3 s after the command and ran 0.7 s longer than the others.

`start` begins that work as soon as the CLI knows the launcher (its first composition, in
`sim.cli.prepare`):

- loky starts its workers from multiprocessing's forkserver (`use_forkserver`), which
  imports `sim.sweep.preload` once: the modules and numba's first use every worker needs,
  done in one process instead of in each (on 2 cores the start-up is bound by CPU: the CLI
  and every worker share them). The forkserver starts at once, beside the CLI.
- a background thread calls `joblib.Parallel` with exactly the launcher's arguments on one
  small task per worker (`warm`: the scenario's kernels loaded from numba's cache — never
  compiled here — the Region's price book read as the jobs read it, a few simulated
  seconds of the scenario written nowhere, and `freeze_heap`). joblib keeps a reusable loky
  executor between `Parallel` calls made with the same arguments, so the launcher's own
  call later finds the same workers, already warm.

`join` (from the sweeper's check of the first batch, just before the launch) waits for the
thread, so the two calls never overlap. Nothing here changes a job: the tasks write nothing
and return only their process id, and a warm-up that fails only costs the time it took
(logged at DEBUG). The forkserver took the benchmark's 16-job sweep on 2 workers from
17.76 s to 16.84 s (means of 3 runs each, 2026-12-05). With one worker (joblib then runs
the jobs in the CLI's own process) nothing is warmed.

`prefetch_gathering` imports the sweep's gathering and report modules (polars,
matplotlib: about 1 s) in a background thread of the parent while a parallel launcher's
workers warm up and its jobs run, instead of after them. Only for launchers whose jobs run
in other processes: in the parent's own main thread a job imports modules concurrently, and
two threads importing packages with circular imports can dead-lock in CPython (here a
failure on either side is caught: the warm-up or the early import is then only lost time).
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import threading
from typing import Any, Dict, List, Optional

log = logging.getLogger(__name__)

WARM_DURATION_S = 4.0  # simulated seconds of the warm-up run: every kernel and writer path called once
JOBLIB_LAUNCHER = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
PRELOAD = "sim.sweep.preload"  # the module the workers' forkserver imports once

_thread: Optional[threading.Thread] = None
_pids: List[int] = []  # the warm-up tasks' worker process ids (for tests)
_frozen = False


def joblib_kwargs(launcher: Dict[str, Any]) -> Dict[str, Any]:
    """`joblib.Parallel`'s arguments as Hydra's joblib launcher makes them from its config
    (hydra_plugins/hydra_joblib_launcher/_core.py, `launch`): the backend forced to loky,
    pre_dispatch, batch_size and max_nbytes turned into integers when they are numbers."""
    out = {k: v for k, v in launcher.items() if k != "_target_"}
    out["backend"] = "loky"
    for k in ("pre_dispatch", "batch_size", "max_nbytes"):
        v = out.get(k)
        if v:
            try:
                out[k] = int(v)
            except (TypeError, ValueError):
                pass
    return out


def workers(kwargs: Dict[str, Any]) -> int:
    """How many worker processes `Parallel(**kwargs)` starts."""
    from joblib import effective_n_jobs

    return max(1, effective_n_jobs(kwargs.get("n_jobs", -1)))


def start(launcher: Dict[str, Any], scenario: Dict[str, Any]) -> bool:
    """Start warming the joblib launcher's workers for `scenario` (plain data) in a
    background thread; False (nothing started) for another launcher, for one worker, or
    while a warm-up runs."""
    global _thread
    if launcher.get("_target_") != JOBLIB_LAUNCHER or (_thread is not None and _thread.is_alive()):
        return False
    kwargs = joblib_kwargs(launcher)
    if workers(kwargs) < 2:  # joblib runs one worker's jobs in this process: nothing to warm
        return False
    use_forkserver()

    def body() -> None:
        from joblib import Parallel, delayed

        try:
            _pids[:] = Parallel(**kwargs)(delayed(warm)(scenario) for _ in range(workers(kwargs)))
        except Exception as err:  # noqa: BLE001 - a warm-up that fails only costs its time
            log.debug("warming the sweep's workers failed: %s: %s", type(err).__name__, err)

    _thread = threading.Thread(target=body, name="cloudtwin-prewarm", daemon=True)
    _thread.start()
    return True


def early(overrides: List[str]) -> bool:
    """Start the workers' forkserver (`use_forkserver`) before anything is composed, when the
    command line itself names the joblib launcher (`hydra/launcher=joblib`) and more than
    one worker: its preload then runs beside the CLI's first composition (0.2 s) and checks
    instead of after them. True if it started it. A launcher chosen in a config file is
    known only once composed: `start` then starts the forkserver."""
    if "hydra/launcher=joblib" not in overrides:
        return False
    n_jobs = [o.split("=", 1)[1] for o in overrides if o.startswith("hydra.launcher.n_jobs=")]
    try:
        if workers({"n_jobs": int(n_jobs[-1]) if n_jobs else -1}) < 2:  # Hydra's default: -1, every core
            return False
    except (TypeError, ValueError):  # a sweep or an interpolation: left to `start`
        return False
    return use_forkserver()


def use_forkserver() -> bool:
    """Have loky start this process's workers from multiprocessing's forkserver, with
    `sim.sweep.preload` imported there once (the imports and numba's first use every worker
    needs): True if it will. Not where the platform has no forkserver (Windows), nor when
    loky's start method was already chosen otherwise. Each worker is then a fork of a process
    that imported no polars (see `sim.sweep.preload` on threads). loky's worker environment
    (joblib's thread limits for OpenMP and BLAS) applies only to its own start method;
    nothing in a job runs on those thread pools. As with any forkserver or spawn start, a
    worker first imports the parent's main module (as `__mp_main__`): the `cloudtwin`
    script guards its call; a script of one's own that calls `sim.cli.main` must guard it
    too (`if __name__ == "__main__":`)."""
    import multiprocessing

    from joblib.externals.loky.backend import context

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    if context.get_start_method() not in (None, "forkserver"):
        return False
    context.set_start_method("forkserver", force=True)
    multiprocessing.set_forkserver_preload([PRELOAD])
    from multiprocessing import forkserver

    forkserver.ensure_running()  # it imports the preload now, beside the CLI, not at the first fork
    return True


def join() -> None:
    """Wait for the warm-up started by `start`, if any (before the launcher's own call)."""
    global _thread
    if _thread is not None:
        _thread.join()
        _thread = None


def warm(scenario: Dict[str, Any]) -> int:
    """In a worker: import what a job imports, load `scenario`'s kernels if numba's cache
    has them all (a cold cache is left to the job, which says it compiles) and then run a
    few simulated seconds of it, written nowhere (the first run in a process pays for
    numba's dispatch and first calls), freeze the heap. Returns the process id."""
    import os

    import sim  # noqa: F401 - the engine, numba: what a job's run imports
    import sim.api  # noqa: F401
    import sim.output.writers  # noqa: F401 - polars
    from scenarios.errors import ScenarioError
    from scenarios.load import load_scenario
    from sim.billing.region_books import region_book
    from sim.engine.warmup import groups_for, load_cached

    try:
        sc = load_scenario(scenario)
    except ScenarioError:  # the job reports it
        sc = None
    if sc is not None and load_cached(groups_for(sc)) == groups_for(sc):
        short = dataclasses.asdict(sc)  # a few simulated seconds of it, written nowhere
        short.update(duration_s=WARM_DURATION_S, sim={**short["sim"], "window_s": 1.0, "progress": False},
                     record={**short["record"], "period_s": WARM_DURATION_S / 2, "report": False})
        try:  # the Region's price book as the jobs get it: read once, kept for them
            sim.api.simulate(short, progress=False, price_book=region_book(short))
        except Exception as err:  # noqa: BLE001 - e.g. a data file relative to the scenario's folder
            log.debug("the warm-up run failed: %s: %s", type(err).__name__, err)
    freeze_heap()
    return os.getpid()


def freeze_heap() -> None:
    """Once per process: collect, then move every object that survived into the garbage
    collector's permanent generation (`gc.freeze`).

    Modules, numba's dispatchers and compiled code, Hydra's and polars' state live as long
    as the process: some 200,000 tracked objects that every full collection walks again.
    Between two of a joblib worker's tasks, loky calls `gc.collect()` (no psutil), 0.06–0.08
    s each time on this machine; after the freeze it walks only the objects made since.
    Objects frozen here are still freed by reference counting; only garbage cycles among
    them would stay (none that matter in a process that lives for one sweep)."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


def prefetch_gathering() -> threading.Thread:
    """Import the gathering's and the sweep report's modules in a background thread, then
    freeze the parent's heap (`freeze_heap`)."""

    def body() -> None:
        try:
            import sim.sweep.gather  # noqa: F401 - polars
            import sim.sweep.report  # noqa: F401 - matplotlib
            freeze_heap()  # the gathering's collections skip the modules
        except Exception as err:  # noqa: BLE001 - the gathering imports them again and says what failed
            log.debug("importing the gathering early failed: %s: %s", type(err).__name__, err)

    t = threading.Thread(target=body, name="cloudtwin-prefetch", daemon=True)
    t.start()
    return t
