"""Samplers for the scenario's distributions: `sampler(dist)(gen, n)` draws n values."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np

from scenarios import datafiles
from scenarios.schema import Dist

Z_99 = 2.3263478740408408  # standard normal quantile at 0.99


def lognormal_params(d: Dist) -> tuple[float, float]:
    """(mu, sigma) of the underlying normal, from {mu, sigma} or {median, p99}."""
    if d.mu is not None:
        return float(d.mu), float(d.sigma)
    mu = math.log(d.median)
    return mu, (math.log(d.p99) - mu) / Z_99


def read_column(file: str, column: str | None, base_dir: Path | None = None) -> np.ndarray:
    """One numeric column of a CSV or parquet file (default: the first column), read-only.

    Read by `scenarios.datafiles`, the reader validation checked the file with (and cached).
    """
    path = Path(file)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return datafiles.read_column(path, column or None)


def sampler(d: Dist, base_dir: Path | None = None) -> Callable[[np.random.Generator, int], np.ndarray]:
    """A function drawing n values of `d` from a Generator."""
    if d.dist == "fixed":
        v = float(d.value)
        return lambda gen, n: np.full(n, v)
    if d.dist == "exponential":
        m = float(d.mean)
        return lambda gen, n: gen.exponential(m, n)
    if d.dist == "lognormal":
        mu, sigma = lognormal_params(d)
        return lambda gen, n: gen.lognormal(mu, sigma, n)
    if d.dist == "uniform":
        lo, hi = float(d.low), float(d.high)
        return lambda gen, n: gen.uniform(lo, hi, n)
    if d.dist == "empirical":
        values = read_column(d.file, d.column, base_dir)
        return lambda gen, n: values[gen.integers(0, len(values), n)]
    raise ValueError(f"unknown distribution {d.dist!r}")


def mean_of(d: Dist, base_dir: Path | None = None) -> float:
    """The distribution's mean (Ciw-style: distributions know their own moments)."""
    if d.dist == "fixed":
        return float(d.value)
    if d.dist == "exponential":
        return float(d.mean)
    if d.dist == "lognormal":
        mu, sigma = lognormal_params(d)
        return math.exp(mu + sigma * sigma / 2)
    if d.dist == "uniform":
        return (d.low + d.high) / 2
    return float(np.mean(read_column(d.file, d.column, base_dir)))
