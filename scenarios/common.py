"""What several scenario modules share: the probability distribution (`Dist`) and the parameters each kind takes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

# Distribution kinds and the parameters each takes (docs/DESIGN.md §5).
DIST_PARAMS: Dict[str, tuple] = {
    "fixed": ("value",),
    "exponential": ("mean",),
    "lognormal": ("median", "p99", "mu", "sigma"),  # either {median, p99} or {mu, sigma}
    "uniform": ("low", "high"),
    "empirical": ("file", "column"),
}


@dataclass
class Dist:
    """A probability distribution over a non-negative quantity; the unit is the field name's."""

    dist: str = "fixed"
    value: Optional[float] = None
    mean: Optional[float] = None
    median: Optional[float] = None
    p99: Optional[float] = None
    mu: Optional[float] = None
    sigma: Optional[float] = None
    low: Optional[float] = None
    high: Optional[float] = None
    file: Optional[str] = None  # CSV or parquet; relative paths resolve against the scenario file or CWD
    column: Optional[str] = None  # column of `file` (default: the first column)
