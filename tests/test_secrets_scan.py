"""A planted secret never shows: not in generated definitions, argv, output or errors.

The http check's ``secret_headers`` in each reference form (``{file: PATH}``, ``{env: NAME}``,
a plain path) carries a known token to a real loopback server that echoes it back in every
way a server can: whole, cut short in an excerpt, in upper case, in base64, JSON-escaped
(``\\/``), percent-encoded, in the reason phrase, in a Location header, in a JSON value the
check quotes. Every scan must find zero occurrences of the token in any case or encoding, nor
its start cut before ``...`` (issue 17: only the secret and its encodings are masked, so a
few characters it shares with a name are not looked for).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from mdd.manifest import load
from mdd.sensu.classic import render
from tests.conftest import BIN, accepting, load_values, run_command

pytestmark = pytest.mark.slow  # see CONTRIBUTING.md: run in CI, skipped while iterating

SECRET = "Bearer tok/3n+Sup3rS3cret-42_xyz"
TOKEN = SECRET.split()[1]
PART = 6


def leaks(text: str) -> list[str]:
    """The secret (or its token) in any case or encoding found in ``text``, and a start of
    it of ``PART`` characters cut before ``...``."""
    import base64

    forms = {SECRET, TOKEN, json.dumps(SECRET)[1:-1].replace("/", "\\/"), quote(SECRET, safe="")}
    forms |= {base64.b64encode(f.encode()).decode() for f in (SECRET, TOKEN)}
    folded = text.lower()
    found = [form for form in forms if form.lower() in folded]
    found += [f"{f[:PART]}..." for f in (SECRET, TOKEN) if f"{f[:PART]}...".lower() in folded]
    return found


ECHOES = {
    "whole": lambda s: (200, "OK", {}, f"you sent {s}, which is wrong"),
    "token only": lambda s: (401, "Unauthorized", {}, f"token {s.split()[1]} is not valid"),
    "cut short": lambda s: (403, "Forbidden", {}, f"prefix {s.split()[1][:20]}... unknown"),
    "upper case": lambda s: (403, "Forbidden", {}, f"TOKEN {s.upper()} REFUSED"),
    "base64": lambda s: (403, "Forbidden", {}, f"seen {base64.b64encode(s.encode()).decode()}"),
    "JSON-escaped": lambda s: (
        200,
        "OK",
        {"Content-Type": "application/json"},
        json.dumps({"you": s}).replace("/", "\\/"),
    ),
    "percent-encoded": lambda s: (400, "Bad", {}, f"bad header {quote(s, safe='')}"),
    "reason phrase": lambda s: (403, f"Forbidden for {s}", {}, ""),
    "Location": lambda s: (302, "Found", {"Location": f"/login?token={quote(s)}"}, ""),
    "json value": lambda s: (200, "OK", {"Content-Type": "application/json"},
                             json.dumps({"status": s})),
}  # fmt: skip


@pytest.fixture(scope="module")
def echo_server() -> Iterator[tuple[int, threading.Event]]:
    """Answers by the request path (``/whole``, ...), echoing the Authorization header;
    ``/hold`` keeps the connection open until the event is set."""
    release = threading.Event()

    def handle(conn: socket.socket) -> None:
        conn.settimeout(10)
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(65536)
            if not chunk:
                return
            request += chunk
        head = request.decode("latin-1").split("\r\n")
        path = head[0].split()[1].lstrip("/")
        auth = next(
            (h.split(":", 1)[1].strip() for h in head if h.lower().startswith("authorization:")),
            "",
        )
        if path == "hold":
            release.wait(20)
            return
        status, reason, headers, body = ECHOES[path.replace("_", " ")](auth)
        data = body.encode()
        lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(data)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)

    with accepting(handle, threaded=True) as port:
        yield port, release
    release.set()


@pytest.fixture(scope="module")
def refs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("secrets")
    path = folder / "token"
    path.write_text(SECRET + "\n")
    os.environ["MDD_TEST_TOKEN"] = SECRET  # the checks inherit it, as from the agent
    return {"file": {"file": str(path)}, "env": {"env": "MDD_TEST_TOKEN"}, "plain path": str(path)}


@pytest.mark.parametrize("form", ["file", "env", "plain path"])
@pytest.mark.parametrize("echo", list(ECHOES))
def test_echoed_secret_never_reaches_the_output(
    echo_server: tuple[int, threading.Event], refs: dict[str, object], form: str, echo: str
) -> None:
    port = echo_server[0]
    options = {
        "url": f"http://127.0.0.1:{port}/{echo.replace(' ', '_')}",
        "secret_headers": {"Authorization": refs[form]},
        "timeout": "3s",
    }
    if echo == "json value":
        options["json"] = {"status": "UP"}
    elif echo in ("whole", "JSON-escaped"):
        options["contains"] = "welcome"
    from mdd.core.command import check_command

    command = check_command("http", load_values("http", **options), "secret-scan")
    assert not leaks(command)
    run = run_command(command)
    assert run.code != 0, run.out  # every echo is a failure the check reports
    assert not leaks(run.out), run.out
    assert "[secret]" in run.out or echo == "Location", run.out


def test_generated_definitions_hold_only_references(
    refs: dict[str, object], tmp_path: Path
) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(
        "datacenter: x\nintegration_points:\n"
        + "".join(
            f"  - {{name: p{i}, type: http, check: {{url: 'http://127.0.0.1:1/', "
            f"secret_headers: {{Authorization: {json.dumps(ref)}}}}}}}\n"
            for i, ref in enumerate(refs.values())
        )
    )
    text = render(load(path))
    assert not leaks(text)
    commands = [c["command"] for c in json.loads(text)["checks"].values()]
    assert any("--secret-headers Authorization=env:MDD_TEST_TOKEN" in c for c in commands)


def test_argv_of_a_running_check_holds_no_secret(
    echo_server: tuple[int, threading.Event], refs: dict[str, object]
) -> None:
    """While the server holds the connection, read every process's /proc/PID/cmdline."""
    port, release = echo_server
    from mdd.core.command import check_command

    procs = []
    for ref in refs.values():
        command = check_command(
            "http",
            load_values(
                "http",
                url=f"http://127.0.0.1:{port}/hold",
                secret_headers={"Authorization": ref},
                timeout="5s",
            ),  # fmt: skip
        )
        env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
        procs.append(subprocess.Popen(["/bin/sh", "-c", command], env=env, stdout=subprocess.PIPE))
    try:
        seen = 0
        deadline = time.monotonic() + 5
        while seen < len(procs) and time.monotonic() < deadline:
            seen = 0
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                with contextlib.suppress(OSError):
                    cmdline = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
                    assert not leaks(cmdline.replace("\0", " ")), cmdline
                    seen += "check-mdd-http" in cmdline and "/hold" in cmdline
            time.sleep(0.1)
        assert seen >= len(procs), "the checks were not found running"
    finally:
        release.set()
        for proc in procs:
            out, _ = proc.communicate(timeout=10)
            assert not leaks(out.decode())
        release.clear()


@pytest.mark.parametrize(
    "content", [SECRET + "\nsecond line\n", SECRET + "\0", "€ " + SECRET, "   \n"]
)
def test_error_messages_about_a_bad_secret_file_hold_no_secret(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "token"
    path.write_text(content)
    run = run_command(
        " ".join(
            [
                "check-mdd-http --url http://127.0.0.1:1/",
                f"--secret-headers Authorization={path} --timeout 2s",
            ]
        )
    )
    assert run.code == 3, run.out
    assert not leaks(run.out), run.out


def test_a_fifo_secret_file_is_unknown_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "token"
    os.mkfifo(fifo)  # no writer ever comes
    started = time.monotonic()
    run = run_command(f"check-mdd-http --url http://127.0.0.1:1/ --secret-headers X-Token={fifo}")
    assert run.code == 3 and "not a regular file" in run.out, run.out
    assert time.monotonic() - started < 10  # a hang guard, not a timing: the timeout is 10s


@pytest.mark.parametrize("secret", ["abc", "pässwörd", "x/y"], ids=["short", "latin-1", "slash"])
def test_short_and_non_ascii_secrets_echoed_back_are_hidden(
    echo_server: tuple[int, threading.Event], tmp_path: Path, secret: str
) -> None:
    path = tmp_path / "token"
    path.write_text(secret)  # UTF-8 in the file; sent as Latin-1 bytes in the header
    from mdd.core.command import check_command

    for echo in ("whole", "JSON-escaped", "percent-encoded"):
        options = {
            "url": f"http://127.0.0.1:{echo_server[0]}/{echo.replace(' ', '_')}",
            "secret_headers": {"Authorization": {"file": str(path)}},
            "contains": "welcome",
            "timeout": "3s",
        }
        run = run_command(check_command("http", load_values("http", **options)))
        shown = run.out.replace("[secret]", "")
        forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret)[1:-1].replace("/", "\\/")}
        forms.add(quote(secret, safe=""))
        assert not [form for form in forms if form in shown], run.out
        assert "[secret]" in run.out, run.out  # the echo reached the message, hidden
