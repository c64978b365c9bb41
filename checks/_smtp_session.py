"""The SMTP session of the smtp check: smtplib, with every read and write bounded.

Imported by ``check_smtp``'s probe only (smtplib loads the email package: the registry, and
so the ``mdd`` command, must not pay for it).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import time

from mdd.checks._handshake import handshake

TYPE_CHECKING = False  # typing is needed by annotations only (see _options)
if TYPE_CHECKING:
    from typing import Any

LINE_LIMIT = 8192  # bytes in one reply line (RFC 5321 allows 512)
LINES_LIMIT = 100  # lines in one reply (an EHLO answer has a dozen)


class Session(smtplib.SMTP):
    """smtplib's SMTP on a socket connected within the deadline, whose every read and write
    gets only the time left: a server that never answers, trickles a byte a second or sends
    an endless reply cannot hold the check past its timeout or fill its memory."""

    def __init__(self, sock: socket.socket, host: str, deadline: float, ehlo: str) -> None:
        super().__init__(local_hostname=ehlo)  # no host: smtplib connects nothing itself
        self._host = host
        self.sock = sock
        self.deadline = deadline
        self.buffer = b""
        self.raw: list[str] = []  # the last reply's lines as received, codes included
        self.timed_out = False
        self.step = "the greeting"  # what the check is waiting for, for the message

    def _remaining(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.timed_out = True
            raise smtplib.SMTPServerDisconnected("timed out")
        return remaining

    def send(self, s: Any) -> None:
        if not self.sock:
            raise smtplib.SMTPServerDisconnected("please run connect() first")
        data = s.encode(self.command_encoding) if isinstance(s, str) else s
        try:
            self.sock.settimeout(self._remaining())
            self.sock.sendall(data)
        except TimeoutError:
            self.timed_out = True
            raise smtplib.SMTPServerDisconnected("timed out") from None
        except OSError as exc:
            self.close()
            raise smtplib.SMTPServerDisconnected(f"the server went away: {exc}") from None

    def _line(self) -> bytes:
        while b"\n" not in self.buffer:
            if len(self.buffer) > LINE_LIMIT:
                raise smtplib.SMTPResponseException(-1, b"a reply line longer than 8 KiB")
            assert self.sock is not None
            try:
                self.sock.settimeout(self._remaining())
                chunk = self.sock.recv(4096)
            except TimeoutError:
                self.timed_out = True
                raise smtplib.SMTPServerDisconnected("timed out") from None
            except OSError as exc:
                raise smtplib.SMTPServerDisconnected(f"connection broke: {exc}") from None
            if not chunk:
                raise smtplib.SMTPServerDisconnected("closed the connection")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        if len(line) > LINE_LIMIT:
            raise smtplib.SMTPResponseException(-1, b"a reply line longer than 8 KiB")
        return line + b"\n"

    def getreply(self) -> tuple[int, bytes]:
        lines: list[bytes] = []
        self.raw = []
        code = -1
        while True:
            line = self._line()
            self.raw.append(line.decode("utf-8", "replace").rstrip("\r\n"))
            lines.append(line[4:].strip(b" \t\r\n"))
            try:
                code = int(line[:3])
            except ValueError:
                code = -1
                break
            if line[3:4] != b"-":
                break
            if len(lines) >= LINES_LIMIT:
                raise smtplib.SMTPResponseException(
                    code, f"a reply of more than {LINES_LIMIT} lines".encode()
                )
        return code, b"\n".join(lines)

    def upgrade(self, context: ssl.SSLContext, timeout: float, ca_file: str | None) -> None:
        """STARTTLS on this session (smtplib's own starttls, with the deadline and reasons)."""
        assert self.sock is not None
        self.sock = handshake(self.sock, context, self._host, self.deadline, timeout, ca_file)
        self.buffer = b""  # RFC 3207: nothing read before the handshake counts
        self.file = None
        self.helo_resp = None
        self.ehlo_resp = None
        self.esmtp_features = {}
        self.does_esmtp = False
