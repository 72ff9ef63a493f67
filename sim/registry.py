"""The service registry: one entry per service, and the address book that resolves `queue:NAME` to a component's port.

A `Service` names, for one AWS service: the scenario sections it reads, the address kind
users write for it (`scenarios.addresses.KINDS`), the summary.json section it produces, how
the console and the report show that section, and the `Host` that simulates it. A host
builds the components of one or more services (the Lambda account runs functions, queues,
event source mappings, worker fleets, and the topics and buses — components of their own
that report, run by the account's one loop; the VPC's flows are one more), in two phases:

- declare: make the components, and *offer* the addresses they take (`AddressBook.offer`);
- connect: resolve every address the components send to (`AddressBook.resolve`), which
  returns a `Port` (component, port index) or `External` (an endpoint outside the
  simulation, such as an https URL). An address nothing offers is a `WiringError` at build
  time, never a silent drop.

A port is a (component, index) pair, so several services can share one component (queue
and function ports of the account) and any component can send to any address; a service
that runs in another component tomorrow changes its entry here, not the builder, api.py,
the console or the report, which iterate over `SERVICES` and `HOSTS`.

What a run's components report is collected from all of them, naming no service (sim.api):
summary sections, metrics, usage, and — for every traffic source followed to its end —
`entry_points()` and sampled `spans()` (the contract: sim.engine.component.Component's
docstrings of those methods). A host whose components provide them needs no entry here.

Renderers are registered by reference, `"module:function"` (as Python entry points are),
and imported when first used: the console and the report import this module, and this
module imports neither them nor, until a run is built, the service models.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

from scenarios.addresses import KINDS, SUBSCRIPTION_PROTOCOLS, Address, parse

if TYPE_CHECKING:  # the console and the report import this module: not simpy and the engine with it
    from sim.engine.component import Component


def _wiring_error(message: str) -> Exception:
    from sim.engine.component import WiringError

    return WiringError(message)


def load(ref: str) -> Any:
    """The object a `"package.module:name"` (or `"module:Class.attr"`) reference names."""
    module, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class Figure:
    """One figure of the report's "over time" section: id, title, what draws it, and the note
    shown when there is nothing to draw. `draw`: a method of `sim.output.report_plots.Plotter`
    (a bare name) or a `"module:function"` taking (result, plotter)."""

    id: str
    title: str
    draw: str
    note: str
    in_plots: bool = True  # False: drawn by the service's own report section, not among the plots


@dataclass(frozen=True)
class Service:
    """One service as the rest of the simulator sees it."""

    name: str  # short name, e.g. "sqs"
    scenario_sections: Tuple[str, ...]  # Scenario attributes it reads
    summary_section: str  # the summary.json section it produces (docs/DESIGN.md §5)
    host: str  # the Host that simulates it
    title: str  # the report's heading of its summary table
    address_kind: Optional[str] = None  # the kind users address it by, if any
    console: Optional[str] = None  # "module:function"(entities, view) -> lines, view = ConsoleView
    report_first: Tuple[str, ...] = ()  # rows first in its report table, in this order
    report_table: bool = True  # False: its own report section draws it (`report_section`)
    report_section: Optional[str] = None  # "module:function"(result, cell, figure) -> html
    # rows its report table derives from an entity's summary: (row, "module:function"(entity) -> value)
    report_derived: Tuple[Tuple[str, str], ...] = ()
    figures: Tuple[Figure, ...] = ()  # its figures in the "over time" section, in page order


# ---------------------------------------------------------------- ports and addresses

@dataclass(frozen=True)
class Port:
    """An input of `component`: items put in its inbox with port index `index`."""

    component: Component
    index: int

    @property
    def inbox(self):
        return self.component.inbox


@dataclass(frozen=True)
class External:
    """An endpoint outside the simulation (https URL, email address): what is sent there leaves the world."""

    address: Address


Target = Union[Port, External]
# How a component's offer turns a caller into a port index: (caller label, options) -> index.
Connector = Callable[..., int]


class AddressBook:
    """Which component takes each address, and the ports callers get there."""

    def __init__(self) -> None:
        self._offers: Dict[Tuple[str, str], Tuple[Component, Connector]] = {}

    def offer(self, kind: str, name: str, component: Component, connect: Connector) -> None:
        """Declare that `component` takes items for `kind:name`; `connect(label, **options)` gives a caller its port."""
        if kind not in KINDS:
            raise _wiring_error(f"{component.name}: offers unknown address kind {kind!r}")
        if (kind, name) in self._offers:
            raise _wiring_error(f"{kind}:{name} offered twice ({self._offers[(kind, name)][0].name}, {component.name})")
        self._offers[(kind, name)] = (component, connect)

    def offered(self) -> List[str]:
        return [f"{k}:{n}" for k, n in self._offers]

    def resolve(self, caller: Component, address: Union[str, Address], label: str, **options: Any) -> Target:
        """The port `caller` sends to for `address` (connecting the two), or External.

        Raises WiringError when no component offers the address: a route that should be
        connected and is not (the scenario checks should have refused it; this is the builder's
        last line, not a message for users).
        """
        a = parse(address) if isinstance(address, str) else address
        if a.external:
            return External(a)
        found = self._offers.get((a.kind, a.name))
        if found is None:
            offered = ", ".join(self.offered()) or "nothing"
            raise _wiring_error(f"{caller.name}: {label} sends to {a}, which no component offers (offered: {offered})")
        component, connect = found
        if caller is not component:  # within a component (a function's call in its account) the loop orders it
            caller.connect(component)
        return Port(component, int(connect(label, **options)))


def fanout_route(target: Optional[Target]) -> Tuple[Optional[object], int]:
    """A topic's or bus's route (sim.messaging.fanout.Route): (inbox, port) for a port, (None, -1)
    for an external endpoint or for no dead-letter queue (deliveries there leave the simulation,
    counted by the topic or bus)."""
    if isinstance(target, Port):
        return target.inbox, target.index
    return None, -1


def subscription_address(protocol: str, endpoint: str) -> Address:
    """An SNS subscription's endpoint as an address: `sqs` + name -> queue:name, `https` + URL -> external."""
    kind = SUBSCRIPTION_PROTOCOLS[protocol]
    return Address(kind, endpoint)


# ---------------------------------------------------------------- hosts

@dataclass
class BuildContext:
    """What the hosts share while a world is built."""

    scenario: Any
    base_dir: Path
    sample_all: bool
    book: AddressBook = field(default_factory=AddressBook)
    shared: Dict[str, Any] = field(default_factory=dict)  # per-run objects several hosts use (class registry …)


@dataclass(frozen=True)
class Host:
    """What builds the components of some services: declare(ctx) -> components (offering their
    addresses), then connect(ctx, components) resolves what they send to; `outputs(components)`
    gives Result fields beyond the summary (sampled requests, flow logs)."""

    name: str
    rank: int  # place of its components in the list the engine gets (feeders first)
    declare: Callable[[BuildContext], List[Component]]
    connect: Optional[Callable[[BuildContext, List[Component]], None]] = None
    outputs: Optional[Callable[[List[Component]], Dict[str, Any]]] = None


def _classes(ctx: BuildContext):
    if "classes" not in ctx.shared:
        from sim.messaging.classes import ClassRegistry
        from sim.messaging.wiring import compile_filters

        ctx.shared["filters"] = compile_filters(ctx.scenario)
        ctx.shared["classes"] = ClassRegistry(ctx.scenario)
    return ctx.shared["classes"]


def _declare_account(ctx: BuildContext) -> List[Component]:
    from scenarios.schema import Retries
    from sim.compute.lambda_account import LambdaAccount

    sc = ctx.scenario
    _classes(ctx)  # filter policies and patterns compile (and may be refused) first, as before
    req = sc.record.requests
    from sim.storage.tables import stream_queues

    queues, mappings = stream_queues(sc)  # a table's stream: a queue and its mapping (ACCOUNT_SPEC.md §11)
    account = LambdaAccount("lambda", sc.account, sc.region, sc.functions, sc.seed, sc.duration_s,
                            sc.record.period_s, sample=req.sample, first_n=req.first_n,
                            sample_all=ctx.sample_all, base_dir=ctx.base_dir, queues=queues,
                            mappings=mappings, fleets=sc.worker_fleets, endpoints=sc.endpoints,
                            trace_sample=sc.record.traces.sample, trace_first_n=sc.record.traces.first_n,
                            tables=sc.tables, month_h=sc.billing.month_h, buckets=sc.buckets,
                            state_machines=sc.state_machines, scenario=sc)

    def function_port(name: str):
        def connect(label: str, invocation: str = "async", retries: Optional[Retries] = None,
                    index: int = -1, **_: Any) -> int:  # index: a traffic source's (an entry point)
            return account.add_source(label, name, invocation, Retries() if retries is None else retries, entry=index)
        return connect

    def queue_port(name: str):
        return lambda label, index=-1, **_: account.add_queue_port(label, name, entry=index)

    for name in sc.functions:
        ctx.book.offer("function", name, account, function_port(name))
    for name in sc.queues:
        ctx.book.offer("queue", name, account, queue_port(name))
    for e, name in enumerate(sc.endpoints):  # a call to an endpoint names it by index, through no port
        ctx.book.offer("endpoint", name, account, lambda label, e=e, **_: e)
    for t, (name, table) in enumerate(sc.tables.items()):  # a DynamoDB table, likewise by index (§11)
        ctx.book.offer("table", name, account, lambda label, t=t, **_: t)
        if table.stream is not None:  # its records enter its stream's queue through a port of their own
            q = f"stream:{name}"
            account.tables.streams[name] = (account.queue_names.index(q), account.add_queue_port(q, q))
    for m, name in enumerate(sc.state_machines):  # Step Functions (ACCOUNT_SPEC.md §14): a call names the
        def machine_port(label: str, invocation: str = "async", index: int = -1, as_call: bool = False,
                         m: int = m, **_: Any) -> int:  # machine by index; traffic, an API route and an
            if as_call:  # EventBridge rule start executions through a port of their own
                return m
            return account.add_machine_port(label, m, invocation, entry=index)
        ctx.book.offer("state_machine", name, account, machine_port)
    units = []
    for b, (name, bucket) in enumerate(sc.buckets.items()):  # an S3 bucket by index; its notifications
        ctx.book.offer("bucket", name, account, lambda label, b=b, **_: b)  # run as a unit of the loop (§13)
        if bucket.notifications:
            from sim.storage.buckets import S3Notifications

            comp = S3Notifications(name, bucket, len(_classes(ctx).messages), sc.seed, sc.duration_s,
                                   sc.record.period_s, base_dir=ctx.base_dir)
            unit = account.add_unit(comp)
            account.buckets.units[name] = (comp, unit, account.add_unit_port(f"s3:{name}", unit))
            units.append(comp)
    ctx.shared["account"] = account
    return [account, *units]


def _connect_account(ctx: BuildContext, components: List[Component]) -> None:
    """Each function's calls: the port (or endpoint) each one reaches (ACCOUNT_SPEC.md §2); then its
    egress entries, which reach no port: their flow records leave through `take_flows` (§10)."""
    account = components[0]
    classes = _classes(ctx).by_call  # a call's own message classes (its `attributes`)
    for name, fn in ctx.scenario.functions.items():
        for i, call in enumerate(fn.calls):
            target = ctx.book.resolve(account, call.target, f"function:{name}/calls[{i}]", invocation=call.mode,
                                      as_call=True)
            if not isinstance(target, Port) or target.component is not account:
                raise _wiring_error(f"function {name}: calls[{i}] reaches {call.target}, outside its account")
            account.add_call(name, call, parse(call.target).kind, target.index, classes=classes.get((name, i)))
        for i, egress in enumerate(fn.egress):  # flows from its VPC: calls that reach no service (§10)
            account.add_egress(name, i, egress)
    wf = account.workflows
    for m, name in enumerate(wf.names if wf is not None else ()):  # each machine's Task states' calls (§14)
        targets = []
        for j, call in enumerate(wf.calls[m]):
            target = ctx.book.resolve(account, call.target, f"state_machine:{name}/tasks[{j}]", invocation=call.mode,
                                      as_call=True)
            if not isinstance(target, Port) or target.component is not account:
                raise _wiring_error(f"state machine {name}: its task {j} reaches {call.target}, outside its account")
            targets.append((parse(call.target).kind, target.index))
        account.add_task_calls(m, targets)
    for name, (comp, _unit, _port) in (account.buckets.units.items() if account.buckets else ()):
        for j, nt in enumerate(comp.bucket.notifications):  # where each notification delivers
            comp.routes.append(fanout_route(ctx.book.resolve(comp, nt.target, f"bucket:{name}/notifications[{j}]")))
            comp.dlq_routes.append((None, -1))


def _host_unit(ctx: BuildContext, kind: str, name: str, comp: Component) -> None:
    """A topic or bus runs in the account's loop: its address is a port of the account."""
    account = ctx.shared["account"]
    unit = account.add_unit(comp)
    ctx.book.offer(kind, name, account, lambda label, index=-1, **_: account.add_unit_port(label, unit, entry=index))


def _declare_topics(ctx: BuildContext) -> List[Component]:
    from sim.messaging.fanout import SnsTopic
    from sim.messaging.wiring import topic_table

    sc, registry = ctx.scenario, _classes(ctx)
    policies = ctx.shared["filters"][0]
    groups: Dict[str, int] = {}  # a FIFO topic's message groups: the most any source sends it
    for tr in sc.traffic:
        a = parse(tr.target)
        if a.kind == "topic":
            groups[a.name] = max(groups.get(a.name, 1), tr.message.groups)
    out = []
    for name, topic in sc.topics.items():
        comp = SnsTopic(name, topic, topic_table(sc, registry, name, policies[name]), sc.seed, sc.duration_s,
                        sc.record.period_s, groups=groups.get(name, 1), base_dir=ctx.base_dir)
        _host_unit(ctx, "topic", name, comp)
        out.append(comp)
    return out


def _connect_topics(ctx: BuildContext, topics: List[Component]) -> None:
    for comp in topics:
        topic = ctx.scenario.topics[comp.topic_name]
        for sub, label in zip(topic.subscriptions, comp.labels):
            port_name = f"topic:{comp.topic_name}/{label}"
            comp.routes.append(fanout_route(ctx.book.resolve(comp, subscription_address(sub.protocol, sub.endpoint),
                                                             port_name)))
            dlq = sub.dead_letter_queue
            comp.dlq_routes.append(fanout_route(None if dlq is None else ctx.book.resolve(
                comp, Address("queue", dlq), f"{port_name}/dlq")))


def _declare_buses(ctx: BuildContext) -> List[Component]:
    from sim.messaging.fanout import EventBus
    from sim.messaging.wiring import bus_table

    sc, registry = ctx.scenario, _classes(ctx)
    patterns = ctx.shared["filters"][1]
    out = []
    for name, bus in sc.buses.items():
        comp = EventBus(name, bus, sc.region, bus_table(registry, patterns[name]), sc.seed, sc.duration_s,
                        sc.record.period_s, base_dir=ctx.base_dir)
        _host_unit(ctx, "bus", name, comp)
        out.append(comp)
    return out


def _connect_buses(ctx: BuildContext, buses: List[Component]) -> None:
    for comp in buses:
        bus = ctx.scenario.buses[comp.bus_name]
        targets = [tg for rule in bus.rules.values() for tg in rule.targets]
        for tg, label in zip(targets, comp.target_labels):
            port_name = f"bus:{comp.bus_name}/{label}"
            comp.routes.append(fanout_route(ctx.book.resolve(comp, tg.target, port_name)))
            dlq = tg.dead_letter_queue
            comp.dlq_routes.append(fanout_route(None if dlq is None else ctx.book.resolve(
                comp, Address("queue", dlq), f"{port_name}/dlq")))


def _declare_traffic(ctx: BuildContext) -> List[Component]:
    from sim.traffic.sources import TrafficSource

    sc, registry = ctx.scenario, _classes(ctx)
    return [TrafficSource(i, tr, sc.duration_s, sc.seed, ctx.base_dir, classes=registry.by_source[tr.name])
            for i, tr in enumerate(sc.traffic)]


def _connect_traffic(ctx: BuildContext, sources: List[Component]) -> None:
    for src in sources:
        tr = src.traffic
        port = ctx.book.resolve(src, tr.target, tr.name, invocation=tr.invocation, retries=tr.retries,
                                index=src.index)
        if not isinstance(port, Port):
            raise _wiring_error(f"{src.name}: its target {tr.target} is outside the simulation")
        src.wire(port)


def _declare_apis(ctx: BuildContext) -> List[Component]:
    """API Gateway (sim.integration.api): one component for every API; each route's address is a
    port per traffic source (ACCOUNT_SPEC.md §12)."""
    sc = ctx.scenario
    if not sc.apis:
        return []
    from sim.integration.api import ApiGateway

    gw = ApiGateway(sc, sc.seed, sc.duration_s, sc.record.period_s)
    for name in gw.route_index:
        ctx.book.offer("api", name, gw, lambda label, index=-1, name=name, **_: gw.add_source(label, name, index))
    return [gw]


def _connect_apis(ctx: BuildContext, comps: List[Component]) -> None:
    """Each route's integration in the account, and the ports of the gateway's own answers."""
    for gw in comps:
        gw.wire(ctx.book, ctx.shared["account"])


def _declare_services(ctx: BuildContext) -> List[Component]:
    """ECS services on Fargate (sim.compute.fargate): one component for every service; each
    service's address is a port per traffic source or API route reaching it."""
    sc = ctx.scenario
    if not sc.services:
        return []
    from sim.compute.fargate import FargateServices

    comp = FargateServices(sc, sc.seed, sc.duration_s, sc.record.period_s, ctx.shared["account"], ctx.base_dir)
    for name in sc.services:
        ctx.book.offer("service", name, comp, lambda label, index=-1, name=name, **_: comp.add_input(name, label, index))
    ctx.shared["services"] = comp
    return [comp]


def _declare_outposts(ctx: BuildContext) -> List[Component]:
    """AWS Outposts racks (sim.compute.outposts): their placements and bill; a service's tasks
    are placed by the services' component, which this one reads at the end."""
    if not ctx.scenario.outposts:
        return []
    from sim.compute.outposts import Outposts

    return [Outposts(ctx.scenario, ctx.shared.get("services"))]


def _declare_swf(ctx: BuildContext) -> List[Component]:
    """Amazon SWF (sim.integration.swf): one component for every workflow type, each type's address a
    port per traffic source."""
    sc = ctx.scenario
    if not sc.swf_workflows:
        return []
    from sim.integration.swf import SwfWorkflows

    comp = SwfWorkflows(sc, sc.seed, sc.duration_s, sc.record.period_s, base_dir=ctx.base_dir)
    for name in sc.swf_workflows:
        ctx.book.offer("swf_workflow", name, comp,
                       lambda label, index=-1, name=name, **_: comp.add_source(label, name, index))
    return [comp]


def _declare_brokers(ctx: BuildContext) -> List[Component]:
    """Amazon MQ (sim.messaging.mq): a component per broker, fed by traffic only; each queue's
    address (broker:NAME/QUEUE) is a port per traffic source (its producers)."""
    sc = ctx.scenario
    if not sc.brokers:
        return []
    from sim.messaging.mq import MqBroker

    out = []
    for name, broker in sc.brokers.items():
        comp = MqBroker(name, broker, sc.seed, sc.duration_s, sc.record.period_s, month_h=sc.billing.month_h)
        for q in broker.queues:
            ctx.book.offer("broker", f"{name}/{q}", comp,
                           lambda label, index=-1, q=q, comp=comp, **_: comp.add_source(label, q, index))
        out.append(comp)
    return out


def _declare_network(ctx: BuildContext) -> List[Component]:
    # Direct Connect connections bill their ports even in a scenario without VPCs
    if not (ctx.scenario.vpcs or ctx.scenario.direct_connect.connections):
        return []
    return [_vpc_flows_class()(ctx.scenario, ctx.base_dir)]


def _connect_network(ctx: BuildContext, comps: List[Component]) -> None:
    """The account feeds the links when a function sends flows (`egress`), the ECS services'
    component when a service's tasks do (`services.NAME.egress`): the network steps after them."""
    if not comps:
        return
    sc = ctx.scenario
    account, services = ctx.shared.get("account"), ctx.shared.get("services")
    if account is not None and any(fn.egress for fn in sc.functions.values()):
        comps[0].sources.append(account)
        account.connect(comps[0])
    if services is not None and any(sv.egress for sv in sc.services.values()):
        comps[0].sources.append(services)
        services.connect(comps[0])


@functools.lru_cache(maxsize=None)
def _vpc_flows_class() -> type:
    """VpcFlows (below), made when first needed: Component brings simpy, which the console need not load."""
    from sim.engine.component import Component

    class VpcFlows(Component):
        """The VPCs' flows (sim.network.flows.NetworkRun): the flow generators' drawn and judged
        when the run starts, the functions' and the ECS services' (`egress`) taken from the
        account and the services' component each window; all share the links window by window,
        after their sources. Their gateways and bytes are billed (sim.network.meters)."""

        def __init__(self, scenario: Any, base_dir: Path):
            super().__init__("network")
            self.scenario, self.base_dir = scenario, base_dir
            self.sources = []  # the components whose functions or tasks send flows (connect)
            self.run = None
            self.result = None

        def start(self, env) -> None:
            from sim.network.flows import NetworkRun

            self.run = NetworkRun(self.scenario, self.base_dir, sources=self.sources)
            self.run.start(env)

        def step(self, t0: float, t1: float) -> None:
            self.run.step(t1)

        def finalize(self, t_end: float) -> None:
            self.result = self.run.finish()
            self.run = None

        def summary_sections(self) -> dict:
            return {"vpcs": self.result.summary} if self.result is not None else {}

        def usage(self):
            return self.result.meters.usage() if self.result is not None else ([], [])

        def metrics(self):
            import polars as pl

            from sim.network.nat import metrics_frame

            if self.result is None:
                return None
            frames = [metrics_frame(self.result.nats, self.scenario.record.period_s)]
            extra = None
            if self.result.dx is not None:
                frames.append(self.result.dx.metrics(self.scenario.record.period_s))
                extra = self.result.dx.vpn_bytes()
            if self.result.links is not None:
                frames.append(self.result.links.metrics(self.scenario.record.period_s, extra))
            frames = [f for f in frames if f is not None]
            return pl.concat(frames) if frames else None

    return VpcFlows


# In build order: a host's connect phase may resolve addresses any host declared. Ports are
# numbered in this order (the account's port index is the high bits of request ids), so a new
# host goes at the end.
HOSTS: Tuple[Host, ...] = (
    Host("account", 4, _declare_account, _connect_account, outputs=lambda cs: {"requests": cs[0].requests()}),
    Host("topics", 1, _declare_topics, _connect_topics),
    Host("buses", 2, _declare_buses, _connect_buses),
    Host("traffic", 0, _declare_traffic, _connect_traffic),
    Host("apis", 3, _declare_apis, _connect_apis),
    Host("network", 5, _declare_network, _connect_network,
         outputs=lambda cs: {"flow_logs": cs[0].result.flow_logs} if cs and cs[0].result is not None else {}),
    Host("services", 3, _declare_services),
    Host("swf", 6, _declare_swf),
    Host("brokers", 6, _declare_brokers),
    Host("outposts", 6, _declare_outposts),
)

_LAMBDA_FIGURES = (
    Figure("plot-invocations", "Invocations and throttled attempts", "invocations",
           "no Invocations or Throttles metrics were recorded"),
    Figure("plot-ratios", "Throttled and failed, in %", "ratios", "no Invocations metric was recorded"),
    Figure("plot-concurrency", "Concurrency against its limit", "concurrency",
           "no ConcurrentExecutions metric was recorded"),
    Figure("plot-cold-starts", "Cold starts", "cold_starts", "no ColdStarts metric was recorded"),
    Figure("plot-duration", "Duration percentiles over time", "duration", "no Duration metrics were recorded"),
    Figure("plot-latency-percentiles", "Latency percentiles over the run", "latency_percentiles",
           "the summary has no latency percentiles"),
    Figure("plot-latency-histogram", "Latency of sampled requests", "latency_histogram",
           "no requests were sampled (set record.requests.sample or record.requests.first_n)"),
)
_SQS_FIGURES = (
    Figure("plot-queue-backlog", "Queue backlog: messages visible and in flight", "queue_backlog",
           "the scenario has no SQS queues"),
    Figure("plot-queue-age", "Age of the oldest message per queue", "queue_age", "the scenario has no SQS queues"),
)

# summary.json's service sections, in this order (docs/DESIGN.md §5).
SERVICES: Tuple[Service, ...] = (
    Service("lambda", ("functions", "account"), "functions", "account", "Lambda functions", address_kind="function",
            console="sim.output.console:format_function_lines",
            report_first=("invocations", "throttles", "throttle_ratio", "errors", "error_ratio", "timeouts",
                          "cold_starts", "cold_start_ratio", "latency_ms.p50", "latency_ms.p90", "latency_ms.p99",
                          "latency_ms.p999", "latency_ms.max", "latency_ms.mean", "max_concurrency",
                          "avg_instances"),
            report_derived=(("error_ratio", "sim.output.report_slo:error_ratio"),),
            figures=_LAMBDA_FIGURES),
    Service("sqs", ("queues",), "queues", "account", "SQS queues", address_kind="queue",
            console="sim.output.console:format_queue_lines",
            report_first=("type", "sent", "received", "deleted", "dead_lettered", "visible_end", "in_flight_end",
                          "delayed_end", "visible_max", "age_of_oldest_max_s"),
            figures=_SQS_FIGURES),
    Service("event_source_mappings", ("event_source_mappings",), "event_source_mappings", "account",
            "Event source mappings (queue → function)"),
    Service("worker_fleets", ("worker_fleets",), "worker_fleets", "account", "Worker fleets"),
    Service("sns", ("topics",), "topics", "topics", "SNS topics", address_kind="topic",
            console="sim.output.console:format_topic_lines"),
    Service("eventbridge", ("buses",), "buses", "buses", "EventBridge buses", address_kind="bus",
            console="sim.output.console:format_bus_lines"),
    Service("calls", (), "calls", "account", "Calls (function → target)",
            console="sim.output.console:format_call_lines"),
    Service("endpoints", ("endpoints",), "endpoints", "account", "Endpoints (HTTP APIs outside AWS)",
            address_kind="endpoint", console="sim.output.console:format_endpoint_lines"),
    Service("apigateway", ("apis",), "apis", "apis", "API Gateway routes", address_kind="api",
            report_first=("api", "type", "integration", "requests", "status_2xx", "status_4xx", "status_5xx",
                          "throttled_by_gateway", "quota_exceeded", "throttled_by_integration", "status_502",
                          "status_504", "cache_hit_ratio", "latency_ms_mean", "integration_latency_ms_mean"),
            console="sim.output.console:format_api_lines", report_section="sim.output.report_state:api_html",
            figures=(Figure("plot-api", "API Gateway: latency, errors and cache hits per route",
                            "sim.output.report_state:api_figure", "no API Gateway metrics were recorded",
                            in_plots=False),)),
    Service("s3", ("buckets",), "buckets", "account", "S3 buckets", address_kind="bucket",
            report_first=("requests", "served", "slow_down", "get", "put", "bytes_downloaded", "bytes_uploaded",
                          "first_byte_latency_ms_mean", "total_request_latency_ms_mean", "prefix_splits"),
            console="sim.output.console:format_bucket_lines"),
    Service("dynamodb", ("tables",), "tables", "account", "DynamoDB tables", address_kind="table",
            report_first=("billing_mode", "requests", "ok", "throttled", "consumed_rcu", "consumed_wcu",
                          "read_throttle_events", "write_throttle_events", "write_key_range_throttle_events",
                          "partitions_end", "write_capacity_end", "read_capacity_end"),
            console="sim.output.console:format_table_lines", report_section="sim.output.report_state:tables_html",
            figures=(Figure("plot-dynamodb", "DynamoDB: consumed capacity against provisioned, and throttles",
                            "sim.output.report_state:capacity_figure", "no table consumed capacity",
                            in_plots=False),)),
    Service("stepfunctions", ("state_machines",), "state_machines", "account", "Step Functions state machines",
            address_kind="state_machine",
            report_first=("type", "started", "succeeded", "failed", "timed_out", "throttled", "open_end",
                          "state_transitions", "transitions_delayed", "execution_time_ms.mean",
                          "execution_time_ms.max", "express_billing_units"),
            console="sim.output.console:format_state_machine_lines",
            report_section="sim.output.report_state:workflows_html"),
    Service("fargate", ("services",), "services", "services", "ECS services on Fargate", address_kind="service",
            report_first=("task_size", "requests", "ok", "no_targets_503", "refused_502", "timeout_504",
                          "queued_end", "response_ms.p50", "response_ms.p99", "wait_ms_mean",
                          "cpu_utilization_pct_mean", "running_tasks_mean", "tasks_launched", "scale_outs",
                          "scale_ins", "spot_interruptions", "task_hours"),
            console="sim.output.console:format_service_lines", report_section="sim.output.report_state:services_html",
            figures=(Figure("plot-services", "ECS services: tasks against the load, and the load balancer's errors",
                            "sim.output.report_state:services_figure", "no ECS service metrics were recorded",
                            in_plots=False),)),
    Service("outposts", ("outposts",), "outposts", "outposts", "AWS Outposts racks", report_table=False,
            console="sim.output.console:format_outpost_lines", report_section="sim.output.report_state:outposts_html"),
    Service("swf", ("swf_workflows",), "swf_workflows", "swf", "SWF workflow types", address_kind="swf_workflow",
            report_first=("started", "completed", "failed", "timed_out", "open_end", "decision_tasks",
                          "activity_tasks", "activity_tasks_failed", "timers", "signals", "markers",
                          "decision_wait_ms.mean", "decision_wait_ms.p99", "activity_wait_ms.mean",
                          "activity_wait_ms.p99", "execution_time_s.mean", "execution_time_s.p99"),
            console="sim.output.console:format_swf_lines"),
    Service("mq", ("brokers",), "brokers", "brokers", "Amazon MQ brokers", address_kind="broker",
            report_first=("engine", "instance_type", "deployment", "storage", "instances", "throughput_msgs_per_s",
                          "utilisation", "sent", "refused", "enqueued", "consumed", "redelivered", "dead_lettered",
                          "failovers", "down_s", "store_wait_ms.mean", "store_wait_ms.p99"),
            console="sim.output.console_brokers:format_broker_lines"),
    Service("vpc", ("vpcs", "transit_gateways", "flows"), "vpcs", "network", "VPCs",
            console="sim.output.console:format_vpc_lines", report_table=False,
            report_section="sim.output.report_vpc:vpc_html",
            figures=(Figure("plot-vpc-flows", "Flows per generator over time", "sim.output.report_vpc:flows_figure",
                            "there are no flow log records (no flow met an interface)", in_plots=False),
                     Figure("plot-vpc-links", "Link utilisation over time", "sim.output.report_vpc:links_figure",
                            "no link limits a flow here (NAT gateways, NAT instances with a bandwidth, VPN and DX)",
                            in_plots=False),
                     Figure("plot-vpc-failover", "Direct Connect failover timeline",
                            "sim.output.report_vpc:failover_figure", "no DX interface has a connection",
                            in_plots=False),
                     Figure("plot-vpc-flow-times", "Flow completion times", "sim.output.report_vpc:flow_times_figure",
                            "no flow completed", in_plots=False))),
)

SECTIONS: Tuple[str, ...] = tuple(s.summary_section for s in SERVICES)


def service_for_section(section: str) -> Optional[Service]:
    return next((s for s in SERVICES if s.summary_section == section), None)


def service_for_kind(kind: str) -> Optional[Service]:
    return next((s for s in SERVICES if s.address_kind == kind), None)


def check_registry() -> None:
    """Every entry names a host that exists and an address kind scenarios know; sections are unique."""
    hosts = {h.name for h in HOSTS}
    for s in SERVICES:
        if s.host not in hosts:
            raise _wiring_error(f"service {s.name}: unknown host {s.host!r}")
        if s.address_kind is not None and s.address_kind not in KINDS:
            raise _wiring_error(f"service {s.name}: unknown address kind {s.address_kind!r}")
    if len(set(SECTIONS)) != len(SECTIONS):
        raise _wiring_error(f"summary sections produced twice: {SECTIONS}")


def outputs(built: Mapping[str, List[Component]]) -> Dict[str, Any]:
    """Result fields beyond the summary, from every host that gives some."""
    out: Dict[str, Any] = {}
    for h in HOSTS:
        if h.outputs is not None:
            out.update(h.outputs(built.get(h.name, [])))
    return out
