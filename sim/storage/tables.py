"""DynamoDB tables in the account (ACCOUNT_SPEC.md §11): their kernel specs, the draws of the
calls that reach them, auto scaling as a control process, and their summary, metrics and bill.

The tables' state lives in the account kernel's arrays (`kernels/tables.py`, handed to it by
`sim.compute.account_state.AccountCalls`); this module owns everything around them:

- **Draws.** Each call to a table has two streams of its own: TU, the half units each request
  consumes (its items' sizes drawn from `item_bytes`, turned into units by
  `kernels.dynamodb.request_half_units_many`: AWS's rounding), and TK, the position of the key
  it reaches in the hash space (a key drawn from the popularity — uniform, or Zipf over `n`
  keys — then hashed with SplitMix64, so a key always lands at the same place and keys spread
  over the partitions as a hash spreads them).
- **Auto scaling** (provisioned tables with `auto_scaling`): a SimPy process wakes at every whole
  minute, takes the units each direction consumed in that minute (the kernel counts them in
  TBF_CTL; the window ends at the minute, so the minute is complete) and runs the target
  tracking rule of Application Auto Scaling as DynamoDB documents it (AWS knowledge center
  "dynamodb-auto-scaling": up when utilization exceeds the target for 2 consecutive minutes;
  down when it is 20 points or more below the target for 15 consecutive minutes — its example:
  target 70 % of 100 RCU, down under 50 RCU). The new capacity puts the last minute at the
  target, `ceil(consumed per s / target)`, within [min, max]; it is in force `update_delay_s`
  later (our assumption, 60 s by default: AWS publishes no figure), and the counts start again
  then. Decreases follow DynamoDB's quota: 4 a day (UTC day), plus one more whenever none was
  made in the past hour (developer guide, "Service quotas: provisioned capacity decreases").
  Cooldowns are not modelled beyond that.
- **Bill**: on demand, the units consumed (WriteRequestUnits, ReadRequestUnits; throttled
  requests are not billed); provisioned, the capacity in force hour by hour
  (WriteCapacityUnit-Hrs, ReadCapacityUnit-Hrs, metered in unit-milliseconds); storage
  (`storage_gb`, TimedStorage-ByteHrs in GB-months of `billing.month_h`).
"""

from __future__ import annotations

import math
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from kernels import dynamodb as D
from kernels import tables as T
from scenarios.calls import DEFAULT_ITEM_BYTES
from scenarios.common import Dist
from scenarios.state import ITEM_MAX_BYTES, ON_DEMAND_MAX_UNITS_PER_S, Keys, Table
from sim.engine.distributions import sampler

MINUTE_S = 60.0
DAY_S = 86400.0
HOUR_S = 3600.0
DECREASES_PER_DAY = 4  # plus one whenever none was made in the past hour (DynamoDB quotas)
SCALE_IN_BELOW = 0.20  # utilization 20 points or more below the target (AWS knowledge center example)
OUT_POINTS, IN_POINTS = 2, 15  # consecutive one-minute datapoints


def hash_position(keys: np.ndarray) -> np.ndarray:
    """Each key's place in [0, 1) of the hash space: SplitMix64's finalizer of the key, top 53 bits."""
    z = keys.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


@lru_cache(maxsize=8)
def zipf_cdf(n: int, s: float) -> np.ndarray:
    """P(key rank < k + 1) for k = 0 .. n-1 of a Zipf popularity (rank k + 1 has weight 1/(k+1)^s)."""
    w = 1.0 / np.power(np.arange(1, n + 1, dtype=np.float64), s)
    c = np.cumsum(w)
    return c / c[-1]


def key_probabilities(keys: Keys) -> np.ndarray:
    """Each key's probability, by rank (for checks and hand calculations)."""
    if keys.dist == "uniform":
        return np.full(keys.n, 1.0 / keys.n)
    c = zipf_cdf(keys.n, keys.s)
    return np.diff(np.concatenate([[0.0], c]))


def key_sampler(keys: Keys):
    """Draws of hash positions of keys picked from `keys`' popularity (the TK stream)."""
    if keys.dist == "uniform":
        n = keys.n
        return lambda gen, size: hash_position(gen.integers(0, n, size))
    cdf = zipf_cdf(keys.n, keys.s)
    last = keys.n - 1
    return lambda gen, size: hash_position(np.minimum(np.searchsorted(cdf, gen.random(size), side="right"), last))


def stream_queues(sc):
    """The scenario's queues and event source mappings, with each table stream's: a queue
    `stream:NAME` (records visible STREAM_DELAY_S after their write, kept 24 h, a visibility
    timeout of six times the function's) polled by a mapping of the stream's batch size and
    window, at most shards x parallelization factor batches at once, the shards being the
    table's partitions at the start (ACCOUNT_SPEC.md §11: our model of DynamoDB Streams)."""
    from scenarios.messaging import EventSourceMapping, Queue
    from scenarios.state import STREAM_DELAY_S

    queues, mappings = dict(sc.queues), list(sc.event_source_mappings)
    for name, tb in sc.tables.items():
        s = tb.stream
        if s is None:
            continue
        fn = sc.functions[s.function]
        queues[f"stream:{name}"] = Queue(visibility_timeout_s=max(30.0, 6.0 * fn.timeout_s), retention_s=86_400.0,
                                         delay_s=STREAM_DELAY_S)
        shards = T.partitions_for(*Tables._initial(tb))
        mappings.append(EventSourceMapping(source=f"stream:{name}", function=s.function, batch_size=s.batch_size,
                                           batching_window_s=s.batching_window_s,
                                           max_concurrency=shards * s.parallelization_factor))
    return queues, mappings


def direction(call) -> int:
    return T.READ if D.OPERATIONS.index(call.operation) in D.READS else T.WRITE


def units_sampler(call, base_dir: Optional[Path]):
    """Draws of the half units each request of `call` consumes (the TU stream): sizes from
    `item_bytes` (bytes, rounded up; above 400 KB counted as 400 KB), units by AWS's rounding."""
    size = call.item_bytes if call.item_bytes is not None else DEFAULT_ITEM_BYTES
    size_draw = sampler(size if isinstance(size, Dist) else Dist(dist="fixed", value=float(size)), base_dir)
    op = D.OPERATIONS.index(call.operation)
    items = int(call.items or 1)
    consistency = D.STRONG if call.consistency == "strong" else D.EVENTUAL

    def draw(gen, n):
        b = np.minimum(np.ceil(np.maximum(size_draw(gen, n), 0.0)), ITEM_MAX_BYTES).astype(np.int64)
        r, w = np.zeros(n, np.int64), np.zeros(n, np.int64)
        D.request_half_units_many(np.full(n, op, np.int64), b, np.full(n, items, np.int64),
                                  np.full(n, consistency, np.int64), r, w)
        return (r + w).astype(np.float64)
    return draw


class Tables:
    """The account's tables around their kernel state (see the module docstring)."""

    def __init__(self, tables: Dict[str, Table], t_end: float, period_s: float, month_h: float = 730.0):
        self.tables = dict(tables)
        self.names = list(tables)
        self.t_end, self.period_s, self.month_h = t_end, period_s, month_h
        self.state = None  # sim.compute.account_state.AccountCalls, from start()
        # per table: the capacity in force, [(t, read, write)] (provisioned; the bill and metrics)
        self.steps: List[List[tuple]] = []
        self.scalings: List[List[dict]] = [[] for _ in self.names]  # auto scaling's changes
        self.streams: Dict[str, tuple] = {}  # table -> (its stream's queue, the port its records enter by)
        for tb in self.tables.values():
            r, w = self._initial(tb)
            self.steps.append([(0.0, r, w)])

    @staticmethod
    def _initial(tb: Table):
        if tb.billing_mode == "provisioned":
            return float(tb.read_capacity_units), float(tb.write_capacity_units)
        wt = tb.warm_throughput
        return (float(wt.read_units_per_s if wt.read_units_per_s is not None else T.ON_DEMAND_INITIAL_RCU),
                float(wt.write_units_per_s if wt.write_units_per_s is not None else T.ON_DEMAND_INITIAL_WCU))

    def specs(self) -> List[dict]:
        """The tables as `kernels.tables.table_arrays` takes them."""
        out = []
        for name, tb in self.tables.items():
            r, w = self._initial(tb)
            stream = dict(zip(("stream_queue", "stream_port"), self.streams.get(name, (-1, -1))))
            if tb.billing_mode == "provisioned":
                a = tb.auto_scaling
                mr = float(a.max_read_capacity_units or ON_DEMAND_MAX_UNITS_PER_S) if a else r
                mw = float(a.max_write_capacity_units or ON_DEMAND_MAX_UNITS_PER_S) if a else w
                out.append({"mode": T.PROVISIONED, "read": r, "write": w, "max_read": mr, "max_write": mw,
                            "burst_s": float(tb.burst_s), **stream})
            else:
                out.append({"mode": T.ON_DEMAND, "read": r, "write": w, "max_read": float(tb.max_read_units_per_s),
                            "max_write": float(tb.max_write_units_per_s), **stream})
        return out

    # auto scaling -----------------------------------------------------------------------
    def start(self, env, state) -> None:
        """Hold the kernel state; start auto scaling for the provisioned tables that have it."""
        self.state = state
        for i, tb in enumerate(self.tables.values()):
            if tb.billing_mode == "provisioned" and tb.auto_scaling is not None:
                env.process(self._autoscale(env, i, tb))

    def _capacity(self, i: int) -> List[float]:
        return [self.steps[i][-1][1], self.steps[i][-1][2]]

    def set_capacity(self, t: float, i: int, read: float, write: float) -> None:
        """Table i's provisioned capacity becomes (read, write) at t (between windows)."""
        st = self.state
        T.set_capacity(float(t), i, float(read), float(write), st.tbi, st.tbf, st.tpart, st.tring)
        self.steps[i].append((float(t), float(read), float(write)))

    def _autoscale(self, env, i: int, tb: Table):
        a = tb.auto_scaling
        lo = [float(a.min_read_capacity_units or tb.read_capacity_units),
              float(a.min_write_capacity_units or tb.write_capacity_units)]
        hi = [float(a.max_read_capacity_units or ON_DEMAND_MAX_UNITS_PER_S),
              float(a.max_write_capacity_units or ON_DEMAND_MAX_UNITS_PER_S)]
        above, below = [0, 0], [0, 0]
        pending = [False, False]
        decreases: List[float] = []
        tbf = self.state.tbf
        minute = 0
        while True:
            minute += 1
            yield env.timeout(minute * MINUTE_S - env.now)
            t = env.now
            for d in (T.READ, T.WRITE):
                used = float(tbf[i, T.TBF_CTL + d])
                tbf[i, T.TBF_CTL + d] = 0.0
                if pending[d]:
                    continue
                cap = self._capacity(i)[d]
                util = used / MINUTE_S / cap
                above[d] = above[d] + 1 if util > a.target_utilization else 0
                below[d] = below[d] + 1 if util <= a.target_utilization - SCALE_IN_BELOW else 0
                want = min(hi[d], max(lo[d], float(math.ceil(used / MINUTE_S / a.target_utilization - 1e-9))))
                if above[d] >= OUT_POINTS and want > cap:
                    pending[d] = True
                    env.process(self._apply(env, i, d, want, a.update_delay_s, t, util, pending, above, below))
                elif below[d] >= IN_POINTS and a.scale_in and want < cap and self._may_decrease(t, decreases):
                    decreases.append(t)
                    pending[d] = True
                    env.process(self._apply(env, i, d, want, a.update_delay_s, t, util, pending, above, below))

    @staticmethod
    def _may_decrease(t: float, decreases: List[float]) -> bool:
        today = [x for x in decreases if x // DAY_S == t // DAY_S]
        return len(today) < DECREASES_PER_DAY or not decreases or t - decreases[-1] >= HOUR_S

    def _apply(self, env, i, d, want, delay, t_decided, util, pending, above, below):
        yield env.timeout(delay)
        cap = self._capacity(i)
        old = cap[d]
        cap[d] = want
        self.set_capacity(env.now, i, *cap)
        self.scalings[i].append({"decided_s": t_decided, "in_force_s": env.now,
                                 "direction": ("read", "write")[d], "from": old, "to": want,
                                 "utilization": round(util, 4)})
        pending[d] = False
        above[d] = below[d] = 0

    # outputs ----------------------------------------------------------------------------
    def _capacity_unit_ms(self, i: int, n_periods: int):
        """Per period, the provisioned capacity in force × ms, read and write (int64)."""
        out = np.zeros((n_periods, 2), np.int64)
        steps = self.steps[i] + [(self.t_end, 0.0, 0.0)]
        for (t0, r, w), (t1, _, _) in zip(steps[:-1], steps[1:]):
            for p in range(int(t0 // self.period_s), min(n_periods, int(math.ceil(t1 / self.period_s)))):
                a, b = max(t0, p * self.period_s), min(t1, (p + 1) * self.period_s, self.t_end)
                if b > a:
                    ms = int(round(b * 1000)) - int(round(a * 1000))
                    out[p] += [int(round(r)) * ms, int(round(w)) * ms]
        return out

    def summary(self, streams: Optional[Dict[str, dict]] = None) -> Dict[str, dict]:
        """summary.json's `tables`: per table, requests = ok + throttled, consumed units, throttle
        events by kind, the peak second (on demand), partitions, capacity at the end, scalings,
        and its stream's queue as `stream` (records sent, delivered and deleted, in the queue)."""
        st = self.state
        streams = streams or {}
        out = {}
        for i, (name, tb) in enumerate(self.tables.items()):
            c = st.tper[:, i].sum(axis=0)
            ok = int(c[T.TC_OK])
            row = {
                "billing_mode": tb.billing_mode,
                "requests": int(c[T.TC_REQUESTS]),
                "ok": ok,
                "throttled": int(c[T.TC_REQUESTS]) - ok,
                "read_throttle_events": int(c[T.TC_READ_THROTTLES]),
                "write_throttle_events": int(c[T.TC_WRITE_THROTTLES]),
                "read_key_range_throttle_events": int(c[T.TC_READ_KEY_RANGE]),
                "write_key_range_throttle_events": int(c[T.TC_WRITE_KEY_RANGE]),
                "consumed_rcu": int(c[T.TC_READ_HALVES]) / 2,
                "consumed_wcu": int(c[T.TC_WRITE_HALVES]) / 2,
                "latency_ms_mean": (int(c[T.TC_LATENCY_US]) / ok / 1000.0) if ok else None,
                "partitions_end": int(st.tbi[i, T.TBI_P]),
                "splits": int(st.tbi[i, T.TBI_SPLITS]),
                "read_capacity_end": float(st.tbf[i, T.TBF_CAP + T.READ]),
                "write_capacity_end": float(st.tbf[i, T.TBF_CAP + T.WRITE]),
            }
            if name in streams:
                row["stream"] = streams[name]
            if tb.billing_mode == "on_demand":
                row["peak_read_units_per_s"] = float(st.tbf[i, T.TBF_PEAK_NOW + T.READ])
                row["peak_write_units_per_s"] = float(st.tbf[i, T.TBF_PEAK_NOW + T.WRITE])
            else:
                row["scalings"] = len(self.scalings[i])
            out[name] = row
        return out

    def metrics(self):
        """AWS/DynamoDB per period and table: ConsumedRead/WriteCapacityUnits (sums), Read/Write
        ThrottleEvents, Read/WriteKeyRangeThroughputThrottleEvents, ThrottledRequests,
        SuccessfulRequestLatency (mean, ms), ProvisionedRead/WriteCapacityUnits (provisioned: the
        capacity in force at the period's end; on demand: the capacity the table served at)."""
        import polars as pl

        st = self.state
        P = st.tper.shape[0]
        frames = []
        time_s = np.arange(P) * self.period_s
        for i, (name, tb) in enumerate(self.tables.items()):
            c = st.tper[:, i].astype(np.float64)
            ok = c[:, T.TC_OK]
            with np.errstate(invalid="ignore", divide="ignore"):
                lat = np.where(ok > 0, c[:, T.TC_LATENCY_US] / ok / 1000.0, np.nan)
            series = [("ConsumedReadCapacityUnits", c[:, T.TC_READ_HALVES] / 2),
                      ("ConsumedWriteCapacityUnits", c[:, T.TC_WRITE_HALVES] / 2),
                      ("ReadThrottleEvents", c[:, T.TC_READ_THROTTLES]),
                      ("WriteThrottleEvents", c[:, T.TC_WRITE_THROTTLES]),
                      ("ReadKeyRangeThroughputThrottleEvents", c[:, T.TC_READ_KEY_RANGE]),
                      ("WriteKeyRangeThroughputThrottleEvents", c[:, T.TC_WRITE_KEY_RANGE]),
                      ("ThrottledRequests", c[:, T.TC_REQUESTS] - ok),
                      ("SuccessfulRequestLatency", lat)]
            if tb.billing_mode == "provisioned":
                ends = np.minimum((np.arange(P) + 1) * self.period_s, self.t_end)
                times = np.array([s[0] for s in self.steps[i]])
                idx = np.searchsorted(times, ends, side="left") - 1  # in force just before the period's end
                caps = np.array([[s[1], s[2]] for s in self.steps[i]])[np.maximum(idx, 0)]
                series += [("ProvisionedReadCapacityUnits", caps[:, 0]),
                           ("ProvisionedWriteCapacityUnits", caps[:, 1])]
            for metric, v in series:
                frames.append(pl.DataFrame({"time_s": time_s, "namespace": "AWS/DynamoDB", "metric": metric,
                                            "dimension": f"TableName={name}", "value": v.astype(np.float64)}))
        return pl.concat(frames) if frames else None

    def usage(self):
        """(whole run, per period) Usage records of AmazonDynamoDB (see the module docstring)."""
        from sim.billing.meters import MeterTable, period_ms

        st = self.state
        P = st.tper.shape[0]
        names = [f"table:{n}" for n in self.names]
        table = MeterTable("AmazonDynamoDB", names, P, self.period_s)
        on_demand = [Decimal(int(t.billing_mode == "on_demand")) for t in self.tables.values()]
        provisioned = [Decimal(1) - x for x in on_demand]
        table.declare("WriteRequestUnits", "WriteRequestUnits", [x / 2 for x in on_demand])[:] = \
            st.tper[:, : len(self.names), T.TC_WRITE_HALVES]
        table.declare("ReadRequestUnits", "ReadRequestUnits", [x / 2 for x in on_demand])[:] = \
            st.tper[:, : len(self.names), T.TC_READ_HALVES]
        ms_per_h = Decimal(3_600_000)
        wcu = table.declare("WriteCapacityUnit-Hrs", "WriteCapacityUnit-Hrs", [x / ms_per_h for x in provisioned])
        rcu = table.declare("ReadCapacityUnit-Hrs", "ReadCapacityUnit-Hrs", [x / ms_per_h for x in provisioned])
        for i in range(len(self.names)):
            if provisioned[i]:
                unit_ms = self._capacity_unit_ms(i, P)
                rcu[:, i], wcu[:, i] = unit_ms[:, 0], unit_ms[:, 1]
        month_ms = Decimal(str(self.month_h)) * ms_per_h
        gb = [Decimal(str(t.storage_gb)) / month_ms for t in self.tables.values()]
        table.declare("TimedStorage-ByteHrs", "GB-Mo", gb)[:] = period_ms(P, self.period_s, self.t_end)[:, None]
        return table.usage()
