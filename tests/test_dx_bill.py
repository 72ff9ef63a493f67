"""Direct Connect's bill: port-hours by type and speed, a LAG's member ports, data out.

Every expected figure is worked out here by hand from AWS's published rates, not read back from
the code under test: dedicated 10 Gbit/s $2.25 per port-hour, 1 Gbit/s $0.30 (FACTS "Direct Connect
dedicated", DX pricing); hosted 500 Mbit/s $0.20, 1 Gbit/s $0.33 (FACTS "Direct Connect hosted";
DX pay-as-you-go page "excluding Japan"); data out $0.02 per GB for US locations, data in free
(FACTS "Direct Connect transfer"); a Site-to-Site VPN connection $0.05 per hour (FACTS
"Site-to-Site VPN"). GB are 2^30 bytes, as AWS bills them.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl
import pytest

from scenarios import load_region, load_scenario
from sim import simulate
from sim.billing.pricing import price
from sim.network.meters import DX_DATA_OUT, DX_SERVICE, NetworkMeters, dx_usage_types
from test_billing import cents, lines
from test_network_bill import exact, private_egress

GIB = 2**30
DAY_S = 86_400


def with_direct_connect(sc: dict) -> dict:
    """`sc` (a VPC scenario) plus Direct Connect: a lone 10 Gbit/s dedicated connection `dx1`, a
    hosted 500 Mbit/s `partner1`, and a LAG `lag1` of two 10 Gbit/s dedicated connections carrying
    the VPC's DX interface, which fails over to the Site-to-Site VPN connection `office_vpn`."""
    sc["direct_connect"] = {
        "connections": {"dx1": {"type": "dedicated", "speed_gbps": 10, "location": "EqDC2"},
                        "partner1": {"type": "hosted", "speed_gbps": 0.5, "location": "EqDC2"},
                        "lag_a": {"type": "dedicated", "speed_gbps": 10, "location": "EqDC2"},
                        "lag_b": {"type": "dedicated", "speed_gbps": 10, "location": "EqDC2"}},
        "lags": {"lag1": {"connections": ["lag_a", "lag_b"], "min_links": 1}},
    }
    sc["vpcs"]["prod"]["vpn_gateways"] = {"vgw": {
        "vpn_connections": {"office_vpn": {"onprem_cidrs": ["192.168.0.0/16"]}},
        "dx_interfaces": {"dc_vif": {"onprem_cidrs": ["172.16.0.0/16"], "connection": "lag1",
                                     "backup_vpn": "office_vpn", "bfd": True}}}}
    return sc


def by_resource(result, usage_type: str, period: str = "monthly") -> dict:
    """resource -> (amount, cost in cents) of one usage type."""
    rows = result.costs.filter((pl.col("period") == period) & (pl.col("usage_type") == usage_type)).to_dicts()
    return {r["resource"]: (round(r["usage_amount"], 6), cents(repr(r["unblended_cost_usd"]))) for r in rows}


def test_a_direct_connect_month_to_the_cent():
    """A day projected to a 30-day month (720 h):

    - three dedicated 10 Gbit/s ports (dx1 and the LAG's two members): 3 x 720 h = 2,160 h x $2.25
      = $4,860.00 ($1,620.00 each; the LAG bills each member's port);
    - the hosted 500 Mbit/s port: 720 h x $0.20 = $144.00;
    - the backup VPN connection: 720 h x $0.05 = $36.00;
    no data out over Direct Connect (the links put none in yet), so no DataXfer-Out line.
    Direct Connect $5,004.00 in all."""
    r = simulate(with_direct_connect(private_egress(flows_per_run=1)))
    got = lines(r)
    assert got["PortUsage-10G-Dedicated"] == (2160.0, cents(2160 * Decimal("2.25"))) == (2160.0, 4860.00)
    assert got["PortUsage-500M-Hosted"] == (720.0, cents(720 * Decimal("0.20"))) == (720.0, 144.00)
    assert got["VPN-Usage-Hours"] == (720.0, 36.00)
    assert DX_DATA_OUT not in got
    assert by_resource(r, "PortUsage-10G-Dedicated") == {f"dx_connection:{c}": (720.0, 1620.00)
                                                         for c in ("dx1", "lag_a", "lag_b")}
    assert by_resource(r, "PortUsage-500M-Hosted") == {"dx_connection:partner1": (720.0, 144.00)}
    assert r.summary["cost_usd"]["by_service"][DX_SERVICE]["monthly"] == pytest.approx(5004.00)


def test_a_one_hour_run_bills_a_730_hour_month_of_ports():
    """The default projection (730 h): a 1 Gbit/s dedicated port 730 x $0.30 = $219.00 and a
    1 Gbit/s hosted one 730 x $0.33 = $240.90, for an hour's run."""
    sc = private_egress(flows_per_run=1, duration_s=3600, month_h=730.0)
    sc["direct_connect"] = {"connections": {"own": {"type": "dedicated", "speed_gbps": 1},
                                            "partner": {"type": "hosted", "speed_gbps": 1}}}
    r = simulate(sc)
    got = exact(r, "simulated")
    assert got["PortUsage-1G-Dedicated"] == (1, Decimal("0.30"))  # the simulated hour
    assert got["PortUsage-1G-Hosted"] == (1, Decimal("0.33"))
    got = lines(r)
    assert got["PortUsage-1G-Dedicated"] == (730.0, 219.00)
    assert got["PortUsage-1G-Hosted"] == (730.0, 240.90)


def meters_of(sc: dict, n_periods: int, period_s: float) -> NetworkMeters:
    return NetworkMeters(load_scenario(sc), n_periods, period_s)


def test_data_out_is_billed_per_gb_from_dx_out():
    """The links put bytes out over each connection in `dx_out` (connection -> int64 bytes per
    period); here we fill it by hand. A day of 24 hourly periods billed as a 24-hour month (no
    projection): 1,000.5 GiB out over dx1 in hour 3 and 2 GiB over lag_a in hours 5 and 6 =
    1,002.5 GB x $0.02 = $20.05 (dx1 1,000.5 GB, $20.01; lag_a 2 GB, $0.04)."""
    sc = with_direct_connect(private_egress(flows_per_run=1))
    m = meters_of(sc, 24, 3600.0)
    assert set(m.dx_out) == {"dx1", "partner1", "lag_a", "lag_b"}
    assert all(v.dtype == np.int64 and v.shape == (24,) and not v.any() for v in m.dx_out.values())
    m.dx_out["dx1"][3] += 1000 * GIB + GIB // 2
    m.dx_out["lag_a"][5:7] += GIB
    total, per_period = m.usage()
    out = {u.resource: u.amount for u in total if u.usage_type == DX_DATA_OUT}
    assert out == {"dx_connection:dx1": Decimal("1000.5"), "dx_connection:lag_a": Decimal(2),
                   "dx_connection:partner1": 0, "dx_connection:lag_b": 0}
    assert {(t, u.amount) for t, u in per_period
            if u.usage_type == DX_DATA_OUT and u.resource == "dx_connection:lag_a" and u.amount} == \
        {(5 * 3600.0, 1), (6 * 3600.0, 1)}
    assert m.dx_out_bytes("dx1") == 1000 * GIB + GIB // 2
    bill = price(total, load_region("us-east-1"), free_tier=False, month_h=24.0, duration_s=DAY_S)
    line = {r["usage_type"]: r for r in bill.invoice}[DX_DATA_OUT]
    assert (line["usage_amount"], line["monthly_cost_usd"]) == (1002.5, cents(Decimal("1002.5") * Decimal("0.02")))
    assert line["monthly_cost_usd"] == 20.05
    per_conn = {r["resource"]: r["unblended_cost_usd"] for r in bill.lines
                if r["usage_type"] == DX_DATA_OUT and r["period"] == "monthly"}
    assert cents(repr(per_conn["dx_connection:dx1"])) == 20.01
    assert cents(repr(per_conn["dx_connection:lag_a"])) == 0.04
    # and the ports of the same day: 3 x 24 h x $2.25 = $162.00; 24 h x $0.20 = $4.80
    invoice = {r["usage_type"]: r["monthly_cost_usd"] for r in bill.invoice}
    assert (invoice["PortUsage-10G-Dedicated"], invoice["PortUsage-500M-Hosted"]) == (162.00, 4.80)


def test_data_out_is_projected_to_the_month_like_the_rest():
    """The same 1,000.5 GiB in a day, projected to a 720-hour month: 30 x 1,000.5 = 30,015 GB x $0.02 = $600.30."""
    m = meters_of(with_direct_connect(private_egress(flows_per_run=1)), 24, 3600.0)
    m.dx_out["dx1"][0] = 1000 * GIB + GIB // 2
    bill = price(m.usage()[0], load_region("us-east-1"), free_tier=False, month_h=720.0, duration_s=DAY_S)
    line = {r["usage_type"]: r for r in bill.invoice}[DX_DATA_OUT]
    assert (line["monthly_usage_amount"], line["monthly_cost_usd"]) == (30015.0, 600.30)


def test_no_connections_no_direct_connect_meters():
    m = meters_of(private_egress(flows_per_run=1), 24, 3600.0)
    assert m.dx_out == {}
    assert not [u for u in m.usage()[0] if u.service == DX_SERVICE]


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_every_usage_type_the_meters_can_emit_is_in_the_price_book(region):
    """A connection of every offered type and speed, with data out on each: the meters emit exactly
    `dx_usage_types()`, and each has a row of the same unit in the book (pricing raises otherwise)."""
    from scenarios.vpc_check import DX_SPEEDS

    sc = private_egress(flows_per_run=1)
    sc["direct_connect"] = {"connections": {f"{kind}_{i}": {"type": kind, "speed_gbps": v}
                                            for kind, speeds in DX_SPEEDS.items() for i, v in enumerate(speeds)}}
    m = meters_of(sc, 2, 3600.0)
    for v in m.dx_out.values():
        v[1] = GIB
    total, _ = m.usage()
    emitted = {u.usage_type for u in total if u.service == DX_SERVICE}
    assert emitted == set(dx_usage_types())
    assert len(dx_usage_types()) == 4 + 11 + 1
    book = load_region(region)
    for usage_type in dx_usage_types():
        unit = "GB" if usage_type == DX_DATA_OUT else "Hrs"
        assert book.services[DX_SERVICE][usage_type].unit == unit, (region, usage_type)
    bill = price([u for u in total if u.service == DX_SERVICE], book, free_tier=False, month_h=2.0, duration_s=7200)
    # 15 ports for 2 h and 15 GB out: 2 x (0.30 + 2.25 + 22.50 + 85.00 + 0.03 + 0.06 + 0.08 + 0.12
    # + 0.16 + 0.20 + 0.33 + 0.66 + 1.65 + 2.48 + 6.20) + 15 x 0.02 = 2 x 122.02 + 0.30 = $244.34
    assert bill.cost_usd["by_service"][DX_SERVICE]["monthly"] == pytest.approx(244.34)


def test_connections_bill_in_a_scenario_without_vpcs():
    """A port is billed whether or not a VPC uses it: a hosted 500 Mbit/s connection beside a
    function, an hour projected to 730 h: 730 x $0.20 = $146.00."""
    sc = {"name": "dx_no_vpc", "duration_s": 3600, "seed": 1, "billing": {"month_h": 730.0},
          "functions": {"f": {}},
          "traffic": [{"name": "t", "target": "function:f", "arrivals": {"kind": "constant", "rate_per_s": 1}}],
          "direct_connect": {"connections": {"partner1": {"type": "hosted", "speed_gbps": 0.5}}}}
    got = lines(simulate(sc))
    assert got["PortUsage-500M-Hosted"] == (730.0, 146.00)
