"""The per-field rules in one table: numeric ranges and allowed choices, keyed by (dataclass, field)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from scenarios.schema import (
    DIST_PARAMS,
    Account,
    Arrivals,
    AsyncConfig,
    Billing,
    CpuScaling,
    Dist,
    Function,
    ProvisionedStep,
    RateStep,
    Record,
    RequestSampling,
    Retries,
    Scenario,
    SimSettings,
    TraceSampling,
    Traffic,
    Message,
)
from scenarios.messaging import (
    EB_MAX_EVENT_AGE_S,
    EB_MAX_RETRIES,
    EB_MIN_EVENT_AGE_S,
    SNS_DELAY_TARGET_MAX_S,
    SNS_HTTP_MAX_RETRIES,
    ESM_MAX_BATCH_STANDARD,
    ESM_MAX_CONCURRENCY,
    ESM_MAX_WINDOW_S,
    SQS_IN_FLIGHT_LIMIT,
    SQS_MAX_DELAY_S,
    SQS_MAX_MESSAGE_BYTES,
    SQS_MAX_RECEIVE_COUNT,
    SQS_MAX_RETENTION_S,
    SQS_MAX_VISIBILITY_S,
    SQS_MIN_RETENTION_S,
    Bus,
    DeliveryPolicy,
    EventSourceMapping,
    EventTemplate,
    Outage,
    Queue,
    RetryPolicy,
    RuleTarget,
    Subscription,
    Topic,
    WorkerFleet,
)
from scenarios.calls import CALL_COUNT_MAX, Call, Endpoint
from scenarios.slo import FunctionSlo, QueueSlo
from scenarios.vpc import Egress, Flow, NatGateway
from scenarios.yamlpath import num

# Payload limits (docs/FACTS.md, "payloads"): synchronous 6 MB; asynchronous 1 MB (was 256 KB).
SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
ASYNC_PAYLOAD_BYTES = 1024 * 1024
# Function names: letters, digits, hyphens, underscores, at most 64 characters (Lambda CreateFunction).
NAME_MAX_CHARS = 64
# Quotas and ceilings for numbers AWS bounds loosely or not at all. A value past one is refused
# with the ceiling and its source; where AWS raises a quota on request, values past the
# default but within the ceiling get a warning (scenarios.crosscheck.quota_warnings).
# Concurrent executions: default 1,000 per Region, "can be increased up to tens of thousands"
# (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html, FACTS.md "account
# concurrency"); so at most 99,999 -- we refuse above 100,000 and warn above 10,000.
ACCOUNT_CONCURRENCY_MAX = 100_000
ACCOUNT_CONCURRENCY_WARN = 10_000
# Reserved concurrency must leave 100 unreserved (configuration-concurrency.html); AWS fixes it at 100.
MIN_UNRESERVED_AWS = 100
# Scaling: 1,000 environments per 10 s per function (100/s) since 2023, a Region burst of
# 3,000 and +500/min before (FACTS.md "function scaling rate", "scaling rate (before 2023)").
# A burst or refill beyond the largest concurrency AWS grants can never be used.
SCALING_BURST_MAX = ACCOUNT_CONCURRENCY_MAX
SCALING_REFILL_MAX_PER_S = ACCOUNT_CONCURRENCY_MAX
# Lambda gives at most 6 vCPUs (at 10,240 MB; configuration-memory.html, sim.compute.lambda_account
# MAX_VCPU), so a handler's threads beyond 6 gain nothing.
MAX_THREADS = 6
# Not AWS quotas, but ceilings of the simulator, each far beyond practical use:
# SDK retry attempts (AWS SDKs default to 3, and cap none), FIFO message groups (SQS sets no
# quota: quotas-fifo.html; the simulator keeps a filter-table row per class and group), worker
# fleet size (EC2 or container consumers; the kernel keeps state per worker).
CLIENT_MAX_ATTEMPTS = 100
MESSAGE_GROUPS_MAX = 100_000
FLEET_WORKERS_MAX = 100_000
# Hours projected as "a month" (the AWS Pricing Calculator uses 730): sweeps also project
# longer spans (two months, 1,460 h), so the ceiling is a leap year, 366 x 24 = 8,784 h; it
# keeps the cost arithmetic (decimal) finite.
MONTH_H_MAX = 8784
# A flow's mean packet size: at most the largest MTU inside a VPC, 9,001 bytes (jumbo frames; AWS
# VPC user guide, "Network maximum transmission unit (MTU) for your EC2 instance").
PACKET_BYTES_MAX = 9001
# Seeds are stored as 64-bit integers (summary.json, sweep tables).
SEED_MAX = 2**63 - 1
WHY_CONCURRENCY = ("AWS raises an account's concurrency (default 1,000 per Region) on request \"up to tens of"
                   " thousands\" (docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html)")
WHY_BEYOND_CONCURRENCY = "beyond the largest account concurrency AWS grants, so it could never be used"
# Probabilities of an attribute's values must sum to 1 within this.
PROBABILITY_SUM_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Range:
    """An interval of allowed numbers; `lo_open`/`hi_open` exclude the bound itself."""

    lo: Optional[float] = None
    hi: Optional[float] = None
    lo_open: bool = False
    hi_open: bool = False
    unit: str = ""
    # A quota or sanity ceiling, checked after the interval, with the reason it exists (its source).
    ceiling: Optional[float] = None
    why: str = ""

    def allowed(self) -> str:
        """The interval in words, such as `128-10240 MB` or `more than 0 and at most 900 s`."""
        u = f" {self.unit}" if self.unit else ""
        lo, hi = self.lo, self.hi
        if hi is None:
            return f"more than {num(lo)}{u}" if self.lo_open else f"{num(lo)}{u} or more"
        if self.hi_open:
            return f"{num(lo)} to under {num(hi)}{u}"
        if self.lo_open:
            return f"more than {num(lo)} and at most {num(hi)}{u}"
        return f"{num(lo)}-{num(hi)}{u}"

    def check(self, v: float) -> Optional[str]:
        """Why `v` is outside the interval, or None."""
        both = self.lo is not None and self.hi is not None
        suffix = f" (allowed {self.allowed()})" if both else ""
        u = f" {self.unit}" if self.unit and not both else ""
        if self.lo is not None:
            if self.lo_open and v <= self.lo:
                return f"{num(v)} must be greater than {num(self.lo)}{u}{suffix}"
            if not self.lo_open and v < self.lo:
                return f"{num(v)} is below the minimum {num(self.lo)}{u}{suffix}"
        if self.hi is not None:
            if self.hi_open and v >= self.hi:
                return f"{num(v)} must be below {num(self.hi)}{u}{suffix}"
            if not self.hi_open and v > self.hi:
                return f"{num(v)} is above the maximum {num(self.hi)}{u}{suffix}"
        if self.ceiling is not None and v > self.ceiling:
            unit = f" {self.unit}" if self.unit else ""
            return f"{num(v)} is above the ceiling {num(self.ceiling)}{unit}: {self.why}"
        return None


def positive(unit: str = "", ceiling: Optional[float] = None, why: str = "") -> Range:
    return Range(lo=0, lo_open=True, unit=unit, ceiling=ceiling, why=why)


def at_least(lo: float, unit: str = "", ceiling: Optional[float] = None, why: str = "") -> Range:
    return Range(lo=lo, unit=unit, ceiling=ceiling, why=why)


def between(lo: float, hi: float, unit: str = "") -> Range:
    return Range(lo=lo, hi=hi, unit=unit)


FRACTION = between(0, 1)

# (dataclass, field) -> allowed numbers; None values (optional fields left unset) are not checked.
RANGES: Dict[Tuple[type, str], Range] = {
    (Scenario, "duration_s"): positive("s"),
    (Scenario, "seed"): at_least(0, ceiling=SEED_MAX, why="seeds are stored as 64-bit integers"),
    (Account, "concurrency_limit"): at_least(1, ceiling=ACCOUNT_CONCURRENCY_MAX, why=WHY_CONCURRENCY),
    (Account, "scaling_burst"): at_least(1, ceiling=SCALING_BURST_MAX, why=WHY_BEYOND_CONCURRENCY),
    (Account, "scaling_refill_per_s"): positive("per s", ceiling=SCALING_REFILL_MAX_PER_S, why=WHY_BEYOND_CONCURRENCY),
    (Account, "min_unreserved_concurrency"): at_least(0, ceiling=ACCOUNT_CONCURRENCY_MAX, why=WHY_CONCURRENCY),
    (Function, "memory_mb"): between(128, 10240, "MB"),
    (Function, "timeout_s"): Range(lo=0, hi=900, lo_open=True, unit="s"),
    (Function, "reserved_concurrency"): at_least(0, ceiling=ACCOUNT_CONCURRENCY_MAX, why=WHY_CONCURRENCY),
    (Function, "provisioned_concurrency"): at_least(0, ceiling=ACCOUNT_CONCURRENCY_MAX, why=WHY_CONCURRENCY),
    (Function, "ephemeral_storage_mb"): between(512, 10240, "MB"),
    (Function, "error_rate"): FRACTION,
    (ProvisionedStep, "at_s"): at_least(0, "s"),
    (ProvisionedStep, "count"): at_least(0, ceiling=ACCOUNT_CONCURRENCY_MAX, why=WHY_CONCURRENCY),
    (CpuScaling, "reference_memory_mb"): between(128, 10240, "MB"),
    (CpuScaling, "cpu_bound_fraction"): FRACTION,
    (CpuScaling, "max_threads"): at_least(1, ceiling=MAX_THREADS, why="Lambda gives a function at most 6 vCPUs"
                                                                 " (at 10,240 MB), so more threads gain nothing"),
    (AsyncConfig, "max_retry_attempts"): between(0, 2),
    (AsyncConfig, "max_event_age_s"): between(60, 21600, "s"),
    (Dist, "value"): at_least(0),
    (Dist, "mean"): positive(),
    (Dist, "median"): positive(),
    (Dist, "p99"): positive(),
    (Dist, "sigma"): positive(),
    (Dist, "low"): at_least(0),
    (Dist, "high"): at_least(0),
    (Arrivals, "rate_per_s"): positive("per s"),
    (Arrivals, "peak_to_trough"): at_least(1),
    (Arrivals, "peak_time_h"): Range(lo=0, hi=24, hi_open=True, unit="h"),
    (RateStep, "at_s"): at_least(0, "s"),
    (RateStep, "rate_per_s"): at_least(0, "per s"),
    (Message, "size_bytes"): at_least(0, "bytes"),
    (Retries, "max_attempts"): at_least(1, ceiling=CLIENT_MAX_ATTEMPTS, why="the simulator's ceiling for client"
                                                                      " attempts (AWS SDKs default to 3)"),
    (Retries, "base_delay_s"): positive("s"),
    (Retries, "max_delay_s"): positive("s"),
    (Traffic, "start_s"): at_least(0, "s"),
    (Record, "period_s"): positive("s"),
    (RequestSampling, "sample"): FRACTION,
    (RequestSampling, "first_n"): at_least(0),
    (TraceSampling, "sample"): FRACTION,
    (TraceSampling, "first_n"): at_least(0),
    (SimSettings, "window_s"): positive("s"),
    (SimSettings, "max_memory_mb"): positive("MB"),
    (Billing, "month_h"): positive("h", ceiling=MONTH_H_MAX, why="a leap year of hours, the longest projection"
                                                           " (the AWS Pricing Calculator's month is 730 h)"),
    (Message, "groups"): at_least(1, ceiling=MESSAGE_GROUPS_MAX, why="the simulator's ceiling (SQS sets no quota"
                                                                 " on message groups; each costs a filter-table row)"),
    (FunctionSlo, "latency_p99_ms"): positive("ms"),
    (FunctionSlo, "throttle_ratio_max"): FRACTION,
    (FunctionSlo, "error_ratio_max"): FRACTION,
    (QueueSlo, "age_of_oldest_max_s"): positive("s"),
    (Queue, "visibility_timeout_s"): between(0, SQS_MAX_VISIBILITY_S, "s"),
    (Queue, "retention_s"): between(SQS_MIN_RETENTION_S, SQS_MAX_RETENTION_S, "s"),
    (Queue, "delay_s"): between(0, SQS_MAX_DELAY_S, "s"),
    (Queue, "max_receive_count"): between(1, SQS_MAX_RECEIVE_COUNT),
    (Queue, "in_flight_limit"): between(1, SQS_IN_FLIGHT_LIMIT),
    (EventSourceMapping, "batch_size"): between(1, ESM_MAX_BATCH_STANDARD),
    (EventSourceMapping, "batching_window_s"): between(0, ESM_MAX_WINDOW_S, "s"),
    (EventSourceMapping, "max_concurrency"): between(*ESM_MAX_CONCURRENCY),
    (EventSourceMapping, "item_failure_rate"): FRACTION,
    (WorkerFleet, "workers"): at_least(1, ceiling=FLEET_WORKERS_MAX, why="the simulator's ceiling for one fleet"
                                                                     " (it keeps state per worker)"),
    (WorkerFleet, "max_messages"): between(1, 10),
    (WorkerFleet, "error_rate"): FRACTION,
    (Outage, "start_s"): at_least(0, "s"),
    (Outage, "end_s"): at_least(0, "s"),
    (Subscription, "failure_rate"): FRACTION,
    (DeliveryPolicy, "min_delay_target_s"): between(1, SNS_DELAY_TARGET_MAX_S, "s"),
    (DeliveryPolicy, "max_delay_target_s"): between(1, SNS_DELAY_TARGET_MAX_S, "s"),
    (DeliveryPolicy, "num_retries"): between(0, SNS_HTTP_MAX_RETRIES),
    (DeliveryPolicy, "num_no_delay_retries"): between(0, SNS_HTTP_MAX_RETRIES),
    (DeliveryPolicy, "num_min_delay_retries"): between(0, SNS_HTTP_MAX_RETRIES),
    (DeliveryPolicy, "num_max_delay_retries"): between(0, SNS_HTTP_MAX_RETRIES),
    (RuleTarget, "failure_rate"): FRACTION,
    (RetryPolicy, "maximum_retry_attempts"): between(0, EB_MAX_RETRIES),
    (RetryPolicy, "maximum_event_age_s"): between(EB_MIN_EVENT_AGE_S, EB_MAX_EVENT_AGE_S, "s"),
    (Bus, "put_events_per_s"): positive("per s"),
    (Bus, "invocations_per_s"): positive("per s"),
    (EventTemplate, "weight"): positive(),
    (Call, "probability"): FRACTION,
    (Call, "count"): at_least(1, ceiling=CALL_COUNT_MAX, why="the simulator's ceiling for one entry's calls per invocation"),
    (Call, "size_bytes"): at_least(0, "bytes"),
    (Call, "max_attempts"): at_least(1, ceiling=CLIENT_MAX_ATTEMPTS, why="the simulator's ceiling for SDK attempts"
                                                                   " (the AWS SDKs default to 3)"),
    (Egress, "packet_bytes"): Range(lo=0, hi=PACKET_BYTES_MAX, lo_open=True, unit="bytes"),
    (Egress, "rtt_ms"): positive("ms"),
    (Flow, "packet_bytes"): Range(lo=0, hi=PACKET_BYTES_MAX, lo_open=True, unit="bytes"),
    (Flow, "rtt_ms"): positive("ms"),
    (NatGateway, "scale_threshold"): Range(lo=0, hi=1, lo_open=True),
    (NatGateway, "scale_interval_s"): positive("s"),
    (Egress, "probability"): FRACTION,  # an egress entry is made as a call is
    (Egress, "count"): at_least(1, ceiling=CALL_COUNT_MAX, why="the simulator's ceiling for one entry's calls per invocation"),
    (Endpoint, "error_rate"): FRACTION,
    (Endpoint, "rate_limit_per_s"): positive("per s"),
    (Endpoint, "burst"): at_least(1),
    (Endpoint, "max_concurrency"): at_least(1),
}

# (dataclass, field) -> the allowed strings.
CHOICES: Dict[Tuple[type, str], Tuple[str, ...]] = {
    (Account, "scaling_model"): ("per_function", "region_burst"),
    (Function, "arch"): ("x86_64", "arm64"),
    (Dist, "dist"): tuple(DIST_PARAMS),
    (Arrivals, "kind"): ("constant", "poisson", "diurnal", "steps", "trace"),
    (Traffic, "invocation"): ("sync", "async"),
    (Retries, "jitter"): ("full", "equal", "none"),
    (Call, "mode"): ("sync", "async"),
    (Call, "at"): ("start", "end"),
    (Call, "on_error"): ("fail", "continue"),
    (Egress, "at"): ("start", "end"),
    (Queue, "type"): ("standard", "fifo"),
    (Topic, "type"): ("standard", "fifo"),
    (EventSourceMapping, "scaling"): ("current", "legacy"),
    (Subscription, "protocol"): ("sqs", "lambda", "https", "email"),
    (Subscription, "filter_policy_scope"): ("MessageAttributes", "MessageBody"),
    (DeliveryPolicy, "backoff_function"): ("arithmetic", "exponential", "geometric", "linear"),
}

# What each distribution takes, in words, and which parameters it requires.
DIST_TAKES = {
    "fixed": "value",
    "exponential": "mean",
    "lognormal": "median and p99, or mu and sigma",
    "uniform": "low and high",
    "empirical": "file (and optionally column)",
}
DIST_REQUIRED = {"fixed": ("value",), "exponential": ("mean",), "uniform": ("low", "high"), "empirical": ("file",)}
LOGNORMAL_FORMS = (("median", "p99"), ("mu", "sigma"))

# The parameters each arrivals kind takes; `kind` itself and ones it needs.
ARRIVALS_PARAMS = {
    "constant": ("rate_per_s",),
    "poisson": ("rate_per_s",),
    "diurnal": ("rate_per_s", "peak_to_trough", "peak_time_h"),
    "steps": ("steps",),
    "trace": ("file", "time_column", "duration_column"),
}
ARRIVALS_REQUIRED = {"constant": "rate_per_s", "poisson": "rate_per_s", "diurnal": "rate_per_s",
                     "steps": "steps", "trace": "file"}

# SNS publish and EventBridge PutEvents entry sizes (docs/FACTS.md: 256 KB messages and entries).
SNS_MAX_MESSAGE_BYTES = 256 * 1024
EB_MAX_ENTRY_BYTES = 256 * 1024

DATA_FILE_SUFFIXES = (".csv", ".parquet")
