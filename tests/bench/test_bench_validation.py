"""Validating a scenario is quick: the largest shipped scenario under 0.5 s (issue 10), against reading its YAML alone.

The baseline in the same run is parsing the same file with PyYAML, the floor any loader
pays; the ratio says what the checks cost on top of it.
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from scenarios.load import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "configs" / "scenario").glob("*.yaml"))
LIMIT_S = 0.5


def _best(fn, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def test_the_largest_scenario_validates_within_half_a_second(benchmark, bench_figures):
    for p in SHIPPED:
        load_scenario(p)  # imports, caches of data files
    times = {p.stem: _best(lambda p=p: load_scenario(p)) for p in SHIPPED}
    largest = max(SHIPPED, key=lambda p: len(p.read_text()))
    benchmark.pedantic(lambda: load_scenario(largest), rounds=5, iterations=1)
    parse = _best(lambda: yaml.safe_load(largest.read_text()))
    figures = {"validate_s": times, "largest": largest.stem, "largest_s": times[largest.stem],
               "yaml_parse_s": parse, "ratio_to_parse": times[largest.stem] / parse}
    bench_figures["validation"] = figures
    print(f"\nvalidation: {', '.join(f'{k} {v * 1000:.0f} ms' for k, v in times.items())}; largest ({largest.stem}) "
          f"{times[largest.stem] * 1000:.0f} ms = {figures['ratio_to_parse']:.1f}x parsing its YAML")
    assert max(times.values()) < LIMIT_S
