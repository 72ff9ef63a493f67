"""The account kernel's fan-out arrays (its topics and buses, flattened) and the window-by-window driver of `run_account`.

`AccountFanout` concatenates the arrays each unit's `FanoutState` builds from its
`FanoutParams` (targets, rules, retry policies, outages) into the flat tables
`kernels.account` reads, adds the ports each target delivers and dead-letters through,
and hands every unit views of its own counters, so a topic's or bus's metrics read as
before. `run` feeds the kernel draws and room as it asks (`sim.messaging.sqs_state.run`
with the fan-out's statuses).
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from kernels import account as A
from kernels import fanout as F
from kernels.buckets import bucket_arrays
from kernels.tables import table_arrays
from sim.messaging.fanout_state import FanoutState


class AccountFanout:
    """The fan-out units of one account as the kernel reads them.

    `units[u]`: a unit's FanoutState (its params and per-target tables); `tports[u][j]`,
    `dports[u][j]`: the account port target j of unit u delivers (dead-letters) through, -1
    for none; `match` the class table [class, rule] of every unit side by side (a unit's
    own table without FIFO groups)."""

    def __init__(self, units: Sequence[FanoutState], matches: Sequence[np.ndarray], tports: Sequence[Sequence[int]],
                 dports: Sequence[Sequence[int]], n_periods: int, chunk: int, n_classes: int = 1):
        self.units = list(units)
        U = len(self.units)
        T = sum(s.params.n_targets for s in self.units)
        R = sum(s.params.n_rules for s in self.units)
        self.n_targets, self.n_rules = T, R
        self.upi = np.zeros((U, A.N_UI), np.int64)
        self.upf = np.zeros((U, A.N_UF), np.float64)
        self.ust = np.zeros((U, A.N_US), np.float64)
        self.tpi = np.zeros((T, A.N_TI), np.int64)
        self.tpf = np.zeros((T, A.N_TF), np.float64)
        K = max([n_classes] + [m.shape[0] for m in matches])
        self.match = np.zeros((K, max(R, 1)), np.bool_)
        seg_n, seg_d, out_s, out_e = [], [], [], []
        t0 = r0 = 0
        for u, st in enumerate(self.units):
            p = st.params
            nt, nr = p.n_targets, p.n_rules
            self.upi[u] = [int(p.fifo), t0, t0 + nt, r0, r0 + nr]
            self.upf[u] = [p.put_rate, p.put_burst, p.inv_rate, p.inv_burst]
            self.ust[u] = [p.put_burst, 0.0, p.inv_burst, 0.0]
            m = np.asarray(matches[u], np.bool_)
            self.match[: m.shape[0], r0 : r0 + nr] = m
            for j in range(nt):
                k = t0 + j
                self.tpi[k, A.TI_UNIT] = u
                self.tpi[k, A.TI_RULE] = r0 + st.trule[j]
                self.tpi[k, A.TI_POL_OFF] = len(seg_n) + st.tpi[j, F.T_POL_OFF]
                self.tpi[k, A.TI_POL_N] = st.tpi[j, F.T_POL_N]
                self.tpi[k, A.TI_OUT_OFF] = len(out_s) + st.tpi[j, F.T_OUT_OFF]
                self.tpi[k, A.TI_OUT_N] = st.tpi[j, F.T_OUT_N]
                self.tpi[k, A.TI_PORT] = tports[u][j]
                self.tpi[k, A.TI_DLQ_PORT] = dports[u][j] if p.dlq[j] else -1
                self.tpf[k, A.TF_FAIL] = st.tpf[j, F.TF_FAIL]
                self.tpf[k, A.TF_MAX_AGE] = st.tpf[j, F.TF_MAX_AGE]
            seg_n += st.seg_n[:-1].tolist()
            seg_d += st.seg_d[:-1].tolist()
            out_s += st.out_s[:-1].tolist()
            out_e += st.out_e[:-1].tolist()
            t0, r0 = t0 + nt, r0 + nr
        self.seg_n = np.asarray(seg_n + [0], np.int64)
        self.seg_d = np.asarray(seg_d + [0.0], np.float64)
        self.out_s = np.asarray(out_s + [0.0], np.float64)
        self.out_e = np.asarray(out_e + [0.0], np.float64)
        self.ocur = self.tpi[:, A.TI_OUT_OFF].copy()
        self.flast = np.full((max(T, 1), 1), -np.inf)
        self.chunk = chunk
        self.fdraws = np.zeros((F.N_STREAMS, max(T, 1), 2 * chunk if T else 1), np.float64)
        self.fcur = np.zeros((F.N_STREAMS, max(T, 1)), np.int64)
        self.flen = np.zeros((F.N_STREAMS, max(T, 1)), np.int64)
        self.gcnt = np.zeros((n_periods, max(U, 1), F.N_GCNT), np.int64)
        self.rcnt = np.zeros((n_periods, max(R, 1)), np.int64)
        self.tcnt = np.zeros((n_periods, max(T, 1), F.N_TCNT), np.int64)
        for u, st in enumerate(self.units):  # each unit's counters are views of the account's
            lo, hi = self.upi[u, A.UI_T0], self.upi[u, A.UI_T1]
            st.gcnt = self.gcnt[:, u, :]
            st.rcnt = self.rcnt[:, self.upi[u, A.UI_R0] : self.upi[u, A.UI_R1]]
            st.tcnt = self.tcnt[:, lo:hi, :]

    def grow_groups(self, n: int) -> None:
        """Room in `flast` for n dense message groups."""
        if n > self.flast.shape[1]:
            fl = np.full((self.flast.shape[0], max(n, 2 * self.flast.shape[1])), -np.inf)
            fl[:, : self.flast.shape[1]] = self.flast
            self.flast = fl

    def refill(self, j: int, streams) -> None:
        """Append the next chunk to each stream of target j that is running low (`streams[s]`
        with `next_chunk()`)."""
        for s in range(F.N_STREAMS):
            c, n = int(self.fcur[s, j]), int(self.flen[s, j])
            rem = n - c
            if rem >= self.chunk:
                continue
            chunk = np.asarray(streams[s].next_chunk(), np.float64)
            if rem + len(chunk) > self.fdraws.shape[2]:
                grown = np.zeros(self.fdraws.shape[:2] + (rem + len(chunk),), np.float64)
                grown[:, :, : self.fdraws.shape[2]] = self.fdraws
                self.fdraws = grown
            self.fdraws[s, j, :rem] = self.fdraws[s, j, c:n]
            self.fdraws[s, j, rem : rem + len(chunk)] = chunk
            self.flen[s, j] = rem + len(chunk)
            self.fcur[s, j] = 0

    def arrays(self, ports, calls: "AccountCalls") -> A.AccountArrays:
        """The kernel's tuple; `ports` = (port_fn, port_inv, port_q, port_unit, port_seq) int64 arrays."""
        return A.AccountArrays(self.upi, self.upf, self.ust, self.match, self.tpi, self.tpf, self.seg_n, self.seg_d,
                               self.out_s, self.out_e, self.ocur, self.flast, self.fdraws, self.fcur, self.flen,
                               self.gcnt, self.rcnt, self.tcnt, *ports, *calls.arrays())

    def pending(self, ei: np.ndarray, hh: np.ndarray, heap_n: int) -> List[np.ndarray]:
        """Pairs still scheduled at the end, per unit and target."""
        out = np.zeros(max(self.n_targets, 1), np.int64)
        A.pending_by_target(ei, hh, heap_n, out)
        return [out[self.upi[u, A.UI_T0] : self.upi[u, A.UI_T1]].copy() for u in range(len(self.units))]


def no_fanout(n_periods: int) -> AccountFanout:
    """An account without topics or buses."""
    return AccountFanout([], [], [], [], n_periods, 1)


def empty_ports(n: int = 0):
    """Port tables for n ports that no fan-out delivers through."""
    return tuple(np.full(max(n, 1), -1, np.int64) for _ in range(4)) + (np.zeros(max(n, 1), np.int64),)


def fill_draws(fan: AccountFanout, fstreams: Optional[list]) -> None:
    """Top up every target whose streams run low (fewer returns to Python than one by one)."""
    for k in np.flatnonzero((fan.flen - fan.fcur).min(axis=0) < fan.chunk):
        if k < fan.n_targets:
            fan.refill(int(k), fstreams[k])


class AccountCalls:
    """The functions' calls and the endpoints as the account kernel reads them (ACCOUNT_SPEC.md §3-§5).

    `calls[f]`: function f's `kernels.account.CallParams` in list order (its `calls`, then its
    egress entries as calls of kind K_FLOW); `endpoints[e]`: `EndpointParams`. Streams (`xdraws`
    rows): CALL per function, CLAT per call, ELAT and EU per endpoint, TU and TK per call to a
    table, refilled by `refill(row, stream)`. Flow records (`flw_t`, `flw_k`, `flw_n`): `flows`
    to start with, doubled when the kernel asks (`grow_flows`), taken by `take_flows`. Tables:
    `tables` as `kernels.tables.table_arrays` takes them, counted over `n_periods` periods. S3
    buckets: `buckets[b]` a dict of `prefixes` (how many), `bytes_per_s` (a request's transfer
    rate), `unit` (its notifications' fan-out unit, -1: none) and `port` (their ids'; -1: none).
    """

    def __init__(self, n_functions: int, calls: Sequence[Sequence[A.CallParams]],
                 endpoints: Sequence[A.EndpointParams], chunk: int, flows: int = 1024, tables: Sequence[dict] = (),
                 n_periods: int = 1, buckets: Sequence[dict] = (), machines: Sequence[A.MachineParams] = (),
                 sfn_quotas: Sequence[float] = (np.inf,) * 6):
        calls = [list(calls[f]) if f < len(calls) else [] for f in range(n_functions)]
        for f, cs in enumerate(calls):
            if len(cs) > A.MAX_CALLS:
                raise ValueError(f"function {f}: {len(cs)} calls, at most {A.MAX_CALLS}")
        # each state machine is a pseudo-function after the functions, its Task states its calls
        # (ACCOUNT_SPEC.md §14)
        self.n_machines = len(machines)
        calls += [list(mp.calls) for mp in machines]
        flat = [cp for cs in calls for cp in cs]
        K, E = len(flat), len(endpoints)
        self.n_real_functions = n_functions
        n_functions += len(machines)
        self.n_functions, self.n_calls, self.n_endpoints = n_functions, K, E
        self.cfo = np.concatenate([[0], np.cumsum([len(cs) for cs in calls])]).astype(np.int64)
        self.cpi = np.zeros((max(K, 1), A.N_CP), np.int64)
        self.cpf = np.zeros((max(K, 1), A.N_CPF), np.float64)
        cdf: list = []
        # calls to tables and buckets: the j-th's TU, TK rows
        self.table_calls = [k for k, cp in enumerate(flat) if cp.kind in (A.K_TABLE, A.K_BUCKET)]
        trow0 = n_functions + K + 2 * len(endpoints)
        for k, cp in enumerate(flat):
            f = int(np.searchsorted(self.cfo, k, side="right") - 1)
            trow = trow0 + 2 * self.table_calls.index(k) if cp.kind in (A.K_TABLE, A.K_BUCKET) else -1
            self.cpi[k] = [f, cp.kind, cp.index, int(cp.sync), cp.count, int(cp.at_end), cp.size_bytes, cp.key,
                           cp.max_attempts, int(cp.on_error_continue), cp.port, len(cdf), len(cdf) + len(cp.key_cdf),
                           trow, cp.direction]
            cdf += [float(v) for v in cp.key_cdf]
            self.cpf[k, A.CPF_PROB] = cp.probability
        self.ccdf = np.asarray(cdf + [1.0], np.float64)
        self.cstat = np.zeros((max(K, 1), A.N_CST), np.int64)
        self.epi = np.zeros((max(E, 1), A.N_EPI), np.int64)
        self.epf = np.zeros((max(E, 1), A.N_EPF), np.float64)
        self.eps = np.zeros((max(E, 1), A.N_ES), np.float64)
        out_s, out_e = [], []
        for e, ep in enumerate(endpoints):
            self.epi[e] = [ep.max_concurrency, len(out_s), len(ep.outages)]
            self.epf[e] = [ep.rate_per_s, ep.burst, ep.error_rate]
            self.eps[e, A.ES_TOKENS] = ep.burst
            out_s += [float(a) for a, _ in ep.outages]
            out_e += [float(b) for _, b in ep.outages]
        self.eout_s = np.asarray(out_s + [0.0], np.float64)
        self.eout_e = np.asarray(out_e + [0.0], np.float64)
        self.ecur = self.epi[:, A.EPI_OUT_OFF].copy()
        self.ebusy = np.zeros(max(E, 1), np.int64)
        self.estat = np.zeros((max(E, 1), A.N_EC), np.int64)
        S0 = n_functions + K + 2 * E + 2 * len(self.table_calls)
        self._workflow_arrays(machines, sfn_quotas, S0, n_periods)
        S = S0 + self.n_state_streams
        self.n_streams = S
        self.chunk = chunk
        self.xdraws = np.zeros((max(S, 1), 2 * chunk if S else 1), np.float64)
        self.xcur = np.zeros(max(S, 1), np.int64)
        self.xlen = np.zeros(max(S, 1), np.int64)
        self.need = np.array([len(cs) + 1 for cs in calls[:self.n_real_functions]]
                             + [len(mp.states) + 2 for mp in machines] + [1] * (S - n_functions), np.int64)
        # each function's deadline list (head, tail: none; no heap entry)
        self.dl = np.full((max(n_functions, 1), A.N_DL), -1, np.int64)
        self.dl[:, A.DL_IN_HEAP] = 0
        self.fetched = np.zeros(max(S, 1), np.int64)
        # flow records of the egress calls' arrivals, in event order (kernels.account FLOWS_FULL)
        self.flw_t = np.zeros(max(int(flows), 1), np.float64)
        self.flw_k = np.zeros(max(int(flows), 1), np.int64)
        self.flw_n = np.zeros(1, np.int64)
        self.tbi, self.tbf, self.tpart, self.tring, self.tper = table_arrays(list(tables), n_periods)
        self.bki = np.full((max(len(buckets), 1), A.N_BKI), -1, np.int64)
        self.bkf = np.ones((max(len(buckets), 1), A.N_BKF), np.float64)
        row = 0
        for b, spec in enumerate(buckets):
            self.bki[b] = [row, spec.get("unit", -1), spec.get("port", -1)]
            self.bkf[b, A.BKF_BYTES_PER_S] = spec["bytes_per_s"]
            row += int(spec["prefixes"])
        self.ptok, self.plast, self.pparts, self.pslow, self.bper = bucket_arrays(
            [int(s["prefixes"]) for s in buckets], n_periods)

    def _workflow_arrays(self, machines, quotas, row0: int, n_periods: int) -> None:
        """The state machines' arrays (kernels.account WM_*, WS_*, WR_*, WC_*; ACCOUNT_SPEC.md §14);
        their states' own streams are `xdraws` rows from row0 on."""
        M = len(machines)
        n_st = sum(len(mp.states) for mp in machines)
        n_r = sum(len(sp.retriers) for mp in machines for sp in mp.states)
        n_c = sum(len(sp.catchers) for mp in machines for sp in mp.states)
        n_b = sum(len(sp.branches) for mp in machines for sp in mp.states)
        self.wmi = np.zeros((max(M, 1), A.N_WM), np.int64)
        self.wmf = np.full((max(M, 1), A.N_WMF), np.inf, np.float64)
        self.wsi = np.full((max(n_st, 1), A.N_WS), -1, np.int64)
        self.wsf = np.zeros((max(n_st, 1), A.N_WSF), np.float64)
        self.wri = np.zeros((max(n_r, 1), A.N_WR), np.int64)
        self.wrf = np.zeros((max(n_r, 1), A.N_WRF), np.float64)
        self.wci = np.zeros((max(n_c, 1), A.N_WC), np.int64)
        self.wbp = np.zeros(max(n_b, 1), np.float64)
        self.wbn = np.full(max(n_b, 1), -1, np.int64)
        self.wq = np.zeros((A.N_WQ, A.N_WQC), np.float64)
        q = list(quotas)
        for row, (rate, burst) in enumerate(((q[0], q[1]), (q[2], q[3]), (q[4], q[5]))):
            self.wq[row] = [burst, 0.0, rate, burst]
        self.wcnt = np.zeros((max(n_periods, 1), max(M, 1), A.N_W), np.int64)
        self.state_rows = []  # per machine, per state: its global row
        st0 = r = cc = b = 0
        srow = row0
        for m, mp in enumerate(machines):
            F_m = self.n_real_functions + m
            k0 = int(self.cfo[F_m])
            fork = 0
            for j, sp in enumerate(mp.states):
                g = st0 + j
                if len(sp.retriers) > A.MAX_RETRIERS:
                    raise ValueError(f"machine {m} state {j}: {len(sp.retriers)} retriers, at most {A.MAX_RETRIERS}")
                own = srow if sp.stream else -1
                srow += int(sp.stream)
                nb = len(sp.branches)
                self.wsi[g] = [sp.op, st0 + sp.next if sp.next >= 0 else -1, m, k0 + sp.call if sp.call >= 0 else -1,
                               int(sp.callback), r, r + len(sp.retriers), cc, cc + len(sp.catchers), b, b + nb,
                               st0 + sp.processor if sp.processor >= 0 else -1, max(int(sp.max_concurrency), 1), own,
                               int(sp.tolerated_count)]
                self.wsf[g] = [sp.wait_s, sp.timeout_s, sp.callback_failure, sp.tolerated_share]
                for mask, max_att, interval, backoff, max_delay, full in sp.retriers:
                    self.wri[r] = [mask, min(int(max_att), A.MAX_COUNTED_ATTEMPTS), int(full)]
                    self.wrf[r] = [interval, backoff, max_delay]
                    r += 1
                for mask, nxt in sp.catchers:
                    self.wci[cc] = [mask, st0 + nxt]
                    cc += 1
                for br in sp.branches:
                    if sp.op == A.OP_CHOICE:
                        self.wbp[b], self.wbn[b] = br[0], st0 + br[1] if br[1] >= 0 else -1
                    else:
                        self.wbn[b] = st0 + br
                    b += 1
                if sp.op == A.OP_PARALLEL:
                    fork = max(fork, nb)
                elif sp.op == A.OP_MAP:
                    fork = max(fork, int(sp.max_concurrency))
            self.wmi[m] = [int(mp.express), st0 + mp.start, len(mp.states), int(mp.memory_mb), st0, fork, k0,
                           k0 + len(mp.calls)]
            self.wmf[m, A.WMF_TIMEOUT_S] = mp.timeout_s
            self.state_rows.append(list(range(st0, st0 + len(mp.states))))
            st0 += len(mp.states)
        self.n_state_streams = srow - row0
        self.state_stream_row0 = row0

    def arrays(self):
        return (self.cfo, self.cpi, self.cpf, self.cstat, self.xdraws, self.xcur, self.xlen, self.epi, self.epf,
                self.eps, self.ebusy, self.estat, self.eout_s, self.eout_e, self.ecur, self.ccdf, self.dl,
                self.flw_t, self.flw_k, self.flw_n, self.tbi, self.tbf, self.tpart, self.tring, self.tper,
                self.bki, self.bkf, self.ptok, self.plast, self.pparts, self.pslow, self.bper,
                self.wmi, self.wmf, self.wsi, self.wsf, self.wri, self.wrf, self.wci, self.wbp, self.wbn, self.wq,
                self.wcnt)

    def grow_flows(self) -> None:
        """Twice the room for flow records, keeping those not yet taken."""
        n = int(self.flw_n[0])
        cap = 2 * self.flw_t.shape[0]
        t, k = np.zeros(cap, np.float64), np.zeros(cap, np.int64)
        t[:n], k[:n] = self.flw_t[:n], self.flw_k[:n]
        self.flw_t, self.flw_k = t, k

    def take_flows(self):
        """(t float64, k int64): the flow records written since the last take (copies), in event
        order; k is the egress call's global index. The buffer is empty afterwards."""
        n = int(self.flw_n[0])
        out = self.flw_t[:n].copy(), self.flw_k[:n].copy()
        self.flw_n[0] = 0
        return out

    def refill(self, row: int, stream) -> None:
        """Move stream `row`'s unused draws to the front and append chunks until it has enough."""
        c, n = int(self.xcur[row]), int(self.xlen[row])
        rem = n - c
        self.xdraws[row, :rem] = self.xdraws[row, c:n]
        while rem < max(self.need[row], 1) or rem < self.chunk:
            chunk = np.asarray(stream.next_chunk(), np.float64)
            if rem + len(chunk) > self.xdraws.shape[1]:
                grown = np.zeros((self.xdraws.shape[0], rem + len(chunk) + self.xdraws.shape[1]), np.float64)
                grown[:, : self.xdraws.shape[1]] = self.xdraws
                self.xdraws = grown
            self.xdraws[row, rem : rem + len(chunk)] = chunk
            rem += len(chunk)
            self.fetched[row] += len(chunk)
        self.xlen[row] = rem
        self.xcur[row] = 0

    def used(self) -> np.ndarray:
        """Draws consumed per stream row."""
        return self.fetched - (self.xlen - self.xcur)

    def stream_row(self, kind: str, index: int) -> int:
        """The `xdraws` row of stream CALL (function), CLAT (call), ELAT or EU (endpoint), TU or
        TK (the index-th call to a table or a bucket)."""
        F, K, E = self.n_functions, self.n_calls, self.n_endpoints
        return {"CALL": index, "CLAT": F + index, "ELAT": F + K + 2 * index, "EU": F + K + 2 * index + 1,
                "TU": F + K + 2 * E + 2 * index, "TK": F + K + 2 * E + 2 * index + 1}[kind]


def no_calls(n_functions: int) -> AccountCalls:
    return AccountCalls(n_functions, [], [], 1)
