"""Fixtures shared by the check tests of this folder (the smtp servers of both smtp modules)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import pytest

from tests.checks.smtp_servers import Smtp, smtp_server


@pytest.fixture(scope="module")
def tls_context(ca: Any) -> ssl.SSLContext:
    """A server context with a certificate for localhost and 127.0.0.1 from the tests' CA
    (test_check_amqp.py has its own, for localhost only)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    return context


@pytest.fixture(scope="module")
def plain_relay() -> Iterator[Smtp]:
    """Plain SMTP: no STARTTLS (so no AUTH either), as on a STARTTLS port without TLS."""
    with smtp_server() as server:
        yield server


def waited_until_timeout(line: str, timeout: str) -> bool:
    """Whether ``line`` says, honestly, that a wait ended at the check's ``timeout``: within
    the timeout itself, or within the shorter time the server was actually given after the
    probe's own start-up (its library's import, on a busy machine) had used the rest, or that
    the time ran out before the check could connect (``checks/_budget.py``)."""
    import re

    return bool(
        re.search(rf"within ({re.escape(timeout)}|\d+ms)\b", line)
        or f"ran out of its {timeout} timeout before it could connect" in line
    )
