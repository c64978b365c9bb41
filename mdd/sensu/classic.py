"""Sensu Classic (1.x) check definitions for one datacenter: what `mdd generate` prints.

One check per integration point, named ``mdd_<dc>_<point>``, running the point's bundled check
script (``mdd.core.command.check_command``: every manifest value shell-quoted). The facts come from
``mdd.sensu.facts``, shared with the Sensu Go format; this module only lays them out. Every
check carries ``source: mdd-<dc>`` (one proxy client per datacenter, so Uchiwa lists the
datacenter's points together), ``aggregate: mdd_<dc>`` (the "N of M green" tally) and the
custom attributes that reach the events: top-level ``owner`` and ``docs`` (Uchiwa shows
top-level URLs as links) and a machine-readable ``mdd`` object. ``depends_on`` becomes
``dependencies`` in the ``client/check`` form read by Sensu's ``check_dependencies`` filter.

The file also carries the ``mdd-alerting`` filter (``mdd.sensu.alerting``) in ``filters``.
The JSON is built as data and laid out by ``dump`` (one key a line, lists of plain values on
one line): the same manifest gives the same bytes. Before ``render`` returns, it parses its
own output and runs Sensu's validator on it (``mdd.sensu.classic_rules``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mdd.core.model import IntegrationPoint, Manifest
from mdd.core.problems import Problem
from mdd.sensu import alerting
from mdd.sensu import classic_rules as sensu_rules
from mdd.sensu.facts import (
    ROUND_ROBIN_PREFIX,
    GenerateError,
    PointFacts,
    default_subscription,
    manifest_facts,
    point_facts,
)


@dataclass(frozen=True)
class ClassicCheck:
    """One check definition, every value final; the template only lays it out."""

    name: str
    command: str
    subscribers: tuple[str, ...]  # empty: standalone
    interval: int | None  # None: scheduled by ``cron``
    cron: str | None
    timeout: int | None
    ttl: int | None
    handlers: tuple[str, ...] | None  # None: left out, so Sensu uses its "default"
    occurrences: int | None
    refresh: int | None
    stdin: bool  # the client writes its definition to the check's stdin (client secrets)
    source: str
    aggregate: str
    dependencies: tuple[str, ...]
    owner: str | None
    docs: str | None
    # the nested "mdd" attribute
    datacenter: str
    integration_point: str
    type: str
    description: str | None
    depends_on: tuple[str, ...]


def classic_subscribers(facts: PointFacts, default: str) -> tuple[str, ...]:
    """Classic's ``subscribers``: round robin is the ``roundrobin:`` prefix of each one.

    Without round robin and without subscriptions the check is standalone (empty); round
    robin without subscriptions uses the datacenter's default subscription.
    """
    if not facts.round_robin:
        return facts.subscriptions
    return tuple(
        s if s.startswith(ROUND_ROBIN_PREFIX) else ROUND_ROBIN_PREFIX + s
        for s in facts.subscriptions or (default,)
    )


def classic_check(
    manifest: Manifest,
    point: IntegrationPoint,
    by_name: Mapping[str, IntegrationPoint] | None = None,
) -> ClassicCheck:
    """``point``'s check; ``by_name`` (the manifest's points by name) saves rebuilding it."""
    return from_facts(point_facts(manifest, point, by_name), default_subscription(manifest))


def from_facts(facts: PointFacts, default: str) -> ClassicCheck:
    """The Classic check of one point's facts."""
    return ClassicCheck(
        name=facts.name,
        command=facts.command,
        subscribers=classic_subscribers(facts, default),
        interval=facts.interval,
        cron=facts.cron,
        timeout=facts.timeout,
        ttl=facts.ttl,
        handlers=facts.handlers,
        occurrences=facts.occurrences,
        refresh=facts.refresh,
        stdin=any(ref.source == "client" for ref in facts.secrets),
        source=facts.entity,
        aggregate=facts.aggregate,
        dependencies=tuple(f"{facts.entity}/{check}" for check in facts.depends_on_checks),
        owner=facts.owner,
        docs=facts.docs,
        datacenter=facts.datacenter,
        integration_point=facts.point,
        type=facts.type,
        description=facts.description,
        depends_on=facts.depends_on,
    )


def check_definition(check: ClassicCheck) -> dict[str, Any]:
    """The check's JSON object: keys in a fixed order, a key whose value is absent left out
    (never written as null). ``"handlers": []`` is written (Sensu then calls no handler);
    absent, Sensu calls ``default``. ``mdd`` comes last and is always there."""
    definition: dict[str, Any] = {"command": check.command}
    if check.subscribers:
        definition["subscribers"] = list(check.subscribers)
    else:
        definition["standalone"] = True
    if check.cron is not None:
        definition["cron"] = check.cron
    else:
        definition["interval"] = check.interval
    optional: dict[str, Any] = {
        "timeout": check.timeout,
        "ttl": check.ttl,
        "handlers": None if check.handlers is None else list(check.handlers),
        "stdin": True if check.stdin else None,
        "occurrences": check.occurrences,
        "refresh": check.refresh,
    }
    definition.update((key, value) for key, value in optional.items() if value is not None)
    definition["source"] = check.source
    definition["aggregate"] = check.aggregate
    if check.dependencies:
        definition["dependencies"] = list(check.dependencies)
    if check.owner is not None:
        definition["owner"] = check.owner
    if check.docs is not None:
        definition["docs"] = check.docs
    record: dict[str, Any] = {
        "datacenter": check.datacenter,
        "integration_point": check.integration_point,
        "type": check.type,
    }
    for key, value in (
        ("owner", check.owner),
        ("description", check.description),
        ("docs", check.docs),
        ("depends_on", list(check.depends_on) or None),
    ):
        if value is not None:
            record[key] = value
    definition["mdd"] = record
    return definition


# One encoder for every value (json.dumps with arguments would build one per value).
_encode = json.JSONEncoder(ensure_ascii=True, allow_nan=False).encode


def dump(value: Any, indent: str = "") -> str:
    """JSON as mdd lays out Classic files: objects one key a line (two spaces deeper each
    level), lists of plain values on one line (``["default"]``), ASCII only."""
    if isinstance(value, dict) and value:
        inner = indent + "  "
        items = ",\n".join(
            f"{inner}{json.dumps(key)}: {dump(item, inner)}" for key, item in value.items()
        )
        return "{\n" + items + "\n" + indent + "}"
    return _encode(value)


def document(manifest: Manifest) -> dict[str, Any]:
    """The file's data: the datacenter's ``checks`` and the ``mdd-alerting`` filter."""
    default = default_subscription(manifest)
    checks = [from_facts(facts, default) for facts in manifest_facts(manifest)]
    return {
        "checks": {check.name: check_definition(check) for check in checks},
        "filters": alerting.classic_filters(),
    }


def render(manifest: Manifest) -> str:
    """The ``{"checks": {...}, "filters": {...}}`` file for the manifest's datacenter, ending
    in a newline."""
    data = document(manifest)
    text = dump(data) + "\n"
    _verify(text, data, manifest)
    return text


def _verify(text: str, data: Mapping[str, Any], manifest: Manifest) -> None:
    """Parse the output back and hold it to Sensu's rules; raise on anything wrong."""
    try:
        written = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"bug: mdd wrote invalid Sensu Classic JSON: {exc}") from None
    if written != data or list(written["checks"]) != list(data["checks"]):
        raise RuntimeError("bug: the Sensu Classic JSON does not read back as the data written")

    # Manifest values that Sensu's client would rewrite (a problem of the manifest, not a bug).
    checks = written["checks"]
    tokens = [
        Problem(str(manifest.path), point.line, 1, f"{point.name}: the check's {problem}")
        for point, name in zip(manifest.points, checks, strict=True)
        for problem in sensu_rules.token_failures(checks[name])
    ]
    if tokens:
        raise GenerateError(tokens)
    failures = sensu_rules.validate_document(written)
    if failures:
        raise RuntimeError(
            "bug: the generated definitions break Sensu's rules:\n  " + "\n  ".join(failures)
        )
