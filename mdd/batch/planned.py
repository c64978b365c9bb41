"""The batch plan as ``check-mdd-batch`` reads it back (``mdd.batch.plan`` writes it).

The runner pays for what it imports on every run on every agent, so this module reads the
plan into plain objects (``PlannedPoint``, ``Plan``) with the standard library's lightest
parts only: no dataclasses, typing or pathlib (tests/test_imports.py holds it).
"""

from __future__ import annotations

import os

from mdd import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

PLAN_VERSION = 2
FLAVOURS = ("classic", "go")
PLAN_LIMIT = 64 << 20  # bytes of a plan file read at most
COMMAND_TYPES = ("command",)  # point types that run a command the plan names
RUN_BUDGET = 60  # seconds the runner allows itself when the plan names no Sensu timeout


class PlanError(Exception):
    """The plan cannot be run (missing, unreadable, another version or datacenter)."""


class PlannedPoint:
    """A point as the runner needs it: its argv is compiled (``mdd.runner.runner`` uses it
    in place of building one from ``options``). It has the attributes of
    ``mdd.core.model.IntegrationPoint`` that the runner reads, without that dataclass."""

    __slots__ = (
        "name",
        "type",
        "options",
        "owner",
        "depends_on",
        "argv",
        "check",
        "label",
        "result",
        "every",
        "cron",
    )

    def __init__(
        self,
        name: str,
        type: str,  # noqa: A002 - the manifest's word, as IntegrationPoint.type
        depends_on: tuple[str, ...],
        argv: tuple[str, ...],
        check: str,
        label: str,
        result: Mapping[str, Any],
        every: int | None,
        cron: str | None,
    ) -> None:
        self.name = name
        self.type = type
        self.options: dict[str, Any] = {}  # the argv is compiled: no options to build one from
        self.owner: str | None = None
        self.depends_on = depends_on
        self.argv = argv
        self.check = check  # the Sensu check name, mdd_<dc>_<point>
        self.label = label  # what sensu-plugin prints before the state: TcpCheck
        self.result = result  # the static part of its result
        self.every = every  # its own interval, seconds (None: a cron point)
        self.cron = cron  # its own cron schedule

    def __repr__(self) -> str:
        return f"PlannedPoint({self.name!r}, {self.type!r})"


class Plan:
    """A plan read back by the runner."""

    def __init__(
        self,
        datacenter: str,
        sensu: str,
        points: tuple[PlannedPoint, ...],
        stdin: bool,
        runner: str,
        interval: int,
    ) -> None:
        self.datacenter = datacenter
        self.sensu = sensu
        self.points = points
        self.stdin = stdin
        self.runner = runner  # the runner check's name
        self.interval = interval  # the runner check's interval
        self.timeout: float | None = None  # the runner check's Sensu timeout, when it has one


def load(path: str, datacenter: str) -> Plan:
    """Read and check a plan; ``PlanError`` says in one line why it cannot be run."""
    from mdd.core.files import FileReadError, load_json, read_capped

    try:
        data = read_capped(path, PLAN_LIMIT, f"the plan {path}", lambda info: trusted(path, info))
        document = load_json(data, f"the plan {path}")
    except FileNotFoundError as exc:
        raise PlanError(f"cannot read the plan {path}: {exc.strerror or exc}") from None
    except FileReadError as exc:
        raise PlanError(str(exc)) from None
    except ValueError as exc:
        raise PlanError(f"the plan {path} is not JSON: {exc}") from None
    if not isinstance(document, dict) or "mdd_plan" not in document:
        raise PlanError(f"{path} is not an mdd batch plan (written by mdd generate --batch)")
    version = document.get("mdd_plan")
    if version != PLAN_VERSION:
        raise PlanError(
            f"the plan {path} is of plan version {version!r} (mdd "
            f"{document.get('mdd_version', '?')}), and this mdd ({__version__}) runs version "
            f"{PLAN_VERSION}: regenerate it with this mdd's `mdd generate --batch`"
        )
    if document.get("datacenter") != datacenter:
        raise PlanError(
            f"the plan {path} is datacenter {document.get('datacenter')!r}'s, not "
            f"{datacenter!r}'s: the check points at the wrong plan"
        )
    sensu = document.get("sensu")
    if sensu not in FLAVOURS:
        raise PlanError(f"the plan {path} names no Sensu flavour (classic or go)")
    try:
        points = tuple(_point(entry) for entry in document["points"])
        interval = document["interval"]
        if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
            raise ValueError("interval must be a positive integer")
        runner = str(document["runner"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanError(f"the plan {path} is damaged ({exc}): regenerate it") from None
    commands = [p.name for p in points if p.type in COMMAND_TYPES]
    if commands and document.get("allow_command") is not True:
        raise PlanError(
            f"the plan {path} has command points ({', '.join(commands[:3])}) but was not "
            f"generated with --allow-command: refused (regenerate it with mdd generate --batch "
            f"--allow-command if the operator allows them)"
        )
    plan = Plan(datacenter, sensu, points, bool(document.get("stdin")), runner, interval)
    timeout = document.get("timeout")
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and 0 < timeout < 1e6:
        plan.timeout = float(timeout)
    return plan


def trusted(path: str, info: os.stat_result) -> None:
    """Refuse a plan that someone other than its owner could have written: the runner runs
    what it says. Its owner must be root or the user running it, and neither its group nor
    others may write it (``chmod go-w``). Raises ``PlanError``."""
    import stat

    if not stat.S_ISREG(info.st_mode):
        raise PlanError(f"the plan {path} is not a regular file")
    if info.st_uid not in (0, os.geteuid()):
        raise PlanError(
            f"the plan {path} is owned by user {info.st_uid}, neither root nor the user running "
            f"the check ({os.geteuid()}): refused, since its owner could make the runner run "
            f"anything (chown it)"
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise PlanError(
            f"the plan {path} is writable by its group or others (mode "
            f"{stat.S_IMODE(info.st_mode):04o}): refused, since they could make the runner run "
            f"anything (chmod go-w {path})"
        )


def _point(entry: Mapping[str, Any]) -> PlannedPoint:
    argv = entry["argv"]
    depends = entry["depends_on"]
    if not all(isinstance(word, str) for word in [*argv, *depends]):
        raise ValueError("argv and depends_on must be strings")
    check_type = entry["type"]
    if not isinstance(check_type, str) or not check_type.isidentifier():
        raise ValueError(f"bad check type {check_type!r}")
    if not isinstance(entry["result"], dict):
        raise ValueError("result must be an object")
    names = [entry["point"], entry["check"], entry["label"], *depends]
    for name in names:
        # a line break in a name would forge another output line (MddBatch OK: all green)
        if not isinstance(name, str) or not name or not name.isprintable() or " " in name:
            shown = ascii(name)[:60]
            raise ValueError(
                f"the name {shown} is not a name (empty, a space, a control character)"
            )
    every, cron = entry["interval"], entry["cron"]
    if cron is not None:
        from mdd.batch.cron import Schedule as Cron

        Cron(str(cron))  # ValueError when it cannot be read
    elif not isinstance(every, int) or isinstance(every, bool) or every < 1:
        raise ValueError(f"bad interval {every!r}")
    return PlannedPoint(
        name=str(entry["point"]),
        type=check_type,
        depends_on=tuple(depends),
        argv=tuple(argv),
        check=str(entry["check"]),
        label=str(entry["label"]),
        result=entry["result"],
        every=every if cron is None else None,
        cron=None if cron is None else str(cron),
    )
