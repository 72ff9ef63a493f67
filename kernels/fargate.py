"""An ECS service on Fargate behind its load balancer: requests, tasks and the service's auto scaling, in one pass.

One call of `serve` takes one service's requests of a window (times ascending) and runs
the service's events with times before the window's end `t1`; everything it needs next
time lives in the arrays handed in, so a stream cut into windows anywhere gets the
answers, tasks and counters of one call (window independence: nothing is accrued at a
window's end, only at events, at period boundaries and at `finish`).

**Requests** (our model of the load balancer and the tasks). A running task serves at most
`SI_CONC` requests at once (its slots); the load balancer keeps requests in one FCFS line
for the whole service (our simplification of least-outstanding-requests routing, which
sends a request to the task with the fewest in progress: one shared line is its limit, and
the M/M/c model). A request arriving at t:
1. no task running: answered at once ST_NO_TARGETS (the load balancer's 503 when its
   target group has no healthy target);
2. a slot free (busy < running × SI_CONC): served at once;
3. else it waits in the line if the line holds fewer than running × SI_BACKLOG (each
   running task's listen backlog, `backlog_per_task`), else ST_REFUSED at once (the task
   refuses the connection: the load balancer's 502).
A served request holds its slot for its service time `svc_s[i]` (drawn by the caller, one
per request in arrival order). Its answer: ST_OK at start + service time, or ST_TIMEOUT at
arrival + SF_IDLE_S when its wait plus service time exceeds the load balancer's idle
timeout (504). The answer is written when the request starts, or — for one still waiting
at its deadline (arrival + SF_IDLE_S) — at that deadline (EV_EXPIRE: deadlines come in the
line's order, so one event at the first waiting request's deadline serves; one that finds
that request started answers those due, if any, and re-arms at the next waiting one's
deadline; like every event it accrues the integrals at its time), so no answer is ever
written after its own time. A request answered 504 is still served when its turn
comes (the task does not know) and holds its slot. A slot that frees takes the line's head
while busy < running × SI_CONC. Our simplification of the pooled slots: a request in
progress finishes even if its task stops first (requests much shorter than the draining
time, SF_DEREG_S or the Spot warning, are the intended case); until it does it holds a
slot of the service's capacity.

**Tasks.** Each task: launched (LAUNCHING; billed from here: Fargate bills from the image
download), RUNNING after its start-up time `startup_s[k]` (k: its launch number, drawn by
the caller), then DRAINING (no new requests; its requests in progress finish: the line
is shared, so capacity falls by SI_CONC at once) and STOPPED. At t = 0 SI_DESIRED0 tasks
are RUNNING (launched at 0, no start-up). The service scheduler keeps LAUNCHING + RUNNING
= desired: when desired rises it launches the difference, one launch at a time at least
SF_LAUNCH_GAP_S apart (the scale-out rate limit); when it falls it cancels launches not
yet made, then stops LAUNCHING tasks (newest first, at once), then sets RUNNING ones
DRAINING (newest first), each stopped SF_DEREG_S later (the target group's
deregistration delay).

**Fargate Spot.** A task launched while fewer than SI_SPOT_BASE on-demand tasks are active
(LAUNCHING or RUNNING) is on-demand; beyond the base, it goes to the provider with the
fewest active tasks beyond the base per unit of weight (SF_OD_WEIGHT, SF_SPOT_WEIGHT;
on-demand on ties; a weight of 0 takes none). A Spot task that becomes RUNNING gets its
interruption warning after an exponential time of rate SF_SPOT_RATE_PER_S, from
`spot_u[k]` (time = -ln(1 - u) / rate), if it is still RUNNING then; at the warning it goes
DRAINING, stops SF_SPOT_WARNING_S later (the two-minute warning), and the scheduler owes a
replacement (desired does not change), launched as any launch: paced by SF_LAUNCH_GAP_S,
after the launches already owed.

**On an Outpost** (SI_OUTPOST_SLOTS != NO_OUTPOST: the service's tasks run on the rack's EC2
instances, SI_OUTPOST_SLOTS task slots in all). A task is placed on the Outpost when a slot is
free at its launch (the initial tasks too), and holds it until it stops (draining included).
Otherwise, SI_OVERFLOW == OVERFLOW_REGION: it is launched in the Region (on Fargate, by the
Spot strategy); OVERFLOW_REFUSE: it is not launched (counted PM_UNPLACED) and waits for a slot
(a stopped task's slot goes to a waiting launch, which then launches as any other); a lower
desired count cancels waiting launches first. Tasks on the Outpost are not Fargate's: the
Spot strategy's base and weights count the Region's tasks only. A request takes a slot of an Outpost
task when one is free, else one of a task in the Region, and then its answer crosses the
service link: SF_LINK_S later (PM_IN_REGION counts them; the idle timeout includes it).

**Auto scaling** (SI_METRIC != METRIC_NONE; Application Auto Scaling target tracking). At
each multiple of SF_TICK_S (60 s) a datapoint of the minute just ended:
- METRIC_CPU: 100 × SF_SLOT_CPU × busy slot-seconds / running task-seconds (the service's
  average CPUUtilization; SF_SLOT_CPU: the share of a task's CPU one busy slot uses);
- METRIC_REQUESTS: requests arrived in the minute / (running task-seconds / SF_TICK_S)
  (ALBRequestCountPerTarget);
none when no task ran during the minute (a missing datapoint breaches neither alarm and
ends both runs). The high alarm is in ALARM when the last SI_OUT_POINTS datapoints all
exceed SF_TARGET; the low alarm when the last SI_IN_POINTS are all below SF_IN_RATIO ×
SF_TARGET. Then, at the tick, with x the datapoint and ceil(v) taken as ceil(v - 1e-9):
- high: base = desired, or during the scale-out cooldown (tick < out_until) the desired
  count before the scale-out that started it ("the capacity added … is calculated as
  part of the desired capacity for the next scale-out"); new = min(SI_MAX, ceil(base × x /
  SF_TARGET)); if new > desired: desired = new, and outside the cooldown the cooldown
  starts (base_before = the old desired, out_until = tick + SF_OUT_COOLDOWN_S); any
  scale-out ends a scale-in cooldown (in_until = tick).
- else low, and tick >= in_until: new = max(SI_MIN, ceil(desired × x / SF_TARGET)); if
  new < desired: desired = new, in_until = tick + SF_IN_COOLDOWN_S.

**Order at one instant**: events by kind — DEPART, READY, WARN, STOP, LAUNCH, TICK, EXPIRE —
then by scheduling order; the window's requests after every event at their time.

**Counters** per period p (pm[p, PM_*]; p = min(floor(t / period_s), P - 1)): requests by
arrival and answers by status counted at arrival; busy slot-seconds, running,
launching and desired task-seconds (integrals split at period boundaries); waits summed
by start; the line's maximum (its length at each join, and what it carries into a period);
launches, warnings, stops, scale-outs and scale-ins. Tasks: tk_f[k] launch, ready (inf while
launching, or never), stop (inf while alive) and warning (inf unless it came) times, tk_i[k]
state, Spot and Outpost flags. `finish` accrues to the end; the line's requests not
answered then are S_QLEN - S_QEXP.

Twin: `kernels/ref/fargate.py`.
"""

import math

import numpy as np

from kernels import jit, jit_inline
from kernels.heap import heap_pop, heap_push, heap_time, H_V

# statuses of an answer (ans_st)
ST_OK, ST_NO_TARGETS, ST_REFUSED, ST_TIMEOUT = range(4)
STATUS_NAMES = ("ok", "no_targets_503", "refused_502", "timeout_504")
METRIC_NONE, METRIC_CPU, METRIC_REQUESTS = range(3)
# event kinds, in their order at one instant
EV_DEPART, EV_READY, EV_WARN, EV_STOP, EV_LAUNCH, EV_TICK, EV_EXPIRE = range(7)
KIND_SHIFT = 58  # an event's counter: kind << KIND_SHIFT | scheduling order
KIND_BITS = 3  # value: index << KIND_BITS | kind
# task states
TS_LAUNCHING, TS_RUNNING, TS_DRAINING, TS_STOPPED = range(4)
TKI_STATE, TKI_SPOT, TKI_OUTPOST = range(3)
N_TKI = 3
TKF_LAUNCH, TKF_READY, TKF_STOP, TKF_WARN = range(4)
N_TKF = 4
# service parameters
(SI_CONC, SI_BACKLOG, SI_MIN, SI_MAX, SI_DESIRED0, SI_METRIC, SI_OUT_POINTS, SI_IN_POINTS, SI_SPOT_BASE,
 SI_OUTPOST_SLOTS, SI_OVERFLOW, SI_RECORD_STARTS) = range(12)
N_SI = 12
NO_OUTPOST = -1  # SI_OUTPOST_SLOTS: the service is not on an Outpost
OVERFLOW_REGION, OVERFLOW_REFUSE = range(2)
(SF_TARGET, SF_IN_RATIO, SF_OUT_COOLDOWN_S, SF_IN_COOLDOWN_S, SF_TICK_S, SF_LAUNCH_GAP_S, SF_DEREG_S, SF_IDLE_S,
 SF_SLOT_CPU, SF_OD_WEIGHT, SF_SPOT_WEIGHT, SF_SPOT_RATE_PER_S, SF_SPOT_WARNING_S, SF_PERIOD_S, SF_LINK_S) = range(15)
N_SF = 15
# state (integers)
(S_BUSY, S_RUNNING, S_LAUNCHING, S_DRAINING, S_DESIRED, S_TO_LAUNCH, S_LAUNCH_SET, S_NTASKS, S_HEAP_N, S_SEQ,
 S_QHEAD, S_QLEN, S_HIGH_RUN, S_LOW_RUN, S_BASE_BEFORE, S_MIN_REQUESTS, S_OD_ACTIVE, S_SPOT_ACTIVE,
 S_STARTED, S_OUT_USED, S_BUSY_OUT, S_RUN_OUT, S_WAIT_SLOT, S_QEXP, S_EXP_SET, S_NREC) = range(26)
N_S = 26
# state (floats)
F_LAST, F_NEXT_LAUNCH, F_OUT_UNTIL, F_IN_UNTIL, F_MIN_BUSY, F_MIN_RUN = range(6)
N_F = 6
# per-period counters
(PM_REQUESTS, PM_OK, PM_NO_TARGETS, PM_REFUSED, PM_TIMEOUT, PM_BUSY_S, PM_RUNNING_S, PM_LAUNCHING_S, PM_DESIRED_S,
 PM_WAIT_S, PM_STARTED, PM_LINE_MAX, PM_LAUNCHES, PM_WARNINGS, PM_STOPS, PM_SCALE_OUTS, PM_SCALE_INS,
 PM_DATAPOINT, PM_UNPLACED, PM_OUTPOST_TASK_S, PM_IN_REGION) = range(21)
N_PM = 21
PM_NAMES = ("requests", "ok", "no_targets_503", "refused_502", "timeout_504", "busy_slot_s", "running_task_s",
            "launching_task_s", "desired_task_s", "wait_s", "started", "line_max", "launches", "spot_warnings",
            "stops", "scale_outs", "scale_ins", "datapoint", "unplaced", "outpost_task_s", "served_in_region")
# serve's return codes
DONE, NEED_TASKS = 0, 1
CEIL_EPS = 1e-9


def new_state(si, sf, n_tasks_cap: int):
    """Fresh arrays for one service: (st, fs, hh, q_g, q_t, q_s, tk_i, tk_f)."""
    from kernels.heap import new_heap

    st = np.zeros(N_S, np.int64)
    fs = np.zeros(N_F, np.float64)
    fs[F_NEXT_LAUNCH] = 0.0
    fs[F_OUT_UNTIL] = -np.inf
    fs[F_IN_UNTIL] = -np.inf
    line = max(1, int(si[SI_MAX]) * int(si[SI_BACKLOG]) + 1)
    hh = new_heap(heap_capacity(si, n_tasks_cap))
    tk_i = np.zeros((n_tasks_cap, N_TKI), np.int64)
    tk_f = np.full((n_tasks_cap, N_TKF), np.inf)
    return st, fs, hh, np.zeros(line, np.int64), np.zeros(line), np.zeros(line), tk_i, tk_f


def heap_capacity(si, n_tasks_cap: int) -> int:
    """Departures (at most SI_MAX × SI_CONC slots, plus draining tasks' slots) and two events
    per task, a tick and a launch."""
    return int(si[SI_MAX]) * int(si[SI_CONC]) + (int(si[SI_CONC]) + 2) * n_tasks_cap + 8


@jit_inline
def _period(t, sf, pm):
    p = np.int64(t / sf[SF_PERIOD_S])
    return min(max(p, 0), pm.shape[0] - 1)


@jit_inline
def _accrue(t, st, fs, sf, pm):
    """Integrals (busy slots, running, launching and desired tasks) from F_LAST to t, split at
    period boundaries; the autoscaler's minute sums."""
    t0 = fs[F_LAST]
    if t <= t0:
        return
    busy = st[S_BUSY]
    run = st[S_RUNNING]
    fs[F_MIN_BUSY] += busy * (t - t0)
    fs[F_MIN_RUN] += run * (t - t0)
    per = sf[SF_PERIOD_S]
    a = t0
    while a < t:
        p = _period(a, sf, pm)
        b = t if p == pm.shape[0] - 1 else min(t, (p + 1) * per)
        if b <= a:  # float rounding at a boundary: the next period
            b = min(t, (p + 1) * per + per * 1e-12)
        dt = b - a
        pm[p, PM_BUSY_S] += busy * dt
        pm[p, PM_RUNNING_S] += run * dt
        pm[p, PM_LAUNCHING_S] += st[S_LAUNCHING] * dt
        pm[p, PM_DESIRED_S] += st[S_DESIRED] * dt
        pm[p, PM_OUTPOST_TASK_S] += st[S_RUN_OUT] * dt
        if st[S_QLEN] > pm[p, PM_LINE_MAX]:  # (the line carried into a period counts there)
            pm[p, PM_LINE_MAX] = st[S_QLEN]
        a = b
    fs[F_LAST] = t


@jit_inline
def _push(t, kind, index, st, hh):
    seq = (np.int64(kind) << KIND_SHIFT) | st[S_SEQ]
    st[S_SEQ] += 1
    st[S_HEAP_N] = heap_push(hh, st[S_HEAP_N], t, seq, (np.int64(index) << KIND_BITS) | kind)


@jit_inline
def _answer(n_ans, g, t, status, ans_g, ans_t, ans_st):
    ans_g[n_ans] = g
    ans_t[n_ans] = t
    ans_st[n_ans] = status
    return n_ans + 1


@jit_inline
def _start(t, g, ta, s, answered, si, sf, st, hh, pm, n_ans, ans_g, ans_t, ans_st, rec):
    """Request g (arrived at ta, service time s) takes a slot at t: on the Outpost when one of
    its tasks has a slot free, else in the Region (its answer then crosses the service link);
    `answered`: its 504 was given while it waited (it is served all the same)."""
    out = st[S_BUSY_OUT] < st[S_RUN_OUT] * si[SI_CONC]
    st[S_BUSY] += 1
    st[S_STARTED] += 1
    link = 0.0
    p = _period(t, sf, pm)
    if out:
        st[S_BUSY_OUT] += 1
    elif si[SI_OUTPOST_SLOTS] != NO_OUTPOST:
        link = sf[SF_LINK_S]
        pm[p, PM_IN_REGION] += 1
    _push(t + s, EV_DEPART, 1 if out else 0, st, hh)
    if si[SI_RECORD_STARTS] != 0:  # (who starts when: what a service's flows need)
        r = st[S_NREC]
        rec[r, 0] = g
        rec[r, 1] = t
        rec[r, 2] = s
        st[S_NREC] = r + 1
    pm[p, PM_WAIT_S] += t - ta
    pm[p, PM_STARTED] += 1
    if answered:
        return n_ans
    idle = sf[SF_IDLE_S]
    pa = _period(ta, sf, pm)
    if (t - ta) + s + link > idle:
        pm[pa, PM_TIMEOUT] += 1
        return _answer(n_ans, g, ta + idle, ST_TIMEOUT, ans_g, ans_t, ans_st)
    pm[pa, PM_OK] += 1
    return _answer(n_ans, g, t + s + link, ST_OK, ans_g, ans_t, ans_st)


@jit_inline
def _dispatch(t, si, sf, st, hh, q_g, q_t, q_s, pm, n_ans, ans_g, ans_t, ans_st, rec):
    cap = st[S_RUNNING] * si[SI_CONC]
    nq = q_g.shape[0]
    while st[S_BUSY] < cap and st[S_QLEN] > 0:
        h = st[S_QHEAD]
        g, ta, s = q_g[h], q_t[h], q_s[h]
        st[S_QHEAD] = (h + 1) % nq
        st[S_QLEN] -= 1
        answered = st[S_QEXP] > 0
        if answered:
            st[S_QEXP] -= 1
        n_ans = _start(t, g, ta, s, answered, si, sf, st, hh, pm, n_ans, ans_g, ans_t, ans_st, rec)
    return n_ans


@jit_inline
def _arm_expiry(sf, st, hh, q_t):
    """The next EV_EXPIRE: at the deadline (arrival + SF_IDLE_S) of the first request of the
    line not yet answered (deadlines come in the line's order)."""
    if st[S_EXP_SET] == 0 and st[S_QLEN] > st[S_QEXP]:
        st[S_EXP_SET] = 1
        pos = (st[S_QHEAD] + st[S_QEXP]) % q_t.shape[0]
        _push(q_t[pos] + sf[SF_IDLE_S], EV_EXPIRE, 0, st, hh)


@jit
def _expire(t, sf, st, hh, q_g, q_t, pm, n_ans, ans_g, ans_t, ans_st):
    """At t, the waiting requests whose deadline has come get their 504 (they stay in the line)."""
    st[S_EXP_SET] = 0
    nq = q_t.shape[0]
    idle = sf[SF_IDLE_S]
    while st[S_QEXP] < st[S_QLEN]:
        pos = (st[S_QHEAD] + st[S_QEXP]) % nq
        d = q_t[pos] + idle
        if d > t:
            break
        pm[_period(q_t[pos], sf, pm), PM_TIMEOUT] += 1
        n_ans = _answer(n_ans, q_g[pos], d, ST_TIMEOUT, ans_g, ans_t, ans_st)
        st[S_QEXP] += 1
    _arm_expiry(sf, st, hh, q_t)
    return n_ans


@jit_inline
def _ceil(v):
    return np.int64(math.ceil(v - CEIL_EPS))


@jit_inline
def _schedule_launch(t, st, fs, hh):
    if st[S_TO_LAUNCH] > 0 and st[S_LAUNCH_SET] == 0:
        st[S_LAUNCH_SET] = 1
        _push(max(t, fs[F_NEXT_LAUNCH]), EV_LAUNCH, 0, st, hh)


@jit_inline
def _is_spot(si, sf, st):
    od, sp = st[S_OD_ACTIVE], st[S_SPOT_ACTIVE]
    base = si[SI_SPOT_BASE]
    if od < base:
        return False
    wo, ws = sf[SF_OD_WEIGHT], sf[SF_SPOT_WEIGHT]
    if ws <= 0.0:
        return False
    if wo <= 0.0:
        return True
    return sp / ws < (od - base) / wo


@jit
def _slot_freed(t, k, st, fs, hh, tk_i):
    """Task k, stopped, gives its Outpost slot back: a launch waiting for one goes ahead."""
    if tk_i[k, TKI_OUTPOST] != 0:
        st[S_OUT_USED] -= 1
        if st[S_WAIT_SLOT] > 0:
            st[S_WAIT_SLOT] -= 1
            st[S_TO_LAUNCH] += 1
            _schedule_launch(t, st, fs, hh)


@jit
def _stop_task(t, k, drain_s, st, fs, hh, tk_i, tk_f, pm, sf):
    """Task k leaves the service: a LAUNCHING one stops at once, a RUNNING one drains for
    drain_s (its slots leave the capacity now)."""
    state = tk_i[k, TKI_STATE]
    if tk_i[k, TKI_SPOT] != 0:
        st[S_SPOT_ACTIVE] -= 1
    elif tk_i[k, TKI_OUTPOST] == 0:  # (an Outpost task is not a Fargate one: outside the strategy)
        st[S_OD_ACTIVE] -= 1
    if state == TS_LAUNCHING:
        st[S_LAUNCHING] -= 1
        tk_i[k, TKI_STATE] = TS_STOPPED
        tk_f[k, TKF_STOP] = t
        pm[_period(t, sf, pm), PM_STOPS] += 1
        _slot_freed(t, k, st, fs, hh, tk_i)
    else:
        st[S_RUNNING] -= 1
        if tk_i[k, TKI_OUTPOST] != 0:
            st[S_RUN_OUT] -= 1
        st[S_DRAINING] += 1
        tk_i[k, TKI_STATE] = TS_DRAINING
        _push(t + drain_s, EV_STOP, k, st, hh)


@jit
def _set_desired(t, new, si, sf, st, fs, hh, tk_i, tk_f, pm):
    st[S_DESIRED] = new
    active = st[S_LAUNCHING] + st[S_RUNNING] + st[S_TO_LAUNCH] + st[S_WAIT_SLOT]
    if new > active:
        st[S_TO_LAUNCH] += new - active
        _schedule_launch(t, st, fs, hh)
        return
    excess = active - new
    cancel = min(excess, st[S_WAIT_SLOT])  # launches waiting for an Outpost slot first
    st[S_WAIT_SLOT] -= cancel
    excess -= cancel
    cancel = min(excess, st[S_TO_LAUNCH])
    st[S_TO_LAUNCH] -= cancel
    excess -= cancel
    k = st[S_NTASKS] - 1
    while excess > 0 and k >= 0:  # launching ones first, newest first
        if tk_i[k, TKI_STATE] == TS_LAUNCHING:
            _stop_task(t, k, 0.0, st, fs, hh, tk_i, tk_f, pm, sf)
            excess -= 1
        k -= 1
    k = st[S_NTASKS] - 1
    while excess > 0 and k >= 0:
        if tk_i[k, TKI_STATE] == TS_RUNNING:
            _stop_task(t, k, sf[SF_DEREG_S], st, fs, hh, tk_i, tk_f, pm, sf)
            excess -= 1
        k -= 1


@jit
def _tick(t, si, sf, st, fs, hh, tk_i, tk_f, pm):
    """The minute ending at t: its datapoint, the alarms, the scaling decision."""
    run_s = fs[F_MIN_RUN]
    have = run_s > 0.0
    x = 0.0
    if have:
        if si[SI_METRIC] == METRIC_CPU:
            x = 100.0 * sf[SF_SLOT_CPU] * fs[F_MIN_BUSY] / run_s
        else:
            x = st[S_MIN_REQUESTS] / (run_s / sf[SF_TICK_S])
    fs[F_MIN_BUSY] = 0.0
    fs[F_MIN_RUN] = 0.0
    st[S_MIN_REQUESTS] = 0
    p = _period(t - 0.5 * sf[SF_TICK_S], sf, pm)
    pm[p, PM_DATAPOINT] = x if have else np.nan
    target = sf[SF_TARGET]
    if have and x > target:
        st[S_HIGH_RUN] += 1
    else:
        st[S_HIGH_RUN] = 0
    if have and x < sf[SF_IN_RATIO] * target:
        st[S_LOW_RUN] += 1
    else:
        st[S_LOW_RUN] = 0
    desired = st[S_DESIRED]
    pt = _period(t, sf, pm)
    if st[S_HIGH_RUN] >= si[SI_OUT_POINTS]:
        cool = t < fs[F_OUT_UNTIL]
        base = st[S_BASE_BEFORE] if cool else desired
        new = min(si[SI_MAX], _ceil(base * x / target))
        if new > desired:
            if not cool:
                st[S_BASE_BEFORE] = desired
                fs[F_OUT_UNTIL] = t + sf[SF_OUT_COOLDOWN_S]
            fs[F_IN_UNTIL] = min(fs[F_IN_UNTIL], t)
            pm[pt, PM_SCALE_OUTS] += 1
            _set_desired(t, new, si, sf, st, fs, hh, tk_i, tk_f, pm)
    elif st[S_LOW_RUN] >= si[SI_IN_POINTS] and t >= fs[F_IN_UNTIL]:
        new = max(si[SI_MIN], _ceil(desired * x / target))
        if new < desired:
            fs[F_IN_UNTIL] = t + sf[SF_IN_COOLDOWN_S]
            pm[pt, PM_SCALE_INS] += 1
            _set_desired(t, new, si, sf, st, fs, hh, tk_i, tk_f, pm)
    _push(t + sf[SF_TICK_S], EV_TICK, 0, st, hh)


@jit
def begin(si, sf, st, fs, hh, tk_i, tk_f, pm):
    """t = 0: SI_DESIRED0 tasks running (on the Outpost while it has slots, then on-demand or
    Spot by the strategy; with `overflow: refuse` the ones with no slot wait for one), the
    first tick."""
    n0 = si[SI_DESIRED0]
    st[S_DESIRED] = n0
    on_outpost = si[SI_OUTPOST_SLOTS] != NO_OUTPOST
    k = 0
    for _ in range(n0):
        out = on_outpost and st[S_OUT_USED] < si[SI_OUTPOST_SLOTS]
        if on_outpost and not out and si[SI_OVERFLOW] == OVERFLOW_REFUSE:
            st[S_WAIT_SLOT] += 1
            pm[0, PM_UNPLACED] += 1
            continue
        spot = _is_spot(si, sf, st) and not out
        if out:
            tk_i[k, TKI_OUTPOST] = 1
            st[S_OUT_USED] += 1
            st[S_RUN_OUT] += 1
        tk_i[k, TKI_SPOT] = 1 if spot else 0
        tk_i[k, TKI_STATE] = TS_RUNNING
        tk_f[k, TKF_LAUNCH] = 0.0
        tk_f[k, TKF_READY] = 0.0
        if spot:
            st[S_SPOT_ACTIVE] += 1
        elif not out:
            st[S_OD_ACTIVE] += 1
        k += 1
    st[S_RUNNING] = k
    st[S_NTASKS] = k
    if si[SI_METRIC] != METRIC_NONE:
        _push(sf[SF_TICK_S], EV_TICK, 0, st, hh)


@jit
def spot_warnings_at_start(si, sf, st, hh, tk_i, tk_f, spot_u):
    """The initial Spot tasks' warnings (a separate step: `begin` needs no draws)."""
    rate = sf[SF_SPOT_RATE_PER_S]
    for k in range(st[S_NTASKS]):
        if tk_i[k, TKI_SPOT] != 0 and rate > 0.0:
            _push(-math.log1p(-spot_u[k]) / rate, EV_WARN, k, st, hh)


@jit
def serve(t_arr, svc_s, g_arr, start, t1, si, sf, st, fs, hh, q_g, q_t, q_s, tk_i, tk_f, startup_s, spot_u, pm,
          ans_g, ans_t, ans_st, rec):
    """Requests t_arr[start:] (ascending; service times svc_s, ids g_arr) and every event before
    t1. Returns (requests taken, answers written, starts recorded, DONE | NEED_TASKS):
    NEED_TASKS when a launch finds no room in the task arrays (grow them, and the draws and
    the heap, then call again from the request returned). Answers go to ans_* in the order
    they are written; with SI_RECORD_STARTS, each request's start of service to a row of `rec`
    (id, time, service time; float64: ids below 2^53) in order. Both need room for the
    requests taken plus the line's."""
    n = t_arr.shape[0]
    i = start
    n_ans = 0
    st[S_NREC] = 0
    nq = q_g.shape[0]
    cap_tasks = tk_i.shape[0]
    while True:
        te = heap_time(hh, 0) if st[S_HEAP_N] > 0 else np.inf
        ta = t_arr[i] if i < n else np.inf
        if te <= ta and te < t1:
            v = hh[0, H_V]
            kind = v & ((1 << KIND_BITS) - 1)
            if kind == EV_LAUNCH and st[S_TO_LAUNCH] > 0 and st[S_NTASKS] >= cap_tasks:
                return i, n_ans, st[S_NREC], NEED_TASKS
            heap_pop(hh, st[S_HEAP_N])
            st[S_HEAP_N] -= 1
            k = v >> KIND_BITS
            _accrue(te, st, fs, sf, pm)
            if kind == EV_DEPART:
                st[S_BUSY] -= 1
                st[S_BUSY_OUT] -= k
                n_ans = _dispatch(te, si, sf, st, hh, q_g, q_t, q_s, pm, n_ans, ans_g, ans_t, ans_st, rec)
            elif kind == EV_READY:
                if tk_i[k, TKI_STATE] == TS_LAUNCHING:
                    tk_i[k, TKI_STATE] = TS_RUNNING
                    tk_f[k, TKF_READY] = te
                    st[S_LAUNCHING] -= 1
                    st[S_RUNNING] += 1
                    st[S_RUN_OUT] += tk_i[k, TKI_OUTPOST]
                    if tk_i[k, TKI_SPOT] != 0 and sf[SF_SPOT_RATE_PER_S] > 0.0:
                        _push(te - math.log1p(-spot_u[k]) / sf[SF_SPOT_RATE_PER_S], EV_WARN, k, st, hh)
                    n_ans = _dispatch(te, si, sf, st, hh, q_g, q_t, q_s, pm, n_ans, ans_g, ans_t, ans_st, rec)
            elif kind == EV_WARN:
                if tk_i[k, TKI_STATE] == TS_RUNNING:
                    tk_f[k, TKF_WARN] = te
                    pm[_period(te, sf, pm), PM_WARNINGS] += 1
                    _stop_task(te, k, sf[SF_SPOT_WARNING_S], st, fs, hh, tk_i, tk_f, pm, sf)
                    st[S_TO_LAUNCH] += 1  # the replacement
                    _schedule_launch(te, st, fs, hh)
            elif kind == EV_STOP:
                tk_i[k, TKI_STATE] = TS_STOPPED
                tk_f[k, TKF_STOP] = te
                st[S_DRAINING] -= 1
                pm[_period(te, sf, pm), PM_STOPS] += 1
                _slot_freed(te, k, st, fs, hh, tk_i)
            elif kind == EV_LAUNCH:
                st[S_LAUNCH_SET] = 0
                out = si[SI_OUTPOST_SLOTS] != NO_OUTPOST and st[S_OUT_USED] < si[SI_OUTPOST_SLOTS]
                if (st[S_TO_LAUNCH] > 0 and not out and si[SI_OUTPOST_SLOTS] != NO_OUTPOST
                        and si[SI_OVERFLOW] == OVERFLOW_REFUSE):  # no slot: ECS cannot place it, it waits
                    st[S_TO_LAUNCH] -= 1
                    st[S_WAIT_SLOT] += 1
                    pm[_period(te, sf, pm), PM_UNPLACED] += 1
                    _schedule_launch(te, st, fs, hh)
                elif st[S_TO_LAUNCH] > 0:
                    st[S_TO_LAUNCH] -= 1
                    k = st[S_NTASKS]
                    st[S_NTASKS] = k + 1
                    spot = _is_spot(si, sf, st) and not out
                    tk_i[k, TKI_OUTPOST] = 1 if out else 0
                    st[S_OUT_USED] += 1 if out else 0
                    tk_i[k, TKI_SPOT] = 1 if spot else 0
                    tk_i[k, TKI_STATE] = TS_LAUNCHING
                    tk_f[k, TKF_LAUNCH] = te
                    if spot:
                        st[S_SPOT_ACTIVE] += 1
                    elif not out:
                        st[S_OD_ACTIVE] += 1
                    st[S_LAUNCHING] += 1
                    pm[_period(te, sf, pm), PM_LAUNCHES] += 1
                    _push(te + startup_s[k], EV_READY, k, st, hh)
                    fs[F_NEXT_LAUNCH] = te + sf[SF_LAUNCH_GAP_S]
                    _schedule_launch(te, st, fs, hh)
            elif kind == EV_TICK:
                _tick(te, si, sf, st, fs, hh, tk_i, tk_f, pm)
            else:  # EV_EXPIRE
                n_ans = _expire(te, sf, st, hh, q_g, q_t, pm, n_ans, ans_g, ans_t, ans_st)
            continue
        if ta >= t1:
            return i, n_ans, st[S_NREC], DONE
        # request i
        _accrue(ta, st, fs, sf, pm)
        g = g_arr[i]
        s = svc_s[i]
        i += 1
        p = _period(ta, sf, pm)
        pm[p, PM_REQUESTS] += 1
        st[S_MIN_REQUESTS] += 1
        if st[S_RUNNING] == 0:
            pm[p, PM_NO_TARGETS] += 1
            n_ans = _answer(n_ans, g, ta, ST_NO_TARGETS, ans_g, ans_t, ans_st)
        elif st[S_BUSY] < st[S_RUNNING] * si[SI_CONC]:
            n_ans = _start(ta, g, ta, s, False, si, sf, st, hh, pm, n_ans, ans_g, ans_t, ans_st, rec)
        elif st[S_QLEN] < st[S_RUNNING] * si[SI_BACKLOG]:
            tail = (st[S_QHEAD] + st[S_QLEN]) % nq
            q_g[tail] = g
            q_t[tail] = ta
            q_s[tail] = s
            st[S_QLEN] += 1
            if st[S_QLEN] > pm[p, PM_LINE_MAX]:
                pm[p, PM_LINE_MAX] = st[S_QLEN]
            _arm_expiry(sf, st, hh, q_t)
        else:
            pm[p, PM_REFUSED] += 1
            n_ans = _answer(n_ans, g, ta, ST_REFUSED, ans_g, ans_t, ans_st)


@jit
def finish(t_end, st, fs, sf, pm):
    """The integrals up to the run's end."""
    _accrue(t_end, st, fs, sf, pm)


def grow_tasks(si, st, hh, tk_i, tk_f, n_tasks_cap: int):
    """The task arrays and the heap with room for n_tasks_cap tasks (after NEED_TASKS); the
    heap's entries are copied as they are (a heap stays a heap in a longer array)."""
    n = tk_i.shape[0]
    ti = np.zeros((n_tasks_cap, N_TKI), np.int64)
    tf = np.full((n_tasks_cap, N_TKF), np.inf)
    ti[:n], tf[:n] = tk_i, tk_f
    h = np.zeros((heap_capacity(si, n_tasks_cap), hh.shape[1]), np.int64)
    h[:st[S_HEAP_N]] = hh[:st[S_HEAP_N]]
    return h, ti, tf
