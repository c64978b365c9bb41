"""postgres: a PostgreSQL server lets the platform's user log in (and answers a query).

Connects to ``host:port``, negotiates TLS as ``tls`` says, logs in to ``database`` as
``user`` (with ``password``, a secret reference read on the agent when the check runs), and,
with ``query``, runs that statement in a read-only transaction of a read-only session and
compares the text of the first column of the first row with ``expect``. The message says which
step failed: connect, TLS handshake, authenticate (login, including a database that does not
exist) or query. ``warn`` and ``crit`` are thresholds on the time the whole check took.

``query`` is sent as one statement (the extended protocol: a second statement is an error),
the session's ``default_transaction_read_only`` is on and the server cancels the statement at
the check's timeout: the check cannot change data. ``expect`` compares PostgreSQL's own text
form of the value, as psql prints it (``t`` for true, ``1`` for the integer 1).

``tls: prefer`` (the default, as libpq's) tries TLS and, when the server has none or the
handshake fails, logs in without it; ``require`` insists on TLS without verifying the
certificate; ``verify`` checks the chain and the host name against ``ca_file`` or the
system's CAs. Speaks the protocol itself (mdd.checks._pg_wire): every message length the
server announces is capped, every read bounded by the deadline.
"""

from __future__ import annotations

from mdd.checks._base import main_of
from mdd.checks._pg_wire import (
    Closed,
    Connection,
    NeedsPassword,
    ProtocolError,
    ServerError,
    Unsupported,
    request_tls,
)
from mdd.checks._result import CheckFailed, Result
from mdd.checks._sql import (
    PHRASES,
    early_context,
    failed,
    logged_in,
    sql_options,
    validate_sql,
    verify_context,
)
from mdd.checks._steps import Steps, converse, logging_in

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    from mdd.checks._sql import SqlOpts
    from mdd.checks._watched_tls import WatchedContext
    from mdd.checks._wire import Result as Rows

    class Opts(SqlOpts, Protocol):
        """The options of every SQL check (``_sql.sql_options``)."""


TYPE = "postgres"
SUMMARY = "A PostgreSQL server lets the platform's user log in, and answers a read-only query."
OPTIONS = sql_options(
    5432, "Database to log in to (default: the user's name).", "as libpq's default"
)
EXAMPLE = {
    "host": "pg.ams1.example.net",
    "database": "inventory",
    "user": "platform",
    "password": {"file": "/etc/sensu/mdd/pg-platform.pw"},
    "tls": "verify",
    "query": "SELECT count(*) > 0 FROM pg_tables",
    "expect": "t",
}
# The Debian package of the shared server its tests reach on 127.0.0.1 (.ci/setup installs it,
# .ci/services starts it).
TEST_SERVICES = ("postgresql",)

DESCRIBE_PHRASES = PHRASES  # (mdd docs)


def describe_opening(values: dict[str, Any]) -> str:
    """The first words of the sentence ``mdd docs`` writes for this check (``values``: its
    canonical options, defaults filled in)."""
    return logging_in("PostgreSQL server", values)


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    return validate_sql(values)


def probe(opts: Opts) -> Result:
    return converse(opts, _converse)


def _converse(opts: Opts, steps: Steps, password: str | None) -> Result:
    login = _login(opts, steps, password, opts.tls != "disable", early_context(opts, steps))
    if login is None:  # tls: prefer, and the TLS handshake failed
        login = _login(opts, steps, password, False, None)
    assert login is not None  # without TLS, there is nothing to fall back from
    conn, encrypted = login
    tls = "over TLS" if encrypted else "without TLS"
    database = opts.database or opts.user
    done = f"{steps.where}: logged in to database {database} as {opts.user} {tls}"
    return logged_in(opts, steps, done, lambda query: _query(conn, query, steps), conn.terminate)


def _login(
    opts: Opts,
    steps: Steps,
    password: str | None,
    tls: bool,
    context: WatchedContext | None,
) -> tuple[Connection, bool] | None:
    """A logged-in connection and whether it is encrypted; ``None`` when ``tls: prefer``
    must try again without TLS (its handshake failed)."""
    sock = steps.connect()
    encrypted = False
    try:
        if tls:
            steps.now("TLS negotiation")
            if request_tls(sock, steps.deadline):
                try:
                    context = context or verify_context(opts, steps)
                    sock = context.wrap_socket(sock, server_hostname=opts.host)
                    encrypted = True
                except CheckFailed:
                    if opts.tls == "prefer" and not steps.expired:
                        sock.close()  # as libpq: a failed TLS handshake is tried without TLS
                        return None
                    raise
            elif opts.tls != "prefer":  # prefer: as libpq, on the same connection, plain
                raise CheckFailed(f"{steps.where}: the server does not offer TLS (tls: {opts.tls})")
        steps.now("authenticate")
        conn = Connection(sock, steps.deadline)
        startup = {
            "application_name": "mdd",
            "default_transaction_read_only": "on",
            # The server cancels a statement still running when the check gives up (rounded
            # up: never before the deadline, so that its cancel can be told from an admin's).
            "statement_timeout": str(int(steps.left() * 1000) + 1),
        }
        conn.startup(opts.user, opts.database, startup, password)
    except ServerError as exc:
        if exc.code == "3D000":
            # The server's message says the same ("database "x" does not exist"): said once.
            raise CheckFailed(
                f"{steps.where}: database {opts.database} does not exist ({exc.code})"
            ) from None
        raise CheckFailed(f"{steps.where}: login as {opts.user} rejected: {exc}") from None
    except NeedsPassword:
        raise CheckFailed(
            f"{steps.where}: login as {opts.user} needs a password, and the check has none "
            f"(set password)"
        ) from None
    except Unsupported as exc:
        raise CheckFailed(
            f"{steps.where}: login as {opts.user} asks for {exc}, which this check does not "
            f"speak (it speaks password, md5 and scram-sha-256)"
        ) from None
    except (ProtocolError, OSError, ValueError) as exc:
        raise _failed(steps, exc) from None
    return conn, encrypted


def _query(conn: Connection, query: str, steps: Steps) -> Rows:
    try:
        conn.simple("START TRANSACTION READ ONLY")
        # Every value as PostgreSQL's own text (psql's form), not as a Python object.
        rows = conn.extended(query)
        conn.simple("ROLLBACK")
    except ServerError as exc:
        if steps.expired or (exc.code == QUERY_CANCELED and steps.overdue()):
            # statement_timeout: the check's own deadline, which the server may enforce a
            # moment before the watchdog thread runs on a busy machine.
            raise steps.timed_out() from None
        raise CheckFailed(f"{steps.where}: query failed: {exc}") from None
    except (ProtocolError, OSError, ValueError) as exc:
        raise _failed(steps, exc) from None
    return rows


QUERY_CANCELED = "57014"  # SQLSTATE of statement_timeout, and of an admin's pg_cancel_backend


def _failed(steps: Steps, exc: Exception) -> CheckFailed:
    """A failure that is not the server's refusal: timeout, closed connection, not PostgreSQL."""
    return failed(steps, exc, "PostgreSQL", Closed, ProtocolError)


main = main_of(__name__)  # the console script check-mdd-<TYPE> (see _base)
