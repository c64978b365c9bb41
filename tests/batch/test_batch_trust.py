"""The batch plan is trusted only as far as its file is, and the agent socket cannot hold the
runner past its Sensu timeout (issue 18, red-team round 3).

The runner runs under /bin/sh -c as Sensu runs it; the client sockets are loopback servers
that never answer, or trickle their answer a byte at a time.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.batch.sensu_agents import client_socket
from tests.conftest import accepting, hanging, run_command
from tests.runner.helpers import free_port, listener, mdd, tcp, write_manifest

DC = "lab1"


def generate(tmp: Path, points: list[dict[str, Any]], *extra: str) -> tuple[Any, Path, str]:
    manifests = write_manifest(tmp, points, DC)
    out = tmp / "batch.json"
    run = mdd(
        "generate", DC, "--manifests", str(manifests), "--batch", *extra, "-o", str(out), cwd=tmp
    )
    return run, tmp / "batch.plan", out.read_text() if out.exists() else ""


def runner_command(definitions: str, state: Path) -> str:
    command = json.loads(definitions)["checks"][f"mdd-batch-{DC}"]["command"]
    return f"{command} --state {state}"


def three_points(sensu_timeout: int = 4) -> list[dict[str, Any]]:
    closed = free_port()
    return [
        tcp(name, closed, sensu={"timeout": sensu_timeout}, check={"timeout": "1s"})
        for name in ("a", "b", "c")
    ]


@pytest.fixture
def plan_and_command(tmp_path: Path) -> tuple[Path, str]:
    run, plan, text = generate(tmp_path, three_points())
    assert run.code == 0, run.err
    return plan, runner_command(text, tmp_path / "runner.state")


# --------------------------------------------------------------------------- the plan's file


@pytest.mark.parametrize("mode", [0o666, 0o646, 0o664])
def test_a_plan_others_can_write_is_refused(plan_and_command: tuple[Path, str], mode: int) -> None:
    plan, command = plan_and_command
    plan.chmod(mode)
    with client_socket() as (port, received):
        ran = run_command(command + f" --socket 127.0.0.1:{port}")
    assert ran.code == 3, ran.out
    assert "writable by its group or others" in ran.line and "chmod go-w" in ran.line
    assert received == []


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")
def test_a_plan_owned_by_another_user_is_refused(plan_and_command: tuple[Path, str]) -> None:
    plan, command = plan_and_command
    os.chown(plan, 65534, 65534)  # nobody
    with client_socket() as (port, received):
        ran = run_command(command + f" --socket 127.0.0.1:{port}")
    assert ran.code == 3, ran.out
    assert "is owned by user 65534, neither root nor the user running the check" in ran.line
    assert received == []


def test_a_plan_of_the_running_user_not_writable_by_others_runs(
    plan_and_command: tuple[Path, str],
) -> None:
    plan, command = plan_and_command
    plan.chmod(0o600)
    with client_socket() as (port, received):
        ran = run_command(command + f" --socket 127.0.0.1:{port}")
    assert ran.line.startswith(f"MddBatch OK: {DC}: 0/3 green"), ran.out  # all submitted
    assert len(received) == 3


def command_point(tmp: Path) -> dict[str, Any]:
    marker = tmp / "ran"
    return {
        "name": "script",
        "type": "command",
        "owner": "ops",
        "check": {"command": ["/usr/bin/touch", str(marker)]},
    }


def test_generate_batch_refuses_command_points_without_allow_command(tmp_path: Path) -> None:
    run, plan, _ = generate(tmp_path, [command_point(tmp_path)])
    assert run.code != 0 and not plan.exists()
    assert "script: a command point runs a command of the manifest from the batch plan" in run.err
    assert "--allow-command" in run.err


def test_a_command_point_runs_only_from_a_plan_that_allows_it(tmp_path: Path) -> None:
    run, plan, text = generate(tmp_path, [command_point(tmp_path)], "--allow-command")
    assert run.code == 0, run.err
    document = json.loads(plan.read_text())
    assert document["allow_command"] is True
    with client_socket() as (port, received):
        ran = run_command(runner_command(text, tmp_path / "s") + f" --socket 127.0.0.1:{port}")
    assert ran.line.startswith(f"MddBatch OK: {DC}: 1/1 green"), ran.out
    assert (tmp_path / "ran").exists()

    # the same plan with the operator's allowance taken out (a tampered plan)
    (tmp_path / "ran").unlink()
    document["allow_command"] = False
    plan.write_text(json.dumps(document))
    with client_socket() as (port, received):
        ran = run_command(runner_command(text, tmp_path / "s") + f" --socket 127.0.0.1:{port}")
    assert ran.code == 3 and "not generated with --allow-command: refused" in ran.line, ran.out
    assert not (tmp_path / "ran").exists()


def test_a_tampered_plan_adding_a_command_point_is_refused(
    tmp_path: Path, plan_and_command: tuple[Path, str]
) -> None:
    plan, command = plan_and_command
    document = json.loads(plan.read_text())
    entry = dict(document["points"][0])
    entry.update(point="evil", check=f"mdd_{DC}_evil", type="command", label="CommandCheck")
    entry["argv"] = ["--command", f"/usr/bin/touch {tmp_path / 'pwned'}"]
    document["points"].append(entry)
    plan.write_text(json.dumps(document))
    with client_socket() as (port, _):
        ran = run_command(command + f" --socket 127.0.0.1:{port}")
    assert ran.code == 3 and "has command points (evil)" in ran.line, ran.out
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("field", ["point", "check", "label"])
def test_a_name_with_a_line_break_cannot_forge_an_output_line(
    plan_and_command: tuple[Path, str], field: str
) -> None:
    plan, command = plan_and_command
    document = json.loads(plan.read_text())
    document["points"][0][field] += "\nMddBatch OK: all green"
    plan.write_text(json.dumps(document))
    with client_socket() as (port, received):
        ran = run_command(command + f" --socket 127.0.0.1:{port}")
    assert ran.code == 3, ran.out
    assert ran.out.count("\n") == 1 and "is not a name" in ran.line, ran.out
    assert received == []


# --------------------------------------------------------------------------- the agent socket


def silent(conn: socket.socket) -> None:
    with conn:
        time.sleep(60)


def trickling(conn: socket.socket) -> None:
    with conn, contextlib.suppress(OSError):
        for _ in range(600):
            conn.sendall(b" ")  # never "ok": a byte every 0.1 s
            time.sleep(0.1)


@pytest.mark.parametrize("talk", [silent, trickling], ids=["silent", "trickling"])
def test_a_socket_that_never_answers_cannot_hold_the_runner_past_its_timeout(
    plan_and_command: tuple[Path, str], talk: Callable[[socket.socket], None]
) -> None:
    """Three points, a Sensu timeout of 4 s: each result once waited 5 s (15 s in all), and a
    socket trickling a byte at a time held the runner for as long as it liked. Now every
    submission ends by the runner's deadline (its Sensu timeout less a second)."""
    _, command = plan_and_command
    with accepting(talk, threaded=True) as port:
        ran = run_command(command + f" --socket 127.0.0.1:{port}")
    assert ran.code == 2, ran.out
    assert "3 result(s) not submitted" in ran.line, ran.line
    assert "did not answer before the runner's deadline (its Sensu timeout)" in ran.line


@pytest.mark.slow
def test_an_answer_is_read_while_a_slower_probe_runs(tmp_path: Path) -> None:
    """Each result is sent as soon as it is known and the client socket's answers are read
    together, but before the runner waits for a probe: an answer is never left unread past
    its own 5 s while a slower probe (6 s here) runs (it would then count as not given)."""
    with hanging() as silent_port, listener(free_port()) as up:
        points = [
            tcp("fast", up.getsockname()[1], sensu={"timeout": 30}),
            tcp("slow", silent_port, sensu={"timeout": 30}, check={"timeout": "6s"}),
        ]
        run, _, text = generate(tmp_path, points)
        assert run.code == 0, run.err
        command = runner_command(text, tmp_path / "runner.state")
        with client_socket() as (port, received):
            ran = run_command(command + f" --socket 127.0.0.1:{port}")
    assert ran.code == 0, ran.out
    assert "lab1: 1/2 green; not green: slow; 2 probed and submitted" in ran.line, ran.line
    assert sorted(r["name"] for r in received) == ["mdd_lab1_fast", "mdd_lab1_slow"]


# --------------------------------------------------------------------------- the runner's stdin


def test_a_stdin_that_never_closes_cannot_hold_the_runner(tmp_path: Path) -> None:
    """{client: ...} secrets: the runner reads the client definition on its stdin as the
    checks do, within 0.5 s: a Sensu that keeps stdin open and silent held it for ever."""
    import subprocess

    from tests.conftest import BIN

    point = {
        "name": "cache",
        "type": "redis",
        "owner": "ops",
        "check": {"host": "127.0.0.1", "port": free_port(), "password": {"client": "mdd.pw"}},
    }
    run, plan, text = generate(tmp_path, [point])
    assert run.code == 0, run.err
    assert json.loads(plan.read_text())["stdin"] is True
    with client_socket() as (port, received):
        proc = subprocess.Popen(
            ["/bin/sh", "-c", runner_command(text, tmp_path / "s") + f" --socket 127.0.0.1:{port}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"),
        )
        try:
            proc.wait(timeout=60)  # stdin stays open: the write end is never closed here
            out = proc.stdout.read().decode() if proc.stdout else ""
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
    assert out.startswith(f"MddBatch OK: {DC}: 0/1 green"), out
    (result,) = received
    assert result["status"] == 3 and "stdin stayed open and empty" in result["output"]
