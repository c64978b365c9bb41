"""A hostile HTTP server on loopback: each request gets whatever ``answer`` yields.

``answer(path)`` returns an iterable of byte strings (or floats: seconds to wait before the
next write); the connection closes when it ends or when the client goes away. A red-team
Sensu API: endless bodies, bodies that trickle, compressed bombs, pages that never end.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

Answer = Callable[[str], Iterable[bytes | float]]


class Hostile:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.paths: list[str] = []
        self.port = 0
        self.stop = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _serve(server: Hostile, conn: socket.socket) -> None:
    with conn:
        conn.settimeout(5)
        request = b""
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in request and len(request) < 65536:
                data = conn.recv(4096)
                if not data:
                    return
                request += data
        line = request.split(b"\r\n", 1)[0].decode("latin-1")
        path = line.split(" ")[1] if line.count(" ") >= 2 else ""
        server.paths.append(path)
        with contextlib.suppress(OSError):
            for item in server.answer(path):
                if server.stop.is_set():
                    return
                if isinstance(item, float):
                    time.sleep(item)
                else:
                    conn.sendall(item)


@contextmanager
def hostile(answer: Answer) -> Iterator[Hostile]:
    server = Hostile(answer)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    server.port = listener.getsockname()[1]

    def accept() -> None:
        while not server.stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_serve, args=(server, conn), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        listener.close()


def head(status: str = "200 OK", *headers: str, length: int | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/json", *headers]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def whole(body: bytes, status: str = "200 OK", *headers: str) -> list[bytes | float]:
    return [head(status, *headers, length=len(body)) + body]
