"""The manifest's own keys, declared once as ``Option`` values, and the kinds of their values.

``TOP_LEVEL_KEYS``, ``POINT_KEYS`` and ``SENSU_KEYS`` are the same kind of declaration every
check type uses for its options: the reader validates against them, and the docs generator
writes the manifest reference from them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from mdd.checks._options import (
    INTEGER,
    STRING,
    URL,
    Kind,
    Option,
    _type_name,
    duration,
    duration_text,
)
from mdd.checks.registry import CHECK_TYPES
from mdd.model import SensuSettings

# --------------------------------------------------------------------------- kinds of value

_DATACENTER = re.compile(r"[a-z0-9_-]+")
_POINT_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_SENSU_NAME = re.compile(r"[A-Za-z0-9_.:-]+")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    same = [choice for choice in choices if choice.lower() == word.lower()]
    match = same or difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


_VARS_IN_KEYS = "vars ({{ name }}) are replaced in values, not in keys"


def _datacenter(value: Any) -> str:
    text: str = STRING.load(value)
    if not _DATACENTER.fullmatch(text):
        raise ValueError(
            f"{text!r} cannot name a datacenter: use only lower-case letters, digits, '_' and "
            f"'-' (it becomes part of Sensu names such as mdd_<datacenter>_<point>)"
        )
    return text


def _point_name(value: Any) -> str:
    text: str = STRING.load(value)
    if not _POINT_NAME.fullmatch(text):
        raise ValueError(
            f"{text!r} cannot be part of a Sensu check name (mdd_<datacenter>_<point>), "
            f"which allows only letters, digits, '_', '.' and '-'"
        )
    return text


def _sensu_name(value: Any) -> str:
    text: str = STRING.load(value)
    if not _SENSU_NAME.fullmatch(text):
        raise ValueError(
            f"{text!r} is not a Sensu name: use only letters, digits, '_', '.', ':' and '-'"
        )
    return text


def _docs_url(value: Any) -> str:
    from urllib.parse import urlsplit

    text: str = STRING.load(value).strip()
    if urlsplit(text).password is not None:
        raise ValueError("the link carries a password: secrets never go into a manifest")
    if " " in text:
        raise ValueError(
            f"{text!r} holds a space: write it as %20, or Uchiwa's link stops at the space"
        )
    if any(char.isspace() or not char.isprintable() for char in text):
        raise ValueError(f"{text!r} holds a line break or a control character: a link is one line")
    return str(URL.load(text))


def _check_type(value: Any) -> str:
    text: str = STRING.load(value)
    if text not in CHECK_TYPES:
        raise ValueError(
            f"unknown check type {text!r}{_did_you_mean(text, CHECK_TYPES)}; known types: "
            f"{', '.join(sorted(CHECK_TYPES))}"
        )
    return text


def _seconds(value: Any) -> int:
    seconds = duration(value)
    if not float(seconds).is_integer():
        raise ValueError(
            f"Sensu counts whole seconds, got {duration_text(seconds)}: round it to whole seconds"
        )
    return int(seconds)


def _positive(value: Any) -> int:
    number: int = INTEGER.load(value)
    if number < 1:
        raise ValueError(f"must be 1 or more, got {number}")
    return number


def _mapping(value: Any) -> Any:
    if value is not None and not isinstance(value, Mapping):
        raise ValueError(f"expected a mapping, got {_type_name(value)}")
    return value


def _list(value: Any) -> Any:
    if not isinstance(value, list):
        raise ValueError(f"expected a list, got {_type_name(value)}")
    return value


_TEMPLATE_SCHEMA = {"type": "string", "pattern": r"\{\{"}  # a {{ var }} is resolved later

DATACENTER = Kind(
    "datacenter",
    _datacenter,
    _datacenter,
    doc="lower-case letters, digits, _ and -",
    schema={"type": "string", "pattern": "^[a-z0-9_-]+$"},
)
POINT_NAME = Kind(
    "point name",
    _point_name,
    _point_name,
    doc="letters, digits, _, . and -",
    schema={"anyOf": [{"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"}, _TEMPLATE_SCHEMA]},
)
SENSU_NAME = Kind(
    "sensu name",
    _sensu_name,
    _sensu_name,
    doc="letters, digits, _, ., : and -",
    schema={"anyOf": [{"type": "string", "pattern": "^[A-Za-z0-9_.:-]+$"}, _TEMPLATE_SCHEMA]},
)
DOCS_URL = Kind("url", _docs_url, _docs_url, doc="an http:// or https:// URL, without spaces")
CHECK_TYPE = Kind(
    "check type",
    _check_type,
    _check_type,
    doc="one of " + ", ".join(sorted(CHECK_TYPES)),
    schema={"enum": sorted(CHECK_TYPES)},
)
SECONDS = Kind(
    "duration",
    _seconds,
    _seconds,
    lambda s: duration_text(float(s)),
    doc="whole seconds, or a duration such as 90s, 5m, 1h",
)
POSITIVE = Kind(
    "positive integer",
    _positive,
    _positive,
    doc="a whole number, 1 or more",
    schema={"anyOf": [{"type": "integer", "minimum": 1}, _TEMPLATE_SCHEMA]},
)
VARS = Kind("mapping", _mapping, _mapping, doc="var names to plain text or numbers")
SENSU_BLOCK = Kind("mapping", _mapping, _mapping, doc="Sensu settings (see below)")
CHECK_BLOCK = Kind("mapping", _mapping, _mapping, doc="the check type's options")
POINTS = Kind("list", _list, _list, doc="integration points (see below)")
BASE_FILE = Kind(
    "path", STRING.load, STRING.load, doc="a base manifest, relative to this file's folder"
)
ITEMS = Kind("list", _list, _list, doc="text, numbers, or mappings of them")

# Kinds for which a YAML number is a fine value; elsewhere a number becomes text, and a
# number whose text differs from what was written (1.10 -> "1.1") is reported.
_NUMERIC_KINDS = frozenset(
    {"duration", "port", "integer", "count", "positive integer", "status", "json", "boolean"}
)

# --------------------------------------------------------------------------- the manifest's keys

_DEFAULT_SENSU = SensuSettings()

TOP_LEVEL_KEYS: tuple[Option, ...] = (
    Option(
        "extends",
        BASE_FILE,
        "Shared base manifests this one builds on, weakest first: their vars, sensu "
        "settings and integration points are inherited, and this file's own override them "
        "(see Layers below).",
        multiple=True,
    ),
    Option(
        "datacenter",
        DATACENTER,
        "The datacenter's name. It is part of every Sensu name mdd writes: the checks "
        "mdd_<datacenter>_<point>, the proxy client mdd-<datacenter>, the aggregate "
        "mdd_<datacenter>.",
        required=True,
    ),
    Option(
        "description",
        STRING,
        "What and where the datacenter is, in one line. May use {{ vars }}.",
    ),
    Option(
        "vars",
        VARS,
        "Names for text that repeats, such as the domain: {{ name }} in any text value of "
        "description, sensu and integration_points is replaced by the value. Values are "
        "plain text or numbers and cannot use other vars.",
    ),
    Option(
        "sensu",
        SENSU_BLOCK,
        "Sensu settings for every check of this datacenter (keys below). A point's own "
        "sensu block overrides them key by key.",
    ),
    Option(
        "integration_points",
        POINTS,
        "Every integration point the platform needs in this datacenter: each one is a "
        "check that stays red until the point is delivered.",
        required=True,
    ),
    Option(
        "remove",
        POINT_NAME,
        "Names of inherited integration points this datacenter does not need.",
        multiple=True,
    ),
)

POINT_KEYS: tuple[Option, ...] = (
    Option(
        "name",
        POINT_NAME,
        "Unique within the datacenter; the Sensu check is named mdd_<datacenter>_<name>.",
        required=True,
    ),
    Option(
        "type",
        CHECK_TYPE,
        "The bundled check type that probes the point (`mdd types` lists them).",
        required=True,
    ),
    Option("owner", STRING, "The team that delivers the point: who to talk to while it is red."),
    Option("description", STRING, "What the point is, in one line."),
    Option("docs", DOCS_URL, "A page about the point: runbook, wiki page or ticket."),
    Option(
        "check",
        CHECK_BLOCK,
        "The check type's options (`mdd types show TYPE` lists them). Timeouts must be at "
        "least 1s shorter than the Sensu timeout.",
        required=True,
    ),
    Option(
        "sensu",
        SENSU_BLOCK,
        "Sensu settings for this point only; they override the top-level sensu block key by key.",
    ),
    Option(
        "depends_on",
        POINT_NAME,
        "Names of points of this datacenter that must be delivered before this one can be.",
        multiple=True,
    ),
    Option(
        "for_each",
        ITEMS,
        "Expand this point into one per item: {{ item }} (or {{ item.KEY }}) in its name and "
        "values is replaced by the item (see for_each below).",
    ),
)

SENSU_KEYS: tuple[Option, ...] = (
    Option("interval", SECONDS, "How often the check runs.", default=_DEFAULT_SENSU.interval),
    Option(
        "timeout",
        SECONDS,
        "Sensu kills a check running longer than this; a check's own timeout must be at "
        "least 1s shorter, so the check can say why it failed.",
        default=_DEFAULT_SENSU.timeout,
    ),
    Option(
        "handlers",
        SENSU_NAME,
        "The Sensu handlers of the check's events; [] for none. Without it, Sensu sends "
        "the events to its handler named default.",
        multiple=True,
    ),
    Option(
        "occurrences",
        POSITIVE,
        "Handle an event only after this many failed runs in a row (with the occurrences filter).",
    ),
    Option(
        "refresh",
        SECONDS,
        "Handle a lasting event again only this often (with the occurrences filter).",
    ),
    Option(
        "ttl",
        SECONDS,
        "Raise an event when no result arrived for this long; longer than the interval.",
    ),
    Option(
        "subscribers",
        SENSU_NAME,
        "Sensu subscriptions whose agents run the checks, scheduled by the Sensu server. "
        "Without it the checks are standalone: each agent that has them schedules them.",
        multiple=True,
    ),
)

_TOP = {opt.name: opt for opt in TOP_LEVEL_KEYS}
_POINT = {opt.name: opt for opt in POINT_KEYS}
_SENSU = {opt.name: opt for opt in SENSU_KEYS}
_CHECK_MARGIN = 1.0  # seconds a check's timeout must stay below the Sensu timeout
