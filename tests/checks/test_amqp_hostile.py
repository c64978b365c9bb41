"""check-mdd-amqp against hostile AMQP servers on loopback, run as Sensu runs it.

The amqp check speaks AMQP 0-9-1 itself (``mdd.checks._amqp_wire``). Each server here
answers the protocol header with what a broker never sends: a frame claiming 4 GB (issue
18), a frame that trickles in, a frame without its end byte, a method whose fields run past
its frame, another AMQP version. Each run ends with one bounded CRITICAL line naming the
step, within the check's timeout, with a small peak memory.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable

import pytest

from mdd.checks._amqp_wire import MAX_FRAME
from mdd.core.command import check_command
from tests.checks.data_servers import HOST
from tests.conftest import accepting, load_values, run_measured


def method_frame(payload: bytes, end: int = 0xCE) -> bytes:
    return struct.pack("!BHI", 1, 0, len(payload)) + payload + bytes([end])


def start_method(major: int = 0, minor: int = 9, properties: bytes = b"") -> bytes:
    return (
        struct.pack("!HHBB", 10, 10, major, minor)
        + struct.pack("!I", len(properties))
        + properties
        + struct.pack("!I", 5)
        + b"PLAIN"
        + struct.pack("!I", 5)
        + b"en_US"
    )


def after_header(answer: Callable[[socket.socket], None]) -> Callable[[socket.socket], None]:
    def handle(conn: socket.socket) -> None:
        conn.settimeout(5)
        conn.recv(8)
        answer(conn)

    return handle


def giant(conn: socket.socket) -> None:
    conn.sendall(struct.pack("!BHI", 1, 0, 0xFFFFFFFF) + b"\0" * 65536)
    time.sleep(3)


def trickle(conn: socket.socket) -> None:
    for byte in method_frame(start_method(properties=b"x" * 200)):
        conn.sendall(bytes([byte]))
        time.sleep(0.05)


def no_frame_end(conn: socket.socket) -> None:
    conn.sendall(method_frame(start_method(), end=0x00))
    time.sleep(1)


def fields_past_the_frame(conn: socket.socket) -> None:
    # Start's server-properties claim 1 MB inside a frame of a few dozen bytes.
    payload = struct.pack("!HHBB", 10, 10, 0, 9) + struct.pack("!I", 1 << 20) + b"abc"
    conn.sendall(method_frame(payload))
    time.sleep(1)


def other_version(conn: socket.socket) -> None:
    conn.sendall(b"AMQP\x01\x01\x00\x0a")  # what a 1.0 broker answers a 0-9-1 header with
    time.sleep(1)


def http(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    time.sleep(1)


CASES = {
    "4 GB frame": (
        giant,
        f"a frame claiming 4294967295 bytes (this check reads at most {MAX_FRAME})",
    ),
    "trickle": (trickle, "did not complete the authenticate step within 1s"),
    "no frame end": (no_frame_end, "a frame that does not end with 0xCE (got 0x00)"),
    "fields past the frame": (fields_past_the_frame, "a method whose fields run past its frame"),
    "AMQP 1.0": (other_version, "the broker speaks AMQP 1.0.10, not 0-9-1"),
    "HTTP": (http, "does not speak AMQP 0-9-1"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_server_is_critical_with_the_reason(case: str) -> None:
    answer, reason = CASES[case]
    with accepting(after_header(answer), threaded=True) as port:
        values = load_values("amqp", host=HOST, port=port, timeout="1s")
        run = run_measured(check_command("amqp", values, "mq"))
    line = run.output.strip()
    assert run.code == 2, run.output
    assert "\n" not in line and len(line) < 400, line
    assert line.startswith(f"AmqpCheck CRITICAL: mq: {HOST}:{port}"), line
    assert reason in line, line
    assert run.peak_kib < 200 * 1024, f"the check peaked at {run.peak_kib} KiB"
