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
no losses slowing anyone, no protocol overhead: `bytes` are what crosses the links) and its
cost are described in `kernels/bandwidth.py`; `ShareState` and `share_arrays` also take packet
limits (a NAT gateway's packets per second) and count the packets TCP loses there.
`run_sharing` gives the rest of what the kernel computes: the bytes each link carried per
period, and what is still in flight at a horizon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np

from kernels.bandwidth import (BITS_PER_BYTE, DEFAULT_PACKET_BYTES, DEFAULT_RTT_S, GF_T, GI_CAP_CLS, GI_EVENTS,
                               GI_FREE_N, GI_N_REL, GI_OUT_N, HEAP_SLACK, HEADER_BYTES, N_GF, N_GI, NOT_DONE,
                               PACKET_UNIT_BYTES, share_window)
from kernels.heap import H_COLS

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
    [period, gateway]; the number of events; packets lost per [period, link] (on links with a
    packet limit, not rounded) and the highest load per [period, link]."""

    done_s: np.ndarray
    left_bits: np.ndarray
    ok: np.ndarray
    link_bits: np.ndarray
    nat_max: np.ndarray
    events: int
    link_drops: np.ndarray = None
    link_peak: np.ndarray = None


@dataclass
class Finished:
    """Flows a window finished (`ShareState.step`): per flow its tag, start (s), completion
    time (s; `inf`: still active at the final horizon) and bits left (all of them when it got
    no port)."""

    tag: np.ndarray
    start_s: np.ndarray
    done_s: np.ndarray
    left_bits: np.ndarray


def _grow(a: np.ndarray, n: int, fill=0) -> np.ndarray:
    """`a` with room for n rows (kept rows first, the new ones `fill`)."""
    if a.shape[0] >= n:
        return a
    b = np.full((n, *a.shape[1:]), fill, a.dtype)
    b[:a.shape[0]] = a
    return b


class ShareState:
    """The sharing of a set of links, resumable window by window (`kernels.bandwidth.share_window`).

    Paths are numbered as they first appear (`path_id`), and classes (a path, a per-flow cap
    and a kind: a packet size and a round-trip time, `kind`) as they first appear too, numbers
    of classes emptied reused (`classes`); port keys (a NAT gateway's destination) too
    (`port_key`). `packet_links` maps a link (a NAT gateway) to its packet limit, another link
    whose capacity is in bits of PACKET_UNIT_BYTES-byte packets: a path with either has both.
    Each `step(flows, t1)` runs the events before t1 with the flows starting in that window,
    and `step(..., final=True)` runs them up to the horizon and reports what is still active.
    The arrays grow as needed, in ways that change no outcome (free slots are taken in the
    same order whatever the capacity), so a run gives the same numbers, bit for bit, whatever
    its windows.
    """

    def __init__(self, cap_l: np.ndarray, *, period_s: float = math.inf, n_periods: int = 1, n_nat: int = 0,
                 packet_links: Mapping[int, int] = None):
        nl = len(cap_l)
        self.period_s = float(period_s)
        self._paths: Dict[tuple, int] = {}
        self._class: Dict[tuple, int] = {}  # (path, cap, kind) -> class
        self._kinds: Dict[tuple, int] = {}  # (packet bytes, RTT s) -> kind
        self._k_w, self._k_mr, self._k_pb = [], [], []
        self._free_cls: List[int] = []  # classes free to reuse (the next at the end)
        self._n_cls = 0
        self.c_cap = np.zeros(0, np.float64)
        self.c_pid = np.zeros(0, np.int64)
        self.c_kind = np.zeros(0, np.int64)
        self.c_w = np.zeros(0, np.float64)  # weight on a packet limit, MSS / RTT, packet bytes
        self.c_mr = np.zeros(0, np.float64)
        self.c_pb = np.zeros(0, np.float64)
        self.c_lo = np.zeros(0, np.int64)  # class c's links: c_links[c_lo[c]:c_hi[c]]
        self.c_hi = np.zeros(0, np.int64)
        self._seg = np.zeros(0, np.int64)  # each class's room in c_links
        self._plen = np.zeros(0, np.int64)  # each path's length and links (padded), for filling c_links
        self._ptab = np.zeros((0, 1), np.int64)
        self.c_links = np.zeros(0, np.int64)
        self.h_off = np.zeros(1, np.int64)
        self.hk = np.zeros(0, np.float64)
        self.hf = np.zeros(0, np.int64)
        self.k_arrays = {name: np.zeros(0, dt) for name, dt in _CLASS_ARRAYS}
        self.hh = np.zeros((HEAP_SLACK, H_COLS), np.int64)
        self.purge_t = np.zeros(HEAP_SLACK, np.float64)
        self.purge_i = np.zeros((HEAP_SLACK, 2), np.int64)
        f64, i64 = np.float64, np.int64
        self.cap_l = np.ascontiguousarray(cap_l, f64)
        # dem, unc, load, cap_eff, scratch_load, rem, users, wusers, lk_off
        self.l_arrays = [np.zeros(nl, f64), np.zeros(nl, i64), np.zeros(nl, f64), np.zeros(nl, f64),
                         np.zeros(nl, f64), np.zeros(nl, f64), np.zeros(nl, i64), np.zeros(nl, f64),
                         np.zeros(nl + 1, i64)]
        self.lk_cls = np.zeros(1, i64)
        self.link_bits = np.zeros((n_periods, nl), f64)
        self.link_peak = np.zeros((n_periods, nl), f64)  # the highest load in each period, bits/s
        self.l_pk = np.full(nl, -1, i64)  # a link's packet limit (-1: none)
        self.l_grp = np.arange(nl, dtype=i64)  # the link whose packet limit a link is (itself: none)
        for b, p in (packet_links or {}).items():
            if b == p or self.l_pk[b] >= 0 or self.l_grp[p] != p or self.l_pk[p] >= 0 or self.l_grp[b] != b:
                raise ValueError(f"packet_links: link {p} cannot be the packet limit of link {b}")
            self.l_pk[b] = p
            self.l_grp[p] = b
        self._companions = bool(packet_links)
        self.drop = np.zeros(nl, f64)  # packets lost per second on a link with a packet limit, now
        self.link_drops = np.zeros((n_periods, nl), f64)  # and per period (not rounded)
        self.plimit = np.zeros(0, i64)
        self.pnat = np.zeros(0, i64)
        self.pcnt = np.zeros(0, i64)
        self._keys: Dict[tuple, int] = {}
        self.nat_act = np.zeros(n_nat, i64)
        self.nat_amax = np.zeros((n_periods, n_nat), i64)
        self.s_start = np.zeros(0, f64)
        self.s_tag = np.zeros(0, i64)
        self.s_key = np.zeros(0, i64)
        self.s_hold = np.zeros(0, f64)
        self.free = np.zeros(0, i64)
        self.out = [np.zeros(0, i64), np.zeros(0, f64), np.zeros(0, f64), np.zeros(0, f64)]
        self.gi = np.zeros(N_GI, i64)
        self.gf = np.zeros(N_GF, f64)
        self.active = 0  # flows holding a slot

    # ---- what flows are ----
    def path_id(self, links: tuple) -> int:
        """The number of the path over `links` (link indices, any order; a link with a packet
        limit and its limit go together: either brings the other), kept for the run."""
        if self._companions:
            links = {*links, *(int(self.l_pk[l]) for l in links if self.l_pk[l] >= 0),
                     *(int(self.l_grp[l]) for l in links)}
        key = tuple(sorted(links))
        p = self._paths.get(key)
        if p is None:
            p = self._paths[key] = len(self._paths)
        return p

    def kind(self, packet_bytes: float = DEFAULT_PACKET_BYTES, rtt_s: float = DEFAULT_RTT_S) -> int:
        """The number of a kind of flow: its mean packet size (bytes) and round-trip time (s).
        On a packet limit it weighs PACKET_UNIT_BYTES / packet_bytes; its losses follow from
        MSS / RTT (MSS: the packet less HEADER_BYTES, at least 1)."""
        key = (float(packet_bytes), float(rtt_s))
        k = self._kinds.get(key)
        if k is None:
            if not (key[0] > 0 and key[1] > 0 and math.isfinite(key[0]) and math.isfinite(key[1])):
                raise ValueError(f"a kind of flow needs a packet size and a round-trip time > 0, got {key}")
            k = self._kinds[key] = len(self._kinds)
            self._k_w.append(PACKET_UNIT_BYTES / key[0])
            self._k_mr.append(max(key[0] - HEADER_BYTES, 1.0) / key[1])
            self._k_pb.append(key[0])
        return k

    def classes(self, pid: np.ndarray, caps: np.ndarray, kinds: np.ndarray = None) -> np.ndarray:
        """The class of each flow with path pid[i], per-flow cap caps[i] (inf: none) and kind
        kinds[i] (`kind`; None: the default kind): flows with the same path, cap and kind always
        get the same rate and lose packets alike. A class's number is taken from those freed
        (empty at a window's end) or is new; numbers change no outcome (the kernel ranks classes
        by cap and path, and those of equal rank in the order they became active)."""
        n = len(pid)
        if not n:
            return np.zeros(0, np.int64)
        pid = np.asarray(pid, np.int64)
        caps = np.asarray(caps, np.float64)
        kinds = np.full(n, self.kind(), np.int64) if kinds is None else np.asarray(kinds, np.int64)
        order = np.lexsort((kinds, pid, caps))
        first = np.ones(n, bool)
        first[1:] = ((caps[order][1:] != caps[order][:-1]) | (pid[order][1:] != pid[order][:-1])
                     | (kinds[order][1:] != kinds[order][:-1]))
        group = np.empty(n, np.int64)
        group[order] = np.cumsum(first) - 1
        heads = order[first]
        ids = np.empty(len(heads), np.int64)
        new = []
        if self._class:
            get = self._class.get
            for g, key in enumerate(zip(pid[heads].tolist(), caps[heads].tolist(), kinds[heads].tolist())):
                k = get(key)
                if k is None:
                    new.append(g)
                else:
                    ids[g] = k
            new = np.array(new, np.int64)
        else:
            new = np.arange(len(heads))
        if len(new):
            new = new[np.argsort(heads[new], kind="stable")]  # in order of first appearance
            nf = min(len(self._free_cls), len(new))
            reuse = self._free_cls[len(self._free_cls) - nf:][::-1]
            del self._free_cls[len(self._free_cls) - nf:]
            fresh = list(range(self._n_cls, self._n_cls + len(new) - nf))
            self._n_cls += len(fresh)
            got = np.array(reuse + fresh, np.int64)
            ids[new] = got
            np_pid, np_cap, np_kind = pid[heads[new]], caps[heads[new]], kinds[heads[new]]
            self._class.update(zip(zip(np_pid.tolist(), np_cap.tolist(), np_kind.tolist()), got.tolist()))
            self._set_classes(got, np_pid, np_cap, np_kind)
        return ids[group]

    def port_key(self, key: tuple, limit: int, nat: int) -> int:
        """The number of a destination `key` behind gateway `nat`, `limit` ports open at once."""
        k = self._keys.get(key)
        if k is None:
            k = self._keys[key] = len(self._keys)
            self.plimit = np.append(self.plimit, np.int64(limit))
            self.pnat = np.append(self.pnat, np.int64(nat))
            self.pcnt = np.append(self.pcnt, np.int64(0))
        return k

    def _set_classes(self, ids: np.ndarray, pid: np.ndarray, caps: np.ndarray, kinds: np.ndarray) -> None:
        k1 = self._n_cls
        if len(self.c_cap) < k1:
            size = max(k1, 2 * len(self.c_cap))
            self.c_cap = _grow(self.c_cap, size)
            self.c_pid = _grow(self.c_pid, size)
            self.c_kind = _grow(self.c_kind, size)
            self.c_w, self.c_mr, self.c_pb = _grow(self.c_w, size), _grow(self.c_mr, size), _grow(self.c_pb, size)
            self.c_lo, self.c_hi = _grow(self.c_lo, size), _grow(self.c_hi, size)
            self.h_off = np.concatenate([self.h_off, np.full(size + 1 - len(self.h_off), self.h_off[-1], np.int64)])
            for name, _dt in _CLASS_ARRAYS:
                self.k_arrays[name] = _grow(self.k_arrays[name], size, -1 if name == "cseq" else 0)
            cap_h = 4 * size + HEAP_SLACK
            self.hh, self.purge_t, self.purge_i = _grow(self.hh, cap_h), _grow(self.purge_t, cap_h), \
                _grow(self.purge_i, cap_h)
        self.c_cap[ids] = caps
        self.c_pid[ids] = pid
        self.c_kind[ids] = kinds
        self.c_w[ids] = np.array(self._k_w)[kinds]
        self.c_mr[ids] = np.array(self._k_mr)[kinds]
        self.c_pb[ids] = np.array(self._k_pb)[kinds]
        # each class's links: its old segment if the path fits, else a new one at the end
        if len(self._plen) < len(self._paths):
            paths = list(self._paths)
            self._plen = np.array([len(x) for x in paths], np.int64)
            self._ptab = np.zeros((len(paths), max(int(self._plen.max()), 1)), np.int64)
            for k, x in enumerate(paths):
                self._ptab[k, :len(x)] = x
        lens = self._plen[pid]
        self._seg = _grow(self._seg, len(self.c_cap))
        fits = lens <= self._seg[ids]
        end = len(self.c_links)
        extra = int(lens[~fits].sum())
        if extra:
            self.c_links = _grow(self.c_links, end + extra)
            self.c_lo[ids[~fits]] = end + np.cumsum(lens[~fits]) - lens[~fits]
            self._seg[ids[~fits]] = lens[~fits]
        lo = self.c_lo[ids]
        self.c_hi[ids] = lo + lens
        total = int(lens.sum())
        within = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
        self.c_links[np.repeat(lo, lens) + within] = self._ptab[np.repeat(pid, lens), within]
        self.lk_cls = _grow(self.lk_cls, max(len(self.c_links), 1))

    def _free_empty(self) -> None:
        """Classes with no flow at a window's end are forgotten; their numbers are reused."""
        k = self._n_cls
        empty = np.flatnonzero(self.k_arrays["cnt"][:k] == 0)
        if len(empty) == len(self._free_cls):
            return
        live = np.ones(k, bool)
        live[self._free_cls] = False
        gone = empty[live[empty]]
        if 2 * len(gone) > len(self._class):  # most are gone: the rest, afresh
            keep = np.ones(k, bool)
            keep[empty] = False
            kept = np.flatnonzero(keep)
            self._class = dict(zip(zip(self.c_pid[kept].tolist(), self.c_cap[kept].tolist(),
                                       self.c_kind[kept].tolist()), kept.tolist()))
        else:
            for c in gone.tolist():
                del self._class[(int(self.c_pid[c]), float(self.c_cap[c]), int(self.c_kind[c]))]
        self._free_cls.extend(gone[::-1].tolist())  # (the lowest is taken first)

    def _room(self, fcls: np.ndarray, n: int) -> None:
        """Heap room per class for its active and new flows, slots and `out` room for them."""
        cnt = self.k_arrays["cnt"]
        need = cnt + np.bincount(fcls, minlength=len(cnt))
        have = np.diff(self.h_off)
        if (need > have).any():
            new_cap = np.where(need > have, np.maximum(2 * have, np.maximum(need, 4)), have)
            new_off = np.zeros(len(new_cap) + 1, np.int64)
            new_off[1:] = np.cumsum(new_cap)
            hk, hf = np.zeros(int(new_off[-1]), np.float64), np.zeros(int(new_off[-1]), np.int64)
            total = int(cnt.sum())
            if total:
                within = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
                src = np.repeat(self.h_off[:-1], cnt) + within
                dst = np.repeat(new_off[:-1], cnt) + within
                hk[dst], hf[dst] = self.hk[src], self.hf[src]
            self.h_off, self.hk, self.hf = new_off, hk, hf
        free_n = int(self.gi[GI_FREE_N])
        if free_n < n:
            # new slots go under the free ones, in the order an endless stack would give them
            s0 = len(self.s_start)
            s1 = max(2 * s0, s0 + n - free_n, 16)
            fresh = np.arange(s1 - 1, s0 - 1, -1, dtype=np.int64)
            free = np.zeros(s1, np.int64)
            free[:len(fresh)] = fresh
            free[len(fresh):len(fresh) + free_n] = self.free[:free_n]
            self.free = free
            self.gi[GI_FREE_N] = free_n + len(fresh)
            self.s_start, self.s_tag, self.s_key, self.s_hold = _grow(self.s_start, s1), _grow(self.s_tag, s1), \
                _grow(self.s_key, s1), _grow(self.s_hold, s1)
        # the completion heap: 4 entries per class and HEAP_SLACK for the classes, and a release
        # for every port held idle now and for every flow that may end in this window (those
        # active and the new ones)
        cap_cls = 4 * len(self.c_cap) + HEAP_SLACK
        self.gi[GI_CAP_CLS] = cap_cls
        rows = cap_cls + int(self.gi[GI_N_REL]) + self.active + n
        if len(self.hh) < rows:
            self.hh = _grow(self.hh, max(rows, 2 * len(self.hh)))
        self.purge_t, self.purge_i = _grow(self.purge_t, len(self.hh)), _grow(self.purge_i, len(self.hh))
        room = self.active + n
        if len(self.out[0]) < room:
            self.out = [_grow(a, max(room, 2 * len(a))) for a in self.out]

    # ---- running ----
    def step(self, start: np.ndarray, bits: np.ndarray, fcls: np.ndarray, pkey: np.ndarray, tag: np.ndarray,
             t1: float, final: bool = False, force: float = -1.0, hold=None) -> Tuple[np.ndarray, Finished]:
        """Run to t1 with the flows that start in [previous t1, t1) (or at t1 when final), in
        order of start: their bits, class (`classes`), port key (`port_key`, -1: none) and tag.
        Returns whether each got a port, and the flows finished (and, when final, those still
        active)."""
        n = len(start)
        fcls = np.ascontiguousarray(fcls, np.int64)
        self._room(fcls, n)
        ok = np.ones(n, bool)
        ka = self.k_arrays
        cls = (self.c_lo, self.c_hi, self.c_links, self.c_cap, self.c_pid, self.h_off, self.c_w, self.c_mr, self.c_pb)
        dyn = (ka["cnt"], ka["vb"], ka["tb"], ka["rate"], ka["new_rate"], ka["cseq"], ka["mark"], ka["frozen"],
               ka["act"], ka["sub"], ka["new_sub"], self.hh, self.purge_t, self.purge_i, ka["lim"])
        la = self.l_arrays
        links = (self.cap_l, *la, self.lk_cls, self.link_bits, self.link_peak, self.l_pk, self.l_grp, self.drop,
                 self.link_drops)
        ports = (self.plimit, self.pnat, self.pcnt, self.nat_act, self.nat_amax)
        slots = (self.s_start, self.s_tag, self.s_key, self.s_hold, self.free)
        inp = (np.ascontiguousarray(start, np.float64), np.ascontiguousarray(bits, np.float64), fcls,
               np.ascontiguousarray(pkey, np.int64), np.ascontiguousarray(tag, np.int64),
               np.zeros(n) if hold is None else np.ascontiguousarray(hold, np.float64), ok)
        self.gi[GI_OUT_N] = 0
        share_window(cls, dyn, (self.hk, self.hf), links, ports, slots, tuple(self.out), self.gi, self.gf, inp,
                     float(t1), bool(final), self.period_s, float(force))
        m = int(self.gi[GI_OUT_N])
        self.active = len(self.s_start) - int(self.gi[GI_FREE_N])
        done = Finished(*(a[:m].copy() for a in self.out))
        if not final:
            self._free_empty()
        return ok, done

    def carried_bits(self, link: int, t: float) -> float:
        """The bits link `link` carried from the start up to t (every event before t done, none
        after: a step to t came first): what the periods hold, and the load since the last
        event. On a packet limit, in bits of PACKET_UNIT_BYTES-byte packets."""
        return float(self.link_bits[:, link].sum()) + float(self.l_arrays[2][link]) * (t - float(self.gf[GF_T]))

    def set_capacity(self, caps: Dict[int, float], t: float) -> None:
        """Links' capacities (index -> bits/s) change at t, every event before t done (a step to
        t came first): the rates are recomputed at t, before anything else happens at t. A
        capacity of 0 stalls the flows on the link (a failed link before routing notices)."""
        for l, bps in caps.items():
            self.cap_l[l] = float(bps)
        z = np.zeros(0)
        zi = np.zeros(0, np.int64)
        self.step(z, z, zi, zi, zi, t, final=False, force=t)

    @property
    def events(self) -> int:
        return int(self.gi[GI_EVENTS])


_CLASS_ARRAYS = (("cnt", np.int64), ("vb", np.float64), ("tb", np.float64), ("rate", np.float64),
                 ("new_rate", np.float64), ("cseq", np.int64), ("mark", np.int64), ("frozen", np.bool_),
                 ("act", np.int64), ("sub", np.int64), ("new_sub", np.int64), ("lim", np.int64))


def share_arrays(cap_l: np.ndarray, start: np.ndarray, bits: np.ndarray, paths: Sequence[tuple], caps: np.ndarray, *,
                 t_end: float = math.inf, period_s: float = math.inf, n_periods: int = 1, ports=None,
                 hold=None, packet_links: Mapping[int, int] = None, packet_bytes=None, rtt_s=None) -> Shared:
    """The kernel's call on arrays, in one window: link capacities (bits/s), each flow's start
    (s), bits, path (a tuple of link indices) and cap (bits/s, inf: none). `ports`: None, or
    (per flow its destination key or -1, per key its limit and its gateway, the number of
    gateways). `hold`: per flow, how long its port stays taken after its completion (None: 0).
    `packet_links`: link -> its packet limit (a link of cap_l whose capacity is in bits of
    PACKET_UNIT_BYTES-byte packets; `ShareState`); `packet_bytes`, `rtt_s`: per flow its mean
    packet size and round-trip time (None: the defaults)."""
    n = len(start)
    caps = np.asarray(caps, np.float64)
    n_nat = 0 if ports is None else ports[3]
    st = ShareState(cap_l, period_s=period_s, n_periods=n_periods, n_nat=n_nat, packet_links=packet_links)
    pb = np.full(n, float(DEFAULT_PACKET_BYTES)) if packet_bytes is None else np.asarray(packet_bytes, np.float64)
    rtt = np.full(n, DEFAULT_RTT_S) if rtt_s is None else np.asarray(rtt_s, np.float64)
    kinds = np.array([st.kind(b, r) for b, r in zip(pb.tolist(), rtt.tolist())], np.int64)
    distinct: Dict[tuple, int] = {}
    local = np.fromiter((distinct.setdefault(p, len(distinct)) for p in paths), np.int64, n)
    pid = np.array([st.path_id(p) for p in distinct], np.int64)[local] if n else np.zeros(0, np.int64)
    # classes numbered in order of (cap, path): the kernel walks them in that order, so their
    # arrays are read in sequence (numbers change no outcome; a third faster with 2,500 classes)
    by_cap = np.lexsort((kinds, pid, caps))
    fcls = np.empty(n, np.int64)
    fcls[by_cap] = st.classes(pid[by_cap], caps[by_cap], kinds[by_cap])
    order = np.argsort(start, kind="stable")
    pkey = np.full(n, -1, np.int64)
    if ports is not None:
        pkey, plimit, pnat, _ = ports
        for k in range(len(plimit)):
            st.port_key(("key", k), int(plimit[k]), int(pnat[k]))
    order = order[start[order] <= t_end]
    ok_in, fin = st.step(start[order], np.asarray(bits, np.float64)[order], fcls[order], np.asarray(pkey)[order],
                         order.astype(np.int64), float(t_end), final=True,
                         hold=None if hold is None else np.asarray(hold, np.float64)[order])
    done = np.full(n, NOT_DONE, np.float64)
    left = np.asarray(bits, np.float64).copy()
    ok = np.ones(n, bool)
    ok[order] = ok_in
    done[fin.tag] = fin.done_s
    left[fin.tag] = fin.left_bits
    return Shared(done, left, ok, st.link_bits, st.nat_amax, st.events, st.link_drops, st.link_peak)


def share_links(capacity_bps: Mapping[str, float], flows: Sequence[Mapping]) -> List[float]:
    """Each flow's completion time (s) when the flows share the links max-min fairly.

    `capacity_bps`: link name -> capacity in bits/s. `flows`: dicts with `start_s` (s),
    `bytes`, `path` (a list of link names) and optionally `cap_bps` (the flow's own rate cap,
    bits/s; a flow with an empty path needs one). The allocation is recomputed at every
    arrival and completion; the result is in the order of `flows`. Mistakes raise
    `BandwidthError` naming the flow and key.
    """
    return run_sharing(capacity_bps, flows).done_s.tolist()
