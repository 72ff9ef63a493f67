"""The arrays the Lambda pool kernel works on, their construction and their growth."""

from __future__ import annotations

import numpy as np

from kernels import lambda_pool as K
from kernels.heap import new_heap
from kernels.histogram import N_BINS
from kernels.lambda_pool import PoolParams  # noqa: F401  (one definition for kernel and twin)
from kernels.periods import n_periods


class PoolState:
    """Every array `kernels.lambda_pool.run_pool` reads and writes, kept between windows."""

    def __init__(self, p: PoolParams, t_end: float, period_s: float, chunk: int,
                 sample: float = 0.0, first_n: int = 0, sample_all: bool = False,
                 events: int = 4096, heap_extra: int = 0, traces: int = 4096, trace_sample: float = 0.0,
                 trace_first_n: int = 0, trace_all: bool = False):
        nf = len(p.reserved)
        self.heap_extra = heap_extra  # heap entries beyond the event table (queue timer lists, deadline lists)
        self.nf = nf
        caps = [r if r >= 0 else p.unres_cap for r in p.reserved]
        offs = np.concatenate([[0], np.cumsum(caps)]).astype(np.int64)
        self.fpi = np.zeros((nf, K.N_FPI), np.int64)
        self.fpi[:, K.P_RESERVED] = p.reserved
        self.fpi[:, K.P_ASYNC_RETRIES] = p.async_max_retries
        self.fpi[:, K.P_BUCKET] = p.bucket
        self.fpi[:, K.P_STACK_OFF] = offs[:-1]
        self.fpi[:, K.P_ON_FAIL_Q] = p.on_failure_queue if p.on_failure_queue is not None else -1
        self.fpi[:, K.P_NCALLS] = p.n_calls if p.n_calls is not None else 0
        self.fpf = np.zeros((nf, K.N_FPF), np.float64)
        self.fpf[:, K.P_TIMEOUT_MS] = p.timeout_ms
        self.fpf[:, K.P_ERROR_RATE] = p.error_rate
        self.fpf[:, K.P_DUR_SCALE] = p.dur_scale
        self.fpf[:, K.P_ASYNC_AGE_S] = p.async_max_age_s
        self.fs = np.zeros((nf, K.N_FS), np.int64)
        self.ft = np.zeros((nf, K.N_FT), np.float64)
        self.ft[:, [K.T_LAT_MIN_MS, K.T_INIT_MIN_MS]] = np.inf  # exact minima, lowered by the kernel
        self.bk = np.zeros((len(p.bucket_cap), K.N_BK), np.float64)
        self.bk[:, K.B_CAP] = p.bucket_cap
        self.bk[:, K.B_RATE] = p.bucket_rate
        self.bk[:, K.B_TOKENS] = p.bucket_cap
        ns = len(p.retry_max_attempts)
        self.si = np.zeros((max(ns, 1), K.N_SI), np.int64)
        self.sf = np.zeros((max(ns, 1), K.N_SF), np.float64)
        self.si[:ns, K.SRC_MAX_ATTEMPTS] = p.retry_max_attempts
        self.si[:ns, K.SRC_JITTER] = p.retry_jitter
        self.sf[:ns, K.SRC_BASE_S] = p.retry_base_s
        self.sf[:ns, K.SRC_CAP_S] = p.retry_cap_s
        self.g = np.zeros(K.N_G, np.int64)
        self.g[K.G_UNRES_CAP] = p.unres_cap
        self.g[K.G_FIRST_N] = first_n
        self.g[K.G_SAMPLE_ALL] = int(sample_all)
        self.g[K.G_SAMPLE_THRESHOLD] = sample_threshold(sample)
        self.gf = np.zeros(K.N_GF, np.float64)
        self.gf[K.GF_T_END] = t_end
        self.gf[K.GF_PERIOD_S] = period_s
        self.stack_birth = np.zeros(int(offs[-1]), np.float64)
        self.stack_expire = np.zeros(int(offs[-1]), np.float64)
        self.chunk = chunk
        self.draws = np.zeros((K.N_STREAMS, nf, 2 * chunk), np.float64)
        self.cur = np.zeros((K.N_STREAMS, nf), np.int64)
        self.dlen = np.zeros((K.N_STREAMS, nf), np.int64)
        n_p = n_periods(t_end, period_s)
        self.pmi = np.zeros((n_p, nf, K.N_PMI), np.int64)
        self.pmf = np.zeros((n_p, nf, K.N_PMF), np.float64)
        self.phist = np.zeros((nf, N_BINS), np.int64)
        self.hlat = np.zeros((nf, N_BINS), np.int64)
        self.hinit = np.zeros((nf, N_BINS), np.int64)
        self.ei = np.zeros((0, K.N_EI), np.int64)
        self.ef = np.zeros((0, K.N_EF), np.float64)
        self.free = np.zeros(0, np.int64)
        self.hh = new_heap(0)
        self.grow_events(events)
        self.ri = np.zeros((4096 if (sample > 0 or first_n > 0 or sample_all) else 1, K.N_RI), np.int64)
        self.rf = np.zeros((self.ri.shape[0], K.N_RF), np.float64)
        self.tri = np.zeros((0, K.N_TRI), np.int64)
        self.trf = np.zeros((0, K.N_TRF), np.float64)
        self.trfree = np.zeros(0, np.int64)
        self.grow_traces(traces)
        self.set_entries(np.arange(ns, dtype=np.int64), ns)  # until told: each port its own entry point
        self.traces_final = False
        self.g[K.G_TRS_FIRST_N] = trace_first_n
        self.g[K.G_TRS_THRESHOLD] = sample_threshold(trace_sample)
        self.g[K.G_TRS_ALL] = int(trace_all)
        spans = 4096 if (trace_sample > 0 or trace_first_n > 0 or trace_all) else K.SPAN_ROOM
        self.spi = np.zeros((spans, K.N_SPI), np.int64)
        self.spf = np.zeros((spans, K.N_SPF), np.float64)
        self.span_parts: list = []  # what take_spans took, until spans() gathers it

    def make_room(self, status: int) -> bool:
        """Give a kernel the room it stopped for when that is the pool's (events, rows, traces,
        spans); False for any other status."""
        if status == K.EVENTS_FULL:
            self.grow_events(2 * self.ei.shape[0])
        elif status == K.ROWS_FULL:
            self.grow_rows()
        elif status == K.TRACES_FULL:  # over half full of open traces after closing the others
            self.grow_traces(2 * self.tri.shape[0])
        elif status == K.SPANS_FULL:
            self.take_spans()
        else:
            return False
        return True

    def take_spans(self) -> None:
        """Move the spans written so far out of the kernel's buffer (copies, kept in `span_parts`)."""
        n = int(self.g[K.G_SPANS_N])
        if n:
            self.span_parts.append((self.spi[:n].copy(), self.spf[:n].copy()))
            self.g[K.G_SPANS_N] = 0

    def spans(self):
        """Every span written: (int64 [n, N_SPI], float64 [n, N_SPF]), in the order they ended."""
        self.take_spans()
        if not self.span_parts:
            return np.zeros((0, K.N_SPI), np.int64), np.zeros((0, K.N_SPF), np.float64)
        return (np.concatenate([a for a, _ in self.span_parts]), np.concatenate([b for _, b in self.span_parts]))

    def open_trace_ids(self) -> np.ndarray:
        """After close_traces: the request ids of the sampled traces still open (in flight at the
        end; an unsampled trace's slot holds no request id)."""
        used = (self.tri[:, K.TR_ENTRY] >= 0) & (self.tri[:, K.TR_SAMPLED] == 1)
        return self.tri[used, K.TR_RID].copy()

    # traces and entry points (ACCOUNT_SPEC.md §7) ------------------------------------------
    def set_entries(self, port_entry, n_entries: int, timeouts_s=None) -> None:
        """Which entry point (traffic source) each port's arrivals belong to (-1: none), and each
        entry point's client timeout (`timeouts_s[e]`, s; default none: an API Gateway's
        integration timeout is one)."""
        pentry = np.full(max(len(port_entry), 1), -1, np.int64)
        pentry[:len(port_entry)] = port_entry
        self.pentry = pentry
        self.eni = np.zeros((max(n_entries, 1), K.N_ENI), np.int64)
        self.enf = np.zeros((max(n_entries, 1), K.N_ENF), np.float64)
        self.enf[:, K.ENF_TIMEOUT_S] = np.inf
        if timeouts_s is not None:
            self.enf[: len(timeouts_s), K.ENF_TIMEOUT_S] = timeouts_s
        self.enp = np.zeros((self.pmi.shape[0], max(n_entries, 1), K.N_ENP), np.int64)
        self.ehl = np.zeros((max(n_entries, 1), N_BINS), np.int64)
        self.ehc = np.zeros((max(n_entries, 1), N_BINS), np.int64)
        self.n_entries = n_entries

    def grow_traces(self, capacity: int) -> None:
        """Enlarge the trace table to `capacity` slots, keeping the open traces where they are."""
        old = self.tri.shape[0]
        nfree = int(self.g[K.G_TR_FREE_N])
        tri = np.zeros((capacity, K.N_TRI), np.int64)
        tri[:, K.TR_ENTRY] = -1
        trf = np.zeros((capacity, K.N_TRF), np.float64)
        tri[:old], trf[:old] = self.tri, self.trf
        free = np.zeros(capacity, np.int64)
        free[:nfree] = self.trfree[:nfree]
        free[nfree:nfree + capacity - old] = np.arange(capacity - 1, old - 1, -1)  # low slots first
        self.tri, self.trf, self.trfree = tri, trf, free
        self.g[K.G_TR_FREE_N] = nfree + capacity - old

    def completion_sum_ms(self, e: int) -> float:
        """Entry point e's completions summed, in ms (the kernel sums whole µs)."""
        return float(self.eni[e, K.EN_COMP_SUM_US]) / 1000.0

    def close_traces(self, mark) -> None:
        """End of run: close every trace nothing refers to; count the others in flight (once)."""
        if self.traces_final:
            return
        mark()
        K.trace_close(np.inf, True, self.g, self.tri, self.trf, self.trfree, self.eni, self.enf, self.ehc)
        self.traces_final = True

    def mark_heap(self) -> None:
        """The pool's own marking pass (its loop's events: completions and retries)."""
        K.trace_mark_heap(K.TRACED_POOL, self.g, self.tri, self.ei, self.hh, int(self.g[K.G_HEAP_N]))

    def grow_events(self, capacity: int) -> None:
        """Enlarge the event table and heap to `capacity`, keeping what is scheduled."""
        old = self.ei.shape[0]
        n = int(self.g[K.G_HEAP_N])
        nfree = int(self.g[K.G_FREE_N])
        ei = np.zeros((capacity, K.N_EI), np.int64)
        ef = np.zeros((capacity, K.N_EF), np.float64)
        ei[:old], ef[:old] = self.ei, self.ef
        free = np.zeros(capacity, np.int64)
        free[:nfree] = self.free[:nfree]
        free[nfree : nfree + capacity - old] = np.arange(old, capacity)
        hh = new_heap(capacity + self.heap_extra)
        hh[:n] = self.hh[:n]
        self.ei, self.ef, self.free, self.hh = ei, ef, free, hh
        self.g[K.G_FREE_N] = nfree + capacity - old

    def grow_rows(self) -> None:
        n = self.ri.shape[0] * 2
        ri = np.zeros((n, K.N_RI), np.int64)
        rf = np.zeros((n, K.N_RF), np.float64)
        ri[: len(self.ri)], rf[: len(self.rf)] = self.ri, self.rf
        self.ri, self.rf = ri, rf

    def refill(self, f: int, streams, fetched=None) -> None:
        """Append the next chunk to every stream of function f that has room for one;
        `fetched[s, f]` (optional) counts the draws taken from each stream."""
        for s in range(K.N_STREAMS):
            cur, n = self.cur[s, f], self.dlen[s, f]
            rem = n - cur
            if rem >= self.chunk:
                continue
            self.draws[s, f, :rem] = self.draws[s, f, cur:n]
            chunk = streams[s].next_chunk()
            self.draws[s, f, rem : rem + len(chunk)] = chunk
            self.dlen[s, f] = rem + len(chunk)
            self.cur[s, f] = 0
            if fetched is not None:
                fetched[s, f] += len(chunk)

    def take_rows(self):
        """The sampled rows written since the last call (copies), and reset the buffer."""
        n = int(self.g[K.G_ROWS_N])
        out = self.ri[:n].copy(), self.rf[:n].copy()
        self.g[K.G_ROWS_N] = 0
        return out

    def kernel_state(self):
        """The state arguments of run_pool, in order (a `kernels.lambda_pool.PoolArrays`)."""
        return K.PoolArrays(self.fpi, self.fpf, self.fs, self.ft, self.bk, self.si, self.sf, self.g, self.gf,
                            self.ei, self.ef, self.free, self.hh,
                            self.stack_birth, self.stack_expire, self.draws, self.cur, self.dlen,
                            self.pmi, self.pmf, self.phist, self.hlat, self.hinit, self.ri, self.rf,
                            self.tri, self.trf, self.trfree, self.pentry, self.eni, self.enf, self.ehl, self.ehc,
                            self.spi, self.spf, self.enp)


def sample_threshold(sample: float) -> int:
    """The int64 bit pattern of the uint64 hash threshold that keeps a `sample` fraction."""
    if sample <= 0:
        return 0
    u = min(int(sample * 2.0**64), 2**64 - 1)
    return u - 2**64 if u >= 2**63 else u


def run(state: PoolState, t_stop: float, arrivals, streams) -> None:
    """Run the kernel to t_stop, feeding it draws and room as it asks.

    (An account with queues runs `sim.messaging.sqs_state.run` instead: its arrivals and
    streams have more columns.)
    """
    a_t, a_id, a_fn, a_src, a_inv, a_dover, a_units = arrivals
    i = 0
    while True:
        status, i, f = K.run_pool(t_stop, a_t, a_id, a_fn, a_src, a_inv, a_dover, a_units, i,
                                  *state.kernel_state())
        if status == K.DONE:
            return
        if status == K.NEED_DRAWS:
            state.refill(f, streams[f])
        elif not state.make_room(status):
            raise RuntimeError(f"run_pool: unknown status {status}")
