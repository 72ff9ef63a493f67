"""VPC flows end to end: simulate() with only vpcs and flows, flow_logs.parquet, per-rule counts, cloudtwin-explain."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from sim import simulate
from tests.vpc_fixtures import base, vpc

ROOT = Path(__file__).resolve().parents[1]
V2_FIELDS = ["version", "account_id", "interface_id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol",
             "packets", "bytes", "start", "end", "action", "log_status"]


def scenario():
    s = base()
    v = vpc(s)
    v["network_acls"]["app_acl"] = {"rules": [
        {"rule": 100, "direction": "inbound", "protocol": "tcp", "ports": 8080, "cidr": "10.0.1.0/24", "action": "allow"},
        {"rule": 100, "direction": "outbound", "protocol": "tcp", "ports": "32768-61000", "cidr": "10.0.1.0/24",
         "action": "allow"}]}
    v["subnets"]["private"]["network_acl"] = "app_acl"
    s["flows"] = [
        # 8080 passes both ways; 9090 is denied by app_acl's `*` rule
        {"name": "web_app", "src": "web", "dst": "app", "dst_ports": [{"port": 8080, "weight": 3}, {"port": 9090}],
         "rate_per_s": 50, "size_bytes": {"dist": "exponential", "mean": 3000}},
        # from the internet: 443 allowed by the seed's group, 80 not
        {"name": "inbound", "src": "internet:198.51.100.1", "dst": "web",
         "dst_ports": [{"port": 443}, {"port": 80}], "count": 400, "starts": "uniform"},
    ]
    return s


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("vpc")
    result = simulate(scenario(), out_dir=out)
    return result, out


def test_vpc_only_scenario_runs_and_writes_flow_logs(run):
    result, out = run
    assert (out / "flow_logs.parquet").is_file() and (out / "report.html").is_file()
    logs = pl.read_parquet(out / "flow_logs.parquet")
    assert logs.columns[:14] == V2_FIELDS
    assert set(logs["version"]) == {2} and set(logs["log_status"]) == {"OK"}
    assert set(logs["action"]) == {"ACCEPT", "REJECT"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["vpcs"] == json.loads(json.dumps(result.summary["vpcs"]))
    html = (out / "report.html").read_text()
    assert 'id="vpc-main-rules"' in html and "acl:app_acl:in:*" in html


def test_every_flow_is_accepted_or_rejected_once(run):
    result, _ = run
    s = result.summary["vpcs"]["main"]
    assert s["accepted"] + s["rejected"] == s["flows"] > 0
    gens = s["generators"]
    assert gens["inbound"]["flows"] == 400
    assert sum(g["flows"] for g in gens.values()) == s["flows"]
    # each rejected flow stopped at exactly one step: the rejections over all rules add up
    assert sum(c["rejected"] for c in s["rules"].values()) == s["rejected"]
    assert s["rules"]["acl:app_acl:in:*"]["rejected"] + s["rules"]["eni:web:in:no-rule"]["rejected"] == s["rejected"]
    assert s["rules"]["sg:web:in:3"]["accepted"] == gens["inbound"]["accepted"]  # 443: the seed's fourth rule


def test_flow_log_records_per_interface_and_direction(run):
    result, _ = run
    logs = result.flow_logs
    s = result.summary["vpcs"]["main"]
    assert logs.height == s["flow_log_records"]
    # at most one record per flow, interface and direction
    assert logs.select("flow_id", "interface_id", "flow_direction").n_unique() == logs.height
    web_app = logs.filter(pl.col("flow") == "web_app")
    n = s["generators"]["web_app"]["flows"]
    egress_web = web_app.filter((pl.col("srcaddr") == "10.0.1.10") & (pl.col("flow_direction") == "egress"))
    assert egress_web.height == n and set(egress_web["action"]) == {"ACCEPT"}  # every request leaves web
    ingress_app = web_app.filter((pl.col("dstaddr") == "10.0.2.10") & (pl.col("flow_direction") == "ingress"))
    assert ingress_app.height == n  # and reaches the app subnet
    ok = ingress_app.filter(pl.col("action") == "ACCEPT")
    assert ok.height == s["generators"]["web_app"]["accepted"]
    assert set(ok["dstport"]) == {8080} and set(ingress_app.filter(pl.col("action") == "REJECT")["dstport"]) == {9090}
    # responses: app's egress and web's ingress, ports swapped, for the accepted flows only
    resp = web_app.filter(pl.col("srcaddr") == "10.0.2.10")
    assert resp.height == 2 * ok.height and set(resp["srcport"]) == {8080}
    assert resp["dstport"].min() >= 32768 and resp["dstport"].max() <= 61000
    # internet flows: only web logs them, as the private address behind the internet gateway
    inbound = logs.filter(pl.col("flow") == "inbound")
    assert set(inbound.filter(pl.col("flow_direction") == "ingress")["dstaddr"]) == {"10.0.1.10"}
    rejected = inbound.filter(pl.col("action") == "REJECT")
    assert set(rejected["dstport"]) == {80} and set(rejected["packets"]) == {1}


def test_same_seed_same_flows():
    a = simulate(scenario()).summary["vpcs"]
    b = simulate(scenario()).summary["vpcs"]
    assert a == b


def explain(*args):
    return subprocess.run([sys.executable, "-m", "sim.network.explain_cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_explain_cli_prints_the_path():
    p = explain("configs/scenario/vpc_three_tier.yaml", "web1", "db1", "--protocol", "tcp", "--port", "5432")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("REJECT: web1 -> db1") and "rule 200 deny" in p.stdout
    p = explain("configs/scenario/vpc_three_tier.yaml", "app1", "db1", "--port", "5432")
    assert p.returncode == 0 and p.stdout.startswith("ACCEPT") and "response:" in p.stdout


def test_explain_cli_exits_2_on_mistakes(tmp_path):
    p = explain("configs/scenario/vpc_three_tier.yaml", "web1", "nobody")
    assert p.returncode == 2 and "'nobody' is not a host" in p.stderr and "Traceback" not in p.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nvpcs:\n  v:\n    cidr: 10.0.0.0/33\n")
    p = explain(str(bad), "a", "b")
    assert p.returncode == 2 and "vpcs.v.cidr" in p.stderr and "Traceback" not in p.stderr


def test_explain_cli_takes_a_scenario_name(tmp_path):
    by_name = explain("vpc_three_tier", "web1", "db1", "--protocol", "tcp", "--port", "5432")
    by_path = explain("configs/scenario/vpc_three_tier.yaml", "web1", "db1", "--protocol", "tcp", "--port", "5432")
    assert by_name.returncode == 0 and by_name.stdout == by_path.stdout
    missing = explain("no_such_scenario", "web1", "db1")
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    assert "exit status" in explain("--help").stdout
