"""A TLS handshake on a connected socket, within a deadline, with a reason a human can act on.

Shared by the checks that start TLS themselves (ldap's ldaps:// and StartTLS, smtp's
STARTTLS). CPython bounds the whole handshake by the socket's timeout, so a server that
trickles its certificate or never finishes the handshake cannot hold the check past the
deadline. Standard library only; ssl is imported only by a check that uses TLS.

The server name goes to ``wrap_socket`` as ASCII bytes (``mdd.checks._tls.sni``).
"""

from __future__ import annotations

import time

from mdd.checks._options import duration_text
from mdd.checks._result import CheckFailed

TYPE_CHECKING = False  # typing is needed by annotations only (see _options)
if TYPE_CHECKING:
    import socket
    import ssl


# OpenSSL's reasons when the first bytes the server sent are no TLS record (plain text).
NOT_TLS_REASONS = frozenset({"WRONG_VERSION_NUMBER", "PACKET_LENGTH_TOO_LONG"})


class HandshakeFailed(CheckFailed):
    """The handshake did not succeed; the message says why (the point is not delivered).

    ``not_tls``: the server answered with something that is not TLS at all (plain text).
    """

    def __init__(self, message: str, not_tls: bool = False) -> None:
        super().__init__(message)
        self.not_tls = not_tls


def handshake(
    sock: socket.socket,
    context: ssl.SSLContext,
    server_hostname: str,
    deadline: float,
    timeout: float,
    ca_file: str | None,
) -> ssl.SSLSocket:
    """``sock`` wrapped in TLS, the certificate verified for ``server_hostname``.

    Raises ``HandshakeFailed`` with a message such as ``certificate verify failed: ...``.
    """
    import ssl  # the caller has a context, so ssl is loaded already: this costs nothing

    from mdd.checks._tls import sni  # loaded already too: the context came from it

    name = sni(server_hostname)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise HandshakeFailed(f"did not start the TLS handshake within {duration_text(timeout)}")
    sock.settimeout(remaining)
    try:
        return context.wrap_socket(sock, server_hostname=name)
    except ssl.SSLError as exc:
        not_tls = exc.reason in NOT_TLS_REASONS
        raise HandshakeFailed(tls_reason(exc, ca_file), not_tls=not_tls) from None
    except TimeoutError:
        raise HandshakeFailed(
            f"did not finish the TLS handshake within {duration_text(timeout)}"
        ) from None
    except OSError as exc:
        raise HandshakeFailed(
            f"dropped the connection during the TLS handshake: {exc.strerror or exc}"
        ) from None


def tls_reason(exc: ssl.SSLError, ca_file: str | None) -> str:
    """What a failed handshake means, with a hint where one helps."""
    import ssl

    if isinstance(exc, ssl.SSLCertVerificationError):
        message = f"certificate verify failed: {exc.verify_message}"
        if exc.verify_code in (2, 19, 20, 21):  # issuer unknown, self-signed chain
            if ca_file:
                message += f" (it is not issued by a CA in ca_file {ca_file})"
            else:
                message += " (the system does not trust its CA: set ca_file to that CA)"
        return message
    reason = str(exc.reason or "")
    if reason == "WRONG_VERSION_NUMBER":
        return "TLS handshake failed: wrong version number (does the port speak TLS?)"
    if isinstance(exc, ssl.SSLEOFError) or reason == "UNEXPECTED_EOF_WHILE_READING":
        return "closed the connection during the TLS handshake"
    if not reason:
        return f"TLS handshake failed: {exc}"
    return f"TLS handshake failed: {reason.lower().replace('_', ' ')}"
