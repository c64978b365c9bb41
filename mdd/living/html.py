"""The living document as one self-contained HTML page: inline CSS and SVG, no script.

Laid out by ``templates/living.html.j2`` (autoescaped); this module prepares what the page
says and renders it. Every text goes through the template's filter ``printable``
(:func:`escape`).
"""

from __future__ import annotations

from html import escape as _escape
from typing import Any

from markupsafe import Markup

from mdd.checks.api import printable
from mdd.core.model import Manifest
from mdd.living import Entry, groups, summary
from mdd.living.graph import COLORS, svg
from mdd.living.markdown import anchor, link, state_text
from mdd.living.state import PointState

TEMPLATE = "living.html.j2"


def escape(text: str) -> Markup:
    """Text for HTML (quotes included), control characters written as escapes."""
    return Markup(_escape(printable(text)))


def _href(url: str) -> str:
    """An http(s) URL for an ``href``; anything else (``javascript:``) is no link at all."""
    shown = link(url)
    return shown[1:-1] if shown.startswith("<") else "#"


def _point(entry: Entry) -> dict[str, Any]:
    """One point as the template shows it."""
    state = entry.state
    return {
        "entry": entry,
        "state": state.state if state else "",
        "state_text": state_text(state, mark=False),
        "reason": state.message if state is not None and state.message and not state.green else "",
        "href": _href(entry.point.docs) if entry.point.docs else "",
    }


def html(manifest: Manifest, states: dict[str, PointState] | None = None) -> str:
    from mdd.templates import environment

    owned = groups(manifest, states)
    env = environment()
    env.filters["printable"] = escape
    env.filters["anchor"] = anchor
    return env.get_template(TEMPLATE).render(
        datacenter=manifest.datacenter,
        description=manifest.description,
        summary=summary(manifest, states),
        with_state=states is not None,
        colors=[(state, *colors) for state, colors in COLORS.items() if state is not None],
        graph=Markup(svg(manifest, states)),
        teams=[(owner, [_point(e) for e in entries]) for owner, entries in owned],
    )
