"""Plain-Python twin of `kernels.nat`: each connection checked against the connections to its
destination open at its start, counted from scratch."""


def allocate_ports_ref(start, end, key, limit, period_s, n_periods):
    """(ok per connection, most connections open at once per period); see kernels/nat.py."""
    n = len(start)
    order = sorted(range(n), key=lambda f: (start[f], f))
    ok = [False] * n
    established = []
    for f in order:
        t = start[f]
        open_to_key = sum(1 for g in established if key[g] == key[f] and start[g] <= t < end[g])
        ok[f] = open_to_key < limit
        if ok[f]:
            established.append(f)

    def open_at(t):
        return sum(1 for g in established if start[g] <= t < end[g])

    active_max = []
    for p in range(n_periods):
        lo, hi = p * period_s, (p + 1) * period_s
        times = [lo] + [start[f] for f in established if (lo <= start[f] < hi or (p == n_periods - 1 and start[f] >= lo))]
        active_max.append(max(open_at(t) for t in times))
    return ok, active_max
