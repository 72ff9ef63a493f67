"""Architecture diagrams (sim.output.diagram): every connection of the scenario drawn, laid out left to right, valid SVG."""

import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from scenarios import load_scenario, to_dict
from sim.output.diagram import endpoint_place, layers, network_svg, services_graph, services_svg

CONFIGS = Path(__file__).resolve().parent.parent / "configs" / "scenario"


def resolved(name):
    d = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    d.pop("defaults", None)
    return to_dict(load_scenario(d, base_dir=CONFIGS))


def edges(g):
    return {(e.src, e.dst, e.label, e.dashed) for e in g.edges}


def test_fanout_connections():
    g = services_graph(resolved("fanout"))
    assert {n.kind for n in g.nodes.values()} == {"traffic", "topic", "queue", "function", "https", "email"}
    e = edges(g)
    assert ("traffic:checkout", "topic:orders", "", False) in e
    # subscriptions: filtered ones say so
    assert ("topic:orders", "queue:fulfilment", "filtered", False) in e
    assert ("topic:orders", "queue:audit", "", False) in e
    assert ("topic:orders", "https:https://partner.example.com/hooks/orders", "filtered", False) in e
    assert ("topic:orders", "email:ops@example.com", "filtered", False) in e
    # mappings queue -> function with their batch size; redrive and the subscription's DLQ dashed
    assert ("queue:billing", "function:billing", "batch 5", False) in e
    assert ("queue:audit", "function:audit", "batch 100", False) in e
    assert ("queue:billing", "queue:billing_dlq", "DLQ", True) in e
    assert ("https:https://partner.example.com/hooks/orders", "queue:fulfilment_dlq", "DLQ", True) in e
    assert g.nodes["function:billing"].detail == "512 MB, reserved 3"
    assert g.nodes["queue:billing"].detail == "to DLQ after 5 receives"
    assert g.nodes["queue:billing_dlq"].detail == "dead-letter queue"


def test_eventbridge_rules_and_targets():
    g = services_graph(resolved("eventbridge_router"))
    e = edges(g)
    assert ("bus:commerce", "rule:commerce/ship-paid-orders", "", False) in e
    assert ("rule:commerce/ship-paid-orders", "function:ship", "", False) in e
    assert ("rule:commerce/screen-large-payments", "https:https://risk.example.com/events", "", False) in e
    assert ("rule:commerce/everything-to-analytics", "queue:analytics", "", False) in e
    assert ("function:ship", "queue:router_dlq", "DLQ", True) in e
    assert ("queue:analytics", "function:analytics", "batch 50", False) in e


def test_fleets_traffic_kinds_and_on_failure():
    config = {
        "functions": {"f": {"memory_mb": 256, "async_invoke": {"on_failure": "queue:failed"}}},
        "queues": {"jobs": {}, "failed": {}},
        "worker_fleets": {"w": {"queue": "jobs", "workers": 4}},
        "traffic": [{"name": "a", "target": "function:f", "invocation": "async",
                     "arrivals": {"kind": "poisson", "rate_per_s": 2.5}},
                    {"name": "b", "target": "queue:jobs", "arrivals": {"kind": "trace"}}],
    }
    g = services_graph(config)
    e = edges(g)
    assert ("traffic:a", "function:f", "async", False) in e
    assert ("traffic:b", "queue:jobs", "", False) in e
    assert ("queue:jobs", "fleet:w", "polls", False) in e
    assert ("function:f", "queue:failed", "on failure", True) in e
    assert g.nodes["traffic:a"].detail == "poisson 2.5/s"
    assert g.nodes["fleet:w"].detail == "4 workers"


def test_layers_run_left_to_right():
    g = services_graph(resolved("fanout"))
    pos = layers(g)
    for e in g.edges:
        assert pos[e.dst][0] > pos[e.src][0], (e.src, e.dst)
    assert pos["traffic:checkout"][0] == 0
    # rows in a column are distinct
    seen = set()
    for p in pos.values():
        assert p not in seen
        seen.add(p)


def test_a_cycle_does_not_hang_the_layout():
    config = {"functions": {"f": {"async_invoke": {"on_failure": "queue:q"}}}, "queues": {"q": {}},
              "event_source_mappings": [{"source": "q", "function": "f"}]}
    pos = layers(services_graph(config))
    assert set(pos) == {"function:f", "queue:q"}


def test_services_svg_is_valid_and_complete():
    svg = services_svg(resolved("fanout"))
    root = ET.fromstring(svg)
    ns = ""  # inline SVG in HTML needs no namespace (the page stays free of URLs)
    nodes = root.findall(f".//{ns}g[@class='node']")
    paths = root.findall(f".//{ns}path[@class='edge']")
    g = services_graph(resolved("fanout"))
    assert len(nodes) == len(g.nodes) == int(root.get("data-nodes"))
    assert len(paths) == len(g.edges) == int(root.get("data-edges"))
    assert services_svg({}) is None


def test_network_places_and_svg():
    config = resolved("vpc_three_tier")
    assert endpoint_place(config, "warehouse1") == ("analytics", "warehouse1")
    assert endpoint_place(config, "internet:203.0.113.7") == ("internet", "203.0.113.7")
    assert endpoint_place(config, "onprem:192.168.10.5") == ("on-premises", "192.168.10.5")
    assert endpoint_place(config, "10.0.3.10") == ("prod", "10.0.3.10")
    summary = {"vpcs": {"prod": {"generators": {"web_to_db": {"flows": 300, "accepted": 0},
                                                "web_to_app": {"flows": 6, "accepted": 6}}}}}
    svg = network_svg(config, summary)
    root = ET.fromstring(svg)
    ns = ""  # inline SVG in HTML needs no namespace (the page stays free of URLs)
    hosts = {g.get("data-id") for g in root.findall(f".//{ns}g[@class='host']")}
    assert {"prod/web1", "prod/db1", "analytics/warehouse1", "internet/203.0.113.7",
            "on-premises/192.168.10.5"} <= hosts
    flows = {p.get("data-flow"): p.get("stroke") for p in root.findall(f".//{ns}path[@class='flow']")}
    assert flows["web_to_db"] == "#c62828"  # every flow rejected: red
    assert len(root.findall(f".//{ns}path[@class='vpc-link']")) == 1  # the peering prod <-> analytics
    assert "peering to_analytics" in svg
    assert flows["web_to_app, web_to_app_ssh"] == "#2e7d32"  # one arrow per pair; ssh not in this summary
    summary["vpcs"]["prod"]["generators"]["web_to_app_ssh"] = {"flows": 100, "accepted": 0}
    root = ET.fromstring(network_svg(config, summary))
    flows = {p.get("data-flow"): p.get("stroke") for p in root.findall(f".//{ns}path[@class='flow']")}
    assert flows["web_to_app, web_to_app_ssh"] == "#ef6c00"  # some rejected: orange
    assert network_svg({"functions": {}}) is None


def test_transit_gateway_joins_its_vpcs():
    config = {"vpcs": {v: {"cidr": f"10.{i}.0.0/16", "subnets": {"s": {"cidr": f"10.{i}.1.0/24"}}}
                       for i, v in enumerate(("a", "b", "c"))},
              "transit_gateways": {"hub": {"attachments": {n: {"kind": "vpc", "vpc": n} for n in ("a", "b", "c")}}}}
    root = ET.fromstring(network_svg(config))
    links = root.findall(".//path[@class='vpc-link']")
    assert len(links) == 1 and links[0].get("d").count("M") == 4  # three drops and the bar
