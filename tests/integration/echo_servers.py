"""Loopback servers that echo a planted secret back, each in its own protocol's error form.

A hostile or buggy server may put what the client sent into its answer; the secret scan
(tests/integration/test_secret_scan.py) makes each server answer with the planted secret
itself, whole and in part, so a check that printed the server's words unredacted would show it.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def echoing(answer: Callable[[socket.socket], None]) -> Iterator[int]:
    """A threaded TCP server on 127.0.0.1 that runs ``answer(conn)`` per connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(32)
    listener.settimeout(0.2)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(3)
            with contextlib.suppress(OSError):
                answer(conn)
                conn.shutdown(socket.SHUT_WR)
                while conn.recv(4096):
                    pass

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def _said(secret: str) -> str:
    """The secret as servers and their libraries echo it: as is, in another case, in base64
    (a Basic token), percent-encoded and cut short in an excerpt."""
    import base64
    from urllib.parse import quote

    coded = base64.b64encode(f"svc:{secret}".encode()).decode()
    return (
        f"login failed for password {secret} (you sent {secret.upper()}, {secret.lower()}, "
        f"Basic {coded}, {quote(secret + '/+')}, {secret[:11]}...)"
    )


def http(secret: str) -> Callable[[socket.socket], None]:
    def answer(conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        body = f'{{"error": "{_said(secret)}", "escaped": "{secret[:4]}\\/{secret[4:]}"}}'
        conn.sendall(
            f'HTTP/1.1 401 {_said(secret)}\r\nWWW-Authenticate: Bearer realm="{secret}"\r\n'
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n{body}".encode()
        )

    return answer


def redis(secret: str) -> Callable[[socket.socket], None]:
    def answer(conn: socket.socket) -> None:
        if conn.recv(4096):
            conn.sendall(f"-WRONGPASS {_said(secret)}\r\n".encode())

    return answer


def postgres(secret: str) -> Callable[[socket.socket], None]:
    def answer(conn: socket.socket) -> None:
        first = conn.recv(8)
        if len(first) == 8 and struct.unpack("!II", first)[1] == 80877103:  # SSLRequest
            conn.sendall(b"N")
            first = conn.recv(4)
        if len(first) < 4:
            return
        length = struct.unpack("!I", first[:4])[0]
        rest = length - len(first)
        while rest > 0:
            chunk = conn.recv(rest)
            if not chunk:
                return
            rest -= len(chunk)
        fields = b"SFATAL\0VFATAL\0C28P01\0M" + _said(secret).encode() + b"\0\0"
        conn.sendall(b"E" + struct.pack("!I", 4 + len(fields)) + fields)

    return answer


def mysql(secret: str) -> Callable[[socket.socket], None]:
    def answer(conn: socket.socket) -> None:  # an error instead of the greeting
        payload = b"\xff" + struct.pack("<H", 1045) + _said(secret).encode()
        conn.sendall(struct.pack("<I", len(payload))[:3] + b"\0" + payload)

    return answer


def _ber(tag: int, content: bytes) -> bytes:
    if len(content) < 128:
        return bytes([tag, len(content)]) + content
    size = len(content).to_bytes(2, "big")
    return bytes([tag, 0x82]) + size + content


def ldap(secret: str) -> Callable[[socket.socket], None]:
    def answer(conn: socket.socket) -> None:
        data = conn.recv(4096)
        if len(data) < 5 or data[0] != 0x30:
            return
        # LDAPMessage ::= SEQUENCE { messageID INTEGER, ... }: skip the outer length.
        at = 2 if data[1] < 0x80 else 2 + (data[1] & 0x7F)
        if data[at] != 0x02:
            return
        message_id = data[at + 2 : at + 2 + data[at + 1]]
        response = _ber(0x0A, b"\x31") + _ber(0x04, b"") + _ber(0x04, _said(secret).encode())
        conn.sendall(_ber(0x30, _ber(0x02, message_id) + _ber(0x61, response)))

    return answer


def amqp(secret: str) -> Callable[[socket.socket], None]:
    def answer(conn: socket.socket) -> None:
        if len(conn.recv(8)) < 8:  # "AMQP\0\0\x09\x01"
            return
        text = ("ACCESS_REFUSED - " + _said(secret)).encode()[:255]
        method = struct.pack("!HHH", 10, 50, 403) + bytes([len(text)]) + text
        method += struct.pack("!HH", 0, 0)
        conn.sendall(struct.pack("!BHI", 1, 0, len(method)) + method + b"\xce")

    return answer
