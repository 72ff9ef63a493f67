"""Service level objectives: the `slo:` section validated like every other, and checked against a summary."""

import pytest

from scenarios import ScenarioError, load_scenario, to_dict
from sim.output.report_slo import slo_checks, slo_limit

BASE = {"functions": {"api": {}}, "queues": {"orders": {}}}


def problems(slo):
    with pytest.raises(ScenarioError) as e:
        load_scenario(dict(BASE, slo=slo))
    return {p: m for p, m in e.value.problems}


def test_defaults_set_no_objective():
    sc = load_scenario(BASE)
    assert sc.slo.functions == {} and sc.slo.queues == {}
    assert slo_checks({"functions": {"api": {"invocations": 1}}}, to_dict(sc)) == []


def test_objectives_load_and_resolve():
    sc = load_scenario(dict(BASE, slo={"functions": {"api": {"latency_p99_ms": 250, "throttle_ratio_max": 0.01}},
                                       "queues": {"orders": {"age_of_oldest_max_s": 60}}}))
    config = to_dict(sc)
    assert config["slo"]["functions"]["api"] == {"latency_p99_ms": 250.0, "throttle_ratio_max": 0.01,
                                                 "error_ratio_max": None}
    assert slo_limit(config, "queues", "orders", "age_of_oldest_max_s") == 60.0
    assert slo_limit(config, "functions", "api", "error_ratio_max") is None
    assert slo_limit(config, "functions", "nope", "latency_p99_ms") is None


@pytest.mark.parametrize("slo, path, words", [
    ({"functions": {"apx": {"latency_p99_ms": 100}}}, "slo.functions.apx", ["not defined", "did you mean 'api'"]),
    ({"queues": {"ordrs": {"age_of_oldest_max_s": 1}}}, "slo.queues.ordrs", ["did you mean 'orders'"]),
    ({"functions": {"api": {"latency_p99_ms": -1}}}, "slo.functions.api.latency_p99_ms", ["greater than 0"]),
    ({"functions": {"api": {"throttle_ratio_max": 2}}}, "slo.functions.api.throttle_ratio_max", ["maximum 1"]),
    ({"functions": {"api": {"error_ratio_max": -0.1}}}, "slo.functions.api.error_ratio_max", ["0-1"]),
    ({"functions": {"api": {"latency_p90_ms": 5}}}, "slo.functions.api.latency_p90_ms",
     ["unknown key", "latency_p99_ms"]),
    ({"function": {}}, "slo.function", ["unknown key", "did you mean 'functions'"]),
])
def test_mistakes_are_clear_errors(slo, path, words):
    found = problems(slo)
    assert path in found, found
    for w in words:
        assert w in found[path], found[path]


def test_all_mistakes_at_once():
    found = problems({"functions": {"apx": {}, "api": {"throttle_ratio_max": 5}}, "queues": {"q": {}}})
    assert {"slo.functions.apx", "slo.functions.api.throttle_ratio_max", "slo.queues.q"} <= set(found)


SUMMARY = {
    "functions": {"api": {"invocations": 1000, "errors": 20, "throttle_ratio": 0.2,
                          "latency_ms": {"p99": 450.0}},
               "idle": {"invocations": 0, "errors": 0, "throttle_ratio": None, "latency_ms": {"p99": None}}},
    "queues": {"orders": {"age_of_oldest_max_s": 30.0}},
}


def test_checks_compare_the_run_with_each_limit():
    config = {"slo": {"functions": {"api": {"latency_p99_ms": 500, "throttle_ratio_max": 0.1, "error_ratio_max": 0.02},
                                    "idle": {"latency_p99_ms": 1, "error_ratio_max": 0.0}},
                      "queues": {"orders": {"age_of_oldest_max_s": 10}}}}
    got = {(c.name, c.objective): (c.actual, c.met) for c in slo_checks(SUMMARY, config)}
    assert got == {
        ("api", "latency_p99_ms"): (450.0, True),
        ("api", "throttle_ratio_max"): (0.2, False),
        ("api", "error_ratio_max"): (0.02, True),  # at the limit is within it
        ("idle", "latency_p99_ms"): (None, True),  # nothing served, nothing late
        ("idle", "error_ratio_max"): (None, True),
        ("orders", "age_of_oldest_max_s"): (30.0, False),
    }
    texts = [c.text() for c in slo_checks(SUMMARY, config)]
    assert "api throttled 20.00 % > 10.00 % (throttle_ratio_max)" in texts
    assert "orders oldest message age 30 s > 10 s (age_of_oldest_max_s)" in texts
