"""check-mdd-proxy, run as Sensu runs it, through a real forward proxy on loopback.

The proxy (tests/checks/http_servers.py) forwards absolute-URI requests and opens CONNECT
tunnels to loopback destinations, and refuses with 403 the destinations a test puts on its
deny lists: one allowed destination, one denied, for http and https targets.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mdd.checks import check_proxy
from tests.checks.http_servers import Proxy, Server, forward_proxy, serve, server_context
from tests.conftest import CheckRun, accepting, load_values, run_argv, run_check, server_missing

CHECK_HTTP = Path("/usr/lib/nagios/plugins/check_http")


@pytest.fixture(scope="module")
def web() -> Iterator[Server]:
    with serve() as server:
        yield server


@pytest.fixture(scope="module")
def denied_web() -> Iterator[Server]:
    """A destination the proxy refuses (its port is on the proxy's deny lists)."""
    with serve() as server:
        yield server


@pytest.fixture(scope="module")
def tls_web(ca: Any) -> Iterator[Server]:
    with serve(context=server_context(ca, "localhost", "127.0.0.1")) as server:
        yield server


@pytest.fixture(scope="module")
def denied_tls_web(ca: Any) -> Iterator[Server]:
    with serve(context=server_context(ca, "localhost", "127.0.0.1")) as server:
        yield server


@pytest.fixture(scope="module")
def proxy(denied_web: Server, denied_tls_web: Server) -> Iterator[Proxy]:
    with forward_proxy() as running:
        running.deny_plain.add(denied_web.port)
        running.deny_ports.add(denied_tls_web.port)
        yield running


def one_line(run: CheckRun) -> None:
    assert run.out.count("\n") == 1, run.out


def where(proxy: Proxy) -> str:
    return f"proxy 127.0.0.1:{proxy.port}"


# --------------------------------------------------------------------------- OK


def test_http_destination_through_the_proxy(web: Server, proxy: Proxy) -> None:
    url = web.url("/ok")
    run = run_check("proxy", point="egress-repo", proxy=proxy.url, url=url, timeout="5s")
    assert run.code == 0, run.out
    assert run.line.startswith(f"ProxyCheck OK: egress-repo: {url} returned 200 OK in "), run.out
    assert f"(through {where(proxy)}) | time=" in run.line
    assert ("GET", url) in proxy.seen
    one_line(run)


def test_https_destination_through_a_tunnel(tls_web: Server, proxy: Proxy, ca_file: str) -> None:
    url = tls_web.url("/ok", host="localhost")
    run = run_check("proxy", proxy=proxy.url, url=url, ca_file=ca_file, timeout="5s")
    assert run.code == 0, run.out
    assert run.line.startswith(f"ProxyCheck OK: {url} returned 200 OK in ")
    assert ("CONNECT", f"localhost:{tls_web.port}") in proxy.seen


def test_expected_status(web: Server, proxy: Proxy) -> None:
    run = run_check(
        "proxy", proxy=proxy.url, url=web.url("/status/404"), status=[404], timeout="5s"
    )
    assert run.code == 0, run.out
    assert "returned 404 Not Found" in run.line


def test_denied_https_destination_is_ok(denied_tls_web: Server, proxy: Proxy) -> None:
    url = denied_tls_web.url("/ok")
    run = run_check("proxy", proxy=proxy.url, url=url, denied=True, timeout="5s")
    assert run.code == 0, run.out
    assert run.line.startswith(
        f"ProxyCheck OK: {where(proxy)} refused CONNECT to 127.0.0.1:{denied_tls_web.port}: "
        f"403 Forbidden, as required in "
    ) or run.line.startswith(
        f"ProxyCheck OK: {where(proxy)} refused CONNECT to 127.0.0.1:{denied_tls_web.port}: "
        f"403 Forbidden, as required |"
    ), run.out
    assert not denied_tls_web.seen  # nothing reached the destination


def test_denied_http_destination_is_ok(denied_web: Server, proxy: Proxy) -> None:
    url = denied_web.url("/ok")
    run = run_check("proxy", proxy=proxy.url, url=url, denied=True, timeout="5s")
    assert run.code == 0, run.out
    assert run.line.split(" | ")[0] == (
        f"ProxyCheck OK: {where(proxy)} refused GET {url}: 403 Forbidden, as required"
    )
    assert not denied_web.seen


# --------------------------------------------------------------------------- CRITICAL


def test_allowed_expected_but_connect_refused(denied_tls_web: Server, proxy: Proxy) -> None:
    run = run_check("proxy", proxy=proxy.url, url=denied_tls_web.url("/ok"), timeout="5s")
    assert run.code == 2, run.out
    assert run.line == (
        f"ProxyCheck CRITICAL: {where(proxy)} refused CONNECT to 127.0.0.1:{denied_tls_web.port}:"
        f" 403 Forbidden"
    )


def test_allowed_expected_but_http_refused(denied_web: Server, proxy: Proxy) -> None:
    url = denied_web.url("/ok")
    run = run_check("proxy", proxy=proxy.url, url=url, timeout="5s")
    assert run.code == 2, run.out
    assert run.line.startswith(
        f"ProxyCheck CRITICAL: {url} returned 403 Forbidden (expected 200-299): 'denied by the "
        f"proxy' (through {where(proxy)})"
    )


def test_denied_expected_but_tunnel_opened(tls_web: Server, proxy: Proxy) -> None:
    run = run_check("proxy", proxy=proxy.url, url=tls_web.url("/ok"), denied=True, timeout="5s")
    assert run.code == 2, run.out
    assert run.line == (
        f"ProxyCheck CRITICAL: {where(proxy)} opened a tunnel to 127.0.0.1:{tls_web.port} "
        f"(CONNECT accepted): it must refuse it"
    )


def test_denied_expected_but_request_forwarded(web: Server, proxy: Proxy) -> None:
    url = web.url("/ok")
    run = run_check("proxy", proxy=proxy.url, url=url, denied=True, timeout="5s")
    assert run.code == 2, run.out
    assert run.line == (
        f"ProxyCheck CRITICAL: {where(proxy)} forwarded GET {url}, which returned 200 OK: the "
        f"proxy must refuse it"
    )


def test_destination_own_error_is_not_a_denial(web: Server, proxy: Proxy) -> None:
    # A 502 through the proxy is no refusal; only 403/407 count for plain http.
    url = web.url("/status/502")
    run = run_check("proxy", proxy=proxy.url, url=url, denied=True, timeout="5s")
    assert run.code == 2, run.out
    assert "which returned 502 Bad Gateway: the proxy must refuse it" in run.line


@pytest.mark.parametrize("denied", [False, True])
def test_unreachable_proxy_is_critical_even_when_denied(
    denied: bool, web: Server, closed_port: int
) -> None:
    proxy_url = f"http://127.0.0.1:{closed_port}"
    run = run_check("proxy", proxy=proxy_url, url=web.url("/ok"), denied=denied, timeout="2s")
    assert run.code == 2, run.out
    assert f"proxy 127.0.0.1:{closed_port} refused the connection" in run.line
    one_line(run)


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_proxy_that_never_answers(scheme: str, silent_port: int) -> None:
    for denied in (False, True):
        url = f"{scheme}://127.0.0.1:9/"
        run = run_check(
            "proxy", proxy=f"http://127.0.0.1:{silent_port}", url=url, denied=denied, timeout="1s"
        )
        assert run.code == 2, run.out
        one_line(run)
        assert "within 1s" in run.line


def test_unanswered_proxy_connect(unanswered_port: int) -> None:
    run = run_check(
        "proxy",
        proxy=f"http://127.0.0.1:{unanswered_port}",
        url="https://127.0.0.1:9/",
        denied=True,
        timeout="1s",
    )
    assert run.code == 2, run.out
    assert "did not answer within 1s (host down or filtered)" in run.line


def test_untrusted_destination_certificate(tls_web: Server, proxy: Proxy) -> None:
    url = tls_web.url("/ok")
    run = run_check("proxy", proxy=proxy.url, url=url, timeout="5s")
    assert run.code == 2, run.out
    assert run.line.startswith(f"ProxyCheck CRITICAL: {url} certificate verify failed: ")


# --------------------------------------------------------------------------- faults


def _fake_proxy(reply: bytes, pause: float = 0.0) -> Any:
    def talk(conn: socket.socket) -> None:
        conn.settimeout(5)
        conn.recv(65536)
        for byte in reply if pause else [reply]:
            if pause:
                time.sleep(pause)
            conn.sendall(bytes([byte]) if pause else byte)  # type: ignore[arg-type]
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(4096):
            pass

    return accepting(talk, threaded=True)


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("denied", [False, True])
def test_proxy_that_speaks_ssh_is_never_green(scheme: str, denied: bool) -> None:
    with _fake_proxy(b"SSH-2.0-OpenSSH_9.2p1\r\n") as port:
        run = run_check(
            "proxy",
            proxy=f"http://127.0.0.1:{port}",
            url=f"{scheme}://127.0.0.1:9/",
            denied=denied,
            timeout="2s",
        )
    assert run.code == 2, run.out
    one_line(run)
    if scheme == "http":
        assert "did not answer with HTTP (got 'SSH-2.0-OpenSSH_9.2p1" in run.line
    else:  # the http check's tunnel waits for the end of an HTTP head, which never comes
        assert f"proxy 127.0.0.1:{port} closed the connection during CONNECT" in run.line


@pytest.mark.parametrize("denied", [False, True])
def test_proxy_that_trickles_its_refusal(denied: bool) -> None:
    with _fake_proxy(b"HTTP/1.1 403 Forbidden\r\n\r\n", pause=0.3) as port:
        run = run_check(
            "proxy",
            proxy=f"http://127.0.0.1:{port}",
            url="https://127.0.0.1:9/",
            denied=denied,
            timeout="1s",
        )
    assert run.code == 2, run.out
    assert f"proxy 127.0.0.1:{port} did not answer CONNECT to 127.0.0.1:9 within 1s" in run.line


@pytest.mark.parametrize("denied", [False, True])
def test_proxy_that_sends_endless_headers(denied: bool) -> None:
    def endless(conn: socket.socket) -> None:
        conn.settimeout(5)
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n")
        while True:
            conn.sendall(b"X-Filler: " + b"x" * 1000 + b"\r\n")

    with accepting(endless, threaded=True) as port:
        run = run_check(
            "proxy",
            proxy=f"http://127.0.0.1:{port}",
            url="https://127.0.0.1:9/",
            denied=denied,
            timeout="2s",
        )
    assert run.code == 2, run.out  # never green
    one_line(run)
    assert len(run.line) < 400


def test_tunnel_that_closes_mid_handshake(ca_file: str) -> None:
    def close_mid_tls(conn: socket.socket) -> None:
        conn.settimeout(5)
        conn.recv(65536)  # CONNECT
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        conn.recv(65536)  # the ClientHello, then hang up

    with accepting(close_mid_tls) as port:
        run = run_check(
            "proxy",
            proxy=f"http://127.0.0.1:{port}",
            url="https://127.0.0.1:9/",
            ca_file=ca_file,
            timeout="2s",
        )
    assert run.code == 2, run.out
    assert run.line.startswith(
        "ProxyCheck CRITICAL: https://127.0.0.1:9/ closed the connection during the TLS handshake"
    )


def test_proxy_407_for_plain_http_is_a_denial() -> None:
    reply = b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"
    with _fake_proxy(reply) as port:
        run = run_check(
            "proxy",
            proxy=f"http://127.0.0.1:{port}",
            url="http://127.0.0.1:9/x",
            denied=True,
            timeout="2s",
        )
    assert run.code == 0, run.out
    assert "refused GET http://127.0.0.1:9/x: 407 Proxy Authentication Required, as required" in (
        run.line
    )


# --------------------------------------------------------------------------- WARNING


def test_slow_answer_over_warn_is_warning(web: Server, proxy: Proxy) -> None:
    run = run_check(
        "proxy", proxy=proxy.url, url=web.url("/ok?sleep=0.3"), warn="100ms", timeout="5s"
    )
    assert run.code == 1, run.out
    assert run.line.split(" | ")[0].endswith(f"(warning above 100 ms) (through {where(proxy)})")


# --------------------------------------------------------------------------- UNKNOWN


def test_unusable_ca_file_is_unknown(tls_web: Server, proxy: Proxy, tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    run = run_check("proxy", proxy=proxy.url, url=tls_web.url("/ok"), ca_file=str(bad))
    assert run.code == 3, run.out
    assert f"cannot use ca_file {bad}" in run.line


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--url", "http://x/"], "the following arguments are required: --proxy"),
        (["--proxy", "socks5://p:1080", "--url", "http://x/"], "is not an http:// proxy URL"),
        (["--proxy", "http://p:3128", "--url", "ftp://x/"], "is not an http:// or https:// URL"),
    ],
)
def test_bad_invocation_is_unknown(argv: list[str], expected: str) -> None:
    run = run_argv("check-mdd-proxy", *argv)
    assert run.code == 3, run.out
    one_line(run)
    assert expected in run.line


# --------------------------------------------------------------------------- manifest


def test_manifest_values_parse_back_from_the_command() -> None:
    from mdd.checks._help import CheckParser as _Parser
    from mdd.checks._options import COMMON_OPTIONS, add_arguments
    from mdd.core.command import check_argv

    for manifest in (
        {
            "proxy": "http://proxy.ams1.example.net:3128",
            "url": "https://repo.example.net/simple/?q=$(x)",
            "status": ["200-399", 404],
            "ca_file": "/etc/ssl/repo ca.pem",
            "timeout": "3s",
            "warn": "1s",
            "crit": "2s",
        },
        {"proxy": "proxy:3128", "url": "https://social.example.com/", "denied": True},
    ):
        values = load_values("proxy", **manifest)
        assert check_proxy.validate(values) == []
        argv = check_argv("proxy", values)

        def fail(message: str) -> Any:
            raise AssertionError(message)

        parser = _Parser(fail, prog=argv[0])
        add_arguments(parser, COMMON_OPTIONS + check_proxy.OPTIONS)
        parsed = vars(parser.parse_args(argv[1:]))
        for name, value in values.items():
            assert parsed[name] == value, name


@pytest.mark.parametrize(
    ("manifest", "option", "message"),
    [
        ({"denied": True, "status": [403]}, "status", "no meaning with denied: true"),
        ({"url": "http://x/", "ca_file": "/ca.pem"}, "ca_file", "no meaning for an http:// URL"),
        ({"denied": True, "ca_file": "/ca.pem"}, "ca_file", "no TLS is attempted"),
        ({"proxy": "http://p"}, "proxy", "give the proxy's port"),
    ],
)
def test_validate_rules(manifest: dict[str, Any], option: str, message: str) -> None:
    base = {"proxy": "http://p:3128", "url": "https://x/"}
    problems = check_proxy.validate(load_values("proxy", **{**base, **manifest}))
    assert any(name == option and message in text for name, text in problems), problems


# --------------------------------------------------------------------------- differential


def _c_plugin(*args: str) -> int:
    proc = subprocess.run(
        [str(CHECK_HTTP), *args],
        capture_output=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    return proc.returncode


@pytest.mark.parametrize("allowed", [True, False])
def test_same_colour_as_check_http_through_the_proxy(
    allowed: bool, web: Server, denied_web: Server, proxy: Proxy
) -> None:
    """check_http -I proxy -p port -u http://target/ (its documented proxy use) and
    check-mdd-proxy agree on OK vs not OK for an allowed and a denied destination."""
    if not CHECK_HTTP.exists():
        server_missing("monitoring-plugins check_http")
    target = web if allowed else denied_web
    url = target.url("/ok")
    c_code = _c_plugin(
        "-I",
        "127.0.0.1",
        "-p",
        str(proxy.port),
        "-H",
        f"127.0.0.1:{target.port}",
        "-u",
        url,
        "-t",
        "5",
    )
    run = run_check("proxy", proxy=proxy.url, url=url, timeout="5s")
    assert (run.code == 0) == allowed, run.out
    assert (c_code == 0) == allowed, f"check_http exited {c_code}"


@pytest.mark.parametrize("allowed", [True, False])
def test_same_colour_as_check_http_connect(allowed: bool, tls_web: Server, ca_file: str) -> None:
    """check_http -j CONNECT -S (https through the proxy) and check-mdd-proxy agree on the
    colour, for a host the proxy lets through and one it refuses. check_http always asks for
    port 443, so the proxy maps 443 to the test server's port. check_http does not verify the
    certificate; mdd does (given ca_file here)."""
    if not CHECK_HTTP.exists():
        server_missing("monitoring-plugins check_http")
    host = "localhost" if allowed else "127.0.0.1"
    with forward_proxy() as proxy:
        proxy.remap[443] = tls_web.port
        proxy.deny_hosts.add("127.0.0.1")
        c_code = _c_plugin(
            "-I",
            "127.0.0.1",
            "-p",
            str(proxy.port),
            "-j",
            "CONNECT",
            "-H",
            host,
            "-S",
            "-u",
            "/ok",
            "-t",
            "5",
        )
        run = run_check("proxy", proxy=proxy.url, url=f"https://{host}/ok", ca_file=ca_file)
        assert proxy.seen == [("CONNECT", f"{host}:443")] * 2
    assert (run.code == 0) == allowed, run.out
    assert (c_code == 0) == allowed, f"check_http exited {c_code}"


# --------------------------------------------------------------------------- in-process


def test_probe_in_a_thread_ends_without_signals(silent_port: int) -> None:
    import argparse
    import threading

    from mdd.checks._options import COMMON_OPTIONS

    opts = argparse.Namespace(**{o.name: o.default for o in COMMON_OPTIONS + check_proxy.OPTIONS})
    opts.proxy, opts.url, opts.timeout = f"http://127.0.0.1:{silent_port}", "https://x/", 1.0
    opts.denied = True
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(check_proxy.probe(opts)), daemon=True)
    worker.start()
    worker.join(30)  # a hang guard, not a timing assertion
    assert not worker.is_alive(), "probe() did not return without the alarm"
    (result,) = results
    assert result.state.name == "CRITICAL"
    assert "did not answer CONNECT to x:443 within 1s" in result.message
