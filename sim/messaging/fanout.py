"""SNS topics and EventBridge buses: the components that describe and report them; the account's loop runs them.

Each topic or bus builds its fan-out parameters (FANOUT_SPEC.md): one (message,
subscription/target) pair per match in the class table built at build time, delivery
attempts with the target's failure model and AWS's retry policy, latency per successful
attempt, dead-letter queues; its routes (the account ports its deliveries and dead letters
enter through) and its random streams. `LambdaAccount.add_unit` runs it inside the
account's one event loop (`kernels/account.py`), so a delivery enters its queue or function
at its own time as an event of that loop; the component reports its counters (views of the
account's) as summary sections, metrics and usage.

Default delivery latencies are our assumption (AWS publishes none as a distribution):
SNS to SQS and Lambda lognormal median 30 ms / p99 150 ms, HTTPS 100 ms / 500 ms, email
2 s / 10 s; EventBridge targets lognormal median 400 ms / p99 1.5 s (EventBridge's
"typical latency about half a second", eb-what-is). Messages keep their size through a
delivery (raw message delivery; SNS's JSON envelope is not added).

Simplifications (also in FANOUT_SPEC.md): retry jitter is not modelled (AWS states it
jitters, without a formula); EventBridge's retry backoff schedule is our model (doubling
from 1 s, capped so that 185 retries span 24 h); SNS FIFO topics deliver to FIFO queues in
order per message group, and a retried message does not hold back later ones of its group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from kernels.fanout import C_DELIVERED_CHUNKS, P_EMAIL, P_HTTPS, P_LAMBDA, P_SQS
from kernels.periods import n_periods
from scenarios.messaging import (
    EB_INVOCATIONS_PER_S,
    EB_INVOCATIONS_PER_S_OTHER,
    EB_PUT_EVENTS_PER_S,
    EB_PUT_EVENTS_PER_S_OTHER,
    Bus,
    Topic,
)
from scenarios.schema import Dist
from sim.engine.distributions import sampler
from sim.engine import Component, WiringError
from sim.messaging.fanout_state import FanoutState, Target, eventbridge_params, sns_params
from sim.messaging.retry_policies import eventbridge_policy, sns_http_policy, sns_policy_for
from sim.engine.rng import ChunkStream, generator

SNS_LATENCY_MS = {
    "sqs": Dist(dist="lognormal", median=30.0, p99=150.0),
    "lambda": Dist(dist="lognormal", median=30.0, p99=150.0),
    "https": Dist(dist="lognormal", median=100.0, p99=500.0),
    "email": Dist(dist="lognormal", median=2000.0, p99=10000.0),
}
EB_LATENCY_MS = Dist(dist="lognormal", median=400.0, p99=1500.0)

Route = Tuple[Optional[object], int]  # (destination inbox or None for external endpoints, port)


class _Fanout(Component):
    """What topics and buses share: the kernel tables, routes, streams and the counters' views."""

    def __init__(self, name: str, seed: int, t_end: float, period_s: float, base_dir: Optional[Path]):
        super().__init__(name)
        self.seed, self.t_end, self.period_s = seed, t_end, period_s
        self.n_periods = n_periods(t_end, period_s)
        self.base_dir = base_dir
        self.state: Optional[FanoutState] = None
        self.streams: List[tuple] = []
        self.routes: List[Route] = []  # per target: where deliveries go
        self.dlq_routes: List[Route] = []  # per target: where dead letters go
        self.match_classes: Optional[np.ndarray] = None  # [class, rule]: its filter table, without groups
        self.pending_end: Optional[np.ndarray] = None  # per target, set by its host at the end

    def _streams(self, latencies: List[Dist]) -> None:
        for j, lat in enumerate(latencies):
            scope = f"{self.name}.target{j}"
            self.streams.append((ChunkStream(generator(self.seed, scope, 0), lambda g, n: g.random(n)),
                                 ChunkStream(generator(self.seed, scope, 1), sampler(lat, self.base_dir))))

    def check(self) -> None:
        if len(self.routes) != self.state.params.n_targets:
            raise WiringError(f"{self.name}: {len(self.routes)} routes for {self.state.params.n_targets} targets")

    def pending(self) -> np.ndarray:
        """Pairs still pending at the end, per target (set by the account that runs it)."""
        return self.pending_end if self.pending_end is not None else np.zeros(self.state.params.n_targets, np.int64)

    def step(self, t0: float, t1: float) -> None:
        pass  # its publishes and deliveries are events of the account's loop (LambdaAccount.add_unit)

    def requests_simulated(self) -> int:
        return 0  # counted by the traffic sources that publish


class SnsTopic(_Fanout):
    """One SNS topic and its subscriptions."""

    def __init__(self, name: str, topic: Topic, match: np.ndarray, seed: int, t_end: float,
                 period_s: float, groups: int = 1, base_dir: Optional[Path] = None):
        super().__init__(f"sns.{name}", seed, t_end, period_s, base_dir)
        self.topic_name, self.topic = name, topic
        subs = topic.subscriptions
        fifo = topic.type == "fifo"
        groups = max(1, groups)
        self.match_classes = np.asarray(match, bool)
        policies = []
        for s in subs:
            if s.protocol == "https" and s.delivery_policy is not None:
                d = s.delivery_policy
                policies.append(sns_http_policy(d.min_delay_target_s, d.max_delay_target_s, d.num_retries,
                                                d.num_no_delay_retries, d.num_min_delay_retries,
                                                d.num_max_delay_retries, d.backoff_function))
            else:
                policies.append(sns_policy_for(s.protocol))
        params = sns_params(match, [s.protocol for s in subs], fail_rate=[s.failure_rate for s in subs],
                            outages=[[(o.start_s, o.end_s) for o in s.outages] for s in subs],
                            policies=policies, dlq=[s.dead_letter_queue is not None for s in subs],
                            fifo=fifo, n_groups=groups if fifo else 0, period_s=period_s,
                            n_periods=self.n_periods)
        self.state = FanoutState(params)
        self._streams([s.delivery_latency_ms or SNS_LATENCY_MS[s.protocol] for s in subs])
        self.labels = _labels([f"{s.protocol}:{s.endpoint}" for s in subs])

    def summary_sections(self) -> dict:
        m = self.state.sns_metrics()
        pending = self.pending()
        subs = {}
        for j, label in enumerate(self.labels):
            subs[label] = {
                "delivered": int(m["delivered"][:, j].sum()),
                "filtered_out": int(m["filtered_out"][:, j].sum()),
                "failed": int(m["failed"][:, j].sum()),
                "dead_lettered": int(m["dead_lettered"][:, j].sum()),
                "pending_end": int(pending[j]),
                "attempts": int(m["attempts"][:, j].sum()),
            }
        total = {k: sum(s[k] for s in subs.values()) for k in ("delivered", "filtered_out", "failed", "dead_lettered")}
        return {"topics": {self.topic_name: {
            "published": int(m["published"].sum()),
            **total,
            "notifications_failed": int(m["notifications_failed"].sum()),
            "subscriptions": subs,
        }}}

    def metrics(self):
        m = self.state.sns_metrics()
        dim = f"TopicName={self.topic_name}"
        series = [
            ("NumberOfMessagesPublished", m["published"]),
            ("NumberOfNotificationsDelivered", m["delivered"].sum(axis=1)),
            ("NumberOfNotificationsFailed", m["notifications_failed"].sum(axis=1)),
            ("NumberOfNotificationsFilteredOut", m["filtered_out"].sum(axis=1)),
            ("NumberOfNotificationsRedrivenToDlq", m["dead_lettered"].sum(axis=1)),
        ]
        return _frame(self.period_s, "AWS/SNS", dim, series)

    def usage(self):
        from sim.billing.meters import MeterTable

        protos = np.asarray(self.state.params.protocols)
        chunks = self.state.tcnt[:, :, C_DELIVERED_CHUNKS]
        table = MeterTable("AmazonSNS", [f"topic:{self.topic_name}"], self.n_periods, self.period_s)
        table.declare("Requests-Tier1", "Requests")[:, 0] = self.state.sns_metrics()["publish_chunks"]
        for usage_type, p in (("DeliveryAttempts-HTTP", P_HTTPS), ("DeliveryAttempts-SMTP", P_EMAIL),
                              ("DeliveryAttempts-SQS", P_SQS), ("DeliveryAttempts-LAMBDA", P_LAMBDA)):
            if np.any(protos == p):
                table.declare(usage_type, "Notifications")[:, 0] = chunks[:, protos == p].sum(axis=1)
        return table.usage()


class EventBus(_Fanout):
    """One EventBridge event bus, its rules and their targets."""

    def __init__(self, name: str, bus: Bus, region: str, match: np.ndarray, seed: int, t_end: float,
                 period_s: float, base_dir: Optional[Path] = None):
        super().__init__(f"events.{name}", seed, t_end, period_s, base_dir)
        self.bus_name, self.bus = name, bus
        put = bus.put_events_per_s or EB_PUT_EVENTS_PER_S.get(region, EB_PUT_EVENTS_PER_S_OTHER)
        inv = bus.invocations_per_s or EB_INVOCATIONS_PER_S.get(region, EB_INVOCATIONS_PER_S_OTHER)
        rule_targets, latencies, labels = [], [], []
        for rname, rule in bus.rules.items():
            ts = []
            for tg in rule.targets:
                rp = tg.retry_policy
                ts.append(Target(tg.failure_rate, [(o.start_s, o.end_s) for o in tg.outages],
                                 eventbridge_policy(rp.maximum_retry_attempts, int(rp.maximum_event_age_s)),
                                 tg.dead_letter_queue is not None))
                latencies.append(tg.delivery_latency_ms or EB_LATENCY_MS)
                labels.append(f"{rname}->{tg.target}")
            rule_targets.append(ts)
        params = eventbridge_params(match, rule_targets, put_rate=put, put_burst=put, inv_rate=inv, inv_burst=inv,
                                    period_s=period_s, n_periods=self.n_periods)
        self.state = FanoutState(params)
        self.match_classes = np.asarray(match, bool)
        self._streams(latencies)
        self.rule_names = list(bus.rules)
        self.target_labels = labels

    def summary_sections(self) -> dict:
        m = self.state.eventbridge_metrics()
        rules = {}
        for r, name in enumerate(self.rule_names):
            rules[name] = {
                "matched": int(m["matched_events"][:, r].sum()),
                "invocations": int(m["invocations"][:, r].sum()),
                "failed": int(m["failed_invocations"][:, r].sum()),
                "throttled": int(m["throttled_rules"][:, r].sum()),
            }
        pending = self.pending()
        return {"buses": {self.bus_name: {
            "entries": int(m["put"].sum() + m["put_throttled"].sum()),
            "put": int(m["put"].sum()),
            "put_throttled": int(m["put_throttled"].sum()),
            "matched": int(m["matched_any"].sum()),
            "invocations": int(m["invocations"].sum()),
            "failed": int(m["failed_invocations"].sum()),
            "throttled": int(m["throttled_rules"].sum()),
            "dead_lettered": int(m["dlq"].sum()),
            "pending_end": int(pending.sum()),
            "rules": rules,
        }}}

    def metrics(self):
        import polars as pl

        m = self.state.eventbridge_metrics()
        frames = [_frame(self.period_s, "AWS/Events", f"EventBusName={self.bus_name}", [
            ("PutEventsApproximateCallCount", m["put"] + m["put_throttled"]),
            ("PutEventsApproximateThrottledCount", m["put_throttled"]),
            ("MatchedEvents", m["matched_any"])])]
        for r, name in enumerate(self.rule_names):
            frames.append(_frame(self.period_s, "AWS/Events", f"EventBusName={self.bus_name},RuleName={name}", [
                ("Invocations", m["invocations"][:, r]), ("FailedInvocations", m["failed_invocations"][:, r]),
                ("MatchedEvents", m["matched_events"][:, r]), ("ThrottledRules", m["throttled_rules"][:, r])]))
        return pl.concat(frames)

    def usage(self):
        from sim.billing.meters import MeterTable

        table = MeterTable("AmazonEventBridge", [f"bus:{self.bus_name}"], self.n_periods, self.period_s)
        table.declare("Event-64K-Chunks", "Events")[:, 0] = self.state.eventbridge_metrics()["put_chunks"]
        return table.usage()


def _labels(names: List[str]) -> List[str]:
    """Names made unique by a #2, #3 … suffix on repeats."""
    seen: Dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
    return out


def _frame(period_s: float, namespace: str, dim: str, series):
    import polars as pl

    frames = []
    for metric, values in series:
        v = np.asarray(values, np.float64)
        frames.append(pl.DataFrame({"time_s": np.arange(len(v)) * period_s, "namespace": namespace,
                                    "metric": metric, "dimension": dim, "value": v}))
    return pl.concat(frames)

