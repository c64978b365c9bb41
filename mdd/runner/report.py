"""``mdd report``: one self-contained HTML page of a datacenter's progress.

Built from the manifest and the state file: the board grouped by owner, each point's reason,
docs link and dependency chain, and a burn-up chart (inline SVG) of points green over time
from the state file's history. No external asset, script or font: it works offline and as a
CI artifact. Laid out by ``templates/report.html.j2`` (autoescaped).
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable, Sequence
from datetime import tzinfo
from typing import Any

from mdd.core.model import IntegrationPoint, Manifest
from mdd.runner.board import ordered, summary_line
from mdd.runner.states import GREEN, STATES, PointView, StateFile, counts, percent, timestamp

TEMPLATE = "report.html.j2"
CHART_WIDTH, CHART_HEIGHT, MARGIN = 640, 220, 36


def chain(point: IntegrationPoint, by_name: dict[str, IntegrationPoint]) -> list[str]:
    """Every point ``point`` depends on, directly or not: nearest first, each once."""
    seen: list[str] = []
    frontier = list(point.depends_on)
    while frontier:
        following: list[str] = []
        for name in frontier:
            if name in seen or name == point.name:
                continue
            seen.append(name)
            dep = by_name.get(name)
            if dep is not None:
                following.extend(dep.depends_on)
        frontier = following
    return seen


def _seconds(text: str) -> float | None:
    try:
        return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))
    except (TypeError, ValueError):
        return None


def axis_date(seconds: float) -> str:
    """A burn-up axis label: ``2026-12-02 12:04 UTC``."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))


def step_line(
    samples: Sequence[tuple[float, float]],
    now: float,
    x: Callable[[float], float],
    y: Callable[[float], float],
) -> str:
    """The points of an SVG polyline through ``samples`` (time, value): each value held
    until the next sample, the last one until ``now``."""
    points: list[str] = []
    for number, (at, value) in enumerate(samples):
        if number:
            points.append(f"{x(at)},{y(samples[number - 1][1])}")
        points.append(f"{x(at)},{y(value)}")
    points.append(f"{x(now)},{y(samples[-1][1])}")
    return " ".join(points)


def burn_up(history: Sequence[dict[str, Any]], total_now: int) -> dict[str, Any]:
    """The chart's geometry: step lines of points green and of points in all, over time."""
    samples = [
        (at, int(h.get("green", 0)), int(h.get("total", 0)))
        for h in history
        if (at := _seconds(str(h.get("at")))) is not None
    ]
    samples.sort(key=lambda sample: sample[0])  # stable: samples of one second keep their order
    if not samples:
        return {"empty": True, "width": CHART_WIDTH, "height": CHART_HEIGHT}
    now = max(time.time(), samples[-1][0])
    start = samples[0][0]
    span = max(now - start, 1.0)
    top = max(max(total for _, _, total in samples), total_now, 1)
    inner_w, inner_h = CHART_WIDTH - 2 * MARGIN, CHART_HEIGHT - 2 * MARGIN

    def x(at: float) -> float:
        return round(MARGIN + (at - start) / span * inner_w, 1)

    def y(value: float) -> float:
        return round(CHART_HEIGHT - MARGIN - value / top * inner_h, 1)

    def steps(index: int) -> str:
        return step_line([(sample[0], sample[index]) for sample in samples], now, x, y)

    return {
        "empty": False,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "margin": MARGIN,
        "green": steps(1),
        "total": steps(2),
        "dots": [
            {"x": x(at), "y": y(green), "label": f"{green}/{total}"} for at, green, total in samples
        ],
        "top": top,
        "y_top": y(top),
        "y_zero": y(0),
        "start": axis_date(start),
        "end": axis_date(now),
        "samples": len(samples),
    }


def render_report(manifest: Manifest, state: StateFile, tz: tzinfo | None = None) -> str:
    """The HTML page, as text (lead times in ``tz``, default the machine's zone)."""
    from mdd.runner.clock import now, zone
    from mdd.runner.fleet_report import lead_view
    from mdd.runner.leadtime import lead_times
    from mdd.templates import environment

    by_name = {p.name: p for p in manifest.points}
    views: list[PointView] = [state.view(p) for p in manifest.points]
    view_of = {v.point.name: v for v in views}
    groups: dict[str, list[dict[str, Any]]] = {}
    for view in ordered(views):
        owner = view.point.owner or "(no owner)"
        groups.setdefault(owner, []).append(
            {
                "view": view,
                "chain": [
                    {"name": name, "state": view_of[name].state if name in view_of else "pending"}
                    for name in chain(view.point, by_name)
                ],
            }
        )
    owners = []
    for owner, items in sorted(groups.items(), key=lambda item: (item[0] == "(no owner)", item[0])):
        owned = [item["view"] for item in items]
        green = sum(1 for v in owned if v.state == GREEN)
        owners.append({"owner": owner, "items": items, "green": green, "total": len(owned)})
    number = counts(views)
    return (
        environment()
        .get_template(TEMPLATE)
        .render(
            datacenter=manifest.datacenter,
            description=manifest.description,
            summary=summary_line(manifest.datacenter, views),
            counts=number,
            percent=percent(number[GREEN], number["total"]),
            states=STATES,
            owners=owners,
            chart=burn_up(state.history, len(views)),
            generated=timestamp(),
            # "Generated ... from FILE" only when that file exists (was read).
            state_path=str(state.path) if state.path and state.path.exists() else None,
            lead=lead_view(
                manifest.datacenter, lead_times(manifest, state, now()), tz or zone(None)
            ),
        )
    )
