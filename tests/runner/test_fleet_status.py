"""``mdd status --all`` and ``mdd status --stable`` against a Sensu API on loopback.

Classic: one API holds every datacenter's results (a real 1.9 result body, recorded in
tests/fixtures, renamed per datacenter and point). Go: one namespace per datacenter
(``--namespace 'mdd-{datacenter}'``), events shaped as recorded from Sensu Go 6. Each
result's status history is set per test, to make "green for how long" known.
"""

from __future__ import annotations

import copy
import email.utils
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest

from tests.runner.fleet_lab import T0
from tests.runner.helpers import REPO, Run, free_port, mdd, tcp, write_manifest

FIXTURES = REPO / "tests" / "fixtures"
INFO = json.loads((FIXTURES / "sensu-classic-1.9-api" / "info.json").read_text())
CLASSIC_OK = json.loads((FIXTURES / "sensu-classic-1.9-api" / "results_mdd-ams1.json").read_text())[
    1
]
GO_OK = json.loads((FIXTURES / "sensu-go-6" / "events_page1.json").read_text())[1]
SCHEMA = json.loads((REPO / "docs" / "schema" / "mdd-fleet.schema.json").read_text())
NOW = T0 + 3600


class Sensu:
    """What the API serves: per (datacenter, point) a status, a history and an interval."""

    def __init__(self) -> None:
        self.checks: dict[tuple[str, str], dict[str, Any]] = {}
        self.paths: list[str] = []

    def classic_results(self) -> list[dict[str, Any]]:
        body = []
        for (dc, point), spec in self.checks.items():
            item = copy.deepcopy(CLASSIC_OK)
            item["client"] = f"mdd-{dc}"
            check = item["check"]
            check.update(
                name=f"mdd_{dc}_{point}",
                status=spec["history"][-1],
                history=spec["history"],
                interval=spec["interval"],
                executed=NOW - 10,
                output=f"TcpCheck {'OK' if spec['history'][-1] == 0 else 'CRITICAL'}: {point}: x\n",
            )
            body.append(item)
        return body

    def go_events(self, namespace: str) -> list[dict[str, Any]]:
        body = []
        for (dc, point), spec in self.checks.items():
            if namespace != f"mdd-{dc}":
                continue
            event = copy.deepcopy(GO_OK)
            check = event["check"]
            check["metadata"]["name"] = f"mdd_{dc}_{point}"
            check["metadata"]["namespace"] = namespace
            count = len(spec["history"])
            check["history"] = [
                {"status": s, "executed": NOW - 10 - (count - 1 - i) * spec["interval"]}
                for i, s in enumerate(spec["history"])
            ]
            check.update(status=spec["history"][-1], executed=NOW - 10)
            body.append(event)
        return body


@pytest.fixture
def sensu() -> Iterator[tuple[Sensu, str]]:
    state = Sensu()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def date_time_string(self, timestamp: float | None = None) -> str:
            # A Sensu whose clock reads NOW, like the results it serves (mdd status ages
            # results by the API's Date header)
            return email.utils.formatdate(NOW, usegmt=True)

        def do_GET(self) -> None:  # noqa: N802
            path = urlsplit(self.path).path
            state.paths.append(path)
            body: Any = None
            if path == "/info":
                body = INFO
            elif path == "/results":
                body = state.classic_results()
            elif path.startswith("/api/core/v2/namespaces/") and path.endswith("/events"):
                body = state.go_events(path.split("/")[5])
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(404 if body is None else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_manifest(tmp_path, [tcp("a", free_port()), tcp("b", free_port(), owner="dba")], "lab1")
    write_manifest(tmp_path, [tcp("c", free_port(), owner="dba")], "lab2")
    return tmp_path


def status(folder: Path, url: str, *args: str) -> Run:
    return mdd(
        "status",
        *args,
        "--manifests",
        str(folder / "manifests"),
        "--sensu-api",
        url,
        "--no-color",
        "--tz",
        "UTC",
        cwd=folder,
        env={"MDD_NOW": str(NOW)},
    )


def test_classic_fleet_from_one_api(folder: Path, sensu: tuple[Sensu, str]) -> None:
    api, url = sensu
    api.checks = {
        ("lab1", "a"): {"history": [0] * 3, "interval": 60},
        ("lab1", "b"): {"history": [0, 2], "interval": 60},
        ("lab2", "c"): {"history": [2], "interval": 60},
    }
    run = status(folder, url, "--all")
    assert run.code == 1, run.err
    lines = {line.split()[0]: line.split() for line in run.out.splitlines() if line.strip()}
    assert lines["lab1"][1:4] == ["1/2", "50%", "1"]  # b regressed (green in its history)
    assert lines["lab2"][1:5] == ["0/1", "0%", "0", "1"]
    assert lines["dba"][1:3] == ["0/2", "0%"]
    data = json.loads(status(folder, url, "--all", "--format", "json").out)
    jsonschema.validate(data, SCHEMA)
    assert data["source"] == "status" and [d["datacenter"] for d in data["datacenters"]] == [
        "lab1",
        "lab2",
    ]


def test_classic_stable_from_history(folder: Path, sensu: tuple[Sensu, str]) -> None:
    api, url = sensu
    api.checks = {
        ("lab1", "a"): {"history": [0] * 21, "interval": 60},  # green for 20m at least
        ("lab1", "b"): {"history": [2] * 15 + [0] * 6, "interval": 60},  # green for 5m
    }
    run = status(folder, url, "lab1", "--stable", "10m")
    assert run.code == 1
    assert "all green for 5m1" in run.out and "since 2026-12-01 08:54 (b green last" in run.out
    assert re.search(r"4m(50|4\d)s to go", run.out)
    api.checks[("lab1", "b")] = {"history": [2] * 5 + [0] * 16, "interval": 60}
    done = status(folder, url, "lab1", "--stable", "10m")
    assert done.code == 0, done.err
    assert "stable: all green for 15m1" in done.out
    # all 21 results green, but they reach back only 3m30s: Sensu cannot tell 10m
    api.checks[("lab1", "a")] = {"history": [0] * 21, "interval": 10}
    unsure = status(folder, url, "lab1", "--stable", "10m")
    assert unsure.code == 1 and "cannot tell for a: Sensu keeps 21 results" in unsure.out


def test_go_namespace_per_datacenter_and_stable(folder: Path, sensu: tuple[Sensu, str]) -> None:
    api, url = sensu
    api.checks = {
        ("lab1", "a"): {"history": [2, 0, 0, 0], "interval": 300},  # green since 15m10s
        ("lab1", "b"): {"history": [0, 0, 2, 0], "interval": 300},  # a flap: since 10s
        ("lab2", "c"): {"history": [2, 0, 0], "interval": 600},  # since 10m10s
    }
    args = ["--all", "--api", "go", "--namespace", "mdd-{datacenter}", "--stable", "10m"]
    run = status(folder, url, *args)
    assert run.code == 1, run.err
    assert "/api/core/v2/namespaces/mdd-lab1/events" in api.paths
    assert "/api/core/v2/namespaces/mdd-lab2/events" in api.paths
    assert "lab1: soak 10m: all green for 1" in run.out  # 10s: b's flap restarted it
    assert re.search(r"9m(50|4\d)s to go", run.out)
    assert "lab2: stable: all green for 10m1" in run.out
