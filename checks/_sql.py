"""What the SQL checks (postgres, mysql) share: their options (``sql_options``, typed as
``SqlOpts``), TLS modes, query, expect, thresholds; the TLS context of a login, the query's
answer held to ``expect``, and what a failure that is not the server's refusal says.

Standard library only: each check speaks its protocol with mdd's own client (``_pg_wire``,
``_mysql_wire``).
"""

from __future__ import annotations

from mdd.checks._options import STRING, Option, choice, endpoint
from mdd.checks._result import CheckFailed
from mdd.checks._shared import excerpt
from mdd.checks._steps import (
    TIMING,
    ca_file_option,
    close_quietly,
    credentials,
    threshold_problems,
)

TYPE_CHECKING = False  # for mypy only: no cost at run time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol

    from mdd.checks._result import Result
    from mdd.checks._steps import Steps
    from mdd.checks._typed import Login, Verifying
    from mdd.checks._watched_tls import WatchedContext
    from mdd.checks._wire import Result as Rows

    class SqlOpts(Login, Verifying, Protocol):
        """``sql_options``, typed (tests/test_typed_options.py)."""

        database: str | None
        tls: str
        query: str | None
        expect: str | None


TLS_MODES = ("disable", "prefer", "require", "verify")


def tls_option(server: str, prefer_as: str = "") -> Option:
    """The ``tls`` option; ``prefer_as``: whose default ``prefer`` is, said in its help."""
    like = f" ({prefer_as})" if prefer_as else ""
    return Option(
        "tls",
        choice(*TLS_MODES),
        f"disable: plain connection. prefer: TLS when {server} offers it, else plain{like}. "
        f"require: TLS, the certificate not verified. verify: TLS with the certificate chain "
        f"and the host name verified against ca_file or the system's CAs.",
        default="prefer",
    )


CA_FILE = ca_file_option("verify")
QUERY = Option(
    "query",
    STRING,
    "A read-only statement to run after logging in, inside a read-only transaction.",
)
EXPECT = Option(
    "expect",
    STRING,
    "Text the first column of the query's first row must equal (needs query).",
)


def sql_options(port: int, database: str, prefer_as: str) -> tuple[Option, ...]:
    """The options of a SQL check: its default ``port``; ``database``, the help of its
    ``database`` option; ``prefer_as``, whose default ``tls: prefer`` is (``tls_option``)."""
    return (
        *endpoint(port, "of the server"),
        Option("database", STRING, database),
        *credentials(),
        tls_option("the server", prefer_as),
        CA_FILE,
        QUERY,
        EXPECT,
        *TIMING,
    )


def validate_sql(values: dict[str, object]) -> list[tuple[str, str]]:
    """Rules across the options of postgres and mysql."""
    problems = threshold_problems(values)
    if "expect" in values and "query" not in values:
        problems.append(("expect", "'expect' needs a query whose first column it compares"))
    if "ca_file" in values and values.get("tls", "prefer") != "verify":
        problems.append(
            (
                "ca_file",
                "ca_file is used only to verify the server: set tls: verify (or leave ca_file out)",
            )
        )
    return problems


# `expect` is the query's first value, compared equal (mdd/living/describe.py).
PHRASES = {"expect": "answering exactly {q}"}


def early_context(opts: SqlOpts, steps: Steps) -> WatchedContext | None:
    """``tls`` require and verify build their context before connecting, so that a ca_file
    that cannot be used is UNKNOWN whatever the server does; prefer builds it only when the
    server offers TLS (``verify_context``): ssl costs every run about 30 million
    instructions."""
    return verify_context(opts, steps) if opts.tls in ("require", "verify") else None


def verify_context(opts: SqlOpts, steps: Steps) -> WatchedContext:
    """The TLS context of ``tls`` require or verify (prefer: require's), its handshake a step
    of the login (``authenticate`` follows it)."""
    from mdd.checks._watched_tls import watched_context

    context = watched_context(steps, opts.tls == "verify", opts.ca_file)
    context.after = "authenticate"
    return context


def logged_in(
    opts: SqlOpts, steps: Steps, done: str, run: Callable[[str], Rows], close: Callable[[], object]
) -> Result:
    """The check once logged in (``done`` says so): ``query`` run (``run``: in a read-only
    transaction) and held to ``expect``; the connection closed (``close``) in any case."""
    try:
        if opts.query is None:
            return steps.result(done, opts.warn, opts.crit)
        steps.now("query")
        return _answered(run(opts.query), opts, steps, done)
    finally:
        close_quietly(close)


def _answered(found: Rows, opts: SqlOpts, steps: Steps, done: str) -> Result:
    """The query's result against ``expect``, the first column of the first row."""
    if opts.expect is None:
        return steps.result(f"{done}, query returned {found.rows} row(s)", opts.warn, opts.crit)
    if not found.first:
        raise CheckFailed(
            f"{done}, but the query returned no rows (expected {excerpt(opts.expect)})"
        )
    first = found.first[0]
    if first != opts.expect:
        shown = "NULL" if first is None else excerpt(first)
        raise CheckFailed(
            f"{done}, but the query returned {shown}, expected {excerpt(opts.expect)}"
        )
    return steps.result(f"{done}, query returned {excerpt(first)}", opts.warn, opts.crit)


def failed(
    steps: Steps,
    exc: Exception,
    server: str,
    closed: type[BaseException],
    garbled: type[BaseException],
) -> CheckFailed:
    """A failure that is not the server's refusal: timeout, closed connection (``closed``),
    not a ``server`` server (``garbled``), a login that cannot be sent."""
    if isinstance(exc, ValueError):  # a NUL in a name or a password: nothing was sent
        return steps.failed(exc, f"cannot send the login: {exc}")
    broken = (closed, ConnectionResetError, BrokenPipeError)
    return steps.failed_wire(exc, f"a {server} server", f"the {server} protocol", broken, garbled)
