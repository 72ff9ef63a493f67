"""The call graph's runaway check (sim/callgraph.py): by hand, against numpy, through the services, as a user meets it."""

import subprocess
import sys

import numpy as np
import pytest
import yaml
from hypothesis import given, settings, strategies as st

from scenarios.errors import ScenarioError
from scenarios.load import load_scenario
from sim.callgraph import CallGraph, check_call_graph, runaway_cycle, spectral_radius, strongly_connected, worst_parts
from sim.messaging.wiring import compile_filters
from tests.mistakes import ROOT



def test_a_self_loop_is_its_probability():
    assert spectral_radius(np.array([[0.3]])) == pytest.approx(0.3)
    assert runaway_cycle(np.array([[1.0]]), ["f"]) == (pytest.approx(1.0), ["f"])


def test_a_chain_without_a_cycle_has_radius_zero():
    m = np.array([[0, 2.0, 0], [0, 0, 5.0], [0, 0, 0]])
    assert spectral_radius(m) == pytest.approx(0.0, abs=1e-12)
    assert runaway_cycle(m, list("abc")) == (0.0, [])


def test_a_two_cycle_is_the_geometric_mean_of_its_edges():
    # a -> b twice per call, b -> a with probability 0.4: expected round trip 0.8, radius sqrt(0.8)
    m = np.array([[0, 2.0, 0], [0.4, 0, 1.0], [0, 0, 0]])
    r, members = runaway_cycle(m, ["a", "b", "c"])
    assert r == pytest.approx(np.sqrt(0.8)) and members == ["a", "b"]
    assert spectral_radius(m) == pytest.approx(np.sqrt(0.8))


def test_the_worst_part_is_named():
    m = np.zeros((4, 4))
    m[0, 0] = 0.5  # a feeds itself half the time
    m[1, 2] = m[2, 1] = 1.1  # b <-> c, more than once each way: runaway
    m[3, 1] = 1.0
    r, members = runaway_cycle(m, ["a", "b", "c", "d"])
    assert r == pytest.approx(1.1) and members == ["b", "c"]


# ---------------------------------------------------------------- against numpy, on random matrices


@st.composite
def sparse_matrices(draw):
    """Non-negative square matrices with many zeros (so several strongly connected parts), up to 9 x 9."""
    n = draw(st.integers(1, 9))
    cells = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.floats(0.01, 3.0)),
                          max_size=2 * n * n // 3 + 1))
    m = np.zeros((n, n))
    for i, j, x in cells:
        m[i, j] = x
    return m


@settings(max_examples=300, deadline=None)
@given(sparse_matrices())
def test_the_radius_of_the_parts_is_numpys_of_the_whole(m):
    """The largest radius over strongly connected parts equals the largest |eigenvalue| numpy's eig
    finds for the whole matrix (a non-negative matrix is block triangular over its parts)."""
    parts = worst_parts({i: {j: float(m[i, j]) for j in range(len(m)) if m[i, j] > 0} for i in range(len(m))})
    ours = parts[0][0] if parts else 0.0
    whole = float(np.max(np.abs(np.linalg.eig(m)[0])))
    # an acyclic part is nilpotent: eig of the whole finds its zero eigenvalues only to about
    # eps^(1/size) of the entries, so the comparison allows that much
    assert ours == pytest.approx(whole, rel=1e-9, abs=1e-6 * max(1.0, float(m.max(initial=0.0))))
    r, _ = runaway_cycle(m, [str(i) for i in range(len(m))])
    assert r == pytest.approx(ours)
    assert [r for r, _ in parts] == sorted((r for r, _ in parts), reverse=True)


@settings(max_examples=300, deadline=None)
@given(sparse_matrices())
def test_components_are_the_mutual_reachability_classes_sinks_first(m):
    n = len(m)
    reach = (m > 0) | np.eye(n, dtype=bool)
    for _ in range(n):  # transitive closure
        reach = reach | ((reach.astype(int) @ reach.astype(int)) > 0)
    comps = strongly_connected({i: np.flatnonzero(m[i] > 0).tolist() for i in range(n)})
    assert sorted(v for c in comps for v in c) == list(range(n))
    where = {v: ci for ci, c in enumerate(comps) for v in c}
    for i in range(n):
        for j in range(n):
            assert (where[i] == where[j]) == bool(reach[i, j] and reach[j, i])
            if m[i, j] > 0 and where[i] != where[j]:
                assert where[j] < where[i]  # Tarjan finishes a successor's part first


def test_a_long_chain_does_not_reach_the_recursion_limit():
    n = 5000  # a path 0 -> 1 -> ... -> n-1 -> 0: one part of n nodes
    comps = strongly_connected({i: [(i + 1) % n] for i in range(n)})
    assert len(comps) == 1 and len(comps[0]) == n


# ---------------------------------------------------------------- scenarios


def _scenario(functions, **sections):
    data = {"name": "graph", "duration_s": 10, "functions": functions,
            "traffic": sections.pop("traffic", [{"target": "function:f",
                                                 "arrivals": {"kind": "poisson", "rate_per_s": 1}}])}
    data.update(sections)
    return load_scenario(data)


def _graph(sc) -> CallGraph:
    return CallGraph(sc, *compile_filters(sc))


def _refusal(sc):
    """The problems check_call_graph raises, [] when it lets the scenario run."""
    try:
        check_call_graph(sc)
    except ScenarioError as err:
        return list(err.problems)
    return []


def _self_queue_loop(p: float, count: int = 1):
    return _scenario({"f": {"calls": [{"target": "queue:q", "mode": "async", "probability": p, "count": count}]}},
                     queues={"q": {}}, event_source_mappings=[{"source": "q", "function": "f"}])


def test_a_function_feeding_its_own_queue_a_tenth_of_the_time_passes():
    sc = _self_queue_loop(0.1)
    assert _graph(sc).radius() == pytest.approx(0.1)
    assert _refusal(sc) == []


def test_a_function_feeding_its_own_queue_every_time_is_refused():
    problems = _refusal(_self_queue_loop(1.0))
    assert len(problems) == 1
    path, message = problems[0]
    assert path == "functions.f.calls"
    assert "f → f" in message and "1.00" in message and "below 1" in message
    assert "functions.f.calls[0] (queue:q)" in message and "probability or count" in message
    assert "filter" not in message  # no topic or bus on the loop: nothing to narrow
    assert "class" not in message  # it runs away whatever the item carries


def test_just_below_one_passes_and_the_count_multiplies():
    assert _graph(_self_queue_loop(0.99)).radius() == pytest.approx(0.99)
    assert _refusal(_self_queue_loop(0.99)) == []
    assert "1.98" in _refusal(_self_queue_loop(0.99, count=2))[0][1]


def _filtered_topic(attributes):
    """f publishes 3 messages per invocation to t; t's sqs subscription to q takes kind 'a' only; q invokes f."""
    return _scenario({"f": {"calls": [{"target": "topic:t", "mode": "async", "count": 3, "attributes": attributes}]}},
                     queues={"q": {}}, event_source_mappings=[{"source": "q", "function": "f"}],
                     topics={"t": {"subscriptions": [{"protocol": "sqs", "endpoint": "q",
                                                      "filter_policy": {"kind": ["a"]}},
                                                     {"protocol": "email", "endpoint": "ops@example.com"}]}})


def test_a_filter_matching_half_the_classes_times_three_is_refused():
    sc = _filtered_topic({"kind": {"a": 0.5, "b": 0.5}})
    assert _graph(sc).radius() == pytest.approx(1.5)
    (path, message), = _refusal(sc)
    assert path == "functions.f.calls"
    assert "f → f" in message and "1.50" in message
    assert "functions.f.calls[0] (topic:t)" in message and "filter policies of topic:t" in message
    assert "for items of class {'kind': 'a'}" in message  # b never comes back


def test_attributes_that_never_match_pass():
    sc = _filtered_topic({"kind": {"c": 1.0}})
    assert _graph(sc).radius() == 0.0
    assert _refusal(sc) == []


def _two_hops(g_attributes=None, traffic_kind=None, policy=None):
    """traffic -> topic t0 -> f (lambda); f calls g (async); g publishes twice to t1, whose lambda
    subscription to f takes kind 'a' only. Neither f's call to g nor g's publish names attributes
    unless `g_attributes`: the invoking item's class flows down both hops."""
    call_g = {"target": "function:g", "mode": "async"}
    if g_attributes is not None:
        call_g["attributes"] = g_attributes
    kinds = traffic_kind or {"a": 0.5, "b": 0.5}
    return _scenario(
        {"f": {"calls": [call_g]}, "g": {"calls": [{"target": "topic:t1", "mode": "async", "count": 2}]}},
        topics={"t0": {"subscriptions": [{"protocol": "lambda", "endpoint": "f"}]},
                "t1": {"subscriptions": [{"protocol": "lambda", "endpoint": "f",
                                          "filter_policy": policy or {"kind": ["a"]}}]}},
        traffic=[{"target": "topic:t0", "arrivals": {"kind": "poisson", "rate_per_s": 1},
                  "message": {"attributes": {"kind": kinds}}}])


def test_a_class_inherited_through_two_hops_decides_the_filter():
    sc = _two_hops()
    g = _graph(sc)
    a, b = (g.classes.index({"kind": v}) for v in "ab")
    assert g.weights[("f", a)] == {("g", a): 1.0} and g.weights[("g", a)] == {("f", a): 2.0}
    assert g.weights[("f", b)] == {("g", b): 1.0} and ("g", b) not in g.weights  # the filter drops b
    assert g.radius() == pytest.approx(np.sqrt(2.0))
    (path, message), = _refusal(sc)
    assert path == "functions.f.calls" and "f → g → f" in message and "1.41" in message
    assert "functions.f.calls[0] (function:g) and functions.g.calls[0] (topic:t1)" in message
    assert "for items of class {'kind': 'a'}" in message


def test_two_hops_pass_when_the_class_that_reaches_the_filter_never_matches():
    assert _graph(_two_hops(policy={"kind": ["c"]})).radius() == 0.0
    # f's call to g names kind b: g inherits b from it, whatever f's own item carried
    sc = _two_hops(g_attributes={"kind": {"b": 1.0}})
    assert _graph(sc).radius() == 0.0
    assert _refusal(sc) == []


def test_a_call_class_set_midway_is_inherited_by_the_next_hop():
    # the traffic carries b only, but f's call to g names a: g's publish inherits a and comes back
    sc = _two_hops(g_attributes={"kind": {"a": 1.0}}, traffic_kind={"b": 1.0})
    assert _graph(sc).radius() == pytest.approx(np.sqrt(2.0))
    assert "1.41" in _refusal(sc)[0][1]


def test_the_fanout_scenario_matrix_is_its_filter_table():
    """fulfil publishes once to the shipped fan-out topic, passing its item's class on: the expected
    invocations per class are the subscriptions its filter policies select, worked out by hand."""
    data = yaml.safe_load((ROOT / "configs" / "scenario" / "fanout.yaml").read_text())
    data.pop("defaults")
    data["functions"]["fulfil"]["calls"] = [{"target": "topic:orders", "mode": "async"}]
    g = _graph(load_scenario(data))
    assert len(g.classes) == 3 * 3 * 2
    for k, cls in enumerate(g.classes):
        want = {}
        if cls["kind"] == "created":
            want[("fulfil", k)] = 1.0
        if cls["kind"] in ("created", "refunded") and cls["amount"] >= 100:
            want[("billing", k)] = 1.0
        want[("audit", k)] = 1.0  # https and email subscriptions invoke no function
        assert g.weights[("fulfil", k)] == want, cls
    assert g.radius() == pytest.approx(1.0)  # kind created comes back to fulfil every time
    (path, message), = _refusal(load_scenario(data))
    assert path == "functions.fulfil.calls" and "for items of 6 of the 18 message classes" in message


def test_a_bus_rule_counts_per_target_and_a_queue_per_mapping():
    """f puts an event on b; the rule selecting kind a sends it to queue q (read by two mappings,
    both counted: each message goes to one of them, so this is the least upper bound), to h and
    to an API destination (no function); the rule selecting z to h. A worker fleet on q invokes nothing."""
    sc = _scenario({"f": {"calls": [{"target": "bus:b", "mode": "async", "probability": 0.25,
                                     "attributes": {"kind": {"a": 0.4, "z": 0.6}}}]}, "h": {}},
                   queues={"q": {}},
                   event_source_mappings=[{"source": "q", "function": "f"}, {"source": "q", "function": "f"}],
                   worker_fleets={"w": {"queue": "q"}},
                   buses={"b": {"rules": {"r": {"event_pattern": {"kind": ["a"]},
                                                "targets": [{"target": "queue:q"}, {"target": "function:h"},
                                                            {"target": "https://example.com/hook"}]},
                                          "other": {"event_pattern": {"kind": ["z"]},
                                                    "targets": [{"target": "function:h"}]}}}})
    g = _graph(sc)
    a, z = g.classes.index({"kind": "a"}), g.classes.index({"kind": "z"})
    assert g.weights[("f", 0)] == {("f", a): pytest.approx(0.25 * 0.4 * 2), ("h", a): pytest.approx(0.25 * 0.4),
                                   ("h", z): pytest.approx(0.25 * 0.6)}
    assert g.radius() == pytest.approx(0.2)


def test_a_scenario_without_calls_is_not_examined():
    sc = _scenario({"f": {}})
    check_call_graph(sc)  # nothing raised, nothing compiled


def test_call_attributes_are_checked_like_a_traffic_sources():
    with pytest.raises(ScenarioError) as err:
        _filtered_topic({"kind": {"a": 0.5, "b": 0.4}})
    assert err.value.problems == [("functions.f.calls[0].attributes.kind",
                                   "probabilities sum to 0.9 (0.5 + 0.4), not 1")]


@pytest.mark.parametrize("sweep", [(), ("-m", "scenario.seed=1,2")], ids=["run", "sweep"])
def test_the_user_gets_one_message_from_the_cli(sweep, tmp_path):
    """`cloudtwin` on a scenario whose function feeds its own queue every time: exit 2, the
    runaway's one line under the heading, no traceback, nothing left in results_dir; a sweep
    is refused before its first job, once."""
    conf = tmp_path / "conf" / "scenario"
    conf.mkdir(parents=True)
    data = {"name": "loop", "duration_s": 10, "queues": {"q": {}},
            "functions": {"f": {"calls": [{"target": "queue:q", "mode": "async"}]}},
            "event_source_mappings": [{"source": "q", "function": "f"}],
            "traffic": [{"target": "function:f", "arrivals": {"kind": "poisson", "rate_per_s": 1}}]}
    (conf / "loop.yaml").write_text(yaml.safe_dump(data))
    results = tmp_path / "results"
    p = subprocess.run([sys.executable, "-c", "from sim.cli import main; main()", "-cd", str(tmp_path / "conf"),
                        "scenario=loop", f"results_dir={results}", *sweep],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and "Error executing job" not in p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert lines[0].endswith("the scenario has mistakes:")
    assert len(lines) == 2 and lines[1].strip().startswith("functions.f.calls: the calls f → f never end"), p.stderr
    assert "1.00" in lines[1] and "not simulated yet" not in p.stderr
    assert not results.exists() or [f for f in results.rglob("*") if f.is_file()] == []
