"""Typed schema of DynamoDB tables (`tables`) and S3 buckets (`buckets`), and the checks of the calls that reach them.

Semantics: kernels/ACCOUNT_SPEC.md §11 and `kernels/tables.py`. Pure data, like
`scenarios.schema`; cross-field checks are `check_tables` (run with the other cross-checks).
A call to a table (`functions.NAME.calls[i]` with `target: table:NAME`) names its
`operation`, the size of its items (`item_bytes`), the items a Query returns or a batch or
transaction holds (`items`), and its read `consistency`; which key it reaches is drawn from
the table's `keys` (or the call's own).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from scenarios.addresses import BUCKET_NOTIFICATION, check_address
from scenarios.common import Dist
from scenarios.errors import Problems
from scenarios.yamlpath import index, key, num

BILLING_MODES = ("on_demand", "provisioned")
KEY_DISTS = ("uniform", "zipf")
KEYS_MAX = 10_000_000
OPERATIONS = ("GetItem", "BatchGetItem", "Query", "TransactGetItems", "PutItem", "UpdateItem", "DeleteItem",
              "BatchWriteItem", "TransactWriteItems")  # the order of kernels.dynamodb.OPERATIONS
WRITE_OPERATIONS = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")  # stream records
MULTI_ITEM = ("BatchGetItem", "Query", "TransactGetItems", "BatchWriteItem", "TransactWriteItems")
CONSISTENCIES = ("eventual", "strong")
# AWS's limits (DynamoDB developer guide, "Service, account, and table quotas"): an item is at
# most 400 KB; BatchGetItem takes up to 100 items, BatchWriteItem 25, a transaction 100.
ITEM_MAX_BYTES = 400 * 1024
ITEMS_MAX = {"BatchGetItem": 100, "BatchWriteItem": 25, "TransactGetItems": 100, "TransactWriteItems": 100}
# A Query returns at most 1 MB per call (same guide, "Query"): items × item size above it is refused.
QUERY_MAX_BYTES = 1024 * 1024
# On demand: a new table's throughput (FACTS "DynamoDB on-demand", kernels/tables.py) and the
# default per-table maximum of 40,000 read and write request units a second (table quotas).
ON_DEMAND_MAX_UNITS_PER_S = 40000.0
# Auto scaling (Application Auto Scaling target tracking): target utilization 20-90 % (DynamoDB
# developer guide, "Managing throughput capacity automatically with DynamoDB auto scaling").
TARGET_MIN, TARGET_MAX = 0.2, 0.9
# The time from the alarm's decision to the new capacity in force (CloudWatch alarm, Application
# Auto Scaling, UpdateTable): AWS publishes no figure; our assumption, settable.
UPDATE_DELAY_S = 60.0
# Request latency when a call does not give `latency_ms`: lognormal, median 5 ms, p99 20 ms — our
# assumption from AWS's "single-digit millisecond" performance at any scale (DynamoDB product
# page); replace with a measurement when one is cited.
DEFAULT_TABLE_LATENCY_MS = dict(dist="lognormal", median=5.0, p99=20.0)


@dataclass
class Keys:
    """Which keys requests reach: `uniform` over `n` keys, or `zipf` with exponent `s` (key k of
    1..n with probability ∝ 1/k^s)."""

    dist: str = "uniform"
    n: int = 1_000_000
    s: float = 1.0


@dataclass
class WarmThroughput:
    """On demand: the read and write request units a second the table serves at once (AWS's warm
    throughput, Nov 2024); default a new table's 12,000 / 4,000."""

    read_units_per_s: Optional[float] = None
    write_units_per_s: Optional[float] = None


@dataclass
class AutoScaling:
    """Target tracking on a provisioned table (ACCOUNT_SPEC.md §11): capacity goes up when the
    utilization of a minute is above `target_utilization` two minutes in a row, down when it is
    20 points or more below it fifteen minutes in a row, to what puts the last minute at the
    target, within [min, max]; the change is in force `update_delay_s` later."""

    target_utilization: float = 0.7  # AWS's default, 70 %
    min_read_capacity_units: Optional[int] = None  # default: the table's read_capacity_units
    max_read_capacity_units: Optional[int] = None  # default: 40,000
    min_write_capacity_units: Optional[int] = None
    max_write_capacity_units: Optional[int] = None
    scale_in: bool = True  # False: AWS's DisableScaleIn
    update_delay_s: float = UPDATE_DELAY_S


# A stream record's way to its function (ACCOUNT_SPEC.md §11): our model. Records enter, 200 ms
# after their write, a queue of the table's (`stream:NAME`) that an event source mapping polls
# like an SQS queue's, at most shards x parallelization_factor batches at once, shards being the
# table's partitions at the start. So the end-to-end delay is about FACTS' "DynamoDB Streams ->
# Lambda" p50 of 213 ms; per-shard order, a failed batch blocking its shard, and bisecting are
# not modelled (a failed batch returns after the queue's visibility timeout, as SQS's).
STREAM_DELAY_S = 0.2


@dataclass
class Stream:
    """DynamoDB Streams with a Lambda trigger: each successful write's record invokes `function`
    in batches (AWS: batch size 1-10,000, default 100; window 0-300 s; parallelization factor
    1-10)."""

    function: str = ""
    batch_size: int = 100
    batching_window_s: float = 0.0
    parallelization_factor: int = 1


@dataclass
class Table:
    """A DynamoDB table: its capacity mode, its capacity, its keys' popularity, its size."""

    billing_mode: str = "on_demand"  # on_demand | provisioned
    read_capacity_units: Optional[int] = None  # provisioned: required
    write_capacity_units: Optional[int] = None
    auto_scaling: Optional[AutoScaling] = None  # provisioned only
    warm_throughput: WarmThroughput = field(default_factory=WarmThroughput)  # on demand only
    max_read_units_per_s: float = ON_DEMAND_MAX_UNITS_PER_S  # on demand: the table's throughput limit
    max_write_units_per_s: float = ON_DEMAND_MAX_UNITS_PER_S
    burst_s: float = 300.0  # provisioned: unused capacity kept as burst (AWS: up to 300 s)
    keys: Keys = field(default_factory=Keys)
    storage_gb: float = 0.0  # what it stores, for the bill
    stream: Optional[Stream] = None  # DynamoDB Streams to a function (its event source mapping)


def check_key_popularity(k: Keys, path: str, problems: Problems) -> None:
    if k.dist not in KEY_DISTS:
        problems.add(key(path, "dist"), f"{k.dist!r} is not a key popularity; allowed: {', '.join(KEY_DISTS)}")
    if not 1 <= k.n <= KEYS_MAX:
        problems.add(key(path, "n"), f"{k.n} keys: allowed 1-{KEYS_MAX:,} (the simulator's ceiling: a Zipf"
                                     " popularity keeps a table of n probabilities)")
    if not 0 < k.s <= 10:
        problems.add(key(path, "s"), f"{num(k.s)} must be in (0, 10]")


def check_tables(s, problems: Problems) -> None:
    """Every cross-field problem of the tables and of the calls to them."""
    for name, tb in s.tables.items():
        path = key("tables", name)
        if tb.billing_mode not in BILLING_MODES:
            problems.add(key(path, "billing_mode"),
                         f"{tb.billing_mode!r} is not a capacity mode; allowed: {', '.join(BILLING_MODES)}")
            continue
        provisioned = tb.billing_mode == "provisioned"
        for field_name in ("read_capacity_units", "write_capacity_units"):
            v = getattr(tb, field_name)
            if provisioned and v is None:
                problems.add(key(path, field_name), "is required for a provisioned table (e.g. 100)")
            elif not provisioned and v is not None:
                problems.add(key(path, field_name), "is for provisioned tables; an on-demand table has no"
                                                    " provisioned capacity (set billing_mode: provisioned, or use"
                                                    " warm_throughput)")
            elif v is not None and not 1 <= v <= ON_DEMAND_MAX_UNITS_PER_S:
                problems.add(key(path, field_name), f"{num(v)} must be 1-40,000 (AWS's default table quota)")
        if tb.auto_scaling is not None:
            apath = key(path, "auto_scaling")
            a = tb.auto_scaling
            if not provisioned:
                problems.add(apath, "auto scaling is for provisioned tables (on demand scales by itself)")
            if not TARGET_MIN <= a.target_utilization <= TARGET_MAX:
                problems.add(key(apath, "target_utilization"), f"{num(a.target_utilization)} must be"
                                                               f" {TARGET_MIN}-{TARGET_MAX} (20-90 %)")
            if not a.update_delay_s >= 0:
                problems.add(key(apath, "update_delay_s"), f"{num(a.update_delay_s)} must be 0 or more")
            for d in ("read", "write"):
                lo, hi = getattr(a, f"min_{d}_capacity_units"), getattr(a, f"max_{d}_capacity_units")
                for word, v in (("min", lo), ("max", hi)):
                    if v is not None and not 1 <= v <= ON_DEMAND_MAX_UNITS_PER_S:
                        problems.add(key(apath, f"{word}_{d}_capacity_units"), f"{num(v)} must be 1-40,000")
                if lo is not None and hi is not None and lo > hi:
                    problems.add(key(apath, f"min_{d}_capacity_units"), f"{num(lo)} is above max {num(hi)}")
        if provisioned and (tb.warm_throughput.read_units_per_s is not None
                            or tb.warm_throughput.write_units_per_s is not None):
            problems.add(key(path, "warm_throughput"), "is for on-demand tables (a provisioned table serves its"
                                                       " provisioned capacity)")
        for d in ("read", "write"):
            v = getattr(tb.warm_throughput, f"{d}_units_per_s")
            if v is not None and not 1 <= v <= getattr(tb, f"max_{d}_units_per_s"):
                problems.add(key(key(path, "warm_throughput"), f"{d}_units_per_s"),
                             f"{num(v)} must be 1 to the table's max_{d}_units_per_s")
            m = getattr(tb, f"max_{d}_units_per_s")
            if not m >= 1:
                problems.add(key(path, f"max_{d}_units_per_s"), f"{num(m)} must be 1 or more")
        if not tb.burst_s >= 1:
            problems.add(key(path, "burst_s"), f"{num(tb.burst_s)} must be at least 1 s (AWS keeps up to 300 s)")
        if not tb.storage_gb >= 0:
            problems.add(key(path, "storage_gb"), f"{num(tb.storage_gb)} must be 0 or more")
        check_key_popularity(tb.keys, key(path, "keys"), problems)
        if tb.stream is not None:
            sp = key(path, "stream")
            if tb.stream.function not in s.functions:
                problems.add(key(sp, "function"), f"function {tb.stream.function!r} is not defined; defined functions:"
                                                  f" {', '.join(s.functions) or 'none'}")
            if not 1 <= tb.stream.batch_size <= 10_000:
                problems.add(key(sp, "batch_size"), f"{tb.stream.batch_size} must be 1-10,000")
            if not 0 <= tb.stream.batching_window_s <= 300:
                problems.add(key(sp, "batching_window_s"), f"{num(tb.stream.batching_window_s)} must be 0-300 s")
            if not 1 <= tb.stream.parallelization_factor <= 10:
                problems.add(key(sp, "parallelization_factor"), f"{tb.stream.parallelization_factor} must be 1-10")


def check_table_call(call, path: str, problems: Problems) -> None:
    """A call to a table: its operation, items and sizes (the target itself is checked as any)."""
    if call.operation is None:
        problems.add(key(path, "operation"), f"is required for a call to a table; one of {', '.join(OPERATIONS)}")
        return
    if call.operation not in OPERATIONS:
        problems.add(key(path, "operation"), f"{call.operation!r} is not a DynamoDB operation simulated here;"
                                             f" allowed: {', '.join(OPERATIONS)}")
        return
    if call.consistency not in CONSISTENCIES:
        problems.add(key(path, "consistency"), f"{call.consistency!r}; allowed: {', '.join(CONSISTENCIES)}")
    if call.items is not None:
        if call.operation not in MULTI_ITEM:
            problems.add(key(path, "items"), f"{call.operation} reads or writes one item; items is for"
                                             f" {', '.join(MULTI_ITEM)}")
        elif not 1 <= call.items <= ITEMS_MAX.get(call.operation, 10_000):
            problems.add(key(path, "items"), f"{call.items} items: {call.operation} takes 1-"
                                             f"{ITEMS_MAX.get(call.operation, 10_000)}")
    if call.mode != "sync":
        problems.add(key(path, "mode"), "a DynamoDB request waits for its answer; a call to a table takes mode: sync")
    if call.keys is not None:
        check_key_popularity(call.keys, key(path, "keys"), problems)


def check_item_bytes(value: float, path: str, problems: Problems) -> None:
    if not 0 <= value <= ITEM_MAX_BYTES:
        problems.add(path, f"{num(value)} bytes: a DynamoDB item is at most 400 KB ({ITEM_MAX_BYTES} bytes)")



# ---- S3 ------------------------------------------------------------------------------------

BUCKET_OPERATIONS = ("GET", "HEAD", "LIST", "PUT", "COPY", "POST", "DELETE")  # kernels.buckets.OPERATIONS
STORAGE_CLASSES = ("STANDARD", "STANDARD_IA", "GLACIER_IR")
NOTIFICATION_KINDS = ("function", "queue", "topic", "bus")
# An object is at most 5 TB (S3 user guide, "Uploading objects"); the simulator takes sizes as
# int64 bytes.
OBJECT_MAX_BYTES = 5 * 1024**4
# First-byte latency when a call does not give `latency_ms`: lognormal, median 30 ms, p99 200 ms
# — our assumption from S3's performance guidelines ("first byte out ... 100-200 milliseconds"
# at the tail for small objects); replace with a measurement when one is cited.
DEFAULT_FIRST_BYTE_MS = dict(dist="lognormal", median=30.0, p99=200.0)
# A single connection's transfer rate: 90 MB/s — our assumption from S3's performance guidelines
# (roughly 85-90 MB/s per request; more comes from parallel requests, not simulated).
THROUGHPUT_MB_PER_S = 90.0
# How long a prefix keeps answering 503 Slow Down before S3 partitions it (doubles its rates):
# 30 minutes of Slow Down in a row, our reading of "30-60 minutes" (FACTS "S3 request rates").
SPLIT_AFTER_MIN = 30
# An event notification's delivery: at least once, "typically seconds, sometimes a minute or
# longer" (FACTS "S3 notifications", NotificationHowTo): lognormal, median 1 s, p99 10 s — our
# assumption within that.
NOTIFICATION_LATENCY_MS = dict(dist="lognormal", median=1000.0, p99=10000.0)


@dataclass
class Notification:
    """An event notification of the bucket's ObjectCreated events (PUT, POST, COPY) to a function
    (asynchronous invocation), a queue, a topic or a bus."""

    target: str = ""
    latency_ms: Optional[Dist] = None  # None: NOTIFICATION_LATENCY_MS


@dataclass
class Bucket:
    """An S3 bucket: how requests spread over its prefixes, its storage, its notifications."""

    prefixes: Keys = field(default_factory=lambda: Keys(n=1))  # which partitioned prefix a request reaches
    storage_gb: float = 0.0
    storage_class: str = "STANDARD"
    throughput_mb_per_s: float = THROUGHPUT_MB_PER_S  # per request: an object's transfer time
    split_after_min: int = SPLIT_AFTER_MIN
    notifications: List[Notification] = field(default_factory=list)


def check_buckets(s, problems: Problems) -> None:
    """Every cross-field problem of the buckets (their notifications' targets are addresses,
    checked by scenarios.crosscheck)."""
    for name, b in s.buckets.items():
        path = key("buckets", name)
        check_key_popularity(b.prefixes, key(path, "prefixes"), problems)
        if b.prefixes.n > 100_000:
            problems.add(key(key(path, "prefixes"), "n"), f"{b.prefixes.n} prefixes: allowed 1-100,000 (each keeps"
                                                          " its own rates here)")
        if b.storage_class not in STORAGE_CLASSES:
            problems.add(key(path, "storage_class"), f"{b.storage_class!r}; allowed: {', '.join(STORAGE_CLASSES)}")
        if not b.storage_gb >= 0:
            problems.add(key(path, "storage_gb"), f"{num(b.storage_gb)} must be 0 or more")
        if not b.throughput_mb_per_s > 0:
            problems.add(key(path, "throughput_mb_per_s"), f"{num(b.throughput_mb_per_s)} must be greater than 0")
        if not b.split_after_min >= 1:
            problems.add(key(path, "split_after_min"), f"{b.split_after_min} must be 1 or more")
        for j, nt in enumerate(b.notifications):
            check_address(s, nt.target, BUCKET_NOTIFICATION, key(index(key(path, "notifications"), j), "target"),
                          problems)


def check_bucket_call(call, path: str, problems: Problems) -> None:
    """A call to a bucket: its operation and object size."""
    if call.operation is None:
        problems.add(key(path, "operation"), f"is required for a call to a bucket; one of {', '.join(BUCKET_OPERATIONS)}")
    elif call.operation not in BUCKET_OPERATIONS:
        problems.add(key(path, "operation"), f"{call.operation!r} is not an S3 operation simulated here; allowed:"
                                             f" {', '.join(BUCKET_OPERATIONS)}")
    if call.mode != "sync":
        problems.add(key(path, "mode"), "an S3 request waits for its answer; a call to a bucket takes mode: sync")
    if isinstance(call.object_bytes, (int, float)) and not 0 <= call.object_bytes <= OBJECT_MAX_BYTES:
        problems.add(key(path, "object_bytes"), f"{num(call.object_bytes)} bytes: an object is at most 5 TB")
    if call.prefixes is not None:
        check_key_popularity(call.prefixes, key(path, "prefixes"), problems)
    for word in ("item_bytes", "items", "keys"):
        if getattr(call, word) is not None:
            problems.add(key(path, word), "is for calls to tables; a call to a bucket takes object_bytes and prefixes")


__all__ = ["Table", "Keys", "AutoScaling", "WarmThroughput", "Bucket", "Notification", "check_tables",
           "check_table_call", "check_buckets", "check_bucket_call", "index"]
