"""NAT gateway connections: the ports handed out in the links' event loop against the port rule's
twin and the sharing twin, and ErrorPortAllocation through a whole run worked out by hand
(55,000 connections per destination per address, FACTS "NAT gateway connections")."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings, strategies as st

from kernels.ref.bandwidth import share_ref
from kernels.ref.nat import allocate_ports_ref
from sim.network.bandwidth import share_arrays
from sim import simulate
from test_billing import lines
from test_network_bill import private_egress


@st.composite
def connections(draw):
    """Flows on one or two links (or only a cap), some through the gateway, with ports to 3 keys."""
    n = draw(st.integers(0, 24))
    start = sorted(draw(st.lists(st.one_of(st.sampled_from([0.0, 1.0, 2.0, 2.5]), st.floats(0, 10)),
                                 min_size=n, max_size=n)))
    # (a flow of some bits lasts a positive time: at least 1 bit, so it cannot end at its start)
    bits = draw(st.lists(st.one_of(st.sampled_from([0.0, 1e6, 4e6]), st.floats(1, 1e7)), min_size=n, max_size=n))
    paths = draw(st.lists(st.sampled_from([(0,), (1,), (0, 1), ()]), min_size=n, max_size=n))
    caps = [draw(st.sampled_from([1e6, 2.5e6, 4e6])) if not p or draw(st.booleans()) else math.inf for p in paths]
    key = draw(st.lists(st.integers(-1, 2), min_size=n, max_size=n))
    hold = draw(st.lists(st.one_of(st.just(0.0), st.sampled_from([0.5, 1.0, 3.0]), st.floats(0, 5)), min_size=n,
                         max_size=n))
    return start, bits, paths, caps, key, draw(st.integers(1, 4)), draw(st.sampled_from([1.0, 2.5, 100.0])), \
        draw(st.integers(1, 6)), hold


@settings(max_examples=300, deadline=None)
@given(connections())
def test_ports_in_the_links_loop_follow_the_rule_and_the_sharing(case):
    """The links' event loop hands out ports by the rule of the twin (kernels/ref/nat.py) given the
    completion times it computed; the flows that got one share the links as the sharing twin
    (kernels/ref/bandwidth.py) says; the most ports open per period is the twin's. A port held
    idle after its flow (`hold`) stays taken until completion + hold."""
    start, bits, paths, caps, key, limit, period_s, n_p, hold = case
    cap_l = np.array([4e6, 1e7])
    n = len(start)
    ports = (np.array(key, np.int64), np.full(3, limit, np.int64), np.zeros(3, np.int64), 1)
    r = share_arrays(cap_l, np.array(start, float), np.array(bits, float), paths, np.array(caps, float),
                     period_s=period_s, n_periods=n_p, ports=ports, hold=np.array(hold, float))
    gated = [f for f in range(n) if key[f] >= 0]
    ends = [r.done_s[f] + hold[f] if bits[f] > 0 else start[f] for f in gated]
    want_ok, want_max = allocate_ports_ref([start[f] for f in gated], ends, [key[f] for f in gated], limit, period_s,
                                           n_p)
    assert [bool(r.ok[f]) for f in gated] == want_ok
    assert list(r.nat_max[:, 0]) == want_max
    assert all(r.ok[f] for f in range(n) if key[f] < 0)
    kept = [f for f in range(n) if r.ok[f]]
    done, _, _ = share_ref([start[f] for f in kept], [bits[f] for f in kept], [[f"l{j}" for j in paths[f]] for f in kept],
                           [caps[f] for f in kept], {"l0": 4e6, "l1": 1e7})
    assert [r.done_s[f] for f in kept] == pytest.approx(done, rel=1e-9, abs=1e-9)
    for f in range(n):
        if not r.ok[f]:
            assert r.done_s[f] == start[f] and r.left_bits[f] == bits[f]


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


def idle_api(idle_s: float, keepalive_s=None) -> dict:
    """1,000 connections a second for 120 s to one destination through one address; each moves its
    bytes in 1 s, then stays open idle for `idle_s` (a pooled connection)."""
    sc = busy_api(1)
    sc["flows"][0]["duration_s"] = {"dist": "fixed", "value": 1.0}
    sc["flows"][0]["idle_s"] = {"dist": "fixed", "value": idle_s}
    if keepalive_s is not None:
        sc["flows"][0]["keepalive_s"] = keepalive_s
    return sc


@pytest.mark.parametrize("idle_s, keepalive_s, established, dropped", [
    # idle 500 s, no keepalive: the gateway drops each at 350 s idle, its port held until then
    # (after the run): the first 55,000 get ports, the 65,000 after fail; 55,000 idle timeouts
    (500.0, None, 55_000, 55_000),
    # keepalives every 60 s keep them open: no timeout, the ports held all the same
    (500.0, 60.0, 55_000, 0),
    # idle 99.9995 s: the port of the flow at s frees at s + 100.9995, half a millisecond before the
    # flow at s + 101 starts: flows of 55-101 s fail (46,000), those of 101-120 s get ports (19,000)
    (99.9995, None, 74_000, 0),
])
def test_idle_connections_hold_ports_and_time_out_at_350_s(idle_s, keepalive_s, established, dropped):
    r = simulate(idle_api(idle_s, keepalive_s), progress=False)
    nat = r.summary["vpcs"]["prod"]["nat_gateways"]["nat_b"]
    assert nat["connections_established"] == established
    assert nat["port_allocation_errors"] == 120_000 - established
    assert nat["idle_timeouts"] == dropped
    m = r.metrics
    assert m.filter(m["metric"] == "IdleTimeoutCount")["value"].sum() == dropped
