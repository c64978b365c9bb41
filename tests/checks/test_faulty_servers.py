"""The tcp, http and tls checks against servers that misbehave on purpose.

Each case runs the generated command under ``/bin/sh -c`` (as Sensu does) against a real
loopback server that: accepts and never answers, answers one byte at a time, sends 100 MB,
sends endless headers or an endless banner, closes in the middle of the TLS handshake,
sends invalid UTF-8, speaks another protocol, or feeds a catastrophically backtracking
regex; or that puts control characters, 60 KB reason phrases and headers, or certificates
with 1,500 names in the check's way. Every run must:

* end (the subprocess is given the check's timeout plus a 3 s guard, never more),
* exit CRITICAL (2) or UNKNOWN (3), never OK,
* print one line of at most ``LINE_LIMIT`` characters (plus sensu-plugin's prefix), with
  no ESC, BEL, NUL or other control character from the server,
* stay within ``RSS_LIMIT`` of peak resident memory (measured with ``getrusage`` of the
  process that ran it).
"""

from __future__ import annotations

import contextlib
import shlex
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mdd.checks._result import LINE_LIMIT
from mdd.core.command import check_command
from tests.conftest import BIN, accepting, load_values, run_measured

pytestmark = pytest.mark.slow  # see CONTRIBUTING.md: run in CI, skipped while iterating

TIMEOUT = 1.5  # seconds: the checks' timeout in every case
GUARD = 3.0  # seconds past it after which the run counts as hung
RSS_LIMIT = 120_000  # KiB of peak RSS: a check is ~25 MB; 100 MB kept would show
PREFIX = 40  # "HttpCheck CRITICAL: " and the like
MEASURED: list[tuple[str, int, int, float]] = []  # (case, exit code, peak RSS KiB, seconds)


def run_faulty(case: str, check_type: str, **manifest: Any) -> str:
    """Run a check against a faulty server; assert the rules above; return its line."""
    manifest.setdefault("timeout", f"{TIMEOUT}s")
    command = check_command(check_type, load_values(check_type, **manifest), "faulty")
    run = run_measured(command, TIMEOUT + GUARD)
    code, out, rss, seconds = run.code, run.output, run.peak_kib, run.seconds
    MEASURED.append((f"{check_type}: {case}", code, rss, seconds))
    assert code in (2, 3), f"{case}: exit {code}: {out!r}"
    assert out.endswith("\n") and out.count("\n") == 1, f"{case}: not one line: {out[:300]!r}"
    line = out[:-1]
    assert len(line) <= LINE_LIMIT + PREFIX, f"{case}: {len(line)} characters"
    assert all(c.isprintable() for c in line), f"{case}: control character in {line[:300]!r}"
    assert rss < RSS_LIMIT, f"{case}: peak RSS {rss} KiB"
    return line


# --------------------------------------------------------------------------- server behaviours


def _hold(conn: socket.socket, seconds: float = 8.0) -> None:
    """Keep the connection open until the client leaves (or ``seconds`` pass)."""
    conn.settimeout(seconds)
    with contextlib.suppress(OSError):
        while conn.recv(65536):
            pass


def silent(conn: socket.socket) -> None:
    _hold(conn)


def trickle(data: bytes, pause: float = 0.4) -> Callable[[socket.socket], None]:
    def handle(conn: socket.socket) -> None:
        for byte in data:
            conn.sendall(bytes([byte]))
            time.sleep(pause)
        _hold(conn)

    return handle


def flood(
    head: bytes, unit: bytes, total: int = 100 << 20, *, read_first: bool = True, then: bytes = b""
) -> Callable[[socket.socket], None]:
    """``head``; with ``then``, wait for the client's next words and send ``then``; then
    ``unit`` repeated up to ``total`` bytes (100 MB) or until the client closes.
    ``read_first``: wait for the client's request first (HTTP and TLS clients speak first)."""

    def handle(conn: socket.socket) -> None:
        conn.settimeout(TIMEOUT + GUARD)
        with contextlib.suppress(OSError):
            if read_first:
                conn.recv(65536)
            conn.sendall(head)
            if then:
                conn.recv(65536)  # EHLO
                conn.sendall(then)
        conn.settimeout(None)
        chunk = unit * max(1, (1 << 20) // len(unit))
        sent = 0
        with contextlib.suppress(OSError):
            while sent < total:
                conn.sendall(chunk)
                sent += len(chunk)

    return handle


def reply(data: bytes, *, read_first: bool = True) -> Callable[[socket.socket], None]:
    def handle(conn: socket.socket) -> None:
        conn.settimeout(TIMEOUT + GUARD)
        if read_first:
            with contextlib.suppress(OSError):
                conn.recv(65536)
        conn.sendall(data)
        _hold(conn, 2)

    return handle


def half_handshake(conn: socket.socket) -> None:
    """Read the ClientHello, send the start of a ServerHello record, then close."""
    conn.settimeout(5)
    with contextlib.suppress(OSError):
        conn.recv(65536)
        conn.sendall(b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03" + b"\x11" * 20)


@pytest.fixture(scope="module")
def serve() -> Iterator[Callable[[Callable[[socket.socket], None]], int]]:
    """Start a threaded loopback server for a behaviour; all stop at the module's end."""
    with contextlib.ExitStack() as stack:
        started: dict[Any, int] = {}

        def start(handle: Callable[[socket.socket], None]) -> int:
            if handle not in started:
                started[handle] = stack.enter_context(accepting(handle, threaded=True))
            return started[handle]

        yield start


# --------------------------------------------------------------------------- tcp

BANNER_CASES: dict[str, Callable[[socket.socket], None]] = {
    "never answers": silent,
    "one byte at a time": trickle(b"220 ready but slowly\r\n"),
    "100 MB banner": flood(b"", b"A", read_first=False),
    "endless banner lines": flood(b"", b"220-still greeting you\r\n", read_first=False),
    "invalid UTF-8": reply(b"\xff\xfe\x80\xc3(\xa0\xa1 \x1b[31m\x07\x00\r\n", read_first=False),
    "wrong protocol": reply(b"SSH-2.0-OpenSSH_9.2\r\n", read_first=False),
}


@pytest.mark.parametrize("case", list(BANNER_CASES))
def test_tcp_expect_against_a_faulty_server(case: str, serve: Any) -> None:
    port = serve(BANNER_CASES[case])
    line = run_faulty(case, "tcp", host="127.0.0.1", port=port, expect="^220 mail ready")
    assert "does not match" in line or "dropped" in line, line
    if case.startswith(("100 MB", "endless", "invalid", "wrong")):
        assert "got nothing" not in line, line  # the server's bytes reached the check


def test_tcp_send_to_a_server_that_never_reads(serve: Any) -> None:
    port = serve(silent)
    line = run_faulty("send, no reply", "tcp", host="127.0.0.1", port=port, send="x" * 10_000,
                      expect="OK")  # fmt: skip
    assert "got nothing" in line


def test_tcp_catastrophic_regex_is_unknown(serve: Any) -> None:
    port = serve(reply(b"a" * 40 + b"!\r\n", read_first=False))
    line = run_faulty("backtracking regex", "tcp", host="127.0.0.1", port=port, expect="^(a+)+$")
    assert "backtracks catastrophically" in line, line


# --------------------------------------------------------------------------- http

HTTP_CASES: dict[str, Callable[[socket.socket], None]] = {
    "never answers": silent,
    "one byte at a time": trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"),
    "100 MB body": flood(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", b"x" * 1024),
    "endless headers": flood(b"HTTP/1.1 200 OK\r\n", b"X-More: yes\r\n"),
    "endless header line": flood(b"HTTP/1.1 200 OK\r\nX-Long: ", b"y" * 1024),
    "endless status line": flood(b"HTTP/1.1 200 ", b"O" * 1024),
    "endless interim answers": flood(b"", b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"),
    "invalid UTF-8 body": reply(
        b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n\xff\xfe\x80\x1b[31m\x07\x00\xc3(\r\n"
    ),
    "wrong protocol": reply(b"SSH-2.0-OpenSSH_9.2\r\n"),
    "60 KB reason phrase": reply(
        b"HTTP/1.1 503 " + b"Unavailable \x1b[31m\x07" * 3000 + b"\r\nContent-Length: 0\r\n\r\n"
    ),
    "60 KB Location": reply(
        b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1/" + b"a" * 60_000 + b"\r\n"
        b"Content-Length: 0\r\n\r\n"
    ),
    "negative Content-Length": reply(b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello OK"),
    "two Content-Lengths": reply(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 4\r\n\r\nOK"
    ),
}


@pytest.mark.parametrize("case", list(HTTP_CASES))
def test_http_against_a_faulty_server(case: str, serve: Any) -> None:
    port = serve(HTTP_CASES[case])
    line = run_faulty(case, "http", url=f"http://127.0.0.1:{port}/health", contains="OK")
    if "Content-Length" in case:
        assert "invalid Content-Length" in line, line


def test_http_redirect_to_a_60kb_location_when_following(serve: Any) -> None:
    port = serve(HTTP_CASES["60 KB Location"])
    line = run_faulty("60 KB Location followed", "http", url=f"http://127.0.0.1:{port}/",
                      follow_redirects=True)  # fmt: skip
    assert "with a Location of 60,017 characters, not followed" in line, line


def test_http_catastrophic_regex_on_a_long_body_is_unknown(serve: Any) -> None:
    body = b"a" * 5000 + b"!"
    port = serve(reply(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body))
    line = run_faulty("backtracking regex", "http", url=f"http://127.0.0.1:{port}/",
                      matches="^(a+)+$")  # fmt: skip
    assert "backtracks catastrophically" in line, line


def test_https_against_a_server_that_closes_mid_handshake(serve: Any) -> None:
    port = serve(half_handshake)
    line = run_faulty("closes mid-handshake", "http", url=f"https://127.0.0.1:{port}/")
    assert "TLS" in line or "handshake" in line, line


def test_https_against_a_plain_http_server(serve: Any) -> None:
    port = serve(reply(b"HTTP/1.1 400 Bad Request\r\n\r\n"))
    run_faulty("plain HTTP on https", "http", url=f"https://127.0.0.1:{port}/")


# --------------------------------------------------------------------------- tls

TLS_CASES: dict[str, Callable[[socket.socket], None]] = {
    "never answers": silent,
    "closes mid-handshake": half_handshake,
    "one byte at a time": trickle(b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03" + b"\x11" * 8),
    "100 MB of garbage": flood(b"", b"\x17" * 1024),
    "wrong protocol": reply(b"HTTP/1.1 400 Bad Request\r\n\r\n"),
    "invalid UTF-8": reply(b"\xff\xfe\x80\x1b[31m\x07\x00\xc3(\r\n" * 10),
}


@pytest.mark.parametrize("case", list(TLS_CASES))
def test_tls_against_a_faulty_server(case: str, serve: Any) -> None:
    port = serve(TLS_CASES[case])
    run_faulty(case, "tls", host="127.0.0.1", port=port)


SMTP_CASES: dict[str, Callable[[socket.socket], None]] = {
    "never greets": silent,
    "greeting one byte at a time": trickle(b"220 mail ESMTP\r\n"),
    "endless greeting lines": flood(b"", b"220-hello again\r\n", read_first=False),
    "endless 250- EHLO lines": flood(
        b"220 mail ESMTP\r\n", b"250-PIPELINING\r\n", read_first=False, then=b"250-mail\r\n"
    ),
    "one endless line": flood(
        b"220 mail ESMTP\r\n", b"X" * 1024, read_first=False, then=b"250-mail "
    ),
    "invalid UTF-8 greeting": reply(b"554 \xff\xfe\x80\x1b[31m\x07\x00\r\n", read_first=False),
    "wrong protocol": reply(b"SSH-2.0-OpenSSH_9.2\r\n", read_first=False),
    "no STARTTLS, 1000 extensions": reply(
        b"220 mail ESMTP\r\n"
        + b"".join(b"250-EXT%d\r\n" % i for i in range(1000))
        + b"250 LAST\r\n",
        read_first=False,
    ),
}


@pytest.mark.parametrize("case", list(SMTP_CASES))
def test_tls_starttls_against_a_faulty_smtp_server(case: str, serve: Any) -> None:
    port = serve(SMTP_CASES[case])
    line = run_faulty(case, "tls", host="127.0.0.1", port=port, starttls="smtp")
    assert "(smtp STARTTLS)" in line
    expected = {
        "endless greeting lines": "sent a reply of more than 100 lines",
        "endless 250- EHLO lines": "did not answer EHLO: sent a reply of more than 100",
        "one endless line": "did not answer EHLO: sent a reply line longer than 8 KiB",
        "no STARTTLS, 1000 extensions": "more than 100 lines",
    }.get(case)
    assert expected is None or expected in line, line


# --------------------------------------------------------------------------- certificates


def _tls_server(context: ssl.SSLContext) -> Callable[[socket.socket], None]:
    def handle(conn: socket.socket) -> None:
        conn.settimeout(5)
        with contextlib.suppress(OSError), context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(1)

    return handle


def _context(tmp: Path, issued: Any) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*issued.write(tmp, "cert"))
    return context


def test_tls_certificate_with_1500_names_gives_one_bounded_line(serve: Any, tmp_path: Path) -> None:
    from tests.checks.tls_servers import issue

    names = [f"host-{i}.example.net" for i in range(1500)]
    port = serve(_tls_server(_context(tmp_path, issue("many", days=100, names=names))))
    line = run_faulty("1,500 SANs", "tls", host="127.0.0.1", port=port, verify=False,
                      servername="other.example.net", warn_days=200, crit_days=150)  # fmt: skip
    assert "certificate CN=many" in line


def test_tls_certificate_with_300_ou_fields_gives_one_bounded_line(
    serve: Any, tmp_path: Path
) -> None:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from tests.checks.tls_servers import Issued

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"unit \x1b{i}") for i in range(300)]
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3))
        .sign(key, hashes.SHA256())
    )
    port = serve(_tls_server(_context(tmp_path, Issued(cert, key))))
    line = run_faulty("300 OU fields", "tls", host="127.0.0.1", port=port, verify=False)
    assert "OU=unit" in line and "more" in line, line


# --------------------------------------------------------------------------- the output itself


def test_a_point_with_a_newline_prints_one_line(serve: Any) -> None:
    import os

    port = serve(silent)
    argv = [str(BIN / "check-mdd-tcp"), "--point", "two\nlines\x1b[2J", "--host", "127.0.0.1",
            "--port", str(port), "--state", "closed", "--timeout", "1s"]  # fmt: skip
    proc = subprocess.run(
        ["/bin/sh", "-c", shlex.join(argv)], capture_output=True, text=True, timeout=10,
        env=dict(os.environ),
    )  # fmt: skip
    assert proc.stdout.count("\n") == 1, proc.stdout
    assert "two lines\\x1b[2J:" in proc.stdout


def test_figures_are_recorded() -> None:
    """Print the measured figures (pytest -s shows them; docs/reliability.md quotes them)."""
    if MEASURED:
        worst_rss = max(rss for _, _, rss, _ in MEASURED)
        longest = max(seconds for _, _, _, seconds in MEASURED)
        print(f"\nfaulty-server cases: {len(MEASURED)}; peak RSS {worst_rss} KiB; "
              f"longest run {longest:.2f}s (timeout {TIMEOUT}s)")  # fmt: skip
        for case, code, rss, seconds in MEASURED:
            print(f"  {case}: exit {code}, {rss} KiB, {seconds:.2f}s")
