"""Runs that do nothing say so: a warning per idle part (stderr and summary.json), an error when nothing can happen."""

from __future__ import annotations

import copy
import json

import pytest

from scenarios import ScenarioError
from sim import simulate


def base(**extra) -> dict:
    sc = {"name": "e", "duration_s": 60, "seed": 2,
          "functions": {"f": {"duration_ms": {"dist": "fixed", "value": 20}}},
          "traffic": [{"name": "main", "target": "function:f", "arrivals": {"kind": "poisson", "rate_per_s": 5}}]}
    sc.update(extra)
    return sc


def with_second(source: dict, **extra) -> dict:
    """The base scenario plus `source` as traffic[1]."""
    sc = base(**extra)
    sc["traffic"].append({"name": "second", "target": "function:f", **source})
    return sc


def run(sc, capsys, **kw):
    r = simulate(sc, progress=False, **kw)
    err = capsys.readouterr().err
    return r, [line for line in err.splitlines() if line.startswith("cloudtwin: warning: ")]


def one_warning(r, lines, path: str, *words: str) -> str:
    mine = [w for w in r.summary.get("warnings", []) if w.startswith(path + ":")]
    assert len(mine) == 1, r.summary["warnings"]
    assert f"cloudtwin: warning: {mine[0]}" in lines  # the same line on stderr
    for w in words:
        assert w in mine[0], mine[0]
    return mine[0]


def test_a_normal_run_has_no_warnings(capsys):
    r, lines = run(base(), capsys)
    assert "warnings" not in r.summary and lines == []
    assert r.summary["requests_simulated"] > 0


def test_a_source_starting_after_the_end(capsys):
    r, lines = run(with_second({"arrivals": {"kind": "poisson", "rate_per_s": 5}, "start_s": 60}), capsys)
    one_warning(r, lines, "traffic[1].start_s", "at or after the end", "duration_s = 60", "'second' sends nothing")


def test_steps_all_at_rate_zero(capsys):
    src = {"arrivals": {"kind": "steps", "steps": [{"at_s": 0, "rate_per_s": 0}, {"at_s": 100, "rate_per_s": 5}]}}
    r, lines = run(with_second(src), capsys)
    one_warning(r, lines, "traffic[1].arrivals.steps", "no step gives a rate above 0", "[0, 60) s")


def test_a_trace_with_no_row_in_the_run(tmp_path, capsys):
    trace = tmp_path / "late.csv"
    trace.write_text("t_s\n100\n150.5\n200\n")
    src = {"arrivals": {"kind": "trace", "file": str(trace)}}
    r, lines = run(with_second(src), capsys)
    one_warning(r, lines, "traffic[1].arrivals.file", "no row in [0, 60) s", "its 3 rows span 100-200 s")


def test_a_duration_too_short_for_one_request(capsys):
    r, lines = run(with_second({"arrivals": {"kind": "poisson", "rate_per_s": 0.01}}), capsys)
    one_warning(r, lines, "traffic[1].arrivals", "about 0.6 requests expected", "with probability 55%",
                "lengthen duration_s")


def test_constant_arrivals_always_send_their_first_request(capsys):
    """A constant process sends at start_s whatever its rate: no warning."""
    r, lines = run(with_second({"arrivals": {"kind": "constant", "rate_per_s": 0.01}}), capsys)
    assert "warnings" not in r.summary and lines == []


def test_a_flow_generator_with_no_flow(capsys):
    import yaml
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "configs/scenario"
    sc = yaml.safe_load((root / "vpc_three_tier.yaml").read_text())
    sc.pop("defaults")
    sc["flows"][3]["count"] = 0
    r, lines = run(sc, capsys, base_dir=root)
    one_warning(r, lines, "flows[3].count", "0 flows")


def test_unreachable_resources(capsys):
    sc = base(queues={"orphan": {}, "dlq": {}, "used": {"dead_letter_queue": "dlq", "max_receive_count": 3}},
              topics={"quiet": {"subscriptions": [{"protocol": "sqs", "endpoint": "used"}]}},
              event_source_mappings=[{"source": "used", "function": "f"}])
    sc["functions"]["idle"] = {}
    r, lines = run(sc, capsys)
    one_warning(r, lines, "functions.idle", "nothing invokes it")
    one_warning(r, lines, "queues.orphan", "nothing sends to it")
    one_warning(r, lines, "topics.quiet", "no traffic publishes to it")
    assert not any(w.startswith(("queues.dlq", "queues.used", "functions.f")) for w in r.summary["warnings"])


def test_warnings_reach_summary_json(tmp_path, capsys):
    r, _ = run(with_second({"arrivals": {"kind": "poisson", "rate_per_s": 5}, "start_s": 90}), capsys,
               out_dir=tmp_path)
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["warnings"] == r.summary["warnings"] and len(written["warnings"]) == 1


def test_no_traffic_but_provisioned_concurrency_is_a_run_with_a_warning(capsys):
    sc = base(traffic=[])
    sc["functions"]["f"]["provisioned_concurrency"] = 2
    r, lines = run(sc, capsys)
    one_warning(r, lines, "traffic", "no traffic: only the provisioned concurrency run")
    assert r.summary["cost_usd"]["monthly"] > 0  # idle provisioned environments are billed


def test_no_traffic_and_nothing_else_is_an_error():
    with pytest.raises(ScenarioError) as err:
        simulate(base(traffic=[]), progress=False)
    (path, message), = err.value.problems
    assert path == "" and "nothing to simulate: there is no traffic" in message and "add a traffic source" in message


def test_every_source_idle_and_nothing_else_is_an_error():
    sc = base()
    sc["traffic"][0]["start_s"] = 100
    sc["traffic"].append({"name": "second", "target": "function:f",
                          "arrivals": {"kind": "steps", "steps": [{"at_s": 0, "rate_per_s": 0}]}})
    with pytest.raises(ScenarioError) as err:
        simulate(sc, progress=False)
    paths = [p for p, _ in err.value.problems]
    assert paths == ["traffic[0].start_s", "traffic[1].arrivals.steps", "traffic"]
    assert "no traffic source sends a request" in err.value.problems[-1][1]


def test_worker_fleets_run_without_traffic(capsys):
    sc = {"name": "poll", "duration_s": 60, "queues": {"q": {}}, "worker_fleets": {"w": {"queue": "q", "workers": 2}}}
    r, lines = run(copy.deepcopy(sc), capsys)
    one_warning(r, lines, "traffic", "worker fleets")
    one_warning(r, lines, "queues.q", "nothing sends to it")


def test_destinations_that_lead_nowhere(capsys):
    sc = base(queues={"sink": {}}, topics={"void": {}},
              buses={"b": {"rules": {}}})
    sc["traffic"] += [{"name": "to-sink", "target": "queue:sink", "arrivals": {"kind": "poisson", "rate_per_s": 1}},
                      {"name": "to-void", "target": "topic:void", "arrivals": {"kind": "poisson", "rate_per_s": 1}},
                      {"name": "to-bus", "target": "bus:b", "arrivals": {"kind": "poisson", "rate_per_s": 1},
                       "events": [{"event": {"source": "x"}}]}]
    r, lines = run(sc, capsys)
    one_warning(r, lines, "queues.sink", "nothing receives from it", "only accumulate")
    one_warning(r, lines, "topics.void.subscriptions", "goes nowhere")
    one_warning(r, lines, "buses.b.rules", "no rule with a target")
