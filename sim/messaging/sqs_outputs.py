"""What the account's queues, event source mappings and worker fleets report: the queues /
event_source_mappings / worker_fleets sections of summary.json, AWS/SQS metrics and SQS's
billable requests, from the kernel's per-period arrays (QUEUE_SPEC.md, "Per-period outputs").
"""

from __future__ import annotations

from typing import Dict, List

import numpy as np

from kernels.queue_pool import (
    MP_CONC_MAX,
    MP_INVOKED,
    MP_TARGET,
    MP_THROTTLED,
    QP_DEAD_LETTERED,
    QP_DELAYED,
    QP_DELETE_REQUESTS,
    QP_DELETED,
    QP_EMPTY_RECEIVES,
    QP_EXPIRED,
    QP_IN_FLIGHT,
    QP_RECEIVE_REQUESTS,
    QP_RECEIVED,
    QP_REDRIVEN_IN,
    QP_SEND_REQUESTS,
    QP_SENT,
    QP_STALE_DELETES,
    QP_VISIBLE,
    QPF_AGE_OLDEST_S,
    QPF_VISIBLE_S,
    QPF_WAIT_SUM_S,
    WP_BATCHES,
    WP_BUSY_MAX,
    WP_MESSAGES,
)
from scenarios.messaging import EventSourceMapping, Queue, WorkerFleet
from sim.engine.percentiles import hist_stats


class QueueOutputs:
    """Views over the kernel's arrays: pq int64 [P, Q, QP_*], pqf float64 [P, Q, QPF_*],
    pm int64 [P, M, MP_*], pw int64 [P, W, WP_*], wait_hist int64 [Q, bins] (ms), wait_range
    float64 [Q, 2] (the waits' exact min and max, s)."""

    def __init__(self, queues: Dict[str, Queue], mappings: List[EventSourceMapping], fleets: Dict[str, WorkerFleet],
                 pq, pqf, pm, pw, wait_hist, wait_range, t_end: float, period_s: float):
        self.queues, self.mappings, self.fleets = queues, mappings, fleets
        self.names = list(queues)
        self.pq, self.pqf, self.pm, self.pw, self.wait_hist, self.wait_range = pq, pqf, pm, pw, wait_hist, wait_range
        self.t_end, self.period_s = t_end, period_s

    def mapping_label(self, m: EventSourceMapping) -> str:
        return f"{m.source}->{m.function}"

    def sections(self) -> dict:
        out: dict = {}
        if self.names:
            out["queues"] = {name: self._queue(q, name) for q, name in enumerate(self.names)}
        if self.mappings:
            out["event_source_mappings"] = {}
            for i, m in enumerate(self.mappings):
                col = self.pm[:, i]
                out["event_source_mappings"][self.mapping_label(m)] = {
                    "batches_invoked": int(col[:, MP_INVOKED].sum()),
                    "batches_throttled": int(col[:, MP_THROTTLED].sum()),
                    "max_concurrent_batches": int(col[:, MP_CONC_MAX].max()),
                    "pollers_max": int(col[:, MP_TARGET].max()),
                    "pollers_end": int(col[-1, MP_TARGET]),
                }
        if self.fleets:
            out["worker_fleets"] = {}
            for i, name in enumerate(self.fleets):
                col = self.pw[:, i]
                out["worker_fleets"][name] = {
                    "batches": int(col[:, WP_BATCHES].sum()),
                    "messages": int(col[:, WP_MESSAGES].sum()),
                    "max_busy_workers": int(col[:, WP_BUSY_MAX].max()),
                    "utilisation_max": float(col[:, WP_BUSY_MAX].max()) / self.fleets[name].workers,
                }
        return out

    def _queue(self, q: int, name: str) -> dict:
        c, f = self.pq[:, q], self.pqf[:, q]
        tot = c.sum(axis=0)
        return {
            "type": self.queues[name].type,
            "sent": int(tot[QP_SENT]),
            "redriven_in": int(tot[QP_REDRIVEN_IN]),
            "received": int(tot[QP_RECEIVED]),
            "deleted": int(tot[QP_DELETED]),
            "dead_lettered": int(tot[QP_DEAD_LETTERED]),
            "expired": int(tot[QP_EXPIRED]),
            "visible_end": int(c[-1, QP_VISIBLE]),
            "delayed_end": int(c[-1, QP_DELAYED]),
            "in_flight_end": int(c[-1, QP_IN_FLIGHT]),
            "empty_receives": int(tot[QP_EMPTY_RECEIVES]),
            "stale_deletes": int(tot[QP_STALE_DELETES]),
            "requests": int(tot[QP_SEND_REQUESTS] + tot[QP_RECEIVE_REQUESTS] + tot[QP_DELETE_REQUESTS]),
            "visible_max": int(c[:, QP_VISIBLE].max()),
            "visible_avg": float(f[:, QPF_VISIBLE_S].sum()) / self.t_end,
            "age_of_oldest_max_s": float(f[:, QPF_AGE_OLDEST_S].max()),
            "wait_s": hist_stats(self.wait_hist[q], float(f[:, QPF_WAIT_SUM_S].sum()), *self.wait_range[q],
                                 ("p50", 0.5), ("p99", 0.99), ms_per_unit=1000.0),
        }

    def metrics(self):
        import polars as pl

        frames = []
        P = self.pq.shape[0]
        t = np.arange(P) * self.period_s
        for q, name in enumerate(self.names):
            c, f = self.pq[:, q].astype(np.float64), self.pqf[:, q]
            series = [
                ("AWS/SQS", "NumberOfMessagesSent", c[:, QP_SENT]),
                ("AWS/SQS", "NumberOfMessagesReceived", c[:, QP_RECEIVED]),
                ("AWS/SQS", "NumberOfMessagesDeleted", c[:, QP_DELETED]),
                ("AWS/SQS", "NumberOfEmptyReceives", c[:, QP_EMPTY_RECEIVES]),
                ("AWS/SQS", "ApproximateNumberOfMessagesVisible", c[:, QP_VISIBLE]),
                ("AWS/SQS", "ApproximateNumberOfMessagesNotVisible", c[:, QP_IN_FLIGHT]),
                ("AWS/SQS", "ApproximateNumberOfMessagesDelayed", c[:, QP_DELAYED]),
                ("AWS/SQS", "ApproximateAgeOfOldestMessage", f[:, QPF_AGE_OLDEST_S]),
                ("cloudtwin/SQS", "MessagesDeadLettered", c[:, QP_DEAD_LETTERED]),
                ("cloudtwin/SQS", "MessagesRedrivenIn", c[:, QP_REDRIVEN_IN]),
                ("cloudtwin/SQS", "MessagesExpired", c[:, QP_EXPIRED]),
                ("cloudtwin/SQS", "VisibleAverage", f[:, QPF_VISIBLE_S] / self._lengths(P)),
            ]
            frames += [pl.DataFrame({"time_s": t, "namespace": ns, "metric": m, "dimension": f"QueueName={name}",
                                     "value": np.asarray(v, np.float64)}) for ns, m, v in series]
        for i, m in enumerate(self.mappings):
            c = self.pm[:, i].astype(np.float64)
            dim = f"EventSourceMapping={self.mapping_label(m)}"
            for metric, col in (("BatchesInvoked", MP_INVOKED), ("BatchesThrottled", MP_THROTTLED),
                                ("ConcurrentBatches", MP_CONC_MAX), ("Pollers", MP_TARGET)):
                frames.append(pl.DataFrame({"time_s": t, "namespace": "cloudtwin/EventSourceMapping", "metric": metric,
                                            "dimension": dim, "value": c[:, col]}))
        for i, name in enumerate(self.fleets):
            c = self.pw[:, i].astype(np.float64)
            for metric, col in (("Batches", WP_BATCHES), ("Messages", WP_MESSAGES), ("BusyWorkers", WP_BUSY_MAX)):
                frames.append(pl.DataFrame({"time_s": t, "namespace": "cloudtwin/WorkerFleet", "metric": metric,
                                            "dimension": f"Fleet={name}", "value": c[:, col]}))
        return pl.concat(frames) if frames else None

    def _lengths(self, P: int) -> np.ndarray:
        starts = np.arange(P) * self.period_s
        return np.minimum(starts + self.period_s, self.t_end) - starts

    def usage(self):
        """SQS requests (sends, receives incl. empty ones, deletes; 64 KB chunks) per queue."""
        from decimal import Decimal

        from sim.billing.meters import MeterTable

        table = MeterTable("AmazonSQS", [f"queue:{n}" for n in self.names], self.pq.shape[0], self.period_s)
        requests = (self.pq[:, :, QP_SEND_REQUESTS] + self.pq[:, :, QP_RECEIVE_REQUESTS]
                    + self.pq[:, :, QP_DELETE_REQUESTS])
        fifo = [Decimal(int(self.queues[n].type == "fifo")) for n in self.names]
        # a DynamoDB table's stream (sim.storage.tables.stream_queues) is not SQS: GetRecords
        # calls made by Lambda triggers are free (DynamoDB pricing, "DynamoDB Streams")
        standard = [Decimal(0) if n.startswith("stream:") else Decimal(1) - x for n, x in zip(self.names, fifo)]
        table.declare("Requests-Tier1", "Requests", standard)[:] = requests
        table.declare("Requests-FIFO-Tier1", "Requests", fifo)[:] = requests
        return table.usage()
