"""Entry points and traces reach the user: summary.json, Result, traces.parquet, the console and the report — through sim.api's run, with a test double giving them.

`FixedTracesDouble` — a TEST DOUBLE for the output side only, not a model of anything — is
a component that returns a fixed, hand-made `entry_points()` dict and `spans()` frame; it is
added to a real run's components by wrapping sim.api's `build`, and the account's own entry
points (the engine's, checked in test_account_twin and test_validation_calls) are left out
of these runs so that every value reaching the outputs is a hand-made one. What is checked is the wiring (collection, checks, files,
tables, sections), against the contract of sim.engine.component.Component.entry_points and
.spans; runs without such a component must write exactly what they wrote before.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import polars as pl
import pytest

import sim.api
from sim.builder import World, build as real_build
from sim.compute.lambda_account import LambdaAccount
from sim.engine.component import Component
from sim.output.console import format_entry_point_table, format_summary
from sim.output.entry_points import check_entry_point, collect_entry_points
from sim.output.report import build_report
from sim.output.traces import SPAN_COLUMNS, SPAN_SCHEMA, merge_spans, pick_traces, spans_frame
from sim.sweep.rundir import read_run, write_report

SCENARIO = {
    "name": "traced", "duration_s": 20, "seed": 3,
    "functions": {"api": {}, "worker": {}},
    "traffic": [{"name": "web", "target": "function:api", "arrivals": {"kind": "constant", "rate_per_s": 2}},
                {"name": "batch", "target": "function:worker", "invocation": "async",
                 "arrivals": {"kind": "constant", "rate_per_s": 1}}],
}

# Hand-made, given in the opposite of the traffic's order (the summary follows the traffic's).
ENTRY_POINTS = {
    "batch": {"requests": 20, "succeeded": 19, "failed": 0, "throttled": 1, "in_flight_end": 2,
              "latency_ms": {"mean": 0.0, "p50": 0.0, "p90": 0.0, "p99": 0.0, "p999": 0.0, "max": 0.0},
              "completion_ms": None},  # no request of it finished: no sample
    "web": {"requests": 40, "succeeded": 36, "failed": 3, "throttled": 1, "in_flight_end": 0,
            "latency_ms": {"mean": 120.5, "p50": 100.0, "p90": 250.0, "p99": 500.0, "p999": 750.0, "max": 800.0},
            "completion_ms": {"mean": 900.0, "p50": 800.0, "p90": 1500.0, "p99": 2000.0, "p999": 2100.0,
                              "max": 2200.0}},
}


def span(trace, sid, parent, name, kind, service, resource, start, end, status="OK", attributes=None):
    return (trace, sid, parent, name, kind, service, resource, start, end, status, attributes or {})


# Three traces: 1 (web → api, sync call to worker, a message to a queue consumed by worker),
# 2 (api whose call to worker failed), 3 (a lone worker invocation of the batch source).
SPANS = [
    span(1, 1, None, "api invoke", "SERVER", "lambda", "api", 1.0, 1.5),
    span(1, 2, 1, "worker lambda.Invoke", "CLIENT", "lambda", "worker", 1.1, 1.35),
    span(1, 3, 2, "worker invoke", "SERVER", "lambda", "worker", 1.1, 1.3, attributes={"cold_start": True}),
    span(1, 4, 1, "jobs sqs.SendMessage", "PRODUCER", "sqs", "jobs", 1.4, 1.45),
    span(1, 5, 4, "jobs receive", "CONSUMER", "sqs", "jobs", 2.0, 2.0),
    span(1, 6, 5, "worker invoke", "SERVER", "lambda", "worker", 2.0, 3.0),
    span(2, 1, None, "api invoke", "SERVER", "lambda", "api", 5.0, 5.3, "ERROR"),
    span(2, 2, 1, "worker lambda.Invoke", "CLIENT", "lambda", "worker", 5.05, 5.25, "ERROR",
         {"throttled": True}),
    span(3, 1, None, "worker invoke", "SERVER", "lambda", "worker", 7.0, 7.25),
]


class FixedTracesDouble(Component):
    """TEST DOUBLE for the output side only: returns the entry points and spans it is given,
    simulates nothing (its step does nothing). Not a model of any service."""

    def __init__(self, name: str, entry_points: Optional[Dict[str, Any]], spans: Optional[pl.DataFrame]):
        super().__init__(name)
        self._entry_points, self._spans = entry_points, spans

    def step(self, t0: float, t1: float) -> None:
        pass

    def entry_points(self) -> Dict[str, dict]:
        return self._entry_points if self._entry_points is not None else super().entry_points()

    def spans(self):
        return self._spans


@dataclass
class _WorldWithDoubles(World):
    doubles: List[Component] = field(default_factory=list)

    @property
    def components(self) -> List[Component]:
        return super().components + self.doubles


@pytest.fixture
def run_with(monkeypatch):
    """simulate(SCENARIO) with the given doubles among the run's components."""
    def run(*doubles: Component, out_dir=None, scenario=SCENARIO):
        def build(sc, **kwargs):
            w = real_build(sc, **kwargs)
            return _WorldWithDoubles(w.scenario, w.built, w.book, doubles=list(doubles))
        monkeypatch.setattr(sim.api, "build", build)
        monkeypatch.setattr(LambdaAccount, "entry_points", lambda self: {})
        return sim.api.simulate(scenario, out_dir)
    return run


def double(rows=SPANS, entry_points=ENTRY_POINTS, name="double") -> FixedTracesDouble:
    """The double with `rows` as its spans, given out of (trace_id, span_id) order."""
    rows = list(rows)
    return FixedTracesDouble(name, entry_points, spans_frame(rows[::-2] + rows[-2::-2]))


# ---------------------------------------------------------------- through a run

def test_entry_points_and_traces_reach_summary_result_and_files(run_with, tmp_path):
    r = run_with(double(), out_dir=tmp_path / "run")
    assert list(r.summary["entry_points"]) == ["web", "batch"]  # the traffic's order
    assert r.summary["entry_points"] == ENTRY_POINTS
    assert list(r.summary).index("entry_points") == list(r.summary).index("cost_usd") - 1
    assert r.entry_points is r.summary["entry_points"]
    assert r.entry_points["web"]["latency_ms"]["p99"] == 500.0 and r.entry_points["batch"]["completion_ms"] is None
    # the traces: SPAN_SCHEMA, sorted by (trace_id, span_id), the hand-made values
    assert dict(r.traces.schema) == SPAN_SCHEMA
    assert r.traces.equals(spans_frame(SPANS))
    assert r.traces.row(2, named=True)["attributes"] == '{"cold_start":true}'
    # the files: traces.parquet holds the same table with the same types; summary.json the section
    out = tmp_path / "run"
    back = pl.read_parquet(out / "traces.parquet")
    assert dict(back.schema) == SPAN_SCHEMA and tuple(back.columns) == SPAN_COLUMNS
    assert back.equals(r.traces)
    written = json.loads((out / "summary.json").read_text())
    assert written["entry_points"] == ENTRY_POINTS  # None is null and comes back None
    assert '"completion_ms": null' in (out / "summary.json").read_text()
    # the run read back from its directory (cloudtwin-report) has both
    again = read_run(out)
    assert again.traces.equals(r.traces) and again.entry_points == ENTRY_POINTS


def test_report_has_entry_points_service_map_and_waterfalls(run_with, tmp_path):
    r = run_with(double(), out_dir=tmp_path / "run")
    page = (tmp_path / "run" / "report.html").read_text()
    # the entry points table, a column per source, exact values in data-value
    assert '<h3 id="section-entry_points">Entry points (traffic sources)</h3>' in page
    table = re.search(r'<table id="table-entry_points">.*?</table>', page).group(0)
    assert re.findall(r"<tr><th></th>(.*?)</tr>", table) == ["<th>web</th><th>batch</th>"]
    assert 'data-key="entry_points.web.latency_ms.p99" data-value="500.0">500 ms<' in table
    assert 'data-key="entry_points.web.requests" data-value="40"' in table
    assert 'data-key="entry_points.batch.completion_ms.p99" data-value="null">–<' in table
    assert ">completion p99<" in table and ">in flight at the end<" in table
    # the service map: every resource the sampled calls join, one arrow per caller and callee
    svg = re.search(r'<section id="service-map">.*?(<svg .*?</svg>)', page, re.S).group(1)
    root = ET.fromstring(svg)
    assert {g.get("data-id") for g in root.findall(".//g[@class='node']")} == {
        "lambda:api", "lambda:worker", "sqs:jobs"}
    edges = {(p.get("data-src"), p.get("data-dst")): p.get("data-calls")
             for p in root.findall(".//path[@class='edge']")}
    assert edges == {("lambda:api", "lambda:worker"): "2", ("lambda:api", "sqs:jobs"): "1",
                     ("sqs:jobs", "lambda:worker"): "1"}
    # 2 calls api → worker in 20 s, one failed
    labels = [[t.text for t in g.findall("text")] for g in root.findall(".//g[@class='edge-label']")]
    assert ["0.1/s · p99 250 ms", "50.00 % errors"] in labels
    # the waterfalls: pick_traces' choice, each a drawn figure, in that order
    assert pick_traces(r.traces) == [1, 2, 3]
    figs = re.findall(r'<figure id="(waterfall-\d+)" data-state="(\w+)"><figcaption>(.*?)</figcaption>', page)
    assert figs == [("waterfall-1", "plot", "Trace 1"), ("waterfall-2", "plot", "Trace 2"),
                    ("waterfall-3", "plot", "Trace 3")]
    assert page.index('id="section-entry_points"') < page.index('id="service-map"') \
        < page.index('id="waterfalls"') < page.index('id="plots"')
    # rebuilt from the directory: the same sections
    again = write_report(tmp_path / "run").read_text()
    assert 'id="diagram-service-map"' in again and 'id="waterfall-3"' in again


def test_console_prints_the_entry_points(run_with):
    r = run_with(double())
    text = format_summary(r.summary, r.config)
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("entry point"))
    assert lines[head].split() == ["entry", "point", "requests", "succeeded", "failed", "throttled", "in", "flight",
                                   "p50", "latency", "p99", "latency", "p99", "complete"]
    assert lines[head + 2].split() == ["web", "40", "36", "3", "1", "0", "100", "ms", "500", "ms", "2", "s"]
    assert lines[head + 3].split() == ["batch", "20", "19", "0", "1", "2", "0", "s", "0", "s", "-"]
    assert text.index("entry point") > text.index("function")  # after the services' tables


def test_spans_of_two_components_are_checked_together(run_with):
    # the second component's span is a child of the first's: fine together, not alone
    first = double(SPANS[:-1], entry_points={"web": ENTRY_POINTS["web"]}, name="first")
    child = span(1, 7, 6, "audit sqs.SendMessage", "PRODUCER", "sqs", "audit", 2.5, 2.6, attributes='{"bytes":256}')
    second = FixedTracesDouble("second", {"batch": ENTRY_POINTS["batch"]},
                               pl.DataFrame([child], schema=SPAN_SCHEMA, orient="row"))
    with pytest.raises(ValueError, match="its parent_span_id 6 is not a span of trace 1"):
        spans_frame(second.spans())  # alone, its parent is missing
    r = run_with(first, second)
    assert r.traces.height == len(SPANS) and r.traces.filter(pl.col("span_id") == 7)["resource"].to_list() == ["audit"]
    assert list(r.entry_points) == ["web", "batch"]


def test_tracing_on_but_nothing_sampled(run_with, tmp_path):
    empty = FixedTracesDouble("double", None, spans_frame([]))
    r = run_with(empty, out_dir=tmp_path / "run")
    assert r.traces is not None and r.traces.height == 0 and dict(r.traces.schema) == SPAN_SCHEMA
    assert "entry_points" not in r.summary and r.entry_points == {}
    assert not (tmp_path / "run" / "traces.parquet").exists()
    page = (tmp_path / "run" / "report.html").read_text()
    assert page.count("No trace was sampled (raise record.traces.sample or record.traces.first_n).") == 2
    assert "diagram-service-map" not in page and "waterfall-" not in page


def test_without_them_nothing_changes(run_with, monkeypatch, tmp_path):
    out = tmp_path / "run"
    run_with(double(), out_dir=out)
    assert (out / "traces.parquet").is_file()
    monkeypatch.setattr(sim.api, "build", real_build)
    r = sim.api.simulate(SCENARIO, out)  # a plain run into the same directory
    assert "entry_points" not in r.summary and r.entry_points == {} and r.traces is None
    assert not (out / "traces.parquet").exists()  # the earlier run's table went with it
    page = (out / "report.html").read_text()
    for absent in ("section-entry_points", "service-map", "waterfalls", "waterfall-"):
        assert absent not in page
    assert "entry point" not in format_summary(r.summary, r.config)
    assert read_run(out).traces is None
    plain = build_report(r)
    assert "Service map" not in plain and "Request waterfalls" not in plain


NOT_RECORDED = "record.traces: traces were asked for, but nothing in this run records them: no traces.parquet is written"


def test_asking_for_traces_nothing_records_is_a_warning(run_with, monkeypatch, tmp_path, capsys):
    # no traffic enters the account (only provisioned concurrency is billed): nothing to trace
    idle = {**SCENARIO, "functions": {"api": {"provisioned_concurrency": 1}}, "traffic": []}
    traced = {**idle, "record": {"traces": {"sample": 0.5}}}
    monkeypatch.setattr(sim.api, "build", real_build)
    r = sim.api.simulate(traced, tmp_path / "run")
    assert r.summary["warnings"][-1] == NOT_RECORDED and r.traces is None
    assert f"cloudtwin: warning: {NOT_RECORDED}" in capsys.readouterr().err
    assert not (tmp_path / "run" / "traces.parquet").exists()
    first_n = {**idle, "record": {"traces": {"first_n": 5}}}
    assert sim.api.simulate(first_n).summary["warnings"][-1] == NOT_RECORDED
    assert NOT_RECORDED not in sim.api.simulate(idle).summary["warnings"]  # not asked for: no word
    # the account records the traces of its traffic
    r = sim.api.simulate({**SCENARIO, "record": {"traces": {"first_n": 2}}})
    assert "warnings" not in r.summary and set(r.traces["trace_id"].to_list()) == {0, 1, 1 << 40, (1 << 40) + 1}
    # a component that records them, even none sampled: no warning
    quiet = run_with(FixedTracesDouble("double", None, spans_frame([])), scenario=traced).summary
    assert NOT_RECORDED not in quiet["warnings"]


def test_a_map_without_calls_says_so(run_with):
    roots = double([s for s in SPANS if s[2] is None])
    page = build_report(run_with(roots))
    assert "The 3 sampled traces make no call from one resource to another." in page
    assert re.findall(r'<figure id="(waterfall-\d+)"', page) == ["waterfall-1", "waterfall-2", "waterfall-3"]


# ---------------------------------------------------------------- the contract's checks

def ep(**changes):
    out = json.loads(json.dumps(ENTRY_POINTS["web"]))
    for k, v in changes.items():
        if "." in k:
            g, s = k.split(".")
            out[g][s] = v
        else:
            out[k] = v
    return out


@pytest.mark.parametrize("value, message", [
    ([1], "x: expected a dict with keys requests, succeeded, failed, throttled, in_flight_end, latency_ms, "
          "completion_ms, got list"),
    ({**ep(), "latency": None}, "x: unknown key 'latency' (did you mean 'latency_ms'?); the keys are requests, "
                                "succeeded, failed, throttled, in_flight_end, latency_ms, completion_ms"),
    ({k: v for k, v in ep().items() if k != "throttled"}, "x: missing key(s) throttled"),
    (ep(failed=-1), "x: failed is -1, expected a whole number ≥ 0"),
    (ep(failed=True), "x: failed is True, expected a whole number ≥ 0"),
    (ep(requests=2.0), "x: requests is 2.0, expected a whole number ≥ 0"),
    (ep(succeeded=38), "x: succeeded + failed + throttled is 42, above its 40 requests"),
    (ep(in_flight_end=41), "x: in_flight_end 41 is above its 40 requests"),
    (ep(latency_ms=[1, 2]), "x.latency_ms: expected a dict of mean, p50, p90, p99, p999, max or None (no sample), "
                            "got list"),
    (ep(latency_ms={"mean": 1, "p50": 1, "p90": 1, "p99": 1, "p99.9": 1, "max": 1}),
     "x.latency_ms: unknown key 'p99.9' (did you mean 'p999'?); the keys are mean, p50, p90, p99, p999, max"),
    (ep(**{"latency_ms.p99": math.nan}), "x.latency_ms.p99 is nan, expected a finite number of ms ≥ 0"),
    (ep(**{"completion_ms.p50": -1.0}), "x.completion_ms.p50 is -1.0, expected a finite number of ms ≥ 0"),
    (ep(**{"latency_ms.p90": 600.0}), "x.latency_ms: p90 600.0 is above p99 500.0"),
    (ep(**{"latency_ms.mean": 900.0}), "x.latency_ms: mean 900.0 is above max 800.0"),
])
def test_an_entry_point_that_breaks_the_contract(value, message):
    with pytest.raises(ValueError) as e:
        check_entry_point(value, "x")
    assert str(e.value) == message


def test_entry_point_values_are_made_plain():
    import numpy as np

    out = check_entry_point(ep(requests=np.int64(40), **{"latency_ms.max": np.float32(800.0)}), "x")
    assert type(out["requests"]) is int and type(out["latency_ms"]["max"]) is float
    assert out == ENTRY_POINTS["web"]


def test_collecting_entry_points():
    parts = [("a", {"batch": ENTRY_POINTS["batch"]}), ("b", {}), ("c", None), ("d", {"web": ENTRY_POINTS["web"]})]
    assert list(collect_entry_points(parts, ["web", "batch"])) == ["web", "batch"]
    assert list(collect_entry_points(parts)) == ["batch", "web"]  # without the traffic: the components' order
    assert collect_entry_points([("a", {}), ("b", None)], ["web"]) == {}
    with pytest.raises(ValueError, match=r"^d: entry point 'web': given by a too; a source has one entry point$"):
        collect_entry_points([("a", {"web": ENTRY_POINTS["web"]}), ("d", {"web": ENTRY_POINTS["web"]})])
    with pytest.raises(ValueError, match=r"^a: entry point 'wbe' is not a traffic source \(did you mean 'web'\?\); "
                                         r"the sources are web, batch$"):
        collect_entry_points([("a", {"wbe": ENTRY_POINTS["web"]})], ["web", "batch"])
    with pytest.raises(ValueError, match=r"^a: entry_points\(\) returned list, expected a dict"):
        collect_entry_points([("a", [ENTRY_POINTS["web"]])])
    with pytest.raises(ValueError, match=r"^a: entry point 'web': succeeded is -3"):
        collect_entry_points([("a", {"web": ep(succeeded=-3)})], ["web"])


def test_a_run_refuses_a_component_that_breaks_the_contract(run_with):
    with pytest.raises(ValueError, match=r"^double: entry point 'web': missing key\(s\) in_flight_end$"):
        run_with(double(entry_points={"web": {k: v for k, v in ep().items() if k != "in_flight_end"}}))
    with pytest.raises(ValueError, match=r"^double: entry point 'nope' is not a traffic source; the sources are "
                                         r"web, batch$"):
        run_with(double(entry_points={"nope": ep()}))


def test_merging_spans():
    whole = spans_frame(SPANS)
    assert merge_spans([("a", whole[3:]), ("b", whole[:3])]).equals(whole)  # sorted, checked together
    assert merge_spans([]).height == 0
    with pytest.raises(ValueError, match=r"^b: spans\(\) returned list, expected a polars DataFrame"):
        merge_spans([("a", whole), ("b", SPANS)])
    with pytest.raises(ValueError, match=r"^b: spans: missing column\(s\) status$"):
        merge_spans([("a", whole), ("b", whole.drop("status"))])
    with pytest.raises(ValueError, match=r"another span of trace 1 has the same span_id"):
        merge_spans([("a", whole), ("b", whole[:1])])
    without_5 = whole.filter(~((pl.col("trace_id") == 1) & (pl.col("span_id") == 5)))
    with pytest.raises(ValueError, match=r"^span 6 of trace 1 \(row 4, 'worker invoke'\): its parent_span_id 5 is not "
                                         r"a span of trace 1$"):
        merge_spans([("a", without_5)])


def test_the_console_table_alone():
    lines = format_entry_point_table({"checkout": ENTRY_POINTS["web"]})
    assert lines[0].startswith("entry point") and set(lines[1]) == {"-"} and len(lines[1]) == len(lines[0])
    assert lines[2].split()[:6] == ["checkout", "40", "36", "3", "1", "0"]
