"""A small, bounded RESP2 client: the part of the Redis protocol the redis check speaks.

RESP2 (https://redis.io/docs/latest/develop/reference/protocol-spec/) is fully specified and
small: a command is an array of bulk strings; a reply is one of five types, told apart by its
first byte (``+`` simple string, ``-`` error, ``:`` integer, ``$`` bulk string, ``*``
array). The check sends AUTH, PING and ROLE and reads their replies; importing redis-py for
that made a run cost 583 million instructions (asyncio, importlib.metadata, the cluster
client), fifteen times a bare Python start; with this client, 104 million.

Every length the server announces is checked against a cap before anything is read or
allocated for it, every line is bounded, arrays are bounded in items and depth, and every
read is given only the time left until the deadline: a server that announces a 2 GB bulk
string, sends a line that never ends, trickles a byte at a time or answers with a byte that
is no RESP type ends the conversation with a ``ProtocolError`` or ``TimeoutError``.
Standard library only (``socket`` is the caller's).
"""

from __future__ import annotations

from mdd.checks._wire import Wire

TYPE_CHECKING = False  # typing is needed by annotations only (see _options)
if TYPE_CHECKING:
    Reply = bytes | int | list["Reply"] | None

MAX_LINE = 64 * 1024  # bytes of a simple string, an error or a length line
MAX_BULK = 1024 * 1024  # bytes of one bulk string (a ROLE reply is a few dozen)
MAX_ITEMS = 4096  # elements of one array (a master's ROLE lists one per replica)
MAX_DEPTH = 4  # arrays within arrays (ROLE: a list of replicas, each a list)


class ProtocolError(Exception):
    """The server broke the protocol or a limit (it is not a Redis server, or a hostile one)."""


class Closed(ProtocolError):
    """The server closed the connection before a whole reply."""


class ReplyError(Exception):
    """An error reply (``-ERR ...``): ``code`` is its first word when that is an error code
    (``WRONGPASS``, ``NOAUTH``, ``NOPERM``, ``ERR``), ``text`` the rest."""

    def __init__(self, line: str) -> None:
        code, _, rest = line.partition(" ")
        if code and code.isupper() and code.isalpha() and rest:
            self.code, self.text = code, rest
        else:
            self.code, self.text = "", line
        super().__init__(self.text)


def encode(*words: str | bytes) -> bytes:
    """A command as the array of bulk strings every Redis reads."""
    parts = [b"*%d\r\n" % len(words)]
    for word in words:
        data = word.encode("utf-8") if isinstance(word, str) else word
        parts.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(parts)


class Connection(Wire):
    """Commands and replies over a connected socket (plain or TLS), within ``deadline`` (a
    ``time.monotonic()`` value)."""

    CLOSED = Closed

    def command(self, *words: str | bytes) -> Reply:
        """Send one command, read its reply; an error reply raises ``ReplyError``."""
        self._send(encode(*words))
        return self.reply()

    def reply(self, depth: int = 0) -> Reply:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise ReplyError(rest.decode("utf-8", "replace"))
        if kind == b":":
            return self._number(rest, "integer", -(2**63), 2**63 - 1)
        if kind == b"$":
            size = self._number(rest, "bulk string length", -1, MAX_BULK)
            if size == -1:
                return None
            data = self._exactly(size + 2)
            if data[-2:] != b"\r\n":
                raise ProtocolError("a bulk string does not end where its length says")
            return data[:-2]
        if kind == b"*":
            count = self._number(rest, "array length", -1, MAX_ITEMS)
            if count == -1:
                return None
            if depth >= MAX_DEPTH:
                raise ProtocolError(f"arrays nested more than {MAX_DEPTH} deep")
            return [self.reply(depth + 1) for _ in range(count)]
        raise ProtocolError(f"a reply starts with {bytes(kind)!r}, which is no RESP2 type")

    @staticmethod
    def _number(text: bytes, what: str, low: int, high: int) -> int:
        digits = text[1:] if text[:1] == b"-" else text
        if not digits.isdigit() or len(digits) > 20:
            shown = text[:40].decode("ascii", "replace")
            raise ProtocolError(f"a {what} that is no number ({shown!r})")
        value = int(text)
        if not low <= value <= high:
            raise ProtocolError(f"a {what} of {value}, outside {low} to {high}")
        return value

    def _line(self) -> bytes:
        """One line without its CRLF, at most ``MAX_LINE`` bytes."""
        start = 0
        while True:
            end = self._buffer.find(b"\r\n", start)
            if end >= 0:
                break
            if len(self._buffer) > MAX_LINE:
                raise ProtocolError(f"a reply line longer than {MAX_LINE} bytes")
            start = max(len(self._buffer) - 1, 0)
            self._more()
        if end > MAX_LINE:
            raise ProtocolError(f"a reply line longer than {MAX_LINE} bytes")
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    def _exactly(self, size: int) -> bytes:
        self._fill(size)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data
