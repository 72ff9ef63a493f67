"""Step Functions state machines (`state_machines`): their typed schema, the checks of their
Amazon States Language (ASL) definitions, and the compiled form the execution engine consumes.

Pure data, like `scenarios.schema`: nothing here imports `sim/` or `kernels/`. Sources: the ASL
specification (states-language.net/spec.html) and AWS's Step Functions developer guide
("concepts-amazon-states-language", "state-task", "state-map", "state-map-inline",
"state-map-distributed", "concepts-error-handling", "connect-to-resource"); FACTS "Step Functions".

**YAML** (`state_machines.NAME`, NAME as AWS allows: letters, digits, '-', '_', at most 80):
`type` STANDARD (AWS's default) or EXPRESS; the ASL document inline as a mapping (`definition`)
or a JSON file (`definition_file`, relative to the scenario file as other data files are);
and what the definition leaves to the payload, which is not simulated: `choices` (per Choice
state, the probability of each state its rules or Default go to), `map_items` (per Map state,
how many items it iterates over: an integer or a distribution), `callbacks_ms` (per Task with
`.waitForTaskToken`, the delay until SendTaskSuccess arrives) and `callback_failure_rate` (the
share answered SendTaskFailure instead), `waits_s` (per Wait state whose length comes from the
payload or the calendar), `payload_bytes` (the execution's input size) and `memory_mb` (an
override of the Express billing memory).

**Checked** (every problem at its YAML path, the state's scope included, e.g.
`state_machines.orders.definition.States.Fulfil.Branches[0].States.Ship.Retry[1].BackoffRate`;
a definition from a file uses `state_machines.orders.definition_file.States....`): the top
level (StartAt, States, TimeoutSeconds, Version, QueryLanguage JSONPath only), each state's
fields by its Type, Next / End, unique state names in the whole machine (Parallel branches and
Map processors included), states reachable from their scope's StartAt (AWS refuses the others),
Retry and Catch (defaults IntervalSeconds 1, MaxAttempts 3, BackoffRate 2.0, JitterStrategy
NONE: FACTS "Retry"; States.ALL alone and last), the predefined `States.*` error names, the Task
resources below with their targets defined in the scenario, and the integration patterns each
service and workflow type supports (Express workflows: Request Response only, "connect-to-
resource" / "integrate-optimized").

**Accepted and ignored** (they move payload data, which is not simulated, and change no timing):
InputPath, OutputPath, ResultPath, ResultSelector, Parameters and Arguments (beyond the resource
names read from them), Output, Assign, Result, ItemsPath, ItemSelector, Items, Comment, Label,
and a distributed Map's ItemReader, ResultWriter and ItemBatcher; the body of each Choice rule
(its comparison is not evaluated: `choices` gives the probabilities); a Lambda function's
qualifier and the Region and account in ARNs (a scenario is one account in one Region); a
Fail state's Cause and the *Path forms of Error and Cause.

**Refused** (they change behaviour and are not simulated): QueryLanguage JSONata,
TimeoutSecondsPath, HeartbeatSeconds, HeartbeatSecondsPath, Credentials, MaxConcurrencyPath,
ToleratedFailurePercentagePath, ToleratedFailureCountPath, a resource name read from the
payload (`FunctionName.$`, ...), a Lambda DryRun invocation, PutEvents entries to several buses,
and any Resource other than those below (activities, AWS SDK integrations, other services).

Task resources: `arn:aws:states:::lambda:invoke[.waitForTaskToken]` (Parameters.FunctionName:
NAME, NAME:QUALIFIER or a function ARN; or a function ARN as the Resource itself, the legacy
form), `sqs:sendMessage[.waitForTaskToken]` (QueueUrl), `sns:publish[.waitForTaskToken]`
(TopicArn), `events:putEvents[.waitForTaskToken]` (Entries[*].EventBusName, default `default`),
`dynamodb:getItem|putItem|updateItem|deleteItem` (TableName), `states:startExecution[.sync|
.sync:2|.waitForTaskToken]` (StateMachineArn).

**The compiled form** — what the engine consumes: `compile_machine(name, sm, scenario)` or
`compile_machines(scenario)` on a validated Scenario (`scenarios.load.load_scenario`) returns a
`Machine` per state machine (frozen dataclasses and tuples, plain Python; the Dists are copies).

- `Machine`: `name`; `type` 'STANDARD' | 'EXPRESS'; `timeout_s` the definition's TimeoutSeconds
  (float) or None (no limit of its own); `max_duration_s` the type's own limit (Express 300 s,
  Standard one year); `scopes`: tuple of `Scope`, scope 0 the top level, then each Parallel
  branch and each Map processor, numbered depth first in document order (a Parallel's branch 0
  and everything inside it come before its branch 1); `memory_mb` the Express billing memory
  (the `memory_mb` override, else 50 MB + (definition_bytes + payload_bytes × (1 + Parallel
  branches + Map states)) / 1,048,576, unrounded: the billing kernel rounds it up to 64 MB
  chunks; FACTS "Express"; also filled for STANDARD machines, which do not use it);
  `definition_bytes` the UTF-8 size of the definition as compact JSON; `payload_bytes`;
  `n_states` over all scopes.
- `Scope`: `start` (index into its `states`), `states` (tuple of `State`, document order),
  `owner` (the Parallel or Map state it belongs to, '' for scope 0), `path` (its YAML path).
- `State`: `name`; `kind` 'task' | 'pass' | 'wait' | 'choice' | 'parallel' | 'map' | 'succeed'
  | 'fail'; `next` (index in the same scope; -1: End, and for choice, succeed and fail). By kind:
  - task: `target` ('function:f', 'queue:q', 'topic:t', 'bus:b', 'table:t',
    'state_machine:m'); `service` ('lambda' | 'sqs' | 'sns' | 'events' | 'dynamodb' |
    'states'); `operation` ('invoke', 'sendMessage', 'publish', 'putEvents', 'GetItem',
    'PutItem', 'UpdateItem', 'DeleteItem', 'startExecution'); `integration` 'request' (the
    API call's answer: for a Lambda invoke, the function's result when `invocation_type` is
    'RequestResponse', the acceptance only when 'Event'; a child execution started and not
    waited for), 'sync' (startExecution.sync / .sync:2: waits for the child execution) or
    'callback' (.waitForTaskToken: after the request, waits `callback_ms`; a share
    `callback_failure_rate` ends in SendTaskFailure, the rest in SendTaskSuccess);
    `invocation_type` (lambda only: 'RequestResponse' default, or 'Event'); `timeout_s`
    (TimeoutSeconds, or None: AWS's default for a task is the execution's own timeout).
  - wait: `seconds` (float, from Seconds) or `seconds_dist` (a Dist in seconds, from `waits_s`,
    for SecondsPath, TimestampPath and Timestamp — the run has no calendar).
  - choice: `branches` ((probability, next index), ...) one per distinct state the rules go to,
    in rule order (several rules to one state merged; an unlisted one has probability 0), then
    the Default's state if `choices` lists it without a rule going there; `default` (index or
    -1); `p_default` (1 − Σ branches when there is a Default, else 0); `p_no_match` (1 − Σ
    branches when there is no Default: the share failing with States.NoChoiceMatched). Draw u in
    [0, 1): the first branch whose running sum exceeds u, else `default`, else the failure.
  - parallel: `branches` (scope indices, in order).
  - map: `scope` (its processor's scope index); `items` (a Dist: draws are item counts, to be
    rounded to a whole number ≥ 0; a plain integer is `fixed`); `mode` 'inline' | 'distributed';
    `max_concurrency` the effective limit (MaxConcurrency, 0 = unlimited, capped at 40 inline and
    10,000 distributed: FACTS "Map"); `child_type` ('STANDARD' | 'EXPRESS' for distributed,
    None inline); `tolerated_failure_percentage` (float or None), `tolerated_failure_count` (int
    or None).
  - fail: `error` (the Error field, or None when it has none or takes it from ErrorPath).
  - task, parallel, map: `retry` (tuple of `Retrier(errors, interval_s, max_attempts,
    backoff_rate, max_delay_s or None, jitter 'FULL' | 'NONE')`, in order) and `catch` (tuple of
    `Catcher(errors, next)`, `next` an index in the state's own scope). Error names are kept as
    written: `States.*` names are AWS's predefined ones (checked), others are custom (a
    function's own error names, Lambda.* names); which of them a function's failure matches is
    the engine's rule.
"""

from __future__ import annotations

import copy
import datetime as _dt
import difflib
import functools
import json
import math
import os
import re
from collections import deque
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union
from urllib.parse import urlsplit

from scenarios.addresses import Address, Reference, check_reference
from scenarios.common import Dist
from scenarios.errors import Problems, ScenarioError
from scenarios.names import name_problem
from scenarios.yamlfile import where
from scenarios.yamlpath import describe, index, key, num

TYPES = ("STANDARD", "EXPRESS")
STATE_TYPES = ("Task", "Pass", "Wait", "Choice", "Parallel", "Map", "Succeed", "Fail")
# An inline Map runs at most 40 iterations at once, a distributed one at most 10,000 child
# executions (FACTS "Map": state-map-inline, state-map-distributed).
INLINE_MAX_CONCURRENCY = 40
DISTRIBUTED_MAX_CONCURRENCY = 10_000
# Express billing memory: 50 MB + definition size + data size × Parallel/Map steps (FACTS
# "Express"); MB as binary megabytes, like Lambda's.
BASE_MEMORY_MB = 50.0
BYTES_PER_MB = 1024 * 1024
# An execution's input, like any state's, is at most 256 KiB (Step Functions quotas, "Maximum
# input or output size for a task, state, or execution"). The default is our assumption.
PAYLOAD_MAX_BYTES = 256 * 1024
DEFAULT_PAYLOAD_BYTES = 1024
# The longest an execution runs: Express 5 minutes, Standard one year (FACTS "Step Functions").
EXPRESS_MAX_DURATION_S = 300.0
STANDARD_MAX_DURATION_S = 365 * 86_400.0
# Retry defaults (FACTS "Retry", concepts-error-handling).
RETRY_INTERVAL_S = 1
RETRY_MAX_ATTEMPTS = 3
RETRY_BACKOFF_RATE = 2.0
# The ASL spec bounds its integers (TimeoutSeconds, Seconds, IntervalSeconds, MaxAttempts) below
# 99,999,999; MaxDelaySeconds below 31,622,401 (concepts-error-handling).
ASL_INT_MAX = 99_999_999
MAX_DELAY_S_MAX = 31_622_400
NAME_MAX = 80  # a state machine's or a state's name (CreateStateMachine; the ASL spec's states)
PROBABILITY_SUM_TOLERANCE = 1e-9

# Error names the ASL predefines (all `States.`; no other name may start so) and Lambda's.
PREDEFINED_ERRORS = (
    "States.ALL", "States.TaskFailed", "States.Timeout", "States.HeartbeatTimeout", "States.Permissions",
    "States.ResultPathMatchFailure", "States.ParameterPathFailure", "States.BranchFailed",
    "States.NoChoiceMatched", "States.IntrinsicFailure", "States.ExceedToleratedFailureThreshold",
    "States.ItemReaderFailed", "States.ResultWriterFailed", "States.Runtime", "States.DataLimitExceeded",
    "States.QueryEvaluationError",
)
LAMBDA_ERRORS = (
    "Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException", "Lambda.Unknown", "Lambda.ClientExecutionTimeoutException",
)

# The fields each state type takes (JSONPath mode; the JSONata-only Arguments, Output and Items
# are accepted and ignored too). Payload fields are ignored; the rest are read below.
_COMMON = ("Type", "Comment", "QueryLanguage")
FIELDS: Dict[str, Tuple[str, ...]] = {
    "Task": _COMMON + ("Resource", "Next", "End", "Retry", "Catch", "TimeoutSeconds", "InputPath", "OutputPath",
                       "ResultPath", "ResultSelector", "Parameters", "Arguments", "Output", "Assign"),
    "Pass": _COMMON + ("Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "Result", "Output",
                       "Assign"),
    "Wait": _COMMON + ("Next", "End", "Seconds", "Timestamp", "SecondsPath", "TimestampPath", "InputPath",
                       "OutputPath", "Output", "Assign"),
    "Choice": _COMMON + ("Choices", "Default", "InputPath", "OutputPath", "Output", "Assign"),
    "Parallel": _COMMON + ("Branches", "Next", "End", "Retry", "Catch", "InputPath", "OutputPath", "ResultPath",
                           "ResultSelector", "Parameters", "Arguments", "Output", "Assign"),
    "Map": _COMMON + ("ItemProcessor", "Iterator", "Next", "End", "Retry", "Catch", "MaxConcurrency",
                      "ToleratedFailurePercentage", "ToleratedFailureCount", "InputPath", "OutputPath", "ResultPath",
                      "ResultSelector", "Parameters", "ItemsPath", "ItemSelector", "Items", "ItemReader",
                      "ResultWriter", "ItemBatcher", "Label", "Output", "Assign"),
    "Succeed": _COMMON + ("InputPath", "OutputPath", "Output"),
    "Fail": _COMMON + ("Error", "Cause", "ErrorPath", "CausePath"),
}
# Fields that change behaviour but are not simulated: the state types that take them, and why.
NOT_SIMULATED: Dict[str, Tuple[Tuple[str, ...], str]] = {
    "TimeoutSecondsPath": (("Task",), "reads the task's timeout from the payload, which is not simulated: give"
                                      " TimeoutSeconds"),
    "HeartbeatSeconds": (("Task",), "heartbeats are not simulated (the tasks here send none, so the heartbeat"
                                    " timeout would fail them): remove it"),
    "HeartbeatSecondsPath": (("Task",), "heartbeats are not simulated (the tasks here send none): remove it"),
    "Credentials": (("Task",), "a task that assumes another role (Credentials) is not simulated: remove it"),
    "MaxConcurrencyPath": (("Map",), "reads the limit from the payload, which is not simulated: give MaxConcurrency"),
    "ToleratedFailurePercentagePath": (("Map",), "reads the threshold from the payload, which is not simulated:"
                                                 " give ToleratedFailurePercentage"),
    "ToleratedFailureCountPath": (("Map",), "reads the threshold from the payload, which is not simulated: give"
                                            " ToleratedFailureCount"),
}
DISTRIBUTED_ONLY = ("ItemReader", "ResultWriter", "ItemBatcher", "Label", "ToleratedFailurePercentage",
                    "ToleratedFailureCount")
TOP_FIELDS = ("StartAt", "States", "Comment", "TimeoutSeconds", "Version", "QueryLanguage")
BRANCH_FIELDS = ("StartAt", "States", "Comment")
PROCESSOR_FIELDS = ("ProcessorConfig", "StartAt", "States", "Comment")
RETRY_FIELDS = ("ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds",
                "JitterStrategy", "Comment")
CATCH_FIELDS = ("ErrorEquals", "Next", "ResultPath", "Comment", "Output", "Assign")
WAIT_FIELDS = ("Seconds", "Timestamp", "SecondsPath", "TimestampPath")


@dataclass(frozen=True)
class Integration:
    """A Task resource of `service:api`: what it reaches and the patterns it supports."""

    service: str  # lambda | sqs | sns | events | dynamodb | states
    operation: str
    kind: str  # the address kind of its target
    patterns: Tuple[str, ...]  # resource suffixes: "" (Request Response), .sync, .sync:2, .waitForTaskToken
    parameter: str  # the Parameters field naming the target


_CALLBACK = ("", ".waitForTaskToken")
INTEGRATIONS: Dict[str, Integration] = {
    "lambda:invoke": Integration("lambda", "invoke", "function", _CALLBACK, "FunctionName"),
    "sqs:sendMessage": Integration("sqs", "sendMessage", "queue", _CALLBACK, "QueueUrl"),
    "sns:publish": Integration("sns", "publish", "topic", _CALLBACK, "TopicArn"),
    "events:putEvents": Integration("events", "putEvents", "bus", _CALLBACK, "Entries"),
    "dynamodb:getItem": Integration("dynamodb", "GetItem", "table", ("",), "TableName"),
    "dynamodb:putItem": Integration("dynamodb", "PutItem", "table", ("",), "TableName"),
    "dynamodb:updateItem": Integration("dynamodb", "UpdateItem", "table", ("",), "TableName"),
    "dynamodb:deleteItem": Integration("dynamodb", "DeleteItem", "table", ("",), "TableName"),
    "states:startExecution": Integration("states", "startExecution", "state_machine",
                                         ("", ".sync", ".sync:2", ".waitForTaskToken"), "StateMachineArn"),
}
PATTERNS = {"": "request", ".sync": "sync", ".sync:2": "sync", ".waitForTaskToken": "callback"}
RESOURCE_FORMS = tuple(f"arn:aws:states:::{k}" + ("".join(f"[{p}]" for p in i.patterns if p) if len(i.patterns) > 1
                                                  else "") for k, i in INTEGRATIONS.items()) + (
    "arn:aws:lambda:REGION:ACCOUNT:function:NAME",)
_EXAMPLES = {"FunctionName": "my-function", "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/NAME",
             "TopicArn": "arn:aws:sns:us-east-1:123456789012:NAME", "TableName": "NAME",
             "StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:NAME",
             "EventBusName": "NAME"}
_WHAT = {"FunctionName": "the function to invoke", "QueueUrl": "the queue's URL", "TopicArn": "the topic's ARN",
         "TableName": "the table", "StateMachineArn": "the state machine to start", "EventBusName": "the bus"}

_ARN = r"arn:aws[a-z-]*"
_REGION_ACCOUNT = r"[a-z0-9-]+:\d{12}"
_STATES_RESOURCE = re.compile(r"arn:aws[a-z-]*:states:::(?P<api>[A-Za-z0-9-]+:[A-Za-z0-9]+)"
                              r"(?P<suffix>\.sync:2|\.sync|\.waitForTaskToken)?")
_FUNCTION = r"(?P<name>[A-Za-z0-9_-]{1,64})(?::(?P<qualifier>[A-Za-z0-9_$-]+))?"
_LAMBDA_ARN = re.compile(rf"{_ARN}:lambda:{_REGION_ACCOUNT}:function:{_FUNCTION}")
_FUNCTION_NAME = re.compile(rf"(?:{_ARN}:lambda:{_REGION_ACCOUNT}:function:|\d{{12}}:function:)?{_FUNCTION}")
_TOPIC_ARN = re.compile(rf"{_ARN}:sns:{_REGION_ACCOUNT}:(?P<name>[A-Za-z0-9_-]+(?:\.fifo)?)")
_MACHINE_ARN = re.compile(rf"{_ARN}:states:{_REGION_ACCOUNT}:stateMachine:(?P<name>[A-Za-z0-9_-]+)(?::[A-Za-z0-9_-]+)?")
_TABLE = re.compile(rf"(?:{_ARN}:dynamodb:{_REGION_ACCOUNT}:table/)?(?P<name>[A-Za-z0-9_.-]{{3,255}})")
_BUS = re.compile(rf"(?:{_ARN}:events:{_REGION_ACCOUNT}:event-bus/)?(?P<name>[A-Za-z0-9/_.-]{{1,256}})")
_QUEUE_PATH = re.compile(r"/\d{12}/(?P<name>[A-Za-z0-9_-]{1,80}(?:\.fifo)?)/?")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
_MACHINE_NAME = re.compile(r"[A-Za-z0-9_-]+")


@dataclass
class StateMachine:
    """One Step Functions state machine: its type, its ASL definition, and what the payload would decide."""

    type: str = "STANDARD"  # STANDARD (AWS's default) | EXPRESS
    definition: Optional[Dict[str, Any]] = None  # the ASL document as a mapping; or:
    definition_file: Optional[str] = None  # a .asl.json file, relative to the scenario file
    # Choice state -> {state a rule (or Default) goes to: probability}; the rest goes to Default,
    # or fails with States.NoChoiceMatched when there is none
    choices: Dict[str, Dict[str, float]] = field(default_factory=dict)
    map_items: Dict[str, Union[int, Dist]] = field(default_factory=dict)  # Map state -> items it iterates over
    callbacks_ms: Dict[str, Dist] = field(default_factory=dict)  # .waitForTaskToken Task -> delay to the callback
    callback_failure_rate: Dict[str, float] = field(default_factory=dict)  # ... -> share of SendTaskFailure (0)
    waits_s: Dict[str, Dist] = field(default_factory=dict)  # Wait state with *Path or Timestamp -> its wait
    payload_bytes: int = DEFAULT_PAYLOAD_BYTES  # the execution's input (our assumption: 1 KB)
    memory_mb: Optional[int] = None  # Express billing memory; None: computed (Machine.memory_mb)


@dataclass(frozen=True)
class Retrier:
    """One entry of a Retry field: retry k (0-based) waits min(interval_s × backoff_rate^k,
    max_delay_s), times a uniform draw with jitter FULL."""

    errors: Tuple[str, ...]
    interval_s: float = float(RETRY_INTERVAL_S)
    max_attempts: int = RETRY_MAX_ATTEMPTS
    backoff_rate: float = RETRY_BACKOFF_RATE
    max_delay_s: Optional[float] = None
    jitter: str = "NONE"  # FULL | NONE


@dataclass(frozen=True)
class Catcher:
    """One entry of a Catch field: errors it catches and the index of the state it goes to."""

    errors: Tuple[str, ...]
    next: int


@dataclass(frozen=True, repr=False)
class State:
    """One state, compiled; the fields of its kind are set (module docstring), the others are at
    their defaults (and left out of its repr)."""

    name: str
    kind: str  # task | pass | wait | choice | parallel | map | succeed | fail
    next: int = -1  # index in the same scope; -1: End (and for choice, succeed, fail)
    # task
    target: Optional[str] = None
    service: Optional[str] = None
    operation: Optional[str] = None
    integration: Optional[str] = None  # request | sync | callback
    invocation_type: Optional[str] = None  # lambda: RequestResponse | Event
    callback_ms: Optional[Dist] = None
    callback_failure_rate: float = 0.0
    timeout_s: Optional[float] = None
    # wait
    seconds: Optional[float] = None
    seconds_dist: Optional[Dist] = None
    # choice: ((probability, next), ...); parallel: (scope, ...)
    branches: Tuple[Any, ...] = ()
    default: int = -1
    p_default: float = 0.0
    p_no_match: float = 0.0
    # map
    scope: int = -1
    items: Optional[Dist] = None
    mode: Optional[str] = None  # inline | distributed
    max_concurrency: int = 0
    child_type: Optional[str] = None
    tolerated_failure_percentage: Optional[float] = None
    tolerated_failure_count: Optional[int] = None
    # fail
    error: Optional[str] = None
    # task, parallel, map
    retry: Tuple[Retrier, ...] = ()
    catch: Tuple[Catcher, ...] = ()

    def __repr__(self) -> str:
        parts = [f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)
                 if f.name in ("name", "kind", "next") or getattr(self, f.name) != f.default]
        return f"State({', '.join(parts)})"


@dataclass(frozen=True)
class Scope:
    """The top level, a Parallel branch or a Map processor: its states and where it starts."""

    start: int
    states: Tuple[State, ...]
    owner: str = ""  # the Parallel or Map state it belongs to ('' for the top level)
    path: str = ""  # its YAML path


@dataclass(frozen=True)
class Machine:
    """A state machine compiled for the engine (module docstring)."""

    name: str
    type: str
    timeout_s: Optional[float]
    max_duration_s: float
    scopes: Tuple[Scope, ...]
    memory_mb: float
    definition_bytes: int
    payload_bytes: int
    n_states: int


# ------------------------------------------------------------------------------------ files


class DefinitionFileError(ValueError):
    """An ASL file that cannot be read as a JSON object; str() says why, with FILE:LINE:COL for syntax."""


class _Object(dict):
    """A JSON object as read, with the keys it held twice."""

    dups: List[str]


def _pairs(pairs: List[Tuple[str, Any]]) -> _Object:
    out = _Object()
    out.dups = []
    for k, v in pairs:
        if k in out and k not in out.dups:
            out.dups.append(k)
        out[k] = v
    return out


def _plain(value: Any, path: Tuple[Any, ...], dups: List[Tuple[Tuple[Any, ...], str]]) -> Any:
    """`value` with every _Object made a dict, collecting (path, key) of the duplicated keys."""
    if isinstance(value, _Object):
        dups += [(path, k) for k in value.dups]
        return {k: _plain(v, path + (k,), dups) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, path + (i,), dups) for i, v in enumerate(value)]
    return value


def read_definition(path: Union[str, os.PathLike]) -> Tuple[Dict[str, Any], Tuple[Tuple[Tuple[Any, ...], str], ...]]:
    """The ASL document in JSON file `path` and its duplicated keys ((path in the document, key),
    ...); DefinitionFileError if it is not a JSON object. Cached per version of the file (path,
    modification time, size); the document returned is a fresh copy."""
    full = os.path.abspath(path)
    try:
        st = os.stat(full)
    except OSError as e:
        raise DefinitionFileError(f"{path} cannot be read: {e.strerror or e}") from None
    doc, dups = _read_definition(full, st.st_mtime_ns, st.st_size)
    return copy.deepcopy(doc), dups


@functools.lru_cache(maxsize=32)
def _read_definition(full: str, mtime_ns: int, size: int) -> Tuple[Dict[str, Any], Tuple[Any, ...]]:
    try:
        with open(full, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DefinitionFileError(f"{full} cannot be read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DefinitionFileError(f"{where(full, 1, 1)}: not a text (UTF-8) file: {e.reason} at byte"
                                  f" {e.start}") from None
    if not text.strip():
        raise DefinitionFileError(f"{where(full, 1, 1)}: the file is empty; an ASL definition is a JSON object with"
                                  " StartAt and States")
    try:
        data = json.loads(text, object_pairs_hook=_pairs)
    except json.JSONDecodeError as e:
        raise DefinitionFileError(f"{where(full, e.lineno, e.colno)}: not valid JSON: {e.msg}") from None
    except RecursionError:
        raise DefinitionFileError(f"{full}: nested too deeply to read") from None
    dups: List[Tuple[Tuple[Any, ...], str]] = []
    doc = _plain(data, (), dups)
    if not isinstance(doc, dict):
        what = "a list" if isinstance(doc, list) else f"a single value ({describe(doc)})"
        raise DefinitionFileError(f"{where(full, 1, 1)}: the file holds {what}; an ASL definition is a JSON object"
                                  " with StartAt and States")
    return doc, tuple(dups)


def definition_bytes(doc: Mapping[str, Any]) -> int:
    """The size of an ASL document as compact JSON, in UTF-8 bytes (Express memory: FACTS)."""
    return len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8"))


def _resolve_file(text: str, base_dir: Optional[Path]) -> Path:
    full = Path(os.path.expanduser(text))
    if not full.is_absolute():
        full = Path(base_dir if base_dir is not None else Path.cwd()) / full
    return Path(os.path.abspath(full))


# ------------------------------------------------------------------------------------ checks


def _close(word: Any, choices, cutoff: float = 0.6) -> str:
    """` (did you mean 'X'?)` for the choice closest to `word`, or ''."""
    if not isinstance(word, str):
        return ""
    choices = list(choices)
    folded = {c.lower(): c for c in choices}
    if word.lower() in folded:
        return f" (did you mean {folded[word.lower()]!r}?)"
    close = difflib.get_close_matches(word, choices, n=1, cutoff=cutoff)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _is_int(v: Any) -> bool:
    return not isinstance(v, bool) and (isinstance(v, int) or (isinstance(v, float) and v.is_integer()))


def _is_number(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)


@dataclass
class _Info:
    """A state as the walk found it."""

    name: str
    type: Optional[str]
    path: str
    scope: int
    body: Any
    express: bool  # in an Express execution (the machine's, or a distributed Map's EXPRESS children)
    out: Dict[str, Any] = field(default_factory=dict)  # its compiled fields, targets by name


@dataclass
class _Scope:
    path: str
    owner: str
    names: List[str] = field(default_factory=list)
    start: Optional[str] = None
    edges: List[Tuple[str, Any, str]] = field(default_factory=list)  # (from state, to name, path)
    incomplete: bool = False  # a state whose transitions are unknown (a duplicate, no valid Type)


class _Walk:
    """One state machine's definition and section checked (problems to `problems`) and compiled."""

    def __init__(self, name: str, sm: StateMachine, s: Any, problems: Problems, base_dir: Optional[Path]):
        self.name, self.sm, self.s, self.problems, self.base_dir = name, sm, s, problems, base_dir
        self.path = key("state_machines", name)
        self.scopes: List[_Scope] = []
        self.states: Dict[str, _Info] = {}
        self.n_branches = 0
        self.n_maps = 0
        self.doc: Optional[Dict[str, Any]] = None

    def add(self, path: str, message: str) -> None:
        self.problems.add(path, message)

    # -------------------------------------------------------------- the document

    def run(self) -> Optional[Machine]:
        """Check everything; the compiled Machine when nothing was wrong, else None."""
        before = len(self.problems.items)
        sm, path = self.sm, self.path
        problem = name_problem("state machine", self.name, _MACHINE_NAME, "letters, digits, '-' and '_'", NAME_MAX)
        if problem:
            self.add(path, problem)
        if sm.type not in TYPES:
            self.add(key(path, "type"), f"{sm.type!r} is not a workflow type{_close(sm.type, TYPES)}; allowed:"
                                        f" {', '.join(TYPES)}")
        if not 0 <= sm.payload_bytes <= PAYLOAD_MAX_BYTES:
            self.add(key(path, "payload_bytes"), f"{sm.payload_bytes} must be 0-{PAYLOAD_MAX_BYTES} bytes (256 KiB,"
                                                 " Step Functions' largest execution input)")
        if sm.memory_mb is not None:
            if sm.type == "STANDARD":
                self.add(key(path, "memory_mb"), "is the Express billing memory; a STANDARD workflow is billed by"
                                                 " state transitions (remove it, or set type: EXPRESS)")
            elif sm.memory_mb < 1:
                self.add(key(path, "memory_mb"), f"{sm.memory_mb} must be 1 MB or more")
        doc, root = self._document()
        if doc is not None:
            self.doc = doc
            self._top(doc, root)
            self._section()
        if len(self.problems.items) > before or doc is None or self.problems.has_broken_within(path):
            return None
        return self._compile(doc)

    def _document(self) -> Tuple[Optional[Dict[str, Any]], str]:
        sm, path = self.sm, self.path
        if self.problems.is_broken(key(path, "definition")) or self.problems.is_broken(key(path, "definition_file")):
            return None, ""
        if sm.definition is not None and sm.definition_file is not None:
            self.add(path, "give definition (the ASL document inline) or definition_file (a .asl.json file), not both")
            return None, ""
        if sm.definition is None and sm.definition_file is None:
            self.add(path, "needs its Amazon States Language document: definition (inline, as a mapping with StartAt"
                           " and States) or definition_file (a .asl.json file beside the scenario)")
            return None, ""
        if sm.definition is not None:
            return sm.definition, key(path, "definition")
        fpath = key(path, "definition_file")
        text = sm.definition_file
        if not text.strip():
            self.add(fpath, "must not be empty")
            return None, ""
        full = _resolve_file(text, self.base_dir)
        if full.suffix.lower() != ".json":
            self.add(fpath, f"{text!r} must be a JSON file (.asl.json)")
            return None, ""
        if not full.is_file():
            what = "is a directory, not a file" if full.is_dir() else "does not exist"
            self.add(fpath, f"file {text!r} {what} (looked for {full})")
            return None, ""
        try:
            doc, dups = read_definition(full)
        except DefinitionFileError as e:
            self.add(fpath, str(e))
            return None, ""
        sm.definition_file = str(full)  # absolute from here on, as data files are
        for where_, k in dups:
            self.add(self._json_path(fpath, where_), f"duplicate key {k!r} in {full.name}: a JSON object takes each"
                                                     " key once (Step Functions refuses it)")
        return doc, fpath

    @staticmethod
    def _json_path(root: str, parts: Tuple[Any, ...]) -> str:
        p = root
        for part in parts:
            p = index(p, part) if isinstance(part, int) else key(p, part)
        return p

    def _top(self, doc: Mapping[str, Any], root: str) -> None:
        self._fields(doc, root, TOP_FIELDS, "an ASL definition")
        if "TimeoutSeconds" in doc:
            t = self._int(doc, "TimeoutSeconds", root, 1)
            if t is not None and self.sm.type == "EXPRESS" and t > EXPRESS_MAX_DURATION_S:
                self.problems.warn(key(root, "TimeoutSeconds"), f"{t} s: an Express execution ends after 5 minutes"
                                                                " (300 s) whatever TimeoutSeconds says")
        if "Version" in doc and doc["Version"] != "1.0":
            self.add(key(root, "Version"), f"{describe(doc['Version'])}: the Amazon States Language has version"
                                           " '1.0' only")
        self._query_language(doc, root)
        self._scope(doc, root, "", self.sm.type == "EXPRESS")

    def _query_language(self, body: Mapping[str, Any], path: str) -> None:
        if "QueryLanguage" not in body:
            return
        q = body["QueryLanguage"]
        if q == "JSONata":
            self.add(key(path, "QueryLanguage"), "JSONata is not supported yet: write the definition in JSONPath"
                                                 " (the default; remove QueryLanguage)")
        elif q != "JSONPath":
            self.add(key(path, "QueryLanguage"), f"{describe(q)}{_close(q, ('JSONPath', 'JSONata'))}; allowed:"
                                                 " JSONPath (JSONata is not supported yet)")

    def _fields(self, body: Mapping[str, Any], path: str, allowed: Tuple[str, ...], what: str) -> None:
        for k in body:
            if k not in allowed:
                self.add(key(path, k), f"unknown field {k!r}{_close(k, allowed)} for {what}; allowed:"
                                       f" {', '.join(allowed)}")

    def _scope(self, doc: Any, path: str, owner: str, express: bool) -> int:
        """Check a scope (the top level, a branch, a processor) and its states; its index."""
        i = len(self.scopes)
        sc = _Scope(path, owner)
        self.scopes.append(sc)
        states = doc.get("States")
        spath = key(path, "States")
        if "States" not in doc:
            self.add(spath, "is required: the states, a mapping of each state's name to its fields")
        elif not isinstance(states, Mapping):
            self.add(spath, f"expected a mapping of state names to states, got {describe(states)}")
        elif not states:
            self.add(spath, "must hold at least one state")
        else:
            for sname, body in states.items():
                p = key(spath, sname)
                if not isinstance(sname, str):
                    self.add(p, f"a state's name is a string, got {describe(sname)} (quote it in YAML)")
                    continue
                if not sname or len(sname) > NAME_MAX:
                    self.add(p, f"a state's name has 1-{NAME_MAX} characters; {sname!r} has {len(sname)}")
                if sname in self.states:
                    self.add(p, f"duplicate state name {sname!r} (also {self.states[sname].path}): names are unique in"
                                " the whole state machine, Parallel branches and Map processors included")
                    if sname not in sc.names:
                        sc.names.append(sname)  # transitions to it are not mistakes of their own
                    sc.incomplete = True
                    continue
                info = _Info(sname, None, p, i, body, express)
                self.states[sname] = info
                sc.names.append(sname)
                self._state(info)
                sc.incomplete = sc.incomplete or info.type is None
        start = doc.get("StartAt")
        if "StartAt" not in doc:
            self.add(key(path, "StartAt"), "is required: the name of the first state"
                     + (f"; one of {', '.join(sc.names)}" if sc.names else ""))
        elif not isinstance(start, str):
            self.add(key(path, "StartAt"), f"expected a state's name, got {describe(start)}")
        elif sc.names and start not in sc.names:
            self.add(key(path, "StartAt"), self._missing(start, sc))
        else:
            sc.start = start
        dangling = False
        for src, target, p in sc.edges:
            if target not in sc.names:
                self.add(p, self._missing(target, sc))
                dangling = True
        if sc.start is not None and not dangling and not sc.incomplete:  # one message per mistake: a bad Next, or a
            # state whose transitions are unknown, would strand the states after it
            self._reachable(sc)
        return i

    def _missing(self, target: str, sc: _Scope) -> str:
        other = self.states.get(target)
        if other is not None and other.scope != self.scopes.index(sc):
            return (f"{target!r} is a state of another scope ({other.path}); a transition goes to a state of its own"
                    f" scope: {', '.join(sc.names)}")
        return f"{target!r} is not a state here{_close(target, sc.names)}; states: {', '.join(sc.names)}"

    def _reachable(self, sc: _Scope) -> None:
        succ: Dict[str, List[str]] = {}
        for src, target, _ in sc.edges:
            succ.setdefault(src, []).append(target)
        seen = {sc.start}
        todo = deque([sc.start])
        while todo:
            for t in succ.get(todo.popleft(), ()):
                if t in sc.names and t not in seen:
                    seen.add(t)
                    todo.append(t)
        for n in sc.names:
            if n not in seen:
                self.add(self.states[n].path, f"state {n!r} cannot be reached from StartAt {sc.start!r} (by Next,"
                                              " Default, Choices or Catch); AWS refuses unreachable states: remove it"
                                              " or go to it")

    def _edge(self, info: _Info, target: Any, path: str) -> Optional[str]:
        if not isinstance(target, str):
            self.add(path, f"expected a state's name, got {describe(target)}")
            return None
        self.scopes[info.scope].edges.append((info.name, target, path))
        return target

    # -------------------------------------------------------------- states

    def _state(self, info: _Info) -> None:
        body, path = info.body, info.path
        if not isinstance(body, Mapping):
            self.add(path, f"expected a state, a mapping with Type and its fields; got {describe(body)}")
            return
        if "Type" not in body:
            self.add(key(path, "Type"), f"is required: one of {', '.join(STATE_TYPES)}")
            return
        t = body["Type"]
        if t not in STATE_TYPES:
            self.add(key(path, "Type"), f"{describe(t)} is not a state type{_close(t, STATE_TYPES)}; allowed:"
                                        f" {', '.join(STATE_TYPES)}")
            return
        info.type = t
        for k in body:
            p = key(path, k)
            if k in NOT_SIMULATED and t in NOT_SIMULATED[k][0]:
                self.add(p, NOT_SIMULATED[k][1])
            elif k in ("Next", "End") and t in ("Choice", "Succeed", "Fail"):
                why = "its rules and Default choose the next state" if t == "Choice" else "it ends its scope"
                self.add(p, f"a {t} state takes no {k}: {why}")
            elif k not in FIELDS[t]:
                self.add(p, f"unknown field {k!r}{_close(k, FIELDS[t])} for a {t} state; allowed:"
                            f" {', '.join(FIELDS[t])}")
        self._query_language(body, path)
        getattr(self, "_" + t.lower())(info)

    def _transition(self, info: _Info) -> None:
        body, path = info.body, info.path
        end = body.get("End")
        if "End" in body and not isinstance(end, bool):
            self.add(key(path, "End"), f"expected true, got {describe(end)}")
            return
        if "Next" in body and end is True:
            self.add(path, "has both Next and End: true; a state goes on to Next or ends its scope, not both")
        elif "Next" not in body and end is not True:
            self.add(path, "needs Next (the state to go to) or End: true")
        if "Next" in body:
            info.out["next"] = self._edge(info, body["Next"], key(path, "Next"))

    def _pass(self, info: _Info) -> None:
        self._transition(info)

    def _succeed(self, info: _Info) -> None:
        pass

    def _fail(self, info: _Info) -> None:
        body, path = info.body, info.path
        for f, fp in (("Error", "ErrorPath"), ("Cause", "CausePath")):
            if f in body and fp in body:
                self.add(key(path, fp), f"a Fail state takes {f} or {fp}, not both")
            for k in (f, fp):
                if k in body and not isinstance(body[k], str):
                    self.add(key(path, k), f"expected a string, got {describe(body[k])}")
        if isinstance(body.get("Error"), str):
            info.out["error"] = body["Error"]

    def _wait(self, info: _Info) -> None:
        body, path = info.body, info.path
        self._transition(info)
        given = [f for f in WAIT_FIELDS if f in body]
        if len(given) != 1:
            self.add(path, (f"has {' and '.join(given)}; a Wait state takes exactly one" if given else
                            "needs how long it waits: exactly one") + f" of {', '.join(WAIT_FIELDS)}")
            return
        f = given[0]
        v = body[f]
        if f == "Seconds":
            n = self._int(body, "Seconds", path, 0)
            if n is not None:
                info.out["seconds"] = float(n)
            return
        info.out["waits"] = f
        if not isinstance(v, str):
            self.add(key(path, f), f"expected a string, got {describe(v)}" + (" (quote it in YAML)" if f == "Timestamp"
                                                                               else ""))
        elif f == "Timestamp" and not _rfc3339(v):
            self.add(key(path, f), f"{v!r} is not an RFC 3339 instant such as 2026-03-14T01:59:00Z (uppercase T and Z)")
        elif f != "Timestamp" and not v.startswith("$"):
            self.add(key(path, f), f"{v!r} is not a path (it starts with $)")

    def _task(self, info: _Info) -> None:
        body, path = info.body, info.path
        self._transition(info)
        self._retry_catch(info)
        if "TimeoutSeconds" in body:
            t = self._int(body, "TimeoutSeconds", path, 1)
            if t is not None:
                info.out["timeout_s"] = float(t)
        rpath = key(path, "Resource")
        if "Resource" not in body:
            self.add(rpath, "is required: " + ", ".join(RESOURCE_FORMS))
            return
        resource = body["Resource"]
        if not isinstance(resource, str):
            self.add(rpath, f"expected a string, got {describe(resource)}")
            return
        legacy = _LAMBDA_ARN.fullmatch(resource)
        m = _STATES_RESOURCE.fullmatch(resource)
        if legacy:
            integ, pattern, target = INTEGRATIONS["lambda:invoke"], "", legacy.group("name")
            tpath = rpath
        elif m and m.group("api") in INTEGRATIONS:
            integ, pattern = INTEGRATIONS[m.group("api")], m.group("suffix") or ""
            if pattern not in integ.patterns:
                allowed = " or ".join(p or "none (Request Response)" for p in integ.patterns)
                self.add(rpath, f"{m.group('api')} does not support {pattern}; its suffixes: {allowed}")
                return
            target, tpath = self._target(info, integ)
        else:
            self.add(rpath, f"{resource!r} is not a resource simulated here{_close(resource, _concrete_forms(), 0.8)};"
                            f" allowed: {', '.join(RESOURCE_FORMS)}")
            return
        integration = PATTERNS[pattern]
        if integration != "request" and info.express:
            why = ("an EXPRESS workflow" if self.sm.type == "EXPRESS" and self._top_level_express(info)
                   else "the EXPRESS child executions of a distributed Map")
            self.add(rpath, f"{pattern} is not supported in {why}: Express workflows take Request Response"
                            " integrations only (connect-to-resource); use a STANDARD workflow")
        info.out.update(target=None if target is None else f"{integ.kind}:{target}", service=integ.service,
                        operation=integ.operation, integration=integration)
        if integ.service == "lambda":
            info.out["invocation_type"] = self._invocation_type(info, legacy is not None)
        if target is not None:
            check_reference(self.s, integ.kind, target, tpath, self.problems)

    def _top_level_express(self, info: _Info) -> bool:
        """Whether `info` is in the machine's own execution (not a distributed Map's children)."""
        i = info.scope
        while i > 0:
            owner = self.states.get(self.scopes[i].owner)
            if owner is None:
                return True
            if owner.out.get("mode") == "distributed":
                return False
            i = owner.scope
        return True

    def _params(self, info: _Info) -> Tuple[Any, str]:
        body = info.body
        for k in ("Parameters", "Arguments"):
            if k in body:
                return body[k], key(info.path, k)
        return None, key(info.path, "Parameters")

    def _param(self, params: Any, ppath: str, name: str) -> Tuple[Optional[str], str]:
        """The resource name in `params[name]`, or None after reporting why not."""
        example = _EXAMPLES.get(name, "NAME")
        if params is None:
            self.add(ppath, f"needs {name}: {_WHAT.get(name, name)}, e.g. Parameters: {{{name}: {example}}}")
            return None, ppath
        if not isinstance(params, Mapping):
            self.add(ppath, f"expected a mapping with {name}, got {describe(params)}")
            return None, ppath
        dynamic = f"{name}.$"
        if dynamic in params:
            self.add(key(ppath, dynamic), f"{name} is read from the payload ({describe(params[dynamic])}), which is not"
                                          f" simulated: name the resource, e.g. {name}: {example}")
            return None, key(ppath, dynamic)
        p = key(ppath, name)
        if name not in params:
            self.add(p, f"is required: {_WHAT.get(name, name)}, e.g. {example}")
            return None, p
        v = params[name]
        if not isinstance(v, str):
            self.add(p, f"expected a string, got {describe(v)}")
            return None, p
        return v, p

    def _target(self, info: _Info, integ: Integration) -> Tuple[Optional[str], str]:
        """The name of the resource a Task reaches, from its Parameters; None (reported) if unknown."""
        params, ppath = self._params(info)
        if integ.service == "events":
            return self._bus(params, ppath)
        text, p = self._param(params, ppath, integ.parameter)
        if text is None:
            return None, p
        if integ.service == "lambda":
            m = _FUNCTION_NAME.fullmatch(text)
            form = "a function name, NAME:QUALIFIER or arn:aws:lambda:REGION:ACCOUNT:function:NAME"
        elif integ.service == "sqs":
            return self._queue(text, p), p
        elif integ.service == "sns":
            m = _TOPIC_ARN.fullmatch(text)
            form = "a topic ARN such as arn:aws:sns:REGION:ACCOUNT:NAME"
        elif integ.service == "dynamodb":
            m = _TABLE.fullmatch(text)
            form = ("a table name (3-255 of letters, digits, '_', '-', '.') or"
                    " arn:aws:dynamodb:REGION:ACCOUNT:table/NAME")
        else:
            m = _MACHINE_ARN.fullmatch(text)
            form = "a state machine ARN such as arn:aws:states:REGION:ACCOUNT:stateMachine:NAME"
        if m is None:
            self.add(p, f"{text!r} is not {form}")
            return None, p
        return m.group("name"), p

    def _queue(self, url: str, p: str) -> Optional[str]:
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
        except ValueError:
            parts, host = None, ""
        m = _QUEUE_PATH.fullmatch(parts.path) if parts is not None else None
        if parts is None or parts.scheme != "https" or not host.endswith((".amazonaws.com", ".amazonaws.com.cn")) \
                or m is None:
            self.add(p, f"{url!r} is not an SQS queue URL such as https://sqs.{self.s.region}.amazonaws.com/"
                        "123456789012/NAME")
            return None
        return m.group("name")

    def _bus(self, params: Any, ppath: str) -> Tuple[Optional[str], str]:
        if isinstance(params, Mapping) and "Entries.$" in params:
            self.add(key(ppath, "Entries.$"), "the entries are read from the payload, which is not simulated: write"
                                              " Entries, each naming its EventBusName (default: the default bus)")
            return None, ppath
        entries = params.get("Entries") if isinstance(params, Mapping) else None
        epath = key(ppath, "Entries")
        if not isinstance(entries, list) or not entries:
            self.add(epath, "is required: a non-empty list of events, each with EventBusName (default: the default"
                            " bus), e.g. Entries: [{EventBusName: NAME, Source: app, DetailType: d, Detail: {}}]")
            return None, epath
        buses: Dict[str, str] = {}
        for j, e in enumerate(entries):
            p = index(epath, j)
            if not isinstance(e, Mapping):
                self.add(p, f"expected an event (a mapping), got {describe(e)}")
                return None, p
            text, bp = ("default", p) if "EventBusName" not in e and "EventBusName.$" not in e else \
                self._param(e, p, "EventBusName")
            if text is None:
                return None, bp
            m = _BUS.fullmatch(text)
            if m is None:
                self.add(bp, f"{text!r} is not a bus name or arn:aws:events:REGION:ACCOUNT:event-bus/NAME")
                return None, bp
            buses.setdefault(m.group("name"), bp)
        if len(buses) > 1:
            self.add(epath, f"entries to several buses ({', '.join(buses)}): one PutEvents task here sends to one bus;"
                            " use a Task per bus")
            return None, epath
        (name, bp), = buses.items()
        return name, bp

    def _invocation_type(self, info: _Info, legacy: bool) -> str:
        params, ppath = self._params(info)
        if legacy or not isinstance(params, Mapping):
            return "RequestResponse"
        if "InvocationType.$" in params:
            self.add(key(ppath, "InvocationType.$"), "is read from the payload, which is not simulated: give"
                                                     " InvocationType (RequestResponse or Event)")
            return "RequestResponse"
        v = params.get("InvocationType", "RequestResponse")
        if v == "DryRun":
            self.add(key(ppath, "InvocationType"), "DryRun invokes nothing and is not simulated; allowed:"
                                                   " RequestResponse, Event")
        elif v not in ("RequestResponse", "Event"):
            self.add(key(ppath, "InvocationType"), f"{describe(v)}{_close(v, ('RequestResponse', 'Event'))};"
                                                   " allowed: RequestResponse (the default), Event")
            return "RequestResponse"
        return v

    def _choice(self, info: _Info) -> None:
        body, path = info.body, info.path
        rules = body.get("Choices")
        cpath = key(path, "Choices")
        targets: List[str] = []
        if "Choices" not in body:
            self.add(cpath, "is required: a non-empty list of rules, each with Next")
        elif not isinstance(rules, list) or not rules:
            self.add(cpath, f"expected a non-empty list of rules, each with Next; got {describe(rules)}")
        else:
            for j, rule in enumerate(rules):
                p = index(cpath, j)
                if not isinstance(rule, Mapping):
                    self.add(p, f"expected a rule (a mapping with Next), got {describe(rule)}")
                elif "Next" not in rule:
                    self.add(key(p, "Next"), "is required: the state this rule goes to")
                else:
                    t = self._edge(info, rule["Next"], key(p, "Next"))
                    if t is not None and t not in targets:
                        targets.append(t)
        info.out["targets"] = targets
        if "Default" in body:
            info.out["default"] = self._edge(info, body["Default"], key(path, "Default"))

    def _parallel(self, info: _Info) -> None:
        body, path = info.body, info.path
        self._transition(info)
        self._retry_catch(info)
        branches = body.get("Branches")
        bpath = key(path, "Branches")
        scopes = []
        if "Branches" not in body:
            self.add(bpath, "is required: a non-empty list of branches, each {StartAt, States}")
        elif not isinstance(branches, list) or not branches:
            self.add(bpath, f"expected a non-empty list of branches, each {{StartAt, States}}; got"
                            f" {describe(branches)}")
        else:
            for j, b in enumerate(branches):
                p = index(bpath, j)
                if not isinstance(b, Mapping):
                    self.add(p, f"expected a branch, a mapping with StartAt and States; got {describe(b)}")
                    continue
                self._fields(b, p, BRANCH_FIELDS, "a Parallel branch")
                scopes.append(self._scope(b, p, info.name, info.express))
            self.n_branches += len(branches)
        info.out["branches"] = tuple(scopes)

    def _map(self, info: _Info) -> None:
        body, path = info.body, info.path
        self._transition(info)
        self._retry_catch(info)
        self.n_maps += 1
        if "ItemProcessor" in body and "Iterator" in body:
            self.add(key(path, "Iterator"), "a Map state takes ItemProcessor or Iterator (its older name), not both")
            return
        field_name = "Iterator" if "Iterator" in body else "ItemProcessor"
        proc = body.get(field_name)
        ppath = key(path, field_name)
        if proc is None:
            self.add(ppath, "is required: what each item runs, {ProcessorConfig: {Mode: INLINE}, StartAt, States}")
            return
        if not isinstance(proc, Mapping):
            self.add(ppath, f"expected a mapping with ProcessorConfig, StartAt and States; got {describe(proc)}")
            return
        self._fields(proc, ppath, PROCESSOR_FIELDS, f"a Map state's {field_name}")
        config = proc.get("ProcessorConfig", {})
        cpath = key(ppath, "ProcessorConfig")
        mode, child = "INLINE", None
        if not isinstance(config, Mapping):
            self.add(cpath, f"expected a mapping with Mode (INLINE or DISTRIBUTED), got {describe(config)}")
            config = {}
        self._fields(config, cpath, ("Mode", "ExecutionType"), "ProcessorConfig")
        if "Mode" in config:
            mode = config["Mode"]
            if mode not in ("INLINE", "DISTRIBUTED"):
                self.add(key(cpath, "Mode"), f"{describe(mode)}{_close(mode, ('INLINE', 'DISTRIBUTED'))}; allowed:"
                                             " INLINE (the default), DISTRIBUTED")
                mode = "INLINE"
        distributed = mode == "DISTRIBUTED"
        if "ExecutionType" in config:
            child = config["ExecutionType"]
            if not distributed:
                self.add(key(cpath, "ExecutionType"), "is for a distributed Map (Mode: DISTRIBUTED), whose items run"
                                                      " as child executions; an inline Map's run in its own")
                child = None
            elif child not in TYPES:
                self.add(key(cpath, "ExecutionType"), f"{describe(child)}{_close(child, TYPES)}; allowed:"
                                                      f" {', '.join(TYPES)}")
                child = "STANDARD"
        elif distributed:
            self.add(key(cpath, "ExecutionType"), "is required for a distributed Map: the type of its child"
                                                  " executions, STANDARD or EXPRESS")
            child = "STANDARD"
        if not distributed:
            for k in DISTRIBUTED_ONLY:
                if k in body:
                    self.add(key(path, k), "is for a distributed Map (ItemProcessor.ProcessorConfig.Mode: DISTRIBUTED)")
        limit = DISTRIBUTED_MAX_CONCURRENCY if distributed else INLINE_MAX_CONCURRENCY
        given = self._int(body, "MaxConcurrency", path, 0) if "MaxConcurrency" in body else 0
        given = 0 if given is None else given
        if given > limit:
            self.problems.warn(key(path, "MaxConcurrency"),
                               f"{given}: a{' distributed' if distributed else 'n inline'} Map runs at most"
                               f" {limit:,} {'child executions' if distributed else 'iterations'} at once, so it"
                               f" acts as {limit:,}")
        info.out.update(mode="distributed" if distributed else "inline", child_type=child if distributed else None,
                        max_concurrency=limit if given == 0 else min(given, limit))
        if distributed:
            if "ToleratedFailurePercentage" in body:
                v = body["ToleratedFailurePercentage"]
                if not _is_number(v) or not 0 <= v <= 100:
                    self.add(key(path, "ToleratedFailurePercentage"), f"{describe(v)}: expected a number 0-100")
                else:
                    info.out["tolerated_failure_percentage"] = float(v)
            if "ToleratedFailureCount" in body:
                n = self._int(body, "ToleratedFailureCount", path, 0)
                if n is not None:
                    info.out["tolerated_failure_count"] = n
        express = child == "EXPRESS" if distributed else info.express
        info.out["scope"] = self._scope(proc, ppath, info.name, express)

    # -------------------------------------------------------------- Retry and Catch

    def _retry_catch(self, info: _Info) -> None:
        body, path = info.body, info.path
        retriers, catchers = [], []
        for f, allowed, what in (("Retry", RETRY_FIELDS, "a retrier"), ("Catch", CATCH_FIELDS, "a catcher")):
            if f not in body:
                continue
            items = body[f]
            fpath = key(path, f)
            if not isinstance(items, list):
                self.add(fpath, f"expected a list of {'retriers' if f == 'Retry' else 'catchers'}, got"
                                f" {describe(items)}")
                continue
            for j, item in enumerate(items):
                p = index(fpath, j)
                if not isinstance(item, Mapping):
                    self.add(p, f"expected {what} (a mapping with ErrorEquals), got {describe(item)}")
                    continue
                self._fields(item, p, allowed, what)
                errors = self._errors(item, p, j == len(items) - 1, f)
                if f == "Retry":
                    retriers.append(self._retrier(item, p, errors))
                elif "Next" not in item:
                    self.add(key(p, "Next"), "is required: the state to go to when the error is caught")
                else:
                    catchers.append((errors, self._edge(info, item["Next"], key(p, "Next"))))
        info.out["retry"] = tuple(retriers)
        info.out["catch"] = tuple(catchers)

    def _errors(self, item: Mapping[str, Any], p: str, last: bool, field_name: str) -> Tuple[str, ...]:
        epath = key(p, "ErrorEquals")
        errors = item.get("ErrorEquals")
        if "ErrorEquals" not in item:
            self.add(epath, "is required: a non-empty list of error names, e.g. [States.TaskFailed]")
            return ()
        if not isinstance(errors, list) or not errors:
            self.add(epath, f"expected a non-empty list of error names, got {describe(errors)}")
            return ()
        good = True
        for j, e in enumerate(errors):
            ep = index(epath, j)
            if not isinstance(e, str):
                self.add(ep, f"expected an error name (a string), got {describe(e)}")
                good = False
            elif e.startswith("States.") and e not in PREDEFINED_ERRORS:
                self.add(ep, f"{e!r} is not a predefined error{_close(e, PREDEFINED_ERRORS)}; names starting 'States.'"
                             f" are AWS's: {', '.join(PREDEFINED_ERRORS)}")
                good = False
            elif e.startswith("Lambda.") and e not in LAMBDA_ERRORS and _close(e, LAMBDA_ERRORS):
                self.problems.warn(ep, f"{e!r} is not one of Lambda's errors{_close(e, LAMBDA_ERRORS)}; as a custom"
                                       " name it matches only a function error of that exact name")
        if "States.ALL" in errors:
            if len(errors) > 1:
                self.add(epath, "States.ALL must be alone in its ErrorEquals (it matches every error)")
                good = False
            elif not last:
                what = "retrier" if field_name == "Retry" else "catcher"
                self.add(epath, f"a {what} with States.ALL must be the last in {field_name} (it matches every error,"
                                f" so those after it would never be used)")
                good = False
        return tuple(errors) if good else ()

    def _retrier(self, item: Mapping[str, Any], p: str, errors: Tuple[str, ...]) -> Retrier:
        interval = self._int(item, "IntervalSeconds", p, 1)
        attempts = self._int(item, "MaxAttempts", p, 0)
        rate = item.get("BackoffRate", RETRY_BACKOFF_RATE)
        if not _is_number(rate) or rate < 1.0:
            self.add(key(p, "BackoffRate"), f"{describe(rate)}: expected a number of 1.0 or more (the multiplier of"
                                            " the interval at each retry; default 2.0)")
            rate = RETRY_BACKOFF_RATE
        max_delay = self._int(item, "MaxDelaySeconds", p, 1, MAX_DELAY_S_MAX)
        jitter = item.get("JitterStrategy", "NONE")
        if jitter not in ("FULL", "NONE"):
            self.add(key(p, "JitterStrategy"), f"{describe(jitter)}{_close(jitter, ('FULL', 'NONE'))}; allowed: FULL,"
                                               " NONE (the default)")
            jitter = "NONE"
        return Retrier(errors, float(RETRY_INTERVAL_S if interval is None else interval),
                       RETRY_MAX_ATTEMPTS if attempts is None else attempts, float(rate),
                       None if max_delay is None else float(max_delay), jitter)

    def _int(self, body: Mapping[str, Any], name: str, path: str, lo: int, hi: int = ASL_INT_MAX) -> Optional[int]:
        """`body[name]` as an int in [lo, hi], or None (absent, or reported)."""
        if name not in body:
            return None
        v = body[name]
        p = key(path, name)
        allowed = f"an integer {lo}-{hi:,}" if hi != ASL_INT_MAX else f"an integer of {lo} or more"
        if not _is_int(v):
            self.add(p, f"expected {allowed}, got {describe(v)}"
                        + (", which is not a whole number" if _is_number(v) else ""))
            return None
        v = int(v)
        if not lo <= v <= hi:
            self.add(p, f"{v} is out of range: {name} takes {allowed}" if v < lo or hi != ASL_INT_MAX else
                     f"{v} is above the ASL's largest {name}, {ASL_INT_MAX:,}")
            return None
        return v

    # -------------------------------------------------------------- what the payload would decide

    def _section(self) -> None:
        sm, path = self.sm, self.path
        by_type: Dict[str, List[str]] = {}
        for n, info in self.states.items():
            by_type.setdefault(info.type or "", []).append(n)
        callbacks = [n for n in by_type.get("Task", ()) if self.states[n].out.get("integration") == "callback"]
        waits = [n for n in by_type.get("Wait", ()) if "waits" in self.states[n].out]
        for n in waits:  # a Timestamp: the run has no calendar, so its wait is given as for a *Path
            info = self.states[n]
            if info.out["waits"] == "Timestamp" and n not in sm.waits_s \
                    and not self.problems.has(key(info.path, "Timestamp")):
                self.add(key(info.path, "Timestamp"), "a Timestamp is an instant on the calendar, and a run has none"
                         f" (its time is seconds from its start): use Seconds, or give this wait in {path}.waits_s."
                         f"{n} (e.g. {{dist: fixed, value: 3600}})")
        self._entries("choices", by_type.get("Choice", []), "a Choice state", "the probabilities of the states it goes"
                      " to, e.g. {NEXT_STATE: 0.3, OTHER_STATE: 0.7}")
        self._entries("map_items", by_type.get("Map", []), "a Map state", "how many items it iterates over: an"
                      " integer, or a distribution such as {dist: lognormal, median: 20, p99: 200}")
        self._entries("callbacks_ms", callbacks, "a Task with .waitForTaskToken", "the delay from its request until"
                      " SendTaskSuccess arrives, e.g. {dist: lognormal, median: 60000, p99: 3600000}")
        self._entries("callback_failure_rate", callbacks, "a Task with .waitForTaskToken", None)
        self._entries("waits_s", waits, "a Wait state with SecondsPath, TimestampPath or Timestamp", "how long it"
                      " waits (the payload is not simulated), e.g. {dist: fixed, value: 60}",
                      required=[n for n in waits if self.states[n].out["waits"] != "Timestamp"])
        for n in by_type.get("Choice", []):
            if n in sm.choices:
                self._choices(self.states[n], sm.choices[n], key(key(path, "choices"), n))
        for n, v in sm.map_items.items():
            if isinstance(v, int) and v < 0:
                self.add(key(key(path, "map_items"), n), f"{v} items: must be 0 or more")
        for n, v in sm.callback_failure_rate.items():
            if v is not None and not 0 <= v <= 1:
                self.add(key(key(path, "callback_failure_rate"), n), f"{num(v)} must be 0-1")
        for n in by_type.get("Wait", []):
            if n in sm.waits_s and n not in waits:
                self.add(key(key(path, "waits_s"), n), f"Wait state {n!r} waits Seconds given in its definition;"
                         " waits_s is for SecondsPath, TimestampPath and Timestamp (remove this entry)")

    def _entries(self, section: str, names: List[str], what: str, needed: Optional[str],
                 required: Optional[List[str]] = None) -> None:
        """Each of `required` (default `names`) needs an entry of `section` (when `needed` says what);
        each entry names one of `names`."""
        given = getattr(self.sm, section)
        spath = key(self.path, section)
        for n in given:
            if n in names:
                continue
            info = self.states.get(n)
            if info is not None and info.type is None:
                continue  # a state with its own problem
            if info is not None and section == "waits_s" and info.type == "Wait":
                continue  # reported by _section with its reason
            is_ = f"is a {info.type} state" if info is not None else "is not a state of this machine"
            plural = _PLURALS[what]
            here = f"; {plural} here: {', '.join(names)}" if names else f"; this machine has no {plural}"
            self.add(key(spath, n), f"{n!r} {is_}: {section} is for {what}{_close(n, names)}{here}")
        if needed is None:
            return
        for n in names if required is None else required:
            if n not in given:
                self.add(key(spath, n), f"is required for {what} ({self.states[n].path}): {needed}")

    def _choices(self, info: _Info, probs: Dict[str, float], path: str) -> None:
        targets = info.out.get("targets", [])
        default = info.out.get("default")
        allowed = targets + ([default] if default is not None and default not in targets else [])
        total = 0.0
        for t, p in probs.items():
            if t not in allowed:
                self.add(key(path, t), f"{t!r} is not a state Choice {info.name!r} goes to{_close(t, allowed)}; its"
                                       f" rules and Default go to {', '.join(allowed)}")
                continue
            if p is None or not 0 <= p <= 1:
                self.add(key(path, t), f"{num(p)} must be 0-1")
                continue
            total += p
        if total > 1 + PROBABILITY_SUM_TOLERANCE:
            rest = f"the remainder goes to Default {default!r}" if default is not None else \
                "the remainder fails with States.NoChoiceMatched"
            self.add(path, f"the probabilities sum to {total:.6g}; at most 1 ({rest})")
        elif default is not None and default in probs and total < 1 - PROBABILITY_SUM_TOLERANCE:
            self.add(path, f"Default's state {default!r} is listed, so it gets exactly its share and the shares must"
                           f" sum to 1 (they sum to {total:.6g}); leave {default!r} out to give it the remainder")
        for t in targets:
            if t not in probs and t != default:
                self.problems.warn(path, f"{t!r}, where a rule of Choice {info.name!r} goes, is not listed: it is"
                                         " never taken")

    # -------------------------------------------------------------- compiling

    def _compile(self, doc: Mapping[str, Any]) -> Machine:
        sm = self.sm
        scopes = []
        for i, sc in enumerate(self.scopes):
            pos = {n: j for j, n in enumerate(sc.names)}
            states = tuple(self._compiled(self.states[n], pos) for n in sc.names)
            scopes.append(Scope(pos[sc.start], states, sc.owner, sc.path))
        size = definition_bytes(doc)
        memory = float(sm.memory_mb) if sm.memory_mb is not None else \
            BASE_MEMORY_MB + (size + sm.payload_bytes * (1 + self.n_branches + self.n_maps)) / BYTES_PER_MB
        timeout = doc.get("TimeoutSeconds")
        return Machine(self.name, sm.type, None if timeout is None else float(timeout),
                       EXPRESS_MAX_DURATION_S if sm.type == "EXPRESS" else STANDARD_MAX_DURATION_S, tuple(scopes),
                       memory, size, sm.payload_bytes, sum(len(s.states) for s in scopes))

    def _compiled(self, info: _Info, pos: Dict[str, int]) -> State:
        out, sm, name = dict(info.out), self.sm, info.name
        kind = info.type.lower()
        out["next"] = pos[out["next"]] if out.get("next") is not None else -1
        if "retry" in out:
            out["catch"] = tuple(Catcher(errors, pos[t]) for errors, t in out["catch"])
        if kind == "task" and out.get("integration") == "callback":
            out["callback_ms"] = copy.deepcopy(sm.callbacks_ms[name])
            out["callback_failure_rate"] = float(sm.callback_failure_rate.get(name) or 0.0)
        elif kind == "wait" and out.pop("waits", None) is not None:
            out["seconds_dist"] = copy.deepcopy(sm.waits_s[name])
        elif kind == "choice":
            targets, default = out.pop("targets"), out.pop("default", None)
            probs = sm.choices[name]
            listed = targets + ([default] if default is not None and default in probs and default not in targets
                                else [])
            branches = tuple((float(probs.get(t, 0.0)), pos[t]) for t in listed)
            rest = max(0.0, 1.0 - sum(p for p, _ in branches))
            out.update(branches=branches, default=-1 if default is None else pos[default],
                       p_default=rest if default is not None else 0.0, p_no_match=rest if default is None else 0.0)
        elif kind == "map":
            items = sm.map_items[name]
            out["items"] = Dist(dist="fixed", value=float(items)) if isinstance(items, int) else copy.deepcopy(items)
        return State(name=name, kind=kind, **out)


_PLURALS = {"a Choice state": "Choice states", "a Map state": "Map states",
            "a Task with .waitForTaskToken": "Tasks with .waitForTaskToken",
            "a Wait state with SecondsPath, TimestampPath or Timestamp":
                "Wait states with SecondsPath, TimestampPath or Timestamp"}


def _concrete_forms() -> List[str]:
    """Every resource written out (for "did you mean")."""
    return [f"arn:aws:states:::{k}{p}" for k, i in INTEGRATIONS.items() for p in i.patterns]


def _rfc3339(text: str) -> bool:
    if not _RFC3339.fullmatch(text):
        return False
    try:
        _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------------ entry points


def check_state_machines(s: Any, problems: Problems, base_dir: Optional[Path] = None) -> None:
    """Report every problem of the scenario's state machines; a `definition_file` becomes absolute
    (relative ones resolve against `base_dir`, the scenario file's folder)."""
    for name, sm in (getattr(s, "state_machines", None) or {}).items():
        _Walk(name, sm, s, problems, base_dir).run()


def compile_machine(name: str, sm: StateMachine, scenario: Any) -> Machine:
    """State machine `name` of validated `scenario` in the form the engine consumes (module
    docstring). Raises ScenarioError if it has a problem (a scenario from `load_scenario` has none)."""
    problems = Problems()
    machine = _Walk(name, sm, scenario, problems, None).run()
    problems.raise_if_any()
    assert machine is not None
    return machine


def task_references(s: Any) -> List[Any]:
    """Every Task state's target as a `scenarios.addresses.Reference` (role "send"; asynchronous for a
    Lambda invoke of InvocationType Event), at the state's `Resource` path, for the checks that ask
    what reaches each function (a machine whose definition does not compile gives none: its checks
    report why). `scenarios.addresses.references` lists the rest of the scenario's."""
    out = []
    for name, sm in (getattr(s, "state_machines", None) or {}).items():
        try:
            machine = compile_machine(name, sm, s)
        except (ScenarioError, DefinitionFileError, OSError, ValueError):
            continue
        for scope in machine.scopes:
            for st in scope.states:
                if st.kind == "task":
                    kind, _, target = st.target.partition(":")
                    out.append(Reference(key(key(key(scope.path, "States"), st.name), "Resource"),
                                         Address(kind, target), "send",
                                         kind == "function" and st.invocation_type == "Event"))
    return out


def compile_machines(scenario: Any) -> Dict[str, Machine]:
    """Every state machine of validated `scenario`, compiled, by name in the scenario's order."""
    return {name: compile_machine(name, sm, scenario)
            for name, sm in (getattr(scenario, "state_machines", None) or {}).items()}


__all__ = ["StateMachine", "Machine", "Scope", "State", "Retrier", "Catcher", "check_state_machines",
           "compile_machine", "compile_machines", "read_definition", "definition_bytes", "DefinitionFileError"]
