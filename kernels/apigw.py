"""API Gateway's front door: a stream of requests through quotas, throttles and caches, in one pass.

Our reading of API Gateway's developer guide ("Throttle requests to your REST APIs",
"Usage plans and API keys"; FACTS "API Gateway": usage plans with a rate, a burst and a
quota per day, week or month per API key; the account's, stage's and method's or route's
limits; a REST stage's cache). Requests are taken in time order (t ascending, t >= 0), and
each passes, in this order:

1. The quota of its API key's usage plan (REST): `qkey[i]` (-1: no key, or a plan without a
   quota; a key in two plans is two quota keys). Quota key k allows `qlimit[k]` requests per
   period of `qperiod_s[k]` seconds (DAY, WEEK, MONTH). Periods are counted from t = 0: t lies
   in period floor(t / qperiod_s[k]) computed in floating point (our simplification of
   calendar days, weeks and months, and of the time zone AWS counts them in; a month is 30
   days), and the count starts again at each new period. A request whose key has used its
   quota in the current period is refused, QUOTA (AWS: 429 "Limit Exceeded"); it takes no
   token and does not count.
2. A chain of token buckets (`kernels.throttle.admit`): request i passes chain number
   `chain[i]`, buckets `chain_b[chain_off[c]:chain_off[c + 1]]` (the usage plan's per-key
   bucket, the method's or route's, the stage's, the account's). Refused, THROTTLED (429): it
   takes no token and does not count against the quota. Admitted: every bucket of its chain
   gives a token and its key's quota count goes up by one (our reading: only the requests
   that pass the throttles use the quota).
3. A response cache (REST; `kernels.cache.lookup`: TTL, LRU eviction, expired entries dropped
   lazily): `cache_id[i]` (-1: the method does not cache, e.g. a POST) and `ckey[i]` its cache
   key, a global index into the per-key cache arrays that all caches share (`prev`, `nxt`,
   `inserted`, `cached`; the caller gives each cache its own range of keys); cache c has its
   row `ends[c]` (`kernels.cache`'s `ends`), `ttl[c]` and `capacity[c]` (at least 1). A hit is
   answered by the cache, CACHE_HIT; a miss is FORWARD, and its response is cached at the
   request's time (`kernels.cache`'s simplification). Only admitted requests reach the cache.
4. Otherwise FORWARD: the request goes to the integration.

All state lives in the arrays handed in (the buckets' `tokens` and `last`, the quota counts
`qused` with the period each counts `qwin`, the caches'), so a stream cut into several calls
gets the statuses of one call. Twin: `kernels/ref/apigw.py`.
"""

import numpy as np

from kernels import jit
from kernels.cache import cache_state, lookup
from kernels.throttle import admit, full_buckets

FORWARD, THROTTLED, QUOTA, CACHE_HIT = range(4)  # a request's status (`status_out`)
NO_ID = -1  # `qkey`, `cache_id`: no quota, no cache
DAY, WEEK, MONTH = 86_400.0, 604_800.0, 2_592_000.0  # quota periods in seconds; a month is 30 days


@jit
def gateway_many(t, chain, qkey, cache_id, ckey, chain_off, chain_b, rate, burst, tokens, last,
                 qlimit, qperiod_s, qused, qwin, ttl, capacity, prev, nxt, inserted, cached, ends, status_out):
    """Requests at times t (ascending, >= 0): status_out[i] the status of request i (FORWARD,
    THROTTLED, QUOTA, CACHE_HIT), checked in the module's order; the state (buckets, quota
    counts, caches: `gateway_state`) carries over to the next call. Returns the number
    forwarded to the integration."""
    for c in range(capacity.shape[0]):
        if capacity[c] < 1:
            raise ValueError("a cache holds at least one entry")
    n = 0
    for i in range(t.shape[0]):
        k = qkey[i]
        if k != NO_ID:
            w = np.int64(np.floor(t[i] / qperiod_s[k]))
            if w != qwin[k]:
                qwin[k] = w
                qused[k] = 0
            if qused[k] >= qlimit[k]:
                status_out[i] = QUOTA
                continue
        c = chain[i]
        if not admit(t[i], chain_b, chain_off[c], chain_off[c + 1], rate, burst, tokens, last):
            status_out[i] = THROTTLED
            continue
        if k != NO_ID:
            qused[k] += 1
        g = cache_id[i]
        if g != NO_ID and lookup(t[i], ckey[i], ttl[g], capacity[g], prev, nxt, inserted, cached, ends[g]):
            status_out[i] = CACHE_HIT
            continue
        status_out[i] = FORWARD
        n += 1
    return n


def gateway_state(rate, burst, n_quota_keys, n_cache_keys, n_caches):
    """The state at time 0: buckets full, quotas unused, caches empty: (tokens, last, qused,
    qwin, prev, nxt, inserted, cached, ends), in `gateway_many`'s order (tokens, last after
    burst; qused, qwin after qperiod_s; prev .. ends after capacity)."""
    tokens, last = full_buckets(rate, burst)
    prev, nxt, inserted, cached, row = cache_state(n_cache_keys)
    ends = np.tile(row, (n_caches, 1))
    return (tokens, last, np.zeros(n_quota_keys, np.int64), np.zeros(n_quota_keys, np.int64),
            prev, nxt, inserted, cached, ends)
