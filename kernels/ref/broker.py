"""Plain-Python twin of `kernels.broker`: one object per message, `heapq` for the timed events,
lists for the queues, failover windows scanned one by one; everything in one call."""

import heapq
import math

import numpy as np

from kernels.broker import (
    BC_OFFERED_US,
    BC_STORE_BYTES_MAX,
    BC_STORE_WAIT_US,
    EV_END_ACK,
    EV_END_DLQ,
    EV_END_FREE,
    EV_READY,
    EV_STORED,
    N_BC,
    N_QC,
    QC_ACKED,
    QC_DEAD,
    QC_DEPTH_MAX,
    QC_DISPATCHED,
    QC_ENQUEUE_TIME_US,
    QC_ENQUEUED,
    QC_FIRST_DELIVERIES,
    QC_REDELIVERED,
    QC_REFUSED_DOWN,
    QC_REFUSED_FULL,
    QC_SENT,
)


class Message:
    def __init__(self, q, size, t_sent):
        self.q, self.size, self.t_sent = q, size, t_sent
        self.t_stored = None
        self.fails = 0
        self.deliveries = 0


class BrokerRef:
    """The broker of `kernels.broker.run_broker`, sends given all at once (`run`)."""

    def __init__(self, windows, slots, store_limit, max_messages, proc_ms, fail_u, failure_rate, redelivery_s,
                 max_redeliveries, period_s, n_periods):
        self.windows = list(windows)  # [(f0, f1)], sorted and disjoint
        self.free = list(slots)
        nq = len(slots)
        self.waiting = [[] for _ in range(nq)]
        self.held = [0] * nq
        self.depth = [0] * nq
        self.draws = [0] * nq
        self.store_limit, self.max_messages = store_limit, list(max_messages)
        self.proc_ms, self.fail_u = proc_ms, fail_u  # per queue, lists long enough for every delivery
        self.failure_rate, self.redelivery_s = list(failure_rate), list(redelivery_s)
        self.max_redeliveries = list(max_redeliveries)
        self.period_s, self.n_periods = period_s, n_periods
        self.qc = np.zeros((n_periods, nq, N_QC), np.int64)
        self.bc = np.zeros((n_periods, N_BC), np.int64)
        self.store_bytes = 0
        self.server_free = 0.0
        self.events = []  # (time, counter, kind, payload)
        self.seq = 0
        self.first_waits_ms = [[] for _ in range(nq)]  # EnqueueTime samples, ms
        self.store_waits_ms = []

    def period(self, t):
        return min(int(t / self.period_s), self.n_periods - 1)

    def down(self, t):
        return any(f0 <= t < f1 for f0, f1 in self.windows)

    def push(self, t, kind, payload):
        heapq.heappush(self.events, (t, self.seq, kind, payload))
        self.seq += 1

    def store_done(self, start, svc):
        rem = svc
        for f0, f1 in self.windows:
            if f1 <= start:
                continue
            if f0 <= start:
                start = f1
            elif start + rem > f0:
                rem -= f0 - start
                start = f1
            else:
                break
        return start + rem

    def deliver(self, q, now):
        """Queue q's waiting messages to its free sessions, at `now`."""
        while self.free[q] > 0 and self.waiting[q]:
            m = self.waiting[q].pop(0)
            k = self.draws[q]
            self.draws[q] += 1
            self.free[q] -= 1
            p = self.period(now)
            self.qc[p, q, QC_DISPATCHED] += 1
            if m.deliveries == 0:
                wait = now - m.t_stored
                self.qc[p, q, QC_FIRST_DELIVERIES] += 1
                self.qc[p, q, QC_ENQUEUE_TIME_US] += int(np.round(wait * 1e6))
                self.first_waits_ms[q].append(wait * 1000.0)
            m.deliveries += 1
            end = now + self.proc_ms[q][k] / 1000.0
            broken = [f1 for f0, f1 in self.windows if now < f0 <= end]
            if broken:
                self.push(end, EV_END_FREE, q)
                self.push(broken[0], EV_READY, m)
            elif self.fail_u[q][k] < self.failure_rate[q]:
                if m.fails < self.max_redeliveries[q]:
                    m.fails += 1
                    self.push(end, EV_END_FREE, q)
                    self.push(end + self.redelivery_s[q], EV_READY, m)
                else:
                    self.push(end, EV_END_DLQ, m)
            else:
                self.push(end, EV_END_ACK, m)

    def run(self, t, queue, size, svc):
        """Every send, then every event (to the end of time)."""
        ends = [f1 for _, f1 in self.windows]
        i, n = 0, len(t)
        while True:
            ta = t[i] if i < n else math.inf
            th = self.events[0][0] if self.events else math.inf
            tf = ends[0] if ends else math.inf
            if i >= n and th == math.inf and tf == math.inf:
                return
            if tf <= th and tf <= ta:
                ends.pop(0)
                for q in range(len(self.free)):
                    self.deliver(q, tf)
            elif th <= ta:
                _, _, kind, x = heapq.heappop(self.events)
                p = self.period(th)
                if kind == EV_END_FREE:
                    q = x
                    self.free[q] += 1
                else:
                    m, q = x, x.q
                    if kind == EV_STORED:
                        m.t_stored = th
                        self.depth[q] += 1
                        self.qc[p, q, QC_ENQUEUED] += 1
                        self.qc[p, q, QC_DEPTH_MAX] = max(self.qc[p, q, QC_DEPTH_MAX], self.depth[q])
                        self.waiting[q].append(m)
                    elif kind == EV_READY:
                        self.qc[p, q, QC_REDELIVERED] += 1
                        self.waiting[q].append(m)
                    else:
                        self.free[q] += 1
                        self.qc[p, q, QC_ACKED if kind == EV_END_ACK else QC_DEAD] += 1
                        self.held[q] -= 1
                        self.depth[q] -= 1
                        self.store_bytes -= m.size
                if not self.down(th):
                    self.deliver(q, th)
            else:
                q, p = queue[i], self.period(ta)
                self.qc[p, q, QC_SENT] += 1
                self.bc[p, BC_OFFERED_US] += int(np.round(svc[i] * 1e6))
                if self.down(ta):
                    self.qc[p, q, QC_REFUSED_DOWN] += 1
                elif (self.store_bytes + size[i] > self.store_limit
                      or 0 <= self.max_messages[q] <= self.held[q]):
                    self.qc[p, q, QC_REFUSED_FULL] += 1
                else:
                    self.store_bytes += size[i]
                    self.bc[p, BC_STORE_BYTES_MAX] = max(self.bc[p, BC_STORE_BYTES_MAX], self.store_bytes)
                    self.held[q] += 1
                    m = Message(q, size[i], ta)
                    done = self.store_done(max(ta, self.server_free), svc[i])
                    self.server_free = done
                    wait = done - ta - svc[i]
                    self.bc[p, BC_STORE_WAIT_US] += int(np.round(wait * 1e6))
                    self.store_waits_ms.append(wait * 1000.0)
                    self.push(done, EV_STORED, m)
                i += 1
