"""The shipped scenarios of issue 13 do what their comments say (configs/scenario/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from sim.api import simulate

SCENARIOS = Path(__file__).resolve().parents[1] / "configs" / "scenario"


def series(r, ns, metric, dim):
    m = r.metrics.filter((pl.col("namespace") == ns) & (pl.col("metric") == metric) & (pl.col("dimension") == dim))
    return m.sort("time_s")["value"].to_numpy()


@pytest.fixture(scope="module")
def shop():
    return simulate(SCENARIOS / "api_cached_shop.yaml", progress=False)


@pytest.fixture(scope="module")
def ramp():
    return simulate(SCENARIOS / "dynamodb_morning_ramp.yaml", progress=False)


def test_shop_cache_saves_most_reads_and_the_stage_limit_bites_at_the_peak(shop):
    s = shop.summary
    reads, writes = s["apis"]["storefront GET /products"], s["apis"]["storefront POST /orders"]
    assert reads["cache_hit_ratio"] > 0.8  # most product reads never reach the function
    assert s["functions"]["catalog"]["invocations"] == reads["cache_misses"] - reads["throttled_by_integration"]
    dim = "ApiName=storefront,Resource=GET /products"
    e4 = series(shop, "AWS/ApiGateway", "4XXError", dim)
    assert e4[:30].sum() == 0 and e4[30:45].sum() > 0  # 429s at the evening peak only (1,400 + 150 > 1,500)
    for row in (reads, writes):  # the gateway's 10 ms on top of its integration's
        assert row["requests"] == row["status_2xx"] + row["status_4xx"] + row["status_5xx"] + row["in_flight_end"]
    assert writes["latency_ms_mean"] > writes["integration_latency_ms_mean"] > 0
    assert s["tables"]["shop"]["throttled"] == 0  # on demand follows this traffic
    assert s["cost_usd"]["by_service"]["AmazonApiGateway"]["total"] > 0


def test_ramp_auto_scaling_saws_and_the_sdk_retries(ramp):
    s = ramp.summary
    t = s["tables"]["orders"]
    assert t["scalings"] >= 5 and t["write_capacity_end"] > 3000 and t["splits"] >= 2
    assert t["throttled"] > 0 and t["write_key_range_throttle_events"] > 0
    call = s["calls"]["orders.calls[0] → table:orders"]
    assert call["retries"] > 0 and call["failed"] > 0  # retried throttles, and orders that still failed
    prov = series(ramp, "AWS/DynamoDB", "ProvisionedWriteCapacityUnits", "TableName=orders")
    assert (np.diff(prov) >= 0).sum() == len(prov) - 1  # a ramp: raises only
    thr = series(ramp, "AWS/DynamoDB", "WriteThrottleEvents", "TableName=orders")
    assert thr[:25].sum() == 0 and thr.sum() > 0  # the first half hour is within the provisioned 400


def test_photo_pipeline_chains_put_notification_function_table_and_slows_down_at_the_spike():
    r = simulate(SCENARIOS / "photo_pipeline.yaml", progress=False)
    s = r.summary
    photos = s["buckets"]["photos"]
    n = photos["notifications"]
    assert n["events"] == photos["put"] - photos["slow_down"]  # one event per stored photo (only PUTs slow down here)
    assert s["functions"]["thumbnail"]["invocations"] == n["delivered"]
    assert s["tables"]["photos"]["requests"] <= n["delivered"] and s["tables"]["photos"]["throttled"] == 0
    slow = series(r, "AWS/S3", "5xxErrors", "BucketName=photos")
    assert slow[:20].sum() == 0 and (slow[20:30] > 0).all() and slow[31:].sum() == 0  # the spike, 20:00-30:00
    up = s["calls"]["upload.calls[0] → bucket:photos"]
    assert up["retries"] > 0 and up["failed"] > 0 and photos["prefix_splits"] == 0  # too short to partition
