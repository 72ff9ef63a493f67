"""ECS services on Fargate through the whole simulator (sim/compute/fargate.py): target tracking
worked by hand, Erlang C on a fixed-size service, the load balancer's answers, conservation,
windows, the bill by hand, and an API Gateway route in front. The kernel against its twin:
tests/test_fargate_twin.py."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from kernels import fargate as F
from sim.api import simulate


def service(**kw):
    base = {"cpu": 1, "memory_gb": 2, "request_ms": {"dist": "fixed", "value": 100}, "desired_count": 2,
            "startup_s": {"dist": "fixed", "value": 30}, "launch_rate_per_min": 60}
    base.update(kw)
    return base


def constant(rate, start=0.0, name=None, target="service:web", end=None):
    tr = {"target": target, "arrivals": {"kind": "constant", "rate_per_s": rate}, "start_s": start}
    if name:
        tr["name"] = name
    if end is not None:
        tr["end_s"] = end
    return tr


def run(sc, window=None):
    sc = {"name": "fg", "seed": 3, **sc}
    if window is not None:
        sc["sim"] = {"window_s": window}
    return simulate(sc, progress=False)


def desired_series(r, name="web"):
    m = r.metrics.filter((pl.col("metric") == "DesiredTaskCount") & (pl.col("dimension") == f"ServiceName={name}"))
    return m.sort("time_s")["value"].to_numpy()


def test_target_tracking_follows_the_rule_worked_by_hand():
    """2 tasks of one slot, requests of exactly 100 ms, start-up exactly 30 s, launches 1 s apart,
    target 50 % CPU. 8 requests/s until 120 s (40 %), then 28/s (2.8 slots of demand on 2).

    By hand: datapoints at 180, 240 and 300 s are 100 % (both slots busy, the line full), so the
    high alarm (3 datapoints) fires at 300: desired = ceil(2 × 100 / 50) = 4, launched at 300 and
    301, running at 330 and 331; the scale-out cooldown runs to 600. At 360 (≤ 100 %) and 420, 480,
    540 (2.8 / 4 = 70 %) the alarm still fires but, in the cooldown, the capacity it added counts
    (base 2): ceil(2 × 70 / 50) = 3 ≤ 4, nothing. At 600 the cooldown is over: ceil(4 × 70 / 50) =
    6, launched at 600 and 601, running at 630 and 631. At 660 (≈ 56 %, in the new cooldown with
    base 4) ceil(4.5) = 5 ≤ 6; from 720 on 2.8 / 6 ≈ 46.7 %, between the scale-in threshold (45 %)
    and the target: no alarm. Nothing else happens to 1,200 s."""
    sc = {"duration_s": 1200.0, "record": {"period_s": 60},
          "services": {"web": service(scaling={"target": 50, "min_tasks": 1, "max_tasks": 10})},
          "traffic": [constant(8.0, name="base"), constant(20.0, 120.0, name="step")]}
    r = run(sc)
    s = r.summary["services"]["web"]
    assert s["scale_outs"] == 2 and s["scale_ins"] == 0
    assert s["tasks_launched"] == 4 and s["desired_tasks_end"] == 6 and s["running_tasks_end"] == 6
    assert s["startup_s_mean"] == 30.0
    d = desired_series(r)
    # time-averaged desired count per minute: 2 to 300, 4 to 600, 6 after
    np.testing.assert_allclose(d, [2] * 5 + [4] * 5 + [6] * 10)
    running = r.metrics.filter(pl.col("metric") == "RunningTaskCount").sort("time_s")["value"].to_numpy()
    # minute [300, 360): 2 tasks for 30 s, 3 for 1 s, 4 for 29 s; [600, 660): 4, 5, 6 likewise
    np.testing.assert_allclose(running[5], (2 * 30 + 3 * 1 + 4 * 29) / 60)
    np.testing.assert_allclose(running[10], (4 * 30 + 5 * 1 + 6 * 29) / 60)
    np.testing.assert_allclose(running[11:], 6.0)
    # the line filled at 200 (2 tasks x a backlog of 100) and refused the rest: 502s
    assert s["refused_502"] > 0 and s["line_max"] == 200
    # conservation
    assert s["requests"] == s["ok"] + s["no_targets_503"] + s["refused_502"] + s["timeout_504"] + s["queued_end"]


def erlang_c(c: int, a: float) -> float:
    """Probability of waiting in M/M/c with offered load a = λ/μ (Erlang C)."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.slow
def test_a_fixed_size_service_waits_as_erlang_c():
    """M/M/c: Poisson requests at λ = 32/s to a fixed service of 2 tasks × 2 slots (c = 4) with
    exponential requests of mean 100 ms (μ = 10/s, ρ = 0.8). Mean wait in the line, Erlang C:
    W_q = C(c, a) / (cμ - λ), about 74.5 ms. 12 seeded replications of 20 minutes (the first 2
    dropped as warm-up would need per-request data; at ρ = 0.8 the empty start biases the mean by
    far less than the interval); the theory lies in the replications' 99.9 % t-interval."""
    lam, mu, c = 32.0, 10.0, 4
    theory_s = erlang_c(c, lam / mu) / (c * mu - lam)
    waits = []
    for seed in range(12):
        sc = {"seed": seed, "duration_s": 1200.0, "name": "erlang",
              "services": {"web": service(cpu=1, memory_gb=2, desired_count=2, concurrency_per_task=2,
                                          backlog_per_task=100_000, idle_timeout_s=4000,
                                          request_ms={"dist": "exponential", "mean": 1000.0 / mu})},
              "traffic": [{"target": "service:web", "arrivals": {"kind": "poisson", "rate_per_s": lam}}]}
        s = simulate(sc, progress=False).summary["services"]["web"]
        assert s["refused_502"] == 0 and s["timeout_504"] == 0
        waits.append(s["wait_ms_mean"] / 1000.0)
    w = np.asarray(waits)
    half = stats.t.ppf(0.9995, len(w) - 1) * w.std(ddof=1) / math.sqrt(len(w))
    print(f"Erlang C: simulated {w.mean() * 1000:.2f} ± {half * 1000:.2f} ms, theory {theory_s * 1000:.2f} ms")
    assert abs(w.mean() - theory_s) < half, (w.mean(), theory_s, half)
    assert half < 0.15 * theory_s  # the test has power: the interval is narrow


def test_the_load_balancer_answers_503_502_and_504():
    """No task: every request a 503 at once. One task of one slot, a backlog of 2, requests of 1 s
    arriving 10 a second: the first served, two wait, the rest refused (502) until a slot frees.
    An idle timeout of 1.5 s: the second waiter (wait 2 s + 1 s) gets a 504 at arrival + 1.5 s."""
    r = run({"duration_s": 10.0, "services": {"none": service(desired_count=0)},
             "traffic": [constant(10.0, target="service:none", name="c")]})
    s = r.summary["services"]["none"]
    assert s["requests"] == 100 and s["no_targets_503"] == 100
    assert r.summary["entry_points"]["c"]["failed"] == 100
    sc = {"duration_s": 3.0, "services": {"one": service(desired_count=1, backlog_per_task=2,
                                                         request_ms={"dist": "fixed", "value": 1000},
                                                         idle_timeout_s=1.5)},
          "traffic": [constant(10.0, target="service:one", name="c", end=0.35)]}
    r = run(sc)
    s = r.summary["services"]["one"]
    # arrivals at 0, 0.1, 0.2, 0.3: 0 served (ok at 1.0), 0.1 waits (starts at 1.0, done 2.0: 1.9 s > 1.5:
    # 504 at 1.6), 0.2 waits (starts at 2.0: 504 at 1.7), 0.3 refused (502)
    assert (s["requests"], s["ok"], s["timeout_504"], s["refused_502"]) == (4, 1, 2, 1)
    e = r.summary["entry_points"]["c"]
    assert (e["succeeded"], e["failed"]) == (1, 3)
    # ended at 1.5 s: the first waiter started at 1.0 (its 504 decided, answered at 1.6), the second waits
    sc["duration_s"] = 1.5
    r = run(sc)
    s = r.summary["services"]["one"]
    assert (s["requests"], s["ok"], s["timeout_504"], s["refused_502"], s["queued_end"]) == (4, 1, 1, 1, 1)
    # the traffic source sees its 4 requests: the ok at 1.0 and the 502 answered, the 504 due at
    # 1.6 and the one still waiting in flight at the end
    e = r.summary["entry_points"]["c"]
    assert (e["requests"], e["succeeded"], e["failed"], e["in_flight_end"]) == (4, 1, 1, 2)


ON_AN_OUTPOST = {"outposts": {"rack": {"capacity": {"m5.large": 3}, "service_link": {"rtt_ms": 25},
                                        "workloads": [{"instance_type": "m5.large", "count": 1}]}}}


@pytest.mark.parametrize("where", ["region", "outpost"])
def test_windows_change_nothing(where):
    """Scaling, Spot interruptions (in the Region) or an Outpost's slots with the rest in the
    Region, a line and 504s written at their deadlines, run in windows of 0.5 s, 7 s, 60 s and
    auto: identical summaries, metrics and bills."""
    sc = {"duration_s": 900.0,
          "services": {"web": service(concurrency_per_task=2, request_ms={"dist": "exponential", "mean": 150},
                                      startup_s={"dist": "uniform", "low": 20, "high": 40},
                                      scaling={"target": 60, "max_tasks": 12, "scale_out_cooldown_s": 60,
                                               "scale_in_cooldown_s": 60, "scale_in_datapoints": 3},
                                      spot={"on_demand_base": 1, "spot_weight": 2,
                                            "interruptions_per_task_hour": 6})},
          "traffic": [{"target": "service:web", "arrivals": {"kind": "steps", "steps": [
              {"at_s": 0, "rate_per_s": 10}, {"at_s": 200, "rate_per_s": 60}, {"at_s": 500, "rate_per_s": 5}]}}]}
    if where == "outpost":
        web = sc["services"]["web"]
        del web["spot"]
        web.update(idle_timeout_s=2, outpost={"name": "rack", "instance_type": "m5.large", "tasks_per_instance": 2})
        sc.update(ON_AN_OUTPOST)
    runs = [run(sc, w) for w in (0.5, 7.0, 60.0, None)]
    first = runs[0]
    s = first.summary["services"]["web"]
    assert s["scale_outs"] >= 1 and s["scale_ins"] >= 1
    if where == "outpost":
        pool = first.summary["outposts"]["rack"]["pools"]["m5.large"]
        assert s["timeout_504"] > 0 and s["outpost_tasks"] >= 4 and pool["requests_served_in_region"] > 0
    else:
        assert s["spot_interruptions"] >= 1
    for other in runs[1:]:
        assert other.summary["services"] == first.summary["services"]
        assert other.summary.get("outposts") == first.summary.get("outposts")
        assert other.summary["entry_points"] == first.summary["entry_points"]
        assert other.metrics.sort(["namespace", "metric", "dimension", "time_s"]).equals(
            first.metrics.sort(["namespace", "metric", "dimension", "time_s"]), null_equal=True)
        assert other.costs.equals(first.costs)


def ecs_cost(r, usage_type):
    rows = r.costs.filter((pl.col("service") == "AmazonECS") & (pl.col("period") == "simulated")
                          & (pl.col("usage_type") == usage_type))
    return float(rows["unblended_cost_usd"].sum()), float(rows["usage_amount"].sum())


def test_the_bill_worked_by_hand():
    """An hour of 3 fixed tasks of 1 vCPU / 2 GB, on-demand base 1 then Spot and on-demand 1:1:
    tasks 0 and 1 on-demand (the base, then a tie goes on-demand), task 2 on Spot. x86 on-demand
    $0.04048 per vCPU-h and $0.004445 per GB-h; Spot 0.3 of those (the price book's)."""
    r = run({"duration_s": 3600.0, "services": {"web": service(desired_count=3, spot={
        "on_demand_base": 1, "spot_weight": 1, "interruptions_per_task_hour": 0})}})
    assert ecs_cost(r, "Fargate-vCPU-Hours:perCPU") == pytest.approx((2 * 0.04048, 2.0), abs=1e-12)
    assert ecs_cost(r, "Fargate-GB-Hours") == pytest.approx((4 * 0.004445, 4.0), abs=1e-12)
    assert ecs_cost(r, "SpotUsage-Fargate-vCPU-Hours:perCPU") == pytest.approx((0.012144, 1.0), abs=1e-12)
    assert ecs_cost(r, "SpotUsage-Fargate-GB-Hours") == pytest.approx((2 * 0.0013335, 2.0), abs=1e-12)
    assert r.summary["services"]["web"]["spot_tasks"] == 1
    # arm64 with 30 GB of ephemeral storage: ARM rates, and 10 GB above the 20 included
    r = run({"duration_s": 3600.0, "services": {"web": service(desired_count=3, architecture="arm64",
                                                               ephemeral_storage_gb=30)}})
    assert ecs_cost(r, "Fargate-ARM-vCPU-Hours:perCPU") == pytest.approx((3 * 0.03238, 3.0), abs=1e-12)
    assert ecs_cost(r, "Fargate-ARM-GB-Hours") == pytest.approx((6 * 0.00356, 6.0), abs=1e-12)
    assert ecs_cost(r, "Fargate-EphemeralStorage-GB-Hours") == pytest.approx((30 * 0.000111, 30.0), abs=1e-12)


def test_a_task_is_billed_a_minute_at_least_and_to_the_second():
    """Billed from launch to stop rounded up to the second, at least 60 s; per period its seconds
    where it ran and the rest where it stopped."""
    from sim.compute.fargate import FargateServices

    comp = FargateServices.__new__(FargateServices)
    comp.n_periods, comp.period_s, comp.t_end = 3, 60.0, 180.0

    class Run:
        st = np.zeros(F.N_S, np.int64)
        tk_f = np.array([[10.0, 20.0, 30.5, np.inf],  # 20.5 s: a minute, in period 0
                         [50.0, 60.0, 130.2, np.inf],  # 80.2 s: 81 s over periods 0, 1, 2
                         [170.0, np.inf, np.inf, np.inf]])  # still launching at the end: a minute

    Run.st[F.S_NTASKS] = 3
    ms = comp._billed_ms(Run)
    assert ms[:, 0].tolist() == [60_000, 0, 0]
    assert ms[:, 1].tolist() == [10_000, 60_000, 11_000]
    assert ms[:, 2].tolist() == [0, 0, 60_000]


def test_an_api_route_in_front_of_a_service():
    """API Gateway → VPC link → the service: the client sees the service's time plus the gateway's
    overhead (10 ms); a route timeout shorter than the wait is a 504 at the gateway."""
    sc = {"duration_s": 2.0,
          "services": {"web": service(desired_count=1, request_ms={"dist": "fixed", "value": 100})},
          "apis": {"shop": {"routes": {"GET /a": {"integration": "service:web"}}}},
          "traffic": [{"name": "c", "target": "api:shop/GET /a", "arrivals": {"kind": "constant", "rate_per_s": 5}}]}
    r = run(sc)
    e = r.summary["entry_points"]["c"]
    assert e["requests"] == 10 and e["succeeded"] == 10
    assert e["latency_ms"]["max"] == pytest.approx(110.0) and e["latency_ms"]["p50"] == pytest.approx(110.0, rel=0.01)
    route = r.summary["apis"]["shop GET /a"]
    assert route["status_2xx"] == 10 and route["integration"] == "service:web"
    # 20 requests/s of 100 ms on one slot: the line grows 1 per 0.1 s... a 150 ms route timeout
    sc["apis"]["shop"]["routes"]["GET /a"]["timeout_ms"] = 150
    sc["traffic"][0]["arrivals"]["rate_per_s"] = 20
    r = run(sc)
    route = r.summary["apis"]["shop GET /a"]
    assert route["status_504"] > 0 and route["status_2xx"] > 0
    s = r.summary["services"]["web"]
    assert s["requests"] == route["forwarded"]


def test_a_function_cannot_call_a_service_yet():
    from scenarios.errors import ScenarioError

    with pytest.raises(ScenarioError, match="ECS service targets are not simulated yet"):
        simulate({"functions": {"f": {"calls": [{"target": "service:web"}]}},
                  "services": {"web": service()}}, progress=False)
