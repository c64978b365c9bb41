"""Sensu Classic (1.x) check definitions for one datacenter: what `mdd generate` prints.

One check per integration point, named ``mdd_<dc>_<point>``, running the point's bundled check
script (``mdd.core.command.check_command``: every manifest value shell-quoted). The facts come from
``mdd.sensu.facts``, shared with the Sensu Go format; this module only lays them out. Every
check carries ``source: mdd-<dc>`` (one proxy client per datacenter, so Uchiwa lists the
datacenter's points together), ``aggregate: mdd_<dc>`` (the "N of M green" tally) and the
custom attributes that reach the events: top-level ``owner`` and ``docs`` (Uchiwa shows
top-level URLs as links) and a machine-readable ``mdd`` object. ``depends_on`` becomes
``dependencies`` in the ``client/check`` form read by Sensu's ``check_dependencies`` filter.

The JSON is laid out by ``templates/sensu-classic.json.j2``. Before ``render`` returns, it
parses its own output and runs Sensu's validator on it (``mdd.sensu.classic_rules``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jinja2

from mdd.core.model import IntegrationPoint, Manifest
from mdd.core.problems import Problem
from mdd.sensu import classic_rules as sensu_rules
from mdd.sensu.facts import (
    ROUND_ROBIN_PREFIX,
    GenerateError,
    PointFacts,
    default_subscription,
    manifest_facts,
    point_facts,
)

TEMPLATE = "sensu-classic.json.j2"


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


def _json(value: Any) -> str:
    """A JSON value, quotes left readable (Jinja's ``tojson`` writes ``'`` as ``\\u0027``)."""
    return json.dumps(value, ensure_ascii=True, allow_nan=False)


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mdd.templates", "."),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    env.filters["json"] = _json
    return env


def render(manifest: Manifest) -> str:
    """The ``{"checks": {...}}`` file for the manifest's datacenter, ending in a newline."""
    default = default_subscription(manifest)
    checks = [from_facts(facts, default) for facts in manifest_facts(manifest)]
    text = _environment().get_template(TEMPLATE).render(checks=checks)
    _verify(text, checks, manifest)
    return text


def _verify(text: str, checks: Sequence[ClassicCheck], manifest: Manifest) -> None:
    """Parse the output back and hold it to Sensu's rules; raise on anything wrong."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"bug: {TEMPLATE} wrote invalid JSON: {exc}") from None
    written = document.get("checks") if isinstance(document, dict) else None
    if not isinstance(written, dict) or list(written) != [c.name for c in checks]:
        raise RuntimeError(
            f"bug: {TEMPLATE} did not write the checks {[c.name for c in checks]} in order"
        )
    for check in checks:
        if written[check.name].get("command") != check.command:
            raise RuntimeError(f"bug: {TEMPLATE} changed the command of {check.name}")

    # Manifest values that Sensu's client would rewrite (a problem of the manifest, not a bug).
    tokens = [
        Problem(str(manifest.path), point.line, 1, f"{point.name}: the check's {problem}")
        for point, check in zip(manifest.points, checks, strict=True)
        for problem in sensu_rules.token_failures(written[check.name])
    ]
    if tokens:
        raise GenerateError(tokens)
    failures = sensu_rules.validate_document(document)
    if failures:
        raise RuntimeError(
            "bug: the generated definitions break Sensu's rules:\n  " + "\n  ".join(failures)
        )
