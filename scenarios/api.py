"""Typed schema of API Gateway REST and HTTP APIs (`apis`) and its checks (pure data).

Semantics: kernels/ACCOUNT_SPEC.md §12 and `sim/integration/api.py`. Traffic reaches a route
as `target: api:NAME/ROUTE` (ROUTE as written under `routes`, e.g. `GET /items`); a route
integrates a function (a synchronous invocation), a queue, a topic or a bus (a service
integration: SendMessage, Publish, PutEvents).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional

from scenarios.addresses import API_INTEGRATION, check_address
from scenarios.common import Dist
from scenarios.errors import Problems
from scenarios.state import Keys, check_key_popularity
from scenarios.yamlpath import index, key, num

API_TYPES = ("http", "rest")
# What a route may integrate: scenarios.addresses.API_INTEGRATION — a function (a synchronous
# invocation), a queue, topic or bus (AWS service integrations) or a state machine
# (StartSyncExecution for an EXPRESS one, answered at its end; StartExecution for a STANDARD one,
# answered when started) — or `http`, a backend described by its response time and errors
# (`Route.http`).
# Integration timeout: 50 ms to 29 s; since June 2024 a Regional or private REST API may raise it
# (FACTS "API Gateway": whats-new 2024/06 integration-timeout-limit-29-seconds; up to 300 s here).
TIMEOUT_MIN_MS = 50.0
TIMEOUT_MAX_MS = 29_000.0
TIMEOUT_MAX_REST_RAISED_MS = 300_000.0
# The account's throttle: 10,000 requests a second with a bucket of 5,000 per Region across REST,
# HTTP and WebSocket APIs (FACTS "API Gateway", apigateway limits); some newer Regions 2,500 / 1,250.
ACCOUNT_RATE_PER_S = 10_000.0
ACCOUNT_BURST = 5_000.0
# REST cache sizes (GB) and their price book rows (ApiGatewayCacheUsage:SIZE); TTL default 300 s,
# at most 3,600 s; responses up to 1 MB (FACTS "cache (REST)", api-gateway-caching).
CACHE_SIZES_GB = (0.5, 1.6, 6.1, 13.5, 28.4, 58.2, 118.0, 237.0)
CACHE_TTL_DEFAULT_S = 300.0
CACHE_TTL_MAX_S = 3600.0
QUOTA_PERIODS = {"day": 86_400.0, "week": 604_800.0, "month": 2_592_000.0}  # a month: 30 days (ours)
# What API Gateway adds to each request's latency (its own work, before and after the
# integration): 10 ms — our assumption (AWS documents the Latency metric as IntegrationLatency
# plus API Gateway overhead, without a figure); set `overhead_ms` from a measurement.
OVERHEAD_MS = 10.0


@dataclass
class Throttle:
    rate_per_s: float = 0.0
    burst: float = 0.0


@dataclass
class Quota:
    limit: int = 0  # requests per period per API key
    period: str = "day"  # day | week | month


@dataclass
class UsagePlan:
    """A REST usage plan: per-API-key throttle and quota; traffic using it names it (`usage_plan`)
    and spreads its requests uniformly over `api_keys` keys (clients)."""

    throttle: Optional[Throttle] = None
    quota: Optional[Quota] = None
    api_keys: int = 1


@dataclass
class RouteCache:
    """Caching of a REST route's responses in its stage's cache: which cache keys its requests
    carry (a popularity over `keys.n` keys, e.g. Zipf)."""

    keys: Keys = field(default_factory=Keys)


@dataclass
class HttpBackend:
    """An HTTP integration's backend (outside AWS, or in a VPC): its response time and the share of
    requests it answers 5xx (API Gateway answers those 502)."""

    latency_ms: Optional[Dist] = None  # required
    error_rate: float = 0.0


@dataclass
class Route:
    integration: str = ""  # function:NAME | queue:NAME | topic:NAME | bus:NAME | state_machine:NAME | http
    http: Optional[HttpBackend] = None  # integration: http
    timeout_ms: float = TIMEOUT_MAX_MS  # the integration timeout: a later answer is a 504
    throttle: Optional[Throttle] = None  # REST method / HTTP route throttle
    cache: Optional[RouteCache] = None  # REST: responses cached (the stage needs `cache`)
    response_bytes: int = 1024  # what each response carries out (data transfer, HTTP metering)


@dataclass
class StageCache:
    size_gb: float = 0.5
    ttl_s: float = CACHE_TTL_DEFAULT_S


@dataclass
class Api:
    """One API (its one stage): its type, its routes, its stage's throttle and cache, usage plans."""

    type: str = "http"  # http | rest
    routes: Dict[str, Route] = field(default_factory=dict)
    throttle: Optional[Throttle] = None  # the stage's (REST) or the default route's (HTTP)
    cache: Optional[StageCache] = None  # REST
    usage_plans: Dict[str, UsagePlan] = field(default_factory=dict)  # REST
    overhead_ms: float = OVERHEAD_MS


def _check_throttle(th: Optional[Throttle], path: str, problems: Problems) -> None:
    if th is None:
        return
    if not th.rate_per_s > 0:
        problems.add(key(path, "rate_per_s"), f"{num(th.rate_per_s)} must be greater than 0")
    if not th.burst >= 1:
        problems.add(key(path, "burst"), f"{num(th.burst)} must be at least 1 (a request takes a whole token)")


def check_apis(s, problems: Problems) -> None:
    """Every cross-field problem of the APIs (the integrations' addresses are checked with the
    other addresses, scenarios.crosscheck)."""
    for name, api in s.apis.items():
        path = key("apis", name)
        if "/" in name:
            problems.add(path, "an API's name cannot hold '/': targets are api:NAME/ROUTE")
        if api.type not in API_TYPES:
            problems.add(key(path, "type"), f"{api.type!r} is not an API type; allowed: {', '.join(API_TYPES)}")
            continue
        rest = api.type == "rest"
        if not api.routes:
            problems.add(key(path, "routes"), "an API needs at least one route, e.g. 'GET /items': {integration:"
                                              " function:NAME}")
        _check_throttle(api.throttle, key(path, "throttle"), problems)
        if not api.overhead_ms >= 0:
            problems.add(key(path, "overhead_ms"), f"{num(api.overhead_ms)} must be 0 or more")
        if api.cache is not None:
            if not rest:
                problems.add(key(path, "cache"), "caching is for REST APIs (type: rest); HTTP APIs have none")
            if api.cache.size_gb not in CACHE_SIZES_GB:
                problems.add(key(key(path, "cache"), "size_gb"), f"{num(api.cache.size_gb)} GB is not a cache size;"
                             f" allowed: {', '.join(num(x) for x in CACHE_SIZES_GB)}")
            if not 0 <= api.cache.ttl_s <= CACHE_TTL_MAX_S:
                problems.add(key(key(path, "cache"), "ttl_s"), f"{num(api.cache.ttl_s)} must be 0-3600 s")
        if api.usage_plans and not rest:
            problems.add(key(path, "usage_plans"), "usage plans are for REST APIs (type: rest)")
        for pname, plan in api.usage_plans.items():
            ppath = key(key(path, "usage_plans"), pname)
            _check_throttle(plan.throttle, key(ppath, "throttle"), problems)
            if plan.quota is not None:
                if plan.quota.period not in QUOTA_PERIODS:
                    problems.add(key(key(ppath, "quota"), "period"), f"{plan.quota.period!r}; allowed:"
                                                                     f" {', '.join(QUOTA_PERIODS)}")
                if not plan.quota.limit >= 1:
                    problems.add(key(key(ppath, "quota"), "limit"), f"{plan.quota.limit} must be 1 or more")
            if not 1 <= plan.api_keys <= 100_000:
                problems.add(key(ppath, "api_keys"), f"{plan.api_keys} must be 1-100,000")
        for rname, route in api.routes.items():
            rpath = key(key(path, "routes"), rname)
            if route.integration == "http":
                if route.http is None or route.http.latency_ms is None:
                    problems.add(key(key(rpath, "http"), "latency_ms"), "an HTTP integration needs its backend's"
                                 " response time, e.g. http: {latency_ms: {dist: lognormal, median: 80, p99: 400}}")
                elif not 0 <= route.http.error_rate <= 1:
                    problems.add(key(key(rpath, "http"), "error_rate"), f"{num(route.http.error_rate)} must be 0-1")
            else:
                check_address(s, route.integration, API_INTEGRATION, key(rpath, "integration"), problems)
                if route.http is not None:
                    problems.add(key(rpath, "http"), "is for integration: http")
            top = TIMEOUT_MAX_REST_RAISED_MS if rest else TIMEOUT_MAX_MS
            if not TIMEOUT_MIN_MS <= route.timeout_ms <= top:
                problems.add(key(rpath, "timeout_ms"), f"{num(route.timeout_ms)} must be {num(TIMEOUT_MIN_MS)}-"
                             f"{num(top)} ms" + ("" if rest else " (only REST APIs may raise it above 29 s)"))
            _check_throttle(route.throttle, key(rpath, "throttle"), problems)
            if route.cache is not None:
                if not rest or api.cache is None:
                    problems.add(key(rpath, "cache"), "a cached route needs a REST API with a stage cache"
                                                      f" (apis.{name}.cache: {{size_gb: 0.5}})")
                check_key_popularity(route.cache.keys, key(key(rpath, "cache"), "keys"), problems)
            if not 0 <= route.response_bytes <= 10 * 1024 * 1024:
                problems.add(key(rpath, "response_bytes"), f"{route.response_bytes} must be 0-10 MB (API Gateway's"
                                                           " payload limit)")
    for i, tr in enumerate(s.traffic):
        if tr.usage_plan is None:
            continue
        path = key(index("traffic", i), "usage_plan")
        target = str(tr.target)
        api = s.apis.get(target.partition(":")[2].partition("/")[0]) if target.startswith("api:") else None
        if api is None:
            problems.add(path, "a usage plan is for traffic into a REST API (target: api:NAME/ROUTE)")
        elif tr.usage_plan not in api.usage_plans:
            problems.add(path, f"{tr.usage_plan!r} is not a usage plan of that API; defined:"
                               f" {', '.join(api.usage_plans) or 'none'}")
