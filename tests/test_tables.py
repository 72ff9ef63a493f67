"""DynamoDB tables' capacity (kernels/tables.py): cases worked by hand — partitions and the hot
key, provisioned burst, on-demand doubling with its 30 minutes, a split — and the kernel against
its plain twin on random requests, in one call or several (hypothesis, exact)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kernels import tables as T
from kernels.ref.tables import Table


class Run:
    """The kernel over one or more tables, requests fed in calls (the state carries over)."""

    def __init__(self, specs, n_periods=1):
        self.arrays = T.table_arrays(specs, n_periods)

    def __call__(self, t, half, h, direction, tb=None, period=None, lat_us=None):
        n = len(t)
        col = lambda v, d, ty: np.asarray(v if v is not None else [d] * n, ty)  # noqa: E731
        ok = np.zeros(n, np.bool_)
        T.table_many(np.asarray(t, np.float64), col(tb, 0, np.int64), col(half, 0, np.float64),
                     col(h, 0.0, np.float64), col(direction, 0, np.int64), col(lat_us, 0, np.int64),
                     col(period, 0, np.int64), *self.arrays, ok)
        return ok

    def set_capacity(self, t, tb, r, w):
        tbi, tbf, tpart, tring, _ = self.arrays
        T.set_capacity(float(t), tb, float(r), float(w), tbi, tbf, tpart, tring)

    @property
    def counts(self):
        return self.arrays[4]


def provisioned(r, w, **kw):
    return {"mode": T.PROVISIONED, "read": r, "write": w, **kw}


def on_demand(r=T.ON_DEMAND_INITIAL_RCU, w=T.ON_DEMAND_INITIAL_WCU, **kw):
    return {"mode": T.ON_DEMAND, "read": r, "write": w, **kw}


def test_partitions_follow_aws_sizing():
    """ceil(RCU / 3000 + WCU / 1000): a new on-demand table (12,000 / 4,000) has 8; 1,000 WCU alone 1."""
    assert T.partitions_for(12000, 4000) == 8
    assert T.partitions_for(0, 1000) == 1
    assert T.partitions_for(3000, 1) == 2
    assert T.partitions_for(5, 5) == 1


def test_hot_key_throttles_while_the_table_has_capacity_to_spare():
    """Provisioned 10,000 WCU (10 partitions), burst off. 1,500 writes of 1 KB in one second, all to
    one key: its partition serves 1,000 and throttles 500 — key-range throttles, since the
    table's bucket (10,000) had the tokens. Spread over all keys instead, all 1,500 pass."""
    run = Run([provisioned(1, 10_000, burst_s=1)])
    n = 1500
    t = np.arange(n) / n * 0.999  # within 1 s: refill adds < 1,000 × 0.999 tokens to the partition
    ok = run(t, [2] * n, [0.42] * n, [T.WRITE] * n)
    refill = int(1000 * t[-1])  # what the partition gained during the second, at most
    assert 1000 <= ok.sum() <= 1000 + refill
    c = run.counts[0, 0]
    assert c[T.TC_WRITE_THROTTLES] == n - ok.sum() == c[T.TC_WRITE_KEY_RANGE]
    spread = Run([provisioned(1, 10_000, burst_s=1)])
    ok2 = spread(t, [2] * n, (np.arange(n) % 10 + 0.5) / 10, [T.WRITE] * n)
    assert ok2.all()


def test_linear_mix_on_one_partition():
    """A partition serves 3,000 RCU or 1,000 WCU or a linear mix: after 500 WCU at t = 0 it has
    1,500 RCU left for strongly consistent 4 KB reads (2 half units each)."""
    run = Run([provisioned(30_000, 10_000, burst_s=1)])
    ok = run([0.0] * 500 + [0.0] * 1600, [2] * 2100, [0.0] * 2100, [T.WRITE] * 500 + [T.READ] * 1600)
    assert ok[:500].all() and ok[500:].sum() == 1500


def test_provisioned_burst_by_hand():
    """FACTS "DynamoDB provisioned": 150 RCU idle for 300 s hold 45,000 units of burst (the bucket
    starts full). 200 RCU a second then pass for 900 s — 50 a second out of the burst — and the
    second after that, at 200 a second, only the refill of 150 passes."""
    run = Run([provisioned(150, 1, burst_s=300)])
    t = np.repeat(np.arange(0, 901, dtype=np.float64), 200) + np.tile(np.arange(200) / 200, 901)
    ok = run(t, [2] * len(t), (np.arange(len(t)) % 8 + 0.5) / 8, [T.READ] * len(t))
    per_s = ok.reshape(901, 200).sum(axis=1)
    assert per_s[:899].min() == 200
    assert abs(int(per_s[900]) - 150) <= 1


def test_on_demand_doubles_the_previous_peak_after_30_minutes():
    """On demand, new table (4,000 WCU). 3,000 WCU a second for 40 min: never throttled; at
    30:00 the capacity becomes 2 × 3,000 = 6,000. A step to 9,000 at 40:00 (three times the
    peak): the second's bucket (6,000 stored) serves the first two seconds in full, then 6,000 a
    second are served until 70:00, when the peak second (40:00, 9,000) counts: from then
    18,000 ≥ 9,000 serve everything (FACTS "DynamoDB on-demand")."""
    run = Run([on_demand()])
    half = 2.0  # 1 KB writes: 1 WCU each
    served = []
    for sec in range(0, 80 * 60):
        rate = 3000 if sec < 40 * 60 else 9000
        t = sec + np.arange(rate) / rate
        h = (np.arange(rate) % 64 + 0.5) / 64  # spread: no partition is hot
        ok = run(t, [half] * rate, h, [T.WRITE] * rate)
        served.append(int(ok.sum()))
    served = np.array(served)
    assert (served[: 40 * 60] == 3000).all()
    assert served[40 * 60] == 9000 and abs(served[40 * 60 + 1] - 9000) <= 1
    assert (np.abs(served[40 * 60 + 2 : 70 * 60] - 6000) <= 1).all()
    assert (served[70 * 60 :] == 9000).all()
    tbi, tbf = run.arrays[0], run.arrays[1]
    assert tbf[0, T.TBF_CAP + T.WRITE] == 18000.0
    assert tbi[0, T.TBI_P] == T.partitions_for(2 * 6000.0, 18000.0)
    assert tbi[0, T.TBI_SPLITS] == 2  # at 30:00 (8 -> 10) and at 70:00 (-> 22)


def test_set_capacity_splits_and_refills_at_the_old_rate():
    """Provisioned 1,000 WCU (1 partition), burst 1 s, emptied at t = 0; raised to 4,000 at
    t = 0.5: the bucket gained 500 by then at the old rate, and the table now has 4 partitions."""
    run = Run([provisioned(1, 1000, burst_s=1, max_write=4000)])
    ok = run([0.0] * 1000, [2] * 1000, [0.1] * 1000, [T.WRITE] * 1000)
    assert ok.all()
    run.set_capacity(0.5, 0, 1, 4000)
    tbi, tbf = run.arrays[0], run.arrays[1]
    assert tbf[0, T.TBF_TOK + T.WRITE] == pytest.approx(500.0)
    assert tbi[0, T.TBI_P] == 5 and tbi[0, T.TBI_SPLITS] == 1  # ceil(1/3000 + 4000/1000) = 5


def twin_run(specs, reqs, controls, n_periods):
    tables = [Table(s, n_periods) for s in specs]
    out = []
    ci = 0
    for (t, tb, half, h, d, lat, p) in reqs:
        while ci < len(controls) and controls[ci][0] <= t:
            ct, ctb, r, w = controls[ci]
            tables[ctb].set_capacity(ct, r, w)
            ci += 1
        out.append(tables[tb].request(t, p, half, h, d, lat))
    return out, tables


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([T.ON_DEMAND, T.PROVISIONED]), st.sampled_from([1.0, 50.0, 3500.0]),
                          st.sampled_from([1.0, 20.0, 1500.0]), st.sampled_from([1.0, 300.0])),
                min_size=1, max_size=3),
       st.lists(st.tuples(st.floats(0, 4000), st.integers(0, 2), st.integers(1, 40), st.floats(0, 0.999999),
                          st.integers(0, 1)), min_size=1, max_size=150),
       st.lists(st.tuples(st.floats(0, 4000), st.integers(0, 2), st.sampled_from([5.0, 900.0, 7000.0]),
                          st.sampled_from([5.0, 2500.0])), max_size=4),
       st.integers(1, 4))
def test_kernel_matches_twin(specs, reqs, controls, windows):
    """Random tables (on demand with small initial capacities so the doubling and the 30 minutes
    show within the run; provisioned with or without burst), random requests and capacity
    changes: the same requests served, the same counters and state, in one call or several."""
    specs = [({"mode": m, "read": r, "write": w, "burst_s": b, "max_read": 9000.0, "max_write": 9000.0})
             for m, r, w, b in specs]
    n_per = 3
    reqs = sorted(((t, tb % len(specs), half, h, d, (i * 37) % 1000, min(int(t // 1500), n_per - 1))
                   for i, (t, tb, half, h, d) in enumerate(reqs)), key=lambda r: r[0])
    controls = sorted(((t, tb % len(specs), r, w) for t, tb, r, w in controls
                       if specs[tb % len(specs)]["mode"] == T.PROVISIONED), key=lambda c: c[0])
    want, tables = twin_run(specs, reqs, controls, n_per)
    run = Run(specs, n_per)
    got = []
    # windows: the requests cut into calls; capacity changes between calls at their times
    edges = np.linspace(0, len(reqs), windows + 1).astype(int)
    ci = 0
    for a, b in zip(edges[:-1], edges[1:]):
        i = a
        while i < b:
            j = i
            while ci < len(controls) and controls[ci][0] <= reqs[i][0]:
                run.set_capacity(*controls[ci])
                ci += 1
            while j < b and (ci >= len(controls) or reqs[j][0] < controls[ci][0]):
                j += 1
            j = max(j, i + 1)
            cols = list(zip(*reqs[i:j]))
            got += run(cols[0], cols[2], cols[3], cols[4], tb=cols[1], lat_us=cols[5], period=cols[6]).tolist()
            i = j
    assert got == want
    tbi, tbf = run.arrays[0], run.arrays[1]
    for k, tab in enumerate(tables):
        assert run.counts[:, k].tolist() == tab.counts
        assert tbi[k, T.TBI_P] == len(tab.parts) and tbi[k, T.TBI_SPLITS] == tab.splits
        assert tbf[k, T.TBF_CAP:T.TBF_CAP + 2].tolist() == tab.cap
        assert tbf[k, T.TBF_CTL:T.TBF_CTL + 2].tolist() == tab.control
