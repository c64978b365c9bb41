"""``mdd status`` against hostile Sensu APIs on loopback (issue 18, red-team round 3).

Every response is capped in bytes before and after decompression, every request and the
whole command end by a deadline, pages are bounded, and what a server sends in reply never
becomes a traceback, a terminal escape or a leaked credential. The memory cases run ``mdd``
under an address-space limit, so a regression fails here instead of taking the machine down.
"""

from __future__ import annotations

import base64
import json
import resource
import subprocess
import sys
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from tests.runner.helpers import BIN, Run, write_manifest
from tests.runner.hostile_http import head, hostile, whole

INFO = json.dumps({"sensu": {"version": "1.9.0"}}).encode()
MEMORY = 1 << 30  # bytes of address space mdd gets in the memory cases
PASSWORD = "Pa55-w0rd-\u00e9t\u00e9-horse"
POINT = {"name": "ldap-port", "type": "tcp", "owner": "identity"}
POINT["check"] = {"host": "127.0.0.1", "port": 636}  # type: ignore[assignment]


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def run_status(folder: Path, url: str, *args: str, timeout: float = 120) -> Run:
    (folder / "pw").write_text(PASSWORD + "\n")
    proc = subprocess.run(
        [
            str(BIN / "mdd"),
            "status",
            "ams1",
            "--manifests",
            str(folder / "manifests"),
            "--sensu-api",
            url,
            "--no-color",
            "--user",
            "admin",
            "--password-file",
            str(folder / "pw"),
            *args,
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        preexec_fn=_limit_memory,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_manifest(tmp_path, [POINT], dc="ams1")
    return tmp_path


def classic(results: Iterable[bytes | float]) -> object:
    """A Classic API whose /results answers ``results``; /info and aggregates are fine."""
    chunks = list(results) if isinstance(results, list) else results

    def answer(path: str) -> Iterable[bytes | float]:
        if path == "/info":
            return whole(INFO)
        if path == "/results":
            return chunks
        return whole(b"{}", "404 Not Found")

    return answer


def fails_cleanly(run: Run, says: str) -> None:
    assert run.code == 3, (run.code, run.err[-2000:])
    assert says in run.err, run.err[-2000:]
    assert "Traceback" not in run.err and run.out == ""


def endless_array() -> Iterator[bytes | float]:
    yield head("200 OK", "Transfer-Encoding: chunked")
    item = b'{"client": "c", "check": {"name": "other", "status": 0, "output": "x"}},'
    chunk = b"[" + item * 900
    while True:
        yield f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        chunk = item * 900


def test_an_endless_results_array_is_cut_at_the_cap(folder: Path) -> None:
    with hostile(classic(endless_array())) as api:
        run = run_status(folder, api.url)
    fails_cleanly(run, "answered with more than 64 MiB")


def test_a_gzip_bomb_is_refused_at_the_cap_after_decompression(folder: Path) -> None:
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    bomb = b"".join(squeeze.compress(zeros) for _ in range(256)) + squeeze.flush()
    assert len(bomb) < 1 << 20  # 256 MiB of zeros in well under 1 MB
    with hostile(classic(whole(bomb, "200 OK", "Content-Encoding: gzip"))) as api:
        run = run_status(folder, api.url)
    fails_cleanly(run, "with a gzip body that expands to more than 64 MiB")


def test_a_gzip_body_within_the_cap_is_read(folder: Path) -> None:
    body = json.dumps(
        [{"client": "c", "check": {"name": "mdd_ams1_ldap-port", "status": 0, "output": "ok"}}]
    ).encode()
    with hostile(classic(whole(zlib.compress(body), "200 OK", "Content-Encoding: deflate"))) as api:
        run = run_status(folder, api.url)
    assert run.code == 0, run.err
    assert "GREEN     ldap-port" in run.out


def trickle(prefix: bytes = b"") -> Iterator[bytes | float]:
    """A response one byte at a time, a byte every 0.2 s, for ever."""
    for byte in prefix + b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1_000_000:
        yield bytes([byte])
        yield 0.2


def test_info_trickling_a_byte_at_a_time_ends_by_the_request_timeout(folder: Path) -> None:
    with hostile(lambda path: trickle()) as api:
        run = run_status(folder, api.url, "--request-timeout", "1s")
    fails_cleanly(run, "did not answer GET /info within 1s")


def test_a_body_trickling_past_the_deadline_is_not_waited_for(folder: Path) -> None:
    def body() -> Iterator[bytes | float]:
        yield head("200 OK", length=1_000_000) + b"["
        while True:
            yield b" "
            yield 0.2

    with hostile(classic(body())) as api:
        run = run_status(folder, api.url, "--request-timeout", "1s")
    fails_cleanly(run, "did not send all of its answer to GET /results within 1s")


def go_folder(folder: Path) -> list[str]:
    (folder / "key").write_text("83abef1e-e7d7-4beb-91fc-79ad90084d5b\n")
    return ["--api", "go", "--api-key-file", str(folder / "key")]


def run_go(folder: Path, url: str) -> Run:
    args = go_folder(folder)
    proc = subprocess.run(
        [str(BIN / "mdd"), "status", "ams1", "--manifests", str(folder / "manifests")]
        + ["--sensu-api", url, "--no-color", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        preexec_fn=_limit_memory,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def test_pages_that_never_end_are_bounded(folder: Path) -> None:
    counter = iter(range(1_000_000))

    def answer(path: str) -> Iterable[bytes | float]:
        return whole(b"[]", "200 OK", f"Sensu-Continue: token{next(counter)}")

    with hostile(answer) as api:
        run = run_go(folder, api.url)
        pages = len(api.paths)
    fails_cleanly(run, "more than 200 pages of 500 events")
    assert pages == 200


def test_the_same_continue_token_twice_stops_at_once(folder: Path) -> None:
    with hostile(lambda path: whole(b"[]", "200 OK", "Sensu-Continue: again")) as api:
        run = run_go(folder, api.url)
        pages = len(api.paths)
    fails_cleanly(run, "sent the same Sensu-Continue token twice")
    assert pages == 2


def test_nested_results_are_a_clear_error(folder: Path) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    with hostile(classic(whole(body))) as api:
        run = run_status(folder, api.url)
    fails_cleanly(run, "with JSON nested deeper than Python reads")


@pytest.mark.parametrize("executed", ["1e308", "1e400", "-5", "NaN", "Infinity", "1" * 400])
def test_an_executed_time_out_of_range_is_no_traceback(folder: Path, executed: str) -> None:
    history = '["0", 1e308, "Infinity", -1, true, 99999999999999999999]'
    body = (
        '[{"client": "c", "check": {"name": "mdd_ams1_ldap-port", "status": 2, '
        f'"output": "refused", "executed": {executed}, "history": {history}}}}}]'
    ).encode()
    with hostile(classic(whole(body))) as api:
        run = run_status(folder, api.url, "--format", "json")
    assert "Traceback" not in run.err, run.err
    assert run.code == 1, run.err
    point = json.loads(run.out)["points"][0]
    assert point["state"] == "regressed" and point["reason"] == "refused"


def test_an_api_echoing_the_authorization_header_leaks_nothing(folder: Path) -> None:
    token = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    echoed = (
        f"Authorization: Basic {token} / {token.lower()} / {PASSWORD.upper()} / "
        f"{PASSWORD} / {PASSWORD.encode('unicode_escape').decode()}"
    )
    with hostile(lambda path: whole(echoed.encode(), "500 Boom " + token)) as api:
        run = run_status(folder, api.url)
    fails_cleanly(run, "answered GET /info with 500 Boom [secret]")
    shown = run.err.lower()
    for leak in (token[:8], PASSWORD[:6], "5-w0rd", "horse"):
        assert leak.lower() not in shown, run.err


def test_sensu_outputs_reach_the_terminal_escaped(folder: Path) -> None:
    output = "refused \x1b]0;pwned\x07 \x1b[2J\x00\x9b31m"
    body = json.dumps(
        [{"client": "c", "check": {"name": "mdd_ams1_ldap-port", "status": 2, "output": output}}]
    ).encode()

    def reason(path: str) -> Iterable[bytes | float]:
        return classic(whole(body))(path)  # type: ignore[operator,no-any-return]

    with hostile(reason) as api:
        run = run_status(folder, api.url)
    assert run.code == 1, run.err
    assert "\\x1b]0;pwned\\x07" in run.out, run.out
    for raw in "\x1b\x07\x00\x9b":
        assert raw not in run.out + run.err


def test_a_control_character_in_the_reason_phrase_is_escaped(folder: Path) -> None:
    with hostile(lambda path: whole(b"", "503 \x1b]0;pwned\x07")) as api:
        run = run_status(folder, api.url)
    fails_cleanly(run, "503 \\x1b]0;pwned\\x07")
    assert "\x1b" not in run.err and "\x07" not in run.err


def test_the_whole_command_has_one_deadline() -> None:
    """The command's budget (COMMAND_REQUESTS request timeouts) spent, no request starts."""
    from mdd.runner.status import ApiError, SensuApi

    api = SensuApi("http://127.0.0.1:9", "go", {}, timeout=0.5)
    api.command_deadline = 0.0  # spent
    with pytest.raises(ApiError, match=r"took over 5s in all \(10 times --request-timeout\)"):
        api._get("/info")
    assert sys.getrecursionlimit() > 0


def test_an_https_api_is_read_with_the_ca_file_and_refused_without(folder: Path) -> None:
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            body = INFO if self.path == "/info" else b"[]" if self.path == "/results" else b"{}"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        trusted = run_status(folder, url, "--ca-file", str(ca_file))
        untrusted = run_status(folder, url)
    finally:
        server.shutdown()
        server.server_close()
    assert trusted.code == 1 and "PENDING   ldap-port" in trusted.out, trusted.err
    fails_cleanly(untrusted, f"TLS with the Sensu API at {url} failed: certificate verify failed")
