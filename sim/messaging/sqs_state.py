"""The arrays of the account kernel (`kernels.account.run_account`): SQS queues, event
source mappings and worker fleets running inside one account's Lambda pool.

API
---
    st = MessagingState(pool_params, queues, mappings, fleets, t_end, period_s, chunk,
                        sample_all=False, ...)          # QueueParams etc. from kernels.queue_pool
    st.control_provisioned(t, f, n)                    # between windows, as for the pool
    run(st, t_stop, arrivals, streams)                 # once per window, any window length
    st.finish()                                        # once, after the last window (t_end)

`arrivals` = (t, id, fn, src, inv, dur_override_ms, units, queue, size_bytes, key, group),
the window's arrivals (t < t_stop, sorted): `queue` −1 = a function arrival (its
`size_bytes` is the event's size, for an on-failure message), else a SendMessage to that
queue with message id `id` (≥ 0, unique over the run); `key` is not used by the kernel;
`group` is any int64 (FIFO message group), mapped to a dense index here.
`streams` = `MessagingStreams(pool, item, proc, werr)`: `pool[f]` the function's
[DUR, INIT, EXP, U] providers (as for `pool_state.run`), `item[m]`, `proc[w]`, `werr[w]`
providers, each with `.next_chunk()`.

Accessors (numpy copies; after `finish()` they are the run's results):
- `queue_periods()` -> (int64 [P, Q, len(QUEUE_PERIOD_INT)], float64 [P, Q,
  len(QUEUE_PERIOD_FLOAT)]): columns named in `kernels.queue_pool.QUEUE_PERIOD_INT` /
  `QUEUE_PERIOD_FLOAT` (counters, snapshots at period ends, visible_s, wait sums).
- `mapping_periods()` -> int64 [P, M, len(MAPPING_PERIOD)]; `fleet_periods()` -> int64
  [P, W, len(FLEET_PERIOD)].
- `wait_hist()` -> int64 [Q, N_BINS]: first-receive waits in ms (`kernels.histogram`).
- `queue_totals()` -> dict name -> int64 [Q] (period sums of the counters);
  `queue_end_state()` -> dict visible / in_flight / delayed -> int64 [Q] (now).
- `pollers()` -> int64 [M] (not retired); `take_steps()` -> (m, t, target) arrays of the
  target changes since the last call; `draws_used()` -> dict like the twin's
  (`DUR`/`INIT`/`EXP`/`U` per function, `ITEM`, `PROC`, `WERR`).
- `pool`: the `PoolState` (rows: `pool.take_rows()`, per-period pool metrics `pool.pmi`...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kernels import lambda_pool as K
from kernels import queue_pool as Q
from kernels.histogram import N_BINS
from kernels.lambda_pool import PoolParams
from kernels.queue_pool import (
    FLEET_PERIOD, MAPPING_PERIOD, QUEUE_PERIOD_FLOAT, QUEUE_PERIOD_INT, FleetParams, MappingParams, QueueParams,
    mapping_scaling, validate_params,
)
from sim.compute.pool_state import PoolState


@dataclass
class MessagingStreams:
    """Random streams of the messaging kernel: providers with `.next_chunk()`."""

    pool: list  # per function: [DUR, INIT, EXP, U]
    item: list  # per mapping
    proc: list  # per fleet
    werr: list  # per fleet


class MessagingState:
    """Every array `run_account` reads and writes for the pool and the queues, kept between windows."""

    def __init__(self, p: PoolParams, qp: QueueParams, mp: MappingParams, fp: FleetParams,
                 t_end: float, period_s: float, chunk: int, sample: float = 0.0, first_n: int = 0,
                 sample_all: bool = False, events: int = 4096, messages: int = 4096, trace_sample: float = 0.0,
                 trace_first_n: int = 0, trace_all: bool = False, traces: int = 4096, deadline_lists: int = 0):
        validate_params(p, qp, mp, fp)
        nq, nm, nw = len(qp.visibility_timeout_s), len(mp.queue), len(fp.queue)
        self.nq, self.nm, self.nw = nq, nm, nw
        self.pool = PoolState(p, t_end, period_s, chunk, sample=sample, first_n=first_n,
                              sample_all=sample_all, events=events,
                              heap_extra=Q.N_TIMER_KINDS * nq + len(p.reserved) + deadline_lists,
                              trace_sample=trace_sample, trace_first_n=trace_first_n, trace_all=trace_all,
                              traces=traces)
        self.chunk = chunk
        self.pool_fetched = np.zeros((K.N_STREAMS, self.pool.nf), np.int64)
        n_p = self.pool.pmi.shape[0]
        self.qpi = np.zeros((nq, Q.N_QPI), np.int64)
        self.qpi[:, Q.QI_MRC] = qp.max_receive_count
        self.qpi[:, Q.QI_DLQ] = qp.dlq
        self.qpi[:, Q.QI_LIMIT] = qp.in_flight_limit
        self.qpi[:, Q.QI_FIFO] = qp.fifo
        self.qpf = np.zeros((nq, Q.N_QPF), np.float64)
        self.qpf[:, Q.QF_VIS] = qp.visibility_timeout_s
        self.qpf[:, Q.QF_RET] = qp.retention_s
        self.qpf[:, Q.QF_DELAY] = qp.delay_s
        self.qs = np.full((nq, Q.N_QS), -1, np.int64)
        for col in (Q.QS_NVIS, Q.QS_NDELAYED, Q.QS_NINFL, Q.QS_NEXT_SEQ):
            self.qs[:, col] = 0
        self.qsf = np.zeros((nq, Q.N_QSF), np.float64)
        self.qsf[:, Q.QSF_WAIT_MIN_S] = np.inf  # lowered by the kernel
        self.tl = np.full((Q.N_TIMER_KINDS * nq, Q.N_TL), -1, np.int64)
        self.tl[:, Q.TL_IN_HEAP] = 0  # no list has a heap entry yet
        order = sorted(range(nm), key=lambda m: (mp.queue[m], m))
        self.qm_idx = np.asarray(order, np.int64).reshape(-1)
        counts = np.bincount(np.asarray(mp.queue, np.int64), minlength=nq) if nm else np.zeros(nq, np.int64)
        self.qm_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        # mappings and their poller slots
        self.mpi = np.zeros((nm, Q.N_MPI), np.int64)
        self.mpf = np.zeros((nm, Q.N_MPF), np.float64)
        self.ms = np.zeros((nm, Q.N_MS), np.int64)
        kinds, owners, queues, caps = [], [], [], []
        for m in range(nm):
            rate, floor, cap = mapping_scaling(p, mp, m)
            nslot = max(floor, cap)
            self.mpi[m] = [0] * Q.N_MPI
            self.mpi[m, Q.MPI_Q] = mp.queue[m]
            self.mpi[m, Q.MPI_FN] = mp.function[m]
            self.mpi[m, Q.MPI_BATCH] = mp.batch_size[m]
            self.mpi[m, Q.MPI_REPORT] = mp.report_failures[m]
            self.mpi[m, Q.MPI_FLOOR] = floor
            self.mpi[m, Q.MPI_CAP] = cap
            self.mpi[m, Q.MPI_RATE] = rate
            self.mpi[m, Q.MPI_C0] = len(kinds)
            self.mpi[m, Q.MPI_NSLOT] = nslot
            self.mpf[m, Q.MPF_WINDOW] = mp.window_s[m]
            self.mpf[m, Q.MPF_ITEM_RATE] = mp.item_failure_rate[m]
            self.ms[m, Q.MS_TARGET] = floor
            self.ms[m, Q.MS_NFREE] = nslot
            kinds += [Q.POLLER] * nslot
            owners += [m] * nslot
            queues += [mp.queue[m]] * nslot
            caps += [mp.batch_size[m]] * nslot
        self.pslot = np.zeros(max(1, len(kinds)), np.int64)
        for m in range(nm):
            c0, n = self.mpi[m, Q.MPI_C0], self.mpi[m, Q.MPI_NSLOT]
            self.pslot[c0 : c0 + n] = np.arange(c0 + n - 1, c0 - 1, -1)  # pops c0 first
        self.wpi = np.zeros((nw, Q.N_WPI), np.int64)
        self.wpf = np.zeros((nw, Q.N_WPF), np.float64)
        for w in range(nw):
            self.wpi[w, Q.WI_Q] = fp.queue[w]
            self.wpi[w, Q.WI_MAX] = fp.max_messages[w]
            self.wpi[w, Q.WI_N] = fp.n_workers[w]
            self.wpi[w, Q.WI_C0] = len(kinds)
            self.wpf[w, Q.WF_ERR] = fp.error_rate[w]
            kinds += [Q.WORKER] * fp.n_workers[w]
            owners += [w] * fp.n_workers[w]
            queues += [fp.queue[w]] * fp.n_workers[w]
            caps += [fp.max_messages[w]] * fp.n_workers[w]
        self.wbusy = np.zeros(nw, np.int64)
        nc = len(kinds)
        self.cs = np.full((max(nc, 1), Q.N_CS), -1, np.int64)
        self.cs[:nc, Q.C_KIND] = kinds
        self.cs[:nc, Q.C_OWNER] = owners
        self.cs[:nc, Q.C_Q] = queues
        self.cs[:nc, Q.C_CAP] = caps
        self.cs[:, Q.C_STATE] = Q.CS_RETIRED
        self.cs[:, Q.C_TOKEN] = 0
        self.cs[:, Q.C_BN] = 0
        self.cs[:, Q.C_BBYTES] = 0
        self.cs[:nc][np.asarray(kinds) == Q.WORKER, Q.C_STATE] = Q.CS_IDLE
        self.it = np.zeros((max(16, 2 * max(caps, default=1)), Q.N_IT), np.int64)
        self.mi = np.zeros((0, Q.N_MSG), np.int64)
        self.mf = np.zeros((0, Q.N_MSGF), np.float64)
        self.mfree = np.zeros(0, np.int64)
        self.gq = np.zeros(Q.N_GQ, np.int64)
        self.gq[Q.GQ_PEND_Q] = -1
        self.gq[Q.GQ_PEND_CUR] = -1
        self.gq[Q.GQ_PEND_SCALE] = -1
        self.gq[Q.GQ_E_MIN] = 16 + nm
        self.gqf = np.zeros(Q.N_GQF, np.float64)
        self.grow_messages(messages)
        self.groups = {0: 0}
        self.glock = np.zeros((nq, 1), np.int64)
        self.whist = np.zeros((nq, N_BINS), np.int64)
        self.qpm_i = np.zeros((n_p, nq, len(QUEUE_PERIOD_INT)), np.int64)
        self.qpm_f = np.zeros((n_p, nq, len(QUEUE_PERIOD_FLOAT)), np.float64)
        self.mpm = np.zeros((n_p, nm, len(MAPPING_PERIOD)), np.int64)
        self.wpm = np.zeros((n_p, nw, len(FLEET_PERIOD)), np.int64)
        # messaging streams: ITEM per mapping, then PROC, WERR per fleet
        self.mneed = np.array([mp.batch_size[m] for m in range(nm)]
                              + [fp.max_messages[w] for w in range(nw) for _ in (0, 1)], np.int64)
        ns = len(self.mneed)
        self.mdraws = np.zeros((max(ns, 1), int(self.mneed.max(initial=0)) + 2 * chunk), np.float64)
        self.mcur = np.zeros(max(ns, 1), np.int64)
        self.mlen = np.zeros(max(ns, 1), np.int64)
        self.mfetched = np.zeros(max(ns, 1), np.int64)
        self.steps_i = np.zeros((64, Q.N_STEP), np.int64)
        self.steps_t = np.zeros(64, np.float64)
        self.steps = [(np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.int64))]
        self.steps[0] = (np.arange(nm, dtype=np.int64), np.zeros(nm), self.mpi[:, Q.MPI_FLOOR].copy())
        self._started = False
        self.finished = False
        self.fanout = None  # the account's topics and buses (sim.compute.account_state.AccountFanout)
        self.calls = None  # the functions' calls and the endpoints (sim.compute.account_state.AccountCalls)

    # ---- the kernel's arguments
    def queue_arrays(self):
        return Q.QueueArrays(self.qpi, self.qpf, self.qs, self.qsf, self.tl, self.qm_start, self.qm_idx,
                             self.mpi, self.mpf, self.ms, self.pslot, self.wpi, self.wpf, self.wbusy, self.cs,
                             self.it, self.mi, self.mf, self.mfree, self.glock, self.whist, self.qpm_i,
                             self.qpm_f, self.mpm, self.wpm, self.gq, self.gqf, self.mdraws, self.mcur, self.mlen,
                             self.steps_i, self.steps_t)

    def start(self) -> None:
        """t = 0: the mappings' first pollers and the fleets' workers (after any
        initial provisioned concurrency set with control_provisioned at 0)."""
        if not self._started:
            self._started = True
            need = int(self.mpi[:, Q.MPI_FLOOR].sum() + self.wpi[:, Q.WI_N].sum() + self.gq[Q.GQ_E_MIN])
            if self.pool.g[K.G_FREE_N] < need:
                self.pool.grow_events(self.pool.ei.shape[0] + need)
            Q.mq_init(self.pool.kernel_state(), self.queue_arrays())

    def control_provisioned(self, t: float, f: int, n: int) -> None:
        Q.mq_control_provisioned(float(t), int(f), int(n), self.pool.kernel_state(), self.queue_arrays())

    # ---- growth
    def grow_messages(self, capacity: int) -> None:
        old = self.mi.shape[0]
        nfree = int(self.gq[Q.GQ_MFREE_N])
        mi = np.zeros((capacity, Q.N_MSG), np.int64)
        mf = np.zeros((capacity, Q.N_MSGF), np.float64)
        mi[:old], mf[:old] = self.mi, self.mf
        mi[old:, Q.MSG_STATE] = Q.ST_FREE
        mi[old:, Q.MSG_MID] = np.iinfo(np.int64).min
        mfree = np.zeros(capacity, np.int64)
        mfree[:nfree] = self.mfree[:nfree]
        mfree[nfree : nfree + capacity - old] = np.arange(capacity - 1, old - 1, -1)
        self.mi, self.mf, self.mfree = mi, mf, mfree
        self.gq[Q.GQ_MFREE_N] = nfree + capacity - old

    def grow_items(self) -> None:
        it = np.zeros((2 * self.it.shape[0], Q.N_IT), np.int64)
        it[: self.it.shape[0]] = self.it
        self.it = it

    def grow_steps(self) -> None:
        n = self.steps_t.shape[0]
        si = np.zeros((2 * n, Q.N_STEP), np.int64)
        st = np.zeros(2 * n, np.float64)
        si[:n], st[:n] = self.steps_i, self.steps_t
        self.steps_i, self.steps_t = si, st

    def map_groups(self, queue: np.ndarray, group: np.ndarray, extra=None) -> np.ndarray:
        """Dense group indices for the window's sends and publishes (`extra`: the items besides
        sends that carry a group; 0 for function arrivals; all 0 when no queue is FIFO, since
        only FIFO queues — and the FIFO topics that deliver to them — look at groups)."""
        gid = np.zeros(len(group), np.int64)
        sel = queue >= 0 if self.qpi[:, Q.QI_FIFO].any() else np.zeros(len(group), bool)
        if extra is not None:
            sel |= extra
        if sel.any():
            u, inv = np.unique(group[sel], return_inverse=True)
            mapped = np.empty(len(u), np.int64)
            for k, v in enumerate(u.tolist()):
                mapped[k] = self.groups.setdefault(v, len(self.groups))
            gid[sel] = mapped[inv]
        if len(self.groups) > self.glock.shape[1]:
            glock = np.zeros((self.nq, max(len(self.groups), 2 * self.glock.shape[1])), np.int64)
            glock[:, : self.glock.shape[1]] = self.glock
            self.glock = glock
        return gid

    def refill_pool(self, f: int, providers) -> None:
        self.pool.refill(f, providers, self.pool_fetched)

    def refill_messaging(self, k: int, provider) -> None:
        cur, n = self.mcur[k], self.mlen[k]
        rem = n - cur
        self.mdraws[k, :rem] = self.mdraws[k, cur:n]
        while rem < self.mneed[k] or rem == 0:
            chunk = provider.next_chunk()
            if rem + len(chunk) > self.mdraws.shape[1]:
                md = np.zeros((self.mdraws.shape[0], rem + len(chunk) + self.mdraws.shape[1]), np.float64)
                md[:, : self.mdraws.shape[1]] = self.mdraws
                self.mdraws = md
            self.mdraws[k, rem : rem + len(chunk)] = chunk
            rem += len(chunk)
            self.mfetched[k] += len(chunk)
        self.mlen[k] = rem
        self.mcur[k] = 0

    # ---- end of run and results
    def mark_traces(self, final: bool = False) -> None:
        """A marking pass over what keeps traces open: events, running invocations, messages,
        and (unless `final`: the end of the run) the batches pollers are filling."""
        from kernels import account as A

        ps = self.pool
        A.trace_mark_account(final, ps.g, ps.tri, ps.ei, ps.hh, int(ps.g[K.G_HEAP_N]), self.mi, self.cs, self.it)

    def finish(self) -> None:
        if not self.finished:
            self.start()
            self.finished = True
            self.pool.close_traces(lambda: self.mark_traces(final=True))  # before the last expiries: in flight at the end
            Q.mq_finish(self.pool.kernel_state(), self.queue_arrays())

    def queue_periods(self):
        return self.qpm_i.copy(), self.qpm_f.copy()

    def mapping_periods(self):
        return self.mpm.copy()

    def fleet_periods(self):
        return self.wpm.copy()

    def wait_hist(self):
        return self.whist.copy()

    def wait_range(self):
        """float64 [Q, 2]: each queue's exact smallest and largest first-receive wait (s)."""
        return self.qsf[:, [Q.QSF_WAIT_MIN_S, Q.QSF_WAIT_MAX_S]].copy()

    def queue_totals(self) -> dict:
        tot = self.qpm_i.sum(axis=0)
        return {name: tot[:, k].copy() for k, name in enumerate(QUEUE_PERIOD_INT)
                if name not in ("visible", "in_flight", "delayed")}

    def queue_end_state(self) -> dict:
        return {"visible": self.qs[:, Q.QS_NVIS].copy(), "in_flight": self.qs[:, Q.QS_NINFL].copy(),
                "delayed": self.qs[:, Q.QS_NDELAYED].copy()}

    def pollers(self):
        return self.ms[:, Q.MS_NLIVE].copy()

    def take_steps(self):
        n = int(self.gq[Q.GQ_STEPS_N])
        out = [*self.steps, (self.steps_i[:n, Q.STEP_MAPPING].copy(), self.steps_t[:n].copy(),
                             self.steps_i[:n, Q.STEP_TARGET].copy())]
        self.steps = []
        self.gq[Q.GQ_STEPS_N] = 0
        m, t, v = (np.concatenate([o[k] for o in out]) for k in range(3))
        return m, t, v

    def draws_used(self) -> dict:
        ps = self.pool
        pool_used = self.pool_fetched - (ps.dlen - ps.cur)
        used = self.mfetched - (self.mlen - self.mcur)
        nm, nw = self.nm, self.nw
        item, proc, werr = Q.MESSAGING_STREAMS
        return {**{k: pool_used[s].tolist() for s, k in enumerate(K.STREAMS)},
                item: used[:nm].tolist(), proc: used[nm : nm + 2 * nw : 2].tolist(),
                werr: used[nm + 1 : nm + 2 * nw : 2].tolist()}


def run(state: MessagingState, t_stop: float, arrivals, streams: MessagingStreams, fan=None, ports=None,
        fstreams=None, calls=None, xstreams=None) -> None:
    """Run the account kernel (`kernels.account.run_account`: the pool, queues, mappings and
    fleets, and the fan-out units `fan` if any) to t_stop, feeding it draws and room as it
    asks. `arrivals` = (t, id, fn, src, inv, dover, units, queue, size, key, group[, unit]);
    `ports` = the port tables deliveries enter through (`account_state.empty_ports`);
    `fstreams[j]` = target j's (U, LAT) streams; `calls` the functions' calls and endpoints
    (`account_state.AccountCalls`), `xstreams[row]` its streams."""
    from kernels import account as A
    from sim.compute.account_state import empty_ports, fill_draws, no_calls, no_fanout

    state.start()
    a_t, a_id, a_fn, a_src, a_inv, a_dover, a_units, a_q, a_size, a_key, a_group = arrivals[:11]
    n = len(a_t)
    a_q = np.ascontiguousarray(a_q, np.int64)
    a_unit = np.ascontiguousarray(arrivals[11], np.int64) if len(arrivals) > 11 else np.full(n, -1, np.int64)
    if fan is None:
        fan = state.fanout if getattr(state, "fanout", None) is not None else no_fanout(state.pool.pmi.shape[0])
        state.fanout = fan
    fifo_unit = np.append(fan.upi[:, A.UI_FIFO] != 0, False)  # index -1: not a publish
    a_group = np.asarray(a_group, np.int64)
    gid = state.map_groups(a_q, a_group, extra=fifo_unit[np.maximum(a_unit, -1)] & (a_group >= 0))  # (an API's
    # own answers have units below -1: A.GW_ANSWER_*)
    gid[(a_unit >= 0) & (a_group < 0)] = -1  # a publish without a message group
    fan.grow_groups(state.glock.shape[1])
    arr = A.AccountArrivals(np.ascontiguousarray(a_t, np.float64), np.ascontiguousarray(a_id, np.int64),
                            np.ascontiguousarray(a_fn, np.int64), np.ascontiguousarray(a_src, np.int64),
                            np.ascontiguousarray(a_inv, np.int64), np.ascontiguousarray(a_dover, np.float64),
                            np.ascontiguousarray(a_units, np.int64), a_q, np.ascontiguousarray(a_size, np.int64), gid,
                            a_unit, np.ascontiguousarray(a_key, np.int64))
    if calls is None:
        calls = state.calls if getattr(state, "calls", None) is not None else no_calls(state.pool.nf)
        state.calls = calls
    if ports is None:
        ports = empty_ports()
    i = 0
    nm = state.nm
    while True:
        ps = state.pool
        status, i, which = A.run_account(float(t_stop), arr, i, ps.kernel_state(), state.queue_arrays(),
                                         fan.arrays(ports, calls))
        if status == K.DONE:
            return
        if status == K.NEED_DRAWS:
            state.refill_pool(which, streams.pool[which])
        elif status == Q.NEED_MDRAWS:
            if which < nm:
                provider = streams.item[which]
            else:
                w, r = divmod(which - nm, 2)
                provider = (streams.proc if r == 0 else streams.werr)[w]
            state.refill_messaging(which, provider)
        elif status == A.NEED_FDRAWS:
            fill_draws(fan, fstreams)
        elif status == A.NEED_XDRAWS:
            calls.refill(which, xstreams[which])
        elif status == A.FLOWS_FULL:
            calls.grow_flows()
        elif ps.make_room(status):
            pass
        elif status == Q.MSGS_FULL:
            state.grow_messages(2 * state.mi.shape[0])
        elif status == Q.ITEMS_FULL:
            state.grow_items()
        elif status == Q.STEPS_FULL:
            state.grow_steps()
        else:
            raise RuntimeError(f"run_account: unknown status {status}")
