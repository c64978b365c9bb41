"""Host names with several addresses, for the checks' tests.

``localhost`` is the only name the tests may resolve, and here it has one address. A
sitecustomize makes the checks started afterwards resolve it to chosen loopback addresses, in
the order given, through the real ``getaddrinfo`` of each address: the name service is the
only stand-in, the connections are real. ``tests.conftest.hanging`` makes one of those
addresses drop connection attempts.
"""

from __future__ import annotations

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
