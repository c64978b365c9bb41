"""`for_each`: one written integration point that expands into several.

A point with `for_each: [...]` stands for one point per item of the list. `{{ item }}` in
any of its text values (its name, its check options, its description...) is replaced by
the item; an item may also be a mapping, whose keys are then used as `{{ item.KEY }}`:

```yaml
integration_points:
  - name: "resolver-{{ item }}"
    for_each: [10.1.0.2, 10.1.0.3]
    type: tcp
    owner: dns
    check: {host: "{{ item }}", port: 53}

  - name: "web-{{ item.name }}"
    for_each:
      - {name: a, address: "10.1.2.11:443"}
      - {name: b, address: "10.1.2.12:443"}
    type: http
    check:
      url: "https://www.{{ domain }}/health"
      connect_to: "{{ item.address }}"
```

The name must use `{{ item }}` (or `{{ item.KEY }}`), so that each expanded point has its
own name; two items that give the same name are an error at the second item, and an
expanded name that another point already has is an error at the written point's name.
A value written as exactly `"{{ item }}"` takes the item as it is (a number stays a
number). Items are plain text, numbers or mappings of them; vars (`{{ domain }}`) work
inside items and the point as everywhere else. Loops expand after layers are merged, so a
datacenter can override an inherited loop point's `for_each` list by its written name.
A datacenter has at most 10,000 points, loops expanded: a `for_each` list that would take
it over is an error at that list (split the datacenter).
"""

from __future__ import annotations

import re
from typing import Any

from mdd.checks.api import type_name
from mdd.manifest.layers import Reporter, point_name, put
from mdd.manifest.yamlload import Span, YamlList, YamlMap, new_list, new_map

MAX_POINTS = 10_000  # points per datacenter, for_each expanded (docs/reliability.md)

_ITEM = re.compile(r"\{\{\s*item(?:\.([A-Za-z_][A-Za-z0-9_]*))?\s*\}\}")


class _Missing(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _text(item: Any, key: str | None) -> Any:
    if key is None:
        if isinstance(item, YamlMap):
            raise _Missing(
                f"this for_each item is a mapping (keys: {', '.join(map(str, item))}): write "
                f"{{{{ item.KEY }}}} to use one of its keys"
            )
        return item
    if not isinstance(item, YamlMap):
        raise _Missing(f"{{{{ item.{key} }}}} needs mapping items, but this item is {item!r}")
    if key not in item:
        raise _Missing(
            f"the for_each item has no key {key!r}; its keys: {', '.join(map(str, item))}"
        )
    return item[key]


def _fill(value: Any, span: Span, item: Any, problems: list[tuple[Span, str]]) -> Any:
    """``value`` with ``{{ item }}`` replaced, spans kept."""
    if isinstance(value, YamlMap):
        result = new_map(value.span)
        for key in value:
            put(result, value, key, _fill(value[key], value.value_spans[key], item, problems))
        return result
    if isinstance(value, YamlList):
        items = new_list(value.span)
        for element, element_span in zip(value, value.item_spans, strict=True):
            items.append(_fill(element, element_span, item, problems))
            items.item_spans.append(element_span)
        return items
    if not isinstance(value, str) or "{{" not in value:
        return value
    whole = _ITEM.fullmatch(value.strip())
    try:
        if whole:
            return _text(item, whole.group(1))
        return _ITEM.sub(lambda m: str(_text(item, m.group(1))), value)
    except _Missing as exc:
        problems.append((span, f"for_each: {exc.message}"))
        return value


def _expand(point: YamlMap, report: Reporter) -> list[YamlMap]:
    items, span = point["for_each"], point.value_spans["for_each"]
    if not isinstance(items, YamlList) or not items:
        got = "an empty list" if isinstance(items, YamlList) else type_name(items)
        report.add(span, f"for_each: expected a list of the items to expand into, got {got}")
        return []
    name = point.get("name")
    if isinstance(name, str) and not _ITEM.search(name):
        report.add(
            point.value_spans["name"],
            f"name: a point with for_each needs {{{{ item }}}} in its name, so that each "
            f'expanded point has its own name: write name: "{name}-{{{{ item }}}}"',
        )
        return []
    body = new_map(point.span)
    for key in point:
        if key != "for_each":
            put(body, point, key)
    expanded: list[YamlMap] = []
    seen: dict[str, Span] = {}
    for item, item_span in zip(items, items.item_spans, strict=True):
        if not (_scalar(item) or (isinstance(item, YamlMap) and all(map(_scalar, item.values())))):
            report.add(
                item_span,
                f"for_each: an item is plain text, a number or a mapping of them, got "
                f"{type_name(item)}",
            )
            continue
        problems: list[tuple[Span, str]] = []
        copy = _fill(body, point.span, item, problems)
        for where, message in dict.fromkeys(problems):
            report.add(where, message)
        if problems:
            return []
        expanded_name = point_name(copy)
        if expanded_name is not None:
            if expanded_name in seen:
                first = seen[expanded_name]
                report.add(
                    item_span,
                    f"for_each: this item gives the point name {expanded_name!r} again (as the "
                    f"item at line {first.line}, column {first.column} does)",
                )
                continue
            seen[expanded_name] = item_span
        expanded.append(copy)
    return expanded


def _first_item_only(point: YamlMap) -> YamlMap:
    """``point`` with its ``for_each`` list cut to its first item."""
    items: YamlList = point["for_each"]
    first = new_list(items.span)
    first.append(items[0])
    first.item_spans.append(items.item_spans[0])
    cut = new_map(point.span)
    for key in point:
        put(cut, point, key, first if key == "for_each" else None)
    return cut


def expand(root: YamlMap, report: Reporter) -> YamlMap:
    """``root`` with every ``for_each`` point expanded; problems go to ``report``.

    A datacenter has at most ``MAX_POINTS`` points, loops expanded: a ``for_each`` that would
    take it over is refused at its list, before it is expanded."""
    points = root.get("integration_points")
    if not isinstance(points, YamlList):
        return root
    loops = [p for p in points if isinstance(p, YamlMap) and "for_each" in p]
    if len(points) > MAX_POINTS:
        report.add(
            points.span,
            f"integration_points: {len(points):,} points, over the limit of {MAX_POINTS:,} "
            f"points per datacenter: split the datacenter",
        )
        return root
    if not loops:
        return root
    total = len(points) - len(loops)  # the points written once
    result_points = new_list(points.span)
    for point, span in zip(points, points.item_spans, strict=True):
        if isinstance(point, YamlMap) and "for_each" in point:
            items = point["for_each"]
            if isinstance(items, YamlList) and total + len(items) > MAX_POINTS:
                report.add(
                    point.value_spans["for_each"],
                    f"for_each: {len(items):,} items would make {total + len(items):,} "
                    f"points in this datacenter, over the limit of {MAX_POINTS:,} points per "
                    f"datacenter: split the datacenter, or the list",
                )
                point = _first_item_only(point)  # the body is still checked, once
            copies = _expand(point, report)
            total += len(copies)
            for copy in copies:
                result_points.append(copy)
                result_points.item_spans.append(span)
        else:
            result_points.append(point)
            result_points.item_spans.append(span)
    result = new_map(root.span)
    for key in root:
        put(result, root, key, result_points if key == "integration_points" else None)
    result.duplicates = root.duplicates
    return result
