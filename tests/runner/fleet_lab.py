"""A lab of several datacenters on loopback: the bundled example datacenters (their points'
names, owners, docs and depends_on as written) with every check a tcp check on a 127.0.0.1
port that the lab opens (delivered) and closes (not there, or gone again).

Time is set through ``MDD_NOW``, mdd's one hidden test hook (see mdd/runner/clock.py): each
``verify`` is a real run against the real listeners, "at" a chosen time, so a bring-up of
hours is built in seconds and its lead times are known exactly.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from mdd.manifest import load
from mdd.manifest.locate import bundled_dir
from tests.runner.helpers import Run, free_port, listener, mdd

T0 = 1_796_112_000  # 2026-12-01T08:00:00Z


def at(minutes: float) -> str:
    """``MDD_NOW`` for ``minutes`` after T0."""
    return str(T0 + int(minutes * 60))


class Lab:
    def __init__(self, folder: Path, datacenters: dict[str, list[dict[str, Any]]]) -> None:
        self.folder = folder
        self.ports: dict[tuple[str, str], int] = {}
        self.open_sockets: dict[tuple[str, str], socket.socket] = {}
        manifests = folder / "manifests"
        manifests.mkdir(parents=True, exist_ok=True)
        for dc, points in datacenters.items():
            written = []
            for point in points:
                port = free_port()
                self.ports[(dc, point["name"])] = port
                written.append(
                    {
                        **point,
                        "type": "tcp",
                        "check": {"host": "127.0.0.1", "port": port, "timeout": "1s"},
                    }
                )
            document = {"datacenter": dc, "integration_points": written}
            (manifests / f"{dc}.yaml").write_text(json.dumps(document, indent=2))

    def deliver(self, dc: str, *names: str) -> None:
        for name in names:
            key = (dc, name)
            if key not in self.open_sockets:
                self.open_sockets[key] = listener(self.ports[key])

    def take_away(self, dc: str, *names: str) -> None:
        for name in names:
            sock = self.open_sockets.pop((dc, name), None)
            if sock is not None:
                sock.close()

    def mdd(self, *args: str, minutes: float, timeout: float = 120) -> Run:
        return mdd(
            *args,
            "--manifests",
            str(self.folder / "manifests"),
            cwd=self.folder,
            env={"MDD_NOW": at(minutes), "NO_COLOR": "1"},
            timeout=timeout,
        )

    def close(self) -> None:
        for sock in self.open_sockets.values():
            sock.close()
        self.open_sockets.clear()


def example_points(dc: str) -> list[dict[str, Any]]:
    """The bundled example ``dc``'s points: name, owner, docs, description, depends_on."""
    folder = bundled_dir()
    assert folder is not None
    manifest = load(folder / f"{dc}.yaml")
    return [
        {
            "name": p.name,
            **({"owner": p.owner} if p.owner else {}),
            **({"docs": p.docs} if p.docs else {}),
            **({"description": p.description} if p.description else {}),
            **({"depends_on": list(p.depends_on)} if p.depends_on else {}),
        }
        for p in manifest.points
    ]
