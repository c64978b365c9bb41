"""``mdd verify --all``: run several datacenters' checks here, once or until all are green.

Each datacenter's points run as ``mdd verify DC`` runs them (concurrently, blocked points
not probed) into its own state file, one datacenter after the other; each change is printed
as it happens (``12:04:31 ams1 ldap pending → green (identity)``), and the fleet board at
the end. With ``--stable``, every datacenter must also stay all green for the soak time.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from datetime import tzinfo
from typing import TextIO

from mdd.core.model import IntegrationPoint, Manifest
from mdd.runner.board import change_line
from mdd.runner.clock import now as clock_now
from mdd.runner.fleet import RENDERERS, DatacenterRow, Fleet
from mdd.runner.runner import run
from mdd.runner.stable import Gate
from mdd.runner.states import GREEN, PointView, StateFile
from mdd.runner.verify import Settings, outside_green, write_document


class Member:
    """One datacenter of the fleet: its manifest, the points to run, its state file."""

    def __init__(
        self, manifest: Manifest, points: Sequence[IntegrationPoint], state: StateFile
    ) -> None:
        self.manifest = manifest
        self.points = list(points)
        self.state = state
        self.views: dict[str, PointView] = {p.name: state.view(p) for p in self.points}

    def round(self, settings: Settings, stream: TextIO) -> None:
        for outcome in run(
            self.points,
            jobs=settings.jobs,
            green=outside_green(self.manifest, self.points, self.state),
            probe_blocked=settings.probe_blocked,
        ):
            view, before = self.state.record(outcome)
            self.views[view.point.name] = view
            if before is not None and before != view.state:
                line = change_line(view, before, stream)
                clock, _, rest = line.partition(" ")
                stream.write(f"{clock} {self.manifest.datacenter} {rest}\n")
                stream.flush()
        self.state.save(self.manifest.points)  # merged with the file, then one burn-up sample

    def shown(self) -> list[PointView]:
        return [self.views[p.name] for p in self.points]


def verify_fleet(members: Sequence[Member], settings: Settings, tz: tzinfo) -> int:
    """Run every member's checks; 0 when all are green (and stable, with ``--stable``).

    Raises ``StateFileError`` (a state file not writable) and ``OSError`` (``--output``)."""
    stream = sys.stderr if settings.document_on_stdout else sys.stdout
    gates = {
        m.manifest.datacenter: Gate(settings.stable, tz)
        for m in members
        if settings.stable is not None
    }
    started = time.monotonic()
    interrupted = False
    done = False
    try:
        while True:
            done, remaining = _one_round(members, settings, gates, stream)
            if not settings.watch or done:
                break
            left = settings.left(started)
            if left is not None and left <= 0:
                break
            time.sleep(settings.pause(left, remaining if remaining > 0 else None))
    except KeyboardInterrupt:
        interrupted = True
        for member in members:
            member.state.save()
    rows = [DatacenterRow(m.manifest, m.state, m.shown(), clock_now()) for m in members]
    fleet = Fleet(rows, "verify", clock_now())
    ascii = ascii_only(stream)
    stream.write(RENDERERS["text"](fleet, tz, ascii))  # the document itself for text on stdout
    stream.flush()
    if settings.writes_document:
        write_document(RENDERERS[settings.fmt](fleet, tz, ascii), settings.output, sys.stdout)
    if interrupted:
        sys.stderr.write("mdd: interrupted; the state files are saved\n")
    elif settings.watch and settings.timeout is not None and not done:
        settings.not_within("stable" if settings.stable is not None else "all green", sys.stderr)
    return 0 if done and not interrupted else 1


def ascii_only(stream: TextIO) -> bool:
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        "▁█→".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return True
    return False


def _one_round(
    members: Sequence[Member], settings: Settings, gates: dict[str, Gate], stream: TextIO
) -> tuple[bool, float]:
    """Probe every member once: whether all are done (green, and stable with a gate), and
    the longest soak time still to wait."""
    for member in members:
        member.round(settings, stream)
    now = clock_now()
    done = all(v.state == GREEN for m in members for v in m.views.values())
    remaining = 0.0
    for member in members:
        gate = gates.get(member.manifest.datacenter)
        if gate is None:
            continue
        soak, lines = gate.update(member.shown(), now)
        for line in lines:
            stream.write(f"{member.manifest.datacenter}: {line}\n")
        done = done and soak.ok
        remaining = max(remaining, soak.remaining or 0.0)
    stream.flush()
    return done, remaining
