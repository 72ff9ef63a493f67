"""Typed schema of Amazon MQ brokers (`brokers`) and their checks (pure data).

Semantics: `sim/messaging/mq.py` (the model and its assumptions) and `kernels/broker.py`.
Traffic sources are the producers: `target: broker:NAME/QUEUE` sends each arrival to that
queue as one persistent message of the source's `message.size_bytes`. Each queue has a pool of
consumers (like an SQS worker fleet) that take its messages first come, first served.

Facts, with their sources (AWS's Amazon MQ Developer Guide and Migration Guide, read in
awsdocs/amazon-mq-developer-guide and awsdocs/amazon-mq-migration-guide on GitHub):
- ActiveMQ instance types (broker-instance-types, activemq-broker-instance-types): mq.t2.micro,
  mq.t3.micro, mq.m4.large, mq.m5.large (2 vCPU, 8 GiB), mq.m5.xlarge, mq.m5.2xlarge,
  mq.m5.4xlarge; EBS only with the mq.m5 family (broker-storage). mq.m4.large (an earlier
  generation, no throughput figure and no price here) is not simulated.
- RabbitMQ (rabbitmq-sizing-guidelines, upgrading-instance-type): mq.t3.micro and mq.m5.large to
  mq.m5.4xlarge, and mq.m7g types (not simulated: no price here); storage is EBS only.
- Deployments: ActiveMQ single-instance (one broker, EFS or EBS) or active/standby (two brokers
  in two AZs sharing EFS; EBS "doesn't support the ActiveMQ active/standby deployment mode",
  broker-storage); RabbitMQ single-instance or a cluster of three nodes (working-with-rabbitmq).
- Storage capacity per broker: 200 GB (amazon-mq-limits, "Data Storage").
- Failover: active/standby "when you reboot a broker, the failover takes only a few seconds"
  (active-standby-broker-deployment): 5 s is our reading of "a few"; a single-instance broker
  is offline while it reboots, which "takes about 5 minutes" (amazon-mq-rebooting-broker): 300 s.
  A RabbitMQ cluster's node failure: our assumption, as an active/standby failover (5 s).
- Redelivery (Apache ActiveMQ's RedeliveryPolicy defaults, activemq.apache.org
  redelivery-policy): initialRedeliveryDelay 1,000 ms, maximumRedeliveries 6, then the message
  goes to the dead-letter queue (ActiveMQ.DLQ).
- concurrentStoreAndDispatchQueues: on by default ("By default, Amazon MQ optimizes for queues
  with fast consumers", ensuring-effective-amazon-mq-performance).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from scenarios.common import Dist
from scenarios.errors import Problems
from scenarios.yamlpath import index, key, num

ENGINES = ("activemq", "rabbitmq")
INSTANCE_TYPES: Dict[str, tuple] = {
    "activemq": ("mq.t2.micro", "mq.t3.micro", "mq.m5.large", "mq.m5.xlarge", "mq.m5.2xlarge", "mq.m5.4xlarge"),
    "rabbitmq": ("mq.t3.micro", "mq.m5.large", "mq.m5.xlarge", "mq.m5.2xlarge", "mq.m5.4xlarge"),
}
DEPLOYMENTS: Dict[str, tuple] = {"activemq": ("single_instance", "active_standby"),
                                 "rabbitmq": ("single_instance", "cluster")}
# Broker instances each deployment runs (and bills): active/standby two, a RabbitMQ cluster three.
INSTANCES: Dict[str, int] = {"single_instance": 1, "active_standby": 2, "cluster": 3}
STORAGES: Dict[str, tuple] = {"activemq": ("efs", "ebs"), "rabbitmq": ("ebs",)}
DEFAULT_STORAGE = {"activemq": "efs", "rabbitmq": "ebs"}  # ActiveMQ brokers use EFS by default (broker-storage)
EBS_TYPES = ("mq.m5.large", "mq.m5.xlarge", "mq.m5.2xlarge", "mq.m5.4xlarge")  # EBS: mq.m5 only (broker-storage)
STORAGE_MAX_GB = 200.0  # storage capacity per broker (amazon-mq-limits)
FAILOVER_S = {"single_instance": 300.0, "active_standby": 5.0, "cluster": 5.0}  # module docstring
REDELIVERY_DELAY_S = 1.0  # ActiveMQ RedeliveryPolicy initialRedeliveryDelay 1,000 ms
MAX_REDELIVERIES = 6  # ActiveMQ RedeliveryPolicy maximumRedeliveries
MAX_REDELIVERIES_LIMIT = 1000  # ours: a bound for the checks (the simulator draws per delivery)


@dataclass
class Consumers:
    """A queue's consumers: `workers` processes with `concurrency` sessions each, every session
    processing one message at a time and acknowledging it when done (the pull model of an SQS
    worker fleet, with the broker pushing instead)."""

    workers: int = 1
    concurrency: int = 1  # sessions per worker, each one message at a time
    processing_ms: Dist = field(default_factory=lambda: Dist(dist="fixed", value=100.0))  # per message
    failure_rate: float = 0.0  # per delivery: not acknowledged (rolled back), redelivered
    redelivery_delay_s: float = REDELIVERY_DELAY_S  # ActiveMQ RedeliveryPolicy initialRedeliveryDelay
    max_redeliveries: int = MAX_REDELIVERIES  # then dead-lettered (ActiveMQ.DLQ)


@dataclass
class BrokerQueue:
    """A queue of a broker, with its consumers."""

    consumers: Consumers = field(default_factory=Consumers)
    max_messages: Optional[int] = None  # messages it holds at most (stored, unacknowledged); None: the store's bound


@dataclass
class BrokerFailure:
    """A broker failure at `at_s`: the broker accepts and delivers nothing for its failover."""

    at_s: float = 0.0


@dataclass
class Broker:
    """An Amazon MQ broker."""

    engine: str = "activemq"  # activemq | rabbitmq
    instance_type: str = "mq.m5.large"
    # activemq: single_instance | active_standby; rabbitmq: single_instance | cluster
    deployment: str = "single_instance"
    storage: Optional[str] = None  # efs (durability optimized) | ebs (throughput optimized); None: the engine's default
    storage_gb: float = 1.0  # storage billed (GB-month); our simplification: AWS bills what the broker uses
    # sends are refused when the stored messages would pass it (StorePercentUsage 100)
    store_limit_gb: float = STORAGE_MAX_GB
    # ActiveMQ concurrentStoreAndDispatchQueues (default on); selects AWS's throughput figures (sim/messaging/mq.py)
    concurrent_store_and_dispatch: bool = True
    queues: Dict[str, BrokerQueue] = field(default_factory=dict)
    failures: List[BrokerFailure] = field(default_factory=list)  # scheduled failures
    failure_rate_per_h: float = 0.0  # and random ones, a Poisson process (none by default: our assumption)
    failover_s: Optional[float] = None  # None: the deployment's (active/standby 5 s, single instance 300 s)


def failover_s(b: Broker) -> float:
    """How long a failure keeps broker `b` down, seconds."""
    return FAILOVER_S.get(b.deployment, 5.0) if b.failover_s is None else b.failover_s


def storage_of(b: Broker) -> str:
    """Broker `b`'s storage type (its engine's default when not given)."""
    return b.storage if b.storage is not None else DEFAULT_STORAGE.get(b.engine, "efs")


def check_brokers(s, problems: Problems) -> None:
    """Every cross-field problem of the brokers (traffic's `broker:` targets are checked with the
    other addresses, scenarios.crosscheck)."""
    for name, b in (getattr(s, "brokers", None) or {}).items():
        path = key("brokers", name)
        if "/" in name:
            problems.add(path, "a broker's name cannot hold '/': targets are broker:NAME/QUEUE")
        if b.engine not in ENGINES:
            problems.add(key(path, "engine"), f"{b.engine!r} is not an Amazon MQ engine; allowed: {', '.join(ENGINES)}")
            continue
        types = INSTANCE_TYPES[b.engine]
        if b.instance_type not in types:
            problems.add(key(path, "instance_type"), f"{b.instance_type!r} is not an instance type of {b.engine}"
                                                     f" brokers simulated here; allowed: {', '.join(types)}")
        if b.deployment not in DEPLOYMENTS[b.engine]:
            problems.add(key(path, "deployment"), f"{b.deployment!r} is not a deployment of {b.engine} brokers;"
                                                  f" allowed: {', '.join(DEPLOYMENTS[b.engine])}")
        st = storage_of(b)
        if st not in STORAGES[b.engine]:
            problems.add(key(path, "storage"), f"{st!r} is not a storage type of {b.engine} brokers; allowed:"
                                               f" {', '.join(STORAGES[b.engine])}")
        elif b.engine == "activemq" and st == "ebs":
            if b.deployment == "active_standby":
                problems.add(key(path, "storage"), "EBS does not support the active/standby deployment (its data"
                                                   " stays in one Availability Zone); use efs")
            elif b.instance_type in types and b.instance_type not in EBS_TYPES:
                problems.add(key(path, "storage"), f"EBS is for the mq.m5 instance types only, not {b.instance_type}")
        if not 0 <= b.storage_gb <= STORAGE_MAX_GB:
            problems.add(key(path, "storage_gb"), f"{num(b.storage_gb)} must be 0-{num(STORAGE_MAX_GB)} GB (the"
                                                  " storage capacity per broker)")
        if not 0 < b.store_limit_gb <= STORAGE_MAX_GB:
            problems.add(key(path, "store_limit_gb"), f"{num(b.store_limit_gb)} must be more than 0 and at most"
                                                      f" {num(STORAGE_MAX_GB)} GB (the storage capacity per broker)")
        if b.engine == "rabbitmq" and not b.concurrent_store_and_dispatch:
            problems.add(key(path, "concurrent_store_and_dispatch"), "is an ActiveMQ setting; RabbitMQ has none")
        if not b.queues:
            problems.add(key(path, "queues"), "a broker needs at least one queue, e.g. orders: {consumers:"
                                              " {workers: 4}}")
        for qname, q in b.queues.items():
            qpath = key(key(path, "queues"), qname)
            if "/" in qname:
                problems.add(qpath, "a queue's name cannot hold '/': targets are broker:NAME/QUEUE")
            c = q.consumers
            cpath = key(qpath, "consumers")
            if not c.workers >= 0:
                problems.add(key(cpath, "workers"), f"{c.workers} must be 0 or more")
            if not c.concurrency >= 1:
                problems.add(key(cpath, "concurrency"), f"{c.concurrency} must be 1 or more")
            if not 0 <= c.failure_rate <= 1:
                problems.add(key(cpath, "failure_rate"), f"{num(c.failure_rate)} must be 0-1")
            if not c.redelivery_delay_s >= 0:
                problems.add(key(cpath, "redelivery_delay_s"), f"{num(c.redelivery_delay_s)} must be 0 or more")
            if not 0 <= c.max_redeliveries <= MAX_REDELIVERIES_LIMIT:
                problems.add(key(cpath, "max_redeliveries"), f"{c.max_redeliveries} must be 0-{MAX_REDELIVERIES_LIMIT}")
            if q.max_messages is not None and not q.max_messages >= 1:
                problems.add(key(qpath, "max_messages"), f"{q.max_messages} must be 1 or more")
        for i, f in enumerate(b.failures):
            if not 0 <= f.at_s:
                problems.add(key(index(key(path, "failures"), i), "at_s"), f"{num(f.at_s)} must be 0 or more")
        if not b.failure_rate_per_h >= 0:
            problems.add(key(path, "failure_rate_per_h"), f"{num(b.failure_rate_per_h)} must be 0 or more")
        if b.failover_s is not None and not b.failover_s > 0:
            problems.add(key(path, "failover_s"), f"{num(b.failover_s)} must be more than 0 s")
