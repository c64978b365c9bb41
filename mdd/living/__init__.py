"""The living document of a datacenter: `mdd docs NAME [--format md|html] [--state FILE]`.

Every integration point, grouped by the team that owns it, with its description, docs link,
what exactly its monitor checks (in words generated from the check type's declaration, see
``mdd.living.describe``), what it depends on and what depends on it, and the dependencies as a
graph: Mermaid in Markdown, an inline SVG in HTML (one self-contained file, no external
asset). With a state file, each point's state and when it turned green (fields read:
``mdd.living.state``). The same manifest and state always give the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from mdd.checks.registry import command_name
from mdd.core.model import IntegrationPoint, Manifest, SensuSettings
from mdd.living.describe import describe
from mdd.living.state import PointState, StateError, read_state
from mdd.runner.states import percent

FORMATS = ("md", "html")
NO_OWNER = "(no owner)"

__all__ = ["FORMATS", "PointState", "StateError", "document", "read_state"]


def schedule_text(sensu: SensuSettings) -> str:
    """How Sensu runs the check, in words: ``every 30s; alerts after 2 failed runs``."""
    parts = [f"every {sensu.interval}s"]
    if sensu.subscribers:
        parts[0] += f" on the agents of {', '.join(sensu.subscribers)}"
    if sensu.occurrences and sensu.occurrences > 1:
        parts.append(f"alerts after {sensu.occurrences} failed runs in a row")
    if sensu.handlers is not None:
        parts.append(f"handlers: {', '.join(sensu.handlers) or 'none'}")
    return "; ".join(parts)


@dataclass(frozen=True)
class Entry:
    """What the document says about one point, the same in every format."""

    point: IntegrationPoint
    check_name: str
    command: str
    checked: str
    schedule: str
    needed_by: tuple[str, ...]
    state: PointState | None


def groups(
    manifest: Manifest, states: dict[str, PointState] | None
) -> list[tuple[str, list[Entry]]]:
    """(owner, entries), owners in alphabetical order, points in manifest order."""
    needed_by: dict[str, list[str]] = {}
    for point in manifest.points:
        for dep in point.depends_on:
            needed_by.setdefault(dep, []).append(point.name)
    by_owner: dict[str, list[Entry]] = {}
    for point in manifest.points:
        entry = Entry(
            point=point,
            check_name=manifest.check_name(point),
            command=command_name(point.type),
            checked=describe(point),
            schedule=schedule_text(point.sensu),
            needed_by=tuple(needed_by.get(point.name, ())),
            state=None if states is None else states.get(point.name),
        )
        by_owner.setdefault(point.owner or NO_OWNER, []).append(entry)
    return sorted(by_owner.items(), key=lambda item: (item[0] == NO_OWNER, item[0]))


def summary(manifest: Manifest, states: dict[str, PointState] | None) -> str:
    total = len(manifest.points)
    owners = len({p.owner for p in manifest.points if p.owner})
    text = f"{total} integration points, owned by {owners} teams."
    if states is not None:
        green = sum(1 for p in manifest.points if p.name in states and states[p.name].green)
        text += f" {green} of {total} green ({percent(green, total)}%)."
    return text


def document(
    manifest: Manifest, fmt: str = "md", states: dict[str, PointState] | None = None
) -> str:
    if fmt == "html":
        from mdd.living.html import html

        return html(manifest, states)
    from mdd.living.markdown import markdown

    return markdown(manifest, states)
