"""A small, bounded client of PostgreSQL's frontend/backend protocol 3.0: what the postgres
check speaks.

The protocol (https://www.postgresql.org/docs/current/protocol.html) is fully specified, and
the check needs a small part of it: SSLRequest, the startup message, the password
exchanges (cleartext, MD5 and SCRAM-SHA-256, RFC 5802 and 7677), a simple query and one
statement through the extended protocol (Parse, Bind, Execute, Sync: a second statement is
refused by the server). Importing pg8000 for that made a run cost 431 million instructions
(dateutil, asn1crypto, importlib.metadata), eleven times a bare Python start; with this
client, 107 million.

Every message length the server announces is checked against ``MAX_MESSAGE`` before
anything is read or allocated for it (a message claiming 2 GB ends the conversation, it does
not take 2 GB), every read is given only the time left until the deadline, only the first
row of a result is kept (the others are counted), and a SCRAM iteration count is capped.
Standard library only; hashlib, hmac and base64 are imported only for a password exchange.
"""

from __future__ import annotations

import struct

from mdd.checks._wire import Result, Wire
from mdd.checks._wire import left as _left

TYPE_CHECKING = False  # typing is needed by annotations only (see _options)
if TYPE_CHECKING:
    import socket

MAX_MESSAGE = 1024 * 1024  # bytes of one message's body (an error, a row of a probe query)
MAX_ITERATIONS = 1_000_000  # SCRAM's PBKDF2 rounds (PostgreSQL's default is 4096)
PROTOCOL = 196608  # 3.0
SSL_REQUEST = struct.pack("!ii", 8, 80877103)

# Authentication request codes (the 'R' message).
AUTH_OK, AUTH_CLEARTEXT, AUTH_MD5, AUTH_SASL, AUTH_SASL_CONTINUE, AUTH_SASL_FINAL = (
    0,
    3,
    5,
    10,
    11,
    12,
)
# ParseComplete, BindComplete, CommandComplete, NoData, EmptyQueryResponse, RowDescription,
# a notice, ParameterStatus, PortalSuspended, NotificationResponse.
_RESULT_MESSAGES = frozenset((b"1", b"2", b"C", b"n", b"I", b"T", b"N", b"S", b"s", b"A"))
_METHODS = {2: "Kerberos V5", 6: "SCM credentials", 7: "GSSAPI", 9: "SSPI"}


class ProtocolError(Exception):
    """The server broke the protocol or a limit (it is not PostgreSQL, or a hostile one)."""


class Closed(ProtocolError):
    """The server closed the connection before a whole message."""


class ServerError(Exception):
    """An ErrorResponse: ``fields`` by their one-letter code (``C`` SQLSTATE, ``M`` message)."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields
        self.code = fields.get("C", "")
        self.message = fields.get("M", "") or "(no message)"
        super().__init__(f"{self.message} ({self.code})" if self.code else self.message)


class NeedsPassword(Exception):
    """The server asks for a password and the check has none."""


class Unsupported(Exception):
    """The server asks for an authentication method this client does not speak."""


def request_tls(sock: socket.socket, deadline: float) -> bool:
    """Send SSLRequest; whether the server agrees (``S``) or not (``N``)."""
    sock.settimeout(_left(deadline))
    sock.sendall(SSL_REQUEST)
    sock.settimeout(_left(deadline))
    answer = sock.recv(1)  # one byte only: nothing sent before the handshake is read
    if not answer:
        raise Closed("the server closed the connection")
    if answer == b"S":
        return True
    if answer == b"N":
        return False
    raise ProtocolError(f"answered the SSLRequest with {answer!r}, not S or N")


def _cstring(text: str) -> bytes:
    data = text.encode("utf-8")
    if b"\0" in data:
        raise ValueError("a protocol string cannot hold a NUL character")
    return data + b"\0"


def _message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


class Connection(Wire):
    """Messages over a connected socket (plain or TLS), within ``deadline`` (a
    ``time.monotonic()`` value)."""

    CLOSED = Closed

    # ------------------------------------------------------------------ the wire

    def send(self, data: bytes) -> None:
        self._send(data)

    def receive(self) -> tuple[bytes, bytes]:
        """One message: its type byte and its body, at most ``MAX_MESSAGE`` bytes."""
        self._fill(5)
        kind = bytes(self._buffer[:1])
        (length,) = struct.unpack_from("!i", self._buffer, 1)
        if length < 4 or length - 4 > MAX_MESSAGE:
            raise ProtocolError(
                f"a message {kind!r} claiming {length} bytes (this check reads at most "
                f"{MAX_MESSAGE})"
            )
        self._fill(length + 1)
        body = bytes(self._buffer[5 : length + 1])
        del self._buffer[: length + 1]
        return kind, body

    # ------------------------------------------------------------------ start-up

    def startup(
        self, user: str, database: str | None, params: dict[str, str], password: str | None
    ) -> None:
        """Log in: the startup message, the password exchange the server asks for, then its
        parameters until ReadyForQuery. Raises ``ServerError`` (a refusal),
        ``NeedsPassword``, ``Unsupported``, ``ProtocolError`` or ``OSError``."""
        fields = {"user": user, **({"database": database} if database else {}), **params}
        body = struct.pack("!i", PROTOCOL)
        body += b"".join(_cstring(key) + _cstring(value) for key, value in fields.items())
        body += b"\0"
        self.send(struct.pack("!i", len(body) + 4) + body)
        scram: _Scram | None = None
        while True:
            kind, body = self.receive()
            if kind == b"E":
                raise ServerError(_fields(body))
            if kind == b"Z":
                return
            if kind in (b"S", b"K", b"N"):  # ParameterStatus, BackendKeyData, a notice
                continue
            if kind != b"R" or len(body) < 4:
                raise ProtocolError(f"sent a message {kind!r} during the login")
            (code,) = struct.unpack_from("!i", body)
            if code == AUTH_OK:
                continue
            if code in (AUTH_CLEARTEXT, AUTH_MD5, AUTH_SASL) and password is None:
                raise NeedsPassword()
            if code == AUTH_CLEARTEXT:
                self.send(_message(b"p", _cstring(password or "")))
            elif code == AUTH_MD5 and len(body) == 8:
                self.send(_message(b"p", _cstring(_md5(user, password or "", body[4:8]))))
            elif code == AUTH_SASL:
                mechanisms = body[4:].split(b"\0")
                if b"SCRAM-SHA-256" not in mechanisms:
                    offered = b", ".join(m for m in mechanisms if m).decode("ascii", "replace")
                    raise Unsupported(f"SASL with {offered[:100] or 'no mechanism'}")
                scram = _Scram(password or "")
                first = scram.first()
                self.send(
                    _message(
                        b"p", _cstring("SCRAM-SHA-256") + struct.pack("!i", len(first)) + first
                    )
                )
            elif code == AUTH_SASL_CONTINUE and scram is not None:
                self.send(_message(b"p", scram.final(body[4:])))
            elif code == AUTH_SASL_FINAL and scram is not None:
                scram.verify(body[4:])
            else:
                name = _METHODS.get(code, f"method {code}")
                raise Unsupported(name)

    # ------------------------------------------------------------------ statements

    def simple(self, sql: str) -> None:
        """A statement through the simple protocol (``START TRANSACTION``); its error raises
        ``ServerError`` once the server is ready again."""
        self.send(_message(b"Q", _cstring(sql)))
        self._results()

    def extended(self, sql: str) -> Result:
        """One statement through the extended protocol, every value as text."""
        parse = _message(b"P", b"\0" + _cstring(sql) + struct.pack("!h", 0))
        bind = _message(b"B", b"\0\0" + struct.pack("!hhh", 0, 0, 0))
        execute = _message(b"E", b"\0" + struct.pack("!i", 0))
        self.send(parse + bind + execute + _message(b"S", b""))
        return self._results()

    def _results(self) -> Result:
        result = Result()
        error: ServerError | None = None
        while True:
            kind, body = self.receive()
            if kind == b"Z":
                if error is not None:
                    raise error
                return result
            if kind == b"E":
                error = error or ServerError(_fields(body))
            elif kind == b"D":
                if result.first is None:
                    result.first = _row(body)
                result.rows += 1
            elif kind not in _RESULT_MESSAGES:
                raise ProtocolError(f"sent a message {kind!r} in a statement's results")

    def terminate(self) -> None:
        self.send(_message(b"X", b""))


def _fields(body: bytes) -> dict[str, str]:
    """An ErrorResponse's fields."""
    fields: dict[str, str] = {}
    for part in body.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode("utf-8", "replace")
    return fields


def _row(body: bytes) -> list[str | None]:
    """A DataRow's values as text; ``ProtocolError`` when its lengths do not add up."""
    try:
        (count,) = struct.unpack_from("!h", body)
        values: list[str | None] = []
        at = 2
        for _ in range(count):
            (size,) = struct.unpack_from("!i", body, at)
            at += 4
            if size == -1:
                values.append(None)
                continue
            if size < 0 or at + size > len(body):
                raise ProtocolError("a row whose lengths do not add up")
            values.append(body[at : at + size].decode("utf-8", "replace"))
            at += size
    except struct.error:
        raise ProtocolError("a row whose lengths do not add up") from None
    return values


def _md5(user: str, password: str, salt: bytes) -> str:
    from hashlib import md5

    inner = md5(password.encode("utf-8") + user.encode("utf-8")).hexdigest()
    return "md5" + md5(inner.encode("ascii") + salt).hexdigest()


def saslprep(password: str) -> bytes:
    """The password as SCRAM hashes it (RFC 4013), as the server prepares it: a password
    that SASLprep refuses is used as it is, and so is a plain printable ASCII one (which
    SASLprep leaves unchanged)."""
    if password.isascii() and password.isprintable():
        return password.encode("ascii")
    import stringprep
    import unicodedata

    mapped = "".join(
        " " if stringprep.in_table_c12(c) else c for c in password if not stringprep.in_table_b1(c)
    )
    prepared = unicodedata.normalize("NFKC", mapped)
    prohibited = (
        stringprep.in_table_c12,
        stringprep.in_table_c21_c22,
        stringprep.in_table_c3,
        stringprep.in_table_c4,
        stringprep.in_table_c5,
        stringprep.in_table_c6,
        stringprep.in_table_c7,
        stringprep.in_table_c8,
        stringprep.in_table_c9,
        stringprep.in_table_a1,
    )
    if not prepared or any(test(c) for c in prepared for test in prohibited):
        return password.encode("utf-8")
    right_to_left = any(stringprep.in_table_d1(c) for c in prepared)
    if right_to_left and (
        any(stringprep.in_table_d2(c) for c in prepared)
        or not (stringprep.in_table_d1(prepared[0]) and stringprep.in_table_d1(prepared[-1]))
    ):
        return password.encode("utf-8")  # RFC 3454 section 6: bidirectional text rules
    return prepared.encode("utf-8")


class _Scram:
    """SCRAM-SHA-256 without channel binding (RFC 5802, RFC 7677), as libpq speaks it."""

    def __init__(self, password: str) -> None:
        import base64
        import os

        self.password = password
        self.nonce = base64.b64encode(os.urandom(18)).decode("ascii")
        self.bare = f"n=,r={self.nonce}"
        self.server_key = b""
        self.auth_message = b""

    def first(self) -> bytes:
        return f"n,,{self.bare}".encode("ascii")

    def final(self, server_first: bytes) -> bytes:
        import base64
        import hashlib
        import hmac

        try:
            text = server_first.decode("ascii")
            attributes = dict(item.split("=", 1) for item in text.split(","))
            nonce, salt, rounds = attributes["r"], attributes["s"], attributes["i"]
            salt_bytes = base64.b64decode(salt, validate=True)
            iterations = int(rounds) if rounds.isdigit() else -1
        except (UnicodeDecodeError, ValueError, KeyError):
            raise ProtocolError("a malformed SCRAM server-first-message") from None
        if not nonce.startswith(self.nonce) or len(nonce) <= len(self.nonce):
            raise ProtocolError("a SCRAM nonce that does not extend the check's")
        if not 1 <= iterations <= MAX_ITERATIONS:
            raise ProtocolError(
                f"a SCRAM iteration count of {rounds[:20]!r} (at most {MAX_ITERATIONS})"
            )
        salted = hashlib.pbkdf2_hmac("sha256", saslprep(self.password), salt_bytes, iterations)
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = f"c=biws,r={nonce}"
        self.auth_message = f"{self.bare},{text},{without_proof}".encode("ascii")
        signature = hmac.digest(stored_key, self.auth_message, "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        self.server_key = hmac.digest(salted, b"Server Key", "sha256")
        return f"{without_proof},p={base64.b64encode(proof).decode('ascii')}".encode("ascii")

    def verify(self, server_final: bytes) -> None:
        """The server proves it knows the password too (or the exchange was tampered with)."""
        import base64
        import hmac

        text = server_final.decode("ascii", "replace")
        expected = hmac.digest(self.server_key, self.auth_message, "sha256")
        if not text.startswith("v=") or not self.server_key:
            raise ProtocolError(f"a SCRAM server-final-message without a signature ({text[:60]!r})")
        try:
            signature = base64.b64decode(text[2:], validate=True)
        except ValueError:
            raise ProtocolError("a malformed SCRAM server signature") from None
        if not hmac.compare_digest(signature, expected):
            raise ProtocolError("a SCRAM server signature that does not match the password")
