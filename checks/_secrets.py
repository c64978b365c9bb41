"""Secrets on the agent: read at run time from a file or the environment, never printed.

A manifest refers to a secret (``{file: PATH}``, ``{env: NAME}`` or ``{client: dotted.path}``,
the ``SECRET`` kind of ``_options``); the generated command carries only the reference
(``--password-file PATH``). A ``client`` reference names an attribute of the Sensu Classic
client definition, which sensu-client writes to the check's stdin when the check has
``stdin: true``: ``MddCheck`` reads stdin once, before the probe, and hands the definition to
``use_client_definition``; probes only read it.
``read_secret`` reads the value when the check runs; ``redact`` takes it, and every part of
it a server may echo back, out of any text the check prints. Standard library only.
"""

from __future__ import annotations

import os
import stat

from mdd.checks._result import CheckError

SECRET_LIMIT = 65536  # bytes: a secret file holds one password or token
_PART = 6  # a run of this many characters of a secret found in a text is redacted
MASK = "[secret]"


STDIN_LIMIT = 1 << 20  # bytes of Sensu's stdin document read at most

# The Sensu Classic client definition of this check process (None: none was given). Set once
# by the check's main path before the probe runs; never written by a probe.
_client_definition: dict[str, object] | None = None


def use_client_definition(document_text: str) -> None:
    """Take the client definition out of the JSON Sensu Classic writes to a check's stdin
    (``{"client": {...}, "check": {...}}``); anything else leaves none."""
    import json

    global _client_definition
    try:
        document = json.loads(document_text)
    except (ValueError, RecursionError):  # not JSON; nested too deeply ([[[[... on stdin)
        document = None
    client = document.get("client") if isinstance(document, dict) else None
    _client_definition = client if isinstance(client, dict) else None


def read_client_definition() -> None:
    """Sensu Classic writes its client definition to a check's stdin (``stdin: true``):
    read it once, for the ``{client: ...}`` secrets; a terminal is never waited on."""
    import sys

    stream = sys.stdin
    if stream is None or stream.isatty():
        return
    try:
        text = stream.buffer.read(STDIN_LIMIT).decode("utf-8", "replace")
    except (OSError, ValueError):
        return
    use_client_definition(text)


def _client_attribute(path: str, what: str) -> str:
    if _client_definition is None:
        raise CheckError(
            f"{what}: the client attribute {path} comes from the Sensu Classic client "
            f"definition on the check's stdin, and there is none (the check needs stdin: true "
            f"and must be run by sensu-client)"
        )
    value: object = _client_definition
    for name in path.split("."):
        value = value.get(name) if isinstance(value, dict) else None
    if value is None:
        raise CheckError(f"{what}: the client definition has no attribute {path}")
    if not isinstance(value, str):
        raise CheckError(f"{what}: the client attribute {path} is not a string")
    if not value:
        raise CheckError(f"{what}: the client attribute {path} is empty")
    return value


def read_secret(ref: tuple[str, str], what: str) -> str:
    """The secret ``ref`` points at; ``what`` names it in errors (``the password``).

    A file is opened without blocking and must be a regular file (a FIFO would hang the check
    until its timeout, and the server would be blamed); one trailing newline is cut. Any
    problem raises ``CheckError`` (UNKNOWN: the check cannot decide), never quoting the value.
    """
    source, where = ref
    if source == "client":
        return _client_attribute(where, what)
    if source == "env":
        value = os.environ.get(where)
        if value is None:
            raise CheckError(f"{what}: the environment variable {where} is not set for the check")
        if not value:
            raise CheckError(f"{what}: the environment variable {where} is empty")
        return value
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(where, flags)
    except OSError as exc:
        raise CheckError(f"cannot read {what} from {where}: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise CheckError(f"cannot read {what} from {where}: not a regular file")
        raw = os.read(fd, SECRET_LIMIT + 1)
    except OSError as exc:
        raise CheckError(f"cannot read {what} from {where}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(raw) > SECRET_LIMIT:
        raise CheckError(f"{what} file {where} is larger than 64 KiB: it should hold one secret")
    try:
        value = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CheckError(f"{what} file {where} is not UTF-8 text") from None
    if value.endswith("\n"):
        value = value[:-2] if value.endswith("\r\n") else value[:-1]
    if not value:
        raise CheckError(f"{what} file {where} is empty")
    return value


def _forms(secret: str) -> set[str]:
    """The ways a server may echo ``secret``: as is, JSON-escaped, percent-encoded.

    Written out here rather than with json and urllib.parse, whose imports (with ipaddress)
    would cost every run of a check with a password about 15 million instructions; the
    tests compare both with the standard library's.
    """
    forms = {secret, _json_escaped(secret, True), _json_escaped(secret, False)}
    forms |= {
        _json_escaped(secret, True).replace("/", "\\/"),
        _percent(secret, ""),
        _percent(secret, " ").replace(" ", "+"),
    }
    return {form for form in forms if form}


_JSON_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def _json_escaped(text: str, ascii_only: bool) -> str:
    """``json.dumps(text, ensure_ascii=ascii_only)[1:-1]``."""
    out = []
    for char in text:
        code = ord(char)
        if char in _JSON_ESCAPES:
            out.append(_JSON_ESCAPES[char])
        elif code < 0x20 or (ascii_only and code > 0x7E):
            if code > 0xFFFF:
                code -= 0x10000
                out.append(f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}")
            else:
                out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def _percent(text: str, safe: str) -> str:
    """``urllib.parse.quote(text, safe=safe)``: UTF-8, every byte but the unreserved ones
    (and ``safe``) as %XX."""
    out = []
    for byte in text.encode("utf-8", "surrogatepass"):
        char = chr(byte)
        out.append(char if char in _UNRESERVED or char in safe else f"%{byte:02X}")
    return "".join(out)


def redact(text: str, secrets: list[str] | tuple[str, ...]) -> str:
    """``text`` with every secret, each escaped form of it, and each run of 6 or more of its
    characters (a server that echoes part of a token) replaced by ``[secret]``."""
    if not secrets or not text:
        return text
    marked = [False] * len(text)
    for secret in secrets:
        for form in _forms(secret):
            start = text.find(form)
            while start >= 0:
                for i in range(start, start + len(form)):
                    marked[i] = True
                start = text.find(form, start + 1)
            if len(form) > _PART:
                grams = {form[i : i + _PART] for i in range(len(form) - _PART + 1)}
                for i in range(len(text) - _PART + 1):
                    if text[i : i + _PART] in grams:
                        for j in range(i, i + _PART):
                            marked[j] = True
    if not any(marked):
        return text
    out: list[str] = []
    previous = False
    for char, hidden in zip(text, marked, strict=True):
        if hidden and not previous:
            out.append(MASK)
        elif not hidden:
            out.append(char)
        previous = hidden
    return "".join(out)
