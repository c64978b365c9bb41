"""What every Sensu format says about one integration point, decided once.

``point_facts`` turns a validated point into ``PointFacts``: the check name, the shell command,
the schedule (interval or cron), the subscriptions, round robin, handlers, the proxy entity
(Classic ``source``, Go ``proxy_entity_name``), the point's record (owner, docs,
description, dependencies) and the secret references its options hold. ``mdd.sensu.classic``
and ``mdd.sensu.go`` only lay these facts out in their own shapes; neither decides any of
them again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mdd.checks.api import SECRET, SECRET_FILES
from mdd.checks.registry import CHECK_TYPES
from mdd.core.command import point_command
from mdd.core.model import IntegrationPoint, Manifest
from mdd.core.problems import Problem

ROUND_ROBIN_PREFIX = "roundrobin:"  # Sensu Classic's round-robin subscription prefix


class GenerateError(ValueError):
    """The manifest holds a value Sensu would not pass to the check as written."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = list(problems)


def default_subscription(manifest: Manifest) -> str:
    """The subscription of a datacenter whose manifest names none: ``mdd-<datacenter>``.

    Sensu Go has no standalone checks, so its checks always need a subscription; Classic uses
    it for round robin (``roundrobin:mdd-<datacenter>``) when the manifest names none.
    """
    return f"mdd-{manifest.datacenter}"


@dataclass(frozen=True)
class SecretRef:
    """A secret an option of the check refers to; never the secret itself."""

    option: str  # the option's name, such as "password"
    source: str  # "file", "env" or "client"
    where: str  # the path, the variable name, or the client attribute's dotted path


@dataclass(frozen=True)
class PointFacts:
    """One point's check, every value final and shared by the Sensu formats."""

    name: str  # mdd_<datacenter>_<point>
    command: str
    datacenter: str
    point: str
    type: str
    owner: str | None
    description: str | None
    docs: str | None
    depends_on: tuple[str, ...]  # point names
    depends_on_checks: tuple[str, ...]  # their check names
    interval: int | None  # None when ``cron`` schedules the check
    cron: str | None
    timeout: int | None
    ttl: int | None
    handlers: tuple[str, ...] | None  # None: not given (Sensu's handler named "default")
    occurrences: int | None
    refresh: int | None
    # As the manifest gives them; may be empty. The reader refuses Classic's "roundrobin:"
    # prefix in a manifest (round_robin says it), but a model built in code may carry it.
    subscriptions: tuple[str, ...]
    round_robin: bool
    runtime_assets: tuple[str, ...]
    secrets: tuple[SecretRef, ...]
    entity: str  # the proxy client / entity of the datacenter, mdd-<datacenter>
    aggregate: str  # the Classic aggregate of the datacenter, mdd_<datacenter>
    line: int  # where the point starts in the manifest, for messages


def secret_refs(point: IntegrationPoint) -> tuple[SecretRef, ...]:
    """Every secret reference in ``point``'s options: any option whose kind is ``SECRET``."""
    refs: list[SecretRef] = []
    for opt in CHECK_TYPES[point.type].OPTIONS:
        value = point.options.get(opt.name)
        if opt.kind is SECRET and value is not None:
            source, where = value
            refs.append(SecretRef(opt.name, source, where))
        elif opt.kind is SECRET_FILES and value:  # secret_headers: {Header: {env: NAME}}
            for _header, (source, where) in value:
                refs.append(SecretRef(opt.name, source, where))
    return tuple(refs)


def point_facts(
    manifest: Manifest,
    point: IntegrationPoint,
    by_name: Mapping[str, IntegrationPoint] | None = None,
) -> PointFacts:
    """``point``'s facts; ``by_name`` (the manifest's points by name) saves rebuilding it."""
    if by_name is None:
        by_name = {p.name: p for p in manifest.points}
    sensu = point.sensu
    return PointFacts(
        name=manifest.check_name(point),
        command=point_command(point),
        datacenter=manifest.datacenter,
        point=point.name,
        type=point.type,
        owner=point.owner,
        description=point.description,
        docs=point.docs,
        depends_on=tuple(point.depends_on),
        depends_on_checks=tuple(manifest.check_name(by_name[other]) for other in point.depends_on),
        interval=None if sensu.cron is not None else sensu.interval,
        cron=sensu.cron,
        timeout=sensu.timeout,
        ttl=sensu.ttl,
        handlers=None if sensu.handlers is None else tuple(sensu.handlers),
        occurrences=sensu.occurrences,
        refresh=sensu.refresh,
        subscriptions=tuple(dict.fromkeys(sensu.subscribers)),
        round_robin=sensu.round_robin,
        runtime_assets=tuple(dict.fromkeys(sensu.runtime_assets)),
        secrets=secret_refs(point),
        entity=manifest.client,
        aggregate=manifest.aggregate,
        line=point.line,
    )


def manifest_facts(manifest: Manifest) -> list[PointFacts]:
    """The facts of every point, in manifest order."""
    missing = sorted(
        {dep for p in manifest.points for dep in p.depends_on} - {p.name for p in manifest.points}
    )
    if missing:
        raise RuntimeError(f"bug: depends_on names unknown points: {', '.join(missing)}")
    by_name = {point.name: point for point in manifest.points}
    return [point_facts(manifest, point, by_name) for point in manifest.points]
