"""``mdd verify``: run a datacenter's checks here, once or until everything is green.

Glue only: the runner yields outcomes, the state file turns them into deployment states,
the board shows them while it runs, and a format renders the end result.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import TextIO

from mdd.core.model import IntegrationPoint, Manifest
from mdd.runner.board import LiveBoard
from mdd.runner.formats import RENDERERS
from mdd.runner.runner import DEFAULT_JOBS, run
from mdd.runner.states import GREEN, PointView, StateFile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from mdd.runner.stable import Gate


@dataclass(kw_only=True)
class Settings:
    """What the command line asked for."""

    jobs: int = DEFAULT_JOBS
    watch: bool = False
    interval: float = 30.0
    timeout: float | None = None
    probe_blocked: bool = False
    fmt: str = "text"
    output: str | None = None
    color: bool = True
    live: bool | None = None
    stable: float | None = None  # seconds every point must stay green ("done done"); None: no soak
    tz: tzinfo | None = None  # the time zone of the soak's lines (None: the machine's)

    @property
    def document_on_stdout(self) -> bool:
        """The document goes to standard output (a format, no -o file): the board and the
        lines to standard error."""
        return self.fmt != "text" and self.output in (None, "-")

    @property
    def writes_document(self) -> bool:
        """A document is written beside the board (a format, or -o)."""
        return self.fmt != "text" or self.output not in (None, "-")

    def gate(self) -> Gate | None:
        """A datacenter's soak across the rounds (None without --stable)."""
        if self.stable is None:
            return None
        from mdd.runner.clock import zone
        from mdd.runner.stable import Gate

        return Gate(self.stable, self.tz if self.tz is not None else zone(None))

    def left(self, started: float) -> float | None:
        """Seconds of --timeout left, the rounds having started at ``started`` (monotonic)."""
        return None if self.timeout is None else self.timeout - (time.monotonic() - started)

    def pause(self, left: float | None, soak_left: float | None) -> float:
        """How long to wait before the next round: the interval, or less when ``left``
        (--timeout) or ``soak_left`` (the soak, at least 0.05s) ends sooner."""
        pause = self.interval if left is None else min(self.interval, left)
        if soak_left is not None:
            pause = min(pause, max(soak_left, 0.05))
        return pause

    def not_within(self, what: str, stream: TextIO) -> None:
        """The line that says --timeout ran out before ``what`` (all green, stable)."""
        from mdd.checks.api import duration_text

        assert self.timeout is not None
        stream.write(f"mdd: not {what} within --timeout {duration_text(self.timeout)}\n")


def outside_green(
    manifest: Manifest, selected: Sequence[IntegrationPoint], state: StateFile
) -> list[str]:
    """The points not selected that were green when last checked: they do not block the
    selected ones that depend on them."""
    names = {point.name for point in selected}
    return [
        p.name for p in manifest.points if p.name not in names and state.last_state(p.name) == GREEN
    ]


def write_document(text: str, output: str | None, stream: TextIO) -> None:
    """``text`` to ``output`` atomically, or to ``stream`` when there is none (or ``-``)."""
    if output is None or output == "-":
        stream.write(text)
        stream.flush()
        return
    from mdd.core.output import write_atomically

    write_atomically(Path(output), text)


@dataclass(eq=False)
class _Rounds:
    """The points of one ``mdd verify`` as rounds of checks go: their views on the board,
    and the soak's gate."""

    manifest: Manifest
    selected: Sequence[IntegrationPoint]
    state: StateFile
    settings: Settings
    board: LiveBoard
    outside_green: list[str] = field(init=False)
    views: dict[str, PointView] = field(init=False)
    gate: Gate | None = field(init=False)
    soak_ok: bool = field(default=True, init=False)
    remaining: float | None = field(default=None, init=False)  # of the soak, after a round
    done: int = field(default=0, init=False)  # points checked in the round

    def __post_init__(self) -> None:
        self.outside_green = outside_green(self.manifest, self.selected, self.state)
        self.views = {p.name: self.state.view(p) for p in self.selected}
        self.gate = self.settings.gate()

    def final(self) -> list[PointView]:
        return [self.views[p.name] for p in self.selected]

    def all_green(self) -> bool:
        return all(v.state == GREEN for v in self.views.values())

    def redraw(self, status: str) -> None:
        self.board.redraw(list(self.views.values()), self.done, len(self.selected), status)

    def round(self) -> None:
        """Check every selected point once, save the states, and update the soak."""
        self.done = 0
        self.redraw("checking...")
        for outcome in run(
            self.selected,
            jobs=self.settings.jobs,
            green=self.outside_green,
            probe_blocked=self.settings.probe_blocked,
        ):
            view, before = self.state.record(outcome)
            self.views[view.point.name] = view
            self.done += 1
            if before is not None and before != view.state:
                self.board.change(view, before)
            if self.board.live:
                self.redraw("checking...")
        self.state.save(self.manifest.points)  # merged with the file, then one burn-up sample
        self.remaining = None
        if self.gate is not None:
            from mdd.runner.clock import now as clock_now

            soak, lines = self.gate.update(self.final(), clock_now())
            self.soak_ok, self.remaining = soak.ok, soak.remaining
            self.board.note(lines)

    def pause(self, left: float | None) -> float:
        """How long to wait before the next round, with ``left`` seconds of --timeout."""
        return self.settings.pause(left, self.remaining if self.all_green() else None)


def verify(
    manifest: Manifest,
    selected: Sequence[IntegrationPoint],
    state: StateFile,
    settings: Settings,
) -> int:
    """Run the checks of ``selected``; 0 when all of them are green, else 1.

    Raises ``StateFileError`` (state file not writable) and ``OSError`` (``--output``)."""
    board = LiveBoard(
        manifest.datacenter,
        sys.stderr if settings.document_on_stdout else sys.stdout,
        live=settings.live,
        color=settings.color,
    )
    rounds = _Rounds(manifest, selected, state, settings, board)
    interrupted = False
    try:
        _watch(rounds)
    except KeyboardInterrupt:
        interrupted = True
        state.save(manifest.points)
    final = rounds.final()
    board.final(final)  # the document itself for text on standard output
    if settings.writes_document:
        text = RENDERERS[settings.fmt](manifest.datacenter, final, "verify")
        write_document(text, settings.output, sys.stdout)
    all_green = all(v.state == GREEN for v in final)
    if interrupted:
        sys.stderr.write(
            f"mdd: interrupted; the state is saved in {state.path}\n"
            if state.path
            else "mdd: interrupted\n"
        )
    elif settings.watch and settings.timeout is not None and (not all_green or not rounds.soak_ok):
        settings.not_within("all green" if not all_green else "stable", sys.stderr)
    return 0 if all_green and rounds.soak_ok else 1


def _watch(rounds: _Rounds) -> None:
    """Rounds of checks: one, or with --watch until all green (and stable) or --timeout."""
    settings = rounds.settings
    started = time.monotonic()
    count = 0
    while True:
        rounds.round()
        count += 1
        if not settings.watch or (rounds.all_green() and rounds.soak_ok):
            return
        if count == 1 and not rounds.board.live:
            rounds.board.final(rounds.final())  # where the watch starts from
        left = settings.left(started)
        if left is not None and left <= 0:
            return
        pause = rounds.pause(left)
        rounds.redraw(f"next round in {pause:.0f}s")
        time.sleep(pause)
        if left is not None and left - pause <= 0:
            return
