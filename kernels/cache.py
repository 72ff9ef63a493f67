"""API Gateway's response cache: a TTL cache of a given number of entries, LRU eviction.

A REST API stage can cache its integration's responses (FACTS "API Gateway", source
api-gateway-caching: a cache of 0.5 to 237 GB, a TTL of 300 s by default and 3,600 s at
most, responses up to 1 MB). Here the cache holds up to
`capacity` entries, one per cache key (an int in [0, n_keys)), and requests are taken in time
order:

- A request for key k at t hits if k's entry is in the cache and t < inserted[k] + ttl: an
  entry inserted at t0 serves the requests before t0 + ttl, and the one at t0 + ttl exactly
  misses. Hits do not renew the TTL (API Gateway's TTL runs from when the response was
  cached), but a hit makes the entry the most recently used.
- A miss (no entry, or an expired one) caches the response at the request's own time t (our
  simplification: API Gateway caches it when the integration answers, a latency later) and
  makes it the most recently used. A key that has no entry yet, arriving to a full cache,
  first evicts the least recently used entry.
- Expired entries are dropped lazily (our choice; Memcached does the same): an expired entry
  keeps its slot and its place in the recency order until it is evicted as the least
  recently used or refreshed by a request for its key (a miss that re-inserts it in place,
  evicting nothing). So every request, hit or miss, moves its key to the front, exactly as
  in a cache without TTL: the set of keys held, and their order, are those of a pure LRU
  cache of the same capacity fed the same keys; the TTL only turns some of its hits into
  misses (the analysis in `sim/analysis/cache_theory.py` rests on this).

`capacity >= n_keys` is a pure TTL cache (nothing is ever evicted), `ttl = inf` a pure LRU
cache. The state lives in arrays indexed by key, so a stream cut into several calls gives
the hits of one call: an intrusive doubly linked recency list (`prev`, `nxt`: the next more
recently and the next less recently used keys, NO_KEY at the ends), each key's insertion time
and whether it holds an entry, and `ends` (the most and least recently used keys, the number
of entries). O(1) a request. Twin: `kernels/ref/cache.py`.
"""

import numpy as np

from kernels import jit, jit_inline

NO_KEY = -1  # the end of the recency list; an empty cache's ends
MRU, LRU, COUNT = 0, 1, 2  # `ends`: the most recently used key, the least recently used, the entries held


@jit_inline
def _unlink(k, prev, nxt, ends):
    """Take key k out of the recency list."""
    p, n = prev[k], nxt[k]
    if p == NO_KEY:
        ends[MRU] = n
    else:
        nxt[p] = n
    if n == NO_KEY:
        ends[LRU] = p
    else:
        prev[n] = p


@jit_inline
def _push_front(k, prev, nxt, ends):
    """Put key k (not in the list) at its front, the most recently used."""
    first = ends[MRU]
    prev[k] = NO_KEY
    nxt[k] = first
    if first == NO_KEY:
        ends[LRU] = k
    else:
        prev[first] = k
    ends[MRU] = k


@jit_inline
def lookup(t, k, ttl, capacity, prev, nxt, inserted, cached, ends):
    """Whether a request for key k at t hits (capacity >= 1); the cache brought up to date."""
    if cached[k]:
        hit = t < inserted[k] + ttl
        if ends[MRU] != k:
            _unlink(k, prev, nxt, ends)
            _push_front(k, prev, nxt, ends)
        if not hit:  # expired: refreshed in place
            inserted[k] = t
        return hit
    if ends[COUNT] >= capacity:
        old = ends[LRU]
        _unlink(old, prev, nxt, ends)
        cached[old] = False
    else:
        ends[COUNT] += 1
    _push_front(k, prev, nxt, ends)
    cached[k] = True
    inserted[k] = t
    return False


@jit
def cache_many(t, keys, ttl, capacity, prev, nxt, inserted, cached, ends, hit_out):
    """Requests at times t (ascending) for keys (int64 in [0, n_keys), unchecked): hit_out[i]
    whether request i hit a cache of `capacity` entries (at least 1) whose entries live `ttl`
    seconds (inf: forever); the state (`cache_state`) carries over to the next call. Returns
    the number of hits."""
    if capacity < 1:
        raise ValueError("a cache holds at least one entry")
    n = 0
    for i in range(t.shape[0]):
        h = lookup(t[i], keys[i], ttl, capacity, prev, nxt, inserted, cached, ends)
        hit_out[i] = h
        if h:
            n += 1
    return n


def cache_state(n_keys):
    """An empty cache over keys 0..n_keys-1: (prev, nxt, inserted, cached, ends), the arguments
    of `cache_many` after `capacity`."""
    ends = np.array([NO_KEY, NO_KEY, 0], np.int64)
    return (np.full(n_keys, NO_KEY, np.int64), np.full(n_keys, NO_KEY, np.int64), np.zeros(n_keys, np.float64),
            np.zeros(n_keys, np.bool_), ends)
