"""Runs that do nothing, or parts of them that do: warnings by YAML path, and the error when nothing at all could happen.

A warning (stderr, one line each, and summary.json `warnings`) for: a traffic source that
cannot send a request (it starts at or after the end, its end is not after its start, its
steps' rates are all 0 over its span, its trace has no row inside its span), one expected
to send fewer than one (a random process: it may send none), a flow generator with no
flow, a function, queue, topic or bus that nothing can reach, a topic or bus that delivers
nowhere, and a queue fed messages that nothing consumes. An error (ScenarioError)
when nothing at all could happen: no source can send a request, no flow generator makes a
flow, and nothing runs without traffic — no provisioned concurrency (billed while idle), no
worker fleet and no event source mapping (they poll, and their empty receives are billed).
Such a run can only report zeros, which is never what its author meant; a run where some
part still works is a run, with a warning for the rest.
"""

from __future__ import annotations

import math
import sys
from typing import List, Tuple

from scenarios.addresses import references
from scenarios.errors import ScenarioError
from scenarios.schema import Scenario
from scenarios.workflows import task_references
from scenarios.yamlpath import index, key, num

Problem = Tuple[str, str]  # (YAML path, message)


def _source_problem(sc: Scenario, i: int, src) -> Tuple[bool, Problem | None]:
    """(whether traffic source i can send nothing at all, its warning or None)."""
    tr, p = sc.traffic[i], src.process
    path = index("traffic", i)
    T = sc.duration_s
    if tr.start_s >= T:
        return True, (key(path, "start_s"), f"starts at {num(tr.start_s)} s, at or after the end of the run"
                                            f" (duration_s = {num(T)} s): {tr.name!r} sends nothing")
    if tr.end_s is not None and tr.end_s <= tr.start_s:
        return True, (key(path, "end_s"), f"{num(tr.end_s)} s is not after start_s = {num(tr.start_s)} s:"
                                          f" {tr.name!r} sends nothing")
    expected = p.expected_count(p.start_s, p.end_s)
    span = f"[{num(p.start_s)}, {num(p.end_s)}) s"
    arrivals = key(path, "arrivals")
    if tr.arrivals.kind == "trace" and expected == 0:
        return True, (key(arrivals, "file"), f"the trace has no row in {span}{_trace_span(p)}:"
                                             f" {tr.name!r} sends nothing")
    if tr.arrivals.kind == "steps" and expected == 0:
        return True, (key(arrivals, "steps"), f"no step gives a rate above 0 within {span}:"
                                              f" {tr.name!r} sends nothing")
    if expected == 0:
        return True, (key(arrivals, "rate_per_s"), f"a rate of 0: {tr.name!r} sends nothing")
    if expected < 1 and tr.arrivals.kind in ("poisson", "diurnal", "steps"):
        return False, (arrivals, f"about {expected:.3g} requests expected in {span}: {tr.name!r} sends none"
                                 f" with probability {math.exp(-expected):.0%}; lengthen duration_s or raise"
                                 f" the rate")
    return False, None


def _trace_span(p) -> str:
    """`(its N rows span a-b s)` for a trace process, from its file; '' if unreadable."""
    try:
        from sim.traffic.arrivals import read_trace

        times, _ = read_trace(p.path, p.arrivals.time_column, None)
    except Exception:
        return ""
    if not len(times):
        return " (it has no rows)"
    return f" (its {len(times):,} rows span {num(float(times[0]))}-{num(float(times[-1]))} s)"


def _flow_problem(sc: Scenario, i: int) -> Tuple[bool, Problem | None]:
    f = sc.flows[i]
    path = index("flows", i)
    end = sc.duration_s if f.end_s is None else f.end_s
    if f.count is not None:
        if f.count == 0:
            return True, (key(path, "count"), f"0 flows: {f.name!r} makes none")
        return False, None
    mean = float(f.rate_per_s or 0.0) * max(0.0, end - f.start_s)
    if mean <= 0 or (f.starts == "uniform" and round(mean) == 0):
        return True, (key(path, "rate_per_s"), f"{num(mean)} flows in [{num(f.start_s)}, {num(end)}) s:"
                                               f" {f.name!r} makes none")
    if mean < 1 and f.starts == "poisson":
        return False, (key(path, "rate_per_s"), f"about {mean:.3g} flows expected in [{num(f.start_s)}, {num(end)})"
                                                f" s: {f.name!r} makes none with probability {math.exp(-mean):.0%}")
    return False, None


def _unreachable(sc: Scenario) -> List[Problem]:
    """Functions, queues, topics and buses that nothing names as a destination; topics and buses
    that deliver nowhere; queues fed messages that nothing consumes."""
    refs = [*references(sc), *task_references(sc)]  # a state machine's Tasks reach theirs
    named = {(r.address.kind, r.address.name) for r in refs if r.role != "poll"}  # what sends or invokes there
    functions, queues, topics, buses = ({n for k, n in named if k == kind}
                                        for kind in ("function", "queue", "topic", "bus"))
    # queues that are a destination of traffic, a subscription or a rule (not only a dead-letter queue)
    fed = {r.address.name for r in refs if r.role == "send" and r.address.kind == "queue"}
    out = []
    for name in sc.functions:
        if name not in functions:
            out.append((key("functions", name), "nothing invokes it: no traffic, subscription, rule target or"
                                                " event source mapping names it"))
    for name in sc.queues:
        if name not in queues:
            out.append((key("queues", name), "nothing sends to it: no traffic, subscription, rule target,"
                                             " dead-letter setting or on_failure destination names it"))
    for name, t in sc.topics.items():
        if name not in topics:
            out.append((key("topics", name), "no traffic publishes to it"))
        elif not t.subscriptions:
            out.append((key(key("topics", name), "subscriptions"), "none: what is published to it goes nowhere"))
    for name, b in sc.buses.items():
        if name not in buses:
            out.append((key("buses", name), "no traffic sends events to it"))
        elif not any(r.targets for r in b.rules.values()):
            out.append((key(key("buses", name), "rules"), "no rule with a target: every event goes nowhere"))
    # a queue that receives messages as a destination (not only as a dead-letter queue) but
    # that nothing consumes: its messages only accumulate
    consumed = {r.address.name for r in refs if r.role == "poll"}
    for name in sc.queues:
        if name in fed and name not in consumed:
            out.append((key("queues", name), "nothing receives from it (no event source mapping or worker"
                                             " fleet): its messages only accumulate"))
    return out


def _runs_without_traffic(sc: Scenario) -> List[str]:
    """What happens in a run even without a request: provisioned concurrency, polling."""
    T = sc.duration_s
    out = []
    if any(fn.provisioned_concurrency > 0 or any(s.count > 0 and s.at_s < T for s in fn.provisioned_schedule)
           for fn in sc.functions.values()):
        out.append("provisioned concurrency")
    if sc.worker_fleets:
        out.append("worker fleets")
    if sc.event_source_mappings:
        out.append("event source mappings")
    if any(sv.desired_count > 0 for sv in getattr(sc, "services", {}).values()):
        out.append("ECS services' tasks")
    return out


def check_world(sc: Scenario, sources) -> List[str]:
    """The run's warnings as `PATH: message` lines; raises ScenarioError when nothing at all
    could happen (module doc). `sources` are the built TrafficSources, in `traffic` order."""
    problems: List[Problem] = []
    sending = 0
    for i, src in enumerate(sources):
        empty, problem = _source_problem(sc, i, src)
        sending += not empty
        if problem is not None:
            problems.append(problem)
    flowing = 0
    for i in range(len(sc.flows)):
        empty, problem = _flow_problem(sc, i)
        flowing += not empty
        if problem is not None:
            problems.append(problem)
    idle = _runs_without_traffic(sc)
    if not sending and not flowing and not idle:
        what = "no traffic source sends a request" if sc.traffic else "there is no traffic"
        raise ScenarioError(problems + [("traffic" if sc.traffic else "", f"nothing to simulate: {what}, and there"
                                         f" are no VPC flows, no provisioned concurrency, no worker fleets and"
                                         f" no event source mappings; add a traffic source")])
    if not sc.traffic and not flowing:
        problems.append(("traffic", f"no traffic: only the {', '.join(idle)} run (and are billed)"))
    elif sc.traffic and not sending:
        problems.append(("traffic", "no traffic source sends a request"))
    problems += _unreachable(sc)
    return [f"{p or '(top level)'}: {m}" for p, m in problems]


def print_warnings(warnings: List[str], stream=None) -> None:
    """One line per warning on `stream` (stderr), each also logged at INFO (the CLI's cloudtwin.log, not its terminal)."""
    import logging

    stream = sys.stderr if stream is None else stream
    log = logging.getLogger("cloudtwin")
    for w in warnings:
        print(f"cloudtwin: warning: {w}", file=stream)
        log.info("warning: %s", w)
