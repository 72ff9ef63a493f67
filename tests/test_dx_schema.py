"""Every class of Direct Connect scenario mistake, reported with its YAML path (never a traceback).

The allowed values are AWS's (FACTS "Direct Connect dedicated", "Direct Connect hosted", "DX LAG",
"DX BGP"): dedicated ports of 1, 10, 100, 400 Gbit/s; hosted of 50-500 Mbit/s and 1, 2, 5, 10,
25 Gbit/s; a LAG of up to 4 dedicated connections of one speed below 100 Gbit/s, 2 at 100 or
400 Gbit/s; a BGP hold timer of at least 3 s.
"""

from __future__ import annotations

import pytest

from scenarios import ScenarioError, load_scenario
from scenarios.load import check_scenario
from tests.vpc_fixtures import base, vpc

VGW = "vpcs.main.vpn_gateways.vgw"
DXC = "direct_connect.connections"
LAGS = "direct_connect.lags"


def dx_base() -> dict:
    """The VPC fixture (60 s) with a virtual private gateway: a VPN connection `office_vpn` and a DX
    interface `dx_vif` on LAG `lag1` of two 10 Gbit/s dedicated connections; a hosted 500 Mbit/s
    connection `hosted1` and a lone 1 Gbit/s `solo`."""
    s = base()
    s["direct_connect"] = {
        "connections": {"dx_a": {"type": "dedicated", "speed_gbps": 10, "location": "EqDC2"},
                        "dx_b": {"type": "dedicated", "speed_gbps": 10, "location": "EqDC2"},
                        "hosted1": {"type": "hosted", "speed_gbps": 0.5, "location": "EqDC2"},
                        "solo": {"type": "dedicated", "speed_gbps": 1, "location": "EqDC2"}},
        "lags": {"lag1": {"connections": ["dx_a", "dx_b"], "min_links": 1}},
    }
    vpc(s)["vpn_gateways"] = {"vgw": {
        "vpn_connections": {"office_vpn": {"onprem_cidrs": ["192.168.0.0/16"]}},
        "dx_interfaces": {"dx_vif": {"onprem_cidrs": ["172.16.0.0/16"], "connection": "lag1",
                                     "backup_vpn": "office_vpn", "hold_time_s": 9, "bfd": True}}}}
    return s


def conn(name, **fields):
    def apply(s):
        s["direct_connect"]["connections"].setdefault(name, {}).update(fields)
    return apply


def lag(name, **fields):
    def apply(s):
        s["direct_connect"]["lags"].setdefault(name, {}).update(fields)
    return apply


def vif(name, **fields):
    def apply(s):
        vpc(s)["vpn_gateways"]["vgw"]["dx_interfaces"].setdefault(name, {"onprem_cidrs": ["172.20.0.0/16"]}).update(fields)
    return apply


def vpn(name, **fields):
    def apply(s):
        vpc(s)["vpn_gateways"]["vgw"]["vpn_connections"][name].update(fields)
    return apply


def steps(*edits):
    def apply(s):
        for edit in edits:
            edit(s)
    return apply


def outages(*pairs):
    return [{"start_s": a, "end_s": b} for a, b in pairs]


CASES = [
    # connections
    ("type not dedicated or hosted", conn("solo", type="partner"),
     f"{DXC}.solo.type", "'partner' is not a connection type; allowed: dedicated, hosted"),
    ("a dedicated speed not offered", conn("solo", speed_gbps=25),
     f"{DXC}.solo.speed_gbps", "25 Gbit/s is not offered for a dedicated connection; offered: 1 Gbit/s, 10 Gbit/s,"
                               " 100 Gbit/s, 400 Gbit/s"),
    ("a hosted speed not offered", conn("hosted1", speed_gbps=0.75),
     f"{DXC}.hosted1.speed_gbps", "0.75 Gbit/s is not offered for a hosted connection; offered: 50 Mbit/s,"
                                  " 100 Mbit/s, 200 Mbit/s, 300 Mbit/s, 400 Mbit/s, 500 Mbit/s, 1 Gbit/s, 2 Gbit/s,"
                                  " 5 Gbit/s, 10 Gbit/s, 25 Gbit/s"),
    ("a hosted 400 Gbit/s", conn("hosted1", speed_gbps=400),
     f"{DXC}.hosted1.speed_gbps", "not offered for a hosted connection"),
    ("empty location", conn("solo", location=""), f"{DXC}.solo.location", "is required"),
    ("blank location", conn("solo", location="  "), f"{DXC}.solo.location", "is required"),
    ("mtbf_h 0", conn("solo", mtbf_h=0), f"{DXC}.solo.mtbf_h", "0 must be greater than 0 h"),
    ("mttr_h negative", conn("solo", mtbf_h=100, mttr_h=-2), f"{DXC}.solo.mttr_h", "-2 must be greater than 0 h"),
    ("outages and mtbf_h both", conn("solo", mtbf_h=100, outages=outages((1, 2))),
     f"{DXC}.solo.mtbf_h", "on a schedule (outages) or at random (mtbf_h), not both"),
    ("outage ending before it starts", conn("solo", outages=outages((5, 4))),
     f"{DXC}.solo.outages[0].end_s", "4 must be after start_s 5"),
    ("outage ending as it starts", conn("solo", outages=outages((5, 5))),
     f"{DXC}.solo.outages[0].end_s", "5 must be after start_s 5"),
    ("outage starting before 0", conn("solo", outages=outages((-1, 5))),
     f"{DXC}.solo.outages[0].start_s", "-1 is below the minimum 0 s"),
    ("overlapping outages, sorted", conn("solo", outages=outages((1, 10), (5, 20))),
     f"{DXC}.solo.outages[1]", "[5, 20) s overlaps outages[0] [1, 10) s; outages may be listed in"
                               " any order but must not overlap"),
    ("overlapping outages, unsorted", conn("solo", outages=outages((30, 40), (1, 2), (20, 35))),
     f"{DXC}.solo.outages[0]", "[30, 40) s overlaps outages[2] [20, 35) s"),
    ("an outage inside an earlier long one", conn("solo", outages=outages((1, 50), (2, 3), (10, 20))),
     f"{DXC}.solo.outages[2]", "[10, 20) s overlaps outages[0] [1, 50) s"),
    # LAGs
    ("hosted connection in a LAG", lag("lag1", connections=["dx_a", "hosted1"]),
     f"{LAGS}.lag1.connections[1]", "connection 'hosted1' is hosted; a LAG holds dedicated connections only"),
    ("LAG member not defined", lag("lag1", connections=["dx_a", "dx_c"]),
     f"{LAGS}.lag1.connections[1]", "connection 'dx_c' is not defined (did you mean 'dx_b'?); defined: dx_a, dx_b, hosted1, solo"),
    ("LAG member listed twice", lag("lag1", connections=["dx_a", "dx_b", "dx_a"]),
     f"{LAGS}.lag1.connections[2]", "connection 'dx_a' is listed twice (also connections[0])"),
    ("connection in two LAGs", lag("lag2", connections=["dx_b"]),
     f"{LAGS}.lag2.connections[0]", "connection 'dx_b' is already in a LAG (direct_connect.lags.lag1.connections[1])"),
    ("LAG of mixed speeds", lag("lag1", connections=["dx_a", "solo"]),
     f"{LAGS}.lag1.connections[1]", "connection 'solo' is 1 Gbit/s but connections[0] ('dx_a') is 10 Gbit/s; the"
                                    " connections of a LAG have one speed"),
    ("five 10 Gbit/s connections in a LAG", steps(*(conn(f"x{i}", speed_gbps=10) for i in range(3)),
                                                  lag("lag1", connections=["dx_a", "dx_b", "x0", "x1", "x2"])),
     f"{LAGS}.lag1.connections", "5 connections of 10 Gbit/s; a LAG holds at most 4 at this speed"),
    ("three 100 Gbit/s connections in a LAG", steps(*(conn(c, speed_gbps=100) for c in ("dx_a", "dx_b", "x")),
                                                    lag("lag1", connections=["dx_a", "dx_b", "x"])),
     f"{LAGS}.lag1.connections", "3 connections of 100 Gbit/s; a LAG holds at most 2 at this speed"),
    ("three 400 Gbit/s connections in a LAG", steps(*(conn(c, speed_gbps=400) for c in ("dx_a", "dx_b", "x")),
                                                    lag("lag1", connections=["dx_a", "dx_b", "x"])),
     f"{LAGS}.lag1.connections", "3 connections of 400 Gbit/s; a LAG holds at most 2"),
    ("empty LAG", lag("lag2", connections=[]), f"{LAGS}.lag2.connections", "needs at least one connection"),
    ("min_links above the members", lag("lag1", min_links=3),
     f"{LAGS}.lag1.min_links", "3 is out of range (allowed 0-2: the LAG has 2 connections)"),
    ("min_links negative", lag("lag1", min_links=-1), f"{LAGS}.lag1.min_links", "-1 is out of range (allowed 0-2"),
    ("a LAG named as a connection", lag("solo", connections=["solo"]),
     f"{LAGS}.solo", "LAG 'solo' has the name of a connection"),
    # DX interfaces
    ("DX interface on no connection", vif("dx_vif", connection="lagg1"),
     f"{VGW}.dx_interfaces.dx_vif.connection", "Direct Connect connection or LAG 'lagg1' is not defined"
                                               " (did you mean 'lag1'?)"),
    ("DX interface on a LAG's connection", vif("dx_vif", connection="dx_b"),
     f"{VGW}.dx_interfaces.dx_vif.connection", "connection 'dx_b' is a member of LAG 'lag1'; a virtual interface on a"
                                               " LAG's connection is on the LAG: name 'lag1'"),
    ("backup VPN not defined", vif("dx_vif", backup_vpn="ofice_vpn"),
     f"{VGW}.dx_interfaces.dx_vif.backup_vpn", "VPN connection of virtual private gateway 'vgw': 'ofice_vpn' is not"
                                               " defined (did you mean 'office_vpn'?)"),
    ("backup VPN of another gateway's kind (a DX interface)", vif("dx_vif", backup_vpn="dx_vif"),
     f"{VGW}.dx_interfaces.dx_vif.backup_vpn", "'dx_vif' is not defined"),
    ("hold time below 3 s", vif("dx_vif", hold_time_s=2.5),
     f"{VGW}.dx_interfaces.dx_vif.hold_time_s", "2.5 s is below AWS's minimum BGP hold time, 3 s (default 90 s)"),
    ("hold time checked without a connection", vif("bare", hold_time_s=0),
     f"{VGW}.dx_interfaces.bare.hold_time_s", "0 s is below AWS's minimum BGP hold time"),
    # VPN connections
    ("VPN connection with a connection", vpn("office_vpn", connection="solo"),
     f"{VGW}.vpn_connections.office_vpn.connection", "'solo': a VPN connection runs over the internet"),
    ("VPN connection with a backup VPN", vpn("office_vpn", backup_vpn="office_vpn"),
     f"{VGW}.vpn_connections.office_vpn.backup_vpn", "only a DX interface has a backup VPN connection"),
]


@pytest.mark.parametrize("what, mutate, path, fragment", CASES, ids=[c[0] for c in CASES])
def test_dx_mistake_is_reported_at_its_path(what, mutate, path, fragment):
    s = dx_base()
    mutate(s)
    with pytest.raises(ScenarioError) as err:
        load_scenario(s)
    found = [m for p, m in err.value.problems if p == path]
    assert found, f"no problem at {path}; got {err.value.problems}"
    assert any(fragment in m for m in found), found


def test_the_base_loads_and_every_offered_speed_is_accepted():
    sc = load_scenario(dx_base())
    assert sc.vpcs["main"].vpn_gateways["vgw"].dx_interfaces["dx_vif"].connection == "lag1"
    s = dx_base()
    for kind, speeds in (("dedicated", (1, 10, 100, 400)),
                         ("hosted", (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 1, 2, 5, 10, 25))):
        for v in speeds:
            conn(f"{kind}_{v}".replace(".", "_"), type=kind, speed_gbps=v)(s)
    load_scenario(s)


def test_valid_lags_at_their_limits():
    """4 x 10 Gbit/s, 2 x 100 Gbit/s, 2 x 400 Gbit/s; min_links 0 and equal to the members."""
    s = dx_base()
    for c in ("c1", "c2"):
        conn(c, speed_gbps=10)(s)
    for c in ("h1", "h2"):
        conn(c, speed_gbps=100)(s)
    for c in ("f1", "f2"):
        conn(c, speed_gbps=400)(s)
    lag("lag1", connections=["dx_a", "dx_b", "c1", "c2"], min_links=4)(s)
    lag("lag100", connections=["h1", "h2"], min_links=0)(s)
    lag("lag400", connections=["f1", "f2"])(s)
    load_scenario(s)


def test_outages_in_any_order_that_do_not_overlap_are_fine():
    """Back to back ([10, 20) then [20, 30)) is no overlap; one may run past the end (down to the end)."""
    s = dx_base()
    conn("solo", outages=outages((20, 30), (10, 20), (50, 90)))(s)
    load_scenario(s)


def test_a_dx_interface_on_a_lone_connection_is_fine():
    s = dx_base()
    vif("dx_vif", connection="solo")(s)
    load_scenario(s)


def test_backup_vpn_hold_time_and_bfd_without_a_connection_are_allowed_with_a_warning():
    """No connection: the interface never fails, so its failover settings never come into play."""
    s = dx_base()
    vif("bare", backup_vpn="office_vpn", bfd=True)(s)
    _, warnings = check_scenario(s)
    assert (f"{VGW}.dx_interfaces.bare", "backup_vpn, bfd set without a connection: the interface has no Direct"
            " Connect connection to fail, so they never come into play") in warnings
    s = dx_base()
    vif("plain")(s)
    assert check_scenario(s)[1] == []


def test_transit_gateway_dx_attachments_are_left_alone():
    """A TGW attachment of kind dx names no connection; nothing about Direct Connect is checked there."""
    s = dx_base()
    s["transit_gateways"] = {"hub": {
        "attachments": {"main": {"kind": "vpc", "vpc": "main", "route_table": "rt"},
                        "dc": {"kind": "dx", "onprem_cidrs": ["172.30.0.0/16"], "route_table": "rt"}},
        "route_tables": {"rt": {"routes": [{"destination": "172.30.0.0/16", "target": "dc"}]}}}}
    load_scenario(s)


def test_an_outage_after_the_end_is_only_a_warning():
    """A run shortened for a sweep keeps its outages: one starting at or after the end never
    happens, and loading says so without refusing the scenario."""
    from scenarios.load import check_scenario

    s = dx_base()
    conn("solo", outages=outages((1, 2), (60, 70)))(s)
    _sc, warnings = check_scenario(s)
    assert (f"{DXC}.solo.outages[1].start_s", "60 is at or after the scenario's end (60 s): the outage never happens") \
        in warnings
