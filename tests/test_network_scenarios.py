"""The network scenarios shipped in configs/scenario/ run, and say what their comments promise;
their report draws the links' figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import simulate

CONFIGS = Path(__file__).resolve().parent.parent / "configs" / "scenario"


@pytest.fixture(scope="module")
def runs():
    return {n: simulate(str(CONFIGS / f"{n}.yaml"), progress=False)
            for n in ("nat_lambda_diurnal", "hybrid_dx_failover", "tgw_hub_spoke")}


def test_lambda_and_servers_share_the_nat_gateway(runs):
    r = runs["nat_lambda_diurnal"]
    v = r.summary["vpcs"]["prod"]
    f, nat = v["functions"]["fetcher"], v["nat_gateways"]["nat_a"]
    assert f["flows"] == f["accepted"] > 100_000
    assert nat["connection_attempts"] == f["flows"] + v["generators"]["reports"]["flows"]
    assert 0 < nat["peak_gbps"] <= 5 * (1 + 1e-9)
    assert v["bytes_inter_az"] > 0  # (app_b's traffic crosses to the gateway in 1a)
    m = r.metrics
    u = m.filter((m["metric"] == "Utilization") & (m["dimension"] == "Link=nat_gateway:nat_a"))["value"]
    assert 0.2 < u.max() <= 1 + 1e-9


def test_the_copy_fails_over_to_the_vpn_and_back(runs):
    v = runs["hybrid_dx_failover"].summary["vpcs"]["prod"]
    dx = v["dx_interfaces"]["dc_vif"]
    assert dx["changes"] == [[0.0, "up", 10.0], [600.0, "blackhole", 0.0], [690.0, "failover", 1.25],
                             [2400.0, "up", 10.0]]
    assert dx["bytes_over_backup_vpn"] > 0 and dx["blackhole_s"] == 90.0
    assert v["generators"]["nightly_copy"]["max_flow_time_s"] > 1600 + 90  # (alone on DX: 1,600 s)


def test_spokes_reach_the_shared_services_not_each_other(runs):
    vpcs = runs["tgw_hub_spoke"].summary["vpcs"]
    for spoke, gen in (("spoke1", "spoke1_db"), ("spoke2", "spoke2_db"), ("spoke3", "spoke3_db")):
        g = vpcs[spoke]["generators"][gen]
        assert g["flows"] == g["accepted"] > 0
    iso = vpcs["spoke1"]["generators"]["spoke1_to_spoke2"]
    assert iso["flows"] > 0 and iso["accepted"] == 0


def _state(text: str, fid: str) -> str:
    return text.split(f'<figure id="{fid}" data-state="')[1].split('"')[0]


def test_the_report_draws_the_links_figures(runs):
    from sim.output.report import build_report

    for name in ("nat_lambda_diurnal", "hybrid_dx_failover"):
        text = build_report(runs[name])
        assert _state(text, "plot-vpc-links") == "plot" and _state(text, "plot-vpc-flow-times") == "plot"
    text = build_report(runs["hybrid_dx_failover"])
    assert 'id="vpc-dx"' in text and _state(text, "plot-vpc-failover") == "plot"
    assert 'id="vpc-functions"' in build_report(runs["nat_lambda_diurnal"])
    assert _state(build_report(runs["tgw_hub_spoke"]), "plot-vpc-links") == "plot"  # (its attachments, per AZ)


@pytest.mark.parametrize("name, duration_s", [("nat_lambda_diurnal", 600), ("hybrid_dx_failover", 2700)])
def test_windows_change_nothing(name, duration_s):
    """A shipped network scenario, shortened, at windows of 0.5 s, 60 s and auto: the VPC
    section, the network's metrics and the bill are identical, bit for bit (the links resume
    window by window; the DX failure, failover and repair are events of their own)."""
    import yaml

    from test_billing import lines

    data = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    data.pop("defaults", None)
    data["duration_s"] = duration_s
    outs = []
    for w in (0.5, 60, "auto"):
        data["sim"] = {"window_s": w}
        r = simulate(data, progress=False)
        m = r.metrics.filter(r.metrics["namespace"].is_in(["AWS/NATGateway", "AWS/DX", "AWS/VPN", "cloudtwin/Links"]))
        outs.append((r.summary["vpcs"], m.sort(["namespace", "metric", "dimension", "time_s"]).to_dicts(), lines(r)))
    assert outs[0] == outs[1] == outs[2]
