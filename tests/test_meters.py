"""The meter interface: integer counts per period and resource, turned into exact usage."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from kernels.ref.billing import chunks_64kb_ref
from sim.billing.meters import BYTES_PER_GB, SECONDS_PER_HOUR, MeterTable
from sim.compute.lambda_usage import provisioned_ms, provisioned_spans


def test_requests_bytes_and_hours_become_usage():
    t = MeterTable("AmazonSQS", ["queue:a", "queue:b"], n_periods=2, period_s=60)
    req = t.declare("Requests-Tier1", "Requests")
    gb = t.declare("DataTransfer-Out-Bytes", "GB", Decimal(1) / BYTES_PER_GB)
    hrs = t.declare("NatGateway-Hours", "Hrs", [Decimal(1) / SECONDS_PER_HOUR, Decimal(0)])
    req[0, 0] += sum(chunks_64kb_ref(s) for s in (1000, 70_000, 200_000))  # 1 + 2 + 4
    req[1, 1] += 3
    gb[:, 0] = [2**30, 2**29]
    hrs[:, 0] = [1800, 1800]
    total, per_period = t.usage()
    got = {(u.usage_type, u.resource): u.amount for u in total}
    assert got[("Requests-Tier1", "queue:a")] == 7 and got[("Requests-Tier1", "queue:b")] == 3
    assert got[("DataTransfer-Out-Bytes", "queue:a")] == Decimal("1.5")
    assert got[("NatGateway-Hours", "queue:a")] == 1
    assert ("NatGateway-Hours", "queue:b") not in got  # scale 0: the meter does not apply
    assert [(t0, u.amount) for t0, u in per_period if u.usage_type == "Requests-Tier1" and u.resource == "queue:a"] \
        == [(0.0, 7), (60.0, 0)]


def test_provisioned_spans_round_each_enabled_span_up_to_5_minutes():
    assert provisioned_spans([(0.0, 5), (420.0, 0)], 3600) == [(0.0, 600.0, 5)]
    assert provisioned_spans([(0.0, 20), (1800.0, 10)], 3600) == [(0.0, 1800.0, 20), (1800.0, 3600.0, 10)]
    assert provisioned_spans([(100.0, 3), (400.0, 0), (1000.0, 2)], 1500) == [(100.0, 400.0, 3), (1000.0, 1500.0, 2)]
    ms = provisioned_ms({0: [(0.0, 5), (420.0, 0)]}, 1, 3600, 600, 6)
    assert ms[:, 0].tolist() == [5 * 600_000, 0, 0, 0, 0, 0]
    assert provisioned_ms({}, 2, 60, 60, 1).tolist() == [[0, 0]]
    assert np.all(provisioned_ms({0: [(0.0, 1)]}, 1, 120, 60, 2) == [[60_000], [60_000]])
