"""`functions.NAME.calls` and `endpoints`: read into typed objects with their defaults, checked, and
run; a call's own attributes that nothing would filter on are refused with one clear line, never ignored."""

import pytest

from scenarios.calls import SDK_MAX_ATTEMPTS, Call, Endpoint
from scenarios.errors import ScenarioError
from scenarios.load import check_scenario
from scenarios.schema import Scenario
from sim import simulate


def scenario(calls, endpoints=None):
    return {"name": "calls", "duration_s": 10,
            "functions": {"api": {"calls": calls}, "pricing": {}},
            "queues": {"audit": {}}, "endpoints": endpoints or {},
            "traffic": [{"target": "function:api", "arrivals": {"kind": "poisson", "rate_per_s": 1}}]}


def problems(data) -> list[str]:
    with pytest.raises(ScenarioError) as err:
        check_scenario(data)
    return [f"{p}: {m}" for p, m in err.value.problems]


def test_defaults_are_the_sdk_and_the_spec_ones():
    c = Call(target="function:pricing")
    assert (c.mode, c.probability, c.count, c.at, c.on_error, c.max_attempts) == ("sync", 1.0, 1, "start", "fail", None)
    assert SDK_MAX_ATTEMPTS == 3
    assert Endpoint().latency_ms is None and Scenario().endpoints == {}


def test_well_formed_calls_run_and_own_attributes_are_refused_with_their_path():
    data = scenario([{"target": "function:pricing"}, {"target": "queue:audit", "mode": "async", "count": 2},
                     {"target": "endpoint:pay", "probability": 0.5}],
                    {"pay": {"latency_ms": {"dist": "lognormal", "median": 120, "p99": 800}, "rate_limit_per_s": 100}})
    check_scenario(data)
    r = simulate(data, progress=False)
    calls, pay = r.summary["calls"], r.summary["endpoints"]["pay"]
    assert list(calls) == ["api.calls[0] → function:pricing", "api.calls[1] → queue:audit",
                           "api.calls[2] → endpoint:pay"]
    for c in calls.values():  # conservation per edge (ACCOUNT_SPEC.md §8)
        assert c["made"] == c["ok"] + c["failed"] + c["abandoned"] + c["in_flight_end"]
        assert c["attempts"] == c["made"] + c["retries"]
    assert r.summary["queues"]["audit"]["sent"] == calls["api.calls[1] → queue:audit"]["ok"]
    assert pay["requests"] == pay["ok"] + pay["errors"] + pay["throttled"] + pay["outage"] + pay["in_progress_end"]
    # a call's own attributes where nothing downstream filters on them would be ignored: refused
    own = scenario([{"target": "queue:audit", "mode": "async", "attributes": {"kind": {"a": 1.0}}}])
    with pytest.raises(ScenarioError) as err:
        simulate(own, progress=False)
    assert [p for p, _ in err.value.problems] == ["functions.api.calls[0].attributes"]
    assert "would be ignored" in err.value.problems[0][1] and "queue:audit" in err.value.problems[0][1]


def test_the_schema_and_the_kernel_agree_on_the_most_calls():
    from kernels.account import MAX_CALLS
    from scenarios.calls import CALLS_PER_FUNCTION_MAX

    assert CALLS_PER_FUNCTION_MAX == MAX_CALLS


def test_every_mistake_at_once():
    data = scenario([{"target": "function:api"}, {"target": "queue:audt"}, {"target": "endpoint:pay", "mode": "async"},
                     {"target": "state_machine:b"}], {"pay": {"burst": 5, "outages": [{"start_s": 5, "end_s": 1}]}})
    got = problems(data)
    for path, words in [("functions.api.calls[0].target", "calls itself synchronously"),
                        ("functions.api.calls[1].target", "did you mean 'audit'"),
                        ("functions.api.calls[2].mode", "called synchronously"),
                        ("functions.api.calls[3].target", "state machine 'b' is not defined"),
                        ("endpoints.pay.latency_ms", "is required"),
                        ("endpoints.pay.burst", "needs rate_limit_per_s"),
                        ("endpoints.pay.outages[0].end_s", "must be after start_s")]:
        assert any(g.startswith(path + ":") and words in g for g in got), (path, words, got)
