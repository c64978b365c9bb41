"""tcp ``send``: one documented escape syntax, decoded by the check, the command on one line.

``send: 'PING\\r\\n'`` (single quotes: YAML keeps the backslashes) reaches the check as
written and is sent as ``PING`` CR LF; a raw CR or LF (what YAML's double quotes make) is a
manifest problem, because it would break the generated command over several lines.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mdd import manifest
from mdd.checks._escapes import decode_escapes
from mdd.core.command import point_command
from tests.conftest import accepting, run_argv, run_command

DATACENTER = """\
datacenter: esc1
integration_points:
  - name: redis
    type: tcp
    check:
      host: 127.0.0.1
      port: {port}
      send: {send}
      expect: '\\+PONG'
      timeout: 2s
"""


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("PING", b"PING"),
        (r"PING\r\n", b"PING\r\n"),
        (r"a\tb\0c", b"a\tb\0c"),
        (r"back\\slash\\r", b"back\\slash\\r"),
        (r"\x00\x1b\xff\x7F", b"\x00\x1b\xff\x7f"),
        ("caf\u00e9", "caf\u00e9".encode()),
        ("", b""),
    ],
)
def test_decode_escapes(text: str, sent: bytes) -> None:
    assert decode_escapes(text) == sent


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (r"PING\q", r"unknown escape \q at character 5"),
        ("PING\\", "a lone backslash ends the text"),
        (r"\x1", r"\x1 at character 1 needs two hex digits"),
        (r"\xzz", r"\xzz at character 1 needs two hex digits"),
    ],
)
def test_bad_escapes_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("\\", "\\\\")):
        decode_escapes(text)


@pytest.fixture
def recording_server() -> Iterator[tuple[int, list[bytes]]]:
    """Answers +PONG to exactly b"PING\\r\\n", -ERR to anything else; records what came."""
    received: list[bytes] = []

    def talk(conn: socket.socket) -> None:
        conn.settimeout(2)
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(1024)
            if not chunk:
                break
            data += chunk
        received.append(data)
        conn.sendall(b"+PONG\r\n" if data == b"PING\r\n" else b"-ERR\r\n")

    with accepting(talk) as port:
        yield port, received


def _load(tmp_path: Path, port: int, send: str) -> manifest.Manifest:
    path = tmp_path / "esc1.yaml"
    path.write_text(DATACENTER.format(port=port, send=send), encoding="utf-8")
    return manifest.load(path)


def test_single_quoted_escapes_are_sent_as_bytes_by_the_generated_command(
    tmp_path: Path, recording_server: tuple[int, list[bytes]]
) -> None:
    port, received = recording_server
    [point] = _load(tmp_path, port, r"'PING\r\n'").points
    assert point.options["send"] == r"PING\r\n"  # as written: decoded by the check
    command = point_command(point)
    assert "\n" not in command and "\r" not in command
    run = run_command(command)
    assert run.code == 0, run.out
    assert received == [b"PING\r\n"]


@pytest.mark.parametrize(
    ("send", "kept"), [('"PING\\r\\n"', r"PING\r\n"), ("|\n        PING", r"PING\n")]
)
def test_raw_line_breaks_in_send_mean_the_same_bytes(tmp_path: Path, send: str, kept: str) -> None:
    """Double quotes (or a block scalar) give YAML-decoded control characters: they are
    written back as escapes, so the command stays on one line and sends the same bytes."""
    [point] = _load(tmp_path, 1, send).points
    assert point.options["send"] == kept
    command = point_command(point)
    assert "\n" not in command and "\r" not in command


def test_a_bad_escape_is_a_manifest_problem(tmp_path: Path) -> None:
    with pytest.raises(manifest.ManifestError) as caught:
        _load(tmp_path, 1, r"'PING\e'")
    [problem] = caught.value.problems
    assert (problem.line, problem.column) == (8, 13)
    assert problem.message.startswith(r"send: unknown escape \e at character 5: the escapes are ")


def test_the_check_decodes_escapes_given_by_hand(
    recording_server: tuple[int, list[bytes]],
) -> None:
    port, received = recording_server
    run = run_argv(
        "check-mdd-tcp",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--send",
        r"PING\r\n",
        "--expect",
        r"\+PONG",
        "--timeout",
        "2s",
    )
    assert run.code == 0, run.out
    assert received == [b"PING\r\n"]
    run = run_argv("check-mdd-tcp", "--host", "127.0.0.1", "--port", str(port), "--send", "\\q")
    assert run.code == 3, run.out
    assert run.line.startswith("TcpCheck UNKNOWN: bad arguments: argument --send: unknown escape")
