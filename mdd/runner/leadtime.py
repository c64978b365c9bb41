"""Lead times and the critical path of a bring-up, from a datacenter's state file.

* A point's **lead time** runs from when it first appeared in a run (``first_seen``) to its
  first green (``first_green``); a point not green yet has a running **wait** instead.
* Per team: how many of its points are done, the median and the longest lead time.
* Per datacenter: the time from its first run to its last first green (the bring-up's
  length; while points are missing, the time so far).
* The **critical path**: the chain of ``depends_on`` that gated the bring-up. Once every
  point has been green, it ends at the point that turned green last and walks back, link by
  link, through the dependency that turned green last (the one that released it). While
  points are missing, it is the longest chain of points not green yet, from the one to fix
  first to the deepest point waiting behind it. Each link says whose it is and how many
  points depend on it (directly or not): what its green released, or will release.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mdd.core.model import IntegrationPoint, Manifest
from mdd.runner.clock import seconds_of
from mdd.runner.states import GREEN, StateFile


@dataclass(slots=True, eq=False)
class PointTimes:
    """When one point first appeared, first turned green, and its lead time or wait."""

    point: IntegrationPoint
    first_seen: float | None
    first_green: float | None
    state: str

    @property
    def lead(self) -> float | None:
        """Seconds from first seen to first green (None: not green yet, or never seen)."""
        if self.first_green is None or self.first_seen is None:
            return None
        return max(self.first_green - self.first_seen, 0.0)

    def waiting(self, now: float) -> float | None:
        """Seconds since first seen, for a point never green yet."""
        if self.first_green is not None or self.first_seen is None:
            return None
        return max(now - self.first_seen, 0.0)


def point_times(manifest: Manifest, state: StateFile) -> list[PointTimes]:
    """Every point of the manifest, in manifest order, with its recorded times."""
    created = seconds_of(state.created)
    result = []
    for point in manifest.points:
        entry = state.points.get(point.name)
        if entry is None:
            result.append(PointTimes(point, None, None, "pending"))
            continue
        seen = seconds_of(entry.get("first_seen")) or created
        green = seconds_of(entry.get("first_green"))
        result.append(PointTimes(point, seen, green, str(entry.get("state", "pending"))))
    return result


def dependants(manifest: Manifest) -> dict[str, list[str]]:
    """Per point, every point that depends on it directly or not (manifest order)."""
    direct: dict[str, list[str]] = {p.name: [] for p in manifest.points}
    for point in manifest.points:
        for dep in point.depends_on:
            direct.setdefault(dep, []).append(point.name)
    order = {p.name: index for index, p in enumerate(manifest.points)}
    result: dict[str, list[str]] = {}
    for name in direct:
        seen: set[str] = set()
        frontier = list(direct[name])
        while frontier:
            current = frontier.pop()
            if current in seen or current == name:
                continue
            seen.add(current)
            frontier.extend(direct.get(current, ()))
        result[name] = sorted(seen, key=lambda n: order.get(n, len(order)))
    return result


def critical_path(manifest: Manifest, times: Sequence[PointTimes]) -> dict[str, Any]:
    """The chain that gated the bring-up (see the module's text), root first."""
    released = dependants(manifest)
    complete = bool(times) and all(t.first_green is not None for t in times)
    chain = _gating_chain(times) if complete else _longest_missing_chain(times)
    links = []
    previous_green: float | None = None
    for link_times in chain:
        own = None
        if link_times.first_green is not None:
            start = max(
                link_times.first_seen or link_times.first_green,
                previous_green or link_times.first_seen or link_times.first_green,
            )
            own = max(link_times.first_green - start, 0.0)
        links.append(
            {
                "point": link_times.point.name,
                "owner": link_times.point.owner,
                "state": link_times.state,
                "first_seen": link_times.first_seen,
                "first_green": link_times.first_green,
                "lead": link_times.lead,
                "gated_for": own,  # seconds the chain waited on this link itself
                "released": len(released.get(link_times.point.name, ())),
            }
        )
        previous_green = link_times.first_green
    owners = list(dict.fromkeys(t.point.owner or "(no owner)" for t in chain))
    return {"complete": complete, "links": links, "owners": owners}


def _gating_chain(times: Sequence[PointTimes]) -> list[PointTimes]:
    """Every point green: from the last first green back through the dependency that turned
    green last, root first."""
    by_name = {t.point.name: t for t in times}
    chain: list[PointTimes] = []
    current: PointTimes | None = max(times, key=lambda t: (t.first_green or 0.0, -_index(times, t)))
    while current is not None:
        chain.append(current)
        deps = [by_name[d] for d in current.point.depends_on if d in by_name]
        current = max(deps, key=lambda t: t.first_green or 0.0) if deps else None
    chain.reverse()
    return chain


def _longest_missing_chain(times: Sequence[PointTimes]) -> list[PointTimes]:
    """Under way: the longest chain of points not green yet, root first."""
    by_name = {t.point.name: t for t in times}
    missing = {t.point.name for t in times if t.state != GREEN}
    depth: dict[str, int] = {}

    def depth_of(name: str, trail: frozenset[str] = frozenset()) -> int:
        if name in depth:
            return depth[name]
        point = by_name[name].point
        inner = [
            depth_of(d, trail | {name}) for d in point.depends_on if d in missing and d not in trail
        ]
        depth[name] = 1 + max(inner, default=0)
        return depth[name]

    chain: list[PointTimes] = []
    if not missing:
        return chain
    link: PointTimes | None = max(
        (t for t in times if t.point.name in missing),
        key=lambda t: (depth_of(t.point.name), -_index(times, t)),
    )
    while link is not None:
        chain.append(link)
        deps = [by_name[d] for d in link.point.depends_on if d in missing and d in by_name]
        link = max(deps, key=lambda t: depth_of(t.point.name)) if deps else None
    chain.reverse()
    return chain


def _index(times: Sequence[PointTimes], item: PointTimes) -> int:
    return next(index for index, t in enumerate(times) if t is item)


def lead_times(manifest: Manifest, state: StateFile, now: float) -> dict[str, Any]:
    """Per point, per team and for the datacenter, and the critical path (times: seconds
    since the epoch; durations: seconds)."""
    times = point_times(manifest, state)
    teams: dict[str, list[PointTimes]] = {}
    for item in times:
        teams.setdefault(item.point.owner or "(no owner)", []).append(item)
    team_rows = []
    for owner in sorted(teams, key=lambda o: (o == "(no owner)", o)):
        items = teams[owner]
        leads = [t.lead for t in items if t.lead is not None]
        longest = max(
            (t for t in items if t.lead is not None), key=lambda t: t.lead or 0.0, default=None
        )
        team_rows.append(
            {
                "owner": owner,
                "points": len(items),
                "done": len(leads),
                "median": statistics.median(leads) if leads else None,
                "longest": None if longest is None else longest.lead,
                "longest_point": None if longest is None else longest.point.name,
            }
        )
    seen = [t.first_seen for t in times if t.first_seen is not None]
    greens = [t.first_green for t in times if t.first_green is not None]
    start = min(seen) if seen else None
    complete = bool(times) and len(greens) == len(times)
    last_green = max(greens) if complete else None
    return {
        "started": start,
        "complete": complete,
        "last_first_green": last_green,
        "bring_up": None
        if start is None
        else (last_green - start if last_green is not None else max(now - start, 0.0)),
        "points": [
            {
                "point": t.point.name,
                "owner": t.point.owner,
                "state": t.state,
                "first_seen": t.first_seen,
                "first_green": t.first_green,
                "lead": t.lead,
                "waiting": t.waiting(now),
            }
            for t in times
        ],
        "teams": team_rows,
        "critical_path": critical_path(manifest, times),
    }
