"""verify's verdict equals the Sensu check's: for each bundled type, on the same targets.

One manifest holds every case as a point. ``mdd verify --format json`` runs them all in one
process; each point's generated command (``mdd.core.command.check_command``) runs under
``/bin/sh -c`` as the Sensu agent runs it. Their states must be equal, point by point, and
between them the cases cover OK, WARNING, CRITICAL and UNKNOWN.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from mdd.core.command import check_command
from mdd.manifest import load
from tests.checks.http_servers import serve
from tests.checks.http_servers import server_context as https_context
from tests.checks.tls_servers import days_from_now
from tests.conftest import accepting, hanging, run_command
from tests.runner.helpers import free_port, mdd, write_manifest

pytestmark = pytest.mark.slow  # see CONTRIBUTING.md: run in CI, skipped while iterating


def _banner(conn: socket.socket) -> None:
    conn.sendall(b"220 smtp.lab1 ESMTP ready\r\n")
    conn.settimeout(2)
    while conn.recv(4096):
        pass


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    ca = trustme.CA()
    folder = tmp_path_factory.mktemp("ca")
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    servers: dict[str, Any] = {"ca_file": str(ca_file)}

    def leaf(days: float) -> Any:
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert(
            "localhost",
            "127.0.0.1",
            common_name="localhost",
            not_before=days_from_now(-30),
            not_after=days_from_now(days),
        ).configure_cert(context)
        return context

    with (
        serve() as http,
        serve(context=https_context(ca, "localhost", "127.0.0.1")) as https,
        serve(context=leaf(15)) as soon,
        serve(context=leaf(3)) as very_soon,
        accepting(_banner, threaded=True) as banner,
        hanging() as silent,
    ):
        servers.update(
            http=http, https=https, soon=soon, very_soon=very_soon, banner=banner, silent=silent
        )
        yield servers


def cases(t: dict[str, Any]) -> list[dict[str, Any]]:
    refused = free_port()
    h = t["http"]
    tls = {"host": "127.0.0.1", "servername": "localhost", "timeout": "2s"}
    return [
        {"name": "tcp-open", "type": "tcp", "check": {"host": "127.0.0.1", "port": h.port}},
        {"name": "tcp-refused", "type": "tcp", "check": {"host": "127.0.0.1", "port": refused}},
        {
            "name": "tcp-silent",
            "type": "tcp",
            "check": {"host": "127.0.0.1", "port": t["silent"], "timeout": "1s"},
        },
        {
            "name": "tcp-closed-ok",
            "type": "tcp",
            "check": {"host": "127.0.0.1", "port": refused, "state": "closed"},
        },
        {
            "name": "tcp-banner",
            "type": "tcp",
            "check": {"host": "127.0.0.1", "port": t["banner"], "expect": "^220 "},
        },
        {
            "name": "tcp-banner-wrong",
            "type": "tcp",
            "check": {"host": "127.0.0.1", "port": t["banner"], "expect": "^SSH-", "timeout": "1s"},
        },
        {"name": "http-ok", "type": "http", "check": {"url": h.url("/ok")}},
        {"name": "http-503", "type": "http", "check": {"url": h.url("/status/503")}},
        {
            "name": "http-json",
            "type": "http",
            "check": {"url": h.url("/health"), "json": {"status": "UP"}},
        },
        {
            "name": "http-json-down",
            "type": "http",
            "check": {"url": h.url("/down"), "json": {"status": "UP"}},
        },
        {
            "name": "http-slow",
            "type": "http",
            "check": {"url": h.url("/ok?sleep=2"), "timeout": "1s"},
        },
        {"name": "http-refused", "type": "http", "check": {"url": f"http://127.0.0.1:{refused}/"}},
        {
            "name": "http-secret-missing",
            "type": "http",
            "check": {
                "url": h.url("/ok"),
                "secret_headers": {"Authorization": "/nonexistent/mdd-token"},
            },
        },
        {
            "name": "https-trusted",
            "type": "http",
            "check": {
                "url": t["https"].url("/ok", host="localhost"),
                "ca_file": t["ca_file"],
                "connect_to": f"127.0.0.1:{t['https'].port}",
            },
        },
        {
            "name": "https-untrusted",
            "type": "http",
            "check": {
                "url": t["https"].url("/ok", host="localhost"),
                "connect_to": f"127.0.0.1:{t['https'].port}",
            },
        },
        {
            "name": "tls-good",
            "type": "tls",
            "check": dict(tls, port=t["https"].port, ca_file=t["ca_file"]),
        },
        {
            "name": "tls-expires-soon",
            "type": "tls",
            "check": dict(tls, port=t["soon"].port, ca_file=t["ca_file"]),
        },
        {
            "name": "tls-expires-very-soon",
            "type": "tls",
            "check": dict(tls, port=t["very_soon"].port, ca_file=t["ca_file"]),
        },
        {"name": "tls-untrusted", "type": "tls", "check": dict(tls, port=t["https"].port)},
        {
            "name": "tls-ca-file-missing",
            "type": "tls",
            "check": dict(tls, port=t["https"].port, ca_file="/nonexistent/ca.pem"),
        },
        {"name": "tls-refused", "type": "tls", "check": dict(tls, port=refused)},
    ]


def test_verify_verdicts_equal_the_sensu_commands(tmp_path: Path, targets: dict[str, Any]) -> None:
    manifests = write_manifest(tmp_path, cases(targets))
    run = mdd(
        "verify",
        "lab1",
        "--manifests",
        str(manifests),
        "--format",
        "json",
        "--no-state",
        "--jobs",
        "8",
        cwd=tmp_path,
    )
    assert run.code == 1, run.err
    in_process = {p["name"]: p for p in json.loads(run.out)["points"]}
    manifest = load(manifests / "lab1.yaml")
    by_sensu = {}
    for point in manifest.points:
        command = check_command(point.type, point.options, point.name)
        by_sensu[point.name] = run_command(command)
    assert set(in_process) == set(by_sensu)
    differing = {
        name: (in_process[name]["status"], in_process[name]["reason"], sensu.code, sensu.line)
        for name, sensu in by_sensu.items()
        if in_process[name]["status"] != sensu.code
    }
    assert differing == {}
    for name, sensu in by_sensu.items():  # the same reason, after "Class STATE: point: "
        reason = in_process[name]["reason"]
        if " ms" not in reason and "ms" not in sensu.line:  # timings differ run to run
            assert sensu.line.split(" | ")[0].endswith(f"{name}: {reason}"), (name, sensu.line)
    assert {sensu.code for sensu in by_sensu.values()} == {0, 1, 2, 3}
    assert in_process["tcp-silent"]["reason"].endswith("(host down or filtered)")
