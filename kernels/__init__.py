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
per signature and inlined by LLVM, it takes 35 s, and the loops run as fast (measured on
the benchmarks, cloudtwin_10m and cloudtwin_fanout: CPU time within noise, slightly lower).
Like the loops, the helpers run without numba's runtime.
"""

from numba import njit

JIT_OPTIONS = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}


def jit(fn):
    """Compile `fn` with the package's one numba setting."""
    return njit(**JIT_OPTIONS)(fn)


def jit_inline(fn):
    """Like `jit_loop`, and always inlined into its callers by LLVM (hot helpers)."""
    return njit(forceinline=True, _nrt=False, **JIT_OPTIONS)(fn)


def jit_loop(fn):
    """Like `jit`, without numba's runtime: for event loops that allocate nothing."""
    return njit(_nrt=False, **JIT_OPTIONS)(fn)
