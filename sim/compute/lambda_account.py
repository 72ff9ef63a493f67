"""The Lambda functions of one account: one coupled group stepped by one kernel call per window.

With queues, topics, buses or calls, the group is the whole account's data plane — its
functions, queues, mappings, fleets, topics and buses (`add_unit`), the functions' calls
(`add_call`) and the endpoints they call — run by `kernels.account.run_account` in one
event loop (kernels/ACCOUNT_SPEC.md); without them, by the pool's own loop. The flows its
functions in a VPC send (`add_egress`: calls that reach no service) come out as flow records,
`take_flows()` after each window, for the network (ACCOUNT_SPEC.md §10).

Model (AWS behaviour from the Lambda developer guide, figures in scenarios.schema and
docs/FACTS.md; exact semantics in kernels/POOL_SPEC.md): account concurrency shared by all
functions, reserved concurrency as cap and guarantee, provisioned concurrency used first
with spill-over to on demand, the scaling rate as a token bucket of new environments,
one request per environment, most-recently-used warm reuse, idle expiry, timeouts,
errors, client retries of throttled sync calls, and the async internal queue with its
throttle and error retries. Simplifications: provisioned environments are ready the
instant they are configured (AWS takes minutes); the async queue adds no delay of its
own beyond retries; the init phase is not subject to the function timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from kernels import lambda_pool as K
from kernels.billing import request_units_many
from kernels.heap import H_V, first_time
from kernels.queue_pool import FleetParams, MappingParams, QueueParams
from scenarios.messaging import SQS_IN_FLIGHT_LIMIT, EventSourceMapping, Queue, WorkerFleet
from scenarios.schema import Account, Function, Retries
from sim.engine.batch import Inbox
from sim.compute import pool_state
from sim.engine.percentiles import hist_stats
from sim.compute.lambda_usage import lambda_usage, memory_gb
from sim.compute.pool_state import PoolParams, PoolState
from sim.messaging.sqs_outputs import QueueOutputs
from sim.messaging import sqs_state
from sim.messaging.sqs_state import MessagingState, MessagingStreams
from scenarios.state import BUCKET_OPERATIONS
from sim.storage.buckets import Buckets
from sim.storage.tables import Tables
from sim.storage.tables import direction as table_direction
from sim.engine.distributions import sampler
from sim.engine import Component, WiringError
from sim.engine.rng import ChunkStream, generator

# Scaling rate (scaling-behavior.html): each function adds up to 1,000 environments per
# 10 s, refilled continuously. Before 2023: a Region-wide burst, then +500 per minute.
PER_FUNCTION_BURST = 1000
PER_FUNCTION_REFILL_PER_S = 1000 / 10
REGION_BURST = {"us-east-1": 3000, "us-west-2": 3000, "eu-west-1": 3000,
                "us-east-2": 1000, "ap-northeast-1": 1000, "eu-central-1": 1000}
REGION_BURST_OTHER = 500
REGION_REFILL_PER_S = 500 / 60
VCPU_MB = 1769  # configuration-function-common.md: 1,769 MB = 1 vCPU
MAX_VCPU = 6
JITTER = {"none": K.JITTER_NONE, "full": K.JITTER_FULL, "equal": K.JITTER_EQUAL}
OUTCOMES = ("ok", "error", "timeout", "throttled")
# Flow records the account's buffer holds before it first grows (it doubles when full; take_flows
# empties it): 16 bytes each.
FLOW_RECORDS = 4096
# A span's answer attribute: a call's (kernels.account R_*; -1 abandoned: its caller ended) and
# a client request's (lambda_pool A_*).
CALL_ANSWERS = {0: "ok", 1: "function_error", 2: "throttled", 3: "server_error", 4: "unavailable", -1: "abandoned"}
ROOT_ANSWERS = {0: "ok", 1: "failed", 2: "throttled"}


def duration_scale(fn: Function) -> float:
    """Multiplier on duration for the function's memory (CPU proportional to memory).

    With f = cpu_bound_fraction, vcpu(m) = min(m / 1769, 6, max_threads):
        duration(m) = duration(ref) · ((1 − f) + f · vcpu(ref) / vcpu(m)).
    """
    c = fn.cpu_scaling
    if c is None:
        return 1.0

    def vcpu(m: float) -> float:
        return min(m / VCPU_MB, MAX_VCPU, c.max_threads)

    return (1 - c.cpu_bound_fraction) + c.cpu_bound_fraction * vcpu(c.reference_memory_mb) / vcpu(fn.memory_mb)


@dataclass
class Source:
    """An input port of the account: a function's callers, or a queue's senders."""

    name: str
    fn: int  # -1 for a queue port
    inv: int  # 0 sync, 1 async
    retries: Retries
    queue: int = -1  # >= 0: SendMessage to this queue
    unit: int = -1  # >= 0: Publish / PutEvents to this topic or bus (the account's fan-out unit)
    entry: int = -1  # >= 0: a traffic source (its index in the scenario): an entry point


class LambdaAccount(Component):
    """All functions of the account, as one data-plane unit."""

    def __init__(self, name: str, account: Account, region: str, functions: Dict[str, Function],
                 seed: int, t_end: float, period_s: float, sample: float = 0.0, first_n: int = 0,
                 sample_all: bool = False, base_dir: Optional[Path] = None, chunk: Optional[int] = None,
                 queues: Optional[Dict[str, Queue]] = None, mappings: Optional[List[EventSourceMapping]] = None,
                 fleets: Optional[Dict[str, WorkerFleet]] = None, endpoints: Optional[Dict] = None,
                 trace_sample: float = 0.0, trace_first_n: int = 0, tables: Optional[Dict] = None,
                 month_h: float = 730.0, buckets: Optional[Dict] = None, state_machines: Optional[Dict] = None,
                 scenario=None):
        super().__init__(name)
        self.account = account
        self.queues = dict(queues or {})
        self.mappings = list(mappings or [])
        self.fleets = dict(fleets or {})
        self.region = region
        self.functions = functions
        self.fn_names = list(functions)
        self.seed = seed
        self.t_end = t_end
        self.period_s = period_s
        self.sampling = (sample, first_n, sample_all)
        self.trace_sampling = dict(trace_sample=trace_sample, trace_first_n=trace_first_n)  # record.traces
        self.base_dir = base_dir
        self.chunk = chunk
        self.sources: List[Source] = []
        self.port_seq: List[int] = []  # per port: items received so far (the low bits of ids)
        self.queue_names: List[str] = list(queues or {})
        self._luts = None  # per-port lookup arrays, built at the first step
        self.inbox = Inbox()
        self.streams = None
        self.fstreams: List[tuple] = []  # per fan-out target: its (U, LAT) streams
        self.state: Optional[PoolState] = None
        self.mq: Optional[MessagingState] = None  # with queues: the messaging kernel's state (state = mq.pool)
        self.rows: List[tuple] = []
        self.arrivals = 0
        self.pc_steps: Dict[int, List[tuple]] = {}  # f -> [(t, count)]: the billing timeline
        self.units: List = []  # the topics and buses it runs (sim.messaging.fanout: SnsTopic, EventBus)
        self.fanout = None  # their kernel arrays (sim.compute.account_state.AccountFanout), from start()
        self.port_arrays = None  # per port: function, invocation, queue, unit, items so far (the kernel's)
        self.calls: Dict[str, List[tuple]] = {n: [] for n in functions}  # per function: (Call, kind, port or endpoint)
        # per function: its egress entries (scenarios.vpc.Egress), calls of kind K_FLOW after its calls
        self.egress: Dict[str, list] = {n: [] for n in functions}
        self.endpoints = dict(endpoints or {})
        # DynamoDB tables (sim.storage.tables): their state is in the calls' kernel arrays
        self.tables = Tables(tables, t_end, period_s, month_h) if tables else None
        # S3 buckets (sim.storage.buckets): their prefixes' state is in the calls' kernel arrays
        self.buckets = Buckets(buckets, t_end, period_s, month_h) if buckets else None
        # Step Functions state machines (sim.integration.workflows), pseudo-functions of the calls' arrays
        # (imported only then: it brings the account kernel's module, which a pool-only run never loads)
        self.workflows = None
        if state_machines:
            from sim.integration.workflows import Workflows

            self.workflows = Workflows(state_machines, scenario, t_end, period_s)
        self.calls_state = None  # the calls' kernel arrays (sim.compute.account_state.AccountCalls), from start()
        self.xstreams: List = []
        self.flow_records = FLOW_RECORDS  # room for flow records to start with (doubled as needed)
        self.entry_clients: Dict[int, tuple] = {}  # traffic source -> (client timeout s, latency offset s)
        # traffic source -> its requests a stage before the account (an ECS service, an HTTP backend)
        # had not answered by the end: they reach no port of the account, yet are its requests
        self.entry_pending: Dict[int, int] = {}

    # declare / connect -------------------------------------------------------------
    def add_source(self, name: str, function: str, invocation: str, retries: Retries, entry: int = -1) -> int:
        """Register a caller of `function` (`entry` >= 0: traffic source number `entry`, an entry
        point); returns its port (also the high bits of its ids)."""
        self.sources.append(Source(name, self.fn_names.index(function),
                                   0 if invocation == "sync" else 1, retries, entry=entry))
        self.port_seq.append(0)
        return len(self.sources) - 1

    def add_gateway_port(self, name: str, answer: int, entry: int) -> int:
        """Register a port for the answers an API Gateway route gives itself to traffic source
        `entry` (ACCOUNT_SPEC.md §12): `answer` is kernels.account.GW_ANSWER_OK (a cache hit, an
        HTTP backend's 200), GW_ANSWER_THROTTLED (a 429) or GW_ANSWER_FAILED (a backend's 5xx);
        they only count for its entry point."""
        self.sources.append(Source(name, -1, 0, Retries(), unit=answer, entry=entry))
        self.port_seq.append(0)
        return len(self.sources) - 1

    def set_entry_client(self, entry: int, timeout_s: float, offset_s: float) -> None:
        """Traffic source `entry`'s clients: their timeout (an answer later than it is a timeout,
        seen at it) and what is added to every latency they see (an API's integration timeout and
        its own overhead)."""
        self.entry_clients[entry] = (float(timeout_s), float(offset_s))

    def add_entry_pending(self, entry: int, n: int) -> None:
        """Traffic source `entry` made `n` requests that a stage before the account answers only
        after the run's end (or never): counted in its requests and in_flight_end."""
        self.entry_pending[entry] = self.entry_pending.get(entry, 0) + int(n)

    def add_machine_port(self, name: str, machine: int, invocation: str, entry: int = -1) -> int:
        """Register a traffic source starting executions of state machine `machine` (StartExecution,
        or StartSyncExecution when `invocation` is sync); returns its port."""
        from kernels.account import SFN_UNIT0

        self.sources.append(Source(name, -1, 0 if invocation == "sync" else 1, Retries(), unit=SFN_UNIT0 - machine,
                                   entry=entry))
        self.port_seq.append(0)
        return len(self.sources) - 1

    def add_queue_port(self, name: str, queue: str, entry: int = -1) -> int:
        """Register a sender of messages to `queue`; returns its port."""
        self.sources.append(Source(name, -1, 0, Retries(), queue=self.queue_names.index(queue), entry=entry))
        self.port_seq.append(0)
        return len(self.sources) - 1

    def add_call(self, function: str, call, kind: str, port: int, classes=None) -> None:
        """Function `function` makes `call` (scenarios.calls.Call) to a target of `kind` reached
        through account port `port` (an endpoint's index for an endpoint); `classes`: the call's
        own message classes (sim.messaging.classes.SourceClasses of its `attributes`), or None."""
        self.calls[function].append((call, kind, port, classes))

    def add_egress(self, function: str, index: int, egress) -> None:
        """Function `function`'s egress entry `index` (scenarios.vpc.Egress): each invocation makes
        it as a call after its `calls` (ACCOUNT_SPEC.md §10), leaving a flow record per flow."""
        if index != len(self.egress[function]):
            raise WiringError(f"{self.name}: {function}.egress[{index}] added out of order")
        self.egress[function].append(egress)

    def egress_entries(self) -> List[Tuple[str, int, object]]:
        """Every egress entry as (function name, index in its egress list, the Egress), in the order
        of their global numbers: functions in the account's order, entries in list order. A flow
        record's `entry` (take_flows) is a position in this list."""
        return [(name, i, e) for name in self.fn_names for i, e in enumerate(self.egress[name])]

    def take_flows(self) -> Tuple[np.ndarray, np.ndarray]:
        """(t float64, entry int64): the flow records written since the last call (copies), one per
        flow an invocation sent, at the instant it was sent, in event order (equal times keep it);
        `entry` is the egress entry's global number (`egress_entries`). The buffer is emptied:
        a network component takes them after the account's step in each window."""
        if self.calls_state is None:
            return np.zeros(0, np.float64), np.zeros(0, np.int64)
        from kernels import account as A

        t, k = self.calls_state.take_flows()
        return t, self.calls_state.cpi[k, A.CP_INDEX]

    def has_calls(self) -> bool:
        """Whether the account needs its full loop (calls, tables, an API's own answers), not the pool's alone."""
        return (any(self.calls.values()) or any(self.egress.values()) or self.tables is not None
                or self.buckets is not None or self.workflows is not None or any(s.unit < -1 for s in self.sources))

    def add_unit(self, unit) -> int:
        """Run a topic or bus (a `sim.messaging.fanout._Fanout`) in this account's loop; returns its index."""
        self.units.append(unit)
        return len(self.units) - 1

    def add_unit_port(self, name: str, unit: int, entry: int = -1) -> int:
        """Register a publisher to unit `unit` (a topic's or bus's index); returns its port."""
        self.sources.append(Source(name, -1, 1, Retries(), unit=unit, entry=entry))
        self.port_seq.append(0)
        return len(self.sources) - 1

    def check(self) -> None:
        for s in self.sources:
            if not (0 <= s.fn < len(self.fn_names) or 0 <= s.queue < len(self.queue_names)
                    or 0 <= s.unit < len(self.units) or s.unit < -1):  # (< -1: an API's own answers)
                raise WiringError(f"{self.name}: source {s.name} points at no function, queue, topic or bus")
        for u in self.units:
            u.check()
            for inbox, port in [*u.routes, *u.dlq_routes]:
                if inbox is not None and inbox is not self.inbox:
                    raise WiringError(f"{u.name}: delivers to a port outside its account ({port})")

    def params(self) -> PoolParams:
        fns = [self.functions[n] for n in self.fn_names]
        reserved = [-1 if f.reserved_concurrency is None else f.reserved_concurrency for f in fns]
        a = self.account
        if a.scaling_model == "per_function":
            cap = a.scaling_burst or PER_FUNCTION_BURST
            rate = a.scaling_refill_per_s or PER_FUNCTION_REFILL_PER_S
            bucket, caps, rates = list(range(len(fns))), [cap] * len(fns), [rate] * len(fns)
        else:
            cap = a.scaling_burst or REGION_BURST.get(self.region, REGION_BURST_OTHER)
            rate = a.scaling_refill_per_s or REGION_REFILL_PER_S
            bucket, caps, rates = [0] * len(fns), [cap], [rate]
        src = self.sources
        return PoolParams(
            reserved=reserved,
            timeout_ms=[f.timeout_s * 1000.0 for f in fns],
            error_rate=[f.error_rate for f in fns],
            dur_scale=[duration_scale(f) for f in fns],
            async_max_retries=[f.async_invoke.max_retry_attempts for f in fns],
            async_max_age_s=[f.async_invoke.max_event_age_s for f in fns],
            bucket=bucket, bucket_cap=caps, bucket_rate=rates,
            unres_cap=a.concurrency_limit - sum(r for r in reserved if r >= 0),
            retry_max_attempts=[s.retries.max_attempts for s in src],
            retry_base_s=[s.retries.base_delay_s for s in src],
            retry_cap_s=[s.retries.max_delay_s for s in src],
            retry_jitter=[JITTER[s.retries.jitter] for s in src],
            on_failure_queue=[self._on_failure_queue(f) for f in fns],
            n_calls=[len(self.calls[n]) + len(self.egress[n]) for n in self.fn_names],
        )

    def _on_failure_queue(self, fn: Function) -> int:
        dest = fn.async_invoke.on_failure
        return self.queue_names.index(dest.partition(":")[2]) if dest else -1

    def messaging_params(self):
        """(QueueParams, MappingParams, FleetParams) of the account's queues (QUEUE_SPEC.md)."""
        qs = [self.queues[n] for n in self.queue_names]
        qp = QueueParams(
            visibility_timeout_s=[q.visibility_timeout_s for q in qs],
            retention_s=[q.retention_s for q in qs],
            delay_s=[q.delay_s for q in qs],
            max_receive_count=[-1 if q.max_receive_count is None else q.max_receive_count for q in qs],
            dlq=[-1 if q.dead_letter_queue is None else self.queue_names.index(q.dead_letter_queue) for q in qs],
            in_flight_limit=[SQS_IN_FLIGHT_LIMIT if q.in_flight_limit is None else q.in_flight_limit for q in qs],
            fifo=[int(q.type == "fifo") for q in qs],
        )
        ms = self.mappings
        mp = MappingParams(
            queue=[self.queue_names.index(m.source) for m in ms],
            function=[self.fn_names.index(m.function) for m in ms],
            batch_size=[m.batch_size for m in ms],
            window_s=[m.batching_window_s for m in ms],
            max_concurrency=[-1 if m.max_concurrency is None else m.max_concurrency for m in ms],
            report_failures=[int(m.report_batch_item_failures) for m in ms],
            item_failure_rate=[m.item_failure_rate for m in ms],
            legacy_scaling=[int(m.scaling == "legacy") for m in ms],
        )
        ws = list(self.fleets.values())
        fp = FleetParams(queue=[self.queue_names.index(w.queue) for w in ws], n_workers=[w.workers for w in ws],
                         max_messages=[w.max_messages for w in ws], error_rate=[w.error_rate for w in ws])
        return qp, mp, fp

    def messaging_streams(self, pool_streams) -> MessagingStreams:
        """ITEM per mapping (uniform), PROC (ms) and WERR (uniform) per fleet; own Generators."""
        kw = {} if self.chunk is None else {"chunk": self.chunk}

        def uniform(gen, n):
            return gen.random(n)

        item = [ChunkStream(generator(self.seed, f"{self.name}.mapping.{m.source}->{m.function}"), uniform, **kw)
                for m in self.mappings]
        proc = [ChunkStream(generator(self.seed, f"{self.name}.fleet.{n}", 0), sampler(w.processing_ms, self.base_dir), **kw)
                for n, w in self.fleets.items()]
        werr = [ChunkStream(generator(self.seed, f"{self.name}.fleet.{n}", 1), uniform, **kw) for n in self.fleets]
        return MessagingStreams(pool_streams, item, proc, werr)

    def make_streams(self):
        """Per function: duration (ms), init (ms), idle expiry (s), uniform — one Generator each."""
        out = []
        for name in self.fn_names:
            fn = self.functions[name]
            scope = f"{self.name}.{name}"
            draws = [sampler(fn.duration_ms, self.base_dir), sampler(fn.init_ms, self.base_dir),
                     sampler(fn.idle_expiry_s, self.base_dir), lambda gen, n: gen.random(n)]
            kw = {} if self.chunk is None else {"chunk": self.chunk}
            out.append([ChunkStream(generator(self.seed, scope, k), d, **kw) for k, d in enumerate(draws)])
        return out

    def start(self, env) -> None:
        from sim.engine.rng import CHUNK

        sample, first_n, sample_all = self.sampling
        if self.streams is None:
            self.streams = self.make_streams()
        if self.queues or self.units or self.has_calls():
            self.mq = MessagingState(self.params(), *self.messaging_params(), self.t_end, self.period_s,
                                     self.chunk or CHUNK, sample=sample, first_n=first_n, sample_all=sample_all,
                                     deadline_lists=len(self.workflows.names) if self.workflows else 0,
                                     **self.trace_sampling)
            self.state = self.mq.pool
            self.streams = self.messaging_streams(self.streams)
            self._start_fanout()
            self._start_calls()
            if self.tables is not None:
                self.tables.start(env, self.calls_state)
            if self.buckets is not None:
                self.buckets.start(env, self.calls_state)
        else:
            self.state = PoolState(self.params(), self.t_end, self.period_s, self.chunk or CHUNK,
                                   sample=sample, first_n=first_n, sample_all=sample_all, **self.trace_sampling)
        # one entry point per traffic source, whatever the ports it reaches the account through
        # (an API route's integration and its own answers); named by its first port
        entries = sorted({s.entry for s in self.sources if s.entry >= 0})
        rank = {x: e for e, x in enumerate(entries)}
        self.entry_ports = [(x, min(p for p, s in enumerate(self.sources) if s.entry == x)) for x in entries]
        port_entry = np.full(len(self.sources), -1, np.int64)
        for p, s in enumerate(self.sources):
            if s.entry >= 0:
                port_entry[p] = rank[s.entry]
        self.state.set_entries(port_entry, len(entries))
        for x, (timeout_s, offset_s) in self.entry_clients.items():
            self.state.enf[rank[x], K.ENF_TIMEOUT_S] = timeout_s
            self.state.enf[rank[x], K.ENF_OFFSET_S] = offset_s
        for f, name in enumerate(self.fn_names):
            fn = self.functions[name]
            schedule = sorted(fn.provisioned_schedule, key=lambda s: s.at_s)
            if fn.provisioned_concurrency and not (schedule and schedule[0].at_s == 0):
                self.set_provisioned(0.0, f, fn.provisioned_concurrency)
            if schedule:
                env.process(self._schedule(env, f, schedule))
        if self.mq is not None:
            self.mq.start()  # t = 0: the mappings' first pollers and the fleets' workers start polling

    def _schedule(self, env, f, schedule):
        for step in schedule:
            yield env.timeout(step.at_s - env.now)
            self.set_provisioned(env.now, f, step.count)

    def set_provisioned(self, t: float, f: int, n: int) -> None:
        self.pc_steps.setdefault(f, []).append((t, n))
        if self.mq is not None:
            self.mq.control_provisioned(t, f, n)
            return
        s = self.state
        K.control_provisioned(t, f, n, s.fs, s.ft, s.fpi, s.g, s.gf, s.pmi, s.pmf, s.phist)

    # run ------------------------------------------------------------------------------
    def step(self, t0: float, t1: float) -> None:
        # Puts in the order of their ports (a topic's or a bus's batch, a port per item,
        # ranks by its lowest route port): a fixed order, so ties in time are broken the
        # same way whatever the window.
        taken = [(p, b) for p, b, _ in sorted(self.inbox.take(t1), key=lambda e: e[2])]
        if taken:
            ports = [np.full(len(b), p, np.int64) if isinstance(p, int) else p for p, b in taken]
            pp = ports[0] if len(ports) == 1 else np.concatenate(ports)
            t = taken[0][1].t if len(taken) == 1 else np.concatenate([b.t for _, b in taken])
            lut = self._port_tables()
            arr = (
                t,
                np.concatenate([self._ids(p, len(b)) for p, b in taken]),
                lut[0][pp],
                pp,
                lut[1][pp],
                _cat([b.duration_ms for _, b in taken]),
                _cat([b.size_bytes for _, b in taken]),
                *((lut[2][pp], _cat([b.key for _, b in taken]), _cat([b.group for _, b in taken]), lut[3][pp])
                  if self.mq is not None else ()),
            )
            if len(taken) > 1:
                order = np.argsort(t, kind="stable")
                arr = tuple(np.ascontiguousarray(a[order]) for a in arr)
            units = np.empty(len(t), np.int64)
            request_units_many(arr[6], arr[4], units)
            if self.mq is not None:  # (t, id, fn, src, inv, dover, units, queue, size, key, group, unit)
                arr = (*arr[:6], units, arr[7], arr[6], arr[8], arr[9], arr[10])
            else:
                arr = (*arr[:6], units)
            self.arrivals += len(t)
        else:
            g = self.state.g
            if g[K.G_HEAP_N] == 0 or first_time(self.state.hh) >= t1:
                return  # nothing happens in this window
            arr = _NO_ARRIVALS if self.mq is None else _NO_SENDS
        if self.mq is None:
            pool_state.run(self.state, t1, arr, self.streams)
        else:
            sqs_state.run(self.mq, t1, arr, self.streams, fan=self.fanout, ports=self.port_arrays,
                          fstreams=self.fstreams, calls=self.calls_state, xstreams=self.xstreams)
        if self.state.g[K.G_ROWS_N]:
            self.rows.append(self.state.take_rows())

    def _port_tables(self):
        """Per port: (function, invocation type, queue, unit) lookup arrays."""
        if self._luts is None or len(self._luts[0]) != len(self.sources):
            self._luts = tuple(np.array([getattr(s, a) for s in self.sources], np.int64)
                               for a in ("fn", "inv", "queue", "unit"))
        return self._luts

    def call_params(self):
        """Per function, its calls as the kernel reads them (kernels.account.CallParams), its egress
        entries after them (kind K_FLOW: async, latency 0, one attempt, no payload; index the
        entry's global number), and the endpoints' (EndpointParams)."""
        from kernels import account as A
        from kernels.fanout import merge_outages
        from scenarios.calls import ENDPOINT_MAX_ATTEMPTS, SDK_MAX_ATTEMPTS

        kinds = {"function": A.K_FUNCTION, "queue": A.K_QUEUE, "topic": A.K_UNIT, "bus": A.K_UNIT,
                 "endpoint": A.K_ENDPOINT, "table": A.K_TABLE, "bucket": A.K_BUCKET, "state_machine": A.K_SFN}
        out = []
        n_egress = 0
        for name in self.call_owners():
            cs = []
            for call, kind, port, classes in self.calls[name]:
                if kind in ("endpoint", "table", "bucket", "state_machine"):
                    index, via = port, -1
                else:
                    src = self.sources[port]
                    index, via = (src.fn if kind == "function" else src.queue if kind == "queue" else src.unit), port
                default_attempts = ENDPOINT_MAX_ATTEMPTS if kind == "endpoint" else SDK_MAX_ATTEMPTS
                cs.append(A.CallParams(kinds[kind], index, sync=call.mode == "sync", probability=call.probability,
                                       count=call.count, at_end=call.at == "end",
                                       size_bytes=-1 if call.size_bytes is None else call.size_bytes,
                                       max_attempts=call.max_attempts or default_attempts,
                                       on_error_continue=call.on_error == "continue", port=via,
                                       key=-1 if classes is None else classes.offset,
                                       key_cdf=[] if classes is None else [float(v) for v in classes.cdf],
                                       direction=(table_direction(call) if kind == "table" else
                                                  BUCKET_OPERATIONS.index(call.operation) if kind == "bucket" else 0)))
            for e in self.egress.get(name, ()):
                cs.append(A.CallParams(A.K_FLOW, n_egress, sync=False, probability=e.probability, count=e.count,
                                       at_end=e.at == "end", size_bytes=0, max_attempts=1))
                n_egress += 1
            out.append(cs)
        eps = []
        for ep in self.endpoints.values():
            rate = ep.rate_limit_per_s if ep.rate_limit_per_s is not None else float("inf")
            eps.append(A.EndpointParams(error_rate=ep.error_rate,
                                        outages=merge_outages([(o.start_s, o.end_s) for o in ep.outages]),
                                        rate_per_s=rate, burst=ep.burst if ep.burst is not None else rate,
                                        max_concurrency=-1 if ep.max_concurrency is None else ep.max_concurrency))
        return out, eps

    def _start_calls(self) -> None:
        """The calls' and endpoints' kernel arrays and their streams: CALL per function
        (uniform), CLAT per call (its latency_ms, default DEFAULT_API_LATENCY_MS; 0 to an
        endpoint and for an egress entry), ELAT (latency_ms) and EU (uniform) per endpoint —
        each its own Generator."""
        from scenarios.calls import DEFAULT_API_LATENCY_MS
        from scenarios.common import Dist
        from scenarios.state import DEFAULT_FIRST_BYTE_MS, DEFAULT_TABLE_LATENCY_MS
        from sim.compute.account_state import AccountCalls
        from sim.storage.buckets import prefix_sampler, size_sampler
        from sim.storage.tables import key_sampler, units_sampler

        calls, eps = self.call_params()
        nf = len(self.fn_names)
        wf = self.workflows
        machines, sfn_quotas = (), (np.inf,) * 6
        if wf is not None:
            from sim.integration.workflows import quotas

            machines, sfn_quotas = wf.params(calls[nf:]), quotas(self.region)
        self.calls_state = AccountCalls(nf, calls[:nf], eps, self.mq.chunk, flows=self.flow_records,
                                        tables=self.tables.specs() if self.tables else (),
                                        n_periods=self.state.pmi.shape[0],
                                        buckets=self.buckets.specs() if self.buckets else (), machines=machines,
                                        sfn_quotas=sfn_quotas)
        if wf is not None:
            wf.state = self.calls_state
        kw = {} if self.chunk is None else {"chunk": self.chunk}

        def uniform(gen, n):
            return gen.random(n)

        owners = self.call_owners()
        streams = [ChunkStream(generator(self.seed, f"{self.name}.{n}.calls"), uniform, **kw) for n in owners]
        for name in owners:
            for i, (call, kind, _, _) in enumerate(self.calls[name]):
                lat = call.latency_ms or (Dist(dist="fixed", value=0.0) if kind == "endpoint" else
                                          Dist(**DEFAULT_TABLE_LATENCY_MS) if kind == "table" else
                                          Dist(**DEFAULT_FIRST_BYTE_MS) if kind == "bucket" else DEFAULT_API_LATENCY_MS)
                streams.append(ChunkStream(generator(self.seed, f"{self.name}.{name}.calls[{i}]"),
                                           sampler(lat, self.base_dir), **kw))
            for i in range(len(self.egress.get(name, ()))):  # (no draw of its generator: fixed 0)
                streams.append(ChunkStream(generator(self.seed, f"{self.name}.{name}.egress[{i}]"),
                                           sampler(Dist(dist="fixed", value=0.0), self.base_dir), **kw))
        for name, ep in self.endpoints.items():
            streams.append(ChunkStream(generator(self.seed, f"{self.name}.endpoint.{name}", 0),
                                       sampler(ep.latency_ms, self.base_dir), **kw))
            streams.append(ChunkStream(generator(self.seed, f"{self.name}.endpoint.{name}", 1), uniform, **kw))
        for name in owners:  # each call to a table: TU (half units), TK (its keys' hash positions);
            for i, (call, kind, port, _) in enumerate(self.calls[name]):  # to a bucket: TU (bytes), TK (prefixes)
                if kind == "table":
                    table = self.tables.tables[self.tables.names[port]]
                    draws = (units_sampler(call, self.base_dir), key_sampler(call.keys or table.keys))
                elif kind == "bucket":
                    bucket = self.buckets.buckets[self.buckets.names[port]]
                    draws = (size_sampler(call, self.base_dir), prefix_sampler(call.prefixes or bucket.prefixes))
                else:
                    continue
                streams += [ChunkStream(generator(self.seed, f"{self.name}.{name}.calls[{i}]", j + 1), d, **kw)
                            for j, d in enumerate(draws)]
        for m, per_state in enumerate(wf.streams if wf is not None else ()):  # a state's own: Wait s, callback
            for r, dist in enumerate(per_state):  # ms, Map items
                if dist is not None:
                    streams.append(ChunkStream(generator(self.seed, f"{self.name}.sfn:{wf.names[m]}.states[{r}]"),
                                               sampler(dist, self.base_dir), **kw))
        self.xstreams = streams

    def call_owners(self) -> List[str]:
        """Who makes calls, in the calls' arrays' order: the functions, then each state machine as
        the pseudo-function `sfn:NAME` (its Task states' calls; ACCOUNT_SPEC.md §14)."""
        return self.fn_names + ([f"sfn:{n}" for n in self.workflows.names] if self.workflows is not None else [])

    def add_task_calls(self, machine: int, targets: List[Tuple[str, int]]) -> None:
        """State machine `machine`'s Task calls (sim.integration.workflows), each with its target's
        (kind, port or index), in state-row order."""
        owner = f"sfn:{self.workflows.names[machine]}"
        self.calls[owner] = [(call, kind, port, None)
                             for call, (kind, port) in zip(self.workflows.calls[machine], targets)]

    def _start_fanout(self) -> None:
        """The topics' and buses' arrays in the account kernel, and the port tables their
        deliveries enter through (ids are numbered per port in the kernel from here on)."""
        from sim.compute.account_state import AccountFanout

        def port(route) -> int:
            return route[1] if route[0] is self.inbox else -1

        self.fanout = AccountFanout([u.state for u in self.units], [u.match_classes for u in self.units],
                                    [[port(r) for r in u.routes] for u in self.units],
                                    [[port(r) for r in u.dlq_routes] for u in self.units],
                                    self.state.pmi.shape[0], self.mq.chunk)
        self.fstreams = [st for u in self.units for st in u.streams]
        luts = self._port_tables()
        self.port_seq = np.asarray(self.port_seq, np.int64)  # shared with the kernel
        self.port_arrays = (*luts, self.port_seq)

    def _ids(self, port, n: int) -> np.ndarray:
        """Ids for the next n items of `port` (or of each item's port): (port << 40) | the
        item's sequence number at its port.

        Unique over the run, so a message delivered by a topic to three queues is three
        messages, and a row of requests.parquet names the port it came through.
        """
        if isinstance(port, np.ndarray):
            ids = np.empty(n, np.int64)
            for p in np.unique(port).tolist():
                mine = port == p
                ids[mine] = self._ids(p, int(np.count_nonzero(mine)))
            return ids
        seq = self.port_seq[port]
        self.port_seq[port] = seq + n
        return (np.int64(port) << K.ID_SEQ_BITS) | np.arange(seq, seq + n, dtype=np.int64)

    def requests_simulated(self) -> int:
        return self.arrivals

    # finalize ---------------------------------------------------------------------------
    def finalize(self, t_end: float) -> None:
        s = self.state
        if self.mq is not None:
            self.mq.finish()  # closes the queues' and the pool's periods
            if self.units:
                pending = self.fanout.pending(s.ei, s.hh, int(s.g[K.G_HEAP_N]))
                for u, unit in enumerate(self.units):
                    unit.pending_end = pending[u]
        else:
            s.close_traces(s.mark_heap)
            K.finish_periods(s.g, s.nf, s.fs, s.pmi, s.pmf, s.phist)
        for f in range(s.nf):
            off, n = s.fpi[f, K.P_STACK_OFF], s.fs[f, K.F_STACK_N]
            birth, expire = s.stack_birth[off : off + n], s.stack_expire[off : off + n]
            s.ft[f, K.T_ENV_S] += float(np.sum(np.minimum(expire, t_end) - birth))
            s.ft[f, K.T_PC_ENV_S] += s.fs[f, K.F_PC_ENVS] * (t_end - s.ft[f, K.T_PC_LAST_T])
            s.ft[f, K.T_PC_LAST_T] = t_end
        live = s.hh[: s.g[K.G_HEAP_N], H_V]
        live = live[live >= 0]  # the messaging kernel's timer-list heads are negative
        busy_od = live[(s.ei[live, K.E_KIND] == K.K_COMPLETE) & (s.ei[live, K.E_ON_PC] == 0)]
        np.add.at(s.ft[:, K.T_ENV_S], s.ei[busy_od, K.E_FN], t_end - s.ef[busy_od, K.E_BIRTH])
        if self.calls_state is not None:
            # invocations with calls still running: their records are off the heap (kernels/account.py)
            from kernels.account import K_INVOKING

            running = np.flatnonzero(s.ei[:, K.E_KIND] == K_INVOKING)
            np.add.at(s.ft[:, K.T_BUSY_S], s.ei[running, K.E_FN], t_end - s.ef[running, K.EF_T])
            od = running[s.ei[running, K.E_ON_PC] == 0]
            np.add.at(s.ft[:, K.T_ENV_S], s.ei[od, K.E_FN], t_end - s.ef[od, K.E_BIRTH])

    def entry_points(self) -> Dict[str, dict]:
        """Per traffic source into the account (ACCOUNT_SPEC.md §7): its requests, what its
        clients were answered, its traces in flight at the end, the latency its clients saw and
        the time until its last descendant ended."""
        s = self.state
        out: Dict[str, dict] = {}
        keys = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999))
        for e, (x, port) in enumerate(getattr(self, "entry_ports", [])):
            pending = self.entry_pending.get(x, 0)
            ep = {"requests": int(s.eni[e, K.EN_REQUESTS]) + pending, "succeeded": int(s.eni[e, K.EN_SUCCEEDED]),
                  # a client's timeout (an API's 504) is a failure as its client sees it
                  "failed": int(s.eni[e, K.EN_FAILED] + s.eni[e, K.EN_TIMED_OUT]),
                  "throttled": int(s.eni[e, K.EN_THROTTLED]),
                  "in_flight_end": int(s.eni[e, K.EN_IN_FLIGHT]) + pending}
            for name, h, total, lo, hi in (
                    ("latency_ms", s.ehl, s.enf[e, K.ENF_LAT_SUM], s.enf[e, K.ENF_LAT_MIN], s.enf[e, K.ENF_LAT_MAX]),
                    ("completion_ms", s.ehc, s.completion_sum_ms(e), s.enf[e, K.ENF_COMP_MIN],
                     s.enf[e, K.ENF_COMP_MAX])):
                if h[e].sum() == 0:
                    ep[name] = None
                    continue
                st = hist_stats(h[e], total, lo, hi, *keys)
                ep[name] = {k: st[k] for k in ("mean", "p50", "p90", "p99", "p999", "max")}
            out[self.sources[port].name] = ep
        return out

    def spans(self):
        """The spans of the sampled traces that completed within the run (`record.traces`; a
        trace still open at the end is left out whole), or None when traces were not asked for
        or no traffic enters the account. Names follow OpenTelemetry's conventions
        (ACCOUNT_SPEC.md §7): `NAME invoke` (SERVER) per invocation attempt, `TARGET
        service.Operation` (CLIENT) per call attempt and per client request (a trace's root),
        `UNIT deliver` (PRODUCER) per topic or bus delivery, about its target."""
        ts = self.trace_sampling
        if not (ts["trace_sample"] > 0 or ts["trace_first_n"] > 0) or not getattr(self, "entry_ports", None):
            return None
        import json

        import polars as pl

        s = self.state
        spi, spf = s.spans()
        keep = ~np.isin(spi[:, K.SP_TRACE], s.open_trace_ids())
        spi, spf = spi[keep], spf[keep]
        names = self._span_names()
        rows = []
        for a, (start, end) in zip(spi.tolist(), spf.tolist()):
            kind, rkind, ridx, frm, answer = (a[K.SP_KIND], a[K.SP_RKIND], a[K.SP_RIDX], a[K.SP_FROM],
                                              a[K.SP_ANSWER])
            service, resource, op = names["resource"](rkind, ridx)
            attrs = {}
            if kind == K.SK_SERVER and rkind == K.K_SFN:  # a state machine's execution
                name, kind_name = f"{resource} execute", "SERVER"
            elif kind == K.SK_SERVER:
                name, kind_name = f"{resource} invoke", "SERVER"
                attrs = {"cold_start": bool(a[K.SP_COLD]), "attempt": a[K.SP_ATTEMPT]}
            elif kind == K.SK_PRODUCER:
                unit = names["units"][frm]
                name, kind_name = f"{unit} deliver", "PRODUCER"
                attrs = {"from": unit}
            elif a[K.SP_PARENT] < 0:  # the client's request
                name, kind_name = f"{resource} {service}.{op}", "CLIENT"
                attrs = {"entry_point": self.sources[a[K.SP_TRACE] >> K.ID_SEQ_BITS].name,
                         "answer": ROOT_ANSWERS[answer]}
            else:
                name, kind_name = f"{resource} {service}.{op}", "CLIENT"
                attrs = {"caller": names["callers"][frm], "attempt": a[K.SP_ATTEMPT], "answer": CALL_ANSWERS[answer]}
            rows.append((a[K.SP_TRACE], a[K.SP_ID], a[K.SP_PARENT] if a[K.SP_PARENT] >= 0 else None, name,
                         kind_name, service, resource, start, end, "ERROR" if a[K.SP_ERROR] else "OK",
                         json.dumps(attrs, sort_keys=True, separators=(",", ":"))))
        # traces.parquet's columns (sim.output.traces.SPAN_SCHEMA, which sim.api checks them against)
        names = ("trace_id", "span_id", "parent_span_id", "name", "kind", "service", "resource", "start_s", "end_s",
                 "status", "attributes")
        types = (pl.Int64, pl.Int64, pl.Int64, pl.Utf8, pl.Utf8, pl.Utf8, pl.Utf8, pl.Float64, pl.Float64, pl.Utf8,
                 pl.Utf8)
        cols = list(zip(*rows)) if rows else [()] * len(names)
        return pl.DataFrame({n: pl.Series(n, list(v), dtype=t) for n, v, t in zip(names, cols, types)})

    def _span_names(self) -> dict:
        """What the span codes name: `resource(kind, index)` -> (service, resource, operation)
        and `units[u]`, each topic's or bus's name."""
        from kernels import account as A

        units = [getattr(u, "topic_name", None) or u.bus_name for u in self.units]
        unit_service = ["sns" if hasattr(u, "topic_name") else "events" for u in self.units]
        external = []  # per flat fan-out target: (service, resource) of one outside the account
        for u in self.units:
            if hasattr(u, "topic_name"):
                external += [(sub.protocol, sub.endpoint) for sub in u.topic.subscriptions]
            else:
                for label in u.target_labels:
                    kind, _, name = label.split("->", 1)[1].partition(":")
                    external.append((kind or "external", name or label))
        endpoints = list(self.endpoints)
        tables = self.tables.names if self.tables is not None else []
        egress = [f"egress:{name}[{i}]" for name, i, _ in self.egress_entries()]

        def resource(kind: int, index: int):
            if kind == A.K_FUNCTION:
                return "lambda", self.fn_names[index], "Invoke"
            if kind == A.K_QUEUE:
                return "sqs", self.queue_names[index], "SendMessage"
            if kind == A.K_UNIT:
                svc = unit_service[index]
                return svc, units[index], "Publish" if svc == "sns" else "PutEvents"
            if kind == A.K_ENDPOINT:
                return "http", endpoints[index], "request"
            if kind == A.K_TABLE:
                return "dynamodb", tables[index], "request"
            if kind == A.K_BUCKET:
                return "s3", self.buckets.names[index], "request"
            if kind == A.K_FLOW:  # an egress entry's flow (its CLIENT span: made and sent at once)
                return "vpc", egress[index], "flow"
            if kind == A.K_API:  # an API route's own answer: index is the port it came through
                return "apigateway", self.sources[index].name, "request"
            if kind == A.K_SFN:  # a state machine: its start, its execution
                return "states", self.workflows.names[index], "StartExecution"
            svc, name = external[index]
            return svc, name, "deliver"

        # who makes a call: a function, or a state machine (its Tasks; the pseudo-function after them)
        callers = self.fn_names + ([f"state_machine:{n}" for n in self.workflows.names] if self.workflows else [])
        return {"resource": resource, "units": units, "callers": callers}

    def summary_sections(self) -> dict:
        out = {"functions": self.summary()} if self.fn_names else {}
        streams = {}
        if self.mq is not None:
            out.update(self.queue_outputs().sections())
            # a table's stream queue (sim.storage.tables.stream_queues) reports with its table
            queues = out.get("queues", {})
            streams = {name.partition(":")[2]: queues.pop(name) for name in list(queues) if name.startswith("stream:")}
            if "queues" in out and not queues:
                del out["queues"]
        if self.calls_state is not None:
            out.update(self.call_sections())
        if self.tables is not None:
            out["tables"] = self.tables.summary(streams)
        if self.buckets is not None:
            out["buckets"] = self.buckets.summary()
        if self.workflows is not None:
            out["state_machines"] = self.workflows.summary(self.state.ei)
        return out

    def call_sections(self) -> dict:
        """summary.json's `calls` (per function and call: made, ok, failed, abandoned, in flight
        at the end, attempts and SDK retries; made = ok + failed + abandoned + in_flight_end) and
        `endpoints` (requests, ok, errors, throttled, outage, in_progress_end).

        A function's egress entries count there as the calls they are, after its calls, keyed
        `FUNCTION.egress[i] → DST` with mode `flow`: `made` = `ok` = `attempts` = the flows sent
        (one record each; nothing fails, retries or waits)."""
        from kernels import account as A

        st, s = self.calls_state, self.state
        running = np.flatnonzero((s.ei[:, K.E_KIND] == A.K_INVOKING) & (s.ei[:, K.E_OPEN] != 0))
        open_calls = np.zeros(max(st.n_calls, 1), np.int64)
        for inv in running.tolist():  # the call each waits on
            f, pos = int(s.ei[inv, K.E_FN]), int(s.ei[inv, K.E_POS])
            n = int(st.cfo[f + 1] - st.cfo[f])
            open_calls[st.cfo[f] + (pos if pos < n else pos - n - 1)] += 1
        executing = np.flatnonzero((s.ei[:, K.E_KIND] == A.K_EXECUTING) & (s.ei[:, A.X_COPEN] != 0))
        for x in executing.tolist():  # an execution's Task whose call is open (an answer, a retry or a
            open_calls[int(st.wsi[s.ei[x, A.X_STATE], A.WS_CALL])] += 1  # callback to come)
        calls, k = {}, 0
        tasks = self.workflows.task_names() if self.workflows is not None else {}
        for name in self.call_owners():
            for i, (call, _kind, _port, _classes) in enumerate(self.calls[name]):
                row = {c: int(st.cstat[k, j]) for j, c in enumerate(A.CALL_COUNTERS)}
                row["in_flight_end"] = int(open_calls[k])
                if name in tasks:  # a state machine's Task state (ACCOUNT_SPEC.md §14)
                    calls[f"{tasks[name][i]} → {call.target}"] = {"mode": "task", **row}
                else:
                    calls[f"{name}.calls[{i}] → {call.target}"] = {"mode": call.mode, **row}
                k += 1
            for i, e in enumerate(self.egress.get(name, ())):
                row = {c: int(st.cstat[k, j]) for j, c in enumerate(A.CALL_COUNTERS)}
                row["in_flight_end"] = int(open_calls[k])
                calls[f"{name}.egress[{i}] → {e.dst}"] = {"mode": "flow", **row}
                k += 1
        endpoints = {}
        for e, name in enumerate(self.endpoints):
            endpoints[name] = {c: int(st.estat[e, j]) for j, c in enumerate(A.ENDPOINT_COUNTERS)}
            endpoints[name]["in_progress_end"] = int(st.ebusy[e])
        out = {"calls": calls} if calls else {}
        if endpoints:
            out["endpoints"] = endpoints
        return out

    def queue_outputs(self) -> QueueOutputs:
        pq, pqf = self.mq.queue_periods()
        return QueueOutputs(self.queues, self.mappings, self.fleets, pq, pqf, self.mq.mapping_periods(),
                            self.mq.fleet_periods(), self.mq.wait_hist(), self.mq.wait_range(), self.t_end,
                            self.period_s)

    def summary(self) -> Dict[str, dict]:
        """The functions.NAME sections of summary.json."""
        s, T = self.state, self.t_end
        tot = s.pmi.sum(axis=0)
        out = {}
        for f, name in enumerate(self.fn_names):
            inv, thr = int(tot[f, K.M_INVOCATIONS]), int(tot[f, K.M_THROTTLES])
            cold = int(tot[f, K.M_COLD])
            billed_ms = int(tot[f, K.M_BILLED_MS_OD] + tot[f, K.M_BILLED_MS_PC])
            mem_gb = float(memory_gb(self.functions[name]))
            out[name] = {
                "invocations": inv,
                "cold_starts": cold,
                "throttles": thr,
                "errors": int(tot[f, K.M_ERRORS]),
                "timeouts": int(tot[f, K.M_TIMEOUTS]),
                "cold_start_ratio": cold / inv if inv else 0.0,
                "throttle_ratio": thr / (inv + thr) if inv + thr else 0.0,
                "avg_instances": (s.ft[f, K.T_ENV_S] + s.ft[f, K.T_PC_ENV_S]) / T,
                "avg_busy_instances": s.ft[f, K.T_BUSY_S] / T,
                "max_concurrency": int(s.pmi[:, f, K.M_CONC_MAX].max()),
                "billed_gb_s": billed_ms / 1000 * mem_gb,
                "billed_duration_ms": billed_ms,
                "provisioned_billed_duration_ms": int(tot[f, K.M_BILLED_MS_PC]),
                "spillover_invocations": int(tot[f, K.M_SPILLOVER]),
                "sync_failures": int(tot[f, K.M_SYNC_FAILED]),
                "async_dropped": int(tot[f, K.M_ASYNC_DROPPED]),
                "latency_ms": hist_stats(s.hlat[f], s.ft[f, K.T_LAT_SUM_MS], s.ft[f, K.T_LAT_MIN_MS],
                                         s.ft[f, K.T_LAT_MAX_MS], ("p50", 0.5), ("p90", 0.9), ("p99", 0.99),
                                         ("p999", 0.999)),
                "init_ms": hist_stats(s.hinit[f], s.ft[f, K.T_INIT_SUM_MS], s.ft[f, K.T_INIT_MIN_MS],
                                      s.ft[f, K.T_INIT_MAX_MS], ("p50", 0.5), ("p99", 0.99)),
            }
        return out

    def metrics(self) -> pl.DataFrame:
        """Per-period CloudWatch metrics, long format."""
        import polars as pl

        s = self.state
        P, F = s.pmi.shape[0], s.nf
        time_s = np.repeat(np.arange(P) * self.period_s, F)
        dims = np.tile(np.array([f"FunctionName={n}" for n in self.fn_names], dtype=object), P)
        mi = s.pmi.reshape(P * F, s.pmi.shape[-1]).astype(np.float64)  # F may be 0 (a VPC-only run)
        mf = s.pmf.reshape(P * F, s.pmf.shape[-1])
        inv = mi[:, K.M_INVOCATIONS]
        with np.errstate(invalid="ignore", divide="ignore"):
            series = [
                ("AWS/Lambda", "Invocations", inv),
                ("AWS/Lambda", "Errors", mi[:, K.M_ERRORS]),
                ("AWS/Lambda", "Throttles", mi[:, K.M_THROTTLES]),
                ("AWS/Lambda", "Duration", np.where(mi[:, K.M_DUR_N] > 0, mf[:, K.MF_DUR_SUM_MS] / mi[:, K.M_DUR_N],
                                                    np.nan)),
                ("AWS/Lambda", "Duration.p50", mf[:, K.MF_DUR_P50]),
                ("AWS/Lambda", "Duration.p99", mf[:, K.MF_DUR_P99]),
                ("AWS/Lambda", "ConcurrentExecutions", mi[:, K.M_CONC_MAX]),
                ("AWS/Lambda", "ProvisionedConcurrentExecutions", mi[:, K.M_PC_BUSY_MAX]),
                ("AWS/Lambda", "ProvisionedConcurrencyUtilization", mf[:, K.MF_PC_UTIL_MAX]),
                ("AWS/Lambda", "ProvisionedConcurrencySpilloverInvocations", mi[:, K.M_SPILLOVER]),
                ("AWS/Lambda", "AsyncEventAge", np.where(mi[:, K.M_ASYNC_AGE_N] > 0,
                                                         mf[:, K.MF_ASYNC_AGE_SUM_S] / mi[:, K.M_ASYNC_AGE_N] * 1000, np.nan)),
                ("AWS/Lambda", "AsyncEventAge.max", np.where(mi[:, K.M_ASYNC_AGE_N] > 0, mf[:, K.MF_ASYNC_AGE_MAX_S] * 1000, np.nan)),
                ("AWS/Lambda", "AsyncEventsDropped", mi[:, K.M_ASYNC_DROPPED]),
                ("cloudtwin/Lambda", "ColdStarts", mi[:, K.M_COLD]),
                ("cloudtwin/Lambda", "Timeouts", mi[:, K.M_TIMEOUTS]),
                ("cloudtwin/Lambda", "SyncFailures", mi[:, K.M_SYNC_FAILED]),
                ("cloudtwin/Lambda", "ProvisionedConcurrency", mi[:, K.M_PC_ENVS_MAX]),
                ("cloudtwin/Lambda", "BilledDurationMs", mi[:, K.M_BILLED_MS_OD] + mi[:, K.M_BILLED_MS_PC]),
                ("cloudtwin/Lambda", "ConcurrencyLimit", np.tile(self._limits(), P)),
            ]
        frames = [pl.DataFrame({"time_s": time_s, "namespace": ns, "metric": m,
                                "dimension": dims.astype(str), "value": v.astype(np.float64)})
                  for ns, m, v in series]
        frames = [f for f in frames if f.height] if F else []
        if self.mq is not None:
            queues = self.queue_outputs().metrics()
            if queues is not None:
                frames.append(queues)
        for part in (self.tables, self.buckets, self.workflows):
            if part is not None:
                frames.append(part.metrics())
        return pl.concat(frames) if frames else None

    def usage(self):
        """Billable usage: (whole run, per period), as `sim.billing.usage.Usage` records."""
        total, per_period = lambda_usage(self.functions, self.state.pmi, self.pc_steps, self.t_end, self.period_s)
        if self.mq is not None:
            q_total, q_period = self.queue_outputs().usage()
            total, per_period = total + q_total, per_period + q_period
        for part in (self.tables, self.buckets, self.workflows):
            if part is not None:
                t_total, t_period = part.usage()
                total, per_period = total + t_total, per_period + t_period
        return total, per_period

    def _limits(self) -> np.ndarray:
        unres = self.state.g[K.G_UNRES_CAP]
        return np.array([r if r >= 0 else unres for r in self.state.fpi[:, K.P_RESERVED]], np.float64)

    def requests(self) -> pl.DataFrame:
        """The sampled per-attempt rows; `source` names the port (a traffic source, or a
        topic's or bus's delivery to the function)."""
        import polars as pl

        source_names = [s.name for s in self.sources]
        if not self.rows:
            return pl.DataFrame()
        ri = np.concatenate([r[0] for r in self.rows])
        rf = np.concatenate([r[1] for r in self.rows])
        src = ri[:, K.R_ID] >> K.ID_SEQ_BITS
        return pl.DataFrame({
            "id": ri[:, K.R_ID],
            "source": np.array(source_names, dtype=object)[src].astype(str),
            "function": np.array(self.fn_names, dtype=object)[ri[:, K.R_FN]].astype(str),
            "attempt": ri[:, K.R_ATTEMPT],
            "arrival_s": rf[:, K.R_FIRST_T],
            "t_s": rf[:, K.R_T],
            "outcome": np.array(OUTCOMES, dtype=object)[ri[:, K.R_OUTCOME]].astype(str),
            "cold": ri[:, K.R_COLD].astype(bool),
            "provisioned": ri[:, K.R_ON_PC].astype(bool),
            "latency_ms": rf[:, K.R_LATENCY_MS],
            "init_ms": rf[:, K.R_INIT_MS],
        })


def _cat(arrays: list) -> np.ndarray:
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


_NO_ARRIVALS = (np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64),
                np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64))
_NO_SENDS = (*_NO_ARRIVALS, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64),
             np.zeros(0, np.int64))
