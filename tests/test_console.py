"""The terminal summary: run line, one aligned row per function, cost line when billed."""

import math

from sim.console import format_summary, service_label

SUMMARY = {
    "scenario": "default",
    "seed": 7,
    "duration_s": 3600.0,
    "wall_s": 2.5,
    "requests_simulated": 540000,
    "requests_per_wall_s": 216000.0,
    "functions": {
        "api": {
            "invocations": 540000, "cold_starts": 120, "throttles": 0, "errors": 540,
            "cold_start_ratio": 120 / 540000, "max_concurrency": 41, "avg_instances": 23.4,
            "latency_ms": {"mean": 116.0, "p50": 80.2, "p90": 240.0, "p99": 601.5,
                           "p999": 1500.0, "max": 4000.0},
        },
        "a_much_longer_name": {
            "invocations": 1234, "cold_start_ratio": 0.5, "throttles": 7, "errors": 0,
            "max_concurrency": 3, "avg_instances": 0.25,
            "latency_ms": {"p50": math.nan, "p99": 12.0},
        },
    },
}


def test_run_line():
    first = format_summary(SUMMARY).splitlines()[0]
    assert first == (
        "scenario default  seed 7  simulated 3,600 s (1 h)  requests 540,000  "
        "wall 2.50 s  (216,000 requests/wall-s)"
    )


def test_function_rows_are_aligned():
    lines = format_summary(SUMMARY).splitlines()
    table = lines[2:6]  # header, rule, two rows
    assert table[0].split()[:2] == ["function", "invocations"]
    assert len({len(line) for line in table}) == 1
    api = table[2].split()
    assert api == ["api", "540,000", "0.02", "0", "540", "80.2", "601.5", "41", "23.4"]
    other = table[3].split()
    assert other[0] == "a_much_longer_name"
    assert other[2] == "50.00"  # cold %
    assert other[5] == "-"  # NaN p50


def test_no_cost_line_without_costs():
    assert "cost" not in format_summary(SUMMARY)


def test_cost_line_by_service():
    s = dict(SUMMARY, cost_usd={"total": 10.0, "monthly": 7300.0,
                                "by_service": {"AmazonSQS": {"total": 2.5, "monthly": 1825.0},
                                               "AWSLambda": {"total": 7.5, "monthly": 5475.0}}})
    last = format_summary(s).splitlines()[-1]
    assert last == (
        "projected monthly cost $7,300.00 (simulated period $10.00), "
        "of which Lambda $5,475.00, SQS $1,825.00"
    )


def test_minimal_summary():
    out = format_summary({"scenario": "x"})
    assert out.startswith("scenario x  seed -")
    assert len(out.splitlines()) == 1


def test_service_label():
    assert [service_label(c) for c in ("AWSLambda", "AmazonSNS", "AWS", "EC2")] == [
        "Lambda", "SNS", "AWS", "EC2"]


def test_summary_lists_queues_topics_and_buses():
    from sim.console import format_summary

    text = format_summary({
        "scenario": "m", "seed": 1, "duration_s": 60.0, "wall_s": 0.5, "requests_simulated": 100,
        "requests_per_wall_s": 200.0,
        "queues": {"orders": {"sent": 12345, "deleted": 12000, "dead_lettered": 45, "visible_end": 300,
                              "visible_max": 900, "age_of_oldest_max_s": 61.4}},
        "topics": {"events": {"published": 500, "delivered": 900, "filtered_out": 100, "failed": 0, "dead_lettered": 0}},
        "buses": {"bus": {"put": 70, "invocations": 140, "failed": 2, "throttled": 0}},
    })
    row = next(line for line in text.splitlines() if line.startswith("orders"))
    assert row.split() == ["orders", "12,345", "12,000", "45", "300", "900", "61"]
    assert "topic events: 500 published, 900 delivered, 100 filtered out, 0 failed, 0 to DLQs" in text
    assert "bus bus: 70 events, 140 invocations, 2 failed, 0 throttled" in text
