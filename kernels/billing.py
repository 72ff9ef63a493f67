"""Billing meters with AWS's rounding, per request: the accrual kernels and their twins.

Meters are integers, so money stays exact: billed milliseconds (each invocation rounded
up to 1 ms, init included on demand), request units (an async payload over 256 KB counts
one more request per started 64 KB chunk), and request chunks of 64 KB (SQS, SNS,
EventBridge count every 64 KB of a request as one request). Prices are applied to the
sums later, in `sim.billing`, with Decimal. Twins: `kernels/ref/billing.py`.
"""

import math

import numpy as np

from kernels import jit, jit_inline

KB = 1024
CHUNK_BYTES = 64 * KB  # SQS, SNS, EventBridge and Lambda async: 64 KB per billed chunk
ASYNC_BASE_BYTES = 256 * KB  # a Lambda async request covers the first 256 KB


@jit_inline
def billed_ms(duration_ms):
    """Lambda's billed duration of one invocation: rounded up to the next whole ms."""
    return np.int64(math.ceil(duration_ms))


@jit_inline
def chunks_64kb(size_bytes):
    """Requests a payload counts as at 64 KB each (at least one)."""
    if size_bytes <= CHUNK_BYTES:
        return np.int64(1)
    return np.int64((size_bytes + CHUNK_BYTES - 1) // CHUNK_BYTES)


@jit_inline
def lambda_request_units(size_bytes, is_async):
    """Lambda requests of one invocation: 1, plus for async one per 64 KB beyond 256 KB."""
    if is_async == 0 or size_bytes <= ASYNC_BASE_BYTES:
        return np.int64(1)
    return np.int64(1 + (size_bytes - ASYNC_BASE_BYTES + CHUNK_BYTES - 1) // CHUNK_BYTES)


@jit
def request_units_many(size_bytes, is_async, out):
    """`lambda_request_units` over arrays (the units of each arriving request)."""
    for k in range(size_bytes.shape[0]):
        out[k] = lambda_request_units(size_bytes[k], is_async[k])


@jit
def accrue_invocations(period, fn, latency_ms, on_pc, units, ms_od, ms_pc, requests):
    """Add each invocation's billed ms (on demand or provisioned) and request units to
    the [period, function] meters."""
    acc = np.zeros((ms_od.shape[0], ms_od.shape[1], 3), np.int64)
    _accrue_range(period, fn, latency_ms, on_pc, units, acc, 0, latency_ms.shape[0])
    _add_out(acc, ms_od, ms_pc, requests)


@jit_inline
def _accrue_range(period, fn, latency_ms, on_pc, units, acc, a, b):
    # acc[p, f, 0] on-demand ms, [.., 1] provisioned ms, [.., 2] requests: the flag picks
    # the slot, so there is no branch to mispredict
    for k in range(a, b):
        p = period[k]
        f = fn[k]
        acc[p, f, np.int64(on_pc[k] != 0)] += billed_ms(latency_ms[k])
        acc[p, f, 2] += units[k]


@jit_inline
def _add_out(acc, ms_od, ms_pc, requests):
    for p in range(acc.shape[0]):
        for f in range(acc.shape[1]):
            ms_od[p, f] += acc[p, f, 0]
            ms_pc[p, f] += acc[p, f, 1]
            requests[p, f] += acc[p, f, 2]
