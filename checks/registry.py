"""Every bundled check type, by name: the list the generator, the validator and the docs use.

Adding a check type: write ``check_<type>.py`` (TYPE, SUMMARY, OPTIONS, EXAMPLE, validate,
probe, a ``MddCheck`` subclass, main), add it to ``_MODULES`` below and add its
``check-mdd-<type>`` line to ``[project.scripts]`` in pyproject.toml.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any, Protocol

from mdd.checks import (
    check_amqp,
    check_command,
    check_dns,
    check_http,
    check_icmp,
    check_ldap,
    check_mysql,
    check_ntp,
    check_postgres,
    check_proxy,
    check_redis,
    check_smtp,
    check_ssh,
    check_tcp,
    check_tls,
    check_udp,
)
from mdd.checks._options import Option
from mdd.checks._result import Result


class CheckType(Protocol):
    """What a check module provides (checked by mypy where ``_MODULES`` is built)."""

    TYPE: str
    SUMMARY: str
    OPTIONS: tuple[Option, ...]

    @property
    def EXAMPLE(self) -> Mapping[str, Any]: ...  # noqa: N802 - a module constant

    def validate(self, values: dict[str, object]) -> list[tuple[str, str]]: ...

    def probe(self, opts: argparse.Namespace) -> Result: ...

    def main(self) -> None: ...


_MODULES: tuple[CheckType, ...] = (
    check_tcp,
    check_http,
    check_tls,
    check_dns,
    check_ntp,
    check_ldap,
    check_smtp,
    check_ssh,
    check_udp,
    check_icmp,
    check_proxy,
    check_command,
    check_postgres,
    check_mysql,
    check_redis,
    check_amqp,
)

CHECK_TYPES: dict[str, CheckType] = {module.TYPE: module for module in _MODULES}


def command_name(check_type: str) -> str:
    """The command a Sensu agent runs for a check type; matches ``[project.scripts]``."""
    return f"check-mdd-{check_type}"
