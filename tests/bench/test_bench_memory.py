"""Memory grows with recorded periods, not with requests: 100 M requests stay under 2 GB.

The run happens in a fresh process so its peak RSS is its own (imports, kernels and all).
"""

from pool_scenario import pool_scenario
from run_scenario import run_in_child

PEAK_LIMIT_KB = 2 * 1024 * 1024  # 2 GB, the requirement


def test_memory_100m(benchmark, bench_figures):
    # 20,000 req/s x 5,000 s = 100 M requests; 50 ms each, so about 1,000 busy environments.
    scenario = pool_scenario(rate_per_s=20_000.0, duration_s=5000.0, concurrency_limit=3000,
                             mean_duration_ms=50.0)
    child = benchmark.pedantic(run_in_child, args=(scenario,), rounds=1, iterations=1)
    if child.get("vm_hwm_kb"):
        child["max_rss_kb"] = child["vm_hwm_kb"]  # its own peak, not the fork's inherited pages
    figures = {**child, "requests_per_s": child["requests_simulated"] / child["wall_s"]}
    benchmark.extra_info.update(figures)
    bench_figures["memory_100m"] = figures
    print(f"\n100 M requests: peak RSS {child['max_rss_kb'] / 1024:.0f} MB, {child['wall_s']:.1f} s simulating")
    assert abs(child["requests_simulated"] - 100_000_000) < 100_000  # Poisson: sd 10,000
    assert child["max_rss_kb"] < PEAK_LIMIT_KB, f"peak RSS {child['max_rss_kb'] / 1024:.0f} MB"
