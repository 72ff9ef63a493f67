"""AWS Outposts (scenarios/outposts.py, sim/compute/outposts.py, kernels/fargate.py's Outpost
placement): workloads placed at the start, a service's tasks on the rack and beyond it, the
service link's delay, the rack's bill, and the mistakes."""

from __future__ import annotations

import polars as pl
import pytest

from scenarios.errors import ScenarioError
from sim.api import simulate

FIXED = lambda v: {"dist": "fixed", "value": v}  # noqa: E731


def scenario(placement=None, desired=2, rate=5.0, duration_s=60.0, **outpost):
    op = {"capacity": {"m5.xlarge": 4, "c5.2xlarge": 2}, "service_link": {"rtt_ms": 30},
          "workloads": [{"name": "mes", "instance_type": "m5.xlarge", "count": 2},
                        {"name": "scada", "instance_type": "c5.2xlarge", "count": 3}]}
    op.update(outpost)
    sv = {"cpu": 1, "memory_gb": 2, "request_ms": FIXED(90), "desired_count": desired,
          "concurrency_per_task": 1, "startup_s": FIXED(30)}
    if placement is not None:
        sv["outpost"] = {"name": "factory", "instance_type": "m5.xlarge", **placement}
    return {"name": "op", "seed": 1, "duration_s": duration_s, "outposts": {"factory": op},
            "services": {"web": sv},
            "traffic": [{"name": "c", "target": "service:web", "arrivals": {"kind": "constant", "rate_per_s": rate}}]}


def test_workloads_fill_their_pools_in_order_and_the_rest_goes_away():
    r = simulate(scenario(), progress=False)
    o = r.summary["outposts"]["factory"]
    assert o["pools"]["m5.xlarge"]["used_by_workloads"] == 2 and o["pools"]["m5.xlarge"]["free_for_services"] == 2
    assert o["pools"]["c5.2xlarge"]["used_by_workloads"] == 2
    assert o["workloads"] == [{"name": "mes", "instance_type": "m5.xlarge", "placed": 2, "in_region": 0},
                              {"name": "scada", "instance_type": "c5.2xlarge", "placed": 2, "in_region": 1}]


def test_tasks_beyond_the_rack_run_in_the_region_across_the_service_link():
    """2 slots left on the m5.xlarge pool, one task per instance, 3 tasks: 2 on the rack, 1 on
    Fargate in the Region. Requests of 90 ms every 1/15 s (at most 2 in progress at once): the
    rack's two tasks serve them all, none crosses the link. At 30 a second (3 at once) the
    rack's slots are taken by the two before, so every third goes to the Region task: its
    answer comes 30 ms later (120 ms). Only the Region task is billed by Fargate (1 task-hour
    an hour)."""
    r = simulate(scenario({"tasks_per_instance": 1}, desired=3, rate=15.0, duration_s=3600.0), progress=False)
    s, pool = r.summary["services"]["web"], r.summary["outposts"]["factory"]["pools"]["m5.xlarge"]
    assert s["outpost_tasks"] == 2 and pool["task_slots"] == 2 and pool["tasks_on_outpost_mean"] == 2.0
    assert pool["requests_served_in_region"] == 0
    assert r.summary["entry_points"]["c"]["latency_ms"]["max"] == pytest.approx(90.0)
    ecs = r.costs.filter((pl.col("service") == "AmazonECS") & (pl.col("period") == "simulated")
                         & (pl.col("usage_type") == "Fargate-vCPU-Hours:perCPU"))
    assert float(ecs["usage_amount"].sum()) == pytest.approx(1.0)
    r = simulate(scenario({"tasks_per_instance": 1}, desired=3, rate=30.0, duration_s=60.0), progress=False)
    pool = r.summary["outposts"]["factory"]["pools"]["m5.xlarge"]
    e = r.summary["entry_points"]["c"]
    assert pool["requests_served_in_region"] == 600  # every third of 1,800
    assert e["latency_ms"]["max"] == pytest.approx(120.0) and e["latency_ms"]["p50"] == pytest.approx(90.0, rel=0.01)


def test_refused_launches_wait_for_a_slot():
    """overflow: refuse, 2 slots, desired 3: the third task is not launched (it waits); nothing
    runs in the Region and nothing crosses the link."""
    r = simulate(scenario({"overflow": "refuse"}, desired=3, rate=10.0), progress=False)
    s = r.summary["services"]["web"]
    assert s["running_tasks_end"] == 2 and s["outpost_tasks"] == 2
    assert r.summary["outposts"]["factory"]["pools"]["m5.xlarge"]["requests_served_in_region"] == 0
    assert not r.costs.filter(pl.col("service") == "AmazonECS").height


def test_the_rack_is_billed_at_its_quoted_price():
    """monthly_usd 8,000 over a 730-hour month: an hour simulated bills 8000/730 USD-months' worth."""
    r = simulate(scenario(monthly_usd=8000, duration_s=3600.0), progress=False)
    rows = r.costs.filter((pl.col("service") == "AWSOutposts"))
    sim_ = rows.filter(pl.col("period") == "simulated")
    assert float(sim_["unblended_cost_usd"].sum()) == pytest.approx(8000 / 730, abs=1e-9)
    assert float(rows.filter(pl.col("period") == "monthly")["unblended_cost_usd"].sum()) == pytest.approx(8000.0)
    r = simulate(scenario(duration_s=600.0), progress=False)
    assert r.summary["outposts"]["factory"]["billed"] is False
    assert not r.costs.filter(pl.col("service") == "AWSOutposts").height


@pytest.mark.parametrize("edit, path, words", [
    (lambda s: s["services"]["web"]["outpost"].update(name="plant"), "services.web.outpost.name",
     "outpost 'plant' is not defined"),
    (lambda s: s["services"]["web"]["outpost"].update(instance_type="r5.large"), "services.web.outpost.instance_type",
     "has no pool on outpost 'factory'"),
    (lambda s: s["outposts"]["factory"]["capacity"].update({"m9.huge": 2}), "outposts.factory.capacity['m9.huge']",
     "is not an Outposts rack instance type"),
    (lambda s: s["outposts"]["factory"]["workloads"][0].update(overflow="queue"),
     "outposts.factory.workloads[0].overflow", "'queue'; allowed: region, refuse"),
    (lambda s: s["services"]["web"].update(spot={"spot_weight": 1, "interruptions_per_task_hour": 0}),
     "services.web.spot.spot_weight", "runs no Fargate Spot tasks"),
    (lambda s: s["services"].update(api={**s["services"]["web"]}), "services.api.outpost.instance_type",
     "one service per pool"),
])
def test_mistakes_name_their_path(edit, path, words):
    sc = scenario({"tasks_per_instance": 1})
    edit(sc)
    with pytest.raises(ScenarioError) as e:
        simulate(sc, progress=False)
    assert any(p == path and words in m for p, m in e.value.problems), e.value.problems
