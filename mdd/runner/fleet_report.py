"""``mdd report --all``: the fleet board as one self-contained HTML page; and the lead times
of one datacenter as shown in both reports.

A card per datacenter (points green of total, the counts per state, the oldest pending point,
a small burn-up as inline SVG), the owners across datacenters, then each datacenter's lead
times and critical path. No external asset. Laid out by ``templates/fleet.html.j2`` and
``templates/leadtimes.html.j2`` (autoescaped).
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from mdd.runner.clock import shown, span, zone_label
from mdd.runner.fleet import COUNTED, DatacenterRow, Fleet, OwnerRow
from mdd.runner.report import step_line
from mdd.runner.states import percent

TEMPLATE = "fleet.html.j2"
SPARK_WIDTH, SPARK_HEIGHT = 220, 48


def lead_view(
    datacenter: str, lead: dict[str, Any], tz: tzinfo, title: bool = False
) -> dict[str, Any]:
    """``mdd.runner.leadtime.lead_times`` as shown: times in ``tz``, durations for people."""
    headline = _headline(lead, tz)
    path = lead["critical_path"]
    links = [_link_view(link, tz) for link in path["links"]]
    path_note = (
        "The chain of depends_on that gated the bring-up, first link first: each one's green "
        "released the next."
        if path["complete"]
        else "The longest chain of points not green yet, the one to fix first on top."
    )
    return {
        "datacenter": datacenter,
        "title": title,
        "headline": headline,
        "path": links,
        "path_note": path_note
        + (f" Teams: {', '.join(path['owners'])}." if path["owners"] else ""),
        "teams": [
            {
                "owner": team["owner"],
                "points": team["points"],
                "done": team["done"],
                "median": span(team["median"]),
                "longest": "-"
                if team["longest"] is None
                else f"{span(team['longest'])} ({team['longest_point']})",
            }
            for team in lead["teams"]
        ],
        "points": [
            {
                "point": row["point"],
                "owner": row["owner"] or "(no owner)",
                "first_seen": shown(row["first_seen"], tz),
                "first_green": shown(row["first_green"], tz),
                "lead": span(row["lead"])
                if row["lead"] is not None
                else (f"waiting {span(row['waiting'])}" if row["waiting"] is not None else "-"),
            }
            for row in lead["points"]
        ],
    }


def _headline(lead: dict[str, Any], tz: tzinfo) -> str:
    if lead["started"] is None:
        return "No run recorded yet."
    if lead["complete"]:
        return (
            f"Bring-up took {span(lead['bring_up'])}: first run {shown(lead['started'], tz)}, "
            f"last first green {shown(lead['last_first_green'], tz)}."
        )
    return (
        f"Bring-up under way for {span(lead['bring_up'])} (first run "
        f"{shown(lead['started'], tz)}); not every point has been green yet."
    )


def _link_view(link: dict[str, Any], tz: tzinfo) -> dict[str, Any]:
    """One link of the critical path, in words."""
    if link["first_green"] is not None:
        text = f"green {shown(link['first_green'], tz)} after {span(link['lead'])}"
        if link["gated_for"] is not None:
            text += f", gated the chain for {span(link['gated_for'])}"
    else:
        text = "not green yet"
    if link["released"]:
        text += f"; {link['released']} point{'' if link['released'] == 1 else 's'} depend on it"
    return {
        "point": link["point"],
        "owner": link["owner"] or "(no owner)",
        "state": link["state"],
        "text": text,
    }


def spark_svg(row: DatacenterRow, now: float) -> dict[str, Any]:
    """The small burn-up's geometry: points green over time as a step line."""
    samples = row.history
    if not samples:
        return {"empty": True, "width": SPARK_WIDTH, "height": SPARK_HEIGHT}
    start = samples[0].at
    width = max(now - start, 1.0)
    top = max(max(sample.total for sample in samples), 1)

    def x(at: float) -> float:
        return round(2 + (at - start) / width * (SPARK_WIDTH - 4), 1)

    def y(value: float) -> float:
        return round(SPARK_HEIGHT - 2 - value / top * (SPARK_HEIGHT - 4), 1)

    return {
        "empty": False,
        "width": SPARK_WIDTH,
        "height": SPARK_HEIGHT,
        "green": step_line([(sample.at, sample.green) for sample in samples], now, x, y),
        "label": f"{samples[-1].green}/{samples[-1].total} green now, {len(samples)} samples",
    }


def _card(row: DatacenterRow, fleet: Fleet, tz: tzinfo) -> dict[str, Any]:
    """One datacenter's card on the fleet page."""
    oldest = None
    if row.oldest is not None:
        view, since = row.oldest.view, row.oldest.since
        oldest = {
            "point": view.point.name,
            "owner": view.point.owner or "(no owner)",
            "waiting": span(fleet.now - since),
            "since": shown(since, tz),
        }
    return {
        "name": row.name,
        "description": row.manifest.description,
        "counts": row.counts,
        "percent": percent(row.counts["green"], row.counts["total"]),
        "oldest": oldest,
        "spark": spark_svg(row, fleet.now),
        "lead": lead_view(row.name, row.lead, tz, title=True),
    }


def _owner_row(owner: OwnerRow, fleet: Fleet, tz: tzinfo) -> dict[str, Any]:
    """One owner's row on the fleet page."""
    counts = owner.counts
    found = owner.oldest
    return {
        "owner": owner.owner,
        "counts": counts,
        "percent": percent(counts["green"], counts["total"]),
        "per_dc": [
            {"dc": dc, "green": c["green"], "total": c["total"]}
            for dc, c in owner.per_datacenter().items()
        ],
        "oldest": None
        if found is None
        else f"{found.datacenter}/{found.view.point.name}, {span(fleet.now - found.since)} "
        f"(since {shown(found.since, tz)})",
    }


def render_fleet(fleet: Fleet, tz: tzinfo) -> str:
    """The fleet page, as text."""
    from mdd.templates import environment

    cards = [_card(row, fleet, tz) for row in fleet.rows]
    owners = [_owner_row(owner, fleet, tz) for owner in fleet.owners]
    number = fleet.counts
    return (
        environment()
        .get_template(TEMPLATE)
        .render(
            cards=cards,
            owners=owners,
            counts=number,
            percent=percent(number["green"], number["total"]),
            states=COUNTED,
            generated=shown(fleet.now, tz),
            zone=zone_label(tz),
            source=fleet.source,
        )
    )
