"""What the SQL checks (postgres, mysql) share: their options (``sql_options``, typed as
``SqlOpts``), TLS modes, query, expect, thresholds.

Standard library only: the protocol libraries are imported by each check's probe.
"""

from __future__ import annotations

from mdd.checks._options import STRING, TIMEOUT, Option, choice
from mdd.checks._steps import (
    CRIT,
    WARN,
    ca_file_option,
    host_option,
    password_option,
    port_option,
    read_password,
    threshold_problems,
    user_option,
)

TYPE_CHECKING = False  # for mypy only: no cost at run time
if TYPE_CHECKING:
    import ssl
    from typing import Protocol

    from mdd.checks._typed import Endpoint

    class SqlOpts(Endpoint, Protocol):
        """``sql_options``, typed (tests/test_typed_options.py)."""

        database: str | None
        user: str
        password: tuple[str, str] | None
        tls: str
        ca_file: str | None
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
        host_option(),
        port_option(port),
        Option("database", STRING, database),
        user_option(),
        password_option(),
        tls_option("the server", prefer_as),
        CA_FILE,
        QUERY,
        EXPECT,
        TIMEOUT,
        WARN,
        CRIT,
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


def tls_context(mode: str, ca_file: str | None) -> ssl.SSLContext | None:
    """The client context for a TLS mode (``None`` for disable)."""
    if mode == "disable":
        return None
    from mdd.checks._tls import client_context

    if mode == "verify":
        return client_context(verify=True, ca_file=ca_file)
    return client_context(verify=False)


def cell_text(value: object) -> str | None:
    """A result cell as text (``None`` for SQL NULL)."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


__all__ = ["CRIT", "TIMEOUT", "WARN", "read_password", "threshold_problems"]
