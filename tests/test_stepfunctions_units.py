"""Step Functions' first pieces (kernels/stepfunctions.py): an Express execution's billing units
and AWS's worked example to the cent through the price book; a Retry field's delays by hand;
kernel against twin (hypothesis)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
from hypothesis import given, settings, strategies as st

from kernels import stepfunctions as S
from kernels.ref import stepfunctions as R
from scenarios import load_region
from sim.billing import Usage, price


def units_to_gb_h(units: int) -> Decimal:
    return Decimal(units) * S.UNIT_GB_S_NUM / S.UNIT_GB_S_DEN / 3600


def test_awss_express_example_to_the_cent():
    """AWS's pricing page: 100 M Express executions a month, 10 s each, 64 MB: 100 M requests at
    $1.00 a million = $100.00; 62,500,000 GB-s = 17,361.11 GB-h = 1,000 × $0.06 + 4,000 × $0.03 +
    12,361.11 × $0.01642 = $60.00 + $120.00 + $202.97 = $382.97."""
    units_each = S.express_units_many(np.array([10_000]), np.array([64]))
    assert units_each == 100  # 100 steps of 100 ms, one 64 MB chunk
    gb_h = units_to_gb_h(units_each * 100_000_000)
    assert gb_h * 3600 == 62_500_000
    usage = [Usage("AWSStepFunctions", "Express-Requests", "state_machine:x", Decimal(100_000_000), "Requests"),
             Usage("AWSStepFunctions", "Express-GB-Hours", "state_machine:x", gb_h, "GB-Hours")]
    bill = price(usage, load_region("us-east-1"), free_tier=False, month_h=730.0, duration_s=730 * 3600.0)
    got = {r["usage_type"]: r["monthly_cost_usd"] for r in bill.invoice}
    assert got == {"Express-Requests": 100.00, "Express-GB-Hours": 382.97}


def test_rounding_by_hand():
    """1 ms at 1 MB bills one step and one chunk; 101 ms at 65 MB two of each; 0 ms one step."""
    assert S.express_units_many(np.array([1, 101, 0, 100, 64_000]), np.array([1, 65, 50, 64, 128])) == \
        1 + 4 + 1 + 1 + 640 * 2


def test_retry_delays_by_hand():
    """The defaults (1 s, 2.0): 1, 2, 4 s; MaxDelaySeconds 3 caps the third at 3 s; FULL jitter
    with U = 0.25 waits a quarter of each."""
    out = np.empty(3)
    S.retry_delays_many(np.arange(3), S.RETRY_INTERVAL_S, S.RETRY_BACKOFF_RATE, S.NO_MAX_DELAY, False, np.zeros(3), out)
    assert out.tolist() == [1.0, 2.0, 4.0]
    S.retry_delays_many(np.arange(3), 1.0, 2.0, 3.0, False, np.zeros(3), out)
    assert out.tolist() == [1.0, 2.0, 3.0]
    S.retry_delays_many(np.arange(3), 1.0, 2.0, np.inf, True, np.full(3, 0.25), out)
    assert out.tolist() == [0.25, 0.5, 1.0]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**7), st.integers(1, 4096)), min_size=1, max_size=50),
       st.integers(0, 12), st.floats(0.1, 60), st.floats(1.0, 3.0), st.sampled_from([np.inf, 5.0, 100.0]),
       st.booleans(), st.floats(0, 0.999))
def test_kernel_matches_twin(execs, retry, interval, rate, max_delay, jitter, u):
    d = np.array([e[0] for e in execs], np.int64)
    m = np.array([e[1] for e in execs], np.int64)
    units = S.express_units_many(d, m)
    assert Fraction(int(units) * S.UNIT_GB_S_NUM, S.UNIT_GB_S_DEN) == sum(R.express_gb_s(int(a), int(b))
                                                                          for a, b in execs)
    out = np.empty(1)
    S.retry_delays_many(np.array([retry]), interval, rate, max_delay, jitter, np.array([u]), out)
    assert out[0] == R.retry_delay_s(retry, interval, rate, max_delay, jitter, u)
