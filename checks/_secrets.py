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
    except ValueError:
        document = None
    client = document.get("client") if isinstance(document, dict) else None
    _client_definition = client if isinstance(client, dict) else None


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
    as Python writes it escaped, and its UTF-8 bytes read as Latin-1."""
    import json
    from urllib.parse import quote, quote_plus

    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    forms |= {
        json.dumps(secret)[1:-1].replace("/", "\\/"),
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
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
