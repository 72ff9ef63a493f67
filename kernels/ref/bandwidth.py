"""Plain-Python twin of `kernels.bandwidth`: max-min fair sharing per flow, recomputed from
scratch at every arrival and completion, written for obviousness (no classes, no virtual
clocks: each active flow's remaining bits go down by its rate between events).

Packet limits are links with weights (a flow weighs `weights[f][link]` on a link, 1 where
not given): a link is full when its flows' weighted rates add up to its capacity. Losses
(`share_ref_packets`): a flow frozen by a gateway's link (its bandwidth or its packet limit)
below its own cap loses MATHIS_K (MSS / (RTT r))^2 of its packets (at most all), r its rate in
bytes/s, between events, added up per gateway and period."""

import math

from kernels.bandwidth import BITS_PER_BYTE, MATHIS_K, NOT_DONE


def max_min_fill(paths, caps, capacity, weights=None):
    """The max-min fair rate of each flow (progressive filling), and what froze it: a link's
    name, or None for its own cap.

    `paths[f]` the links of flow f, `caps[f]` its own cap (inf: none), `capacity[l]` bits/s,
    `weights[f]` a dict link -> flow f's weight on it (1 where not given; None: all 1).
    Every unfrozen flow's rate rises together; when a link is full (its frozen flows' weighted
    rates plus the level times its unfrozen flows' weights reach its capacity), its unfrozen
    flows freeze at that level; when a flow reaches its cap first, it freezes there.
    """
    n = len(paths)
    rate = [0.0] * n
    frozen = [False] * n
    limiter = [None] * n
    rem = dict(capacity)
    users = {link: 0 for link in capacity}  # unfrozen flows on the link
    wsum = {link: 0.0 for link in capacity} if weights is not None else users  # and their weights added up
    on_link = {link: [] for link in capacity}
    for f in range(n):
        for link in paths[f]:
            users[link] += 1
            if weights is not None:
                wsum[link] += weights[f].get(link, 1.0)
            on_link[link].append(f)
    by_cap = sorted((caps[f], f) for f in range(n) if caps[f] < math.inf)
    next_cap = 0
    left = n
    while left:
        share, bottleneck = math.inf, None
        for link in capacity:
            if users[link] > 0 and rem[link] / wsum[link] < share:
                share, bottleneck = rem[link] / wsum[link], link
        while next_cap < len(by_cap) and frozen[by_cap[next_cap][1]]:
            next_cap += 1
        if next_cap < len(by_cap) and by_cap[next_cap][0] < share:
            share = by_cap[next_cap][0]
            freeze = [by_cap[next_cap][1]]
            by = None
        elif bottleneck is None:
            raise ValueError("a flow with no link and no cap has no rate")
        else:
            freeze = [f for f in on_link[bottleneck] if not frozen[f]]
            by = bottleneck
        for f in freeze:
            rate[f] = share
            frozen[f] = True
            limiter[f] = by
            left -= 1
            for link in paths[f]:
                wl = 1.0 if weights is None else weights[f].get(link, 1.0)
                r = rem[link] - share * wl
                rem[link] = r if r > 0.0 else 0.0
                users[link] -= 1
                if weights is not None:
                    wsum[link] -= wl
    return rate, limiter


def max_min_rates(paths, caps, capacity, weights=None):
    """The max-min fair rate of each flow (`max_min_fill` without what froze it)."""
    return max_min_fill(paths, caps, capacity, weights)[0]


def mathis_drops_per_s(rate_bps, mss_over_rtt, packet_bytes):
    """Packets a TCP flow at rate_bps (bits/s) on a congested link loses per second:
    p = MATHIS_K (MSS / (RTT r))^2 per packet (r in bytes/s; at most 1) times r / packet_bytes."""
    if not rate_bps > 0 or rate_bps == math.inf:
        return 0.0
    r = rate_bps / BITS_PER_BYTE
    p = min(MATHIS_K * (mss_over_rtt / r) ** 2, 1.0)
    return p * r / packet_bytes


def share_ref(start, bits, paths, caps, capacity, t_end=math.inf, changes=(), weights=None):
    """Completion time of each flow (NOT_DONE if still active at t_end), its bits left, and
    the bits carried per link (dict), for flows starting at start[f] with bits[f] over
    paths[f] with caps[f]; completions before arrivals at equal times. `changes`: (time, link,
    new capacity) in time order, each applied before anything else at its time. `weights`:
    per flow a dict link -> weight (`max_min_fill`); the bits carried on a link are weighted."""
    done, left, carried, _ = share_ref_packets(start, bits, paths, caps, capacity, t_end=t_end, changes=changes,
                                               weights=weights)
    return done, left, carried


def share_ref_packets(start, bits, paths, caps, capacity, *, t_end=math.inf, changes=(), weights=None, gateways=None,
                      mss_over_rtt=None, packet_bytes=None, period_s=math.inf, n_periods=1):
    """`share_ref`, and the packets lost per gateway and period: `gateways` maps a link to
    its gateway's name (a gateway's bandwidth link and its packet limit to the same name);
    a flow frozen by one of them below its own cap loses `mathis_drops_per_s` (with mss_over_rtt[f] and
    packet_bytes[f]) while its rate holds. Periods of period_s, the last one open-ended.
    Returns (done, left, carried, drops: name -> list per period)."""
    capacity = dict(capacity)
    changes = list(changes)
    gateways = gateways or {}
    n = len(start)
    order = sorted(range(n), key=lambda f: (start[f], f))
    done = [NOT_DONE] * n
    left = [float(b) for b in bits]
    carried = {link: 0.0 for link in capacity}
    drops = {g: [0.0] * n_periods for g in set(gateways.values())}
    active = []  # the active flows, and their rates and limiters in the same order
    rates = []
    limiters = []
    t = start[order[0]] if n else 0.0
    nxt = 0

    def advance(dt):
        """dt seconds at the current rates: each flow's bits left go down, each link carries
        them (weighted), each gateway counts its flows' losses per period."""
        for f, r in zip(active, rates):
            served = r * dt
            left[f] -= served
            for link in paths[f]:
                carried[link] += served if weights is None else served * weights[f].get(link, 1.0)
        for f, r, by in zip(active, rates, limiters) if gateways else ():
            if by in gateways and r < caps[f] and dt > 0:  # (at its cap, a tie included: not the gateway's)
                per_s = mathis_drops_per_s(r, mss_over_rtt[f], packet_bytes[f])
                for p, seg in _periods(t, t + dt, period_s, n_periods):
                    drops[gateways[by]][p] += per_s * seg

    def recompute():
        return max_min_fill([paths[f] for f in active], [caps[f] for f in active], capacity,
                            None if weights is None else [weights[f] for f in active])

    while True:
        t_done = min((t + left[f] / r for f, r in zip(active, rates) if r > 0), default=math.inf)
        t_arr = start[order[nxt]] if nxt < n else math.inf
        t_chg = changes[0][0] if changes else math.inf
        t_next = min(t_done, t_arr, t_chg)
        if t_next == math.inf or t_next > t_end:
            break
        advance(t_next - t)
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
        rates, limiters = recompute()
    if t_end < math.inf:
        advance(max(t_end - t, 0.0))
    for f in active:
        left[f] = max(left[f], 0.0)
    return done, left, carried, drops


def _periods(t0, t1, period_s, n_periods):
    """(period, seconds) of [t0, t1) split at period boundaries, the last period open-ended."""
    last = n_periods - 1
    t = t0
    while t < t1:
        p = min(int(t // period_s), last) if period_s < math.inf else 0
        end = (p + 1) * period_s if p < last else math.inf
        seg_end = min(end, t1)
        yield p, seg_end - t
        t = seg_end
