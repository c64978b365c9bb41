"""A small, bounded client of the MySQL/MariaDB client/server protocol: what the mysql check
speaks.

The protocol (https://dev.mysql.com/doc/dev/mysql-server/latest/PAGE_PROTOCOL.html,
https://mariadb.com/kb/en/clientserver-protocol/) is documented, and the check needs a small
part of it: the initial handshake, the SSL request, the login response with the
``mysql_native_password``, ``caching_sha2_password`` (its fast path; the full one over TLS),
``sha256_password`` (over TLS) and ``mysql_clear_password`` methods and the auth switch
request, then ``COM_QUERY`` with a text result set, and ``COM_QUIT``. Importing PyMySQL for
that made a run cost 205 million instructions (ssl, traceback, datetime and decimal for its
converters), 5.4 times a bare Python start; with this client, 107 million.

Every packet length is checked against ``MAX_PACKET`` before anything is read for it, every
read is given only the time left until the deadline, every field is checked against its
packet, sequence numbers are checked, only the first row of a result is kept (the others are
counted), and a server asking for a local file (``LOAD DATA LOCAL``) is refused: nothing is
ever read from the agent's disk for a server. Standard library only; hashlib is imported
only for a password exchange.
"""

from __future__ import annotations

import struct

from mdd.checks._wire import Fields, Result, Wire

TYPE_CHECKING = False  # typing is needed by annotations only (see _options)
if TYPE_CHECKING:
    import socket

MAX_PACKET = 1024 * 1024  # bytes of one packet (a handshake, an error, a row of a probe)
UTF8MB4 = 45  # utf8mb4_general_ci: every MySQL and MariaDB since 5.5 has it

LONG_PASSWORD, LONG_FLAG, CONNECT_WITH_DB = 0x1, 0x4, 0x8
PROTOCOL_41, SSL, TRANSACTIONS, SECURE_CONNECTION = 0x200, 0x800, 0x2000, 0x8000
PLUGIN_AUTH, CONNECT_ATTRS, PLUGIN_AUTH_LENENC = 0x80000, 0x100000, 0x200000
# What this client asks for (MULTI_STATEMENTS is not among them: one statement a query, and
# LOCAL_FILES is not either: the server may not ask for files).
CLIENT = LONG_PASSWORD | LONG_FLAG | PROTOCOL_41 | TRANSACTIONS | SECURE_CONNECTION
CLIENT |= PLUGIN_AUTH | PLUGIN_AUTH_LENENC | CONNECT_ATTRS
_OPTIONAL = PLUGIN_AUTH | PLUGIN_AUTH_LENENC | CONNECT_ATTRS  # only when the server has them


class ProtocolError(Exception):
    """The server broke the protocol or a limit (it is not MySQL, or a hostile one)."""


class Closed(ProtocolError):
    """The server closed the connection."""


class ServerError(Exception):
    """An ERR packet: the server's error ``code`` and ``message``."""

    def __init__(self, code: int, message: str) -> None:
        self.code, self.message = code, message
        super().__init__(f"{message} ({code})")


class Unsupported(Exception):
    """The server asks for a login method this client does not speak (or not without TLS)."""


class Reader(Fields):
    """Fields of one packet, each checked against the packet's end."""

    BROKEN = ProtocolError
    PAST_END = "a packet whose fields run past its end"

    def number(self, size: int) -> int:
        return int.from_bytes(self.take(size), "little")

    def lenenc(self) -> int | None:
        """A length-encoded integer; ``None`` for the NULL marker (0xfb)."""
        first = self.number(1)
        if first < 0xFB:
            return first
        if first == 0xFB:
            return None
        if first == 0xFF:
            raise ProtocolError("a length-encoded integer starting with 0xff")
        return self.number({0xFC: 2, 0xFD: 3, 0xFE: 8}[first])

    def nul(self) -> bytes:
        end = self.data.find(b"\0", self.at)
        if end < 0:
            raise ProtocolError("a string without its terminating NUL")
        part = self.data[self.at : end]
        self.at = end + 1
        return part

    def rest(self) -> bytes:
        return self.take(len(self.data) - self.at)


def lenenc(data: bytes) -> bytes:
    size = len(data)
    if size < 0xFB:
        head = bytes([size])
    elif size < 1 << 16:
        head = b"\xfc" + size.to_bytes(2, "little")
    else:
        head = b"\xfd" + size.to_bytes(3, "little")
    return head + data


def _error(data: bytes) -> ServerError:
    reader = Reader(data)
    reader.take(1)
    code = reader.number(2)
    rest = reader.rest()
    if rest[:1] == b"#":
        rest = rest[6:]  # the SQLSTATE marker and its five characters
    return ServerError(code, rest.decode("utf-8", "replace"))


def native_password(password: bytes, scramble: bytes) -> bytes:
    """``mysql_native_password``: SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password)))."""
    if not password:
        return b""
    from hashlib import sha1

    stage1 = sha1(password).digest()
    mixed = sha1(scramble[:20] + sha1(stage1).digest()).digest()
    return bytes(a ^ b for a, b in zip(stage1, mixed, strict=True))


def sha2_password(password: bytes, scramble: bytes) -> bytes:
    """``caching_sha2_password``'s scramble: SHA256(p) XOR SHA256(SHA256(SHA256(p)) + s)."""
    if not password:
        return b""
    from hashlib import sha256

    stage1 = sha256(password).digest()
    mixed = sha256(sha256(stage1).digest() + scramble[:20]).digest()
    return bytes(a ^ b for a, b in zip(stage1, mixed, strict=True))


class Connection(Wire):
    """Packets over a connected socket (plain, then TLS if agreed), within ``deadline``."""

    CLOSED = Closed

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__(sock, deadline)
        self.seq = 0
        self.capabilities = 0
        self.scramble = b""
        self.plugin = ""
        self.server_version = ""
        self.tls = False

    # ------------------------------------------------------------------ packets

    def receive(self) -> bytes:
        self._fill(4)
        size = int.from_bytes(self._buffer[:3], "little")
        seq = self._buffer[3]
        if size > MAX_PACKET:
            raise ProtocolError(
                f"a packet claiming {size} bytes (this check reads at most {MAX_PACKET})"
            )
        if seq != self.seq:
            raise ProtocolError(f"a packet numbered {seq} where {self.seq} was due")
        self._fill(4 + size)
        data = bytes(self._buffer[4 : 4 + size])
        del self._buffer[: 4 + size]
        self.seq = (self.seq + 1) & 0xFF
        return data

    def send(self, data: bytes) -> None:
        self._send(len(data).to_bytes(3, "little") + bytes([self.seq]) + data)
        self.seq = (self.seq + 1) & 0xFF

    # ------------------------------------------------------------------ login

    def greeting(self) -> None:
        """Read the server's initial handshake (an ERR packet raises ``ServerError``)."""
        data = self.receive()
        if data[:1] == b"\xff":
            raise _error(data)
        reader = Reader(data)
        version = reader.number(1)
        if version != 10:
            raise ProtocolError(f"a handshake of protocol version {version}, not 10")
        self.server_version = reader.nul().decode("utf-8", "replace")[:100]
        reader.take(4)  # connection id
        part1 = reader.take(8)
        reader.take(1)
        capabilities = reader.number(2)
        if reader.at < len(data):
            reader.take(3)  # character set, status flags
            capabilities |= reader.number(2) << 16
            data_length = reader.number(1)
            reader.take(10)
            part2 = (
                reader.take(max(13, data_length - 8)) if capabilities & SECURE_CONNECTION else b""
            )
            if capabilities & PLUGIN_AUTH:
                self.plugin = reader.nul().decode("ascii", "replace")
        else:
            part2 = b""
        if not capabilities & PROTOCOL_41:
            raise ProtocolError("a server older than MySQL 4.1 (no protocol 4.1)")
        self.capabilities = capabilities
        self.scramble = (part1 + part2).rstrip(b"\0")[:20] if part2 else part1
        self.plugin = self.plugin or "mysql_native_password"

    @property
    def offers_tls(self) -> bool:
        return bool(self.capabilities & SSL)

    def _flags(self, database: str | None) -> int:
        flags = CLIENT & (self.capabilities | ~_OPTIONAL)
        if database:
            flags |= CONNECT_WITH_DB
        if self.tls:
            flags |= SSL
        return flags

    def request_tls(self) -> None:
        """The SSL request packet; the caller then shakes hands on ``sock``."""
        self.tls = True
        self.send(struct.pack("<IIB23x", self._flags(None), MAX_PACKET, UTF8MB4))

    def login(self, user: str, password: str, database: str | None) -> None:
        """The login response, then the method exchanges until OK. Raises ``ServerError``
        (refused), ``Unsupported`` or ``ProtocolError``."""
        secret = password.encode("utf-8")
        flags = self._flags(database)
        auth = self._auth(self.plugin, secret, self.scramble)
        body = struct.pack("<IIB23x", flags, MAX_PACKET, UTF8MB4) + _cstring(user)
        if flags & PLUGIN_AUTH_LENENC:
            body += lenenc(auth)
        else:
            body += bytes([len(auth)]) + auth
        if database:
            body += _cstring(database)
        if flags & PLUGIN_AUTH:
            body += _cstring(self.plugin)
        if flags & CONNECT_ATTRS:
            body += lenenc(lenenc(b"program_name") + lenenc(b"mdd"))
        self.send(body)
        plugin = self.plugin
        while True:
            data = self.receive()
            kind = data[:1]
            if kind == b"\x00":
                return
            if kind == b"\xff":
                raise _error(data)
            if kind == b"\xfe":  # auth switch request: another method, another scramble
                reader = Reader(data)
                reader.take(1)
                plugin = reader.nul().decode("ascii", "replace")
                scramble = reader.rest().rstrip(b"\0")
                self.send(self._auth(plugin, secret, scramble))
            elif kind == b"\x01" and plugin in ("caching_sha2_password", "sha256_password"):
                if data[1:2] == b"\x03":  # fast authentication succeeded: OK follows
                    continue
                if not self.tls:
                    raise Unsupported(
                        f"{plugin}'s full authentication, which needs TLS (tls: require or "
                        f"verify) or RSA (not spoken by this check)"
                    )
                self.send(secret + b"\0")  # over TLS, as every client does
            else:
                raise ProtocolError(f"a packet starting {data[:1]!r} during the login")

    def _auth(self, plugin: str, secret: bytes, scramble: bytes) -> bytes:
        if plugin == "mysql_native_password":
            return native_password(secret, scramble)
        if plugin == "caching_sha2_password":
            return sha2_password(secret, scramble)
        if plugin == "mysql_clear_password" or (plugin == "sha256_password" and self.tls):
            return secret + b"\0"
        if plugin == "sha256_password":
            return b"\x01"  # asks for the server's key: answered as Unsupported above
        raise Unsupported(f"the login method {plugin[:60]}")

    # ------------------------------------------------------------------ queries

    def query(self, sql: str) -> Result:
        """``COM_QUERY``: a text result set, or OK; an error raises ``ServerError``."""
        self.seq = 0
        self.send(b"\x03" + sql.encode("utf-8"))
        result = Result()
        data = self.receive()
        if data[:1] == b"\x00":
            reader = Reader(data)
            reader.take(1)
            result.rows = reader.lenenc() or 0
            return result
        if data[:1] == b"\xff":
            raise _error(data)
        if data[:1] == b"\xfb":
            raise ProtocolError("asked for a local file (LOAD DATA LOCAL): refused")
        columns = Reader(data).lenenc()
        if not columns:
            raise ProtocolError("a result set without columns")
        for _ in range(columns):
            self.receive()  # column definitions: not needed
        if not _is_eof(self.receive()):
            raise ProtocolError("a result set whose column definitions do not end")
        while True:
            data = self.receive()
            if _is_eof(data):
                return result
            if data[:1] == b"\xff":
                raise _error(data)
            if result.first is None:
                reader = Reader(data)
                row: list[str | None] = []
                for _ in range(columns):
                    size = reader.lenenc()
                    row.append(
                        None if size is None else reader.take(size).decode("utf-8", "replace")
                    )
                result.first = row
            result.rows += 1

    def quit(self) -> None:
        self.seq = 0
        self.send(b"\x01")


def _is_eof(data: bytes) -> bool:
    return data[:1] == b"\xfe" and len(data) < 9


def _cstring(text: str) -> bytes:
    data = text.encode("utf-8")
    if b"\0" in data:
        raise ValueError("a name cannot hold a NUL character")
    return data + b"\0"
