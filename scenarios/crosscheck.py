"""Checks that span fields: names, traffic targets, concurrency budgets, schedules and payload limits."""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Dict, List, Optional, Tuple

from scenarios.addresses import TRAFFIC_TARGET, check_address, parse, references, resource
from scenarios.dists import check_increasing
from scenarios.errors import Problems
from scenarios.messaging import (
    EB_INVOCATIONS_PER_S,
    EB_INVOCATIONS_PER_S_OTHER,
    EB_PUT_EVENTS_PER_S,
    EB_PUT_EVENTS_PER_S_OTHER,
    SQS_MAX_MESSAGE_BYTES,
)
from scenarios.messaging_check import check_messaging, check_on_failure
from scenarios.rules import (
    ACCOUNT_CONCURRENCY_MAX,
    ACCOUNT_CONCURRENCY_WARN,
    ASYNC_PAYLOAD_BYTES,
    MIN_UNRESERVED_AWS,
    EB_MAX_ENTRY_BYTES,
    NAME_MAX_CHARS,
    SNS_MAX_MESSAGE_BYTES,
    PROBABILITY_SUM_TOLERANCE,
    SYNC_PAYLOAD_BYTES,
)
from scenarios.schema import AsyncConfig, Function, Retries, Scenario, Traffic
from scenarios.slo import check_slo
from scenarios.calls import check_calls, check_egress
from scenarios.api import check_apis
from scenarios.containers import check_services
from scenarios.outposts import check_outposts
from scenarios.swf import check_swf
from scenarios.mq import check_brokers
from scenarios.state import check_buckets, check_tables
from scenarios.names import name_problem
from scenarios.workflows import PAYLOAD_MAX_BYTES as SFN_MAX_INPUT_BYTES
from scenarios.workflows import task_references
from scenarios.yamlpath import index, is_within, key, num

# Function names (and traffic source names, which key the summary the same way): letters,
# digits, '-' and '_', at most 64 characters (Lambda CreateFunction FunctionName:
# https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html).
_NAME = re.compile(r"[A-Za-z0-9_-]+")
# The scenario's name is a folder of the run directory (results_dir/NAME-TIMESTAMP): a plain
# file name, never a path (no '/', '\', leading '.', so no '..'); 100 characters leave room for
# the timestamp within the usual 255-byte file-name limit.
SCENARIO_NAME_MAX = 100
_SCENARIO_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
_PAYLOAD_LIMITS = {"sync": SYNC_PAYLOAD_BYTES, "async": ASYNC_PAYLOAD_BYTES}


def check_references(s: Scenario, problems: Problems) -> None:
    """Report every cross-field problem of scenario `s`; fills empty traffic names with `traffic{i}`."""
    name_problem = scenario_name_problem(s.name)
    if name_problem:
        problems.add("name", name_problem)
    if not _REGION.fullmatch(s.region):
        problems.add("region", f"{s.region!r} does not look like an AWS Region code such as us-east-1")
    for name, fn in s.functions.items():
        path = key("functions", name)
        name_problem = _name_problem("function", name)
        if name_problem:
            problems.add(path, name_problem)
        _check_function(s, name, fn, path, problems)
    _check_account(s, problems)
    _check_reserved_total(s, problems)
    check_messaging(s, problems)
    check_calls(s, problems)
    check_tables(s, problems)
    check_buckets(s, problems)
    check_apis(s, problems)
    check_services(s, problems)
    check_outposts(s, problems)
    check_swf(s, problems)
    check_brokers(s, problems)
    check_egress(s, problems)
    _check_call_attributes(s, problems)
    seen: Dict[str, int] = {}
    for i, t in enumerate(s.traffic):
        _check_traffic(s, i, t, seen, problems)
    _check_async_settings(s, problems)
    _check_windows(s, problems)
    check_slo(s, problems)
    for path, message in quota_warnings(s):
        problems.warn(path, message)


# A window costs tens of µs of Python, SimPy and a kernel call whatever happens in it (docs/DESIGN.md
# §2), and outcomes do not depend on its length: past 10^7 windows that overhead alone is minutes
# (a warning), past 10^8 most of an hour (refused). `auto` (the default) sizes windows by the
# items they carry, so it never makes more windows than the run has items (sim.engine.clock).
WINDOWS_WARN = 10**7
WINDOWS_MAX = 10**8
ORDINARY_WINDOW_S = 1.0  # this check is about windows shorter than 1 s; longer ones are never too many


def _check_windows(s: Scenario, problems: Problems) -> None:
    if problems.is_broken("sim.window_s") or problems.has("sim.window_s") or problems.has("duration_s"):
        return
    w = s.sim.window_s
    if w == "auto" or not (0 < w < ORDINARY_WINDOW_S and s.duration_s > 0):
        return  # a long run with ordinary windows is bounded by its per-period memory (sim.engine.budget)
    windows = s.duration_s / w
    if windows <= WINDOWS_WARN:
        return
    fit = s.duration_s / WINDOWS_WARN
    text = (f"{num(w)} s windows make {windows:.3g} windows over duration_s {num(s.duration_s)}; each"
            f" costs tens of µs whatever it holds, and outcomes do not depend on window_s: use auto (the"
            f" default: windows sized for speed) or {fit:.3g} s or more")
    if windows > WINDOWS_MAX:
        problems.add("sim.window_s", text)
    else:
        problems.warn("sim.window_s", text)


def scenario_name_problem(name: str) -> Optional[str]:
    """Why `name` cannot be the scenario's name (a folder of the run directory), or None."""
    if not name.strip():
        return "must not be empty (it names the run's folder)"
    if not _SCENARIO_NAME.fullmatch(name):
        return (f"{name!r} is not a plain name: it becomes the run's folder inside results_dir, so use only"
                " letters, digits, '-', '_' and '.', not starting with '.' (no '/', '\\' or spaces)")
    if len(name) > SCENARIO_NAME_MAX:
        return f"{len(name)} characters is too long for the run's folder name; the limit is {SCENARIO_NAME_MAX}"
    return None


def _name_problem(what: str, name: str) -> Optional[str]:
    return name_problem(what, name, _NAME, "letters, digits, '-' and '_'", NAME_MAX_CHARS)


def _check_account(s: Scenario, problems: Problems) -> None:
    a = s.account
    # Only a value the user chose: accounts below 100 exist (new accounts start lower), and there
    # AWS's own 100 just means nothing can be reserved, which the reserved-total check reports.
    if a.min_unreserved_concurrency != MIN_UNRESERVED_AWS and a.min_unreserved_concurrency > a.concurrency_limit \
            and not problems.has("account.concurrency_limit"):
        problems.add("account.min_unreserved_concurrency",
                     f"{a.min_unreserved_concurrency} is above the account's concurrency_limit {a.concurrency_limit}"
                     f" (AWS keeps {MIN_UNRESERVED_AWS} of it unreserved)")


def quota_warnings(s: Scenario) -> List[Tuple[str, str]]:
    """(path, message) for values AWS allows only after a quota increase, or that differ from AWS's fixed rules."""
    out = []
    a = s.account
    if ACCOUNT_CONCURRENCY_WARN < a.concurrency_limit <= ACCOUNT_CONCURRENCY_MAX:
        out.append(("account.concurrency_limit",
                    f"{a.concurrency_limit} is {a.concurrency_limit // 1000}x AWS's default of 1,000: AWS grants"
                    " such concurrency only on request, for a use case (up to tens of thousands)"))
    if a.min_unreserved_concurrency != MIN_UNRESERVED_AWS:
        out.append(("account.min_unreserved_concurrency",
                    f"{a.min_unreserved_concurrency}: AWS always keeps {MIN_UNRESERVED_AWS} unreserved"
                    " (configuration-concurrency.html); this models an account AWS does not offer"))
    for name, bus in s.buses.items():
        for f, quotas, other in (("put_events_per_s", EB_PUT_EVENTS_PER_S, EB_PUT_EVENTS_PER_S_OTHER),
                                 ("invocations_per_s", EB_INVOCATIONS_PER_S, EB_INVOCATIONS_PER_S_OTHER)):
            v, default = getattr(bus, f), quotas.get(s.region, other)
            if v is not None and v > default:
                out.append((key(key("buses", name), f),
                            f"{num(v)} per s is above the {s.region} default quota of {default:,} per s: AWS"
                            " raises it only on request (eb-quota)"))
    return out


def _unreserved_room(s: Scenario) -> int:
    return s.account.concurrency_limit - s.account.min_unreserved_concurrency


def _check_function(s: Scenario, name: str, fn: Function, path: str, problems: Problems) -> None:
    if fn.reserved_concurrency is not None:
        limit = fn.reserved_concurrency
        why = f"reserved_concurrency {limit}"
    else:
        limit = _unreserved_room(s)
        why = (f"the {limit} an unreserved function may take (concurrency_limit {s.account.concurrency_limit}"
               f" - min_unreserved_concurrency {s.account.min_unreserved_concurrency})")
    if fn.provisioned_concurrency > limit and fn.provisioned_concurrency > 0 \
            and not problems.has(key(path, "provisioned_concurrency")):
        problems.add(key(path, "provisioned_concurrency"),
                     f"provisioned_concurrency {fn.provisioned_concurrency} exceeds {why}")
    schedule = key(path, "provisioned_schedule")
    check_increasing([step.at_s for step in fn.provisioned_schedule], schedule, problems)
    for i, step in enumerate(fn.provisioned_schedule):
        if step.count > limit and step.count > 0 and not problems.has(key(index(schedule, i), "count")):
            problems.add(key(index(schedule, i), "count"), f"count {step.count} exceeds {why}")
    if fn.async_invoke.on_failure is not None:
        check_on_failure(s, fn.async_invoke.on_failure, key(key(path, "async_invoke"), "on_failure"), problems)


def _check_reserved_total(s: Scenario, problems: Problems) -> None:
    reserved = {n: f.reserved_concurrency for n, f in s.functions.items() if f.reserved_concurrency is not None}
    if not reserved or any(problems.has(key(key("functions", n), "reserved_concurrency")) for n in reserved) \
            or _has_within(problems, "account"):
        return  # one message per mistake: an out-of-range count or account quota is reported already
    total = sum(reserved.values())
    left = s.account.concurrency_limit - total
    need = s.account.min_unreserved_concurrency
    if left < need:
        parts = ", ".join(f"{n} {r}" for n, r in reserved.items())
        problems.add("functions", f"reserved_concurrency totals {total} ({parts}); the account's concurrency_limit"
                                  f" {s.account.concurrency_limit} then leaves {left} unreserved, below the"
                                  f" min_unreserved_concurrency {need}")


def _check_traffic(s: Scenario, i: int, t: Traffic, seen: Dict[str, int], problems: Problems) -> None:
    path = index("traffic", i)
    if not t.name:
        t.name = f"traffic{i}"
    name_problem = _name_problem("traffic", t.name)
    if name_problem:
        problems.add(key(path, "name"), name_problem)
    if t.name in seen:
        problems.add(key(path, "name"), f"duplicate traffic name {t.name!r} (also traffic[{seen[t.name]}])")
    seen.setdefault(t.name, i)
    address = check_address(s, t.target, TRAFFIC_TARGET, key(path, "target"), problems)
    kind = None if address is None else address.kind
    size_path = key(key(path, "message"), "size_bytes")
    if kind == "function" and t.invocation in _PAYLOAD_LIMITS:
        limit = _PAYLOAD_LIMITS[t.invocation]
        if t.message.size_bytes > limit:
            problems.add(size_path, f"{t.message.size_bytes} bytes is above the {limit // 2**20} MB ({limit} bytes)"
                                    f" payload limit of {t.invocation} invocation")
    elif kind in _MESSAGE_LIMITS:
        what, limit = _MESSAGE_LIMITS[kind]
        if t.message.size_bytes > limit:
            problems.add(size_path, f"{t.message.size_bytes} bytes is above the {limit // 1024} KB ({limit} bytes)"
                                    f" limit of {what}")
    if kind == "state_machine" and t.invocation == "sync" and s.state_machines[address.name].type != "EXPRESS":
        problems.add(key(path, "invocation"), f"sync (StartSyncExecution) is for EXPRESS state machines;"
                                              f" {t.target!r} is STANDARD: use invocation: async (StartExecution)")
    if kind == "bus":
        if not t.events:
            problems.add(key(path, "events"), "a bus target needs at least one event template ({event: {...}, weight})")
        if t.message.attributes:
            problems.add(key(key(path, "message"), "attributes"),
                         "a bus target takes its classes from `events`; message attributes do not apply")
    elif t.events and kind is not None:
        problems.add(key(path, "events"), f"event templates apply to bus targets only, not {kind}")
    if t.retries.max_delay_s < t.retries.base_delay_s:
        problems.add(key(key(path, "retries"), "max_delay_s"),
                     f"{num(t.retries.max_delay_s)} is below base_delay_s {num(t.retries.base_delay_s)}")
    if t.end_s is not None and t.end_s <= t.start_s:
        problems.add(key(path, "end_s"), f"{num(t.end_s)} must be after start_s {num(t.start_s)}")
    _check_attributes(t.message.attributes, key(key(path, "message"), "attributes"), problems)
    if kind is not None:
        _check_ignored(s, t, kind, path, problems)  # last: a place with another problem gets no second one


_RETRIES_DEFAULT = Retries()
_ASYNC_DEFAULT = AsyncConfig()


def _set_keys(obj: Any, default: Any, skip: tuple = ()) -> list:
    """The fields of dataclass `obj` that differ from `default` (the ones a user set)."""
    return [f.name for f in dataclasses.fields(obj)
            if f.name not in skip and getattr(obj, f.name) != getattr(default, f.name)]


def _fifo_target(s: Scenario, target: str) -> bool:
    """Whether address `target` names a FIFO queue or topic."""
    return getattr(resource(s, parse(target)), "type", None) == "fifo"


def _has_within(problems: Problems, path: str) -> bool:
    """Whether some problem is already recorded at `path` or inside it (one message per place is enough)."""
    return any(is_within(p, path) for p, _ in problems.items)


def _check_ignored(s: Scenario, t: Traffic, kind: str, path: str, problems: Problems) -> None:
    """Settings of traffic source `t` that its target would ignore: each an error, naming what to do."""
    name = parse(t.target).name
    target = f"{kind} target {name!r}"
    if kind not in ("function", "state_machine") and t.invocation == "async":
        problems.add(key(path, "invocation"),
                     f"async applies to function and state machine targets only; a {target} is sent to, not"
                     " invoked (remove `invocation`)")
    rp = key(path, "retries")
    retries = [] if _has_within(problems, rp) else _set_keys(t.retries, _RETRIES_DEFAULT)
    if retries and kind == "state_machine":
        problems.add(rp, f"client retries ({', '.join(retries)}) are not simulated for a {target}: a start the"
                         " StartExecution quota refuses is answered throttled and counted (remove `retries`)")
    elif retries and kind == "service":
        problems.add(rp, f"client retries ({', '.join(retries)}) are not simulated for an {target}: its load"
                         " balancer's 502, 503 and 504 are answered and counted (remove `retries`)")
    elif retries and kind != "function":
        problems.add(rp, f"client retries ({', '.join(retries)}) apply to synchronous function calls; a {target}"
                         " accepts every message (throttled sends are not simulated), so they would be ignored"
                         " (remove `retries`)")
    elif retries and t.invocation == "async":
        problems.add(rp, f"client retries ({', '.join(retries)}) apply to synchronous calls; Lambda queues an"
                         " async invocation and retries it itself (set functions."
                         f"{name}.async_invoke.max_retry_attempts instead, or use invocation: sync)")
    elif retries and t.retries.max_attempts == 1:
        problems.add(rp, f"{', '.join(retries)} shape the waits between attempts, and max_attempts 1 allows none"
                         " (set max_attempts above 1, or remove them)")
    gp = key(key(path, "message"), "groups")
    if t.message.groups > 1 and not _fifo_target(s, t.target) and not _has_within(problems, gp):
        problems.add(gp,
                     f"{t.message.groups} message groups: groups apply to FIFO queues and topics only, and the"
                     f" {target} is not one (remove `groups`, or target a queue or topic of type fifo)")
    if t.arrivals.kind == "trace" and t.arrivals.duration_column is not None and kind != "function":
        problems.add(key(key(path, "arrivals"), "duration_column"),
                     f"per-request durations apply to function targets only; messages to a {target} run for"
                     " the consuming function's duration_ms (remove `duration_column`)")
    ap = key(key(path, "message"), "attributes")
    if (t.message.attributes and kind in ("function", "queue") and not _reaches_filters(s, t.target)
            and not _has_within(problems, ap)):
        what = "a function invocation carries none" if kind == "function" else \
            "nothing filters messages on a queue (event source mapping filters are not simulated)"
        problems.add(ap, f"message attributes feed SNS filter policies; {what}, and nothing it calls reaches a"
                         " topic or bus, so they would be ignored (remove `attributes`, or send to a topic)")


def _reaches_filters(s: Scenario, target: str) -> bool:
    """Whether an item sent to `target` (function:NAME or queue:NAME) can carry its attributes to a
    topic or bus: through the functions' calls (which pass the invoking item's class on) and
    the queues' event source mappings."""
    seen, todo = set(), [str(target)]
    while todo:
        address = todo.pop()
        if address in seen:
            continue
        seen.add(address)
        kind, _, name = address.partition(":")
        if kind in ("topic", "bus"):
            return True
        if kind == "queue":
            todo += [f"function:{m.function}" for m in s.event_source_mappings if m.source == name]
        elif kind == "function" and name in s.functions:
            todo += [str(c.target) for c in s.functions[name].calls if not c.attributes]
    return False


def _async_callers(s: Scenario) -> set:
    """The functions something invokes asynchronously: async traffic, SNS lambda subscriptions, EventBridge rules."""
    names = {r.address.name for r in [*references(s), *task_references(s)] if r.asynchronous}
    return names


def _check_async_settings(s: Scenario, problems: Problems) -> None:
    """A function's async_invoke settings, when nothing invokes it asynchronously, would be ignored."""
    callers = None
    for name, fn in s.functions.items():
        ap = key(key("functions", name), "async_invoke")
        changed = [] if _has_within(problems, ap) else _set_keys(fn.async_invoke, _ASYNC_DEFAULT)
        if not changed:
            continue
        callers = _async_callers(s) if callers is None else callers
        if name not in callers:
            problems.add(ap, f"{', '.join(changed)} apply to asynchronous invocations, and nothing invokes {name!r}"
                         " asynchronously (no traffic with invocation: async, SNS lambda subscription or"
                         " EventBridge rule target); remove them, or add such a caller")


_MESSAGE_LIMITS = {"queue": ("an SQS message", SQS_MAX_MESSAGE_BYTES),
                   "topic": ("an SNS message", SNS_MAX_MESSAGE_BYTES),
                   "bus": ("a PutEvents entry", EB_MAX_ENTRY_BYTES),
                   "state_machine": ("a Step Functions execution's input", SFN_MAX_INPUT_BYTES)}


def _check_call_attributes(s: Scenario, problems: Problems) -> None:
    """A call's `attributes` are message classes as a traffic source's (the call graph draws on them)."""
    for name, fn in s.functions.items():
        for i, call in enumerate(fn.calls):
            path = key(index(key(key("functions", name), "calls"), i), "attributes")
            if not problems.has(path):  # an endpoint's call has no attributes to check: said once
                _check_attributes(call.attributes, path, problems)
            kind = str(call.target).partition(":")[0]
            if (call.attributes and kind in ("function", "queue") and not _reaches_filters(s, str(call.target))
                    and not _has_within(problems, path)):
                problems.add(path, f"message attributes feed SNS filter policies and EventBridge patterns; nothing"
                                   f" {call.target} calls reaches a topic or bus, so they would be ignored (remove"
                                   " `attributes`, or call a topic or bus)")


def _check_attributes(attributes: Dict[str, Dict[str, float]], path: str, problems: Problems) -> None:
    for attr, values in attributes.items():
        p = key(path, attr)
        if not values:
            problems.add(p, "needs at least one value with its probability")
            continue
        in_range = True
        for value, prob in values.items():
            if not 0.0 <= prob <= 1.0:
                problems.add(key(p, value), f"probability {num(prob)} is outside 0-1")
                in_range = False
        total = sum(values.values())
        if in_range and not problems.has_broken_within(p) and abs(total - 1.0) > PROBABILITY_SUM_TOLERANCE:
            terms = " + ".join(num(v) for v in values.values())
            problems.add(p, f"probabilities sum to {total:.12g} ({terms}), not 1")
