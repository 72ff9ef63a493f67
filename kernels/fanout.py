"""Fan-out of an SNS topic or an EventBridge bus, per (message, target), in windows.

Semantics: `kernels/FANOUT_SPEC.md`; plain-Python twin: `kernels/ref/fanout.py`.
`run_fanout` processes everything with time < `t_stop` and returns early (status > 0) when
a buffer needs the caller: more random draws, a larger event table, more room for rows.
`FanoutState` owns the arrays and drives the kernel window by window (`run`), and turns the
raw counters into AWS's metrics (`sns_metrics`, `eventbridge_metrics`).
"""

from __future__ import annotations

import numpy as np

from kernels import jit, jit_inline, jit_loop
from kernels.billing import chunks_64kb
from kernels.ref.fanout import GLOBAL_COUNTERS, P_EMAIL, P_HTTPS, TARGET_COUNTERS, FanoutParams
from kernels.heap import heap_pop, heap_push

# Status codes returned by run_fanout.
DONE = 0
NEED_DRAWS = 1
EVENTS_FULL = 2
ROWS_FULL = 3

# Random streams (first index of `draws`), one sequence per target.
S_U = 0
S_LAT = 1
N_STREAMS = 2

# Target parameters: int64 columns of `tpi`, float64 columns of `tpf`.
T_DLQ = 0
T_POL_OFF = 1
T_POL_N = 2
T_OUT_OFF = 3
T_OUT_N = 4
N_TPI = 5
TF_FAIL = 0
TF_MAX_AGE = 1
N_TPF = 2

# Topic / bus parameters: int64 `pi`, float64 `pf`.
PI_FIFO = 0
PI_NPER = 1
N_PI = 2
PF_PUT_RATE = 0
PF_PUT_BURST = 1
PF_INV_RATE = 2
PF_INV_BURST = 3
PF_PERIOD_S = 4
N_PF = 5

# Global state: int64 `g`, float64 `gf`.
G_HEAP_N = 0
G_FREE_N = 1
G_ROWS_N = 2
G_SCHED = 3
G_ATTEMPT_SEQ = 4
N_G = 5
GF_PUT_TOK = 0
GF_PUT_LAST = 1
GF_INV_TOK = 2
GF_INV_LAST = 3
N_GF = 4

# Event table: int64 `ei` columns, float64 `ef` columns.
E_KIND = 0
E_TGT = 1
E_ID = 2
E_SIZE = 3
E_KEY = 4
E_GROUP = 5
E_ATTEMPT = 6
E_SEG = 7
E_USED = 8
E_SEQ = 9
N_EI = 10
E_FIRST_T = 0
N_EF = 1
K_RETRY = 0   # an attempt that still needs an invocation token
K_READY = 1   # an attempt whose token is reserved (delayed by the invocation quota)
K_DELIVER = 2  # a successful delivery at or after the window it was attempted in

# Counters: `gcnt[p, col]`, `rcnt[p, rule]` (matched events), `tcnt[p, target, col]`.
C_PUT, C_PUT_THROTTLED, C_PUT_CHUNKS, C_MATCHED_ANY = range(4)
N_GCNT = 4
(C_FILTERED, C_ATTEMPTS, C_FAILED_ATTEMPTS, C_DELIVERED, C_DELIVERED_CHUNKS, C_DROPPED, C_DLQ,
 C_FINAL, C_THROTTLED) = range(9)
N_TCNT = 9
assert len(GLOBAL_COUNTERS) == N_GCNT and len(TARGET_COUNTERS) == N_TCNT

# Rows: int64 `ri` and float64 `rf` columns.
R_SEQ = 0
R_KIND = 1
R_TGT = 2
R_ID = 3
R_SIZE = 4
R_KEY = 5
R_ATTEMPT = 6
N_RI = 7
R_T = 0
R_TPUB = 1
N_RF = 2
KIND_DELIVERY = 0
KIND_DLQ = 1


@jit_inline
def _period(pi, pf, t):
    p = np.int64(t / pf[PF_PERIOD_S])
    n = pi[PI_NPER]
    return p if p < n else n - 1


@jit_inline
def _draw(draws, cur, s, j):
    v = draws[s, j, cur[s, j]]
    cur[s, j] += 1
    return v


@jit_inline
def _alloc(free, g):
    g[G_FREE_N] -= 1
    return free[g[G_FREE_N]]


@jit_inline
def _release(free, g, slot):
    free[g[G_FREE_N]] = slot
    g[G_FREE_N] += 1


@jit_inline
def _push(ht, hs, hv, g, t, slot):
    g[G_HEAP_N] = heap_push(ht, hs, hv, g[G_HEAP_N], t, g[G_SCHED], slot)
    g[G_SCHED] += 1


@jit_inline
def _row(ri, rf, n, t, seq, kind, j, mid, size, key, attempt, t_pub):
    """Write a row at index n; returns the new row count."""
    ri[n, R_SEQ] = seq
    ri[n, R_KIND] = kind
    ri[n, R_TGT] = j
    ri[n, R_ID] = mid
    ri[n, R_SIZE] = size
    ri[n, R_KEY] = key
    ri[n, R_ATTEMPT] = attempt
    rf[n, R_T] = t
    rf[n, R_TPUB] = t_pub
    return n + 1


@jit_inline
def _store(ei, ef, slot, kind, j, mid, size, key, group, attempt, seg, used, seq, first_t):
    ei[slot, E_KIND] = kind
    ei[slot, E_TGT] = j
    ei[slot, E_ID] = mid
    ei[slot, E_SIZE] = size
    ei[slot, E_KEY] = key
    ei[slot, E_GROUP] = group
    ei[slot, E_ATTEMPT] = attempt
    ei[slot, E_SEG] = seg
    ei[slot, E_USED] = used
    ei[slot, E_SEQ] = seq
    ef[slot, E_FIRST_T] = first_t


@jit_loop
def run_fanout(t_stop, p_t, p_id, p_size, p_key, p_group, i,
               match, trule, tpi, tpf, seg_n, seg_d, out_s, out_e, pi, pf,
               g, gf, ocur, flast, ei, ef, free, ht, hs, hv, draws, cur, dlen,
               gcnt, rcnt, tcnt, ri, rf):
    """Process events and publishes with time < t_stop, from publish index i.

    `trule[j]`: the rule of target j. Returns (status, i, target): DONE, or NEED_DRAWS
    (refill `target`'s streams), EVENTS_FULL, ROWS_FULL; call again with the returned i after
    serving the request.
    """
    n = p_t.shape[0]
    n_rules = match.shape[1]
    n_t = tpi.shape[0]
    rows_cap = ri.shape[0]
    inv_on = pf[PF_INV_RATE] < np.inf
    put_on = pf[PF_PUT_RATE] < np.inf
    fifo = pi[PI_FIFO] != 0
    nrow = g[G_ROWS_N]  # kept in registers; written back before every return
    aseq = g[G_ATTEMPT_SEQ]
    while True:
        hn = g[G_HEAP_N]
        if hn > 0 and ht[0] < t_stop and (i >= n or ht[0] <= p_t[i]):
            # ---- an internal event: a retry, a delayed invocation or a held delivery
            slot = hv[0]
            j0 = ei[slot, E_TGT]
            if nrow + 1 > rows_cap:
                g[G_ROWS_N] = nrow
                g[G_ATTEMPT_SEQ] = aseq
                return ROWS_FULL, i, -1
            for s in range(N_STREAMS):
                if dlen[s, j0] - cur[s, j0] < 1:
                    g[G_ROWS_N] = nrow
                    g[G_ATTEMPT_SEQ] = aseq
                    return NEED_DRAWS, i, j0
            t = ht[0]
            heap_pop(ht, hs, hv, hn)
            g[G_HEAP_N] = hn - 1
            kind = ei[slot, E_KIND]
            mid = ei[slot, E_ID]
            size = ei[slot, E_SIZE]
            key = ei[slot, E_KEY]
            first_t = ef[slot, E_FIRST_T]
            if kind == K_DELIVER:
                nrow = _row(ri, rf, nrow, t, ei[slot, E_SEQ], KIND_DELIVERY, j0, mid, size, key,
                     ei[slot, E_ATTEMPT], first_t)
                pd = _period(pi, pf, t)
                tcnt[pd, j0, C_DELIVERED] += 1
                tcnt[pd, j0, C_DELIVERED_CHUNKS] += chunks_64kb(size)
                _release(free, g, slot)
                continue
            group = ei[slot, E_GROUP]
            attempt0 = ei[slot, E_ATTEMPT]
            seg0 = ei[slot, E_SEG]
            used0 = ei[slot, E_USED]
            slot0 = slot
            has_token = kind == K_READY
            j1 = j0 + 1
            from_pub = False
            p = 0
        elif i < n and p_t[i] < t_stop:
            # ---- a publish (PutEvents entry)
            if nrow + n_t > rows_cap:
                g[G_ROWS_N] = nrow
                g[G_ATTEMPT_SEQ] = aseq
                return ROWS_FULL, i, -1
            if g[G_FREE_N] < n_t:
                g[G_ROWS_N] = nrow
                g[G_ATTEMPT_SEQ] = aseq
                return EVENTS_FULL, i, -1
            for j in range(n_t):
                for s in range(N_STREAMS):
                    if dlen[s, j] - cur[s, j] < 1:
                        g[G_ROWS_N] = nrow
                        g[G_ATTEMPT_SEQ] = aseq
                        return NEED_DRAWS, i, j
            t = p_t[i]
            p = _period(pi, pf, t)
            if put_on:
                tok = min(pf[PF_PUT_BURST], gf[GF_PUT_TOK] + pf[PF_PUT_RATE] * (t - gf[GF_PUT_LAST]))
                gf[GF_PUT_LAST] = t
                if tok >= 1.0:
                    gf[GF_PUT_TOK] = tok - 1.0
                else:
                    gf[GF_PUT_TOK] = tok
                    gcnt[p, C_PUT_THROTTLED] += 1
                    i += 1
                    continue
            mid = p_id[i]
            size = p_size[i]
            key = p_key[i]
            group = p_group[i]
            first_t = t
            i += 1
            gcnt[p, C_PUT] += 1
            gcnt[p, C_PUT_CHUNKS] += chunks_64kb(size)
            any_match = False
            for r in range(n_rules):
                if match[key, r]:
                    any_match = True
                    rcnt[p, r] += 1
            if any_match:
                gcnt[p, C_MATCHED_ANY] += 1
            attempt0 = 0
            seg0 = 0
            used0 = 0
            slot0 = -1
            has_token = False
            j0 = 0
            j1 = n_t
            from_pub = True
        else:
            g[G_ROWS_N] = nrow
            g[G_ATTEMPT_SEQ] = aseq
            return DONE, i, -1
        # ---- one attempt per target j in [j0, j1) at time t (FANOUT_SPEC.md, An attempt)
        pa = _period(pi, pf, t)
        for j in range(j0, j1):
            if from_pub and not match[key, trule[j]]:
                tcnt[p, j, C_FILTERED] += 1
                continue
            attempt = attempt0
            seg = seg0
            used = used0
            slot = slot0
            ta = t
            if inv_on and not has_token:
                tok = min(pf[PF_INV_BURST], gf[GF_INV_TOK] + pf[PF_INV_RATE] * (ta - gf[GF_INV_LAST]))
                gf[GF_INV_LAST] = ta
                tok -= 1.0
                gf[GF_INV_TOK] = tok
                if tok < 0.0:
                    ready = ta + (-tok) / pf[PF_INV_RATE]
                    tcnt[pa, j, C_THROTTLED] += 1
                    if slot < 0:
                        slot = _alloc(free, g)
                    _store(ei, ef, slot, K_READY, j, mid, size, key, group, attempt, seg, used, 0, first_t)
                    _push(ht, hs, hv, g, ready, slot)
                    continue
            seq = aseq
            aseq += 1
            tcnt[pa, j, C_ATTEMPTS] += 1
            # outage: windows sorted and disjoint; attempt times of a target never decrease
            c = ocur[j]
            end = tpi[j, T_OUT_OFF] + tpi[j, T_OUT_N]
            while c < end and out_e[c] <= ta:
                c += 1
            ocur[j] = c
            fail = c < end and out_s[c] <= ta
            if not fail and tpf[j, TF_FAIL] > 0.0:
                fail = _draw(draws, cur, S_U, j) < tpf[j, TF_FAIL]
            if not fail:
                td = ta + _draw(draws, cur, S_LAT, j) / 1000.0
                if fifo and group >= 0:
                    if flast[j, group] > td:
                        td = flast[j, group]
                    flast[j, group] = td
                tcnt[pa, j, C_FINAL] += 1
                if td < t_stop:
                    nrow = _row(ri, rf, nrow, td, seq, KIND_DELIVERY, j, mid, size, key, attempt, first_t)
                    pd = _period(pi, pf, td)
                    tcnt[pd, j, C_DELIVERED] += 1
                    tcnt[pd, j, C_DELIVERED_CHUNKS] += chunks_64kb(size)
                    if slot >= 0:
                        _release(free, g, slot)
                else:
                    if slot < 0:
                        slot = _alloc(free, g)
                    _store(ei, ef, slot, K_DELIVER, j, mid, size, key, group, attempt, seg, used, seq, first_t)
                    _push(ht, hs, hv, g, td, slot)
                continue
            tcnt[pa, j, C_FAILED_ATTEMPTS] += 1
            # the next retry's delay: advance through the policy's (count, delay) segments
            off = tpi[j, T_POL_OFF]
            nseg = tpi[j, T_POL_N]
            while seg < nseg and used == seg_n[off + seg]:
                seg += 1
                used = 0
            retry = seg < nseg
            d = 0.0
            if retry:
                d = seg_d[off + seg]
                used += 1
                if ta + d - first_t > tpf[j, TF_MAX_AGE]:
                    retry = False
            if not retry:
                tcnt[pa, j, C_FINAL] += 1
                if tpi[j, T_DLQ] != 0:
                    nrow = _row(ri, rf, nrow, ta, seq, KIND_DLQ, j, mid, size, key, attempt, first_t)
                    tcnt[pa, j, C_DLQ] += 1
                else:
                    tcnt[pa, j, C_DROPPED] += 1
                if slot >= 0:
                    _release(free, g, slot)
                continue
            if slot < 0:
                slot = _alloc(free, g)
            _store(ei, ef, slot, K_RETRY, j, mid, size, key, group, attempt + 1, seg, used, 0, first_t)
            _push(ht, hs, hv, g, ta + d, slot)


@jit
def order_ties_by_seq(order, t, seq):
    """Within runs of equal t in `order` (sorted by t), sort by seq (insertion sort: runs are short)."""
    n = order.shape[0]
    k = 1
    while k < n:
        if t[order[k]] == t[order[k - 1]]:
            a = k - 1
            while k < n and t[order[k]] == t[order[a]]:
                k += 1
            for x in range(a + 1, k):
                v = order[x]
                y = x - 1
                while y >= a and seq[order[y]] > seq[v]:
                    order[y + 1] = order[y]
                    y -= 1
                order[y + 1] = v
        else:
            k += 1


@jit
def gather_rows(ri, rf, order, oi, of):
    """Rows in `order`, column by column (oi[col, k], of[col, k])."""
    for k in range(order.shape[0]):
        r = order[k]
        for c in range(N_RI):
            oi[c, k] = ri[r, c]
        for c in range(N_RF):
            of[c, k] = rf[r, c]


@jit
def pending_by_target(ei, hv, heap_n, out):
    """Pairs still pending (scheduled retries, delayed invocations, held deliveries) per target."""
    for k in range(heap_n):
        out[ei[hv[k], E_TGT]] += 1


class FanoutState:
    """The arrays of one topic or bus, and the window-by-window driver of `run_fanout`.

    Usage: `st = FanoutState(params)`; for each window `st.run(t_stop, pubs, streams)` with
    the publishes of [previous t_stop, t_stop) (dict of arrays t, id, size, key, group, t
    sorted) and per-target stream objects `streams[j] = (u_stream, lat_stream)`, each with
    `next_chunk()` (sim.engine.rng.ChunkStream / ArrayStream); then `st.take_rows()`.
    """

    def __init__(self, params: FanoutParams, *, events: int = 1024, rows: int = 4096, chunk: int = 16384):
        self.params = params
        T, R, P = params.n_targets, params.n_rules, params.n_periods
        self.match = np.ascontiguousarray(params.match, dtype=np.bool_)
        self.rule_off = np.asarray(params.rule_off, np.int64)
        self.trule = np.asarray(params.target_rule(), np.int64)
        self.tpi = np.zeros((T, N_TPI), np.int64)
        self.tpf = np.zeros((T, N_TPF), np.float64)
        segs_n, segs_d, os_, oe_ = [], [], [], []
        for j in range(T):
            cn, dl = params.policies[j].arrays()
            self.tpi[j, T_POL_OFF], self.tpi[j, T_POL_N] = len(segs_n), len(cn)
            segs_n += list(cn)
            segs_d += list(dl)
            self.tpi[j, T_OUT_OFF], self.tpi[j, T_OUT_N] = len(os_), len(params.outages[j])
            os_ += [s for s, _ in params.outages[j]]
            oe_ += [e for _, e in params.outages[j]]
            self.tpi[j, T_DLQ] = int(params.dlq[j])
            self.tpf[j, TF_FAIL] = params.fail_rate[j]
            self.tpf[j, TF_MAX_AGE] = params.policies[j].max_age_s
        self.seg_n = np.asarray(segs_n + [0], np.int64)
        self.seg_d = np.asarray(segs_d + [0.0], np.float64)
        self.out_s = np.asarray(os_ + [0.0], np.float64)
        self.out_e = np.asarray(oe_ + [0.0], np.float64)
        self.pi = np.array([int(params.fifo), P], np.int64)
        self.pf = np.array([params.put_rate, params.put_burst, params.inv_rate, params.inv_burst,
                            params.period_s], np.float64)
        self.g = np.zeros(N_G, np.int64)
        self.gf = np.array([params.put_burst, 0.0, params.inv_burst, 0.0], np.float64)
        self.ocur = self.tpi[:, T_OUT_OFF].copy()
        self.flast = np.full((T, max(params.n_groups, 1)), -np.inf)
        self.chunk = chunk
        self.draws = np.zeros((N_STREAMS, T, 2 * chunk), np.float64)
        self.cur = np.zeros((N_STREAMS, T), np.int64)
        self.dlen = np.zeros((N_STREAMS, T), np.int64)
        self.gcnt = np.zeros((P, N_GCNT), np.int64)
        self.rcnt = np.zeros((P, R), np.int64)
        self.tcnt = np.zeros((P, T, N_TCNT), np.int64)
        cap = max(events, T)
        self.ei = np.zeros((cap, N_EI), np.int64)
        self.ef = np.zeros((cap, N_EF), np.float64)
        self.free = np.arange(cap, dtype=np.int64)[::-1].copy()
        self.g[G_FREE_N] = cap
        self.ht, self.hs, self.hv = np.zeros(cap), np.zeros(cap, np.int64), np.zeros(cap, np.int64)
        self.ri = np.zeros((max(rows, T), N_RI), np.int64)
        self.rf = np.zeros((max(rows, T), N_RF), np.float64)
        self.t_stop = 0.0

    # -- buffers ----------------------------------------------------------------------------
    def refill(self, j: int, streams) -> None:
        """Append the next chunk to each stream of target j that is running low."""
        for s in range(N_STREAMS):
            c, n = int(self.cur[s, j]), int(self.dlen[s, j])
            rem = n - c
            if rem >= self.chunk:
                continue
            chunk = np.asarray(streams[s].next_chunk(), np.float64)
            if rem + len(chunk) > self.draws.shape[2]:
                grown = np.zeros(self.draws.shape[:2] + (rem + len(chunk),), np.float64)
                grown[:, :, : self.draws.shape[2]] = self.draws
                self.draws = grown
            self.draws[s, j, :rem] = self.draws[s, j, c:n]
            self.draws[s, j, rem : rem + len(chunk)] = chunk
            self.dlen[s, j] = rem + len(chunk)
            self.cur[s, j] = 0

    def grow_events(self) -> None:
        old = self.ht.shape[0]
        cap = 2 * old
        n, nfree = int(self.g[G_HEAP_N]), int(self.g[G_FREE_N])
        ei = np.zeros((cap, N_EI), np.int64)
        ef = np.zeros((cap, N_EF), np.float64)
        ei[:old], ef[:old] = self.ei, self.ef
        free = np.zeros(cap, np.int64)
        free[:nfree] = self.free[:nfree]
        free[nfree : nfree + cap - old] = np.arange(old, cap)
        ht, hs, hv = (np.zeros(cap, a.dtype) for a in (self.ht, self.hs, self.hv))
        ht[:n], hs[:n], hv[:n] = self.ht[:n], self.hs[:n], self.hv[:n]
        self.ei, self.ef, self.free, self.ht, self.hs, self.hv = ei, ef, free, ht, hs, hv
        self.g[G_FREE_N] = nfree + cap - old

    def grow_rows(self) -> None:
        n = 2 * self.ri.shape[0]
        ri, rf = np.zeros((n, N_RI), np.int64), np.zeros((n, N_RF), np.float64)
        k = int(self.g[G_ROWS_N])
        ri[:k], rf[:k] = self.ri[:k], self.rf[:k]
        self.ri, self.rf = ri, rf

    # -- running ----------------------------------------------------------------------------
    def run(self, t_stop: float, pubs: dict, streams) -> None:
        """Run the window [previous t_stop, t_stop): the given publishes, and every retry,
        delayed invocation and held delivery due before t_stop."""
        if t_stop < self.t_stop:
            raise ValueError(f"t_stop: windows run forward, got {t_stop} after {self.t_stop}")
        cols = [np.ascontiguousarray(pubs[c], dt) for c, dt in
                (("t", np.float64), ("id", np.int64), ("size", np.int64), ("key", np.int64), ("group", np.int64))]
        if len(cols[0]) and (cols[0][0] < self.t_stop or cols[0][-1] >= t_stop):
            raise ValueError(f"pubs: times must lie in [{self.t_stop}, {t_stop}) for this window")
        i = 0
        while True:
            status, i, j = run_fanout(t_stop, *cols, i, self.match, self.trule, self.tpi, self.tpf,
                                      self.seg_n, self.seg_d, self.out_s, self.out_e, self.pi, self.pf,
                                      self.g, self.gf, self.ocur, self.flast, self.ei, self.ef, self.free,
                                      self.ht, self.hs, self.hv, self.draws, self.cur, self.dlen,
                                      self.gcnt, self.rcnt, self.tcnt, self.ri, self.rf)
            if status == DONE:
                break
            if status == NEED_DRAWS:
                # top up every target that runs low, not just j: fewer returns to Python
                for k in np.flatnonzero((self.dlen - self.cur).min(axis=0) < self.chunk):
                    self.refill(int(k), streams[k])
            elif status == EVENTS_FULL:
                self.grow_events()
            else:
                self.grow_rows()
        self.t_stop = t_stop

    def take_rows(self):
        """Rows written since the last call, in time order (ties by attempt number), as a
        dict of arrays: t, t_pub (float64), seq, kind, target, id, size, key, attempt (int64);
        the buffer is reset."""
        n = int(self.g[G_ROWS_N])
        t = self.rf[:n, R_T]
        seq = np.ascontiguousarray(self.ri[:n, R_SEQ])
        order = np.argsort(t, kind="stable")  # rows come nearly sorted: timsort runs
        order_ties_by_seq(order, t, seq)
        self.g[G_ROWS_N] = 0
        oi, of = np.empty((N_RI, n), np.int64), np.empty((N_RF, n), np.float64)
        gather_rows(self.ri, self.rf, order, oi, of)
        return {"t": of[R_T], "t_pub": of[R_TPUB], "seq": oi[R_SEQ], "kind": oi[R_KIND],
                "target": oi[R_TGT], "id": oi[R_ID], "size": oi[R_SIZE], "key": oi[R_KEY],
                "attempt": oi[R_ATTEMPT]}

    def pending(self) -> np.ndarray:
        """Pairs still pending per target (int64 [T])."""
        out = np.zeros(self.params.n_targets, np.int64)
        pending_by_target(self.ei, self.hv, int(self.g[G_HEAP_N]), out)
        return out

    # -- AWS's metrics --------------------------------------------------------------------
    def sns_metrics(self) -> dict:
        """Per period [P] or per period and subscription [P, S], as SNS's CloudWatch names them.

        published: NumberOfMessagesPublished (accepted publishes); publish_chunks: billed
        64 KB publish requests; delivered: NumberOfNotificationsDelivered (at delivery time);
        filtered_out: NumberOfNotificationsFilteredOut; failed: dropped after the policy (no
        DLQ); dead_lettered: NumberOfNotificationsRedrivenToDlq; attempts: delivery attempts;
        notifications_failed: NumberOfNotificationsFailed as AWS counts it (HTTP/S: every
        failed attempt; other protocols: once per message when SNS stops trying);
        billed_deliveries / billed_delivery_chunks: HTTP/S and email deliveries (count and
        64 KB chunks), the billed notification meters; publish_throttled: rejected Publish.
        """
        tc, gc = self.tcnt, self.gcnt
        proto = np.asarray(self.params.protocols, np.int64)
        https = proto == P_HTTPS
        billed = (proto == P_HTTPS) | (proto == P_EMAIL)
        final_fail = tc[:, :, C_DROPPED] + tc[:, :, C_DLQ]
        return {
            "published": gc[:, C_PUT].copy(), "publish_throttled": gc[:, C_PUT_THROTTLED].copy(),
            "publish_chunks": gc[:, C_PUT_CHUNKS].copy(),
            "delivered": tc[:, :, C_DELIVERED].copy(), "filtered_out": tc[:, :, C_FILTERED].copy(),
            "failed": tc[:, :, C_DROPPED].copy(), "dead_lettered": tc[:, :, C_DLQ].copy(),
            "attempts": tc[:, :, C_ATTEMPTS].copy(),
            "notifications_failed": np.where(https[None, :], tc[:, :, C_FAILED_ATTEMPTS], final_fail),
            "billed_deliveries": tc[:, :, C_DELIVERED] * billed[None, :],
            "billed_delivery_chunks": tc[:, :, C_DELIVERED_CHUNKS] * billed[None, :],
        }

    def eventbridge_metrics(self) -> dict:
        """Per period [P], per period and rule [P, R], or per period and target [P, T].

        put / put_throttled / put_chunks: accepted PutEvents entries, rejected ones
        (ThrottlingException), billed 64 KB chunks; matched_events: MatchedEvents per rule
        [P, R]; matched_any: entries matching at least one rule [P]; invocations: Invocations
        per rule (each event-target pair once, when it succeeds or fails for good);
        invocation_attempts: per target; failed_invocations: per rule, permanent failures
        (dropped or sent to the DLQ); dlq: InvocationsSentToDlq per target; throttled_rules:
        ThrottledRules per rule (delayed invocations); deliveries: per target.
        """
        tc, gc = self.tcnt, self.gcnt
        R = self.params.n_rules
        off = self.rule_off

        def per_rule(col):
            return np.stack([tc[:, off[r]:off[r + 1], col].sum(axis=1) for r in range(R)], axis=1) \
                if R else np.zeros((tc.shape[0], 0), np.int64)

        return {
            "put": gc[:, C_PUT].copy(), "put_throttled": gc[:, C_PUT_THROTTLED].copy(),
            "put_chunks": gc[:, C_PUT_CHUNKS].copy(), "matched_any": gc[:, C_MATCHED_ANY].copy(),
            "matched_events": self.rcnt.copy(), "invocations": per_rule(C_FINAL),
            "invocation_attempts": tc[:, :, C_ATTEMPTS].copy(),
            "failed_invocations": per_rule(C_DROPPED) + per_rule(C_DLQ),
            "dlq": tc[:, :, C_DLQ].copy(), "throttled_rules": per_rule(C_THROTTLED),
            "deliveries": tc[:, :, C_DELIVERED].copy(),
        }
