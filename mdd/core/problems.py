"""A problem found in a manifest, and the error that carries all of them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

EXCERPT = 60  # characters of a quoted value that a message shows
LONGEST = 600  # characters of a message, whatever it quotes

# A value quoted as Python's repr() quotes it: the opening quote starts a word, the closing
# one ends it (an apostrophe inside a word, as in "check's", opens nothing).
_QUOTED = re.compile(r"""(?<![\w\\])(['"])((?:(?!\1)[^\\]|\\.){61,})\1(?!\w)""")  # 61: EXCERPT + 1


def _cut(match: re.Match[str]) -> str:
    quote, inside = match.group(1), match.group(2)
    return f"{quote}{inside[:EXCERPT]}...{quote} ({len(inside)} characters)"


def one_line(text: str) -> str:
    """``text`` with every character that is not printable (a newline, ESC, a lone surrogate)
    written as its escape (``\\n``, ``\\x1b``, ``\\ud800``), as a check's output line does:
    a file name or value quoted as written then cannot split or garble a problem's line."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


def bounded(message: str) -> str:
    """``message`` with every long quoted value cut to an excerpt, and itself bounded."""
    message = _QUOTED.sub(_cut, message)
    return message if len(message) <= LONGEST else message[: LONGEST - 3] + "..."


@dataclass(frozen=True, order=True)
class Problem:
    """One mistake, where it was written (1-based line and column) and what to do.

    The message is bounded: a long value it quotes (a whole file read as one string, say)
    is cut to an excerpt. File and message are one line each (``one_line``).
    """

    file: str
    line: int
    column: int
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "file", one_line(self.file))
        object.__setattr__(self, "message", bounded(one_line(self.message)))

    def __str__(self) -> str:  # the shape compilers and linters print; editors link it
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class ManifestError(Exception):
    """A manifest has problems; ``problems`` lists every one, sorted by position."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        unique = list(dict.fromkeys(problems))
        self.problems: list[Problem] = sorted(unique, key=lambda p: (p.file, p.line, p.column))
        first = str(self.problems[0]) if self.problems else "no details"
        more = len(self.problems) - 1
        super().__init__(first + (f" (and {more} more)" if more > 0 else ""))
