"""report.html as a person sees it: rendered in headless Chromium, plots and diagrams drawn, numbers right."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest

from sim import simulate
from sim.output.report import FIGURE_IDS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it)")

# For each plotted figure: its size, and how much of it is not background — a blank or
# broken image has no ink.
INK_JS = """figs => figs.map(f => {
  const img = f.querySelector('img');
  if (!img) return {id: f.id, state: f.dataset.state, w: 0, h: 0, ink: 0};
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let ink = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] + d[i+1] + d[i+2] < 600) ink++;
  return {id: f.id, state: f.dataset.state, w: img.naturalWidth, h: img.naturalHeight,
          ink: ink / (c.width * c.height)};
})"""

# Each diagram: its rendered size, and each node's and edge's box as the browser lays it out.
SVG_JS = """svgs => svgs.map(s => ({
  id: s.id, w: s.getBoundingClientRect().width, h: s.getBoundingClientRect().height,
  edges_declared: s.dataset.edges ? +s.dataset.edges : null,
  nodes: [...s.querySelectorAll('g.node, g.host')].map(g => { const b = g.getBBox(); return [b.width, b.height]; }),
  edges: [...s.querySelectorAll('path.edge, path.flow')].map(p => { const b = p.getBBox(); return b.width + b.height; }),
}))"""

SCENARIO = {
    "name": "browser", "duration_s": 600, "seed": 3,
    "functions": {"api": {"memory_mb": 512, "provisioned_concurrency": 2, "error_rate": 0.01,
                          "duration_ms": {"dist": "lognormal", "median": 60, "p99": 400}},
                  "jobs": {"reserved_concurrency": 3, "duration_ms": {"dist": "exponential", "mean": 500}}},
    "traffic": [{"name": "web", "target": "function:api", "arrivals": {"kind": "poisson", "rate_per_s": 40}},
                {"name": "bg", "target": "function:jobs", "invocation": "async",
                 "arrivals": {"kind": "poisson", "rate_per_s": 8}},
                {"name": "uploads", "target": "queue:work", "arrivals": {"kind": "poisson", "rate_per_s": 6}}],
    # a worker that drains 5 messages a second: the backlog grows, and messages stay in flight
    "queues": {"work": {"visibility_timeout_s": 60, "max_receive_count": 4, "dead_letter_queue": "work_dlq"},
               "work_dlq": {}},
    "worker_fleets": {"w": {"queue": "work", "workers": 1, "processing_ms": {"dist": "fixed", "value": 200}}},
    "vpcs": {"net": {"cidr": "10.0.0.0/16", "internet_gateway": True,
                     "subnets": {"pub": {"cidr": "10.0.1.0/24"}},
                     "route_tables": {"main": {"routes": [{"destination": "0.0.0.0/0", "target": "igw"}]}},
                     "security_groups": {"web": {"inbound": [{"protocol": "tcp", "ports": 443,
                                                              "cidr": "0.0.0.0/0"}]}},
                     "hosts": {"web1": {"subnet": "pub", "elastic_ip": "54.0.0.10", "security_groups": ["web"]}}}},
    "flows": [{"name": "https_in", "src": "internet:203.0.113.7", "dst": "web1",
               "dst_ports": [{"port": 443, "weight": 9}, {"port": 80, "weight": 1}], "rate_per_s": 5}],
    "slo": {"functions": {"jobs": {"throttle_ratio_max": 0.01}, "api": {"latency_p99_ms": 2000}},
            "queues": {"work": {"age_of_oldest_max_s": 60}}},
    "record": {"period_s": 60, "requests": {"sample": 0.2}},
}


def flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def colour_stats(png: bytes):
    """(distinct colours, share of saturated pixels in the left 72 %) of a screenshot: the legend is on the right."""
    from PIL import Image

    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    flat = a.reshape(-1, 3)
    distinct = len(np.unique(flat[:, 0] * 65536 + flat[:, 1] * 256 + flat[:, 2]))
    left = a[:, : int(a.shape[1] * 0.72)]
    saturated = (left.max(axis=2) - left.min(axis=2)) > 60
    return distinct, float(saturated.mean())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    out = tmp_path_factory.mktemp("run")
    simulate(SCENARIO, out_dir=out)
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: errors.append(f"failed request {r.url}"))
        page.goto((out / "report.html").as_uri(), wait_until="load")
        figures = page.eval_on_selector_all("figure", INK_JS)
        shots = {f["id"]: page.locator(f"#{f['id']} img").screenshot() for f in figures if f["state"] == "plot"}
        diagrams = page.eval_on_selector_all("svg.diagram", SVG_JS)
        shots.update({d["id"]: page.locator(f"#{d['id']}").screenshot() for d in diagrams})
        cells = page.eval_on_selector_all("[data-key]", "els => els.map(e => [e.dataset.key, e.dataset.value])")
        text = page.inner_text("body")
        in_flight_row = page.inner_text("#table-queues tr:has(th[title='in_flight_end'])")
        page.screenshot(path=str(out / "report.png"), full_page=True)  # for a person to look at
        title = page.title()
        browser.close()
    summary = json.loads((out / "summary.json").read_text())
    return {"errors": errors, "figures": figures, "shots": shots, "diagrams": diagrams, "cells": cells,
            "text": text, "in_flight_row": in_flight_row, "title": title, "summary": summary}


def test_page_loads_without_errors(rendered):
    assert rendered["errors"] == []
    assert rendered["title"] == "cloudtwin: browser"


def test_every_plot_is_there_and_drawn(rendered):
    by_id = {f["id"]: f for f in rendered["figures"]}
    assert set(FIGURE_IDS) | {"plot-cost-over-time", "plot-vpc-flows"} <= set(by_id)
    for fid, f in by_id.items():
        assert f["state"] == "plot", fid
        assert f["w"] >= 400 and f["h"] >= 200, fid
        assert 0.005 < f["ink"] < 0.9, (fid, f["ink"])  # neither blank nor a solid block


def test_screenshots_of_plots_show_data(rendered):
    """An axes with no data is black and grey; data is drawn in colour, left of the legend."""
    for fid in FIGURE_IDS + ["plot-cost-over-time", "plot-vpc-flows"]:
        distinct, saturated = colour_stats(rendered["shots"][fid])
        assert distinct > 30, (fid, distinct)
        assert saturated > 0.002, (fid, saturated)


def test_diagrams_are_drawn(rendered):
    by_id = {d["id"]: d for d in rendered["diagrams"]}
    assert set(by_id) == {"diagram-services", "diagram-network"}
    services = by_id["diagram-services"]
    assert len(services["nodes"]) == 8  # 3 traffic sources, 2 functions, 2 queues, 1 fleet
    assert len(services["edges"]) == services["edges_declared"] > 0
    for d in by_id.values():
        assert d["w"] > 300 and d["h"] > 100, d["id"]
        assert all(w > 50 and h > 15 for w, h in d["nodes"]), d["id"]
        assert all(size > 10 for size in d["edges"]), d["id"]
        distinct, saturated = colour_stats(rendered["shots"][d["id"]])
        assert distinct > 30 and saturated > 0.01, (d["id"], distinct, saturated)


def test_words_units_and_percentages(rendered):
    text = rendered["text"]
    s = rendered["summary"]
    assert "10 min simulated" in text
    assert "throttled (% of attempts)" in text and "latency p99" in text
    jobs = s["functions"]["jobs"]["throttle_ratio"]
    assert f"{100 * jobs:.2f} %" in text
    # the queue's messages in flight at the end, in words and in the table
    n = s["queues"]["work"]["in_flight_end"]
    assert n > 0
    assert rendered["in_flight_row"].split("\t")[0].strip() == "in flight at the end"
    assert f"{n:,}" in rendered["in_flight_row"]
    # what the month assumes
    assert "assumes the simulated 10 min repeated to fill a 730 h month (× 4,380)" in text
    # cost per service and per resource
    assert "By service" in text and "By resource" in text and "function:api" in text
    # SLOs: jobs is throttled by its reservation of 3
    assert "BREACHED: jobs throttled" in text


def test_numbers_on_the_page_are_the_summary(rendered):
    flat = flatten(rendered["summary"])
    seen = 0
    for key, value in rendered["cells"]:
        if key in flat:
            assert json.loads(value) == flat[key], key
            seen += 1
    assert seen >= 40  # the run table, both functions' rows and the cost summary
    for key in ("functions.api.invocations", "functions.jobs.throttles", "cost_usd.monthly",
                "queues.work.in_flight_end", "cost_usd.by_service.AWSLambda.monthly", "vpcs.net.flows"):
        assert any(k == key for k, _ in rendered["cells"]), key
