"""The tls check's connection: connect within the deadline, speak SMTP up to STARTTLS when
asked (``starttls: smtp``), then shake hands, each failure turned into the check's result
with a reason a human can act on (``CheckFailed``). The SMTP conversation is spoken here rather
than with smtplib, which would import the email package on every run.
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
    import argparse


def remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


def _connect(opts: argparse.Namespace, where: str, deadline: float) -> socket.socket:
    return open_connection(opts.host, opts.port, deadline, opts.timeout)[0]


SMTP_LINE = 8192  # bytes of one reply line (smtplib's limit)
SMTP_LINES = 100  # lines of one reply: a server that sends 250- lines forever is cut off


class _SmtpEnd(Exception):
    """The conversation ended: the server closed the connection, or broke the protocol."""


def _smtp_reply(sock: socket.socket, buffer: bytearray, deadline: float) -> tuple[int, bytes]:
    """One SMTP reply (its code, and its lines' texts joined by newlines), read within
    ``deadline``, at most ``SMTP_LINES`` lines of ``SMTP_LINE`` bytes. Raises
    ``TimeoutError``, ``_SmtpEnd``, or ``OSError``."""
    texts: list[bytes] = []
    while True:
        while b"\n" not in buffer:
            if len(buffer) > SMTP_LINE:
                raise _SmtpEnd(f"sent an SMTP line longer than {SMTP_LINE} bytes")
            sock.settimeout(remaining(deadline))
            chunk = sock.recv(4096)
            if not chunk:
                raise _SmtpEnd("the connection closed")
            buffer += chunk
        end = buffer.index(b"\n") + 1
        line = bytes(buffer[:end]).rstrip(b"\r\n")
        del buffer[:end]
        if len(line) < 3 or not line[:3].isdigit() or line[3:4] not in (b"", b" ", b"-"):
            raise _SmtpEnd(f"did not speak SMTP (got {_text(line[:60])!r})")
        texts.append(line[4:])
        if line[3:4] != b"-":
            return int(line[:3]), b"\n".join(texts)
        if len(texts) >= SMTP_LINES:
            raise _SmtpEnd(f"sent an SMTP reply of more than {SMTP_LINES} lines")


def _smtp_starttls(
    sock: socket.socket, where: str, opts: argparse.Namespace, deadline: float
) -> None:
    """Greeting, EHLO (must offer STARTTLS), STARTTLS; the socket is then ready for TLS.

    Spoken here rather than with smtplib, whose replies have no limit on their number of
    lines, and whose reads restart their timeout with each line.
    """

    def fail(text: str) -> CheckFailed:
        return CheckFailed(f"{where} {text}")

    buffer = bytearray()
    step = "sent no SMTP greeting"
    try:
        code, reply = _smtp_reply(sock, buffer, deadline)
        if code != 220:
            raise fail(f"greeted with {code} {_text(reply)} (expected 220)")
        step = "did not answer EHLO"
        name = socket.gethostname() or "localhost"
        sock.settimeout(remaining(deadline))
        sock.sendall(f"EHLO {name}\r\n".encode("ascii", "replace"))
        code, reply = _smtp_reply(sock, buffer, deadline)
        if code != 250:
            raise fail(f"answered EHLO with {code} {_text(reply)} (expected 250)")
        keywords = {
            line.split()[0].decode("ascii", "replace").upper()
            for line in reply.split(b"\n")[1:]
            if line.split()
        }
        if "STARTTLS" not in keywords:
            offered = ", ".join(sorted(keywords)[:20]) or "no extensions"
            raise fail(f"does not offer STARTTLS (its EHLO reply lists {offered})")
        step = "did not answer STARTTLS"
        sock.settimeout(remaining(deadline))
        sock.sendall(b"STARTTLS\r\n")
        code, reply = _smtp_reply(sock, buffer, deadline)
        if code != 220:
            raise fail(f"refused STARTTLS: {code} {_text(reply)}")
    except (TimeoutError, Deadline):
        # Deadline: the backstop alarm, when the reply trickles in past the timeout.
        raise fail(f"{step} within {duration_text(opts.timeout)}") from None
    except _SmtpEnd as exc:
        raise fail(f"{step}: {exc}") from None
    except OSError as exc:
        raise fail(f"{step}: {exc}") from None


def _text(reply: bytes) -> str:
    text = " ".join(reply[:1024].decode("utf-8", "replace").split())
    return text if len(text) <= 200 else text[:197] + "..."


def shake_hands(
    opts: argparse.Namespace,
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


def handshake_error(exc: ssl.SSLError, opts: argparse.Namespace) -> str:
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
