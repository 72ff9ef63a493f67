"""Max-min fair sharing of links by flows, event by event, with exact completion times.

Model (issue "Links and bandwidth"; DESIGN.md §3). Each flow carries `bits` over a path of
links, starting at its time; a flow may have its own rate cap (a single TCP flow's
window-limited rate, a VPN tunnel's per-flow limit). At every instant the active flows get
the max-min fair allocation (progressive filling): every flow's rate rises together until a
link is full or a flow reaches its cap; those flows freeze, and the others keep rising. The
allocation is recomputed at every arrival and every completion, and between two of those
events every rate is constant, so a flow's completion time follows exactly from its bits and
everything else on its path. This is the average behaviour of TCP sharing a bottleneck
(fluid, no slow start, no losses slowing anyone); a flow limited elsewhere is given a cap.

Packet limits. A NAT gateway also limits packets: sum(rate_i / (8 packet_bytes_i)) <= its
packets/s. That is a link of its own (its capacity in bits of PACKET_UNIT_BYTES-byte packets)
on which a flow weighs PACKET_UNIT_BYTES / its packet_bytes, carrying the same flows as the
gateway's bandwidth; progressive filling still raises every unfrozen rate together, and a
weighted link is full when sum(w_i rate_i) reaches its capacity. Only links with a packet
limit pay for weights (a branch on the link, a product by 1 elsewhere). The classes' key
gains the flows' kind (packet size, round-trip time). Losses: TCP backs off instead of
overflowing the queue, so a flow whose rate the gateway sets (below its own cap) loses packets
at TCP's response function's rate (`_drops`, Mathis et al. 1997); each gateway's losses per
second are recomputed with the rates, constant between recomputations, and carried per
period with the loads (so they too do not depend on the windows).

Classes. Two active flows with the same path and the same cap always get the same rate (the
max-min allocation is unique and treats them alike). So the kernel shares capacity among
classes (path, cap) with a count of active flows each, not among flows. Within a class every
flow is served at the class's rate, like a processor-sharing queue, so a class keeps a virtual
clock `V` (the bits each of its flows has received since the class began; kept lazily, as its
value at the class's last rate change and the time) and a min-heap of finish tags
`V(arrival) + bits`: the next completion in a class is the smallest tag, reached after
`(tag - V) / rate` seconds.

Tight links. A link whose flows are all capped, and whose caps add up to no more than its
capacity, never limits anyone; a class with no other link ("slack") runs at its cap whatever
happens elsewhere. So an arrival or completion that touches only slack links changes no
other rate: it costs O(P + log K) (P links on a path, K active classes), and the slack
classes' next completions sit on a heap. An event that touches a tight link recomputes the
rates of the classes on tight links by progressive filling and scans them for the next
completion: O(K_t·P + L²) for K_t classes on tight links and L links. With a single tight
link (a busy NAT gateway) the recompute is that link's water level, found from the largest
caps down: only the classes above it share the level (and are scanned), every other keeps its
cap and its place on the heap, so an event costs O(classes above the level + log K).
Measured (`make bench`, 2026-12-05): a NAT gateway of 5 Gbit/s carrying a million flows with
caps of their own, 223 k flows/s for the whole run, 311x a per-flow SimPy model; on 10 links at
2,500 flows active (several tight links), about 50 k flows/s when the flows share 175 paths
without caps, 2.7 k flows/s with a cap of its own on every flow (each event recomputes).

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
from kernels.heap import H_COLS, H_SEQ, H_V, heap_pop, heap_push, heap_time

BITS_PER_BYTE = 8
NOT_DONE = np.inf  # the completion time of a flow still active at t_end
# A packet limit is a link of its own whose unit is the bit of a full-size packet: its capacity
# is packets/s x PACKET_UNIT_BYTES x 8, and a flow of mean packet size b weighs
# PACKET_UNIT_BYTES / b on it (a flow of 1,500-byte packets weighs 1, one of 100-byte packets 15).
PACKET_UNIT_BYTES = 1500
DEFAULT_PACKET_BYTES = 1500  # a flow's mean packet size when none is given (the MTU; our assumption)
DEFAULT_RTT_S = 0.020  # a flow's round-trip time when none is given (our assumption)
HEADER_BYTES = 40  # IPv4 + TCP headers: a segment's payload (MSS) is its packet less these
MATHIS_K = 1.5  # TCP's response function: loss rate p = 1.5 (MSS / (RTT x rate))^2 (Mathis et al. 1997)


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
def _wt(c, l, c_w, l_grp, pk):
    """Class c's weight on link l: 1 on a link of bits, c_w[c] on a packet limit (a link whose
    group is another link's). pk: whether there are packet limits at all (else no weights: the
    sharing runs as without them)."""
    if pk and l_grp[l] != l:
        return c_w[c]
    return 1.0


@jit_inline
def _min_share(nl, rem, users, wusers, pk):
    """The smallest fair share of a link still in use (rem / its unfrozen flows' weights), and
    that link (-1: none)."""
    share = np.inf
    bl = -1
    for l in range(nl):
        if users[l] > 0:
            s = rem[l] / wusers[l] if pk else rem[l] / users[l]
            if s < share:
                share = s
                bl = l
    return share, bl


@jit_inline
def _freeze(c, share, by, cnt, c_lo, c_hi, c_links, rate, load, rem, users, wusers, frozen, c_w, l_grp, lim, pk):
    """Class c frozen at `share`, by link `by` (-1: its own cap; kept with packet limits)."""
    frozen[c] = True
    rate[c] = share
    if pk:
        lim[c] = by
    for j in range(c_lo[c], c_hi[c]):
        l = c_links[j]
        w = _wt(c, l, c_w, l_grp, pk)
        rem[l] = max(rem[l] - cnt[c] * share * w, 0.0)
        users[l] -= cnt[c]
        if pk:
            wusers[l] -= cnt[c] * w
        load[l] += cnt[c] * share * w


@jit_inline
def _drops(c, r, cnt, c_mr, c_pb):
    """Packets class c's flows lose per second, each at r bits/s on a congested link: TCP's
    response function (Mathis, Semke, Mahdavi, Ott 1997), p = 1.5 (MSS / (RTT r))^2 per packet
    (r in bytes/s; at most 1), times the packets sent (r / packet bytes); c_mr[c] = MSS / RTT."""
    if not (r > 0.0) or r == np.inf:
        return 0.0
    rb = r / BITS_PER_BYTE
    x = c_mr[c] / rb
    p = MATHIS_K * x * x
    if p > 1.0:
        p = 1.0
    return cnt[c] * p * rb / c_pb[c]


@jit_inline
def _allocate(act, n_act, cnt, c_lo, c_hi, c_links, c_cap, cap_l, rate, load, rem, users, wusers, frozen, lk_off,
              lk_cls, c_w, l_grp, lim, pk):
    """Progressive filling over the active classes act[:n_act] (cnt flows each; in order of
    cap): the per-flow rate of each class, the link that froze it (lim; -1: its cap), and each
    link's load (bits/s). Every unfrozen rate rises together; a link with weights (a packet
    limit) is full when its flows' weighted rates add up to its capacity.

    Freezing a class at a cap below every link's fair share only raises those shares, so the
    capped classes are taken in cap order while their cap is below the smallest share; then
    every unfrozen class through the link with that share freezes at it; and again. Cost:
    O(K·P + (capped classes)·L) for K active classes on paths of P links (lk_off, lk_cls:
    scratch for each link's active classes)."""
    nl = cap_l.shape[0]
    for l in range(nl):
        rem[l] = cap_l[l]
        users[l] = 0
        if pk:
            wusers[l] = 0.0
        load[l] = 0.0
        lk_off[l + 1] = 0
    for a in range(n_act):
        c = act[a]
        frozen[c] = False
        for j in range(c_lo[c], c_hi[c]):
            l = c_links[j]
            users[l] += cnt[c]
            if pk:
                wusers[l] += cnt[c] * _wt(c, l, c_w, l_grp, pk)
            lk_off[l + 1] += 1
    lk_off[0] = 0
    for l in range(nl):
        lk_off[l + 1] += lk_off[l]
    for a in range(n_act):  # each link's active classes (lk_off[l] runs ahead while filling, then back)
        c = act[a]
        for j in range(c_lo[c], c_hi[c]):
            l = c_links[j]
            lk_cls[lk_off[l]] = c
            lk_off[l] += 1
    for l in range(nl - 1, 0, -1):
        lk_off[l] = lk_off[l - 1]
    lk_off[0] = 0
    left = n_act
    next_cap = 0
    while left > 0:
        share, bl = _min_share(nl, rem, users, wusers, pk)
        while next_cap < n_act and c_cap[act[next_cap]] < share:
            c = act[next_cap]
            next_cap += 1
            if not frozen[c]:
                _freeze(c, c_cap[c], -1, cnt, c_lo, c_hi, c_links, rate, load, rem, users, wusers, frozen, c_w, l_grp,
                        lim, pk)
                left -= 1
                share, bl = _min_share(nl, rem, users, wusers, pk)
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
                _freeze(c, share, bl, cnt, c_lo, c_hi, c_links, rate, load, rem, users, wusers, frozen, c_w, l_grp,
                        lim, pk)
                left -= 1


@jit_inline
def _carry(t0, t1, load, period_s, link_bits, link_peak, drop, link_drops, pk):
    """Add the links' loads over [t0, t1) to link_bits[period, link], split at period boundaries,
    keep each period's highest load in link_peak[period, link] (bits/s), and add the packets
    lost per second (drop) to link_drops[period, link]."""
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
                if load[l] > link_peak[p, l]:
                    link_peak[p, l] = load[l]
            if pk and drop[l] > 0.0:
                link_drops[p, l] += drop[l] * dt
        t = seg_end


@jit_inline
def _tight_on(c, c_lo, c_hi, c_links, cap_l, dem, unc):
    """Whether a link of class c can bind: some flow on it is uncapped, or its caps add up to
    more than its capacity."""
    for j in range(c_lo[c], c_hi[c]):
        l = c_links[j]
        if unc[l] > 0 or dem[l] > cap_l[l]:
            return True
    return False


@jit_inline
def _clock(c, t, vb, tb, rate):
    """Class c's virtual clock at t (bits served per flow since it began)."""
    return vb[c] + rate[c] * (t - tb[c])


@jit_inline
def _on_link(c, l, c_lo, c_hi, c_links):
    for j in range(c_lo[c], c_hi[c]):
        if c_links[j] == l:
            return True
    return False


@jit_inline
def _retarget(c, target, t, cnt, vb, tb, rate, c_lo, c_hi, c_links, load, c_w, l_grp, pk):
    """Class c's rate becomes `target` at t: its clock is rebased, its links' load follows."""
    if target != rate[c]:
        vb[c] = vb[c] + rate[c] * (t - tb[c])
        tb[c] = t
        for j in range(c_lo[c], c_hi[c]):
            l = c_links[j]
            load[l] += cnt[c] * (target - rate[c]) * _wt(c, l, c_w, l_grp, pk)
        rate[c] = target


@jit_inline
def _schedule(c, t, cnt, vb, tb, rate, hk, h_off, hh, heap_n, seq, cseq):
    """(Re)schedule class c's next completion on the completion heap; returns (heap_n, seq)."""
    if cnt[c] == 0 or rate[c] <= 0.0:
        cseq[c] = -1
        return heap_n, seq
    dt = (hk[h_off[c]] - _clock(c, t, vb, tb, rate)) / rate[c]
    if dt < 0.0:
        dt = 0.0
    cseq[c] = seq
    heap_n = heap_push(hh, heap_n, t + dt, seq, c)
    return heap_n, seq + 1


# The sharing's scalars between windows (`gi`, int64; `gf`, float64).
GI_HEAP_N, GI_SEQ, GI_STAMP, GI_N_ACT, GI_N_SUB, GI_EVENTS, GI_P_REC, GI_FREE_N, GI_OUT_N, GI_N_REL, GI_CAP_CLS = range(11)
N_GI = 11
GF_T = 0  # the time of the last event
N_GF = 1
HEAP_SLACK = 64  # the completion heap holds 4 entries per class and this many more


@jit
def share_window(cls, dyn, fh, links, ports, slots, out, gi, gf, inp, t1, final, period_s, force=-1.0):
    """Run the sharing's events before t1 (final: up to and including t1, then what is still
    active is written out), resuming from the state its arrays keep between calls.

    cls = (c_lo, c_hi, c_links, c_cap, c_pid, h_off, c_w, c_mr, c_pb): class c's links are
      c_links[c_lo[c]:c_hi[c]], its per-flow cap c_cap[c] (inf: none), its path's number c_pid[c]
      (classes are ranked by (cap, path), never by their own number, which the caller may reuse
      for another class once it is empty; classes of equal rank in the order they became
      active), its flows' heap hk/hf[h_off[c]:h_off[c+1]]; its flows' weight on a packet limit
      c_w[c] (PACKET_UNIT_BYTES / packet bytes), MSS / RTT c_mr[c] (bytes/s) and packet bytes
      c_pb[c] (for their losses).
    dyn = (cnt, vb, tb, rate, new_rate, cseq, mark, frozen, act, sub, new_sub, hh, purge_t,
      purge_i, lim): per class its active flows, lazy virtual clock (value vb at time tb), rate,
      the counter of its live completion entry, scratch; the active classes `act` in order of
      (cap, path); the completion heap hh of classes at their cap; scratch (the link that froze
      a class).
    fh = (hk, hf): each class's min-heap of its flows' finish tags and slots.
    links = (cap_l, dem, unc, load, cap_eff, scratch_load, rem, users, wusers, lk_off, lk_cls,
      link_bits, link_peak, l_pk, l_grp, drop, link_drops): capacities (bits/s; a packet
      limit's in bits of PACKET_UNIT_BYTES packets); the caps added up (weighted) and the
      uncapped flows on each link; the load (weighted); scratch; link_bits[period, link] the
      bits carried, link_peak[period, link] the highest load (bits/s) in the period; per link
      its packet limit (l_pk, -1: none) and the link whose limit it is (l_grp: itself for a
      link of bits); per link with a packet limit (a NAT gateway) the packets its flows lose
      per second (drop) and per period (link_drops).
    ports = (plimit, pnat, pcnt, nat_act, nat_amax): per destination key its limit, gateway and
      ports open; per gateway the ports open, and the most at once per period.
    slots = (s_start, s_tag, s_key, s_hold, free): an active flow's start, tag, port key and
      how long its connection stays open idle after its bits (its port held that long: a
      release entry on hh, value -1 - key, before arrivals at its time); the free slots, a
      stack (the next at free[free_n - 1]).
    out = (o_tag, o_start, o_done, o_left): a finished flow's tag, start, completion time
      (NOT_DONE: still active at a final t1) and bits left (all of them: it got no port).
    inp = (start, bits, fcls, pkey, tag, hold, ok): the flows that start in this window (start
      ascending, all before t1, or at t1 when final), their class, port key (-1: none), tag and
      idle hold (s); ok[i] is written (False: no port, ErrorPortAllocation).

    The caller makes room before each call: per class heap room for its active flows and its
    new ones, free slots for the new flows, `out` room for the active and the new flows.
    `force` >= 0: the link capacities `cap_l` were just changed at that time (a failure, a
    repair, a failover, a NAT gateway scaling up; every event before it done): the loads are
    carried to it and every rate is recomputed there, first. Otherwise nothing happens at a
    window's edge (no clock advances, no rate changes), so the outcome is
    the same, bit for bit, whatever the windows. Returns the number of events so far.

    Packet limits. A link with a packet limit (a NAT gateway: l_pk) has a second link, the
    limit, that carries the same flows, each weighing c_w; a path with either has both. A
    class's rate is one across its path; progressive filling raises the unfrozen rates
    together, and a link with weights is full when sum(w x rate) reaches its capacity. Losses:
    a class whose rate is set by a link with a packet limit or by the limit itself (frozen
    there below its own cap; not at its cap, a tie included, nor set by another link) loses
    `_drops` packets per second; their sum per gateway (drop) is recomputed with the rates and
    carried with the loads.

    Only links that can bind are shared: a link whose flows are all capped and whose caps add
    up to no more than its capacity never limits anyone, so a flow with no such "tight" link on
    its path runs at its cap. An event on such a flow's path changes no other rate (O(P + log K));
    an event touching a tight link recomputes the rates of the classes on tight links
    (progressive filling, O(K·P)). Each class keeps a lazy virtual clock (its value at its last
    rate change, and the time), and its next completion sits on a heap of classes.
    """
    c_lo, c_hi, c_links, c_cap, c_pid, h_off, c_w, c_mr, c_pb = cls
    cnt, vb, tb, rate, new_rate, cseq, mark, frozen, act, sub, new_sub, hh, purge_t, purge_i, lim = dyn
    hk, hf = fh
    (cap_l, dem, unc, load, cap_eff, scratch_load, rem, users, wusers, lk_off, lk_cls, link_bits, link_peak, l_pk,
     l_grp, drop, link_drops) = links
    plimit, pnat, pcnt, nat_act, nat_amax = ports
    s_start, s_tag, s_key, s_hold, free = slots
    o_tag, o_start, o_done, o_left = out
    start, bits, fcls, pkey, tag, hold, ok = inp
    nf = start.shape[0]
    nl = cap_l.shape[0]
    pk = False  # any packet limit (else no weights, no losses: as without them)
    for l in range(nl):
        if l_pk[l] >= 0:
            pk = True
    cap_h = hh.shape[0]
    n_nat = nat_amax.shape[1]
    n_pp = nat_amax.shape[0]
    heap_n = gi[GI_HEAP_N]
    seq = gi[GI_SEQ]
    stamp = gi[GI_STAMP]
    n_act = gi[GI_N_ACT]
    n_sub = gi[GI_N_SUB]
    events = gi[GI_EVENTS]
    p_rec = gi[GI_P_REC]  # the last period whose start is recorded in nat_amax
    free_n = gi[GI_FREE_N]
    o_n = gi[GI_OUT_N]
    n_rel = gi[GI_N_REL]  # ports held idle after their flow, to be released (entries of hh)
    cap_cls = gi[GI_CAP_CLS]  # the heap's room for the classes' entries (the rest: releases)
    t = gf[GF_T]
    i = 0
    while True:
        if force >= 0.0:  # the capacities changed at `force`: every rate again, now
            _carry(t, force, load, period_s, link_bits, link_peak, drop, link_drops, pk)
            t = force
            force = -1.0
            c = -1
        else:
            # the next completion: the first live entry of the heap (classes at their cap), or the
            # first of the classes on tight links (their rates change at most events: scanned)
            while heap_n > 0 and hh[0, H_V] >= 0 and cseq[hh[0, H_V]] != hh[0, H_SEQ]:
                heap_pop(hh, heap_n)
                heap_n -= 1
            tc = heap_time(hh, 0) if heap_n > 0 else np.inf
            cs = -1
            for q in range(n_sub):
                c2 = sub[q]
                if cnt[c2] > 0 and rate[c2] > 0.0:
                    dt = (hk[h_off[c2]] - _clock(c2, t, vb, tb, rate)) / rate[c2]
                    if t + max(dt, 0.0) < tc:
                        tc = t + max(dt, 0.0)
                        cs = c2
            if tc < t:
                tc = t
            ta = start[i] if i < nf else np.inf
            tn = tc if tc <= ta else ta
            if n_nat > 0:  # periods that began before tn: the ports open at their start
                while p_rec + 1 < n_pp and (p_rec + 1) * period_s < min(tn, t1):
                    p_rec += 1
                    for g in range(n_nat):
                        nat_amax[p_rec, g] = max(nat_amax[p_rec, g], nat_act[g])
            if tn == np.inf or tn > t1 or (tn == t1 and not final):
                break
            _carry(t, tn, load, period_s, link_bits, link_peak, drop, link_drops, pk)
            t = tn
            events += 1
            if heap_n - n_rel + n_act + 2 > cap_cls:
                # purge the stale entries (an event pushes at most one per active class, plus one):
                # the live ones, one per class at most, go back with their own times and counters
                m = 0
                for q in range(heap_n):
                    if hh[q, H_V] < 0 or cseq[hh[q, H_V]] == hh[q, H_SEQ]:
                        purge_t[m] = heap_time(hh, q)
                        purge_i[m, 0] = hh[q, H_SEQ]
                        purge_i[m, 1] = hh[q, H_V]
                        m += 1
                heap_n = 0
                for q in range(m):
                    heap_n = heap_push(hh, heap_n, purge_t[q], purge_i[q, 0], purge_i[q, 1])
            if tc <= ta:
                if cs < 0 and hh[0, H_V] < 0:  # a port held idle is released
                    k = -1 - hh[0, H_V]
                    heap_pop(hh, heap_n)
                    heap_n -= 1
                    n_rel -= 1
                    pcnt[k] -= 1
                    nat_act[pnat[k]] -= 1
                    continue
                if cs >= 0:
                    c = cs
                else:
                    c = hh[0, H_V]
                    heap_pop(hh, heap_n)
                    heap_n -= 1
                cseq[c] = -1
                off = h_off[c]
                v = _clock(c, t, vb, tb, rate)
                if v < hk[off]:
                    v = hk[off]  # (its first flow is done: its tag is reached)
                vb[c] = v
                tb[c] = t
                was_tight = _tight_on(c, c_lo, c_hi, c_links, cap_l, dem, unc)
                n0 = cnt[c]
                while cnt[c] > 0 and hk[off] <= vb[c]:
                    f = hf[off]
                    _heap_pop(hk, hf, off, cnt[c])
                    cnt[c] -= 1
                    o_tag[o_n] = s_tag[f]
                    o_start[o_n] = s_start[f]
                    o_done[o_n] = t
                    o_left[o_n] = 0.0
                    o_n += 1
                    if s_key[f] >= 0 and s_hold[f] > 0.0:  # its port stays taken while the connection idles
                        heap_n = heap_push(hh, heap_n, t + s_hold[f], seq, -1 - s_key[f])
                        seq += 1
                        n_rel += 1
                    elif s_key[f] >= 0:  # its port is free
                        pcnt[s_key[f]] -= 1
                        nat_act[pnat[s_key[f]]] -= 1
                    free[free_n] = f
                    free_n += 1
                for j in range(c_lo[c], c_hi[c]):
                    l = c_links[j]
                    w = _wt(c, l, c_w, l_grp, pk)
                    load[l] -= (n0 - cnt[c]) * rate[c] * w
                    if c_cap[c] < np.inf:
                        dem[l] -= (n0 - cnt[c]) * c_cap[c] * w
                    else:
                        unc[l] -= n0 - cnt[c]
                if cnt[c] == 0:  # out of the active list (kept in order); its clock restarts
                    vb[c] = 0.0
                    rate[c] = 0.0
                    k = 0
                    while act[k] != c:
                        k += 1
                    n_act -= 1
                    for m in range(k, n_act):
                        act[m] = act[m + 1]
                if not was_tight and not _tight_on(c, c_lo, c_hi, c_links, cap_l, dem, unc):
                    heap_n, seq = _schedule(c, t, cnt, vb, tb, rate, hk, h_off, hh, heap_n, seq, cseq)
                    continue
            else:
                k = pkey[i]
                b = bits[i]
                if k >= 0:
                    if pcnt[k] >= plimit[k]:  # no port: it fails at once
                        ok[i] = False
                        o_tag[o_n] = tag[i]
                        o_start[o_n] = t
                        o_done[o_n] = t
                        o_left[o_n] = b
                        o_n += 1
                        i += 1
                        continue
                    ok[i] = True
                    if b > 0.0:
                        pcnt[k] += 1
                        g = pnat[k]
                        nat_act[g] += 1
                        p = min(int(t // period_s), n_pp - 1) if period_s < np.inf else 0
                        nat_amax[p, g] = max(nat_amax[p, g], nat_act[g])
                else:
                    ok[i] = True
                if b <= 0.0:
                    o_tag[o_n] = tag[i]
                    o_start[o_n] = t
                    o_done[o_n] = t
                    o_left[o_n] = 0.0
                    o_n += 1
                    i += 1
                    continue
                free_n -= 1
                f = free[free_n]
                s_start[f] = t
                s_tag[f] = tag[i]
                s_key[f] = k
                s_hold[f] = hold[i]
                c = fcls[i]
                i += 1
                if cnt[c] == 0:  # into the active list, in order of (cap, path)
                    k = n_act
                    while k > 0 and (c_cap[act[k - 1]] > c_cap[c] or (c_cap[act[k - 1]] == c_cap[c] and c_pid[act[k - 1]] > c_pid[c])):
                        act[k] = act[k - 1]
                        k -= 1
                    act[k] = c
                    n_act += 1
                    vb[c] = 0.0
                    tb[c] = t
                was_tight = _tight_on(c, c_lo, c_hi, c_links, cap_l, dem, unc)
                _heap_push(hk, hf, h_off[c], cnt[c], _clock(c, t, vb, tb, rate) + b, f)
                cnt[c] += 1
                for j in range(c_lo[c], c_hi[c]):
                    l = c_links[j]
                    w = _wt(c, l, c_w, l_grp, pk)
                    load[l] += rate[c] * w
                    if c_cap[c] < np.inf:
                        dem[l] += c_cap[c] * w
                    else:
                        unc[l] += 1
                if not was_tight and not _tight_on(c, c_lo, c_hi, c_links, cap_l, dem, unc):
                    moved = rate[c] != c_cap[c] or cseq[c] < 0 or hf[h_off[c]] == f  # new, or f is its first
                    _retarget(c, c_cap[c], t, cnt, vb, tb, rate, c_lo, c_hi, c_links, load, c_w, l_grp, pk)
                    if moved:
                        heap_n, seq = _schedule(c, t, cnt, vb, tb, rate, hk, h_off, hh, heap_n, seq, cseq)
                    continue
        # an event on a tight link: the rates of the classes on tight links again, every other at its cap
        n_tight = 0
        lt = -1  # the group of the tight links (a link and its packet limit), if one
        one = True
        for l in range(nl):  # (a slack link binds no one: as if without limit)
            cap_eff[l] = np.inf
            if pk:
                drop[l] = 0.0
            if unc[l] > 0 or dem[l] > cap_l[l]:
                n_tight += 1
                cap_eff[l] = cap_l[l]
                if lt < 0:
                    lt = l_grp[l]
                elif l_grp[l] != lt:
                    one = False
        if n_tight > 0 and one:
            # one tight link (with its packet limit lp, if it has one, carrying the same flows):
            # the water level, from the largest caps down: the lower of the levels that fill the
            # link and its limit; the classes above it share the level (scanned), every other
            # class runs at its cap (on the heap)
            lp = l_pk[lt]
            stamp += 1
            above = 0.0  # the caps of the capped classes above the level, added up
            n_lvl = unc[lt]  # the flows at the level
            above_p = 0.0  # on the packet limit: the same, weighted
            n_lvl_p = 0.0
            n_new = 0
            for a in range(n_act - 1, -1, -1):
                c2 = act[a]
                if not _on_link(c2, lt, c_lo, c_hi, c_links):
                    continue
                if c_cap[c2] < np.inf:
                    if n_lvl > 0:
                        lvl = (cap_l[lt] - (dem[lt] - above)) / n_lvl
                        if lp >= 0:
                            lvl = min(lvl, (cap_l[lp] - (dem[lp] - above_p)) / n_lvl_p)
                        if c_cap[c2] < lvl:
                            break
                    above += c_cap[c2] * cnt[c2]
                    n_lvl += cnt[c2]
                    if lp >= 0:
                        above_p += c_cap[c2] * cnt[c2] * c_w[c2]
                        n_lvl_p += cnt[c2] * c_w[c2]
                elif lp >= 0:  # (uncapped classes come first: all counted before any capped one)
                    n_lvl_p += cnt[c2] * c_w[c2]
                new_sub[n_new] = c2
                n_new += 1
                mark[c2] = stamp
            level = (cap_l[lt] - (dem[lt] - above)) / n_lvl
            if lp >= 0:
                level = min(level, (cap_l[lp] - (dem[lp] - above_p)) / n_lvl_p)
            level = max(level, 0.0)
            for q in range(n_sub):  # out of the level group: back to its cap
                c2 = sub[q]
                if cnt[c2] > 0 and mark[c2] != stamp:
                    _retarget(c2, c_cap[c2], t, cnt, vb, tb, rate, c_lo, c_hi, c_links, load, c_w, l_grp, pk)
                    heap_n, seq = _schedule(c2, t, cnt, vb, tb, rate, hk, h_off, hh, heap_n, seq, cseq)
            lost = 0.0
            for q in range(n_new):
                c2 = new_sub[q]
                _retarget(c2, level, t, cnt, vb, tb, rate, c_lo, c_hi, c_links, load, c_w, l_grp, pk)
                cseq[c2] = -1  # (scanned, not on the heap)
                sub[q] = c2
                if lp >= 0 and level < c_cap[c2]:  # (at its cap: its own limit, not the gateway's)
                    lost += _drops(c2, level, cnt, c_mr, c_pb)
            if lp >= 0:
                drop[lt] = lost
            n_sub = n_new
            if c >= 0 and cnt[c] > 0 and mark[c] != stamp:  # the event's class, at its cap: its next completion
                _retarget(c, c_cap[c], t, cnt, vb, tb, rate, c_lo, c_hi, c_links, load, c_w, l_grp, pk)
                heap_n, seq = _schedule(c, t, cnt, vb, tb, rate, hk, h_off, hh, heap_n, seq, cseq)
            continue
        n_sub = 0
        for a in range(n_act):
            c2 = act[a]
            if _tight_on(c2, c_lo, c_hi, c_links, cap_l, dem, unc):
                sub[n_sub] = c2
                n_sub += 1
        _allocate(sub, n_sub, cnt, c_lo, c_hi, c_links, c_cap, cap_eff, new_rate, scratch_load, rem, users, wusers,
                  frozen, lk_off, lk_cls, c_w, l_grp, lim, pk)
        for l in range(nl):
            load[l] = 0.0
        k = 0
        for a in range(n_act):
            c2 = act[a]
            target = c_cap[c2]
            tight = k < n_sub and sub[k] == c2
            if tight:
                target = new_rate[c2]
                k += 1
            changed = target != rate[c2]
            if changed:
                vb[c2] = _clock(c2, t, vb, tb, rate)
                tb[c2] = t
                rate[c2] = target
            if tight:
                cseq[c2] = -1  # (scanned, not on the heap)
                # set by a link with a packet limit, or by the limit (below its own cap)
                if pk and lim[c2] >= 0 and l_pk[l_grp[lim[c2]]] >= 0 and target < c_cap[c2]:
                    drop[l_grp[lim[c2]]] += _drops(c2, target, cnt, c_mr, c_pb)
            elif changed or cseq[c2] < 0 or c2 == c:
                heap_n, seq = _schedule(c2, t, cnt, vb, tb, rate, hk, h_off, hh, heap_n, seq, cseq)
            for j in range(c_lo[c2], c_hi[c2]):
                l = c_links[j]
                load[l] += cnt[c2] * rate[c2] * _wt(c2, l, c_w, l_grp, pk)
    if final:
        # what is still active at t1: its remaining bits, and the links' load up to t1
        if t1 < np.inf and t1 > t:
            _carry(t, t1, load, period_s, link_bits, link_peak, drop, link_drops, pk)
            t = t1
        for a in range(n_act):
            c = act[a]
            v = _clock(c, t, vb, tb, rate)
            for j in range(h_off[c], h_off[c] + cnt[c]):
                f = hf[j]
                o_tag[o_n] = s_tag[f]
                o_start[o_n] = s_start[f]
                o_done[o_n] = NOT_DONE
                o_left[o_n] = max(hk[j] - v, 0.0)
                o_n += 1
        if n_nat > 0:
            while p_rec + 1 < n_pp and (p_rec + 1) * period_s <= t1:
                p_rec += 1
                for g in range(n_nat):
                    nat_amax[p_rec, g] = max(nat_amax[p_rec, g], nat_act[g])
    gi[GI_HEAP_N] = heap_n
    gi[GI_SEQ] = seq
    gi[GI_STAMP] = stamp
    gi[GI_N_ACT] = n_act
    gi[GI_N_SUB] = n_sub
    gi[GI_EVENTS] = events
    gi[GI_P_REC] = p_rec
    gi[GI_FREE_N] = free_n
    gi[GI_OUT_N] = o_n
    gi[GI_N_REL] = n_rel
    gf[GF_T] = t
    return events
