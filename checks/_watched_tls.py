"""A TLS client context whose sockets a ``Steps`` watchdog can cut during the handshake.

A protocol library that starts TLS in the middle of its own handshake (PostgreSQL's
SSLRequest, MySQL's SSL packet) calls ``context.wrap_socket`` itself. This context wraps
without shaking hands, hands the new socket to the watchdog, then shakes hands as the step
``TLS handshake``: a server that stalls the handshake is cut at the deadline like any other.
Imported only by checks that use TLS (``ssl`` costs every run about 20 ms).
"""

from __future__ import annotations

import socket
import ssl

from mdd.checks._result import CheckError, CheckFailed
from mdd.checks._steps import Steps
from mdd.checks._tls import sni

TYPE_CHECKING = False  # typing is needed by annotations only (see _options)
if TYPE_CHECKING:
    from typing import Any


class WatchedContext(ssl.SSLContext):
    """``ssl.SSLContext`` that reports each socket it wraps to ``steps``."""

    steps: Steps
    after: str | None = None  # the step that follows the handshake (default: the one before)

    def wrap_socket(self, sock: socket.socket, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        kwargs["do_handshake_on_connect"] = False
        name = kwargs.get("server_hostname", self.steps.host)
        # As bytes: a str costs the idna codec's import (see _tls.sni).
        kwargs["server_hostname"] = sni(name) if isinstance(name, str) else name
        tls = super().wrap_socket(sock, *args, **kwargs)
        handshake(self.steps, tls, self.after)
        return tls


def watched_context(steps: Steps, verify: bool, ca_file: str | None = None) -> WatchedContext:
    """A client context: ``verify`` the chain and host name (against ``ca_file`` or the
    system's CAs) or encrypt only. A ``ca_file`` that cannot be used raises ``CheckError``."""
    context = WatchedContext(ssl.PROTOCOL_TLS_CLIENT)
    context.steps = steps
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        if ca_file:
            context.load_verify_locations(cafile=ca_file)
        else:
            context.load_default_certs()
    except (OSError, ssl.SSLError) as exc:
        raise CheckError(f"cannot use ca_file {ca_file}: {exc}") from None
    return context


def handshake(steps: Steps, tls: ssl.SSLSocket, after: str | None = None) -> None:
    """The TLS handshake on ``tls`` as a step of its own, then the step ``after`` (default:
    the one before); raises ``CheckFailed``."""
    steps.watch(tls)
    previous = steps.step
    steps.now("TLS handshake")
    try:
        tls.do_handshake()
    except ssl.SSLCertVerificationError as exc:
        reason = exc.verify_message or exc.reason or str(exc)
        raise CheckFailed(f"{steps.where}: TLS certificate not trusted: {reason}") from None
    except (OSError, ssl.SSLError) as exc:
        raise steps.failed(exc) from None
    steps.now(after or previous)


def wrap(steps: Steps, sock: socket.socket, context: WatchedContext) -> ssl.SSLSocket:
    """``sock`` with TLS from the first byte (redis, amqp); raises ``CheckFailed``."""
    steps.now("TLS handshake")
    return context.wrap_socket(sock)
