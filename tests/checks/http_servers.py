"""Real HTTP(S) servers and a real forward proxy on loopback, for the http check's tests.

Every server records what it received (method, path, headers, body, SNI), so a test can
assert what the check really sent. Nothing here ever connects outside 127.0.0.0/8.
"""

from __future__ import annotations

import json
import select
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.conftest import accepting

LOOPBACK = ("127.0.0.1", "127.0.0.2", "localhost", "::1")

HEALTH = {
    "status": "UP",
    "checks": {"db": {"state": "UP", "latency_ms": 3}},
    "items": [{"name": "first"}, {"name": "second"}],
    "count": 3,
    "ready": True,
}


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Server:
    """A running server: where to reach it and what it saw."""

    host: str
    port: int
    scheme: str
    seen: list[Seen] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)
    tls_errors: list[str] = field(default_factory=list)
    expected_auth: str | None = None

    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if urlsplit(s.path).path == path]


class _Handler(BaseHTTPRequestHandler):
    """Routes by path; any route takes ``?sleep=SECONDS`` (at most 3) before answering.

    /ok                  200 text
    /status/NNN          status NNN
    /echo                200 JSON: method, path, headers and body received
    /health              200 JSON (HEALTH); /down the same with status DOWN
    /html                200 HTML, not JSON
    /big                 1.5 MiB of filler, then NEEDLE
    /redirect?to=U&code=302   a redirect to U
    /loop                a redirect to itself
    /whoami              403, repeating the Authorization header it got (after ``?before=``
                         text; only its last word with ``?last=1``)
    /auth                200 only with the server's expected Authorization, else 401
    """

    server: _HTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _answer(
        self, status: int, body: bytes, content_type: str = "text/plain", **headers: str
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        record = self.server.record
        record.seen.append(
            Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if "sleep" in query:
            time.sleep(min(float(query["sleep"]), 3.0))
        path = parts.path
        if path == "/ok":
            self._answer(200, b"all systems OK\n")
        elif path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            self._answer(code, f"status {code} from the test server\n".encode())
        elif path == "/echo":
            echo = {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            }
            self._answer(200, json.dumps(echo).encode(), "application/json")
        elif path == "/health":
            self._answer(200, json.dumps(HEALTH).encode(), "application/json")
        elif path == "/down":
            self._answer(200, json.dumps(dict(HEALTH, status="DOWN")).encode(), "application/json")
        elif path == "/html":
            self._answer(200, b"<html><body><h1>Welcome</h1></body></html>", "text/html")
        elif path == "/big":
            self._answer(200, b"x" * (3 << 19) + b"NEEDLE")
        elif path == "/redirect":
            code = int(query.get("code", "302"))
            self._answer(code, b"moved\n", Location=query["to"])
        elif path == "/loop":
            self._answer(302, b"round and round\n", Location="/loop")
        elif path == "/whoami":
            given = self.headers.get("Authorization", "nobody")
            if "last" in query:
                given = given.split()[-1]
            self._answer(403, f"{query.get('before', '')}{given} may not see this\n".encode())
        elif path == "/auth":
            given = self.headers.get("Authorization")
            if record.expected_auth is not None and given == record.expected_auth:
                self._answer(200, b"welcome, authenticated client\n")
            else:
                self._answer(401, b"authentication required\n", WWW_Authenticate="Bearer")
        else:
            self._answer(404, b"no such page on the test server\n")

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    record: Server
    context: ssl.SSLContext | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.context is None:
            super().finish_request(request, client_address)
            return
        tls = self.context.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        try:
            tls.settimeout(5)
            try:
                tls.do_handshake()
            except (ssl.SSLError, OSError) as exc:
                self.record.tls_errors.append(str(exc))
                _drain(tls)
                return
            super().finish_request(tls, client_address)
        finally:
            tls.close()


def _drain(tls: ssl.SSLSocket) -> None:
    """After a failed handshake, let the client read the alert before the socket closes.

    Closing a socket with unread data makes the kernel send a reset, which can overtake
    the TLS alert; reading until the client hangs up avoids that.
    """
    try:
        tls.shutdown(socket.SHUT_WR)  # also drops the TLS layer: recv is now plain
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and tls.recv(4096):
            pass
    except OSError:
        pass


@contextmanager
def serve(
    host: str = "127.0.0.1", port: int = 0, context: ssl.SSLContext | None = None
) -> Iterator[Server]:
    """Run an HTTP server (HTTPS with ``context``) in a thread while the block runs."""
    httpd = _HTTPServer((host, port), _Handler)
    record = Server(host, httpd.server_address[1], "https" if context else "http")
    httpd.record = record
    if context is not None:
        context.sni_callback = lambda _sock, name, _ctx: record.sni.append(name)  # type: ignore[assignment,misc,return-value]
        httpd.context = context
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield record
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def server_context(ca: Any, *names: str, client_ca: Any = None) -> ssl.SSLContext:
    """A server TLS context with a certificate for ``names`` issued by the trustme ``ca``.

    With ``client_ca`` the server requires a client certificate issued by that CA.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(*names).configure_cert(context)
    if client_ca is not None:
        client_ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


# --------------------------------------------------------------------------- raw answers


@contextmanager
def raw_http(*pieces: bytes, pause: float = 0.0) -> Iterator[str]:
    """A server on 127.0.0.1 that reads each request's head and answers with ``pieces``
    exactly as given, ``pause`` seconds apart, then closes: for answers no well-behaved
    server library would send (a body cut short, interim 1xx answers, raw header bytes).
    Yields its base URL."""

    def answer(conn: socket.socket) -> None:
        conn.settimeout(5)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(65536)
            if not chunk:
                return
            head += chunk
        for index, piece in enumerate(pieces):
            if index and pause:
                time.sleep(pause)
            conn.sendall(piece)
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(4096):  # until the client hangs up: no reset overtakes the data
            pass

    with accepting(answer, threaded=True) as port:
        yield f"http://127.0.0.1:{port}"


# --------------------------------------------------------------------------- forward proxy


@dataclass
class Proxy:
    port: int
    seen: list[tuple[str, str]] = field(default_factory=list)  # (method, request target)
    deny_ports: set[int] = field(default_factory=set)  # CONNECT to these gets 403
    deny_plain: set[int] = field(default_factory=set)  # plain http:// requests to these: 403
    deny_hosts: set[str] = field(default_factory=set)  # CONNECT to these hosts gets 403
    # CONNECT to a port here goes to the port it maps to (check_http's CONNECT always asks
    # for port 443, which the tests cannot listen on).
    remap: dict[int, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class _ProxyHandler(socketserver.StreamRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        self.connection.settimeout(5)
        request_line = self.rfile.readline(65537).decode("latin-1").strip()
        headers: list[tuple[str, str]] = []
        while True:
            line = self.rfile.readline(65537).decode("latin-1")
            if line in ("\r\n", "\n", ""):
                break
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        method, target, _ = request_line.split(" ", 2)
        record = self.server.record
        record.seen.append((method, target))
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            host = host.strip("[]")
            denied = host in record.deny_hosts or int(port) in record.deny_ports
            if host not in LOOPBACK or denied:
                self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            port = str(record.remap.get(int(port), port))
            upstream = socket.create_connection((host, int(port)), timeout=5)
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _relay(self.connection, upstream)
            return
        parts = urlsplit(target)
        if parts.scheme != "http" or parts.hostname not in LOOPBACK:
            self.wfile.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        if (parts.port or 80) in record.deny_plain:
            self.wfile.write(
                b"HTTP/1.1 403 Forbidden\r\nContent-Length: 19\r\n\r\ndenied by the proxy"
            )
            return
        length = int(dict((k.lower(), v) for k, v in headers).get("content-length", "0"))
        body = self.rfile.read(length) if length else b""
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        kept = [
            (k, v)
            for k, v in headers
            if k.lower() not in ("connection", "proxy-connection", "proxy-authorization")
        ]
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in kept)
        head += "Via: 1.1 mdd-test-proxy\r\nConnection: close\r\n\r\n"
        upstream = socket.create_connection((parts.hostname, parts.port or 80), timeout=5)
        upstream.sendall(head.encode("latin-1") + body)
        _relay(self.connection, upstream)


def _relay(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side hangs up."""
    with upstream:
        sockets = [client, upstream]
        while True:
            readable, _, _ = select.select(sockets, [], [], 5)
            if not readable:
                return
            for sock in readable:
                try:
                    data = sock.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                (upstream if sock is client else client).sendall(data)


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    record: Proxy


@contextmanager
def forward_proxy() -> Iterator[Proxy]:
    """A small real forward proxy on loopback: absolute-URI requests and CONNECT."""
    server = _ProxyServer(("127.0.0.1", 0), _ProxyHandler)
    server.record = Proxy(server.server_address[1])
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server.record
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
