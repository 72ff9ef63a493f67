"""The table of user mistakes: each a broken scenario (or command line) with the path and the words its error must show.

A case edits a copy of a shipped scenario (`base`, a file in configs/scenario/) with
`edit(data)`, or gives extra command-line `args`, or a whole file `text`. `path` is the
place the message must name (its YAML path, list indices included, or FILE:LINE:COL for
text cases, where `FILE` stands for the file's name) and `words` what it must say.
tests/test_mistakes.py runs every case through the CLI (files with and without the schema
defaults) and through simulate().
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import yaml

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Case:
    id: str
    path: str
    words: Tuple[str, ...]
    base: str = "default"
    edit: Optional[Callable[[Dict[str, Any]], None]] = None
    args: Tuple[str, ...] = ()  # command-line overrides (CLI only)
    text: Optional[str] = None  # the whole scenario file (not YAML, or not a mapping)
    files: Dict[str, bytes] = field(default_factory=dict)  # data files written beside the scenario
    cli_only: bool = False
    api_only: bool = False


def shipped(name: str) -> Dict[str, Any]:
    """A shipped scenario as plain data, without Hydra's defaults list."""
    data = yaml.safe_load((ROOT / "configs" / "scenario" / f"{name}.yaml").read_text())
    data.pop("defaults", None)
    return data


def scenario_of(case: Case) -> Dict[str, Any]:
    data = copy.deepcopy(shipped(case.base))
    if case.edit is not None:
        case.edit(data)
    return data


def setter(dotted: str, value: Any) -> Callable[[Dict[str, Any]], None]:
    """An edit setting the value at `dotted` (`functions.api.memory_mb`, `traffic.0.target`)."""
    def edit(data: Dict[str, Any]) -> None:
        parts = dotted.split(".")
        node: Any = data
        for p in parts[:-1]:
            node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
        last = parts[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return edit


def deleter(dotted: str) -> Callable[[Dict[str, Any]], None]:
    def edit(data: Dict[str, Any]) -> None:
        parts = dotted.split(".")
        node: Any = data
        for p in parts[:-1]:
            node = node[int(p)] if isinstance(node, list) else node[p]
        del node[parts[-1]]
    return edit


def both(*edits: Callable[[Dict[str, Any]], None]) -> Callable[[Dict[str, Any]], None]:
    def edit(data: Dict[str, Any]) -> None:
        for e in edits:
            e(data)
    return edit


S = setter


def orders(change: Optional[Callable[[Dict[str, Any]], None]] = None, **entry: Any) -> Dict[str, Any]:
    """`state_machines` with one valid machine `orders` (a Task, a Parallel of two branches, the
    first with two retriers; it invokes `worker` of the default scenario), after `change(definition)`
    (an edit of the definition, e.g. S("States.Charge.Next", "Nowhere"))."""
    def lam(fn: str, **more: Any) -> Dict[str, Any]:
        return {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": fn},
                **more}
    definition = {"StartAt": "Charge", "States": {
        "Charge": lam("worker", Next="Fulfil"),
        "Fulfil": {"Type": "Parallel", "Next": "Done", "Branches": [
            {"StartAt": "Ship", "States": {"Ship": lam("worker", End=True, Retry=[
                {"ErrorEquals": ["Lambda.TooManyRequestsException"], "MaxAttempts": 5},
                {"ErrorEquals": ["States.ALL"], "BackoffRate": 1.5}])}},
            {"StartAt": "Mail", "States": {"Mail": {"Type": "Pass", "End": True}}}]},
        "Done": {"Type": "Succeed"}}}
    if change is not None:
        change(definition)
    return {"orders": {"definition": definition, **entry}}


SM = "state_machines.orders.definition.States"
CASES: List[Case] = [
    # --- keys and types in the file ------------------------------------------------------
    Case("misspelt function key", "functions.api.memroy_mb", ("unknown key 'memroy_mb'", "did you mean 'memory_mb'", "allowed keys"),
         edit=both(S("functions.api.memroy_mb", 1024))),
    Case("unknown top-level key", "duraton_s", ("unknown key 'duraton_s'", "did you mean 'duration_s'"), edit=S("duraton_s", 60)),
    Case("text for a number", "duration_s", ("expected a number", "'abc'"), edit=S("duration_s", "abc")),
    Case("quoted number", "functions.api.memory_mb", ("without quotes",), edit=S("functions.api.memory_mb", "1024")),
    Case("a number with its unit", "functions.api.memory_mb", ("write the number alone, 1024", "unit"),
         edit=S("functions.api.memory_mb", "1024MB")),
    Case("boolean for a number", "functions.api.memory_mb", ("expected an integer", "boolean"), edit=S("functions.api.memory_mb", True)),
    Case("mapping for a number", "functions.api.timeout_s", ("expected a number", "mapping"), edit=S("functions.api.timeout_s", {"a": 1})),
    Case("fraction for an integer", "seed", ("not a whole number",), edit=S("seed", 1.5)),
    Case("memory above the maximum", "functions.api.memory_mb", ("above the maximum", "10240"), edit=S("functions.api.memory_mb", 99999)),
    Case("memory below the minimum", "functions.worker.memory_mb", ("below the minimum", "128"), edit=S("functions.worker.memory_mb", 64)),
    Case("timeout above 900 s", "functions.api.timeout_s", ("900",), edit=S("functions.api.timeout_s", 1000)),
    Case("unknown architecture", "functions.api.arch", ("'arm'", "did you mean 'arm64'", "x86_64"), edit=S("functions.api.arch", "arm")),
    Case("negative error rate", "functions.api.error_rate", ("below the minimum",), edit=S("functions.api.error_rate", -0.1)),
    Case("unknown distribution", "functions.api.duration_ms.dist", ("'lognorm'", "did you mean 'lognormal'"),
         edit=S("functions.api.duration_ms", {"dist": "lognorm", "median": 80, "p99": 600})),
    Case("lognormal without p99", "functions.api.duration_ms", ("needs", "p99"),
         edit=S("functions.api.duration_ms", {"dist": "lognormal", "median": 80})),
    Case("p99 below the median", "functions.api.duration_ms.p99", ("greater than median",),
         edit=S("functions.api.duration_ms", {"dist": "lognormal", "median": 80, "p99": 50})),
    Case("parameter of another distribution", "functions.api.init_ms.mean", ("does not apply",),
         edit=S("functions.api.init_ms", {"dist": "fixed", "value": 100, "mean": 3})),
    Case("uniform high below low", "functions.worker.duration_ms.high", ("below low",),
         edit=S("functions.worker.duration_ms", {"dist": "uniform", "low": 10, "high": 5})),
    Case("unknown arrival kind", "traffic[0].arrivals.kind", ("'poison'", "did you mean 'poisson'"),
         edit=S("traffic.0.arrivals.kind", "poison")),
    Case("negative rate", "traffic[1].arrivals.rate_per_s", ("greater than 0",), edit=S("traffic.1.arrivals.rate_per_s", -5)),
    Case("dangling traffic target", "traffic[0].target", ("nope", "api"), edit=S("traffic.0.target", "function:nope")),
    Case("unknown target kind", "traffic[0].target", ("unknown target kind 'lambda'", "function, queue"), edit=S("traffic.0.target", "lambda:api")),
    Case("unknown invocation", "traffic[1].invocation", ("'asynch'", "did you mean 'async'"), edit=S("traffic.1.invocation", "asynch")),
    Case("traffic is a mapping", "traffic", ("expected a list",), edit=S("traffic", {"a": 1})),
    Case("functions is a list", "functions", ("expected a mapping",), edit=S("functions", [1, 2])),
    Case("steps out of order", "traffic[0].arrivals.steps[1].at_s", ("not after",),
         edit=S("traffic.0.arrivals", {"kind": "steps", "steps": [{"at_s": 10, "rate_per_s": 1}, {"at_s": 5, "rate_per_s": 2}]})),
    Case("diurnal key on poisson", "traffic[0].arrivals.peak_to_trough", ("does not apply",),
         edit=S("traffic.0.arrivals.peak_to_trough", 3)),
    Case("zero period", "record.period_s", ("greater than 0",), edit=S("record.period_s", 0)),
    Case("negative window", "sim.window_s", ("greater than 0",), edit=S("sim.window_s", -1)),
    Case("a window of a picosecond", "sim.window_s", ("windows", "outcomes do not depend on window_s", "use auto"),
         edit=S("sim.window_s", 1e-12)),
    Case("misspelt auto window", "sim.window_s", ("expected a number or 'auto'", "'atuo'", "did you mean 'auto'"),
         edit=S("sim.window_s", "atuo")),
    Case("capitalised auto window", "sim.window_s", ("'Auto'", "did you mean 'auto'"), edit=S("sim.window_s", "Auto")),
    Case("misspelt auto report", "record.report", ("expected true or false or 'auto'", "did you mean 'auto'"),
         edit=S("record.report", "atuo")),
    Case("report as a number", "record.report", ("expected true or false or 'auto'",), edit=S("record.report", 2)),
    Case("window with its unit", "sim.window_s", ("expected a number or 'auto'", "write the number alone, 60"),
         edit=S("sim.window_s", "60 s")),
    Case("boolean window", "sim.window_s", ("expected a number or 'auto'", "true (a boolean)"),
         edit=S("sim.window_s", True)),
    Case("null window", "sim.window_s", ("must not be null", "a number or 'auto'"), edit=S("sim.window_s", None)),
    Case("window word on the command line", "sim.window_s", ("expected a number or 'auto'", "'fast'"),
         args=("scenario.sim.window_s=fast",), cli_only=True),
    Case("sample above one", "record.requests.sample", ("above the maximum",), edit=S("record.requests.sample", 2)),
    Case("trace sample above one", "record.traces.sample", ("1.5 is above the maximum 1", "allowed 0-1"),
         edit=S("record.traces.sample", 1.5)),
    Case("negative trace first_n", "record.traces.first_n", ("-1 is below the minimum 0",),
         edit=S("record.traces.first_n", -1)),
    Case("trace sample in words", "record.traces.sample", ("expected a number", "'high'"),
         edit=S("record.traces.sample", "high")),
    Case("unknown key in record.traces", "record.traces.frist_n",
         ("unknown key 'frist_n'", "did you mean 'first_n'", "allowed keys: sample, first_n"),
         edit=S("record.traces.frist_n", 10)),
    Case("record.traces is a number", "record.traces", ("expected a mapping with keys sample, first_n", "0.1"),
         edit=S("record.traces", 0.1)),
    Case("negative seed", "seed", ("below the minimum",), edit=S("seed", -1)),
    Case("zero duration", "duration_s", ("greater than 0",), edit=S("duration_s", 0)),
    Case("provisioned above reserved", "functions.worker.provisioned_concurrency", ("reserved",),
         edit=S("functions.worker.provisioned_concurrency", 500)),
    Case("reserved above the account", "functions", ("reserved_concurrency totals 5000", "concurrency_limit 1000"),
         edit=S("functions.worker.reserved_concurrency", 5000)),
    Case("unknown key in retries", "traffic[0].retries.max_attempt", ("did you mean 'max_attempts'",),
         edit=S("traffic.0.retries.max_attempt", 3)),
    Case("unknown jitter", "traffic[0].retries.jitter", ("'half'",), edit=S("traffic.0.retries.jitter", "half")),
    Case("null memory", "functions.api.memory_mb", ("must not be null",), edit=S("functions.api.memory_mb", None)),
    # --- messaging --------------------------------------------------------------------------
    Case("unknown queue key", "queues.billing.visiblity_timeout_s", ("did you mean 'visibility_timeout_s'",), base="fanout",
         edit=S("queues.billing.visiblity_timeout_s", 30)),
    Case("dangling dead-letter queue", "queues.billing.dead_letter_queue", ("nope",), base="fanout",
         edit=S("queues.billing.dead_letter_queue", "nope")),
    Case("mapping from a missing queue", "event_source_mappings[1].source", ("nope",), base="fanout",
         edit=S("event_source_mappings.1.source", "nope")),
    Case("mapping batch too large", "event_source_mappings[0].batch_size", ("above the maximum",), base="fanout",
         edit=S("event_source_mappings.0.batch_size", 100000)),
    Case("visibility below the function timeout", "event_source_mappings[0]", ("visibility",), base="fanout",
         edit=S("queues.fulfilment.visibility_timeout_s", 5)),
    Case("unknown subscription protocol", "topics.orders.subscriptions[0].protocol", ("'smtp'",), base="fanout",
         edit=S("topics.orders.subscriptions.0.protocol", "smtp")),
    Case("bad filter policy", "topics.orders.subscriptions[0].filter_policy", ("filter",), base="fanout",
         edit=S("topics.orders.subscriptions.0.filter_policy", {"kind": [{"prefx": "a"}]})),
    Case("max receive count zero", "queues.billing.max_receive_count", ("below the minimum",), base="fanout",
         edit=S("queues.billing.max_receive_count", 0)),
    # --- not YAML, or not a mapping ---------------------------------------------------------
    Case("syntax error", "FILE:3:", ("expected",), text="name: x\nduration_s: 60\nfunctions: {a: [1, 2}\n"),
    Case("tab indentation", "FILE:3:1", ("tab",), text="name: x\nfunctions:\n\tapi: {}\n"),
    Case("duplicate key", "FILE:3:1", ("duplicate key", "name"), text="name: x\nduration_s: 60\nname: y\n"),
    Case("empty file", "FILE:1:1", ("empty",), text=""),
    Case("only comments", "FILE:1:1", ("empty",), text="# nothing here\n"),
    Case("a single value", "FILE:1:1", ("single value",), text="42\n"),
    Case("a list at the top", "FILE:1:1", ("a list",), text="- name: x\n- name: y\n"),
    Case("unknown interpolation", "FILE:3:", ("interpolation", "nope"),
         text="name: x\nduration_s: 60\nseed: ${nope}\nfunctions: {f: {}}\n"
              "traffic: [{name: t, target: 'function:f', arrivals: {kind: poisson, rate_per_s: 1}}]\n"),
    # --- the command line --------------------------------------------------------------------
    Case("override with a misspelt key", "functions.api.memroy_mb", ("did you mean 'memory_mb'", "command line"),
         args=("scenario.functions.api.memroy_mb=1",), cli_only=True),
    Case("override of a trace sample above one", "record.traces.sample", ("above the maximum 1",),
         args=("scenario.record.traces.sample=2",), cli_only=True),
    Case("override of a missing function", "functions.nope", ("no function 'nope'", "+scenario.functions.nope.memory_mb=256"),
         args=("scenario.functions.nope.memory_mb=256",), cli_only=True),
    Case("override with text for a number", "duration_s", ("expected a number", "'abc'"),
         args=("scenario.duration_s=abc",), cli_only=True),
    Case("override of a missing list item", "traffic[5]", ("out of range", "2 items"),
         args=("scenario.traffic.5.arrivals.rate_per_s=3",), cli_only=True),
    Case("override of an unknown top-level scenario key", "nope", ("unknown key 'nope'", "allowed keys"),
         args=("scenario.nope=1",), cli_only=True),
    Case("unknown root key", "scenraio.seed=3", ("did you mean 'scenario'",), args=("scenraio.seed=3",), cli_only=True),
    Case("unknown scenario", "scenario=nope", ("no scenario named 'nope'", "default"), args=("scenario=nope",), cli_only=True),
    Case("misspelt scenario", "scenario=erlangb", ("did you mean 'erlang_b'",), args=("scenario=erlangb",), cli_only=True),
    Case("unknown price book", "pricing=mars-1", ("no pricing named", "us-east-1"), args=("pricing=mars-1",), cli_only=True),
    Case("unknown sweep preset", "sweep=memroy", ("did you mean 'memory'",), args=("sweep=memroy",), cli_only=True),
    Case("a sweep without -m", "scenario.seed=1,2", ("add -m",), args=("scenario.seed=1,2",), cli_only=True),
    Case("-m with --cfg", "--multirun (-m) and --cfg", ("cannot be given together",), args=("-m", "--cfg", "job"),
         cli_only=True),
    Case("override out of range", "functions.api.memory_mb", ("above the maximum", "command line"),
         args=("scenario.functions.api.memory_mb=99999",), cli_only=True),
    Case("override below the minimum in a list item", "traffic[1].arrivals.rate_per_s", ("greater than 0", "command line"),
         args=("scenario.traffic.1.arrivals.rate_per_s=-3",), cli_only=True),
    Case("override of a key below a number", "functions.api.memory_mb", ("single value",),
         args=("scenario.functions.api.memory_mb.x=1",), cli_only=True),
    Case("override that cannot be parsed", "scenario.seed=[1", ("KEY=VALUE",), args=("scenario.seed=[1",), cli_only=True),
    Case("override with a non-index", "traffic[first]", ("not an index",), args=("scenario.traffic.first.name=x",), cli_only=True),
    Case("optimize group on cloudtwin", "optimize=memory_cost", ("cloudtwin-optimize",), args=("optimize=memory_cost",), cli_only=True),
    Case("unknown launcher", "hydra/launcher", ("cannot be composed", "nope"), args=("hydra/launcher=nope",), cli_only=True),
    Case("deleting every function", "traffic[0].target", ("not defined",), args=("~scenario.functions",), cli_only=True),
    Case("override with a dangling target", "traffic[0].target", ("nope", "command line"),
         args=("scenario.traffic.0.target=queue:nope",), cli_only=True),
    Case("override of a resource with a number", "functions.api", ("expected a mapping",),
         args=("scenario.functions.api=5",), cli_only=True),
    Case("override of a section with a list", "record", ("expected a mapping",), args=("scenario.record=[1,2]",), cli_only=True),
    Case("override of an unknown region", "region", ("mars-1",), args=("scenario.region=mars-1",), cli_only=True),
    Case("a mistake in one value of a sweep", "functions.api.memory_mb", ("above the maximum", "99999"),
         args=("-m", "scenario.functions.api.memory_mb=512,99999"), cli_only=True),
    Case("a sweep over a scenario without the function", "functions.api", ("no function 'api'",),
         args=("-m", "scenario=default,erlang_b", "scenario.functions.api.memory_mb=512"), cli_only=True),
    Case("a sweep preset for another scenario", "functions.worker", ("sweep preset reserved",),
         args=("-m", "sweep=reserved", "scenario=erlang_b"), cli_only=True),
    # --- trace and data files (relative to the scenario's folder) ---------------------------
] + [
    Case(f"trace: {what}", f"traffic[0].arrivals.{where}", words, edit=S("traffic.0.arrivals", arrivals),
         files={} if content is None else {"calls.csv": content})
    for what, where, words, arrivals, content in [
        ("missing file", "file", ("does not exist",), {"kind": "trace", "file": "calls.csv"}, None),
        ("0 bytes", "file", ("empty (0 bytes)",), {"kind": "trace", "file": "calls.csv"}, b""),
        ("header only", "file", ("header but no rows",), {"kind": "trace", "file": "calls.csv"}, b"t_s\n"),
        ("missing column", "time_column", ("time", "columns"), {"kind": "trace", "file": "calls.csv"},
         b"time\n0.1\n0.2\n"),
        ("text in times", "file", ("not a number", "row 2"), {"kind": "trace", "file": "calls.csv"},
         b"t_s\n0.1\nsoon\n0.3\n"),
        ("NaN time", "file", ("finite",), {"kind": "trace", "file": "calls.csv"}, b"t_s\n0.1\nnan\n"),
        ("negative time", "file", ("0 or more",), {"kind": "trace", "file": "calls.csv"}, b"t_s\n-1\n0.2\n"),
        ("unsorted times", "file", ("non-decreasing",), {"kind": "trace", "file": "calls.csv"}, b"t_s\n0.5\n0.2\n"),
        ("negative durations", "file", ("durations (ms) must be 0 or more",),
         {"kind": "trace", "file": "calls.csv", "duration_column": "ms"}, b"t_s,ms\n0.1,5\n0.2,-3\n"),
        ("missing duration column", "duration_column", ("columns",),
         {"kind": "trace", "file": "calls.csv", "duration_column": "ms"}, b"t_s,dur\n0.1,5\n"),
        ("not CSV or parquet", "file", (".csv or .parquet",), {"kind": "trace", "file": "calls.txt"}, None),
    ]
] + [
    Case(f"empirical: {what}", f"functions.api.duration_ms.{where}", words,
         edit=S("functions.api.duration_ms", {"dist": "empirical", "file": "ms.csv", **extra}),
         files={} if content is None else {"ms.csv": content})
    for what, where, words, extra, content in [
        ("missing file", "file", ("does not exist",), {}, None),
        ("negative sample", "file", ("0 or more",), {}, b"ms\n10\n-2\n"),
        ("text sample", "file", ("not a number",), {}, b"ms\n10\nfast\n"),
        ("missing column", "column", ("did you mean",), {"column": "latenc"}, b"latency\n10\n"),
    ]
] + [
    # --- names as AWS allows them -----------------------------------------------------------
    Case("scenario name climbing out of results", "name", ("not a plain name",), edit=S("name", "../../evil")),
    Case("scenario name with a slash", "name", ("not a plain name",), edit=S("name", "a/b")),
    Case("queue name with a dot", "queues['bad.name']", ("letters, digits",), base="fanout",
         edit=lambda d: d["queues"].update({"bad.name": {}})),
    Case("FIFO queue without .fifo", "queues.jobs", (".fifo",), base="fanout", edit=S("queues.jobs", {"type": "fifo"})),
    Case("topic name with a space", "topics['my topic']", ("letters, digits",), base="fanout",
         edit=S("topics.my topic", {"subscriptions": []})),
    Case("https endpoint over http", "topics.orders.subscriptions[3].endpoint", ("https://",), base="fanout",
         edit=S("topics.orders.subscriptions.3.endpoint", "http://partner.example.com/hooks")),
    Case("email endpoint without @", "topics.orders.subscriptions[4].endpoint", ("address",), base="fanout",
         edit=S("topics.orders.subscriptions.4.endpoint", "ops.example.com")),
    # --- settings that would be ignored -----------------------------------------------------
    Case("async invocation of a topic", "traffic[0].invocation", ("async",), base="fanout",
         edit=S("traffic.0.invocation", "async")),
    Case("client retries on a topic", "traffic[0].retries", ("retries",), base="fanout",
         edit=S("traffic.0.retries", {"max_attempts": 3})),
    Case("client retries on async calls", "traffic[1].retries", ("async_invoke",),
         edit=S("traffic.1.retries", {"max_attempts": 3})),
    Case("message groups on a standard topic", "traffic[0].message.groups", ("FIFO",), base="fanout",
         edit=S("traffic.0.message.groups", 4)),
    Case("attributes on a function call", "traffic[0].message.attributes", ("attributes",),
         edit=S("traffic.0.message.attributes", {"kind": {"a": 1.0}})),
    # --- far beyond AWS's quotas ------------------------------------------------------------
    Case("account concurrency of 10^8", "account.concurrency_limit", ("100000",), edit=S("account.concurrency_limit", 10**8)),
    Case("50 million provisioned environments", "functions.api.provisioned_concurrency", ("100000",),
         edit=S("functions.api.provisioned_concurrency", 50_000_000)),
    Case("a month of 1e300 hours", "billing.month_h", ("8784",), edit=S("billing.month_h", 1e300)),
    # --- bounded before it starts -----------------------------------------------------------
    Case("a run of 1e12 seconds", "duration_s", ("of memory", "budget"), edit=S("duration_s", 1e12)),
    Case("a period of a millisecond over a day", "record.period_s", ("of memory", "period_s"),
         edit=both(S("duration_s", 86400 * 30), S("record.period_s", 0.001))),
    Case("a billion flows", "flows[0].count", ("of memory", "count"), base="vpc_three_tier",
         edit=S("flows.0", {"name": "huge", "src": "web1", "dst": "app1", "dst_ports": [{"port": 8080}],
                            "count": 1_000_000_000})),
    # --- calls and endpoints (issue 11) ---------------------------------------------------
    Case("call to a missing function", "functions.api.calls[0].target", ("function 'wroker' is not defined",
         "did you mean 'worker'"), edit=S("functions.api.calls", [{"target": "function:wroker"}])),
    Case("call with a bad mode", "functions.api.calls[0].mode", ("'later'", "sync", "async"),
         edit=S("functions.api.calls", [{"target": "function:worker", "mode": "later"}])),
    Case("call probability above 1", "functions.api.calls[0].probability", ("above the maximum", "0-1"),
         edit=S("functions.api.calls", [{"target": "function:worker", "probability": 1.5}])),
    Case("call probability below 0", "functions.api.calls[0].probability", ("below the minimum",),
         edit=S("functions.api.calls", [{"target": "function:worker", "probability": -0.5}])),
    Case("call count of zero", "functions.api.calls[0].count", ("below the minimum",),
         edit=S("functions.api.calls", [{"target": "function:worker", "count": 0}])),
    Case("a function calling itself synchronously", "functions.api.calls[0].target",
         ("calls itself synchronously", "make the call async"),
         edit=S("functions.api.calls", [{"target": "function:api", "mode": "sync"}])),
    Case("a call to a kind not simulated yet", "functions.api.calls[0].target", ("not simulated yet", "table:NAME"),
         edit=S("functions.api.calls", [{"target": "api:shop/GET /items"}])),
    Case("a call to a table without an operation", "functions.api.calls[0].operation", ("is required", "PutItem"),
         edit=both(S("tables", {"orders": {}}), S("functions.api.calls", [{"target": "table:orders"}]))),
    Case("a call to a table with an unknown operation", "functions.api.calls[0].operation",
         ("'Scan'", "not a DynamoDB operation", "GetItem"),
         edit=both(S("tables", {"orders": {}}),
                   S("functions.api.calls", [{"target": "table:orders", "operation": "Scan"}]))),
    Case("items on a single-item operation", "functions.api.calls[0].items", ("GetItem reads or writes one item",),
         edit=both(S("tables", {"orders": {}}),
                   S("functions.api.calls", [{"target": "table:orders", "operation": "GetItem", "items": 5}]))),
    Case("a batch too large", "functions.api.calls[0].items", ("30 items", "BatchWriteItem takes 1-25"),
         edit=both(S("tables", {"orders": {}}),
                   S("functions.api.calls", [{"target": "table:orders", "operation": "BatchWriteItem", "items": 30}]))),
    Case("an item above 400 KB", "functions.api.calls[0].item_bytes", ("at most 400 KB",),
         edit=both(S("tables", {"orders": {}}),
                   S("functions.api.calls", [{"target": "table:orders", "operation": "PutItem",
                                              "item_bytes": 500000}]))),
    Case("a table called asynchronously", "functions.api.calls[0].mode", ("mode: sync",),
         edit=both(S("tables", {"orders": {}}),
                   S("functions.api.calls", [{"target": "table:orders", "operation": "PutItem", "mode": "async"}]))),
    Case("a table operation on a function", "functions.api.calls[0].operation", ("is for calls to tables",),
         edit=S("functions.api.calls", [{"target": "function:worker", "operation": "PutItem"}])),
    Case("a provisioned table without capacity", "tables.orders.write_capacity_units", ("is required",),
         edit=S("tables", {"orders": {"billing_mode": "provisioned", "read_capacity_units": 5}})),
    Case("provisioned capacity on an on-demand table", "tables.orders.read_capacity_units",
         ("for provisioned tables", "warm_throughput"), edit=S("tables", {"orders": {"read_capacity_units": 5}})),
    Case("a capacity mode misspelt", "tables.orders.billing_mode", ("'ondemand'", "on_demand, provisioned"),
         edit=S("tables", {"orders": {"billing_mode": "ondemand"}})),
    Case("auto scaling on an on-demand table", "tables.orders.auto_scaling", ("for provisioned tables",),
         edit=S("tables", {"orders": {"auto_scaling": {}}})),
    Case("an auto scaling target out of range", "tables.orders.auto_scaling.target_utilization", ("0.95", "20-90 %"),
         edit=S("tables", {"orders": {"billing_mode": "provisioned", "read_capacity_units": 5,
                                      "write_capacity_units": 5, "auto_scaling": {"target_utilization": 0.95}}})),
    Case("a key popularity misspelt", "tables.orders.keys.dist", ("'zipfian'", "uniform, zipf"),
         edit=S("tables", {"orders": {"keys": {"dist": "zipfian"}}})),
    Case("traffic to an API route that does not exist", "traffic[0].target", ("'shop/GET /item'", "GET /items"),
         edit=both(S("apis", {"shop": {"routes": {"GET /items": {"integration": "function:api"}}}}),
                   S("traffic.0.target", "api:shop/GET /item"))),
    Case("an API route integrating nothing known", "apis.shop.routes['GET /items'].integration", ("function 'nope' is not defined",),
         edit=S("apis", {"shop": {"routes": {"GET /items": {"integration": "function:nope"}}}})),
    Case("an API type misspelt", "apis.shop.type", ("'restful'", "http, rest"),
         edit=S("apis", {"shop": {"type": "restful", "routes": {"GET /items": {"integration": "function:api"}}}})),
    Case("a cache on an HTTP API", "apis.shop.cache", ("for REST APIs",),
         edit=S("apis", {"shop": {"cache": {"size_gb": 0.5},
                                  "routes": {"GET /items": {"integration": "function:api"}}}})),
    Case("a cache size AWS does not offer", "apis.shop.cache.size_gb", ("1 GB is not a cache size", "0.5, 1.6"),
         edit=S("apis", {"shop": {"type": "rest", "cache": {"size_gb": 1},
                                  "routes": {"GET /items": {"integration": "function:api"}}}})),
    Case("an integration timeout above 29 s on an HTTP API", "apis.shop.routes['GET /items'].timeout_ms",
         ("50-29000 ms", "only REST APIs may raise it"),
         edit=S("apis", {"shop": {"routes": {"GET /items": {"integration": "function:api", "timeout_ms": 60000}}}})),
    Case("a stream to a function that does not exist", "tables.orders.stream.function", ("'audit' is not defined",),
         edit=S("tables", {"orders": {"stream": {"function": "audit"}}})),
    Case("a stream's parallelization factor out of range", "tables.orders.stream.parallelization_factor",
         ("12 must be 1-10",), edit=S("tables", {"orders": {"stream": {"function": "worker",
                                                                        "parallelization_factor": 12}}})),
    Case("a call to a bucket without an operation", "functions.api.calls[0].operation", ("is required", "PUT"),
         edit=both(S("buckets", {"photos": {}}), S("functions.api.calls", [{"target": "bucket:photos"}]))),
    Case("a bucket operation misspelt", "functions.api.calls[0].operation", ("'PutObject'", "GET, HEAD"),
         edit=both(S("buckets", {"photos": {}}),
                   S("functions.api.calls", [{"target": "bucket:photos", "operation": "PutObject"}]))),
    Case("a storage class S3 does not have here", "buckets.photos.storage_class", ("'GLACIER'", "STANDARD_IA"),
         edit=S("buckets", {"photos": {"storage_class": "GLACIER"}})),
    Case("a notification to nowhere", "buckets.photos.notifications[0].target", ("function 'thumbs' is not defined",),
         edit=S("buckets", {"photos": {"notifications": [{"target": "function:thumbs"}]}})),
    Case("a table's item size on a bucket", "functions.api.calls[0].item_bytes", ("is for calls to tables",),
         edit=both(S("buckets", {"photos": {}}),
                   S("functions.api.calls", [{"target": "bucket:photos", "operation": "GET", "item_bytes": 10}]))),
    Case("an HTTP integration without its backend", "apis.shop.routes['GET /items'].http.latency_ms",
         ("needs its backend's response time",),
         edit=S("apis", {"shop": {"routes": {"GET /items": {"integration": "http"}}}})),
    Case("a usage plan the API does not have", "traffic[0].usage_plan", ("'gold'", "not a usage plan"),
         edit=both(S("apis", {"shop": {"type": "rest", "routes": {"GET /items": {"integration": "function:api"}}}}),
                   S("traffic.0.target", "api:shop/GET /items"), S("traffic.0.usage_plan", "gold"))),
    Case("a call at a bad point", "functions.api.calls[0].at", ("'middle'", "start", "end"),
         edit=S("functions.api.calls", [{"target": "function:worker", "at": "middle"}])),
    Case("an endpoint without a latency", "endpoints.payments.latency_ms", ("is required",),
         edit=both(S("endpoints", {"payments": {"error_rate": 0.01}}),
                   S("functions.api.calls", [{"target": "endpoint:payments"}]))),
    Case("an endpoint called asynchronously", "functions.api.calls[0].mode", ("called synchronously",),
         edit=both(S("endpoints", {"payments": {"latency_ms": {"dist": "fixed", "value": 100}}}),
                   S("functions.api.calls", [{"target": "endpoint:payments", "mode": "async"}]))),
    Case("an endpoint error rate above 1", "endpoints.payments.error_rate", ("above the maximum",),
         edit=S("endpoints", {"payments": {"latency_ms": {"dist": "fixed", "value": 100}, "error_rate": 2}})),
    # infinite expected fan-out: refused when the world is built (sim/callgraph.py)
    Case("a function republishing to its own topic twice", "functions.fulfil.calls",
         ("fulfil → fulfil never end", "2.00 times the last", "spectral radius", "must be below 1",
          "probability or count of functions.fulfil.calls[0] (topic:orders)", "filter policies of topic:orders"),
         base="fanout", edit=S("functions.fulfil.calls", [{"target": "topic:orders", "mode": "async", "count": 2}])),
    Case("a call loop through a filter matching half its classes", "functions.fulfil.calls",
         ("fulfil → fulfil never end", "for items of class {'kind': 'created'}", "1.50 times the last"),
         base="fanout", edit=S("functions.fulfil.calls", [{"target": "topic:orders", "mode": "async", "count": 3,
                                                           "attributes": {"kind": {"created": 0.5, "updated": 0.5}}}])),
    Case("two functions invoking each other every time", "functions.fulfil.calls",
         ("fulfil → audit → fulfil never end", "1.00 times the last",
          "functions.fulfil.calls[0] (function:audit) and functions.audit.calls[0] (function:fulfil)"),
         base="fanout", edit=both(S("functions.fulfil.calls", [{"target": "function:audit", "mode": "async"}]),
                                  S("functions.audit.calls", [{"target": "function:fulfil", "mode": "async"}]))),
    Case("call attributes that do not sum to 1", "functions.fulfil.calls[0].attributes.kind", ("sum to 0.9",),
         base="fanout", edit=S("functions.fulfil.calls", [{"target": "topic:orders", "mode": "async",
                                                           "attributes": {"kind": {"created": 0.5, "updated": 0.4}}}])),
    # --- links and bandwidth (issue 12) -----------------------------------------------------
    Case("a DX speed not offered", "direct_connect.connections.dc_primary.speed_gbps", ("7", "offered"),
         base="hybrid_dx_failover", edit=S("direct_connect.connections.dc_primary.speed_gbps", 7)),
    Case("a LAG of mixed speeds", "direct_connect.lags.lag1.connections", ("speed",),
         base="hybrid_dx_failover",
         edit=both(S("direct_connect.connections.dc_primary.outages", []),
                   S("direct_connect.connections.dc_two", {"speed_gbps": 1}),
                   S("direct_connect.lags", {"lag1": {"connections": ["dc_primary", "dc_two"]}}))),
    Case("a failover to a VPN that does not exist", "vpcs.prod.vpn_gateways.dc.dx_interfaces.dc_vif.backup_vpn",
         ("dc_vnp",), base="hybrid_dx_failover", edit=S("vpcs.prod.vpn_gateways.dc.dx_interfaces.dc_vif.backup_vpn",
                                                      "dc_vnp")),
    Case("a DX interface on an unknown connection", "vpcs.prod.vpn_gateways.dc.dx_interfaces.dc_vif.connection",
         ("dc_primry",), base="hybrid_dx_failover",
         edit=S("vpcs.prod.vpn_gateways.dc.dx_interfaces.dc_vif.connection", "dc_primry")),
    Case("a function in an unknown subnet", "functions.fetcher.vpc.subnets[1]", ("'app_c' is not defined",),
         base="nat_lambda_diurnal", edit=S("functions.fetcher.vpc.subnets", ["app_a", "app_c"])),
    Case("egress without a VPC", "functions.fetcher.egress", ("vpc",),
         base="nat_lambda_diurnal", edit=S("functions.fetcher.vpc", None)),
    Case("a NAT gateway faster than AWS makes them", "vpcs.prod.nat_gateways.nat_a.max_gbps", ("100 Gbit/s",),
         base="nat_lambda_diurnal", edit=S("vpcs.prod.nat_gateways.nat_a.max_gbps", 400)),
    Case("a flow of packets of no size", "flows[0].packet_bytes", ("0 must be greater than 0", "9001 bytes"),
         base="nat_lambda_diurnal", edit=S("flows.0.packet_bytes", 0)),
    Case("egress packets above the jumbo MTU", "functions.fetcher.egress[0].packet_bytes",
         ("9002 is above the maximum 9001",), base="nat_lambda_diurnal",
         edit=S("functions.fetcher.egress.0.packet_bytes", 9002)),
    Case("an egress round trip of no time", "functions.fetcher.egress[0].rtt_ms", ("0 must be greater than 0 ms",),
         base="nat_lambda_diurnal", edit=S("functions.fetcher.egress.0.rtt_ms", 0)),
    Case("a NAT gateway scaling above all its load", "vpcs.prod.nat_gateways.nat_a.scale_threshold",
         ("1.5 is above the maximum 1",), base="nat_lambda_diurnal",
         edit=both(deleter("vpcs.prod.nat_gateways.nat_a.max_gbps"), S("vpcs.prod.nat_gateways.nat_a.scale_threshold", 1.5))),
    Case("a NAT gateway scaling at no interval", "vpcs.prod.nat_gateways.nat_a.scale_interval_s",
         ("0 must be greater than 0 s",), base="nat_lambda_diurnal",
         edit=both(deleter("vpcs.prod.nat_gateways.nat_a.max_gbps"), S("vpcs.prod.nat_gateways.nat_a.scale_interval_s", 0))),
    Case("scaling a fixed NAT gateway", "vpcs.prod.nat_gateways.nat_a.scale_threshold",
         ("fixed at max_gbps 5", "remove `scale_threshold` or `max_gbps`"), base="nat_lambda_diurnal",
         edit=S("vpcs.prod.nat_gateways.nat_a.scale_threshold", 0.5)),
    Case("a VPN tunnel size that does not exist", "transit_gateways.hub.attachments.shared.tunnel",
         ("standard, large",), base="tgw_hub_spoke", edit=S("transit_gateways.hub.attachments.shared.tunnel", "xl")),
    # --- Step Functions state machines (scenarios/workflows.py, sim/integration/workflows.py) --------
    Case("a sync call to a STANDARD state machine", "functions.api.calls[0].mode",
         ("STANDARD state machine", "StartSyncExecution", "mode: async"),
         edit=both(S("state_machines", orders()), S("functions.api.calls", [{"target": "state_machine:orders"}]))),
    Case("sync traffic to a STANDARD state machine", "traffic[0].invocation",
         ("StartSyncExecution", "invocation: async"),
         edit=both(S("state_machines", orders()), S("traffic.0.target", "state_machine:orders"),
                   S("traffic.0.invocation", "sync"))),
    Case("a loop through a state machine that never ends", "functions.worker.calls",
         ("worker → state machine orders → worker", "never end on average", "Charge"),
         edit=both(S("state_machines", orders(type="EXPRESS")),
                   S("functions.worker.calls", [{"target": "state_machine:orders", "mode": "async"}]))),
    Case("a state machine whose Choice loops without end", "state_machines.orders",
         ("loop without end", "choices"),
         edit=S("state_machines", orders(both(S("States.Charge.Next", "Again"), S("States.Again", {
             "Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 9, "Next": "Charge"}],
             "Default": "Fulfil"})), choices={"Again": {"Charge": 1.0}}))),
    Case("a state machine's Next to nowhere", f"{SM}.Charge.Next", ("'Fulfill' is not a state here",
                                                                    "did you mean 'Fulfil'"),
         edit=S("state_machines", orders(S("States.Charge.Next", "Fulfill")))),
    Case("a state machine invoking a function that does not exist", f"{SM}.Charge.Parameters.FunctionName",
         ("function 'wroker' is not defined", "did you mean 'worker'"),
         edit=S("state_machines", orders(S("States.Charge.Parameters.FunctionName", "wroker")))),
    Case("a retrier's BackoffRate below 1 in a Parallel branch",
         f"{SM}.Fulfil.Branches[0].States.Ship.Retry[1].BackoffRate", ("0.5", "a number of 1.0 or more"),
         edit=S("state_machines", orders(S("States.Fulfil.Branches.0.States.Ship.Retry.1.BackoffRate", 0.5)))),
    Case("a state machine in JSONata", "state_machines.orders.definition.QueryLanguage",
         ("JSONata is not supported yet",),
         edit=S("state_machines", orders(S("QueryLanguage", "JSONata")))),
    Case("a Task resource that is not simulated", f"{SM}.Charge.Resource",
         ("is not a resource simulated here", "arn:aws:states:::lambda:invoke"),
         edit=S("state_machines", orders(S("States.Charge.Resource", "arn:aws:states:::glue:startJobRun.sync")))),
    Case("a heartbeat on a task", f"{SM}.Charge.HeartbeatSeconds", ("heartbeats are not simulated",),
         edit=S("state_machines", orders(S("States.Charge.HeartbeatSeconds", 60)))),
    Case("a Choice without its probabilities", "state_machines.orders.choices.Big", ("is required for a Choice state",),
         edit=S("state_machines", orders(both(S("States.Charge.Next", "Big"), S("States.Big", {
             "Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 9, "Next": "Fulfil"}],
             "Default": "Fulfil"}))))),
    Case("a state machine type misspelt", "state_machines.orders.type", ("'express'", "did you mean 'EXPRESS'"),
         edit=S("state_machines", orders(type="express"))),
    Case("a state machine's JSON file with a syntax error", "state_machines.orders.definition_file",
         ("orders.asl.json:2:13", "not valid JSON"), files={"orders.asl.json": b'{"StartAt": "A",\n "States": {]}\n'},
         edit=S("state_machines", {"orders": {"definition_file": "orders.asl.json"}})),
    # Amazon MQ brokers (scenarios/mq.py)
    Case("a broker instance type Amazon MQ does not offer", "brokers.legacy.instance_type",
         ("'mq.m5.8xlarge'", "mq.m5.large, mq.m5.xlarge"), base="mq_legacy_orders",
         edit=S("brokers.legacy.instance_type", "mq.m5.8xlarge")),
    Case("a broker engine misspelt", "brokers.legacy.engine", ("'activeMQ'", "activemq, rabbitmq"),
         base="mq_legacy_orders", edit=S("brokers.legacy.engine", "activeMQ")),
    Case("an ActiveMQ broker deployed as a cluster", "brokers.legacy.deployment",
         ("'cluster'", "single_instance, active_standby"), base="mq_legacy_orders",
         edit=S("brokers.legacy.deployment", "cluster")),
    Case("an active/standby broker on EBS", "brokers.legacy.storage", ("EBS does not support the active/standby",),
         base="mq_legacy_orders", edit=S("brokers.legacy.storage", "ebs")),
    Case("a RabbitMQ broker on EFS", "brokers.legacy.storage", ("'efs' is not a storage type of rabbitmq", "ebs"),
         base="mq_legacy_orders", edit=both(S("brokers.legacy.engine", "rabbitmq"),
                                           S("brokers.legacy.deployment", "single_instance"),
                                           S("brokers.legacy.concurrent_store_and_dispatch", True))),
    Case("broker storage above the quota", "brokers.legacy.storage_gb", ("300 must be 0-200 GB",),
         base="mq_legacy_orders", edit=S("brokers.legacy.storage_gb", 300)),
    Case("a consumer failure rate above 1", "brokers.legacy.queues.orders.consumers.failure_rate",
         ("1.5 must be 0-1",), base="mq_legacy_orders", edit=S("brokers.legacy.queues.orders.consumers.failure_rate", 1.5)),
    Case("a broker with no queues", "brokers.legacy.queues", ("at least one queue",), base="mq_legacy_orders",
         edit=both(S("brokers.legacy.queues", {}), S("traffic", []))),
    Case("traffic to a broker queue that does not exist", "traffic[0].target", ("'legacy/order'", "legacy/orders"),
         base="mq_legacy_orders", edit=S("traffic.0.target", "broker:legacy/order")),
    Case("a failover of no time", "brokers.legacy.failover_s", ("0 must be more than 0 s",), base="mq_legacy_orders",
         edit=S("brokers.legacy.failover_s", 0)),
    Case("a function calling a broker", "functions.api.calls[0].target", ("broker queue targets are not simulated yet",),
         edit=both(S("brokers", {"b": {"queues": {"q": {}}}}), S("functions.api.calls", [{"target": "broker:b/q"}]))),
]

# ECS services on Fargate (scenarios/containers.py), on configs/scenario/fargate_burst.yaml
SV = "services.web"
CASES += [
    Case("a Fargate task size that does not exist", f"{SV}.cpu", ("0.3 vCPU is not a Fargate task size", "0.25, 0.5"),
         base="fargate_burst", edit=S(f"{SV}.cpu", 0.3)),
    Case("memory that does not go with the vCPU", f"{SV}.memory_gb", ("9 GB does not go with 1 vCPU", "2, 3, 4"),
         base="fargate_burst", edit=S(f"{SV}.memory_gb", 9)),
    Case("a service without its request time", f"{SV}.request_ms", ("needs the time a request takes",),
         base="fargate_burst", edit=deleter(f"{SV}.request_ms")),
    Case("a scaling metric that does not exist", f"{SV}.scaling.metric", ("'memory'", "cpu, requests_per_target"),
         base="fargate_burst", edit=S(f"{SV}.scaling.metric", "memory")),
    Case("a CPU target above 100 %", f"{SV}.scaling.target", ("120 % is above 100 %",),
         base="fargate_burst", edit=S(f"{SV}.scaling.target", 120)),
    Case("max_tasks below min_tasks", f"{SV}.scaling.max_tasks", ("2 must be 4-5,000",),
         base="fargate_burst", edit=S(f"{SV}.scaling.max_tasks", 2)),
    Case("a desired count outside the scaling's bounds", f"{SV}.desired_count", ("must be within", "4-40"),
         base="fargate_burst", edit=S(f"{SV}.desired_count", 50)),
    Case("Spot without an interruption rate", f"{SV}.spot.interruptions_per_task_hour", ("need an interruption rate",),
         base="fargate_burst", edit=S(f"{SV}.spot.interruptions_per_task_hour", None)),
    Case("Spot for arm64 tasks", f"{SV}.spot.spot_weight", ("x86_64 tasks only",),
         base="fargate_burst", edit=S(f"{SV}.architecture", "arm64")),
    Case("requests using more CPU than the task has", f"{SV}.vcpu_per_request", ("at most cpu / concurrency_per_task",),
         base="fargate_burst", edit=S(f"{SV}.vcpu_per_request", 0.5)),
    Case("a service misspelt in a route", "apis.shop.routes['GET /products'].integration",
         ("ECS service 'webb' is not defined", "did you mean 'web'"),
         base="fargate_burst", edit=S("apis.shop.routes.GET /products.integration", "service:webb")),
    Case("a function calling a service", "functions.api.calls[0].target", ("ECS service targets are not simulated yet",),
         edit=both(S("services", {"web": {"request_ms": {"dist": "fixed", "value": 10}}}),
                   S("functions.api.calls", [{"target": "service:web"}]))),
    Case("an unknown key in a service", f"{SV}.concurrency", ("unknown key 'concurrency'", "concurrency_per_task"),
         base="fargate_burst", edit=S(f"{SV}.concurrency", 4)),
]
# a service's tasks in a VPC sending flows (services.NAME.vpc + egress), on fargate_burst with a small VPC
SV_VPC = {"cidr": "10.0.0.0/16", "subnets": {"app_a": {"cidr": "10.0.2.0/24", "az": "us-east-1a"}},
          "security_groups": {"web": {}}}
SV_EGRESS = {"dst": "internet:203.0.113.7"}


def service_in_vpc(vpc: Optional[Dict[str, Any]] = None, **egress: Any) -> Callable[[Dict[str, Any]], None]:
    """fargate_burst's web service in VPC `prod` (SV_VPC), subnet app_a, group web, with one egress
    entry (SV_EGRESS): `vpc` and `egress` change its keys."""
    cfg = {"vpc": "prod", "subnets": ["app_a"], "security_groups": ["web"], **(vpc or {})}
    return both(S("vpcs", {"prod": copy.deepcopy(SV_VPC)}), S(f"{SV}.vpc", cfg),
                S(f"{SV}.egress", [{**SV_EGRESS, **egress}]))


CASES += [
    Case("a service's egress without its VPC", f"{SV}.egress", ("egress needs services.web.vpc",),
         base="fargate_burst", edit=S(f"{SV}.egress", [dict(SV_EGRESS)])),
    Case("a service in a VPC not defined", f"{SV}.vpc.vpc", ("VPC 'prod' is not defined",), base="fargate_burst",
         edit=both(S(f"{SV}.vpc", {"vpc": "prod", "subnets": ["app_a"]}), S(f"{SV}.egress", [dict(SV_EGRESS)]))),
    Case("a service's subnet not defined", f"{SV}.vpc.subnets[1]", ("'app_z' is not defined", "did you mean 'app_a'"),
         base="fargate_burst", edit=service_in_vpc({"subnets": ["app_a", "app_z"]})),
    Case("a service's security group not defined", f"{SV}.vpc.security_groups[0]", ("'db' is not defined",),
         base="fargate_burst", edit=service_in_vpc({"security_groups": ["db"]})),
    Case("a service's egress into its own VPC block", f"{SV}.egress[0].dst", ("inside a VPC block",),
         base="fargate_burst", edit=service_in_vpc(dst="internet:10.0.2.9")),
    Case("a service's egress more likely than always", f"{SV}.egress[0].probability", ("1.5 is above the maximum 1",),
         base="fargate_burst", edit=service_in_vpc(probability=1.5)),
    Case("a service's egress at neither end", f"{SV}.egress[0].at", ("'middle'", "start, end"),
         base="fargate_burst", edit=service_in_vpc(at="middle")),
]
# --- Amazon SWF workflow types (scenarios/swf.py, sim/integration/swf.py) -----------------------
SWF = "swf_workflows.approval"
CASES += [
    Case("an SWF activity's key misspelt", f"{SWF}.activities.check_credit.worker",
         ("unknown key 'worker'", "did you mean 'workers'"), base="swf_approval",
         edit=S(f"{SWF}.activities.check_credit.worker", 5)),
    Case("an SWF worker count that is not a number", f"{SWF}.activities.check_credit.workers", ("'five'",),
         base="swf_approval", edit=S(f"{SWF}.activities.check_credit.workers", "five")),
    Case("an SWF decision time that is half a lognormal", f"{SWF}.deciders.decision_ms",
         ("lognormal with median also needs p99",), base="swf_approval",
         edit=S(f"{SWF}.deciders.decision_ms", {"dist": "lognormal", "median": 30})),
    Case("an SWF step naming an activity type not defined", f"{SWF}.steps[3].activity",
         ("activity type 'shp' is not defined", "did you mean 'ship'"), base="swf_approval",
         edit=S(f"{SWF}.steps.3.activity", "shp")),
    Case("an SWF step of two kinds", f"{SWF}.steps[2]", ("exactly one of", "sets timer_s and marker"),
         base="swf_approval", edit=S(f"{SWF}.steps.2", {"marker": "approved", "timer_s": {"dist": "fixed", "value": 5}})),
    Case("an SWF step of no kind", f"{SWF}.steps[2]", ("a step needs one of activity, timer_s",),
         base="swf_approval", edit=S(f"{SWF}.steps.2", {})),
    Case("an SWF workflow type without steps", f"{SWF}.steps", ("at least one step",), base="swf_approval",
         edit=S(f"{SWF}.steps", [])),
    Case("an SWF human step without its delay", f"{SWF}.steps[1].human.delay_s", ("needs the delay of its signal",),
         base="swf_approval", edit=S(f"{SWF}.steps.1.human", {"timeout_s": 86400})),
    Case("an SWF human step timing out in the past", f"{SWF}.steps[1].human.timeout_s", ("-1 must be above 0",),
         base="swf_approval", edit=S(f"{SWF}.steps.1.human.timeout_s", -1)),
    Case("an SWF human step's on_timeout misspelt", f"{SWF}.steps[1].human.on_timeout", ("'retry'", "fail, continue"),
         base="swf_approval", edit=S(f"{SWF}.steps.1.human.on_timeout", "retry")),
    Case("an SWF retention beyond 90 days", f"{SWF}.retention_days", ("120 must be 0-90 days",), base="swf_approval",
         edit=S(f"{SWF}.retention_days", 120)),
    Case("an SWF execution longer than a year", f"{SWF}.execution_timeout_s", ("one year",), base="swf_approval",
         edit=S(f"{SWF}.execution_timeout_s", 40000000)),
    Case("an SWF activity failing more than always", f"{SWF}.activities.ship.failure_rate", ("1.5 must be 0-1",),
         base="swf_approval", edit=S(f"{SWF}.activities.ship.failure_rate", 1.5)),
    Case("an SWF activity with no attempt", f"{SWF}.activities.ship.max_attempts", ("0 must be 1-100",),
         base="swf_approval", edit=S(f"{SWF}.activities.ship.max_attempts", 0)),
    Case("an SWF pool without workers", f"{SWF}.deciders.workers", ("0 must be 1-1000", "1,000 pollers"),
         base="swf_approval", edit=S(f"{SWF}.deciders.workers", 0)),
    Case("traffic to an SWF workflow type not defined", "traffic[0].target",
         ("SWF workflow type 'aproval' is not defined", "did you mean 'approval'"), base="swf_approval",
         edit=S("traffic.0.target", "swf_workflow:aproval")),
]
CASES.append(Case("a function calling an SWF workflow type", "functions.api.calls[0].target",
                  ("SWF workflow type targets are not simulated yet",),
                  edit=both(S("swf_workflows", shipped("swf_approval")["swf_workflows"]),
                            S("functions.api.calls", [{"target": "swf_workflow:approval"}]))))
