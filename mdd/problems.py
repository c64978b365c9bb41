"""A problem found in a manifest, and the error that carries all of them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One mistake, where it was written (1-based line and column) and what to do."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:  # the shape compilers and linters print; editors link it
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class ManifestError(Exception):
    """A manifest has problems; ``problems`` lists every one, sorted by position."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        unique = list(dict.fromkeys(problems))
        self.problems: list[Problem] = sorted(unique, key=lambda p: (p.file, p.line, p.column))
        first = str(self.problems[0]) if self.problems else "no details"
        more = len(self.problems) - 1
        super().__init__(first + (f" (and {more} more)" if more > 0 else ""))
