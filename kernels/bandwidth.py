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
classes (path, cap) with a count of active flows each, not among flows: progressive filling
over the K active classes costs O(K·(L + P)) per event (L links, P the longest path), however
many flows are active. Within a class every flow is served at the class's rate, like a
processor-sharing queue, so a class keeps a virtual clock `V` (the bits each of its flows has
received since the class began) and a min-heap of finish tags `V(arrival) + bits`: the next
completion in a class is the smallest tag, reached after `(tag - V) / rate` seconds. A flow
event therefore costs O(K·(L + P) + log n) with n the flows in its class: the cost grows
with the number of distinct (path, cap) classes active at once, and only logarithmically with
the number of flows. (When every flow has its own cap or path, K is the number of active
flows and the cost per event is O(n·(L + P)), as a per-flow progressive filling.)

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
def _allocate(act, n_act, cnt, c_off, c_links, c_cap, l_off, l_cls, cap_l, rate, load, rem, users, frozen):
    """Progressive filling over the active classes act[:n_act] (cnt flows each): the per-flow
    rate of each class, and each link's load (bits/s)."""
    nl = cap_l.shape[0]
    for l in range(nl):
        rem[l] = cap_l[l]
        users[l] = 0
        load[l] = 0.0
    for a in range(n_act):
        c = act[a]
        frozen[c] = False
        for j in range(c_off[c], c_off[c + 1]):
            users[c_links[j]] += cnt[c]
    capped = False
    for a in range(n_act):
        if c_cap[act[a]] < np.inf:
            capped = True
            break
    left = n_act
    while left > 0:
        share = np.inf
        bl = -1
        for l in range(nl):
            if users[l] > 0:
                s = rem[l] / users[l]
                if s < share:
                    share = s
                    bl = l
        bc = -1
        if capped:
            for a in range(n_act):
                c = act[a]
                if not frozen[c] and c_cap[c] < share:
                    share = c_cap[c]
                    bc = c
        if bl < 0 and bc < 0:  # no link and no cap left (not allowed: share_links rejects it)
            for a in range(n_act):
                if not frozen[act[a]]:
                    rate[act[a]] = np.inf
            break
        if bc >= 0:  # a cap binds first: that class alone
            lo = 0
            hi = 1
        else:  # the fullest link: every unfrozen class through it
            lo = l_off[bl]
            hi = l_off[bl + 1]
        for q in range(lo, hi):
            c = bc if bc >= 0 else l_cls[q]
            if frozen[c] or cnt[c] == 0:
                continue
            frozen[c] = True
            left -= 1
            rate[c] = share
            for j in range(c_off[c], c_off[c + 1]):
                l = c_links[j]
                rem[l] = max(rem[l] - cnt[c] * share, 0.0)
                users[l] -= cnt[c]
                load[l] += cnt[c] * share


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
def share(start, bits, fcls, c_off, c_links, c_cap, l_off, l_cls, cap_l, h_off, t_end, period_s, done_t, left_bits,
          link_bits):
    """Run the flows (start[f] ascending, bits[f], class fcls[f]) to t_end.

    Classes: links c_links[c_off[c]:c_off[c+1]], per-flow cap c_cap[c] (inf: none); per link l
    the classes through it l_cls[l_off[l]:l_off[l+1]]; capacities cap_l (bits/s); class c's
    heap holds at most h_off[c+1] - h_off[c] flows. Writes done_t[f] (NOT_DONE if still
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
    pos = np.full(nk, -1, np.int64)
    frozen = np.zeros(nk, np.bool_)
    hk = np.zeros(max(nf, 1), np.float64)
    hf = np.zeros(max(nf, 1), np.int64)
    load = np.zeros(nl, np.float64)
    rem = np.zeros(nl, np.float64)
    users = np.zeros(nl, np.int64)
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
            if cnt[cb] == 0:
                k = pos[cb]
                n_act -= 1
                act[k] = act[n_act]
                pos[act[k]] = k
                pos[cb] = -1
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
            if pos[c] < 0:
                pos[c] = n_act
                act[n_act] = c
                n_act += 1
        _allocate(act, n_act, cnt, c_off, c_links, c_cap, l_off, l_cls, cap_l, rate, load, rem, users, frozen)
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
