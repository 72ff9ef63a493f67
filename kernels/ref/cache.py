"""Plain-Python twin of `kernels.cache`: the cache as an OrderedDict from key to insertion
time, least recently used first."""

from collections import OrderedDict


class CacheRef:
    def __init__(self, ttl: float, capacity: int):
        if capacity < 1:
            raise ValueError("a cache holds at least one entry")
        self.ttl, self.capacity, self.entries = float(ttl), capacity, OrderedDict()

    def request(self, t: float, k: int) -> bool:
        """Whether a request for k at t hits: an entry inserted before t - ttl has expired,
        yet keeps its slot until evicted or refreshed; every request makes k the most
        recently used."""
        if k in self.entries:
            self.entries.move_to_end(k)
            if t < self.entries[k] + self.ttl:
                return True
            self.entries[k] = t  # expired: refreshed in place
            return False
        if len(self.entries) >= self.capacity:
            self.entries.popitem(last=False)
        self.entries[k] = t
        return False


def cache_ref(times, keys, ttl, capacity):
    """Per request (times ascending), whether it hit, and the cache at the end."""
    cache = CacheRef(ttl, capacity)
    return [cache.request(float(t), int(k)) for t, k in zip(times, keys)], cache
