"""Max-min fair sharing of links (`kernels.bandwidth`, `sim.network.bandwidth.share_links`):
cases worked out by hand, the kernel against its per-flow twin, conservation of bytes, and
processor sharing's theory (one link with Poisson flow arrivals is an M/G/1-PS queue)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kernels.ref.bandwidth import max_min_rates, share_ref
from sim.network.bandwidth import BandwidthError, run_sharing, share_links
from test_validation_lambda import ci

MBPS = 1e6


def flow(start_s, mbit, path, cap_mbps=None):
    f = {"start_s": start_s, "bytes": mbit * MBPS / 8, "path": list(path)}
    if cap_mbps is not None:
        f["cap_bps"] = cap_mbps * MBPS
    return f


# ---- cases worked out by hand (Mbit and Mbit/s; times exact up to rounding)

def test_one_bottleneck():
    """Two flows of 8 and 16 Mbit share 10 Mbit/s: 5 each until 1.6 s, then 10 for the
    second's last 8 Mbit (0.8 s)."""
    assert share_links({"L": 10 * MBPS}, [flow(0, 8, "L"), flow(0, 16, "L")]) == pytest.approx([1.6, 2.4], rel=1e-12)


def test_two_bottlenecks():
    """A = 10, B = 4 Mbit/s; flow 0 over A and B (4 Mbit), flow 1 over A (16), flow 2 over B (2).
    B is the bottleneck: flows 0 and 2 get 2, flow 1 the rest of A, 8. Flow 2 ends at 1 s;
    then B gives flow 0 all its 4 and A gives flow 1 6: flow 0's last 2 Mbit end at 1.5 s;
    flow 1 has 16 - 8 - 3 = 5 Mbit left at 1.5 s, alone on A: 2.0 s."""
    got = share_links({"A": 10 * MBPS, "B": 4 * MBPS}, [flow(0, 4, "AB"), flow(0, 16, "A"), flow(0, 2, "B")])
    assert got == pytest.approx([1.5, 2.0, 1.0], rel=1e-12)


def test_parking_lot():
    """Three links of 10 Mbit/s in a row; the long flow crosses all three, each short flow one:
    every link has two flows, so all get 5 (the long flow is not punished for its length)."""
    caps = {"l1": 10 * MBPS, "l2": 10 * MBPS, "l3": 10 * MBPS}
    flows = [flow(0, 5, ["l1", "l2", "l3"]), flow(0, 5, ["l1"]), flow(0, 5, ["l2"]), flow(0, 5, ["l3"])]
    assert share_links(caps, flows) == pytest.approx([1.0] * 4, rel=1e-12)
    rates = max_min_rates([["l1", "l2", "l3"], ["l1"], ["l2"], ["l3"]], [math.inf] * 4, caps)
    assert rates == pytest.approx([5 * MBPS] * 4)


def test_capped_flow_leaves_its_share_to_the_others():
    """10 Mbit/s; flow 0 capped at 2, flows 1 and 2 uncapped: 2, 4, 4. Flow 1 (8 Mbit) and
    flow 2 (8) end at 2 s; flow 0 (6 Mbit) has 2 left, still at its cap: 3 s."""
    got = share_links({"L": 10 * MBPS}, [flow(0, 6, "L", cap_mbps=2), flow(0, 8, "L"), flow(0, 8, "L")])
    assert got == pytest.approx([3.0, 2.0, 2.0], rel=1e-12)


def test_a_flow_arriving_and_one_leaving_mid_way():
    """10 Mbit/s; flow 0 (10 Mbit) alone until 0.5 s (5 Mbit left); flow 1 (2.5 Mbit) arrives:
    5 each, flow 1 ends at 1.0 s; flow 0's last 2.5 Mbit at 10: 1.25 s."""
    got = share_links({"L": 10 * MBPS}, [flow(0, 10, "L"), flow(0.5, 2.5, "L")])
    assert got == pytest.approx([1.25, 1.0], rel=1e-12)


def test_flow_limited_only_by_its_cap_and_empty_flows():
    got = share_links({"L": 10 * MBPS}, [flow(1.0, 3, [], cap_mbps=1.5), flow(2.0, 0, "L")])
    assert got == pytest.approx([3.0, 2.0], rel=1e-12)


def test_the_readme_example():
    """A 2 TB copy alone on 10 Gbit/s for 600 s (750 GB), then sharing it with a 500 GB flow at
    5 each for 800 s; its last 750 GB alone: 2,000 s. A 1 GB flow capped at 0.5 Gbit/s: 16 s."""
    got = share_links({"dx": 10e9, "vpn": 1.25e9}, [{"start_s": 0, "bytes": 2e12, "path": ["dx"]},
                                                   {"start_s": 600, "bytes": 5e11, "path": ["dx"]},
                                                   {"start_s": 0, "bytes": 1e9, "path": ["vpn"], "cap_bps": 0.5e9}])
    assert got == pytest.approx([2000.0, 1400.0, 16.0], rel=1e-12)


def test_bytes_per_link_per_period_and_in_flight_at_the_horizon():
    """The one-bottleneck case cut at 2 s, in periods of 1 s: the link carries 10 Mbit in each
    second; at 2 s the second flow has 4 Mbit left (16 - 8 - 4)."""
    r = run_sharing({"L": 10 * MBPS}, [flow(0, 8, "L"), flow(0, 16, "L")], t_end=2.0, period_s=1.0)
    assert r.done_s[0] == pytest.approx(1.6) and math.isinf(r.done_s[1])
    assert r.left_bytes == pytest.approx([0.0, 4 * MBPS / 8])
    assert r.link_bytes["L"][:2] == pytest.approx([10 * MBPS / 8] * 2)
    assert r.link_bytes["L"][2:].sum() == 0.0


# ---- the kernel against its twin

link_names = ["a", "b", "c", "d"]


@st.composite
def cases(draw):
    n_links = draw(st.integers(1, 4))
    caps = {link_names[j]: draw(st.sampled_from([1e6, 2e6, 2.5e6, 1e7])) for j in range(n_links)}
    flows = []
    for _ in range(draw(st.integers(0, 14))):
        path = draw(st.lists(st.sampled_from(list(caps)), min_size=1, max_size=n_links, unique=True))
        f = {"start_s": draw(st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0, 5))),
             "bytes": draw(st.one_of(st.sampled_from([0, 1, 125_000, 250_000]), st.integers(0, 2_000_000))),
             "path": path}
        if draw(st.booleans()):
            f["cap_bps"] = draw(st.sampled_from([1e5, 5e5, 1e6, 3e6]))
        flows.append(f)
    t_end = draw(st.one_of(st.just(math.inf), st.floats(0, 6)))
    return caps, flows, t_end


@settings(max_examples=200, deadline=None)
@given(cases(), st.sampled_from([0.25, 1.0, 3.0]))
def test_no_link_carries_more_than_its_capacity_in_any_period(case, period_s):
    """Per period, a link carries at most capacity x period (1e-9 for rounding), and the periods
    add up to the run's total."""
    caps, flows, t_end = case
    whole = run_sharing(caps, flows, t_end=t_end)
    r = run_sharing(caps, flows, t_end=t_end, period_s=period_s)
    for link, cap in caps.items():
        per = r.link_bytes[link] * 8
        assert (per <= cap * period_s * (1 + 1e-9)).all(), (link, per)
        assert per.sum() == pytest.approx(whole.link_bytes[link].sum() * 8, rel=1e-9, abs=1e-3)
    assert list(r.done_s) == list(whole.done_s)  # periods change no completion


@settings(max_examples=300, deadline=None)
@given(cases())
def test_kernel_matches_twin(case):
    """Completion times, bits left at the horizon and bits carried per link agree with the
    per-flow twin; they differ only by rounding (the kernel keeps one virtual clock per class
    where the twin subtracts from each flow's remaining bits)."""
    caps, flows, t_end = case
    r = run_sharing(caps, flows, t_end=t_end)
    done, left, carried = share_ref([f["start_s"] for f in flows], [f["bytes"] * 8 for f in flows],
                                    [f["path"] for f in flows], [f.get("cap_bps", math.inf) for f in flows], caps,
                                    t_end=t_end)
    assert list(r.done_s) == pytest.approx(done, rel=1e-9, abs=1e-9)
    assert list(r.left_bytes * 8) == pytest.approx(left, rel=1e-9, abs=1e-3)
    for link in caps:
        assert r.link_bytes[link].sum() * 8 == pytest.approx(carried[link], rel=1e-9, abs=1e-3)
        # conservation: bytes offered to the link = carried + still in flight (nothing is dropped)
        offered = sum(f["bytes"] for f in flows if link in f["path"])
        in_flight = sum(r.left_bytes[k] for k, f in enumerate(flows) if link in f["path"])
        assert r.link_bytes[link].sum() + in_flight == pytest.approx(offered, rel=1e-9, abs=1e-3)


# ---- processor sharing (M/G/1-PS on one link)

C_BPS = 1e6
MEAN_BITS = 1e5  # E[S] / C = 0.1 s
RHO = 0.7


def ps_run(seed: int, sizes: str, n: int = 20_000, warm: int = 2_000):
    rng = np.random.default_rng([seed, 12])
    start = np.cumsum(rng.exponential(MEAN_BITS / (RHO * C_BPS), n))
    bits = rng.exponential(MEAN_BITS, n) if sizes == "exponential" else np.full(n, MEAN_BITS)
    done = np.array(share_links({"L": C_BPS}, [{"start_s": float(s), "bytes": float(b) / 8, "path": ["L"]}
                                             for s, b in zip(start, bits)]))
    sojourn = (done - start)[warm:]
    # the time-average number of flows on the link over [start[warm], start[-1]), from the flows' intervals
    t0, t1 = start[warm], start[-1]
    overlap = np.clip(np.minimum(done, t1) - np.maximum(start, t0), 0.0, None)
    return sojourn, bits[warm:], overlap.sum() / (t1 - t0)


@pytest.mark.parametrize("sizes", ["exponential", "deterministic"])
def test_processor_sharing_mean_flow_time_and_flows_on_the_link(sizes):
    """E[T] = E[S] / (C (1 - ρ)) and E[N] = ρ / (1 - ρ) for any size distribution (PS is
    insensitive; FIFO would give 0.217 s with deterministic sizes); 99 % Student t
    intervals over 12 seeded replications of 18,000 flows after a warm-up of 2,000."""
    runs = [ps_run(seed, sizes) for seed in range(12)]
    mean_t, half_t = ci([s.mean() for s, _, _ in runs])
    assert abs(mean_t - MEAN_BITS / C_BPS / (1 - RHO)) < half_t, (mean_t, half_t)
    mean_n, half_n = ci([n for _, _, n in runs])
    assert abs(mean_n - RHO / (1 - RHO)) < half_n, (mean_n, half_n)


def test_processor_sharing_flow_time_grows_linearly_with_size():
    """Under PS a flow of x bits takes x / (C (1 - ρ)) on average, small or large (exponential
    sizes): the mean of T / (x / C) in the smallest and the largest fifth of the flows is 1 / (1 - ρ)."""
    small, large = [], []
    for seed in range(12):
        sojourn, bits, _ = ps_run(seed, "exponential")
        slow = sojourn / (bits / C_BPS)
        lo, hi = np.quantile(bits, [0.2, 0.8])
        small.append(slow[bits <= lo].mean())
        large.append(slow[bits >= hi].mean())
    for values in (small, large):
        mean, half = ci(values)
        assert abs(mean - 1 / (1 - RHO)) < half, (mean, half)


# ---- mistakes

@pytest.mark.parametrize("caps, flows, message", [
    ({}, [], "capacity_bps: expected a dict"),
    ({"L": 0}, [], "capacity_bps['L']: expected a capacity in bits/s > 0, got 0"),
    ({"L": "10G"}, [], "capacity_bps['L']: expected a capacity in bits/s > 0, got '10G'"),
    ({"L": 1e6}, [{"start_s": 0, "bytes": 1, "path": ["M"]}], "flows[0].path[0]: unknown link 'M' (links: L)"),
    ({"L": 1e6}, [{"start_s": 0, "bytes": 1, "path": ["L", "L"]}], "flows[0].path[1]: link 'L' appears twice"),
    ({"L": 1e6}, [{"start_s": 0, "bytes": 1, "path": ["L"], "rate": 5}], "flows[0]: unknown key 'rate'"),
    ({"L": 1e6}, [{"start_s": 0, "path": ["L"]}], "flows[0]: missing 'bytes'"),
    ({"L": 1e6}, [{"start_s": 0, "bytes": -1, "path": ["L"]}], "flows[0].bytes: expected a size in bytes >= 0"),
    ({"L": 1e6}, [{"start_s": math.nan, "bytes": 1, "path": ["L"]}], "flows[0].start_s: expected a start time"),
    ({"L": 1e6}, [{"start_s": 0, "bytes": 1, "path": "L"}], "flows[0].path: expected a list of link names"),
    ({"L": 1e6}, [{"start_s": 0, "bytes": 1, "path": []}], "flows[0]: a flow with an empty path needs a cap_bps"),
    ({"L": 1e6}, [{"start_s": 0, "bytes": 1, "path": ["L"], "cap_bps": 0}], "flows[0].cap_bps: expected a rate cap"),
])
def test_mistakes_name_the_flow_and_key(caps, flows, message):
    with pytest.raises(BandwidthError) as err:
        share_links(caps, flows)
    assert message in str(err.value)


def test_many_flows_in_few_classes_against_the_twin():
    """3,000 flows in 2 classes (one link, two caps), sizes drawn at random so that a new flow is
    often its class's first to finish: the classes' completion heap keeps far more entries than
    classes, and is purged in place; completion times still agree with the twin."""
    rng = np.random.default_rng(4)
    n = 3_000
    start = np.cumsum(rng.exponential(0.01, n))
    size = rng.exponential(20_000, n)
    cap = np.where(rng.random(n) < 0.5, 2e6, 5e6)
    flows = [{"start_s": float(s), "bytes": float(b), "path": ["L"], "cap_bps": float(c)}
             for s, b, c in zip(start, size, cap)]
    got = run_sharing({"L": 1e7}, flows).done_s
    want, _, _ = share_ref(list(start), list(size * 8), [["L"]] * n, list(cap), {"L": 1e7})
    assert list(got) == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_a_long_flow_under_many_short_ones_purges_stale_entries():
    """One class of one long flow (1,000 s at its cap) and 300 short ones (1 ms each, every 10 ms),
    on a link they never fill: each short flow is its class's first to finish, so its class is
    scheduled again at every arrival and completion, and the long flow's old entries go stale
    far in the future: they are purged, and every completion time is still exact."""
    flows = [{"start_s": 0.0, "bytes": 125_000_000, "path": ["L"], "cap_bps": 1e6}]
    flows += [{"start_s": 0.01 * (k + 1), "bytes": 125, "path": ["L"], "cap_bps": 1e6} for k in range(300)]
    got = run_sharing({"L": 1e9}, flows).done_s
    assert got[0] == pytest.approx(1000.0, rel=1e-12)
    assert list(got[1:]) == pytest.approx([0.01 * (k + 1) + 0.001 for k in range(300)], rel=1e-12)


# ---- windows: the sharing resumed window by window gives the same numbers, bit for bit

def _windowed(caps, flows, t_end, edges, period_s=1.0, n_periods=8, port_limit=None, holds=None):
    """Run `flows` through a ShareState in windows ending at `edges` (then t_end, final):
    classes and port keys numbered as they first appear, as a component feeding it would."""
    from sim.network.bandwidth import ShareState

    names = list(caps)
    st_ = ShareState(np.array([caps[n] for n in names], float), period_s=period_s, n_periods=n_periods,
                     n_nat=1 if port_limit else 0)
    order = sorted(range(len(flows)), key=lambda k: (flows[k]["start_s"], k))
    order = [k for k in order if flows[k]["start_s"] <= t_end]
    done = {}
    ok_all = {}
    pos = 0
    for k, t1 in enumerate(list(edges) + [t_end]):
        final = k == len(edges)
        batch = []
        while pos < len(order) and (flows[order[pos]]["start_s"] < t1 or (final and flows[order[pos]]["start_s"] <= t1)):
            batch.append(order[pos])
            pos += 1
        fc = st_.classes(np.array([st_.path_id(tuple(names.index(x) for x in flows[f]["path"])) for f in batch],
                                  np.int64), np.array([flows[f].get("cap_bps", math.inf) for f in batch], float))
        pk = [st_.port_key((f % 2,), port_limit, 0) if port_limit else -1 for f in batch]
        ok, fin = st_.step(np.array([flows[f]["start_s"] for f in batch], float),
                           np.array([flows[f]["bytes"] * 8.0 for f in batch], float), np.array(fc, np.int64),
                           np.array(pk, np.int64), np.array(batch, np.int64), t1, final=final,
                           hold=None if holds is None else np.array([holds[f] for f in batch], float))
        ok_all.update(zip(batch, ok.tolist()))
        done.update(zip(fin.tag.tolist(), zip(fin.done_s.tolist(), fin.left_bits.tolist())))
    return done, ok_all, st_.link_bits.copy(), st_.nat_amax.copy(), st_.events


@settings(max_examples=150, deadline=None)
@given(cases(), st.lists(st.floats(0, 6), max_size=6), st.sampled_from([None, 1, 2]),
       st.lists(st.sampled_from([0.0, 0.5, 2.0]), min_size=14, max_size=14))
def test_windows_change_nothing(case, cuts, port_limit, holds):
    """Completion times, bits left, ports, bits per link and period and the ports' maxima are
    bit-identical whether the sharing runs in one window or is resumed at arbitrary edges
    (including edges at flows' start times and at completions), ports held idle after their
    flows included."""
    caps, flows, t_end = case
    if t_end == math.inf:
        t_end = 40.0
    edges = sorted({min(c, t_end) for c in cuts} | {f["start_s"] for f in flows[:3] if f["start_s"] < t_end})
    one = _windowed(caps, flows, t_end, [], port_limit=port_limit, holds=holds)
    many = _windowed(caps, flows, t_end, edges, port_limit=port_limit, holds=holds)
    assert one[0] == many[0]
    assert one[1] == many[1]
    assert np.array_equal(one[2], many[2]) and np.array_equal(one[3], many[3])
    assert one[4] == many[4]


def test_windows_agree_with_share_links():
    """Resumed in 50 windows, a busy link's flows end exactly when `share_links` says."""
    rng = np.random.default_rng(7)
    flows = [{"start_s": float(s), "bytes": float(b), "path": ["a"] if k % 3 else ["a", "b"],
              **({"cap_bps": 3e5} if k % 4 == 0 else {})}
             for k, (s, b) in enumerate(zip(np.sort(rng.uniform(0, 20, 400)), rng.exponential(2e4, 400)))]
    caps = {"a": 1e6, "b": 5e5}
    want = share_links(caps, flows)
    done, *_ = _windowed(caps, flows, math.inf, list(np.linspace(0.1, 20, 50)), period_s=math.inf, n_periods=1)
    assert [done[k][0] for k in range(len(flows))] == want


def test_classes_emptied_are_reused_and_change_nothing():
    """Flows with caps of their own over three paths, fed in 400 windows: the classes' numbers
    are reused once empty (the arrays stay the size of the classes active at once, not of the
    flows), and every completion is bit-identical to one window."""
    from sim.network.bandwidth import ShareState

    rng = np.random.default_rng(3)
    n = 4000
    start = np.sort(rng.uniform(0, 100, n))
    bits = rng.exponential(1e5, n)  # (links loaded about 50-60 %)
    caps = np.where(rng.random(n) < 0.3, np.inf, rng.uniform(1e5, 2e6, n))
    paths = [(0,), (0, 1), (1, 2)]
    which = rng.integers(0, 3, n)

    def run(edges):
        st_ = ShareState(np.array([5e6, 3e6, 4e6]), period_s=1.0, n_periods=101)
        done = np.full(n, -1.0)
        pos = 0
        for k, t1 in enumerate(list(edges) + [math.inf]):
            final = k == len(edges)
            hi = n if final else int(np.searchsorted(start, t1, "left"))
            idx = np.arange(pos, hi)
            pos = hi
            pid = np.array([st_.path_id(paths[w]) for w in which[idx]], np.int64)
            ok, fin = st_.step(start[idx], bits[idx], st_.classes(pid, caps[idx]), np.full(len(idx), -1, np.int64),
                               idx.astype(np.int64), t1, final=final)
            done[fin.tag] = fin.done_s
        return done, st_.link_bits, st_._n_cls

    one, bits_one, k_one = run([])
    many, bits_many, k_many = run(np.linspace(0.25, 100, 400))
    assert np.array_equal(one, many) and np.array_equal(bits_one, bits_many)
    assert k_one >= 2800  # one window: a class per distinct (path, cap)
    assert k_many < 200  # windows: only the classes active at once (a few dozen here), reused


# ---- capacities that change: a failure, the failover, the repair

def _with_changes(caps, flows, changes, t_end=math.inf):
    """The kernel stepped to each change's time, the capacity set there, then on."""
    from sim.network.bandwidth import ShareState

    names = list(caps)
    st_ = ShareState(np.array([caps[n] for n in names], float))
    order = sorted(range(len(flows)), key=lambda k: (flows[k]["start_s"], k))
    done = {}
    pos = 0
    for k, t1 in enumerate([c[0] for c in changes] + [t_end]):
        final = k == len(changes)
        batch = []
        while pos < len(order) and (flows[order[pos]]["start_s"] < t1 or final):
            batch.append(order[pos])
            pos += 1
        fc = st_.classes(np.array([st_.path_id(tuple(names.index(x) for x in flows[f]["path"])) for f in batch],
                                  np.int64), np.array([flows[f].get("cap_bps", math.inf) for f in batch], float))
        z = np.full(len(batch), -1, np.int64)
        _, fin = st_.step(np.array([flows[f]["start_s"] for f in batch], float),
                          np.array([flows[f]["bytes"] * 8.0 for f in batch], float), fc, z,
                          np.array(batch, np.int64), t1, final=final)
        done.update(zip(fin.tag.tolist(), fin.done_s.tolist()))
        if not final:
            st_.set_capacity({names.index(changes[k][1]): changes[k][2]}, t1)
    return [done[k] for k in range(len(flows))]


def test_a_copy_through_a_failure_failover_and_repair_worked_by_hand():
    """1 TB (8e12 bits) over a 10 Gbit/s link: at 100 s the link fails (1e12 bits sent) and
    carries nothing until BGP's hold timer notices (90 s); from 190 s a 1.25 Gbit/s VPN carries
    it (310 s: 3.875e11 bits); repaired at 500 s, 6.6125e12 bits are left: 661.25 s more. Done at
    1,161.25 s (alone: 800 s)."""
    flows = [{"start_s": 0.0, "bytes": 1e12, "path": ["route"]}]
    changes = [(100.0, "route", 0.0), (190.0, "route", 1.25e9), (500.0, "route", 1e10)]
    assert _with_changes({"route": 1e10}, flows, changes) == [pytest.approx(1161.25, rel=1e-12)]
    done, _, _ = share_ref([0.0], [8e12], [["route"]], [math.inf], {"route": 1e10}, changes=changes)
    assert done == [pytest.approx(1161.25, rel=1e-12)]


@settings(max_examples=200, deadline=None)
@given(cases(), st.lists(st.tuples(st.floats(0, 6), st.integers(0, 3), st.sampled_from([0.0, 5e5, 1e6, 4e6])),
                         max_size=4))
def test_capacity_changes_match_the_twin(case, raw):
    """Links failing (0), slowing and recovering at arbitrary times, with capped and uncapped
    flows on one or several tight links: completion times agree with the twin, which recomputes
    every flow's rate at each change."""
    caps, flows, _t_end = case
    names = list(caps)
    changes = sorted((round(t, 3), names[j % len(names)], c) for t, j, c in raw)
    seen = set()
    changes = [c for c in changes if not (c[0] in seen or seen.add(c[0]))]  # (one change per instant)
    restore = [(max(c[0] for c in changes) + 1.0 if changes else 1.0, n, caps[n]) for n in names]
    changes += [(restore[0][0] + 0.001 * k, n, c) for k, (_t, n, c) in enumerate(restore)]
    got = _with_changes(caps, flows, changes)
    want, _, _ = share_ref([f["start_s"] for f in flows], [f["bytes"] * 8 for f in flows],
                           [f["path"] for f in flows], [f.get("cap_bps", math.inf) for f in flows], caps,
                           changes=changes)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_flows_ending_in_a_later_window_have_room_for_their_port_releases():
    """500 flows of one class start 50 per window over ten windows, each lasting 10 s and holding
    its port 10 s after it ends; all end in the eleventh window, where nothing new starts: the
    completion heap must have room for their 500 release entries (its rows are sized before each
    window; numba does not check bounds, so the heap's size is checked here), and the ports free
    as in one window."""
    from kernels.bandwidth import GI_HEAP_N
    from sim.network.bandwidth import ShareState

    def run(edges):
        st_ = ShareState(np.array([1e9]), period_s=1.0, n_periods=30, n_nat=1)
        k = st_.port_key(("dst",), 100_000, 0)
        start = np.linspace(0.0, 9.9, 500)
        fc = st_.classes(np.full(500, st_.path_id((0,))), np.full(500, 1e5))
        ends = {}
        pos = 0
        for j, t1 in enumerate(list(edges) + [math.inf]):
            final = j == len(edges)
            hi = 500 if final else int(np.searchsorted(start, t1))
            idx = np.arange(pos, hi)
            pos = hi
            _ok, fin = st_.step(start[idx], np.full(len(idx), 1e6), fc[idx], np.full(len(idx), k), idx, t1,
                                final=final, hold=np.full(len(idx), 10.0))
            assert int(st_.gi[GI_HEAP_N]) <= len(st_.hh)
            ends.update(zip(fin.tag.tolist(), fin.done_s.tolist()))
        return ends, st_.nat_amax.copy()

    one, amax_one = run([])
    many, amax_many = run([1.0 * j for j in range(1, 11)] + [21.0])  # (at 21 s: most releases still due)
    assert one == many and np.array_equal(amax_one, amax_many)
    # all 500 held at 15 s; at 29 s only those that started after 9 s (released at start + 20 s)
    assert amax_one[15, 0] == 500 and amax_one[29, 0] == int((np.linspace(0.0, 9.9, 500) > 9.0).sum())


# ---- packet limits (a NAT gateway's packet rate) and the losses they cause

PKT = "nat#packets"  # the gateway's packet limit: capacity in bits of 1,500-byte packets
NAT_LINKS = ["nat", PKT, "a", "b"]  # (indices 0-3; the limit of link 0 is link 1)


def packet_run(caps, flows, t_end=math.inf, period_s=1.0, n_periods=8):
    """The kernel (`share_arrays` with link 1 the packet limit of link 0) and the twin
    (`share_ref_packets`: weights 1,500 / packet_bytes on the limit) on the same flows: dicts with
    start_s, bits, path (names), cap_bps, packet_bytes, rtt_s."""
    from kernels.ref.bandwidth import share_ref_packets
    from sim.network.bandwidth import share_arrays

    names = list(caps)
    r = share_arrays(np.array([caps[n] for n in names], float), np.array([f["start_s"] for f in flows], float),
                     np.array([f["bits"] for f in flows], float),
                     [tuple(names.index(x) for x in f["path"]) for f in flows],
                     np.array([f.get("cap_bps", math.inf) for f in flows], float), t_end=t_end, period_s=period_s,
                     n_periods=n_periods, packet_links={0: 1}, packet_bytes=[f["packet_bytes"] for f in flows],
                     rtt_s=[f["rtt_s"] for f in flows])
    twin = share_ref_packets([f["start_s"] for f in flows], [f["bits"] for f in flows], [f["path"] for f in flows],
                             [f.get("cap_bps", math.inf) for f in flows], caps, t_end=t_end,
                             weights=[{PKT: 1500 / f["packet_bytes"]} for f in flows],
                             gateways={"nat": "nat", PKT: "nat"},
                             mss_over_rtt=[max(f["packet_bytes"] - 40, 1) / f["rtt_s"] for f in flows],
                             packet_bytes=[f["packet_bytes"] for f in flows], period_s=period_s, n_periods=n_periods)
    return r, twin


def nat_flow(start_s, bits, packet_bytes=1500, cap_bps=None, path=("nat", PKT), rtt_s=0.02):
    f = {"start_s": start_s, "bits": bits, "path": list(path), "packet_bytes": packet_bytes, "rtt_s": rtt_s}
    if cap_bps is not None:
        f["cap_bps"] = cap_bps
    return f


GATEWAY = {"nat": 5e9, PKT: 1e6 * 1500 * 8}  # AWS's start: 5 Gbit/s, 1 M packets/s


def test_small_packets_hit_the_packet_limit_first():
    """A gateway of 5 Gbit/s and 1 M packets/s: one flow of 100-byte packets goes at 1 M x 100 x 8 =
    0.8 Gbit/s (its 0.8 Gbit end at 1 s); two share the million packets: 0.4 Gbit/s each (2 s).
    A flow of 1,500-byte packets is held by the bandwidth instead: 5 Gbit/s (1 s for 5 Gbit)."""
    for flows, want in (([nat_flow(0, 0.8e9, 100)], [1.0]),
                        ([nat_flow(0, 0.8e9, 100), nat_flow(0, 0.8e9, 100)], [2.0, 2.0]),
                        ([nat_flow(0, 5e9)], [1.0])):
        r, twin = packet_run(GATEWAY, flows)
        assert list(r.done_s) == pytest.approx(want, rel=1e-12)
        assert twin[0] == pytest.approx(want, rel=1e-12)


def test_a_mix_of_packet_sizes_worked_by_hand():
    """5 Gbit/s and 1 M packets/s (12 Gbit/s of 1,500-byte packets). A: 1,500-byte packets, 3 Gbit;
    B: 100-byte packets (weight 15), 1.265625 Gbit; C: 100-byte packets capped at 0.25 Gbit/s,
    0.25 Gbit. Together the packets bind: A and B at the level x with x + 15 x + 15 x 0.25 = 12
    (Gbit/s of full packets), x = 8.25 / 16 = 0.515625 Gbit/s; the bandwidth carries 1.28125 of its
    5. C ends at 1 s. Then A and B: 16 x = 12, x = 0.75: B's last 0.75 Gbit end at 2 s. Then A
    alone, held by the bandwidth (5 Gbit/s; its packets would allow 12): 3 - 0.515625 - 0.75 =
    1.734375 Gbit left, 0.346875 s: A ends at 2.346875 s."""
    flows = [nat_flow(0, 3e9), nat_flow(0, 1.265625e9, 100), nat_flow(0, 0.25e9, 100, cap_bps=0.25e9)]
    r, twin = packet_run(GATEWAY, flows)
    assert list(r.done_s) == pytest.approx([2.346875, 2.0, 1.0], rel=1e-12)
    assert twin[0] == pytest.approx([2.346875, 2.0, 1.0], rel=1e-12)
    # the limit carried every flow's bits x 1,500 / its packet size: 3 + 15 x 1.515625 Gbit
    assert r.link_bits[:, 1].sum() == pytest.approx(3e9 + 15 * 1.515625e9, rel=1e-12)


def test_mathis_losses_of_flows_held_by_the_gateway_worked_by_hand():
    """One flow of 100-byte packets held by the packet limit at 0.8 Gbit/s (1e8 bytes/s, 1 M
    packets/s) for 1 s, RTT 20 ms: MSS = 60 bytes, p = 1.5 (60 / (0.02 x 1e8))^2 = 1.35e-9, so
    1.35e-3 packets lost. A flow capped below the gateway's share loses none there; nor does one
    held by another link (`a`, 1 Gbit/s, 100 s) though it crosses the gateway."""
    r, twin = packet_run(GATEWAY, [nat_flow(0, 0.8e9, 100)])
    assert r.link_drops[:, 0].sum() == pytest.approx(1.35e-3, rel=1e-12)
    assert twin[3]["nat"][0] == pytest.approx(1.35e-3, rel=1e-12)
    r, _ = packet_run({**GATEWAY, "a": 1e9}, [nat_flow(0, 1e9, 100, cap_bps=0.1e9),
                                             nat_flow(0, 1e11, path=("nat", PKT, "a"))])
    assert r.link_drops.sum() == 0.0 and r.done_s[1] == pytest.approx(100.0, rel=1e-12)


@st.composite
def packet_cases(draw, continuous=False):
    """Flows over a gateway (its bandwidth and packet limit together) and two plain links, with
    packet sizes from 1 byte (MSS floor) to 9,001 (jumbo), caps or none, RTTs."""
    size = st.floats(1e5, 2e7) if continuous else st.sampled_from([1e6, 2e6, 2.5e6, 1e7])
    caps = {"nat": draw(size), PKT: draw(st.one_of(size, st.sampled_from([1.2e6, 4e6, 1.2e7]))),
            "a": draw(size), "b": draw(size)}
    flows = []
    for _ in range(draw(st.integers(0, 12))):
        hops = draw(st.lists(st.sampled_from(["N", "a", "b"]), min_size=1, max_size=3, unique=True))
        path = [x for h in hops for x in (("nat", PKT) if h == "N" else (h,))]
        f = nat_flow(draw(st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0, 5))),
                     draw(st.one_of(st.sampled_from([0.0, 1e6, 2e6]), st.floats(1, 1.6e7))),
                     draw(st.one_of(st.sampled_from([1500, 100, 40, 1, 41, 576, 9001]), st.integers(1, 9001))),
                     path=path, rtt_s=draw(st.sampled_from([0.02, 0.001, 0.3])))
        if draw(st.booleans()):
            f["cap_bps"] = draw(st.floats(1e5, 5e6) if continuous else st.sampled_from([1e5, 5e5, 1e6, 3e6]))
        flows.append(f)
    t_end = draw(st.one_of(st.just(math.inf), st.floats(0, 6)))
    return caps, flows, t_end


def _compare_with_twin(caps, flows, t_end, drops: bool):
    r, (done, left, carried, lost) = packet_run(caps, flows, t_end=t_end)
    assert list(r.done_s) == pytest.approx(done, rel=1e-9, abs=1e-9)
    assert list(r.left_bits) == pytest.approx(left, rel=1e-9, abs=1e-3)
    for l, link in enumerate(caps):
        assert r.link_bits[:, l].sum() == pytest.approx(carried[link], rel=1e-9, abs=1e-3)
        # conservation: offered = carried + in flight on every link, the limit's bits weighted
        w = [1500 / f["packet_bytes"] if link == PKT else 1.0 for f in flows]
        offered = sum(wk * f["bits"] for wk, f in zip(w, flows) if link in f["path"])
        in_flight = sum(wk * r.left_bits[k] for k, (wk, f) in enumerate(zip(w, flows)) if link in f["path"])
        assert r.link_bits[:, l].sum() + in_flight == pytest.approx(offered, rel=1e-9, abs=1e-2)
    if drops:
        assert list(r.link_drops[:, 0]) == pytest.approx(lost["nat"], rel=1e-9, abs=1e-12)
        assert not r.link_drops[:, 1:].any()


@settings(max_examples=300, deadline=None)
@given(packet_cases())
def test_packet_limits_match_the_twin(case):
    """Completion times, bits left, bits carried (the packet limit's weighted) and conservation per
    link agree with the per-flow twin, on ties-prone figures (equal caps, shares that meet caps)."""
    _compare_with_twin(*case, drops=False)


@settings(max_examples=300, deadline=None)
@given(packet_cases(continuous=True))
def test_losses_match_the_twin(case):
    """And the packets lost at the gateway per period (flows held there below their caps), on
    figures drawn from continuous ranges: an exact tie between a cap and the gateway's share
    (which counts as the flow's own limit in both) then does not hang on a last-bit difference
    between the kernel's water level and the twin's progressive filling."""
    _compare_with_twin(*case, drops=True)


def test_losses_match_the_twin_on_edge_cases():
    """Edge cases by hand against the twin: a 1-byte packet (MSS floored at 1), a jumbo 9,001-byte
    packet, losses capped at every packet (a slow flow: p > 1), a flow starting at another's
    completion, and the gateway and the limit binding at the same level."""
    cases = [
        ({"nat": 1e6, PKT: 1.2e7, "a": 1e7, "b": 1e7}, [nat_flow(0, 1e6, 1), nat_flow(0, 2e6, 9001)]),
        ({"nat": 1e5, PKT: 1.2e7, "a": 1e7, "b": 1e7}, [nat_flow(0, 1e5, 1500, rtt_s=0.3) for _ in range(3)]),
        ({"nat": 2e6, PKT: 2e6, "a": 1e7, "b": 1e7}, [nat_flow(0, 1e6), nat_flow(0.5, 1e6, 1500)]),
        ({"nat": 3e6, PKT: 4.5e6, "a": 1e7, "b": 1e7}, [nat_flow(0, 2e6, 1000), nat_flow(0, 2e6, 1500)]),
    ]
    for caps, flows in cases:
        _compare_with_twin(caps, flows, math.inf, drops=True)


def test_packet_limits_and_losses_do_not_depend_on_the_windows():
    """A busy gateway (bandwidth and packets both binding in turn) fed in 300 windows: completion
    times, bits per link and period, and losses per period are bit-identical to one window."""
    from sim.network.bandwidth import ShareState

    rng = np.random.default_rng(11)
    n = 3000
    start = np.sort(rng.uniform(0, 30, n))
    bits = rng.exponential(2e5, n)
    cap = np.where(rng.random(n) < 0.5, np.inf, rng.uniform(1e5, 2e6, n))
    pb = rng.choice([1500, 100, 576], n)
    which = rng.integers(0, 3, n)
    paths = [(0,), (0, 2), (2,)]

    def run(edges):
        st_ = ShareState(np.array([5e6, 6e6, 3e6]), period_s=1.0, n_periods=40, packet_links={0: 1})
        kinds = np.array([st_.kind(b, 0.02) for b in pb], np.int64)
        done = np.full(n, -1.0)
        pos = 0
        for k, t1 in enumerate(list(edges) + [math.inf]):
            final = k == len(edges)
            hi = n if final else int(np.searchsorted(start, t1, "left"))
            idx = np.arange(pos, hi)
            pos = hi
            pid = np.array([st_.path_id(paths[w]) for w in which[idx]], np.int64)
            _ok, fin = st_.step(start[idx], bits[idx], st_.classes(pid, cap[idx], kinds[idx]),
                                np.full(len(idx), -1, np.int64), idx.astype(np.int64), t1, final=final)
            done[fin.tag] = fin.done_s
        return done, st_.link_bits.copy(), st_.link_drops.copy()

    one = run([])
    many = run(np.linspace(0.1, 30, 300))
    assert np.array_equal(one[0], many[0]) and np.array_equal(one[1], many[1]) and np.array_equal(one[2], many[2])
    assert one[2][:, 0].sum() > 0 and (one[0] > 0).all()


@settings(max_examples=200, deadline=None)
@given(packet_cases(continuous=True), st.lists(st.tuples(st.floats(0, 6), st.sampled_from(["nat", PKT, "a"]),
                                                         st.sampled_from([0.0, 5e5, 2e6, 1.2e7])), max_size=4))
def test_capacity_changes_with_packet_limits_match_the_twin(case, raw):
    """A gateway scaling (its bandwidth and packet limit changing at exact times, as
    `set_capacity` applies them), failing (0) and a plain link changing: completion times and
    losses per period agree with the twin, which recomputes every flow's rate at each change."""
    from kernels.ref.bandwidth import share_ref_packets
    from sim.network.bandwidth import ShareState

    caps, flows, _t_end = case
    names = list(caps)
    changes = sorted((round(t, 3), link, c) for t, link, c in raw)
    seen = set()
    changes = [c for c in changes if not (c[0] in seen or seen.add(c[0]))]  # (one change per instant)
    back = (max(c[0] for c in changes) + 1.0) if changes else 1.0
    changes += [(back + 0.001 * k, n, caps[n]) for k, n in enumerate(names)]  # (every link back: all flows end)
    st_ = ShareState(np.array([caps[n] for n in names], float), period_s=1.0, n_periods=12, packet_links={0: 1})
    order = sorted(range(len(flows)), key=lambda k: (flows[k]["start_s"], k))
    done, pos = {}, 0
    for j, t1 in enumerate([c[0] for c in changes] + [math.inf]):
        final = j == len(changes)
        batch = []
        while pos < len(order) and (flows[order[pos]]["start_s"] < t1 or final):
            batch.append(order[pos])
            pos += 1
        kinds = np.array([st_.kind(flows[f]["packet_bytes"], flows[f]["rtt_s"]) for f in batch], np.int64)
        fc = st_.classes(np.array([st_.path_id(tuple(names.index(x) for x in flows[f]["path"])) for f in batch],
                                  np.int64), np.array([flows[f].get("cap_bps", math.inf) for f in batch], float), kinds)
        _, fin = st_.step(np.array([flows[f]["start_s"] for f in batch], float),
                          np.array([flows[f]["bits"] for f in batch], float), fc, np.full(len(batch), -1, np.int64),
                          np.array(batch, np.int64), t1, final=final)
        done.update(zip(fin.tag.tolist(), fin.done_s.tolist()))
        if not final:
            st_.set_capacity({names.index(changes[j][1]): changes[j][2]}, t1)
    want, _, _, lost = share_ref_packets(
        [f["start_s"] for f in flows], [f["bits"] for f in flows], [f["path"] for f in flows],
        [f.get("cap_bps", math.inf) for f in flows], caps, changes=changes,
        weights=[{PKT: 1500 / f["packet_bytes"]} for f in flows], gateways={"nat": "nat", PKT: "nat"},
        mss_over_rtt=[max(f["packet_bytes"] - 40, 1) / f["rtt_s"] for f in flows],
        packet_bytes=[f["packet_bytes"] for f in flows], period_s=1.0, n_periods=12)
    assert [done[k] for k in range(len(flows))] == pytest.approx(want, rel=1e-9, abs=1e-9)
    assert list(st_.link_drops[:, 0]) == pytest.approx(lost["nat"], rel=1e-9, abs=1e-12)
