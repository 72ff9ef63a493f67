"""Typed schema of the messaging services: SQS queues, event source mappings, worker fleets,
SNS topics and EventBridge buses. Pure data, like `scenarios.schema`; defaults are AWS's own,
with their sources (docs/FACTS.md rows) in the comments. Cross-field checks: `scenarios.messaging_check`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from scenarios.common import Dist

# SQS quotas and defaults (docs/FACTS.md "SQS and the Lambda event source mapping";
# sqs-visibility-timeout.md, quotas-messages.html, quotas).
SQS_IN_FLIGHT_LIMIT = 120_000
SQS_MAX_VISIBILITY_S = 43_200  # 12 h
SQS_MIN_RETENTION_S, SQS_MAX_RETENTION_S = 60, 1_209_600  # 60 s - 14 days
SQS_MAX_DELAY_S = 900  # 15 min (DelaySeconds)
SQS_MAX_RECEIVE_COUNT = 1000  # redrive policy maxReceiveCount 1-1,000
SQS_MAX_MESSAGE_BYTES = 256 * 1024  # a message is at most 256 KiB (1 MiB since 2025 for some SDKs; we keep 256 KiB)
# Event source mapping (with-sqs.md; lambda API ScalingConfig).
ESM_MAX_BATCH_STANDARD = 10_000
ESM_MAX_BATCH_FIFO = 10
ESM_MAX_WINDOW_S = 300
ESM_BATCH_ABOVE_10_NEEDS_WINDOW_S = 1
ESM_MAX_CONCURRENCY = (2, 1000)
# EventBridge (eb-quota, eb-rule-dlq): 5 targets per rule, 300 rules per bus, PutEvents and
# invocation quotas per Region, retries 0-185 over at most 24 h.
EB_MAX_TARGETS = 5
EB_MAX_RULES = 300
EB_PUT_EVENTS_PER_S = {"us-east-1": 10_000, "us-west-2": 10_000, "eu-west-1": 10_000}
EB_PUT_EVENTS_PER_S_OTHER = 2_400  # smaller Regions (eb-quota); used when the Region is not listed
EB_INVOCATIONS_PER_S = {"us-east-1": 18_750, "us-west-2": 18_750, "eu-west-1": 18_750}
EB_INVOCATIONS_PER_S_OTHER = 4_500
EB_MAX_RETRIES = 185
EB_MIN_EVENT_AGE_S, EB_MAX_EVENT_AGE_S = 60, 86_400
# SNS HTTP/S delivery policies (sns-message-delivery-retries.html): numRetries 0-100, the
# retries in at most 3,600 s, delay targets 1-3,600 s.
SNS_HTTP_MAX_RETRIES = 100
SNS_HTTP_MAX_TOTAL_S = 3600
SNS_DELAY_TARGET_MAX_S = 3600


@dataclass
class Queue:
    """An SQS queue."""

    type: str = "standard"  # standard | fifo
    visibility_timeout_s: float = 30.0  # AWS default 30 s, 0-12 h
    retention_s: float = 345_600.0  # AWS default 4 days, 60 s - 14 days
    delay_s: float = 0.0  # DelaySeconds, 0-900 s
    max_receive_count: Optional[int] = None  # redrive policy; needs dead_letter_queue
    dead_letter_queue: Optional[str] = None  # a queue of the same type
    in_flight_limit: Optional[int] = None  # None: 120,000 (quotas)


@dataclass
class EventSourceMapping:
    """Lambda polling an SQS queue (with-sqs.md, services-sqs-scaling.html)."""

    source: str = ""  # queue name
    function: str = ""
    batch_size: int = 10  # AWS default 10; 1-10,000 standard, 1-10 FIFO
    batching_window_s: float = 0.0  # MaximumBatchingWindowInSeconds, 0-300 (standard queues)
    max_concurrency: Optional[int] = None  # ScalingConfig.MaximumConcurrency, 2-1,000
    report_batch_item_failures: bool = False  # FunctionResponseTypes: ReportBatchItemFailures
    item_failure_rate: float = 0.0  # share of a successful batch's messages the function reports failed
    scaling: str = "current"  # current: 5 + 300/min up to 1,250; legacy: 5 + 60/min up to 1,000


@dataclass
class WorkerFleet:
    """Non-Lambda consumers (EC2, containers) long-polling a queue: the pull model."""

    queue: str = ""
    workers: int = 1
    max_messages: int = 10  # MaxNumberOfMessages per ReceiveMessage, 1-10
    processing_ms: Dist = field(default_factory=lambda: Dist(dist="fixed", value=100.0))  # per message
    error_rate: float = 0.0  # per message: not deleted, returns after the visibility timeout


@dataclass
class Outage:
    """An endpoint outage: every delivery attempt in [start_s, end_s) fails."""

    start_s: float = 0.0
    end_s: float = 0.0


@dataclass
class DeliveryPolicy:
    """SNS HTTP/S delivery retry policy (sns-message-delivery-retries.html); AWS's default."""

    min_delay_target_s: float = 20.0
    max_delay_target_s: float = 20.0
    num_retries: int = 3  # 0-100
    num_no_delay_retries: int = 0
    num_min_delay_retries: int = 0
    num_max_delay_retries: int = 0
    backoff_function: str = "linear"  # arithmetic | exponential | geometric | linear


@dataclass
class Subscription:
    """An SNS subscription."""

    protocol: str = "sqs"  # sqs | lambda | https | email
    endpoint: str = ""  # queue name (sqs), function name (lambda), URL (https), address (email)
    filter_policy: Optional[Dict[str, Any]] = None  # None: every message
    filter_policy_scope: str = "MessageAttributes"  # MessageAttributes | MessageBody
    delivery_latency_ms: Optional[Dist] = None  # None: the protocol's default (see sim.messaging.sns)
    failure_rate: float = 0.0  # per delivery attempt (endpoint errors)
    outages: List[Outage] = field(default_factory=list)
    delivery_policy: Optional[DeliveryPolicy] = None  # https only; None: AWS's default
    dead_letter_queue: Optional[str] = None  # redrive policy of the subscription


@dataclass
class Topic:
    """An SNS topic."""

    type: str = "standard"  # standard | fifo
    subscriptions: List[Subscription] = field(default_factory=list)


@dataclass
class RetryPolicy:
    """EventBridge target retry policy (eb-rule-dlq); AWS's defaults."""

    maximum_retry_attempts: int = 185  # 0-185
    maximum_event_age_s: float = 86_400.0  # 60 s - 24 h


@dataclass
class RuleTarget:
    """A target of an EventBridge rule."""

    target: str = ""  # function:NAME | queue:NAME | https:URL (an API destination)
    delivery_latency_ms: Optional[Dist] = None  # None: the kind's default (see sim.messaging.eventbridge)
    failure_rate: float = 0.0  # per invocation attempt
    outages: List[Outage] = field(default_factory=list)
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    dead_letter_queue: Optional[str] = None


@dataclass
class Rule:
    """An EventBridge rule: an event pattern and up to 5 targets."""

    event_pattern: Dict[str, Any] = field(default_factory=dict)
    targets: List[RuleTarget] = field(default_factory=list)


@dataclass
class Bus:
    """An EventBridge event bus."""

    put_events_per_s: Optional[float] = None  # None: the Region's PutEvents quota (eb-quota)
    invocations_per_s: Optional[float] = None  # None: the Region's target-invocation quota
    rules: Dict[str, Rule] = field(default_factory=dict)


@dataclass
class EventTemplate:
    """An event traffic sends to a bus, with its share of the traffic."""

    event: Dict[str, Any] = field(default_factory=dict)  # source, detail-type, detail, ...
    weight: float = 1.0
