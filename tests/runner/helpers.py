"""Manifests on loopback and ``mdd`` run as a user runs it, for the runner's tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent.parent
SCHEMA = REPO / "docs" / "schema" / "mdd-verify.schema.json"


@dataclass
class Run:
    code: int
    out: str
    err: str


# The ports free_port() handed out, each held by a bound socket that never listens, for the
# rest of the test process: connections to it are refused, and no other process can take it
# in the meantime (neither a server binding port 0 nor an outgoing connection's ephemeral
# port: Linux skips a port with a bound socket for both). Before, a port was only looked up
# and let go, and on a busy two-core machine another test's connection took it before the
# lab listened on it ("Address already in use").
_HELD: list[socket.socket] = []


def free_port() -> int:
    """A loopback port nothing listens on (yet): connections are refused.

    The port stays reserved to this test process; ``listener(port)`` listens on it later
    (both sockets have SO_REUSEADDR and the holder never listens, so the kernel allows it).
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    _HELD.append(sock)
    port: int = sock.getsockname()[1]
    return port


def listener(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:``port`` (the kernel accepts for it).

    After it is closed the port refuses connections again and, when it came from
    ``free_port()``, is still reserved.
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    return sock


def tcp(name: str, port: int, **extra: Any) -> dict[str, Any]:
    """A tcp point on 127.0.0.1:``port``; ``extra`` are point keys (owner, depends_on...)."""
    check = {"host": "127.0.0.1", "port": port, "timeout": "1s"}
    check.update(extra.pop("check", {}))
    owner = extra.pop("owner", "netops")
    point = {"name": name, "type": "tcp", **({"owner": owner} if owner else {}), **extra}
    return {**point, "check": check}


def write_manifest(folder: Path, points: Sequence[dict[str, Any]], dc: str = "lab1") -> Path:
    """``folder/manifests/<dc>.yaml`` (JSON is YAML); returns the manifests folder."""
    manifests = folder / "manifests"
    manifests.mkdir(parents=True, exist_ok=True)
    document = {"datacenter": dc, "integration_points": list(points)}
    (manifests / f"{dc}.yaml").write_text(json.dumps(document, indent=2))
    return manifests


def mdd(*args: str, cwd: Path, timeout: float = 60, env: dict[str, str] | None = None) -> Run:
    proc = subprocess.run(
        [str(BIN / "mdd"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, **(env or {})),
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def board_states(out: str) -> dict[str, str]:
    """``{point: state}`` from a plain board (lines ``STATE  name  owner  reason``)."""
    states = {}
    for line in out.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] in ("GREEN", "PENDING", "REGRESSED", "BLOCKED", "UNKNOWN"):
            states[words[1]] = words[0].lower()
    return states


def state_file(folder: Path, dc: str = "lab1") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / ".mdd" / f"{dc}.json").read_text())
    return data
