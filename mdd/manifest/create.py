"""`mdd init NEW --from OLD`: a new datacenter's manifest, derived from an existing one.

The new manifest is OLD's text, comments included, with the datacenter's name, its
description, its bases' paths (relative to the new file's folder) and the vars given with
`--set name=value` changed: its integration points are copied as written (vars unreplaced,
so `{{ domain }}` becomes the new datacenter's domain). `--set` names a var OLD has (its own
or its bases'); any other name is refused, with the closest one. Every copied value that
still names OLD (a wiki URL, a queue `ams1-deployments`) gets a comment line above it saying
so, and the header says how many. It is validated before anything is written, written
atomically, and never over an existing file.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mdd.core.files import is_inside
from mdd.core.output import write_atomically
from mdd.core.problems import Problem
from mdd.manifest import ManifestError, load, yamlload
from mdd.manifest import source as manifest_source
from mdd.manifest.keys import VAR_NAME
from mdd.manifest.layers import plain
from mdd.manifest.render import dump_yaml


class InitError(Exception):
    """The new manifest cannot be made; the message says why. Nothing was written."""


@dataclass
class Derived:
    path: Path
    text: str
    kept_vars: dict[str, str] = field(default_factory=dict)  # vars still OLD's values
    copied: list[tuple[int, str]] = field(default_factory=list)  # (line, value) naming OLD


def parse_sets(pairs: tuple[str, ...]) -> dict[str, str]:
    """``name=value`` pairs of ``--set``."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not VAR_NAME.fullmatch(name):
            raise InitError(
                f"--set {pair!r}: write --set NAME=VALUE, NAME being a var name (letters, "
                f"digits and '_')"
            )
        values[name] = value
    return values


def _read_own(path: Path) -> tuple[str, Any, dict[str, Any]]:
    """The manifest's text (capped, a regular file, as ``load`` read it), its tree with
    the places of its values, and what it says itself (its bases not merged in)."""
    try:
        text = manifest_source.read_text(path)
        tree, _ = yamlload.load(text)
    except manifest_source.SourceError as exc:
        raise InitError(f"cannot read {path}: {exc.message}") from None
    except yamlload.YamlSyntaxError as exc:
        raise InitError(f"cannot read {path}: {exc}") from None
    if not isinstance(tree, dict):
        raise InitError(f"{path} is not a manifest (a mapping)")
    own: dict[str, Any] = plain(tree)
    return text, tree, own


def _known_vars(source: Path) -> dict[str, str]:
    from mdd.manifest.diff import datacenter_vars

    return datacenter_vars(source)


def _is_text(value: str) -> bool:
    """Whether ``value`` is text: a shell hands bytes that are not UTF-8 over as lone
    surrogates, which no manifest can hold."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_sets(sets: Mapping[str, str], known: Mapping[str, str], source: str) -> None:
    import difflib

    for name, value in sets.items():
        if not _is_text(value):
            raise InitError(f"--set {name}=...: the value is not UTF-8 text; a manifest is UTF-8")
        if name in known:
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        names = ", ".join(sorted(known)) or "none"
        raise InitError(f"--set {name}=...: {source} has no var {name!r} ({hint}its vars: {names})")


def _scalar(value: str) -> str:
    """``value`` as a YAML scalar: plain when YAML reads it back as the same string."""
    import json

    import yaml

    if value and value == value.strip() and "#" not in value and ": " not in value:
        try:
            if yaml.safe_load(value) == value and "\n" not in value:
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value, ensure_ascii=False)


def _names_old(value: str, old: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(old)}(?![A-Za-z0-9])", value) is not None


def _strings(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) of a string value under ``node`` (YamlMap/YamlList spans)."""
    found: list[tuple[Any, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                found.append((node, key))
            else:
                found += _strings(value)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, str):
                found.append((node, index))
            else:
                found += _strings(value)
    return found


def _span_of(container: Any, key: Any) -> Any:
    spans = getattr(container, "value_spans", None)
    if spans is not None:
        return spans.get(key)
    items = getattr(container, "item_spans", None)
    return items[key] if items is not None and key < len(items) else None


def derive(
    source: Path,
    name: str,
    target: Path,
    sets: Mapping[str, str],
    description: str | None = None,
) -> Derived:
    """The text of datacenter ``name``'s manifest, to be written at ``target``."""
    if source.suffix not in (".yaml", ".yml"):
        # Never read (and quote in errors) a file that is not a manifest: /etc/passwd
        raise InitError(
            f"--from {source} is not a manifest: a manifest's file name ends in .yaml or "
            f".yml (nothing read)"
        )
    if not is_inside(source, target.parent):
        raise InitError(
            f"--from {source} is outside the folder of the new manifest "
            f"({os.path.abspath(target.parent)}): a manifest is derived from one in its own "
            f"folder or below it, as its bases are (nothing read)"
        )
    old = load(source)  # the source must be valid itself: ManifestError otherwise
    if description is not None and not _is_text(description):
        raise InitError("--description: not UTF-8 text; a manifest is UTF-8")
    _check_sets(sets, _known_vars(source), old.datacenter)
    text, tree, own = _read_own(source)
    if own.get("extends") is None and not own.get("integration_points"):
        raise InitError(f"{source} has no integration points of its own and no bases")
    derived = _derive_text(text, tree, old.datacenter, source, name, target, sets, description)
    if derived is None:  # written in a form lines cannot be edited in: written anew
        derived = _derive_by_dump(own, old.datacenter, source, name, target, sets, description)
    return derived


class _Edits:
    """Changes to a manifest's lines, made at the end in one pass: values replaced where
    they are written, lines inserted after others, comments put above others."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.replace: dict[int, list[tuple[int, int, str]]] = {}  # line -> (column, end, new)
        self.inserts: dict[int, list[str]] = {}  # after line N (0: at the top), these lines
        self.flagged: dict[int, list[str]] = {}  # above line N, these comments

    def change(self, span: Any, new: str) -> bool:
        """Replace the value written at ``span`` with ``new``; False when it cannot be
        edited in place (not on one line, or not a plain or quoted scalar)."""
        if span is None or not span.single_line or span.style not in (None, "'", '"'):
            return False
        end = span.column + len(span.source)
        self.replace.setdefault(span.line, []).append((span.column, end, new))
        return True

    def insert(self, after: int, lines: list[str]) -> None:
        self.inserts.setdefault(after, []).extend(lines)

    def text(self, header: str) -> str:
        """The lines with every change made, under ``header`` (below a modeline)."""
        lines = list(self.lines)
        out: list[str] = []
        if lines and lines[0].startswith("# yaml-language-server:"):  # must stay the first line
            out.append(lines[0])
            lines[0] = ""
        out.append(header)
        out.extend(self.inserts.get(0, []))
        for number, line in enumerate(lines, 1):
            if number == 1 and len(out) == 2:  # the modeline, moved above the header
                out.extend(self.inserts.get(number, []))
                continue
            out.extend(self.flagged.get(number, []))
            for column, end, new in sorted(self.replace.get(number, []), reverse=True):
                line = line[: column - 1] + new + line[end - 1 :]
            out.append(line)
            out.extend(self.inserts.get(number, []))
        return "\n".join(out) + "\n"


def _derive_text(
    text: str,
    tree: Any,
    old: str,
    source: Path,
    name: str,
    target: Path,
    sets: Mapping[str, str],
    description: str | None,
) -> Derived | None:
    """``source``'s own text with the changes made line by line, comments kept; None when
    the document is not in block style (a JSON manifest, say)."""
    keys = getattr(tree, "key_spans", {})
    values = getattr(tree, "value_spans", {})
    if not keys or any(span.column != 1 for span in keys.values()):
        return None
    edits = _Edits(text.splitlines())
    if not edits.change(values.get("datacenter"), _scalar(name)):
        return None
    new_description = description or f"{name}: derived from {old}; describe it"
    if "description" in tree:
        if not edits.change(values.get("description"), _scalar(new_description)):
            return None
    else:
        edits.insert(values["datacenter"].line, [f"description: {_scalar(new_description)}"])
    if not _move_extends(edits, tree, source, target):
        return None
    own_vars: Any = tree.get("vars") or {}
    if own_vars and not hasattr(own_vars, "value_spans"):
        return None
    if not _set_vars(edits, tree, own_vars, sets):
        return None
    kept = {k: str(v) for k, v in own_vars.items() if k not in sets}
    copied = _flag_copied(edits, tree, old)
    header = (
        f"# {name}: derived from {old} ({source.name}) by `mdd init`: its comments are "
        f"{old}'s.\n"
        f"# {len(copied)} copied value(s) still name {old} (marked 'mdd init: copied'); "
        f"vars kept from {old}: {', '.join(sorted(kept)) or 'none'}. Review them."
    )
    return Derived(target, edits.text(header), kept, copied)


def _move_extends(edits: _Edits, tree: Any, source: Path, target: Path) -> bool:
    """The paths of ``extends`` made relative to the new manifest's folder; False when one
    cannot be edited in place."""
    extends = tree.get("extends")
    if extends is None:
        return True
    values = tree.value_spans
    folder = os.path.abspath(target.parent)
    bases = extends if isinstance(extends, list) else [extends]
    spans = (
        getattr(extends, "item_spans", [None] * len(extends))
        if isinstance(extends, list)
        else [values.get("extends")]
    )
    for base, span in zip(bases, spans, strict=True):
        moved = os.path.relpath(os.path.abspath(os.path.join(source.parent, base)), folder)
        if moved != base and not edits.change(span, _scalar(moved)):
            return False
    return True


def _set_vars(edits: _Edits, tree: Any, own_vars: Any, sets: Mapping[str, str]) -> bool:
    """``--set`` vars changed where written, the new ones added; False when ``vars`` cannot
    be edited in place."""
    keys, values = tree.key_spans, tree.value_spans
    added = {k: v for k, v in sets.items() if k not in own_vars}
    for key, value in sets.items():
        if key in own_vars and not edits.change(own_vars.value_spans.get(key), _scalar(value)):
            return False
    if added:
        new_lines = [f"  {k}: {_scalar(v)}" for k, v in added.items()]
        if "vars" in tree:
            if values["vars"].line == keys["vars"].line:  # vars: {a: b} on one line
                return False
            edits.insert(keys["vars"].line, new_lines)
        else:
            edits.insert(values["datacenter"].line, ["vars:", *new_lines])
    return True


def _flag_copied(edits: _Edits, tree: Any, old: str) -> list[tuple[int, str]]:
    """Values copied as written that still name the source datacenter: a comment above
    each; their lines and values."""
    copied: list[tuple[int, str]] = []
    for top in ("integration_points", "sensu", "remove"):
        for container, key in _strings(tree.get(top)):
            span = _span_of(container, key)
            value = container[key]
            if span is None or not _names_old(value, old):
                continue
            copied.append((span.line, value))
            line = edits.lines[span.line - 1]
            indent = line[: len(line) - len(line.lstrip())]
            if line.lstrip().startswith("- "):
                indent += "  "
            edits.flagged.setdefault(span.line, []).append(
                f"{indent}# mdd init: copied from {old}, still names {old}: "
                f"{_scalar(value)[:80]} (review)"
            )
    return copied


def _derive_by_dump(
    own: dict[str, Any],
    old_name: str,
    source: Path,
    name: str,
    target: Path,
    sets: Mapping[str, str],
    description: str | None,
) -> Derived:
    """The new manifest written anew from ``own`` (comments cannot be kept)."""
    data: dict[str, Any] = {}
    extends = own.get("extends")
    if extends is not None:
        bases = extends if isinstance(extends, list) else [extends]
        folder = os.path.abspath(target.parent)
        data["extends"] = [
            os.path.relpath(os.path.abspath(os.path.join(source.parent, base)), folder)
            for base in bases
        ]
        for base in data["extends"]:
            if os.path.isabs(base) or base == ".." or base.startswith(".." + os.sep):
                raise InitError(
                    f"{target} would extend {os.path.normpath(os.path.join(folder, base))}, "
                    f"outside its own folder {folder}: a manifest extends only bases in its "
                    f"folder or below it; write the new manifest in {source.parent}, or copy "
                    f"the bases"
                )
        if len(data["extends"]) == 1:
            data["extends"] = data["extends"][0]
    data["datacenter"] = name
    data["description"] = description or f"{name}: derived from {old_name}; describe it"
    own_vars = own.get("vars") or {}
    new_vars = {key: str(value) for key, value in own_vars.items()}
    new_vars.update(sets)
    kept = {key: value for key, value in new_vars.items() if key not in sets}
    if new_vars:
        data["vars"] = new_vars
    for key in own:
        if key not in data and key != "datacenter":
            data[key] = own[key]
    copied = [
        (0, str(c[k]))
        for top in ("integration_points", "sensu", "remove")
        for c, k in _strings(own.get(top))
        if isinstance(c[k], str) and _names_old(c[k], old_name)
    ]
    header = (
        f"# The integration points the platform needs in {name}: derived from "
        f"{old_name}\n# ({source.name}) by `mdd init`. {len(copied)} copied value(s) still "
        f"name {old_name}: " + "; ".join(v for _, v in copied)[:400] + "\n"
    )
    return Derived(target, header + dump_yaml(data), kept, copied)


def _validate(derived: Derived, name: str) -> None:
    """Load the new text from a temporary file beside the target (so bases resolve)."""
    folder = derived.path.parent
    temporary = folder / f".{derived.path.stem}.{secrets.token_hex(4)}.init.yaml"
    try:
        temporary.write_text(derived.text, encoding="utf-8")
        load(temporary, name)
    except ManifestError as exc:
        raise ManifestError(
            Problem(
                str(derived.path) if problem.file == str(temporary) else problem.file,
                problem.line,
                problem.column,
                problem.message.replace(str(temporary), str(derived.path)),
            )
            for problem in exc.problems
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def write(derived: Derived, name: str) -> None:
    """Validate and write ``derived``; ``InitError`` if its file already exists."""
    if derived.path.exists() or derived.path.is_symlink():
        raise InitError(f"{derived.path} already exists: mdd init never overwrites a manifest")
    if not derived.path.parent.is_dir():
        raise InitError(f"there is no folder {derived.path.parent}")
    _validate(derived, name)
    try:
        # exclusive: a file that appeared since the check above is never replaced
        write_atomically(derived.path, derived.text, exclusive=True)
    except FileExistsError:
        raise InitError(
            f"{derived.path} already exists: mdd init never overwrites a manifest"
        ) from None


_NAME = re.compile(r"[a-z0-9_-]+")


def check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise InitError(
            f"{name!r} cannot name a datacenter: use only lower-case letters, digits, '_' and '-'"
        )
