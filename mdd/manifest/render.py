"""`mdd render`: a datacenter's fully resolved manifest, as a reviewer should read it.

Layers merged, vars replaced and `for_each` points expanded: what `mdd generate` turns into
checks, written back as a manifest (YAML, or JSON) that `mdd validate` accepts as it is.
Values are written from their canonical form (durations as `10s`, `500ms`), so two manifests
that mean the same render the same.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from mdd.checks.api import SECRET, SECRET_SOURCES, Option
from mdd.checks.registry import CHECK_TYPES
from mdd.core.model import IntegrationPoint, Manifest, SensuSettings
from mdd.manifest.keys import SENSU_KEYS

FORMATS = ("yaml", "json")
_DEFAULT = SensuSettings()
_SENSU_OPTIONS = {opt.name: opt for opt in SENSU_KEYS}


def _item(opt: Option, value: Any) -> Any:
    """One canonical item as a manifest writes it."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | str):
        return value
    if isinstance(value, tuple) and len(value) == 2 and value[0] in SECRET_SOURCES:
        return {value[0]: value[1]}
    if isinstance(value, float | tuple):
        text = opt.kind.text(value)
        return int(text) if text.isdigit() else text
    return value


def manifest_value(opt: Option, value: Any) -> Any:
    """A canonical option value (``Option.load``'s result) as a manifest would write it."""
    if opt.kind is SECRET:
        source, where = value
        return {source: where}
    if opt.pairs:
        return {str(key): _plain(_item(opt, item)) for key, item in value}
    if opt.multiple:
        return [_plain(_item(opt, item)) for item in value]
    return _plain(_item(opt, value))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def check_values(point: IntegrationPoint) -> dict[str, Any]:
    """The point's check options as a manifest writes them, in declaration order."""
    options = CHECK_TYPES[point.type].OPTIONS
    return {
        opt.name: manifest_value(opt, point.options[opt.name])
        for opt in options
        if opt.name in point.options
    }


def sensu_value(name: str, value: Any) -> Any:
    opt = _SENSU_OPTIONS[name]
    if isinstance(value, tuple):
        return [opt.kind.text(item) for item in value]
    if opt.kind.name == "duration":
        return opt.kind.text(value)
    return value


def common_sensu(manifest: Manifest) -> dict[str, Any]:
    """The Sensu settings every point shares, where they differ from Sensu's defaults."""
    common: dict[str, Any] = {}
    for field in fields(SensuSettings):
        values = {getattr(p.sensu, field.name) for p in manifest.points}
        if len(values) == 1:
            (value,) = values
            if value != getattr(_DEFAULT, field.name):
                common[field.name] = value
    return common


def point_dict(point: IntegrationPoint, common: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": point.name, "type": point.type}
    for key in ("owner", "description", "docs"):
        if getattr(point, key) is not None:
            entry[key] = getattr(point, key)
    if point.depends_on:
        entry["depends_on"] = list(point.depends_on)
    sensu = {
        field.name: sensu_value(field.name, getattr(point.sensu, field.name))
        for field in fields(SensuSettings)
        if field.name not in common
        and getattr(point.sensu, field.name) != getattr(_DEFAULT, field.name)
    }
    if sensu:
        entry["sensu"] = sensu
    entry["check"] = check_values(point)
    return entry


def resolved(manifest: Manifest) -> dict[str, Any]:
    """The manifest as plain data: what `mdd render` writes."""
    document: dict[str, Any] = {"datacenter": manifest.datacenter}
    if manifest.description is not None:
        document["description"] = manifest.description
    common = common_sensu(manifest)
    if common:
        document["sensu"] = {name: sensu_value(name, value) for name, value in common.items()}
    document["integration_points"] = [point_dict(p, common) for p in manifest.points]
    return document


def dump_yaml(data: Any) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
            super().increase_indent(flow, False)  # "  - item", as manifests are written

    def flow_scalars(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.Node:
        flow = all(not isinstance(item, dict | list) for item in items)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)

    Dumper.add_representer(list, flow_scalars)
    text: str = yaml.dump(
        data,
        Dumper=Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )
    return text


def render(manifest: Manifest, fmt: str = "yaml") -> str:
    """The resolved manifest as YAML (a valid manifest with a header comment) or JSON."""
    data = resolved(manifest)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    header = (
        f"# The resolved manifest of {manifest.datacenter}, from {manifest.path}:\n"
        f"# bases merged, vars replaced, for_each expanded (mdd render).\n"
    )
    return header + dump_yaml(data)
