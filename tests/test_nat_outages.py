"""NAT gateways whose AZ goes down, NAT instances as links, and the Peak* metrics; worked by hand."""

from __future__ import annotations

import pytest

from scenarios.errors import ScenarioError
from sim import simulate
from test_vpc_links import generator, one_gbit_flows


def test_an_az_outage_stops_the_nat_gateway_and_its_flows_wait():
    """One flow of 10 Gbit (a 40-byte answer included) at 0.5 s through a 1 Gbit/s NAT gateway
    alone takes 10 s; its AZ is down over [2.5, 5.5): no bit moves for 3 s, so it ends at
    13.5 s (13 s). Nothing fails over."""
    sc = one_gbit_flows(1, 0.001, max_gbps=1)
    sc["flows"][0]["size_bytes"]["value"] = 10 * 125_000_000 - 40
    sc["vpcs"]["prod"]["nat_gateways"]["nat_b"]["outages"] = [{"start_s": 2.5, "end_s": 5.5}]
    sc["duration_s"] = 20
    sc["flows"][0]["end_s"] = 1.0
    r = simulate(sc, progress=False)
    assert generator(r)["max_flow_time_s"] == pytest.approx(13.0, rel=1e-12)
    assert r.summary["vpcs"]["prod"]["nat_gateways"]["nat_b"]["down_s"] == 3.0


def test_peak_bytes_per_second_is_the_highest_load_in_the_period():
    """Two 1-Gbit flows each capped at 0.4 Gbit/s through the NAT gateway, at 0.5 s and 1.5 s (2.5 s
    each): 0.4 Gbit/s alone, 0.8 Gbit/s together from 1.5 s to 3 s. Periods of 1 s: peaks of 0.4,
    0.8, 0.8, 0.4 Gbit/s, then nothing; in bytes /8, in 1,500-byte packets /8/1500."""
    sc = one_gbit_flows(2, 2.5)
    sc["record"] = {"period_s": 1}
    sc["duration_s"], sc["flows"][0]["end_s"] = 6, 2.0
    r = simulate(sc, progress=False)
    m = r.metrics
    peak = m.filter(m["metric"] == "PeakBytesPerSecond").sort("time_s")["value"].to_list()
    assert peak[:5] == pytest.approx([0.05e9, 0.1e9, 0.1e9, 0.05e9, 0.0], rel=1e-12)
    pps = m.filter(m["metric"] == "PeakPacketsPerSecond").sort("time_s")["value"].to_list()
    assert pps[1] == pytest.approx(0.1e9 / 1500, rel=1e-12)
    assert r.summary["vpcs"]["prod"]["nat_gateways"]["nat_b"]["peak_gbps"] == pytest.approx(0.8, rel=1e-12)


def nat_instance(bandwidth_gbps=5.0, outages=()):
    """The private subnet routes to a NAT instance (an instance with nat: true and a public IP)
    instead of the NAT gateway."""
    sc = one_gbit_flows(2, 0.001, period=0.0001)
    vpc = sc["vpcs"]["prod"]
    vpc["hosts"]["natbox"] = {"subnet": "public_b", "private_ip": "10.0.1.20", "elastic_ip": "52.0.0.20",
                              "nat": True, "bandwidth_gbps": bandwidth_gbps, "outages": list(outages)}
    vpc["route_tables"]["private"]["routes"][1]["target"] = "instance:natbox"
    sc["duration_s"], sc["flows"][0]["end_s"] = 10, 0.0002
    return sc


def test_a_nat_instance_carries_its_instance_types_bandwidth():
    """Two 1-Gbit flows at 0.05 ms and 0.15 ms through a NAT instance of 0.5 Gbit/s: the instance
    never idles, so the second ends when 2 Gbit have passed, at 0.05 ms + 4 s: 3.9999 s after its
    start. Down over [1, 3), they take 2 s more, and no route moves."""
    g = generator(simulate(nat_instance(0.5), progress=False))
    assert g["max_flow_time_s"] == pytest.approx(3.9999, rel=1e-12)
    g = generator(simulate(nat_instance(0.5, [{"start_s": 1.0, "end_s": 3.0}]), progress=False))
    assert g["max_flow_time_s"] == pytest.approx(5.9999, rel=1e-12)


@pytest.mark.parametrize("change, where, words", [
    (lambda s: s["vpcs"]["prod"]["nat_gateways"]["nat_b"].update(outages=[{"start_s": 5, "end_s": 4}]),
     "vpcs.prod.nat_gateways.nat_b.outages[0].end_s", "must be after start_s"),
    (lambda s: s["vpcs"]["prod"]["nat_gateways"]["nat_b"].update(
        outages=[{"start_s": 1, "end_s": 4}, {"start_s": 3, "end_s": 5}]),
     "vpcs.prod.nat_gateways.nat_b.outages[1]", "overlaps outages[0]"),
    (lambda s: s["vpcs"]["prod"]["hosts"]["app1"].update(bandwidth_gbps=5),
     "vpcs.prod.hosts.app1.bandwidth_gbps", "only a NAT instance"),
    (lambda s: s["vpcs"]["prod"]["hosts"]["natbox"].update(bandwidth_gbps=None),
     "vpcs.prod.hosts.natbox.outages", "needs its bandwidth_gbps"),
    (lambda s: s["vpcs"]["prod"]["hosts"]["natbox"].update(bandwidth_gbps=-1),
     "vpcs.prod.hosts.natbox.bandwidth_gbps", "must be a bandwidth > 0"),
])
def test_mistakes_name_their_path(change, where, words):
    from scenarios.load import load_scenario

    sc = nat_instance(1.0, [{"start_s": 1.0, "end_s": 2.0}])
    change(sc)
    with pytest.raises(ScenarioError) as e:
        load_scenario(sc)
    assert any(p == where and words in m for p, m in e.value.problems), e.value.problems
