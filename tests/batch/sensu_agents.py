"""Loopback stand-ins for the two local Sensu agent inputs batch mode writes to, speaking
their protocols as Sensu does: the Classic client socket (TCP: one JSON check result per
connection, answered ``ok``, or ``invalid`` when it is not a check result) and the Sensu Go
agent API (HTTP ``POST /events``: ``202 Accepted`` with an empty body; ``400`` with the
``Validate()`` message and a newline for an event the agent or backend refuses, as recorded
in /work/shared/fixtures/sensu-go-6.12/agent-event-refused.json; its handler waits on a
``rate.Limiter`` of ``DefaultEventsAPIRateLimit`` 10/s, burst 10, agent/api.go). They record
what they were given; the tests assert on that."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
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


NAME = re.compile(r"^[\w\.\-]+$")  # core/v2 ValidateName


def refusal(event: dict[str, Any]) -> str | None:
    """What the Sensu Go 6.12 agent answers (400) for an event its path refuses, or None.
    The messages of core/v2 ``Event.Validate`` / ``Check.Validate``."""
    check = event["check"]
    name = (check.get("metadata") or {}).get("name") or ""
    if not name:
        return "check name must not be empty"
    if not NAME.match(name):
        return "check name cannot contain spaces or special characters"
    interval = check.get("interval") or 1  # the agent defaults 0 to 1 (prepareEvent)
    ttl = check.get("ttl") or 0
    if ttl > 0 and ttl <= interval:
        return "ttl must be greater than check interval"
    if 0 < ttl < 5:
        return "minimum ttl is 5 seconds"
    proxy = check.get("proxy_entity_name") or ((event.get("entity") or {}).get("metadata") or {})
    proxy_name = proxy if isinstance(proxy, str) else proxy.get("name", "")
    if proxy_name and not NAME.match(proxy_name):
        return "proxy entity name cannot contain spaces or special characters"
    return None


class Limiter:
    """golang.org/x/time/rate's Limiter as the agent's /events handler uses it (Wait):
    ``rate`` tokens a second, at most ``burst``; a request without a token waits for one.
    ``waits`` records how long each request that had to wait was held."""

    def __init__(self, rate: float = 10.0, burst: int = 10) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.last = time.monotonic()
        self.lock = threading.Lock()
        self.waits: list[float] = []

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            self.tokens -= 1
            pause = -self.tokens / self.rate if self.tokens < 0 else 0.0
            if pause:
                self.waits.append(pause)
        if pause:
            time.sleep(pause)


@contextlib.contextmanager
def agent_api(limiter: Limiter | None = None) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """A Sensu Go agent API on 127.0.0.1; yields (port, events received by POST /events)."""
    received: list[dict[str, Any]] = []
    limit = limiter or Limiter()

    class Handler(BaseHTTPRequestHandler):
        def refuse(self, message: str) -> None:
            body = (message + "\n").encode()  # Go's http.Error
            self.send_response(400)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802 - the http.server interface
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if self.path != "/events":
                self.send_error(404)
                return
            limit.wait()
            try:
                event = json.loads(body)
            except ValueError as exc:
                self.refuse(str(exc))
                return
            if not isinstance(event, dict) or not isinstance(event.get("check"), dict):
                self.refuse("event must contain a check")
                return
            refused = refusal(event)
            if refused:
                self.refuse(refused)
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
