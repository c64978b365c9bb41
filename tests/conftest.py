"""Shared fixtures: real servers on loopback, and checks run exactly as Sensu runs them."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mdd.checks.registry import CHECK_TYPES
from mdd.core.command import check_command

# Console scripts (check-mdd-*) live next to the interpreter running the tests.
BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent


REQUIRE_SERVERS = bool(os.environ.get("MDD_REQUIRE_SERVERS"))  # set by .ci/run

# Property tests (hypothesis): exploring while developing, the same examples in CI. A new
# example found on a developer's machine is a finding to fix there (hypothesis keeps it in
# .hypothesis/ and replays it first); CI, which decides whether a change lands, must give the
# same verdict twice for the same commit. .ci/run sets MDD_REQUIRE_SERVERS.
if REQUIRE_SERVERS:
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, database=None)
    settings.load_profile("ci")


def server_missing(what: str) -> None:
    """A server a test needs is not there: skip while developing, fail in CI.

    ``.ci/run`` installs and starts every server the suite uses, so in CI a missing one is a
    broken install, never a reason to pass.
    """
    message = f"{what} is not available"
    if REQUIRE_SERVERS:
        pytest.fail(message + " (MDD_REQUIRE_SERVERS is set: .ci/run should provide it)")
    pytest.skip(message)


@dataclass
class CheckRun:
    code: int
    out: str  # stdout and stderr merged, as Sensu merges them
    command: str

    @property
    def line(self) -> str:
        return self.out.strip()


def load_values(check_type: str, **manifest: Any) -> dict[str, Any]:
    """Manifest values -> canonical values, through the check type's own option declarations."""
    options = {opt.name: opt for opt in CHECK_TYPES[check_type].OPTIONS}
    return {name: options[name].load(value) for name, value in manifest.items()}


def run_command(command: str, timeout: float = 60) -> CheckRun:
    """Run a command line the way the Sensu agent does: /bin/sh -c, output merged."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run(
        ["/bin/sh", "-c", command],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    return CheckRun(proc.returncode, proc.stdout, command)


_MEASURED = (
    "import json, resource, subprocess, sys, time\n"
    "start = time.monotonic()\n"
    "p = subprocess.run(['/bin/sh', '-c', sys.argv[1]], stdout=subprocess.PIPE,\n"
    "    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=float(sys.argv[2]))\n"
    "print(json.dumps([p.returncode, p.stdout.decode('utf-8', 'surrogateescape'),\n"
    "    resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.monotonic() - start]))\n"
)


@dataclass(frozen=True)
class MeasuredRun:
    """A check run and what it cost: its own peak RSS (KiB) and wall seconds."""

    code: int
    output: str
    peak_kib: int
    seconds: float


def run_measured(command: str, timeout: float = 60) -> MeasuredRun:
    """``run_command`` from a wrapper process of its own, whose only child is the check: the
    peak RSS it reports is the check's alone, whatever this test process ran before."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURED, command, str(timeout)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout + 10,
    )
    assert proc.returncode == 0, f"the check did not end within {timeout}s: {proc.stderr[-500:]}"
    code, output, peak, seconds = json.loads(proc.stdout)
    return MeasuredRun(code, output, peak, seconds)


def run_check(check_type: str, point: str | None = None, **manifest: Any) -> CheckRun:
    """Run a bundled check with manifest-style options, through the generated command."""
    command = check_command(check_type, load_values(check_type, **manifest), point)
    return run_command(command)


def run_argv(*argv: str) -> CheckRun:
    """Run a check with a hand-written argv (for malformed invocations)."""
    import shlex

    return run_command(shlex.join(argv))


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening: connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections but never says or reads anything."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server.getsockname()[1]
    server.close()


@contextlib.contextmanager
def hanging(port: int = 0, host: str = "127.0.0.1") -> Iterator[int]:
    """A loopback port whose connection attempts hang: its listen backlog is full.

    Linux drops further SYNs while the accept queue is full, so a connect() neither
    succeeds nor is refused until its timeout: what a firewall that drops packets looks like.
    Yields the port (``port=0``: one the OS picks); raises ``OSError`` when it is taken.
    """
    server = socket.socket()
    fillers = []
    try:
        server.bind((host, port))
        server.listen(0)
        port = server.getsockname()[1]
        for _ in range(8):
            client = socket.socket()
            client.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                client.connect((host, port))
            fillers.append(client)
        yield port
    finally:
        for client in fillers:
            client.close()
        server.close()


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A loopback port whose connection attempts hang (see ``hanging``)."""
    with hanging() as port:
        yield port


@contextlib.contextmanager
def accepting(
    handle: Callable[[socket.socket], None], *, threaded: bool = False, backlog: int = 8
) -> Iterator[int]:
    """A TCP server on 127.0.0.1 that passes every connection to ``handle`` and closes it
    afterwards; ``threaded``: each connection in its own thread; ``backlog``: connections
    the kernel queues before it drops SYNs (benchmarks/verify_scale.py connects 1,000 at
    once). Yields the port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(backlog)
    listener.settimeout(0.05)
    stop = threading.Event()

    def handle_and_close(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):  # OSError: the client went away
            handle(conn)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if threaded:
                threading.Thread(target=handle_and_close, args=(conn,), daemon=True).start()
            else:
                handle_and_close(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(10)
        listener.close()


@pytest.fixture(scope="session")
def ca() -> Any:
    """A throwaway certificate authority (trustme) for TLS servers on loopback."""
    import trustme

    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The throwaway CA's certificate as a PEM file, for the checks' ca_file option."""
    return write_ca_file(ca, tmp_path_factory, "ca")


def write_ca_file(ca: Any, tmp_path_factory: pytest.TempPathFactory, name: str) -> str:
    """A trustme CA's certificate written as a PEM file; its path."""
    path = tmp_path_factory.mktemp(name) / f"{name}.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)
