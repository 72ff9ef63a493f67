"""Flows given bandwidth in a run (sim.network.links): a flow's duration follows from its bytes and
the links it shares (a NAT gateway, a VPN connection), `duration_s` being how long it takes
alone; worked by hand."""

from __future__ import annotations

from fractions import Fraction

import pytest

from sim import simulate
from test_network_bill import private_egress

GBIT_BYTES = 125_000_000  # 1 Gbit


def one_gbit_flows(count: int, duration_s: float, max_gbps=None, period=1.0) -> dict:
    """`count` flows of 1 Gbit in all (request + a 40-byte answer), one every `period` s from period/2,
    through the NAT gateway to the internet."""
    sc = private_egress(duration_s=count * period, flows_per_run=count, size=GBIT_BYTES - 40, response=40)
    sc["flows"][0]["duration_s"] = {"dist": "fixed", "value": duration_s}
    if max_gbps is not None:
        sc["vpcs"]["prod"]["nat_gateways"]["nat_b"]["max_gbps"] = max_gbps
    return sc


def generator(r, name="uploads"):
    return r.summary["vpcs"]["prod"]["generators"][name]


def test_alone_a_flow_lasts_its_duration():
    g = generator(simulate(one_gbit_flows(10, 2.0)))  # 0.5 Gbit/s each, far below the 5 the gateway starts at
    assert g["mean_flow_time_s"] == pytest.approx(2.0, rel=1e-12)
    assert g["max_flow_time_s"] == pytest.approx(2.0, rel=1e-12)


def processor_sharing(arrivals, size):
    """Flow times of equal flows sharing one link equally (exact fractions; size in link-seconds)."""
    left, t, done, i = {}, arrivals[0], {}, 0
    while len(done) < len(arrivals):
        n = len(left)
        t_end = t + min(left.values()) * n if n else None
        if i < len(arrivals) and (t_end is None or arrivals[i] < t_end):
            for k in left:
                left[k] -= (arrivals[i] - t) / n
            t, left[i], i = arrivals[i], Fraction(size), i + 1
        else:
            m = min(left.values())
            t = t_end
            for k in list(left):
                left[k] -= m
                if left[k] == 0:
                    done[k] = t - arrivals[k]
                    del left[k]
    return [done[k] for k in range(len(arrivals))]


def test_a_saturated_nat_gateway_shares_its_bandwidth():
    """10 flows of 1 Gbit, one every 0.1 s from 0.05 s, each able to go at 1,000 Gbit/s, through a
    NAT gateway of 1 Gbit/s: processor sharing, worked with exact fractions: flow times of 9.1 s
    on average, 23,573/2,520 = 9.354 s at most (the fifth flow); the gateway never idles, so the
    last ends at 10.05 s. At 100 Gbit/s (max_gbps: 100) each takes 0.01 s alone. Without max_gbps
    the gateway starts at 5 Gbit/s and these 1.05 s never reach its first scaling decision (60 s):
    processor sharing again, each flow 0.2 s of the link alone: flow times of 1.1 s on average,
    3,721/2,800 = 1.329 s at most (the sixth flow)."""
    want = processor_sharing([Fraction(5, 100) + Fraction(k, 10) for k in range(10)], 1)
    assert max(want) == Fraction(23573, 2520) and sum(want) / 10 == Fraction(91, 10)
    g = generator(simulate(one_gbit_flows(10, 0.001, max_gbps=1, period=0.1)))
    assert g["max_flow_time_s"] == pytest.approx(float(max(want)), rel=1e-9)
    assert g["mean_flow_time_s"] == pytest.approx(9.1, rel=1e-9)
    fast = generator(simulate(one_gbit_flows(10, 0.001, max_gbps=100, period=0.1)))
    assert fast["max_flow_time_s"] == pytest.approx(0.01, rel=1e-9)
    want = processor_sharing([Fraction(5, 100) + Fraction(k, 10) for k in range(10)], Fraction(1, 5))
    assert max(want) == Fraction(3721, 2800) and sum(want) / 10 == Fraction(11, 10)
    start = generator(simulate(one_gbit_flows(10, 0.001, period=0.1)))
    assert start["max_flow_time_s"] == pytest.approx(float(max(want)), rel=1e-9)
    assert start["mean_flow_time_s"] == pytest.approx(1.1, rel=1e-9)


def test_a_vpn_connection_carries_1_25_gbit_per_second():
    """Two flows of 1.25 Gbit to the office start together over a Site-to-Site VPN connection
    (a Standard tunnel, 1.25 Gbit/s): 0.625 Gbit/s each, 2 s."""
    sc = private_egress(duration_s=10, flows_per_run=2, size=156_250_000 - 40, response=40)
    vpc = sc["vpcs"]["prod"]
    vpc["vpn_gateways"] = {"office": {"vpn_connections": {"office_vpn": {"onprem_cidrs": ["192.168.0.0/16"]}}}}
    vpc["route_tables"]["private"]["routes"].append({"destination": "192.168.0.0/16", "target": "vgw:office"})
    sc["flows"] = [{"name": "backup", "src": "app1", "dst": "onprem:192.168.1.20", "protocol": "tcp",
                    "dst_ports": [{"port": 443}], "count": 2, "start_s": 1.0, "end_s": 1.0 + 1e-9,
                    "starts": "uniform", "size_bytes": {"dist": "fixed", "value": 156_250_000 - 40},
                    "response_bytes": {"dist": "fixed", "value": 40},
                    "duration_s": {"dist": "fixed", "value": 0.001}}]
    g = simulate(sc).summary["vpcs"]["prod"]["generators"]["backup"]
    assert g["accepted"] == 2
    assert g["max_flow_time_s"] == pytest.approx(2.0, rel=1e-6)  # (the two start 5e-10 s apart)


def test_a_bad_nat_bandwidth_is_refused_with_its_path():
    from scenarios.errors import ScenarioError

    with pytest.raises(ScenarioError, match=r"vpcs\.prod\.nat_gateways\.nat_b\.max_gbps: 150 Gbit/s; a NAT gateway "
                                            r"scales up to 100 Gbit/s"):
        simulate(one_gbit_flows(1, 1.0, max_gbps=150))


def test_a_flow_never_slowed_ends_to_the_last_bit():
    """A flow alone at 0.05 s for 0.95 s ends at 1.0 s: its flow log record ends in second 1, as
    when durations were inputs. For these sizes the sharing computes bits / (bits / 0.95) an ulp
    short, 0.9499999999999998 s, which would end it in second 0."""
    short = [size for size in range(10_000, 10_200)
             if 0.05 + (b := (size + 40) * 8.0) / (b / 0.95) < 1.0][:3]
    assert short  # (the sizes where the ulp matters)
    for size in short:
        sc = private_egress(duration_s=0.1, flows_per_run=1, size=size, response=40)  # one flow, at 0.05 s
        sc["flows"][0]["duration_s"] = {"dist": "fixed", "value": 0.95}
        logs = simulate(sc).flow_logs
        assert logs.height == 2 and logs["end"].to_list() == [1, 1], size
