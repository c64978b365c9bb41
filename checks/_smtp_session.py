"""The one SMTP dialogue: the smtp check's session, and the tls check's STARTTLS (a small
client whose every read and write is bounded).

The check says only EHLO, STARTTLS, MAIL, RCPT, RSET and QUIT and reads the replies, so it
does without smtplib: importing smtplib loads the email package and hmac, about 20 ms of
CPU on every run (a quarter of the check's cost), for none of which the check has a use.
Every read and write gets only the time left before the check's deadline, a reply line is
read up to ``LINE_LIMIT`` bytes and a reply up to ``LINES_LIMIT`` lines: a server that never
answers, trickles a byte a second or sends an endless reply cannot hold the check past its
timeout or fill its memory. Standard library only.
"""

from __future__ import annotations

import re
import socket
import time

TYPE_CHECKING = False  # typing is needed by annotations only (see _options)
if TYPE_CHECKING:
    import ssl

LINE_LIMIT = 8192  # bytes in one reply line (RFC 5321 allows 512)
LINES_LIMIT = 100  # lines in one reply (an EHLO answer has a dozen)


class Disconnected(Exception):
    """The server went away, or the deadline passed (``Session.timed_out``)."""


class BadReply(Exception):
    """A reply the check will not read further (too long a line, too many lines)."""


class Session:
    """One SMTP conversation on a socket connected within the deadline."""

    def __init__(self, sock: socket.socket, host: str, deadline: float, ehlo: str) -> None:
        self.sock: socket.socket | None = sock
        self.host = host  # for the certificate check of STARTTLS
        self.deadline = deadline
        self.local_hostname = ehlo
        self.buffer = b""
        self.raw: list[str] = []  # the last reply's lines as received, codes included
        self.esmtp_features: dict[str, str] = {}  # from the last EHLO: keyword -> parameters
        self.timed_out = False
        self.step = "the greeting"  # what the check is waiting for, for the message

    def _remaining(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.timed_out = True
            raise Disconnected("timed out")
        return remaining

    def _socket(self) -> socket.socket:
        if self.sock is None:
            raise Disconnected("closed the connection")
        return self.sock

    def send(self, command: str) -> None:
        sock = self._socket()
        try:
            sock.settimeout(self._remaining())
            sock.sendall(command.encode("ascii") + b"\r\n")
        except TimeoutError:
            self.timed_out = True
            raise Disconnected("timed out") from None
        except OSError as exc:
            raise Disconnected(f"dropped the connection ({exc.strerror or exc})") from None

    def _line(self) -> bytes:
        while b"\n" not in self.buffer:
            if len(self.buffer) > LINE_LIMIT:
                raise BadReply("a reply line longer than 8 KiB")
            sock = self._socket()
            try:
                sock.settimeout(self._remaining())
                chunk = sock.recv(4096)
            except TimeoutError:
                self.timed_out = True
                raise Disconnected("timed out") from None
            except OSError as exc:
                raise Disconnected(f"dropped the connection ({exc.strerror or exc})") from None
            if not chunk:
                raise Disconnected("closed the connection")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        if len(line) > LINE_LIMIT:
            raise BadReply("a reply line longer than 8 KiB")
        return line.rstrip(b"\r")

    def getreply(self) -> int:
        """The code of the next reply (-1 when it has none); its lines are in ``raw``."""
        self.raw = []
        while True:
            line = self._line()
            self.raw.append(line.decode("utf-8", "replace"))
            if not re.match(rb"[2-5]\d\d(?:[ -]|$)", line):
                return -1  # not SMTP
            if line[3:4] != b"-":
                return int(line[:3])
            if len(self.raw) >= LINES_LIMIT:
                raise BadReply(f"a reply of more than {LINES_LIMIT} lines")

    def command(self, text: str) -> int:
        self.send(text)
        return self.getreply()

    def ehlo(self) -> int:
        """EHLO; on 250, ``esmtp_features`` holds what the server offers."""
        self.esmtp_features = {}
        code = self.command(f"EHLO {self.local_hostname}")
        if code == 250:
            for line in self.raw[1:]:
                keyword, _, params = line[4:].strip().partition(" ")
                if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", keyword):
                    name = keyword.lower()
                    previous = self.esmtp_features.get(name, "")
                    self.esmtp_features[name] = f"{previous} {params}".strip()
                elif keyword.upper().startswith("AUTH="):  # the old form, AUTH=LOGIN PLAIN
                    mechanisms = f"{keyword[5:]} {params}".strip()
                    previous = self.esmtp_features.get("auth", "")
                    self.esmtp_features["auth"] = f"{previous} {mechanisms}".strip()
        return code

    def has_extn(self, name: str) -> bool:
        return name.lower() in self.esmtp_features

    def upgrade(self, context: ssl.SSLContext, timeout: float, ca_file: str | None) -> None:
        """TLS after the server's 220 to STARTTLS, or right after connecting for implicit TLS.

        Raises ``HandshakeFailed``.
        """
        from mdd.checks._handshake import handshake  # ssl: only a TLS run pays for it

        self.sock = handshake(self._socket(), context, self.host, self.deadline, timeout, ca_file)
        self.buffer = b""  # RFC 3207: nothing read before the handshake counts
        self.esmtp_features = {}  # nor anything the server said before it

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
