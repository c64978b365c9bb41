"""What a probe returns: a state, one line for a human, and performance data; and
``Record``, the base of the checks' value classes (``Perf``, ``Result``, ``Cert``...).

A probe function takes the parsed options and returns a ``Result``; it never prints and
never exits. The Sensu plugin class (``_sensu.MddCheck``) maps the result to output and exit
code, and a runner may call many probes in one process. Standard library only.

A ``Record`` subclass lists its fields as class annotations, in order, with a default after
``=`` where a field has one; ``Record`` gives it ``__slots__`` and one constructor that takes
the fields as positional or keyword arguments and raises ``TypeError`` for a wrong call, as a
hand-written ``__init__`` would. ``class Perf(Record, eq=True)`` also compares (and hashes)
instances by their fields, in order; without ``eq`` they compare by identity. A
``__post_init__(self)`` method, if the class has one, runs after the fields are set. The
defining module must use ``from __future__ import annotations``: only the fields' names are
read, never their types. Not ``dataclasses``: it imports ``inspect`` and would cost every check
run about 8 ms, and ``typing`` 3 more; type checkers see ``Record`` as a dataclass transform
(PEP 681), so they check every constructor call against the annotations. It lives here, not in
a module of its own, because every check loads this module anyway: a module more would cost
every run about 0.3 million instructions. ``Option`` and ``Kind``, made some 40 times on every
run, keep hand-written constructors: the generic one cost them 0.65 million instructions a
run (valgrind, an ldaps check).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is needed by the type checker only (see _options)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from typing_extensions import dataclass_transform  # in typing from Python 3.11
else:

    def dataclass_transform(**_):
        return lambda cls: cls


# ----------------------------------------------------------------------------- records

_MISSING = object()  # the default of a field that has none


class _Fields(type):
    """Makes a ``Record`` subclass: its ``__slots__``, fields, defaults and equality."""

    _fields: tuple[str, ...]  # every field, in order
    _at: dict[str, int]  # field -> its position
    _initial: tuple[Any, ...]  # each field's default, or _MISSING: its value before arguments
    _required: int  # how many fields (the first ones) have no default
    _post_init: Callable[[Any], None] | None  # the class's __post_init__
    _equal_to: type[Record]  # the class that declared eq=True: instances of it compare by fields

    def __new__(
        mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], eq: bool = False
    ) -> _Fields:
        parent = bases[0] if bases else None
        if not isinstance(parent, _Fields):  # Record itself, with no fields
            namespace.update(_fields=(), _initial=(), _required=0, _post_init=None)
            return super().__new__(mcs, name, bases, namespace)
        own = tuple(namespace.get("__annotations__", ()))
        fields, initial, required = parent._fields + own, [*parent._initial], parent._required
        for field in own:
            default = namespace.pop(field, _MISSING)  # a class attribute would hide the slot
            if default is not _MISSING:
                initial.append(default)
            elif len(initial) == required:
                initial.append(default)
                required += 1
            else:
                raise TypeError(f"{name}.{field} has no default but follows a field with one")
        namespace.setdefault("__slots__", own)
        namespace.update(
            _fields=fields,
            _at=dict(zip(fields, range(len(fields)), strict=True)),
            _initial=tuple(initial),
            _required=required,
            _post_init=namespace.get("__post_init__", parent._post_init),
        )
        if eq:
            namespace["__eq__"], namespace["__hash__"] = _equal, _hash
        record = super().__new__(mcs, name, bases, namespace)
        if eq:
            record._equal_to = record  # type: ignore[assignment]  # a class _Fields makes is a Record
        return record


def _key(record: Record) -> tuple[object, ...]:
    return tuple([getattr(record, field) for field in type(record)._fields])


def _equal(record: Record, other: object) -> bool:
    return isinstance(other, type(record)._equal_to) and _key(record) == _key(other)


def _hash(record: Record) -> int:
    return hash(_key(record))


@dataclass_transform(eq_default=False)
class Record(metaclass=_Fields):
    """A slotted value class whose constructor sets its annotated fields (see the module)."""

    __slots__ = ()

    if not TYPE_CHECKING:  # type checkers write each subclass's own, typed, from its fields

        def __init__(self, *args, **kwargs):
            cls = type(self)
            if kwargs or len(args) != len(cls._fields):
                args = _bind(cls, args, kwargs)
            for field, value in zip(cls._fields, args, strict=True):
                setattr(self, field, value)
            if cls._post_init is not None:
                cls._post_init(self)


def _bind(cls: _Fields, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    """The value of every field of ``cls``, from the arguments and the defaults; for a wrong
    call, the ``TypeError`` a constructor raises."""
    given, name = len(args), cls.__name__
    if given > len(cls._fields):
        raise TypeError(f"{name}() takes {len(cls._fields)} arguments but {given} were given")
    values = [*args, *cls._initial[given:]]
    for keyword, value in kwargs.items():
        at = cls._at.get(keyword)
        if at is None:
            raise TypeError(f"{name}() got an unexpected keyword argument {keyword!r}")
        if at < given:
            raise TypeError(f"{name}() got multiple values for argument {keyword!r}")
        values[at] = value
    if given < cls._required:
        missing = [field for field, at in cls._at.items() if values[at] is _MISSING]
        if missing:
            raise TypeError(f"{name}() missing required arguments: {', '.join(missing)}")
    return values


# ----------------------------------------------------------------------------- results


class State(int):
    """Nagios/Sensu states; the value is the exit code.

    Four constants, ``State.OK`` ... ``State.UNKNOWN``, each with a ``name`` and a ``value``;
    ``State(2)`` is ``State.CRITICAL`` itself (any other number is a ``ValueError``); ``str()``
    is the number, as Python 3.11's ``IntEnum`` gives. Not an ``enum.IntEnum``: creating
    that class cost every check run about 0.9 million instructions (valgrind), and a check
    needs no more than this.
    """

    __slots__ = ()

    OK: State
    WARNING: State
    CRITICAL: State
    UNKNOWN: State

    def __new__(cls, value: int) -> State:
        if isinstance(value, int) and 0 <= value < len(_STATES):
            return _STATES[value]
        raise ValueError(f"{value!r} is not a valid State")

    @property
    def name(self) -> str:
        return _STATE_NAMES[self]

    @property
    def value(self) -> int:
        return int(self)

    def __repr__(self) -> str:
        return f"<State.{_STATE_NAMES[self]}: {int(self)}>"

    __str__ = int.__repr__


_STATE_NAMES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
_STATES: tuple[State, ...] = tuple(int.__new__(State, value) for value in range(4))
State.OK, State.WARNING, State.CRITICAL, State.UNKNOWN = _STATES


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
