"""A planted secret never appears in anything mdd writes, runs or prints (issue 9).

One secret value is planted in every secret reference of every check type that has one
(ldap, postgres, mysql, redis and amqp passwords, http secret_headers), in both forms: a file
on the agent (``{file: PATH}``) and a variable of the environment (``{env: NAME}``, set in
the environment of every process here). Then each place it could leak is scanned for the
secret in any case, in base64 (alone or in a Basic token), percent-encoded, and for a start of
it cut before ``...`` (what ``redact`` promises to remove; issue 17: only the secret and its
encodings, never a run of a few characters it shares with a name):

* the generated definitions: Sensu Classic, Sensu Go YAML and JSON, to stdout and with -o,
  and ``generate --all``;
* the argv of each running check (``/proc/PID/cmdline`` of the shell and the check, while a
  loopback server holds the connection open);
* each check's output when the server answers with the secret (servers in echo_servers.py,
  each in its own protocol's error form, whole and in part, JSON-escaped for http);
* ``mdd verify`` against the same servers, in every format and with -o, and the state file
  it writes; ``mdd docs`` (md, html) with that state; ``mdd report``; ``mdd render`` (yaml,
  json); ``mdd diff`` (text, json); ``mdd init --from``; ``mdd status`` against an API that
  echoes the secret;
* the error messages when the secret is written by mistake where a reference belongs.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mdd.core.command import check_command
from mdd.manifest import load
from tests.conftest import BIN, hanging, run_command
from tests.integration import echo_servers
from tests.runner.helpers import mdd, write_manifest

pytestmark = pytest.mark.slow  # see CONTRIBUTING.md: run in CI, skipped while iterating

_rng = random.Random()
SECRET = "".join(
    _rng.choice("ghjkmnpqrstvwxyz").upper() if i % 2 else _rng.choice("ghjkmnpqrstvwxyz")
    for i in range(24)
)  # alternating case: no run of it occurs in text by chance
ENV = "MDD_SCAN_SECRET"
RUN = 6  # a start of the secret of this many characters, cut before "...", is a leak
TYPES = ("ldap", "postgres", "mysql", "redis", "amqp", "http")
SCANS: list[str] = []  # what was scanned (121 texts in one process, docs/reliability.md)


def leaks(text: str) -> list[str]:
    import base64
    from urllib.parse import quote

    folded = text.lower()
    pieces = {SECRET.lower(), SECRET[:RUN].lower() + "..."}
    for shift in range(3):  # the secret's own characters of a base64 text holding it
        coded = base64.b64encode(bytes(shift) + SECRET.encode()).decode()
        pieces.add(coded[(0, 2, 3)[shift] : (8 * (shift + len(SECRET))) // 6 - 1])
    found = {piece for piece in pieces if piece.lower() in folded}
    found |= {p for p in {quote(SECRET)} if p in text}
    return sorted(found)


def scan(what: str, text: str) -> None:
    SCANS.append(what)
    found = leaks(text)
    assert not found, f"{what} shows the secret ({found}): {text[:2000]}"


def point(kind: str, form: str, port: int, ref: dict[str, str]) -> dict[str, Any]:
    check: dict[str, Any]
    if kind == "http":
        check = {"url": f"http://127.0.0.1:{port}/health", "secret_headers": {"Authorization": ref}}
    elif kind == "ldap":
        check = {"url": f"ldap://127.0.0.1:{port}", "bind_dn": "cn=svc,dc=mdd,dc=test"}
        check["password"] = ref
    else:
        check = {"host": "127.0.0.1", "port": port, "password": ref}
        if kind in ("postgres", "mysql", "amqp"):
            check["user"] = "svc"
    check["timeout"] = "2s"
    return {"name": f"{kind}-{form}", "type": kind, "owner": "platform", "check": check}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("scan")
    secret_file = folder / "secret.pw"
    secret_file.write_text(SECRET + "\n")
    secret_file.chmod(0o600)
    refs = {"file": {"file": str(secret_file)}, "env": {"env": ENV}}
    before = os.environ.get(ENV)
    os.environ[ENV] = SECRET
    servers = {kind: echo_servers.echoing(getattr(echo_servers, kind)(SECRET)) for kind in TYPES}
    try:
        ports = {kind: server.__enter__() for kind, server in servers.items()}
        with hanging() as silent:
            echo = [point(k, f, ports[k], r) for k in TYPES for f, r in refs.items()]
            held = [point(k, f, silent, r) for k in TYPES for f, r in refs.items()]
            manifests = write_manifest(folder, echo, dc="lab1")
            write_manifest(folder, held, dc="lab2")
            yield {"folder": folder, "manifests": manifests, "ports": ports}
    finally:
        for server in servers.values():
            server.__exit__(None, None, None)
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before


def run(world: dict[str, Any], *args: str) -> Any:
    done = mdd(*args, "--manifests", str(world["manifests"]), cwd=world["folder"])
    assert "Traceback" not in done.err, done.err
    return done


def scan_run(what: str, done: Any) -> None:
    scan(f"{what} (stdout)", done.out)
    scan(f"{what} (stderr)", done.err)


def test_every_type_with_a_secret_option_is_planted() -> None:
    from mdd.checks.registry import CHECK_TYPES

    with_secret = {
        name
        for name, module in CHECK_TYPES.items()
        if any(o.kind.name in ("secret", "secret files") for o in module.OPTIONS)
    }
    assert with_secret == set(TYPES)


def test_generated_definitions(world: dict[str, Any]) -> None:
    out = world["folder"] / "out"
    out.mkdir(exist_ok=True)
    for fmt in ("sensu-classic", "sensu-go", "sensu-go-json"):
        for dc in ("lab1", "lab2"):
            done = run(world, "generate", dc, "--format", fmt)
            assert done.code == 0, done.err
            assert "--password-file" in done.out and f"--password-env {ENV}" in done.out
            scan_run(f"generate {dc} --format {fmt}", done)
            target = out / f"{dc}-{fmt}.out"
            assert run(world, "generate", dc, "--format", fmt, "-o", str(target)).code == 0
            scan(f"generate {dc} --format {fmt} -o", target.read_text())
        every = out / f"all-{fmt}"
        assert run(world, "generate", "--all", "--format", fmt, "-o", str(every)).code == 0
        for written in sorted(every.iterdir()):
            scan(f"generate --all --format {fmt}: {written.name}", written.read_text())
    done = run(world, "generate", "lab1", "--format", "sensu-go", "--secrets-provider", "env")
    assert done.code == 0, done.err
    scan_run("generate --format sensu-go --secrets-provider env", done)


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            children = (task / "children").read_text().split() if task.exists() else []
            for child in map(int, children):
                found.append(child)
                todo.append(child)
    return found


def test_argv_of_running_checks(world: dict[str, Any]) -> None:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    for p in load(world["manifests"] / "lab2.yaml").points:
        command = check_command(p.type, p.options, p.name)
        proc = subprocess.Popen(
            ["/bin/sh", "-c", command], env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        argvs: dict[int, str] = {}
        try:
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline and proc.poll() is None:
                for pid in [proc.pid, *_descendants(proc.pid)]:
                    try:
                        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
                    except OSError:
                        continue
                    argvs[pid] = raw.replace(b"\0", b" ").decode(errors="replace")
                if any(f"check-mdd-{p.type}" in a and "python" in a for a in argvs.values()):
                    time.sleep(0.3)  # the check holds the connection: look once more
                    for pid in list(argvs):
                        raw = (
                            Path(f"/proc/{pid}/cmdline").read_bytes()
                            if Path(f"/proc/{pid}/cmdline").exists()
                            else b""
                        )
                        if raw:
                            argvs[pid] = raw.replace(b"\0", b" ").decode(errors="replace")
                    break
                time.sleep(0.02)
        finally:
            proc.kill()
            proc.wait()
        checks = [a for a in argvs.values() if f"check-mdd-{p.type}" in a]
        assert checks, (p.name, argvs)  # the check process itself was seen running
        for pid, argv in argvs.items():
            scan(f"/proc/{pid}/cmdline of {p.name}", argv)


def test_check_output_when_the_server_echoes_the_secret(world: dict[str, Any]) -> None:
    for p in load(world["manifests"] / "lab1.yaml").points:
        done = run_command(check_command(p.type, p.options, p.name), timeout=20)
        assert done.code != 0, (p.name, done.out)  # a login refused is never OK
        assert done.out.count("\n") == 1, (p.name, done.out)
        scan(f"output of {p.name} against an echoing server", done.out)
        assert "[secret]" in done.out, (p.name, done.out)  # the echo arrived, redacted


def test_every_document_mdd_writes(world: dict[str, Any]) -> None:
    folder: Path = world["folder"]
    state = folder / "lab1-state.json"
    for fmt in ("text", "json", "junit", "tap"):
        done = run(world, "verify", "lab1", "--state", str(state), "--format", fmt, "--no-color")
        assert done.code == 1, done.err
        scan_run(f"verify --format {fmt}", done)
        target = folder / f"verify.{fmt}"
        done = run(world, "verify", "lab1", "--state", str(state), "--format", fmt,
                   "-o", str(target))  # fmt: skip
        assert done.code == 1 and target.exists(), done.err
        scan_run(f"verify --format {fmt} -o", done)
        scan(f"verify --format {fmt} -o FILE", target.read_text())
    scan("state file", state.read_text())
    reasons = [p["last_result"]["reason"] for p in json.loads(state.read_text())["points"].values()]
    assert len(reasons) == 12 and all(reasons)  # each point was probed and said why
    for fmt in ("md", "html"):
        done = run(world, "docs", "lab1", "--state", str(state), "--format", fmt)
        assert done.code == 0, done.err
        scan_run(f"docs --format {fmt} --state", done)
    report = folder / "report.html"
    done = run(world, "report", "lab1", "--state", str(state), "-o", str(report))
    assert done.code == 0, done.err
    scan_run("report", done)
    scan("report -o FILE", report.read_text())
    for fmt in ("yaml", "json"):
        done = run(world, "render", "lab1", "--format", fmt)
        assert done.code == 0, done.err
        scan_run(f"render --format {fmt}", done)
    for fmt in ("text", "json"):
        done = run(world, "diff", "lab1", "lab2", "--format", fmt)
        assert done.code == 1, done.err
        scan_run(f"diff --format {fmt}", done)
    derived = folder / "manifests" / "lab3.yaml"
    done = run(world, "init", "lab3", "--from", "lab1", "-o", str(derived))
    assert done.code == 0, done.err
    scan_run("init", done)
    scan("init: the new manifest", derived.read_text())
    done = run(world, "types", "show", "ldap")
    scan_run("types show", done)


def test_status_against_an_api_that_echoes_the_secret(world: dict[str, Any]) -> None:
    port = world["ports"]["http"]  # answers 401 with the secret in reason, header and body
    secret_file = world["folder"] / "secret.pw"
    for auth in (["--user", "admin", "--password-file", str(secret_file)],
                 ["--user", "admin", "--password-env", ENV]):  # fmt: skip
        done = run(world, "status", "lab1", "--sensu-api", f"http://127.0.0.1:{port}",
                   "--no-state", *auth)  # fmt: skip
        assert done.code == 3, (done.out, done.err)  # the API failed
        scan_run(f"status {shlex.join(auth[2:3])}", done)
    for auth in (["--api-key-file", str(secret_file)], ["--api-key-env", ENV]):
        done = run(world, "status", "lab1", "--api", "go", "--sensu-api",
                   f"http://127.0.0.1:{port}", "--no-state", *auth)  # fmt: skip
        assert done.code == 3, (done.out, done.err)  # the API failed
        scan_run(f"status --api go {auth[0]}", done)


MISTAKES = (
    "password: SECRET",
    "password: {env: SECRET-x}",
    "password: {file: SECRET}",
    "password: {SECRET: x}",
    "password: {client: 'SECRET..x'}",
    "password: [SECRET]",
    "password: {file: /x, env: SECRET}",
)


def test_a_secret_written_by_mistake_is_never_echoed(tmp_path: Path) -> None:
    points = []
    for i, mistake in enumerate(MISTAKES):
        key, value = mistake.replace("SECRET", SECRET).split(": ", 1)
        points.append(f"  - name: r{i}\n    type: redis\n    check: {{host: h, {key}: {value}}}")
    for i, header in enumerate((SECRET, f"Bearer {SECRET}", f"env:{SECRET}")):
        points.append(
            f"  - name: h{i}\n    type: http\n    check: {{url: 'http://h/', "
            f"secret_headers: {{Authorization: '{header}'}}}}"
        )
    points.append(f"  - name: u\n    type: http\n    check: {{url: 'http://u:{SECRET}@h/'}}")
    points.append(f"  - name: q\n    type: http\n    check: {{url: 'http://h/?token={SECRET}'}}")
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    body = "datacenter: lab1\nintegration_points:\n" + "\n".join(points) + "\n"
    (manifests / "lab1.yaml").write_text(body)
    for command in (["validate", "lab1"], ["generate", "lab1"], ["render", "lab1"],
                    ["docs", "lab1"], ["verify", "lab1", "--no-state"]):  # fmt: skip
        done = mdd(*command, "--manifests", str(manifests), cwd=tmp_path)
        assert done.code in (1, 2) and done.out == "", (command, done.out)
        problems = [line for line in done.err.splitlines() if "lab1.yaml:" in line]
        assert len(problems) >= len(MISTAKES) + 5, done.err  # every mistake is reported
        scan_run(f"{command[0]} of a manifest with the secret in it", done)
