"""Arrival-time generators: one ArrivalProcess per traffic source, drawn in fixed-size chunks.

Every process produces its arrivals as a sequence of sorted chunks that depends only on
its parameters and its Generator (`CHUNK` draws per refill), never on the windows it is
read with, so `take(t1)` returns bit-identical times whatever the window. Only the
current chunk is held in memory (a trace holds its file's two columns).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from scenarios import datafiles
from scenarios.schema import Arrivals, Traffic
from sim.engine.rng import CHUNK

DAY_S = 86400.0
EMPTY = np.empty(0, dtype=np.float64)


class ArrivalProcess:
    """Base of all arrival processes: hands out chunked arrival times window by window."""

    def __init__(self, arrivals: Arrivals, start_s: float, end_s: float,
                 gen: np.random.Generator, base_dir: Path, *, chunk: int = CHUNK):
        self.arrivals = arrivals
        self.start_s = float(start_s)
        self.end_s = float(end_s)
        self.gen = gen
        self.base_dir = Path(base_dir)
        self.chunk = int(chunk)
        self._t = EMPTY  # the current chunk's times (s, sorted)
        self._d = None  # its durations (ms), for traces with a duration column
        self._pos = 0  # first not-yet-returned index in the current chunk
        self._exhausted = self.end_s <= self.start_s

    def _next_chunk(self) -> tuple[np.ndarray, np.ndarray | None, bool]:
        """The next sorted chunk (times s, durations ms or None) and whether it is the last."""
        raise NotImplementedError

    def take(self, t1: float) -> tuple[np.ndarray, np.ndarray | None]:
        """All arrival times (s) in [start_s, min(t1, end_s)) not yet returned, with durations (ms)."""
        t1 = min(float(t1), self.end_s)
        t, pos = self._t, self._pos
        if pos < len(t) and t[-1] >= t1:  # the usual window: inside the current chunk
            k = pos + int(t[pos:].searchsorted(t1, side="left"))
            self._pos = k
            return t[pos:k].copy(), (None if self._d is None else self._d[pos:k].copy())
        times, durs = [], []
        while True:
            k = self._pos + int(np.searchsorted(self._t[self._pos:], t1, side="left"))
            if k > self._pos:
                times.append(self._t[self._pos:k])
                if self._d is not None:
                    durs.append(self._d[self._pos:k])
                self._pos = k
            if k < len(self._t) or self._exhausted:
                break
            self._t, self._d, self._exhausted = self._next_chunk()
            self._pos = 0
        t_out = np.concatenate(times) if times else EMPTY.copy()
        if not self.has_durations:
            return t_out, None
        return t_out, (np.concatenate(durs) if durs else EMPTY.copy())

    @property
    def has_durations(self) -> bool:
        return False

    def expected_count(self, t0: float, t1: float) -> float:
        """The mean number of arrivals in [t0, t1) (the integral of the rate over it)."""
        a, b = max(t0, self.start_s), min(t1, self.end_s)
        return self._cumulative(b) - self._cumulative(a) if b > a else 0.0

    def _cumulative(self, t: float) -> float:
        """The mean number of arrivals in [start_s, t), for start_s <= t <= end_s."""
        raise NotImplementedError

    def horizon(self, t0: float, n: float) -> float:
        """The time t > t0 by which n arrivals are expected from t0 on (where the mean count
        from t0 reaches n), or math.inf when fewer than n are expected before end_s; for
        sizing windows (sim.engine.clock), so an estimate is good enough."""
        a = max(float(t0), self.start_s)
        if a >= self.end_s:
            return math.inf
        c = self._cumulative(a) + n
        if not c <= self._cumulative(self.end_s):
            return math.inf
        t = self._inverse(c)
        return t if t > t0 else math.nextafter(t0, math.inf)

    def _inverse(self, c: float) -> float:
        """A time t in [start_s, end_s] with _cumulative(t) close to c (0 < c <= the total):
        bisection to about 1e-14 of the span (overridden where a closed form exists)."""
        lo, hi = self.start_s, self.end_s
        for _ in range(48):
            mid = 0.5 * (lo + hi)
            if self._cumulative(mid) < c:
                lo = mid
            else:
                hi = mid
        return hi


def _arrival_chunk(gen: np.random.Generator, n: int, mean_gap: float, last: float) -> np.ndarray:
    """`last` plus the cumulative sum of n exponential gaps of mean `mean_gap`, drawn as one chunk.

    Same values as `last + np.cumsum(gen.exponential(mean_gap, n))`, computed in place (faster).
    """
    x = gen.standard_exponential(n)
    x *= mean_gap
    np.cumsum(x, out=x)
    x += last
    return x


def _rate(arrivals: Arrivals) -> float:
    if arrivals.rate_per_s is None or not arrivals.rate_per_s >= 0:
        raise ValueError(f"arrivals kind {arrivals.kind!r} needs rate_per_s >= 0, got {arrivals.rate_per_s!r}")
    return float(arrivals.rate_per_s)


class ConstantArrivals(ArrivalProcess):
    """Evenly spaced arrivals: t_i = start_s + i / rate_per_s, i = 0, 1, …"""

    def __init__(self, arrivals, start_s, end_s, gen, base_dir, **kw):
        super().__init__(arrivals, start_s, end_s, gen, base_dir, **kw)
        self.rate_per_s = _rate(arrivals)
        self._i0 = 0
        self._exhausted |= self.rate_per_s == 0

    def _next_chunk(self):
        i = np.arange(self._i0, self._i0 + self.chunk, dtype=np.float64)
        self._i0 += self.chunk
        t = self.start_s + i / self.rate_per_s
        return t, None, bool(t[-1] >= self.end_s)

    def _cumulative(self, t):
        return self.rate_per_s * (t - self.start_s)

    def _inverse(self, c):
        return self.start_s + c / self.rate_per_s


class PoissonArrivals(ArrivalProcess):
    """A homogeneous Poisson process: exponential gaps, cumulative sum carried across chunks."""

    def __init__(self, arrivals, start_s, end_s, gen, base_dir, **kw):
        super().__init__(arrivals, start_s, end_s, gen, base_dir, **kw)
        self.rate_per_s = _rate(arrivals)
        self._last_s = self.start_s
        self._exhausted |= self.rate_per_s == 0

    def _next_chunk(self):
        t = _arrival_chunk(self.gen, self.chunk, 1.0 / self.rate_per_s, self._last_s)
        self._last_s = float(t[-1])
        return t, None, self._last_s >= self.end_s

    def _cumulative(self, t):
        return self.rate_per_s * (t - self.start_s)

    def _inverse(self, c):
        return self.start_s + c / self.rate_per_s


class DiurnalArrivals(ArrivalProcess):
    """Poisson with rate(t) = rate·(1 + A·cos(2π(t/3600 − peak_time_h)/24)), by exact thinning.

    A = (r − 1)/(r + 1) with r = peak_to_trough, so max/min = r and the 24 h mean is rate_per_s.
    Each chunk draws `chunk` exponential gaps at the peak rate, then `chunk` uniforms.
    """

    def __init__(self, arrivals, start_s, end_s, gen, base_dir, **kw):
        super().__init__(arrivals, start_s, end_s, gen, base_dir, **kw)
        self.rate_per_s = _rate(arrivals)
        r = float(arrivals.peak_to_trough)
        if not r >= 1.0 or math.isinf(r):
            raise ValueError(f"diurnal peak_to_trough must be finite and >= 1, got {r!r}")
        self.amplitude = (r - 1.0) / (r + 1.0)
        self.peak_time_h = float(arrivals.peak_time_h)
        self.peak_rate_per_s = self.rate_per_s * (1.0 + self.amplitude)
        self._last_s = self.start_s
        self._exhausted |= self.rate_per_s == 0

    def _phase(self, t):
        return 2.0 * np.pi * (t / 3600.0 - self.peak_time_h) / 24.0

    def _next_chunk(self):
        cand = _arrival_chunk(self.gen, self.chunk, 1.0 / self.peak_rate_per_s, self._last_s)
        u = self.gen.random(self.chunk)
        self._last_s = float(cand[-1])
        return cand[self._accept(cand, u)], None, self._last_s >= self.end_s

    def _accept(self, cand, u):
        """Thinning, u·λ_max < λ(t), deciding most candidates from bounds of cos over the chunk.

        The bounds are widened by 1e-12, far beyond rounding, so every candidate gets the
        decision the full test `u·(1 + A) < 1 + A·cos(phase)` would give it; cos is
        evaluated only where the bounds cannot decide.
        """
        a = self.amplitude
        lhs = u * (1.0 + a)
        cos_lo, cos_hi = _cos_bounds(float(self._phase(cand[0])), float(self._phase(cand[-1])))
        keep = lhs < 1.0 + a * cos_lo - 1e-12
        unsure = ~keep & (lhs < 1.0 + a * cos_hi + 1e-12)
        if unsure.any():
            keep[unsure] = lhs[unsure] < 1.0 + a * np.cos(self._phase(cand[unsure]))
        return keep

    def _cumulative(self, t):
        sin_term = (np.sin(self._phase(t)) - np.sin(self._phase(self.start_s))) * DAY_S / (2 * np.pi)
        return float(self.rate_per_s * ((t - self.start_s) + self.amplitude * sin_term))


def _cos_bounds(phase0: float, phase1: float) -> tuple[float, float]:
    """Bounds of cos over [phase0, phase1] (radians): cos at the middle ± half the width, as |cos'| <= 1."""
    c, half = math.cos(0.5 * (phase0 + phase1)), 0.5 * (phase1 - phase0)
    return max(-1.0, c - half), min(1.0, c + half)


class StepArrivals(ArrivalProcess):
    """Poisson with a piecewise-constant rate: unit-rate arrivals mapped through Λ⁻¹.

    The rate is that of the last step with at_s <= t (0 before the first step; steps are
    sorted by at_s, stably, so the later of two steps at the same time wins).
    """

    def __init__(self, arrivals, start_s, end_s, gen, base_dir, **kw):
        super().__init__(arrivals, start_s, end_s, gen, base_dir, **kw)
        steps = sorted(arrivals.steps, key=lambda s: float(s.at_s))
        for s in steps:
            if not float(s.rate_per_s) >= 0:
                raise ValueError(f"steps: rate_per_s must be >= 0, got {s.rate_per_s!r}")
        inside = [s for s in steps if self.start_s < float(s.at_s) < self.end_s]
        before = [s for s in steps if float(s.at_s) <= self.start_s]
        # Segment k is [bp_s[k], bp_s[k+1]) at rate_per_s[k]; bp_s ends at end_s.
        self.bp_s = np.array([self.start_s] + [float(s.at_s) for s in inside] + [max(self.end_s, self.start_s)])
        rates = [float(before[-1].rate_per_s) if before else 0.0] + [float(s.rate_per_s) for s in inside]
        self.rate_per_s = np.array(rates, dtype=np.float64)
        self.cum = np.concatenate([[0.0], np.cumsum(self.rate_per_s * np.diff(self.bp_s))])  # Λ at bp_s
        self._last = 0.0  # unit-rate time reached
        self._exhausted |= self.cum[-1] <= 0.0

    def _next_chunk(self):
        s = _arrival_chunk(self.gen, self.chunk, 1.0, self._last)
        self._last = float(s[-1])
        s = s[s < self.cum[-1]]
        if len(s) == 0:
            return EMPTY, None, self._last >= self.cum[-1]
        k0, k1 = np.searchsorted(self.cum, [s[0], s[-1]], side="right") - 1
        if k0 == k1:  # the whole chunk inside one segment: same arithmetic, scalar k
            t = np.minimum(self.bp_s[k0] + (s - self.cum[k0]) / self.rate_per_s[k0], self.bp_s[k0 + 1])
        else:
            k = np.searchsorted(self.cum, s, side="right") - 1  # Λ_k <= s < Λ_{k+1}, so rate_k > 0
            t = np.minimum(self.bp_s[k] + (s - self.cum[k]) / self.rate_per_s[k], self.bp_s[k + 1])
        return t, None, self._last >= self.cum[-1]

    def _cumulative(self, t):
        return float(np.interp(t, self.bp_s, self.cum))

    def _inverse(self, c):
        k = int(np.searchsorted(self.cum, c, side="left"))  # cum[k-1] < c <= cum[k]: segment k-1 has rate > 0
        return float(self.bp_s[k - 1] + (c - self.cum[k - 1]) / self.rate_per_s[k - 1])


class TraceArrivals(ArrivalProcess):
    """Arrival times (and optional durations, ms) replayed from a CSV or parquet file."""

    def __init__(self, arrivals, start_s, end_s, gen, base_dir, **kw):
        super().__init__(arrivals, start_s, end_s, gen, base_dir, **kw)
        self.path = trace_path(arrivals, self.base_dir)
        self._times_s, self._durations_ms = read_trace(self.path, arrivals.time_column, arrivals.duration_column)
        lo, hi = np.searchsorted(self._times_s, [self.start_s, self.end_s], side="left")
        self._times_s = self._times_s[lo:hi]
        if self._durations_ms is not None:
            self._durations_ms = self._durations_ms[lo:hi]
        self._i0 = 0
        self._exhausted |= len(self._times_s) == 0

    @property
    def has_durations(self) -> bool:
        return self._durations_ms is not None

    def _next_chunk(self):
        i0, i1 = self._i0, self._i0 + self.chunk
        self._i0 = i1
        d = None if self._durations_ms is None else self._durations_ms[i0:i1]
        return self._times_s[i0:i1], d, i1 >= len(self._times_s)

    def _cumulative(self, t):
        return float(np.searchsorted(self._times_s, t, side="left"))

    def _inverse(self, c):
        # just after row ceil(c) - 1: the window [t0, t) holds it and every row at its instant
        return math.nextafter(float(self._times_s[math.ceil(c) - 1]), math.inf)


def trace_path(arrivals: Arrivals, base_dir: Path) -> Path:
    """The trace file, resolved against `base_dir` when relative."""
    if not arrivals.file:
        raise ValueError("arrivals kind 'trace' needs a file")
    path = Path(arrivals.file)
    return path if path.is_absolute() else Path(base_dir) / path


def read_trace(path: Path, time_column: str, duration_column: str | None):
    """Times (s, float64, stably sorted) and durations (ms, aligned, or None) from a trace file.

    Read by `scenarios.datafiles`, the reader validation checked the file with (it refuses
    unsorted times; a trace given here directly is sorted, stably).
    """
    times_s, durations_ms = datafiles.trace_columns(path, time_column, duration_column or None)
    if np.any(times_s[1:] < times_s[:-1]):
        order = np.argsort(times_s, kind="stable")
        times_s = times_s[order]
        durations_ms = None if durations_ms is None else durations_ms[order]
    return np.ascontiguousarray(times_s), (None if durations_ms is None else np.ascontiguousarray(durations_ms))


KINDS = {
    "constant": ConstantArrivals,
    "poisson": PoissonArrivals,
    "diurnal": DiurnalArrivals,
    "steps": StepArrivals,
    "trace": TraceArrivals,
}


def make_arrival_process(traffic: Traffic, duration_s: float, gen: np.random.Generator,
                         base_dir: Path) -> ArrivalProcess:
    """The arrival process of one traffic source over [start_s, min(end_s, duration_s))."""
    kind = traffic.arrivals.kind
    if kind not in KINDS:
        raise ValueError(f"traffic {traffic.name!r}: unknown arrivals kind {kind!r}; one of {sorted(KINDS)}")
    end_s = duration_s if traffic.end_s is None else min(float(traffic.end_s), float(duration_s))
    return KINDS[kind](traffic.arrivals, traffic.start_s, end_s, gen, base_dir)
