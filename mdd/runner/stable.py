""" "Done done": every point green, and green continuously for an agreed soak time.

From the state file (``mdd verify --stable 10m``): the datacenter has been all green since the
latest time any of its points turned green (its ``last_change``; a point that went away and
came back turned green again then). Green continuously means: at every run that saw it.

From Sensu (``mdd status --stable 10m``): each check's own history. Sensu Go keeps each
result's time (``check.history[].executed``); Sensu Classic keeps the last 21 statuses and the
check's ``interval``, so a run of N green results ending at ``executed`` started about
``(N - 1) * interval`` before it. When all the history Sensu keeps is green and it is shorter
than the soak time, Sensu cannot tell: the point does not count as stable, and says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import tzinfo

from mdd.runner.clock import seconds_of, shown, span
from mdd.runner.states import GREEN, PointView


class Soak:
    """Where a set of points stands against the soak time."""

    def __init__(
        self,
        seconds: float,
        now: float,
        since: float | None,
        not_green: list[PointView],
        last: PointView | None,
        unsure: list[tuple[PointView, str]] | None = None,
    ) -> None:
        self.seconds = seconds
        self.now = now
        self.since = since  # all green since (None: not all green)
        self.not_green = not_green
        self.last = last  # the point that turned green last: its green started the soak
        self.unsure = unsure or []  # points whose history cannot cover the soak, and why

    @property
    def green_for(self) -> float:
        return 0.0 if self.since is None else max(self.now - self.since, 0.0)

    @property
    def remaining(self) -> float | None:
        if self.since is None:
            return None
        return max(self.seconds - self.green_for, 0.0)

    @property
    def ok(self) -> bool:
        return self.since is not None and not self.unsure and self.green_for >= self.seconds

    def flapped(self) -> bool:
        """The point that started the soak had been green before: it went away and came back."""
        if self.last is None:
            return False
        first, last = seconds_of(self.last.first_green), seconds_of(self.last.last_change)
        return first is not None and last is not None and last > first

    def line(self, tz: tzinfo) -> str:
        """One line: ``stable: ...`` when done done, else what is missing or the countdown."""
        soak = span(self.seconds)
        if self.not_green:
            names = ", ".join(v.point.name for v in self.not_green[:5])
            more = f" and {len(self.not_green) - 5} more" if len(self.not_green) > 5 else ""
            return f"soak {soak}: not all green ({names}{more}); the soak starts when they are"
        if self.unsure:
            view, why = self.unsure[0]
            more = f" (and {len(self.unsure) - 1} more)" if len(self.unsure) > 1 else ""
            return f"soak {soak}: cannot tell for {view.point.name}{more}: {why}"
        since = shown(self.since, tz)
        who = ""
        if self.last is not None:
            verb = "flapped, green again" if self.flapped() else "green last"
            who = f" ({self.last.point.name} {verb} at {since})"
        if self.ok:
            return f"stable: all green for {span(self.green_for)} since {since}{who}, soak {soak}"
        return (
            f"soak {soak}: all green for {span(self.green_for)} since {since}{who}; "
            f"{span(self.remaining)} to go"
        )


def from_state(views: Sequence[PointView], seconds: float, now: float) -> Soak:
    """The soak as the recorded states tell it (``last_change`` of each green point)."""
    not_green = [v for v in views if v.state != GREEN]
    if not_green or not views:
        return Soak(seconds, now, None, not_green, None)
    changes = [(seconds_of(v.last_change) or now, index, v) for index, v in enumerate(views)]
    since, _, last = max(changes, key=lambda item: (item[0], item[1]))
    return Soak(seconds, now, since, [], last)


def sensu_green_since(
    status: int,
    executed: float | None,
    history: Sequence[int],
    times: Sequence[float | None] | None,
    interval: float | None,
) -> tuple[float | None, float | None]:
    """From one Sensu check result: since when it has been green (None: not green now), and
    how far back the history Sensu keeps reaches (None: unknown).

    ``history``: the statuses, oldest first (Classic: up to 21; Go: ``check.history``);
    ``times``: each one's ``executed`` (Go), or None (Classic: derived from ``interval``)."""
    if status != 0 or executed is None:
        return None, None
    run = 0
    for value in reversed(history):
        if value != 0:
            break
        run += 1
    if times is not None and len(times) == len(history) and history:
        start_index = len(history) - max(run, 1)
        since = times[start_index] if run else executed
        reach = times[0]
        return since if since is not None else executed, reach
    if not interval or not history:
        return executed, executed
    since = executed - (max(run, 1) - 1) * interval
    reach = executed - (len(history) - 1) * interval
    return since, reach


def from_sensu(
    views: Sequence[PointView], found: Mapping[str, object], seconds: float, now: float
) -> Soak:
    """The soak as Sensu's check histories tell it (``found``: ``mdd.runner.status.Found``
    by point name)."""
    not_green = [v for v in views if v.state != GREEN]
    if not_green or not views:
        return Soak(seconds, now, None, not_green, None)
    sinces: list[tuple[float, int, PointView]] = []
    unsure: list[tuple[PointView, str]] = []
    for index, view in enumerate(views):
        item = found.get(view.point.name)
        history: list[int] = list(getattr(item, "history", []) or [])
        since, reach = sensu_green_since(
            int(getattr(item, "status", 3)),
            getattr(item, "executed", None),
            history,
            getattr(item, "times", None),
            getattr(item, "interval", None),
        )
        if since is None:
            not_green.append(view)
            continue
        if reach is not None and since <= reach and now - reach < seconds:
            unsure.append(
                (
                    view,
                    f"Sensu keeps {len(history)} result{'' if len(history) == 1 else 's'} "
                    f"of it, all green, reaching back {span(now - reach)}: less than the soak",
                )
            )
        sinces.append((since, index, view))
    if not_green:
        return Soak(seconds, now, None, not_green, None)
    since, _, last = max(sinces, key=lambda item: (item[0], item[1]))
    return Soak(seconds, now, since, [], last, unsure)


class Gate:
    """The soak across the rounds of ``--watch``: the countdown, and which point's flap
    restarted it."""

    def __init__(self, seconds: float, tz: tzinfo) -> None:
        self.seconds = seconds
        self.tz = tz
        self.soaking_since: float | None = None

    def update(self, views: Sequence[PointView], now: float) -> tuple[Soak, list[str]]:
        """The soak after a round, and the lines to show (a restart, then the countdown)."""
        soak = from_state(views, self.seconds, now)
        lines = []
        if self.soaking_since is not None:
            if soak.not_green:
                for view in soak.not_green:
                    lines.append(
                        f"soak restarted: {view.point.name} flapped (green → {view.state}"
                        f"{': ' + view.reason if view.reason else ''})"
                    )
            elif soak.since is not None and soak.since > self.soaking_since and soak.last:
                lines.append(
                    f"soak restarted: {soak.last.point.name} flapped (not green between "
                    f"rounds, green again at {shown(soak.since, self.tz)})"
                )
        self.soaking_since = soak.since
        lines.append(soak.line(self.tz))
        return soak, lines
