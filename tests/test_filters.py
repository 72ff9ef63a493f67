"""Properties of the SNS and EventBridge matchers, the build-time table, and every error."""

import ipaddress

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.messaging.filters import EventPattern, FilterPolicy, match_table, policy_combinations

FIELDS = ["a", "b", "c"]
words = st.text(alphabet="abAB.-", max_size=4)
numbers = st.one_of(st.integers(-20, 20), st.floats(-20, 20, allow_nan=False).map(
    lambda x: round(x, 2)))
leaf = st.one_of(words, numbers, st.none(), st.booleans())
event_value = st.one_of(leaf, st.lists(leaf, max_size=3))
condition = st.one_of(
    words,
    numbers,
    st.none(),
    words.map(lambda s: {"prefix": s}),
    words.map(lambda s: {"suffix": s}),
    words.map(lambda s: {"equals-ignore-case": s}),
    words.map(lambda s: {"anything-but": s}),
    st.lists(words, min_size=1, max_size=2).map(lambda s: {"anything-but": s}),
    numbers.map(lambda n: {"numeric": [">=", n]}),
    st.booleans().map(lambda b: {"exists": b}),
)
flat_pattern = st.dictionaries(st.sampled_from(FIELDS), st.lists(condition, min_size=1,
                                                                 max_size=3),
                               min_size=1, max_size=3)
events = st.dictionaries(st.sampled_from(FIELDS + ["d"]), event_value, max_size=4)


@settings(max_examples=300, deadline=None)
@given(pattern=flat_pattern, event=events, value=event_value)
def test_field_absent_from_pattern_matches_anything(pattern, event, value):
    absent = next(f for f in FIELDS + ["d"] if f not in pattern)
    m = EventPattern(pattern)
    assert m.matches({**event, absent: value}) == m.matches({k: v for k, v in event.items()
                                                             if k != absent})
    p = FilterPolicy(pattern, "MessageBody")
    assert p.matches({**event, absent: value}) == p.matches({k: v for k, v in event.items()
                                                             if k != absent})


@settings(max_examples=300, deadline=None)
@given(x=words, v=words)
def test_anything_but_negates_exact_on_present_strings(x, v):
    for make in (EventPattern, FilterPolicy):
        yes = make({"k": [x]}).matches({"k": v})
        assert make({"k": [{"anything-but": [x]}]}).matches({"k": v}) == (not yes)


@settings(max_examples=300, deadline=None)
@given(a=flat_pattern, b=flat_pattern, event=events)
def test_or_matches_iff_either_matches(a, b, event):
    either = EventPattern(a).matches(event) or EventPattern(b).matches(event)
    assert EventPattern({"$or": [a, b]}).matches(event) == either
    attrs = {k: v for k, v in event.items() if v is not None}
    sns_either = FilterPolicy(a).matches(attrs) or FilterPolicy(b).matches(attrs)
    assert FilterPolicy({"$or": [a, b]}).matches(attrs) == sns_either


@settings(max_examples=200, deadline=None)
@given(a=flat_pattern, b=flat_pattern, event=events)
def test_fields_are_anded(a, b, event):
    only_b = {k: v for k, v in b.items() if k not in a}
    both = EventPattern({**a, **only_b}).matches(event)
    assert both == (EventPattern(a).matches(event) and (not only_b or
                                                        EventPattern(only_b).matches(event)))


@settings(max_examples=200, deadline=None)
@given(p=words, v=words)
def test_caseless_prefix_and_suffix(p, v):
    pre = EventPattern({"k": [{"prefix": {"equals-ignore-case": p}}]})
    suf = EventPattern({"k": [{"suffix": {"equals-ignore-case": p}}]})
    assert pre.matches({"k": v}) == v.lower().startswith(p.lower())
    assert suf.matches({"k": v}) == v.lower().endswith(p.lower())


@settings(max_examples=200, deadline=None)
@given(lo=st.integers(-50, 50), width=st.integers(1, 50), v=numbers)
def test_numeric_range_is_the_and_of_its_bounds(lo, width, v):
    hi = lo + width
    both = FilterPolicy({"n": [{"numeric": [">", lo, "<=", hi]}]}).matches({"n": v})
    assert both == (FilterPolicy({"n": [{"numeric": [">", lo]}]}).matches({"n": v})
                    and FilterPolicy({"n": [{"numeric": ["<=", hi]}]}).matches({"n": v}))
    assert both == (lo < v <= hi)


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="ab/.", max_size=6), v=st.text(alphabet="ab/.", max_size=6))
def test_wildcard_without_star_is_exact_and_star_is_anything(text, v):
    assert EventPattern({"k": [{"wildcard": text}]}).matches({"k": v}) == (text == v)
    assert EventPattern({"k": [{"wildcard": "*"}]}).matches({"k": v})


@settings(max_examples=200, deadline=None)
@given(addr=st.integers(0, 2**32 - 1), prefix=st.integers(8, 32), probe=st.integers(0, 2**32 - 1))
def test_cidr_is_network_membership(addr, prefix, probe):
    net = ipaddress.ip_network((addr, prefix), strict=False)
    ip = str(ipaddress.ip_address(probe))
    assert EventPattern({"ip": [{"cidr": str(net)}]}).matches({"ip": ip}) == (
        ipaddress.ip_address(probe) in net)


@settings(max_examples=100, deadline=None)
@given(patterns=st.lists(flat_pattern, min_size=1, max_size=4),
       classes=st.lists(events, min_size=1, max_size=5))
def test_match_table_is_matches_per_class(patterns, classes):
    ms = [EventPattern(p) for p in patterns] + [None]
    table = EventPattern.match_table(ms, classes)
    assert table.shape == (len(classes), len(ms)) and table.dtype == np.bool_
    for i, c in enumerate(classes):
        assert table[i].tolist() == [m.matches(c) for m in ms[:-1]] + [True]


def test_match_table_for_subscriptions_on_attribute_classes():
    classes = [{"kind": "created"}, {"kind": "updated"}, {}]
    subs = [FilterPolicy({"kind": ["created"]}), FilterPolicy({"kind": [{"exists": False}]}),
            None]
    assert match_table(subs, classes).tolist() == [[True, False, True],
                                                   [False, False, True],
                                                   [False, True, True]]


def test_plain_and_wire_attributes_agree():
    policy = FilterPolicy({"tags": ["x"], "n": [{"numeric": [">", 1]}], "s": ["1"]})
    plain = {"tags": ["y", "x"], "n": 2, "s": "1"}
    wire = {"tags": {"Type": "String.Array", "Value": '["y", "x"]'},
            "n": {"Type": "Number", "Value": "2"}, "s": {"Type": "String", "Value": "1"}}
    assert policy.matches(plain) and policy.matches(wire)
    assert not FilterPolicy({"s": [1]}).matches(wire)  # a number never equals a String
    assert FilterPolicy({"n": [2]}).matches(wire)      # SNS compares numbers by value


def test_eventbridge_exact_numbers_have_no_numeric_range():
    """Exact numbers compare by text in EventBridge, so epoch milliseconds are fine."""
    assert EventPattern({"t": [1700000000000]}).matches({"t": 1700000000000})
    assert not EventPattern({"t": [1700000000000]}).matches({"t": 1700000000001})


def test_body_given_as_json_text():
    assert FilterPolicy({"a": {"b": ["c"]}}, "MessageBody").matches('{"a": {"b": "c"}}')
    assert EventPattern('{"a": ["b"]}').matches('{"a": "b"}')


# ---------------------------------------------------------------- validation errors ----
@pytest.mark.parametrize("make, pattern, message", [
    pytest.param(FilterPolicy, {"a": [{"contains": "x"}]},
                 "a[0]: unknown operator 'contains'; allowed: prefix, suffix, "
                 "equals-ignore-case, wildcard, anything-but, numeric, exists, cidr",
                 id="unknown operator"),
    pytest.param(EventPattern, {"detail": {"state": [{"regex": "x"}]}},
                 "detail.state[0]: unknown operator 'regex'", id="unknown operator path"),
    pytest.param(FilterPolicy, {"p": [{"numeric": [">", 10, "<=", 5]}]},
                 "p[0].numeric: the lower bound 10 must be below the upper bound 5",
                 id="range lower > upper"),
    pytest.param(FilterPolicy, {"p": [{"numeric": [">", 5, "<", 5]}]},
                 "p[0].numeric: the lower bound 5 must be below", id="empty range"),
    pytest.param(FilterPolicy, {"p": [{"numeric": ["<", 5, ">", 1]}]},
                 "p[0].numeric: a range is", id="range in wrong order"),
    pytest.param(FilterPolicy, {"p": [{"numeric": ["!=", 5]}]},
                 "p[0].numeric[0]: unknown comparison '!='", id="unknown comparison"),
    pytest.param(FilterPolicy, {"p": [{"numeric": [">", 5, "<"]}]},
                 "p[0].numeric: must be", id="numeric wrong length"),
    pytest.param(EventPattern, {"d": {"x": [{"numeric": [">", "5"]}]}},
                 "d.x[0].numeric[1]: must be a number, got '5'", id="numeric not a number"),
    pytest.param(EventPattern, {"x": [{"numeric": [">", 6e9]}]},
                 "x[0].numeric[1]: EventBridge numbers lie within", id="EB numeric range"),
    pytest.param(FilterPolicy, {"a": [str(i) for i in range(10)],
                                "b": [str(i) for i in range(16)]},
                 "a, b: the policy has 160 value combinations; at most 150 are allowed",
                 id="too many combinations"),
    pytest.param(FilterPolicy, {k: ["v"] for k in "abcdef"},
                 "a, b, c, d, e, f: a filter policy has at most 5 keys", id="too many keys"),
    pytest.param(FilterPolicy, {"a": {"b": ["c"]}},
                 "a: nested policies need scope MessageBody", id="nested attribute policy"),
    pytest.param(EventPattern, {"source": []}, "source: an empty list matches nothing",
                 id="empty list"),
    pytest.param(EventPattern, {"detail": {"state": "running"}},
                 "detail.state: must be a list of values or an object", id="scalar value"),
    pytest.param(EventPattern, {"a": [{"prefix": "x", "suffix": "y"}]},
                 "a[0]: an operator object has exactly one key", id="two operators"),
    pytest.param(EventPattern, {"a": [["x"]]}, "a[0]: a value must be a string",
                 id="nested list"),
    pytest.param(EventPattern, {"a": [{"exists": "yes"}]},
                 "a[0].exists: must be true or false", id="exists not bool"),
    pytest.param(EventPattern, {"ip": [{"cidr": "10.0.0.300/24"}]},
                 "ip[0].cidr: not an IPv4 or IPv6 network", id="bad cidr"),
    pytest.param(EventPattern, {"f": [{"wildcard": "a**b"}]},
                 "f[0].wildcard: consecutive '*' are not allowed", id="wildcard **"),
    pytest.param(EventPattern, {"f": [{"wildcard": "a\\b"}]},
                 "f[0].wildcard: a backslash may only escape", id="wildcard bad escape"),
    pytest.param(EventPattern, {"f": [{"anything-but": {"wildcard": "a**"}}]},
                 "f[0].anything-but.wildcard: consecutive '*'", id="anything-but wildcard"),
    pytest.param(EventPattern, {"s": [{"anything-but": ["a", 1]}]},
                 "s[0].anything-but: must be a string, a number, a list of only strings or "
                 "only numbers", id="anything-but mixed"),
    pytest.param(EventPattern, {"s": [{"anything-but": []}]},
                 "s[0].anything-but: an empty list excludes nothing", id="anything-but empty"),
    pytest.param(EventPattern, {"s": [{"anything-but": {"numeric": [">", 1]}}]},
                 "s[0].anything-but: an object here has one key of", id="anything-but object"),
    pytest.param(EventPattern, {"s": [{"prefix": 5}]},
                 "s[0].prefix: must be a string or", id="prefix not string"),
    pytest.param(EventPattern, {"s": [{"equals-ignore-case": None}]},
                 "s[0].equals-ignore-case: must be a string", id="equals-ignore-case null"),
    pytest.param(EventPattern, ["source"], "pattern: must be a JSON object", id="not object"),
    pytest.param(EventPattern, {"$or": [{"a": ["x"]}, "b"]},
                 "$or: $or takes a list of at least two pattern objects", id="$or malformed"),
    pytest.param(EventPattern, {"$or": [{"a": ["x"]}]},
                 "$or: $or takes a list of at least two", id="$or with one object"),
    pytest.param(EventPattern, "{not json", "pattern: not valid JSON", id="bad JSON"),
])
def test_invalid_patterns_raise_with_path(make, pattern, message):
    with pytest.raises(ValueError) as e:
        make(pattern)
    assert message in str(e.value)


def test_bad_scope_raises():
    with pytest.raises(ValueError, match="scope: must be one of"):
        FilterPolicy({"a": ["b"]}, scope="Body")


def test_bad_message_attribute_raises():
    with pytest.raises(ValueError, match="attribute 'a': unknown Type 'Blob'"):
        FilterPolicy({"a": ["b"]}).matches({"a": {"Type": "Blob", "Value": "x"}})
    with pytest.raises(ValueError, match="attribute 'n': Number holds a number"):
        FilterPolicy({"n": [1]}).matches({"n": {"Type": "Number", "Value": '"x"'}})


def test_policy_combinations_validates_first():
    with pytest.raises(ValueError, match="unknown operator"):
        policy_combinations({"a": [{"nope": 1}]})
