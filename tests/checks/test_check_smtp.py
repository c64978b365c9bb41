"""check-mdd-smtp, run as Sensu runs it, against a real aiosmtpd server on loopback."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mdd.checks import check_smtp
from tests.checks.smtp_servers import (
    GREYLISTED,
    REFUSED,
    Smtp,
    smtp_server,
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

CHECK_SMTP = Path("/usr/lib/nagios/plugins/check_smtp")


@pytest.fixture(scope="module")
def relay(tls_context: ssl.SSLContext) -> Iterator[Smtp]:
    """STARTTLS offered; AUTH offered only after it."""
    with smtp_server(tls_context) as server:
        yield server


def one_line(run: CheckRun) -> None:
    assert run.out.count("\n") == 1, run.out


# --------------------------------------------------------------------------- OK


def test_greeting_and_ehlo(plain_relay: Smtp) -> None:
    run = run_check("smtp", point="relay", host="127.0.0.1", port=plain_relay.port)
    assert run.code == 0, run.out
    assert run.line.startswith(
        f"SmtpCheck OK: relay: 127.0.0.1:{plain_relay.port} greets with 220 in "
    ), run.out
    assert " | time=" in run.line
    one_line(run)


def test_expect_is_searched_in_the_whole_greeting(plain_relay: Smtp) -> None:
    run = run_check(
        "smtp", host="127.0.0.1", port=plain_relay.port, expect=r"^220 localhost .*ESMTP"
    )
    assert run.code == 0, run.out
    assert "greeting matches /^220 localhost .*ESMTP/" in run.line


def test_starttls_and_auth_after_it(relay: Smtp, ca_file: str) -> None:
    run = run_check(
        "smtp",
        host="localhost",
        port=relay.port,
        starttls=True,
        ca_file=ca_file,
        auth=["plain", "LOGIN"],
        ehlo="mdd-agent.ams1.example.net",
        timeout="5s",
    )
    assert run.code == 0, run.out
    assert (
        f"localhost:{relay.port} greets with 220, STARTTLS verified, offers AUTH PLAIN LOGIN in "
        in run.line
    )


def test_envelope_is_accepted_and_no_data_is_sent(relay: Smtp, ca_file: str) -> None:
    relay.seen.clear()
    run = run_check(
        "smtp",
        host="127.0.0.1",
        port=relay.port,
        starttls=True,
        ca_file=ca_file,
        mail_from="alerts@mdd.test",
        rcpt_to=["oncall@mdd.test", "sre@mdd.test"],
        timeout="5s",
    )
    assert run.code == 0, run.out
    assert "accepts mail from alerts@mdd.test to oncall@mdd.test, sre@mdd.test" in run.line
    assert relay.seen == ["MAIL alerts@mdd.test", "RCPT oncall@mdd.test", "RCPT sre@mdd.test"]


def test_old_style_auth_announcement_counts() -> None:
    def old_server(conn: socket.socket) -> None:
        conn.settimeout(5)
        conn.sendall(b"220 old.mdd.test ESMTP\r\n")
        conn.recv(4096)  # EHLO
        conn.sendall(b"250-old.mdd.test\r\n250-AUTH=LOGIN\r\n250 8BITMIME\r\n")
        conn.recv(4096)  # QUIT
        conn.sendall(b"221 bye\r\n")

    with accepting(old_server) as port:
        run = run_check("smtp", host="127.0.0.1", port=port, auth=["LOGIN"], timeout="2s")
    assert run.code == 0, run.out
    assert "offers AUTH LOGIN" in run.line


# --------------------------------------------------------------------------- CRITICAL


def test_banner_that_does_not_match(plain_relay: Smtp) -> None:
    run = run_check("smtp", host="127.0.0.1", port=plain_relay.port, expect="Postfix")
    assert run.code == 2, run.out
    assert run.line.startswith(
        f"SmtpCheck CRITICAL: 127.0.0.1:{plain_relay.port} greeting '220 localhost mdd-test ESMTP"
    )
    assert run.line.endswith("does not match /Postfix/")


def test_refused_recipient_is_critical_with_the_servers_words(plain_relay: Smtp) -> None:
    plain_relay.seen.clear()
    run = run_check(
        "smtp",
        host="127.0.0.1",
        port=plain_relay.port,
        mail_from="alerts@mdd.test",
        rcpt_to=["oncall@mdd.test", REFUSED],
    )
    assert run.code == 2, run.out
    assert run.line == (
        f"SmtpCheck CRITICAL: 127.0.0.1:{plain_relay.port} refused RCPT TO:<{REFUSED}>: "
        f"'550 5.1.1 <nobody@mdd.test>: Recipient address rejected: User unknown'"
    )
    assert "DATA" not in plain_relay.seen


def test_greylisted_recipient_is_critical(plain_relay: Smtp) -> None:
    run = run_check(
        "smtp",
        host="127.0.0.1",
        port=plain_relay.port,
        mail_from="a@mdd.test",
        rcpt_to=[GREYLISTED],
    )
    assert run.code == 2, run.out
    assert f"refused RCPT TO:<{GREYLISTED}>: '450 4.7.1 Greylisted, try again later'" in run.line


def test_auth_not_offered_before_starttls(relay: Smtp) -> None:
    run = run_check("smtp", host="127.0.0.1", port=relay.port, auth=["PLAIN"])
    assert run.code == 2, run.out
    assert run.line == (
        f"SmtpCheck CRITICAL: 127.0.0.1:{relay.port} does not offer AUTH PLAIN (it offers no "
        f"AUTH; servers often offer AUTH only after STARTTLS: set starttls: true)"
    )


def test_mechanism_not_offered_after_starttls(relay: Smtp, ca_file: str) -> None:
    run = run_check(
        "smtp",
        host="127.0.0.1",
        port=relay.port,
        starttls=True,
        ca_file=ca_file,
        auth=["GSSAPI"],
        timeout="5s",
    )
    assert run.code == 2, run.out
    assert run.line.endswith("does not offer AUTH GSSAPI after STARTTLS (it offers LOGIN PLAIN)")


def test_starttls_not_offered(plain_relay: Smtp) -> None:
    run = run_check("smtp", host="127.0.0.1", port=plain_relay.port, starttls=True)
    assert run.code == 2, run.out
    assert run.line.startswith(
        f"SmtpCheck CRITICAL: 127.0.0.1:{plain_relay.port} does not offer STARTTLS (it offers "
    )


def test_starttls_with_an_untrusted_certificate(relay: Smtp) -> None:
    run = run_check("smtp", host="127.0.0.1", port=relay.port, starttls=True, timeout="5s")
    assert run.code == 2, run.out
    assert run.line.startswith(
        f"SmtpCheck CRITICAL: 127.0.0.1:{relay.port} offered STARTTLS but certificate verify "
        f"failed: "
    )
    assert run.line.endswith("(the system does not trust its CA: set ca_file to that CA)")


def test_starttls_certificate_for_another_name(ca: Any, ca_file: str) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("mx.elsewhere.example").configure_cert(context)
    with smtp_server(context) as other:
        run = run_check(
            "smtp",
            host="localhost",
            port=other.port,
            starttls=True,
            ca_file=ca_file,
            timeout="5s",
        )
    assert run.code == 2, run.out
    assert run.line.startswith(
        f"SmtpCheck CRITICAL: localhost:{other.port} offered STARTTLS but certificate verify "
        f"failed: Hostname mismatch"
    ), run.out


def test_starttls_with_another_ca(relay: Smtp, tmp_path_factory: pytest.TempPathFactory) -> None:
    import trustme

    other = write_ca_file(trustme.CA(), tmp_path_factory, "other-smtp")
    run = run_check("smtp", host="127.0.0.1", port=relay.port, starttls=True, ca_file=other)
    assert run.code == 2, run.out
    assert f"(it is not issued by a CA in ca_file {other})" in run.line


def test_server_down(closed_port: int) -> None:
    run = run_check("smtp", host="127.0.0.1", port=closed_port)
    assert run.code == 2, run.out
    assert run.line == f"SmtpCheck CRITICAL: 127.0.0.1:{closed_port} refused the connection"


def test_unanswered_connect(unanswered_port: int) -> None:
    run = run_check("smtp", host="127.0.0.1", port=unanswered_port, timeout="1s")
    assert run.code == 2, run.out
    assert "did not answer within 1s (host down or filtered)" in run.line


def test_server_that_refuses_service() -> None:
    def busy(conn: socket.socket) -> None:
        conn.sendall(b"554 5.3.2 mx1 is too busy, go away\r\n")
        conn.settimeout(5)
        conn.recv(4096)

    with accepting(busy) as port:
        run = run_check("smtp", host="127.0.0.1", port=port, timeout="2s")
    assert run.code == 2, run.out
    assert run.line == (
        f"SmtpCheck CRITICAL: 127.0.0.1:{port} greeted with '554 5.3.2 mx1 is too busy, go "
        f"away' (expected 220: it refuses service)"
    )


# --------------------------------------------------------------------------- faults


def test_server_that_never_greets(silent_port: int) -> None:
    run = run_check("smtp", host="127.0.0.1", port=silent_port, timeout="1s")
    assert run.code == 2, run.out
    assert run.line == (
        f"SmtpCheck CRITICAL: 127.0.0.1:{silent_port} sent no answer to the greeting within 1s"
    )


def test_server_that_trickles_its_greeting() -> None:
    def trickle(conn: socket.socket) -> None:
        for byte in b"220 slow.example ESMTP\r\n":
            conn.sendall(bytes([byte]))
            time.sleep(0.3)

    with accepting(trickle, threaded=True) as port:
        run = run_check("smtp", host="127.0.0.1", port=port, timeout="1s")
    assert run.code == 2, run.out
    assert (
        run.line == f"SmtpCheck CRITICAL: 127.0.0.1:{port} sent no answer to the greeting within 1s"
    )


def test_endless_ehlo_continuation_is_cut_off() -> None:
    def endless(conn: socket.socket) -> None:
        conn.sendall(b"220 mx ESMTP\r\n")
        conn.settimeout(5)
        conn.recv(4096)  # EHLO
        while True:
            conn.sendall(b"250-PIPELINING\r\n" * 512)

    with accepting(endless, threaded=True) as port:
        run = run_check("smtp", host="127.0.0.1", port=port, ehlo="agent.mdd.test", timeout="2s")
    assert run.code == 2, run.out
    assert run.line == (
        f"SmtpCheck CRITICAL: 127.0.0.1:{port} sent a reply of more than 100 lines in answer to "
        f"EHLO agent.mdd.test"
    )


def test_endless_line_is_cut_off() -> None:
    def endless(conn: socket.socket) -> None:
        conn.sendall(b"220 ")
        while True:
            conn.sendall(b"x" * 65536)

    with accepting(endless, threaded=True) as port:
        run = run_check("smtp", host="127.0.0.1", port=port, timeout="2s")
    assert run.code == 2, run.out
    assert run.line == (
        f"SmtpCheck CRITICAL: 127.0.0.1:{port} sent a reply line longer than 8 KiB in answer to "
        f"the greeting"
    )


def test_server_that_closes_mid_handshake(ca_file: str) -> None:
    def close_mid_tls(conn: socket.socket) -> None:
        conn.settimeout(5)
        conn.sendall(b"220 mx ESMTP\r\n")
        conn.recv(4096)  # EHLO
        conn.sendall(b"250-mx\r\n250 STARTTLS\r\n")
        conn.recv(4096)  # STARTTLS
        conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
        conn.recv(4096)  # the ClientHello, then hang up

    with accepting(close_mid_tls) as port:
        run = run_check(
            "smtp", host="127.0.0.1", port=port, starttls=True, ca_file=ca_file, timeout="2s"
        )
    assert run.code == 2, run.out
    assert run.line == (
        f"SmtpCheck CRITICAL: 127.0.0.1:{port} offered STARTTLS but closed the connection during "
        f"the TLS handshake"
    )


def test_server_that_speaks_ssh() -> None:
    def ssh(conn: socket.socket) -> None:
        conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
        conn.settimeout(5)
        conn.recv(4096)

    with accepting(ssh, threaded=True) as port:
        run = run_check("smtp", host="127.0.0.1", port=port, timeout="2s")
    assert run.code == 2, run.out
    assert run.line == (
        f"SmtpCheck CRITICAL: 127.0.0.1:{port} does not speak SMTP: it greeted with "
        f"'SSH-2.0-OpenSSH_9.2p1 Debian-2'"
    )


def test_server_that_hangs_up_after_the_greeting() -> None:
    def hang_up(conn: socket.socket) -> None:
        conn.sendall(b"220 mx ESMTP\r\n")

    with accepting(hang_up) as port:
        run = run_check("smtp", host="127.0.0.1", port=port, ehlo="agent.mdd.test", timeout="2s")
    assert run.code == 2, run.out
    assert run.line == (
        f"SmtpCheck CRITICAL: 127.0.0.1:{port} closed the connection during EHLO agent.mdd.test"
    )


# --------------------------------------------------------------------------- WARNING


def test_slow_greeting_over_warn_is_warning() -> None:
    def slow(conn: socket.socket) -> None:
        time.sleep(0.3)
        conn.sendall(b"220 mx ESMTP\r\n")
        conn.settimeout(5)
        conn.recv(4096)
        conn.sendall(b"250 mx\r\n")
        conn.recv(4096)
        conn.sendall(b"221 bye\r\n")

    with accepting(slow, threaded=True) as port:
        run = run_check("smtp", host="127.0.0.1", port=port, warn="100ms", timeout="5s")
    assert run.code == 1, run.out
    assert run.line.split(" | ")[0].endswith("(warning above 100 ms)")


def test_slow_greeting_over_crit_is_critical() -> None:
    def slow(conn: socket.socket) -> None:
        time.sleep(0.3)
        conn.sendall(b"220 mx ESMTP\r\n250 mx\r\n221 bye\r\n")
        conn.settimeout(5)
        conn.recv(4096)

    with accepting(slow, threaded=True) as port:
        run = run_check("smtp", host="127.0.0.1", port=port, crit="100ms", timeout="5s")
    assert run.code == 2, run.out
    assert run.line.split(" | ")[0].endswith("(critical above 100 ms)")


# --------------------------------------------------------------------------- UNKNOWN


def test_unusable_ca_file_is_unknown(relay: Smtp, tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    run = run_check("smtp", host="127.0.0.1", port=relay.port, starttls=True, ca_file=str(bad))
    assert run.code == 3, run.out
    assert f"cannot use ca_file {bad}" in run.line


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--host", "x", "--port", "0"], "port must be 1-65535"),
        (["--host", "x", "--rcpt-to", "a b@c"], "is not a mail address"),
        (["--host", "x", "--expect", "("], "is not a valid regular expression"),
        (["--port", "25"], "the following arguments are required: --host"),
    ],
)
def test_bad_invocation_is_unknown(argv: list[str], expected: str) -> None:
    run = run_argv("check-mdd-smtp", *argv)
    assert run.code == 3, run.out
    one_line(run)
    assert expected in run.line


# --------------------------------------------------------------------------- manifest


def test_manifest_values_parse_back_from_the_command() -> None:
    from mdd.checks._help import CheckParser as _Parser
    from mdd.checks._options import COMMON_OPTIONS, add_arguments
    from mdd.core.command import check_argv

    manifest = {
        "host": "relay.ams1.example.net",
        "port": 587,
        "expect": r"^220 .* ESMTP (Postfix|Exim)$",
        "ehlo": "agent.ams1.example.net",
        "starttls": True,
        "auth": ["plain", "LOGIN"],
        "mail_from": "alerts@ams1.example.net",
        "rcpt_to": ["oncall@example.net", "-odd@example.net"],
        "ca_file": "/etc/ssl/relay ca.pem",
        "timeout": "3s",
        "warn": "1s",
        "crit": "2s",
    }
    values = load_values("smtp", **manifest)
    assert check_smtp.validate(values) == []
    argv = check_argv("smtp", values)

    def fail(message: str) -> Any:
        raise AssertionError(message)

    parser = _Parser(fail, prog=argv[0])
    add_arguments(parser, COMMON_OPTIONS + check_smtp.OPTIONS)
    parsed = vars(parser.parse_args(argv[1:]))
    for name, value in values.items():
        assert parsed[name] == value, name
    assert parsed["auth"] == ["PLAIN", "LOGIN"]


@pytest.mark.parametrize(
    ("manifest", "option", "message"),
    [
        ({"host": "h", "ca_file": "/ca.pem"}, "ca_file", "no meaning without starttls"),
        ({"host": "h", "mail_from": "a@b"}, "mail_from", "needs rcpt_to"),
        ({"host": "h", "rcpt_to": ["a@b"]}, "rcpt_to", "needs mail_from"),
        ({"host": "h", "warn": "3s", "crit": "2s"}, "warn", "must not be longer than crit"),
    ],
)
def test_validate_rules(manifest: dict[str, Any], option: str, message: str) -> None:
    problems = check_smtp.validate(load_values("smtp", **manifest))
    assert any(name == option and message in text for name, text in problems), problems


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("rcpt_to", ["<a@b>"], "without spaces or <>"),
        ("mail_from", "a@b\r\nDATA", "without spaces or <>"),
        ("auth", ["PLAIN LOGIN"], "is not a SASL mechanism"),
        ("ehlo", "my host", "is not a host name"),
    ],
)
def test_bad_values(option: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_values("smtp", **{option: value})


# --------------------------------------------------------------------------- differential


def _c_plugin(*args: str) -> int:
    proc = subprocess.run(
        [str(CHECK_SMTP), *args],
        capture_output=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    return proc.returncode


@pytest.mark.parametrize(
    ("case", "ok"), [("good", True), ("banner", False), ("down", False), ("no-starttls", False)]
)
def test_same_colour_as_check_smtp(
    case: str, ok: bool, plain_relay: Smtp, closed_port: int
) -> None:
    """check_smtp and check-mdd-smtp agree on OK vs not OK. check_smtp says WARNING for a
    greeting that does not match -e, and CRITICAL when -S finds no STARTTLS; mdd says CRITICAL
    for both (the point is not delivered)."""
    if not CHECK_SMTP.exists():
        server_missing("monitoring-plugins check_smtp")
    port = closed_port if case == "down" else plain_relay.port
    c_args = ["-H", "127.0.0.1", "-p", str(port), "-t", "5"]
    manifest: dict[str, Any] = {"host": "127.0.0.1", "port": port, "timeout": "5s"}
    if case == "banner":
        c_args += ["-e", "Postfix"]
        manifest["expect"] = "Postfix"
    if case == "no-starttls":
        c_args += ["-S"]
        manifest["starttls"] = True
    c_code = _c_plugin(*c_args)
    run = run_check("smtp", **manifest)
    assert (run.code == 0) == ok, run.out
    assert (c_code == 0) == ok, f"check_smtp exited {c_code}"


def test_check_smtp_starttls_trusts_what_mdd_does_not(relay: Smtp) -> None:
    """Where the colours part: check_smtp -S does not verify the certificate, mdd does."""
    if not CHECK_SMTP.exists():
        server_missing("monitoring-plugins check_smtp")
    c_code = _c_plugin("-H", "127.0.0.1", "-p", str(relay.port), "-S", "-t", "5")
    run = run_check("smtp", host="127.0.0.1", port=relay.port, starttls=True, timeout="5s")
    assert c_code == 0
    assert run.code == 2, run.out


# --------------------------------------------------------------------------- in-process


def test_probe_in_a_thread_ends_without_signals(silent_port: int) -> None:
    """The in-process runner calls probe() in threads, where no SIGALRM can help."""
    import argparse
    import threading

    from mdd.checks._options import COMMON_OPTIONS

    opts = argparse.Namespace(**{o.name: o.default for o in COMMON_OPTIONS + check_smtp.OPTIONS})
    opts.host, opts.port, opts.timeout = "127.0.0.1", silent_port, 1.0
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(check_smtp.probe(opts)), daemon=True)
    worker.start()
    worker.join(30)  # a hang guard, not a timing assertion
    assert not worker.is_alive(), "probe() did not return without the alarm"
    (result,) = results
    assert result.state.name == "CRITICAL"
    assert result.message.endswith("sent no answer to the greeting within 1s")
