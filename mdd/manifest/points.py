"""Reading one integration point: its own keys, its ``check:`` block, its ``sensu:`` block.

The options inside ``check:`` are the check type's own ``OPTIONS``, validated by their
``Option.load`` and the type's ``validate(values)`` rules. What the rules across points and
the top-level defaults need (names, dependencies, spans, the values read) is kept in a
``Point`` for the manifest stage (``reader``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

from mdd.checks.api import COMMON_OPTIONS, type_name
from mdd.checks.registry import CHECK_TYPES
from mdd.manifest.keys import POINT, SENSU, SENSU_KEYS
from mdd.manifest.values import BAD, ValueReader
from mdd.manifest.yamlload import Span, YamlList, YamlMap, new_map


@dataclass
class Point:
    span: Span
    name: str | None = None
    name_span: Span | None = None
    type: str | None = None
    options: dict[str, Any] | None = None
    owner: str | None = None
    description: str | None = None
    docs: str | None = None
    depends_on: list[tuple[str, Span]] = field(default_factory=list)
    sensu: dict[str, tuple[Any, Span]] = field(default_factory=dict)
    check_span: Span | None = None
    check_timeout_span: Span | None = None
    check_values: dict[str, Any] | None = None  # what could be read of check:, BAD if wrong
    ok: bool = True


_POINT_KEYS = list(POINT)


@cache
def _point_elsewhere(declared_type: str | None) -> dict[str, str]:
    """Where a misplaced key of a point of ``declared_type`` belongs (once per type)."""
    elsewhere = {name: "Sensu settings go under the point's 'sensu:'" for name in SENSU}
    if declared_type is not None and declared_type in CHECK_TYPES:
        for opt in CHECK_TYPES[declared_type].OPTIONS:
            elsewhere[opt.name] = f"the options of a {declared_type} check go under 'check:'"
    return elsewhere


class _CheckKeys(NamedTuple):
    options: dict[str, Any]  # the check type's options by name
    elsewhere: dict[str, str]  # where a key that is not one of them belongs


@cache
def _check_keys(check_type: str) -> _CheckKeys:
    """A check type's options by name, and where a misplaced key of its ``check:`` block
    belongs (once per type)."""
    options = {opt.name: opt for opt in CHECK_TYPES[check_type].OPTIONS}
    elsewhere = {
        name: "Sensu settings go in the point's 'sensu:' block"
        for name in SENSU
        if name not in options
    }
    elsewhere.update(
        {
            name: "this belongs to the integration point, one level up"
            for name in POINT
            if name not in options
        }
    )
    elsewhere.update(
        {opt.name: "mdd sets it itself, from the integration point" for opt in COMMON_OPTIONS}
    )
    return _CheckKeys(options, elsewhere)


def _rules_on_read_values(
    validate: Callable[[dict[str, object]], list[tuple[str, str]]],
    loaded: dict[str, Any],
    unread: set[str],
) -> list[tuple[str, str]]:
    """The problems ``validate`` finds in ``loaded`` that do not depend on an ``unread`` option.

    Without the unread options, a rule would judge them by their defaults (a timeout written
    wrong is not the default 10s); so a problem counts only if ``validate`` also finds it
    when each unread option holds BAD, a value of no option's kind, which no rule can use.
    """
    rules = validate(dict(loaded))
    if not unread or not rules:
        return rules
    try:
        with_bad = validate({**loaded, **dict.fromkeys(unread, BAD)})
    except Exception:  # a rule that cannot take BAD: keep none of the doubtful problems
        return []
    return [rule for rule in rules if rule in with_bad]


class PointReader(ValueReader):
    """``ValueReader`` with the reading of one point and of a ``sensu:`` block."""

    def sensu_block(self, value: Any, span: Span) -> dict[str, tuple[Any, Span]]:
        """The Sensu settings given in one ``sensu:`` block, each with where it was written.

        A setting that could not be read is BAD, so no rule across settings uses a default
        in its place.
        """
        if value is None:
            return {}
        if not isinstance(value, YamlMap):
            self.add(span, f"sensu: expected a mapping of Sensu settings, got {type_name(value)}")
            return {name: (BAD, span) for name in SENSU}
        self.unknown_keys(value, list(SENSU), "sensu key")
        settings: dict[str, tuple[Any, Span]] = {}
        for opt in SENSU_KEYS:
            if opt.name not in value:
                continue
            item, item_span = value[opt.name], value.value_spans[opt.name]
            if opt.multiple and isinstance(item, list) and not item:
                settings[opt.name] = ((), item_span)
                continue
            loaded = self.option(opt, item, item_span)
            if loaded is not BAD and opt.multiple:
                loaded = tuple(loaded)
            settings[opt.name] = (loaded, item_span)
        if "interval" in settings and "cron" in settings:
            self.add(
                settings["cron"][1],
                "cron and interval: a check runs either every interval or on a cron "
                "schedule; keep one of the two (Sensu Go refuses a check with both)",
            )
            settings["cron"] = (BAD, settings["cron"][1])
        return settings

    def point(self, value: Any, span: Span) -> Point | None:
        if not isinstance(value, YamlMap):
            self.add(
                span,
                f"each integration point is a mapping with name, type and check, got "
                f"{type_name(value)}",
            )
            return None
        point = Point(span=value.span)
        suggested = self._point_keys(value, point)
        self._missing_keys(value, point, suggested)
        if "check" in value:
            check, check_span = value["check"], value.value_spans["check"]
            if point.type is not None:
                point.options = self.check_block(
                    point.type, check, check_span, value.key_spans["check"], point
                )
            elif check is not None:
                self.resolve(check, check_span, text=False)  # still report its var mistakes
            if point.options is None:
                point.ok = False

        if "sensu" in value:
            point.sensu = self.sensu_block(value["sensu"], value.value_spans["sensu"])

        if "depends_on" in value:
            deps, deps_span = value["depends_on"], value.value_spans["depends_on"]
            loaded = self.option(POINT["depends_on"], deps, deps_span)
            if loaded is BAD:
                point.ok = False
            else:
                spans = deps.item_spans if isinstance(deps, YamlList) else [deps_span]
                point.depends_on = list(zip(loaded, spans, strict=True))
        return point

    def _point_keys(self, value: YamlMap, point: Point) -> set[str]:
        """Report the point's unknown keys and read its plain ones (name, type, owner,
        description, docs) into ``point``; the keys a misspelling was taken for."""
        declared_type = value.get("type")
        elsewhere = _point_elsewhere(declared_type if isinstance(declared_type, str) else None)
        clean, suggested = self.unknown_keys(
            value, _POINT_KEYS, "integration point key", elsewhere=elsewhere
        )
        if not clean:
            point.ok = False

        for key in ("name", "type", "owner", "description", "docs"):
            if key in value:
                loaded = self.option(POINT[key], value[key], value.value_spans[key])
                if loaded is BAD:
                    point.ok = False
                else:
                    setattr(point, key, loaded)
        if point.name is not None:
            point.name_span = value.value_spans["name"]
        elif isinstance(value.get("name"), str):
            self.unread_names.add(value["name"])
        return suggested

    def _missing_keys(self, value: YamlMap, point: Point, suggested: set[str]) -> None:
        """Report which of name, type and check the point lacks (not those a misspelling
        was taken for)."""
        label = f"{point.name!r} " if point.name else ""
        missing = [k for k in ("name", "type", "check") if k not in value and k not in suggested]
        if len(missing) > 1:
            self.add(
                value.span,
                f"integration point {label}has no {', '.join(map(repr, missing[:-1]))} or "
                f"{missing[-1]!r}: every "
                f"point needs a name, a check type and the check's options",
            )
        elif missing == ["name"]:
            self.add(value.span, "integration point has no 'name': every point needs a unique name")
        elif missing == ["type"]:
            self.add(
                value.span,
                f"integration point {label}has no 'type': one of {', '.join(sorted(CHECK_TYPES))}",
            )
        elif missing == ["check"]:
            self.add(
                value.span,
                f"integration point {label}has no 'check': the options of its {point.type} "
                f"check go there (`mdd checks show {point.type}` lists them)",
            )
        if not {"name", "type", "check"} <= value.keys():
            point.ok = False

    def check_block(
        self, check_type: str, value: Any, span: Span, key_span: Span, point: Point
    ) -> dict[str, Any] | None:
        """The canonical options of a point's check, or None after reporting why not."""
        module = CHECK_TYPES[check_type]
        if value is None:
            value = new_map(key_span)
        if not isinstance(value, YamlMap):
            self.add(
                span,
                f"check: expected a mapping of the {check_type} check's options, got "
                f"{type_name(value)}",
            )
            return None
        point.check_span = value.span
        keys = _check_keys(check_type)
        options = keys.options
        ok, suggested = self.unknown_keys(
            value,
            list(options),
            "option",
            f" for check type {check_type!r}",
            elsewhere=keys.elsewhere,
        )
        loaded: dict[str, Any] = {}
        unread: set[str] = set()
        for name, item in value.items():
            if name in options:
                result = self.option(options[name], item, value.value_spans[name])
                if result is BAD:
                    ok = False
                    unread.add(name)
                else:
                    loaded[name] = result
        for opt in module.OPTIONS:
            if opt.required and opt.name not in value:
                if opt.name not in suggested:
                    self.add(value.span, f"check type {check_type!r} needs {opt.name!r}")
                ok = False
        # The rules across options run even when some option is wrong, so one run of
        # `mdd validate` reports everything; but only the rules whose inputs could be read.
        rules = _rules_on_read_values(module.validate, loaded, unread)
        for name, message in rules:
            self.add(value.key_spans.get(name, value.span), message)
        if "timeout" in value:
            point.check_timeout_span = value.value_spans["timeout"]
        point.check_values = {**loaded, **dict.fromkeys(unread, BAD)}
        if not ok or rules:
            return None
        return loaded
