"""Read a datacenter's manifest and check everything about it before anything is generated.

``load(path)`` returns a ``mdd.core.model.Manifest`` or raises ``ManifestError`` listing every
problem (not only the first), each with the line and column where it was written.

The stages, one module each: ``source`` reads the file; ``yamlload`` reads YAML and remembers
where every value was written; ``layers`` merges ``extends:`` bases, ``loops`` expands
``for_each:``; ``keys`` declares the manifest's own keys; ``values`` checks one value against
its declaration (vars substituted); ``points`` reads one integration point and its check
type's options; ``reader`` reads the top level and applies the rules across points (unique
names, dependencies, Sensu settings against each check's timeout); ``graph`` finds
dependency cycles.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mdd.core.model import Manifest
from mdd.core.problems import ManifestError, Problem
from mdd.manifest.keys import POINT_KEYS, SENSU_KEYS, TOP_LEVEL_KEYS
from mdd.manifest.reader import Reader

__all__ = [
    "POINT_KEYS",
    "SENSU_KEYS",
    "TOP_LEVEL_KEYS",
    "ManifestError",
    "Problem",
    "load",
]


def load(path: Path, datacenter: str | None = None) -> Manifest:
    """The validated manifest in ``path``; ``ManifestError`` lists every problem.

    ``datacenter``: the name the manifest was asked for by (``mdd generate fra1``); its
    ``datacenter:`` key must then say the same.
    """
    reader = Reader(Path(path), datacenter)
    with _without_cycle_collection():
        manifest = reader.read()
    if manifest is None or reader.problems:
        if not reader.problems:  # pragma: no cover - every None comes with a problem
            reader.add((1, 1), "the manifest could not be read")
        problems = list(reader.problems)
        if reader.dropped:
            last = max(problems, key=lambda p: (p.line, p.column))
            problems.append(
                Problem(
                    reader.file,
                    last.line,
                    last.column,
                    f"and {reader.dropped} more problems: only the first {len(problems)} are "
                    f"listed; fix these and validate again",
                )
            )
        raise ManifestError(problems)
    return manifest


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused while a manifest is read.

    Reading builds hundreds of thousands of lists, mappings and spans that all live on, and
    none in a cycle (an alias inside its own anchor is refused): each collection would walk
    them all again for nothing, about a third of the reading time at 10,000 points. Reference
    counting still frees everything dropped on the way.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
