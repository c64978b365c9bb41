"""A Sensu API on loopback serving recorded (Classic 1.9) and written (Go 6.x) bodies.

A real HTTP server: ``mdd status`` talks to it over TCP with requests, as to a live Sensu.
``mode`` switches it to an API failure: 401, 404, 500, a timeout, garbage JSON, another
Sensu version. The recorded bodies are served as a live Sensu would serve them now: their
times (``executed``, ``issued``, ``timestamp``) moved forward together so that the newest
result is ``age`` seconds old (0: just now; more than the results' ttl or twice their
interval: a Sensu whose results stopped arriving). ``extra`` results (Classic) are served
beside the recorded ones.
"""

from __future__ import annotations

import base64
import contextlib
import json
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
        self.age = 0.0
        self.extra: list[dict[str, Any]] = []

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
                self._send(200, live((GO / "events_page2.json").read_bytes(), api.age))
            else:
                self._send(
                    200,
                    live((GO / "events_page1.json").read_bytes(), api.age),
                    Sensu_Continue="page2token",
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
        elif path == "/results":
            self._send(200, live((CLASSIC / files[path]).read_bytes(), api.age, api.extra))
        elif path in files:
            self._send(200, (CLASSIC / files[path]).read_bytes())
        else:
            self._send(404, b"")


_TIMES = ("executed", "issued", "timestamp", "last_ok")


def _times(item: Any, found: list[int]) -> None:
    if isinstance(item, dict):
        for key, value in item.items():
            if key in _TIMES and isinstance(value, int) and value > 10**9:
                found.append(value)
            else:
                _times(value, found)
    elif isinstance(item, list):
        for value in item:
            _times(value, found)


def _shift(item: Any, delta: int) -> Any:
    if isinstance(item, dict):
        return {
            k: v + delta if k in _TIMES and isinstance(v, int) and v > 10**9 else _shift(v, delta)
            for k, v in item.items()
        }
    if isinstance(item, list):
        return [_shift(v, delta) for v in item]
    return item


def live(body: bytes, age: float, extra: list[dict[str, Any]] | None = None) -> bytes:
    """A recorded body as a live Sensu serves it now: the newest ``executed`` is ``age``
    seconds ago (the other times moved by as much); ``extra`` items appended (as given)."""
    document = json.loads(body)
    found: list[int] = []
    _times(document, found)
    if found:
        document = _shift(document, int(time.time() - age) - max(found))
    if extra and isinstance(document, list):
        document = [*document, *extra]
    return json.dumps(document).encode()


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
