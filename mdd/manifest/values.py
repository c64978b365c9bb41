"""Reading one value: vars substituted, every scalar checked, loaded by its ``Option``.

``ValueReader`` collects every problem (not only the first), each with the file, line and
column where it was written, up to ``MAX_PROBLEMS``; a value that could not be read becomes
``BAD``, so that no later rule judges it by a default. It also reads the ``vars:`` block the
values use, and keeps the budget of fuzzy "did you mean" comparisons. The stages that read a
point (``points``) and the whole manifest (``reader``) build on it.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mdd.checks.api import Option, type_name
from mdd.core.problems import Problem
from mdd.manifest.keys import NUMERIC_KINDS, VAR_NAME, VARS_IN_KEYS, did_you_mean
from mdd.manifest.yamlload import Span, YamlList, YamlMap, new_map


class _Bad:
    """A value that could not be read; its problems are already reported."""


BAD: Any = _Bad()


def _has_bad(value: Any) -> bool:
    if value is BAD:
        return True
    if isinstance(value, Mapping):
        return any(_has_bad(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_bad(item) for item in value)
    return False


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


@dataclass
class _ValueReport:
    """Where the problems with ``{{ }}`` in one value go: each at its ``{{`` when the value
    was written as read, at most ``_VALUE_PROBLEMS``, then a count of the ``more``."""

    reader: ValueReader
    span: Span
    positions: list[int]
    reported: int = 0
    more: int = 0

    def __call__(self, occurrence: int, message: str) -> None:
        if self.reported >= _VALUE_PROBLEMS:
            self.more += 1
            return
        self.reported += 1
        span = self.span
        if occurrence < len(self.positions):
            self.reader.add(
                (span.line, span.column + self.positions[occurrence]), message, span.file
            )
        else:
            self.reader.add(span, message)


class ValueReader:
    """The problems found so far, the vars, and the reading of one value."""

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
                message += f": {VARS_IN_KEYS}"
            elif elsewhere and text in elsewhere:
                message += f": {elsewhere[text]}"
            elif suggestion := self.suggest(text, known):
                message += f" (did you mean {suggestion!r}?)"
                suggested.add(suggestion)
            else:
                message += f"; known: {', '.join(known)}"
            if not isinstance(key, str):
                message += f" (YAML reads the unquoted key as {type_name(key)})"
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
        report = _ValueReport(self, span, _occurrences(span.source, "{{") if _exact(span) else [])
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
            replacement = self._replacement(whole, functools.partial(report, occurrence))
            if replacement is None:
                ok = False
            else:
                out.append(replacement)
            occurrence += 1 + whole.count("{{", 2, len(whole) - 2)
            pos = end + 2
        if report.more:
            self.add(span, f"and {report.more} more problems with {{{{ }}}} in this value")
        return "".join(out) if ok else BAD

    def _replacement(self, whole: str, report: Callable[[str], None]) -> str | None:
        """The text of one ``{{ var }}``, or None after reporting why not (through ``report``,
        unless the var's own definition was already reported)."""
        inner = whole[2:-2].strip()
        if re.fullmatch(r"item(\.\w+)?", inner) and "item" not in self.vars:
            # a for_each point's {{ item }} was replaced by mdd/manifest/loops.py
            report(
                f"{whole} is only defined in a point with for_each: add for_each: [...] to "
                f"this point, or use a var",
            )
            return None
        if not VAR_NAME.fullmatch(inner):
            shown = whole if len(whole) <= 80 else whole[:77] + "..."
            report(f"only a var name can go between {{{{ and }}}}, got {shown!r}")
            return None
        if inner in self.vars:
            return self.vars[inner]
        if inner not in self.bad_vars and not self.vars_broken:
            defined = ", ".join(sorted(self.vars)) or "none"
            report(
                f"undefined var {inner!r}{self.did_you_mean(inner, self.vars)}; "
                f"vars defines: {defined}",
            )
        return None

    def suggest(self, word: str, known: Sequence[str]) -> str | None:
        """The known key closest to a misspelt ``word``, within the budget, or None."""
        match = difflib.get_close_matches(word, self.candidates(word, known), n=1)
        return match[0] if match else None

    def did_you_mean(self, word: str, choices: Iterable[str]) -> str:
        """``did_you_mean``, within a budget: hundreds of misspelt names among hundreds of
        points must not cost minutes of fuzzy matching (``candidates``)."""
        return did_you_mean(word, self.candidates(word, choices))

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
            mapping = new_map(value.span)
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
        return self._resolve_scalar(value, span, text=text, substitute=substitute, label=label)

    def _resolve_scalar(
        self, value: Any, span: Span, *, text: bool, substitute: bool, label: str
    ) -> Any:
        """``resolve`` for one scalar."""
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
            text=opt.kind.name not in NUMERIC_KINDS,
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
                    hint = f": {VARS_IN_KEYS}" if "{{" in str(key) else ""
                    self.add(value.key_spans[key], f"{opt.name}: {exc}{hint}")
                    found = True
        return found

    def read_vars(self, value: Any, span: Span) -> None:
        if value is None:
            return
        if not isinstance(value, YamlMap):
            self.add(
                span,
                f"vars: expected a mapping of names to values, got {type_name(value)}",
            )
            self.vars_broken = True
            return
        for key, item in value.items():
            key_span, item_span = value.key_spans[key], value.value_spans[key]
            if not isinstance(key, str) or not VAR_NAME.fullmatch(key):
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
                    f"var {key!r} must be plain text or a number, got {type_name(resolved)}{hint}",
                )
