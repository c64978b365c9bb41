"""The reader: a manifest's YAML, checked value by value, into a ``mdd.model.Manifest``.

Every problem is collected (not only the first), each with the line and column where it was
written. The options inside a point's ``check:`` block are the check type's own ``OPTIONS``,
validated by their ``Option.load`` and the type's ``validate(values)`` rules.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mdd.checks._options import COMMON_OPTIONS, Option, _type_name, duration_text
from mdd.checks.registry import CHECK_TYPES
from mdd.manifest import layers, loops, source, yamlload
from mdd.manifest.graph import strongly_connected
from mdd.manifest.keys import (
    _CHECK_MARGIN,
    _DEFAULT_SENSU,
    _NUMERIC_KINDS,
    _POINT,
    _SENSU,
    _TOP,
    _VAR_NAME,
    _VARS_IN_KEYS,
    SENSU_KEYS,
    TOP_LEVEL_KEYS,
    _did_you_mean,
)
from mdd.manifest.yamlload import Span, YamlList, YamlMap
from mdd.model import IntegrationPoint, Manifest
from mdd.problems import Problem

# --------------------------------------------------------------------------- reading


class _Bad:
    """A value that could not be read; its problems are already reported."""


BAD: Any = _Bad()


@dataclass
class _Point:
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


def _empty_map(span: Span) -> YamlMap:
    mapping = YamlMap()
    mapping.span = span
    mapping.key_spans = {}
    mapping.value_spans = {}
    mapping.duplicates = []
    return mapping


def _has_bad(value: Any) -> bool:
    if value is BAD:
        return True
    if isinstance(value, Mapping):
        return any(_has_bad(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_bad(item) for item in value)
    return False


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


_VALUE_PROBLEMS = 5  # problems reported in one value, then "and N more"
_CANDIDATES = 30  # names compared with one misspelt name
_COMPARISONS = 3000  # fuzzy comparisons per manifest (each about 0.5 ms at worst)
MAX_PROBLEMS = 500  # problems reported per manifest, then "and N more"


def _exact(span: Span) -> bool:
    """Whether columns inside the scalar can be given exactly (see ``Span.column_of``)."""
    return span.single_line and span.style in (None, "'", '"')


def _occurrences(source: str, text: str) -> list[int]:
    """The indexes of ``text`` in ``source``, without overlaps."""
    found: list[int] = []
    index = source.find(text)
    while index >= 0:
        found.append(index)
        index = source.find(text, index + len(text))
    return found


def _key_text(key: Any, span: Span) -> str:
    return key if isinstance(key, str) else span.source


class _Reader:
    def __init__(self, path: Path, expected_datacenter: str | None = None) -> None:
        self.path = path
        self.expected_datacenter = expected_datacenter
        self.file = str(path)
        self.problems: list[Problem] = []
        self.vars: dict[str, str] = {}
        self.bad_vars: set[str] = set()  # defined, but wrong: their uses are not reported again
        self.vars_broken = False  # the vars block is not a mapping: no use is reported
        self.unread_names: set[str] = set()  # points whose name is wrong: not "unknown" targets
        self.comparisons_left = _COMPARISONS
        self.dropped = 0  # problems past MAX_PROBLEMS, counted but not listed

    # ------------------------------------------------------------------ helpers

    def add(self, where: Span | tuple[int, int], message: str, file: str = "") -> None:
        """Report a problem; a ``Span`` knows its file (a base's, with ``extends``)."""
        if isinstance(where, Span):
            line, column, file = where.line, where.column, where.file or file
        else:
            line, column = where
        if len(self.problems) >= MAX_PROBLEMS:
            self.dropped += 1
            return
        self.problems.append(Problem(file or self.file, line, column, message))

    def unknown_keys(
        self,
        mapping: YamlMap,
        known: Sequence[str],
        what: str,
        suffix: str = "",
        elsewhere: Mapping[str, str] | None = None,
    ) -> tuple[bool, set[str]]:
        """Report keys not in ``known``: (none was unknown, the known keys suggested)."""
        clean = True
        suggested: set[str] = set()
        for key in mapping:
            if key in known:
                continue
            clean = False
            span = mapping.key_spans[key]
            text = _key_text(key, span)
            message = f"unknown {what} {text!r}{suffix}"
            if "{{" in text:
                message += f": {_VARS_IN_KEYS}"
            elif elsewhere and text in elsewhere:
                message += f": {elsewhere[text]}"
            elif suggestion := self.suggest(text, known):
                message += f" (did you mean {suggestion!r}?)"
                suggested.add(suggestion)
            else:
                message += f"; known: {', '.join(known)}"
            if not isinstance(key, str):
                message += f" (YAML reads the unquoted key as {_type_name(key)})"
            self.add(span, message)
        return clean, suggested

    def duplicates(self, value: Any, seen: set[int]) -> None:
        """Report every key written twice in one mapping, anywhere in the file."""
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, YamlMap):
            for key, first, again in value.duplicates:
                self.add(
                    again,
                    f"duplicate key {_key_text(key, again)!r}: already written at line "
                    f"{first.line}, column {first.column} (YAML would silently keep only "
                    f"the last one)",
                )
            for item in value.values():
                self.duplicates(item, seen)
        elif isinstance(value, YamlList):
            for item in value:
                self.duplicates(item, seen)

    def substitute(self, text: str, span: Span) -> Any:
        """``text`` with every ``{{ var }}`` replaced, or BAD after reporting why not.

        One pass over the text (linear however many ``{{`` it holds); at most
        ``_VALUE_PROBLEMS`` problems are reported per value, then how many more there are.
        """
        if "{{" not in text:
            return text
        ok = True
        reported = 0
        more = 0
        positions = _occurrences(span.source, "{{") if _exact(span) else []

        def report(occurrence: int, message: str) -> None:
            nonlocal reported, more
            if reported >= _VALUE_PROBLEMS:
                more += 1
                return
            reported += 1
            if occurrence < len(positions):
                self.add((span.line, span.column + positions[occurrence]), message, span.file)
            else:
                self.add(span, message)

        out: list[str] = []
        pos = 0
        occurrence = 0  # the "{{" being read, counted from the start of the value
        while True:
            start = text.find("{{", pos)
            if start < 0:
                out.append(text[pos:])
                break
            out.append(text[pos:start])
            end = text.find("}}", start + 2)
            if end < 0:
                ok = False
                unclosed = text.count("{{", start)
                report(
                    occurrence,
                    "'{{' without a closing '}}': write {{ name }} to use a var"
                    + (f" (and {unclosed - 1} more in this value)" if unclosed > 1 else ""),
                )
                break
            whole = text[start : end + 2]
            inner = whole[2:-2].strip()
            if re.fullmatch(r"item(\.\w+)?", inner) and "item" not in self.vars:
                ok = False  # a for_each point's {{ item }} was replaced by mdd/manifest/loops.py
                report(
                    occurrence,
                    f"{whole} is only defined in a point with for_each: add for_each: [...] to "
                    f"this point, or use a var",
                )
            elif not _VAR_NAME.fullmatch(inner):
                ok = False
                shown = whole if len(whole) <= 80 else whole[:77] + "..."
                report(occurrence, f"only a var name can go between {{{{ and }}}}, got {shown!r}")
            elif inner in self.vars:
                out.append(self.vars[inner])
            else:
                ok = False
                if inner not in self.bad_vars and not self.vars_broken:
                    defined = ", ".join(sorted(self.vars)) or "none"
                    report(
                        occurrence,
                        f"undefined var {inner!r}{self.did_you_mean(inner, self.vars)}; "
                        f"vars defines: {defined}",
                    )
            occurrence += 1 + whole.count("{{", 2, len(whole) - 2)
            pos = end + 2
        if more:
            self.add(span, f"and {more} more problems with {{{{ }}}} in this value")
        return "".join(out) if ok else BAD

    def suggest(self, word: str, known: Sequence[str]) -> str | None:
        """The known key closest to a misspelt ``word``, within the budget, or None."""
        match = difflib.get_close_matches(word, self.candidates(word, known), n=1)
        return match[0] if match else None

    def did_you_mean(self, word: str, choices: Iterable[str]) -> str:
        """``_did_you_mean``, within a budget: hundreds of misspelt names among hundreds of
        points must not cost minutes of fuzzy matching (``candidates``)."""
        return _did_you_mean(word, self.candidates(word, choices))

    def candidates(self, word: str, choices: Iterable[str]) -> list[str]:
        """The few ``choices`` worth comparing with ``word``: an exact match but for case, or
        up to ``_CANDIDATES`` of about its length sharing the longest start and end, while
        the manifest's budget of ``_COMPARISONS`` lasts."""
        listed = list(choices)
        same = [choice for choice in listed if choice.lower() == word.lower()]
        if same:
            return same[:1]
        if len(word) > 100 or self.comparisons_left <= 0:
            return []
        slack = max(3, len(word) // 3)
        near = [choice for choice in listed if abs(len(choice) - len(word)) <= slack]
        if len(near) > _CANDIDATES:

            def shared(choice: str) -> int:
                start = len(os.path.commonprefix([word, choice]))
                end = len(os.path.commonprefix([word[::-1], choice[::-1]]))
                return start + end

            near = sorted(near, key=shared, reverse=True)[:_CANDIDATES]
        self.comparisons_left -= len(near)
        return near

    def resolve(
        self, value: Any, span: Span, *, text: bool, substitute: bool = True, label: str = ""
    ) -> Any:
        """``value`` with vars substituted, after checking every scalar in it.

        A scalar with a problem becomes BAD (inside a list or mapping, that item only).
        ``label`` (such as "port: ") starts the message of a problem found in the value.
        """
        if isinstance(value, YamlMap):
            mapping = _empty_map(value.span)
            mapping.key_spans = value.key_spans
            mapping.value_spans = value.value_spans
            for key, item in value.items():
                if isinstance(key, str) and ":::" in key:  # keys reach the command too
                    self.add(
                        value.key_spans[key],
                        f"{label}':::' is not allowed, in keys either: Sensu Classic replaces "
                        ":::name::: with client attributes in check commands, so the check "
                        "would not get this text as written",
                    )
                    mapping[key] = BAD
                    continue
                mapping[key] = self.resolve(
                    item, value.value_spans[key], text=text, substitute=substitute, label=label
                )
            return mapping
        if isinstance(value, YamlList):
            items = YamlList()
            items.span = value.span
            items.item_spans = value.item_spans
            for item, item_span in zip(value, value.item_spans, strict=True):
                items.append(
                    self.resolve(item, item_span, text=text, substitute=substitute, label=label)
                )
            return items
        if span.trap:
            self.add(span, label + span.trap)
            return BAD
        if (
            text
            and isinstance(value, int | float)
            and not isinstance(value, bool)
            and span.style is None
            and span.source
            and str(value) != span.source
        ):
            self.add(
                span,
                f"{label}YAML reads {span.source} as the number {value!r}, which becomes the text "
                f"'{value}': quote it ('{span.source}') to keep it as written",
            )
            return BAD
        if isinstance(value, str):
            raw = value
            if substitute:
                value = self.substitute(value, span)
                if value is BAD:
                    return BAD
            if ":::" in value:
                if ":::" not in raw and any(":::" in v for v in self.vars.values()):
                    return BAD  # reported where the var is defined
                self.add(
                    span,
                    f"{label}':::' is not allowed: Sensu Classic replaces :::name::: with client "
                    "attributes in check commands, so the check would not get this text as "
                    "written",
                )
                return BAD
        return value

    def option(self, opt: Option, value: Any, span: Span, *, substitute: bool = True) -> Any:
        """The canonical value of ``opt`` for ``value``, or BAD after reporting why not."""
        resolved = self.resolve(
            value,
            span,
            text=opt.kind.name not in _NUMERIC_KINDS,
            substitute=substitute,
            label=f"{opt.name}: ",
        )
        if _has_bad(resolved):
            self.item_problems(opt, resolved)  # the items that could be read may say more
            return BAD
        try:
            return opt.load(resolved)
        except ValueError as exc:
            if not self.item_problems(opt, resolved):
                self.add(span, f"{opt.name}: {exc}")
        return BAD

    def item_problems(self, opt: Option, value: Any) -> bool:
        """Report the items of a list or mapping value that ``opt`` rejects; any found?"""
        found = False
        if opt.multiple and isinstance(value, YamlList):
            for item, item_span in zip(value, value.item_spans, strict=True):
                if _has_bad(item):
                    continue
                try:
                    opt.kind.load(item)
                except ValueError as exc:
                    self.add(item_span, f"{opt.name}: {exc}")
                    found = True
        elif opt.pairs and isinstance(value, YamlMap):
            for key, item in value.items():
                if _has_bad(item):
                    continue
                try:
                    opt.kind.load({key: item})
                except ValueError as exc:
                    hint = f": {_VARS_IN_KEYS}" if "{{" in str(key) else ""
                    self.add(value.key_spans[key], f"{opt.name}: {exc}{hint}")
                    found = True
        return found

    # ------------------------------------------------------------------ the parts

    def read(self) -> Manifest | None:
        try:
            text = source.read_text(self.path)
        except source.SourceError as exc:
            self.add((exc.line, exc.column), exc.message)
            return None
        try:
            root, root_span = yamlload.load(text)
        except yamlload.YamlSyntaxError as exc:
            self.add((exc.line, exc.column), exc.message)
            return None
        self.duplicates(root, set())
        if root is None:
            self.add(
                root_span,
                "the manifest is empty: write at least datacenter and integration_points",
            )
            return None
        if not isinstance(root, YamlMap):
            self.add(
                root_span,
                f"a manifest is a mapping with datacenter and integration_points, got "
                f"{_type_name(root)}",
            )
            return None
        root = layers.resolve(root, self.path, self)  # extends, remove: mdd/manifest/layers.py
        root = loops.expand(root, self)  # for_each: mdd/manifest/loops.py
        return self.manifest(root)

    def manifest(self, root: YamlMap) -> Manifest | None:
        elsewhere = {name: "Sensu settings go under 'sensu:'" for name in _SENSU}
        elsewhere.update(
            {
                name: "this belongs to an integration point, in the integration_points list"
                for name in ("name", "type", "check", "owner", "docs", "depends_on")
            }
        )
        _, suggested = self.unknown_keys(root, list(_TOP), "key", elsewhere=elsewhere)
        for opt in TOP_LEVEL_KEYS:
            if opt.required and opt.name not in root and opt.name not in suggested:
                self.add(root.span, f"missing required key {opt.name!r}")

        datacenter: str | None = None
        if "datacenter" in root:
            loaded = self.option(
                _TOP["datacenter"],
                root["datacenter"],
                root.value_spans["datacenter"],
                substitute=False,
            )
            datacenter = None if loaded is BAD else loaded
            expected = self.expected_datacenter
            if datacenter is not None and expected is not None and datacenter != expected:
                self.add(
                    root.value_spans["datacenter"],
                    f"this manifest is for datacenter {datacenter!r}, but it was asked for as "
                    f"{expected!r}: a copied manifest would give {expected} the Sensu names "
                    f"of {datacenter} (mdd_{datacenter}_*); set datacenter: {expected}",
                )

        if "vars" in root:
            self.read_vars(root["vars"], root.value_spans["vars"])

        description: str | None = None
        if "description" in root:
            loaded = self.option(
                _TOP["description"], root["description"], root.value_spans["description"]
            )
            description = None if loaded is BAD else loaded

        defaults: dict[str, tuple[Any, Span]] = {}
        if "sensu" in root:
            defaults = self.sensu_block(root["sensu"], root.value_spans["sensu"])

        points: list[_Point] = []
        if "integration_points" in root:
            value, span = root["integration_points"], root.value_spans["integration_points"]
            if not isinstance(value, YamlList):
                self.add(
                    span,
                    f"integration_points: expected a list of integration points, got "
                    f"{_type_name(value)}",
                )
            elif not value:
                self.add(
                    span,
                    "integration_points is empty: there is nothing to check; list at least "
                    "one integration point",
                )
            else:
                for item, item_span in zip(value, value.item_spans, strict=True):
                    point = self.point(item, item_span)
                    if point is not None:
                        points.append(point)

        self.names_and_dependencies(points)
        built = [self.build(point, defaults) for point in points]

        if self.problems or datacenter is None:
            return None
        return Manifest(
            path=self.path,
            datacenter=datacenter,
            description=description,
            points=tuple(p for p in built if p is not None),
        )

    def read_vars(self, value: Any, span: Span) -> None:
        if value is None:
            return
        if not isinstance(value, YamlMap):
            self.add(
                span,
                f"vars: expected a mapping of names to values, got {_type_name(value)}",
            )
            self.vars_broken = True
            return
        for key, item in value.items():
            key_span, item_span = value.key_spans[key], value.value_spans[key]
            if not isinstance(key, str) or not _VAR_NAME.fullmatch(key):
                self.add(
                    key_span,
                    f"{_key_text(key, key_span)!r} cannot name a var: use letters, digits and "
                    f"'_', not starting with a digit",
                )
                continue
            resolved = (
                item
                if isinstance(item, YamlMap | YamlList)
                else self.resolve(
                    item, item_span, text=True, substitute=False, label=f"var {key!r}: "
                )
            )
            if resolved is BAD:
                self.bad_vars.add(key)
            elif isinstance(resolved, str | int | float) and not isinstance(resolved, bool):
                if "{{" in str(resolved) or "}}" in str(resolved):
                    self.bad_vars.add(key)
                    self.add(
                        item_span,
                        f"var {key!r} uses {{{{ }}}}: a var cannot use other vars; write its "
                        f"value out",
                    )
                else:
                    self.vars[key] = str(resolved)
            else:
                self.bad_vars.add(key)
                hint = (
                    ": YAML reads unquoted yes/no/on/off/true/false as booleans, so quote it"
                    if isinstance(resolved, bool)
                    else ""
                )
                self.add(
                    item_span,
                    f"var {key!r} must be plain text or a number, got {_type_name(resolved)}{hint}",
                )

    def sensu_block(self, value: Any, span: Span) -> dict[str, tuple[Any, Span]]:
        """The Sensu settings given in one ``sensu:`` block, each with where it was written.

        A setting that could not be read is BAD, so no rule across settings uses a default
        in its place.
        """
        if value is None:
            return {}
        if not isinstance(value, YamlMap):
            self.add(span, f"sensu: expected a mapping of Sensu settings, got {_type_name(value)}")
            return {name: (BAD, span) for name in _SENSU}
        self.unknown_keys(value, list(_SENSU), "sensu key")
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

    def point(self, value: Any, span: Span) -> _Point | None:
        if not isinstance(value, YamlMap):
            self.add(
                span,
                f"each integration point is a mapping with name, type and check, got "
                f"{_type_name(value)}",
            )
            return None
        point = _Point(span=value.span)

        declared_type = value.get("type")
        elsewhere = {name: "Sensu settings go under the point's 'sensu:'" for name in _SENSU}
        if isinstance(declared_type, str) and declared_type in CHECK_TYPES:
            for opt in CHECK_TYPES[declared_type].OPTIONS:
                elsewhere[opt.name] = f"the options of a {declared_type} check go under 'check:'"
        clean, suggested = self.unknown_keys(
            value, list(_POINT), "integration point key", elsewhere=elsewhere
        )
        if not clean:
            point.ok = False

        for key in ("name", "type", "owner", "description", "docs"):
            if key in value:
                loaded = self.option(_POINT[key], value[key], value.value_spans[key])
                if loaded is BAD:
                    point.ok = False
                else:
                    setattr(point, key, loaded)
        if point.name is not None:
            point.name_span = value.value_spans["name"]
        elif isinstance(value.get("name"), str):
            self.unread_names.add(value["name"])
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
            loaded = self.option(_POINT["depends_on"], deps, deps_span)
            if loaded is BAD:
                point.ok = False
            else:
                spans = deps.item_spans if isinstance(deps, YamlList) else [deps_span]
                point.depends_on = list(zip(loaded, spans, strict=True))
        return point

    def check_block(
        self, check_type: str, value: Any, span: Span, key_span: Span, point: _Point
    ) -> dict[str, Any] | None:
        """The canonical options of a point's check, or None after reporting why not."""
        module = CHECK_TYPES[check_type]
        if value is None:
            value = _empty_map(key_span)
        if not isinstance(value, YamlMap):
            self.add(
                span,
                f"check: expected a mapping of the {check_type} check's options, got "
                f"{_type_name(value)}",
            )
            return None
        point.check_span = value.span
        options = {opt.name: opt for opt in module.OPTIONS}
        elsewhere = {
            name: "Sensu settings go in the point's 'sensu:' block"
            for name in _SENSU
            if name not in options
        }
        elsewhere.update(
            {
                name: "this belongs to the integration point, one level up"
                for name in _POINT
                if name not in options
            }
        )
        elsewhere.update(
            {opt.name: "mdd sets it itself, from the integration point" for opt in COMMON_OPTIONS}
        )
        ok, suggested = self.unknown_keys(
            value,
            list(options),
            "option",
            f" for check type {check_type!r}",
            elsewhere=elsewhere,
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

    def names_and_dependencies(self, points: list[_Point]) -> None:
        first: dict[str, Span] = {}
        for point in points:
            if point.name is None or point.name_span is None:
                continue
            if point.name in first:
                where = first[point.name]
                self.add(
                    point.name_span,
                    f"duplicate integration point name {point.name!r}: the first is at line "
                    f"{where.line}, column {where.column} (Sensu would keep only one of the "
                    f"two checks)",
                )
                point.ok = False
            else:
                first[point.name] = point.name_span

        graph: dict[str, list[tuple[str, Span]]] = {}
        for point in points:
            if point.name is None:
                continue
            edges: list[tuple[str, Span]] = []
            for target, span in point.depends_on:
                if target == point.name:
                    self.add(span, f"depends_on: {point.name!r} depends on itself")
                    point.ok = False
                elif target not in first and target not in self.unread_names:
                    self.add(
                        span,
                        f"depends_on: no integration point is named {target!r}"
                        f"{self.did_you_mean(target, first)}",
                    )
                    point.ok = False
                elif target in first:
                    edges.append((target, span))
            graph.setdefault(point.name, edges)  # a duplicate name is reported above
        self.cycles(graph)

    def cycles(self, graph: dict[str, list[tuple[str, Span]]]) -> None:
        """Report each group of points that depend on each other in a circle, once."""
        groups = strongly_connected(graph)
        done: set[str] = set()
        for start in graph:  # file order: each cycle is reported at its first point
            group = groups[start]
            if start in done or len(group) < 2:  # a point naming itself is reported apart
                continue
            done |= group
            # The shortest way around, from start back to start, within the group.
            paths: dict[str, list[tuple[str, Span]]] = {start: []}
            queue = [start]
            cycle: list[tuple[str, Span]] = []
            while queue and not cycle:
                node = queue.pop(0)
                for target, span in graph[node]:
                    if target == start:
                        cycle = [*paths[node], (target, span)]
                        break
                    if target in group and target not in paths:
                        paths[target] = [*paths[node], (target, span)]
                        queue.append(target)
            names = " -> ".join([start, *(name for name, _ in cycle)])
            self.add(
                cycle[0][1],
                f"depends_on: dependency cycle {names}: no point in it could ever be "
                f"delivered first",
            )

    def build(
        self, point: _Point, defaults: dict[str, tuple[Any, Span]]
    ) -> IntegrationPoint | None:
        """The point with its Sensu settings, after the rules across settings and check."""
        effective = {**defaults, **point.sensu}
        # A point's own interval or cron overrides the other one given at the top level.
        if "interval" in point.sensu and "cron" not in point.sensu:
            effective.pop("cron", None)
        unread = {name for name, (value, _) in effective.items() if value is BAD}
        if unread:
            point.ok = False
        settings = replace(
            _DEFAULT_SENSU, **{k: v for k, (v, _) in effective.items() if k not in unread}
        )

        if (
            settings.ttl is not None
            and settings.cron is None
            and "cron" not in unread
            and settings.ttl <= settings.interval
            and not {"ttl", "interval"} & unread
        ):
            at = point.sensu.get("ttl", point.sensu.get("interval", defaults.get("ttl")))
            default = "" if "interval" in effective else ", the default"
            if at is not None:
                self.add(
                    at[1],
                    f"ttl ({settings.ttl}s) must be longer than the interval "
                    f"({settings.interval}s{default}): Sensu would call the check stale "
                    f"between two ordinary runs",
                )
            point.ok = False

        if (
            point.check_values is not None
            and point.type is not None
            and settings.timeout is not None
            and "timeout" not in unread
        ):
            options = {opt.name: opt for opt in CHECK_TYPES[point.type].OPTIONS}
            check_timeout = (
                point.check_values.get("timeout", options["timeout"].default)
                if ("timeout" in options)
                else None
            )
            if (
                isinstance(check_timeout, int | float)
                and check_timeout + _CHECK_MARGIN > settings.timeout
            ):
                sensu_at = point.sensu.get("timeout")
                if point.check_timeout_span is not None:
                    where = point.check_timeout_span
                    what = f"the check's timeout ({duration_text(check_timeout)})"
                else:
                    fallback = defaults.get("timeout")
                    where = (
                        sensu_at[1]
                        if sensu_at
                        else fallback[1]
                        if fallback
                        else point.check_span or point.span
                    )
                    what = (
                        f"check type {point.type!r} times out after "
                        f"{duration_text(check_timeout)} by default, which"
                    )
                self.add(
                    where,
                    f"{what} must be at least {_CHECK_MARGIN:g}s shorter than the Sensu "
                    f"timeout ({settings.timeout}s): Sensu would kill the check before it can "
                    f"report why it failed",
                )
                point.ok = False

        if not point.ok or point.name is None or point.type is None or point.options is None:
            return None
        return IntegrationPoint(
            name=point.name,
            type=point.type,
            options=point.options,
            owner=point.owner,
            description=point.description,
            docs=point.docs,
            depends_on=tuple(name for name, _ in point.depends_on),
            sensu=settings,
            line=point.span.line,
        )
