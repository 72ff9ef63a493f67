"""ECS services on Fargate in a VPC: each request a task serves sends its service's `egress`
flows from the tasks' interfaces (sim/compute/fargate.py, "Flows"), judged by the tasks'
security groups and the subnet's routes, shared on the NAT gateway with every other flow —
a Lambda function's included — in the same run, window by window.

Checked: flows counted against the requests (ok and 504 send, 502 and 503 do not), the
records' times (start and end of service) against the requests, the NAT gateway's bytes by
hand, a security group refusing the port, the windows (0.5 s, 7 s, 60 s, auto: the same
summaries and flow logs), and a function and a service sharing one NAT gateway.
"""

from __future__ import annotations

import numpy as np
import pytest

from scenarios.load import load_scenario
from sim import simulate
from sim.compute.fargate import FargateServices
from test_lambda_egress import lambda_nat


def fg_nat(*, rate=20.0, duration_s=60, egress=None, request_ms=200.0, desired=2, conc=4, backlog=100,
           idle_timeout_s=60.0, nat_gbps=5.0, sg_out=None, window=None, subnets=("app_a", "app_b"), seed=5,
           arrivals="poisson", function=False, flows=None) -> dict:
    """Service `web` (0.25 vCPU, `desired` tasks of `conc` slots, requests of exactly
    `request_ms`) in private subnets app_a (us-east-1a) and app_b (us-east-1b), behind NAT
    gateway nat_a; each request sends `egress` (default: one flow of 100,000 bytes answered with
    40 to an internet address on port 443). `function`: also tests/test_lambda_egress.py's Lambda
    function `uploader` in the same subnets, its invocations (10 a second, Poisson) each sending
    the same flow."""
    egress = egress if egress is not None else [{}]
    base = {"dst": "internet:203.0.113.7", "dst_ports": [{"port": 443}],
            "size_bytes": {"dist": "fixed", "value": 100_000}, "response_bytes": {"dist": "fixed", "value": 40}}
    # the VPC (and the function) of tests/test_lambda_egress.py, with group `web` for the tasks
    sc = lambda_nat(rate=10.0, duration_s=duration_s, seed=seed, nat_gbps=nat_gbps, subnets=subnets, period_s=10,
                    size=base["size_bytes"], response=base["response_bytes"])
    sc["name"] = "fg_nat"
    vpc = sc["vpcs"]["prod"]
    vpc["security_groups"]["web"] = {"inbound": [], **({"outbound": sg_out} if sg_out is not None else {})}
    sc["services"] = {"web": {
        "cpu": 0.25, "memory_gb": 0.5, "desired_count": desired, "concurrency_per_task": conc,
        "backlog_per_task": backlog, "idle_timeout_s": idle_timeout_s, "request_ms": {"dist": "fixed", "value": request_ms},
        "vpc": {"vpc": "prod", "subnets": list(subnets), "security_groups": ["web"]},
        "egress": [{**base, **e} for e in egress]}}
    web = {"name": "users", "target": "service:web", "arrivals": {"kind": arrivals, "rate_per_s": rate}}
    if function:
        sc["traffic"] = [web, {**sc["traffic"][0], "name": "uploads"}]
    else:
        del sc["functions"]
        sc["traffic"] = [web]
    if flows is not None:
        vpc["hosts"] = {"batch": {"subnet": "app_a", "security_groups": ["web"]}}
        sc["flows"] = flows
    if window is not None:
        sc["sim"] = {"window_s": window}
    return sc


def _run(sc):
    return simulate(sc, progress=False)


def _vpc(r):
    return r.summary["vpcs"]["prod"]


@pytest.fixture
def records(monkeypatch):
    """Every (t, entry) the services' component hands the network, window by window."""
    got = []
    take = FargateServices.take_flows

    def spy(self):
        t, e = take(self)
        got.append((self._t1, np.array(t), np.array(e)))
        return t, e

    monkeypatch.setattr(FargateServices, "take_flows", spy)
    return got


# ---- counts

def test_every_request_served_sends_count_flows_and_the_nat_gateway_carries_their_bytes():
    """Probability 1, count 3, at start: flows = 3 x ok requests (no 504, 502 or 503 here, none
    queued at the end), all accepted through nat_a; its bytes by hand: flows x (100,000 + 40)."""
    r = _run(fg_nat(egress=[{"count": 3}]))
    sv, v = r.summary["services"]["web"], _vpc(r)
    assert sv["ok"] == sv["requests"] > 1000 and sv["queued_end"] == 0
    f = v["services"]["web"]
    assert f["flows"] == f["accepted"] == 3 * sv["ok"] and f["rejected"] == 0
    nat = v["nat_gateways"]["nat_a"]
    assert nat["connection_attempts"] == f["flows"]
    assert nat["bytes_processed"] == f["bytes_accepted"] == f["flows"] * 100_040
    assert v["flows"] == f["flows"] and "functions" not in v


def test_504s_send_their_flows_502s_and_503s_do_not():
    """One task of one slot, requests of 0.8 s, an idle timeout of 1 s and a backlog of 3, at
    1 request a second (Poisson): some wait more than 0.2 s (504: the task still serves them),
    some find the line full (502). Flows at the start of service = ok + 504, exactly (the run
    ends with none in progress: traffic stops 5 s before the end). With no task, every request is
    a 503 and nothing is sent."""
    sc = fg_nat(rate=1.0, duration_s=600, request_ms=800.0, desired=1, conc=1, backlog=3, idle_timeout_s=1.0)
    sc["traffic"][0]["end_s"] = 595
    r = _run(sc)
    sv, f = r.summary["services"]["web"], _vpc(r)["services"]["web"]
    assert sv["timeout_504"] > 20 and sv["refused_502"] > 5 and sv["ok"] > 100 and sv["queued_end"] == 0
    assert f["flows"] == sv["ok"] + sv["timeout_504"]
    r0 = _run(fg_nat(desired=0))
    assert r0.summary["services"]["web"]["no_targets_503"] == r0.summary["services"]["web"]["requests"] > 0
    assert _vpc(r0)["flows"] == _vpc(r0)["services"]["web"]["flows"] == 0


def test_probability_sends_about_that_share_from_the_services_own_stream():
    """Probability 0.3: the flows are a binomial draw over the ok requests (within 4 sigma)."""
    r = _run(fg_nat(egress=[{"probability": 0.3}], duration_s=120))
    ok, n = r.summary["services"]["web"]["ok"], _vpc(r)["services"]["web"]["flows"]
    assert abs(n - 0.3 * ok) <= 4 * (ok * 0.3 * 0.7) ** 0.5, (n, ok)


# ---- times

def test_records_at_the_start_and_at_the_end_of_service(records):
    """Constant arrivals, 20 a second, requests of exactly 200 ms on free slots: a request starts
    when it arrives. Entry 0 (at start) sends at each arrival, entry 1 (at end) 0.2 s later;
    each window's records are in time order and inside the window; a request whose end falls
    after the run's end sends no `at: end` flow (as a function's)."""
    r = _run(fg_nat(arrivals="constant", duration_s=30, window=0.5,
                    egress=[{"at": "start"}, {"at": "end", "dst_ports": [{"port": 8443}]}]))
    ok = r.summary["services"]["web"]["ok"]
    t_prev = -1.0
    for t1, t, _e in records:
        assert np.all(np.diff(t) >= 0) and np.all(t < t1) and np.all(t >= t_prev)
        if len(t):
            t_prev = t1 - 0.5
    t = np.concatenate([x[1] for x in records])
    e = np.concatenate([x[2] for x in records])
    starts, ends = t[e == 0], t[e == 1]
    assert len(starts) == ok == 600
    assert np.allclose(np.diff(starts), 0.05)
    assert len(ends) == len(starts[starts + 0.2 < 30.0])
    np.testing.assert_allclose(ends, starts[:len(ends)] + 0.2, rtol=0, atol=1e-9)
    f = _vpc(r)["services"]["web"]
    assert f["flows"] == len(starts) + len(ends)


# ---- firewalls

def test_a_security_group_allowing_another_port_rejects_the_flows_at_the_tasks_interface():
    """The tasks' group allows outbound 443 only; the entry sends to port 80: every flow is
    rejected at the task's interface and never reaches the NAT gateway."""
    r = _run(fg_nat(egress=[{"dst_ports": [{"port": 80}]}],
                    sg_out=[{"protocol": "tcp", "ports": 443, "cidr": "0.0.0.0/0"}]))
    v = _vpc(r)
    f = v["services"]["web"]
    assert f["flows"] == f["rejected"] == r.summary["services"]["web"]["ok"] > 0 and f["accepted"] == 0
    assert v["nat_gateways"]["nat_a"]["connection_attempts"] == 0
    assert v["nat_gateways"]["nat_a"]["bytes_processed"] == 0
    assert sum(c["rejected"] for k, c in v["rules"].items() if k.startswith("eni:fargate-eni:web:")) == f["flows"]


# ---- windows

def test_windows_change_nothing():
    """A busy service (504s, 502s, queued requests across windows) with an entry at the start
    (probability 0.5, two flows) and one at the end, a flow generator from a host, all on a NAT
    gateway slow enough that the flows share it: at windows of 0.5 s, 7 s, 60 s and auto, the
    services and VPC sections, the NAT gateway's metrics and the flow logs are identical."""
    gen = [{"name": "backup", "src": "batch", "dst": "internet:198.51.100.9", "rate_per_s": 2.0,
            "size_bytes": {"dist": "fixed", "value": 2_000_000}, "duration_s": {"dist": "fixed", "value": 0.01}}]
    outs = []
    for w in (0.5, 7, 60, "auto"):
        sc = fg_nat(rate=5.5, duration_s=120, request_ms=800.0, desired=1, conc=4, backlog=2, idle_timeout_s=1.0,
                    nat_gbps=0.02, window=w, flows=gen,
                    egress=[{"probability": 0.5, "count": 2, "size_bytes": {"dist": "exponential", "mean": 50_000}},
                            {"at": "end"}])
        r = _run(sc)
        nat = r.metrics.filter(r.metrics["namespace"] == "AWS/NATGateway").to_dicts()
        outs.append((r.summary["services"], _vpc(r), nat, r.flow_logs.to_dicts()))
    assert outs[0] == outs[1] == outs[2] == outs[3]
    sv, v = outs[0][0]["web"], outs[0][1]
    assert sv["timeout_504"] > 0 and sv["refused_502"] > 0
    assert v["services"]["web"]["flows"] > 500 and v["generators"]["backup"]["flows"] > 100
    assert v["services"]["web"]["mean_flow_time_s"] > 0.05  # (sharing 20 Mbit/s: slower than alone)


# ---- sharing with a function

def test_a_function_and_a_service_share_one_nat_gateway():
    """Lambda function `uploader` and service `web` in the same subnets send through nat_a: its
    connections and bytes are both's, and on a slow gateway (10 Mbit/s) each one's flows take
    longer than when it is alone."""
    both = _vpc(_run(fg_nat(function=True, nat_gbps=0.01)))
    alone = _vpc(_run(fg_nat(nat_gbps=0.01)))
    fn, sv = both["functions"]["uploader"], both["services"]["web"]
    nat = both["nat_gateways"]["nat_a"]
    assert fn["flows"] > 300 and sv["flows"] > 1000
    assert nat["connection_attempts"] == fn["flows"] + sv["flows"] == both["flows"]
    assert nat["bytes_processed"] == fn["bytes_accepted"] + sv["bytes_accepted"]
    assert sv["mean_flow_time_s"] > 1.1 * alone["services"]["web"]["mean_flow_time_s"]


# ---- topology

def test_the_tasks_interfaces_are_in_the_topology():
    """One interface per subnet stands for the service's tasks there (each task's own ENI, our
    simplification), at the subnet's first free address, in the service's group."""
    from sim.network.topology import Network

    net = Network(load_scenario(fg_nat()))
    assert net.service_enis["web"] == ["fargate-eni:web:app_a", "fargate-eni:web:app_b"]
    a, b = (net.enis[n] for n in net.service_enis["web"])
    assert (a.private_ip, b.private_ip) == ("10.0.2.4", "10.0.3.4")
    assert a.kind == "fargate" and a.subnet == "app_a"
