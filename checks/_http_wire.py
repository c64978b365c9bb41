"""Reading one HTTP/1.1 response off a socket, bounded in size and held to a deadline.

In place of ``http.client``, which imports the ``email`` package to parse headers (about
20 ms of CPU on every run of the http check). What a check needs, and no more: the status
line, the headers (names compared without regard to case; a repeated header keeps each
value), interim 1xx answers skipped, and a body framed by chunked transfer coding
(extensions and trailers read and dropped), by Content-Length, or by the server closing the
connection; no body for HEAD, 1xx, 204 and 304. The body is read up to a cap.

Every read ends by the deadline: a server that trickles one byte a second cannot stretch the
exchange past the check's timeout (a socket timeout alone restarts with each byte). A read
past the deadline raises ``TimeoutError``. What cannot be read reliably raises ``WireError``
with a reason a human can act on. Standard library only.
"""

from __future__ import annotations

import socket
import time

from mdd.checks._shared import excerpt

LINE_LIMIT = 65536  # bytes in one status or header line, as http.client
HEADER_LIMIT = 100  # headers in one response (or trailer), as http.client
HEAD_LIMIT = 256 * 1024  # bytes of one response's status line and headers together
INTERIM_LIMIT = 32  # interim (1xx) answers skipped before the response
CHUNK_LINE_LIMIT = 4096  # bytes of a chunk-size line, extensions included
_RECV = 65536

_DIGITS = "0123456789"  # parsed by hand: compiling regular expressions costs every run
_HEX = b"0123456789abcdefABCDEF"


class WireError(Exception):
    """The response cannot be read reliably; the message says why."""


class NotHttp(WireError):
    """The server answered with something that is not HTTP; the message is what it sent."""


class Disconnected(WireError):
    """The server closed the connection before it sent a status line."""


class BodyCut(WireError):
    """The server closed the connection before the end of the body."""

    def __init__(self, received: int, expected: int | None) -> None:
        of = f" of {expected}" if expected is not None else ""
        super().__init__(f"closed the connection after {received}{of} bytes of the body")
        self.received = received


class Wire:
    """A connected socket read through a buffer; every ``recv`` ends by ``deadline``."""

    __slots__ = ("sock", "deadline", "_buffer", "_eof")

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self._buffer = bytearray()
        self._eof = False

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        return left

    def send(self, data: bytes) -> None:
        self.sock.settimeout(self._left())
        self.sock.sendall(data)

    def _fill(self) -> bool:
        """Read more into the buffer; False at the end of the stream."""
        if self._eof:
            return False
        self.sock.settimeout(self._left())
        data = self.sock.recv(_RECV)
        if not data:
            self._eof = True
            return False
        self._buffer += data
        return True

    def line(self, limit: int, what: str) -> bytes | None:
        """One line without its CRLF (or bare LF); None at the end of the stream before any
        byte of it. A line of more than ``limit`` bytes raises ``WireError``; one cut by the
        end of the stream is returned as it is."""
        start = 0
        while True:
            end = self._buffer.find(b"\n", start)
            if end >= 0:
                if end > limit:
                    raise WireError(f"{what} longer than {limit} bytes")
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self._buffer) > limit:
                raise WireError(f"{what} longer than {limit} bytes")
            start = len(self._buffer)
            if not self._fill():
                if not self._buffer:
                    return None
                line = bytes(self._buffer)
                self._buffer.clear()
                return line

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes: fewer only at the end of the stream."""
        while len(self._buffer) < size and self._fill():
            pass
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data


class Response:
    """A status line, headers and (up to the cap) the body of one response."""

    __slots__ = ("version", "status", "reason", "headers", "body", "truncated")

    def __init__(self, version: str, status: int, reason: str) -> None:
        self.version = version  # "1.1"
        self.status = status
        self.reason = reason
        self.headers: list[tuple[str, str]] = []  # (name as sent, value), in order
        self.body = b""
        self.truncated = False  # the body went on past the cap

    def get_all(self, name: str) -> list[str]:
        """Every value of header ``name`` (any case), in order."""
        lower = name.lower()
        return [value for key, value in self.headers if key.lower() == lower]

    def get(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        values = self.get_all(name)
        return values[0] if values else None

    def charset(self) -> str | None:
        """The charset parameter of Content-Type, in lower case, if any."""
        for param in (self.get("Content-Type") or "").split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset":
                return value.strip().strip('"').strip().lower() or None
        return None


def read_head(wire: Wire) -> Response:
    """The status line and headers of the final response: interim 1xx answers (100
    Continue, 103 Early Hints) are read and skipped. Raises ``WireError`` or ``OSError``
    (``TimeoutError`` past the deadline)."""
    for _ in range(INTERIM_LIMIT + 1):
        response = _read_head(wire)
        if not (100 <= response.status < 200 and response.status != 101):
            return response
    raise WireError(f"more than {INTERIM_LIMIT} interim (1xx) answers before the response")


def _read_head(wire: Wire) -> Response:
    line = wire.line(LINE_LIMIT, "a status line")
    if line is None:
        raise Disconnected("closed the connection without a response")
    text = line.decode("latin-1")
    if not text.startswith("HTTP/"):
        raise NotHttp(text)
    parts = text.split(None, 2)
    version = parts[0][5:]
    status = parts[1] if len(parts) > 1 else ""
    if not (
        len(version) == 3
        and version[0] in _DIGITS
        and version[1] == "."
        and version[2] in _DIGITS
        and len(status) == 3
        and all(c in _DIGITS for c in status)
        and status[0] != "0"
    ):
        raise WireError(f"a malformed status line ({excerpt(text)})")
    response = Response(version, int(status), parts[2] if len(parts) > 2 else "")
    response.headers = _read_fields(wire, len(line), "header")
    return response


def _read_fields(wire: Wire, used: int, what: str) -> list[tuple[str, str]]:
    """Header (or trailer) lines up to the empty line that ends them; a line that starts
    with white space continues the one before (obsolete line folding)."""
    fields: list[tuple[str, str]] = []
    while True:
        line = wire.line(LINE_LIMIT, f"a {what} line")
        if line is None:
            if what == "trailer":  # the body is whole; the trailers are dropped anyway
                return fields
            raise WireError(f"the connection closed in the middle of the {what}s")
        if not line:
            return fields
        used += len(line) + 2
        if used > HEAD_LIMIT:
            raise WireError(f"a {what} block larger than {HEAD_LIMIT // 1024} KiB")
        text = line.decode("latin-1")
        if text[0] in " \t" and fields:
            name, value = fields[-1]
            fields[-1] = (name, f"{value} {text.strip()}".strip())
            continue
        name, colon, value = text.partition(":")
        if not colon or not name or name != name.strip() or " " in name or "\t" in name:
            raise WireError(f"a {what} line that is not 'Name: value' ({excerpt(text)})")
        if len(fields) >= HEADER_LIMIT:
            raise WireError(f"more than {HEADER_LIMIT} {what}s")
        fields.append((name, value.strip(" \t")))


class BadLength(WireError):
    """A Content-Length that is not a number, or several that disagree."""

    def __init__(self, status: int, values: list[str]) -> None:
        super().__init__(", ".join(values))
        self.status = status


def framing(response: Response, method: str) -> tuple[str, int]:
    """How the body of ``response`` to ``method`` ends: ("none", 0), ("length", n),
    ("chunked", 0) or ("close", 0) (it ends where the server closes). Raises ``BadLength``.
    """
    values = response.get_all("Content-Length")
    numbers = set()
    for value in values:
        number = value.strip(" \t")
        if not (0 < len(number) <= 18 and all(c in _DIGITS for c in number)):
            raise BadLength(response.status, values)
        numbers.add(int(number))
    if len(numbers) > 1:
        raise BadLength(response.status, values)
    status = response.status
    if method == "HEAD" or status < 200 or status in (204, 304):
        return "none", 0
    codings = [
        coding.strip().lower()
        for value in response.get_all("Transfer-Encoding")
        for coding in value.split(",")
        if coding.strip()
    ]
    if codings and codings[-1] == "chunked":
        return "chunked", 0
    if numbers and not codings:
        return "length", numbers.pop()
    return "close", 0  # also after a transfer coding other than chunked (RFC 9112 6.3)


def read_body(wire: Wire, response: Response, frame: tuple[str, int], limit: int) -> None:
    """Read the body into ``response``, up to ``limit`` bytes (``truncated`` when there was
    more). Raises ``BodyCut``, ``WireError`` or ``OSError`` (``TimeoutError``)."""
    how, length = frame
    if how == "none":
        return
    if how == "chunked":
        response.body, response.truncated = _read_chunked(wire, limit)
    elif how == "length":
        data = wire.read(min(length, limit + 1))
        if len(data) < min(length, limit + 1):
            raise BodyCut(len(data), length)
        response.body, response.truncated = data[:limit], length > limit
    else:
        response.body, response.truncated = _read_to_close(wire, limit)


def _read_to_close(wire: Wire, limit: int) -> tuple[bytes, bool]:
    data = wire.read(limit + 1)
    return data[:limit], len(data) > limit


def _read_chunked(wire: Wire, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        line = wire.line(CHUNK_LINE_LIMIT, "a chunk-size line")
        if line is None:
            raise BodyCut(size, None)
        digits = line.partition(b";")[0].strip(b" \t")  # chunk extensions are dropped
        if not 0 < len(digits) <= 15 or digits.strip(_HEX):
            raise WireError(f"a bad chunk size ({excerpt(line.decode('latin-1'))})")
        chunk_size = int(digits, 16)
        if chunk_size == 0:
            _read_fields(wire, 0, "trailer")
            return b"".join(chunks), False
        want = min(chunk_size, limit + 1 - size)
        data = wire.read(want)
        chunks.append(data)
        size += len(data)
        if len(data) < want:
            raise BodyCut(size, None)
        if size > limit:
            return b"".join(chunks)[:limit], True
        end = wire.read(1)
        if end == b"\r":
            end = wire.read(1)
        if not end:
            raise BodyCut(size, None)
        if end != b"\n":
            raise WireError(f"a chunk longer than its size ({chunk_size} bytes) says")
