"""API Gateway in whole runs: the account's and a stage's limits by hand, a usage plan's quota,
the 29-second rule (a late answer is a 504 while the function runs on and is billed), the
cache's hit ratio against theory within a CI (the TTL formula, exact; Che's approximation),
the bill of a month to the cent, conservation and the same numbers whatever the windows."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from sim.analysis.cache_theory import hit_ratio, zipf_popularity
from sim.api import simulate
from test_billing import cents


def scenario(apis, traffic, functions=None, duration_s=60.0, seed=0, period_s=60.0, **extra):
    fns = functions or {"app": {"memory_mb": 128, "timeout_s": 60, "duration_ms": {"dist": "fixed", "value": 5},
                                "init_ms": {"dist": "fixed", "value": 0}}}
    return {"name": "api", "duration_s": duration_s, "seed": seed, "functions": fns, "apis": apis,
            "traffic": traffic, "record": {"period_s": period_s}, **extra}


def source(route, rate, kind="constant", name="web", **kw):
    return {"name": name, "target": f"api:{route}", "arrivals": {"kind": kind, "rate_per_s": rate}, **kw}


def route_of(r, name):
    return r.summary["apis"][name]


def test_a_stage_limit_under_the_accounts_by_hand():
    """A stage of 100 rps with a bucket of 50, under the account's 10,000 / 5,000: 150 requests a
    second, evenly spaced, for 10 s: the bucket's 50 and then 100 a second pass (1,050, give or
    take the token refilling at the end); the rest are 429s, answered by the gateway in its
    overhead alone; nothing is in flight."""
    sc = scenario({"shop": {"type": "rest", "throttle": {"rate_per_s": 100, "burst": 50},
                            "routes": {"GET /a": {"integration": "function:app"}}}},
                  [source("shop/GET /a", 150)], duration_s=10.0)
    row = route_of(simulate(sc), "shop GET /a")
    assert row["requests"] == 1500
    assert abs(row["status_2xx"] - 1050) <= 1
    assert row["status_4xx"] == row["throttled_by_gateway"] == 1500 - row["status_2xx"]
    assert row["status_5xx"] == 0 and row["in_flight_end"] == 0
    assert row["requests"] == row["status_2xx"] + row["status_4xx"] + row["status_5xx"] + row["in_flight_end"]


def test_a_usage_plans_quota_by_hand():
    """A REST usage plan of one key with a quota of 100 a day and no throttle: 5 requests a second
    for 60 s pass the first 100 and refuse the other 200 as quota exceeded."""
    sc = scenario({"shop": {"type": "rest", "routes": {"GET /a": {"integration": "function:app"}},
                            "usage_plans": {"free": {"quota": {"limit": 100, "period": "day"}}}}},
                  [source("shop/GET /a", 5, usage_plan="free")])
    row = route_of(simulate(sc), "shop GET /a")
    assert (row["status_2xx"], row["quota_exceeded"], row["status_4xx"]) == (100, 200, 200)


def test_a_late_answer_is_a_504_while_the_function_runs_on_and_bills():
    """A function of exactly 2 s behind a route with a 1,000 ms integration timeout: every client
    sees a 504 after 1,000 ms + the gateway's 10 ms; the function still runs its 2 s, billed."""
    fns = {"slow": {"memory_mb": 1024, "timeout_s": 10, "duration_ms": {"dist": "fixed", "value": 2000},
                    "init_ms": {"dist": "fixed", "value": 0}}}
    sc = scenario({"shop": {"routes": {"GET /slow": {"integration": "function:slow", "timeout_ms": 1000}}}},
                  [source("shop/GET /slow", 2)], functions=fns, duration_s=30.0)
    r = simulate(sc)
    row = route_of(r, "shop GET /slow")
    n = row["requests"]
    assert row["status_504"] == row["status_5xx"] == n - row["in_flight_end"] and row["status_2xx"] == 0
    assert row["latency_ms_mean"] == pytest.approx(1010.0)
    assert row["integration_latency_ms_mean"] == pytest.approx(1000.0)
    ep = r.summary["entry_points"]["web"]
    assert ep["failed"] == row["status_504"] and ep["latency_ms"]["max"] == pytest.approx(1010.0)
    fn = r.summary["functions"]["slow"]
    assert fn["invocations"] == n and fn["errors"] == 0 and fn["timeouts"] == 0  # they ran to their end
    gb_s = r.costs.filter((pl.col("period") == "simulated") & (pl.col("usage_type") == "Lambda-GB-Second"))
    assert gb_s["usage_amount"].sum() == pytest.approx(n * 2.0)  # 2 s at 1 GB each, not the 1 s the client waited


def cache_runs(keys_n, s, rate, ttl_s, response_bytes, seeds, duration_s=600.0):
    """Hit ratios of seeded runs of a cached GET route (first minute dropped: the cache starts cold)."""
    out = []
    for seed in seeds:
        sc = scenario({"shop": {"type": "rest", "cache": {"size_gb": 0.5, "ttl_s": ttl_s},
                                "routes": {"GET /p": {"integration": "function:app", "response_bytes": response_bytes,
                                                      "cache": {"keys": {"dist": "zipf", "n": keys_n, "s": s}}}}}},
                      [source("shop/GET /p", rate, kind="poisson")], duration_s=duration_s, seed=seed)
        m = simulate(sc).metrics
        get = lambda name: m.filter(pl.col("metric") == name).sort("time_s")["value"].to_numpy()[1:]  # noqa: E731
        hits, misses = get("CacheHitCount"), get("CacheMissCount")
        out.append(hits.sum() / (hits.sum() + misses.sum()))
    return np.array(out)


def ci99(x):
    return stats.t.ppf(0.995, len(x) - 1) * np.std(x, ddof=1) / math.sqrt(len(x))


def test_cache_hit_ratio_matches_the_ttl_formula():
    """A cache that holds every key (0.5 GB of 1 KB responses, 1,000 keys): a TTL cache, whose hit
    ratio is exactly Σ p_i λ_i T / (1 + λ_i T) (each miss opens a TTL in which λ_i T hits are
    expected). Zipf(0.8), 50 requests a second, TTL 30 s: 8 runs' 99 % CI holds it."""
    x = cache_runs(1000, 0.8, 50.0, 30.0, 1024, range(8))
    want = hit_ratio(50.0 * zipf_popularity(1000, 0.8), 30.0, 10**9)
    assert abs(x.mean() - want) <= ci99(x), (x.mean(), ci99(x), want)


def test_cache_hit_ratio_matches_ches_approximation():
    """Responses of 1 MB: 0.5 GB holds 512 of 5,000 Zipf(0.8) keys; at 200 requests a second an
    entry is evicted seconds after its key's last request, far sooner than the TTL of 3,600 s, so
    the cache is an LRU one: Che's approximation (sim.analysis.cache_theory, exact for the TTL
    part). 8 runs' 99 % CI holds it."""
    x = cache_runs(5000, 0.8, 200.0, 3600.0, 1 << 20, range(8), duration_s=300.0)
    want = hit_ratio(200.0 * zipf_popularity(5000, 0.8), 3600.0, 512)
    assert abs(x.mean() - want) <= ci99(x), (x.mean(), ci99(x), want)


def test_a_month_of_a_rest_api_to_the_cent():
    """100 requests a second for an hour, projected to the 730-hour month: 262,800,000 REST
    requests at $3.50 a million = $919.80; a 0.5 GB cache for the month, $0.02 an hour = $14.60.
    An HTTP API with the same traffic and responses of 600 KB (two 512 KB steps each): 525.6 M
    metered requests = 300 M × $1.00 + 225.6 M × $0.90 = $503.04."""
    rest = scenario({"shop": {"type": "rest", "cache": {"size_gb": 0.5},
                              "routes": {"GET /a": {"integration": "function:app"}}}},
                    [source("shop/GET /a", 100)], duration_s=3600.0, period_s=600.0)
    http = scenario({"shop": {"routes": {"GET /a": {"integration": "function:app", "response_bytes": 600 * 1024}}}},
                    [source("shop/GET /a", 100)], duration_s=3600.0, period_s=600.0)
    for sc, want in ((rest, {"ApiGatewayRequest": 919.80, "ApiGatewayCacheUsage:0.5GB": 14.60}),
                     (http, {"ApiGatewayHttpRequest": 503.04})):
        costs = simulate(sc).costs.filter((pl.col("period") == "monthly") & (pl.col("service") == "AmazonApiGateway"))
        got = {}
        for x in costs.to_dicts():
            got[x["usage_type"]] = got.get(x["usage_type"], 0.0) + x["unblended_cost_usd"]
        assert {k: cents(repr(v)) for k, v in got.items() if v} == want


def test_conservation_and_windows():
    """Three routes (a cached function, a queue, a slow function with a short timeout) under a
    stage limit: per route requests = 2xx + 4xx + 5xx + in flight, and every number the same at
    windows of 0.3 s, 7 s and auto."""
    fns = {"app": {"memory_mb": 128, "timeout_s": 60, "duration_ms": {"dist": "lognormal", "median": 30, "p99": 900}},
           "slow": {"memory_mb": 128, "timeout_s": 60, "duration_ms": {"dist": "uniform", "low": 100, "high": 3000}}}

    def run(window):
        sc = scenario({"shop": {"type": "rest", "throttle": {"rate_per_s": 150, "burst": 60},
                                "cache": {"size_gb": 0.5, "ttl_s": 20},
                                "usage_plans": {"web": {"throttle": {"rate_per_s": 20, "burst": 10}, "api_keys": 7,
                                                        "quota": {"limit": 1500, "period": "day"}}},
                                "routes": {"GET /a": {"integration": "function:app",
                                                      "cache": {"keys": {"dist": "zipf", "n": 300, "s": 1.0}}},
                                           "POST /o": {"integration": "queue:orders"},
                                           "GET /s": {"integration": "function:slow", "timeout_ms": 1500}}}},
                      [source("shop/GET /a", 120, kind="poisson", usage_plan="web"),
                       source("shop/POST /o", 40, kind="poisson", name="buy"),
                       source("shop/GET /s", 10, kind="poisson", name="slow")],
                      functions=fns, duration_s=120.0, queues={"orders": {}}, sim={"window_s": window})
        return simulate(sc).summary

    base = run("auto")
    for row in base["apis"].values():
        assert row["requests"] == row["status_2xx"] + row["status_4xx"] + row["status_5xx"] + row["in_flight_end"]
    assert base["apis"]["shop GET /s"]["status_504"] > 0 and base["apis"]["shop GET /a"]["cache_hits"] > 0
    assert base["apis"]["shop GET /a"]["quota_exceeded"] > 0  # 7 keys, a quota of 1,500 each
    for w in (0.3, 7.0):
        s = run(w)
        assert s["apis"] == base["apis"] and s["entry_points"] == base["entry_points"]


def test_an_http_integration_answers_after_its_backends_latency():
    """An HTTP backend answering in exactly 300 ms, 10 % of them 5xx, behind a 250 ms integration
    timeout on one route and 29 s on another: the first route's clients all see a 504 at 250 ms +
    the gateway's 10 ms; the second's see 200 or 502 at 310 ms, in a tenth 502s (a 99 % binomial
    interval), IntegrationLatency 300 ms."""
    backend = {"latency_ms": {"dist": "fixed", "value": 300}, "error_rate": 0.1}
    sc = scenario({"shop": {"routes": {"GET /slow": {"integration": "http", "http": backend, "timeout_ms": 250},
                                       "GET /ok": {"integration": "http", "http": backend}}}},
                  [source("shop/GET /slow", 20, name="slow"), source("shop/GET /ok", 200, kind="poisson", name="ok")],
                  duration_s=60.0)
    r = simulate(sc)
    slow, ok = route_of(r, "shop GET /slow"), route_of(r, "shop GET /ok")
    assert slow["status_504"] == slow["requests"] - slow["in_flight_end"] and slow["status_2xx"] == 0
    assert slow["latency_ms_mean"] == pytest.approx(260.0)
    n = ok["requests"] - ok["in_flight_end"]
    assert ok["status_2xx"] + ok["status_502"] == n and ok["status_504"] == 0
    lo, hi = stats.binom.ppf([0.005, 0.995], n, 0.1)
    assert lo <= ok["status_502"] <= hi
    assert ok["latency_ms_mean"] == pytest.approx(310.0) and ok["integration_latency_ms_mean"] == pytest.approx(300.0)
    assert r.summary["entry_points"]["ok"]["latency_ms"]["max"] == pytest.approx(310.0)
