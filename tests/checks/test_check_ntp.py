"""check-mdd-ntp, run as Sensu runs it, against real chronyd servers on loopback."""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator

import pytest

from mdd.checks import check_ntp
from tests.checks.net_servers import chronyd, closed_udp_port, silent_udp_port, udp_server
from tests.conftest import load_values, run_argv, run_check
from tests.test_contract import assert_round_trip


@pytest.fixture(scope="module")
def ntp_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with chronyd(tmp_path_factory.mktemp("chrony"), local_stratum=8) as port:
        yield port


@pytest.fixture(scope="module")
def unsynchronised_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    # No time source and no "local" line: chronyd answers, but as unsynchronised (leap 3).
    with chronyd(tmp_path_factory.mktemp("chrony-unsync"), local_stratum=None) as port:
        yield port


def test_synchronised_server_is_ok_with_offset_perfdata(ntp_port: int) -> None:
    run = run_check(
        "ntp",
        point="ntp",
        servers=[f"127.0.0.1:{ntp_port}"],
        timeout="3s",
        warn_offset="1s",
        crit_offset="2s",
        max_stratum=10,
    )
    assert run.code == 0, run.out
    assert run.line.startswith(f"NtpCheck OK: ntp: 127.0.0.1:{ntp_port} offset ")
    assert ", stratum 8 | offset=" in run.line and ";1;2" in run.line


def test_offset_over_warn_is_warning_and_over_crit_critical(ntp_port: int) -> None:
    # The offset between two clocks of one machine is never exactly zero: a threshold of a
    # nanosecond is always crossed, so the thresholds, not the clock, decide.
    server = f"127.0.0.1:{ntp_port}"
    run = run_check("ntp", servers=[server], warn_offset="0.000000001s", timeout="3s")
    assert run.code == 1, run.out
    assert "(warning above 0.000001 ms)" in run.line
    run = run_check("ntp", servers=[server], crit_offset="0.000000001s", timeout="3s")
    assert run.code == 2, run.out
    assert "(critical above 0.000001 ms)" in run.line


def test_round_trip_is_reported_and_judged_with_warn_and_crit(ntp_port: int) -> None:
    server = f"127.0.0.1:{ntp_port}"
    run = run_check("ntp", servers=[server], warn="2s", crit="2500ms", timeout="3s")
    assert run.code == 0, run.out
    assert "replied in" not in run.line  # the time is told when it is the reason
    assert " time=" in run.line and ";2;2.5;0;3" in run.line
    # No exchange over a real socket takes a nanosecond: the thresholds, not the load, decide.
    run = run_check("ntp", servers=[server], warn="0.000000001s", timeout="3s")
    assert run.code == 1, run.out
    assert ", stratum 8, replied in " in run.line
    assert run.line.split(" | ")[0].endswith(" ms (warning above 0.000001 ms)")
    run = run_check("ntp", servers=[server], warn="0.000000001s", crit="0.000000002s")
    assert run.code == 2, run.out
    assert "(critical above 0.000002 ms)" in run.line


def _late_ntp_reply(request: bytes) -> bytes:
    """A synchronised stratum-2 reply with honest timestamps, sent 0.3 s after the request."""
    received = time.time()
    time.sleep(0.3)
    sent = time.time()

    def stamp(seconds: float) -> bytes:
        whole = int(seconds)
        return struct.pack("!II", whole + 2208988800, int((seconds - whole) * 2**32))

    return (
        b"\x24\x02\x00\xec"
        + bytes(8)
        + b"GPS\0"
        + stamp(received)
        + request[40:48]
        + stamp(received)
        + stamp(sent)
    )


def test_a_slow_server_is_warning_and_its_offset_still_judged() -> None:
    with udp_server(_late_ntp_reply) as (port, _):
        run = run_check(
            "ntp",
            servers=[f"127.0.0.1:{port}"],
            warn="100ms",
            crit="2s",
            warn_offset="1s",
            timeout="3s",
        )
        assert run.code == 1, run.out
        assert run.line.startswith(f"NtpCheck WARNING: 127.0.0.1:{port} offset ")
        assert ", stratum 2, replied in " in run.line and "(warning above 100 ms)" in run.line
        assert "warning above 1000 ms" not in run.line  # the offset is within its threshold
        # Over an offset threshold too: the worse verdict, and both reasons.
        run = run_check(
            "ntp",
            servers=[f"127.0.0.1:{port}"],
            warn="100ms",
            crit_offset="0.000000001s",
            timeout="3s",
        )
        assert run.code == 2, run.out
        assert "(critical above 0.000001 ms), replied in " in run.line
        assert "(warning above 100 ms)" in run.line


def test_stratum_above_max_is_critical(ntp_port: int) -> None:
    run = run_check("ntp", servers=[f"127.0.0.1:{ntp_port}"], max_stratum=3, timeout="3s")
    assert run.code == 2, run.out
    assert "stratum 8: stratum above 3" in run.line


def test_unsynchronised_server_is_critical(unsynchronised_port: int) -> None:
    run = run_check("ntp", servers=[f"127.0.0.1:{unsynchronised_port}"], timeout="3s")
    assert run.code == 2, run.out
    assert f"127.0.0.1:{unsynchronised_port} is not synchronised (leap indicator 3" in run.line


def test_refused_server_is_critical_and_named() -> None:
    port = closed_udp_port()
    run = run_check("ntp", servers=[f"127.0.0.1:{port}"], timeout="2s")
    assert run.code == 2, run.out
    assert run.line == (
        f"NtpCheck CRITICAL: 127.0.0.1:{port} refused (ICMP port unreachable: no NTP server)"
    )


def test_silent_server_is_critical_within_timeout() -> None:
    with silent_udp_port() as port:
        run = run_check("ntp", servers=[f"127.0.0.1:{port}"], timeout="1s")
    assert run.code == 2, run.out
    assert f"127.0.0.1:{port} did not answer within 1s" in run.line


def test_each_server_is_judged_on_its_own(ntp_port: int) -> None:
    with silent_udp_port() as dead:
        run = run_check("ntp", servers=[f"127.0.0.1:{dead}", f"127.0.0.1:{ntp_port}"], timeout="1s")
    assert run.code == 2, run.out
    assert run.line.startswith(f"NtpCheck CRITICAL: 127.0.0.1:{dead} did not answer within 1s; ")
    assert f"127.0.0.1:{ntp_port} offset " in run.line and "(1 of 2 servers OK)" in run.line
    assert f"offset_127.0.0.1_{ntp_port}=" in run.line


def test_wrong_protocol_and_stray_replies_are_never_ok() -> None:
    # A server that answers with something other than an NTP reply to our request (a wrong
    # protocol, or a stale reply without our cookie) is not an answer: CRITICAL at timeout.
    with udp_server(lambda data: b"\x24" + bytes(47)) as (port, _):
        run = run_check("ntp", servers=[f"127.0.0.1:{port}"], timeout="1s")
    assert run.code == 2, run.out
    assert "did not answer within 1s" in run.line


def test_kiss_of_death_is_critical() -> None:
    # chronyd 4.3 cannot be made to send a kiss-o'-death (it drops what it rate-limits or
    # denies), so this one reply is built by hand: the request's cookie (its transmit
    # timestamp) echoed as the origin, stratum 0, reference id "DENY" (RFC 5905 7.4).
    def deny(request: bytes) -> bytes:
        return b"\xe4\x00\x00\x00" + bytes(8) + b"DENY" + bytes(8) + request[40:48] + bytes(16)

    with udp_server(deny) as (port, _):
        run = run_check("ntp", servers=[f"127.0.0.1:{port}"], timeout="2s")
    assert run.code == 2, run.out
    assert run.line == f"NtpCheck CRITICAL: 127.0.0.1:{port} sent a kiss-o'-death: DENY"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "the following arguments are required: --servers"),
        (["--servers", "ntp.invalid:99999"], "port must be 1-65535, got 99999"),
        (["--servers", "127.0.0.1", "--warn-offset", "soon"], "is not a duration"),
        (["--servers", "127.0.0.1", "--max-stratum", "-1"], "must be 0 or more"),
    ],
)
def test_bad_invocation_is_unknown_in_one_line(argv: list[str], expected: str) -> None:
    run = run_argv("check-mdd-ntp", *argv)
    assert run.code == 3, run.out
    assert run.out.count("\n") == 1, run.out
    assert run.line.startswith("NtpCheck UNKNOWN: ") and expected in run.line


def test_manifest_values_parse_back_from_the_command() -> None:
    values = load_values(
        "ntp",
        servers=["ntp1.example.net", "10.0.0.1:1123", "[2001:db8::1]:123"],
        warn_offset="100ms",
        crit_offset="1s",
        max_stratum=4,
        warn="500ms",
        crit="2s",
        timeout="5s",
    )
    assert check_ntp.validate(values) == []
    assert_round_trip("ntp", values)


def test_validate_rules() -> None:
    values = load_values("ntp", servers=["h"], warn_offset="2s", crit_offset="1s", max_stratum=16)
    assert check_ntp.validate(values) == [
        ("warn_offset", "warn_offset must not be more than crit_offset"),
        ("max_stratum", "max_stratum must be 1-15, got 16"),
    ]
    values = load_values("ntp", servers=["h"], warn="2s", crit="1s", timeout="1500ms")
    assert check_ntp.validate(values) == [
        ("warn", "warn must not be longer than crit"),
        ("warn", "'warn' must be shorter than the timeout (1.5s)"),
    ]
