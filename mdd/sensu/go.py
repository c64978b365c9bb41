"""Sensu Go resources for one datacenter: what `mdd generate --format sensu-go` prints.

One ``type: CheckConfig``, ``api_version: core/v2`` resource per integration point, for
``sensuctl create -f``, built from the same ``mdd.sensu.facts`` as the Classic format:

* ``metadata``: the Classic check name ``mdd_<dc>_<point>``, the namespace, labels
  ``mdd_datacenter``, ``mdd_point``, ``mdd_check_type``, ``mdd_owner`` (strings, for
  ``sensuctl check list --label-selector`` and the web UI's filters) and annotations
  ``mdd_description``, ``mdd_docs``, ``mdd_depends_on`` (the check names, comma-separated),
  ``fatigue_check/occurrences`` and ``fatigue_check/interval`` (what Sensu's own 1.x
  translator makes of ``occurrences`` and ``refresh``). The metadata is written at the top
  level (sensuctl 6.x) and again as ``spec.metadata`` (sensu-go 7 reads only that one).
* ``spec``: ``command``, ``subscriptions`` (the manifest's, else ``mdd-<dc>``: Sensu Go has
  no standalone checks), ``publish: true``, ``interval`` or ``cron`` (never both),
  ``timeout``, ``ttl``, ``round_robin`` when asked, ``handlers`` (``["default"]`` when the
  manifest gives none, as Classic and Sensu's translator do), ``proxy_entity_name:
  mdd-<dc>`` (one entity per datacenter, like Classic's ``source``), ``output_metric_format:
  nagios_perfdata``, ``runtime_assets`` when asked, and ``secrets`` with a secrets provider.

After the checks comes the ``EventFilter`` ``mdd-alerting`` (``mdd.sensu.alerting``): the
handler that lists it is not paged for points that were never green or are blocked.

Secrets stay references. ``{file: PATH}`` and ``{env: NAME}`` are on argv as references only
(``--password-file PATH``, ``--password-env NAME``): the agent passes its own environment to
checks. With ``secrets_provider``, each ``{env: NAME}`` also becomes a ``secrets`` entry
``{name: NAME, secret: NAME}``, so the backend sets NAME from the Sensu ``Secret`` named NAME;
for the ``env`` provider mdd writes those ``Secret`` resources too (``id: NAME``: the variable
of the same name in the backend's environment). ``{client: ...}`` references are Sensu
Classic's and are refused here.

The resources are built as plain data and written twice over by serializers, YAML or a JSON
stream: one layout, no template to keep in step. Before ``render`` returns, it reads its own
output back the way sensuctl does and holds every resource to ``mdd.sensu.go_rules``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from mdd.core.model import Manifest
from mdd.core.problems import Problem
from mdd.sensu import alerting, go_rules
from mdd.sensu.facts import (
    ROUND_ROBIN_PREFIX,
    GenerateError,
    PointFacts,
    default_subscription,
    manifest_facts,
)

FORMATS = ("yaml", "json")
SECRETS_PROVIDERS = ("env", "vault")
DEFAULT_NAMESPACE = "default"
DEFAULT_HANDLER = "default"  # what Sensu Classic and Sensu's 1.x translator use


@dataclass(frozen=True)
class GoOptions:
    """What the command line adds to the manifest for Sensu Go."""

    namespace: str = DEFAULT_NAMESPACE
    secrets_provider: str | None = None  # None: secrets come from the agent's environment
    runtime_assets: tuple[str, ...] = ()  # added to every check's own


def _metadata(
    name: str, namespace: str, labels: Mapping[str, str], annotations: Mapping[str, str]
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    return metadata


def _wrap(
    type_name: str, api_version: str, metadata: dict[str, Any], spec: dict[str, Any]
) -> dict[str, Any]:
    return {
        "type": type_name,
        "api_version": api_version,
        "metadata": metadata,
        "spec": {"metadata": json.loads(json.dumps(metadata)), **spec},
    }


class _Subscriptions(NamedTuple):
    names: tuple[str, ...]
    round_robin: bool


def _subscriptions(facts: PointFacts, default: str) -> _Subscriptions | str:
    """The subscriptions and whether round robin, or why the manifest's subscriptions cannot
    be written."""
    prefixed = [s.startswith(ROUND_ROBIN_PREFIX) for s in facts.subscriptions]
    if any(prefixed) and not all(prefixed) and not facts.round_robin:
        return (
            "subscribers mixes roundrobin: and plain subscriptions, and Sensu Go's round_robin "
            "is one setting per check: set round_robin: true, or split the point"
        )
    names = tuple(
        dict.fromkeys(
            s[len(ROUND_ROBIN_PREFIX) :] if s.startswith(ROUND_ROBIN_PREFIX) else s
            for s in facts.subscriptions
        )
    )
    return _Subscriptions(names or (default,), facts.round_robin or any(prefixed))


def _labels(facts: PointFacts) -> dict[str, str]:
    """The labels of a point's check: strings to select on."""
    labels = {
        "mdd_datacenter": facts.datacenter,
        "mdd_point": facts.point,
        "mdd_check_type": facts.type,
    }
    if facts.owner is not None:
        labels["mdd_owner"] = facts.owner
    return labels


def _annotations(facts: PointFacts) -> dict[str, str]:
    """The annotations of a point's check: what it is, and what Sensu's translator makes of
    ``occurrences`` and ``refresh``."""
    annotations: dict[str, str] = {}
    if facts.description is not None:
        annotations["mdd_description"] = facts.description
    if facts.docs is not None:
        annotations["mdd_docs"] = facts.docs
    if facts.depends_on_checks:
        annotations["mdd_depends_on"] = ",".join(facts.depends_on_checks)
    if facts.occurrences is not None:
        annotations["fatigue_check/occurrences"] = str(facts.occurrences)
    if facts.refresh is not None:
        annotations["fatigue_check/interval"] = str(facts.refresh)
    return annotations


def check_resource(facts: PointFacts, options: GoOptions, default: str) -> dict[str, Any]:
    """The ``CheckConfig`` of one point; ``ValueError`` says why a manifest value cannot be."""
    subscriptions = _subscriptions(facts, default)
    if isinstance(subscriptions, str):
        raise ValueError(subscriptions)
    names, round_robin = subscriptions
    clients = [ref for ref in facts.secrets if ref.source == "client"]
    if clients:
        raise ValueError(
            f"{clients[0].option}: {{client: {clients[0].where}}} is a Sensu Classic client "
            f"attribute, and Sensu Go has none: use {{env: NAME}} (with --secrets-provider "
            f"for a Sensu Go Secret) or {{file: /path/on/agent}}"
        )

    spec: dict[str, Any] = {"command": facts.command, "subscriptions": list(names)}
    spec["publish"] = True
    if facts.cron is not None:
        spec["cron"] = facts.cron
    else:
        spec["interval"] = facts.interval
    if facts.timeout is not None:
        spec["timeout"] = facts.timeout
    if facts.ttl is not None:
        spec["ttl"] = facts.ttl
    if round_robin:
        spec["round_robin"] = True
    spec["handlers"] = list(facts.handlers if facts.handlers is not None else (DEFAULT_HANDLER,))
    spec["proxy_entity_name"] = facts.entity
    spec["output_metric_format"] = "nagios_perfdata"
    assets = tuple(dict.fromkeys((*facts.runtime_assets, *options.runtime_assets)))
    if assets:
        spec["runtime_assets"] = list(assets)
    if options.secrets_provider is not None:
        envs = tuple(dict.fromkeys(ref.where for ref in facts.secrets if ref.source == "env"))
        if envs:
            spec["secrets"] = [{"name": name, "secret": name} for name in envs]
    metadata = _metadata(facts.name, options.namespace, _labels(facts), _annotations(facts))
    return _wrap("CheckConfig", "core/v2", metadata, spec)


def secret_resource(name: str, options: GoOptions) -> dict[str, Any]:
    """The ``Secret`` NAME of the ``env`` provider: the backend's variable NAME."""
    metadata = _metadata(name, options.namespace, {}, {})
    return _wrap("Secret", "secrets/v1", metadata, {"id": name, "provider": "env"})


def filter_resource(options: GoOptions) -> dict[str, Any]:
    """The ``mdd-alerting`` ``EventFilter`` (``mdd.sensu.alerting``), in the checks' namespace."""
    metadata = _metadata(alerting.NAME, options.namespace, {}, {})
    return _wrap("EventFilter", "core/v2", metadata, alerting.go_spec())


def required_secrets(manifest: Manifest, options: GoOptions) -> list[str]:
    """The Sensu Go ``Secret`` names the checks refer to (none without a secrets provider)."""
    if options.secrets_provider is None:
        return []
    return list(
        dict.fromkeys(
            ref.where
            for facts in manifest_facts(manifest)
            for ref in facts.secrets
            if ref.source == "env"
        )
    )


def resources(manifest: Manifest, options: GoOptions | None = None) -> list[dict[str, Any]]:
    """Every resource for the datacenter: its checks, the ``mdd-alerting`` filter, then the
    ``env`` provider's secrets."""
    options = options or GoOptions()
    if not go_rules.NAME.search(options.namespace):
        raise ValueError(f"{options.namespace!r} is not a Sensu Go namespace name")
    default = default_subscription(manifest)
    problems: list[Problem] = []
    checks: list[dict[str, Any]] = []
    for facts in manifest_facts(manifest):
        try:
            resource = check_resource(facts, options, default)
        except ValueError as exc:
            problems.append(Problem(str(manifest.path), facts.line, 1, f"{facts.point}: {exc}"))
            continue
        problems += [
            Problem(str(manifest.path), facts.line, 1, f"{facts.point}: the check's {failure}")
            # spec.metadata repeats metadata: each value is reported once
            for failure in go_rules.token_failures(
                {**resource, "spec": {k: v for k, v in resource["spec"].items() if k != "metadata"}}
            )
        ]
        checks.append(resource)
    if problems:
        raise GenerateError(problems)
    secrets = (
        [secret_resource(name, options) for name in required_secrets(manifest, options)]
        if options.secrets_provider == "env"
        else []
    )
    return [*checks, filter_resource(options), *secrets]


# --------------------------------------------------------------------------- writing

# A plain YAML scalar only when no YAML 1.1 reader (PyYAML, go-yaml v2) can take it for
# anything but this string; everything else is double-quoted.
_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*(?::[A-Za-z0-9_./-]+)*")
_YAML11_WORDS = frozenset(
    {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"}
)


def _dumper() -> type:
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        plain = _PLAIN.fullmatch(value) and value.lower() not in _YAML11_WORDS
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, None if plain else '"')

    Dumper.add_representer(str, text)
    return Dumper


def to_yaml(items: Sequence[Mapping[str, Any]]) -> str:
    """A YAML stream for sensuctl: each document after a bare ``---`` line."""
    import yaml

    dumper = _dumper()
    return "".join(
        "---\n"
        + yaml.dump(
            dict(item),
            Dumper=dumper,
            sort_keys=False,
            default_flow_style=False,
            allow_unicode=True,
            width=1 << 30,
        )
        for item in items
    )


def to_json(items: Sequence[Mapping[str, Any]]) -> str:
    """A wrapped-JSON stream for sensuctl: objects one after another, no commas, no array."""
    return "".join(
        json.dumps(item, indent=2, ensure_ascii=True, allow_nan=False) + "\n" for item in items
    )


def render(manifest: Manifest, fmt: str = "yaml", options: GoOptions | None = None) -> str:
    """The datacenter's resources as a ``sensuctl create -f`` file, ending in a newline."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown Sensu Go format {fmt!r}")
    items = resources(manifest, options)
    write = to_yaml if fmt == "yaml" else to_json
    _refuse_long_lines(manifest, items, write)
    text = write(items)
    verify(text, items)
    return text


# sensuctl create reads its input with a bufio.Scanner of the default buffer: a line longer
# than 64 KiB fails the whole file ("bufio.Scanner: token too long"), nothing is created.
SENSUCTL_LINE_LIMIT = 64 * 1024  # bytes of a line, its newline included


def _refuse_long_lines(
    manifest: Manifest,
    items: Sequence[Mapping[str, Any]],
    write: Any,
) -> None:
    lines_of = {f.name: f.line for f in manifest_facts(manifest)}
    problems: list[Problem] = []
    for item in items:
        for line in write([item]).split("\n"):
            size = len(line.encode("utf-8")) + 1
            if size > SENSUCTL_LINE_LIMIT:
                name = item["metadata"]["name"]
                key = line.strip().split(":", 1)[0].strip('"') or "a value"
                problems.append(
                    Problem(
                        str(manifest.path),
                        lines_of.get(name, 1),
                        1,
                        f"{name}: its {key} makes a line of {size} bytes, and sensuctl reads "
                        f"lines of at most {SENSUCTL_LINE_LIMIT} bytes (64 KiB; it would refuse "
                        f"the whole file: bufio.Scanner: token too long): shorten it",
                    )
                )
                break
    if problems:
        raise GenerateError(problems)


def verify(text: str, items: Sequence[Mapping[str, Any]]) -> None:
    """Read ``text`` back as sensuctl does and hold it to Sensu Go's rules; raise if wrong."""
    try:
        parsed = go_rules.parse_stream(text)
    except go_rules.ParseError as exc:
        raise RuntimeError(f"bug: sensuctl could not read the Sensu Go output: {exc}") from None
    if parsed != [json.loads(json.dumps(item)) for item in items]:
        raise RuntimeError("bug: the Sensu Go output does not read back as the resources written")
    failures = []
    for item in parsed:
        name = item["metadata"]["name"]
        if item["type"] == "CheckConfig":
            found = go_rules.wrapper_failures(item, "CheckConfig", "core/v2")
            found += go_rules.check_failures(item["spec"], item["spec"]["metadata"])
        elif item["type"] == "EventFilter":
            found = go_rules.filter_failures(item)
        else:
            found = go_rules.secret_failures(item)
        failures += [f"{item['type']} {name}: {failure}" for failure in found]
    if failures:
        raise RuntimeError(
            "bug: the generated resources break Sensu Go's rules:\n  " + "\n  ".join(failures)
        )
