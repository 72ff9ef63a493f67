"""One topic's or bus's arrays and the window-by-window driver of `kernels.fanout.run_fanout`,
the builders of its parameters from subscriptions or rules, and AWS's metrics from its counters.

`FanoutState(params)` owns the arrays; `run` drives the kernel over a window; `sns_metrics`
/ `eventbridge_metrics` turn the raw counters into AWS's metrics. `sns_params` /
`eventbridge_params` build `kernels.fanout.FanoutParams`, with AWS's default retry policies
(`sim.messaging.retry_policies`) where none is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from kernels.fanout import (
    C_ATTEMPTS, C_DELIVERED, C_DELIVERED_CHUNKS, C_DLQ, C_DROPPED, C_FAILED_ATTEMPTS, C_FILTERED, C_FINAL,
    C_MATCHED_ANY, C_PUT, C_PUT_CHUNKS, C_PUT_THROTTLED, C_THROTTLED, DONE, EVENTS_FULL, G_FREE_N, G_HEAP_N,
    G_ROWS_N, NEED_DRAWS, N_EF, N_EI, N_G, N_GCNT, N_RF, N_RI, N_STREAMS, N_TCNT, N_TPF,
    N_TPI, P_EMAIL, P_HTTPS, R_ATTEMPT, R_ID, R_KEY, R_KIND, R_SEQ, R_SIZE, R_T, R_TGT, R_TPUB, SNS_PROTOCOLS,
    TF_FAIL, TF_MAX_AGE, T_DLQ, T_OUT_N, T_OUT_OFF, T_POL_N, T_POL_OFF, FanoutParams, RetrySchedule,
    check_targets, gather_rows, merge_outages, order_ties_by_seq, pending_by_target, run_fanout,
)
from scenarios.messaging import EB_INVOCATIONS_PER_S, EB_MAX_TARGETS, EB_PUT_EVENTS_PER_S
from sim.messaging.retry_policies import eventbridge_policy, sns_policy_for


def sns_params(match, protocols, fail_rate=None, outages=None, policies=None, dlq=None, *,
               fifo=False, n_groups=0, period_s=60.0, n_periods=1,
               publish_rate=math.inf, publish_burst=math.inf) -> FanoutParams:
    """An SNS topic: `match[key, sub]` from the subscriptions' filter policies, one protocol per
    subscription ("sqs", "lambda", "https", "email"). Policies default to SNS's for the
    protocol (`sns_policy_for`); `publish_rate/burst` optionally throttle Publish."""
    match = np.asarray(match, bool)
    s = match.shape[1]
    protos = []
    for j, p in enumerate(protocols):
        if p not in SNS_PROTOCOLS:
            raise ValueError(f"protocols[{j}]: must be one of {', '.join(SNS_PROTOCOLS)}, got {p!r}")
        protos.append(SNS_PROTOCOLS.index(p))
    fail_rate = [0.0] * s if fail_rate is None else [float(x) for x in fail_rate]
    outages = [[] for _ in range(s)] if outages is None else [merge_outages(o) for o in outages]
    policies = [sns_policy_for(p) for p in protocols] if policies is None else list(policies)
    dlq = [False] * s if dlq is None else [bool(x) for x in dlq]
    if len(protos) != s:
        raise ValueError(f"protocols: one per subscription ({s}), got {len(protos)}")
    check_targets(match, s, fail_rate, outages, policies, dlq)
    if fifo and n_groups <= 0:
        raise ValueError(f"n_groups: a FIFO topic needs at least one message group, got {n_groups}")
    return FanoutParams(match, list(range(s + 1)), fail_rate, outages, policies, dlq,
                        put_rate=publish_rate, put_burst=publish_burst, fifo=bool(fifo),
                        n_groups=int(n_groups), period_s=float(period_s), n_periods=int(n_periods),
                        protocols=protos, kind="sns")


@dataclass
class Target:
    """One EventBridge rule target."""

    fail_rate: float = 0.0
    outages: list = field(default_factory=list)
    policy: RetrySchedule | None = None  # None: eventbridge_policy() (185 retries, 24 h)
    dlq: bool = False


def eventbridge_params(match, rule_targets: list[list[Target]], *,
                       put_rate=float(EB_PUT_EVENTS_PER_S["us-east-1"]),
                       put_burst=float(EB_PUT_EVENTS_PER_S["us-east-1"]),
                       inv_rate=float(EB_INVOCATIONS_PER_S["us-east-1"]),
                       inv_burst=float(EB_INVOCATIONS_PER_S["us-east-1"]),
                       period_s=60.0, n_periods=1) -> FanoutParams:
    """An EventBridge bus: `match[key, rule]` from the rules' event patterns, up to five targets
    per rule. Quotas default to us-east-1's (docs/FACTS.md): PutEvents 10,000 entries/s, target
    invocations 18,750/s; the bursts are our assumption (one second's worth)."""
    match = np.asarray(match, bool)
    if len(rule_targets) != match.shape[1]:
        raise ValueError(f"rule_targets: one list per rule ({match.shape[1]}), got {len(rule_targets)}")
    off = [0]
    for r, ts in enumerate(rule_targets):
        if not 1 <= len(ts) <= EB_MAX_TARGETS:
            raise ValueError(f"rule_targets[{r}]: a rule has 1 to {EB_MAX_TARGETS} targets, got {len(ts)}")
        off.append(off[-1] + len(ts))
    flat = [t for ts in rule_targets for t in ts]
    for name, v in (("put_rate", put_rate), ("put_burst", put_burst), ("inv_rate", inv_rate), ("inv_burst", inv_burst)):
        if not v > 0:
            raise ValueError(f"{name}: must be positive, got {v}")
    fail_rate = [float(t.fail_rate) for t in flat]
    outages = [merge_outages(t.outages) for t in flat]
    policies = [t.policy if t.policy is not None else eventbridge_policy() for t in flat]
    dlq = [bool(t.dlq) for t in flat]
    check_targets(match, len(flat), fail_rate, outages, policies, dlq)
    return FanoutParams(match, off, fail_rate, outages, policies, dlq, put_rate=float(put_rate),
                        put_burst=float(put_burst), inv_rate=float(inv_rate), inv_burst=float(inv_burst),
                        period_s=float(period_s), n_periods=int(n_periods), kind="eventbridge")


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
