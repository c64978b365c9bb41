"""Shared fixtures: real servers on loopback, and checks run exactly as Sensu runs them."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mdd.checks.registry import CHECK_TYPES
from mdd.command import check_command

# Console scripts (check-mdd-*) live next to the interpreter running the tests.
BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent


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


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A loopback port whose connection attempts hang: the listen backlog is full.

    Linux drops further SYNs while the accept queue is full, so a connect() neither
    succeeds nor is refused until its timeout: what a firewall that drops packets looks like.
    """
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(8):
        client = socket.socket()
        client.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            client.connect(("127.0.0.1", port))
        fillers.append(client)
    yield port
    for client in fillers:
        client.close()
    server.close()


@pytest.fixture(scope="session")
def ca() -> Any:
    """A throwaway certificate authority (trustme) for TLS servers on loopback."""
    import trustme

    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The throwaway CA's certificate as a PEM file, for the checks' ca_file option."""
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)
