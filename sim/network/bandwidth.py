"""Links shared by flows: max-min fair sharing with exact completion times (`kernels.bandwidth`).

`share_links(capacity_bps, flows)` is the public entry point for the sharing alone — what-ifs
("how long does a 2 TB copy take over a 10 Gbps link shared with these flows?") and tests:

    >>> done = share_links({"dx": 10e6}, [{"start_s": 0, "bytes": 1e6, "path": ["dx"]},
    ...                                   {"start_s": 0, "bytes": 2e6, "path": ["dx"]}])
    >>> [round(t, 9) for t in done]
    [1.6, 2.4]

Both flows get 5 Mbit/s until the first has sent its 8 Mbit (1.6 s); the second then has
the whole link for its last 8 Mbit (0.8 s more).

The model (fluid max-min fairness, the average of TCP sharing a bottleneck; no slow start,
no losses, no protocol overhead: `bytes` are what crosses the links) and its cost are
described in `kernels/bandwidth.py`. `run_sharing` gives the rest of what the kernel
computes: the bytes each link carried per period, and what is still in flight at a horizon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Mapping, Sequence

import numpy as np

from kernels.bandwidth import BITS_PER_BYTE, share

FLOW_KEYS = ("start_s", "bytes", "path", "cap_bps")
_ALLOWED = frozenset(FLOW_KEYS)


class BandwidthError(ValueError):
    """A link or flow given to `share_links` that cannot be shared; the message names it."""


@dataclass
class Sharing:
    """The outcome of `run_sharing`: per flow (in the order given) its completion time
    (`inf` if still active at `t_end`) and the bytes it had left; per link the bytes it
    carried in each period; the number of events (arrivals and completions)."""

    done_s: np.ndarray
    left_bytes: np.ndarray
    link_bytes: Dict[str, np.ndarray]
    period_s: float
    events: int


_NUMBERS = (int, float, np.integer, np.floating)


def _number(value, where: str, what: str, *, positive: bool = False, allow_inf: bool = False) -> float:
    if type(value) is bool or not isinstance(value, _NUMBERS):
        raise BandwidthError(f"{where}: expected {what}, got {value!r}")
    x = float(value)
    if not (x > 0 if positive else x >= 0) or (x == math.inf and not allow_inf):  # (NaN fails both)
        raise BandwidthError(f"{where}: expected {what}, got {value!r}")
    return x


def _links(capacity_bps: Mapping[str, float]) -> Dict[str, int]:
    if not isinstance(capacity_bps, Mapping) or not capacity_bps:
        raise BandwidthError(f"capacity_bps: expected a dict of link name -> bits/s, got {capacity_bps!r}")
    index = {}
    for name, cap in capacity_bps.items():
        if not isinstance(name, str) or not name:
            raise BandwidthError(f"capacity_bps: link names are non-empty strings, got {name!r}")
        _number(cap, f"capacity_bps[{name!r}]", "a capacity in bits/s > 0", positive=True)
        index[name] = len(index)
    return index


def _flow(k: int, flow, index: Dict[str, int]):
    where = f"flows[{k}]"
    if not isinstance(flow, Mapping):
        raise BandwidthError(f"{where}: expected a dict with keys {', '.join(FLOW_KEYS)}, got {flow!r}")
    if not _ALLOWED.issuperset(flow):
        unknown = sorted(set(flow) - _ALLOWED, key=str)
        raise BandwidthError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(FLOW_KEYS)})")
    for key in ("start_s", "bytes", "path"):
        if key not in flow:
            raise BandwidthError(f"{where}: missing {key!r}")
    start = _number(flow["start_s"], f"{where}.start_s", "a start time in seconds >= 0")
    size = _number(flow["bytes"], f"{where}.bytes", "a size in bytes >= 0")
    path = flow["path"]
    if not isinstance(path, (list, tuple)):
        raise BandwidthError(f"{where}.path: expected a list of link names, got {path!r}")
    links = []
    for j, name in enumerate(path):
        link = index.get(name) if isinstance(name, str) else None
        if link is None:
            raise BandwidthError(f"{where}.path[{j}]: unknown link {name!r} (links: {', '.join(index)})")
        if link in links:
            raise BandwidthError(f"{where}.path[{j}]: link {name!r} appears twice on the path")
        links.append(link)
    cap = flow.get("cap_bps")
    cap = math.inf if cap is None else _number(cap, f"{where}.cap_bps", "a rate cap in bits/s > 0", positive=True,
                                               allow_inf=True)
    if not links and cap == math.inf:
        raise BandwidthError(f"{where}: a flow with an empty path needs a cap_bps (else its rate is unbounded)")
    return start, size, tuple(links), cap


def run_sharing(capacity_bps: Mapping[str, float], flows: Sequence[Mapping], t_end: float = math.inf,
                period_s: float = math.inf) -> Sharing:
    """Share the links among the flows until every flow is done (or t_end); see `share_links`."""
    index = _links(capacity_bps)
    t_end = _number(t_end, "t_end", "a horizon in seconds >= 0", allow_inf=True)
    period_s = _number(period_s, "period_s", "a period in seconds > 0", positive=True, allow_inf=True)
    if not isinstance(flows, (list, tuple)):
        raise BandwidthError(f"flows: expected a list of dicts, got {type(flows).__name__}")
    parsed = [_flow(k, f, index) for k, f in enumerate(flows)]
    start = np.array([p[0] for p in parsed], np.float64)
    bits = np.array([p[1] for p in parsed], np.float64) * BITS_PER_BYTE
    cap_l = np.array([float(capacity_bps[name]) for name in index], np.float64)
    caps = np.array([p[3] for p in parsed], np.float64)
    n_periods = 1
    if period_s < math.inf:
        horizon = t_end
        if horizon == math.inf:  # every flow ends by then: all the bits at the slowest share of the links
            slowest = min(float(cap_l.min()), float(caps.min()) if len(caps) else math.inf)
            horizon = (float(start.max()) if len(start) else 0.0) + float(bits.sum()) / slowest
        n_periods = max(1, int(math.ceil(horizon / period_s)) + 1)
    out = share_arrays(cap_l, start, bits, [p[2] for p in parsed], caps, t_end=t_end, period_s=period_s,
                       n_periods=n_periods)
    return Sharing(done_s=out.done_s, left_bytes=out.left_bits / BITS_PER_BYTE,
                   link_bytes={name: out.link_bits[:, l] / BITS_PER_BYTE for name, l in index.items()},
                   period_s=period_s, events=out.events)


@dataclass
class Shared:
    """What `share_arrays` returns: per flow (in the order given) its completion time, its bits
    left and whether it got a port; bits per [period, link]; the most ports open at once per
    [period, gateway]; the number of events."""

    done_s: np.ndarray
    left_bits: np.ndarray
    ok: np.ndarray
    link_bits: np.ndarray
    nat_max: np.ndarray
    events: int


def share_arrays(cap_l: np.ndarray, start: np.ndarray, bits: np.ndarray, paths: Sequence[tuple], caps: np.ndarray, *,
                 t_end: float = math.inf, period_s: float = math.inf, n_periods: int = 1, ports=None) -> Shared:
    """The kernel's call on arrays: link capacities (bits/s), each flow's start (s), bits, path
    (a tuple of link indices) and cap (bits/s, inf: none). `ports`: None, or (per flow its
    destination key or -1, per key its limit and its gateway, the number of gateways)."""
    n = len(start)
    caps = np.asarray(caps, np.float64)
    # flows with the same links (in any order) and the same cap always get the same rate; the
    # classes are numbered in ascending order of cap (the kernel takes capped classes in order)
    links_of: Dict[tuple, int] = {}
    pid = np.fromiter((links_of.setdefault(tuple(sorted(p)), len(links_of)) for p in paths), np.int64, n)
    path_list = list(links_of)
    order = np.lexsort((pid, caps))
    first = np.ones(n, bool)
    first[1:] = (caps[order][1:] != caps[order][:-1]) | (pid[order][1:] != pid[order][:-1])
    fcls = np.empty(n, np.int64)
    fcls[order] = np.cumsum(first) - 1
    heads = order[first]  # a flow of each class, in class order
    c_cap = caps[heads]
    class_links = [path_list[k] for k in pid[heads]]
    c_off = np.zeros(len(heads) + 1, np.int64)
    c_off[1:] = np.cumsum([len(links) for links in class_links])
    c_links = np.array([l for links in class_links for l in links], np.int64)
    h_off = np.zeros(len(heads) + 1, np.int64)
    h_off[1:] = np.cumsum(np.bincount(fcls, minlength=len(heads)))
    if ports is None:
        pkey, plimit, pnat, n_nat = np.full(n, -1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), 0
    else:
        pkey, plimit, pnat, n_nat = ports
    order = np.argsort(start, kind="stable")
    link_bits = np.zeros((n_periods, len(cap_l)), np.float64)
    nat_max = np.zeros((n_periods, n_nat), np.int64)
    done_sorted, left_sorted, ok_sorted = np.empty(n, np.float64), np.empty(n, np.float64), np.ones(n, bool)
    events = share(np.ascontiguousarray(start[order], np.float64), np.ascontiguousarray(bits[order], np.float64),
                   fcls[order], c_off, c_links, c_cap, np.ascontiguousarray(cap_l, np.float64), h_off, float(t_end),
                   float(period_s), done_sorted, left_sorted, link_bits, np.ascontiguousarray(pkey[order], np.int64),
                   np.ascontiguousarray(plimit, np.int64), np.ascontiguousarray(pnat, np.int64), ok_sorted, nat_max)
    done, left, ok = np.empty(n, np.float64), np.empty(n, np.float64), np.empty(n, bool)
    done[order], left[order], ok[order] = done_sorted, left_sorted, ok_sorted
    return Shared(done, left, ok, link_bits, nat_max, int(events))


def share_links(capacity_bps: Mapping[str, float], flows: Sequence[Mapping]) -> List[float]:
    """Each flow's completion time (s) when the flows share the links max-min fairly.

    `capacity_bps`: link name -> capacity in bits/s. `flows`: dicts with `start_s` (s),
    `bytes`, `path` (a list of link names) and optionally `cap_bps` (the flow's own rate cap,
    bits/s; a flow with an empty path needs one). The allocation is recomputed at every
    arrival and completion; the result is in the order of `flows`. Mistakes raise
    `BandwidthError` naming the flow and key.
    """
    return run_sharing(capacity_bps, flows).done_s.tolist()
