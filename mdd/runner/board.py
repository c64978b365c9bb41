"""The text board: every point's deployment state, owner and reason, then the summary.

Regressed points come first (they deserve alarm), then unknown (the check could not decide),
pending, blocked and green, each
group in manifest order. ``LiveBoard`` redraws the board in place on a terminal, with a
progress bar while a round runs; piped or with ``--no-color`` it prints plain lines: one per
change (``12:04:31 ldap-bind pending → green (identity)``) and the board at the end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TextIO

from mdd.checks.api import printable
from mdd.runner.states import (
    BLOCKED,
    GREEN,
    PENDING,
    REGRESSED,
    STATES,
    UNKNOWN,
    PointView,
    counts,
    percent,
)

_COLORS = {
    REGRESSED: "\x1b[1;31m",
    UNKNOWN: "\x1b[1;36m",
    PENDING: "\x1b[33m",
    BLOCKED: "\x1b[35m",
    GREEN: "\x1b[32m",
}
_RESET = "\x1b[0m"
REASON_WIDTH = 200  # a reason longer than this is cut on the board (never in json/junit/tap)


def summary_line(datacenter: str, views: Sequence[PointView]) -> str:
    """``ams1: 7/12 integration points green (58%)``, with what the rest are."""
    number = counts(views)
    total, green = number["total"], number[GREEN]
    noun = "integration point" if total == 1 else "integration points"
    line = f"{datacenter}: {green}/{total} {noun} green ({percent(green, total)}%)"
    rest = [
        f"{number[state]} {state}"
        for state in (REGRESSED, UNKNOWN, PENDING, BLOCKED)
        if number[state]
    ]
    return line + (f"; {', '.join(rest)}" if rest else "")


def ordered(views: Sequence[PointView]) -> list[PointView]:
    """Regressed first, then unknown, pending, blocked, green; manifest order within each."""
    rank = {state: index for index, state in enumerate(STATES)}
    return sorted(views, key=lambda view: rank.get(view.state, 0))


def _cut(text: str, width: int) -> str:
    text = printable(text)
    return text if len(text) <= width else text[: width - 3] + "..."


def board_lines(datacenter: str, views: Sequence[PointView], color: bool = False) -> list[str]:
    """The board as lines (without the trailing newline)."""
    rows = ordered(views)
    name_width = max((len(v.point.name) for v in rows), default=4)
    owner_width = max((len(v.point.owner or "-") for v in rows), default=5)
    lines = []
    for view in rows:
        label = f"{view.state.upper():9}"
        if color:
            label = f"{_COLORS.get(view.state, '')}{label}{_RESET}"
        owner = printable(view.point.owner or "-")
        lines.append(
            f"{label} {view.point.name:{name_width}}  {owner:{owner_width}}  "
            f"{_cut(view.reason, REASON_WIDTH)}".rstrip()
        )
    lines.append(summary_line(datacenter, views))
    return lines


def arrow(stream: TextIO) -> str:
    """``→`` where the stream can write it, else ``->``."""
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        "→".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "->"
    return "→"


def change_line(
    view: PointView, before: str | None, stream: TextIO, at: float | None = None
) -> str:
    """``12:04:31 ldap-bind pending → green (identity)``, local time."""
    clock = time.strftime("%H:%M:%S", time.localtime(time.time() if at is None else at))
    owner = f" ({printable(view.point.owner)})" if view.point.owner else ""
    tail = "" if view.state == GREEN else f": {_cut(view.reason, REASON_WIDTH)}"
    return f"{clock} {view.point.name} {before or 'new'} {arrow(stream)} {view.state}{owner}{tail}"


def progress_bar(done: int, total: int, width: int = 30) -> str:
    filled = width if total == 0 else done * width // total
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


class LiveBoard:
    """What ``verify`` shows while it runs: live on a terminal, plain lines otherwise."""

    def __init__(
        self,
        datacenter: str,
        stream: TextIO | None = None,
        live: bool | None = None,
        color: bool = False,
    ) -> None:
        self.datacenter = datacenter
        self.stream = stream if stream is not None else sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self.color = color and self.stream.isatty()
        self._drawn = 0  # lines drawn by the last redraw

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def change(self, view: PointView, before: str | None) -> None:
        """A point changed state; plain mode prints it at once (live mode redraws)."""
        if not self.live:
            self._write(change_line(view, before, self.stream) + "\n")

    def note(self, lines: Sequence[str]) -> None:
        """Lines about the whole run (the soak's countdown): printed at once in plain mode,
        under the board in live mode (until the next redraw)."""
        if lines:
            self._write("\n".join(lines) + "\n")
            if self.live and self._drawn:
                self._drawn += len(lines)

    def redraw(self, views: Sequence[PointView], done: int, total: int, note: str = "") -> None:
        """Live mode: the board and a progress bar, in place of the previous drawing."""
        if not self.live:
            return
        lines = board_lines(self.datacenter, views, self.color)
        lines.append(f"{progress_bar(done, total)} {note}".rstrip())
        erase = f"\x1b[{self._drawn}F\x1b[J" if self._drawn else ""
        self._write(erase + "\n".join(lines) + "\n")
        self._drawn = len(lines)

    def final(self, views: Sequence[PointView]) -> None:
        """The board and the summary, once, at the end."""
        if self.live and self._drawn:
            self._write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0
        self._write("\n".join(board_lines(self.datacenter, views, self.color)) + "\n")
