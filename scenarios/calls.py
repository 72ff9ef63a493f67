"""Typed schema of what functions call (`functions.NAME.calls`) and of external HTTP APIs (`endpoints`).

Semantics: kernels/ACCOUNT_SPEC.md §3–§6. Pure data, like `scenarios.schema`; cross-field
checks are `check_calls` below, and `check_egress` for the flows a function in a VPC sends
(`functions.NAME.egress`, made as calls are: ACCOUNT_SPEC.md §10). The call graph's runaway check needs the filter tables and
runs when the world is built (`sim.callgraph.check_call_graph`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Union

from scenarios.addresses import CALL_TARGET, KINDS, check_address
from scenarios.common import Dist
from scenarios.errors import Problems
from scenarios.messaging import Outage
from scenarios.state import Keys, check_bucket_call, check_item_bytes, check_table_call
from scenarios.yamlpath import index, key, num

# The AWS SDKs' standard retry mode: 3 attempts by default, backoff U·min(2^attempt, 20) s
# (AWS SDKs and Tools reference guide, "Retry behavior"; botocore retries/standard.py
# DEFAULT_MAX_ATTEMPTS = 3, ExponentialBackoff _BASE = 2, _MAX_BACKOFF = 20).
SDK_MAX_ATTEMPTS = 3
# An external endpoint is called through a plain HTTP client that does not retry (our assumption).
ENDPOINT_MAX_ATTEMPTS = 1
# The API call's own latency when `latency_ms` is not given: lognormal, median 10 ms, p99 50 ms
# for Invoke, SendMessage, Publish and PutEvents — our assumption (AWS publishes no figure);
# 0 for an endpoint, whose own `latency_ms` covers the network (ACCOUNT_SPEC.md §6).
DEFAULT_API_LATENCY_MS = Dist(dist="lognormal", median=10.0, p99=50.0)
CALL_KINDS = ("function", "queue", "topic", "bus", "endpoint", "table", "bucket", "state_machine")  # what calls reach
# A DynamoDB item's size when a call to a table does not give `item_bytes` (our assumption: 1 KB,
# one write unit).
DEFAULT_ITEM_BYTES = 1024.0
CALL_COUNT_MAX = 1000  # the simulator's ceiling on calls of one entry per invocation
# entries of one function's calls and egress together (the kernel keeps which run in one int64:
# kernels.account.MAX_CALLS; an egress entry is one more call there)
CALLS_PER_FUNCTION_MAX = 62
PORT_MAX = 65535


@dataclass
class Call:
    """One entry of a function's `calls`, made during each invocation, in list order."""

    target: str = ""  # function:NAME | queue:NAME | topic:NAME | bus:NAME | endpoint:NAME
    mode: str = "sync"  # sync: waits for the answer | async: costs the API latency, then goes on
    probability: float = 1.0  # share of invocations that make this call
    count: int = 1  # calls made one after another when it is made
    at: str = "start"  # start: before the function's own duration_ms | end: after it
    size_bytes: Optional[int] = None  # the payload; None: the invoking item's size
    latency_ms: Optional[Dist] = None  # the API call's own latency; None: DEFAULT_API_LATENCY_MS (0 for endpoints)
    max_attempts: Optional[int] = None  # the SDK's attempts; None: 3 (1 for endpoints)
    on_error: str = "fail"  # fail: a call that fails for good fails the invocation | continue
    # message classes of the payload (filters), as a traffic source's; empty: the invoking item's
    attributes: Dict[str, Dict[str, float]] = field(default_factory=dict)
    # A call to a DynamoDB table (scenarios/state.py): the operation, its items' size (bytes, a
    # number or a distribution; default 1 KB), the items a Query returns or a batch or transaction
    # holds, read consistency, and which keys it reaches (default the table's `keys`)
    operation: Optional[str] = None
    item_bytes: Union[float, Dist, None] = None
    items: Optional[int] = None
    consistency: str = "eventual"
    keys: Optional[Keys] = None
    # A call to an S3 bucket: operation GET | HEAD | LIST | PUT | COPY | POST | DELETE, the object's
    # size (bytes, a number or a distribution; default 0: none moved), which prefix it reaches
    # (default the bucket's `prefixes`)
    object_bytes: Union[float, Dist, None] = None
    prefixes: Optional[Keys] = None


@dataclass
class Endpoint:
    """An HTTP API outside AWS (ACCOUNT_SPEC.md §4): its latency, errors, outages and limits."""

    latency_ms: Optional[Dist] = None  # required: its service time, network included
    error_rate: float = 0.0  # share of requests answered 5xx at the end of their latency
    outages: List[Outage] = field(default_factory=list)  # requests inside answer 503 at once
    rate_limit_per_s: Optional[float] = None  # a token bucket; excess answers 429 at once
    burst: Optional[float] = None  # the bucket's size; None: one second's worth of the rate
    max_concurrency: Optional[int] = None  # requests in progress; excess answers 429 at once


def check_calls(s, problems: Problems) -> None:
    """Every cross-field problem of the functions' calls and of the endpoints."""
    for name, fn in s.functions.items():
        if len(fn.calls) > CALLS_PER_FUNCTION_MAX:
            problems.add(key(key("functions", name), "calls"), f"{len(fn.calls)} calls; a function makes at most"
                                                               f" {CALLS_PER_FUNCTION_MAX} (use count for repeats)")
        for i, call in enumerate(fn.calls):
            path = index(key(key("functions", name), "calls"), i)
            kind = str(call.target).partition(":")[0]
            if kind in KINDS and kind not in CALL_KINDS:
                problems.add(key(path, "target"), f"{call.target!r}: {KINDS[kind].noun} targets are not simulated yet;"
                                                  f" calls reach {', '.join(k + ':NAME' for k in CALL_KINDS)}")
                continue
            address = check_address(s, call.target, CALL_TARGET, key(path, "target"), problems)
            if address is None:
                continue
            if address.kind == "function" and address.name == name and call.mode == "sync":
                problems.add(key(path, "target"), f"function {name!r} calls itself synchronously: each invocation"
                                                  " would wait on one that waits on another, without end (make the"
                                                  " call async, or call another function)")
            if address.kind == "state_machine" and call.mode == "sync":
                sm = s.state_machines[address.name]
                if sm.type != "EXPRESS":
                    problems.add(key(path, "mode"), f"{call.target!r} is a STANDARD state machine: a sync call is"
                                                    " StartSyncExecution, which only EXPRESS machines take; use"
                                                    " mode: async (StartExecution), or type: EXPRESS")
            if address.kind == "endpoint" and call.mode == "async":
                problems.add(key(path, "mode"), f"an endpoint is called synchronously (an HTTP request waits for its"
                                                f" answer); {call.target!r} takes mode: sync")
            if address.kind == "endpoint" and call.attributes:
                problems.add(key(path, "attributes"), "message attributes are for filters of topics and buses"
                                                      " (and what a called function passes on); an endpoint has none")
            if address.kind == "table":
                check_table_call(call, path, problems)
                if isinstance(call.item_bytes, (int, float)):
                    check_item_bytes(call.item_bytes, key(path, "item_bytes"), problems)
                if call.attributes:
                    problems.add(key(path, "attributes"), "message attributes are for filters of topics and buses;"
                                                          " a table has none")
            elif address.kind == "bucket":
                check_bucket_call(call, path, problems)
            else:
                for word in ("operation", "item_bytes", "items", "keys", "object_bytes", "prefixes"):
                    if getattr(call, word) is not None:
                        problems.add(key(path, word), f"is for calls to tables (table:NAME) and buckets"
                                                      f" (bucket:NAME); {call.target!r} is a {address.kind}")
    for name, ep in s.endpoints.items():
        path = key("endpoints", name)
        if ep.latency_ms is None:
            problems.add(key(path, "latency_ms"), "is required: the endpoint's response time, e.g."
                                                  " {dist: lognormal, median: 120, p99: 800}")
        if ep.burst is not None and ep.rate_limit_per_s is None:
            problems.add(key(path, "burst"), "a burst needs rate_limit_per_s (it is the size of that token bucket)")
        for j, o in enumerate(ep.outages):
            if o.end_s <= o.start_s:
                problems.add(key(index(key(path, "outages"), j), "end_s"),
                             f"{o.end_s} must be after start_s {o.start_s}")


def check_egress(s, problems: Problems) -> None:
    """The problems of the functions' and the ECS services' `egress` entries that their sources
    see: a function (service) in a VPC (`vpc`), and how each entry is made (`probability`,
    `count`, `at`: the field table, as for calls), its ports, and the room left by a function's
    calls. Where the flows go (`dst`, `protocol`) and the VPC configuration are the network's
    (scenarios.vpc_check)."""
    owners = (("functions", s.functions, "a function sends flows from its network interfaces"),
              ("services", getattr(s, "services", {}), "a service's tasks send flows from their network interfaces"))
    for section, items, why in owners:
        for name, fn in items.items():
            if not fn.egress:
                continue
            path = key(key(section, name), "egress")
            if fn.vpc is None:
                problems.add(path, f"egress needs {section}.{name}.vpc: {why} in a VPC"
                                   " (set vpc: {vpc, subnets, security_groups})")
            if section == "functions":  # (a function's egress entries are calls: ACCOUNT_SPEC.md §10)
                n_calls, n_egress = len(fn.calls), len(fn.egress)
                if n_calls <= CALLS_PER_FUNCTION_MAX < n_calls + n_egress:
                    problems.add(path, f"{n_calls} calls and {n_egress} egress entries; a function makes at most"
                                       f" {CALLS_PER_FUNCTION_MAX} together (use count for repeats)")
            _check_egress_ports(fn.egress, path, problems)


def _check_egress_ports(entries, path: str, problems: Problems) -> None:
    """Each egress entry's `dst_ports` (at least one; ports 0-65535, weights > 0)."""
    for i, e in enumerate(entries):
        p = index(path, i)
        if not e.dst_ports:
            problems.add(key(p, "dst_ports"), "needs at least one port")
        for j, wp in enumerate(e.dst_ports):
            pp = index(key(p, "dst_ports"), j)
            if not 0 <= wp.port <= PORT_MAX:
                problems.add(key(pp, "port"), f"port {wp.port} is out of range (allowed 0-{PORT_MAX})")
            if not wp.weight > 0:
                problems.add(key(pp, "weight"), f"{num(wp.weight)} must be greater than 0")
