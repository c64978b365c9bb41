"""A small, bounded AMQP 0-9-1 client: the part of the protocol the amqp check speaks.

AMQP 0-9-1 (https://www.rabbitmq.com/resources/specs/amqp0-9-1.pdf) is fully specified; the
check opens a connection (protocol header, Start/Start-Ok with PLAIN, Tune/Tune-Ok, Open),
opens a channel, declares a queue or an exchange passively and closes the connection.
Importing py-amqp for that made a run cost 254 million instructions (vine with inspect,
logging, the whole method table), 6.7 times a bare Python start; with this client, 106
million.

Every frame size the broker announces is checked against ``MAX_FRAME`` before anything is
read or allocated for it (a frame claiming 4 GB ends the conversation, it does not take 4
GB), every read is given only the time left until the deadline, and every field read is
checked against the frame it is in. Standard library only.
"""

from __future__ import annotations

import struct

from mdd.checks._wire import Fields, Wire

TYPE_CHECKING = False  # typing is needed by annotations only (see _options)
if TYPE_CHECKING:
    import socket

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
MAX_FRAME = 131072  # bytes of one frame's payload (RabbitMQ's default frame_max)
FRAME_METHOD, FRAME_HEARTBEAT = 1, 8
FRAME_END = 0xCE

# (class, method) of the methods sent or read.
START, START_OK, TUNE, TUNE_OK = (10, 10), (10, 11), (10, 30), (10, 31)
OPEN, OPEN_OK, CLOSE, CLOSE_OK = (10, 40), (10, 41), (10, 50), (10, 51)
CHANNEL_OPEN, CHANNEL_OPEN_OK, CHANNEL_CLOSE = (20, 10), (20, 11), (20, 40)
EXCHANGE_DECLARE, EXCHANGE_DECLARE_OK = (40, 10), (40, 11)
QUEUE_DECLARE, QUEUE_DECLARE_OK = (50, 10), (50, 11)


class ProtocolError(Exception):
    """The server broke the protocol or a limit (it is not an AMQP 0-9-1 broker)."""


class Closed(ProtocolError):
    """The server closed the connection."""


class BrokerClosed(Exception):
    """The broker closed the connection or a channel with a reply code and text (Connection.
    Close: ``channel`` 0; Channel.Close: the channel's number)."""

    def __init__(self, channel: int, code: int, text: str) -> None:
        self.channel, self.code, self.text = channel, code, text
        super().__init__(f"{text} ({code})" if str(code) not in text else text)


def shortstr(text: str) -> bytes:
    data = text.encode("utf-8")
    if len(data) > 255:
        raise ValueError(f"{text[:40]!r}... is longer than 255 bytes")
    return bytes([len(data)]) + data


def longstr(data: bytes) -> bytes:
    return struct.pack("!I", len(data)) + data


def table(entries: dict[str, bool | str | dict[str, bool]]) -> bytes:
    """A field table of booleans, strings and tables (what client-properties need)."""
    body = b""
    for key, value in entries.items():
        body += shortstr(key)
        if isinstance(value, bool):
            body += b"t" + bytes([value])
        elif isinstance(value, str):
            body += b"S" + longstr(value.encode("utf-8"))
        else:
            body += b"F" + table(dict(value))
    return longstr(body)


class Reader(Fields):
    """Fields of one method frame's arguments, each checked against the frame's end."""

    BROKEN = ProtocolError
    PAST_END = "a method whose fields run past its frame"

    def short(self) -> int:
        value: int = struct.unpack("!H", self.take(2))[0]
        return value

    def long(self) -> int:
        value: int = struct.unpack("!I", self.take(4))[0]
        return value

    def shortstr(self) -> str:
        return self.take(self.take(1)[0]).decode("utf-8", "replace")

    def longstr(self) -> bytes:
        return self.take(self.long())


class Connection(Wire):
    """Frames over a connected socket (plain or TLS), within ``deadline``."""

    CLOSED = Closed

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__(sock, deadline)
        self.open = False  # Connection.Open-Ok seen: close politely

    # ------------------------------------------------------------------ frames

    def send_method(self, channel: int, method: tuple[int, int], arguments: bytes) -> None:
        payload = struct.pack("!HH", *method) + arguments
        self._send(
            struct.pack("!BHI", FRAME_METHOD, channel, len(payload)) + payload + bytes([FRAME_END])
        )

    def receive_method(self) -> tuple[int, tuple[int, int], Reader]:
        """The next method frame (heartbeats skipped): channel, (class, method), arguments.
        Connection.Close and Channel.Close raise ``BrokerClosed``."""
        while True:
            self._fill(7)
            if self._buffer[:4] == b"AMQP":
                self._fill(8)
                version = ".".join(str(b) for b in self._buffer[5:8])
                raise ProtocolError(f"the broker speaks AMQP {version}, not 0-9-1")
            kind, channel, size = struct.unpack_from("!BHI", self._buffer)
            if size > MAX_FRAME:
                raise ProtocolError(
                    f"a frame claiming {size} bytes (this check reads at most {MAX_FRAME})"
                )
            self._fill(7 + size + 1)
            payload = bytes(self._buffer[7 : 7 + size])
            end = self._buffer[7 + size]
            del self._buffer[: 7 + size + 1]
            if end != FRAME_END:
                raise ProtocolError(f"a frame that does not end with 0xCE (got {end:#04x})")
            if kind == FRAME_HEARTBEAT:
                continue
            if kind != FRAME_METHOD:
                raise ProtocolError(f"a frame of type {kind} where a method was due")
            reader = Reader(payload)
            method = (reader.short(), reader.short())
            if method in (CLOSE, CHANNEL_CLOSE):
                code, text = reader.short(), reader.shortstr()
                if method == CLOSE:
                    self.open = False
                raise BrokerClosed(channel if method == CHANNEL_CLOSE else 0, code, text)
            return channel, method, reader

    def expect(self, channel: int, method: tuple[int, int]) -> Reader:
        got_channel, got, reader = self.receive_method()
        if (got_channel, got) != (channel, method):
            raise ProtocolError(
                f"sent method {got[0]}.{got[1]} on channel {got_channel} where "
                f"{method[0]}.{method[1]} was due"
            )
        return reader

    # ------------------------------------------------------------------ conversation

    def login(self, user: str, password: str, vhost: str) -> None:
        """Protocol header, Start, Start-Ok (PLAIN), Tune, Tune-Ok, Open, Open-Ok."""
        self._send(PROTOCOL_HEADER)
        start = self.expect(0, START)
        major, minor = start.take(2)
        if (major, minor) != (0, 9):
            raise ProtocolError(f"the broker speaks AMQP {major}-{minor}, not 0-9")
        start.longstr()  # server-properties: not needed
        mechanisms = start.longstr().split()
        if b"PLAIN" not in mechanisms:
            offered = b" ".join(mechanisms).decode("ascii", "replace")[:100]
            raise ProtocolError(f"the broker does not offer PLAIN login (it offers {offered})")
        properties = table(
            {
                "product": "mdd",
                # RabbitMQ then answers a refused login with Connection.Close (403) and
                # its reason, instead of closing the socket.
                "capabilities": {"authentication_failure_close": True},
            }
        )
        response = b"\0" + user.encode("utf-8") + b"\0" + password.encode("utf-8")
        self.send_method(
            0, START_OK, properties + shortstr("PLAIN") + longstr(response) + shortstr("en_US")
        )
        tune = self.expect(0, TUNE)
        channel_max, frame_max = tune.short(), tune.long()
        frame_max = min(frame_max or MAX_FRAME, MAX_FRAME)
        self.send_method(0, TUNE_OK, struct.pack("!HIH", channel_max, frame_max, 0))
        self.send_method(0, OPEN, shortstr(vhost) + shortstr("") + b"\0")
        self.expect(0, OPEN_OK)
        self.open = True

    def declare(self, channel: int, kind: str, name: str) -> tuple[int, int]:
        """A passive declare (never creates anything) on a channel of its own; a queue's
        (messages, consumers), (0, 0) for an exchange. A missing one raises
        ``BrokerClosed`` (404)."""
        self.send_method(channel, CHANNEL_OPEN, shortstr(""))
        self.expect(channel, CHANNEL_OPEN_OK)
        passive = b"\x01"
        if kind == "queue":
            arguments = b"\0\0" + shortstr(name) + passive + table({})
            self.send_method(channel, QUEUE_DECLARE, arguments)
            reply = self.expect(channel, QUEUE_DECLARE_OK)
            reply.shortstr()
            return reply.long(), reply.long()
        arguments = b"\0\0" + shortstr(name) + shortstr("direct") + passive + table({})
        self.send_method(channel, EXCHANGE_DECLARE, arguments)
        self.expect(channel, EXCHANGE_DECLARE_OK)
        return 0, 0

    def close(self) -> None:
        """Connection.Close, and its Close-Ok (the broker logs a connection dropped without)."""
        if not self.open:
            return
        self.open = False
        self.send_method(0, CLOSE, struct.pack("!H", 200) + shortstr("OK") + b"\0\0\0\0")
        while True:
            _, method, _ = self.receive_method()
            if method == CLOSE_OK:
                return
