"""Names as AWS allows them (queues, topics, buses, rules, functions, endpoints) and a scenario name that is a plain folder name."""

from __future__ import annotations

import copy

import pytest

from scenarios import ScenarioError, load_scenario

BASE = {
    "name": "names",
    "duration_s": 60,
    "functions": {"worker": {"timeout_s": 10}},
    "queues": {"orders": {"visibility_timeout_s": 60}, "spare": {}, "jobs.fifo": {"type": "fifo", "visibility_timeout_s": 60}},
    "topics": {"events": {"subscriptions": [{"protocol": "sqs", "endpoint": "orders"}]}},
    "buses": {"bus": {"rules": {"r": {"event_pattern": {"source": ["x"]}, "targets": [{"target": "queue:orders"}]}}}},
    "traffic": [{"name": "t", "target": "topic:events", "arrivals": {"kind": "poisson", "rate_per_s": 1}}],
}


def changed(*edits) -> dict:
    """BASE with (path tuple, value) edits; a value None deletes the key."""
    data = copy.deepcopy(BASE)
    for path, value in edits:
        node = data
        for k in path[:-1]:
            node = node[k]
        if value is None:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    return data


def renamed(section: str, old: str, new: str) -> tuple:
    items = dict(BASE[section])
    items[new] = items.pop(old)
    return (section,), items


def subscription(protocol: str, endpoint: str) -> tuple:
    return ("topics", "events", "subscriptions"), [{"protocol": protocol, "endpoint": endpoint}]


def rule_target(target: str) -> tuple:
    return ("buses", "bus", "rules", "r", "targets"), [{"target": target}]


Q80 = "q" * 80
CASES = [
    # the scenario's name: a folder of results_dir
    ("name-traversal", [(("name",), "../../evil")], "name", ["'../../evil' is not a plain name", "results_dir"]),
    ("name-slash", [(("name",), "runs/a")], "name", ["not a plain name", "'/'"]),
    ("name-backslash", [(("name",), "a\\b")], "name", ["not a plain name"]),
    ("name-leading-dot", [(("name",), ".hidden")], "name", ["not a plain name", "not starting with '.'"]),
    ("name-dotdot", [(("name",), "..")], "name", ["not a plain name"]),
    ("name-space", [(("name",), "my run")], "name", ["not a plain name", "spaces"]),
    ("name-too-long", [(("name",), "n" * 101)], "name", ["101 characters", "limit is 100"]),
    ("name-empty", [(("name",), " ")], "name", ["must not be empty"]),
    # SQS queues
    ("queue-dot", [renamed("queues", "spare", "or.ders")], "queues['or.ders']",
     ["queue name 'or.ders' may contain only", "letters, digits, '-' and '_'"]),
    ("queue-space", [renamed("queues", "spare", "my orders")], "queues['my orders']", ["may contain only"]),
    ("queue-standard-fifo-suffix", [renamed("queues", "spare", "orders.fifo")], "queues['orders.fifo']",
     ["ends in '.fifo'", "set type: fifo"]),
    ("queue-fifo-no-suffix", [renamed("queues", "jobs.fifo", "jobs")], "queues.jobs",
     ["FIFO queue name 'jobs' must end in '.fifo'", "rename it 'jobs.fifo'"]),
    ("queue-81", [renamed("queues", "spare", Q80 + "q")], f"queues.{Q80}q", ["81 characters", "limit is 80"]),
    ("queue-fifo-81", [renamed("queues", "jobs.fifo", "j" * 76 + ".fifo")], "queues['" + "j" * 76 + ".fifo']",
     ["81 characters", "limit is 80"]),
    ("queue-fifo-bad-stem", [renamed("queues", "jobs.fifo", "jo@bs.fifo")], "queues['jo@bs.fifo']",
     ["may contain only", "then '.fifo'"]),
    # SNS topics
    ("topic-dot", [renamed("topics", "events", "ev.ents"), (("traffic",), [])], "topics['ev.ents']",
     ["topic name 'ev.ents' may contain only"]),
    ("topic-fifo-no-suffix", [(("topics", "events"), {"type": "fifo"}), (("traffic",), [])], "topics.events",
     ["FIFO topic name 'events' must end in '.fifo'"]),
    ("topic-standard-fifo-suffix", [(("topics",), {"events.fifo": {}}), (("traffic",), [])],
     "topics['events.fifo']", ["ends in '.fifo'", "FIFO topics"]),
    ("topic-257", [(("topics",), {"t" * 257: {}}), (("traffic",), [])], "topics." + "t" * 257,
     ["257 characters", "limit is 256"]),
    # EventBridge buses and rules
    ("bus-slash", [renamed("buses", "bus", "org/bus")], "buses['org/bus']", ["'/'", "partner event buses"]),
    ("bus-space", [renamed("buses", "bus", "my bus")], "buses['my bus']", ["bus name 'my bus' may contain only"]),
    ("bus-257", [renamed("buses", "bus", "b" * 257)], "buses." + "b" * 257, ["257 characters", "limit is 256"]),
    ("rule-slash", [(("buses", "bus", "rules"), {"a/b": BASE["buses"]["bus"]["rules"]["r"]})],
     "buses.bus.rules['a/b']", ["rule name 'a/b' may contain only"]),
    ("rule-65", [(("buses", "bus", "rules"), {"r" * 65: BASE["buses"]["bus"]["rules"]["r"]})],
     "buses.bus.rules." + "r" * 65, ["65 characters", "limit is 64"]),
    # endpoints
    ("https-http-url", [subscription("https", "http://example.com/hook")],
     "topics.events.subscriptions[0].endpoint", ["http:// URL", "takes https://"]),
    ("https-no-scheme", [subscription("https", "example.com/hook")],
     "topics.events.subscriptions[0].endpoint", ["not an https:// URL", "protocol https"]),
    ("https-no-host", [subscription("https", "https:///hook")],
     "topics.events.subscriptions[0].endpoint", ["not an https:// URL"]),
    ("https-space", [subscription("https", "https://exa mple.com")],
     "topics.events.subscriptions[0].endpoint", ["not an https:// URL"]),
    ("email-no-at", [subscription("email", "ops.example.com")],
     "topics.events.subscriptions[0].endpoint", ["not an email address", "protocol email"]),
    ("email-no-domain-dot", [subscription("email", "ops@localhost")],
     "topics.events.subscriptions[0].endpoint", ["not an email address"]),
    ("email-two-at", [subscription("email", "a@b@example.com")],
     "topics.events.subscriptions[0].endpoint", ["not an email address"]),
    ("api-destination-http", [rule_target("http://example.com/events")],
     "buses.bus.rules.r.targets[0].target", ["http:// URL", "API destination"]),
    ("api-destination-no-host", [rule_target("https://")],
     "buses.bus.rules.r.targets[0].target", ["not an https:// URL", "API destination"]),
    # functions and traffic sources
    ("function-65", [(("functions",), {"f" * 65: {}})], "functions." + "f" * 65, ["65 characters", "limit is 64"]),
    ("function-dot", [(("functions",), {"my.fn": {}})], "functions['my.fn']", ["only letters, digits, '-' and '_'"]),
    ("traffic-space", [(("traffic", 0, "name"), "my source")], "traffic[0].name", ["only letters, digits"]),
    ("traffic-65", [(("traffic", 0, "name"), "s" * 65)], "traffic[0].name", ["65 characters"]),
    ("traffic-duplicate", [(("traffic",), BASE["traffic"] * 2)], "traffic[1].name",
     ["duplicate traffic name 't'", "traffic[0]"]),
]


@pytest.mark.parametrize("edits, where, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_names_aws_refuses(edits, where, words):
    with pytest.raises(ScenarioError) as e:
        load_scenario(changed(*edits))
    found = e.value.problems
    assert [p for p, _ in found] == [where], found
    for w in words:
        assert w in found[0][1], (w, found[0][1])


def test_base_is_valid():
    load_scenario(BASE)


@pytest.mark.parametrize("edits", [
    [(("name",), "run.v2-final_3")],
    [(("name",), "n" * 100)],
    [renamed("queues", "spare", Q80)],
    [renamed("queues", "jobs.fifo", "j" * 75 + ".fifo")],
    [renamed("queues", "spare", "Orders-2_b")],
    [(("topics",), {"t" * 256: {}}), (("traffic",), [])],
    [(("topics",), {"events.fifo": {"type": "fifo", "subscriptions": [{"protocol": "sqs", "endpoint": "jobs.fifo"}]}}),
     (("traffic",), [])],
    [renamed("buses", "bus", "default")],  # the account's default bus
    [renamed("buses", "bus", "my.bus-1_x")],
    [(("buses", "bus", "rules"), {"r.1-x_Y" + "r" * 57: BASE["buses"]["bus"]["rules"]["r"]})],  # 64 characters
    [subscription("https", "https://hooks.example.com:8443/a?b=c")],
    [subscription("email", "ops+alerts@mail.example.co.uk")],
    [rule_target("https://risk.example.com/events")],
    [(("functions",), {"f" * 64: {}})],
], ids=["name", "name-100", "queue-80", "fifo-queue-80", "queue-chars", "topic-256", "fifo-topic", "bus-default",
        "bus-chars", "rule-64", "https", "email", "api-destination", "function-64"])
def test_names_aws_allows(edits):
    load_scenario(changed(*edits))
