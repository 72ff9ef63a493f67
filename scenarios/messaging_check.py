"""Cross-field checks of the messaging services: names, references, redrive chains and AWS's
pairing rules. Filter policies and event patterns are checked by the builder
(`sim.messaging.wiring`), where their matchers live.
"""

from __future__ import annotations

import re
from typing import Dict, Optional

from scenarios.addresses import (EXTERNAL, ON_FAILURE, RULE_TARGET, SUBSCRIPTION_PROTOCOLS, check_address,
                                 check_reference)
from scenarios.errors import Problems
from scenarios.messaging import (
    EB_MAX_RULES,
    EB_MAX_TARGETS,
    ESM_BATCH_ABOVE_10_NEEDS_WINDOW_S,
    ESM_MAX_BATCH_FIFO,
    Queue,
)
from scenarios.schema import Scenario
from scenarios.names import name_problem
from scenarios.yamlpath import index, key, num

FIFO_SUFFIX = ".fifo"
# SQS queue names: up to 80 characters, letters, digits, '-' and '_'; a FIFO queue's name ends in
# .fifo, which counts toward the 80 (CreateQueue QueueName:
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html;
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-fifo.html).
QUEUE_NAME_MAX = 80
# SNS topic names: 1-256 letters, digits, '-' and '_'; a FIFO topic's name ends in .fifo
# (CreateTopic Name: https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html).
TOPIC_NAME_MAX = 256
# EventBridge bus names: 1-256 of [/.-_A-Za-z0-9], and '/' only in partner event buses, which
# this simulator does not model; `default` is the account's default bus, which exists, so a bus
# of that name stands for it (CreateEventBus Name:
# https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateEventBus.html).
BUS_NAME_MAX = 256
_BUS_NAME = re.compile(r"[.\-_A-Za-z0-9]+")
# EventBridge rule names: 1-64 of [.-_A-Za-z0-9]
# (PutRule Name: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html).
RULE_NAME_MAX = 64
_RULE_NAME = re.compile(r"[.\-_A-Za-z0-9]+")
_PLAIN = re.compile(r"[A-Za-z0-9_-]+")


def sqs_sns_name_problem(what: str, name: str, fifo: bool, limit: int) -> Optional[str]:
    """Why `name` is not a valid SQS queue or SNS topic name (`what`: "queue" or "topic"), or None."""
    allowed = f"letters, digits, '-' and '_', at most {limit} characters"  # noqa: E501
    if fifo:
        if not name.endswith(FIFO_SUFFIX):
            return (f"FIFO {what} name {name!r} must end in {FIFO_SUFFIX!r} (AWS names FIFO {what}s so);"
                    f" rename it {name + FIFO_SUFFIX!r} and the references to it")
        stem = name[: -len(FIFO_SUFFIX)]
    else:
        if name.endswith(FIFO_SUFFIX):
            return (f"{what} name {name!r} ends in {FIFO_SUFFIX!r}, which AWS keeps for FIFO {what}s;"
                    f" set type: fifo, or rename it")
        stem = name
    if not stem or not _PLAIN.fullmatch(stem):
        suffix = f", then {FIFO_SUFFIX!r}" if fifo else ""
        return f"{what} name {name!r} may contain only {allowed}{suffix}"
    return name_problem(what, name, re.compile(r".+"), allowed, limit)


def bus_name_problem(name: str) -> Optional[str]:
    """Why `name` is not a valid EventBridge event bus name, or None."""
    if "/" in name:
        return f"bus name {name!r} contains '/', which AWS allows only in partner event buses (not simulated)"
    return name_problem("bus", name, _BUS_NAME, "letters, digits, '.', '-' and '_'", BUS_NAME_MAX)


def rule_name_problem(name: str) -> Optional[str]:
    """Why `name` is not a valid EventBridge rule name, or None."""
    return name_problem("rule", name, _RULE_NAME, "letters, digits, '.', '-' and '_'", RULE_NAME_MAX)


def check_messaging(s: Scenario, problems: Problems) -> None:
    """Every cross-field problem of the messaging sections."""
    _check_queues(s, problems)
    _check_mappings(s, problems)
    for name, fleet in s.worker_fleets.items():
        check_reference(s, "queue", fleet.queue, key(key("worker_fleets", name), "queue"), problems)
    _check_topics(s, problems)
    _check_buses(s, problems)


def _check_queues(s: Scenario, problems: Problems) -> None:
    for name, q in s.queues.items():
        path = key("queues", name)
        name_problem = sqs_sns_name_problem("queue", name, q.type == "fifo", QUEUE_NAME_MAX)
        if name_problem and not problems.has(key(path, "type")):
            problems.add(path, name_problem)
        dlq = q.dead_letter_queue
        if q.max_receive_count is not None and dlq is None:
            problems.add(key(path, "max_receive_count"), "a redrive policy needs dead_letter_queue as well")
        if dlq is None:
            continue
        p = key(path, "dead_letter_queue")
        if not check_reference(s, "queue", dlq, p, problems):
            continue
        if dlq == name:
            problems.add(p, "a queue cannot be its own dead-letter queue")
        elif s.queues[dlq].type != q.type:
            problems.add(p, f"{q.type} queue {name!r} needs a {q.type} dead-letter queue; {dlq!r} is {s.queues[dlq].type}")
        elif q.max_receive_count is None:
            problems.add(key(path, "max_receive_count"), "is required with a dead_letter_queue (1-1000)")
        else:
            loop = _dlq_loop(s.queues, name)
            if loop:
                problems.add(p, f"dead-letter queues form a loop: {' -> '.join(loop)}")


def _dlq_loop(queues: Dict[str, Queue], start: str) -> Optional[list]:
    seen, q = [start], queues[start].dead_letter_queue
    while q is not None and q in queues:
        if q in seen:
            return seen[seen.index(q):] + [q] if q == start else None
        seen.append(q)
        q = queues[q].dead_letter_queue
    return None


def _check_mappings(s: Scenario, problems: Problems) -> None:
    for i, m in enumerate(s.event_source_mappings):
        path = index("event_source_mappings", i)
        check_reference(s, "function", m.function, key(path, "function"), problems)
        if not check_reference(s, "queue", m.source, key(path, "source"), problems):
            continue
        q = s.queues[m.source]
        if q.type == "fifo":
            if m.batch_size > ESM_MAX_BATCH_FIFO:
                problems.add(key(path, "batch_size"), f"{m.batch_size} is above {ESM_MAX_BATCH_FIFO}, the maximum for a FIFO queue")
            if m.batching_window_s > 0:
                problems.add(key(path, "batching_window_s"), "FIFO queues take no batching window (with-sqs.md); use 0")
        elif m.batch_size > 10 and m.batching_window_s < ESM_BATCH_ABOVE_10_NEEDS_WINDOW_S:
            problems.add(key(path, "batching_window_s"),
                         f"{num(m.batching_window_s)} s: a batch_size above 10 needs a batching window of at least"
                         f" {ESM_BATCH_ABOVE_10_NEEDS_WINDOW_S} s (with-sqs.md)")
        if m.item_failure_rate > 0 and not m.report_batch_item_failures:
            problems.add(key(path, "item_failure_rate"),
                         f"{num(m.item_failure_rate)}: failed items are reported only with report_batch_item_failures:"
                         " true; without it a batch succeeds or fails whole, so this would be ignored (set"
                         " report_batch_item_failures: true, or use the function's error_rate)")
        fn = s.functions.get(m.function)
        if fn is not None and q.visibility_timeout_s < fn.timeout_s:
            problems.add(key(path, "source"),
                         f"queue {m.source!r} has visibility_timeout_s {num(q.visibility_timeout_s)}, below the timeout"
                         f" of function {m.function!r} ({num(fn.timeout_s)} s); Lambda refuses such a mapping"
                         f" (AWS advises at least 6 x the function timeout)")


def _check_outages(outages, path: str, problems: Problems) -> None:
    for j, o in enumerate(outages):
        if o.end_s <= o.start_s:
            problems.add(key(index(path, j), "end_s"), f"{num(o.end_s)} must be after start_s {num(o.start_s)}")


def _check_dlq_ref(s: Scenario, dlq: Optional[str], want_type: Optional[str], path: str, problems: Problems) -> None:
    if dlq is None or not check_reference(s, "queue", dlq, path, problems):
        return
    if want_type is not None and s.queues[dlq].type != want_type:
        problems.add(path, f"needs a {want_type} queue; {dlq!r} is {s.queues[dlq].type}")


def _check_topics(s: Scenario, problems: Problems) -> None:
    for name, topic in s.topics.items():
        path = key("topics", name)
        name_problem = sqs_sns_name_problem("topic", name, topic.type == "fifo", TOPIC_NAME_MAX)
        if name_problem and not problems.has(key(path, "type")):
            problems.add(path, name_problem)
        for j, sub in enumerate(topic.subscriptions):
            p = index(key(path, "subscriptions"), j)
            ep = key(p, "endpoint")
            if topic.type == "fifo" and sub.protocol != "sqs":
                problems.add(key(p, "protocol"), f"FIFO topics deliver to SQS queues only, not {sub.protocol!r}")
            kind = SUBSCRIPTION_PROTOCOLS.get(sub.protocol)
            if kind in EXTERNAL:
                if not sub.endpoint:
                    problems.add(ep, f"is required: the {'URL' if kind == 'https' else 'address'} of the endpoint")
                else:
                    endpoint_problem = EXTERNAL[kind](sub.endpoint)
                    if endpoint_problem:
                        problems.add(ep, f"{endpoint_problem} (protocol {sub.protocol})")
            elif kind is not None and check_reference(s, kind, sub.endpoint, ep, problems):
                if kind == "queue" and topic.type == "standard" and s.queues[sub.endpoint].type == "fifo":
                    problems.add(ep, f"a standard topic cannot deliver to FIFO queue {sub.endpoint!r}")
            if sub.filter_policy is None and sub.filter_policy_scope != "MessageAttributes":
                problems.add(key(p, "filter_policy_scope"),
                             f"{sub.filter_policy_scope} applies to a filter_policy, and this subscription has none"
                             " (it receives every message); add a filter_policy or remove filter_policy_scope")
            if sub.delivery_policy is not None and sub.protocol != "https":
                problems.add(key(p, "delivery_policy"), f"applies to https subscriptions only; {sub.protocol} deliveries"
                                                        f" follow AWS's fixed policy (100,015 attempts over 23 days)")
            _check_outages(sub.outages, key(p, "outages"), problems)
            _check_dlq_ref(s, sub.dead_letter_queue, "fifo" if topic.type == "fifo" else "standard",
                           key(p, "dead_letter_queue"), problems)


def _check_buses(s: Scenario, problems: Problems) -> None:
    for name, bus in s.buses.items():
        path = key("buses", name)
        name_problem = bus_name_problem(name)
        if name_problem:
            problems.add(path, name_problem)
        if len(bus.rules) > EB_MAX_RULES:
            problems.add(key(path, "rules"), f"{len(bus.rules)} rules; a bus has at most {EB_MAX_RULES}")
        for rname, rule in bus.rules.items():
            rp = key(key(path, "rules"), rname)
            name_problem = rule_name_problem(rname)
            if name_problem:
                problems.add(rp, name_problem)
            if not rule.event_pattern:
                problems.add(key(rp, "event_pattern"), "is required (EventBridge rules match on a pattern)")
            if not rule.targets:
                problems.add(key(rp, "targets"), "needs at least one target")
            elif len(rule.targets) > EB_MAX_TARGETS:
                problems.add(key(rp, "targets"), f"{len(rule.targets)} targets; a rule has at most {EB_MAX_TARGETS}")
            for j, tg in enumerate(rule.targets):
                tp = index(key(rp, "targets"), j)
                _check_rule_target(s, tg.target, key(tp, "target"), problems)
                _check_outages(tg.outages, key(tp, "outages"), problems)
                _check_dlq_ref(s, tg.dead_letter_queue, "standard", key(tp, "dead_letter_queue"), problems)


def _check_rule_target(s: Scenario, target: str, path: str, problems: Problems) -> None:
    address = check_address(s, target, RULE_TARGET, path, problems)
    if address is not None and address.kind == "queue" and s.queues[address.name].type == "fifo":
        problems.add(path, f"FIFO queue {address.name!r} needs a message group id per target; use a standard queue")


def check_on_failure(s: Scenario, on_failure: str, path: str, problems: Problems) -> None:
    """An async invocation's on-failure destination: queue:NAME."""
    address = check_address(s, on_failure, ON_FAILURE, path, problems)
    if address is not None and s.queues[address.name].type == "fifo":
        problems.add(path, f"Lambda destinations must be standard queues; {address.name!r} is FIFO")
