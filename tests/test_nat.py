"""NAT gateway connections: the port-allocation kernel against its twin, and ErrorPortAllocation
through a whole run worked out by hand (55,000 connections per destination per address, FACTS
"NAT gateway connections")."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings, strategies as st

from kernels.nat import allocate_ports
from kernels.ref.nat import allocate_ports_ref
from sim import simulate
from test_billing import lines
from test_network_bill import private_egress


@st.composite
def connections(draw):
    n = draw(st.integers(0, 30))
    start = sorted(draw(st.lists(st.one_of(st.sampled_from([0.0, 1.0, 2.0, 2.5]), st.floats(0, 10)),
                                 min_size=n, max_size=n)))
    dur = draw(st.lists(st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0, 5)), min_size=n, max_size=n))
    key = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    return start, [s + d for s, d in zip(start, dur)], key, draw(st.integers(1, 4)), \
        draw(st.sampled_from([1.0, 2.5, 100.0])), draw(st.integers(1, 6))


@settings(max_examples=300, deadline=None)
@given(connections())
def test_kernel_matches_twin(case):
    """Which connections get a port, and the most open at once per period (ties: a port freed
    at t serves a connection starting at t; a connection of zero duration is never open)."""
    start, end, key, limit, period_s, n_p = case
    ok = np.zeros(len(start), bool)
    active_max = np.zeros(n_p, np.int64)
    failed = allocate_ports(np.array(start, float), np.array(end, float), np.array(key, np.int64), 3, limit, period_s,
                            ok, active_max)
    want_ok, want_max = allocate_ports_ref(start, end, key, limit, period_s, n_p)
    assert list(ok) == want_ok
    assert list(active_max) == want_max
    assert failed == want_ok.count(False)


def busy_api(ip_addresses: int) -> dict:
    """1,000 connections a second for 120 s to one destination (203.0.113.7:443/tcp) through one
    NAT gateway, each open for 59.9995 s (a port frees half a millisecond before the connection
    that takes it over starts)."""
    sc = private_egress(duration_s=120, flows_per_run=120_000, size=2_000, response=8_000)
    sc["record"] = {"period_s": 60}
    sc["flows"][0]["duration_s"] = {"dist": "fixed", "value": 59.9995}
    sc["vpcs"]["prod"]["nat_gateways"]["nat_b"]["ip_addresses"] = ip_addresses
    return sc


def test_error_port_allocation_worked_by_hand():
    """With one address, 55,000 connections to the destination can be open. The first 55,000 (0-55 s)
    get ports; the 5,000 of 55-60 s fail; from 60 s each connection takes the port of the one
    60 s before it, so those of 60-115 s get ports and those of 115-120 s (whose predecessors
    failed) fail: 110,000 established, 10,000 ErrorPortAllocation, at most 55,000 open."""
    r = simulate(busy_api(1))
    nat = r.summary["vpcs"]["prod"]["nat_gateways"]["nat_b"]
    assert nat["connection_attempts"] == 120_000
    assert nat["port_allocation_errors"] == 10_000
    assert nat["connections_established"] == 110_000
    assert nat["connection_attempts"] == (nat["connections_established"] + nat["port_allocation_errors"]
                                          + nat["rejected_beyond"])
    assert nat["active_connections_max"] == 55_000
    m = r.metrics.filter((pl.col("namespace") == "AWS/NATGateway") & (pl.col("dimension") == "NatGatewayId=nat_b"))
    per = {k: v for k, v in m.group_by("metric").agg(pl.col("value").sum()).iter_rows()}
    assert per["ErrorPortAllocation"] == 10_000 and per["ConnectionEstablishedCount"] == 110_000
    assert per["BytesOutToDestination"] == 110_000 * 2_000 and per["BytesInFromDestination"] == 110_000 * 8_000
    assert per["PacketsOutToDestination"] == 110_000 * 2 and per["PacketsInFromDestination"] == 110_000 * 6
    active = m.filter(pl.col("metric") == "ActiveConnectionCount").sort("time_s")["value"].to_list()
    assert active == [55_000, 55_000]
    # the failed flows are rejected at the gateway, and the bill counts only what it processed
    v = r.summary["vpcs"]["prod"]
    assert v["rules"]["nat:nat_b"] == {"accepted": 110_000, "rejected": 10_000}
    assert nat["bytes_processed"] == 110_000 * (2_000 + 8_000)


def test_a_second_address_doubles_the_ports_and_its_bill():
    """Two addresses: 110,000 ports, more than the 60,000 ever open. Each Elastic IP bills
    $0.005 an hour: 2 x 720 h of the projected month = $7.20."""
    r = simulate(busy_api(2))
    nat = r.summary["vpcs"]["prod"]["nat_gateways"]["nat_b"]
    assert nat["port_allocation_errors"] == 0 and nat["connections_established"] == 120_000
    assert nat["active_connections_max"] == 60_000
    assert lines(r)["PublicIPv4:InUseAddress"] == (1440.0, 7.20)
