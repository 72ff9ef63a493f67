"""Sampled requests as spans: the traces.parquet table, its service map and X-Ray-style waterfalls.

The table has one row per span with OpenTelemetry's field names (`SPAN_SCHEMA`);
`spans_frame` builds and checks it from the rows an engine hands over, `merge_spans`
joins what several components give (sim.api). From it,
`service_map` counts the calls between resources (rate, p99, error ratio) and
`service_map_svg` draws them left to right with the scenario diagram's layering;
`waterfall_figure` draws one trace's spans as bars on its own time axis, and
`pick_traces` chooses a few traces worth drawing. Nothing here depends on the engine.
"""

from __future__ import annotations

import difflib
import json
import math
import numbers
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import polars as pl
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.output.diagram import _DEFS, KIND_STYLE, MARGIN, NODE_H, NODE_W, ROW_GAP, Graph, _cut, _esc, grid, layers
from sim.output.report_format import duration_text, number_text, pct_text
from sim.output.report_plots import SLO_COLOUR, WIDTH_IN, _ms_formatter

# The columns of traces.parquet (docs/DESIGN.md §5), in order.
SPAN_SCHEMA: Dict[str, pl.DataType] = {
    "trace_id": pl.Int64,
    "span_id": pl.Int64,
    "parent_span_id": pl.Int64,  # null for a trace's root span
    "name": pl.Utf8,  # "checkout invoke", "checkout lambda.Invoke", "orders sqs.SendMessage"
    "kind": pl.Utf8,  # OpenTelemetry SpanKind
    "service": pl.Utf8,  # lambda, sqs, sns, events, http, ...
    "resource": pl.Utf8,  # the function, queue, topic, bus or endpoint name
    "start_s": pl.Float64,  # seconds from the scenario's start
    "end_s": pl.Float64,
    "status": pl.Utf8,  # OK | ERROR
    "attributes": pl.Utf8,  # a JSON object
}
SPAN_COLUMNS: Tuple[str, ...] = tuple(SPAN_SCHEMA)
SPAN_KINDS: Tuple[str, ...] = ("SERVER", "CLIENT", "PRODUCER", "CONSUMER", "INTERNAL")  # OpenTelemetry SpanKind
STATUSES: Tuple[str, ...] = ("OK", "ERROR")  # OpenTelemetry StatusCode, UNSET left out: a simulated span always ends

_INT_COLUMNS = ("trace_id", "span_id", "parent_span_id")
_TEXT_COLUMNS = ("name", "kind", "service", "resource", "status")
_NONEMPTY = ("name", "service", "resource")
_INT64 = (-(2 ** 63), 2 ** 63 - 1)

# Node kinds of sim/output/diagram.py per span service (its colours); others get NEUTRAL_STYLE.
SERVICE_KIND = {"lambda": "function", "sqs": "queue", "sns": "topic", "events": "bus",
                "http": "https", "https": "https"}
NEUTRAL_STYLE = ("#eceff1", "#607d8b")
MAP_COL_GAP = 190  # wider than the scenario diagram's: each arrow carries a two-line label
EDGE_OK, EDGE_SOME_ERRORS, EDGE_MANY_ERRORS = "#555", "#ef6c00", "#c62828"
MANY_ERRORS = 0.05  # an edge whose error ratio reaches this is drawn red, below it (but above 0) orange

STATUS_COLOUR = {"OK": "#5c8fd6", "ERROR": SLO_COLOUR}
MIN_BAR = 0.002  # the narrowest bar drawn, as a share of the trace's duration
MAX_LABEL_CHARS = 48  # a waterfall's span labels (indentation included) are cut to this length
MAX_WATERFALL_SPANS = 80  # a waterfall draws at most this many spans (the first ones in its order)


# ---------------------------------------------------------------- the table

def _describe(row: int, trace_id: Any = None, span_id: Any = None, name: Any = None) -> str:
    """"span 7 of trace 3 (row 4, 'checkout invoke')", with what is known of the span."""
    where = f"row {row}" + (f", {name!r}" if isinstance(name, str) and name else "")
    if trace_id is None or span_id is None:
        return f"span at {where}"
    return f"span {span_id} of trace {trace_id} ({where})"


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_int64(v: Any) -> bool:
    return _is_int(v) and _INT64[0] <= int(v) <= _INT64[1]


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _json_text(value: Mapping[str, Any]) -> str:
    """A dict as compact JSON text with sorted keys (NaN and infinities refused: JSON has none)."""
    return json.dumps(dict(value), sort_keys=True, separators=(",", ":"), allow_nan=False)


def _attributes_text(value: Any, where: str) -> str:
    """The attributes as JSON text: a dict is serialised (keys sorted, compact); a str must hold a JSON object."""
    if isinstance(value, Mapping):
        try:
            return _json_text(value)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where}: attributes cannot be written as JSON ({e})") from None
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError as e:
            raise ValueError(f"{where}: attributes {value!r} is not JSON ({e})") from None
        if not isinstance(parsed, dict):
            raise ValueError(f"{where}: attributes {value!r} is not a JSON object")
        return value
    raise ValueError(f"{where}: attributes must be a dict or a JSON object as text, got {type(value).__name__}")


def _is_json_object(text: str) -> bool:
    """Whether `text` holds a JSON object ('{}' without parsing: the common case)."""
    if text == "{}":
        return True
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _row_values(i: int, row: Any) -> List[Any]:
    """One input row (a tuple in SPAN_COLUMNS order or a dict with exactly those keys) as a list of checked values."""
    if isinstance(row, Mapping):
        missing = [c for c in SPAN_COLUMNS if c not in row]
        extra = [k for k in row if k not in SPAN_SCHEMA]
        if extra:
            hint = difflib.get_close_matches(str(extra[0]), SPAN_COLUMNS, n=1)
            raise ValueError(f"span at row {i}: unknown field {extra[0]!r}"
                             + (f" (did you mean {hint[0]!r}?)" if hint else "")
                             + f"; the fields are {', '.join(SPAN_COLUMNS)}")
        if missing:
            raise ValueError(f"span at row {i}: missing field(s) {', '.join(missing)}")
        values = [row[c] for c in SPAN_COLUMNS]
    elif isinstance(row, (tuple, list)):
        if len(row) != len(SPAN_COLUMNS):
            raise ValueError(f"span at row {i}: {len(row)} values, expected {len(SPAN_COLUMNS)} "
                             f"({', '.join(SPAN_COLUMNS)})")
        values = list(row)
    else:
        raise ValueError(f"span at row {i}: a tuple or dict expected, got {type(row).__name__}")
    rec = dict(zip(SPAN_COLUMNS, values))
    name = rec["name"]
    tid = rec["trace_id"] if _is_int64(rec["trace_id"]) else None
    sid = rec["span_id"] if _is_int64(rec["span_id"]) else None
    where = _describe(i, tid, sid, name)
    for c in _INT_COLUMNS:
        v = rec[c]
        if v is None and c == "parent_span_id":
            continue
        if not _is_int64(v):
            allowed = "a 64-bit integer" + (" or None (a root span)" if c == "parent_span_id" else "")
            raise ValueError(f"{where}: {c} is {v!r}, expected {allowed}")
        rec[c] = int(v)
    for c in _TEXT_COLUMNS:
        if not isinstance(rec[c], str):
            raise ValueError(f"{where}: {c} is {rec[c]!r}, expected text")
    for c in _NONEMPTY:
        if not rec[c]:
            raise ValueError(f"{where}: {c} is empty")
    for c in ("start_s", "end_s"):
        if not _is_real(rec[c]):
            raise ValueError(f"{where}: {c} is {rec[c]!r}, expected a number of seconds")
        rec[c] = float(rec[c])
    rec["attributes"] = _attributes_text(rec["attributes"], where)
    return [rec[c] for c in SPAN_COLUMNS]


def _from_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """A DataFrame with exactly SPAN_SCHEMA's columns, cast to its types (strictly), in its order."""
    missing = [c for c in SPAN_COLUMNS if c not in frame.columns]
    extra = [c for c in frame.columns if c not in SPAN_SCHEMA]
    if extra:
        hint = difflib.get_close_matches(extra[0], SPAN_COLUMNS, n=1)
        raise ValueError(f"spans: unknown column {extra[0]!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                         + f"; the columns are {', '.join(SPAN_COLUMNS)}")
    if missing:
        raise ValueError(f"spans: missing column(s) {', '.join(missing)}")
    out = {}
    for c, dtype in SPAN_SCHEMA.items():
        col = frame[c]
        if col.dtype == dtype:
            out[c] = col
            continue
        fits = (col.dtype == pl.Null or (dtype == pl.Int64 and col.dtype.is_integer())
                or (dtype == pl.Float64 and col.dtype.is_numeric()))
        if not fits:
            raise ValueError(f"spans: column {c} is {col.dtype}, expected {dtype}")
        try:
            out[c] = col.cast(dtype, strict=True)
        except pl.exceptions.PolarsError as e:
            raise ValueError(f"spans: column {c} does not fit {dtype} ({e})") from None
    return pl.DataFrame(out)


def _where(frame: pl.DataFrame, row: int) -> str:
    r = frame.row(row, named=True)
    return _describe(row, r["trace_id"], r["span_id"], r["name"])


def _first(mask: pl.Series) -> Optional[int]:
    """The index of the first True of `mask`, or None."""
    hits = mask.arg_true()
    return int(hits[0]) if len(hits) else None


def _parent_rows(frame: pl.DataFrame) -> np.ndarray:
    """Per span, the row of its parent within its trace; -1 for a root or a parent not found."""
    keys = frame.select("trace_id", "span_id").with_row_index("parent_row")
    joined = (frame.select("trace_id", pl.col("parent_span_id").alias("span_id")).with_row_index("row")
              .join(keys, on=["trace_id", "span_id"], how="left").sort("row"))
    return joined["parent_row"].fill_null(-1).cast(pl.Int64).to_numpy()


def _depths(parent: np.ndarray) -> np.ndarray:
    """Per span, its depth below its trace's root (0 for a root); -1 for a span whose ancestry never reaches one."""
    depth = np.where(parent < 0, 0, -1)
    while True:
        pending = np.flatnonzero(depth < 0)
        ready = pending[depth[parent[pending]] >= 0] if len(pending) else pending
        if not len(ready):
            return depth
        depth[ready] = depth[parent[ready]] + 1


def check_spans(frame: pl.DataFrame) -> None:
    """Raise ValueError naming the first bad span of a typed span table (module doc; `spans_frame`'s checks).

    A span ends no earlier than it starts, at finite times; its kind is an OpenTelemetry
    SpanKind and its status OK or ERROR; (trace_id, span_id) is unique; its parent, when
    it has one, is a span of the same trace; each trace has exactly one root (no parent),
    and every span's chain of parents reaches it (no cycles). Attributes hold JSON objects.
    """
    for c in ("trace_id", "span_id", *_TEXT_COLUMNS, "start_s", "end_s", "attributes"):
        row = _first(frame[c].is_null())
        if row is not None:
            raise ValueError(f"{_where(frame, row)}: {c} is missing (null)")
    for c in _NONEMPTY:
        row = _first(frame[c] == "")
        if row is not None:
            raise ValueError(f"{_where(frame, row)}: {c} is empty")
    for c in ("start_s", "end_s"):
        row = _first(~frame[c].is_finite())
        if row is not None:
            raise ValueError(f"{_where(frame, row)}: {c} is {frame[c][row]}, expected a finite number of seconds")
    row = _first(frame["end_s"] < frame["start_s"])
    if row is not None:
        raise ValueError(f"{_where(frame, row)}: ends before it starts "
                         f"(end_s {frame['end_s'][row]!r} < start_s {frame['start_s'][row]!r})")
    for c, allowed in (("kind", SPAN_KINDS), ("status", STATUSES)):
        row = _first(~frame[c].is_in(list(allowed)))
        if row is not None:
            bad = frame[c][row]
            hint = difflib.get_close_matches(bad.upper(), allowed, n=1)
            raise ValueError(f"{_where(frame, row)}: {c} {bad!r} is not one of {', '.join(allowed)}"
                             + (f" (did you mean {hint[0]!r}?)" if hint else ""))
    row = _first(frame.select(pl.struct("trace_id", "span_id").is_duplicated()).to_series())
    if row is not None:
        raise ValueError(f"{_where(frame, row)}: another span of trace {frame['trace_id'][row]} "
                         f"has the same span_id")
    wrong = [a for a in frame["attributes"].unique().to_list() if not _is_json_object(a)]
    if wrong:
        row = _first(frame["attributes"].is_in(wrong))
        _attributes_text(frame["attributes"][row], _where(frame, row))  # raises, naming the span
    parent = _parent_rows(frame)
    has_parent = frame["parent_span_id"].is_not_null().to_numpy()
    lost = np.flatnonzero(has_parent & (parent < 0))
    if len(lost):
        row = int(lost[0])
        raise ValueError(f"{_where(frame, row)}: its parent_span_id {frame['parent_span_id'][row]} "
                         f"is not a span of trace {frame['trace_id'][row]}")
    roots = (frame.with_row_index("row").group_by("trace_id", maintain_order=True)
             .agg(pl.col("row").filter(pl.col("parent_span_id").is_null()).alias("roots"),
                  pl.col("row").first().alias("first")))
    for tid, root_rows, first in roots.iter_rows():
        if len(root_rows) > 1:
            ids = ", ".join(str(frame["span_id"][r]) for r in root_rows)
            raise ValueError(f"trace {tid} has {len(root_rows)} root spans (spans {ids}, no parent_span_id); "
                             f"a trace has exactly one root")
        if not root_rows:
            raise ValueError(f"trace {tid} has no root span (every span has a parent, e.g. "
                             f"{_where(frame, first)}); a trace has exactly one root")
    depth = _depths(parent)
    stuck = np.flatnonzero(depth < 0)
    if len(stuck):  # one root per trace and every parent found: what is left lies on or under a cycle
        seen: List[int] = []
        row = int(stuck[0])
        while row not in seen:
            seen.append(row)
            row = int(parent[row])
        cycle = seen[seen.index(row):] + [row]
        path = " → ".join(str(frame["span_id"][r]) for r in cycle)
        raise ValueError(f"{_where(frame, row)}: its parents form a cycle ({path}) that never reaches "
                         f"trace {frame['trace_id'][row]}'s root")


def _plain_types(types: set, column: str) -> bool:
    """Whether values of these Python types go into `column` as they are (the fast path of `_from_rows`)."""
    if column in _INT_COLUMNS:
        ok = lambda t: t is not bool and issubclass(t, numbers.Integral)  # noqa: E731
        return all(ok(t) or (t is type(None) and column == "parent_span_id") for t in types)
    if column in ("start_s", "end_s"):
        return all(t is not bool and issubclass(t, numbers.Real) for t in types)
    if column == "attributes":
        return types <= {str, dict}
    return types <= {str}


def _from_rows(rows: List[Any]) -> pl.DataFrame:
    """The typed table of tuples or dicts; a value of the wrong type is named by `_row_values`.

    Columns whose values all have plain types are built at once; otherwise (or when polars
    refuses one, e.g. an integer beyond 64 bits) every row is checked one by one, which
    raises naming the first bad span.
    """
    if all(type(r) is tuple and len(r) == len(SPAN_COLUMNS) for r in rows):
        columns = list(zip(*rows)) if rows else [() for _ in SPAN_COLUMNS]
    elif all(type(r) is dict and len(r) == len(SPAN_COLUMNS) and all(c in r for c in SPAN_COLUMNS) for r in rows):
        columns = [tuple(r[c] for r in rows) for c in SPAN_COLUMNS]
    else:
        columns = None
    if columns is not None and all(_plain_types(set(map(type, v)), c) for c, v in zip(SPAN_COLUMNS, columns)):
        data = dict(zip(SPAN_COLUMNS, columns))
        try:
            data["attributes"] = [a if type(a) is str else _json_text(a) for a in data["attributes"]]
            return pl.DataFrame({c: pl.Series(c, list(v), dtype=SPAN_SCHEMA[c], strict=True)
                                 for c, v in data.items()})
        except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
            pass  # the rows one by one, below, name the bad value
    values = [_row_values(i, r) for i, r in enumerate(rows)]
    columns = list(zip(*values)) if values else [() for _ in SPAN_COLUMNS]
    return pl.DataFrame({c: pl.Series(c, list(v), dtype=SPAN_SCHEMA[c], strict=True)
                         for c, v in zip(SPAN_COLUMNS, columns)})


def spans_frame(rows: Any) -> pl.DataFrame:
    """The span table (SPAN_SCHEMA, typed) from rows, checked; a ValueError names the first bad span.

    `rows` is a sequence of tuples (values in SPAN_COLUMNS order) or dicts (exactly those
    keys), or a polars DataFrame with those columns (cast strictly to their types). A
    row's `attributes` is a dict, written as compact JSON with sorted keys, or text that
    holds a JSON object (kept as it is). Times are seconds from the scenario's start.
    The checks are `check_spans`'s; rows keep their order.
    """
    if isinstance(rows, pl.DataFrame):
        frame = _from_frame(rows)
    else:
        if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
            raise ValueError(f"spans: a list of rows (tuples or dicts) or a DataFrame expected, "
                             f"got {type(rows).__name__}")
        frame = _from_rows(list(rows))
    check_spans(frame)
    return frame


def merge_spans(parts: Sequence[Tuple[str, Any]]) -> pl.DataFrame:
    """One span table from (component name, its `spans()`) pairs: typed, sorted by (trace_id, span_id), checked.

    Each part is a DataFrame with SPAN_SCHEMA's columns (cast strictly, as `spans_frame`
    does; a part that does not fit is a ValueError naming its component). The parts are
    checked together (`check_spans`), not one by one: a span's parent may come from another
    component. The sort makes the table the same whatever order the engine made the spans
    in (within a run, or across window sizes).
    """
    typed = []
    for component, frame in parts:
        if not isinstance(frame, pl.DataFrame):
            raise ValueError(f"{component}: spans() returned {type(frame).__name__}, "
                             f"expected a polars DataFrame (SPAN_SCHEMA) or None")
        try:
            typed.append(_from_frame(frame))
        except ValueError as e:
            raise ValueError(f"{component}: {e}") from None
    merged = (pl.concat(typed) if typed else pl.DataFrame(schema=SPAN_SCHEMA)).sort(["trace_id", "span_id"])
    check_spans(merged)
    return merged


def _typed(spans: pl.DataFrame) -> pl.DataFrame:
    """`spans` when it has SPAN_SCHEMA exactly (as `spans_frame` makes it or traces.parquet holds it)."""
    if not isinstance(spans, pl.DataFrame) or dict(spans.schema) != SPAN_SCHEMA:
        got = dict(spans.schema) if isinstance(spans, pl.DataFrame) else type(spans).__name__
        raise ValueError(f"spans: a DataFrame with SPAN_SCHEMA expected (use spans_frame), got {got}")
    return spans


# ---------------------------------------------------------------- the service map

MAP_SCHEMA: Dict[str, pl.DataType] = {
    "src_service": pl.Utf8, "src_resource": pl.Utf8, "dst_service": pl.Utf8, "dst_resource": pl.Utf8,
    "calls": pl.Int64, "rate_per_s": pl.Float64, "p99_ms": pl.Float64, "error_ratio": pl.Float64,
}


def service_map(spans: pl.DataFrame, duration_s: float) -> pl.DataFrame:
    """The calls between resources seen in `spans`: one row per edge (MAP_SCHEMA), sorted by its ends.

    Nodes are (service, resource). Every span with a parent is a call on the edge from
    its parent's node to its own, whatever the spans' kinds, except when both are the same
    node (a function's SERVER span under the CLIENT span that invoked it, a CONSUMER span
    under its PRODUCER span): so a synchronous call is counted once, by its CLIENT span,
    whose duration is what the caller waited. Per edge: `calls`, `rate_per_s` = calls /
    `duration_s` (the rate among the traces in the table: sampled traces, not all
    requests), `p99_ms` of the spans' durations (end_s − start_s, in ms) — numpy's
    percentile with method "higher", i.e. the sorted duration at index ⌈0.99·(calls − 1)⌉,
    a value that occurred, exact — and `error_ratio`, the share of them with status ERROR.
    """
    spans = _typed(spans)
    if not (isinstance(duration_s, numbers.Real) and math.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"service_map: duration_s is {duration_s!r}, expected a positive number of seconds")
    parents = spans.select("trace_id", pl.col("span_id").alias("parent_span_id"),
                           pl.col("service").alias("src_service"), pl.col("resource").alias("src_resource"))
    calls = (spans.filter(pl.col("parent_span_id").is_not_null())
             .join(parents, on=["trace_id", "parent_span_id"], how="inner")
             .rename({"service": "dst_service", "resource": "dst_resource"})
             .filter((pl.col("src_service") != pl.col("dst_service"))
                     | (pl.col("src_resource") != pl.col("dst_resource")))
             .select("src_service", "src_resource", "dst_service", "dst_resource",
                     ((pl.col("end_s") - pl.col("start_s")) * 1000.0).alias("duration_ms"),
                     (pl.col("status") == "ERROR").alias("error")))
    keys = ["src_service", "src_resource", "dst_service", "dst_resource"]
    rows = []
    for key, part in calls.sort(keys).group_by(keys, maintain_order=True):
        d = part["duration_ms"].to_numpy()
        n = len(d)
        rows.append((*key, n, n / float(duration_s), float(np.percentile(d, 99, method="higher")),
                     int(part["error"].sum()) / n))
    return pl.DataFrame(rows, schema=MAP_SCHEMA, orient="row")


def _node_style(service: str) -> Tuple[str, str, str]:
    """(fill, stroke, words) of a service's node: the scenario diagram's for the services it draws."""
    kind = SERVICE_KIND.get(service)
    if kind in KIND_STYLE:
        return KIND_STYLE[kind]
    return (*NEUTRAL_STYLE, service)


def edge_label(rate_per_s: float, p99_ms: float, error_ratio: float) -> Tuple[str, str]:
    """The two lines written on a service-map arrow: '2/s · p99 250 ms' and '50.00 % errors'."""
    return f"{number_text(rate_per_s)}/s · p99 {duration_text(p99_ms / 1000.0)}", f"{pct_text(error_ratio)} errors"


def service_map_svg(edges: pl.DataFrame) -> Optional[str]:
    """The service map (`service_map`'s table) as an <svg> drawn left to right, or None when it has no edge.

    One box per node (service, resource), coloured as in the scenario diagram
    (sim/output/diagram.py, whose layering `layers` places them: longest path from the
    callers, cycles broken), one arrow per edge labelled with its rate, p99 and error
    share; an arrow is grey without errors, orange with some, red from MANY_ERRORS on.
    The drawing of boxes and arrows is this module's own (diagram.py draws inline), with
    diagram.py's sizes. Nodes and edges are drawn in sorted order, so the text is the
    same for the same table. Simplifications, as in diagram.py: no crossing minimisation;
    labels of arrows that cross may overlap, and an arrow that runs backwards loops under
    the boxes and may pass behind one.
    """
    if not isinstance(edges, pl.DataFrame) or dict(edges.schema) != MAP_SCHEMA:
        raise ValueError("service_map_svg: the table of service_map expected")
    if edges.height == 0:
        return None
    edges = edges.sort(["src_service", "src_resource", "dst_service", "dst_resource"])
    g = Graph()
    names = sorted({(r["src_service"], r["src_resource"]) for r in edges.iter_rows(named=True)}
                   | {(r["dst_service"], r["dst_resource"]) for r in edges.iter_rows(named=True)})
    for service, resource in names:
        g.add(service, resource, detail=_node_style(service)[2])
    rows = list(edges.iter_rows(named=True))
    for r in rows:
        g.link(f"{r['src_service']}:{r['src_resource']}", f"{r['dst_service']}:{r['dst_resource']}")
    pos = layers(g)
    ncols, nrows, per_col = grid(pos)
    below = 80  # room under the boxes for the loops of arrows that run backwards or within a column
    width = 2 * MARGIN + ncols * NODE_W + (ncols - 1) * MAP_COL_GAP
    height = 2 * MARGIN + nrows * NODE_H + (nrows - 1) * (ROW_GAP + 22) + below

    def xy(nid: str) -> Tuple[float, float]:
        c, r = pos[nid]
        col_h = per_col[c] * NODE_H + (per_col[c] - 1) * (ROW_GAP + 22)
        top = MARGIN + (height - 2 * MARGIN - below - col_h) / 2
        return MARGIN + c * (NODE_W + MAP_COL_GAP), top + r * (NODE_H + ROW_GAP + 22)

    out = [f'<svg class="diagram" id="diagram-service-map" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" data-nodes="{len(g.nodes)}" data-edges="{len(rows)}" '
           f'font-family="system-ui,sans-serif">', _DEFS.format(m="arrow-m")]
    for e, r in zip(g.edges, rows):
        (x1, y1), (x2, y2) = xy(e.src), xy(e.dst)
        if pos[e.dst][0] > pos[e.src][0]:
            sx, sy, ex, ey = x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2
            bend = max(30.0, (ex - sx) / 2)
            d = f"M{sx:.1f},{sy:.1f} C{sx + bend:.1f},{sy:.1f} {ex - bend:.1f},{ey:.1f} {ex:.1f},{ey:.1f}"
            lx, ly = (sx + ex) / 2, (sy + ey) / 2
        else:  # backwards or within a column: a loop under the boxes
            sx, sy, ex, ey = x1 + NODE_W / 2 + 12, y1 + NODE_H, x2 + NODE_W / 2 - 12, y2 + NODE_H
            drop = 30 + min(abs(sx - ex) / 6, 40.0)
            d = f"M{sx:.1f},{sy:.1f} C{sx:.1f},{sy + drop:.1f} {ex:.1f},{ey + drop:.1f} {ex:.1f},{ey:.1f}"
            lx, ly = (sx + ex) / 2, max(sy, ey) + drop * 0.75
        err = float(r["error_ratio"])
        colour = EDGE_MANY_ERRORS if err >= MANY_ERRORS else EDGE_SOME_ERRORS if err > 0 else EDGE_OK
        top, bottom = edge_label(r["rate_per_s"], r["p99_ms"], err)
        tip = f"{e.src} → {e.dst}: {r['calls']:,} calls"
        out.append(f'<path class="edge" data-src="{_esc(e.src)}" data-dst="{_esc(e.dst)}" '
                   f'data-calls="{r["calls"]}" d="{d}" fill="none" stroke="{colour}" stroke-width="1.4" '
                   f'marker-end="url(#arrow-m)"><title>{_esc(tip)}</title></path>')
        w = max(len(top), len(bottom)) * 5.8 + 8
        out.append(f'<g class="edge-label"><rect x="{lx - w / 2:.1f}" y="{ly - 14:.1f}" width="{w:.1f}" '
                   f'height="27" fill="white" fill-opacity="0.85"/>'
                   f'<text x="{lx:.1f}" y="{ly - 3:.1f}" font-size="10.5" fill="#444" text-anchor="middle">'
                   f'{_esc(top)}</text><text x="{lx:.1f}" y="{ly + 10:.1f}" font-size="10.5" fill="{colour}" '
                   f'text-anchor="middle">{_esc(bottom)}</text></g>')
    for nid, n in g.nodes.items():
        x0, y0 = xy(nid)
        fill, stroke, words = _node_style(n.kind)
        out.append(f'<g class="node" data-id="{_esc(nid)}" data-kind="{_esc(n.kind)}"><title>{_esc(words)}: '
                   f'{_esc(n.label)}</title><rect x="{x0}" y="{y0:.1f}" width="{NODE_W}" height="{NODE_H}" '
                   f'rx="6" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
                   f'<text x="{x0 + 8}" y="{y0 + 18:.1f}" font-size="12.5" font-weight="600" fill="#222">'
                   f'{_esc(_cut(n.label, NODE_W - 16))}</text>'
                   f'<text x="{x0 + 8}" y="{y0 + 35:.1f}" font-size="11" fill="#555">'
                   f'{_esc(_cut(words, NODE_W - 16))}</text></g>')
    out.append("</svg>")
    return "".join(out)


# ---------------------------------------------------------------- waterfalls

def trace_order(spans: pl.DataFrame, trace_id: int) -> List[Tuple[int, Dict[str, Any]]]:
    """(depth, span as a dict) of a trace's spans, depth first: each span's children under it, by (start_s, span_id)."""
    part = _typed(spans).filter(pl.col("trace_id") == trace_id)
    if part.height == 0:
        raise ValueError(f"waterfall: trace {trace_id} is not in the span table")
    children: Dict[Optional[int], List[Dict[str, Any]]] = {}
    for r in part.iter_rows(named=True):
        children.setdefault(r["parent_span_id"], []).append(r)
    for kids in children.values():
        kids.sort(key=lambda r: (r["start_s"], r["span_id"]))
    out: List[Tuple[int, Dict[str, Any]]] = []
    stack = [(0, r) for r in reversed(children.get(None, []))]
    while stack:
        depth, r = stack.pop()
        out.append((depth, r))
        stack += [(depth + 1, k) for k in reversed(children.get(r["span_id"], []))]
    if len(out) != part.height:
        raise ValueError(f"waterfall: trace {trace_id}'s spans do not form one tree (check it with spans_frame)")
    return out


def _cut_middle(text: str, n: int) -> str:
    """`text` in at most `n` characters: its start and its end around a '…' (a span name ends with its operation)."""
    if len(text) <= n:
        return text
    tail = (n - 1) // 2
    return text[: n - 1 - tail] + "…" + text[len(text) - tail:]


def waterfall_labels(order: Sequence[Tuple[int, Mapping[str, Any]]]) -> List[str]:
    """The y labels of a waterfall: the span's name indented two spaces per depth, right-padded to one width.

    The labels are drawn in a monospace font and right-aligned against the axis, as tick
    labels are, so equal widths make the indentation show; a label longer than
    MAX_LABEL_CHARS keeps the start and end of the name around a '…'.
    """
    text = ["  " * depth + _cut_middle(str(r["name"]), max(8, MAX_LABEL_CHARS - 2 * depth)) for depth, r in order]
    width = max((len(t) for t in text), default=0)
    return [t.ljust(width) for t in text]


def waterfall_figure(spans: pl.DataFrame, trace_id: int) -> Figure:
    """One trace as X-Ray draws it: a horizontal bar per span, in `trace_order`, on a time axis in ms.

    The axis starts at the trace's start (its earliest span's start_s); bars are coloured
    by status (STATUS_COLOUR) and labelled with their duration, and drawn at least
    MIN_BAR of the trace's duration wide so that an instant span shows; the y labels are the
    spans' names indented by depth (`waterfall_labels`), the first span on top. A trace
    of more than MAX_WATERFALL_SPANS spans shows its first ones in that order and says
    so in the title (a stated simplification). Constrained layout, the report's width
    and duration formatter, legend outside the axes on the right, as in report_plots.py.
    """
    whole = trace_order(spans, trace_id)
    t0 = min(r["start_s"] for _, r in whole)
    t_end = max(r["end_s"] for _, r in whole)
    order = whole[:MAX_WATERFALL_SPANS]
    start_ms = np.array([(r["start_s"] - t0) * 1000.0 for _, r in order])
    length_ms = np.array([(r["end_s"] - r["start_s"]) * 1000.0 for _, r in order])
    status = [r["status"] for _, r in order]
    fig = Figure(figsize=(WIDTH_IN, max(2.4, 1.2 + 0.32 * len(order))), dpi=100, layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(order))
    span_ms = (t_end - t0) * 1000.0
    top_ms = span_ms if span_ms > 0 else 1.0
    shown_ms = np.maximum(length_ms, MIN_BAR * top_ms)  # an instant span still shows
    ax.barh(y, shown_ms, left=start_ms, height=0.6, color=[STATUS_COLOUR[s] for s in status])
    for i in range(len(order)):  # each bar's duration after it, or inside it near the axis's end
        end = start_ms[i] + shown_ms[i]
        inside = end > 0.8 * top_ms and shown_ms[i] > 0.25 * top_ms
        ax.text(end - 0.01 * top_ms if inside else end + 0.01 * top_ms, y[i], duration_text(length_ms[i] / 1000.0),
                va="center", ha="right" if inside else "left", fontsize="small",
                color="white" if inside else "#444")
    ax.set_xlim(0, top_ms * 1.14)  # room for the last bar's duration
    ax.set_ylim(len(order) - 0.5, -0.5)  # the first span on top
    ax.set_yticks(y, waterfall_labels(order), family="monospace", fontsize="small")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(_ms_formatter))
    ax.set_xlabel("time since the trace's start")
    root = order[0][1]
    title = f"trace {trace_id}: {root['name']}, {duration_text(span_ms / 1000.0)}"
    if len(whole) > len(order):
        title += f" (first {len(order)} of {len(whole):,} spans)"
    ax.set_title(title, loc="left", fontsize="medium")
    handles = [Patch(color=STATUS_COLOUR[s], label=s) for s in STATUSES]
    ax.legend(handles=handles, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0.0, frameon=False)
    return fig


def pick_traces(spans: pl.DataFrame, n: int = 3) -> List[int]:
    """Up to `n` trace ids worth drawing, chosen the same way for the same table, in this order:

    1. the slowest trace (duration = its latest end_s − its earliest start_s);
    2. the slowest trace with an ERROR span, if there is one and it was not picked;
    3. the median trace by duration (the lower median: index ⌊(m − 1)/2⌋ of the m traces
       sorted by duration), if not picked;
    4. then the next slowest, until n.
    Ties in duration go to the smaller trace_id, so the rows' order does not matter.
    """
    spans = _typed(spans)
    if not _is_int(n) or n < 0:
        raise ValueError(f"pick_traces: n is {n!r}, expected a whole number ≥ 0")
    per = (spans.group_by("trace_id")
           .agg((pl.col("end_s").max() - pl.col("start_s").min()).alias("duration_s"),
                (pl.col("status") == "ERROR").any().alias("error")))
    slowest = per.sort(["duration_s", "trace_id"], descending=[True, False])["trace_id"].to_list()
    by_duration = per.sort(["duration_s", "trace_id"])["trace_id"].to_list()
    errors = set(per.filter(pl.col("error"))["trace_id"].to_list())
    candidates: List[int] = []
    if slowest:
        candidates.append(slowest[0])
        candidates += [t for t in slowest if t in errors][:1]
        candidates.append(by_duration[(len(by_duration) - 1) // 2])
        candidates += slowest
    picked: List[int] = []
    for t in candidates:
        if len(picked) >= n:
            break
        if t not in picked:
            picked.append(t)
    return picked
