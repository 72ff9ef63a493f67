"""API Gateway: the front door of the account (ACCOUNT_SPEC.md §12).

One component runs every API of the scenario (they share the account's throttle). Traffic
reaches a route (`api:NAME/ROUTE`); each window the gateway takes its requests in time order
and decides, in one pass of `kernels.apigw.gateway_many`, what happens to each: refused by a
usage plan's quota or by a token bucket of its chain (the API key's, the route's, the stage's,
the account's) — a 429 —, answered from the stage's cache (REST), or forwarded to its
integration. What it forwards enters the account: a synchronous invocation of the route's
function (the route's integration timeout is the client's timeout there: a later answer is a
504 while the function runs on and is billed; a Lambda throttle is a 429, a function error a
502), or a SendMessage / Publish / PutEvents (a service integration, answered when accepted).
A route integrating an ECS service (`service:NAME`, a private integration through a VPC link to
its load balancer) forwards to the services' component (sim.compute.fargate), whose answers
enter the account as this route's, under the same integration timeout.
The gateway's own answers (429s and cache hits) enter the account too, as answers only, so a
traffic source's entry point counts every request its clients made.

Why a stage before the account and not handlers in its loop (docs/DESIGN.md §2 puts API
Gateway in the coupled group): what the gateway decides depends only on the requests reaching
it, in time order, and only traffic reaches it (a function calling an API is refused at build
time: `api:` call targets are not simulated yet); so deciding them before the account, window
by window with its state carried over, gives exactly the outcomes of the one loop, and keeps
the account's loop free of work per gateway request. The answers come back through the
account's entry points (`enp`, per period of the request), from which the gateway's metrics
follow.

Usage plans (REST): a traffic source using one (`usage_plan`) spreads its requests uniformly
over its `api_keys` keys, each with the plan's own bucket and quota; two sources on one plan
have keys of their own (our simplification: the sources are different clients).

Latency: the gateway adds `overhead_ms` (a constant per API, our assumption: 10 ms by
default; AWS documents the Latency metric as IntegrationLatency plus the gateway's overhead,
without a figure) to what every client sees, counted on the way back so that the order of
requests is kept: Latency = IntegrationLatency + overhead; a 429 or a cache hit takes the
overhead alone.

Billing (AmazonApiGateway): REST requests (ApiGatewayRequest) and HTTP requests metered in
512 KB steps of the request and response (ApiGatewayHttpRequest), the requests the gateway
accepted (a 429 of its own is not billed: our reading); a stage cache's hours by its size
(ApiGatewayCacheUsage:SIZE); responses out to the internet (AWSDataTransfer
DataTransfer-Out-Bytes, response_bytes per answered request).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Dict, List

import numpy as np

from kernels import account as A
from kernels import apigw as G
from kernels import lambda_pool as K
from scenarios.api import QUOTA_PERIODS
from scenarios.schema import Scenario
from sim.engine import Component, WiringError
from sim.engine.batch import Batch, Inbox
from sim.engine.distributions import sampler
from sim.engine.rng import ChunkStream, Draws, Uniforms, generator
from sim.storage.tables import zipf_cdf

HTTP_METER_BYTES = 512 * 1024  # HTTP API requests are metered in 512 KB steps (FACTS "API Gateway" prices)
# Per period and route, the gateway's own counters `gw[p, r]`.
GW_REQUESTS, GW_THROTTLED, GW_QUOTA, GW_CACHE_HITS, GW_CACHE_MISSES, GW_FORWARDED = range(6)
N_GW = 6


class _Port:
    """A traffic source into a route: its route, its usage plan's keys, its streams, and the
    account ports its requests leave through."""

    def __init__(self, label: str, route: int, source: int):
        self.label, self.route, self.source = label, route, source
        self.chain0 = 0  # its first chain (one per API key of its plan, else one)
        self.keys = 1  # API keys its requests spread over
        self.qkey0 = -1  # its plan's first quota key, or -1
        self.u_key = self.u_cache = None  # Uniforms, each its own stream: which API key, which cache key
        self.cache_draw = None
        self.forward = self.ok = self.throttled = self.failed = None  # account ports
        self.forward_inbox = None  # where forwarded requests go: the account's inbox, or an ECS service's
        self.http = None  # an HTTP integration's (latency draws, error uniforms)


class ApiGateway(Component):
    def __init__(self, sc: Scenario, seed: int, t_end: float, period_s: float):
        super().__init__("apigateway")
        self.sc, self.seed, self.t_end, self.period_s = sc, seed, t_end, period_s
        self.inbox = Inbox()
        self.routes: List[tuple] = [(a, r, route) for a, api in sc.apis.items() for r, route in api.routes.items()]
        self.route_index = {f"{a}/{r}": i for i, (a, r, _) in enumerate(self.routes)}
        self.ports: List[_Port] = []
        self.account = None
        self.n_periods = max(1, int(math.ceil(t_end / period_s - 1e-9)))
        self.gw = np.zeros((self.n_periods, max(len(self.routes), 1), N_GW), np.int64)
        self.state = None
        self.received = 0

    # declare / connect ------------------------------------------------------------------
    def add_source(self, label: str, route: str, source: int) -> int:
        if source < 0:
            raise WiringError(f"{self.name}: {label} reaches {route} but is no traffic source")
        self.ports.append(_Port(label, self.route_index[route], source))
        return len(self.ports) - 1

    def wire(self, ctx_book, account) -> None:
        """Each port's ways into the account: its integration (a sync invocation, a SendMessage,
        a Publish or PutEvents) and the gateway's own answers; the entry point's client timeout
        and latency offset."""
        self.account = account
        for port in self.ports:
            api_name, route_name, route = self.routes[port.route]
            api = self.sc.apis[api_name]
            label = f"{api_name} {route_name}"
            source = self.sc.traffic[port.source].name
            if route.integration == "http":  # answered by the gateway after its backend's latency
                port.ok = account.add_gateway_port(source, A.GW_ANSWER_OK, port.source)
            elif route.integration.startswith("service:"):  # a VPC link to the service's load balancer:
                port.ok = account.add_gateway_port(source, A.GW_ANSWER_OK, port.source)  # the service answers
                target = ctx_book.resolve(self, route.integration, label, index=port.source)
                port.forward, port.forward_inbox = target.index, target.component.inbox
                self.connect(target.component)
            else:  # the integration's port first: the entry point is named by it, after the traffic source
                # a state machine: StartSyncExecution (EXPRESS) or StartExecution (STANDARD)
                invocation = "async" if self._standard_machine(route.integration) else "sync"
                target = ctx_book.resolve(self, route.integration, source, invocation=invocation, index=port.source)
                if getattr(target, "component", None) is not account:
                    raise WiringError(f"{self.name}: {label} integrates {route.integration}, outside the account")
                port.forward, port.forward_inbox = target.index, account.inbox
                port.ok = account.add_gateway_port(label, A.GW_ANSWER_OK, port.source)
            port.throttled = account.add_gateway_port(label, A.GW_ANSWER_THROTTLED, port.source)
            port.failed = account.add_gateway_port(label, A.GW_ANSWER_FAILED, port.source)
            sync = (route.integration.startswith("function:") or route.integration == "http"
                    or route.integration.startswith("service:")
                    or route.integration.startswith("state_machine:")
                    and not self._standard_machine(route.integration))
            timeout = route.timeout_ms / 1000.0 if sync else math.inf
            account.set_entry_client(port.source, timeout, api.overhead_ms / 1000.0)
        self.connect(account)

    def _standard_machine(self, integration: str) -> bool:
        kind, _, name = integration.partition(":")
        return kind == "state_machine" and self.sc.state_machines[name].type != "EXPRESS"

    def check(self) -> None:
        if self.ports and self.account is None:
            raise WiringError(f"{self.name}: not connected to its account")

    # state ------------------------------------------------------------------------------
    def start(self, env) -> None:
        acct = self.sc.account
        rate, burst = [acct.api_gateway_rate_per_s], [acct.api_gateway_burst]  # bucket 0: the account's
        stage, route_b = {}, {}
        for a, api in self.sc.apis.items():
            if api.throttle is not None:
                stage[a] = len(rate)
                rate.append(api.throttle.rate_per_s), burst.append(api.throttle.burst)
        for i, (a, r, route) in enumerate(self.routes):
            if route.throttle is not None:
                route_b[i] = len(rate)
                rate.append(route.throttle.rate_per_s), burst.append(route.throttle.burst)
        chains: List[List[int]] = []
        qlimit, qperiod = [], []
        self.cache_of: Dict[str, int] = {}  # API -> its cache
        caches, ckey0, ckeys = [], {}, 0
        for a, api in self.sc.apis.items():
            cached = [i for i, (aa, _, route) in enumerate(self.routes) if aa == a and route.cache is not None]
            if api.cache is None:  # (a stage cache with no cached route still bills its hours)
                continue
            # capacity in entries: the cache's size over its routes' largest response (our reading)
            biggest = max([self.routes[i][2].response_bytes for i in cached] + [1])
            self.cache_of[a] = len(caches)
            caches.append((api.cache.ttl_s, max(1, int(api.cache.size_gb * 2**30 // biggest))))
            for i in cached:
                ckey0[i] = ckeys
                ckeys += self.routes[i][2].cache.keys.n
        self.ckey0 = ckey0
        for p, port in enumerate(self.ports):
            a, r, route = self.routes[port.route]
            api = self.sc.apis[a]
            tr = self.sc.traffic[port.source]
            plan = api.usage_plans.get(tr.usage_plan) if tr.usage_plan else None
            tail = ([route_b[port.route]] if port.route in route_b else []) + ([stage[a]] if a in stage else []) + [0]
            port.chain0 = len(chains)
            port.keys = plan.api_keys if plan is not None else 1
            for k in range(port.keys):
                head = []
                if plan is not None and plan.throttle is not None:
                    head = [len(rate)]
                    rate.append(plan.throttle.rate_per_s), burst.append(plan.throttle.burst)
                chains.append(head + tail)
            if plan is not None and plan.quota is not None:
                port.qkey0 = len(qlimit)
                qlimit += [plan.quota.limit] * port.keys
                qperiod += [QUOTA_PERIODS[plan.quota.period]] * port.keys
            port.u_key = Uniforms(generator(self.seed, f"{self.name}.{port.label}.api_key", port.source))
            port.u_cache = Uniforms(generator(self.seed, f"{self.name}.{port.label}.cache_key", port.source))
            if route.integration == "http":
                port.http = (Draws(ChunkStream(generator(self.seed, f"{self.name}.{port.label}.http", port.source),
                                               sampler(route.http.latency_ms))),
                             Uniforms(generator(self.seed, f"{self.name}.{port.label}.http_errors", port.source)))
            if route.cache is not None:
                keys = route.cache.keys
                if keys.dist == "zipf":
                    cdf, last = zipf_cdf(keys.n, keys.s), keys.n - 1
                    port.cache_draw = lambda u, cdf=cdf, last=last: np.minimum(
                        np.searchsorted(cdf, u, side="right"), last)
                else:
                    port.cache_draw = lambda u, n=keys.n: np.minimum((u * n).astype(np.int64), n - 1)
        off = np.zeros(len(chains) + 1, np.int64)
        off[1:] = np.cumsum([len(c) for c in chains])
        self.chain_off = off
        self.chain_b = np.array([b for c in chains for b in c] or [0], np.int64)
        self.rate = np.asarray(rate, np.float64)
        self.burst = np.asarray(burst, np.float64)
        self.qlimit = np.asarray(qlimit or [0], np.int64)
        self.qperiod = np.asarray(qperiod or [1.0], np.float64)
        self.ttl = np.asarray([c[0] for c in caches] or [0.0], np.float64)
        self.capacity = np.asarray([c[1] for c in caches] or [1], np.int64)
        self.tokens, self.last, self.qused, self.qwin, *cache = G.gateway_state(
            self.rate, self.burst, len(self.qlimit), max(ckeys, 1), max(len(caches), 1))
        self.cache = tuple(cache)

    # run --------------------------------------------------------------------------------
    def step(self, t0: float, t1: float) -> None:
        taken = self.inbox.take(t1)
        if not taken:
            return
        taken.sort(key=lambda e: e[2])
        batches = [b for _, b, _ in taken]
        pidx = np.concatenate([np.full(len(b), p, np.int64) for p, b, _ in taken])
        t = np.concatenate([b.t for b in batches]) if len(batches) > 1 else batches[0].t
        order = np.argsort(t, kind="stable")  # the account's throttle is shared: one time order
        t, pidx = np.ascontiguousarray(t[order]), pidx[order]
        batch = Batch.concat(batches).take(order) if len(batches) > 1 else batches[0]
        n = len(t)
        self.received += n
        chain = np.empty(n, np.int64)
        qkey = np.full(n, -1, np.int64)
        cache_id = np.full(n, -1, np.int64)
        ckey = np.zeros(n, np.int64)
        for p, port in enumerate(self.ports):
            sel = np.flatnonzero(pidx == p)
            if not len(sel):
                continue
            a, _, route = self.routes[port.route]
            k = (port.u_key.take(len(sel)) * port.keys).astype(np.int64) if port.keys > 1 else np.zeros(len(sel), np.int64)
            chain[sel] = port.chain0 + k
            if port.qkey0 >= 0:
                qkey[sel] = port.qkey0 + k
            if port.cache_draw is not None:
                cache_id[sel] = self.cache_of[a]
                ckey[sel] = self.ckey0[port.route] + port.cache_draw(port.u_cache.take(len(sel)))
        status = np.empty(n, np.int64)
        G.gateway_many(t, chain, qkey, cache_id, ckey, self.chain_off, self.chain_b, self.rate, self.burst,
                       self.tokens, self.last, self.qlimit, self.qperiod, self.qused, self.qwin, self.ttl,
                       self.capacity, *self.cache, status)
        per = np.minimum((t / self.period_s).astype(np.int64), self.n_periods - 1)
        route = np.array([pt.route for pt in self.ports], np.int64)[pidx]
        cacheable = cache_id >= 0
        for col, mask in ((GW_REQUESTS, None), (GW_THROTTLED, status == G.THROTTLED), (GW_QUOTA, status == G.QUOTA),
                          (GW_CACHE_HITS, status == G.CACHE_HIT), (GW_CACHE_MISSES, cacheable & (status == G.FORWARD)),
                          (GW_FORWARDED, status == G.FORWARD)):
            m = slice(None) if mask is None else mask
            np.add.at(self.gw[:, :, col], (per[m], route[m]), 1)
        inbox = self.account.inbox
        for p, port in enumerate(self.ports):
            mine = pidx == p
            if port.http is not None:  # forwarded to an HTTP backend: its answer after its latency
                sel = np.flatnonzero(mine & (status == G.FORWARD))
                if len(sel):
                    self._http_answers(port, batch.take(sel))
            for where, to, box in ((G.FORWARD, port.forward, port.forward_inbox), (G.CACHE_HIT, port.ok, inbox)):
                sel = np.flatnonzero(mine & (status == where))
                if len(sel) and to is not None:
                    box.put(to, batch.take(sel))
            sel = np.flatnonzero(mine & ((status == G.THROTTLED) | (status == G.QUOTA)))
            if len(sel):
                inbox.put(port.throttled, batch.take(sel))

    def _http_answers(self, port: _Port, forwarded: Batch) -> None:
        """An HTTP backend's answers to `forwarded`: each request's latency (its own draw) and
        whether it is a 5xx (502), entering the account as the gateway's answers at their time,
        carrying their latency (the account starts their traces that much earlier)."""
        n = len(forwarded)
        lat_ms = port.http[0].take(n)
        route = self.routes[port.route][2]
        err = port.http[1].take(n) < route.http.error_rate if route.http.error_rate > 0 else np.zeros(n, bool)
        for ok_, to in ((False, port.ok), (True, port.failed)):
            sel = np.flatnonzero(err == ok_)
            if not len(sel):
                continue
            t = forwarded.t[sel] + lat_ms[sel] / 1000.0
            order = np.argsort(t, kind="stable")
            b = forwarded.take(sel[order])
            b.t = np.ascontiguousarray(t[order])
            b.duration_ms = np.ascontiguousarray(lat_ms[sel][order])
            self.account.inbox.put(to, b)
            late = int(np.count_nonzero(b.t >= self.t_end))  # answered after the end: never reach the account
            if late:
                self.account.add_entry_pending(port.source, late)

    def requests_simulated(self) -> int:
        return self.received

    # outputs ----------------------------------------------------------------------------
    def _entry_of(self) -> Dict[int, int]:
        """Traffic source -> its entry point's row in the account's arrays."""
        return {x: e for e, (x, _) in enumerate(self.account.entry_ports)}

    def _answers(self):
        """Per period and route, the answers its clients got (enp columns), summed over its sources."""
        enp = self.account.state.enp
        out = np.zeros((self.n_periods, max(len(self.routes), 1), K.N_ENP), np.int64)
        rows = self._entry_of()
        for port in self.ports:
            out[:, port.route] += enp[: self.n_periods, rows[port.source]]
        return out

    def summary(self) -> Dict[str, dict]:
        """summary.json's `apis`: per route (`API ROUTE`), the requests and what became of them
        (requests = status_2xx + status_4xx + status_5xx + in_flight_end)."""
        ans = self._answers().sum(axis=0)
        gw = self.gw.sum(axis=0)
        out: Dict[str, dict] = {}
        for i, (a, r, route) in enumerate(self.routes):
            api = self.sc.apis[a]
            answered = int(ans[i, :K.ENP_LAT_US].sum())
            lat_ms = float(ans[i, K.ENP_LAT_US] / answered / 1000.0) if answered else None
            own = int(gw[i, GW_THROTTLED] + gw[i, GW_QUOTA] + gw[i, GW_CACHE_HITS])
            integ = answered - own
            integ_ms = (float((ans[i, K.ENP_LAT_US] - round(api.overhead_ms * 1000) * answered) / integ / 1000.0)
                        if integ > 0 else None)
            row = {
                "api": a,
                "type": api.type,
                "integration": route.integration,
                "requests": int(gw[i, GW_REQUESTS]),
                "status_2xx": int(ans[i, K.A_OK]),
                "status_4xx": int(ans[i, K.A_THROTTLED]),
                "status_5xx": int(ans[i, K.A_FAILED] + ans[i, K.A_TIMED_OUT]),
                "throttled_by_gateway": int(gw[i, GW_THROTTLED]),
                "quota_exceeded": int(gw[i, GW_QUOTA]),
                "throttled_by_integration": int(ans[i, K.A_THROTTLED] - gw[i, GW_THROTTLED] - gw[i, GW_QUOTA]),
                "status_502": int(ans[i, K.A_FAILED]),
                "status_504": int(ans[i, K.A_TIMED_OUT]),
                "forwarded": int(gw[i, GW_FORWARDED]),
                "in_flight_end": int(gw[i, GW_REQUESTS]) - answered,  # not answered by the end
                "latency_ms_mean": lat_ms,
                "integration_latency_ms_mean": integ_ms,
            }
            if route.cache is not None:
                hits, misses = int(gw[i, GW_CACHE_HITS]), int(gw[i, GW_CACHE_MISSES])
                row.update(cache_hits=hits, cache_misses=misses,
                           cache_hit_ratio=hits / (hits + misses) if hits + misses else None)
            out[f"{a} {r}"] = row
        return out

    def summary_sections(self) -> dict:
        return {"apis": self.summary()} if self.routes else {}

    def metrics(self):
        """AWS/ApiGateway per period, by ApiName and Resource: Count, 4XXError, 5XXError, Latency
        and IntegrationLatency (means, ms), CacheHitCount, CacheMissCount."""
        import polars as pl

        ans = self._answers()
        frames = []
        time_s = np.arange(self.n_periods) * self.period_s
        for i, (a, r, route) in enumerate(self.routes):
            api = self.sc.apis[a]
            g, x = self.gw[:, i].astype(np.float64), ans[:, i].astype(np.float64)
            answered = x[:, :K.ENP_LAT_US].sum(axis=1)
            own = g[:, GW_THROTTLED] + g[:, GW_QUOTA] + g[:, GW_CACHE_HITS]
            with np.errstate(invalid="ignore", divide="ignore"):
                lat = np.where(answered > 0, x[:, K.ENP_LAT_US] / answered / 1000.0, np.nan)
                integ = np.where(answered > own, (x[:, K.ENP_LAT_US] - api.overhead_ms * 1000 * answered)
                                 / (answered - own) / 1000.0, np.nan)
            series = [("Count", g[:, GW_REQUESTS]), ("4XXError", x[:, K.A_THROTTLED]),
                      ("5XXError", x[:, K.A_FAILED] + x[:, K.A_TIMED_OUT]), ("Latency", lat),
                      ("IntegrationLatency", integ)]
            if route.cache is not None:
                series += [("CacheHitCount", g[:, GW_CACHE_HITS]), ("CacheMissCount", g[:, GW_CACHE_MISSES])]
            for metric, v in series:
                frames.append(pl.DataFrame({"time_s": time_s, "namespace": "AWS/ApiGateway", "metric": metric,
                                            "dimension": f"ApiName={a},Resource={r}", "value": v}))
        return pl.concat(frames) if frames else None

    def usage(self):
        """(whole run, per period) Usage of AmazonApiGateway and of data out (module docstring)."""
        from sim.billing.meters import BYTES_PER_GB, MeterTable, period_ms

        names = [f"api:{a}/{r}" for a, r, _ in self.routes]
        table = MeterTable("AmazonApiGateway", names, self.n_periods, self.period_s)
        billed = self.gw[:, :, GW_REQUESTS] - self.gw[:, :, GW_THROTTLED] - self.gw[:, :, GW_QUOTA]
        rest = [Decimal(int(self.sc.apis[a].type == "rest")) for a, _, _ in self.routes]
        steps = [Decimal(max(1, math.ceil(route.response_bytes / HTTP_METER_BYTES))) * (1 - x)
                 for (_, _, route), x in zip(self.routes, rest)]
        table.declare("ApiGatewayRequest", "Requests", rest)[:] = billed[:, : len(self.routes)]
        table.declare("ApiGatewayHttpRequest", "Requests", steps)[:] = billed[:, : len(self.routes)]
        total, per_period = table.usage()
        caches = MeterTable("AmazonApiGateway", [f"api:{a}" for a in self.cache_of], self.n_periods, self.period_s)
        hours = period_ms(self.n_periods, self.period_s, self.t_end)[:, None]
        ms_per_h = Decimal(3_600_000)
        for j, a in enumerate(self.cache_of):
            size = self.sc.apis[a].cache.size_gb
            scale = [Decimal(1) / ms_per_h if k == j else Decimal(0) for k in range(len(self.cache_of))]
            caches.declare(f"ApiGatewayCacheUsage:{size:g}GB", "Hrs", scale)[:] = hours
        c_total, c_period = caches.usage()
        out = MeterTable("AWSDataTransfer", names, self.n_periods, self.period_s)
        answered = self._answers()[:, :, :K.ENP_LAT_US].sum(axis=2)
        out.declare("DataTransfer-Out-Bytes", "GB",
                    [Decimal(route.response_bytes) / BYTES_PER_GB for _, _, route in self.routes])[:] = \
            answered[:, : len(self.routes)]
        o_total, o_period = out.usage()
        return total + c_total + o_total, per_period + c_period + o_period
