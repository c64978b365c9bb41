"""The shell command a Sensu agent runs for one integration point.

Sensu runs check commands through ``/bin/sh -c``. Every word here is quoted with
``shlex.quote``, so no manifest value can ever become shell syntax: the check receives each
value literally, whatever quotes, ``$(...)``, backticks, ``;`` or newlines it holds.

The command is the check's name (``check-mdd-tcp``), found on the Sensu client's PATH, or,
with a command prefix (``sensu: command_prefix`` in the manifest, ``mdd generate
--command-prefix DIR``), its absolute path in that folder (``/opt/mdd/bin/check-mdd-tcp``).
Every output format builds its commands here, so each one gets the prefix.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mdd.checks.api import COMMON_OPTIONS, to_argv
from mdd.checks.registry import CHECK_TYPES, command_name
from mdd.core.model import IntegrationPoint, Manifest


def check_argv(
    check_type: str,
    values: Mapping[str, Any],
    point: str | None = None,
    prefix: str | None = None,
) -> list[str]:
    """The argv of a check: its command (in ``prefix``, when given), then its options."""
    module = CHECK_TYPES[check_type]
    common = {"point": point} if point else {}
    program = command_name(check_type)
    if prefix:
        program = f"{prefix.rstrip('/')}/{program}"
    return [
        program,
        *to_argv(COMMON_OPTIONS, common),
        *to_argv(module.OPTIONS, values),
    ]


def check_command(
    check_type: str,
    values: Mapping[str, Any],
    point: str | None = None,
    prefix: str | None = None,
) -> str:
    """``check_argv`` as one ``/bin/sh`` command line."""
    return shlex.join(check_argv(check_type, values, point, prefix))


def point_command(point: IntegrationPoint) -> str:
    """The command line of an integration point, with its Sensu settings' command prefix."""
    return check_command(point.type, point.options, point.name, point.sensu.command_prefix)


def with_command_prefix(manifest: Manifest, prefix: str) -> Manifest:
    """``manifest`` with every point's commands in ``prefix`` (``--command-prefix``)."""
    points = tuple(
        replace(point, sensu=replace(point.sensu, command_prefix=prefix))
        for point in manifest.points
    )
    return replace(manifest, points=points)
