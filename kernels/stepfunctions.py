"""Step Functions: what an Express execution bills, and a Retry field's delays (issue "Workflows
and containers", first piece).

**Express billing** (FACTS "Step Functions", Step Functions pricing): an Express execution is
billed its duration rounded up to 100 ms steps (at least one), times its memory rounded up to
64 MB chunks (at least one), in GB-seconds; memory is 50 MB plus the definition's size plus the
data's (times the Parallel and Map states' branches), which the caller works out. The kernel
counts **units** of 100 ms × 64 MB (= 0.00625 GB-s), an integer, so sums stay exact; the
price book's Express-GB-Hours rows are tiered by GB-hours a month.

**Retry** (ASL `Retry`: IntervalSeconds, BackoffRate, MaxDelaySeconds, JitterStrategy; FACTS
"Step Functions": defaults 1 s, 2.0, none, NONE): retry k (0-based) waits
`min(IntervalSeconds × BackoffRate^k, MaxDelaySeconds)`; with JitterStrategy FULL, a uniform
draw U in [0, 1) times that. Twin: `kernels/ref/stepfunctions.py`.
"""

import numpy as np

from kernels import jit, jit_inline

DURATION_STEP_MS = 100
MEMORY_STEP_MB = 64
BASE_MEMORY_MB = 50  # what an execution holds before its definition and data (FACTS)
# One unit in GB-seconds: 64 MB (1/16 GB) for 100 ms.
UNIT_GB_S_NUM, UNIT_GB_S_DEN = 1, 160  # 1/16 GB × 1/10 s
RETRY_INTERVAL_S = 1.0
RETRY_BACKOFF_RATE = 2.0
RETRY_MAX_ATTEMPTS = 3
NO_MAX_DELAY = np.inf


@jit_inline
def _steps(x, step):
    n = (x + step - 1) // step
    return n if n > 1 else np.int64(1)


@jit_inline
def express_units(duration_ms, memory_mb):
    """Billing units (100 ms × 64 MB) of one Express execution of `duration_ms` (int, ms, rounded up
    by the caller) using `memory_mb` (int, MB)."""
    return _steps(duration_ms, DURATION_STEP_MS) * _steps(memory_mb, MEMORY_STEP_MB)


@jit
def express_units_many(duration_ms, memory_mb):
    """Total billing units of executions (int64 arrays of ms and MB)."""
    total = np.int64(0)
    for i in range(duration_ms.shape[0]):
        total += express_units(duration_ms[i], memory_mb[i])
    return total


@jit_inline
def retry_delay_s(retry, interval_s, backoff_rate, max_delay_s, full_jitter, u):
    """The wait before retry `retry` (0-based) of a Retry field; `u` a uniform draw (used with
    JitterStrategy FULL). The power is taken by repeated multiplication, as the twin does."""
    d = interval_s
    for _ in range(retry):
        d *= backoff_rate
    if d > max_delay_s:
        d = max_delay_s
    return d * u if full_jitter else d


@jit
def retry_delays_many(retry, interval_s, backoff_rate, max_delay_s, full_jitter, u, out):
    for i in range(retry.shape[0]):
        out[i] = retry_delay_s(retry[i], interval_s, backoff_rate, max_delay_s, full_jitter, u[i])
