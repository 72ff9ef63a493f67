"""Reads the data files scenarios name (arrival traces, empirical samples) and says what is wrong with them.

One reader serves validation (`scenarios.dists`, at build time) and the simulation
(`sim.traffic.arrivals`, `sim.engine.distributions`), so a run uses exactly the numbers that were checked.
A column is read once per version of its file: results are cached by (path, modification
time, size, column), and the cached arrays are read-only.

CSV files are read with every column as text and converted here, so a stray word in row
10,000 is reported with its row number instead of failing polars' type inference.
Rows are numbered from 1, the first row under the header; in a CSV file row N is line N + 1
(simplification: a quoted field spanning lines shifts the line count). Blank lines at the
end of a CSV file are ignored; a blank line between rows is an empty value.
"""

from __future__ import annotations

import difflib
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from scenarios.yamlpath import num

PARQUET_SUFFIXES = (".parquet", ".pq")
# How many cached columns are kept (each is one float64 array of the file's rows).
CACHE_COLUMNS = 16


@dataclass(frozen=True)
class Issue:
    """One thing wrong with a data file: `key` is "file" or the column it concerns; `message` says what."""

    key: str
    message: str


class DataFileError(ValueError):
    """A data file that cannot be used; `issues` lists why (str() joins them)."""

    def __init__(self, issues: Sequence[Issue]):
        self.issues = list(issues)
        super().__init__("; ".join(i.message for i in self.issues))


def is_parquet(path: Path) -> bool:
    return Path(path).suffix.lower() in PARQUET_SUFFIXES


def _stamp(path: Path) -> Tuple[str, int, int]:
    """(absolute path, mtime ns, size): the cache key of a file version; raises DataFileError if absent."""
    full = os.path.abspath(path)
    try:
        st = os.stat(full)
    except OSError as e:
        raise DataFileError([Issue("file", f"{path} cannot be read: {e.strerror or e}")]) from e
    if not os.path.isfile(full):
        raise DataFileError([Issue("file", f"{path} is not a file")])
    return full, st.st_mtime_ns, st.st_size


def columns_of(path: Path) -> List[str]:
    """The column names of a CSV or parquet file; DataFileError if it is empty or unreadable."""
    return list(_columns(*_stamp(path)))


@functools.lru_cache(maxsize=64)
def _columns(full: str, mtime_ns: int, size: int) -> Tuple[str, ...]:
    import polars as pl  # only data files need it; kept off the start-up path

    name = Path(full).name
    if size == 0:
        raise DataFileError([Issue("file", f"{name} is empty (0 bytes)")])
    if not is_parquet(Path(full)):
        _check_text(full, name)
    try:
        if is_parquet(Path(full)):
            names = pl.read_parquet_schema(full).keys()
        else:
            names = pl.read_csv(full, n_rows=0, infer_schema=False).columns
    except Exception as e:  # polars raises several types for a malformed file
        kind = "parquet" if is_parquet(Path(full)) else "CSV"
        raise DataFileError([Issue("file", f"{name} cannot be read as {kind}: {_first_line(e)}")]) from e
    names = tuple(names)
    if not names or names == ("",):
        raise DataFileError([Issue("file", f"{name} has no header row (a first line naming the columns)")])
    return names


def _check_text(full: str, name: str) -> None:
    """DataFileError unless the file's start reads as UTF-8 text (a CSV file)."""
    with open(full, "rb") as f:
        head = f.read(4096)
    if head.startswith(b"PAR1"):
        raise DataFileError([Issue("file", f"{name} is a parquet file; give it the .parquet suffix")])
    try:
        head.decode("utf-8")
        text = True
    except UnicodeDecodeError as e:
        text = e.start >= len(head) - 3  # a character cut at the end of the 4 KiB read
    if not text or b"\x00" in head:
        raise DataFileError([Issue("file", f"{name} is not a text (CSV) file")])


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def missing_column(path: Path, column: str, names: Sequence[str]) -> str:
    """`trace.csv has no column 'ts' (did you mean 't_s'?); its columns: t_s, dur_ms`."""
    close = difflib.get_close_matches(column, list(names), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{Path(path).name} has no column {column!r}{hint}; its columns: {', '.join(names)}"


def read_column(path: Path, column: Optional[str] = None, key: str = "column") -> np.ndarray:
    """Column `column` (default: the first) of a CSV or parquet file as float64, read-only.

    DataFileError (its issue at `key` for a missing column, else at "file") if the file is
    missing, empty, unreadable or has no rows, or a value is not a finite number.
    """
    full, mtime_ns, size = _stamp(path)
    names = _columns(full, mtime_ns, size)
    if column is None:
        column = names[0]
    elif column not in names:
        raise DataFileError([Issue(key, missing_column(path, column, names))])
    return _read(full, mtime_ns, size, column)


@functools.lru_cache(maxsize=CACHE_COLUMNS)
def _read(full: str, mtime_ns: int, size: int, column: str) -> np.ndarray:
    import polars as pl

    name = Path(full).name
    try:
        if is_parquet(Path(full)):
            s = pl.read_parquet(full, columns=[column]).to_series()
        else:
            s = pl.read_csv(full, columns=[column], infer_schema=False).to_series()
            s = s.head(len(s) - _trailing_blank_rows(full, s))
    except Exception as e:
        kind = "parquet" if is_parquet(Path(full)) else "CSV"
        raise DataFileError([Issue("file", f"{name} cannot be read as {kind}: {_first_line(e)}")]) from e
    if len(s) == 0:
        raise DataFileError([Issue("file", f"{name} has a header but no rows")])
    values = _numbers(s, name, column, csv=not is_parquet(Path(full)))
    values.setflags(write=False)
    return values


def clear_cache() -> None:
    """Forget every cached column and header (long sessions reading many large files)."""
    _read.cache_clear()
    _columns.cache_clear()


def _trailing_blank_rows(full: str, s) -> int:
    """How many rows at the end of the column come from blank lines at the end of the CSV file."""
    with open(full, "rb") as f:
        f.seek(max(0, os.path.getsize(full) - 256))
        tail = f.read()
    run = len(tail) - len(tail.rstrip(b"\r\n \t"))
    k = max(0, tail[len(tail) - run:].count(b"\n") - 1)  # the first newline ends the last data line
    k = min(k, len(s))
    while k and s[len(s) - k] not in (None, ""):
        k -= 1
    return k


def _numbers(s, name: str, column: str, csv: bool) -> np.ndarray:
    """The series as finite float64 numbers, or DataFileError naming the first bad row."""
    import polars as pl

    if s.dtype == pl.Boolean or not (s.dtype.is_numeric() or s.dtype == pl.String):
        raise DataFileError([Issue("file", f"column {column!r} of {name} holds {s.dtype}, not numbers")])
    if s.dtype == pl.String:
        text = s.str.strip_chars()
        x = text.cast(pl.Float64, strict=False)
    else:
        text, x = s, s.cast(pl.Float64)
    values = x.to_numpy()  # nulls become NaN
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        raw = text[i]
        where = _row(i, csv)
        if raw is None or raw == "":
            what = "is empty"
        elif np.isnan(values[i]) and not _reads_as_nan(raw):
            what = f"is {raw!r}, not a number"
        else:
            what = f"is {raw!r}; values must be finite numbers"
        raise DataFileError([Issue("file", f"column {column!r} of {name}: {where} {what}")])
    return np.ascontiguousarray(values, dtype=np.float64)


def _reads_as_nan(raw) -> bool:
    try:
        return bool(np.isnan(float(raw)))
    except (TypeError, ValueError):
        return False


def _first_negative(values: np.ndarray) -> Optional[int]:
    neg = values < 0
    return int(np.argmax(neg)) if neg.any() else None


def _row(i: int, csv: bool) -> str:
    return f"row {i + 1}" + (f" (line {i + 2})" if csv else "")


def trace_columns(path: Path, time_column: str, duration_column: Optional[str]) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """A trace's times (s) and durations (ms, or None), as read: not sorted, not checked beyond being numbers.

    DataFileError lists every problem of both columns (missing ones at "time_column" /
    "duration_column", others at "file").
    """
    issues: List[Issue] = []
    out: Dict[str, Optional[np.ndarray]] = {"time_column": None, "duration_column": None}
    for k, col in (("time_column", time_column), ("duration_column", duration_column)):
        if col is None:
            continue
        try:
            out[k] = read_column(path, col, key=k)
        except DataFileError as e:
            issues += [i for i in e.issues if i not in issues]  # a file-level problem once, not per column
    if issues:
        raise DataFileError(issues)
    return out["time_column"], out["duration_column"]


def check_trace(path: Path, time_column: str, duration_column: Optional[str]) -> List[Issue]:
    """Everything wrong with a trace: the reads above, plus negative or decreasing times and negative durations."""
    try:
        times, durations = trace_columns(path, time_column, duration_column)
    except DataFileError as e:
        return e.issues
    csv = not is_parquet(path)
    name = Path(path).name
    issues = []
    i = _first_negative(times)
    if i is not None:
        issues.append(Issue("file", f"column {time_column!r} of {name}: {_row(i, csv)} is {_num(times[i])};"
                                    " arrival times are seconds from the scenario start, 0 or more"))
    back = np.flatnonzero(times[1:] < times[:-1])
    if len(back):
        j = int(back[0]) + 1
        issues.append(Issue("file", f"column {time_column!r} of {name}: {_row(j, csv)} ({_num(times[j])}) comes"
                                    f" before the row above it ({_num(times[j - 1])}); arrival times must be in"
                                    f" non-decreasing order (sort the file by {time_column})"))
    if durations is not None:
        i = _first_negative(durations)
        if i is not None:
            issues.append(Issue("file", f"column {duration_column!r} of {name}: {_row(i, csv)} is"
                                        f" {_num(durations[i])}; durations (ms) must be 0 or more"))
    return issues


def check_samples(path: Path, column: Optional[str]) -> List[Issue]:
    """Everything wrong with an empirical distribution's samples: the read, plus negative values."""
    try:
        values = read_column(path, column)
    except DataFileError as e:
        return e.issues
    i = _first_negative(values)
    if i is None:
        return []
    name = Path(path).name
    col = column if column is not None else columns_of(path)[0]
    return [Issue("file", f"column {col!r} of {name}: {_row(i, not is_parquet(path))} is {_num(values[i])};"
                          " samples must be 0 or more")]


def _num(v: np.floating) -> str:
    return num(float(v))
