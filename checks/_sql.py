"""What the SQL checks (postgres, mysql) share: their TLS modes, query, expect, thresholds.

Standard library only: the protocol libraries are imported by each check's probe.
"""

from __future__ import annotations

from mdd.checks._options import STRING, Option, choice
from mdd.checks._steps import (
    CRIT,
    TIMEOUT,
    WARN,
    ca_file_option,
    read_password,
    threshold_problems,
)

TYPE_CHECKING = False  # typing is needed by annotations only (see _options)
if TYPE_CHECKING:
    import ssl

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
