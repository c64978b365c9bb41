"""The dependency graph of a datacenter's points: as Mermaid (Markdown) and as inline SVG.

An arrow goes from a point to each point that depends on it, so the graph reads left to
right in delivery order. The SVG is laid out here (columns by depth of dependency), so the
HTML document needs no script and no external asset.
"""

from __future__ import annotations

import re
from html import escape

from mdd.core.model import Manifest
from mdd.living.state import PointState

COLORS = {  # fill, stroke
    "green": ("#d9f2dd", "#1e7b34"),
    "regressed": ("#fbd5d5", "#b3261e"),
    "unknown": ("#d4f1f4", "#00838f"),
    "pending": ("#fde9c8", "#a15c00"),
    "blocked": ("#e4e4e4", "#666666"),
    None: ("#ffffff", "#555555"),
}


def _node_id(name: str) -> str:
    return "p_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def depths(manifest: Manifest) -> dict[str, int]:
    """Each point's column: 0 without dependencies, else one more than its deepest one."""
    by_name = {p.name: p for p in manifest.points}
    result: dict[str, int] = {}

    def depth(name: str) -> int:
        if name not in result:
            result[name] = 0  # the reader refuses cycles; this only guards the recursion
            deps = [d for d in by_name[name].depends_on if d in by_name]
            result[name] = 1 + max(map(depth, deps)) if deps else 0
        return result[name]

    for point in manifest.points:
        depth(point.name)
    return result


def mermaid(manifest: Manifest, states: dict[str, PointState] | None = None) -> str:
    lines = ["graph LR"]
    for point in manifest.points:
        lines.append(f'  {_node_id(point.name)}["{point.name}"]')
    for point in manifest.points:
        for dep in point.depends_on:
            lines.append(f"  {_node_id(dep)} --> {_node_id(point.name)}")
    if states is not None:
        for state, (fill, stroke) in COLORS.items():
            if state is None:
                continue
            names = [
                _node_id(p.name)
                for p in manifest.points
                if p.name in states and states[p.name].state == state
            ]
            if names:
                lines.append(f"  classDef {state} fill:{fill},stroke:{stroke}")
                lines.append(f"  class {','.join(names)} {state}")
    return "\n".join(lines)


def svg(manifest: Manifest, states: dict[str, PointState] | None = None) -> str:
    """An inline SVG of the graph; each node links to the point's section (#point-NAME)."""
    columns = depths(manifest)
    width = max((len(p.name) for p in manifest.points), default=8) * 8 + 24
    gap_x, row_h, box_h, pad = 48, 44, 30, 10
    rows: dict[int, int] = {}
    place: dict[str, tuple[int, int]] = {}
    for point in manifest.points:
        column = columns[point.name]
        row = rows.get(column, 0)
        rows[column] = row + 1
        place[point.name] = (pad + column * (width + gap_x), pad + row * row_h)
    total_w = pad * 2 + (max(columns.values(), default=0) + 1) * (width + gap_x) - gap_x
    total_h = pad * 2 + max(rows.values(), default=1) * row_h - (row_h - box_h)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" role="img" '
        f'aria-label="Dependencies of the points of {escape(manifest.datacenter)}" '
        f'width="{total_w}" height="{total_h}" viewBox="0 0 {total_w} {total_h}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#555"/></marker></defs>',
    ]
    for point in manifest.points:
        x2, y2 = place[point.name]
        for dep in point.depends_on:
            if dep not in place:
                continue
            x1, y1 = place[dep]
            parts.append(
                f'<path class="edge" data-from="{escape(dep)}" data-to="{escape(point.name)}" '
                f'd="M {x1 + width} {y1 + box_h // 2} C {x1 + width + gap_x // 2} '
                f"{y1 + box_h // 2}, {x2 - gap_x // 2} {y2 + box_h // 2}, {x2} "
                f'{y2 + box_h // 2}" fill="none" stroke="#555" marker-end="url(#arrow)"/>'
            )
    for point in manifest.points:
        x, y = place[point.name]
        state = states[point.name].state if states and point.name in states else None
        fill, stroke = COLORS.get(state, COLORS[None])
        label = escape(point.name)
        parts.append(
            f'<a href="#point-{escape(point.name)}"><g class="node" data-point="{label}"'
            f' data-state="{escape(state or "")}">'
            f'<rect x="{x}" y="{y}" width="{width}" height="{box_h}" rx="6" fill="{fill}" '
            f'stroke="{stroke}"/><text x="{x + width // 2}" y="{y + box_h // 2 + 5}" '
            f'text-anchor="middle" font-family="sans-serif" font-size="13">{label}</text>'
            f"<title>{label}{': ' + escape(state) if state else ''}</title></g></a>"
        )
    parts.append("</svg>")
    return "\n".join(parts)
