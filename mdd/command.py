"""The shell command a Sensu agent runs for one integration point.

Sensu runs check commands through ``/bin/sh -c``. Every word here is quoted with
``shlex.quote``, so no manifest value can ever become shell syntax: the check receives each
value literally, whatever quotes, ``$(...)``, backticks, ``;`` or newlines it holds.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from mdd.checks._options import COMMON_OPTIONS, to_argv
from mdd.checks.registry import CHECK_TYPES, command_name


def check_argv(check_type: str, values: Mapping[str, Any], point: str | None = None) -> list[str]:
    """The argv of a check: its command name, then its options as canonical values."""
    module = CHECK_TYPES[check_type]
    common = {"point": point} if point else {}
    return [
        command_name(check_type),
        *to_argv(COMMON_OPTIONS, common),
        *to_argv(module.OPTIONS, values),
    ]


def check_command(check_type: str, values: Mapping[str, Any], point: str | None = None) -> str:
    """``check_argv`` as one ``/bin/sh`` command line."""
    return shlex.join(check_argv(check_type, values, point))
