"""The batch runner's state file: what ``check-mdd-batch`` keeps on the agent between runs.

Per point (by its check name) only what the next run needs: when it was last probed (to
probe each point on its own interval or cron, whatever the runner's interval), its last
status (a dependency not probed in this run is judged by it), whether it has ever been
green (pending or regressed: ``mdd.runner.states``) and the state last submitted. One small
JSON object, its size bounded by the plan's points (a point no longer in the plan is
dropped), read at most ``LIMIT`` bytes, written atomically. A file that cannot be read or is
not this datacenter's runner state is a ``BatchStateError``: the runner says so as UNKNOWN
and leaves the file as it is, never a traceback.
"""

from __future__ import annotations

import json

from mdd.core.output import write_atomically

TYPE_CHECKING = False  # check-mdd-batch imports this on every run: typing is not paid for
if TYPE_CHECKING:
    from typing import Any

FORMAT = "mdd-batch-state"
VERSION = 1
LIMIT = 8 << 20  # bytes read at most (a plan of 10,000 points needs under 2 MiB)


class BatchStateError(Exception):
    """The state file cannot be used; the message says why and what to do."""


def default_path(datacenter: str) -> str:
    """Beside the agent's own cache (the Sensu Classic client's and the Sensu Go agent's
    cache folder, writable by the user Sensu runs checks as)."""
    return f"/var/cache/sensu/mdd-batch-{datacenter}.state"


class BatchState:
    def __init__(self, path: str, datacenter: str) -> None:
        self.path = path
        self.datacenter = datacenter
        self.points: dict[str, dict[str, Any]] = {}

    @classmethod
    def load(cls, path: str, datacenter: str) -> BatchState:
        state = cls(path, datacenter)
        from mdd.core.files import FileReadError, load_json, read_capped

        damaged = f"the state file {path} is damaged"
        advice = "remove it (every point is then probed, and counted pending until green)"
        try:  # a regular file only (a FIFO never holds the runner), at most LIMIT bytes
            data = read_capped(path, LIMIT, f"the state file {path}")
        except FileNotFoundError:
            return state  # the first run: every point is due
        except FileReadError as exc:
            raise BatchStateError(f"{exc} (--state FILE chooses another place)") from None
        try:
            document = load_json(data, f"the state file {path}")
        except json.JSONDecodeError as exc:
            raise BatchStateError(f"{damaged} (not JSON: {exc}): {advice}") from None
        except FileReadError as exc:  # nested too deeply, a number too long
            raise BatchStateError(f"{exc}: {advice}") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise BatchStateError(
                f"{path} is not a check-mdd-batch state file; it is left as it is: "
                f"pass --state FILE"
            )
        if document.get("version") != VERSION:
            raise BatchStateError(
                f"{path} is a state file of version {document.get('version')!r}, this "
                f"check-mdd-batch reads version {VERSION}: {advice}"
            )
        if document.get("datacenter") != datacenter:
            raise BatchStateError(
                f"{path} holds datacenter {document.get('datacenter')!r}'s state, not "
                f"{datacenter!r}'s; it is left as it is: pass --state FILE"
            )
        points = document.get("points")
        if not isinstance(points, dict) or not all(
            isinstance(entry, dict) and _valid(entry) for entry in points.values()
        ):
            raise BatchStateError(f"{damaged} (a point's entry is not as written): {advice}")
        state.points = points
        return state

    def probed(self, check: str) -> float | None:
        value = self.points.get(check, {}).get("probed")
        return float(value) if value is not None else None

    def status(self, check: str) -> int | None:
        value = self.points.get(check, {}).get("status")
        return int(value) if value is not None else None

    def was_green(self, check: str) -> bool:
        return bool(self.points.get(check, {}).get("green"))

    def last_state(self, check: str) -> str | None:
        value = self.points.get(check, {}).get("state")
        return str(value) if value is not None else None

    def record(self, check: str, probed: float, status: int, state: str) -> None:
        self.points[check] = {
            "probed": round(probed, 3),
            "status": status,
            "green": self.was_green(check) or status == 0,
            "state": state,
        }

    def save(self, keep: set[str]) -> None:
        """Write atomically the entries of the points in ``keep`` (the plan's)."""
        document = {
            "format": FORMAT,
            "version": VERSION,
            "datacenter": self.datacenter,
            "points": {k: v for k, v in sorted(self.points.items()) if k in keep},
        }
        try:
            write_atomically(self.path, json.dumps(document, separators=(",", ":")) + "\n")
        except OSError as exc:
            raise BatchStateError(
                f"cannot write the state file {self.path}: {exc.strerror or exc} (--state "
                f"FILE chooses another place)"
            ) from None


def _valid(entry: dict[str, Any]) -> bool:
    probed, status = entry.get("probed"), entry.get("status")
    return (
        isinstance(probed, int | float)
        and not isinstance(probed, bool)
        and isinstance(status, int)
        and not isinstance(status, bool)
        and isinstance(entry.get("green"), bool)
        and isinstance(entry.get("state"), str)
    )
