"""The one declaration of a check type's options.

Each check module lists its options as ``Option`` values, each of one ``Kind`` of value
(``_kinds``, ``_pair_kinds``, ``_secret_kinds``). That single list drives:

* manifest validation (``Option.load`` turns a YAML value into the canonical value, or
  raises ``ValueError`` with a message a human can act on),
* the command the generator writes (``to_argv``),
* the check's own command-line parser (``_argv.parse_argv``; it turns each flag back into
  the same canonical value, and ``_argv.add_arguments`` builds the argparse parser for help
  and errors),
* the reference docs (``Option.help``, ``Option.kind.name``, ``Option.default``).

This module is the vocabulary a check type declares with: it re-exports the kinds.
Standard library only: this module is imported by every check on every run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mdd.checks._argv import add_arguments
from mdd.checks._kinds import (
    ABSOLUTE_PATH,
    ADDRESS,
    ARGV_WORD,
    BOOLEAN,
    COUNT,
    DAYS,
    DAYS_LIMIT,
    DURATION,
    DURATION_LIMIT,
    ESCAPED_TEXT,
    HOST,
    INT_LIMIT,
    INTEGER,
    PATH,
    PORT,
    PROXY_URL,
    REGEX,
    STATUS,
    STRING,
    URL,
    Kind,
    choice,
    duration,
    duration_text,
    type_name,
)
from mdd.checks._pair_kinds import HEADERS, JSON_EXPECT
from mdd.checks._secret_kinds import SECRET, SECRET_FILES, SECRET_SOURCES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "ABSOLUTE_PATH",
    "ADDRESS",
    "ARGV_WORD",
    "BOOLEAN",
    "COMMON_OPTIONS",
    "COUNT",
    "DAYS",
    "DAYS_LIMIT",
    "DURATION",
    "DURATION_LIMIT",
    "ESCAPED_TEXT",
    "HEADERS",
    "HOST",
    "INTEGER",
    "INT_LIMIT",
    "JSON_EXPECT",
    "Kind",
    "Option",
    "PATH",
    "POINT",
    "PORT",
    "PROXY_URL",
    "REGEX",
    "SECRET",
    "SECRET_FILES",
    "SECRET_SOURCES",
    "STATUS",
    "STRING",
    "TIMEOUT",
    "URL",
    "add_arguments",
    "choice",
    "duration",
    "duration_text",
    "endpoint",
    "time_thresholds",
    "timed",
    "to_argv",
    "type_name",
]


class Option:
    """One option of a check type: a manifest key, a command-line flag, a docs row."""

    __slots__ = ("name", "kind", "help", "required", "default", "multiple", "pairs")

    def __init__(
        self,
        name: str,
        kind: Kind,
        help: str,
        required: bool = False,
        default: Any = None,
        multiple: bool = False,  # a list in the manifest, a repeated flag on the command line
        pairs: bool = False,  # a mapping in the manifest, a repeated flag on the command line
    ) -> None:
        self.name = name
        self.kind = kind
        self.help = help
        self.required = required
        self.default = default
        self.multiple = multiple
        self.pairs = pairs

    def __repr__(self) -> str:
        return f"Option({self.name!r}, {self.kind!r})"

    @property
    def flag(self) -> str:
        """The command-line flag; decided here and nowhere else."""
        return "--" + self.name.replace("_", "-")

    def load(self, value: Any) -> Any:
        """Manifest value -> canonical value. Raises ``ValueError`` with a human message."""
        if self.pairs:
            return self.kind.load(value)
        if self.multiple:
            items = value if isinstance(value, list) else [value]
            if not items:
                raise ValueError("the list is empty: give at least one value or leave it out")
            return [self.kind.load(item) for item in items]
        return self.kind.load(value)

    def argv(self, value: Any) -> list[str]:
        """Canonical value -> command-line words (nothing when it equals the default)."""
        if value is None or value == self.default:
            return []
        if self.kind is BOOLEAN:
            return [self.flag] if value else ["--no-" + self.flag[2:]]
        if self.kind is SECRET:  # --password-file PATH, --password-env NAME, --password-client A
            source, where = value
            return self._words(where, f"{self.flag}-{source}")
        if self.multiple or self.pairs:
            words: list[str] = []
            for item in value:
                words += self._words(self.kind.text(item))
            return words
        return self._words(self.kind.text(value))

    def _words(self, text: str, flag: str | None = None) -> list[str]:
        # argparse takes a separate word that starts with "-" for another flag ("--send -x"
        # fails), so such a value is joined to its flag: "--send=-x".
        flag = flag or self.flag
        return [f"{flag}={text}"] if text.startswith("-") else [flag, text]


def to_argv(options: Sequence[Option], values: Mapping[str, Any]) -> list[str]:
    """Canonical values -> the command-line words that ``add_arguments`` parses back."""
    words: list[str] = []
    for opt in options:
        if opt.name in values:
            words += opt.argv(values[opt.name])
    return words


# Options every check takes, set by the generator rather than by the manifest's check block.
POINT = Option(
    "point",
    STRING,
    "The integration point's name, put at the start of the message.",
)
COMMON_OPTIONS: tuple[Option, ...] = (POINT,)

TIMEOUT = Option("timeout", DURATION, "Give up after this long.", default=10.0)


def time_thresholds(what: str) -> tuple[Option, Option]:
    """``warn`` and ``crit``: thresholds on the time ``what`` takes ("connecting")."""
    return (
        Option("warn", DURATION, f"WARNING when {what} takes longer than this."),
        Option("crit", DURATION, f"CRITICAL when {what} takes longer than this."),
    )


def timed(what: str, give_up: str = "") -> tuple[Option, Option, Option]:
    """``timeout`` (``TIMEOUT``, or one whose help is ``give_up``), then ``warn`` and
    ``crit`` on the time ``what`` takes (``time_thresholds``)."""
    timeout = Option("timeout", DURATION, give_up, default=TIMEOUT.default) if give_up else TIMEOUT
    return (timeout, *time_thresholds(what))


def endpoint(
    port: int | None = None, host: str = "to connect to", port_help: str = "TCP port."
) -> tuple[Option, Option]:
    """``host`` (required; its help ``Host name or address <host>.``) and ``port`` (its help
    ``port_help``): required when the type has no default ``port``."""
    return (
        Option("host", HOST, f"Host name or address {host}.", required=True),
        Option("port", PORT, port_help, required=port is None, default=port),
    )
