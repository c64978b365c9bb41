"""Loopback stand-ins for the two local Sensu agent inputs batch mode writes to, speaking
their protocols as Sensu documents them: the Classic client socket (TCP: one JSON check
result per connection, answered ``ok``, or ``invalid`` when it is not a check result) and the
Sensu Go agent API (HTTP ``POST /events``, answered ``202 Accepted``). They record what they
were given; the tests assert on that."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextlib.contextmanager
def client_socket() -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """A Sensu Classic client socket on 127.0.0.1; yields (port, results received)."""
    received: list[dict[str, Any]] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.05)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        conn.settimeout(5)
        data = b""
        with conn:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
                try:
                    result = json.loads(data)
                except ValueError:
                    continue  # as sensu-client: wait for the rest of the JSON
                valid = (
                    isinstance(result, dict)
                    and isinstance(result.get("name"), str)
                    and isinstance(result.get("output"), str)
                    and isinstance(result.get("status"), int)
                )
                if valid:
                    received.append(result)
                conn.sendall(b"ok" if valid else b"invalid")
                return

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
        yield listener.getsockname()[1], received
    finally:
        stop.set()
        thread.join(10)
        listener.close()


@contextlib.contextmanager
def agent_api() -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """A Sensu Go agent API on 127.0.0.1; yields (port, events received by POST /events)."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server interface
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if self.path != "/events":
                self.send_error(404)
                return
            try:
                event = json.loads(body)
            except ValueError:
                self.send_error(400)
                return
            if not isinstance(event, dict) or not isinstance(event.get("check"), dict):
                self.send_error(400)
                return
            received.append(event)
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
