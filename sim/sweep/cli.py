"""The `cloudtwin-report DIR` command: rebuild the report of a run or of a sweep directory."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from sim.sweep.gather import SUMMARY, job_dirs, write_sweep
from sim.sweep.rundir import write_report


def main(argv: Optional[List[str]] = None) -> int:
    """Rebuild report.html (a run directory) or sweep.parquet and sweep_report.html (a sweep)."""
    parser = argparse.ArgumentParser(
        prog="cloudtwin-report",
        description="Rebuild the report of a run directory (it has summary.json) or regather a "
                    "sweep directory (its job subdirectories have one) into sweep.parquet and "
                    "sweep_report.html.")
    parser.add_argument("dir", type=Path, help="a run or sweep directory under results/")
    d = parser.parse_args(argv).dir
    if (d / SUMMARY).is_file():
        print(f"report: {write_report(d)}")
        return 0
    if d.is_dir() and job_dirs(d):
        paths = write_sweep(d)
        print(f"sweep: {paths['table']}\nsweep report: {paths['report']}")
        return 0
    print(f"cloudtwin-report: {d} is neither a run directory (no {SUMMARY}) nor a sweep "
          f"directory (no job directory below it has one)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
