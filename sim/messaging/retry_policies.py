"""AWS delivery retry policies as compact schedules of retry delays (pure Python + numpy).

A policy is a run-length list of `(count, delay_s)` segments: retry k (1-based) waits the
delay of the segment it falls in, counted from the previous attempt. The fan-out kernels
(`kernels/fanout.py`) read the segments, never an expanded array, so the SNS managed policy
(100,015 retries) costs 15 segments per subscription.

Sources
-------
SNS, https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html
  (table "Delivery protocols and policies"; "Delivery policy stages"; "Creating an HTTP/S
  delivery policy") and its older form, awsdocs/amazon-sns-developer-guide
  doc_source/DeliveryPolicies.md:
  - AWS managed endpoints (SQS, Lambda): 3 retries without delay, 2 one second apart, 10 with
    exponential backoff from 1 s to 20 s, 100,000 twenty seconds apart: 100,015 over 23 days.
    (The page calls the sum "total attempts"; its phases are all retries, so we model
    100,015 retries after the first attempt.)
  - Customer managed endpoints (SMTP, SMS, mobile push): 0 without delay, 2 ten seconds
    apart, 10 backing off from 10 s to 600 s, 38 at 600 s: 50 retries, over 6 hours.
  - HTTP/S: four phases. Immediate (`numNoDelayRetries`, no delay), pre-backoff
    (`numMinDelayRetries` at `minDelayTarget`), backoff (the rest of `numRetries`, the first
    at `minDelayTarget`, the last at `maxDelayTarget`, the ones between from
    `backoffFunction`), post-backoff (`numMaxDelayRetries` at `maxDelayTarget`). Default:
    3 retries, 20 s apart, linear. Worked example on the page: max 40 s, rest default ->
    retries after 20 s, 30 s, 40 s. numRetries 0-100; total policy time <= 3,600 s (hard).
    Bounds on the targets from AWS CDK (aws-sns DeliveryPolicy, which AWS maintains): whole
    seconds, 1 <= minDelayTarget <= maxDelayTarget <= 3,600; phase counts >= 0.
  - "Amazon SNS applies jittering to delivery retries" (no formula given): we model the
    delays **deterministically** (no jitter) and say so; see the open points in FANOUT_SPEC.
EventBridge, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html and
  API_RetryPolicy: retries "for 24 hours and up to 185 times with an exponential back off
  and jitter, or randomized delay"; MaximumRetryAttempts 0-185, MaximumEventAgeInSeconds
  60-86,400. No formula is published. **Our model**: delays double from 1 s (1, 2, ..., 256)
  and then stay at 488 s, the cap for which the 185 retries of the default policy end at
  86,399 s, just inside 24 h (511 + 176 x 488); deterministic, no jitter.

Backoff functions
-----------------
AWS draws the four SNS curves (linear, arithmetic, geometric, exponential) in a graph but gives
no formulas. We use those of Comcast CMB (an open SNS-compatible service,
src/com/comcast/cns/util/Util.java, getNextRetryDelay), without its truncation to whole
seconds. For the i-th of n backoff retries (i = 1..n), lo = min delay, hi = max delay:
  linear       lo + (hi - lo)(i - 1)/(n - 1)
  arithmetic   lo + (hi - lo)((i - 1)/(n - 1))^2                      (quadratic)
  geometric    x^(i-1) + lo - 1,          x = (hi - lo + 1)^(1/(n-1))
  exponential  a e^(i-1) + lo - a,        a = (hi - lo)/(e^(n-1) - 1)
All start at lo and end at hi (forced exactly), all but linear stay below the line, as in
AWS's graph. With n = 1 the one backoff retry waits lo. The SNS managed policy's
"exponential backoff from 1 second to 20 seconds" uses the same `exponential`, so the
module has one definition of each function: delays 1.00, 1.00, 1.02, 1.05, 1.13, 1.35,
1.94, 3.57, 7.99, 20 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kernels.fanout import RetrySchedule
from scenarios.messaging import (  # AWS's limits, one definition for schema and policies
    EB_MAX_EVENT_AGE_S,
    EB_MIN_EVENT_AGE_S,
    SNS_DELAY_TARGET_MAX_S,
    SNS_HTTP_MAX_RETRIES,
    SNS_HTTP_MAX_TOTAL_S,
)
from scenarios.messaging import EB_MAX_RETRIES as EB_MAX_RETRY_ATTEMPTS

BACKOFF_FUNCTIONS = ("linear", "arithmetic", "geometric", "exponential")
EB_FIRST_DELAY_S = 1.0
EB_DOUBLINGS = 9  # 1, 2, 4, ..., 256 s
EB_CAP_S = 488.0  # (86,400 - 511) // 176: the default's 185 retries end at 86,399 s

SNS_DOC = "https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html"
EB_DOC = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html"


@dataclass(frozen=True)
class RetryPolicy(RetrySchedule):
    """Retry delays as run-length segments, plus an optional maximum event age: the kernel's
    `kernels.fanout.RetrySchedule`, with how AWS states the policy and where.

    `segments[i] = (count, delay_s)`: `count` consecutive retries, each `delay_s` after the
    previous attempt. `phases` describes the policy as AWS states it: `(count, kind, params)`.
    A retry that would start more than `max_age_s` after the first attempt is not made
    (EventBridge's MaximumEventAgeInSeconds; infinite for SNS).
    """

    phases: tuple[tuple[int, str, tuple], ...] = ()
    source: str = ""

    @property
    def n_retries(self) -> int:
        return sum(c for c, _ in self.segments)

    def delay(self, k: int) -> float:
        """Delay (s) of retry k (1-based) after the attempt before it."""
        if not 1 <= k <= self.n_retries:
            raise IndexError(f"retry {k}: the policy has retries 1..{self.n_retries}")
        for c, d in self.segments:
            if k <= c:
                return d
            k -= c
        raise AssertionError("unreachable")

    def delays(self) -> np.ndarray:
        """All retry delays as one array (long for the SNS managed policy: 100,015)."""
        return np.repeat(np.array([d for _, d in self.segments], np.float64),
                         np.array([c for c, _ in self.segments], np.int64))

    def total_s(self) -> float:
        """Time from the first attempt to the last retry, if every attempt fails."""
        return math.fsum(c * d for c, d in self.segments)


def _segments(delays_runs) -> tuple[tuple[int, float], ...]:
    """Merge (count, delay) runs: drop empty runs, join equal neighbours."""
    out: list[list] = []
    for c, d in delays_runs:
        if c <= 0:
            continue
        d = float(d)
        if out and out[-1][1] == d:
            out[-1][0] += c
        else:
            out.append([int(c), d])
    return tuple((c, d) for c, d in out)


def backoff_delays(n: int, lo: float, hi: float, function: str) -> list[float]:
    """Delays of the n retries of a backoff phase from `lo` to `hi` (module docstring)."""
    f = function.lower()
    if f not in BACKOFF_FUNCTIONS:
        raise ValueError(f"backoffFunction: must be one of {', '.join(BACKOFF_FUNCTIONS)}, got {function!r}")
    if n <= 0:
        return []
    if n == 1:
        return [float(lo)]
    lo, hi = float(lo), float(hi)
    out = []
    for i in range(1, n + 1):
        if f == "linear":
            d = lo + (hi - lo) * (i - 1) / (n - 1)
        elif f == "arithmetic":
            d = lo + (hi - lo) * ((i - 1) / (n - 1)) ** 2
        elif f == "geometric":
            x = (hi - lo + 1.0) ** (1.0 / (n - 1))
            d = x ** (i - 1) + lo - 1.0
        else:
            a = (hi - lo) / math.expm1(n - 1)
            d = a * math.exp(i - 1) + lo - a
        out.append(d)
    out[0], out[-1] = lo, hi
    return out


def sns_managed_policy() -> RetryPolicy:
    """SNS to AWS managed endpoints (SQS, Lambda): 100,015 retries over ~23 days."""
    phases = ((3, "immediate", ()), (2, "fixed", (1.0,)), (10, "exponential", (1.0, 20.0)),
              (100_000, "fixed", (20.0,)))
    runs = [(3, 0.0), (2, 1.0), *((1, d) for d in backoff_delays(10, 1.0, 20.0, "exponential")),
            (100_000, 20.0)]
    return RetryPolicy(_segments(runs), phases=phases, source=SNS_DOC)


def sns_customer_managed_policy() -> RetryPolicy:
    """SNS to customer managed endpoints (SMTP/email, SMS, mobile push): 50 retries, > 6 h."""
    phases = ((0, "immediate", ()), (2, "fixed", (10.0,)), (10, "exponential", (10.0, 600.0)),
              (38, "fixed", (600.0,)))
    runs = [(2, 10.0), *((1, d) for d in backoff_delays(10, 10.0, 600.0, "exponential")), (38, 600.0)]
    return RetryPolicy(_segments(runs), phases=phases, source=SNS_DOC)


def _check_int(name: str, value, lo: int, hi: int | None, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name}: must be a whole number {what}, got {value!r}")
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        rng = f"{lo} to {hi}" if hi is not None else f"at least {lo}"
        raise ValueError(f"{name}: must be {rng} {what}, got {value}")
    return value


def sns_http_policy(minDelayTarget=20, maxDelayTarget=20, numRetries=3, numNoDelayRetries=0,
                    numMinDelayRetries=0, numMaxDelayRetries=0, backoffFunction="linear") -> RetryPolicy:
    """An SNS HTTP/S delivery policy (`healthyRetryPolicy`), checked as AWS checks it.

    Phases in order: numNoDelayRetries at 0 s; numMinDelayRetries at minDelayTarget; the
    remaining numRetries - (the three) in backoff from minDelayTarget to maxDelayTarget;
    numMaxDelayRetries at maxDelayTarget. Defaults: AWS's (3 retries, 20 s, linear).
    """
    lo = _check_int("minDelayTarget", minDelayTarget, 1, SNS_DELAY_TARGET_MAX_S, "of seconds")
    hi = _check_int("maxDelayTarget", maxDelayTarget, 1, SNS_DELAY_TARGET_MAX_S, "of seconds")
    if lo > hi:
        raise ValueError(f"minDelayTarget: must not exceed maxDelayTarget ({hi} s), got {lo} s")
    n = _check_int("numRetries", numRetries, 0, SNS_HTTP_MAX_RETRIES, "of retries")
    n0 = _check_int("numNoDelayRetries", numNoDelayRetries, 0, None, "of retries")
    n1 = _check_int("numMinDelayRetries", numMinDelayRetries, 0, None, "of retries")
    n3 = _check_int("numMaxDelayRetries", numMaxDelayRetries, 0, None, "of retries")
    if n0 + n1 + n3 > n:
        raise ValueError(f"numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries: must not "
                         f"exceed numRetries ({n}), got {n0} + {n1} + {n3} = {n0 + n1 + n3}")
    fn = str(backoffFunction).lower()
    if fn not in BACKOFF_FUNCTIONS:
        raise ValueError(f"backoffFunction: must be one of {', '.join(BACKOFF_FUNCTIONS)}, "
                         f"got {backoffFunction!r}")
    n2 = n - n0 - n1 - n3
    runs = [(n0, 0.0), (n1, float(lo)), *((1, d) for d in backoff_delays(n2, lo, hi, fn)), (n3, float(hi))]
    policy = RetryPolicy(_segments(runs), source=SNS_DOC,
                         phases=((n0, "immediate", ()), (n1, "fixed", (float(lo),)),
                                 (n2, fn, (float(lo), float(hi))), (n3, "fixed", (float(hi),))))
    total = policy.total_s()
    if total > SNS_HTTP_MAX_TOTAL_S:
        raise ValueError(f"delivery policy: the retries take {total:g} s in all; SNS allows at most "
                         f"{SNS_HTTP_MAX_TOTAL_S} s for an HTTP/S policy (hard limit)")
    return policy


def sns_policy_for(protocol: str) -> RetryPolicy:
    """The policy SNS applies to a protocol by default."""
    p = protocol.lower()
    if p in ("sqs", "lambda", "firehose"):
        return sns_managed_policy()
    if p in ("http", "https"):
        return sns_http_policy()
    if p in ("email", "email-json", "sms", "application"):
        return sns_customer_managed_policy()
    raise ValueError(f"protocol: must be one of sqs, lambda, firehose, http, https, email, "
                     f"email-json, sms, application, got {protocol!r}")


def eventbridge_policy(maximum_retry_attempts=EB_MAX_RETRY_ATTEMPTS,
                       maximum_event_age_s=EB_MAX_EVENT_AGE_S) -> RetryPolicy:
    """An EventBridge target RetryPolicy: our deterministic model of its backoff (module doc).

    At most `maximum_retry_attempts` retries; a retry that would start more than
    `maximum_event_age_s` after the event's first attempt is not made.
    """
    n = _check_int("MaximumRetryAttempts", maximum_retry_attempts, 0, EB_MAX_RETRY_ATTEMPTS, "of retries")
    age = _check_int("MaximumEventAgeInSeconds", maximum_event_age_s, EB_MIN_EVENT_AGE_S,
                     EB_MAX_EVENT_AGE_S, "of seconds")
    k = min(n, EB_DOUBLINGS)
    runs = [*((1, EB_FIRST_DELAY_S * 2.0**i) for i in range(k)), (n - k, EB_CAP_S)]
    return RetryPolicy(_segments(runs), max_age_s=float(age), source=EB_DOC,
                       phases=((k, "doubling", (EB_FIRST_DELAY_S,)), (n - k, "fixed", (EB_CAP_S,))))
