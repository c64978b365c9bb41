"""Read YAML and remember where every value was written.

PyYAML forgets positions once it has built Python values, and silently keeps the last of
two equal keys. ``load`` builds the same values as ``yaml.safe_load``, except that every
mapping is a ``YamlMap`` and every sequence a ``YamlList``; each knows the ``Span`` of
itself and of its keys and items, and each ``YamlMap`` lists the keys written twice.

Three readers give the same values and spans:

* ``_CLoader``, the usual one: libyaml's C scanner and parser (``CParser``) give the events,
  and one pass makes each event its value and ``Span`` (PyYAML's resolver patterns and safe
  constructors, mdd's limits counted as it goes). Whatever is unusual (a merge key, a tag on
  a list or mapping, a value YAML cannot construct, a limit reached) it hands to
* ``_CNodeLoader``: the same C events under PyYAML's Python composer and constructor, with
  mdd's limits (``_Limits``), which says what is wrong and where;
* ``_Loader``, PyYAML's pure-Python scanner and parser under the same composer: on any YAML
  error, and for a text with a tab, it reads the text again, so messages and hints are
  always PyYAML's own wording.

A ``Span`` also keeps what the scalar looked like in the file (its style and source text),
so callers can point at a column inside a value and catch YAML 1.1 readings a human does
not expect (``0636`` is the octal number 414, ``1:30`` the base-60 number 90).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

CParser: Any
try:
    from yaml._yaml import CParser
except ImportError:  # PyYAML built without libyaml
    CParser = None

INT_TAG = "tag:yaml.org,2002:int"
FLOAT_TAG = "tag:yaml.org,2002:float"
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
MERGE_TAG = "tag:yaml.org,2002:merge"

# Limits: a manifest is a few hundred KiB at most; these refuse hostile or broken input
# quickly (an alias bomb, thousands of nested brackets, a number of a million digits) with a
# message, before it costs memory or a RecursionError. ``mdd.manifest.source`` bounds the
# file size itself.
MAX_DEPTH = 32  # nested lists and mappings; a manifest needs about 6
MAX_NODES = 500_000  # values once every alias (*name) is expanded; 10,000 points: ~185,000
MAX_INT_DIGITS = 100  # digits of a number written in the file
# A new limit goes into both readers: ``_Limits`` (the node readers, which say where and why)
# and ``_CLoader`` (the one pass, which hands the document to them when it is reached).

_PLAIN_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_PLAIN_FLOAT = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")


@dataclass(slots=True, unsafe_hash=True)
class Span:
    """Where a value was written: 1-based line and column of its first character.

    Never changed once made (``dataclasses.replace`` makes another). Not a frozen dataclass:
    a manifest of 10,000 points holds about 300,000 spans, and a frozen dataclass is made
    several times slower (every field through ``object.__setattr__``).
    """

    line: int
    column: int
    end_line: int = 0
    end_column: int = 0
    style: str | None = None  # scalars: None (plain), "'", '"', "|" or ">"
    source: str = ""  # scalars: the text as written in the file, quotes included
    tag: str = ""  # the tag YAML resolved, e.g. tag:yaml.org,2002:int
    trap: str | None = None  # a plain scalar YAML 1.1 reads unlike a human: why
    file: str = ""  # the file it was written in, when known (layers: a base's own file)

    @property
    def single_line(self) -> bool:
        return self.end_line == self.line

    def column_of(self, text: str, occurrence: int) -> tuple[int, int]:
        """Line and column of the ``occurrence``-th (0-based) ``text`` in this scalar.

        Exact for a single-line plain or quoted scalar; the scalar's start otherwise.
        """
        if self.single_line and self.style in (None, "'", '"'):
            index = -1
            for _ in range(occurrence + 1):
                index = self.source.find(text, index + 1)
                if index < 0:
                    break
            if index >= 0:
                return self.line, self.column + index
        return self.line, self.column


class YamlMap(dict[Any, Any]):
    """A YAML mapping that remembers where it, its keys and its values were written."""

    span: Span
    key_spans: dict[Any, Span]
    value_spans: dict[Any, Span]
    duplicates: list[tuple[Any, Span, Span]]  # (key, where first written, where again)


class YamlList(list[Any]):
    """A YAML sequence that remembers where it and each of its items were written."""

    span: Span
    item_spans: list[Span]


def new_map(span: Span) -> YamlMap:
    """An empty ``YamlMap`` written at ``span``: no keys, no spans, no duplicates yet."""
    mapping = YamlMap()
    mapping.span = span
    mapping.key_spans = {}
    mapping.value_spans = {}
    mapping.duplicates = []
    return mapping


def new_list(span: Span) -> YamlList:
    """An empty ``YamlList`` written at ``span``."""
    items = YamlList()
    items.span = span
    items.item_spans = []
    return items


@dataclass
class YamlSyntaxError(Exception):
    """The text is not YAML (or not one YAML document); positions are 1-based."""

    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.message}"


def _trap(style: str | None, text: str, tag: str, value: Any) -> str | None:
    """Why a plain scalar (``style`` None) does not mean what it looks like, or None."""
    if style is not None:
        return None
    quoted = f"quote it ('{text}') if you mean the text"
    if tag == INT_TAG and not _PLAIN_INT.fullmatch(text):
        if ":" in text:
            minutes, seconds = divmod(abs(value), 60)
            return (
                f"YAML 1.1 reads {text} as the base-60 (sexagesimal) number {value}: write "
                f"{value} (or {minutes}m{seconds}s) if you mean that many seconds, or {quoted}"
            )
        if re.fullmatch(r"[-+]?0[0-7_]+", text):
            plain = text.replace("_", "").lstrip("0") or "0"
            return (
                f"YAML 1.1 reads {text} as the octal number {value}: write {plain} without "
                f"the leading 0 if you mean the decimal number, or {quoted}"
            )
        return f"YAML 1.1 reads {text} as the number {value}: write {value}, or {quoted}"
    if tag == FLOAT_TAG and not _PLAIN_FLOAT.fullmatch(text):
        how = "base-60 (sexagesimal) number" if ":" in text else "number"
        return (
            f"YAML 1.1 reads {text} as the {how} {value!r}: write the number plainly, or {quoted}"
        )
    if tag == TIMESTAMP_TAG:
        return f"YAML reads {text} as a date: {quoted}"
    return None


def _span(node: Node, text: str | None = None, file: str = "") -> Span:
    start, end = node.start_mark, node.end_mark
    if isinstance(node, ScalarNode):
        # The marks' indexes count characters of the text (libyaml's marks carry no buffer).
        buffer = text if text is not None else getattr(start, "buffer", None) or ""
        source = buffer[start.index : end.index] if buffer else str(node.value)
        return Span(
            start.line + 1,
            start.column + 1,
            end.line + 1,
            end.column + 1,
            node.style,
            source,
            node.tag,
            file=file,
        )
    return Span(
        start.line + 1, start.column + 1, end.line + 1, end.column + 1, tag=node.tag, file=file
    )


def _at(mark: Any, message: str) -> YamlSyntaxError:
    return YamlSyntaxError(mark.line + 1, mark.column + 1, message)


class _Limits:
    """Composing, constructing and positions for the two node readers below: builds
    ``YamlMap``/``YamlList`` and records positions.

    While composing, it counts nesting depth and the values the document holds with every
    alias expanded (``MAX_DEPTH``, ``MAX_NODES``), and refuses an alias used inside its own
    anchor; while constructing, any failure of a value (``!!int abc``, the date 2026-13-45)
    becomes a ``YamlSyntaxError`` at that value.
    """

    def _start(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self._depth = 0
        self._expanded = 0  # values so far, aliases expanded
        self._sizes: dict[int, int] = {}  # id(node) -> its values, aliases expanded

    def read_document(self) -> tuple[Any, Span]:
        node = self.get_single_node()  # type: ignore[attr-defined]
        if node is None:
            return None, Span(1, 1, 1, 1, file=self.file)
        value = self.construct_document(node)  # type: ignore[attr-defined]
        return value, self.value_span(node, value)

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()  # type: ignore[attr-defined]
        if isinstance(event, AliasEvent):
            node: Node | None = super().compose_node(parent, index)  # type: ignore[misc]
            size = self._sizes.get(id(node))
            if size is None:
                raise _at(
                    event.start_mark,
                    f"the alias *{event.anchor} is used inside its own anchor &{event.anchor}: "
                    f"that value would never end",
                )
            self._count(size, event.start_mark, alias=True)
            assert node is not None
            return node
        if isinstance(event, CollectionStartEvent) and self._depth >= MAX_DEPTH:
            raise _at(
                event.start_mark,
                f"lists and mappings nested more than {MAX_DEPTH} levels deep: a manifest "
                f"needs only a few levels; check the brackets and the indentation",
            )
        self._count(1, event.start_mark)
        self._depth += 1
        try:
            node = super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1
        assert node is not None  # a non-alias event always gives a node
        size = 1
        if isinstance(node, SequenceNode):
            size += sum(self._sizes[id(item)] for item in node.value)
        elif isinstance(node, MappingNode):
            size += sum(self._sizes[id(k)] + self._sizes[id(v)] for k, v in node.value)
        self._sizes[id(node)] = size
        return node

    def _count(self, size: int, mark: Any, alias: bool = False) -> None:
        self._expanded += size
        if self._expanded > MAX_NODES:
            how = " once its aliases (*name) are expanded" if alias else ""
            raise _at(
                mark,
                f"the manifest holds more than {MAX_NODES:,} values{how}: that is no "
                f"datacenter's manifest (an alias bomb?); refused here",
            )

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        if (
            isinstance(node, ScalarNode)
            and node.tag == INT_TAG
            and sum(c.isdigit() for c in node.value) > MAX_INT_DIGITS
        ):
            raise _at(
                node.start_mark,
                f"a number of more than {MAX_INT_DIGITS} digits: no setting needs one; "
                f"quote it if you mean the text",
            )
        try:
            return super().construct_object(node, deep=deep)  # type: ignore[misc]
        except (yaml.YAMLError, YamlSyntaxError):
            raise
        except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError) as exc:
            tag = node.tag.rsplit(":", 1)[-1]
            why = str(exc) if isinstance(exc, ValueError) and str(exc) else "not valid"
            raise _at(node.start_mark, f"YAML cannot read this value as {tag}: {why}") from None

    def key_span(self, node: Node) -> Span:
        return _span(node, self.text, self.file)

    def value_span(self, node: Node, value: Any) -> Span:
        span = _span(node, self.text, self.file)
        if isinstance(node, ScalarNode) and (
            trap := _trap(node.style, node.value, node.tag, value)
        ):
            span = replace(span, trap=trap)
        return span


class _Loader(_Limits, yaml.SafeLoader):
    """The pure-Python reader (PyYAML's scanner and parser)."""

    def __init__(self, stream: str, file: str = "") -> None:
        yaml.SafeLoader.__init__(self, stream)
        self._start(stream, file)


class _Slow(Exception):
    """The one-pass reader leaves this document to the node reader (see ``_CLoader``)."""


_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
# The scalar tags the one-pass reader constructs itself (PyYAML's safe constructors).
_SCALAR_TAGS = frozenset(
    "tag:yaml.org,2002:" + name for name in ("null", "bool", "int", "float", "binary", "timestamp")
)

if CParser is not None:

    class _CNodeLoader(_Limits, Composer, CParser, SafeConstructor, Resolver):  # type: ignore[misc]
        """libyaml's scanner and parser under the same Python composer and constructor."""

        def __init__(self, stream: str, file: str = "") -> None:
            CParser.__init__(self, stream)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            Composer.__init__(self)
            self._start(stream, file)

        def compose_scalar_node(self, anchor: Any) -> ScalarNode:
            node: ScalarNode = super().compose_scalar_node(anchor)
            if node.style == "":  # libyaml's plain style; PyYAML's is None
                node.style = None
            return node

    class _CLoader:
        """libyaml's events made into values and spans in one pass: the usual reader.

        It gives what the node readers give (the same values, spans, limits and order of
        keys) without building PyYAML's nodes first: each event becomes its value and
        ``Span`` at once, each plain scalar's tag is resolved once per distinct text, and
        the values of other tags than text are constructed once per distinct text too.
        Anything unusual (a merge key ``<<``, a tag on a list or mapping, a value YAML
        cannot construct, a limit reached, a second document) is left to ``_CNodeLoader``,
        which reads the text again and says what is wrong in the node readers' words.
        """

        def __init__(self, stream: str, file: str = "") -> None:
            self.text = stream
            self.file = file
            self._parser = CParser(stream)
            self._constructor = SafeConstructor()
            self._anchors: dict[str, tuple[Any, Span, int] | None] = {}  # None: open
            self._tags: dict[str, str] = {}  # plain scalar -> its resolved tag
            self._values: dict[tuple[str, str], Any] = {}  # (tag, text) -> value
            self._expanded = 0  # values so far, aliases expanded

        def dispose(self) -> None:
            self._parser.dispose()

        def read_document(self) -> tuple[Any, Span]:
            try:
                return self._document()
            except _Slow:
                return _load(_CNodeLoader, self.text, self.file)

        def _document(self) -> tuple[Any, Span]:
            get = self._parser.get_event
            get()  # the stream's start
            event = get()
            if isinstance(event, StreamEndEvent):
                return None, Span(1, 1, 1, 1, file=self.file)
            value, span, size = self._node(get(), 0)  # after the document's start
            get()  # the document's end
            if not isinstance(get(), StreamEndEvent):
                raise _Slow  # another document
            # The values it holds with every alias expanded: counted as they are read, the
            # node reader stops at the one past MAX_NODES and says where.
            if size > MAX_NODES:
                raise _Slow
            return value, span

        def _scalar(self, event: Any) -> tuple[Any, Span]:
            """The value of a scalar ``event`` and its span."""
            text = event.value
            tag = event.tag
            style = event.style or None  # libyaml's plain style is ""
            if tag is None or tag == "!":  # not written: resolved from the text if plain
                implicit = event.implicit[0]
                tag = (self._tags.get(text) or self._resolve(text)) if implicit else _STR_TAG
            trap = None
            if tag == _STR_TAG:
                value = text
            else:
                value = self._construct(tag, text, event)
                if style is None:
                    trap = _trap(style, text, tag, value)
            start, end = event.start_mark, event.end_mark
            span = Span(
                start.line + 1,
                start.column + 1,
                end.line + 1,
                end.column + 1,
                style,
                self.text[start.index : end.index],
                tag,
                trap,
                self.file,
            )
            return value, span

        def _node(self, event: Any, depth: int) -> tuple[Any, Span, int]:
            """The value of the node ``event`` starts, its span and its size: the values it
            holds with every alias expanded."""
            kind = type(event)
            anchor = event.anchor
            if kind is AliasEvent:
                found = self._anchors.get(anchor)
                if found is None:  # undefined, or used inside its own anchor
                    raise _Slow
                return found
            if anchor is not None:
                if anchor in self._anchors:
                    raise _Slow  # a second anchor of that name
                self._anchors[anchor] = None  # open: an alias to it inside is refused
            if kind is ScalarEvent:
                value, span = self._scalar(event)
                size = 1
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                tag = _MAP_TAG if kind is MappingStartEvent else _SEQ_TAG
                if depth >= MAX_DEPTH or event.tag not in (None, "!", tag):
                    raise _Slow  # too deep, or a tag (!!set, !!omap) the node reader reads
                if kind is MappingStartEvent:
                    value, end, size = self._mapping(depth + 1)
                else:
                    value, end, size = self._sequence(depth + 1)
                start = event.start_mark
                span = Span(
                    start.line + 1,
                    start.column + 1,
                    end.line + 1,
                    end.column + 1,
                    tag=tag,
                    file=self.file,
                )
                value.span = span
            else:  # pragma: no cover - libyaml starts no other node
                raise _Slow
            if anchor is not None:
                self._anchors[anchor] = (value, span, size)
            return value, span, size

        def _resolve(self, text: str) -> str:
            """The tag YAML 1.1 gives the plain scalar ``text`` (``Resolver.resolve``)."""
            tag = _STR_TAG
            resolvers = Resolver.yaml_implicit_resolvers
            for candidate, pattern in [*resolvers.get(text[:1], []), *resolvers.get(None, [])]:
                if pattern.match(text):
                    tag = candidate
                    break
            self._tags[text] = tag
            return tag

        def _construct(self, tag: str, text: str, event: Any) -> Any:
            try:
                return self._values[tag, text]
            except KeyError:
                pass
            if tag not in _SCALAR_TAGS:
                raise _Slow
            if tag == INT_TAG and sum(c.isdigit() for c in text) > MAX_INT_DIGITS:
                raise _Slow
            node = ScalarNode(tag, text, event.start_mark, event.end_mark, event.style)
            try:
                value = SafeConstructor.yaml_constructors[tag](self._constructor, node)
            except Exception:
                raise _Slow from None  # the node reader says what is wrong with it
            self._values[tag, text] = value
            return value

        def _read(self, event: Any, depth: int) -> tuple[Any, Span, int]:
            """What ``_node`` gives for the node ``event`` starts; a plain scalar (most keys
            and values) read without it."""
            if type(event) is ScalarEvent and event.anchor is None:
                value, span = self._scalar(event)
                return value, span, 1
            return self._node(event, depth)

        def _mapping(self, depth: int) -> tuple[YamlMap, Any, int]:
            get, read = self._parser.get_event, self._read
            mapping = YamlMap()
            key_spans: dict[Any, Span] = {}
            value_spans: dict[Any, Span] = {}
            mapping.key_spans, mapping.value_spans = key_spans, value_spans
            mapping.duplicates = []
            first: dict[Any, Span] = {}  # keys written twice: where first
            size = 1
            event = get()
            while type(event) is not MappingEndEvent:
                key, key_span, key_size = read(event, depth)
                if key_span.tag == MERGE_TAG:
                    raise _Slow
                if key_span.trap is not None:
                    key_span = replace(key_span, trap=None)  # a key's span has no trap
                value, value_span, value_size = read(get(), depth)
                size += key_size + value_size
                try:
                    written = key in mapping
                except TypeError:  # a list or a mapping as a key
                    raise _Slow from None
                if written:
                    first.setdefault(key, key_spans[key])
                    mapping.duplicates.append((key, first[key], key_span))
                mapping[key] = value
                key_spans[key] = key_span
                value_spans[key] = value_span
                event = get()
            return mapping, event.end_mark, size

        def _sequence(self, depth: int) -> tuple[YamlList, Any, int]:
            get, read = self._parser.get_event, self._read
            items = YamlList()
            spans: list[Span] = []
            items.item_spans = spans
            size = 1
            event = get()
            while type(event) is not SequenceEndEvent:
                value, span, item_size = read(event, depth)
                size += item_size
                items.append(value)
                spans.append(span)
                event = get()
            return items, event.end_mark, size


def _construct_mapping(loader: Any, node: MappingNode) -> YamlMap:
    mapping = new_map(loader.key_span(node))
    # Keys written twice in this mapping itself (merged keys (<<) may be overridden).
    first: dict[Any, Span] = {}
    for key_node, _ in node.value:
        if key_node.tag == MERGE_TAG:
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise ConstructorError(
                "while reading a mapping",
                node.start_mark,
                "found a key that is a list or a mapping; keys must be plain text",
                key_node.start_mark,
            ) from None
        if key in first:
            mapping.duplicates.append((key, first[key], loader.key_span(key_node)))
        else:
            first[key] = loader.key_span(key_node)
    loader.flatten_mapping(node)  # resolves merge keys; own keys come last and win
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        value = loader.construct_object(value_node, deep=True)
        mapping[key] = value
        mapping.key_spans[key] = loader.key_span(key_node)
        mapping.value_spans[key] = loader.value_span(value_node, value)
    return mapping


def _construct_sequence(loader: Any, node: SequenceNode) -> YamlList:
    items = new_list(loader.key_span(node))
    for item_node in node.value:
        value = loader.construct_object(item_node, deep=True)
        items.append(value)
        items.item_spans.append(loader.value_span(item_node, value))
    return items


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
if CParser is not None:
    _CNodeLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
    _CNodeLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)

_HINTS = (
    (
        "mapping values are not allowed here",
        "quote a value that contains ': ', or fix the indentation",
    ),
    ("expected <block end>, but found", "check the indentation of this line"),
    ("found undefined alias", "an alias (*name) needs an anchor (&name) written before it"),
    ("found another document", "a manifest is one YAML document: remove the '---'"),
    (
        "could not determine a constructor for the tag",
        "a manifest is plain YAML, without tags",
    ),
)


def _unquoted_var(line: str, column: int) -> tuple[int, str, str] | None:
    """A ``{{ var }}`` on ``line`` that YAML reads as a mapping, up to 0-based ``column``.

    Unquoted, ``{{`` starts a flow mapping when it starts a value, and anywhere inside
    ``{ }`` or ``[ ]``. Returns the 0-based column of the ``{{``, the key of its entry (or
    "") and the value as written, or None.
    """
    depth = 0  # unclosed { and [ before this point
    quote = ""
    key = ""
    entry = value = 0  # where the current entry's key and value start
    index = 0
    while index < len(line):
        char = line[index]
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"" and index == value:
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            break
        elif line.startswith("{{", index):
            if index > column:
                break
            end = line.find("}}", index)
            if index == value or depth:
                stop = len(line) if end < 0 else end + 2
                while stop < len(line) and not (
                    line[stop] in ",]}" and depth or line.startswith(" #", stop)
                ):
                    stop += 1
                return index, key, line[value:stop].rstrip()
            index = len(line) if end < 0 else end + 2
            continue
        elif char in "{[,":
            depth += char != ","
            entry = value = index + 1
            key = ""
        elif char in "}]":
            depth = max(depth - 1, 0)
        elif char == ":" and line[index + 1 : index + 2] in ("", " "):
            key = line[entry:index].strip().strip("'\"")
            value = index + 1
        elif char == "-" and line[index + 1 : index + 2] in ("", " ") and index == value:
            entry = value = index + 1
            key = ""
        if char == " " and index == value:
            entry += entry == value
            value += 1
        index += 1
    return None


def _hint(message: str, line: str, column: int) -> str:
    """What to do about a syntax error at 0-based ``column`` of ``line``."""
    if "cannot start any token" in message and "\\t" in message:
        if line[:column].strip(" "):
            return "mdd's YAML reader does not take a tab here: use spaces"
        return "YAML does not allow tab characters for indentation"
    for marker, hint in _HINTS:
        if marker in message:
            if "'!vault'" in message:
                hint += (
                    "; and secrets never go into a manifest: use secret_headers, which names "
                    "a file on the agent"
                )
            return hint
    return ""


def _syntax_error(exc: yaml.YAMLError, text: str) -> YamlSyntaxError:
    if isinstance(exc, yaml.reader.ReaderError):
        before = text[: exc.position]
        line = before.count("\n") + 1
        column = exc.position - (before.rfind("\n") + 1) + 1
        return YamlSyntaxError(
            line,
            column,
            f"not YAML text: character #x{exc.character:04x} is not allowed ({exc.reason})",
        )
    mark = getattr(exc, "problem_mark", None)
    if not isinstance(exc, yaml.MarkedYAMLError) or mark is None:
        return YamlSyntaxError(1, 1, f"YAML error: {exc}")
    message = (exc.problem or "YAML error").strip()
    context, context_mark = (exc.context or "").strip(), exc.context_mark
    where = ""
    if context_mark is not None and (context_mark.line, context_mark.column) != (
        mark.line,
        mark.column,
    ):
        where = f" at line {context_mark.line + 1}, column {context_mark.column + 1}"
    if context.startswith("while"):
        message += f" ({context}{where})"
    elif context:
        message = f"{context}{where}, {message}"
    lines = text.splitlines()
    for at in (mark, context_mark):
        if at is None or at.line >= len(lines):
            continue
        written = lines[at.line]
        if found := _unquoted_var(written, at.column):
            column, key, value = found
            end = written.find("}}", column)
            var = written[column : end + 2] if end >= 0 else "{{"
            fix = f'{key}: "{value}"' if key else f'"{value}"'
            return YamlSyntaxError(
                at.line + 1,
                column + 1,
                f"YAML syntax error: {var} must be in quotes here, or YAML reads the '{{' as "
                f"the start of a mapping: write {fix}",
            )
    written = lines[mark.line] if mark.line < len(lines) else ""
    if hint := _hint(message, written, mark.column):
        message += f": {hint}"
    return YamlSyntaxError(mark.line + 1, mark.column + 1, "YAML syntax error: " + message)


def load(text: str, file: str = "") -> tuple[Any, Span]:
    """The single YAML document in ``text``, and where it starts.

    ``file``: the file it was read from, recorded in every span. Raises ``YamlSyntaxError``
    when ``text`` is not one YAML document.
    """
    # libyaml takes a tab after "key:" that PyYAML refuses; a text with a tab is read in
    # Python, so both read the same texts.
    if CParser is not None and "\t" not in text:
        try:
            return _load(_CLoader, text, file)
        except yaml.YAMLError:
            pass  # read again in Python: its messages are the ones the hints know
        # A YamlSyntaxError (a limit, a value YAML cannot construct) is mdd's own message at
        # the same position either way: raised as it is.
    try:
        return _load(_Loader, text, file)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text) from None


def _load(cls: Any, text: str, file: str = "") -> tuple[Any, Span]:
    loader: Any = None
    try:
        loader = cls(text, file)
        value, span = loader.read_document()
        return value, span
    finally:
        if loader is not None:
            loader.dispose()
