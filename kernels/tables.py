"""DynamoDB tables: who gets capacity, request by request (issue "The front door and the state").

A table has a read and a write **capacity** per second and a number of **partitions**. A
request consumes capacity units (`kernels/dynamodb.py`: half units, so sums stay exact) at
the partition its key hashes to, and is served only if both of these hold tokens enough:

- **the table**, one token bucket per direction: it gains `cap` units a second and holds up
  to `cap × burst_s`. Provisioned: `cap` is the provisioned RCU/WCU and burst_s 300 — DynamoDB
  keeps up to 300 s of unused capacity as burst capacity (FACTS "DynamoDB provisioned",
  dynamodb-spiky-workloads; best effort there, a full bucket here). On demand: `cap` follows
  the previous peak (below) and burst_s is 1 (our assumption: AWS documents no burst on
  demand).
- **the partition**, one bucket for both directions: each partition serves at most 3,000
  RCU or 1,000 WCU a second or a linear mix of them (FACTS "DynamoDB partitions"), so its
  bucket gains 3,000 "read units" a second, holds 3,000 (one second's worth: burst capacity
  cannot relieve a hot partition, same source), and a write unit costs three of them.

A refused request takes no token and is a throttle (ProvisionedThroughputExceededException /
ThrottlingException to the caller): ReadThrottleEvents or WriteThrottleEvents, and a key-range
throttle (Read/WriteKeyRangeThroughputThrottleEvents) when the table had the tokens and its
partition had not — the hot key, throttling while the table has capacity to spare.

**Keys and partitions.** Each request carries its key's position `h` in [0, 1) in the hash
space (drawn by the caller from the key popularity: `sim.storage`); partition `floor(h × P)` of
the table's `P` serves it, so a split (P grows) cuts every partition's range as AWS's splits
do, and a key never changes partition except at a split. P is AWS's published sizing,
`ceil(RCU / 3000 + WCU / 1000)` of the table's capacity, at least 1; it only grows (DynamoDB
does not merge partitions). At a split every partition's bucket starts full (our
simplification: AWS does not document it). Not modelled: splits for heat (a partition that
stays hot for minutes is split in two by AWS without a capacity change) and the table's size
(10 GB per partition).

**On demand** (FACTS "DynamoDB on-demand"): a new table serves 4,000 WRU and 12,000 RRU a
second at once (or its warm throughput); it serves up to twice its previous peak, and traffic
above that is throttled until DynamoDB has allocated more, which takes up to 30 minutes. Our
rule, exactly: the capacity at time t is `min(max, max(initial, 2 × peak))`, peak the highest
consumption of one whole second that began at least 30 minutes (PEAK_DELAY_S) before t. So a
step to three times the previous peak is served at twice it for 30 minutes, then in full. The
capacity changes at whole seconds; the buckets are refilled at the old rate up to the change.

**Provisioned** capacity changes only from outside (`set_capacity`: the auto scaling control
process, `sim.storage.tables`), at an exact time between windows; the buckets are refilled at the
old rate up to it.

Everything is per table in arrays (`tbi`, `tbf` per table, `tpart` per partition, `tring` the
on-demand seconds, `tper` the counters per period), changed only by requests and capacity
changes in time order, so the outcome does not depend on how a run is cut into windows. Twin:
`kernels/ref/tables.py`.
"""

import numpy as np

from kernels import jit, jit_inline

# Partition limits (FACTS "DynamoDB partitions"): per second, in read units (a write costs 3).
PARTITION_RCU = 3000.0
PARTITION_WCU = 1000.0
WRITE_COST = PARTITION_RCU / PARTITION_WCU
PARTITION_BURST_S = 1.0
# On demand (FACTS "DynamoDB on-demand"): a new table's capacity, the table's default maximum,
# and how long until a new peak counts.
ON_DEMAND_INITIAL_RCU = 12000.0
ON_DEMAND_INITIAL_WCU = 4000.0
ON_DEMAND_MAX_UNITS = 40000.0
ON_DEMAND_BURST_S = 1.0
PEAK_DELAY_S = 1800
# Provisioned burst capacity: up to 300 s of unused capacity (FACTS "DynamoDB provisioned").
PROVISIONED_BURST_S = 300.0
HALF = 0.5  # a unit per half unit

ON_DEMAND, PROVISIONED = 0, 1
READ, WRITE = 0, 1

# Per table `tbi[tb]` (int64).
TBI_MODE = 0  # ON_DEMAND | PROVISIONED
TBI_POFF = 1  # its partitions' rows of tpart
TBI_PMAX = 2  # room for partitions
TBI_P = 3  # partitions now
TBI_SEC = 4  # on demand: the second being counted
TBI_SPLITS = 5  # splits so far
TBI_STREAM_Q = 6  # its stream's queue in the account (-1: none): a successful write sends a record there
TBI_STREAM_PORT = 7  # the port the records enter through (ids)
N_TBI = 8
# Per table `tbf[tb]` (float64); capacities and tokens in units a second / units.
TBF_CAP = 0  # + READ / WRITE: capacity now
TBF_TOK = 2  # + READ / WRITE: the table's buckets
TBF_LAST = 4  # their last refill
TBF_BURST_S = 5
TBF_INIT = 6  # + d: on demand, the capacity floor (initial or warm throughput)
TBF_MAX = 8  # + d: on demand, the ceiling
TBF_SEC = 10  # + d: on demand, consumed in second TBI_SEC
TBF_PEAK = 12  # + d: on demand, the peak second at least PEAK_DELAY_S old
TBF_CTL = 14  # + d: consumed since the control last read it (auto scaling's datapoints)
TBF_PEAK_NOW = 16  # + d: the highest consumption of one second so far (for the summary)
N_TBF = 18
# Per partition `tpart[row]`.
TP_TOK = 0
TP_LAST = 1
N_TP = 2
# Counters per period and table `tper[p, tb]` (int64).
TC_REQUESTS = 0
TC_OK = 1
TC_READ_THROTTLES = 2
TC_WRITE_THROTTLES = 3
TC_READ_KEY_RANGE = 4  # of those, the partition's and not the table's
TC_WRITE_KEY_RANGE = 5
TC_READ_HALVES = 6  # consumed, half units
TC_WRITE_HALVES = 7
TC_LATENCY_US = 8  # summed over successful requests
N_TC = 9
TABLE_COUNTERS = ("requests", "ok", "read_throttle_events", "write_throttle_events",
                  "read_key_range_throttle_events", "write_key_range_throttle_events", "consumed_read_half_units",
                  "consumed_write_half_units", "latency_us")


def partitions_for(cap_r, cap_w):
    """AWS's published sizing: ceil(RCU / 3000 + WCU / 1000), at least 1."""
    return max(1, int(np.ceil(cap_r / PARTITION_RCU + cap_w / PARTITION_WCU - 1e-9)))


@jit_inline
def _partitions(cap_r, cap_w):
    n = np.int64(np.ceil(cap_r / PARTITION_RCU + cap_w / PARTITION_WCU - 1e-9))
    return n if n > 1 else np.int64(1)


@jit_inline
def _refill(tb, t, tbf):
    """The table's buckets brought to t at the capacity now."""
    dt = t - tbf[tb, TBF_LAST]
    if dt > 0.0:
        for d in range(2):
            tok = tbf[tb, TBF_TOK + d] + tbf[tb, TBF_CAP + d] * dt
            top = tbf[tb, TBF_CAP + d] * tbf[tb, TBF_BURST_S]
            tbf[tb, TBF_TOK + d] = tok if tok < top else top
        tbf[tb, TBF_LAST] = t


@jit_inline
def _grow(tb, t, tbi, tbf, tpart):
    """Split to the partitions the capacity now needs (never fewer; at most the room): every
    partition's bucket starts full at t."""
    n = _partitions(tbf[tb, TBF_CAP + READ], tbf[tb, TBF_CAP + WRITE])
    if n > tbi[tb, TBI_PMAX]:
        n = tbi[tb, TBI_PMAX]
    if n > tbi[tb, TBI_P]:
        tbi[tb, TBI_P] = n
        tbi[tb, TBI_SPLITS] += 1
        off = tbi[tb, TBI_POFF]
        for j in range(off, off + n):
            tpart[j, TP_TOK] = PARTITION_RCU * PARTITION_BURST_S
            tpart[j, TP_LAST] = t


@jit_inline
def _on_demand_cap(tb, d, tbf):
    c = 2.0 * tbf[tb, TBF_PEAK + d]
    if c < tbf[tb, TBF_INIT + d]:
        c = tbf[tb, TBF_INIT + d]
    if c > tbf[tb, TBF_MAX + d]:
        c = tbf[tb, TBF_MAX + d]
    return c


@jit_inline
def _advance(tb, t, tbi, tbf, tpart, tring):
    """On demand: close the seconds before t's; each second s reached folds the second
    s - PEAK_DELAY_S into the peak (its ring slot is s's), and the capacity follows, changing
    at s with the buckets refilled to s at the old one."""
    sec = np.int64(np.floor(t))
    cur = tbi[tb, TBI_SEC]
    if sec <= cur:
        return
    for d in range(2):
        tring[tb, d, cur % PEAK_DELAY_S] = tbf[tb, TBF_SEC + d]
        tbf[tb, TBF_SEC + d] = 0.0
    last = sec if sec - cur <= PEAK_DELAY_S else cur + PEAK_DELAY_S
    for j in range(cur + 1, last + 1):
        slot = j % PEAK_DELAY_S
        changed = False
        for d in range(2):
            v = tring[tb, d, slot]
            tring[tb, d, slot] = 0.0
            if v > tbf[tb, TBF_PEAK + d]:
                tbf[tb, TBF_PEAK + d] = v
                if _on_demand_cap(tb, d, tbf) != tbf[tb, TBF_CAP + d]:
                    changed = True
        if changed:  # at second j (a gap longer than the ring folds every slot by cur + PEAK_DELAY_S)
            at = np.float64(j)
            _refill(tb, at, tbf)
            for d in range(2):
                tbf[tb, TBF_CAP + d] = _on_demand_cap(tb, d, tbf)
            _grow(tb, at, tbi, tbf, tpart)
    tbi[tb, TBI_SEC] = sec


@jit_inline
def table_request(t, tb, p, half, h, direction, lat_us, tbi, tbf, tpart, tring, tper):
    """A request at t (times ascending per table) to table tb consuming `half` half units of
    `direction` (READ | WRITE) at hash position h: served (True) or throttled; counted in
    period p (a successful one with its latency, µs)."""
    if tbi[tb, TBI_MODE] == ON_DEMAND:
        _advance(tb, t, tbi, tbf, tpart, tring)
    _refill(tb, t, tbf)
    row = tbi[tb, TBI_POFF] + np.int64(np.floor(h * tbi[tb, TBI_P]))
    dt = t - tpart[row, TP_LAST]
    ptok = tpart[row, TP_TOK]
    if dt > 0.0:
        ptok += PARTITION_RCU * dt
        if ptok > PARTITION_RCU * PARTITION_BURST_S:
            ptok = PARTITION_RCU * PARTITION_BURST_S
        tpart[row, TP_LAST] = t
    tpart[row, TP_TOK] = ptok
    units = half * HALF
    cost = units * (WRITE_COST if direction == WRITE else 1.0)
    tper[p, tb, TC_REQUESTS] += 1
    table_ok = tbf[tb, TBF_TOK + direction] >= units
    if not table_ok or ptok < cost:
        tper[p, tb, TC_READ_THROTTLES + direction] += 1
        if table_ok:
            tper[p, tb, TC_READ_KEY_RANGE + direction] += 1
        return False
    tbf[tb, TBF_TOK + direction] -= units
    tpart[row, TP_TOK] = ptok - cost
    tper[p, tb, TC_OK] += 1
    tper[p, tb, TC_READ_HALVES + direction] += np.int64(half)
    tper[p, tb, TC_LATENCY_US] += lat_us
    tbf[tb, TBF_CTL + direction] += units
    if tbi[tb, TBI_MODE] == ON_DEMAND:
        tbf[tb, TBF_SEC + direction] += units
        if tbf[tb, TBF_SEC + direction] > tbf[tb, TBF_PEAK_NOW + direction]:
            tbf[tb, TBF_PEAK_NOW + direction] = tbf[tb, TBF_SEC + direction]
    return True


@jit
def table_many(t, tb, half, h, direction, lat_us, period, tbi, tbf, tpart, tring, tper, ok):
    """`table_request` for arrays of requests in time order: ok[i] whether request i was served.
    Returns the number served."""
    n = 0
    for i in range(t.shape[0]):
        ok[i] = table_request(t[i], tb[i], period[i], half[i], h[i], direction[i], lat_us[i], tbi, tbf, tpart,
                              tring, tper)
        if ok[i]:
            n += 1
    return n


@jit
def set_capacity(t, tb, cap_r, cap_w, tbi, tbf, tpart, tring):
    """Provisioned capacity becomes (cap_r, cap_w) at t (after every request before t): the
    buckets are refilled to t at the old capacity, and the table splits if it needs more
    partitions. (On demand: the second counting is brought to t first.)"""
    if tbi[tb, TBI_MODE] == ON_DEMAND:
        _advance(tb, t, tbi, tbf, tpart, tring)
    _refill(tb, t, tbf)
    tbf[tb, TBF_CAP + READ] = cap_r
    tbf[tb, TBF_CAP + WRITE] = cap_w
    for d in range(2):
        top = tbf[tb, TBF_CAP + d] * tbf[tb, TBF_BURST_S]
        if tbf[tb, TBF_TOK + d] > top:
            tbf[tb, TBF_TOK + d] = top
    _grow(tb, t, tbi, tbf, tpart)


def table_arrays(tables, n_periods):
    """(tbi, tbf, tpart, tring, tper) for `tables`, a list of dicts with `mode` (ON_DEMAND |
    PROVISIONED), `read`, `write` (provisioned capacity, or on demand the initial capacity),
    `max_read`, `max_write` (on demand the ceiling; provisioned the most auto scaling may set,
    for the partitions' room) and `burst_s` (provisioned; default PROVISIONED_BURST_S). Buckets
    start full at 0."""
    T = len(tables)
    tbi = np.zeros((max(T, 1), N_TBI), np.int64)
    tbf = np.zeros((max(T, 1), N_TBF), np.float64)
    rows = 0
    for tb, spec in enumerate(tables):
        mode = int(spec["mode"])
        r, w = float(spec["read"]), float(spec["write"])
        mr = float(spec.get("max_read", ON_DEMAND_MAX_UNITS if mode == ON_DEMAND else r))
        mw = float(spec.get("max_write", ON_DEMAND_MAX_UNITS if mode == ON_DEMAND else w))
        burst = ON_DEMAND_BURST_S if mode == ON_DEMAND else float(spec.get("burst_s", PROVISIONED_BURST_S))
        pmax = max(partitions_for(max(r, mr), max(w, mw)), partitions_for(r, w))
        tbi[tb] = [mode, rows, pmax, partitions_for(r, w), 0, 0, int(spec.get("stream_queue", -1)),
                   int(spec.get("stream_port", -1))]
        tbf[tb, TBF_CAP:TBF_CAP + 2] = r, w
        tbf[tb, TBF_BURST_S] = max(burst, 1.0)
        tbf[tb, TBF_TOK:TBF_TOK + 2] = r * tbf[tb, TBF_BURST_S], w * tbf[tb, TBF_BURST_S]
        tbf[tb, TBF_INIT:TBF_INIT + 2] = r, w
        tbf[tb, TBF_MAX:TBF_MAX + 2] = mr, mw
        rows += pmax
    tpart = np.zeros((max(rows, 1), N_TP), np.float64)
    tpart[:, TP_TOK] = PARTITION_RCU * PARTITION_BURST_S
    tring = np.zeros((max(T, 1), 2, PEAK_DELAY_S), np.float64)
    tper = np.zeros((max(n_periods, 1), max(T, 1), N_TC), np.int64)
    return tbi, tbf, tpart, tring, tper
