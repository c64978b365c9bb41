"""check-mdd-udp, run as Sensu runs it, against real UDP sockets on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mdd.checks import check_udp
from mdd.checks._escapes import decode_escapes
from mdd.checks._options import ESCAPED_TEXT as ESCAPED
from tests.checks.net_servers import closed_udp_port, silent_udp_port, udp_server
from tests.conftest import load_values, run_argv, run_check
from tests.test_contract import assert_round_trip


def _echo(data: bytes) -> bytes | None:
    return b"PONG\r\n" if data == b"PING\r\n" else b"what? " + data


@pytest.fixture(scope="module")
def echo() -> Iterator[tuple[int, list[bytes]]]:
    with udp_server(_echo) as server:
        yield server


def test_reply_matching_expect_is_ok_and_send_escapes_are_decoded(
    echo: tuple[int, list[bytes]],
) -> None:
    port, received = echo
    run = run_check(
        "udp",
        point="echo",
        host="127.0.0.1",
        port=port,
        send="PING\\r\\n",
        expect="^PONG",
        timeout="2s",
    )
    assert run.code == 0, run.out
    assert run.line.startswith(f"UdpCheck OK: echo: 127.0.0.1:{port} replied in ")
    assert "with /^PONG/ | time=" in run.line
    assert received[-1] == b"PING\r\n"  # the escapes went on the wire as CR LF
    assert "\n" not in run.command  # the command stays one line


def test_yaml_decoded_control_characters_mean_the_same_bytes(
    echo: tuple[int, list[bytes]],
) -> None:
    port, received = echo
    # "PING\r\n" in YAML double quotes arrives as real CR LF: same datagram, same command.
    run = run_check("udp", host="127.0.0.1", port=port, send="PING\r\n", expect="PONG")
    assert run.code == 0, run.out
    assert received[-1] == b"PING\r\n"
    assert "PING\\r\\n" in run.command


def test_any_reply_is_ok_without_expect(echo: tuple[int, list[bytes]]) -> None:
    port, _ = echo
    run = run_check("udp", host="127.0.0.1", port=port, send="hello")
    assert run.code == 0, run.out


def test_reply_not_matching_is_critical_and_quotes_it(echo: tuple[int, list[bytes]]) -> None:
    port, _ = echo
    run = run_check("udp", host="127.0.0.1", port=port, send="HELLO", expect="^PONG")
    assert run.code == 2, run.out
    assert f"127.0.0.1:{port} replied but not with /^PONG/: got 'what? HELLO'" in run.line


def test_closed_port_is_critical_refused() -> None:
    port = closed_udp_port()
    run = run_check("udp", point="syslog", host="127.0.0.1", port=port, send="x", timeout="2s")
    assert run.code == 2, run.out
    assert run.line == (
        f"UdpCheck CRITICAL: syslog: 127.0.0.1:{port} refused the datagram "
        f"(ICMP port unreachable: nothing listens there)"
    )


def test_no_reply_is_critical_within_timeout() -> None:
    with silent_udp_port() as port:
        run = run_check("udp", host="127.0.0.1", port=port, send="x", timeout="1s")
    assert run.code == 2, run.out
    assert f"127.0.0.1:{port} sent no reply within 1s" in run.line


def test_slow_reply_over_warn_is_warning_and_over_crit_critical(
    echo: tuple[int, list[bytes]],
) -> None:
    port, _ = echo
    run = run_check("udp", host="127.0.0.1", port=port, send="x", warn="0.000001s")
    assert run.code == 1, run.out
    assert "(warning above 0.000001s)" in run.line
    run = run_check(
        "udp", host="127.0.0.1", port=port, send="x", warn="0.000001s", crit="0.000002s"
    )
    assert run.code == 2, run.out
    assert "(critical above 0.000002s)" in run.line


def test_huge_reply_is_bounded() -> None:
    with udp_server(lambda _: b"A" * 60000) as (port, _):
        run = run_check("udp", host="127.0.0.1", port=port, send="x", expect="^B", timeout="2s")
    assert run.code == 2, run.out
    assert len(run.line) < 300 and run.out.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--host", "127.0.0.1", "--port", "7"], "the following arguments are required: --send"),
        (
            ["--host", "127.0.0.1", "--port", "7", "--send", "a\\qb"],
            "unknown escape \\q at character 2",
        ),
        (["--host", "127.0.0.1", "--port", "7", "--send", "\\x4"], "needs two hex digits"),
        (["--host", "127.0.0.1", "--port", "7", "--send", "x", "--expect", "("], "not a valid"),
    ],
)
def test_bad_invocation_is_unknown_in_one_line(argv: list[str], expected: str) -> None:
    run = run_argv("check-mdd-udp", *argv)
    assert run.code == 3, run.out
    assert run.out.count("\n") == 1, run.out
    assert run.line.startswith("UdpCheck UNKNOWN: ")
    assert expected in run.line


def test_escapes() -> None:
    assert decode_escapes("PING\\r\\n") == b"PING\r\n"
    assert decode_escapes("\\t\\0\\\\\\x1b\\xfF") == b"\t\0\\\x1b\xff"
    assert decode_escapes("é") == "é".encode()
    for bad in ("\\", "\\q", "\\x", "\\xg0", "\\x1"):
        with pytest.raises(ValueError):
            decode_escapes(bad)
    assert ESCAPED.load("a\r\n\x01") == "a\\r\\n\\x01"
    assert ESCAPED.parse(ESCAPED.load("a\r\n\x01")) == "a\\r\\n\\x01"


def test_manifest_values_parse_back_from_the_command() -> None:
    values = load_values(
        "udp",
        host="10.0.0.1",
        port=514,
        send="<13>mdd\\n",
        expect="^ok",
        timeout="2s",
        warn="1s",
        crit="1500ms",
    )
    assert check_udp.validate(values) == []
    assert_round_trip("udp", values)


def test_validate_thresholds() -> None:
    values = load_values("udp", host="h", port=1, send="x", warn="2s", crit="1s")
    assert ("warn", "warn must not be longer than crit") in check_udp.validate(values)
