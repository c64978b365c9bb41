"""What a probe returns: a state, one line for a human, and performance data.

A probe function takes the parsed options and returns a ``Result``; it never prints and
never exits. The Sensu plugin class (``_base.MddCheck``) maps the result to output and exit
code, and a runner may call many probes in one process. Standard library only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class State(enum.IntEnum):
    """Nagios/Sensu states; the value is the exit code."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


class CheckError(Exception):
    """The check cannot decide (bad local file, unusable option): the result is UNKNOWN."""


@dataclass(frozen=True)
class Perf:
    """One Nagios performance-data item: ``label=value[uom];warn;crit;min;max``."""

    label: str
    value: float
    uom: str = ""
    warn: float | None = None
    crit: float | None = None
    min: float | None = None
    max: float | None = None

    def __str__(self) -> str:
        def num(x: float | None) -> str:
            if x is None:
                return ""
            return f"{x:.6f}".rstrip("0").rstrip(".") if isinstance(x, float) else str(x)

        tail = ";".join(num(x) for x in (self.warn, self.crit, self.min, self.max)).rstrip(";")
        item = f"{self.label}={num(self.value)}{self.uom}"
        return f"{item};{tail}" if tail else item


@dataclass(frozen=True)
class Result:
    state: State
    message: str
    perfdata: tuple[Perf, ...] = ()

    def line(self, point: str | None = None) -> str:
        """The message as one line with at most the one ``|`` that starts the perfdata."""
        text = " ".join(self.message.replace("|", "/").split())
        if point:
            text = f"{point}: {text}"
        if self.perfdata:
            text += " | " + " ".join(str(p) for p in self.perfdata)
        return text


def worst(*states: State) -> State:
    """The most severe state; UNKNOWN ranks below CRITICAL, as in Nagios."""
    order = (State.OK, State.UNKNOWN, State.WARNING, State.CRITICAL)
    return max(states, key=order.index, default=State.OK)


def threshold_state(value: float, warn: float | None, crit: float | None) -> State:
    """CRITICAL above ``crit``, WARNING above ``warn``, else OK."""
    if crit is not None and value > crit:
        return State.CRITICAL
    if warn is not None and value > warn:
        return State.WARNING
    return State.OK
