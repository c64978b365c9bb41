"""check-mdd-mysql speaks the MySQL protocol itself (``mdd.checks._mysql_wire``): its password
scrambles against PyMySQL's (the client it replaced), and hostile servers on loopback.

The logins, queries and TLS against real MariaDB servers are in test_check_mysql.py. Here
each hostile server greets the check with what MySQL never sends: a packet claiming 16 MB,
a handshake that trickles in, a packet out of sequence, another protocol version, and a
request for a local file after the query. Each run ends with one bounded CRITICAL line
within the check's timeout, with a small peak memory, and no file is ever sent.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import time
from collections.abc import Callable

import pymysql._auth
import pytest

from mdd.checks._mysql_wire import MAX_PACKET, native_password, sha2_password
from mdd.core.command import check_command
from tests.checks.data_servers import HOST
from tests.conftest import accepting, load_values, run_measured


@pytest.mark.parametrize(
    "password",
    [b"", b"secret", "pässwörd".encode(), bytes(range(256))],
    ids=["empty", "ascii", "utf8", "every byte"],
)
def test_scrambles_are_pymysqls(password: bytes) -> None:
    scramble = os.urandom(20)
    assert native_password(password, scramble) == pymysql._auth.scramble_native_password(
        password, scramble
    )
    assert sha2_password(password, scramble) == pymysql._auth.scramble_caching_sha2(
        password, scramble
    )


def packet(seq: int, data: bytes) -> bytes:
    return len(data).to_bytes(3, "little") + bytes([seq]) + data


def handshake(version: int = 10) -> bytes:
    capabilities = 0x200 | 0x8000 | 0x80000  # PROTOCOL_41, SECURE_CONNECTION, PLUGIN_AUTH
    return (
        bytes([version])
        + b"5.5.5-10.11-MariaDB\0"
        + struct.pack("<I", 7)
        + b"abcdefgh\0"
        + struct.pack("<H", capabilities & 0xFFFF)
        + b"\x2d\x02\x00"
        + struct.pack("<H", capabilities >> 16)
        + bytes([21])
        + bytes(10)
        + b"ijklmnopqrst\0"
        + b"mysql_native_password\0"
    )


OK = b"\x00\x00\x00\x02\x00\x00\x00"


def giant(conn: socket.socket) -> None:
    conn.sendall(b"\xff\xff\xff\x00" + b"\0" * 65536)
    time.sleep(3)


def trickle(conn: socket.socket) -> None:
    for byte in packet(0, handshake()):
        conn.sendall(bytes([byte]))
        time.sleep(0.05)


def out_of_sequence(conn: socket.socket) -> None:
    conn.sendall(packet(3, handshake()))
    time.sleep(1)


def version_9(conn: socket.socket) -> None:
    conn.sendall(packet(0, handshake(9)))
    time.sleep(1)


def local_file(conn: socket.socket) -> None:
    """Logs the check in, then answers its first statement with LOCAL INFILE /etc/passwd;
    anything the check sends after that is reported back in the test's ``sent`` list."""
    conn.settimeout(5)
    conn.sendall(packet(0, handshake()))
    conn.recv(65536)  # the login response
    conn.sendall(packet(2, OK))
    conn.recv(65536)  # SET SESSION TRANSACTION READ ONLY
    conn.sendall(packet(1, b"\xfb/etc/passwd"))
    with contextlib.suppress(OSError):
        SENT.append(conn.recv(65536))


SENT: list[bytes] = []

CASES: dict[str, tuple[Callable[[socket.socket], None], str, str]] = {
    "16 MB packet": (
        giant,
        "authenticate",
        f"a packet claiming 16777215 bytes (this check reads at most {MAX_PACKET})",
    ),
    "trickle": (trickle, "authenticate", "did not complete the authenticate step within 1s"),
    "out of sequence": (out_of_sequence, "authenticate", "a packet numbered 3 where 0 was due"),
    "protocol 9": (version_9, "authenticate", "a handshake of protocol version 9, not 10"),
    "local file": (local_file, "query", "asked for a local file (LOAD DATA LOCAL): refused"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_server_is_critical_with_the_reason(case: str) -> None:
    answer, step, reason = CASES[case]
    SENT.clear()
    with accepting(answer, threaded=True) as port:
        values = load_values(
            "mysql", host=HOST, port=port, user="mdd", query="SELECT 1", timeout="1s"
        )
        run = run_measured(check_command("mysql", values, "db"))
    line = run.output.strip()
    assert run.code == 2, run.output
    assert "\n" not in line and len(line) < 400, line
    assert line.startswith(f"MysqlCheck CRITICAL: db: {HOST}:{port}"), line
    assert reason in line and step in line, line
    assert not any(b"root:" in data for data in SENT), "the check sent a local file"
    assert run.peak_kib < 200 * 1024, f"the check peaked at {run.peak_kib} KiB"
