"""Kinds of value that are a mapping in a manifest and a repeated flag on a command line:
HTTP headers (``HEADERS``: ``--headers 'Name: value'``) and expected JSON values
(``JSON_EXPECT``: ``--json path=JSON``), and the helpers the secret headers share.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from mdd.checks._kinds import Kind, carriable_text, nonempty_string, type_name, want_str

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


_HEADER_NAME = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"


def header_name(name: Any) -> str:
    text = want_str(name)
    if not re.fullmatch(_HEADER_NAME, text):
        raise ValueError(f"{text!r} is not a valid HTTP header name")
    return text


def pairs_loader(
    what: str, load_key: Callable[[Any], str], load_value: Callable[[Any], Any]
) -> Callable[[Any], list[tuple[str, Any]]]:
    def load(value: Any) -> list[tuple[str, Any]]:
        if not isinstance(value, Mapping):
            raise ValueError(f"expected a mapping of {what}, got {type_name(value)}")
        return [(load_key(k), load_value(v)) for k, v in value.items()]

    return load


def _header_value(value: Any) -> str:
    text = want_str(value)
    if "\n" in text or "\r" in text:
        raise ValueError("a header value cannot contain a line break")
    return _header_text(text).strip()


def _header_text(text: str) -> str:
    """``text`` if an HTTP header can carry it: Latin-1, no control character but tab."""
    for char in text:
        if char > "\xff":
            raise ValueError(
                f"holds {char!r}, which an HTTP header cannot carry (header values are "
                f"Latin-1 bytes): percent-encode it or leave it out"
            )
        if (char < " " and char != "\t") or "\x7f" <= char < "\xa0":
            raise ValueError(f"holds the control character {char!r}, which a header cannot carry")
    return text  # HTTP drops blanks around a value; so does the command line parser


def split_pair(text: str, sep: str, what: str) -> tuple[str, str]:
    if sep not in text:
        raise ValueError(f"expected {what}, got {text!r}")
    key, _, rest = text.partition(sep)
    return key.strip(), rest.strip() if sep == ":" else rest


def _header_parse(text: str) -> tuple[str, str]:
    name, value = split_pair(text, ":", "'Name: value'")
    return (header_name(name), _header_value(value))


def _json_path(value: Any) -> str:
    text = nonempty_string(value)
    if any(part == "" for part in text.split(".")):
        raise ValueError(f"{text!r} is not a dotted path such as status or checks.db.state")
    if "=" in text:  # the command line writes path=value
        raise ValueError(f"{text!r}: a json path cannot hold '='")
    return text


JSON_DEPTH = 32  # nested lists and objects in an expected JSON value, at most


def _nesting(value: Any) -> int:
    """How deeply lists and mappings nest in ``value``, without recursion."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, Mapping | list):
            level += 1
            deepest = max(deepest, level)
            if level > JSON_DEPTH:
                break
            stack.extend(
                (child, level) for child in (item.values() if isinstance(item, Mapping) else item)
            )
    return deepest


def _too_deep() -> ValueError:
    return ValueError(
        f"the expected value is nested too deeply (over {JSON_DEPTH} levels of lists and objects)"
    )


def _json_expected(value: Any) -> Any:
    import json  # here, not at the top: only http checks need it

    if _nesting(value) > JSON_DEPTH:
        raise _too_deep()
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise ValueError(f"cannot compare with {type_name(value)}") from None
    return _json_strings(value)


def _json_strings(value: Any) -> Any:
    """``value`` with each string in it (keys too) held to the rules of ``carriable_text``."""
    if isinstance(value, str):
        return carriable_text(value)
    if isinstance(value, Mapping):
        return {_json_strings(k): _json_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_strings(item) for item in value]
    return value


def _json_parse(text: str) -> tuple[str, Any]:
    import json

    path, raw = split_pair(text, "=", "'dotted.path=JSON value'")
    try:
        expected = json.loads(raw)
    except RecursionError:
        raise _too_deep() from None
    except ValueError:  # not JSON; a number of more than 4,300 digits
        shown = raw if len(raw) <= 60 else raw[:60] + "..."
        raise ValueError(f"{shown!r} is not a JSON value") from None
    if _nesting(expected) > JSON_DEPTH:
        raise _too_deep()
    return (_json_path(path), expected)


def _json_text(pair: tuple[str, Any]) -> str:
    import json

    return f"{pair[0]}={json.dumps(pair[1], sort_keys=True, separators=(',', ':'))}"


HEADERS = Kind(
    "headers",
    pairs_loader("header names to values", header_name, _header_value),
    _header_parse,
    lambda pair: f"{pair[0]}: {pair[1]}",
    doc="a mapping of header name to value",
    metavar="'NAME: VALUE'",
)
JSON_EXPECT = Kind(
    "json",
    pairs_loader("dotted paths to expected values", _json_path, _json_expected),
    _json_parse,
    _json_text,
    doc="a mapping of dotted path to the value expected there",
    metavar="PATH=JSON",
)
