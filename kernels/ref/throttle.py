"""Plain-Python twin of `kernels.throttle`: each bucket as a small object, requests one by one."""


class Bucket:
    def __init__(self, rate: float, burst: float):
        self.rate, self.burst, self.tokens, self.last = float(rate), float(burst), float(burst), 0.0

    def level(self, t: float) -> float:
        """Its tokens at t, brought up to date (the same arithmetic as the kernel's)."""
        tok = self.tokens + self.rate * (t - self.last)
        self.tokens = self.burst if tok > self.burst else tok
        self.last = t
        return self.tokens


def admit_ref(times, chains, buckets):
    """Per request (times ascending; chains[i] the list of bucket indices it passes), whether
    it was admitted: every bucket of its chain holds a whole token, and then each gives one."""
    out = []
    for t, chain in zip(times, chains):
        levels = [buckets[b].level(t) for b in chain]
        ok = all(x >= 1.0 for x in levels)
        if ok:
            for b in chain:
                buckets[b].tokens -= 1.0
        out.append(ok)
    return out
