"""Compiling the numba kernels a run needs before its clock starts, and saying so when that takes a while.

numba compiles a kernel the first time it is called and caches the machine code on disk
(`__pycache__` beside each kernel module, or `NUMBA_CACHE_DIR`); a cold compile of the
messaging kernel alone once took over a minute. `compile_kernels` compiles, or loads from
that cache, every kernel a run will call (event loops, period closing, finishing, billing
and the summary's percentiles), so that none compiles inside the run, where it would stall
the progress bar and count as simulated time. When the cache is cold it first prints one
line to stderr.

How: each kernel group has warm-up scenarios (shipped scenarios cut to a few simulated
seconds, and two of their own), run through `sim.api.simulate` (without this warm-up of its
own: `sim.simulate` passes `warm_before_clock` to it, `sim.api` never imports this module),
which calls every kernel with exactly the argument types a real run uses.
When every kernel of the needed groups already has a valid cache entry (numba's index for
the function's current code, Python and CPU), they are loaded by signature instead, which
takes a fraction of a second. Simplification: numba keys a cache entry on the kernel's own
source file, not on the helpers it calls from other files; a stale entry after editing
only `kernels/histogram.py`, say, is not detected (numba's own limitation).

`python -m sim.engine.warmup` compiles every group (the Makefile's `run` target does it once).
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

GROUPS = ("lambda", "messaging", "vpc", "broker")

# Top-level kernels (called from Python) per group: `module:function` under `kernels`.
# Kernels they call are compiled into them and need no entry of their own.
_SUMMARY = ("histogram:hist_quantile", "billing:request_units_many")
KERNELS: Dict[str, Tuple[str, ...]] = {
    "lambda": ("lambda_pool:run_pool", "lambda_pool:control_provisioned", "lambda_pool:finish_periods",
               "lambda_pool:trace_mark_heap", "lambda_pool:trace_close", "histogram:hist_add_many", *_SUMMARY),
    "messaging": ("account:run_account", "account:pending_by_target", "account:trace_mark_account",
                  "lambda_pool:trace_close", "queue_pool:mq_init", "queue_pool:mq_finish",
                  "queue_pool:mq_control_provisioned", "apigw:gateway_many", "dynamodb:request_half_units_many",
                  "tables:set_capacity", "buckets:split", "fargate:begin", "fargate:spot_warnings_at_start",
                  "fargate:serve", "fargate:finish", "histogram:hist_add_many", *_SUMMARY),
    "vpc": ("firewall:l4_keys", "firewall:dotted_quads", "firewall:first_match_v4", "routing:lpm_v4",
            "bandwidth:share_window", "lambda_pool:finish_periods", "lambda_pool:trace_mark_heap",
            "lambda_pool:trace_close"),
    "broker": ("broker:run_broker", "histogram:hist_quantile"),  # Amazon MQ (sim.messaging.mq)
}
# (finish_periods, trace_mark_heap, trace_close: the Lambda account closes its periods and its
# traces at the end of every run without queues, functions or not.)

# Scenarios whose short runs call each group's kernels, and only that group's (so that
# groups can compile in parallel processes): shipped ones (configs/scenario) by name, and
# two of their own: `messaging_only` (a queue with a dead-letter queue, an event source
# mapping to a function with scheduled provisioned concurrency, a worker fleet, an
# on-failure destination) and `fanout_only` (a topic and a bus delivering to HTTPS and
# email endpoints only).
_WARM_SCENARIOS: Dict[str, Tuple[str, ...]] = {
    "lambda": ("default",),
    "messaging": ("messaging_only", "fanout_only"),
    "vpc": ("vpc_three_tier",),
    "broker": ("mq_legacy_orders",),
}
_WARM_DURATION_S = 4.0
_MESSAGING_ONLY = {
    "name": "warm_messaging",
    "functions": {"f": {"provisioned_concurrency": 1, "provisioned_schedule": [{"at_s": 1.0, "count": 2}],
                        "error_rate": 0.3, "async_invoke": {"on_failure": "queue:dlq"}}},
    "queues": {"q": {"max_receive_count": 2, "dead_letter_queue": "dlq"}, "dlq": {}, "w": {}},
    "event_source_mappings": [{"source": "q", "function": "f", "batch_size": 5}],
    "worker_fleets": {"pool": {"queue": "w", "workers": 2}},
    "traffic": [
        {"name": "q", "target": "queue:q", "arrivals": {"kind": "poisson", "rate_per_s": 50}},
        {"name": "w", "target": "queue:w", "arrivals": {"kind": "poisson", "rate_per_s": 50}},
        {"name": "a", "target": "function:f", "invocation": "async", "arrivals": {"kind": "poisson", "rate_per_s": 20}},
    ],
}
_FANOUT_ONLY = {
    "name": "warm_fanout",
    "topics": {"t": {"subscriptions": [
        {"protocol": "https", "endpoint": "https://example.com/hook", "failure_rate": 0.5},
        {"protocol": "email", "endpoint": "ops@example.com"}]}},
    "buses": {"b": {"rules": {"r": {"event_pattern": {"source": [{"prefix": "a"}]},
                                    "targets": [{"target": "https://example.com/events", "failure_rate": 0.5}]}}}},
    "traffic": [
        {"name": "p", "target": "topic:t", "arrivals": {"kind": "poisson", "rate_per_s": 50}},
        {"name": "e", "target": "bus:b", "arrivals": {"kind": "poisson", "rate_per_s": 50},
         "events": [{"weight": 1.0, "event": {"source": "a.b", "detail-type": "X", "detail": {}}}]},
    ],
}

# Cold compile time per group (CPU s of `python -m sim.engine.warmup GROUP` with an empty cache,
# measured on the 2-core development machine; vpc's is its own kernels only, its warm-up
# scenario also has functions): the announcement's estimate.
COLD_S = {"lambda": 12.0, "messaging": 50.0, "vpc": 3.0, "broker": 4.0}  # messaging: the account loop, 49 CPU-s measured

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "configs" / "scenario"



@dataclass
class Warmup:
    """What `compile_kernels` did: the groups, whether anything was compiled (not just
    loaded from numba's cache), and how long it took (s)."""

    groups: Tuple[str, ...]
    compiled: bool
    wall_s: float
    cold: Tuple[str, ...] = ()  # groups that had to be compiled


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def groups_for(scenario: Any) -> Tuple[str, ...]:
    """The kernel groups a run of `scenario` (a validated Scenario, or anything with the
    same attributes, e.g. a built World's `.scenario`) calls."""
    sc = getattr(scenario, "scenario", scenario)
    out = []
    if (sc.queues or sc.topics or sc.buses or getattr(sc, "tables", None) or getattr(sc, "buckets", None)
            or getattr(sc, "apis", None) or getattr(sc, "services", None)
            or any(fn.calls or fn.egress for fn in sc.functions.values())):
        out.append("messaging")  # the account's one loop (kernels/account.py), and the gateway before it
    elif sc.functions or getattr(sc, "swf_workflows", None) or not sc.vpcs:
        out.append("lambda")  # (the account closes its periods in every run; SWF's histograms)
    if sc.vpcs:
        out.append("vpc")
    if getattr(sc, "brokers", None):
        out.append("broker")
    return tuple(out)


def dispatchers(group: str) -> List[Any]:
    """The numba dispatchers of `group`'s top-level kernels."""
    import importlib

    out = []
    for name in KERNELS[group]:
        module, fn = name.split(":")
        out.append(getattr(importlib.import_module(f"kernels.{module}"), fn))
    return out


def cached_signatures(dispatcher) -> list:
    """Signatures of `dispatcher` with a valid entry in numba's on-disk cache: the index
    exists for the kernel's current source file, and the entry was made by this Python
    and CPU for the function's current bytecode (numba's own index key)."""
    cache = getattr(dispatcher, "_cache", None)
    if cache is None or not hasattr(cache, "_cache_file"):
        return []
    try:
        index = cache._cache_file._load_index()
    except Exception:  # an unreadable index is a cold cache
        return []
    codegen = dispatcher.targetctx.codegen()
    return [key[0] for key in index if cache._index_key(key[0], codegen) == key]


def is_warm(group: str) -> bool:
    """Whether every top-level kernel of `group` is in memory or in numba's disk cache."""
    return all(d.signatures or cached_signatures(d) for d in dispatchers(group))


def _load(group: str) -> None:
    for d in dispatchers(group):
        if not d.signatures:
            for sig in cached_signatures(d):
                d.compile(sig)  # found in the cache: loaded, not compiled


def load_cached(needs: Iterable[str]) -> Tuple[str, ...]:
    """Load from numba's cache the kernels of each group in `needs` whose kernels are all
    there; compile nothing (a cold group is left to `compile_kernels`). The groups loaded."""
    warm = tuple(g for g in needs if is_warm(g))
    for g in warm:
        _load(g)
    return warm


def warm_scenario(name: str) -> Any:
    """Warm-up scenario `name` (shipped, "messaging_only" or "fanout_only"), cut to a few simulated seconds."""
    from scenarios import load_scenario

    own = {"messaging_only": _MESSAGING_ONLY, "fanout_only": _FANOUT_ONLY}
    sc = load_scenario(own[name] if name in own else SCENARIO_DIR / f"{name}.yaml")
    d = dataclasses.asdict(sc)
    d["duration_s"] = _WARM_DURATION_S
    d["record"]["period_s"] = _WARM_DURATION_S / 2
    d["sim"]["window_s"] = 1.0
    d["sim"]["progress"] = False
    return d


def _compile(groups: Iterable[str]) -> None:
    from sim.api import simulate  # without before_clock: no warm-up inside the warm-up

    groups = tuple(groups)
    names = []
    for g in groups:
        names += [n for n in _WARM_SCENARIOS[g] if n not in names]
    for n in names:
        simulate(warm_scenario(n), progress=False)
    if "messaging" in groups:
        _touch_state_kernels()
    if "lambda" in groups:  # SWF's histograms (its runs have no kernel of their own)
        import numpy as np

        from kernels import histogram

        histogram.hist_add_many(np.zeros(histogram.N_BINS, np.int64), np.ones(1))


def _touch_state_kernels() -> None:
    """Compile (or load) the small kernels of API Gateway, DynamoDB, S3 and Fargate with the types
    a run gives them, on arrays of one entry: a warm-up scenario of a few seconds reaches neither a
    capacity change nor a prefix split, which come after minutes."""
    import numpy as np

    from kernels import apigw, buckets, dynamodb, fargate, histogram, tables

    one = np.zeros(1, np.int64)
    dynamodb.request_half_units_many(one, one + 1, one + 1, one, one.copy(), one.copy())
    tbi, tbf, tpart, tring, _ = tables.table_arrays([{"mode": tables.PROVISIONED, "read": 1.0, "write": 1.0}], 1)
    tables.set_capacity(1.0, 0, 1.0, 1.0, tbi, tbf, tpart, tring)
    ptok, plast, pparts, _, _ = buckets.bucket_arrays([1], 1)
    buckets.split(1.0, 0, ptok, plast, pparts)
    rate = np.ones(1)
    tokens, last, qused, qwin, prev, nxt, inserted, cached, ends = apigw.gateway_state(rate, rate, 1, 1, 1)
    apigw.gateway_many(np.zeros(1), one.copy(), one - 1, one - 1, one.copy(), np.array([0, 1], np.int64), one.copy(),
                       rate, rate.copy(), tokens, last, one + 1, np.ones(1), qused, qwin, np.ones(1), one + 1, prev,
                       nxt, inserted, cached, ends, one.copy())
    si, sf = np.ones(fargate.N_SI, np.int64), np.ones(fargate.N_SF)
    st, fs, hh, q_g, q_t, q_s, tk_i, tk_f = fargate.new_state(si, sf, 4)
    pm = np.zeros((1, fargate.N_PM))
    fargate.begin(si, sf, st, fs, hh, tk_i, tk_f, pm)
    fargate.spot_warnings_at_start(si, sf, st, hh, tk_i, tk_f, np.full(4, 0.5))
    t = np.zeros(1)
    fargate.serve(t, t.copy(), one.copy(), 0, 1.0, si, sf, st, fs, hh, q_g, q_t, q_s, tk_i, tk_f, np.ones(4),
                  np.full(4, 0.5), pm, one.copy(), t.copy(), one.copy(), np.zeros((1, 3)))
    fargate.finish(1.0, st, fs, sf, pm)
    histogram.hist_add_many(np.zeros(histogram.N_BINS, np.int64), np.ones(1))


def warm_before_clock(scenario: Any) -> None:
    """`sim.simulate`'s hook: compile `scenario`'s kernels before its clock starts, logged."""
    import logging

    warm = compile_kernels(scenario)
    if warm.compiled:
        logging.getLogger("cloudtwin").info("compiled kernels %s in %.1f s", ", ".join(warm.cold), warm.wall_s)


def compile_kernels(needs: Any = GROUPS, announce: Optional[Callable[[str], None]] = _stderr) -> Warmup:
    """Compile or load every kernel a run needs, before its clock starts.

    `needs`: a Scenario (or a built World) — its kernel groups are worked out — or group
    names from `GROUPS` (default: all). When some kernel has no valid cache entry, calls
    `announce` (default: print to stderr; None: silent) once, before compiling, with
    `compiling kernels (once, about N s; cached for later runs)`. Returns a `Warmup`;
    `compiled` is True when a compile happened. The warm-up scenarios run through
    `sim.api.simulate` without a `before_clock`, so they never warm up again themselves.
    """
    if isinstance(needs, str):
        groups: Tuple[str, ...] = (needs,)
    elif hasattr(needs, "functions") or hasattr(needs, "scenario"):
        groups = groups_for(needs)
    else:
        groups = tuple(needs)
    unknown = [g for g in groups if g not in KERNELS]
    if unknown:
        raise ValueError(f"unknown kernel group(s) {unknown}; known: {list(GROUPS)}")
    t0 = time.perf_counter()
    if not groups:
        return Warmup(groups, False, 0.0)
    cold = tuple(g for g in groups if not is_warm(g))
    for g in groups:
        if g not in cold:
            _load(g)
    if cold:
        if announce is not None:
            announce(_announcement(cold))
        _compile(cold)
    return Warmup(groups, bool(cold), time.perf_counter() - t0, cold)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.engine.warmup",
                                     description="Compile (or load from numba's cache) every cloudtwin kernel.")
    parser.add_argument("groups", nargs="*", metavar="GROUP", help=f"kernel groups (default: all): {', '.join(GROUPS)}")
    parser.add_argument("--jobs", type=int, default=1,
                        help="compile cold groups in this many processes (numba compiles on one core)")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    bad = [g for g in args.groups if g not in GROUPS]
    if bad:
        parser.error(f"unknown group(s) {', '.join(bad)}; choose from {', '.join(GROUPS)}")
    groups = tuple(args.groups) or GROUPS
    announce = None if args.quiet else _stderr
    t0 = time.perf_counter()
    cold = tuple(g for g in groups if not is_warm(g))
    if args.jobs > 1 and len(cold) > 1:
        if announce is not None:
            announce(_announcement(cold, args.jobs))
        for g in groups:
            if g not in cold:
                _load(g)
        bins = _bins(cold, args.jobs)
        procs = [subprocess.Popen([sys.executable, "-m", "sim.engine.warmup", "--quiet", *b]) for b in bins]
        codes = [p.wait() for p in procs]
        if any(codes):
            print(f"kernel warm-up failed (exit codes {codes})", file=sys.stderr)
            return 1
        w = Warmup(groups, True, time.perf_counter() - t0, cold)
    else:
        w = compile_kernels(groups, announce)
    if not args.quiet:
        what = f"compiled {', '.join(w.cold)}" if w.compiled else "all cached"
        print(f"kernels ready ({what}) in {w.wall_s:.1f} s", file=sys.stderr)
    return 0


def _bins(groups: Tuple[str, ...], jobs: int) -> List[List[str]]:
    """`groups` in at most `jobs` bins of about equal compile time (longest first)."""
    bins: List[List[str]] = [[] for _ in range(min(jobs, len(groups)))]
    load = [0.0] * len(bins)
    for g in sorted(groups, key=lambda g: -COLD_S[g]):
        k = load.index(min(load))
        bins[k].append(g)
        load[k] += COLD_S[g]
    return bins


def _announcement(cold: Tuple[str, ...], jobs: int = 1) -> str:
    est = max(sum(COLD_S[g] for g in b) for b in _bins(cold, jobs))
    return f"compiling kernels (once, about {est:.0f} s; cached for later runs)"


if __name__ == "__main__":
    sys.exit(main())
