"""ldap: an LDAP directory lets the platform's service account bind and search.

Connects to ``url`` (``ldap://host:port`` or ``ldaps://host:port``; default ports 389 and
636), with ``starttls: true`` upgrades an ``ldap://`` connection with StartTLS, and binds as
``bind_dn`` with ``password`` (a secret reference: ``{file: /path}`` or ``{env: NAME}``, read
on the agent when the check runs; the command line carries only the reference). Without
``bind_dn`` the check works anonymously.

With ``base`` it then searches from ``base`` with ``filter`` (default ``(objectClass=*)``)
and ``scope`` (``base``: the entry itself, ``one``: its children, ``sub``: the whole subtree,
the default), asking for no attributes, and counts every entry returned, the base entry too
where the scope includes it: there must be at least ``min_entries`` (default 1) and at most
``max_entries``. Without ``base`` and without ``bind_dn`` it reads the root DSE, which
proves the server answers LDAP. Referrals are never followed.

TLS is verified against the system's CAs, or against ``ca_file``, for the URL's host name.
Every network step (name lookup, connect, handshake, each answer) shares the one
``timeout``; ``warn`` and ``crit`` are thresholds on the time the whole exchange took.

A refused bind reads ``bind as cn=svc,dc=example,dc=net rejected: invalidCredentials``; the
password never appears in the command, the output or an error message.

Beside monitoring-plugins' ``check_ldap -3``: the same verdict (OK or CRITICAL) for a good
bind and search, a refused bind, a missing base and a dead server (tested); ``check_ldap``
takes the password on its command line (``-P``), where every user of the agent can read it,
and counts entries only with ``-W``/``-C`` thresholds (WARNING or CRITICAL), where
``min_entries``/``max_entries`` are CRITICAL.
"""

from __future__ import annotations

import re
import socket
import time

from mdd.checks._base import main_of
from mdd.checks._budget import deadline as budget_deadline
from mdd.checks._handshake import HandshakeFailed, handshake
from mdd.checks._ldap_wire import (
    BIND_RESPONSE,
    EXTENDED_RESPONSE,
    MAX_MESSAGE,
    SEARCH_DONE,
    SEARCH_ENTRY,
    SEARCH_REFERENCE,
    Answer,
    BadFilter,
    ProtocolError,
    Reader,
    TooLarge,
    bind_request,
    message,
    search_request,
    starttls_request,
    unbind_request,
)
from mdd.checks._net import host_port, open_connection
from mdd.checks._options import (
    ABSOLUTE_PATH,
    BOOLEAN,
    COUNT,
    SECRET,
    Kind,
    Option,
    choice,
    duration_text,
    timed,
)
from mdd.checks._result import CheckError, CheckFailed, Perf, Result, State, timed_result
from mdd.checks._secrets import read_secret, redact
from mdd.checks._shared import redacting, threshold_rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping
    from typing import Any, Protocol

    from mdd.checks._typed import Password, Timed, Verifying

    class Opts(Timed, Password, Verifying, Protocol):
        url: str
        starttls: bool
        bind_dn: str | None
        base: str | None
        filter: str
        scope: str
        min_entries: int
        max_entries: int | None


TYPE = "ldap"
SUMMARY = "An LDAP directory accepts the service account's bind and finds the expected entries."

# What split_url accepts, as a pattern (the tests compare the two; it is not compiled on a run).
_URL = r"(ldaps?)://(\[[0-9A-Fa-f:.]+\]|[^\s/:\[\]@?#]+)(?::(\d+))?/?"


def split_url(text: str) -> tuple[str, str, str | None] | None:
    """(scheme, host, port digits or None) of ``ldap[s]://host[:port][/]``, the host of an
    IPv6 address in brackets; None for anything else. What ``_URL`` matches (the tests compare
    the two), without compiling it on every run: about 1.2 million instructions."""
    head = text[:8].lower()
    if head.startswith("ldaps://"):
        scheme, rest = text[:5], text[8:]
    elif head.startswith("ldap://"):
        scheme, rest = text[:4], text[7:]
    else:
        return None
    if rest.endswith("/"):
        rest = rest[:-1]
    if rest.startswith("["):
        end = rest.find("]")
        host, after = rest[: end + 1], rest[end + 1 :]
        if end < 2 or any(c not in "0123456789abcdefABCDEF:." for c in host[1:-1]):
            return None
    else:
        end = rest.find(":")
        host, after = (rest, "") if end < 0 else (rest[:end], rest[end:])
        if not host or any(c.isspace() or c in "/:[]@?#" for c in host):
            return None
    if not after:
        return scheme, host, None
    if after[0] == ":" and after[1:].isdecimal():
        return scheme, host, after[1:]
    return None


def _ldap_url(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected an ldap:// or ldaps:// URL such as ldaps://ldap.example.net:636")
    text = value.strip()
    parts = split_url(text)
    if parts is None:
        if "@" in text:
            raise ValueError("the URL carries user info: put the bind DN in bind_dn")
        if re.match(r"ldaps?://[^/]*/.", text, re.IGNORECASE):
            raise ValueError(f"{text!r} has a path: write the search base in base, not in the URL")
        raise ValueError(
            f"{text!r} is not an ldap:// or ldaps:// URL such as ldaps://ldap.example.net:636"
        )
    port = parts[2]
    if port is not None and not 1 <= int(port) <= 65535:
        raise ValueError(f"port must be 1-65535, got {port}")
    return text


def _dn(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a DN such as cn=svc-platform,ou=services,dc=example,dc=net")
    text = value.strip()
    if text and "=" not in text:
        raise ValueError(
            f"{text!r} is not a DN: write attribute=value pairs, such as "
            f"ou=people,dc=example,dc=net"
        )
    if "\n" in text or "\0" in text:
        raise ValueError("a DN cannot contain a line break")
    return text


def _filter(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected an LDAP filter such as (objectClass=person)")
    text = value.strip()
    depth = 0 if text.startswith("(") else -1
    for index, char in enumerate(text if depth == 0 else ""):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
        if depth == 0 and index < len(text) - 1:
            raise ValueError(
                f"{text!r} is more than one filter: combine them, as (&(cn=a)(sn=b)) or "
                f"(|(cn=a)(cn=b))"
            )
    if not (text.startswith("(") and text.endswith(")")) or depth != 0:
        raise ValueError(
            f"{text!r} is not an LDAP filter: write it in parentheses, such as (uid=svc-platform)"
            f" or (&(objectClass=person)(uid=a*))"
        )
    return text


LDAP_URL = Kind("ldap url", _ldap_url, _ldap_url, doc="ldap://host:port or ldaps://host:port")
DN = Kind("dn", _dn, _dn, doc="a distinguished name, such as ou=people,dc=example,dc=net")
FILTER = Kind("filter", _filter, _filter, doc="an LDAP search filter in parentheses")

SCOPES = {"base": "BASE", "one": "LEVEL", "sub": "SUBTREE"}
DEFAULT_FILTER = "(objectClass=*)"
OPTIONS: tuple[Option, ...] = (
    Option("url", LDAP_URL, "The directory: ldap://host:port or ldaps://host:port.", required=True),
    Option(
        "starttls",
        BOOLEAN,
        "Upgrade an ldap:// connection with StartTLS before binding; the server must accept.",
        default=False,
    ),
    Option("bind_dn", DN, "DN to bind as (with password); without it the check is anonymous."),
    Option("password", SECRET, "The bind password: a reference to it on the agent."),
    Option("base", DN, "Search from this DN."),
    Option("filter", FILTER, "Search filter.", default=DEFAULT_FILTER),
    Option(
        "scope",
        choice(*SCOPES),
        "base: the base entry alone, one: its children, sub: the whole subtree.",
        default="sub",
    ),
    Option(
        "min_entries",
        COUNT,
        "CRITICAL when the search returns fewer entries (the base entry counts where the "
        "scope includes it).",
        default=1,
    ),
    Option("max_entries", COUNT, "CRITICAL when the search returns more entries."),
    Option(
        "ca_file",
        ABSOLUTE_PATH,
        "PEM file of CA certificates to trust instead of the system's (ldaps://, StartTLS).",
    ),
    *timed("the exchange", "Give up after this long, all steps together."),
)
EXAMPLE: Mapping[str, Any] = {
    "url": "ldaps://ldap.ams1.example.net:636",
    "bind_dn": "cn=svc-platform,ou=services,dc=example,dc=net",
    "password": {"file": "/etc/sensu/mdd/ldap.pw"},
    "base": "ou=people,dc=example,dc=net",
    "filter": "(objectClass=inetOrgPerson)",
    "min_entries": 1,
}
# The Debian packages its tests use (.ci/setup installs them): servers and plugins they run.
TEST_PACKAGES = ("slapd", "monitoring-plugins-standard")

READ_LIMIT = 1 << 20  # bytes read from the server in one check: entries carry no attributes
SEARCH_CAP = 1000  # entries asked for when no max_entries bounds the search
_DEFAULTS = {opt.name: opt.default for opt in OPTIONS}


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    problems: list[tuple[str, str]] = []
    url = values.get("url")
    secure = isinstance(url, str) and url.lower().startswith("ldaps:")
    if values.get("starttls") and secure:
        problems.append(
            ("starttls", "starttls: true upgrades ldap:// connections; ldaps:// is TLS already")
        )
    if values.get("ca_file") and not secure and not values.get("starttls"):
        problems.append(
            ("ca_file", "'ca_file' has no meaning without TLS: use ldaps:// or starttls: true")
        )
    if values.get("bind_dn") and values.get("password") is None:
        problems.append(
            (
                "bind_dn",
                "bind_dn needs password: {file: /etc/sensu/mdd/ldap.pw} or {env: MDD_LDAP_PW}",
            )
        )
    if values.get("password") is not None and not values.get("bind_dn"):
        problems.append(("password", "password needs bind_dn (the DN it belongs to)"))
    if not values.get("base"):
        for name in ("filter", "scope", "min_entries", "max_entries"):
            if name in values:
                problems.append((name, f"'{name}' needs base (the DN to search from)"))
    low, high = values.get("min_entries"), values.get("max_entries")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        problems.append(("min_entries", "min_entries must not be more than max_entries"))
    if values.get("scope") == "base" and isinstance(low, int) and low > 1:
        problems.append(("min_entries", "scope: base returns at most 1 entry (the base itself)"))
    problems += threshold_rules(values, OPTIONS)
    return problems


# --------------------------------------------------------------------------- the wire


class _Cut(OSError):
    """The wire gave up: past the deadline or past the read limit."""


class _Wire:
    """The socket the conversation goes through: every receive gets only the time left before the
    check's deadline, and at most ``READ_LIMIT`` bytes are read in all. A server that never
    answers, trickles a byte at a time or streams entries without end is cut off there,
    without signals or threads. Remembers why it stopped, so the message can say."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.received = 0
        self.timed_out = False
        self.too_much = False
        self.peer_closed = False
        self.not_ldap = b""  # the first bytes, when they cannot start an LDAP message

    def _arm(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.timed_out = True
            raise _Cut("timed out")
        self.sock.settimeout(remaining)

    def recv(self, size: int) -> bytes:
        self._arm()
        try:
            data = self.sock.recv(size)
        except TimeoutError:
            self.timed_out = True
            raise
        if not data:
            self.peer_closed = True
        elif not self.received and data[0] != 0x30:  # every LDAP message is a BER SEQUENCE
            self.not_ldap = data[:60]
            raise _Cut("not LDAP")
        self.received += len(data)
        if self.received > READ_LIMIT:
            self.too_much = True
            raise _Cut("read limit")
        return data

    def sendall(self, data: bytes) -> None:
        self._arm()
        try:
            self.sock.sendall(data)
        except TimeoutError:
            self.timed_out = True
            raise

    def shutdown(self, how: int) -> None:
        self.sock.shutdown(how)

    def close(self) -> None:
        self.sock.close()

    def getsockname(self) -> Any:
        return self.sock.getsockname()

    def getpeername(self) -> Any:
        return self.sock.getpeername()

    def settimeout(self, value: float | None) -> None:
        pass  # the wire decides its timeouts

    def setsockopt(self, *args: Any) -> None:
        pass


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


_CODE_HINTS = {
    "noSuchObject": "the base does not exist",
    "insufficientAccessRights": "the account may not read it",
    "confidentialityRequired": "the server requires TLS: use ldaps:// or starttls: true",
    "inappropriateAuthentication": "the server refuses this kind of bind",
    "invalidDNSyntax": "not a valid DN",
}


def _reason(name: str, diagnostic: str) -> str:
    hint = _CODE_HINTS.get(name)
    why = _short(diagnostic, 100) if diagnostic else hint
    return f"{name} ({why})" if why else name


# --------------------------------------------------------------------------- probe


def probe(opts: Opts) -> Result:
    if bool(opts.bind_dn) != bool(opts.password):
        # An LDAP bind with a DN and no password is an "unauthenticated bind": it proves
        # nothing, and some servers accept it.
        raise CheckError("bind_dn and password go together: give both or neither")
    password = read_secret(opts.password, "the password") if opts.password else None
    secrets = [password] if password else []
    return redacting(lambda: _probe(opts, password), lambda text: redact(text, secrets))


def _endpoint(url: str) -> tuple[bool, str, int]:
    """(ldaps, host without brackets, port) of an LDAP URL."""
    parts = split_url(url.strip())
    if parts is None:
        raise CheckError(f"{url!r} is not an ldap:// or ldaps:// URL")
    scheme, host, port = parts
    secure = scheme.lower() == "ldaps"
    return secure, host.strip("[]"), int(port or (636 if secure else 389))


def _probe(opts: Opts, password: str | None) -> Result:
    started = time.monotonic()
    deadline = budget_deadline(opts.timeout)
    secure, host, port = _endpoint(opts.url)
    where = f"{'ldaps' if secure else 'ldap'}://{host_port(host, port)}"
    context: ssl.SSLContext | None = None
    if secure or opts.starttls:
        from mdd.checks._tls import client_context

        context = client_context(ca_file=opts.ca_file)

    sock, _ = open_connection(host, port, deadline, opts.timeout, where=where)

    wire = _Wire(sock, deadline)
    try:
        if secure:
            assert context is not None
            wire.sock = handshake(sock, context, host, deadline, opts.timeout, opts.ca_file)
        done = _conversation(opts, wire, context, host, password, where)
    except HandshakeFailed as exc:
        return Result(State.CRITICAL, f"{where} {exc}")
    except CheckFailed as exc:
        return Result(State.CRITICAL, str(exc))
    finally:
        wire.sock.close()

    elapsed = time.monotonic() - started
    perf = (Perf("time", round(elapsed, 6), "s", opts.warn, opts.crit, 0.0, opts.timeout),)
    message = f"{where} {done} in {elapsed * 1000:.1f} ms"
    return timed_result(message, elapsed, opts.warn, opts.crit, perf)


class _Session:
    """Requests and their answers over the wire: message ids, entries counted."""

    def __init__(self, wire: _Wire, where: str) -> None:
        self.wire, self.where = wire, where
        self.reader = Reader(wire)
        self.number = 0
        self.entries = 0

    def ask(self, operation: bytes, done: int) -> Answer:
        """Send a request; its answer (``done``: the tag that ends it)."""
        self.number += 1
        self.wire.sendall(message(self.number, operation))
        while True:
            answer = self.reader.message()
            if answer.id == 0 and answer.tag == EXTENDED_RESPONSE:  # notice of disconnection
                why = _reason(answer.name, answer.diagnostic)
                raise CheckFailed(f"{self.where} ended the session: {why}")
            if answer.id != self.number:
                raise ProtocolError(f"an answer to message {answer.id}, not {self.number}")
            if answer.tag == done:
                return answer
            if answer.tag == SEARCH_ENTRY and done == SEARCH_DONE:
                self.entries += 1
            elif answer.tag != SEARCH_REFERENCE or done != SEARCH_DONE:
                raise ProtocolError(f"an operation {answer.tag:#04x} where {done:#04x} was due")

    def goodbye(self) -> None:
        """Unbind; the verdict is made, so a goodbye that fails changes nothing."""
        self.number += 1
        try:  # noqa: SIM105 - contextlib would cost every run its import
            self.wire.sendall(message(self.number, unbind_request()))
        except OSError:
            pass


def _search_plan(opts: Opts, deadline: float) -> tuple[bytes, str, int] | None:
    """The search to send (the request, what it is called, its size limit), or None; a
    filter that cannot be sent is UNKNOWN before anything is sent."""
    if not (opts.base or not opts.bind_dn):
        return None
    base = opts.base or ""
    scope = opts.scope if opts.base else "base"
    what = (
        f"search of {_short(base)} ({scope}, {_short(opts.filter, 60)})"
        if opts.base
        else "root DSE read"
    )
    limit = (opts.max_entries + 1) if opts.max_entries is not None else SEARCH_CAP
    limit = max(limit, opts.min_entries)
    text = opts.filter if opts.base else DEFAULT_FILTER
    seconds = max(1, int(deadline - time.monotonic()))
    try:
        return search_request(base, scope, text, limit, seconds), what, limit
    except BadFilter as exc:
        raise CheckError(
            f"filter {_short(opts.filter, 60)} is not a valid LDAP filter: {exc}"
        ) from None


def _start_tls(session: _Session, opts: Opts, context: ssl.SSLContext | None, host: str) -> None:
    where, wire = session.where, session.wire
    answer = session.ask(starttls_request(), EXTENDED_RESPONSE)
    if answer.code != 0:
        raise CheckFailed(f"{where} refused StartTLS: {_reason(answer.name, answer.diagnostic)}")
    if not session.reader.idle:
        raise ProtocolError("data after the StartTLS answer, before the TLS handshake")
    assert context is not None
    try:
        wire.sock = handshake(wire.sock, context, host, wire.deadline, opts.timeout, opts.ca_file)
    except HandshakeFailed as exc:
        raise CheckFailed(f"{where} accepted StartTLS but {exc}") from None


def _conversation(
    opts: Opts,
    wire: _Wire,
    context: ssl.SSLContext | None,
    host: str,
    password: str | None,
    where: str,
) -> str:
    """Bind and search over ``wire``; what was verified, or ``CheckFailed`` saying what was
    not."""
    session = _Session(wire, where)
    step = "the connection"
    search = _search_plan(opts, wire.deadline)
    verified: list[str] = []
    try:
        if opts.starttls:
            step = "StartTLS"
            _start_tls(session, opts, context, host)
            verified.append("StartTLS verified")
        if opts.bind_dn:
            step = f"the bind as {_short(opts.bind_dn)}"
            answer = session.ask(bind_request(opts.bind_dn, password or ""), BIND_RESPONSE)
            if answer.code != 0:
                raise CheckFailed(
                    f"{where} bind as {_short(opts.bind_dn)} rejected: "
                    f"{_reason(answer.name, answer.diagnostic)}"
                )
            verified.append(f"bound as {_short(opts.bind_dn)}")
        if search is not None:
            request, what, limit = search
            step = f"the {what}"
            done = session.ask(request, SEARCH_DONE)
            verified.append(_judge(opts, done, session.entries, what, where, limit))
        session.goodbye()
        return ", ".join(verified) if verified else "answers LDAP"
    except CheckFailed:
        raise
    except Exception as exc:
        raise CheckFailed(_broken(wire, where, step, opts.timeout, exc)) from None


def _judge(opts: Opts, done: Answer, entries: int, what: str, where: str, limit: int) -> str:
    capped = done.code == 4  # sizeLimitExceeded: the server stopped at a limit, ours or its own
    if done.code not in (0, 4):
        closest = (
            f"; the closest entry that exists is {_short(done.matched)}" if done.matched else ""
        )
        raise CheckFailed(f"{where} {what} failed: {_reason(done.name, done.diagnostic)}{closest}")
    if not opts.base:
        return "answers LDAP (root DSE read)"
    count = f"{entries} entr{'y' if entries == 1 else 'ies'}"
    if capped:
        count = f"more than {entries - 1}" if entries >= limit else f"at least {entries}"
        count += " entries"
    if opts.max_entries is not None and entries > opts.max_entries:
        raise CheckFailed(f"{where} {what} returned {count}, expected at most {opts.max_entries}")
    if entries < opts.min_entries:
        expected = f"expected at least {opts.min_entries}"
        if capped:
            expected += " (the server stopped at its size limit)"
        raise CheckFailed(f"{where} {what} returned {count}, {expected}")
    return f"{what} returned {count}"


def _broken(wire: _Wire, where: str, step: str, timeout: float, exc: Exception) -> str:
    """What went wrong on the wire during ``step``, from what the wire saw."""
    if wire.timed_out:
        return f"{where} sent no answer to {step} within {duration_text(timeout)}"
    if wire.not_ldap:
        text = " ".join(wire.not_ldap.decode("latin-1").split())[:50]
        got = repr(text) if text.isprintable() else "binary data"
        return f"{where} does not speak LDAP: it answered {step} with {got}"
    if wire.too_much:
        return f"{where} sent more than {READ_LIMIT >> 20} MiB in answer to {step}: cut off"
    if isinstance(exc, TooLarge):
        return (
            f"{where} sent a message claiming {exc.size} bytes (this check reads at most "
            f"{MAX_MESSAGE >> 20} MiB) in answer to {step}: cut off"
        )
    if wire.peer_closed:
        return f"{where} closed the connection during {step}"
    if isinstance(exc, OSError):
        return f"{where} dropped the connection during {step}: {exc.strerror or exc}"
    if wire.received:
        return f"{where} did not answer {step} with LDAP ({type(exc).__name__}: {_short(str(exc))})"
    return f"{where} failed during {step}: {type(exc).__name__}: {_short(str(exc))}"


main = main_of(__name__)  # the console script check-mdd-<TYPE> (see _base)
