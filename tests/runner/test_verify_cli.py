"""``mdd verify`` run as a user runs it, against real listeners on loopback."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from tests.runner.helpers import (
    BIN,
    SCHEMA,
    board_states,
    free_port,
    listener,
    mdd,
    state_file,
    tcp,
    write_manifest,
)

UTF8 = {"PYTHONIOENCODING": "utf-8"}
CHANGE = r"\d\d:\d\d:\d\d {name} {before} → {after}"


def verify(folder: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return mdd(
        "verify",
        "lab1",
        "--manifests",
        str(folder / "manifests"),
        "--no-color",
        *args,
        cwd=folder,
        env=dict(UTF8, **(env or {})),
    )


def start_watch(folder: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            str(BIN / "mdd"),
            "verify",
            "lab1",
            "--manifests",
            str(folder / "manifests"),
            "--no-color",
            "--watch",
            "--interval",
            "200ms",
            *args,
        ],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, **UTF8),
    )


def wait_for_state(folder: Path, limit: float = 30) -> dict:  # type: ignore[type-arg]
    """The state file once the first round has written it."""
    path = folder / ".mdd" / "lab1.json"
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if path.exists():
            return state_file(folder)
        time.sleep(0.05)
    raise AssertionError("the first round never wrote the state file")


@pytest.fixture
def up() -> int:
    sock = listener(0)
    yield sock.getsockname()[1]
    sock.close()


def test_board_summary_and_exit_status(tmp_path: Path, up: int) -> None:
    write_manifest(tmp_path, [tcp("dns", up), tcp("ldap", free_port(), owner="identity")])
    run = verify(tmp_path)
    assert run.code == 1, run.err
    lines = run.out.splitlines()
    assert lines[0].startswith("PENDING   ldap  identity  127.0.0.1:")
    assert lines[0].endswith("refused the connection")
    assert lines[1].startswith("GREEN     dns   netops    127.0.0.1:")
    assert lines[-1] == "lab1: 1/2 integration points green (50%); 1 pending"

    write_manifest(tmp_path, [tcp("dns", up)])
    run = verify(tmp_path)
    assert run.code == 0, run.err
    assert run.out.splitlines()[-1] == "lab1: 1/1 integration point green (100%)"


def test_a_point_turns_green_during_watch(tmp_path: Path) -> None:
    port = free_port()
    write_manifest(tmp_path, [tcp("web", port, owner="web")])
    watch = start_watch(tmp_path, "--timeout", "60s")
    sock = None
    try:
        first = wait_for_state(tmp_path)
        assert first["points"]["web"]["state"] == "pending"
        sock = listener(port)  # the team delivers
        out, err = watch.communicate(timeout=60)
    finally:
        watch.kill() if watch.poll() is None else None
        if sock is not None:
            sock.close()
    assert watch.returncode == 0, err
    assert re.search(
        r"^" + CHANGE.format(name="web", before="pending", after="green") + r" \(web\)$", out, re.M
    ), out
    assert out.splitlines()[-1] == "lab1: 1/1 integration point green (100%)"
    assert state_file(tmp_path)["points"]["web"]["first_green"] is not None


def test_a_dependency_chain_is_blocked_then_unblocks(tmp_path: Path, up: int) -> None:
    dns_port = free_port()
    write_manifest(
        tmp_path,
        [
            tcp("dns-resolvers", dns_port),
            tcp("ldap", up, owner="identity", depends_on=["dns-resolvers"]),
            tcp("ldap-bind", up, owner="identity", depends_on=["ldap"]),
        ],
    )
    watch = start_watch(tmp_path, "--timeout", "60s")
    sock = None
    try:
        first = wait_for_state(tmp_path)
        sock = listener(dns_port)
        out, err = watch.communicate(timeout=60)
    finally:
        watch.kill() if watch.poll() is None else None
        if sock is not None:
            sock.close()
    assert {name: p["state"] for name, p in first["points"].items()} == {
        "dns-resolvers": "pending",
        "ldap": "blocked",
        "ldap-bind": "blocked",
    }
    assert first["points"]["ldap"]["last_result"]["reason"] == "blocked by dns-resolvers"
    assert first["points"]["ldap"]["last_result"]["status"] is None  # not probed
    assert "BLOCKED   ldap-bind      identity  blocked by ldap" in out
    assert watch.returncode == 0, err
    for name, before in (
        ("dns-resolvers", "pending"),
        ("ldap", "blocked"),
        ("ldap-bind", "blocked"),
    ):
        assert re.search(CHANGE.format(name=name, before=before, after="green"), out), out


def test_a_regression_is_shown_first(tmp_path: Path, up: int) -> None:
    sock = listener(0)
    port = sock.getsockname()[1]
    write_manifest(tmp_path, [tcp("artifacts", up), tcp("ldap", port, owner="identity")])
    assert verify(tmp_path).code == 0
    first_green = state_file(tmp_path)["points"]["ldap"]["first_green"]
    sock.close()  # its server stops
    run = verify(tmp_path)
    assert run.code == 1
    board = [line for line in run.out.splitlines() if not line[:2].isdigit()]
    assert board[0].startswith("REGRESSED ldap ")
    assert re.search(
        CHANGE.format(name="ldap", before="green", after="regressed")
        + r" \(identity\): 127\.0\.0\.1:\d+ refused the connection",
        run.out,
    )
    assert run.out.splitlines()[-1] == "lab1: 1/2 integration points green (50%); 1 regressed"
    after = state_file(tmp_path)["points"]["ldap"]
    assert after["state"] == "regressed" and after["first_green"] == first_green


def test_without_a_utf8_terminal_the_arrow_is_ascii(tmp_path: Path, up: int) -> None:
    sock = listener(0)
    write_manifest(tmp_path, [tcp("ldap", sock.getsockname()[1])])
    verify(tmp_path)
    sock.close()
    run = verify(tmp_path, env={"PYTHONIOENCODING": "ascii"})
    assert re.search(r"ldap green -> regressed", run.out), run.out


def test_filters(tmp_path: Path, up: int) -> None:
    write_manifest(
        tmp_path,
        [
            tcp("dns", up),
            tcp("ldap", up, owner="identity"),
            {
                "name": "web",
                "type": "http",
                "owner": "web",
                "check": {"url": f"http://127.0.0.1:{free_port()}/", "timeout": "1s"},
            },
        ],
    )
    assert board_states(verify(tmp_path, "--only", "dns", "--only", "web").out) == {
        "dns": "green",
        "web": "pending",
    }
    assert board_states(verify(tmp_path, "--owner", "identity").out) == {"ldap": "green"}
    assert board_states(verify(tmp_path, "--type", "tcp").out) == {"dns": "green", "ldap": "green"}
    assert verify(tmp_path, "--type", "tcp").code == 0
    wrong = verify(tmp_path, "--only", "ldpa")
    assert wrong.code == 2 and "no integration point 'ldpa'" in wrong.err
    assert "did you mean 'ldap'?" in wrong.err and wrong.out == ""
    assert verify(tmp_path, "--owner", "nobody").code == 2
    assert verify(tmp_path, "--owner", "web", "--type", "tcp").code == 2


def test_usage_and_manifest_errors_exit_2(tmp_path: Path) -> None:
    manifests = write_manifest(tmp_path, [tcp("dns", free_port())])
    assert verify(tmp_path, "--timeout", "1m").code == 2
    assert verify(tmp_path, "--jobs", "0").code == 2
    (manifests / "lab1.yaml").write_text("datacenter: lab1\nintegration_points:\n  - name: x\n")
    run = verify(tmp_path)
    assert run.code == 2 and "lab1.yaml:3:" in run.err and "Traceback" not in run.err
    assert not (tmp_path / ".mdd").exists()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "is not valid JSON"),
        ('{"checks": {}}', "is not an mdd state file"),
        (
            '{"format": "mdd-state", "version": 1, "datacenter": "fra1", "points": {}, '
            '"history": []}',
            "holds the state of datacenter 'fra1'",
        ),
        ('{"format": "mdd-state", "version": 9, "datacenter": "lab1"}', "version 9"),
        (
            '{"format": "mdd-state", "version": 1, "datacenter": "lab1", "points": [], '
            '"history": []}',
            "damaged",
        ),
    ],
)
def test_a_bad_state_file_is_refused_and_left_alone(
    tmp_path: Path, up: int, content: str, says: str
) -> None:
    write_manifest(tmp_path, [tcp("dns", up)])
    path = tmp_path / ".mdd" / "lab1.json"
    path.parent.mkdir()
    path.write_text(content)
    run = verify(tmp_path)
    assert run.code == 2 and says in run.err, run.err
    assert path.read_text() == content
    elsewhere = tmp_path / "other-state.json"
    assert verify(tmp_path, "--state", str(elsewhere)).code == 0
    assert json.loads(elsewhere.read_text())["datacenter"] == "lab1"
    assert path.read_text() == content


def test_json_matches_its_schema(tmp_path: Path, up: int) -> None:
    write_manifest(
        tmp_path,
        [
            tcp("dns", free_port()),
            tcp(
                "ldap", up, owner="identity", depends_on=["dns"], docs="https://wiki.example.net/l"
            ),
            tcp("ntp", up, owner=None),
        ],
    )
    run = verify(tmp_path, "--format", "json")
    assert run.code == 1
    document = json.loads(run.out)
    jsonschema.validate(document, json.loads(SCHEMA.read_text()))
    assert document["summary"] == {
        "total": 3,
        "green": 1,
        "pending": 1,
        "regressed": 0,
        "blocked": 1,
        "unknown": 0,
        "percent_green": 33,
        "all_green": False,
    }
    points = {p["name"]: p for p in document["points"]}
    assert points["ldap"]["state"] == "blocked" and points["ldap"]["blocked_by"] == ["dns"]
    assert (
        points["ldap"]["status"] is None and points["ldap"]["docs"] == "https://wiki.example.net/l"
    )
    assert points["dns"]["status"] == 2 and points["dns"]["status_name"] == "CRITICAL"
    assert points["ntp"]["state"] == "green" and points["ntp"]["owner"] is None
    assert "lab1: 1/3" in run.err  # the board goes to standard error beside the document


def test_junit_parses_one_testcase_per_point(tmp_path: Path, up: int) -> None:
    write_manifest(tmp_path, [tcp("dns", up), tcp("ldap", free_port(), owner="identity")])
    out = tmp_path / "verify.xml"
    run = verify(tmp_path, "--format", "junit", "--output", str(out))
    assert run.code == 1
    assert run.out.splitlines()[-1].startswith("lab1: 1/2")  # the board still on stdout
    root = ET.fromstring(out.read_bytes())
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {"dns", "ldap"}
    assert cases["dns"].find("failure") is None
    failure = cases["ldap"].find("failure")
    assert failure is not None and failure.get("type") == "pending"
    assert re.fullmatch(
        r"pending: 127\.0\.0\.1:\d+ refused the connection", failure.get("message", "")
    )
    assert cases["ldap"].get("classname") == "mdd.lab1.identity"


def read_tap(text: str) -> list[tuple[bool, int, str, dict[str, str]]]:
    """A strict TAP 13 reader: version line, plan, numbered tests, YAML blocks; nothing else
    but comments."""
    import yaml

    lines = text.splitlines()
    assert lines[0] == "TAP version 13"
    plan = re.fullmatch(r"1\.\.(\d+)", lines[1])
    assert plan, lines[1]
    tests: list[tuple[bool, int, str, dict[str, str]]] = []
    index = 2
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.startswith("#"):
            continue
        match = re.fullmatch(r"(ok|not ok) (\d+) - ([^#]*)", line)
        assert match, f"not a TAP test line: {line!r}"
        block: dict[str, str] = {}
        if index < len(lines) and lines[index] == "  ---":
            end = lines.index("  ...", index)
            block = yaml.safe_load("\n".join(text[2:] for text in lines[index + 1 : end]))
            index = end + 1
        tests.append((match.group(1) == "ok", int(match.group(2)), match.group(3), block))
    assert [number for _, number, _, _ in tests] == list(range(1, int(plan.group(1)) + 1))
    return tests


def test_tap_is_strict_tap13(tmp_path: Path, up: int) -> None:
    from tap.parser import Parser

    write_manifest(tmp_path, [tcp("dns", up), tcp("ldap", free_port(), owner="identity")])
    run = verify(tmp_path, "--format", "tap")
    assert run.code == 1
    tests = read_tap(run.out)
    assert [(ok, text) for ok, _, text, _ in tests] == [
        (True, "dns (green)"),
        (False, "ldap (pending)"),
    ]
    assert tests[1][3]["state"] == "pending" and tests[1][3]["owner"] == "identity"
    parsed = [line for line in Parser().parse_text(run.out) if line.category == "test"]
    assert [(t.ok, t.number) for t in parsed] == [(True, 1), (False, 2)]


def test_ctrl_c_stops_with_summary_and_state_intact(tmp_path: Path) -> None:
    write_manifest(tmp_path, [tcp("dns", free_port())])
    watch = start_watch(tmp_path, "--interval", "30s")
    try:
        wait_for_state(tmp_path)
        time.sleep(0.3)  # into the pause between rounds
        watch.send_signal(signal.SIGINT)
        out, err = watch.communicate(timeout=30)
    finally:
        watch.kill() if watch.poll() is None else None
    assert watch.returncode == 1
    assert out.splitlines()[-1] == "lab1: 0/1 integration point green (0%); 1 pending"
    assert "interrupted; the state is saved in" in err and "Traceback" not in err
    assert state_file(tmp_path)["points"]["dns"]["state"] == "pending"


def test_live_board_on_a_terminal(tmp_path: Path, up: int) -> None:
    import pty

    write_manifest(tmp_path, [tcp("dns", up), tcp("ldap", free_port())])
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [str(BIN / "mdd"), "verify", "lab1", "--manifests", str(tmp_path / "manifests")],
        cwd=tmp_path,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=dict(os.environ, **UTF8, TERM="xterm"),
        close_fds=True,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(30) == 1
    screen = b"".join(chunks).decode()
    assert "] 2/2" in screen and "\x1b[" in screen  # progress bar, redrawn in place
    assert "\x1b[32mGREEN" in screen  # colour on a terminal
    assert "lab1: 1/2 integration points green (50%); 1 pending" in screen


def test_watch_gives_up_at_its_timeout(tmp_path: Path) -> None:
    write_manifest(tmp_path, [tcp("dns", free_port())])
    run = verify(tmp_path, "--watch", "--interval", "200ms", "--timeout", "1s")
    assert run.code == 1
    assert "mdd: not all green within --timeout 1s" in run.err
    assert run.out.splitlines()[-1] == "lab1: 0/1 integration point green (0%); 1 pending"
