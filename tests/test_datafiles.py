"""Trace and empirical data files: every mistake caught when the scenario is built, at the key that names the file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from scenarios import ScenarioError, load_scenario
from scenarios import datafiles
from sim.engine.distributions import read_column, sampler
from sim.traffic.arrivals import make_arrival_process
from sim.engine.rng import generator

FUNCTION = {"worker": {"memory_mb": 512}}


def trace_scenario(file: str, **arrivals) -> dict:
    return {"name": "t", "duration_s": 60, "functions": FUNCTION,
            "traffic": [{"name": "replay", "target": "function:worker",
                         "arrivals": {"kind": "trace", "file": file, **arrivals}}]}


def empirical_scenario(file: str, **dist) -> dict:
    return {"name": "e", "duration_s": 60,
            "functions": {"worker": {"duration_ms": {"dist": "empirical", "file": file, **dist}}},
            "traffic": [{"name": "calls", "target": "function:worker", "arrivals": {"kind": "poisson", "rate_per_s": 1}}]}


def text(content: str):
    def write(path: Path) -> None:
        path.write_text(content)
    return write


def raw(content: bytes):
    def write(path: Path) -> None:
        path.write_bytes(content)
    return write


def parquet(**columns):
    def write(path: Path) -> None:
        pl.DataFrame(columns).write_parquet(path)
    return write


def directory(path: Path) -> None:
    path.mkdir()


def problems(data: dict, base_dir: Path) -> list:
    with pytest.raises(ScenarioError) as e:
        load_scenario(data, base_dir=base_dir)
    return e.value.problems


TRACE = "traffic[0].arrivals"
EMP = "functions.worker.duration_ms"

# (id, file name, writer or None, scenario builder kwargs, path, key words)
CASES = [
    ("trace-missing", "nope.csv", None, {}, f"{TRACE}.file", ["'nope.csv' does not exist", "looked for"]),
    ("trace-directory", "d.csv", directory, {}, f"{TRACE}.file", ["is a directory"]),
    ("trace-suffix", "t.txt", text("t_s\n1\n"), {}, f"{TRACE}.file", ["must be a .csv or .parquet file"]),
    ("trace-0-bytes", "t.csv", text(""), {}, f"{TRACE}.file", ["t.csv is empty (0 bytes)"]),
    ("trace-header-only", "t.csv", text("t_s,d_ms\n"), {}, f"{TRACE}.file", ["header but no rows"]),
    ("trace-no-time-column", "t.csv", text("ts\n1\n"), {}, f"{TRACE}.time_column",
     ["no column 't_s'", "did you mean 'ts'?", "its columns: ts"]),
    ("trace-named-time-column", "t.csv", text("t_s\n1\n"), {"time_column": "time"}, f"{TRACE}.time_column",
     ["no column 'time'", "its columns: t_s"]),
    ("trace-no-duration-column", "t.csv", text("t_s,dur_ms\n1,2\n"), {"duration_column": "dur"},
     f"{TRACE}.duration_column", ["no column 'dur'", "did you mean 'dur_ms'?", "its columns: t_s, dur_ms"]),
    ("trace-text-time", "t.csv", text("t_s\n0.5\nsoon\n2\n"), {}, f"{TRACE}.file",
     ["column 't_s'", "row 2 (line 3)", "'soon', not a number"]),
    ("trace-text-late", "t.csv", text("t_s\n" + "".join(f"{i}\n" for i in range(500)) + "oops\n"), {},
     f"{TRACE}.file", ["row 501 (line 502)", "'oops', not a number"]),
    ("trace-nan-time", "t.csv", text("t_s\n1\nNaN\n"), {}, f"{TRACE}.file", ["row 2", "'NaN'", "finite"]),
    ("trace-inf-time", "t.csv", text("t_s\n1\ninf\n"), {}, f"{TRACE}.file", ["row 2", "'inf'", "finite"]),
    ("trace-empty-cell", "t.csv", text("t_s,d_ms\n1,5\n2,\n"), {"duration_column": "d_ms"}, f"{TRACE}.file",
     ["column 'd_ms'", "row 2 (line 3) is empty"]),
    ("trace-blank-line-between", "t.csv", text("t_s\n1\n\n3\n"), {}, f"{TRACE}.file", ["row 2", "is empty"]),
    ("trace-negative-time", "t.csv", text("t_s\n-1\n2\n"), {}, f"{TRACE}.file",
     ["row 1 (line 2) is -1", "0 or more"]),
    ("trace-unsorted", "t.csv", text("t_s\n1\n3\n2\n"), {}, f"{TRACE}.file",
     ["row 3 (line 4) (2) comes before the row above it (3)", "non-decreasing", "sort the file by t_s"]),
    ("trace-negative-duration", "t.csv", text("t_s,d_ms\n1,5\n2,-4\n"), {"duration_column": "d_ms"},
     f"{TRACE}.file", ["column 'd_ms'", "row 2 (line 3) is -4", "durations (ms) must be 0 or more"]),
    ("trace-text-duration", "t.csv", text("t_s,d_ms\n1,fast\n"), {"duration_column": "d_ms"}, f"{TRACE}.file",
     ["column 'd_ms'", "row 1", "'fast', not a number"]),
    ("trace-binary-csv", "t.csv", raw(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), {}, f"{TRACE}.file",
     ["not a text (CSV) file"]),
    ("trace-parquet-named-csv", "t.csv", parquet(t_s=[1.0, 2.0]), {}, f"{TRACE}.file",
     ["is a parquet file", ".parquet suffix"]),
    ("trace-junk-parquet", "t.parquet", text("t_s\n1\n"), {}, f"{TRACE}.file", ["cannot be read as parquet"]),
    ("trace-parquet-no-rows", "t.parquet", parquet(t_s=pl.Series([], dtype=pl.Float64)), {}, f"{TRACE}.file",
     ["header but no rows"]),
    ("trace-parquet-nan", "t.parquet", parquet(t_s=[1.0, float("nan")]), {}, f"{TRACE}.file",
     ["row 2 is", "finite"]),
    ("trace-parquet-null", "t.parquet", parquet(t_s=[1.0, None, 3.0]), {}, f"{TRACE}.file", ["row 2 is empty"]),
    ("trace-parquet-text", "t.parquet", parquet(t_s=["1", "x"]), {}, f"{TRACE}.file", ["row 2 is 'x', not a number"]),
    ("trace-parquet-bool", "t.parquet", parquet(t_s=[True, False]), {}, f"{TRACE}.file", ["holds Boolean, not numbers"]),
    ("trace-parquet-unsorted", "t.parquet", parquet(t_s=[5, 1]), {}, f"{TRACE}.file", ["row 2 (1) comes before the row above it (5)"]),
    ("trace-blank-time-column", "t.csv", text("t_s\n1\n"), {"time_column": " "}, f"{TRACE}.time_column",
     ["must not be empty"]),
    ("emp-missing", "nope.csv", None, {}, f"{EMP}.file", ["'nope.csv' does not exist"]),
    ("emp-0-bytes", "d.csv", text(""), {}, f"{EMP}.file", ["empty (0 bytes)"]),
    ("emp-header-only", "d.csv", text("ms\n"), {}, f"{EMP}.file", ["header but no rows"]),
    ("emp-no-column", "d.csv", text("ms,other\n1,2\n"), {"column": "msec"}, f"{EMP}.column",
     ["no column 'msec'", "did you mean 'ms'?", "its columns: ms, other"]),
    ("emp-text", "d.csv", text("ms\n1\n2\nabc\n"), {}, f"{EMP}.file", ["column 'ms'", "row 3 (line 4)", "'abc'"]),
    ("emp-nan", "d.csv", text("ms\nnan\n"), {}, f"{EMP}.file", ["row 1", "'nan'"]),
    ("emp-negative", "d.csv", text("ms\n3\n-2\n"), {}, f"{EMP}.file", ["row 2 (line 3) is -2", "samples must be 0 or more"]),
    ("emp-negative-parquet", "d.parquet", parquet(ms=[1.0, -0.5]), {"column": "ms"}, f"{EMP}.file",
     ["row 2 is -0.5", "0 or more"]),
    ("emp-junk-parquet", "d.parquet", raw(b"PAR1 not really"), {}, f"{EMP}.file", ["cannot be read as parquet"]),
    ("emp-blank-column", "d.csv", text("ms\n1\n"), {"column": ""}, f"{EMP}.column", ["must not be empty"]),
]


@pytest.mark.parametrize("name, writer, kw, where, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_data_file_mistakes(tmp_path, name, writer, kw, where, words):
    if writer is not None:
        writer(tmp_path / name)
    build = trace_scenario if where.startswith(TRACE) else empirical_scenario
    found = problems(build(name, **kw), tmp_path)
    assert [p for p, _ in found] == [where], found
    message = found[0][1]
    for w in words:
        assert w in message, (w, message)


def test_both_trace_columns_missing_are_both_reported(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    found = problems(trace_scenario("t.csv", duration_column="dur"), tmp_path)
    assert [p for p, _ in found] == [f"{TRACE}.time_column", f"{TRACE}.duration_column"]


def test_an_unusable_file_is_reported_once(tmp_path):
    (tmp_path / "t.csv").write_text("t_s,d_ms\n")
    found = problems(trace_scenario("t.csv", duration_column="d_ms"), tmp_path)
    assert found == [(f"{TRACE}.file", "t.csv has a header but no rows")]


def test_data_files_elsewhere_are_checked_too(tmp_path):
    (tmp_path / "p.csv").write_text("ms\n-1\n")
    data = {"name": "w", "queues": {"jobs": {}},
            "worker_fleets": {"fleet": {"queue": "jobs", "processing_ms": {"dist": "empirical", "file": "p.csv"}}}}
    found = problems(data, tmp_path)
    assert [p for p, _ in found] == ["worker_fleets.fleet.processing_ms.file"]


# --- valid files ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_valid_trace_is_accepted_and_the_run_reads_the_checked_data(tmp_path, fmt):
    df = pl.DataFrame({"t_s": [0.0, 0.5, 0.5, 2.0, 59.0], "d_ms": [10.0, 0.0, 30.0, 40.5, 50.0]})
    sub = tmp_path / "traces"
    sub.mkdir()
    path = sub / f"t.{fmt}"
    df.write_csv(path) if fmt == "csv" else df.write_parquet(path)
    s = load_scenario(trace_scenario(f"traces/t.{fmt}", duration_column="d_ms"), base_dir=tmp_path)
    assert s.traffic[0].arrivals.file == str(path)  # resolved against base_dir
    p = make_arrival_process(s.traffic[0], s.duration_s, generator(0, "x"), tmp_path)
    t, d = p.take(60.0)
    assert t.tolist() == df["t_s"].to_list() and d.tolist() == df["d_ms"].to_list()


def test_csv_details_that_are_fine(tmp_path):
    (tmp_path / "t.csv").write_bytes(b"t_s,d_ms\r\n1, 2\r\n3,4\r\n\r\n\r\n")  # CRLF, spaces, blank lines at the end
    s = load_scenario(trace_scenario("t.csv", duration_column="d_ms"), base_dir=tmp_path)
    t, d = datafiles.trace_columns(Path(s.traffic[0].arrivals.file), "t_s", "d_ms")
    assert t.tolist() == [1.0, 3.0] and d.tolist() == [2.0, 4.0]


def test_valid_empirical_file_default_first_column(tmp_path):
    (tmp_path / "d.csv").write_text("ms,other\n5\n7\n")  # short rows: the missing field is the other column's
    s = load_scenario(empirical_scenario("d.csv"), base_dir=tmp_path)
    values = sampler(s.functions["worker"].duration_ms)(np.random.default_rng(0), 100)
    assert set(values.tolist()) == {5.0, 7.0}


def test_one_read_per_file_version(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("ms\n1\n2\n")
    s = load_scenario(empirical_scenario("d.csv", column="ms"), base_dir=tmp_path)
    first = read_column(s.functions["worker"].duration_ms.file, "ms")
    assert first is read_column(str(path), "ms")  # the array validation read, from the cache
    assert not first.flags.writeable
    path.write_text("ms\n1\n2\n3\n")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a new version, whatever the clock's resolution
    assert read_column(str(path), "ms").tolist() == [1.0, 2.0, 3.0]


def test_changed_file_is_checked_again(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("t_s\n1\n2\n")
    load_scenario(trace_scenario("t.csv"), base_dir=tmp_path)
    path.write_text("t_s\n2\n1\n")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert "non-decreasing" in problems(trace_scenario("t.csv"), tmp_path)[0][1]
