"""The `cloudtwin-report DIR` command: rebuild the report of a run or of a sweep directory."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

import polars as pl
import yaml

from sim.sweep.gather import MULTIRUN, GatherError, is_sweep_dir, write_sweep
from sim.sweep.rundir import write_report
from sim.output.writers import FINISHED, SUMMARY_FILE, UNFINISHED, run_status

PROG = "cloudtwin-report"


def main(argv: Optional[List[str]] = None) -> int:
    """Rebuild report.html (a finished run) or sweep.parquet and sweep_report.html (a sweep); the exit code.

    Exit 0 when it wrote them; 2, with one line on stderr, when DIR does not exist, is a run
    that did not finish (no whole summary.json; the reason from its UNFINISHED mark when
    there is one), is a sweep none of whose jobs finished, or is neither a run nor a sweep
    (nothing is written into it). A sweep with some unfinished jobs is gathered without
    them, each named on stderr, exit 0.
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Rebuild the report of a finished run directory (it has summary.json) or "
                    f"regather a sweep directory (it has Hydra's {MULTIRUN}) into sweep.parquet "
                    "and sweep_report.html, leaving out the jobs that did not finish.",
        epilog="Exit status: 0 written; 2 the directory is missing, a run that did not finish, "
               "a sweep with no finished job, or neither a run nor a sweep.")
    parser.add_argument("dir", type=Path, help="a run or sweep directory under results/")
    d = parser.parse_args(argv).dir
    if not d.exists():
        return _refuse(f"{d} does not exist")
    if not d.is_dir():
        return _refuse(f"{d} is not a directory")
    if is_sweep_dir(d):
        try:
            out = write_sweep(d)  # names each skipped job on stderr
        except GatherError as err:
            return _refuse(str(err))
        print(f"sweep: {out.table}\nsweep report: {out.report}")
        if out.skipped:
            print(f"{PROG}: gathered {out.jobs} finished job(s); left out {len(out.skipped)} "
                  f"that did not finish", file=sys.stderr)
        return 0
    state, reason = run_status(d)
    if state == FINISHED:
        try:
            path = write_report(d)
        except (OSError, ValueError, yaml.YAMLError, pl.exceptions.PolarsError) as err:
            # whole summary, damaged tables: a run written by an older cloudtwin that was stopped
            return _refuse(f"{d}: a run file is unreadable ({' '.join(str(err).split())})")
        print(f"report: {path}")
        return 0
    if state == UNFINISHED:
        return _refuse(f"{d} is a run that did not finish: {reason}")
    return _refuse(f"{d} is neither a run directory (no {SUMMARY_FILE}, no run files) nor a sweep "
                   f"directory (no {MULTIRUN})")


def _refuse(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
