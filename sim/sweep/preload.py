"""Imported once by the forkserver a parallel sweep's joblib workers are forked from.

A joblib (loky) worker used to start as a fresh interpreter and pay, each, what every job's
process needs before its first job: the CLI's and Hydra's modules, the engine's, and
numba's first use — its CPU target's registries (numba.np.arraymath and the rest, which
also import scipy.linalg to look for BLAS), about 0.4 s. On the benchmark sweep (2 cores,
2 workers) that start-up is CPU-bound: the CLI, and both workers doing the same work,
share the two cores. `sim.sweep.prewarm.start` therefore has loky start its workers from
multiprocessing's forkserver with this module preloaded: the work is done once, in the
forkserver, and each worker is a fork of it (copy-on-write), already past it.

Kept out on purpose: polars (its import starts threads, and a process forked after
threads exist may dead-lock in them; each worker imports it itself; the forkserver's only
other threads are OpenBLAS's, numpy's and scipy's, which OpenBLAS stops before a fork
and restarts after it, with pthread_atfork) and anything that
depends on the scenario (each worker still loads the scenario's kernels from numba's cache
and runs its short warm-up: `sim.sweep.prewarm.warm`). The forkserver imports a preload
module and ignores only ImportError; anything else would stop it, and with it every
worker: so any failure here is swallowed, and a worker then simply does the work itself.
The heap is frozen at the end (`gc.freeze`), so the workers' collections neither walk
these objects nor touch, and thereby copy, their pages.
"""

from __future__ import annotations

import gc


def preload() -> None:
    """The modules a job's process imports (except polars) and numba's CPU target, ready."""
    import sim.api  # noqa: F401 - the engine, numba, the scenario layer
    import sim.cli  # noqa: F401 - the task function, Hydra, its config store
    from numba.core.registry import cpu_target

    cpu_target.target_context.refresh()  # the registries numba installs before its first load
    import hydra_plugins.hydra_joblib_launcher._core  # noqa: F401 - what unpickling a job imports


try:
    preload()
except Exception:  # noqa: BLE001 - see the module's docstring: a worker then does this itself
    pass
gc.collect()
gc.freeze()
