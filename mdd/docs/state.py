"""Reading a state file (`mdd verify --state FILE`, or one made from Sensu) for the document.

The document reads these fields and nothing else, and tolerates anything else in the file
(so it keeps working while `mdd verify`'s format grows):

- the file is a JSON object; the points are its ``points`` member (an object of point name
  to entry, or a list of entries each with a ``name``), or the object itself when it has
  no ``points`` member and every value is an object;
- per point: ``state`` (or ``status``): ``green``, ``pending``, ``regressed``, ``blocked``,
  or a check result ``ok``/``warning``/``critical``/``unknown`` (any case), or the exit
  code 0-3;
- when it turned green: ``first_green`` (or ``first_green_at``, ``green_since``,
  ``since``); when it last changed: ``last_change`` (or ``changed``, ``last_changed``);
  each an ISO 8601 time or seconds since the epoch;
- the reason: ``message`` (or ``output``, ``reason``), or the same inside ``last_result``
  (or ``result``).

A point the file does not mention has no state ("not run yet"). A file that is not JSON,
or whose points are not objects, is an error, never a silently empty document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

STATES = ("green", "regressed", "pending", "blocked")
_FROM_RESULT = {"ok": "green", "0": "green", "warning": "green", "1": "green"}
_NOT_GREEN = {"critical", "unknown", "2", "3"}


class StateError(Exception):
    """The state file cannot be used; the message says why."""


@dataclass(frozen=True)
class PointState:
    state: str  # green, regressed, pending, blocked, or as written when unknown to mdd
    first_green: str | None = None  # "2026-12-02 12:04 UTC"
    last_change: str | None = None
    message: str | None = None

    @property
    def green(self) -> bool:
        return self.state == "green"


def _time(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            moment = datetime.fromtimestamp(value, tz=timezone.utc)
        elif isinstance(value, str):
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return str(value)[:40]
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _first(entry: dict[str, Any], *names: str) -> Any:
    for name in names:
        if entry.get(name) is not None:
            return entry[name]
    return None


def _state(raw: Any, first_green: str | None) -> str:
    text = str(raw).strip().lower() if raw is not None else ""
    if text in STATES:
        return text
    if text in _FROM_RESULT:
        return "green"
    if text in _NOT_GREEN:
        return "regressed" if first_green else "pending"
    return text[:20] or "unknown"


def _entry(entry: dict[str, Any]) -> PointState:
    first_green = _time(_first(entry, "first_green", "first_green_at", "green_since", "since"))
    result = _first(entry, "last_result", "result")
    message = _first(entry, "message", "output", "reason")
    if message is None and isinstance(result, dict):
        message = _first(result, "message", "output", "reason")
    raw_state = _first(entry, "state", "status")
    if raw_state is None and isinstance(result, dict):
        raw_state = _first(result, "state", "status")
    return PointState(
        state=_state(raw_state, first_green),
        first_green=first_green,
        last_change=_time(_first(entry, "last_change", "changed", "last_changed")),
        message=" ".join(str(message).split())[:300] if message is not None else None,
    )


def read_state(path: Path) -> dict[str, PointState]:
    """Each point's state, by name; ``StateError`` when the file cannot be used."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StateError(f"cannot read the state file {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateError(f"{path} is not a JSON state file: {exc}") from None
    if not isinstance(data, dict):
        raise StateError(f"{path} is not a state file: expected a JSON object")
    points = data.get("points", data)
    entries: dict[str, Any]
    if isinstance(points, list):
        entries = {
            str(item["name"]): item for item in points if isinstance(item, dict) and "name" in item
        }
    elif isinstance(points, dict):
        entries = {str(name): entry for name, entry in points.items()}
    else:
        raise StateError(f"{path}: 'points' is neither an object nor a list")
    if "points" not in data:
        entries = {name: entry for name, entry in entries.items() if isinstance(entry, dict)}
        if not entries and data:
            raise StateError(f"{path} is not a state file: it has no points")
    bad = [name for name, entry in entries.items() if not isinstance(entry, dict)]
    if bad:
        raise StateError(f"{path}: the entry of point {bad[0]!r} is not an object")
    return {name: _entry(entry) for name, entry in entries.items()}
