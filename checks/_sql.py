"""What the SQL checks (postgres, mysql) share: their TLS modes, query, expect, thresholds.

Standard library only: the protocol libraries are imported by each check's probe.
"""

from __future__ import annotations

from mdd.checks._options import DURATION, PATH, STRING, Option, choice, duration_text
from mdd.checks._result import CheckError

TYPE_CHECKING = False  # typing is needed by annotations only (see _options)
if TYPE_CHECKING:
    import ssl
    from collections.abc import Sequence

TLS_MODES = ("disable", "prefer", "require", "verify")


def tls_option(server: str) -> Option:
    return Option(
        "tls",
        choice(*TLS_MODES),
        f"disable: plain connection. prefer: TLS when {server} offers it, else plain (as "
        f"libpq's default). require: TLS, the certificate not verified. verify: TLS with the "
        f"certificate chain and the host name verified against ca_file or the system's CAs.",
        default="prefer",
    )


CA_FILE = Option(
    "ca_file",
    PATH,
    "PEM file of CA certificates to trust instead of the system's (with tls: verify).",
)
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
TIMEOUT = Option("timeout", DURATION, "Give up after this long.", default=10.0)
WARN = Option("warn", DURATION, "WARNING when the whole check takes longer than this.")
CRIT = Option("crit", DURATION, "CRITICAL when the whole check takes longer than this.")


def threshold_problems(values: dict[str, object]) -> list[tuple[str, str]]:
    """warn not above crit, both below the timeout (as tcp)."""
    problems: list[tuple[str, str]] = []
    warn, crit = values.get("warn"), values.get("crit")
    if isinstance(warn, float) and isinstance(crit, float) and warn > crit:
        problems.append(("warn", "warn must not be longer than crit"))
    timeout = values.get("timeout", TIMEOUT.default)
    for name in ("warn", "crit"):
        limit = values.get(name)
        if isinstance(limit, float) and isinstance(timeout, float) and limit >= timeout:
            problems.append(
                (name, f"'{name}' must be shorter than the timeout ({duration_text(timeout)})")
            )
    return problems


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


def read_password(ref: Sequence[str] | None) -> str | None:
    """The password a secret reference points at (``None`` without one)."""
    if ref is None:
        return None
    from mdd.checks._secrets import read_secret

    source, where = ref
    return read_secret((source, where), "the password")


__all__ = ["CheckError"]
