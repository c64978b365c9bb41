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
system's CAs. Uses pg8000 (pure Python).
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


TYPE = "postgres"
SUMMARY = "A PostgreSQL server lets the platform's user log in, and answers a read-only query."
# What the probe imports when it runs (never at import: tests/test_imports.py; benchmarks).
LIBRARIES = ("pg8000.native",)
OPTIONS: tuple[Option, ...] = (
    host_option(),
    port_option(5432),
    Option("database", STRING, "Database to log in to (default: the user's name)."),
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
    "host": "pg.ams1.example.net",
    "database": "inventory",
    "user": "platform",
    "password": {"file": "/etc/sensu/mdd/pg-platform.pw"},
    "tls": "verify",
    "query": "SELECT count(*) > 0 FROM pg_tables",
    "expect": "t",
}
# The Debian package of the shared server its tests reach on 127.0.0.1 (.ci/run installs it,
# .ci/services starts it).
TEST_SERVICES = ("postgresql",)


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across options: (option, message) for each problem."""
    return validate_sql(values)


def _import() -> Any:
    try:
        import pg8000.native
    except ImportError as exc:
        raise CheckError(f"the postgres check needs pg8000 (pip install pg8000): {exc}") from None
    return pg8000.native


def probe(opts: Opts) -> Result:
    return converse(opts, _import, _converse)


def _converse(pg8000: Any, opts: Opts, steps: Steps, password: str | None) -> Result:
    context: Any = False
    if opts.tls != "disable":
        from mdd.checks._watched_tls import watched_context

        context = watched_context(steps, opts.tls == "verify", opts.ca_file)
        context.after = "authenticate"
    conn, encrypted = _login(pg8000, opts, steps, password, context)
    if conn is None:  # tls: prefer, and the server has no TLS
        conn, encrypted = _login(pg8000, opts, steps, password, False)
    tls = "over TLS" if encrypted else "without TLS"
    database = opts.database or opts.user
    done = f"{steps.where}: logged in to database {database} as {opts.user} {tls}"
    try:
        if opts.query is None:
            return steps.result(done, opts.warn, opts.crit)
        return _query(pg8000, conn, opts, steps, done)
    finally:
        close_quietly(conn.close)


def _login(
    pg8000: Any, opts: Opts, steps: Steps, password: str | None, context: Any
) -> tuple[Any, bool]:
    """A logged-in connection and whether it is encrypted; ``None`` when ``tls: prefer``
    must try again without TLS."""
    sock = steps.connect()
    steps.now("TLS negotiation" if context is not False else "authenticate")
    startup = {
        "default_transaction_read_only": "on",
        # The server cancels a statement still running when the check gives up (rounded up:
        # never before the deadline, so that its cancel can be told from an admin's).
        "statement_timeout": str(int(steps.left() * 1000) + 1),
    }
    try:
        conn = pg8000.Connection(
            opts.user,
            host=opts.host,
            port=opts.port,
            database=opts.database,
            password=password,
            sock=sock,
            ssl_context=context,
            application_name="mdd",
            startup_params=startup,
        )
    except CheckFailed:
        if opts.tls == "prefer" and steps.step == "TLS handshake" and not steps.expired:
            sock.close()  # as libpq: a TLS handshake that fails is tried again without TLS
            return None, False
        raise
    except pg8000.InterfaceError as exc:
        if "refuses SSL" in str(exc) and not steps.expired:
            if opts.tls == "prefer":
                sock.close()
                return None, False
            raise CheckFailed(
                f"{steps.where}: the server does not offer TLS (tls: {opts.tls})"
            ) from None
        raise _failed(pg8000, steps, exc) from None
    except pg8000.DatabaseError as exc:
        raise CheckFailed(_refusal(steps, opts, exc)) from None
    except AttributeError as exc:
        if password is None and not steps.expired:  # pg8000's SCRAM with no password
            raise CheckFailed(
                f"{steps.where}: login as {opts.user} needs a password, and the check has none "
                f"(set password)"
            ) from None
        raise _failed(pg8000, steps, exc) from None
    except Exception as exc:
        raise _failed(pg8000, steps, exc) from None
    return conn, conn._usock is not sock


def _query(pg8000: Any, conn: Any, opts: Opts, steps: Steps, done: str) -> Result:
    steps.now("query")
    # Every value as PostgreSQL's own text (psql's form), not as a Python object.
    from collections import defaultdict

    conn.pg_types = defaultdict(lambda: _as_text)
    try:
        conn.run("START TRANSACTION READ ONLY")
        context = conn.execute_unnamed(opts.query)
        conn.run("ROLLBACK")
    except pg8000.DatabaseError as exc:
        if steps.expired or (_sqlstate(exc) == QUERY_CANCELED and steps.overdue()):
            # statement_timeout: the check's own deadline, which the server may enforce a
            # moment before the watchdog thread runs on a busy machine.
            raise steps.timed_out() from None
        raise CheckFailed(f"{steps.where}: query failed: {_server_error(exc)}") from None
    except Exception as exc:
        raise _failed(pg8000, steps, exc) from None
    rows = context.rows
    if opts.expect is None:
        count = len(rows) if rows is not None else 0
        return steps.result(f"{done}, query returned {count} row(s)", opts.warn, opts.crit)
    if not rows or not rows[0]:
        raise CheckFailed(
            f"{done}, but the query returned no rows (expected {excerpt(opts.expect)})"
        )
    found = cell_text(rows[0][0])
    if found != opts.expect:
        shown = "NULL" if found is None else excerpt(found)
        raise CheckFailed(
            f"{done}, but the query returned {shown}, expected {excerpt(opts.expect)}"
        )
    return steps.result(f"{done}, query returned {excerpt(found)}", opts.warn, opts.crit)


def _as_text(data: str) -> str:
    return data


QUERY_CANCELED = "57014"  # SQLSTATE of statement_timeout, and of an admin's pg_cancel_backend


def _sqlstate(exc: Exception) -> str | None:
    fields = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    code = fields.get("C")
    return code if isinstance(code, str) else None


def _server_error(exc: Exception) -> str:
    """``message (SQLSTATE)`` from a pg8000 ``DatabaseError``."""
    fields = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    message = fields.get("M") or str(exc)
    code = _sqlstate(exc)
    return f"{message} ({code})" if code else message


def _refusal(steps: Steps, opts: Opts, exc: Exception) -> str:
    """What the server said when it refused the login."""
    fields = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    if fields.get("C") == "3D000":
        return f"{steps.where}: database {opts.database} does not exist: {_server_error(exc)}"
    return f"{steps.where}: login as {opts.user} rejected: {_server_error(exc)}"


def _failed(pg8000: Any, steps: Steps, exc: Exception) -> CheckFailed:
    """A failure that is not the server's refusal: timeout, closed connection, not PostgreSQL."""
    if steps.expired:
        return steps.failed(exc)
    if isinstance(exc, pg8000.InterfaceError):
        if str(exc) == "network error":
            cause = exc.__cause__
            if cause is None or isinstance(cause, ConnectionResetError | BrokenPipeError):
                return steps.failed(
                    exc, "the server closed the connection: is it a PostgreSQL server?"
                )
            return steps.failed(cause, f"network error: {cause}")
        return steps.failed(exc)
    if isinstance(exc, OSError):
        return steps.failed(exc)
    # A KeyError on an unknown message type, a short struct, bad text: not PostgreSQL.
    return steps.failed(
        exc, f"the server does not speak the PostgreSQL protocol ({type(exc).__name__})"
    )


main = main_of(__name__)  # the console script check-mdd-<TYPE> (see _base)
