"""Max-min fair sharing (`sim.network.bandwidth.share_links`) against its plain-Python twin
(`kernels/ref/bandwidth.py`: per flow, progressive filling from scratch at every arrival and
completion) on the same 10,000 flows over 10 links with about 2,500 active at once, in the same
run (bar: 20x). Then flows per second of `share_links` (validation of the input included) at
about 50, 2,500 and 10,000 flows active at once: its cost per event grows with the number of
(path, cap) classes active, not with the number of flows (`kernels/bandwidth.py`); and at
2,500 with a cap of its own on every flow, where every flow is a class of its own.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from kernels.ref.bandwidth import share_ref
from links_workload import links_workload, mean_active
from sim.network.bandwidth import share_links

BAR_FLOWS = 10_000
BAR_LOAD = 2.15  # about 2,500 flows active at once
LEVELS = {50: (10_000, 0.85), 2_500: (BAR_FLOWS, BAR_LOAD), 10_000: (40_000, 2.1)}


@pytest.fixture(scope="module")
def compiled():
    share_links(*links_workload(10, 1.0))


def test_share_links_against_its_twin(benchmark, bench_figures, compiled):
    caps, flows = links_workload(BAR_FLOWS, BAR_LOAD)
    t0 = time.perf_counter()
    ref_done, _, _ = share_ref([f["start_s"] for f in flows], [f["bytes"] * 8 for f in flows],
                               [f["path"] for f in flows], [math.inf] * len(flows), caps)
    ref_s = time.perf_counter() - t0
    done = benchmark.pedantic(share_links, args=(caps, flows), rounds=3, iterations=1)
    kernel_s = benchmark.stats.stats.min
    assert done == pytest.approx(ref_done, rel=1e-9)
    figures = {"flows": BAR_FLOWS, "mean_active": mean_active(flows, done), "share_links_s": kernel_s,
               "twin_s": ref_s, "over_twin": ref_s / kernel_s}
    benchmark.extra_info.update(figures)
    bench_figures.setdefault("links", {})["bar"] = figures


@pytest.mark.parametrize("level", [*LEVELS, "2500_capped"])
def test_share_links_flows_per_second(benchmark, bench_figures, compiled, level):
    capped = level == "2500_capped"
    n, load = LEVELS[2_500 if capped else level]
    caps, flows = links_workload(n, load)
    if capped:  # a cap of its own on each flow, from 50 to 500 Mbit/s
        rng = np.random.default_rng(5)
        for f in flows:
            f["cap_bps"] = float(rng.uniform(0.05e9, 0.5e9))
    done = benchmark.pedantic(share_links, args=(caps, flows), rounds=3, iterations=1)
    wall_s = benchmark.stats.stats.min
    figures = {"flows": n, "mean_active": mean_active(flows, done), "wall_s": wall_s, "flows_per_s": n / wall_s}
    benchmark.extra_info.update(figures)
    bench_figures.setdefault("links", {})[f"active_{level}"] = figures
