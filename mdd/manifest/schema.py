"""`mdd schema`: the JSON Schema (draft 2020-12) of a manifest, from the same declarations.

Built from ``mdd.manifest.keys`` (the manifest's own keys) and each check type's
``OPTIONS``; each kind of value gives its fragment (``Kind.schema``, else the fragment for
the kind's name below, else any value). The generated file ships as
``mdd/manifest.schema.json``; an editor with the YAML language server uses it when a
manifest starts with ``# yaml-language-server: $schema=PATH``.

The schema checks what one file can show: unknown keys, the type and shape of each value
(absolute paths on the agent, secret references, ranges), required options, the check
options of each type. The reader checks more (docs/reference/manifest.md, "Editors"; the
list with reasons is SCHEMA_CANNOT_EXPRESS in tests/test_schema.py): rules across options
and across points (dependencies, cycles, duplicate names), what vars and layers resolve to,
and YAML 1.1 readings a human would not expect. Wherever a text value may hold a
`{{ var }}`, the schema accepts the template.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mdd.checks.api import Option
from mdd.checks.registry import CHECK_TYPES
from mdd.manifest.keys import POINT_KEYS, SENSU_KEYS, TOP_LEVEL_KEYS

SCHEMA_FILE = Path("mdd/manifest.schema.json")
DRAFT = "https://json-schema.org/draft/2020-12/schema"

TEMPLATE: dict[str, Any] = {"type": "string", "pattern": r"\{\{"}
_NO_TRIPLE_COLON = {"not": {"type": "string", "pattern": ":::"}}  # Sensu's :::name:::
TEXT: dict[str, Any] = {"type": ["string", "number"], "minLength": 1, **_NO_TRIPLE_COLON}
_DIGITS = {"type": "string", "pattern": r"^\s*-?[0-9]+\s*$"}
_DURATION = r"^\s*([0-9]+(\.[0-9]+)?\s*(ms|s|m|h|d)?\s*)+$"
_PERCENT = r"^\s*(100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?)\s*%?\s*$"


def _templated(*choices: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [*choices, TEMPLATE]}


# An absolute path on the agent (a relative one would resolve against the agent's folder).
_ABSOLUTE = _templated({"type": "string", "pattern": "^/", **_NO_TRIPLE_COLON})


# {file: /abs/path}, {env: NAME} or {client: dotted.path} (mdd.checks._options.SECRET_SOURCES).
_SECRET: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "properties": {
        "file": {"type": "string", "pattern": "^/"},
        "env": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        "client": {"type": "string", "pattern": r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"},
    },
    "additionalProperties": False,
}

# Fragments by kind name, for kinds that do not carry their own ``schema``.
BY_NAME: dict[str, dict[str, Any]] = {
    "string": TEXT,
    "argv word": TEXT,
    "host": TEXT,
    "regex": TEXT,
    "text": TEXT,
    "path": _ABSOLUTE,
    "absolute path": _ABSOLUTE,
    "folder": _ABSOLUTE,
    "address": TEXT,
    "proxy": TEXT,
    "url": {"anyOf": [{"type": "string", "pattern": r"^https?://\S+$"}, TEMPLATE]},
    "port": _templated({"type": "integer", "minimum": 1, "maximum": 65535}, _DIGITS),
    "integer": _templated({"type": "integer"}, _DIGITS),
    "count": _templated({"type": "integer", "minimum": 0}, _DIGITS),
    "pings": _templated({"type": "integer", "minimum": 1, "maximum": 100}, _DIGITS),
    "days": _templated({"type": "integer", "minimum": 0, "maximum": 3650}, _DIGITS),
    "percent": _templated(
        {"type": "number", "minimum": 0, "maximum": 100},
        {"type": "string", "pattern": _PERCENT},
    ),
    "mail address": _templated({"type": "string", "pattern": r"^\s*[^\s<>]+\s*$"}),
    "mechanism": _templated({"type": "string", "pattern": r"^\s*[A-Za-z0-9_-]{1,20}\s*$"}),
    "ldap url": _templated({"type": "string", "pattern": r"^\s*[Ll][Dd][Aa][Pp][Ss]?://"}),
    "filter": _templated({"type": "string", "pattern": r"^\s*\(.*\)\s*$"}),
    "dn": _templated({"type": "string", "pattern": r"^\s*$|="}),
    "duration": _templated(
        {"type": "number", "exclusiveMinimum": 0}, {"type": "string", "pattern": _DURATION}
    ),
    "boolean": {"type": "boolean"},
    "status": _templated(
        {"type": "integer", "minimum": 100, "maximum": 599},
        {"type": "string", "pattern": r"^\s*[1-5][0-9][0-9](\s*-\s*[1-5][0-9][0-9])?\s*$"},
    ),
    "secret": _SECRET,
    "headers": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
    # secret_headers: each header's value is a secret reference, or an absolute file path.
    "secret files": {
        "type": "object",
        "additionalProperties": {"anyOf": [_SECRET, {"type": "string", "pattern": "^/"}, TEMPLATE]},
    },
    "json": {"type": "object"},
}


def fragment(opt: Option, *, empty_list: bool = False) -> dict[str, Any]:
    """The schema of one option's value, as a manifest writes it."""
    kind = opt.kind
    item: dict[str, Any] = (
        dict(kind.schema) if kind.schema is not None else dict(BY_NAME.get(kind.name, {}))
    )
    if "enum" in item:
        item["enum"] = list(item["enum"])
    if opt.multiple:
        array: dict[str, Any] = {"type": "array", "items": item}
        if not empty_list:
            array["minItems"] = 1
        item = {"anyOf": [item, array]} if item else {}
    item["description"] = opt.help
    return item


def _block(options: tuple[Option, ...], *, empty_list: bool = False) -> dict[str, Any]:
    return {
        "type": ["object", "null"],
        "properties": {o.name: fragment(o, empty_list=empty_list) for o in options},
        "additionalProperties": False,
    }


def _check(check_type: str) -> dict[str, Any]:
    module = CHECK_TYPES[check_type]
    block = _block(module.OPTIONS)
    block["description"] = f"The options of a {check_type} check: {module.SUMMARY}"
    required = [o.name for o in module.OPTIONS if o.required]
    if required:
        block["required"] = required
    return block


def _point() -> dict[str, Any]:
    """The schema of one integration point: its ``check:`` block by its type."""
    point_props = {o.name: fragment(o) for o in POINT_KEYS}
    point_props["check"] = {
        "type": ["object", "null"],
        "description": point_props["check"]["description"],
    }
    point_props["sensu"] = {"$ref": "#/$defs/sensu"}
    point_props["for_each"] = {
        "type": "array",
        "minItems": 1,
        "items": {
            "anyOf": [
                {"type": ["string", "number"]},
                {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
            ]
        },
        "description": point_props["for_each"]["description"],
    }
    point: dict[str, Any] = {
        "type": "object",
        "properties": point_props,
        "additionalProperties": False,
        "required": ["name"],
        "allOf": [
            {
                "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                "then": {"properties": {"check": {"$ref": f"#/$defs/check_{name}"}}},
            }
            for name in sorted(CHECK_TYPES)
        ],
    }
    return point


def schema() -> dict[str, Any]:
    """The manifest's JSON Schema, as a JSON-ready dict."""
    top = {o.name: fragment(o) for o in TOP_LEVEL_KEYS}
    top["vars"] = {
        "type": ["object", "null"],
        "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        "additionalProperties": {
            "type": ["string", "number"],
            "not": {"type": "string", "pattern": r"\{\{|\}\}|:::"},
        },
        "description": top["vars"]["description"],
    }
    top["sensu"] = {"$ref": "#/$defs/sensu"}
    top["integration_points"] = {
        "type": "array",
        "minItems": 1,
        "items": {"$ref": "#/$defs/point"},
        "description": top["integration_points"]["description"],
    }
    defs: dict[str, Any] = {
        "sensu": _block(SENSU_KEYS, empty_list=True),
        "point": _point(),
    }
    for name in sorted(CHECK_TYPES):
        defs[f"check_{name}"] = _check(name)
    return {
        "$schema": DRAFT,
        "title": "mdd manifest",
        "description": (
            "A datacenter's integration points (mdd: Monitoring Driven Deployment), or a base "
            "manifest that datacenters extend. Generated by `mdd schema`."
        ),
        "type": "object",
        "properties": top,
        "additionalProperties": False,
        "anyOf": [
            {"required": ["datacenter", "integration_points"]},
            {"required": ["datacenter", "extends"]},
            {"not": {"required": ["datacenter"]}, "description": "a base manifest"},
        ],
        "$defs": defs,
    }


def schema_text() -> str:
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"
