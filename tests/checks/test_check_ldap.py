"""check-mdd-ldap, run as Sensu runs it, against a real OpenLDAP slapd on loopback."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdd.checks import check_ldap
from tests.checks.ldap_server import (
    PEOPLE,
    PEOPLE_COUNT,
    SERVICE_DN,
    SERVICE_PASSWORD,
    SLAPD,
    SUFFIX,
    Slapd,
    slapd,
)
from tests.conftest import (
    CheckRun,
    accepting,
    load_values,
    run_argv,
    run_check,
    server_missing,
    write_ca_file,
)

CHECK_LDAP = Path("/usr/lib/nagios/plugins/check_ldap")


@pytest.fixture(scope="module")
def directory(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    if not SLAPD.exists():
        server_missing("OpenLDAP slapd (/usr/sbin/slapd)")
    with slapd(tmp_path_factory.mktemp("slapd"), ca) as running:
        yield running


@pytest.fixture(scope="module")
def password_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("secrets") / "ldap.pw"
    path.write_text(SERVICE_PASSWORD + "\n")
    return str(path)


@pytest.fixture(scope="module")
def wrong_password_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("wrong") / "ldap.pw"
    path.write_text("Wrong-Planted-Pw-9q\n")
    return str(path)


def assert_no_secret(run: CheckRun, *secrets: str) -> None:
    for secret in (SERVICE_PASSWORD, *secrets):
        assert secret not in run.command, run.command  # what /proc/PID/cmdline holds
        assert secret not in run.out, run.out
        assert secret[:8] not in run.out, run.out


def one_line(run: CheckRun) -> None:
    assert run.out.count("\n") == 1, run.out


# --------------------------------------------------------------------------- OK


def test_bind_and_subtree_search_counts_every_entry(directory: Slapd, password_file: str) -> None:
    run = run_check(
        "ldap",
        point="identity",
        url=directory.url,
        bind_dn=SERVICE_DN,
        password={"file": password_file},
        base=PEOPLE,
        min_entries=PEOPLE_COUNT + 1,  # the people plus ou=people itself
        max_entries=PEOPLE_COUNT + 1,
        timeout="5s",
    )
    assert run.code == 0, run.out
    assert run.line.startswith(
        f"LdapCheck OK: identity: {directory.url} bound as {SERVICE_DN}, search of {PEOPLE} "
        f"(sub, (objectClass=*)) returned {PEOPLE_COUNT + 1} entries in "
    ), run.out
    assert " | time=" in run.line
    one_line(run)
    assert_no_secret(run)


def test_one_level_search_with_filter(directory: Slapd, password_file: str) -> None:
    run = run_check(
        "ldap",
        url=directory.url,
        bind_dn=SERVICE_DN,
        password={"file": password_file},
        base=PEOPLE,
        scope="one",
        filter="(&(objectClass=inetOrgPerson)(uid=user*))",
        min_entries=PEOPLE_COUNT,
        timeout="5s",
    )
    assert run.code == 0, run.out
    assert f"returned {PEOPLE_COUNT} entries" in run.line


def test_password_from_the_environment(directory: Slapd, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MDD_TEST_LDAP_PW", SERVICE_PASSWORD)
    run = run_check(
        "ldap",
        url=directory.url,
        bind_dn=SERVICE_DN,
        password={"env": "MDD_TEST_LDAP_PW"},
        base=SUFFIX,
        scope="base",
        timeout="5s",
    )
    assert run.code == 0, run.out
    assert "--password-env MDD_TEST_LDAP_PW" in run.command
    assert f"search of {SUFFIX} (base, (objectClass=*)) returned 1 entry" in run.line
    assert_no_secret(run)


def test_anonymous_root_dse(directory: Slapd) -> None:
    run = run_check("ldap", url=directory.url, timeout="5s")
    assert run.code == 0, run.out
    assert f"{directory.url} answers LDAP (root DSE read) in " in run.line


def test_ldaps_with_ca_file(directory: Slapd, password_file: str, ca_file: str) -> None:
    run = run_check(
        "ldap",
        url=directory.tls_url,
        ca_file=ca_file,
        bind_dn=SERVICE_DN,
        password={"file": password_file},
        base=PEOPLE,
        timeout="5s",
    )
    assert run.code == 0, run.out
    assert run.line.startswith(f"LdapCheck OK: {directory.tls_url} bound as {SERVICE_DN}")
    assert_no_secret(run)


def test_starttls_with_ca_file_for_localhost(
    directory: Slapd, password_file: str, ca_file: str
) -> None:
    url = f"ldap://localhost:{directory.port}"
    run = run_check(
        "ldap",
        url=url,
        starttls=True,
        ca_file=ca_file,
        bind_dn=SERVICE_DN,
        password={"file": password_file},
        base=PEOPLE,
        timeout="5s",
    )
    assert run.code == 0, run.out
    assert f"{url} StartTLS verified, bound as {SERVICE_DN}, search of {PEOPLE}" in run.line


# --------------------------------------------------------------------------- CRITICAL


def test_wrong_password_is_rejected_and_never_shown(
    directory: Slapd, wrong_password_file: str
) -> None:
    run = run_check(
        "ldap",
        url=directory.url,
        bind_dn=SERVICE_DN,
        password={"file": wrong_password_file},
        base=PEOPLE,
        timeout="5s",
    )
    assert run.code == 2, run.out
    assert run.line == (
        f"LdapCheck CRITICAL: {directory.url} bind as {SERVICE_DN} rejected: invalidCredentials"
    )
    assert_no_secret(run, "Wrong-Planted-Pw-9q")


def test_unknown_dn_is_rejected(directory: Slapd, password_file: str) -> None:
    dn = f"cn=nobody,ou=services,{SUFFIX}"
    run = run_check(
        "ldap", url=directory.url, bind_dn=dn, password={"file": password_file}, timeout="5s"
    )
    assert run.code == 2, run.out
    assert f"bind as {dn} rejected: invalidCredentials" in run.line
    assert_no_secret(run)


def test_wrong_base_names_the_closest_entry(directory: Slapd) -> None:
    run = run_check("ldap", url=directory.url, base=f"ou=peple,{SUFFIX}", timeout="5s")
    assert run.code == 2, run.out
    assert run.line == (
        f"LdapCheck CRITICAL: {directory.url} search of ou=peple,{SUFFIX} (sub, (objectClass=*))"
        f" failed: noSuchObject (the base does not exist); the closest entry that exists is "
        f"{SUFFIX}"
    )


def test_too_few_entries(directory: Slapd) -> None:
    run = run_check("ldap", url=directory.url, base=PEOPLE, filter="(uid=nosuchuser)", timeout="5s")
    assert run.code == 2, run.out
    assert run.line.endswith(
        f"search of {PEOPLE} (sub, (uid=nosuchuser)) returned 0 entries, expected at least 1"
    )


def test_too_many_entries(directory: Slapd) -> None:
    run = run_check(
        "ldap", url=directory.url, base=PEOPLE, scope="one", max_entries=2, timeout="5s"
    )
    assert run.code == 2, run.out
    assert run.line.endswith(f"returned {PEOPLE_COUNT} entries, expected at most 2")


def test_too_many_entries_stops_at_the_limit(directory: Slapd) -> None:
    # Asked for at most 3 (max + 1) of 4: the server stops there with sizeLimitExceeded.
    run = run_check("ldap", url=directory.url, base=PEOPLE, max_entries=2, timeout="5s")
    assert run.code == 2, run.out
    assert run.line.endswith("returned more than 2 entries, expected at most 2")


def test_search_that_is_not_allowed_finds_nothing(directory: Slapd) -> None:
    # Anonymous users cannot see userPassword, so a filter on it matches nothing.
    run = run_check("ldap", url=directory.url, base=SUFFIX, filter="(userPassword=*)")
    assert run.code == 2, run.out
    assert "returned 0 entries, expected at least 1" in run.line


def test_server_down_is_critical(closed_port: int) -> None:
    run = run_check("ldap", url=f"ldap://127.0.0.1:{closed_port}", timeout="2s")
    assert run.code == 2, run.out
    assert run.line == f"LdapCheck CRITICAL: ldap://127.0.0.1:{closed_port} refused the connection"


def test_unanswered_connect_is_critical(unanswered_port: int) -> None:
    run = run_check("ldap", url=f"ldap://127.0.0.1:{unanswered_port}", timeout="1s")
    assert run.code == 2, run.out
    assert "did not answer within 1s (host down or filtered)" in run.line


def test_ldaps_untrusted_without_ca_file(directory: Slapd) -> None:
    run = run_check("ldap", url=directory.tls_url, base=PEOPLE, timeout="5s")
    assert run.code == 2, run.out
    assert run.line.startswith(
        f"LdapCheck CRITICAL: {directory.tls_url} certificate verify failed: "
    )
    assert run.line.endswith("(the system does not trust its CA: set ca_file to that CA)")


def test_ldaps_with_another_ca_is_critical(
    directory: Slapd, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import trustme

    other = write_ca_file(trustme.CA(), tmp_path_factory, "other")
    run = run_check("ldap", url=directory.tls_url, ca_file=other, timeout="5s")
    assert run.code == 2, run.out
    assert f"(it is not issued by a CA in ca_file {other})" in run.line


def test_ldaps_certificate_for_another_name(ca: Any, ca_file: str) -> None:
    import ssl

    from tests.checks.tls_servers import TlsServer

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("ldap.elsewhere.example").configure_cert(context)
    server = TlsServer(context)
    try:
        run = run_check(
            "ldap", url=f"ldaps://127.0.0.1:{server.port}", ca_file=ca_file, timeout="2s"
        )
    finally:
        server.stop()
    assert run.code == 2, run.out
    assert run.line.startswith(
        f"LdapCheck CRITICAL: ldaps://127.0.0.1:{server.port} certificate verify failed: "
        f"IP address mismatch"
    ), run.out


def test_starttls_untrusted_is_critical(directory: Slapd, password_file: str) -> None:
    run = run_check(
        "ldap",
        url=directory.url,
        starttls=True,
        bind_dn=SERVICE_DN,
        password={"file": password_file},
        timeout="5s",
    )
    assert run.code == 2, run.out
    assert f"{directory.url} accepted StartTLS but certificate verify failed" in run.line
    assert_no_secret(run)


def test_ldaps_url_on_the_plain_port(directory: Slapd, ca_file: str) -> None:
    run = run_check("ldap", url=f"ldaps://127.0.0.1:{directory.port}", ca_file=ca_file)
    assert run.code == 2, run.out
    # slapd reads the ClientHello as a broken LDAP message and hangs up.
    assert run.line == (
        f"LdapCheck CRITICAL: ldaps://127.0.0.1:{directory.port} closed the connection during "
        f"the TLS handshake"
    )


def test_starttls_refused_by_a_server_without_tls(
    tmp_path_factory: pytest.TempPathFactory, ca: Any
) -> None:
    # A second slapd without certificates answers StartTLS with an error.
    if not SLAPD.exists():
        server_missing("OpenLDAP slapd (/usr/sbin/slapd)")
    directory = tmp_path_factory.mktemp("slapd-notls")
    with slapd(directory, ca, tls=False) as plain:
        run = run_check("ldap", url=plain.url, starttls=True, timeout="5s")
    assert run.code == 2, run.out
    assert run.line.startswith(f"LdapCheck CRITICAL: {plain.url} refused StartTLS: ")


# --------------------------------------------------------------------------- faults


def test_server_that_accepts_and_never_answers(silent_port: int, password_file: str) -> None:
    run = run_check(
        "ldap",
        url=f"ldap://127.0.0.1:{silent_port}",
        bind_dn=SERVICE_DN,
        password={"file": password_file},
        timeout="1s",
    )
    assert run.code == 2, run.out
    assert run.line == (
        f"LdapCheck CRITICAL: ldap://127.0.0.1:{silent_port} sent no answer to the bind as "
        f"{SERVICE_DN} within 1s"
    )
    assert_no_secret(run)


# A bind response (success) as a server would send it, 14 bytes.
BIND_OK = bytes.fromhex("300c02010161070a010004000400")


def _serve_after_request(*pieces: bytes, pause: float = 0.0, forever: bytes = b"") -> Any:
    def talk(conn: socket.socket) -> None:
        conn.settimeout(5)
        conn.recv(65536)  # the request
        for piece in pieces:
            for byte in piece if pause else [piece]:
                if pause:
                    time.sleep(pause)
                conn.sendall(bytes([byte]) if pause else byte)  # type: ignore[arg-type]
        while forever:
            conn.sendall(forever)
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(4096):
            pass

    return accepting(talk, threaded=True)


def test_server_that_trickles_its_answer(password_file: str) -> None:
    with _serve_after_request(BIND_OK, pause=0.4) as port:
        run = run_check(
            "ldap",
            url=f"ldap://127.0.0.1:{port}",
            bind_dn=SERVICE_DN,
            password={"file": password_file},
            timeout="1s",
        )
    assert run.code == 2, run.out
    assert f"sent no answer to the bind as {SERVICE_DN} within 1s" in run.line


def test_server_that_claims_a_giant_message_is_cut_off_at_once() -> None:
    # A message that claims 2 GiB, then an endless stream: refused on its length alone.
    with _serve_after_request(b"\x30\x84\x7f\xff\xff\xff", forever=b"\0" * 65536) as port:
        run = run_check("ldap", url=f"ldap://127.0.0.1:{port}", timeout="3s")
    assert run.code == 2, run.out
    assert run.line == (
        f"LdapCheck CRITICAL: ldap://127.0.0.1:{port} sent a message claiming 2147483647 bytes "
        f"(this check reads at most 1 MiB) in answer to the root DSE read: cut off"
    )


def test_server_that_streams_entries_without_end_is_cut_off() -> None:
    # SearchResultEntry after SearchResultEntry (id 1, no attributes), each small, for ever.
    entry = b"\x30\x0c\x02\x01\x01\x64\x07\x04\x03cn=\x30\x00"
    with _serve_after_request(forever=entry * 4096) as port:
        run = run_check("ldap", url=f"ldap://127.0.0.1:{port}", timeout="3s")
    assert run.code == 2, run.out
    assert run.line == (
        f"LdapCheck CRITICAL: ldap://127.0.0.1:{port} sent more than 1 MiB in answer to the "
        f"root DSE read: cut off"
    )


def test_server_that_speaks_http() -> None:
    reply = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    with _serve_after_request(reply) as port:
        run = run_check("ldap", url=f"ldap://127.0.0.1:{port}", timeout="2s")
    assert run.code == 2, run.out
    assert run.line == (
        f"LdapCheck CRITICAL: ldap://127.0.0.1:{port} does not speak LDAP: it answered the root "
        f"DSE read with 'HTTP/1.1 400 Bad Request Content-Length: 0 Connect'"
    )


def test_server_that_greets_with_an_ssh_banner() -> None:
    def ssh(conn: socket.socket) -> None:
        conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
        conn.settimeout(5)
        conn.recv(4096)

    with accepting(ssh, threaded=True) as port:
        run = run_check("ldap", url=f"ldap://127.0.0.1:{port}", timeout="2s")
    assert run.code == 2, run.out
    assert run.line.endswith(
        "does not speak LDAP: it answered the root DSE read with 'SSH-2.0-OpenSSH_9.2p1 Debian-2'"
    )


def test_server_that_closes_mid_handshake(ca_file: str) -> None:
    def close_after_hello(conn: socket.socket) -> None:
        conn.settimeout(5)
        conn.recv(65536)  # the ClientHello, then hang up

    with accepting(close_after_hello) as port:
        run = run_check("ldap", url=f"ldaps://127.0.0.1:{port}", ca_file=ca_file, timeout="2s")
    assert run.code == 2, run.out
    assert run.line == (
        f"LdapCheck CRITICAL: ldaps://127.0.0.1:{port} closed the connection during the TLS "
        f"handshake"
    )


def test_tls_server_that_never_finishes_the_handshake(silent_port: int, ca_file: str) -> None:
    run = run_check("ldap", url=f"ldaps://127.0.0.1:{silent_port}", ca_file=ca_file, timeout="1s")
    assert run.code == 2, run.out
    assert "did not finish the TLS handshake within 1s" in run.line


# --------------------------------------------------------------------------- WARNING


def test_slow_answer_over_warn_is_warning(password_file: str) -> None:
    # The bind answer comes after 0.3 s: over warn, within the timeout.
    def slow_bind(conn: socket.socket) -> None:
        conn.settimeout(5)
        conn.recv(65536)
        time.sleep(0.3)
        conn.sendall(BIND_OK)
        conn.recv(65536)  # the unbind

    with accepting(slow_bind, threaded=True) as port:
        run = run_check(
            "ldap",
            url=f"ldap://127.0.0.1:{port}",
            bind_dn=SERVICE_DN,
            password={"file": password_file},
            warn="100ms",
            timeout="5s",
        )
    assert run.code == 1, run.out
    assert f"bound as {SERVICE_DN} in " in run.line
    assert run.line.split(" | ")[0].endswith("(warning above 100 ms)")


# --------------------------------------------------------------------------- UNKNOWN


def test_missing_password_file_is_unknown(directory: Slapd, tmp_path: Path) -> None:
    missing = tmp_path / "nope.pw"
    run = run_check("ldap", url=directory.url, bind_dn=SERVICE_DN, password={"file": str(missing)})
    assert run.code == 3, run.out
    assert run.line == (
        f"LdapCheck UNKNOWN: cannot read the password from {missing}: No such file or directory"
    )


def test_unset_password_variable_is_unknown(directory: Slapd) -> None:
    run = run_check(
        "ldap", url=directory.url, bind_dn=SERVICE_DN, password={"env": "MDD_TEST_UNSET_PW"}
    )
    assert run.code == 3, run.out
    assert "the environment variable MDD_TEST_UNSET_PW is not set" in run.line


def test_unreadable_ca_file_is_unknown(directory: Slapd, tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    run = run_check("ldap", url=directory.tls_url, ca_file=str(bad))
    assert run.code == 3, run.out
    assert f"cannot use ca_file {bad}" in run.line


def test_filter_ldap3_cannot_parse_is_unknown(directory: Slapd) -> None:
    # Balanced, so the manifest check lets it through; ldap3 finds the operator missing.
    run = run_argv(
        "check-mdd-ldap", "--url", directory.url, "--base", PEOPLE, "--filter", "(cn=a(cn=b))"
    )
    assert run.code == 3, run.out
    one_line(run)
    assert run.line.startswith("LdapCheck UNKNOWN: filter (cn=a(cn=b)) is not a valid LDAP filter")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--url", "http://x"], "is not an ldap:// or ldaps:// URL"),
        (["--url", "ldap://x", "--scope", "all"], "expected one of base, one, sub, got 'all'"),
        (["--url", "ldap://x", "--password-file", "rel.pw"], "file is not an absolute path"),
        (
            ["--url", "ldap://x", "--password", "hunter2"],
            "a secret never goes on the command line: use --password-file PATH or "
            "--password-env NAME",
        ),
        (["--url", "ldap://x", "--bind-dn", "cn=a,dc=b"], "bind_dn and password go together"),
        (["--url", "ldap://x", "--password-env", "P"], "bind_dn and password go together"),
    ],
)
def test_bad_invocation_is_unknown(argv: list[str], expected: str) -> None:
    run = run_argv("check-mdd-ldap", *argv)
    assert run.code == 3, run.out
    one_line(run)
    assert expected in run.line
    assert "hunter2" not in run.out


# --------------------------------------------------------------------------- manifest


def test_manifest_values_parse_back_from_the_command(tmp_path: Path) -> None:
    from mdd.checks._help import CheckParser as _Parser
    from mdd.checks._options import COMMON_OPTIONS, add_arguments
    from mdd.core.command import check_argv

    manifest = {
        "url": "ldaps://ldap.ams1.example.net:636",
        "bind_dn": "cn=svc platform,ou=services,dc=example,dc=net",
        "password": {"file": "/etc/sensu/mdd/ldap $(x).pw"},
        "base": "ou=people,dc=example,dc=net",
        "filter": "(&(objectClass=person)(cn=a*))",
        "scope": "one",
        "min_entries": 2,
        "max_entries": 50,
        "ca_file": "/etc/ssl/ldap-ca.pem",
        "timeout": "3s",
        "warn": "1s",
        "crit": "2s",
    }
    values = load_values("ldap", **manifest)
    assert check_ldap.validate(values) == []
    argv = check_argv("ldap", values)

    def fail(message: str) -> Any:
        raise AssertionError(message)

    parser = _Parser(fail, prog=argv[0])
    add_arguments(parser, COMMON_OPTIONS + check_ldap.OPTIONS)
    parsed = vars(parser.parse_args(argv[1:]))
    for name, value in values.items():
        assert parsed[name] == value, name
    assert parsed["password"] == ("file", "/etc/sensu/mdd/ldap $(x).pw")


@pytest.mark.parametrize(
    ("manifest", "option", "message"),
    [
        ({"url": "ldaps://h:636", "starttls": True}, "starttls", "ldaps:// is TLS already"),
        ({"url": "ldap://h", "ca_file": "/ca.pem"}, "ca_file", "no meaning without TLS"),
        ({"url": "ldap://h", "bind_dn": "cn=a,dc=b"}, "bind_dn", "bind_dn needs password"),
        ({"url": "ldap://h", "password": {"env": "P"}}, "password", "needs bind_dn"),
        ({"url": "ldap://h", "min_entries": 2}, "min_entries", "needs base"),
        (
            {"url": "ldap://h", "base": "dc=b", "min_entries": 3, "max_entries": 2},
            "min_entries",
            "must not be more than max_entries",
        ),
        (
            {"url": "ldap://h", "base": "dc=b", "scope": "base", "min_entries": 2},
            "min_entries",
            "at most 1 entry",
        ),
    ],
)
def test_validate_rules(manifest: dict[str, Any], option: str, message: str) -> None:
    problems = check_ldap.validate(load_values("ldap", **manifest))
    assert any(name == option and message in text for name, text in problems), problems


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("url", "ldap://h/dc=x", "write the search base in base"),
        ("url", "ldap://u@h", "user info"),
        ("url", "ldap://h:99999", "port must be 1-65535"),
        ("password", "hunter2", "secrets never go into a manifest"),
        ("filter", "uid=x", "in parentheses"),
        ("filter", "(uid=x", "in parentheses"),
        ("filter", "(cn=a)(cn=b)", "more than one filter"),
        ("base", "people", "is not a DN"),
        ("ca_file", "ca.pem", "relative path"),
    ],
)
def test_bad_values(option: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_values("ldap", **{option: value})


# --------------------------------------------------------------------------- differential


def _c_plugin(*args: str, env: dict[str, str] | None = None) -> int:
    import os

    proc = subprocess.run(
        [str(CHECK_LDAP), "-3", *args],
        capture_output=True,
        timeout=30,
        env=dict(os.environ, **(env or {})),
        stdin=subprocess.DEVNULL,
    )
    return proc.returncode


@pytest.mark.parametrize(
    ("case", "ok"),
    [("good", True), ("wrong-password", False), ("wrong-base", False), ("down", False)],
)
def test_same_colour_as_check_ldap(
    case: str,
    ok: bool,
    directory: Slapd,
    password_file: str,
    wrong_password_file: str,
    closed_port: int,
) -> None:
    if not CHECK_LDAP.exists():
        server_missing("monitoring-plugins check_ldap")
    port = closed_port if case == "down" else directory.port
    base = f"ou=nowhere,{SUFFIX}" if case == "wrong-base" else PEOPLE
    password = "Wrong-Planted-Pw-9q" if case == "wrong-password" else SERVICE_PASSWORD
    c_code = _c_plugin(
        "-H", "127.0.0.1", "-p", str(port), "-b", base, "-D", SERVICE_DN, "-P", password, "-t", "5"
    )
    run = run_check(
        "ldap",
        url=f"ldap://127.0.0.1:{port}",
        bind_dn=SERVICE_DN,
        password={"file": wrong_password_file if case == "wrong-password" else password_file},
        base=base,
        timeout="5s",
    )
    assert (run.code == 0) == ok, run.out
    assert (c_code == 0) == ok, f"check_ldap exited {c_code}"
    if not ok:
        assert run.code == c_code == 2


def test_same_colour_as_check_ldap_with_starttls(directory: Slapd, ca_file: str) -> None:
    if not CHECK_LDAP.exists():
        server_missing("monitoring-plugins check_ldap")
    for trusted in (True, False):
        env = {"LDAPTLS_CACERT": ca_file} if trusted else {"LDAPTLS_CACERT": "/nonexistent"}
        c_code = _c_plugin(
            "-T", "-H", "127.0.0.1", "-p", str(directory.port), "-b", PEOPLE, env=env
        )
        manifest: dict[str, Any] = {"url": directory.url, "starttls": True, "base": PEOPLE}
        if trusted:
            manifest["ca_file"] = ca_file
        run = run_check("ldap", timeout="5s", **manifest)
        assert (run.code == 0) == trusted == (c_code == 0), (run.out, c_code)


# ldap3 uses names that pyasn1 0.6 deprecates; pytest makes warnings errors in-process.
@pytest.mark.filterwarnings("ignore:.* is deprecated. Please use:DeprecationWarning")
def test_probe_in_a_thread_ends_without_signals(silent_port: int) -> None:
    """The in-process runner calls probe() in threads, where no SIGALRM can help."""
    import argparse
    import threading

    from mdd.checks._options import COMMON_OPTIONS

    opts = argparse.Namespace(**{o.name: o.default for o in COMMON_OPTIONS + check_ldap.OPTIONS})
    opts.url, opts.timeout = f"ldap://127.0.0.1:{silent_port}", 1.0
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(check_ldap.probe(opts)), daemon=True)
    worker.start()
    worker.join(30)  # a hang guard, not a timing assertion
    assert not worker.is_alive(), "probe() did not return without the alarm"
    (result,) = results
    assert result.state.name == "CRITICAL"
    assert result.message == (
        f"ldap://127.0.0.1:{silent_port} sent no answer to the root DSE read within 1s"
    )


URL_PARTS = st.sampled_from(
    [
        "ldap://",
        "ldaps://",
        "LDAPS://",
        "ldap:/",
        "http://",
        "[",
        "]",
        "::1",
        "2001:db8::",
        ".",
        ":",
        ":389",
        ":0",
        ":٣٨٩",
        "/",
        "//",
        "@",
        "?",
        "#",
        " ",
        "\t",
        "\u00a0",
        "host",
        "h-1",
        "é",
        "x.example.net",
        "G",
        "1.2.3.4",
    ]
)


@settings(max_examples=2000, deadline=None)
@given(st.lists(URL_PARTS, max_size=6).map("".join))
def test_url_splitting_is_the_documented_pattern(text: str) -> None:
    match = re.fullmatch(check_ldap._URL, text, re.IGNORECASE)
    expected = match.groups() if match else None
    assert check_ldap.split_url(text) == expected
