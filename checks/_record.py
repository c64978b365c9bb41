"""Value classes declared by their annotated fields: ``Record``.

A ``Record`` subclass lists its fields as class annotations, in order, with a default after
``=`` where a field has one; ``Record`` gives it ``__slots__`` and one constructor that takes
the fields as positional or keyword arguments, as a hand-written ``__init__`` would::

    class Perf(Record, eq=True):
        label: str
        value: float
        uom: str = ""

``eq=True`` also compares (and hashes) two instances by their fields, in order; without it
instances compare by identity. A ``__post_init__(self)`` method, if the class has one, runs
after the fields are set. The defining module must use ``from __future__ import annotations``:
only the names of the fields are read, never their types.

Not ``dataclasses``: it imports ``inspect`` and would cost every check run about 8 ms, and
``typing`` another 3. Type checkers see ``Record`` as a dataclass transform (PEP 681), so they
check every constructor call's arguments against the annotations. Standard library only,
importing nothing: imported by every check on every run.
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


class _Fields(type):
    """Makes a ``Record`` subclass: its ``__slots__``, fields, defaults and equality."""

    _fields: tuple[str, ...]  # every field, in order
    _defaults: dict[str, Any]  # field -> its default
    _post_init: Callable[[Any], None] | None  # the class's __post_init__
    _equal_to: type[Record]  # the class that declared eq=True: instances of it compare by fields

    def __new__(
        mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], eq: bool = False
    ) -> _Fields:
        parent = next((base for base in bases if isinstance(base, _Fields)), None)
        own = tuple(namespace.get("__annotations__", ())) if parent else ()  # not Record's
        fields, defaults = own, {}
        if parent is not None:
            fields, defaults = parent._fields + own, dict(parent._defaults)
        for field in own:
            if field in namespace:
                defaults[field] = namespace.pop(field)  # a class attribute would hide the slot
            elif defaults:
                raise TypeError(f"{name}.{field} has no default but follows a field with one")
        namespace.setdefault("__slots__", own)
        namespace["_fields"], namespace["_defaults"] = fields, defaults
        namespace["_post_init"] = namespace.get("__post_init__", parent and parent._post_init)
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
            fields = cls._fields
            if len(args) > len(fields):
                raise TypeError(
                    f"{cls.__name__}() takes {len(fields)} arguments but {len(args)} were given"
                )
            for field, value in zip(fields, args, strict=False):  # args may stop early
                setattr(self, field, value)
            if len(args) < len(fields) or kwargs:
                _set_rest(self, fields[len(args) :], kwargs)
            if cls._post_init is not None:
                cls._post_init(self)


def _set_rest(record: Record, fields: tuple[str, ...], kwargs: dict[str, Any]) -> None:
    """Set the fields not given by position: by keyword, else to their default."""
    cls, missing = type(record), []
    for field in fields:
        if field in kwargs:
            setattr(record, field, kwargs.pop(field))
        elif field in cls._defaults:
            setattr(record, field, cls._defaults[field])
        else:
            missing.append(field)
    for keyword in kwargs:
        if keyword in cls._fields:
            raise TypeError(f"{cls.__name__}() got multiple values for argument {keyword!r}")
        raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {keyword!r}")
    if missing:
        raise TypeError(f"{cls.__name__}() missing required arguments: {', '.join(missing)}")
