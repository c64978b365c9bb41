"""Every bundled check type, by name: the one list the generator, the validator, the runner,
the docs, the benchmarks and the tests use.

Adding a check type: write ``checks/check_<type>.py`` (see CONTRIBUTING.md) and add its name to
``TYPES`` below. Everything else (the console script, the docs, the tests' lists) follows from
here or from the module's own declarations, and tests/test_check_type_places.py fails where it
does not.

A type's module is imported when it is first asked for (``CHECK_TYPES[name]``): the batch runner
pays only for the types its datacenter uses.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, MutableMapping

from mdd.checks.api import Option, Result, check_label

# check-mdd-batch imports this module on every run: typing only for the type checker.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any, Protocol

TYPES: tuple[str, ...] = (
    "tcp",
    "http",
    "tls",
    "dns",
    "ntp",
    "ldap",
    "smtp",
    "ssh",
    "udp",
    "icmp",
    "proxy",
    "command",
    "postgres",
    "mysql",
    "redis",
    "amqp",
)


if TYPE_CHECKING:

    class CheckType(Protocol):
        """What a check module provides (tests/test_check_type_places.py checks each one)."""

        TYPE: str
        SUMMARY: str
        OPTIONS: tuple[Option, ...]

        @property
        def EXAMPLE(self) -> Mapping[str, Any]: ...  # noqa: N802 - a module constant

        def validate(self, values: dict[str, object]) -> list[tuple[str, str]]: ...

        def probe(self, opts: argparse.Namespace) -> Result: ...

        def main(self) -> None: ...


def module_name(check_type: str) -> str:
    """The module of a check type: ``mdd.checks.check_<type>`` (file ``checks/check_<type>.py``)."""
    return f"mdd.checks.check_{check_type}"


class _Registry(MutableMapping[str, "CheckType"]):
    """``TYPES`` as a mapping of name to module, each imported at first use. A test may add
    a check type of its own (``monkeypatch.setitem``)."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self._names = list(names)
        self._modules: dict[str, CheckType] = {}

    def __getitem__(self, check_type: str) -> CheckType:
        module = self._modules.get(check_type)
        if module is None:
            if check_type not in self._names:
                raise KeyError(check_type)
            # __import__, not importlib.import_module: check-mdd-batch would pay for importing
            # importlib (and warnings) on every run.
            name = module_name(check_type)
            __import__(name)
            module = sys.modules[name]
            self._modules[check_type] = module
        return module

    def __setitem__(self, check_type: str, module: CheckType) -> None:
        if check_type not in self._names:
            self._names.append(check_type)
        self._modules[check_type] = module

    def __delitem__(self, check_type: str) -> None:
        self._names.remove(check_type)
        self._modules.pop(check_type, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, check_type: object) -> bool:
        return check_type in self._names


CHECK_TYPES: MutableMapping[str, CheckType] = _Registry(TYPES)


def libraries(check_type: str) -> tuple[str, ...]:
    """The third-party modules a type's probe imports when it runs (its ``LIBRARIES``): never
    imported by importing the check (tests/test_imports.py), measured by the benchmarks."""
    found: tuple[str, ...] = getattr(CHECK_TYPES[check_type], "LIBRARIES", ())
    return found


def command_name(check_type: str) -> str:
    """The command a Sensu agent runs for a check type; matches ``[project.scripts]``."""
    return f"check-mdd-{check_type}"


def label(check_type: str) -> str:
    """The name a check's output starts with (``TcpCheck OK: ...``), as sensu-plugin shows it."""
    return check_label(check_type)
