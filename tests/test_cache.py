"""API Gateway's response cache (kernels/cache.py: a TTL that hits do not renew, a capacity in
entries, LRU eviction, expired entries dropped lazily): small cases worked by hand, and the kernel
against its twin on random streams (exact, in one call or several)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kernels.cache import COUNT, LRU, MRU, NO_KEY, cache_many, cache_state
from kernels.ref.cache import CacheRef, cache_ref


def run(times, keys, ttl, capacity, n_keys, cuts=()):
    """The kernel over the stream, cut before the requests numbered in `cuts` (the state
    carries over): (hits, number of hits, state)."""
    t, k = np.asarray(times, np.float64), np.asarray(keys, np.int64)
    state = cache_state(n_keys)
    hit = np.zeros(len(t), np.bool_)
    edges = [0, *sorted(set(cuts)), len(t)]
    n = 0
    for a, b in zip(edges[:-1], edges[1:]):
        part = np.zeros(b - a, np.bool_)
        n += cache_many(t[a:b], k[a:b], ttl, capacity, *state, part)
        hit[a:b] = part
    return hit.tolist(), n, state


def recency(state):
    """The keys held, most recently used first, walking the list (and back, checking the links)."""
    prev, nxt, _, cached, ends = state
    order, k = [], ends[MRU]
    while k != NO_KEY:
        order.append(int(k))
        k = nxt[k]
    back, k = [], ends[LRU]
    while k != NO_KEY:
        back.append(int(k))
        k = prev[k]
    assert back == order[::-1] and len(order) == ends[COUNT] == cached.sum()
    return order


def both(times, keys, ttl, capacity, n_keys):
    """Hits by the kernel, checked equal to the twin's, and the keys held, most recent first."""
    hits, n, state = run(times, keys, ttl, capacity, n_keys)
    want, ref = cache_ref(times, keys, ttl, capacity)
    assert hits == want and n == sum(want)
    assert recency(state) == list(reversed(ref.entries))
    return hits, recency(state)


F, T = False, True


def test_an_entry_expires_at_its_ttl_and_hits_do_not_renew_it():
    """TTL 10 s: cached at 0, hits at 5 and 9.999 (not renewed), the request at 10 exactly
    misses and caches again, so 19.5 hits and 20 misses."""
    hits, _ = both([0.0, 5.0, 9.999, 10.0, 19.5, 20.0], [0] * 6, 10.0, 4, 1)
    assert hits == [F, T, T, F, T, F]


def test_lru_evicts_the_least_recently_used():
    """Two entries, no TTL: 0, 1, then 0 again (0 now most recent); 2 evicts 1; 1 evicts 0;
    2 hits; 0 evicts 1. Held at the end: 0, then 2."""
    hits, held = both([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [0, 1, 0, 2, 1, 2, 0], math.inf, 2, 3)
    assert hits == [F, F, T, F, F, T, F] and held == [0, 2]


def test_a_hit_refreshes_recency_not_the_ttl():
    """Two entries, TTL 10 s: 0 at 0, 1 at 1, 0 hits at 2 (most recent), so 2 at 3 evicts 1,
    not 0, and 0 hits again at 4; yet 0 expires at 10 (its insertion + TTL), is refreshed in
    place (evicting nothing), 1 at 11 evicts 2, 2 at 12 evicts 0, and 1 hits at 12.5."""
    times = [0.0, 1.0, 2.0, 3.0, 4.0, 10.0, 11.0, 12.0, 12.5]
    hits, held = both(times, [0, 1, 0, 2, 0, 0, 1, 2, 1], 10.0, 2, 3)
    assert hits == [F, F, T, F, T, F, F, F, T] and held == [1, 2]


def test_an_expired_entry_keeps_its_slot_until_evicted_or_refreshed():
    """Two entries, TTL 1 s: 0 at 0 and 1 at 0.5 have both expired by 5, yet 2 at 5 evicts
    only the least recent (0); 1 at 5.5 misses and is refreshed in place, so 2 still hits."""
    hits, held = both([0.0, 0.5, 5.0, 5.5, 5.6], [0, 1, 2, 1, 2], 1.0, 2, 3)
    assert hits == [F, F, F, F, T] and held == [2, 1]


def test_one_entry():
    """Capacity 1: no TTL, 0 0 1 0 0 hit on the repeats only; TTL 2 s, the entry expires too."""
    hits, _ = both([0.0, 1.0, 2.0, 3.0, 4.0], [0, 0, 1, 0, 0], math.inf, 1, 2)
    assert hits == [F, T, F, F, T]
    hits, held = both([0.0, 1.0, 2.0, 2.5, 3.0, 4.9, 5.0], [0, 0, 0, 1, 0, 0, 0], 2.0, 1, 2)
    assert hits == [F, T, F, F, F, T, F] and held == [0]


def test_a_cache_holds_at_least_one_entry():
    with pytest.raises(ValueError):
        run([0.0], [0], 1.0, 0, 1)
    with pytest.raises(ValueError):
        CacheRef(1.0, 0)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 6).flatmap(lambda n: st.tuples(
           st.just(n), st.lists(st.tuples(st.integers(0, 3), st.integers(0, n - 1)), min_size=1, max_size=120),
           st.integers(1, n + 2))),
       st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.75, 4.0, math.inf]),
       st.lists(st.integers(0, 120), max_size=4))
def test_kernel_matches_twin(stream, ttl, cuts):
    """Random streams on a grid of 0.25 s (ties and requests exactly at expiry included), any
    capacity (beyond the keys too), TTL 0 to ∞: the same hits, keys held, recency order and
    insertion times as the twin's, in one call or cut anywhere into several. And the keys held
    are those of the same cache without TTL (lazy expiry: the TTL only turns hits into misses)."""
    n_keys, reqs, capacity = stream
    times = np.cumsum([r[0] for r in reqs]) * 0.25
    keys = [r[1] for r in reqs]
    cuts = [c for c in cuts if c <= len(keys)]
    hits, n, state = run(times, keys, ttl, capacity, n_keys, cuts)
    want, ref = cache_ref(times, keys, ttl, capacity)
    assert hits == want and n == sum(want)
    held = recency(state)
    assert held == list(reversed(ref.entries))
    assert [state[2][k] for k in held] == [ref.entries[k] for k in held]
    lru_hits, _, lru_state = run(times, keys, math.inf, capacity, n_keys)
    assert recency(lru_state) == held
    assert all(lh or not h for h, lh in zip(hits, lru_hits))
