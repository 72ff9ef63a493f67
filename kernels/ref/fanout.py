"""Plain-Python reference twin of the fan-out engine in FANOUT_SPEC.md (SNS topics, EventBridge buses).

Readable over fast: one event at a time, dicts for pending deliveries, `heapq` for the clock.
The numba kernel (`fanout.py`) must agree with this row by row and counter by counter.
It runs a whole horizon in one call; the kernel's window-by-window results must equal it.

Also here (plain Python, shared with the kernel): `FanoutParams` and the builders
`sns_params` / `eventbridge_params` that turn subscriptions or rules into it.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np

from sim.messaging.retry_policies import RetryPolicy, eventbridge_policy, sns_policy_for

SNS_PROTOCOLS = ("sqs", "lambda", "https", "email")
P_SQS, P_LAMBDA, P_HTTPS, P_EMAIL = range(4)
MAX_TARGETS_PER_RULE = 5
KIND_DELIVERY, KIND_DLQ = 0, 1
CHUNK_BYTES = 64 * 1024

# Counter names (the kernel uses the same indices, see fanout.py).
GLOBAL_COUNTERS = ("put", "put_throttled", "put_chunks", "matched_any")
TARGET_COUNTERS = ("filtered", "attempts", "failed_attempts", "delivered", "delivered_chunks",
                   "dropped", "dlq", "final", "throttled")


@dataclass
class FanoutParams:
    """Static description of one topic or bus (FANOUT_SPEC.md, Inputs).

    Rules r = 0..R-1 own targets `rule_off[r]..rule_off[r+1]-1`; an SNS topic has one rule
    per subscription, with one target each. `match[key, r]`: the rule (or the subscription's
    filter policy) selects message class `key`.
    """

    match: np.ndarray                     # bool [K, R]
    rule_off: list[int]                   # [R + 1]
    fail_rate: list[float]                # per target
    outages: list[list[tuple[float, float]]]  # per target: [start, end) windows
    policies: list[RetryPolicy]           # per target
    dlq: list[bool]                       # per target
    put_rate: float = math.inf            # accepted publishes / PutEvents entries per s
    put_burst: float = math.inf
    inv_rate: float = math.inf            # target invocations per s (bus-wide)
    inv_burst: float = math.inf
    fifo: bool = False
    n_groups: int = 0
    period_s: float = 60.0
    n_periods: int = 1
    protocols: list[int] = field(default_factory=list)  # SNS only: per target, P_*
    kind: str = "sns"                      # "sns" or "eventbridge"

    @property
    def n_rules(self) -> int:
        return len(self.rule_off) - 1

    @property
    def n_targets(self) -> int:
        return self.rule_off[-1]

    def target_rule(self) -> list[int]:
        return [r for r in range(self.n_rules) for _ in range(self.rule_off[r], self.rule_off[r + 1])]


def merge_outages(windows) -> list[tuple[float, float]]:
    """Sorted, non-overlapping [start, end) windows; empty ones dropped, touching ones joined."""
    out: list[list[float]] = []
    for s, e in sorted((float(s), float(e)) for s, e in windows):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _check_common(match, n_targets, fail_rate, outages, policies, dlq):
    for name, v in (("fail_rate", fail_rate), ("outages", outages), ("policies", policies), ("dlq", dlq)):
        if len(v) != n_targets:
            raise ValueError(f"{name}: one entry per target ({n_targets}), got {len(v)}")
    for j, f in enumerate(fail_rate):
        if not 0.0 <= f <= 1.0:
            raise ValueError(f"fail_rate[{j}]: must be in [0, 1], got {f}")
    if match.ndim != 2:
        raise ValueError(f"match: must be a [class, rule] table, got shape {match.shape}")


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
    _check_common(match, s, fail_rate, outages, policies, dlq)
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
    policy: RetryPolicy | None = None  # None: eventbridge_policy() (185 retries, 24 h)
    dlq: bool = False


def eventbridge_params(match, rule_targets: list[list[Target]], *, put_rate=10_000.0,
                       put_burst=10_000.0, inv_rate=18_750.0, inv_burst=18_750.0,
                       period_s=60.0, n_periods=1) -> FanoutParams:
    """An EventBridge bus: `match[key, rule]` from the rules' event patterns, up to five targets
    per rule. Quotas default to us-east-1's (docs/FACTS.md): PutEvents 10,000 entries/s, target
    invocations 18,750/s; the bursts are our assumption (one second's worth)."""
    match = np.asarray(match, bool)
    if len(rule_targets) != match.shape[1]:
        raise ValueError(f"rule_targets: one list per rule ({match.shape[1]}), got {len(rule_targets)}")
    off = [0]
    for r, ts in enumerate(rule_targets):
        if not 1 <= len(ts) <= MAX_TARGETS_PER_RULE:
            raise ValueError(f"rule_targets[{r}]: a rule has 1 to {MAX_TARGETS_PER_RULE} targets, got {len(ts)}")
        off.append(off[-1] + len(ts))
    flat = [t for ts in rule_targets for t in ts]
    for name, v in (("put_rate", put_rate), ("put_burst", put_burst), ("inv_rate", inv_rate), ("inv_burst", inv_burst)):
        if not v > 0:
            raise ValueError(f"{name}: must be positive, got {v}")
    fail_rate = [float(t.fail_rate) for t in flat]
    outages = [merge_outages(t.outages) for t in flat]
    policies = [t.policy if t.policy is not None else eventbridge_policy() for t in flat]
    dlq = [bool(t.dlq) for t in flat]
    _check_common(match, len(flat), fail_rate, outages, policies, dlq)
    return FanoutParams(match, off, fail_rate, outages, policies, dlq, put_rate=float(put_rate),
                        put_burst=float(put_burst), inv_rate=float(inv_rate), inv_burst=float(inv_burst),
                        period_s=float(period_s), n_periods=int(n_periods), kind="eventbridge")


def chunks_64kb(size: int) -> int:
    return max(1, -(-int(size) // CHUNK_BYTES))


@dataclass
class FanoutResult:
    rows: list  # (t, seq, kind, target, id, size, key, attempt, t_pub), sorted by (t, seq)
    gcnt: np.ndarray  # int64 [P, len(GLOBAL_COUNTERS)]
    rcnt: np.ndarray  # int64 [P, R] matched events per rule
    tcnt: np.ndarray  # int64 [P, T, len(TARGET_COUNTERS)]
    pending: list[int]  # per target, at t_end


def simulate_fanout_ref(params: FanoutParams, pubs: dict, streams: dict, t_end: float) -> FanoutResult:
    """Run the spec from t = 0 to `t_end` in one go.

    `pubs`: arrays t (sorted), id, size, key, group (group < 0: none). `streams`: {"U": [...],
    "LAT": [...]} one sequence per target, consumed in order.
    """
    P, R, T = params.n_periods, params.n_rules, params.n_targets
    G = {c: i for i, c in enumerate(GLOBAL_COUNTERS)}
    C = {c: i for i, c in enumerate(TARGET_COUNTERS)}
    gcnt = np.zeros((P, len(G)), np.int64)
    rcnt = np.zeros((P, R), np.int64)
    tcnt = np.zeros((P, T, len(C)), np.int64)
    rows = []
    cur = {"U": [0] * T, "LAT": [0] * T}
    last_delivery: dict = {}  # (target, group) -> last delivery time (FIFO)
    put = {"tokens": params.put_burst, "last": 0.0}
    inv = {"tokens": params.inv_burst, "last": 0.0}
    put_on = math.isfinite(params.put_rate)
    inv_on = math.isfinite(params.inv_rate)
    heap: list = []
    counters = {"sched": 0, "attempt": 0}

    def period(t):
        return min(int(t / params.period_s), P - 1)

    def draw(name, j):
        v = streams[name][j][cur[name][j]]
        cur[name][j] += 1
        return float(v)

    def push(t, ev):
        heapq.heappush(heap, (t, counters["sched"], ev))
        counters["sched"] += 1

    def in_outage(j, t):
        return any(s <= t < e for s, e in params.outages[j])

    def next_delay(ev):
        """Advance the policy position; the delay of the next retry, or None when exhausted."""
        segs = params.policies[ev["target"]].segments
        while ev["seg"] < len(segs) and ev["used"] == segs[ev["seg"]][0]:
            ev["seg"] += 1
            ev["used"] = 0
        if ev["seg"] == len(segs):
            return None
        ev["used"] += 1
        return segs[ev["seg"]][1]

    def deliver(ev, td):
        j = ev["target"]
        rows.append((td, ev["seq"], KIND_DELIVERY, j, ev["id"], ev["size"], ev["key"], ev["attempt"], ev["first_t"]))
        p = period(td)
        tcnt[p, j, C["delivered"]] += 1
        tcnt[p, j, C["delivered_chunks"]] += chunks_64kb(ev["size"])

    def attempt(ev, ta):
        j = ev["target"]
        if inv_on and not ev["has_token"]:
            inv["tokens"] = min(params.inv_burst, inv["tokens"] + params.inv_rate * (ta - inv["last"]))
            inv["last"] = ta
            inv["tokens"] -= 1.0
            if inv["tokens"] < 0.0:
                ready = ta + (-inv["tokens"]) / params.inv_rate
                tcnt[period(ta), j, C["throttled"]] += 1
                push(ready, dict(ev, kind="ready", has_token=True))
                return
        ev = dict(ev, has_token=False, seq=counters["attempt"])
        counters["attempt"] += 1
        pa = period(ta)
        tcnt[pa, j, C["attempts"]] += 1
        fail = in_outage(j, ta)
        if not fail and params.fail_rate[j] > 0.0:
            fail = draw("U", j) < params.fail_rate[j]
        if not fail:
            td = ta + draw("LAT", j) / 1000.0
            if params.fifo and ev["group"] >= 0:
                td = max(td, last_delivery.get((j, ev["group"]), -math.inf))
                last_delivery[(j, ev["group"])] = td
            tcnt[pa, j, C["final"]] += 1
            if td < t_end:
                deliver(ev, td)
            else:
                push(td, dict(ev, kind="deliver"))
            return
        tcnt[pa, j, C["failed_attempts"]] += 1
        d = next_delay(ev)
        if d is not None and ta + d - ev["first_t"] > params.policies[j].max_age_s:
            d = None
        if d is None:
            tcnt[pa, j, C["final"]] += 1
            if params.dlq[j]:
                rows.append((ta, ev["seq"], KIND_DLQ, j, ev["id"], ev["size"], ev["key"], ev["attempt"], ev["first_t"]))
                tcnt[pa, j, C["dlq"]] += 1
            else:
                tcnt[pa, j, C["dropped"]] += 1
            return
        push(ta + d, dict(ev, kind="retry", attempt=ev["attempt"] + 1))

    def publish(k):
        t = float(pubs["t"][k])
        p = period(t)
        if put_on:
            put["tokens"] = min(params.put_burst, put["tokens"] + params.put_rate * (t - put["last"]))
            put["last"] = t
            if put["tokens"] >= 1.0:
                put["tokens"] -= 1.0
            else:
                gcnt[p, G["put_throttled"]] += 1
                return
        size = int(pubs["size"][k])
        gcnt[p, G["put"]] += 1
        gcnt[p, G["put_chunks"]] += chunks_64kb(size)
        key = int(pubs["key"][k])
        matched = False
        for r in range(R):
            targets = range(params.rule_off[r], params.rule_off[r + 1])
            if params.match[key, r]:
                matched = True
                rcnt[p, r] += 1
                for j in targets:
                    attempt(dict(target=j, id=int(pubs["id"][k]), size=size, key=key,
                                 group=int(pubs["group"][k]), first_t=t, attempt=0, seg=0, used=0,
                                 has_token=False), t)
            else:
                for j in targets:
                    tcnt[p, j, C["filtered"]] += 1
        if matched:
            gcnt[p, G["matched_any"]] += 1

    n = len(pubs["t"])
    k = 0
    while True:
        # internal events first at equal times, then publishes in input order
        if heap and heap[0][0] < t_end and (k >= n or heap[0][0] <= pubs["t"][k]):
            t, _, ev = heapq.heappop(heap)
            if ev["kind"] == "deliver":
                deliver(ev, t)
            else:
                attempt(ev, t)
        elif k < n and pubs["t"][k] < t_end:
            publish(k)
            k += 1
        else:
            break
    pending = [0] * T
    for _, _, ev in heap:
        pending[ev["target"]] += 1
    rows.sort(key=lambda r: (r[0], r[1]))
    return FanoutResult(rows, gcnt, rcnt, tcnt, pending)
