"""check-mdd-postgres speaks PostgreSQL's protocol itself (``mdd.checks._pg_wire``): every
password exchange against a real server, and hostile servers on loopback.

A cluster of this module's own has one login per password method (``md5``, cleartext
``password``, and scram-sha-256 with passwords that SASLprep changes), set by pg_hba.conf
lines; the check logs in to each, as Sensu runs it. The hostile servers answer the startup
message with what PostgreSQL never sends: a message claiming 2 GB (issue 18: pg8000 took
1.26 GB for it), a message that trickles, a byte that is no message type, a SCRAM exchange
with an absurd iteration count or a server signature that does not match. Each run ends with
one bounded CRITICAL line within the check's timeout, with a small peak memory.
"""

from __future__ import annotations

import base64
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mdd.checks._pg_wire import MAX_MESSAGE, saslprep
from mdd.core.command import check_command
from tests.checks.data_servers import HOST, pg_bin, pg_cluster, write_password_file
from tests.conftest import accepting, load_values, run_check, run_measured

LOGINS = {  # user -> (pg_hba method, password, password_encryption when it is set)
    "mdd_md5": ("md5", "Md5-pw-4d2c", "md5"),
    "mdd_clear": ("password", "Clear-pw-9a1e", "scram-sha-256"),
    # NFKC folds the ligature; SASLprep maps the no-break space to a space.
    "mdd_prep": ("scram-sha-256", "ﬁne\u00a0pässwörd", "scram-sha-256"),
}


@pytest.fixture(scope="module")
def methods(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    hba = ["host all postgres 127.0.0.1/32 trust"]
    hba += [f"host all {user} 127.0.0.1/32 {method}" for user, (method, _, _) in LOGINS.items()]
    with pg_cluster(ca, tuple(hba)) as cluster:
        for user, (_, password, encryption) in LOGINS.items():
            subprocess.run(
                [pg_bin("psql"), "-h", HOST, "-p", str(cluster.port), "-U", "postgres"]
                + ["-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]
                + ["-c", f"SET password_encryption = '{encryption}'"]
                + ["-c", f"CREATE ROLE {user} LOGIN PASSWORD '{password}'"],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
        yield cluster.port, tmp_path_factory.mktemp("pg-wire")


def _password_file(directory: Path, user: str, password: str) -> str:
    return write_password_file(directory, password, name=f"{user}.pw")


@pytest.mark.parametrize("user", sorted(LOGINS))
def test_each_password_method_logs_in(methods: tuple[int, Path], user: str) -> None:
    port, directory = methods
    method, password, _ = LOGINS[user]
    run = run_check(
        "postgres",
        host=HOST,
        port=port,
        user=user,
        database="postgres",
        password={"file": _password_file(directory, user, password)},
        tls="disable",
        query="SELECT current_user",
        expect=user,
    )
    assert run.code == 0, run.out
    assert f"logged in to database postgres as {user} without TLS" in run.line
    assert password not in run.out


@pytest.mark.parametrize("user", sorted(LOGINS))
def test_each_password_method_refuses_a_wrong_password(
    methods: tuple[int, Path], user: str
) -> None:
    port, directory = methods
    wrong = LOGINS[user][1] + "-wrong"
    run = run_check(
        "postgres",
        host=HOST,
        port=port,
        user=user,
        database="postgres",
        password={"file": _password_file(directory, user + "-wrong", wrong)},
        tls="disable",
    )
    assert run.code == 2, run.out
    assert f"login as {user} rejected: password authentication failed" in run.line
    assert "(28P01)" in run.line and wrong not in run.out


def test_saslprep_is_what_the_server_does() -> None:
    assert saslprep("plain-Ascii 1") == b"plain-Ascii 1"
    assert saslprep("ﬁne\u00a0pässwörd") == "fine pässwörd".encode()
    assert saslprep("I\u00adX") == b"IX"  # soft hyphen: mapped to nothing
    # Prohibited (a control character): used as it is, as PostgreSQL does.
    assert saslprep("a\u0007b") == b"a\x07b"


# ----------------------------------------------------------------------- hostile servers


def message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def after_startup(
    answer: Callable[[socket.socket, bytes], None],
) -> Callable[[socket.socket], None]:
    """A server that reads the startup message (or SSLRequest: it answers N), then answers."""

    def handle(conn: socket.socket) -> None:
        conn.settimeout(5)
        first = conn.recv(65536)
        if first[4:8] == struct.pack("!i", 80877103):
            conn.sendall(b"N")
            first = conn.recv(65536)
        answer(conn, first)

    return handle


def giant_auth(conn: socket.socket, _: bytes) -> None:
    conn.sendall(b"R" + struct.pack("!i", 0x7FFFFFFF) + b"\0" * 65536)
    time.sleep(3)


def trickle(conn: socket.socket, _: bytes) -> None:
    whole = message(b"R", struct.pack("!i", 0) + b"x" * 100)
    for byte in whole:
        conn.sendall(bytes([byte]))
        time.sleep(0.1)


def bad_type(conn: socket.socket, _: bytes) -> None:
    conn.sendall(message(b"W", b"\0\0\0\0"))
    time.sleep(1)


def scram_server(iterations: int, signature: bytes) -> Callable[[socket.socket, bytes], None]:
    def answer(conn: socket.socket, _: bytes) -> None:
        conn.sendall(message(b"R", struct.pack("!i", 10) + b"SCRAM-SHA-256\0\0"))
        initial = conn.recv(65536)
        nonce = initial.split(b"r=", 1)[1].decode()
        salt = base64.b64encode(b"salt-salt-salt").decode()
        first = f"r={nonce}server,s={salt},i={iterations}".encode()
        conn.sendall(message(b"R", struct.pack("!i", 11) + first))
        conn.recv(65536)
        final = b"v=" + base64.b64encode(signature)
        conn.sendall(message(b"R", struct.pack("!i", 12) + final))
        time.sleep(1)

    return answer


CASES: dict[str, tuple[Callable[[socket.socket, bytes], None], str]] = {
    "giant R message": (
        giant_auth,
        f"claiming 2147483647 bytes (this check reads at most {MAX_MESSAGE})",
    ),
    "trickle": (trickle, "did not complete the authenticate step within 1s"),
    "bad type byte": (bad_type, "sent a message b'W' during the login"),
    "absurd SCRAM iterations": (
        scram_server(2**31 - 1, b"x" * 32),
        "a SCRAM iteration count of '2147483647'",
    ),
    "forged SCRAM signature": (
        scram_server(4096, b"x" * 32),
        "a SCRAM server signature that does not match the password",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_server_is_critical_with_the_reason(case: str, tmp_path: Path) -> None:
    answer, reason = CASES[case]
    password = write_password_file(tmp_path, "Pw-hostile-1c9e")
    with accepting(after_startup(answer), threaded=True) as port:
        values = load_values(
            "postgres",
            host=HOST,
            port=port,
            user="mdd",
            password={"file": password},
            timeout="1s",
        )
        run = run_measured(check_command("postgres", values, "db"))
    line = run.output.strip()
    assert run.code == 2, run.output
    assert "\n" not in line and len(line) < 400, line
    assert line.startswith(f"PostgresCheck CRITICAL: db: {HOST}:{port}"), line
    assert reason in line, line
    assert "Pw-hostile" not in line
    assert run.peak_kib < 200 * 1024, f"the check peaked at {run.peak_kib} KiB"
