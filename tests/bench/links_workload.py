"""The bandwidth benchmark's flows (issue "Links and bandwidth"): 10 links of 1 Gbit/s; each
flow crosses 1 to 3 of them, chosen at random; Poisson arrivals; exponential sizes with a mean
of 1 MB. `load` is the offered load per link (1.0: on average each link is offered its
capacity), so above 1 flows pile up and the number active at once grows with the run."""

from __future__ import annotations

import numpy as np

LINKS = 10
CAPACITY_BPS = 1e9
MEAN_BYTES = 1e6


def links_workload(n_flows: int, load: float, seed: int = 1):
    """(capacity_bps, flows) for `share_links`."""
    rng = np.random.default_rng([seed, n_flows])
    caps = {f"link{j}": CAPACITY_BPS for j in range(LINKS)}
    names = list(caps)
    hops = rng.integers(1, 4, n_flows)
    paths = [[names[j] for j in rng.choice(LINKS, size=k, replace=False)] for k in hops]
    rate_per_s = load * CAPACITY_BPS * LINKS / (MEAN_BYTES * 8 * hops.mean())
    start = np.cumsum(rng.exponential(1 / rate_per_s, n_flows))
    size = rng.exponential(MEAN_BYTES, n_flows)
    flows = [{"start_s": float(s), "bytes": float(b), "path": p} for s, b, p in zip(start, size, paths)]
    return caps, flows


def mean_active(flows, done_s) -> float:
    """The time-average number of active flows, from the first start to the last completion."""
    start = np.array([f["start_s"] for f in flows])
    done = np.asarray(done_s)
    return float((done - start).sum() / (done.max() - start.min()))
