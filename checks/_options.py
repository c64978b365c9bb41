"""The one declaration of a check type's options.

Each check module lists its options as ``Option`` values. That single list drives:

* manifest validation (``Option.load`` turns a YAML value into the canonical value, or
  raises ``ValueError`` with a message a human can act on),
* the command the generator writes (``to_argv``),
* the check's own argument parser (``add_arguments``; the parser turns each flag back into
  the same canonical value),
* the reference docs (``Option.help``, ``Option.kind.name``, ``Option.default``).

Standard library only: this module is imported by every check on every run.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping, Sequence

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
    ``mdd schema``; without it, ``mdd.schema`` uses its fragment for the kind's name, or
    accepts any value (the reader still checks it).
    """

    __slots__ = ("name", "load", "parse", "text", "doc", "schema", "metavar")

    def __init__(
        self,
        name: str,
        load: Callable[[Any], Any],
        parse: Callable[[str], Any],
        text: Callable[[Any], str] = str,
        doc: str = "",
        schema: Mapping[str, Any] | None = None,
        metavar: str = "",  # the value in --help; default: the name, in capitals
    ) -> None:
        self.name = name
        self.load = load
        self.parse = parse
        self.text = text
        self.doc = doc
        self.schema = schema
        self.metavar = metavar or name.upper().replace(" ", "_")

    def __repr__(self) -> str:
        return f"Kind({self.name!r})"


def _type_name(value: Any) -> str:
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


def _want_str(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError(
            f"expected a string, got {_type_name(value)}: YAML reads unquoted yes/no/on/off/"
            f"true/false as booleans, so quote the value"
        )
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {_type_name(value)}")
    return _text(value)


def _text(text: str) -> str:
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


def _string(value: Any) -> str:
    text = _want_str(value)
    if text == "":
        raise ValueError("must not be empty")
    return text


def _host(value: Any) -> str:
    text = _string(value)
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
        raise ValueError(f"expected a port number, got {_type_name(value)}")
    if isinstance(value, str):
        if not value.strip().isdigit() or len(value.strip()) > 5:
            raise ValueError(f"expected a port number 1-65535, got {_type_name(value)[7:]}")
        value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"expected a port number 1-65535, got {_type_name(value)}")
    if not 1 <= value <= 65535:
        raise ValueError(f"port must be 1-65535, got {value}")
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {_type_name(value)}")
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,30}", value.strip()):
        value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"expected a whole number, got {_type_name(value)}")
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


def duration(value: Any, limit: float = DURATION_LIMIT) -> float:
    """Seconds, from a number of seconds or a string such as ``500ms``, ``10s``, ``1m``.

    More than 0 and at most ``limit`` (a day, unless given).
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 10s, got {_type_name(value)}")
    if isinstance(value, int | float):
        seconds = float(value)
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
        raise ValueError(f"expected a duration such as 10s, got {_type_name(value)}")
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
    raise ValueError(f"expected true or false, got {_type_name(value)}")


def _regex(value: Any) -> str:
    text = _string(value)
    try:
        re.compile(text)
    except re.error as exc:
        raise ValueError(f"{text!r} is not a valid regular expression: {exc}") from None
    return text


_STATUS = r"([1-5]\d\d)(?:\s*-\s*([1-5]\d\d))?"


def _status_range(value: Any) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = _want_str(value).strip()
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

    text = _string(value).strip()
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

    text = _string(value).strip()
    parts = urlsplit(text if "://" in text else f"http://{text}")
    if parts.scheme not in ("http",) or not parts.hostname:
        raise ValueError(f"{text!r} is not an http:// proxy URL such as http://proxy:3128")
    _idna(parts.hostname)
    try:
        port = parts.port
    except ValueError:
        port = None  # check_http.validate says so
    if port == 0:
        raise ValueError(f"{text!r} has port 0: a port is 1-65535")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the proxy URL carries credentials: secrets never go into a manifest")
    return text


def _address(value: Any) -> str:
    """``host``, ``host:port`` or ``[v6]:port``."""
    text = _string(value).strip()
    match = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?|([^:\s\[\]/]+)(?::(\d+))?|([0-9a-fA-F:]+)", text)
    if not match:
        raise ValueError(f"{text!r} is not an address: write host, host:port or [v6addr]:port")
    port = match.group(2) or match.group(4)
    if port is not None:
        _port(port)
    _idna(match.group(1) or match.group(3) or match.group(5))
    return text


def _path(value: Any) -> str:
    text = _string(value)
    if "\n" in text or "\0" in text:
        raise ValueError("a file path cannot contain a newline")
    return text


_HEADER_NAME = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"


def _header_name(name: Any) -> str:
    text = _want_str(name)
    if not re.fullmatch(_HEADER_NAME, text):
        raise ValueError(f"{text!r} is not a valid HTTP header name")
    return text


def _pairs_loader(
    what: str, load_key: Callable[[Any], str], load_value: Callable[[Any], Any]
) -> Callable[[Any], list[tuple[str, Any]]]:
    def load(value: Any) -> list[tuple[str, Any]]:
        if not isinstance(value, Mapping):
            raise ValueError(f"expected a mapping of {what}, got {_type_name(value)}")
        return [(load_key(k), load_value(v)) for k, v in value.items()]

    return load


def _header_value(value: Any) -> str:
    text = _want_str(value)
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


def _split_pair(text: str, sep: str, what: str) -> tuple[str, str]:
    if sep not in text:
        raise ValueError(f"expected {what}, got {text!r}")
    key, _, rest = text.partition(sep)
    return key.strip(), rest.strip() if sep == ":" else rest


def _header_parse(text: str) -> tuple[str, str]:
    name, value = _split_pair(text, ":", "'Name: value'")
    return (_header_name(name), _header_value(value))


def _json_path(value: Any) -> str:
    text = _string(value)
    if any(part == "" for part in text.split(".")):
        raise ValueError(f"{text!r} is not a dotted path such as status or checks.db.state")
    if "=" in text:  # the command line writes path=value
        raise ValueError(f"{text!r}: a json path cannot hold '='")
    return text


def _json_expected(value: Any) -> Any:
    import json  # here, not at the top: only http checks need it

    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise ValueError(f"cannot compare with {_type_name(value)}") from None
    return _json_strings(value)


def _json_strings(value: Any) -> Any:
    """``value`` with each string in it (keys too) held to the rules of ``_text``."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, Mapping):
        return {_json_strings(k): _json_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_strings(item) for item in value]
    return value


def _json_parse(text: str) -> tuple[str, Any]:
    import json

    path, raw = _split_pair(text, "=", "'dotted.path=JSON value'")
    try:
        expected = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError(f"{raw!r} is not a JSON value") from None
    return (_json_path(path), expected)


def _json_text(pair: tuple[str, Any]) -> str:
    import json

    return f"{pair[0]}={json.dumps(pair[1], sort_keys=True, separators=(',', ':'))}"


STRING = Kind("string", _string, _string, doc="text")


# argparse drops a value "--" (even as --command=--) for every option that is not REMAINDER,
# so a word made of backslashes then "--" gets one more backslash on argv, and loses it when
# parsed: -- is written \--, and \-- is written \\--. Every other word is written as it is.
_DASHES = re.compile(r"\\*--")


def _argv_word_text(value: Any) -> str:
    text = _string(value)
    return "\\" + text if _DASHES.fullmatch(text) else text


def _argv_word_parse(text: str) -> str:
    return text[1:] if _DASHES.fullmatch(text) and text.startswith("\\") else _string(text)


ARGV_WORD = Kind(
    "argv word",
    _string,
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

    text = escape_controls(_string(value))
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
URL = Kind("url", _url, _url, doc="an http:// or https:// URL")
PROXY_URL = Kind("proxy", _proxy_url, _proxy_url, doc="http://host:port")
ADDRESS = Kind("address", _address, _address, doc="host, host:port or [v6]:port")
PATH = Kind(
    "path",
    lambda value: _absolute_path(value),
    lambda text: _absolute_path(text),
    doc="an absolute file path on the agent",
)
HEADERS = Kind(
    "headers",
    _pairs_loader("header names to values", _header_name, _header_value),
    _header_parse,
    lambda pair: f"{pair[0]}: {pair[1]}",
    doc="a mapping of header name to value",
    metavar="'NAME: VALUE'",
)


def _secret_ref(value: Any) -> tuple[str, str]:
    """A secret header's value: a path (as before), ``{file: /abs/path}`` or ``{env: NAME}``."""
    if isinstance(value, str):
        if value.startswith("env:"):
            raise ValueError(
                "the value reads as a file path starting with 'env:' (not shown: it may be the "
                "secret): write {env: NAME} for an environment variable"
            )
        return ("file", _secret_path(value))
    return _secret(value)


def _secret_header_parse(text: str) -> tuple[str, tuple[str, str]]:
    name, where = _split_pair(text, "=", "'Name=/path' or 'Name=env:VARIABLE'")
    if where.startswith("env:"):
        return (_header_name(name), _secret({"env": where[4:]}))
    return (_header_name(name), ("file", _secret_path(where)))


SECRET_FILES = Kind(
    "secret files",
    _pairs_loader("header names to secret references", _header_name, _secret_ref),
    _secret_header_parse,
    lambda pair: f"{pair[0]}={'env:' if pair[1][0] == 'env' else ''}{pair[1][1]}",
    doc="a mapping of header name to where the agent reads the value: {file: /path}, "
    "{env: VARIABLE}, or a file path",
    metavar="NAME=/PATH",
)
JSON_EXPECT = Kind(
    "json",
    _pairs_loader("dotted paths to expected values", _json_path, _json_expected),
    _json_parse,
    _json_text,
    doc="a mapping of dotted path to the value expected there",
    metavar="PATH=JSON",
)


_ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_CLIENT_PATH = r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*"
# {file: PATH} on the agent, {env: NAME} in its environment, {client: dotted.path}: an
# attribute of the Sensu Classic client definition, which sensu-client writes to the check's
# stdin (never to argv).
SECRET_SOURCES = ("file", "env", "client")
_SECRET_FORMS = "{file: /path/on/agent}, {env: VARIABLE} or {client: attribute.path}"


def _secret(value: Any) -> tuple[str, str]:
    """A reference to a secret on the agent: ``("file", "/abs/path")``, ``("env", "NAME")``
    or ``("client", "dotted.path")``.

    Its errors never quote what was written: in a secret's place it may be the secret."""
    if isinstance(value, str):
        raise ValueError(
            "secrets never go into a manifest: refer to the secret instead, as "
            "{file: /etc/sensu/mdd/<name>.pw} (a file on the agent that the sensu user can "
            "read), {env: MDD_<NAME>} (a variable in the agent's environment) or, for Sensu "
            "Classic, {client: mdd.<name>} (an attribute of the agent's client definition)"
        )
    if not isinstance(value, Mapping) or len(value) != 1:
        raise ValueError(f"expected a secret reference, {_SECRET_FORMS}, got {_type_name(value)}")
    ((source, where),) = value.items()
    if source not in SECRET_SOURCES:
        shown = (
            f"{{{source}: ...}}"  # a word such as vault: never a secret's shape
            if isinstance(source, str) and re.fullmatch(r"[a-z]{1,12}", source)
            else "a mapping with another key (not shown: it may be the secret)"
        )
        raise ValueError(f"a secret reference is {_SECRET_FORMS}, not {shown}")
    if source == "file":
        return ("file", _secret_path(where))
    name = _want_str(where)
    if source == "client":
        if not re.fullmatch(_CLIENT_PATH, name):
            raise ValueError(
                "the client reference is not a client attribute path (not shown: it may be the "
                "secret): write names joined by dots, such as mdd.ldap_password"
            )
        return ("client", name)
    if not re.fullmatch(_ENV_NAME, name):
        raise ValueError(
            "the env reference is not an environment variable name (not shown: it may be the "
            "secret): write one such as MDD_LDAP_PASSWORD"
        )
    return ("env", name)


def _secret_path(value: Any) -> str:
    """The file of a secret reference: an absolute path, never quoted in an error."""
    try:
        return _absolute_path(value)
    except ValueError:
        raise ValueError(
            "the secret's file is not an absolute path (not shown: it may be the secret): "
            "write one such as /etc/sensu/mdd/<name>.pw"
        ) from None


def _absolute_path(value: Any) -> str:
    text = _path(value)
    if not text.startswith("/"):
        raise ValueError(
            f"{text!r} is a relative path: write the absolute path on the agent (the Sensu "
            f"agent runs checks from its own working folder)"
        )
    return text


def _secret_parse_file(text: str) -> tuple[str, str]:
    return ("file", _secret_path(text))


def _secret_parse_env(text: str) -> tuple[str, str]:
    return _secret({"env": text})


def _secret_parse_client(text: str) -> tuple[str, str]:
    return _secret({"client": text})


ABSOLUTE_PATH = Kind(
    "absolute path", _absolute_path, _absolute_path, doc="an absolute file path on the agent"
)
SECRET = Kind(
    "secret",
    _secret,
    _secret_parse_file,
    lambda ref: ref[1],
    doc=_SECRET_FORMS + ": never the secret itself",
)


def choice(*values: str) -> Kind:
    """A kind that accepts exactly one of ``values``."""

    def load(value: Any) -> str:
        text = _want_str(value)
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


# --------------------------------------------------------------------------- options


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


def _argparse_type(kind: Kind) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return kind.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = kind.name  # argparse names the kind in its message
    return convert


def _plain(text: str, options: Sequence[Option] = ()) -> str:
    """Help text without the reStructuredText markup of docstrings: ````name```` becomes the
    flag ``--name`` when it names one of ``options``, else plain ``name``."""
    if "``" not in text:
        return text
    flags = {opt.name: opt.flag for opt in options}
    return re.sub(r"``(.+?)``", lambda m: flags.get(m.group(1), m.group(1)), text, flags=re.S)


def add_arguments(parser: argparse.ArgumentParser, options: Sequence[Option]) -> None:
    """Add one flag per option, each converting to the option's canonical value."""
    for opt in options:
        if opt.kind is SECRET:
            group = parser.add_mutually_exclusive_group(required=opt.required)
            for source, parse, metavar, where in (
                ("file", _secret_parse_file, "PATH", "a file on the agent (trailing newline cut)"),
                ("env", _secret_parse_env, "NAME", "an environment variable of the agent"),
                (
                    "client",
                    _secret_parse_client,
                    "ATTRIBUTE",
                    "an attribute (dotted path) of the Sensu Classic client definition that "
                    "sensu-client writes to the check's stdin (stdin: true)",
                ),
            ):
                group.add_argument(
                    f"{opt.flag}-{source}",
                    dest=opt.name,
                    type=_argparse_type(Kind(opt.kind.name, parse, parse)),
                    default=None,
                    metavar=metavar,
                    help=f"{_plain(opt.help)} Read from {where}.",
                )
            continue
        if opt.kind is BOOLEAN:
            parser.add_argument(
                opt.flag,
                dest=opt.name,
                action=argparse.BooleanOptionalAction,
                default=opt.default,
                help=_plain(opt.help),
            )
            continue
        if opt.default is None:
            default_text = ""
        elif opt.multiple:  # a list of items
            default_text = ", ".join(opt.kind.text(item) for item in opt.default)
        else:
            default_text = opt.kind.text(opt.default)
        repeat = " Repeat the flag for each one." if opt.multiple or opt.pairs else ""
        kwargs: dict[str, Any] = {
            "dest": opt.name,
            "type": _argparse_type(opt.kind),
            "help": _plain(opt.help)
            + repeat
            + (f" (default: {default_text})" if default_text else ""),
            "metavar": opt.kind.metavar,
        }
        if opt.multiple or opt.pairs:
            kwargs["action"] = "append"
            kwargs["default"] = None
        else:
            kwargs["default"] = opt.default
        if opt.required:
            kwargs["required"] = True
        parser.add_argument(opt.flag, **kwargs)


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
