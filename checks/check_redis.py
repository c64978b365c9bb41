"""redis: a Redis server answers PING with PONG (as the platform's user, in the right role).

Connects to ``host:port`` (with ``tls: true``, TLS from the first byte, the certificate chain
and host name verified against ``ca_file`` or the system's CAs), logs in with ``password``
(a secret reference read on the agent when the check runs) as ``username`` (a Redis 6 ACL
user; without it, the ``default`` user), sends PING and requires PONG. With ``role``, the
server's ROLE must be ``master`` or ``replica`` (what Redis calls ``slave``). The message says
which step failed: connect, TLS handshake, authenticate, PING or ROLE. ``warn`` and ``crit``
are thresholds on the time the whole check took. Uses redis-py.
"""

from __future__ import annotations

from mdd.checks._base import main_of
from mdd.checks._options import STRING, Option, choice
from mdd.checks._result import CheckError, CheckFailed, Result
from mdd.checks._shared import excerpt
from mdd.checks._steps import (
    CRIT,
    TIMEOUT,
    WARN,
    Steps,
    ca_file_option,
    ca_file_problems,
    close_quietly,
    converse,
    host_option,
    password_option,
    port_option,
    threshold_problems,
    tls_flag,
)

TYPE_CHECKING = False  # for mypy only (the options' types among them): no cost at run time
if TYPE_CHECKING:
    from typing import Any, Protocol

    from mdd.checks._typed import Endpoint

    class Opts(Endpoint, Protocol):
        """The parsed options, as OPTIONS declares them (tests/test_typed_options.py)."""

        username: str | None
        password: tuple[str, str] | None
        tls: bool
        ca_file: str | None
        role: str | None


TYPE = "redis"
SUMMARY = "A Redis server answers PING with PONG, as the platform's user, in the expected role."
# What the probe imports when it runs (never at import: tests/test_imports.py; benchmarks).
LIBRARIES = ("redis.connection",)
OPTIONS: tuple[Option, ...] = (
    host_option(),
    port_option(6379),
    Option("username", STRING, "ACL user to log in as (Redis 6 and later; needs password)."),
    password_option("The"),
    tls_flag(),
    ca_file_option(),
    Option(
        "role",
        choice("master", "replica"),
        "The role the server must have (replica matches what Redis reports as slave).",
    ),
    TIMEOUT,
    WARN,
    CRIT,
)
EXAMPLE = {
    "host": "cache.ams1.example.net",
    "username": "platform",
    "password": {"file": "/etc/sensu/mdd/redis-platform.pw"},
    "role": "master",
}
# The Debian package of the shared server its tests reach on 127.0.0.1 (.ci/run installs it,
# .ci/services starts it).
TEST_SERVICES = ("redis-server",)

_ROLES = {"master": "master", "slave": "replica", "replica": "replica"}


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    problems = threshold_problems(values)
    if "username" in values and "password" not in values:
        problems.append(("username", "a username needs a password to log in with"))
    problems += ca_file_problems(values)
    return problems


def _import() -> Any:
    try:
        import redis.connection
        import redis.exceptions
    except ImportError as exc:
        raise CheckError(f"the redis check needs redis-py (pip install redis): {exc}") from None
    return redis


def probe(opts: Opts) -> Result:
    return converse(opts, _import, _converse)


def _converse(redis: Any, opts: Opts, steps: Steps, password: str | None) -> Result:
    sock = steps.connect()
    if opts.tls:
        from mdd.checks._watched_tls import watched_context, wrap

        sock = wrap(steps, sock, watched_context(steps, True, opts.ca_file))

    class Given(redis.connection.Connection):  # type: ignore[misc]
        """A redis-py connection over the socket this check opened (within its deadline)."""

        def _connect(self) -> Any:
            return sock

    conn = Given(
        host=opts.host,
        port=opts.port,
        username=opts.username,
        password=password,
        socket_timeout=steps.left(),
        socket_connect_timeout=steps.left(),
        protocol=2,  # RESP2 and AUTH, as every Redis since 1.0 speaks (HELLO is Redis 6)
    )
    errors = redis.exceptions
    steps.now("authenticate" if password else "PING")
    try:
        conn.connect()  # the library's own login: AUTH [username] password
        steps.now("PING")
        conn.send_command("PING")
        pong = conn.read_response()
        if pong not in (b"PONG", "PONG", True):
            raise CheckFailed(f"{steps.where}: PING answered {excerpt(pong)}, not PONG")
        role = ""
        if opts.role is not None:
            steps.now("ROLE")
            conn.send_command("ROLE")
            reply = conn.read_response()
            raw = reply[0] if isinstance(reply, list | tuple) and reply else reply
            role = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    except CheckFailed:
        raise
    except errors.AuthenticationError as exc:
        if steps.step == "authenticate":
            who = opts.username or "the default user"
            raise CheckFailed(f"{steps.where}: login as {who} rejected: {exc}") from None
        raise CheckFailed(
            f"{steps.where}: the server requires a password ({steps.step} refused: {exc}): "
            f"set password (and username for an ACL user)"
        ) from None
    except errors.ResponseError as exc:
        if steps.step == "authenticate":
            raise CheckFailed(f"{steps.where}: login rejected: {exc}") from None
        raise CheckFailed(f"{steps.where}: {steps.step} refused: {exc}") from None
    except (errors.RedisError, OSError) as exc:
        raise _failed(steps, exc) from None
    except Exception as exc:  # bad replies of a server that is not Redis
        raise steps.failed(
            exc, f"the server does not speak the Redis protocol ({type(exc).__name__})"
        ) from None
    finally:
        close_quietly(conn.disconnect)
    who = f" as {opts.username}" if opts.username else ""
    done = f"{steps.where} answers PING with PONG{who}{' over TLS' if opts.tls else ''}"
    if opts.role is not None:
        found = _ROLES.get(role, role)
        if found != opts.role:
            raise CheckFailed(f"{done}, but its role is {excerpt(role)}, expected {opts.role}")
        done += f", role {role}"
    return steps.result(done, opts.warn, opts.crit)


def _failed(steps: Steps, exc: Exception) -> CheckFailed:
    """A timeout, a closed connection, or a server that is not Redis."""
    if steps.expired:
        return steps.failed(exc)
    text = str(exc)
    if "Connection closed by server" in text or isinstance(exc, ConnectionResetError):
        return steps.failed(exc, "the server closed the connection: is it a Redis server?")
    if "Protocol Error" in text or "protocol error" in text.lower():
        return steps.failed(exc, f"the server does not speak the Redis protocol ({excerpt(text)})")
    return steps.failed(exc)


main = main_of(__name__)  # the console script check-mdd-<TYPE> (see _base)
