"""One topic's or bus's tables and counters, the builders of its parameters from subscriptions or rules, and AWS's metrics from its counters.

`FanoutState(params)` holds the per-target table the account's kernel reads and the
counters it writes (`sim.compute.account_state`); `sns_metrics` / `eventbridge_metrics`
turn the counters into AWS's metrics. `sns_params` /
`eventbridge_params` build `kernels.fanout.FanoutParams`, with AWS's default retry policies
(`sim.messaging.retry_policies`) where none is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from kernels.fanout import (
    C_ATTEMPTS, C_DELIVERED, C_DELIVERED_CHUNKS, C_DLQ, C_DROPPED, C_FAILED_ATTEMPTS, C_FILTERED, C_FINAL,
    C_MATCHED_ANY, C_PUT, C_PUT_CHUNKS, C_PUT_THROTTLED, C_THROTTLED, N_GCNT, N_TCNT, N_TPF, N_TPI, P_EMAIL,
    P_HTTPS, SNS_PROTOCOLS, TF_FAIL, TF_MAX_AGE, T_DLQ, T_OUT_N, T_OUT_OFF, T_POL_N, T_POL_OFF, FanoutParams,
    RetrySchedule, check_targets, merge_outages,
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
    """The tables of one topic or bus, and its counters.

    `FanoutState(params)` turns `params` into the per-target table (`tpi`, `tpf`: retry
    policy segments, outage windows, failure rate, maximum event age) that the account's
    kernel flattens with the other units' (`sim.compute.account_state.AccountFanout`), which
    replaces `gcnt`, `rcnt` and `tcnt` with views of its own counters; `sns_metrics` /
    `eventbridge_metrics` turn the counters into AWS's metrics.
    """

    def __init__(self, params: FanoutParams):
        self.params = params
        T, R, P = params.n_targets, params.n_rules, params.n_periods
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
        self.gcnt = np.zeros((P, N_GCNT), np.int64)
        self.rcnt = np.zeros((P, R), np.int64)
        self.tcnt = np.zeros((P, T, N_TCNT), np.int64)

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
