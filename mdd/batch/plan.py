"""The batch plan: what ``check-mdd-batch`` runs, compiled by ``mdd generate --batch``.

A plan is one JSON file per datacenter, written beside the generated definitions (``-o
checks.json`` writes ``checks.plan``: not ``*.json``, so Sensu Classic's conf.d loader never
reads it as configuration). It holds, per point, what the per-point check definition would
have told Sensu: the check's argv (built by ``mdd.core.command.check_argv``, the same words as the
per-point command, so secrets are references only: ``--password-file PATH``,
``--password-env NAME``), its ``depends_on``, the label sensu-plugin prints (``TcpCheck``)
and the static part of the result the runner submits for it: for Sensu Classic the check's
attributes exactly as ``mdd.sensu.classic`` writes them (``source``, ``aggregate``,
``owner``, ``docs``, ``mdd``, ``dependencies``, ``handlers``, ...), for Sensu Go the check's
``metadata`` (name, labels, annotations) and spec fields as ``mdd.sensu.go`` writes them,
with the datacenter's proxy entity. Those parts are taken from the rendered per-point
definitions themselves, so the names and attributes cannot drift apart.

The runner check is one definition per datacenter, ``mdd-batch-<dc>``: its command is
``check-mdd-batch --plan /abs/path/checks.plan --datacenter <dc>``; the plan names its
``mdd_plan`` version, datacenter and Sensu flavour, and the runner refuses any other.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mdd import __version__
from mdd.batch.planned import COMMAND_TYPES as COMMAND_TYPES
from mdd.batch.planned import FLAVOURS as FLAVOURS
from mdd.batch.planned import PLAN_LIMIT as PLAN_LIMIT
from mdd.batch.planned import PLAN_VERSION as PLAN_VERSION
from mdd.batch.planned import RUN_BUDGET as RUN_BUDGET
from mdd.batch.planned import Plan as Plan
from mdd.batch.planned import PlanError as PlanError
from mdd.batch.planned import PlannedPoint as PlannedPoint
from mdd.batch.planned import load as load
from mdd.batch.planned import trusted as trusted
from mdd.core.model import IntegrationPoint, Manifest
from mdd.core.problems import Problem

PLAN_SUFFIX = ".plan"
COMMAND = "check-mdd-batch"

# Keys of a per-point definition that only tell an agent how to run the command: not part of
# a result. Everything else (command, interval or cron, timeout, handlers, ...) is carried,
# so a dashboard shows a batch result exactly as the per-point check's (docs/batch.md).
_CLASSIC_SCHEDULE = ("subscribers", "standalone", "stdin", "round_robin")
_GO_SCHEDULE = (
    "subscriptions",
    "publish",
    "round_robin",
    "runtime_assets",
    "secrets",
    "stdin",
    "metadata",
)
TTL_STATUS = 2  # Classic: a result that stops arriving turns CRITICAL, not WARNING (Sensu's 1)
AGENT_EVENTS_RATE_LIMIT = 10.0  # sensu-agent DefaultEventsAPIRateLimit (agent/config.go), /s
AGENT_EVENTS_BURST = 10  # sensu-agent DefaultEventsAPIBurstLimit
GO_MIN_TTL = 5  # Sensu Go refuses an event whose ttl is under 5 s ("minimum ttl is 5 seconds")


def plan_path_for(output: Path) -> Path:
    """The plan beside ``-o FILE``: the same name with ``.plan`` for its suffix."""
    return output.with_suffix(PLAN_SUFFIX)


@dataclass(frozen=True)
class Schedule:
    """How the one runner check is scheduled: the datacenter's points' settings."""

    interval: int  # the greatest cadence every point's interval or cron is a multiple of
    timeout: int | None
    ttl: int  # of the runner check's own result: a runner that stops turns stale
    subscriptions: tuple[str, ...]
    round_robin: bool
    handlers: tuple[str, ...] | None
    command_prefix: str | None
    runtime_assets: tuple[str, ...]


def schedule(manifest: Manifest) -> Schedule:
    """The runner check's schedule; ``GenerateError`` where points cannot share one check."""
    from mdd.sensu.facts import GenerateError  # imports every check type: generate only

    points = manifest.points
    if not points:
        raise GenerateError(
            [
                Problem(
                    str(manifest.path),
                    1,
                    1,
                    "batch mode runs the datacenter's integration points, and it has none: "
                    "generate without --batch",
                )
            ]
        )
    first = points[0].sensu
    problems = [
        Problem(
            str(manifest.path),
            point.line,
            1,
            f"{point.name}: batch mode runs every point of the datacenter from one check, "
            f"and this point's {what} differs from {points[0].name!r}'s: give them the same "
            f"{what}, or generate without --batch",
        )
        for point in points[1:]
        for what, mine, theirs in (
            ("subscribers", point.sensu.subscribers, first.subscribers),
            ("round_robin", point.sensu.round_robin, first.round_robin),
            ("command_prefix", point.sensu.command_prefix, first.command_prefix),
            ("handlers", point.sensu.handlers, first.handlers),
        )
        if mine != theirs
    ]
    if problems:
        raise GenerateError(problems)
    interval = cadence(points)
    timeouts = [p.sensu.timeout for p in points if p.sensu.timeout is not None]
    return Schedule(
        interval=interval,
        timeout=max(timeouts) if timeouts else None,
        ttl=max(2 * interval, GO_MIN_TTL),
        subscriptions=first.subscribers,
        round_robin=first.round_robin,
        handlers=first.handlers,
        command_prefix=first.command_prefix,
        runtime_assets=tuple(dict.fromkeys(a for p in points for a in p.sensu.runtime_assets)),
    )


def cadence(points: Sequence[IntegrationPoint]) -> int:
    """The runner's interval: the greatest common divisor of the points' intervals (60 for a
    cron point: cron schedules are of minutes), so each point can be probed on its own."""
    import math

    return math.gcd(*(60 if p.sensu.cron is not None else p.sensu.interval for p in points))


def events_per_second(points: Sequence[IntegrationPoint]) -> float:
    """How many results a second the runner submits on average (a cron point: by the
    longest gap of its schedule, its slowest rate)."""
    from mdd.batch.cron import Schedule as Cron

    rate = 0.0
    for point in points:
        if point.sensu.cron is not None:
            rate += 1 / max(Cron(point.sensu.cron).longest_gap(), 1)
        else:
            rate += 1 / point.sensu.interval
    return rate


def runner_command(plan_path: Path, datacenter: str, prefix: str | None) -> str:
    """The runner check's shell command; every word quoted."""
    program = COMMAND if not prefix else f"{prefix.rstrip('/')}/{COMMAND}"
    return shlex.join([program, "--plan", str(plan_path), "--datacenter", datacenter])


def _ttl(point: IntegrationPoint, plan_schedule: Schedule) -> int:
    """Twice the point's own interval (for a cron point, twice the longest gap between two
    of its runs), at least twice the runner's and 5 s (Sensu Go's minimum), or the point's
    own ttl when longer: a result that stops arriving turns stale."""
    if point.sensu.cron is not None:
        from mdd.batch.cron import Schedule as Cron

        own = Cron(point.sensu.cron).longest_gap()
    else:
        own = point.sensu.interval
    return max(point.sensu.ttl or 0, 2 * plan_schedule.interval, 2 * own, GO_MIN_TTL)


def _classic_result(manifest: Manifest, definition: Mapping[str, Any], ttl: int) -> dict[str, Any]:
    """The check result a point's Classic result starts from: its check, standalone, with
    the runner's ttl."""
    result: dict[str, Any] = {k: v for k, v in definition.items() if k not in _CLASSIC_SCHEDULE}
    # standalone: Sensu stores the result as submitted (never merged into a server
    # definition) and Uchiwa offers no "Issue Request", which /request would refuse
    result["standalone"] = True
    result["ttl"] = ttl
    result["ttl_status"] = TTL_STATUS
    # kept by Sensu in a stale result: which check to look at when results stop
    result["mdd_runner"] = manifest.batch_runner
    return result


def _go_result(manifest: Manifest, definition: Mapping[str, Any], ttl: int) -> dict[str, Any]:
    """The event a point's Sensu Go result starts from: its check, with the runner's ttl,
    on its proxy entity."""
    spec = definition["spec"]
    metadata = dict(spec["metadata"])
    metadata["annotations"] = {
        **metadata.get("annotations", {}),
        "mdd_runner": manifest.batch_runner,
    }
    check: dict[str, Any] = {"metadata": metadata}
    check.update({k: v for k, v in spec.items() if k not in _GO_SCHEDULE})
    check["ttl"] = ttl
    return {
        "check": check,
        "entity": {
            "entity_class": "proxy",
            "metadata": {
                "name": spec["proxy_entity_name"],
                "namespace": spec["metadata"]["namespace"],
            },
        },
    }


def _commands(manifest: Manifest, allow_command: bool) -> list[IntegrationPoint]:
    """The points that run a command of the manifest; ``GenerateError`` when there are some
    and the operator did not allow them."""
    commands = [p for p in manifest.points if p.type in COMMAND_TYPES]
    if commands and not allow_command:
        from mdd.sensu.facts import GenerateError

        raise GenerateError(
            [
                Problem(
                    str(manifest.path),
                    point.line,
                    1,
                    f"{point.name}: a {point.type} point runs a command of the manifest from "
                    f"the batch plan file, so whoever can write the plan could run anything: "
                    f"add --allow-command to allow it (recorded in the plan; the runner "
                    f"refuses command points in a plan without it), or generate without --batch",
                )
                for point in commands
            ]
        )
    return commands


def build(
    manifest: Manifest,
    flavour: str,
    per_point: Sequence[Mapping[str, Any]],
    plan_schedule: Schedule,
    allow_command: bool = False,
) -> dict[str, Any]:
    """The plan document. ``per_point``: the rendered per-point definitions, in manifest
    order (Classic: each check's attributes with ``name`` added; Go: each ``CheckConfig``).
    ``command`` points only with ``allow_command`` (the operator's ``--allow-command``),
    which the plan records: the runner refuses them in a plan without it."""
    from mdd.checks.registry import label
    from mdd.core.command import check_argv

    if flavour not in FLAVOURS:
        raise ValueError(f"unknown Sensu flavour {flavour!r}")
    commands = _commands(manifest, allow_command)
    entries = []
    for point, definition in zip(manifest.points, per_point, strict=True):
        ttl = _ttl(point, plan_schedule)
        if flavour == "classic":
            result = _classic_result(manifest, definition, ttl)
        else:
            result = _go_result(manifest, definition, ttl)
        entries.append(
            {
                "point": point.name,
                "check": manifest.check_name(point),
                "type": point.type,
                "label": label(point.type),
                "argv": check_argv(point.type, point.options, point.name)[1:],
                "depends_on": list(point.depends_on),
                "interval": point.sensu.interval if point.sensu.cron is None else None,
                "cron": point.sensu.cron,
                "result": result,
            }
        )
    return {
        "mdd_plan": PLAN_VERSION,
        "mdd_version": __version__,
        "datacenter": manifest.datacenter,
        "sensu": flavour,
        "runner": manifest.batch_runner,
        "interval": plan_schedule.interval,
        "timeout": plan_schedule.timeout,  # the runner check's Sensu timeout: its deadline
        "allow_command": bool(commands),  # the operator allowed command points (generate)
        # Classic {client: ...} secrets: the runner reads the client definition on its stdin
        "stdin": any(bool(d.get("stdin")) for d in per_point) if flavour == "classic" else False,
        "points": entries,
    }


def dump(plan: Mapping[str, Any]) -> str:
    return json.dumps(plan, indent=1, ensure_ascii=True, allow_nan=False) + "\n"
