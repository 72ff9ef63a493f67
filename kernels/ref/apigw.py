"""Plain-Python twin of `kernels.apigw`: the throttle twin's buckets, the cache twin's caches
and a dict of quota counts, requests one by one."""

import math

from kernels.apigw import CACHE_HIT, FORWARD, NO_ID, QUOTA, THROTTLED
from kernels.ref.throttle import admit_ref


class GatewayRef:
    def __init__(self, chains, buckets, quotas, caches):
        """chains[c]: chain c's bucket indices; buckets: `Bucket`s; quotas[k]: quota key k's
        (limit, period in seconds); caches[g]: `CacheRef`s."""
        self.chains, self.buckets, self.quotas, self.caches = chains, buckets, quotas, caches
        self.used = {}  # quota key -> (its period, the requests counted in it)

    def request(self, t, chain, qkey, cache_id, ckey):
        """Request at t's status: its quota, then its chain's buckets, then its cache."""
        if qkey != NO_ID:
            limit, period = self.quotas[qkey]
            window = math.floor(t / period)  # the kernel's arithmetic
            w, used = self.used.get(qkey, (window, 0))
            if w != window:
                used = 0
            self.used[qkey] = (window, used)
            if used >= limit:
                return QUOTA
        if not admit_ref([t], [self.chains[chain]], self.buckets)[0]:
            return THROTTLED
        if qkey != NO_ID:
            self.used[qkey] = (window, used + 1)
        if cache_id != NO_ID and self.caches[cache_id].request(t, ckey):
            return CACHE_HIT
        return FORWARD
