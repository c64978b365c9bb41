"""What a probe returns: a state, one line for a human, and performance data.

A probe function takes the parsed options and returns a ``Result``; it never prints and
never exits. The Sensu plugin class (``_base.MddCheck``) maps the result to output and exit
code, and a runner may call many probes in one process. Standard library only.
"""

from __future__ import annotations

import enum

from mdd.checks._record import Record


class State(enum.IntEnum):
    """Nagios/Sensu states; the value is the exit code."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


class CheckFailed(Exception):
    """The integration point failed: the result is CRITICAL, with this reason (and, where the
    probe measured something before it failed, ``perfdata``). Every check type says "failed"
    with this one exception (or a subclass that carries more detail for its own caller)."""

    def __init__(self, reason: str, perfdata: tuple[Perf, ...] = ()) -> None:
        super().__init__(reason)
        self.perfdata = perfdata


class CheckError(Exception):
    """The check cannot decide (bad local file, unusable option): the result is UNKNOWN."""


class Deadline(BaseException):
    """The probe ran past its timeout: raised by the backstop alarm (``_budget``). A
    ``BaseException``, so that no ``except Exception`` of a probe or a library swallows it."""


class Perf(Record, eq=True):
    """One Nagios performance-data item: ``label=value[uom];warn;crit;min;max``.

    Records here, not dataclasses: ``dataclasses`` imports ``inspect`` and would cost every
    check run about 8 ms.
    """

    label: str
    value: float
    uom: str = ""
    warn: float | None = None
    crit: float | None = None
    min: float | None = None
    max: float | None = None

    def __repr__(self) -> str:
        return f"Perf({str(self)!r})"

    def __str__(self) -> str:
        def num(x: float | None) -> str:
            if x is None:
                return ""
            return f"{x:.6f}".rstrip("0").rstrip(".") if isinstance(x, float) else str(x)

        tail = ";".join(num(x) for x in (self.warn, self.crit, self.min, self.max)).rstrip(";")
        item = f"{self.label}={num(self.value)}{self.uom}"
        return f"{item};{tail}" if tail else item


class Result(Record, eq=True):
    """The outcome of one probe."""

    state: State
    message: str
    perfdata: tuple[Perf, ...] = ()

    def __repr__(self) -> str:
        return f"Result({self.state.name}, {self.message!r}, {self.perfdata!r})"

    def line(self, point: str | None = None) -> str:
        """The message as one line with at most the one ``|`` that starts the perfdata.

        Whatever a server sent: white space becomes single spaces, other control and
        invisible characters (ESC, BEL, NUL, lone surrogates) are written as escapes
        (``\\x1b``), and the line is cut to ``LINE_LIMIT`` characters, perfdata kept.
        """
        text = _one_line(self.message)
        if point:
            text = f"{_one_line(point)[:POINT_LIMIT]}: {text}"
        tail = ""
        if self.perfdata:
            tail = " | " + _one_line(" ".join(str(p) for p in self.perfdata))[:PERF_LIMIT]
        room = LINE_LIMIT - len(tail)
        if len(text) > room:
            text = text[: room - len(CUT)] + CUT
        return text + tail


LINE_LIMIT = 1000  # characters of the line a check prints (Sensu keeps it in every event)
POINT_LIMIT = 100
PERF_LIMIT = 300
CUT = "... (cut)"


def _one_line(text: str) -> str:
    return printable(" ".join(text[: LINE_LIMIT * 4].replace("|", "/").split()))


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: every control or invisible character (ESC, BEL,
    NUL, CSI, a line break, a bidirectional override, a lone surrogate) written as its
    escape (``\\x1b``, ``\\n``, ``\\u202e``). The one implementation: check outputs and
    everything mdd prints use it."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


def worst(*states: State) -> State:
    """The most severe state; UNKNOWN ranks below CRITICAL, as in Nagios."""
    order = (State.OK, State.UNKNOWN, State.WARNING, State.CRITICAL)
    return max(states, key=order.index, default=State.OK)


def timed_result(
    message: str, seconds: float, warn: float | None, crit: float | None, perf: tuple[Perf, ...]
) -> Result:
    """OK, WARNING or CRITICAL by how ``seconds`` compares with the thresholds, saying which."""

    state = threshold_state(seconds, warn, crit)
    if state is State.CRITICAL and crit is not None:
        message += f" (critical above {ms_text(crit)})"
    elif state is State.WARNING and warn is not None:
        message += f" (warning above {ms_text(warn)})"
    return Result(state, message, perf)


def threshold_state(value: float, warn: float | None, crit: float | None) -> State:
    """CRITICAL above ``crit``, WARNING above ``warn``, else OK."""
    if crit is not None and value > crit:
        return State.CRITICAL
    if warn is not None and value > warn:
        return State.WARNING
    return State.OK


def no_answer(timeout: float | None) -> Result:
    """The result of a probe stopped at its deadline (by the backstop alarm, or the runner's
    bound): a probe stopped before it could connect says so, not blaming the target."""
    from mdd.checks import _budget
    from mdd.checks._options import duration_text

    if _budget.phase == "starting":
        return Result(
            State.CRITICAL,
            f"the check ran out of its {duration_text(timeout or 0)} timeout before it could "
            f"connect (it was still starting): the agent machine is slow or overloaded, or the "
            f"timeout is too short",
        )
    return Result(State.CRITICAL, f"no answer within the timeout of {duration_text(timeout or 0)}")


def lacking(exc: ImportError, library: str) -> CheckError:
    """The UNKNOWN of a check whose protocol library cannot be imported: what to rebuild or
    reinstall, never "pip install" on an agent that has no pip (the agent artifact)."""
    import mdd

    name = exc.name or library
    if mdd.ARTIFACT:
        return CheckError(f"the artifact lacks {name} (rebuild it with `mdd asset build`)")
    return CheckError(
        f"this installation of mdd lacks {name} ({library}): install mdd into this "
        f"environment again (pip install . from its clone)"
    )


def ms_text(seconds: float) -> str:
    """A threshold beside a time measured in milliseconds, in the same unit: ``0.1 ms``,
    ``100 ms``, ``2000 ms`` (never ``0.0001s`` next to ``in 2.6 ms``)."""
    from decimal import Decimal

    millis = Decimal(repr(round(seconds * 1000, 9))).normalize()
    return f"{millis:f} ms"


def failed_result(exc: Exception | Deadline, timeout: float | None) -> Result:
    """The result of a probe that raised ``exc`` instead of returning: one line, never a
    traceback. ``CheckFailed`` is CRITICAL with its reason; ``Deadline`` is CRITICAL (the
    target did not answer in time); ``CheckError`` and any other exception are UNKNOWN (the
    check could not decide). The Sensu plugin and the in-process runner (``mdd verify``) share
    this mapping, so their verdicts agree."""
    if isinstance(exc, CheckFailed):
        return Result(State.CRITICAL, str(exc), exc.perfdata)
    if isinstance(exc, Deadline):
        return no_answer(timeout)
    if isinstance(exc, CheckError):
        return Result(State.UNKNOWN, str(exc))
    if isinstance(exc, ImportError):  # a library imported at first use
        return Result(State.UNKNOWN, str(lacking(exc, exc.name or "a library")))
    return Result(State.UNKNOWN, f"check failed to run: {type(exc).__name__}: {exc}")
