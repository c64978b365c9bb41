"""Deployment states and the state file that remembers them between runs.

A point is, after a run:

* **green**: its check is OK;
* **blocked**: it is not green and one of its ``depends_on`` points is not green (by
  default it is then not probed at all);
* **regressed**: it is not green but has been green before (the state file says when);
* **unknown**: its check could not decide (UNKNOWN: a secret missing on this machine, a
  library missing, a bad option): nobody looked, so it is neither "not delivered" nor green;
* **pending**: it is not green and has never been green: expected during bring-up.

WARNING is not green either: a point is done only when its check is OK.

The state file (``.mdd/<datacenter>.json``) records, per point, when it was first seen,
when it first turned green, when its state last changed, its last result and its recent
transitions (``{"at", "state"}``, the last ``TRANSITIONS_LIMIT``: lead times are computed
from ``first_seen``, ``first_green`` and these), and a history of how many points were green,
for the burn-up chart of ``mdd report``: the last ``HISTORY_RECENT`` samples as taken, older
ones summarised to the last sample of each day, ``HISTORY_LIMIT`` samples at most.

It is read only as a regular file of at most ``STATE_LIMIT`` bytes and ``JSON_DEPTH``
levels (``mdd.core.files``), and written atomically under a lock (``FILE.lock`` beside it,
``fcntl.flock``): ``save`` reads the file again, keeps every point this run did not record
as the file has it, and writes, so two runs on one datacenter (``mdd verify --only a`` and
``--only b``) both keep their results. A file that is not an mdd state file, or the state of
another datacenter, is refused, never overwritten.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from mdd.checks.api import State, printable
from mdd.core.deployment import BLOCKED as BLOCKED  # the state words
from mdd.core.deployment import GREEN as GREEN
from mdd.core.deployment import PENDING as PENDING
from mdd.core.deployment import REGRESSED as REGRESSED
from mdd.core.deployment import UNKNOWN as UNKNOWN
from mdd.core.deployment import deployment_state

# pathlib, typing and the dataclasses of mdd.core.model are for the type checker or
# imported where needed.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from mdd.core.model import IntegrationPoint, Manifest
    from mdd.runner.runner import Outcome

STATES = (REGRESSED, UNKNOWN, PENDING, BLOCKED, GREEN)  # the board's order: eyes first

FORMAT = "mdd-state"
VERSION = 1
HISTORY_LIMIT = 5000  # samples kept for the burn-up chart, at most
HISTORY_RECENT = 2000  # the newest samples kept as taken; older: the last of each day
TRANSITIONS_LIMIT = 50  # state changes kept per point (first_seen, first_green: always)
STATE_LIMIT = 64 << 20  # bytes of a state file read at most (10,000 points: about 20 MiB)
LOCK_TIMEOUT = 60.0  # seconds waited for another mdd holding the state file's lock


class StateFileError(Exception):
    """The state file cannot be used; the message says why and what to do."""


def timestamp(seconds: float | None = None) -> str:
    """UTC time as ``2026-12-02T12:04:31Z`` (default: now, by ``mdd.runner.clock``)."""
    from mdd.runner.clock import now as clock_now

    return time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock_now() if seconds is None else seconds)
    )


def default_path(manifest: Manifest, bundled: bool = False) -> Path:
    """``.mdd/<datacenter>.json`` in the folder that holds the manifests folder (for
    ``manifests/ams1.yaml``: ``.mdd/ams1.json`` next to ``manifests/``); for the bundled
    example manifest, in the current folder."""
    if bundled:
        from pathlib import Path

        return Path(".mdd") / f"{manifest.datacenter}.json"
    return state_folder(manifest.path.parent) / f"{manifest.datacenter}.json"


def state_folder(manifests_folder: Path) -> Path:
    """The folder of the state files of the manifests in ``manifests_folder``: ``.mdd``
    beside it."""
    return manifests_folder.absolute().parent / ".mdd"


class PointView:
    """One point as shown: deployment state, reason and the dates behind it."""

    __slots__ = (
        "point",
        "state",
        "status",
        "reason",
        "blocked_by",
        "first_green",
        "last_change",
        "checked_at",
        "duration",
    )

    def __init__(
        self,
        point: IntegrationPoint,
        state: str,
        status: int | None,
        reason: str,
        blocked_by: tuple[str, ...] = (),
        first_green: str | None = None,
        last_change: str | None = None,
        checked_at: str | None = None,
        duration: float | None = None,
    ) -> None:
        self.point = point
        self.state = state
        self.status = status  # the check's exit status; None: not run
        self.reason = reason
        self.blocked_by = blocked_by
        self.first_green = first_green
        self.last_change = last_change
        self.checked_at = checked_at
        self.duration = duration

    @property
    def status_name(self) -> str | None:
        return None if self.status is None else _status_name(self.status)


def _status_name(status: int) -> str:
    try:
        return State(status).name
    except ValueError:
        return "UNKNOWN"


def reason_of(outcome: Outcome) -> str:
    """The one line shown beside the point."""
    blocked = f"blocked by {', '.join(outcome.blocked_by)}" if outcome.blocked_by else ""
    if outcome.result is None:
        return blocked
    text = printable(" ".join(outcome.result.message.split()))
    if blocked and not outcome.ok:
        return f"{blocked}; its own check: {text}"
    return text


class StateFile:
    """The recorded states of one datacenter's points (in memory; ``save`` writes it)."""

    def __init__(self, datacenter: str, path: Path | None) -> None:
        self.datacenter = datacenter
        self.path = path  # None: nothing is read or written
        self.points: dict[str, dict[str, Any]] = {}
        self.history: list[dict[str, Any]] = []
        self.created = timestamp()
        self.recorded: set[str] = set()  # the points this run recorded: its own on save
        self.new_samples: list[dict[str, Any]] = []  # taken by this run, not saved yet

    @classmethod
    def load(cls, datacenter: str, path: Path | None) -> StateFile:
        """The state file at ``path`` (empty when it does not exist yet)."""
        state = cls(datacenter, path)
        if path is None:
            return state
        data = _read(path)
        if data is None:
            return state
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise StateFileError(
                f'{path} is not an mdd state file (no "format": "{FORMAT}"); it is left as '
                f"it is: pass --state FILE to keep the state elsewhere"
            )
        if data.get("version") != VERSION:
            raise StateFileError(
                f"{path} is an mdd state file of version {data.get('version')!r}; this mdd "
                f"reads version {VERSION}: upgrade mdd, or pass --state FILE"
            )
        if data.get("datacenter") != datacenter:
            raise StateFileError(
                f"{path} holds the state of datacenter {data.get('datacenter')!r}, not "
                f"{datacenter!r}; it is left as it is: pass --state FILE for {datacenter}"
            )
        points, history = data.get("points"), data.get("history")
        if not isinstance(points, dict) or not isinstance(history, list):
            raise StateFileError(
                f'{path} is a damaged mdd state file ("points" must be a mapping and '
                f'"history" a list); it is left as it is: repair or remove it'
            )
        state.points = {k: v for k, v in points.items() if isinstance(v, dict)}
        state.history = compact([h for h in history if isinstance(h, dict)])
        state.created = str(data.get("created") or state.created)
        return state

    def was_green(self, name: str) -> bool:
        return bool(self.points.get(name, {}).get("first_green"))

    def last_state(self, name: str) -> str | None:
        value = self.points.get(name, {}).get("state")
        return value if isinstance(value, str) else None

    def record(
        self,
        outcome: Outcome,
        at: float | None = None,
        was_green: bool = False,
        reason: str | None = None,
    ) -> tuple[PointView, str | None]:
        """Take in one outcome: the point's view, and its previous state (None: first seen).

        ``at``: when it was checked (default: now); ``was_green``: known to have been green
        before, beyond what this file says; ``reason``: instead of the outcome's."""
        name = outcome.point.name
        now = timestamp(at)
        previous = self.points.get(name, {})
        before = self.last_state(name)
        result = outcome.result
        state = deployment_state(
            outcome.ok,
            outcome.blocked_by,
            was_green or self.was_green(name),
            None if result is None else int(result.state),
        )
        first_green = previous.get("first_green") or (now if state == GREEN else None)
        last_change = previous.get("last_change") if before == state else now
        first_seen = previous.get("first_seen") or _earliest(previous) or now
        transitions = [t for t in previous.get("transitions") or () if isinstance(t, dict)]
        if before != state:
            transitions.append({"at": now, "state": state})
        entry: dict[str, Any] = {
            "state": state,
            "first_seen": first_seen,
            "first_green": first_green,
            "last_change": last_change,
            "transitions": transitions[-TRANSITIONS_LIMIT:],
            "blocked_by": list(outcome.blocked_by) if state == BLOCKED else [],
            "last_result": {
                "status": None if result is None else int(result.state),
                "reason": reason_of(outcome) if reason is None else printable(reason),
                "checked_at": now,
                "duration": None if outcome.duration is None else round(outcome.duration, 6),
            },
        }
        self.points[name] = entry
        self.recorded.add(name)
        return self.view(outcome.point), before

    def view(self, point: IntegrationPoint) -> PointView:
        """The point as last recorded (pending, not run, when it never was)."""
        entry = self.points.get(point.name)
        if entry is None:
            return PointView(point, PENDING, None, "not checked yet")
        last = entry.get("last_result") or {}
        state = str(entry.get("state", PENDING))
        reason = printable(str(last.get("reason", "")))
        blocked: tuple[str, ...] = ()
        if state == BLOCKED:
            blocked = tuple(str(d) for d in entry.get("blocked_by") or ()) or point.depends_on
        return PointView(
            point,
            state,
            last.get("status"),
            reason,
            blocked,
            entry.get("first_green"),
            entry.get("last_change"),
            last.get("checked_at"),
            last.get("duration"),
        )

    def sample(self, views: Iterable[PointView], at: float | None = None) -> None:
        """Add a burn-up sample (points green of total) when it differs from the last."""
        views = list(views)
        green = sum(1 for v in views if v.state == GREEN)
        sample = {"at": timestamp(at), "green": green, "total": len(views)}
        last = self.history[-1] if self.history else None
        if last is None or (last.get("green"), last.get("total")) != (green, len(views)):
            self.history.append(sample)
            self.new_samples.append(sample)
            self.history = compact(self.history)

    def text(self) -> str:
        data = {
            "format": FORMAT,
            "version": VERSION,
            "datacenter": self.datacenter,
            "created": self.created,
            "updated": timestamp(),
            "points": dict(sorted(self.points.items())),
            "history": self.history,
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    def save(self, sample_over: Iterable[IntegrationPoint] | None = None) -> None:
        """Write the file atomically (creating its folder); raises ``StateFileError``.

        Under the file's lock, the file is read again and merged: points this run recorded
        are this run's, every other point is the file's; the history is the file's plus the
        samples this run took. ``sample_over``: the datacenter's points, for one burn-up
        sample taken over the merged states (points not recorded here: as the file says)."""
        if self.path is None:
            if sample_over is not None:
                self.sample(self.view(p) for p in sample_over)
            return
        from mdd.core.output import write_atomically

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateFileError(
                f"cannot write the state file {self.path}: {exc.strerror or exc}"
            ) from None
        with self.locked():
            current = StateFile.load(self.datacenter, self.path)
            merged = dict(current.points)
            merged.update({name: self.points[name] for name in self.recorded})
            self.points = merged
            self.history = current.history
            if current.points or current.history:
                self.created = current.created
            for taken in self.new_samples:
                last = self.history[-1] if self.history else None
                if last is None or (last.get("green"), last.get("total")) != (
                    taken["green"],
                    taken["total"],
                ):
                    self.history.append(taken)
            self.new_samples = []
            if sample_over is not None:
                self.sample(self.view(p) for p in sample_over)
                self.new_samples = []
            self.history = compact(self.history)
            try:
                write_atomically(self.path, self.text())
            except OSError as exc:
                raise StateFileError(
                    f"cannot write the state file {self.path}: {exc.strerror or exc}"
                ) from None

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold ``FILE.lock`` (beside the state file) exclusively; waits at most
        ``LOCK_TIMEOUT`` for another mdd holding it."""
        import fcntl

        assert self.path is not None
        lock_path = lock_path_of(self.path)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(lock_path, flags, 0o644)
        except OSError as exc:
            raise StateFileError(
                f"cannot lock the state file: {lock_path}: {exc.strerror or exc}"
            ) from None
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise StateFileError(
                            f"the state file {self.path} stayed locked by another mdd for "
                            f"{LOCK_TIMEOUT:.0f}s ({lock_path}); nothing written: try again"
                        ) from None
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)  # releases the lock


def lock_path_of(path: Path) -> Path:
    """The lock file of the state file ``path``: ``ams1.json.lock`` beside it."""
    return path.with_name(path.name + ".lock")


def _read(path: Path) -> Any:
    """The JSON document of the state file ``path``, None when there is no file."""
    from mdd.core.files import FileReadError, load_json, read_capped

    try:
        data = read_capped(path, STATE_LIMIT, f"the state file {path}")
    except FileNotFoundError:
        return None
    except FileReadError as exc:
        raise StateFileError(f"{exc}; pass --state FILE for another one") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StateFileError(f"cannot read the state file {path}: {exc}") from None
    try:
        return load_json(text, f"the state file {path}")
    except json.JSONDecodeError as exc:
        raise StateFileError(
            f"{path}:{exc.lineno}:{exc.colno}: the state file is not valid JSON "
            f"({exc.msg}); it is left as it is: repair or remove it, or pass --state FILE"
        ) from None
    except FileReadError as exc:
        raise StateFileError(
            f"{exc}: it is not a state file mdd wrote; it is left as it is: repair or remove "
            f"it, or pass --state FILE"
        ) from None


def _earliest(entry: dict[str, Any]) -> str | None:
    """The earliest time a point written by an older mdd (no ``first_seen``) is known by."""
    known = [
        value
        for value in (
            entry.get("first_green"),
            entry.get("last_change"),
            (entry.get("last_result") or {}).get("checked_at")
            if isinstance(entry.get("last_result"), dict)
            else None,
        )
        if isinstance(value, str)
    ]
    return min(known) if known else None


def compact(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``history`` within ``HISTORY_LIMIT``: the newest ``HISTORY_RECENT`` samples as they
    are, older ones summarised to the first sample ever and the last sample of each day
    (``at`` is ``YYYY-MM-DDT...``), evenly thinned when there are still too many."""
    if len(history) <= HISTORY_LIMIT:
        return history
    old, recent = history[:-HISTORY_RECENT], history[-HISTORY_RECENT:]
    by_day: dict[str, dict[str, Any]] = {}
    for sample in old[1:]:
        by_day[str(sample.get("at", ""))[:10]] = sample  # the last of each day
    summary = [old[0], *by_day.values()]
    room = HISTORY_LIMIT - HISTORY_RECENT
    if len(summary) > room:
        step = len(summary) / room
        summary = [summary[int(i * step)] for i in range(room)]
    return summary + recent


def counts(views: Iterable[PointView]) -> dict[str, int]:
    """How many points are in each state, and in all (``total``)."""
    result = {state: 0 for state in STATES}
    total = 0
    for view in views:
        result[view.state] = result.get(view.state, 0) + 1
        total += 1
    result["total"] = total
    return result


def percent(green: int, total: int) -> int:
    """Whole percent green, rounded down: 100 only when every point is green."""
    return 100 if total == 0 else green * 100 // total
