"""Bounded before it starts: memory estimated and refused up front, windows capped at huge rates, month_h safe."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

import sim.engine.budget as budget
import sim.traffic.sources as sources
from scenarios import ScenarioError, load_region, load_scenario
from sim import simulate
from sim.billing.pricing import price, round_cents
from sim.billing.usage import Usage

ROOT = Path(__file__).resolve().parents[1]
GB = 2**30


def one_function(**extra) -> dict:
    sc = {"name": "b", "duration_s": 60, "seed": 1, "functions": {"f": {"duration_ms": {"dist": "fixed", "value": 10}}},
          "traffic": [{"name": "t", "target": "function:f", "arrivals": {"kind": "poisson", "rate_per_s": 10}}]}
    for k, v in extra.items():
        sc[k] = v
    return sc


@pytest.fixture
def eight_gb(monkeypatch):
    """A machine with 8 GB available, whatever this one has: refusals do not depend on it."""
    monkeypatch.setattr(budget, "available_bytes", lambda: 8 * GB)


def refusal(sc: dict, **kw) -> ScenarioError:
    with pytest.raises(ScenarioError) as err:
        simulate(sc, progress=False, **kw)
    return err.value


@pytest.mark.parametrize("extra, path, words", [
    ({"duration_s": 1e12}, "duration_s", ["TB", "per-period metrics", "record.period_s", "duration_s"]),
    ({"duration_s": 3600, "record": {"period_s": 0.001}}, "record.period_s", ["GB", "per-period metrics", "lengthen record.period_s"]),
])
def test_per_period_and_slot_blowups_are_refused_with_the_estimate_and_the_key(eight_gb, extra, path, words):
    err = refusal(one_function(**extra))
    assert len(err.problems) == 1
    where, message = err.problems[0]
    assert where == path
    assert "the run would need about" in message and "budget of 6.4 GB" in message and "80% of the 8 GB" in message
    for w in words:
        assert w in message


def test_environment_slots_beyond_memory_are_refused(eight_gb):
    """Every function may hold up to its concurrency cap of environments (whatever quota
    check the validator adds, the estimate counts them)."""
    sc = load_scenario(one_function())
    sc.account.concurrency_limit = 10**9
    with pytest.raises(ScenarioError) as err:
        budget.check_memory(sc)
    where, message = err.value.problems[0]
    assert where == "account.concurrency_limit"
    assert "environment slots (1e+09 over 1 functions)" in message and "lower account.concurrency_limit" in message


def test_the_progress_bar_names_the_expected_requests():
    import io

    from sim.api import _progress_bar

    sc = load_scenario(one_function())
    bar = _progress_bar(sc, True, budget.estimate(sc).expected_requests)
    bar.fp = io.StringIO()
    try:
        assert bar.desc == "b (~600 requests)"
    finally:
        bar.close()


def test_a_billion_flows_are_refused_before_any_is_drawn(eight_gb):
    import yaml

    sc = yaml.safe_load((ROOT / "configs/scenario/vpc_three_tier.yaml").read_text())
    sc.pop("defaults")
    sc["flows"][3]["count"] = 10**9  # worker_to_db
    with pytest.raises(ScenarioError) as err:
        simulate(sc, progress=False, base_dir=ROOT / "configs/scenario")
    where, message = err.value.problems[0]
    assert where == "flows[3].count"
    assert "TB" in message and "VPC flows" in message and "1e+09 flows" in message


def test_sampled_rows_of_a_huge_rate_are_refused(eight_gb):
    sc = one_function(duration_s=3600, record={"requests": {"sample": 0.01}})
    sc["traffic"][0]["arrivals"]["rate_per_s"] = 1e9
    where, message = refusal(sc).problems[0]
    assert where == "record.requests.sample"
    assert "sampled request rows" in message and "lower record.requests.sample" in message


def test_the_budget_setting_wins_over_the_machine(monkeypatch):
    """sim.max_memory_mb (read when the schema has it) replaces the machine's figure."""
    sc = load_scenario(one_function(record={"period_s": 0.01}))
    monkeypatch.setattr(sc.sim, "max_memory_mb", 1, raising=False)
    with pytest.raises(ScenarioError) as err:
        budget.check_memory(sc)
    assert "sim.max_memory_mb = 1" in str(err.value) and "budget of 1 MB" in str(err.value)
    monkeypatch.setattr(sc.sim, "max_memory_mb", 10**6, raising=False)
    budget.check_memory(sc)


def test_shipped_scenarios_fit_and_a_normal_run_is_accepted(eight_gb):
    for path in sorted((ROOT / "configs/scenario").glob("*.yaml")):
        est = budget.check_memory(load_scenario(path))
        assert 0 < est.total_bytes < 1 * GB, path.name
    r = simulate(one_function(), progress=False)
    assert r.summary["requests_simulated"] > 0


def test_human_sizes():
    assert budget.human_bytes(512) == "512 bytes"
    assert budget.human_bytes(3.5 * 2**20) == "3.5 MB"
    assert budget.human_bytes(1.8 * 2**40) == "1.8 TB"


MEASURE = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from sim import simulate
    sc = json.loads(sys.argv[2])
    warm = json.loads(sys.argv[2]); warm["duration_s"] = 1.0; warm["record"].pop("requests")
    simulate(warm, progress=False)  # imports, compiled kernels, polars and matplotlib warmed up

    def status(field):
        for line in open("/proc/self/status"):
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    base = status("VmRSS")
    open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to the current RSS
    simulate(sc, out_dir=sys.argv[3], progress=False)
    print(json.dumps({"growth": status("VmHWM") - base}))
""")


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_the_estimate_is_within_a_factor_two_of_the_measured_peak(tmp_path):
    """A mid-size run (two functions, 20,000 periods, 200,000 sampled rows): peak RSS growth
    measured in a fresh process against the estimate. No timing involved."""
    sc = one_function(duration_s=20000, record={"period_s": 1, "requests": {"sample": 1.0}})
    sc["functions"]["g"] = {"memory_mb": 256}
    sc["traffic"][0]["arrivals"]["rate_per_s"] = 10
    sc["traffic"].append({"name": "u", "target": "function:g", "arrivals": {"kind": "constant", "rate_per_s": 0.5}})
    est = budget.estimate(load_scenario(sc)).total_bytes
    out = subprocess.run([sys.executable, "-c", MEASURE, str(ROOT), json.dumps(sc), str(tmp_path / "run")],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    growth = json.loads(out.stdout.strip().splitlines()[-1])["growth"]
    assert est / 2 <= growth <= est * 2, (budget.human_bytes(est), budget.human_bytes(growth))


# ---- huge rates: windows capped, outcomes unchanged -------------------------------------

@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_a_billion_requests_per_second_stays_within_a_memory_bound(tmp_path):
    """10 million requests in 0.01 s: without the cap one window held them all (about 1 GB of
    arrays); with it, windows of about 1 ms hold 2**20 each."""
    code = textwrap.dedent("""
        import json, sys
        sys.path.insert(0, sys.argv[1])
        from sim import simulate
        sc = json.loads(sys.argv[2])
        warm = json.loads(sys.argv[2]); warm["traffic"][0]["arrivals"]["rate_per_s"] = 1000
        simulate(warm, progress=False)
        def status(field):
            for line in open("/proc/self/status"):
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
        base = status("VmRSS")
        open("/proc/self/clear_refs", "w").write("5")
        r = simulate(sc, progress=False)
        print(json.dumps({"growth": status("VmHWM") - base, "requests": r.summary["requests_simulated"]}))
    """)
    sc = one_function(duration_s=0.01)
    sc["traffic"][0]["arrivals"]["rate_per_s"] = 1e9
    out = subprocess.run([sys.executable, "-c", code, str(ROOT), json.dumps(sc)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["requests"] > 9_900_000
    assert got["growth"] < 400 * 2**20, budget.human_bytes(got["growth"])


def test_window_end_caps_the_expected_items():
    rate = 1e9

    def expected(t0, t1):
        return rate * (t1 - t0)

    t1 = sources.window_end(expected, 5.0, 6.0, 2**20)
    assert 5.0 < t1 < 6.0
    assert expected(5.0, t1) <= 2**20 < expected(5.0, t1 + 1e-12)
    assert sources.window_end(expected, 5.0, 5.0001, 1e6) == 5.0001  # below the cap: untouched

    def burst(t0, t1):  # 10 million rows at t = 2 exactly
        return 1e7 if t0 <= 2.0 < t1 else 0.0

    t = sources.window_end(burst, 2.0, 3.0, 2**20)
    assert 2.0 < t <= 2.0 + 1e-15  # the shortest window that still takes the burst: progress


def busy(window_s) -> dict:
    """Bursty traffic into a function, a topic fanning out to a queue, retries."""
    return {
        "name": "capped", "duration_s": 120, "seed": 9, "account": {"concurrency_limit": 50},
        "functions": {"f": {"duration_ms": {"dist": "exponential", "mean": 80}, "timeout_s": 1},
                      "g": {"duration_ms": {"dist": "fixed", "value": 30}}},
        "queues": {"q": {"visibility_timeout_s": 30}},
        "event_source_mappings": [{"source": "q", "function": "g", "batch_size": 5}],
        "topics": {"t": {"subscriptions": [{"protocol": "sqs", "endpoint": "q"}, {"protocol": "lambda", "endpoint": "f"}]}},
        "traffic": [
            {"name": "web", "target": "function:f", "arrivals": {"kind": "steps", "steps": [
                {"at_s": 0, "rate_per_s": 200}, {"at_s": 40, "rate_per_s": 900}, {"at_s": 80, "rate_per_s": 50}]},
             "retries": {"max_attempts": 3, "base_delay_s": 0.05, "max_delay_s": 1}},
            {"name": "pub", "target": "topic:t", "arrivals": {"kind": "poisson", "rate_per_s": 100}},
        ],
        "record": {"period_s": 10, "requests": {"sample": 0.2}},
        "sim": {"window_s": window_s},
    }


def without_wall(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("wall_s", "requests_per_wall_s")}


def test_capped_windows_change_no_outcome(monkeypatch):
    """With the cap at 25 items (windows of 0.03-0.25 s here) every output equals the
    uncapped runs' at Δ = 1 s and Δ = 60 s."""
    ref = simulate(busy(1.0), progress=False)
    other = simulate(busy(60.0), progress=False)
    auto = simulate(busy("auto"), progress=False)
    monkeypatch.setattr(sources, "MAX_WINDOW_ITEMS", 25)
    capped = simulate(busy(60.0), progress=False)
    auto_capped = simulate(busy("auto"), progress=False)
    for r in (other, capped, auto, auto_capped):
        assert without_wall(r.summary) == without_wall(ref.summary)
        assert r.requests.equals(ref.requests)
        assert r.metrics.equals(ref.metrics)
    assert ref.requests.height > 1000


def test_the_cap_shortens_windows(monkeypatch):
    from sim.builder import build
    from sim.engine import Engine

    monkeypatch.setattr(sources, "MAX_WINDOW_ITEMS", 25)
    sc = load_scenario(busy(60.0))
    world = build(sc)
    engine = Engine(world.components, sc.duration_s, sc.sim.window_s)
    engine.run()
    # about (200·40 + 900·40 + 50·40) / 25 windows for `web` alone
    assert engine.windows > (200 * 40 + 900 * 40 + 50 * 40) / 25 * 0.8


def test_automatic_windows_keep_the_cap(monkeypatch):
    """`auto` sizes windows to carry 2**15 items (sim.engine.clock), yet the cap still shortens them."""
    from sim.builder import build
    from sim.engine import Engine

    monkeypatch.setattr(sources, "MAX_WINDOW_ITEMS", 25)
    sc = load_scenario(busy("auto"))
    engine = Engine(build(sc).components, sc.duration_s, sc.sim.window_s)
    engine.run()
    assert engine.auto and engine.windows > (200 * 40 + 900 * 40 + 50 * 40) / 25 * 0.8


def window_term(sc: dict) -> budget.Term:
    terms = [t for t in budget.estimate(load_scenario(sc), writes=False).terms if "buffers of one window" in t.what]
    assert len(terms) == 1
    return terms[0]


def test_the_estimate_counts_automatic_windows():
    """`auto` windows carry at most AUTO_WINDOW_ITEMS arrivals (times what each becomes): at
    10**9 requests/s that is 2**15, where 1 s windows are held to the 2**20 cap; a source with
    fewer requests in the whole run than that counts them all."""
    from sim.engine.clock import AUTO_WINDOW_ITEMS

    huge = one_function(duration_s=10, sim={"window_s": "auto"})
    huge["traffic"][0]["arrivals"]["rate_per_s"] = 1e9
    assert window_term(huge).bytes == AUTO_WINDOW_ITEMS * budget.WINDOW_ITEM_BYTES
    huge["sim"]["window_s"] = 1.0
    assert window_term(huge).bytes == sources.MAX_WINDOW_ITEMS * budget.WINDOW_ITEM_BYTES
    small = one_function(duration_s=60)  # 10 requests/s: 600 in all
    del small["traffic"][0]["arrivals"]
    small["traffic"][0]["arrivals"] = {"kind": "constant", "rate_per_s": 10}
    assert load_scenario(small).sim.window_s == "auto"  # the default
    assert window_term(small).bytes == 600 * budget.WINDOW_ITEM_BYTES
    fan = busy("auto")  # the topic's publishes become 1 + 2 items (a queue and a function)
    fan["duration_s"] = 3600
    assert window_term(fan).bytes == (AUTO_WINDOW_ITEMS + 3 * AUTO_WINDOW_ITEMS) * budget.WINDOW_ITEM_BYTES


# ---- billing.month_h ---------------------------------------------------------------------

def test_round_cents_at_any_magnitude():
    assert round_cents(Decimal("0.005")) == Decimal("0.01")
    assert round_cents(Decimal("123.455")) == Decimal("123.46")
    big = Decimal("1e300") + Decimal("0.125")
    assert round_cents(big) == Decimal(10) ** 300  # exact: the 0.125 is far below the 80th digit
    assert round_cents(Decimal("-2.5e200")) == Decimal("-2.5e200")


@pytest.mark.parametrize("month_h", [1e-300, 0.001, 730, 8784, 1e300])
def test_price_projects_to_any_month(month_h):
    usage = [Usage("AWSLambda", "Request", "function:f", 1000, "Requests"),
             Usage("AWSLambda", "Lambda-GB-Second", "function:f", 5000, "GB-Seconds")]
    bill = price(usage, load_region("us-east-1"), free_tier=True, month_h=month_h, duration_s=3600)
    assert bill.cost_usd["total"] >= 0 and bill.cost_usd["monthly"] >= 0


def test_month_h_is_limited_to_a_leap_year():
    with pytest.raises(ScenarioError) as err:
        load_scenario({"billing": {"month_h": 1e300}})
    assert err.value.problems[0][0] == "billing.month_h" and "8784" in err.value.problems[0][1]
    ok = simulate(one_function(billing={"month_h": 8784, "free_tier": True}), progress=False)
    assert ok.summary["cost_usd"]["monthly"] >= 0


def test_a_backlog_that_outgrows_the_budget_stops_the_run(monkeypatch):
    """Asynchronous events at 2·10⁶/s against 10 environments pile up waiting for retries: the
    guard stops the run once its growth passes the budget (64 MB here), with the busiest source."""
    monkeypatch.setattr(budget.MemoryGuard, "for_run",
                        classmethod(lambda cls, sc: cls(sc, 64 * 2**20, "a test budget", every_s=0.0)))
    sc = one_function(duration_s=2, account={"concurrency_limit": 110})
    sc["functions"]["f"]["reserved_concurrency"] = 10
    sc["functions"]["f"]["duration_ms"] = {"dist": "fixed", "value": 1000}
    sc["traffic"][0].update(invocation="async", arrivals={"kind": "poisson", "rate_per_s": 2e6})
    err = refusal(sc)
    (where, message), = err.problems
    assert where == "traffic[0]"
    assert "stopped at t = " in message and "beyond its budget of 64 MB (a test budget)" in message


def test_the_series_counts_match_the_metrics_written():
    """The per-entity series the estimate counts are the ones metrics.parquet holds."""
    import polars as pl

    sc = one_function(duration_s=120, record={"period_s": 60})
    sc.update(queues={"q": {}, "w": {}}, event_source_mappings=[{"source": "q", "function": "f"}],
              worker_fleets={"fl": {"queue": "w"}},
              topics={"t": {"subscriptions": [{"protocol": "sqs", "endpoint": "q"}]}},
              buses={"b": {"rules": {"r": {"event_pattern": {"source": ["x"]}, "targets": [{"target": "queue:w"}]}}}})
    sc["traffic"] += [{"name": "p", "target": "topic:t", "arrivals": {"kind": "poisson", "rate_per_s": 1}},
                      {"name": "e", "target": "bus:b", "arrivals": {"kind": "poisson", "rate_per_s": 1},
                       "events": [{"event": {"source": "x"}}]}]
    m = simulate(sc, progress=False).metrics
    periods = 2

    def series(prefix: str, exclude: str = "\0") -> int:
        d = pl.col("dimension")
        rows = m.filter(d.str.starts_with(prefix) & ~d.str.contains(exclude, literal=True)).height
        assert rows % periods == 0
        return rows // periods

    assert series("FunctionName=f") == budget.FUNCTION_SERIES
    assert series("QueueName=q") == budget.QUEUE_SERIES - 2  # + usage record and cost row
    assert series("EventSourceMapping=") == budget.MAPPING_SERIES
    assert series("Fleet=fl") == budget.FLEET_SERIES
    assert series("TopicName=t") == budget.TOPIC_SERIES
    assert series("EventBusName=b", exclude="RuleName") == budget.BUS_SERIES - 2
    assert series("EventBusName=b,RuleName=r") == budget.RULE_SERIES
