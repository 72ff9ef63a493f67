"""`functions.NAME.egress` in the account (ACCOUNT_SPEC.md §10): each entry is made as a call is and
leaves a flow record, taken window by window with `LambdaAccount.take_flows`.

The records come at the handler's steps (the handler's start, after the calls before them in
list order; the end of the function's own duration, after the `at: end` calls before them), as
many as the invocations made (a binomial count for a probability), the same whatever the
windows and whatever room the buffer starts with; the schema's mistakes name their paths.
(The kernel against its twin, records included: tests/test_account_twin.py.)
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from scipy.stats import binom

from scenarios.errors import ScenarioError
from scenarios.load import check_scenario, load_scenario
from sim import simulate
from sim.builder import build
from sim.engine import Component, Engine

VPC = {"main": {"cidr": "10.0.0.0/16", "subnets": {"a": {"cidr": "10.0.1.0/24", "az": "us-east-1a"},
                                                   "b": {"cidr": "10.0.2.0/24", "az": "us-east-1b"}}}}
IN_VPC = {"vpc": "main", "subnets": ["a", "b"]}
FIXED = {"dist": "fixed"}


def fixed(v: float) -> dict:
    return {**FIXED, "value": v}


def steps_scenario(duration_s: float = 60.0, rate_per_s: float = 4.0, seed: int = 5) -> dict:
    """`api` (in the VPC) SendMessages to a queue at start (8 ms), sends 2 flows (entry 0) and one
    (entry 2) then; after its 125 ms, calls `pricing` synchronously (10 ms, then pricing's 50 ms,
    cold: +250 ms) and sends one flow (entry 1). `solo` sends one flow at the end of its 75 ms
    (entry 3). Traffic stops 10 s before the end (or half way): every invocation ends within
    the run."""
    return copy.deepcopy({
        "name": "egress", "duration_s": duration_s, "seed": seed, "vpcs": VPC,
        "functions": {
            "api": {"vpc": IN_VPC, "duration_ms": fixed(125), "init_ms": fixed(250),
                    "calls": [{"target": "queue:audit", "mode": "async", "latency_ms": fixed(8)},
                              {"target": "function:pricing", "mode": "sync", "at": "end", "latency_ms": fixed(10)}],
                    "egress": [{"dst": "internet:8.8.8.8", "count": 2},
                               {"dst": "internet:1.1.1.1", "at": "end"},
                               {"dst": "internet:9.9.9.9", "dst_ports": [{"port": 53, "weight": 1}],
                                "protocol": "udp"}]},
            "pricing": {"duration_ms": fixed(50), "init_ms": fixed(250)},
            "solo": {"vpc": IN_VPC, "duration_ms": fixed(75), "init_ms": fixed(125),
                     "egress": [{"dst": "internet:8.8.4.4", "at": "end"}]},
        },
        "queues": {"audit": {}},
        "traffic": [{"name": "web", "target": "function:api", "invocation": "sync", "end_s": duration_s - min(10, duration_s / 2),
                     "arrivals": {"kind": "poisson", "rate_per_s": rate_per_s}},
                    {"name": "jobs", "target": "function:solo", "invocation": "async", "end_s": duration_s - min(10, duration_s / 2),
                     "arrivals": {"kind": "poisson", "rate_per_s": rate_per_s / 2}}],
        "record": {"period_s": 60, "report": False},
    })


class FlowTaker(Component):
    """What the network will be: after the account in each window, it takes the flow records."""

    def __init__(self, account):
        super().__init__("flow-taker")
        account.connect(self)  # stepped after the account
        self.account = account
        self.t, self.entry, self.windows = [], [], 0

    def step(self, t0: float, t1: float) -> None:
        t, e = self.account.take_flows()
        assert t.dtype == np.float64 and e.dtype == np.int64 and len(t) == len(e)
        assert np.all((t >= t0) & (t < t1)), (t0, t1)  # a window's records are its own
        self.t.append(t)
        self.entry.append(e)
        self.windows += 1

    def records(self):
        return np.concatenate(self.t), np.concatenate(self.entry)


def run(data: dict, window_s, flow_records=None, take=True):
    """Run `data` with `sim.window_s`; (records t, entry, the account, the taker)."""
    sc = load_scenario(data)
    world = build(sc, sample_all=True)
    (account,) = world.built["account"]
    if flow_records is not None:
        account.flow_records = flow_records
    taker = FlowTaker(account) if take else None
    # (the account's records alone: the network component, which takes them in a run, left out)
    comps = [c for c in world.components if c.name != "network"]
    Engine(comps + ([taker] if take else []), sc.duration_s, window_s).run()
    if take:
        t, e = taker.records()
    else:
        t, e = account.take_flows()  # never taken during the run: all of them, at the end
    return t, e, account, taker


@pytest.fixture(scope="module")
def by_window():
    return {w: run(steps_scenario(), w) for w in (0.01, 1.0, 60.0, "auto")}


def test_egress_entries_are_numbered_by_function_then_list_order(by_window):
    _, _, account, _ = by_window[1.0]
    entries = account.egress_entries()
    assert [(f, i, e.dst) for f, i, e in entries] == [("api", 0, "internet:8.8.8.8"), ("api", 1, "internet:1.1.1.1"),
                                                      ("api", 2, "internet:9.9.9.9"), ("solo", 0, "internet:8.8.4.4")]
    assert entries[2][2].protocol == "udp" and entries[2][2].dst_ports[0].port == 53


def test_records_come_at_the_handlers_steps(by_window):
    t, entry, account, _ = by_window[1.0]
    rows = account.requests()
    api = rows.filter(rows["function"] == "api")
    pricing = rows.filter(rows["function"] == "pricing")
    solo = rows.filter(rows["function"] == "solo")
    assert api.height > 100 and solo.height > 50 and (rows["outcome"] == "ok").all()
    assert api["cold"].any() and (~api["cold"]).any()
    # pricing's answer: its attempt (at api's end + 10 ms) and its end
    answer = {t0: t0 + lat / 1000.0 for t0, lat in zip(pricing["t_s"].to_list(), pricing["latency_ms"].to_list())}
    expected = []
    for t0, init in zip(api["t_s"].to_list(), api["init_ms"].to_list()):
        h0 = t0 + init / 1000.0  # the handler's start, as the kernel computes it
        s = h0 + 8.0 / 1000.0  # after the SendMessage at start (list order: calls first)
        expected += [(s, 0), (s, 0), (s, 2)]
        end = s + 125.0 / 1000.0  # the function's own duration, then the sync call at end
        expected.append((answer[end + 10.0 / 1000.0], 1))
    for t0, init in zip(solo["t_s"].to_list(), solo["init_ms"].to_list()):
        expected.append((t0 + init / 1000.0 + 75.0 / 1000.0, 3))  # end of its duration, no call before
    got = sorted(zip(t.tolist(), entry.tolist()))
    want = sorted(expected)
    assert len(got) == len(want)
    assert [e for _, e in got] == [e for _, e in want]
    exact = [(a, b) for (a, e), (b, _) in zip(got, want) if e != 1]
    assert all(a == b for a, b in exact)  # bit for bit where only the handler's own steps lead to it
    # after a sync call the answer's time is the callee's end, which the rows carry in ms
    assert np.allclose([a for a, e in got if e == 1], [b for b, e in want if e == 1], rtol=0, atol=1e-9)
    # equal times keep event order: at a handler's start entry 0 twice, then entry 2 (list order)
    order = np.lexsort((np.arange(len(t)), t))
    ts, es = t[order], entry[order]
    for k in np.flatnonzero(es == 2):
        assert ts[k - 2] == ts[k - 1] == ts[k] and es[k - 2] == es[k - 1] == 0


def test_records_are_in_event_order_and_counted_as_calls(by_window):
    t, entry, account, _ = by_window[1.0]
    assert np.all(np.diff(t) >= 0)  # event order is time order
    calls = account.call_sections()["calls"]
    assert list(calls) == ["api.calls[0] → queue:audit", "api.calls[1] → function:pricing",
                           "api.egress[0] → internet:8.8.8.8", "api.egress[1] → internet:1.1.1.1",
                           "api.egress[2] → internet:9.9.9.9", "solo.egress[0] → internet:8.8.4.4"]
    for n, (name, _, e) in enumerate(account.egress_entries()):
        row = calls[f"{name}.egress[{_}] → {e.dst}"]
        assert row["mode"] == "flow"
        assert row["made"] == row["ok"] == row["attempts"] == int((entry == n).sum())
        assert row["failed"] == row["abandoned"] == row["retries"] == row["in_flight_end"] == 0


@pytest.mark.parametrize("window_s", [0.01, 60.0, "auto"])
def test_records_do_not_depend_on_the_window(by_window, window_s):
    t, entry, _, taker = by_window[window_s]
    t1, entry1, _, taker1 = by_window[1.0]
    assert t.tobytes() == t1.tobytes() and entry.tobytes() == entry1.tobytes()
    assert taker.windows != taker1.windows or window_s == "auto"


def test_a_buffer_of_one_grows_and_changes_nothing(by_window):
    t1, entry1, _, _ = by_window[1.0]
    t, entry, account, _ = run(steps_scenario(), 1.0, flow_records=1)
    assert t.tobytes() == t1.tobytes() and entry.tobytes() == entry1.tobytes()
    assert account.calls_state.flw_t.shape[0] > 1  # it grew
    # never taken during the run: the buffer holds them all, in the same order
    t, entry, account, _ = run(steps_scenario(), 60.0, flow_records=2, take=False)
    assert t.tobytes() == t1.tobytes() and entry.tobytes() == entry1.tobytes()
    assert account.calls_state.flw_t.shape[0] >= len(t1)
    assert len(account.take_flows()[0]) == 0  # taken: the buffer is empty


def test_counts_are_invocations_times_count_times_probability():
    """One function, egress only: entry 0 always (count 3), entry 1 with probability 0.3 (count
    2), entry 2 never. The number of invocations that sent entry 1 is binomial(n, 0.3): within
    its 99.9 % interval."""
    data = {"name": "counts", "duration_s": 300, "seed": 11, "vpcs": VPC,
            "functions": {"f": {"vpc": IN_VPC, "duration_ms": fixed(20),
                                "egress": [{"dst": "internet:8.8.8.8", "count": 3},
                                           {"dst": "internet:8.8.8.8", "count": 2, "probability": 0.3, "at": "end"},
                                           {"dst": "internet:8.8.8.8", "probability": 0.0}]}},
            "traffic": [{"target": "function:f", "invocation": "async", "end_s": 290,
                         "arrivals": {"kind": "poisson", "rate_per_s": 20}}],
            "record": {"report": False}}
    t, entry, account, _ = run(data, "auto")
    n = account.summary()["f"]["invocations"]
    assert n > 5000
    assert int((entry == 0).sum()) == 3 * n
    sent = (entry == 1).sum()
    assert sent % 2 == 0  # count 2: both flows, one after the other, when it is sent
    lo, hi = binom.interval(0.999, n, 0.3)
    assert lo <= sent // 2 <= hi, (sent // 2, lo, hi)
    assert int((entry == 2).sum()) == 0


def test_through_simulate_spans_and_summary():
    data = steps_scenario(duration_s=20.0)
    data["record"]["traces"] = {"first_n": 5}
    r = simulate(data, progress=False)
    calls = r.summary["calls"]
    assert calls["api.egress[0] → internet:8.8.8.8"]["made"] == 2 * calls["api.egress[2] → internet:9.9.9.9"]["made"]
    flows = r.traces.filter(r.traces["service"] == "vpc")
    assert flows.height > 0
    assert set(flows["name"].to_list()) <= {"egress:api[0] vpc.flow", "egress:api[1] vpc.flow",
                                            "egress:api[2] vpc.flow", "egress:solo[0] vpc.flow"}
    assert (flows["kind"] == "CLIENT").all() and (flows["start_s"] == flows["end_s"]).all()
    assert (flows["status"] == "OK").all()


def test_an_account_without_egress_takes_no_flows():
    data = steps_scenario(duration_s=5.0)
    for fn in data["functions"].values():
        fn.pop("egress", None)
    t, entry, account, _ = run(data, 1.0)
    assert len(t) == len(entry) == 0 and account.egress_entries() == []


# ---- the schema's mistakes ------------------------------------------------------------------

def problems(data) -> list:
    with pytest.raises(ScenarioError) as err:
        check_scenario(data)
    return err.value.problems


def test_mistakes_name_their_paths():
    data = steps_scenario()
    api = data["functions"]["api"]
    api["egress"] = [
        {"dst": "internet:8.8.8.8", "probability": 1.5, "count": 0, "at": "middle",
         "dst_ports": [{"port": 70000, "weight": 0}, {"port": -1}]},
        {"dst": "internet:8.8.8.8", "dst_ports": [], "count": 1001,
         "size_bytes": {"dist": "lognormal", "median": 5}, "duration_s": fixed(-1),
         "response_bytes": {"dist": "uniform", "low": 5}},
        {"dst": "internet:8.8.8.8", "count": 2.5},
    ]
    data["functions"]["pricing"]["egress"] = [{"dst": "internet:8.8.8.8"}]  # not in a VPC
    got = problems(data)
    paths = {p for p, _ in got}
    e0, e1 = "functions.api.egress[0]", "functions.api.egress[1]"
    for path, words in [(f"{e0}.probability", "above the maximum 1"), (f"{e0}.count", "below the minimum 1"),
                        (f"{e0}.at", "'middle' is not a valid at"),
                        (f"{e0}.dst_ports[0].port", "out of range"), (f"{e0}.dst_ports[0].weight", "greater than 0"),
                        (f"{e0}.dst_ports[1].port", "out of range"),
                        (f"{e1}.dst_ports", "at least one port"), (f"{e1}.count", "ceiling 1000"),
                        (f"{e1}.size_bytes", "also needs p99"), (f"{e1}.duration_s.value", "below the minimum 0"),
                        (f"{e1}.response_bytes", "needs high"),
                        ("functions.api.egress[2].count", "not a whole number"),
                        ("functions.pricing.egress", "needs functions.pricing.vpc")]:
        assert any(p == path and words in m for p, m in got), (path, words, got)
    assert "functions.api.egress" not in paths  # api is in a VPC, with room for its entries


def test_calls_and_egress_share_the_kernels_mask():
    from scenarios.calls import CALLS_PER_FUNCTION_MAX

    data = steps_scenario()
    api = data["functions"]["api"]
    api["egress"] = [{"dst": "internet:8.8.8.8"}] * (CALLS_PER_FUNCTION_MAX - len(api["calls"]))
    check_scenario(data)  # 62 together: allowed
    api["egress"].append({"dst": "internet:8.8.8.8"})
    got = problems(data)
    assert [p for p, _ in got] == ["functions.api.egress"]
    assert "2 calls and 61 egress entries" in got[0][1] and "at most 62 together" in got[0][1]


def test_the_network_checks_where_flows_go_not_the_account():
    """`dst`, `protocol` and the function's VPC configuration are the network's
    (scenarios/vpc_check.py): the account's checks say nothing of them."""
    from scenarios.calls import check_egress
    from scenarios.errors import Problems

    sc = load_scenario(steps_scenario())
    sc.functions["api"].egress[0].dst = "nowhere"
    sc.functions["api"].egress[0].protocol = "carrier-pigeon"
    sc.functions["api"].vpc.vpc = "missing"
    p = Problems()
    check_egress(sc, p)
    assert p.items == []
