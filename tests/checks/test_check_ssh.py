"""check-mdd-ssh, run as Sensu runs it, against a real OpenSSH sshd on loopback."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from mdd.checks import check_ssh
from tests.checks.net_servers import sshd
from tests.conftest import accepting, load_values, run_argv, run_check
from tests.test_contract import assert_round_trip


@pytest.fixture(scope="module")
def sshd_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with sshd(tmp_path_factory.mktemp("sshd")) as port:
        yield port


def test_real_sshd_is_ok_with_its_identification(sshd_port: int) -> None:
    run = run_check(
        "ssh",
        point="bastion",
        host="127.0.0.1",
        port=sshd_port,
        expect="OpenSSH_",
        protocol="2.0",
        timeout="3s",
    )
    assert run.code == 0, run.out
    assert run.line.startswith(
        f"SshCheck OK: bastion: 127.0.0.1:{sshd_port} identifies as 'SSH-2.0-OpenSSH_"
    )
    assert " | time=" in run.line


def test_version_not_matching_expect_is_critical(sshd_port: int) -> None:
    run = run_check("ssh", host="127.0.0.1", port=sshd_port, expect="OpenSSH_1\\.", timeout="3s")
    assert run.code == 2, run.out
    assert "identifies as 'SSH-2.0-OpenSSH_" in run.line and "not /OpenSSH_1\\./" in run.line


def test_slow_identification_over_warn_is_warning(sshd_port: int) -> None:
    run = run_check("ssh", host="127.0.0.1", port=sshd_port, warn="0.000001s", timeout="3s")
    assert run.code == 1, run.out
    assert "(warning above 0.001 ms)" in run.line


def test_refused_port_is_critical(closed_port: int) -> None:
    run = run_check("ssh", host="127.0.0.1", port=closed_port)
    assert run.code == 2
    assert run.line == (
        f"SshCheck CRITICAL: 127.0.0.1:{closed_port} refused the connection (no SSH server there)"
    )


def test_port_that_never_answers_is_critical(unanswered_port: int) -> None:
    run = run_check("ssh", host="127.0.0.1", port=unanswered_port, timeout="1s")
    assert run.code == 2, run.out
    assert "did not answer within 1s" in run.line


def test_silent_server_is_critical(silent_port: int) -> None:
    run = run_check("ssh", host="127.0.0.1", port=silent_port, timeout="1s")
    assert run.code == 2, run.out
    assert "accepted the connection but said nothing within 1s" in run.line


def _banner(text: bytes, then_wait: float = 0.0):  # type: ignore[no-untyped-def]
    def talk(conn: socket.socket) -> None:
        conn.sendall(text)
        time.sleep(then_wait)

    return talk


def test_non_ssh_banner_is_critical() -> None:
    with accepting(_banner(b"220 mail.test ESMTP ready\r\n", 3)) as port:
        run = run_check("ssh", host="127.0.0.1", port=port, timeout="5s")
    assert run.code == 2, run.out
    assert run.line == (
        f"SshCheck CRITICAL: 127.0.0.1:{port} does not speak SSH: it sent "
        f"'220 mail.test ESMTP ready', not an SSH- identification | time="
        + run.line.split("| time=")[1]
    )


def test_lines_before_the_identification_are_allowed() -> None:
    with accepting(_banner(b"Welcome\r\nSSH-1.99-Legacy_1.0 x\r\n")) as port:
        run = run_check("ssh", host="127.0.0.1", port=port, protocol="2.0", expect="Legacy")
    assert run.code == 0, run.out
    assert "identifies as 'SSH-1.99-Legacy_1.0 x'" in run.line


def test_old_protocol_is_critical() -> None:
    with accepting(_banner(b"SSH-1.5-Old\r\n")) as port:
        run = run_check("ssh", host="127.0.0.1", port=port, protocol="2.0")
    assert run.code == 2, run.out
    assert "speaks SSH protocol 1.5, not 2.0" in run.line


def test_endless_garbage_is_bounded_and_critical() -> None:
    def flood(conn: socket.socket) -> None:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            conn.sendall(b"x" * 4096)

    with accepting(flood) as port:
        run = run_check("ssh", host="127.0.0.1", port=port, timeout="2s")
    assert run.code == 2, run.out
    assert "does not speak SSH" in run.line and len(run.line) < 300


def test_trickling_identification_ends_within_timeout() -> None:
    def trickle(conn: socket.socket) -> None:
        for byte in b"SSH-2.0-Slooooooooooow":
            conn.sendall(bytes([byte]))
            time.sleep(0.2)

    with accepting(trickle) as port:
        run = run_check("ssh", host="127.0.0.1", port=port, timeout="1s")
    assert run.code == 2, run.out
    assert "began but never finished its identification line" in run.line


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--port", "22"], "the following arguments are required: --host"),
        (["--host", "127.0.0.1", "--protocol", "1.5"], "expected one of 2.0"),
        (["--host", "127.0.0.1", "--expect", "["], "not a valid regular expression"),
    ],
)
def test_bad_invocation_is_unknown_in_one_line(argv: list[str], expected: str) -> None:
    run = run_argv("check-mdd-ssh", *argv)
    assert run.code == 3, run.out
    assert run.out.count("\n") == 1, run.out
    assert run.line.startswith("SshCheck UNKNOWN: ") and expected in run.line


def test_manifest_values_parse_back_from_the_command() -> None:
    values = load_values(
        "ssh",
        host="bastion.example.net",
        port=2222,
        expect="OpenSSH_9",
        protocol="2.0",
        timeout="5s",
        warn="1s",
        crit="2s",
    )
    assert check_ssh.validate(values) == []
    assert_round_trip("ssh", values)
    values = load_values("ssh", host="h", crit="10s")
    assert check_ssh.validate(values) == [("crit", "'crit' must be shorter than the timeout (10s)")]


# --------------------------------------------------------------------------- issue 18: RFC 4253


@pytest.mark.parametrize(
    ("sent", "says"),
    [
        (b"SSH-2.0-" + b"A" * 200_000 + b"\r\n", "longer than 255 characters"),
        (b"SSH-2.0-" + b"B" * 200_000, "longer than 255 characters"),  # no line end at all
        (b"SSH-2.0-" + b"C" * 246 + b"\r\n", "longer than 255 characters"),  # 256 with CR LF
        (b"SSH-2.0-Open\x1bSSH\r\n", "not SSH-protoversion-softwareversion"),
        (b"SSH-2.0-\r\n", "not SSH-protoversion-softwareversion"),
        (b"SSH-2.0\r\n", "not SSH-protoversion-softwareversion"),
    ],
)
def test_an_improper_identification_line_is_critical(sent: bytes, says: str) -> None:
    with accepting(_banner(sent, 3)) as port:
        run = run_check("ssh", host="127.0.0.1", port=port, timeout="2s")
    assert run.code == 2, run.out
    assert f"sent a malformed identification line ({says}" in run.line, run.line
    assert len(run.line) < 400 and "\x1b" not in run.line


def test_an_identification_of_exactly_255_characters_is_ok() -> None:
    line = b"SSH-2.0-" + b"D" * 245 + b"\r\n"
    assert len(line) == 255
    with accepting(_banner(line)) as port:
        run = run_check("ssh", host="127.0.0.1", port=port, timeout="2s")
    assert run.code == 0, run.out
