"""mysql: a MySQL or MariaDB server lets the platform's user log in (and answers a query).

Connects to ``host:port``, negotiates TLS as ``tls`` says, logs in as ``user`` (with
``password``, a secret reference read on the agent when the check runs) to ``database``, and,
with ``query``, runs that statement in a read-only transaction of a read-only session (``SET
SESSION TRANSACTION READ ONLY``, ``START TRANSACTION READ ONLY``, rolled back afterwards; one
statement only: several are refused) and compares the text
of the first column of the first row with ``expect``. The message says which step failed:
connect, TLS handshake, authenticate (login, including an unknown database) or query.
``warn`` and ``crit`` are thresholds on the time the whole check took.

``expect`` compares the value as the server sends it (``1`` for the integer 1). ``tls:
prefer`` (the default) uses TLS when the server offers it and logs in without it otherwise;
``require`` insists on TLS without verifying the certificate; ``verify`` checks the chain and
the host name against ``ca_file`` or the system's CAs. Speaks the protocol itself
(mdd.checks._mysql_wire): every packet length is capped, every read bounded by the deadline,
and a server asking for a local file is refused.
"""

from __future__ import annotations

from mdd.checks._base import main_of
from mdd.checks._mysql_wire import Closed, Connection, ProtocolError, ServerError, Unsupported
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


TYPE = "mysql"
SUMMARY = "A MySQL or MariaDB server lets the platform's user log in, and answers a query."
OPTIONS = sql_options(
    3306, "Database (schema) to log in to.", "as the mysql client's default, --ssl-mode=PREFERRED"
)
EXAMPLE = {
    "host": "mysql.ams1.example.net",
    "database": "billing",
    "user": "platform",
    "password": {"file": "/etc/sensu/mdd/mysql-platform.pw"},
    "query": "SELECT COUNT(*) > 0 FROM information_schema.tables",
    "expect": "1",
}
# The Debian package of the shared server its tests reach on 127.0.0.1 (.ci/setup installs it,
# .ci/services starts it).
TEST_SERVICES = ("mariadb-server",)

_UNKNOWN_DATABASE = 1049

DESCRIBE_PHRASES = PHRASES  # (mdd docs)


def describe_opening(values: dict[str, Any]) -> str:
    """The first words of the sentence ``mdd docs`` writes for this check (``values``: its
    canonical options, defaults filled in)."""
    return logging_in("MySQL or MariaDB server", values)


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    return validate_sql(values)


def probe(opts: Opts) -> Result:
    return converse(opts, _converse)


def _converse(opts: Opts, steps: Steps, password: str | None) -> Result:
    conn = _login(opts, steps, password, early_context(opts, steps))
    encrypted = conn.tls
    into = f" to database {opts.database}" if opts.database else ""
    done = f"{steps.where}: logged in{into} as {opts.user} {'over' if encrypted else 'without'} TLS"
    return logged_in(opts, steps, done, lambda query: _query(conn, query, steps), conn.quit)


def _login(
    opts: Opts, steps: Steps, password: str | None, context: WatchedContext | None
) -> Connection:
    """A logged-in connection, over TLS when ``tls`` says so and the server offers it."""
    sock = steps.connect()
    steps.now("authenticate")
    conn = Connection(sock, steps.deadline)
    try:
        conn.greeting()
        if opts.tls != "disable":
            if conn.offers_tls:
                conn.request_tls()
                context = context or verify_context(opts, steps)
                conn.sock = context.wrap_socket(sock, server_hostname=opts.host)
            elif opts.tls != "prefer":
                raise CheckFailed(f"{steps.where}: the server does not offer TLS (tls: {opts.tls})")
        conn.login(opts.user, password or "", opts.database)
    except ServerError as exc:
        if exc.code == _UNKNOWN_DATABASE:
            # The server's "Unknown database 'x'" says the same: said once.
            raise CheckFailed(
                f"{steps.where}: database {opts.database} does not exist (error {exc.code})"
            ) from None
        raise CheckFailed(f"{steps.where}: login as {opts.user} rejected: {exc}") from None
    except Unsupported as exc:
        raise CheckFailed(
            f"{steps.where}: login as {opts.user} asks for {exc}, which this check does not speak"
        ) from None
    except (ProtocolError, OSError, ValueError) as exc:
        raise _failed(steps, exc) from None
    return conn


def _query(conn: Connection, query: str, steps: Steps) -> Rows:
    try:
        # The session too: DDL commits the transaction it is in, and then runs outside it.
        conn.query("SET SESSION TRANSACTION READ ONLY")
        conn.query("START TRANSACTION READ ONLY")
        rows = conn.query(query)
        conn.query("ROLLBACK")
    except ServerError as exc:
        if steps.expired:
            raise steps.timed_out() from None
        raise CheckFailed(f"{steps.where}: query failed: {exc}") from None
    except (ProtocolError, OSError, ValueError) as exc:
        raise _failed(steps, exc) from None
    return rows


def _failed(steps: Steps, exc: Exception) -> CheckFailed:
    """A failure that is not the server's refusal: timeout, lost connection, not MySQL."""
    return failed(steps, exc, "MySQL", Closed, ProtocolError)


main = main_of(__name__)  # the console script check-mdd-<TYPE> (see _base)
