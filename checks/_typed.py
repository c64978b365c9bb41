"""The options most check types share, typed for mypy: the bases of each type's ``Opts``.

Imported only under ``TYPE_CHECKING`` (never at run time). tests/test_typed_options.py reads
a type's ``Opts`` with its bases and holds it to the type's ``OPTIONS``.
"""

from __future__ import annotations

from typing import Protocol


class Common(Protocol):
    """What every check has: ``point`` (COMMON_OPTIONS) and ``timeout``."""

    point: str | None
    timeout: float


class Timed(Common, Protocol):
    """A check whose ``warn`` and ``crit`` are thresholds on a time."""

    warn: float | None
    crit: float | None


class Endpoint(Timed, Protocol):
    """A timed check of one server: ``host`` and ``port``."""

    host: str
    port: int
