"""Issue 18, files and manifests: every file read bounded, extends confined, nothing overwritten.

Each case is a real file handed to a real ``mdd`` process (or a check, as Sensu runs it);
the cases that could exhaust memory run under ``RLIMIT_AS`` in the child, so a regression
fails here instead of taking the machine down. The caps are in docs/reliability.md
("Files and manifests").
"""

from __future__ import annotations

import fcntl
import json
import os
import resource
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mdd.core.files import FileReadError, load_json, read_capped
from mdd.manifest.layers import MAX_EXTENDS_DEPTH, MAX_EXTENDS_LIST
from mdd.manifest.loops import MAX_POINTS
from mdd.runner.states import (
    HISTORY_LIMIT,
    HISTORY_RECENT,
    STATE_LIMIT,
    TRANSITIONS_LIMIT,
    StateFile,
    lock_path_of,
    timestamp,
)
from tests.runner.helpers import free_port, tcp, write_manifest

pytestmark = pytest.mark.slow  # see CONTRIBUTING.md: run in CI, skipped while iterating

BIN = Path(sys.executable).parent
MEMORY = 512 << 20  # bytes of address space an mdd child may take in the memory cases
SECRET = "s3cr3t-Tok3n-0123456789"  # planted in files mdd must not quote
SHADOW = f"root:{SECRET}:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\ntoken: {SECRET}\n"
POINT = "integration_points:\n  - {name: p, type: tcp, check: {host: 127.0.0.1, port: 1}}\n"


def run(*args: str, cwd: Path, limit: int | None = MEMORY, stdin: bytes = b"") -> tuple[int, str]:
    """``mdd ARGS`` under a memory limit; (exit status, standard output + error)."""

    def cap() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    proc = subprocess.run(
        [str(BIN / "mdd"), *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=120,  # a hang guard only: every case here ends in about a second
        preexec_fn=cap,
    )
    return proc.returncode, (proc.stdout + proc.stderr).decode("utf-8", "replace")


def clean(output: str) -> None:
    assert "Traceback" not in output and "RecursionError" not in output, output
    assert "MemoryError" not in output, output


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """tmp/manifests (the manifests folder), and tmp/outside/shadow.yaml beside it."""
    (tmp_path / "manifests" / "base").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "shadow.yaml").write_text(SHADOW)
    (tmp_path / "outside" / "shadow").write_text(SHADOW)
    return tmp_path / "manifests"


def dc(folder: Path, extends: str, name: str = "dc1.yaml") -> Path:
    path = folder / name
    path.write_text(f"datacenter: dc1\nextends: {extends}\n{POINT}")
    return path


# --------------------------------------------------------------------------- extends


@pytest.mark.parametrize(
    ("extends", "said"),
    [
        ("{outside}/shadow.yaml", "is an absolute path"),
        ("/etc/shadow", "is an absolute path"),
        ("/etc/passwd", "is an absolute path"),
        ("../outside/shadow.yaml", "is outside the manifests folder"),
        ("base/../../outside/shadow.yaml", "is outside the manifests folder"),
        ("link.yaml", "leads (through a symbolic link) to"),
        ("base/dir-link/shadow.yaml", "leads (through a symbolic link) to"),
        ("zero.yaml", "leads (through a symbolic link) to /dev/zero"),
        ("token.txt", "is not a manifest"),
    ],
)
def test_extends_reads_nothing_outside_the_manifests_folder(
    folder: Path, extends: str, said: str
) -> None:
    outside = folder.parent / "outside"
    (folder / "link.yaml").symlink_to(outside / "shadow.yaml")
    (folder / "base" / "dir-link").symlink_to(outside)
    (folder / "zero.yaml").symlink_to("/dev/zero")
    (folder / "token.txt").write_text(SHADOW)
    path = dc(folder, extends.format(outside=outside))
    code, output = run("validate", str(path), cwd=folder.parent)
    clean(output)
    assert code == 2 and f"{path}:2:10: extends: " in output and said in output, output
    assert SECRET[:6] not in output and "root:" not in output and "daemon" not in output


def test_a_base_that_is_not_a_mapping_is_not_quoted(folder: Path) -> None:
    (folder / "base" / "token.yaml").write_text(SECRET + "\n")
    path = dc(folder, "base/token.yaml")
    code, output = run("validate", str(path), cwd=folder.parent)
    assert code == 2 and "a base manifest is a mapping" in output, output
    assert "its content is not shown" in output and SECRET[:6] not in output


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_base_that_is_no_file_is_refused_without_waiting(folder: Path, kind: str) -> None:
    base = folder / "base" / "pipe.yaml"
    if kind == "fifo":
        os.mkfifo(base)  # no writer: open() would wait for ever
    else:
        base.mkdir()
    path = dc(folder, "base/pipe.yaml")
    code, output = run("validate", str(path), cwd=folder.parent)
    clean(output)
    what = "a FIFO (named pipe)" if kind == "fifo" else "a folder"
    assert code == 2 and f"the base manifest is {what}, not a file: nothing read" in output


def test_a_chain_of_a_thousand_bases_is_refused_at_the_depth_cap(folder: Path) -> None:
    for n in range(1000):
        (folder / "base" / f"b{n}.yaml").write_text(f"extends: b{n + 1}.yaml\n" if n < 999 else "")
    path = dc(folder, "base/b0.yaml")
    code, output = run("validate", str(path), cwd=folder.parent)
    clean(output)
    assert code == 2, output
    assert f"bases extend bases more than {MAX_EXTENDS_DEPTH} levels deep" in output, output
    assert output.count("levels deep") == 1


def test_one_base_listed_100000_times_is_refused(folder: Path) -> None:
    (folder / "base" / "b.yaml").write_text("vars: {a: '1'}\n")
    path = folder / "dc1.yaml"
    path.write_text(f"datacenter: dc1\nextends: [{', '.join(['base/b.yaml'] * 100_000)}]\n{POINT}")
    code, output = run("validate", str(path), cwd=folder.parent)
    clean(output)
    assert code == 2 and f"over the limit of {MAX_EXTENDS_LIST}" in output, output
    assert len(output.splitlines()) == 2  # the problem and the summary
    path.write_text(f"datacenter: dc1\nextends: [base/b.yaml, ./base/b.yaml]\n{POINT}")
    code, output = run("validate", str(path), cwd=folder.parent)
    assert code == 2 and "2:24: extends: ./base/b.yaml is listed twice" in output, output


def test_bases_inside_the_folder_still_work(folder: Path) -> None:
    (folder / "base" / "global.yaml").write_text("vars: {domain: x.example}\n")
    (folder / "base" / "eu.yaml").write_text("extends: global.yaml\n")
    (folder / "shared").mkdir()
    (folder / "shared" / "link.yaml").symlink_to("../base/eu.yaml")  # a link inside: fine
    path = dc(folder, "[base/eu.yaml, shared/link.yaml]")
    code, output = run("validate", str(path), cwd=folder.parent)
    assert code == 0, output


@pytest.mark.parametrize("source", ["{outside}/shadow", "/etc/passwd", "{outside}/shadow.yaml"])
def test_init_from_a_file_that_is_not_a_manifest_quotes_nothing(folder: Path, source: str) -> None:
    source = source.format(outside=folder.parent / "outside")
    code, output = run("init", "dc2", "--from", source, "-o", str(folder / "dc2.yaml"), cwd=folder)
    clean(output)
    assert code == 2 and output.rstrip().endswith("nothing written"), output
    assert SECRET[:6] not in output and "root:" not in output and "daemon" not in output
    assert not (folder / "dc2.yaml").exists()


# --------------------------------------------------------------------------- for_each, points


def test_for_each_over_100000_items_is_refused_at_its_list(folder: Path) -> None:
    items = ", ".join(f"h{n}" for n in range(100_000))
    path = folder / "dc1.yaml"
    path.write_text(
        "datacenter: dc1\nintegration_points:\n"
        f'  - name: "p-{{{{ item }}}}"\n    for_each: [{items}]\n    type: tcp\n'
        '    check: {host: "{{ item }}", port: 1}\n'
    )
    for command in ("validate", "generate"):
        code, output = run(command, str(path), cwd=folder.parent)
        clean(output)
        assert code == 2, output
        assert f"{path}:4:15: for_each: 100,000 items would make 100,000 points" in output
        assert f"over the limit of {MAX_POINTS:,} points per datacenter" in output


def test_more_points_than_the_cap_are_refused(folder: Path) -> None:
    points = "".join(
        f"  - {{name: p{n}, type: tcp, check: {{host: 127.0.0.1, port: 1}}}}\n"
        for n in range(MAX_POINTS + 1)
    )
    path = folder / "dc1.yaml"
    path.write_text(f"datacenter: dc1\nintegration_points:\n{points}")
    code, output = run("validate", str(path), cwd=folder.parent)
    assert code == 2 and f"10,001 points, over the limit of {MAX_POINTS:,}" in output, output


# --------------------------------------------------------------------------- state file


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    """tmp/manifests/lab1.yaml, one tcp point on a closed loopback port."""
    write_manifest(tmp_path, [tcp("a", free_port())])
    return tmp_path


def state_document(history: list[dict[str, object]], points: dict[str, object]) -> str:
    return json.dumps(
        {
            "format": "mdd-state",
            "version": 1,
            "datacenter": "lab1",
            "created": "2026-01-01T00:00:00Z",
            "points": points,
            "history": history,
        }
    )


@pytest.mark.parametrize("kind", ["fifo", "device", "deep", "huge", "long-number"])
def test_a_state_file_that_cannot_be_one_is_refused_in_bounded_memory(lab: Path, kind: str) -> None:
    state = lab / "state.json"
    if kind == "fifo":
        os.mkfifo(state)
        expected = "is a FIFO (named pipe), not a file: nothing read"
    elif kind == "device":
        state = Path("/dev/zero")
        expected = "is a device, not a file: nothing read"
    elif kind == "deep":
        state.write_text("[" * 100_000 + "]" * 100_000)
        expected = "is nested too deeply (over 64 levels"
    elif kind == "long-number":
        state.write_text('{"format": ' + "9" * 10_000 + "}")
        expected = "cannot be read as JSON"
    else:
        with state.open("wb") as handle:
            handle.truncate(STATE_LIMIT + 1)  # sparse: nothing to read, a lot to allocate
        expected = f"{STATE_LIMIT + 1:,} bytes, over the limit of {STATE_LIMIT:,} bytes (64 MiB)"
    for args in (
        ["report", "lab1", "--state", str(state), "-o", str(lab / "r.html")],
        ["verify", "lab1", "--state", str(state)],
        ["docs", "lab1", "--state", str(state)],
    ):
        code, output = run(*args, cwd=lab)
        clean(output)
        said = "is not a file" if args[0] == "docs" and kind in ("fifo", "device") else expected
        assert code in (1, 2) and said in output, (args, output)
    assert not (lab / "r.html").exists()


def test_a_long_history_is_summarised_and_what_lead_times_need_is_kept(lab: Path) -> None:
    """400,000 samples (about 20 MB): the report renders in bounded memory, and once loaded
    the history holds at most HISTORY_LIMIT samples: the first, the last of each older day,
    the newest HISTORY_RECENT as taken."""
    start = 1_700_000_000
    history = [
        {"at": timestamp(start + 60 * n), "green": n % 2, "total": 1} for n in range(400_000)
    ]
    state = lab / "state.json"
    state.write_text(state_document(history, {}))
    code, output = run("report", "lab1", "--state", str(state), "-o", str(lab / "r.html"), cwd=lab)
    assert code == 0, output
    loaded = StateFile.load("lab1", state)
    assert len(loaded.history) <= HISTORY_LIMIT
    assert loaded.history[0] == history[0]
    assert loaded.history[-HISTORY_RECENT:] == history[-HISTORY_RECENT:]
    days = [sample["at"][:10] for sample in loaded.history[1:-HISTORY_RECENT]]
    assert len(days) == len(set(days))  # one sample per older day


def test_each_point_keeps_first_seen_first_green_and_its_transitions(lab: Path) -> None:
    from mdd.manifest import load
    from mdd.runner.runner import Outcome

    manifest = load(lab / "manifests" / "lab1.yaml")
    point = manifest.points[0]
    from mdd.checks.api import Result, State

    state = StateFile("lab1", None)
    start = 1_700_000_000.0
    for n in range(2 * TRANSITIONS_LIMIT + 1):  # red, green, red, ...: a change every run
        ok = n % 2 == 1
        result = Result(State.OK if ok else State.CRITICAL, "x")
        state.record(Outcome(point, result, ()), at=start + n)
    entry = state.points["a"]
    assert entry["first_seen"] == timestamp(start)
    assert entry["first_green"] == timestamp(start + 1)
    assert len(entry["transitions"]) == TRANSITIONS_LIMIT
    assert entry["transitions"][-1] == {"at": timestamp(start + 100), "state": "regressed"}


def _http_gate(expected: int) -> tuple[int, threading.Event, threading.Thread]:
    """A loopback HTTP server that answers 200 only once ``expected`` requests are in: every
    process asking has loaded its state file before any gets its answer."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    everyone_in = threading.Event()

    def serve() -> None:
        clients = []
        with server:
            while len(clients) < expected:
                conn, _ = server.accept()
                conn.recv(65536)
                clients.append(conn)
            everyone_in.set()
            for conn in clients:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return port, everyone_in, thread


def test_two_concurrent_verifies_both_keep_their_results(tmp_path: Path) -> None:
    port, everyone_in, thread = _http_gate(2)
    points = [
        {"name": name, "type": "http", "check": {"url": f"http://127.0.0.1:{port}/{name}"}}
        for name in ("x", "y")
    ]
    write_manifest(tmp_path, points)
    state = tmp_path / ".mdd" / "lab1.json"
    state.parent.mkdir()
    lock = os.open(lock_path_of(state), os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(lock, fcntl.LOCK_EX)  # held: neither run may write before both have probed
    procs = [
        subprocess.Popen(
            [str(BIN / "mdd"), "verify", "lab1", "--only", name, "--no-color"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        for name in ("x", "y")
    ]
    try:
        assert everyone_in.wait(120), "the two runs never probed"
        thread.join(120)
        assert not state.exists()  # both runs hold their results, neither has written
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, (out, err)
    data = json.loads(state.read_text())
    assert {name: entry["state"] for name, entry in data["points"].items()} == {
        "x": "green",
        "y": "green",
    }
    assert data["history"][-1]["green"] == 2  # the last sample sees both


# --------------------------------------------------------------------------- -o


@pytest.fixture
def guarded(tmp_path: Path) -> Path:
    write_manifest(tmp_path, [tcp("a", free_port())])
    manifests = tmp_path / "manifests"
    (manifests / "other.yaml").write_text("datacenter: other\n" + POINT)
    (manifests / "base").mkdir()
    (manifests / "base" / "eu.yaml").write_text("vars: {a: '1'}\n")
    (tmp_path / ".mdd").mkdir()
    (tmp_path / ".mdd" / "lab1.json").write_text(state_document([], {}))
    return tmp_path


COMMANDS = {
    "generate": (["generate", "lab1"], 2),
    "render": (["render", "lab1"], 2),
    "docs": (["docs", "lab1"], 2),
    "schema": (["schema"], 2),
    "report": (["report", "lab1"], 2),
    "verify": (["verify", "lab1", "--format", "json"], 2),
    "status": (["status", "lab1", "--sensu-api", "http://127.0.0.1:9", "--format", "json"], 2),
}


@pytest.mark.parametrize(
    "target",
    ["manifests/lab1.yaml", "manifests/other.yaml", "manifests/base/eu.yaml", ".mdd/lab1.json"],
)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_no_output_replaces_a_manifest_or_the_state_file(
    guarded: Path, command: str, target: str
) -> None:
    args, status = COMMANDS[command]
    before = (guarded / target).read_bytes()
    code, output = run(*args, "-o", target, cwd=guarded, limit=None)
    assert code == status and output.rstrip().endswith("; nothing written"), output
    assert (guarded / target).read_bytes() == before
    assert sorted(p.name for p in (guarded / ".mdd").iterdir()) == ["lab1.json"]


# --------------------------------------------------------------------------- core, checks


def test_read_capped_refuses_what_is_no_regular_file_or_too_big(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path, said in ((fifo, "a FIFO"), (tmp_path, "a folder"), (Path("/dev/zero"), "a device")):
        with pytest.raises(FileReadError, match=f"the file is {said}"):
            read_capped(path, 10)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 11)
    with pytest.raises(FileReadError, match=r"11 bytes, over the limit of 10 bytes"):
        read_capped(big, 10)
    assert read_capped(big, 11) == b"x" * 11
    with pytest.raises(FileReadError, match="nested too deeply"):
        load_json("[" * 100_000 + "]" * 100_000)
    with pytest.raises(FileReadError, match="over 3 levels"):
        load_json('{"a": [[[1]]]}', max_depth=3)
    assert load_json('{"a": [[1]]}', max_depth=3) == {"a": [[1]]}


def test_a_plan_that_is_no_file_or_too_deep_is_refused(tmp_path: Path) -> None:
    from mdd.batch.plan import PlanError, load

    fifo = tmp_path / "fifo.plan"
    os.mkfifo(fifo)
    deep = tmp_path / "deep.plan"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    for path, said in ((fifo, "a FIFO"), (deep, "nested too deeply")):
        with pytest.raises(PlanError, match=said):
            load(str(path), "lab1")


def check(*argv: str, stdin: bytes = b"") -> tuple[int, str]:
    proc = subprocess.run(
        [str(BIN / argv[0]), *argv[1:]], input=stdin, capture_output=True, timeout=60
    )
    return proc.returncode, (proc.stdout + proc.stderr).decode()


def test_checks_refuse_deep_json_in_one_line() -> None:
    code, output = check(
        "check-mdd-http", "--url", "http://127.0.0.1:9/", "--json", "a=" + "[" * 100_000
    )
    assert code == 3 and len(output.splitlines()) == 1 and "nested too deeply" in output, output
    code, output = check(
        "check-mdd-redis", "--host", "127.0.0.1", "--port", "9", "--password-client", "redis.pw",
        stdin=b"[" * 100_000,
    )  # fmt: skip
    assert code == 3 and len(output.splitlines()) == 1, output
    assert "Traceback" not in output and "there is none" in output, output
