"""`mdd diff`: how two datacenters' resolved manifests differ.

Points are matched by name. A point one datacenter has and the other lacks is listed as
such; for a point both have, every key whose resolved value differs (vars replaced, layers
merged, loops expanded) is listed with both values, as dotted paths such as `check.url`
or `sensu.interval`. Values compare in their canonical form: `1m` and `60s` are equal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mdd.model import IntegrationPoint, Manifest
from mdd.render import point_dict

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


def compare(left: Manifest, right: Manifest) -> Comparison:
    result = Comparison(left.datacenter, right.datacenter)
    theirs = {p.name: p for p in right.points}
    ours = {p.name: p for p in left.points}
    result.only_left = [p for p in left.points if p.name not in theirs]
    result.only_right = [p for p in right.points if p.name not in ours]
    for point in left.points:
        other = theirs.get(point.name)
        if other is None:
            continue
        a, b = _flat(point_dict(point, {})), _flat(point_dict(other, {}))
        keys = list(a) + [k for k in b if k not in a]
        changes = [Change(point.name, k, a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)]
        result.changes += changes
        result.same += not changes
    return result


def _value(value: Any) -> str:
    if value is None:
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
        lines.append(f"      {left:<{width}}  {_value(change.left)}")
        lines.append(f"      {right:<{width}}  {_value(change.right)}")
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
