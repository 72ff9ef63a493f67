"""Typed schema of ECS services on Fargate (`services:`), and their cross-field checks.

A service is reached by traffic (`target: service:NAME`, through its Application Load
Balancer) or by an API Gateway route (`integration: service:NAME`, a private integration
through a VPC link to the load balancer). Semantics: `kernels/fargate.py` (requests, tasks,
Spot, target tracking) and `sim/compute/fargate.py` (draws, answers, metrics, billing).

Facts and defaults, with their sources:
- Task sizes (FACTS "Fargate sizes", AmazonECS task-cpu-memory-error): 0.25 vCPU with 0.5, 1
  or 2 GB; 0.5 vCPU with 1-4 GB; 1 vCPU with 2-8 GB; 2 vCPU with 4-16 GB and 4 vCPU with 8-30
  GB in 1 GB steps; 8 vCPU with 16-60 GB in 4 GB steps; 16 vCPU with 32-120 GB in 8 GB steps.
- Start-up: a 413 MB image without SOCI took 53-62 s to start (FACTS "Fargate start",
  elasticscale blog), so `startup_s` defaults to uniform(53, 62) s; the awsvpc ENI's seconds
  are inside that measurement.
- Scale-out rate: one ECS service was measured launching about 23 tasks a minute (FACTS
  "Fargate start", vladionescu.me, 2020): `launch_rate_per_min` 23.
- Target tracking: cooldowns default to 300 s for ECS services (FACTS "ECS service auto
  scaling"; Application Auto Scaling's TargetTrackingScalingPolicyConfiguration). The alarms
  Application Auto Scaling creates for a target-tracking policy on an ECS service go to ALARM
  after 3 one-minute datapoints above the target (scale-out) and after 15 below 90 % of it
  (scale-in): our reading of the alarms it creates (AWS documents neither figure; DynamoDB's
  documented analogue is 2 and 15, FACTS "provisioned"): `scale_out_datapoints`,
  `scale_in_datapoints`, `scale_in_ratio`.
- The load balancer: a target group's deregistration delay defaults to 300 s and an
  Application Load Balancer's idle timeout to 60 s (Elastic Load Balancing user guide, target
  group attributes and load balancer attributes).
- Fargate Spot: a two-minute warning before a task is stopped (FACTS "Fargate billing" rows;
  ECS capacity providers guide). AWS publishes no interruption rate: give one
  (`spot.interruptions_per_task_hour`) when tasks run on Spot.
- Billing per second from the image download to the task's stop, with a one-minute minimum;
  ephemeral storage above 20 GB is billed (FACTS "Fargate billing").
- Networking: tasks use the awsvpc network mode (the only one Fargate supports), one ENI per
  task in one of the service's subnets (`vpc`, the dataclass functions use). A request a task
  serves sends the flows of `egress` (scenarios.vpc.Egress, as `functions.NAME.egress`); where
  they go and the VPC configuration are checked by the network (scenarios.vpc_check), how they
  are made with the functions' (scenarios.calls.check_egress).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from scenarios.common import Dist
from scenarios.errors import Problems
from scenarios.outposts import Placement
from scenarios.vpc import Egress, FunctionVpc
from scenarios.yamlpath import key, num

ARCHITECTURES = ("x86_64", "arm64")
METRICS = ("cpu", "requests_per_target")  # ECSServiceAverageCPUUtilization, ALBRequestCountPerTarget
STARTUP_DEFAULT_S = Dist(dist="uniform", low=53.0, high=62.0)
LAUNCH_RATE_PER_MIN = 23.0
COOLDOWN_S = 300.0
SCALE_OUT_DATAPOINTS = 3
SCALE_IN_DATAPOINTS = 15
SCALE_IN_RATIO = 0.9
DEREGISTRATION_DELAY_S = 300.0  # ELB target group default (0-3,600 s)
IDLE_TIMEOUT_S = 60.0  # ALB default (1-4,000 s)
SPOT_WARNING_S = 120.0
DATAPOINT_S = 60.0  # the one-minute datapoints target tracking's alarms evaluate (ECS metrics, 1 min)
EPHEMERAL_FREE_GB = 20.0  # included in every task; up to 200 GB
EPHEMERAL_MAX_GB = 200.0
TASKS_MAX = 5000  # tasks per service (ECS service quota, default 5,000)
BACKLOG_DEFAULT = 100  # a task's listen backlog: our assumption (a web server's accept queue)
LINE_MAX = 20_000_000  # waiting requests a service may hold (24 bytes each, set aside at the start): ours


def task_sizes() -> dict:
    """vCPU -> the memory sizes (GB) Fargate allows with it."""
    steps = {0.25: [0.5, 1.0, 2.0], 0.5: [1.0, 2.0, 3.0, 4.0], 1.0: [float(g) for g in range(2, 9)],
             2.0: [float(g) for g in range(4, 17)], 4.0: [float(g) for g in range(8, 31)],
             8.0: [float(g) for g in range(16, 61, 4)], 16.0: [float(g) for g in range(32, 121, 8)]}
    return steps


@dataclass
class Scaling:
    """Service auto scaling: one target-tracking policy (Application Auto Scaling)."""

    metric: str = "cpu"  # cpu | requests_per_target
    target: Optional[float] = None  # required: a CPU % (e.g. 50) or requests per task per minute
    min_tasks: int = 1
    max_tasks: int = 10
    scale_out_cooldown_s: float = COOLDOWN_S
    scale_in_cooldown_s: float = COOLDOWN_S
    disable_scale_in: bool = False
    scale_out_datapoints: int = SCALE_OUT_DATAPOINTS
    scale_in_datapoints: int = SCALE_IN_DATAPOINTS
    scale_in_ratio: float = SCALE_IN_RATIO


@dataclass
class Spot:
    """The capacity provider strategy: FARGATE's base and weight, FARGATE_SPOT's weight, and
    how often a Spot task is interrupted."""

    on_demand_base: int = 0
    on_demand_weight: float = 1.0
    spot_weight: float = 0.0
    interruptions_per_task_hour: Optional[float] = None  # required when spot_weight > 0


@dataclass
class Service:
    """An ECS service on Fargate behind an Application Load Balancer."""

    cpu: float = 0.25  # vCPU per task
    memory_gb: float = 0.5
    architecture: str = "x86_64"  # x86_64 | arm64 (billed at ARM's prices)
    ephemeral_storage_gb: float = EPHEMERAL_FREE_GB
    desired_count: int = 1  # tasks running at t = 0
    request_ms: Optional[Dist] = None  # required: the time a request holds one of a task's slots
    concurrency_per_task: int = 1  # requests a task serves at once
    backlog_per_task: int = BACKLOG_DEFAULT  # requests waiting per running task before 502s
    vcpu_per_request: Optional[float] = None  # CPU a request in progress uses; None: cpu / concurrency
    memory_used_gb: float = 0.0  # memory a running task holds (MemoryUtilized)
    memory_per_request_mb: float = 0.0  # and each request in progress
    startup_s: Dist = field(default_factory=lambda: Dist(**vars(STARTUP_DEFAULT_S)))  # seconds
    launch_rate_per_min: float = LAUNCH_RATE_PER_MIN
    deregistration_delay_s: float = DEREGISTRATION_DELAY_S
    idle_timeout_s: float = IDLE_TIMEOUT_S
    scaling: Optional[Scaling] = None
    spot: Optional[Spot] = None
    outpost: Optional[Placement] = None  # its tasks on an Outpost's EC2 instances (scenarios/outposts.py)
    # awsvpc network mode: the tasks' subnets and security groups (each task has its own ENI;
    # our simplification: a request's flows leave from one of the subnets, drawn uniformly);
    # None: the service sends no flows
    vpc: Optional[FunctionVpc] = None
    # flows each request a task serves sends from its VPC, made as a function's egress is
    # (probability, count, at: start | end of the request's service); sim.compute.fargate
    egress: List[Egress] = field(default_factory=list)


def check_services(s, problems: Problems) -> None:
    """Every cross-field problem of the services (addresses are checked with the others)."""
    sizes = task_sizes()
    for name, sv in s.services.items():
        path = key("services", name)
        if sv.cpu not in sizes:
            problems.add(key(path, "cpu"), f"{num(sv.cpu)} vCPU is not a Fargate task size; allowed:"
                                           f" {', '.join(num(c) for c in sizes)}")
        elif sv.memory_gb not in sizes[sv.cpu]:
            problems.add(key(path, "memory_gb"), f"{num(sv.memory_gb)} GB does not go with {num(sv.cpu)} vCPU;"
                                                 f" allowed: {', '.join(num(m) for m in sizes[sv.cpu])}")
        if sv.architecture not in ARCHITECTURES:
            problems.add(key(path, "architecture"), f"{sv.architecture!r}; allowed: {', '.join(ARCHITECTURES)}")
        if not EPHEMERAL_FREE_GB <= sv.ephemeral_storage_gb <= EPHEMERAL_MAX_GB:
            problems.add(key(path, "ephemeral_storage_gb"), f"{num(sv.ephemeral_storage_gb)} must be"
                                                            f" {num(EPHEMERAL_FREE_GB)}-{num(EPHEMERAL_MAX_GB)} GB")
        if sv.request_ms is None:
            problems.add(key(path, "request_ms"), "a service needs the time a request takes in a task, e.g."
                                                  " request_ms: {dist: lognormal, median: 40, p99: 200}")
        if not 1 <= sv.concurrency_per_task <= 100_000:
            problems.add(key(path, "concurrency_per_task"), f"{sv.concurrency_per_task} must be 1-100,000")
        if not 0 <= sv.backlog_per_task <= 1_000_000:
            problems.add(key(path, "backlog_per_task"), f"{sv.backlog_per_task} must be 0-1,000,000")
        elif sv.backlog_per_task * max(sv.desired_count, sv.scaling.max_tasks if sv.scaling else 0) > LINE_MAX:
            problems.add(key(path, "backlog_per_task"), f"{sv.backlog_per_task:,} × the most tasks is over"
                         f" {LINE_MAX:,} waiting requests (the line's room is set aside when the run starts);"
                         " lower it, or max_tasks")
        if sv.vcpu_per_request is not None and not (
                0 < sv.vcpu_per_request and sv.vcpu_per_request * sv.concurrency_per_task <= sv.cpu * (1 + 1e-12)):
            problems.add(key(path, "vcpu_per_request"), f"{num(sv.vcpu_per_request)} must be above 0 and at most"
                         f" cpu / concurrency_per_task = {num(sv.cpu / max(sv.concurrency_per_task, 1))} (a task's"
                         " requests cannot use more than its CPU; processor sharing is not simulated)")
        if not 0 <= sv.memory_used_gb <= sv.memory_gb:
            problems.add(key(path, "memory_used_gb"), f"{num(sv.memory_used_gb)} must be 0-{num(sv.memory_gb)}"
                                                      " (the task's memory)")
        if not sv.memory_per_request_mb >= 0:
            problems.add(key(path, "memory_per_request_mb"), f"{num(sv.memory_per_request_mb)} must be 0 or more")
        if not sv.launch_rate_per_min > 0:
            problems.add(key(path, "launch_rate_per_min"), f"{num(sv.launch_rate_per_min)} must be above 0")
        if not 0 <= sv.deregistration_delay_s <= 3600:
            problems.add(key(path, "deregistration_delay_s"), f"{num(sv.deregistration_delay_s)} must be 0-3600 s")
        if not 1 <= sv.idle_timeout_s <= 4000:
            problems.add(key(path, "idle_timeout_s"), f"{num(sv.idle_timeout_s)} must be 1-4000 s")
        lo, hi = sv.desired_count, sv.desired_count
        sc = sv.scaling
        if sc is not None:
            spath = key(path, "scaling")
            if sc.metric not in METRICS:
                problems.add(key(spath, "metric"), f"{sc.metric!r}; allowed: {', '.join(METRICS)}")
            if sc.target is None or not sc.target > 0:
                problems.add(key(spath, "target"), "a target-tracking policy needs a target above 0, e.g. 50 (CPU %)"
                             " or 1000 (requests per task per minute)" if sc.target is None
                             else f"{num(sc.target)} must be above 0")
            elif sc.metric == "cpu" and sc.target > 100:
                problems.add(key(spath, "target"), f"{num(sc.target)} % is above 100 %")
            if not 1 <= sc.min_tasks <= TASKS_MAX:
                problems.add(key(spath, "min_tasks"), f"{sc.min_tasks} must be 1-{TASKS_MAX:,} (a service that"
                                                      " scales on its tasks' metrics keeps one)")
            if not sc.min_tasks <= sc.max_tasks <= TASKS_MAX:
                problems.add(key(spath, "max_tasks"), f"{sc.max_tasks} must be {sc.min_tasks}-{TASKS_MAX:,}")
            for f in ("scale_out_cooldown_s", "scale_in_cooldown_s"):
                if not getattr(sc, f) >= 0:
                    problems.add(key(spath, f), f"{num(getattr(sc, f))} must be 0 or more")
            for f in ("scale_out_datapoints", "scale_in_datapoints"):
                if not 1 <= getattr(sc, f) <= 1440:
                    problems.add(key(spath, f), f"{getattr(sc, f)} must be 1-1440 (one-minute datapoints)")
            if not 0 < sc.scale_in_ratio <= 1:
                problems.add(key(spath, "scale_in_ratio"), f"{num(sc.scale_in_ratio)} must be above 0 and at most 1")
            lo, hi = sc.min_tasks, sc.max_tasks
        if not 0 <= sv.desired_count <= TASKS_MAX:
            problems.add(key(path, "desired_count"), f"{sv.desired_count} must be 0-{TASKS_MAX:,}")
        elif sc is not None and not lo <= sv.desired_count <= hi:
            problems.add(key(path, "desired_count"), f"{sv.desired_count} must be within the scaling's"
                                                     f" min_tasks-max_tasks, {lo}-{hi}")
        sp = sv.spot
        if sp is not None:
            ppath = key(path, "spot")
            if not sp.on_demand_base >= 0:
                problems.add(key(ppath, "on_demand_base"), f"{sp.on_demand_base} must be 0 or more")
            for f in ("on_demand_weight", "spot_weight"):
                if not 0 <= getattr(sp, f) <= 1000:
                    problems.add(key(ppath, f), f"{num(getattr(sp, f))} must be 0-1000")
            if sp.on_demand_weight == 0 and sp.spot_weight == 0:
                problems.add(key(ppath, "spot_weight"), "one provider needs a weight above 0")
            if sp.spot_weight > 0 and sv.architecture == "arm64":
                problems.add(key(ppath, "spot_weight"), "Fargate Spot runs x86_64 tasks only (ECS capacity providers"
                                                        " guide): use architecture: x86_64, or spot_weight: 0")
            if sp.spot_weight > 0:
                if sp.interruptions_per_task_hour is None:
                    problems.add(key(ppath, "interruptions_per_task_hour"), "Spot tasks need an interruption rate"
                                 " (AWS publishes none), e.g. 0.01 per task-hour; 0: never interrupted")
                elif not 0 <= sp.interruptions_per_task_hour <= 60:
                    problems.add(key(ppath, "interruptions_per_task_hour"),
                                 f"{num(sp.interruptions_per_task_hour)} must be 0-60")
