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
from typing import Any

from mdd.core.model import Manifest
from mdd.core.problems import Problem
from mdd.sensu import alerting
from mdd.sensu import classic_rules as sensu_rules
from mdd.sensu.facts import (
    ROUND_ROBIN_PREFIX,
    GenerateError,
    PointFacts,
    default_subscription,
    manifest_facts,
)


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


def check_definition(facts: PointFacts, default: str) -> dict[str, Any]:
    """One point's check as Sensu Classic reads it (``default``: the datacenter's default
    subscription, ``classic_subscribers``): keys in a fixed order, a key whose value is
    absent left out (never written as null). ``"handlers": []`` is written (Sensu then calls
    no handler); absent, Sensu calls its handler ``default``. ``mdd`` comes last and is
    always there."""
    definition: dict[str, Any] = {"command": facts.command}
    subscribers = classic_subscribers(facts, default)
    if subscribers:
        definition["subscribers"] = list(subscribers)
    else:
        definition["standalone"] = True
    if facts.cron is not None:
        definition["cron"] = facts.cron
    else:
        definition["interval"] = facts.interval
    optional: dict[str, Any] = {
        "timeout": facts.timeout,
        "ttl": facts.ttl,
        "handlers": None if facts.handlers is None else list(facts.handlers),
        # the client writes its definition to the check's stdin (client secrets)
        "stdin": True if any(ref.source == "client" for ref in facts.secrets) else None,
        "occurrences": facts.occurrences,
        "refresh": facts.refresh,
    }
    definition.update((key, value) for key, value in optional.items() if value is not None)
    definition["source"] = facts.entity
    definition["aggregate"] = facts.aggregate
    if facts.depends_on_checks:  # in the client/check form of check_dependencies
        definition["dependencies"] = [f"{facts.entity}/{c}" for c in facts.depends_on_checks]
    if facts.owner is not None:
        definition["owner"] = facts.owner
    if facts.docs is not None:
        definition["docs"] = facts.docs
    record: dict[str, Any] = {
        "datacenter": facts.datacenter,
        "integration_point": facts.point,
        "type": facts.type,
    }
    for key, value in (
        ("owner", facts.owner),
        ("description", facts.description),
        ("docs", facts.docs),
        ("depends_on", list(facts.depends_on) or None),
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
    return {
        "checks": {
            facts.name: check_definition(facts, default) for facts in manifest_facts(manifest)
        },
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
