"""redis: a Redis server answers PING with PONG (as the platform's user, in the right role).

Connects to ``host:port`` (with ``tls: true``, TLS from the first byte, the certificate chain
and host name verified against ``ca_file`` or the system's CAs), logs in with ``password``
(a secret reference read on the agent when the check runs) as ``username`` (a Redis 6 ACL
user; without it, the ``default`` user), sends PING and requires PONG. With ``role``, the
server's ROLE must be ``master`` or ``replica`` (what Redis calls ``slave``). The message says
which step failed: connect, TLS handshake, authenticate, PING or ROLE. ``warn`` and ``crit``
are thresholds on the time the whole check took. Speaks RESP2 itself (mdd.checks._resp):
every length the server announces is capped, every read bounded by the deadline.
"""

from __future__ import annotations

from mdd.checks._base import main_of
from mdd.checks._options import STRING, Option, choice, endpoint
from mdd.checks._resp import Closed, Connection, ProtocolError, ReplyError
from mdd.checks._result import CheckFailed, Result
from mdd.checks._shared import excerpt
from mdd.checks._steps import (
    TIMING,
    Steps,
    converse,
    login_problems,
    password_option,
    tls_options,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    from mdd.checks._typed import Store, TlsFlag

    class Opts(Store, TlsFlag, Protocol):
        username: str | None
        role: str | None


TYPE = "redis"
SUMMARY = "A Redis server answers PING with PONG, as the platform's user, in the expected role."
OPTIONS: tuple[Option, ...] = (
    *endpoint(6379, "of the server"),
    Option("username", STRING, "ACL user to log in as (Redis 6 and later; needs password)."),
    password_option("The"),
    *tls_options(),
    Option(
        "role",
        choice("master", "replica"),
        "The role the server must have (replica matches what Redis reports as slave).",
    ),
    *TIMING,
)
EXAMPLE = {
    "host": "cache.ams1.example.net",
    "username": "platform",
    "password": {"file": "/etc/sensu/mdd/redis-platform.pw"},
    "role": "master",
}
# The Debian package of the shared server its tests reach on 127.0.0.1 (.ci/setup installs it,
# .ci/services starts it).
TEST_SERVICES = ("redis-server",)

_ROLES = {"master": "master", "slave": "replica", "replica": "replica"}


def describe_opening(values: dict[str, Any]) -> str:
    """The first words of the sentence ``mdd docs`` writes for this check (``values``: its
    canonical options, defaults filled in)."""
    return f"gets PONG for PING from the Redis server on {values['host']} port {values['port']}"


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    return login_problems(values, "username")


def probe(opts: Opts) -> Result:
    return converse(opts, _converse)


def _converse(opts: Opts, steps: Steps, password: str | None) -> Result:
    conn = Connection(steps.connect(opts.tls, opts.ca_file), steps.deadline)
    role = ""
    try:
        if password:
            steps.now("authenticate")
            login = (opts.username, password) if opts.username else (password,)
            conn.command("AUTH", *login)
        steps.now("PING")
        pong = conn.command("PING")
        if pong != b"PONG":
            raise CheckFailed(f"{steps.where}: PING answered {excerpt(pong)}, not PONG")
        if opts.role is not None:
            steps.now("ROLE")
            reply = conn.command("ROLE")
            raw = reply[0] if isinstance(reply, list) and reply else reply
            role = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    except ReplyError as exc:
        raise _refused(opts, steps, exc) from None
    except (ProtocolError, OSError) as exc:
        closed = (Closed, ConnectionResetError)  # a broken pipe is said as it is
        raise steps.failed_wire(
            exc, "a Redis server", "the Redis protocol", closed, ProtocolError
        ) from None
    who = f" as {opts.username}" if opts.username else ""
    done = f"{steps.where} answers PING with PONG{who}{' over TLS' if opts.tls else ''}"
    if opts.role is not None:
        found = _ROLES.get(role, role)
        if found != opts.role:
            raise CheckFailed(f"{done}, but its role is {excerpt(role)}, expected {opts.role}")
        done += f", role {role}"
    return steps.result(done, opts.warn, opts.crit)


# Error replies to AUTH that mean the password (or the user) was not accepted: WRONGPASS
# (Redis 6+), "invalid password" and "no password is set" (before 6).
_LOGIN_REJECTED = ("invalid password", "no password is set")


def _refused(opts: Opts, steps: Steps, exc: ReplyError) -> CheckFailed:
    """The ``CheckFailed`` for an error reply to the current step."""
    text = " ".join(exc.text.split())[:200]  # an error reply is one line, made shorter
    if steps.step == "authenticate":
        if exc.code == "WRONGPASS" or any(words in exc.text for words in _LOGIN_REJECTED):
            who = opts.username or "the default user"
            return CheckFailed(f"{steps.where}: login as {who} rejected: {text}")
        if opts.username and "wrong number of arguments" in exc.text:
            text += " (a username needs Redis 6 or later)"
        return CheckFailed(f"{steps.where}: login rejected: {text}")
    if exc.code == "NOAUTH":
        return CheckFailed(
            f"{steps.where}: the server requires a password ({steps.step} refused: {text}): "
            f"set password (and username for an ACL user)"
        )
    return CheckFailed(f"{steps.where}: {steps.step} refused: {text}")


main = main_of(__name__)  # the console script check-mdd-<TYPE> (see _base)
