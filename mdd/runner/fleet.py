"""The fleet board: every datacenter's progress at once, then the same by owner.

One row per datacenter: points green of total, how many are pending, regressed, blocked and
unknown, the point pending the longest and since when, and a small burn-up from the state
file's history; then one row per owner across the datacenters. Rendered as text, JSON
(``docs/schema/mdd-fleet.schema.json``), JUnit XML (one testsuite per datacenter) and TAP
(one test per datacenter and point). The lead times and critical path of each datacenter
(``mdd.runner.leadtime``) ride along in the JSON.

Built from what ``verify`` ran, what ``status`` read from Sensu, or what the state files say.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import tzinfo
from typing import Any, NamedTuple

from mdd.core.model import Manifest
from mdd.runner.clock import iso, seconds_of, shown, span, zone_label
from mdd.runner.states import GREEN, PENDING, PointView, StateFile, percent

FORMAT = "mdd-fleet"
VERSION = 1
FORMATS = ("text", "json", "junit", "tap")
# Every state a point can be in, in the board's order; "unknown": the check could not decide.
COUNTED = ("regressed", "pending", "blocked", "unknown", "green")
NO_OWNER = "(no owner)"
_BARS = "▁▂▃▄▅▆▇█"
_ASCII_BARS = "_.-=#"


def tally(views: Sequence[PointView]) -> dict[str, int]:
    """How many points are in each state (every state of ``COUNTED``) and in all."""
    result = {state: 0 for state in COUNTED}
    for view in views:
        result[view.state] = result.get(view.state, 0) + 1
    result["total"] = len(views)
    return result


def waiting_since(view: PointView, state: StateFile | None) -> float | None:
    """When a point not green entered its state (else when it first appeared in a run)."""
    since = seconds_of(view.last_change)
    if since is None and state is not None:
        since = seconds_of(state.points.get(view.point.name, {}).get("first_seen"))
    return since


class Oldest(NamedTuple):
    """The point pending the longest: in which datacenter, and since when."""

    datacenter: str
    view: PointView
    since: float


class Sample(NamedTuple):
    """One sample of a datacenter's burn-up: points green of total, at a time."""

    at: float
    green: int
    total: int


class Seen(NamedTuple):
    """A point of an owner, in its datacenter, and since when it waits (None: green, or
    not known)."""

    datacenter: str
    view: PointView
    since: float | None


class DatacenterRow:
    """One datacenter on the board."""

    def __init__(
        self,
        manifest: Manifest,
        state: StateFile,
        views: Sequence[PointView],
        now: float,
    ) -> None:
        from mdd.runner.leadtime import lead_times

        self.manifest = manifest
        self.state = state
        self.views = list(views)
        self.counts = tally(self.views)
        self.now = now
        pending = [
            (since, index, view)
            for index, view in enumerate(self.views)
            if view.state == PENDING and (since := waiting_since(view, state)) is not None
        ]
        self.oldest: Oldest | None = None
        if pending:
            since, _, view = min(pending, key=lambda item: (item[0], item[1]))
            self.oldest = Oldest(manifest.datacenter, view, since)
        self.history = [
            Sample(at, int(h.get("green", 0)), int(h.get("total", 0)))
            for h in state.history
            if (at := seconds_of(h.get("at"))) is not None
        ]
        self.history.sort(key=lambda sample: sample.at)
        self.lead = lead_times(manifest, state, now)

    @property
    def name(self) -> str:
        return self.manifest.datacenter


class OwnerRow:
    """One owner across the datacenters."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.views: list[Seen] = []

    @property
    def counts(self) -> dict[str, int]:
        return tally([seen.view for seen in self.views])

    def per_datacenter(self) -> dict[str, dict[str, int]]:
        by_dc: dict[str, list[PointView]] = {}
        for seen in self.views:
            by_dc.setdefault(seen.datacenter, []).append(seen.view)
        return {dc: tally(views) for dc, views in by_dc.items()}

    @property
    def oldest(self) -> Oldest | None:
        pending = [
            (seen.since, index, seen)
            for index, seen in enumerate(self.views)
            if seen.view.state == PENDING and seen.since is not None
        ]
        if not pending:
            return None
        since, _, seen = min(pending, key=lambda item: (item[0], item[1]))
        return Oldest(seen.datacenter, seen.view, since)


class Fleet:
    """The datacenters, and their points by owner."""

    def __init__(self, rows: Sequence[DatacenterRow], source: str, now: float) -> None:
        self.rows = list(rows)
        self.source = source
        self.now = now
        owners: dict[str, OwnerRow] = {}
        for row in self.rows:
            for view in row.views:
                owner = view.point.owner or NO_OWNER
                since = waiting_since(view, row.state) if view.state != GREEN else None
                owners.setdefault(owner, OwnerRow(owner)).views.append(Seen(row.name, view, since))
        self.owners = [owners[o] for o in sorted(owners, key=lambda o: (o == NO_OWNER, o))]

    @property
    def counts(self) -> dict[str, int]:
        return tally([view for row in self.rows for view in row.views])

    @property
    def all_green(self) -> bool:
        return all(view.state == GREEN for row in self.rows for view in row.views)


def sparkline(samples: Sequence[Sample], now: float, width: int = 12, ascii: bool = False) -> str:
    """Points green over time, as ``width`` bars from the first sample to now."""
    bars = _ASCII_BARS if ascii else _BARS
    if not samples:
        return ""
    start = samples[0].at
    step = max(now - start, 1.0) / width
    result = []
    index = 0
    for column in range(width):
        at = start + (column + 1) * step
        while index + 1 < len(samples) and samples[index + 1].at <= at:
            index += 1
        green, total = samples[index].green, samples[index].total
        fraction = green / total if total else 0.0
        result.append(bars[min(int(fraction * (len(bars) - 1) + 0.5), len(bars) - 1)])
    return "".join(result)


def _counts_text(counts: dict[str, int]) -> str:
    return f"{counts['green']}/{counts['total']} {percent(counts['green'], counts['total'])}%"


def render_text(fleet: Fleet, tz: tzinfo, ascii: bool = False) -> str:
    """The board for people: datacenters, then owners; times in ``tz``."""
    number = fleet.counts
    lines = [
        f"fleet: {len(fleet.rows)} datacenter{'' if len(fleet.rows) == 1 else 's'}, "
        f"{number['green']}/{number['total']} integration points green "
        f"({percent(number['green'], number['total'])}%); times in {zone_label(tz)}",
        "",
    ]
    head = ("DATACENTER", "GREEN", "REGR", "PEND", "BLKD", "UNKN", "BURN-UP", "OLDEST PENDING")
    table: list[tuple[str, ...]] = [head]
    for row in fleet.rows:
        oldest = "-"
        if row.oldest is not None:
            view, since = row.oldest.view, row.oldest.since
            whose = f" ({view.point.owner})" if view.point.owner else ""
            oldest = f"{view.point.name}{whose} {span(fleet.now - since)}, since {shown(since, tz)}"
        table.append(
            (
                row.name,
                _counts_text(row.counts),
                str(row.counts["regressed"]),
                str(row.counts["pending"]),
                str(row.counts["blocked"]),
                str(row.counts["unknown"]),
                sparkline(row.history, fleet.now, ascii=ascii) or "-",
                oldest,
            )
        )
    lines += _columns(table)
    lines.append("")
    head = ("OWNER", "GREEN", "REGR", "PEND", "BLKD", "UNKN", "DATACENTERS", "OLDEST PENDING")
    table = [head]
    for owner in fleet.owners:
        counts = owner.counts
        oldest = "-"
        found = owner.oldest
        if found is not None:
            dc, view, since = found.datacenter, found.view, found.since
            oldest = f"{dc}/{view.point.name} {span(fleet.now - since)}, since {shown(since, tz)}"
        per_dc = " ".join(
            f"{dc}:{c['green']}/{c['total']}" for dc, c in owner.per_datacenter().items()
        )
        table.append(
            (
                owner.owner,
                _counts_text(counts),
                str(counts["regressed"]),
                str(counts["pending"]),
                str(counts["blocked"]),
                str(counts["unknown"]),
                per_dc,
                oldest,
            )
        )
    lines += _columns(table)
    return "\n".join(lines) + "\n"


def _columns(table: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in table
    ]


def _point(view: PointView, since: float | None, tz: tzinfo) -> dict[str, Any]:
    return {
        "name": view.point.name,
        "type": view.point.type,
        "owner": view.point.owner,
        "docs": view.point.docs,
        "depends_on": list(view.point.depends_on),
        "state": view.state,
        "status": view.status,
        "reason": view.reason,
        "blocked_by": list(view.blocked_by),
        "since": iso(since, tz),
        "first_green": iso(seconds_of(view.first_green), tz),
        "checked_at": iso(seconds_of(view.checked_at), tz),
    }


def _summary(counts: dict[str, int]) -> dict[str, Any]:
    return {
        **{state: counts[state] for state in (*COUNTED, "total")},
        "percent_green": percent(counts["green"], counts["total"]),
        "all_green": counts["green"] == counts["total"],
    }


def lead_data(lead: dict[str, Any], tz: tzinfo) -> dict[str, Any]:
    """``mdd.runner.leadtime.lead_times`` with its times as ISO 8601 in ``tz``."""

    def times(item: dict[str, Any]) -> dict[str, Any]:
        return {
            key: iso(value, tz) if key in ("first_seen", "first_green") else value
            for key, value in item.items()
        }

    path = lead["critical_path"]
    return {
        "started": iso(lead["started"], tz),
        "complete": lead["complete"],
        "last_first_green": iso(lead["last_first_green"], tz),
        "bring_up": lead["bring_up"],
        "points": [times(item) for item in lead["points"]],
        "teams": lead["teams"],
        "critical_path": {
            "complete": path["complete"],
            "owners": path["owners"],
            "links": [times(link) for link in path["links"]],
        },
    }


def as_data(fleet: Fleet, tz: tzinfo) -> dict[str, Any]:
    """The JSON document as Python data (see the schema)."""
    datacenters = []
    for row in fleet.rows:
        oldest = None
        if row.oldest is not None:
            view, since = row.oldest.view, row.oldest.since
            oldest = {
                "point": view.point.name,
                "owner": view.point.owner,
                "since": iso(since, tz),
                "waiting": max(fleet.now - since, 0.0),
            }
        datacenters.append(
            {
                "datacenter": row.name,
                "description": row.manifest.description,
                "summary": _summary(row.counts),
                "oldest_pending": oldest,
                "burn_up": [
                    {"at": iso(sample.at, tz), "green": sample.green, "total": sample.total}
                    for sample in row.history
                ],
                "lead_times": lead_data(row.lead, tz),
                "points": [
                    _point(v, waiting_since(v, row.state) if v.state != GREEN else None, tz)
                    for v in row.views
                ],
            }
        )
    owners = []
    for owner in fleet.owners:
        found = owner.oldest
        owners.append(
            {
                "owner": owner.owner,
                "summary": _summary(owner.counts),
                "datacenters": {dc: _summary(c) for dc, c in owner.per_datacenter().items()},
                "oldest_pending": None
                if found is None
                else {
                    "datacenter": found.datacenter,
                    "point": found.view.point.name,
                    "since": iso(found.since, tz),
                    "waiting": max(fleet.now - found.since, 0.0),
                },
            }
        )
    return {
        "format": FORMAT,
        "version": VERSION,
        "source": fleet.source,
        "generated": iso(fleet.now, tz),
        "timezone": zone_label(tz),
        "summary": _summary(fleet.counts),
        "datacenters": datacenters,
        "owners": owners,
    }


def render_json(fleet: Fleet, tz: tzinfo, ascii: bool = False) -> str:
    return json.dumps(as_data(fleet, tz), indent=2, ensure_ascii=False) + "\n"


def render_junit(fleet: Fleet, tz: tzinfo, ascii: bool = False) -> str:
    """One ``testsuite`` per datacenter (as ``mdd verify DC --format junit`` writes it)."""
    from xml.sax.saxutils import quoteattr

    from mdd.runner.formats import junit_suite

    number = fleet.counts
    failures = number["total"] - number["green"]
    total_time = sum(v.duration or 0.0 for row in fleet.rows for v in row.views)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name={quoteattr(f"mdd {fleet.source} fleet")} tests="{number["total"]}" '
        f'failures="{failures}" errors="0" time="{total_time:.3f}">',
    ]
    for row in fleet.rows:
        lines += junit_suite(row.name, row.views, iso(fleet.now, tz) or "")
    lines += ["</testsuites>", ""]
    return "\n".join(lines)


def render_tap(fleet: Fleet, tz: tzinfo, ascii: bool = False) -> str:
    """TAP 13: one test per datacenter and point (``ams1/ldap``), a summary per datacenter."""
    from mdd.runner.board import summary_line
    from mdd.runner.formats import tap_tests

    total = sum(len(row.views) for row in fleet.rows)
    lines = ["TAP version 13", f"1..{total}", f"# mdd {fleet.source} fleet"]
    number = 1
    for row in fleet.rows:
        lines += tap_tests(row.views, number, f"{row.name}/")
        number += len(row.views)
    lines += [f"# {summary_line(row.name, row.views)}" for row in fleet.rows]
    return "\n".join(lines) + "\n"


RENDERERS: dict[str, Callable[[Fleet, tzinfo, bool], str]] = {
    "text": render_text,
    "json": render_json,
    "junit": render_junit,
    "tap": render_tap,
}
