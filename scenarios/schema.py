"""Typed scenario schema: the dataclasses a validated scenario is made of.

Every field carries its unit in its name. Defaults are AWS's own where AWS has one
(sources in the field comments); they are registered in Hydra's ConfigStore by
`scenarios.store`. These classes are pure data: nothing here imports `sim/` or `kernels/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

# Dist lives in scenarios.common (the service modules use it too); the services' dataclasses
# live in their own modules. All are re-exported here: `from scenarios.schema import Queue` works.
from scenarios.calls import Call, Endpoint
from scenarios.api import Api
from scenarios.mq import Broker  # noqa: F401
from scenarios.state import Bucket, Table
from scenarios.common import DIST_PARAMS, Dist  # noqa: F401
from scenarios.containers import Service
from scenarios.outposts import Outpost
from scenarios.messaging import Bus, EventSourceMapping, EventTemplate, Queue, Topic, WorkerFleet  # noqa: F401
from scenarios.slo import Slo
from scenarios.swf import SwfWorkflow
from scenarios.vpc import DirectConnect, Egress, Flow, FunctionVpc, TransitGateway, Vpc
from scenarios.workflows import StateMachine


@dataclass
class Account:
    """The AWS account's Lambda quotas in the scenario's Region."""

    # Default 1,000 per Region (gettingstarted-limits.html).
    concurrency_limit: int = 1000
    # "per_function": each function adds <= 1,000 environments per 10 s, refilled
    # continuously (scaling-behavior.html, since 2023). "region_burst": the pre-2023 rule,
    # a Region-wide burst (3,000 / 1,000 / 500 by Region) then +500 per minute.
    scaling_model: str = "per_function"
    scaling_burst: Optional[int] = None  # None: AWS's figure for the model (and Region)
    scaling_refill_per_s: Optional[float] = None  # None: 100/s per function, or 500/60 per s
    # Reserved concurrency must leave at least this many unreserved (configuration-concurrency.html).
    min_unreserved_concurrency: int = 100
    # API Gateway's account throttle per Region, across its APIs: 10,000 requests a second with a
    # bucket of 5,000 (FACTS "API Gateway", apigateway limits; some newer Regions 2,500 / 1,250).
    api_gateway_rate_per_s: float = 10_000.0
    api_gateway_burst: float = 5_000.0


@dataclass
class ProvisionedStep:
    """From `at_s` on, the function keeps `count` provisioned environments."""

    at_s: float = 0.0
    count: int = 0


@dataclass
class CpuScaling:
    """Duration scaling with memory: CPU is proportional to memory, 1,769 MB = 1 vCPU."""

    reference_memory_mb: int = 1769  # memory at which `duration_ms` was measured
    cpu_bound_fraction: float = 1.0  # share of the duration that scales with CPU
    max_threads: int = 1  # a single-threaded handler gains nothing beyond 1 vCPU


@dataclass
class AsyncConfig:
    """Asynchronous invocation settings (PutFunctionEventInvokeConfig)."""

    max_retry_attempts: int = 2  # 0-2, AWS default 2
    max_event_age_s: float = 21600.0  # 60 s - 6 h, AWS default 6 h
    on_failure: Optional[str] = None  # a destination; None drops (counted)


@dataclass
class Function:
    """One Lambda function."""

    memory_mb: int = 128  # 128-10,240 MB
    arch: str = "x86_64"  # x86_64 | arm64
    timeout_s: float = 3.0  # AWS default 3 s, max 900 s
    reserved_concurrency: Optional[int] = None
    provisioned_concurrency: int = 0
    provisioned_schedule: List[ProvisionedStep] = field(default_factory=list)  # steps at or after the end never happen
    ephemeral_storage_mb: int = 512  # 512-10,240 MB
    duration_ms: Dist = field(default_factory=lambda: Dist(dist="fixed", value=100.0))
    init_ms: Dist = field(default_factory=lambda: Dist(dist="fixed", value=250.0))
    idle_expiry_s: Dist = field(default_factory=lambda: Dist(dist="fixed", value=600.0))
    error_rate: float = 0.0
    cpu_scaling: Optional[CpuScaling] = None
    async_invoke: AsyncConfig = field(default_factory=AsyncConfig)
    calls: List[Call] = field(default_factory=list)  # made during each invocation (scenarios/calls.py)
    vpc: Optional[FunctionVpc] = None  # None: not in a VPC (AWS's default: Lambda's own network)
    egress: List[Egress] = field(default_factory=list)  # flows each invocation sends from its VPC


@dataclass
class RateStep:
    """From `at_s` on, arrivals come at `rate_per_s`."""

    at_s: float = 0.0
    rate_per_s: float = 0.0


@dataclass
class Arrivals:
    """An arrival process."""

    kind: str = "poisson"  # constant | poisson | diurnal | steps | trace
    rate_per_s: Optional[float] = None  # constant, poisson; the 24 h mean for diurnal
    peak_to_trough: float = 2.0  # diurnal: max rate / min rate
    peak_time_h: float = 12.0  # diurnal: hour of the day of the peak
    steps: List[RateStep] = field(default_factory=list)  # steps (Poisson within each step)
    file: Optional[str] = None  # trace: CSV or parquet
    time_column: str = "t_s"  # trace: arrival times, seconds from the scenario start
    duration_column: Optional[str] = None  # trace: optional per-request duration, ms


@dataclass
class Retries:
    """Client retries of a throttled synchronous call: exponential backoff with jitter."""

    max_attempts: int = 1  # total attempts including the first; 1 = no retry
    base_delay_s: float = 0.1
    max_delay_s: float = 20.0
    jitter: str = "full"  # full | equal | none


@dataclass
class Message:
    """What each request carries."""

    size_bytes: int = 1024
    # attribute -> value -> probability; the finite classes filters are evaluated on. SNS
    # filter policies see them as MessageAttributes, or (scope MessageBody) as the JSON body.
    attributes: Dict[str, Dict[str, float]] = field(default_factory=dict)
    groups: int = 1  # FIFO targets: message groups, each message in one at random (uniform)


@dataclass
class Traffic:
    """One traffic source."""

    name: str = ""
    target: str = ""  # function:NAME | queue:NAME | topic:NAME | bus:NAME | api:NAME/ROUTE
    invocation: str = "sync"  # sync | async, for function targets
    usage_plan: Optional[str] = None  # an api target's REST usage plan (scenarios/api.py)
    events: List["EventTemplate"] = field(default_factory=list)  # bus targets: weighted event templates
    arrivals: Arrivals = field(default_factory=Arrivals)
    message: Message = field(default_factory=Message)
    retries: Retries = field(default_factory=Retries)
    start_s: float = 0.0
    end_s: Optional[float] = None  # None: the scenario's end


@dataclass
class RequestSampling:
    """Which requests get a row in requests.parquet."""

    sample: float = 0.0  # fraction of requests, chosen by a hash of the request id
    first_n: int = 0  # plus the first N requests


@dataclass
class TraceSampling:
    """Which requests are traced: their spans go into traces.parquet (docs/DESIGN.md §5).

    As for requests: a request (a trace, which starts at an arrival of a traffic source) is
    chosen by a hash of its id with probability `sample`, plus the first `first_n`; both 0
    (the default) record no trace.
    """

    sample: float = 0.0  # fraction of requests, chosen by a hash of the request id
    first_n: int = 0  # plus the first N requests


@dataclass
class Record:
    period_s: float = 60.0  # CloudWatch-style period
    requests: RequestSampling = field(default_factory=RequestSampling)
    traces: TraceSampling = field(default_factory=TraceSampling)
    # write report.html: true, false, or "auto": a single run draws it, a sweep's job does not
    # (its numbers are in sweep.parquet and sweep_report.html; drawing each job's plots took
    # about half a job's time; `cloudtwin-report DIR` draws a job's page when it is wanted).
    # int is in the Union for OmegaConf only (scenarios.coerce).
    report: Union[bool, str] = field(default="auto", metadata={"words": ("auto",)})


@dataclass
class SimSettings:
    # Data-plane window, seconds > 0, or "auto": the clock sizes each window for speed
    # (sim.engine.clock: about AUTO_WINDOW_ITEMS items per window). Outcomes do not depend on it.
    # The only string allowed is "auto" (the metadata's words; scenarios.coerce); int is in the
    # Union for OmegaConf.structured, whose unions take no int as a float.
    window_s: Union[float, int, str] = field(default="auto", metadata={"words": ("auto",)})
    progress: bool = True  # progress bar over simulated time (CLI)
    # Memory a run may use, in MB; null: 80 % of the memory available when it starts
    # (sim.engine.budget estimates a run's need before it starts and refuses what exceeds this).
    max_memory_mb: Optional[float] = None


@dataclass
class Billing:
    free_tier: bool = False
    month_h: float = 730.0  # as the AWS Pricing Calculator


@dataclass
class Scenario:
    """A whole architecture plus its traffic."""

    name: str = "scenario"
    duration_s: float = 3600.0
    seed: int = 0
    region: str = "us-east-1"
    account: Account = field(default_factory=Account)
    functions: Dict[str, Function] = field(default_factory=dict)
    queues: Dict[str, "Queue"] = field(default_factory=dict)
    event_source_mappings: List["EventSourceMapping"] = field(default_factory=list)
    worker_fleets: Dict[str, "WorkerFleet"] = field(default_factory=dict)
    topics: Dict[str, "Topic"] = field(default_factory=dict)
    buses: Dict[str, "Bus"] = field(default_factory=dict)
    endpoints: Dict[str, Endpoint] = field(default_factory=dict)  # HTTP APIs outside AWS that functions call
    tables: Dict[str, Table] = field(default_factory=dict)  # DynamoDB tables (scenarios/state.py)
    apis: Dict[str, Api] = field(default_factory=dict)  # API Gateway REST and HTTP APIs (scenarios/api.py)
    buckets: Dict[str, Bucket] = field(default_factory=dict)  # S3 buckets (scenarios/state.py)
    # Step Functions state machines (scenarios/workflows.py)
    state_machines: Dict[str, StateMachine] = field(default_factory=dict)
    # ECS services on Fargate behind their load balancers (scenarios/containers.py)
    services: Dict[str, Service] = field(default_factory=dict)
    # AWS Outposts racks: instance slots per type, EC2 workloads, services placed on them (scenarios/outposts.py)
    outposts: Dict[str, Outpost] = field(default_factory=dict)
    # Amazon SWF workflow types (scenarios/swf.py), simulated by sim/integration/swf.py
    swf_workflows: Dict[str, SwfWorkflow] = field(default_factory=dict)
    brokers: Dict[str, Broker] = field(default_factory=dict)  # Amazon MQ brokers (scenarios/mq.py)
    traffic: List[Traffic] = field(default_factory=list)
    record: Record = field(default_factory=Record)
    sim: SimSettings = field(default_factory=SimSettings)
    billing: Billing = field(default_factory=Billing)
    # VPC networking (scenarios/vpc.py): networks, transit gateways, and flows between hosts
    vpcs: Dict[str, Vpc] = field(default_factory=dict)
    transit_gateways: Dict[str, TransitGateway] = field(default_factory=dict)
    direct_connect: DirectConnect = field(default_factory=DirectConnect)  # connections and LAGs
    flows: List[Flow] = field(default_factory=list)
    # Service level objectives (scenarios/slo.py): lines in the report, a check on the terminal
    slo: Slo = field(default_factory=Slo)

