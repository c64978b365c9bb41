"""mdd's verdict beside the C plugin's (monitoring-plugins), on the same loopback targets.

For the dns, ntp, ssh, udp, icmp and command types, each case runs the mdd check and the
matching C plugin against the same real server, in a good and in a bad case, and compares
the colour: green (OK) or not. Where the C plugin picks another severity for the same fault,
the test says so and checks that severity, so a change on either side shows:

* check_dig: a wrong answer is WARNING; mdd says CRITICAL (the point is not delivered).
* check_udp: a reply that does not match is WARNING (its ``-M`` default); mdd says CRITICAL.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mdd.core.command import check_command
from tests.checks.net_servers import (
    chronyd,
    closed_udp_port,
    dnsmasq,
    ipv6_loopback,
    sshd,
    udp_server,
)
from tests.conftest import accepting, load_values, run_check, run_command, server_missing

pytestmark = pytest.mark.slow  # see CONTRIBUTING.md: run in CI, skipped while iterating

PLUGINS = Path("/usr/lib/nagios/plugins")


def plugin(name: str, *args: object) -> int:
    """The exit status of a C plugin run with ``args``."""
    path = PLUGINS / name
    if not os.access(path, os.X_OK):
        server_missing(f"{path} (Debian package monitoring-plugins-basic/-standard)")
    proc = subprocess.run(
        [str(path), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    return proc.returncode


# --------------------------------------------------------------------------- dns / check_dig


@pytest.fixture(scope="module")
def dns_port() -> Iterator[int]:
    with dnsmasq("--local=/test.example/", "--host-record=www.test.example,10.1.1.1") as port:
        yield port


def _dig(port: int, *args: object) -> int:
    if shutil.which("dig") is None:
        server_missing("dig, which check_dig runs (Debian package bind9-dnsutils)")
    return plugin("check_dig", "-H", "127.0.0.1", "-p", port, "-t", 3, *args)


def test_dns_agrees_with_check_dig(dns_port: int) -> None:
    server = [f"127.0.0.1:{dns_port}"]
    good = run_check("dns", servers=server, query="www.test.example", answers=["10.1.1.1"])
    assert good.code == 0 and _dig(dns_port, "-l", "www.test.example", "-a", "10.1.1.1") == 0
    wrong = run_check("dns", servers=server, query="www.test.example", answers=["10.1.1.9"])
    assert wrong.code == 2, wrong.out
    assert _dig(dns_port, "-l", "www.test.example", "-a", "10.1.1.9") == 1  # WARNING there
    missing = run_check("dns", servers=server, query="gone.test.example", timeout="3s")
    assert missing.code == 2, missing.out
    assert _dig(dns_port, "-l", "gone.test.example", "-a", "10.1.1.1") != 0


# --------------------------------------------------------------------------- ntp / check_ntp_time


def test_ntp_agrees_with_check_ntp_time(tmp_path: Path) -> None:
    with chronyd(tmp_path / "good", local_stratum=8) as port:
        good = run_check("ntp", servers=[f"127.0.0.1:{port}"], crit_offset="1s", timeout="3s")
        assert good.code == 0, good.out
        assert plugin("check_ntp_time", "-H", "127.0.0.1", "-p", port, "-c", 1, "-t", 3) == 0
    with chronyd(tmp_path / "unsync", local_stratum=None) as port:
        bad = run_check("ntp", servers=[f"127.0.0.1:{port}"], timeout="3s")
        assert bad.code == 2, bad.out
        assert plugin("check_ntp_time", "-H", "127.0.0.1", "-p", port, "-t", 3) == 2
    closed = closed_udp_port()
    assert run_check("ntp", servers=[f"127.0.0.1:{closed}"], timeout="2s").code == 2
    assert plugin("check_ntp_time", "-H", "127.0.0.1", "-p", closed, "-t", 2) == 2


# --------------------------------------------------------------------------- ssh / check_ssh


def test_ssh_agrees_with_check_ssh(tmp_path: Path, closed_port: int) -> None:
    with sshd(tmp_path / "sshd") as port:
        assert run_check("ssh", host="127.0.0.1", port=port, timeout="3s").code == 0
        assert plugin("check_ssh", "-H", "127.0.0.1", "-p", port, "-t", 3) == 0

    def smtp(conn: socket.socket) -> None:
        conn.sendall(b"220 mail.test ESMTP\r\n")
        conn.recv(100)

    with accepting(smtp, threaded=True) as port:
        mdd = run_check("ssh", host="127.0.0.1", port=port, timeout="2s")
        assert mdd.code == 2, mdd.out
        assert plugin("check_ssh", "-H", "127.0.0.1", "-p", port, "-t", 2) == 2
    assert run_check("ssh", host="127.0.0.1", port=closed_port).code == 2
    assert plugin("check_ssh", "-H", "127.0.0.1", "-p", closed_port) == 2


# --------------------------------------------------------------------------- udp / check_udp


def test_udp_agrees_with_check_udp() -> None:
    with udp_server(lambda data: b"PONG\n" if data.startswith(b"PING") else b"ERR\n") as (port, _):
        good = run_check("udp", host="127.0.0.1", port=port, send="PING", expect="PONG")
        assert good.code == 0, good.out
        assert plugin("check_udp", "-H", "127.0.0.1", "-p", port, "-s", "PING", "-e", "PONG") == 0
        wrong = run_check("udp", host="127.0.0.1", port=port, send="HELLO", expect="PONG")
        assert wrong.code == 2, wrong.out
        c_wrong = plugin("check_udp", "-H", "127.0.0.1", "-p", port, "-s", "HELLO", "-e", "PONG")
        assert c_wrong == 1  # WARNING there (-M warn is its default)
    closed = closed_udp_port()
    assert run_check("udp", host="127.0.0.1", port=closed, send="PING", timeout="2s").code == 2
    assert (
        plugin("check_udp", "-H", "127.0.0.1", "-p", closed, "-s", "PING", "-e", "PONG", "-t", 2)
        == 2
    )


def _late_pong(data: bytes) -> bytes:
    time.sleep(0.3)
    return b"PONG\n"


def test_udp_slow_reply_and_ipv6_agree_with_check_udp() -> None:
    # A reply that takes 0.3 s is over a 100 ms warning threshold, for both: WARNING.
    with udp_server(_late_pong) as (port, _):
        slow = run_check(
            "udp", host="127.0.0.1", port=port, send="PING", expect="PONG", warn="100ms"
        )
        assert slow.code == 1, slow.out
        c_slow = plugin(
            "check_udp", "-H", "127.0.0.1", "-p", port, "-s", "PING", "-e", "PONG", "-w", 0.1
        )
        assert c_slow == 1
    if not ipv6_loopback():
        pytest.skip("::1 cannot be bound here")
    with udp_server(lambda _: b"PONG\n", "::1") as (port, _):
        good = run_check("udp", host="::1", port=port, send="PING", expect="PONG")
        assert good.code == 0, good.out
        assert plugin("check_udp", "-6", "-H", "::1", "-p", port, "-s", "PING", "-e", "PONG") == 0


# --------------------------------------------------------------------------- icmp / check_ping


def test_icmp_agrees_with_check_ping() -> None:
    thresholds = ("-w", "100,20%", "-c", "200,50%", "-p", 3, "-t", 5)
    good = run_check("icmp", host="127.0.0.1", count=3, crit_loss="50%", crit_rtt="200ms")
    assert good.code == 0, good.out
    assert plugin("check_ping", "-H", "127.0.0.1", *thresholds) == 0
    # The bad case: a network namespace whose loopback is down (nothing leaves the machine).
    if run_command("unshare -rn true").code != 0:
        server_missing("network namespaces (unshare -rn)")
    mdd = check_command("icmp", load_values("icmp", host="127.0.0.1", count=3, timeout="3s"))
    c_plugin = shlex.join([str(PLUGINS / "check_ping"), "-H", "127.0.0.1", *map(str, thresholds)])
    assert run_command(f"unshare -rn {mdd}").code == 2
    assert run_command(f"unshare -rn {c_plugin}").code == 2


# --------------------------------------------------------------------------- command / check_tcp


def test_command_gives_the_plugins_own_verdict(silent_port: int, closed_port: int) -> None:
    for port in (silent_port, closed_port):
        argv = [str(PLUGINS / "check_tcp"), "-H", "127.0.0.1", "-p", str(port)]
        assert run_check("command", command=argv).code == plugin("check_tcp", *argv[1:])
    assert run_check("tcp", host="127.0.0.1", port=silent_port).code == 0
    assert run_check("tcp", host="127.0.0.1", port=closed_port).code == 2
