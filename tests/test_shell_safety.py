"""No manifest value ever becomes shell syntax in a generated command.

Sensu runs a check's ``command`` with ``/bin/sh -c``. These tests put values full of shell
syntax into manifest options, generate the Sensu definition, take its ``command`` and run it
through ``/bin/sh -c`` (``conftest.run_command``) from an empty folder, against a real
loopback server that records what it received. Nothing may run (no ``PWNED`` file appears, a
glob does not expand) and the server must receive each value exactly as the manifest holds it.
Point names cannot carry such text: the manifest loader only accepts ``[a-z0-9_.-]`` names.
"""

from __future__ import annotations

import json
import re
import shlex
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mdd.core.model import IntegrationPoint, Manifest
from mdd.sensu.classic import render

from .conftest import load_values, run_command

PWNED = "PWNED"
DECOY = "decoy.txt"  # an unquoted * or ? in the command would expand to this name

# Each one is harmless only if the shell never sees it as syntax.
NASTY = [
    f"$(touch {PWNED})",
    f"`touch {PWNED}`",
    f"; touch {PWNED}; echo ",
    f"' ; touch {PWNED} ; '",
    f'" ; touch {PWNED} ; "',
    f"x && touch {PWNED} || touch {PWNED}",
    f"x | tee {PWNED}",
    f"> {PWNED}",
    f"line one\ntouch {PWNED}\n",
    "* ? [a-z] ~ $HOME ${IFS} \\ \\n %s {a,b}",
    f"-x --help; touch {PWNED}",
    f'it\'s "$(touch {PWNED})" `touch {PWNED}` ; touch {PWNED} && touch {PWNED} '
    f"| tee {PWNED} > {PWNED}\n${{PATH}} 'end'",
]
NASTY_ONE_LINE = [v for v in NASTY if "\n" not in v]  # header values cannot hold a line break


@pytest.fixture
def empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The checks run from here: a folder holding only the decoy file."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    (folder / DECOY).write_text("decoy\n")
    monkeypatch.chdir(folder)
    return folder


def assert_nothing_ran(folder: Path) -> None:
    assert sorted(p.name for p in folder.iterdir()) == [DECOY]
    assert (folder / DECOY).read_text() == "decoy\n"


def sensu_command(check_type: str, **manifest_values: Any) -> str:
    """The ``command`` of the Sensu definition mdd generates for one point."""
    point = IntegrationPoint("nasty", check_type, load_values(check_type, **manifest_values))
    manifest = Manifest(Path("/manifests/ams1.yaml"), "ams1", None, (point,))
    command: str = json.loads(render(manifest))["checks"]["mdd_ams1_nasty"]["command"]
    return command


# --------------------------------------------------------------------------- tcp send


@dataclass
class EchoServer:
    port: int
    received: bytearray = field(default_factory=bytearray)


@pytest.fixture
def echo_server() -> Iterator[EchoServer]:
    """Accepts one connection, records every byte and sends it back, until the peer closes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(20)
    server = EchoServer(listener.getsockname()[1])

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(20)
            while True:
                try:
                    chunk = conn.recv(4096)
                except OSError:
                    return
                if not chunk:
                    return
                server.received += chunk
                conn.sendall(chunk)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server
    listener.close()
    thread.join(timeout=5)


def as_send(value: str) -> str:
    """``value`` written in the escape syntax of tcp ``send`` (checks/_escapes.py)."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


@pytest.mark.parametrize("value", NASTY)
def test_tcp_send_reaches_the_server_literally(
    value: str, echo_server: EchoServer, empty_cwd: Path
) -> None:
    command = sensu_command(
        "tcp",
        host="127.0.0.1",
        port=echo_server.port,
        send=as_send(value),  # backslashes and line breaks as escapes: one line, decoded
        expect=re.escape(value) + r"\Z",  # a regex full of shell syntax too
        timeout="5s",
    )
    run = run_command(command)
    assert_nothing_ran(empty_cwd)
    assert bytes(echo_server.received) == value.encode()
    # The check saw its own value come back and matched it: it got expect literally too.
    assert run.code == 0, run.out
    assert run.line.startswith("TcpCheck OK: nasty: "), run.out


def test_command_words_are_the_manifest_values(empty_cwd: Path) -> None:
    """What /bin/sh hands the check is what the manifest says, word for word."""
    for nasty in NASTY:
        value = as_send(nasty)
        command = sensu_command("tcp", host="127.0.0.1", port=1, send=value)
        assert "\n" not in command
        program, _, arguments = command.partition(" ")
        assert program == "check-mdd-tcp"
        # The generated text, with printf in place of the check: sh prints each word it passes.
        run = run_command(f"printf '%s\\0' {arguments}")
        words = run.out.split("\0")[:-1]
        assert words == shlex.split(arguments)
        assert words[-2:] == ["--send", value] or words[-1] == f"--send={value}", words
    assert_nothing_ran(empty_cwd)


# --------------------------------------------------------------------------- http


@dataclass
class Seen:
    path: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class RecordingHttp:
    port: int
    reply: bytes = b""
    seen: list[Seen] = field(default_factory=list)


@pytest.fixture
def http_server() -> Iterator[RecordingHttp]:
    """Answers every request 200 with ``reply`` as the body, and records the request."""
    recorder = RecordingHttp(0)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            recorder.seen.append(Seen(self.path, list(self.headers.items()), body))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(recorder.reply)))
            self.end_headers()
            self.wfile.write(recorder.reply)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield recorder
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.mark.parametrize("value", NASTY_ONE_LINE)
def test_http_header_body_and_contains_reach_the_server_literally(
    value: str, http_server: RecordingHttp, empty_cwd: Path
) -> None:
    body = f"{value}\n{value}"  # a request body may hold line breaks
    http_server.reply = f"status: {value} ok".encode()
    query = "/health?a=1&b=$(touch%20PWNED)&c=;x"
    command = sensu_command(
        "http",
        url=f"http://127.0.0.1:{http_server.port}{query}",
        method="POST",
        headers={"X-Mdd-Test": value},
        body=body,
        contains=f"{value} ok",
        timeout="5s",
    )
    run = run_command(command)
    assert_nothing_ran(empty_cwd)
    (seen,) = http_server.seen
    assert seen.path == query
    # HTTP drops the blanks around a header value (RFC 9110 OWS); the rest arrives as written.
    assert ("X-Mdd-Test", value.strip(" ")) in seen.headers
    assert seen.body == body.encode()
    assert run.code == 0, run.out  # the body held `contains`, taken literally


def test_http_contains_that_is_not_there_is_critical_not_shell(
    http_server: RecordingHttp, empty_cwd: Path
) -> None:
    """The same values, but the page lacks them: the check says so, and nothing runs."""
    http_server.reply = b"status: fine"
    for value in NASTY:
        command = sensu_command(
            "http", url=f"http://127.0.0.1:{http_server.port}/", contains=value, timeout="5s"
        )
        run = run_command(command)
        assert run.code == 2, run.out
    assert_nothing_ran(empty_cwd)


# --------------------------------------------------------------------------- whole manifests


def evil_manifest(folder: Path) -> Path:
    path = folder / "evil.yaml"
    path.write_text(
        """\
datacenter: evil
description: "{{ sub }} {{ tick }}"
vars:
  sub: "$(touch PWNED)"
  tick: "`touch PWNED`"
  semi: "; touch PWNED;"
  dash: "--help"
  opt: "-x"
  quote: "it's \\"q\\""
integration_points:
  - name: -dash-name
    type: tcp
    owner: "{{ sub }}; {{ semi }}"
    description: "{{ tick }} | tee PWNED"
    check:
      host: "--help"
      port: 1
      send: "{{ dash }} {{ sub }}"
      expect: "{{ opt }}(x|$(touch PWNED))"
      timeout: 1s
  - name: http.evil
    type: http
    check:
      url: "https://127.0.0.1:1/?a=$(touch%20PWNED)&b=`x`;c"
      headers: {X-Evil: "{{ semi }} {{ quote }}", X-Dash: "{{ opt }}"}
      body: "{{ dash }}\\n{{ sub }}"
      contains: "{{ opt }}"
      matches: "{{ dash }}|;|`"
      json: {"a.b": "{{ sub }}", "-c": "{{ dash }}"}
      secret_headers: {Authorization: {file: "/tmp/--help $(touch PWNED)"}}
      ca_file: "/-ca $(touch PWNED).pem"
      connect_to: "-x:1"
      timeout: 1s
  - name: tls_evil
    type: tls
    check:
      host: "-oProxyCommand=touch"
      servername: "--verify"
      ca_file: "/{{ opt }}"
      port: 1
      timeout: 1s
"""
    )
    return path


def test_no_manifest_value_becomes_syntax_or_an_option(tmp_path: Path, empty_cwd: Path) -> None:
    """Every value of the evil manifest reaches its check as the one value of its own flag."""
    import argparse

    from mdd.checks.api import COMMON_OPTIONS, add_arguments
    from mdd.checks.registry import CHECK_TYPES
    from mdd.core.command import check_argv
    from mdd.manifest import load

    manifest = load(evil_manifest(tmp_path))
    checks = json.loads(render(manifest))["checks"]
    assert len(checks) == 3
    for point in manifest.points:
        command = checks[manifest.check_name(point)]["command"]
        program, _, arguments = command.partition(" ")
        # What /bin/sh hands the program, word for word (printf stands in for the check).
        words = run_command(f"printf '%s\\0' {arguments}").out.split("\0")[:-1]
        assert [program, *words] == check_argv(point.type, point.options, point.name)
        # And the check's own parser reads back exactly the manifest's values, no other flag.
        module = CHECK_TYPES[point.type]
        parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
        add_arguments(parser, COMMON_OPTIONS + module.OPTIONS)
        parsed = vars(parser.parse_args(words))
        assert parsed.pop("point") == point.name
        for opt in module.OPTIONS:
            expected = point.options.get(opt.name, opt.default)
            found = parsed[opt.name]
            if opt.multiple or opt.pairs:
                found = None if found is None else list(found)
                expected = None if expected is None else list(expected)
                if found is None and expected == opt.default:
                    continue
            assert found == expected, (opt.name, found, expected)
        run_command(command)  # and run it for real: nothing may happen in the folder
    assert_nothing_ran(empty_cwd)
