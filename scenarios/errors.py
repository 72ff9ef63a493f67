"""ScenarioError, and the collector that gathers every problem of a scenario in one pass."""

from __future__ import annotations

from typing import Callable, List, Set, Tuple

from scenarios.yamlpath import is_within, show


class ScenarioError(ValueError):
    """A scenario with mistakes; `problems` is a list of (YAML path, message), one line each in str()."""

    def __init__(self, problems: List[Tuple[str, str]]):
        self.problems = list(problems)
        super().__init__("\n".join(f"{show(p)}: {m}" for p, m in self.problems))


class Problems:
    """Collects (path, message) pairs; a place with a structural mistake gets no further messages.

    `warnings` holds non-fatal (path, message) pairs from `warn`, for the caller to show.
    """

    def __init__(self) -> None:
        self.items: List[Tuple[str, str]] = []
        self.warnings: List[Tuple[str, str]] = []  # (path, message): allowed, but worth a word to the user
        self._broken: Set[str] = set()

    def warn(self, path: str, message: str) -> None:
        """Record something that is allowed but likely a mistake (never raised; the caller prints them)."""
        if (path, message) not in self.warnings:
            self.warnings.append((path, message))

    def broken(self, path: str, message: str) -> None:
        """Record a structural mistake (unknown key, wrong type): the value there was replaced by its default."""
        self.items.append((path, message))
        self._broken.add(path)

    def add(self, path: str, message: str) -> None:
        """Record a mistake in a value, unless it sits in a place already reported as broken."""
        if not self.is_broken(path):
            self.items.append((path, message))

    def has(self, path: str) -> bool:
        """Whether a problem has been recorded at exactly `path`."""
        return any(p == path for p, _ in self.items)

    def is_broken(self, path: str) -> bool:
        """Whether `path` is, or lies inside, a place reported as broken."""
        return any(is_within(path, b) for b in self._broken)

    def has_broken_within(self, path: str) -> bool:
        """Whether some broken place is `path` or lies inside it."""
        return any(is_within(b, path) for b in self._broken)

    def sort(self, order: Callable[[str], int]) -> None:
        """Put the problems in the order of `order(path)`, keeping the order of those at one place."""
        self.items.sort(key=lambda item: order(item[0]))

    def raise_if_any(self) -> None:
        """Raise ScenarioError listing every problem, if there are any."""
        if self.items:
            raise ScenarioError(self.items)
