"""The kinds of value a check option takes: how each is read from a manifest, written to argv
and parsed back (``Kind``), and the kinds themselves (``HOST``, ``DURATION``, ``URL``...).

Check modules import these through ``mdd.checks._options``, the vocabulary of a check type's
declaration. Standard library only: imported by every check on every run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

# typing costs a check ~4 ms per run (with contextlib) and is needed by annotations only;
# type checkers take any constant named TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# --------------------------------------------------------------------------- kinds of value


class Kind:
    """How one kind of value is read from a manifest, written to argv and parsed back.

    ``load`` takes the YAML value of one item (of the whole mapping, for kinds of pairs) and
    returns the canonical value.
    ``parse`` takes the command-line text of one item and returns the same canonical value.
    ``text`` writes a canonical value as command-line text that ``parse`` reads back.
    All three raise ``ValueError`` with a message fit for a human.

    A plain class, not a dataclass: ``dataclasses`` imports ``inspect`` and costs every check
    run about 8 ms.

    ``schema`` (optional): the JSON Schema fragment of one item as a manifest writes it, for
    ``mdd schema``; without it, ``mdd.manifest.schema`` uses its fragment for the kind's name, or
    accepts any value (the reader still checks it).
    """

    __slots__ = ("name", "load", "parse", "text", "doc", "schema", "metavar", "flag_doc")

    def __init__(
        self,
        name: str,
        load: Callable[[Any], Any],
        parse: Callable[[str], Any],
        text: Callable[[Any], str] = str,
        doc: str = "",
        schema: Mapping[str, Any] | None = None,
        metavar: str = "",  # the value in --help; default: the name, in capitals
        flag_doc: str = "",  # how the flag's value is written, when unlike the manifest's
    ) -> None:
        self.name = name
        self.load = load
        self.parse = parse
        self.text = text
        self.doc = doc
        self.schema = schema
        self.metavar = metavar or name.upper().replace(" ", "_")
        self.flag_doc = flag_doc

    def __repr__(self) -> str:
        return f"Kind({self.name!r})"


def type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"number {value}"
    if isinstance(value, float):
        return f"number {value!r}"  # 1.0, not 1: "expected a whole number, got number 1.0"
    if isinstance(value, str):
        return f"string {value!r}" if len(value) <= 60 else f"string {value[:57]!r}..."
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def want_str(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError(
            f"expected a string, got {type_name(value)}: YAML reads unquoted yes/no/on/off/"
            f"true/false as booleans, so quote the value"
        )
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type_name(value)}")
    return carriable_text(value)


def carriable_text(text: str) -> str:
    """``text`` if a command line and a JSON file can carry it; ``ValueError`` if not.

    A NUL cannot be in an argv word (the agent could not start the check). A surrogate pair
    written as two escapes (``"\\ud83d\\ude00"``) is joined into its character; a lone
    surrogate is refused: other JSON parsers (Sensu's Ruby) reject the whole file for one.
    """
    if "\0" in text:
        raise ValueError("holds a NUL character (\\0), which a command line cannot carry")
    if not text.isascii() and re.search("[\ud800-\udfff]", text):
        try:
            text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        except UnicodeDecodeError as exc:
            lone = text.encode("utf-16-le", "surrogatepass")[exc.start : exc.start + 2]
            code = int.from_bytes(lone, "little")
            raise ValueError(
                f"holds a lone surrogate \\u{code:04x} (half of a UTF-16 pair), which is no "
                f"character: write the character itself, or both halves of its pair"
            ) from None
    return text


def nonempty_string(value: Any) -> str:
    text = want_str(value)
    if text == "":
        raise ValueError("must not be empty")
    return text


def _host(value: Any) -> str:
    text = nonempty_string(value)
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if any(c.isspace() for c in text) or "/" in text:
        raise ValueError(f"{text!r} is not a host name or address")
    return _idna(text)


def _idna(host: str) -> str:
    """``host``, if a resolver can be asked for it: a non-ASCII name must encode as IDNA."""
    if len(host) > 253:
        raise ValueError(f"{host[:40]!r}... is too long for a host name (at most 253 characters)")
    if not host.isascii() and ":" not in host:
        try:
            host.encode("idna")
        except UnicodeError as exc:
            raise ValueError(
                f"{host!r} is not a valid internationalized host name (IDNA: {exc})"
            ) from None
    return host


def _port(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected a port number, got {type_name(value)}")
    if isinstance(value, str):
        if not value.strip().isdigit() or len(value.strip()) > 5:
            raise ValueError(f"expected a port number 1-65535, got {type_name(value)[7:]}")
        value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"expected a port number 1-65535, got {type_name(value)}")
    if not 1 <= value <= 65535:
        raise ValueError(f"port must be 1-65535, got {value}")
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {type_name(value)}")
    if isinstance(value, str):
        # The pattern -?\d{1,30}, without compiling it on every check run (\d is isdecimal).
        text = value.strip()
        digits = text[1:] if text.startswith("-") else text
        if 1 <= len(digits) <= 30 and digits.isdecimal():
            value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"expected a whole number, got {type_name(value)}")
    if abs(value) > INT_LIMIT:
        raise ValueError(f"{value} is too large: at most {INT_LIMIT:,}")
    return value


INT_LIMIT = 10**12  # no setting needs more; every such number fits a C long and JSON


def _non_negative_int(value: Any) -> int:
    number = _int(value)
    if number < 0:
        raise ValueError(f"must be 0 or more, got {number}")
    return number


DAYS_LIMIT = 3650  # ten years


def _days(value: Any) -> int:
    number = _non_negative_int(value)
    if number > DAYS_LIMIT:
        raise ValueError(f"{number} days is more than ten years: at most {DAYS_LIMIT}")
    return number


_DURATION = r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*"  # patterns compile on first use
# (multiply, divide): 570ms is 570 / 1000 = 0.57, where 570 * 0.001 would be 0.5700000000000001.
_UNITS = {"ms": (1, 1000), "s": (1, 1), "m": (60, 1), "h": (3600, 1), "d": (86400, 1), None: (1, 1)}


DURATION_LIMIT = 86400.0  # one day: no check waits longer (and setitimer takes it)
_ASCII_DIGITS = frozenset("0123456789")


def _plain_duration(text: str) -> float | None:
    """Seconds of the form every generated command writes (``10s``, ``500ms``, ``1.5m``,
    ``30``), read without the pattern: compiling it cost every check run about a million
    instructions. None for any other form, which the pattern then reads (the tests compare
    the two)."""
    number = text.rstrip("smhd")
    unit = text[len(number) :] or None
    whole, _, fraction = number.partition(".")
    if (
        unit not in _UNITS
        or not whole
        or not set(whole) <= _ASCII_DIGITS
        or not set(fraction) <= _ASCII_DIGITS
        or (number.endswith("."))
    ):
        return None
    multiply, divide = _UNITS[unit]
    return float(number) * multiply / divide


def duration(value: Any, limit: float = DURATION_LIMIT) -> float:
    """Seconds, from a number of seconds or a string such as ``500ms``, ``10s``, ``1m``.

    More than 0 and at most ``limit`` (a day, unless given).
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 10s, got {type_name(value)}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (plain := _plain_duration(value)) is not None:
        seconds = plain
    elif isinstance(value, str):
        total = 0.0
        pos = 0
        text = value.strip()
        while pos < len(text):
            match = re.compile(_DURATION).match(text, pos)
            if not match or match.end() == pos:
                raise ValueError(
                    f"{value!r} is not a duration: write a number of seconds or a number with "
                    f"a unit, such as 500ms, 10s, 1m, 1h or 1m30s"
                )
            multiply, divide = _UNITS[match.group(2)]
            total += float(match.group(1)) * multiply / divide
            pos = match.end()
        if not text:
            raise ValueError("expected a duration such as 10s, got an empty string")
        seconds = total
    else:
        raise ValueError(f"expected a duration such as 10s, got {type_name(value)}")
    if seconds <= 0:
        raise ValueError(f"duration must be more than 0, got {value!r}")
    if not seconds <= limit:  # also NaN
        raise ValueError(
            f"{_shown(value)} is too long: at most {_days_text(limit)} ({duration_text(limit)})"
        )
    return seconds


def _days_text(seconds: float) -> str:
    days = int(seconds // 86400)
    return f"{days} day" if days == 1 else f"{days} days"


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def duration_text(seconds: float) -> str:
    """The shortest text that ``duration`` reads back as ``seconds``."""
    if seconds >= 1 and float(seconds).is_integer():
        return f"{int(seconds)}s"
    millis = seconds * 1000
    if seconds < 1 and float(millis).is_integer():
        return f"{int(millis)}ms"
    text = repr(seconds)
    if "e" in text:  # 1e-06: the duration grammar has no exponents
        from decimal import Decimal

        text = format(Decimal(text), "f")
    return f"{text}s"


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"expected true or false, got {type_name(value)}")


def _regex(value: Any) -> str:
    text = nonempty_string(value)
    try:
        re.compile(text)
    except re.error as exc:
        raise ValueError(f"{text!r} is not a valid regular expression: {exc}") from None
    return text


_STATUS = r"([1-5]\d\d)(?:\s*-\s*([1-5]\d\d))?"


def _status_range(value: Any) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = want_str(value).strip()
    match = re.fullmatch(_STATUS, text)
    if not match:
        raise ValueError(
            f"{text!r} is not an HTTP status: write a code such as 200 or a range such as 200-299"
        )
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if high < low:
        raise ValueError(f"status range {text!r} runs backwards: write {high}-{low}")
    return (low, high)


def _status_text(value: tuple[int, int]) -> str:
    low, high = value
    return str(low) if low == high else f"{low}-{high}"


def _url(value: Any) -> str:
    from urllib.parse import urlsplit

    text = nonempty_string(value).strip()
    if any(c.isspace() for c in text):
        raise ValueError(f"{text!r} contains white space: write a space in a URL as %20")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{text!r} is not an http:// or https:// URL")
    _idna(parts.hostname)
    if parts.password is not None:
        raise ValueError(
            "the URL carries a password: secrets never go into a manifest; put the header in "
            "secret_headers with a file on the agent instead"
        )
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{text!r} has a bad port number") from None
    secret = _secret_query_name(parts.query)
    if secret is not None:
        raise ValueError(
            f"the URL's query has {secret!r}, which carries a secret, and secrets never go "
            f"into a manifest (nor onto a command line): if the service takes it in a header, "
            f"use secret_headers with a file on the agent, such as "
            f"{{Authorization: /etc/sensu/mdd/<name>.token}}"
        )
    if port == 0:
        raise ValueError(f"{text!r} has port 0: a port is 1-65535")
    return text


_URL_HOST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")


def _url_arg(text: str) -> str:
    """The ``url`` option read back from a command line: a plain URL
    (``http[s]://name-or-IPv4[:port][/printable ASCII]``, no query, no user info) is checked
    here without importing ``urllib.parse`` (with ``ipaddress``, a few ms of every http run);
    any other is checked by ``_url``, as a manifest's. Both accept and return the same
    (tests/checks/test_argv.py compares them)."""
    scheme, sep, rest = text.partition("://")
    if (
        scheme in ("http", "https")
        and sep
        and rest.isascii()
        and rest.isprintable()
        and not any(c in rest for c in " @\\[]?")
    ):
        end = min((i for i in (rest.find("/"), rest.find("#")) if i >= 0), default=len(rest))
        host, _, port = rest[:end].partition(":")
        if (
            host
            and len(host) <= 253
            and _URL_HOST.issuperset(host)
            and (not port or (port.isdigit() and 0 < int(port) <= 65535))
        ):
            return text
    return _url(text)


# Query parameters that carry secrets: names holding one of the words, or equal to a name.
_SECRET_QUERY_WORDS = ("token", "secret", "password", "passwd", "apikey", "api_key", "signature")
_SECRET_QUERY_NAMES = frozenset({"key", "auth", "sig", "pwd", "pass", "credential", "session"})


def _secret_query_name(query: str) -> str | None:
    """The first parameter of a URL query whose name says it carries a secret, if any."""
    if not query:
        return None
    from urllib.parse import unquote_plus

    for part in re.split("[&;]", query):
        name = unquote_plus(part.partition("=")[0])
        folded = name.lower().replace("-", "_")
        if folded in _SECRET_QUERY_NAMES or any(w in folded for w in _SECRET_QUERY_WORDS):
            return name
    return None


def _proxy_url(value: Any) -> str:
    from urllib.parse import urlsplit

    text = nonempty_string(value).strip()
    parts = urlsplit(text if "://" in text else f"http://{text}")
    if parts.scheme not in ("http",) or not parts.hostname:
        raise ValueError(f"{text!r} is not an http:// proxy URL such as http://proxy:3128")
    _idna(parts.hostname)
    try:
        port = parts.port
    except ValueError:
        port = None  # _http_exchange.proxy_problems says so (the http and proxy checks' rule)
    if port == 0:
        raise ValueError(f"{text!r} has port 0: a port is 1-65535")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the proxy URL carries credentials: secrets never go into a manifest")
    return text


def _address(value: Any) -> str:
    """``host``, ``host:port`` or ``[v6]:port``."""
    text = nonempty_string(value).strip()
    match = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?|([^:\s\[\]/]+)(?::(\d+))?|([0-9a-fA-F:]+)", text)
    if not match:
        raise ValueError(f"{text!r} is not an address: write host, host:port or [v6addr]:port")
    port = match.group(2) or match.group(4)
    if port is not None:
        _port(port)
    _idna(match.group(1) or match.group(3) or match.group(5))
    return text


def _path(value: Any) -> str:
    text = nonempty_string(value)
    if "\n" in text or "\0" in text:
        raise ValueError("a file path cannot contain a newline")
    return text


STRING = Kind("string", nonempty_string, nonempty_string, doc="text")


# argparse drops a value "--" (even as --command=--) for every option that is not REMAINDER,
# so a word made of backslashes then "--" gets one more backslash on argv, and loses it when
# parsed: -- is written \--, and \-- is written \\--. Every other word is written as it is.
def _dashes(text: str) -> bool:
    """Whether ``text`` is backslashes, then ``--`` (the pattern ``\\\\*--``, not compiled
    on every run)."""
    return text.endswith("--") and not text[:-2].strip("\\")


def _argv_word_text(value: Any) -> str:
    text = nonempty_string(value)
    return "\\" + text if _dashes(text) else text


def _argv_word_parse(text: str) -> str:
    return text[1:] if _dashes(text) and text.startswith("\\") else nonempty_string(text)


ARGV_WORD = Kind(
    "argv word",
    nonempty_string,
    _argv_word_parse,
    _argv_word_text,
    doc="one word of the command line, passed as it is (no shell)",
    metavar="WORD",
)


def _escaped_text(value: Any) -> str:
    """Text with backslash escapes for bytes (``_escapes``), kept as written.

    A control character YAML already decoded (``"PING\\r\\n"`` in double quotes, or a block
    scalar's line break) is written back as its escape: both quotings mean the same bytes,
    and the generated command stays on one line.
    """
    from mdd.checks._escapes import decode_escapes, escape_controls

    text = escape_controls(nonempty_string(value))
    decode_escapes(text)  # raises ValueError on a bad escape
    return text


ESCAPED_TEXT = Kind(
    "text",
    _escaped_text,
    _escaped_text,
    doc="text; \\r \\n \\t \\0 \\\\ and \\xHH stand for bytes (in YAML, in single quotes)",
)
HOST = Kind("host", _host, _host, doc="a DNS name or an IP address")
PORT = Kind("port", _port, _port, doc="1-65535")
INTEGER = Kind("integer", _int, _int, doc="a whole number")
COUNT = Kind("count", _non_negative_int, _non_negative_int, doc="a whole number, 0 or more")
DAYS = Kind("days", _days, _days, doc="a whole number of days, 0-3650")
DURATION = Kind(
    "duration",
    duration,
    duration,
    duration_text,
    doc="seconds, or a number with a unit: 500ms, 10s, 1m (at most 1 day)",
)
BOOLEAN = Kind("boolean", _bool, _bool, doc="true or false")
REGEX = Kind("regex", _regex, _regex, doc="a Python regular expression, searched anywhere")
STATUS = Kind("status", _status_range, _status_range, _status_text, doc="200, or a range 200-299")
URL = Kind("url", _url, _url_arg, doc="an http:// or https:// URL")
PROXY_URL = Kind("proxy", _proxy_url, _proxy_url, doc="http://host:port")
ADDRESS = Kind("address", _address, _address, doc="host, host:port or [v6]:port")


def absolute_path_text(value: Any) -> str:
    text = _path(value)
    if not text.startswith("/"):
        raise ValueError(
            f"{text!r} is a relative path: write the absolute path on the agent (the Sensu "
            f"agent runs checks from its own working folder)"
        )
    return text


PATH = Kind(
    "path", absolute_path_text, absolute_path_text, doc="an absolute file path on the agent"
)
ABSOLUTE_PATH = Kind(
    "absolute path",
    absolute_path_text,
    absolute_path_text,
    doc="an absolute file path on the agent",
)


def choice(*values: str) -> Kind:
    """A kind that accepts exactly one of ``values``."""

    def load(value: Any) -> str:
        text = want_str(value)
        if text not in values:
            raise ValueError(f"expected one of {', '.join(values)}, got {text!r}")
        return text

    return Kind(
        "choice",
        load,
        load,
        doc="one of " + ", ".join(values),
        schema={"enum": values},
        metavar="{" + ",".join(values) + "}",
    )
