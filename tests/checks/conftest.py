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
