"""The TLS server name (SNI) is given to ``wrap_socket`` as ASCII bytes: a str makes ssl run
the ``idna`` codec, which imports encodings.idna, stringprep and unicodedata on every run.
Each check runs as Sensu runs it (/bin/sh -c, the generated command) against a loopback TLS
server, with ``PYTHONPROFILEIMPORTTIME=1``: the interpreter itself then lists, on standard
error, every module imported by the process from its start to its exit."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

from mdd.core.command import check_command
from tests.checks.tls_servers import TlsServer, days_from_now, smtp_server
from tests.conftest import BIN, load_values

CODEC = ("encodings.idna", "stringprep", "unicodedata")
A_LABEL = "xn--bcher-kva.example"  # bücher.example


def run_traced(check_type: str, **manifest: Any) -> tuple[int, str, set[str]]:
    """(exit status, standard output, every module the check's process imported)."""
    manifest.setdefault("timeout", "5s")
    command = check_command(check_type, load_values(check_type, **manifest))
    env = dict(
        os.environ,
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONPROFILEIMPORTTIME="1",
    )
    proc = subprocess.run(
        ["/bin/sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    # The probe sees the check's own imports: without them it could prove nothing.
    assert f"mdd.checks.check_{check_type}" in imported and "ssl" in imported, proc.stderr[-2000:]
    return proc.returncode, proc.stdout, imported


def tls_server(ca: trustme.CA, *names: str) -> TlsServer:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf = ca.issue_cert(*names, not_before=days_from_now(-1), not_after=days_from_now(100))
    leaf.configure_cert(context)
    return TlsServer(context)


@pytest.fixture
def localhost_server(ca: trustme.CA) -> Iterator[TlsServer]:
    server = tls_server(ca, "localhost")
    yield server
    server.stop()


def test_an_ascii_server_name_imports_no_idna_codec(
    localhost_server: TlsServer, ca_file: str
) -> None:
    code, out, imported = run_traced(
        "tls", host="127.0.0.1", port=localhost_server.port, servername="localhost", ca_file=ca_file
    )
    assert code == 0, out
    assert "chain verified for localhost" in out
    assert localhost_server.sni == ["localhost"]
    assert not imported & set(CODEC), sorted(imported & set(CODEC))


def test_smtp_starttls_imports_no_idna_codec(ca: trustme.CA, ca_file: str) -> None:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(context)
    with smtp_server(context) as port:
        for check_type, starttls in (("tls", "smtp"), ("smtp", True)):
            code, out, imported = run_traced(
                check_type, host="localhost", port=port, ca_file=ca_file, starttls=starttls
            )
            assert code == 0, out
            assert not imported & set(CODEC), (check_type, sorted(imported & set(CODEC)))


def test_a_non_ascii_server_name_is_sent_as_its_a_label(ca: trustme.CA, ca_file: str) -> None:
    server = tls_server(ca, A_LABEL)
    try:
        code, out, imported = run_traced(
            "tls", host="127.0.0.1", port=server.port, servername="bücher.example", ca_file=ca_file
        )
    finally:
        server.stop()
    assert code == 0, out
    assert "chain verified for bücher.example" in out
    assert server.sni == [A_LABEL]
    assert "encodings.idna" in imported  # the codec, for the one name that needs it


@pytest.mark.parametrize("servername", ["a..example", "x" * 64 + ".example"])
def test_a_server_name_that_cannot_be_sent_is_unknown(
    localhost_server: TlsServer, ca_file: str, servername: str
) -> None:
    code, out, _ = run_traced(
        "tls", host="127.0.0.1", port=localhost_server.port, servername=servername, ca_file=ca_file
    )
    assert code == 3, out
    assert len(out.strip().splitlines()) == 1 and "Traceback" not in out
    assert f"{servername!r} cannot be sent as the TLS server name" in out
    assert localhost_server.sni == []  # refused before connecting
