"""``{client: ...}`` secrets read from the check's stdin, as sensu-client writes them, against
a stdin that never closes, stays empty, or holds a hostile document (issue 18)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN

DEFINITION = json.dumps({"client": {"name": "agent1", "mdd": {"pw": "s3cret"}}, "check": {}})


def start(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            str(BIN / "check-mdd-redis"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--password-client",
            "mdd.pw",
            "--timeout",
            "1s",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    """The check's exit status and output; it must end without stdin ever closing (the
    pipe's write end stays open in this process until it has ended)."""
    assert proc.stdout is not None and proc.stderr is not None
    try:
        proc.wait(timeout=60)  # not communicate(): it would close stdin
        out, err = proc.stdout.read(), proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert b"Traceback" not in err, err
    return proc.returncode, out.decode()


@pytest.fixture
def closed(closed_port: int) -> int:
    return closed_port


def test_a_stdin_that_never_closes_and_stays_empty_does_not_hold_the_check(closed: int) -> None:
    proc = start(closed)
    assert proc.stdin is not None
    # nothing written, and stdin stays open: the check waits for it only so long
    code, out = finish(proc)
    assert code == 3, out
    assert "stdin stayed open and empty" in out, out


def test_a_definition_written_without_closing_stdin_is_used_at_once(closed: int) -> None:
    proc = start(closed)
    assert proc.stdin is not None
    proc.stdin.write(DEFINITION.encode())
    proc.stdin.flush()  # and never closed: the complete document is enough
    code, out = finish(proc)
    assert code == 2, out  # the secret was found; the closed port is the problem
    assert "refused" in out and "s3cret" not in out


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ("[" * 100_000, "stdin held JSON nested too deeply to read"),
        ('{"client": ' * 50_000, "stdin held JSON nested too deeply to read"),
        ("not json at all", "stdin held something that is not a JSON document"),
    ],
)
def test_a_hostile_stdin_is_a_clear_unknown(closed: int, document: str, says: str) -> None:
    proc = subprocess.run(
        [str(BIN / "check-mdd-redis"), "--host", "127.0.0.1", "--port", str(closed)]
        + ["--password-client", "mdd.pw", "--timeout", "1s"],
        input=document.encode(),
        capture_output=True,
        timeout=60,
    )
    out = proc.stdout.decode()
    assert proc.returncode == 3, out + proc.stderr.decode()
    assert says in out and out.count("\n") == 1, out
    assert b"Traceback" not in proc.stderr


def test_more_than_the_stdin_limit_is_refused(closed: int, tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (2 << 20))
    with big.open("rb") as stdin:
        proc = subprocess.run(
            [str(BIN / "check-mdd-redis"), "--host", "127.0.0.1", "--port", str(closed)]
            + ["--password-client", "mdd.pw", "--timeout", "1s"],
            stdin=stdin,
            capture_output=True,
            timeout=60,
            env=dict(os.environ),
        )
    assert proc.returncode == 3 and b"stdin held more than 1 MiB" in proc.stdout, proc.stdout


def test_a_deeply_nested_json_expectation_is_a_clear_unknown() -> None:
    proc = subprocess.run(
        [
            str(BIN / "check-mdd-http"),
            "--url",
            "http://127.0.0.1:9/",
            "--json",
            "a=" + "[" * 100_000,
        ],
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    out = proc.stdout.decode()
    assert proc.returncode == 3, out
    assert (
        "is nested too deeply (over 32 levels of lists and objects)" in out and out.count("\n") == 1
    )
    assert b"Traceback" not in proc.stderr and len(out) < 1000
