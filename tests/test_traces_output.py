"""Traces as output (sim.output.traces): the span table and its checks, service map, waterfalls, traces to draw."""

import random
import xml.etree.ElementTree as ET

import numpy as np
import polars as pl
import pytest
from matplotlib.colors import to_rgba

from sim.output.traces import (
    MAP_SCHEMA, MAX_LABEL_CHARS, MAX_WATERFALL_SPANS, MIN_BAR, SPAN_COLUMNS, SPAN_SCHEMA, STATUS_COLOUR,
    pick_traces, service_map, service_map_svg, spans_frame, trace_order, waterfall_figure, waterfall_labels,
)
from tests.figure_checks import assert_readable


def span(trace, sid, parent, name, kind, service, resource, start_s, end_s, status="OK", attributes="{}"):
    return (trace, sid, parent, name, kind, service, resource, start_s, end_s, status, attributes)


# Times are multiples of 1/8 s, so every duration below is exact in binary.
# Trace 1: api calls pricing (sync, answered with an error), sends to orders; worker consumes
# it and sends to orders again (a cycle of the service graph). Traces 2, 3: api -> pricing.
CHAIN = [
    span(1, 1, None, "api invoke", "SERVER", "lambda", "api", 0.0, 0.5, attributes={"cold_start": True}),
    span(1, 2, 1, "pricing lambda.Invoke", "CLIENT", "lambda", "pricing", 0.125, 0.375, "ERROR"),
    span(1, 3, 2, "pricing invoke", "SERVER", "lambda", "pricing", 0.125, 0.375, "ERROR"),
    span(1, 4, 1, "orders sqs.SendMessage", "PRODUCER", "sqs", "orders", 0.375, 0.5),
    span(1, 5, 4, "orders receive", "CONSUMER", "sqs", "orders", 1.0, 1.0),
    span(1, 6, 5, "worker invoke", "SERVER", "lambda", "worker", 1.0, 2.0),
    span(1, 7, 6, "orders sqs.SendMessage", "PRODUCER", "sqs", "orders", 1.5, 1.625),
    span(1, 8, 1, "partner http.POST", "CLIENT", "http", "partner", 0.0, 0.125),
    span(2, 1, None, "api invoke", "SERVER", "lambda", "api", 3.0, 3.25),
    span(2, 2, 1, "pricing lambda.Invoke", "CLIENT", "lambda", "pricing", 3.0, 3.125),
    span(2, 3, 2, "pricing invoke", "SERVER", "lambda", "pricing", 3.0, 3.125),
    span(3, 1, None, "api invoke", "SERVER", "lambda", "api", 4.0, 5.0),
    span(3, 2, 1, "pricing lambda.Invoke", "CLIENT", "lambda", "pricing", 4.0, 4.5),
    span(3, 3, 2, "pricing invoke", "SERVER", "lambda", "pricing", 4.0, 4.5),
]


def shuffled(rows, seed):
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    return rows


# ---------------------------------------------------------------- the table

def test_schema_is_opentelemetry_named_and_typed():
    assert SPAN_COLUMNS == ("trace_id", "span_id", "parent_span_id", "name", "kind", "service", "resource",
                            "start_s", "end_s", "status", "attributes")
    f = spans_frame(CHAIN)
    assert dict(f.schema) == SPAN_SCHEMA
    assert f["trace_id"].dtype == pl.Int64 and f["start_s"].dtype == pl.Float64 and f["name"].dtype == pl.Utf8
    assert f.height == len(CHAIN)
    assert f["parent_span_id"].to_list()[:3] == [None, 1, 2]
    assert f["attributes"][0] == '{"cold_start":true}'  # a dict is written as compact JSON
    assert f["attributes"][1] == "{}"


def test_dicts_and_a_dataframe_give_the_same_table():
    f = spans_frame(CHAIN)
    as_dicts = [dict(zip(SPAN_COLUMNS, r)) for r in CHAIN]
    assert spans_frame(as_dicts).equals(f)
    assert spans_frame(f).equals(f)
    loose = f.with_columns(pl.col("trace_id").cast(pl.Int32), pl.col("start_s").cast(pl.Float32))
    assert spans_frame(loose).equals(f)  # 1/8 s steps are exact in float32 too
    numpy_values = [(np.int64(r[0]), np.int32(r[1]), r[2], *r[3:7], np.float64(r[7]), r[8], *r[9:]) for r in CHAIN]
    assert spans_frame(numpy_values).equals(f)
    empty = spans_frame([])
    assert empty.height == 0 and dict(empty.schema) == SPAN_SCHEMA


def test_attributes_dicts_are_written_with_sorted_keys():
    row = span(1, 1, None, "f invoke", "SERVER", "lambda", "f", 0, 1, attributes={"b": 1, "a": [1, 2]})
    assert spans_frame([row])["attributes"][0] == '{"a":[1,2],"b":1}'
    assert spans_frame([row])["start_s"][0] == 0.0  # ints become seconds


def test_parquet_round_trip_is_identical(tmp_path):
    f = spans_frame(CHAIN)
    path = tmp_path / "traces.parquet"
    f.write_parquet(path)
    back = pl.read_parquet(path)
    assert dict(back.schema) == SPAN_SCHEMA
    assert back.equals(f)
    assert back["parent_span_id"].null_count() == 3
    assert spans_frame(back).equals(f)


def bad(rows, message):
    with pytest.raises(ValueError) as e:
        spans_frame(rows)
    assert str(e.value) == message


def test_a_span_ending_before_it_starts():
    rows = list(CHAIN)
    rows[1] = span(1, 2, 1, "pricing lambda.Invoke", "CLIENT", "lambda", "pricing", 0.375, 0.125)
    bad(rows, "span 2 of trace 1 (row 1, 'pricing lambda.Invoke'): ends before it starts "
              "(end_s 0.125 < start_s 0.375)")


def test_a_parent_must_be_in_the_same_trace():
    rows = CHAIN + [span(2, 9, 7, "x invoke", "SERVER", "lambda", "x", 3.0, 3.1)]  # span 7 exists in trace 1 only
    bad(rows, "span 9 of trace 2 (row 14, 'x invoke'): its parent_span_id 7 is not a span of trace 2")


def test_one_root_per_trace():
    rows = CHAIN + [span(3, 4, None, "other invoke", "SERVER", "lambda", "other", 4.0, 4.1)]
    bad(rows, "trace 3 has 2 root spans (spans 1, 4, no parent_span_id); a trace has exactly one root")
    rows = [span(5, 1, 2, "a invoke", "SERVER", "lambda", "a", 0, 1),
            span(5, 2, 1, "b invoke", "SERVER", "lambda", "b", 0, 1)]
    bad(rows, "trace 5 has no root span (every span has a parent, e.g. span 1 of trace 5 (row 0, 'a invoke')); "
              "a trace has exactly one root")


def test_a_cycle_of_parents_under_a_root():
    rows = [span(5, 1, None, "a invoke", "SERVER", "lambda", "a", 0, 1),
            span(5, 2, 3, "b invoke", "SERVER", "lambda", "b", 0, 1),
            span(5, 3, 2, "c invoke", "SERVER", "lambda", "c", 0, 1)]
    bad(rows, "span 2 of trace 5 (row 1, 'b invoke'): its parents form a cycle (2 → 3 → 2) that never reaches "
              "trace 5's root")
    rows = [rows[0], span(5, 2, 2, "b invoke", "SERVER", "lambda", "b", 0, 1)]
    bad(rows, "span 2 of trace 5 (row 1, 'b invoke'): its parents form a cycle (2 → 2) that never reaches "
              "trace 5's root")


def test_kind_and_status_in_their_sets():
    rows = list(CHAIN)
    rows[0] = span(1, 1, None, "api invoke", "server", "lambda", "api", 0.0, 0.5)
    bad(rows, "span 1 of trace 1 (row 0, 'api invoke'): kind 'server' is not one of SERVER, CLIENT, PRODUCER, "
              "CONSUMER, INTERNAL (did you mean 'SERVER'?)")
    rows[0] = span(1, 1, None, "api invoke", "SERVER", "lambda", "api", 0.0, 0.5, "FAILED")
    bad(rows, "span 1 of trace 1 (row 0, 'api invoke'): status 'FAILED' is not one of OK, ERROR")


def test_span_ids_are_unique_within_a_trace():
    rows = CHAIN + [span(3, 2, 1, "again lambda.Invoke", "CLIENT", "lambda", "again", 4.0, 4.1)]
    bad(rows, "span 2 of trace 3 (row 12, 'pricing lambda.Invoke'): another span of trace 3 has the same span_id")


def test_bad_values_name_the_span_and_the_field():
    ok = span(1, 1, None, "f invoke", "SERVER", "lambda", "f", 0.0, 1.0)
    bad([ok[:10]], "span at row 0: 10 values, expected 11 (trace_id, span_id, parent_span_id, name, kind, service, "
                   "resource, start_s, end_s, status, attributes)")
    d = dict(zip(SPAN_COLUMNS, ok))
    d["parent_id"] = d.pop("parent_span_id")
    bad([d], "span at row 0: unknown field 'parent_id' (did you mean 'parent_span_id'?); the fields are "
             + ", ".join(SPAN_COLUMNS))
    d = dict(zip(SPAN_COLUMNS, ok))
    del d["status"]
    bad([d], "span at row 0: missing field(s) status")
    bad([(True,) + ok[1:]], "span at row 0, 'f invoke': trace_id is True, expected a 64-bit integer")
    bad([ok[:2] + ("1",) + ok[3:]],
        "span 1 of trace 1 (row 0, 'f invoke'): parent_span_id is '1', expected a 64-bit integer or None (a root span)")
    bad([ok[:5] + ("",) + ok[6:]], "span 1 of trace 1 (row 0, 'f invoke'): service is empty")
    bad([ok[:7] + (float("nan"),) + ok[8:]],
        "span 1 of trace 1 (row 0, 'f invoke'): start_s is nan, expected a finite number of seconds")
    bad([ok[:8] + ("1",) + ok[9:]], "span 1 of trace 1 (row 0, 'f invoke'): end_s is '1', expected a number of seconds")
    bad([ok[:10] + ("[1]",)], "span 1 of trace 1 (row 0, 'f invoke'): attributes '[1]' is not a JSON object")
    with pytest.raises(ValueError, match=r"span 1 of trace 1 \(row 0, 'f invoke'\): attributes cannot be written"):
        spans_frame([ok[:10] + ({"x": float("nan")},)])
    bad([(2 ** 64,) + ok[1:]], "span at row 0, 'f invoke': trace_id is 18446744073709551616, expected a 64-bit integer")
    with pytest.raises(ValueError, match="a list of rows"):
        spans_frame({"trace_id": 1})


def test_a_dataframe_with_wrong_columns():
    f = spans_frame(CHAIN)
    with pytest.raises(ValueError, match=r"^spans: missing column\(s\) status$"):
        spans_frame(f.drop("status"))
    with pytest.raises(ValueError, match=r"^spans: unknown column 'start' \(did you mean 'start_s'\?\)"):
        spans_frame(f.rename({"start_s": "start"}))
    with pytest.raises(ValueError, match=r"^spans: column start_s is String, expected Float64$"):
        spans_frame(f.with_columns(pl.col("start_s").cast(pl.Utf8)))
    with pytest.raises(ValueError, match=r"^span 2 of trace 1 \(row 1, 'pricing lambda.Invoke'\): status is missing"):
        spans_frame(f.with_columns(pl.when(pl.int_range(pl.len()) == 1).then(None)
                                   .otherwise(pl.col("status")).alias("status")))


# ---------------------------------------------------------------- the service map

def test_service_map_by_hand():
    m = service_map(spans_frame(shuffled(CHAIN, 1)), duration_s=8.0)
    assert dict(m.schema) == MAP_SCHEMA
    # api -> pricing: the three CLIENT spans (250, 125, 500 ms; one ERROR); each pricing SERVER
    # span sits under its CLIENT span (pricing -> pricing) and is not an edge. p99 "higher" of
    # three: index ceil(0.99 * 2) = 2 of the sorted durations. orders -> worker: the SERVER span
    # under the CONSUMER span (whose own edge orders -> orders is skipped).
    assert m.to_dicts() == [
        dict(src_service="lambda", src_resource="api", dst_service="http", dst_resource="partner", calls=1,
             rate_per_s=0.125, p99_ms=125.0, error_ratio=0.0),
        dict(src_service="lambda", src_resource="api", dst_service="lambda", dst_resource="pricing", calls=3,
             rate_per_s=0.375, p99_ms=500.0, error_ratio=1 / 3),
        dict(src_service="lambda", src_resource="api", dst_service="sqs", dst_resource="orders", calls=1,
             rate_per_s=0.125, p99_ms=125.0, error_ratio=0.0),
        dict(src_service="lambda", src_resource="worker", dst_service="sqs", dst_resource="orders", calls=1,
             rate_per_s=0.125, p99_ms=125.0, error_ratio=0.0),
        dict(src_service="sqs", src_resource="orders", dst_service="lambda", dst_resource="worker", calls=1,
             rate_per_s=0.125, p99_ms=1000.0, error_ratio=0.0),
    ]
    assert service_map(spans_frame(CHAIN), 8.0).equals(m)  # the rows' order does not matter


def test_service_map_p99_is_the_higher_order_statistic():
    # 161 calls lasting k * 1000/1024 ms, k = 0..160 (exact in binary); every tenth an ERROR.
    rows = []
    for k in range(161):
        rows.append(span(k, 1, None, "api invoke", "SERVER", "lambda", "api", float(k), k + 0.5))
        rows.append(span(k, 2, 1, "db http.GET", "CLIENT", "http", "db", float(k), k + k / 1024,
                         "ERROR" if k % 10 == 0 else "OK"))
    m = service_map(spans_frame(rows), duration_s=322.0)
    # the position 0.99 * 160 = 158.4 rounded up: index 159, neither the maximum (160), the
    # nearest (158) nor an interpolation
    assert m.to_dicts() == [dict(src_service="lambda", src_resource="api", dst_service="http", dst_resource="db",
                                 calls=161, rate_per_s=0.5, p99_ms=159 * 1000 / 1024, error_ratio=17 / 161)]


def test_service_map_of_roots_only_and_bad_duration():
    roots = spans_frame([r for r in CHAIN if r[2] is None])
    m = service_map(roots, 10.0)
    assert m.height == 0 and dict(m.schema) == MAP_SCHEMA
    assert service_map_svg(m) is None
    with pytest.raises(ValueError, match="duration_s is 0, expected a positive number of seconds"):
        service_map(roots, 0)
    with pytest.raises(ValueError, match="SPAN_SCHEMA expected"):
        service_map(roots.drop("attributes"), 1.0)


def test_service_map_svg_has_every_node_and_labelled_edge():
    m = service_map(spans_frame(CHAIN), 8.0)
    svg = service_map_svg(m)
    root = ET.fromstring(svg)
    nodes = {g.get("data-id") for g in root.findall(".//g[@class='node']")}
    assert nodes == {"lambda:api", "lambda:pricing", "lambda:worker", "sqs:orders", "http:partner"}
    assert int(root.get("data-nodes")) == 5 and int(root.get("data-edges")) == 5
    paths = {(p.get("data-src"), p.get("data-dst")): p for p in root.findall(".//path[@class='edge']")}
    assert set(paths) == {("lambda:api", "http:partner"), ("lambda:api", "lambda:pricing"),
                          ("lambda:api", "sqs:orders"), ("lambda:worker", "sqs:orders"),
                          ("sqs:orders", "lambda:worker")}
    assert paths[("lambda:api", "lambda:pricing")].get("data-calls") == "3"
    assert paths[("lambda:api", "lambda:pricing")].get("stroke") == "#c62828"  # a third failed: red
    assert paths[("lambda:api", "sqs:orders")].get("stroke") == "#555"
    labels = [[t.text for t in g.findall("text")] for g in root.findall(".//g[@class='edge-label']")]
    assert labels == [  # in the table's (sorted) order
        ["0.125/s · p99 125 ms", "0 % errors"],
        ["0.375/s · p99 500 ms", "33.33 % errors"],
        ["0.125/s · p99 125 ms", "0 % errors"],
        ["0.125/s · p99 125 ms", "0 % errors"],
        ["0.125/s · p99 1 s", "0 % errors"],
    ]
    kinds = {g.get("data-id"): g.find("title").text for g in root.findall(".//g[@class='node']")}
    assert kinds["sqs:orders"] == "SQS queue: orders" and kinds["http:partner"] == "HTTPS endpoint: partner"
    # deterministic: the same text from the same spans in another order
    assert service_map_svg(service_map(spans_frame(shuffled(CHAIN, 7)), 8.0)) == svg


def test_service_map_svg_places_callers_left_of_callees():
    svg = service_map_svg(service_map(spans_frame(CHAIN), 8.0))
    root = ET.fromstring(svg)
    x = {g.get("data-id"): float(g.find("rect").get("x")) for g in root.findall(".//g[@class='node']")}
    assert x["lambda:api"] < x["sqs:orders"] < x["lambda:worker"]  # worker -> orders is the back edge
    assert x["lambda:api"] < x["lambda:pricing"] and x["lambda:api"] < x["http:partner"]
    unknown = service_map(spans_frame([span(1, 1, None, "f invoke", "SERVER", "lambda", "f", 0, 1),
                                       span(1, 2, 1, "t dynamodb.GetItem", "CLIENT", "dynamodb", "t", 0, 0.5)]), 1.0)
    node = ET.fromstring(service_map_svg(unknown)).find(".//g[@data-id='dynamodb:t']")
    assert node.find("title").text == "dynamodb: t"  # a service the scenario diagram does not draw


# ---------------------------------------------------------------- waterfalls

ORDER_1 = [  # trace 1 depth first, children by start: (depth, span_id)
    (0, 1), (1, 8), (1, 2), (2, 3), (1, 4), (2, 5), (3, 6), (4, 7)]


def test_trace_order_is_depth_first_by_start():
    order = trace_order(spans_frame(shuffled(CHAIN, 3)), 1)
    assert [(d, r["span_id"]) for d, r in order] == ORDER_1
    labels = waterfall_labels(order)
    width = len("        orders sqs.SendMessage")
    assert labels == [t.ljust(width) for t in [
        "api invoke", "  partner http.POST", "  pricing lambda.Invoke", "    pricing invoke",
        "  orders sqs.SendMessage", "    orders receive", "      worker invoke", "        orders sqs.SendMessage"]]


def test_long_names_keep_their_start_and_end():
    name = "a_rather_long_queue_name_of_the_orders_service sqs.SendMessage"  # 62 characters
    order = [(0, {"name": "f invoke"}), (2, {"name": name})]
    labels = waterfall_labels(order)
    # depth 2: 48 - 4 = 44 characters for the name, 22 before the '…' and 21 after it
    assert labels[1] == "    " + "a_rather_long_queue_na" + "…" + "rvice sqs.SendMessage"
    assert len(labels[1]) == MAX_LABEL_CHARS == 48 and labels[0] == "f invoke".ljust(48)


def test_waterfall_has_one_bar_per_span_in_order():
    spans = spans_frame(shuffled(CHAIN, 5))
    fig = waterfall_figure(spans, 1)
    ax = fig.axes[0]
    bars = ax.patches
    assert len(bars) == 8
    by_id = {r[1]: r for r in CHAIN if r[0] == 1}
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert [s.strip() for s in labels] == [by_id[sid][3] for _, sid in ORDER_1]
    assert list(ax.get_yticks()) == list(range(8))
    for i, (bar, (_, sid)) in enumerate(zip(bars, ORDER_1)):
        r = by_id[sid]
        assert bar.get_y() + bar.get_height() / 2 == i
        assert bar.get_x() == r[7] * 1000  # ms from the trace's start (trace 1 starts at 0)
        assert bar.get_width() == max((r[8] - r[7]) * 1000, MIN_BAR * 2000)  # the instant span shows
        assert bar.get_facecolor() == to_rgba(STATUS_COLOUR[r[9]])
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # the root on top
    texts = [(t.get_text(), t.get_color()) for t in ax.texts]
    assert [t for t, _ in texts] == ["500 ms", "125 ms", "250 ms", "250 ms", "125 ms", "0 s", "1 s", "125 ms"]
    assert [c for _, c in texts].count("white") == 1 and texts[6][1] == "white"  # inside worker's bar, at the end
    assert ax.get_title(loc="left") == "trace 1: api invoke, 2 s"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["OK", "ERROR"]
    assert_readable(fig, "waterfall", y_from_zero=False)


def test_waterfall_times_start_at_the_trace():
    fig = waterfall_figure(spans_frame(CHAIN), 3)
    bars = fig.axes[0].patches
    assert [(b.get_x(), b.get_width()) for b in bars] == [(0.0, 1000.0), (0.0, 500.0), (0.0, 500.0)]
    with pytest.raises(ValueError, match="trace 4 is not in the span table"):
        waterfall_figure(spans_frame(CHAIN), 4)


def test_a_long_trace_is_cut_and_says_so():
    n = MAX_WATERFALL_SPANS + 20
    rows = [span(1, 0, None, "f invoke", "SERVER", "lambda", "f", 0.0, float(n))]
    rows += [span(1, k, 0, f"q{k} sqs.SendMessage", "PRODUCER", "sqs", f"q{k}", k - 1.0, float(k))
             for k in range(1, n)]
    ax = waterfall_figure(spans_frame(rows), 1).axes[0]
    assert len(ax.patches) == MAX_WATERFALL_SPANS
    assert ax.get_title(loc="left") == f"trace 1: f invoke, 1 min 40 s (first {MAX_WATERFALL_SPANS} of {n} spans)"


# ---------------------------------------------------------------- choosing traces

def durations(spec):
    """One root span per (trace_id, duration_s, status); traces start 10 s apart."""
    return [span(t, 1, None, "f invoke", "SERVER", "lambda", "f", 10.0 * t, 10.0 * t + d, s) for t, d, s in spec]


PICK = [(5, 2.0, "OK"), (3, 2.0, "OK"), (9, 1.0, "ERROR"), (7, 0.5, "ERROR"), (1, 0.25, "OK"), (2, 0.25, "OK")]


def test_pick_traces_slowest_error_median_then_slowest():
    # by duration: 1, 2 (0.25 s), 7, 9, 3, 5 (2 s): the lower median is the third, 7
    spans = spans_frame(durations(PICK))
    assert pick_traces(spans) == [3, 9, 7]  # 3 and 5 tie as slowest: the smaller id
    assert pick_traces(spans, n=5) == [3, 9, 7, 5, 1]
    assert pick_traces(spans, n=10) == [3, 9, 7, 5, 1, 2]
    assert pick_traces(spans, n=1) == [3]
    assert pick_traces(spans, n=0) == []
    for seed in range(5):
        assert pick_traces(spans_frame(durations(shuffled(PICK, seed))), n=4) == [3, 9, 7, 5]


def test_pick_traces_without_errors_or_with_a_slow_one():
    no_errors = [(t, d, "OK") for t, d, _ in PICK]
    assert pick_traces(spans_frame(durations(no_errors))) == [3, 7, 5]
    slow_error = [(5, 2.0, "ERROR")] + PICK[1:]
    assert pick_traces(spans_frame(durations(slow_error))) == [3, 5, 7]  # 3 is slowest; 5 the slowest with an error
    assert pick_traces(spans_frame([])) == []
    with pytest.raises(ValueError, match="n is -1"):
        pick_traces(spans_frame(durations(PICK)), n=-1)


def test_an_error_below_the_root_marks_its_trace():
    # trace 1 (2 s, errors under its root) is the slowest and the slowest with an error;
    # by duration 2 (0.25 s), 3 (1 s), 1: the median is 3, then the next slowest is 2
    assert pick_traces(spans_frame(CHAIN)) == [1, 3, 2]
