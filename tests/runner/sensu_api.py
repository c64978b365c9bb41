"""A Sensu API on loopback serving recorded (Classic 1.9) and written (Go 6.x) bodies.

A real HTTP server: ``mdd status`` talks to it over TCP with requests, as to a live Sensu.
``mode`` switches it to an API failure: 401, 404, 500, a timeout, garbage JSON, another
Sensu version.
"""

from __future__ import annotations

import base64
import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CLASSIC = FIXTURES / "sensu-classic-1.9-api"
GO = FIXTURES / "sensu-go-6"
USER, PASSWORD, API_KEY = "admin", "s3cret-pass", "83abef1e-e7d7-4beb-91fc-79ad90084d5b"


class Api:
    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _send(self, code: int, body: bytes, **headers: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        with contextlib.suppress(OSError):  # the client gave up (the timeout case)
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        api = self.server.api
        api.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        mode = api.mode
        if mode == "timeout":
            time.sleep(3)
            self._send(200, b"[]")
            return
        if mode == "500":
            self._send(500, b'{"error": "redis is not connected"}')
            return
        if mode == "garbage":
            self._send(200, b"<html>login portal</html>")
            return
        path = parts.path
        if path.startswith("/api/core/v2/"):
            if self.headers.get("Authorization") != f"Key {API_KEY}" or mode == "401":
                self._send(401, b'{"message": "unauthorized"}')
                return
            if path != "/api/core/v2/namespaces/default/events":
                self._send(404, b'{"message": "not found"}')
                return
            if query.get("continue") == "page2token":
                self._send(200, (GO / "events_page2.json").read_bytes())
            else:
                self._send(
                    200, (GO / "events_page1.json").read_bytes(), Sensu_Continue="page2token"
                )
            return
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != expected or mode == "401":
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="Restricted API"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode == "404":
            self._send(404, b"")
            return
        files = {
            "/info": "info.json",
            "/results": "results.json",
            "/aggregates/mdd_ams1": "aggregates_mdd_ams1.json",
        }
        if path == "/info" and mode == "version":
            self._send(200, b'{"sensu": {"version": "0.29.0"}}')
        elif path in files:
            self._send(200, (CLASSIC / files[path]).read_bytes())
        else:
            self._send(404, b"")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: Api


@contextmanager
def sensu_api() -> Iterator[Api]:
    server = _Server(("127.0.0.1", 0), _Handler)
    api = Api()
    api.port = server.server_address[1]
    server.api = api
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
