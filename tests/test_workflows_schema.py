"""Step Functions state machines in the scenario layer (scenarios/workflows.py): every mistake in
an Amazon States Language definition or its `state_machines` entry at its exact YAML path, through
Parallel branches and Map processors; definition files (relative to the scenario, JSON errors with
FILE:LINE:COL); the defaults; and the compiled form of the fixtures in tests/data/asl/ (README.md
there) checked field by field, Express memory by hand."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from scenarios.common import Dist
from scenarios.errors import ScenarioError
from scenarios.load import check_scenario, load_scenario
from scenarios.schema import Scenario, StateMachine
from scenarios.workflows import (
    DISTRIBUTED_MAX_CONCURRENCY,
    INLINE_MAX_CONCURRENCY,
    Catcher,
    Retrier,
    compile_machine,
    compile_machines,
    definition_bytes,
)

ASL = Path(__file__).parent / "data" / "asl"
D = "state_machines.m.definition"
S = D + ".States"
LAMBDA = "arn:aws:states:::lambda:invoke"
RESOURCES = {
    "functions": {n: {} for n in ("f", "g", "check-stock", "payments", "flaky", "transform")},
    "queues": {n: {} for n in ("q", "shipping", "approvals")},
    "topics": {n: {} for n in ("t", "order-events", "approval-results")},
    "buses": {"default": {}, "b": {}},
    "tables": {n: {} for n in ("orders", "inventory", "runs")},
}
END = {"End": True}
PASS = {"Type": "Pass", "End": True}


def scenario(machines, **extra):
    return {"name": "wf", **copy.deepcopy(RESOURCES), "state_machines": machines, **extra}


def machine(states, start=None, top=None, **sm):
    definition = {"StartAt": next(iter(states)) if start is None else start, "States": states, **(top or {})}
    return {"definition": definition, **sm}


def one(states, start=None, top=None, **sm):
    """A scenario with state machine `m`."""
    return scenario({"m": machine(states, start, top, **sm)})


def task(fn="f", resource=LAMBDA, **fields):
    body = {"Type": "Task", "Resource": resource, "Parameters": {"FunctionName": fn}}
    body.update(fields)
    if "Next" not in body and "End" not in body:
        body["End"] = True
    return body


def problems(data, base_dir=None):
    with pytest.raises(ScenarioError) as err:
        check_scenario(data, base_dir)
    return err.value.problems


def only(data, base_dir=None):
    found = problems(data, base_dir)
    assert len(found) == 1, found
    return found[0]


def compiled(data, name="m", base_dir=None):
    s = load_scenario(data, base_dir)
    return compile_machine(name, s.state_machines[name], s)


def from_file(file, name="m", **sm):
    """A scenario whose machine `name` reads `file` of tests/data/asl."""
    return scenario({name: {"definition_file": str(ASL / file), **sm}})


# ------------------------------------------------------------------------ defaults


def test_defaults():
    sm = StateMachine()
    assert (sm.type, sm.definition, sm.definition_file, sm.payload_bytes, sm.memory_mb) == \
        ("STANDARD", None, None, 1024, None)
    assert sm.choices == sm.map_items == sm.callbacks_ms == sm.callback_failure_rate == sm.waits_s == {}
    assert Scenario().state_machines == {}
    r = Retrier(("States.ALL",))
    assert (r.interval_s, r.max_attempts, r.backoff_rate, r.max_delay_s, r.jitter) == (1.0, 3, 2.0, None, "NONE")


def test_a_minimal_machine_compiles_with_aws_defaults_and_memory_by_hand():
    m = compiled(one({"A": task(Retry=[{"ErrorEquals": ["States.ALL"]}])}))
    text = ('{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",'
            '"Parameters":{"FunctionName":"f"},"Retry":[{"ErrorEquals":["States.ALL"]}],"End":true}}}')
    assert m.definition_bytes == len(text) == 176
    assert m.memory_mb == 50 + (176 + 1024 * 1) / 1048576  # no Parallel branch, no Map: data once
    assert (m.name, m.type, m.timeout_s, m.max_duration_s, m.payload_bytes, m.n_states) == \
        ("m", "STANDARD", None, 365 * 86400.0, 1024, 1)
    (scope,) = m.scopes
    assert (scope.start, scope.owner, scope.path) == (0, "", D)
    (a,) = scope.states
    assert (a.name, a.kind, a.next, a.target, a.service, a.operation, a.integration, a.invocation_type, a.timeout_s) \
        == ("A", "task", -1, "function:f", "lambda", "invoke", "request", "RequestResponse", None)
    assert a.retry == (Retrier(("States.ALL",), 1.0, 3, 2.0, None, "NONE"),) and a.catch == ()
    assert a.callback_ms is None and a.callback_failure_rate == 0.0


def test_express_memory_override_and_limits():
    m = compiled(one({"A": PASS}, type="EXPRESS", memory_mb=128, payload_bytes=0, top={"TimeoutSeconds": 60}))
    assert (m.type, m.memory_mb, m.timeout_s, m.max_duration_s, m.payload_bytes) == ("EXPRESS", 128.0, 60.0, 300.0, 0)
    assert compiled(one({"A": PASS}, type="EXPRESS")).memory_mb == 50 + (definition_bytes(
        {"StartAt": "A", "States": {"A": PASS}}) + 1024) / 2**20


def test_a_validated_scenario_compiles_every_machine_in_order():
    s = load_scenario(scenario({"one": machine({"A": PASS}), "two": machine({"B": PASS})}))
    assert list(compile_machines(s)) == ["one", "two"]


def test_compiling_an_unchecked_machine_raises_the_same_problems():
    s = Scenario()
    with pytest.raises(ScenarioError) as err:
        compile_machine("m", StateMachine(definition={"StartAt": "A", "States": {}}), s)
    assert err.value.problems == [(S, "must hold at least one state")]


# ------------------------------------------------------------------------ the fixtures, compiled


def test_order_workflow_compiled_field_by_field():
    data = from_file("order_workflow.asl.json", choices={"InStock?": {"Pay": 0.9, "WaitForRestock": 0.07}},
                     map_items={"ReserveItems": {"dist": "lognormal", "median": 3, "p99": 20}},
                     callbacks_ms={"Ship": {"dist": "lognormal", "median": 3_600_000, "p99": 86_400_000}},
                     callback_failure_rate={"Ship": 0.01}, waits_s={"WaitForPickup": {"dist": "fixed", "value": 600}})
    s, warnings = check_scenario(data)
    assert warnings == []
    m = compile_machine("m", s.state_machines["m"], s)
    doc = json.loads((ASL / "order_workflow.asl.json").read_text())
    assert m.definition_bytes == len(json.dumps(doc, separators=(",", ":")).encode())
    assert m.memory_mb == pytest.approx(50 + (m.definition_bytes + 1024 * (1 + 2 + 1)) / 2**20)  # 2 branches, 1 Map
    assert (m.timeout_s, m.n_states) == (86400.0, 15)
    top, ship, notify, reserve = m.scopes
    names = [st.name for st in top.states]
    assert names == ["CheckStock", "InStock?", "WaitForRestock", "Pay", "Fulfil", "ReserveItems", "WaitForPickup",
                     "Done", "Refund", "FulfilmentFailed", "PaymentFailed", "OutOfStock"]
    at = {n: i for i, n in enumerate(names)}
    st = {x.name: x for x in top.states}
    assert top.start == 0 and (ship.owner, notify.owner, reserve.owner) == ("Fulfil", "Fulfil", "ReserveItems")
    assert reserve.path == "state_machines.m.definition_file.States.ReserveItems.ItemProcessor"
    check = st["CheckStock"]
    assert (check.next, check.target, check.integration) == (at["InStock?"], "function:check-stock", "request")
    assert check.retry == (Retrier(("Lambda.ServiceException", "Lambda.AWSLambdaException",
                                    "Lambda.SdkClientException", "Lambda.TooManyRequestsException"),
                                   2.0, 6, 2.0, 30.0, "FULL"),)
    choice = st["InStock?"]  # rules 0 and 2 go to Pay: one branch; the Default takes the rest
    assert choice.kind == "choice" and choice.next == -1
    assert choice.branches == ((0.9, at["Pay"]), (0.07, at["WaitForRestock"]))
    assert (choice.default, choice.p_no_match) == (at["OutOfStock"], 0.0)
    assert choice.p_default == pytest.approx(0.03)
    assert (st["WaitForRestock"].seconds, st["WaitForRestock"].next) == (3600.0, at["CheckStock"])
    pay = st["Pay"]
    assert (pay.target, pay.timeout_s, pay.next) == ("function:payments", 30.0, at["Fulfil"])
    assert pay.retry == (Retrier(("PaymentDeclined",), 1.0, 0, 2.0, None, "NONE"),
                         Retrier(("States.Timeout", "States.TaskFailed"), 1.0, 2, 1.5, None, "NONE"))
    assert pay.catch == (Catcher(("PaymentDeclined",), at["PaymentFailed"]),
                         Catcher(("States.ALL",), at["PaymentFailed"]))
    fulfil = st["Fulfil"]
    assert (fulfil.kind, fulfil.branches, fulfil.next) == ("parallel", (1, 2), at["ReserveItems"])
    assert fulfil.catch == (Catcher(("States.ALL",), at["Refund"]),) and fulfil.retry == ()
    (s0,) = ship.states
    assert (s0.target, s0.service, s0.operation, s0.integration, s0.next) == \
        ("queue:shipping", "sqs", "sendMessage", "callback", -1)
    assert s0.callback_ms == Dist(dist="lognormal", median=3_600_000, p99=86_400_000)
    assert s0.callback_failure_rate == 0.01 and s0.retry == (Retrier(("States.ALL",), 5.0, 2, 2.0, None, "NONE"),)
    (n0,) = notify.states
    assert (n0.target, n0.service, n0.operation, n0.integration) == ("topic:order-events", "sns", "publish", "request")
    rmap = st["ReserveItems"]
    assert (rmap.kind, rmap.scope, rmap.mode, rmap.max_concurrency, rmap.child_type) == ("map", 3, "inline", 10, None)
    assert rmap.items == Dist(dist="lognormal", median=3, p99=20)
    assert (rmap.tolerated_failure_percentage, rmap.tolerated_failure_count, rmap.next) == \
        (None, None, at["WaitForPickup"])
    (r0,) = reserve.states
    assert (r0.target, r0.service, r0.operation) == ("table:inventory", "dynamodb", "UpdateItem")
    assert r0.retry == (Retrier(("DynamoDB.ProvisionedThroughputExceededException",), 1.0, 5, 2.0, None, "NONE"),)
    wait = st["WaitForPickup"]
    assert (wait.seconds, wait.seconds_dist, wait.next) == (None, Dist(dist="fixed", value=600), at["Done"])
    assert st["Done"].kind == "succeed"
    refund = st["Refund"]
    assert (refund.invocation_type, refund.target, refund.next) == \
        ("Event", "function:payments", at["FulfilmentFailed"])
    assert [(st[n].kind, st[n].error) for n in ("FulfilmentFailed", "PaymentFailed", "OutOfStock")] == \
        [("fail", "FulfilmentFailed"), ("fail", "PaymentFailed"), ("fail", "OutOfStock")]


def test_retry_catch_fixture():
    m = compiled(from_file("retry_catch.asl.json"))
    (scope,) = m.scopes
    flaky, finished, recover = scope.states
    assert (flaky.target, flaky.timeout_s, flaky.next, flaky.invocation_type) == \
        ("function:flaky", 2.0, 1, "RequestResponse")
    assert flaky.retry == (Retrier(("ErrorA", "ErrorB"), 1.0, 2, 2.0, None, "NONE"),
                           Retrier(("ErrorC",), 5.0, 3, 2.0, None, "NONE"))
    assert flaky.catch == (Catcher(("java.lang.Exception",), 2), Catcher(("States.ALL",), 2))
    assert (finished.kind, finished.next, recover.kind, recover.next) == ("pass", -1, "pass", -1)


def test_callback_fixture_needs_its_callback_and_compiles_it():
    name = "Start Task And Wait For Callback"
    path, message = only(from_file("callback_sqs.asl.json"))
    assert path == f"state_machines.m.callbacks_ms['{name}']"
    assert "is required for a Task with .waitForTaskToken" in message and "SendTaskSuccess" in message
    m = compiled(from_file("callback_sqs.asl.json", callbacks_ms={name: {"dist": "exponential", "mean": 60000}}))
    wait, ok, failed = m.scopes[0].states
    assert (wait.integration, wait.target, wait.timeout_s, wait.next) == ("callback", "queue:approvals", 86400.0, 1)
    assert wait.callback_ms == Dist(dist="exponential", mean=60000) and wait.callback_failure_rate == 0.0
    assert wait.catch == (Catcher(("States.ALL",), 2),)
    assert ok.target == failed.target == "topic:approval-results"


def test_distributed_map_fixture():
    data = from_file("distributed_map.asl.json", map_items={"ProcessRows": 200_000})
    data["state_machines"]["report"] = machine({"Build": PASS}, type="EXPRESS")
    m = compiled(data)
    top, rows = m.scopes
    process, report, announce, record = top.states
    assert (process.mode, process.child_type, process.max_concurrency) == ("distributed", "EXPRESS",
                                                                             DISTRIBUTED_MAX_CONCURRENCY)
    assert (process.tolerated_failure_percentage, process.tolerated_failure_count) == (5.0, 100)
    assert process.items == Dist(dist="fixed", value=200_000.0) and process.scope == 1
    (transform,) = rows.states
    assert transform.target == "function:transform"
    assert transform.retry == (Retrier(("Lambda.TooManyRequestsException",), 1.0, 10, 1.5, 20.0, "FULL"),)
    assert (report.target, report.service, report.operation, report.integration) == \
        ("state_machine:report", "states", "startExecution", "sync")
    assert (announce.target, announce.operation) == ("bus:default", "putEvents")
    assert (record.target, record.operation) == ("table:runs", "PutItem")
    assert m.memory_mb == pytest.approx(50 + (m.definition_bytes + 1024 * 2) / 2**20)  # one Map


def test_nested_scopes_are_numbered_depth_first_in_document_order():
    data = from_file("nested_scopes.asl.json", map_items={"Each": 4, "Again": {"dist": "uniform", "low": 1, "high": 9}})
    s, warnings = check_scenario(data)
    assert warnings == [("state_machines.m.definition_file.States.Again.MaxConcurrency",
                         "100: an inline Map runs at most 40 iterations at once, so it acts as 40")]
    m = compile_machine("m", s.state_machines["m"], s)
    assert [(sc.owner, [x.name for x in sc.states]) for sc in m.scopes] == \
        [("", ["Both", "Again"]), ("Both", ["Each"]), ("Each", ["Inner"]), ("Both", ["Other"]), ("Again", ["Last"])]
    both, again = m.scopes[0].states
    assert both.branches == (1, 3) and (again.scope, again.max_concurrency) == (4, INLINE_MAX_CONCURRENCY)
    each = m.scopes[1].states[0]
    assert (each.scope, each.mode, each.max_concurrency) == (2, "inline", INLINE_MAX_CONCURRENCY)  # 0: unlimited
    assert m.scopes[3].states[0].seconds == 2.0 and m.n_states == 6
    assert m.memory_mb == pytest.approx(50 + (m.definition_bytes + 1024 * (1 + 2 + 2)) / 2**20)


# ------------------------------------------------------------------------ definition files


def test_a_relative_definition_file_resolves_against_the_scenario_file(tmp_path):
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "tiny.asl.json").write_text(json.dumps({"StartAt": "A", "States": {"A": PASS}}))
    data = scenario({"m": {"definition_file": "flows/tiny.asl.json"}})
    path = tmp_path / "sc.yaml"
    path.write_text(yaml.safe_dump(data))
    s = load_scenario(path)
    assert s.state_machines["m"].definition_file == str(tmp_path / "flows" / "tiny.asl.json")
    assert compile_machines(s)["m"].scopes[0].states[0].kind == "pass"
    assert load_scenario(s).state_machines["m"].definition_file == s.state_machines["m"].definition_file


@pytest.mark.parametrize("content, where, words", [
    ('{"StartAt": "A",\n  "States": {"A": {"Type": "Pass" "End": true}}}', ":2:", ("not valid JSON",
                                                                                  "Expecting ',' delimiter")),
    ("", ":1:1", ("the file is empty",)),
    ('[{"StartAt": "A"}]', ":1:1", ("holds a list",)),
    (b"\xff\xfe{}", ":1:1", ("not a text (UTF-8) file",)),
])
def test_a_file_that_is_not_a_json_object_names_file_line_and_column(tmp_path, content, where, words):
    f = tmp_path / "bad.asl.json"
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    path, message = only(scenario({"m": {"definition_file": str(f)}}))
    assert path == "state_machines.m.definition_file"
    assert message.startswith(f"{f}{where}")
    for w in words:
        assert w in message


def test_definition_file_mistakes(tmp_path):
    p = "state_machines.m.definition_file"
    assert only(scenario({"m": {"definition_file": "nope.asl.json"}}), tmp_path) == \
        (p, f"file 'nope.asl.json' does not exist (looked for {tmp_path / 'nope.asl.json'})")
    (tmp_path / "flow.yaml").write_text("StartAt: A")
    assert only(scenario({"m": {"definition_file": "flow.yaml"}}), tmp_path) == \
        (p, "'flow.yaml' must be a JSON file (.asl.json)")
    assert only(scenario({"m": {"definition_file": " "}})) == (p, "must not be empty")
    assert only(scenario({"m": {}})) == ("state_machines.m", "needs its Amazon States Language document: definition"
                                         " (inline, as a mapping with StartAt and States) or definition_file (a"
                                         " .asl.json file beside the scenario)")
    both = {"definition": {"StartAt": "A", "States": {"A": PASS}}, "definition_file": "x.asl.json"}
    assert only(scenario({"m": both}))[1].startswith("give definition (the ASL document inline) or definition_file")
    assert only(scenario({"m": {"definition": "{\"StartAt\": \"A\"}"}}))[0] == "state_machines.m.definition"


def test_a_key_twice_in_a_json_object_is_reported_at_its_object(tmp_path):
    f = tmp_path / "dup.asl.json"
    f.write_text('{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "Type": "Pass"}}}')
    assert only(scenario({"m": {"definition_file": str(f)}})) == (
        "state_machines.m.definition_file.States.A",
        "duplicate key 'Type' in dup.asl.json: a JSON object takes each key once (Step Functions refuses it)")


def test_mistakes_inside_a_file_are_at_their_path_below_definition_file(tmp_path):
    f = tmp_path / "f.asl.json"
    f.write_text(json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}))
    assert only(scenario({"m": {"definition_file": str(f)}})) == (
        "state_machines.m.definition_file.States.A.Next", "'B' is not a state here; states: A")


# ------------------------------------------------------------------------ mistakes, each at its path


def _branches(ship):
    """The brief's own example: a Parallel `Fulfil` whose first branch holds `Ship`."""
    return one({"Fulfil": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "Ship", "States": {"Ship": ship}}, {"StartAt": "Pack", "States": {"Pack": PASS}}]}})


def _map(body=None, processor=None, config=None, **sm):
    proc = {"StartAt": "Item", "States": {"Item": PASS}, **(processor or {})}
    if config is not None:
        proc["ProcessorConfig"] = config
    state = {"Type": "Map", "ItemProcessor": proc, "End": True, **(body or {})}
    return one({"M": state}, **{"map_items": {"M": 5}, **sm})


def _choice(probs, default="C", rules=("A", "B", "A")):
    state = {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": i, "Next": t}
                                           for i, t in enumerate(rules)]}
    states = {"Pick": state, "A": PASS, "B": PASS}
    if default is not None:
        state["Default"] = default
        states[default] = PASS
    return one(states, choices={"Pick": probs})


def _wait(**fields):
    return one({"W": {"Type": "Wait", "End": True, **fields}})


MISTAKES = [
    # --- the entry -------------------------------------------------------------------------------------
    ("type misspelt", one({"A": PASS}, type="Express"), "state_machines.m.type",
     "'Express' is not a workflow type (did you mean 'EXPRESS'?); allowed: STANDARD, EXPRESS"),
    ("payload above 256 KiB", one({"A": PASS}, payload_bytes=300_000), "state_machines.m.payload_bytes",
     "300000 must be 0-262144 bytes (256 KiB, Step Functions' largest execution input)"),
    ("memory on a standard machine", one({"A": PASS}, memory_mb=64), "state_machines.m.memory_mb",
     "is the Express billing memory; a STANDARD workflow is billed by state transitions (remove it, or set type:"
     " EXPRESS)"),
    ("a machine name with a space", scenario({"my flow": machine({"A": PASS})}), "state_machines['my flow']",
     "state machine name 'my flow' may contain only letters, digits, '-' and '_', at most 80 characters"),
    ("an unknown key in the entry", one({"A": PASS}, choice={}), "state_machines.m.choice",
     "unknown key 'choice' (did you mean 'choices'?); allowed keys: type, definition, definition_file, choices,"
     " map_items, callbacks_ms, callback_failure_rate, waits_s, payload_bytes, memory_mb"),
    # --- the top level ---------------------------------------------------------------------------------
    ("StartAt missing", scenario({"m": {"definition": {"States": {"A": PASS}}}}), D + ".StartAt",
     "is required: the name of the first state; one of A"),
    ("StartAt naming nothing", one({"Begin": PASS}, start="Begn"), D + ".StartAt",
     "'Begn' is not a state here (did you mean 'Begin'?); states: Begin"),
    ("States missing", scenario({"m": {"definition": {"StartAt": "A"}}}), S,
     "is required: the states, a mapping of each state's name to its fields"),
    ("States empty", one({}, start="A"), S, "must hold at least one state"),
    ("an unknown top-level field", one({"A": PASS}, top={"Timeout": 5}), D + ".Timeout",
     "unknown field 'Timeout' (did you mean 'TimeoutSeconds'?) for an ASL definition; allowed: StartAt, States,"
     " Comment, TimeoutSeconds, Version, QueryLanguage"),
    ("TimeoutSeconds zero", one({"A": PASS}, top={"TimeoutSeconds": 0}), D + ".TimeoutSeconds",
     "0 is out of range: TimeoutSeconds takes an integer of 1 or more"),
    ("TimeoutSeconds as text", one({"A": PASS}, top={"TimeoutSeconds": "60"}), D + ".TimeoutSeconds",
     "expected an integer of 1 or more, got the string '60'"),
    ("TimeoutSeconds a fraction", one({"A": PASS}, top={"TimeoutSeconds": 1.5}), D + ".TimeoutSeconds",
     "expected an integer of 1 or more, got 1.5, which is not a whole number"),
    ("JSONata", one({"A": PASS}, top={"QueryLanguage": "JSONata"}), D + ".QueryLanguage",
     "JSONata is not supported yet: write the definition in JSONPath (the default; remove QueryLanguage)"),
    ("JSONata in one state", one({"A": {**PASS, "QueryLanguage": "JSONata"}}), S + ".A.QueryLanguage",
     "JSONata is not supported yet: write the definition in JSONPath (the default; remove QueryLanguage)"),
    ("a version that does not exist", one({"A": PASS}, top={"Version": "2.0"}), D + ".Version",
     "the string '2.0': the Amazon States Language has version '1.0' only"),
    # --- states -----------------------------------------------------------------------------------------
    ("Type missing", one({"A": {"End": True}}), S + ".A.Type",
     "is required: one of Task, Pass, Wait, Choice, Parallel, Map, Succeed, Fail"),
    ("Type in lower case", one({"A": {"Type": "task", "End": True}}), S + ".A.Type",
     "the string 'task' is not a state type (did you mean 'Task'?); allowed: Task, Pass, Wait, Choice, Parallel,"
     " Map, Succeed, Fail"),
    ("an unknown Task field", one({"A": task(Timeout=3)}), S + ".A.Timeout",
     "unknown field 'Timeout' (did you mean 'TimeoutSeconds'?) for a Task state; allowed: Type, Comment,"
     " QueryLanguage, Resource, Next, End, Retry, Catch, TimeoutSeconds, InputPath, OutputPath, ResultPath,"
     " ResultSelector, Parameters, Arguments, Output, Assign"),
    ("a Pass with Retry", one({"A": {**PASS, "Retry": []}}), S + ".A.Retry",
     "unknown field 'Retry' for a Pass state; allowed: Type, Comment, QueryLanguage, Next, End, InputPath,"
     " OutputPath, ResultPath, Parameters, Result, Output, Assign"),
    ("Next and End", one({"A": {"Type": "Pass", "Next": "B", "End": True}, "B": PASS}), S + ".A",
     "has both Next and End: true; a state goes on to Next or ends its scope, not both"),
    ("neither Next nor End", one({"A": {"Type": "Pass"}}), S + ".A", "needs Next (the state to go to) or End: true"),
    ("End false alone", one({"A": {"Type": "Pass", "End": False}}), S + ".A",
     "needs Next (the state to go to) or End: true"),
    ("End as text", one({"A": {"Type": "Pass", "End": "yes"}}), S + ".A.End",
     "expected true, got the string 'yes'"),
    ("Next to nowhere", one({"A": {"Type": "Pass", "Next": "Bee"}, "Be": PASS}), S + ".A.Next",
     "'Bee' is not a state here (did you mean 'Be'?); states: A, Be"),
    ("Next into a branch", one({"P": {"Type": "Parallel", "Next": "Inner",
                                      "Branches": [{"StartAt": "Inner", "States": {"Inner": PASS}}]}}),
     S + ".P.Next", f"'Inner' is a state of another scope ({S}.P.Branches[0].States.Inner); a transition goes to a"
                    " state of its own scope: P"),
    ("a Choice with Next", one({"C": {"Type": "Choice", "Choices": [{"Next": "A"}], "Next": "A"}, "A": PASS},
                               choices={"C": {"A": 1}}), S + ".C.Next",
     "a Choice state takes no Next: its rules and Default choose the next state"),
    ("a Succeed with End", one({"A": {"Type": "Succeed", "End": True}}), S + ".A.End",
     "a Succeed state takes no End: it ends its scope"),
    ("an unreachable state", one({"A": PASS, "Orphan": PASS}), S + ".Orphan",
     "state 'Orphan' cannot be reached from StartAt 'A' (by Next, Default, Choices or Catch); AWS refuses"
     " unreachable states: remove it or go to it"),
    ("a name twice, once in a branch", one({"P": {"Type": "Parallel", "Next": "A", "Branches": [
        {"StartAt": "A", "States": {"A": PASS}}]}, "A": PASS}), S + ".A",
     f"duplicate state name 'A' (also {S}.P.Branches[0].States.A): names are unique in the whole state machine,"
     " Parallel branches and Map processors included"),
    ("a state that is not a mapping", one({"A": "Pass"}), S + ".A",
     "expected a state, a mapping with Type and its fields; got the string 'Pass'"),
    ("a name that is not a string", one({1: PASS}, start="1"), S + ".1",
     "a state's name is a string, got 1 (quote it in YAML)"),
    ("a name too long", one({"x" * 81: PASS}), S + "." + "x" * 81,
     "a state's name has 1-80 characters; '" + "x" * 81 + "' has 81"),
    # --- fields that change behaviour but are not simulated ----------------------------------------------
    ("TimeoutSecondsPath", one({"A": task(TimeoutSecondsPath="$.t")}), S + ".A.TimeoutSecondsPath",
     "reads the task's timeout from the payload, which is not simulated: give TimeoutSeconds"),
    ("HeartbeatSeconds", one({"A": task(HeartbeatSeconds=60)}), S + ".A.HeartbeatSeconds",
     "heartbeats are not simulated (the tasks here send none, so the heartbeat timeout would fail them): remove it"),
    ("HeartbeatSecondsPath", one({"A": task(HeartbeatSecondsPath="$.h")}), S + ".A.HeartbeatSecondsPath",
     "heartbeats are not simulated (the tasks here send none): remove it"),
    ("Credentials", one({"A": task(Credentials={"RoleArn": "arn:aws:iam::1:role/r"})}), S + ".A.Credentials",
     "a task that assumes another role (Credentials) is not simulated: remove it"),
    ("MaxConcurrencyPath", _map({"MaxConcurrencyPath": "$.n"}), S + ".M.MaxConcurrencyPath",
     "reads the limit from the payload, which is not simulated: give MaxConcurrency"),
    ("ToleratedFailurePercentagePath", _map({"ToleratedFailurePercentagePath": "$.p"},
                                            config={"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}),
     S + ".M.ToleratedFailurePercentagePath",
     "reads the threshold from the payload, which is not simulated: give ToleratedFailurePercentage"),
    ("ToleratedFailureCountPath", _map({"ToleratedFailureCountPath": "$.c"},
                                       config={"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}),
     S + ".M.ToleratedFailureCountPath",
     "reads the threshold from the payload, which is not simulated: give ToleratedFailureCount"),
    # --- Wait --------------------------------------------------------------------------------------------
    ("a Wait without its length", _wait(), S + ".W",
     "needs how long it waits: exactly one of Seconds, Timestamp, SecondsPath, TimestampPath"),
    ("a Wait with two lengths", _wait(Seconds=1, SecondsPath="$.s"), S + ".W",
     "has Seconds and SecondsPath; a Wait state takes exactly one of Seconds, Timestamp, SecondsPath, TimestampPath"),
    ("negative Seconds", _wait(Seconds=-1), S + ".W.Seconds",
     "-1 is out of range: Seconds takes an integer of 0 or more"),
    ("SecondsPath without waits_s", _wait(SecondsPath="$.delay"), "state_machines.m.waits_s.W",
     f"is required for a Wait state with SecondsPath, TimestampPath or Timestamp ({S}.W): how long it waits (the"
     " payload is not simulated), e.g. {dist: fixed, value: 60}"),
    ("a Timestamp without waits_s", _wait(Timestamp="2026-03-14T01:59:00Z"), S + ".W.Timestamp",
     "a Timestamp is an instant on the calendar, and a run has none (its time is seconds from its start): use"
     " Seconds, or give this wait in state_machines.m.waits_s.W (e.g. {dist: fixed, value: 3600})"),
    ("a Timestamp that is no instant", _wait(Timestamp="2026-03-14 01:59"), S + ".W.Timestamp",
     "'2026-03-14 01:59' is not an RFC 3339 instant such as 2026-03-14T01:59:00Z (uppercase T and Z)"),
    ("a SecondsPath that is no path", one({"W": {"Type": "Wait", "SecondsPath": "delay", "End": True}},
                                          waits_s={"W": {"dist": "fixed", "value": 1}}), S + ".W.SecondsPath",
     "'delay' is not a path (it starts with $)"),
    ("waits_s for a Seconds wait", one({"W": {"Type": "Wait", "Seconds": 5, "End": True}},
                                       waits_s={"W": {"dist": "fixed", "value": 1}}), "state_machines.m.waits_s.W",
     "Wait state 'W' waits Seconds given in its definition; waits_s is for SecondsPath, TimestampPath and Timestamp"
     " (remove this entry)"),
    ("waits_s for no state", one({"A": PASS}, waits_s={"Nap": {"dist": "fixed", "value": 1}}),
     "state_machines.m.waits_s.Nap", "'Nap' is not a state of this machine: waits_s is for a Wait state with"
                                     " SecondsPath, TimestampPath or Timestamp; this machine has no Wait states with"
                                     " SecondsPath, TimestampPath or Timestamp"),
    # --- Choice ------------------------------------------------------------------------------------------
    ("Choices empty", one({"C": {"Type": "Choice", "Choices": [], "Default": "A"}, "A": PASS},
                          choices={"C": {}}), S + ".C.Choices",
     "expected a non-empty list of rules, each with Next; got a list"),
    ("a rule without Next", one({"C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": True}],
                                       "Default": "A"}, "A": PASS}, choices={"C": {}}),
     S + ".C.Choices[0].Next", "is required: the state this rule goes to"),
    ("a Choice without probabilities", one({"C": {"Type": "Choice", "Choices": [{"Next": "A"}]}, "A": PASS}),
     "state_machines.m.choices.C", f"is required for a Choice state ({S}.C): the probabilities of the states it"
                                   " goes to, e.g. {NEXT_STATE: 0.3, OTHER_STATE: 0.7}"),
    ("probabilities for a Task", one({"A": task()}, choices={"A": {"x": 1}}), "state_machines.m.choices.A",
     "'A' is a Task state: choices is for a Choice state; this machine has no Choice states"),
    ("a probability to a state it does not go to", _choice({"A": 0.5, "D": 0.2}), "state_machines.m.choices.Pick.D",
     "'D' is not a state Choice 'Pick' goes to; its rules and Default go to A, B, C"),
    ("a probability to a state misspelt", _choice({"Bb": 0.5}), "state_machines.m.choices.Pick.Bb",
     "'Bb' is not a state Choice 'Pick' goes to (did you mean 'B'?); its rules and Default go to A, B, C"),
    ("probabilities for a Choice misspelt", one({"Pick": {"Type": "Choice", "Choices": [{"Next": "A"}]}, "A": PASS},
                                                choices={"Pick": {"A": 1}, "Pik": {"A": 1}}),
     "state_machines.m.choices.Pik", "'Pik' is not a state of this machine: choices is for a Choice state (did you"
                                     " mean 'Pick'?); Choice states here: Pick"),
    ("a probability above 1", _choice({"A": 1.5}), "state_machines.m.choices.Pick.A", "1.5 must be 0-1"),
    ("probabilities above 1 in all", _choice({"A": 0.7, "B": 0.6}), "state_machines.m.choices.Pick",
     "the probabilities sum to 1.3; at most 1 (the remainder goes to Default 'C')"),
    ("probabilities above 1 without Default", _choice({"A": 0.7, "B": 0.6}, default=None),
     "state_machines.m.choices.Pick", "the probabilities sum to 1.3; at most 1 (the remainder fails with"
                                      " States.NoChoiceMatched)"),
    ("the Default's share listed short of 1", _choice({"A": 0.5, "C": 0.3}), "state_machines.m.choices.Pick",
     "Default's state 'C' is listed, so it gets exactly its share and the shares must sum to 1 (they sum to 0.8);"
     " leave 'C' out to give it the remainder"),
    # --- Parallel ----------------------------------------------------------------------------------------
    ("Branches empty", one({"P": {"Type": "Parallel", "Branches": [], "End": True}}), S + ".P.Branches",
     "expected a non-empty list of branches, each {StartAt, States}; got a list"),
    ("a branch with an unknown key", one({"P": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "A", "States": {"A": PASS}, "Name": "x"}]}}), S + ".P.Branches[0].Name",
     "unknown field 'Name' for a Parallel branch; allowed: StartAt, States, Comment"),
    ("a branch without StartAt", one({"P": {"Type": "Parallel", "End": True, "Branches": [{"States": {"A": PASS}}]}}),
     S + ".P.Branches[0].StartAt", "is required: the name of the first state; one of A"),
    # --- Map ---------------------------------------------------------------------------------------------
    ("a Map without a processor", one({"M": {"Type": "Map", "End": True}}, map_items={"M": 1}), S + ".M.ItemProcessor",
     "is required: what each item runs, {ProcessorConfig: {Mode: INLINE}, StartAt, States}"),
    ("a Map with ItemProcessor and Iterator", _map({"Iterator": {"StartAt": "I", "States": {"I": PASS}}}),
     S + ".M.Iterator", "a Map state takes ItemProcessor or Iterator (its older name), not both"),
    ("a Map mode misspelt", _map(config={"Mode": "DISTRIBUTE"}), S + ".M.ItemProcessor.ProcessorConfig.Mode",
     "the string 'DISTRIBUTE' (did you mean 'DISTRIBUTED'?); allowed: INLINE (the default), DISTRIBUTED"),
    ("a distributed Map without ExecutionType", _map(config={"Mode": "DISTRIBUTED"}),
     S + ".M.ItemProcessor.ProcessorConfig.ExecutionType",
     "is required for a distributed Map: the type of its child executions, STANDARD or EXPRESS"),
    ("ExecutionType on an inline Map", _map(config={"Mode": "INLINE", "ExecutionType": "EXPRESS"}),
     S + ".M.ItemProcessor.ProcessorConfig.ExecutionType",
     "is for a distributed Map (Mode: DISTRIBUTED), whose items run as child executions; an inline Map's run in its"
     " own"),
    ("an ItemReader on an inline Map", _map({"ItemReader": {"Resource": "arn:aws:states:::s3:getObject"}}),
     S + ".M.ItemReader", "is for a distributed Map (ItemProcessor.ProcessorConfig.Mode: DISTRIBUTED)"),
    ("a tolerated failure count on an inline Map", _map({"ToleratedFailureCount": 3}),
     S + ".M.ToleratedFailureCount", "is for a distributed Map (ItemProcessor.ProcessorConfig.Mode: DISTRIBUTED)"),
    ("a tolerated percentage above 100", _map({"ToleratedFailurePercentage": 150},
                                               config={"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}),
     S + ".M.ToleratedFailurePercentage", "150: expected a number 0-100"),
    ("negative MaxConcurrency", _map({"MaxConcurrency": -1}), S + ".M.MaxConcurrency",
     "-1 is out of range: MaxConcurrency takes an integer of 0 or more"),
    ("a Map without map_items", one({"M": {"Type": "Map", "End": True, "ItemProcessor": {
        "StartAt": "I", "States": {"I": PASS}}}}), "state_machines.m.map_items.M",
     f"is required for a Map state ({S}.M): how many items it iterates over: an integer, or a distribution such as"
     " {dist: lognormal, median: 20, p99: 200}"),
    ("negative map_items", _map(map_items={"M": -2}), "state_machines.m.map_items.M", "-2 items: must be 0 or more"),
    ("map_items as a fraction", _map(map_items={"M": 2.5}), "state_machines.m.map_items.M",
     "expected an integer or Dist, got 2.5, which is not a whole number"),
    ("map_items of a bad distribution", _map(map_items={"M": {"dist": "lognormal", "median": 5}}),
     "state_machines.m.map_items.M", "dist: lognormal with median also needs p99"),
    # --- Retry and Catch ---------------------------------------------------------------------------------
    ("the brief's BackoffRate below 1", _branches(task(Retry=[{"ErrorEquals": ["ErrorA"]},
                                                             {"ErrorEquals": ["States.ALL"], "BackoffRate": 0.5}])),
     S + ".Fulfil.Branches[0].States.Ship.Retry[1].BackoffRate",
     "0.5: expected a number of 1.0 or more (the multiplier of the interval at each retry; default 2.0)"),
    ("ErrorEquals missing", one({"A": task(Retry=[{"MaxAttempts": 2}])}), S + ".A.Retry[0].ErrorEquals",
     "is required: a non-empty list of error names, e.g. [States.TaskFailed]"),
    ("ErrorEquals empty", one({"A": task(Retry=[{"ErrorEquals": []}])}), S + ".A.Retry[0].ErrorEquals",
     "expected a non-empty list of error names, got a list"),
    ("States.ALL with others", one({"A": task(Retry=[{"ErrorEquals": ["States.ALL", "X"]}])}),
     S + ".A.Retry[0].ErrorEquals", "States.ALL must be alone in its ErrorEquals (it matches every error)"),
    ("States.ALL in a retrier before others", one({"A": task(Retry=[{"ErrorEquals": ["States.ALL"]},
                                                                    {"ErrorEquals": ["X"]}])}),
     S + ".A.Retry[0].ErrorEquals", "a retrier with States.ALL must be the last in Retry (it matches every error, so"
                                    " those after it would never be used)"),
    ("States.ALL in a catcher before others", one({"A": task(Next="B", Catch=[
        {"ErrorEquals": ["States.ALL"], "Next": "B"}, {"ErrorEquals": ["X"], "Next": "B"}]), "B": PASS}),
     S + ".A.Catch[0].ErrorEquals", "a catcher with States.ALL must be the last in Catch (it matches every error, so"
                                    " those after it would never be used)"),
    ("a predefined error misspelt", one({"A": task(Retry=[{"ErrorEquals": ["States.Timout"]}])}),
     S + ".A.Retry[0].ErrorEquals[0]",
     "'States.Timout' is not a predefined error (did you mean 'States.Timeout'?); names starting 'States.' are"
     " AWS's: States.ALL, States.TaskFailed, States.Timeout, States.HeartbeatTimeout, States.Permissions,"
     " States.ResultPathMatchFailure, States.ParameterPathFailure, States.BranchFailed, States.NoChoiceMatched,"
     " States.IntrinsicFailure, States.ExceedToleratedFailureThreshold, States.ItemReaderFailed,"
     " States.ResultWriterFailed, States.Runtime, States.DataLimitExceeded, States.QueryEvaluationError"),
    ("IntervalSeconds zero", one({"A": task(Retry=[{"ErrorEquals": ["X"], "IntervalSeconds": 0}])}),
     S + ".A.Retry[0].IntervalSeconds", "0 is out of range: IntervalSeconds takes an integer of 1 or more"),
    ("MaxAttempts negative", one({"A": task(Retry=[{"ErrorEquals": ["X"], "MaxAttempts": -1}])}),
     S + ".A.Retry[0].MaxAttempts", "-1 is out of range: MaxAttempts takes an integer of 0 or more"),
    ("MaxDelaySeconds zero", one({"A": task(Retry=[{"ErrorEquals": ["X"], "MaxDelaySeconds": 0}])}),
     S + ".A.Retry[0].MaxDelaySeconds", "0 is out of range: MaxDelaySeconds takes an integer 1-31,622,400"),
    ("JitterStrategy in another case", one({"A": task(Retry=[{"ErrorEquals": ["X"], "JitterStrategy": "Full"}])}),
     S + ".A.Retry[0].JitterStrategy", "the string 'Full' (did you mean 'FULL'?); allowed: FULL, NONE (the default)"),
    ("a retrier field misspelt", one({"A": task(Retry=[{"ErrorEquals": ["X"], "MaxAttempt": 2}])}),
     S + ".A.Retry[0].MaxAttempt", "unknown field 'MaxAttempt' (did you mean 'MaxAttempts'?) for a retrier; allowed:"
                                   " ErrorEquals, IntervalSeconds, MaxAttempts, BackoffRate, MaxDelaySeconds,"
                                   " JitterStrategy, Comment"),
    ("Retry not a list", one({"A": task(Retry={"ErrorEquals": ["X"]})}), S + ".A.Retry",
     "expected a list of retriers, got a mapping"),
    ("a catcher without Next", one({"A": task(Catch=[{"ErrorEquals": ["States.ALL"]}])}), S + ".A.Catch[0].Next",
     "is required: the state to go to when the error is caught"),
    ("a catcher to nowhere", one({"A": task(Next="B", Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Rescue"}]),
                                  "B": PASS}), S + ".A.Catch[0].Next", "'Rescue' is not a state here; states: A, B"),
    # --- Task resources ----------------------------------------------------------------------------------
    ("Resource missing", one({"A": {"Type": "Task", "End": True}}), S + ".A.Resource",
     "is required: arn:aws:states:::lambda:invoke[.waitForTaskToken], arn:aws:states:::sqs:sendMessage"
     "[.waitForTaskToken], arn:aws:states:::sns:publish[.waitForTaskToken], arn:aws:states:::events:putEvents"
     "[.waitForTaskToken], arn:aws:states:::dynamodb:getItem, arn:aws:states:::dynamodb:putItem,"
     " arn:aws:states:::dynamodb:updateItem, arn:aws:states:::dynamodb:deleteItem,"
     " arn:aws:states:::states:startExecution[.sync][.sync:2][.waitForTaskToken],"
     " arn:aws:lambda:REGION:ACCOUNT:function:NAME"),
    ("a resource in the wrong case", one({"A": task(resource="arn:aws:states:::lambda:Invoke")}), S + ".A.Resource",
     "'arn:aws:states:::lambda:Invoke' is not a resource simulated here (did you mean"
     " 'arn:aws:states:::lambda:invoke'?); allowed: arn:aws:states:::lambda:invoke[.waitForTaskToken],"),
    ("an AWS SDK integration", one({"A": task(resource="arn:aws:states:::aws-sdk:s3:getObject")}), S + ".A.Resource",
     "'arn:aws:states:::aws-sdk:s3:getObject' is not a resource simulated here; allowed:"),
    ("an activity", one({"A": task(resource="arn:aws:states:us-east-1:123456789012:activity:review")}),
     S + ".A.Resource", "'arn:aws:states:us-east-1:123456789012:activity:review' is not a resource simulated here;"
                        " allowed:"),
    ("a Lambda .sync", one({"A": task(resource=LAMBDA + ".sync")}), S + ".A.Resource",
     "lambda:invoke does not support .sync; its suffixes: none (Request Response) or .waitForTaskToken"),
    ("a DynamoDB callback", one({"A": task(resource="arn:aws:states:::dynamodb:getItem.waitForTaskToken",
                                           Parameters={"TableName": "orders"})}), S + ".A.Resource",
     "dynamodb:getItem does not support .waitForTaskToken; its suffixes: none (Request Response)"),
    ("a function named by the payload", one({"A": task(Parameters={"FunctionName.$": "$.fn"})}),
     S + ".A.Parameters['FunctionName.$']",
     "FunctionName is read from the payload (the string '$.fn'), which is not simulated: name the resource, e.g."
     " FunctionName: my-function"),
    ("no FunctionName", one({"A": task(Parameters={"Payload.$": "$"})}), S + ".A.Parameters.FunctionName",
     "is required: the function to invoke, e.g. my-function"),
    ("no Parameters", one({"A": {"Type": "Task", "Resource": LAMBDA, "End": True}}), S + ".A.Parameters",
     "needs FunctionName: the function to invoke, e.g. Parameters: {FunctionName: my-function}"),
    ("a function that does not exist", one({"A": task("chek-stock")}), S + ".A.Parameters.FunctionName",
     "function 'chek-stock' is not defined (did you mean 'check-stock'?); defined functions: f, g, check-stock,"
     " payments, flaky, transform"),
    ("a legacy ARN of a function that does not exist", one({"A": {
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:nope", "End": True}}),
     S + ".A.Resource", "function 'nope' is not defined;"),
    ("a function ARN of another service", one({"A": task("arn:aws:sqs:us-east-1:123456789012:q")}),
     S + ".A.Parameters.FunctionName", "'arn:aws:sqs:us-east-1:123456789012:q' is not a function name, NAME:QUALIFIER"
                                       " or arn:aws:lambda:REGION:ACCOUNT:function:NAME"),
    ("a DryRun invocation", one({"A": task(Parameters={"FunctionName": "f", "InvocationType": "DryRun"})}),
     S + ".A.Parameters.InvocationType",
     "DryRun invokes nothing and is not simulated; allowed: RequestResponse, Event"),
    ("a queue URL that is not one", one({"A": task(resource="arn:aws:states:::sqs:sendMessage",
                                                   Parameters={"QueueUrl": "q"})}), S + ".A.Parameters.QueueUrl",
     "'q' is not an SQS queue URL such as https://sqs.us-east-1.amazonaws.com/123456789012/NAME"),
    ("a queue that does not exist", one({"A": task(resource="arn:aws:states:::sqs:sendMessage", Parameters={
        "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/shiping"})}), S + ".A.Parameters.QueueUrl",
     "queue 'shiping' is not defined (did you mean 'shipping'?)"),
    ("a queue named by the payload", one({"A": task(resource="arn:aws:states:::sqs:sendMessage",
                                                    Parameters={"QueueUrl.$": "$.queue"})}),
     S + ".A.Parameters['QueueUrl.$']", "QueueUrl is read from the payload (the string '$.queue'), which is not"
                                        " simulated: name the resource"),
    ("a topic by name, not ARN", one({"A": task(resource="arn:aws:states:::sns:publish",
                                                Parameters={"TopicArn": "t"})}),
     S + ".A.Parameters.TopicArn", "'t' is not a topic ARN such as arn:aws:sns:REGION:ACCOUNT:NAME"),
    ("events to the default bus that is not defined", scenario({"m": machine({"A": task(
        resource="arn:aws:states:::events:putEvents", Parameters={"Entries": [{"Source": "s"}]})})}, buses={"b": {}}),
     S + ".A.Parameters.Entries[0]", "bus 'default' is not defined; defined buses: b"),
    ("events to two buses", one({"A": task(resource="arn:aws:states:::events:putEvents", Parameters={"Entries": [
        {"EventBusName": "b"}, {"EventBusName": "arn:aws:events:us-east-1:123456789012:event-bus/default"}]})}),
     S + ".A.Parameters.Entries", "entries to several buses (b, default): one PutEvents task here sends to one bus;"
                                  " use a Task per bus"),
    ("events without entries", one({"A": task(resource="arn:aws:states:::events:putEvents", Parameters={})}),
     S + ".A.Parameters.Entries", "is required: a non-empty list of events, each with EventBusName"),
    ("a table that does not exist", one({"A": task(resource="arn:aws:states:::dynamodb:putItem",
                                                   Parameters={"TableName": "order"})}), S + ".A.Parameters.TableName",
     "table 'order' is not defined (did you mean 'orders'?)"),
    ("a state machine that does not exist", one({"A": task(resource="arn:aws:states:::states:startExecution.sync",
                                                           Parameters={"StateMachineArn": "arn:aws:states:us-east-1:"
                                                                       "123456789012:stateMachine:child"})}),
     S + ".A.Parameters.StateMachineArn", "state machine 'child' is not defined; defined state machines: m"),
    ("a callback in an Express machine", one({"A": task(resource=LAMBDA + ".waitForTaskToken")}, type="EXPRESS",
                                             callbacks_ms={"A": {"dist": "fixed", "value": 1}}), S + ".A.Resource",
     ".waitForTaskToken is not supported in an EXPRESS workflow: Express workflows take Request Response integrations"
     " only (connect-to-resource); use a STANDARD workflow"),
    (".sync in a distributed Map's Express children", _map(
        processor={"StartAt": "Child", "States": {"Child": task(
            resource="arn:aws:states:::states:startExecution.sync", Parameters={
                "StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m"})}},
        config={"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}),
     S + ".M.ItemProcessor.States.Child.Resource", ".sync is not supported in the EXPRESS child executions of a"
                                                   " distributed Map"),
    ("TimeoutSeconds of a task as text", one({"A": task(TimeoutSeconds="30")}), S + ".A.TimeoutSeconds",
     "expected an integer of 1 or more, got the string '30'"),
    # --- callbacks ---------------------------------------------------------------------------------------
    ("a callback delay for a plain task", one({"A": task()}, callbacks_ms={"A": {"dist": "fixed", "value": 1}}),
     "state_machines.m.callbacks_ms.A", "'A' is a Task state: callbacks_ms is for a Task with .waitForTaskToken; this"
                                        " machine has no Tasks with .waitForTaskToken"),
    ("a callback failure rate above 1", one({"A": task(resource=LAMBDA + ".waitForTaskToken")},
                                            callbacks_ms={"A": {"dist": "fixed", "value": 1}},
                                            callback_failure_rate={"A": 1.5}),
     "state_machines.m.callback_failure_rate.A", "1.5 must be 0-1"),
    # --- Fail ---------------------------------------------------------------------------------------------
    ("Error and ErrorPath", one({"F": {"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}}), S + ".F.ErrorPath",
     "a Fail state takes Error or ErrorPath, not both"),
]


@pytest.mark.parametrize("data, path, message", [c[1:] for c in MISTAKES], ids=[c[0] for c in MISTAKES])
def test_each_mistake_at_its_path(data, path, message):
    found = problems(data)
    assert len(found) == 1, found
    assert found[0][0] == path
    assert found[0][1].startswith(message) or found[0][1] == message, found[0][1]


def test_the_mistakes_table_is_large_and_ids_are_unique():
    ids = [c[0] for c in MISTAKES]
    assert len(ids) == len(set(ids)) and len(ids) >= 100


def test_several_mistakes_in_one_machine_are_all_reported_in_document_order():
    data = _branches(task("nope", Retry=[{"ErrorEquals": ["States.Timout"], "BackoffRate": 0}]))
    data["state_machines"]["m"]["type"] = "Standard"
    assert [p for p, _ in problems(data)] == [
        "state_machines.m.type",
        S + ".Fulfil.Branches[0].States.Ship.Parameters.FunctionName",  # the task's fields in their order
        S + ".Fulfil.Branches[0].States.Ship.Retry[0].ErrorEquals[0]",
        S + ".Fulfil.Branches[0].States.Ship.Retry[0].BackoffRate",
    ]


# ------------------------------------------------------------------------ accepted: payload fields, forms, warnings


def test_payload_fields_are_accepted_and_ignored():
    payload = {"InputPath": "$.in", "OutputPath": "$.out", "ResultPath": "$.r", "ResultSelector": {"a.$": "$.b"},
               "Assign": {"x": 1}, "Comment": "c"}
    states = {
        "T": task(Next="P", **payload),
        "P": {"Type": "Pass", "Result": {"k": 1}, "Parameters": {"a": 1}, "Next": "M", "Comment": "c"},
        "M": {"Type": "Map", "ItemsPath": "$.items", "ItemSelector": {"v.$": "$$.Map.Item.Value"}, "Label": "L",
              "ItemReader": {"Resource": "arn:aws:states:::s3:getObject"}, "ItemBatcher": {"MaxItemsPerBatch": 5},
              "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject"}, "ResultPath": None,
              "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                                "StartAt": "I", "States": {"I": PASS}}, "Next": "F"},
        "F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"},
    }
    m = compiled(one(states, map_items={"M": 3}, top={"Comment": "x", "Version": "1.0", "QueryLanguage": "JSONPath"}))
    t, p, mp, f = m.scopes[0].states
    assert (t.next, p.next, mp.next, f.error) == (1, 2, 3, None)
    assert mp.max_concurrency == DISTRIBUTED_MAX_CONCURRENCY and mp.child_type == "STANDARD"


@pytest.mark.parametrize("name, target", [
    ("f", "function:f"), ("f:live", "function:f"), ("arn:aws:lambda:eu-west-1:123456789012:function:g", "function:g"),
    ("arn:aws:lambda:us-east-1:123456789012:function:g:$LATEST", "function:g"),
    ("123456789012:function:f", "function:f"),
])
def test_function_name_forms(name, target):
    assert compiled(one({"A": task(name)})).scopes[0].states[0].target == target


@pytest.mark.parametrize("resource, params, target, integration", [
    ("sqs:sendMessage", {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q"}, "queue:q", "request"),
    ("sqs:sendMessage", {"QueueUrl": "https://queue.amazonaws.com/123456789012/q"}, "queue:q", "request"),
    ("sns:publish.waitForTaskToken", {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t"}, "topic:t", "callback"),
    ("events:putEvents", {"Entries": [{"EventBusName": "arn:aws:events:us-east-1:123456789012:event-bus/b"}]},
     "bus:b", "request"),
    ("dynamodb:getItem", {"TableName": "orders"}, "table:orders", "request"),
    ("dynamodb:deleteItem", {"TableName": "orders"}, "table:orders", "request"),
    ("states:startExecution", {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m"},
     "state_machine:m", "request"),
    ("states:startExecution.waitForTaskToken",
     {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m"}, "state_machine:m", "callback"),
])
def test_service_integrations(resource, params, target, integration):
    sm = {"callbacks_ms": {"A": {"dist": "fixed", "value": 5}}} if integration == "callback" else {}
    data = one({"A": task(resource=f"arn:aws:states:::{resource}", Parameters=params)}, **sm)
    st = compiled(data).scopes[0].states[0]
    assert (st.target, st.integration, st.invocation_type) == (target, integration, None)
    assert (st.callback_ms is None) == (integration != "callback")


def test_a_choice_compiles_merged_targets_and_the_remainder():
    st = compiled(_choice({"A": 0.5, "B": 0.2})).scopes[0].states[0]  # rules A, B, A; Default C
    assert st.branches == ((0.5, 1), (0.2, 2)) and st.default == 3
    assert (st.p_default, st.p_no_match) == (pytest.approx(0.3), 0.0)
    st = compiled(_choice({"A": 0.5, "B": 0.2}, default=None)).scopes[0].states[0]
    assert st.branches == ((0.5, 1), (0.2, 2)) and st.default == -1
    assert (st.p_default, st.p_no_match) == (0.0, pytest.approx(0.3))
    st = compiled(_choice({"A": 0.25, "C": 0.75})).scopes[0].states[0]  # the Default's share given: exactly it
    assert st.branches == ((0.25, 1), (0.0, 2), (0.75, 3)) and st.p_default == 0.0


def test_a_rule_target_left_out_of_choices_is_a_warning():
    _, warnings = check_scenario(_choice({"A": 0.5}))
    assert warnings == [("state_machines.m.choices.Pick", "'B', where a rule of Choice 'Pick' goes, is not listed: it"
                                                          " is never taken")]


def test_a_lambda_error_name_misspelt_is_a_warning_and_kept():
    data = one({"A": task(Retry=[{"ErrorEquals": ["Lambda.Unkown"]}])})
    _, warnings = check_scenario(data)
    assert warnings == [(S + ".A.Retry[0].ErrorEquals[0]", "'Lambda.Unkown' is not one of Lambda's errors (did you"
                         " mean 'Lambda.Unknown'?); as a custom name it matches only a function error of that exact"
                         " name")]
    assert compiled(data).scopes[0].states[0].retry[0].errors == ("Lambda.Unkown",)


def test_express_timeout_above_five_minutes_is_a_warning():
    _, warnings = check_scenario(one({"A": PASS}, type="EXPRESS", top={"TimeoutSeconds": 600}))
    assert warnings == [(D + ".TimeoutSeconds", "600 s: an Express execution ends after 5 minutes (300 s) whatever"
                                               " TimeoutSeconds says")]


def test_waits_from_the_payload_and_the_calendar_compile_to_their_distribution():
    states = {"A": {"Type": "Wait", "TimestampPath": "$.at", "Next": "B"},
              "B": {"Type": "Wait", "Timestamp": "2026-03-14T01:59:00.5+01:00", "End": True}}
    waits = {"A": {"dist": "exponential", "mean": 30}, "B": {"dist": "fixed", "value": 7200}}
    a, b = compiled(one(states, waits_s=waits)).scopes[0].states
    assert (a.seconds, a.seconds_dist) == (None, Dist(dist="exponential", mean=30))
    assert b.seconds_dist == Dist(dist="fixed", value=7200)


def test_a_legacy_iterator_and_a_lambda_callback():
    inner = task(resource=LAMBDA + ".waitForTaskToken", Parameters={"FunctionName": "g"})
    states = {"M": {"Type": "Map", "Iterator": {"StartAt": "I", "States": {"I": inner}}, "End": True}}
    m = compiled(one(states, map_items={"M": 2}, callbacks_ms={"I": {"dist": "fixed", "value": 9}},
                     callback_failure_rate={"I": 0.25}))
    i = m.scopes[1].states[0]
    assert (m.scopes[1].path, i.target, i.integration, i.callback_failure_rate) == \
        (S + ".M.Iterator", "function:g", "callback", 0.25)


def test_the_compiled_form_is_frozen_and_its_dists_are_copies():
    data = one({"W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}}, waits_s={"W": {"dist": "fixed", "value": 1}})
    s = load_scenario(data)
    m = compile_machine("m", s.state_machines["m"], s)
    with pytest.raises(Exception):
        m.scopes[0].states[0].next = 3
    m.scopes[0].states[0].seconds_dist.value = 99.0
    assert s.state_machines["m"].waits_s["W"].value == 1.0


def test_state_repr_shows_what_is_set():
    st = compiled(one({"A": PASS})).scopes[0].states[0]
    assert repr(st) == "State(name='A', kind='pass', next=-1)"


def test_a_yaml_scenario_with_an_inline_definition(tmp_path):
    text = """
name: wf
functions: {f: {}}
state_machines:
  orders:
    type: EXPRESS
    definition:
      StartAt: Go
      States:
        Go:
          Type: Task
          Resource: arn:aws:states:::lambda:invoke
          Parameters: {FunctionName: f, Payload.$: $}
          End: true
"""
    (tmp_path / "s.yaml").write_text(text)
    m = compile_machines(load_scenario(tmp_path / "s.yaml"))["orders"]
    assert m.type == "EXPRESS" and m.scopes[0].states[0].target == "function:f"
