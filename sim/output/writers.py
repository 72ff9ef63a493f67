"""Writers: put one run's summary, tables, resolved config and report into a directory, each file atomically."""

from __future__ import annotations

import json
import os
import re
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

import yaml

from sim.output.plain import json_safe
from sim.output.result import Result

# The mark of a finished run: written last, so a directory holding it holds every output.
SUMMARY_FILE = "summary.json"
# The mark of a run stopped on purpose (Ctrl-C): its reason and when (`mark_unfinished`).
UNFINISHED_FILE = "UNFINISHED"
# What `run_state` answers.
FINISHED, UNFINISHED, NOT_A_RUN = "finished", "unfinished", "not a run"
# Names that make a directory a run's (finished or not): the outputs of `write_run`, the
# mark, Hydra's per-job folder and log (`hydra.job.name` is cloudtwin).
RUN_FILES = (SUMMARY_FILE, "metrics.parquet", "costs.parquet", "requests.parquet",
             "traces.parquet", "flow_logs.parquet", "config.yaml", "report.html", UNFINISHED_FILE, ".hydra",
             "cloudtwin.log")
# Outputs `write_run` writes only for some runs: removed when a run rewrites a directory
# and does not write them, so the directory holds one run's files.
OPTIONAL_FILES = ("requests.parquet", "traces.parquet", "flow_logs.parquet", "report.html")
# Hydra's sweeper writes it into a sweep directory: such a directory is a sweep, not a run,
# whatever else it holds (the multirun's own log, for one).
MULTIRUN_FILE = "multirun.yaml"
# A temporary file of `atomic_path`: `.NAME.tmp-PID`.
_TMP = re.compile(r"\..+\.tmp-\d+")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary name beside `path` (`.NAME.tmp-PID`) to write; rename it onto `path` on success.

    Readers see the old file or the whole new one, never part of one: `os.replace` is atomic
    within a file system. If the block raises (KeyboardInterrupt included) the temporary file
    is removed and `path` is left as it was. Simplification: nothing is fsync'ed, so this
    holds when the process is stopped or killed, not when the machine loses power; and two
    threads of one process must not write the same path at once (they share the name).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` through a temporary file and a rename; `path`."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_parquet_atomic(df, path: Path) -> Path:
    """Write the polars DataFrame `df` to `path` through a temporary file and a rename; `path`."""
    with atomic_path(path) as tmp:
        df.write_parquet(tmp)
    return Path(path)


def write_summary(summary: Dict[str, Any], path: Path) -> Path:
    """summary.json: indent 2, floats as computed, NaN and infinities as null; written atomically."""
    return write_text_atomic(path, json.dumps(json_safe(summary), indent=2, allow_nan=False) + "\n")


def write_config(config: Dict[str, Any], path: Path) -> Path:
    """config.yaml: the resolved scenario, keys in their given order; written atomically."""
    return write_text_atomic(path, yaml.safe_dump(json_safe(config), sort_keys=False, allow_unicode=True))


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """SIGINT held back in this thread (delivered, as a KeyboardInterrupt, when the block ends)
    where the platform allows it; otherwise nothing."""
    import signal

    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None:
        yield
        return
    old = mask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        mask(signal.SIG_SETMASK, old)


def write_run(result: Result, out_dir) -> Dict[str, Path]:
    """Write every output of `result` into `out_dir` (created if missing); paths by name.

    Names: summary, metrics, costs, requests (only when requests were sampled), traces (only
    when spans were sampled: `Result.traces` has a row), flow_logs (when the scenario has VPCs),
    config,
    report (unless the scenario's `record.report` is false — the CLI makes `auto` false for
    a sweep's job: drawing the plots took about half a short job's time; `cloudtwin-report
    DIR` draws one later).

    Safe against interruption: each file is written to a temporary name and renamed into
    place, and `summary.json` comes last, so a directory holds `summary.json` only once every
    other output is whole (`run_state` is then "finished"). Rewriting a directory first
    removes its old summary.json (it is unfinished until the new one lands), removes the
    optional outputs this run does not write, and removes an `UNFINISHED` mark just before
    the new summary.json. A new directory holds such a mark ("being written") from the moment
    it exists, so an interrupted writer never leaves an empty directory (not a run).
    """
    out = Path(out_dir)
    if not out.is_dir():
        # a new directory is a run from its first instant: it is made and marked `being written`
        # with Ctrl-C held back (a KeyboardInterrupt between the two left an empty directory, not
        # a run; a SIGKILL can still land in those few microseconds)
        with _sigint_deferred():
            out.mkdir(parents=True, exist_ok=True)
            mark_unfinished(out, "being written")
    (out / SUMMARY_FILE).unlink(missing_ok=True)
    paths: Dict[str, Path] = {}
    paths["metrics"] = write_parquet_atomic(result.metrics, out / "metrics.parquet")
    paths["costs"] = write_parquet_atomic(result.costs, out / "costs.parquet")
    if result.requests is not None and result.requests.height > 0:
        paths["requests"] = write_parquet_atomic(result.requests, out / "requests.parquet")
    if result.traces is not None and result.traces.height > 0:
        paths["traces"] = write_parquet_atomic(result.traces, out / "traces.parquet")
    if result.flow_logs is not None:
        paths["flow_logs"] = write_parquet_atomic(result.flow_logs, out / "flow_logs.parquet")
    paths["config"] = write_config(result.config, out / "config.yaml")
    if (result.config.get("record") or {}).get("report", "auto") is not False:  # true or auto
        from sim.output.report import build_report  # matplotlib (0.7 s to import) only when reporting

        paths["report"] = write_text_atomic(out / "report.html", build_report(result))
    for name in OPTIONAL_FILES:
        if name.split(".")[0] not in paths:
            (out / name).unlink(missing_ok=True)
    (out / UNFINISHED_FILE).unlink(missing_ok=True)
    paths["summary"] = write_summary(result.summary, out / SUMMARY_FILE)
    return {name: paths[name] for name in ("summary", "metrics", "costs", "requests", "traces", "flow_logs",
                                           "config", "report") if name in paths}


# ---------------------------------------------------------------- finished or not

class UnfinishedRun(Exception):
    """A run directory without a readable summary.json; `reason` says why, in words."""

    def __init__(self, run_dir: Path, reason: str):
        super().__init__(f"{run_dir}: {reason}")
        self.run_dir, self.reason = Path(run_dir), reason


def mark_unfinished(out_dir, reason: str) -> Optional[Path]:
    """Write `out_dir/UNFINISHED` (atomically): `reason` on its first line, the UTC time on the second.

    Called when a run is stopped (Ctrl-C) after its directory exists. Does nothing and
    returns None when `out_dir` does not exist or the run already finished (it holds a
    whole summary.json: the outputs are whole, whatever stopped the process afterwards).
    """
    out = Path(out_dir)
    if not out.is_dir():
        return None
    try:
        read_summary(out)
        return None
    except UnfinishedRun:
        pass
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = f"{' '.join(str(reason).split()) or 'stopped'}\nmarked unfinished at {now} (pid {os.getpid()})\n"
    return write_text_atomic(out / UNFINISHED_FILE, text)


def unfinished_reason(run_dir: Path) -> str:
    """Why the run in `run_dir` has no summary: its UNFINISHED mark's reason and time, or what is missing."""
    mark = Path(run_dir) / UNFINISHED_FILE
    if mark.is_file():
        try:
            lines = mark.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as err:
            return f"it was marked unfinished (the mark is unreadable: {err.strerror})"
        reason = lines[0].strip() if lines and lines[0].strip() else "no reason given"
        when = f", {lines[1].strip()}" if len(lines) > 1 and lines[1].strip() else ""
        return f"it was stopped: {reason}{when}"
    return f"it has no {SUMMARY_FILE}: the run stopped before writing its outputs"


def read_summary(run_dir) -> Dict[str, Any]:
    """The summary of the finished run in `run_dir`; UnfinishedRun if it has none or it is not whole JSON.

    A summary.json that does not parse (cut short by an older writer, or edited) or is not a
    JSON object counts as missing: the run is unfinished.
    """
    d = Path(run_dir)
    path = d / SUMMARY_FILE
    if not path.is_file():
        raise UnfinishedRun(d, unfinished_reason(d))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise UnfinishedRun(d, f"its {SUMMARY_FILE} is unreadable ({_one_line(err)}), "
                               "so it was cut short") from None
    if not isinstance(data, dict):
        raise UnfinishedRun(d, f"its {SUMMARY_FILE} holds a JSON {type(data).__name__}, not an object")
    return data


def is_run_dir(path) -> bool:
    """Whether `path` is a directory holding any of a run's files (RUN_FILES or a temporary file) and is not a sweep's."""
    d = Path(path)
    if not d.is_dir() or (d / MULTIRUN_FILE).is_file():
        return False
    if any((d / name).exists() for name in RUN_FILES):
        return True
    return any(_TMP.fullmatch(p.name) for p in d.iterdir())


def run_status(run_dir) -> Tuple[str, str]:
    """(run_state, reason): the reason says why an unfinished run is so ('' otherwise)."""
    d = Path(run_dir)
    if not is_run_dir(d):
        return NOT_A_RUN, ""
    try:
        read_summary(d)
    except UnfinishedRun as err:
        return UNFINISHED, err.reason
    return FINISHED, ""


def run_state(run_dir) -> str:
    """"finished" (a readable summary.json), "unfinished" (a run's files without one) or "not a run"."""
    return run_status(run_dir)[0]


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__
