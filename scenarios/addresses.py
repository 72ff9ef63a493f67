"""Addresses users write (`queue:NAME`, …): their kinds, the places each may appear, one parser, one check.

An address is `KIND:NAME`. Its kind names the scenario section holding the resource
(`queue:orders` -> `queues.orders`); a few places also take an address outside the
simulation (an EventBridge API destination `https://…`), and some fields hold a bare name
whose kind the field fixes (a dead-letter queue, an SNS subscription's endpoint by its
protocol, an event source mapping's `source`). Everything a scenario check needs to know
about addresses is here; the simulator resolves the same kinds to ports (`sim.registry`).

A kind may be declared before its service is simulated (`simulated=False`): it parses and is
checked like the others, and a place that does not take it says it is not simulated yet.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from scenarios.errors import Problems
from scenarios.yamlpath import index, key


@dataclass(frozen=True)
class AddressKind:
    """One kind of address: `kind:NAME` names an entry of the scenario's `section`."""

    kind: str
    section: str  # the Scenario attribute (and YAML key) holding these resources
    noun: str  # what one is called in messages
    simulated: bool = True  # False: declared now, resolved by later work
    name_form: str = "NAME"  # how its names are written (an API route's: NAME/ROUTE)

    @property
    def form(self) -> str:
        return f"{self.kind}:{self.name_form}"


KINDS: Dict[str, AddressKind] = {k.kind: k for k in (
    AddressKind("function", "functions", "function"),
    AddressKind("queue", "queues", "queue"),
    AddressKind("topic", "topics", "topic"),
    AddressKind("bus", "buses", "bus"),
    AddressKind("endpoint", "endpoints", "endpoint"),  # an HTTP API outside AWS that functions call
    AddressKind("table", "tables", "table"),  # a DynamoDB table that functions call
    AddressKind("bucket", "buckets", "bucket"),  # an S3 bucket that functions call
    AddressKind("api", "apis", "API route", name_form="NAME/ROUTE"),  # api:NAME/ROUTE, an API Gateway route (traffic's target)
    AddressKind("state_machine", "state_machines", "state machine"),  # a Step Functions state machine
    AddressKind("service", "services", "ECS service"),  # an ECS service on Fargate, behind its load balancer
    AddressKind("swf_workflow", "swf_workflows", "SWF workflow type"),  # an Amazon SWF workflow type (traffic's target)
    AddressKind("broker", "brokers", "broker queue", name_form="NAME/QUEUE"),  # broker:NAME/QUEUE, an Amazon MQ queue (traffic's target)
)}


def https_url_problem(url: str) -> Optional[str]:
    """Why `url` is not an https:// URL with a host, or None."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as e:
        return f"{url!r} is not a URL ({e})"
    if parts.scheme.lower() == "http":
        return f"{url!r} is an http:// URL; this endpoint takes https:// (plain HTTP subscriptions are not simulated)"
    if parts.scheme.lower() != "https" or not host or any(c.isspace() for c in url):
        return f"{url!r} is not an https:// URL such as https://example.com/hook"
    return None


# An email endpoint: one @, something before it, a dotted domain after it, no spaces (a sanity
# check, not RFC 5322; SNS sends a confirmation message to the address).
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def email_problem(address: str) -> Optional[str]:
    """Why `address` is not an email address, or None."""
    if not _EMAIL.fullmatch(address):
        return f"{address!r} is not an email address such as ops@example.com"
    return None


# Endpoints outside the simulation, by scheme: what checks one. Deliveries to them leave the
# simulation (counted by the service that sends them); they are never a component's port.
EXTERNAL: Dict[str, Callable[[str], Optional[str]]] = {"https": https_url_problem, "email": email_problem}
_EXTERNAL_FORMS = {"https": "https:URL", "email": "email:ADDRESS"}


@dataclass(frozen=True)
class Place:
    """Where an address may appear: the kinds it takes, and the outside endpoints it takes."""

    name: str  # "traffic target", for documentation and the registry's errors
    noun: str  # the word in messages: "target", "destination"
    kinds: Tuple[str, ...]
    external: Tuple[str, ...] = ()  # schemes of EXTERNAL allowed here
    external_what: str = ""  # how an external address is called here, in messages
    bare: bool = False  # the field holds a bare NAME, its kind fixed by the field (or the protocol beside it)

    @property
    def forms(self) -> Tuple[str, ...]:
        return tuple(KINDS[k].form for k in self.kinds) + tuple(_EXTERNAL_FORMS[x] for x in self.external)

    def forms_text(self) -> str:
        f = self.forms
        return f[0] if len(f) == 1 else f"{', '.join(f[:-1])} or {f[-1]}"


# Where addresses appear: the places of today's schema that take KIND:NAME (checked with
# `check_address`), those holding a bare name (`check_reference`), and `calls:` (issue 11),
# which takes every kind.
TRAFFIC_TARGET = Place("traffic target", "target", ("function", "queue", "topic", "bus", "api", "state_machine",
                                                   "service", "swf_workflow", "broker"))
RULE_TARGET = Place("EventBridge rule target", "target", ("function", "queue", "state_machine"), ("https",),
                    "an API destination")
ON_FAILURE = Place("on-failure destination", "destination", ("queue",))
CALL_TARGET = Place("call target", "call target", tuple(KINDS))
SUBSCRIPTION_ENDPOINT = Place("SNS subscription endpoint", "endpoint", ("queue", "function"), ("https", "email"),
                              bare=True)  # its kind by protocol: SUBSCRIPTION_PROTOCOLS
DEAD_LETTER_QUEUE = Place("dead-letter queue", "dead-letter queue", ("queue",), bare=True)
API_INTEGRATION = Place("API integration", "integration", ("function", "queue", "topic", "bus", "state_machine",
                                                          "service"))
BUCKET_NOTIFICATION = Place("S3 notification target", "target", ("function", "queue", "topic", "bus"))
PLACES = {p.name: p for p in (TRAFFIC_TARGET, SUBSCRIPTION_ENDPOINT, RULE_TARGET, DEAD_LETTER_QUEUE, ON_FAILURE,
                              CALL_TARGET, API_INTEGRATION, BUCKET_NOTIFICATION)}


def places_of(kind: str) -> List[str]:
    """The places an address of `kind` may appear, in PLACES order."""
    return [p.name for p in PLACES.values() if kind in p.kinds]

# An SNS subscription's endpoint: the address kind its protocol stands for, or an external scheme.
SUBSCRIPTION_PROTOCOLS: Dict[str, str] = {"sqs": "queue", "lambda": "function", "https": "https", "email": "email"}


@dataclass(frozen=True)
class Address:
    """A parsed address; `external` ones (https URLs, email addresses) name nothing of the scenario."""

    kind: str
    name: str

    @property
    def external(self) -> bool:
        return self.kind in EXTERNAL

    def __str__(self) -> str:
        return self.name if self.kind == "https" else f"{self.kind}:{self.name}"


class AddressError(ValueError):
    """Text that is not KIND:NAME."""


def parse(text: str) -> Address:
    """`queue:orders` -> Address("queue", "orders"); an https URL is Address("https", URL).

    Raises AddressError for text without a kind or a name (the kind is not checked here:
    which kinds are allowed depends on the place, `check_address`).
    """
    kind, sep, name = str(text).partition(":")
    if kind.lower() in ("http", "https") and sep:
        return Address(kind.lower(), text)
    if not sep or not kind or not name:
        raise AddressError(f"{text!r} is not KIND:NAME")
    return Address(kind, name)


def defined(s: Any, kind: str) -> Mapping[str, Any]:
    """The resources of `kind` in scenario `s` (empty for a section the schema does not have yet);
    an API's are its routes, named API/ROUTE, a broker's its queues, BROKER/QUEUE."""
    if kind == "api":
        return {f"{a}/{r}": route for a, api in (getattr(s, "apis", None) or {}).items()
                for r, route in api.routes.items()}
    if kind == "broker":  # a broker's are its queues, named BROKER/QUEUE
        return {f"{b}/{q}": queue for b, broker in (getattr(s, "brokers", None) or {}).items()
                for q, queue in broker.queues.items()}
    return getattr(s, KINDS[kind].section, None) or {}


def resource(s: Any, address: Address) -> Any:
    """The dataclass `address` names in `s` (None for external addresses or undefined names)."""
    if address.external or address.kind not in KINDS:
        return None
    return defined(s, address.kind).get(address.name)


def missing(what: str, name: str, defined_names) -> str:
    """`queue 'ordrs' is not defined (did you mean 'orders'?); defined queues: orders, dlq`."""
    names = list(defined_names)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    plural = what + ("es" if what.endswith("s") else "s")
    return f"{what} {name!r} is not defined{hint}; defined {plural}: {', '.join(names) if names else 'none'}"


def check_reference(s: Any, kind: str, name: str, path: str, problems: Problems) -> bool:
    """Whether bare `name` names a defined resource of `kind`; if not, reports it at `path`."""
    names = defined(s, kind)
    if name in names:
        return True
    problems.add(path, missing(KINDS[kind].noun, name, names))
    return False


def check_address(s: Any, text: str, place: Place, path: str, problems: Problems) -> Optional[Address]:
    """The address `text` at `path` if it is one `place` takes and names something defined (or a
    valid external endpoint); else None, after reporting why (with the allowed forms and a
    "did you mean" where one helps)."""
    if not text:
        problems.add(path, f"is required: {place.forms_text()}")
        return None
    try:
        address = parse(text)
    except AddressError:
        kinds = [k for k in place.kinds if text in defined(s, k)]
        hint = f" (did you mean '{kinds[0]}:{text}'?)" if kinds else ""
        such = place.forms[0] + (f" or {place.forms[-1]}" if place.external else "")
        problems.add(path, f"malformed {place.noun} {text!r}; expected KIND:NAME such as {such}{hint}")
        return None
    if address.external or address.kind == "http":
        scheme = "https" if address.kind == "http" else address.kind
        if scheme not in place.external:
            problems.add(path, f"{text!r}: supported {place.noun}s are {place.forms_text()}")
            return None
        problem = EXTERNAL[scheme](text if scheme == "https" else address.name)
        if problem:
            problems.add(path, f"{problem} ({place.external_what})" if place.external_what else problem)
            return None
        return address
    if address.kind not in KINDS:
        supported = place.kinds + place.external
        close = difflib.get_close_matches(address.kind, supported, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.add(path, f"unknown {place.noun} kind {address.kind!r}{hint}; supported: {', '.join(supported)}")
        return None
    if address.kind not in place.kinds:
        later = "" if KINDS[address.kind].simulated else f" ({address.kind} addresses are not simulated yet)"
        problems.add(path, f"{text!r}: supported {place.noun}s are {place.forms_text()}{later}")
        return None
    if not check_reference(s, address.kind, address.name, path, problems):
        return None
    return address


@dataclass(frozen=True)
class Reference:
    """An address scenario names: where (its YAML path), what, and what for.

    `role`: "send" (traffic, an SNS subscription, an EventBridge rule target: items go
    there), "dead_letter" (a dead-letter queue), "on_failure" (an async invocation's
    destination), "poll" (a queue an event source mapping or worker fleet consumes),
    "mapping" (the function an event source mapping invokes). `asynchronous`: a function
    invoked asynchronously (async traffic, SNS, EventBridge).
    """

    path: str
    address: Address
    role: str
    asynchronous: bool = False


def references(s: Any) -> List[Reference]:
    """Every address scenario `s` names, in YAML order; text that does not parse is left out
    (the checks report it)."""
    out: List[Reference] = []

    def add(path: str, text: Optional[str], role: str, kind: Optional[str] = None, asynchronous: bool = False):
        if not text:
            return
        if kind is not None:
            out.append(Reference(path, Address(kind, text), role, asynchronous))
            return
        try:
            a = parse(text)
        except AddressError:
            return
        out.append(Reference(path, a, role, asynchronous and a.kind == "function"))

    for i, t in enumerate(s.traffic):
        add(key(index("traffic", i), "target"), t.target, "send", asynchronous=t.invocation == "async")
    for name, fn in s.functions.items():
        for i, call in enumerate(getattr(fn, "calls", ())):
            add(key(index(key(key("functions", name), "calls"), i), "target"), call.target, "send",
                asynchronous=call.mode == "async")
    for name, fn in s.functions.items():
        add(key(key(key("functions", name), "async_invoke"), "on_failure"), fn.async_invoke.on_failure, "on_failure")
    for name, q in s.queues.items():
        add(key(key("queues", name), "dead_letter_queue"), q.dead_letter_queue, "dead_letter", "queue")
    for i, m in enumerate(s.event_source_mappings):
        p = index("event_source_mappings", i)
        add(key(p, "source"), m.source, "poll", "queue")
        add(key(p, "function"), m.function, "mapping", "function")
    for name, w in s.worker_fleets.items():
        add(key(key("worker_fleets", name), "queue"), w.queue, "poll", "queue")
    for name, topic in s.topics.items():
        for j, sub in enumerate(topic.subscriptions):
            p = index(key(key("topics", name), "subscriptions"), j)
            kind = SUBSCRIPTION_PROTOCOLS.get(sub.protocol)
            if kind is not None:
                add(key(p, "endpoint"), sub.endpoint, "send", kind, asynchronous=kind == "function")
            add(key(p, "dead_letter_queue"), sub.dead_letter_queue, "dead_letter", "queue")
    for name, bus in s.buses.items():
        for rname, rule in bus.rules.items():
            for j, tg in enumerate(rule.targets):
                p = index(key(key(key(key("buses", name), "rules"), rname), "targets"), j)
                add(key(p, "target"), tg.target, "send", asynchronous=True)
                add(key(p, "dead_letter_queue"), tg.dead_letter_queue, "dead_letter", "queue")
    for name, t in (getattr(s, "tables", None) or {}).items():  # a table's stream invokes its function (a mapping)
        if t.stream is not None:
            add(key(key(key("tables", name), "stream"), "function"), t.stream.function, "mapping", "function")
    for name, b in (getattr(s, "buckets", None) or {}).items():  # notifications invoke functions asynchronously
        for j, nt in enumerate(b.notifications):
            add(key(index(key(key("buckets", name), "notifications"), j), "target"), nt.target, "send",
                asynchronous=True)
    for name, api in (getattr(s, "apis", None) or {}).items():  # a route invokes its function synchronously
        for rname, route in api.routes.items():
            add(key(key(key(key("apis", name), "routes"), rname), "integration"), route.integration, "send")
    return out
