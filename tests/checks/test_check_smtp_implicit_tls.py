"""check-mdd-smtp with ``implicit_tls`` (SMTPS, RFC 8314), run as Sensu runs it, against a real
aiosmtpd server that speaks TLS from the first byte on loopback; and ``mdd verify`` in-process
giving the same verdicts."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mdd.checks import check_smtp
from tests.checks.smtp_servers import (
    Smtp,
    smtp_server,
)
from tests.conftest import accepting, load_values, run_check, run_command


@pytest.fixture(scope="module")
def smtps(tls_context: ssl.SSLContext) -> Iterator[Smtp]:
    """TLS from the first byte; AUTH offered (the whole session is TLS)."""
    with smtp_server(tls_context, implicit=True) as server:
        yield server


# --------------------------------------------------------------------------- OK


def test_auth_and_envelope_over_implicit_tls(smtps: Smtp, ca_file: str) -> None:
    smtps.seen.clear()
    run = run_check(
        "smtp",
        point="smtps",
        host="localhost",
        port=smtps.port,
        implicit_tls=True,
        ca_file=ca_file,
        expect="^220 localhost .*ESMTP",
        auth=["PLAIN", "login"],
        mail_from="alerts@mdd.test",
        rcpt_to=["oncall@mdd.test"],
        timeout="5s",
    )
    assert run.code == 0, run.out
    assert run.line.startswith(
        f"SmtpCheck OK: smtps: localhost:{smtps.port} implicit TLS verified, greeting matches "
        f"/^220 localhost .*ESMTP/, offers AUTH PLAIN LOGIN, accepts mail from alerts@mdd.test "
        f"to oncall@mdd.test in "
    ), run.out
    assert smtps.seen == ["MAIL alerts@mdd.test", "RCPT oncall@mdd.test"]  # and never DATA


def test_mechanism_not_offered_over_implicit_tls(smtps: Smtp, ca_file: str) -> None:
    run = run_check(
        "smtp",
        host="127.0.0.1",
        port=smtps.port,
        implicit_tls=True,
        ca_file=ca_file,
        auth=["GSSAPI"],
        timeout="5s",
    )
    assert run.code == 2, run.out
    # No "set starttls: true" hint: the session is TLS already.
    assert run.line == (
        f"SmtpCheck CRITICAL: 127.0.0.1:{smtps.port} does not offer AUTH GSSAPI (it offers "
        f"LOGIN PLAIN)"
    )


# --------------------------------------------------------------------------- the TLS handshake


def test_untrusted_certificate(smtps: Smtp) -> None:
    run = run_check("smtp", host="localhost", port=smtps.port, implicit_tls=True, timeout="5s")
    assert run.code == 2, run.out
    assert run.line.startswith(
        f"SmtpCheck CRITICAL: localhost:{smtps.port} failed the TLS handshake: certificate "
        f"verify failed: "
    ), run.out
    assert run.line.endswith("(the system does not trust its CA: set ca_file to that CA)")


def test_certificate_for_another_name(ca: Any, ca_file: str) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("mx.elsewhere.example").configure_cert(context)
    with smtp_server(context, implicit=True) as other:
        run = run_check(
            "smtp", host="localhost", port=other.port, implicit_tls=True, ca_file=ca_file
        )
    assert run.code == 2, run.out
    assert run.line.startswith(
        f"SmtpCheck CRITICAL: localhost:{other.port} failed the TLS handshake: certificate "
        f"verify failed: Hostname mismatch"
    ), run.out


def test_plain_smtp_server_on_the_port(plain_relay: Smtp, ca_file: str) -> None:
    run = run_check(
        "smtp", host="127.0.0.1", port=plain_relay.port, implicit_tls=True, ca_file=ca_file
    )
    assert run.code == 2, run.out
    assert run.line == (
        f"SmtpCheck CRITICAL: 127.0.0.1:{plain_relay.port} did not speak TLS: it answered the "
        f"TLS handshake in plain text (plain SMTP? a STARTTLS port, such as 25 or 587, takes "
        f"starttls: true instead of implicit_tls)"
    )


def test_silent_server_is_bounded_by_the_timeout(silent_port: int, ca_file: str) -> None:
    run = run_check(
        "smtp", host="127.0.0.1", port=silent_port, implicit_tls=True, ca_file=ca_file,
        timeout="1s",
    )  # fmt: skip
    assert run.code == 2, run.out
    assert run.line == (
        f"SmtpCheck CRITICAL: 127.0.0.1:{silent_port} did not finish the TLS handshake within 1s"
    )


def test_server_that_hangs_up_on_the_client_hello(ca_file: str) -> None:
    def hang_up(conn: socket.socket) -> None:
        conn.settimeout(5)
        conn.recv(4096)  # the ClientHello

    with accepting(hang_up) as port:
        run = run_check(
            "smtp", host="127.0.0.1", port=port, implicit_tls=True, ca_file=ca_file, timeout="2s"
        )
    assert run.code == 2, run.out
    assert run.line == (
        f"SmtpCheck CRITICAL: 127.0.0.1:{port} closed the connection during the TLS handshake"
    )


def test_silent_greeting_after_the_handshake(tls_context: ssl.SSLContext, ca_file: str) -> None:
    def tls_then_silence(conn: socket.socket) -> None:
        with tls_context.wrap_socket(conn, server_side=True) as tls:
            tls.settimeout(5)
            with contextlib.suppress(OSError):
                tls.recv(4096)  # nothing comes: the check waits for the greeting

    with accepting(tls_then_silence, threaded=True) as port:
        run = run_check(
            "smtp", host="localhost", port=port, implicit_tls=True, ca_file=ca_file, timeout="1s"
        )
    assert run.code == 2, run.out
    assert run.line == (
        f"SmtpCheck CRITICAL: localhost:{port} sent no answer to the greeting within 1s"
    )


def test_plain_check_on_an_implicit_tls_port_waits_for_a_greeting(smtps: Smtp) -> None:
    """Without implicit_tls, a TLS port says nothing (it waits for a ClientHello)."""
    run = run_check("smtp", host="127.0.0.1", port=smtps.port, timeout="1s")
    assert run.code == 2, run.out
    assert run.line == (
        f"SmtpCheck CRITICAL: 127.0.0.1:{smtps.port} sent no answer to the greeting within 1s"
    )


def test_silent_port_465_without_implicit_tls_says_what_to_set() -> None:
    listener = socket.socket()
    try:
        listener.bind(("127.0.0.1", 465))
    except OSError as exc:  # not root, or taken
        listener.close()
        pytest.skip(f"cannot listen on 127.0.0.1:465: {exc.strerror}")
    with listener:
        listener.listen(4)
        run = run_check("smtp", host="127.0.0.1", port=465, starttls=True, timeout="1s")
    assert run.code == 2, run.out
    assert run.line == (
        "SmtpCheck CRITICAL: 127.0.0.1:465 sent no answer to the greeting within 1s (port 465 "
        "speaks TLS from the first byte: set implicit_tls: true)"
    )


# --------------------------------------------------------------------------- manifest


def test_port_defaults_to_465_with_implicit_tls() -> None:
    from mdd.core.command import check_argv

    values = load_values("smtp", host="relay.example.net", implicit_tls=True)
    assert check_smtp.validate(values) == []
    assert check_argv("smtp", values)[1:] == ["--host", "relay.example.net", "--implicit-tls"]
    # Whatever answers on 127.0.0.1:465 (usually nothing), the message names the port tried.
    run = run_check("smtp", host="127.0.0.1", implicit_tls=True, timeout="1s")
    assert run.code == 2, run.out
    assert run.line.startswith("SmtpCheck CRITICAL: 127.0.0.1:465 "), run.out


@pytest.mark.parametrize(
    ("manifest", "option", "message"),
    [
        (
            {"host": "h", "starttls": True, "implicit_tls": True},
            "implicit_tls",
            "implicit_tls and starttls exclude each other",
        ),
        ({"host": "h", "ca_file": "/ca.pem"}, "ca_file", "without starttls: true or implicit_tls"),
    ],
)
def test_validate_rules(manifest: dict[str, Any], option: str, message: str) -> None:
    problems = check_smtp.validate(load_values("smtp", **manifest))
    assert any(name == option and message in text for name, text in problems), problems


def test_ca_file_is_meaningful_with_implicit_tls() -> None:
    values = load_values("smtp", host="h", implicit_tls=True, ca_file="/etc/ssl/ca.pem")
    assert check_smtp.validate(values) == []


# --------------------------------------------------------------------------- in-process


def test_verify_equals_the_sensu_command(
    smtps: Smtp, plain_relay: Smtp, ca_file: str, tmp_path: Path
) -> None:
    """``mdd verify`` runs the same probe in-process: same status, same reason."""
    from mdd.core.command import check_command
    from mdd.manifest import load
    from tests.runner.helpers import mdd, write_manifest

    tls = {"implicit_tls": True, "timeout": "2s"}
    points = [
        {"name": "good", "type": "smtp", "check": dict(tls, host="localhost", port=smtps.port,
                                                       ca_file=ca_file, auth="PLAIN")},
        {"name": "untrusted", "type": "smtp", "check": dict(tls, host="localhost",
                                                            port=smtps.port)},
        {"name": "plain", "type": "smtp", "check": dict(tls, host="127.0.0.1",
                                                        port=plain_relay.port, ca_file=ca_file)},
    ]  # fmt: skip
    manifests = write_manifest(tmp_path, points)
    run = mdd(
        "verify", "lab1", "--manifests", str(manifests), "--format", "json", "--no-state",
        cwd=tmp_path,
    )  # fmt: skip
    assert run.code == 1, (run.code, run.out, run.err)
    in_process = {p["name"]: p for p in json.loads(run.out)["points"]}
    assert {name: p["status"] for name, p in in_process.items()} == {
        "good": 0,
        "untrusted": 2,
        "plain": 2,
    }, in_process
    for point in load(manifests / "lab1.yaml").points:
        sensu = run_command(check_command(point.type, point.options, point.name))
        mine = in_process[point.name]
        assert mine["status"] == sensu.code, (point.name, mine, sensu.line)
        if point.name != "good":  # the good one's reason carries a time
            assert sensu.line == f"SmtpCheck CRITICAL: {point.name}: {mine['reason']}"
