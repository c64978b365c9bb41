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

from mdd.checks._result import CheckError, printable

SECRET_LIMIT = 65536  # bytes: a secret file holds one password or token
_CUTS = 100  # "..." in one text looked behind for the start of a secret, at most
_SHORTEST = 4  # characters: an encoded form (or a cut start) shorter than this is not masked
MASK = "[secret]"


STDIN_LIMIT = 1 << 20  # bytes of Sensu's stdin document read at most
STDIN_WAIT = 0.5  # seconds waited for it: sensu-client writes it as it starts the check

# The Sensu Classic client definition of this check process (None: none was given). Set once
# by the check's main path before the probe runs; never written by a probe.
_client_definition: dict[str, object] | None = None
_stdin_problem = ""  # why there is none, when stdin held something that is not one


def use_client_definition(document_text: str) -> None:
    """Take the client definition out of the JSON Sensu Classic writes to a check's stdin
    (``{"client": {...}, "check": {...}}``); anything else leaves none."""
    import json

    global _client_definition, _stdin_problem
    _stdin_problem = ""
    try:
        document = json.loads(document_text)
    except RecursionError:
        document, _stdin_problem = None, "stdin held JSON nested too deeply to read"
    except ValueError:
        document = None
        if document_text.strip():
            _stdin_problem = "stdin held something that is not a JSON document"
    client = document.get("client") if isinstance(document, dict) else None
    _client_definition = client if isinstance(client, dict) else None


def read_client_definition(wait: float = STDIN_WAIT) -> None:
    """Sensu Classic writes its client definition to a check's stdin (``stdin: true``) and
    closes it: read it once, for the ``{client: ...}`` secrets. Never more than
    ``STDIN_LIMIT`` bytes, and never longer than ``wait`` seconds: a Sensu (or anything
    else) that keeps stdin open without writing cannot hold the check past its timeout; a
    document complete before stdin closes is taken at once. A terminal is never read."""
    import select
    import sys
    import time

    global _stdin_problem
    stream = sys.stdin
    try:
        if stream is None or stream.isatty():
            return
        fd = stream.fileno()
    except (OSError, ValueError):
        return
    deadline = time.monotonic() + wait
    data = b""
    waited_out = False
    while len(data) <= STDIN_LIMIT:
        left = deadline - time.monotonic()
        try:
            ready = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                waited_out = True
                break
            chunk = os.read(fd, STDIN_LIMIT + 1 - len(data))
        except (OSError, ValueError):
            break
        if not chunk:
            break
        data += chunk
        if data.rstrip().endswith(b"}") and _complete(data):
            break
    else:
        _stdin_problem = f"stdin held more than {STDIN_LIMIT >> 20} MiB"
        return
    use_client_definition(data.decode("utf-8", "replace"))
    if not data and waited_out:
        _stdin_problem = f"stdin stayed open and empty for {wait:g} s"


def _complete(data: bytes) -> bool:
    import json

    try:
        json.loads(data)
    except (ValueError, RecursionError):
        return False
    return True


def _client_attribute(path: str, what: str) -> str:
    if _client_definition is None:
        why = f": {_stdin_problem}" if _stdin_problem else ""
        raise CheckError(
            f"{what}: the client attribute {path} comes from the Sensu Classic client "
            f"definition on the check's stdin, and there is none{why} (the check needs stdin: "
            f"true and must be run by sensu-client)"
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


def _base64_forms(data: bytes) -> set[str]:
    """``data`` as it shows inside any base64 text (standard or URL-safe alphabet) that holds
    it at any of the three byte alignments (``user:password`` in a Basic token): only the
    characters made of ``data``'s bits alone."""
    import base64

    forms = set()
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + data).decode("ascii")
        start = (0, 2, 3)[shift]
        end = (8 * (shift + len(data))) // 6
        part = encoded[start:end]
        forms |= {part, part.replace("+", "-").replace("/", "_")}
    return forms


def _forms(secret: str) -> set[str]:
    """The ways a text may show ``secret``: as is, JSON-escaped, percent-encoded, base64,
    as Python writes it escaped, and its UTF-8 bytes read as Latin-1.

    JSON and percent-encoding are written out here rather than with json and urllib.parse,
    whose imports (with ipaddress) would cost every run of a check with a password about 15
    million instructions; the tests compare both with the standard library's.
    """
    forms = {secret, _json_escaped(secret, True), _json_escaped(secret, False)}
    forms |= {
        _json_escaped(secret, True).replace("/", "\\/"),
        _percent(secret, ""),
        _percent(secret, "/"),
        _percent(secret, " ").replace(" ", "+"),
        ascii(secret)[1:-1],
        secret.encode("unicode_escape").decode("ascii"),
        printable(secret),
        secret.encode("utf-8", "surrogatepass").decode("latin-1"),
    }
    forms |= _base64_forms(secret.encode("utf-8", "surrogatepass"))
    scheme, space, credentials = secret.partition(" ")
    if space and scheme.isalpha() and len(credentials) >= _SHORTEST:
        forms |= _forms(credentials)  # an Authorization value's token, echoed without its scheme
    return {_folded(form) for form in forms if len(form) >= min(len(secret), _SHORTEST)}


def _folded(text: str) -> str:
    """``text`` in lower case, one character for one (so positions stay the same)."""
    lower = text.lower()
    if len(lower) == len(text):
        return lower
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


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
    """``text`` with every secret, and every encoded form of it a server or a library may
    echo (JSON, percent-encoding, base64, Python escapes, any case), replaced by
    ``[secret]``; and the start of a secret that a cut left just before ``...``.

    Only the secret and its encodings: a database or user name that shares a few characters
    with a password stays readable (the reason a human needs)."""
    if not secrets or not text:
        return text
    folded = _folded(text)
    marked = [False] * len(text)
    for secret in secrets:
        if not secret:
            continue
        for form in _forms(secret):
            start = folded.find(form)
            while start >= 0:
                marked[start : start + len(form)] = [True] * len(form)
                start = folded.find(form, start + 1)
            # a text cut after the start of a secret: ``key=8f3a9c...``
            cut, cuts = folded.find("..."), 0
            while cut >= 0 and cuts < _CUTS:
                cuts += 1
                for size in range(min(len(form), cut), _SHORTEST - 1, -1):
                    if folded[cut - size : cut] == form[:size]:
                        marked[cut - size : cut] = [True] * size
                        break
                cut = folded.find("...", cut + 1)
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
