"""Words and numbers for people: durations, percentages, money and summary labels (sim.output.report_format)."""

import math

import pytest

from sim.output.report_format import duration_text, kind_of, label, number_text, pct_text, usd_text, value_text

DURATIONS = [
    # the examples
    (1000, "16 min 40 s"),
    (3600, "1 h"),
    (86400, "1 day"),
    (0.25, "250 ms"),
    (1000.0 / 60 * 60, "16 min 40 s"),  # was printed as "16.6667 min"
    # below a second: ms or µs, 3 significant digits
    (0.0004, "400 µs"),
    (0.0123, "12.3 ms"),
    (0.9996, "1 s"),  # rounds up into the next unit
    (0.0000001, "0.1 µs"),
    # below a minute: seconds, 3 significant digits
    (1, "1 s"),
    (12.345, "12.3 s"),
    (59.99, "1 min"),
    # from a minute on: the two largest units, the smaller one rounded, zero parts left out
    (60, "1 min"),
    (61.5, "1 min 2 s"),
    (90, "1 min 30 s"),
    (600, "10 min"),
    (1800, "30 min"),
    (3599.6, "1 h"),
    (3661, "1 h 1 min"),
    (5400, "1 h 30 min"),
    (7 * 3600 + 59 * 60 + 59.7, "8 h"),
    (90061, "1 day 1 h"),
    (172800, "2 days"),
    (1209600, "14 days"),
    (0, "0 s"),
    (-5, "-5 s"),
    (math.inf, "∞"),
    (math.nan, "–"),
    (None, "–"),
]


@pytest.mark.parametrize("seconds, text", DURATIONS)
def test_duration_text(seconds, text):
    assert duration_text(seconds) == text


@pytest.mark.parametrize("ratio, text", [
    (0.937151929653151, "93.72 %"), (0.0004897879, "0.05 %"), (0.0, "0 %"), (1.0, "100.00 %"),
    (1e-7, "0.00001 %"), (None, "–"), (math.nan, "–"),
])
def test_pct_text(ratio, text):
    assert pct_text(ratio) == text


@pytest.mark.parametrize("usd, text", [
    (1462.13, "$1,462.13"), (0.4, "$0.40"), (0.0081668, "$0.008167"), (0.1, "$0.10"), (0, "$0.00"),
    (None, "–"),
])
def test_usd_text(usd, text):
    assert usd_text(usd) == text


@pytest.mark.parametrize("value, text", [
    (89981, "89,981"), (18.83243205840018, "18.83"), (249040.99455674092, "249,041.0"), (True, "yes"),
    (None, "–"), ("standard", "standard"),
])
def test_number_text(value, text):
    assert number_text(value) == text


@pytest.mark.parametrize("key, words, kind", [
    ("functions.api.latency_ms.p999", "latency p99.9", "duration_ms"),
    ("cold_start_ratio", "cold starts (% of invocations)", "ratio"),
    ("throttle_ratio", "throttled (% of attempts)", "ratio"),
    ("queues.q.age_of_oldest_max_s", "oldest message age, peak", "duration_s"),
    ("queues.q.in_flight_end", "in flight at the end", "number"),
    ("queues.q.wait_s.p50", "wait in queue p50", "duration_s"),
    ("billed_gb_s", "billed compute (GB-s)", "number"),
    ("requests_per_wall_s", "requests per wall-clock second", "number"),
    ("duration_s", "simulated time", "duration_s"),
    ("some_new_size_bytes", "some new size (bytes)", "number"),
    ("some_new_delay_ms", "some new delay", "duration_ms"),
    ("worker_fleets.w.utilisation_max", "utilisation, peak (% of workers)", "ratio"),
])
def test_labels_in_words_with_units(key, words, kind):
    assert label(key) == words
    assert kind_of(key) == kind


def test_value_text_by_kind():
    assert value_text("functions.a.throttle_ratio", 0.5) == "50.00 %"
    assert value_text("functions.a.latency_ms.p99", 810.0) == "810 ms"
    assert value_text("functions.a.latency_ms.max", 3534.51) == "3.53 s"
    assert value_text("functions.a.billed_duration_ms", 6842260) == "1 h 54 min"
    assert value_text("duration_s", 900.0) == "15 min"
    assert value_text("queues.q.sent", 71779) == "71,779"
    assert value_text("queues.q.type", "standard") == "standard"
