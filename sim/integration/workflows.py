"""Step Functions state machines in the account's loop (ACCOUNT_SPEC.md §14): the compiled
machines (`scenarios.workflows`) as the kernel's `MachineParams`, their Task states as calls of
the machine, their own streams, and what they report — summary.json's `state_machines`, the
AWS/States metrics and the bill.

**Tasks as calls.** Each Task state becomes a call (`scenarios.calls.Call`) of its machine,
made as a function's call is (ACCOUNT_SPEC.md §3), with one attempt (the state's `Retry` does
what an SDK's retries would): a Lambda invoke is a synchronous Invoke (or an asynchronous one,
InvocationType Event); an SQS SendMessage, SNS Publish or EventBridge PutEvents is answered when
accepted; a DynamoDB GetItem / PutItem / UpdateItem / DeleteItem is a request of an item of the
execution's payload size (our assumption) to a key of the table's popularity; a
states:startExecution starts a child execution (`.sync` waits for its end). A Lambda Task's
latency — from the state's entry to its function's invocation — is the one measured from Step
Functions to a Lambda consumer (LAMBDA_TASK_LATENCY_*_MS below, by workflow type); any other
Task's is the calls' default (`scenarios.calls.DEFAULT_API_LATENCY_MS`, DynamoDB's for a table:
our assumption, as AWS publishes no figure for Step Functions' own calls). A state transition
takes no time of its own (our simplification: the measured latency covers the transition into a
Lambda Task; Standard's StateTransition quota may delay one).

**Errors.** An `ErrorEquals` list is a mask of what the simulation raises (`error_mask`):
States.ALL every error; States.TaskFailed every task error but a timeout; States.Timeout a
Task's TimeoutSeconds; Lambda.TooManyRequestsException a Lambda throttle; a name that names a
throttle (…Throttl…, …TooManyRequests…, …ProvisionedThroughputExceeded…) any service's throttle;
States.NoChoiceMatched; States.BranchFailed and States.ExceedToleratedFailureThreshold a failed
branch or iteration; any other name — a function's own error name, which is not simulated —
a function's error or timeout and a SendTaskFailure. Names of errors the simulation never raises
(States.Permissions, Lambda.ServiceException, …) match nothing.

**Quotas** (FACTS "Step Functions", limits-overview): StartExecution buckets of 1,300 refilled at
300/s for Standard and 6,000/6,000 for Express in us-east-1, us-west-2 and eu-west-1 (800/150
elsewhere), StateTransition 5,000 refilled at 1,500/s for Standard (800/500 elsewhere); Express
transitions are not limited.

**Billing** (configs/pricing, FACTS "Step Functions"): Standard — state transitions, retries
included (AWSStepFunctions/StateTransition); Express — executions started (Express-Requests)
and duration in 100 ms steps × memory in 64 MB chunks (Express-GB-Hours, kernels/stepfunctions.py).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Dict, List, Optional, Tuple

import numpy as np

from kernels import account as A
from kernels.stepfunctions import UNIT_GB_S_DEN, UNIT_GB_S_NUM
from scenarios.calls import Call
from scenarios.common import Dist
from scenarios.workflows import Machine, StateMachine, compile_machine

# StartExecution (Standard, Express) and StateTransition (Standard) buckets: (rate /s, burst)
# (FACTS "Step Functions": us-east-1, us-west-2, eu-west-1; 800/150 and 800/500 elsewhere).
LARGE_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
QUOTAS_LARGE = {"start_standard": (300.0, 1300.0), "start_express": (6000.0, 6000.0), "transition": (1500.0, 5000.0)}
QUOTAS_OTHER = {"start_standard": (150.0, 800.0), "start_express": (6000.0, 6000.0), "transition": (500.0, 800.0)}

OPS = {"task": A.OP_TASK, "pass": A.OP_PASS, "wait": A.OP_WAIT, "choice": A.OP_CHOICE, "succeed": A.OP_SUCCEED,
       "fail": A.OP_FAIL, "parallel": A.OP_PARALLEL, "map": A.OP_MAP}
TASK_ERRORS = A.ERR_FUNCTION | A.ERR_LAMBDA_THROTTLED | A.ERR_THROTTLED
THROTTLE_ERRORS = A.ERR_LAMBDA_THROTTLED | A.ERR_THROTTLED
NAMED = {"States.ALL": A.ERR_ALL, "States.TaskFailed": TASK_ERRORS, "States.Timeout": A.ERR_TIMEOUT,
         "Lambda.TooManyRequestsException": A.ERR_LAMBDA_THROTTLED, "States.NoChoiceMatched": A.ERR_NO_CHOICE,
         "States.BranchFailed": A.ERR_FAIL, "States.ExceedToleratedFailureThreshold": A.ERR_FAIL}
NEVER_RAISED = ("States.Permissions", "States.ResultPathMatchFailure", "States.ParameterPathFailure",
                "States.IntrinsicFailure", "States.Runtime", "States.DataLimitExceeded", "States.HeartbeatTimeout",
                "States.ItemReaderFailed", "States.ResultWriterFailed", "States.QueryEvaluationError",
                "Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                "Lambda.ClientExecutionTimeoutException", "Lambda.Unknown")
THROTTLE_WORDS = ("throttl", "toomanyrequests", "provisionedthroughputexceeded", "requestlimitexceeded")
DYNAMODB_OPERATIONS = {"GetItem": "GetItem", "PutItem": "PutItem", "UpdateItem": "UpdateItem",
                       "DeleteItem": "DeleteItem"}
COUNTS = A.WORKFLOW_COUNTERS
# How long a Lambda Task takes to reach its function: measured from Step Functions to a Lambda
# consumer (FACTS "Latency of the managed services", bitesizedserverless.com, eu-west-1, 2022, 1,024
# messages): Express (sync) p50 77.3 ms, p99 241 ms; Standard (async) p50 142 ms, p99 313 ms — as
# lognormals through those two points (their p90s, measured 129 and 204 ms, come out at 145 and 219).
LAMBDA_TASK_LATENCY_EXPRESS_MS = {"dist": "lognormal", "median": 77.3, "p99": 241.0}
LAMBDA_TASK_LATENCY_STANDARD_MS = {"dist": "lognormal", "median": 142.0, "p99": 313.0}


def error_mask(names) -> int:
    """The errors an `ErrorEquals` list matches, as kernels.account ERR_* bits (module docstring)."""
    mask = 0
    for n in names:
        if n in NAMED:
            mask |= NAMED[n]
        elif n in NEVER_RAISED:
            continue
        elif any(w in n.lower() for w in THROTTLE_WORDS):
            mask |= THROTTLE_ERRORS
        else:
            mask |= A.ERR_FUNCTION
    return mask


def quotas(region: str) -> Tuple[float, ...]:
    """(start Standard rate, burst, start Express rate, burst, transition rate, burst) in `region`."""
    q = QUOTAS_LARGE if region in LARGE_REGIONS else QUOTAS_OTHER
    return (*q["start_standard"], *q["start_express"], *q["transition"])


def task_call(state, payload_bytes: int, express: bool) -> Call:
    """A Task state as the call its machine makes (module docstring)."""
    sync = state.service == "lambda" and state.invocation_type != "Event" or \
        state.service == "states" and state.integration == "sync"
    call = Call(target=state.target, mode="sync" if sync else "async", max_attempts=1, size_bytes=payload_bytes)
    if state.service == "lambda":
        call.latency_ms = Dist(**(LAMBDA_TASK_LATENCY_EXPRESS_MS if express else LAMBDA_TASK_LATENCY_STANDARD_MS))
    if state.service == "dynamodb":
        call.operation = DYNAMODB_OPERATIONS[state.operation]
        call.item_bytes = float(payload_bytes)
    return call


class Workflows:
    """The account's state machines (module docstring): `machines[m]` compiled, `calls[m]` their
    Task states' calls in state-row order, `streams[m]` each state's own stream (a drawn Wait in
    s, a callback's delay in ms, a Map's item count) or None."""

    def __init__(self, machines: Dict[str, StateMachine], scenario, t_end: float, period_s: float):
        self.names = list(machines)
        self.machines: List[Machine] = [compile_machine(n, sm, scenario) for n, sm in machines.items()]
        self.t_end, self.period_s = t_end, period_s
        self.calls: List[List[Call]] = []
        self.rows: List[List[Tuple[int, int]]] = []  # per machine, per state row: (scope, index)
        self.streams: List[List[Optional[Dist]]] = []
        for mc in self.machines:
            rows = [(s, j) for s, sc in enumerate(mc.scopes) for j in range(len(sc.states))]
            self.rows.append(rows)
            self.calls.append([task_call(mc.scopes[s].states[j], mc.payload_bytes, mc.type == "EXPRESS")
                               for s, j in rows if mc.scopes[s].states[j].kind == "task"])
            self.streams.append([_own_stream(mc.scopes[s].states[j]) for s, j in rows])
        self.state = None  # the calls' kernel arrays (sim.compute.account_state.AccountCalls), from start

    def task_names(self) -> Dict[str, List[str]]:
        """{`sfn:NAME` (the machine's owner name among the calls): its Task states' labels
        `state_machine:NAME/STATE`, in the order of its calls}."""
        out = {}
        for m, (name, mc) in enumerate(zip(self.names, self.machines)):
            out[f"sfn:{name}"] = [f"state_machine:{name}/{mc.scopes[s].states[j].name}" for s, j in self.rows[m]
                                  if mc.scopes[s].states[j].kind == "task"]
        return out

    def params(self, call_params: List[List[A.CallParams]]) -> List[A.MachineParams]:
        """The kernel's MachineParams, each with its Task calls (`call_params[m]`, as the account
        made them from `calls[m]`)."""
        out = []
        for m, mc in enumerate(self.machines):
            off = np.cumsum([0] + [len(sc.states) for sc in mc.scopes]).tolist()
            rows = self.rows[m]
            k = 0
            states = []
            for r, (s, j) in enumerate(rows):
                st = mc.scopes[s].states[j]
                row = lambda i, s=s: off[s] + i if i >= 0 else -1  # noqa: E731 (an index of its scope)
                sp = A.StateParams(OPS[st.kind], next=row(st.next), stream=self.streams[m][r] is not None)
                if st.kind == "task":
                    sp.call, k = k, k + 1
                    sp.callback = st.integration == "callback"
                    sp.callback_failure = float(st.callback_failure_rate or 0.0)
                    sp.timeout_s = float(st.timeout_s) if st.timeout_s is not None else math.inf
                elif st.kind == "wait":
                    sp.wait_s = float(st.seconds) if st.seconds is not None else math.nan
                elif st.kind == "choice":
                    cum, out_b = 0.0, []
                    for p, nxt in st.branches:
                        cum += float(p)
                        out_b.append((cum, row(nxt)))
                    if st.default >= 0:
                        out_b.append((1.0, row(st.default)))
                    sp.branches = out_b
                elif st.kind == "parallel":
                    sp.branches = [off[b] + mc.scopes[b].start for b in st.branches]
                elif st.kind == "map":
                    sp.processor = off[st.scope] + mc.scopes[st.scope].start
                    sp.max_concurrency = max(int(st.max_concurrency), 1)
                    sp.tolerated_count = int(st.tolerated_failure_count or 0)
                    sp.tolerated_share = float(st.tolerated_failure_percentage or 0.0) / 100.0
                if st.kind in ("task", "parallel", "map"):
                    sp.retriers = [(error_mask(r.errors), int(r.max_attempts), float(r.interval_s),
                                    float(r.backoff_rate), float(r.max_delay_s) if r.max_delay_s is not None
                                    else math.inf, r.jitter == "FULL") for r in st.retry]
                    sp.catchers = [(error_mask(c.errors), row(c.next)) for c in st.catch]
                states.append(sp)
            timeout = min(mc.timeout_s if mc.timeout_s is not None else math.inf, mc.max_duration_s)
            out.append(A.MachineParams(express=mc.type == "EXPRESS", states=states,
                                       start=off[0] + mc.scopes[0].start, timeout_s=float(timeout),
                                       memory_mb=int(math.ceil(mc.memory_mb)), calls=call_params[m]))
        return out

    # ---- outputs --------------------------------------------------------------------------
    def _counts(self) -> np.ndarray:
        return self.state.wcnt[:, : len(self.names)]

    def open_end(self, ei: np.ndarray) -> np.ndarray:
        """Executions still running at the end, per machine (their root records)."""
        from kernels import lambda_pool as K

        live = (ei[:, K.E_KIND] == A.K_EXECUTING) & (ei[:, A.X_ROOT] == 1)
        return np.bincount(ei[live, A.X_M], minlength=len(self.names))

    def summary(self, ei: np.ndarray) -> Dict[str, dict]:
        """summary.json's state_machines.NAME: executions started, succeeded, failed, timed out,
        throttled (StartExecution refused), open at the end (started = succeeded + failed +
        timed_out + open_end), state transitions (delayed by the StateTransition quota), the mean
        and longest execution time of those that ended, Express billing units."""
        w = self._counts()
        opened = self.open_end(ei)
        out = {}
        for m, name in enumerate(self.names):
            tot = w[:, m].sum(axis=0)
            ended = int(tot[A.W_SUCCEEDED] + tot[A.W_FAILED] + tot[A.W_TIMED_OUT])
            out[name] = {
                "type": self.machines[m].type,
                "started": int(tot[A.W_STARTED]), "succeeded": int(tot[A.W_SUCCEEDED]),
                "failed": int(tot[A.W_FAILED]), "timed_out": int(tot[A.W_TIMED_OUT]),
                "throttled": int(tot[A.W_THROTTLED]), "open_end": int(opened[m]),
                "state_transitions": int(tot[A.W_TRANSITIONS]),
                "transitions_delayed": int(tot[A.W_TRANS_DELAYED]),
                "execution_time_ms": {"mean": float(tot[A.W_TIME_US]) / ended / 1000.0 if ended else None,
                                      "max": float(w[:, m, A.W_TIME_MAX_US].max()) / 1000.0 if ended else None},
                "express_billing_units": int(tot[A.W_UNITS]),
                "memory_mb": int(math.ceil(self.machines[m].memory_mb)),
            }
        return out

    def metrics(self):
        """AWS/States per period and state machine: ExecutionsStarted, ExecutionsSucceeded,
        ExecutionsFailed, ExecutionsTimedOut, ExecutionThrottled (StartExecution refusals and
        delayed transitions), ExecutionTime (mean of those that ended, ms), and our
        StateTransitions."""
        import polars as pl

        w = self._counts().astype(np.float64)
        P = w.shape[0]
        time_s = np.arange(P) * self.period_s
        frames = []
        for m, name in enumerate(self.names):
            c = w[:, m]
            ended = c[:, A.W_SUCCEEDED] + c[:, A.W_FAILED] + c[:, A.W_TIMED_OUT]
            with np.errstate(invalid="ignore", divide="ignore"):
                mean_ms = np.where(ended > 0, c[:, A.W_TIME_US] / ended / 1000.0, np.nan)
            series = [("AWS/States", "ExecutionsStarted", c[:, A.W_STARTED]),
                      ("AWS/States", "ExecutionsSucceeded", c[:, A.W_SUCCEEDED]),
                      ("AWS/States", "ExecutionsFailed", c[:, A.W_FAILED]),
                      ("AWS/States", "ExecutionsTimedOut", c[:, A.W_TIMED_OUT]),
                      ("AWS/States", "ExecutionThrottled", c[:, A.W_THROTTLED] + c[:, A.W_TRANS_DELAYED]),
                      ("AWS/States", "ExecutionTime", mean_ms),
                      ("cloudtwin/States", "StateTransitions", c[:, A.W_TRANSITIONS])]
            dim = f"StateMachineArn={name}"
            frames += [pl.DataFrame({"time_s": time_s, "namespace": ns, "metric": metric, "dimension": [dim] * P,
                                     "value": v.astype(np.float64)}) for ns, metric, v in series]
        return pl.concat(frames) if frames else None

    def usage(self):
        """(whole run, per period) Usage records of AWSStepFunctions (module docstring)."""
        from sim.billing.meters import MeterTable

        w = self._counts()
        P = w.shape[0]
        table = MeterTable("AWSStepFunctions", [f"state_machine:{n}" for n in self.names], P, self.period_s)
        express = [mc.type == "EXPRESS" for mc in self.machines]
        table.declare("StateTransition", "StateTransitions",
                      [Decimal(0 if e else 1) for e in express])[:] = w[:, :, A.W_TRANSITIONS]
        table.declare("Express-Requests", "Requests", [Decimal(1 if e else 0) for e in express])[:] = \
            w[:, :, A.W_STARTED]
        gb_h = Decimal(UNIT_GB_S_NUM) / Decimal(UNIT_GB_S_DEN) / Decimal(3600)
        table.declare("Express-GB-Hours", "GB-Hours", [gb_h if e else Decimal(0) for e in express])[:] = \
            w[:, :, A.W_UNITS]
        return table.usage()


def _own_stream(state) -> Optional[Dist]:
    """A state's own stream: a Wait's drawn seconds, a callback's delay (ms), a Map's items."""
    if state.kind == "wait" and state.seconds is None:
        return state.seconds_dist
    if state.kind == "task" and state.integration == "callback":
        return state.callback_ms
    if state.kind == "map":
        return state.items
    return None
