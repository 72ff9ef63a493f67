"""Compiled numerics: numba kernels over numpy arrays and scalars, each with a plain twin.

Numba options come from one place, `jit`, so every kernel is cached on disk and none
uses fastmath (money and percentiles must be exact).
"""

from numba import njit

JIT_OPTIONS = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}


def jit(fn):
    """Compile `fn` with the package's one numba setting."""
    return njit(**JIT_OPTIONS)(fn)


def jit_inline(fn):
    """Like `jit`, but inlined into its callers at numba's IR level (hot helpers)."""
    return njit(inline="always", **JIT_OPTIONS)(fn)

