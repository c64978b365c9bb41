"""Faulty servers against the data-store checks (postgres, mysql, redis, amqp).

A server that accepts and never answers, one that trickles a byte at a time (each byte well
inside any per-call socket timeout), one that speaks another protocol (HTTP), a port whose
connection attempts hang: each check ends with one bounded line, CRITICAL or UNKNOWN, never
OK, and its probes run side by side in threads without signals (as ``mdd verify`` runs them).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from mdd.checks._options import COMMON_OPTIONS, add_arguments
from mdd.checks._result import State
from mdd.checks.registry import CHECK_TYPES
from mdd.core.command import check_command
from tests.checks.conftest import waited_until_timeout
from tests.checks.data_servers import HOST
from tests.conftest import accepting, load_values, run_command

TYPES = ("postgres", "mysql", "redis", "amqp")
USER = {"postgres": {"user": "x"}, "mysql": {"user": "x"}, "redis": {}, "amqp": {}}
LIMIT = 400  # characters: a message a human reads in one glance


def trickle(conn: socket.socket) -> None:
    """A byte every 0.2 s, for 20 s at most: never a whole answer, never a silence."""
    conn.settimeout(0.2)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            conn.recv(4096)
        conn.sendall(b"x")
        time.sleep(0.2)


def http(conn: socket.socket) -> None:
    conn.settimeout(2)
    with contextlib.suppress(TimeoutError):
        conn.recv(4096)
    conn.sendall(
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: 11\r\n"
        b"Connection: close\r\n\r\nbad request"
    )


def silent(conn: socket.socket) -> None:
    """Reads what comes, says nothing, for 20 s at most."""
    conn.settimeout(0.2)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if not conn.recv(4096):
                return
        except TimeoutError:
            pass


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, int]]:
    with (
        accepting(trickle, threaded=True) as trickling,
        accepting(http, threaded=True) as http_port,
        accepting(silent, threaded=True) as silent_port,
    ):
        yield {"trickle": trickling, "http": http_port, "silent": silent_port}


def run(check_type: str, port: int) -> tuple[int, str]:
    values = load_values(check_type, host=HOST, port=port, timeout="1s", **USER[check_type])
    # The subprocess limit only stops a hung test run; the check's own time is not asserted.
    done = run_command(check_command(check_type, values), timeout=30)
    return done.code, done.out


def assert_bounded_not_ok(code: int, out: str) -> str:
    assert code in (2, 3), out
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    assert len(lines[0]) <= LIMIT, out
    assert "Traceback" not in out
    return lines[0]


@pytest.mark.parametrize("check_type", TYPES)
def test_server_that_never_answers(check_type: str, servers: dict[str, int]) -> None:
    line = assert_bounded_not_ok(*run(check_type, servers["silent"]))
    assert waited_until_timeout(line, "1s"), line


@pytest.mark.parametrize("check_type", TYPES)
def test_server_that_trickles(check_type: str, servers: dict[str, int]) -> None:
    assert_bounded_not_ok(*run(check_type, servers["trickle"]))


@pytest.mark.parametrize("check_type", TYPES)
def test_server_that_speaks_http(check_type: str, servers: dict[str, int]) -> None:
    line = assert_bounded_not_ok(*run(check_type, servers["http"]))
    assert "failed" in line or waited_until_timeout(line, "1s"), line


@pytest.mark.parametrize("check_type", TYPES)
def test_connection_that_hangs(check_type: str, unanswered_port: int) -> None:
    line = assert_bounded_not_ok(*run(check_type, unanswered_port))
    assert "did not answer within" in line or "ran out of its" in line, line
    assert waited_until_timeout(line, "1s"), line


def test_probes_run_side_by_side_in_threads_without_signals(servers: dict[str, int]) -> None:
    """Eight probes at once in one process, on the silent and trickling servers: each returns
    CRITICAL by itself, and no signal handler changes."""
    handler = signal.getsignal(signal.SIGALRM)
    results: dict[str, State] = {}

    def one(check_type: str, which: str) -> None:
        parser = argparse.ArgumentParser()
        add_arguments(parser, COMMON_OPTIONS + CHECK_TYPES[check_type].OPTIONS)
        argv = ["--host", HOST, "--port", str(servers[which]), "--timeout", "1s"]
        argv += [word for key, value in USER[check_type].items() for word in (f"--{key}", value)]
        result = CHECK_TYPES[check_type].probe(parser.parse_args(argv))
        results[f"{check_type}/{which}"] = result.state

    threads = [
        threading.Thread(target=one, args=(check_type, which), daemon=True)
        for check_type in TYPES
        for which in ("silent", "trickle")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)  # a stop for a hung test run, not a timing assertion
    assert not any(thread.is_alive() for thread in threads), "a probe did not return"
    assert results == {name: State.CRITICAL for name in results} and len(results) == 8, results
    assert signal.getsignal(signal.SIGALRM) is handler
