"""What the checks' own protocol clients (``_resp``, ``_pg_wire``, ``_mysql_wire``,
``_amqp_wire``) share: a socket written and read within one deadline, read into a buffer a
chunk at a time, and a connection the server closed said as each protocol's ``Closed``; the
fields of a message read within its end (``Fields``); a SQL statement's ``Result``.

The caps on what a message may claim belong to each protocol; this only never waits past
the deadline and never reads more than one chunk at a time.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket

CHUNK = 65536  # bytes asked of the socket at a time


def left(deadline: float) -> float:
    """Seconds left until ``deadline`` (a ``time.monotonic()`` value); ``TimeoutError`` when
    none are."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("timed out")
    return remaining


class Wire:
    """A connected socket (plain or TLS) used within ``deadline``; ``CLOSED`` is the
    protocol's exception for a connection closed before a whole message."""

    CLOSED: type[Exception] = ConnectionError

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self._buffer = bytearray()

    def _left(self) -> float:
        return left(self.deadline)

    def _send(self, data: bytes) -> None:
        self.sock.settimeout(self._left())
        self.sock.sendall(data)

    def _more(self) -> None:
        """One more chunk into the buffer."""
        self.sock.settimeout(self._left())
        chunk = self.sock.recv(CHUNK)
        if not chunk:
            raise self.CLOSED("the server closed the connection")
        self._buffer += chunk

    def _fill(self, size: int) -> None:
        """The buffer holds at least ``size`` bytes."""
        while len(self._buffer) < size:
            self._more()


class Result:
    """A statement's result (the SQL clients): its first row (text values, ``None`` for NULL)
    and its row count (MySQL: the rows of a result set, or the rows an OK packet says were
    affected)."""

    def __init__(self) -> None:
        self.first: list[str | None] | None = None
        self.rows = 0


class Fields:
    """The fields of one message, read in order (``take``), each checked against the
    message's end: one that would run past it raises the protocol's ``BROKEN`` exception with
    the protocol's ``PAST_END`` words."""

    BROKEN: type[Exception] = ValueError
    PAST_END = "a message whose fields run past its end"

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, size: int) -> bytes:
        if size < 0 or self.at + size > len(self.data):
            raise self.BROKEN(self.PAST_END)
        part = self.data[self.at : self.at + size]
        self.at += size
        return part
