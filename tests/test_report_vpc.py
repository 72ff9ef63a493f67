"""The report's VPC section: flows counted where they start, arrivals from other VPCs, flows per generator over time."""

import dataclasses
from pathlib import Path

import pytest
import yaml

from sim import simulate
from sim.output.report import build_report
from sim.output.report_vpc import arrivals, flows_over_time, generator_rows, missing_from_logs
from sim.sweep.rundir import read_run

CONFIGS = Path(__file__).resolve().parent.parent / "configs" / "scenario"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = yaml.safe_load((CONFIGS / "vpc_three_tier.yaml").read_text())
    d.pop("defaults", None)
    d["duration_s"] = 180
    out = tmp_path_factory.mktemp("vpc")
    return simulate(d, out_dir=out, base_dir=CONFIGS)


def test_flows_over_time_add_up_to_the_summary(run):
    rows = {r["name"]: r for r in generator_rows(run.summary, run.config)}
    per = flows_over_time(run.flow_logs, 60.0, {k: r["accepted"] for k, r in rows.items()})
    assert set(per) == set(rows)  # every generator of this scenario meets an interface
    for name, (t, acc, rej) in per.items():
        assert list(t) == [0.0, 60.0, 120.0]
        assert acc.sum() == rows[name]["accepted"], name
        assert acc.sum() + rej.sum() == rows[name]["flows"], name
    assert rows["web_to_warehouse"]["accepted"] == 0 and per["web_to_warehouse"][1].sum() == 0  # dropped after web1
    assert missing_from_logs(run) == {}


def test_a_vpc_that_only_receives_flows_shows_them(run):
    rows = generator_rows(run.summary, run.config)
    assert run.summary["vpcs"]["analytics"]["flows"] == 0  # counted where they start, in prod
    n, acc, names = arrivals(rows, "analytics")
    by = {r["name"]: r for r in rows}
    assert names == ["app_to_warehouse", "web_to_warehouse"]
    assert n == by["app_to_warehouse"]["flows"] + by["web_to_warehouse"]["flows"] > 0
    assert acc == by["app_to_warehouse"]["accepted"] > 0
    assert arrivals(rows, "prod") == (0, 0, [])
    page = build_report(run)
    assert f'data-arriving="{n}"' in page
    assert 'id="plot-vpc-flows" data-state="plot"' in page
    assert 'id="vpc-generators"' in page and "warehouse1 in analytics" in page


def test_flow_logs_are_read_back_from_the_run_directory(run):
    again = read_run(run.out_dir)
    assert again.flow_logs is not None and again.flow_logs.equals(run.flow_logs)
    assert build_report(again) == build_report(dataclasses.replace(run, out_dir=again.out_dir))


def test_flows_without_any_record_are_named():
    # a generator whose flows met no interface: the summary counts them, the logs cannot show them
    import polars as pl

    from sim.output.result import Result

    summary = {"vpcs": {"v": {"generators": {"lost": {"flows": 7, "accepted": 0, "rejected": 7}}}}}
    r = Result(summary=summary, metrics=pl.DataFrame(), config={"flows": [{"name": "lost", "src": "a", "dst": "b"}]},
               flow_logs=pl.DataFrame(schema={"flow": pl.Utf8, "flow_id": pl.Int64}))
    assert missing_from_logs(r) == {"lost": 7}


def test_the_nat_gateways_table_shows_connections_and_bytes(run):
    nat = run.summary["vpcs"]["prod"]["nat_gateways"]["nat_a"]
    assert nat["connection_attempts"] == (nat["connections_established"] + nat["port_allocation_errors"]
                                          + nat["rejected_beyond"]) > 0
    page = build_report(run)
    table = page.split('id="vpc-nat-gateways"')[1].split("</table>")[0]
    assert "<th>nat_a</th><td>prod</td>" in table
    assert f'{nat["connection_attempts"]:,}' in table and f'{nat["bytes_processed"]:,}' in table
    assert "packets dropped" in table and "capacity at the end, Gbit/s" in table
    assert 'data-key="vpcs.prod.nat_gateways.nat_a.capacity_gbps" data-value="5.0"' in table  # (180 s: no scaling)
