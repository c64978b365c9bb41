"""`mdd generate --batch --all -o DIR`: every datacenter's runner check with its plan beside
it, in each format batch mode supports; then one written runner command run under /bin/sh -c
(as Sensu runs it) against real loopback targets, submitting to a loopback client socket
(Classic) or agent API (Sensu Go)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.batch.sensu_agents import agent_api, client_socket
from tests.conftest import run_command
from tests.runner.helpers import free_port, listener, mdd, tcp, write_manifest

SUFFIX = {"sensu-classic": ".json", "sensu-go": ".yaml", "sensu-go-json": ".json"}


@pytest.fixture(scope="module")
def ports() -> Iterator[dict[str, int]]:
    open_port = free_port()
    sock = listener(open_port)
    yield {"open": open_port, "closed": free_port()}
    sock.close()


def two_datacenters(tmp: Path, ports: dict[str, int]) -> Path:
    write_manifest(tmp, [tcp("gateway", ports["open"]), tcp("db", ports["closed"])], "lab1")
    return write_manifest(tmp, [tcp("gateway", ports["open"])], "lab2")


def resources(text: str, fmt: str) -> list[dict[str, Any]]:
    """The Sensu Go resources of a YAML stream or of a stream of JSON objects."""
    if fmt == "sensu-go":
        return [r for r in yaml.safe_load_all(text) if r]
    decoder, items, at = json.JSONDecoder(), [], 0
    while text[at:].strip():
        item, at = decoder.raw_decode(text, at)
        items.append(item)
        while at < len(text) and text[at].isspace():
            at += 1
    return items


def runner_command(text: str, fmt: str, dc: str) -> str:
    if fmt == "sensu-classic":
        checks = json.loads(text)["checks"]
        assert list(checks) == [f"mdd-batch-{dc}"]
        return str(checks[f"mdd-batch-{dc}"]["command"])
    (runner,) = (r for r in resources(text, fmt) if r["type"] == "CheckConfig")
    assert runner["metadata"]["name"] == f"mdd-batch-{dc}"
    return str(runner["spec"]["command"])


@pytest.mark.parametrize("fmt", sorted(SUFFIX))
def test_every_datacenter_gets_its_runner_and_plan(
    tmp_path: Path, ports: dict[str, int], fmt: str
) -> None:
    manifests = two_datacenters(tmp_path, ports)
    out = tmp_path / "out"
    run = mdd(
        "generate", "--all", "--batch", "--format", fmt, "--manifests", str(manifests),
        "-o", "out", cwd=tmp_path,
    )  # fmt: skip
    assert run.code == 0, run.err
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"mdd-{dc}{s}" for dc in ("lab1", "lab2") for s in (SUFFIX[fmt], ".plan")
    )
    assert f"need its plan at {out / 'mdd-lab1.plan'}" in run.err
    commands = {
        dc: runner_command((out / f"mdd-{dc}{SUFFIX[fmt]}").read_text(), fmt, dc)
        for dc in ("lab1", "lab2")
    }
    for dc, command in commands.items():  # -o was relative: the plan is named absolutely
        assert shlex.split(command) == [
            "check-mdd-batch", "--plan", str(out / f"mdd-{dc}.plan"), "--datacenter", dc,
        ]  # fmt: skip

    if fmt == "sensu-classic":
        with client_socket() as (port, received):
            ran = run_command(
                commands["lab1"] + f" --socket 127.0.0.1:{port} --state {tmp_path / 's'}"
            )
        results = {r["name"]: r["status"] for r in received}
    else:
        with agent_api() as (port, events):
            ran = run_command(
                commands["lab1"] + f" --agent-api 127.0.0.1:{port} --state {tmp_path / 's'}"
            )
        results = {e["check"]["metadata"]["name"]: e["check"]["status"] for e in events}
        assert {e["entity"]["metadata"]["name"] for e in events} == {"mdd-lab1"}
    assert ran.code == 0, ran.out
    assert ran.line == "MddBatch OK: lab1: 1/2 green; not green: db; 2 probed and submitted"
    assert results == {"mdd_lab1_gateway": 0, "mdd_lab1_db": 2}


def test_a_problem_in_one_datacenter_writes_nothing(tmp_path: Path, ports: dict[str, int]) -> None:
    manifests = two_datacenters(tmp_path, ports)
    document = {
        "datacenter": "lab3",
        "integration_points": [tcp("a", 1), {**tcp("b", 2), "sensu": {"subscribers": ["x"]}}],
    }
    (manifests / "lab3.yaml").write_text(json.dumps(document))
    run = mdd(
        "generate", "--all", "--batch", "--manifests", str(manifests), "-o", "out", cwd=tmp_path
    )
    assert run.code == 2
    assert "b: batch mode runs every point" in run.err and "nothing generated" in run.err
    assert not (tmp_path / "out").exists()


def test_check_names_that_clash_across_datacenters_are_refused(tmp_path: Path) -> None:
    write_manifest(tmp_path, [tcp("b_c", 1)], "a")
    manifests = write_manifest(tmp_path, [tcp("c", 1)], "a_b")
    run = mdd(
        "generate", "--all", "--batch", "--manifests", str(manifests), "-o", "out", cwd=tmp_path
    )
    assert run.code == 2
    assert "its check name mdd_a_b_c is also the name of point" in run.err
    assert not (tmp_path / "out").exists()


def test_plan_names_one_file_so_not_with_all(tmp_path: Path, ports: dict[str, int]) -> None:
    manifests = two_datacenters(tmp_path, ports)
    run = mdd(
        "generate", "--all", "--batch", "--plan", "x.plan", "--manifests", str(manifests),
        "-o", "out", cwd=tmp_path,
    )  # fmt: skip
    assert run.code == 2
    assert "--plan names one plan: with --all" in run.err
    assert not (tmp_path / "out").exists() and not (tmp_path / "x.plan").exists()
