"""Real network servers on loopback for the dns, ntp, ssh and udp checks' tests.

Each one is the real daemon (dnsmasq, chronyd, sshd) started in the foreground on an
ephemeral 127.0.0.1 port, with its files in a temporary folder, and stopped afterwards; a
missing binary goes through ``server_missing`` (skipped locally, a failure in CI). The UDP
echo server and the silent UDP port are plain sockets: they are the thing under test for udp.
"""

from __future__ import annotations

import collections
import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.conftest import server_missing

DNSMASQ = "/usr/sbin/dnsmasq"
CHRONYD = "/usr/sbin/chronyd"
SSHD = "/usr/sbin/sshd"


def free_port() -> int:
    """A loopback port free for both UDP and TCP (at the moment of asking)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port: int = udp.getsockname()[1]
            with socket.socket() as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no loopback port free for both UDP and TCP")


def _drain(proc: subprocess.Popen[bytes], tail: collections.deque[bytes]) -> threading.Thread:
    """Read the daemon's output as it comes, keeping its last lines: a pipe nobody reads
    fills up (64 KiB) and then blocks a daemon that logs every connection (sshd -e), as in
    a benchmark's hundreds of runs."""

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            tail.append(line)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def _wait_until(
    ready: Callable[[], bool],
    proc: subprocess.Popen[bytes],
    what: str,
    tail: collections.deque[bytes],
    reader: threading.Thread,
) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            reader.join(5)
            out = b"".join(tail).decode(errors="replace")
            raise RuntimeError(f"{what} exited with status {proc.returncode}: {out[-2000:]}")
        if ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up within 15s")


def _tcp_ready(port: int) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            return False
        return True

    return ready


@contextlib.contextmanager
def _running(
    argv: list[str], ready: Callable[[int], Callable[[], bool]], port: int, what: str
) -> Iterator[int]:
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    tail: collections.deque[bytes] = collections.deque(maxlen=50)
    reader = _drain(proc, tail)
    try:
        _wait_until(ready(port), proc, what, tail, reader)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(5)
        if proc.stdout:
            proc.stdout.close()


# --------------------------------------------------------------------------- dnsmasq


def dnsmasq_available() -> None:
    if not os.access(DNSMASQ, os.X_OK):
        server_missing(f"dnsmasq ({DNSMASQ}, Debian package dnsmasq-base)")


@contextlib.contextmanager
def dnsmasq(*records: str) -> Iterator[int]:
    """dnsmasq answering on 127.0.0.1 (UDP and TCP) with ``records`` (its own options, such
    as ``--host-record=www.test.example,10.1.1.1``). Yields the port."""
    dnsmasq_available()
    port = free_port()
    argv = [
        DNSMASQ,
        "--keep-in-foreground",
        "--no-daemon",
        f"--port={port}",
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--no-resolv",
        "--no-hosts",
        "--conf-file=/dev/null",
        "--pid-file",
        "--log-facility=-",
        *(["--user=root", "--group=root"] if os.geteuid() == 0 else []),
        *records,
    ]
    with _running(argv, _tcp_ready, port, "dnsmasq") as ready_port:
        yield ready_port


# --------------------------------------------------------------------------- chronyd


def _ntp_ready(port: int) -> Callable[[], bool]:
    def ready() -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.2)
            try:
                sock.sendto(b"\x23" + bytes(47), ("127.0.0.1", port))
                return len(sock.recv(512)) >= 48
            except OSError:
                return False

    return ready


@contextlib.contextmanager
def chronyd(directory: Path, local_stratum: int | None = 8) -> Iterator[int]:
    """chronyd serving NTP on 127.0.0.1 without touching the system clock (``-x``).

    ``local_stratum``: serve the local clock at that stratum; ``None``: no time source at
    all, so chronyd answers as an unsynchronised server. Yields the port.
    """
    if not os.access(CHRONYD, os.X_OK):
        server_missing(f"chronyd ({CHRONYD}, Debian package chrony)")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = directory / "chrony.conf"
    lines = [
        f"port {port}",
        "bindaddress 127.0.0.1",
        "allow 127.0.0.1",
        "cmdport 0",
        f"driftfile {directory / 'drift'}",
        f"pidfile {directory / 'chronyd.pid'}",
    ]
    if local_stratum is not None:
        lines.append(f"local stratum {local_stratum}")
    conf.write_text("\n".join(lines) + "\n")
    # -x: never adjust the system clock; -d: stay in the foreground, log to stderr;
    # -U: do not drop root privileges (the test runner may be root, with no _chrony user).
    argv = [CHRONYD, "-d", "-x", "-f", str(conf)]
    if os.geteuid() == 0:
        argv.insert(1, "-U")
    with _running(argv, _ntp_ready, port, "chronyd") as ready_port:
        yield ready_port


# --------------------------------------------------------------------------- sshd


@contextlib.contextmanager
def sshd(directory: Path) -> Iterator[int]:
    """OpenSSH's sshd on 127.0.0.1 with throwaway host keys; nobody can log in. Yields the
    port."""
    keygen = shutil.which("ssh-keygen")
    if not os.access(SSHD, os.X_OK) or keygen is None:
        server_missing(f"sshd ({SSHD}) and ssh-keygen (Debian package openssh-server)")
    assert keygen is not None
    directory.mkdir(parents=True, exist_ok=True)
    key = directory / "ssh_host_ed25519_key"
    if not key.exists():
        subprocess.run(
            [keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
            check=True,
            stdin=subprocess.DEVNULL,
        )
    Path("/run/sshd").mkdir(exist_ok=True)  # its privilege separation folder
    port = free_port()
    config = directory / "sshd_config"
    config.write_text(
        f"ListenAddress 127.0.0.1\nHostKey {key}\nPidFile {directory / 'sshd.pid'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication no\n"
        "UsePAM no\nAuthorizedKeysFile none\n"
    )
    argv = [SSHD, "-D", "-e", "-f", str(config), "-p", str(port)]
    with _running(argv, _tcp_ready, port, "sshd") as ready_port:
        yield ready_port


# --------------------------------------------------------------------------- UDP


@contextlib.contextmanager
def udp_server(
    answer: Callable[[bytes], bytes | None], address: str = "127.0.0.1", port: int = 0
) -> Iterator[tuple[int, list[bytes]]]:
    """A UDP server on ``address`` (127.0.0.1 or ::1) that replies ``answer(datagram)``
    (nothing for ``None``), on ``port`` (any free one for 0).

    Yields the port and the list of datagrams received."""
    sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, port))
    sock.settimeout(0.05)
    received: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            received.append(data)
            reply = answer(data)
            if reply is not None:
                with contextlib.suppress(OSError):
                    sock.sendto(reply, peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1], received
    finally:
        stop.set()
        thread.join(5)
        sock.close()


@contextlib.contextmanager
def silent_udp_port(address: str = "127.0.0.1", port: int = 0) -> Iterator[int]:
    """A bound UDP port on ``address`` that never replies (no ICMP error either)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.bind((address, port))
        yield sock.getsockname()[1]


def ipv6_loopback() -> bool:
    """Whether ::1 can be bound here (a container may have IPv6 off)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def free_udp_port_v4_v6() -> int:
    """A UDP port free on both 127.0.0.1 and ::1 (at the moment of asking)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port: int = udp.getsockname()[1]
            with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as udp6:
                try:
                    udp6.bind(("::1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no UDP port free on both 127.0.0.1 and ::1")


def closed_udp_port() -> int:
    """A loopback UDP port with nothing bound: datagrams get ICMP port unreachable."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
