"""Plain-Python twin of `kernels.bandwidth`: max-min fair sharing per flow, recomputed from
scratch at every arrival and completion, written for obviousness (no classes, no virtual
clocks: each active flow's remaining bits go down by its rate between events)."""

import math

from kernels.bandwidth import NOT_DONE


def max_min_rates(paths, caps, capacity):
    """The max-min fair rate of each flow (progressive filling).

    `paths[f]` the links of flow f, `caps[f]` its own cap (inf: none), `capacity[l]` bits/s.
    Every unfrozen flow's rate rises together; when a link is full, its unfrozen flows freeze
    at its fair share; when a flow reaches its cap first, it freezes there.
    """
    n = len(paths)
    rate = [0.0] * n
    frozen = [False] * n
    rem = dict(capacity)
    users = {link: 0 for link in capacity}
    on_link = {link: [] for link in capacity}
    for f in range(n):
        for link in paths[f]:
            users[link] += 1
            on_link[link].append(f)
    by_cap = sorted((caps[f], f) for f in range(n) if caps[f] < math.inf)
    next_cap = 0
    left = n
    while left:
        share, bottleneck = math.inf, None
        for link in capacity:
            if users[link] > 0 and rem[link] / users[link] < share:
                share, bottleneck = rem[link] / users[link], link
        while next_cap < len(by_cap) and frozen[by_cap[next_cap][1]]:
            next_cap += 1
        if next_cap < len(by_cap) and by_cap[next_cap][0] < share:
            share = by_cap[next_cap][0]
            freeze = [by_cap[next_cap][1]]
        elif bottleneck is None:
            raise ValueError("a flow with no link and no cap has no rate")
        else:
            freeze = [f for f in on_link[bottleneck] if not frozen[f]]
        for f in freeze:
            rate[f] = share
            frozen[f] = True
            left -= 1
            for link in paths[f]:
                r = rem[link] - share
                rem[link] = r if r > 0.0 else 0.0
                users[link] -= 1
    return rate


def share_ref(start, bits, paths, caps, capacity, t_end=math.inf, changes=()):
    """Completion time of each flow (NOT_DONE if still active at t_end), its bits left, and
    the bits carried per link (dict), for flows starting at start[f] with bits[f] over
    paths[f] with caps[f]; completions before arrivals at equal times. `changes`: (time, link,
    new capacity) in time order, each applied before anything else at its time."""
    capacity = dict(capacity)
    changes = list(changes)
    n = len(start)
    order = sorted(range(n), key=lambda f: (start[f], f))
    done = [NOT_DONE] * n
    left = [float(b) for b in bits]
    carried = {link: 0.0 for link in capacity}
    active = []  # the active flows, and their rates in the same order
    rates = []
    t = start[order[0]] if n else 0.0
    nxt = 0
    while True:
        t_done = min((t + left[f] / r for f, r in zip(active, rates) if r > 0), default=math.inf)
        t_arr = start[order[nxt]] if nxt < n else math.inf
        t_chg = changes[0][0] if changes else math.inf
        t_next = min(t_done, t_arr, t_chg)
        if t_next == math.inf or t_next > t_end:
            break
        _advance(active, rates, left, paths, carried, t_next - t)
        t = t_next
        if t_chg <= t_done and t_chg <= t_arr:
            _, link, cap = changes.pop(0)
            capacity[link] = cap
        elif t_done <= t_arr:
            # every flow whose remaining bits run out now (ties within rounding)
            finished = {f for f, r in zip(active, rates) if r > 0 and left[f] <= r * 1e-12 * max(1.0, t)}
            if not finished:
                finished = {min(((f, r) for f, r in zip(active, rates) if r > 0),
                                key=lambda fr: left[fr[0]] / fr[1])[0]}
            for f in finished:
                done[f] = t
                left[f] = 0.0
            active = [f for f in active if f not in finished]
        else:
            f = order[nxt]
            nxt += 1
            if bits[f] <= 0:
                done[f] = t
                left[f] = 0.0
                continue
            active.append(f)
        rates = max_min_rates([paths[f] for f in active], [caps[f] for f in active], capacity)
    if t_end < math.inf:
        _advance(active, rates, left, paths, carried, max(t_end - t, 0.0))
    for f in active:
        left[f] = max(left[f], 0.0)
    return done, left, carried


def _advance(active, rates, left, paths, carried, dt):
    """dt seconds at the current rates: each flow's bits left go down, each link carries them."""
    for f, r in zip(active, rates):
        served = r * dt
        left[f] -= served
        for link in paths[f]:
            carried[link] += served
