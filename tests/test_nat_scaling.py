"""A NAT gateway's capacity over a run and the packets TCP loses there (sim.network.nat): its
bandwidth from 5 Gbit/s and packet rate from 1 M packets/s scaling up (AWS VPC user guide, "NAT
gateway basics"; how fast is our assumption: doubling at each 60 s grid instant where the mean
load of the interval reached 80 % in bits or in packets), or fixed by `max_gbps`; the packet
rate binding flows of small packets; PacketsDropCount from TCP's response function (Mathis et
al. 1997). Timelines, bytes and losses worked by hand; the same numbers bit for bit at windows
of 0.01 s, 1 s, 60 s and auto."""

from __future__ import annotations

import polars as pl
import pytest

from scenarios.errors import ScenarioError
from sim import simulate
from test_network_bill import private_egress


def nat_flow(total_bytes: int, alone_s: float, *, duration_s=300, period_s=60, max_gbps=None, packet_bytes=None,
             rtt_ms=None, window=None, outages=None) -> dict:
    """One flow of `total_bytes` (a 40-byte answer included) from a private host through NAT
    gateway nat_b to the internet, starting at 0.5 s, able to go at total_bytes x 8 / alone_s."""
    sc = private_egress(duration_s=duration_s, flows_per_run=1, size=total_bytes - 40, response=40)
    sc["record"] = {"period_s": period_s}
    f = sc["flows"][0]
    f.update(start_s=0, end_s=1)  # (count 1, uniform: at 0.5 s)
    f["duration_s"] = {"dist": "fixed", "value": alone_s}
    for k, v in (("packet_bytes", packet_bytes), ("rtt_ms", rtt_ms)):
        if v is not None:
            f[k] = v
    nat = sc["vpcs"]["prod"]["nat_gateways"]["nat_b"]
    if max_gbps is not None:
        nat["max_gbps"] = max_gbps
    if outages is not None:
        nat["outages"] = outages
    if window is not None:
        sc["sim"] = {"window_s": window}
    return sc


def nat_summary(r) -> dict:
    return r.summary["vpcs"]["prod"]["nat_gateways"]["nat_b"]


def series(r, metric: str, namespace=None) -> list:
    m = r.metrics.filter(pl.col("metric") == metric)
    if namespace is not None:
        m = m.filter(pl.col("namespace") == namespace)
    return m.sort("time_s")["value"].to_list()


# 20 Gbit/s offered from 0.5 s until the flow's 3.3075e12 bits are through (413,437,500,000 bytes
# at most 20 Gbit/s: 165.375 s alone)
DEMAND_BYTES = 413_437_500_000
DEMAND_ALONE_S = 165.375


def test_a_gateway_scales_under_a_constant_demand_worked_by_hand():
    """20 Gbit/s offered from 0.5 s. The gateway starts at 5 Gbit/s: over [0, 60) it carries
    5 x 59.5 = 297.5 Gbit, 99 % of what it could (at least 80 %): at 60 s it doubles to 10 Gbit/s
    and 2 M packets/s; [60, 120) carries 600 Gbit (100 %): 20 Gbit/s from 120 s, the flow's own
    rate; [120, 180) carries 1,200 Gbit, 100 % of 20: 40 Gbit/s from 180 s; [180, 240) 50 % of 40:
    no change. The flow's last 2,410 Gbit at 20 Gbit/s end at 240.5 s (240 s after its start).
    Bytes carried per 60 s period: 37,187,500,000; 75e9; 150e9; 150e9; 1.25e9 (0.5 s)."""
    r = simulate(nat_flow(DEMAND_BYTES, DEMAND_ALONE_S), progress=False)
    n = nat_summary(r)
    assert n["capacity_changes"] == [[0.0, 5.0, 1e6], [60.0, 10.0, 2e6], [120.0, 20.0, 4e6], [180.0, 40.0, 8e6]]
    assert n["capacity_gbps"] == 40.0 and n["capacity_pps"] == 8e6 and n["scale_ups"] == 3 and n["scales"]
    assert series(r, "BytesCarried") == pytest.approx([37_187_500_000, 75e9, 150e9, 150e9, 1.25e9], rel=1e-12)
    assert series(r, "CapacityGbps") == [5.0, 10.0, 20.0, 40.0, 40.0]
    assert series(r, "CapacityPps") == [1e6, 2e6, 4e6, 8e6, 8e6]
    assert series(r, "Utilization") == pytest.approx([59.5 / 60, 1.0, 1.0, 0.5, 0.5 * 20 / (40 * 60)], rel=1e-12)
    g = r.summary["vpcs"]["prod"]["generators"]["uploads"]
    assert g["max_flow_time_s"] == pytest.approx(240.0, rel=1e-12)
    assert n["peak_gbps"] == pytest.approx(20.0, rel=1e-12)
    assert series(r, "PeakPacketsPerSecond")[2] == pytest.approx(20e9 / 8 / 1500, rel=1e-12)


def test_a_fixed_gateway_never_scales():
    """max_gbps 45 (the seed notes' limit, before 2022): 45 Gbit/s and 45 / 5 x 1 M = 9 M packets/s
    throughout; the flow runs at its own 20 Gbit/s and ends at 0.5 + 165.375 s. max_gbps 100:
    20 M packets/s capped at AWS's 10 M."""
    r = simulate(nat_flow(DEMAND_BYTES, DEMAND_ALONE_S, max_gbps=45), progress=False)
    n = nat_summary(r)
    assert n["capacity_changes"] == [[0.0, 45.0, 9e6]] and not n["scales"] and n["scale_ups"] == 0
    assert series(r, "CapacityGbps") == [45.0] * 5
    assert r.summary["vpcs"]["prod"]["generators"]["uploads"]["max_flow_time_s"] == pytest.approx(165.375, rel=1e-12)
    n = nat_summary(simulate(nat_flow(DEMAND_BYTES, DEMAND_ALONE_S, max_gbps=100), progress=False))
    assert n["capacity_changes"] == [[0.0, 100.0, 1e7]]


def test_small_packets_bind_and_scale_the_gateway_by_its_packet_rate():
    """One flow of 100-byte packets able to go at 3.2 Gbit/s (4 M packets/s): the packet rate holds
    it at 1 M x 100 x 8 = 0.8 Gbit/s, 16 % of the bandwidth but 100 % of the packets, so at 60 s the
    gateway doubles (1.6 Gbit/s), at 120 s again (3.2: its own rate), at 180 s again (4 M packets/s
    were 100 % of 4 M), not at 240 s (50 % of 8 M). Its 5.292e11 bits (0.8 x 59.5 + 1.6 x 60 + 3.2 x
    120.5 Gbit) end at 240.5 s. Packets carried in [0, 60): 0.8e9 x 59.5 / 800 = 59.5 M."""
    r = simulate(nat_flow(66_150_000_000, 165.375, packet_bytes=100), progress=False)
    n = nat_summary(r)
    assert n["capacity_changes"] == [[0.0, 5.0, 1e6], [60.0, 10.0, 2e6], [120.0, 20.0, 4e6], [180.0, 40.0, 8e6]]
    assert r.summary["vpcs"]["prod"]["generators"]["uploads"]["max_flow_time_s"] == pytest.approx(240.0, rel=1e-12)
    assert series(r, "PacketsCarried")[0] == pytest.approx(59.5e6, rel=1e-12)
    assert series(r, "PeakPacketsPerSecond")[:4] == pytest.approx([1e6, 2e6, 4e6, 4e6], rel=1e-12)
    # its Packets* counts in 100-byte packets: (66,150,000,000 - 40) / 100 rounded up, and the answer's 1
    assert sum(series(r, "PacketsOutToDestination")) == 661_500_000
    assert sum(series(r, "PacketsInFromDestination")) == 1
    # and so do its flow log records (the host's egress record of the request, ingress of the answer)
    assert sorted(r.flow_logs["packets"].to_list()) == [1, 661_500_000]


def test_an_outage_across_a_decision_then_the_scaled_capacity():
    """The 20 Gbit/s demand with the gateway's AZ down over [50, 70): [0, 60) carried 5 x 49.5 =
    247.5 Gbit, 82.5 % of 300: at 60 s it scales to 10 Gbit/s, in force when the AZ comes back at 70 s;
    [60, 120) carried 10 x 50 = 500 Gbit, 83.3 % of 600: 20 Gbit/s from 120 s (and 40 from 180 s).
    The flow has 3,307.5 - 747.5 = 2,560 Gbit left at 120 s: 128 s at 20 Gbit/s, to 248 s."""
    r = simulate(nat_flow(DEMAND_BYTES, DEMAND_ALONE_S, outages=[{"start_s": 50, "end_s": 70}]), progress=False)
    n = nat_summary(r)
    assert n["capacity_changes"] == [[0.0, 5.0, 1e6], [60.0, 10.0, 2e6], [120.0, 20.0, 4e6], [180.0, 40.0, 8e6]]
    assert n["down_s"] == 20.0
    assert series(r, "BytesCarried")[:2] == pytest.approx([247.5e9 / 8, 500e9 / 8], rel=1e-12)
    assert r.summary["vpcs"]["prod"]["generators"]["uploads"]["max_flow_time_s"] == pytest.approx(247.5, rel=1e-12)


def test_mathis_losses_of_one_bottlenecked_flow_worked_by_hand():
    """A gateway fixed at 0.01 Gbit/s (and 0.01 / 5 x 1 M = 2,000 packets/s) and one flow of 125 MB
    (1,000-byte packets, RTT 48 ms) able to go at 1 Gbit/s: the gateway holds it at 10 Mbit/s,
    1.25e6 bytes/s, 1,250 packets/s, from 0.5 s to 100.5 s. MSS = 960 bytes;
    p = 1.5 (960 / (0.048 x 1.25e6))^2 = 1.5 x 0.016^2 = 3.84e-4; 0.48 packets lost a second, 48 in
    all: 28.56 in [0, 60) and 19.44 in [60, 120), each rounded once: 29 and 19."""
    r = simulate(nat_flow(125_000_000, 1.0, max_gbps=0.01, packet_bytes=1000, rtt_ms=48, duration_s=120),
                 progress=False)
    assert series(r, "PacketsDropCount") == [29, 19]
    n = nat_summary(r)
    assert n["packets_dropped"] == 48
    assert n["peak_pps"] == pytest.approx(1250.0, rel=1e-12)
    assert series(r, "PeakPacketsPerSecond") == pytest.approx([1250.0, 1250.0], rel=1e-12)
    assert r.summary["vpcs"]["prod"]["generators"]["uploads"]["max_flow_time_s"] == pytest.approx(100.0, rel=1e-12)
    # the lost packets are sent again: every byte arrives (conservation on the gateway)
    assert sum(series(r, "BytesCarried")) == pytest.approx(125_000_000, rel=1e-12)
    # a flow held by its own cap (5 Mbit/s, below the gateway's 10) loses nothing there
    r = simulate(nat_flow(62_500_000, 100.0, max_gbps=0.01, packet_bytes=1000, rtt_ms=48, duration_s=120),
                 progress=False)
    assert nat_summary(r)["packets_dropped"] == 0


def busy(window) -> dict:
    """Poisson flows of 1,500-byte packets and of 200-byte packets through a gateway that scales,
    both often held there (losses), with its AZ down over [100, 130): 200 s."""
    sc = private_egress(duration_s=200, flows_per_run=1, size=1)
    sc["record"] = {"period_s": 20}
    sc["flows"] = [
        {"name": "bulk", "src": "app1", "dst": "internet:203.0.113.7", "dst_ports": [{"port": 443}],
         "rate_per_s": 40, "size_bytes": {"dist": "exponential", "mean": 30_000_000},
         "response_bytes": {"dist": "fixed", "value": 40}, "duration_s": {"dist": "lognormal", "median": 1, "p99": 8}},
        {"name": "chatty", "src": "app1", "dst": "internet:203.0.113.8", "dst_ports": [{"port": 443}],
         "rate_per_s": 60, "size_bytes": {"dist": "exponential", "mean": 4_000_000},
         "response_bytes": {"dist": "exponential", "mean": 1_000_000}, "packet_bytes": 200, "rtt_ms": 35}]
    nat = sc["vpcs"]["prod"]["nat_gateways"]["nat_b"]
    nat["outages"] = [{"start_s": 100, "end_s": 130}]
    nat["scale_interval_s"] = 30
    sc["sim"] = {"window_s": window}
    return sc


def test_windows_change_nothing():
    """The same run at windows of 0.01 s, 1 s, 60 s and auto: the VPC section (capacity changes,
    losses, flow times), the NAT gateway's metrics and the links' are identical, bit for bit."""
    outs = []
    for w in (0.01, 1, 60, "auto"):
        r = simulate(busy(w), progress=False)
        m = r.metrics.filter(pl.col("namespace").is_in(["AWS/NATGateway", "cloudtwin/NATGateway", "cloudtwin/Links"]))
        outs.append((r.summary["vpcs"], m.sort(["namespace", "metric", "dimension", "time_s"]).to_dicts()))
    assert outs[0] == outs[1] == outs[2] == outs[3]
    n = outs[0][0]["prod"]["nat_gateways"]["nat_b"]
    assert n["scale_ups"] >= 2 and n["packets_dropped"] > 0 and n["down_s"] == 30.0


@pytest.mark.parametrize("where, value, path, words", [
    ("flow", {"packet_bytes": 0}, "flows[0].packet_bytes", "0 must be greater than 0"),
    ("flow", {"packet_bytes": 9002}, "flows[0].packet_bytes", "9002 is above the maximum 9001"),
    ("flow", {"rtt_ms": 0}, "flows[0].rtt_ms", "0 must be greater than 0 ms"),
    ("nat", {"scale_threshold": 1.5}, "vpcs.prod.nat_gateways.nat_b.scale_threshold", "1.5 is above the maximum 1"),
    ("nat", {"scale_threshold": 0}, "vpcs.prod.nat_gateways.nat_b.scale_threshold", "0 must be greater than 0"),
    ("nat", {"scale_interval_s": 0}, "vpcs.prod.nat_gateways.nat_b.scale_interval_s", "0 must be greater than 0 s"),
    ("nat", {"max_gbps": 45, "scale_interval_s": 30}, "vpcs.prod.nat_gateways.nat_b.scale_interval_s",
     "fixed at max_gbps 45; remove `scale_interval_s` or `max_gbps`"),
])
def test_mistakes_name_their_path(where, value, path, words):
    from scenarios.load import load_scenario

    sc = nat_flow(1_000_000, 1.0)
    (sc["flows"][0] if where == "flow" else sc["vpcs"]["prod"]["nat_gateways"]["nat_b"]).update(value)
    with pytest.raises(ScenarioError) as e:
        load_scenario(sc)
    assert any(p == path and words in m for p, m in e.value.problems), e.value.problems


def test_a_functions_egress_carries_its_packet_size_and_round_trip():
    """A function's egress entry with packet_bytes 100 and rtt_ms 5: each of its flows (100,000
    bytes, answered with 40) counts 1,000 packets out and 1 back at the gateway, and its flows
    share the gateway's packet rate."""
    from test_lambda_egress import lambda_nat

    sc = lambda_nat(rate=5, duration_s=20, size={"dist": "fixed", "value": 100_000}, arrivals="constant")
    sc["functions"]["uploader"]["egress"][0].update(packet_bytes=100, rtt_ms=5)
    r = simulate(sc, progress=False)
    flows = r.summary["vpcs"]["prod"]["functions"]["uploader"]["flows"]
    assert flows == 100
    assert sum(series(r, "PacketsOutToDestination")) == 1_000 * flows
    assert sum(series(r, "PacketsInFromDestination")) == flows
    assert max(series(r, "PeakPacketsPerSecond")) > 0
