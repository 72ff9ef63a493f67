"""Compiled numerics: numba kernels over numpy arrays and scalars, each with a plain twin.

Numba options come from one place, `jit`, so every kernel is cached on disk and none
uses fastmath (money and percentiles must be exact).

The event loops (`jit_loop`: the Lambda pool, the messaging kernel, the fan-out) never
allocate: every array they touch is handed to them. So they run without numba's runtime
(`_nrt=False`), which would otherwise reference-count every array at every call of an
inlined helper — measured: the pool's loop calling its shared attempt helper ran at 1.6 M
requests/s with reference counting and 3.9 M without, and the messaging kernel (SQS,
mappings, fleets) went from 0.84 to 1.4 M messages/s. A loop that tried to allocate would
fail to compile, loudly, in the tests. Kernels that allocate scratch space (firewall,
billing accrual) keep the runtime.

Hot helpers (`jit_inline`) are inlined by LLVM (`forceinline`: the `alwaysinline`
attribute), not by numba at its IR level (`inline="always"`): numba's IR inlining copies
the helper's IR into every call site and then types, SSA-rebuilds and lowers the whole,
which grew superlinearly with the size of the event loops — the messaging loop took 101 s
of CPU to compile cold, 27 of them in LLVM and the rest in numba's passes. Compiled once
per signature and inlined by LLVM, it takes 35 s; typed on plain types (one version for
all constant arguments, `_HelperDispatcher`), 22-28 s. The loops run as fast (measured on
the benchmarks cloudtwin_10m and cloudtwin_fanout: the same CPU time within noise). Like
the loops, the helpers run without numba's runtime. Helpers that only compiled code calls
(`jit_handler`, and `jit_internal` for the rarely called, not inlined ones such as a
period's end) have no CPython wrapper, whose unboxing code of the messaging handlers' state
tuples cost more to compile than the handlers themselves.
"""

import hashlib
import os
from pathlib import Path

from numba import njit, types
from numba.core.registry import CPUDispatcher

JIT_OPTIONS = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}
SOURCES_STAMP = "kernels.sources"  # beside the caches: a digest of the kernel sources they were made from


def drop_stale_caches(here: Path) -> bool:
    """Drop every numba cache file of the kernels in `here` when any kernel source there
    changed since they were made; whether it dropped them.

    numba keys a kernel's disk cache on its own file only, so a loop that inlines a helper
    from another module (the account's loop inlines the tables', buckets' and pool's) would
    load its old machine code after that helper changed. A digest of all the sources, kept
    beside the caches, catches it. Caches elsewhere (NUMBA_CACHE_DIR) are left to their owner;
    a directory that cannot be written (an installed package) is left as it is."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return False
    digest = hashlib.sha256()
    for p in sorted(here.glob("*.py")):
        digest.update(p.name.encode() + b"\0" + p.read_bytes())
    cache = here / "__pycache__"
    stamp = cache / SOURCES_STAMP
    try:
        if stamp.read_text() == digest.hexdigest():
            return False
    except OSError:
        pass
    try:
        for f in [*cache.glob("*.nbi"), *cache.glob("*.nbc")]:
            f.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        tmp = cache / f"{SOURCES_STAMP}.{os.getpid()}.tmp"
        tmp.write_text(digest.hexdigest())
        tmp.replace(stamp)
    except OSError:
        return False
    return True


drop_stale_caches(Path(__file__).resolve().parent)


def _unliteral(t):
    if isinstance(t, types.BaseTuple):  # a named tuple (a kernel's state arrays) keeps its class
        pyclass = t.instance_class if isinstance(t, types.BaseNamedTuple) else None
        return types.BaseTuple.from_types([_unliteral(x) for x in t.types], pyclass)
    return types.unliteral(t)


class _HelperDispatcher(CPUDispatcher):
    """A dispatcher typed on its arguments' plain types: a call with a constant (a column
    index, `True`) compiles no version of its own for that value (numba's default is one
    version per literal value: `_link_after` was compiled 4 times, `pool_attempt` twice).
    LLVM folds the constants once the helper is inlined."""

    def get_call_template(self, args, kws):
        return super().get_call_template([_unliteral(a) for a in args], {k: _unliteral(v) for k, v in kws.items()})


def jit(fn):
    """Compile `fn` with the package's one numba setting."""
    return njit(**JIT_OPTIONS)(fn)


def jit_inline(fn):
    """Like `jit_loop`, always inlined into its callers by LLVM, and compiled once per plain
    signature (`_HelperDispatcher`): hot helpers."""
    options = {k: v for k, v in JIT_OPTIONS.items() if k != "cache"}
    disp = _HelperDispatcher(py_func=fn, locals={}, targetoptions={"nopython": True, "forceinline": True,
                                                                   "_nrt": False, **options})
    disp.enable_caching()
    return disp


def jit_internal(fn):
    """Like `jit`, for kernels only compiled code calls (not inlined: rare events such as a
    period's end): no CPython wrapper (see `jit_handler`)."""
    return njit(no_cpython_wrapper=True, no_cfunc_wrapper=True, **JIT_OPTIONS)(fn)


def jit_handler(fn):
    """Like `jit_inline`, for helpers that only compiled code calls (the event loops' handlers
    and helpers): no CPython wrapper. The wrapper, which unboxes every argument (for the
    messaging handlers, named tuples of 27 and 32 arrays), is never run, yet compiling it
    made the messaging kernel's cold compile 1.7x longer (measured: 54 against 32 CPU-s)."""
    options = {k: v for k, v in JIT_OPTIONS.items() if k != "cache"}
    disp = _HelperDispatcher(py_func=fn, locals={}, targetoptions={"nopython": True, "forceinline": True,
                                                                   "_nrt": False, "no_cpython_wrapper": True,
                                                                   "no_cfunc_wrapper": True, **options})
    disp.enable_caching()
    return disp


def jit_loop(fn):
    """Like `jit`, without numba's runtime: for event loops that allocate nothing."""
    return njit(_nrt=False, **JIT_OPTIONS)(fn)
