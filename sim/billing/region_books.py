"""The Region price books one process has read: each read and validated once, a copy per run.

A sweep's jobs in one process (the CLI's with the basic launcher, each joblib worker's)
would otherwise read and validate configs/pricing/REGION.yaml once a job (about 0.1 s
each time); a joblib worker's warm-up (sim.sweep.prewarm) reads it here before the first job.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Tuple

# Region -> its validated price book, by the file's version (modification time and size)
BOOKS: Dict[Tuple[str, int, int], Any] = {}


def region_book(data: Dict[str, Any]):
    """A copy of the price book of the scenario's `region` (what `simulate` would load), or None.

    None — and `simulate` loads the book itself, reporting any mistake in its place, after
    the scenario's own — when `region` is not a plain string or its book is missing or bad.
    """
    from scenarios.pricing_load import load_region, price_book_path

    region = data.get("region")
    if not isinstance(region, str):
        return None
    try:
        st = price_book_path(region).stat()
    except (OSError, ValueError):
        return None
    key = (region, st.st_mtime_ns, st.st_size)
    if key not in BOOKS:
        try:
            BOOKS[key] = load_region(region)
        except Exception:  # noqa: BLE001 - simulate() loads it again and says what is wrong
            return None
    return copy.deepcopy(BOOKS[key])  # a run never shares mutable rates with another
