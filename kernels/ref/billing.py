"""Plain-Python twins of `kernels.billing`'s meters, obviously correct, on the kernel's constants."""

import math

from kernels.billing import ASYNC_BASE_BYTES, CHUNK_BYTES


def billed_ms_ref(duration_ms: float) -> int:
    return int(math.ceil(duration_ms))


def lambda_request_units_ref(size_bytes: int, is_async: int) -> int:
    if not is_async:
        return 1
    extra = max(0, size_bytes - ASYNC_BASE_BYTES)
    return 1 + -(-extra // CHUNK_BYTES)


def chunks_64kb_ref(size_bytes: int) -> int:
    """Requests a payload counts as at 64 KB each (at least one)."""
    return max(1, -(-int(size_bytes) // CHUNK_BYTES))


def accrue_invocations_ref(period, fn, latency_ms, on_pc, units, n_periods, n_functions):
    """(ms_od, ms_pc, requests) as nested lists of Python ints."""
    ms_od = [[0] * n_functions for _ in range(n_periods)]
    ms_pc = [[0] * n_functions for _ in range(n_periods)]
    req = [[0] * n_functions for _ in range(n_periods)]
    for p, f, lat, pc, u in zip(period, fn, latency_ms, on_pc, units):
        (ms_pc if pc else ms_od)[p][f] += billed_ms_ref(lat)
        req[p][f] += int(u)
    return ms_od, ms_pc, req
