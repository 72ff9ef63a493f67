"""Plain-Python twin of `kernels.fargate`: an ECS service on Fargate behind its load balancer,
written from the kernel's docstring with readable structures.

One pass over the whole run (the kernel's answers do not depend on where a run is cut into
windows; the window ends are only used to say in which window each answer is written):
- a `heapq` of events (time, kind, sequence, payload): kinds in the docstring's order at one
  instant (DEPART, READY, WARN, STOP, LAUNCH, TICK, EXPIRE), then the order they were scheduled in
  (one sequence for all kinds, as the kernel's counter); the next request is taken after
  every event at or before its time;
- a `collections.deque` for the load balancer's one FCFS line: [id, arrival, service time,
  answered] (answered: its 504 was given at its deadline while it waited; it stays in the line);
- a list of `Task` objects (state, times, Spot and Outpost flags); the counts the rules need
  (running, launching, active on-demand and Spot, Outpost slots held, running on the Outpost)
  are counted from the list every time they are needed; launches owed and launches waiting
  for an Outpost slot are two counts;
- the requests in service as a dict: request number -> on the Outpost (busy = its size);
- the autoscaler as a small class (`Autoscaler`): the minute's sums, the two alarms'
  runs of datapoints, the cooldowns and the decision at a tick.

Events that became moot stay in the heap and are popped as no-ops, as the kernel's are: a
launch timer whose owed launches were cancelled, the READY of a task stopped while it was
launching, the WARN of a Spot task no longer running, an EXPIRE whose request started. They
matter: the integrals are accrued at every event popped, and where a sum is cut changes its
last bits. So the expiries are scheduled as the kernel's are (the docstring: "one event at
the first waiting request's deadline serves"): one EXPIRE pending at a time, set when a
request joins the line and none is pending, at the deadline (arrival + SF_IDLE_S) of the
line's first request not yet answered; at it, every waiting request whose deadline has come
is answered 504 (in the line's order) and the next one is set; one made moot by a start (its
request left the line) answers nobody and sets the next. A twin with one EXPIRE per waiting
request gives the same answers and counts but accrues at other times (last bits).

**Written to match the kernel's float order** (the rest needs no care):
- `_accrue`: the integrals accrued at every event and request from the last accrual time,
  split at period boundaries with the kernel's loop and its float-rounding guard, the
  minute's sums added as `count * (t - t0)`;
- the datapoint: `100.0 * SF_SLOT_CPU * busy_s / run_s`, `requests / (run_s / SF_TICK_S)`;
  its period `_period(t - 0.5 * SF_TICK_S)`;
- the scaling: `ceil(base * x / SF_TARGET - CEIL_EPS)`;
- times: the warning `ready + (-log1p(-u) / rate)` (the same bits as the kernel's
  `ready - log1p(-u) / rate`), departures `start + s`, the next tick `t + SF_TICK_S` (added
  tick after tick, not k × SF_TICK_S), a timeout's answer and deadline `arrival + SF_IDLE_S`,
  decided at the start by `(start - arrival) + s + link > SF_IDLE_S`, an answer `start + s +
  link` (link: 0.0 on the Outpost or with no Outpost, SF_LINK_S in the Region), the Spot choice
  `spot / w_spot < (od - base) / w_od`.

**Readings of the docstring** where it leaves a choice (the kernel makes the same ones):
- a Spot task's replacement is owed at once at its warning and launched by the scheduler
  like any launch: at once if no launch was made in the last SF_LAUNCH_GAP_S and none is
  owed before it, else paced;
- both Spot weights 0: on-demand;
- PM_DATAPOINT of a period is the datapoint of the last minute whose middle lies in it (NaN
  when missing), 0 in a period holding no minute's middle;
- PM_LINE_MAX: the line's length after each join, and its length over every stretch between
  two accruals stamped into the periods the stretch covers (the line as a right-continuous
  function of time: at a period's first instant it is the length after that instant's events);
- PM_IN_REGION counted by the start's period (as waits), PM_UNPLACED by the launch's;
  PM_OUTPOST_TASK_S integrates RUNNING Outpost tasks (as PM_RUNNING_S: not launching, not
  draining);
- launches are counts, not queued identities: a launch released by a freed Outpost slot joins
  the owed ones, and the next launch made takes the slot (`overflow: refuse`: a launch event
  that finds no slot moves one owed launch to the waiting ones, counted PM_UNPLACED each time).

The initial tasks that find no Outpost slot under `overflow: refuse` count PM_UNPLACED at
t = 0, and the Spot strategy's base and weights count the Region's tasks only (the Outpost's
are not Fargate's), as the kernel's docstring says (an earlier kernel differed on both).

Starts (SI_RECORD_STARTS): every request's start of service, `(id, start, service time)` in
the order they happen, a request answered 504 while it waited included (`Result.starts`).
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from kernels.fargate import (
    CEIL_EPS, EV_DEPART, EV_EXPIRE, EV_LAUNCH, EV_READY, EV_STOP, EV_TICK, EV_WARN, METRIC_CPU, METRIC_NONE,
    N_PM, NO_OUTPOST, OVERFLOW_REFUSE, PM_BUSY_S, PM_DATAPOINT, PM_DESIRED_S, PM_IN_REGION, PM_LAUNCHES,
    PM_LAUNCHING_S, PM_LINE_MAX, PM_NO_TARGETS, PM_OK, PM_OUTPOST_TASK_S, PM_REFUSED, PM_REQUESTS, PM_RUNNING_S,
    PM_SCALE_INS, PM_SCALE_OUTS, PM_STARTED, PM_STOPS, PM_TIMEOUT, PM_UNPLACED, PM_WAIT_S, PM_WARNINGS,
    SF_DEREG_S, SF_IDLE_S, SF_IN_COOLDOWN_S, SF_IN_RATIO, SF_LAUNCH_GAP_S, SF_LINK_S, SF_OD_WEIGHT,
    SF_OUT_COOLDOWN_S, SF_PERIOD_S, SF_SLOT_CPU, SF_SPOT_RATE_PER_S, SF_SPOT_WARNING_S, SF_SPOT_WEIGHT,
    SF_TARGET, SF_TICK_S, SI_BACKLOG, SI_CONC, SI_DESIRED0, SI_IN_POINTS, SI_MAX, SI_METRIC, SI_MIN,
    SI_OUT_POINTS, SI_OUTPOST_SLOTS, SI_OVERFLOW, SI_SPOT_BASE, ST_NO_TARGETS, ST_OK, ST_REFUSED, ST_TIMEOUT,
    TS_DRAINING, TS_LAUNCHING, TS_RUNNING, TS_STOPPED,
)

INF = math.inf


@dataclass
class Task:
    launch: float
    spot: bool
    outpost: bool = False  # on the Outpost: holds one of its slots until it stops
    state: int = TS_LAUNCHING
    ready: float = INF
    stop: float = INF
    warned: float = INF  # the warning's time, once given

    @property
    def active(self) -> bool:
        return self.state in (TS_LAUNCHING, TS_RUNNING)


class Autoscaler:
    """Target tracking: the minute's sums, the alarms' runs of datapoints, the cooldowns."""

    def __init__(self, si, sf):
        self.metric = int(si[SI_METRIC])
        self.out_points, self.in_points = int(si[SI_OUT_POINTS]), int(si[SI_IN_POINTS])
        self.lo, self.hi = int(si[SI_MIN]), int(si[SI_MAX])
        self.target, self.in_ratio = float(sf[SF_TARGET]), float(sf[SF_IN_RATIO])
        self.out_cool, self.in_cool = float(sf[SF_OUT_COOLDOWN_S]), float(sf[SF_IN_COOLDOWN_S])
        self.slot_cpu, self.tick_s = float(sf[SF_SLOT_CPU]), float(sf[SF_TICK_S])
        self.busy_s = 0.0  # the minute's busy slot-seconds
        self.run_s = 0.0  # the minute's running task-seconds
        self.requests = 0  # requests arrived in the minute
        self.high_run = 0  # consecutive datapoints above the target
        self.low_run = 0  # consecutive datapoints below in_ratio × target
        self.out_until = -INF
        self.in_until = -INF
        self.base_before = 0

    def datapoint(self):
        """The minute's datapoint (None when no task ran), and a fresh minute."""
        x = None
        if self.run_s > 0.0:
            if self.metric == METRIC_CPU:
                x = 100.0 * self.slot_cpu * self.busy_s / self.run_s
            else:
                x = self.requests / (self.run_s / self.tick_s)
        self.busy_s, self.run_s, self.requests = 0.0, 0.0, 0
        return x

    def decide(self, t, x, desired):
        """('out' | 'in', new desired) or None, after the datapoint x at the tick t."""
        self.high_run = self.high_run + 1 if x is not None and x > self.target else 0
        self.low_run = self.low_run + 1 if x is not None and x < self.in_ratio * self.target else 0
        if self.high_run >= self.out_points:
            cooling = t < self.out_until
            base = self.base_before if cooling else desired
            new = min(self.hi, math.ceil(base * x / self.target - CEIL_EPS))
            if new > desired:
                if not cooling:
                    self.base_before = desired
                    self.out_until = t + self.out_cool
                self.in_until = min(self.in_until, t)  # a scale-out ends a scale-in cooldown
                return "out", new
        elif self.low_run >= self.in_points and t >= self.in_until:
            new = max(self.lo, math.ceil(desired * x / self.target - CEIL_EPS))
            if new < desired:
                self.in_until = t + self.in_cool
                return "in", new
        return None


@dataclass
class Result:
    answers: list  # (id, answer time, status) in the order written
    answer_window: list  # the window each answer is written in
    tasks: list  # Task objects by launch number
    pm: np.ndarray
    t_i: np.ndarray = field(default=None)  # (n, 3): state, spot, Outpost, as the kernel's tk_i
    t_f: np.ndarray = field(default=None)  # (n, 4): launch, ready, stop, warning, as tk_f
    written: list = field(default=None)  # the time each answer is written (its event's or request's)
    starts: list = field(default=None)  # (id, start, service time) of each start, in order


class _Service:
    def __init__(self, si, sf, startup_s, spot_u, n_periods):
        self.si, self.sf = si, sf
        self.conc, self.backlog = int(si[SI_CONC]), int(si[SI_BACKLOG])
        self.spot_base = int(si[SI_SPOT_BASE])
        self.startup_s, self.spot_u = startup_s, spot_u
        self.starts = []
        self.heap = []
        self.seq = 0
        self.line = deque()  # [request number, id, arrival, service time, answered]
        self.in_service = {}  # request number holding a slot -> on the Outpost
        self.tasks: list[Task] = []
        self.desired = 0
        self.owed = 0  # launches owed
        self.waiting = 0  # launches waiting for an Outpost slot (`overflow: refuse`)
        self.on_outpost = int(si[SI_OUTPOST_SLOTS]) != NO_OUTPOST
        self.outpost_slots = int(si[SI_OUTPOST_SLOTS])
        self.refuse = int(si[SI_OVERFLOW]) == OVERFLOW_REFUSE
        self.expiry_set = False  # an EXPIRE is pending
        self.timer_set = False  # a launch event is pending
        self.next_launch = 0.0
        self.scaler = Autoscaler(si, sf)
        self.pm = np.zeros((n_periods, N_PM))
        self.last = 0.0  # last accrual time
        self.answers = []
        self.answer_at = []  # the time of the event or request that wrote each answer
        self.now = 0.0

    # --- counts, from the task list ---
    def count(self, state):
        return sum(1 for k in self.tasks if k.state == state)

    @property
    def running(self):
        return self.count(TS_RUNNING)

    @property
    def launching(self):
        return self.count(TS_LAUNCHING)

    @property
    def busy(self):
        return len(self.in_service)

    @property
    def busy_outpost(self):
        return sum(1 for out in self.in_service.values() if out)

    @property
    def running_outpost(self):
        return sum(1 for k in self.tasks if k.outpost and k.state == TS_RUNNING)

    def slot_free(self):
        """An Outpost task slot free (a task holds its slot until it stops)."""
        held = sum(1 for k in self.tasks if k.outpost and k.state != TS_STOPPED)
        return held < self.outpost_slots

    def period(self, t):
        p = int(t / self.sf[SF_PERIOD_S])
        return min(max(p, 0), self.pm.shape[0] - 1)

    def push(self, t, kind, payload=None):
        heapq.heappush(self.heap, (t, kind, self.seq, payload))
        self.seq += 1

    # --- integrals (kernel float order) ---
    def accrue(self, t):
        t0 = self.last
        if t <= t0:
            return
        busy, run, launching, run_out = self.busy, self.running, self.launching, self.running_outpost
        self.scaler.busy_s += busy * (t - t0)
        self.scaler.run_s += run * (t - t0)
        per = self.sf[SF_PERIOD_S]
        last_p = self.pm.shape[0] - 1
        a = t0
        while a < t:
            p = self.period(a)
            b = t if p == last_p else min(t, (p + 1) * per)
            if b <= a:  # float rounding at a boundary
                b = min(t, (p + 1) * per + per * 1e-12)
            dt = b - a
            self.pm[p, PM_BUSY_S] += busy * dt
            self.pm[p, PM_RUNNING_S] += run * dt
            self.pm[p, PM_LAUNCHING_S] += launching * dt
            self.pm[p, PM_DESIRED_S] += self.desired * dt
            self.pm[p, PM_OUTPOST_TASK_S] += run_out * dt
            self.pm[p, PM_LINE_MAX] = max(self.pm[p, PM_LINE_MAX], len(self.line))  # the line carried
            a = b
        self.last = t

    # --- requests ---
    def answer(self, g, t, status):
        self.answers.append((g, t, status))
        self.answer_at.append(self.now)

    def start(self, t, r, g, ta, s, answered=False):
        """Request r takes a slot at t: an Outpost task's if one is free, else a Region task's
        (its answer then crosses the service link)."""
        out = self.busy_outpost < self.running_outpost * self.conc
        self.in_service[r] = out
        self.starts.append((g, t, s))
        self.push(t + s, EV_DEPART, r)
        p = self.period(t)
        link = 0.0
        if self.on_outpost and not out:
            link = self.sf[SF_LINK_S]
            self.pm[p, PM_IN_REGION] += 1
        self.pm[p, PM_WAIT_S] += t - ta
        self.pm[p, PM_STARTED] += 1
        if answered:  # its 504 was given at its deadline
            return
        idle = self.sf[SF_IDLE_S]
        if (t - ta) + s + link > idle:
            self.pm[self.period(ta), PM_TIMEOUT] += 1
            self.answer(g, ta + idle, ST_TIMEOUT)
        else:
            self.pm[self.period(ta), PM_OK] += 1
            self.answer(g, t + s + link, ST_OK)

    def dispatch(self, t):
        while self.busy < self.running * self.conc and self.line:
            self.start(t, *self.line.popleft())

    def arm_expiry(self):
        """One EXPIRE pending: at the deadline of the line's first request not yet answered."""
        if self.expiry_set:
            return
        first = next((e for e in self.line if not e[4]), None)
        if first is not None:
            self.expiry_set = True
            self.push(first[2] + self.sf[SF_IDLE_S], EV_EXPIRE)

    def expire(self, t):
        """The waiting requests whose deadline has come get their 504 now; they stay in the line."""
        self.expiry_set = False
        idle = self.sf[SF_IDLE_S]
        for e in self.line:
            if e[4]:
                continue
            _, g, ta, _, _ = e
            if ta + idle > t:
                break
            self.pm[self.period(ta), PM_TIMEOUT] += 1
            self.answer(g, ta + idle, ST_TIMEOUT)
            e[4] = True
        self.arm_expiry()

    def arrive(self, r, g, ta, s):
        p = self.period(ta)
        self.pm[p, PM_REQUESTS] += 1
        self.scaler.requests += 1
        running = self.running
        if running == 0:
            self.pm[p, PM_NO_TARGETS] += 1
            self.answer(g, ta, ST_NO_TARGETS)
        elif self.busy < running * self.conc:
            self.start(ta, r, g, ta, s)
        elif len(self.line) < running * self.backlog:
            self.line.append([r, g, ta, s, False])
            self.pm[p, PM_LINE_MAX] = max(self.pm[p, PM_LINE_MAX], len(self.line))
            self.arm_expiry()
        else:
            self.pm[p, PM_REFUSED] += 1
            self.answer(g, ta, ST_REFUSED)

    # --- tasks ---
    def choose_spot(self):
        """The Fargate strategy (for a task in the Region)."""
        od = sum(1 for k in self.tasks if k.active and not k.spot and not k.outpost)
        sp = sum(1 for k in self.tasks if k.active and k.spot)
        if od < self.spot_base:
            return False
        wo, ws = self.sf[SF_OD_WEIGHT], self.sf[SF_SPOT_WEIGHT]
        if ws <= 0.0:
            return False
        if wo <= 0.0:
            return True
        return sp / ws < (od - self.spot_base) / wo  # on-demand on ties

    def draw_warning(self, t, k):
        rate = self.sf[SF_SPOT_RATE_PER_S]
        if self.tasks[k].spot and rate > 0.0:
            self.push(t + (-math.log1p(-self.spot_u[k]) / rate), EV_WARN, k)

    def arm_launch(self, t):
        if self.owed > 0 and not self.timer_set:
            self.timer_set = True
            self.push(max(t, self.next_launch), EV_LAUNCH)

    def stopped(self, t, task):
        """A task stops: its Outpost slot, if it held one, goes to a waiting launch."""
        task.state, task.stop = TS_STOPPED, t
        self.pm[self.period(t), PM_STOPS] += 1
        if task.outpost and self.waiting > 0:
            self.waiting -= 1
            self.owed += 1
            self.arm_launch(t)

    def launch(self, t, outpost):
        k = len(self.tasks)
        self.tasks.append(Task(launch=t, spot=not outpost and self.choose_spot(), outpost=outpost))
        self.pm[self.period(t), PM_LAUNCHES] += 1
        self.push(t + self.startup_s[k], EV_READY, k)
        self.next_launch = t + self.sf[SF_LAUNCH_GAP_S]

    def leave(self, t, k, drain_s):
        task = self.tasks[k]
        if task.state == TS_LAUNCHING:
            self.stopped(t, task)
        else:
            task.state = TS_DRAINING
            self.push(t + drain_s, EV_STOP, k)

    def set_desired(self, t, new):
        self.desired = new
        active = self.launching + self.running + self.owed + self.waiting
        if new > active:
            self.owed += new - active
            self.arm_launch(t)
            return
        excess = active - new
        cancel = min(excess, self.waiting)  # launches waiting for an Outpost slot first
        self.waiting -= cancel
        excess -= cancel
        cancel = min(excess, self.owed)
        self.owed -= cancel
        excess -= cancel
        for state, drain in ((TS_LAUNCHING, 0.0), (TS_RUNNING, self.sf[SF_DEREG_S])):
            for k in reversed(range(len(self.tasks))):  # newest first
                if excess > 0 and self.tasks[k].state == state:
                    self.leave(t, k, drain)
                    excess -= 1

    # --- events ---
    def on_event(self, t, kind, payload):
        if kind == EV_DEPART:
            del self.in_service[payload]
            self.dispatch(t)
        elif kind == EV_READY:
            task = self.tasks[payload]
            if task.state == TS_LAUNCHING:
                task.state, task.ready = TS_RUNNING, t
                self.draw_warning(t, payload)
                self.dispatch(t)
        elif kind == EV_WARN:
            task = self.tasks[payload]
            if task.state == TS_RUNNING:
                task.warned = t
                self.pm[self.period(t), PM_WARNINGS] += 1
                self.leave(t, payload, self.sf[SF_SPOT_WARNING_S])
                self.owed += 1  # the replacement (desired unchanged)
                self.arm_launch(t)
        elif kind == EV_STOP:
            self.stopped(t, self.tasks[payload])
        elif kind == EV_LAUNCH:
            self.timer_set = False
            if self.owed > 0:
                self.owed -= 1
                if self.on_outpost and self.slot_free():
                    self.launch(t, outpost=True)
                elif self.on_outpost and self.refuse:  # not placed: it waits for a slot
                    self.waiting += 1
                    self.pm[self.period(t), PM_UNPLACED] += 1
                else:
                    self.launch(t, outpost=False)
                self.arm_launch(t)
        elif kind == EV_EXPIRE:
            self.expire(t)
        else:  # EV_TICK
            x = self.scaler.datapoint()
            self.pm[self.period(t - 0.5 * self.sf[SF_TICK_S]), PM_DATAPOINT] = np.nan if x is None else x
            decision = self.scaler.decide(t, x, self.desired)
            if decision is not None:
                what, new = decision
                self.pm[self.period(t), PM_SCALE_OUTS if what == "out" else PM_SCALE_INS] += 1
                self.set_desired(t, new)
            self.push(t + self.sf[SF_TICK_S], EV_TICK)

    def begin(self):
        n0 = int(self.si[SI_DESIRED0])
        self.desired = n0
        for _ in range(n0):
            outpost = self.on_outpost and self.slot_free()
            if self.on_outpost and not outpost and self.refuse:  # waits for a slot
                self.waiting += 1
                self.pm[0, PM_UNPLACED] += 1
                continue
            spot = not outpost and self.choose_spot()
            self.tasks.append(Task(launch=0.0, spot=spot, outpost=outpost, state=TS_RUNNING, ready=0.0))
        if int(self.si[SI_METRIC]) != METRIC_NONE:
            self.push(self.sf[SF_TICK_S], EV_TICK)
        for k in range(len(self.tasks)):
            self.draw_warning(0.0, k)


def serve_ref(t_arr, svc_s, g_arr, si, sf, startup_s, spot_u, window_ends, n_periods):
    """The whole run: requests (times ascending, service times, ids), the start-up and Spot
    draws by launch number, parameters, the windows' ends (the last one is the run's end) and
    the number of periods. Returns a `Result`: the answers in the kernel's order with the
    window each is written in, the tasks, and the per-period counters."""
    t_end = float(window_ends[-1])
    sv = _Service(si, sf, startup_s, spot_u, n_periods)
    sv.begin()
    n = len(t_arr)
    i = 0
    while True:
        te = sv.heap[0][0] if sv.heap else INF
        ta = float(t_arr[i]) if i < n else INF
        if te <= ta and te < t_end:
            t, kind, _, payload = heapq.heappop(sv.heap)
            sv.now = t
            sv.accrue(t)
            sv.on_event(t, kind, payload)
        elif ta < t_end:
            sv.now = ta
            sv.accrue(ta)
            sv.arrive(i, int(g_arr[i]), ta, float(svc_s[i]))
            i += 1
        else:
            break
    sv.accrue(t_end)
    t_i = np.array([[k.state, int(k.spot), int(k.outpost)] for k in sv.tasks], np.int64).reshape(-1, 3)
    t_f = np.array([[k.launch, k.ready, k.stop, k.warned] for k in sv.tasks]).reshape(-1, 4)
    ends = [float(e) for e in window_ends]
    windows = [bisect.bisect_right(ends, t) for t in sv.answer_at]
    return Result(sv.answers, windows, sv.tasks, sv.pm, t_i, t_f, sv.answer_at, sv.starts)
