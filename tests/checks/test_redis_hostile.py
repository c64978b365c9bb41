"""check-mdd-redis against hostile RESP servers on loopback, run as Sensu runs it.

The redis check speaks RESP2 itself (``mdd.checks._resp``). Each server here answers PING
with something a real Redis never sends: a bulk string claiming 2 GB, a line that never
ends, an answer a byte at a time, a byte that is no RESP type, arrays nested without end.
Each run ends with one bounded CRITICAL line naming the step, within the check's timeout
(the subprocess limit only stops a hung test run), and its peak memory stays far below what
the announced lengths would take.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mdd.checks._resp import MAX_BULK, Closed, Connection, ProtocolError, ReplyError, encode
from mdd.core.command import check_command
from tests.checks.data_servers import HOST, REDIS_PORT, require
from tests.conftest import accepting, load_values, run_measured


def after_request(answer: Callable[[socket.socket], None]) -> Callable[[socket.socket], None]:
    """A server that reads the check's first command, then ``answer``s."""

    def handle(conn: socket.socket) -> None:
        conn.settimeout(5)
        conn.recv(4096)
        answer(conn)

    return handle


def giant_bulk(conn: socket.socket) -> None:
    conn.sendall(b"$2147483647\r\n" + b"x" * 65536)
    time.sleep(3)


def endless_line(conn: socket.socket) -> None:
    """A simple string that never ends, sent as fast as the check reads it, for 20 s."""
    deadline = time.monotonic() + 20
    conn.sendall(b"+")
    while time.monotonic() < deadline:
        conn.sendall(b"P" * 65536)


def endless_array(conn: socket.socket) -> None:
    """Arrays inside arrays, for ever."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        conn.sendall(b"*1\r\n" * 4096)


def trickle(conn: socket.socket) -> None:
    """``+PONG`` never finished: one byte every 0.1 s (each well inside any socket timeout)."""
    deadline = time.monotonic() + 20
    for byte in b"+PONG" + b"G" * 1000:
        if time.monotonic() > deadline:
            return
        conn.sendall(bytes([byte]))
        time.sleep(0.1)


def bad_type(conn: socket.socket) -> None:
    conn.sendall(b"%1\r\n+PONG\r\n+PONG\r\n")  # a RESP3 map: never sent to a RESP2 client
    time.sleep(1)


def signed_length(conn: socket.socket) -> None:
    conn.sendall(b"$+4\r\nPONG\r\n")
    time.sleep(1)


def short_bulk(conn: socket.socket) -> None:
    conn.sendall(b"$2\r\nPONG\r\n")
    time.sleep(1)


CASES = {
    "giant bulk length": (giant_bulk, "bulk string length of 2147483647, outside -1 to"),
    "endless line": (endless_line, "a reply line longer than 65536 bytes"),
    "endless nesting": (endless_array, "arrays nested more than 4 deep"),
    "trickle": (trickle, "did not complete the PING step within 1s"),
    "bad type byte": (bad_type, "b'%', which is no RESP2 type"),
    "signed length": (signed_length, "a bulk string length that is no number ('+4')"),
    "bulk longer than its length": (short_bulk, "does not end where its length says"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_server_is_critical_with_the_reason(case: str) -> None:
    answer, reason = CASES[case]
    with accepting(after_request(answer), threaded=True) as port:
        values = load_values("redis", host=HOST, port=port, timeout="1s")
        run = run_measured(check_command("redis", values, "cache"))
    code, out, peak = run.code, run.output, run.peak_kib
    line = out.strip()
    assert code == 2, out
    assert "\n" not in line and len(line) < 400, line
    assert line.startswith(f"RedisCheck CRITICAL: cache: {HOST}:{port}"), line
    assert "PING" in line and reason in line, line
    assert peak < 200 * 1024, f"the check peaked at {peak} KiB"


def test_the_password_never_reaches_a_hostile_server_message(tmp_path: Path) -> None:
    # A server that echoes the command back as its error: the check must not quote the secret.
    password = "Pw-hostile-echo-7f3a"
    secret = tmp_path / "pw"
    secret.write_text(password + "\n")

    def echo(conn: socket.socket) -> None:
        conn.settimeout(5)
        request = conn.recv(4096).replace(b"\r\n", b" ")
        conn.sendall(b"-ERR " + request + b"\r\n")

    with accepting(echo, threaded=True) as port:
        values = load_values("redis", host=HOST, port=port, password={"file": str(secret)})
        run = run_measured(check_command("redis", values))
    code, out = run.code, run.output
    assert code == 2, out
    assert "login rejected: " in out and "AUTH" in out, out
    assert password not in out


# The client itself, in process, against the machine's real Redis and over socket pairs.


def test_the_client_speaks_to_the_real_redis() -> None:
    require(REDIS_PORT, "redis-server")
    with socket.create_connection((HOST, REDIS_PORT), timeout=5) as sock:
        conn = Connection(sock, time.monotonic() + 5)
        assert conn.command("PING") == b"PONG"
        assert conn.command("ECHO", "é\r\n$-1") == "é\r\n$-1".encode()
        role = conn.command("ROLE")
        assert isinstance(role, list) and role[0] in (b"master", b"slave")
        assert isinstance(conn.command("DBSIZE"), int)
        assert conn.command("GET", "mdd-test-key-that-is-never-set-\0") is None
        with pytest.raises(ReplyError) as refused:
            conn.command("NO-SUCH-COMMAND-MDD")
        assert refused.value.code == "ERR" and "unknown command" in refused.value.text
        assert conn.command("PING", "again") == b"again"  # the stream is still in step


def test_encode_is_the_array_of_bulk_strings_redis_reads() -> None:
    assert encode("AUTH", "u", "p\r\n") == b"*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$3\r\np\r\n\r\n"


@pytest.mark.parametrize(
    ("sent", "error"),
    [
        (b"", Closed),
        (b"+PON", Closed),
        (b"*3\r\n:1\r\n", Closed),
        (b":12x\r\n", ProtocolError),
        (b"$-2\r\n", ProtocolError),
        (b"*%d\r\n" % (10**6), ProtocolError),
        (b"$%d\r\n" % (MAX_BULK + 1), ProtocolError),
        (b":123456789012345678901234\r\n", ProtocolError),
    ],
)
def test_malformed_replies_raise(sent: bytes, error: type[Exception]) -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(sent)
        theirs.shutdown(socket.SHUT_WR)
        with pytest.raises(error):
            Connection(ours, time.monotonic() + 5).reply()


def test_a_reply_past_the_deadline_is_a_timeout() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs, contextlib.suppress(OSError):
        theirs.sendall(b"+PO")  # and nothing more
        with pytest.raises(TimeoutError):
            Connection(ours, time.monotonic() + 0.2).reply()
