"""`mdd diff`: how two datacenters' resolved manifests differ.

Points are matched by name. A point one datacenter has and the other lacks is listed as
such; for a point both have, every key whose resolved value differs (vars replaced, layers
merged, loops expanded) is listed with both values, as dotted paths such as `check.url`
or `sensu.interval`. Values compare in their canonical form: `1m` and `60s` are equal.

With ``ignore_vars``, each side's own var values are written back as `{{ name }}` before
comparing, so `ldap.ams1.example.net` and `ldap.fra1.example.net` compare equal when each is
`ldap.{{ domain }}`: what is left is what differs beyond the vars.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mdd.core.model import IntegrationPoint, Manifest, SensuSettings
from mdd.manifest.render import point_dict, sensu_value

FORMATS = ("text", "json")
_MISSING = "(not set)"


@dataclass(frozen=True)
class Change:
    point: str
    key: str  # dotted: check.url, sensu.interval, owner
    left: Any  # None: not set on that side
    right: Any


@dataclass
class Comparison:
    left: str
    right: str
    only_left: list[IntegrationPoint] = field(default_factory=list)
    only_right: list[IntegrationPoint] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    same: int = 0

    @property
    def equal(self) -> bool:
        return not (self.only_left or self.only_right or self.changes)


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and key in ("check", "sensu"):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


class _Quiet:
    """A reporter for a manifest already validated: it has no problem left to report."""

    def add(self, where: Any, message: str, file: str = "") -> None:
        pass

    def duplicates(self, value: Any, seen: set[int]) -> None:
        pass


def datacenter_vars(path: Path) -> dict[str, str]:
    """The vars of a valid manifest, its bases' merged in (text values only)."""
    from mdd.manifest import layers, source, yamlload

    tree, _ = yamlload.load(source.read_text(path))
    merged = layers.resolve(tree, path, _Quiet())
    found = merged.get("vars") or {}
    return {
        str(name): str(value)
        for name, value in found.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    }


def _templated(value: Any, variables: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        for name, text in variables:
            value = value.replace(text, "{{ " + name + " }}")
        return value
    if isinstance(value, list):
        return [_templated(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: _templated(item, variables) for key, item in value.items()}
    return value


def _by_length(variables: Mapping[str, str]) -> list[tuple[str, str]]:
    """Longest value first, so ams1.example.net is replaced before ams1; short ones never."""
    return sorted(
        ((name, text) for name, text in variables.items() if len(text) >= 3),
        key=lambda pair: (-len(pair[1]), pair[0]),
    )


def compare(
    left: Manifest,
    right: Manifest,
    left_vars: Mapping[str, str] | None = None,
    right_vars: Mapping[str, str] | None = None,
) -> Comparison:
    """How ``right`` differs from ``left``; with vars, differences the vars explain are dropped."""
    result = Comparison(left.datacenter, right.datacenter)
    ours_vars, theirs_vars = _by_length(left_vars or {}), _by_length(right_vars or {})
    theirs = {p.name: p for p in right.points}
    ours = {p.name: p for p in left.points}
    result.only_left = [p for p in left.points if p.name not in theirs]
    result.only_right = [p for p in right.points if p.name not in ours]
    for point in left.points:
        other = theirs.get(point.name)
        if other is None:
            continue
        a, b = _flat(point_dict(point, {})), _flat(point_dict(other, {}))
        if left_vars is not None and right_vars is not None:
            a, b = _templated(a, ours_vars), _templated(b, theirs_vars)
        keys = list(a) + [k for k in b if k not in a]
        changes = [Change(point.name, k, a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)]
        result.changes += changes
        result.same += not changes
    return result


def _value(value: Any, key: str = "") -> str:
    if value is None:
        setting = key.removeprefix("sensu.")
        default = getattr(SensuSettings(), setting, None) if key.startswith("sensu.") else None
        if default is not None and default != ():
            return f"{_MISSING}: the default, {sensu_value(setting, default)}"
        return _MISSING
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def _label(point: IntegrationPoint) -> str:
    owner = f", {point.owner}" if point.owner else ""
    return f"{point.name} ({point.type}{owner})"


def text(result: Comparison) -> str:
    left, right = result.left, result.right
    changed = len({c.point for c in result.changes})
    lines = [
        f"{left} vs {right}: {len(result.only_left)} only in {left}, {len(result.only_right)} "
        f"only in {right}, {changed} differ, {result.same} the same"
    ]
    if result.only_left:
        lines.append(f"only in {left}:")
        lines += [f"  - {_label(p)}" for p in result.only_left]
    if result.only_right:
        lines.append(f"only in {right}:")
        lines += [f"  + {_label(p)}" for p in result.only_right]
    point = None
    width = max((len(left), len(right)))
    for change in result.changes:
        if change.point != point:
            point = change.point
            lines.append(f"~ {point}")
        lines.append(f"    {change.key}:")
        lines.append(f"      {left:<{width}}  {_value(change.left, change.key)}")
        lines.append(f"      {right:<{width}}  {_value(change.right, change.key)}")
    if result.equal:
        lines.append(f"{left} and {right} monitor the same integration points, the same way")
    return "\n".join(lines) + "\n"


def as_json(result: Comparison) -> str:
    data = {
        "left": result.left,
        "right": result.right,
        "equal": result.equal,
        "only_left": [p.name for p in result.only_left],
        "only_right": [p.name for p in result.only_right],
        "changes": [
            {"point": c.point, "key": c.key, "left": c.left, "right": c.right}
            for c in result.changes
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
