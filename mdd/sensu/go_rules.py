"""Sensu Go's own rules for the resources ``sensuctl create -f`` reads, re-implemented.

What is ported, from Sensu Go 6.x (``sensu/core`` ``v2``, the same code as sensu-go v6.9.2
``api/core/v2``) and sensuctl (``cli/resource/parse.go``, ``types/wrapper.go``):

* ``split_resources``: sensuctl's parser. A line that starts with ``---`` splits documents
  (the line itself is dropped); a chunk that starts with ``{`` or ``[`` is JSON, anything else
  YAML (YAML 1.1, through go-yaml v2); a chunk holds a stream of objects, one after another.
* ``wrapper_failures``: the wrapper. Exactly ``type``, ``api_version``, ``metadata`` and
  ``spec``; ``metadata`` is ``ObjectMeta`` (``name``, ``namespace``, ``labels`` and
  ``annotations`` as maps of string to string). The portable form repeats the metadata as
  ``spec.metadata`` (sensu-go 7 reads it only there; 6.x reads both, the outer one winning).
* ``check_failures``: ``CheckConfig.Validate`` line by line, with its messages, plus the JSON
  types of every field (``uint32`` fields are non-negative integers: Go's decoder refuses
  ``60.0``, ``-1`` and ``"60"``) and the documented rules the validator leaves out
  (``command`` and ``subscriptions`` not empty, ``publish`` true, ``ttl`` with round robin
  needing ``proxy_entity_name``).
* ``secret_failures``, ``asset_failures``: the ``Secret`` (``secrets/v1``) and ``Asset``
  (``core/v2``) resources mdd writes.
* ``token_failures``: text the agent would treat as a token (``{{ ... }}``, Go
  ``text/template``), in any string of a resource.

Cron strings are checked as robfig/cron's ``ParseStandard`` reads them (5 fields; the
day of week 0-6; ``@hourly``-style names and ``@every <duration>``; a ``CRON_TZ=``/``TZ=``
prefix), approximated as the Classic port approximates parse-cron.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from mdd.core.cron import DAYS, MONTHS, NICKNAMES, RANGES
from mdd.sensu.classic_rules import every_string

# --------------------------------------------------------------------------- names

NAME = re.compile(r"\A[\w.\-:]+\Z", re.ASCII)  # core v2 validators.go NameRegex
ASSET_NAME = re.compile(r"\A[\w/_.\-:]+\Z", re.ASCII)  # core v2 asset.go AssetNameRegex
# Not applied by CheckConfig.Validate, but every subscription mdd writes obeys it.
SUBSCRIPTION_NAME = re.compile(r"\A[\w.\-]+(:?[\w.\-]+)?\Z", re.ASCII)
ENV_NAME = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
LABEL_KEY = re.compile(r"\A[A-Za-z][A-Za-z0-9_]*\Z")  # the docs' rule for label keys
OUTPUT_METRIC_FORMATS = (
    "nagios_perfdata",
    "graphite_plaintext",
    "opentsdb_line",
    "influxdb_line",
    "prometheus_text",
)
TOKEN = re.compile(r"\{\{")

# JSON keys of CheckConfig (core v2 check.proto json tags) and their kinds.
_UINT = "uint"
_INT = "int"
_STR = "str"
_BOOL = "bool"
_STRS = "strs"
_ANY = "any"
CHECK_FIELDS: dict[str, str] = {
    "command": _STR,
    "subscriptions": _STRS,
    "interval": _UINT,
    "cron": _STR,
    "publish": _BOOL,
    "timeout": _UINT,
    "ttl": _INT,
    "round_robin": _BOOL,
    "proxy_entity_name": _STR,
    "proxy_requests": _ANY,
    "runtime_assets": _STRS,
    "handlers": _STRS,
    "high_flap_threshold": _UINT,
    "low_flap_threshold": _UINT,
    "stdin": _BOOL,
    "check_hooks": _ANY,
    "subdue": _ANY,
    "output_metric_format": _STR,
    "output_metric_handlers": _STRS,
    "env_vars": _STRS,
    "max_output_size": _INT,
    "discard_output": _BOOL,
    "secrets": _ANY,
    "output_metric_tags": _ANY,
    "pipelines": _ANY,
    "output_metric_thresholds": _ANY,
    "subdues": _ANY,
    "metadata": _ANY,
}
WRAPPER_KEYS = ("type", "api_version", "metadata", "spec")
METADATA_KEYS = ("name", "namespace", "labels", "annotations", "created_by")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind_ok(kind: str, value: Any) -> bool:
    if kind == _UINT:
        return _is_int(value) and 0 <= value < 2**32
    if kind == _INT:
        return _is_int(value)
    if kind == _STR:
        return isinstance(value, str)
    if kind == _BOOL:
        return isinstance(value, bool)
    if kind == _STRS:
        return value is None or (
            isinstance(value, list) and all(isinstance(item, str) for item in value)
        )
    return True


# --------------------------------------------------------------------------- cron

# robfig/cron takes the same words as cron, and a weekday only up to 6 (7 is not Sunday)
_CRON_RANGES = (*RANGES[:4], (0, 6))
_GO_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+")


def _cron_number(text: str, names: tuple[str, ...], offset: int) -> int | None:
    if text.isdigit():
        return int(text)
    lower = text.lower()
    return names.index(lower) + offset if lower in names else None


def cron_parses(value: Any) -> bool:
    """Whether robfig/cron's ``ParseStandard`` (Sensu Go's cron parser) takes ``value``."""
    if not isinstance(value, str) or not value.strip():
        return False
    text = value.strip()
    if text.startswith(("CRON_TZ=", "TZ=")):
        zone, _, text = text.partition(" ")
        if not zone.partition("=")[2]:
            return False
        text = text.strip()
    if text.startswith("@"):
        if text.startswith("@every "):
            return _GO_DURATION.fullmatch(text[len("@every ") :].strip()) is not None
        return text in NICKNAMES
    fields = text.split()
    if len(fields) != 5:
        return False
    for index, (field, (low, high)) in enumerate(zip(fields, _CRON_RANGES, strict=True)):
        names = MONTHS if index == 3 else DAYS if index == 4 else ()
        offset = 1 if index == 3 else 0
        for item in field.split(","):
            range_part, _, step_text = item.partition("/")
            if "/" in item and not (step_text.isdigit() and int(step_text) > 0):
                return False
            if range_part in ("*", "?"):
                continue
            first_text, dash, last_text = range_part.partition("-")
            first = _cron_number(first_text, names, offset)
            last = _cron_number(last_text, names, offset) if dash else first
            if first is None or last is None or not low <= first <= last <= high:
                return False
    return True


# --------------------------------------------------------------------------- sensuctl's parser


class ParseError(ValueError):
    """What sensuctl would say about a file it cannot read."""


_JSON_START = re.compile(r"^(\s)*[\{\[]")


def split_resources(text: str) -> list[str]:
    """The chunks sensuctl's ``splitResources`` cuts ``text`` into."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        if line.startswith("---"):
            if current != "":
                chunks.append(current)
            current = ""
        else:
            current += line + "\n"
    if current.strip() != "":
        chunks.append(current)
    return chunks


# go-yaml v2 (YAML 1.1) reads these plain scalars as booleans; PyYAML does not, so a plain
# "y" written by PyYAML would reach sensuctl as true, not as the string "y".
_GO_YAML_BOOLS = frozenset({"y", "Y", "n", "N"})


def _plain_scalar_failures(chunk: str) -> list[str]:
    import yaml

    failures: list[str] = []
    stack = [yaml.compose(chunk, Loader=yaml.SafeLoader)]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            if node.style is None and node.value in _GO_YAML_BOOLS:
                failures.append(f"plain scalar {node.value!r} reads as a boolean in go-yaml v2")
        elif isinstance(node, yaml.MappingNode):
            for key, item in node.value:
                stack += [key, item]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    return failures


def parse_stream(text: str) -> list[Any]:
    """Every object of a file, read as ``sensuctl create -f`` reads it; ``ParseError`` if not."""
    import yaml

    objects: list[Any] = []
    for chunk in split_resources(text):
        if _JSON_START.match(chunk):
            decoder = json.JSONDecoder()
            position = 0
            while True:
                while position < len(chunk) and chunk[position].isspace():
                    position += 1
                if position == len(chunk):
                    break
                try:
                    value, position = decoder.raw_decode(chunk, position)
                except json.JSONDecodeError as exc:
                    raise ParseError(f"invalid JSON: {exc}") from None
                objects.append(value)
        else:
            failures = _plain_scalar_failures(chunk)
            if failures:
                raise ParseError("; ".join(failures))
            try:
                objects.append(yaml.safe_load(chunk))
            except yaml.YAMLError as exc:
                raise ParseError(f"invalid YAML: {exc}") from None
    return objects


# --------------------------------------------------------------------------- the wrapper


def _string_map(value: Any) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def metadata_failures(metadata: Any, where: str = "metadata") -> list[str]:
    if not isinstance(metadata, Mapping):
        return [f"{where} must be an object"]
    failures = [
        f"{where}.{key} is not an ObjectMeta field" for key in metadata if key not in METADATA_KEYS
    ]
    for key in ("name", "namespace", "created_by"):
        if key in metadata and not isinstance(metadata[key], str):
            failures.append(f"{where}.{key} must be a string")
    for key in ("labels", "annotations"):
        if key in metadata and not _string_map(metadata[key]):
            failures.append(f"{where}.{key} must map strings to strings")
    return failures


def wrapper_failures(resource: Any, type_name: str, api_version: str) -> list[str]:
    """The wrapper's rules, for the portable (6.x and 7.x) form mdd writes."""
    if not isinstance(resource, Mapping):
        return ["a resource must be an object"]
    failures = [f"unknown top-level key {key!r}" for key in resource if key not in WRAPPER_KEYS]
    if resource.get("type") != type_name:
        failures.append(f"type must be {type_name}, got {resource.get('type')!r}")
    if resource.get("api_version") != api_version:
        failures.append(f"api_version must be {api_version}, got {resource.get('api_version')!r}")
    spec = resource.get("spec")
    if not isinstance(spec, Mapping):
        return [*failures, "no spec provided"]
    failures += metadata_failures(resource.get("metadata"))
    failures += metadata_failures(spec.get("metadata"), "spec.metadata")
    if resource.get("metadata") != spec.get("metadata"):
        failures.append("spec.metadata must repeat metadata (sensu-go 7 reads only spec.metadata)")
    return failures


# --------------------------------------------------------------------------- CheckConfig


def check_failures(spec: Mapping[str, Any], metadata: Mapping[str, Any]) -> list[str]:
    """``CheckConfig.Validate`` (core v2 check_config.go), in its order and with its words,
    then the field types and the documented rules it leaves out."""
    interval = spec.get("interval", 0) if _is_int(spec.get("interval", 0)) else 0
    ttl = spec.get("ttl", 0) if _is_int(spec.get("ttl", 0)) else 0
    return [
        *_field_failures(spec),
        *_schedule_failures(spec, metadata, interval, ttl),
        *_value_failures(spec),
        *_documented_failures(spec, metadata, ttl),
    ]


def _field_failures(spec: Mapping[str, Any]) -> list[str]:
    """Each key of ``spec`` a CheckConfig field, with its JSON type."""
    failures: list[str] = []
    for key, value in spec.items():
        kind = CHECK_FIELDS.get(key)
        if kind is None:
            failures.append(
                f"spec.{key} is not a CheckConfig field (sensuctl drops it with a warning)"
            )
        elif not _kind_ok(kind, value):
            failures.append(f"spec.{key} has the wrong JSON type for a {kind}: {value!r}")
    return failures


def _schedule_failures(
    spec: Mapping[str, Any], metadata: Mapping[str, Any], interval: Any, ttl: Any
) -> list[str]:
    """``CheckConfig.Validate``'s first half: the name, the schedule, the namespace, the ttl."""
    failures: list[str] = []
    fail = failures.append
    name = metadata.get("name", "")
    cron = spec.get("cron", "")
    if not name:
        fail("check name must not be empty")
    elif not NAME.search(str(name)):
        fail("check name cannot contain spaces or special characters")
    if cron:
        if interval > 0:
            fail("must only specify either an interval or a cron schedule")
        if not cron_parses(cron):
            fail("check cron string is invalid")
    if interval == 0 and not cron:
        fail("check interval must be greater than 0 or a valid cron schedule must be provided")
    if not metadata.get("namespace"):
        fail("namespace must be set")
    if ttl > 0 and ttl <= interval:
        fail("ttl must be greater than check interval")
    return failures


def _value_failures(spec: Mapping[str, Any]) -> list[str]:
    """``CheckConfig.Validate``'s second half: assets, subscriptions, proxy entity, output
    format, flap thresholds, environment."""
    failures: list[str] = []
    fail = failures.append
    for asset in spec.get("runtime_assets") or []:
        if not ASSET_NAME.search(str(asset)):
            fail(f"asset name {asset!r} cannot contain spaces or special characters")
    for subscription in spec.get("subscriptions") or []:
        if subscription == "":
            fail("subscriptions cannot be empty strings")
    entity = spec.get("proxy_entity_name", "")
    if entity and not NAME.search(str(entity)):
        fail("proxy entity name cannot contain spaces or special characters")
    output_format = spec.get("output_metric_format", "")
    if output_format and output_format not in OUTPUT_METRIC_FORMATS:
        fail("output metric format is not valid")
    low, high = spec.get("low_flap_threshold", 0), spec.get("high_flap_threshold", 0)
    if low and high and low >= high:
        fail("invalid flap thresholds")
    for item in spec.get("env_vars") or []:
        key, equals, value = str(item).partition("=")
        if not equals or not key or not value:
            fail("environment variables must be of the form FOO=BAR")
    return failures


def _documented_failures(
    spec: Mapping[str, Any], metadata: Mapping[str, Any], ttl: Any
) -> list[str]:
    """Documented, not validated: the check would load and never run, or run wrongly."""
    failures: list[str] = []
    fail = failures.append
    if not spec.get("command"):
        fail("command must be set (docs: required)")
    subscriptions = spec.get("subscriptions") or []
    if not subscriptions:
        fail("subscriptions cannot be empty (docs), or no agent runs the check")
    for subscription in subscriptions:
        if subscription and not SUBSCRIPTION_NAME.search(str(subscription)):
            fail(f"subscription {subscription!r} is not a Sensu subscription name")
    for handler in spec.get("handlers") or []:
        if not NAME.search(str(handler)):
            fail(f"handler name {handler!r} cannot contain spaces or special characters")
    if spec.get("publish") is not True:
        fail("publish must be true, or Sensu Go never schedules the check (default false)")
    if spec.get("round_robin") and ttl and not spec.get("proxy_entity_name", ""):
        fail("ttl with round_robin needs a proxy_entity_name (docs)")
    failures += [
        f"secrets entry {secret!r} must be {{name: ENV_VAR, secret: SECRET_NAME}}"
        for secret in spec.get("secrets") or []
        if not _secret_ok(secret)
    ]
    labels = metadata.get("labels") or {}
    for key in labels:
        if not LABEL_KEY.search(key):
            fail(f"label key {key!r}: letters, digits and '_', starting with a letter (docs)")
    return failures


def _secret_ok(secret: Any) -> bool:
    """A ``secrets`` entry: ``{name: ENV_VAR, secret: SECRET_NAME}``."""
    return bool(
        isinstance(secret, Mapping)
        and set(secret) == {"name", "secret"}
        and isinstance(secret["name"], str)
        and ENV_NAME.search(secret["name"])
        and isinstance(secret["secret"], str)
        and NAME.search(secret["secret"])
    )


def secret_failures(resource: Mapping[str, Any]) -> list[str]:
    """A ``Secret`` (``secrets/v1``): a name and ``spec`` ``{id, provider}``, both set."""
    failures = wrapper_failures(resource, "Secret", "secrets/v1")
    spec = resource.get("spec")
    if isinstance(spec, Mapping):
        name = (resource.get("metadata") or {}).get("name", "")
        if not NAME.search(str(name)):
            failures.append("secret name cannot contain spaces or special characters")
        for key in ("id", "provider"):
            if not isinstance(spec.get(key), str) or not spec.get(key):
                failures.append(f"secret {key} must be set")
    return failures


FILTER_ACTIONS = ("allow", "deny")  # core v2 filter.go EventFilterAllActions


def filter_failures(resource: Mapping[str, Any]) -> list[str]:
    """An ``EventFilter`` (core v2 filter.go ``Validate``, in its order and with its words;
    the JavaScript itself is parsed by otto there, by an ES5 parser in the tests)."""
    failures = wrapper_failures(resource, "EventFilter", "core/v2")
    spec = resource.get("spec")
    if not isinstance(spec, Mapping):
        return failures
    metadata = resource.get("metadata") or {}
    if not NAME.search(str(metadata.get("name", ""))):
        failures.append("filter name cannot contain spaces or special characters")
    if spec.get("action") not in FILTER_ACTIONS:
        failures.append(f"action '{spec.get('action')}' is not valid")
    expressions = spec.get("expressions")
    if not isinstance(expressions, list) or not expressions:
        failures.append("filter must have one or more expressions")
    elif not all(isinstance(e, str) and e.strip() for e in expressions):
        failures.append("filter expressions must be JavaScript expressions")
    if not metadata.get("namespace"):
        failures.append("namespace must be set")
    return failures


def asset_failures(resource: Mapping[str, Any]) -> list[str]:
    """An ``Asset`` (``core/v2`` asset.go ``Validate``, with ``builds``)."""
    failures = wrapper_failures(resource, "Asset", "core/v2")
    spec = resource.get("spec")
    if not isinstance(spec, Mapping):
        return failures
    name = (resource.get("metadata") or {}).get("name", "")
    if not ASSET_NAME.search(str(name)):
        failures.append("asset name cannot contain spaces or special characters")
    builds = spec.get("builds") or [spec]
    for build in builds:
        if not isinstance(build.get("url"), str) or not build.get("url"):
            failures.append("URL cannot be empty")
        elif not re.match(r"https?://[^/\s]+", build["url"]):
            failures.append("the agents download an asset over http:// or https://")
        sha512 = build.get("sha512")
        if not isinstance(sha512, str) or len(sha512) < 128:
            failures.append("SHA-512 hash must be at least 128 characters")
        for expression in build.get("filters") or []:
            if not isinstance(expression, str) or not expression.strip():
                failures.append("asset filters must be JavaScript expressions")
    return failures


# --------------------------------------------------------------------------- tokens


def token_failures(resource: Any) -> list[str]:
    """Each string the agent would run through Go's text/template, changing it."""
    return [
        f"{path} would hold {text[text.index('{{') : text.index('{{') + 20]!r}: the Sensu Go "
        f"agent replaces {{{{ ... }}}} with entity attributes"
        for path, text in every_string(resource)
        if TOKEN.search(text)
    ]
