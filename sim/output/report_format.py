"""How numbers, durations, ratios and summary keys are written for people, in the terminal and the report."""

from __future__ import annotations

import math
from typing import Any, Optional, Tuple

# Units from a day down, for durations of a minute and more.
_UNITS: Tuple[Tuple[str, str, float], ...] = (
    ("day", "days", 86400.0), ("h", "h", 3600.0), ("min", "min", 60.0), ("s", "s", 1.0))


def _sig(x: float, digits: int = 3) -> str:
    """`x` to `digits` significant digits, never in exponent form, trailing zeros dropped."""
    if x == 0:
        return "0"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(x)))))
    text = f"{x:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def duration_text(seconds: Any) -> str:
    """A duration as people write it: 0.25 -> '250 ms', 1000 -> '16 min 40 s', 3600 -> '1 h', 86400 -> '1 day'.

    Below a second: µs or ms to 3 significant digits; below a minute: seconds to 3 significant
    digits; from a minute on: the two largest units (days, h, min, s), the smaller one rounded,
    a zero part left out. None and NaN are '–'.
    """
    if seconds is None or isinstance(seconds, bool):
        return "–"
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return str(seconds)
    if math.isnan(s):
        return "–"
    if s < 0:
        return "-" + duration_text(-s)
    if math.isinf(s):
        return "∞"
    if s == 0:
        return "0 s"
    if s < 1e-3:
        us = float(_sig(s * 1e6))
        return f"{_sig(us)} µs" if us < 1000 else "1 ms"
    if s < 1:
        ms = float(_sig(s * 1e3))
        return f"{_sig(ms)} ms" if ms < 1000 else "1 s"
    if float(_sig(s)) < 60:
        return f"{_sig(s)} s"
    # The largest unit that fits, and the next one down as the rounding step.
    i = next(k for k, (_, _, size) in enumerate(_UNITS) if s >= size or k == len(_UNITS) - 1)
    step = _UNITS[min(i + 1, len(_UNITS) - 1)][2]
    rest = round(s / step) * step
    parts = []
    for single, plural, size in _UNITS:
        n = int(rest // size)
        if n and (not parts or size >= step) and len(parts) < 2:
            parts.append(f"{n:,} {single if n == 1 else plural}")
            rest -= n * size
        elif parts:
            break
    return " ".join(parts)


def number_text(value: Any) -> str:
    """A count or measure: integers with thousands separators, other numbers to 4 significant digits."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return "–"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    if abs(x) >= 1000:
        return f"{x:,.1f}"
    return _sig(x, 4)


def pct_text(ratio: Any, digits: int = 2) -> str:
    """A ratio in [0, 1] as a percentage: 0.0937 -> '9.37 %'; tiny non-zero ratios keep 2 significant digits."""
    if ratio is None:
        return "–"
    x = float(ratio)
    if math.isnan(x):
        return "–"
    p = 100.0 * x
    if p == 0:
        return "0 %"
    if abs(p) < 10 ** -digits:
        return f"{_sig(p, 2)} %"
    return f"{p:.{digits}f} %"


def usd_text(value: Any) -> str:
    """Money: '$1,462.13'; below a dollar, four significant digits ('$0.0081')."""
    if value is None:
        return "–"
    x = float(value)
    if math.isnan(x):
        return "–"
    if 0 < abs(x) < 1:
        text = _sig(x, 4)
        decimals = len(text.partition(".")[2])
        return f"${x:.2f}" if decimals < 2 else f"${text}"
    return f"${x:,.2f}"


# Words for summary keys (the last part of a dotted key); a key not listed is spelled out by
# `label`: underscores become spaces and a unit suffix moves into parentheses.
_WORDS = {
    "invocations": "invocations", "cold_starts": "cold starts", "throttles": "throttled attempts",
    "errors": "errors", "timeouts": "timeouts",
    "cold_start_ratio": "cold starts (% of invocations)",
    "throttle_ratio": "throttled (% of attempts)",
    "error_ratio": "errors (% of invocations)",
    "avg_instances": "environments, average", "avg_busy_instances": "busy environments, average",
    "max_concurrency": "concurrency, peak", "billed_gb_s": "billed compute (GB-s)",
    "billed_duration_ms": "billed duration", "provisioned_billed_duration_ms": "provisioned billed duration",
    "spillover_invocations": "invocations beyond provisioned", "sync_failures": "failed synchronous calls",
    "async_dropped": "asynchronous events dropped",
    "sent": "sent", "redriven_in": "moved in from a source queue (redrive)", "received": "received",
    "deleted": "deleted", "dead_lettered": "moved to the dead-letter queue", "expired": "expired (retention)",
    "visible_end": "visible at the end", "delayed_end": "delayed at the end",
    "in_flight_end": "in flight at the end", "empty_receives": "empty receives", "stale_deletes": "stale deletes",
    "requests": "API requests", "visible_max": "visible, peak", "visible_avg": "visible, average",
    "age_of_oldest_max_s": "oldest message age, peak",
    "batches_invoked": "batches invoked", "batches_throttled": "batches throttled",
    "max_concurrent_batches": "concurrent batches, peak", "pollers_max": "pollers, peak",
    "pollers_end": "pollers at the end",
    "published": "published", "delivered": "delivered", "filtered_out": "filtered out", "failed": "failed",
    "notifications_failed": "failed delivery attempts", "pending_end": "pending at the end",
    "attempts": "delivery attempts", "put": "events put", "throttled": "throttled",
    "batches": "receive batches", "messages": "messages processed", "max_busy_workers": "busy workers, peak",
    "utilisation_max": "utilisation, peak (% of workers)", "entries": "entries put", "matched": "events matched",
    "put_throttled": "PutEvents throttled",
    "flows": "flows", "accepted": "accepted", "rejected": "rejected", "bytes_accepted": "bytes accepted",
    "flow_log_records": "flow log records",
    "scenario": "scenario", "seed": "seed", "duration_s": "simulated time", "wall_s": "wall-clock time",
    "requests_simulated": "requests simulated", "requests_per_wall_s": "requests per wall-clock second",
    "type": "type",
}
_STATS = {"mean": "mean", "p50": "p50", "p90": "p90", "p99": "p99", "p999": "p99.9", "max": "max",
          "min": "min"}
_GROUPS = {"latency_ms": "latency", "completion_ms": "completion", "init_ms": "cold start (init) time",
           "wait_s": "wait in queue", "duration_ms": "duration"}
_SUFFIXES = (("_ms", "ms"), ("_s", "s"), ("_bytes", "bytes"), ("_usd", "USD"), ("_gb", "GB"), ("_mb", "MB"),
             ("_per_s", "per s"))


def kind_of(key: str) -> str:
    """How the value at dotted summary `key` is shown: 'ratio' (as %), 'duration_s', 'duration_ms' or 'number'."""
    last = key.rsplit(".", 1)[-1]
    parts = key.split(".")
    if last.endswith(("_ratio", "_ratio_max")) or last.startswith("utilisation"):
        return "ratio"
    if "_per_" in last or last.endswith("gb_s"):  # a rate, or GB-seconds
        return "number"
    if last.endswith("_s"):
        return "duration_s"
    if last.endswith("_ms") or (len(parts) > 1 and parts[-2].endswith("_ms") and last in _STATS):
        return "duration_ms"
    if len(parts) > 1 and parts[-2].endswith("_s") and last in _STATS:
        return "duration_s"
    return "number"


def value_text(key: str, value: Any) -> str:
    """The value at dotted summary `key` as a person reads it (ratios in %, durations in words)."""
    if value is None or isinstance(value, str):
        return "–" if value is None else value
    kind = kind_of(key)
    if kind == "ratio":
        return pct_text(value)
    if kind == "duration_s":
        return duration_text(value)
    if kind == "duration_ms":
        return duration_text(None if value is None else float(value) / 1000.0)
    return number_text(value)


def label(key: str) -> str:
    """Words for dotted summary `key`: 'latency_ms.p99' -> 'latency p99', 'cold_start_ratio' -> 'cold starts (% of invocations)'."""
    parts = key.split(".")
    last = parts[-1]
    if len(parts) > 1 and parts[-2] in _GROUPS and last in _STATS:
        return f"{_GROUPS[parts[-2]]} {_STATS[last]}"
    if last in _WORDS:
        return _WORDS[last]
    text = last
    unit: Optional[str] = None
    for suffix, name in _SUFFIXES:
        if text.endswith(suffix):
            text, unit = text[: -len(suffix)], name
            break
    text = text.replace("_", " ")
    return f"{text} ({unit})" if unit and kind_of(key) == "number" else text
