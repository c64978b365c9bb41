"""The living document as one self-contained HTML page: inline CSS and SVG, no script."""

from __future__ import annotations

from html import escape as _escape

from mdd.checks.api import printable
from mdd.core.model import Manifest
from mdd.living import Entry, groups, summary
from mdd.living.graph import COLORS, svg
from mdd.living.markdown import anchor, state_text
from mdd.living.state import PointState

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem;
       padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
h1 { margin-bottom: .2rem; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.summary { color: #444; }
.graph-box { overflow-x: auto; border: 1px solid #ddd; border-radius: 6px; padding: .5rem; }
.teams { display: flex; flex-wrap: wrap; gap: .5rem; padding: 0; list-style: none; }
.teams li { border: 1px solid #ccc; border-radius: 1rem; padding: .1rem .7rem; }
.teams a { text-decoration: none; }
.point { border: 1px solid #ddd; border-left: 6px solid #555; border-radius: 6px;
         padding: .6rem 1rem; margin: .8rem 0; }
.point h3 { margin: 0 0 .3rem 0; font-size: 1.1rem; }
.point dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
.point dt { font-weight: 600; color: #444; } .point dd { margin: 0; }
.state { font-weight: 600; border-radius: .8rem; padding: 0 .5rem; }
code { background: #f3f3f3; padding: 0 .2rem; border-radius: 3px; }
"""


def escape(text: str) -> str:
    """Text for HTML (quotes included), control characters written as escapes."""
    return _escape(printable(text))


def _href(url: str) -> str:
    """An http(s) URL for an ``href``; anything else (``javascript:``) is no link at all."""
    from mdd.living.markdown import link

    shown = link(url)
    return escape(shown[1:-1]) if shown.startswith("<") else "#"


def _state_css() -> str:
    rules = []
    for state, (fill, stroke) in COLORS.items():
        if state is not None:
            rules.append(
                f".point.{state} {{ border-left-color: {stroke}; }} "
                f".state.{state} {{ background: {fill}; color: {stroke}; }}"
            )
    return "\n".join(rules)


def _links(names: tuple[str, ...]) -> str:
    return ", ".join(f'<a href="#{anchor(n)}">{escape(n)}</a>' for n in names)


def _entry(entry: Entry, with_state: bool) -> str:
    point = entry.point
    state = entry.state.state if entry.state else ""
    rows = []
    if with_state:
        rows.append(
            (
                "State",
                f'<span class="state {escape(state)}">'
                f"{escape(state_text(entry.state, mark=False))}</span>",
            )
        )
        if entry.state is not None and entry.state.message and not entry.state.green:
            rows.append(("Reason", escape(entry.state.message)))
    rows.append(("Checked", f'<span class="checked">{escape(entry.checked)}</span>'))
    rows.append(
        (
            "Check",
            f"<code>{escape(entry.check_name)}</code> runs <code>{escape(entry.command)}</code> "
            f"({escape(point.type)}), {escape(entry.schedule)}",
        )
    )
    if point.depends_on:
        rows.append(("Depends on", _links(point.depends_on)))
    if entry.needed_by:
        rows.append(("Needed by", _links(entry.needed_by)))
    if point.docs:
        rows.append(
            ("Docs", f'<a class="docs" href="{_href(point.docs)}">{escape(point.docs)}</a>')
        )
    body = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    description = f"<p>{escape(point.description)}</p>" if point.description else ""
    return (
        f'<section class="point {escape(state)}" id="{anchor(point.name)}" '
        f'data-point="{escape(point.name)}" data-owner="{escape(point.owner or "")}" '
        f'data-state="{escape(state)}">'
        f"<h3>{escape(point.name)}</h3>{description}<dl>{body}</dl></section>"
    )


def html(manifest: Manifest, states: dict[str, PointState] | None = None) -> str:
    dc = escape(manifest.datacenter)
    owned = groups(manifest, states)
    teams = "".join(
        f'<li><a href="#team-{escape(anchor(owner))}">{escape(owner)}</a> ({len(entries)})</li>'
        for owner, entries in owned
    )
    sections = []
    for owner, entries in owned:
        points = "\n".join(_entry(e, states is not None) for e in entries)
        sections.append(
            f'<section class="team" id="team-{escape(anchor(owner))}" '
            f'data-owner="{escape(owner)}"><h2>{escape(owner)}</h2>\n{points}</section>'
        )
    description = f"<p>{escape(manifest.description)}</p>" if manifest.description else ""
    body = "\n".join(sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{dc}: integration points</title>
<style>{_CSS}{_state_css()}</style>
</head>
<body>
<h1>{dc}: integration points</h1>
{description}
<p class="summary">{escape(summary(manifest, states))} Each point is a Sensu check that stays
red until its owner delivers it. Generated by <code>mdd docs {dc}</code> from the manifest.</p>
<h2>Dependencies</h2>
<div class="graph-box">
{svg(manifest, states)}
</div>
<h2>Teams</h2>
<ul class="teams">{teams}</ul>
{body}
</body>
</html>
"""
