"""S3 prefixes' request rates (kernels/buckets.py): worked by hand, and the kernel against its
twin on random requests and splits, in one call or several (hypothesis, exact)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from kernels import buckets as B
from kernels.ref.buckets import Buckets


class Run:
    def __init__(self, prefixes, n_periods=1):
        self.off = np.concatenate([[0], np.cumsum(prefixes)]).astype(np.int64)
        self.arrays = B.bucket_arrays(prefixes, n_periods)

    def __call__(self, t, op, b=None, prefix=None, size=None, period=None, fb=None, tr=None):
        n = len(t)
        col = lambda v, d: np.asarray(v if v is not None else [d] * n, np.int64)  # noqa: E731
        bb, pp = col(b, 0), col(prefix, 0)
        ok = np.zeros(n, np.bool_)
        B.bucket_many(np.asarray(t, np.float64), bb, col(op, 0), self.off[bb] + pp, col(size, 0), col(fb, 0),
                      col(tr, 0), col(period, 0), *self.arrays, ok)
        return ok

    def split(self, t, b, prefix):
        ptok, plast, pparts, _, _ = self.arrays
        B.split(float(t), int(self.off[b] + prefix), ptok, plast, pparts)


def test_a_prefix_serves_3500_writes_and_5500_reads_a_second():
    """8,000 PUTs and 10,000 GETs a second, evenly, for 2 s at one prefix whose buckets start full
    (one second's worth): each serves what it holds plus its rate over the 2 s, 3,500 + 7,000
    PUTs and 5,500 + 11,000 GETs (give or take the last token); the rest are 503 Slow Down.
    Another prefix of the bucket is untouched."""
    run = Run([2])
    tp, tg = np.arange(16000) / 8000, np.arange(20000) / 10000
    t = np.concatenate([tp, tg])
    op = np.array([B.PUT] * 16000 + [B.GET] * 20000)
    order = np.argsort(t, kind="stable")
    ok = np.empty(len(t), bool)
    ok[order] = run(t[order], op[order])
    puts, gets = ok[:16000].sum(), ok[16000:].sum()
    assert abs(puts - 10500) <= 1 and abs(gets - 16500) <= 1
    assert run.arrays[4][0, 0, B.BC_SLOWDOWN] == 36000 - puts - gets
    assert run(np.array([1.9999]), [B.PUT], prefix=[1]).all()


def test_a_split_doubles_the_rate_and_refills_at_the_old_one():
    """A prefix emptied of its 3,500 write tokens at t = 0, split at t = 0.5: it gained 1,750 at
    the old rate by then; a second later at the doubled rate it serves 7,000 more at once."""
    run = Run([1])
    assert run(np.zeros(3500), [B.PUT] * 3500).all()
    run.split(0.5, 0, 0)
    ptok, plast, pparts, _, _ = run.arrays
    assert ptok[0, B.WRITE] == 1750.0 and pparts[0] == 2
    assert run(np.full(8000, 1.5), [B.PUT] * 8000).sum() == 7000


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 3), st.integers(0, 1), st.integers(0, 2), st.sampled_from(range(7)),
                          st.integers(0, 5000)), min_size=1, max_size=200),
       st.lists(st.tuples(st.floats(0, 3), st.integers(0, 1), st.integers(0, 2)), max_size=4),
       st.integers(1, 4), st.sampled_from([1, 3000, 6000]))
def test_kernel_matches_twin(reqs, splits, windows, repeat):
    """Random requests (each repeated `repeat` times at its instant, so buckets run dry) and splits:
    the same requests served, the same counters and prefixes, in one call or several."""
    prefixes = [3, 2]
    reqs = sorted(((t, b, px % prefixes[b], op, size) for t, b, px, op, size in reqs), key=lambda r: r[0])
    reqs = [r for r in reqs for _ in range(repeat)][:20000]
    splits = sorted(((t, b, px % prefixes[b]) for t, b, px in splits), key=lambda s: s[0])
    n_per = 2
    twin = Buckets(prefixes, n_per)
    run = Run(prefixes, n_per)
    want, got, si = [], [], 0
    for i, (t, b, px, op, size) in enumerate(reqs):
        while si < len(splits) and splits[si][0] <= t:
            twin.prefixes[splits[si][1]][splits[si][2]].split(splits[si][0])
            si += 1
        want.append(twin.request(t, b, int(t >= 1.5), op, px, size, i % 97, i % 13))
    edges = np.linspace(0, len(reqs), windows + 1).astype(int)
    si = 0
    for a, z in zip(edges[:-1], edges[1:]):
        i = a
        while i < z:
            while si < len(splits) and splits[si][0] <= reqs[i][0]:
                run.split(*splits[si])
                si += 1
            j = i
            while j < z and (si >= len(splits) or reqs[j][0] < splits[si][0]):
                j += 1
            j = max(j, i + 1)
            cols = list(zip(*reqs[i:j]))
            idx = np.arange(i, j)
            got += run(cols[0], cols[3], b=cols[1], prefix=cols[2], size=cols[4],
                       period=[int(x >= 1.5) for x in cols[0]], fb=idx % 97, tr=idx % 13).tolist()
            i = j
    assert got == want
    ptok, plast, pparts, pslow, bper = run.arrays
    assert bper[:, :2].tolist() == [[c for c in per] for per in twin.counts]
    flat = [px for bk in twin.prefixes for px in bk]
    assert pparts.tolist() == [px.parts for px in flat] and pslow.tolist() == [px.slow for px in flat]
    assert ptok.tolist() == [px.tokens for px in flat]
