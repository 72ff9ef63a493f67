"""Amazon SWF: executions of workflow types, their decision and activity tasks, timers and signals.

**Semantics** (Amazon SWF Developer Guide: "Basic workflow concepts", "Amazon SWF task lists",
"Setting timeout values"; the schema is scenarios/swf.py). Each traffic arrival at
`swf_workflow:NAME` is a StartWorkflowExecution, answered at once to its client; at that
instant the execution is open and its first decision task is scheduled.

- A decision task waits for a free decider worker of its workflow type, first come first
  served across the type's executions (the type's decision task list and its long-polling
  deciders; poll latency is not simulated), then takes `decision_ms`. The decision then does
  what the next step needs: ScheduleActivityTask, StartTimer, waits for a signal, or
  RecordMarker (instantaneous: the same decision goes on to the step after it); after the
  last step it is CompleteWorkflowExecution.
- An activity task waits for a free worker of its activity type (FCFS across executions),
  takes `processing_ms`, and fails with probability `failure_rate`. A failure (or a
  ScheduleToClose timeout, `schedule_to_close_s` from scheduling, queued or running) makes
  the next decision schedule the activity again, until `max_attempts` attempts; after the
  last one it is FailWorkflowExecution. A worker whose task timed out works on to its end
  (it learns of the timeout only when it responds) and is busy until then.
- A timer step fires after its delay (`timer_s`); a signal step completes when its signal
  arrives (`signal_s` after the step began); a human step completes at its signal
  (`delay_s`) unless its timer (`timeout_s`) fires first: then the execution fails, or goes on
  (`on_timeout: continue`); the later of the two is ignored (its signal is not counted).
- Every completion (activity completed, failed or timed out, timer fired, signal received)
  schedules one decision task. At most one thing is outstanding per execution (the steps
  run in sequence), so an execution never has two decision tasks.
- `execution_timeout_s` (executionStartToCloseTimeout) after its start an open execution is
  closed as timed out, whatever it waits for; its queued tasks are never handed out.

Counts per workflow type: executions started, completed, failed, timed out, open at the end
(started = completed + failed + timed_out + open_end); decision tasks and activity tasks
(attempts) scheduled, timers started, signals received, markers recorded; the
schedule-to-start waits of decision and activity tasks and the executions' durations
(log-linear histograms, kernels/histogram.py).

**How it runs.** SWF volumes are small (approvals and orders: thousands of executions a day,
a handful of events each), so the executions run in plain Python on one event heap for all
workflow types, inside `step(t0, t1)`, window by window: a window takes the arrivals with
t < t1 from the inbox (Inbox.take) and processes every event with time < t1, in the order
of the keys (time, class, a, b): arrivals are class 0 keyed by (port, request id), events
the loop makes are class 1 keyed by a counter in the order they were made. Since which
events exist and their order do not depend on where windows end, neither do the draws:
each comes from its own stream (sim.engine.rng, one per workflow type and purpose: decision
times, each activity type's processing times and failures, each step's delays), taken in
event order. A different `sim.window_s` gives the same numbers to the last bit
(tests/test_swf.py). An execution's timeout is put on the heap only if it falls within the
run, so the heap holds what can still happen before the end.

**Metrics** (namespace AWS/SWF, names as AWS's "Amazon SWF Metrics for CloudWatch"; time
metrics in ms, the mean over the tasks started in the period): per workflow type
(`WorkflowTypeName=NAME`) WorkflowsCompleted, WorkflowsFailed, WorkflowsTimedOut,
WorkflowStartToCloseTime (executions closed in the period), DecisionTasksCompleted, DecisionTaskScheduleToStartTime,
DecisionTaskStartToCloseTime; per activity type (`WorkflowTypeName=NAME,ActivityTypeName=A`)
ActivityTasksCompleted, ActivityTasksFailed, ActivityTaskScheduleToStartTime,
ActivityTaskStartToCloseTime, ScheduledActivityTasksTimedOutOnClose (timed out queued),
StartedActivityTasksTimedOutOnClose (timed out running). No WorkflowsStarted: we did not find a
count of started executions in AWS's list (only excerpts of the page were at hand); the
summary has it.

**Bill** (AmazonSWF; usage type names ours, the Cost and Usage Report's are not verified):
`WorkflowExecutions` per execution started; `Tasks` per activity task (every attempt), timer
started (a human step's timeout timer too, cancelled or not), signal received and marker
recorded; `DecisionTasks` per decision task scheduled, at the same price — our reading: SWF's
tasks are activity and decision tasks ("Amazon SWF Tasks" in the developer guide), while the
pricing page's worked example counts three tasks for a three-activity application, no
decision tasks; the two lines are apart so either reading can be read off the bill;
`WorkflowDays` per 24-hour period an execution is open or retained: the first 24 hours open
are free (aws.amazon.com/swf/pricing: "The first 24 hours of workflow execution are free";
the GovCloud page's example: an execution completing within 24 hours has no ongoing charge),
each further 24 hours is charged when it begins, if the execution is still open then (a
started period counts whole: our reading of "per 24-hour period"); a closed execution is
retained `retention_days` days, each charged when it begins, within the run. Charged in the
period where each begins.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from typing import Dict, List, Optional

import numpy as np

from kernels.histogram import N_BINS, hist_add_many
from scenarios.swf import step_kind
from sim.engine import Component, WiringError
from sim.engine.batch import Inbox
from sim.engine.distributions import sampler
from sim.engine.percentiles import hist_stats
from sim.engine.rng import ChunkStream, Draws, Uniforms, generator

DAY_S = 86_400.0
QUANTILES = (("p50", 0.5), ("p99", 0.99))
ENTRY_QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999))
# Per period and workflow type, counters `wc[p, w]` and sums of ms `ws[p, w]`.
(W_STARTED, W_COMPLETED, W_FAILED, W_TIMED_OUT, W_DECISIONS, W_DECISIONS_STARTED, W_DECISIONS_DONE, W_TIMERS,
 W_SIGNALS, W_MARKERS, W_DAYS_OPEN, W_DAYS_RETAINED) = range(12)
N_W = 12
WS_DECISION_WAIT, WS_DECISION_RUN, WS_EXECUTION = range(3)
N_WS = 3
# Per period and activity type (numbered across workflow types), `ac[p, a]` and `as_[p, a]`.
A_SCHEDULED, A_STARTED, A_COMPLETED, A_FAILED, A_TIMED_OUT_QUEUED, A_TIMED_OUT_RUNNING = range(6)
N_A = 6
AS_WAIT, AS_RUN = range(2)
N_AS = 2
# Event kinds (class 1: made by the loop).
EV_DECISION_DONE, EV_ACTIVITY_DONE, EV_ACTIVITY_TIMEOUT, EV_TIMER, EV_SIGNAL, EV_HUMAN_TIMEOUT, EV_TIMEOUT = range(7)
# How an execution ended (Execution.status).
OPEN, COMPLETED, FAILED, TIMED_OUT = range(4)
# What the last completion was, for the next decision (Execution.outcome).
OK, ACTIVITY_FAILED, HUMAN_TIMED_OUT = range(3)


class _Scalars(Draws):
    """A stream's draws one at a time, in the same order as `Draws.take`."""

    def next(self) -> float:
        if self.pos >= len(self.buf):
            self.buf, self.pos = self.stream.next_chunk(), 0
        v = self.buf[self.pos]
        self.pos += 1
        return float(v)


class _Stat:
    """A histogram with the exact sum, minimum and maximum beside it; values buffered per window."""

    def __init__(self) -> None:
        self.hist = np.zeros(N_BINS, np.int64)
        self.total, self.lo, self.hi = 0.0, math.inf, -math.inf
        self.buf: List[float] = []

    def flush(self) -> None:
        if self.buf:
            v = np.asarray(self.buf, np.float64)
            hist_add_many(self.hist, v)
            self.total = sum(self.buf, self.total)  # one by one, in event order: the same whatever the windows
            self.lo, self.hi = min(self.lo, float(v.min())), max(self.hi, float(v.max()))
            self.buf = []

    def stats(self) -> Optional[dict]:
        self.flush()
        if not self.hist.sum():
            return None
        return hist_stats(self.hist, self.total, self.lo, self.hi, *QUANTILES)


class _Pool:
    """Workers polling one task list: how many are free, and the tasks waiting, FCFS."""

    def __init__(self, workers: int):
        self.free = workers
        self.queue: deque = deque()  # (scheduled at, execution, its token then)


class _Execution:
    __slots__ = ("n", "w", "start", "pos", "attempt", "token", "status", "outcome", "running", "source")

    def __init__(self, n: int, w: int, start: float, source: int):
        self.n, self.w, self.start, self.source = n, w, start, source  # n: its number, in start order
        self.pos = -1  # the step it is at (-1: none yet)
        self.attempt = 0  # attempts of the current activity step
        self.token = 0  # bumped whenever what it waits for changes: events carrying an older one are stale
        self.status = OPEN
        self.outcome = OK
        self.running = False  # its current activity attempt has been handed to a worker


class SwfWorkflows(Component):
    """Every SWF workflow type of a scenario, on one event heap (module docstring)."""

    def __init__(self, sc, seed: int, t_end: float, period_s: float, base_dir=None):
        super().__init__("swf")
        self.inbox = Inbox()
        self.names = list(sc.swf_workflows)
        self.types = [sc.swf_workflows[n] for n in self.names]
        self.t_end, self.period_s = float(t_end), float(period_s)
        self.n_periods = max(1, int(math.ceil(t_end / period_s - 1e-9)))
        self.sources: List[tuple] = []  # per port: (label, workflow type, traffic source index)
        self.source_names = [tr.name for tr in sc.traffic]
        W = len(self.names)
        # activity types numbered across workflow types: act[w][name] -> global index
        self.act: List[Dict[str, int]] = []
        self.act_names: List[tuple] = []
        for w, wf in enumerate(self.types):
            self.act.append({a: len(self.act_names) + i for i, a in enumerate(wf.activities)})
            self.act_names += [(self.names[w], a) for a in wf.activities]
        A = len(self.act_names)
        self.wc = np.zeros((self.n_periods, max(W, 1), N_W), np.int64)
        self.ws = np.zeros((self.n_periods, max(W, 1), N_WS), np.float64)
        self.ac = np.zeros((self.n_periods, max(A, 1), N_A), np.int64)
        self.as_ = np.zeros((self.n_periods, max(A, 1), N_AS), np.float64)
        self.deciders = [_Pool(wf.deciders.workers) for wf in self.types]
        self.workers = [_Pool(wf.activities[a].workers) for wf in self.types for a in wf.activities]
        self.decision_wait = [_Stat() for _ in self.types]
        self.activity_wait = [_Stat() for _ in self.act_names]
        self.duration = [_Stat() for _ in self.types]  # execution start to close, s
        self.by_source: Dict[int, _Stat] = {}  # completion of each source's executions, ms

        def scalars(name: str, dist) -> _Scalars:
            return _Scalars(ChunkStream(generator(seed, f"swf.{name}"), sampler(dist, base_dir)))

        self.decision_ms = [scalars(f"{n}.decision_ms", wf.deciders.decision_ms) for n, wf in zip(self.names,
                                                                                                  self.types)]
        self.processing_ms, self.failures = [], []
        for w, wf in enumerate(self.types):
            for a, act in wf.activities.items():
                self.processing_ms.append(scalars(f"{self.names[w]}.{a}.processing_ms", act.processing_ms))
                self.failures.append(_Scalars(Uniforms(generator(seed, f"swf.{self.names[w]}.{a}.failures")).stream))
        # per workflow type and step: (kind, its delay's draws or None, the activity's global index or -1)
        self.steps: List[List[tuple]] = []
        for w, wf in enumerate(self.types):
            plan = []
            for i, st in enumerate(wf.steps):
                kind = step_kind(st)
                dist = {"timer_s": st.timer_s, "signal_s": st.signal_s,
                        "human": st.human.delay_s if st.human is not None else None}.get(kind)
                draws = scalars(f"{self.names[w]}.steps[{i}]", dist) if dist is not None else None
                plan.append((kind, draws, self.act[w].get(st.activity, -1) if kind == "activity" else -1, st))
            self.steps.append(plan)
        self.heap: List[tuple] = []
        self.seq = 0
        self.open: Dict[int, _Execution] = {}
        self.n_exec = 0
        self.closed_at: List[List[float]] = [[] for _ in self.types]  # close times (retention)
        self.received = 0

    # declare / connect ------------------------------------------------------------------
    def add_source(self, label: str, workflow: str, source: int) -> int:
        if source < 0:
            raise WiringError(f"{self.name}: {label} starts {workflow} but is no traffic source")
        self.sources.append((label, self.names.index(workflow), source))
        return len(self.sources) - 1

    # the loop ---------------------------------------------------------------------------
    def _period(self, t: float) -> int:
        return min(int(t / self.period_s), self.n_periods - 1)

    def _push(self, t: float, kind: int, ex: _Execution, arg: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, 1, self.seq, 0, kind, ex, ex.token, arg))

    def step(self, t0: float, t1: float) -> None:
        for port, batch, _ in self.inbox.take(t1):
            ports = port if isinstance(port, np.ndarray) else np.full(len(batch), port)
            for t, p, rid in zip(batch.t.tolist(), ports.tolist(), batch.id.tolist()):
                heapq.heappush(self.heap, (t, 0, p, rid, -1, None, 0, 0))
        heap = self.heap
        while heap and heap[0][0] < t1:
            t, cls, a, _, kind, ex, token, arg = heapq.heappop(heap)
            if cls == 0:
                self._start(t, a)
            elif kind == EV_DECISION_DONE:
                self._decision_done(t, ex, token)
            elif kind == EV_ACTIVITY_DONE:
                self._activity_done(t, ex, token, arg)
            elif kind == EV_TIMEOUT:
                if ex.status == OPEN:  # whatever it waits for
                    self._close(t, ex, TIMED_OUT)
            elif ex.token != token or ex.status != OPEN:
                continue  # stale: what it ends no longer waits for it
            elif kind == EV_ACTIVITY_TIMEOUT:
                col = A_TIMED_OUT_RUNNING if ex.running else A_TIMED_OUT_QUEUED
                self.ac[self._period(t), arg, col] += 1
                ex.outcome = ACTIVITY_FAILED
                self._schedule_decision(t, ex)
            elif kind in (EV_TIMER, EV_SIGNAL):
                if kind == EV_SIGNAL:
                    self.wc[self._period(t), ex.w, W_SIGNALS] += 1
                self._schedule_decision(t, ex)
            elif kind == EV_HUMAN_TIMEOUT:
                ex.outcome = HUMAN_TIMED_OUT
                self._schedule_decision(t, ex)
        for s in (*self.decision_wait, *self.activity_wait, *self.duration, *self.by_source.values()):
            s.flush()

    def _start(self, t: float, port: int) -> None:
        _, w, source = self.sources[port]
        self.received += 1
        ex = _Execution(self.n_exec, w, t, source)
        self.open[ex.n] = ex
        self.n_exec += 1
        self.wc[self._period(t), w, W_STARTED] += 1
        deadline = t + self.types[w].execution_timeout_s
        if deadline < self.t_end:
            self._push(deadline, EV_TIMEOUT, ex)
        self._schedule_decision(t, ex)

    def _schedule_decision(self, t: float, ex: _Execution) -> None:
        ex.token += 1
        self.wc[self._period(t), ex.w, W_DECISIONS] += 1
        self.deciders[ex.w].queue.append((t, ex, ex.token))
        self._dispatch_deciders(t, ex.w)

    def _dispatch_deciders(self, t: float, w: int) -> None:
        pool = self.deciders[w]
        while pool.free and pool.queue:
            t_s, ex, token = pool.queue.popleft()
            if ex.token != token or ex.status != OPEN:
                continue  # a closed execution's decision task is never handed out
            pool.free -= 1
            p = self._period(t)
            wait_ms = (t - t_s) * 1000.0
            run_ms = self.decision_ms[w].next()
            self.wc[p, w, W_DECISIONS_STARTED] += 1
            self.ws[p, w, WS_DECISION_WAIT] += wait_ms
            self.ws[p, w, WS_DECISION_RUN] += run_ms
            self.decision_wait[w].buf.append(wait_ms)
            self._push(t + run_ms / 1000.0, EV_DECISION_DONE, ex)

    def _decision_done(self, t: float, ex: _Execution, token: int) -> None:
        w = ex.w
        self.deciders[w].free += 1
        p = self._period(t)
        if ex.token == token and ex.status == OPEN:
            self.wc[p, w, W_DECISIONS_DONE] += 1
            self._decide(t, ex)
        self._dispatch_deciders(t, w)

    def _decide(self, t: float, ex: _Execution) -> None:
        """What the decider does after what just happened (module docstring)."""
        plan = self.steps[ex.w]
        if ex.outcome == ACTIVITY_FAILED:
            _, _, a, st = plan[ex.pos]
            if ex.attempt < self.types[ex.w].activities[st.activity].max_attempts:
                ex.attempt += 1
                self._schedule_activity(t, ex, a)
            else:
                self._close(t, ex, FAILED)
            return
        if ex.outcome == HUMAN_TIMED_OUT and plan[ex.pos][3].human.on_timeout == "fail":
            self._close(t, ex, FAILED)
            return
        k = ex.pos + 1
        while k < len(plan) and plan[k][0] == "marker":  # RecordMarker: in the same decision
            self.wc[self._period(t), ex.w, W_MARKERS] += 1
            k += 1
        if k == len(plan):
            self._close(t, ex, COMPLETED)
            return
        ex.pos, ex.outcome = k, OK
        kind, draws, a, st = plan[k]
        p = self._period(t)
        if kind == "activity":
            ex.attempt = 1
            self._schedule_activity(t, ex, a)
            return
        ex.token += 1  # a new wait
        if kind == "timer_s":
            self.wc[p, ex.w, W_TIMERS] += 1
            self._push(t + draws.next(), EV_TIMER, ex)
        elif kind == "signal_s":
            self._push(t + draws.next(), EV_SIGNAL, ex)
        else:  # human: its signal, raced by its timer
            self._push(t + draws.next(), EV_SIGNAL, ex)
            if st.human.timeout_s is not None:
                self.wc[p, ex.w, W_TIMERS] += 1
                self._push(t + st.human.timeout_s, EV_HUMAN_TIMEOUT, ex)

    def _schedule_activity(self, t: float, ex: _Execution, a: int) -> None:
        ex.token += 1
        ex.running = False
        self.ac[self._period(t), a, A_SCHEDULED] += 1
        self.workers[a].queue.append((t, ex, ex.token))
        stc = self.types[ex.w].activities[self.act_names[a][1]].schedule_to_close_s
        if stc is not None:
            self._push(t + stc, EV_ACTIVITY_TIMEOUT, ex, a)
        self._dispatch_workers(t, a)

    def _dispatch_workers(self, t: float, a: int) -> None:
        pool = self.workers[a]
        while pool.free and pool.queue:
            t_s, ex, token = pool.queue.popleft()
            if ex.token != token or ex.status != OPEN:
                continue  # timed out, or its execution closed: never handed out
            pool.free -= 1
            ex.running = True
            p = self._period(t)
            wait_ms = (t - t_s) * 1000.0
            run_ms = self.processing_ms[a].next()
            failed = self.failures[a].next() < self.types[ex.w].activities[self.act_names[a][1]].failure_rate
            self.ac[p, a, A_STARTED] += 1
            self.as_[p, a, AS_WAIT] += wait_ms
            self.as_[p, a, AS_RUN] += run_ms
            self.activity_wait[a].buf.append(wait_ms)
            self._push(t + run_ms / 1000.0, EV_ACTIVITY_DONE, ex, a * 2 + int(failed))

    def _activity_done(self, t: float, ex: _Execution, token: int, arg: int) -> None:
        a, failed = divmod(arg, 2)
        self.workers[a].free += 1
        if ex.token == token and ex.status == OPEN:
            p = self._period(t)
            self.ac[p, a, A_FAILED if failed else A_COMPLETED] += 1
            ex.outcome = ACTIVITY_FAILED if failed else OK
            self._schedule_decision(t, ex)
        self._dispatch_workers(t, a)

    def _close(self, t: float, ex: _Execution, how: int) -> None:
        ex.status = how
        ex.token += 1
        p = self._period(t)
        col = {COMPLETED: W_COMPLETED, FAILED: W_FAILED, TIMED_OUT: W_TIMED_OUT}[how]
        self.wc[p, ex.w, col] += 1
        dur_s = t - ex.start
        self.ws[p, ex.w, WS_EXECUTION] += dur_s * 1000.0
        self.duration[ex.w].buf.append(dur_s)
        self.by_source.setdefault(ex.source, _Stat()).buf.append(dur_s * 1000.0)
        self._open_days(ex.w, ex.start, t)
        self.closed_at[ex.w].append(t)
        del self.open[ex.n]

    def _open_days(self, w: int, start: float, end: float) -> None:
        """The 24-hour periods after the first (free) that begin while the execution is open, before `end`."""
        k = 1
        while start + k * DAY_S < end:
            self.wc[self._period(start + k * DAY_S), w, W_DAYS_OPEN] += 1
            k += 1

    def finalize(self, t_end: float) -> None:
        for ex in self.open.values():  # still open: the periods begun so far
            self._open_days(ex.w, ex.start, t_end)
        for w, wf in enumerate(self.types):  # retention: each 24 h of it that begins within the run
            closes = np.asarray(self.closed_at[w], np.float64)
            for j in range(wf.retention_days):
                t = closes + j * DAY_S
                t = t[t < t_end]
                np.add.at(self.wc[:, w, W_DAYS_RETAINED], np.minimum((t / self.period_s).astype(np.int64),
                                                                     self.n_periods - 1), 1)

    def requests_simulated(self) -> int:
        return self.received

    # outputs ----------------------------------------------------------------------------
    def summary(self) -> Dict[str, dict]:
        """summary.json's `swf_workflows`: per workflow type, its executions and what became of
        them (started = completed + failed + timed_out + open_end), its tasks, timers, signals
        and markers, the waits of its tasks (ms) and its executions' durations (s)."""
        wc = self.wc.sum(axis=0)
        ac = self.ac.sum(axis=0)
        out: Dict[str, dict] = {}
        for w, name in enumerate(self.names):
            c = wc[w]
            closed = int(c[W_COMPLETED] + c[W_FAILED] + c[W_TIMED_OUT])
            acts = {}
            for a_name, a in self.act[w].items():
                x = ac[a]
                acts[a_name] = {"tasks": int(x[A_SCHEDULED]), "completed": int(x[A_COMPLETED]),
                                "failed": int(x[A_FAILED]),
                                "timed_out": int(x[A_TIMED_OUT_QUEUED] + x[A_TIMED_OUT_RUNNING]),
                                "wait_ms": self.activity_wait[a].stats()}
            waits = _Stat()  # every activity type's waits together
            for a in self.act[w].values():
                st = self.activity_wait[a]
                st.flush()
                waits.hist += st.hist
                waits.total += st.total
                waits.lo, waits.hi = min(waits.lo, st.lo), max(waits.hi, st.hi)
            out[name] = {
                "started": int(c[W_STARTED]),
                "completed": int(c[W_COMPLETED]),
                "failed": int(c[W_FAILED]),
                "timed_out": int(c[W_TIMED_OUT]),
                "open_end": int(c[W_STARTED]) - closed,
                "decision_tasks": int(c[W_DECISIONS]),
                "activity_tasks": int(sum(ac[a, A_SCHEDULED] for a in self.act[w].values())),
                "activity_tasks_failed": int(sum(ac[a, A_FAILED] for a in self.act[w].values())),
                "activity_tasks_timed_out": int(sum(ac[a, A_TIMED_OUT_QUEUED] + ac[a, A_TIMED_OUT_RUNNING]
                                                    for a in self.act[w].values())),
                "timers": int(c[W_TIMERS]),
                "signals": int(c[W_SIGNALS]),
                "markers": int(c[W_MARKERS]),
                "decision_wait_ms": self.decision_wait[w].stats(),
                "activity_wait_ms": waits.stats(),
                "execution_time_s": self.duration[w].stats(),
                "workflow_days_open": int(c[W_DAYS_OPEN]),
                "workflow_days_retained": int(c[W_DAYS_RETAINED]),
                "activities": acts,
            }
        return out

    def summary_sections(self) -> dict:
        return {"swf_workflows": self.summary()} if self.names else {}

    def entry_points(self) -> Dict[str, dict]:
        """Per traffic source: its StartWorkflowExecution calls, each answered at once (latency 0),
        and the time to each execution's close (`completion_ms`; still open at the end: in flight)."""
        out: Dict[str, dict] = {}
        started: Dict[int, int] = {}
        for ex_source in (e.source for e in self.open.values()):
            started[ex_source] = started.get(ex_source, 0) + 1
        for _, _, source in self.sources:
            st = self.by_source.get(source)
            n = (int(st.hist.sum()) if st is not None else 0) + started.get(source, 0)
            completion = None
            if st is not None and st.stats() is not None:
                full = hist_stats(st.hist, st.total, st.lo, st.hi, *ENTRY_QUANTILES)
                completion = {k: full[k] for k in ("mean", "p50", "p90", "p99", "p999", "max")}
            zero = {k: 0.0 for k in ("mean", "p50", "p90", "p99", "p999", "max")}
            out[self.source_names[source]] = {"requests": n, "succeeded": n, "failed": 0, "throttled": 0,
                                              "in_flight_end": 0, "latency_ms": zero if n else None,
                                              "completion_ms": completion}
        return out

    def metrics(self):
        """AWS/SWF per period (module docstring)."""
        import polars as pl

        time_s = np.arange(self.n_periods) * self.period_s
        frames = []

        def mean(total, n):
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(n > 0, total / np.maximum(n, 1), np.nan)

        for w, name in enumerate(self.names):
            c, s = self.wc[:, w].astype(np.float64), self.ws[:, w]
            closed = c[:, W_COMPLETED] + c[:, W_FAILED] + c[:, W_TIMED_OUT]
            series = [("WorkflowsCompleted", c[:, W_COMPLETED]), ("WorkflowsFailed", c[:, W_FAILED]),
                      ("WorkflowsTimedOut", c[:, W_TIMED_OUT]),
                      ("WorkflowStartToCloseTime", mean(s[:, WS_EXECUTION], closed)),
                      ("DecisionTasksCompleted", c[:, W_DECISIONS_DONE]),
                      ("DecisionTaskScheduleToStartTime", mean(s[:, WS_DECISION_WAIT], c[:, W_DECISIONS_STARTED])),
                      ("DecisionTaskStartToCloseTime", mean(s[:, WS_DECISION_RUN], c[:, W_DECISIONS_STARTED]))]
            for metric, v in series:
                frames.append(pl.DataFrame({"time_s": time_s, "namespace": "AWS/SWF", "metric": metric,
                                            "dimension": f"WorkflowTypeName={name}", "value": v}))
            for a_name, a in self.act[w].items():
                x, y = self.ac[:, a].astype(np.float64), self.as_[:, a]
                series = [("ActivityTasksCompleted", x[:, A_COMPLETED]), ("ActivityTasksFailed", x[:, A_FAILED]),
                          ("ActivityTaskScheduleToStartTime", mean(y[:, AS_WAIT], x[:, A_STARTED])),
                          ("ActivityTaskStartToCloseTime", mean(y[:, AS_RUN], x[:, A_STARTED])),
                          ("ScheduledActivityTasksTimedOutOnClose", x[:, A_TIMED_OUT_QUEUED]),
                          ("StartedActivityTasksTimedOutOnClose", x[:, A_TIMED_OUT_RUNNING])]
                for metric, v in series:
                    frames.append(pl.DataFrame({"time_s": time_s, "namespace": "AWS/SWF", "metric": metric,
                                                "dimension": f"WorkflowTypeName={name},ActivityTypeName={a_name}",
                                                "value": v}))
        return pl.concat(frames) if frames else None

    def usage(self):
        """(whole run, per period) Usage of AmazonSWF (module docstring)."""
        from sim.billing.meters import MeterTable

        table = MeterTable("AmazonSWF", [f"swf_workflow:{n}" for n in self.names], self.n_periods, self.period_s)
        W = len(self.names)
        acts = np.zeros((self.n_periods, W), np.int64)
        for w in range(W):
            for a in self.act[w].values():
                acts[:, w] += self.ac[:, a, A_SCHEDULED]
        c = self.wc[:, :W]
        table.declare("WorkflowExecutions", "Executions")[:] = c[:, :, W_STARTED]
        table.declare("Tasks", "Tasks")[:] = acts + c[:, :, W_TIMERS] + c[:, :, W_SIGNALS] + c[:, :, W_MARKERS]
        table.declare("DecisionTasks", "Tasks")[:] = c[:, :, W_DECISIONS]
        table.declare("WorkflowDays", "Workflow-Days")[:] = c[:, :, W_DAYS_OPEN] + c[:, :, W_DAYS_RETAINED]
        return table.usage()
