"""The tls check's connection: connect within the deadline, speak SMTP up to STARTTLS when
asked (``starttls: smtp``), then shake hands, each failure turned into the check's result
with a reason a human can act on (``CheckFailed``). The SMTP conversation is the smtp
check's (``_smtp_session``).
"""

from __future__ import annotations

import socket
import ssl
import time

from mdd.checks._base import Deadline
from mdd.checks._net import open_connection
from mdd.checks._options import duration_text
from mdd.checks._result import CheckFailed

TYPE_CHECKING = False  # typing costs every run ~3 ms; annotations alone need it
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Protocol

    from mdd.checks._typed import Common

    class TlsOpts(Common, Protocol):  # what a TLS handshake reads of the tls check's options
        host: str
        port: int
        starttls: str | None
        min_version: str | None


def remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


def _connect(opts: TlsOpts, where: str, deadline: float) -> socket.socket:
    return open_connection(opts.host, opts.port, deadline, opts.timeout)[0]


def _smtp_starttls(sock: socket.socket, where: str, opts: TlsOpts, deadline: float) -> None:
    """Greeting, EHLO (must offer STARTTLS), STARTTLS; the socket is then ready for TLS.

    Spoken with the smtp check's session (``_smtp_session``: every read bounded by the
    deadline and by line and reply limits), not smtplib, which would import the email package.
    """
    from mdd.checks._smtp_session import BadReply, Disconnected, Session

    def fail(text: str) -> CheckFailed:
        return CheckFailed(f"{where} {text}")

    session = Session(sock, opts.host, deadline, socket.gethostname() or "localhost")
    step = "sent no SMTP greeting"
    try:
        code = session.getreply()
        _expect(session, code, 220, fail, "greeted with {reply} (expected 220)")
        step = "did not answer EHLO"
        code = session.ehlo()
        _expect(session, code, 250, fail, "answered EHLO with {reply} (expected 250)")
        if not session.has_extn("starttls"):
            keywords = sorted(name.upper() for name in session.esmtp_features)
            offered = ", ".join(keywords[:20]) or "no extensions"
            raise fail(f"does not offer STARTTLS (its EHLO reply lists {offered})")
        step = "did not answer STARTTLS"
        code = session.command("STARTTLS")
        _expect(session, code, 220, fail, "refused STARTTLS: {reply}")
    except (Disconnected, Deadline) as exc:
        # Deadline: the backstop alarm, when the reply trickles in past the timeout.
        if session.timed_out or isinstance(exc, Deadline):
            raise fail(f"{step} within {duration_text(opts.timeout)}") from None
        raise fail(f"{step}: {exc}") from None
    except BadReply as exc:
        raise fail(f"{step}: sent {exc}") from None


def _expect(
    session: Any, code: int, wanted: int, fail: Callable[[str], CheckFailed], text: str
) -> None:
    """Nothing when the reply's code is ``wanted``; else the failure, quoting the reply."""
    if code == -1:
        raise fail(f"did not speak SMTP (got {_text(session.raw[-1][:60])!r})")
    if code != wanted:
        reply = "\n".join(line[4:] for line in session.raw)
        raise fail(text.format(reply=f"{code} {_text(reply)}"))


def _text(reply: str) -> str:
    text = " ".join(reply[:1024].split())
    return text if len(text) <= 200 else text[:197] + "..."


def shake_hands(
    opts: TlsOpts,
    context: ssl.SSLContext,
    server_name: bytes,
    where: str,
    deadline: float,
) -> ssl.SSLSocket:
    """Connect, speak the STARTTLS protocol if any, and complete the TLS handshake.

    Raises ``ssl.SSLCertVerificationError`` for a certificate that fails verification.
    """
    sock = _connect(opts, where, deadline)
    try:
        if opts.starttls == "smtp":
            _smtp_starttls(sock, where, opts, deadline)
        sock.settimeout(remaining(deadline))
        return context.wrap_socket(sock, server_hostname=server_name)
    except ssl.SSLCertVerificationError:
        sock.close()
        raise
    except (TimeoutError, Deadline):
        sock.close()
        raise CheckFailed(
            f"{where} accepted the connection but completed no TLS handshake within "
            f"{duration_text(opts.timeout)}",
        ) from None
    except ssl.SSLError as exc:
        sock.close()
        raise CheckFailed(f"{where} {handshake_error(exc, opts)}") from None
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise CheckFailed(f"{where} broke off the TLS handshake: {reason}") from None
    except BaseException:
        sock.close()
        raise


def handshake_error(exc: ssl.SSLError, opts: TlsOpts) -> str:
    reason = exc.reason or ""
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return "closed the connection during the TLS handshake"
    if reason in ("WRONG_VERSION_NUMBER", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE"):
        return "does not speak TLS on this port (its reply is not a TLS handshake)"
    if reason in (
        "UNSUPPORTED_PROTOCOL",
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "NO_PROTOCOLS_AVAILABLE",
        "WRONG_SSL_VERSION",
    ):
        want = f" (min_version {opts.min_version})" if opts.min_version else ""
        return (
            f"shares no TLS version with this check{want}: the server offers only versions "
            f"this OpenSSL refuses ({reason})"
        )
    if reason == "SSLV3_ALERT_HANDSHAKE_FAILURE":  # the server's alert says no more than that
        return (
            f"TLS handshake failed: {reason} (the server shares no cipher with this check, or "
            f"requires a client certificate, which this check does not send)"
        )
    return f"TLS handshake failed: {reason or exc}"
