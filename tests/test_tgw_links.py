"""Transit gateway attachments and VPN tunnels as links, worked by hand."""

from __future__ import annotations

import pytest

from sim import simulate
from test_network_bill import two_vpcs_through_a_tgw


def big_flows(n: int, gbit: float) -> dict:
    """`n` flows of `gbit` Gbit each from h1 (VPC one) to h2 (VPC two) through the transit
    gateway, starting together, no cap of their own."""
    sc = two_vpcs_through_a_tgw(int(gbit * 125_000_000) - 40, 40)
    f = sc["flows"][0]
    f.update(count=n, starts="uniform", start_s=0.0, end_s=1e-9, duration_s={"dist": "fixed", "value": 1e-6})
    return sc


def test_a_vpc_attachment_carries_100_gbit_per_second_per_az():
    """Four flows of 100 Gbit cross the two VPC attachments (each 100 Gbit/s in the AZ of its
    host): 25 Gbit/s each, 4 s."""
    g = simulate(big_flows(4, 100.0), progress=False).summary["vpcs"]["one"]["generators"]["sync"]
    assert g["max_flow_time_s"] == pytest.approx(4.0, rel=1e-6)


def vpn_attachment(tunnel="standard", ecmp=True, n=4) -> dict:
    """`n` flows of 10 Gbit from h1 to the office through a transit gateway VPN attachment."""
    sc = big_flows(n, 10.0)
    tgw = sc["transit_gateways"]["hub"]
    tgw["attachments"]["office"] = {"kind": "vpn", "onprem_cidrs": ["192.168.0.0/16"], "route_table": "rt",
                                    "tunnel": tunnel, "ecmp": ecmp}
    tgw["route_tables"]["rt"]["routes"].append({"destination": "192.168.0.0/16", "target": "office"})
    sc["vpcs"]["one"]["route_tables"]["main"]["routes"].append({"destination": "192.168.0.0/16", "target": "tgw:hub"})
    sc["flows"][0]["dst"] = "onprem:192.168.1.10"
    return sc


@pytest.mark.parametrize("tunnel, ecmp, n, want_s", [
    ("standard", True, 4, 16.0),   # 2 x 1.25 Gbit/s shared by 4: 0.625 each, 10 Gbit in 16 s
    ("standard", True, 1, 8.0),    # one flow stays on one tunnel: 1.25 Gbit/s, 8 s
    ("standard", False, 4, 32.0),  # no ECMP: one tunnel for all, 0.3125 each
    ("large", True, 4, 4.0),       # 2 x 5 Gbit/s: 2.5 each
    ("large", True, 1, 2.0),       # one Large tunnel: 5 Gbit/s
])
def test_vpn_attachment_tunnels_with_and_without_ecmp(tunnel, ecmp, n, want_s):
    r = simulate(vpn_attachment(tunnel, ecmp, n), progress=False)
    g = r.summary["vpcs"]["one"]["generators"]["sync"]
    assert g["accepted"] == n
    assert g["max_flow_time_s"] == pytest.approx(want_s, rel=1e-6)



def test_a_bad_tunnel_is_refused_with_its_path():
    from scenarios.errors import ScenarioError
    from scenarios.load import load_scenario

    with pytest.raises(ScenarioError) as e:
        load_scenario(vpn_attachment(tunnel="huge"))
    assert any(p == "transit_gateways.hub.attachments.office.tunnel" and "standard, large" in m
               for p, m in e.value.problems), e.value.problems


def test_vpn_tunnel_metrics_split_by_direction():
    """Four flows of 10 Gbit to the office (each 1,249,999,960 bytes out and a 40-byte answer)
    over a VPN attachment: TunnelDataOut adds up to the bytes sent out, TunnelDataIn to the
    answers, TunnelState is 1; DX's own metrics are split the same way (test_dx_failover)."""
    r = simulate(vpn_attachment(n=4), progress=False)
    m = r.metrics.filter(r.metrics["dimension"] == "VpnId=hub/office")
    total = {k: m.filter(m["metric"] == k)["value"].sum() for k in ("TunnelDataOut", "TunnelDataIn")}
    assert total["TunnelDataOut"] == pytest.approx(4 * 1_249_999_960, rel=1e-9)
    assert total["TunnelDataIn"] == pytest.approx(4 * 40, rel=1e-6)
    assert (m.filter(m["metric"] == "TunnelState")["value"] == 1).all()
