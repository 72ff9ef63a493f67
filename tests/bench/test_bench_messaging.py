"""SNS fan-out -> SQS -> event source mapping -> Lambda: cloudtwin against a per-message SimPy model.

One topic, five filtered subscriptions, five queues, five mappings, five functions
(`fanout_scenario.py`). The SimPy model (`simpy_messaging_baseline.py`) runs 30,000
publishes (about 66,000 queue messages); cloudtwin runs 1 M publishes (about 2.2 M queue
messages) of the same architecture. The figure that matters is the ratio of queue messages
per wall-second, printed at the end of `make bench`.
"""

import time

import pytest

from fanout_scenario import class_table, fanout_scenario
from simpy_messaging_baseline import run_simpy_fanout
from sim import simulate

SIMPY_PUBLISHES = 30_000


@pytest.fixture(scope="module")
def warm_numba():
    """A tiny run of the same shape, so the benchmark does not time compiling or loading kernels."""
    simulate(fanout_scenario(rate_per_s=100.0, duration_s=10.0), progress=False)


def test_simpy_fanout_baseline(benchmark, bench_figures):
    match, p = class_table()

    def run():
        t0 = time.perf_counter()
        counts = run_simpy_fanout(rate_per_s=2000.0, n_publishes=SIMPY_PUBLISHES, match=match, class_p=p,
                                  batch_size=10, pollers=40, concurrency=1000, mean_duration_s=0.05,
                                  init_s=0.2, visibility_s=60.0, delivery_s=0.03, seed=1)
        return counts, time.perf_counter() - t0

    counts, wall_s = benchmark.pedantic(run, rounds=1, iterations=1)
    assert counts["published"] == SIMPY_PUBLISHES
    assert counts["delivered"] + counts["filtered_out"] == 5 * SIMPY_PUBLISHES
    figures = {"publishes": SIMPY_PUBLISHES, "messages": counts["delivered"], "wall_s": wall_s,
               "messages_per_s": counts["delivered"] / wall_s, **counts}
    benchmark.extra_info.update(figures)
    bench_figures["simpy_fanout"] = figures


def test_cloudtwin_fanout(benchmark, bench_figures, warm_numba):
    # 2,000 publishes/s x 500 s = 1 M publishes; 2.2 subscriptions match on average.
    scenario = fanout_scenario(rate_per_s=2000.0, duration_s=500.0)
    result = benchmark.pedantic(simulate, args=(scenario,), kwargs={"progress": False}, rounds=1, iterations=1)
    s = result.summary
    queues = s["queues"].values()
    messages = sum(q["sent"] for q in queues)
    for q in queues:  # conservation, and the consumers kept up
        assert q["sent"] == q["deleted"] + q["visible_end"] + q["in_flight_end"] + q["dead_lettered"] + q["expired"]
    topic = s["topics"]["orders"]
    assert topic["delivered"] == messages  # every delivery is a SendMessage
    figures = {
        "publishes": int(s["requests_simulated"]),
        "messages": messages,
        "invocations": sum(f["invocations"] for f in s["functions"].values()),
        "wall_s": float(s["wall_s"]),  # the engine's run: windows stepped, no build or results
        "messages_per_s": messages / s["wall_s"],
    }
    benchmark.extra_info.update(figures)
    bench_figures["cloudtwin_fanout"] = figures
