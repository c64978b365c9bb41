"""The manifest's own keys, declared once as ``Option`` values, and the kinds of their values.

``TOP_LEVEL_KEYS``, ``POINT_KEYS`` and ``SENSU_KEYS`` are the same kind of declaration every
check type uses for its options: the reader validates against them, and the docs generator
writes the manifest reference from them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mdd.checks.api import (
    BOOLEAN,
    INTEGER,
    STRING,
    URL,
    Kind,
    Option,
    duration,
    duration_text,
    type_name,
)
from mdd.checks.registry import CHECK_TYPES
from mdd.core.model import SensuSettings
from mdd.sensu import go_rules
from mdd.sensu.classic_rules import cron_parses as classic_cron_parses

# --------------------------------------------------------------------------- kinds of value

_DATACENTER = re.compile(r"[a-z0-9_-]+")
_POINT_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_SENSU_NAME = re.compile(r"[A-Za-z0-9_.:-]+")
_SUBSCRIPTION = re.compile(r"[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)?")
_ASSET_NAME = re.compile(r"[A-Za-z0-9_/.:-]+")
VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    same = [choice for choice in choices if choice.lower() == word.lower()]
    match = same or difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


VARS_IN_KEYS = "vars ({{ name }}) are replaced in values, not in keys"


def _spelled(pattern: re.Pattern[str], refusal: str) -> Callable[[Any], str]:
    """The loader of a text ``pattern`` matches whole; ``refusal`` says why another text is
    refused (``{text!r}`` in it stands for the text)."""

    def load(value: Any) -> str:
        text: str = STRING.load(value)
        if not pattern.fullmatch(text):
            raise ValueError(refusal.format(text=text))
        return text

    return load


_datacenter = _spelled(
    _DATACENTER,
    "{text!r} cannot name a datacenter: use only lower-case letters, digits, '_' and "
    "'-' (it becomes part of Sensu names such as mdd_<datacenter>_<point>)",
)
_point_name = _spelled(
    _POINT_NAME,
    "{text!r} cannot be part of a Sensu check name (mdd_<datacenter>_<point>), "
    "which allows only letters, digits, '_', '.' and '-'",
)
_sensu_name = _spelled(
    _SENSU_NAME, "{text!r} is not a Sensu name: use only letters, digits, '_', '.', ':' and '-'"
)


def _subscription(value: Any) -> str:
    text = _sensu_name(value)
    if text.startswith("direct:"):
        raise ValueError(
            f"{text!r}: Sensu Classic's direct: subscriptions have no Sensu Go counterpart; "
            f"for one agent at a time, set round_robin: true"
        )
    if not _SUBSCRIPTION.fullmatch(text):
        raise ValueError(
            f"{text!r} is not a subscription name both Sensu Classic and Sensu Go read: use "
            f"letters, digits, '_', '.' and '-', with at most one ':' inside"
        )
    return text


def _cron(value: Any) -> str:
    text: str = STRING.load(value).strip()
    if text.startswith("@every") or text.startswith(("CRON_TZ=", "TZ=")):
        raise ValueError(
            f"{text!r} is Sensu Go only: Sensu Classic cannot read it; write 5 fields "
            f"(minute hour day-of-month month day-of-week), or use interval"
        )
    if not (classic_cron_parses(text) and go_rules.cron_parses(text)):
        raise ValueError(
            f"{text!r} is not a cron schedule both Sensu Classic and Sensu Go read: write 5 "
            f"fields, minute (0-59) hour (0-23) day-of-month (1-31) month (1-12) day-of-week "
            f"(0-6, Sunday is 0), each *, */N, N, N-M or N-M/S, or lists of those, such as "
            f"'*/5 * * * *' or '0 6 * * 1-5'"
        )
    return text


_asset_name = _spelled(
    _ASSET_NAME,
    "{text!r} is not a Sensu Go asset name: use letters, digits, '_', '/', '.', ':' and '-'",
)


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
    unsafe = sorted({char for char in text if char in _UNSAFE_IN_LINKS})
    if unsafe:
        raise ValueError(
            f"{text!r} holds {' '.join(unsafe)}: a link cannot hold quotes, angle brackets, "
            f"backticks or backslashes (they would end it early in Markdown and HTML); "
            f'percent-encode them (" is %22, < is %3C, > is %3E)'
        )
    return str(URL.load(text))


_UNSAFE_IN_LINKS = "\"'<>`\\"


def _text(value: Any) -> str:
    """One line a human reads (an owner, a description): no control characters, which a
    terminal would act on (ESC retitles or clears it) when the board or the docs show it."""
    text: str = STRING.load(value)
    bad = sorted({char for char in text if not char.isprintable()})
    if bad:
        shown = ", ".join(ascii(char)[1:-1] for char in bad[:5])
        raise ValueError(
            f"'{ascii(text)[1:-1][:80]}' holds a control or invisible character ({shown}), "
            f"which would act on a terminal that shows it: write plain text on one line"
        )
    return text


def _check_type(value: Any) -> str:
    text: str = STRING.load(value)
    if text not in CHECK_TYPES:
        raise ValueError(
            f"unknown check type {text!r}{did_you_mean(text, CHECK_TYPES)}; known types: "
            f"{', '.join(sorted(CHECK_TYPES))}"
        )
    return text


SECONDS_LIMIT = 7 * 86400.0  # a week: Sensu intervals, timeouts, ttl and refresh


def _seconds(value: Any) -> int:
    seconds = duration(value, SECONDS_LIMIT)
    if not float(seconds).is_integer():
        raise ValueError(
            f"Sensu counts whole seconds, got {duration_text(seconds)}: round it to whole seconds"
        )
    return int(seconds)


TTL_MINIMUM = 5  # Sensu Go: event.Validate() "minimum ttl is 5 seconds"


def _ttl(value: Any) -> int:
    seconds = _seconds(value)
    if seconds < TTL_MINIMUM:
        raise ValueError(
            f"Sensu Go refuses every event of a check whose ttl is under {TTL_MINIMUM}s "
            f"('minimum ttl is 5 seconds', although sensuctl create takes the check), got "
            f"{duration_text(float(seconds))}: give {TTL_MINIMUM}s or more"
        )
    return seconds


def _positive(value: Any) -> int:
    number: int = INTEGER.load(value)
    if number < 1:
        raise ValueError(f"must be 1 or more, got {number}")
    return number


def _mapping(value: Any) -> Any:
    if value is not None and not isinstance(value, Mapping):
        raise ValueError(f"expected a mapping, got {type_name(value)}")
    return value


def _list(value: Any) -> Any:
    if not isinstance(value, list):
        raise ValueError(f"expected a list, got {type_name(value)}")
    return value


def _command_prefix(value: Any) -> str:
    text: str = STRING.load(value)
    if any(char.isspace() or not char.isprintable() for char in text):
        raise ValueError(
            f"{text!r} holds white space or a control character: the folder of the check "
            f"commands must be one plain absolute path, such as /opt/mdd/bin"
        )
    if not text.startswith("/"):
        raise ValueError(
            f"{text!r} is a relative path: write the absolute folder of the check commands on "
            f"the agents, such as /opt/mdd/bin (the Sensu client runs checks from its own "
            f"working folder)"
        )
    if ":::" in text:
        raise ValueError(
            "':::' is not allowed: Sensu Classic replaces :::name::: in check commands"
        )
    return text.rstrip("/") or "/"


_TEMPLATE_SCHEMA = {"type": "string", "pattern": r"\{\{"}  # a {{ var }} is resolved later


def _kind(
    name: str,
    read: Callable[[Any], Any],
    doc: str,
    schema: Mapping[str, Any] | None = None,
    text: Callable[[Any], str] = str,
) -> Kind:
    """A kind of value of the manifest's own keys: never on a command line, so one function
    reads it (``Kind``'s load and parse alike)."""
    return Kind(name, read, read, text, doc=doc, schema=schema)


def _whole(pattern: re.Pattern[str]) -> str:
    """``pattern`` as a JSON Schema pattern of a whole string."""
    return f"^{pattern.pattern}$"


_SECONDS_TEXT = "whole seconds, or a duration such as 90s, 5m, 1h"

DATACENTER = _kind(
    "datacenter",
    _datacenter,
    "lower-case letters, digits, _ and -",
    {"type": "string", "pattern": _whole(_DATACENTER)},
)
POINT_NAME = _kind(
    "point name",
    _point_name,
    "letters, digits, _, . and -",
    {"anyOf": [{"type": "string", "pattern": _whole(_POINT_NAME)}, _TEMPLATE_SCHEMA]},
)
SENSU_NAME = _kind(
    "sensu name",
    _sensu_name,
    "letters, digits, _, ., : and -",
    {"anyOf": [{"type": "string", "pattern": _whole(_SENSU_NAME)}, _TEMPLATE_SCHEMA]},
)
_STRING_SCHEMA: Mapping[str, Any] = {"type": "string"}
SUBSCRIPTION = _kind(
    "subscription",
    _subscription,
    "letters, digits, _, . and -, with at most one : inside",
    _STRING_SCHEMA,
)
CRON = _kind(
    "cron",
    _cron,
    "5 cron fields, such as '*/5 * * * *' (quote it: YAML reads a leading * as an alias)",
    _STRING_SCHEMA,
)
ASSET_NAME = _kind("asset name", _asset_name, "letters, digits, _, /, ., : and -", _STRING_SCHEMA)
DOCS_URL = _kind(
    "url", _docs_url, "an http:// or https:// URL, without spaces, quotes or angle brackets"
)
TEXT = _kind("string", _text, "text on one line, without control characters")
CHECK_TYPE = _kind(
    "check type",
    _check_type,
    "one of " + ", ".join(sorted(CHECK_TYPES)),
    {"enum": sorted(CHECK_TYPES)},
)
SECONDS = _kind(
    "duration",
    _seconds,
    f"{_SECONDS_TEXT} (at most 7 days)",
    text=lambda s: duration_text(float(s)),
)
TTL = _kind(
    "duration",
    _ttl,
    f"{_SECONDS_TEXT}: 5s or more (Sensu Go's minimum), at most 7 days",
    text=SECONDS.text,
)
COMMAND_PREFIX = _kind(
    "folder", _command_prefix, "an absolute folder on the agents, such as /opt/mdd/bin"
)
POSITIVE = _kind(
    "positive integer",
    _positive,
    "a whole number, 1 or more",
    {"anyOf": [{"type": "integer", "minimum": 1}, _TEMPLATE_SCHEMA]},
)
VARS = _kind("mapping", _mapping, "var names to plain text or numbers")
SENSU_BLOCK = _kind("mapping", _mapping, "Sensu settings (see below)")
CHECK_BLOCK = _kind("mapping", _mapping, "the check type's options")
POINTS = _kind("list", _list, "integration points (see below)")
BASE_FILE = _kind(
    "path",
    STRING.load,
    "a base manifest, relative to this file's folder",
    {"type": "string", "minLength": 1},  # relative, unlike the agents' paths
)
ITEMS = _kind("list", _list, "text, numbers, or mappings of them")

# Kinds for which a YAML number is a fine value; elsewhere a number becomes text, and a
# number whose text differs from what was written (1.10 -> "1.1") is reported.
NUMERIC_KINDS = frozenset(
    {
        "duration",
        "port",
        "integer",
        "count",
        "pings",
        "days",
        "positive integer",
        "status",
        "json",
        "boolean",
    }
)

# --------------------------------------------------------------------------- the manifest's keys

DEFAULT_SENSU = SensuSettings()

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
        TEXT,
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
    Option("owner", TEXT, "The team that delivers the point: who to talk to while it is red."),
    Option("description", TEXT, "What the point is, in one line."),
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
    Option("interval", SECONDS, "How often the check runs.", default=DEFAULT_SENSU.interval),
    Option(
        "cron",
        CRON,
        "When the check runs, as a cron schedule, in place of the interval: give one of the "
        "two in a sensu block, not both (a point's own interval or cron overrides the "
        "top-level one). A ttl is then not compared with the interval: make it longer than "
        "the longest gap between two runs.",
    ),
    Option(
        "timeout",
        SECONDS,
        "Sensu kills a check running longer than this; a check's own timeout must be at "
        "least 1s shorter, so the check can say why it failed.",
        default=DEFAULT_SENSU.timeout,
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
        TTL,
        "Raise an event when no result arrived for this long; longer than the interval.",
    ),
    Option(
        "subscribers",
        SUBSCRIPTION,
        "Sensu subscriptions whose agents run the checks, scheduled by the Sensu server. "
        "Without it, Sensu Classic checks are standalone (each agent that has them schedules "
        "them) and Sensu Go checks go to the subscription mdd-<datacenter> (Sensu Go has no "
        "standalone checks).",
        multiple=True,
    ),
    Option(
        "round_robin",
        BOOLEAN,
        "Each run goes to one agent of the subscription, in turn, instead of to all of them "
        "(Sensu Classic: mdd writes each subscription as roundrobin:NAME; Sensu Go: "
        "round_robin: true, which Sensu Go 7 no longer schedules). Without subscribers, the "
        "subscription is mdd-<datacenter>.",
        default=DEFAULT_SENSU.round_robin,
    ),
    Option(
        "runtime_assets",
        ASSET_NAME,
        "Sensu Go assets the check runs from, such as mdd-checks (built by `mdd asset "
        "build`); `mdd generate --runtime-assets` adds to them. Sensu Classic has no assets "
        "and leaves it out.",
        multiple=True,
    ),
    Option(
        "command_prefix",
        COMMAND_PREFIX,
        "The folder that holds the check commands on the agents, such as /opt/mdd/bin (a "
        "virtualenv's bin/): every command is then written with its absolute path, so it "
        "runs whatever the Sensu client's PATH. Without it, commands are bare names "
        "(check-mdd-tcp) found on that PATH. `mdd generate --command-prefix DIR` overrides it.",
    ),
)

TOP = {opt.name: opt for opt in TOP_LEVEL_KEYS}
POINT = {opt.name: opt for opt in POINT_KEYS}
SENSU = {opt.name: opt for opt in SENSU_KEYS}
CHECK_MARGIN = 1.0  # seconds a check's timeout must stay below the Sensu timeout
