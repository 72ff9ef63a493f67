"""The examples in AWS's documentation of SNS filter policies and EventBridge event patterns.

Every row carries the URL of the page it comes from. Rows marked `derived` use a policy or
pattern from the page with a message the page does not show; their outcome follows the rule
the page states, quoted or paraphrased in the comment. All other rows are the page's own
policy, message and documented match / no-match.
"""

import json

import pytest

from sim.messaging.filters import EventPattern, FilterPolicy, policy_combinations

ATTR, BODY = "MessageAttributes", "MessageBody"

SNS = "https://docs.aws.amazon.com/sns/latest/dg/"
EXAMPLES = SNS + "example-filter-policies.html"
STRING = SNS + "string-value-matching.html"
NUMERIC = SNS + "numeric-value-matching.html"
KEYS = SNS + "attribute-key-matching.html"
ANDOR = SNS + "and-or-logic.html"
CONSTRAINTS = SNS + "subscription-filter-policy-constraints.html"

EB = "https://docs.aws.amazon.com/eventbridge/latest/userguide/"
PATTERNS = EB + "eb-event-patterns.html"
SYNTAX = EB + "eb-create-pattern.html"
NULLS = EB + "eb-event-patterns-null-values.html"
ARRAYS = EB + "eb-event-patterns-arrays.html"
OPERATORS = EB + "eb-create-pattern-operators.html"
RULER = "https://github.com/aws/event-ruler/blob/main/README.md"  # the engine EventBridge runs


def S(value):
    """A String message attribute in SNS wire form."""
    return {"Type": "String", "Value": value}


def N(value):
    """A Number message attribute in SNS wire form."""
    return {"Type": "Number", "Value": value}


def SA(values):
    """A String.Array message attribute in SNS wire form."""
    return {"Type": "String.Array", "Value": json.dumps(values)}


def sns(case_id, url, policy, message, expected, scope=ATTR):
    return pytest.param(url, policy, scope, message, expected, id=case_id)


# ---------------------------------------------------------------- SNS -------------------
EX_ATTRS = {  # the example message's MessageAttributes (EXAMPLES)
    "customer_interests": SA(["soccer", "rugby", "hockey"]),
    "store": S("example_corp"),
    "event": S("order_placed"),
    "price_usd": N("210.75"),
}
EX_BODY = {"customer_interests": ["soccer", "rugby", "hockey"], "store": "example_corp",
           "event": "order_placed", "price_usd": 210.75}  # the same as message body (EXAMPLES)
EX_ACCEPT = {"store": ["example_corp"], "event": [{"anything-but": "order_cancelled"}],
             "customer_interests": ["rugby", "football", "baseball"],
             "price_usd": [{"numeric": [">=", 100]}]}
EX_REJECT = {"store": ["example_corp"], "event": ["order_cancelled"], "encrypted": [False],
             "customer_interests": ["basketball", "baseball"]}

CI = "customer_interests"
EXACT = {CI: ["rugby", "tennis"]}
BUT = {CI: [{"anything-but": ["rugby", "tennis"]}]}
BUT_PREFIX = {"event": [{"anything-but": {"prefix": "order-"}}]}
BUT_WILD = {CI: [{"anything-but": {"wildcard": "*ball"}}]}
BUT_SUFFIX = {CI: [{"anything-but": {"suffix": "ball"}}]}
CASELESS = {CI: [{"equals-ignore-case": "tennis"}]}
CIDR = {"source_ip": [{"cidr": "10.0.0.0/24"}]}
PREFIX = {CI: [{"prefix": "bas"}]}
SUFFIX = {CI: [{"suffix": "ball"}]}
WILD = {CI: [{"wildcard": "*ball"}]}
NUM_EQ = {"price_usd": [{"numeric": ["=", 301.5]}]}
NUM_BUT = {"price": [{"anything-but": [100, 500]}]}
NEGATIVE = {"price_usd": [{"numeric": ["<", 0]}]}
RANGE = {"price_usd": [{"numeric": [">", 0, "<=", 150]}]}
HAS_STORE = {"store": [{"exists": True}]}
NO_STORE = {"store": [{"exists": False}]}
FANS = {"store": S("fans"), CI: SA(["baseball", "basketball"])}
NO_FANS = {CI: SA(["baseball", "basketball"])}
AND = {CI: ["rugby"], "price_usd": [{"numeric": [">", 100]}]}
OR_VALUES = {CI: ["rugby", "football", "baseball"]}
OR_OP = {"source": ["aws.cloudwatch"],
         "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]}

SNS_CASES = [
    # EXAMPLES: "A policy that accepts the example message" / "... rejects the example message"
    sns("examples: accepting policy, attributes", EXAMPLES, EX_ACCEPT, EX_ATTRS, True),
    sns("examples: rejecting policy, attributes", EXAMPLES, EX_REJECT, EX_ATTRS, False),
    # derived: the page shows the same message as a body; the same policies apply to it
    sns("examples: accepting policy, body", EXAMPLES, EX_ACCEPT, EX_BODY, True, BODY),
    sns("examples: rejecting policy, body", EXAMPLES, EX_REJECT, EX_BODY, False, BODY),
    # STRING, "Exact matching"
    sns("string exact: rugby", STRING, EXACT, {CI: S("rugby")}, True),
    sns("string exact: tennis", STRING, EXACT, {CI: S("tennis")}, True),
    sns("string exact: String.Array rugby,tennis", STRING, EXACT,
        {CI: SA(["rugby", "tennis"])}, True),
    sns("string exact: body rugby", STRING, EXACT, {CI: "rugby"}, True, BODY),
    sns("string exact: body tennis", STRING, EXACT, {CI: "tennis"}, True, BODY),
    sns("string exact: baseball", STRING, EXACT, {CI: S("baseball")}, False),
    sns("string exact: String.Array baseball", STRING, EXACT, {CI: SA(["baseball"])}, False),
    sns("string exact: body baseball", STRING, EXACT, {CI: "baseball"}, False, BODY),
    # STRING, "Anything-but matching"
    sns("anything-but: baseball", STRING, BUT, {CI: S("baseball")}, True),
    sns("anything-but: football", STRING, BUT, {CI: S("football")}, True),
    sns("anything-but: String.Array rugby,baseball", STRING, BUT,
        {CI: SA(["rugby", "baseball"])}, True),
    sns("anything-but: body baseball", STRING, BUT, {CI: "baseball"}, True, BODY),
    sns("anything-but: body football", STRING, BUT, {CI: "football"}, True, BODY),
    sns("anything-but: body [rugby, baseball]", STRING, BUT, {CI: ["rugby", "baseball"]},
        True, BODY),
    sns("anything-but: rugby", STRING, BUT, {CI: S("rugby")}, False),
    sns("anything-but: String.Array rugby", STRING, BUT, {CI: SA(["rugby"])}, False),
    sns("anything-but: body [rugby]", STRING, BUT, {CI: ["rugby"]}, False, BODY),
    # derived: "anything-but can be combined with "exists": false" (as two ORed values)
    sns("anything-but or absent: absent (derived)", STRING,
        {CI: [{"anything-but": ["rugby", "tennis"]}, {"exists": False}]}, {}, True),
    sns("anything-but or absent: rugby (derived)", STRING,
        {CI: [{"anything-but": ["rugby", "tennis"]}, {"exists": False}]}, {CI: S("rugby")},
        False),
    # STRING, "Using a prefix with anything-but"
    sns("anything-but prefix: data-entry", STRING, BUT_PREFIX, {"event": S("data-entry")}, True),
    sns("anything-but prefix: order_number", STRING, BUT_PREFIX,
        {"event": S("order_number")}, True),
    sns("anything-but prefix: body data-entry", STRING, BUT_PREFIX, {"event": "data-entry"},
        True, BODY),
    sns("anything-but prefix: body order_number", STRING, BUT_PREFIX,
        {"event": "order_number"}, True, BODY),
    sns("anything-but prefix: order-cancelled", STRING, BUT_PREFIX,
        {"event": S("order-cancelled")}, False),
    sns("anything-but prefix: body order-cancelled", STRING, BUT_PREFIX,
        {"event": "order-cancelled"}, False, BODY),
    # STRING, "anything-but wildcard" and "anything-but suffix" (the page writes the
    # messages as JSON bodies, so they are tested with scope MessageBody)
    sns("anything-but wildcard: hockey,rugby,soccer", STRING, BUT_WILD,
        {CI: ["hockey", "rugby", "soccer"]}, True, BODY),
    sns("anything-but wildcard: baseball,basketball", STRING, BUT_WILD,
        {CI: ["baseball", "basketball"]}, False, BODY),
    sns("anything-but suffix: hockey,rugby,soccer", STRING, BUT_SUFFIX,
        {CI: ["hockey", "rugby", "soccer"]}, True, BODY),
    sns("anything-but suffix: baseball,basketball", STRING, BUT_SUFFIX,
        {CI: ["baseball", "basketball"]}, False, BODY),
    # STRING, "Equals-ignore-case matching"
    sns("equals-ignore-case: TENNIS", STRING, CASELESS, {CI: S("TENNIS")}, True),
    sns("equals-ignore-case: Tennis", STRING, CASELESS, {CI: S("Tennis")}, True),
    sns("equals-ignore-case: body TENNIS", STRING, CASELESS, {CI: "TENNIS"}, True, BODY),
    sns("equals-ignore-case: body teNnis", STRING, CASELESS, {CI: "teNnis"}, True, BODY),
    # derived: a case-insensitive *match* of the whole value, not a substring
    sns("equals-ignore-case: tennis court (derived)", STRING, CASELESS,
        {CI: S("Tennis court")}, False),
    # STRING, "IP address matching"
    sns("cidr: 10.0.0.0", STRING, CIDR, {"source_ip": S("10.0.0.0")}, True),
    sns("cidr: 10.0.0.255", STRING, CIDR, {"source_ip": S("10.0.0.255")}, True),
    sns("cidr: body 10.0.0.0", STRING, CIDR, {"source_ip": "10.0.0.0"}, True, BODY),
    sns("cidr: body 10.0.0.255", STRING, CIDR, {"source_ip": "10.0.0.255"}, True, BODY),
    sns("cidr: 10.1.1.0", STRING, CIDR, {"source_ip": S("10.1.1.0")}, False),
    sns("cidr: body 10.1.1.0", STRING, CIDR, {"source_ip": "10.1.1.0"}, False, BODY),
    # STRING, "Prefix matching"
    sns("prefix: baseball", STRING, PREFIX, {CI: S("baseball")}, True),
    sns("prefix: basketball", STRING, PREFIX, {CI: S("basketball")}, True),
    sns("prefix: body baseball", STRING, PREFIX, {CI: "baseball"}, True, BODY),
    sns("prefix: body basketball", STRING, PREFIX, {CI: "basketball"}, True, BODY),
    sns("prefix: rugby", STRING, PREFIX, {CI: S("rugby")}, False),
    sns("prefix: body rugby", STRING, PREFIX, {CI: "rugby"}, False, BODY),
    # STRING, "Suffix matching"
    sns("suffix: baseball", STRING, SUFFIX, {CI: S("baseball")}, True),
    sns("suffix: basketball", STRING, SUFFIX, {CI: S("basketball")}, True),
    sns("suffix: body baseball", STRING, SUFFIX, {CI: "baseball"}, True, BODY),
    sns("suffix: body basketball", STRING, SUFFIX, {CI: "basketball"}, True, BODY),
    sns("suffix: rugby", STRING, SUFFIX, {CI: S("rugby")}, False),
    sns("suffix: body rugby", STRING, SUFFIX, {CI: "rugby"}, False, BODY),
    # STRING, "Wildcard"
    sns("wildcard: baseball,basketball", STRING, WILD, {CI: ["baseball", "basketball"]},
        True, BODY),
    # derived: no element ends in "ball"
    sns("wildcard: rugby (derived)", STRING, WILD, {CI: ["rugby"]}, False, BODY),
    # NUMERIC, "Exact matching"
    sns("numeric =: 301.5", NUMERIC, NUM_EQ, {"price_usd": N(301.5)}, True),
    sns("numeric =: 3.015e2", NUMERIC, NUM_EQ, {"price_usd": N("3.015e2")}, True),
    sns("numeric =: body 301.5", NUMERIC, NUM_EQ, {"price_usd": 301.5}, True, BODY),
    sns("numeric =: body 3.015e2", NUMERIC, NUM_EQ, json.loads('{"price_usd": 3.015e2}'),
        True, BODY),
    # NUMERIC, "Anything-but matching"
    sns("numeric anything-but: 101", NUMERIC, NUM_BUT, {"price": N(101)}, True),
    sns("numeric anything-but: 100.1", NUMERIC, NUM_BUT, {"price": N(100.1)}, True),
    sns("numeric anything-but: body 101", NUMERIC, NUM_BUT, {"price": 101}, True, BODY),
    sns("numeric anything-but: body 100.1", NUMERIC, NUM_BUT, {"price": 100.1}, True, BODY),
    sns("numeric anything-but: Number.Array 100,50", NUMERIC, NUM_BUT,
        {"price": {"Type": "Number.Array", "Value": "[100, 50]"}}, True),
    sns("numeric anything-but: body [100, 50]", NUMERIC, NUM_BUT, {"price": [100, 50]},
        True, BODY),
    sns("numeric anything-but: 100", NUMERIC, NUM_BUT, {"price": N(100)}, False),
    sns("numeric anything-but: body 100", NUMERIC, NUM_BUT, {"price": 100}, False, BODY),
    # NUMERIC, "Value range matching": "matches ... negative numeric values" and "positive
    # numbers up to and including 150" (derived messages)
    sns("numeric < 0: -0.5 (derived)", NUMERIC, NEGATIVE, {"price_usd": N(-0.5)}, True),
    sns("numeric < 0: 0 (derived)", NUMERIC, NEGATIVE, {"price_usd": N(0)}, False),
    sns("numeric (0,150]: 150 (derived)", NUMERIC, RANGE, {"price_usd": N(150)}, True),
    sns("numeric (0,150]: body 0.01 (derived)", NUMERIC, RANGE, {"price_usd": 0.01}, True,
        BODY),
    sns("numeric (0,150]: 0 (derived)", NUMERIC, RANGE, {"price_usd": N(0)}, False),
    sns("numeric (0,150]: 150.1 (derived)", NUMERIC, RANGE, {"price_usd": N(150.1)}, False),
    # KEYS, "exists": true / false, each with the page's attribute lists and bodies
    sns("exists true: attributes with store", KEYS, HAS_STORE, FANS, True),
    sns("exists true: body with store", KEYS, HAS_STORE,
        {"store": "fans", CI: ["baseball", "basketball"]}, True, BODY),
    sns("exists true: attributes without store", KEYS, HAS_STORE, NO_FANS, False),
    sns("exists true: body without store", KEYS, HAS_STORE, {CI: ["baseball", "basketball"]},
        False, BODY),
    sns("exists false: attributes with store", KEYS, NO_STORE, FANS, False),
    sns("exists false: body with store", KEYS, NO_STORE,
        {"store": "fans", CI: ["baseball", "basketball"]}, False, BODY),
    sns("exists false: attributes without store", KEYS, NO_STORE, NO_FANS, True),
    sns("exists false: body without store", KEYS, NO_STORE, {CI: ["baseball", "basketball"]},
        True, BODY),
    # ANDOR, "AND logic": "customer_interests set to rugby *and* price_usd ... larger than
    # 100" (derived messages)
    sns("AND: rugby and 150 (derived)", ANDOR, AND, {CI: S("rugby"), "price_usd": N(150)},
        True),
    sns("AND: rugby and 100 (derived)", ANDOR, AND, {CI: S("rugby"), "price_usd": N(100)},
        False),
    sns("AND: football and 150 (derived)", ANDOR, AND,
        {CI: S("football"), "price_usd": N(150)}, False),
    sns("AND: rugby, no price (derived)", ANDOR, AND, {CI: S("rugby")}, False),
    # ANDOR, "OR logic": "set to rugby, football, *or* baseball" (derived messages)
    sns("OR values: football (derived)", ANDOR, OR_VALUES, {CI: S("football")}, True),
    sns("OR values: tennis (derived)", ANDOR, OR_VALUES, {CI: S("tennis")}, False),
    # ANDOR, "OR operator" examples: attribute sets and bodies shown on the page
    sns("$or: source+metricName", ANDOR, OR_OP,
        {"source": S("aws.cloudwatch"), "metricName": S("CPUUtilization")}, True),
    sns("$or: source+namespace", ANDOR, OR_OP,
        {"source": S("aws.cloudwatch"), "namespace": S("AWS/EC2")}, True),
    sns("$or: body source+metricName", ANDOR, OR_OP,
        {"source": "aws.cloudwatch", "metricName": "CPUUtilization"}, True, BODY),
    sns("$or: body source+namespace", ANDOR, OR_OP,
        {"source": "aws.cloudwatch", "namespace": "AWS/EC2"}, True, BODY),
    # derived: "source" && ("metricName" || "namespace")
    sns("$or: source only (derived)", ANDOR, OR_OP, {"source": S("aws.cloudwatch")}, False),
    sns("$or: no source (derived)", ANDOR, OR_OP, {"namespace": S("AWS/EC2")}, False),
    # derived: "$or" whose objects use reserved keywords "is treated as a regular attribute
    # name, the same as any other string in the policy"
    sns("$or with keywords is a field (derived)", ANDOR,
        {"$or": [{"prefix": "abc"}, {"suffix": "xyz"}]}, {"$or": S("abcd")}, True),
    # CONSTRAINTS: "For string matching ... the comparison is case-sensitive" (derived)
    sns("case-sensitive: Rugby (derived)", CONSTRAINTS, {CI: ["rugby"]}, {CI: S("Rugby")},
        False),
    # CONSTRAINTS: "five digits of accuracy after the decimal point" (derived)
    sns("5 decimals: 1.000001 equals 1 (derived)", CONSTRAINTS,
        {"n": [{"numeric": ["=", 1]}]}, {"n": N("1.000001")}, True),
    sns("5 decimals: 1.00001 differs from 1 (derived)", CONSTRAINTS,
        {"n": [{"numeric": ["=", 1]}]}, {"n": N("1.00001")}, False),
    # CONSTRAINTS: "Amazon SNS ignores message attributes with the Binary data type" (derived)
    sns("Binary attribute ignored (derived)", CONSTRAINTS, {"blob": [{"exists": True}]},
        {"blob": {"Type": "Binary", "Value": "AAEC"}}, False),
]


@pytest.mark.parametrize("url, policy, scope, message, expected", SNS_CASES)
def test_sns_documented(url, policy, scope, message, expected):
    assert url.startswith("https://docs.aws.amazon.com/sns/")
    assert FilterPolicy(policy, scope).matches(message) is expected


@pytest.mark.parametrize("url, policy, combinations", [
    # CONSTRAINTS: "3 x 1 x 2 = 6"
    pytest.param(CONSTRAINTS, {"key_a": ["value_one", "value_two", "value_three"],
                               "key_b": ["value_one"], "key_c": ["value_one", "value_two"]},
                 6, id="flat 3x1x2"),
    # CONSTRAINTS, payload-based filtering: "3 x 4 x 2 x 3 = 72"
    pytest.param(CONSTRAINTS, {"key_a": {"key_b": {"key_c": ["v1", "v2", "v3", "v4"]}},
                               "key_d": {"key_e": ["v1", "v2", "v3"]}}, 72, id="nested 72"),
    # ANDOR, "Policy constraints that include OR relationships": "= 7"
    pytest.param(ANDOR, {"source": ["aws.cloudwatch"], "$or": [
        {"metricName": ["CPUUtilization", "ReadLatency"]},
        {"metricType": ["MetricType"],
         "$or": [{"metricId": [1234, 4321]}, {"spaceId": [1000, 2000, 3000]}]}]},
        7, id="$or sum 7"),
    # ANDOR, nested filter policy with $or: "= 32"
    pytest.param(ANDOR, {"$or": [{"metricName": ["CPUUtilization", "ReadLatency"]},
                                 {"namespace": ["AWS/EC2", "AWS/ES"]}],
                         "detail": {"scope": ["Service"],
                                    "$or": [{"source": ["aws.cloudwatch"]},
                                            {"type": ["CloudWatch Alarm State Change"]}]}},
                 32, id="nested $or 32"),
])
def test_sns_documented_combinations(url, policy, combinations):
    assert url.startswith("https://docs.aws.amazon.com/sns/")
    assert policy_combinations(policy) == combinations
    FilterPolicy(policy, BODY)  # all within the limit of 150


@pytest.mark.parametrize("url, policy, scope, message", [
    # CONSTRAINTS: "must not exceed 150" (a derived 151-combination policy)
    pytest.param(CONSTRAINTS, {"a": [str(i) for i in range(151)]}, ATTR, "151 value combin",
                 id="151 combinations"),
    # CONSTRAINTS: "A filter policy can have a maximum of five attribute names"
    pytest.param(CONSTRAINTS, {k: ["x"] for k in "abcdef"}, ATTR, "at most 5 keys",
                 id="six keys"),
    # CONSTRAINTS: "For a nested policy, only parent keys are counted" (derived: 6 parents)
    pytest.param(CONSTRAINTS, {k: {"x": ["y"]} for k in "abcdef"}, BODY, "at most 5 keys",
                 id="six parent keys"),
    # CONSTRAINTS: "doesn't accept a nested filter policy for attribute-based filtering"
    pytest.param(CONSTRAINTS, {"a": {"b": ["c"]}}, ATTR, "nested policies need scope",
                 id="nested attribute policy"),
    # CONSTRAINTS: numeric values "range from -10^9 to 10^9"
    pytest.param(CONSTRAINTS, {"n": [{"numeric": [">", 2e9]}]}, ATTR, r"within ±1e\+09",
                 id="numeric beyond 1e9"),
])
def test_sns_documented_constraints_raise(url, policy, scope, message):
    with pytest.raises(ValueError, match=message):
        FilterPolicy(policy, scope)


# ---------------------------------------------------------------- EventBridge ----------
def eb(case_id, url, pattern, event, expected):
    return pytest.param(url, pattern, event, expected, id=case_id)


EC2_EVENT = {  # PATTERNS, the Amazon EC2 event
    "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
    "account": "111122223333", "time": "2017-12-22T18:43:48Z", "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"},
}
EC2_TERMINATED = {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"],
                  "detail": {"state": ["terminated"]}}
ASG_EVENT = {  # PATTERNS and NULLS, the Amazon EC2 Auto Scaling event
    "version": "0", "id": "3e3c153a-8339-4e30-8c35-687ebef853fe",
    "detail-type": "EC2 Instance Launch Successful", "source": "aws.autoscaling",
    "account": "123456789012", "time": "2015-11-11T21:31:47Z", "region": "us-east-1",
    "resources": [], "detail": {"eventVersion": "", "responseElements": None},
}
MACIE_EVENT = {  # PATTERNS, the Amazon Macie Classic event (the page truncates it too)
    "version": "0", "id": "3e355723-fca9-4de3-9fd7-154c289d6b59", "detail-type": "Macie Alert",
    "source": "aws.macie", "account": "123456789012", "time": "2017-04-24T22:28:49Z",
    "region": "us-east-1",
    "detail": {"notification-type": "ALERT_CREATED", "name": "Scanning bucket policies",
               "tags": ["Custom_Alert", "Insider"], "risk-score": 80,
               "trigger": {"alert-type": "basic", "risk": 8}},
}
RESOURCES = {"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
                           "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
                           "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]}
NUMERIC_EB = {"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}],
                         "d-count": [{"numeric": ["<", 10]}],
                         "x-limit": [{"numeric": ["=", 3.018e2]}]}}
COMPLEX = {"time": [{"prefix": "2017-10-02"}],
           "detail": {"state": [{"anything-but": "initializing"}],
                      "c-count": [{"numeric": [">", 0, "<=", 5]}],
                      "d-count": [{"numeric": ["<", 10]}],
                      "x-limit": [{"anything-but": [100, 200, 300]}]}}
RULER_EVENT = {  # RULER, "Ruler by Example"
    "version": "0", "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
    "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
    "account": "012345679012", "time": "2017-10-02T16:24:49Z", "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
    "detail": {"c-count": 5, "d-count": 3, "x-limit": 301.8, "source-ip": "10.0.0.33",
               "instance-id": "i-000000aaaaaa00000", "state": "running"},
}
NO_C_COUNT = {"detail": {"c-count": [{"exists": False}]}}
EMPLOYEES = {"employees": [{"firstName": "John", "lastName": "Doe"},
                           {"firstName": "Anna", "lastName": "Smith"},
                           {"firstName": "Peter", "lastName": "Jones"}]}


def detail(**fields):
    return {"source": "my.app", "detail": fields}


EB_CASES = [
    # PATTERNS: the EC2 instance-termination pattern and its event
    eb("patterns: EC2 terminated", PATTERNS, EC2_TERMINATED, EC2_EVENT, True),
    # derived: "the state of the Amazon EC2 instance must be terminated"
    eb("patterns: EC2 running (derived)", PATTERNS, EC2_TERMINATED,
       {**EC2_EVENT, "detail": {"state": "running"}}, False),
    # derived: "the event must contain all the field names listed in the event pattern"
    eb("patterns: detail missing (derived)", PATTERNS, EC2_TERMINATED,
       {k: v for k, v in EC2_EVENT.items() if k != "detail"}, False),
    # PATTERNS, "Field matching" and "Value matching"
    eb("patterns: responseElements null", PATTERNS,
       {"source": ["aws.autoscaling"], "detail-type": ["EC2 Instance Launch Successful"],
        "detail": {"responseElements": [None]}}, ASG_EVENT, True),
    eb("patterns: Macie risk 80 / 8", PATTERNS,
       {"source": ["aws.macie"], "detail-type": ["Macie Alert"],
        "detail": {"risk-score": [80], "trigger": {"risk": [8]}}}, MACIE_EVENT, True),
    # SYNTAX, "Matching event values": source "is either aws.ec2 or aws.fargate" (derived)
    eb("syntax: source fargate (derived)", SYNTAX, {"source": ["aws.ec2", "aws.fargate"]},
       {"source": "aws.fargate"}, True),
    eb("syntax: source s3 (derived)", SYNTAX, {"source": ["aws.ec2", "aws.fargate"]},
       {"source": "aws.s3"}, False),
    # SYNTAX: "exact character-by-character matching without case-folding" (derived)
    eb("syntax: case-sensitive (derived)", SYNTAX, {"source": ["aws.ec2"]},
       {"source": "AWS.EC2"}, False),
    # SYNTAX: "300, 300.0, and 3.0e2 are not considered equal" (derived)
    eb("syntax: 300 vs 300.0 (derived)", SYNTAX, {"detail": {"n": [300]}},
       {"detail": {"n": 300.0}}, False),
    eb("syntax: 300 vs 300 (derived)", SYNTAX, {"detail": {"n": [300]}},
       {"detail": {"n": 300}}, True),
    # NULLS: empty string and null, and "not interchangeable"
    eb("nulls: eventVersion empty", NULLS, {"detail": {"eventVersion": [""]}}, ASG_EVENT, True),
    eb("nulls: responseElements null", NULLS, {"detail": {"responseElements": [None]}},
       ASG_EVENT, True),
    eb("nulls: empty does not match null", NULLS, {"detail": {"responseElements": [""]}},
       ASG_EVENT, False),
    eb("nulls: null does not match empty", NULLS, {"detail": {"eventVersion": [None]}},
       ASG_EVENT, False),
    # ARRAYS: "matches if the intersection of the event pattern array and the event array is
    # non-empty"
    eb("arrays: intersection", ARRAYS, RESOURCES, {"resources": [
        "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-"
        "d5978ed4a025:autoScalingGroupName/ASGTerminate",
        "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}, True),
    eb("arrays: no intersection (derived)", ARRAYS, RESOURCES,
       {"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-00000000"]}, False),
    # OPERATORS, "Prefix matching": "time" started with "2017-10-02"
    eb("prefix: time", OPERATORS, {"time": [{"prefix": "2017-10-02"}]},
       {"time": "2017-10-02T18:43:48Z"}, True),
    eb("prefix: other day (derived)", OPERATORS, {"time": [{"prefix": "2017-10-02"}]},
       {"time": "2017-10-03T18:43:48Z"}, False),
    # OPERATORS, "Prefix matching while ignoring case": "EventB, EVENTB, eventb, or any other
    # capitalization"
    eb("prefix ignore case: EventBridge", OPERATORS,
       {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
       detail(service="EventBridge"), True),
    eb("prefix ignore case: EVENTBRIDGE", OPERATORS,
       {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
       detail(service="EVENTBRIDGE"), True),
    eb("prefix ignore case: Lambda (derived)", OPERATORS,
       {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
       detail(service="Lambda"), False),
    # OPERATORS, "Suffix matching" (derived file names) and "... while ignoring case"
    eb("suffix: photo.png (derived)", OPERATORS, {"FileName": [{"suffix": ".png"}]},
       {"FileName": "photo.png"}, True),
    eb("suffix: photo.jpg (derived)", OPERATORS, {"FileName": [{"suffix": ".png"}]},
       {"FileName": "photo.jpg"}, False),
    eb("suffix ignore case: .PNG", OPERATORS,
       {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}},
       detail(FileName="photo.PNG"), True),
    # OPERATORS, "Anything-but matching" patterns (derived events)
    eb("anything-but: running (derived)", OPERATORS,
       {"detail": {"state": [{"anything-but": "initializing"}]}}, detail(state="running"), True),
    eb("anything-but: initializing (derived)", OPERATORS,
       {"detail": {"state": [{"anything-but": "initializing"}]}},
       detail(state="initializing"), False),
    eb("anything-but number: 124 (derived)", OPERATORS,
       {"detail": {"x-limit": [{"anything-but": 123}]}}, detail(**{"x-limit": 124}), True),
    eb("anything-but number: 123 (derived)", OPERATORS,
       {"detail": {"x-limit": [{"anything-but": 123}]}}, detail(**{"x-limit": 123}), False),
    eb("anything-but list: stopped (derived)", OPERATORS,
       {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}},
       detail(state="stopped"), False),
    eb("anything-but numbers: 301.8 (derived)", OPERATORS,
       {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}},
       detail(**{"x-limit": 301.8}), True),
    eb("anything-but numbers: 200 (derived)", OPERATORS,
       {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}},
       detail(**{"x-limit": 200}), False),
    eb("anything-but prefix: initializing (derived)", OPERATORS,
       {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}},
       detail(state="initializing"), False),
    # OPERATORS, the summary table: one example per comparison (derived events)
    eb("table anything-but begins with: eu-west-1", OPERATORS,
       {"Region": [{"anything-but": {"prefix": "us-"}}]}, {"Region": "eu-west-1"}, True),
    eb("table anything-but begins with: us-east-1", OPERATORS,
       {"Region": [{"anything-but": {"prefix": "us-"}}]}, {"Region": "us-east-1"}, False),
    eb("table anything-but ends with: a.png", OPERATORS,
       {"FileName": [{"anything-but": {"suffix": ".png"}}]}, {"FileName": "a.png"}, False),
    eb("table anything-but ignore case: INITIALIZING", OPERATORS,
       {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]},
       {"state": "INITIALIZING"}, False),
    eb("table anything-but ignore case: running", OPERATORS,
       {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]},
       {"state": "running"}, True),
    eb("table anything-but wildcard: /usr/lib/x", OPERATORS,
       {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]},
       {"FilePath": "/usr/lib/x"}, False),
    eb("table anything-but wildcard: /usr/bin/x", OPERATORS,
       {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]},
       {"FilePath": "/usr/bin/x"}, True),
    eb("table and: New York Monday", OPERATORS, {"Location": ["New York"], "Day": ["Monday"]},
       {"Location": "New York", "Day": "Monday"}, True),
    eb("table and: New York Tuesday", OPERATORS, {"Location": ["New York"], "Day": ["Monday"]},
       {"Location": "New York", "Day": "Tuesday"}, False),
    eb("table empty: LastName", OPERATORS, {"LastName": [""]}, {"LastName": ""}, True),
    eb("table empty: Smith", OPERATORS, {"LastName": [""]}, {"LastName": "Smith"}, False),
    eb("table equals: Alice", OPERATORS, {"Name": ["Alice"]}, {"Name": "Alice"}, True),
    eb("table equals: alice", OPERATORS, {"Name": ["Alice"]}, {"Name": "alice"}, False),
    eb("table equals ignore case: Alice", OPERATORS, {"Name": [{"equals-ignore-case": "alice"}]},
       {"Name": "Alice"}, True),
    eb("table ends with ignore case: TBRIDGE", OPERATORS,
       {"service": [{"suffix": {"equals-ignore-case": "tBridge"}}]},
       {"service": "EVENTBRIDGE"}, True),
    eb("table exists: ProductName", OPERATORS, {"ProductName": [{"exists": True}]},
       {"ProductName": "Widget"}, True),
    eb("table exists: none", OPERATORS, {"ProductName": [{"exists": True}]}, {}, False),
    eb("table does not exist", OPERATORS, {"ProductName": [{"exists": False}]}, {}, True),
    eb("table not: Sunny", OPERATORS, {"Weather": [{"anything-but": ["Raining"]}]},
       {"Weather": "Sunny"}, True),
    eb("table not: Raining", OPERATORS, {"Weather": [{"anything-but": ["Raining"]}]},
       {"Weather": "Raining"}, False),
    eb("table null: UserID null", OPERATORS, {"UserID": [None]}, {"UserID": None}, True),
    eb("table null: UserID absent", OPERATORS, {"UserID": [None]}, {}, False),
    eb("table numeric equals: 100", OPERATORS, {"Price": [{"numeric": ["=", 100]}]},
       {"Price": 100}, True),
    eb("table numeric equals: string 100", OPERATORS, {"Price": [{"numeric": ["=", 100]}]},
       {"Price": "100"}, False),
    eb("table numeric range: 20", OPERATORS, {"Price": [{"numeric": [">", 10, "<=", 20]}]},
       {"Price": 20}, True),
    eb("table numeric range: 10", OPERATORS, {"Price": [{"numeric": [">", 10, "<=", 20]}]},
       {"Price": 10}, False),
    eb("table or: Debit", OPERATORS, {"PaymentType": ["Credit", "Debit"]},
       {"PaymentType": "Debit"}, True),
    eb("table or: Cash", OPERATORS, {"PaymentType": ["Credit", "Debit"]},
       {"PaymentType": "Cash"}, False),
    eb("table $or: Boston Monday", OPERATORS,
       {"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]},
       {"Location": "Boston", "Day": "Monday"}, True),
    eb("table $or: Boston Tuesday", OPERATORS,
       {"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]},
       {"Location": "Boston", "Day": "Tuesday"}, False),
    eb("table wildcard: dir/a.png", OPERATORS, {"FileName": [{"wildcard": "dir/*.png"}]},
       {"FileName": "dir/a.png"}, True),
    eb("table wildcard: other/a.png", OPERATORS, {"FileName": [{"wildcard": "dir/*.png"}]},
       {"FileName": "other/a.png"}, False),
    # OPERATORS, "Numeric matching" pattern, on the event of RULER's "Ruler by Example"
    eb("numeric: ruler example event", OPERATORS, NUMERIC_EB, RULER_EVENT, True),
    eb("numeric: c-count 0 (derived)", OPERATORS, NUMERIC_EB,
       {**RULER_EVENT, "detail": {**RULER_EVENT["detail"], "c-count": 0}}, False),
    # OPERATORS, "IP address matching" (derived addresses; see the report on the page's
    # "end with a number between 0 and 24")
    eb("cidr: 10.0.0.25", OPERATORS, {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}},
       detail(sourceIPAddress="10.0.0.25"), True),
    eb("cidr: 10.0.1.1", OPERATORS, {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}},
       detail(sourceIPAddress="10.0.1.1"), False),
    # OPERATORS: "You can use IP address matching for IPv4 and IPv6 addresses" (derived)
    eb("cidr: IPv6", OPERATORS, {"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:db8::1"}, True),
    # OPERATORS, "Exists matching": the two events the page says match, then derived ones
    eb("exists false: no c-count", OPERATORS, NO_C_COUNT,
       {"detail-type": ["EC2 Instance State-change Notification"],
        "detail": {"state": ["initializing", "running"]}}, True),
    eb("exists false: c-count not a leaf", OPERATORS, NO_C_COUNT,
       {"detail-type": ["EC2 Instance State-change Notification"],
        "detail": {"state": ["initializing", "running"], "c-count": {"c1": 100}}}, True),
    eb("exists false: c-count present (derived)", OPERATORS, NO_C_COUNT,
       detail(**{"c-count": 3}), False),
    eb("exists true: c-count present (derived)", OPERATORS,
       {"detail": {"c-count": [{"exists": True}]}}, detail(**{"c-count": 3}), True),
    # OPERATORS, "Complex example with multiple matching" (derived events)
    eb("complex: ruler event (derived)", OPERATORS, COMPLEX, RULER_EVENT, True),
    eb("complex: initializing (derived)", OPERATORS, COMPLEX,
       {**RULER_EVENT, "detail": {**RULER_EVENT["detail"], "state": "initializing"}}, False),
    # RULER, "Wildcard matching": a backslash escapes "*" (derived values)
    eb("wildcard escaped star: a*b", RULER, {"k": [{"wildcard": "a\\*b"}]}, {"k": "a*b"}, True),
    eb("wildcard escaped star: axb", RULER, {"k": [{"wildcard": "a\\*b"}]}, {"k": "axb"}, False),
    eb("wildcard: Simple*Service", RULER, {"source": [{"wildcard": "Simple*Service"}]},
       {"source": "SimpleNotificationService"}, True),
    # RULER, "JSON Array Matching": arrays of objects, matched one element at a time
    eb("array of objects: Anna", RULER, {"employees": {"firstName": ["Anna"]}}, EMPLOYEES, True),
    eb("array of objects: Anna Jones", RULER,
       {"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}, EMPLOYEES, False),
    # RULER, "$or" examples: "source" && ("metricName" || "namespace") (derived events)
    eb("$or: namespace", RULER, {"source": ["aws.cloudwatch"], "$or": [
        {"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}]},
       {"source": "aws.cloudwatch", "namespace": "AWS/ES"}, True),
    eb("$or: parallel, detail-type", RULER, {
        "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
        "detail": {"$or": [{"source": ["aws.cloudwatch"]},
                           {"detail-type": ["CloudWatch Alarm State Change"]}]}},
       {"namespace": "AWS/EC2", "detail": {"detail-type": "CloudWatch Alarm State Change"}}, True),
    eb("$or: parallel, second group fails", RULER, {
        "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
        "detail": {"$or": [{"source": ["aws.cloudwatch"]},
                           {"detail-type": ["CloudWatch Alarm State Change"]}]}},
       {"namespace": "AWS/EC2", "detail": {"source": "aws.ec2"}}, False),
    # RULER: "$or" followed by an object is a normal field name
    eb("$or object is a field", RULER, {"source": ["aws.cloudwatch"], "$or": {
        "metricType": ["MetricType"], "namespace": ["AWS/EC2", "AWS/ES"]}},
       {"source": "aws.cloudwatch", "$or": {"metricType": "MetricType", "namespace": "AWS/ES"}},
       True),
]


@pytest.mark.parametrize("url, pattern, event, expected", EB_CASES)
def test_eventbridge_documented(url, pattern, event, expected):
    assert url.startswith(("https://docs.aws.amazon.com/eventbridge/", RULER))
    assert EventPattern(pattern).matches(event) is expected


def test_documented_case_counts():
    """At least 25 documented rows per service, covering every operator."""
    assert len(SNS_CASES) >= 25 and len(EB_CASES) >= 25
    text = json.dumps([c.values[1] for c in SNS_CASES] + [c.values[1] for c in EB_CASES])
    for op in ("prefix", "suffix", "anything-but", "numeric", "exists", "cidr",
               "equals-ignore-case", "wildcard", "$or"):
        assert f'"{op}"' in text, op
