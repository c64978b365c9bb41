"""The board for pipelines: JSON (a stable, documented shape), JUnit XML and TAP 13.

Every format holds one entry per point with its deployment state and one-line reason, and
the summary. The JSON shape is described by ``docs/schema/mdd-verify.schema.json``; change it
only by raising ``VERSION``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from mdd.runner.states import GREEN, UNKNOWN, PointView, counts, percent, timestamp

FORMAT = "mdd-verify"
VERSION = 1
FORMATS = ("text", "json", "junit", "tap")


def as_data(datacenter: str, views: Sequence[PointView], source: str) -> dict[str, Any]:
    """The JSON document as Python data (see the schema)."""
    number = counts(views)
    return {
        "format": FORMAT,
        "version": VERSION,
        "datacenter": datacenter,
        "source": source,
        "generated": timestamp(),
        "summary": {
            "total": number["total"],
            "green": number["green"],
            "pending": number["pending"],
            "regressed": number["regressed"],
            "blocked": number["blocked"],
            "unknown": number["unknown"],
            "percent_green": percent(number["green"], number["total"]),
            "all_green": number["green"] == number["total"],
        },
        "points": [
            {
                "name": v.point.name,
                "type": v.point.type,
                "owner": v.point.owner,
                "description": v.point.description,
                "docs": v.point.docs,
                "depends_on": list(v.point.depends_on),
                "state": v.state,
                "status": v.status,
                "status_name": v.status_name,
                "reason": v.reason,
                "blocked_by": list(v.blocked_by),
                "first_green": v.first_green,
                "last_change": v.last_change,
                "checked_at": v.checked_at,
                "duration": v.duration,
            }
            for v in views
        ],
    }


def render_json(datacenter: str, views: Sequence[PointView], source: str) -> str:
    return json.dumps(as_data(datacenter, views, source), indent=2, ensure_ascii=False) + "\n"


def render_junit(datacenter: str, views: Sequence[PointView], source: str) -> str:
    """One ``testsuite`` for the datacenter, one ``testcase`` per point; a point that is not
    green is a ``failure`` whose ``type`` is its state and whose message is its reason, but
    an unknown one (its check could not decide) is an ``error``, as a test that could not run."""
    from xml.sax.saxutils import quoteattr

    number = counts(views)
    errors = number[UNKNOWN]
    failures = number["total"] - number[GREEN] - errors
    total_time = sum(v.duration or 0.0 for v in views)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name={quoteattr(f"mdd {source} {datacenter}")} tests="{number["total"]}" '
        f'failures="{failures}" errors="{errors}" time="{total_time:.3f}">',
        *junit_suite(datacenter, views, timestamp()),
        "</testsuites>",
        "",
    ]
    return "\n".join(lines)


def junit_suite(datacenter: str, views: Sequence[PointView], at: str) -> list[str]:
    """The ``testsuite`` element of one datacenter, as lines (``at``: its timestamp); an
    unknown point (its check could not decide) is an ``error``, as a test that could not run."""
    from xml.sax.saxutils import quoteattr

    number = counts(views)
    errors = number[UNKNOWN]
    failures = number["total"] - number[GREEN] - errors
    total_time = sum(v.duration or 0.0 for v in views)
    lines = [
        f'  <testsuite name={quoteattr(f"mdd.{datacenter}")} tests="{number["total"]}" '
        f'failures="{failures}" errors="{errors}" skipped="0" time="{total_time:.3f}" '
        f"timestamp={quoteattr(at)}>",
    ]
    for v in views:
        owner = v.point.owner or "unowned"
        classname = quoteattr(f"mdd.{datacenter}.{owner}")
        head = (
            f"    <testcase classname={classname} name={quoteattr(v.point.name)} "
            f'time="{v.duration or 0.0:.3f}"'
        )
        if v.state == GREEN:
            lines.append(head + "/>")
            continue
        message = _xml_text(f"{v.state}: {v.reason}")
        details = _xml_text(
            f"{v.point.name} ({v.point.type}, owner {owner}) is {v.state}: {v.reason}"
            + (f"\ndocs: {v.point.docs}" if v.point.docs else "")
        )
        element = "error" if v.state == UNKNOWN else "failure"
        lines += [
            head + ">",
            f"      <{element} type={quoteattr(v.state)} message={quoteattr(message)}>"
            f"{_escape(details)}</{element}>",
            "    </testcase>",
        ]
    lines.append("  </testsuite>")
    return lines


def _xml_text(text: str) -> str:
    """Only characters XML 1.0 allows (a check's reason quotes what a server sent)."""
    return "".join(
        c
        if c in "\t\n\r"
        or 0x20 <= ord(c) <= 0xD7FF
        or 0xE000 <= ord(c) <= 0xFFFD
        or ord(c) >= 0x10000
        else "?"
        for c in text
    )


def _escape(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text)


def render_tap(datacenter: str, views: Sequence[PointView], source: str) -> str:
    """TAP version 13: one test per point, ``ok`` only when green, a YAML block with the
    state, owner and reason under every test that is not ok."""
    lines = ["TAP version 13", f"1..{len(views)}", f"# mdd {source} {datacenter}"]
    lines += tap_tests(views)
    summary = [line for line in _summary_comment(datacenter, views)]
    return "\n".join(lines + summary) + "\n"


def tap_tests(views: Sequence[PointView], first: int = 1, prefix: str = "") -> list[str]:
    """The TAP test lines of ``views``, numbered from ``first``; ``prefix`` before each name
    (``ams1/`` on the fleet board)."""
    lines = []
    for number, v in enumerate(views, first):
        description = _tap_text(f"{prefix}{v.point.name} ({v.state})")
        if v.state == GREEN:
            lines.append(f"ok {number} - {description}")
            continue
        lines.append(f"not ok {number} - {description}")
        lines.append("  ---")
        fields: list[tuple[str, Any]] = [
            ("state", v.state),
            ("type", v.point.type),
            ("owner", v.point.owner),
            ("reason", v.reason),
        ]
        if v.blocked_by:
            fields.append(("blocked_by", list(v.blocked_by)))
        if v.point.docs:
            fields.append(("docs", v.point.docs))
        for key, value in fields:
            # JSON scalars and flow lists are valid YAML.
            lines.append(f"  {key}: {json.dumps(value, ensure_ascii=True)}")
        lines.append("  ...")
    return lines


def _summary_comment(datacenter: str, views: Sequence[PointView]) -> list[str]:
    from mdd.runner.board import summary_line

    return [f"# {summary_line(datacenter, views)}"]


def _tap_text(text: str) -> str:
    """One line with no ``#`` (which would start a TAP directive)."""
    return " ".join(text.split()).replace("\\", "\\\\").replace("#", "\\#")


def render_text(datacenter: str, views: Sequence[PointView], source: str) -> str:
    from mdd.runner.board import board_lines

    return "\n".join(board_lines(datacenter, views)) + "\n"


RENDERERS: dict[str, Callable[[str, Sequence[PointView], str], str]] = {
    "text": render_text,
    "json": render_json,
    "junit": render_junit,
    "tap": render_tap,
}
