"""check-mdd-icmp, run as Sensu runs it: the system ping against loopback only.

The failure cases run the check inside a new network namespace (``unshare -n``), where the
loopback is down (the network is unreachable) or ignores ICMP echo (every ping is lost):
real pings, real kernel, and nothing ever leaves the machine.
"""

from __future__ import annotations

import shlex
import shutil

import pytest

from mdd.checks import check_icmp
from mdd.core.command import check_command
from tests.conftest import BIN, load_values, run_argv, run_check, run_command, server_missing
from tests.test_contract import assert_round_trip


def _need_ping() -> None:
    if shutil.which("ping") is None:
        server_missing("ping (Debian package iputils-ping)")


def _in_namespace(script: str, **manifest: object):  # type: ignore[no-untyped-def]
    """Run the check in a new network namespace after ``script`` (as root there)."""
    if shutil.which("unshare") is None:
        server_missing("unshare (util-linux)")
    probe = run_command("unshare -rn true")
    if probe.code != 0:
        server_missing(f"network namespaces (unshare -rn: {probe.line})")
    command = check_command("icmp", load_values("icmp", **manifest))
    inner = f"{script}{command}"
    return run_command(f"unshare -rn /bin/sh -c {shlex.quote(inner)}")


def test_loopback_answers_ok() -> None:
    _need_ping()
    run = run_check(
        "icmp", point="gw", host="127.0.0.1", count=3, timeout="5s", crit_loss="20%", warn_rtt="1s"
    )
    assert run.code == 0, run.out
    assert run.line.startswith(
        "IcmpCheck OK: gw: 127.0.0.1 answered 3 of 3 pings (0% loss), rtt avg"
    )
    assert "| rtt=" in run.line and "loss=0%;;20;0;100" in run.line


def test_ipv6_loopback() -> None:
    _need_ping()
    run = run_check("icmp", host="::1", count=2, timeout="5s")
    assert run.code == 0, run.out


def test_rtt_over_warn_is_warning_and_over_crit_critical() -> None:
    _need_ping()
    run = run_check("icmp", host="127.0.0.1", count=2, warn_rtt="0.000001s")
    assert run.code == 1, run.out
    assert "(rtt warning above 0.001 ms)" in run.line
    run = run_check("icmp", host="127.0.0.1", count=2, warn_rtt="0.000001s", crit_rtt="0.000002s")
    assert run.code == 2, run.out
    assert "(rtt critical above 0.002 ms)" in run.line


def test_unreachable_network_is_critical() -> None:
    _need_ping()
    run = _in_namespace("", host="127.0.0.1", count=2, timeout="2s")  # loopback is down
    assert run.code == 2, run.out
    assert run.line == "IcmpCheck CRITICAL: ping 127.0.0.1: connect: Network is unreachable"


def test_host_that_never_answers_is_critical() -> None:
    _need_ping()
    ignore = "ip link set lo up && echo 1 > /proc/sys/net/ipv4/icmp_echo_ignore_all && "
    run = _in_namespace(ignore, host="127.0.0.1", count=3, timeout="2s")
    assert run.code == 2, run.out
    assert run.line.startswith("IcmpCheck CRITICAL: 127.0.0.1 did not answer any of 3 pings")
    # and a deadline shorter than the pings: interrupted, never OK, still one line
    run = _in_namespace(ignore, host="127.0.0.1", count=20, timeout="1s")
    assert run.code == 2, run.out
    assert run.out.count("\n") == 1 and "100% loss" in run.line


def test_ping_missing_is_unknown() -> None:
    command = check_command("icmp", load_values("icmp", host="127.0.0.1"))
    run = run_command(f"PATH={shlex.quote(str(BIN))} {command}")  # no ping on this PATH
    assert run.code == 3, run.out
    assert (
        run.line == "IcmpCheck UNKNOWN: ping is not installed on the agent (package iputils-ping)"
    )


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "the following arguments are required: --host"),
        (["--host", "127.0.0.1", "--crit-loss", "120%"], "a percentage is 0-100, got 120"),
        (["--host", "127.0.0.1", "--warn-loss", "lots"], "is not a percentage"),
        (["--host", "127.0.0.1", "--count", "x"], "expected a whole number"),
    ],
)
def test_bad_invocation_is_unknown_in_one_line(argv: list[str], expected: str) -> None:
    run = run_argv("check-mdd-icmp", *argv)
    assert run.code == 3, run.out
    assert run.out.count("\n") == 1, run.out
    assert run.line.startswith("IcmpCheck UNKNOWN: ") and expected in run.line


def test_manifest_values_parse_back_from_the_command() -> None:
    values = load_values(
        "icmp",
        host="gw.example.net",
        count=10,
        warn_rtt="20ms",
        crit_rtt="50ms",
        warn_loss=10,
        crit_loss="20%",
        timeout="5s",
    )
    assert values["warn_loss"] == 10.0 and values["crit_loss"] == 20.0
    assert check_icmp.validate(values) == []
    assert_round_trip("icmp", values)


def test_validate_rules() -> None:
    values = load_values("icmp", host="h", warn_loss="50%", crit_loss="20%")
    problems = check_icmp.validate(values)
    assert ("warn_loss", "warn_loss must not be more than crit_loss") in problems
    with pytest.raises(ValueError, match="must be 1-100, got 200"):  # at the option
        load_values("icmp", host="h", count=200)
    values = load_values("icmp", host="h", count=60, timeout="5s")
    assert check_icmp.validate(values)[0][0] == "count"


@pytest.mark.parametrize("count", ["0", "101", "-1"])
def test_a_count_out_of_range_is_refused_on_the_command_line(count: str) -> None:
    """Issue 18: --count 0 said OK "answered 1 of 1 pings"."""
    run = run_argv("check-mdd-icmp", "--host", "127.0.0.1", "--count", count)
    assert run.code == 3, run.out
    assert "answered" not in run.line and "--count" in run.line, run.line


def test_a_count_of_0_is_refused_by_the_manifest() -> None:
    with pytest.raises(ValueError, match="must be 1-100, got 0"):
        check_icmp.PINGS.load(0)
    assert check_icmp.PINGS.load(1) == 1
