"""report.html as a person sees it: rendered in headless Chromium, plots drawn, numbers right."""

from __future__ import annotations

import json
import shutil

import pytest

from sim import simulate
from sim.report import FIGURE_IDS

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


def flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    out = tmp_path_factory.mktemp("run")
    simulate({"name": "browser", "duration_s": 600, "seed": 3,
              "functions": {"api": {"memory_mb": 512, "provisioned_concurrency": 2,
                                    "duration_ms": {"dist": "lognormal", "median": 60, "p99": 400}},
                            "jobs": {"reserved_concurrency": 3, "duration_ms": {"dist": "exponential", "mean": 500}}},
              "traffic": [{"name": "web", "target": "function:api", "arrivals": {"kind": "poisson", "rate_per_s": 40}},
                          {"name": "bg", "target": "function:jobs", "invocation": "async",
                           "arrivals": {"kind": "poisson", "rate_per_s": 8}},
                          {"name": "uploads", "target": "queue:work", "arrivals": {"kind": "poisson", "rate_per_s": 6}}],
              # a worker that drains 5 messages a second: the backlog grows
              "queues": {"work": {"visibility_timeout_s": 60}},
              "worker_fleets": {"w": {"queue": "work", "workers": 1,
                                      "processing_ms": {"dist": "fixed", "value": 200}}},
              "record": {"period_s": 60, "requests": {"sample": 0.2}}}, out_dir=out)
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: errors.append(f"failed request {r.url}"))
        page.goto((out / "report.html").as_uri(), wait_until="load")
        figures = page.eval_on_selector_all("figure", INK_JS)
        cells = page.eval_on_selector_all("[data-key]", "els => els.map(e => [e.dataset.key, e.dataset.value])")
        title = page.title()
        browser.close()
    summary = json.loads((out / "summary.json").read_text())
    return {"errors": errors, "figures": figures, "cells": cells, "title": title, "summary": summary}


def test_page_loads_without_errors(rendered):
    assert rendered["errors"] == []
    assert rendered["title"] == "cloudtwin: browser"


def test_every_plot_is_there_and_drawn(rendered):
    by_id = {f["id"]: f for f in rendered["figures"]}
    assert set(FIGURE_IDS) | {"plot-cost-over-time"} <= set(by_id)
    for fid, f in by_id.items():
        assert f["state"] == "plot", fid
        assert f["w"] >= 400 and f["h"] >= 200, fid
        assert 0.005 < f["ink"] < 0.9, (fid, f["ink"])  # neither blank nor a solid block


def test_numbers_on_the_page_are_the_summary(rendered):
    flat = flatten(rendered["summary"])
    seen = 0
    for key, value in rendered["cells"]:
        if key in flat:
            assert json.loads(value) == flat[key], key
            seen += 1
    assert seen >= 40  # the run table, both functions' rows and the cost summary
    for key in ("functions.api.invocations", "functions.jobs.throttles", "cost_usd.monthly"):
        assert any(k == key for k, _ in rendered["cells"]), key
