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
the host name against ``ca_file`` or the system's CAs. Uses PyMySQL (pure Python).
"""

from __future__ import annotations

from mdd.checks._base import main_of
from mdd.checks._options import STRING, Option
from mdd.checks._result import CheckError, CheckFailed, Result
from mdd.checks._shared import excerpt
from mdd.checks._sql import (
    CA_FILE,
    CRIT,
    EXPECT,
    QUERY,
    TIMEOUT,
    WARN,
    cell_text,
    tls_option,
    validate_sql,
)
from mdd.checks._steps import (
    Steps,
    close_quietly,
    converse,
    host_option,
    password_option,
    port_option,
    user_option,
)

TYPE_CHECKING = False  # for mypy only (the options' types among them): no cost at run time
if TYPE_CHECKING:
    from typing import Any, Protocol

    class Opts(Protocol):
        """The parsed options, as OPTIONS declares them (tests/test_typed_options.py)."""

        point: str | None
        host: str
        port: int
        database: str | None
        user: str
        password: tuple[str, str] | None
        tls: str
        ca_file: str | None
        query: str | None
        expect: str | None
        timeout: float
        warn: float | None
        crit: float | None


TYPE = "mysql"
SUMMARY = "A MySQL or MariaDB server lets the platform's user log in, and answers a query."
# What the probe imports when it runs (never at import: tests/test_imports.py; benchmarks).
LIBRARIES = ("pymysql",)
OPTIONS: tuple[Option, ...] = (
    host_option(),
    port_option(3306),
    Option("database", STRING, "Database (schema) to log in to."),
    user_option(),
    password_option(),
    tls_option("the server"),
    CA_FILE,
    QUERY,
    EXPECT,
    TIMEOUT,
    WARN,
    CRIT,
)
EXAMPLE = {
    "host": "mysql.ams1.example.net",
    "database": "billing",
    "user": "platform",
    "password": {"file": "/etc/sensu/mdd/mysql-platform.pw"},
    "query": "SELECT COUNT(*) > 0 FROM information_schema.tables",
    "expect": "1",
}
# The Debian package of the shared server its tests reach on 127.0.0.1 (.ci/run installs it,
# .ci/services starts it).
TEST_SERVICES = ("mariadb-server",)

_SSL_NOT_OFFERED = 2026  # CR_SSL_CONNECTION_ERROR: "SSL is required but the server doesn't..."
_UNKNOWN_DATABASE = 1049


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    return validate_sql(values)


def _import() -> Any:
    try:
        import pymysql
        import pymysql.converters
    except ImportError as exc:
        raise CheckError(f"the mysql check needs PyMySQL (pip install PyMySQL): {exc}") from None
    return pymysql


def probe(opts: Opts) -> Result:
    return converse(opts, _import, _converse)


def _converse(pymysql: Any, opts: Opts, steps: Steps, password: str | None) -> Result:
    context: Any = None
    if opts.tls != "disable":
        from mdd.checks._watched_tls import watched_context

        context = watched_context(steps, opts.tls == "verify", opts.ca_file)
    conn = _login(pymysql, opts, steps, password, context)
    if conn is None:  # tls: prefer, and the server has no TLS
        conn = _login(pymysql, opts, steps, password, None)
    encrypted = context is not None and conn._sock.__class__.__name__ == "SSLSocket"
    if opts.tls in ("require", "verify") and not encrypted:
        conn.close()
        raise CheckFailed(f"{steps.where}: the server does not offer TLS (tls: {opts.tls})")
    into = f" to database {opts.database}" if opts.database else ""
    done = f"{steps.where}: logged in{into} as {opts.user} {'over' if encrypted else 'without'} TLS"
    try:
        if opts.query is None:
            return steps.result(done, opts.warn, opts.crit)
        return _query(pymysql, conn, opts, steps, done)
    finally:
        close_quietly(conn.close)


def _login(pymysql: Any, opts: Opts, steps: Steps, password: str | None, context: Any) -> Any:
    """A logged-in connection; ``None`` when ``tls: prefer`` must try again without TLS."""
    sock = steps.connect()
    steps.now("authenticate")
    tls: dict[str, Any] = {"ssl": context} if context is not None else {"ssl_disabled": True}
    conn = pymysql.connections.Connection(
        host=opts.host,
        port=opts.port,
        user=opts.user,
        password=password or "",
        database=opts.database,
        charset="utf8mb4",
        # Values stay the server's text (no decoders); encoders are kept for the session setup.
        conv={k: v for k, v in pymysql.converters.conversions.items() if not isinstance(k, int)},
        read_timeout=steps.left(),
        write_timeout=steps.left(),
        defer_connect=True,
        program_name="mdd",
        **tls,
    )
    try:
        conn.connect(sock)
    except CheckFailed:
        raise
    except pymysql.err.MySQLError as exc:
        code = exc.args[0] if exc.args else None
        if code == _SSL_NOT_OFFERED and not steps.expired:
            if opts.tls == "prefer":
                sock.close()
                return None
            raise CheckFailed(
                f"{steps.where}: the server does not offer TLS (tls: {opts.tls})"
            ) from None
        client_side = not isinstance(code, int) or code >= 2000  # CR_* codes: not the server
        if steps.expired or not isinstance(exc, pymysql.err.OperationalError) or client_side:
            raise _failed(steps, exc) from None
        if code == _UNKNOWN_DATABASE:
            raise CheckFailed(
                f"{steps.where}: database {opts.database} does not exist: {_text(exc)}"
            ) from None
        raise CheckFailed(f"{steps.where}: login as {opts.user} rejected: {_text(exc)}") from None
    except Exception as exc:
        raise _failed(steps, exc) from None
    return conn


def _query(pymysql: Any, conn: Any, opts: Opts, steps: Steps, done: str) -> Result:
    steps.now("query")
    try:
        with conn.cursor() as cursor:
            # The session too: DDL commits the transaction it is in, and then runs outside it.
            cursor.execute("SET SESSION TRANSACTION READ ONLY")
            cursor.execute("START TRANSACTION READ ONLY")
            cursor.execute(opts.query)
            row = cursor.fetchone()
            count = cursor.rowcount
            cursor.execute("ROLLBACK")
    except pymysql.err.MySQLError as exc:
        code = exc.args[0] if exc.args else None
        if steps.expired or not isinstance(code, int) or code >= 2000:  # client-side errors
            raise _failed(steps, exc) from None
        raise CheckFailed(f"{steps.where}: query failed: {_text(exc)}") from None
    except Exception as exc:
        raise _failed(steps, exc) from None
    if opts.expect is None:
        rows = max(count, 0)
        return steps.result(f"{done}, query returned {rows} row(s)", opts.warn, opts.crit)
    if not row:
        raise CheckFailed(
            f"{done}, but the query returned no rows (expected {excerpt(opts.expect)})"
        )
    found = cell_text(row[0])
    if found != opts.expect:
        shown = "NULL" if found is None else excerpt(found)
        raise CheckFailed(
            f"{done}, but the query returned {shown}, expected {excerpt(opts.expect)}"
        )
    return steps.result(f"{done}, query returned {excerpt(found)}", opts.warn, opts.crit)


def _text(exc: Exception) -> str:
    """``message (code)`` from a PyMySQL error."""
    if len(exc.args) >= 2:
        return f"{exc.args[1]} ({exc.args[0]})"
    return str(exc) or type(exc).__name__


def _failed(steps: Steps, exc: Exception) -> CheckFailed:
    """A failure that is not the server's refusal: timeout, lost connection, not MySQL."""
    if steps.expired:
        return steps.failed(exc)
    code = exc.args[0] if exc.args else None
    if code == 2013:  # CR_SERVER_LOST
        return steps.failed(exc, "the server closed the connection: is it a MySQL server?")
    if isinstance(exc, OSError) or (isinstance(code, int) and code >= 2000):
        return steps.failed(exc, _text(exc))
    # Bad packets, a wrong sequence number, a short struct: not MySQL.
    return steps.failed(
        exc, f"the server does not speak the MySQL protocol ({type(exc).__name__}: {exc})"
    )


main = main_of(__name__)  # the console script check-mdd-<TYPE> (see _base)
