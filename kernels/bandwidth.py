"""Max-min fair sharing of links by flows, event by event, with exact completion times.

Model (issue "Links and bandwidth"; DESIGN.md §3). Each flow carries `bits` over a path of
links, starting at its time; a flow may have its own rate cap (a single TCP flow's
window-limited rate, a VPN tunnel's per-flow limit). At every instant the active flows get
the max-min fair allocation (progressive filling): every flow's rate rises together until a
link is full or a flow reaches its cap; those flows freeze, and the others keep rising. The
allocation is recomputed at every arrival and every completion, and between two of those
events every rate is constant, so a flow's completion time follows exactly from its bits and
everything else on its path. This is the average behaviour of TCP sharing a bottleneck
(fluid, no slow start, no losses); a flow limited elsewhere is given a cap.

Classes. Two active flows with the same path and the same cap always get the same rate (the
max-min allocation is unique and treats them alike). So the kernel shares capacity among
classes (path, cap) with a count of active flows each, not among flows. Within a class every
flow is served at the class's rate, like a processor-sharing queue, so a class keeps a virtual
clock `V` (the bits each of its flows has received since the class began) and a min-heap of
finish tags `V(arrival) + bits`: the next completion in a class is the smallest tag, reached
after `(tag - V) / rate` seconds. A flow event costs O(K·P + L² + Kc·L + log n): K classes
active, paths of P links, L links, Kc classes frozen at their cap, n flows in the event's
class. So the cost grows with the number of distinct (path, cap) classes active at once, and
only logarithmically with the number of flows; when every flow has its own cap, K is the
number of active flows (measured on 10 links at 2,500 flows active: 65 k flows/s with shared
paths, 4 k flows/s with a cap on every flow).

Order at equal times: completions before arrivals; a flow of zero bits completes at its
start. Per link, the bits carried per period (`period_s`) are counted from the link's load
(the sum of its classes' rates × counts) over each interval between events, split at period
boundaries; offered bits = carried + in flight (the unfinished flows' remaining bits at
`t_end`).

Twin: `kernels/ref/bandwidth.py` (per flow, the allocation recomputed from scratch at every
event).
"""

import numpy as np

from kernels import jit, jit_inline

BITS_PER_BYTE = 8
NOT_DONE = np.inf  # the completion time of a flow still active at t_end


@jit_inline
def _tag_before(ka, fa, kb, fb):
    return ka < kb or (ka == kb and fa < fb)


@jit_inline
def _heap_push(hk, hf, off, n, key, f):
    """Push (key, flow f) on the binary heap at hk[off:off+n] (ties: the lower flow first)."""
    i = n
    while i > 0:
        p = (i - 1) >> 1
        if _tag_before(key, f, hk[off + p], hf[off + p]):
            hk[off + i] = hk[off + p]
            hf[off + i] = hf[off + p]
            i = p
        else:
            break
    hk[off + i] = key
    hf[off + i] = f


@jit_inline
def _heap_pop(hk, hf, off, n):
    """Remove the first entry of the heap at hk[off:off+n] (n >= 1)."""
    n -= 1
    key = hk[off + n]
    f = hf[off + n]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and _tag_before(hk[off + c + 1], hf[off + c + 1], hk[off + c], hf[off + c]):
            c += 1
        if _tag_before(hk[off + c], hf[off + c], key, f):
            hk[off + i] = hk[off + c]
            hf[off + i] = hf[off + c]
            i = c
        else:
            break
    if n > 0:
        hk[off + i] = key
        hf[off + i] = f


@jit_inline
def _min_share(nl, rem, users):
    """The smallest fair share of a link still in use (rem / users), and that link (-1: none)."""
    share = np.inf
    bl = -1
    for l in range(nl):
        if users[l] > 0:
            s = rem[l] / users[l]
            if s < share:
                share = s
                bl = l
    return share, bl


@jit_inline
def _freeze(c, share, cnt, c_off, c_links, rate, load, rem, users, frozen):
    frozen[c] = True
    rate[c] = share
    for j in range(c_off[c], c_off[c + 1]):
        l = c_links[j]
        rem[l] = max(rem[l] - cnt[c] * share, 0.0)
        users[l] -= cnt[c]
        load[l] += cnt[c] * share


@jit_inline
def _allocate(act, n_act, cnt, c_off, c_links, c_cap, cap_l, rate, load, rem, users, frozen, lk_off, lk_cls):
    """Progressive filling over the active classes act[:n_act] (cnt flows each; ascending class
    numbers, which rank the classes by cap): the per-flow rate of each class, and each link's
    load (bits/s).

    Freezing a class at a cap below every link's fair share only raises those shares, so the
    capped classes are taken in cap order while their cap is below the smallest share; then
    every unfrozen class through the link with that share freezes at it; and again. Cost:
    O(K·P + (capped classes)·L) for K active classes on paths of P links (lk_off, lk_cls:
    scratch for each link's active classes)."""
    nl = cap_l.shape[0]
    for l in range(nl):
        rem[l] = cap_l[l]
        users[l] = 0
        load[l] = 0.0
        lk_off[l + 1] = 0
    for a in range(n_act):
        c = act[a]
        frozen[c] = False
        for j in range(c_off[c], c_off[c + 1]):
            users[c_links[j]] += cnt[c]
            lk_off[c_links[j] + 1] += 1
    lk_off[0] = 0
    for l in range(nl):
        lk_off[l + 1] += lk_off[l]
    for a in range(n_act):  # each link's active classes (lk_off[l] runs ahead while filling, then back)
        c = act[a]
        for j in range(c_off[c], c_off[c + 1]):
            l = c_links[j]
            lk_cls[lk_off[l]] = c
            lk_off[l] += 1
    for l in range(nl - 1, 0, -1):
        lk_off[l] = lk_off[l - 1]
    lk_off[0] = 0
    left = n_act
    next_cap = 0
    while left > 0:
        share, bl = _min_share(nl, rem, users)
        while next_cap < n_act and c_cap[act[next_cap]] < share:
            c = act[next_cap]
            next_cap += 1
            if not frozen[c]:
                _freeze(c, c_cap[c], cnt, c_off, c_links, rate, load, rem, users, frozen)
                left -= 1
                share, bl = _min_share(nl, rem, users)
        if left == 0:
            break
        if bl < 0:  # no link and no cap left (not allowed: share_links rejects it)
            for a in range(n_act):
                if not frozen[act[a]]:
                    rate[act[a]] = np.inf
            break
        for q in range(lk_off[bl], lk_off[bl + 1]):
            c = lk_cls[q]
            if not frozen[c]:
                _freeze(c, share, cnt, c_off, c_links, rate, load, rem, users, frozen)
                left -= 1


@jit_inline
def _carry(t0, t1, load, period_s, link_bits):
    """Add the links' loads over [t0, t1) to link_bits[period, link], split at period boundaries."""
    if t1 <= t0:
        return
    last = link_bits.shape[0] - 1
    t = t0
    while t < t1:
        p = min(int(t // period_s), last) if period_s < np.inf else 0
        end = (p + 1) * period_s if p < last else np.inf
        seg_end = min(end, t1)
        dt = seg_end - t
        for l in range(load.shape[0]):
            if load[l] > 0.0:
                link_bits[p, l] += load[l] * dt
        t = seg_end


@jit
def share(start, bits, fcls, c_off, c_links, c_cap, cap_l, h_off, t_end, period_s, done_t, left_bits, link_bits):
    """Run the flows (start[f] ascending, bits[f], class fcls[f]) to t_end.

    Classes: links c_links[c_off[c]:c_off[c+1]], per-flow cap c_cap[c] (inf: none), numbered
    in ascending order of cap; capacities cap_l (bits/s); class c's heap holds at most
    h_off[c+1] - h_off[c] flows. Writes done_t[f] (NOT_DONE if still
    active at t_end), left_bits[f] (0 once done) and link_bits[period, link]; returns the
    number of events.
    """
    nf = start.shape[0]
    nk = c_cap.shape[0]
    nl = cap_l.shape[0]
    cnt = np.zeros(nk, np.int64)
    vt = np.zeros(nk, np.float64)  # each class's virtual clock: bits served per flow
    rate = np.zeros(nk, np.float64)
    act = np.zeros(nk, np.int64)
    frozen = np.zeros(nk, np.bool_)
    hk = np.zeros(max(nf, 1), np.float64)
    hf = np.zeros(max(nf, 1), np.int64)
    load = np.zeros(nl, np.float64)
    rem = np.zeros(nl, np.float64)
    users = np.zeros(nl, np.int64)
    lk_off = np.zeros(nl + 1, np.int64)
    lk_cls = np.zeros(max(c_links.shape[0], 1), np.int64)
    n_act = 0
    i = 0
    t = start[0] if nf > 0 else 0.0
    events = 0
    while True:
        # the next completion: the class whose smallest tag is reached first
        tc = np.inf
        cb = -1
        for a in range(n_act):
            c = act[a]
            dt = (hk[h_off[c]] - vt[c]) / rate[c]
            if dt < 0.0:
                dt = 0.0
            if t + dt < tc:
                tc = t + dt
                cb = c
        ta = start[i] if i < nf else np.inf
        tn = tc if tc <= ta else ta
        if tn == np.inf or tn > t_end:
            break
        _carry(t, tn, load, period_s, link_bits)
        for a in range(n_act):
            c = act[a]
            vt[c] += rate[c] * (tn - t)
        t = tn
        events += 1
        if tc <= ta:
            # the first flow of class cb is done (its tag reached), and any with the same tag
            off = h_off[cb]
            key = hk[off]
            if vt[cb] < key:
                vt[cb] = key
            while cnt[cb] > 0 and hk[off] <= vt[cb]:
                f = hf[off]
                _heap_pop(hk, hf, off, cnt[cb])
                cnt[cb] -= 1
                done_t[f] = t
                left_bits[f] = 0.0
            if cnt[cb] == 0:  # out of the active list (kept in class order)
                k = 0
                while act[k] != cb:
                    k += 1
                n_act -= 1
                for m in range(k, n_act):
                    act[m] = act[m + 1]
        else:
            f = i
            i += 1
            if bits[f] <= 0.0:
                done_t[f] = t
                left_bits[f] = 0.0
                continue
            c = fcls[f]
            _heap_push(hk, hf, h_off[c], cnt[c], vt[c] + bits[f], f)
            cnt[c] += 1
            if cnt[c] == 1:  # into the active list, in class order
                k = n_act
                while k > 0 and act[k - 1] > c:
                    act[k] = act[k - 1]
                    k -= 1
                act[k] = c
                n_act += 1
        _allocate(act, n_act, cnt, c_off, c_links, c_cap, cap_l, rate, load, rem, users, frozen, lk_off, lk_cls)
    # what is still active at t_end: its remaining bits, and the links' load up to t_end
    if t_end < np.inf and t_end > t:
        _carry(t, t_end, load, period_s, link_bits)
        for a in range(n_act):
            c = act[a]
            vt[c] += rate[c] * (t_end - t)
    for a in range(n_act):
        c = act[a]
        for j in range(h_off[c], h_off[c] + cnt[c]):
            f = hf[j]
            done_t[f] = NOT_DONE
            left_bits[f] = max(hk[j] - vt[c], 0.0)
    for f in range(i, nf):  # not yet started
        done_t[f] = NOT_DONE
        left_bits[f] = bits[f]
    return events
