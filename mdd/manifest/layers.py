"""Layered manifests: a datacenter's manifest `extends:` shared base files.

A manifest names one or more base files, relative to its own folder; a base may extend
others in turn (relative to the base's folder):

```yaml
# manifests/ams1.yaml
extends: [base/global.yaml, base/eu.yaml]
datacenter: ams1
vars: {domain: ams1.example.net}
remove: [mgmt-blocked]           # inherited, but not wanted here
integration_points:
  - name: artifact-repo          # inherited: override some of its keys
    sensu: {interval: 30s}
  - name: payments-vip           # new here
    type: http
    check: {url: "https://pay.{{ domain }}/health"}
```

The layers are merged into one manifest before it is validated, so every rule applies to
the result, and every problem still points at the file and line where the value was
written, in whichever layer.

Precedence, from weakest to strongest: the bases in the order `extends:` lists them (each
base already merged with its own bases), then the file itself.

- `vars` and the top-level `sensu` block merge key by key: a later layer's key wins.
- `description` of a later layer replaces an earlier one; `datacenter` may only be written
  in the datacenter's own manifest, never in a base.
- `integration_points` merge by `name`. A point whose name is new is added (after the
  inherited ones). A point with an inherited name overrides that point: each key written
  replaces the inherited one, except `check`, whose options merge deeply (a mapping option
  such as `headers` or `json` merges key by key; a list or a plain value is replaced), and
  the point's `sensu` block, which merges key by key. A point that changes `type` gets
  only the `check` options it writes itself.
- `remove: [name, ...]` drops inherited points by name (before the file's own points are
  merged); naming a point no base defines is an error.

Bases stay inside the manifests folder (the folder of the datacenter's manifest) and its
subfolders: an absolute path, a path whose `..` leaves the folder, a symbolic link that
leads out of it and a file not named `*.yaml`/`*.yml` are refused without being read, so
no error ever quotes a file that is not a manifest. A base is read as the manifest is (a
regular file of at most 8 MiB); bases extend bases at most 20 levels deep, one `extends:`
lists at most 100 bases (each once), and one manifest reads at most 200 base files.

Errors: a base that does not exist, a base that extends itself (directly or through
others), a base that sets `datacenter`, and conflicting definitions: two bases of the same
`extends:` list that both define a point of the same name, or the same var or `sensu` key
with different values, unless the extending file sets that var or key itself. A base
reached through two others (global <- eu and global <- payments) is one definition, and a
base listed beside one that already extends it is included once, through that one.

`mdd render NAME` prints the merged manifest, so a reviewer sees exactly what is monitored.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from mdd.checks.api import type_name
from mdd.manifest import source, yamlload
from mdd.manifest.yamlload import Span, YamlList, YamlMap, new_list, new_map


class Reporter(Protocol):
    def add(self, where: Span | tuple[int, int], message: str, file: str = "") -> None: ...

    def duplicates(self, value: Any, seen: set[int]) -> None: ...


# --------------------------------------------------------------------------- trees


def put(target: YamlMap, source: YamlMap, key: Any, value: Any = None) -> None:
    """Set ``target[key]`` to ``source[key]`` (or ``value``), with ``source``'s spans."""
    target[key] = source[key] if value is None else value
    target.key_spans[key] = source.key_spans[key]
    target.value_spans[key] = source.value_spans[key]


def copy_map(source: YamlMap, span: Span) -> YamlMap:
    """A new mapping at ``span`` holding ``source``'s keys and values, with their spans."""
    copy = new_map(span)
    for key in source:
        put(copy, source, key)
    return copy


def stamp(value: Any, file: str, seen: set[int] | None = None) -> None:
    """Record ``file`` in every span of a tree read from that file."""
    seen = set() if seen is None else seen
    if id(value) in seen:  # an alias: the same object again
        return
    seen.add(id(value))

    def mark(span: Span) -> Span:
        if span.file:
            return span
        # The constructor, not dataclasses.replace (several times slower, and called for
        # every span of the manifest).
        return Span(
            span.line,
            span.column,
            span.end_line,
            span.end_column,
            span.style,
            span.source,
            span.tag,
            span.trap,
            file,
        )

    if isinstance(value, YamlMap):
        value.span = mark(value.span)
        value.key_spans = {k: mark(s) for k, s in value.key_spans.items()}
        value.value_spans = {k: mark(s) for k, s in value.value_spans.items()}
        value.duplicates = [(k, mark(a), mark(b)) for k, a, b in value.duplicates]
        for item in value.values():
            stamp(item, file, seen)
    elif isinstance(value, YamlList):
        value.span = mark(value.span)
        value.item_spans = [mark(s) for s in value.item_spans]
        for item in value:
            stamp(item, file, seen)


def plain(value: Any) -> Any:
    """``value`` as plain dicts and lists, for comparing definitions."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def where(span: Span) -> str:
    return f"{span.file}:{span.line}" if span.file else f"line {span.line}"


def point_name(point: Any) -> str | None:
    if isinstance(point, YamlMap) and isinstance(point.get("name"), str):
        name: str = point["name"]
        return name
    return None


def deep_merge(base: YamlMap, override: YamlMap) -> YamlMap:
    """``base`` with ``override``'s keys: mappings merge key by key, all else is replaced."""
    merged = copy_map(base, override.span)
    for key, value in override.items():
        if isinstance(value, YamlMap) and isinstance(merged.get(key), YamlMap):
            put(merged, override, key, deep_merge(merged[key], value))
        else:
            put(merged, override, key)
    return merged


def shallow_merge(base: YamlMap, override: YamlMap) -> YamlMap:
    merged = copy_map(base, override.span)
    for key in override:
        put(merged, override, key)
    return merged


def merge_point(inherited: YamlMap, override: YamlMap) -> YamlMap:
    merged = copy_map(inherited, override.span)
    same_type = "type" not in override or plain(override["type"]) == plain(inherited.get("type"))
    for key, value in override.items():
        old = merged.get(key)
        if key == "check" and same_type and isinstance(value, YamlMap) and isinstance(old, YamlMap):
            put(merged, override, key, deep_merge(old, value))
        elif key == "sensu" and isinstance(value, YamlMap) and isinstance(old, YamlMap):
            put(merged, override, key, shallow_merge(old, value))
        else:
            put(merged, override, key)
    # The inherited definitions this one refines: a sibling base that still has one of them
    # unchanged does not conflict with it.
    merged.origins = {id(inherited), *getattr(inherited, "origins", ())}  # type: ignore[attr-defined]
    if not same_type and "check" not in override and "check" in merged:
        del merged["check"]  # the old type's options do not fit the new type
        del merged.key_spans["check"], merged.value_spans["check"]
    return merged


# --------------------------------------------------------------------------- layers

# Limits: a datacenter extends a handful of bases; these refuse a hostile or runaway
# layout quickly, with a message, never a RecursionError (docs/reliability.md).
MAX_EXTENDS_DEPTH = 20  # bases extending bases, from the datacenter's manifest down
MAX_EXTENDS_LIST = 100  # bases named by one extends list
MAX_BASE_FILES = 200  # different base files read for one manifest

_MERGED_BY_KEY = ("vars", "sensu")  # top-level mappings merged key by key
_OWN_KEYS = ("extends", "remove")  # consumed here; never reach the reader


def _unnamable(path: str) -> str | None:
    """What in ``path`` no file name can hold (a NUL, a surrogate that is not an undecodable
    byte), in words; None if it can name a file."""
    if "\0" in path:
        return "a NUL character (\\0)"
    try:
        os.fsencode(path)
    except UnicodeEncodeError as exc:
        return f"the surrogate \\u{ord(path[exc.start]):04x} (half of a UTF-16 pair)"
    return None


def _shape(value: Any) -> str:
    """What ``value`` is, never what it says: a file that is not a manifest is not quoted."""
    if isinstance(value, str):
        return "text, not a mapping (its content is not shown)"
    return type_name(value) if isinstance(value, list | dict) else f"a {type(value).__name__}"


class _Base(NamedTuple):
    """A base of an ``extends:`` list, merged over its own bases."""

    tree: YamlMap
    span: Span  # where it is named
    real: str  # its real path


class _Layers:
    def __init__(self, report: Reporter, folder: str) -> None:
        self.report = report
        self.folder = folder  # the manifests folder (real path): bases are inside it
        self.files = 0  # base files read
        self.cache: dict[str, YamlMap | None] = {}  # real path -> merged tree
        self.ancestors: dict[str, set[str]] = {}  # real path -> every file it extends

    def add(self, span: Span, message: str) -> None:
        self.report.add(span, message)

    def read(self, path: Path, span: Span) -> YamlMap | None:
        """The tree of one base file, or None after reporting why not (at ``span``)."""
        name = str(path)
        if not path.exists() and not path.is_symlink():
            self.add(
                span,
                f"extends: there is no file {name}: a base is found relative to "
                f"the folder of the file that extends it",
            )
            return None
        try:
            text = source.read_text(path, "the base manifest")
        except source.SourceError as exc:
            if exc.line == 1 and exc.column == 1:
                self.add(span, f"extends: {name}: {exc.message}")
            else:  # not UTF-8 text, a NUL byte: where in the base
                self.report.add((exc.line, exc.column), exc.message, file=name)
            return None
        try:
            tree, tree_span = yamlload.load(text, name)
        except yamlload.YamlSyntaxError as exc:
            self.report.add((exc.line, exc.column), exc.message, file=name)
            return None
        if tree is None:
            tree = new_map(replace(tree_span, file=name))
        if not isinstance(tree, YamlMap):
            self.report.add(
                (tree_span.line, tree_span.column),
                f"a base manifest is a mapping (vars, sensu, integration_points...), got "
                f"{_shape(tree)}",
                file=name,
            )
            return None
        self.report.duplicates(tree, set())
        if "datacenter" in tree:
            self.add(
                tree.key_spans["datacenter"],
                f"a base cannot set datacenter: {name} is extended by other manifests, and "
                f"each datacenter names itself in its own manifest",
            )
        return tree

    def resolve(self, tree: YamlMap, path: Path, chain: tuple[str, ...]) -> YamlMap:
        """``tree`` (read from ``path``) merged over its bases.

        ``chain``: the real paths from the manifest down to ``path`` itself.
        """
        bases: list[_Base] = []
        if "extends" in tree:
            for base_path, span in self.base_paths(tree, path):
                base = self.base(base_path, span, chain)
                if base is not None:
                    bases.append(base)
        reals = {base.real for base in bases}
        self.ancestors[chain[-1]] = reals.union(*(self.ancestors.get(r, set()) for r in reals))
        # A base that another base of the list already extends is included through that one.
        bases = [
            base
            for base in bases
            if not any(base.real in self.ancestors.get(other.real, set()) for other in bases)
        ]
        inherited = self.combine([(base.tree, base.span) for base in bases], tree)
        if "remove" in tree:
            inherited = self.remove(inherited, tree)
        return self.override(inherited, tree)

    def base(self, base_path: Path, span: Span, chain: tuple[str, ...]) -> _Base | None:
        """The base at ``base_path`` merged over its own bases (read once), or None after
        reporting why it cannot be."""
        real = os.path.realpath(base_path)
        if not _inside(real, self.folder):
            self.add(
                span,
                f"extends: {base_path} leads (through a symbolic link) to {real}, "
                f"outside the manifests folder {self.folder}: a base must be a file "
                f"in that folder or below it",
            )
            return None
        if real in chain:
            names = [*map(_short, chain), _short(real)]
            self.add(
                span,
                f"extends: {' -> '.join(names)} is a cycle: a base cannot extend "
                f"itself, directly or through other bases",
            )
            return None
        if real not in self.cache and len(chain) > MAX_EXTENDS_DEPTH:
            self.add(
                span,
                f"extends: bases extend bases more than {MAX_EXTENDS_DEPTH} levels "
                f"deep ({_short(chain[0])} -> {_short(chain[1])} -> ... -> "
                f"{_short(real)}): flatten the chain",
            )
            self.cache[real] = None
            return None
        if real not in self.cache and self.files >= MAX_BASE_FILES:
            self.add(
                span,
                f"extends: more than {MAX_BASE_FILES} base files in all: a datacenter "
                f"needs a handful; merge some bases",
            )
            self.cache[real] = None
            return None
        if real not in self.cache:
            self.files += 1
            base = self.read(base_path, span)
            self.cache[real] = (
                None if base is None else self.resolve(base, base_path, (*chain, real))
            )
        resolved = self.cache[real]
        return None if resolved is None else _Base(resolved, span, real)

    def base_paths(self, tree: YamlMap, path: Path) -> list[tuple[Path, Span]]:
        value, span = tree["extends"], tree.value_spans["extends"]
        items: list[tuple[Any, Span]]
        if isinstance(value, YamlList):
            items = list(zip(value, value.item_spans, strict=True))
            if not items:
                self.add(span, "extends: the list is empty: name a base file or leave it out")
        else:
            items = [(value, span)]
        if len(items) > MAX_EXTENDS_LIST:
            self.add(
                span,
                f"extends: the list names {len(items):,} bases, over the limit of "
                f"{MAX_EXTENDS_LIST}: a manifest extends a handful of bases",
            )
            return []
        found = []
        listed: dict[str, Span] = {}
        for item, item_span in items:
            base = self.base_path(item, item_span, path)
            if base is None:
                continue
            if str(base) in listed:
                first = listed[str(base)]
                self.add(
                    item_span,
                    f"extends: {item} is listed twice (first at line {first.line}, column "
                    f"{first.column}): list each base once",
                )
                continue
            listed[str(base)] = item_span
            found.append((base, item_span))
        return found

    def base_path(self, item: Any, item_span: Span, path: Path) -> Path | None:
        """The path of one base named in ``path``'s ``extends``, or None after reporting why
        it cannot be one."""
        if not isinstance(item, str) or not item.strip():
            self.add(
                item_span,
                f"extends: expected the path of a base manifest (relative to this file's "
                f"folder), got {type_name(item)}",
            )
            return None
        if "{{" in item:
            self.add(item_span, "extends: vars ({{ name }}) are not replaced in base paths")
            return None
        unnamable = _unnamable(item)
        if unnamable:
            self.add(item_span, f"extends: the path holds {unnamable}, which no file name can hold")
            return None
        if os.path.isabs(item):
            self.add(
                item_span,
                f"extends: {item} is an absolute path: a base is named relative to this "
                f"file's folder, and must be in the manifests folder {self.folder} or "
                f"below it",
            )
            return None
        base = Path(os.path.normpath(path.parent / item))
        if not _inside(os.path.join(os.path.realpath(path.parent), item), self.folder):
            self.add(
                item_span,
                f"extends: {item} is outside the manifests folder {self.folder}: a base "
                f"must be a file in that folder or below it",
            )
            return None
        if base.suffix not in (".yaml", ".yml"):
            self.add(
                item_span,
                f"extends: {item} is not a manifest: a base manifest's file name ends in "
                f".yaml or .yml (nothing read)",
            )
            return None
        return base

    def combine(self, bases: list[tuple[YamlMap, Span]], child: YamlMap) -> YamlMap:
        """The bases of one ``extends:`` list merged in order; conflicts reported."""
        merged = new_map(child.span)
        for base, extends_span in bases:
            for key, value in base.items():
                if key in _OWN_KEYS:
                    continue
                old = merged.get(key)
                if key in _MERGED_BY_KEY and isinstance(value, YamlMap):
                    if isinstance(old, YamlMap):
                        own = child.get(key)
                        self.conflicts(key, old, value, own if isinstance(own, YamlMap) else None)
                        put(merged, base, key, shallow_merge(old, value))
                    else:
                        put(merged, base, key)
                elif key == "integration_points" and isinstance(value, YamlList):
                    if isinstance(old, YamlList):
                        put(merged, base, key, self.union(old, value, extends_span))
                    else:
                        put(merged, base, key)
                else:
                    put(merged, base, key)
        return merged

    def conflicts(self, key: str, old: YamlMap, new: YamlMap, own: YamlMap | None) -> None:
        what = "var" if key == "vars" else "sensu key"
        for name, value in new.items():
            if name not in old or plain(old[name]) == plain(value):
                continue
            if own is not None and name in own:
                continue  # the extending file decides
            first, again = old.value_spans[name], new.value_spans[name]
            self.add(
                again,
                f"conflicting definitions: {what} {name!r} is {plain(value)!r} here and "
                f"{plain(old[name])!r} at {where(first)}: set it in the file that extends "
                f"both, or in one base only",
            )

    def union(self, old: YamlList, new: YamlList, extends_span: Span) -> YamlList:
        """The points of two sibling bases; one name defined in both is a conflict."""
        result, index = _indexed_copy(old, new.span)
        for item, span in zip(new, new.item_spans, strict=True):
            name = point_name(item)
            if name is not None and name in index:
                first = result[index[name]]
                if first is item or id(item) in getattr(first, "origins", ()):
                    continue  # the same definition, or one the first refines
                if id(first) in getattr(item, "origins", ()):
                    result[index[name]] = item  # this one refines the first
                    result.item_spans[index[name]] = span
                    continue
                self.add(
                    item.value_spans["name"],
                    f"conflicting definitions: integration point {name!r} is defined here and "
                    f"at {where(first.value_spans['name'])}, in two bases of one extends list "
                    f"(at {where(extends_span)}): define it in one base only, or make one "
                    f"base extend the other",
                )
                continue
            result.append(item)
            result.item_spans.append(span)
        return result

    def remove(self, inherited: YamlMap, tree: YamlMap) -> YamlMap:
        value, span = tree["remove"], tree.value_spans["remove"]
        items = (
            list(zip(value, value.item_spans, strict=True))
            if isinstance(value, YamlList)
            else [(value, span)]
        )
        points = inherited.get("integration_points")
        names = {point_name(p) for p in points} if isinstance(points, YamlList) else set()
        names.discard(None)
        drop: set[str] = set()
        for item, item_span in items:
            if not isinstance(item, str):
                self.add(
                    item_span,
                    f"remove: expected the name of an inherited integration point, got "
                    f"{type_name(item)}",
                )
            elif "extends" not in tree:
                self.add(
                    item_span,
                    "remove: this file extends no base, so there is nothing "
                    "to remove: delete the point itself instead",
                )
            elif item not in names:
                from mdd.manifest.keys import did_you_mean

                known = ", ".join(sorted(n for n in names if n)) or "none"
                loop = (
                    "; to drop one item of a for_each point, override its for_each list"
                    if "{{" in known
                    else ""
                )
                self.add(
                    item_span,
                    f"remove: no base defines an integration point named {item!r}"
                    f"{did_you_mean(item, [n for n in names if n])}; inherited: {known}{loop}",
                )
            else:
                drop.add(item)
        if not drop or not isinstance(points, YamlList):
            return inherited
        kept = new_list(points.span)
        for item, item_span in zip(points, points.item_spans, strict=True):
            if point_name(item) not in drop:
                kept.append(item)
                kept.item_spans.append(item_span)
        result = new_map(inherited.span)
        for key in inherited:
            put(result, inherited, key, kept if key == "integration_points" else None)
        return result

    def override(self, inherited: YamlMap, tree: YamlMap) -> YamlMap:
        """``tree``'s own keys over what it inherits."""
        if not inherited:
            result = new_map(tree.span)
            for key in tree:
                if key not in _OWN_KEYS:
                    put(result, tree, key)
            result.duplicates = tree.duplicates
            return result
        result = copy_map(inherited, tree.span)
        for key, value in tree.items():
            if key in _OWN_KEYS:
                continue
            old = result.get(key)
            if key in _MERGED_BY_KEY and isinstance(value, YamlMap) and isinstance(old, YamlMap):
                put(result, tree, key, shallow_merge(old, value))
            elif (
                key == "integration_points"
                and isinstance(value, YamlList)
                and isinstance(old, YamlList)
            ):
                put(result, tree, key, self.override_points(old, value))
            else:
                put(result, tree, key)
        return result

    def override_points(self, inherited: YamlList, own: YamlList) -> YamlList:
        """Own points over inherited ones, by name; an override of nothing is reported."""
        result = _override_points(inherited, own)
        known = [n for n in map(point_name, inherited) if n is not None]
        for item in own:
            name = point_name(item)
            if name is None or name in known or "type" in item or "name" not in item:
                continue
            from mdd.manifest.keys import did_you_mean

            self.add(
                item.value_spans["name"],
                f"no base defines an integration point named {name!r} to override"
                f"{did_you_mean(name, known)}; a new point needs its own type and check",
            )
        return result


def _indexed_copy(points: YamlList, span: Span) -> tuple[YamlList, dict[str, int]]:
    """A copy of ``points`` at ``span``, and where each name is first defined in it."""
    copy = new_list(span)
    index: dict[str, int] = {}
    for item, item_span in zip(points, points.item_spans, strict=True):
        if (name := point_name(item)) is not None:
            index.setdefault(name, len(copy))
        copy.append(item)
        copy.item_spans.append(item_span)
    return copy, index


def _override_points(inherited: YamlList, own: YamlList) -> YamlList:
    result, index = _indexed_copy(inherited, own.span)
    used: set[str] = set()
    for item, span in zip(own, own.item_spans, strict=True):
        name = point_name(item)
        if name is not None and name in index and name not in used:
            used.add(name)  # a second point of that name is a duplicate: the reader says so
            at = index[name]
            result[at] = merge_point(result[at], item)
            result.item_spans[at] = span
        else:
            result.append(item)
            result.item_spans.append(span)
    return result


def _inside(path: str, folder: str) -> bool:
    """Whether ``path`` (made normal, ``..`` resolved lexically) is under ``folder``."""
    normal = os.path.normpath(path)
    return normal == folder or normal.startswith(folder.rstrip(os.sep) + os.sep)


def _short(path: str) -> str:
    return os.path.relpath(path) if not os.path.relpath(path).startswith("../..") else path


def resolve(root: YamlMap, path: Path, report: Reporter) -> YamlMap:
    """The manifest ``root`` (read from ``path``) merged over its bases.

    Problems go to ``report``; the result keeps every value's span, which names its file.
    """
    if root.span.file != str(path):  # read without its file (yamlload.load(text, file))
        stamp(root, str(path))
    if "extends" not in root and "remove" not in root:
        return root
    layers = _Layers(report, os.path.realpath(path.parent))
    return layers.resolve(root, path, (os.path.realpath(path),))
