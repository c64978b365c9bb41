"""Host names with several addresses, for the checks' tests.

``localhost`` is the only name the tests may resolve, and here it has one address. A
sitecustomize makes the checks started afterwards resolve it to chosen loopback addresses, in
the order given, through the real ``getaddrinfo`` of each address: the name service is the
only stand-in, the connections are real. ``hanging`` makes one port of 127.0.0.1 drop
connection attempts, as a dead address or a firewall that drops packets does.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

_SITE = """\
import socket
_real = socket.getaddrinfo
def _getaddrinfo(host, port, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if name == "localhost":
        return [info for address in {addresses!r} for info in _real(address, port, *args, **kwargs)]
    return _real(host, port, *args, **kwargs)
socket.getaddrinfo = _getaddrinfo
"""


def resolve_localhost(monkeypatch: pytest.MonkeyPatch, directory: Path, *addresses: str) -> None:
    """Checks run from now on resolve ``localhost`` to ``addresses``, in that order."""
    site = directory / "multi-address-site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(_SITE.format(addresses=list(addresses)))
    monkeypatch.setenv("PYTHONPATH", str(site))


@contextlib.contextmanager
def hanging(port: int, host: str = "127.0.0.1") -> Iterator[None]:
    """Connection attempts to ``host:port`` hang: its listen backlog is full (see the
    ``unanswered_port`` fixture). Raises ``OSError`` when the port is taken."""
    server = socket.socket()
    server.bind((host, port))
    server.listen(0)
    fillers = []
    try:
        for _ in range(8):
            client = socket.socket()
            client.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                client.connect((host, port))
            fillers.append(client)
        yield
    finally:
        for client in fillers:
            client.close()
        server.close()


_SLOW_SITE = """\
import socket, time
_real = socket.getaddrinfo
def _getaddrinfo(host, port, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if name == "localhost":
        time.sleep({seconds!r})
    return _real(host, port, *args, **kwargs)
socket.getaddrinfo = _getaddrinfo
"""


def slow_resolver(monkeypatch: pytest.MonkeyPatch, directory: Path, seconds: float) -> None:
    """Checks run from now on wait ``seconds`` for an answer when they look up ``localhost``,
    as behind a DNS resolver that does not answer."""
    site = directory / "slow-resolver-site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(_SLOW_SITE.format(seconds=seconds))
    monkeypatch.setenv("PYTHONPATH", str(site))
