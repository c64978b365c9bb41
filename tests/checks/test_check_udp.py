"""check-mdd-udp, run as Sensu runs it, against real UDP sockets on loopback."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from mdd.checks import check_udp
from mdd.checks._escapes import decode_escapes
from mdd.checks._options import ESCAPED_TEXT as ESCAPED
from mdd.checks._result import State
from tests.checks.net_servers import (
    closed_udp_port,
    free_udp_port_v4_v6,
    ipv6_loopback,
    silent_udp_port,
    udp_server,
)
from tests.checks.test_net_in_process import options
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
    assert "(warning above 0.001 ms)" in run.line
    run = run_check(
        "udp", host="127.0.0.1", port=port, send="x", warn="0.000001s", crit="0.000002s"
    )
    assert run.code == 2, run.out
    assert "(critical above 0.002 ms)" in run.line


def test_huge_reply_is_bounded() -> None:
    with udp_server(lambda _: b"A" * 60000) as (port, _):
        run = run_check("udp", host="127.0.0.1", port=port, send="x", expect="^B", timeout="2s")
    assert run.code == 2, run.out
    assert len(run.line) < 300 and run.out.count("\n") == 1


needs_ipv6 = pytest.mark.skipif(not ipv6_loopback(), reason="::1 cannot be bound here")


@needs_ipv6
def test_ipv6_address_is_asked_over_ipv6() -> None:
    with udp_server(_echo, "::1") as (port, received):
        run = run_check("udp", host="::1", port=port, send="PING\\r\\n", expect="^PONG")
    assert run.code == 0, run.out
    assert run.line.startswith(f"UdpCheck OK: [::1]:{port} replied in ")
    assert received == [b"PING\r\n"]


def _both(port: int) -> list[check_udp.Target]:
    """127.0.0.1 and ::1 as the resolver gives them for a name with an A and an AAAA record."""
    return [
        (info[0], info[4])
        for address in ("127.0.0.1", "::1")
        for info in socket.getaddrinfo(address, port, type=socket.SOCK_DGRAM)
    ]


def _ask_both(port: int, **manifest: object) -> check_udp.Result:
    # localhost has only 127.0.0.1 on some machines (/etc/hosts), and tests resolve no other
    # name: the two addresses a name would give are handed to the check's own code for them.
    opts = options("udp", host="localhost", port=port, send="PING\\r\\n", **manifest)
    return check_udp.ask_addresses(
        opts, f"localhost:{port}", _both(port), b"PING\r\n", time.monotonic()
    )


@needs_ipv6
def test_every_address_of_a_name_is_asked_and_ok_says_how_many() -> None:
    port = free_udp_port_v4_v6()
    with (
        udp_server(_echo, "127.0.0.1", port) as (_, v4),
        udp_server(_echo, "::1", port) as (
            _,
            v6,
        ),
    ):
        result = _ask_both(port, expect="^PONG", timeout="2s")
    assert result.state is State.OK, result.message
    assert result.message.startswith(f"localhost:{port} replied on all 2 addresses, in at most ")
    assert result.message.endswith(" ms with /^PONG/")
    assert v4 == [b"PING\r\n"] and v6 == [b"PING\r\n"]
    assert [p.label for p in result.perfdata] == ["time"]


@needs_ipv6
def test_a_silent_address_is_critical_and_named() -> None:
    port = free_udp_port_v4_v6()
    with udp_server(_echo, "127.0.0.1", port), silent_udp_port("::1", port):
        result = _ask_both(port, timeout="1s")
    assert result.state is State.CRITICAL, result.message
    assert result.message == (
        f"localhost:{port}: ::1 sent no reply within 1s (service down, or a firewall drops "
        f"the datagrams) (1 of 2 addresses OK)"
    )
    assert [p.label for p in result.perfdata] == ["time"]  # the address that replied


@needs_ipv6
def test_each_failing_address_is_named_with_its_reason() -> None:
    port = free_udp_port_v4_v6()
    with udp_server(lambda _: b"nope", "::1", port):  # 127.0.0.1: nothing bound, refused
        result = _ask_both(port, expect="^PONG", timeout="2s")
    assert result.state is State.CRITICAL, result.message
    assert result.message == (
        f"localhost:{port}: 127.0.0.1 refused the datagram (ICMP port unreachable: nothing "
        f"listens there); ::1 replied but not with /^PONG/: got 'nope' (0 of 2 addresses OK)"
    )


@needs_ipv6
def test_localhost_is_asked_on_every_address_it_has() -> None:
    # Whatever this machine's localhost resolves to (127.0.0.1, and ::1 where /etc/hosts says
    # so), each address answers from the same port, and the check asks each one.
    port = free_udp_port_v4_v6()
    addresses = {i[4][0] for i in socket.getaddrinfo("localhost", port, type=socket.SOCK_DGRAM)}
    with (
        udp_server(_echo, "127.0.0.1", port) as (_, v4),
        udp_server(_echo, "::1", port) as (
            _,
            v6,
        ),
    ):
        run = run_check("udp", host="localhost", port=port, send="PING\\r\\n", timeout="2s")
    assert run.code == 0, run.out
    if len(addresses) == 1:
        assert run.line.startswith(f"UdpCheck OK: localhost:{port} replied in "), run.line
    else:
        assert f"replied on all {len(addresses)} addresses" in run.line, run.line
    assert len(v4) == ("127.0.0.1" in addresses) and len(v6) == ("::1" in addresses)


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
