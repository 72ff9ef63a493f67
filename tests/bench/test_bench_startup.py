"""A second run starts simulating within 1.5 s: numba loads the kernels from its on-disk cache.

Measured from the parent's spawn of a fresh interpreter to the end of the first window,
so it covers interpreter start, imports, building the scenario and loading the kernels.
The best of three fresh processes is asserted, so other load on the machine does not count.
"""

from pool_scenario import pool_scenario
from run_scenario import run_in_child

LIMIT_S = 1.5
TINY = pool_scenario(rate_per_s=100.0, duration_s=10.0, concurrency_limit=1000)


def test_startup_second_run(benchmark, bench_figures):
    run_in_child(TINY)  # the first run: fills numba's cache if it was empty
    runs = []
    benchmark.pedantic(lambda: runs.append(run_in_child(TINY)), rounds=3, iterations=1)
    best = min(runs, key=lambda r: r["first_window_s"])
    figures = {
        "first_window_s": best["first_window_s"],
        "first_window_s_runs": [r["first_window_s"] for r in runs],
        "interpreter_start_s": best["interpreter_start_s"],
        "import_s": best["import_s"],
        "simulate_done_s": best["simulate_done_s"],
    }
    benchmark.extra_info.update(figures)
    bench_figures["startup"] = figures
    print(f"\nsecond run: first window after {best['first_window_s']:.2f} s "
          f"(runs: {', '.join(f'{r:.2f}' for r in figures['first_window_s_runs'])})")
    assert best["first_window_s"] < LIMIT_S
