"""The dns, ntp, ssh, udp, icmp and command checks for check_cost.py, each beside its C plugin.

Each OK path runs against a real server on 127.0.0.1, the very ones the tests use
(tests/checks/net_servers.py): dnsmasq, chronyd (``-x``: the system clock is never touched),
OpenSSH's sshd with a throwaway host key, a UDP echo socket, and the loopback itself for
ping. A server whose binary is missing is skipped with a note. The matching
monitoring-plugins C plugin (check_dig, check_ntp_time, check_ssh, check_udp, check_ping,
check_dummy) runs against the same target, as a reference.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path

import pytest  # the servers report a missing binary as a pytest skip
from _measure import Subject, check_subject  # first: it puts tests/ on sys.path

from tests.checks.net_servers import chronyd, dnsmasq, sshd, udp_server

PLUGINS = Path("/usr/lib/nagios/plugins")


def _started(stack: ExitStack, server: AbstractContextManager[int], what: str) -> int | None:
    """The port of ``server``, entered into ``stack``; None (with a note) when it is missing."""
    try:
        return stack.enter_context(server)
    except (pytest.skip.Exception, pytest.fail.Exception) as exc:
        print(f"skipping {what}: {exc}")
        return None


def _c_plugin(name: str, *args: object) -> Subject | None:
    path = PLUGINS / name
    if not os.access(path, os.X_OK):
        print(f"skipping {name}: {path} is not installed (monitoring-plugins)")
        return None
    return Subject(f"{name} (C plugin)", [str(path), *map(str, args)])


def _echo(stack: ExitStack) -> int:
    port: int = stack.enter_context(udp_server(lambda data: data))[0]
    return port


def net_subjects(stack: ExitStack, workdir: Path, bin_dir: Path) -> Iterator[Subject | None]:
    """Subjects for each network type's OK path (the check in ``bin_dir``) and its C plugin,
    with their servers entered into ``stack``."""
    port = _started(stack, dnsmasq("--host-record=www.bench.example,10.1.1.1"), "check-mdd-dns")
    if port is not None:
        yield check_subject(
            "check-mdd-dns (A, 1 server)",
            "dns",
            {
                "query": "www.bench.example",
                "servers": [f"127.0.0.1:{port}"],
                "answers": ["10.1.1.1"],
                "timeout": "5s",
            },
            bin_dir,
        )
        if shutil.which("dig"):
            yield _c_plugin(
                "check_dig",
                "-H",
                "127.0.0.1",
                "-p",
                port,
                "-l",
                "www.bench.example",
                "-a",
                "10.1.1.1",
            )

    port = _started(stack, chronyd(workdir / "chrony"), "check-mdd-ntp")
    if port is not None:
        yield check_subject(
            "check-mdd-ntp (1 server)",
            "ntp",
            {"servers": [f"127.0.0.1:{port}"], "crit_offset": "1s", "timeout": "5s"},
            bin_dir,
        )
        yield _c_plugin("check_ntp_time", "-H", "127.0.0.1", "-p", port)

    port = _started(stack, sshd(workdir / "sshd"), "check-mdd-ssh")
    if port is not None:
        yield check_subject(
            "check-mdd-ssh (OpenSSH)",
            "ssh",
            {"host": "127.0.0.1", "port": port, "expect": "OpenSSH", "timeout": "5s"},
            bin_dir,
        )
        yield _c_plugin("check_ssh", "-H", "127.0.0.1", "-p", port)

    port = _echo(stack)
    yield check_subject(
        "check-mdd-udp (echo)",
        "udp",
        {"host": "127.0.0.1", "port": port, "send": "PING\\n", "expect": "PING"},
        bin_dir,
    )
    yield _c_plugin("check_udp", "-H", "127.0.0.1", "-p", port, "-s", "PING", "-e", "PING")

    if shutil.which("ping"):
        yield check_subject(
            "check-mdd-icmp (1 ping)", "icmp", {"host": "127.0.0.1", "count": 1}, bin_dir
        )
        yield _c_plugin("check_ping", "-H", "127.0.0.1", "-w", "100,20%", "-c", "200,50%", "-p", 1)
    else:
        print("skipping check-mdd-icmp: ping is not installed")

    dummy = PLUGINS / "check_dummy"
    if os.access(dummy, os.X_OK):
        yield check_subject(
            "check-mdd-command (check_dummy)",
            "command",
            {"command": [str(dummy), "0", "up"]},
            bin_dir,
        )
        yield _c_plugin("check_dummy", 0, "up")
