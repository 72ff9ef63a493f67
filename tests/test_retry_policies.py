"""AWS retry policies: the documented figures, the HTTP/S phases worked by hand, the limits."""

import math

import numpy as np
import pytest

from sim.messaging.retry_policies import (EB_CAP_S, backoff_delays, eventbridge_policy,
                                          sns_customer_managed_policy, sns_http_policy,
                                          sns_managed_policy, sns_policy_for)

DAY = 86400.0


def test_sns_managed_policy_100015_retries_over_23_days():
    p = sns_managed_policy()
    assert p.n_retries == 100_015
    assert len(p.segments) <= 15  # compact: never the 100,015-long array in the kernel
    assert 23 * DAY <= p.total_s() < 24 * DAY  # "over 23 days"
    d = p.delays()
    assert len(d) == 100_015
    assert list(d[:3]) == [0.0, 0.0, 0.0]  # immediate phase
    assert list(d[3:5]) == [1.0, 1.0]  # pre-backoff, 1 s apart
    backoff = d[5:15]
    assert backoff[0] == 1.0 and backoff[-1] == 20.0 and np.all(np.diff(backoff) > 0)
    assert np.all(d[15:] == 20.0)  # post-backoff, 100,000 at 20 s
    assert p.delay(1) == 0.0 and p.delay(15) == 20.0 and p.delay(100_015) == 20.0
    with pytest.raises(IndexError):
        p.delay(100_016)


def test_sns_customer_managed_policy_50_retries_over_6_hours():
    p = sns_customer_managed_policy()
    assert p.n_retries == 50
    assert list(p.delays()[:2]) == [10.0, 10.0]
    assert p.delays()[11] == 600.0 and np.all(p.delays()[12:] == 600.0)
    assert p.total_s() > 6 * 3600


def test_http_default_is_three_retries_20_s_apart():
    p = sns_http_policy()
    assert list(p.delays()) == [20.0, 20.0, 20.0]
    assert p.total_s() == 60.0
    assert sns_policy_for("https").segments == p.segments
    assert sns_policy_for("sqs").n_retries == 100_015
    assert sns_policy_for("email").n_retries == 50


def test_http_doc_example_max_delay_40_linear():
    """The SNS guide: max delay 40 s, rest default -> retries after 20, 30 and 40 s."""
    assert list(sns_http_policy(maxDelayTarget=40).delays()) == [20.0, 30.0, 40.0]


def test_http_four_phases_worked_by_hand():
    # 2 immediate, 1 at min, 3 backoff linear 10 -> 30, 2 at max: 8 retries
    p = sns_http_policy(minDelayTarget=10, maxDelayTarget=30, numRetries=8, numNoDelayRetries=2,
                        numMinDelayRetries=1, numMaxDelayRetries=2, backoffFunction="linear")
    assert list(p.delays()) == [0.0, 0.0, 10.0, 10.0, 20.0, 30.0, 30.0, 30.0]
    assert p.total_s() == 130.0
    assert [c for c, _, _ in p.phases] == [2, 1, 3, 2]


def test_backoff_functions_shapes():
    """All four run from min to max; linear is the straight line, the others stay below it
    (AWS's graph: min 5 s, max 260 s, 10 retries)."""
    lin = np.array(backoff_delays(10, 5, 260, "linear"))
    assert np.allclose(np.diff(lin), 255 / 9)
    for f in ("arithmetic", "geometric", "exponential"):
        d = np.array(backoff_delays(10, 5, 260, f))
        assert d[0] == 5.0 and d[-1] == 260.0
        assert np.all(np.diff(d) > 0)
        assert np.all(d[1:-1] < lin[1:-1])
    # arithmetic (quadratic) worked by hand: 5 + 255 (i/9)^2
    assert backoff_delays(10, 5, 260, "arithmetic")[3] == pytest.approx(5 + 255 * (3 / 9) ** 2)
    assert backoff_delays(1, 7, 9, "exponential") == [7.0]
    assert backoff_delays(4, 20, 20, "geometric") == [20.0] * 4


def test_real_world_policies_are_accepted():
    # from public templates: 100 retries 1..60 s exponential; 50 retries in four phases
    assert sns_http_policy(1, 60, 100, backoffFunction="exponential").total_s() < 3600
    p = sns_http_policy(1, 60, 50, 3, 2, 35, "exponential")
    assert p.n_retries == 50 and p.total_s() < 3600


@pytest.mark.parametrize("kwargs, field", [
    (dict(numRetries=101), "numRetries"),
    (dict(numRetries=-1), "numRetries"),
    (dict(minDelayTarget=0), "minDelayTarget"),
    (dict(minDelayTarget=30, maxDelayTarget=20), "minDelayTarget"),
    (dict(maxDelayTarget=3601), "maxDelayTarget"),
    (dict(minDelayTarget=2.5), "minDelayTarget"),
    (dict(numRetries=3, numNoDelayRetries=2, numMaxDelayRetries=2), "numNoDelayRetries + numMinDelayRetries"),
    (dict(numNoDelayRetries=-1), "numNoDelayRetries"),
    (dict(backoffFunction="cubic"), "backoffFunction"),
    (dict(minDelayTarget=100, maxDelayTarget=100, numRetries=40), "3600"),
])
def test_http_constraint_violations_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field.replace("+", r"\+")):
        sns_http_policy(**kwargs)


def test_eventbridge_default_185_retries_within_24_h():
    p = eventbridge_policy()
    assert p.n_retries == 185
    assert p.max_age_s == DAY
    d = p.delays()
    assert list(d[:10]) == [1, 2, 4, 8, 16, 32, 64, 128, 256, EB_CAP_S]
    assert np.all(d[9:] == EB_CAP_S)
    assert DAY - 3600 < p.total_s() <= DAY  # both limits bind together, as documented
    assert eventbridge_policy(0, 60).n_retries == 0
    assert list(eventbridge_policy(3, 60).delays()) == [1.0, 2.0, 4.0]


@pytest.mark.parametrize("kwargs, field", [
    (dict(maximum_retry_attempts=186), "MaximumRetryAttempts"),
    (dict(maximum_retry_attempts=-1), "MaximumRetryAttempts"),
    (dict(maximum_event_age_s=59), "MaximumEventAgeInSeconds"),
    (dict(maximum_event_age_s=86401), "MaximumEventAgeInSeconds"),
    (dict(maximum_retry_attempts=True), "MaximumRetryAttempts"),
])
def test_eventbridge_constraint_violations(kwargs, field):
    with pytest.raises(ValueError, match=field):
        eventbridge_policy(**kwargs)


def test_policy_arrays_match_delays():
    for p in (sns_managed_policy(), sns_http_policy(5, 40, 7, 1, 1, 1, "geometric"), eventbridge_policy()):
        counts, delays = p.arrays()
        assert counts.dtype == np.int64 and delays.dtype == np.float64
        assert np.array_equal(np.repeat(delays, counts), p.delays())
        assert math.isclose(float(np.dot(counts, delays)), p.total_s())
