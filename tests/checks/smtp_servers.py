"""A real SMTP server (aiosmtpd) on loopback for the smtp check's tests.

It offers STARTTLS when given a TLS context (or, with ``implicit``, speaks TLS from the first
byte, as on port 465), AUTH (PLAIN, LOGIN) only over TLS, refuses
recipients in ``REFUSED`` and records every MAIL, RCPT and DATA it sees, so a test can prove
that the check never sends DATA. Nothing here talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

REFUSED = "nobody@mdd.test"
GREYLISTED = "later@mdd.test"
IDENT = "mdd-test ESMTP"


@dataclass
class Smtp:
    port: int
    seen: list[str] = field(default_factory=list)  # "MAIL a", "RCPT b", "DATA"


class _Handler:
    def __init__(self, record: Smtp) -> None:
        self.record = record

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.record.seen.append(f"MAIL {address}")
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.record.seen.append(f"RCPT {address}")
        if address == REFUSED:
            return "550 5.1.1 <nobody@mdd.test>: Recipient address rejected: User unknown"
        if address == GREYLISTED:
            return "450 4.7.1 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.record.seen.append("DATA")
        return "250 OK"


def _accept_all(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult

    return AuthResult(success=False)  # the check never authenticates


@contextmanager
def smtp_server(
    tls_context: ssl.SSLContext | None = None, implicit: bool = False
) -> Iterator[Smtp]:
    """aiosmtpd on 127.0.0.1: STARTTLS with ``tls_context``, AUTH only after STARTTLS.

    With ``implicit``, TLS with ``tls_context`` from the first byte, and AUTH offered at once.
    """
    from aiosmtpd.controller import Controller

    class _Controller(Controller):  # type: ignore[misc]
        def _trigger_server(self) -> None:
            # Listen on port 0 and learn the port the system chose.
            self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()

    record = Smtp(0)
    kwargs: dict[str, Any] = {"authenticator": _accept_all, "auth_require_tls": True}
    if implicit:
        assert tls_context is not None
        # aiosmtpd's auth_require_tls knows only STARTTLS: the whole session is TLS here.
        kwargs.update(ssl_context=tls_context, auth_require_tls=False)
    elif tls_context is not None:
        kwargs["tls_context"] = tls_context
    # server_hostname: aiosmtpd would otherwise ask the DNS for this machine's FQDN.
    controller = _Controller(
        _Handler(record),
        hostname="127.0.0.1",
        port=0,
        server_hostname="localhost",
        ident=IDENT,
        **kwargs,
    )
    controller.start()
    record.port = controller.port
    try:
        yield record
    finally:
        controller.stop()
