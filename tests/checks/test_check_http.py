"""check-mdd-http, run as Sensu runs it, against real HTTP(S) servers and a proxy on loopback."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from mdd.checks import check_http
from tests.checks.addresses import resolve_localhost
from tests.checks.http_servers import (
    Proxy,
    Server,
    forward_proxy,
    raw_http,
    serve,
    server_context,
)
from tests.conftest import (
    CheckRun,
    hanging,
    load_values,
    run_argv,
    run_check,
    write_ca_file,
)

SECRET = "Bearer s3cr3t-t0ken-value-4711"


def one_line(run: CheckRun) -> str:
    """The check's single output line; fails on anything else (tracebacks, extra lines)."""
    assert run.out.count("\n") == 1, run.out
    assert "Traceback" not in run.out
    return run.line


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def web() -> Iterator[Server]:
    with serve() as server:
        yield server


@pytest.fixture
def tls_web(ca: Any) -> Iterator[Server]:
    with serve(context=server_context(ca, "localhost", "127.0.0.1")) as server:
        yield server


@pytest.fixture(scope="session")
def other_ca() -> Any:
    import trustme

    return trustme.CA()


@pytest.fixture(scope="session")
def other_ca_file(other_ca: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_ca_file(other_ca, tmp_path_factory, "other-ca")


@pytest.fixture
def mtls_web(ca: Any) -> Iterator[Server]:
    with serve(context=server_context(ca, "localhost", "127.0.0.1", client_ca=ca)) as server:
        yield server


def _client_files(authority: Any, directory: Path) -> dict[str, str]:
    cert = authority.issue_cert("mdd-agent.ams1")
    files = {
        "cert": directory / "client.crt",
        "key": directory / "client.key",
        "both": directory / "client.pem",
    }
    cert.cert_chain_pems[0].write_to_path(str(files["cert"]))
    cert.private_key_pem.write_to_path(str(files["key"]))
    cert.private_key_and_cert_chain_pem.write_to_path(str(files["both"]))
    return {name: str(path) for name, path in files.items()}


@pytest.fixture(scope="session")
def client_files(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A client certificate issued by the servers' CA: cert, key, and both in one file."""
    return _client_files(ca, tmp_path_factory.mktemp("client"))


@pytest.fixture(scope="session")
def stranger_files(other_ca: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A client certificate issued by a CA the servers do not trust."""
    return _client_files(other_ca, tmp_path_factory.mktemp("stranger"))


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    with forward_proxy() as running:
        yield running


@pytest.fixture
def backend(ca: Any) -> Iterator[Server]:
    """An HTTPS server on 127.0.0.2 whose certificate names only ``localhost``.

    The same port on 127.0.0.1 (where ``localhost`` resolves) is held bound but not
    listening, so only a check that connects to 127.0.0.2 can reach the server.
    """
    import socket

    for _ in range(20):
        with serve("127.0.0.2", context=server_context(ca, "localhost")) as server:
            blocker = socket.socket()
            try:
                blocker.bind(("127.0.0.1", server.port))
            except OSError:
                blocker.close()
                continue
            with blocker:
                yield server
            return
    pytest.fail("no port free on both 127.0.0.1 and 127.0.0.2")


@pytest.fixture
def resolver_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the check record every name it resolves (a sitecustomize wrapping getaddrinfo).

    The wrapper only writes the name down and calls the real getaddrinfo.
    """
    site = tmp_path / "site"
    site.mkdir()
    log = tmp_path / "resolved.log"
    (site / "sitecustomize.py").write_text(
        "import os, socket\n"
        "_real = socket.getaddrinfo\n"
        "def _logged(host, *args, **kwargs):\n"
        "    name = host.decode() if isinstance(host, bytes) else host\n"
        "    with open(os.environ['MDD_TEST_RESOLVE_LOG'], 'a') as f:\n"
        "        f.write(f'{name}\\n')\n"
        "    return _real(host, *args, **kwargs)\n"
        "socket.getaddrinfo = _logged\n"
    )
    log.write_text("")
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.setenv("MDD_TEST_RESOLVE_LOG", str(log))
    return log


@pytest.fixture
def secret_file(tmp_path: Path) -> str:
    path = tmp_path / "artifacts.token"
    path.write_text(SECRET + "\n")
    return str(path)


# --------------------------------------------------------------------------- status


def test_ok_names_status_and_time_with_perfdata(web: Server) -> None:
    run = run_check("http", "artifacts", url=web.url("/ok"), timeout="2s")
    line = one_line(run)
    assert run.code == 0, line
    assert f"OK: artifacts: {web.url('/ok')} returned 200 OK in " in line
    assert re.search(r"\| time=[\d.]+s;;;0;2 size=15B$", line), line
    assert [s.method for s in web.seen] == ["GET"]


def test_server_error_is_critical_naming_status_and_expectation(web: Server) -> None:
    run = run_check("http", url=web.url("/status/503"), timeout="2s")
    line = one_line(run)
    assert run.code == 2, line
    assert f"{web.url('/status/503')} returned 503 Service Unavailable (expected 200-299)" in line
    assert "status 503 from the test server" in line


@pytest.mark.parametrize(
    ("status", "path", "code"),
    [
        (["200", "404"], "/status/404", 0),
        (["400-499"], "/status/418", 0),
        ([204], "/status/204", 0),
        (["200"], "/status/204", 2),
        (["500-599"], "/ok", 2),
    ],
)
def test_status_codes_and_ranges(web: Server, status: list[Any], path: str, code: int) -> None:
    run = run_check("http", url=web.url(path), status=status, timeout="2s")
    line = one_line(run)
    assert run.code == code, line
    if code:
        expected = ", ".join(str(s) for s in status)
        assert f"(expected {expected})" in line


# --------------------------------------------------------------------------- body


def test_contains_found(web: Server) -> None:
    run = run_check("http", url=web.url("/ok"), contains="systems OK", timeout="2s")
    assert run.code == 0, run.out
    assert "body contains 'systems OK'" in one_line(run)


def test_contains_missing_is_critical_with_excerpt(web: Server) -> None:
    run = run_check("http", url=web.url("/ok"), contains="READY", timeout="2s")
    line = one_line(run)
    assert run.code == 2, line
    assert "returned 200 OK but its body does not contain 'READY' (got 'all systems OK')" in line


def test_contains_searches_only_the_first_mebibyte(web: Server) -> None:
    run = run_check("http", url=web.url("/big"), contains="NEEDLE", timeout="2s")
    line = one_line(run)
    assert run.code == 2, line
    assert "does not contain 'NEEDLE' in its first 1 MiB" in line
    assert "size=1048576B" in line


def test_matches(web: Server) -> None:
    good = run_check("http", url=web.url("/ok"), matches=r"systems\s+OK$", timeout="2s")
    assert good.code == 0, good.out
    bad = run_check("http", url=web.url("/ok"), matches=r"^version \d+", timeout="2s")
    line = one_line(bad)
    assert bad.code == 2, line
    assert r"body does not match /^version \d+/ (got 'all systems OK')" in line


# --------------------------------------------------------------------------- json


def test_json_all_paths_match(web: Server) -> None:
    expect = {
        "status": "UP",
        "checks.db.state": "UP",
        "items.1.name": "second",
        "count": 3,
        "ready": True,
    }
    run = run_check("http", url=web.url("/health"), json=expect, timeout="2s")
    line = one_line(run)
    assert run.code == 0, line
    assert 'json status is "UP"' in line
    assert 'json items.1.name is "second"' in line


def test_json_mismatch_names_found_and_expected(web: Server) -> None:
    run = run_check("http", url=web.url("/down"), json={"status": "UP"}, timeout="2s")
    line = one_line(run)
    assert run.code == 2, line
    assert 'returned 200 OK but its json status is "DOWN", expected "UP"' in line


@pytest.mark.parametrize(
    ("path", "expected", "says"),
    [
        ("ready", 1, "json ready is true, expected 1"),
        ("count", "3", 'json count is 3, expected "3"'),
        ("checks.db", {"state": "UP"}, 'json checks.db is {"latency_ms": 3, "state": "UP"}'),
    ],
)
def test_json_compares_types_strictly(web: Server, path: str, expected: Any, says: str) -> None:
    run = run_check("http", url=web.url("/health"), json={path: expected}, timeout="2s")
    line = one_line(run)
    assert run.code == 2, line
    assert says in line


@pytest.mark.parametrize("path", ["checks.cache", "items.5.name", "status.x", "items.first"])
def test_json_missing_path(web: Server, path: str) -> None:
    run = run_check("http", url=web.url("/health"), json={path: "UP"}, timeout="2s")
    line = one_line(run)
    assert run.code == 2, line
    assert f"json has no {path}" in line


def test_json_on_a_body_that_is_not_json(web: Server) -> None:
    run = run_check("http", url=web.url("/html"), json={"status": "UP"}, timeout="2s")
    line = one_line(run)
    assert run.code == 2, line
    assert "body is not JSON: Expecting value at line 1 column 1 (got '<html>" in line


# --------------------------------------------------------------------------- request


def test_method_body_and_headers_reach_the_server(web: Server) -> None:
    run = run_check(
        "http",
        url=web.url("/echo?x=1"),
        method="POST",
        body='{"deploy": "ams1"}',
        headers={"Content-Type": "application/json", "X-Env": "ams1"},
        json={"method": "POST", "path": "/echo?x=1", "headers.x-env": "ams1"},
        timeout="2s",
    )
    assert run.code == 0, run.out
    (seen,) = web.seen
    assert seen.method == "POST"
    assert seen.path == "/echo?x=1"
    assert seen.body == b'{"deploy": "ams1"}'
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["x-env"] == "ams1"
    assert seen.headers["host"] == f"127.0.0.1:{web.port}"


@pytest.mark.parametrize("method", check_http.METHODS)
def test_every_method_is_sent_as_is(web: Server, method: str) -> None:
    run = run_check("http", url=web.url("/ok"), method=method, timeout="2s")
    assert run.code == 0, run.out
    assert [s.method for s in web.seen] == [method]


def test_a_host_header_overrides_the_urls(web: Server) -> None:
    run = run_check("http", url=web.url("/ok"), headers={"Host": "artifacts.ams1"}, timeout="2s")
    assert run.code == 0, run.out
    assert web.seen[0].headers["host"] == "artifacts.ams1"


# --------------------------------------------------------------------------- secret headers


def test_secret_header_is_sent_and_never_shown(web: Server, secret_file: str) -> None:
    web.expected_auth = SECRET
    run = run_check(
        "http", url=web.url("/auth"), secret_headers={"Authorization": secret_file}, timeout="2s"
    )
    assert run.code == 0, run.out
    assert web.seen[0].headers["authorization"] == SECRET
    assert SECRET not in run.command
    assert "s3cr3t" not in run.out


def test_wrong_secret_is_critical_without_showing_it(
    web: Server, secret_file: str, tmp_path: Path
) -> None:
    web.expected_auth = "Bearer another-value"
    run = run_check(
        "http", url=web.url("/auth"), secret_headers={"Authorization": secret_file}, timeout="2s"
    )
    line = one_line(run)
    assert run.code == 2, line
    assert "returned 401 Unauthorized (expected 200-299)" in line
    assert "s3cr3t" not in line


def test_secret_repeated_by_the_server_is_redacted(web: Server, secret_file: str) -> None:
    run = run_check(
        "http", url=web.url("/whoami"), secret_headers={"Authorization": secret_file}, timeout="2s"
    )
    line = one_line(run)
    assert run.code == 2, line
    assert web.seen[0].headers["authorization"] == SECRET
    assert "returned 403 Forbidden (expected 200-299): '[secret] may not see this'" in line
    assert "s3cr3t" not in line


def test_unreadable_secret_file_is_unknown_naming_file_and_header(
    web: Server, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such.token"
    run = run_check(
        "http", url=web.url("/auth"), secret_headers={"X-Vault-Token": str(missing)}, timeout="2s"
    )
    line = one_line(run)
    assert run.code == 3, line
    assert "X-Vault-Token" in line
    assert str(missing) in line
    assert "No such file or directory" in line
    assert web.seen == []


def test_secret_is_kept_on_a_redirect_to_the_same_host(web: Server, secret_file: str) -> None:
    run = run_check(
        "http",
        url=web.url("/redirect?to=/echo"),
        secret_headers={"Authorization": secret_file},
        follow_redirects=True,
        timeout="2s",
    )
    assert run.code == 0, run.out
    assert web.requests_to("/echo")[0].headers.get("authorization") == SECRET


def test_secret_is_not_sent_on_to_another_host(web: Server, secret_file: str) -> None:
    elsewhere = web.url("/echo", host="localhost")  # the same server, by another name
    run = run_check(
        "http",
        url=web.url(f"/redirect?to={quote(elsewhere, safe='')}"),
        secret_headers={"Authorization": secret_file},
        headers={"X-Env": "ams1"},
        follow_redirects=True,
        timeout="2s",
    )
    assert run.code == 0, run.out
    (echo,) = web.requests_to("/echo")
    assert echo.headers["host"] == f"localhost:{web.port}"
    assert "authorization" not in echo.headers
    assert echo.headers["x-env"] == "ams1"  # ordinary headers still go along


# --------------------------------------------------------------------------- redirects


def test_redirect_not_followed_says_where_and_how(web: Server) -> None:
    run = run_check("http", url=web.url("/redirect?to=/ok"), timeout="2s")
    line = one_line(run)
    assert run.code == 2, line
    assert (
        f"returned 302 Found, a redirect to {web.url('/ok')} "
        f"(expected 200-299; set follow_redirects: true to follow it)"
    ) in line
    assert len(web.seen) == 1


def test_redirect_accepted_by_status_is_ok_without_following(web: Server) -> None:
    run = run_check("http", url=web.url("/redirect?to=/ok&code=301"), status=[301], timeout="2s")
    assert run.code == 0, run.out
    assert len(web.seen) == 1


def test_redirect_followed(web: Server) -> None:
    run = run_check(
        "http",
        url=web.url("/redirect?to=/ok"),
        follow_redirects=True,
        contains="OK",
        timeout="2s",
    )
    line = one_line(run)
    assert run.code == 0, line
    assert f"redirected to {web.url('/ok')}, which returned 200 OK" in line


def test_redirect_followed_to_a_failure_names_both(web: Server) -> None:
    run = run_check(
        "http", url=web.url("/redirect?to=/status/500"), follow_redirects=True, timeout="2s"
    )
    line = one_line(run)
    assert run.code == 2, line
    assert (
        f"redirected to {web.url('/status/500')}, which returned 500 Internal Server Error"
    ) in line


@pytest.mark.parametrize(("code", "method"), [(303, "GET"), (307, "POST"), (308, "POST")])
def test_redirect_keeps_or_changes_the_method(web: Server, code: int, method: str) -> None:
    run = run_check(
        "http",
        url=web.url(f"/redirect?to=/echo&code={code}"),
        method="POST",
        body="payload",
        follow_redirects=True,
        timeout="2s",
    )
    assert run.code == 0, run.out
    (echo,) = web.requests_to("/echo")
    assert echo.method == method
    assert echo.body == (b"payload" if method == "POST" else b"")


def test_redirect_loop_is_critical(web: Server) -> None:
    run = run_check("http", url=web.url("/loop"), follow_redirects=True, timeout="2s")
    line = one_line(run)
    assert run.code == 2, line
    assert f"redirected more than {check_http.MAX_REDIRECTS} times" in line


def test_timeout_bounds_all_redirects_together(web: Server) -> None:
    # Each hop answers within the timeout; the two together do not.
    run = run_check(
        "http",
        url=web.url(f"/redirect?sleep=0.6&to={quote('/ok?sleep=0.6', safe='')}"),
        follow_redirects=True,
        timeout="1s",
    )
    line = one_line(run)
    assert run.code == 2, line
    assert "no response within 1s" in line


# --------------------------------------------------------------------------- TLS


def test_https_trusted_through_ca_file(tls_web: Server, ca_file: str) -> None:
    run = run_check("http", url=tls_web.url("/ok", host="localhost"), ca_file=ca_file, timeout="2s")
    line = one_line(run)
    assert run.code == 0, line
    assert "returned 200 OK" in line
    assert tls_web.sni == ["localhost"]


def test_https_not_trusted_by_the_system_store(tls_web: Server) -> None:
    run = run_check("http", url=tls_web.url("/ok"), timeout="2s")
    line = one_line(run)
    assert run.code == 2, line
    assert "certificate verify failed: unable to get local issuer certificate" in line
    assert "set ca_file" in line
    assert tls_web.seen == []


def test_https_with_a_ca_file_of_another_ca(tls_web: Server, other_ca_file: str) -> None:
    run = run_check("http", url=tls_web.url("/ok"), ca_file=other_ca_file, timeout="2s")
    line = one_line(run)
    assert run.code == 2, line
    assert f"it is not issued by a CA in ca_file {other_ca_file}" in line


def test_insecure_skips_verification_and_says_so(tls_web: Server) -> None:
    run = run_check("http", url=tls_web.url("/ok"), insecure=True, timeout="2s")
    line = one_line(run)
    assert run.code == 0, line
    assert "(certificate not verified: insecure)" in line


def test_https_url_on_a_plain_http_server(web: Server) -> None:
    run = run_check("http", url=web.url("/ok").replace("http:", "https:"), timeout="2s")
    line = one_line(run)
    assert run.code == 2, line
    assert "wrong version number (is it plain HTTP, not HTTPS?)" in line


def test_missing_ca_file_is_unknown(tls_web: Server, tmp_path: Path) -> None:
    run = run_check(
        "http", url=tls_web.url("/ok"), ca_file=str(tmp_path / "none.pem"), timeout="2s"
    )
    line = one_line(run)
    assert run.code == 3, line
    assert "cannot use ca_file" in line


@pytest.mark.parametrize("separate_key", [True, False])
def test_client_certificate_accepted(
    mtls_web: Server, ca_file: str, client_files: dict[str, str], separate_key: bool
) -> None:
    files = (
        {"client_cert": client_files["cert"], "client_key": client_files["key"]}
        if separate_key
        else {"client_cert": client_files["both"]}
    )
    run = run_check("http", url=mtls_web.url("/ok"), ca_file=ca_file, timeout="2s", **files)
    assert run.code == 0, run.out
    assert len(mtls_web.seen) == 1


def test_client_certificate_required_but_missing(mtls_web: Server, ca_file: str) -> None:
    run = run_check("http", url=mtls_web.url("/ok"), ca_file=ca_file, timeout="2s")
    line = one_line(run)
    assert run.code == 2, line
    assert "requires a client certificate: set client_cert" in line
    assert mtls_web.seen == []


def test_client_certificate_from_an_untrusted_ca(
    mtls_web: Server, ca_file: str, stranger_files: dict[str, str]
) -> None:
    run = run_check(
        "http",
        url=mtls_web.url("/ok"),
        ca_file=ca_file,
        client_cert=stranger_files["both"],
        timeout="2s",
    )
    line = one_line(run)
    assert run.code == 2, line
    assert f"rejected the client certificate {stranger_files['both']}" in line
    assert mtls_web.seen == []


def test_missing_client_cert_file_is_unknown(
    mtls_web: Server, ca_file: str, tmp_path: Path
) -> None:
    missing = str(tmp_path / "agent.pem")
    run = run_check(
        "http", url=mtls_web.url("/ok"), ca_file=ca_file, client_cert=missing, timeout="2s"
    )
    line = one_line(run)
    assert run.code == 3, line
    assert f"cannot use client_cert {missing}" in line


# --------------------------------------------------------------------------- proxy


def test_plain_http_through_the_proxy(web: Server, proxy: Proxy) -> None:
    run = run_check("http", url=web.url("/echo"), proxy=proxy.url, timeout="2s")
    assert run.code == 0, run.out
    assert proxy.seen == [("GET", web.url("/echo"))]
    assert web.seen[0].headers["via"] == "1.1 mdd-test-proxy"
    assert web.seen[0].headers["host"] == f"127.0.0.1:{web.port}"


def test_https_through_the_proxy_with_connect(tls_web: Server, proxy: Proxy, ca_file: str) -> None:
    run = run_check(
        "http",
        url=tls_web.url("/ok", host="localhost"),
        proxy=proxy.url,
        ca_file=ca_file,
        timeout="2s",
    )
    assert run.code == 0, run.out
    assert proxy.seen == [("CONNECT", f"localhost:{tls_web.port}")]
    assert tls_web.sni == ["localhost"]
    assert tls_web.seen[0].headers["host"] == f"localhost:{tls_web.port}"


def test_proxy_refusing_connect(tls_web: Server, proxy: Proxy, ca_file: str) -> None:
    proxy.deny_ports.add(tls_web.port)
    run = run_check("http", url=tls_web.url("/ok"), proxy=proxy.url, ca_file=ca_file, timeout="2s")
    line = one_line(run)
    assert run.code == 2, line
    assert (
        f"proxy 127.0.0.1:{proxy.port} refused CONNECT to 127.0.0.1:{tls_web.port}: 403 Forbidden"
    ) in line
    assert tls_web.seen == []


def test_proxy_not_listening(web: Server, closed_port: int) -> None:
    run = run_check(
        "http", url=web.url("/ok"), proxy=f"http://127.0.0.1:{closed_port}", timeout="2s"
    )
    line = one_line(run)
    assert run.code == 2, line
    assert f"proxy 127.0.0.1:{closed_port} refused the connection" in line
    assert web.seen == []


# --------------------------------------------------------------------------- connect_to


@pytest.mark.parametrize("with_port", [True, False])
def test_connect_to_reaches_the_backend_by_the_urls_name(
    backend: Server, ca_file: str, resolver_log: Path, with_port: bool
) -> None:
    run = run_check(
        "http",
        url=backend.url("/ok", host="localhost"),
        connect_to=f"127.0.0.2:{backend.port}" if with_port else "127.0.0.2",
        ca_file=ca_file,
        timeout="2s",
    )
    assert run.code == 0, run.out
    assert backend.sni == ["localhost"]
    assert backend.seen[0].headers["host"] == f"localhost:{backend.port}"
    resolved = resolver_log.read_text().split()
    assert "127.0.0.2" in resolved
    assert "localhost" not in resolved


def test_without_connect_to_the_urls_host_is_used(
    backend: Server, ca_file: str, resolver_log: Path
) -> None:
    run = run_check("http", url=backend.url("/ok", host="localhost"), ca_file=ca_file, timeout="2s")
    line = one_line(run)
    assert run.code == 2, line
    assert f"localhost:{backend.port} refused the connection" in line
    assert "localhost" in resolver_log.read_text().split()
    assert backend.seen == []


def test_connect_to_still_checks_the_certificate_against_the_url(
    backend: Server, ca_file: str
) -> None:
    run = run_check(
        "http",
        url=backend.url("/ok", host="127.0.0.1"),
        connect_to=f"127.0.0.2:{backend.port}",
        ca_file=ca_file,
        timeout="2s",
    )
    line = one_line(run)
    assert run.code == 2, line
    assert "certificate verify failed: IP address mismatch" in line


def test_connect_to_refused_names_the_address(web: Server, closed_port: int) -> None:
    run = run_check("http", url=web.url("/ok"), connect_to=f"127.0.0.1:{closed_port}", timeout="2s")
    line = one_line(run)
    assert run.code == 2, line
    assert f"127.0.0.1:{closed_port} (connect_to for 127.0.0.1) refused the connection" in line


# --------------------------------------------------------------------------- time


def test_server_that_never_answers(silent_port: int) -> None:
    url = f"http://127.0.0.1:{silent_port}/health"
    run = run_check("http", url=url, timeout="1s")
    line = one_line(run)
    assert run.code == 2, line
    assert f"{url} sent no response within 1s" in line


def test_connection_that_hangs(unanswered_port: int) -> None:
    run = run_check("http", url=f"http://127.0.0.1:{unanswered_port}/", timeout="1s")
    line = one_line(run)
    assert run.code == 2, line
    assert f"127.0.0.1:{unanswered_port} did not answer within 1s" in line


def test_nothing_listening(closed_port: int) -> None:
    run = run_check("http", url=f"https://127.0.0.1:{closed_port}/", timeout="1s")
    line = one_line(run)
    assert run.code == 2, line
    assert line.endswith(f"127.0.0.1:{closed_port} refused the connection")


def test_slower_than_warn_is_warning(web: Server) -> None:
    run = run_check("http", url=web.url("/ok?sleep=0.05"), warn="1ms", crit="1.5s", timeout="2s")
    line = one_line(run)
    assert run.code == 1, line
    assert "(warning above 1 ms)" in line
    assert re.search(r"time=[\d.]+s;0.001;1.5;0;2 ", line), line


def test_slower_than_crit_is_critical(web: Server) -> None:
    run = run_check("http", url=web.url("/ok?sleep=0.05"), warn="1ms", crit="2ms", timeout="2s")
    line = one_line(run)
    assert run.code == 2, line
    assert "(critical above 2 ms)" in line


def test_within_thresholds_is_ok(web: Server) -> None:
    run = run_check("http", url=web.url("/ok"), warn="1.5s", crit="1.8s", timeout="2s")
    assert run.code == 0, run.out


# --------------------------------------------------------------------------- bad invocations


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--folow-redirects"], "unexpected arguments: --folow-redirects"),
        (["--status", "2xx"], "'2xx' is not an HTTP status"),
        (["--method", "FETCH"], "expected one of GET"),
        (["--json", "status"], "expected 'dotted.path=JSON value'"),
    ],
)
def test_bad_arguments_are_unknown_in_one_line(web: Server, argv: list[str], says: str) -> None:
    run = run_argv("check-mdd-http", "--url", web.url("/ok"), *argv)
    line = one_line(run)
    assert run.code == 3, line
    assert says in line
    assert web.seen == []


def test_missing_url_is_unknown() -> None:
    run = run_argv("check-mdd-http", "--timeout", "1s")
    line = one_line(run)
    assert run.code == 3, line
    assert "--url" in line


# --------------------------------------------------------------------------- validate


def problems(**manifest: Any) -> list[tuple[str, str]]:
    return check_http.validate(load_values("http", **manifest))


URL = "https://artifacts.ams1.example.net/health"


def test_example_is_valid() -> None:
    assert problems(**check_http.EXAMPLE) == []


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "proxy-authorization",
        "Cookie",
        "X-Api-Key",
        "X-Auth-Token",
        "X-Vault-Token",
        "X-Client-Secret",
        "X-DB-Password",
        "X-ApiKey",
        "X-Service-API-Key",
    ],
)
def test_secrets_in_literal_headers_are_rejected(name: str) -> None:
    (problem,) = problems(url=URL, headers={name: "hunter2"})
    assert problem[0] == "headers"
    assert name in problem[1]
    assert "secret_headers" in problem[1]
    assert "hunter2" not in problem[1]


def test_ordinary_headers_are_fine() -> None:
    assert problems(url=URL, headers={"Accept": "application/json", "X-Env": "ams1"}) == []


@pytest.mark.parametrize(
    ("manifest", "option", "says"),
    [
        ({"insecure": True, "ca_file": "/etc/ca.pem"}, "insecure", "ca_file would be ignored"),
        ({"connect_to": "10.0.0.5", "proxy": "http://proxy:3128"}, "connect_to", "proxy"),
        ({"warn": "2s", "crit": "1s"}, "warn", "warn must not be longer than crit"),
        ({"warn": "10s"}, "warn", "shorter than the timeout (10s)"),
        ({"crit": "3s", "timeout": "2s"}, "crit", "shorter than the timeout (2s)"),
        ({"client_key": "/etc/agent.key"}, "client_key", "needs client_cert"),
        ({"method": "HEAD", "contains": "OK"}, "contains", "no meaning with method HEAD"),
        ({"proxy": "http://proxy.ams1"}, "proxy", "give the proxy's port"),
        (
            {"headers": {"X-Env": "a"}, "secret_headers": {"x-env": "/etc/x"}},
            "secret_headers",
            "in both headers and secret_headers",
        ),
    ],
)
def test_contradictions_are_rejected(manifest: dict[str, Any], option: str, says: str) -> None:
    found = problems(url=URL, **manifest)
    assert [p[0] for p in found] == [option], found
    assert says in found[0][1]


def test_tls_options_on_plain_http_are_rejected_unless_redirects_may_lead_to_https() -> None:
    assert [p[0] for p in problems(url="http://a.example.net/", ca_file="/etc/ca.pem")] == [
        "ca_file"
    ]
    assert problems(url="http://a.example.net/", ca_file="/etc/ca.pem", follow_redirects=True) == []


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("status", "2xx", "is not an HTTP status"),
        ("status", "299-200", "runs backwards"),
        ("method", "get", "expected one of GET"),
        ("url", "https://user:pw@a.example.net/", "carries a password"),
        ("url", "ftp://a.example.net/", "is not an http:// or https:// URL"),
        ("json", {"checks..db": "UP"}, "is not a dotted path"),
        ("proxy", "http://u:p@proxy:3128", "carries credentials"),
        ("headers", {"X-Env": "a\nb"}, "line break"),
        ("follow_redirects", "yes", "expected true or false"),
    ],
)
def test_bad_values_are_rejected_on_load(option: str, value: Any, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        load_values("http", **{option: value})


# --------------------------------------------------------------------------- review: answers


@pytest.mark.parametrize(
    ("head", "body"),
    [
        (b"Content-Length: 1000", b"all systems OK, and then"),
        (b"Transfer-Encoding: chunked", b"18\r\nall systems OK, and then\r\n"),
    ],
)
def test_body_cut_short_is_critical(head: bytes, body: bytes) -> None:
    with raw_http(b"HTTP/1.1 200 OK\r\n" + head + b"\r\nConnection: close\r\n\r\n" + body) as base:
        run = run_check("http", url=f"{base}/health", contains="OK", timeout="2s")
    line = one_line(run)
    assert run.code == 2, line
    assert f"{base}/health returned 200 but closed the connection after 24" in line


def test_interim_answers_before_the_response_are_skipped() -> None:
    early_hints = b"HTTP/1.1 103 Early Hints\r\nLink: </site.css>; rel=preload\r\n\r\n"
    final = b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\nConnection: close\r\n\r\nall systems OK"
    with raw_http(early_hints, final) as base:
        run = run_check("http", url=f"{base}/health", contains="OK", timeout="2s")
    line = one_line(run)
    assert run.code == 0, line
    assert "returned 200 OK" in line


@pytest.mark.parametrize(
    ("pieces", "says"),
    [
        (
            [b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n", *[b"x"] * 20],
            "returned 200 but its body did not arrive within 1s",
        ),
        (
            [bytes([c]) for c in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"],
            "sent no response within 1s",
        ),
    ],
)
def test_an_answer_that_trickles_past_the_timeout(pieces: list[bytes], says: str) -> None:
    with raw_http(*pieces, pause=0.25) as base:
        run = run_check("http", url=f"{base}/health", timeout="1s")
    line = one_line(run)
    assert run.code == 2, line
    assert f"{base}/health {says}" in line


def test_non_ascii_url_is_sent_percent_encoded(web: Server) -> None:
    run = run_check("http", url=web.url("/echo?name=café"), contains="echo", timeout="2s")
    line = one_line(run)
    assert run.code == 0, line
    assert web.seen[0].path == "/echo?name=caf%C3%A9"


def test_redirect_to_a_location_with_raw_non_ascii_bytes(web: Server) -> None:
    location = f"http://127.0.0.1:{web.port}/echo?name=".encode() + "café".encode()
    redirect = b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n\r\n"
    with raw_http(redirect) as base:
        run = run_check("http", url=f"{base}/old", follow_redirects=True, timeout="2s")
    line = one_line(run)
    assert run.code == 0, line
    assert web.seen[0].path == "/echo?name=caf%C3%A9"  # the bytes the server sent


def test_output_survives_a_terminal_that_is_not_utf8(
    web: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONIOENCODING", "ascii")
    run = run_check("http", url=web.url("/ok"), contains="café", timeout="2s")
    line = one_line(run)
    assert run.code == 2, line
    assert "body does not contain 'caf" in line


# --------------------------------------------------------------------------- review: secrets


def test_secret_cut_by_the_excerpt_is_still_hidden(web: Server, secret_file: str) -> None:
    before = "Access denied to the credentials presented: "
    assert 60 - len(SECRET) < len(before) < 60 - len("Bearer s3cr3t")  # the cut is in the secret
    run = run_check(
        "http",
        url=web.url("/whoami?before=" + quote(before)),
        secret_headers={"Authorization": secret_file},
        timeout="2s",
    )
    line = one_line(run)
    assert run.code == 2, line
    assert before.strip() in line
    assert "s3cr3t" not in line


def test_secret_token_repeated_without_its_scheme_is_hidden(web: Server, secret_file: str) -> None:
    run = run_check(
        "http",
        url=web.url("/whoami?last=1"),
        secret_headers={"Authorization": secret_file},
        timeout="2s",
    )
    line = one_line(run)
    assert run.code == 2, line
    assert web.seen[0].headers["authorization"] == SECRET
    assert "may not see this" in line
    assert "s3cr3t" not in line


def test_secret_is_not_sent_on_to_another_port_of_the_same_host(
    web: Server, secret_file: str
) -> None:
    with serve() as other:
        run = run_check(
            "http",
            url=web.url(f"/redirect?to={quote(other.url('/echo'), safe='')}"),
            secret_headers={"Authorization": secret_file},
            follow_redirects=True,
            timeout="2s",
        )
    assert run.code == 0, run.out
    (echo,) = other.requests_to("/echo")
    assert "authorization" not in echo.headers


# --------------------------------------------------------------------------- review: addresses


@pytest.fixture
def web_behind_a_dead_address(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """An HTTP server on 127.0.0.2; ``localhost`` resolves first to 127.0.0.1, where the
    same port drops connection attempts."""
    for _ in range(20):
        with contextlib.ExitStack() as stack:
            server = stack.enter_context(serve("127.0.0.2"))
            try:
                stack.enter_context(hanging(server.port))
            except OSError:
                continue
            resolve_localhost(monkeypatch, tmp_path, "127.0.0.1", "127.0.0.2")
            yield server
            return
    pytest.fail("no port free on both 127.0.0.1 and 127.0.0.2")


def test_an_address_that_does_not_answer_leaves_time_for_the_next(
    web_behind_a_dead_address: Server,
) -> None:
    url = web_behind_a_dead_address.url("/ok", host="localhost")
    run = run_check("http", url=url, contains="OK", timeout="2s")
    line = one_line(run)
    assert run.code == 0, line
    assert f"{url} returned 200 OK" in line


# --------------------------------------------------------------------------- review: TLS


def test_leaf_sent_without_its_intermediate(ca: Any, ca_file: str, tmp_path: Path) -> None:
    import ssl

    leaf = ca.create_child_ca().issue_cert("localhost")
    cert, key = tmp_path / "leaf.pem", tmp_path / "leaf.key"
    leaf.cert_chain_pems[0].write_to_path(str(cert))  # the leaf alone: the chain is incomplete
    leaf.private_key_pem.write_to_path(str(key))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    with serve(context=context) as server:
        run = run_check("http", url=server.url("/ok", host="localhost"), ca_file=ca_file)
    line = one_line(run)
    assert run.code == 2, line
    assert "unable to get local issuer certificate" in line
    assert "or the server does not send its intermediate certificate" in line


def test_validate_uses_the_declared_timeout_default(monkeypatch: pytest.MonkeyPatch) -> None:
    (timeout,) = [opt for opt in check_http.OPTIONS if opt.name == "timeout"]
    monkeypatch.setattr(timeout, "default", 5.0)
    assert problems(url=URL, warn="6s") == [
        ("warn", "'warn' must be shorter than the timeout (5s)")
    ]


def test_tls12_server_that_requires_a_client_certificate(ca: Any, ca_file: str) -> None:
    import ssl

    context = server_context(ca, "localhost", "127.0.0.1", client_ca=ca)
    context.maximum_version = ssl.TLSVersion.TLSv1_2  # its alert only says "handshake failure"
    with serve(context=context) as server:
        run = run_check("http", url=server.url("/ok"), ca_file=ca_file, timeout="2s")
    line = one_line(run)
    assert run.code == 2, line
    assert "or requires a client certificate: set client_cert" in line
