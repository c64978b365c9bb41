"""``mdd verify``: run a datacenter's checks here, once or until everything is green.

Glue only: the runner yields outcomes, the state file turns them into deployment states,
the board shows them while it runs, and a format renders the end result.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
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


class Settings:
    """What the command line asked for."""

    def __init__(
        self,
        *,
        jobs: int = DEFAULT_JOBS,
        watch: bool = False,
        interval: float = 30.0,
        timeout: float | None = None,
        probe_blocked: bool = False,
        fmt: str = "text",
        output: str | None = None,
        color: bool = True,
        live: bool | None = None,
        stable: float | None = None,
        tz: tzinfo | None = None,
    ) -> None:
        self.jobs = jobs
        self.watch = watch
        self.interval = interval
        self.timeout = timeout
        self.probe_blocked = probe_blocked
        self.fmt = fmt
        self.output = output
        self.color = color
        self.live = live
        self.stable = stable  # seconds every point must stay green ("done done"); None: no soak
        self.tz = tz  # the time zone of the soak's lines (None: the machine's)


def write_document(text: str, output: str | None, stream: TextIO) -> None:
    """``text`` to ``output`` atomically, or to ``stream`` when there is none (or ``-``)."""
    if output is None or output == "-":
        stream.write(text)
        stream.flush()
        return
    from mdd.core.output import write_atomically

    write_atomically(Path(output), text)


def verify(
    manifest: Manifest,
    selected: Sequence[IntegrationPoint],
    state: StateFile,
    settings: Settings,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the checks of ``selected``; 0 when all of them are green, else 1.

    Raises ``StateFileError`` (state file not writable) and ``OSError`` (``--output``)."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    document_on_stdout = settings.fmt != "text" and settings.output in (None, "-")
    board = LiveBoard(
        manifest.datacenter,
        err if document_on_stdout else out,
        live=settings.live,
        color=settings.color,
    )
    names = {point.name for point in selected}
    outside_green = [
        p.name for p in manifest.points if p.name not in names and state.last_state(p.name) == GREEN
    ]
    views: dict[str, PointView] = {p.name: state.view(p) for p in selected}
    started = time.monotonic()
    interrupted = False
    rounds = 0
    gate = _gate(settings)
    soak_ok = True
    try:
        while True:
            done = 0
            board.redraw(list(views.values()), done, len(selected), "checking...")
            for outcome in run(
                selected,
                jobs=settings.jobs,
                green=outside_green,
                probe_blocked=settings.probe_blocked,
            ):
                view, before = state.record(outcome)
                views[view.point.name] = view
                done += 1
                if before is not None and before != view.state:
                    board.change(view, before)
                if board.live:
                    board.redraw(list(views.values()), done, len(selected), "checking...")
            state.save(manifest.points)  # merged with the file, then one burn-up sample
            rounds += 1
            all_green = all(v.state == GREEN for v in views.values())
            remaining: float | None = None
            if gate is not None:
                from mdd.runner.clock import now as clock_now

                soak, lines = gate.update([views[p.name] for p in selected], clock_now())
                soak_ok, remaining = soak.ok, soak.remaining
                board.note(lines)
            if not settings.watch or (all_green and soak_ok):
                break
            if rounds == 1 and not board.live:
                board.final([views[p.name] for p in selected])  # where the watch starts from
            left = (
                None
                if settings.timeout is None
                else settings.timeout - (time.monotonic() - started)
            )
            if left is not None and left <= 0:
                break
            pause = settings.interval if left is None else min(settings.interval, left)
            if all_green and remaining is not None:
                pause = min(pause, max(remaining, 0.05))
            board.redraw(list(views.values()), done, len(selected), f"next round in {pause:.0f}s")
            time.sleep(pause)
            if left is not None and left - pause <= 0:
                break
    except KeyboardInterrupt:
        interrupted = True
        state.save(manifest.points)
    final = [views[p.name] for p in selected]
    board.final(final)  # the document itself for text on standard output
    if settings.fmt != "text" or settings.output not in (None, "-"):
        text = RENDERERS[settings.fmt](manifest.datacenter, final, "verify")
        write_document(text, settings.output, out)
    if interrupted:
        err.write(
            f"mdd: interrupted; the state is saved in {state.path}\n"
            if state.path
            else "mdd: interrupted\n"
        )
    elif (
        settings.watch and settings.timeout is not None and not all(v.state == GREEN for v in final)
    ):
        from mdd.checks.api import duration_text

        err.write(f"mdd: not all green within --timeout {duration_text(settings.timeout)}\n")
    elif settings.watch and settings.timeout is not None and not soak_ok:
        from mdd.checks.api import duration_text

        err.write(f"mdd: not stable within --timeout {duration_text(settings.timeout)}\n")
    return 0 if all(v.state == GREEN for v in final) and soak_ok else 1


def _gate(settings: Settings) -> Gate | None:
    if settings.stable is None:
        return None
    from mdd.runner.clock import zone
    from mdd.runner.stable import Gate

    return Gate(settings.stable, settings.tz if settings.tz is not None else zone(None))
