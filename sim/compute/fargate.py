"""ECS services on Fargate (`services:`): one component runs every service of the scenario.

Requests reach a service from traffic (`target: service:NAME`, through its load balancer)
or from an API Gateway route (`integration: service:NAME`); each window the component takes
them in time order and runs each service's kernel (`kernels.fargate.serve`: the shared
line over the running tasks' slots, task launches, start-up, draining, Fargate Spot and
target tracking) up to the window's end. What a request becomes is decided when it starts
or is refused, so its answer enters the account then, at its time, carrying its latency
(as an HTTP backend's answers do, ACCOUNT_SPEC.md §12): the traffic source's entry point
counts it, and an API route's client timeout and overhead apply to it. A request still in
the line at a window's end waits for the next window (its answer is later than it).

Why a stage before the account and not handlers in its loop: a service's outcomes depend
only on the requests reaching it, in time order, and only traffic and API routes reach it
(a function calling a service is refused at build time: `service:` call targets are not
simulated yet), so running it before the account, window by window with its state carried
over, gives the one loop's outcomes.

Draws, each its own stream per service (`sim.engine.rng.generator`), consumed in a fixed
order so that windows change nothing: a request's service time (`request_ms`) in arrival
order; a task's start-up time (`startup_s`) and Spot interruption uniform by launch number.

Flows (`services.NAME.vpc` + `egress`, as a function's: ACCOUNT_SPEC.md §10). Each request a
task serves sends each egress entry's flows — an ok one, and a 504 one too (the task still
serves it to the end); a refused (502) or no-target (503) request sends none — `count` flow
records at the request's start of service (`at: start`) or at its end, start + service time
(`at: end`), with the entry's `probability` (one uniform per request and entry, from the
entry's stream `fargate.NAME.egress[i]`, drawn only when probability < 1, requests in the
order they started). The starts come from the kernel itself: for a service with egress it
records each request's start of service and service time (SI_RECORD_STARTS), in the order
they happen, a 504 that was answered while the request waited included. Records wait in the component until the window containing their time
(`take_flows`, by the network after this component), so they do not depend on the windows;
a record at or after the run's end is never sent (as a function's). The network
(sim.network.flows) turns them into flows from the service's tasks' interfaces.

Billing (AmazonECS, FACTS "Fargate billing"): each task's vCPU and memory from its launch
(the image download) to its stop, rounded up to the second with a one-minute minimum; a
task still running at the end is billed to the end (minimum included). x86 (Fargate-*),
arm64 (Fargate-ARM-*), Fargate Spot (SpotUsage-Fargate-*); ephemeral storage above the 20 GB
included (Fargate-EphemeralStorage-GB-Hours). Per period, a task's seconds go to the periods
it ran in, its rounding and minimum to the period it stopped in (or the last).

Metrics per period: ECS/ContainerInsights CpuUtilized (CPU units, 1,024 a vCPU) and
CpuReserved, MemoryUtilized and MemoryReserved (MB), RunningTaskCount, PendingTaskCount,
DesiredTaskCount (time averages); AWS/ECS CPUUtilization (%); AWS/ApplicationELB
RequestCount, RequestCountPerTarget, HTTPCode_ELB_502_Count, HTTPCode_ELB_503_Count,
HTTPCode_ELB_504_Count, HTTPCode_Target_2XX_Count, TargetResponseTime (s, the mean of the
requests answered 2XX, by their arrival's period).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Dict, List

import numpy as np

from kernels import account as A
from kernels import fargate as F
from kernels.histogram import N_BINS, hist_add_many
from scenarios.containers import DATAPOINT_S, SPOT_WARNING_S
from scenarios.schema import Scenario
from sim.engine import Component, WiringError
from sim.engine.batch import Batch, Inbox
from sim.engine.distributions import sampler
from sim.engine.percentiles import hist_stats
from sim.engine.rng import ChunkStream, Draws, Uniforms, generator

FIRST_TASKS = 64  # task arrays' first size (they double when a launch finds them full)
CPU_UNITS_PER_VCPU = 1024


def service_params(sv, period_s: float, outposts=None):
    """(si, sf) of a scenario's service (scenarios.containers.Service) for kernels.fargate;
    `outposts` the scenario's (scenarios.outposts.Outpost by name) when it is placed on one."""
    si = np.zeros(F.N_SI, np.int64)
    sf = np.zeros(F.N_SF, np.float64)
    si[F.SI_OUTPOST_SLOTS] = F.NO_OUTPOST
    if sv.outpost is not None:
        from scenarios.outposts import free_slots

        pl = sv.outpost
        si[F.SI_OUTPOST_SLOTS] = free_slots(outposts[pl.name])[pl.instance_type] * pl.tasks_per_instance
        si[F.SI_OVERFLOW] = F.OVERFLOW_REGION if pl.overflow == "region" else F.OVERFLOW_REFUSE
        sf[F.SF_LINK_S] = outposts[pl.name].service_link.rtt_ms / 1000.0
    sc, sp = sv.scaling, sv.spot
    si[F.SI_CONC] = sv.concurrency_per_task
    si[F.SI_BACKLOG] = sv.backlog_per_task
    si[F.SI_DESIRED0] = sv.desired_count
    si[F.SI_MIN] = sc.min_tasks if sc is not None else sv.desired_count
    si[F.SI_MAX] = sc.max_tasks if sc is not None else sv.desired_count
    si[F.SI_METRIC] = F.METRIC_NONE if sc is None else (F.METRIC_CPU if sc.metric == "cpu" else F.METRIC_REQUESTS)
    si[F.SI_OUT_POINTS] = sc.scale_out_datapoints if sc is not None else 1
    # (a policy that never scales in: its low alarm needs more datapoints than any run has)
    si[F.SI_IN_POINTS] = (1 << 62) if sc is None or sc.disable_scale_in else sc.scale_in_datapoints
    si[F.SI_SPOT_BASE] = sp.on_demand_base if sp is not None else 0
    sf[F.SF_TARGET] = sc.target if sc is not None else 1.0
    sf[F.SF_IN_RATIO] = sc.scale_in_ratio if sc is not None else 0.9
    sf[F.SF_OUT_COOLDOWN_S] = sc.scale_out_cooldown_s if sc is not None else 0.0
    sf[F.SF_IN_COOLDOWN_S] = sc.scale_in_cooldown_s if sc is not None else 0.0
    sf[F.SF_TICK_S] = DATAPOINT_S
    sf[F.SF_LAUNCH_GAP_S] = 60.0 / sv.launch_rate_per_min
    sf[F.SF_DEREG_S] = sv.deregistration_delay_s
    sf[F.SF_IDLE_S] = sv.idle_timeout_s
    sf[F.SF_SLOT_CPU] = vcpu_per_request(sv) / sv.cpu
    sf[F.SF_OD_WEIGHT] = sp.on_demand_weight if sp is not None else 1.0
    sf[F.SF_SPOT_WEIGHT] = sp.spot_weight if sp is not None else 0.0
    rate_h = (sp.interruptions_per_task_hour or 0.0) if sp is not None else 0.0
    sf[F.SF_SPOT_RATE_PER_S] = rate_h / 3600.0
    sf[F.SF_SPOT_WARNING_S] = SPOT_WARNING_S  # the two-minute warning
    sf[F.SF_PERIOD_S] = period_s
    return si, sf


def vcpu_per_request(sv) -> float:
    return sv.vcpu_per_request if sv.vcpu_per_request is not None else sv.cpu / sv.concurrency_per_task


class _Input:
    """A way into a service: its service, the traffic source (entry point) behind it, and the
    account ports its answers enter through."""

    def __init__(self, service: int, label: str, source: int, ok: int, failed: int):
        self.service, self.label, self.source, self.ok, self.failed = service, label, source, ok, failed


class _Run:
    """One service's kernel state, draws and what it has not answered yet."""

    def __init__(self, name: str, sv, seed: int, period_s: float, n_periods: int, base_dir, outposts=None):
        self.name, self.sv = name, sv
        self.si, self.sf = service_params(sv, period_s, outposts)
        self.svc = Draws(ChunkStream(generator(seed, f"fargate.{name}.request_ms"), sampler(sv.request_ms, base_dir)))
        self.startup_stream = Draws(ChunkStream(generator(seed, f"fargate.{name}.startup_s"),
                                                sampler(sv.startup_s, base_dir)))
        self.spot_stream = Uniforms(generator(seed, f"fargate.{name}.spot"))
        cap = max(FIRST_TASKS, 2 * int(self.si[F.SI_DESIRED0]))
        self.st, self.fs, self.hh, self.q_g, self.q_t, self.q_s, self.tk_i, self.tk_f = F.new_state(
            self.si, self.sf, cap)
        self.startup = self.startup_stream.take(cap)
        self.spot_u = self.spot_stream.take(cap)
        self.pm = np.zeros((n_periods, F.N_PM), np.float64)
        self.n_seen = 0  # requests so far (their ids g)
        self.pool = Batch.empty()  # requests waiting in the line: their items, ids and inputs
        self.pool_g = np.zeros(0, np.int64)
        self.pool_in = np.zeros(0, np.int64)
        self.hist_ok = np.zeros(N_BINS, np.int64)  # response times of answered requests, ms
        # sums in whole µs, so that they do not depend on how the answers are cut into windows
        self.ok_sum_us, self.ok_min_ms, self.ok_max_ms = 0, math.inf, 0.0
        self.resp_us = np.zeros(n_periods, np.int64)  # response times of the requests answered ok, by arrival period
        # a service that sends flows (egress): the kernel records each request's start (module doc)
        self.si[F.SI_RECORD_STARTS] = 1 if sv.egress else 0
        self.starts = (np.zeros(0), np.zeros(0))  # this window's: start and end times, in the order they started
        self.egress_u: List[Uniforms] = [Uniforms(generator(seed, f"fargate.{name}.egress[{i}]"))
                                         for i in range(len(sv.egress))]
        F.begin(self.si, self.sf, self.st, self.fs, self.hh, self.tk_i, self.tk_f, self.pm)
        self.n_initial = int(self.st[F.S_NTASKS])  # running at t = 0 (fewer than desired_count on a full Outpost)
        F.spot_warnings_at_start(self.si, self.sf, self.st, self.hh, self.tk_i, self.tk_f, self.spot_u)

    def grow(self) -> None:
        n = self.tk_i.shape[0]
        self.hh, self.tk_i, self.tk_f = F.grow_tasks(self.si, self.st, self.hh, self.tk_i, self.tk_f, 2 * n)
        self.startup = np.concatenate([self.startup, self.startup_stream.take(n)])
        self.spot_u = np.concatenate([self.spot_u, self.spot_stream.take(n)])

    def serve(self, batch: Batch, inputs: np.ndarray, t1: float):
        """This window's requests (time order) and events before t1: the answers decided,
        as (items, their inputs, answer times, statuses)."""
        n = len(batch)
        g = self.n_seen + np.arange(n, dtype=np.int64)
        self.n_seen += n
        svc_s = self.svc.take(n) / 1000.0
        pool = Batch.concat([self.pool, batch]) if len(self.pool) else batch
        pool_g = np.concatenate([self.pool_g, g])
        pool_in = np.concatenate([self.pool_in, inputs])
        room = n + int(self.st[F.S_QLEN]) + 1
        ans_g = np.empty(room, np.int64)
        ans_t = np.empty(room)
        ans_st = np.empty(room, np.int64)
        rec = np.empty((room if self.si[F.SI_RECORD_STARTS] else 1, 3))
        got, got_rec, start = 0, 0, 0
        t = np.ascontiguousarray(batch.t)
        while True:
            start, k, r, code = F.serve(t, svc_s, g, start, t1, self.si, self.sf, self.st, self.fs, self.hh,
                                        self.q_g, self.q_t, self.q_s, self.tk_i, self.tk_f, self.startup, self.spot_u,
                                        self.pm, ans_g[got:], ans_t[got:], ans_st[got:], rec[got_rec:])
            got += k
            got_rec += r
            if code == F.DONE:
                break
            self.grow()
        ans_g, ans_t, ans_st = ans_g[:got], ans_t[:got], ans_st[:got]
        self.starts = (rec[:got_rec, 1], rec[:got_rec, 1] + rec[:got_rec, 2])
        rows = np.searchsorted(pool_g, ans_g)
        left = np.ones(len(pool_g), bool)
        left[rows] = False
        items = pool.take(rows)
        ins = pool_in[rows]
        self.pool, self.pool_g, self.pool_in = pool.take(np.flatnonzero(left)), pool_g[left], pool_in[left]
        lat_ms = (ans_t - items.t) * 1000.0
        ok = ans_st == F.ST_OK
        if ok.any():
            per = np.minimum((items.t[ok] / self.sf[F.SF_PERIOD_S]).astype(np.int64), len(self.resp_us) - 1)
            v = np.ascontiguousarray(lat_ms[ok])
            us = np.round(v * 1000.0).astype(np.int64)
            np.add.at(self.resp_us, per, us)
            hist_add_many(self.hist_ok, v)
            self.ok_sum_us += int(us.sum())
            self.ok_min_ms = min(self.ok_min_ms, float(v.min()))
            self.ok_max_ms = max(self.ok_max_ms, float(v.max()))
        return items, ins, ans_t, ans_st, lat_ms



class FargateServices(Component):
    def __init__(self, sc: Scenario, seed: int, t_end: float, period_s: float, account, base_dir=None):
        super().__init__("fargate")
        self.sc, self.seed, self.t_end, self.period_s, self.base_dir = sc, seed, t_end, period_s, base_dir
        self.account = account
        self.inbox = Inbox()
        self.names: List[str] = list(sc.services)
        self.inputs: List[_Input] = []
        self.n_periods = max(1, int(math.ceil(t_end / period_s - 1e-9)))
        self.runs: List[_Run] = []
        self.received = 0
        self.late: Dict[int, int] = {}  # input -> its requests answered at or after the run's end
        # egress (sim.network.flows.NetworkRun takes the records): every service's entries by global number
        self.egress_section = "services"
        self._egress = [(name, i, e) for name in self.names for i, e in enumerate(sc.services[name].egress)]
        self._flows = (np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))  # pending records: t, seq, entry
        self._flow_seq = 0
        self._t1 = -math.inf
        self.connect(account)

    # declare / connect ------------------------------------------------------------------
    def add_input(self, name: str, label: str, source: int) -> int:
        """A way in for traffic source `source` (directly, or through an API route: `label`);
        its answers enter the account as the answers of that source's entry point."""
        if source < 0:
            raise WiringError(f"{self.name}: {label} reaches service {name} but is no traffic source")
        ok = self.account.add_gateway_port(label, A.GW_ANSWER_OK, source)
        failed = self.account.add_gateway_port(label, A.GW_ANSWER_FAILED, source)
        self.inputs.append(_Input(self.names.index(name), label, source, ok, failed))
        return len(self.inputs) - 1

    def egress_entries(self) -> List[tuple]:
        """Every service's egress entries as (service, index in its egress, Egress), services in
        the scenario's order: an entry's place here is its number in `take_flows`."""
        return list(self._egress)

    def take_flows(self):
        """The flow records (t, entry) with t before the end of the window just stepped, in time
        order (equal times in the order they were made), taken out: a record later than the
        window (an `at: end` flow of a request ending after it; a start is always in the window
        that decided it) waits for its window."""
        t, seq, entry = self._flows
        if not len(t):
            return t, entry
        now = t < self._t1
        order = np.flatnonzero(now)
        order = order[np.lexsort((seq[order], t[order]))]
        keep = ~now
        self._flows = (t[keep], seq[keep], entry[keep])
        return t[order], entry[order]

    def _emit_flows(self, s: int, start: np.ndarray, end: np.ndarray) -> None:
        """The flow records of service s's requests started in this window (in the order they
        started): per request, each egress entry in list order, sent with its probability (one
        uniform per request and entry from the entry's stream, drawn only when probability < 1),
        `count` records at the request's start (`at: start`) or end (`at: end`)."""
        n = len(start)
        if not n:
            return
        run = self.runs[s]
        base = next(k for k, (name, _i, _e) in enumerate(self._egress) if name == run.name)
        ts, reqs, ents = [], [], []
        for i, e in enumerate(run.sv.egress):
            sent = run.egress_u[i].take(n) < e.probability if e.probability < 1.0 else np.ones(n, bool)
            req = np.repeat(np.flatnonzero(sent), e.count)
            ts.append((start if e.at == "start" else end)[req])
            reqs.append(req)
            ents.append(np.full(len(req), i, np.int64))
        t, req, ent = np.concatenate(ts), np.concatenate(reqs), np.concatenate(ents)
        order = np.lexsort((ent, req))  # by request (the order they started), then entry; a count's flows in a row
        m = len(order)
        seq = self._flow_seq + np.arange(m, dtype=np.int64)
        self._flow_seq += m
        old_t, old_seq, old_e = self._flows
        self._flows = (np.concatenate([old_t, t[order]]), np.concatenate([old_seq, seq]),
                       np.concatenate([old_e, base + ent[order]]))

    # run --------------------------------------------------------------------------------
    def start(self, env) -> None:
        self.runs = [_Run(name, self.sc.services[name], self.seed, self.period_s, self.n_periods, self.base_dir,
                          self.sc.outposts) for name in self.names]

    def step(self, t0: float, t1: float) -> None:
        self._t1 = t1
        taken = self.inbox.take(t1)
        taken.sort(key=lambda e: e[2])
        by_service: Dict[int, list] = {}
        for p, b, _ in taken:
            by_service.setdefault(self.inputs[p].service, []).append((p, b))
        inbox = self.account.inbox
        for s, run in enumerate(self.runs):
            got = by_service.get(s, [])
            if got:
                batch = Batch.concat([b for _, b in got])
                ins = np.concatenate([np.full(len(b), p, np.int64) for p, b in got])
                order = np.argsort(batch.t, kind="stable")  # one line: one time order, inputs in port order
                batch, ins = batch.take(order), ins[order]
                self.received += len(batch)
            else:
                batch, ins = Batch.empty(), np.zeros(0, np.int64)
            items, item_in, ans_t, ans_st, lat_ms = run.serve(batch, ins, t1)
            if run.sv.egress:
                self._emit_flows(s, *run.starts)
            for p in np.unique(item_in):
                inp = self.inputs[int(p)]
                mine = item_in == p
                for to, sel in ((inp.ok, mine & (ans_st == F.ST_OK)), (inp.failed, mine & (ans_st != F.ST_OK))):
                    idx = np.flatnonzero(sel)
                    if not len(idx):
                        continue
                    order = np.argsort(ans_t[idx], kind="stable")
                    idx = idx[order]
                    b = items.take(idx)
                    b.t = np.ascontiguousarray(ans_t[idx])
                    b.duration_ms = np.ascontiguousarray(lat_ms[idx])
                    inbox.put(to, b)
                    late = int(np.count_nonzero(b.t >= self.t_end))  # (the account never takes those)
                    if late:
                        self.late[int(p)] = self.late.get(int(p), 0) + late

    def finalize(self, t_end: float) -> None:
        for run in self.runs:
            F.finish(t_end, run.st, run.fs, run.sf, run.pm)
        # the requests not answered within the run: the entry points' in flight at the end
        waiting = {}
        for run in self.runs:
            for p in run.pool_in.tolist():
                waiting[p] = waiting.get(p, 0) + 1
        for p, inp in enumerate(self.inputs):
            n = self.late.get(p, 0) + waiting.get(p, 0)
            if n:
                self.account.add_entry_pending(inp.source, n)

    def requests_simulated(self) -> int:
        return self.received

    # outputs ----------------------------------------------------------------------------
    def _period_len(self) -> np.ndarray:
        starts = np.arange(self.n_periods) * self.period_s
        return np.minimum(self.period_s, self.t_end - starts)

    def _billed_ms(self, run: _Run) -> np.ndarray:
        """[period, task] ms billed: its run time per period, the rounding to the second and the
        one-minute minimum in the period it stopped in (or the last)."""
        n = int(run.st[F.S_NTASKS])
        out = np.zeros((self.n_periods, n), np.int64)
        edges = np.arange(self.n_periods + 1) * self.period_s
        edges[-1] = max(edges[-1], self.t_end)
        for k in range(n):
            a = float(run.tk_f[k, F.TKF_LAUNCH])
            b = min(float(run.tk_f[k, F.TKF_STOP]), self.t_end)
            billed_s = max(60, math.ceil(b - a - 1e-9))
            lo, hi = np.clip(edges[:-1], a, b), np.clip(edges[1:], a, b)
            ms = np.round((hi - lo) * 1000.0).astype(np.int64)
            last = min(int(b / self.period_s), self.n_periods - 1)
            ms[last] += billed_s * 1000 - int(ms.sum())
            out[:, k] = ms
        return out

    def usage(self):
        """(whole run, per period) AmazonECS usage: vCPU-hours and GB-hours per task kind."""
        from sim.billing.meters import MeterTable

        total, per_period = [], []
        ms_per_h = Decimal(3_600_000)
        for run in self.runs:
            sv = run.sv
            ms = self._billed_ms(run)
            region = run.tk_i[: ms.shape[1], F.TKI_OUTPOST] == 0  # on an Outpost: the rack's price covers it
            spot = run.tk_i[: ms.shape[1], F.TKI_SPOT] != 0
            arm = sv.architecture == "arm64"
            prefix = "Fargate-ARM-" if arm else "Fargate-"
            table = MeterTable("AmazonECS", [f"service:{run.name}"], self.n_periods, self.period_s)
            for kind, sel in (("", region & ~spot), ("SpotUsage-", region & spot)):
                if not sel.any():
                    continue
                col = ms[:, sel].sum(axis=1)
                table.declare(f"{kind}{prefix}vCPU-Hours:perCPU", "vCPU-Hours",
                              Decimal(repr(sv.cpu)) / ms_per_h)[:, 0] = col
                table.declare(f"{kind}{prefix}GB-Hours", "GB-Hours", Decimal(repr(sv.memory_gb)) / ms_per_h)[:, 0] = col
            extra = sv.ephemeral_storage_gb - 20.0
            if extra > 0 and region.any():
                table.declare("Fargate-EphemeralStorage-GB-Hours", "GB-Hours",
                              Decimal(repr(extra)) / ms_per_h)[:, 0] = ms[:, region].sum(axis=1)
            t, p = table.usage()
            total += t
            per_period += p
        return total, per_period

    def summary(self) -> Dict[str, dict]:
        """summary.json's `services`: per service, requests and what became of them (requests =
        ok + no_targets_503 + refused_502 + timeout_504 + queued_end), response times, tasks and
        scaling."""
        out: Dict[str, dict] = {}
        for run in self.runs:
            pm = run.pm.sum(axis=0)
            sv = run.sv
            n = int(run.st[F.S_NTASKS])
            tk = run.tk_f[:n]
            spot = run.tk_i[:n, F.TKI_SPOT] != 0
            ready = tk[:, F.TKF_READY]
            started = np.isfinite(ready) & (np.arange(n) >= run.n_initial)  # launched, not there at t = 0
            startup = ready[started] - tk[started, F.TKF_LAUNCH]
            ok = int(pm[F.PM_OK])
            resp = hist_stats(run.hist_ok, run.ok_sum_us / 1000.0, run.ok_min_ms if ok else 0.0, run.ok_max_ms,
                              ("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
            cpu_pct = (float(100.0 * run.sf[F.SF_SLOT_CPU] * pm[F.PM_BUSY_S] / pm[F.PM_RUNNING_S])
                       if pm[F.PM_RUNNING_S] > 0 else None)
            out[run.name] = {
                "task_size": f"{sv.cpu:g} vCPU / {sv.memory_gb:g} GB ({sv.architecture})",
                "requests": int(pm[F.PM_REQUESTS]),
                "ok": ok,
                "no_targets_503": int(pm[F.PM_NO_TARGETS]),
                "refused_502": int(pm[F.PM_REFUSED]),
                "timeout_504": int(pm[F.PM_TIMEOUT]),
                "queued_end": int(run.st[F.S_QLEN] - run.st[F.S_QEXP]),  # waiting, not answered yet
                "response_ms": resp,
                "wait_ms_mean": float(1000.0 * pm[F.PM_WAIT_S] / pm[F.PM_STARTED]) if pm[F.PM_STARTED] else None,
                "line_max": int(run.pm[:, F.PM_LINE_MAX].max()) if len(run.pm) else 0,
                "cpu_utilization_pct_mean": cpu_pct,
                "tasks_launched": n - run.n_initial,
                "tasks_stopped": int(pm[F.PM_STOPS]),
                "spot_tasks": int(spot.sum()),
                "spot_interruptions": int(pm[F.PM_WARNINGS]),
                "scale_outs": int(pm[F.PM_SCALE_OUTS]),
                "scale_ins": int(pm[F.PM_SCALE_INS]),
                "running_tasks_mean": float(pm[F.PM_RUNNING_S] / self.t_end),
                "running_tasks_end": int(run.st[F.S_RUNNING]),
                "desired_tasks_end": int(run.st[F.S_DESIRED]),
                "task_hours": float(self._billed_ms(run).sum() / 3.6e6),  # billed or not (on an Outpost)
                "outpost_tasks": int((run.tk_i[:n, F.TKI_OUTPOST] != 0).sum()),
                "startup_s_mean": float(startup.mean()) if len(startup) else None,
            }
        return out

    def summary_sections(self) -> dict:
        return {"services": self.summary()} if self.runs else {}

    def metrics(self):
        """Per period (module docstring): ECS/ContainerInsights, AWS/ECS and AWS/ApplicationELB."""
        import polars as pl

        if not self.runs:
            return None
        frames = []
        time_s = np.arange(self.n_periods) * self.period_s
        span = self._period_len()
        for run in self.runs:
            sv, pm = run.sv, run.pm
            busy, running = pm[:, F.PM_BUSY_S], pm[:, F.PM_RUNNING_S]
            vcpu = vcpu_per_request(sv)
            with np.errstate(invalid="ignore", divide="ignore"):
                series = [
                    ("ECS/ContainerInsights", "CpuUtilized", busy * vcpu * CPU_UNITS_PER_VCPU / span),
                    ("ECS/ContainerInsights", "CpuReserved", running * sv.cpu * CPU_UNITS_PER_VCPU / span),
                    ("ECS/ContainerInsights", "MemoryUtilized",
                     (running * sv.memory_used_gb * 1024 + busy * sv.memory_per_request_mb) / span),
                    ("ECS/ContainerInsights", "MemoryReserved", running * sv.memory_gb * 1024 / span),
                    ("ECS/ContainerInsights", "RunningTaskCount", running / span),
                    ("ECS/ContainerInsights", "PendingTaskCount", pm[:, F.PM_LAUNCHING_S] / span),
                    ("ECS/ContainerInsights", "DesiredTaskCount", pm[:, F.PM_DESIRED_S] / span),
                    ("AWS/ECS", "CPUUtilization", np.where(running > 0, 100.0 * busy * vcpu / (running * sv.cpu),
                                                           np.nan)),
                    ("AWS/ApplicationELB", "RequestCount", pm[:, F.PM_REQUESTS]),
                    ("AWS/ApplicationELB", "RequestCountPerTarget",
                     np.where(running > 0, pm[:, F.PM_REQUESTS] / (running / span), np.nan)),
                    ("AWS/ApplicationELB", "HTTPCode_Target_2XX_Count", pm[:, F.PM_OK]),
                    ("AWS/ApplicationELB", "HTTPCode_ELB_502_Count", pm[:, F.PM_REFUSED]),
                    ("AWS/ApplicationELB", "HTTPCode_ELB_503_Count", pm[:, F.PM_NO_TARGETS]),
                    ("AWS/ApplicationELB", "HTTPCode_ELB_504_Count", pm[:, F.PM_TIMEOUT]),
                    ("AWS/ApplicationELB", "TargetResponseTime",
                     np.where(pm[:, F.PM_OK] > 0, run.resp_us / 1e6 / pm[:, F.PM_OK], np.nan)),
                ]
            for ns, metric, v in series:
                frames.append(pl.DataFrame({"time_s": time_s, "namespace": ns, "metric": metric,
                                            "dimension": f"ServiceName={run.name}",
                                            "value": np.asarray(v, np.float64)}))
        return pl.concat(frames)
