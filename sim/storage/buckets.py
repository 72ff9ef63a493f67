"""S3 buckets in the account (ACCOUNT_SPEC.md §13): their kernel specs, the draws of the calls
that reach them, prefix partitioning as a control process, event notifications as a fan-out
unit of the account's loop, and their summary, metrics and bill.

- **Draws.** Each call to a bucket has two streams of its own: TU, its object's size in bytes
  (`object_bytes`, default 0: nothing moved), and TK, the prefix it reaches (drawn from the
  bucket's or the call's `prefixes`: uniform or Zipf over `n` prefixes).
- **Prefixes partition** (`kernels/buckets.py split`): a SimPy process wakes at every whole
  minute and, for each prefix that answered 503 Slow Down in every one of the last
  `split_after_min` minutes (30 by default: our reading of AWS's "30-60 minutes", FACTS "S3
  request rates"), doubles its rates; the count starts again after a split.
- **Notifications** (ObjectCreated: PUT, POST, COPY): `S3Notifications`, a fan-out unit run by
  the account's loop like a bus (FANOUT_SPEC.md) with one target per notification, every event
  matching; delivery at least once after a latency (default lognormal, median 1 s, p99 10 s:
  our assumption within AWS's "typically seconds, sometimes a minute or longer"); retries as
  EventBridge's (our assumption: AWS documents none). Notifications are free.
- **Bill** (AmazonS3): requests that S3 served (a 503 is not billed: our reading) by class —
  PUT, COPY, POST, LIST in Tier1, GET and HEAD in Tier2, DELETE free — with the usage types of
  the bucket's storage class (Standard, Standard-IA, Glacier Instant Retrieval: requests,
  retrieval of what GETs read for the last two), and the storage (`storage_gb`,
  TimedStorage-*-ByteHrs in GB-months of `billing.month_h`). Requests come from functions in
  the Region: no data transfer out.
"""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from kernels import buckets as B
from scenarios.common import Dist
from scenarios.state import NOTIFICATION_LATENCY_MS, Bucket, Keys
from sim.engine.distributions import sampler
from sim.messaging.fanout import _Fanout, _labels
from sim.messaging.fanout_state import FanoutState, Target, eventbridge_params
from sim.messaging.retry_policies import eventbridge_policy
from sim.storage.tables import zipf_cdf

MINUTE_S = 60.0
# Usage types by storage class: (Tier1 requests, Tier2 requests, storage, retrieval per GB or None)
CLASS_USAGE = {
    "STANDARD": ("Requests-Tier1", "Requests-Tier2", "TimedStorage-ByteHrs", None),
    "STANDARD_IA": ("Requests-SIA-Tier1", "Requests-SIA-Tier2", "TimedStorage-SIA-ByteHrs", "Retrieval-SIA"),
    "GLACIER_IR": ("Requests-GIR-Tier1", "Requests-GIR-Tier2", "TimedStorage-GIR-ByteHrs", "Retrieval-GIR"),
}


def prefix_sampler(prefixes: Keys):
    """Draws of the prefix (0 .. n-1) each request reaches (the TK stream of a call to a bucket)."""
    n = prefixes.n
    if prefixes.dist == "uniform":
        return lambda gen, size: gen.integers(0, n, size).astype(np.float64)
    cdf = zipf_cdf(n, prefixes.s)
    return lambda gen, size: np.minimum(np.searchsorted(cdf, gen.random(size), side="right"), n - 1).astype(np.float64)


def size_sampler(call, base_dir: Optional[Path]):
    """Draws of each request's object size in bytes (the TU stream), whole, 0 when not given."""
    size = call.object_bytes if call.object_bytes is not None else 0.0
    draw = sampler(size if isinstance(size, Dist) else Dist(dist="fixed", value=float(size)), base_dir)
    return lambda gen, n: np.ceil(np.maximum(draw(gen, n), 0.0))


class S3Notifications(_Fanout):
    """A bucket's event notifications: a fan-out unit of the account's loop with one rule whose
    targets are the notifications', matching every event (module docstring)."""

    def __init__(self, name: str, bucket: Bucket, n_classes: int, seed: int, t_end: float, period_s: float,
                 base_dir: Optional[Path] = None):
        super().__init__(f"s3.{name}.notifications", seed, t_end, period_s, base_dir)
        self.bucket_name, self.bucket = name, bucket
        match = np.ones((max(n_classes, 1), 1), bool)
        targets = [Target(0.0, [], eventbridge_policy(), False) for _ in bucket.notifications]
        params = eventbridge_params(match, [targets], put_rate=math.inf, put_burst=math.inf, inv_rate=math.inf,
                                    inv_burst=math.inf, period_s=period_s, n_periods=self.n_periods)
        self.state = FanoutState(params)
        self.match_classes = match
        self._streams([nt.latency_ms or Dist(**NOTIFICATION_LATENCY_MS) for nt in bucket.notifications])
        self.target_labels = _labels([f"notification->{nt.target}" for nt in bucket.notifications])

    def delivered(self) -> Dict[str, int]:
        """Events sent, and per target those delivered, failed for good and pending at the end
        (events = delivered + failed + pending_end per target)."""
        m = self.state.eventbridge_metrics()
        d = m["deliveries"].sum(axis=0)
        return {"events": int(m["put"].sum()), "delivered": int(d.sum()),
                "failed": int(m["failed_invocations"].sum()), "pending_end": int(self.pending().sum())}


class Buckets:
    """The account's buckets around their kernel state (see the module docstring)."""

    def __init__(self, buckets: Dict[str, Bucket], t_end: float, period_s: float, month_h: float = 730.0):
        self.buckets = dict(buckets)
        self.names = list(buckets)
        self.t_end, self.period_s, self.month_h = t_end, period_s, month_h
        self.state = None  # sim.compute.account_state.AccountCalls, from start()
        self.units: Dict[str, tuple] = {}  # bucket -> (its S3Notifications, unit index, port)
        self.splits: List[tuple] = []  # (t, bucket, prefix)

    def specs(self) -> List[dict]:
        out = []
        for name, b in self.buckets.items():
            _, unit, port = self.units.get(name, (None, -1, -1))
            out.append({"prefixes": b.prefixes.n, "bytes_per_s": b.throughput_mb_per_s * 1e6, "unit": unit,
                        "port": port})
        return out

    def start(self, env, state) -> None:
        """Hold the kernel state; start the prefixes' partitioning."""
        self.state = state
        if self.buckets:
            env.process(self._partition(env))

    def _partition(self, env):
        st = self.state
        rows = np.concatenate([[0], np.cumsum([b.prefixes.n for b in self.buckets.values()])]).astype(np.int64)
        streak = np.zeros(int(rows[-1]), np.int64)  # minutes in a row with 503s, per prefix
        need = np.concatenate([np.full(b.prefixes.n, b.split_after_min) for b in self.buckets.values()])
        minute = 0
        while True:
            minute += 1
            yield env.timeout(minute * MINUTE_S - env.now)
            slow = st.pslow[: len(streak)] > 0
            st.pslow[:] = 0
            streak = np.where(slow, streak + 1, 0)
            for row in np.flatnonzero(streak >= need).tolist():
                B.split(env.now, row, st.ptok, st.plast, st.pparts)
                b = int(np.searchsorted(rows, row, side="right") - 1)
                self.splits.append((env.now, self.names[b], row - int(rows[b])))
                streak[row] = 0

    # outputs ----------------------------------------------------------------------------
    def summary(self) -> Dict[str, dict]:
        """summary.json's `buckets`: per bucket, requests = served + slow_down, by operation, the
        bytes moved, mean first-byte and total latency, partition splits, its notifications."""
        st = self.state
        out = {}
        for b, (name, bk) in enumerate(self.buckets.items()):
            c = st.bper[:, b].sum(axis=0)
            served = int(c[B.BC_REQUESTS] - c[B.BC_SLOWDOWN])
            row = {"requests": int(c[B.BC_REQUESTS]), "served": served, "slow_down": int(c[B.BC_SLOWDOWN]),
                   **{k: int(c[i]) for i, k in ((B.BC_GET, "get"), (B.BC_PUT, "put"), (B.BC_HEAD, "head"),
                                                (B.BC_LIST, "list"), (B.BC_DELETE, "delete"),
                                                (B.BC_POST, "copy_post"))},
                   "bytes_downloaded": int(c[B.BC_BYTES_DOWN]), "bytes_uploaded": int(c[B.BC_BYTES_UP]),
                   "first_byte_latency_ms_mean": c[B.BC_FIRST_BYTE_US] / served / 1000.0 if served else None,
                   "total_request_latency_ms_mean": c[B.BC_TOTAL_US] / served / 1000.0 if served else None,
                   "prefix_splits": sum(1 for _, n, _ in self.splits if n == name)}
            if name in self.units:
                row["notifications"] = self.units[name][0].delivered()
            out[name] = row
        return out

    def metrics(self):
        """AWS/S3 request metrics per period and bucket: AllRequests, GetRequests, PutRequests,
        HeadRequests, ListRequests, DeleteRequests, PostRequests, 5xxErrors (503 Slow Down),
        4xxErrors (none here), FirstByteLatency and TotalRequestLatency (means, ms),
        BytesDownloaded, BytesUploaded."""
        import polars as pl

        st = self.state
        P = st.bper.shape[0]
        time_s = np.arange(P) * self.period_s
        frames = []
        for b, name in enumerate(self.names):
            c = st.bper[:, b].astype(np.float64)
            served = c[:, B.BC_REQUESTS] - c[:, B.BC_SLOWDOWN]
            with np.errstate(invalid="ignore", divide="ignore"):
                fb = np.where(served > 0, c[:, B.BC_FIRST_BYTE_US] / served / 1000.0, np.nan)
                tot = np.where(served > 0, c[:, B.BC_TOTAL_US] / served / 1000.0, np.nan)
            series = [("AllRequests", c[:, B.BC_REQUESTS]), ("GetRequests", c[:, B.BC_GET]),
                      ("PutRequests", c[:, B.BC_PUT]), ("HeadRequests", c[:, B.BC_HEAD]),
                      ("ListRequests", c[:, B.BC_LIST]), ("DeleteRequests", c[:, B.BC_DELETE]),
                      ("PostRequests", c[:, B.BC_POST]), ("5xxErrors", c[:, B.BC_SLOWDOWN]),
                      ("4xxErrors", np.zeros(P)), ("FirstByteLatency", fb), ("TotalRequestLatency", tot),
                      ("BytesDownloaded", c[:, B.BC_BYTES_DOWN]), ("BytesUploaded", c[:, B.BC_BYTES_UP])]
            for metric, v in series:
                frames.append(pl.DataFrame({"time_s": time_s, "namespace": "AWS/S3", "metric": metric,
                                            "dimension": f"BucketName={name}", "value": v}))
        return pl.concat(frames) if frames else None

    def usage(self):
        """(whole run, per period) Usage records of AmazonS3 (module docstring)."""
        from sim.billing.meters import BYTES_PER_GB, MeterTable, period_ms

        st = self.state
        P = st.bper.shape[0]
        total, per_period = [], []
        month_ms = Decimal(str(self.month_h)) * 3_600_000
        for b, (name, bk) in enumerate(self.buckets.items()):
            tier1, tier2, storage, retrieval = CLASS_USAGE[bk.storage_class]
            table = MeterTable("AmazonS3", [f"bucket:{name}"], P, self.period_s)
            c = st.bper[:, b]
            table.declare(tier1, "Requests")[:, 0] = c[:, B.BC_SERVED_TIER1]
            table.declare(tier2, "Requests")[:, 0] = c[:, B.BC_SERVED_TIER2]
            if bk.storage_gb > 0:
                table.declare(storage, "GB-Mo", Decimal(str(bk.storage_gb)) / month_ms)[:, 0] = \
                    period_ms(P, self.period_s, self.t_end)
            if retrieval is not None:
                table.declare(retrieval, "GB", Decimal(1) / BYTES_PER_GB)[:, 0] = c[:, B.BC_BYTES_DOWN]
            a, p = table.usage()
            total += a
            per_period += p
        return total, per_period

