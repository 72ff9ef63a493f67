"""Amazon MQ: a broker as a component of its own — producers' sends, its store, its queues' consumers, failovers.

Traffic sources are the producers (`target: broker:NAME/QUEUE`); the broker takes its inbox
window by window in time order and runs `kernels.broker.run_broker` over it, its state (store,
queues, consumer sessions, pending events) carried from window to window, so outcomes do not
depend on the window. Consumers are inside the broker's component: they call nothing else.

The model (a simplification; what each step does exactly: `kernels/broker.py`):
- Every message is persistent (written to the broker's store before it is enqueued: AWS's
  "persistent mode"), and the store is the bottleneck: one first-come-first-served server whose
  service time per message comes from AWS's published throughput for the instance type and
  the message size (below). Small messages are limited by storage latency, large ones by
  storage throughput (ensuring-effective-amazon-mq-performance: the line is at 100 KB);
  persistent messages on EFS are replicated across three Availability Zones (same page).
- A send is refused when the broker is down (a failover) or when its store is full (the
  stored bytes would pass `store_limit_gb`: AWS's StorePercentUsage "If this reaches 100, the
  broker will refuse messages", amazon-mq-monitoring-cloudwatch) or its queue holds
  `max_messages`. The producer is told (counted as refused; it does not retry: our simplification).
- A failover (scheduled `failures`, or random ones at `failure_rate_per_h`) keeps the broker down
  for `failover_s`: it accepts nothing and delivers nothing; what is stored survives
  (persistent), writes under way finish after it, and messages being processed when it starts
  are redelivered when it ends (the consumers' sessions broke). Both instances of an
  active/standby pair fail over as one broker (the standby takes over); a single instance is
  down while it reboots.
- Each queue's consumers are `workers` × `concurrency` sessions taking ready messages first
  come first served, one at a time for `processing_ms`; a failed one (`failure_rate`) is rolled
  back and redelivered after `redelivery_delay_s`, at most `max_redeliveries` times (then
  dead-lettered), as ActiveMQ's RedeliveryPolicy (scenarios/mq.py). Prefetch is not modelled.
- Not modelled: non-persistent messages, topics, transactions and batching, connection limits,
  CPU (no CpuUtilization metric), memory limits and producer flow control.

Throughput (messages/s), AWS's "Amazon MQ for ActiveMQ Throughput benchmarks" (Amazon MQ
Migration Guide, chapter-benchmarks, updated 14 May 2023): persistent messages, OpenWire, an
m5.xlarge client, 25/50/100/200 producers and as many consumers, message sizes 1, 5, 10, 50 and
100 KB, with concurrentStoreAndDispatchQueues (CSAD) on and off. We take each size's best
figure over the producer counts as the broker's capacity (the plateau of a saturated server):
with CSAD off every message is written to the store and the figures hardly depend on the
instance (2,400-2,800 a second at 1 KB); with CSAD on (AWS's default) a fast consumer gets
messages before they are stored, and the figures grow with the instance. The page does not
name the storage; ActiveMQ brokers use EFS by default (broker-storage), so we read them as EFS.
Between the measured sizes the service time (1 / throughput) is interpolated linearly in the
size; below 1 KB it is 1 KB's (latency-bound); above 100 KB it grows along the 50-100 KB slope
(throughput-bound). KB = 1,024 bytes (our reading).
- EBS (ActiveMQ, mq.m5 only): AWS's storage table (broker-storage, "Approximate Maximum Number of
  Messages Enqueued per Producer, per Second (1KB Message)") gives EBS 500 and EFS 80 per
  producer: our assumption, with CSAD off the EFS service time is divided by 500/80 = 6.25, but
  not below the CSAD-on figure for the instance (the broker's own limit when storage does not
  wait); with CSAD on, EBS takes the CSAD-on figures.
- mq.t2.micro and mq.t3.micro: AWS publishes no figure; our assumption: mq.m5.large's (with CSAD
  off the store bounds every instance alike; with CSAD on this likely overstates a micro).
- RabbitMQ: AWS publishes no throughput figure; our assumption: ActiveMQ's CSAD-on figures on
  EBS for the same instance type.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Dict, List, Tuple

import numpy as np

from kernels import broker as K
from kernels.histogram import N_BINS, hist_quantile
from scenarios.mq import INSTANCES, Broker, failover_s, storage_of
from sim.engine import Component, WiringError
from sim.engine.batch import Inbox
from sim.engine.distributions import sampler
from sim.engine.rng import ChunkStream, Draws, Uniforms, generator

KB = 1024
SIZES_BYTES = np.array([1, 5, 10, 50, 100], np.float64) * KB  # the benchmark's message sizes
# Best messages/s over 25-200 producers at each size (module docstring): (CSAD on, CSAD off).
THROUGHPUT: Dict[str, Tuple[Tuple[float, ...], Tuple[float, ...]]] = {
    "mq.m5.large": ((6916, 5333, 3367, 1316, 741), (2400, 1328, 793, 190, 98)),
    "mq.m5.xlarge": ((11667, 9250, 6500, 2600, 1442), (2470, 1300, 807, 190, 99)),
    "mq.m5.2xlarge": ((16334, 14516, 11334, 4917, 2770), (2800, 1288, 787, 192, 98)),
    "mq.m5.4xlarge": ((16167, 16667, 15833, 7834, 4334), (2584, 1295, 795, 193, 100)),
}
MICRO_AS = "mq.m5.large"  # mq.t2.micro, mq.t3.micro: our assumption (module docstring)
EBS_OVER_EFS = 500.0 / 80.0  # per-producer rates at 1 KB, broker-storage: our assumption's factor
FAILURE_PURPOSE, PROCESSING_PURPOSE, ROLLBACK_PURPOSE = 1, 2, 3  # random streams (sim.engine.rng)
MIN_DRAWS = 1024  # draws a queue keeps ready at least (more when a window brings more sends)


def service_s(b: Broker, size_bytes) -> np.ndarray:
    """The store's service time per message of `size_bytes` (array), seconds (module docstring)."""
    table = THROUGHPUT.get(b.instance_type, THROUGHPUT[MICRO_AS])
    on = 1.0 / np.array(table[0])
    off = 1.0 / np.array(table[1])
    csad = b.concurrent_store_and_dispatch or b.engine == "rabbitmq"
    if csad:
        s = on
    elif storage_of(b) == "ebs":
        s = np.maximum(off / EBS_OVER_EFS, on)
    else:
        s = off
    x = np.asarray(size_bytes, np.float64)
    out = np.interp(x, SIZES_BYTES, s)  # constant below 1 KB
    slope = (s[-1] - s[-2]) / (SIZES_BYTES[-1] - SIZES_BYTES[-2])
    big = x > SIZES_BYTES[-1]
    out[big] = s[-1] + (x[big] - SIZES_BYTES[-1]) * slope
    return out


def failover_windows(b: Broker, name: str, seed: int, t_end: float) -> Tuple[np.ndarray, np.ndarray, int]:
    """(f0, f1, failures): broker `b`'s down windows [f0, f1), sorted and merged (a failure during
    a failover extends it), from its scheduled failures and a Poisson process of
    `failure_rate_per_h`, those starting before `t_end`; and how many failures started."""
    starts = [f.at_s for f in b.failures if f.at_s < t_end]
    if b.failure_rate_per_h > 0:
        gen = generator(seed, name, FAILURE_PURPOSE)
        mean_s = 3600.0 / b.failure_rate_per_h
        t = gen.exponential(mean_s)
        while t < t_end:
            starts.append(t)
            t += gen.exponential(mean_s)
    d = failover_s(b)
    f0: List[float] = []
    f1: List[float] = []
    for s in sorted(starts):
        if f0 and s <= f1[-1]:
            f1[-1] = max(f1[-1], s + d)
        else:
            f0.append(float(s))
            f1.append(float(s) + d)
    return np.array(f0, np.float64), np.array(f1, np.float64), len(starts)


class MqBroker(Component):
    """One Amazon MQ broker: its queues' ports (one per traffic source), its store and consumers."""

    def __init__(self, name: str, broker: Broker, seed: int, t_end: float, period_s: float, month_h: float = 730.0):
        super().__init__(f"mq.{name}")
        self.broker_name, self.broker = name, broker
        self.seed, self.t_end, self.period_s, self.month_h = seed, t_end, period_s, month_h
        self.inbox = Inbox()
        self.queue_names = list(broker.queues)
        self.ports: List[int] = []  # port -> queue
        self.n_periods = max(1, int(math.ceil(t_end / period_s - 1e-9)))
        nq = len(self.queue_names)
        cons = [q.consumers for q in broker.queues.values()]
        self.slots = np.array([c.workers * c.concurrency for c in cons], np.int64)
        self.ss, self.fs, self.qs, self.mi, self.mf, self.hh = K.broker_state(nq, self.slots, 256)
        self.f0, self.f1, self.failures = failover_windows(broker, self.name, seed, t_end)
        self.store_limit = int(broker.store_limit_gb * 2**30)
        self.max_messages = np.array([-1 if q.max_messages is None else q.max_messages
                                      for q in broker.queues.values()], np.int64)
        self.failure_rate = np.array([c.failure_rate for c in cons], np.float64)
        self.redelivery_s = np.array([c.redelivery_delay_s for c in cons], np.float64)
        self.max_redeliveries = np.array([c.max_redeliveries for c in cons], np.int64)
        self.proc_draws = [Draws(ChunkStream(generator(seed, f"{self.name}.{q}", PROCESSING_PURPOSE),
                                             sampler(c.processing_ms))) for q, c in zip(self.queue_names, cons)]
        self.fail_draws = [Uniforms(generator(seed, f"{self.name}.{q}", ROLLBACK_PURPOSE)) for q in self.queue_names]
        self.proc = np.zeros((nq, 0), np.float64)
        self.fail_u = np.zeros((nq, 0), np.float64)
        self.qc = np.zeros((self.n_periods, nq, K.N_QC), np.int64)
        self.bc = np.zeros((self.n_periods, K.N_BC), np.int64)
        self.qhist = np.zeros((nq, N_BINS), np.int64)
        self.whist = np.zeros(N_BINS, np.int64)
        self.bytes_sent = 0
        self.received = 0

    # declare / connect ------------------------------------------------------------------
    def add_source(self, label: str, queue: str, source: int) -> int:
        """A port into `queue` for traffic source number `source` (producers are traffic sources)."""
        if source < 0:
            raise WiringError(f"{self.name}: {label} reaches {queue} but is no traffic source")
        self.ports.append(self.queue_names.index(queue))
        return len(self.ports) - 1

    # run --------------------------------------------------------------------------------
    def _draws(self, need: int) -> None:
        """Keep at least `need` unused draws per queue (the used ones dropped, the stream's next
        appended in order: what a delivery gets depends only on its rank in its queue)."""
        cur = self.qs[:, K.QS_CURSOR]
        left = self.proc.shape[1] - cur
        if left.min() >= need:
            return
        width = max(need, MIN_DRAWS, 2 * int(left.max()))
        proc = np.empty((len(self.queue_names), width))
        u = np.empty((len(self.queue_names), width))
        for q in range(len(self.queue_names)):
            k, lq = int(cur[q]), int(left[q])
            proc[q, :lq] = self.proc[q, k:]
            proc[q, lq:] = self.proc_draws[q].take(width - lq)
            u[q, :lq] = self.fail_u[q, k:]
            u[q, lq:] = self.fail_draws[q].take(width - lq)
        self.proc, self.fail_u = proc, u
        self.qs[:, K.QS_CURSOR] = 0

    def _room(self, n: int) -> None:
        """Rows for every message held and `n` more, and heap room for all their events."""
        live = int(self.ss[K.SS_LIVE])
        need = live + n + int(self.slots.sum()) + 1
        cap = self.mi.shape[0]
        if need <= cap:
            return
        new = max(2 * cap, need + 64)
        mi = np.zeros((new, K.N_MI), np.int64)
        mi[:cap] = self.mi
        mi[cap:, K.MI_NEXT] = np.arange(cap + 1, new + 1)
        mi[new - 1, K.MI_NEXT] = self.ss[K.SS_FREE_HEAD]
        self.ss[K.SS_FREE_HEAD] = cap
        mf = np.zeros((new, K.N_MF), np.float64)
        mf[:cap] = self.mf
        hh = np.zeros((new, self.hh.shape[1]), np.int64)
        hh[:cap] = self.hh
        self.mi, self.mf, self.hh = mi, mf, hh

    def step(self, t0: float, t1: float) -> None:
        taken = self.inbox.take(t1)
        if taken:
            taken.sort(key=lambda e: e[2])
            t = np.concatenate([b.t for _, b, _ in taken])
            queue = np.concatenate([np.full(len(b), self.ports[p], np.int64) for p, b, _ in taken])
            size = np.concatenate([b.size_bytes for _, b, _ in taken]).astype(np.int64)
            order = np.argsort(t, kind="stable")
            t, queue, size = np.ascontiguousarray(t[order]), queue[order], size[order]
        else:
            t, queue, size = np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64)
        n = len(t)
        self.received += n
        self.bytes_sent += int(size.sum())
        svc = service_s(self.broker, size)
        self._room(n)
        i = 0
        while True:
            self._draws(int(self.ss[K.SS_LIVE]) + (n - i) + 1)
            took, status = K.run_broker(t[i:], queue[i:], size[i:], svc[i:], t1, self.ss, self.fs, self.qs, self.mi,
                                        self.mf, self.hh, self.f0, self.f1, self.store_limit, self.max_messages,
                                        self.proc, self.fail_u, self.failure_rate, self.redelivery_s,
                                        self.max_redeliveries, self.period_s, self.qc, self.bc, self.qhist,
                                        self.whist)
            i += int(took)
            if status == K.OK:
                break

    def requests_simulated(self) -> int:
        return self.received

    # outputs ----------------------------------------------------------------------------
    def throughput_per_s(self, size_bytes: float) -> float:
        """The store's messages per second at messages of `size_bytes`."""
        return float(1.0 / service_s(self.broker, np.array([size_bytes]))[0])

    def summary(self) -> dict:
        """summary.json's `brokers.NAME` (module docstring; every count is messages): per queue
        sent = refused + consumed + dead_lettered + in_broker_end + in_processing_end."""
        b = self.broker
        c = self.qc.sum(axis=0)
        queues = {}
        for q, qname in enumerate(self.queue_names):
            x = c[q]
            held = int(self.qs[q, K.QS_HELD])
            processing = int(self.qs[q, K.QS_PROCESSING])
            firsts = int(x[K.QC_FIRST_DELIVERIES])
            queues[qname] = {
                "consumers": int(self.slots[q]),
                "sent": int(x[K.QC_SENT]),
                "refused": int(x[K.QC_REFUSED_DOWN] + x[K.QC_REFUSED_FULL]),
                "refused_broker_down": int(x[K.QC_REFUSED_DOWN]),
                "refused_store_full": int(x[K.QC_REFUSED_FULL]),
                "enqueued": int(x[K.QC_ENQUEUED]),
                "dispatched": int(x[K.QC_DISPATCHED]),
                "consumed": int(x[K.QC_ACKED]),
                "redelivered": int(x[K.QC_REDELIVERED]),
                "dead_lettered": int(x[K.QC_DEAD]),
                "in_broker_end": held - processing,
                "in_processing_end": processing,
                "queue_depth_max": int(self.qc[:, q, K.QC_DEPTH_MAX].max()),
                "queue_depth_end": int(self.qs[q, K.QS_DEPTH]),
                "time_in_queue_ms": {
                    "mean": float(x[K.QC_ENQUEUE_TIME_US]) / firsts / 1000.0 if firsts else None,
                    "p50": float(hist_quantile(self.qhist[q], 0.5)) if firsts else None,
                    "p99": float(hist_quantile(self.qhist[q], 0.99)) if firsts else None,
                },
            }
        sent = int(c[:, K.QC_SENT].sum())
        accepted = sent - int(c[:, K.QC_REFUSED_DOWN].sum() + c[:, K.QC_REFUSED_FULL].sum())
        mean_size = self.bytes_sent / sent if sent else 1024.0
        down = float(np.minimum(self.f1, self.t_end).sum() - self.f0.sum()) if len(self.f0) else 0.0
        out = {
            "engine": b.engine,
            "instance_type": b.instance_type,
            "deployment": b.deployment,
            "storage": storage_of(b),
            "instances": INSTANCES[b.deployment],
            "throughput_msgs_per_s": self.throughput_per_s(mean_size),  # at the mean size sent
            "sent": sent,
            "refused": sent - accepted,
            "enqueued": int(c[:, K.QC_ENQUEUED].sum()),
            "consumed": int(c[:, K.QC_ACKED].sum()),
            "redelivered": int(c[:, K.QC_REDELIVERED].sum()),
            "dead_lettered": int(c[:, K.QC_DEAD].sum()),
            # offered load on the store: its work for every send over the run (above 1: overloaded)
            "utilisation": float(self.bc[:, K.BC_OFFERED_US].sum()) / 1e6 / self.t_end if self.t_end > 0 else None,
            "store_wait_ms": {
                "mean": float(self.bc[:, K.BC_STORE_WAIT_US].sum()) / accepted / 1000.0 if accepted else None,
                "p99": float(hist_quantile(self.whist, 0.99)) if accepted else None,
            },
            "store_bytes_max": int(self.bc[:, K.BC_STORE_BYTES_MAX].max()),
            "failovers": self.failures,
            "down_s": down,
            "queues": queues,
        }
        return out

    def summary_sections(self) -> dict:
        return {"brokers": {self.broker_name: self.summary()}}

    def metrics(self):
        """AWS/AmazonMQ per period (amazon-mq-monitoring-cloudwatch): per queue (Broker=NAME-1,
        Queue=Q) EnqueueCount, DispatchCount, DequeueCount, EnqueueTime (mean ms of the period's
        first deliveries), QueueSize (at the period's end); per broker StorePercentUsage (the
        period's most) and TotalMessageCount (at its end). The broker's dimension carries the
        active instance's suffix, -1 (our simplification: after a failover AWS reports -2)."""
        import polars as pl

        time_s = np.arange(self.n_periods) * self.period_s
        frames = []
        broker = f"{self.broker_name}-1"
        total = np.zeros(self.n_periods)
        for q, qname in enumerate(self.queue_names):
            x = self.qc[:, q].astype(np.float64)
            size = np.cumsum(x[:, K.QC_ENQUEUED] - x[:, K.QC_ACKED] - x[:, K.QC_DEAD])
            total += size
            with np.errstate(invalid="ignore", divide="ignore"):
                enq_ms = np.where(x[:, K.QC_FIRST_DELIVERIES] > 0,
                                  x[:, K.QC_ENQUEUE_TIME_US] / x[:, K.QC_FIRST_DELIVERIES] / 1000.0, np.nan)
            for metric, v in (("EnqueueCount", x[:, K.QC_ENQUEUED]), ("DispatchCount", x[:, K.QC_DISPATCHED]),
                              ("DequeueCount", x[:, K.QC_ACKED]), ("EnqueueTime", enq_ms), ("QueueSize", size)):
                frames.append(pl.DataFrame({"time_s": time_s, "namespace": "AWS/AmazonMQ", "metric": metric,
                                            "dimension": f"Broker={broker},Queue={qname}", "value": v}))
        pct = self.bc[:, K.BC_STORE_BYTES_MAX].astype(np.float64) / self.store_limit * 100.0
        for metric, v in (("StorePercentUsage", pct), ("TotalMessageCount", total)):
            frames.append(pl.DataFrame({"time_s": time_s, "namespace": "AWS/AmazonMQ", "metric": metric,
                                        "dimension": f"Broker={broker}", "value": v}))
        return pl.concat(frames)

    def usage(self):
        """(whole run, per period) AmazonMQ usage: broker instance hours by engine and type (an
        active/standby pair is two instances, a RabbitMQ cluster three), and storage in GB-months
        of `billing.month_h` (EFS or EBS; a RabbitMQ cluster's on each of its three nodes, as
        infracost bills it; an active/standby pair shares one EFS file system)."""
        from sim.billing.meters import MeterTable, period_ms

        b = self.broker
        table = MeterTable("AmazonMQ", [f"broker:{self.broker_name}"], self.n_periods, self.period_s)
        ms = period_ms(self.n_periods, self.period_s, self.t_end)[:, None]
        ms_per_h = Decimal(3_600_000)
        engine = "RabbitMQ" if b.engine == "rabbitmq" else "ActiveMQ"
        instances = Decimal(INSTANCES[b.deployment])
        table.declare(f"BrokerHours-{engine}:{b.instance_type}", "Hrs", instances / ms_per_h)[:] = ms
        if b.engine == "rabbitmq":
            usage_type, copies = "TimedStorage-RabbitMQ-ByteHrs", INSTANCES[b.deployment]
        else:
            usage_type, copies = ("TimedStorage-EBS-ByteHrs" if storage_of(b) == "ebs" else "TimedStorage-ByteHrs"), 1
        month_ms = Decimal(str(self.month_h)) * ms_per_h
        gb = Decimal(str(b.storage_gb)) * copies / month_ms
        table.declare(usage_type, "GB-Mo", gb)[:] = ms
        return table.usage()
