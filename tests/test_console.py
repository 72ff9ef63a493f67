"""The terminal summary: run line, aligned function and queue tables, SLO lines, cost line with its assumption."""

import math

from sim.output.console import format_summary, service_label

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
            "cold_start_ratio": 120 / 540000, "throttle_ratio": 0.0, "max_concurrency": 41, "avg_instances": 23.4,
            "latency_ms": {"mean": 116.0, "p50": 80.2, "p90": 240.0, "p99": 601.5,
                           "p999": 1500.0, "max": 4000.0},
        },
        "a_much_longer_name": {
            "invocations": 1234, "cold_start_ratio": 0.5, "throttles": 7, "throttle_ratio": 7 / 1241, "errors": 0,
            "max_concurrency": 3, "avg_instances": 0.25,
            "latency_ms": {"p50": math.nan, "p99": 1200.0},
        },
    },
}


def test_run_line_in_words():
    first = format_summary(SUMMARY).splitlines()[0]
    assert first == ("scenario default  seed 7  simulated 1 h  requests 540,000  "
                     "wall 2.5 s  (216,000 requests/wall-s)")


def test_run_line_durations_as_people_write_them():
    line = format_summary(dict(SUMMARY, duration_s=1000.0, wall_s=0.25)).splitlines()[0]
    assert "simulated 16 min 40 s" in line and "wall 250 ms" in line


def test_function_rows_are_aligned_with_ratios_in_percent():
    lines = format_summary(SUMMARY).splitlines()
    table = lines[2:6]  # header, rule, two rows
    assert table[0].split()[:3] == ["function", "invocations", "cold"]
    assert len({len(line) for line in table}) == 1
    assert table[2].split() == ["api", "540,000", "0.02", "%", "0", "%", "0.10", "%", "80.2", "ms", "602",
                                "ms", "41", "23.4"]
    other = table[3].split()
    assert other[0] == "a_much_longer_name"
    assert other[2:4] == ["50.00", "%"]  # cold starts
    assert other[4:6] == ["0.56", "%"]  # throttled, of attempts
    assert other[8] == "-"  # NaN p50
    assert other[9:11] == ["1.2", "s"]  # p99 1,200 ms


def test_no_cost_line_without_costs():
    assert "cost" not in format_summary(SUMMARY)


def test_cost_line_by_service_and_its_assumption():
    s = dict(SUMMARY, cost_usd={"total": 10.0, "monthly": 7300.0,
                                "by_service": {"AmazonSQS": {"total": 2.5, "monthly": 1825.0},
                                               "AWSLambda": {"total": 7.5, "monthly": 5475.0}}})
    lines = format_summary(s).splitlines()
    assert lines[-2] == ("projected monthly cost $7,300.00 (simulated period $10.00), "
                         "of which Lambda $5,475.00, SQS $1,825.00")
    assert lines[-1] == "  assumes the simulated 1 h repeated to fill a 730 h month (× 730)"
    short = format_summary(dict(s, duration_s=900.0), {"billing": {"month_h": 720}}).splitlines()
    assert short[-1] == "  assumes the simulated 15 min repeated to fill a 720 h month (× 2,880)"


def test_minimal_summary():
    out = format_summary({"scenario": "x"})
    assert out.startswith("scenario x  seed -")
    assert len(out.splitlines()) == 1


def test_service_label():
    assert [service_label(c) for c in ("AWSLambda", "AmazonSNS", "AWS", "EC2")] == [
        "Lambda", "SNS", "AWS", "EC2"]


QUEUES = {
    "orders": {"sent": 12345, "deleted": 12000, "dead_lettered": 45, "visible_end": 300, "in_flight_end": 22456,
               "visible_max": 900, "age_of_oldest_max_s": 61.4},
    "a_dead_letter_queue": {"sent": 45, "deleted": 0, "dead_lettered": 0, "visible_end": 45, "in_flight_end": 0,
                            "visible_max": 45, "age_of_oldest_max_s": 1000.0},
}


def test_queue_table_shows_messages_in_flight():
    text = format_summary({"scenario": "m", "queues": QUEUES})
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("queue"))
    assert "in flight at end" in header
    row = next(line for line in lines if line.startswith("orders"))
    assert row.split() == ["orders", "12,345", "12,000", "45", "300", "22,456", "900", "1", "min", "1", "s"]
    # the in-flight count sits under its header
    col = header.index("in flight at end") + len("in flight at end")
    assert row[:col].endswith("22,456")
    dlq = next(line for line in lines if line.startswith("a_dead_letter_queue"))
    assert dlq.endswith("16 min 40 s")
    table = [line for line in lines if line.startswith(("queue", "-", "orders", "a_dead"))]
    assert len({len(line) for line in table}) == 1


def test_topics_buses_and_vpcs():
    text = format_summary({
        "scenario": "m",
        "topics": {"events": {"published": 500, "delivered": 900, "filtered_out": 100, "failed": 0, "dead_lettered": 0}},
        "buses": {"bus": {"put": 70, "invocations": 140, "failed": 2, "throttled": 0}},
        "vpcs": {"prod": {"flows": 10, "accepted": 9, "rejected": 1}},
    })
    assert "topic events: 500 published, 900 delivered, 100 filtered out, 0 failed, 0 to DLQs" in text
    assert "bus bus: 70 events, 140 invocations, 2 failed, 0 throttled" in text
    assert "vpc prod: 10 flows started here, 9 accepted, 1 rejected" in text


def test_calls_and_endpoints():
    text = format_summary({
        "scenario": "m",
        "calls": {"api.calls[0] → endpoint:pay": {"made": 1200, "ok": 1150, "failed": 40, "abandoned": 10,
                                                   "in_flight_end": 0, "attempts": 1500, "retries": 300}},
        "endpoints": {"pay": {"requests": 1500, "ok": 1150, "errors": 90, "throttled": 200, "outage": 60,
                              "in_progress_end": 0}},
    })
    assert "call api.calls[0] → endpoint:pay: 1,200 made, 1,150 ok, 40 failed, 10 abandoned, 300 SDK retries" in text
    assert "endpoint pay: 1,500 requests, 1,150 ok, 90 5xx, 200 throttled (429), 60 in outages (503)" in text


def test_slo_breaches_are_marked():
    config = {"slo": {"functions": {"api": {"latency_p99_ms": 500, "error_ratio_max": 0.01},
                                    "a_much_longer_name": {"throttle_ratio_max": 0.01}},
                      "queues": {"orders": {"age_of_oldest_max_s": 60}}}}
    text = format_summary(dict(SUMMARY, queues=QUEUES), config)
    lines = text.splitlines()
    api = next(line for line in lines if line.startswith("api "))
    assert api.endswith("SLO!")  # p99 601.5 ms > 500 ms
    other = next(line for line in lines if line.startswith("a_much_longer_name"))
    assert not other.endswith("SLO!")  # 0.56 % throttled <= 1 %
    orders = next(line for line in lines if line.startswith("orders"))
    assert orders.endswith("SLO!")  # 61.4 s > 60 s
    slo = [line for line in lines if line.startswith("SLO ")]
    assert slo == [
        "SLO BREACHED: api p99 latency 602 ms > 500 ms (latency_p99_ms)",
        "SLO BREACHED: orders oldest message age 1 min 1 s > 1 min (age_of_oldest_max_s)",
        "SLO met: api errors 0.10 % ≤ 1.00 % (error_ratio_max)",
        "SLO met: a_much_longer_name throttled 0.56 % ≤ 1.00 % (throttle_ratio_max)",
    ]


def test_no_slo_lines_without_objectives():
    assert "SLO" not in format_summary(SUMMARY, {"slo": {"functions": {"api": {"latency_p99_ms": None}}}})


def test_a_vpc_that_only_receives_flows_says_so():
    summary = {"scenario": "n", "vpcs": {
        "prod": {"flows": 60, "accepted": 50, "rejected": 10,
                 "generators": {"to_wh": {"flows": 40, "accepted": 30, "rejected": 10},
                                "local": {"flows": 20, "accepted": 20, "rejected": 0}}},
        "analytics": {"flows": 0, "accepted": 0, "rejected": 0, "generators": {}}}}
    config = {"vpcs": {"prod": {"cidr": "10.0.0.0/16", "hosts": {"app": {}, "db": {}}},
                       "analytics": {"cidr": "10.1.0.0/16", "hosts": {"wh": {}}}},
              "flows": [{"name": "to_wh", "src": "app", "dst": "wh"}, {"name": "local", "src": "app", "dst": "db"}]}
    lines = format_summary(summary, config).splitlines()
    assert "vpc prod: 60 flows started here, 50 accepted, 10 rejected" in lines
    assert ("vpc analytics: 0 flows started here, 0 accepted, 0 rejected; 40 arrived from elsewhere,"
            " 30 of them accepted") in lines
