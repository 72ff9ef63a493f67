"""API Gateway's front door (kernels/apigw.py: a usage plan's quota, then a chain of token
buckets, then a REST stage's cache): small cases worked by hand, and the kernel against its
twin (kernels/ref/apigw.py) on random streams, exactly, in one call or cut into several."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kernels.apigw import CACHE_HIT, DAY, FORWARD, NO_ID, QUOTA, THROTTLED, gateway_many, gateway_state
from kernels.ref.apigw import GatewayRef
from kernels.ref.cache import CacheRef
from kernels.ref.throttle import Bucket

F, H, T, Q = FORWARD, CACHE_HIT, THROTTLED, QUOTA


class Gateway:
    """The kernel's arrays for chains (lists of bucket indices), buckets (rate, burst), quota
    keys (limit, period) and caches (ttl, capacity, number of keys); its state at time 0."""

    def __init__(self, chains, buckets, quotas=(), caches=()):
        self.chain_off = np.zeros(len(chains) + 1, np.int64)
        self.chain_off[1:] = np.cumsum([len(c) for c in chains])
        self.chain_b = np.array([b for c in chains for b in c], np.int64)
        self.rate = np.array([b[0] for b in buckets], np.float64)
        self.burst = np.array([b[1] for b in buckets], np.float64)
        self.qlimit = np.array([q[0] for q in quotas], np.int64)
        self.qperiod_s = np.array([q[1] for q in quotas], np.float64)
        self.ttl = np.array([c[0] for c in caches], np.float64)
        self.capacity = np.array([c[1] for c in caches], np.int64)
        self.key_off = np.concatenate([[0], np.cumsum([c[2] for c in caches])]).astype(np.int64)
        (self.tokens, self.last, self.qused, self.qwin, self.prev, self.nxt, self.inserted, self.cached,
         self.ends) = gateway_state(self.rate, self.burst, len(quotas), int(self.key_off[-1]), len(caches))

    def run(self, reqs, cuts=()):
        """Requests (t, chain, quota key, cache, key within its cache), cut before the requests
        numbered in `cuts`: their statuses, and the number forwarded."""
        t = np.array([r[0] for r in reqs], np.float64)
        chain, qkey, cache_id = (np.array([r[j] for r in reqs], np.int64) for j in (1, 2, 3))
        ckey = np.array([self.key_off[r[3]] + r[4] if r[3] != NO_ID else NO_ID for r in reqs], np.int64)
        status = np.zeros(len(reqs), np.int8)
        edges = [0, *sorted(set(cuts)), len(reqs)]
        n = 0
        for a, b in zip(edges[:-1], edges[1:]):
            part = np.zeros(b - a, np.int8)
            n += gateway_many(t[a:b], chain[a:b], qkey[a:b], cache_id[a:b], ckey[a:b], self.chain_off, self.chain_b,
                              self.rate, self.burst, self.tokens, self.last, self.qlimit, self.qperiod_s, self.qused,
                              self.qwin, self.ttl, self.capacity, self.prev, self.nxt, self.inserted, self.cached,
                              self.ends, part)
            status[a:b] = part
        assert n == int((status == FORWARD).sum())
        return status.tolist()


def test_a_usage_plans_quota_and_per_key_bucket_by_hand():
    """A quota of 5 a day and a per-key bucket of 2 a second, burst 2. Ten requests at 0: the
    bucket admits 2, the other 8 are throttled and use none of the quota. Then one a second
    from 1 s: 3 more pass (5 in the day), the rest are refused for the quota, until the day
    ends: at 86,400 s exactly the count starts again (the bucket is full: 2 of 10 at once),
    then 3 more a second and the quota again."""
    gw = Gateway([[0]], [(2.0, 2.0)], quotas=[(5, DAY)])
    day1 = [(0.0, 0, 0, NO_ID, 0)] * 10 + [(float(s), 0, 0, NO_ID, 0) for s in range(1, 11)]
    day1 += [(DAY - 0.5, 0, 0, NO_ID, 0)]
    assert gw.run(day1) == [F] * 2 + [T] * 8 + [F] * 3 + [Q] * 7 + [Q]
    assert gw.qused.tolist() == [5] and gw.qwin.tolist() == [0]
    day2 = [(DAY, 0, 0, NO_ID, 0)] * 10 + [(DAY + s, 0, 0, NO_ID, 0) for s in range(1, 6)]
    assert gw.run(day2) == [F] * 2 + [T] * 8 + [F] * 3 + [Q] * 2
    assert gw.qused.tolist() == [5] and gw.qwin.tolist() == [1]


def test_a_route_a_stage_and_the_account_by_hand():
    """Buckets: the account's 10,000 rps, burst 5,000 (0); a stage's 100 rps, burst 50 (1); a
    route of that stage's, 10 rps, burst 5 (2). At 0: 100 requests on the route pass 5 (its
    bucket), 100 on another route of the stage pass 45 (the stage's 50 less the route's 5: the
    95 the route refused took no stage token), and 6,000 on a stage without limits pass 4,950
    (the account's 5,000 less the 50). At 0.5 s: the route has 5 tokens again and the stage 50,
    so 10 on the route pass 5 and 100 on the other route 45; the account (5,000 more) passes
    all 100 of the unlimited stage."""
    gw = Gateway([[2, 1, 0], [1, 0], [0]], [(10_000.0, 5_000.0), (100.0, 50.0), (10.0, 5.0)])
    at0 = [(0.0, 0, NO_ID, NO_ID, 0)] * 100 + [(0.0, 1, NO_ID, NO_ID, 0)] * 100 + [(0.0, 2, NO_ID, NO_ID, 0)] * 6000
    s = np.array(gw.run(at0))
    assert [(s[a:b] == F).sum() for a, b in [(0, 100), (100, 200), (200, 6200)]] == [5, 45, 4950]
    assert set(s.tolist()) == {F, T}
    later = [(0.5, 0, NO_ID, NO_ID, 0)] * 10 + [(0.5, 1, NO_ID, NO_ID, 0)] * 100 + [(0.5, 2, NO_ID, NO_ID, 0)] * 100
    s = np.array(gw.run(later))
    assert [(s[a:b] == F).sum() for a, b in [(0, 10), (10, 110), (110, 210)]] == [5, 45, 100]


def test_a_cached_get_route_by_hand():
    """A GET cached 300 s (two entries) behind a bucket of 1 a second, burst 1, and a POST on
    the same stage that does not cache. Key 0 at 0 misses (forwarded, cached); the POST at 0.5
    is throttled; key 0 hits at 100 and 299 but at 300 exactly has expired (forwarded,
    cached again) and hits at 301. Key 1 at 301.5 is throttled, so it never reaches the cache
    (not inserted): at 303 it misses, at 304 it hits. A POST is always forwarded."""
    gw = Gateway([[0]], [(1.0, 1.0)], caches=[(300.0, 2, 2)])
    reqs = [(0.0, 0, NO_ID, 0, 0), (0.5, 0, NO_ID, NO_ID, 0), (100.0, 0, NO_ID, 0, 0), (299.0, 0, NO_ID, 0, 0),
            (300.0, 0, NO_ID, 0, 0), (301.0, 0, NO_ID, 0, 0), (301.5, 0, NO_ID, 0, 1)]
    assert gw.run(reqs) == [F, T, H, H, F, H, T]
    assert gw.cached.tolist() == [True, False] and gw.ends[0].tolist() == [0, 0, 1]
    assert gw.run([(303.0, 0, NO_ID, 0, 1), (304.0, 0, NO_ID, 0, 1), (305.0, 0, NO_ID, NO_ID, 1)]) == [F, H, F]


def test_hits_use_tokens_and_quota_and_refused_requests_reach_no_cache():
    """A quota of 3 per 10 s and a bucket of 1 a second, burst 10: hits take a token and count
    against the quota like any admitted request (AWS throttles before its cache). Key 0 at 0,
    0.1 and 0.2: a miss, then two hits (the bucket at 10 - 1 + 0.1 - 1 + 0.1 - 1 = 7.2); keys
    1 and 2 at 0.3 and 0.4 are refused for the quota and not inserted. In the next period
    (from 10 s) key 0's entry (TTL ∞) still hits and key 3 misses."""
    gw = Gateway([[0]], [(1.0, 10.0)], quotas=[(3, 10.0)], caches=[(math.inf, 4, 4)])
    reqs = [(0.1 * j, 0, 0, 0, 0) for j in range(3)] + [(0.3, 0, 0, 0, 1), (0.4, 0, 0, 0, 2)]
    assert gw.run(reqs) == [F, H, H, Q, Q]
    assert gw.cached.tolist() == [True, False, False, False] and abs(gw.tokens[0] - 7.2) < 1e-12
    assert gw.run([(10.0, 0, 0, 0, 0), (10.0, 0, 0, 0, 3)]) == [H, F]
    assert gw.qused.tolist() == [2] and gw.qwin.tolist() == [1]


def test_a_cache_holds_at_least_one_entry():
    gw = Gateway([[0]], [(1.0, 1.0)], caches=[(1.0, 0, 1)])
    with pytest.raises(ValueError):
        gw.run([(0.0, 0, NO_ID, NO_ID, 0)])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.5, 1.0, 4.0, 100.0]), st.sampled_from([1.0, 2.0, 3.0, 50.0])),
                min_size=3, max_size=4),
       st.lists(st.lists(st.integers(0, 3), min_size=1, max_size=3, unique=True), min_size=2, max_size=3),
       st.lists(st.tuples(st.integers(0, 4), st.sampled_from([1.0, 2.5, 10.0, 0.75, DAY])), max_size=3),
       st.lists(st.tuples(st.sampled_from([0.0, 0.5, 1.0, 4.0, math.inf]), st.integers(1, 4), st.integers(1, 4)),
                max_size=2),
       st.lists(st.tuples(st.integers(0, 3), st.integers(0, 99), st.integers(-1, 99), st.integers(-1, 99),
                          st.integers(0, 99)), min_size=1, max_size=150),
       st.lists(st.integers(0, 150), max_size=4))
def test_kernel_matches_twin(buckets, chains, quotas, caches, draws, cuts):
    """Random streams on a grid of 0.25 s (ties, and requests exactly at a period's start or an
    entry's expiry) over 2-3 chains of 1-3 of 3-4 buckets, with and without quota keys (0 to 4
    per period of 0.75 s to a day) and 0-2 caches of 1-4 keys, any capacity, TTL 0 to ∞: the
    same statuses, quota counts, bucket levels and entries held (with their insertion times) as
    the twin's, in one call or cut into up to 5."""
    chains = [[b % len(buckets) for b in c] for c in chains]
    chains = [list(dict.fromkeys(c)) for c in chains]
    reqs, t = [], 0.0
    for dt, c, q, g, k in draws:
        t += 0.25 * dt
        q = q % len(quotas) if quotas and q >= 0 else NO_ID
        g = g % len(caches) if caches and g >= 0 else NO_ID
        reqs.append((t, c % len(chains), q, g, k % caches[g][2] if g != NO_ID else 0))
    gw = Gateway(chains, buckets, quotas, caches)
    got = gw.run(reqs, [c % (len(reqs) + 1) for c in cuts])
    ref = GatewayRef(chains, [Bucket(r, b) for r, b in buckets], quotas, [CacheRef(ttl, cap) for ttl, cap, _ in caches])
    assert got == [ref.request(*r) for r in reqs]
    for k in range(len(quotas)):
        w, used = ref.used.get(k, (0, 0))
        assert (gw.qwin[k], gw.qused[k]) == (w, used)
    assert gw.tokens.tolist() == [b.tokens for b in ref.buckets]
    for g, cache in enumerate(ref.caches):
        lo, hi = gw.key_off[g], gw.key_off[g + 1]
        assert np.flatnonzero(gw.cached[lo:hi]).tolist() == sorted(cache.entries)
        assert all(gw.inserted[lo + k] == ins for k, ins in cache.entries.items())
