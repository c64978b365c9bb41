"""The dns, ntp, ssh, udp, icmp and command checks for check_cost.py, each beside its C plugin.

Each OK path runs against a real server this module starts on 127.0.0.1: dnsmasq, chronyd
(``-x``: the system clock is never touched), OpenSSH's sshd with a throwaway host key, a UDP
echo socket, and the loopback itself for ping. A server whose binary is missing is skipped
with a note. The matching monitoring-plugins C plugin (check_dig, check_ntp_time, check_ssh,
check_udp, check_ping, check_tcp) runs against the same target, as a reference.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

PLUGINS = Path("/usr/lib/nagios/plugins")


def _free_port() -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port: int = udp.getsockname()[1]
            with socket.socket() as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


@contextmanager
def _daemon(argv: list[str], ready: Callable[[], bool]) -> Iterator[None]:
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 15
        while not ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{argv[0]} did not start")
            time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        proc.wait(10)


def _tcp_ready(port: int) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            return False
        return True

    return ready


def _udp_ready(port: int, request: bytes) -> Callable[[], bool]:
    def ready() -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.2)
            try:
                sock.sendto(request, ("127.0.0.1", port))
                return bool(sock.recv(512))
            except OSError:
                return False

    return ready


@contextmanager
def _udp_echo() -> Iterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(65536)
                sock.sendto(data, peer)
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        sock.close()


def _root() -> list[str]:
    return ["--user=root", "--group=root"] if os.geteuid() == 0 else []


def _c_plugin(subject: Callable[..., Any], name: str, *args: object) -> Any:
    path = PLUGINS / name
    if not os.access(path, os.X_OK):
        print(f"skipping {name}: {path} is not installed (monitoring-plugins)")
        return None
    return subject(f"{name} (C plugin)", [str(path), *map(str, args)])


def net_subjects(
    stack: ExitStack, workdir: Path, check_subject: Callable[..., Any], subject: Callable[..., Any]
) -> list[Any]:
    """Subjects (``check_subject(label, type, values)`` / ``subject(label, argv)``) for each
    network type's OK path and its C plugin, with their servers entered into ``stack``."""
    found: list[Any] = []

    if os.access("/usr/sbin/dnsmasq", os.X_OK):
        port = _free_port()
        stack.enter_context(
            _daemon(
                [
                    "/usr/sbin/dnsmasq",
                    "--keep-in-foreground",
                    "--no-daemon",
                    f"--port={port}",
                    "--listen-address=127.0.0.1",
                    "--bind-interfaces",
                    "--no-resolv",
                    "--no-hosts",
                    "--conf-file=/dev/null",
                    "--pid-file",
                    *_root(),
                    "--host-record=www.bench.example,10.1.1.1",
                ],
                _tcp_ready(port),
            )
        )
        found.append(
            check_subject(
                "check-mdd-dns (A, 1 server)",
                "dns",
                {
                    "query": "www.bench.example",
                    "servers": [f"127.0.0.1:{port}"],
                    "answers": ["10.1.1.1"],
                    "timeout": "5s",
                },
            )
        )
        if shutil.which("dig"):
            found.append(
                _c_plugin(
                    subject,
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
            )
    else:
        print("skipping check-mdd-dns: dnsmasq is not installed")

    if os.access("/usr/sbin/chronyd", os.X_OK):
        port = _free_port()
        folder = workdir / "chrony"
        folder.mkdir()
        conf = folder / "chrony.conf"
        conf.write_text(
            f"port {port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\ncmdport 0\n"
            f"local stratum 8\ndriftfile {folder / 'drift'}\npidfile {folder / 'pid'}\n"
        )
        argv = ["/usr/sbin/chronyd", "-d", "-x", "-f", str(conf)]
        if os.geteuid() == 0:
            argv.insert(1, "-U")
        stack.enter_context(_daemon(argv, _udp_ready(port, b"\x23" + bytes(47))))
        found.append(
            check_subject(
                "check-mdd-ntp (1 server)",
                "ntp",
                {"servers": [f"127.0.0.1:{port}"], "crit_offset": "1s", "timeout": "5s"},
            )
        )
        found.append(_c_plugin(subject, "check_ntp_time", "-H", "127.0.0.1", "-p", port))
    else:
        print("skipping check-mdd-ntp: chronyd is not installed")

    keygen = shutil.which("ssh-keygen")
    if os.access("/usr/sbin/sshd", os.X_OK) and keygen:
        port = _free_port()
        folder = workdir / "sshd"
        folder.mkdir()
        key = folder / "host_key"
        subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        config = folder / "sshd_config"
        config.write_text(
            f"ListenAddress 127.0.0.1\nHostKey {key}\nPidFile {folder / 'pid'}\nUsePAM no\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        )
        Path("/run/sshd").mkdir(exist_ok=True)
        stack.enter_context(
            _daemon(["/usr/sbin/sshd", "-D", "-f", str(config), "-p", str(port)], _tcp_ready(port))
        )
        found.append(
            check_subject(
                "check-mdd-ssh (OpenSSH)",
                "ssh",
                {"host": "127.0.0.1", "port": port, "expect": "OpenSSH", "timeout": "5s"},
            )
        )
        found.append(_c_plugin(subject, "check_ssh", "-H", "127.0.0.1", "-p", port))
    else:
        print("skipping check-mdd-ssh: sshd or ssh-keygen is not installed")

    port = stack.enter_context(_udp_echo())
    found.append(
        check_subject(
            "check-mdd-udp (echo)",
            "udp",
            {"host": "127.0.0.1", "port": port, "send": "PING\\n", "expect": "PING"},
        )
    )
    found.append(
        _c_plugin(subject, "check_udp", "-H", "127.0.0.1", "-p", port, "-s", "PING", "-e", "PING")
    )

    if shutil.which("ping"):
        found.append(
            check_subject("check-mdd-icmp (1 ping)", "icmp", {"host": "127.0.0.1", "count": 1})
        )
        found.append(
            _c_plugin(
                subject, "check_ping", "-H", "127.0.0.1", "-w", "100,20%", "-c", "200,50%", "-p", 1
            )
        )
    else:
        print("skipping check-mdd-icmp: ping is not installed")

    dummy = PLUGINS / "check_dummy"
    if os.access(dummy, os.X_OK):
        found.append(
            check_subject(
                "check-mdd-command (check_dummy)", "command", {"command": [str(dummy), "0", "up"]}
            )
        )
        found.append(_c_plugin(subject, "check_dummy", 0, "up"))
    return found
