"""What each team still owes: every point of a team that is not green, across datacenters.

One item per datacenter and point, with its state and reason, how long it has been waiting
(since it entered its state; for a point never green, since it first appeared in a run),
what it blocks (the points that depend on it, directly or not) and its docs link. As
Markdown (grouped by team, then datacenter), CSV (one row per point, for a ticketing
system's import) or JSON.

Every item has a stable **key**, ``mdd-<datacenter>-<point>``: the same point of the same
datacenter always has the same key, so re-importing the CSV into a ticketing system that
matches on it (an external ID, a unique custom field) updates the ticket instead of opening
a second one.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from mdd.runner.clock import iso, shown, span, zone_label
from mdd.runner.fleet import NO_OWNER, DatacenterRow, waiting_since
from mdd.runner.leadtime import dependants
from mdd.runner.states import PointView

FORMAT = "mdd-todo"
VERSION = 1
FORMATS = ("markdown", "csv", "json")
CSV_COLUMNS = (
    "key",
    "summary",
    "description",
    "owner",
    "datacenter",
    "point",
    "type",
    "state",
    "reason",
    "waiting_since",
    "waiting_days",
    "blocks",
    "docs",
    "labels",
)


@dataclass(slots=True, eq=False)
class Item:
    """One point a team owes."""

    datacenter: str
    view: PointView
    since: float | None
    blocks: list[str]
    now: float

    @property
    def key(self) -> str:
        return key(self.datacenter, self.view.point.name)

    @property
    def owner(self) -> str:
        return str(self.view.point.owner or NO_OWNER)

    @property
    def waiting(self) -> float | None:
        return None if self.since is None else max(self.now - self.since, 0.0)

    @property
    def summary(self) -> str:
        point = self.view.point
        return f"[{self.datacenter}] {point.name} ({point.type}) is {self.view.state}"


def key(datacenter: str, point: str) -> str:
    """The item's stable key: one per datacenter and point, never reused for another."""
    return f"mdd-{datacenter}-{point}"


def items(rows: Sequence[DatacenterRow], owners: Collection[str] = ()) -> list[Item]:
    """Every point not green, of ``owners`` (all when empty), by owner then datacenter then
    manifest order."""
    found: list[tuple[str, int, int, Item]] = []
    for dc_index, row in enumerate(rows):
        released = dependants(row.manifest)
        for index, view in enumerate(row.views):
            owner = view.point.owner or NO_OWNER
            if view.state == "green" or (owners and owner not in owners):
                continue
            item = Item(
                row.name,
                view,
                waiting_since(view, row.state),
                released.get(view.point.name, []),
                row.now,
            )
            found.append((owner, dc_index, index, item))
    found.sort(key=lambda entry: (entry[0] == NO_OWNER, entry[0], entry[1], entry[2]))
    return [entry[3] for entry in found]


def _description(item: Item) -> str:
    parts = [
        f"{item.view.point.name} in {item.datacenter} is {item.view.state}: {item.view.reason}"
    ]
    if item.view.point.description:
        parts.append(f"What it is: {item.view.point.description}")
    if item.blocks:
        parts.append(f"It blocks: {', '.join(item.blocks)}")
    if item.view.point.docs:
        parts.append(f"Docs: {item.view.point.docs}")
    parts.append(f"mdd key: {item.key}")
    return "\n".join(parts)


def _md(text: str) -> str:
    """Text safe in a Markdown list item (no markup, one line)."""
    text = " ".join(text.split())
    for char in "\\`*_[]<>|":
        text = text.replace(char, "\\" + char)
    return text


def render_markdown(found: Sequence[Item], tz: tzinfo) -> str:
    lines = ["# What each team still owes", ""]
    if not found:
        return "\n".join([*lines, "Nothing: every point is green.", ""])
    lines += [f"Times in {zone_label(tz)}.", ""]
    owner = None
    datacenter = None
    for item in found:
        if item.owner != owner:
            owner, datacenter = item.owner, None
            count = sum(1 for other in found if other.owner == owner)
            lines += [f"## {_md(owner)} ({count} point{'' if count == 1 else 's'})", ""]
        if item.datacenter != datacenter:
            datacenter = item.datacenter
            lines += [f"### {_md(datacenter)}", ""]
        point = item.view.point
        waited = (
            f", waiting {span(item.waiting)} (since {shown(item.since, tz)})"
            if item.since is not None
            else ""
        )
        lines.append(f"- [ ] **{_md(point.name)}** ({_md(point.type)}) {item.view.state}{waited}")
        lines.append(f"  - reason: {_md(item.view.reason) or '-'}")
        if item.blocks:
            lines.append(f"  - blocks: {', '.join(_md(b) for b in item.blocks)}")
        if point.docs:
            lines.append(f"  - docs: <{point.docs}>")
        lines.append(f"  - key: `{item.key}`")
    lines.append("")
    return "\n".join(lines)


def render_csv(found: Sequence[Item], tz: tzinfo) -> str:
    """RFC 4180 CSV with a header row: one row per point, ``key`` the stable key."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in found:
        point = item.view.point
        waiting = item.waiting
        writer.writerow(
            (
                item.key,
                item.summary,
                _description(item),
                item.owner,
                item.datacenter,
                point.name,
                point.type,
                item.view.state,
                item.view.reason,
                iso(item.since, tz) or "",
                "" if waiting is None else f"{waiting / 86400:.2f}",
                " ".join(item.blocks),
                point.docs or "",
                f"mdd {item.datacenter} {item.view.state}",
            )
        )
    return out.getvalue()


def as_data(found: Sequence[Item], tz: tzinfo, now: float) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "generated": iso(now, tz),
        "timezone": zone_label(tz),
        "items": [
            {
                "key": item.key,
                "owner": item.view.point.owner,
                "datacenter": item.datacenter,
                "point": item.view.point.name,
                "type": item.view.point.type,
                "state": item.view.state,
                "reason": item.view.reason,
                "since": iso(item.since, tz),
                "waiting": item.waiting,
                "blocks": item.blocks,
                "docs": item.view.point.docs,
            }
            for item in found
        ],
    }


def render_json(found: Sequence[Item], tz: tzinfo, now: float) -> str:
    return json.dumps(as_data(found, tz, now), indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[str, Callable[[Sequence[Item], tzinfo], str]] = {
    "markdown": render_markdown,
    "csv": render_csv,
}
