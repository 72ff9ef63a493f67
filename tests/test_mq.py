"""Amazon MQ brokers through simulate(): times worked by hand, window independence, conservation,
the store against M/D/1 queueing theory, the bill to the cent, and the throughput table."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import sim
from scenarios.load import load_scenario
from sim.messaging.mq import THROUGHPUT, service_s

S_1KB = 1.0 / 2400.0  # the store's time per 1 KB message, mq.m5.large with CSAD off (AWS's benchmark)


def broker(**kw):
    b = {"engine": "activemq", "instance_type": "mq.m5.large", "deployment": "single_instance", "storage": "efs",
         "concurrent_store_and_dispatch": False,
         "queues": {"orders": {"consumers": {"workers": 1, "processing_ms": {"dist": "fixed", "value": 800}}}}}
    b.update(kw)
    return b


def scenario(brokers, traffic, duration_s=5.0, seed=1, **kw):
    d = {"name": "mq_test", "duration_s": duration_s, "seed": seed, "brokers": brokers, "traffic": traffic,
         "record": {"report": False}}
    d.update(kw)
    return d


def constant(rate, target="broker:b/orders", size=1024):
    return {"name": "p", "target": target, "arrivals": {"kind": "constant", "rate_per_s": rate},
            "message": {"size_bytes": size}}


def run(d):
    return sim.simulate(d, progress=False)


def test_times_by_hand_with_a_failover():
    """Sends of 1 KB every 0.5 s from 0 to 4.5 s; the store takes s = 1/2,400 s a message; one
    consumer session of 800 ms; the broker fails at 2.2 s and is down 1 s.

    - 0: stored at s, delivered at once, acked at s + 0.8.
    - 0.5: delivered at s + 0.8 (waited 0.3 s), acked at s + 1.6.
    - 1.0: delivered at s + 1.6 (waited 0.6 s); the failover at 2.2 breaks it: redelivered at 3.2.
    - 1.5, 2.0: wait; the session is free at s + 2.4 but the broker is down until 3.2, when 1.5
      goes (waited 1.7 - s), acked at 4.0; then 2.0 (waited 2.0 - s), acked at 4.8; then 1.0 again.
    - 2.5, 3.0: refused (down). 3.5, 4.0, 4.5: still queued at the end (5 s).
    So 10 sent = 2 refused + 4 consumed + 3 in the broker + 1 in processing; 6 deliveries, 1
    redelivered; EnqueueTime of the 5 first deliveries (0 + 0.3 + 0.6 + 1.7 - s + 2 - s) / 5."""
    r = run(scenario({"b": broker(failures=[{"at_s": 2.2}], failover_s=1.0)}, [constant(2)]))
    b = r.summary["brokers"]["b"]
    q = b["queues"]["orders"]
    assert (q["sent"], q["refused_broker_down"], q["refused_store_full"], q["consumed"]) == (10, 2, 0, 4)
    assert (q["in_broker_end"], q["in_processing_end"], q["dispatched"], q["redelivered"]) == (3, 1, 6, 1)
    assert q["queue_depth_end"] == 4  # stored, not acknowledged: 1.0 (in processing), 3.5, 4.0, 4.5
    want_ms = (0 + 0.3 + 0.6 + 1.7 - S_1KB + 2.0 - S_1KB) / 5 * 1000
    assert q["time_in_queue_ms"]["mean"] == pytest.approx(want_ms, abs=1e-3)  # µs sums
    assert b["store_wait_ms"]["mean"] == 0.0
    assert (b["failovers"], b["down_s"]) == (1, 1.0)
    assert b["throughput_msgs_per_s"] == pytest.approx(2400.0)


def test_the_store_is_a_fifo_server_by_hand():
    """Ten 1 KB messages sent at once: the k-th is stored at (k + 1)·s, so the store waits are
    0, s, …, 9s: a mean of 4.5·s. With CSAD on the mq.m5.large's 1 KB figure is 6,916 a second."""
    d = scenario({"b": broker()}, [{"name": "p", "target": "broker:b/orders", "message": {"size_bytes": 1024},
                                    "arrivals": {"kind": "constant", "rate_per_s": 1e9}, "end_s": 1e-8}])
    b = run(d).summary["brokers"]["b"]
    assert b["sent"] == 10 and b["store_wait_ms"]["mean"] == pytest.approx(4.5 * S_1KB * 1000, abs=1e-3)
    on = load_scenario(scenario({"b": broker(concurrent_store_and_dispatch=True)}, [constant(1)]))
    assert 1.0 / service_s(on.brokers["b"], np.array([1024]))[0] == pytest.approx(6916.0)


def test_throughput_interpolates_between_aws_sizes():
    """Service time linear in the size between AWS's measured sizes; below 1 KB 1 KB's; above
    100 KB along the 50-100 KB slope; EBS with CSAD off: EFS's time / 6.25, not below CSAD on's."""
    sc = load_scenario(scenario({"b": broker()}, [constant(1)]))
    b = sc.brokers["b"]
    on, off = THROUGHPUT["mq.m5.large"]
    s = service_s(b, np.array([100, 1024, 3 * 1024, 5 * 1024, 100 * 1024, 150 * 1024]))
    assert s[0] == s[1] == 1 / off[0]
    assert s[2] == pytest.approx((1 / off[0] + 1 / off[1]) / 2)
    assert s[3] == pytest.approx(1 / off[1]) and s[4] == pytest.approx(1 / off[4])
    assert s[5] == pytest.approx(1 / off[4] + (1 / off[4] - 1 / off[3]))  # 50 KB past 100 KB
    sc = load_scenario(scenario({"b": broker(storage="ebs")}, [constant(1)]))
    ebs = service_s(sc.brokers["b"], np.array([1024, 100 * 1024]))
    assert ebs[0] == pytest.approx(max(1 / off[0] / 6.25, 1 / on[0]))
    assert ebs[1] == pytest.approx(max(1 / off[4] / 6.25, 1 / on[4]))


def busy_scenario(window_s):
    """Two queues, Poisson sends near the store's limit, a small store, a capped queue, rollbacks,
    dead letters, a scheduled failover and random ones."""
    b = broker(store_limit_gb=0.0002, failures=[{"at_s": 20.0}], failure_rate_per_h=60.0, failover_s=2.0,
               queues={"orders": {"consumers": {"workers": 3, "concurrency": 4,
                                                "processing_ms": {"dist": "exponential", "mean": 6.0},
                                                "failure_rate": 0.2, "redelivery_delay_s": 0.5,
                                                "max_redeliveries": 2}},
                       "audit": {"max_messages": 50,
                                 "consumers": {"workers": 1, "processing_ms": {"dist": "fixed", "value": 30}}}})
    traffic = [{"name": "p", "target": "broker:b/orders", "arrivals": {"kind": "poisson", "rate_per_s": 1800},
                "message": {"size_bytes": 1024}},
               {"name": "a", "target": "broker:b/audit", "arrivals": {"kind": "poisson", "rate_per_s": 40},
                "message": {"size_bytes": 512}}]
    return scenario({"b": b}, traffic, duration_s=60.0, seed=5, sim={"window_s": window_s},
                    record={"report": False, "period_s": 10})


@pytest.fixture(scope="module")
def busy():
    return {w: run(busy_scenario(w)) for w in (0.01, 0.7, 60.0, "auto")}


@pytest.mark.parametrize("window_s", [0.01, 60.0, "auto"])
def test_outcomes_do_not_depend_on_the_window(busy, window_s):
    a, ref = busy[window_s], busy[0.7]
    assert a.summary["brokers"] == ref.summary["brokers"]
    ma = a.metrics.filter(a.metrics["namespace"] == "AWS/AmazonMQ")
    mr = ref.metrics.filter(ref.metrics["namespace"] == "AWS/AmazonMQ")
    assert ma.height > 0 and ma.equals(mr, null_equal=True)


def test_the_busy_run_has_every_outcome_and_conserves_messages(busy):
    b = busy[0.7].summary["brokers"]["b"]
    assert b["failovers"] >= 2 and b["dead_lettered"] > 0 and b["redelivered"] > 0
    total = 0
    for q in b["queues"].values():
        assert q["sent"] == (q["refused"] + q["consumed"] + q["dead_lettered"] + q["in_broker_end"]
                             + q["in_processing_end"])
        assert q["refused"] == q["refused_broker_down"] + q["refused_store_full"]
        total += q["sent"]
    assert b["queues"]["orders"]["refused_store_full"] > 0 and b["queues"]["audit"]["refused_store_full"] > 0
    assert b["sent"] == total and b["refused"] == sum(q["refused"] for q in b["queues"].values())


def test_store_wait_is_pollaczek_khinchine_for_m_d_1():
    """Poisson sends of 1 KB at λ = 1,800/s into a store serving one every s = 1/2,400 s
    (deterministic): M/D/1 with ρ = 0.75, mean wait ρ·s / (2(1 - ρ)) = 0.625 ms. Consumers are
    fast (100 sessions of 1 ms), so the store is the only queue. Ten seeded replications of 60 s;
    the 99 % confidence interval of their mean wait (Student's t) must hold the theory."""
    lam, s = 1800.0, S_1KB
    rho = lam * s
    theory_ms = rho * s / (2 * (1 - rho)) * 1000
    b = broker(queues={"orders": {"consumers": {"workers": 100, "processing_ms": {"dist": "fixed", "value": 1}}}})
    means = []
    for seed in range(10):
        d = scenario({"b": b}, [{"name": "p", "target": "broker:b/orders", "message": {"size_bytes": 1024},
                                 "arrivals": {"kind": "poisson", "rate_per_s": lam}}], duration_s=60.0, seed=seed)
        means.append(run(d).summary["brokers"]["b"]["store_wait_ms"]["mean"])
    m, se = np.mean(means), np.std(means, ddof=1) / math.sqrt(len(means))
    half = stats.t.ppf(0.995, len(means) - 1) * se
    print(f"M/D/1: mean wait {m:.4f} ms ± {half:.4f} (99 %), theory {theory_ms:.4f} ms")
    assert abs(m - theory_ms) <= half, (m, half, theory_ms)
    assert half < 0.1 * theory_ms  # the interval is tight enough to mean something


def test_a_month_of_active_standby_on_efs_to_the_cent():
    """An active/standby mq.m5.large with 10 GB of EFS, one hour simulated: 2 instances × 1 h =
    2 instance-hours × $0.288 = $0.576 and 10 GB × 1/730 of a month × $0.30; projected to the
    730-hour month: 2 × 730 × $0.288 = $420.48 plus 10 × $0.30 = $3.00, $423.48."""
    d = scenario({"b": broker(deployment="active_standby", storage_gb=10)}, [constant(1)], duration_s=3600.0)
    r = run(d)
    assert r.summary["cost_usd"]["monthly"] == 423.48
    assert r.summary["cost_usd"]["total"] == 0.58  # 0.576 + 0.0041
    lines = {row["usage_type"]: row for row in r.costs.filter(r.costs["period"] == "simulated").to_dicts()}
    assert lines["BrokerHours-ActiveMQ:mq.m5.large"]["usage_amount"] == pytest.approx(2.0, abs=1e-12)
    assert lines["TimedStorage-ByteHrs"]["usage_amount"] == pytest.approx(10 / 730, abs=1e-12)


def test_a_rabbitmq_cluster_bills_three_nodes():
    """mq.m5.xlarge cluster: 3 × 730 × $0.576 = $1,261.44 (as infracost's us-east-1 test) plus
    20 GB of EBS on each of the 3 nodes × $0.10 = $6.00."""
    b = {"engine": "rabbitmq", "instance_type": "mq.m5.xlarge", "deployment": "cluster", "storage_gb": 20,
         "queues": {"orders": {}}}
    r = run(scenario({"b": b}, [constant(1)], duration_s=3600.0))
    assert r.summary["cost_usd"]["monthly"] == 1267.44


def test_mq_legacy_orders_as_its_comments_say():
    """configs/scenario/mq_legacy_orders.yaml: about 2,000 messages a second at 2 KB; the sale
    (2,300 a second for 5 minutes) pushes the store's load past 1 (the store's wait grows), the
    failover at 20 minutes refuses about 5 s of sends, and the bill is two mq.m5.large and 5 GB."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    r = sim.simulate(root / "configs" / "scenario" / "mq_legacy_orders.yaml", progress=False)
    b = r.summary["brokers"]["legacy"]
    assert 1990 < b["throughput_msgs_per_s"] < 2010
    assert 0.8 < b["utilisation"] < 1.0 and b["store_wait_ms"]["p99"] > 10_000  # the sale's backlog
    expected = 5 * 1600  # Poisson sends at 1,500 + 100 a second around 1,200 s, for 5 s
    down = b["queues"]["orders"]["refused_broker_down"] + b["queues"]["invoices"]["refused_broker_down"]
    assert b["failovers"] == 1 and abs(down - expected) < 4 * math.sqrt(expected)  # within 4 sd
    assert b["queues"]["orders"]["redelivered"] > 0 and b["dead_lettered"] == 0
    assert r.summary["cost_usd"]["monthly"] == 421.98  # 2 × 730 × $0.288 + 5 × $0.30
    m = r.metrics.filter(r.metrics["namespace"] == "AWS/AmazonMQ")
    assert {"EnqueueCount", "DispatchCount", "DequeueCount", "EnqueueTime", "QueueSize", "StorePercentUsage",
            "TotalMessageCount"} == set(m["metric"].unique())
