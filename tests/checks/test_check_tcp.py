"""check-mdd-tcp, run as Sensu runs it, against real sockets on loopback."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mdd.checks import check_tcp
from tests.checks.addresses import resolve_localhost, slow_resolver
from tests.conftest import accepting, hanging, load_values, run_argv, run_check


@pytest.fixture
def banner_server() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback server that greets with a banner and answers PING with PONG.

    It records every byte it receives, so tests can see what the check sent.
    """
    received: list[bytes] = []

    def talk(conn: socket.socket) -> None:
        conn.settimeout(2)
        data = b""
        try:
            conn.sendall(b"220 relay.local ESMTP ready\r\n")
            while not data.endswith(b"\n"):
                chunk = conn.recv(1024)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            pass  # answer what came
        finally:
            received.append(data)
        conn.sendall(b"+PONG\r\n" if data.strip() == b"PING" else b"-ERR what?\r\n")

    with accepting(talk) as port:
        yield port, received


def test_open_port_is_ok_with_perfdata(banner_server: tuple[int, list[bytes]]) -> None:
    port, _ = banner_server
    run = run_check("tcp", point="relay", host="127.0.0.1", port=port)
    assert run.code == 0, run.out
    assert run.line.startswith(f"TcpCheck OK: relay: 127.0.0.1:{port} accepts connections in ")
    assert " | time=" in run.line and run.line.count("|") == 1


def test_refused_port_is_critical_and_names_the_point(closed_port: int) -> None:
    run = run_check("tcp", point="ldap-port", host="127.0.0.1", port=closed_port)
    assert run.code == 2
    assert (
        run.line == f"TcpCheck CRITICAL: ldap-port: 127.0.0.1:{closed_port} refused the connection"
    )


def test_port_that_never_answers_is_critical_within_timeout(unanswered_port: int) -> None:
    run = run_check("tcp", host="127.0.0.1", port=unanswered_port, timeout="1s")
    assert run.code == 2, run.out
    assert "did not answer within 1s" in run.line


def test_banner_matches_expect(banner_server: tuple[int, list[bytes]]) -> None:
    port, _ = banner_server
    run = run_check("tcp", host="127.0.0.1", port=port, expect=r"^220 .*ESMTP", timeout="2s")
    assert run.code == 0, run.out
    assert "answers /^220 .*ESMTP/" in run.line


def test_banner_mismatch_is_critical_and_shows_what_came(
    banner_server: tuple[int, list[bytes]],
) -> None:
    port, _ = banner_server
    run = run_check("tcp", host="127.0.0.1", port=port, expect="^SSH-2.0", timeout="2s")
    assert run.code == 2, run.out
    assert "banner does not match /^SSH-2.0/" in run.line
    assert "220 relay.local ESMTP ready" in run.line


def test_send_then_expect_reply(banner_server: tuple[int, list[bytes]]) -> None:
    port, received = banner_server
    run = run_check("tcp", host="127.0.0.1", port=port, send=r"PING\r\n", expect=r"\+PONG")
    assert run.code == 0, run.out
    assert received[-1] == b"PING\r\n"


def test_send_with_wrong_reply_is_critical(banner_server: tuple[int, list[bytes]]) -> None:
    port, _ = banner_server
    run = run_check("tcp", host="127.0.0.1", port=port, send=r"HELLO\n", expect=r"\+PONG")
    assert run.code == 2, run.out
    assert "reply does not match" in run.line and "-ERR what?" in run.line


def test_silent_server_reply_times_out_as_critical(silent_port: int) -> None:
    run = run_check("tcp", host="127.0.0.1", port=silent_port, expect="hello", timeout="1s")
    assert run.code == 2, run.out
    assert "got nothing" in run.line


def test_closed_state_is_ok_when_refused(closed_port: int) -> None:
    run = run_check("tcp", host="127.0.0.1", port=closed_port, state="closed")
    assert run.code == 0, run.out
    assert "is closed (connection refused), as required" in run.line


def test_closed_state_is_ok_when_dropped(unanswered_port: int) -> None:
    run = run_check("tcp", host="127.0.0.1", port=unanswered_port, state="closed", timeout="1s")
    assert run.code == 0, run.out
    assert "no answer, filtered" in run.line


def test_closed_state_is_critical_when_port_is_open(silent_port: int) -> None:
    run = run_check("tcp", host="127.0.0.1", port=silent_port, state="closed")
    assert run.code == 2
    assert "accepts connections but must be closed" in run.line


def test_connect_time_over_warn_is_warning(silent_port: int) -> None:
    # Any real connection takes longer than a microsecond: the threshold, not the clock, decides.
    run = run_check("tcp", host="127.0.0.1", port=silent_port, warn="0.000001s")
    assert run.code == 1, run.out
    assert "(warning above 0.001 ms)" in run.line or "warning above" in run.line


def test_connect_time_over_crit_is_critical(silent_port: int) -> None:
    run = run_check("tcp", host="127.0.0.1", port=silent_port, warn="0.000001s", crit="0.000002s")
    assert run.code == 2, run.out
    assert "critical above" in run.line


def test_ipv6_loopback(closed_port: int) -> None:
    server = socket.socket(socket.AF_INET6)
    try:
        server.bind(("::1", 0))
    except OSError:
        pytest.fail("IPv6 loopback is not available on this machine")
    server.listen(1)
    with server:
        run = run_check("tcp", host="::1", port=server.getsockname()[1])
    assert run.code == 0, run.out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--host", "127.0.0.1", "--port", "1", "--timout", "3"], "unexpected arguments: --timout"),
        (["--host", "127.0.0.1", "--port", "99999"], "port must be 1-65535, got 99999"),
        (["--host", "127.0.0.1"], "the following arguments are required: --port"),
        (["--host", "127.0.0.1", "--port", "1", "--timeout", "soon"], "is not a duration"),
        (["--host", "127.0.0.1", "--port", "1", "--expect", "("], "not a valid regular expression"),
        (["--host", "127.0.0.1", "--port", "1", "--state", "ajar"], "expected one of open, closed"),
    ],
)
def test_bad_invocation_is_unknown_in_one_line(argv: list[str], expected: str) -> None:
    run = run_argv("check-mdd-tcp", *argv)
    assert run.code == 3, run.out
    assert run.out.count("\n") == 1, run.out
    assert run.line.startswith("TcpCheck UNKNOWN: ")
    assert expected in run.line
    assert "Traceback" not in run.out


def test_validate_rejects_contradictions() -> None:
    values = load_values("tcp", host="h", port=1, state="closed", expect="x")
    assert check_tcp.validate(values) == [("expect", "'expect' has no meaning with state: closed")]
    values = load_values("tcp", host="h", port=1, warn="2s", crit="1s")
    assert ("warn", "warn must not be longer than crit") in check_tcp.validate(values)
    values = load_values("tcp", host="h", port=1, crit="10s")
    assert check_tcp.validate(values) == [("crit", "'crit' must be shorter than the timeout (10s)")]


# --------------------------------------------------------------------------- addresses


def test_ipv6_address_is_bracketed_in_the_message() -> None:
    probe = socket.socket(socket.AF_INET6)
    probe.bind(("::1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: connections are refused
    run = run_check("tcp", host="::1", port=port, timeout="1s")
    assert run.code == 2, run.out
    assert f"[::1]:{port} refused the connection" in run.line


@pytest.fixture
def dead_then_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """``localhost`` resolves to 127.0.0.1, where the port drops connection attempts, then
    to 127.0.0.2, where the same port accepts connections. Yields the port."""
    for _ in range(20):
        with contextlib.ExitStack() as stack:
            listener = stack.enter_context(socket.socket())
            listener.bind(("127.0.0.2", 0))
            listener.listen(8)
            port: int = listener.getsockname()[1]
            try:
                stack.enter_context(hanging(port))
            except OSError:
                continue
            resolve_localhost(monkeypatch, tmp_path, "127.0.0.1", "127.0.0.2")
            yield port
            return
    pytest.fail("no port free on both 127.0.0.1 and 127.0.0.2")


def test_closed_state_is_critical_when_any_address_accepts(dead_then_open: int) -> None:
    run = run_check("tcp", host="localhost", port=dead_then_open, state="closed", timeout="2s")
    assert run.code == 2, run.out
    assert (
        f"localhost:{dead_then_open} accepts connections on 127.0.0.2 but must be closed"
    ) in run.line


def test_an_address_that_does_not_answer_leaves_time_for_the_next(dead_then_open: int) -> None:
    run = run_check("tcp", host="localhost", port=dead_then_open, timeout="2s")
    assert run.code == 0, run.out
    assert run.out.count("\n") == 1, run.out
    assert f"localhost:{dead_then_open} accepts connections in " in run.line
    assert "on 127.0.0.2 (127.0.0.1 did not answer)" in run.line


def test_validate_uses_the_declared_timeout_default(monkeypatch: pytest.MonkeyPatch) -> None:
    (timeout,) = [opt for opt in check_tcp.OPTIONS if opt.name == "timeout"]
    monkeypatch.setattr(timeout, "default", 5.0)
    values = load_values("tcp", host="h", port=1, crit="6s")
    assert check_tcp.validate(values) == [("crit", "'crit' must be shorter than the timeout (5s)")]


def test_a_resolver_that_does_not_answer_is_reported_as_such(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, silent_port: int
) -> None:
    slow_resolver(monkeypatch, tmp_path, 30)
    run = run_check("tcp", host="localhost", port=silent_port, timeout="1s")
    assert run.code == 2, run.out
    assert run.line == (
        "TcpCheck CRITICAL: cannot resolve localhost: the DNS resolver did not answer in time"
    )
