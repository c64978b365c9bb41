"""Bad input to the commands the later issues added: a clear error, the documented exit
status, no traceback, nothing hanging (issue 9, extended to diff, init, render, docs,
verify and status).

Each case runs ``mdd`` as a user does, in a subprocess with a deadline, in a folder with
a good manifest (lab1), a broken one (lab2), a UTF-16 one, a folder and a FIFO named like
manifests, and a state file cut short. Exit statuses as documented: render, docs and init
1 for any problem; diff, verify and status 2 (their 1 means "differ" / "not all green"),
status 3 when the Sensu API cannot be read; click's usage errors 2.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.runner.helpers import BIN

API = "http://127.0.0.1:1"  # nothing listens on port 1 of loopback
CASES: list[tuple[str, int, str]] = [  # (arguments, exit status, words in the last line)
    ("diff lab1 nope", 2, "no manifest for 'nope'"),
    ("diff lab1 lab2", 2, "1 problem"),
    ("diff lab1", 2, "Missing argument 'OTHER'"),
    ("diff lab1 utf16", 2, "1 problem"),
    ("diff lab1 folder", 2, "no manifest for 'folder'"),
    ("diff lab1 fifo", 2, "no manifest for 'fifo'"),
    ("diff lab1 lab1 --format xml", 2, "'xml' is not one of"),
    ("init lab1 --from lab1", 2, "already exists: mdd init never overwrites a manifest"),
    ("init lab3 --from nope", 2, "no manifest for 'nope'"),
    ("init lab3 --from lab1 --set x", 2, "write --set NAME=VALUE"),
    ("init lab3 --from lab1 --set =1", 2, "write --set NAME=VALUE"),
    ("init Bad! --from lab1", 2, "cannot name a datacenter"),
    ("init lab3 --from lab2", 2, "1 problem; nothing written"),
    ("init lab3 --from lab1 -o /nonexistent-mdd/x.yaml", 2, "is outside the folder"),
    ("init lab3 --from lab1 -o manifests/folder.yaml", 2, "already exists"),
    ("render nope", 2, "no manifest for 'nope'"),
    ("render lab2", 2, "1 problem"),
    ("render utf16", 2, "1 problem"),
    ("render lab1 --format toml", 2, "'toml' is not one of"),
    ("render lab1 -o manifests/folder.yaml", 2, "is a folder; nothing written"),
    ("render lab1 -o /nonexistent-mdd/x", 2, "No such file or directory; nothing written"),
    ("docs nope", 2, "no manifest for 'nope'"),
    ("docs lab2", 2, "1 problem"),
    ("docs lab1 --format pdf", 2, "'pdf' is not one of"),
    ("docs lab1 --state cut.json", 2, "the state file is not valid JSON"),
    ("docs lab1 --state other.json", 2, "holds the state of datacenter 'lab9'"),
    ("docs lab1 --state manifests", 2, "is not a file"),
    ("docs lab1 --state manifests/fifo.yaml", 2, "is not a file"),
    ("docs lab1 --state missing.json", 2, "does not exist"),
    ("docs lab1 -o manifests/folder.yaml", 2, "is a folder; nothing written"),
    ("verify nope", 2, "no manifest for 'nope'"),
    ("verify lab2", 2, "1 problem; nothing run"),
    ("verify lab1 --state cut.json", 2, "the state file is not valid JSON"),
    ("verify lab1 --state other.json", 2, "holds the state of datacenter 'lab9'"),
    ("verify lab1 --state manifests/folder.yaml", 2, "is a folder, not a file: nothing read"),
    ("verify lab1 --jobs 0", 2, "0 is not in the range"),
    ("verify lab1 --jobs x", 2, "'x' is not a valid integer"),
    ("verify lab1 --only zz", 2, "no integration point 'zz' in lab1"),
    ("verify lab1 --type zz", 2, "no check type 'zz' in lab1"),
    ("verify lab1 --owner zz", 2, "no owner 'zz' in lab1"),
    ("verify lab1 --watch --interval 0s", 2, "duration must be more than 0"),
    ("verify lab1 --timeout 2h", 2, "--timeout is for --watch"),
    ("verify lab1 --watch --timeout -1s", 2, "is not a duration"),
    ("verify lab1 --format xml", 2, "'xml' is not one of"),
    ("verify lab1 --no-state -o manifests/folder.yaml", 2, "is a folder; nothing written"),
    ("verify lab1 --no-state -o", 2, "requires an argument"),
    (f"status lab1 --sensu-api ftp://{API[7:]}", 2, "is not an http:// or https:// URL"),
    (f"status lab1 --no-state --sensu-api {API}", 3, "cannot reach the Sensu API"),
    (f"status lab1 --sensu-api {API} --user a --password-file /nonexistent-mdd", 2,
     "No such file or directory"),
    (f"status lab1 --sensu-api {API} --user a --password-file manifests/fifo.yaml", 2,
     "not a regular file"),
    (f"status lab1 --sensu-api {API} --user a --password-file manifests", 2,
     "not a regular file"),
    (f"status lab1 --sensu-api {API} --password-file empty.pw --user a", 2, "is empty"),
    ("status lab1 --sensu-api http://u:p@127.0.0.1:1/", 2, "must not hold a user or password"),
    (f"status lab1 --sensu-api {API} --api go --api-key-env MDD_NOT_SET_X", 2, "is not set"),
    (f"status lab1 --sensu-api {API} --user a --password-env X --password-file /x", 2,
     "exclude each other"),
    (f"status lab1 --sensu-api {API} --password-file empty.pw", 2, "is empty"),
    (f"status lab2 --sensu-api {API}", 2, "1 problem; nothing run"),
    (f"status lab1 --sensu-api {API} --state cut.json", 2, "the state file is not valid JSON"),
    (f"status lab1 --sensu-api {API} --api soap", 2, "'soap' is not one of"),
]  # fmt: skip


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("bad-input")
    manifests = where / "manifests"
    manifests.mkdir()
    point = "  - {name: a, type: tcp, check: {host: 127.0.0.1, port: 1, timeout: 1s}}\n"
    (manifests / "lab1.yaml").write_text("datacenter: lab1\nintegration_points:\n" + point)
    (manifests / "lab2.yaml").write_text("datacenter: lab2\nintegration_points:\n  - {a: [1}\n")
    (manifests / "utf16.yaml").write_bytes("datacenter: utf16\n".encode("utf-16"))
    (manifests / "folder.yaml").mkdir()
    os.mkfifo(manifests / "fifo.yaml")
    (where / "cut.json").write_text('{"format": "mdd-state", "version": 1, "poi')
    (where / "other.json").write_text(
        '{"format": "mdd-state", "version": 1, "datacenter": "lab9", "points": {}, "history": []}'
    )
    (where / "empty.pw").write_text("")
    return where


@pytest.mark.parametrize(("args", "code", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(folder: Path, args: str, code: int, words: str) -> None:
    command, *rest = args.split()
    argv = [str(BIN / "mdd"), command, "--manifests", str(folder / "manifests"), *rest]
    done = subprocess.run(
        argv, cwd=folder, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == code, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert lines, "no message"
    last = lines[-1]
    assert last.startswith(("mdd: ", "Error: ")), done.stderr
    assert words in last, done.stderr
    assert len(last) < 400, last
    for line in lines:  # problems are file:line:col lines, usage is click's few lines
        assert len(line) < 400, line
    assert not any(p.name.endswith(".tmp") for p in folder.rglob("*")), "a temporary file"
    assert not (folder / "manifests" / "lab3.yaml").exists()
