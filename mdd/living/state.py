"""The state file `mdd verify` keeps, as the living document shows it (`mdd docs --state FILE`).

There is one definition of the format: ``mdd.runner.states.StateFile`` reads the file (and
refuses one that is not an mdd state file, is of another version or of another datacenter);
this module only turns each recorded point into what the document prints: its deployment
state, when it first turned green, when its state last changed and its last reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mdd.runner.states import GREEN, STATES, StateFile, StateFileError


class StateError(Exception):
    """The state file cannot be used; the message says why."""


@dataclass(frozen=True)
class PointState:
    state: str  # green, regressed, unknown, pending or blocked
    first_green: str | None = None  # "2026-12-02 12:04 UTC"
    last_change: str | None = None
    message: str | None = None

    @property
    def green(self) -> bool:
        return self.state == GREEN


def _time(value: Any) -> str | None:
    """``2026-12-02T12:04:31Z`` (the state file's form) as ``2026-12-02 12:04 UTC``."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return " ".join(value.split())[:40]
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _entry(entry: dict[str, Any]) -> PointState:
    state = entry.get("state")
    last = entry.get("last_result")
    reason = last.get("reason") if isinstance(last, dict) else None
    return PointState(
        state=state if isinstance(state, str) and state in STATES else "unknown",
        first_green=_time(entry.get("first_green")),
        last_change=_time(entry.get("last_change")),
        message=" ".join(str(reason).split())[:300] if reason else None,
    )


def read_state(path: Path, datacenter: str) -> dict[str, PointState]:
    """Each recorded point's state, by name; ``StateError`` when the file cannot be used
    (missing, not an mdd state file, another version, another datacenter's)."""
    if not path.is_file():
        what = "does not exist" if not path.exists() else "is not a file"
        raise StateError(
            f"the state file {path} {what}: run `mdd verify {datacenter}` first, or pass the "
            f"file it wrote (default .mdd/{datacenter}.json)"
        )
    try:
        recorded = StateFile.load(datacenter, path)
    except StateFileError as exc:
        raise StateError(str(exc)) from None
    return {name: _entry(entry) for name, entry in recorded.points.items()}
