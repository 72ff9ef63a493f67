"""Direct Connect failing over to a Site-to-Site VPN and back (sim.network.dx), worked by hand.

A 1 TB copy (8e12 bits) from a host in a private subnet to the office over a 10 Gbit/s DX
connection, with a VPN connection to the same prefix as backup: the DX route wins while DX is
up (equal prefixes: DX before VPN); the connection fails at 100 s and is repaired at 500 s.
The copy's last byte arrives the connection's one-way latency (2 ms by default) after the
links have carried it.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import simulate
from test_network_bill import private_egress

TB = 10**12
LATENCY_S = 0.002  # DxConnection.latency_ms's default, one way


def hybrid(outage=(100.0, 500.0), bfd=False, backup=True, size=TB, duration_s=2000, lag=False, period_s=10,
           vpn_prefix="192.168.0.0/16"):
    sc = private_egress(duration_s=duration_s, flows_per_run=1)
    sc["record"] = {"period_s": period_s}
    vpc = sc["vpcs"]["prod"]
    dx = {"onprem_cidrs": ["192.168.0.0/16"], "connection": "lag1" if lag else "dx1", "bfd": bfd}
    if backup:
        dx["backup_vpn"] = "office_vpn"
    vpc["vpn_gateways"] = {"office": {"vpn_connections": {"office_vpn": {"onprem_cidrs": [vpn_prefix]}},
                                      "dx_interfaces": {"dx_vif": dx}}}
    vpc["route_tables"]["private"]["routes"].append({"destination": "192.168.0.0/16", "target": "vgw:office"})
    conns = {"dx1": {"speed_gbps": 10, **({"outages": [{"start_s": outage[0], "end_s": outage[1]}]} if outage else {})}}
    sc["direct_connect"] = {"connections": conns}
    if lag:
        conns["dx2"] = {"speed_gbps": 10}
        sc["direct_connect"]["lags"] = {"lag1": {"connections": ["dx1", "dx2"]}}
    sc["flows"] = [{"name": "copy", "src": "app1", "dst": "onprem:192.168.1.20", "protocol": "tcp",
                    "dst_ports": [{"port": 443}], "count": 1, "start_s": 0.0, "end_s": 1e-9, "starts": "uniform",
                    "size_bytes": {"dist": "fixed", "value": size - 40},
                    "response_bytes": {"dist": "fixed", "value": 40},
                    "duration_s": {"dist": "fixed", "value": 1e-6}}]  # (a cap far above every link)
    return sc


def _run(**kw):
    r = simulate(hybrid(**kw), progress=False)
    v = r.summary["vpcs"]["prod"]
    return r, v["generators"]["copy"]["max_flow_time_s"], v["dx_interfaces"]["dx_vif"]


def test_failover_after_the_hold_timer_and_fail_back_after_repair():
    """0-100 s at 10 Gbit/s: 1e12 bits. 100-190 s (BGP's 90 s hold timer): nothing. 190-500 s
    on the VPN at 1.25 Gbit/s: 3.875e11 bits. From 500 s at 10 Gbit/s: the last 6.6125e12 bits in
    661.25 s. Done at 1,161.25 s (and 2 ms); 951.5625 GB over DX, 48.4375 GB over the VPN."""
    r, took, dx = _run()
    assert took == pytest.approx(1161.25 + LATENCY_S, rel=1e-12)
    assert dx["changes"] == [[0.0, "up", 10.0], [100.0, "blackhole", 0.0], [190.0, "failover", 1.25],
                             [500.0, "up", 10.0]]
    assert dx["bytes_over_dx"] == 951_562_500_000 and dx["bytes_over_backup_vpn"] == 48_437_500_000
    assert dx["failovers"] == 1 and dx["blackhole_s"] == 90.0
    # throughput per 10 s period, from the metrics: DX 10 Gbit/s, nothing, the VPN's 1.25, DX again
    m = r.metrics
    bps = m.filter((m["metric"] == "ConnectionBpsEgress")).sort("time_s")["value"].to_numpy()
    vpn = m.filter((m["metric"] == "TunnelDataOut")).sort("time_s")["value"].to_numpy() * 8 / 10
    want_dx = np.zeros(len(bps))
    want_dx[:10] = 1e10
    want_dx[50:116] = 1e10
    want_dx[116] = 1e10 * 0.125  # (1,160-1,161.25 s)
    want_vpn = np.zeros(len(vpn))
    want_vpn[19:50] = 1.25e9
    assert bps == pytest.approx(want_dx, rel=1e-9, abs=1e-3)
    assert vpn == pytest.approx(want_vpn, rel=1e-9, abs=1e-3)
    state = m.filter(m["metric"] == "ConnectionState").sort("time_s")["value"].to_numpy()
    assert (state[10:50] == 0).all() and (state[:10] == 1).all() and (state[50:] == 1).all()


def test_bfd_notices_in_under_a_second():
    """With BFD the routes move after 0.9 s: 100.9-500 s on the VPN (4.98875e11 bits), the last
    6.501125e12 bits from 500 s: done at 1,150.1125 s."""
    _, took, dx = _run(bfd=True)
    assert took == pytest.approx(1150.1125 + LATENCY_S, rel=1e-12)
    assert dx["blackhole_s"] == pytest.approx(0.9)


def test_without_a_backup_the_traffic_waits_for_the_repair():
    """No backup VPN: nothing moves for the 400 s of the outage; done at 800 + 400 = 1,200 s."""
    _, took, dx = _run(backup=False)
    assert took == pytest.approx(1200.0 + LATENCY_S, rel=1e-12)
    assert dx["bytes_over_backup_vpn"] == 0 and dx["blackhole_s"] == 400.0


def test_a_lag_loses_a_member_and_keeps_going_at_half_speed():
    """A LAG of two 10 Gbit/s connections: 0-100 s at 20 Gbit/s (2e12 bits), 100-500 s at 10
    Gbit/s on the member left (4e12), from 500 s at 20 (the last 2e12 in 100 s): done at 600 s,
    no failover."""
    _, took, dx = _run(lag=True)
    assert took == pytest.approx(600.0 + LATENCY_S, rel=1e-12)
    assert dx["failovers"] == 0 and dx["blackhole_s"] == 0


def test_a_backup_vpn_with_a_more_specific_prefix_wins_while_dx_is_up():
    """The VPN advertises 192.168.1.0/24, more specific than the DX's /16: the copy goes over the
    VPN from the start (1.25 Gbit/s: 6,400 s), whatever DX does."""
    r = simulate(hybrid(outage=None, vpn_prefix="192.168.1.0/24", duration_s=100), progress=False)
    g = r.summary["vpcs"]["prod"]["generators"]["copy"]
    assert g["max_flow_time_s"] == pytest.approx(6400.0, rel=1e-12)


def test_the_bill_follows_what_each_route_carried():
    """The copy's bytes left AWS over DX while DX was up (951.5625 x 10^9 bytes, 886.21 GB of
    2^30 bytes, DataXfer-Out) and over the VPN during the failover (48.4375 x 10^9 bytes, 45.11
    GB, data out to the internet), times the share of the interface's bytes that went out (all
    but the 40-byte answer); the run is projected to a 720-hour month."""
    from test_billing import lines

    r, _, _ = _run()
    got = lines(r)
    share = (TB - 40) / TB
    dx_gb = 951_562_500_000 * share / 2**30
    vpn_gb = 48_437_500_000 * share / 2**30
    month = 720 / (2000 / 3600)  # (private_egress projects to a 720-hour month)
    assert got["DataXfer-Out"][0] == pytest.approx(dx_gb * month, rel=1e-9)
    assert got["DataTransfer-Out-Bytes"][0] == pytest.approx(vpn_gb * month, rel=1e-9)


def test_a_link_down_to_the_end_leaves_the_copy_unfinished():
    """Down from 100 s to past the run's end, no backup: the copy never finishes. It is counted
    as such (no flow time), and its flow log records end at the run's end (2,000 s)."""
    r, took, dx = _run(outage=(100.0, 5000.0), backup=False)
    g = r.summary["vpcs"]["prod"]["generators"]["copy"]
    assert g["never_finished"] == 1 and took is None and g["mean_flow_time_s"] is None
    assert dx["blackhole_s"] == 1900.0 and dx["bytes_over_dx"] == pytest.approx(125e9, abs=1)  # (100 s at 10 Gbit/s)
    assert r.flow_logs["end"].to_list() == [2000, 2000]


def _random_failures(seed: int, hours: float = 200.0) -> dict:
    sc = hybrid(outage=None, duration_s=hours * 3600, period_s=3600)
    sc["seed"] = seed
    sc["flows"][0]["size_bytes"]["value"] = 1000  # (one small flow: something to simulate)
    sc["direct_connect"]["connections"]["dx1"].update(mtbf_h=5.0, mttr_h=1.0)
    return sc


def test_random_failures_follow_renewal_theory():
    """Failures every Exp(5 h) of up time, repairs taking Exp(1 h): over a long run the share of
    time down is MTTR / (MTBF + MTTR) = 1/6 (an alternating renewal process). 16 replications of
    200 h; the 99 % CI must hold 1/6. Each outage starts a failover 90 s later unless repaired
    first; the same seed gives the same outages."""
    from test_validation_lambda import ci

    shares = []
    for seed in range(16):
        r = simulate(_random_failures(seed), progress=False)
        dx = r.summary["vpcs"]["prod"]["dx_interfaces"]["dx_vif"]
        ch = dx["changes"] + [[200 * 3600.0, "end", 0.0]]
        down = sum(b[0] - a[0] for a, b in zip(ch, ch[1:]) if a[1] != "up")
        shares.append(down / (200 * 3600.0))
        assert dx["failovers"] > 5
    mean, half = ci(shares)
    assert abs(mean - 1 / 6) <= half, (mean, half)
    again = simulate(_random_failures(3), progress=False).summary["vpcs"]["prod"]["dx_interfaces"]["dx_vif"]
    first = simulate(_random_failures(3), progress=False).summary["vpcs"]["prod"]["dx_interfaces"]["dx_vif"]
    assert again["changes"] == first["changes"]
