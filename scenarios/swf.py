"""Typed schema of Amazon SWF workflow types (`swf_workflows`) and their checks (pure data).

Semantics: `sim/integration/swf.py`. Traffic starts executions of a workflow type as
`target: swf_workflow:NAME` (each arrival is one StartWorkflowExecution).

**YAML** (`swf_workflows.NAME`):
```yaml
swf_workflows:
  approval:
    deciders: {workers: 2, decision_ms: {dist: fixed, value: 50}}
    activities:
      check_credit: {workers: 5, processing_ms: {dist: lognormal, median: 200, p99: 800},
                     failure_rate: 0.01, max_attempts: 3, schedule_to_close_s: 300}
    steps:
      - activity: check_credit
      - human: {delay_s: {dist: lognormal, median: 10800, p99: 43200}, timeout_s: 86400, on_timeout: fail}
      - timer_s: {dist: fixed, value: 60}
      - signal_s: {dist: exponential, mean: 30}
      - marker: approved
    execution_timeout_s: 604800
    retention_days: 7
```
Each step is exactly one of `activity` (an activity task of a type defined under
`activities`), `timer_s` (a timer of that length), `signal_s` (an external signal arriving that
long after the step starts; the execution waits for it), `human` (a human approval: a signal
after `delay_s`, raced by a timer of `timeout_s`; on the timeout the execution fails or goes
on, `on_timeout`), `marker` (RecordMarker, instantaneous).

Limits (sources): an execution runs at most one year, 31,536,000 s, a hard quota; timeouts are
given in seconds up to that year ("Amazon SWF Quotas": maximum workflow execution time 1 year;
"Setting timeout values": up to one year, 31,536,000 seconds); executionStartToCloseTimeout has
no NONE ("Starting workflows in Amazon SWF"). A domain retains closed executions 0 to 90 days
(RegisterDomain, workflowExecutionRetentionPeriodInDays: "The maximum workflow execution
retention period is 90 days"; 0 or NONE: not retained). Pollers per task list: at most 1,000
("Amazon SWF Quotas", quotas on task executions), the bound of `workers` here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from scenarios.addresses import missing
from scenarios.common import Dist
from scenarios.errors import Problems
from scenarios.yamlpath import index, key, num

# One year, SWF's hard limit on an execution and on every timeout (module docstring).
MAX_EXECUTION_S = 31_536_000.0
# RegisterDomain: retention 0-90 days (module docstring).
MAX_RETENTION_DAYS = 90
# Pollers per task list: 1,000 ("Amazon SWF Quotas"); a pool here is that task list's pollers.
MAX_WORKERS = 1000
# Attempts of one activity step: not an SWF quota (the decider decides); a simulator ceiling,
# far beyond use, that keeps a runaway retry loop out of a run.
MAX_ATTEMPTS = 100
ON_TIMEOUT = ("fail", "continue")
STEP_KINDS = ("activity", "timer_s", "signal_s", "human", "marker")


@dataclass
class Deciders:
    """The decider workers polling the workflow type's decision task list: how many, and how long
    one decision task takes once picked up (our assumption by default: 50 ms)."""

    workers: int = 1
    decision_ms: Dist = field(default_factory=lambda: Dist(dist="fixed", value=50.0))


@dataclass
class ActivityType:
    """An activity type's worker pool and behaviour: processing time once picked up, the share of
    attempts that fail (RespondActivityTaskFailed), the attempts the decider makes (1: no retry),
    and ScheduleToClose (None: NONE, no limit; an attempt not completed that long after it was
    scheduled times out, and counts as a failed attempt). Heartbeats are not simulated."""

    workers: int = 1
    processing_ms: Dist = field(default_factory=lambda: Dist(dist="fixed", value=1000.0))
    failure_rate: float = 0.0
    max_attempts: int = 1
    schedule_to_close_s: Optional[float] = None


@dataclass
class Human:
    """A human approval: its signal arrives `delay_s` after the step starts, unless the timer of
    `timeout_s` (None: no timer) fires first; then the execution fails or continues."""

    delay_s: Optional[Dist] = None  # required
    timeout_s: Optional[float] = None
    on_timeout: str = "fail"  # fail | continue


@dataclass
class Step:
    """One step of a workflow type: exactly one of its fields is set."""

    activity: Optional[str] = None  # an activity type's name
    timer_s: Optional[Dist] = None
    signal_s: Optional[Dist] = None
    human: Optional[Human] = None
    marker: Optional[str] = None  # the marker's name


@dataclass
class SwfWorkflow:
    """One workflow type: its deciders, activity types, steps, execution timeout and retention."""

    deciders: Deciders = field(default_factory=Deciders)
    activities: Dict[str, ActivityType] = field(default_factory=dict)
    steps: List[Step] = field(default_factory=list)
    # executionStartToCloseTimeout: SWF has no default and no NONE; at most (and by default here) one year
    execution_timeout_s: float = MAX_EXECUTION_S
    # the domain's retention of closed executions, billed per 24 h; RegisterDomain requires it and
    # has no default: 0 (not retained) is ours; 0-90 days
    retention_days: int = 0


def step_kind(step: Step) -> Optional[str]:
    """The kind of a checked step ('activity', 'timer_s', ...), None when it sets none."""
    return next((k for k in STEP_KINDS if getattr(step, k) is not None), None)


def _check_seconds(value: Optional[float], path: str, problems: Problems) -> None:
    if value is not None and not 0 < value <= MAX_EXECUTION_S:
        problems.add(path, f"{num(value)} must be above 0 and at most {num(MAX_EXECUTION_S)} s (one year, SWF's"
                           " limit on every timeout)")


def _check_workers(n: int, path: str, problems: Problems) -> None:
    if not 1 <= n <= MAX_WORKERS:
        problems.add(path, f"{n} must be 1-{MAX_WORKERS} (SWF allows at most 1,000 pollers per task list)")


def check_swf(s, problems: Problems) -> None:
    """Every problem of the SWF workflow types, at its YAML path (types and Dists are checked with
    the rest of the scenario)."""
    for name, wf in s.swf_workflows.items():
        path = key("swf_workflows", name)
        if not name or any(c in name for c in ":/| \t"):
            problems.add(path, "a workflow type's name must not be empty nor hold ':', '/', '|' or spaces")
        dpath = key(path, "deciders")
        _check_workers(wf.deciders.workers, key(dpath, "workers"), problems)
        for aname, act in wf.activities.items():
            apath = key(key(path, "activities"), aname)
            _check_workers(act.workers, key(apath, "workers"), problems)
            if not 0 <= act.failure_rate <= 1:
                problems.add(key(apath, "failure_rate"), f"{num(act.failure_rate)} must be 0-1 (a share of attempts)")
            if not 1 <= act.max_attempts <= MAX_ATTEMPTS:
                problems.add(key(apath, "max_attempts"), f"{act.max_attempts} must be 1-{MAX_ATTEMPTS} (attempts"
                                                         " including the first; 1: no retry)")
            _check_seconds(act.schedule_to_close_s, key(apath, "schedule_to_close_s"), problems)
        spath = key(path, "steps")
        if not wf.steps:
            problems.add(spath, "a workflow type needs at least one step, e.g. - activity: NAME")
        for i, step in enumerate(wf.steps):
            _check_step(wf, step, index(spath, i), problems)
        _check_seconds(wf.execution_timeout_s, key(path, "execution_timeout_s"), problems)
        if not 0 <= wf.retention_days <= MAX_RETENTION_DAYS:
            problems.add(key(path, "retention_days"), f"{wf.retention_days} must be 0-{MAX_RETENTION_DAYS} days"
                                                      " (RegisterDomain's limit; 0: not retained)")


def _check_step(wf: SwfWorkflow, step: Step, path: str, problems: Problems) -> None:
    kinds = [k for k in STEP_KINDS if getattr(step, k) is not None]
    if problems.has_broken_within(path):  # an unknown key or a wrong type there is reported already
        return
    if not kinds:
        problems.add(path, f"a step needs one of {', '.join(STEP_KINDS)}")
        return
    if len(kinds) > 1:
        problems.add(path, f"a step is exactly one of {', '.join(STEP_KINDS)}; this one sets {' and '.join(kinds)}")
        return
    kind = kinds[0]
    if kind == "activity":
        if step.activity not in wf.activities:
            problems.add(key(path, "activity"), missing("activity type", step.activity, wf.activities))
    elif kind == "marker":
        if not step.marker.strip():
            problems.add(key(path, "marker"), "a marker needs a name")
    elif kind == "human":
        hpath = key(path, "human")
        if step.human.delay_s is None:
            problems.add(key(hpath, "delay_s"), "a human step needs the delay of its signal, e.g. delay_s: {dist:"
                                                " lognormal, median: 10800, p99: 43200}")
        _check_seconds(step.human.timeout_s, key(hpath, "timeout_s"), problems)
        if step.human.on_timeout not in ON_TIMEOUT:
            problems.add(key(hpath, "on_timeout"), f"{step.human.on_timeout!r}; allowed: {', '.join(ON_TIMEOUT)}")
