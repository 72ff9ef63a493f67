"""Checks that span fields: names, traffic targets, concurrency budgets, schedules and payload limits."""

from __future__ import annotations

import difflib
import re
from typing import Dict, Optional

from scenarios.dists import check_increasing
from scenarios.errors import Problems
from scenarios.messaging import SQS_MAX_MESSAGE_BYTES
from scenarios.messaging_check import check_messaging, check_on_failure, missing
from scenarios.rules import (
    ASYNC_PAYLOAD_BYTES,
    EB_MAX_ENTRY_BYTES,
    NAME_MAX_CHARS,
    SNS_MAX_MESSAGE_BYTES,
    PROBABILITY_SUM_TOLERANCE,
    SYNC_PAYLOAD_BYTES,
    TARGET_KINDS,
)
from scenarios.schema import Function, Message, Scenario, Traffic
from scenarios.slo import check_slo
from scenarios.yamlpath import index, key, num

_NAME = re.compile(r"[A-Za-z0-9_-]+")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
_PAYLOAD_LIMITS = {"sync": SYNC_PAYLOAD_BYTES, "async": ASYNC_PAYLOAD_BYTES}


def check_references(s: Scenario, problems: Problems) -> None:
    """Report every cross-field problem of scenario `s`; fills empty traffic names with `traffic{i}`."""
    if not s.name.strip():
        problems.add("name", "must not be empty (it names the run's output)")
    if not _REGION.fullmatch(s.region):
        problems.add("region", f"{s.region!r} does not look like an AWS Region code such as us-east-1")
    for name, fn in s.functions.items():
        path = key("functions", name)
        name_problem = _name_problem("function", name)
        if name_problem:
            problems.add(path, name_problem)
        _check_function(s, name, fn, path, problems)
    _check_reserved_total(s, problems)
    check_messaging(s, problems)
    seen: Dict[str, int] = {}
    for i, t in enumerate(s.traffic):
        _check_traffic(s, i, t, seen, problems)
    check_slo(s, problems)


def _name_problem(what: str, name: str) -> Optional[str]:
    if not name:
        return f"{what} name must not be empty"
    if not _NAME.fullmatch(name):
        return f"{what} name {name!r} may contain only letters, digits, '-' and '_'"
    if len(name) > NAME_MAX_CHARS:
        return f"{what} name {name!r} is {len(name)} characters long; the limit is {NAME_MAX_CHARS}"
    return None


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
    if fn.provisioned_concurrency > limit and fn.provisioned_concurrency > 0:
        problems.add(key(path, "provisioned_concurrency"),
                     f"provisioned_concurrency {fn.provisioned_concurrency} exceeds {why}")
    schedule = key(path, "provisioned_schedule")
    check_increasing([step.at_s for step in fn.provisioned_schedule], schedule, problems)
    for i, step in enumerate(fn.provisioned_schedule):
        if step.count > limit and step.count > 0:
            problems.add(key(index(schedule, i), "count"), f"count {step.count} exceeds {why}")
    if fn.async_invoke.on_failure is not None:
        check_on_failure(s, fn.async_invoke.on_failure, key(key(path, "async_invoke"), "on_failure"), problems)


def _check_reserved_total(s: Scenario, problems: Problems) -> None:
    reserved = {n: f.reserved_concurrency for n, f in s.functions.items() if f.reserved_concurrency is not None}
    if not reserved:
        return
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
    kind = _check_target(s, t.target, key(path, "target"), problems)
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
    _check_attributes(t.message, key(key(path, "message"), "attributes"), problems)


def _check_target(s: Scenario, target: str, path: str, problems: Problems) -> Optional[str]:
    """The target's kind if it names something defined, else None (after reporting why)."""
    if not target:
        problems.add(path, "is required: function:NAME, queue:NAME, topic:NAME or bus:NAME")
        return None
    if ":" not in target:
        kinds = [k for k, d in _defined(s).items() if target in d]
        hint = f" (did you mean '{kinds[0]}:{target}'?)" if kinds else ""
        problems.add(path, f"malformed target {target!r}; expected KIND:NAME such as function:NAME{hint}")
        return None
    kind, name = target.split(":", 1)
    if kind not in TARGET_KINDS:
        close = difflib.get_close_matches(kind, TARGET_KINDS, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.add(path, f"unknown target kind {kind!r}{hint}; supported: {', '.join(TARGET_KINDS)}")
        return None
    defined = _defined(s)[kind]
    if name not in defined:
        problems.add(path, missing(_WHAT[kind], name, defined))
        return None
    return kind


_WHAT = {"function": "function", "queue": "queue", "topic": "topic", "bus": "bus"}
_MESSAGE_LIMITS = {"queue": ("an SQS message", SQS_MAX_MESSAGE_BYTES),
                   "topic": ("an SNS message", SNS_MAX_MESSAGE_BYTES),
                   "bus": ("a PutEvents entry", EB_MAX_ENTRY_BYTES)}


def _defined(s: Scenario) -> Dict[str, dict]:
    return {"function": s.functions, "queue": s.queues, "topic": s.topics, "bus": s.buses}


def _check_attributes(message: Message, path: str, problems: Problems) -> None:
    for attr, values in message.attributes.items():
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
