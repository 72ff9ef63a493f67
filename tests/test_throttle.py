"""Token buckets in a chain (kernels/throttle.py, API Gateway's throttling): against a plain
twin on random arrivals (exact), and the account's and a stage's limits together, by hand."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from kernels.ref.throttle import Bucket, admit_ref
from kernels.throttle import admit_many, full_buckets


def run(times, chains, rate, burst, windows=1):
    """The kernel over `times`, in `windows` calls (the buckets carry over)."""
    flat = sorted({tuple(c) for c in chains})
    index = {c: k for k, c in enumerate(flat)}
    off = np.zeros(len(flat) + 1, np.int64)
    off[1:] = np.cumsum([len(c) for c in flat])
    chain = np.array([b for c in flat for b in c], np.int64)
    tokens, last = full_buckets(rate, burst)
    t = np.asarray(times, np.float64)
    req = np.array([index[tuple(c)] for c in chains], np.int64)
    ok = np.zeros(len(t), bool)
    edges = np.linspace(0, len(t), windows + 1).astype(int)
    n = 0
    for a, b in zip(edges[:-1], edges[1:]):
        part = np.zeros(b - a, bool)
        n += admit_many(t[a:b], req[a:b], off, chain, np.asarray(rate, float), np.asarray(burst, float), tokens,
                        last, part)
        ok[a:b] = part
    return ok, n


def test_the_account_and_a_stage_together_by_hand():
    """The account: 10,000 rps, a bucket of 5,000; a stage: 100 rps, a bucket of 50. 200 requests
    at once: the stage admits its 50 and refuses 150. Then 150 a second for 10 s (one every
    1/150 s from 1/150 s): the stage refills 100 tokens a second, so 100 a second pass (1,000 in
    all, give or take the one in flight at the end), and the account, far above, never refuses."""
    rate, burst = [10_000.0, 100.0], [5_000.0, 50.0]
    times = [0.0] * 200 + [k / 150 for k in range(1, 1501)]
    ok, n = run(times, [[1, 0]] * len(times), rate, burst)
    assert ok[:200].sum() == 50
    assert abs(int(ok[200:].sum()) - 1000) <= 1
    # the account alone at 10 rps with a bucket of 5: of 20 at once, 5 pass
    ok2, _ = run([0.0] * 20, [[0]] * 20, [10.0], [5.0])
    assert ok2.sum() == 5


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 5), st.lists(st.integers(0, 3), min_size=1, max_size=3, unique=True)),
                min_size=1, max_size=200),
       st.lists(st.tuples(st.sampled_from([0.5, 1.0, 10.0, 100.0]), st.sampled_from([1.0, 2.0, 5.0, 50.0])),
                min_size=4, max_size=4),
       st.integers(1, 5))
def test_kernel_matches_twin(reqs, buckets, windows):
    """Random arrivals through random chains of four buckets: the same requests admitted, exactly,
    in one call or several (the buckets carry over)."""
    reqs = sorted(reqs, key=lambda r: r[0])
    times, chains = [r[0] for r in reqs], [r[1] for r in reqs]
    rate, burst = [b[0] for b in buckets], [b[1] for b in buckets]
    ok, n = run(times, chains, rate, burst, windows)
    want = admit_ref(times, chains, [Bucket(r, b) for r, b in zip(rate, burst)])
    assert ok.tolist() == want and n == sum(want)
